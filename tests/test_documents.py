"""The text of an uploaded speech (bot/core/documents.py): .txt in every encoding a speech comes in, .docx
paragraphs with Word's list numbers written out, and one clear Chinese error for everything else. The
.docx files are built here with python-docx."""

from __future__ import annotations

import codecs
import io
import struct
import zipfile
import zlib

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from bot.core import documents
from bot.core.documents import NO_TEXT, DocumentError, speech_text
from content.speech import parse_speech

SPEECH = "在全市组织工作会议上的讲话\n同志们：\n今天的会议很重要。\n一、扎实做好理论武装\n要学深悟透。"


def saved(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def tiny_png() -> bytes:
    """A 1×1 PNG, written by hand: signature, IHDR, IDAT, IEND."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8 bits, RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, one red pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def refused(filename: str, data: bytes) -> str:
    with pytest.raises(DocumentError) as caught:
        speech_text(filename, data)
    return str(caught.value)


# -- .txt ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        SPEECH.encode("utf-8"),
        codecs.BOM_UTF8 + SPEECH.encode("utf-8"),
        SPEECH.encode("gbk"),  # no BOM: what Notepad on a Chinese Windows saves
        SPEECH.encode("gb18030"),
        SPEECH.encode("utf-16"),  # with its BOM
        SPEECH.replace("\n", "\r\n").encode("gbk"),
    ],
)
def test_a_txt_in_any_encoding_a_speech_comes_in(encoded):
    assert speech_text("讲话.txt", encoded) == SPEECH


def test_the_extension_is_read_in_any_case():
    assert speech_text("讲话.TXT", SPEECH.encode()) == SPEECH


def test_a_binary_file_is_not_text():
    assert (
        refused("讲话.txt", bytes(range(256)) * 100)
        == "文件不是文本：.txt 应为 UTF-8、GB18030/GBK 或 UTF-16 编码"
    )


def test_a_docx_named_txt_is_not_text():
    assert refused("讲话.txt", saved(docx.Document())).startswith("文件不是文本")


@pytest.mark.parametrize(
    "data, message", [(b"", "文件是空的"), (b"   \n\t\n", NO_TEXT), ("\u3000\u3000\n".encode(), NO_TEXT)]
)
def test_an_empty_file_or_only_white_space(data, message):
    assert refused("讲话.txt", data) == message


def test_the_empty_file_says_so():
    assert refused("讲话.docx", b"") == "文件是空的"


def test_a_file_over_20_mb_is_refused_before_it_is_read():
    assert refused("讲话.txt", b"a" * (20 * 1024 * 1024 + 1)).startswith("文件超过 20 MB")


@pytest.mark.parametrize(
    "filename, message",
    [
        ("讲话.pdf", "不支持.pdf 文件：讲话稿只接受 .txt 或 .docx 格式"),
        ("讲话", "不支持没有扩展名的文件：讲话稿只接受 .txt 或 .docx 格式"),
        (
            "讲话.doc",
            "不支持旧版 Word（.doc）文件：请另存为 .docx，或把正文复制成 .txt（只接受 .txt 或 .docx）",
        ),
    ],
)
def test_other_formats_are_told_which_are_taken(filename, message):
    assert refused(filename, b"%PDF-1.4 whatever") == message


# -- .docx -----------------------------------------------------------------------------------------------


def test_docx_paragraphs_in_order_headings_included_tables_left_out():
    document = docx.Document()
    document.add_heading("在全市组织工作会议上的讲话", 0)
    document.add_paragraph("同志们：")
    document.add_paragraph("")  # an empty paragraph between: no line
    document.add_paragraph("今天的会议很重要。")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "表格里的字"
    document.add_heading("一、扎实做好理论武装", 1)
    paragraph = document.add_paragraph("要学深")
    paragraph.add_run("悟透。").bold = True
    assert speech_text("讲话.docx", saved(document)) == SPEECH


def test_a_docx_of_only_a_table_and_an_image_has_no_text():
    document = docx.Document()
    document.add_table(rows=2, cols=2).cell(0, 0).text = "只有表格"
    document.add_picture(io.BytesIO(tiny_png()))
    assert refused("讲话.docx", saved(document)) == "文档里没有正文文字"


def numbered(document, num_id: int, level: int, text: str) -> None:
    paragraph = document.add_paragraph(text)
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = level
    num_pr.get_or_add_numId().val = num_id


NUMBERING = f"""
<w:abstractNum {nsdecls("w")} w:abstractNumId="90">
  <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl>
  <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%2）"/></w:lvl>
  <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%3."/></w:lvl>
</w:abstractNum>"""


def test_word_list_numbers_are_written_out_so_the_parser_finds_the_parts():
    document = docx.Document()
    root = document.part.numbering_part.element
    root.insert(0, parse_xml(NUMBERING))  # abstract lists come before the lists that use them
    root.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    document.add_paragraph("在全市组织工作会议上的讲话")
    document.add_paragraph("同志们：今天召开会议，部署工作。")
    for title, points in (("扎实做好理论武装", 2), ("扎实做好选贤任能", 1)):
        numbered(document, 90, 0, title)
        for p in range(points):
            numbered(document, 90, 1, f"第{p + 1}点要求")
            numbered(document, 90, 2, "具体做法。")
    document.add_paragraph("普通段落，没有编号。", style="List Bullet")
    text = speech_text("讲话.docx", saved(document))
    assert text.split("\n")[2:] == [
        "一、扎实做好理论武装",
        "（一）第1点要求",
        "1.具体做法。",
        "（二）第2点要求",
        "1.具体做法。",  # a new （二） starts its 1. over
        "二、扎实做好选贤任能",
        "（一）第1点要求",
        "1.具体做法。",
        "普通段落，没有编号。",  # a bullet gives no prefix
    ]
    assert [s.title for s in parse_speech(text).sections if s.kind == "numbered"] == [
        "扎实做好理论武装",
        "扎实做好选贤任能",
    ]


def test_the_templates_numbered_list_style_counts_too():
    document = docx.Document()
    for item in ("学习", "调研", "落实"):
        document.add_paragraph(item, style="List Number")
    assert speech_text("a.docx", saved(document)) == "1.学习\n2.调研\n3.落实"


@pytest.mark.parametrize(
    "make",
    [
        lambda good: good[: len(good) // 2],  # cut off in the upload
        lambda good: good[:-40],
        lambda good: b"PK\x03\x04" + b"\0" * 300,
        lambda good: b"this is not a zip at all" * 10,
        lambda good: good.replace(b"word/document.xml", b"word/documenX.xml"),
    ],
)
def test_a_damaged_docx_is_refused(make):
    good = saved(docx.Document())
    assert refused("讲话.docx", make(good)) == documents.BROKEN


def test_an_xlsx_named_docx_is_refused():
    import openpyxl

    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    assert refused("讲话.docx", out.getvalue()) == documents.BROKEN


def test_an_old_or_encrypted_word_file_named_docx():
    message = refused("讲话.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000)
    assert message == "这是旧版 Word（.doc）或加了密码的文档：请另存为不加密码的 .docx"


def test_a_docx_that_inflates_too_far_is_refused_before_it_is_opened(monkeypatch):
    monkeypatch.setattr(documents, "MAX_UNZIPPED", 1_000_000)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * 2_000_000)
    assert len(out.getvalue()) < 10_000
    assert refused("讲话.docx", out.getvalue()).startswith("文档解压后过大")
