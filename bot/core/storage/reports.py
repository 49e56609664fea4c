"""Reports by group: who was seen in each group, who checked in, answers and reflections over a period,
learners per day, and the weekly summary's once-per-week claims.

A period is given as study days (`first`, `last`: check-ins are kept by study day) and the instants it
spans (`lo`, `hi`: epoch seconds, for answers and reflections); the caller works them out from `now`.
Every query is a range of an index (`_m006_reports`): /stats over 100,000 groups and 1,000,000 answers
reads only the groups it shows (`benchmarks/bench_reports.py`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.core.storage.db import Database, Instant, _date_str, _locked

GROUP_TYPES = ("group", "supergroup")


class ReportStore(Database):
    """Figures per group, and the weekly summary's claims."""

    @_locked
    def groups_by_members(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The `limit` groups with the most members seen (people who answered, wrote or checked in there),
        most first, and how many groups there are in all (seen or not)."""
        # Down the index on the counts; a chat that is no group (a private chat, a migrated group) is
        # passed over, so the scan reads about as many rows as it shows.
        rows = self.db.execute(
            "SELECT n.chat_key, n.members, c.title, c.chat_type, c.course_id, c.migrated_to "
            "FROM chat_member_counts n INDEXED BY idx_chat_member_counts JOIN chats c ON c.key = n.chat_key "
            "ORDER BY n.members DESC"
        )
        out: list[dict[str, Any]] = []
        for key, seen, title, chat_type, course_id, migrated_to in rows:
            if chat_type not in GROUP_TYPES or migrated_to is not None:
                continue
            out.append({"key": key, "title": title, "course_id": course_id, "members_seen": seen})
            if len(out) == limit:
                break
        rows.close()
        total = self.db.execute(
            "SELECT count(*) FROM chats WHERE chat_type IN ('group', 'supergroup') AND migrated_to IS NULL"
        ).fetchone()[0]
        return out, int(total)

    @_locked
    def group_period(self, chat_key: str, first: date, last: date, lo: int, hi: int) -> dict[str, Any]:
        """One group over a period: people who checked in there, answers and correct ones by part,
        reflections written there."""
        checked = self.db.execute(
            "SELECT count(DISTINCT user_key) FROM checkins WHERE chat_key = ? AND study_date BETWEEN ? AND ?",
            [chat_key, _date_str(first), _date_str(last)],
        ).fetchone()[0]
        parts = {
            section: (int(n), int(ok or 0))
            for section, n, ok in self.db.execute(
                "SELECT section_id, count(*), sum(correct) FROM quiz_answers "
                "WHERE chat_key = ? AND answered_at >= ? AND answered_at < ? GROUP BY section_id",
                [chat_key, int(lo), int(hi)],
            )
        }
        reflections = self.db.execute(
            "SELECT count(*) FROM reflections WHERE chat_key = ? AND created_at >= ? AND created_at < ?",
            [chat_key, int(lo), int(hi)],
        ).fetchone()[0]
        answered = sum(n for n, _ in parts.values())
        correct = sum(ok for _, ok in parts.values())
        return {
            "checked_in": int(checked),
            "answered": answered,
            "correct": correct,
            "accuracy": correct / answered if answered else None,
            "by_section": parts,
            "reflections": int(reflections),
        }

    @_locked
    def groups_checked_in(self, first: date, last: date) -> int:
        """People who checked in in any group over the study days first..last."""
        row = self.db.execute(
            "SELECT count(DISTINCT c.user_key) FROM checkins c JOIN chats g ON g.key = c.chat_key "
            "WHERE c.study_date BETWEEN ? AND ? AND g.chat_type IN ('group', 'supergroup')",
            [_date_str(first), _date_str(last)],
        ).fetchone()
        return int(row[0])

    @_locked
    def learners_per_day(self, first: date, last: date) -> list[tuple[date, int]]:
        """People who checked in (anywhere) on each study day first..last, every day listed."""
        counts = dict(
            self.db.execute(
                "SELECT study_date, count(*) FROM checkins WHERE study_date BETWEEN ? AND ? GROUP BY study_date",
                [_date_str(first), _date_str(last)],
            ).fetchall()
        )
        days = (last - first).days + 1
        return [
            (day, int(counts.get(day.isoformat(), 0)))
            for day in (date.fromordinal(first.toordinal() + i) for i in range(days))
        ]

    # ----------------------------------------------------------------- the weekly summary

    @_locked
    def claim_weekly(self, week: date | str, chat_key: str, now: Instant) -> bool:
        """Claim the summary of `week` (its Monday) for one recipient; False if it was claimed before."""
        with self._tx():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO weekly_reports (week, chat_key, created_at) VALUES (?, ?, ?)",
                [_date_str(week), chat_key, self._now(now)],
            )
            return cursor.rowcount == 1

    @_locked
    def complete_weekly(
        self, week: date | str, chat_key: str, now: Instant, error: str | None = None
    ) -> None:
        """Record that the claimed summary went out (or, with `error`, that it failed for good)."""
        with self._tx():
            self.db.execute(
                "UPDATE weekly_reports SET state = ?, error = ?, sent_at = ? WHERE week = ? AND chat_key = ?",
                ["failed" if error else "sent", error, self._now(now), _date_str(week), chat_key],
            )

    @_locked
    def release_weekly(self, week: date | str, chat_key: str) -> None:
        """Give a claim back (a send to be tried again at the next tick)."""
        with self._tx():
            self.db.execute(
                "DELETE FROM weekly_reports WHERE week = ? AND chat_key = ? AND state = 'claimed'",
                [_date_str(week), chat_key],
            )

    @_locked
    def weekly_states(self, week: date | str) -> dict[str, str]:
        """Each recipient's state for the summary of `week`."""
        return dict(
            self.db.execute(
                "SELECT chat_key, state FROM weekly_reports WHERE week = ?", [_date_str(week)]
            ).fetchall()
        )
