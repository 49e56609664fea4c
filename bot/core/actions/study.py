"""Studying: the daily lesson (pushed and /today), review days after the plan, the ✅ check-in (打卡) and
its streak, reflections, /me.

A check-in is the person's, whichever chat they press ✅ in (a group's lesson or their own): one per study
day (04:00 to 04:00 in that chat's zone, `bot.core.schedule.study_date`), the streak and its freezes
computed from those days by `bot.core.streaks.streak`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, time, timedelta

from bot.core.actions.base import Area
from bot.core.actions.replies import Button, Ctx, Later, Message, Out, Photo, percent, say
from bot.core.config import format_hhmm
from bot.core.render import Doc
from bot.core.schedule import local_date, study_date
from bot.core.streaks import FREEZE_CAP, FREEZE_EVERY, StreakState, streak
from content.lessons import Lesson

REFLECTION_MAX = 5000  # above anything one Telegram (4,096) or WeCom message can carry: nothing is refused


class Study(Area):
    """The lesson of the day and what a learner does with it."""

    def lesson_message(
        self, lesson: Lesson, catch_up_of: time | None = None, final: bool = False, show_buttons: bool = True
    ) -> Message:
        """The daily lesson as the push and /today show it."""
        total = len(self.lessons)
        doc = Doc()
        head = f"📖 每日学习 · 第 {lesson.day} 天 / 共 {total} 天"
        if catch_up_of is not None:
            head = f"📖 补发 · 今日 {format_hhmm(catch_up_of)} 的学习 · 第 {lesson.day} 天 / 共 {total} 天"
        doc.b(head).add("\n").add(lesson.place or self.section_name(lesson.section_id)).add("\n\n")
        if lesson.lead:
            # A run-in heading (第一，扎实做好……。) is shown as the heading it is, above the excerpt.
            doc.b(lesson.lead).add("\n")
        doc.quote(lesson.text).add("\n\n")
        doc.add("💭 思考：").add(lesson.prompt)
        if final:
            doc.add(
                "\n\n🎉 这是学习计划的最后一课，全文学完了！之后每天推送一段复习：重读原文，再练一练答错的题。"
            )
        buttons = []
        if show_buttons:
            buttons = [
                [
                    Button("✅ 已学习", self.tagged(f"done:{lesson.day}")),
                    Button("📝 写心得", self.tagged(f"note:{lesson.day}")),
                    Button("🧠 做 3 道题", self.tagged(f"quiz:3:d{lesson.day}")),
                ]
            ]
        return Message(doc, buttons, lesson_day=lesson.day, course_id=self.course_id)

    def review_message(self, day_index: int) -> Message:
        """After the plan: a day of review, one lesson again in order, with a quiz on its part."""
        lesson = self.lessons[day_index % len(self.lessons)]
        doc = Doc().b(f"🔁 复习 · 第 {lesson.day} 课（全文已学完）").add("\n")
        doc.add(lesson.place or self.section_name(lesson.section_id)).add("\n\n").quote(lesson.text).add(
            "\n\n"
        )
        doc.add("💭 再想一想：").add(lesson.prompt).add("\n发送 /review 练习你答错的题。")
        buttons = [
            [Button("🔁 复习错题", "review"), Button("🧠 做 3 道题", self.tagged(f"quiz:3:d{lesson.day}"))]
        ]
        return Message(doc, buttons, lesson_day=lesson.day, course_id=self.course_id)

    def push_message(self, pos: int, catch_up_of: time | None = None) -> tuple[int, Message]:
        """The daily push for plan position `pos` (a review day after the plan) and the lesson day it
        teaches; `catch_up_of` is the push time it makes up for (补发)."""
        total = len(self.lessons)
        if pos < total:
            lesson = self.lessons[pos]
            return lesson.day, self.lesson_message(lesson, catch_up_of=catch_up_of, final=pos == total - 1)
        message = self.review_message(pos - total)
        return message.lesson_day or 0, message

    async def today(self, ctx: Ctx, args: str) -> list[Out]:
        """Today's lesson: the one pushed today, or else the next one of the plan."""
        chat = self.storage.get_chat(ctx.chat_key) or {}
        pos = int(chat.get("plan_pos") or 0)
        today = local_date(self.zone(chat), ctx.now).isoformat()
        if chat.get("last_local_date") == today and pos > 0:
            # Today's push was the lesson before `pos`, if it was of this course (the chat may have
            # switched courses since).
            last = self.storage.last_delivery(ctx.chat_key)
            if last is None or int(last.get("course_id") or 1) == self.course_id:
                pos -= 1
        if pos >= len(self.lessons):
            return [self.review_message(pos - len(self.lessons))]
        lesson = self.lessons[pos]
        message = self.lesson_message(lesson, final=lesson.day == len(self.lessons))
        if not chat.get("subscribed"):
            message.doc.add("\n\n🔔 想每天自动收到？发送 /subscribe 07:30 订阅。")
        return [message]

    def studied(self, ctx: Ctx, day: int | None) -> list[Out]:
        """The ✅ 已学习 button, or 打卡 typed: today's study day is recorded for this person, once."""
        chat = self.storage.get_chat(ctx.chat_key) or {}
        today = study_date(self.zone(chat), ctx.now)
        dates = self.storage.checkin_dates(ctx.user_key)
        new = self.storage.check_in(ctx.user_key, ctx.chat_key, today, ctx.now, day, course_id=self.course_id)
        after = streak([*dates, today], today)
        who = ctx.user_name if ctx.is_group and ctx.user_name else ""
        if not new:
            return [
                say(
                    f"👌 {who}今天已经打过卡了，不重复记录。连续 {after.current} 天 · 已学习 {after.days} 天。"
                )
            ]
        doc = Doc().add(f"✅ {who}今天的学习已记录！")
        if after.froze(today - timedelta(days=1)) and after.current > 1:
            doc.add(f"\n昨天没打卡，用掉了 1 次保护，连续 {after.current} 天继续！已学习 {after.days} 天。")
        elif after.current == 1 and after.days > 1:
            doc.add(f"\n连续打卡中断了，今天重新开始：连续 1 天 · 已学习 {after.days} 天。")
        else:
            doc.add(f"连续 {after.current} 天 · 已学习 {after.days} 天。")
        if today in after.earned:
            doc.add(
                f"\n🛡 学满 {after.days} 天，获得 1 次连续保护（现有 {after.freezes} 次）：漏打卡一天时自动使用。"
            )
        return [Message(doc)]

    def _today_line(self, ctx: Ctx, state: StreakState, today: date) -> str:
        if state.studied_today:
            return "今天：已打卡 ✅\n"
        if ctx.channel == "wecom":  # no buttons there
            line = "今天还没打卡：学完发送“打卡”"
        elif ctx.is_group:  # a Telegram group reads only commands from its members: the button
            line = "今天还没打卡：学完点 ✅ 已学习"
        else:
            line = "今天还没打卡：学完点 ✅ 已学习，或发送“打卡”"
        if state.froze(today - timedelta(days=1)) and state.current:
            line += "（昨天没打卡，已用掉 1 次保护）"
        return line + "\n"

    def ask_reflection(self, day: int | None) -> list[Out]:
        """The 📝 写心得 button: the lesson's prompt, answered by replying to this message."""
        lesson = self.lesson(day)
        if lesson is None:
            return [say("这一课已不在学习计划里了。发送 /today 查看今天的学习。")]
        doc = Doc().add(f"📝 第 {lesson.day} 天 · {lesson.prompt}\n请直接回复这条消息，写下你的心得。")
        # lesson_day: a reply to this message is a reflection on that lesson, in groups too.
        return [Message(doc, ask_reply=True, lesson_day=lesson.day, course_id=self.course_id)]

    async def reflect(self, ctx: Ctx, args: str) -> list[Out]:
        """Store a reflection on the latest lesson."""
        if not args:
            return [say("请在 /reflect 后面写下你的心得，或者直接回复当天的学习消息。")]
        last = self.storage.last_delivery(ctx.chat_key)
        return self.reflect_on(ctx, args, last["lesson_day"] if last else None)

    def reflect_on(self, ctx: Ctx, text: str, day: int | None) -> list[Out]:
        """Store a reflection on lesson `day` (a reply to a lesson message, or /reflect)."""
        if not text:
            return [say("心得是空的。写几句你的体会再发给我吧。")]
        if len(text) > REFLECTION_MAX:
            return [say(f"心得太长了（{len(text)} 字），请控制在 {REFLECTION_MAX} 字以内。")]
        self.storage.add_reflection(
            ctx.chat_key, ctx.user_key, day, text, ctx.now, ctx.message_id, course_id=self.course_id
        )
        which = f"第 {day} 天的心得" if day else "的心得"
        return [say(f"📝 已记录你{which}（{len(text)} 字）。")]

    async def me(self, ctx: Ctx, args: str) -> list[Out]:
        """Days studied, streaks and freezes (of the check-ins), quiz accuracy, reflections."""
        tz = self.config.tzinfo
        stats = self.storage.user_stats(ctx.user_key, local_date(tz, ctx.now), tz)
        due, cards = self.storage.count_reviews(ctx.user_key, ctx.now, course_id=None)
        chat = self.storage.get_chat(ctx.chat_key) or {}
        today = study_date(self.zone(chat), ctx.now)
        state = streak(self.storage.checkin_dates(ctx.user_key), today)
        doc = Doc().b(f"👤 {ctx.user_name or '我'}的学习").add("\n")
        doc.add(f"学习天数：{state.days} 天\n")
        doc.add(f"连续学习：{state.current} 天（最长 {state.best} 天）\n")
        doc.add(f"🛡 连续保护：{state.freezes} 次（每学满 {FREEZE_EVERY} 天得 1 次，最多 {FREEZE_CAP} 次）\n")
        doc.add(self._today_line(ctx, state, today))
        doc.add(f"答题：{stats['answered']} 题 · 正确率 {percent(stats['accuracy'])}\n")
        doc.add(f"心得：{stats['reflections']} 篇\n")
        doc.add(f"错题本：{cards} 题" + (f"，{due} 题待复习" if due else ""))
        courses = self.storage.courses(published_only=True)
        if len(courses) > 1:
            activity = self.storage.course_activity(ctx.user_key)
            lines = []
            for course in courses:
                pos, done = self.storage.course_place(ctx.chat_key, int(course["id"]))
                row = activity.get(int(course["id"]), {})
                if not (pos or done or row):
                    continue
                place = "已学完" if done else (f"学到第 {pos} 天" if pos else "刚开始")
                answered = row.get("answered", 0)
                accuracy = f"，正确率 {percent(row['correct'] / answered)}" if answered else ""
                lines.append(
                    f"\n《{course['title']}》：{place} · 答题 {answered} 题{accuracy} · 心得 {row.get('reflections', 0)} 篇"
                )
            if lines:
                doc.add("\n\n各课程：" + "".join(lines))
        days = set(self.storage.checkin_dates(ctx.user_key))
        # The calendar after the text: the first chart of a process imports matplotlib (about 0.5 s).
        return [Message(doc), Later(lambda: _calendar(days, today))]


CALENDAR_WEEKS = 12


def _draw_calendar(days: set[date], today: date) -> bytes:
    from bot.core.charts import study_calendar  # matplotlib: loaded by the first chart, never at start-up

    return study_calendar(days, today, weeks=CALENDAR_WEEKS)


async def _calendar(days: set[date], today: date) -> list[Out]:
    """/me's study calendar (the last 12 weeks of check-ins) as a photo, drawn in a thread; none if it fails."""
    shown = {d for d in days if (today - d).days < CALENDAR_WEEKS * 7}
    try:
        png = await asyncio.to_thread(_draw_calendar, shown, today)
    except Exception:
        logging.getLogger(__name__).exception("/me calendar failed")
        return []
    return [Photo(png, f"📅 近 {CALENDAR_WEEKS} 周学习日历 · 打卡 {len(shown)} 天", "calendar.png")]
