"""/rank: a group's leaderboard of correct quiz answers, days studied (check-ins) as the tiebreak.

The people of a group's board are those who answered its quizzes or checked in there in the period;
their correct answers are the group's (its rounds), their days studied their own check-ins in any chat
(the person studies, not the chat: as `CheckinStore.group_checkins`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.core.storage.db import Database, Instant, _date_str, _locked


class RankStore(Database):
    """Leaderboards of a group."""

    @_locked
    def leaderboard(
        self,
        chat_key: str,
        since: Instant | None = None,
        since_date: date | str | None = None,
        course_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """user_key, name (the first name where known), correct, days of the group's people, best first: answers in the group since
        `since` (and of `course_id`, if given), check-ins on study days from `since_date` (of `course_id`)."""
        answers, answer_args = "a.chat_key = ?", [chat_key]
        marks, mark_args = "1 = 1", []
        if since is not None:
            answers += " AND a.answered_at >= ?"
            answer_args.append(self._now(since))
        if since_date is not None:
            marks += " AND c.study_date >= ?"
            mark_args.append(_date_str(since_date))
        if course_id is not None:
            answers += " AND a.course_id = ?"
            marks += " AND c.course_id = ?"
            answer_args.append(int(course_id))
            mark_args.append(int(course_id))
        sql = (
            f"WITH people AS (SELECT a.user_key FROM quiz_answers a WHERE {answers} "
            f"UNION SELECT c.user_key FROM checkins c WHERE c.chat_key = ? AND {marks}) "
            "SELECT p.user_key, coalesce(u.first_name, u.name) AS name, "
            f"(SELECT coalesce(sum(a.correct), 0) FROM quiz_answers a WHERE a.user_key = p.user_key AND {answers}) "
            "AS correct, "
            f"(SELECT count(*) FROM checkins c WHERE c.user_key = p.user_key AND {marks}) AS days "
            "FROM people p LEFT JOIN users u ON u.key = p.user_key "
            "ORDER BY correct DESC, days DESC, u.name, p.user_key"
        )
        return self._all(sql, [*answer_args, chat_key, *mark_args, *answer_args, *mark_args])

    @_locked
    def own_standing(self, user_key: str, since: Instant, since_date: date | str) -> tuple[int, int]:
        """(correct answers in any chat since `since`, study days checked in from `since_date`)."""
        correct = self.db.execute(
            "SELECT coalesce(sum(correct), 0) FROM quiz_answers WHERE user_key = ? AND answered_at >= ?",
            [user_key, self._now(since)],
        ).fetchone()[0]
        days = self.db.execute(
            "SELECT count(*) FROM checkins WHERE user_key = ? AND study_date >= ?",
            [user_key, _date_str(since_date)],
        ).fetchone()[0]
        return int(correct), int(days)
