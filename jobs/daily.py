"""The daily push: every ~20 s, the chats whose time has come get their next lesson, once per local day.

Which chats are due comes from the database (`chats.next_due`, indexed), never from per-chat timers, so it
holds for 100,000 chats and across restarts. Exactly once per chat per local day: a delivery is claimed in
the database (unique per chat and local date) when its send slot has come, right before the send, and
completed after, in one transaction with the chat's next position and next due time; a send to be tried
again gives its claim back while it waits. A claim left by a killed process is settled as sent at start-up
(`settle_interrupted`): a restart never repeats a lesson, and a kill costs at most the sends on the wire.
On shutdown the sends in flight finish (`jobs.inflight`) before the tick is cancelled.

After the plan's last lesson the chat moves on to review: each day one lesson again, in order, with its
prompt and a pointer to /review (the wrong answers due under spaced repetition).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from jobs.inflight import DRAIN_SECONDS, InFlight
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


@dataclass
class _Lesson:
    """One chat's lesson of the day as it goes through its attempts (`key` follows a migration)."""

    key: str
    zone: Any
    push_time: time
    today: date
    pos: int
    day: int
    catch_up: bool
    message: Message
    course: int
    plan_length: int


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
        drain_seconds: float = DRAIN_SECONDS,
    ):
        self.storage = storage
        self.lessons = lessons
        self.senders = senders
        self.pacer = pacer
        self.calendar = calendar
        self.concurrency = concurrency or in_flight(pacer.rate)
        self.drain_seconds = drain_seconds
        self._in_flight = InFlight()

    def settle_interrupted(self, now: datetime) -> int:
        """Claims a killed process left unsent count as sent: a lesson is never repeated after a restart."""
        settled = 0
        for row in self.storage.claimed_unsent():
            chat = self.storage.get_chat(row["chat_key"])
            if chat is None:
                continue
            day = date.fromisoformat(row["local_date"])
            due = self.calendar.next_due(chat["timezone"], time.fromisoformat(chat["push_time"]), day, now)
            course = int(row.get("course_id") or 1)
            same = course == int(chat.get("course_id") or 1)
            pos = max(int(chat["plan_pos"]) if same else 0, row["lesson_day"])
            self.storage.complete_delivery(
                row["chat_key"],
                row["local_date"],
                None,
                _epoch(due),
                pos,
                now,
                plan_done=pos >= self.lessons.plan_length_of(course),
                course_id=course,
            )
            settled += 1
        if settled:
            logger.warning("settled %d deliveries interrupted by a restart", settled)
        return settled

    async def tick(self, now: datetime, clock: Callable[[], datetime] | None = None) -> PushReport:
        """Send every lesson due at `now` (in batches until none is left)."""
        report = PushReport()
        semaphore = asyncio.Semaphore(self.concurrency)
        while True:
            chats = self.storage.due_chats(_epoch(now), limit=BATCH, channels=self.senders)
            if not chats:
                return report
            tasks = [asyncio.create_task(self._one(chat, now, semaphore, report)) for chat in chats]
            try:
                await asyncio.gather(*tasks)
            except asyncio.CancelledError:
                # Shutting down: no chat starts its send any more; those in flight finish and are recorded.
                await self._in_flight.drain(self.drain_seconds)
                raise

    async def _one(self, chat: dict, now: datetime, semaphore: asyncio.Semaphore, report: PushReport) -> None:
        # A turn of the semaphore first: at most `concurrency` chats wait for a send slot or send at a time,
        # not a whole batch of 2,000 at once.
        async with semaphore:
            await self._deliver(chat, now, report)

    async def _deliver(self, chat: dict, now: datetime, report: PushReport) -> None:
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
        catch_up = calendar.is_catch_up(zone, push_time, now)
        await self.lessons.prepare(chat)
        # The lessons share one Message per course, position and catch-up: a sender renders each once.
        course, pos, day, message = self.lessons.push_for(chat, push_time if catch_up else None)
        total = self.lessons.plan_length_of(course)
        lesson = _Lesson(key, zone, push_time, today, pos, day, catch_up, message, course, total)
        sender = self.senders[chat["channel"]]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEND_BUDGET
        for attempt in range(4):
            await self.pacer.acquire(lesson.key, sender.is_group(lesson.key, chat["chat_type"]))
            # Through InFlight: a shutdown lets this send and its bookkeeping finish rather than cutting
            # it off with the claim taken and the outcome unknown.
            wait = await self._in_flight.run(self._attempt(sender, lesson, attempt, deadline, now, report))
            if wait is None:
                return
            if wait:
                await asyncio.sleep(wait)
        self._failed(lesson.key, today, TemporaryError("gave up after retries"), now, report)

    async def _attempt(
        self,
        sender: Sender,
        lesson: _Lesson,
        attempt: int,
        deadline: float,
        now: datetime,
        report: PushReport,
    ) -> float | None:
        """Claim the lesson and send it, now that its send slot has come; None when it is settled (sent,
        failed or someone else's), else the seconds to wait before the next attempt (the claim released).

        Claimed only here, right before the send: a kill leaves claimed-but-unsent only the sends on the
        wire, not every chat waiting for its slot (each lost for the day, as `settle_interrupted` cannot
        tell a send that went out from one that never started). SEND_BUDGET seconds at most for all
        attempts: a robot that keeps answering 45009 is retried at the next try (RETRY_FAILED_AFTER)
        instead of holding up the tick, and with it every chat due later.
        """
        key, today, calendar = lesson.key, lesson.today, self.calendar
        if not self.storage.claim_delivery(key, today, lesson.day, lesson.catch_up, now, lesson.course):
            # Claimed or sent already (a supergroup that had its own lesson today, after a migration).
            self.storage.set_next_due(
                key, _epoch(calendar.next_due(lesson.zone, lesson.push_time, today, now))
            )
            report.skipped += 1
            return None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(max(1.0, deadline - loop.time())):
                message_id = await sender.send(key, lesson.message)
        except TimeoutError:
            self._failed(key, today, TemporaryError(f"no answer within {SEND_BUDGET:.0f} s"), now, report)
            return None
        except RetryLater as exc:
            self.pacer.pause(exc.seconds)
            self._release(lesson, exc, now)
            return 0.0
        except Migrated as exc:
            # Released first, so that the claim moves with the chat and is taken again under its new key.
            self._release(lesson, exc, now)
            self.storage.migrate_chat(key, exc.new_key)
            lesson.key = exc.new_key
            return 0.0
        except TemporaryError as exc:
            if attempt == 3 or loop.time() + 2**attempt > deadline:
                self._failed(key, today, exc, now, report)
                return None
            self._release(lesson, exc, now)
            return float(2**attempt)
        except Exception as exc:  # noqa: BLE001 - a send failing must not stop the others
            self._failed(key, today, exc, now, report)
            return None
        following = _epoch(calendar.next_due(lesson.zone, lesson.push_time, today, now))
        # `key` is the chat's new key if the send followed a migration.
        done = lesson.pos + 1 >= lesson.plan_length
        self.storage.complete_delivery(
            key, today, message_id, following, lesson.pos + 1, now, plan_done=done, course_id=lesson.course
        )
        report.sent += 1
        return None

    def _release(self, lesson: _Lesson, exc: Exception, now: datetime) -> None:
        """Give the claim back while the chat waits for its next attempt: not sent, so not lost to a kill."""
        self.storage.fail_delivery(lesson.key, lesson.today, type(exc).__name__, now)

    def _failed(self, key: str, today: date, exc: Exception, now: datetime, report: PushReport) -> None:
        if isinstance(exc, Blocked):
            self.storage.fail_delivery(key, today, "blocked", now)
            self.storage.mark_blocked(key)
            report.blocked += 1
            return
        # One line per chat would be thousands in an outage; the tick's summary names the errors.
        logger.debug("daily push to %s failed: %s", key, type(exc).__name__)
        # Retry the same day a little later; the claim is released by fail_delivery.
        self.storage.fail_delivery(
            key, today, type(exc).__name__, now, next_due=_epoch(now + RETRY_FAILED_AFTER)
        )
        report.failed += 1
        report.errors.append(f"{key}: {type(exc).__name__}")
