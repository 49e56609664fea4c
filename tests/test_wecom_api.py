"""Tests of the WeCom app/robot clients against the local stand-in, with a fake clock and sleep."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from helpers import FakeTime
from wecom_standin import WeComStandin, make_callback_request, make_verify_request

from bot.channels.wecom.app import WeComApp
from bot.channels.wecom.calls import WeComError, redact_secrets
from bot.channels.wecom.crypto import WeComCrypto, parse_message
from bot.channels.wecom.robot import ROBOT_MAX_PER_WINDOW, ROBOT_WINDOW_SECONDS, RobotPacer, WeComRobot
from bot.channels.wecom.text import split_utf8
from bot.core.render import markdown_escape

ROBOT_KEY = "693a91f6-7abc-4bc4-97a0-0ec2sifa5aaa"


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def standin(fake: FakeTime) -> Iterator[WeComStandin]:
    with WeComStandin(clock=fake) as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as c:
        yield c


@pytest.fixture
def app(standin: WeComStandin, client: httpx.AsyncClient, fake: FakeTime) -> WeComApp:
    return WeComApp(standin.url, standin.corp_id, standin.agent_id, standin.corp_secret, client, clock=fake)


@pytest.fixture
def robot(standin: WeComStandin, client: httpx.AsyncClient, fake: FakeTime) -> WeComRobot:
    return WeComRobot(standin.add_robot(ROBOT_KEY), client, sleep=fake.sleep, clock=fake)


def assert_window(
    times: list[float], limit: int = ROBOT_MAX_PER_WINDOW, window: float = ROBOT_WINDOW_SECONDS
):
    """No more than limit of the times fall in any half-open window of the given length."""
    times = sorted(times)
    for i in range(len(times) - limit):
        assert times[i + limit] - times[i] >= window, f"{limit + 1} sends within {window} s at #{i}"


# --- app: token and message/send ------------------------------------------------------------------


async def test_token_is_cached_across_sends(app: WeComApp, standin: WeComStandin) -> None:
    await app.send_text("zhangsan", "第一条")
    await app.send_markdown("zhangsan", "**第二条**")
    await app.send_text("lisi", "第三条")
    assert standin.token_calls == 1
    sent = standin.app_messages("zhangsan")
    assert [(m["msgtype"], m["content"]) for m in sent] == [("text", "第一条"), ("markdown", "**第二条**")]
    assert sent[0]["agentid"] == standin.agent_id
    assert standin.errors == []


async def test_token_is_refreshed_before_it_expires(
    app: WeComApp, standin: WeComStandin, fake: FakeTime
) -> None:
    await app.send_text("zhangsan", "a")
    fake.now += 7200 - 299  # inside the 300 s refresh margin
    await app.send_text("zhangsan", "b")
    assert standin.token_calls == 2
    assert standin.errors == []  # refreshed ahead of time, never refused


async def test_short_lived_token_uses_a_proportional_margin(
    standin: WeComStandin, client: httpx.AsyncClient, fake: FakeTime
) -> None:
    standin.expires_in = 10
    app = WeComApp(standin.url, standin.corp_id, standin.agent_id, standin.corp_secret, client, clock=fake)
    await app.get_token()
    fake.now += 7
    await app.get_token()
    assert standin.token_calls == 1
    fake.now += 2
    await app.get_token()
    assert standin.token_calls == 2


@pytest.mark.parametrize("errcode", [42001, 40014])
async def test_refused_token_is_refreshed_once(app: WeComApp, standin: WeComStandin, errcode: int) -> None:
    await app.send_text("zhangsan", "before")
    standin.expire_tokens(errcode)
    await app.send_text("zhangsan", "after")
    assert standin.token_calls == 2
    assert [e["errcode"] for e in standin.errors] == [errcode]
    assert [m["content"] for m in standin.app_messages("zhangsan")] == ["before", "after"]


async def test_token_refused_twice_raises_after_one_refresh(app: WeComApp, standin: WeComStandin) -> None:
    standin.inject_error("app", 42001, "access_token expired", times=5)
    with pytest.raises(WeComError) as info:
        await app.send_text("zhangsan", "x")
    assert info.value.errcode == 42001
    assert standin.token_calls == 2
    assert standin.corp_secret not in str(info.value)


async def test_other_errcode_raises_without_secret_or_token(app: WeComApp, standin: WeComStandin) -> None:
    token = await app.get_token()
    standin.inject_error("app", 60020, f"not allow to access from your ip, token {token}")
    with pytest.raises(WeComError) as info:
        await app.send_text("zhangsan", "x")
    assert info.value.errcode == 60020
    assert token not in str(info.value) and standin.corp_secret not in str(info.value)
    assert standin.token_calls == 1  # not a token error: no refresh


async def test_wrong_secret_raises_without_secret(standin: WeComStandin, client: httpx.AsyncClient) -> None:
    app = WeComApp(standin.url, standin.corp_id, standin.agent_id, "wrong-secret-value", client)
    with pytest.raises(WeComError) as info:
        await app.send_text("zhangsan", "x")
    assert info.value.errcode == 40001
    assert "wrong-secret-value" not in str(info.value) and "wrong-secret-value" not in repr(app)


async def test_transport_error_hides_the_token(standin: WeComStandin, fake: FakeTime) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as c:
        app = WeComApp("http://wecom.invalid", "ww1", 1, "top-secret-value", c, clock=fake)
        with pytest.raises(WeComError) as info:
            await app.get_token()
    assert info.value.errcode == -1
    assert "top-secret-value" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_long_app_message_is_split_under_the_limit(app: WeComApp, standin: WeComStandin) -> None:
    text = "".join(f"第{i}句，学习讲话精神要入脑入心。" for i in range(200))
    msgids = await app.send_text("zhangsan", text)
    sent = [m["content"] for m in standin.app_messages("zhangsan")]
    assert len(sent) == len(msgids) > 1
    assert "".join(sent) == text
    assert all(len(c.encode()) <= 2048 for c in sent)


@pytest.mark.parametrize("user", ["a|b", "@all", ""])
async def test_app_refuses_multi_recipient_ids(app: WeComApp, user: str) -> None:
    with pytest.raises(ValueError):
        await app.send_text(user, "x")


async def test_concurrent_sends_fetch_one_token(app: WeComApp, standin: WeComStandin) -> None:
    await asyncio.gather(*(app.send_text(f"u{i}", "hi") for i in range(10)))
    assert standin.token_calls == 1


# --- app: pictures (media/upload, then an image message) --------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # binary bytes of every value, as a real PNG has


def upload(standin: WeComStandin, token: str, files=None, params=None, **kwargs) -> dict:
    """A raw media/upload call, as a client other than ours might make it."""
    query = {"access_token": token, "type": "image", **(params or {})}
    return httpx.post(f"{standin.url}/cgi-bin/media/upload", params=query, files=files, **kwargs).json()


async def test_image_is_uploaded_then_sent_by_its_media_id(app: WeComApp, standin: WeComStandin) -> None:
    msgid = await app.send_image("zhangsan", PNG, "calendar.png")
    [uploaded] = standin.uploads()
    assert uploaded["type"] == "image" and uploaded["filename"] == "calendar.png"
    assert uploaded["content_type"] == "image/png" and uploaded["content"] == PNG
    [message] = standin.app_messages("zhangsan")
    assert message["msgtype"] == "image" and message["msgid"] == msgid
    assert message["media_id"] == uploaded["media_id"] and message["content"] == PNG
    assert uploaded["seq"] < message["seq"] and standin.errors == []


async def test_upload_refreshes_a_refused_token_once(app: WeComApp, standin: WeComStandin) -> None:
    await app.send_text("zhangsan", "先来一条")
    calls = standin.token_calls
    standin.expire_tokens(42001)
    await app.send_image("zhangsan", PNG)
    assert standin.token_calls == calls + 1
    assert [(e["route"], e["errcode"]) for e in standin.errors] == [("media/upload", 42001)]


async def test_upload_error_raises_without_the_token(app: WeComApp, standin: WeComStandin) -> None:
    standin.inject_error("upload", 40004, "invalid media type")
    with pytest.raises(WeComError) as caught:
        await app.send_image("zhangsan", PNG)
    assert caught.value.errcode == 40004 and caught.value.where == "wecom media/upload"
    assert standin.app_messages("zhangsan") == []  # no image message without a media_id


@pytest.mark.parametrize(
    "image", [b"\x89PNG", b"GIF89a" + bytes(100), b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024)]
)
async def test_client_refuses_what_wecom_would_before_calling(
    app: WeComApp, standin: WeComStandin, image: bytes
) -> None:
    with pytest.raises(ValueError):
        await app.send_image("zhangsan", image)
    assert standin.uploads() == [] and standin.token_calls == 0


async def test_standin_takes_uploads_only_as_wecom_does(app: WeComApp, standin: WeComStandin) -> None:
    token = await app.get_token()
    ok = upload(standin, token, files={"media": ("a.png", PNG, "image/png")})
    assert ok["errcode"] == 0 and ok["type"] == "image" and ok["media_id"] and ok["created_at"].isdigit()
    jpeg = b"\xff\xd8\xff\xe0" + bytes(64)
    assert upload(standin, token, files={"media": ("a.jpg", jpeg, "image/jpeg")})["errcode"] == 0
    refusals = {
        "field not named media": ({"file": ("a.png", PNG, "image/png")}, {}, 41005),
        "no filename": ({"media": (None, PNG, "image/png")}, {}, 41005),
        "type=file": ({"media": ("a.png", PNG, "image/png")}, {"type": "file"}, 40005),
        "type=picture": ({"media": ("a.png", PNG, "image/png")}, {"type": "picture"}, 40005),
        "5 bytes": ({"media": ("a.png", PNG[:5], "image/png")}, {}, 40006),
        "over 10 MB": ({"media": ("a.png", PNG + bytes(10 * 1024 * 1024), "image/png")}, {}, 40009),
        "a GIF": ({"media": ("a.gif", b"GIF89a" + bytes(64), "image/gif")}, {}, 40004),
        "PNG said to be text": ({"media": ("a.png", PNG, "text/plain")}, {}, 40004),
        "JPG said to be PNG": ({"media": ("a.png", jpeg, "image/png")}, {}, 40004),
    }
    for what, (files, params, errcode) in refusals.items():
        assert upload(standin, token, files, params)["errcode"] == errcode, what
    assert upload(standin, token, json={"media": "x"})["errcode"] == 41005  # not multipart
    assert upload(standin, "nope", files={"media": ("a.png", PNG, "image/png")})["errcode"] == 40014
    # filelength, when given in the Content-Disposition, must be the file's length.
    boundary = "----standin-boundary"
    for length, errcode in ((len(PNG), 0), (len(PNG) + 1, 40006)):
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="a.png"; filelength={length}'
                f"\r\nContent-Type: image/png\r\n\r\n"
            ).encode()
            + PNG
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        assert upload(standin, token, content=body, headers=headers)["errcode"] == errcode
    assert len(standin.uploads()) == 3


async def test_image_message_needs_a_media_id_the_standin_issued(
    app: WeComApp, standin: WeComStandin, fake: FakeTime
) -> None:
    def image_message(token: str, media_id: str) -> dict:
        return httpx.post(
            f"{standin.url}/cgi-bin/message/send",
            params={"access_token": token},
            json={
                "touser": "zhangsan",
                "msgtype": "image",
                "agentid": standin.agent_id,
                "image": {"media_id": media_id},
            },
        ).json()

    media_id = await app.upload_image(PNG)
    token = await app.get_token()
    assert image_message(token, "made-up")["errcode"] == 40007
    assert image_message(token, media_id)["errcode"] == 0
    fake.now += 3 * 24 * 3600  # a temporary file lives 3 days
    token = await app.get_token()
    assert image_message(token, media_id)["errcode"] == 40007
    assert len(standin.app_messages("zhangsan")) == 1


# --- robot ----------------------------------------------------------------------------------------


async def test_robot_markdown_is_sent(robot: WeComRobot, standin: WeComStandin) -> None:
    assert await robot.send_markdown("## 今日学习\n" + markdown_escape("省*次全会")) == 1
    assert standin.robot_messages(ROBOT_KEY) == [
        {"msgtype": "markdown", "content": "## 今日学习\n省*次全会", "at": pytest.approx(standin.clock())}
    ]


async def test_robot_text_is_sent(robot: WeComRobot, standin: WeComStandin) -> None:
    await robot.send_text("纯文本 *不* 解析")
    assert standin.robot_messages(ROBOT_KEY)[0]["msgtype"] == "text"
    assert standin.robot_messages(ROBOT_KEY)[0]["content"] == "纯文本 *不* 解析"


async def test_long_robot_markdown_is_split(robot: WeComRobot, standin: WeComStandin) -> None:
    text = "".join(f"第{i}段。" + "组织工作要高质量发展，" * 20 + "\n" for i in range(30))
    count = await robot.send_markdown(text)
    sent = [m["content"] for m in standin.robot_messages(ROBOT_KEY)]
    assert count == len(sent) > 1
    assert "".join(sent) == text
    assert all(len(c.encode()) <= 4096 for c in sent)


async def test_45009_waits_and_retries(robot: WeComRobot, standin: WeComStandin, fake: FakeTime) -> None:
    standin.inject_error(ROBOT_KEY, 45009, "api freq out of limit", times=2)
    await robot.send_markdown("重试后送达")
    assert [m["content"] for m in standin.robot_messages(ROBOT_KEY)] == ["重试后送达"]
    assert len(fake.sleeps) == 2 and all(s >= WeComRobot.RATE_LIMIT_MIN_WAIT for s in fake.sleeps)
    assert fake.sleeps[1] > fake.sleeps[0]  # backs off


async def test_45009_gives_up_after_a_bound(robot: WeComRobot, standin: WeComStandin, fake: FakeTime) -> None:
    standin.inject_error(ROBOT_KEY, 45009, "api freq out of limit", times=100)
    with pytest.raises(WeComError) as info:
        await robot.send_text("x")
    assert info.value.errcode == 45009
    assert len(fake.sleeps) == WeComRobot.RATE_LIMIT_MAX_RETRIES
    assert ROBOT_KEY not in str(info.value)


async def test_45009_from_a_second_sender_recovers_without_loss(
    standin: WeComStandin, client: httpx.AsyncClient, fake: FakeTime
) -> None:
    # Two processes share one robot: each paces itself to 20/min, together they overrun WeCom's count.
    url = standin.add_robot(ROBOT_KEY)
    first = WeComRobot(url, client, sleep=fake.sleep, clock=fake)
    second = WeComRobot(url, client, sleep=fake.sleep, clock=fake)
    for i in range(15):
        await first.send_text(f"a{i}")
    for i in range(15):
        await second.send_text(f"b{i}")
    messages = standin.robot_messages(ROBOT_KEY)
    assert sorted(m["content"] for m in messages) == sorted(
        [f"a{i}" for i in range(15)] + [f"b{i}" for i in range(15)]
    )
    assert any(e["errcode"] == 45009 for e in standin.errors)
    assert_window([m["at"] for m in messages])


async def test_other_robot_errcode_raises_without_the_key(
    standin: WeComStandin, client: httpx.AsyncClient, fake: FakeTime
) -> None:
    unknown = WeComRobot(
        standin.webhook_url("secretkey-not-registered-9f3e"), client, sleep=fake.sleep, clock=fake
    )
    with pytest.raises(WeComError) as info:
        await unknown.send_markdown("x")
    assert info.value.errcode == 93000
    assert "secretkey-not-registered-9f3e" not in str(info.value)
    assert "robot …9f3e" in str(info.value)
    assert fake.sleeps == []  # not a rate limit: no retry


async def test_errmsg_echoing_the_key_is_scrubbed(robot: WeComRobot, standin: WeComStandin) -> None:
    standin.inject_error(ROBOT_KEY, 40058, f"bad request for key={ROBOT_KEY} ({ROBOT_KEY})")
    with pytest.raises(WeComError) as info:
        await robot.send_text("x")
    assert ROBOT_KEY not in str(info.value)


async def test_robot_names_hide_the_key(robot: WeComRobot) -> None:
    assert robot.robot_id == hashlib.sha256(ROBOT_KEY.encode()).hexdigest()[:12]
    assert robot.label == "robot …5aaa"
    for shown in (repr(robot), str(robot), robot.redacted_url, robot.label, robot.robot_id):
        assert ROBOT_KEY not in shown
    assert robot.redacted_url.endswith("/cgi-bin/webhook/send?key=…5aaa")


async def test_httpx_request_logs_are_redacted(
    robot: WeComRobot, app: WeComApp, standin: WeComStandin, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await robot.send_text("x")
        await app.send_text("zhangsan", "y")
    assert "HTTP Request" in caplog.text  # httpx did log the calls...
    assert ROBOT_KEY not in caplog.text  # ...without the key, secret or token
    assert standin.corp_secret not in caplog.text
    assert "standin-token-" not in caplog.text


@pytest.mark.parametrize(
    "url", ["https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "https://x/?key=", "nonsense"]
)
def test_webhook_url_without_key_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        WeComRobot(url, httpx.AsyncClient())


def test_redact_secrets() -> None:
    assert redact_secrets("GET /x?corpsecret=abc&corpid=ww1") == "GET /x?corpsecret=***&corpid=ww1"
    assert redact_secrets('POST /send?key=k-1 "200"') == 'POST /send?key=*** "200"'
    assert redact_secrets("access_token=t0k&x=1") == "access_token=***&x=1"


# --- pacing ---------------------------------------------------------------------------------------


async def test_robot_pacer_keeps_20_per_sliding_minute(
    robot: WeComRobot, standin: WeComStandin, fake: FakeTime
) -> None:
    start = fake.now
    for i in range(50):
        await robot.send_text(f"m{i}")
    messages = standin.robot_messages(ROBOT_KEY)
    assert len(messages) == 50 and standin.errors == []
    assert_window([m["at"] for m in messages])
    # It waits only as long as needed: 50 sends fit in two full windows.
    assert fake.now - start == pytest.approx(2 * ROBOT_WINDOW_SECONDS)


async def test_robot_pacer_under_concurrency(robot: WeComRobot, standin: WeComStandin) -> None:
    await asyncio.gather(*(robot.send_text(f"task{t}-{i}") for t in range(3) for i in range(15)))
    messages = standin.robot_messages(ROBOT_KEY)
    assert len(messages) == 45 and standin.errors == []
    assert_window([m["at"] for m in messages])


async def test_pacer_with_irregular_traffic(fake: FakeTime) -> None:
    pacer = RobotPacer(fake.sleep, fake)
    rng = random.Random(7)
    stamps: list[float] = []
    for _ in range(300):
        if rng.random() < 0.3:
            fake.now += rng.uniform(0, 20)
        await pacer.acquire()
        stamps.append(fake.now)
    assert_window(stamps)


async def test_pacer_lets_a_first_burst_through(fake: FakeTime) -> None:
    pacer = RobotPacer(fake.sleep, fake)
    for _ in range(ROBOT_MAX_PER_WINDOW):
        await pacer.acquire()
    assert fake.sleeps == []
    await pacer.acquire()
    assert fake.sleeps == [pytest.approx(ROBOT_WINDOW_SECONDS)]


# --- split_utf8 -----------------------------------------------------------------------------------

SAMPLES = [
    "",
    "短句。",
    "同志们：今天召开全市组织工作会议。主要任务是：深入学习贯彻党的二十大精神！怎么办？要落实；\n第二段。",
    "没有任何标点的超长句子" * 300,
    "mixed ASCII and 中文 and emoji 🙂🙂🙂 — 还有“引号。”之后的话。" * 40,
    "\n\n\n" + "行。\n" * 500,
    "🙂" * 3000,
    "a" * 5000,
]


@pytest.mark.parametrize("limit", [4, 5, 7, 10, 64, 300, 2048, 4096])
@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_split_utf8_respects_limit_and_round_trips(text: str, limit: int) -> None:
    chunks = split_utf8(text, limit)
    assert "".join(chunks) == text
    assert all(chunk and len(chunk.encode("utf-8")) <= limit for chunk in chunks)


def test_split_utf8_cuts_at_sentence_ends() -> None:
    sentence = "学习贯彻党的二十大精神要在学懂弄通做实上下功夫。"  # 24 chars × 3 bytes = 72 bytes
    text = sentence * 10
    chunks = split_utf8(text, 200)
    assert all(chunk.endswith("。") for chunk in chunks)
    assert [len(c) for c in chunks] == [48] * 5


def test_split_utf8_keeps_closing_quote_with_its_sentence() -> None:
    text = "他说：“要学深悟透。”" + "接下来是下一句话。" * 3
    first = split_utf8(text, len("他说：“要学深悟透。”".encode()) + 5)[0]
    assert first == "他说：“要学深悟透。”"


def test_split_utf8_prefers_clauses_then_hard_split() -> None:
    long_clause = "很" * 100
    text = "第一分句，" + long_clause + "。"
    chunks = split_utf8(text, 60)
    assert chunks[0] == "第一分句，"
    assert "".join(chunks) == text
    assert all(len(c.encode()) <= 60 for c in chunks)


def test_split_utf8_never_splits_a_character() -> None:
    chunks = split_utf8("汉" * 10, 10)
    assert [len(c.encode()) for c in chunks] == [9, 9, 9, 3]


def test_split_utf8_rejects_tiny_limits() -> None:
    with pytest.raises(ValueError):
        split_utf8("x", 3)


# --- markdown_escape ------------------------------------------------------------------------------


Z = "\u200b"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("省*次全会", "省*次全会"),  # a single asterisk is no formatting in WeCom markdown: left as written
        ("a_b_c", "a_b_c"),
        ("**不是粗体**", f"*{Z}*不是粗体*{Z}*"),
        ("# 不是标题", f"{Z}# 不是标题"),
        ("  ## 缩进也不是", f"  {Z}## 缩进也不是"),
        ("> 不是引用\n第二行 > 保持", f"{Z}> 不是引用\n第二行 > 保持"),
        ("`code`", f"`{Z}code`{Z}"),
        ("[链接](http://x)", f"[链接]{Z}(http://x)"),
        ('<font color="info">x</font> <@all>', f'<{Z}font color="info">x<{Z}/font> <{Z}@all>'),
        ("第3#会议室", "第3#会议室"),
        ("1 < 2", "1 < 2"),
        ("普通文本，没有格式。", "普通文本，没有格式。"),
    ],
)
def test_markdown_escape(raw: str, shown: str) -> None:
    assert markdown_escape(raw) == shown
    assert markdown_escape(raw).replace(Z, "") == raw  # shown exactly as written


# --- callback request helpers ----------------------------------------------------------------------


def test_make_callback_request_round_trips() -> None:
    crypto = WeComCrypto("tok", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "ww1234")
    params, body = make_callback_request(crypto, "zhangsan", "/section 三", 1_700_000_000, "777", msg_id="9")
    inner = crypto.decrypt_message(
        body, params["msg_signature"], params["timestamp"], params["nonce"], now=1_700_000_010
    )
    msg = parse_message(inner)
    assert (msg["FromUserName"], msg["Content"], msg["MsgId"], msg["ToUserName"]) == (
        "zhangsan",
        "/section 三",
        "9",
        "ww1234",
    )

    verify = make_verify_request(crypto, "echo-42", 1_700_000_000, "888")
    assert (
        crypto.verify_url(verify["msg_signature"], verify["timestamp"], verify["nonce"], verify["echostr"])
        == "echo-42"
    )


def test_standin_serves_a_separate_process_style_client(standin: WeComStandin) -> None:
    # Plain synchronous HTTP, as a bot in another process would use it.
    url = standin.add_robot("k-sync-0001")
    response = httpx.post(url, json={"msgtype": "text", "text": {"content": "hi"}})
    assert response.json() == {"errcode": 0, "errmsg": "ok"}
    too_long = httpx.post(url, json={"msgtype": "markdown", "markdown": {"content": "字" * 1400}})
    assert too_long.json()["errcode"] == 40058
    token = httpx.get(
        f"{standin.url}/cgi-bin/gettoken", params={"corpid": standin.corp_id, "corpsecret": "no"}
    )
    assert token.json()["errcode"] == 40001
    bad_agent = httpx.post(
        f"{standin.url}/cgi-bin/message/send",
        params={"access_token": "nope"},
        json={"touser": "u", "msgtype": "text", "agentid": 1, "text": {"content": "x"}},
    )
    assert bad_agent.json()["errcode"] == 40014
