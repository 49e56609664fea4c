"""The Telegram fan-out sender: `TelegramSender` posts Bot API JSON over aiohttp and maps its errors.

Broadcasts and the daily push go through it (`jobs.interfaces.Sender`); replies to updates go through
`TelegramChannel` and PTB instead.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any

from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.channels.telegram.channel import TelegramChannel
from bot.core.actions import Message
from bot.core.render import Doc, split_doc, to_html

logger = logging.getLogger(__name__)

# Rendered messages a TelegramSender keeps (one per lesson of the plan and then some).
_RENDERED = 64


class TelegramSender:
    """`jobs.interfaces.Sender` for Telegram chats: no retries of its own, errors mapped for the caller."""

    def __init__(self, channel: TelegramChannel, connections: int = 64):
        self.channel = channel
        self.connections = connections
        self._base = f"{channel.config.telegram_api_url}{channel.config.telegram_token.get()}"
        self._session = None  # an aiohttp.ClientSession, made on first use inside the event loop
        self._rendered: OrderedDict[int, tuple[Message, list[str]]] = OrderedDict()

    def is_group(self, chat_key: str, chat_type: str) -> bool:
        """Groups and supergroups (negative ids) have the 20-a-minute limit."""
        return chat_type in ("group", "supergroup") or chat_key.startswith("tg:-")

    async def send(self, chat_key: str, message: Message) -> str | None:
        """Send a message (split to fit); return the id of its last part.

        A daily lesson's id is recorded with its delivery (`Storage.complete_delivery`), which is where a
        reply to it is looked up, so nothing is written here."""
        chat_id = int(chat_key.split(":", 1)[1])
        sent_id = None
        for part in self._parts(message):
            sent_id = await self._post("sendMessage", f'{{"chat_id":{chat_id},{part}'.encode())
        if getattr(message, "image", None):
            await self._photo(chat_id, message.image)
        return None if sent_id is None else str(sent_id)

    async def _photo(self, chat_id: int, png: bytes) -> None:
        """The message's chart (the weekly summary's) by sendPhoto through PTB, after its text; the text
        went out, so a photo that fails is logged, never sent again with the text."""
        from telegram import InputFile
        from telegram.error import TelegramError

        try:
            await self.channel.app.bot.send_photo(chat_id, InputFile(png, filename="chart.png"))
        except TelegramError as exc:
            logger.warning("chart to tg:%s not sent: %s", chat_id, type(exc).__name__)

    def _parts(self, message: Message) -> list[str]:
        """The message's parts as JSON bodies without their opening brace and chat_id.

        Rendered once per message: a broadcast sends the same one to every chat, a daily push one per
        lesson of the day."""
        cached = self._rendered.get(id(message))
        if cached is not None and cached[0] is message:
            self._rendered.move_to_end(id(message))
            return cached[1]
        chunks = split_doc(message.doc)
        parts = []
        for i, chunk in enumerate(chunks):
            payload: dict[str, Any] = {
                "text": to_html(chunk),
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
            }
            if message.buttons and i == len(chunks) - 1:
                payload["reply_markup"] = {
                    "inline_keyboard": [
                        [{"text": b.text, "callback_data": b.data} for b in row] for row in message.buttons
                    ]
                }
            parts.append(json.dumps(payload, ensure_ascii=False, separators=(",", ":"))[1:])
        # The message is kept with its parts, so its id cannot be reused while it is cached.
        self._rendered[id(message)] = (message, parts)
        if len(self._rendered) > _RENDERED:
            self._rendered.popitem(last=False)
        return parts

    async def _post(self, method: str, body: bytes) -> int | None:
        """One Bot API call as plain JSON over aiohttp; errors mapped for the caller.

        The fan-out sends thousands of messages and reads nothing of PTB's Message objects, and httpx
        costs ~1.6 ms of CPU a request where aiohttp costs well under half of that: going around both is
        what lets one core keep up with a four-figure rate (measured in benchmarks/bench_delivery.py).
        """
        import aiohttp  # loaded already where the HTTP server (aiohttp.web) runs

        from jobs.interfaces import Blocked, Migrated, PermanentError, RetryLater, TemporaryError

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                timeout=aiohttp.ClientTimeout(total=20, connect=5),
                headers={"Content-Type": "application/json"},
            )
        try:
            async with self._session.post(f"{self._base}/{method}", data=body) as response:
                status = response.status
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TemporaryError(type(exc).__name__) from None  # the URL holds the token: name only
        if not isinstance(data, dict):
            raise TemporaryError(f"HTTP {status}")
        if data.get("ok"):
            return data["result"].get("message_id")
        code = data.get("error_code")
        parameters = data.get("parameters") or {}
        description = str(data.get("description", ""))
        if code == 429:
            raise RetryLater(float(parameters.get("retry_after", 1)))
        if code == 403:
            raise Blocked(description)
        if parameters.get("migrate_to_chat_id"):
            raise Migrated(f"tg:{parameters['migrate_to_chat_id']}")
        if code is not None and 400 <= code < 500:
            raise PermanentError(description)
        raise TemporaryError(description or f"HTTP {status}")

    async def aclose(self) -> None:
        """Close the fan-out connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def edit(self, chat_key: str, message_id: str, doc: Doc) -> None:
        """Edit a progress message."""
        chat_id = int(chat_key.split(":", 1)[1])
        try:
            await self.channel.app.bot.edit_message_text(
                to_html(doc), chat_id=chat_id, message_id=int(message_id), parse_mode=ParseMode.HTML
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
