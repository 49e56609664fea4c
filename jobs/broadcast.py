"""Broadcast fan-out: a durable queue in SQLite, one row per recipient, sent paced and concurrently.

Crash safety: a recipient is marked `sending` (committed) just before its send, and `sent` / `blocked` /
`failed` right after, in the same turn of the event loop (outcomes that arrive together share a
transaction). A process killed half-way leaves at most the in-flight sends as `sending`;
on restart those go back to `pending` and are sent again (the only possible duplicates), everyone else
is either done or still pending. Pacing: `jobs.pacing.Pacer` spaces starts evenly at
`STUDYBOT_BROADCAST_RATE` and keeps to 20 a minute per group or robot; many sends are in flight at once,
so network latency does not cut throughput. The admin's progress message is edited every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from jobs.interfaces import (
    Blocked,
    BroadcastMessages,
    BroadcastStore,
    Message,
    Migrated,
    PermanentError,
    RetryLater,
    Sender,
    TemporaryError,
    Text,
)
from jobs.pacing import Pacer, in_flight
from jobs.retry import backoff_delays

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0
MAX_ATTEMPTS = 5
# Recipients read from the database at a time.
PAGE = 500


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
    ):
        self.storage = storage
        self.messages = messages
        self.senders = senders
        self.pacer = pacer
        self.concurrency = concurrency or in_flight(pacer.rate)
        self.clock = clock
        self.now = now

    async def run(self, broadcast_id: int) -> dict[str, int]:
        """Send the broadcast to everyone still pending; returns the final counts."""
        broadcast = self.storage.get_broadcast(broadcast_id)
        if broadcast is None or broadcast["state"] != "sending":
            return self.storage.broadcast_counts(broadcast_id) if broadcast else {}
        requeued = self.storage.reset_inflight(broadcast_id)
        if requeued:
            logger.warning(
                "broadcast %s: %d sends were in flight at a crash; sending them again", broadcast_id, requeued
            )
        message = self.messages.announcement(broadcast["text"])
        outcomes = _Outcomes(self.storage, broadcast_id, self.now)
        started = self.clock()
        progress = asyncio.create_task(self._progress_loop(broadcast))
        queue: asyncio.Queue[tuple[str, str | None] | None] = asyncio.Queue(maxsize=self.concurrency * 2)
        workers = [
            asyncio.create_task(self._worker(broadcast_id, message, queue, outcomes))
            for _ in range(self.concurrency)
        ]
        try:
            # The queue is refilled while the workers send: waiting for a page to drain before reading the
            # next one left the workers idle for the slowest response of every page.
            after = 0
            while page := self.storage.pending_page(broadcast_id, after, PAGE):
                for _, key, chat_type in page:
                    await queue.put((key, chat_type))
                after = page[-1][0]
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        finally:
            # On a shutdown (cancelled) no worker outlives the run: a send cut short stays `sending` and
            # goes out again after the restart.
            for task in (progress, *workers):
                task.cancel()
            outcomes.flush()
        self.storage.finish_broadcast(broadcast_id, self.now())
        counts = self.storage.broadcast_counts(broadcast_id)
        await self._edit_progress(broadcast, self.messages.report(counts, self.clock() - started))
        logger.info("broadcast %s done: %s", broadcast_id, counts)
        return counts

    async def _worker(
        self, broadcast_id: int, message: Message, queue: asyncio.Queue, outcomes: _Outcomes
    ) -> None:
        while True:
            item = await queue.get()
            try:
                if item is None:
                    return
                key, chat_type = item
                await self._deliver(broadcast_id, key, chat_type, message, outcomes)
            except Exception:  # noqa: BLE001 - one recipient must never stop the fan-out
                logger.exception("broadcast %s: unexpected error for a recipient", broadcast_id)
                outcomes.add(key, "failed", "internal error")
            finally:
                queue.task_done()

    async def _deliver(
        self, broadcast_id: int, key: str, chat_type: str | None, message: Message, outcomes: _Outcomes
    ) -> None:
        channel = key.split(":", 1)[0]
        sender = self.senders.get(channel)
        if chat_type is None or sender is None:
            outcomes.add(key, "failed", "no sender for this channel")
            return
        target = key
        for attempt in range(MAX_ATTEMPTS + 1):
            await self.pacer.acquire(target, sender.is_group(target, chat_type))
            # Outcomes not written yet go first, so no more rows are `sending` than sends in flight.
            outcomes.flush()
            self.storage.mark_sending(broadcast_id, target, self.now())
            try:
                await sender.send(target, message)
            except RetryLater as exc:
                self.pacer.pause(exc.seconds)
                continue
            except Migrated as exc:
                outcomes.flush()
                self.storage.migrate_chat(target, exc.new_key)
                if self.storage.recipient_state(broadcast_id, target) is not None:
                    # The supergroup is a recipient of its own (both ids were subscribed): it gets the
                    # message once, under its own row, so the old group's row goes.
                    self.storage.drop_recipient(broadcast_id, target)
                    return
                target = exc.new_key
                continue
            except Blocked:
                outcomes.add(target, "blocked")
                return
            except PermanentError as exc:
                outcomes.add(target, "failed", str(exc)[:200])
                return
            except (TemporaryError, OSError) as exc:
                if attempt >= MAX_ATTEMPTS - 1:
                    outcomes.add(target, "failed", type(exc).__name__)
                    return
                # Jittered, so the many sends that one network outage failed do not all retry at once.
                delays = backoff_delays(base=1.0, attempts=MAX_ATTEMPTS, jitter=0.2, random=random.random)
                await asyncio.sleep(delays[attempt])
                continue
            # After a migration the recipient row moved with the chat, hence `target`.
            outcomes.add(target, "sent")
            return
        outcomes.add(target, "failed", "too many retries")

    async def _progress_loop(self, broadcast: dict) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            await self._edit_progress(
                broadcast, self.messages.progress(self.storage.broadcast_counts(broadcast["id"]))
            )

    async def _edit_progress(self, broadcast: dict, doc: Text) -> None:
        fresh = self.storage.get_broadcast(broadcast["id"]) or broadcast
        chat_key, message_id = fresh.get("progress_chat"), fresh.get("progress_message_id")
        if not chat_key or not message_id:
            return
        sender = self.senders.get(chat_key.split(":", 1)[0])
        if sender is None:
            return
        try:
            await sender.edit(chat_key, str(message_id), doc)
        except Exception:  # noqa: BLE001 - a progress edit is best effort
            logger.debug("progress edit failed", exc_info=True)
