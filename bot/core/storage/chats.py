"""Chats and users: who the bot talks to, their subscription, push time and zone, and place in the plan.

`ChatStore` also owns the helpers that write a chat row (`_update_chat`, `_DUE_IF_ACTIVE`, `_require_chat`):
deliveries and broadcasts update the chat through the first two, in their own transactions, so their
classes build on this one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.storage.db import (
    CHANNELS,
    CHAT_TYPES,
    Database,
    Instant,
    _hhmm,
    _locked,
    _opt_epoch,
    channel_filter,
    epoch,
)

logger = logging.getLogger(__name__)


class ChatStore(Database):
    """Chats (keyed "<channel>:<id>") and their subscription, and the users who write in them."""

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
                    # A new chat starts on the default course (storage/courses.py): the last published for
                    # every chat, or the first.
                    "course_id": self._default_course_id(),
                    "course_since": now,
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

    def _default_course_id(self) -> int:
        row = self.db.execute(
            "SELECT id FROM courses WHERE state = 'published' AND switch = 'all' "
            "ORDER BY published_at DESC, id DESC LIMIT 1"
        ).fetchone()
        return int(row[0]) if row else 1

    def _update_chat(self, key: str, sets: str, params: list[Any]) -> bool:
        """UPDATE one chat row (sets is SQL with ? placeholders); return whether it exists."""
        cursor = self.db.execute(
            f"UPDATE chats SET {sets}, updated_at = ? WHERE key = ?", [*params, self._now(), key]
        )
        return cursor.rowcount == 1

    # next_due is only kept for chats that can receive the push: the scheduler relies on
    # "next_due IS NULL" for unsubscribed, blocked and migrated chats.
    _DUE_IF_ACTIVE = "next_due = CASE WHEN subscribed = 1 AND blocked = 0 AND migrated_to IS NULL THEN ? END"
    # The same for the study reminder (storage/reminders.py): remind_next_due IS NULL unless the chat has
    # a reminder time and can receive it.
    _REMIND_IF_ACTIVE = (
        "remind_next_due = CASE WHEN remind_at IS NOT NULL AND blocked = 0 AND migrated_to IS NULL THEN ? END"
    )

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
        return self._update_chat(key, "blocked = 1, next_due = NULL, remind_next_due = NULL", [])

    @_locked
    def unblock(self, key: str, next_due: Instant | None, remind_next_due: Instant | None = None) -> bool:
        """Clear blocked (the chat talked to the bot again) and restore its next push if subscribed, and
        its next reminder if it has one."""
        with self._tx():
            if not self._update_chat(key, "blocked = 0", []):
                return False
            self._update_chat(
                key,
                f"{self._DUE_IF_ACTIVE}, {self._REMIND_IF_ACTIVE}",
                [_opt_epoch(next_due), _opt_epoch(remind_next_due)],
            )
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
        """Move a chat and its history to new_key (group -> supergroup); old row keeps migrated_to.

        What follows the chat: its study state (subscription, push time, place in the plan, course, the
        reminder), its deliveries, quizzes, answers, reflections, check-ins, reminders' claims, its place
        in every course, the lessons' messages, and the people seen there (`chat_members`, so /stats and
        /export count them under the new id only). Telegram announces a migration twice (migrate_to in
        the old group, migrate_from in the new one): the second call moves what was written under the
        old id meanwhile and changes no state."""
        if old_key == new_key:
            return self.get_chat(new_key)
        with self._tx():
            old = self.get_chat(old_key)
            if old is None:
                return self.get_chat(new_key)
            again = old["migrated_to"] == new_key
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
                "remind_at",
                "remind_next_due",
            )
            # The supergroup row made by a message from the new id before the migration was handled:
            # nothing of its own to keep.
            fresh = new is not None and not (
                new["subscribed"] or new["remind_at"] or new["plan_pos"] or new["plan_done"]
            )
            if again:
                pass  # the state moved the first time
            elif new is None:
                moved = {k: v for k, v in old.items() if k not in ("key", "migrated_to", "updated_at")}
                if old["chat_type"] == "group" and old["channel"] == "tg":
                    moved["chat_type"] = "supergroup"
                self._chats.insert({**moved, "key": new_key, "updated_at": now})
            elif fresh or (not new["subscribed"] and old["subscribed"]):
                # The group's study state wins, its course with it. If the supergroup was configured
                # itself, its own state stands.
                cols = (*state_cols, "course_id", "course_since")
                self._chats.update(new_key, {**{c: old[c] for c in cols}, "updated_at": now})
            elif new["remind_at"] is None and old["remind_at"] is not None:
                # Only the group's reminder was set up: it follows the group.
                reminder = {c: old[c] for c in ("remind_at", "remind_next_due")}
                self._chats.update(new_key, {**reminder, "updated_at": now})
            # OR IGNORE: a row the new key already has for the same day/broadcast stays, the old one
            # stays behind under the old key (history only) rather than breaking the unique keys.
            for table in (
                "deliveries",
                "quiz_sessions",
                "broadcast_recipients",
                "reminders",
                "course_progress",
                "lesson_messages",
            ):
                self.db.execute(
                    f"UPDATE OR IGNORE {table} SET chat_key = ? WHERE chat_key = ?", [new_key, old_key]
                )
            for table in ("quiz_answers", "reflections", "checkins"):
                self.db.execute(f"UPDATE {table} SET chat_key = ? WHERE chat_key = ?", [new_key, old_key])
            # The people seen there: a new row counts in chat_member_counts (its trigger); one the new
            # id has already keeps the earlier first_seen. The old id keeps none (a migrated chat is
            # never reported).
            self.db.execute(
                "INSERT INTO chat_members (chat_key, user_key, first_seen) "
                "SELECT ?, user_key, first_seen FROM chat_members WHERE chat_key = ? "
                "ON CONFLICT (chat_key, user_key) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen)",
                [new_key, old_key],
            )
            self.db.execute("DELETE FROM chat_members WHERE chat_key = ?", [old_key])
            self.db.execute("DELETE FROM chat_member_counts WHERE chat_key = ?", [old_key])
            self.db.execute(
                "UPDATE quiz_sessions SET state = 'cancelled', updated_at = ? WHERE chat_key = ? AND state = 'active'",
                [now, old_key],
            )
            self.db.execute(
                "UPDATE chats SET subscribed = 0, next_due = NULL, remind_next_due = NULL, migrated_to = ?, "
                "updated_at = ? WHERE key = ?",
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
        only, names = channel_filter(channels)
        params: list[Any] = [epoch(now_epoch), *names]
        return self._all(
            f"SELECT * FROM chats WHERE next_due <= ? AND subscribed = 1 AND blocked = 0{only} "
            "ORDER BY next_due LIMIT ?",
            [*params, int(limit)],
        )

    @_locked
    def count_due(self, now_epoch: Instant) -> int:
        """How many chats `due_chats` would yield now, for /metrics (a range of idx_chats_next_due)."""
        # The index alone, no table row read (10,000 due chats: 0.3 ms rather than 8): next_due is NULL
        # unless the chat is subscribed and unblocked, an invariant every write keeps (see due_chats).
        row = self.db.execute("SELECT count(*) FROM chats WHERE next_due <= ?", [epoch(now_epoch)]).fetchone()
        return int(row[0])

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
    def subscribed_keys(self, channels: Iterable[str]) -> list[str]:
        """The keys alone of the subscribed, unblocked, unmigrated chats of `channels` (a broadcast's
        recipients: 100,000 keys, not 100,000 whole rows)."""
        names = sorted(set(channels))
        rows = self.db.execute(
            "SELECT key FROM chats WHERE subscribed = 1 AND blocked = 0 AND migrated_to IS NULL "
            f"AND channel IN ({', '.join('?' * len(names))}) ORDER BY created_at, key",
            names,
        )
        return [key for (key,) in rows]

    # ----------------------------------------------------------------- users

    @_locked
    def ensure_user(self, key: str, name: str | None = None, first_name: str | None = None) -> dict[str, Any]:
        """Insert the user if missing, else refresh the name (and first name, if given); return the row."""
        row = self.get_user(key)
        if row is None:
            self._users.insert(
                {"key": key, "name": name, "first_name": first_name, "created_at": self._now()}, ignore=True
            )
        else:
            changed = {} if name is None or name == row["name"] else {"name": name}
            if first_name is not None and first_name != row.get("first_name"):
                changed["first_name"] = first_name
            if changed:
                self._users.update(key, changed)
        return self.get_user(key)  # type: ignore[return-value]

    @_locked
    def get_user(self, key: str) -> dict[str, Any] | None:
        """The user row, or None."""
        return self._one("SELECT * FROM users WHERE key = ?", [key])
