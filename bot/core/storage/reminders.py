"""Study reminders: a chat's reminder time, the indexed due query, and the claim per chat and study day.

`chats.remind_next_due` (UTC, indexed) is NULL unless the chat has a reminder (`remind_at`) and can
receive it (not blocked, not migrated); every write here and in `chats` keeps that, so the due query is a
range of its index. A `reminders` row (unique per chat and study day) is claimed before the send and
completed after it: whoever inserts it first owns that day's reminder, so a second tick or a restart
cannot send it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from typing import Any

from bot.core.storage.chats import ChatStore
from bot.core.storage.db import Instant, _date_str, _hhmm, _locked, _opt_epoch, channel_filter, epoch


class ReminderStore(ChatStore):
    """The reminders' settings, due chats and once-a-day claims."""

    @_locked
    def set_reminder(self, key: str, remind_at: str | time | None, next_due: Instant | None) -> None:
        """Remind the chat daily at `remind_at` ('HH:MM'), next at `next_due`; None turns it off."""
        with self._tx():
            self._require_chat(key)
            at = None if remind_at is None else _hhmm(remind_at)
            # Two statements: the CASE of _REMIND_IF_ACTIVE reads the row as it is before its UPDATE.
            self._update_chat(key, "remind_at = ?", [at])
            self._update_chat(key, self._REMIND_IF_ACTIVE, [_opt_epoch(next_due)])

    @_locked
    def set_remind_due(self, key: str, next_due: Instant | None) -> bool:
        """Move the chat's next reminder (ignored unless it has one and can get it)."""
        return self._update_chat(key, self._REMIND_IF_ACTIVE, [_opt_epoch(next_due)])

    @_locked
    def due_reminders(
        self, now_epoch: Instant, limit: int = 1000, channels: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Chats whose reminder is due, earliest first, at most `limit`; only of `channels` when given."""
        # A range scan of idx_chats_remind_next_due, as due_chats is of idx_chats_next_due.
        only, names = channel_filter(channels)
        params: list[Any] = [epoch(now_epoch), *names]
        return self._all(
            "SELECT * FROM chats WHERE remind_next_due <= ? AND remind_at IS NOT NULL AND blocked = 0 "
            f"AND migrated_to IS NULL{only} ORDER BY remind_next_due LIMIT ?",
            [*params, int(limit)],
        )

    @_locked
    def count_due_reminders(self, now_epoch: Instant) -> int:
        """How many chats `due_reminders` would yield now, for /metrics (a range of
        idx_chats_remind_next_due, the index alone: remind_next_due is NULL unless the chat can get one)."""
        row = self.db.execute(
            "SELECT count(*) FROM chats WHERE remind_next_due <= ?", [epoch(now_epoch)]
        ).fetchone()
        return int(row[0])

    @_locked
    def claim_reminder(self, chat_key: str, study_date: date | str, now: Instant) -> bool:
        """Claim the chat's reminder of `study_date`; False if it is claimed, sent or skipped already
        (only a failed one may be claimed again)."""
        day = _date_str(study_date)
        ts = self._now(now)
        with self._tx():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO reminders (chat_key, study_date, state, created_at) "
                "VALUES (?, ?, 'claimed', ?)",
                [chat_key, day, ts],
            )
            if cursor.rowcount == 1:
                return True
            cursor = self.db.execute(
                "UPDATE reminders SET state = 'claimed', error = NULL, attempts = attempts + 1, created_at = ? "
                "WHERE chat_key = ? AND study_date = ? AND state = 'failed'",
                [ts, chat_key, day],
            )
            return cursor.rowcount == 1

    @_locked
    def complete_reminder(
        self, chat_key: str, study_date: date | str, sent: bool, next_due: Instant | None, now: Instant
    ) -> None:
        """The claimed reminder was sent (or `sent=False`: not needed, the person studied); in the same
        transaction the chat's next reminder."""
        with self._tx():
            self.db.execute(
                "UPDATE reminders SET state = ?, sent_at = ?, error = NULL WHERE chat_key = ? AND study_date = ?",
                ["sent" if sent else "skipped", self._now(now), chat_key, _date_str(study_date)],
            )
            self._update_chat(chat_key, self._REMIND_IF_ACTIVE, [_opt_epoch(next_due)])

    @_locked
    def fail_reminder(
        self, chat_key: str, study_date: date | str, error: str, now: Instant, next_due: Instant | None = None
    ) -> None:
        """Release the claim as failed (it may be claimed again) and optionally move the next try."""
        with self._tx():
            self.db.execute(
                "UPDATE reminders SET state = 'failed', error = ? WHERE chat_key = ? AND study_date = ?",
                [str(error)[:500], chat_key, _date_str(study_date)],
            )
            if next_due is not None:
                self._update_chat(chat_key, self._REMIND_IF_ACTIVE, [epoch(next_due)])

    @_locked
    def claimed_reminders(self) -> list[dict[str, Any]]:
        """Reminders claimed but never completed or failed (a kill mid-send), oldest first."""
        return self._all("SELECT * FROM reminders WHERE state = 'claimed' ORDER BY created_at, chat_key")

    @_locked
    def last_reminded(self, chat_key: str) -> date | None:
        """The latest study day the chat's reminder was handled (sent, skipped or in flight), or None."""
        row = self.db.execute(
            "SELECT max(study_date) FROM reminders WHERE chat_key = ? AND state != 'failed'", [chat_key]
        ).fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None
