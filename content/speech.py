"""Parse a speech: front matter, opening, parts with their sub-points, closing, and sentences.

A speech is read the way a person reads it. Front matter (title, a ——subtitle, a date line, the speaker) is
set apart. The parts are found from the strongest structure the text has, tried in this order:
第一部分 / 第一个问题 headings, 一、 headings, unnumbered heading lines (短 lines, 关于…), （一） points,
run-in 第一，… lead sentences, repeated 同志们！ lines, and last, one part per paragraph. Under a part, the next
level down (一、 under 第一部分, （一） or run-in 第一，… under 一、) gives its sub-points. 一是…二是… and
——bullets stay inside paragraphs. The closing starts at a paragraph after the last part that begins
同志们，/最后，/总之/让我们…, or at 谢谢大家！, or after the last part when every part is one paragraph.

Every character of the body ends up in exactly one section, in order; ids depend only on the text.

One module of about 460 lines on purpose: its stages (lines, front matter, the structure, the closing)
share the marker patterns at the top and are read in order, top to bottom; the sentence splitter, which
needs none of them, is `content/sentences.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from content.numerals import cn_to_int, int_to_cn
from content.sentences import split_sentences

_N = "[一二三四五六七八九十]{1,3}"
_SEP = r"[\s\u3000：:、，,.．]*"
# Numbered markers, strongest first. Each pattern gives the number and the rest of the line.
MARKERS: dict[str, re.Pattern[str]] = {
    "part": re.compile(rf"^第({_N})部分{_SEP}(.*)$"),
    "topic": re.compile(rf"^第({_N})个(?:问题|方面){_SEP}(.*)$"),
    "dun": re.compile(rf"^({_N})[、．.]\s*(.*)$"),
    "paren": re.compile(rf"^[（(]({_N})[）)]\s*(.*)$"),
    "ordinal": re.compile(rf"^第({_N})[，,、：:]\s*(.*)$"),
}
# The levels a part may be divided into under each top-level structure.
SUB_LEVELS = {
    "part": ("dun", "paren", "ordinal"),
    "topic": ("dun", "paren", "ordinal"),
    "dun": ("paren", "ordinal"),
    "heading": ("dun", "paren", "ordinal"),
    "paren": ("ordinal",),
    "ordinal": (),
    "divider": ("paren", "ordinal"),
    "paragraph": (),
}
_SALUTE_WORDS = r"(?:同志们|同学们|老师们|朋友们|代表们|青年朋友们|各位[^，。！？：]{0,12}|亲爱的[^，。！？：]{1,14}|女士们|先生们)"
_SALUTATION = re.compile(rf"^{_SALUTE_WORDS}(?:[、，,]{_SALUTE_WORDS})*[：:！!]$")
_DIVIDER = re.compile(r"^(?:同志们|同学们|朋友们)[！!]$")
_CLOSING_START = re.compile(
    rf"^(?:{_SALUTE_WORDS}(?:[、，,]{_SALUTE_WORDS})*[，,！!]|最后[，,]|总之[，,]|总而言之|综上所述|让我们)"
)
_WRAP_UP_START = re.compile(r"^(?:让我们|总之[，,]|最后[，,]|总而言之)")
_THANKS = re.compile(r"^(?:谢谢大家|谢谢各位|谢谢)[！!。]?$")
_PROCEDURAL = re.compile(
    r"^(?:下面|现在|接下来|今天|这里)?[，,]?(?:对[^。]{0,24}[，,])?(?:我|就)[^。！？]{0,24}"
    r"(?:讲|谈|强调|提|说)(?:[一二两三四五六七八九十几]|几)(?:点|个|方面)[^。！？]{0,12}[。！：:]$"
    # The business of the meeting: 刚才，三个乡镇作了交流发言，讲得都很好。 会前……做了大量准备。
    r"|^刚才[，,][^。！？]{0,60}(?:发言|讲话|通报|报告|汇报|讲得|作了)[^。！？]{0,40}[。！]$"
    r"|^[^。！？]{0,30}(?:我完全同意|请大家认真抓好落实|请认真抓好贯彻落实)[^。！？]{0,20}[。！]$"
)
_DATE = re.compile(
    r"^[（(]?\s*(?:\d{4}|[〇零一二三四五六七八九]{4})\s*年\s*[\d一二三四五六七八九十]{1,3}\s*月"
    r"\s*[\d一二三四五六七八九十]{1,3}\s*日\s*[）)]?$"
)
_SUBTITLE = re.compile(r"^(?:——|－－|--|—)\s*(.+)$")
_OFFICE = re.compile(
    r"(?:书记|市长|县长|区长|省长|部长|主任|校长|局长|主席|厅长|院长|董事长|总经理|委员|常委|秘书长|组长|处长|镇长|乡长)"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SPACES = " \t\u3000\ufeff\r\xa0"
HEADING_MAX = 40


@dataclass(frozen=True)
class Sentence:
    """One sentence: where it stands (section id, 1-based index, paragraph number), its text and role.

    `role` is body, heading (a heading line or a run-in lead sentence: shown as a title, never quoted in a
    lesson or asked about), salutation (同志们：), thanks (谢谢大家！) or procedural (下面，我讲三点意见。).
    """

    section_id: str
    index: int
    paragraph: int
    text: str
    role: str = "body"


@dataclass
class Section:
    """Opening, a numbered part (maybe with sub-points), or closing."""

    id: str
    kind: str  # opening | numbered | closing
    number: int | None
    title: str
    paragraphs: list[str]
    sentences: list[Sentence] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)
    heading: str | None = None  # the whole heading as written (without its number), if the part has one

    @property
    def text(self) -> str:
        """The section's text, paragraphs separated by newlines."""
        return "\n".join(self.paragraphs)

    @property
    def label(self) -> str:
        """How readers name it: 开篇, 第三部分, 结语, or （二） for a sub-point."""
        if self.kind == "opening":
            return "开篇"
        if self.kind == "closing":
            return "结语"
        if "." in self.id:
            return f"（{int_to_cn(self.number or 0)}）"
        return f"第{int_to_cn(self.number or 0)}部分"

    @property
    def name(self) -> str:
        """The label with the title: 第三部分 · 扎实做好育才聚才 (just the label when untitled)."""
        if self.kind != "numbered" or not self.title:
            return self.label
        return f"{self.label} · {self.title}" if "." not in self.id else f"{self.label}{self.title}"


@dataclass
class Speech:
    """A parsed speech."""

    title: str
    sections: list[Section]
    subtitle: str | None = None
    date: str | None = None
    speaker: str | None = None

    def all_sentences(self) -> list[Sentence]:
        """Every sentence in reading order."""
        return [s for section in self.sections for s in section.sentences]


class EmptySpeechError(ValueError):
    """The text has no content to study."""


# -- lines -------------------------------------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    """Non-empty lines with surrounding (also full-width) spaces removed."""
    lines = [line.strip(_SPACES) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return [line for line in lines if line]


# Where a line break stood in a speech pasted as one line: before a marker that follows a sentence end.
_UNFOLD = re.compile(
    rf"(?<=[。！？!?”：:])(?=(?:{_N}、|第{_N}(?:部分|个问题|[，,])|{_SALUTE_WORDS}[，,！!]|最后，|总之，|让我们|谢谢大家))"
    rf"|(?=[（(]{_N}[）)])"
)


def _unfold(line: str) -> list[str]:
    """A speech pasted as one line, cut where its paragraphs and headings begin."""
    pieces = [p for p in _UNFOLD.split(line) if p]
    # The title runs straight into the salutation: 在……会议上的讲话同志们：
    first = re.match(rf"^(.{{4,60}}?)({_SALUTE_WORDS}(?:[、，,]{_SALUTE_WORDS})*[：:])(.*)$", pieces[0])
    if first and not re.search("[。！？]", first.group(1)):
        pieces[:1] = [first.group(1), first.group(2), first.group(3)]
    out = []
    for piece in pieces:
        # A heading that ran into its first point: 一、坚持党建引领（一）… was cut before （一） already;
        # a salutation that opens the body (同志们：今天……) becomes a line of its own.
        m = re.match(rf"^({_SALUTE_WORDS}(?:[、，,]{_SALUTE_WORDS})*[：:])(.+)$", piece)
        out += [m.group(1), m.group(2)] if m and not out else [piece]
    return [p for p in out if p]


def _is_bare(text: str) -> bool:
    """A heading line: short, no sentence end inside (a trailing ！ or ？ is allowed), not a list clause."""
    if not text or len(text) > HEADING_MAX or text.startswith(("——", "—", "－")):
        return False
    inner = text[:-1] if text[-1] in "！？!?" else text
    return not re.search(r"[。！？!?；;：:]", inner) and not text.endswith(("；", "：", ":"))


def _bare_title(rest: str) -> str:
    return rest.strip(_SPACES).rstrip("。！？!?，,；;：:")


def _lead(rest: str) -> tuple[str, str]:
    """Title and heading of a run-in lead sentence: its first clause, and the whole sentence."""
    sentence = split_sentences(rest)[0] if rest else ""
    title = re.split(r"[，,；;：:。！？!?]", sentence, maxsplit=1)[0]
    return title.strip(_SPACES), sentence.strip(_SPACES)


# -- front matter --------------------------------------------------------------------------------------


def _is_date(line: str) -> bool:
    return bool(_DATE.match(line))


def _is_speaker(line: str) -> bool:
    """A name (2–4 characters), or a title and a name: 市委书记 王建国, 市委常委、组织部部长　孙立平."""
    if len(line) > 30 or re.search(r"[，,。！？：:；“”]", line):
        return False
    words = [w for w in re.split(r"[\s\u3000·]+", line) if w]
    if not all(re.fullmatch(r"[\u4e00-\u9fff、]+", w) for w in words):
        return False
    if len(words) == 1:
        return 2 <= len(line) <= 4 or bool(re.search(_OFFICE.pattern + r"[\u4e00-\u9fff]{2,3}$", line))
    return 2 <= len(words[-1]) <= 4 and (bool(_OFFICE.search("".join(words[:-1]))) or len(words) == 2)


def _is_titlelike(line: str) -> bool:
    return (
        len(line) <= 60
        and not re.search(r"[。！？!?]", line)
        and not _SALUTATION.match(line)
        and not any(p.match(line) for p in MARKERS.values())
        and not _is_date(line)
        and not _SUBTITLE.match(line)
    )


def _front_matter(lines: list[str]) -> tuple[dict[str, str | None], int]:
    """Title, subtitle, date and speaker at the top, and the index of the first body line."""
    front: dict[str, str | None] = {"title": None, "subtitle": None, "date": None, "speaker": None}
    i = 0
    if lines and _is_titlelike(lines[0]) and len(lines) > 1:
        front["title"] = lines[0]
        i = 1
        # A title over two lines: the second is short too and more front matter follows it.
        if (
            len(lines) > 3
            and _is_titlelike(lines[1])
            and not _is_speaker(lines[1])
            and (_SUBTITLE.match(lines[2]) or _is_date(lines[2]) or _is_speaker(lines[2]))
        ):
            front["title"] = f"{lines[0]} {lines[1]}"
            i = 2
    while i < len(lines) - 1 and i <= 5:
        line = lines[i]
        sub = _SUBTITLE.match(line)
        if sub and front["subtitle"] is None and not re.search(r"[。！？；]", line):
            front["subtitle"] = sub.group(1).strip(_SPACES)
        elif _is_date(line) and front["date"] is None:
            front["date"] = re.sub(r"[\s（）()]", "", line)
        elif front["title"] and _is_speaker(line) and front["speaker"] is None:
            front["speaker"] = line
        else:
            break
        i += 1
    return front, i


# -- structure -------------------------------------------------------------------------------------


@dataclass
class _Start:
    line: int
    number: int
    title: str
    heading: str | None
    bare: bool  # a heading on a line of its own


def _marked(lines: list[str], style: str, lo: int, hi: int) -> list[_Start]:
    """The lines in [lo, hi) numbered in sequence 1, 2, 3… in the given style."""
    pattern = MARKERS[style]
    found: list[_Start] = []
    for i in range(lo, hi):
        m = pattern.match(lines[i])
        if m and cn_to_int(m.group(1)) == len(found) + 1:
            rest = m.group(2).strip(_SPACES)
            if _is_bare(rest):
                found.append(_Start(i, len(found) + 1, _bare_title(rest), rest, True))
            elif rest:
                title, heading = _lead(rest)
                found.append(_Start(i, len(found) + 1, title, heading, False))
    return found


def _heading_lines(lines: list[str], lo: int, hi: int) -> list[_Start]:
    """Unnumbered heading lines (坚决扛起生态环保政治责任, 关于……): each followed by a body paragraph."""
    found = []
    for i in range(lo, hi - 1):
        line = lines[i]
        if (
            4 <= len(line) <= 30
            and _is_bare(line)
            and not line.endswith(("！", "？", "!", "?"))
            and not _SALUTATION.match(line)
            and not _THANKS.match(line)
            and not any(p.match(line) for p in MARKERS.values())
            and not _is_bare(lines[i + 1])
        ):
            found.append(_Start(i, len(found) + 1, _bare_title(line), line, True))
    return found


def _dividers(lines: list[str], lo: int, hi: int) -> list[_Start]:
    """Parts that begin at a repeated 同志们！ line."""
    return [
        _Start(i, n + 1, "", None, True)
        for n, i in enumerate(k for k in range(lo, hi) if _DIVIDER.match(lines[k]))
    ]


def _top_level(lines: list[str], lo: int, hi: int) -> tuple[str, list[_Start]]:
    """The strongest structure with at least two parts, and where its parts start."""
    for style in ("part", "topic", "dun"):
        starts = _marked(lines, style, lo, hi)
        if len(starts) >= 2:
            return style, starts
    starts = _heading_lines(lines, lo, hi)
    if len(starts) >= 2:
        return "heading", starts
    for style in ("paren", "ordinal"):
        starts = _marked(lines, style, lo, hi)
        if len(starts) >= 2:
            return style, starts
    starts = [s for s in _dividers(lines, lo, hi) if s.line > lo]
    if len(starts) >= 2:
        return "divider", [_Start(s.line, n + 1, "", None, True) for n, s in enumerate(starts)]
    return "paragraph", _paragraph_parts(lines, lo, hi)


def _paragraph_parts(lines: list[str], lo: int, hi: int) -> list[_Start]:
    """No structure at all: after an opening paragraph, each paragraph is a part led by its first sentence."""
    first = lo + 1 if hi - lo > 1 else lo
    while first < hi - 1 and (_SALUTATION.match(lines[first - 1]) if first > lo else False):
        first += 1  # a bare 同志们： line belongs with the paragraph after it
    starts = []
    for i in range(first, hi):
        if _CLOSING_START.match(lines[i]) or _THANKS.match(lines[i]):
            break
        title, _ = _lead(lines[i])
        starts.append(_Start(i, len(starts) + 1, title, None, False))
    return starts


def _closing_start(
    lines: list[str], style: str, starts: list[_Start], subs_last: list[_Start], hi: int
) -> int:
    """Where the closing begins (hi when there is none)."""
    last = starts[-1]
    if style == "divider":
        # The last 同志们！ segment is the closing when it turns to the wrap-up (让我们…, 总之…).
        if last.line + 1 < hi and _WRAP_UP_START.match(lines[last.line + 1]) and len(starts) > 2:
            return last.line
        return hi
    # Parts of one paragraph each (run-in lead sentences): what follows the last one is a wrap-up.
    if style in {"ordinal", "dun", "part", "topic"} and not last.bare and len(starts) >= 2 and not subs_last:
        if all(b.line - a.line == 1 for a, b in zip(starts, starts[1:], strict=False)) and last.line + 1 < hi:
            return last.line + 1
    after = max([last.line] + [s.line for s in subs_last]) + 1
    for i in range(after, hi):
        if _CLOSING_START.match(lines[i]) or _THANKS.match(lines[i]):
            return i
    return hi


def _role(text: str, first_of_part: bool, heading: bool) -> str:
    if heading and first_of_part:
        return "heading"
    if _SALUTATION.match(text) or _DIVIDER.match(text):
        return "salutation"
    if _THANKS.match(text):
        return "thanks"
    if _PROCEDURAL.match(text) or re.fullmatch(
        r"[^。！？]{0,30}(?:我|就)[^。！？]{0,12}讲(?:几点|[一二两三四五]点)[^。]{0,8}。", text
    ):
        return "procedural"
    return "body"


def parse_speech(text: str) -> Speech:
    """Parse the text of a speech."""
    lines = _paragraphs(text)
    if len(lines) == 1 or (len(lines) <= 3 and max(map(len, lines), default=0) > 1500):
        lines = [piece for line in lines for piece in _unfold(line)]
    if not lines:
        raise EmptySpeechError("the text is empty")
    front, lo = _front_matter(lines)
    hi = len(lines)
    if lo >= hi or (hi == 1 and _is_titlelike(lines[0])):
        raise EmptySpeechError("the text has a title but no body")

    style, starts = _top_level(lines, lo, hi)
    sub_starts: list[tuple[str, list[_Start]]] = []
    for k, start in enumerate(starts):
        end = starts[k + 1].line if k + 1 < len(starts) else hi
        sub_starts.append(_sub_level(lines, style, start.line + 1, end))
    closing_at = _closing_start(lines, style, starts, sub_starts[-1][1], hi) if starts else hi
    if starts and starts[-1].line >= closing_at:
        starts, sub_starts = starts[:-1], sub_starts[:-1]
    if starts:
        # The last part's sub-points end where the closing begins.
        last_style, last_subs = sub_starts[-1]
        sub_starts[-1] = (last_style, [s for s in last_subs if s.line < closing_at])

    sections: list[Section] = []
    first = starts[0].line if starts else closing_at
    if first > lo:
        sections.append(Section("0", "opening", None, "开篇", lines[lo:first]))
    for k, start in enumerate(starts):
        end = starts[k + 1].line if k + 1 < len(starts) else closing_at
        section = Section(
            str(start.number),
            "numbered",
            start.number,
            start.title,
            lines[start.line : end],
            heading=start.heading,
        )
        _, subs = sub_starts[k]
        for j, sub in enumerate(subs):
            sub_end = subs[j + 1].line if j + 1 < len(subs) else end
            section.subsections.append(
                Section(
                    f"{section.id}.{sub.number}",
                    "numbered",
                    sub.number,
                    sub.title,
                    lines[sub.line : sub_end],
                    heading=sub.heading,
                )
            )
        section.sentences = _sentences(section, lines, start, subs)
        sections.append(section)
    if closing_at < hi:
        sections.append(Section(str(len(starts) + 1), "closing", None, "结语", lines[closing_at:hi]))
    for section in sections:
        if section.kind != "numbered":
            section.sentences = _sentences(section, lines, None, [])
    if not any(s.role in {"body", "procedural"} for sec in sections for s in sec.sentences):
        raise EmptySpeechError("the text has no sentences to study")
    return Speech(front["title"] or "讲话", sections, front["subtitle"], front["date"], front["speaker"])


def _sub_level(lines: list[str], style: str, lo: int, hi: int) -> tuple[str, list[_Start]]:
    for sub in SUB_LEVELS[style]:
        found = _marked(lines, sub, lo, hi)
        if len(found) >= 2:
            return sub, found
    return "", []


def _sentences(
    section: Section, lines: list[str], start: _Start | None, subs: list[_Start]
) -> list[Sentence]:
    """The section's sentences with their roles; its sub-points get theirs from the same list."""
    first_line = lines.index(section.paragraphs[0]) if start is None else start.line
    heading_lines = ({start.line} if start and start.heading else set()) | {s.line for s in subs if s.heading}
    out: list[Sentence] = []
    for p, para in enumerate(section.paragraphs):
        line_no = (start.line if start else first_line) + p
        for j, piece in enumerate(split_sentences(para)):
            role = _role(piece, j == 0, line_no in heading_lines)
            out.append(Sentence(section.id, len(out) + 1, p, piece, role))
    offset = 0
    for sub in section.subsections:
        first = section.paragraphs.index(sub.paragraphs[0], offset)
        offset = first + len(sub.paragraphs)
        sub.sentences = [s for s in out if first <= s.paragraph < offset]
    return out
