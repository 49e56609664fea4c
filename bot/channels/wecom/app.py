"""The WeCom self-built app client on httpx: `WeComApp` and its cached access token.

It sends text/markdown to users through ``/cgi-bin/message/send``, and pictures as WeCom takes them: the
PNG uploaded as a temporary image (``/cgi-bin/media/upload?type=image``, multipart), then an image message
naming its media_id. The token is refreshed once when WeCom answers 40014 (invalid) or 42001 (expired).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx

from bot.channels.wecom.calls import TOKEN_ERRCODES, Clock, WeComError, _errcode, _post_or_get, _scrub
from bot.channels.wecom.text import APP_MARKDOWN_MAX_BYTES, APP_TEXT_MAX_BYTES, split_utf8

logger = logging.getLogger(__name__)

#: A temporary image (media/upload?type=image): JPG or PNG, more than 5 bytes, at most 10 MB.
IMAGE_MIN_BYTES = 5
IMAGE_MAX_BYTES = 10 * 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def _check_user(user_id: str) -> None:
    """touser takes 'a|b' lists and '@all'; a stray id must never become a broadcast."""
    if not user_id or "|" in user_id or user_id.strip() == "@all":
        raise ValueError("user_id must be a single WeCom user id")


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
        #: Why the last gettoken failed (errcode and message, secret-free); None once one works.
        self.token_error: str | None = None

    def token_health(self) -> tuple[bool, str]:
        """/healthz: whether the app holds a fresh access token (no call is made)."""
        if self.token_error is not None:
            return False, f"gettoken failed: {self.token_error}"
        if self._token is None:
            return True, "no access token needed yet"
        if self._clock() >= self._token_expires_at:
            return True, "access token due for renewal"
        return True, "access token fresh"

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
            try:
                data = await _post_or_get(
                    self._client,
                    "GET",
                    f"{self.api_url}/cgi-bin/gettoken",
                    params={"corpid": self.corp_id, "corpsecret": self._secret},
                    where="wecom gettoken",
                    secrets=self._secrets(),
                )
            except WeComError as exc:
                self.token_error = f"{exc.errcode} {exc.errmsg}"
                raise
            code = _errcode(data)
            token = data.get("access_token")
            if code != 0 or not isinstance(token, str) or not token:
                msg = _scrub(str(data.get("errmsg", "no access_token")), self._secrets())
                self.token_error = f"{code or -1} {msg}"
                raise WeComError(code or -1, msg, "wecom gettoken")
            self.token_error = None
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

    async def _call(
        self,
        path: str,
        *,
        json: Any = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST to /cgi-bin/<path>; on a bad-token errcode refresh the token once and try again."""
        where = f"wecom {path}"
        for attempt in (1, 2):
            token = await self.get_token()
            data = await _post_or_get(
                self._client,
                "POST",
                f"{self.api_url}/cgi-bin/{path}",
                params={"access_token": token, **(query or {})},
                json=json,
                files=files,
                where=where,
                secrets=self._secrets(),
            )
            code = _errcode(data)
            if code == 0:
                return data
            if code in TOKEN_ERRCODES and attempt == 1:
                logger.info("WeCom access token refused (errcode %s); refreshing once", code)
                await self._invalidate(token)
                continue
            raise WeComError(code, _scrub(str(data.get("errmsg", "")), self._secrets()), where)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST one message to message/send."""
        data = await self._call("message/send", json=payload)
        if data.get("invaliduser"):
            logger.warning("WeCom message/send: recipient not reachable by this app")
        return data

    async def upload_image(self, image: bytes, filename: str = "chart.png") -> str:
        """Upload a JPG or PNG as a temporary image (media/upload?type=image, multipart field ``media``);
        return its media_id (valid 3 days). ValueError for a file WeCom would refuse (over 10 MB, at most
        5 bytes, neither PNG nor JPG), without calling it."""
        if not IMAGE_MIN_BYTES < len(image) <= IMAGE_MAX_BYTES:
            raise ValueError(
                f"image of {len(image)} bytes: WeCom takes {IMAGE_MIN_BYTES + 1}..{IMAGE_MAX_BYTES}"
            )
        if image.startswith(PNG_MAGIC):
            content_type = "image/png"
        elif image.startswith(JPEG_MAGIC):
            content_type = "image/jpeg"
        else:
            raise ValueError("WeCom takes images as PNG or JPG only")
        data = await self._call(
            "media/upload", files={"media": (filename, image, content_type)}, query={"type": "image"}
        )
        media_id = data.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WeComError(-1, "media/upload answered without a media_id", "wecom media/upload")
        return media_id

    async def send_image(self, user_id: str, image: bytes, filename: str = "chart.png") -> str:
        """Upload a picture and send it to one user as an image message; return WeCom's msgid."""
        _check_user(user_id)
        media_id = await self.upload_image(image, filename)
        data = await self._send(
            {"touser": user_id, "msgtype": "image", "agentid": self.agent_id, "image": {"media_id": media_id}}
        )
        return str(data.get("msgid", ""))

    async def _send_chunks(self, user_id: str, msgtype: str, content: str, max_bytes: int) -> list[str]:
        """Send content to one user as one or more messages of msgtype; return WeCom's msgids."""
        _check_user(user_id)
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
