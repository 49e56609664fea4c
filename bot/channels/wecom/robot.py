"""The WeCom group-robot client on httpx: `WeComRobot` and its `RobotPacer`.

A robot posts to its webhook, paced to at most 20 messages in any sliding 60 s window (WeCom's per-robot
limit), waiting and retrying on 45009. Errors and logs name a robot as ``robot …a1b2``, never by its key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import logging
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

import httpx

from bot.channels.wecom.calls import (
    RATE_LIMIT_ERRCODE,
    Clock,
    Sleep,
    WeComError,
    _errcode,
    _post_or_get,
    _scrub,
)
from bot.channels.wecom.text import ROBOT_MARKDOWN_MAX_BYTES, ROBOT_TEXT_MAX_BYTES, split_utf8

# A robot's image message: JPG or PNG of at most 2 MB before base64 (WeCom's group robot API).
ROBOT_IMAGE_MAX_BYTES = 2 * 1024 * 1024

logger = logging.getLogger(__name__)

ROBOT_MAX_PER_WINDOW = 20
ROBOT_WINDOW_SECONDS = 60.0
#: Where every group robot's webhook posts (WeCom's robot settings show the whole URL, key included).
WEBHOOK_PATH = "/cgi-bin/webhook/send"


def webhook_key(webhook_url: str) -> str:
    """Return the key= parameter of a robot webhook URL; ValueError (without the URL) if missing."""
    keys = parse_qs(urlsplit(webhook_url).query).get("key", [])
    if len(keys) != 1 or not keys[0].strip():
        raise ValueError("WeCom webhook URL must have exactly one non-empty key= parameter")
    return keys[0]


def redact_webhook(webhook_url: str) -> str:
    """The webhook URL with its key shortened to ``…a1b2``, safe to log or print."""
    parts = urlsplit(webhook_url)
    # Rebuild the query from parsed pairs so an oddly encoded key cannot slip through a replace().
    query = "&".join(
        f"{name}={_masked(value) if name == 'key' else value}"
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _masked(key: str) -> str:
    """A key as `redact_webhook` shows it: its last 4 characters, none of a short one."""
    return f"…{key[-4:]}" if len(key) > 8 else "…"


def _loopback(host: str) -> bool:
    """Whether host is this machine (localhost, 127.0.0.0/8, ::1)."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_problem(webhook_url: str) -> str | None:
    """What is wrong with the form of a robot's webhook URL (checked without calling it), or None.

    It must be https (http only to this machine, a stand-in or a local proxy: the key is a password), have a
    host, post to /cgi-bin/webhook/send and carry exactly one non-empty key=."""
    example = f"https://qyapi.weixin.qq.com{WEBHOOK_PATH}?key=..."
    try:
        parts = urlsplit(webhook_url)
        host = parts.hostname
    except ValueError:
        return f"is not a URL; copy the robot's whole webhook URL, such as {example}"
    if not host:
        return f"has no host; copy the robot's whole webhook URL, such as {example}"
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(host)):
        return f"is {parts.scheme}://, so its key would travel unencrypted; use the https:// URL WeCom shows"
    if parts.path != WEBHOOK_PATH:
        return f"has the path {parts.path or '/'}, not {WEBHOOK_PATH}; copy the robot's whole webhook URL"
    try:
        webhook_key(webhook_url)
    except ValueError:
        return f"needs exactly one non-empty key=; copy the robot's whole webhook URL, such as {example}"
    return None


def robot_label(key: str) -> str:
    """Name a robot for logs by the last 4 characters of its key: ``robot …a1b2``."""
    return f"robot …{key[-4:]}"


def robot_id(key: str) -> str:
    """Stable non-secret id of a robot: the first 12 hex chars of sha256(key)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


class RobotPacer:
    """Sliding-window pacer: at most ``limit`` sends in any ``window`` seconds, for one robot."""

    def __init__(
        self,
        sleep: Sleep,
        clock: Clock,
        limit: int = ROBOT_MAX_PER_WINDOW,
        window: float = ROBOT_WINDOW_SECONDS,
    ) -> None:
        """Use the injected sleep and clock so tests can run without wall-clock time."""
        self._sleep = sleep
        self._clock = clock
        self.limit = limit
        self.window = window
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    def _prune(self, now: float) -> None:
        """Drop send times that have left the window."""
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()

    def until_free(self) -> float:
        """Seconds until the oldest send in the window leaves it (0 if the window is not full)."""
        now = self._clock()
        self._prune(now)
        if len(self._sent) < self.limit:
            return 0.0
        return max(0.0, self._sent[0] + self.window - now)

    async def acquire(self) -> None:
        """Wait until one more send fits in the window, then record it."""
        async with self._lock:
            while True:
                wait = self.until_free()
                if wait <= 0:
                    break
                logger.debug("robot pacer full; waiting %.1f s", wait)
                await self._sleep(wait)
            self._sent.append(self._clock())


class WeComRobot:
    """Client for one WeCom group robot webhook, paced to 20 messages a minute."""

    #: First wait after a 45009; doubled on each further one, capped at the window.
    RATE_LIMIT_MIN_WAIT = 5.0
    #: How many times a 45009 is retried before giving up (5+10+20+40+60 s covers two windows).
    RATE_LIMIT_MAX_RETRIES = 5

    def __init__(
        self,
        webhook_url: str,
        client: httpx.AsyncClient,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        """Parse the key out of the webhook URL; ValueError (not echoing the URL) if there is none."""
        self._key = webhook_key(webhook_url)
        self._url = webhook_url
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self.pacer = RobotPacer(sleep, clock)
        # One message's chunks go out together, in order, even when several tasks use this robot.
        self._send_lock = asyncio.Lock()

    @property
    def robot_id(self) -> str:
        """Stable non-secret id (sha256 of the key, 12 hex chars), for storage and delivery records."""
        return robot_id(self._key)

    @property
    def label(self) -> str:
        """Human name for logs and errors: ``robot …a1b2``."""
        return robot_label(self._key)

    @property
    def redacted_url(self) -> str:
        """The webhook URL with its key shortened to ``…a1b2``, safe to log."""
        return redact_webhook(self._url)

    def __repr__(self) -> str:
        """Never show the key."""
        return f"WeComRobot({self.label})"

    __str__ = __repr__

    async def _post(self, payload: dict[str, Any]) -> None:
        """Send one message, pacing it and retrying a bounded number of times on 45009."""
        for attempt in range(self.RATE_LIMIT_MAX_RETRIES + 1):
            await self.pacer.acquire()
            data = await _post_or_get(
                self._client, "POST", self._url, json=payload, where=self.label, secrets=(self._key,)
            )
            code = _errcode(data)
            if code == 0:
                return
            errmsg = _scrub(str(data.get("errmsg", "")), (self._key,))
            if code != RATE_LIMIT_ERRCODE or attempt == self.RATE_LIMIT_MAX_RETRIES:
                raise WeComError(code, errmsg, self.label)
            # WeCom counted more than we did (another process on the same robot, or clock drift), so
            # our own log cannot say when its window frees: back off 5, 10, 20, 40, 60 s (135 s in all,
            # over two windows). The pacer still holds our own sends to 20 per window on the retry.
            wait = min(ROBOT_WINDOW_SECONDS, self.RATE_LIMIT_MIN_WAIT * 2**attempt)
            logger.warning("%s rate-limited by WeCom (45009); retrying in %.0f s", self.label, wait)
            await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_chunks(self, msgtype: str, content: str, max_bytes: int) -> int:
        """Send content as one or more messages of msgtype, in order; return how many were sent."""
        chunks = split_utf8(content, max_bytes)
        async with self._send_lock:
            for chunk in chunks:
                await self._post({"msgtype": msgtype, msgtype: {"content": chunk}})
        return len(chunks)

    async def send_markdown(self, content: str) -> int:
        """Send markdown, split at sentence ends into ≤ 4096-byte messages; return how many were sent."""
        return await self._send_chunks("markdown", content, ROBOT_MARKDOWN_MAX_BYTES)

    async def send_image(self, png: bytes) -> None:
        """Send a picture (JPG or PNG, at most 2 MB): msgtype image with its base64 and its md5."""
        if len(png) > ROBOT_IMAGE_MAX_BYTES:
            raise ValueError(f"image of {len(png)} bytes is over WeCom's {ROBOT_IMAGE_MAX_BYTES}")
        image = {"base64": base64.b64encode(png).decode("ascii"), "md5": hashlib.md5(png).hexdigest()}  # noqa: S324 - WeCom asks for md5
        async with self._send_lock:
            await self._post({"msgtype": "image", "image": image})

    async def send_text(self, content: str) -> int:
        """Send plain text, split at sentence ends into ≤ 2048-byte messages; return how many were sent."""
        return await self._send_chunks("text", content, ROBOT_TEXT_MAX_BYTES)
