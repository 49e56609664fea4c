"""/export's workbook: one .xlsx beside the CSV parts, with a sheet per kind of record.

Sheets: 成员 (members: who was seen in which chat), 每日打卡 (check-ins per person and study day),
答题记录 (quiz answers), 心得 (reflections), 各群汇总 (per group: members seen, check-ins, answers,
accuracy, reflections). Every cell goes through `safe_cell` (sheets.py), so every cell is text that
starts with no formula character (openpyxl types such a string as a plain string, data type "s"), and
characters XML cannot hold are dropped. Written by openpyxl's write-only workbook, which streams rows
to its temporary file: memory stays flat however many rows there are. It runs in the export's child
process (`bot.core.export`) over the child's read-only snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from bot.core.sheets import safe_cell

Rows = Callable[[str], Iterable[Sequence[Any]]]

SHEETS: tuple[tuple[str, tuple[str, ...], str, tuple[int, ...]], ...] = (
    # (sheet, header, query, columns holding epoch seconds)
    (
        "成员",
        ("chat", "chat_title", "chat_type", "user", "user_name", "first_seen"),
        "SELECT m.chat_key, c.title, c.chat_type, m.user_key, u.name, m.first_seen FROM chat_members m "
        "LEFT JOIN chats c ON c.key = m.chat_key LEFT JOIN users u ON u.key = m.user_key "
        "ORDER BY m.chat_key, m.first_seen",
        (5,),
    ),
    (
        "每日打卡",
        ("study_date", "user", "user_name", "chat", "course", "lesson_day", "checked_at"),
        "SELECT k.study_date, k.user_key, u.name, k.chat_key, k.course_id, k.lesson_day, k.checked_at "
        "FROM checkins k LEFT JOIN users u ON u.key = k.user_key ORDER BY k.study_date, k.user_key",
        (6,),
    ),
    (
        "答题记录",
        ("time", "chat", "user", "user_name", "course", "section", "question", "answer", "correct"),
        "SELECT a.answered_at, a.chat_key, a.user_key, u.name, a.course_id, a.section_id, a.question_id, "
        "a.option, a.correct FROM quiz_answers a LEFT JOIN users u ON u.key = a.user_key "
        "ORDER BY a.answered_at, a.id",
        (0,),
    ),
    (
        "心得",
        ("time", "chat", "user", "user_name", "course", "lesson_day", "text"),
        "SELECT r.created_at, r.chat_key, r.user_key, u.name, r.course_id, r.lesson_day, r.text "
        "FROM reflections r LEFT JOIN users u ON u.key = r.user_key ORDER BY r.created_at, r.id",
        (0,),
    ),
    (
        "各群汇总",
        ("chat", "chat_title", "members_seen", "checkins", "answers", "correct", "accuracy", "reflections"),
        "SELECT c.key, c.title, "
        "(SELECT count(*) FROM chat_members m WHERE m.chat_key = c.key), "
        "(SELECT count(*) FROM checkins k WHERE k.chat_key = c.key), "
        "(SELECT count(*) FROM quiz_answers a WHERE a.chat_key = c.key), "
        "(SELECT coalesce(sum(correct), 0) FROM quiz_answers a WHERE a.chat_key = c.key), "
        "NULL, "
        "(SELECT count(*) FROM reflections r WHERE r.chat_key = c.key) "
        "FROM chats c WHERE c.chat_type IN ('group', 'supergroup') AND c.migrated_to IS NULL ORDER BY c.key",
        (),
    ),
)


def _time(ts: Any) -> str:
    return "" if ts is None else datetime.fromtimestamp(int(ts), UTC).isoformat()


def _cell(value: Any) -> str:
    text = safe_cell(value)
    return ILLEGAL_CHARACTERS_RE.sub("", text) if text else text


def write_workbook(rows: Rows, path: Path) -> int:
    """Write the workbook to `path` from the queries run through `rows`; the number of data rows."""
    book = Workbook(write_only=True)
    total = 0
    for title, header, sql, times in SHEETS:
        sheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"
        sheet.append(list(header))
        summary = title == "各群汇总"
        for row in rows(sql):
            values = list(row)
            for i in times:
                values[i] = _time(values[i])
            if summary:
                answers, correct = values[4], values[5]
                values[6] = f"{round(100 * correct / answers)}%" if answers else ""
            sheet.append([_cell(v) for v in values])
            total += 1
    book.save(path)
    return total
