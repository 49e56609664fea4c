"""Every interface scheduled work uses, in one place: the store, the message makers, the senders, the
calendar, and the errors a sender raises.

`jobs/` imports nothing of `bot/`: the service hands the daily push, the study reminders and the fan-out
a store (the core's `Storage`), what to say (the core's actions), one `Sender` per channel (Telegram,
WeCom robots, the WeCom app, the console) and the calendar (the core's `schedule` module). So the jobs run the same for
every channel and are tested against real HTTP stand-ins, and the core never depends on them.

A message and a text (`Message`, `Text` below) are opaque here: a maker builds them, a sender sends
them; a job only passes them on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, Protocol

Message = Any  # what a maker builds and a sender sends (the core's Message)
Text = Any  # rich text a sender can put in place of an earlier message (the core's Doc)
Row = dict[str, Any]
Instant = datetime | int


class Blocked(Exception):
    """The chat blocked or removed the bot (403): stop sending to it."""


class Migrated(Exception):
    """The group became a supergroup with a new chat key: move it and send there."""

    def __init__(self, new_key: str):
        super().__init__(new_key)
        self.new_key = new_key


class RetryLater(Exception):
    """Rate limited (429 or WeCom 45009): wait `seconds`, then resend."""

    def __init__(self, seconds: float):
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class TemporaryError(Exception):
    """A network error or a server error: worth retrying with backoff."""


class PermanentError(Exception):
    """The platform refused the message for good (e.g. a bad request): count it as failed."""


class Sender(Protocol):
    """Sends to the chats of one channel."""

    def is_group(self, chat_key: str, chat_type: str) -> bool:
        """Whether the per-group limit (20 a minute) applies to this chat."""
        ...

    async def send(self, chat_key: str, message: Message) -> str | None:
        """Send one message (split as the channel needs); return its id, raise the exceptions above."""
        ...

    async def edit(self, chat_key: str, message_id: str, doc: Text) -> None:
        """Replace the text of a message sent earlier (progress reports); may do nothing."""
        ...


class Calendar(Protocol):
    """When a chat's lesson is due: pure functions of its zone, push time, last lesson date and now."""

    def local_date(self, tz: Any, now: datetime) -> date:
        """The date in zone `tz` at `now`."""
        ...

    def next_due(self, tz: Any, push_time: time, last_local_date: date | None, now: datetime) -> datetime:
        """The next push instant after a lesson on `last_local_date` (never before local today)."""
        ...

    def is_catch_up(self, tz: Any, push_time: time, now: datetime) -> bool:
        """Whether a push at `now` makes up for today's time having passed while the bot was down."""
        ...


class Lessons(Protocol):
    """What the daily push sends: each chat's next lesson, of the course it studies."""

    def plan_length_of(self, course_id: int) -> int:
        """Days in a course's lesson plan; positions from there on are review days."""
        ...

    async def prepare(self, chat: Row) -> None:
        """Have what the chat's next push needs at hand (a course's model built off the event loop)."""
        ...

    def push_for(self, chat: Row, catch_up_of: time | None = None) -> tuple[int, int, int, Message]:
        """The chat's next push: (course, plan position, lesson day, message); `catch_up_of` marks 补发.
        The course may be another than the chat's own (it moves on to it with this push)."""
        ...


class DeliveryStore(Protocol):
    """The daily push's part of the store: due chats and their once-a-day delivery claims."""

    def due_chats(self, now_epoch: Instant, limit: int, channels: Iterable[str] | None = None) -> list[Row]:
        """Subscribed, unblocked chats whose next_due has come, earliest first."""
        ...

    def get_chat(self, key: str) -> Row | None:
        """One chat's row."""
        ...

    def claim_delivery(
        self,
        chat_key: str,
        local_date: date,
        lesson_day: int,
        catch_up: bool,
        now: Instant,
        course_id: int = 1,
    ) -> bool:
        """Claim the chat's lesson of `local_date` (unique per chat and date); False if already claimed."""
        ...

    def complete_delivery(
        self,
        chat_key: str,
        local_date: date | str,
        message_id: str | None,
        next_due: Instant | None,
        plan_pos: int,
        now: Instant,
        plan_done: bool = False,
        course_id: int | None = None,
    ) -> None:
        """Mark the claim sent and, in the same transaction, advance the chat's plan and next_due (on
        `course_id`, which the chat moves on to if it is another course)."""
        ...

    def fail_delivery(
        self, chat_key: str, local_date: date, error: str, now: Instant, next_due: Instant | None = None
    ) -> None:
        """Release the claim as failed; optionally retry at `next_due`."""
        ...

    def claimed_unsent(self) -> list[Row]:
        """Claims a killed process left unsent."""
        ...

    def set_next_due(self, key: str, next_due: Instant | None) -> bool:
        """Move the chat's next push."""
        ...

    def mark_blocked(self, key: str) -> bool:
        """The chat blocked the bot: no more pushes."""
        ...

    def migrate_chat(self, old_key: str, new_key: str) -> Row | None:
        """The group became a supergroup: move its row and history to the new key."""
        ...


class ReminderCalendar(Protocol):
    """When a chat's study reminder is due: pure functions of its zone, reminder time and now."""

    def study_date(self, tz: Any, now: datetime) -> date:
        """The study day at `now` (04:00 to 04:00 local)."""
        ...

    def next_reminder(
        self, tz: Any, remind_at: time, handled: date | None, now: datetime
    ) -> tuple[date, datetime]:
        """(study day, instant) of the next reminder after study day `handled` that is not too late."""
        ...


class ReminderMessages(Protocol):
    """What a study reminder says."""

    def reminder_for(self, chat: Row, study_date: date) -> Message | None:
        """The chat's reminder of `study_date`, or None when it needs none (the person studied)."""
        ...


class ReminderStore(Protocol):
    """The reminders' part of the store: due chats and their once-a-day claims."""

    def due_reminders(
        self, now_epoch: Instant, limit: int, channels: Iterable[str] | None = None
    ) -> list[Row]:
        """Chats whose remind_next_due has come, earliest first."""
        ...

    def get_chat(self, key: str) -> Row | None:
        """One chat's row."""
        ...

    def claim_reminder(self, chat_key: str, study_date: date, now: Instant) -> bool:
        """Claim the chat's reminder of `study_date` (unique per chat and day); False if already handled."""
        ...

    def complete_reminder(
        self, chat_key: str, study_date: date, sent: bool, next_due: Instant | None, now: Instant
    ) -> None:
        """Mark the claim sent (or skipped) and, in the same transaction, set the chat's next reminder."""
        ...

    def fail_reminder(
        self, chat_key: str, study_date: date, error: str, now: Instant, next_due: Instant | None = None
    ) -> None:
        """Release the claim as failed; optionally try again at `next_due`."""
        ...

    def claimed_reminders(self) -> list[Row]:
        """Claims a killed process left unsent."""
        ...

    def set_remind_due(self, key: str, next_due: Instant | None) -> bool:
        """Move the chat's next reminder."""
        ...

    def mark_blocked(self, key: str) -> bool:
        """The chat blocked the bot: nothing more goes to it."""
        ...

    def migrate_chat(self, old_key: str, new_key: str) -> Row | None:
        """The group became a supergroup: move its row and history to the new key."""
        ...


class BroadcastMessages(Protocol):
    """What the fan-out says."""

    def announcement(self, text: str) -> Message:
        """The announcement as every recipient gets it."""
        ...

    def progress(self, counts: Mapping[str, int], waiting: Sequence[str] = ()) -> Text:
        """The admin's progress line; `waiting`: the channels (tg, wecom, robot) whose sends keep failing
        for now, their recipients queued to be tried again."""
        ...

    def report(self, counts: Mapping[str, int], seconds: float) -> Text:
        """The final report."""
        ...


class BroadcastStore(Protocol):
    """The fan-out's part of the store: a durable queue, one row per recipient."""

    def get_broadcast(self, broadcast_id: int) -> Row | None:
        """The broadcast's row (state, text, progress message)."""
        ...

    def broadcast_counts(self, broadcast_id: int) -> dict[str, int]:
        """Recipients by state."""
        ...

    def reset_inflight(self, broadcast_id: int | None = None) -> int:
        """Sends left `sending` by a crash go back to pending; returns how many."""
        ...

    def pending_page(
        self, broadcast_id: int, after: int, limit: int
    ) -> Sequence[tuple[int, str, str | None]]:
        """The next page of pending recipients: (rowid, chat key, chat type)."""
        ...

    def mark_sending(self, broadcast_id: int, chat_key: str, now: Instant | None = None) -> None:
        """Committed just before the send."""
        ...

    def record_outcomes(
        self, broadcast_id: int, outcomes: Iterable[tuple[str, str, str | None]], now: Instant | None = None
    ) -> None:
        """Outcomes (chat key, state, error) in one transaction."""
        ...

    def recipient_state(self, broadcast_id: int, chat_key: str) -> str | None:
        """One recipient's state, or None if it is not a recipient."""
        ...

    def drop_recipient(self, broadcast_id: int, chat_key: str) -> None:
        """Remove a recipient row (a migrated group that is a recipient under its new key too)."""
        ...

    def migrate_chat(self, old_key: str, new_key: str) -> Row | None:
        """The group became a supergroup: move its row and history to the new key."""
        ...

    def finish_broadcast(self, broadcast_id: int, now: Instant) -> bool:
        """Mark the broadcast done."""
        ...


class WeeklyMessages(Protocol):
    """What the weekly summary says, and when it is due."""

    def week_due(self, now: datetime) -> date | None:
        """The Monday the week to summarize began, when its summary is due at now; else None."""
        ...

    async def summary(self, now: datetime) -> Message:
        """The summary of that week."""
        ...


class WeeklyStore(Protocol):
    """The weekly summary's claims: one per week and recipient."""

    def weekly_states(self, week: date) -> dict[str, str]:
        """Each recipient's state for the week."""
        ...

    def claim_weekly(self, week: date, chat_key: str, now: Instant) -> bool:
        """Claim the week for a recipient; False if it was claimed before."""
        ...

    def complete_weekly(self, week: date, chat_key: str, now: Instant, error: str | None = None) -> None:
        """The claimed summary went out (or failed for good)."""
        ...

    def release_weekly(self, week: date, chat_key: str) -> None:
        """Give a claim back, to be tried again."""
        ...
