"""The WeCom channel end to end: the whole service (`bot.service.Service`) with group robots only, the
self-built app only, and Telegram + robots + app in one process, driven over real HTTP against the WeCom
stand-in (and the Bot API stand-in), on real SQLite files; `studybot run` as a process with robots only."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from botapi_standin import BotAPIStandin
from helpers import SEED_DAYS, Clock, FakeTime, buttons, sent_to
from wecom_standin import WeComStandin, make_callback_body, make_callback_request, make_verify_request

from bot.channels.wecom.channel import RobotSender
from bot.channels.wecom.crypto import WeComCrypto
from bot.channels.wecom.text import ROBOT_MARKDOWN_MAX_BYTES
from bot.core.actions import LETTERS, BroadcastMessages, Message, broadcast_doc
from bot.core.config import Config
from bot.core.render import to_markdown
from bot.core.storage import Storage, robot_chat_key
from bot.service import Service
from jobs.broadcast import BroadcastRunner
from jobs.interfaces import PermanentError, TemporaryError
from jobs.pacing import Pacer, max_in_window

TG_TOKEN = "123456:TEST-token"
ADMIN, ALICE = 1001, 1002
APP_TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
ROBOT_KEYS = (
    "4b3c8d2e-0a1f-4e6b-9c7d-robot1key0001",
    "7e9f1a2b-3c4d-4e5f-8a9b-robot2key0002",
    "0c1d2e3f-4a5b-4c6d-9e8f-robot3key0003",
)
USER = "zhangsan"
SHANGHAI = 8  # hours ahead of UTC


def shanghai(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant given as Shanghai wall time in November 2026, as UTC."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC) - timedelta(hours=SHANGHAI)


def app_env(standin: WeComStandin) -> dict[str, str]:
    """The five variables of the self-built app, pointed at the stand-in."""
    return {
        "STUDYBOT_WECOM_API_URL": standin.url,
        "STUDYBOT_WECOM_CORP_ID": standin.corp_id,
        "STUDYBOT_WECOM_AGENT_ID": str(standin.agent_id),
        "STUDYBOT_WECOM_SECRET": standin.corp_secret,
        "STUDYBOT_WECOM_TOKEN": APP_TOKEN,
        "STUDYBOT_WECOM_AES_KEY": AES_KEY,
    }


@asynccontextmanager
async def running(env: dict[str, str], clock: Clock) -> AsyncIterator[Service]:
    """The whole service as `studybot run` starts it, on a free HTTP port; shut down afterwards."""
    config = replace(Config.from_env(env), http_port=0, tick_seconds=3600)
    storage = Storage(config.db_path)
    service = Service(config, storage, clock=clock)
    await service.start()
    try:
        yield service
    finally:
        await service.shutdown()
        storage.close()


def base_url(service: Service) -> str:
    return f"http://127.0.0.1:{service.http_server.port}"


def db_dump(storage: Storage) -> str:
    """Everything in the database, to show that a refused request changed nothing."""
    return "\n".join(storage.db.conn.iterdump())


class AppUser:
    """A WeCom user typing into the self-built app: WeCom's encrypted POSTs to the bot's callback."""

    def __init__(self, service: Service, standin: WeComStandin, http: httpx.AsyncClient, user: str = USER):
        self.service, self.standin, self.http, self.user = service, standin, http, user
        self.crypto = WeComCrypto(APP_TOKEN, AES_KEY, standin.corp_id)
        self.nonce = 0

    @property
    def callback(self):
        return self.service.http_server.wecom

    def now(self) -> int:
        return int(self.service.clock().timestamp())

    def request(self, text: str, **kwargs) -> tuple[dict[str, str], bytes]:
        self.nonce += 1
        ts = kwargs.pop("timestamp", self.now())
        crypto = kwargs.pop("crypto", self.crypto)
        agent_id = kwargs.pop("agent_id", self.standin.agent_id)
        return make_callback_request(
            crypto, self.user, text, ts, f"n{self.nonce}", agent_id=agent_id, **kwargs
        )

    async def post(self, params: dict[str, str], body: bytes) -> httpx.Response:
        return await self.http.post(f"{base_url(self.service)}/wecom/callback", params=params, content=body)

    async def settle(self) -> None:
        """Wait until every accepted message has been handled and its replies sent."""
        for _ in range(1000):
            if not self.callback.tasks:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("WeCom message handling did not finish")

    def inbox(self) -> list[dict]:
        return self.standin.app_messages(self.user)

    async def say(self, text: str) -> list[str]:
        """Send a text message; return the markdown replies it brought (pictures after them aside)."""
        before = len(self.inbox())
        response = await self.post(*self.request(text))
        assert response.status_code == 200 and response.text == "success"
        await self.settle()
        replies = self.inbox()[before:]
        assert replies, f"no reply to {text!r}"
        assert all(m["msgtype"] in {"markdown", "image"} for m in replies)
        return [m["content"] for m in replies if m["msgtype"] == "markdown"]


async def wait_for(condition, timeout: float = 10.0) -> None:
    """Wait (briefly polling) until condition() holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def healthz(http: httpx.AsyncClient, service: Service) -> None:
    response = await http.get(f"{base_url(service)}/healthz")
    lines = response.text.splitlines()
    assert response.status_code == 200 and lines[0] == "ok", response.text
    # A line per channel that is up: the robots, the app's token, Telegram.
    assert all(": up (" in line for line in lines[1:]) and len(lines) == 1 + len(service.health._checks)
    head = await http.head(f"{base_url(service)}/healthz")
    assert head.status_code == 200 and head.content == b""


# --- group robots only ------------------------------------------------------------------------------


async def test_robots_only_daily_push_once_catch_up_and_restarts(tmp_path):
    clock = Clock(shanghai(24, 7, 0))  # before the robots' 07:30
    with WeComStandin() as standin:
        urls = [standin.add_robot(key) for key in ROBOT_KEYS[:2]]
        env = {
            "STUDYBOT_WECOM_WEBHOOKS": ",".join(urls),
            "STUDYBOT_WECOM_PUSH_TIME": "07:30",
            "STUDYBOT_DB": str(tmp_path / "bot.db"),
        }
        keys = [robot_chat_key(url) for url in urls]
        assert all(k.startswith("robot:") and len(k) == 18 for k in keys)

        def pushed(i: int) -> list[str]:
            return [m["content"] for m in standin.robot_messages(ROBOT_KEYS[i])]

        async with httpx.AsyncClient(timeout=10) as http:
            async with running(env, clock) as service:
                assert set(service.senders) == {"robot"} and service.telegram is None
                await healthz(http, service)
                assert (await http.get(f"{base_url(service)}/wecom/callback")).status_code == 404  # no app
                for key in keys:
                    chat = service.storage.get_chat(key)
                    assert chat["subscribed"] == 1 and chat["push_time"] == "07:30"
                    assert chat["timezone"] == "Asia/Shanghai" and chat["chat_type"] == "robot"
                await asyncio.sleep(0.1)  # the scheduler's first tick: nothing is due at 07:00
                assert (await service.daily.tick(clock())).sent == 0
                assert pushed(0) == pushed(1) == []

                clock.now = shanghai(24, 9, 0)  # the bot was down at 07:30: today's lesson, once, as 补发
                report = await service.daily.tick(clock())
                assert (report.sent, report.failed) == (2, 0)
                for i in (0, 1):
                    [lesson] = pushed(i)
                    assert lesson.startswith(f"**📖 补发 · 今日 07:30 的学习 · 第 1 天 / 共 {SEED_DAYS} 天**")
                    assert "\n> " in lesson and "💭 思考：" in lesson
                    assert "省*次全会" in lesson and "＊" not in lesson  # the speech's asterisk as written
                    assert len(lesson.encode()) <= ROBOT_MARKDOWN_MAX_BYTES
                    assert standin.robot_messages(ROBOT_KEYS[i])[0]["msgtype"] == "markdown"
                assert (await service.daily.tick(clock())).sent == 0  # a second tick repeats nothing
                rows = service.storage.deliveries_on("2026-11-24")
                assert sorted(r["chat_key"] for r in rows) == sorted(keys)
                assert all(r["state"] == "sent" and r["catch_up"] == 1 and r["lesson_day"] == 1 for r in rows)

                clock.now = shanghai(25, 7, 30, 30)  # on time the next day
                assert (await service.daily.tick(clock())).sent == 2
                assert (await service.daily.tick(clock())).sent == 0
                for i in (0, 1):
                    assert len(pushed(i)) == 2
                    assert pushed(i)[1].startswith(f"**📖 每日学习 · 第 2 天 / 共 {SEED_DAYS} 天**")

            # Restart on the same database later that day: nothing is sent again.
            clock.now = shanghai(25, 12, 0)
            async with running(env, clock) as service:
                await asyncio.sleep(0.2)  # the scheduler's first tick after the restart
                assert (await service.daily.tick(clock())).sent == 0
                assert [len(pushed(i)) for i in (0, 1)] == [2, 2]
                # A process killed mid-send leaves day 3's claim for the first robot behind.
                assert service.storage.claim_delivery(keys[0], "2026-11-26", 3, False, shanghai(26, 7, 30))

            clock.now = shanghai(26, 8, 0)
            async with running(env, clock) as service:
                await wait_for(lambda: len(pushed(1)) == 3)  # the first tick; the claim was settled as sent
                assert (await service.daily.tick(clock())).sent == 0
                assert len(pushed(0)) == 2  # never repeated: the claim counts as sent
                assert len(pushed(1)) == 3 and pushed(1)[2].startswith(
                    "**📖 补发 · 今日 07:30 的学习 · 第 3 天"
                )
                assert service.storage.get_chat(keys[0])["plan_pos"] == 3

            # The second robot is removed from the configuration and the time zone changes.
            env2 = {**env, "STUDYBOT_WECOM_WEBHOOKS": urls[0], "STUDYBOT_TIMEZONE": "Europe/Berlin"}
            async with running(env2, clock) as service:
                assert service.storage.get_chat(keys[1])["subscribed"] == 0
                first = service.storage.get_chat(keys[0])
                assert first["subscribed"] == 1 and first["timezone"] == "Europe/Berlin"
                assert set(service.senders["robot"].robots) == {keys[0]}
        assert standin.errors == []


async def test_robot_sender_splits_long_markdown_at_sentence_ends_and_falls_back_to_text():
    fake = FakeTime(1_000_000.0)
    with WeComStandin(clock=fake) as standin:
        url = standin.add_robot(ROBOT_KEYS[0])
        key = robot_chat_key(url)
        async with httpx.AsyncClient(timeout=10) as client:
            sender = RobotSender({key: url}, client, sleep=fake.sleep, clock=fake)
            text = "".join(f"第{i}条：各级党组织要把学习贯彻落实到位，推动工作取得实效。" for i in range(160))
            await sender.send(key, Message(broadcast_doc(text)))
            parts = [m["content"] for m in standin.robot_messages(ROBOT_KEYS[0])]
            assert len(parts) >= 3
            assert all(len(p.encode()) <= ROBOT_MARKDOWN_MAX_BYTES for p in parts)
            assert all(p.endswith("。") for p in parts)
            assert "".join(parts) == to_markdown(broadcast_doc(text))

            standin.inject_error(ROBOT_KEYS[0], 40008, "invalid message type")  # markdown refused
            await sender.send(key, Message(broadcast_doc("周五学习*号文件")))
            last = standin.robot_messages(ROBOT_KEYS[0])[-1]
            assert last["msgtype"] == "text" and last["content"] == "📢 通知\n\n周五学习*号文件"

            standin.inject_error(ROBOT_KEYS[0], 45009, "api freq out of limit", times=6)
            with pytest.raises(TemporaryError):  # the client waited 5+10+20+40+60 s for nothing
                await sender.send(key, Message(broadcast_doc("限流")))
            assert fake.sleeps[-5:] == [5.0, 10.0, 20.0, 40.0, 60.0]
            with pytest.raises(PermanentError, match="no longer configured"):
                await sender.send("robot:000000000000", Message(broadcast_doc("x")))


async def test_robots_never_get_more_than_20_a_minute(tmp_path):
    """Broadcasts through the real fan-out (jobs.broadcast) and RobotSender, on fake time throughout."""
    fake = FakeTime(1_000_000.0)
    clock = Clock(shanghai(24, 9, 0))
    with WeComStandin(clock=fake) as standin:
        urls = [standin.add_robot(key) for key in ROBOT_KEYS[:2]]
        env = {"STUDYBOT_WECOM_WEBHOOKS": ",".join(urls), "STUDYBOT_DB": str(tmp_path / "bot.db")}
        config = Config.from_env(env)
        storage = Storage(config.db_path)
        async with httpx.AsyncClient(timeout=10) as client:
            service = Service(config, storage, clock=clock)
            service.http_client = client
            service._setup_robots()
            service.senders["robot"].set_timing(fake.sleep, fake)
            pacer = Pacer(config.broadcast_rate, clock=fake, sleep=fake.sleep)
            runner = BroadcastRunner(
                storage, BroadcastMessages(), service.senders, pacer, clock=fake, now=clock
            )
            long = "".join(f"第{i}项：认真学习讲话精神，结合实际抓好贯彻落实。" for i in range(200))
            started = fake()
            for i in range(27):
                text = long if i in (5, 20) else f"第 {i + 1} 条通知"
                broadcast_id = storage.create_broadcast("tg:1", text, clock())
                storage.start_broadcast(broadcast_id, [robot_chat_key(u) for u in urls], clock())
                counts = await runner.run(broadcast_id)
                assert counts.get("sent") == sum(counts.values()) == 2
        storage.close()
        for key in ROBOT_KEYS[:2]:
            messages = standin.robot_messages(key)
            assert len(messages) > 27  # the two long ones went in several parts each
            assert max_in_window([m["at"] for m in messages], 60.0) <= 20
            assert all(len(m["content"].encode()) <= ROBOT_MARKDOWN_MAX_BYTES for m in messages)
        assert fake() - started >= 60.0  # it had to wait for the window: paced, not refused
        assert standin.errors == []  # never a 45009


# --- the self-built app only --------------------------------------------------------------------------


@pytest.fixture
async def app_bot(tmp_path):
    clock = Clock(shanghai(24, 9, 0))
    with WeComStandin() as standin:
        env = {**app_env(standin), "STUDYBOT_DB": str(tmp_path / "bot.db")}
        async with httpx.AsyncClient(timeout=10) as http, running(env, clock) as service:
            yield AppUser(service, standin, http)


async def test_app_only_serves_health_and_url_verification(app_bot):
    service, http = app_bot.service, app_bot.http
    assert set(service.senders) == {"wecom"} and service.telegram is None
    await healthz(http, service)
    url = f"{base_url(service)}/wecom/callback"
    params = make_verify_request(app_bot.crypto, "echo-2718281828", app_bot.now(), "verify1")
    answer = await http.get(url, params=params)
    assert answer.status_code == 200 and answer.text == "echo-2718281828"
    bad = {**params, "msg_signature": "0" * 40}
    assert (await http.get(url, params=bad)).status_code == 403
    other_corp = WeComCrypto(APP_TOKEN, AES_KEY, "wwsomeoneelse000")
    wrong_corp = make_verify_request(other_corp, "echo", app_bot.now(), "verify2")
    assert (await http.get(url, params=wrong_corp)).status_code == 403
    old = make_verify_request(app_bot.crypto, "echo", app_bot.now() - 301, "verify3")
    assert (await http.get(url, params=old)).status_code == 403
    assert (await http.put(url, content=b"x")).status_code == 405
    assert (await http.get(f"{base_url(service)}/nothing")).status_code == 404


async def test_app_url_verification_with_a_literal_plus_in_echostr(app_bot):
    """WeCom's echostr is base64: a '+' in the raw query is a '+', not a space."""
    for n in range(100):
        params = make_verify_request(app_bot.crypto, "echo-plus", app_bot.now(), f"plus{n}")
        if "+" in params["echostr"]:
            break
    query = "&".join(f"{k}={v}" for k, v in params.items())  # as it is, not percent-encoded
    url = f"{base_url(app_bot.service)}/wecom/callback?{query}"
    assert "+" in httpx.URL(url).query.decode()
    answer = await app_bot.http.get(url)
    assert answer.status_code == 200 and answer.text == "echo-plus"


async def test_app_commands_reply_as_markdown(app_bot):
    user = app_bot
    service = user.service
    [lesson] = await user.say("今日")
    assert lesson.startswith(f"**📖 每日学习 · 第 1 天 / 共 {SEED_DAYS} 天**")
    assert "\n> " in lesson and "省*次全会" in lesson and "＊" not in lesson
    assert await user.say("/today") == [lesson]  # as on Telegram
    [toc] = await user.say("目录")
    assert toc.startswith("**📚 《在2023年全市组织工作会议上的讲话》目录**")
    assert "第三部分 · 扎实做好育才聚才" in toc
    section = await user.say("第三部分")
    assert section[0].startswith("**第三部分 · 扎实做好育才聚才**")
    assert all(len(part.encode()) <= 2048 for part in section)
    assert all(part.endswith(("。", "”", "！", "？", "；", "\n")) for part in section[:-1])
    assert section == await user.say("/section 3")
    [found] = await user.say("搜索 人才")
    assert found.startswith("**🔍 “人才” · ") and "**人才**" in found and "—— 第" in found
    [nothing] = await user.say("搜索 量子计算")
    assert "没有找到“量子计算”" in nothing
    [hint] = await user.say("你好")
    assert "/help" in hint
    [helptext] = await user.say("帮助")
    assert "今日、目录、第三部分、搜索 人才、答题、订阅 07:30" in helptext and "/broadcast" not in helptext
    [subscribed] = await user.say("订阅 07:30")
    assert subscribed.startswith("🔔 已订阅：每天 07:30（Asia/Shanghai）推送下一课。")
    chat = service.storage.get_chat(f"wecom:{USER}")
    assert chat["subscribed"] == 1 and chat["push_time"] == "07:30" and chat["channel"] == "wecom"
    # It is 09:00: today's lesson goes out through message/send at once, as 补发, and only once.
    before = len(user.inbox())
    assert (await service.daily.tick(service.clock())).sent == 1
    assert (await service.daily.tick(service.clock())).sent == 0
    [pushed] = [m["content"] for m in user.inbox()[before:]]
    assert pushed.startswith(f"**📖 补发 · 今日 07:30 的学习 · 第 1 天 / 共 {SEED_DAYS} 天**")


async def test_app_events_welcome_a_new_member_only(app_bot):
    user = app_bot

    def event(name: str) -> tuple[dict[str, str], bytes]:
        inner = (
            f"<xml><ToUserName><![CDATA[{user.standin.corp_id}]]></ToUserName><FromUserName><![CDATA[lisi]]>"
            f"</FromUserName><CreateTime>{user.now()}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{name}]]></Event><AgentID>{user.standin.agent_id}</AgentID></xml>"
        )
        return make_callback_body(user.crypto, inner, user.now(), f"event{name}")

    assert (await user.post(*event("enter_agent"))).text == "success"
    await user.settle()
    assert user.standin.app_messages("lisi") == []
    assert (await user.post(*event("subscribe"))).text == "success"
    await user.settle()
    [welcome] = user.standin.app_messages("lisi")
    assert welcome["content"].startswith("**👋 你好，lisi！**")


async def test_app_quiz_answered_with_letters(app_bot):
    user = app_bot
    actions = await user.service.get_actions()
    intro, first = await user.say("答题")
    assert intro.startswith("**🧠 小测验 · 共 5 题**\n每题回复")
    quiz = user.service.storage.active_quiz(f"wecom:{USER}")
    n = len(actions.model.question_by_id[quiz["question_ids"][0]].options)
    assert first.startswith("**（1/5）") and "\nA. " in first and f"\n{LETTERS[n - 1]}. " in first
    assert first.endswith({4: "回复 A、B、C 或 D 作答。", 3: "回复 A、B 或 C 作答。"}[n])
    wrong = 0
    for number in range(1, 6):
        quiz = user.service.storage.active_quiz(f"wecom:{USER}")
        question = actions.model.question_by_id[quiz["question_ids"][quiz["position"]]]
        wrong_one = (question.answer + 1) % len(question.options)
        letter = LETTERS[question.answer] if number % 2 else LETTERS[wrong_one]
        wrong += 0 if number % 2 else 1
        replies = await user.say(letter.lower() if number == 1 else letter)
        verdict = replies[0]
        assert verdict.startswith(
            "✅ 答对了！" if number % 2 else f"❌ 正确答案是 {LETTERS[question.answer]}. "
        )
        if number < 5:
            assert replies[1].startswith(f"**（{number + 1}/5）")
    assert replies[-1].startswith(f"**🎯 {5 - wrong} / 5** · 答错的 {wrong} 题已加入错题本")
    assert user.service.storage.active_quiz(f"wecom:{USER}") is None
    [hint] = await user.say("A")  # no quiz running: not an answer
    assert "/help" in hint


async def test_app_quiz_question_that_cannot_be_sent_does_not_hold_the_user(app_bot):
    user = app_bot
    storage = user.service.storage
    user.standin.inject_error("app", -1, "system busy")  # the heading goes first, and is lost
    [notice] = await user.say("答题")
    assert notice == "⚠️ 第 1 / 5 题没能发出去（发送暂时出错），这轮测验先暂停了。稍后发送“答题”再来一轮。"
    assert storage.active_quiz(f"wecom:{USER}") is None
    intro, first = await user.say("答题")  # not "这里已有一轮测验在进行（第 1 / 5 题）"
    assert first.startswith("**（1/5）")
    # A refusal that sending again cannot mend (48002: API forbidden), on the way to question 2.
    user.standin.inject_error("app", 48002, "api forbidden")
    [notice] = await user.say("A")
    assert notice == "⚠️ 第 2 / 5 题没能发出去，这轮测验已结束。"
    assert storage.active_quiz(f"wecom:{USER}") is None
    assert (await user.say("答题"))[1].startswith("**（1/5）")


async def test_app_token_refreshed_once_on_42001(app_bot):
    user = app_bot
    await user.say("目录")
    calls = user.standin.token_calls
    await user.say("目录")
    assert user.standin.token_calls == calls  # the token is cached
    user.standin.expire_tokens(42001)
    [toc] = await user.say("目录")
    assert "目录" in toc
    assert user.standin.token_calls == calls + 1
    assert [e["errcode"] for e in user.standin.errors] == [42001]
    user.standin.expire_tokens(40014)
    await user.say("目录")
    assert user.standin.token_calls == calls + 2
    assert [e["errcode"] for e in user.standin.errors] == [42001, 40014]


async def asks(user: AppUser, text: str) -> list[dict]:
    """Send a text message; return every app message it brought (markdown and images), in order."""
    before = len(user.inbox())
    response = await user.post(*user.request(text))
    assert response.status_code == 200 and response.text == "success"
    await user.settle()
    return user.inbox()[before:]


async def test_app_me_sends_the_study_calendar_after_its_text(app_bot):
    """/me's 12-week calendar reaches an app user as WeCom takes pictures: the PNG uploaded to
    media/upload (type=image, multipart field media), then an image message naming its media_id, after
    the figures' text."""
    user = app_bot
    assert "已记录" in (await user.say("打卡"))[0]
    text, image = await asks(user, "我的")
    assert text["msgtype"] == "markdown" and "连续" in text["content"]
    [uploaded] = user.standin.uploads()
    assert uploaded["filename"] == "calendar.png" and uploaded["content_type"] == "image/png"
    assert image["msgtype"] == "image" and image["media_id"] == uploaded["media_id"]
    assert image["content"] == uploaded["content"] and image["content"].startswith(b"\x89PNG\r\n\x1a\n")
    assert text["seq"] < uploaded["seq"] < image["seq"]
    assert [m["msgtype"] for m in await asks(user, "/me")] == ["markdown", "image"]  # as on Telegram
    assert user.standin.errors == []
    metrics = user.service.metrics.render().decode()
    assert (
        'studybot_messages_sent_total{channel="wecom",kind="reply"} 5.0' in metrics
    )  # 打卡, 2 × (text, image)


async def test_app_picture_that_cannot_go_keeps_the_text(app_bot, caplog):
    user = app_bot
    # A moment's failure (WeCom's -1, system busy) is tried once more, and the picture arrives.
    user.standin.inject_error("upload", -1, "system busy")
    assert [m["msgtype"] for m in await asks(user, "我的")] == ["markdown", "image"]
    # Twice in a row: the text is there, the picture is not, and the log says why.
    user.standin.inject_error("upload", -1, "system busy", times=2)
    with caplog.at_level(logging.WARNING, logger="bot.channels.wecom.channel"):
        [text] = await asks(user, "我的")
    assert text["msgtype"] == "markdown" and "连续" in text["content"]
    assert "picture to a WeCom user not sent" in caplog.text and "-1" in caplog.text
    # A refusal sending again cannot mend (40004: not an image WeCom takes) is not tried again.
    user.standin.inject_error("upload", 40004, "invalid media type")
    assert [m["msgtype"] for m in await asks(user, "我的")] == ["markdown"]
    assert [e["errcode"] for e in user.standin.errors] == [-1, -1, -1, 40004]
    # The image message itself refused (45009: too many): the text stays, the next /me has its picture.
    user.standin.inject_error("app:image", 45009, "api freq out of limit")
    before = len(user.standin.uploads())
    texts = await asks(user, "我的")
    assert [m["msgtype"] for m in texts] == ["markdown"] and len(user.standin.uploads()) == before + 1
    assert [m["msgtype"] for m in await asks(user, "我的")] == ["markdown", "image"]
    metrics = user.service.metrics.render().decode()
    assert 'studybot_send_retries_total{channel="wecom",kind="reply"} 2.0' in metrics
    assert 'studybot_messages_failed_total{channel="wecom",kind="reply",reason="permanent"} 1.0' in metrics


async def test_app_sender_sends_a_jobs_chart_after_its_text(tmp_path):
    """A scheduled message with a chart (`Message.image`, as the weekly summary's) to an app user: the text,
    then the picture; a picture that fails is logged, and the send still counts as sent (the text went)."""
    from bot.channels.wecom.channel import WeComAppSender
    from bot.core.render import Doc

    with WeComStandin() as standin:
        config = Config.from_env({**app_env(standin), "STUDYBOT_DB": str(tmp_path / "bot.db")})
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
        async with httpx.AsyncClient(timeout=10) as http:
            sender = WeComAppSender(config, http)
            await sender.send(f"wecom:{USER}", Message(Doc().add("上周学习情况"), image=png))
            text, image = standin.app_messages(USER)
            assert (
                text["content"] == "上周学习情况" and image["content"] == png and text["seq"] < image["seq"]
            )
            standin.inject_error("upload", 40009, "invalid image size")
            await sender.send(f"wecom:{USER}", Message(Doc().add("再来一次"), image=png))
            assert [m["msgtype"] for m in standin.app_messages(USER)[2:]] == ["markdown"]


async def test_app_refusals_change_nothing(app_bot):
    user = app_bot
    await user.say("订阅 07:30")  # the user and chat exist; nothing below may touch them
    storage, standin = user.service.storage, user.standin
    before = (db_dump(storage), len(user.inbox()), standin.token_calls, len(standin.errors))

    def unchanged() -> None:
        assert not user.callback.tasks  # nothing was scheduled to run
        assert (db_dump(storage), len(user.inbox()), standin.token_calls, len(standin.errors)) == before

    params, body = user.request("退订")
    cases: list[tuple[str, dict[str, str], bytes, int | tuple[int, ...]]] = [
        ("bad signature", {**params, "msg_signature": "f" * 40}, body, 403),
        ("no signature", {k: v for k, v in params.items() if k != "msg_signature"}, body, 403),
        ("tampered body", params, body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA"), 403),
        ("wrong corp id", *user.request("退订", crypto=WeComCrypto(APP_TOKEN, AES_KEY, "wwotherco")), 403),
        ("replay > 5 min", *user.request("退订", timestamp=user.now() - 301), 403),
        ("from the future", *user.request("退订", timestamp=user.now() + 301), 403),
        ("not XML", params, b"<xml><Encrypt>", 400),
        ("empty body", params, b"", 400),
        ("DTD", params, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aa">]><xml><Encrypt>&a;</Encrypt></xml>', 400),
        ("other AES key", *user.request("退订", crypto=WeComCrypto(APP_TOKEN, "A" * 43, standin.corp_id)), (400, 403)),
    ]  # fmt: skip
    inner_bad = make_callback_body(user.crypto, "<xml><MsgType>text</MsgType>", user.now(), "inner1")
    cases.append(("malformed inner XML", *inner_bad, 400))
    no_type = make_callback_body(user.crypto, "<xml><Content>退订</Content></xml>", user.now(), "inner2")
    cases.append(("no MsgType", *no_type, 400))
    for name, query, content, status in cases:
        response = await user.post(query, content)
        assert response.status_code in (status if isinstance(status, tuple) else (status,)), name
        assert response.text != "success", name
        unchanged()
    # Signed and encrypted for us but addressed to another app of the corp: acknowledged, not handled.
    assert (await user.post(*user.request("退订", agent_id=1000099))).text == "success"
    unchanged()
    # WeCom resends a message it thinks was lost: the same MsgId is answered but handled once.
    params, body = user.request("退订", msg_id="424242")
    assert (await user.post(params, body)).text == "success"
    await user.settle()
    assert storage.get_chat(f"wecom:{USER}")["subscribed"] == 0
    count = len(user.inbox())
    assert (await user.post(params, body)).text == "success"
    await user.settle()
    assert len(user.inbox()) == count


# --- Telegram + robots + app in one process ------------------------------------------------------------


async def test_telegram_robots_and_app_together(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    clock = Clock(shanghai(24, 9, 0))
    fake = FakeTime(1_000_000.0)
    with BotAPIStandin(token=TG_TOKEN) as api, WeComStandin() as standin:
        api.add_user(ADMIN, "管理员")
        api.add_user(ALICE, "小王")
        urls = [standin.add_robot(key) for key in ROBOT_KEYS]
        env = {
            "STUDYBOT_TELEGRAM_TOKEN": TG_TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": api.base_url,
            "STUDYBOT_ADMINS": str(ADMIN),
            "STUDYBOT_BROADCAST_RATE": "200",
            "STUDYBOT_WECOM_WEBHOOKS": ",".join(urls),
            "STUDYBOT_WECOM_PUSH_TIME": "10:00",
            "STUDYBOT_DB": str(tmp_path / "bot.db"),
            **app_env(standin),
        }
        async with httpx.AsyncClient(timeout=10) as http, running(env, clock) as service:
            assert set(service.senders) == {"tg", "robot", "wecom"}
            await healthz(http, service)
            user = AppUser(service, standin, http)
            [ok] = await user.say("订阅 10:00")
            assert "已订阅" in ok
            mark = api.mark()
            api.send_message(ALICE, ALICE, "/subscribe 10:00")
            await api.await_call("sendMessage", lambda c: sent_to(c, ALICE), after=mark, timeout=10)

            # The robots' 45009 waits run on fake time; the third robot refuses with another errcode.
            service.senders["robot"].set_timing(fake.sleep, fake)
            standin.inject_error(ROBOT_KEYS[1], 45009, "api freq out of limit")
            standin.inject_error(ROBOT_KEYS[2], 93000, "invalid webhook url")
            mark = api.mark()
            api.send_message(ADMIN, ADMIN, "/broadcast 周五下午在*号会议室集中学习")
            preview = await api.await_call("sendMessage", lambda c: sent_to(c, ADMIN), after=mark, timeout=10)
            assert "将发送给 5 个订阅（2 个私聊 · 0 个群 · 3 个企业微信群）" in preview.params["text"]
            go = next(d for d in buttons(preview) if d.startswith("bc:go:"))
            mark = api.mark()
            api.press_button(ADMIN, ADMIN, preview.result["message_id"], go)
            report = await api.await_call(
                "editMessageText", lambda c: "广播已完成" in c.params["text"], after=mark, timeout=20
            )
            assert "送达 4 · 屏蔽 0 · 失败 1" in report.params["text"]
            await user.settle()

            for key in ROBOT_KEYS[:2]:
                [robot_message] = standin.robot_messages(key)
                assert robot_message["msgtype"] == "markdown"
                assert robot_message["content"] == "**📢 通知**\n\n周五下午在*号会议室集中学习"
            assert standin.robot_messages(ROBOT_KEYS[2]) == []
            assert sorted((e["errcode"], e["key"]) for e in standin.errors) == [
                (45009, ROBOT_KEYS[1]),
                (93000, ROBOT_KEYS[2]),
            ]
            assert fake.sleeps == [5.0]  # waited once for the rate-limited robot, then delivered
            assert user.inbox()[-1]["content"] == "**📢 通知**\n\n周五下午在*号会议室集中学习"
            assert any(
                sent_to(c, ALICE) and "周五下午在*号会议室" in c.params["text"]
                for c in api.calls_for("sendMessage")
            )
            broadcast_id = int(go.split(":")[2])
            failed = service.storage.db.execute(
                "SELECT chat_key, error FROM broadcast_recipients WHERE broadcast_id = ? AND state = 'failed'",
                [broadcast_id],
            ).fetchall()
            label = f"robot …{ROBOT_KEYS[2][-4:]}"
            assert failed == [(robot_chat_key(urls[2]), f"{label}: WeCom error 93000: invalid webhook url")]

            # At 10:00 every channel gets its lesson from one tick: three robots, Telegram, the app.
            clock.now = shanghai(24, 10, 0, 30)
            report = await service.daily.tick(clock())
            assert (report.sent, report.failed) == (5, 0)
            for key in ROBOT_KEYS:
                assert standin.robot_messages(key)[-1]["content"].startswith(
                    f"**📖 每日学习 · 第 1 天 / 共 {SEED_DAYS} 天**"
                )
            assert user.inbox()[-1]["content"].startswith("**📖 每日学习 · 第 1 天")
            dump = db_dump(service.storage)
        api.assert_no_errors()

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert label in logged and "93000" in logged
    for secret in (*ROBOT_KEYS, standin.corp_secret, AES_KEY):
        assert secret not in logged
    for secret in (*ROBOT_KEYS, standin.corp_secret, AES_KEY, TG_TOKEN):
        assert secret not in dump
    assert "standin-token-" not in logged  # access tokens stay out of logs too


# --- `studybot run` as a process -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_studybot_run_with_robots_only_serves_and_stops_on_sigterm(tmp_path):
    studybot = Path(sys.executable).parent / "studybot"
    port = _free_port()
    with WeComStandin() as standin:
        url = standin.add_robot(ROBOT_KEYS[0])
        base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
        env = {
            **base,
            "STUDYBOT_WECOM_WEBHOOKS": url,
            "STUDYBOT_WECOM_PUSH_TIME": "00:00",  # due already: the day's lesson goes out at start
            "STUDYBOT_DB": str(tmp_path / "bot.db"),
            "STUDYBOT_HTTP_PORT": str(port),
        }
        process = subprocess.Popen(
            [str(studybot), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, process.communicate()[1]
                try:
                    response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    if response.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "no /healthz"
                time.sleep(0.1)
            assert response.text == "ok\nwecom robots: up (1 robot configured)\n"
            while not standin.robot_messages(ROBOT_KEYS[0]):
                assert time.monotonic() < deadline, "no daily push to the robot"
                time.sleep(0.1)
            assert "📖" in standin.robot_messages(ROBOT_KEYS[0])[0]["content"]
            assert httpx.get(f"http://127.0.0.1:{port}/wecom/callback", timeout=5).status_code == 404
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, stderr
    assert "studybot is running: robot" in stderr and "studybot stopped" in stderr
    assert ROBOT_KEYS[0] not in stderr and "Traceback" not in stderr
    assert len(standin.robot_messages(ROBOT_KEYS[0])) == 1
    with Storage(str(tmp_path / "bot.db")) as storage:
        rows = storage.db.execute("SELECT chat_key, state, lesson_day FROM deliveries").fetchall()
    assert rows == [(robot_chat_key(url), "sent", 1)]


def test_studybot_run_with_the_app_stops_clearly_when_its_port_is_taken(tmp_path):
    with socket.socket() as busy, WeComStandin() as standin:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
        env = {
            **base,
            **app_env(standin),
            "STUDYBOT_DB": str(tmp_path / "bot.db"),
            "STUDYBOT_HTTP_PORT": str(port),
        }
        result = subprocess.run(
            [str(Path(sys.executable).parent / "studybot"), "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert (
        f"studybot: STUDYBOT_HTTP_HOST/STUDYBOT_HTTP_PORT: cannot listen on 127.0.0.1:{port}" in result.stderr
    )
    assert "Traceback" not in result.stderr and AES_KEY not in result.stderr
