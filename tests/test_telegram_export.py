"""/export end to end: the whole service against the Bot API stand-in, a real SQLite file, the export's
child process; the uploaded CSV files are read back from the stand-in and parsed."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botapi_standin import BotAPIStandin
from helpers import Clock, sent_to
from test_export import seed
from test_runner import TOKEN as RUN_TOKEN
from test_runner import start, stop
from test_telegram import ADMIN, ALICE, TOKEN, Harness, running

from bot.core.sheets import BOM, FORMULA_STARTS, safe_cell
from bot.core.storage import EXPORT_FIELDS, Storage

NAMES = {2001: "-组长", 2002: "+86 小李", 2003: '=HYPERLINK("http://x","y")', 2004: "@SUM(A1)", 2005: "小张"}
TEXTS = ['=HYPERLINK("http://x","y")', "@SUM(A1)", "-5", "+1 学习体会", "正常的心得 = 实践"]


@pytest.fixture
async def bot(tmp_path):
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        api.add_user(ALICE, "小王")
        for user, name in NAMES.items():
            api.add_user(user, name)
        clock = Clock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
        async with running(api, tmp_path, clock, STUDYBOT_ADMINS=str(ADMIN)) as (service, storage):
            harness = Harness(api, service, storage, clock)
            harness.storage_dir = tmp_path
            yield harness


def table(api: BotAPIStandin, call) -> list[list[str]]:
    """The rows of an uploaded CSV file (the header first)."""
    data = api.file_content(call.result["document"]["file_id"])
    assert data.startswith(BOM)  # Excel reads the Chinese text right
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def expected_rows(storage) -> list[list[str]]:
    return [[safe_cell(row[key]) for key in EXPORT_FIELDS] for row in storage.export_rows()]


async def all_parts(api: BotAPIStandin, after: int, timeout: float = 60) -> list:
    """Every sendDocument of one export, in order (the first one says how many there are)."""
    first = await api.await_call("sendDocument", after=after, timeout=timeout)
    found = re.search(r"第 1/(\d+) 部分", first.params["caption"])
    count = int(found.group(1)) if found else 1
    parts = [first]
    for i in range(2, count + 1):
        parts.append(
            await api.await_call(
                "sendDocument", lambda c, i=i: f"第 {i}/{count} 部分" in c.params["caption"], after=after
            )
        )
    return parts


async def test_export_cells_are_formula_safe(bot):
    for (user, name), text in zip(NAMES.items(), TEXTS, strict=True):
        call = await bot.say(user, user, f"/reflect {text}")
        assert "已记录" in call.params["text"], name
    poll = await bot.say(ALICE, ALICE, "/quiz 1", method="sendPoll")
    bot.api.answer_poll(poll.result["poll"]["id"], ALICE, [0])
    await bot.api.await_call("sendMessage", lambda c: sent_to(c, ALICE) and "🎯" in c.params["text"])

    mark = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")
    (document,) = await all_parts(bot.api, mark)
    assert document.params["document"].filename == "studybot-export-20261124-0900.csv"
    assert document.params["caption"] == "📦 导出 6 条心得与答题记录"
    rows = table(bot.api, document)
    assert rows[0] == list(EXPORT_FIELDS)
    by_user = {row[3]: dict(zip(EXPORT_FIELDS, row, strict=True)) for row in rows[1:]}
    for (user, name), text in zip(NAMES.items(), TEXTS, strict=True):
        row = by_user[f"tg:{user}"]
        assert row["user_name"] == (("'" + name) if name.startswith(FORMULA_STARTS) else name)
        assert row["text_or_question"] == (("'" + text) if text.startswith(FORMULA_STARTS) else text)
    answer = by_user[f"tg:{ALICE}"]
    assert answer["kind"] == "quiz_answer" and answer["answer"] == "0" and answer["correct"] in ("0", "1")
    # Not one cell that a spreadsheet would run.
    assert all(not cell.startswith(FORMULA_STARTS) for row in rows for cell in row)


async def test_a_large_export_comes_in_parts_with_every_row(bot):
    seed(bot.storage, 1_000, 2_000)
    limit = 50_000
    (await bot.service.get_actions()).admin.part_limit = limit
    mark = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")
    notice = await bot.api.await_call("sendMessage", lambda c: sent_to(c, ADMIN), after=mark)
    assert notice.params["text"] == "⏳ 正在导出心得与答题记录，完成后发送文件。"
    parts = await all_parts(bot.api, mark)
    assert len(parts) > 5
    rows, first = [], 1
    for i, call in enumerate(parts, start=1):
        assert call.params["document"].filename == f"studybot-export-20261124-0900-{i}.csv"
        assert call.result["document"]["file_size"] <= limit
        part = table(bot.api, call)
        assert part[0] == list(EXPORT_FIELDS)  # each part opens on its own
        last = first + len(part) - 2
        assert call.params["caption"] == (
            f"📦 导出 3,000 条心得与答题记录 · 第 {i}/{len(parts)} 部分（第 {first:,}–{last:,} 条）"
        )
        rows.extend(part[1:])
        first = last + 1
    assert rows == expected_rows(bot.storage) and len(rows) == 3_000
    await asyncio.gather(*bot.service.telegram.file_tasks)
    assert not list(bot.storage_dir.glob(".studybot-files-*"))  # the parts are gone once sent


async def test_a_failed_upload_is_said_and_leaves_no_file(bot):
    seed(bot.storage, 100, 100)
    bot.api.fail_next("sendDocument", kind=502)
    mark = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")
    failed = await bot.api.await_call(
        "sendMessage", lambda c: "没有发出去" in c.params["text"], after=mark, timeout=30
    )
    assert failed.params["text"] == "😥 抱歉，文件没有发出去，请稍后再试。"
    await asyncio.gather(*bot.service.telegram.file_tasks)
    assert not list(bot.storage_dir.glob(".studybot-files-*"))
    again = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")  # a retry works
    (document,) = await all_parts(bot.api, again)
    assert len(table(bot.api, document)) - 1 == 200


async def test_another_user_is_answered_while_a_large_export_runs(bot):
    seed(bot.storage, 20_000, 130_000)
    mark = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")
    await bot.api.await_call("sendMessage", lambda c: sent_to(c, ADMIN), after=mark)
    waits, replies = [], []
    for _ in range(5):
        started = time.monotonic()
        reply = await bot.say(ALICE, ALICE, "/section 3")
        waits.append(time.monotonic() - started)
        assert reply.params["text"].startswith("<b>第三部分")
        replies.append(reply)
    parts = await all_parts(bot.api, mark, timeout=120)
    calls = bot.api.calls
    index = {id(call): i for i, call in enumerate(calls)}
    # Every reply went out while the export was still being made, and none waited for it.
    assert max(index[id(r)] for r in replies) < index[id(parts[0])]
    assert max(waits) < 1.0, waits
    assert sum(len(table(bot.api, call)) - 1 for call in parts) == 150_000


async def test_a_second_export_waits_for_the_first(bot):
    seed(bot.storage, 2_000, 30_000)
    mark = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")
    await bot.api.await_call("sendMessage", lambda c: sent_to(c, ADMIN), after=mark)
    second = await bot.say(ADMIN, ADMIN, "/export")
    assert second.params["text"] == "⏳ 上一个导出完成后开始这一个，完成后发送文件。"

    # Each export sends its CSV, then its workbook (.xlsx): the two CSVs are the first and the third.
    def csv_of(c) -> bool:
        return c.params["document"].filename.endswith(".csv")

    first_doc = await bot.api.await_call("sendDocument", csv_of, after=mark, timeout=60)
    again = await bot.api.await_call(
        "sendDocument", lambda c: csv_of(c) and c is not first_doc, after=mark, timeout=60
    )
    for call in (first_doc, again):
        assert len(table(bot.api, call)) - 1 == 32_000


def _export_children(pid: int) -> list[int]:
    """The bot's child processes that run the export."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if b"bot.core.export" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except OSError:
                continue
    return found


def test_sigterm_during_an_export_stops_at_once_and_leaves_nothing(tmp_path):
    with Storage(tmp_path / "bot.db") as store:
        seed(store, 20_000, 80_000)
    with BotAPIStandin(token=RUN_TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        env = {"STUDYBOT_TELEGRAM_TOKEN": RUN_TOKEN, "STUDYBOT_TELEGRAM_API_URL": api.base_url,
               "STUDYBOT_ADMINS": str(ADMIN)}  # fmt: skip
        process = start(env, tmp_path)
        try:
            api.send_message(ADMIN, ADMIN, "/export")  # waiting for the bot's first poll
            api.wait_for("sendMessage", lambda c: "正在导出" in c.params["text"], timeout=30)
            children = []
            for _ in range(1000):  # until the export's process runs (it appears: no clock involved)
                children = _export_children(process.pid)
                if children:
                    break
                time.sleep(0.01)
            assert children
        finally:
            started = time.monotonic()
            code, err = stop(process)
            took = time.monotonic() - started
        assert code == 0, err
        assert took < 5, f"SIGTERM took {took:.1f} s"
        assert not api.calls_for("sendDocument")
        api.assert_no_errors()
    assert not Path(f"/proc/{children[0]}").exists()  # the child went with the bot
    assert not list(tmp_path.glob(".studybot-files-*"))
    assert "Traceback" not in err and "cancelled" in err
