"""The daily push: every ~20 s, the chats whose time has come get their next lesson, once per local day.

Which chats are due comes from the database (`chats.next_due`, indexed), never from per-chat timers, so it
holds for 100,000 chats and across restarts. Exactly once per chat per local day: a delivery is claimed in
the database (unique per chat and local date) before it is sent and completed after, in one transaction
with the chat's next position and next due time. A claim left by a killed process is settled as sent at
start-up (`settle_interrupted`): a restart never repeats a lesson.

After the plan's last lesson the chat moves on to review: each day one lesson again, in order, with its
prompt and a pointer to /review (the wrong answers due under spaced repetition).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from jobs.interfaces import (
    Blocked,
    Calendar,
    DeliveryStore,
    Lessons,
    Message,
    Migrated,
    RetryLater,
    Sender,
    TemporaryError,
)
from jobs.pacing import Pacer, in_flight

logger = logging.getLogger(__name__)

TICK_SECONDS = 20
BATCH = 2000
RETRY_FAILED_AFTER = timedelta(minutes=5)
SEND_BUDGET = 90.0


@dataclass
class PushReport:
    """What one tick did."""

    sent: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


class DailyPush:
    """Finds the due chats and sends each its lesson of the day."""

    def __init__(
        self,
        storage: DeliveryStore,
        lessons: Lessons,
        senders: Mapping[str, Sender],
        pacer: Pacer,
        calendar: Calendar,
        concurrency: int | None = None,
    ):
        self.storage = storage
        self.lessons = lessons
        self.senders = senders
        self.pacer = pacer
        self.calendar = calendar
        self.concurrency = concurrency or in_flight(pacer.rate)

    def settle_interrupted(self, now: datetime) -> int:
        """Claims a killed process left unsent count as sent: a lesson is never repeated after a restart."""
        settled = 0
        for row in self.storage.claimed_unsent():
            chat = self.storage.get_chat(row["chat_key"])
            if chat is None:
                continue
            day = date.fromisoformat(row["local_date"])
            due = self.calendar.next_due(chat["timezone"], time.fromisoformat(chat["push_time"]), day, now)
            pos = max(int(chat["plan_pos"]), row["lesson_day"])
            self.storage.complete_delivery(
                row["chat_key"],
                row["local_date"],
                None,
                _epoch(due),
                pos,
                now,
                plan_done=pos >= self.lessons.plan_length,
            )
            settled += 1
        if settled:
            logger.warning("settled %d deliveries interrupted by a restart", settled)
        return settled

    async def tick(self, now: datetime, clock: Callable[[], datetime] | None = None) -> PushReport:
        """Send every lesson due at `now` (in batches until none is left)."""
        report = PushReport()
        semaphore = asyncio.Semaphore(self.concurrency)
        # One Message per distinct lesson in this tick: chats on the same day share it, and a sender
        # renders each Message once.
        messages: dict[tuple, tuple[int, Message]] = {}
        while True:
            chats = self.storage.due_chats(_epoch(now), limit=BATCH, channels=self.senders)
            if not chats:
                return report
            tasks = [asyncio.create_task(self._one(chat, now, semaphore, report, messages)) for chat in chats]
            await asyncio.gather(*tasks)

    def _message(
        self, pos: int, catch_up_of: time | None, messages: dict[tuple, tuple[int, Message]]
    ) -> tuple[int, Message]:
        """The push for plan position `pos` and its lesson day, shared within a tick."""
        key = (pos, catch_up_of)
        if key not in messages:
            messages[key] = self.lessons.push_message(pos, catch_up_of)
        return messages[key]

    async def _one(
        self,
        chat: dict,
        now: datetime,
        semaphore: asyncio.Semaphore,
        report: PushReport,
        messages: dict[tuple, tuple[int, Message]],
    ) -> None:
        # The claim, too, waits for a turn: claimed all at once, a batch of 2,000 chats blocked the event
        # loop for a third of a second, and a kill would leave them all claimed and unsent (lost for the
        # day) instead of only the few in flight.
        async with semaphore:
            await self._deliver(chat, now, report, messages)

    async def _deliver(
        self, chat: dict, now: datetime, report: PushReport, messages: dict[tuple, tuple[int, Message]]
    ) -> None:
        key = chat["key"]
        zone, calendar = chat["timezone"], self.calendar
        push_time = time.fromisoformat(chat["push_time"])
        today = calendar.local_date(zone, now)
        last = _date(chat["last_local_date"])
        if last is not None and last >= today:
            # Already had today's lesson (e.g. /settime after the push): next one tomorrow.
            self.storage.set_next_due(key, _epoch(calendar.next_due(zone, push_time, last, now)))
            report.skipped += 1
            return
        pos = int(chat["plan_pos"] or 0)
        total = self.lessons.plan_length
        catch_up = calendar.is_catch_up(zone, push_time, now)
        day, message = self._message(pos, push_time if catch_up else None, messages)
        if not self.storage.claim_delivery(key, today, day, catch_up, now):
            self.storage.set_next_due(key, _epoch(calendar.next_due(zone, push_time, today, now)))
            report.skipped += 1
            return
        outcome, key = await self._send(chat, message)
        if isinstance(outcome, Exception):
            self._failed(key, today, outcome, now, report)
            return
        following = _epoch(calendar.next_due(zone, push_time, today, now))
        # `key` is the chat's new key if the send followed a migration.
        self.storage.complete_delivery(
            key, today, outcome, following, pos + 1, now, plan_done=pos + 1 >= total
        )
        report.sent += 1

    async def _send(self, chat: dict, message: Message) -> tuple[str | None | Exception, str]:
        """Send, following a migration and waiting out rate limits: (message id or the exception if it
        failed, the chat's key after any migration).

        At most SEND_BUDGET seconds per chat: a robot that keeps answering 45009 is retried at the next
        try (RETRY_FAILED_AFTER) instead of holding up the tick, and with it every chat due later.
        """
        sender = self.senders[chat["channel"]]
        key = chat["key"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEND_BUDGET
        for attempt in range(4):
            await self.pacer.acquire(key, sender.is_group(key, chat["chat_type"]))
            try:
                async with asyncio.timeout(max(1.0, deadline - loop.time())):
                    return await sender.send(key, message), key
            except TimeoutError:
                return TemporaryError(f"no answer within {SEND_BUDGET:.0f} s"), key
            except RetryLater as exc:
                self.pacer.pause(exc.seconds)
            except Migrated as exc:
                self.storage.migrate_chat(key, exc.new_key)
                key = exc.new_key
            except TemporaryError as exc:
                if attempt == 3 or loop.time() + 2**attempt > deadline:
                    return exc, key
                await asyncio.sleep(2**attempt)
            except Exception as exc:  # noqa: BLE001 - a send failing must not stop the others
                return exc, key
        return TemporaryError("gave up after retries"), key

    def _failed(self, key: str, today: date, exc: Exception, now: datetime, report: PushReport) -> None:
        if isinstance(exc, Blocked):
            self.storage.fail_delivery(key, today, "blocked", now)
            self.storage.mark_blocked(key)
            report.blocked += 1
            return
        logger.warning("daily push to %s failed: %s", key, type(exc).__name__)
        # Retry the same day a little later; the claim is released by fail_delivery.
        self.storage.fail_delivery(
            key, today, type(exc).__name__, now, next_due=_epoch(now + RETRY_FAILED_AFTER)
        )
        report.failed += 1
        report.errors.append(f"{key}: {type(exc).__name__}")
