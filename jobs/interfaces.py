"""The one interface scheduled work sends through: a `Sender` per channel and what can go wrong.

Each channel (Telegram, WeCom robots, the WeCom app) implements `Sender`; the daily push and the
broadcast fan-out only know this interface, so they are tested against real HTTP stand-ins and run the
same for every channel.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.actions import Message
from bot.core.render import Doc


class Blocked(Exception):
    """The chat blocked or removed the bot (403): stop sending to it."""


class Migrated(Exception):
    """The group became a supergroup with a new chat key: move it and send there."""

    def __init__(self, new_key: str):
        super().__init__(new_key)
        self.new_key = new_key


class RetryLater(Exception):
    """Rate limited (429 or WeCom 45009): wait `seconds`, then resend."""

    def __init__(self, seconds: float):
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class TemporaryError(Exception):
    """A network error or a server error: worth retrying with backoff."""


class PermanentError(Exception):
    """The platform refused the message for good (e.g. a bad request): count it as failed."""


class Sender(Protocol):
    """Sends to the chats of one channel."""

    def is_group(self, chat_key: str, chat_type: str) -> bool:
        """Whether the per-group limit (20 a minute) applies to this chat."""
        ...

    async def send(self, chat_key: str, message: Message) -> str | None:
        """Send one message (split as the channel needs); return its id, raise the exceptions above."""
        ...

    async def edit(self, chat_key: str, message_id: str, doc: Doc) -> None:
        """Replace the text of a message sent earlier (progress reports); may do nothing."""
        ...
