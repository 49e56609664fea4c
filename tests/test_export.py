"""The export's pieces: formula-safe cells, CSV parts under a size limit, the database snapshot the export
reads without the bot's lock, and the child process that writes the parts (real SQLite files)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.export import export_parts, write_parts
from bot.core.sheets import BOM, FORMULA_STARTS, CsvParts, safe_cell
from bot.core.storage import EXPORT_FIELDS, Storage, snapshot_export_rows

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
HEADER = ",".join(EXPORT_FIELDS)


def read_part(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize(
    "value, cell",
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-小王", "'-小王"),  # a member's first name
        ("+86 138", "'+86 138"),
        ("-5", "'-5"),  # a negative number in a text cell
        ("+1", "'+1"),
        ("\tcmd", "'\tcmd"),
        ("\r=1+1", "'\r=1+1"),
        ("=1+1", "'=1+1"),
        ("学习 = 实践", "学习 = 实践"),  # only the first character matters
        ("'=x", "'=x"),  # already quoted: left alone
        ("", ""),
        (None, ""),
        (-5, "-5"),  # a number is no formula
        (0, "0"),
        (1.5, "1.5"),
        ("tg:-100500", "tg:-100500"),
    ],
)
def test_safe_cell(value, cell):
    assert safe_cell(value) == cell


def test_no_text_cell_starts_a_formula():
    for start in FORMULA_STARTS:
        assert safe_cell(start + "x") == "'" + start + "x"
        assert not safe_cell(start + "x").startswith(FORMULA_STARTS)


def test_parts_split_under_the_limit_and_each_opens_alone(tmp_path):
    rows = [[f"reflection-{i}", "心得" * (i % 40), f"=A{i}", i] for i in range(2000)]
    limit = 8_000
    with CsvParts(tmp_path, "x", ["kind", "text", "formula", "n"], limit) as parts:
        for row in rows:
            parts.write(row)
    written = parts.parts
    assert len(written) > 5
    assert [p.path.name for p in written] == [f"x-{i}.csv" for i in range(1, len(written) + 1)]
    back = []
    for part in written:
        assert part.size == part.path.stat().st_size <= limit
        table = read_part(part.path)
        assert table[0] == ["kind", "text", "formula", "n"]
        assert len(table) - 1 == part.rows
        back.extend(table[1:])
    assert back == [[a, b, "'" + c, str(n)] for a, b, c, n in rows]
    assert sum(p.rows for p in written) == len(rows)


def test_one_part_keeps_the_plain_name_and_an_empty_export_has_the_header(tmp_path):
    (one,) = write_parts([], tmp_path, "empty")
    assert one.path == tmp_path / "empty.csv" and one.rows == 0
    assert read_part(one.path) == [list(EXPORT_FIELDS)]
    with pytest.raises(ValueError):
        CsvParts(tmp_path, "tiny", EXPORT_FIELDS, limit=10)


def test_export_times_read_as_before():
    from bot.core.storage.db import _iso
    from bot.core.storage.stats import _iso_utc

    days: dict[int, str] = {}
    for ts in [0, 59, 3600, 86399, 86400, 1714521600, 1790000000, 1790086399, -1, -86401, 4102444799]:
        assert _iso_utc(ts, days) == _iso(ts), ts


def seed(store: Storage, reflections: int, answers: int) -> None:
    """Rows straight into the tables (fast); names that a spreadsheet would run."""
    base = int(T0.timestamp())
    conn = store.db.conn
    with conn:
        conn.executemany(
            "INSERT INTO users (key, name, created_at) VALUES (?, ?, ?)",
            [(f"tg:{u}", ("-组长", "+1", "小王")[u % 3] + str(u), base) for u in range(1, 501)],
        )
        conn.executemany(
            "INSERT INTO reflections (chat_key, user_key, lesson_day, text, created_at) VALUES (?, ?, ?, ?, ?)",
            [(f"tg:{i % 500 + 1}", f"tg:{i % 500 + 1}", i % 18 + 1, f"=心得{i}，" + "学" * (i % 50), base + i)
             for i in range(reflections)],
        )  # fmt: skip
        conn.execute(
            "INSERT INTO quiz_sessions (id, chat_key, user_key, question_ids, created_at, updated_at) "
            "VALUES (1, 'tg:1', 'tg:1', '[]', ?, ?)",
            [base, base],
        )
        conn.executemany(
            "INSERT INTO quiz_answers (session_id, chat_key, user_key, question_id, section_id, option, correct, "
            "answered_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
            [(f"tg:{i % 500 + 1}", f"tg:{i % 500 + 1}", f"q{i}", str(i % 6), i % 4, i % 2, base + i)
             for i in range(answers)],
        )  # fmt: skip


@pytest.fixture
def store(tmp_path):
    storage = Storage(tmp_path / "bot.db")
    yield storage
    storage.close()


def test_the_snapshot_reads_the_same_rows_without_the_bots_lock(store):
    seed(store, 300, 700)
    expected = list(store.export_rows())
    held, release = threading.Event(), threading.Event()

    def hold():
        with store._lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        rows = list(snapshot_export_rows(store.path, batch=64))  # would hang if it took the lock
    finally:
        release.set()
        holder.join()
    assert rows == expected and len(rows) == 1000


def test_the_snapshot_is_of_one_moment(store):
    seed(store, 10, 10)
    rows = snapshot_export_rows(store.path, batch=2)
    first = next(rows)
    store.add_reflection("tg:1", "tg:1", 1, "导出开始后写的", T0 + timedelta(days=1))
    assert len([first, *rows]) == 20  # the new one is not in this export (the next one has it)
    assert len(list(snapshot_export_rows(store.path))) == 21


async def test_the_child_process_writes_every_row_in_parts(store, tmp_path):
    seed(store, 2_000, 3_000)
    out = tmp_path / "out"
    out.mkdir()
    parts = await export_parts(store, out, "studybot-export", limit=60_000)
    assert len(parts) > 3
    rows = []
    for part in parts:
        assert part.path.parent == out and part.size == part.path.stat().st_size <= 60_000
        table = read_part(part.path)
        assert ",".join(table[0]) == HEADER and len(table) - 1 == part.rows
        rows.extend(table[1:])
    assert len(rows) == 5_000
    assert rows == [[safe_cell(row[k]) for k in EXPORT_FIELDS] for row in store.export_rows()]
    assert all(not cell.startswith(FORMULA_STARTS) for row in rows for cell in row)


def _children() -> set[int]:
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


async def test_a_cancelled_export_kills_its_child(store, tmp_path):
    seed(store, 0, 100_000)
    before = _children()
    task = asyncio.create_task(export_parts(store, tmp_path, "big"))
    for _ in range(500):  # until the child is there (no clock involved: a process appears)
        if _children() - before:
            break
        await asyncio.sleep(0.01)
    child = (_children() - before).pop()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert child not in _children() and not Path(f"/proc/{child}").exists()


def test_a_failed_export_leaves_no_part_behind(tmp_path):
    def rows():
        for i in range(500):
            yield ["reflection", "x" * 100, i]
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError), CsvParts(tmp_path, "half", ["kind", "text", "n"], limit=5_000) as parts:
        for row in rows():
            parts.write(row)
    assert len(parts.parts) > 3 and list(tmp_path.iterdir()) == []
