"""What every command does, for every channel: parse the arguments, read or change state, say what to say.

Telegram, WeCom and the console only translate: they build a `Ctx` for the incoming message, call
`Actions`, and send the `Message` / `QuizPoll` / `Document` objects it returns in their own format.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.config import Config, format_hhmm, parse_hhmm
from bot.core.render import Doc
from bot.core.schedule import local_date, next_due
from bot.core.storage import Storage
from content import ContentModel, int_to_cn
from content.lessons import Lesson
from content.quiz import Question

logger = logging.getLogger(__name__)

QUIZ_DEFAULT = 5
QUIZ_MAX = 10
SEARCH_PAGE = 5
REVIEW_MAX = 5
REFLECTION_MAX = 5000  # above anything one Telegram (4,096) or WeCom message can carry: nothing is refused
LETTERS = "ABCD"

# Commands: name → (menu description, admin only). The order is the order of /help and the menu.
COMMANDS: dict[str, tuple[str, bool]] = {
    "start": ("开始使用", False),
    "today": ("今日学习", False),
    "sections": ("目录", False),
    "section": ("查看某一部分，如 /section 3", False),
    "search": ("搜索原文，如 /search 人才", False),
    "quiz": ("小测验，如 /quiz 5", False),
    "review": ("复习错题", False),
    "reflect": ("写心得，如 /reflect 今天的体会…", False),
    "me": ("我的学习记录", False),
    "subscribe": ("订阅每日推送，如 /subscribe 07:30", False),
    "unsubscribe": ("取消订阅", False),
    "settime": ("修改推送时间，如 /settime 07:30", False),
    "settings": ("本聊天的设置", False),
    "help": ("帮助", False),
    "broadcast": ("向全体订阅者发通知（管理员）", True),
    "stats": ("统计（管理员）", True),
    "export": ("导出心得与答题记录（管理员）", True),
}
MANAGE_COMMANDS = {"subscribe", "unsubscribe", "settime"}

# Chinese words people type on WeCom and in the console, mapped to commands.
TEXT_ALIASES: dict[str, str] = {
    "开始": "start", "帮助": "help", "今日": "today", "今天": "today", "今日学习": "today",
    "目录": "sections", "章节": "sections", "搜索": "search", "查找": "search", "答题": "quiz",
    "测验": "quiz", "小测验": "quiz", "复习": "review", "错题": "review", "心得": "reflect",
    "我的": "me", "订阅": "subscribe", "取消订阅": "unsubscribe", "退订": "unsubscribe",
    "时间": "settime", "设置": "settings", "广播": "broadcast", "通知": "broadcast", "统计": "stats",
    "导出": "export",
}  # fmt: skip
_SECTION_TEXT = re.compile(r"^(第[一二三四五六七八九十0-9]+部分|开篇|结语)$")


@dataclass(frozen=True)
class Button:
    """An inline button: its label and the callback data (at most 64 bytes)."""

    text: str
    data: str


@dataclass
class Message:
    """A text reply."""

    doc: Doc
    buttons: list[list[Button]] = field(default_factory=list)
    lesson_day: int | None = None  # a lesson message: replies to it are reflections on that day
    ask_reply: bool = False  # ask the user to answer by replying (Telegram ForceReply)
    edit: bool = False  # replace the message the pressed button belongs to
    broadcast_id: int | None = None  # the progress message of this broadcast (edited while it is sent)


@dataclass
class QuizPoll:
    """One question of a quiz session, to send as a quiz poll (or as lettered options in text)."""

    session_id: int
    question: Question
    number: int
    total: int

    @property
    def title(self) -> str:
        """The poll question with its place in the quiz."""
        return f"（{self.number}/{self.total}）{self.question.question}"


@dataclass
class Document:
    """A file to send."""

    filename: str
    content: bytes
    caption: str


Out = Message | QuizPoll | Document


@dataclass
class Ctx:
    """Who says something where, and when."""

    chat_key: str
    channel: str
    chat_type: str
    user_key: str
    user_name: str
    now: datetime
    chat_title: str | None = None
    is_bot_admin: bool = False
    # Asks the platform whether the user administers the group (Telegram: getChatMember).
    group_admin_check: Callable[[], Awaitable[bool]] | None = None
    message_id: str | None = None
    reply_to_message_id: str | None = None

    @property
    def is_group(self) -> bool:
        """A group chat (everyone may read, only administrators change settings)."""
        return self.chat_type in ("group", "supergroup")


def _say(text: str = "", *buttons: list[Button]) -> Message:
    return Message(Doc().add(text), list(buttons))


def _thousands(n: int) -> str:
    return f"{n:,}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _fit_callback(prefix: str, text: str, limit: int = 64) -> str:
    """Callback data `prefix + text`, text cut so the whole stays within Telegram's 64 bytes."""
    out = prefix
    for ch in text:
        if len((out + ch).encode()) > limit:
            break
        out += ch
    return out


class Actions:
    """The behaviour behind every command, independent of the chat platform."""

    def __init__(self, storage: Storage, model: ContentModel, config: Config, robot_count: int = 0):
        self.storage = storage
        self.model = model
        self.config = config
        self.robot_count = robot_count
        self.lessons = model.lessons

    # -- entry points -------------------------------------------------------------------------------
    async def command(self, ctx: Ctx, name: str, args: str) -> list[Out]:
        """Run a command (name without the slash) with its argument text."""
        self._register(ctx)
        name = name.lower()
        if name not in COMMANDS:
            return [_say("不认识这个命令。发送 /help 查看全部命令。")]
        if COMMANDS[name][1] and not ctx.is_bot_admin:
            return [_say("这个命令仅限管理员使用。")]
        if name in MANAGE_COMMANDS and not await self._can_manage(ctx):
            return [_say("只有群管理员可以修改本群的订阅和推送时间。")]
        handler = getattr(self, f"cmd_{name}")
        return await handler(ctx, args.strip())

    async def text(self, ctx: Ctx, text: str) -> list[Out]:
        """A message that is not a slash command: an answer letter, a reply to a lesson, or a Chinese
        command word (WeCom and console); otherwise nothing in groups and a hint in private chats."""
        self._register(ctx)
        stripped = text.strip()
        letter = stripped.upper().rstrip("。.")
        if len(letter) == 1 and letter in LETTERS:
            quiz = self.storage.active_quiz(ctx.chat_key)
            if quiz is not None:
                return await self.answer(ctx, quiz, LETTERS.index(letter))
        if ctx.reply_to_message_id is not None:
            day = self.storage.lesson_day_for_message(ctx.chat_key, ctx.reply_to_message_id)
            if day is not None:
                return self._reflect(ctx, stripped, day)
        parsed = parse_text_command(stripped)
        if parsed is not None:
            return await self.command(ctx, *parsed)
        if ctx.is_group:
            return []
        return [_say("想做什么？可以点下面的按钮，或发送 /help 查看全部命令。", self._home_buttons())]

    async def button(self, ctx: Ctx, data: str) -> list[Out]:
        """A pressed inline button."""
        self._register(ctx)
        kind, _, rest = data.partition(":")
        if kind == "toc":
            return await self.cmd_sections(ctx, "")
        if kind == "today":
            return await self.cmd_today(ctx, "")
        if kind == "review":
            return await self.cmd_review(ctx, "")
        if kind == "sec":
            return await self.cmd_section(ctx, rest)
        if kind == "quiz":
            count, _, section = rest.partition(":")
            return await self._start_quiz(
                ctx, int(count) if count.isdigit() else QUIZ_DEFAULT, section or None
            )
        if kind == "stopquiz":
            return self._stop_quiz(ctx)
        if kind == "sub":
            return await self.command(ctx, "subscribe", "")
        if kind == "done":
            return self._studied(ctx, int(rest) if rest.isdigit() else None)
        if kind == "note":
            day = int(rest) if rest.isdigit() else None
            lesson = self._lesson(day)
            if lesson is None:
                return [_say("这一课已不在学习计划里了。发送 /today 查看今天的学习。")]
            doc = Doc().add(f"📝 第 {lesson.day} 天 · {lesson.prompt}\n请直接回复这条消息，写下你的心得。")
            # lesson_day: a reply to this message is a reflection on that lesson, in groups too.
            return [Message(doc, ask_reply=True, lesson_day=lesson.day)]
        if kind == "s":
            offset, _, query = rest.partition(":")
            return self._search(query, int(offset) if offset.isdigit() else 0)
        if kind == "bc":
            verb, _, ident = rest.partition(":")
            if not ctx.is_bot_admin:
                return [_say("这个操作仅限管理员。")]
            return self._broadcast_decision(ctx, verb, int(ident) if ident.isdigit() else -1)
        return [_say("这个按钮已经失效了。发送 /help 查看全部命令。")]

    # -- helpers ------------------------------------------------------------------------------------
    def _register(self, ctx: Ctx) -> dict:
        self.storage.ensure_user(ctx.user_key, ctx.user_name)
        return self.storage.ensure_chat(
            ctx.chat_key,
            ctx.chat_key.split(":", 1)[0],
            ctx.chat_type,
            ctx.chat_title,
            timezone=self.config.timezone,
            push_time=self.config.default_time,
        )

    async def _can_manage(self, ctx: Ctx) -> bool:
        if ctx.is_bot_admin or not ctx.is_group:
            return True
        if ctx.group_admin_check is None:
            return False
        try:
            return await ctx.group_admin_check()
        except Exception:  # the platform could not tell: refuse rather than guess
            logger.warning("group admin check failed for %s", ctx.chat_key, exc_info=True)
            return False

    def _home_buttons(self) -> list[Button]:
        return [Button("📖 今日学习", "today"), Button("📚 目录", "toc"), Button("🧠 答题", "quiz:5")]

    def _lesson(self, day: int | None) -> Lesson | None:
        if day is None or not 1 <= day <= len(self.lessons):
            return None
        return self.lessons[day - 1]

    def _section_name(self, section_id: str) -> str:
        section = self.model.section(section_id)
        if section is None:
            return section_id
        return section.name

    def _zone(self, chat: dict) -> ZoneInfo:
        try:
            return ZoneInfo(chat.get("timezone") or self.config.timezone)
        except Exception:
            return ZoneInfo(self.config.timezone)

    def _next_due(self, chat: dict, push_time: time, now: datetime) -> int:
        last = chat.get("last_local_date")
        last_date = datetime.strptime(last, "%Y-%m-%d").date() if last else None
        return int(next_due(self._zone(chat), push_time, last_date, now).timestamp())

    # -- lessons ------------------------------------------------------------------------------------
    def lesson_message(
        self, lesson: Lesson, catch_up_of: time | None = None, final: bool = False, show_buttons: bool = True
    ) -> Message:
        """The daily lesson as the push and /today show it."""
        total = len(self.lessons)
        doc = Doc()
        head = f"📖 每日学习 · 第 {lesson.day} 天 / 共 {total} 天"
        if catch_up_of is not None:
            head = f"📖 补发 · 今日 {format_hhmm(catch_up_of)} 的学习 · 第 {lesson.day} 天 / 共 {total} 天"
        doc.b(head).add("\n").add(lesson.place or self._section_name(lesson.section_id)).add("\n\n")
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
                    Button("✅ 已学习", f"done:{lesson.day}"),
                    Button("📝 写心得", f"note:{lesson.day}"),
                    Button("🧠 做 3 道题", f"quiz:3:d{lesson.day}"),
                ]
            ]
        return Message(doc, buttons, lesson_day=lesson.day)

    def review_message(self, day_index: int) -> Message:
        """After the plan: a day of review, one lesson again in order, with a quiz on its part."""
        lesson = self.lessons[day_index % len(self.lessons)]
        doc = Doc().b(f"🔁 复习 · 第 {lesson.day} 课（全文已学完）").add("\n")
        doc.add(lesson.place or self._section_name(lesson.section_id)).add("\n\n").quote(lesson.text).add(
            "\n\n"
        )
        doc.add("💭 再想一想：").add(lesson.prompt).add("\n发送 /review 练习你答错的题。")
        buttons = [[Button("🔁 复习错题", "review"), Button("🧠 做 3 道题", f"quiz:3:d{lesson.day}")]]
        return Message(doc, buttons, lesson_day=lesson.day)

    async def cmd_today(self, ctx: Ctx, args: str) -> list[Out]:
        """Today's lesson: the one pushed today, or else the next one of the plan."""
        chat = self.storage.get_chat(ctx.chat_key) or {}
        pos = int(chat.get("plan_pos") or 0)
        today = local_date(self._zone(chat), ctx.now).isoformat()
        if chat.get("last_local_date") == today and pos > 0:
            pos -= 1
        if pos >= len(self.lessons):
            return [self.review_message(pos - len(self.lessons))]
        lesson = self.lessons[pos]
        message = self.lesson_message(lesson, final=lesson.day == len(self.lessons))
        if not chat.get("subscribed"):
            message.doc.add("\n\n🔔 想每天自动收到？发送 /subscribe 07:30 订阅。")
        return [message]

    def _studied(self, ctx: Ctx, day: int | None) -> list[Out]:
        self.storage.mark_studied(ctx.user_key, ctx.chat_key, day, ctx.now)
        stats = self.storage.user_stats(
            ctx.user_key, local_date(self.config.tzinfo, ctx.now), self.config.tzinfo
        )
        return [_say(f"✅ 已记录。你已学习 {stats['days_studied']} 天，连续 {stats['current_streak']} 天。")]

    # -- start, help, settings ----------------------------------------------------------------------
    async def cmd_start(self, ctx: Ctx, args: str) -> list[Out]:
        """Welcome and the first steps."""
        doc = Doc().b(f"👋 你好，{ctx.user_name or '同志'}！").add("\n")
        doc.add(f"我是学习助手，陪大家每天学一段《{self.model.title}》。\n\n")
        doc.add(f"· 每天定时推送一段原文和一道思考题，共 {len(self.lessons)} 天\n")
        doc.add("· 随时查目录、看章节、搜原文\n· 做小测验，答错的题进错题本\n\n")
        doc.add("发送 /help 查看全部命令。")
        return [Message(doc, [self._home_buttons(), [Button("🔔 订阅每日推送", "sub")]])]

    async def cmd_help(self, ctx: Ctx, args: str) -> list[Out]:
        """Every command with a line on what it does."""
        doc = Doc().b("📘 命令一览").add("\n")
        for name, (description, admin) in COMMANDS.items():
            if admin and not ctx.is_bot_admin:
                continue
            doc.add(f"/{name} — {description}\n")
        if ctx.channel != "tg":
            doc.add("\n也可以直接说：今日、目录、第三部分、搜索 人才、答题、订阅 07:30、我的。")
        if ctx.is_group:
            doc.add("\n群里的订阅和推送时间只有群管理员能改。")
        return [Message(doc)]

    async def cmd_subscribe(self, ctx: Ctx, args: str) -> list[Out]:
        """Subscribe the chat to the daily push, at HH:MM or the default time."""
        try:
            push_time = parse_hhmm(args) if args else None
        except ValueError:
            return [_say("时间格式应为 HH:MM，例如 /subscribe 07:30")]
        chat = self.storage.get_chat(ctx.chat_key) or {}
        if push_time is None:
            push_time = parse_hhmm(chat["push_time"]) if chat.get("subscribed") else self.config.default_time
        due = self._next_due(chat, push_time, ctx.now)
        self.storage.subscribe(ctx.chat_key, push_time, ctx.now, due)
        chat = self.storage.get_chat(ctx.chat_key)
        doc = Doc().add(f"🔔 已订阅：每天 {format_hhmm(push_time)}（{chat['timezone']}）推送下一课。\n")
        doc.add(self._progress_line(chat)).add("\n").add(self._next_line(chat, ctx.now))
        return [Message(doc)]

    async def cmd_unsubscribe(self, ctx: Ctx, args: str) -> list[Out]:
        """Stop the daily push; progress is kept."""
        chat = self.storage.get_chat(ctx.chat_key) or {}
        if not chat.get("subscribed"):
            return [_say("本聊天没有订阅每日推送。发送 /subscribe 07:30 可以订阅。")]
        self.storage.unsubscribe(ctx.chat_key)
        return [_say("🔕 已取消订阅。学习进度会保留，随时发送 /subscribe 恢复。")]

    async def cmd_settime(self, ctx: Ctx, args: str) -> list[Out]:
        """Change the push time (and optionally the time zone): /settime 07:30 [Europe/Berlin]."""
        parts = args.split()
        if not parts or len(parts) > 2:
            return [_say("请写上时间，格式为 HH:MM，例如 /settime 07:30")]
        try:
            push_time = parse_hhmm(parts[0])
        except ValueError:
            return [_say("时间格式应为 HH:MM，例如 /settime 07:30")]
        chat = self.storage.get_chat(ctx.chat_key) or {}
        if len(parts) == 2:
            try:
                ZoneInfo(parts[1])
            except Exception:
                return [_say("不认识这个时区。请用 IANA 名称，例如 Asia/Shanghai、Europe/Berlin。")]
            chat = {**chat, "timezone": parts[1]}
            self.storage.set_timezone(ctx.chat_key, parts[1], self._next_due(chat, push_time, ctx.now))
        self.storage.set_time(ctx.chat_key, push_time, self._next_due(chat, push_time, ctx.now))
        chat = self.storage.get_chat(ctx.chat_key)
        doc = Doc().add(f"⏰ 推送时间已改为每天 {format_hhmm(push_time)}（{chat['timezone']}）。\n")
        if chat.get("subscribed"):
            doc.add(self._next_line(chat, ctx.now))
        else:
            doc.add("本聊天还没有订阅，发送 /subscribe 开始每日推送。")
        return [Message(doc)]

    async def cmd_settings(self, ctx: Ctx, args: str) -> list[Out]:
        """The chat's subscription, push time, time zone and progress."""
        chat = self.storage.get_chat(ctx.chat_key) or {}
        doc = Doc().b("⚙️ 本聊天的设置").add("\n")
        doc.add(f"订阅：{'已开启' if chat.get('subscribed') else '未开启'}\n")
        doc.add(f"推送时间：每天 {chat.get('push_time') or format_hhmm(self.config.default_time)}\n")
        doc.add(f"时区：{chat.get('timezone') or self.config.timezone}\n")
        doc.add(self._progress_line(chat))
        if chat.get("subscribed"):
            doc.add("\n").add(self._next_line(chat, ctx.now))
        buttons = [] if chat.get("subscribed") else [[Button("🔔 订阅每日推送", "sub")]]
        return [Message(doc, buttons)]

    def _progress_line(self, chat: dict) -> str:
        pos = int(chat.get("plan_pos") or 0)
        total = len(self.lessons)
        if pos >= total:
            return f"进度：{total} 天的学习已全部完成，正在复习。"
        return f"进度：下一课是第 {pos + 1} 天 / 共 {total} 天。"

    def _next_line(self, chat: dict, now: datetime) -> str:
        if not chat.get("next_due"):
            return ""
        when = datetime.fromtimestamp(chat["next_due"], UTC).astimezone(self._zone(chat))
        if when <= now + timedelta(seconds=60):
            return f"今天 {when:%H:%M} 的学习还没有发出，马上补发。"
        return f"下次推送：{when.month}月{when.day}日 {when:%H:%M}。"

    # -- sections and search ------------------------------------------------------------------------
    async def cmd_sections(self, ctx: Ctx, args: str) -> list[Out]:
        """The table of contents, each part as a button."""
        doc = Doc().b(f"📚 《{self.model.title}》目录").add("\n")
        buttons = []
        for section in self.model.sections:
            name = self._section_name(section.id)
            doc.add(f"\n{name}（{len(section.text.replace(chr(10), ''))} 字）")
            buttons.append([Button(name, f"sec:{section.id}")])
        doc.add("\n\n点按钮阅读，或发送 /section 3 这样的命令。")
        return [Message(doc, buttons)]

    async def cmd_section(self, ctx: Ctx, args: str) -> list[Out]:
        """One part of the speech in full, with buttons to the parts before and after."""
        if not args:
            return await self.cmd_sections(ctx, "")
        section = self.model.section(args) if re.fullmatch(r"\d", args) and "." not in args else None
        section = self.model.find_section(args) or (
            section if section and section.kind != "numbered" else None
        )
        if section is None:
            numbers = len(self.model.numbered)
            return [
                _say(
                    f"没有找到“{_clip(args, 20)}”。可以写 1–{numbers}、一…{int_to_cn(numbers)}、第三部分，"
                    "或 0 / 开篇、结语。",
                    [Button("📚 目录", "toc")],
                )
            ]
        doc = Doc().b(self._section_name(section.id)).add("\n\n")
        doc.add("\n\n".join(section.paragraphs))
        index = [s.id for s in self.model.sections].index(section.id)
        nav = []
        if index > 0:
            prev = self.model.sections[index - 1]
            nav.append(Button(f"◀ {prev.label}", f"sec:{prev.id}"))
        nav.append(Button("目录", "toc"))
        if index + 1 < len(self.model.sections):
            nxt = self.model.sections[index + 1]
            nav.append(Button(f"{nxt.label} ▶", f"sec:{nxt.id}"))
        return [Message(doc, [nav])]

    async def cmd_search(self, ctx: Ctx, args: str) -> list[Out]:
        """Sentences that match the words, best first, with matched words marked and their place."""
        if not args:
            return [_say("请在 /search 后面写要找的词，例如 /search 人才")]
        return self._search(args, 0)

    def _search(self, query: str, offset: int) -> list[Out]:
        hits = self.model.search(query, limit=offset + SEARCH_PAGE + 1)
        shown = _clip(" ".join(query.split()), 24)
        if not hits[offset:]:
            if offset:
                return [_say("没有更多结果了。")]
            suggestions = self.model.suggest(query)
            tips = "、".join(f"“{s}”" for s in suggestions)
            return [_say(f"🔍 没有找到“{shown}”。" + (f"可以试试：{tips}" if tips else ""))]
        total = len(self.model.search(query, limit=200))
        doc = Doc().b(f"🔍 “{shown}” · {total} 条").add("\n")
        for number, hit in enumerate(hits[offset : offset + SEARCH_PAGE], start=offset + 1):
            doc.add(f"\n{number}. ")
            text, pos = hit.sentence.text, 0
            for start, end in hit.spans:
                doc.add(text[pos:start]).b(text[start:end])
                pos = end
            doc.add(text[pos:])
            section = self.model.section(hit.sentence.section_id)
            doc.add(f"\n—— {section.label} · 第 {hit.sentence.index} 句\n")
        buttons = []
        if len(hits) > offset + SEARCH_PAGE:
            buttons.append([Button("更多", _fit_callback(f"s:{offset + SEARCH_PAGE}:", query))])
        return [Message(doc, buttons)]

    # -- quizzes ------------------------------------------------------------------------------------
    async def cmd_quiz(self, ctx: Ctx, args: str) -> list[Out]:
        """Start a quiz of N questions (default 5)."""
        if args and not (args.isdigit() and 1 <= int(args) <= QUIZ_MAX):
            return [_say(f"题数应为 1–{QUIZ_MAX} 之间的数字，例如 /quiz 5")]
        return await self._start_quiz(ctx, int(args) if args else QUIZ_DEFAULT, None)

    async def cmd_review(self, ctx: Ctx, args: str) -> list[Out]:
        """A quiz of the user's wrong answers that are due again."""
        due = self.storage.due_reviews(ctx.user_key, ctx.now, limit=REVIEW_MAX)
        ids = [r["question_id"] for r in due if r["question_id"] in self.model.question_by_id]
        if not ids:
            due_count, total = self.storage.count_reviews(ctx.user_key, ctx.now)
            if total:
                return [
                    _say(
                        f"👍 错题本里的 {total} 题都还没到复习时间。先来一轮新题？",
                        [Button("🧠 答题", "quiz:5")],
                    )
                ]
            return [_say("错题本是空的 👍 先来一轮 /quiz 吧。", [Button("🧠 答题", "quiz:5")])]
        return self._begin(ctx, ids, "review", f"🔁 复习错题 · 共 {len(ids)} 题")

    async def _start_quiz(self, ctx: Ctx, count: int, scope: str | None) -> list[Out]:
        """A quiz on the whole speech, one part (scope = its id) or one lesson (d7: that lesson, then its part)."""
        count = max(1, min(QUIZ_MAX, count))
        lesson = self._lesson(int(scope[1:])) if scope and re.fullmatch(r"d\d{1,4}", scope) else None
        section_id = lesson.section_id if lesson else scope
        ids = self._pick_questions(ctx, count, section_id, lesson.day if lesson else None)
        where = (
            f"（{self._section_name(section_id)}）" if section_id and self.model.section(section_id) else ""
        )
        return self._begin(ctx, ids, "quiz", f"🧠 小测验{where} · 共 {len(ids)} 题")

    def _begin(self, ctx: Ctx, ids: list[str], kind: str, heading: str) -> list[Out]:
        session = self.storage.start_quiz(ctx.chat_key, ctx.user_key, ids, ctx.now, kind=kind)
        if session is None:
            active = self.storage.active_quiz(ctx.chat_key)
            where = "本群" if ctx.is_group else "这里"
            progress = f"（第 {active['position'] + 1} / {len(active['question_ids'])} 题）" if active else ""
            return [
                _say(
                    f"{where}已有一轮测验在进行{progress}，答完或结束后再开始新的一轮。",
                    [Button("⏹ 结束这轮测验", "stopquiz")],
                )
            ]
        hint = "群里每个人都可以作答，发起人作答后出下一题。" if ctx.is_group else "选出你认为正确的一项。"
        if ctx.channel != "tg":
            hint = "每题回复 A、B、C 或 D 作答。"
        first = self.model.question_by_id[ids[0]]
        return [Message(Doc().b(heading).add("\n" + hint)), QuizPoll(session, first, 1, len(ids))]

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
        answered = self.storage.answered_questions(ctx.user_key)
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
        self._register(ctx)
        ids = quiz["question_ids"]
        position = quiz["position"]
        if poll_id is not None and quiz.get("poll_id") != poll_id or position >= len(ids):
            return []
        question = self.model.question_by_id.get(ids[position])
        if question is None:
            return []
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
        if ctx.user_key != quiz["user_key"] and ctx.chat_type != "private":
            return out  # in a group, the starter's answer moves the quiz on
        if self.storage.advance_quiz(quiz["id"], expected_position=position) is None:
            return out
        quiz = self.storage.get_quiz(quiz["id"])
        poll = self.poll_for(quiz)
        if poll is not None:
            out.append(poll)
            return out
        self.storage.finish_quiz(quiz["id"])
        out.append(self._score(quiz))
        return out

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

    def _stop_quiz(self, ctx: Ctx) -> list[Out]:
        quiz = self.storage.active_quiz(ctx.chat_key)
        if quiz is None:
            return [_say("现在没有进行中的测验。")]
        if quiz["user_key"] != ctx.user_key and not ctx.is_bot_admin and ctx.is_group:
            return [_say("只有发起人可以结束这轮测验。")]
        self.storage.finish_quiz(quiz["id"], cancelled=True)
        return [_say("⏹ 已结束这轮测验。发送 /quiz 再来一轮。")]

    # -- reflections and progress -------------------------------------------------------------------
    async def cmd_reflect(self, ctx: Ctx, args: str) -> list[Out]:
        """Store a reflection on the latest lesson."""
        if not args:
            return [_say("请在 /reflect 后面写下你的心得，或者直接回复当天的学习消息。")]
        last = self.storage.last_delivery(ctx.chat_key)
        return self._reflect(ctx, args, last["lesson_day"] if last else None)

    def _reflect(self, ctx: Ctx, text: str, day: int | None) -> list[Out]:
        if not text:
            return [_say("心得是空的。写几句你的体会再发给我吧。")]
        if len(text) > REFLECTION_MAX:
            return [_say(f"心得太长了（{len(text)} 字），请控制在 {REFLECTION_MAX} 字以内。")]
        self.storage.add_reflection(ctx.chat_key, ctx.user_key, day, text, ctx.now, ctx.message_id)
        which = f"第 {day} 天的心得" if day else "的心得"
        return [_say(f"📝 已记录你{which}（{len(text)} 字）。")]

    async def cmd_me(self, ctx: Ctx, args: str) -> list[Out]:
        """Days studied, streaks, quiz accuracy, reflections."""
        tz = self.config.tzinfo
        stats = self.storage.user_stats(ctx.user_key, local_date(tz, ctx.now), tz)
        due, cards = self.storage.count_reviews(ctx.user_key, ctx.now)
        doc = Doc().b(f"👤 {ctx.user_name or '我'}的学习").add("\n")
        doc.add(f"学习天数：{stats['days_studied']} 天\n")
        doc.add(f"连续学习：{stats['current_streak']} 天（最长 {stats['best_streak']} 天）\n")
        doc.add(f"答题：{stats['answered']} 题 · 正确率 {_percent(stats['accuracy'])}\n")
        doc.add(f"心得：{stats['reflections']} 篇\n")
        doc.add(f"错题本：{cards} 题" + (f"，{due} 题待复习" if due else ""))
        return [Message(doc)]

    # -- admin --------------------------------------------------------------------------------------
    async def cmd_stats(self, ctx: Ctx, args: str) -> list[Out]:
        """Subscribers, activity today, lessons sent today, quiz accuracy by part."""
        stats = self.storage.global_stats(ctx.now, self.config.tzinfo)
        private, groups, _ = subscriber_counts(self.storage)
        robots = self.robot_count
        doc = Doc().b("📊 统计").add(f"（{stats['date']}）\n")
        doc.add(
            f"订阅：{_thousands(private + groups + robots)}（{private} 个私聊 · {groups} 个群 · {robots} 个企业微信群）\n"
        )
        doc.add(f"今日活跃：{stats['active_today']} 人\n今日推送：{stats['lessons_sent_today']} 课\n")
        doc.add(f"心得：{stats['reflections_total']} 篇 · 答题：{stats['answers_total']} 次\n")
        by_section = stats["quiz_by_section"]
        if by_section:
            doc.add("\n各部分正确率：\n")
            for section in self.model.sections:
                row = by_section.get(section.id)
                if row:
                    doc.add(
                        f"{self._section_name(section.id)}：{_percent(row['accuracy'])}（{row['answered']} 次）\n"
                    )
        return [Message(doc)]

    async def cmd_export(self, ctx: Ctx, args: str) -> list[Out]:
        """A CSV of every reflection and quiz answer."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        header = None
        count = 0
        for row in self.storage.export_rows():
            if header is None:
                header = list(row)
                writer.writerow(header)
            writer.writerow([row[k] for k in header])
            count += 1
        if header is None:
            from bot.core.storage import EXPORT_FIELDS

            writer.writerow(EXPORT_FIELDS)
        stamp = ctx.now.astimezone(self.config.tzinfo).strftime("%Y%m%d-%H%M")
        # UTF-8 with BOM so that Excel opens the Chinese text correctly.
        data = buffer.getvalue().encode("utf-8-sig")
        return [Document(f"studybot-export-{stamp}.csv", data, f"📦 导出 {count} 条心得与答题记录")]

    async def cmd_broadcast(self, ctx: Ctx, args: str) -> list[Out]:
        """Preview an announcement to every subscriber, with confirm and cancel buttons."""
        if not args:
            return [_say("请在 /broadcast 后面写通知内容，例如 /broadcast 本周五下午集中学习。")]
        broadcast_id = self.storage.create_broadcast(ctx.user_key, args, ctx.now)
        private, groups, console = subscriber_counts(self.storage)
        total = private + groups + self.robot_count
        doc = (
            Doc().b("📣 广播预览").add("（确认后发出的内容如下）\n\n").extend(broadcast_doc(args)).add("\n\n")
        )
        doc.add(
            f"将发送给 {_thousands(total)} 个订阅（{private} 个私聊 · {groups} 个群 · {self.robot_count} 个企业微信群）"
        )
        if console:
            doc.add("\n（控制台的订阅不接收广播。）")
        buttons = [[Button("确认发送", f"bc:go:{broadcast_id}"), Button("取消", f"bc:no:{broadcast_id}")]]
        return [Message(doc, buttons)]

    def _broadcast_decision(self, ctx: Ctx, verb: str, broadcast_id: int) -> list[Out]:
        broadcast = self.storage.get_broadcast(broadcast_id)
        if broadcast is None or broadcast["state"] != "preview":
            return [_say("这条广播已经处理过了。")]
        if verb == "no":
            self.storage.cancel_broadcast(broadcast_id, ctx.now)
            return [Message(Doc().add("已取消，这条广播不会发出。"), edit=True)]
        recipients = broadcast_recipients(self.storage)
        self.storage.start_broadcast(broadcast_id, recipients, ctx.now)
        doc = Doc().add(f"📤 开始发送，共 {_thousands(len(recipients))} 个订阅……")
        return [Message(doc, edit=True, broadcast_id=broadcast_id)]


def subscriber_counts(storage: Storage) -> tuple[int, int, int]:
    """Subscribed private chats and groups that broadcasts reach, and console subscriptions (which they don't)."""
    counts = storage.count_subscribed()
    private = sum(
        n for (channel, kind), n in counts.items() if kind == "private" and channel in ("tg", "wecom")
    )
    groups = sum(n for (channel, kind), n in counts.items() if kind in ("group", "supergroup"))
    console = sum(n for (channel, kind), n in counts.items() if channel == "console")
    return private, groups, console


def quiz_doc(poll: QuizPoll) -> Doc:
    """A quiz question as text with lettered options, for channels without quiz polls."""
    doc = Doc().b(poll.title).add("\n")
    for i, option in enumerate(poll.question.options):
        doc.add(f"\n{LETTERS[i]}. {option}")
    return doc.add("\n\n回复 A、B、C 或 D 作答。")


def broadcast_doc(text: str) -> Doc:
    """An announcement as subscribers see it."""
    return Doc().b("📢 通知").add("\n\n").add(text)


def broadcast_recipients(storage: Storage) -> list[str]:
    """Every chat a broadcast goes to: subscribed Telegram and WeCom chats and every robot."""
    keys = [c["key"] for c in storage.subscribed_chats() if c["channel"] in ("tg", "wecom", "robot")]
    return keys


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
