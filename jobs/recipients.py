"""A broadcast's recipients as its workers take them, and the outages of the channels they are sent on.

`RecipientQueue`: fresh recipients come from the database a page at a time; a recipient whose send failed
for a temporary reason goes back in with a not-before time (its backoff) and is handed out again once that
time has come, before any fresh one. So a recipient waiting out its backoff holds no worker and no send
slot: the others go on at the full rate, and a Bot API outage of minutes costs a few retries, not
recipients.

`Outages`: per channel, whether its sends keep failing for a temporary reason. Said once in the log when
it begins, at most once a minute while it lasts and once when it ends; the admin's progress message names
the channels it waits for.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

__all__ = ["OUTAGE_AFTER", "Outages", "Recipient", "RecipientQueue"]

#: Temporary failures in a row, with no answer from the channel between them, that make an outage.
OUTAGE_AFTER = 5
#: Seconds between the log's lines while an outage lasts.
OUTAGE_LOG_EVERY = 60.0


@dataclass(eq=False)
class Recipient:
    """One recipient as the workers see it; `key` follows a migrated group to its supergroup."""

    key: str
    chat_type: str | None
    failures: int = 0
    failing_since: float | None = None

    @property
    def channel(self) -> str:
        """The channel part of the chat key (tg, wecom, robot)."""
        return self.key.split(":", 1)[0]


class RecipientQueue:
    """Recipients to send to: those due for a retry first, then fresh ones, read a page at a time."""

    def __init__(
        self,
        read_page: Callable[[int], Sequence[tuple[int, str, str | None]]],
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]],
    ) -> None:
        """`read_page(after)`: the next pending rows after that position, (position, chat key, chat type)."""
        self._read_page = read_page
        self._clock = clock
        self._sleep = sleep
        self._after = 0
        self._exhausted = False
        self._fresh: deque[Recipient] = deque()
        self._retries: list[tuple[float, int, Recipient]] = []
        self._order = itertools.count()
        self._busy = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._alarm: asyncio.Task[None] | None = None
        self._alarm_at = math.inf

    @property
    def waiting(self) -> int:
        """Recipients waiting for their next try."""
        return len(self._retries)

    async def get(self) -> Recipient | None:
        """The next recipient to send to, waiting for one if need be; None once every one is settled."""
        while True:
            if self._retries and self._retries[0][0] <= self._clock():
                _, _, recipient = heapq.heappop(self._retries)
                if self._retries and self._retries[0][0] <= self._clock():
                    self._wake(1)  # more are due: the next waiting worker takes one
                else:
                    self._arm()  # for the next one, which the workers still waiting need a timer for
                self._busy += 1
                return recipient
            if not self._fresh and not self._exhausted:
                self._refill()
            if self._fresh:
                self._busy += 1
                return self._fresh.popleft()
            if not self._retries and not self._busy:
                self._wake(len(self._waiters))
                return None
            self._arm()
            await self._wait()

    def done(self, recipient: Recipient, retry_at: float | None = None) -> None:
        """A recipient from `get` is settled, or to be tried again at `retry_at` (on the queue's clock)."""
        self._busy -= 1
        if retry_at is not None:
            heapq.heappush(self._retries, (retry_at, next(self._order), recipient))
            self._arm()
        elif not self._busy and not self._retries and not self._fresh and self._exhausted:
            self._wake(len(self._waiters))  # the last one: the waiting workers may stop

    def hurry(self, channel: str) -> int:
        """Every recipient of `channel` waiting for a retry is due now (the channel answers again)."""
        now = self._clock()
        moved = 0
        for i, (when, order, recipient) in enumerate(self._retries):
            if when > now and recipient.channel == channel:
                self._retries[i] = (now, order, recipient)
                moved += 1
        if moved:
            heapq.heapify(self._retries)
            self._wake(moved)
        return moved

    def close(self) -> None:
        """Stop the timer of the next retry (the run is over or cancelled)."""
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm, self._alarm_at = None, math.inf

    def _refill(self) -> None:
        page = self._read_page(self._after)
        if not page:
            self._exhausted = True
            return
        self._after = page[-1][0]
        self._fresh.extend(Recipient(key, chat_type) for _, key, chat_type in page)

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if not waiter.done():
                waiter.cancel()
                self._waiters.remove(waiter)

    def _wake(self, n: int) -> None:
        while n > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                n -= 1

    def _arm(self) -> None:
        """One timer, for the earliest retry, however many workers wait for it."""
        if not self._retries:
            return
        when = self._retries[0][0]
        if self._alarm is not None and self._alarm_at <= when:
            return
        self.close()
        self._alarm_at = when
        self._alarm = asyncio.ensure_future(self._ring(when))

    async def _ring(self, when: float) -> None:
        delay = when - self._clock()
        if delay > 0:
            await self._sleep(delay)
        self._alarm, self._alarm_at = None, math.inf
        self._wake(1)


@dataclass
class _Failing:
    since: float
    failures: int = 0
    error: str = ""
    outage: bool = False
    logged: float = -math.inf


class Outages:
    """Which channels' sends keep failing for a temporary reason, said in the log once, not per send."""

    def __init__(self, name: str, clock: Callable[[], float], retry_cap: float) -> None:
        """`name` opens every log line (e.g. "broadcast 3"); `retry_cap` is the longest wait between tries."""
        self.name = name
        self._clock = clock
        self._retry_cap = retry_cap
        self._failing: dict[str, _Failing] = {}

    @property
    def channels(self) -> list[str]:
        """The channels in an outage now."""
        return sorted(channel for channel, state in self._failing.items() if state.outage)

    def failed(self, channel: str, error: str, waiting: int) -> None:
        """A send on `channel` failed for a temporary reason; `waiting`: recipients waiting to try again."""
        now = self._clock()
        state = self._failing.setdefault(channel, _Failing(since=now))
        state.failures += 1
        state.error = error
        if not state.outage and state.failures >= OUTAGE_AFTER:
            state.outage, state.logged = True, now
            logger.warning(
                "%s: sends to %s keep failing (%s); its recipients stay queued and are tried again, "
                "at most %.0f s apart, until they go through",
                self.name,
                channel,
                error,
                self._retry_cap,
            )
        elif state.outage and now - state.logged >= OUTAGE_LOG_EVERY:
            state.logged = now
            logger.warning(
                "%s: sends to %s still failing after %.0f s (%s); %d recipients waiting to try again",
                self.name,
                channel,
                now - state.since,
                error,
                waiting,
            )

    def answered(self, channel: str, waiting: int) -> bool:
        """`channel` answered a send (whatever the answer); True if that ends an outage."""
        state = self._failing.pop(channel, None)
        if state is None or not state.outage:
            return False
        logger.info(
            "%s: sends to %s go through again after %.0f s of failures; trying the %d waiting recipients now",
            self.name,
            channel,
            self._clock() - state.since,
            waiting,
        )
        return True
