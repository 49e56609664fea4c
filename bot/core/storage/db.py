"""The shared plumbing of Storage: the connection and its transactions, and the pure helpers.

`Database` opens (and migrates) the SQLite file and holds what every concern's methods use: the instance
lock that `_locked` takes, the injected clock (`_now`), one write transaction (`_tx`), the query helpers
(`_one`, `_all`), the table handles, the FSRS scheduler, and the meta table (`get_meta`, `set_meta`).
Around it: the constants (CHANNELS, CHAT_TYPES, RECIPIENT_STATES), the `Instant` type and the pure
helpers (`chat_key`, `robot_chat_key`, `epoch`, `_utc`, `_hhmm`, ...) that the concern modules share.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import threading
import time as _time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, ParamSpec, Self, TypeVar
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import fsrs

from bot.core.config import format_hhmm, parse_hhmm
from bot.core.storage.schema import migrate
from bot.core.storage.sqlite import Table, sqlite_utils

CHANNELS = ("tg", "wecom", "robot", "console")
CHAT_TYPES = ("private", "group", "supergroup", "channel", "robot", "console")
RECIPIENT_STATES = ("pending", "sending", "sent", "blocked", "failed")

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


def channel_filter(channels) -> tuple[str, list[str]]:
    """The SQL condition (and its parameters) that keeps rows of `channels` only; none when None (all)."""
    if channels is None:
        return "", []
    names = sorted(set(channels))
    return (f" AND channel IN ({', '.join('?' * len(names))})" if names else " AND 0"), names


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


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    """Run a Storage method under the instance lock (see Database.__init__ for why)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return wrapper


class Database:
    """The connection, its lock and transactions: the base every part of Storage is built on."""

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

    def __enter__(self) -> Self:
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
