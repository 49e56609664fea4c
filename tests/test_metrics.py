"""/metrics in the Prometheus text format and /healthz's channel lines, from a running bot: real PTB
against the Bot API stand-in, the WeCom app against its stand-in, real SQLite; the page parsed with
prometheus-client's own parser."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
from botapi_standin import BotAPIStandin
from helpers import Clock, sent_to
from prometheus_client.parser import text_string_to_metric_families
from test_wecom_channel import app_env
from wecom_standin import WeComStandin

from bot.core.config import Config
from bot.core.metrics import Metrics
from bot.core.schedule import study_date
from bot.core.storage import Storage
from bot.metered import MeteredSender
from bot.service import Service
from jobs.interfaces import Blocked, RetryLater

TOKEN = "123456:METRICS-token"
USERS = (7001, 7002, 7003, 7004)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a /metrics page."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(page: dict, name: str, **labels: str) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(http: httpx.AsyncClient, service: Service) -> dict:
    answer = await http.get(f"http://127.0.0.1:{service.http_server.port}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(answer.text)


async def test_metrics_count_replies_pushes_broadcasts_429s_and_blocks(tmp_path):
    clock = Clock(datetime.now(UTC))
    with BotAPIStandin(token=TOKEN) as api:
        for user in USERS:
            api.add_user(user, f"用户{user}")
            api.add_chat(user, "private")
        env = {
            "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": api.base_url,
            "STUDYBOT_DB": str(tmp_path / "bot.db"),
        }
        config = replace(Config.from_env(env), http_port=0, tick_seconds=0.2)
        storage = Storage(config.db_path)
        service = Service(config, storage, clock=clock)
        await service.start()
        try:
            async with httpx.AsyncClient() as http:
                page = await scrape(http, service)
                assert value(page, "studybot_content_models_loaded") == 1
                assert value(page, "process_resident_memory_bytes") > 0
                assert value(page, "studybot_due_chats") == 0
                assert value(page, "studybot_broadcast_queue_depth") == 0

                # Replies: two commands, each one message and one latency sample.
                for text in ("/start", "/help"):
                    mark = api.mark()
                    api.send_message(USERS[0], USERS[0], text)
                    await api.await_call(
                        "sendMessage", lambda c: sent_to(c, USERS[0]), timeout=15, after=mark
                    )
                page = await scrape(http, service)
                assert value(page, "studybot_messages_sent_total", channel="tg", kind="reply") >= 2
                assert value(page, "studybot_update_reply_seconds_count", channel="tg") >= 2

                # The daily push: three chats due now.
                for user in USERS[1:]:
                    key = f"tg:{user}"
                    storage.ensure_chat(key, "tg", "private", f"用户{user}", timezone="Asia/Shanghai")
                    storage.subscribe(
                        key, "08:00", clock(), int((clock() - timedelta(minutes=1)).timestamp())
                    )
                for _ in range(200):
                    page = await scrape(http, service)
                    if value(page, "studybot_daily_pushes_total", outcome="sent") >= 3:
                        break
                    await asyncio.sleep(0.05)
                assert value(page, "studybot_daily_pushes_total", outcome="sent") == 3
                assert value(page, "studybot_messages_sent_total", channel="tg", kind="push") == 3

                # A broadcast to the four: one blocked, 429s from a strict limit, each answered by a resend.
                api.block(USERS[3])
                api.rate_limit(global_per_second=1)
                broadcast = storage.create_broadcast(f"tg:{USERS[0]}", "通知：周五下午学习。", clock())
                storage.start_broadcast(broadcast, [f"tg:{u}" for u in USERS], clock())
                service.wake_broadcasts(broadcast)
                saw_queue = False
                for _ in range(400):
                    page = await scrape(http, service)
                    saw_queue = saw_queue or value(page, "studybot_broadcast_queue_depth") > 0
                    if storage.get_broadcast(broadcast)["state"] == "done":
                        break
                    await asyncio.sleep(0.05)
                page = await scrape(http, service)
                assert storage.get_broadcast(broadcast)["state"] == "done"
                assert saw_queue and value(page, "studybot_broadcast_queue_depth") == 0
                assert value(page, "studybot_messages_sent_total", channel="tg", kind="broadcast") == 3
                blocked = value(
                    page, "studybot_messages_failed_total", channel="tg", kind="broadcast", reason="blocked"
                )
                assert blocked == 1
                limited = value(page, "studybot_rate_limited_total", channel="tg")
                assert limited >= 1 and limited == api.count_429
                assert value(page, "studybot_send_retries_total", channel="tg", kind="broadcast") == limited
        finally:
            await service.shutdown()
            storage.close()


async def test_reminders_due_and_sent_by_outcome(tmp_path):
    # 20:00 in Shanghai; the tick runs once at start and then not for an hour: the test ticks itself.
    clock = Clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    with BotAPIStandin(token=TOKEN) as api:
        for user in USERS:
            api.add_user(user, f"用户{user}")
            api.add_chat(user, "private")
        env = {
            "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": api.base_url,
            "STUDYBOT_DB": str(tmp_path / "bot.db"),
        }
        config = replace(Config.from_env(env), http_port=0, tick_seconds=3600)
        storage = Storage(config.db_path)
        service = Service(config, storage, clock=clock)
        await service.start()
        try:
            async with httpx.AsyncClient() as http:
                # Three set a reminder at 20:30 through /remind, one at 21:00; the first studies today.
                for user, at in zip(USERS, ("20:30", "20:30", "20:30", "21:00"), strict=True):
                    mark = api.mark()
                    api.send_message(user, user, f"/remind {at}")
                    answer = await api.await_call("sendMessage", lambda c, u=user: sent_to(c, u), after=mark)
                    assert "学习提醒" in answer.params["text"]
                today = study_date(config.tzinfo, clock())
                assert storage.check_in(f"tg:{USERS[0]}", f"tg:{USERS[0]}", today, clock())
                api.block(USERS[2])
                page = await scrape(http, service)
                assert value(page, "studybot_due_reminders") == 0
                clock.advance(minutes=31)  # 20:31
                page = await scrape(http, service)
                assert value(page, "studybot_due_reminders") == 3  # the 21:00 one is not due yet
                await service._remind()  # what the daily push's tick runs after the push
                page = await scrape(http, service)
                assert value(page, "studybot_due_reminders") == 0
                assert value(page, "studybot_reminders_total", outcome="sent") == 1
                assert value(page, "studybot_reminders_total", outcome="skipped") == 1  # studied today
                assert value(page, "studybot_reminders_total", outcome="blocked") == 1
                assert value(page, "studybot_messages_sent_total", channel="tg", kind="reminder") == 1
                clock.advance(minutes=30)  # 21:01: the fourth
                assert value(await scrape(http, service), "studybot_due_reminders") == 1
                await service._remind()
                page = await scrape(http, service)
                assert value(page, "studybot_due_reminders") == 0
                assert value(page, "studybot_reminders_total", outcome="sent") == 2
        finally:
            await service.shutdown()
            storage.close()


def test_due_reminders_are_counted_from_the_index_alone(tmp_path):
    storage = Storage(tmp_path / "bot.db")
    plan = storage.db.execute(
        "EXPLAIN QUERY PLAN SELECT count(*) FROM chats WHERE remind_next_due <= ?", [0]
    ).fetchall()
    assert "COVERING INDEX idx_chats_remind_next_due" in str(plan), plan
    storage.close()


async def test_due_chats_and_queue_depth_are_read_from_the_database():
    storage = Storage(":memory:")
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    for i in range(5):
        key = f"wecom:user{i}"
        storage.ensure_chat(key, "wecom", "private", "", timezone="Asia/Shanghai")
        due = now + timedelta(minutes=-1 if i < 3 else 30)
        storage.subscribe(key, "08:00", now, int(due.timestamp()))
    assert storage.count_due(now) == 3
    broadcast = storage.create_broadcast("tg:1", "通知", now)
    assert storage.queued_recipients() == 0  # a preview is not being sent
    storage.start_broadcast(broadcast, [f"wecom:user{i}" for i in range(5)], now)
    assert storage.queued_recipients() == 5
    storage.record_outcomes(broadcast, [("wecom:user0", "sent", None), ("wecom:user1", "failed", "x")], now)
    assert storage.queued_recipients() == 3
    storage.cancel_broadcast(broadcast, now)
    assert storage.queued_recipients() == 0
    storage.close()


async def test_a_resend_after_a_failure_counts_as_a_retry():
    class Flaky:
        def __init__(self):
            self.calls = 0

        def is_group(self, chat_key, chat_type):
            return False

        async def send(self, chat_key, message):
            self.calls += 1
            if chat_key == "x:blocked":
                raise Blocked()
            if self.calls == 1:
                raise RetryLater(1.0)
            return "id"

        async def edit(self, chat_key, message_id, doc):
            return None

    metrics = Metrics(process=False)
    sender = MeteredSender(Flaky(), metrics, "x", "push")
    message = object()
    for _ in range(2):
        try:
            await sender.send("x:1", message)
        except RetryLater:
            pass
    try:
        await sender.send("x:blocked", message)
    except Blocked:
        pass
    page = samples(metrics.render().decode())
    assert value(page, "studybot_messages_sent_total", channel="x", kind="push") == 1
    assert value(page, "studybot_messages_failed_total", channel="x", kind="push", reason="rate_limited") == 1
    assert value(page, "studybot_messages_failed_total", channel="x", kind="push", reason="blocked") == 1
    assert value(page, "studybot_send_retries_total", channel="x", kind="push") == 1
    assert value(page, "studybot_rate_limited_total", channel="x") == 1


async def test_healthz_says_the_wecom_token_is_fresh_or_what_failed(tmp_path):
    clock = Clock(datetime.now(UTC))
    with WeComStandin() as standin:
        env = {**app_env(standin), "STUDYBOT_DB": str(tmp_path / "bot.db")}
        config = replace(Config.from_env(env), http_port=0, tick_seconds=3600)
        storage = Storage(config.db_path)
        service = Service(config, storage, clock=clock)
        await service.start()
        healthz = f"http://127.0.0.1:{service.http_server.port}/healthz"
        try:
            async with httpx.AsyncClient() as http:
                for _ in range(100):
                    answer = await http.get(healthz)
                    if "fresh" in answer.text:
                        break
                    await asyncio.sleep(0.05)
                assert (answer.status_code, answer.text) == (200, "ok\nwecom: up (access token fresh)\n")
        finally:
            await service.shutdown()
            storage.close()
        # A wrong secret: gettoken fails at start, and /healthz says so.
        env["STUDYBOT_WECOM_SECRET"] = "not-the-secret"
        config = replace(Config.from_env(env), http_port=0, tick_seconds=3600)
        storage = Storage(config.db_path)
        service = Service(config, storage, clock=clock)
        await service.start()
        healthz = f"http://127.0.0.1:{service.http_server.port}/healthz"
        try:
            async with httpx.AsyncClient() as http:
                for _ in range(100):
                    answer = await http.get(healthz)
                    if answer.status_code == 503:
                        break
                    await asyncio.sleep(0.05)
                assert answer.status_code == 503
                assert answer.text == "wecom: gettoken failed: 40001 invalid credential\n"
                assert "not-the-secret" not in answer.text
        finally:
            await service.shutdown()
            storage.close()


async def test_healthz_says_polling_is_down_when_getupdates_goes_unanswered(tmp_path):
    with BotAPIStandin(token=TOKEN) as api:
        env = {
            "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": api.base_url,
            "STUDYBOT_DB": str(tmp_path / "bot.db"),
        }
        config = replace(Config.from_env(env), http_port=0, tick_seconds=3600)
        storage = Storage(config.db_path)
        service = Service(config, storage, clock=Clock(datetime.now(UTC)))
        await service.start()
        healthz = f"http://127.0.0.1:{service.http_server.port}/healthz"
        polling = service.telegram.polling
        now = [polling.clock()]
        polling.clock = lambda: now[0]
        try:
            async with httpx.AsyncClient() as http:
                assert (await http.get(healthz)).text == "ok\ntelegram: up (polling)\n"
                api.take_down("getUpdates", kind=502)
                now[0] += 75  # no answer for 75 s, by the check's clock
                answer = await http.get(healthz)
                assert answer.status_code == 503 and answer.text.startswith("telegram: no getUpdates answer")
                api.bring_up()
                await api.await_call("getUpdates", lambda c: c.ok, timeout=40, after=api.mark())
                await asyncio.sleep(0.1)
                assert (await http.get(healthz)).status_code == 200
        finally:
            await service.shutdown()
            storage.close()
