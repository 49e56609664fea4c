"""Question banks (bot/core/bank): the bot's questions out to XLSX and CSV and back unchanged, formula cells
made inert, every rule of a row with the row number a spreadsheet shows, and files that are no bank
refused with one message. The spreadsheets are written here with openpyxl, as an editor's Excel would."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bot.core import bank
from bot.core.bank import (
    HEADER,
    BankRow,
    bank_rows,
    diff_banks,
    read_bank,
    section_names,
    to_csv,
    to_xlsx,
)

GOOD = ["单选", "政治建设是党的什么建设？", "根本性", "基础性", "战略性", "标志性", "A", "开篇：政治建设是党的根本性建设。", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def names(model):
    return section_names(model.sections)


def xlsx(*rows, header=HEADER, sheet_title=None) -> bytes:
    """A workbook as an editor makes it: the header, then the rows as given (None: a blank row)."""
    book = openpyxl.Workbook()
    sheet = book.active
    if sheet_title:
        sheet.title = sheet_title
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row) if row is not None else [])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(*rows, header=HEADER, encoding="utf-8-sig", delimiter=",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([list(header), *(list(r) for r in rows)])
    return out.getvalue().encode(encoding)


def row(**changes) -> list[object]:
    """GOOD with some cells changed, by column name: row(答案="E")."""
    cells = dict(zip(HEADER, GOOD, strict=True)) | changes
    return [cells[h] for h in HEADER]


def same(question):
    return question.question, question.options, question.answer, question.section_id, question.explanation


# -- the round trip --------------------------------------------------------------------------------------


@pytest.mark.parametrize("write, filename", [(to_xlsx, "题库.xlsx"), (to_csv, "题库.csv")])
def test_the_bots_questions_go_out_and_come_back_the_same(any_model, write, filename):
    names = section_names(any_model.sections)
    rows = bank_rows(any_model.questions, names)
    result = read_bank(write(rows), filename, names)
    if not rows:  # a speech the generator finds no question in: an empty bank is nothing to import
        assert result.error_text() == "表里没有题目"
        return
    assert result.ok, result.error_text()
    assert [same(q) for q in result.questions] == [same(q) for q in any_model.questions]
    assert result.rows == tuple(rows)
    assert str(diff_banks(rows, result.rows)).startswith("导入预览：新增 0 题，修改 0 题，删除 0 题")


@pytest.mark.parametrize("speech", ["s04-plain-headings.txt", "s09-dun-runin-gbk.txt"])
def test_sequence_questions_and_a_gbk_speech_go_out_and_come_back(speech):
    """Sequence and exclusion questions, and a GBK speech's, go out as a sheet and come back the same."""
    from content import load_model

    model = load_model(Path(__file__).parent / "data" / "speeches" / speech)
    names = section_names(model.sections)
    kinds = {q.kind for q in model.questions}
    assert "section" in kinds and kinds & {"sequence", "exclusion"}, kinds
    result = read_bank(to_xlsx(bank_rows(model.questions, names)), "a.xlsx", names)
    assert [same(q) for q in result.questions] == [same(q) for q in model.questions]


def test_export_rows_say_what_an_editor_reads(model, names):
    rows = bank_rows(model.questions, names)
    first, q = rows[0], model.questions[0]
    assert first.kind == "单选" and first.stem == q.question and first.options == q.options
    assert first.explanation == q.explanation  # the source sentence with its part: 开篇：……
    assert {r.section for r in rows} <= {"开篇", "结语", "1", "2", "3", "4", "5"}
    assert first.cells()[6] == "ABCD"[q.answer]


def test_the_xlsx_has_a_bold_frozen_header_readable_widths_and_only_text_cells(model, names):
    data = to_xlsx(bank_rows(model.questions, names))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == list(HEADER)
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 40 and sheet.column_dimensions["G"].width <= 8
    cells = [c for r in sheet.iter_rows() for c in r if c.value is not None]
    assert len(cells) > 9 * 5 and all(c.data_type == "s" for c in cells)


def test_the_csv_has_the_bom_and_the_header(model, names):
    data = to_csv(bank_rows(model.questions, names))
    assert data.startswith(codecs.BOM_UTF8)
    assert data.decode("utf-8-sig").split("\r\n")[0] == ",".join(HEADER)


def test_reimporting_gives_the_same_ids(names):
    data = xlsx(row(), row(题干="第二题？"))
    first, second = read_bank(data, "a.xlsx", names), read_bank(data, "b.xlsx", names)
    assert [q.id for q in first.questions] == [q.id for q in second.questions]
    assert all(q.id.startswith("bank-") for q in first.questions)
    assert len({q.id for q in first.questions}) == 2
    assert first.questions[0].kind == "choice" and first.questions[0].source == GOOD[7]


def test_the_models_sections_will_do_as_well_as_their_names(model, names):
    data = xlsx(row(部分="第二部分"))
    assert read_bank(data, "a.xlsx", model.sections).rows == read_bank(data, "a.xlsx", names).rows
    assert bank_rows(model.questions, model.sections) == bank_rows(model.questions, names)


def test_a_question_of_five_options_cannot_be_a_row(model, names):
    from dataclasses import replace

    five = replace(model.questions[0], options=("甲", "乙", "丙", "丁", "戊"))
    with pytest.raises(ValueError, match="2-4"):
        bank_rows([five], names)


# -- formulas --------------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","点我")', "+1", "-2", "@SUM(A1)", "\tleading tab"]


def formula_rows(names) -> list[BankRow]:
    return [
        BankRow("单选", stem, (stem, "乙", "=1+1"), 1, "=cmd|' /C calc'!A0", "1", "1") for stem in FORMULAS
    ]


def test_formula_cells_are_inert_in_the_xlsx(names):
    data = to_xlsx(formula_rows(names))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    for r in sheet.iter_rows(min_row=2):
        assert all(c.data_type == "s" for c in r if c.value is not None)
        stem, option_a, option_c, explanation = r[1].value, r[2].value, r[4].value, r[7].value
        assert stem.startswith("'") and option_a.startswith("'")
        assert option_c == "'=1+1" and explanation.startswith("'=")
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")


def test_formula_cells_are_inert_in_the_csv(names):
    cells = list(csv.reader(io.StringIO(to_csv(formula_rows(names)).decode("utf-8-sig"))))[1:]
    assert [c[1] for c in cells] == ["'" + f for f in FORMULAS]
    assert all(c[4] == "'=1+1" and c[7].startswith("'=") for c in cells)


@pytest.mark.parametrize("write, filename", [(to_xlsx, "a.xlsx"), (to_csv, "a.csv")])
def test_formula_like_text_comes_back_without_the_apostrophe(names, write, filename):
    result = read_bank(write(formula_rows(names)), filename, names)
    assert result.ok, result.error_text()
    stems = [q.question for q in result.questions]
    assert stems == FORMULAS[:4] + ["leading tab"]  # surrounding white space is never kept
    assert result.questions[0].options[2] == "=1+1"


# -- the rules of a row ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"题干": ""}, "题干为空"),
        ({"题干": "问" * 301}, "题干有 301 个字，超过 Telegram 测验的上限 300 字"),
        ({"选项B": "", "选项C": "", "选项D": ""}, "单选题至少要有 2 个选项"),
        ({"选项C": ""}, "选项C为空，后面的选项却有内容"),
        ({"选项B": "乙" * 101}, "选项B有 101 个字，超过 Telegram 测验的上限 100 字"),
        ({"选项C": "根本性"}, "选项A和选项C相同"),
        ({"答案": "E"}, "答案“E”不在选项中"),
        ({"选项D": "", "答案": "D"}, "答案“D”不在选项中"),
        ({"答案": "AB"}, "答案“AB”：单选题只能有一个答案"),
        ({"答案": ""}, "答案为空"),
        ({"答案": "根本性"}, "答案“根本性”应为一个选项的字母（A-D）"),
        ({"解析/出处": "解" * 201}, "解析/出处有 201 个字，超过 Telegram 测验的上限 200 字"),
        ({"解析/出处": "一\n二\n三\n四"}, "解析/出处最多换行 2 次"),
        ({"部分": "9"}, "部分“9”不在这篇讲话里"),
        ({"部分": "第九部分"}, "部分“第九部分”不在这篇讲话里"),
        ({"部分": ""}, "部分为空"),
        ({"题型": "多选"}, "题型“多选”不支持，只能是单选或判断"),
        ({"题型": "判断", "选项A": "甲", "选项B": "乙", "选项C": "", "选项D": ""}, "判断题的选项只能是"),
        (
            {"题型": "判断", "选项C": "", "选项D": "", "选项A": "对", "选项B": "错", "答案": "也许"},
            "答案“也许”应为正确或错误",
        ),  # fmt: skip
    ],
)
def test_each_rule_names_the_row_as_the_spreadsheet_shows_it(names, changes, message):
    # Header on row 1, a good question on row 2, a blank row 3 (skipped), the bad one on row 4.
    result = read_bank(xlsx(row(), None, row(**changes)), "bank.xlsx", names)
    assert len(result.errors) == 1 and str(result.errors[0]).startswith(f"第 4 行：{message}"), result.errors
    assert result.errors[0].row == 4
    assert not result.ok and result.questions == () and result.rows == ()


def test_the_message_for_a_missing_answer_reads_as_in_the_issue(names):
    result = read_bank(xlsx(*[row(题干=f"第{i}题") for i in range(2, 7)], row(答案="E")), "a.xlsx", names)
    assert str(result.errors[0]) == "第 7 行：答案“E”不在选项中"


def test_every_error_of_every_row_is_collected(names):
    result = read_bank(csv_bytes(row(题干=""), row(), row(答案="Z", 部分="第八部分")), "a.csv", names)
    assert [(e.row, e.message) for e in result.errors] == [
        (2, "题干为空"),
        (4, "答案“Z”不在选项中"),
        (4, "部分“第八部分”不在这篇讲话里"),
    ]
    assert result.questions == ()


def test_a_row_twice_is_an_error_naming_the_first(names):
    result = read_bank(xlsx(row(), row(题干="别的题？"), row(答案="B")), "a.xlsx", names)
    assert [str(e) for e in result.errors] == ["第 4 行：和第 2 行的题目重复（题干和选项都相同）"]


def test_error_text_lists_the_first_errors_and_counts_the_rest(names):
    result = read_bank(csv_bytes(*[row(题干=f"题{i}", 答案="E") for i in range(30)]), "a.csv", names)
    lines = result.error_text(limit=5).split("\n")
    assert len(lines) == 6 and lines[0].startswith("第 2 行：") and lines[-1] == "……另有 25 处错误"


@pytest.mark.parametrize("answer, index", [("a", 0), ("Ａ", 0), (" b ", 1), ("ｃ", 2), ("D", 3), ("C.", 2)])
def test_answer_letters_in_any_case_and_width(names, answer, index):
    result = read_bank(xlsx(row(答案=answer)), "a.xlsx", names)
    assert result.ok, result.error_text()
    assert result.questions[0].answer == index


@pytest.mark.parametrize(
    "part, section_id",
    [("1", "1"), ("一", "1"), ("第一部分", "1"), ("第三", "3"), ("开篇", "0"), ("0", "0"), ("结语", "6"),
     ("扎实做好理论武装", "1"), ("第三部分 · 扎实做好育才聚才", "3"), (2, "2"), (5.0, "5"), ("第 4 部分", "4")],
)  # fmt: skip
def test_a_part_by_number_or_name(names, part, section_id):
    result = read_bank(xlsx(row(部分=part)), "a.xlsx", names)
    assert result.ok, result.error_text()
    assert result.questions[0].section_id == section_id
    assert result.rows[0].section == {"0": "开篇", "6": "结语"}.get(section_id, section_id)


# -- 判断 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, answer, index",
    [
        (("", ""), "正确", 0),
        (("", ""), "错", 1),
        (("正确", "错误"), "B", 1),
        (("对", "错"), "对", 0),
        (("√", "×"), "×", 1),
        (("是", "否"), "A", 0),
        (("错", "对"), "A", 1),  # the options in the other order: A is 错
        (("", ""), True, 0),  # Excel's TRUE
        (("", ""), "B", 1),
    ],
)
def test_true_or_false_rows_are_normalized(names, options, answer, index):
    cells = row(题型="判断题", 选项A=options[0], 选项B=options[1], 选项C="", 选项D="", 答案=answer)
    result = read_bank(xlsx(cells), "a.xlsx", names)
    assert result.ok, result.error_text()
    q = result.questions[0]
    assert q.options == ("正确", "错误") and q.answer == index and q.kind == "truefalse"
    assert result.rows[0].kind == "判断"


def test_a_row_without_type_whose_answer_is_true_or_false_is_a_true_or_false_question(names):
    result = read_bank(xlsx(row(题型="", 选项A="", 选项B="", 选项C="", 选项D="", 答案="√")), "a.xlsx", names)
    assert result.ok and result.rows[0].kind == "判断" and result.questions[0].options == ("正确", "错误")


def test_true_or_false_rows_go_out_and_come_back(names):
    rows = read_bank(xlsx(row(题型="判断", 选项C="", 选项D="", 选项A="", 选项B="", 答案="错")), "a.xlsx", names).rows  # fmt: skip
    again = read_bank(to_xlsx(rows), "a.xlsx", names)
    assert again.rows == rows and rows[0].cells()[2:7] == ["正确", "错误", "", "", "B"]
    assert bank_rows(again.questions, names) == list(rows)


# -- columns and encodings -------------------------------------------------------------------------------


def test_columns_in_any_order_under_other_names(names):
    header = ["章节", "正确答案", "选项 B", "A", "题干", "解析", "题型", "Ｄ", "c"]
    order = ["部分", "答案", "选项B", "选项A", "题干", "解析/出处", "题型", "选项D", "选项C"]
    cells = dict(zip(HEADER, GOOD, strict=True))
    result = read_bank(xlsx([cells[h] for h in order], header=header), "a.xlsx", names)
    assert result.ok, result.error_text()
    assert same(result.questions[0]) == (GOOD[1], tuple(GOOD[2:6]), 0, "1", GOOD[7])


def test_a_title_row_above_the_header_keeps_the_row_numbers(names):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2024年党建知识题库"])
    sheet.append(list(HEADER))
    sheet.append(row())
    sheet.append(row(答案="E"))
    out = io.BytesIO()
    book.save(out)
    result = read_bank(out.getvalue(), "a.xlsx", names)
    assert [str(e) for e in result.errors] == ["第 4 行：答案“E”不在选项中"]


def test_the_bank_may_be_on_another_sheet(names):
    book = openpyxl.Workbook()
    book.active.append(["填写说明：每行一题"])
    book.create_sheet("题库").append(list(HEADER))
    book["题库"].append(row())
    out = io.BytesIO()
    book.save(out)
    assert read_bank(out.getvalue(), "a.xlsx", names).ok


def test_separate_explanation_and_source_columns_are_joined(names):
    header = [*HEADER[:7], "解析", "出处", "部分"]
    cells = [*GOOD[:7], "根本性建设决定方向。", "开篇", "1"]
    result = read_bank(xlsx(cells, header=header), "a.xlsx", names)
    assert result.questions[0].explanation == "根本性建设决定方向。\n开篇"


@pytest.mark.parametrize(
    "encoding, delimiter",
    [("gbk", ","), ("gb18030", "\t"), ("utf-8", ","), ("utf-8-sig", "\t"), ("utf-16", "\t")],
)
def test_csv_in_any_encoding_comma_or_tab(names, encoding, delimiter):
    data = csv_bytes(row(), row(题干="第二题？", 答案="d"), encoding=encoding, delimiter=delimiter)
    result = read_bank(data, "题库.csv", names)
    assert result.ok, result.error_text()
    assert [q.question for q in result.questions] == [GOOD[1], "第二题？"]
    assert result.questions[1].answer == 3


def test_blank_rows_and_template_leftovers_are_skipped(names):
    leftover = ["单选", "", "", "", "", "", "", "", ""]
    result = read_bank(
        xlsx(None, row(), ["  ", None, ""], leftover, None, row(题干="又一题？")), "a.xlsx", names
    )
    assert result.ok and len(result.questions) == 2


def test_a_stray_cell_far_below_does_not_make_a_million_rows(names):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(HEADER))
    sheet.append(row())
    sheet.cell(1_000_000, 1, "x")
    out = io.BytesIO()
    book.save(out)
    result = read_bank(out.getvalue(), "a.xlsx", names)
    assert result.ok and len(result.questions) == 1


# -- files that are no bank ------------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"", "a.xlsx", "文件是空的"),
        (b"x" * (5 * 1024 * 1024 + 1), "a.csv", "文件超过 5 MB"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "a.xls", "不支持旧版 Excel（.xls）"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "a.xlsx", "不支持旧版 Excel（.xls）"),
        (b"PK\x03\x04" + b"\x00garbage" * 50, "a.xlsx", "文件不是有效的 .xlsx"),
        (b"just some text", "a.xlsx", "文件不是有效的 .xlsx"),
        (_zip({"hello.txt": b"hi"}), "a.xlsx", "文件不是有效的 .xlsx"),
        (bytes(range(256)) * 40, "a.csv", "文件不是 UTF-8、GB18030/GBK 或 UTF-16 编码的 CSV 文本"),
        (b"%PDF-1.4 ...", "a.pdf", "只接受 .xlsx 或 .csv 格式的题库"),
        ("题目,答案\n一,A\n".encode(), "a.csv", "表头第 1 行缺少“部分”列"),
        ("名字,年龄\n张三,3\n".encode(), "a.csv", "找不到表头"),
        (",".join(HEADER).encode(), "a.csv", "表里没有题目"),
        (("题干,答案,部分,答案\n" + "问,A,1,B\n").encode(), "a.csv", "表头第 1 行有重复的列：答案"),
    ],
)
def test_a_file_that_is_no_bank_gets_one_clear_error(names, data, filename, message):
    result = read_bank(data, filename, names)
    assert len(result.errors) == 1 and result.errors[0].row is None
    assert str(result.errors[0]).startswith(message), str(result.errors[0])
    assert result.questions == ()


def test_a_damaged_xlsx_is_refused(names):
    data = xlsx(row())
    for broken in (data[: len(data) // 2], data[:-30], data.replace(b"xl/workbook.xml", b"xl/workbook.xmX")):
        result = read_bank(broken, "a.xlsx", names)
        assert [e.message for e in result.errors] == [bank.files.XLSX_BROKEN]


def test_a_zip_that_inflates_too_far_is_refused_before_it_is_opened(names, monkeypatch):
    monkeypatch.setattr(bank.files, "MAX_UNZIPPED", 1_000_000)
    bomb = _zip({"xl/worksheets/sheet1.xml": b"\0" * 2_000_000})
    assert len(bomb) < 10_000
    result = read_bank(bomb, "a.xlsx", names)
    assert [e.message for e in result.errors] == ["文件解压后过大，不像题库：请只保留题目另存后再导入"]


def test_at_most_2000_questions(names):
    rows = [row(题干=f"第{i}题？") for i in range(2001)]
    assert read_bank(csv_bytes(*rows[:2000]), "a.csv", names).ok
    result = read_bank(csv_bytes(*rows), "a.csv", names)
    assert [str(e) for e in result.errors] == ["题目超过 2000 道：请分成几个文件导入"]


# -- the preview -----------------------------------------------------------------------------------------


def test_the_preview_counts_added_changed_unchanged_and_removed(names):
    current = read_bank(xlsx(*[row(题干=f"第{i}题？") for i in range(5)]), "a.xlsx", names).rows
    imported = read_bank(
        xlsx(
            row(题干="第0题？"),
            row(题干="第1题？", 答案="C"),  # the answer corrected
            row(题干="第2题？", 部分="2"),  # moved to another part
            row(题干="第3题？"),
            row(题干="新题？"),
        ),
        "a.xlsx",
        names,
    ).rows
    diff = diff_banks(current, imported)
    assert (diff.added, diff.changed, diff.unchanged, diff.removed) == (1, 2, 2, 1)
    assert str(diff) == "导入预览：新增 1 题，修改 2 题，删除 1 题，2 题不变"
    assert str(diff_banks([], imported)) == "导入预览：新增 5 题，修改 0 题，删除 0 题"


def test_point_lists_of_a_paragraph():
    """一是…二是…三是… in one paragraph is a list of points, each the clause its ordinal opens."""
    from content.points import point_lists
    from content.speech import Sentence

    def para(texts, paragraph=1):
        return [Sentence("2", i, paragraph, t) for i, t in enumerate(texts, start=1)]

    measures = para(
        [
            "全市要以细颗粒物和臭氧协同控制为主线，重点抓好三个方面。",
            "一是要抓好工业源治理，对重点行业实施超低排放改造；二是抓好移动源治理，淘汰老旧车辆；",
            "三是抓好面源治理，严控扬尘。",
        ]
    )
    faults = para(
        ["我们的差距主要体现在三个方面：一是产业链条短，二是要素保障不足，三是这种统一是表面的，作风不实。"],
        2,
    )
    found = point_lists(measures + faults)
    assert [p.points for p in found] == [
        ("抓好工业源治理", "抓好移动源治理", "抓好面源治理"),
        ("产业链条短", "要素保障不足", "这种统一是表面的"),
    ]
    assert found[0].lead == "全市要以细颗粒物和臭氧协同控制为主线，重点抓好三个方面"
    assert [p.kind for p in found] == ["measure", "fault"]
    # two points are no list of three; points in two paragraphs are two runs
    assert point_lists(para(["一是强化领导。", "二是强化保障。"])) == []
    assert point_lists(para(["一是强化领导。"], 1) + para(["二是强化保障。", "三是强化督导。"], 2)) == []
