"""Courses: the speeches a bot teaches over time, each chat's current course and its place in each.

A course is a speech's text (kept here, so nothing depends on a file staying put), identified by the
text's hash, and optionally a curated question bank. Course 1 is the speech the bot is configured with
(the bundled one or STUDYBOT_CONTENT). A chat studies one course at a time: `chats.course_id` and
`chats.plan_pos` are its current course and place in it, and `course_progress` keeps its place in every
course it has studied, so switching back resumes where it left off.

A course is published for chats that have finished theirs (`switch = 'finished'`: they move on to the
next published course at their next push, in the order of publication) or for every chat (`'all'`: each
switches at its next push). Which course a push teaches is decided by `next_course` here, from the
database alone, so it holds across restarts.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

from bot.core.storage.chats import ChatStore
from bot.core.storage.db import Instant, _locked

SWITCHES = ("finished", "all")


def text_hash(text: str) -> str:
    """The identity of a course: the SHA-256 of its text, line ends and outer blank space aside."""
    normal = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n"))
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


class CourseStore(ChatStore):
    """Courses, their publication, and each chat's course and place in it."""

    _COLUMNS = "id, hash, title, source, state, switch, bank_mode, created_by, created_at, published_at"

    @_locked
    def course(self, course_id: int, text: bool = False) -> dict[str, Any] | None:
        """A course's row (with its text when asked), or None."""
        columns = "*" if text else self._COLUMNS + ", length(text) AS chars, bank IS NOT NULL AS has_bank"
        return self._one(f"SELECT {columns} FROM courses WHERE id = ?", [int(course_id)])

    @_locked
    def course_text(self, course_id: int) -> str | None:
        """A course's text, or None."""
        row = self.db.execute("SELECT text FROM courses WHERE id = ?", [int(course_id)]).fetchone()
        return None if row is None else row[0]

    @_locked
    def course_by_hash(self, digest: str) -> dict[str, Any] | None:
        """The course of a text hash, or None."""
        return self._one(f"SELECT {self._COLUMNS} FROM courses WHERE hash = ?", [digest])

    @_locked
    def courses(self, published_only: bool = False) -> list[dict[str, Any]]:
        """Every course (drafts too unless `published_only`), in the order they were published."""
        where = "WHERE state = 'published'" if published_only else ""
        return self._all(
            f"SELECT {self._COLUMNS}, length(text) AS chars, bank IS NOT NULL AS has_bank FROM courses "
            f"{where} ORDER BY state = 'draft', published_at, id"
        )

    @_locked
    def add_course(
        self,
        text: str,
        title: str,
        source: str,
        now: Instant,
        created_by: str | None = None,
        publish: str | None = None,
    ) -> tuple[int, bool]:
        """Store a speech as a course, a draft unless `publish` ('finished' or 'all') is given; returns
        (id, created): an identical text already stored is that course (created False)."""
        digest = text_hash(text)
        existing = self.course_by_hash(digest)
        if existing is not None:
            return int(existing["id"]), False
        ts = self._now(now)
        try:
            with self._tx():
                cursor = self.db.execute(
                    "INSERT INTO courses (hash, title, text, source, state, switch, created_by, created_at, "
                    "published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [digest, title, text, source, "published" if publish else "draft", publish or "finished",
                     created_by, ts, ts if publish else None],
                )  # fmt: skip
                return int(cursor.lastrowid), True
        except sqlite3.IntegrityError:  # the same text stored by another process meanwhile
            return int(self.course_by_hash(digest)["id"]), False  # type: ignore[index]

    @_locked
    def register_configured_course(
        self, text: str, title: str, source: str, now: Instant
    ) -> tuple[int, bool]:
        """The speech the bot is configured with, as a course: course 1 if it is still empty (a database
        from before courses, or a new one) or holds this text; else the course of this text, published
        for every chat if it is new (the operator pointed STUDYBOT_CONTENT at a new speech). Returns
        (id, created)."""
        digest = text_hash(text)
        with self._tx():
            first = self._one("SELECT id, hash FROM courses WHERE id = 1")
            if first is None or first["hash"] is None:
                ts = self._now(now)
                self.db.execute(
                    "INSERT INTO courses (id, hash, title, text, source, state, switch, created_at, "
                    "published_at) VALUES (1, ?, ?, ?, ?, 'published', 'finished', ?, 0) "
                    "ON CONFLICT(id) DO UPDATE SET hash = excluded.hash, title = excluded.title, "
                    "text = excluded.text, source = excluded.source",
                    [digest, title, text, source, ts],
                )
                return 1, first is None or first["hash"] is None
        existing = self.course_by_hash(digest)
        if existing is not None:
            if existing["state"] != "published":
                self.publish_course(int(existing["id"]), "all", now)
            return int(existing["id"]), False
        return self.add_course(text, title, source, now, publish="all")

    @_locked
    def publish_course(self, course_id: int, switch: str, now: Instant) -> bool:
        """Publish a draft (or publish again) for chats that finished ('finished') or for all ('all')."""
        if switch not in SWITCHES:
            raise ValueError(f"switch must be one of {SWITCHES}")
        cursor = self.db.execute(
            "UPDATE courses SET state = 'published', switch = ?, published_at = ? WHERE id = ?",
            [switch, self._now(now), int(course_id)],
        )
        return cursor.rowcount == 1

    @_locked
    def drop_draft(self, course_id: int) -> bool:
        """Forget a draft nobody was shown as a course (the admin pressed 取消)."""
        return (
            self.db.execute("DELETE FROM courses WHERE id = ? AND state = 'draft'", [int(course_id)]).rowcount
            == 1
        )

    @_locked
    def set_course_title(self, course_id: int, title: str) -> bool:
        """Rename a course (`studybot course add --title`)."""
        return (
            self.db.execute("UPDATE courses SET title = ? WHERE id = ?", [title, int(course_id)]).rowcount
            == 1
        )

    @_locked
    def default_course(self) -> int:
        """The course new chats and the WeCom robots start on: the last published for every chat, or 1."""
        return self._default_course_id()

    @_locked
    def next_course(self, chat: dict[str, Any]) -> int:
        """The course the chat's next push teaches: the last course published for every chat since the
        chat got onto its own; else, once it has finished its course, the next one published after it;
        else its own."""
        current = int(chat.get("course_id") or 1)
        row = self.db.execute(
            "SELECT id FROM courses WHERE state = 'published' AND switch = 'all' AND published_at > ? "
            "AND id != ? ORDER BY published_at DESC, id DESC LIMIT 1",
            [int(chat.get("course_since") or 0), current],
        ).fetchone()
        if row:
            return int(row[0])
        if chat.get("plan_done"):
            row = self.db.execute(
                "SELECT c.id FROM courses c, courses mine WHERE mine.id = ? AND c.state = 'published' "
                "AND (c.published_at > mine.published_at OR (c.published_at = mine.published_at AND c.id > mine.id)) "
                "ORDER BY c.published_at, c.id LIMIT 1",
                [current],
            ).fetchone()
            if row:
                return int(row[0])
        return current

    @_locked
    def course_place(self, chat_key: str, course_id: int) -> tuple[int, bool]:
        """(plan position, finished) of the chat in a course: where it stands or stood in it."""
        chat = self.get_chat(chat_key)
        if chat is not None and int(chat["course_id"]) == int(course_id):
            return int(chat["plan_pos"]), bool(chat["plan_done"])
        row = self.db.execute(
            "SELECT plan_pos, plan_done FROM course_progress WHERE chat_key = ? AND course_id = ?",
            [chat_key, int(course_id)],
        ).fetchone()
        return (int(row[0]), bool(row[1])) if row else (0, False)

    def _switch_to(self, chat_key: str, course_id: int, ts: int) -> None:
        """Inside a transaction: keep the chat's place in its course, then put it on `course_id` at its
        place there (the start, if it never studied it)."""
        chat = self._one("SELECT course_id, plan_pos, plan_done FROM chats WHERE key = ?", [chat_key])
        if chat is None or int(chat["course_id"]) == int(course_id):
            return
        self._keep_place(chat_key, int(chat["course_id"]), int(chat["plan_pos"]), bool(chat["plan_done"]), ts)
        row = self.db.execute(
            "SELECT plan_pos, plan_done FROM course_progress WHERE chat_key = ? AND course_id = ?",
            [chat_key, int(course_id)],
        ).fetchone()
        pos, done = (int(row[0]), int(row[1])) if row else (0, 0)
        self._update_chat(
            chat_key,
            "course_id = ?, course_since = ?, plan_pos = ?, plan_done = ?",
            [int(course_id), ts, pos, done],
        )

    def _keep_place(self, chat_key: str, course_id: int, pos: int, done: bool, ts: int) -> None:
        self.db.execute(
            "INSERT INTO course_progress (chat_key, course_id, plan_pos, plan_done, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(chat_key, course_id) DO UPDATE SET plan_pos = excluded.plan_pos, "
            "plan_done = excluded.plan_done, updated_at = excluded.updated_at",
            [chat_key, course_id, pos, int(done), ts],
        )

    @_locked
    def switch_course(self, chat_key: str, course_id: int, now: Instant) -> bool:
        """Put the chat on a published course now (its `/course` choice), its place in the old one kept;
        False if there is no such published course."""
        ts = self._now(now)
        with self._tx():
            if not self._one(
                "SELECT 1 AS x FROM courses WHERE id = ? AND state = 'published'", [int(course_id)]
            ):
                return False
            self._switch_to(chat_key, int(course_id), ts)
        return True

    # ----------------------------------------------------------------- question banks

    @_locked
    def course_bank(self, course_id: int) -> tuple[str | None, str | None]:
        """(the curated questions as JSON, 'replace' or 'add') of a course, or (None, None)."""
        row = self.db.execute("SELECT bank, bank_mode FROM courses WHERE id = ?", [int(course_id)]).fetchone()
        return (row[0], row[1]) if row and row[0] else (None, None)

    @_locked
    def set_course_bank(self, course_id: int, rows: str | None, mode: str | None) -> bool:
        """Give a course its curated questions (JSON rows) replacing ('replace') or beside ('add') the
        generated ones; None: back to the generated ones only."""
        if rows is not None and mode not in ("replace", "add"):
            raise ValueError("mode must be 'replace' or 'add'")
        cursor = self.db.execute(
            "UPDATE courses SET bank = ?, bank_mode = ? WHERE id = ?",
            [rows, mode if rows is not None else None, int(course_id)],
        )
        return cursor.rowcount == 1

    @_locked
    def save_bank_draft(self, course_id: int, rows: str, created_by: str, now: Instant) -> int:
        """Keep an uploaded bank until its admin confirms the import; returns its id."""
        cursor = self.db.execute(
            "INSERT INTO bank_drafts (course_id, rows, created_by, created_at) VALUES (?, ?, ?, ?)",
            [int(course_id), rows, created_by, self._now(now)],
        )
        return int(cursor.lastrowid)

    @_locked
    def take_bank_draft(self, draft_id: int) -> dict[str, Any] | None:
        """The draft (removed: it is used once), or None."""
        with self._tx():
            row = self._one("SELECT * FROM bank_drafts WHERE id = ?", [int(draft_id)])
            if row is not None:
                self.db.execute("DELETE FROM bank_drafts WHERE id = ?", [int(draft_id)])
        return row

    @_locked
    def course_counts(self) -> dict[int, int]:
        """How many chats are on each course now."""
        return {
            int(c): int(n)
            for c, n in self.db.execute("SELECT course_id, count(*) FROM chats GROUP BY course_id")
        }
