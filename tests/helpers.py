"""Small helpers shared by the tests: clocks the tests move, and readers of Bot API calls."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta


class Clock:
    """A wall clock (aware datetimes) that the test moves; pass it where the code takes `clock`."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        """Move the clock forward (timedelta keywords)."""
        self.now += timedelta(**kwargs)


class FakeTime:
    """A monotonic clock and an async sleep that advances it: pacing and waits without wall-clock time."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Record the sleep and move the clock by it."""
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def sent_to(call, chat: int) -> bool:
    """Whether a Bot API call is a message the bot sent (or edited) in the chat."""
    sending = call.method.startswith(("send", "edit"))
    return sending and call.ok and str(call.params.get("chat_id")) == str(chat)


def buttons(call) -> list[str]:
    """The callback data of a message's inline buttons."""
    markup = call.params.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def _seed_days() -> int:
    from content import load_model

    return len(load_model().lessons)


#: Days in the bundled speech's study plan.
SEED_DAYS = _seed_days()
