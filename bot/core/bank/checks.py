"""The checks of an imported bank: which column is which, and every row as a quiz poll will take it.

Headers are matched by name (选项A, A, 选项 A; 答案, 正确答案; 解析, 出处; 部分, 章节), so columns may come in
any order. Each problem of a row is one message; a row with any is not imported, nor is the file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.core.bank.rows import (
    HEADER,
    JUDGE,
    LETTERS,
    SINGLE,
    TRUE_FALSE,
    BankError,
    BankImport,
    BankRow,
    Parts,
)
from bot.core.sheets import FORMULA_STARTS
from content.quiz.question import EXPLANATION_MAX, OPTION_MAX, QUESTION_MAX

MAX_ROWS = 2000

_TRUE = {"正确", "对", "√", "✓", "✔", "是", "T", "TRUE", "Y"}
_FALSE = {"错误", "错", "×", "✗", "✘", "否", "F", "FALSE", "N"}
_ALIASES = {
    "kind": {"题型", "题目类型", "类型", "题类"},
    "stem": {"题干", "题目", "问题", "试题", "题目内容"},
    "answer": {"答案", "正确答案", "参考答案", "标准答案", "正确选项"},
    "explanation": {"解析出处", "解析", "出处", "答案解析", "解析与出处", "来源", "说明", "依据"},
    "section": {"部分", "章节", "所属部分", "部分章节", "篇章", "所属章节", "出自部分"},
}
_NAMES = {"kind": "题型", "stem": "题干", "answer": "答案", "explanation": "解析/出处", "section": "部分"}


class Refused(Exception):
    """The file as a whole cannot be read; the message says why."""


def _field(header: object) -> str | None:
    """Which column a header names: 选项A, A, 选项 A, Ａ → "A"; 正确答案 → "answer"; …"""
    key = unicodedata.normalize("NFKC", cell_text(header)).lower()
    key = re.sub(r"[(\[【].*?[)\]】]|[\s:*/、|]", "", key)
    option = re.fullmatch(r"(?:选项)?([a-d])(?:选项)?", key)
    if option:
        return option.group(1).upper()
    return next((field for field, names in _ALIASES.items() if key in names), None)


def columns_of(cells: Sequence[object]) -> dict[str, list[int]] | None:
    """The columns of each field, if these cells are a header (they name 题干 and 答案)."""
    columns: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        field = _field(cell)
        if field:
            columns.setdefault(field, []).append(i)
    return columns if "stem" in columns and "answer" in columns else None


def check_rows(records: list[tuple[int, Sequence[object]]], parts: Parts) -> BankImport:
    """The import of a sheet's non-blank (row number, cells): its header in the first ten, then every row
    checked. Refused for what makes the whole file unusable (no header, no rows, too many rows)."""
    found = next(((n, h) for n, cells in records[:10] if (h := columns_of(cells))), None)
    if found is None:
        raise Refused("找不到表头：第一行应为 " + "、".join(HEADER) + "（可先导出题库作模板）")
    header_row, columns = found
    twice = [_NAMES.get(f, f"选项{f}") for f, cols in columns.items() if len(cols) > 1 and f != "explanation"]
    if twice:
        raise Refused(f"表头第 {header_row} 行有重复的列：" + "、".join(twice))
    if "section" not in columns:
        raise Refused(f"表头第 {header_row} 行缺少“部分”列")
    body = [(n, cells) for n, cells in records if n > header_row]
    body = [(n, v) for n, cells in body if _filled(v := _values(cells, columns))]
    if len(body) > MAX_ROWS:
        raise Refused(f"题目超过 {MAX_ROWS} 道：请分成几个文件导入")
    if not body:
        raise Refused("表里没有题目")
    rows, errors, first_row = [], [], {}
    for n, values in body:
        row, problems = _row(values, parts)
        if row is not None and row.id in first_row:
            problems.append(f"和第 {first_row[row.id]} 行的题目重复（题干和选项都相同）")
        errors += [BankError(n, p) for p in problems]
        if row is not None:
            first_row.setdefault(row.id, n)
            rows.append(row)
    return BankImport(errors=tuple(errors)) if errors else BankImport(rows=tuple(rows))


def _values(cells: Sequence[object], columns: dict[str, list[int]]) -> dict[str, str]:
    def at(i: int) -> str:
        return cell_text(cells[i]) if i < len(cells) else ""

    values = {f: at(cols[0]) for f, cols in columns.items()}
    values["explanation"] = "\n".join(t for i in columns.get("explanation", []) if (t := at(i)))
    return {f: values.get(f, "") for f in (*_NAMES, *LETTERS)}


def _filled(values: dict[str, str]) -> bool:
    """A row is blank if only 题型 or 部分 is filled (what a template leaves in rows not yet used)."""
    return any(v for f, v in values.items() if f not in ("kind", "section"))


def cell_text(value: object) -> str:
    """A cell as text: numbers without a stray .0, safe_cell's apostrophe before a formula taken off."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    if text[:1] == "'" and text[1:2] and text[1] in FORMULA_STARTS:
        text = text[1:].strip()
    return text


def _truth(text: str) -> bool | None:
    key = unicodedata.normalize("NFKC", text).strip().upper()
    return True if key in _TRUE else False if key in _FALSE else None


def _row(values: dict[str, str], parts: Parts) -> tuple[BankRow | None, list[str]]:
    """The row as a BankRow, or None and what is wrong with it (one message each)."""
    problems: list[str] = []
    kind = _kind(values["kind"], values["answer"], problems)
    stem = values["stem"]
    if not stem:
        problems.append("题干为空")
    elif len(stem) > QUESTION_MAX:
        problems.append(f"题干有 {len(stem)} 个字，超过 Telegram 测验的上限 {QUESTION_MAX} 字")
    options, answer = (), 0
    if kind == JUDGE:
        options, answer = _judge(values, problems)
    elif kind == SINGLE:
        options, answer = _single(values, problems)
    explanation = values["explanation"]
    if len(explanation) > EXPLANATION_MAX:
        problems.append(f"解析/出处有 {len(explanation)} 个字，超过 Telegram 测验的上限 {EXPLANATION_MAX} 字")
    if explanation.count("\n") > 2:
        problems.append("解析/出处最多换行 2 次（Telegram 测验的上限）")
    section_id = parts.find(values["section"])
    if not values["section"]:
        problems.append("部分为空（合并的单元格请拆开，每行都填上）")
    elif section_id is None:
        problems.append(f"部分“{values['section']}”不在这篇讲话里")
    if problems or kind is None or section_id is None:
        return None, problems
    return BankRow(kind, stem, options, answer, explanation, section_id, parts.label[section_id]), []


def _kind(raw: str, answer: str, problems: list[str]) -> str | None:
    key = re.sub(r"\s", "", unicodedata.normalize("NFKC", raw)).removesuffix("题")
    if not key:
        return JUDGE if _truth(answer) is not None else SINGLE
    if key in ("单选", "单项选择", "选择", "单选择"):
        return SINGLE
    if key in ("判断", "是非", "对错"):
        return JUDGE
    problems.append(f"题型“{raw}”不支持，只能是单选或判断")
    return None


def _single(values: dict[str, str], problems: list[str]) -> tuple[tuple[str, ...], int]:
    options = [values[letter] for letter in LETTERS]
    while options and not options[-1]:
        options.pop()
    if len(options) < 2:
        problems.append("单选题至少要有 2 个选项（选项A、选项B）")
    for i, option in enumerate(options):
        if not option:
            problems.append(f"选项{LETTERS[i]}为空，后面的选项却有内容")
        elif len(option) > OPTION_MAX:
            problems.append(
                f"选项{LETTERS[i]}有 {len(option)} 个字，超过 Telegram 测验的上限 {OPTION_MAX} 字"
            )
        elif option in options[:i]:
            problems.append(f"选项{LETTERS[options.index(option)]}和选项{LETTERS[i]}相同")
    return tuple(options), _letter(values["answer"], len(options), problems)


def _letter(raw: str, count: int, problems: list[str]) -> int:
    key = unicodedata.normalize("NFKC", raw).strip().strip(".。、").upper()
    if not raw:
        problems.append("答案为空")
    elif re.fullmatch("[A-Z]", key):
        if ord(key) - ord("A") < count:
            return ord(key) - ord("A")
        if count >= 2:
            problems.append(f"答案“{raw}”不在选项中")
    elif re.fullmatch("[A-Z]+", key):
        problems.append(f"答案“{raw}”：单选题只能有一个答案")
    else:
        problems.append(f"答案“{raw}”应为一个选项的字母（A-D）")
    return 0


def _judge(values: dict[str, str], problems: list[str]) -> tuple[tuple[str, ...], int]:
    """判断: options 正确/错误 (or 对/错, √/×, 是/否, in either order, or none); the answer a truth word or
    the letter of one of those options."""
    given = {letter: values[letter] for letter in LETTERS if values[letter]}
    truths = {letter: _truth(text) for letter, text in given.items()}
    if given and (len(given) != 2 or set(truths.values()) != {True, False}):
        problems.append("判断题的选项只能是“正确”和“错误”（也可写对/错、√/×、是/否）")
        return TRUE_FALSE, 0
    raw = values["answer"]
    letter = unicodedata.normalize("NFKC", raw).strip().upper()
    value = _truth(raw)
    if value is None and letter in (truths or {"A": True, "B": False}):
        value = (truths or {"A": True, "B": False})[letter]
    if value is None:
        problems.append(f"答案“{raw}”应为正确或错误" if raw else "答案为空")
        return TRUE_FALSE, 0
    return TRUE_FALSE, 0 if value else 1
