"""The daily push's deliveries and the other messages that show a lesson.

A delivery row per chat and local date is what makes the push exactly-once per local day.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.core.storage.courses import CourseStore
from bot.core.storage.db import Instant, _date_str, _locked, _opt_epoch, epoch


# Over ChatStore rather than Database: a push that is sent or failed advances or reschedules its chat
# (plan_pos, next_due) in the same transaction, through ChatStore's _update_chat and _DUE_IF_ACTIVE.
class DeliveryStore(CourseStore):
    """Claims and outcomes of the daily push, and lesson messages."""

    @_locked
    def claim_delivery(
        self,
        chat_key: str,
        local_date: date | str,
        lesson_day: int,
        catch_up: bool,
        now: Instant,
        course_id: int = 1,
    ) -> bool:
        """Claim the chat's push (a lesson of `course_id`) for local_date; False if that date is already
        claimed or sent."""
        day = _date_str(local_date)
        ts = self._now(now)
        with self._tx():
            # The UNIQUE(chat_key, local_date) row is the once-per-local-day guarantee: whichever
            # tick (or process, or restart) inserts it first owns the send.
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO deliveries "
                "(chat_key, local_date, lesson_day, state, catch_up, created_at, course_id) "
                "VALUES (?, ?, ?, 'claimed', ?, ?, ?)",
                [chat_key, day, int(lesson_day), int(catch_up), ts, int(course_id)],
            )
            if cursor.rowcount == 1:
                return True
            # Only an explicitly failed send may be retried the same day; a claim whose outcome is
            # unknown (crash mid-send) is never retried, because "restarts never repeat a lesson".
            cursor = self.db.execute(
                "UPDATE deliveries SET state = 'claimed', lesson_day = ?, catch_up = ?, error = NULL, "
                "attempts = attempts + 1, created_at = ?, course_id = ? "
                "WHERE chat_key = ? AND local_date = ? AND state = 'failed'",
                [int(lesson_day), int(catch_up), ts, int(course_id), chat_key, day],
            )
            return cursor.rowcount == 1

    @_locked
    def complete_delivery(
        self,
        chat_key: str,
        local_date: date | str,
        message_id: str | int | None,
        next_due: Instant | None,
        plan_pos: int,
        now: Instant,
        plan_done: bool | None = None,
        course_id: int | None = None,
    ) -> None:
        """Mark the claimed push sent and, in the same transaction, advance the chat's plan and next_due;
        a push of another course than the chat's (`course_id`) puts the chat on it, its place in the old
        one kept."""
        day = _date_str(local_date)
        ts = self._now(now)
        with self._tx():
            if course_id is not None:
                self._switch_to(chat_key, int(course_id), ts)
            cursor = self.db.execute(
                "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?, error = NULL "
                "WHERE chat_key = ? AND local_date = ?",
                [None if message_id is None else str(message_id), ts, chat_key, day],
            )
            if cursor.rowcount != 1:
                raise KeyError(f"no claimed delivery for {chat_key!r} on {day}")
            sets = f"plan_pos = ?, last_local_date = ?, {self._DUE_IF_ACTIVE}"
            params: list[Any] = [int(plan_pos), day, _opt_epoch(next_due)]
            if plan_done is not None:
                sets += ", plan_done = ?"
                params.append(int(plan_done))
            self._update_chat(chat_key, sets, params)
            chat = self._one("SELECT course_id, plan_pos, plan_done FROM chats WHERE key = ?", [chat_key])
            if chat is not None:
                self._keep_place(
                    chat_key, int(chat["course_id"]), int(chat["plan_pos"]), bool(chat["plan_done"]), ts
                )

    @_locked
    def fail_delivery(
        self,
        chat_key: str,
        local_date: date | str,
        error: str,
        now: Instant,
        next_due: Instant | None = None,
    ) -> None:
        """Mark the claimed push failed (it may be claimed again) and optionally reschedule the chat."""
        day = _date_str(local_date)
        with self._tx():
            self.db.execute(
                "UPDATE deliveries SET state = 'failed', error = ? WHERE chat_key = ? AND local_date = ?",
                [str(error)[:500], chat_key, day],
            )
            if next_due is not None:
                self._update_chat(chat_key, self._DUE_IF_ACTIVE, [epoch(next_due)])

    @_locked
    def claimed_unsent(self, chat_key: str | None = None) -> list[dict[str, Any]]:
        """Deliveries claimed but never completed or failed (a crash mid-send), oldest first."""
        if chat_key is None:
            return self._all("SELECT * FROM deliveries WHERE state = 'claimed' ORDER BY created_at, id")
        return self._all(
            "SELECT * FROM deliveries WHERE state = 'claimed' AND chat_key = ? ORDER BY created_at, id",
            [chat_key],
        )

    @_locked
    def deliveries_on(self, local_date: date | str) -> list[dict[str, Any]]:
        """All deliveries of one local date."""
        return self._all("SELECT * FROM deliveries WHERE local_date = ? ORDER BY id", [_date_str(local_date)])

    @_locked
    def last_delivery(self, chat_key: str) -> dict[str, Any] | None:
        """The chat's latest sent delivery (which lesson a reflection is probably about), or None."""
        return self._one(
            "SELECT * FROM deliveries WHERE chat_key = ? AND state = 'sent' ORDER BY local_date DESC, id DESC LIMIT 1",
            [chat_key],
        )

    @_locked
    def lesson_day_for_message(self, chat_key: str, message_id: str | int) -> int | None:
        """The lesson day of the push with this message id in this chat (a reply target), or None."""
        found = self.lesson_for_message(chat_key, message_id)
        return None if found is None else found[1]

    @_locked
    def lesson_for_message(self, chat_key: str, message_id: str | int) -> tuple[int, int] | None:
        """(course, lesson day) of the push or lesson message with this id in this chat, or None."""
        row = self._one(
            "SELECT course_id, lesson_day FROM deliveries WHERE chat_key = ? AND message_id = ? "
            "ORDER BY id DESC LIMIT 1",
            [chat_key, str(message_id)],
        ) or self._one(
            "SELECT course_id, lesson_day FROM lesson_messages WHERE chat_key = ? AND message_id = ?",
            [chat_key, str(message_id)],
        )
        return None if row is None else (int(row["course_id"]), int(row["lesson_day"]))

    @_locked
    def remember_lesson_message(
        self, chat_key: str, message_id: str | int, lesson_day: int, now: Instant, course_id: int = 1
    ) -> None:
        """Remember that a message (e.g. /today's) shows a lesson, so replies to it are reflections on it."""
        with self._tx():
            self.db.execute(
                "INSERT OR REPLACE INTO lesson_messages (chat_key, message_id, lesson_day, created_at, course_id) "
                "VALUES (?, ?, ?, ?, ?)",
                [chat_key, str(message_id), int(lesson_day), self._now(now), int(course_id)],
            )
