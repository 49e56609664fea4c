"""Study reminders: at a chat's `/remind HH:MM`, one nudge on the days its person has not studied yet.

Computed from the database like the daily push (`jobs.daily`), in the same tick: which chats are due is
one indexed query (`chats.remind_next_due`), never a timer per chat. Exactly once per chat and study
day: the reminder is claimed in the database (unique per chat and study day) right before its send and
completed after it, in one transaction with the chat's next reminder; a claim a killed process left is
counted as sent at start-up (`settle_interrupted`), so a restart never sends it again.

What a chat gets comes from the core (`ReminderMessages.reminder_for`): a private chat nothing when its
person checked in that study day (the claim is completed as skipped), a group one message naming nobody.
A reminder the bot was down for goes out when it is back only if it is at most two hours late and its
study day has not ended (`ReminderCalendar.next_reminder`); otherwise that day's is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from jobs.inflight import DRAIN_SECONDS, InFlight
from jobs.interfaces import (
    Blocked,
    Migrated,
    PermanentError,
    ReminderCalendar,
    ReminderMessages,
    ReminderStore,
    RetryLater,
    Sender,
    TemporaryError,
)
from jobs.pacing import Pacer, in_flight

logger = logging.getLogger(__name__)

BATCH = 2000
RETRY_AFTER = timedelta(minutes=5)
SEND_BUDGET = 60.0


@dataclass
class ReminderReport:
    """What one tick did."""

    sent: int = 0
    skipped: int = 0  # not needed (the person studied), or handled already
    blocked: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


class Reminders:
    """Finds the chats whose reminder time has come and sends each its reminder of the day."""

    def __init__(
        self,
        storage: ReminderStore,
        messages: ReminderMessages,
        senders: Mapping[str, Sender],
        pacer: Pacer,
        calendar: ReminderCalendar,
        concurrency: int | None = None,
        drain_seconds: float = DRAIN_SECONDS,
    ):
        self.storage = storage
        self.messages = messages
        self.senders = senders
        self.pacer = pacer
        self.calendar = calendar
        self.concurrency = concurrency or in_flight(pacer.rate)
        self.drain_seconds = drain_seconds
        self._in_flight = InFlight()

    def settle_interrupted(self, now: datetime) -> int:
        """Claims a killed process left count as sent: a reminder is never sent twice after a restart."""
        settled = 0
        for row in self.storage.claimed_reminders():
            chat = self.storage.get_chat(row["chat_key"])
            day = date.fromisoformat(row["study_date"])
            following = None
            if chat is not None and chat.get("remind_at"):
                _, at = self.calendar.next_reminder(
                    chat["timezone"], time.fromisoformat(chat["remind_at"]), day, now
                )
                following = _epoch(at)
            self.storage.complete_reminder(row["chat_key"], day, True, following, now)
            settled += 1
        if settled:
            logger.warning("settled %d reminders interrupted by a restart", settled)
        return settled

    async def tick(self, now: datetime) -> ReminderReport:
        """Send every reminder due at `now` (in batches until none is left)."""
        report = ReminderReport()
        semaphore = asyncio.Semaphore(self.concurrency)
        while True:
            chats = self.storage.due_reminders(_epoch(now), limit=BATCH, channels=self.senders)
            if not chats:
                return report
            tasks = [asyncio.create_task(self._one(chat, now, semaphore, report)) for chat in chats]
            try:
                await asyncio.gather(*tasks)
            except asyncio.CancelledError:
                await self._in_flight.drain(self.drain_seconds)
                raise

    async def _one(
        self, chat: dict, now: datetime, semaphore: asyncio.Semaphore, report: ReminderReport
    ) -> None:
        async with semaphore:
            try:
                await self._remind(chat, now, report)
            except Exception as exc:  # noqa: BLE001 - one chat's trouble must not stop the others
                logger.debug("reminder for %s failed", chat["key"], exc_info=True)
                report.failed += 1
                report.errors.append(f"{chat['key']}: {type(exc).__name__}")
                self.storage.set_remind_due(chat["key"], _epoch(now + RETRY_AFTER))

    def _following(self, chat: dict, day: date, now: datetime) -> int:
        """The chat's next reminder after study day `day`."""
        at = time.fromisoformat(chat["remind_at"])
        return _epoch(self.calendar.next_reminder(chat["timezone"], at, day, now)[1])

    async def _remind(self, chat: dict, now: datetime, report: ReminderReport) -> None:
        key, zone = chat["key"], chat["timezone"]
        day, at = self.calendar.next_reminder(zone, time.fromisoformat(chat["remind_at"]), None, now)
        if at > now:
            # Stored for a day whose reminder is too late now (the bot was down): that one is skipped.
            self.storage.set_remind_due(key, _epoch(at))
            report.skipped += 1
            return
        message = self.messages.reminder_for(chat, day)
        if message is None:  # the person studied today: nothing to say, and nothing more today
            if self.storage.claim_reminder(key, day, now):
                self.storage.complete_reminder(key, day, False, self._following(chat, day, now), now)
            else:
                self.storage.set_remind_due(key, self._following(chat, day, now))
            report.skipped += 1
            return
        sender = self.senders[chat["channel"]]
        deadline = asyncio.get_running_loop().time() + SEND_BUDGET
        for _ in range(4):
            await self.pacer.acquire(key, sender.is_group(key, chat["chat_type"]))
            outcome = await self._in_flight.run(
                self._attempt(sender, chat, key, day, message, now, deadline, report)
            )
            if isinstance(outcome, str):  # the chat moved to a new key (a group became a supergroup)
                key = outcome
                continue
            if outcome is None:
                return
            await asyncio.sleep(outcome)
        self._failed(chat, key, day, TemporaryError("gave up after retries"), now, report)

    async def _attempt(
        self,
        sender: Sender,
        chat: dict,
        key: str,
        day: date,
        message: object,
        now: datetime,
        deadline: float,
        report: ReminderReport,
    ) -> float | str | None:
        """Claim the reminder and send it; None when settled, seconds to wait before trying again (the
        claim given back), or the chat's new key to try at once."""
        if not self.storage.claim_reminder(key, day, now):
            self.storage.set_remind_due(key, self._following(chat, day, now))
            report.skipped += 1
            return None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(max(1.0, deadline - loop.time())):
                await sender.send(key, message)
        except RetryLater as exc:
            self.pacer.pause(exc.seconds)
            self.storage.fail_reminder(key, day, "RetryLater", now)
            return 0.0
        except Migrated as exc:
            self.storage.fail_reminder(key, day, "Migrated", now)
            self.storage.migrate_chat(key, exc.new_key)
            return exc.new_key
        except TemporaryError as exc:
            if loop.time() + 1 > deadline:
                self._failed(chat, key, day, exc, now, report)
                return None
            self.storage.fail_reminder(key, day, "TemporaryError", now)
            return 1.0
        except Exception as exc:  # noqa: BLE001 - blocked, refused, or no answer in time
            self._failed(chat, key, day, exc, now, report)
            return None
        self.storage.complete_reminder(key, day, True, self._following(chat, day, now), now)
        report.sent += 1
        return None

    def _failed(
        self, chat: dict, key: str, day: date, exc: Exception, now: datetime, report: ReminderReport
    ) -> None:
        if isinstance(exc, Blocked):
            self.storage.fail_reminder(key, day, "blocked", now)
            self.storage.mark_blocked(key)
            report.blocked += 1
            return
        if isinstance(exc, PermanentError):  # refused for good: resending today cannot help
            following = self._following(chat, day, now)
        else:  # tried again in a few minutes while the reminder is still worth sending, else the next day's
            retry = now + RETRY_AFTER
            at = time.fromisoformat(chat["remind_at"])
            following = _epoch(max(retry, self.calendar.next_reminder(chat["timezone"], at, None, retry)[1]))
        self.storage.fail_reminder(key, day, type(exc).__name__, now, next_due=following)
        report.failed += 1
        report.errors.append(f"{key}: {type(exc).__name__}")
