"""Statistics and the export: read-only figures over every table.

A user's days studied, streaks and accuracy (/me), the admin's global figures and subscriber counts, and
the reflections and quiz answers as CSV-ready rows with the EXPORT_FIELDS keys.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from bot.core.storage.db import Database, Instant, _iso, _locked, _utc, _zone

EXPORT_FIELDS = (
    "kind",
    "time",
    "chat",
    "user",
    "user_name",
    "section_or_lesson",
    "text_or_question",
    "answer",
    "correct",
)


class StatsStore(Database):
    """Read-only figures over every table, and the export of reflections and quiz answers."""

    def _local_dates(self, sql: str, params: list[Any], zone: tzinfo) -> set[str]:
        """Local dates (in zone) of the epoch values returned by sql."""
        return {datetime.fromtimestamp(ts, zone).date().isoformat() for (ts,) in self.db.execute(sql, params)}

    @_locked
    def user_stats(self, user_key: str, today_local: date, tz: tzinfo | str) -> dict[str, Any]:
        """A user's days studied, current/best streak, answers, accuracy and reflections."""
        # A day counts as studied when, on that local date, the user's private chat (same key as the
        # user, e.g. tg:42) got its lesson, or the user answered a quiz question or wrote a reflection.
        # The current streak still counts when today is not studied yet but yesterday was.
        zone = _zone(tz)
        days = {
            d
            for (d,) in self.db.execute(
                "SELECT local_date FROM deliveries WHERE chat_key = ? AND state IN ('claimed', 'sent')",
                [user_key],
            )
        }
        days |= self._local_dates("SELECT answered_at FROM quiz_answers WHERE user_key = ?", [user_key], zone)
        days |= self._local_dates("SELECT created_at FROM reflections WHERE user_key = ?", [user_key], zone)
        days |= self._local_dates("SELECT studied_at FROM study_marks WHERE user_key = ?", [user_key], zone)
        dates = sorted(date.fromisoformat(d) for d in days)

        best = run = 0
        previous: date | None = None
        for d in dates:
            run = run + 1 if previous is not None and d - previous == timedelta(days=1) else 1
            best = max(best, run)
            previous = d
        present = set(dates)
        current = 0
        cursor_day = today_local if today_local in present else today_local - timedelta(days=1)
        while cursor_day in present:
            current += 1
            cursor_day -= timedelta(days=1)

        answered, correct = self.db.execute(
            "SELECT count(*), coalesce(sum(correct), 0) FROM quiz_answers WHERE user_key = ?", [user_key]
        ).fetchone()
        reflections = self.db.execute(
            "SELECT count(*) FROM reflections WHERE user_key = ?", [user_key]
        ).fetchone()[0]
        return {
            "days_studied": len(dates),
            "studied_today": today_local in present,
            "current_streak": current,
            "best_streak": best,
            "answered": answered,
            "correct": correct,
            "accuracy": (correct / answered) if answered else None,
            "reflections": reflections,
        }

    @_locked
    def global_stats(self, now: Instant, tz: tzinfo | str = "Asia/Shanghai") -> dict[str, Any]:
        """Admin stats: subscribers, active users and lessons sent today, quiz accuracy per section."""
        # "Today" is the local day of now in tz; active = answered a quiz or wrote a reflection today.
        zone = _zone(tz)
        local_now = _utc(now).astimezone(zone)
        start = datetime.combine(local_now.date(), datetime.min.time(), zone)
        end = datetime.combine(local_now.date() + timedelta(days=1), datetime.min.time(), zone)
        lo, hi = int(start.timestamp()), int(end.timestamp())
        by_type = self.count_subscribed()
        active = self.db.execute(
            "SELECT count(*) FROM (SELECT user_key FROM quiz_answers WHERE answered_at >= ? AND answered_at < ? "
            "UNION SELECT user_key FROM reflections WHERE created_at >= ? AND created_at < ?)",
            [lo, hi, lo, hi],
        ).fetchone()[0]
        sent = self.db.execute(
            "SELECT count(*) FROM deliveries WHERE state = 'sent' AND sent_at >= ? AND sent_at < ?", [lo, hi]
        ).fetchone()[0]
        sections = {
            row["section_id"]: {
                "answered": row["answered"],
                "correct": row["correct"],
                "accuracy": row["correct"] / row["answered"],
            }
            for row in self.db.query(
                "SELECT section_id, count(*) AS answered, sum(correct) AS correct FROM quiz_answers "
                "GROUP BY section_id ORDER BY section_id"
            )
        }

        def scalar(sql: str) -> int:
            return self.db.execute(sql).fetchone()[0]

        return {
            "date": local_now.date().isoformat(),
            "subscribers": by_type,
            "subscribers_total": sum(by_type.values()),
            "chats_total": scalar("SELECT count(*) FROM chats WHERE migrated_to IS NULL"),
            "blocked": scalar("SELECT count(*) FROM chats WHERE blocked = 1"),
            "users_total": scalar("SELECT count(*) FROM users"),
            "active_today": active,
            "lessons_sent_today": sent,
            "reflections_total": scalar("SELECT count(*) FROM reflections"),
            "answers_total": scalar("SELECT count(*) FROM quiz_answers"),
            "quiz_by_section": sections,
        }

    @_locked
    def count_subscribed(self) -> dict[tuple[str, str], int]:
        """Number of subscribed, unblocked chats per (channel, chat_type)."""
        rows = self.db.execute(
            "SELECT channel, chat_type, count(*) FROM chats "
            "WHERE subscribed = 1 AND blocked = 0 AND migrated_to IS NULL GROUP BY channel, chat_type"
        ).fetchall()
        return {(channel, chat_type): n for channel, chat_type, n in rows}

    # ----------------------------------------------------------------- export

    def export_rows(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Reflections and quiz answers as CSV-ready dicts with EXPORT_FIELDS keys, oldest first."""
        reflections = self._export_pages(
            "reflection",
            "SELECT r.created_at, r.id, r.chat_key, r.user_key, u.name, r.lesson_day, r.text, NULL, NULL "
            "FROM reflections r LEFT JOIN users u ON u.key = r.user_key "
            "WHERE (r.created_at, r.id) > (?, ?) ORDER BY r.created_at, r.id LIMIT ?",
            batch,
        )
        answers = self._export_pages(
            "quiz_answer",
            "SELECT a.answered_at, a.id, a.chat_key, a.user_key, u.name, a.section_id, a.question_id, a.option, "
            "a.correct FROM quiz_answers a LEFT JOIN users u ON u.key = a.user_key "
            "WHERE (a.answered_at, a.id) > (?, ?) ORDER BY a.answered_at, a.id LIMIT ?",
            batch,
        )
        for ts, kind, _id, chat, user, user_name, where, content, answer, correct in heapq.merge(
            reflections, answers
        ):
            yield {
                "kind": kind,
                "time": _iso(ts),
                "chat": chat,
                "user": user,
                "user_name": user_name or "",
                "section_or_lesson": "" if where is None else str(where),
                "text_or_question": content,
                "answer": "" if answer is None else answer,
                "correct": "" if correct is None else correct,
            }

    def _export_pages(self, kind: str, sql: str, batch: int) -> Iterator[tuple[Any, ...]]:
        """Rows of sql as (ts, kind, id, ...) tuples, read in keyset-paginated batches."""
        # One short query per batch (an index range scan each), taking the lock only for the query:
        # a long export streamed into a file never blocks the bot nor holds a cursor open across
        # the bot's own commits. Rows written meanwhile may or may not appear.
        last: tuple[int, int] = (-1, -1)
        while True:
            with self._lock:
                rows = self.db.execute(sql, [*last, int(batch)]).fetchall()
            if not rows:
                return
            for ts, row_id, *rest in rows:
                yield (ts, kind, row_id, *rest)
            last = (rows[-1][0], rows[-1][1])
