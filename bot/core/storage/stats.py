"""Statistics and the export: read-only figures over every table.

A user's days studied, streaks and accuracy (/me), the admin's global figures and subscriber counts, and
the reflections and quiz answers as CSV-ready rows with the EXPORT_FIELDS keys: through the bot's
connection (`export_rows`), or through a read-only snapshot of the file of its own
(`snapshot_export_rows`), which /export reads in a child process.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from bot.core.storage.db import Database, Instant, _locked, _utc, _zone

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
    def course_activity(self, user_key: str | None = None) -> dict[int, dict[str, int]]:
        """Per course: answers, correct ones, reflections and lessons sent (to the user's private chat,
        when `user_key` is given; else everyone's, and the chats on each course)."""
        who, params = ("", []) if user_key is None else (" WHERE user_key = ?", [user_key])
        out: dict[int, dict[str, int]] = {}

        def row(course: int) -> dict[str, int]:
            return out.setdefault(
                int(course), {"answered": 0, "correct": 0, "reflections": 0, "lessons": 0, "chats": 0}
            )

        for course, answered, correct in self.db.execute(
            f"SELECT course_id, count(*), coalesce(sum(correct), 0) FROM quiz_answers{who} GROUP BY course_id",
            params,
        ):
            row(course).update(answered=answered, correct=correct)
        for course, n in self.db.execute(
            f"SELECT course_id, count(*) FROM reflections{who} GROUP BY course_id", params
        ):
            row(course)["reflections"] = n
        chat = "" if user_key is None else " AND chat_key = ?"
        for course, n in self.db.execute(
            f"SELECT course_id, count(*) FROM deliveries WHERE state = 'sent'{chat} GROUP BY course_id",
            params,
        ):
            row(course)["lessons"] = n
        if user_key is None:
            for course, n in self.db.execute(
                "SELECT course_id, count(*) FROM chats WHERE migrated_to IS NULL GROUP BY course_id"
            ):
                row(course)["chats"] = n
        return out

    @_locked
    def user_stats(self, user_key: str, today_local: date, tz: tzinfo | str) -> dict[str, Any]:
        """A user's days studied, current/best streak, answers, accuracy and reflections."""
        # A day counts as studied when, on that local date, the user's private chat (same key as the
        # user, e.g. tg:42) got its lesson, or the user answered a quiz question, wrote a reflection or
        # checked in. (/me shows the check-in streak of bot.core.streaks, not this one.)
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
        # A check-in (✅, 打卡) counts on its study day (04:00 to 04:00), as /me's streak counts it.
        days |= {
            d for (d,) in self.db.execute("SELECT study_date FROM checkins WHERE user_key = ?", [user_key])
        }
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
    def global_stats(
        self, now: Instant, tz: tzinfo | str = "Asia/Shanghai", course_id: int = 1
    ) -> dict[str, Any]:
        """Admin stats: subscribers, active users and lessons sent today, quiz accuracy per section of
        `course_id` (section ids are a course's own)."""
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
                "WHERE course_id = ? GROUP BY section_id ORDER BY section_id",
                [int(course_id)],
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

        def fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
            # The lock only for one query: a long export never blocks the bot nor holds a cursor open
            # across the bot's own commits. Rows written meanwhile may or may not appear.
            with self._lock:
                return self.db.execute(sql, params).fetchall()

        return _export_rows(fetch, batch)


def snapshot_export_rows(path: str, batch: int = 5000, *, as_tuples: bool = False) -> Iterator[Any]:
    """The rows of `StatsStore.export_rows` from the database file at `path`, as of one moment (as tuples
    in EXPORT_FIELDS order with `as_tuples`, which the export writes).

    Through a read-only connection of its own, in one read transaction: WAL lets it read while the bot
    writes, and it never takes the bot's Storage lock, so it may run in another thread or process for as
    long as it needs. Rows written meanwhile do not appear.
    """
    uri = path if path.startswith("file:") else f"{Path(path).resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    rows = _export_tuples if as_tuples else _export_rows
    try:
        conn.execute("BEGIN")  # the snapshot starts with the first read and lasts until the end
        yield from rows(lambda sql, params: conn.execute(sql, params).fetchall(), batch)
    finally:
        conn.close()


_REFLECTIONS = (
    "SELECT r.created_at, r.id, r.chat_key, r.user_key, u.name, r.lesson_day, r.text, NULL, NULL "
    "FROM reflections r LEFT JOIN users u ON u.key = r.user_key "
    "WHERE (r.created_at, r.id) > (?, ?) ORDER BY r.created_at, r.id LIMIT ?"
)
_ANSWERS = (
    "SELECT a.answered_at, a.id, a.chat_key, a.user_key, u.name, a.section_id, a.question_id, a.option, "
    "a.correct FROM quiz_answers a LEFT JOIN users u ON u.key = a.user_key "
    "WHERE (a.answered_at, a.id) > (?, ?) ORDER BY a.answered_at, a.id LIMIT ?"
)

Fetch = Callable[[str, list[Any]], list[tuple[Any, ...]]]


def _export_rows(fetch: Fetch, batch: int) -> Iterator[dict[str, Any]]:
    """Reflections and answers merged by time as dicts with EXPORT_FIELDS keys."""
    for row in _export_tuples(fetch, batch):
        yield dict(zip(EXPORT_FIELDS, row, strict=True))


def _export_tuples(fetch: Fetch, batch: int) -> Iterator[tuple[Any, ...]]:
    """Reflections and answers merged by time as tuples in EXPORT_FIELDS order, each table read in
    keyset-paginated batches through fetch."""
    reflections = _pages("reflection", _REFLECTIONS, fetch, batch)
    answers = _pages("quiz_answer", _ANSWERS, fetch, batch)
    days: dict[int, str] = {}
    for ts, kind, _id, chat, user, user_name, where, content, answer, correct in heapq.merge(
        reflections, answers
    ):
        yield (
            kind,
            _iso_utc(ts, days),
            chat,
            user,
            user_name or "",
            "" if where is None else str(where),
            content,
            "" if answer is None else answer,
            "" if correct is None else correct,
        )


def _iso_utc(ts: int, days: dict[int, str]) -> str:
    """What `_iso` gives (2024-05-01T08:30:00+00:00), several times faster: an export formats 600,000."""
    day, second = divmod(int(ts), 86400)
    date_text = days.get(day)
    if date_text is None:
        date_text = days[day] = datetime.fromtimestamp(day * 86400, UTC).date().isoformat()
    hour, rest = divmod(second, 3600)
    return f"{date_text}T{hour:02d}:{rest // 60:02d}:{rest % 60:02d}+00:00"


def _pages(kind: str, sql: str, fetch: Fetch, batch: int) -> Iterator[tuple[Any, ...]]:
    """Rows of sql as (ts, kind, id, ...) tuples, one short query (an index range scan) per batch."""
    last: tuple[int, int] = (-1, -1)
    while True:
        rows = fetch(sql, [*last, int(batch)])
        if not rows:
            return
        for ts, row_id, *rest in rows:
            yield (ts, kind, row_id, *rest)
        last = (rows[-1][0], rows[-1][1])
