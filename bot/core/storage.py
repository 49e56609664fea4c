"""Persistent state of StudyBot: one SQLite file (WAL) accessed through sqlite-utils.

Everything that must survive a restart lives here: chats and their subscription, the per-day
delivery claims that make the daily push exactly-once-per-local-day, quiz sessions and answers,
spaced-repetition review cards (FSRS), reflections, and broadcasts with per-recipient progress.

Conventions:
- Chats are keyed "<channel>:<id>" with channel tg / wecom / robot / console (see `chat_key`).
- Every time that is queried by time (next_due, review due, created/sent/answered...) is stored as
  integer UTC epoch seconds; ISO-8601 strings appear only in `export_rows` for display.
- Every write method commits before it returns, so a caller replies only after the state is safe.
- `now` and `next_due` arguments take an aware datetime (naive = UTC) or epoch seconds; stored as int.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import logging
import os
import sqlite3
import threading
import time as _time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import fsrs
import sqlite_utils
from sqlite_utils.db import Table

from bot.core.config import format_hhmm, parse_hhmm

logger = logging.getLogger(__name__)

CHANNELS = ("tg", "wecom", "robot", "console")
CHAT_TYPES = ("private", "group", "supergroup", "channel", "robot", "console")
RECIPIENT_STATES = ("pending", "sending", "sent", "blocked", "failed")
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

Instant = datetime | int | float
P = ParamSpec("P")
R = TypeVar("R")


def chat_key(channel: str, chat_id: int | str) -> str:
    """Build the "<channel>:<id>" key of a chat or user."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}, expected one of {', '.join(CHANNELS)}")
    return f"{channel}:{chat_id}"


def robot_chat_key(webhook_url: str) -> str:
    """Chat key of a WeCom group robot: a short stable hash of its webhook key, never the key itself."""
    query = parse_qs(urlsplit(webhook_url).query)
    # Hash only the key so the id survives an API host change; fall back to the whole URL.
    secret = query["key"][0] if query.get("key") else webhook_url
    return "robot:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def epoch(value: Instant) -> int:
    """Epoch seconds of an aware datetime (naive = UTC) or a number."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    return int(value)


def _opt_epoch(value: Instant | None) -> int | None:
    """epoch(value), or None."""
    return None if value is None else epoch(value)


def _utc(value: Instant) -> datetime:
    """The UTC datetime of an instant (naive = UTC)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromtimestamp(int(value), UTC)


def _iso(ts: int | None) -> str:
    """ISO-8601 UTC string of epoch seconds, for display only."""
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _date_str(value: date | str) -> str:
    """YYYY-MM-DD of a date or an already formatted string."""
    return value.isoformat() if isinstance(value, date) else str(value)


def _hhmm(value: str | time) -> str:
    """Normalize a push time to 'HH:MM' (accepts "7:30", "07：30", a time); ValueError if invalid."""
    return format_hhmm(value if isinstance(value, time) else parse_hhmm(value))


def _zone(tz: tzinfo | str) -> tzinfo:
    """A tzinfo from a tzinfo or an IANA name."""
    return ZoneInfo(tz) if isinstance(tz, str) else tz


# --------------------------------------------------------------------------- migrations
# Each migration is applied once, in order, inside its own transaction, and bumps meta.schema_version.
# They are plain DDL on purpose: a shipped migration must produce the same schema forever, whatever a
# later sqlite-utils version renders for table.create(). Never edit a shipped migration: append one.


def _m001_tables(db: sqlite_utils.Database) -> None:
    """Create the tables (schema version 1)."""
    db.executescript(
        """
        CREATE TABLE chats (
            key TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            chat_type TEXT NOT NULL,
            title TEXT,
            timezone TEXT NOT NULL,
            push_time TEXT NOT NULL,
            subscribed INTEGER NOT NULL DEFAULT 0 CHECK (subscribed IN (0, 1)),
            blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
            plan_pos INTEGER NOT NULL DEFAULT 0,
            last_local_date TEXT,
            next_due INTEGER,
            migrated_to TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            plan_done INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            chat_key TEXT NOT NULL REFERENCES chats(key),
            local_date TEXT NOT NULL,
            lesson_day INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'claimed' CHECK (state IN ('claimed', 'sent', 'failed')),
            catch_up INTEGER NOT NULL DEFAULT 0,
            message_id TEXT,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            sent_at INTEGER,
            UNIQUE (chat_key, local_date)
        );
        CREATE TABLE users (
            key TEXT PRIMARY KEY,
            name TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE quiz_sessions (
            id INTEGER PRIMARY KEY,
            chat_key TEXT NOT NULL,
            user_key TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'quiz',
            question_ids TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0,
            correct INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'done', 'cancelled')),
            poll_id TEXT,
            poll_message_id TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE quiz_answers (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES quiz_sessions(id),
            chat_key TEXT NOT NULL,
            user_key TEXT NOT NULL,
            question_id TEXT NOT NULL,
            section_id TEXT,
            option INTEGER,
            correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
            answered_at INTEGER NOT NULL,
            UNIQUE (session_id, question_id, user_key)
        );
        CREATE TABLE review_cards (
            user_key TEXT NOT NULL,
            question_id TEXT NOT NULL,
            card TEXT NOT NULL,
            due INTEGER NOT NULL,
            lapses INTEGER NOT NULL DEFAULT 0,
            reviews INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (user_key, question_id)
        );
        CREATE TABLE reflections (
            id INTEGER PRIMARY KEY,
            chat_key TEXT NOT NULL,
            user_key TEXT NOT NULL,
            lesson_day INTEGER,
            text TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            message_id TEXT
        );
        CREATE TABLE broadcasts (
            id INTEGER PRIMARY KEY,
            admin_key TEXT NOT NULL,
            text TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'preview'
                CHECK (state IN ('preview', 'sending', 'done', 'cancelled')),
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            finished_at INTEGER,
            progress_chat TEXT,
            progress_message_id TEXT,
            preview_message_id TEXT
        );
        CREATE TABLE broadcast_recipients (
            broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
            chat_key TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'blocked', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (broadcast_id, chat_key)
        );
        """
    )


def _m002_indexes(db: sqlite_utils.Database) -> None:
    """Create the secondary indexes (schema version 2)."""
    db.executescript(
        """
        -- The scheduler's due query: WHERE next_due <= ? ORDER BY next_due LIMIT n (a range scan).
        CREATE INDEX idx_chats_next_due ON chats(next_due);
        CREATE INDEX idx_deliveries_sent_at ON deliveries(sent_at);
        CREATE INDEX idx_deliveries_local_date ON deliveries(local_date);
        -- At most one active quiz per chat, enforced by SQLite itself (a partial unique index).
        CREATE UNIQUE INDEX idx_quiz_sessions_one_active ON quiz_sessions(chat_key) WHERE state = 'active';
        CREATE INDEX idx_quiz_sessions_poll_id ON quiz_sessions(poll_id);
        CREATE INDEX idx_quiz_answers_user ON quiz_answers(user_key, answered_at);
        CREATE INDEX idx_quiz_answers_answered_at ON quiz_answers(answered_at);
        CREATE INDEX idx_review_cards_due ON review_cards(user_key, due);
        CREATE INDEX idx_reflections_user ON reflections(user_key, created_at);
        CREATE INDEX idx_reflections_chat ON reflections(chat_key, created_at);
        CREATE INDEX idx_reflections_created_at ON reflections(created_at);
        CREATE INDEX idx_broadcasts_state ON broadcasts(state);
        CREATE INDEX idx_broadcast_recipients_state ON broadcast_recipients(broadcast_id, state);
        """
    )


def _m003_study_marks(db: sqlite_utils.Database) -> None:
    """Lesson messages other than the push (/today) and "已学习" marks (schema version 3)."""
    db.executescript(
        """
        CREATE TABLE lesson_messages (
            chat_key TEXT NOT NULL,
            message_id TEXT NOT NULL,
            lesson_day INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (chat_key, message_id)
        );
        CREATE TABLE study_marks (
            id INTEGER PRIMARY KEY,
            user_key TEXT NOT NULL,
            chat_key TEXT NOT NULL,
            lesson_day INTEGER,
            studied_at INTEGER NOT NULL
        );
        CREATE INDEX idx_study_marks_user ON study_marks(user_key, studied_at);
        """
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_m001_tables, _m002_indexes, _m003_study_marks]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    """The schema version recorded in meta (0 for a new or pre-migration file)."""
    if "meta" not in db.table_names():
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(
    db: sqlite_utils.Database, migrations: list[Callable[[sqlite_utils.Database], None]] | None = None
) -> int:
    """Apply the pending migrations in order, each in its own transaction; return the final version."""
    migrations = MIGRATIONS if migrations is None else migrations
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    while True:
        # BEGIN IMMEDIATE takes the write lock before reading the version, so two processes
        # starting together cannot both apply the same migration.
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(db)
            if version > len(migrations):
                raise RuntimeError(
                    f"database schema version {version} is newer than this StudyBot ({len(migrations)}); "
                    "upgrade StudyBot or use another STUDYBOT_DB"
                )
            if version == len(migrations):
                db.conn.execute("COMMIT")
                return version
            migrations[version](db)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [str(version + 1)],
            )
            db.conn.execute("COMMIT")
            logger.info("database migrated to schema version %d", version + 1)
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise


# --------------------------------------------------------------------------- storage


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    """Run a Storage method under the instance lock (see Storage.__init__ for why)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return wrapper


class Storage:
    """All persistent state of the bot, on one SQLite database."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        busy_timeout_ms: int = 5000,
        clock: Callable[[], float] = _time.time,
        review_scheduler: fsrs.Scheduler | None = None,
    ) -> None:
        """Open (creating if needed) the database at path, or ":memory:", and migrate it."""
        path = os.fspath(path)
        if path != ":memory:" and not path.startswith("file:"):
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        # check_same_thread=False: the bot uses this object from the asyncio thread, but it may be
        # created before the loop starts, closed from a signal/shutdown path, or reached through
        # asyncio.to_thread; self._lock serializes every call, so SQLite never sees two threads
        # inside one transaction.
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        conn = sqlite3.connect(
            path, check_same_thread=False, timeout=busy_timeout_ms / 1000, uri=path.startswith("file:")
        )
        self.db = sqlite_utils.Database(conn)
        self.path = path
        self._lock = threading.RLock()
        self._clock = clock
        self._scheduler = review_scheduler or fsrs.Scheduler()
        try:
            self._open(synchronous.upper(), busy_timeout_ms)
        except BaseException:
            conn.close()
            raise
        self._chats: Table = self.db.table("chats")
        self._users: Table = self.db.table("users")
        self._quiz: Table = self.db.table("quiz_sessions")
        self._cards: Table = self.db.table("review_cards")
        self._reflections: Table = self.db.table("reflections")
        self._broadcasts: Table = self.db.table("broadcasts")

    def _open(self, synchronous: str, busy_timeout_ms: int) -> None:
        """Set the connection's pragmas and migrate the schema."""
        self.db.enable_wal()  # a no-op for ":memory:", which stays in journal_mode=memory
        # synchronous=NORMAL in WAL mode: a commit is durable against a crash or kill of the process
        # (the restarts the delivery guarantees are about) and the file can never be corrupted; only
        # a power loss / OS crash may roll back the last few commits. FULL would fsync on every
        # commit, and since these calls run on the event loop each fsync would stall every chat;
        # pass synchronous="FULL" to trade that latency for power-loss durability.
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.schema_version = migrate(self.db)

    # ----------------------------------------------------------------- plumbing

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self.db.close()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self, now: Instant | None = None) -> int:
        """Epoch seconds of now, or of the injected clock."""
        return epoch(now) if now is not None else int(self._clock())

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE), committed on exit; nested calls join the outer one."""
        if self.db.conn.in_transaction:
            with self.db.atomic():  # a savepoint inside the caller's transaction
                yield
            return
        # IMMEDIATE: take the write lock up front, so a read-then-write transaction never fails with
        # SQLITE_BUSY half-way when another process (e.g. `studybot console`) writes too.
        self.db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
            raise
        self.db.conn.execute("COMMIT")

    def _one(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        """First row of a query as a dict, or None."""
        return next(self.db.query(sql, params if isinstance(params, dict) else list(params)), None)

    def _all(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """All rows of a query as dicts."""
        return list(self.db.query(sql, params if isinstance(params, dict) else list(params)))

    @_locked
    def get_meta(self, key: str) -> str | None:
        """A value of the meta table (e.g. a content fingerprint), or None."""
        row = self._one("SELECT value FROM meta WHERE key = ?", [key])
        return None if row is None else row["value"]

    @_locked
    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        if key == "schema_version":
            raise ValueError("schema_version is managed by migrations")
        self.db.table("meta").upsert({"key": key, "value": value}, pk="key")

    # ----------------------------------------------------------------- chats

    @_locked
    def get_chat(self, key: str) -> dict[str, Any] | None:
        """The chat row, or None."""
        return self._one("SELECT * FROM chats WHERE key = ?", [key])

    @_locked
    def resolve_chat_key(self, key: str) -> str:
        """Follow migrated_to links (group -> supergroup) to the chat's current key."""
        seen = {key}
        while (row := self.get_chat(key)) and row["migrated_to"] and row["migrated_to"] not in seen:
            key = row["migrated_to"]
            seen.add(key)
        return key

    @_locked
    def ensure_chat(
        self,
        key: str,
        channel: str,
        chat_type: str,
        title: str | None = None,
        timezone: str = "Asia/Shanghai",
        push_time: str | time = "08:00",
    ) -> dict[str, Any]:
        """Insert the chat if missing (unsubscribed), else refresh its title and type; return the row."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        if chat_type not in CHAT_TYPES:
            raise ValueError(f"unknown chat_type {chat_type!r}")
        row = self.get_chat(key)
        now = self._now()
        if row is None:
            # ignore=True: if another process inserted it meanwhile, keep that row.
            self._chats.insert(
                {
                    "key": key,
                    "channel": channel,
                    "chat_type": chat_type,
                    "title": title,
                    "timezone": timezone,
                    "push_time": _hhmm(push_time),
                    "subscribed": 0,
                    "blocked": 0,
                    "plan_pos": 0,
                    "plan_done": 0,
                    "created_at": now,
                    "updated_at": now,
                },
                ignore=True,
            )
        else:
            updates: dict[str, Any] = {}
            if title is not None and title != row["title"]:
                updates["title"] = title
            if chat_type != row["chat_type"]:
                updates["chat_type"] = chat_type
            if updates:
                self._chats.update(key, {**updates, "updated_at": now})
        return self.get_chat(key)  # type: ignore[return-value]

    def _update_chat(self, key: str, sets: str, params: list[Any]) -> bool:
        """UPDATE one chat row (sets is SQL with ? placeholders); return whether it exists."""
        cursor = self.db.execute(
            f"UPDATE chats SET {sets}, updated_at = ? WHERE key = ?", [*params, self._now(), key]
        )
        return cursor.rowcount == 1

    # next_due is only kept for chats that can receive the push: the scheduler relies on
    # "next_due IS NULL" for unsubscribed, blocked and migrated chats.
    _DUE_IF_ACTIVE = "next_due = CASE WHEN subscribed = 1 AND blocked = 0 AND migrated_to IS NULL THEN ? END"

    @_locked
    def subscribe(self, key: str, push_time: str | time, now: Instant, next_due: Instant) -> None:
        """Subscribe the chat at push_time ('HH:MM') with its first push at next_due; clears blocked."""
        with self._tx():
            self._require_chat(key)
            self.db.execute(
                "UPDATE chats SET subscribed = 1, blocked = 0, push_time = ?, next_due = ?, updated_at = ? "
                "WHERE key = ? AND migrated_to IS NULL",
                [_hhmm(push_time), epoch(next_due), self._now(now), key],
            )

    @_locked
    def unsubscribe(self, key: str) -> bool:
        """Stop the daily push for the chat; return whether the chat exists."""
        return self._update_chat(key, "subscribed = 0, next_due = NULL", [])

    @_locked
    def set_time(self, key: str, push_time: str | time, next_due: Instant | None) -> None:
        """Change the chat's push time and its next push (ignored unless subscribed)."""
        with self._tx():
            self._require_chat(key)
            self._update_chat(
                key, f"push_time = ?, {self._DUE_IF_ACTIVE}", [_hhmm(push_time), _opt_epoch(next_due)]
            )

    @_locked
    def set_timezone(self, key: str, tz: str, next_due: Instant | None) -> None:
        """Change the chat's time zone (IANA name) and its next push (ignored unless subscribed)."""
        ZoneInfo(tz)  # fail loudly on a bad name rather than storing it
        with self._tx():
            self._require_chat(key)
            self._update_chat(key, f"timezone = ?, {self._DUE_IF_ACTIVE}", [tz, _opt_epoch(next_due)])

    @_locked
    def set_next_due(self, key: str, next_due: Instant | None) -> bool:
        """Set when the chat is next due (ignored unless subscribed); return whether it exists."""
        return self._update_chat(key, self._DUE_IF_ACTIVE, [_opt_epoch(next_due)])

    @_locked
    def mark_blocked(self, key: str) -> bool:
        """Mark the chat blocked (403: the bot was blocked or kicked); it gets nothing until unblocked."""
        return self._update_chat(key, "blocked = 1, next_due = NULL", [])

    @_locked
    def unblock(self, key: str, next_due: Instant | None) -> bool:
        """Clear blocked (the chat talked to the bot again) and restore its next push if subscribed."""
        with self._tx():
            if not self._update_chat(key, "blocked = 0", []):
                return False
            self._update_chat(key, self._DUE_IF_ACTIVE, [_opt_epoch(next_due)])
            return True

    @_locked
    def set_plan(self, key: str, plan_pos: int, plan_done: bool = False) -> None:
        """Set the chat's position in the lesson plan (e.g. restart from lesson 0)."""
        with self._tx():
            self._require_chat(key)
            self._update_chat(key, "plan_pos = ?, plan_done = ?", [int(plan_pos), int(plan_done)])

    def _require_chat(self, key: str) -> dict[str, Any]:
        """The chat row, or KeyError."""
        row = self.get_chat(key)
        if row is None:
            raise KeyError(f"no chat {key!r}: call ensure_chat first")
        return row

    @_locked
    def migrate_chat(self, old_key: str, new_key: str) -> dict[str, Any] | None:
        """Move a chat and its history to new_key (group -> supergroup); old row keeps migrated_to."""
        if old_key == new_key:
            return self.get_chat(new_key)
        with self._tx():
            old = self.get_chat(old_key)
            if old is None:
                return self.get_chat(new_key)
            now = self._now()
            new = self.get_chat(new_key)
            state_cols = (
                "subscribed",
                "blocked",
                "timezone",
                "push_time",
                "plan_pos",
                "plan_done",
                "last_local_date",
                "next_due",
            )
            if new is None:
                moved = {k: v for k, v in old.items() if k not in ("key", "migrated_to", "updated_at")}
                if old["chat_type"] == "group" and old["channel"] == "tg":
                    moved["chat_type"] = "supergroup"
                self._chats.insert({**moved, "key": new_key, "updated_at": now})
            elif not new["subscribed"] and old["subscribed"]:
                # The supergroup row was only auto-created by an incoming message: the group's study
                # state wins. If the supergroup was configured itself, its own state stands.
                self._chats.update(new_key, {**{c: old[c] for c in state_cols}, "updated_at": now})
            # OR IGNORE: a row the new key already has for the same day/broadcast stays, the old one
            # stays behind under the old key (history only) rather than breaking the unique keys.
            for table in ("deliveries", "quiz_sessions", "broadcast_recipients"):
                self.db.execute(
                    f"UPDATE OR IGNORE {table} SET chat_key = ? WHERE chat_key = ?", [new_key, old_key]
                )
            for table in ("quiz_answers", "reflections"):
                self.db.execute(f"UPDATE {table} SET chat_key = ? WHERE chat_key = ?", [new_key, old_key])
            self.db.execute(
                "UPDATE quiz_sessions SET state = 'cancelled', updated_at = ? WHERE chat_key = ? AND state = 'active'",
                [now, old_key],
            )
            self.db.execute(
                "UPDATE chats SET subscribed = 0, next_due = NULL, migrated_to = ?, updated_at = ? WHERE key = ?",
                [new_key, now, old_key],
            )
        logger.info("chat %s migrated to %s", old_key, new_key)
        return self.get_chat(new_key)

    @_locked
    def due_chats(
        self, now_epoch: Instant, limit: int = 1000, channels: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Subscribed, unblocked chats whose next push is due, earliest first, at most limit; only of
        `channels` when given (a process serves the channels it has senders for)."""
        # A range scan of idx_chats_next_due that also yields the ORDER BY: no sort, no table scan,
        # however many chats there are. The extra conditions are a safety net for the invariant
        # "next_due IS NULL unless subscribed and unblocked".
        only = ""
        params: list[Any] = [epoch(now_epoch)]
        if channels is not None:
            names = sorted(set(channels))
            only = f" AND channel IN ({', '.join('?' * len(names))})" if names else " AND 0"
            params += names
        return self._all(
            f"SELECT * FROM chats WHERE next_due <= ? AND subscribed = 1 AND blocked = 0{only} "
            "ORDER BY next_due LIMIT ?",
            [*params, int(limit)],
        )

    @_locked
    def subscribed_chats(
        self, channel: str | None = None, chat_type: str | None = None
    ) -> list[dict[str, Any]]:
        """Subscribed, unblocked, unmigrated chats, optionally of one channel and/or chat type."""
        sql = "SELECT * FROM chats WHERE subscribed = 1 AND blocked = 0 AND migrated_to IS NULL"
        params: list[Any] = []
        if channel is not None:
            sql += " AND channel = ?"
            params.append(channel)
        if chat_type is not None:
            sql += " AND chat_type = ?"
            params.append(chat_type)
        return self._all(sql + " ORDER BY created_at, key", params)

    @_locked
    def count_subscribed(self) -> dict[tuple[str, str], int]:
        """Number of subscribed, unblocked chats per (channel, chat_type)."""
        rows = self.db.execute(
            "SELECT channel, chat_type, count(*) FROM chats "
            "WHERE subscribed = 1 AND blocked = 0 AND migrated_to IS NULL GROUP BY channel, chat_type"
        ).fetchall()
        return {(channel, chat_type): n for channel, chat_type, n in rows}

    # ----------------------------------------------------------------- users

    @_locked
    def ensure_user(self, key: str, name: str | None = None) -> dict[str, Any]:
        """Insert the user if missing, else refresh the name; return the row."""
        row = self.get_user(key)
        if row is None:
            self._users.insert({"key": key, "name": name, "created_at": self._now()}, ignore=True)
        elif name is not None and name != row["name"]:
            self._users.update(key, {"name": name})
        return self.get_user(key)  # type: ignore[return-value]

    @_locked
    def get_user(self, key: str) -> dict[str, Any] | None:
        """The user row, or None."""
        return self._one("SELECT * FROM users WHERE key = ?", [key])

    # ----------------------------------------------------------------- deliveries

    @_locked
    def claim_delivery(
        self, chat_key: str, local_date: date | str, lesson_day: int, catch_up: bool, now: Instant
    ) -> bool:
        """Claim the chat's push for local_date; False if that date is already claimed or sent."""
        day = _date_str(local_date)
        ts = self._now(now)
        with self._tx():
            # The UNIQUE(chat_key, local_date) row is the once-per-local-day guarantee: whichever
            # tick (or process, or restart) inserts it first owns the send.
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO deliveries (chat_key, local_date, lesson_day, state, catch_up, created_at) "
                "VALUES (?, ?, ?, 'claimed', ?, ?)",
                [chat_key, day, int(lesson_day), int(catch_up), ts],
            )
            if cursor.rowcount == 1:
                return True
            # Only an explicitly failed send may be retried the same day; a claim whose outcome is
            # unknown (crash mid-send) is never retried, because "restarts never repeat a lesson".
            cursor = self.db.execute(
                "UPDATE deliveries SET state = 'claimed', lesson_day = ?, catch_up = ?, error = NULL, "
                "attempts = attempts + 1, created_at = ? WHERE chat_key = ? AND local_date = ? AND state = 'failed'",
                [int(lesson_day), int(catch_up), ts, chat_key, day],
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
    ) -> None:
        """Mark the claimed push sent and, in the same transaction, advance the chat's plan and next_due."""
        day = _date_str(local_date)
        ts = self._now(now)
        with self._tx():
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
        row = self._one(
            "SELECT lesson_day FROM deliveries WHERE chat_key = ? AND message_id = ? ORDER BY id DESC LIMIT 1",
            [chat_key, str(message_id)],
        ) or self._one(
            "SELECT lesson_day FROM lesson_messages WHERE chat_key = ? AND message_id = ?",
            [chat_key, str(message_id)],
        )
        return None if row is None else row["lesson_day"]

    @_locked
    def remember_lesson_message(
        self, chat_key: str, message_id: str | int, lesson_day: int, now: Instant
    ) -> None:
        """Remember that a message (e.g. /today's) shows a lesson, so replies to it are reflections on it."""
        with self._tx():
            self.db.execute(
                "INSERT OR REPLACE INTO lesson_messages (chat_key, message_id, lesson_day, created_at) "
                "VALUES (?, ?, ?, ?)",
                [chat_key, str(message_id), int(lesson_day), self._now(now)],
            )

    @_locked
    def mark_studied(self, user_key: str, chat_key: str, lesson_day: int | None, now: Instant) -> None:
        """Record that the user studied (pressed 已学习): the day counts for /me."""
        with self._tx():
            self.db.execute(
                "INSERT INTO study_marks (user_key, chat_key, lesson_day, studied_at) VALUES (?, ?, ?, ?)",
                [user_key, chat_key, lesson_day, self._now(now)],
            )

    @_locked
    def answered_questions(self, user_key: str) -> set[str]:
        """Ids of the questions the user has answered correctly at least once."""
        rows = self.db.execute(
            "SELECT DISTINCT question_id FROM quiz_answers WHERE user_key = ? AND correct = 1", [user_key]
        )
        return {qid for (qid,) in rows}

    # ----------------------------------------------------------------- quiz

    @staticmethod
    def _quiz_row(row: dict[str, Any] | None) -> dict[str, Any] | None:
        """Decode question_ids of a quiz_sessions row."""
        if row is not None:
            row["question_ids"] = json.loads(row["question_ids"])
        return row

    @_locked
    def start_quiz(
        self,
        chat_key: str,
        user_key: str,
        question_ids: list[str],
        now: Instant,
        kind: str = "quiz",
        stale_after: int | None = 3600,
    ) -> int | None:
        """Start a quiz session; None if the chat already has an active one (stale ones are cancelled)."""
        ts = self._now(now)
        with self._tx():
            if stale_after is not None:
                # A quiz nobody touched for stale_after seconds is abandoned; don't lock the chat out.
                self.db.execute(
                    "UPDATE quiz_sessions SET state = 'cancelled', updated_at = ? "
                    "WHERE chat_key = ? AND state = 'active' AND updated_at < ?",
                    [ts, chat_key, ts - int(stale_after)],
                )
            try:
                with self.db.atomic():
                    self._quiz.insert(
                        {
                            "chat_key": chat_key,
                            "user_key": user_key,
                            "kind": kind,
                            "question_ids": json.dumps(list(question_ids), ensure_ascii=False),
                            "position": 0,
                            "correct": 0,
                            "state": "active",
                            "created_at": ts,
                            "updated_at": ts,
                        }
                    )
            except sqlite3.IntegrityError:
                return None  # idx_quiz_sessions_one_active: one active session per chat
            return int(self._quiz.last_pk)  # type: ignore[arg-type]

    @_locked
    def get_quiz(self, session_id: int) -> dict[str, Any] | None:
        """A quiz session (question_ids decoded), or None."""
        return self._quiz_row(self._one("SELECT * FROM quiz_sessions WHERE id = ?", [session_id]))

    @_locked
    def active_quiz(self, chat_key: str) -> dict[str, Any] | None:
        """The chat's active quiz session (question_ids decoded), or None."""
        return self._quiz_row(
            self._one("SELECT * FROM quiz_sessions WHERE chat_key = ? AND state = 'active'", [chat_key])
        )

    @_locked
    def quiz_by_poll(self, poll_id: str) -> dict[str, Any] | None:
        """The session (any state) whose current poll is poll_id, or None."""
        return self._quiz_row(
            self._one(
                "SELECT * FROM quiz_sessions WHERE poll_id = ? ORDER BY id DESC LIMIT 1", [str(poll_id)]
            )
        )

    @_locked
    def set_quiz_poll(self, session_id: int, poll_id: str, message_id: str | int | None) -> None:
        """Record the poll currently shown for the session."""
        self.db.execute(
            "UPDATE quiz_sessions SET poll_id = ?, poll_message_id = ?, updated_at = ? WHERE id = ?",
            [str(poll_id), None if message_id is None else str(message_id), self._now(), session_id],
        )

    @_locked
    def record_answer(
        self,
        session_id: int,
        chat_key: str,
        user_key: str,
        question_id: str,
        section_id: str | None,
        option: int | None,
        correct: bool,
        now: Instant,
    ) -> bool:
        """Record a user's answer (and update their review card); False if already answered."""
        # Wrong answers, and any answer to a question already under review, rate the user's FSRS
        # card in the same transaction: the caller must not call record_review for it as well.
        ts = self._now(now)
        with self._tx():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO quiz_answers "
                "(session_id, chat_key, user_key, question_id, section_id, option, correct, answered_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [session_id, chat_key, user_key, question_id, section_id, option, int(correct), ts],
            )
            if cursor.rowcount != 1:
                return False
            self.db.execute(
                "UPDATE quiz_sessions SET correct = correct + ?, updated_at = ? WHERE id = ?",
                [int(correct), ts, session_id],
            )
            if not correct or self._get_card(user_key, question_id) is not None:
                self._review(user_key, question_id, correct, ts)
            return True

    @_locked
    def advance_quiz(self, session_id: int, expected_position: int | None = None) -> int | None:
        """Move to the next question (only from expected_position, if given); new position or None."""
        # expected_position makes it a compare-and-set: two answers to one group poll advance once.
        sql = "UPDATE quiz_sessions SET position = position + 1, updated_at = ? WHERE id = ? AND state = 'active'"
        params: list[Any] = [self._now(), session_id]
        if expected_position is not None:
            sql += " AND position = ?"
            params.append(int(expected_position))
        with self._tx():
            if self.db.execute(sql, params).rowcount != 1:
                return None
            return self._one("SELECT position FROM quiz_sessions WHERE id = ?", [session_id])["position"]  # type: ignore[index]

    @_locked
    def finish_quiz(self, session_id: int, cancelled: bool = False) -> bool:
        """End the session as done (or cancelled); False if it was not active."""
        cursor = self.db.execute(
            "UPDATE quiz_sessions SET state = ?, updated_at = ? WHERE id = ? AND state = 'active'",
            ["cancelled" if cancelled else "done", self._now(), session_id],
        )
        return cursor.rowcount == 1

    @_locked
    def quiz_results(self, session_id: int) -> list[dict[str, Any]]:
        """Per user of the session: user_key, name, correct, total; best first."""
        return self._all(
            "SELECT a.user_key, u.name, sum(a.correct) AS correct, count(*) AS total "
            "FROM quiz_answers a LEFT JOIN users u ON u.key = a.user_key "
            "WHERE a.session_id = ? GROUP BY a.user_key ORDER BY correct DESC, total DESC, min(a.answered_at)",
            [session_id],
        )

    # ----------------------------------------------------------------- review cards (FSRS)

    def _get_card(self, user_key: str, question_id: str) -> dict[str, Any] | None:
        """The review_cards row, or None."""
        return self._one(
            "SELECT * FROM review_cards WHERE user_key = ? AND question_id = ?", [user_key, question_id]
        )

    def _review(self, user_key: str, question_id: str, correct: bool, ts: int) -> dict[str, Any]:
        """Rate the user's card for question_id (Good / Again), creating it if needed; store it."""
        row = self._get_card(user_key, question_id)
        when = datetime.fromtimestamp(ts, UTC)
        if row is None:
            # A fixed card_id: fsrs.Card() would otherwise sleep 1 ms to make a time-based one.
            card = fsrs.Card(card_id=1, due=when)
            lapses, reviews = 0, 0
        else:
            card = fsrs.Card.from_json(row["card"])
            lapses, reviews = row["lapses"], row["reviews"]
        rating = fsrs.Rating.Good if correct else fsrs.Rating.Again
        card, _log = self._scheduler.review_card(card, rating, when)
        record = {
            "user_key": user_key,
            "question_id": question_id,
            "card": card.to_json(),
            "due": int(card.due.timestamp()),
            "lapses": lapses + (0 if correct else 1),
            "reviews": reviews + 1,
            "updated_at": ts,
        }
        self._cards.upsert(record, pk=("user_key", "question_id"))
        return record

    @_locked
    def record_review(self, user_key: str, question_id: str, correct: bool, now: Instant) -> dict[str, Any]:
        """Rate and reschedule a review card with FSRS (Good / Again); return the stored row."""
        # record_answer already does this for quiz answers: don't call both for one answer.
        with self._tx():
            return self._review(user_key, question_id, correct, self._now(now))

    @_locked
    def due_reviews(self, user_key: str, now: Instant, limit: int = 10) -> list[dict[str, Any]]:
        """The user's review cards due by now (question_id, due, lapses, reviews), most overdue first."""
        return self._all(
            "SELECT question_id, due, lapses, reviews FROM review_cards WHERE user_key = ? AND due <= ? "
            "ORDER BY due LIMIT ?",
            [user_key, self._now(now), int(limit)],
        )

    @_locked
    def count_reviews(self, user_key: str, now: Instant) -> tuple[int, int]:
        """(cards due now, all cards) of the user."""
        row = self.db.execute(
            "SELECT coalesce(sum(due <= ?), 0), count(*) FROM review_cards WHERE user_key = ?",
            [self._now(now), user_key],
        ).fetchone()
        return int(row[0]), int(row[1])

    # ----------------------------------------------------------------- reflections

    @_locked
    def add_reflection(
        self,
        chat_key: str,
        user_key: str,
        lesson_day: int | None,
        text: str,
        now: Instant,
        message_id: str | int | None = None,
    ) -> int:
        """Store a reflection (心得体会); return its id."""
        table = self._reflections.insert(
            {
                "chat_key": chat_key,
                "user_key": user_key,
                "lesson_day": lesson_day,
                "text": text,
                "created_at": self._now(now),
                "message_id": None if message_id is None else str(message_id),
            }
        )
        return int(table.last_pk)  # type: ignore[arg-type]

    @_locked
    def reflections_of(self, user_key: str, limit: int = 10) -> list[dict[str, Any]]:
        """The user's latest reflections, newest first."""
        return self._all(
            "SELECT * FROM reflections WHERE user_key = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            [user_key, int(limit)],
        )

    # ----------------------------------------------------------------- stats

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

    # ----------------------------------------------------------------- broadcasts

    @_locked
    def create_broadcast(self, admin_key: str, text: str, now: Instant) -> int:
        """Create a broadcast in state 'preview'; return its id."""
        table = self._broadcasts.insert(
            {"admin_key": admin_key, "text": text, "state": "preview", "created_at": self._now(now)}
        )
        return int(table.last_pk)  # type: ignore[arg-type]

    @_locked
    def get_broadcast(self, broadcast_id: int) -> dict[str, Any] | None:
        """The broadcast row, or None."""
        return self._one("SELECT * FROM broadcasts WHERE id = ?", [broadcast_id])

    @_locked
    def set_preview_message(self, broadcast_id: int, message_id: str | int) -> None:
        """Remember the admin's preview message (the one with the confirm button)."""
        self.db.execute(
            "UPDATE broadcasts SET preview_message_id = ? WHERE id = ?", [str(message_id), broadcast_id]
        )

    @_locked
    def start_broadcast(self, broadcast_id: int, recipient_keys: Iterable[str], now: Instant) -> bool:
        """Confirm a previewed broadcast: state -> sending and all recipients pending, in one transaction."""
        # Returns False (and changes nothing) unless it was in preview, so a double confirm is harmless.
        ts = self._now(now)
        with self._tx():
            cursor = self.db.execute(
                "UPDATE broadcasts SET state = 'sending', started_at = ? WHERE id = ? AND state = 'preview'",
                [ts, broadcast_id],
            )
            if cursor.rowcount != 1:
                return False
            # executemany rather than table.insert_all: ~10x faster for 100k recipients, and this
            # runs on the event loop. OR IGNORE drops duplicate keys.
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO broadcast_recipients (broadcast_id, chat_key, state, attempts, updated_at) "
                "VALUES (?, ?, 'pending', 0, ?)",
                ((broadcast_id, key, ts) for key in recipient_keys),
            )
            return True

    @_locked
    def cancel_broadcast(self, broadcast_id: int, now: Instant | None = None) -> bool:
        """Cancel a broadcast in preview or sending; False if it was already done or cancelled."""
        cursor = self.db.execute(
            "UPDATE broadcasts SET state = 'cancelled', finished_at = ? WHERE id = ? AND state IN ('preview', 'sending')",
            [self._now(now), broadcast_id],
        )
        return cursor.rowcount == 1

    @_locked
    def pending_page(
        self, broadcast_id: int, after: int = 0, limit: int = 100
    ) -> list[tuple[int, str, str | None]]:
        """The next pending recipients after position ``after``: (position, chat key, chat type or None).

        Keyset paging: a caller that queues a page and asks for the next one before the first is sent
        gets each recipient once."""
        return self.db.execute(
            "SELECT r.rowid, r.chat_key, c.chat_type FROM broadcast_recipients r "
            "LEFT JOIN chats c ON c.key = r.chat_key "
            "WHERE r.broadcast_id = ? AND r.state = 'pending' AND r.rowid > ? ORDER BY r.rowid LIMIT ?",
            [broadcast_id, int(after), int(limit)],
        ).fetchall()

    @_locked
    def mark_sending(self, broadcast_id: int, chat_key: str, now: Instant | None = None) -> None:
        """Mark one pending recipient 'sending' just before its send (one statement, committed)."""
        self.db.execute(
            "UPDATE broadcast_recipients SET state = 'sending', attempts = attempts + 1, updated_at = ? "
            "WHERE broadcast_id = ? AND chat_key = ? AND state = 'pending'",
            [self._now(now), broadcast_id, chat_key],
        )

    @_locked
    def record_outcomes(
        self,
        broadcast_id: int,
        outcomes: Iterable[tuple[str, str, str | None]],
        now: Instant | None = None,
    ) -> None:
        """Record recipients' outcomes, (chat key, state, error), in one transaction; 'blocked' also
        marks the chat blocked."""
        ts = self._now(now)
        rows = []
        for chat_key, state, error in outcomes:
            if state not in RECIPIENT_STATES:
                raise ValueError(
                    f"unknown recipient state {state!r}, expected one of {', '.join(RECIPIENT_STATES)}"
                )
            rows.append((state, None if error is None else str(error)[:500], ts, broadcast_id, chat_key))
        if not rows:
            return
        with self._tx():
            self.db.conn.executemany(
                "UPDATE broadcast_recipients SET state = ?, error = ?, updated_at = ? "
                "WHERE broadcast_id = ? AND chat_key = ?",
                rows,
            )
            for state, _, _, _, chat_key in rows:
                if state == "blocked":
                    self._update_chat(chat_key, "blocked = 1, next_due = NULL", [])

    @_locked
    def recipient_state(self, broadcast_id: int, chat_key: str) -> str | None:
        """The state of one recipient of a broadcast, or None if it is not one."""
        row = self._one(
            "SELECT state FROM broadcast_recipients WHERE broadcast_id = ? AND chat_key = ?",
            [broadcast_id, chat_key],
        )
        return None if row is None else row["state"]

    @_locked
    def drop_recipient(self, broadcast_id: int, chat_key: str) -> None:
        """Remove a recipient that turned out to be another recipient under an old id (a migrated group)."""
        with self._tx():
            self.db.execute(
                "DELETE FROM broadcast_recipients WHERE broadcast_id = ? AND chat_key = ?",
                [broadcast_id, chat_key],
            )

    @_locked
    def reset_inflight(self, broadcast_id: int | None = None) -> int:
        """After a restart, return 'sending' recipients (outcome unknown) to 'pending'; return how many."""
        sql = "UPDATE broadcast_recipients SET state = 'pending', updated_at = ? WHERE state = 'sending'"
        params: list[Any] = [self._now()]
        if broadcast_id is not None:
            sql += " AND broadcast_id = ?"
            params.append(broadcast_id)
        return self.db.execute(sql, params).rowcount

    @_locked
    def broadcast_counts(self, broadcast_id: int) -> dict[str, int]:
        """Recipients per state (every state present, 0 if none)."""
        counts = dict.fromkeys(RECIPIENT_STATES, 0)
        for state, n in self.db.execute(
            "SELECT state, count(*) FROM broadcast_recipients WHERE broadcast_id = ? GROUP BY state",
            [broadcast_id],
        ):
            counts[state] = n
        return counts

    @_locked
    def unfinished_broadcasts(self) -> list[dict[str, Any]]:
        """Broadcasts still 'sending' (to resume after a restart), oldest first."""
        return self._all("SELECT * FROM broadcasts WHERE state = 'sending' ORDER BY id")

    @_locked
    def finish_broadcast(self, broadcast_id: int, now: Instant) -> bool:
        """Mark a sending broadcast done; False if it was not sending (e.g. cancelled)."""
        cursor = self.db.execute(
            "UPDATE broadcasts SET state = 'done', finished_at = ? WHERE id = ? AND state = 'sending'",
            [self._now(now), broadcast_id],
        )
        return cursor.rowcount == 1

    @_locked
    def set_progress_message(self, broadcast_id: int, chat_key: str, message_id: str | int) -> None:
        """Remember the admin's progress/report message, to edit it as the broadcast goes."""
        self.db.execute(
            "UPDATE broadcasts SET progress_chat = ?, progress_message_id = ? WHERE id = ?",
            [chat_key, str(message_id), broadcast_id],
        )

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
