"""Send pacing for broadcasts: evenly spaced global slots plus a sliding per-group window.

Why not a token bucket: a bucket that lets a full second's worth through at once, with the sends run
concurrently, makes Telegram answer 429 to a large share of them at a strict rate (see the SPEC's
"Delivery guarantees"), and each 429 stalls the whole fan-out. Spacing the starts evenly, one every
``1/rate`` seconds, draws none.

How the :class:`Pacer` works:

* A virtual schedule: ``slot = max(now, next_slot)``, ``next_slot = slot + interval``. Each waiter
  reserves its own slot synchronously and sleeps until it, so a thousand concurrent waiters are woken
  one at a time, ``interval`` apart, with no thundering herd.
* ``interval`` is ``(1 + margin)/rate`` plus a microsecond, so float rounding can never squeeze
  ``rate + 1`` starts into a closed one-second window. ``margin`` (50 ms on the real clock) is for the way
  to the platform: a send reaches it a little later than it started (event-loop lag, a database commit,
  the network), and not always by the same amount, so starts spaced exactly ``1/rate`` apart still arrive
  ``rate + 1`` in some second of a strict limiter (measured against the Bot API stand-in: 15 answers of
  429 in 500 sends at 25/s, each pausing everything for a second).
* Wake-ups come late: the event loop sleeps in whole milliseconds (epoll) and is busy with other sends,
  so at 1,000/s most wake-ups miss their 1 ms slot by a fraction of it. The schedule does not move with
  them (a late start does not push the next slot back), or every late wake-up would be throughput lost
  for good (measured: 0.86 of the rate). Instead what guards the platform's limit is a window on the
  actual starts: any ``K + 1`` consecutive starts (``K`` = the rate, rounded down) span at least
  ``K × interval`` (= ``1 + margin`` seconds for a whole rate), and no two starts are closer than a
  quarter ``interval``, so overdue slots catch up quickly but never as a burst, and never more than the
  rate in any window of ``1 + margin`` seconds.
* Groups (and WeCom robots) may get at most ``per_chat_per_minute`` starts in any 60 s window. A waiter
  first sleeps until its chat's window has room and only then reserves a global slot, so a throttled
  group never holds a slot that private chats could use. The window holds the reserved slot until the
  send starts, then its actual start (later, if the wake-up was late).
* :meth:`Pacer.pause` (on 429 ``retry_after``) voids every slot not yet started; their holders queue
  again, in their old order, from the end of the pause. A pause of one chat only holds that chat back.

Sends to one chat that must stay in order should be awaited one after another; concurrent waiters for the
same chat are not ordered among themselves.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from contextlib import asynccontextmanager

logger = logging.getLogger(__name__)

__all__ = ["Pacer", "SlidingWindowCounter", "in_flight", "max_in_window"]


def in_flight(rate: float) -> int:
    """How many sends to keep in flight at `rate` per second.

    Enough to hide 300 ms of latency (a server far from Telegram's) at the rates a bot is allowed
    (about 30/s): rate × 0.3, plus 2. No more than 52, which hides 50 ms at 1,000/s: measured against the
    strict Bot API stand-in at 1,000/s with 20 ms latency, 8 in flight sent 310/s and 32 sent 920/s, 52
    reached the pacer's ceiling with the busiest second at 982 of 1,000; 64 brought that to 994 and 100
    provoked 429s (more sends waiting for slots bunch more after a stall). A larger pool costs nothing
    at low rates: the extra sends wait for their slots.
    """
    return max(4, min(52, math.ceil(rate * 0.3) + 2))


# Added to every spacing so accumulated float error never lets one more start into a window; at 100/s it
# costs 0.01 % of throughput.
_SPACING_MARGIN = 1e-6
# Seconds added to each one-second window on the real clock, for the jitter between a send's start and its
# arrival (see the module docstring); a virtual clock (tests) has none, so there it defaults to 0.
DEFAULT_MARGIN = 0.05
# How early a wake-up may be and still count as on time. asyncio may wake up to one clock tick early, and
# a fake clock's ``now + (t - now)`` need not equal ``t`` exactly; smaller than the margin above.
_EARLY_TOLERANCE = 1e-7
# Overdue slots (late wake-ups) may start this many times closer together than the interval while they
# catch up with the schedule.
_CATCH_UP = 4
# Per-chat bookkeeping of chats not seen for a while is dropped every this many acquisitions, so a
# broadcast to 100,000 groups does not keep 100,000 deques alive.
_SWEEP_EVERY = 4096


class Pacer:
    """Hands out send start times: at most ``rate`` per second overall and a per-group minute limit."""

    def __init__(
        self,
        rate: float,
        per_chat_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        *,
        chat_window: float = 60.0,
        chat_margin: float = 1.0,
        margin: float | None = None,
    ) -> None:
        """Create a pacer; ``clock`` and ``sleep`` are injectable so tests can run on virtual time.

        ``margin``: seconds of arrival jitter every one-second window allows for; default
        ``DEFAULT_MARGIN`` on the real clock and 0 on an injected one."""
        if not rate > 0 or rate == float("inf"):
            raise ValueError(f"rate must be a positive number, got {rate!r}")
        if per_chat_per_minute < 1:
            raise ValueError(f"per_chat_per_minute must be at least 1, got {per_chat_per_minute!r}")
        if chat_window <= 0 or chat_margin < 0:
            raise ValueError("chat_window must be positive and chat_margin not negative")
        if margin is None:
            margin = DEFAULT_MARGIN if clock is time.monotonic else 0.0
        if not 0 <= margin < 1:
            raise ValueError(f"margin must be in [0, 1) seconds, got {margin!r}")
        self.rate = float(rate)
        self.margin = float(margin)
        self.per_chat_per_minute = int(per_chat_per_minute)
        self.interval = (1.0 + self.margin) / self.rate + _SPACING_MARGIN
        # The margin covers a start that runs a little late (event-loop lag) and the platform's own
        # counting being slightly different from ours; 1 s on 60 s costs under 2 % of a group's rate.
        self._chat_span = chat_window + chat_margin
        self._clock = clock
        self._sleep = sleep
        self._next_slot = -float("inf")
        self._last_start = -float("inf")
        # The window on actual starts (see the module docstring): the last K starts.
        self._window_count = max(1, math.floor(self.rate))
        self._window_span = self._window_count * self.interval
        self._min_gap = self.interval / _CATCH_UP
        self._starts: deque[float] = deque(maxlen=self._window_count)
        self._paused_until = -float("inf")
        self._chat_paused_until: dict[Hashable, float] = {}
        # Start times (reserved or done) per group chat, ascending; entries older than the window are pruned.
        self._chat_starts: dict[Hashable, deque[float]] = {}
        self._acquired = 0
        self._generation = 0

    @property
    def paused_until(self) -> float:
        """Return the clock time until which all sends are paused (in the past when not paused)."""
        return self._paused_until

    def pause_until(self, until: float, chat_key: Hashable | None = None) -> None:
        """Start no send before clock time ``until`` (only to ``chat_key`` when given)."""
        if chat_key is not None:
            previous = self._chat_paused_until.get(chat_key, -float("inf"))
            self._chat_paused_until[chat_key] = max(previous, until)
            return
        if until <= self._paused_until or until <= self._clock():
            return
        logger.info("sending paused for %.1f s", until - self._clock())
        self._paused_until = until
        # Every slot not yet started is void: its holder re-reserves when it wakes. Holders wake in the
        # order of their old slots, so the queue keeps its order and resumes at ``until`` without gaps.
        self._generation += 1
        self._next_slot = max(until, self._last_start + self.interval)

    def pause(self, seconds: float, chat_key: Hashable | None = None) -> float:
        """Pause sends for ``seconds`` from now (e.g. a 429's ``retry_after``); return the end time."""
        until = self._clock() + max(0.0, seconds)
        self.pause_until(until, chat_key)
        return until

    async def acquire(self, chat_key: Hashable | None = None, is_group: bool = False) -> float:
        """Wait until a send to ``chat_key`` may start; return its start time on the pacer's clock."""
        while True:
            now = self._clock()
            ready = self._chat_ready_at(chat_key, is_group, now)
            if ready - now > _EARLY_TOLERANCE:
                # Wait for the chat's window without holding a global slot: others keep the full rate.
                await self._sleep(ready - now)
                continue
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self.interval
            generation = self._generation
            starts = self._chat_starts.setdefault(chat_key, deque()) if is_group else None
            if starts is not None:
                # Slots only grow, so appending keeps the deque sorted.
                starts.append(slot)
            if slot - now > _EARLY_TOLERANCE:
                await self._sleep(slot - now)
            now = self._clock()
            if generation != self._generation or now < self._chat_pause(chat_key) - _EARLY_TOLERANCE:
                # A pause came in while we slept: give the slot up and queue again after it.
                if starts is not None:
                    _remove(starts, slot)
                continue
            break
        # A late wake-up starts at once (the schedule stays where it was, so the next slots catch up), as
        # long as the window on actual starts holds.
        start = max(now, self._last_start + self._min_gap)
        if len(self._starts) == self._window_count:
            start = max(start, self._starts[0] + self._window_span)
        self._starts.append(start)
        self._last_start = start
        if starts is not None and start != slot:
            # The group's window counts when the send really starts: a late one moves its minute on.
            _remove(starts, slot)
            bisect.insort(starts, start)
        if start - now > _EARLY_TOLERANCE:
            await self._sleep(start - now)
        self._acquired += 1
        if self._acquired % _SWEEP_EVERY == 0:
            self._sweep(self._clock())
        return start

    @asynccontextmanager
    async def slot(self, chat_key: Hashable | None = None, is_group: bool = False) -> AsyncIterator[float]:
        """Async context manager form of :meth:`acquire`; yields the start time."""
        yield await self.acquire(chat_key, is_group)

    def _chat_pause(self, chat_key: Hashable | None) -> float:
        """Return the end of a pause specific to ``chat_key`` (or -inf)."""
        if chat_key is None or not self._chat_paused_until:
            return -float("inf")
        return self._chat_paused_until.get(chat_key, -float("inf"))

    def _chat_ready_at(self, chat_key: Hashable | None, is_group: bool, now: float) -> float:
        """Return the earliest time a new start to ``chat_key`` keeps its window and pause."""
        ready = self._chat_pause(chat_key)
        if not is_group:
            return ready
        starts = self._chat_starts.get(chat_key)
        if not starts:
            return ready
        while starts and starts[0] <= now - self._chat_span:
            starts.popleft()
        if len(starts) >= self.per_chat_per_minute:
            # The new start must be a full window after the n-th most recent one (reserved ones included).
            ready = max(ready, starts[-self.per_chat_per_minute] + self._chat_span)
        return ready

    def _sweep(self, now: float) -> None:
        """Drop per-chat state that can no longer affect any start."""
        horizon = now - self._chat_span
        for key in [k for k, s in self._chat_starts.items() if not s or s[-1] <= horizon]:
            del self._chat_starts[key]
        for key in [k for k, t in self._chat_paused_until.items() if t <= now]:
            del self._chat_paused_until[key]


def _remove(starts: deque[float], value: float) -> None:
    """Remove one occurrence of ``value`` from a deque (no error when missing, e.g. already pruned)."""
    try:
        starts.remove(value)
    except ValueError:
        pass


def max_in_window(timestamps: Iterable[float], window: float, *, closed: bool = False) -> int:
    """Return the most timestamps in any window ``[t, t + window)`` (``[t, t + window]`` when closed)."""
    ts = sorted(timestamps)
    best = 0
    for i, start in enumerate(ts):
        end = start + window
        # Some window with the most points starts at a point, so scanning windows that start at each is enough.
        j = bisect.bisect_right(ts, end) if closed else bisect.bisect_left(ts, end)
        best = max(best, j - i)
    return best


class SlidingWindowCounter:
    """A strict limiter for fakes and benchmarks: at most ``limit`` events in any ``window`` seconds."""

    def __init__(self, limit: int, window: float = 1.0) -> None:
        """Create a counter allowing ``limit`` events per sliding ``window``."""
        self.limit = limit
        self.window = window
        self._events: deque[float] = deque()

    def count(self, now: float) -> int:
        """Return how many accepted events lie in the window ``(now - window, now]``."""
        while self._events and self._events[0] <= now - self.window:
            self._events.popleft()
        return len(self._events)

    def hit(self, now: float) -> bool:
        """Record an event at ``now`` if under the limit; return False (a 429) when over it."""
        if self.count(now) >= self.limit:
            return False
        self._events.append(now)
        return True

    def retry_after(self, now: float) -> float:
        """Return the seconds until another event would be accepted."""
        if self.count(now) < self.limit:
            return 0.0
        return self._events[-self.limit] + self.window - now
