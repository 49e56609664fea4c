"""One entry for every channel: a command, a plain message or a pressed button goes to the area that
handles it (the table in `commands.py` for commands, the callback kinds below for buttons).

Telegram, WeCom and the console only translate: they build a `Ctx` for the incoming message, call
`Actions`, and send the `Message` / `QuizPoll` / `Document` objects it returns in their own format.
"""

from __future__ import annotations

import logging
from datetime import time

from bot.core.actions.admin import Admin
from bot.core.actions.base import Area, home_buttons
from bot.core.actions.commands import COMMANDS, parse_text_command
from bot.core.actions.lookup import Lookup
from bot.core.actions.quizzes import QUIZ_DEFAULT, Quizzes
from bot.core.actions.replies import LETTERS, Ctx, InlineHit, Message, Out, QuizPoll, say
from bot.core.actions.study import Study
from bot.core.actions.subscription import Subscription
from bot.core.actions.welcome import Welcome
from bot.core.config import Config
from bot.core.faults import is_disk_full
from bot.core.storage import Storage
from content import ContentModel
from content.lessons import Lesson

logger = logging.getLogger(__name__)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


class Actions(Area):
    """The behaviour behind every command, independent of the chat platform: the areas over one state."""

    def __init__(self, storage: Storage, model: ContentModel, config: Config, robot_count: int = 0):
        super().__init__(storage, model, config, robot_count)
        shared = (storage, model, config, robot_count)
        self.welcome = Welcome(*shared)
        self.lookup = Lookup(*shared)
        self.study = Study(*shared)
        self.quizzes = Quizzes(*shared)
        self.subscription = Subscription(*shared)
        self.admin = Admin(*shared)

    # -- entry points -------------------------------------------------------------------------------
    async def command(self, ctx: Ctx, name: str, args: str) -> list[Out]:
        """Run a command (name without the slash) with its argument text."""
        self._register(ctx)
        name = name.lower()
        command = COMMANDS.get(name)
        if command is None:
            return [say("不认识这个命令。发送 /help 查看全部命令。")]
        if command.admin and not ctx.is_bot_admin:
            return [say("这个命令仅限管理员使用。")]
        if command.manage and not await self._can_manage(ctx):
            return [say("只有群管理员可以修改本群的订阅和推送时间。")]
        handler = getattr(getattr(self, command.area), name)
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
                return await self.quizzes.answer(ctx, quiz, LETTERS.index(letter))
        if ctx.reply_to_message_id is not None:
            day = self.storage.lesson_day_for_message(ctx.chat_key, ctx.reply_to_message_id)
            if day is not None:
                return self.study.reflect_on(ctx, stripped, day)
        parsed = parse_text_command(stripped)
        if parsed is not None:
            return await self.command(ctx, *parsed)
        if ctx.is_group:
            return []
        return [say("想做什么？可以点下面的按钮，或发送 /help 查看全部命令。", home_buttons())]

    async def button(self, ctx: Ctx, data: str) -> list[Out]:
        """A pressed inline button: `kind:rest` as the buttons of the areas write it."""
        self._register(ctx)
        kind, _, rest = data.partition(":")
        if kind == "toc":
            return await self.lookup.sections(ctx, "")
        if kind == "sec":
            return await self.lookup.section(ctx, rest)
        if kind == "s":
            offset, _, query = rest.partition(":")
            return self.lookup.search_page(query, _number(offset) or 0)
        if kind == "today":
            return await self.study.today(ctx, "")
        if kind == "done":
            return self.study.studied(ctx, _number(rest))
        if kind == "note":
            return self.study.ask_reflection(_number(rest))
        if kind == "quiz":
            count, _, section = rest.partition(":")
            number = _number(count)
            return await self.quizzes.start(ctx, QUIZ_DEFAULT if number is None else number, section or None)
        if kind == "review":
            return await self.quizzes.review(ctx, "")
        if kind == "stopquiz":
            return self.quizzes.stop(ctx)
        if kind == "quizon":
            return self.quizzes.resume(ctx, _number(rest) or 0)
        if kind == "sub":
            return await self.command(ctx, "subscribe", "")
        if kind == "bc":
            verb, _, ident = rest.partition(":")
            number = _number(ident)
            return self.admin.broadcast_decision(ctx, verb, -1 if number is None else number)
        return [say("这个按钮已经失效了。发送 /help 查看全部命令。")]

    async def poll_answer(self, ctx: Ctx, poll_id: str, option: int | None) -> list[Out]:
        """An answer to a Telegram quiz poll (ctx.chat_key is resolved from the poll)."""
        self._register(ctx)
        return await self.quizzes.poll_answer(ctx, poll_id, option)

    def poll_sent(self, session_id: int, poll_id: str, message_id: str | int | None) -> None:
        """A channel delivered a quiz question as a poll (Telegram): answers to poll_id belong to it."""
        self.quizzes.poll_sent(session_id, poll_id, message_id)

    def poll_failed(self, session_id: int, permanent: bool = False) -> list[Out]:
        """A channel could not deliver a quiz question: the round stops holding the chat; what to tell
        the user (permanent: the platform refused it, so resending cannot help)."""
        return self.quizzes.poll_failed(session_id, permanent)

    def inline(self, query: str) -> list[InlineHit]:
        """Inline mode: sentences matching the query."""
        return self.lookup.inline(query)

    def welcome_back(self, ctx: Ctx) -> None:
        """A chat that had blocked the bot is back: pushes resume."""
        self.subscription.welcome_back(ctx)

    # -- what jobs and channels ask for --------------------------------------------------------------
    @property
    def plan_length(self) -> int:
        """Days in the lesson plan."""
        return len(self.lessons)

    def push_message(self, pos: int, catch_up_of: time | None = None) -> tuple[int, Message]:
        """The daily push for plan position `pos` and the lesson day it teaches."""
        return self.study.push_message(pos, catch_up_of)

    def lesson_message(self, lesson: Lesson, catch_up_of: time | None = None, final: bool = False) -> Message:
        """The daily lesson as the push and /today show it."""
        return self.study.lesson_message(lesson, catch_up_of=catch_up_of, final=final)

    def review_message(self, day_index: int) -> Message:
        """A review day after the plan."""
        return self.study.review_message(day_index)

    def poll_for(self, quiz: dict) -> QuizPoll | None:
        """The current question of an active quiz session."""
        return self.quizzes.poll_for(quiz)

    # -- helpers ------------------------------------------------------------------------------------
    def _register(self, ctx: Ctx) -> None:
        try:
            self.storage.ensure_user(ctx.user_key, ctx.user_name)
            self.storage.ensure_chat(
                ctx.chat_key,
                ctx.chat_key.split(":", 1)[0],
                ctx.chat_type,
                ctx.chat_title,
                timezone=self.config.timezone,
                push_time=self.config.default_time,
            )
        except Exception as exc:
            # On a full disk a newcomer can still read: the command runs, and one that writes says it
            # cannot save. Their row is written with their first message after space is freed.
            if not is_disk_full(exc):
                raise
            logger.debug("could not register %s: the disk is full", ctx.user_key)

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
