"""Quiz sessions and their answers, and the FSRS spaced-repetition review cards.

A wrong answer (or any answer to a question under review) rates the user's review card in the same
transaction as the answer, so both live here.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import fsrs

from bot.core.storage.db import Database, Instant, _locked


class QuizStore(Database):
    """Quiz sessions (at most one active per chat), answers and review cards."""

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
        unsent_after: int | None = None,
        course_id: int = 1,
        deadline: Instant | None = None,
    ) -> int | None:
        """Start a quiz session; None if the chat already has an active one (stale ones are cancelled).

        `unsent_after`: an active session that has shown no poll for that many seconds is cancelled too —
        its question never arrived (the process was killed between the session and its poll), so nobody
        can be answering it. Only for channels that record their polls (Telegram).

        `deadline`: a group round's, when its first question ends whoever has answered."""
        ts = self._now(now)
        with self._tx():
            if unsent_after is not None:
                self.db.execute(
                    "UPDATE quiz_sessions SET state = 'cancelled', updated_at = ? "
                    "WHERE chat_key = ? AND state = 'active' AND poll_id IS NULL AND updated_at < ?",
                    [ts, chat_key, ts - int(unsent_after)],
                )
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
                            "course_id": int(course_id),
                            "deadline": None if deadline is None else self._now(deadline),
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
            row = self.db.execute("SELECT course_id FROM quiz_sessions WHERE id = ?", [session_id]).fetchone()
            course = int(row[0]) if row else 1  # the answer, and the card, belong to the round's course
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO quiz_answers "
                "(session_id, chat_key, user_key, question_id, section_id, option, correct, answered_at, course_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [session_id, chat_key, user_key, question_id, section_id, option, int(correct), ts, course],
            )
            if cursor.rowcount != 1:
                return False
            self.db.execute(
                "UPDATE quiz_sessions SET correct = correct + ?, updated_at = ? WHERE id = ?",
                [int(correct), ts, session_id],
            )
            if not correct or self._get_card(user_key, question_id, course) is not None:
                self._review(user_key, question_id, correct, ts, course)
            return True

    @_locked
    def advance_quiz(
        self, session_id: int, expected_position: int | None = None, deadline: Instant | None = None
    ) -> int | None:
        """Move to the next question (only from expected_position, if given); new position or None.
        `deadline`: a group round's, when the next question ends (None: no deadline)."""
        # expected_position makes it a compare-and-set: two answers to one group poll advance once.
        # The poll is forgotten: a late answer to the last question's poll must not count for the next
        # one, and a round whose next question never arrives is told apart by its empty poll_id.
        sql = (
            "UPDATE quiz_sessions SET position = position + 1, poll_id = NULL, poll_message_id = NULL, "
            "deadline = ?, updated_at = ? WHERE id = ? AND state = 'active'"
        )
        params: list[Any] = [None if deadline is None else self._now(deadline), self._now(), session_id]
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
    def resume_quiz(
        self, session_id: int, now: Instant, stale_after: int = 3600, round_seconds: int = 60
    ) -> bool:
        """Make a round cancelled while its current question was unsent (poll_id empty) active again (a
        group round's question gets its round_seconds again from now);
        False if it is not such a round, was left more than stale_after seconds ago, or the chat has
        another active round."""
        ts = self._now(now)
        try:
            cursor = self.db.execute(
                "UPDATE quiz_sessions SET state = 'active', updated_at = ?, "
                "deadline = CASE WHEN deadline IS NULL THEN NULL ELSE ? END "
                "WHERE id = ? AND state = 'cancelled' "
                "AND poll_id IS NULL AND position < json_array_length(question_ids) AND updated_at >= ?",
                [ts, ts + int(round_seconds), session_id, ts - int(stale_after)],
            )
        except sqlite3.IntegrityError:
            return False  # idx_quiz_sessions_one_active: the chat has started another round since
        return cursor.rowcount == 1

    @_locked
    def overdue_rounds(self, now: Instant, limit: int = 100) -> list[dict[str, Any]]:
        """Active group rounds whose current question's deadline has passed (question_ids decoded),
        the most overdue first (idx_quiz_sessions_deadline)."""
        rows = self._all(
            "SELECT * FROM quiz_sessions WHERE state = 'active' AND deadline <= ? ORDER BY deadline LIMIT ?",
            [self._now(now), int(limit)],
        )
        return [self._quiz_row(r) for r in rows]  # type: ignore[misc]

    @_locked
    def question_answerers(self, session_id: int, question_id: str) -> int:
        """How many people answered one question of a session."""
        row = self.db.execute(
            "SELECT count(*) FROM quiz_answers WHERE session_id = ? AND question_id = ?",
            [session_id, question_id],
        ).fetchone()
        return int(row[0])

    @_locked
    def quiz_results(self, session_id: int) -> list[dict[str, Any]]:
        """Per user of the session: user_key, name (the first name where known), correct, total; best
        first."""
        return self._all(
            "SELECT a.user_key, coalesce(u.first_name, u.name) AS name, sum(a.correct) AS correct, count(*) AS total "
            "FROM quiz_answers a LEFT JOIN users u ON u.key = a.user_key "
            "WHERE a.session_id = ? GROUP BY a.user_key ORDER BY correct DESC, total DESC, min(a.answered_at)",
            [session_id],
        )

    @_locked
    def answered_questions(self, user_key: str, course_id: int = 1) -> set[str]:
        """Ids of the questions of a course the user has answered correctly at least once."""
        rows = self.db.execute(
            "SELECT DISTINCT question_id FROM quiz_answers WHERE user_key = ? AND correct = 1 AND course_id = ?",
            [user_key, int(course_id)],
        )
        return {qid for (qid,) in rows}

    # ----------------------------------------------------------------- review cards (FSRS)

    def _get_card(self, user_key: str, question_id: str, course_id: int = 1) -> dict[str, Any] | None:
        """The review_cards row, or None."""
        return self._one(
            "SELECT * FROM review_cards WHERE user_key = ? AND course_id = ? AND question_id = ?",
            [user_key, int(course_id), question_id],
        )

    def _review(
        self, user_key: str, question_id: str, correct: bool, ts: int, course_id: int = 1
    ) -> dict[str, Any]:
        """Rate the user's card for question_id (Good / Again), creating it if needed; store it."""
        row = self._get_card(user_key, question_id, course_id)
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
            "course_id": int(course_id),
            "question_id": question_id,
            "card": card.to_json(),
            "due": int(card.due.timestamp()),
            "lapses": lapses + (0 if correct else 1),
            "reviews": reviews + 1,
            "updated_at": ts,
        }
        self._cards.upsert(record, pk=("user_key", "course_id", "question_id"))
        return record

    @_locked
    def record_review(
        self, user_key: str, question_id: str, correct: bool, now: Instant, course_id: int = 1
    ) -> dict[str, Any]:
        """Rate and reschedule a review card with FSRS (Good / Again); return the stored row."""
        # record_answer already does this for quiz answers: don't call both for one answer.
        with self._tx():
            return self._review(user_key, question_id, correct, self._now(now), course_id)

    @_locked
    def due_reviews(
        self, user_key: str, now: Instant, limit: int = 10, course_id: int = 1
    ) -> list[dict[str, Any]]:
        """The user's review cards of a course due by now (question_id, due, lapses, reviews), most
        overdue first."""
        return self._all(
            "SELECT question_id, due, lapses, reviews FROM review_cards WHERE user_key = ? AND course_id = ? "
            "AND due <= ? ORDER BY due LIMIT ?",
            [user_key, int(course_id), self._now(now), int(limit)],
        )

    @_locked
    def next_reviews(self, user_key: str, limit: int = 10, course_id: int = 1) -> list[dict[str, Any]]:
        """The user's review cards of a course whether due or not (question_id, due, lapses, reviews),
        soonest due first."""
        return self._all(
            "SELECT question_id, due, lapses, reviews FROM review_cards WHERE user_key = ? AND course_id = ? "
            "ORDER BY due LIMIT ?",
            [user_key, int(course_id), int(limit)],
        )

    @_locked
    def count_reviews(self, user_key: str, now: Instant, course_id: int | None = 1) -> tuple[int, int]:
        """(cards due now, all cards) of the user in a course (None: in every course)."""
        where, params = ("", []) if course_id is None else (" AND course_id = ?", [int(course_id)])
        row = self.db.execute(
            f"SELECT coalesce(sum(due <= ?), 0), count(*) FROM review_cards WHERE user_key = ?{where}",
            [self._now(now), user_key, *params],
        ).fetchone()
        return int(row[0]), int(row[1])
