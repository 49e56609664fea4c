"""The command table: every command's name, menu line, area and who may use it; the words people type
instead of slash commands on WeCom and in the console (and the words that check a person in: 打卡).

The order of `COMMANDS` is the order of /help and of Telegram's command menu. Each command is the method
of the same name on its area (`Lookup.search` for /search); the dispatcher looks nothing up anywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One command: its menu line, the area whose method of the same name runs it, who may use it."""

    description: str
    area: str
    admin: bool = False  # bot admins only
    manage: bool = False  # in a group, only the group's administrators
    shows_bare: bool = False  # with no argument it only shows the setting: anyone may, in a group too
    refused: str = "只有群管理员可以修改本群的订阅和推送时间。"  # what a group member who may not hears


COMMANDS: dict[str, Command] = {
    "start": Command("开始使用", "welcome"),
    "today": Command("今日学习", "study"),
    "sections": Command("目录", "lookup"),
    "section": Command("查看某一部分，如 /section 3", "lookup"),
    "search": Command("搜索原文，如 /search 人才", "lookup"),
    "quiz": Command("小测验，如 /quiz 5", "quizzes"),
    "review": Command("复习错题", "quizzes"),
    "reflect": Command("写心得，如 /reflect 今天的体会…", "study"),
    "me": Command("我的学习记录", "study"),
    "rank": Command("本群排行榜：本周与本课程", "ranks"),
    "subscribe": Command("订阅每日推送，如 /subscribe 07:30", "subscription", manage=True),
    "unsubscribe": Command("取消订阅", "subscription", manage=True),
    "settime": Command("修改推送时间，如 /settime 07:30", "subscription", manage=True),
    "settings": Command("本聊天的设置", "subscription"),
    "remind": Command(
        "学习提醒：还没打卡就提醒，如 /remind 20:30",
        "reminders",
        manage=True,
        shows_bare=True,
        refused="只有群管理员可以设置本群的学习提醒。",
    ),
    "course": Command("课程：查看和切换学习的讲话", "courses"),
    "help": Command("帮助", "welcome"),
    "broadcast": Command("向全体订阅者发通知（管理员）", "admin", admin=True),
    "stats": Command("统计（管理员）", "admin", admin=True),
    "export": Command("导出心得与答题记录（管理员）", "admin", admin=True),
}

# Chinese words people type on WeCom and in the console, mapped to commands.
TEXT_ALIASES: dict[str, str] = {
    "开始": "start", "帮助": "help", "今日": "today", "今天": "today", "今日学习": "today",
    "目录": "sections", "章节": "sections", "搜索": "search", "查找": "search", "答题": "quiz",
    "测验": "quiz", "小测验": "quiz", "复习": "review", "错题": "review", "心得": "reflect",
    "我的": "me", "订阅": "subscribe", "取消订阅": "unsubscribe", "退订": "unsubscribe",
    "时间": "settime", "设置": "settings", "广播": "broadcast", "通知": "broadcast", "统计": "stats",
    "导出": "export", "课程": "course", "提醒": "remind", "排行": "rank", "排行榜": "rank",
}  # fmt: skip
# Words that check the person in for today (✅ 已学习 where there are no buttons: WeCom, the console).
CHECKIN_WORDS = frozenset({"已学", "已学习", "打卡", "学完了"})
_SECTION_TEXT = re.compile(r"^(第[一二三四五六七八九十0-9]+部分|开篇|结语)$")


def parse_text_command(text: str) -> tuple[str, str] | None:
    """A command typed without a slash: /today, 今日, 第三部分, 搜索 人才, 订阅 07:30 …"""
    text = text.strip()
    if text.startswith("/"):
        name, _, args = text[1:].partition(" ")
        return name.split("@", 1)[0].lower(), args
    if _SECTION_TEXT.match(text):
        return "section", text
    word, _, args = text.partition(" ")
    if word in TEXT_ALIASES:
        return TEXT_ALIASES[word], args
    if word.lower() in COMMANDS:
        return word.lower(), args
    return None
