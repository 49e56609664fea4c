"""/export's workbook: the sheets, every cell text that no spreadsheet runs as a formula, written by the
export's child process from a real SQLite file (and in a thread for a database in memory)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from bot.core.export import export_workbook
from bot.core.sheets import FORMULA_STARTS
from bot.core.storage import Storage
from bot.core.workbook import SHEETS

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
EVIL = ('=HYPERLINK("http://x","y")', "@SUM(A1)", "+86 138", "-小王", "\tcmd", "\r=1+1")


def fill(storage: Storage) -> None:
    storage.ensure_chat("tg:-100500", "tg", "supergroup", "=组")
    for i, text in enumerate(EVIL):
        user = f"tg:{i + 1}"
        storage.ensure_user(user, text)
        storage.add_reflection("tg:-100500", user, 1, text, T0)
        assert storage.check_in(user, "tg:-100500", "2026-11-24", T0)
    session = storage.start_quiz("tg:-100500", "tg:1", ["q1"], T0)
    storage.record_answer(session, "tg:-100500", "tg:1", "q1", "1", 0, True, T0)
    storage.record_answer(session, "tg:-100500", "tg:2", "q1", "1", 2, False, T0)


def check(path) -> dict[str, list[tuple]]:
    book = load_workbook(path)  # not read-only: each cell's data type is there to see
    assert book.sheetnames == [title for title, *_ in SHEETS]
    out = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                assert not str(cell.value).startswith(FORMULA_STARTS), (sheet.title, cell.value)
        out[sheet.title] = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    return out


@pytest.mark.parametrize("where", ["file", "memory"])
async def test_workbook_sheets_and_safe_cells(tmp_path, where):
    storage = Storage(tmp_path / "bot.db" if where == "file" else ":memory:")
    try:
        fill(storage)
        part = await export_workbook(storage, tmp_path, "export")
    finally:
        storage.close()
    assert part.path.name == "export.xlsx" and part.rows > 0
    sheets = check(part.path)
    texts = [row[-1] for row in sheets["心得"][1:]]
    assert texts == ["'" + text for text in EVIL]  # quoted, shown as written
    assert sheets["答题记录"][0][0] == "time" and len(sheets["答题记录"]) == 3
    assert len(sheets["每日打卡"]) == 1 + len(EVIL) and len(sheets["成员"]) == 1 + len(EVIL)
    [summary] = sheets["各群汇总"][1:]
    assert summary[:2] == ("tg:-100500", "'=组") and summary[2:] == ("6", "6", "2", "1", "50%", "6")
