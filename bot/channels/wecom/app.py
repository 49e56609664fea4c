"""The WeCom self-built app client on httpx: `WeComApp` and its cached access token.

It sends text/markdown to users through ``/cgi-bin/message/send``; the token is refreshed once when WeCom
answers 40014 (invalid) or 42001 (expired).
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
