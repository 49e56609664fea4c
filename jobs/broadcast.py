"""Broadcast fan-out: a durable queue in SQLite, one row per recipient, sent paced and concurrently.

Crash safety: a recipient is marked `sending` (committed) just before its send, and `sent` / `blocked` /
`failed` (or `pending` again, to be retried) right after, in the same turn of the event loop (outcomes
that arrive together share a transaction). A process killed half-way leaves at most the in-flight sends as
`sending`; on restart those go back to `pending` and are sent again (the only possible duplicates),
everyone else is either done or still pending. A shutdown (the run cancelled) starts no new send and lets
the workers in the middle of one finish it and record it (DRAIN_SECONDS at most), so a SIGTERM repeats
nothing.

Faults: a send that fails for a temporary reason (5xx, a dropped connection, a timeout) puts its recipient
back in the queue with a capped, jittered backoff (`jobs.recipients`), for as long as the broadcast runs;
only a permanent refusal (400-type, blocked) ends a recipient, or an hour of failures (GIVE_UP_AFTER).
When a channel answers again, everyone waiting for it is tried at once. Pacing: `jobs.pacing.Pacer` spaces
starts evenly at `STUDYBOT_BROADCAST_RATE` and keeps to 20 a minute per group or robot; many sends are in
flight at once, so network latency does not cut throughput. The admin's progress message is edited every
few seconds and says which channel it is waiting for.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from jobs.inflight import DRAIN_SECONDS
from jobs.interfaces import (
    Blocked,
    BroadcastMessages,
    BroadcastStore,
    Migrated,
    PermanentError,
    RetryLater,
    Sender,
    TemporaryError,
    Text,
)
from jobs.pacing import Pacer, in_flight
from jobs.recipients import Outages, Recipient, RecipientQueue
from jobs.retry import backoff_delay

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0
# Backoff of a recipient whose sends fail for a temporary reason: 1, 2, 4 ... 60 s, ±20 %.
RETRY_BASE = 1.0
RETRY_CAP = 60.0
RETRY_JITTER = 0.2
# A recipient whose sends have failed this long (seconds: an hour of outage) is given up as failed, so
# that a broadcast cannot wait for ever and hold up the next one.
GIVE_UP_AFTER = 3600.0
# Recipients read from the database at a time.
PAGE = 500
# What an attempt may end in besides an exception to act on.
_SETTLED = "settled"
_MOVED = "moved"


class _Outcomes:
    """Recipients' outcomes, written in one transaction per turn of the event loop.

    At a four-figure rate a send completes every millisecond, and a transaction for each was the largest
    cost of the fan-out after HTTP itself. The write is scheduled with ``call_soon``: it runs before the
    loop next waits for anything, so a kill loses at most the outcomes of that one turn, and their rows
    are still ``sending``: sent again on restart, like any send in flight.
    """

    def __init__(self, storage: BroadcastStore, broadcast_id: int, now: Callable[[], datetime]) -> None:
        self.storage = storage
        self.broadcast_id = broadcast_id
        self.now = now
        self._rows: list[tuple[str, str, str | None]] = []
        self._scheduled = False

    def add(self, chat_key: str, state: str, error: str | None = None) -> None:
        """Record an outcome (written within this turn of the loop)."""
        self._rows.append((chat_key, state, error))
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._scheduled = False
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - kept and written with the next outcome or at the end
            logger.exception("broadcast %s: could not record outcomes yet", self.broadcast_id)

    def flush(self) -> None:
        """Write the outcomes recorded so far (kept for the next try if the write fails)."""
        if self._rows:
            rows, self._rows = self._rows, []
            try:
                self.storage.record_outcomes(self.broadcast_id, rows, self.now())
            except BaseException:
                self._rows[:0] = rows
                raise


class BroadcastRunner:
    """Sends one broadcast to every pending recipient; safe to run again after a crash."""

    def __init__(
        self,
        storage: BroadcastStore,
        messages: BroadcastMessages,
        senders: Mapping[str, Sender],
        pacer: Pacer,
        concurrency: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        random: Callable[[], float] = random.random,
        drain_seconds: float = DRAIN_SECONDS,
    ):
        """`clock`, `sleep` and `random` are the backoff's (and the progress loop's) time and jitter, for
        tests; `drain_seconds`: how long a shutdown waits for the sends in flight."""
        self.storage = storage
        self.messages = messages
        self.senders = senders
        self.pacer = pacer
        self.concurrency = concurrency or in_flight(pacer.rate)
        self.clock = clock
        self.now = now
        self.sleep = sleep
        self.random = random
        self.drain_seconds = drain_seconds

    async def run(self, broadcast_id: int) -> dict[str, int]:
        """Send the broadcast to everyone still pending; returns the final counts."""
        broadcast = self.storage.get_broadcast(broadcast_id)
        if broadcast is None or broadcast["state"] != "sending":
            return self.storage.broadcast_counts(broadcast_id) if broadcast else {}
        requeued = self.storage.reset_inflight(broadcast_id)
        if requeued:
            logger.warning(
                "broadcast %s: %d sends were in flight when the bot stopped (killed, or cut off); "
                "sending them again",
                broadcast_id,
                requeued,
            )
        started = self.clock()
        fanout = _Fanout(self, broadcast)
        await fanout.send_all()
        self.storage.finish_broadcast(broadcast_id, self.now())
        counts = self.storage.broadcast_counts(broadcast_id)
        await fanout.edit_progress(self.messages.report(counts, self.clock() - started))
        logger.info("broadcast %s done: %s", broadcast_id, counts)
        return counts


class _Fanout:
    """One run of one broadcast: its queue, its workers, the sends they have in flight."""

    def __init__(self, runner: BroadcastRunner, broadcast: dict) -> None:
        self.runner = runner
        self.storage = runner.storage
        self.broadcast = broadcast
        self.id = broadcast["id"]
        self.message = runner.messages.announcement(broadcast["text"])
        self.outcomes = _Outcomes(runner.storage, self.id, runner.now)
        self.queue = RecipientQueue(
            lambda after: self.storage.pending_page(self.id, after, PAGE), runner.clock, runner.sleep
        )
        self.outages = Outages(f"broadcast {self.id}", runner.clock, RETRY_CAP)
        # Workers in the middle of a send: a shutdown waits for these and cancels the others at once.
        self._sending: set[asyncio.Task] = set()
        self.stopping = False
        self._shown: Text | None = None

    async def send_all(self) -> None:
        """Send to every pending recipient until each is settled (or the run is cancelled)."""
        progress = asyncio.create_task(self._progress_loop())
        workers = [asyncio.create_task(self._worker()) for _ in range(self.runner.concurrency)]
        gathered = asyncio.gather(*workers)
        gathered.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            # Shielded, so that cancelling the run does not cut the sends in flight off (see _drain).
            await asyncio.shield(gathered)
        except asyncio.CancelledError:
            await self._drain(workers)
            raise
        finally:
            for task in (progress, *workers):
                task.cancel()
            self.queue.close()
            self.outcomes.flush()

    async def _drain(self, workers: list[asyncio.Task]) -> None:
        """A shutdown: no new send starts, and the sends in flight get drain_seconds to land and be
        recorded; one still hanging then stays `sending` and goes out again after the restart.

        Workers that are not sending (waiting for a recipient or a send slot) are cancelled at once. Not a
        task per send to shield: at a four-figure rate that cost 2–3 points of the fan-out's efficiency."""
        self.stopping = True
        for task in workers:
            if task not in self._sending:
                task.cancel()
        _, pending = await asyncio.wait(workers, timeout=self.runner.drain_seconds)
        if pending:
            for task in pending:
                task.cancel()
            logger.warning(
                "broadcast %s: %d sends still in flight after %.0f s were cut off",
                self.id, len(pending), self.runner.drain_seconds,
            )  # fmt: skip
            await asyncio.wait(pending, timeout=1.0)

    async def _worker(self) -> None:
        while not self.stopping and (recipient := await self.queue.get()) is not None:
            retry_at = None
            try:
                retry_at = await self._deliver(recipient)
            except Exception:  # noqa: BLE001 - one recipient must never stop the fan-out
                logger.exception("broadcast %s: unexpected error for a recipient", self.id)
                self.outcomes.add(recipient.key, "failed", "internal error")
            finally:
                self.queue.done(recipient, retry_at)

    async def _deliver(self, recipient: Recipient) -> float | None:
        """Send to one recipient; None when it is settled, else when to try it again (queue clock)."""
        sender = self.runner.senders.get(recipient.channel)
        if recipient.chat_type is None or sender is None:
            self.outcomes.add(recipient.key, "failed", "no sender for this channel")
            return None
        while True:
            await self.runner.pacer.acquire(
                recipient.key, sender.is_group(recipient.key, recipient.chat_type)
            )
            if self.stopping:
                return None  # a shutdown came while it waited for its slot: still pending, sent after it
            worker = asyncio.current_task()
            self._sending.add(worker)
            try:
                verdict = await self._attempt(sender, recipient)
            finally:
                self._sending.discard(worker)
            if isinstance(verdict, TemporaryError | OSError):
                return self._retry_at(recipient, verdict)
            if self.outages.answered(recipient.channel, self.queue.waiting):
                self.queue.hurry(recipient.channel)
            if isinstance(verdict, RetryLater):
                self.runner.pacer.pause(verdict.seconds)
            elif verdict == _SETTLED:
                return None
            # 429 or a migration: straight on, again, with a new slot.

    async def _attempt(self, sender: Sender, recipient: Recipient) -> str | Exception:
        """One send and the record of its outcome: settled, moved (a migration), or the error to act on."""
        target = recipient.key
        # Outcomes not written yet go first, so no more rows are `sending` than sends in flight.
        self.outcomes.flush()
        self.storage.mark_sending(self.id, target, self.runner.now())
        try:
            await sender.send(target, self.message)
        except RetryLater as exc:
            self.outcomes.add(target, "pending", "429")
            return exc
        except Migrated as exc:
            self.outcomes.flush()
            self.storage.migrate_chat(target, exc.new_key)
            if self.storage.recipient_state(self.id, target) is not None:
                # The supergroup is a recipient of its own (both ids were subscribed): it gets the
                # message once, under its own row, so the old group's row goes.
                self.storage.drop_recipient(self.id, target)
                return _SETTLED
            # The recipient row moved with the chat.
            recipient.key = exc.new_key
            self.outcomes.add(exc.new_key, "pending", "migrated")
            return _MOVED
        except Blocked:
            self.outcomes.add(target, "blocked")
            return _SETTLED
        except PermanentError as exc:
            self.outcomes.add(target, "failed", str(exc)[:200])
            return _SETTLED
        except (TemporaryError, OSError) as exc:
            # Back in the queue: pending in the database too, so a kill meanwhile does not count it in flight.
            self.outcomes.add(target, "pending", _describe(exc))
            return exc
        self.outcomes.add(target, "sent")
        return _SETTLED

    def _retry_at(self, recipient: Recipient, exc: Exception) -> float | None:
        """When to try a recipient again after a temporary failure; None if it is given up (failed)."""
        now = self.runner.clock()
        if recipient.failing_since is None:
            recipient.failing_since = now
        self.outages.failed(recipient.channel, _describe(exc), self.queue.waiting + 1)
        if now - recipient.failing_since >= GIVE_UP_AFTER:
            self.outcomes.add(recipient.key, "failed", _describe(exc))
            return None
        # Jittered, so the many sends that one outage failed do not all come back at once.
        delay = backoff_delay(
            recipient.failures, RETRY_BASE, cap=RETRY_CAP, jitter=RETRY_JITTER, random=self.runner.random
        )
        recipient.failures += 1
        return now + delay

    async def _progress_loop(self) -> None:
        while True:
            await self.runner.sleep(PROGRESS_EVERY)
            counts = self.storage.broadcast_counts(self.id)
            await self.edit_progress(self.runner.messages.progress(counts, self.outages.channels))

    async def edit_progress(self, doc: Text) -> None:
        """Put `doc` in the admin's progress message (best effort; the same text is not sent twice)."""
        if doc == self._shown:
            return
        fresh = self.storage.get_broadcast(self.id) or self.broadcast
        chat_key, message_id = fresh.get("progress_chat"), fresh.get("progress_message_id")
        if not chat_key or not message_id:
            return
        sender = self.runner.senders.get(chat_key.split(":", 1)[0])
        if sender is None:
            return
        try:
            await sender.edit(chat_key, str(message_id), doc)
        except Exception:  # noqa: BLE001 - a progress edit is best effort
            logger.debug("progress edit failed", exc_info=True)
            return
        self._shown = doc


def _describe(exc: Exception) -> str:
    """An error as the log and the database name it: its type and, briefly, what it says."""
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text[:80]}" if text and text != name else name
