"""Async WeCom (企业微信) clients on httpx: the self-built app's message API and group-robot webhooks.

- :class:`WeComApp` sends text/markdown to users through ``/cgi-bin/message/send`` with a cached
  access token, refreshed once when WeCom answers 40014 (invalid) or 42001 (expired).
- :class:`WeComRobot` posts to a group robot webhook, paced to at most 20 messages in any sliding
  60 s window (WeCom's per-robot limit), waiting and retrying on 45009.
- :func:`split_utf8` cuts long text at sentence ends into chunks that fit WeCom's byte limits.

Secrets (corp secret, access token, webhook key) never reach logs or exception messages: errors name
a robot as ``robot …a1b2`` and every errmsg is scrubbed of the values this client knows. httpx itself
logs request URLs (with ``key=`` / ``access_token=``) at INFO, so a redacting filter is installed on
the ``httpx`` logger when this module is imported.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

import httpx

logger = logging.getLogger(__name__)

#: WeCom byte limits (UTF-8) on message content.
ROBOT_MARKDOWN_MAX_BYTES = 4096
ROBOT_TEXT_MAX_BYTES = 2048
#: The app message API allows 2048 bytes for both text and markdown (text beyond is truncated by WeCom).
APP_TEXT_MAX_BYTES = 2048
APP_MARKDOWN_MAX_BYTES = 2048

#: errcodes WeCom uses for a bad access token: 40014 invalid, 42001 expired.
TOKEN_ERRCODES = frozenset({40014, 42001})
#: errcode for "api freq out of limit".
RATE_LIMIT_ERRCODE = 45009

ROBOT_MAX_PER_WINDOW = 20
ROBOT_WINDOW_SECONDS = 60.0

Sleep = Callable[[float], Awaitable[Any]]
Clock = Callable[[], float]

# --- secret redaction in httpx's own request logs --------------------------------------------------

_SECRET_PARAM_RE = re.compile(r"(?i)\b(key|access_token|corpsecret)=[^&\s\"'<>]+")


def redact_secrets(text: str) -> str:
    """Replace the values of key=, access_token= and corpsecret= query parameters with ***."""
    return _SECRET_PARAM_RE.sub(lambda m: m.group(1) + "=***", text)


class _RedactingFilter(logging.Filter):
    """Logging filter that strips secret query parameters from a record's rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redact it, and keep the record."""
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix; let logging report it
            return True
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def _install_httpx_redaction() -> None:
    """Attach the redacting filter to the httpx logger once (it logs each request URL at INFO)."""
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactingFilter) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactingFilter())


_install_httpx_redaction()


# --- errors ----------------------------------------------------------------------------------------


class WeComError(Exception):
    """A WeCom API call failed: ``errcode`` (-1 for transport/HTTP failures) and a secret-free errmsg."""

    def __init__(self, errcode: int, errmsg: str, where: str = "") -> None:
        """Keep the code, the (already scrubbed) message and where the call went (e.g. ``robot …a1b2``)."""
        self.errcode = errcode
        self.errmsg = errmsg
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}WeCom error {errcode}: {errmsg}")


def _scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Remove known secret values and secret query parameters from text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return redact_secrets(text)


async def _post_or_get(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    json: Any = None,
    where: str,
    secrets: Iterable[str | None],
) -> dict[str, Any]:
    """Make one call and return the JSON object; turn transport/HTTP/JSON failures into WeComError."""
    secrets = tuple(secrets)
    try:
        response = await client.request(method, url, params=params, json=json)
    except httpx.HTTPError as exc:
        # httpx messages can carry the URL (and so the key/token); rebuild a scrubbed one, no chain.
        raise WeComError(-1, _scrub(f"{type(exc).__name__}: {exc}", secrets), where) from None
    if response.status_code != 200:
        raise WeComError(-1, f"HTTP {response.status_code}", where)
    try:
        data = response.json()
    except ValueError:
        raise WeComError(-1, "response is not JSON", where) from None
    if not isinstance(data, dict):
        raise WeComError(-1, "response is not a JSON object", where)
    return data


def _errcode(data: dict[str, Any]) -> int:
    """Return the errcode of a WeCom answer (0 when absent, -1 when not a number)."""
    try:
        return int(data.get("errcode", 0) or 0)
    except (TypeError, ValueError):
        return -1


# --- text helpers ----------------------------------------------------------------------------------

#: Sentence terminators WeCom messages are split after.
SENTENCE_ENDS = "。！？；\n"
#: Clause marks used when a single sentence is too long on its own.
CLAUSE_ENDS = "，、：,;:"
#: Closing quotes/brackets that belong to the sentence they close (。” stays together).
_CLOSERS = "”’」』）)》〉】\"'"


def _segments(text: str, ends: str) -> list[str]:
    """Cut text after each character in ends (plus any closing quotes that follow); keeps every char."""
    pieces: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        if text[i] in ends:
            i += 1
            while i < n and text[i] in _CLOSERS:
                i += 1
            pieces.append(text[start:i])
            start = i
        else:
            i += 1
    if start < n:
        pieces.append(text[start:])
    return pieces


def _hard_split(text: str, max_bytes: int) -> list[str]:
    """Split at character boundaries into pieces of at most max_bytes UTF-8 bytes."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > max_bytes and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        pieces.append("".join(current))
    return pieces


def _pack(pieces: Iterable[str], max_bytes: int) -> list[str]:
    """Greedily join consecutive pieces (each ≤ max_bytes) into chunks of at most max_bytes."""
    chunks: list[str] = []
    current = ""
    size = 0
    for piece in pieces:
        width = len(piece.encode("utf-8"))
        if size + width > max_bytes and current:
            chunks.append(current)
            current, size = "", 0
        current += piece
        size += width
    if current:
        chunks.append(current)
    return chunks


def split_utf8(text: str, max_bytes: int) -> list[str]:
    """Split text into chunks of ≤ max_bytes UTF-8 bytes at sentence ends; ''.join(result) == text."""
    if max_bytes < 4:  # one code point can take 4 bytes
        raise ValueError("max_bytes must be at least 4")
    if not text:
        return []
    if len(text.encode("utf-8")) <= max_bytes:
        return [text]
    pieces: list[str] = []
    for sentence in _segments(text, SENTENCE_ENDS):
        if len(sentence.encode("utf-8")) <= max_bytes:
            pieces.append(sentence)
            continue
        # One over-long sentence: try its clauses, and only then cut between characters.
        for clause in _segments(sentence, CLAUSE_ENDS):
            if len(clause.encode("utf-8")) <= max_bytes:
                pieces.append(clause)
            else:
                pieces.extend(_hard_split(clause, max_bytes))
    return _pack(pieces, max_bytes)


# --- self-built app ------------------------------------------------------------------------------


class WeComApp:
    """Client for a WeCom self-built app: access token cache and message/send to users."""

    #: Refresh this long before WeCom says the token expires (capped at a fifth of its lifetime).
    TOKEN_MARGIN_SECONDS = 300.0

    def __init__(
        self,
        api_url: str,
        corp_id: str,
        agent_id: int | str,
        secret: str,
        client: httpx.AsyncClient,
        clock: Clock = time.time,
    ) -> None:
        """Remember the app's identity; no call is made until the first send."""
        self.api_url = api_url.rstrip("/")
        self.corp_id = corp_id
        self.agent_id = int(agent_id)
        self._secret = secret
        self._client = client
        self._clock = clock
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        """Show the corp and agent only: secret and token stay out of reprs."""
        return f"WeComApp(corp_id={self.corp_id!r}, agent_id={self.agent_id})"

    def _secrets(self) -> tuple[str | None, ...]:
        """Values that must never appear in an error message."""
        return (self._secret, self._token)

    async def get_token(self) -> str:
        """Return a valid access token, fetching a new one only when the cached one is (nearly) expired."""
        async with self._token_lock:
            if self._token and self._clock() < self._token_expires_at:
                return self._token
            data = await _post_or_get(
                self._client,
                "GET",
                f"{self.api_url}/cgi-bin/gettoken",
                params={"corpid": self.corp_id, "corpsecret": self._secret},
                where="wecom gettoken",
                secrets=self._secrets(),
            )
            code = _errcode(data)
            token = data.get("access_token")
            if code != 0 or not isinstance(token, str) or not token:
                msg = _scrub(str(data.get("errmsg", "no access_token")), self._secrets())
                raise WeComError(code or -1, msg, "wecom gettoken")
            try:
                expires_in = float(data.get("expires_in", 7200))
            except (TypeError, ValueError):
                expires_in = 7200.0
            margin = min(self.TOKEN_MARGIN_SECONDS, expires_in / 5)
            self._token = token
            self._token_expires_at = self._clock() + max(0.0, expires_in - margin)
            logger.info("WeCom access token refreshed (valid %.0f s)", expires_in)
            return token

    async def _invalidate(self, token: str) -> None:
        """Forget token, unless another task already replaced it with a fresh one."""
        async with self._token_lock:
            if self._token == token:
                self._token = None
                self._token_expires_at = 0.0

    async def _send(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST one message; on a bad-token errcode refresh the token once and retry."""
        for attempt in (1, 2):
            token = await self.get_token()
            data = await _post_or_get(
                self._client,
                "POST",
                f"{self.api_url}/cgi-bin/message/send",
                params={"access_token": token},
                json=payload,
                where="wecom message/send",
                secrets=self._secrets(),
            )
            code = _errcode(data)
            if code == 0:
                if data.get("invaliduser"):
                    logger.warning("WeCom message/send: recipient not reachable by this app")
                return data
            if code in TOKEN_ERRCODES and attempt == 1:
                logger.info("WeCom access token refused (errcode %s); refreshing once", code)
                await self._invalidate(token)
                continue
            raise WeComError(code, _scrub(str(data.get("errmsg", "")), self._secrets()), "wecom message/send")
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_chunks(self, user_id: str, msgtype: str, content: str, max_bytes: int) -> list[str]:
        """Send content to one user as one or more messages of msgtype; return WeCom's msgids."""
        # touser takes 'a|b' lists and '@all'; a stray id must never become a broadcast.
        if not user_id or "|" in user_id or user_id.strip() == "@all":
            raise ValueError("user_id must be a single WeCom user id")
        msgids: list[str] = []
        for chunk in split_utf8(content, max_bytes):
            data = await self._send(
                {"touser": user_id, "msgtype": msgtype, "agentid": self.agent_id, msgtype: {"content": chunk}}
            )
            msgids.append(str(data.get("msgid", "")))
        return msgids

    async def send_text(self, user_id: str, content: str) -> list[str]:
        """Send a text message (split at sentence ends into ≤ 2048-byte parts); return the msgids."""
        return await self._send_chunks(user_id, "text", content, APP_TEXT_MAX_BYTES)

    async def send_markdown(self, user_id: str, content: str) -> list[str]:
        """Send a markdown message (split into ≤ 2048-byte parts); return the msgids."""
        return await self._send_chunks(user_id, "markdown", content, APP_MARKDOWN_MAX_BYTES)


# --- group robot -------------------------------------------------------------------------------------


def webhook_key(webhook_url: str) -> str:
    """Return the key= parameter of a robot webhook URL; ValueError (without the URL) if missing."""
    keys = parse_qs(urlsplit(webhook_url).query).get("key", [])
    if len(keys) != 1 or not keys[0].strip():
        raise ValueError("WeCom webhook URL must have exactly one non-empty key= parameter")
    return keys[0]


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
        parts = urlsplit(self._url)
        # Rebuild the query from parsed pairs so an oddly encoded key cannot slip through a replace().
        query = "&".join(
            f"{name}=…{value[-4:]}" if name == "key" else f"{name}={value}"
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        )
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))

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

    async def send_text(self, content: str) -> int:
        """Send plain text, split at sentence ends into ≤ 2048-byte messages; return how many were sent."""
        return await self._send_chunks("text", content, ROBOT_TEXT_MAX_BYTES)
