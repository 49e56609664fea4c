"""A bank's rows and what is made of them: the question, an error, an import's result, its preview.

`BankRow` is one line of the sheet (题型, 题干, 选项A-D, 答案, 解析/出处, 部分); its id is a hash of stem and
options, so the same file imported twice gives the same ids. `Parts` finds the part a 部分 cell names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from content.numerals import int_to_cn, parse_ref
from content.quiz.question import Question, stable_digest
from content.speech import Section

HEADER = ("题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析/出处", "部分")
LETTERS = "ABCD"
SINGLE, JUDGE = "单选", "判断"
TRUE_FALSE = ("正确", "错误")
KINDS = {SINGLE: "choice", JUDGE: "truefalse"}  # Question.kind of an imported question

# The speech's parts: each (section_id, how the bank writes it, other names it goes by…), or the model's
# Section itself (then section_names makes the tuple).
Sections = Iterable[Sequence[str] | Section]


@dataclass(frozen=True)
class BankRow:
    """One question of a bank; `section` is how the 部分 column shows its part (1, 开篇, 结语)."""

    kind: str  # 单选 | 判断 (判断: options are 正确, 错误)
    stem: str
    options: tuple[str, ...]
    answer: int
    explanation: str  # 解析/出处: shown under the quiz poll
    section_id: str
    section: str

    @property
    def id(self) -> str:
        """Stable: the same stem and options give the same id, whichever file they came in."""
        return "bank-" + stable_digest(self.stem, *self.options)[:10]

    def cells(self) -> list[str]:
        """The row as the sheet holds it, in HEADER's order."""
        options = [*self.options, *[""] * (len(LETTERS) - len(self.options))]
        return [self.kind, self.stem, *options, LETTERS[self.answer], self.explanation, self.section]

    def to_question(self) -> Question:
        """The quiz question the bot asks."""
        return Question(
            self.id,
            KINDS[self.kind],
            self.section_id,
            self.stem,
            self.options,
            self.answer,
            source=self.explanation,
            explanation=self.explanation,
        )


@dataclass(frozen=True)
class BankError:
    """What is wrong, and where: `row` as the spreadsheet numbers it, None for the file as a whole."""

    row: int | None
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行：{self.message}" if self.row else self.message


@dataclass(frozen=True)
class BankImport:
    """What `read_bank` found: the rows, or, if anything is wrong, only the errors."""

    rows: tuple[BankRow, ...] = ()
    errors: tuple[BankError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def questions(self) -> tuple[Question, ...]:
        """The questions to store; empty when there is any error (nothing is half-imported)."""
        return tuple(r.to_question() for r in self.rows) if self.ok else ()

    def error_text(self, limit: int = 20) -> str:
        """The errors, a line each, the first `limit` of them (a chat message must stay short)."""
        lines = [str(e) for e in self.errors[:limit]]
        if len(self.errors) > limit:
            lines.append(f"……另有 {len(self.errors) - limit} 处错误")
        return "\n".join(lines)


@dataclass(frozen=True)
class BankDiff:
    """What an import changes, counted by question id."""

    added: int
    changed: int
    unchanged: int
    removed: int

    def __str__(self) -> str:
        text = f"导入预览：新增 {self.added} 题，修改 {self.changed} 题，删除 {self.removed} 题"
        return text + (f"，{self.unchanged} 题不变" if self.unchanged else "")


def section_names(sections: Iterable[Section]) -> list[tuple[str, ...]]:
    """(id, label, other names) of each part: ("1", "1", "一", "第一部分", title), ("0", "开篇", …)."""
    out = []
    for s in sections:
        if s.kind == "numbered" and s.number is not None:
            cn = int_to_cn(s.number) if s.number < 100 else str(s.number)
            names = (str(s.number), cn, f"第{cn}部分", s.label, s.title, s.heading)
        else:
            names = ("开篇" if s.kind == "opening" else "结语", s.title, s.heading)
        out.append((s.id, *dict.fromkeys(n for n in names if n)))
    return out


def bank_rows(questions: Iterable[Question], sections: Sections) -> list[BankRow]:
    """The bot's questions as bank rows: all 单选 (a 判断 imported earlier stays one), 解析/出处 from the
    explanation (the source sentence with its part), 部分 as the part's label. ValueError on a question of
    more than four options, which this layout cannot hold."""
    labels = {entry[0]: (entry[1] if len(entry) > 1 else entry[0]) for entry in _entries(sections)}
    rows = []
    for q in questions:
        if not 2 <= len(q.options) <= len(LETTERS):
            raise ValueError(f"question {q.id} has {len(q.options)} options; a bank row holds 2-4")
        kind = JUDGE if q.kind == KINDS[JUDGE] else SINGLE
        label = labels.get(q.section_id, q.section_id)
        rows.append(
            BankRow(
                kind, q.question, tuple(q.options), q.answer, q.explanation or q.source, q.section_id, label
            )
        )
    return rows


def diff_banks(current: Iterable[BankRow], imported: Iterable[BankRow]) -> BankDiff:
    """Added, changed (same stem and options, another answer, 解析 or part), unchanged, removed."""
    old = {r.id: _content(r) for r in current}
    new = {r.id: _content(r) for r in imported}
    same = sum(1 for i, c in new.items() if old.get(i) == c)
    kept = sum(1 for i in new if i in old)
    return BankDiff(len(new) - kept, kept - same, same, len(old) - kept)


def _content(row: BankRow) -> tuple:
    return row.kind, row.answer, row.explanation, row.section_id


class Parts:
    """The parts a 部分 cell may name, looked up by any name or by number (1, 一, 第一部分, 开篇)."""

    def __init__(self, sections: Sections):
        self.label: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        for section_id, *names in _entries(sections):
            self.label[section_id] = names[0] if names else section_id
            for name in names:
                self.by_name.setdefault(_key(name), section_id)

    def find(self, text: str) -> str | None:
        # A which-part option reads 第三部分 · 扎实做好育才聚才: either side of the dot will do.
        for piece in (text, *re.split(r"[·・]", text)):
            if _key(piece) in self.by_name:
                return self.by_name[_key(piece)]
            ref = parse_ref(piece)
            alias = "开篇" if ref in ("opening", 0) else "结语" if ref == "closing" else ref
            if alias is not None and _key(str(alias)) in self.by_name:
                return self.by_name[_key(str(alias))]
        return None


def _entries(sections: Sections) -> list[tuple[str, ...]]:
    return [section_names([s])[0] if isinstance(s, Section) else tuple(s) for s in sections]


def _key(name: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", name))
