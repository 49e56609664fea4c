"""The front door: /start and /help."""

from __future__ import annotations

from bot.core.actions.base import Area, home_buttons
from bot.core.actions.commands import COMMANDS
from bot.core.actions.replies import Button, Ctx, Message, Out
from bot.core.render import Doc


class Welcome(Area):
    """/start, /help."""

    async def start(self, ctx: Ctx, args: str) -> list[Out]:
        """Welcome and the first steps."""
        doc = Doc().b(f"👋 你好，{ctx.user_name or '同志'}！").add("\n")
        doc.add(f"我是学习助手，陪大家每天学一段《{self.model.title}》。\n\n")
        doc.add(f"· 每天定时推送一段原文和一道思考题，共 {len(self.lessons)} 天\n")
        doc.add("· 随时查目录、看章节、搜原文\n· 做小测验，答错的题进错题本\n\n")
        doc.add("发送 /help 查看全部命令。")
        return [Message(doc, [home_buttons(), [Button("🔔 订阅每日推送", "sub")]])]

    async def help(self, ctx: Ctx, args: str) -> list[Out]:
        """Every command with a line on what it does."""
        doc = Doc().b("📘 命令一览").add("\n")
        for name, command in COMMANDS.items():
            if command.admin and not ctx.is_bot_admin:
                continue
            doc.add(f"/{name} — {command.description}\n")
        if ctx.channel != "tg":
            doc.add(
                "\n也可以直接说：今日、目录、第三部分、搜索 人才、答题、订阅 07:30、我的、打卡、提醒 20:30。"
            )
        if ctx.is_group:
            doc.add("\n群里的订阅、推送时间和学习提醒只有群管理员能改。")
        return [Message(doc)]
