"""The text of an uploaded speech: a .txt in any encoding a speech comes in, or a Word .docx.

`speech_text` gives the text `content` parses, or raises `DocumentError` with the one Chinese sentence the
admin who sent the file is shown. A .txt is read by `content.textfile.decode_text` (UTF-8 with or without
BOM, GB18030/GBK, UTF-16). A .docx gives its body paragraphs in order, headings included, with Word's
automatic list numbers written out (一、 （一） 1.): the parser finds a speech's parts by those numbers,
and in Word they are often not typed but numbering. Tables, images, text boxes, headers and footers are
not the speech and are left out.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import PurePath

import docx
from docx.oxml.ns import qn

from content.numerals import int_to_cn
from content.textfile import ENCODINGS, NotTextError, decode_text

logger = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED = 100 * 1024 * 1024  # a .docx is zipped XML: this bounds what opening one may inflate to
FORMATS = ".txt 或 .docx"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, and any password-protected Office file
NO_TEXT = "文档里没有正文文字"
BROKEN = "文档已损坏或不是 .docx 文件：请在 Word 或 WPS 里重新另存为 .docx，或把正文复制成 .txt"


class DocumentError(ValueError):
    """The file is no speech we can read; the message says why, in Chinese, for the person who sent it."""


def speech_text(filename: str, data: bytes) -> str:
    """The text of the speech in `data`, by the file name's extension (.txt or .docx); DocumentError if
    the file is empty, over 20 MB, not text, damaged, of another format, or holds no text."""
    suffix = PurePath(filename or "").suffix.lower()
    if not data:
        raise DocumentError("文件是空的")
    if len(data) > MAX_BYTES:
        raise DocumentError(f"文件超过 {MAX_BYTES // 1024 // 1024} MB，不像一篇讲话稿：请只保留正文")
    if suffix == ".txt":
        text = _txt(data)
    elif suffix == ".docx":
        text = _docx(data)
    elif suffix == ".doc":
        raise DocumentError(
            f"不支持旧版 Word（.doc）文件：请另存为 .docx，或把正文复制成 .txt（只接受 {FORMATS}）"
        )
    else:
        kind = f"{suffix} 文件" if suffix else "没有扩展名的文件"
        raise DocumentError(f"不支持{kind}：讲话稿只接受 {FORMATS} 格式")
    if not text.strip():
        raise DocumentError(NO_TEXT)
    return text


def _txt(data: bytes) -> str:
    try:
        return decode_text(data)
    except NotTextError:
        raise DocumentError(f"文件不是文本：.txt 应为 {ENCODINGS} 编码") from None


def _docx(data: bytes) -> str:
    if data.startswith(OLE):
        raise DocumentError("这是旧版 Word（.doc）或加了密码的文档：请另存为不加密码的 .docx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise DocumentError(BROKEN) from None
    if inflated > MAX_UNZIPPED:
        raise DocumentError("文档解压后过大，不像一篇讲话稿：请只保留正文另存后再发送")
    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs = list(document.paragraphs)
    except Exception:  # python-docx and lxml raise a dozen kinds on a damaged file: all are "damaged"
        logger.info("unreadable docx", exc_info=True)
        raise DocumentError(BROKEN) from None
    numbers = _Numbering(document)
    lines = []
    for paragraph in paragraphs:
        prefix = numbers.prefix(paragraph)  # counted for empty items too, as Word counts them
        text = paragraph.text.strip()
        if text:
            lines.append(prefix + text)
    return "\n".join(lines)


# -- Word's automatic numbering --------------------------------------------------------------------------

_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def _format(fmt: str, n: int) -> str:
    """A list number in one of Word's formats (w:numFmt); one that is not here is written in digits."""
    if fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting", "ideographTraditional"):
        return int_to_cn(n) if 0 <= n <= 99 else str(n)
    if fmt in ("upperLetter", "lowerLetter") and n >= 1:
        letter = chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter if fmt == "upperLetter" else letter.lower()
    if fmt.startswith("decimalEnclosedCircle") and 1 <= n <= len(_CIRCLED):
        return _CIRCLED[n - 1]
    if fmt == "decimalFullWidth":
        return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return str(n)


class _Numbering:
    """The number Word shows before each numbered paragraph, counted through the document in order.

    Simplified where a speech does not need more: counters are kept per abstract list (so lists that share
    one go on counting, as in Word), a level's start value is honoured and overrides are not, bullets
    and unknown lists give no prefix. Anything unexpected in the numbering gives no prefix, never an error.
    """

    def __init__(self, document):
        self.lists: dict[str, tuple[str, dict[int, tuple[str, str, int]]]] = {}
        self.counts: dict[str, dict[int, int]] = {}
        try:
            root = document.part.numbering_part.element
            abstract = {a.get(qn("w:abstractNumId")): _levels(a) for a in root.findall(qn("w:abstractNum"))}
            for num in root.findall(qn("w:num")):
                aid = _val(num, "w:abstractNumId")
                self.lists[num.get(qn("w:numId"))] = (aid, abstract.get(aid, {}))
        except Exception:  # no numbering part, or one we do not understand: no numbers
            self.lists = {}

    def prefix(self, paragraph) -> str:
        try:
            return self._prefix(paragraph)
        except Exception:
            return ""

    def _prefix(self, paragraph) -> str:
        num_pr = _num_pr(paragraph)
        if num_pr is None:
            return ""
        num_id, ilvl = _val(num_pr, "w:numId"), int(_val(num_pr, "w:ilvl") or 0)
        if num_id not in self.lists or ilvl not in self.lists[num_id][1]:
            return ""
        aid, levels = self.lists[num_id]
        counts = self.counts.setdefault(aid, {})
        counts[ilvl] = counts.get(ilvl, levels[ilvl][2] - 1) + 1
        for deeper in [level for level in counts if level > ilvl]:
            del counts[deeper]  # a new 一、 starts its （一） over
        fmt, pattern, _ = levels[ilvl]
        if fmt in ("bullet", "none") or not pattern:
            return ""

        def number(match: re.Match) -> str:
            level = int(match.group(1)) - 1
            fmt, _, start = levels.get(level, ("decimal", "", 1))
            return _format(fmt, counts.get(level, start))

        text = re.sub(r"%([1-9])", number, pattern)
        return text if text[-1:] in "、.．)）:：" else text + " "


def _levels(abstract) -> dict[int, tuple[str, str, int]]:
    """ilvl → (number format, text pattern such as "%1、", start value) of one abstract list."""
    levels = {}
    for lvl in abstract.findall(qn("w:lvl")):
        fmt, pattern = _val(lvl, "w:numFmt") or "decimal", _val(lvl, "w:lvlText") or ""
        levels[int(lvl.get(qn("w:ilvl")))] = (fmt, pattern, int(_val(lvl, "w:start") or 1))
    return levels


def _num_pr(paragraph):
    """The paragraph's w:numPr, its own or its style's (styles inherit through basedOn)."""
    found = paragraph._p.xpath("./w:pPr/w:numPr")
    style = paragraph.style
    while not found and style is not None:
        found = style.element.xpath("./w:pPr/w:numPr")
        style = style.base_style
    if not found or _val(found[0], "w:numId") in (None, "0"):  # numId 0: numbering switched off
        return None
    return found[0]


def _val(element, tag: str) -> str | None:
    child = element.find(qn(tag))
    return None if child is None else child.get(qn("w:val"))
