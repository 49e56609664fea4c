"""Study reminders: /remind HH:MM, /remind off, /remind (the setting), and what a reminder says.

A private chat's reminder is its person's: at that time, if they have not checked in that study day,
one short nudge. A group's (set by its administrators) is one message a day naming nobody, with how many
of the group have studied. `jobs/reminders.py` sends them, once per chat and study day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.core.actions.base import Area
from bot.core.actions.replies import Button, Ctx, Message, Out, say
from bot.core.config import format_hhmm, parse_hhmm
from bot.core.render import Doc
from bot.core.streaks import streak

OFF_WORDS = frozenset({"off", "关", "关闭", "取消", "停止", "no"})
_GROUPS = ("group", "supergroup")


class Reminders(Area):
    """/remind, and the reminders the job sends."""

    async def remind(self, ctx: Ctx, args: str) -> list[Out]:
        """Set (HH:MM), turn off (off) or show (nothing) the chat's study reminder."""
        chat = self.storage.get_chat(ctx.chat_key) or {}
        arg = args.strip()
        if not arg:
            return [self._setting(ctx, chat)]
        if arg.lower() in OFF_WORDS:
            if not chat.get("remind_at"):
                return [say("本聊天没有开启学习提醒。发送 /remind 20:30 可以开启。")]
            self.storage.set_reminder(ctx.chat_key, None, None)
            return [say("🔕 已关闭学习提醒。随时发送 /remind 20:30 重新开启。")]
        try:
            at = parse_hhmm(arg)
        except ValueError:
            return [say("时间格式应为 HH:MM，例如 /remind 20:30；关闭提醒请发送 /remind off")]
        # The first reminder is the next one after now (none at once for a time already past today), and
        # never a second one on a study day that had its reminder.
        due = self.remind_due({**chat, "key": ctx.chat_key, "remind_at": format_hhmm(at)}, ctx.now)
        self.storage.set_reminder(ctx.chat_key, at, due)
        chat = self.storage.get_chat(ctx.chat_key) or {}
        when = f"每天 {chat['remind_at']}（{chat['timezone']}）"
        if ctx.is_group:
            doc = Doc().add(f"⏰ 本群的学习提醒：{when}在群里提醒大家学习打卡，一天一次。\n")
        else:
            doc = Doc().add(f"⏰ 学习提醒：{when}，那天还没打卡才提醒你，一天最多一次。\n")
        doc.add(self._next_line(chat, ctx.now)).add("\n关闭请发送 /remind off")
        return [Message(doc)]

    def _setting(self, ctx: Ctx, chat: dict) -> Message:
        if not chat.get("remind_at"):
            if ctx.is_group:
                return say(
                    "⏰ 本群还没有开启学习提醒。群管理员发送 /remind 20:30，每天这个时间在群里提醒大家。"
                )
            return say("⏰ 还没有开启学习提醒。发送 /remind 20:30，每天这个时间你还没打卡就提醒你。")
        who = "在群里提醒大家" if ctx.is_group else "还没打卡才提醒你"
        doc = Doc().add(f"⏰ 学习提醒：每天 {chat['remind_at']}（{chat['timezone']}），{who}。\n")
        doc.add(self._next_line(chat, ctx.now))
        return Message(doc.add("\n修改：/remind 21:00 · 关闭：/remind off"))

    def _next_line(self, chat: dict, now: datetime) -> str:
        if not chat.get("remind_next_due"):
            return ""
        when = datetime.fromtimestamp(chat["remind_next_due"], UTC).astimezone(self.zone(chat))
        if when.date() == now.astimezone(self.zone(chat)).date():
            return f"下次提醒：今天 {when:%H:%M}。"
        return f"下次提醒：{when.month}月{when.day}日 {when:%H:%M}。"

    def reminder_for(self, chat: dict, day: date) -> Message | None:
        """The reminder of study day `day` for this chat, or None: its person studied that day, or it is
        no one's (a robot, a channel)."""
        key = chat["key"]
        if chat.get("chat_type") in _GROUPS:
            studied = self.storage.group_checkins(key, day)
            if studied:
                text = f"⏰ 今天本群已有 {studied} 人打卡，还没学的同志抓紧哦～"
            else:
                text = "⏰ 今天本群还没有人打卡，一起来学今天的内容吧！"
        elif chat.get("channel") == "robot" or chat.get("chat_type") == "channel":
            return None
        else:  # a private chat: its key is its person's (tg:42, wecom:zhangsan, console:local)
            dates = self.storage.checkin_dates(key)
            if day in dates:
                return None
            text = "⏰ 今天还没学习哦，花 3 分钟看看今天的内容？"
            state = streak(dates, day)
            if state.current:
                text += f"\n已经连续 {state.current} 天了，别让它断了～"
        if chat.get("channel") == "wecom":  # no buttons there
            text += "\n发送“今日”看今天的内容，学完发送“打卡”。"
        return Message(Doc().add(text), [[Button("📖 今日学习", "today")]])
