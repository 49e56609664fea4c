"""Reflections (心得体会): what users write about a lesson."""

from __future__ import annotations

from typing import Any

from bot.core.storage.db import Database, Instant, _locked


class ReflectionStore(Database):
    """Reflections, each with its chat, user and (probable) lesson day."""

    @_locked
    def add_reflection(
        self,
        chat_key: str,
        user_key: str,
        lesson_day: int | None,
        text: str,
        now: Instant,
        message_id: str | int | None = None,
        course_id: int = 1,
    ) -> int:
        """Store a reflection (心得体会) on a lesson of `course_id`; return its id."""
        table = self._reflections.insert(
            {
                "chat_key": chat_key,
                "user_key": user_key,
                "lesson_day": lesson_day,
                "text": text,
                "created_at": self._now(now),
                "message_id": None if message_id is None else str(message_id),
                "course_id": int(course_id),
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
