"""Study reminders end to end: /remind through the whole service (`bot.service.Service`) against the Bot
API stand-in, on a real SQLite file, with the reminder job (`jobs.reminders`) ticked at instants the test
chooses on the service's clock; restarts are the service stopped and started again on the same database.
The due query over many chats is one range of its index."""

# ruff: noqa: F811  (bot is the fixture of test_telegram, used here)
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from botapi_standin import BotAPIStandin
from helpers import Clock, buttons, sent_to
from test_telegram import ADMIN, ALICE, BOB, CAROL, GROUP, TOKEN, bot, running  # noqa: F401

from bot.core.storage import Storage, epoch

SHANGHAI = ZoneInfo("Asia/Shanghai")
NUDGE = "⏰ 今天还没学习哦，花 3 分钟看看今天的内容？"


def at(*wall: int, zone: ZoneInfo = SHANGHAI) -> datetime:
    """An instant given as wall time (Shanghai unless told), as UTC."""
    return datetime(*wall, tzinfo=zone).astimezone(UTC)


def reminders_to(api: BotAPIStandin, chat: int) -> list:
    """The reminders the bot sent to the chat (its messages starting with ⏰ that it sent unasked)."""
    return [
        c for c in api.calls_for("sendMessage") if sent_to(c, chat) and c.params["text"].startswith("⏰ 今天")
    ]


async def tick(bot, when: datetime):
    bot.clock.now = when
    return await bot.service.reminders.tick(when)


async def check_in(bot, user: int, chat: int | None = None) -> None:
    chat = user if chat is None else chat
    lesson = await bot.say(chat, user, "/today")
    done = await bot.press(chat, user, lesson.result["message_id"], "done:1", method="sendMessage")
    assert "学习已记录" in done.params["text"]


async def test_a_private_reminder_once_at_its_time_and_none_after_studying(bot):
    shown = await bot.say(ALICE, ALICE, "/remind")
    assert shown.params["text"].startswith("⏰ 还没有开启学习提醒。发送 /remind 20:30")
    set_ = await bot.say(ALICE, ALICE, "/remind 20:30")
    assert set_.params["text"] == (
        "⏰ 学习提醒：每天 20:30（Asia/Shanghai），那天还没打卡才提醒你，一天最多一次。\n"
        "下次提醒：今天 20:30。\n关闭请发送 /remind off"
    )
    assert "每天 20:30" in (await bot.say(ALICE, ALICE, "/remind")).params["text"]
    assert "学习提醒：每天 20:30" in (await bot.say(ALICE, ALICE, "/settings")).params["text"]
    assert (await tick(bot, at(2026, 11, 24, 20, 29))).sent == 0
    assert (await tick(bot, at(2026, 11, 24, 20, 30, 5))).sent == 1
    for later in ((20, 30, 25), (21, 0), (23, 59)):
        assert (await tick(bot, at(2026, 11, 24, *later))).sent == 0
    [nudge] = reminders_to(bot.api, ALICE)
    assert nudge.params["text"] == NUDGE and buttons(nudge) == ["today"]
    lesson = await bot.press(ALICE, ALICE, nudge.result["message_id"], "today", method="sendMessage")
    assert "📖 每日学习 · 第 1 天" in lesson.params["text"]
    # The next day she studies at noon: no reminder at 20:30.
    bot.clock.now = at(2026, 11, 25, 12, 0)
    await check_in(bot, ALICE)
    report = await tick(bot, at(2026, 11, 25, 20, 30))
    assert (report.sent, report.skipped) == (0, 1)
    # The day after, not yet: the reminder says the streak is at stake.
    assert (await tick(bot, at(2026, 11, 26, 20, 30))).sent == 1
    assert reminders_to(bot.api, ALICE)[-1].params["text"] == NUDGE + "\n已经连续 1 天了，别让它断了～"
    rows = bot.storage.db.execute(
        "SELECT study_date, state FROM reminders WHERE chat_key = ? ORDER BY study_date", [f"tg:{ALICE}"]
    ).fetchall()
    assert rows == [("2026-11-24", "sent"), ("2026-11-25", "skipped"), ("2026-11-26", "sent")]
    assert len(reminders_to(bot.api, ALICE)) == 2


async def test_remind_off_bad_times_and_the_menu(bot):
    await bot.api.await_call("setMyCommands")
    assert "remind" in [c["command"] for c in bot.api.my_commands()]
    assert "/remind — 学习提醒" in (await bot.say(ALICE, ALICE, "/help")).params["text"]
    bad = await bot.say(ALICE, ALICE, "/remind 25:00")
    assert bad.params["text"] == "时间格式应为 HH:MM，例如 /remind 20:30；关闭提醒请发送 /remind off"
    assert "没有开启学习提醒" in (await bot.say(ALICE, ALICE, "/remind off")).params["text"]
    await bot.say(ALICE, ALICE, "/remind 20:30")
    off = await bot.say(ALICE, ALICE, "/remind off")
    assert off.params["text"] == "🔕 已关闭学习提醒。随时发送 /remind 20:30 重新开启。"
    chat = bot.storage.get_chat(f"tg:{ALICE}")
    assert chat["remind_at"] is None and chat["remind_next_due"] is None
    assert (await tick(bot, at(2026, 11, 24, 20, 30))).sent == 0
    assert "学习提醒：未开启" in (await bot.say(ALICE, ALICE, "/settings")).params["text"]
    # A time already past today starts tomorrow, not at once; a zone change keeps the wall time.
    bot.clock.now = at(2026, 11, 24, 21, 0)
    late = await bot.say(ALICE, ALICE, "/remind 20:30")
    assert "下次提醒：11月25日 20:30。" in late.params["text"]
    assert (await tick(bot, bot.clock.now)).sent == 0
    await bot.say(ALICE, ALICE, "/settime 08:00 Europe/Berlin")
    due = bot.storage.get_chat(f"tg:{ALICE}")["remind_next_due"]
    assert due == epoch(at(2026, 11, 24, 20, 30, zone=ZoneInfo("Europe/Berlin")))


async def test_a_group_reminder_set_by_an_admin_names_nobody(bot):
    refused = await bot.say(GROUP, BOB, "/remind 20:30")
    assert refused.params["text"] == "只有群管理员可以设置本群的学习提醒。"
    shown = await bot.say(GROUP, BOB, "/remind")  # anyone may look
    assert shown.params["text"].startswith("⏰ 本群还没有开启学习提醒。群管理员发送 /remind 20:30")
    allowed = await bot.say(GROUP, ALICE, "/remind 20:30")
    assert allowed.params["text"].startswith("⏰ 本群的学习提醒：每天 20:30（Asia/Shanghai）在群里提醒大家")
    assert "只有群管理员" in (await bot.say(GROUP, BOB, "/remind off")).params["text"]
    # Nobody studied yet on the 24th.
    assert (await tick(bot, at(2026, 11, 24, 20, 30))).sent == 1
    assert (
        reminders_to(bot.api, GROUP)[-1].params["text"] == "⏰ 今天本群还没有人打卡，一起来学今天的内容吧！"
    )
    # The 25th: Bob and Carol check in in the group.
    bot.clock.now = at(2026, 11, 25, 9, 0)
    for user in (BOB, CAROL):
        await check_in(bot, user, GROUP)
    assert (await tick(bot, at(2026, 11, 25, 20, 30))).sent == 1
    assert reminders_to(bot.api, GROUP)[-1].params["text"] == "⏰ 今天本群已有 2 人打卡，还没学的同志抓紧哦～"
    # The 26th: Alice and Bob in the group, Carol in her own chat: everyone of the group who studied
    # counts, wherever they pressed.
    bot.clock.now = at(2026, 11, 26, 9, 0)
    await check_in(bot, ALICE, GROUP)
    await check_in(bot, BOB, GROUP)
    await check_in(bot, CAROL)
    assert (await tick(bot, at(2026, 11, 26, 20, 30))).sent == 1
    assert (await tick(bot, at(2026, 11, 26, 20, 31))).sent == 0  # never two a day
    text = reminders_to(bot.api, GROUP)[-1].params["text"]
    assert text == "⏰ 今天本群已有 3 人打卡，还没学的同志抓紧哦～"
    assert not any(name in text for name in ("小王", "小李", "小张"))
    off = await bot.say(GROUP, ALICE, "/remind off")
    assert off.params["text"].startswith("🔕 已关闭学习提醒")
    assert (await tick(bot, at(2026, 11, 27, 20, 30))).sent == 0
    assert len(reminders_to(bot.api, GROUP)) == 3


async def test_none_to_a_blocked_chat_until_it_comes_back(bot):
    for user in (ALICE, BOB):
        await bot.say(user, user, "/remind 20:30")
    bot.api.block(ALICE)  # the user blocked the bot: the reminder gets 403
    report = await tick(bot, at(2026, 11, 24, 20, 30))
    assert (report.sent, report.blocked) == (1, 1)
    chat = bot.storage.get_chat(f"tg:{ALICE}")
    assert chat["blocked"] == 1 and chat["remind_next_due"] is None and chat["remind_at"] == "20:30"
    bot.storage.mark_blocked(f"tg:{BOB}")  # known to be blocked already (e.g. from the daily push)
    attempts = len(bot.api.calls_for("sendMessage"))
    for day in (25, 26):
        assert (await tick(bot, at(2026, 11, day, 20, 30))).sent == 0
    assert len(bot.api.calls_for("sendMessage")) == attempts  # not even tried
    # Alice lets the bot back in and writes: her reminder resumes the next evening.
    bot.api.unblock(ALICE)
    bot.clock.now = at(2026, 11, 27, 9, 0)
    await bot.say(ALICE, ALICE, "/help")
    assert bot.storage.get_chat(f"tg:{ALICE}")["remind_next_due"] == epoch(at(2026, 11, 27, 20, 30))
    assert (await tick(bot, at(2026, 11, 27, 20, 30))).sent == 1
    assert len(reminders_to(bot.api, ALICE)) == 1
    assert len(reminders_to(bot.api, BOB)) == 1  # the 24th's, before he was known to be blocked


async def test_restarts_never_send_twice_and_a_late_one_only_within_two_hours(tmp_path):
    """Four runs of the service on one database: after a send, after a kill that left a claim, back
    one hour late (sent once, at start), back two and a half hours late (skipped for the day)."""
    with BotAPIStandin(token=TOKEN) as api:
        for user, name in ((ALICE, "小王"), (BOB, "小李"), (CAROL, "小张")):
            api.add_user(user, name)
        clock = Clock(at(2026, 11, 24, 9, 0))
        users = (ALICE, BOB, CAROL)

        def counts() -> list[int]:
            return [len(reminders_to(api, user)) for user in users]

        async with running(api, tmp_path, clock) as (service, storage):
            for user in users:
                mark = api.mark()
                api.send_message(user, user, "/remind 20:30")
                await api.await_call("sendMessage", lambda c, u=user: sent_to(c, u), after=mark)
            clock.now = at(2026, 11, 24, 20, 30, 5)
            assert (await service.reminders.tick(clock())).sent == 3
        assert counts() == [1, 1, 1]

        clock.now = at(2026, 11, 24, 20, 40)  # restarted ten minutes later
        async with running(api, tmp_path, clock) as (service, storage):
            await asyncio.sleep(0.2)  # the scheduler's first tick after the restart
            assert (await service.reminders.tick(clock())).sent == 0
            # Killed the next day right after claiming Carol's reminder (the send may have gone out).
            assert storage.claim_reminder(f"tg:{CAROL}", "2026-11-25", at(2026, 11, 25, 20, 30))
        assert counts() == [1, 1, 1]

        clock.now = at(2026, 11, 25, 21, 30)  # down at 20:30, back an hour later: sent once, at start
        mark = api.mark()
        async with running(api, tmp_path, clock) as (service, storage):
            for user in (ALICE, BOB):
                await api.await_call("sendMessage", lambda c, u=user: sent_to(c, u), after=mark, timeout=10)
            assert (await service.reminders.tick(clock())).sent == 0
            states = storage.db.execute(
                "SELECT chat_key, state FROM reminders WHERE study_date = '2026-11-25' ORDER BY chat_key"
            ).fetchall()
            assert sorted(states) == sorted((f"tg:{u}", "sent") for u in users)
        assert counts() == [2, 2, 1]  # Carol's claim counted as sent: never twice

        clock.now = at(2026, 11, 26, 23, 0)  # down at 20:30, back 2.5 hours later: skipped that day
        async with running(api, tmp_path, clock) as (service, storage):
            await asyncio.sleep(0.2)
            assert (await service.reminders.tick(clock())).sent == 0
            assert {storage.get_chat(f"tg:{u}")["remind_next_due"] for u in users} == {
                epoch(at(2026, 11, 27, 20, 30))
            }
            assert (await service.reminders.tick(at(2026, 11, 27, 20, 30))).sent == 3
        assert counts() == [3, 3, 2]


def test_the_due_query_is_one_range_of_its_index(tmp_path):
    storage = Storage(tmp_path / "many.db")
    base = epoch(at(2026, 11, 24))
    rows = [(f"tg:{i}", base + (i * 7919) % 86_400, i % 50 == 0) for i in range(1, 50_001)]
    with storage._lock:
        storage.db.conn.execute("BEGIN IMMEDIATE")
        storage.db.conn.executemany(
            "INSERT INTO chats (key, channel, chat_type, timezone, push_time, blocked, remind_at, "
            "remind_next_due, created_at, updated_at) "
            "VALUES (?, 'tg', 'private', 'Asia/Shanghai', '08:00', ?, '20:30', ?, 0, 0)",
            [(key, int(blocked), None if blocked else due) for key, due, blocked in rows],
        )
        storage.db.conn.execute("COMMIT")
    statements: list[str] = []
    storage.db.conn.set_trace_callback(statements.append)
    now = base + 1200
    due = storage.due_reminders(now, limit=2000, channels={"tg": None, "console": None})
    storage.db.conn.set_trace_callback(None)
    assert len(due) == sum(1 for _, d, blocked in rows if not blocked and d <= now) > 500
    (query,) = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    plan = [row[-1] for row in storage.db.execute("EXPLAIN QUERY PLAN " + query).fetchall()]
    assert any("USING INDEX idx_chats_remind_next_due (remind_next_due<?)" in step for step in plan), plan
    assert not any(step.startswith("SCAN") or "TEMP B-TREE" in step for step in plan), plan
    storage.close()


async def test_a_group_that_becomes_a_supergroup_keeps_its_reminder(bot):
    bot.api.add_chat(-42, "group", "旧群", admins=[ALICE], members=[ALICE, BOB])
    await bot.say(-42, ALICE, "/remind 20:30")
    await check_in(bot, BOB, -42)
    bot.api.migrate(-42, -1000042)
    assert (await tick(bot, at(2026, 11, 24, 20, 30))).sent == 1
    assert (
        reminders_to(bot.api, -1000042)[0].params["text"] == "⏰ 今天本群已有 1 人打卡，还没学的同志抓紧哦～"
    )
    old, new = bot.storage.get_chat("tg:-42"), bot.storage.get_chat("tg:-1000042")
    assert old["migrated_to"] == "tg:-1000042" and old["remind_next_due"] is None
    assert new["remind_at"] == "20:30" and new["remind_next_due"] == epoch(at(2026, 11, 25, 20, 30))
    assert bot.storage.group_checkins("tg:-1000042", "2026-11-24") == 1  # its check-ins moved with it
    assert (await tick(bot, at(2026, 11, 24, 20, 35))).sent == 0
