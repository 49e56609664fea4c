"""Subscription: the daily push on or off, its time and zone, the chat's settings, a chat coming back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.actions.base import Area
from bot.core.actions.replies import Button, Ctx, Message, Out, say
from bot.core.config import format_hhmm, parse_hhmm
from bot.core.render import Doc


class Subscription(Area):
    """/subscribe, /unsubscribe, /settime, /settings."""

    async def subscribe(self, ctx: Ctx, args: str) -> list[Out]:
        """Subscribe the chat to the daily push, at HH:MM or the default time."""
        try:
            push_time = parse_hhmm(args) if args else None
        except ValueError:
            return [say("时间格式应为 HH:MM，例如 /subscribe 07:30")]
        chat = self.storage.get_chat(ctx.chat_key) or {}
        if push_time is None:
            push_time = parse_hhmm(chat["push_time"]) if chat.get("subscribed") else self.config.default_time
        due = self.next_due(chat, push_time, ctx.now)
        self.storage.subscribe(ctx.chat_key, push_time, ctx.now, due)
        chat = self.storage.get_chat(ctx.chat_key)
        doc = Doc().add(f"🔔 已订阅：每天 {format_hhmm(push_time)}（{chat['timezone']}）推送下一课。\n")
        doc.add(self._progress_line(chat)).add("\n").add(self._next_line(chat, ctx.now))
        return [Message(doc)]

    async def unsubscribe(self, ctx: Ctx, args: str) -> list[Out]:
        """Stop the daily push; progress is kept."""
        chat = self.storage.get_chat(ctx.chat_key) or {}
        if not chat.get("subscribed"):
            return [say("本聊天没有订阅每日推送。发送 /subscribe 07:30 可以订阅。")]
        self.storage.unsubscribe(ctx.chat_key)
        return [say("🔕 已取消订阅。学习进度会保留，随时发送 /subscribe 恢复。")]

    async def settime(self, ctx: Ctx, args: str) -> list[Out]:
        """Change the push time (and optionally the time zone): /settime 07:30 [Europe/Berlin]."""
        parts = args.split()
        if not parts or len(parts) > 2:
            return [say("请写上时间，格式为 HH:MM，例如 /settime 07:30")]
        try:
            push_time = parse_hhmm(parts[0])
        except ValueError:
            return [say("时间格式应为 HH:MM，例如 /settime 07:30")]
        chat = self.storage.get_chat(ctx.chat_key) or {}
        if len(parts) == 2:
            try:
                ZoneInfo(parts[1])
            except Exception:
                return [say("不认识这个时区。请用 IANA 名称，例如 Asia/Shanghai、Europe/Berlin。")]
            chat = {**chat, "timezone": parts[1]}
            self.storage.set_timezone(ctx.chat_key, parts[1], self.next_due(chat, push_time, ctx.now))
            if chat.get("remind_at"):  # the reminder keeps its wall time, in the new zone
                self.storage.set_remind_due(ctx.chat_key, self.remind_due(chat, ctx.now))
        self.storage.set_time(ctx.chat_key, push_time, self.next_due(chat, push_time, ctx.now))
        chat = self.storage.get_chat(ctx.chat_key)
        doc = Doc().add(f"⏰ 推送时间已改为每天 {format_hhmm(push_time)}（{chat['timezone']}）。\n")
        if chat.get("subscribed"):
            doc.add(self._next_line(chat, ctx.now))
        else:
            doc.add("本聊天还没有订阅，发送 /subscribe 开始每日推送。")
        return [Message(doc)]

    async def settings(self, ctx: Ctx, args: str) -> list[Out]:
        """The chat's subscription, push time, time zone and progress."""
        chat = self.storage.get_chat(ctx.chat_key) or {}
        doc = Doc().b("⚙️ 本聊天的设置").add("\n")
        doc.add(f"订阅：{'已开启' if chat.get('subscribed') else '未开启'}\n")
        doc.add(f"推送时间：每天 {chat.get('push_time') or format_hhmm(self.config.default_time)}\n")
        doc.add(f"时区：{chat.get('timezone') or self.config.timezone}\n")
        doc.add(self._progress_line(chat)).add("\n")
        if chat.get("remind_at"):
            doc.add(f"学习提醒：每天 {chat['remind_at']}（/remind off 关闭）")
        else:
            doc.add("学习提醒：未开启（/remind 20:30 开启）")
        if chat.get("subscribed"):
            doc.add("\n").add(self._next_line(chat, ctx.now))
        buttons = [] if chat.get("subscribed") else [[Button("🔔 订阅每日推送", "sub")]]
        return [Message(doc, buttons)]

    def welcome_back(self, ctx: Ctx) -> None:
        """A chat that blocked the bot writes again or lets it back in: it gets its pushes again."""
        chat = self.storage.get_chat(ctx.chat_key)
        if chat and chat["blocked"]:
            due = self.next_due(chat, parse_hhmm(chat["push_time"]), ctx.now)
            self.storage.unblock(ctx.chat_key, due, self.remind_due(chat, ctx.now))

    def _progress_line(self, chat: dict) -> str:
        pos = int(chat.get("plan_pos") or 0)
        total = len(self.lessons)
        if pos >= total:
            return f"进度：{total} 天的学习已全部完成，正在复习。"
        return f"进度：下一课是第 {pos + 1} 天 / 共 {total} 天。"

    def _next_line(self, chat: dict, now: datetime) -> str:
        if not chat.get("next_due"):
            return ""
        when = datetime.fromtimestamp(chat["next_due"], UTC).astimezone(self.zone(chat))
        if when <= now + timedelta(seconds=60):
            return f"今天 {when:%H:%M} 的学习还没有发出，马上补发。"
        return f"下次推送：{when.month}月{when.day}日 {when:%H:%M}。"
