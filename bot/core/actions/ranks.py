"""/rank: a group's leaderboard of the week (since Monday's study day began, 04:00 local) and of the
chat's course: correct answers in the group's quizzes, then days studied (check-ins); ties share a rank.
In a private chat it says it is for groups and shows the person's own week."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.core.actions.base import Area
from bot.core.actions.quizzes import BOARD_LINES, ranked
from bot.core.actions.replies import Button, Ctx, Message, Out
from bot.core.render import Doc
from bot.core.schedule import DAY_STARTS, study_date


class Ranks(Area):
    """/rank."""

    def week_start(self, chat: dict, now: datetime) -> tuple[datetime, date]:
        """(the instant this study week began: Monday 04:00 in the chat's zone; that Monday)."""
        zone = self.zone(chat)
        today = study_date(zone, now)
        monday = today - timedelta(days=today.weekday())
        return datetime.combine(monday, DAY_STARTS, tzinfo=zone), monday

    async def rank(self, ctx: Ctx, args: str) -> list[Out]:
        """The group's leaderboard of the week and of its course."""
        chat = self.storage.get_chat(ctx.chat_key) or {}
        since, monday = self.week_start(chat, ctx.now)
        if not ctx.is_group:
            correct, days = self.storage.own_standing(ctx.user_key, since, monday)
            doc = Doc().add("🏆 排行榜在群里使用：在学习群里发送 /rank 查看本周和本课程的排名。\n")
            doc.add(f"你本周答对 {correct} 题，学习 {days} 天。/me 查看全部记录。")
            return [Message(doc, [[Button("🧠 答题", "quiz:5")]])]
        week = self.storage.leaderboard(ctx.chat_key, since=since, since_date=monday)
        course = self.storage.leaderboard(ctx.chat_key, course_id=self.course_id)
        doc = Doc().b(f"🏆 排行榜 · {ctx.chat_title or '本群'}")
        doc.add("\n\n").b(f"本周（{monday.month}月{monday.day}日起）").add("\n")
        self._lines(doc, week)
        doc.add("\n").b(f"本课程《{self.model.title}》").add("\n")
        self._lines(doc, course)
        doc.add("\n按答对题数排名，相同时比学习天数（打卡）。")
        return [Message(doc, [[Button("🧠 答题", "quiz:5")]])]

    @staticmethod
    def _lines(doc: Doc, rows: list[dict]) -> None:
        if not rows:
            doc.add("还没有人答题或打卡。\n")
            return
        for rank, r in ranked(rows, lambda r: (r["correct"], r["days"]))[:BOARD_LINES]:
            doc.add(f"{rank}. {r['name'] or '匿名'} · 答对 {r['correct']} 题 · 学习 {r['days']} 天\n")
        if len(rows) > BOARD_LINES:
            doc.add(f"……另有 {len(rows) - BOARD_LINES} 人\n")
