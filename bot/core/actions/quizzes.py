"""Quizzes: a round of questions (the whole speech, one part, one lesson), answers, the score, /review.

A quiz in a Telegram group is one round for everyone (`is_round`): each question ends after
`quorum` answers or ROUND_SECONDS, whichever comes first (the deadline is stored on the session and the
service's rounds tick moves overdue rounds on: `overdue`), and the round ends with its scoreboard. The
quorum of the first question is ROUND_QUORUM; of a later one, min(ROUND_QUORUM, the people who answered
the question before), at least 1. Private chats (and other channels) move on after each answer of the
person who started the round, as before.
"""

from __future__ import annotations

import hashlib
import random
import re
from datetime import datetime, timedelta

from bot.core.actions.base import Area
from bot.core.actions.replies import LETTERS, Button, Ctx, Message, Out, QuizPoll, letters, say
from bot.core.render import Doc
from content.quiz import Question

QUIZ_DEFAULT = 5
QUIZ_MAX = 10
REVIEW_MAX = 5
UNSENT_AFTER = 120
ROUND_QUORUM = 3  # answers that end a group round's question early
ROUND_SECONDS = 60  # a group round's question ends at the latest after this
BOARD_LINES = 10


def is_round(quiz: dict) -> bool:
    """Whether a session is a group round (it has a deadline) rather than one person's quiz."""
    return quiz.get("deadline") is not None


def ranked(rows: list[dict], key) -> list[tuple[int, dict]]:
    """(rank, row) in order, rows with the same key sharing a rank (1, 1, 3)."""
    out: list[tuple[int, dict]] = []
    for i, row in enumerate(rows):
        rank = out[-1][0] if out and key(out[-1][1]) == key(row) else i + 1
        out.append((rank, row))
    return out


class Quizzes(Area):
    """/quiz, /review, the answers to their questions, and stopping a round."""

    async def quiz(self, ctx: Ctx, args: str) -> list[Out]:
        """Start a quiz of N questions (default 5)."""
        if args and not (args.isdigit() and 1 <= int(args) <= QUIZ_MAX):
            return [say(f"题数应为 1–{QUIZ_MAX} 之间的数字，例如 /quiz 5")]
        return await self.start(ctx, int(args) if args else QUIZ_DEFAULT, None)

    async def review(self, ctx: Ctx, args: str) -> list[Out]:
        """A quiz of the user's wrong answers: those due again, or if none is due, the soonest as 提前复习."""
        # A few more than asked: cards of questions the content no longer has are skipped.
        due = self._known(
            self.storage.due_reviews(ctx.user_key, ctx.now, limit=REVIEW_MAX * 4, course_id=self.course_id)
        )
        if due:
            return self._begin(ctx, due, "review", f"🔁 复习错题 · 共 {len(due)} 题")
        # Nothing due yet (a mistake made a minute ago is not): go over them anyway. Each answer is rated
        # at its real time, and FSRS takes the short interval into account, so the schedule stays right.
        early = self._known(
            self.storage.next_reviews(ctx.user_key, limit=REVIEW_MAX * 4, course_id=self.course_id)
        )
        if not early:
            return [say("错题本是空的 👍 先来一轮 /quiz 吧。", [Button("🧠 答题", "quiz:5")])]
        return self._begin(
            ctx, early, "review", f"🔁 提前复习 · 共 {len(early)} 题", "错题都还没到复习时间，先提前练一练。"
        )

    def _known(self, cards: list[dict]) -> list[str]:
        """Question ids of review cards the content still has, at most REVIEW_MAX."""
        return [r["question_id"] for r in cards if r["question_id"] in self.model.question_by_id][:REVIEW_MAX]

    async def start(self, ctx: Ctx, count: int, scope: str | None) -> list[Out]:
        """A quiz on the whole speech, one part (scope = its id) or one lesson (d7: that lesson, then its part)."""
        count = max(1, min(QUIZ_MAX, count))
        lesson = self.lesson(int(scope[1:])) if scope and re.fullmatch(r"d\d{1,4}", scope) else None
        section_id = lesson.section_id if lesson else scope
        ids = self._pick_questions(ctx, count, section_id, lesson.day if lesson else None)
        where = (
            f"（{self.section_name(section_id)}）" if section_id and self.model.section(section_id) else ""
        )
        return self._begin(ctx, ids, "quiz", f"🧠 小测验{where} · 共 {len(ids)} 题")

    def _begin(self, ctx: Ctx, ids: list[str], kind: str, heading: str, note: str = "") -> list[Out]:
        # On Telegram a session shows its poll within a second; one without a poll for two minutes lost its
        # question to a killed process and must not hold the chat.
        unsent = UNSENT_AFTER if ctx.channel == "tg" else None
        group_round = ctx.channel == "tg" and ctx.is_group
        session = self.storage.start_quiz(
            ctx.chat_key,
            ctx.user_key,
            ids,
            ctx.now,
            kind=kind,
            unsent_after=unsent,
            course_id=self.course_id,
            deadline=self._deadline(ctx.now) if group_round else None,
        )
        if session is None:
            return [self._busy(ctx)]
        hint = (
            f"群里每个人都可以作答：{ROUND_QUORUM} 人答完或 {ROUND_SECONDS} 秒后出下一题，最后公布本轮排名。"
            if group_round
            else "选出你认为正确的一项。"
        )
        if ctx.channel != "tg":
            widest = max(len(self.model.question_by_id[i].options) for i in ids)
            hint = f"每题回复 {letters(widest)} 作答。" if widest == 4 else "每题回复选项前的字母作答。"
        first = self.model.question_by_id[ids[0]]
        doc = Doc().b(heading).add("\n" + (note + hint if note else hint))
        return [Message(doc), QuizPoll(session, first, 1, len(ids))]

    def _busy(self, ctx: Ctx) -> Message:
        """The chat has a round running: say where it is, with a way to end it."""
        active = self.storage.active_quiz(ctx.chat_key)
        where = "本群" if ctx.is_group else "这里"
        progress = f"（第 {active['position'] + 1} / {len(active['question_ids'])} 题）" if active else ""
        starter = ""
        if active and ctx.is_group:
            user = self.storage.get_user(active["user_key"]) or {}
            name = user.get("first_name") or user.get("name") or ""
            starter = f"，由{name}发起" if name else ""
        return say(
            f"{where}已有一轮测验在进行{progress}{starter}，答完或结束后再开始新的一轮。",
            [Button("⏹ 结束这轮测验", "stopquiz")],
        )

    # -- what the channel reports of a question it was given ---------------------------------------
    def poll_sent(self, session_id: int, poll_id: str, message_id: str | int | None) -> None:
        """The question went out as a poll: its answers are looked up by poll_id."""
        self.storage.set_quiz_poll(session_id, poll_id, message_id)

    def poll_failed(self, session_id: int, permanent: bool) -> list[Out]:
        """The question could not be sent: the round stops holding the chat (a new /quiz works) and the
        user is told. After a temporary failure a Telegram chat may resume it at that question."""
        quiz = self.storage.get_quiz(session_id)
        if quiz is None or not self.storage.finish_quiz(session_id, cancelled=True):
            return []
        number, total = quiz["position"] + 1, len(quiz["question_ids"])
        again = Button("🧠 再来一轮", "review" if quiz["kind"] == "review" else "quiz:5")
        if permanent:
            return [say(f"⚠️ 第 {number} / {total} 题没能发出去，这轮测验已结束。", [again])]
        text = f"⚠️ 第 {number} / {total} 题没能发出去（发送暂时出错），这轮测验先暂停了。"
        if not quiz["chat_key"].startswith("tg:"):
            return [say(text + "稍后发送“答题”再来一轮。")]
        resume = Button("▶️ 继续答题", f"quizon:{session_id}")
        return [say(text + "稍后点“继续答题”重发这一题，或再来一轮。", [resume, again])]

    def resume(self, ctx: Ctx, session_id: int) -> list[Out]:
        """The ▶️ button of a round paused by a failed send: send its current question again."""
        quiz = self.storage.get_quiz(session_id)
        if (
            quiz is not None
            and quiz["chat_key"] == ctx.chat_key
            and self.storage.resume_quiz(session_id, ctx.now, round_seconds=ROUND_SECONDS)
        ):
            poll = self.poll_for(self.storage.get_quiz(session_id))
            return [poll] if poll is not None else []
        if self.storage.active_quiz(ctx.chat_key) is not None:
            return [self._busy(ctx)]  # resumed already, or another round started
        return [say("这轮测验已经结束了。发送 /quiz 再来一轮。", [Button("🧠 答题", "quiz:5")])]

    def _pick_questions(
        self, ctx: Ctx, count: int, section_id: str | None, day: int | None = None
    ) -> list[str]:
        """A varied set: a lesson's questions first if asked, then its part's, else across parts and kinds;
        fresh ones first."""
        if day is not None:
            pool = self.model.lesson_questions(day)
        else:
            pool = [q for q in self.model.questions if section_id is None or q.section_id == section_id]
        if not pool:
            pool = list(self.model.questions)
        seed = hashlib.sha1(f"{ctx.chat_key}|{ctx.user_key}|{ctx.now.isoformat()}".encode()).digest()
        rng = random.Random(seed)
        answered = self.storage.answered_questions(ctx.user_key, self.course_id)
        rng.shuffle(pool)
        # Stable: the lesson's own questions first, then unanswered before answered, shuffled within.
        pool.sort(key=lambda q: (day is not None and q.day != day, q.id in answered))
        picked: list[Question] = [q for q in pool if day is not None and q.day == day][:count]
        for q in pool:
            # Spread over parts and kinds: skip a question whose part and kind are already in, while others remain.
            if (
                len(picked) < count
                and q not in picked
                and not any(p.section_id == q.section_id and p.kind == q.kind for p in picked)
            ):
                picked.append(q)
        for q in pool:
            if len(picked) >= count:
                break
            if q not in picked:
                picked.append(q)
        return [q.id for q in picked[:count]]

    def poll_for(self, quiz: dict) -> QuizPoll | None:
        """The current question of an active session."""
        ids = quiz["question_ids"]
        if quiz["state"] != "active" or quiz["position"] >= len(ids):
            return None
        question = self.model.question_by_id.get(ids[quiz["position"]])
        return QuizPoll(quiz["id"], question, quiz["position"] + 1, len(ids)) if question else None

    async def poll_answer(self, ctx: Ctx, poll_id: str, option: int | None) -> list[Out]:
        """An answer to a Telegram quiz poll (ctx.chat_key is resolved from the poll)."""
        quiz = self.storage.quiz_by_poll(poll_id)
        if quiz is None:
            return []
        return await self.answer(ctx, quiz, option, poll_id=poll_id)

    async def answer(self, ctx: Ctx, quiz: dict, option: int | None, poll_id: str | None = None) -> list[Out]:
        """Record an answer to the session's current question; move on when its starter has answered."""
        ids = quiz["question_ids"]
        position = quiz["position"]
        if poll_id is not None and quiz.get("poll_id") != poll_id or position >= len(ids):
            return []
        question = self.model.question_by_id.get(ids[position])
        if question is None:
            return []
        if option is not None and option >= len(question.options):
            # D to a question of three options: not an answer, and nothing is recorded.
            n = len(question.options)
            count = {2: "两", 3: "三"}.get(n, str(n))
            return [say(f"这一题只有 {'、'.join(LETTERS[:n])} {count}项，请回复其中一个字母。")]
        correct = option == question.answer
        fresh = self.storage.record_answer(
            quiz["id"],
            quiz["chat_key"],
            ctx.user_key,
            question.id,
            question.section_id,
            option,
            correct,
            ctx.now,
        )
        out: list[Out] = []
        if ctx.channel != "tg" and fresh:
            verdict = (
                "✅ 答对了！"
                if correct
                else f"❌ 正确答案是 {LETTERS[question.answer]}. {question.options[question.answer]}"
            )
            out.append(Message(Doc().add(verdict).add("\n").add(question.explanation)))
        if is_round(quiz):
            if not fresh or self.storage.question_answerers(quiz["id"], question.id) < self._quorum(quiz):
                return out  # the question stays open for more answers, or its deadline
        elif ctx.user_key != quiz["user_key"] and ctx.chat_type != "private":
            return out  # in a group elsewhere, the starter's answer moves the quiz on
        return out + self._next(quiz, ctx.now)

    def overdue(self, quiz: dict, now: datetime) -> list[Out]:
        """A group round whose question's time is up: the next question, or the scoreboard."""
        return self._next(quiz, now)

    def _next(self, quiz: dict, now: datetime) -> list[Out]:
        """Move the session from its current question (once: a compare-and-set) to the next or its end."""
        group_round = is_round(quiz)
        last = quiz["position"] + 1 >= len(quiz["question_ids"])
        deadline = self._deadline(now) if group_round and not last else None
        if (
            self.storage.advance_quiz(quiz["id"], expected_position=quiz["position"], deadline=deadline)
            is None
        ):
            return []
        quiz = self.storage.get_quiz(quiz["id"])
        poll = self.poll_for(quiz)
        if poll is not None:
            return [poll]
        self.storage.finish_quiz(quiz["id"])
        return [self._board(quiz) if group_round else self._score(quiz)]

    @staticmethod
    def _deadline(now: datetime) -> datetime:
        return now + timedelta(seconds=ROUND_SECONDS)

    def _quorum(self, quiz: dict) -> int:
        """Answers that end the round's current question: ROUND_QUORUM for the first, then at most as
        many as answered the one before."""
        position = quiz["position"]
        if position == 0:
            return ROUND_QUORUM
        before = self.storage.question_answerers(quiz["id"], quiz["question_ids"][position - 1])
        return max(1, min(ROUND_QUORUM, before))

    def _board(self, quiz: dict) -> Message:
        """The end of a group round: who got how many right, ties sharing a rank."""
        results = self.storage.quiz_results(quiz["id"])
        total = len(quiz["question_ids"])
        doc = Doc().b(f"🏁 本轮测验结束 · 共 {total} 题")
        if not results:
            doc.add("\n这一轮没有人作答。")
        else:
            doc.add(f"\n{len(results)} 人参与，答对题数：\n")
            for rank, r in ranked(results, lambda r: r["correct"])[:BOARD_LINES]:
                doc.add(f"{rank}. {r['name'] or '匿名'} · {r['correct']} / {total}\n")
            if len(results) > BOARD_LINES:
                doc.add(f"……另有 {len(results) - BOARD_LINES} 人\n")
            doc.add("答错的题已加入各自的错题本，用 /review 复习。")
        return Message(doc, [[Button("🧠 再来一轮", "quiz:5"), Button("🏆 排行榜", "rank")]])

    def _score(self, quiz: dict) -> Message:
        results = self.storage.quiz_results(quiz["id"])
        total = len(quiz["question_ids"])
        mine = next((r for r in results if r["user_key"] == quiz["user_key"]), None)
        right = mine["correct"] if mine else 0
        wrong = total - right
        doc = Doc().b(f"🎯 {right} / {total}")
        if wrong:
            doc.add(f" · 答错的 {wrong} 题已加入错题本，用 /review 复习")
        else:
            doc.add(" · 全部答对，真棒！")
        others = [r for r in results if r["user_key"] != quiz["user_key"]]
        if others:
            doc.add("\n\n本轮其他参与者：\n")
            for r in others[:10]:
                doc.add(f"{r['name'] or '匿名'}：{r['correct']} / {r['total']}\n")
        return Message(doc, [[Button("🧠 再来一轮", "quiz:5"), Button("📖 今日学习", "today")]])

    def stop(self, ctx: Ctx) -> list[Out]:
        """The ⏹ button: end the chat's round (its starter, or anyone in a private chat)."""
        quiz = self.storage.active_quiz(ctx.chat_key)
        if quiz is None:
            return [say("现在没有进行中的测验。")]
        if quiz["user_key"] != ctx.user_key and not ctx.is_bot_admin and ctx.is_group:
            return [say("只有发起人可以结束这轮测验。")]
        self.storage.finish_quiz(quiz["id"], cancelled=True)
        return [say("⏹ 已结束这轮测验。发送 /quiz 再来一轮。")]
