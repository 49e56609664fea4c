"""Senders that count what they send for /metrics: the daily push's and the broadcast's, per channel.

`MeteredSender` wraps a channel's `jobs.interfaces.Sender` and passes everything through unchanged. A
send of the same message to the same chat after one that failed is counted as a retry (the jobs resend
after a 429 or a network error); the failures it remembers are bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from bot.core.metrics import Metrics

#: Failed (chat, message) pairs remembered to count the resend of each as a retry.
_REMEMBERED = 10_000


class MeteredSender:
    """A `Sender` that counts sends, failures and retries under `channel` and `kind`."""

    def __init__(self, sender: Any, metrics: Metrics, channel: str, kind: str):
        self.sender = sender
        self.metrics = metrics
        self.channel = channel
        self.kind = kind
        self._failed: OrderedDict[tuple[str, int], None] = OrderedDict()

    def is_group(self, chat_key: str, chat_type: str) -> bool:
        """The wrapped sender's answer."""
        return self.sender.is_group(chat_key, chat_type)

    async def send(self, chat_key: str, message: Any) -> str | None:
        """Send through the wrapped sender, counting the outcome."""
        key = (chat_key, id(message))
        if self._failed.pop(key, 0) is None:
            self.metrics.retries.labels(self.channel, self.kind).inc()
        try:
            sent = await self.sender.send(chat_key, message)
        except Exception as exc:
            self.metrics.count_send(self.channel, self.kind, exc)
            self._failed[key] = None
            if len(self._failed) > _REMEMBERED:
                self._failed.popitem(last=False)
            raise
        self.metrics.count_send(self.channel, self.kind)
        return sent

    async def edit(self, chat_key: str, message_id: str, doc: Any) -> None:
        """Edits (progress lines) are not messages: passed through uncounted."""
        await self.sender.edit(chat_key, message_id, doc)

    def __getattr__(self, name: str) -> Any:
        # set_timing, aclose and the like reach the wrapped sender.
        return getattr(self.sender, name)


def metered(senders: dict[str, Any], metrics: Metrics, kind: str) -> dict[str, Any]:
    """The senders, each wrapped to count under its channel and `kind`."""
    return {channel: MeteredSender(sender, metrics, channel, kind) for channel, sender in senders.items()}
