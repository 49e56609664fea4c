"""Broadcast fan-out over HTTP: the real python-telegram-bot Bot talking to the strict Bot API stand-in
(with latency, rate limits answering 429, blocked chats, a migrated group and dropped connections), a real
SQLite file, and `jobs.broadcast.BroadcastRunner` either inside the whole `Service` (the admin's
/broadcast, 确认发送, progress and report) or driven directly."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from botapi_standin import BotAPIStandin
from helpers import VirtualClock, buttons

import jobs.broadcast
from bot.channels.telegram import TelegramChannel, TelegramSender
from bot.core.actions import BroadcastMessages, Button, Message, broadcast_recipients
from bot.core.config import Config
from bot.core.render import Doc
from bot.core.storage import Storage
from bot.service import Service
from jobs.broadcast import BroadcastRunner
from jobs.pacing import Pacer

TOKEN = "123456:TEST-token"
ADMIN = 1001
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
TEXT = "本周五下午集中学习，请准时参加"


def _env(api: BotAPIStandin, tmp_path, rate: int) -> dict[str, str]:
    return {
        "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
        "STUDYBOT_TELEGRAM_API_URL": api.base_url,
        "STUDYBOT_DB": str(tmp_path / "bot.db"),
        "STUDYBOT_ADMINS": str(ADMIN),
        "STUDYBOT_BROADCAST_RATE": str(rate),
    }


def subscribe(storage: Storage, chat_id: int, chat_type: str) -> str:
    """A subscribed Telegram chat whose daily push is not due during the test."""
    key = f"tg:{chat_id}"
    storage.ensure_chat(key, "tg", chat_type, None if chat_type == "private" else f"群 {chat_id}")
    storage.subscribe(key, "08:00", NOW, NOW + timedelta(days=30))
    return key


def private_chat(api: BotAPIStandin, storage: Storage, uid: int) -> str:
    api.add_user(uid, f"用户{uid}")
    api.add_chat(uid, "private")
    return subscribe(storage, uid, "private")


def group_chat(api: BotAPIStandin, storage: Storage, gid: int, kind: str = "supergroup") -> str:
    api.add_chat(gid, kind, f"群 {gid}")
    return subscribe(storage, gid, kind)


def sent_texts(api: BotAPIStandin, chat_id: int) -> list[str]:
    return [
        c.params["text"]
        for c in api.calls_for("sendMessage")
        if c.ok and str(c.params.get("chat_id")) == str(chat_id)
    ]


def edits_to(api: BotAPIStandin, chat_id: int) -> list[str]:
    return [
        c.params["text"]
        for c in api.calls_for("editMessageText")
        if c.ok and str(c.params.get("chat_id")) == str(chat_id)
    ]


# ------------------------------------------------------------------------------------------------ Service


async def test_broadcast_through_the_service(tmp_path, monkeypatch):
    """The admin's /broadcast and 确认发送, then ~300 chats: each exactly once, paced, faults handled."""
    rate = 100
    monkeypatch.setattr(jobs.broadcast, "PROGRESS_EVERY", 0.5)
    with BotAPIStandin(token=TOKEN) as api:
        config = replace(Config.from_env(_env(api, tmp_path, rate)), http_port=0, tick_seconds=3600)
        storage = Storage(config.db_path)
        api.add_user(ADMIN, "管理员")
        privates = [private_chat(api, storage, uid) for uid in range(20_001, 20_281)]
        groups = [group_chat(api, storage, -100_000 - i) for i in range(10)]
        blocked = [20_001, 20_050, 20_100, 20_150]
        for uid in blocked:
            api.block(uid)
        old_group, new_group = -3001, -1_000_003_001
        group_chat(api, storage, old_group, "group")
        api.migrate(old_group, new_group)
        gone = subscribe(storage, 777_777, "private")  # the stand-in has never heard of it: 400, failed
        recipients = len(privates) + len(groups) + 2
        assert len(broadcast_recipients(storage)) == recipients
        api.latency = 0.02
        # No global limit at the stand-in, so that its max_in_window measures the bot's own pacing.
        api.rate_limit(per_chat_per_minute=20)

        service = Service(config, storage)
        await service.start()
        try:
            mark = api.mark()
            api.send_message(ADMIN, ADMIN, f"/broadcast {TEXT}")
            preview = await api.await_call(
                "sendMessage", lambda c: str(c.params.get("chat_id")) == str(ADMIN), after=mark, timeout=10
            )
            assert f"将发送给 {recipients} 个订阅" in preview.params["text"]
            go = next(data for data in buttons(preview) if data.startswith("bc:go:"))
            # The first sends of the fan-out: dropped connections and a 502, each retried with backoff.
            api.fail_next("sendMessage", 3, "network")
            api.fail_next("sendMessage", 2, 502)
            api.press_button(ADMIN, ADMIN, preview.result["message_id"], go)
            report = await api.await_call(
                "editMessageText", lambda c: "广播已完成" in c.params["text"], after=mark, timeout=60
            )
        finally:
            await service.shutdown()

        delivered = api.delivered
        expected_sent = len(privates) - len(blocked) + len(groups) + 1
        assert f"送达 {expected_sent} · 屏蔽 {len(blocked)} · 失败 1" in report.params["text"]
        broadcast_id = int(go.split(":")[2])
        assert storage.get_broadcast(broadcast_id)["state"] == "done"
        counts = storage.broadcast_counts(broadcast_id)
        assert counts == {"pending": 0, "sending": 0, "sent": expected_sent, "blocked": 4, "failed": 1}

        # Exactly one message to every reachable chat, none to the blocked ones.
        for key in [*privates, *groups]:
            chat_id = int(key.split(":")[1])
            if chat_id in blocked:
                assert chat_id not in delivered
                assert storage.get_chat(key)["blocked"] == 1
            else:
                assert len(delivered[chat_id]) == 1, key
                (text,) = sent_texts(api, chat_id)
                assert "📢 通知" in text and TEXT in text
        # The migrated group was followed to its supergroup, and the database moved with it.
        assert old_group not in delivered and len(delivered[new_group]) == 1
        assert storage.get_chat(f"tg:{old_group}")["migrated_to"] == f"tg:{new_group}"
        assert storage.get_chat(f"tg:{new_group}")["subscribed"] == 1
        states = dict(
            storage.db.execute(
                "SELECT chat_key, state FROM broadcast_recipients WHERE broadcast_id = ?", [broadcast_id]
            ).fetchall()
        )
        assert states[f"tg:{new_group}"] == "sent" and f"tg:{old_group}" not in states
        assert states[gone] == "failed"

        # Pacing: never more than the rate in any second, no group over 20 a minute, no 429 drawn.
        assert api.max_in_window(None, 1.0) <= rate
        assert all(api.max_in_window(int(k.split(":")[1]), 60.0) <= 20 for k in groups)
        assert api.count_429 == 0
        # The injected faults happened and were retried.
        dropped = [c for c in api.calls_for("sendMessage") if c.response is None]
        bad_gateway = [c for c in api.calls_for("sendMessage") if c.error_code == 502]
        assert len(dropped) == 3 and len(bad_gateway) == 2
        for call in dropped + bad_gateway:  # resent: delivered once, or answered 403 if that chat is blocked
            chat_id = int(call.params["chat_id"])
            assert len(delivered.get(chat_id, [])) == (0 if chat_id in blocked else 1)
        # The admin saw progress edits before the report.
        progress = [t for t in edits_to(api, ADMIN) if "📤 已发送" in t]
        assert progress, edits_to(api, ADMIN)
        # The only refusal is the chat that does not exist.
        assert [(c.params["chat_id"], c.description) for c in api.errors] == [
            (777_777, "Bad Request: chat not found")
        ]
        storage.close()


# ------------------------------------------------------------------------------------------------ direct


class Tg:
    """The stand-in, a real Bot (TelegramChannel's Application, not polling), a Storage and the sender."""

    def __init__(self, api: BotAPIStandin, storage: Storage, sender: TelegramSender):
        self.api, self.storage, self.sender = api, storage, sender

    async def start_broadcast(self, text: str = TEXT, progress: bool = True) -> int:
        """A confirmed broadcast to every subscriber, with the admin's progress message."""
        broadcast_id = self.storage.create_broadcast(f"tg:{ADMIN}", text, NOW)
        assert self.storage.start_broadcast(broadcast_id, broadcast_recipients(self.storage), NOW)
        if not progress:
            return broadcast_id
        message_id = await self.sender.send(f"tg:{ADMIN}", Message(Doc().add("📤 开始发送……")))
        self.storage.set_progress_message(broadcast_id, f"tg:{ADMIN}", message_id)
        return broadcast_id


@pytest.fixture
async def tg(tmp_path):
    with BotAPIStandin(token=TOKEN) as api:
        config = replace(Config.from_env(_env(api, tmp_path, 100)), http_port=0)
        storage = Storage(config.db_path)
        channel = TelegramChannel(config, storage, lambda: None)
        app = channel.build()
        await app.initialize()
        api.add_user(ADMIN, "管理员")
        api.add_chat(ADMIN, "private")
        sender = TelegramSender(channel)
        try:
            yield Tg(api, storage, sender)
        finally:
            await sender.aclose()
            await app.shutdown()
            storage.close()


async def test_429_is_waited_out_and_resent(tg):
    """The platform allows less than our rate: every 429 pauses the fan-out for retry_after, then resends."""
    chats = [private_chat(tg.api, tg.storage, uid) for uid in range(30_001, 30_081)]
    tg.api.latency = 0.02
    broadcast_id = await tg.start_broadcast()
    tg.api.rate_limit(global_per_second=20)
    counts = await BroadcastRunner(tg.storage, BroadcastMessages(), {"tg": tg.sender}, Pacer(50)).run(
        broadcast_id
    )
    assert counts["sent"] == len(chats) and counts["failed"] == 0
    assert tg.api.count_429 > 0
    delivered = tg.api.delivered
    assert all(len(delivered[int(k.split(":")[1])]) == 1 for k in chats)
    refused = [c for c in tg.api.calls_for("sendMessage") if c.error_code == 429]
    assert len(refused) == tg.api.count_429
    assert all(c.response["parameters"]["retry_after"] >= 1 for c in refused)
    # Each 429 paused everything: only the sends already in flight ran into the same limit, not a storm.
    assert tg.api.count_429 <= len(chats) // 4
    tg.api.assert_no_errors()


async def test_group_window_is_kept_across_broadcasts(tg):
    """At most N sends to one group in any window (scaled to 3 per second here so the test is short),
    while private chats keep going; the stand-in counts that window strictly and answers 429 over it."""
    groups = [group_chat(tg.api, tg.storage, gid) for gid in (-40_001, -40_002)]
    tg.api.latency = 0.02
    tg.api.rate_limit(per_chat_per_second=3)  # for every chat: private chats get one message each
    pacer = Pacer(200, per_chat_per_minute=3, chat_window=1.0, chat_margin=0.1)
    runner = BroadcastRunner(tg.storage, BroadcastMessages(), {"tg": tg.sender}, pacer)
    rounds = 7
    for i in range(rounds):
        privates = [private_chat(tg.api, tg.storage, 40_000 + 10 * i + j) for j in range(5)]
        counts = await runner.run(await tg.start_broadcast(f"第 {i + 1} 条通知", progress=False))
        assert counts["sent"] == len(groups) + len(privates)
        for key in privates:
            tg.storage.unsubscribe(key)
    assert tg.api.count_429 == 0
    for key in groups:
        gid = int(key.split(":")[1])
        assert len(tg.api.delivered[gid]) == rounds
        assert tg.api.max_in_window(gid, 1.0) <= 3
    # Production wiring: groups are paced as groups, 20 a minute.
    assert tg.sender.is_group("tg:-40001", "supergroup") and tg.sender.is_group("tg:-5", "group")
    assert not tg.sender.is_group("tg:40001", "private")
    assert Pacer(100).per_chat_per_minute == 20
    tg.api.assert_no_errors()


async def test_resume_after_a_crash_sends_only_the_rest(tg):
    """A runner that died half-way left `sent` and `sending` rows: a new run sends the pending and the
    in-flight ones (the only possible duplicates), never the ones already sent."""
    chats = [private_chat(tg.api, tg.storage, uid) for uid in range(50_001, 50_031)]
    broadcast_id = await tg.start_broadcast()
    for key in chats[:10]:  # sent before the crash
        tg.storage.mark_sending(broadcast_id, key, NOW)
        tg.storage.record_outcomes(broadcast_id, [(key, "sent", None)], NOW)
    for key in chats[10:13]:  # in flight at the crash
        tg.storage.mark_sending(broadcast_id, key, NOW)
    counts = await BroadcastRunner(tg.storage, BroadcastMessages(), {"tg": tg.sender}, Pacer(200)).run(
        broadcast_id
    )
    assert counts == {"pending": 0, "sending": 0, "sent": 30, "blocked": 0, "failed": 0}
    got = Counter(chat_id for chat_id, items in tg.api.delivered.items() for _ in items)
    assert all(got[int(k.split(":")[1])] == 0 for k in chats[:10])
    assert all(got[int(k.split(":")[1])] == 1 for k in chats[10:])
    report = edits_to(tg.api, ADMIN)[-1]
    assert "广播已完成" in report and "送达 30 · 屏蔽 0 · 失败 0" in report
    # Running a finished broadcast again sends nothing.
    before = len(tg.api.calls_for("sendMessage"))
    await BroadcastRunner(tg.storage, BroadcastMessages(), {"tg": tg.sender}, Pacer(200)).run(broadcast_id)
    assert len(tg.api.calls_for("sendMessage")) == before
    tg.api.assert_no_errors()


async def test_group_and_its_supergroup_both_subscribed_get_it_once(tg):
    """A group migrated to a supergroup that was subscribed too: one message, one row, one count."""
    old = group_chat(tg.api, tg.storage, -4242, kind="group")
    new = group_chat(tg.api, tg.storage, -1004242)
    others = [private_chat(tg.api, tg.storage, uid) for uid in range(60_001, 60_004)]
    tg.api.migrate(-4242, -1004242)
    broadcast_id = await tg.start_broadcast()
    counts = await BroadcastRunner(tg.storage, BroadcastMessages(), {"tg": tg.sender}, Pacer(200)).run(
        broadcast_id
    )
    assert len(sent_texts(tg.api, -1004242)) == 1
    assert counts == {"pending": 0, "sending": 0, "sent": 1 + len(others), "blocked": 0, "failed": 0}
    assert tg.storage.recipient_state(broadcast_id, old) is None
    assert tg.storage.recipient_state(broadcast_id, new) == "sent"
    tg.api.assert_no_errors()


async def test_sender_renders_each_message_once_and_never_mixes_them(tg):
    """The sender caches a message's rendered parts: the same Message goes out identically to every chat,
    different ones (with and without buttons, one that needs two parts) each keep their own text."""
    chats = [private_chat(tg.api, tg.storage, uid) for uid in range(70_001, 70_007)]
    short = Message(Doc().b("通知").add("：本周五 <下午> 集中学习"))
    buttons = Message(Doc().add("今天的内容"), [[Button("✅ 已学习", "done:1"), Button("🧠 做题", "quiz:3")]])
    long = Message(Doc().add("学习。" * 2000))  # 6,000 characters: two messages
    for chat, message in zip(chats, [short, buttons, long, short, buttons, long], strict=True):
        await tg.sender.send(chat, message)
    texts = {uid: sent_texts(tg.api, uid) for uid in range(70_001, 70_007)}
    assert texts[70_001] == texts[70_004] == ["<b>通知</b>：本周五 &lt;下午&gt; 集中学习"]
    assert texts[70_002] == texts[70_005] == ["今天的内容"]
    assert len(texts[70_003]) == 2 and texts[70_003] == texts[70_006]
    assert "".join(texts[70_003]) == "学习。" * 2000
    markups = [
        c.params.get("reply_markup") for c in tg.api.calls_for("sendMessage") if c.params["chat_id"] == 70_005
    ]
    assert markups == [
        {
            "inline_keyboard": [
                [
                    {"text": "✅ 已学习", "callback_data": "done:1"},
                    {"text": "🧠 做题", "callback_data": "quiz:3"},
                ]
            ]
        }
    ]
    tg.api.assert_no_errors()


async def test_a_cancelled_run_leaves_no_sender_behind_and_resumes(tg):
    """Shutdown cancels the runner half-way: no worker keeps sending afterwards, and the next run sends
    everyone the rest, nobody twice except a send that was cut short in flight."""
    # More recipients than the queue holds, so the cancel finds the feeder still filling it.
    chats = [private_chat(tg.api, tg.storage, uid) for uid in range(80_001, 80_151)]
    tg.api.latency = 0.02
    broadcast_id = await tg.start_broadcast()
    run = asyncio.create_task(
        BroadcastRunner(tg.storage, BroadcastMessages(), {"tg": tg.sender}, Pacer(100)).run(broadcast_id)
    )
    while sum(len(tg.api.delivered.get(int(k.split(":")[1]), [])) for k in chats) < 20:
        await asyncio.sleep(0.01)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    in_flight = {r["chat_key"] for r in tg.storage.db["broadcast_recipients"].rows_where("state = 'sending'")}
    await asyncio.sleep(0.5)  # requests already on the wire land
    before = len(tg.api.calls_for("sendMessage"))
    await asyncio.sleep(0.5)  # a worker left running would keep sending (100 a second)
    assert len(tg.api.calls_for("sendMessage")) == before
    counts = await BroadcastRunner(tg.storage, BroadcastMessages(), {"tg": tg.sender}, Pacer(100)).run(
        broadcast_id
    )
    assert counts["sent"] == len(chats)
    got = Counter(chat_id for chat_id, items in tg.api.delivered.items() for _ in items)
    assert all(got[int(k.split(":")[1])] >= 1 for k in chats)
    assert {k for k in chats if got[int(k.split(":")[1])] > 1} <= in_flight
    tg.api.assert_no_errors()


# ------------------------------------------------------------------------------------------------ outages


class Timed:
    """The real sender, its requests counted for the virtual clock (which stands still while one is in
    flight) and every send attempt logged at virtual time: (time, chat key, None or the error's name)."""

    def __init__(self, sender: TelegramSender, clock: VirtualClock):
        self.sender, self.clock = sender, clock
        self.attempts: list[tuple[float, str, str | None]] = []

    def is_group(self, chat_key: str, chat_type: str) -> bool:
        return self.sender.is_group(chat_key, chat_type)

    async def send(self, chat_key, message):
        self.clock.busy += 1
        error = None
        try:
            return await self.sender.send(chat_key, message)
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            self.clock.busy -= 1
            self.attempts.append((self.clock.now, chat_key, error))

    async def edit(self, chat_key, message_id, doc):
        self.clock.busy += 1
        try:
            return await self.sender.edit(chat_key, message_id, doc)
        finally:
            self.clock.busy -= 1


@pytest.mark.parametrize("kind", [502, "network"])
async def test_an_outage_of_minutes_is_waited_out(tg, caplog, kind):
    """sendMessage down for five (virtual) minutes, answering 502 or dropping the connection: nobody ends
    `failed` for it. Each recipient waits in the queue, tried again at most a minute apart, the admin is
    told the bot waits for Telegram, the log says it once (and once a minute), and once Telegram answers
    again everyone gets the announcement, once. Only the permanent refusals end a recipient."""
    chats = [private_chat(tg.api, tg.storage, uid) for uid in range(90_001, 90_101)]
    tg.api.block(90_100)
    subscribe(tg.storage, 888_888, "private")  # unknown to the stand-in: 400, a permanent refusal
    broadcast_id = await tg.start_broadcast()
    clock = VirtualClock()
    sender = Timed(tg.sender, clock)
    pacer = Pacer(50, clock=clock, sleep=clock.sleep)
    runner = BroadcastRunner(
        tg.storage,
        BroadcastMessages(),
        {"tg": sender},
        pacer,
        clock=clock,
        sleep=clock.sleep,
        random=random.Random(11).random,
    )
    down_at, up_at = clock.now + 0.5, clock.now + 300.5

    def world(now: float) -> None:
        if down_at <= now < up_at:
            tg.api.take_down("sendMessage", kind)
        elif now >= up_at:
            tg.api.bring_up()

    caplog.set_level(logging.INFO, logger="jobs")
    counts = await clock.drive(runner.run(broadcast_id), world)

    assert counts == {"pending": 0, "sending": 0, "sent": 99, "blocked": 1, "failed": 1}
    delivered = tg.api.delivered
    assert all(len(delivered[int(k.split(":")[1])]) == 1 for k in chats[:-1])
    assert 90_100 not in delivered
    failures = [a for a in sender.attempts if a[2] == "TemporaryError"]
    assert len(failures) > 2 * len(chats)  # the outage really held every recipient back, several times
    assert all(down_at <= t <= up_at + 0.1 for t, _, _ in failures)
    # Retries a minute apart at most (plus the wait for a send slot), growing from about a second.
    tries: dict[str, list[float]] = {}
    for t, key, _ in sender.attempts:
        tries.setdefault(key, []).append(t)
    gaps = [b - a for times in tries.values() for a, b in zip(times, times[1:], strict=False)]
    assert max(gaps) <= jobs.broadcast.RETRY_CAP + 3
    assert min(gaps) < 2 and max(gaps) > 40
    # No hammering: about log2(60) + 240/60 tries each over five minutes, not one a second.
    assert max(len(times) for times in tries.values()) <= 16
    last = max(t for t, _, error in sender.attempts if error is None)
    # As soon as one send goes through, everyone waiting is tried: done in seconds, not a backoff later.
    assert last - up_at < 10
    # The log: once when it began, at most once a minute while it lasted, once when it ended.
    lines = [r.getMessage() for r in caplog.records if f"broadcast {broadcast_id}:" in r.getMessage()]
    assert len([m for m in lines if "keep failing" in m]) == 1
    assert 3 <= len([m for m in lines if "still failing" in m]) <= 5
    assert len([m for m in lines if "go through again" in m]) == 1
    # The admin saw that the bot waits for Telegram, then the report.
    edits = edits_to(tg.api, ADMIN)
    assert any("⏳ Telegram 暂时无法连接，稍后自动重试" in t for t in edits)
    assert "送达 99 · 屏蔽 1 · 失败 1" in edits[-1] and "暂时无法连接" not in edits[-1]
    assert [(c.params["chat_id"], c.description) for c in tg.api.errors] == [
        (888_888, "Bad Request: chat not found")
    ]


async def test_a_recipient_waiting_its_backoff_holds_no_send_slot(tg):
    """One worker only, and the first three sends fail (502): the other recipients go out meanwhile; the
    three are tried again after their backoff, not one after another in the worker's own time."""
    chats = [private_chat(tg.api, tg.storage, uid) for uid in range(91_001, 91_021)]
    broadcast_id = await tg.start_broadcast(progress=False)
    clock = VirtualClock()
    sender = Timed(tg.sender, clock)
    runner = BroadcastRunner(
        tg.storage,
        BroadcastMessages(),
        {"tg": sender},
        Pacer(50, clock=clock, sleep=clock.sleep),
        concurrency=1,
        clock=clock,
        sleep=clock.sleep,
        random=random.Random(5).random,
    )
    tg.api.fail_next("sendMessage", 3, 502)
    counts = await clock.drive(runner.run(broadcast_id))
    assert counts["sent"] == len(chats) and counts["failed"] == 0
    keys = [key for _, key, _ in sender.attempts]
    first_three = keys[:3]
    assert len(set(first_three)) == 3  # each failure went back to the queue; the worker took the next
    assert keys[3:20] == [k for k in chats if k not in first_three]  # everyone else, before any retry
    assert sorted(keys[20:]) == sorted(first_three)  # then the three, once each
    failed_at = {key: t for t, key, _ in sender.attempts[:3]}
    assert all(t - failed_at[key] >= 0.8 for t, key, _ in sender.attempts[20:])  # after ~1 s of backoff
    assert max(len(v) for v in tg.api.delivered.values()) == 1
    tg.api.assert_no_errors()
