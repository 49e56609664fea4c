"""409 Conflict on getUpdates: another bot instance polls the same token (a second deploy, another host).

Telegram answers a long poll with 409 when a newer getUpdates of the same token takes its place, so two
instances keep cutting each other off and updates go to whichever polled last. PTB's Updater goes on
polling through it with its own backoff (1 s, then ×1.5 up to 30 s, back to none after a poll that
works) and logs a traceback for every 409. We keep the polling and the backoff, and do not exit: the
instance that should go is not necessarily this one, and when the other stops this one simply carries on.
What changes is what an operator sees: one line when the conflict starts, one a minute while it lasts,
one when it ends (no 409 for a minute), no tracebacks; and `/healthz` answers 503 meanwhile, so a
supervisor or a health check can act on it.

`WatchedRequest` is the connection PTB uses for getUpdates only; it shows the watch each answer's status.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from telegram.error import Conflict
from telegram.request import HTTPXRequest

from bot.core.health import Health

logger = logging.getLogger(__name__)

#: A conflict is over once getUpdates works and no 409 has come for this long. PTB's backoff reaches
#: 30 s, so two instances can go that long without cutting each other off; a minute does not flap.
QUIET = 60.0
#: How often a line says the conflict goes on.
REPORT_EVERY = 60.0
HEALTH_NAME = "telegram"
HEALTH_REASON = "409 Conflict on getUpdates: another bot instance is polling this token"


class ConflictWatch:
    """Turns the stream of getUpdates answers into a start, a line a minute and an end of a conflict."""

    def __init__(
        self,
        health: Health | None = None,
        clock: Callable[[], float] = time.monotonic,
        quiet: float = QUIET,
        report_every: float = REPORT_EVERY,
    ):
        self.health = health
        self.clock = clock
        self.quiet = quiet
        self.report_every = report_every
        self.since: float | None = None  # start of the current conflict
        self.last_conflict = 0.0
        self.last_report = 0.0
        self.total = 0  # 409s in the current conflict
        self.reported = 0  # of them, already counted in a line

    @property
    def active(self) -> bool:
        """A conflict is going on."""
        return self.since is not None

    def conflict(self, description: str) -> None:
        """getUpdates was answered 409."""
        now = self.clock()
        self.last_conflict = now
        if self.since is None:
            self.since = self.last_report = now
            self.total, self.reported = 1, 1
            if self.health is not None:
                self.health.set(HEALTH_NAME, HEALTH_REASON)
            logger.warning(
                "Telegram answered getUpdates with 409 Conflict (%s): another bot instance is polling this "
                "token, and each update goes to whichever instance polled last. Still polling, with "
                "backoff up to 30 s; /healthz answers 503 until no 409 has come for %.0f s.",
                description,
                self.quiet,
            )
            return
        self.total += 1
        self._report_if_due(now)

    def polled(self) -> None:
        """getUpdates was answered 200."""
        if self.since is None:
            return
        now = self.clock()
        if now - self.last_conflict < self.quiet:
            return  # between two 409s, or not yet quiet for long enough: the lines come with the 409s
        logger.warning(
            "Telegram: the 409 Conflict is over after %.0f s (409 ×%d in all); polling normally.",
            now - self.since,
            self.total,
        )
        self.since = None
        if self.health is not None:
            self.health.clear(HEALTH_NAME)

    def _report_if_due(self, now: float) -> None:
        if now - self.last_report < self.report_every:
            return
        logger.warning(
            "Telegram: 409 Conflict for %.0f s now (409 ×%d in the last %.0f s): another bot instance is "
            "still polling this token.",
            now - self.since,
            self.total - self.reported,
            now - self.last_report,
        )
        self.last_report, self.reported = now, self.total


class HideConflictTracebacks(logging.Filter):
    """On PTB's Updater logger: drops its records of a 409 (a traceback for every poll, and one for the
    last getUpdates at shutdown); the watch has said what goes on. Its other records pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], Conflict))


_HIDE = HideConflictTracebacks()


def hide_conflict_tracebacks() -> None:
    """Put the filter on PTB's Updater logger (once, however many channels are built), and on asyncio's:
    when the stop comes as a getUpdates ends in 409, PTB's retry loop leaves for the stop without reading
    the poll's error, and asyncio logs "Task exception was never retrieved" with the Conflict."""
    for name in ("telegram.ext.Updater", "asyncio"):
        logging.getLogger(name).addFilter(_HIDE)  # addFilter ignores a second add


#: Polling counts as down when no getUpdates has been answered for this long: a long poll returns
#: within its 10 s timeout, and PTB's backoff after errors reaches 30 s.
STALE = 60.0


class WatchedRequest(HTTPXRequest):
    """PTB's getUpdates connection (one, as PTB's own default) that tells the watch how each poll went
    and remembers when the last one was answered (for /healthz)."""

    def __init__(self, watch: ConflictWatch, clock: Callable[[], float] = time.monotonic):
        super().__init__(connection_pool_size=1)
        self.watch = watch
        self.clock = clock
        self.since = clock()  # polling's start, until a poll is answered
        self.last_answer: float | None = None

    async def do_request(self, *args, **kwargs) -> tuple[int, bytes]:
        """The request as PTB makes it; a 200 or 409 answer is shown to the watch first."""
        code, payload = await super().do_request(*args, **kwargs)
        if code == 409:
            self.watch.conflict(_description(payload))
        elif code == 200:
            self.last_answer = self.clock()
            self.watch.polled()
        return code, payload

    def health(self) -> tuple[bool, str]:
        """/healthz: up while getUpdates is answered."""
        quiet = self.clock() - (self.since if self.last_answer is None else self.last_answer)
        if quiet > STALE:
            what = "no getUpdates answered" if self.last_answer is None else "no getUpdates answer"
            return False, f"{what} for {quiet:.0f} s (the Bot API or the network is down)"
        return True, "polling"


def _description(payload: bytes) -> str:
    try:
        return str(json.loads(payload)["description"])
    except (ValueError, KeyError, TypeError):
        return "no description"
