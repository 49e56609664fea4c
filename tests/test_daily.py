"""The daily push over HTTP: `jobs.daily.DailyPush` with the real python-telegram-bot Bot, the strict Bot API
stand-in and a SQLite file. Time is a parameter: every test calls `push.tick(now)` with explicit instants
(nothing sleeps for the wall clock), so days, downtime, restarts and daylight-saving changes take
milliseconds."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from botapi_standin import BotAPIStandin
from helpers import SEED_DAYS

from bot.channels.telegram import TelegramChannel, TelegramSender
from bot.core import schedule
from bot.core.actions import Actions
from bot.core.config import Config, parse_hhmm
from bot.core.schedule import next_due
from bot.core.storage import Storage, epoch
from jobs.daily import BATCH, DailyPush
from jobs.pacing import Pacer

TOKEN = "123456:TEST-token"
SHANGHAI, BERLIN, NEW_YORK = "Asia/Shanghai", "Europe/Berlin", "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


class Bot:
    """One running bot process, as far as the daily push is concerned: DB, Bot, sender, DailyPush."""

    def __init__(self, api: BotAPIStandin, storage: Storage, push: DailyPush):
        self.api, self.storage, self.push = api, storage, push

    def chat(self, chat_id: int, zone: str = SHANGHAI, at: str = "08:00", now: datetime | None = None) -> str:
        """A subscribed chat (registered with the stand-in) whose push is at `at` in `zone`."""
        kind = "private" if chat_id > 0 else "supergroup"
        if kind == "private":
            self.api.add_user(chat_id, f"用户{chat_id}")
            self.api.add_chat(chat_id, "private")
        else:
            self.api.add_chat(chat_id, kind, f"群 {chat_id}")
        key = f"tg:{chat_id}"
        self.storage.ensure_chat(key, "tg", kind, timezone=zone, push_time=at)
        now = now or datetime.now(UTC)
        self.storage.subscribe(key, at, now, next_due(zone, parse_hhmm(at), None, now))
        return key

    async def tick(self, now: datetime) -> dict[int, list[str]]:
        """One tick at `now`; the texts it sent, per chat id."""
        mark = self.api.mark()
        await self.push.tick(now)
        sent: dict[int, list[str]] = defaultdict(list)
        for call in self.api.calls[mark:]:
            if call.method == "sendMessage" and call.ok:
                sent[int(call.params["chat_id"])].append(call.params["text"])
        return sent

    async def run(self, start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, int, str]]:
        """Tick every `step` from `start` to `end` (inclusive); every message as (tick, chat id, text)."""
        log = []
        now = start
        while now <= end:
            for chat_id, texts in (await self.tick(now)).items():
                log.extend((now, chat_id, text) for text in texts)
            now += step
        return log


@asynccontextmanager
async def running(api: BotAPIStandin, db_path, model):
    """Start a bot on the database at `db_path` (as `studybot run` does) and stop it afterwards."""
    env = {
        "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
        "STUDYBOT_TELEGRAM_API_URL": api.base_url,
        "STUDYBOT_DB": str(db_path),
    }
    config = replace(Config.from_env(env), http_port=0)
    storage = Storage(db_path)
    channel = TelegramChannel(config, storage, lambda: None)
    app = channel.build()
    await app.initialize()
    actions = Actions(storage, model, config)
    sender = TelegramSender(channel)
    push = DailyPush(storage, actions, {"tg": sender}, Pacer(1000), schedule)
    try:
        yield Bot(api, storage, push)
    finally:
        await sender.aclose()
        await app.shutdown()
        storage.close()


@pytest.fixture
def api():
    with BotAPIStandin(token=TOKEN) as standin:
        yield standin
        standin.assert_no_errors()


@pytest.fixture
async def bot(api, tmp_path, model):
    async with running(api, tmp_path / "bot.db", model) as harness:
        yield harness


def attempts_to(api: BotAPIStandin, chat_id: int) -> int:
    """sendMessage calls to the chat, whatever their outcome."""
    return sum(str(c.params.get("chat_id")) == str(chat_id) for c in api.calls_for("sendMessage"))


def heading(text: str) -> str:
    return text.split("\n", 1)[0]


# ------------------------------------------------------------------------------------------------ once a day


async def test_once_per_chat_per_local_day_across_many_ticks(bot):
    start = local(SHANGHAI, 2026, 11, 24, 0, 0)
    chats = {1: "07:30", 2: "08:00", 3: "21:00"}
    for chat_id, at in chats.items():
        bot.chat(chat_id, at=at, now=start)
    # A tick every 20 s for a whole day, then two more days at 5-minute steps.
    log = await bot.run(start, start + timedelta(days=1) - timedelta(seconds=20), timedelta(seconds=20))
    log += await bot.run(start + timedelta(days=1), start + timedelta(days=3) - timedelta(minutes=5),
                         timedelta(minutes=5))  # fmt: skip
    for chat_id, at in chats.items():
        mine = [(now, text) for now, cid, text in log if cid == chat_id]
        assert len(mine) == 3
        for day, (now, text) in enumerate(mine):
            due = local(SHANGHAI, 2026, 11, 24 + day, *map(int, at.split(":")))
            assert due <= now < due + timedelta(minutes=5)  # at the first tick at or after its time
            assert heading(text) == f"<b>📖 每日学习 · 第 {day + 1} 天 / 共 {SEED_DAYS} 天</b>"
        assert bot.storage.get_chat(f"tg:{chat_id}")["plan_pos"] == 3
    assert len(bot.storage.deliveries_on("2026-11-25")) == 3
    assert all(len(items) == 3 for items in bot.api.delivered.values())


async def test_a_reply_to_the_pushed_lesson_finds_its_day(bot):
    # The push's message id is kept with its delivery: a reply to it is a reflection on that lesson.
    start = local(SHANGHAI, 2026, 11, 24, 7, 0)
    key = bot.chat(7, now=start)
    await bot.tick(local(SHANGHAI, 2026, 11, 24, 8, 0, 10))
    await bot.tick(local(SHANGHAI, 2026, 11, 25, 8, 0, 10))
    pushes = [c for c in bot.api.calls_for("sendMessage") if c.ok and c.params["chat_id"] == 7]
    assert [bot.storage.lesson_day_for_message(key, c.result["message_id"]) for c in pushes] == [1, 2]


async def test_catch_up_after_downtime_is_marked_and_sent_once(bot):
    day0 = local(SHANGHAI, 2026, 11, 24, 7, 0)
    key = bot.chat(5, at="08:00", now=day0)
    # Down from before 08:00 until 11:00: today's lesson goes out once, marked 补发.
    late = await bot.tick(local(SHANGHAI, 2026, 11, 24, 11, 0))
    assert [heading(t) for t in late[5]] == [
        f"<b>📖 补发 · 今日 08:00 的学习 · 第 1 天 / 共 {SEED_DAYS} 天</b>"
    ]
    rest = await bot.run(local(SHANGHAI, 2026, 11, 24, 11, 0), local(SHANGHAI, 2026, 11, 24, 23, 59),
                         timedelta(minutes=1))  # fmt: skip
    assert rest == []
    # Down all of the 25th and until 12:00 on the 26th: the 25th is skipped, not sent twice; the plan goes on.
    back = await bot.run(local(SHANGHAI, 2026, 11, 26, 12, 0), local(SHANGHAI, 2026, 11, 26, 23, 59),
                         timedelta(seconds=20))  # fmt: skip
    assert [(now, heading(text)) for now, _, text in back] == [
        (
            local(SHANGHAI, 2026, 11, 26, 12, 0),
            f"<b>📖 补发 · 今日 08:00 的学习 · 第 2 天 / 共 {SEED_DAYS} 天</b>",
        )
    ]
    # A few minutes late is not a catch-up: the next day's lesson on time, unmarked.
    on_time = await bot.tick(local(SHANGHAI, 2026, 11, 27, 8, 4))
    assert [heading(t) for t in on_time[5]] == [f"<b>📖 每日学习 · 第 3 天 / 共 {SEED_DAYS} 天</b>"]
    rows = bot.storage.db.execute(
        "SELECT local_date, lesson_day, catch_up, state FROM deliveries WHERE chat_key = ? ORDER BY local_date",
        [key],
    ).fetchall()
    assert rows == [("2026-11-24", 1, 1, "sent"), ("2026-11-26", 2, 1, "sent"), ("2026-11-27", 3, 0, "sent")]


async def test_settime_later_today_still_delivers_today(bot):
    key = bot.chat(6, at="08:00", now=local(SHANGHAI, 2026, 11, 24, 7, 0))
    now = local(SHANGHAI, 2026, 11, 24, 7, 30)
    chat = bot.storage.get_chat(key)
    bot.storage.set_time(key, "12:00", next_due(SHANGHAI, parse_hhmm("12:00"), None, now))
    assert await bot.run(now, local(SHANGHAI, 2026, 11, 24, 11, 59), timedelta(minutes=1)) == []
    sent = await bot.run(local(SHANGHAI, 2026, 11, 24, 12, 0), local(SHANGHAI, 2026, 11, 24, 23, 59),
                         timedelta(minutes=1))  # fmt: skip
    assert [(now, cid) for now, cid, _ in sent] == [(local(SHANGHAI, 2026, 11, 24, 12, 0), 6)]
    assert chat["last_local_date"] is None and bot.storage.get_chat(key)["last_local_date"] == "2026-11-24"


# ------------------------------------------------------------------------------------------------ restarts


async def test_restart_never_repeats(api, tmp_path, model):
    db = tmp_path / "bot.db"
    async with running(api, db, model) as first:
        first.chat(7, at="08:00", now=local(SHANGHAI, 2026, 11, 24, 0, 0))
        sent = await first.run(local(SHANGHAI, 2026, 11, 24, 7, 59), local(SHANGHAI, 2026, 11, 24, 8, 1),
                               timedelta(seconds=20))  # fmt: skip
        assert len(sent) == 1
    for restart in range(3):  # three restarts later the same day, each ticking from the start again
        async with running(api, db, model) as again:
            assert again.push.settle_interrupted(local(SHANGHAI, 2026, 11, 24, 9, restart)) == 0
            assert await again.run(local(SHANGHAI, 2026, 11, 24, 9, restart), local(SHANGHAI, 2026, 11, 24, 23, 59),
                                   timedelta(minutes=7)) == []  # fmt: skip
    async with running(api, db, model) as tomorrow:
        day2 = await tomorrow.tick(local(SHANGHAI, 2026, 11, 25, 8, 0))
        assert [heading(t) for t in day2[7]] == [f"<b>📖 每日学习 · 第 2 天 / 共 {SEED_DAYS} 天</b>"]
    assert len(api.delivered[7]) == 2


async def test_crash_between_claim_and_send_is_settled_never_repeated(api, tmp_path, model):
    """Killed with the send in flight (claimed in the database, the message on its way): after the restart
    `settle_interrupted` counts it as sent. The user got it once, and the plan moved on."""
    db = tmp_path / "bot.db"
    now = local(SHANGHAI, 2026, 11, 24, 8, 0)
    async with running(api, db, model) as doomed:
        key = doomed.chat(8, at="08:00", now=local(SHANGHAI, 2026, 11, 24, 0, 0))
        quiet = doomed.chat(9, at="08:00", now=local(SHANGHAI, 2026, 11, 24, 0, 0))
        api.latency = 0.5
        mark = api.mark()
        doomed.push.drain_seconds = 0  # a kill: the sends in flight are not waited for, as a shutdown would
        tick = asyncio.create_task(doomed.push.tick(now))
        deadline = time.monotonic() + 10
        while len(doomed.storage.claimed_unsent()) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # both sends are on the wire
        tick.cancel()  # the "kill": nothing after the claims ran
        await asyncio.gather(tick, return_exceptions=True)
        claimed = doomed.storage.claimed_unsent()
        assert sorted(row["chat_key"] for row in claimed) == [key, quiet]
    for chat_id in (8, 9):  # the stand-in got both requests and delivers them, the bot never knew
        await api.await_call(
            "sendMessage", lambda c, i=chat_id: str(c.params["chat_id"]) == str(i), after=mark
        )
    api.latency = 0
    async with running(api, db, model) as restarted:
        assert restarted.push.settle_interrupted(now + timedelta(minutes=1)) == 2
        assert restarted.storage.claimed_unsent() == []
        assert await restarted.run(now + timedelta(minutes=1), local(SHANGHAI, 2026, 11, 24, 23, 59),
                                   timedelta(minutes=10)) == []  # fmt: skip
        assert (
            restarted.storage.get_chat(key)["plan_pos"] == restarted.storage.get_chat(quiet)["plan_pos"] == 1
        )
        # The next day it is killed right after claiming chat 9's lesson, before the send went out.
        assert restarted.storage.claim_delivery(quiet, "2026-11-25", 2, False, now + timedelta(days=1))
    async with running(api, db, model) as again:
        assert again.push.settle_interrupted(now + timedelta(days=1, seconds=30)) == 1
        day2 = await again.run(
            now + timedelta(days=1), now + timedelta(days=1, hours=1), timedelta(minutes=1)
        )
        day3 = await again.tick(now + timedelta(days=2))
    assert [(cid, heading(t)) for _, cid, t in day2] == [
        (8, f"<b>📖 每日学习 · 第 2 天 / 共 {SEED_DAYS} 天</b>")
    ]
    assert {cid: [heading(t) for t in texts] for cid, texts in day3.items()} == {
        8: [f"<b>📖 每日学习 · 第 3 天 / 共 {SEED_DAYS} 天</b>"],
        9: [f"<b>📖 每日学习 · 第 3 天 / 共 {SEED_DAYS} 天</b>"],
    }
    # Never two on one day: chat 8 got days 1-3; chat 9 lost day 2 (claimed, never sent) rather than risk a repeat.
    assert len(api.delivered[8]) == 3 and len(api.delivered[9]) == 2


# ------------------------------------------------------------------------------------------------ who gets it


async def test_unsubscribed_and_blocked_chats_get_nothing(bot):
    start = local(SHANGHAI, 2026, 11, 24, 0, 0)
    for chat_id in (11, 12, 13, 14, -15):
        bot.chat(chat_id, at="08:00", now=start)
    bot.storage.unsubscribe("tg:11")
    bot.api.block(12)  # the user blocked the bot: the first push gets 403
    bot.storage.mark_blocked("tg:13")  # known to be blocked already
    bot.api.block(-15)  # the bot was removed from the group
    first = await bot.push.tick(local(SHANGHAI, 2026, 11, 24, 8, 0))
    assert (first.sent, first.blocked, first.failed) == (1, 2, 0)
    log = await bot.run(local(SHANGHAI, 2026, 11, 24, 8, 5), start + timedelta(days=3), timedelta(minutes=5))
    assert {cid for _, cid, _ in log} == {14}
    assert attempts_to(bot.api, 11) == 0 and attempts_to(bot.api, 13) == 0
    assert attempts_to(bot.api, 12) == 1 and attempts_to(bot.api, -15) == 1  # the 403, then never again
    assert bot.storage.get_chat("tg:12")["blocked"] == 1 and bot.storage.get_chat("tg:-15")["blocked"] == 1
    assert len(bot.api.delivered[14]) == 3  # the 24th, 25th and 26th


async def test_a_migrated_group_is_followed(bot):
    bot.api.add_chat(-42, "group", "旧群")
    key = "tg:-42"
    now = local(SHANGHAI, 2026, 11, 24, 0, 0)
    bot.storage.ensure_chat(key, "tg", "group", timezone=SHANGHAI)
    bot.storage.subscribe(key, "08:00", now, next_due(SHANGHAI, parse_hhmm("08:00"), None, now))
    bot.api.migrate(-42, -1000042)
    sent = await bot.tick(local(SHANGHAI, 2026, 11, 24, 8, 0))
    assert list(sent) == [-1000042]
    assert bot.storage.get_chat(key)["migrated_to"] == "tg:-1000042"
    assert await bot.run(local(SHANGHAI, 2026, 11, 24, 8, 1), local(SHANGHAI, 2026, 11, 24, 23, 0),
                         timedelta(minutes=20)) == []  # fmt: skip
    day2 = await bot.tick(local(SHANGHAI, 2026, 11, 25, 8, 0))
    assert [heading(t) for t in day2[-1000042]] == [f"<b>📖 每日学习 · 第 2 天 / 共 {SEED_DAYS} 天</b>"]


# ------------------------------------------------------------------------------------------------ time zones


DST_CASES = {
    # zone, first local day, push times -> the UTC instants of the three pushes (hand-computed)
    "berlin-spring": (BERLIN, date(2026, 3, 28), {
        "02:30": [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)],  # 02:30 does not
        "08:00": [utc(2026, 3, 28, 7, 0), utc(2026, 3, 29, 6, 0), utc(2026, 3, 30, 6, 0)],  # exist: at 03:00
    }),
    "berlin-autumn": (BERLIN, date(2026, 10, 24), {
        "02:30": [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],  # twice: 1st
        "08:00": [utc(2026, 10, 24, 6, 0), utc(2026, 10, 25, 7, 0), utc(2026, 10, 26, 7, 0)],
    }),
    "new-york-spring": (NEW_YORK, date(2026, 3, 7), {
        "02:30": [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)],
        "08:00": [utc(2026, 3, 7, 13, 0), utc(2026, 3, 8, 12, 0), utc(2026, 3, 9, 12, 0)],
    }),
    "new-york-autumn": (NEW_YORK, date(2026, 10, 31), {
        "01:30": [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        "08:00": [utc(2026, 10, 31, 12, 0), utc(2026, 11, 1, 13, 0), utc(2026, 11, 2, 13, 0)],
    }),
}  # fmt: skip


@pytest.mark.parametrize("case", DST_CASES)
async def test_one_lesson_per_local_day_across_dst(bot, case):
    zone, first, expected = DST_CASES[case]
    start = local(zone, first.year, first.month, first.day, 0, 0)
    chats = {}
    for i, at in enumerate(expected):
        chats[100 + i] = at
        bot.chat(100 + i, zone=zone, at=at, now=start)
    shanghai = bot.chat(200, zone=SHANGHAI, at="08:00", now=start)
    end = local(zone, first.year, first.month, first.day, 0, 0) + timedelta(days=3, hours=1)
    log = await bot.run(start, end - timedelta(minutes=10), timedelta(minutes=10))
    for chat_id, at in chats.items():
        mine = [(now, text) for now, cid, text in log if cid == chat_id]
        assert [now for now, _ in mine] == expected[at], (case, at)
        days = [now.astimezone(ZoneInfo(zone)).date() for now, _ in mine]
        assert days == [first + timedelta(days=i) for i in range(3)]  # one per local day, none skipped
        assert all("补发" not in heading(text) for _, text in mine)
        assert [heading(t) for _, t in mine] == [
            f"<b>📖 每日学习 · 第 {d} 天 / 共 {SEED_DAYS} 天</b>" for d in (1, 2, 3)
        ]
    # A Shanghai chat in the same run: one a day on its own local days.
    days = [now.astimezone(ZoneInfo(SHANGHAI)).date() for now, cid, _ in log if cid == 200]
    assert len(days) >= 3 and len(set(days)) == len(days)
    assert bot.storage.get_chat(shanghai)["plan_pos"] == len(days)


# ------------------------------------------------------------------------------------------------ the plan's end


async def test_end_of_plan_then_review(bot):
    total = bot.push.lessons.plan_length
    key = bot.chat(300, at="08:00", now=local(SHANGHAI, 2026, 11, 24, 0, 0))
    bot.storage.set_plan(key, total - 1)
    texts = []
    for day in range(4):
        sent = await bot.tick(local(SHANGHAI, 2026, 11, 24 + day, 8, 0))
        assert len(sent[300]) == 1
        texts.append(sent[300][0])
        if day == 0:
            chat = bot.storage.get_chat(key)
            assert chat["plan_done"] == 1 and chat["plan_pos"] == total
    assert heading(texts[0]) == f"<b>📖 每日学习 · 第 {total} 天 / 共 {total} 天</b>"
    assert "这是学习计划的最后一课" in texts[0]
    for n, text in enumerate(texts[1:], start=1):
        assert heading(text) == f"<b>🔁 复习 · 第 {n} 课（全文已学完）</b>"
        assert "/review" in text
    calls = [c for c in bot.api.calls_for("sendMessage") if str(c.params["chat_id"]) == "300"]
    buttons = [b["callback_data"] for row in calls[-1].params["reply_markup"]["inline_keyboard"] for b in row]
    assert "review" in buttons  # 复习错题: the wrong answers that are due


# ------------------------------------------------------------------------------------------------ 100,000 chats


def test_due_query_over_100000_chats_uses_the_index(tmp_path):
    storage = Storage(tmp_path / "many.db")
    base = epoch(utc(2026, 11, 24))
    rows = [(f"tg:{i}", base + (i * 7919) % 86_400, i % 50 == 0) for i in range(1, 100_001)]
    with storage._lock:
        storage.db.conn.execute("BEGIN IMMEDIATE")
        storage.db.conn.executemany(
            "INSERT INTO chats (key, channel, chat_type, timezone, push_time, subscribed, blocked, plan_pos, "
            "next_due, created_at, updated_at) VALUES (?, 'tg', 'private', 'Asia/Shanghai', '08:00', 1, ?, 0, ?, 0, 0)",
            [(key, int(blocked), None if blocked else due) for key, due, blocked in rows],
        )
        storage.db.conn.execute("COMMIT")
    statements: list[str] = []
    storage.db.conn.set_trace_callback(statements.append)
    now = base + 1200  # ~1,400 chats due: under one batch
    due = storage.due_chats(now, limit=BATCH, channels={"tg": object(), "robot": object()})
    storage.db.conn.set_trace_callback(None)
    expected = sum(1 for _, d, blocked in rows if not blocked and d <= now)
    assert 1000 < len(due) == expected < BATCH and all(c["next_due"] <= now for c in due)
    (query,) = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    plan = [row[-1] for row in storage.db.execute("EXPLAIN QUERY PLAN " + query).fetchall()]
    assert any("USING INDEX idx_chats_next_due (next_due<?)" in step for step in plan), plan
    assert not any(step.startswith("SCAN") or "TEMP B-TREE" in step for step in plan), plan
    # A full batch: still the index range scan, stopping at the LIMIT.
    assert len(storage.due_chats(base + 86_400, limit=BATCH, channels={"tg": None})) == BATCH
    storage.close()


async def test_a_send_that_hangs_does_not_hold_up_the_tick(tmp_path, model, monkeypatch):
    """A channel that never answers (a robot stuck on 45009) is given up on after the send budget and
    tried again later; the tick goes on to the other chats."""
    import jobs.daily as daily_module

    monkeypatch.setattr(daily_module, "SEND_BUDGET", 0.2)

    class Hangs:
        def is_group(self, chat_key, chat_type):
            return True

        async def send(self, chat_key, message):
            await asyncio.Event().wait()

        async def edit(self, chat_key, message_id, doc):
            pass

    class Answers(Hangs):
        sent: list[str] = []

        def is_group(self, chat_key, chat_type):
            return False

        async def send(self, chat_key, message):
            self.sent.append(chat_key)
            return "1"

    storage = Storage(str(tmp_path / "hang.db"))
    config = Config.from_env({})
    now = utc(2026, 11, 24, 1, 0)
    for key, channel, kind in (("robot:abc", "robot", "robot"), ("tg:7", "tg", "private")):
        storage.ensure_chat(key, channel, kind)
        storage.subscribe(key, "08:00", now, epoch(now - timedelta(minutes=30)))
    push = DailyPush(
        storage, Actions(storage, model, config), {"robot": Hangs(), "tg": Answers()}, Pacer(100), schedule
    )
    report = await asyncio.wait_for(push.tick(now), timeout=10)
    assert report.sent == 1 and report.failed == 1 and Answers.sent == ["tg:7"]
    robot = storage.get_chat("robot:abc")
    assert robot["next_due"] == epoch(now + daily_module.RETRY_FAILED_AFTER)  # tried again in five minutes
    storage.close()


async def test_an_outage_is_not_a_log_line_per_chat(tmp_path, model, caplog):
    """Every send failing (the API down at push time): the tick reports the failures, the log stays quiet
    (the service writes one summary line per tick), and every chat is tried again later."""
    from jobs.interfaces import PermanentError

    class Down:
        def is_group(self, chat_key, chat_type):
            return False

        async def send(self, chat_key, message):
            raise PermanentError("Bad Gateway")

        async def edit(self, chat_key, message_id, doc):
            pass

    storage = Storage(str(tmp_path / "down.db"))
    now = utc(2026, 11, 24, 1, 0)
    for i in range(30):
        storage.ensure_chat(f"tg:{i}", "tg", "private")
        storage.subscribe(f"tg:{i}", "08:00", now, epoch(now - timedelta(minutes=30)))
    push = DailyPush(
        storage, Actions(storage, model, Config.from_env({})), {"tg": Down()}, Pacer(1000), schedule
    )
    with caplog.at_level("INFO", logger="jobs.daily"):
        report = await push.tick(now)
    assert report.failed == 30 and len(report.errors) == 30
    assert [r for r in caplog.records if r.name == "jobs.daily" and r.levelname != "DEBUG"] == []
    assert all(storage.get_chat(f"tg:{i}")["next_due"] is not None for i in range(30))
    storage.close()
