"""PTB's connection for replies, counting what it sends for /metrics, and the handlers' latency timer.

Replies to updates go out through PTB (the daily push and broadcasts through `TelegramSender`, counted
by the service), so the Bot API's answers are counted here, where they arrive: each send* call by its
status (200 sent, 429 rate limited, 403 blocked, other errors permanent, no answer temporary).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.request import HTTPXRequest

from bot.core.metrics import Metrics

_REASONS = {429: "RetryLater", 403: "Blocked"}


class _Failed(Exception):
    """Stands for the error a status means, for `Metrics.count_send`'s reason."""


def _error(name: str) -> Exception:
    return type(name, (_Failed,), {})()


class MeteredRequest(HTTPXRequest):
    """PTB's HTTP client for everything but getUpdates; send* calls are counted as replies."""

    def __init__(self, metrics: Metrics | None, **kwargs: Any):
        super().__init__(**kwargs)
        self.metrics = metrics

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """The request as PTB makes it, counted when it sends a message."""
        name = url.rpartition("/")[2]
        if self.metrics is None or not name.startswith("send") or name == "sendChatAction":
            return await super().do_request(url, method, *args, **kwargs)
        try:
            code, payload = await super().do_request(url, method, *args, **kwargs)
        except Exception:
            self.metrics.count_send("tg", "reply", _error("TemporaryError"))
            raise
        if code == 200:
            self.metrics.count_send("tg", "reply")
        else:
            self.metrics.count_send("tg", "reply", _error(_REASONS.get(code, "PermanentError")))
        return code, payload


def timed(metrics: Metrics | None, handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """`handler`, its time from start to the end of its reply observed as update → reply latency."""
    if metrics is None:
        return handler
    histogram = metrics.latency.labels("tg")

    @functools.wraps(handler)
    async def run(*args: Any, **kwargs: Any) -> None:
        start = time.perf_counter()
        try:
            await handler(*args, **kwargs)
        finally:
            histogram.observe(time.perf_counter() - start)

    return run
