"""WeCom adapter: group robots and the self-built app as senders, and the app's encrypted callback.

Robots only receive (the daily lesson and broadcasts). App users type commands in Chinese or as on
Telegram (今日 / 目录 / 第三部分 / 搜索 人才 / 答题 / 订阅 07:30 / A…D); the callback answers WeCom at
once and the reply goes out through message/send, rendered as WeCom markdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import httpx

from bot.channels.wecom.app import WeComApp
from bot.channels.wecom.calls import Clock, Sleep, WeComError
from bot.channels.wecom.crypto import (
    ExpiredTimestamp,
    InvalidCorpId,
    InvalidSignature,
    WeComCrypto,
    WeComCryptoError,
    parse_message,
)
from bot.channels.wecom.robot import WeComRobot
from bot.channels.wecom.text import ROBOT_MARKDOWN_MAX_BYTES, split_utf8
from bot.core.actions import Actions, Ctx, Document, Documents, Later, Message, Out, Photo, QuizPoll, quiz_doc
from bot.core.config import Config
from bot.core.faults import Faults
from bot.core.metrics import Metrics
from bot.core.render import Doc, to_markdown, to_plain
from bot.core.storage import Storage
from jobs.interfaces import PermanentError, RetryLater, TemporaryError

if TYPE_CHECKING:
    from aiohttp import web  # imported where it is used: importing this module must not cost aiohttp's import

logger = logging.getLogger(__name__)

SEEN_MSG_IDS = 2048
#: How long shutdown waits for replies still being worked out before cancelling them.
DRAIN_SECONDS = 5.0
#: errcodes after which a robot gets the same message again as plain text: 40008 invalid message
#: type, 40058 invalid parameter (WeCom's answer to markdown it will not take).
MARKDOWN_REFUSED = frozenset({40008, 40058})


def callback_query(request: web.Request) -> dict[str, str]:
    """The query's parameters (the first of each), blank ones kept and a '+' kept as '+', not a space:
    WeCom's echostr is base64 and may hold '+'. `request.query` and `.query_string` would make it a space."""
    raw = request.rel_url.raw_query_string.replace("+", "%2B")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _map_error(exc: WeComError) -> Exception:
    """A WeCom error as the scheduler's delivery errors."""
    if exc.errcode == 45009:
        return RetryLater(60.0)
    if exc.errcode == -1:
        return TemporaryError(str(exc))
    return PermanentError(str(exc))


class RobotSender:
    """`jobs.interfaces.Sender` for WeCom group robots, keyed by `robot:<12 hex>` chat keys.

    Each robot's client keeps to 20 messages in any 60 s (every chunk of a split message counts) and
    waits out a 45009 itself (5, 10, 20, 40, 60 s). `sleep` and `clock` are that pacing's time, for tests.
    """

    def __init__(
        self,
        webhooks: dict[str, str],
        client: httpx.AsyncClient,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ):
        self._webhooks = dict(webhooks)
        self._client = client
        self.robots: dict[str, WeComRobot] = {}
        self.set_timing(sleep, clock)

    def set_timing(self, sleep: Sleep, clock: Clock) -> None:
        """Use another sleep and clock for the robots' pacing and 45009 waits (a fresh window each)."""
        self.robots = {
            key: WeComRobot(url, self._client, sleep=sleep, clock=clock)
            for key, url in self._webhooks.items()
        }

    def is_group(self, chat_key: str, chat_type: str) -> bool:
        """A robot posts into a group: 20 a minute."""
        return True

    async def send(self, chat_key: str, message: Message) -> str | None:
        """Post the message as markdown (split under 4,096 bytes at sentence ends), else as text."""
        robot = self.robots.get(chat_key)
        if robot is None:
            raise PermanentError("robot no longer configured")
        content = to_markdown(message.doc)
        try:
            try:
                await robot.send_markdown(content)
            except WeComError as exc:
                # Text fallback only for a one-part message: a later part failing must not resend the others.
                if (
                    exc.errcode not in MARKDOWN_REFUSED
                    or len(split_utf8(content, ROBOT_MARKDOWN_MAX_BYTES)) > 1
                ):
                    raise
                logger.warning("%s; sending it as text", exc)
                await robot.send_text(to_plain(message.doc))
        except WeComError as exc:
            logger.warning("%s", exc)  # the error text names the robot by its redacted label only
            if exc.errcode == 45009:
                # The client already waited 135 s for this robot: retry it later, without the global
                # pause a RetryLater would put on every other chat.
                raise TemporaryError(str(exc)) from None
            raise _map_error(exc) from None
        except httpx.HTTPError as exc:
            raise TemporaryError(type(exc).__name__) from None
        if getattr(message, "image", None):
            # After the text, which went out: a picture that fails is logged, never resent with the text.
            try:
                await robot.send_image(message.image)
            except (WeComError, httpx.HTTPError, ValueError) as exc:
                logger.warning("chart to %s not sent: %s", robot.label, exc)
        return None

    async def edit(self, chat_key: str, message_id: str, doc: Doc) -> None:
        """Robots cannot edit messages."""


class WeComAppSender:
    """`jobs.interfaces.Sender` for users of the self-built app."""

    def __init__(self, config: Config, client: httpx.AsyncClient, metrics: Metrics | None = None):
        self.app = WeComApp(
            config.wecom_api_url,
            config.wecom_corp_id,
            config.wecom_agent_id,
            config.wecom_secret.get(),
            client,
        )
        #: Counts the replies (send_outs); the jobs' sends are counted by the service's MeteredSender.
        self.metrics = metrics

    def is_group(self, chat_key: str, chat_type: str) -> bool:
        """App messages go to one user."""
        return False

    async def send(self, chat_key: str, message: Message) -> str | None:
        """message/send as markdown."""
        user_id = chat_key.split(":", 1)[1]
        try:
            ids = await self.app.send_markdown(user_id, to_markdown(message.doc))
        except WeComError as exc:
            logger.warning("%s", exc)
            raise _map_error(exc) from None
        except httpx.HTTPError as exc:
            raise TemporaryError(type(exc).__name__) from None
        if message.image:
            # After the text, which went out: a picture that fails is logged, never resent with the text.
            await self._image(user_id, message.image, "chart.png", None)
        return ids[-1] if ids else None

    async def _image(self, user_id: str, png: bytes, filename: str, kind: str | None) -> bool:
        """Upload a picture and send it as an image message, once more after a moment's failure (WeCom
        asks for a few tries on -1); one that cannot go is logged. Counted under `kind` (a reply's; the
        jobs' sends are counted whole by their MeteredSender: None). Whether it went."""
        metrics = self.metrics if kind is not None else None
        for attempt in (1, 2):
            try:
                await self.app.send_image(user_id, png, filename)
            except (WeComError, httpx.HTTPError, ValueError) as exc:
                if isinstance(exc, WeComError):
                    mapped = _map_error(exc)
                elif isinstance(exc, httpx.HTTPError):
                    mapped = TemporaryError(type(exc).__name__)
                else:
                    mapped = PermanentError(str(exc))
                if metrics is not None:
                    metrics.count_send("wecom", kind, mapped)
                if isinstance(mapped, TemporaryError) and attempt == 1:
                    logger.info("picture to a WeCom user: %s; trying once more", exc)
                    if metrics is not None:
                        metrics.retries.labels("wecom", kind).inc()
                    continue
                logger.warning("picture to a WeCom user not sent: %s", exc)
                return False
            if metrics is not None:
                metrics.count_send("wecom", kind)
            return True
        return False

    async def edit(self, chat_key: str, message_id: str, doc: Doc) -> None:
        """App messages are not edited; progress goes to Telegram admins."""

    async def send_outs(self, user_id: str, outs: list[Out], actions: Actions | None = None) -> None:
        """Send an action's output to one app user. If a quiz question, or anything before it, cannot go
        out, the core hears of it (the round stops holding the chat) and the user gets what it says."""
        for i, out in enumerate(outs):
            if isinstance(out, Message):
                doc = out.doc
            elif isinstance(out, QuizPoll):
                doc = quiz_doc(out)
            elif isinstance(out, Document):
                doc = Doc().add(out.caption + "\n（文件请在 Telegram 中导出。）")
            elif isinstance(out, Documents):  # not made at all: the app cannot send files here
                doc = Doc().add(f"📦 {out.title}：文件请在 Telegram 中导出。")
            elif isinstance(out, Photo):  # a chart: uploaded, then an image message; the text went before
                await self._image(user_id, out.png, out.filename, "reply")
                continue
            elif isinstance(out, Later):  # charts drawn after the text went: each uploaded and sent
                for made in await out.make():
                    if isinstance(made, Photo):
                        await self._image(user_id, made.png, made.filename, "reply")
                continue
            else:
                continue
            try:
                await self.app.send_markdown(user_id, to_markdown(doc))
                if self.metrics is not None:
                    self.metrics.count_send("wecom", "reply")
            except (WeComError, httpx.HTTPError) as exc:
                logger.warning("reply to a WeCom user failed: %s", type(exc).__name__)
                if self.metrics is not None:
                    mapped = _map_error(exc) if isinstance(exc, WeComError) else TemporaryError()
                    self.metrics.count_send("wecom", "reply", mapped)
                poll = next((o for o in outs[i:] if isinstance(o, QuizPoll)), None)
                if poll is not None and actions is not None:
                    permanent = isinstance(exc, WeComError) and isinstance(_map_error(exc), PermanentError)
                    notice = actions.poll_failed(poll.session_id, permanent=permanent)
                    await self.send_outs(user_id, [o for o in notice if isinstance(o, Message)])
                return


class WeComCallback:
    """The /wecom/callback endpoint: URL verification and encrypted messages.

    Every refusal (bad signature, wrong corp id, a timestamp more than 5 minutes from now, malformed
    XML) is answered before anything is stored or sent. An accepted text message is answered at once
    with "success" and handled in a task; one user's messages are handled in the order they came, so
    quiz answers and their replies never overtake each other.
    """

    def __init__(
        self,
        config: Config,
        storage: Storage,
        actions: Callable[[], Awaitable[Actions]],
        client: httpx.AsyncClient,
        clock: Callable[[], datetime],
        sender: WeComAppSender | None = None,
        faults: Faults | None = None,
        metrics: Metrics | None = None,
    ):
        self.faults = faults or Faults()
        self.metrics = metrics
        self.crypto = WeComCrypto(config.wecom_token.get(), config.wecom_aes_key.get(), config.wecom_corp_id)
        self.agent_id = str(config.wecom_agent_id)
        self.storage = storage
        self.actions = actions
        self.clock = clock
        self.sender = sender or WeComAppSender(config, client)
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.tasks: set[asyncio.Task] = set()
        self._user_locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def __call__(self, request: web.Request) -> web.Response:
        """Answer WeCom: the echo for GET, "success" for an accepted POST; errors change nothing."""
        from aiohttp import web  # loaded already: the HTTP server runs on it

        arrived = time.perf_counter()
        q = callback_query(request)
        body = await request.read()
        now = self.clock().timestamp()
        try:
            if request.method == "GET":
                echo = self.crypto.verify_url(
                    q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""), q.get("echostr", ""),
                    now=now,
                )  # fmt: skip
                return web.Response(text=echo)
            inner = self.crypto.decrypt_message(
                body, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""), now
            )
            message = parse_message(inner)
        except (InvalidSignature, InvalidCorpId) as exc:
            logger.warning("WeCom callback refused: %s", type(exc).__name__)
            return web.Response(status=403, text="forbidden\n")
        except ExpiredTimestamp:
            logger.warning("WeCom callback refused: timestamp outside 5 minutes (replay?)")
            return web.Response(status=403, text="expired\n")
        except WeComCryptoError as exc:
            logger.warning("WeCom callback refused: %s", type(exc).__name__)
            return web.Response(status=400, text="bad request\n")
        agent = message.get("AgentID")
        if agent and agent != self.agent_id:
            # Signed with our token and key but meant for another app of the corp: not ours to answer.
            logger.warning("WeCom callback for another agent ignored")
            return web.Response(text="success")
        msg_id = message.get("MsgId")
        if msg_id:
            if msg_id in self.seen:
                return web.Response(text="success")  # WeCom retries a message it thinks was lost
            self.seen[msg_id] = None
            while len(self.seen) > SEEN_MSG_IDS:
                self.seen.popitem(last=False)
        user_id = message.get("FromUserName")
        text = None
        if message.get("MsgType") == "text":
            text = message.get("Content", "")
        elif message.get("MsgType") == "event" and message.get("Event") == "subscribe":
            text = "/start"  # the user joined the app: welcome them
        if user_id and text is not None:
            task = asyncio.create_task(self._handle(user_id, text, arrived))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return web.Response(text="success")

    async def _handle(self, user_id: str, text: str, arrived: float | None = None) -> None:
        """Run the command and reply through message/send, after the user's earlier messages."""
        lock, users = self._user_locks.get(user_id, (asyncio.Lock(), 0))
        self._user_locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                actions = await self.actions()
                key = f"wecom:{user_id}"
                ctx = Ctx(key, "wecom", "private", key, user_id, self.clock())
                try:
                    outs = await actions.text(ctx, text)
                except Exception as exc:  # the user hears what it was (a full disk plainly); the core logs
                    outs = [Message(Doc().add(self.faults.reply(exc, "WeCom app message")))]
                await self.sender.send_outs(user_id, outs, actions)
                if self.metrics is not None and arrived is not None:
                    self.metrics.latency.labels("wecom").observe(time.perf_counter() - arrived)
        except Exception:
            logger.exception("WeCom message handling failed")
        finally:
            lock, users = self._user_locks[user_id]
            if users <= 1:
                del self._user_locks[user_id]
            else:
                self._user_locks[user_id] = (lock, users - 1)

    async def aclose(self, timeout: float = DRAIN_SECONDS) -> None:
        """Let messages being handled finish (up to `timeout` s), then cancel the rest."""
        if not self.tasks:
            return
        done, pending = await asyncio.wait(set(self.tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            logger.warning("%d WeCom messages were still being handled at shutdown", len(pending))
