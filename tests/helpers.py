"""Small helpers shared by the tests: clocks the tests move, and readers of Bot API calls."""

from __future__ import annotations

import asyncio
import heapq
import itertools
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


class VirtualClock:
    """A monotonic clock and its sleep on virtual time, for code that also does real I/O (HTTP to a
    stand-in): time moves on to the earliest sleeper's wake-up only while nothing is `busy` (no request in
    flight), so an outage of minutes and its backoffs pass in a second and no request sees time jump."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        #: Requests in flight; whoever makes them counts them here.
        self.busy = 0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has moved on by `seconds`."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        waiter = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), waiter))
        await waiter

    async def drive(self, coro, on_advance=None):
        """Run `coro` to its end, moving time whenever all it waits for is time; `on_advance(now)` is
        called each time the clock moves (to change the world at a virtual instant)."""
        task = asyncio.ensure_future(coro)
        while not task.done():
            for _ in range(5):
                await asyncio.sleep(0)  # whatever is ready runs first
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # cancelled
            if self.busy or not self._sleepers or task.done():
                await asyncio.sleep(0.001)  # real I/O under way
                continue
            when, _, waiter = heapq.heappop(self._sleepers)
            self.now = max(self.now, when)
            if on_advance is not None:
                on_advance(self.now)
            waiter.set_result(None)
        return task.result()
