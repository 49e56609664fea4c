"""A full disk, end to end: the whole service and the real PTB Application against the Bot API stand-in,
on a real SQLite file that SQLite itself refuses to grow (PRAGMA max_page_count at its current size), so a
write that needs a page fails exactly as on a full disk, with SQLITE_FULL ("database or disk is full").

Writers are told plainly that the bot cannot save now, reads go on (for a newcomer too), the admin hears
of it once, the log says it once a minute (counted), and once the limit is lifted everything works again.
The console and the WeCom app give the same words (the core's `Faults`).
"""

# ruff: noqa: F811  (bot is the fixture of test_telegram, imported to be used here)
from __future__ import annotations

import io
import logging
import sqlite3
from datetime import UTC, datetime

import httpx
import pytest
from helpers import Clock, sent_to
from test_telegram import ADMIN, ALICE, BOB, bot  # noqa: F401
from test_wecom_channel import AppUser, app_env, running, shanghai
from wecom_standin import WeComStandin

from bot.channels.console import Console, run
from bot.core.actions import Actions
from bot.core.config import Config
from bot.core.faults import ADMIN_NOTICE, DISK_FULL, is_disk_full
from bot.core.storage import Storage

LONG = "学" * 2000  # 6,000 bytes: a reflection this long needs new pages whatever room is left in the old
NEWCOMER = 9_999_999_999  # sorts after the filler users: a new user row would go where there is no room
FULL_REPLY = DISK_FULL + "管理员已收到通知。"
UNLIMITED = 1_073_741_823  # SQLite's default max_page_count


def fill_up(storage: Storage) -> None:
    """Make the database file unable to grow, and fill the users table to its last page."""
    db = storage.db
    if db.execute("PRAGMA freelist_count").fetchone()[0]:
        db.execute("VACUUM")  # the pages of a table a migration replaced (review_cards in schema 4)
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0  # no free page to fall back on
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    assert db.execute(f"PRAGMA max_page_count = {pages}").fetchone()[0] == pages
    for n in range(100_000):
        try:
            storage.ensure_user(f"tg:{9_000_000_000 + n}", "占位")
        except sqlite3.OperationalError as exc:
            assert is_disk_full(exc) and exc.sqlite_errorname == "SQLITE_FULL"
            break
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        storage.ensure_user(f"tg:{NEWCOMER - 1}", "新人")


def fault_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.core.faults"]


async def test_a_full_disk_is_said_plainly_logged_once_a_minute_and_told_to_the_admin_once(bot, caplog):
    caplog.set_level(logging.INFO)
    for user in (ADMIN, ALICE, BOB):
        await bot.say(user, user, "/start")
    bot.api.add_user(NEWCOMER, "新人")
    fill_up(bot.storage)
    reflections = bot.storage.db.execute("SELECT count(*) FROM reflections").fetchone()[0]

    mark = bot.api.mark()
    writes = 0
    for _ in range(10):
        for user in (ALICE, BOB):
            call = await bot.say(user, user, f"/reflect {LONG}")
            assert call.params["text"] == FULL_REPLY
            writes += 1
    # Reads go on, for a user the bot could not even register.
    assert (await bot.say(ALICE, ALICE, "/section 3")).params["text"].startswith("<b>第三部分")
    assert (await bot.say(BOB, BOB, "/search 人才")).params["text"].startswith("<b>🔍 “人才”")
    assert (await bot.say(NEWCOMER, NEWCOMER, "/search 人才")).params["text"].startswith("<b>🔍 “人才”")
    assert bot.storage.get_user(f"tg:{NEWCOMER}") is None

    notice = await bot.api.await_call("sendMessage", lambda c: sent_to(c, ADMIN), after=mark)
    assert notice.params["text"] == ADMIN_NOTICE
    notices = lambda: [c for c in bot.api.calls[mark:] if sent_to(c, ADMIN)]  # noqa: E731
    assert len(notices()) == 1  # not one per message
    lines = fault_lines(caplog)
    assert len(lines) == 1 and lines[0].startswith(
        "database or disk is full (OperationalError in Telegram /reflect)"
    )
    assert not [r for r in caplog.records if r.exc_info]  # no traceback per message

    bot.clock.advance(seconds=61)  # a minute on: one more line, with the count of those not logged
    assert (await bot.say(ALICE, ALICE, f"/reflect {LONG}")).params["text"] == FULL_REPLY
    lines = fault_lines(caplog)
    assert len(lines) == 2 and lines[1] == (
        f"database or disk is full: {writes} more writes failed in 61 s (latest in Telegram /reflect)"
    )
    assert len(notices()) == 1
    bot.clock.advance(hours=1)  # still full an hour later: the admin is reminded, once
    for _ in range(3):
        assert (await bot.say(BOB, BOB, f"/reflect {LONG}")).params["text"] == FULL_REPLY
    await bot.api.await_call("sendMessage", lambda c: len(notices()) == 2, after=mark)
    assert len(fault_lines(caplog)) == 3
    assert bot.storage.db.execute("SELECT count(*) FROM reflections").fetchone()[0] == reflections

    # Space is freed: everything works again, without a restart.
    bot.storage.db.execute(f"PRAGMA max_page_count = {UNLIMITED}")
    saved = await bot.say(ALICE, ALICE, f"/reflect {LONG}")
    assert saved.params["text"] == "📝 已记录你的心得（2000 字）。"
    assert "心得：1 篇" in (await bot.say(ALICE, ALICE, "/me")).params["text"]
    assert "你好，新人" in (await bot.say(NEWCOMER, NEWCOMER, "/start")).params["text"]
    assert bot.storage.get_user(f"tg:{NEWCOMER}")["name"] == "新人"
    assert len(notices()) == 2 and len(fault_lines(caplog)) == 3


async def test_other_errors_keep_the_apology_and_their_traceback(bot, monkeypatch, caplog):
    actions = await bot.service.get_actions()

    async def broken(ctx, args):
        raise RuntimeError("boom")

    monkeypatch.setattr(actions.study, "me", broken)
    mark = bot.api.mark()
    call = await bot.say(ALICE, ALICE, "/me")
    assert call.params["text"] == "😥 抱歉，处理时出了点问题，请稍后再试。"
    [record] = [r for r in caplog.records if r.name == "bot.core.faults"]
    assert record.getMessage() == "error in Telegram /me" and record.exc_info[0] is RuntimeError
    assert not [c for c in bot.api.calls[mark:] if sent_to(c, ADMIN)]


async def test_the_console_says_the_same(tmp_path, model):
    storage = Storage(tmp_path / "console.db")
    out = io.StringIO()
    clock = Clock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    console = Console(Actions(storage, model, Config.from_env({})), out=out, clock=clock)
    await run(console, ["/start"])
    fill_up(storage)
    out.seek(0), out.truncate()
    await run(console, [f"/reflect {LONG}", "/section 3", f"/reflect {LONG}"])
    text = out.getvalue()
    assert text.count(DISK_FULL + "\n") == 2 and "管理员" not in text  # nobody to tell from a console
    assert "第三部分 · 扎实做好育才聚才" in text
    storage.db.execute(f"PRAGMA max_page_count = {UNLIMITED}")
    out.seek(0), out.truncate()
    await run(console, [f"/reflect {LONG}"])
    assert "已记录你的心得（2000 字）" in out.getvalue()
    storage.close()


async def test_the_wecom_app_says_the_same(tmp_path):
    with WeComStandin() as standin:
        env = {**app_env(standin), "STUDYBOT_DB": str(tmp_path / "bot.db")}
        async with httpx.AsyncClient(timeout=10) as http, running(env, Clock(shanghai(24, 9))) as service:
            user = AppUser(service, standin, http)
            await user.say("目录")
            fill_up(service.storage)
            assert await user.say(f"/reflect {LONG}") == [DISK_FULL]  # no Telegram admins to tell
            [found] = await user.say("搜索 人才")
            assert found.startswith("**🔍 “人才”")


def test_is_disk_full():
    full = sqlite3.OperationalError("database or disk is full")
    assert is_disk_full(full) and is_disk_full(OSError(28, "No space left on device"))
    try:
        try:
            raise full
        except sqlite3.OperationalError as exc:
            raise RuntimeError("while saving") from exc
    except RuntimeError as wrapped:
        assert is_disk_full(wrapped)
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    assert not is_disk_full(RuntimeError("boom")) and not is_disk_full(None)
