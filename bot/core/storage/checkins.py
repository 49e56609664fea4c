"""Check-ins (打卡): one row per person and study day, whichever chat they checked in from.

The person, not the chat, studies: a ✅ in a group and one in the private chat count for the same
person, once a study day. The streak itself is `bot.core.streaks.streak` over `checkin_dates`.
"""

from __future__ import annotations

from datetime import date

from bot.core.storage.db import Database, Instant, _date_str, _locked


class CheckinStore(Database):
    """Who studied on which study day."""

    @_locked
    def check_in(
        self,
        user_key: str,
        chat_key: str,
        study_date: date | str,
        now: Instant,
        lesson_day: int | None = None,
        course_id: int = 1,
    ) -> bool:
        """Record that the user studied on `study_date` (pressed ✅ or said 打卡 in `chat_key`); False
        if that study day was recorded already (nothing changes then)."""
        with self._tx():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO checkins (user_key, study_date, chat_key, course_id, lesson_day, "
                "checked_at) VALUES (?, ?, ?, ?, ?, ?)",
                [user_key, _date_str(study_date), chat_key, int(course_id), lesson_day, self._now(now)],
            )
            return cursor.rowcount == 1

    @_locked
    def checkin_dates(self, user_key: str) -> list[date]:
        """The study days the user checked in on, oldest first (a range of the primary key)."""
        rows = self.db.execute(
            "SELECT study_date FROM checkins WHERE user_key = ? ORDER BY study_date", [user_key]
        )
        return [date.fromisoformat(d) for (d,) in rows]

    @_locked
    def group_checkins(self, chat_key: str, study_date: date | str) -> int:
        """How many of a group's people studied on `study_date`: those who ever checked in in the group,
        with a check-in that day in any chat (the group's or their own)."""
        # idx_checkins_chat gives the group's people, the primary key each one's day.
        row = self.db.execute(
            "SELECT count(*) FROM (SELECT DISTINCT user_key FROM checkins WHERE chat_key = ?) AS g "
            "JOIN checkins AS c ON c.user_key = g.user_key AND c.study_date = ?",
            [chat_key, _date_str(study_date)],
        ).fetchone()
        return int(row[0])
