"""One entry for every channel: a command, a plain message or a pressed button goes to the area that
handles it (the table in `commands.py` for commands, the callback kinds below for buttons).

Telegram, WeCom and the console only translate: they build a `Ctx` for the incoming message, call
`Actions`, and send the `Message` / `QuizPoll` / `Document` objects it returns in their own format.

Each chat studies one course (bot/core/storage/courses.py): the areas serve one course each, and the
dispatcher picks the set of the chat's course, of the quiz round an answer belongs to, or of the course
a button names (`done:3@2`).
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from datetime import date, datetime, time

from bot.core.actions.admin import Admin
from bot.core.actions.base import Area, home_buttons
from bot.core.actions.commands import CHECKIN_WORDS, COMMANDS, parse_text_command
from bot.core.actions.courses import Courses
from bot.core.actions.lookup import Lookup
from bot.core.actions.publishing import Publishing
from bot.core.actions.quizzes import QUIZ_DEFAULT, Quizzes
from bot.core.actions.ranks import Ranks
from bot.core.actions.reminders import Reminders
from bot.core.actions.replies import LETTERS, Ctx, InlineHit, Message, Out, QuizPoll, say
from bot.core.actions.study import Study
from bot.core.actions.subscription import Subscription
from bot.core.actions.welcome import Welcome
from bot.core.catalog import Catalog
from bot.core.config import Config
from bot.core.faults import is_disk_full
from bot.core.storage import Storage
from content import ContentModel
from content.lessons import Lesson

logger = logging.getLogger(__name__)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


_COURSE_TAG = re.compile(r"@(\d{1,9})$")


class CourseAreas:
    """The areas of one course."""

    def __init__(
        self, storage: Storage, model: ContentModel, config: Config, robot_count: int, course_id: int
    ):
        shared = (storage, model, config, robot_count, course_id)
        self.course_id = course_id
        self.model = model
        self.welcome = Welcome(*shared)
        self.lookup = Lookup(*shared)
        self.study = Study(*shared)
        self.quizzes = Quizzes(*shared)
        self.subscription = Subscription(*shared)
        self.admin = Admin(*shared)
        self.courses = Courses(*shared)
        self.reminders = Reminders(*shared)
        self.ranks = Ranks(*shared)
        #: Daily pushes made for this course: chats on the same day share one Message (a sender renders
        #: each Message once), keyed by plan position and catch-up time.
        self.pushes: OrderedDict[tuple[int, time | None], tuple[int, Message]] = OrderedDict()


class Actions(Area):
    """The behaviour behind every command, independent of the chat platform: the areas over one state.

    `content` is the configured speech's model, or a `Catalog` of every course's model."""

    def __init__(
        self, storage: Storage, content: ContentModel | Catalog, config: Config, robot_count: int = 0
    ):
        catalog = content if isinstance(content, Catalog) else Catalog(storage, content)
        super().__init__(storage, catalog.configured, config, robot_count, catalog.configured_id)
        self.catalog = catalog
        self._areas: OrderedDict[int, CourseAreas] = OrderedDict()
        first = self.areas(catalog.configured_id)
        # The configured course's areas, as before there were courses (jobs, channels and tests use them).
        self.welcome, self.lookup, self.study = first.welcome, first.lookup, first.study
        self.quizzes, self.subscription, self.admin = first.quizzes, first.subscription, first.admin
        self.courses, self.reminders = first.courses, first.reminders
        self.publishing = Publishing(storage, catalog, on_change=self._course_changed)

    def _course_changed(self, course_id: int) -> None:
        """A course was published or got a question bank: its areas are made again when next needed."""
        self._areas.pop(course_id, None)

    # -- courses ------------------------------------------------------------------------------------
    def areas(self, course_id: int | None) -> CourseAreas:
        """The areas of a course (its model built now if it is not kept)."""
        course = self.catalog.configured_id if course_id is None else int(course_id)
        areas = self._areas.get(course)
        model = self.catalog.model(course)
        if areas is None or areas.model is not model:
            areas = CourseAreas(self.storage, model, self.config, self.robot_count, course)
            self._areas[course] = areas
        self._areas.move_to_end(course)
        while len(self._areas) > self.catalog.size + 1:  # as many as the catalog keeps models for
            self._areas.popitem(last=False)
        return areas

    def course_of(self, chat_key: str) -> int:
        """The course a chat studies (a new chat: the default course)."""
        chat = self.storage.get_chat(chat_key)
        return int(chat["course_id"]) if chat else self.storage.default_course()

    async def areas_for(self, ctx: Ctx, course_id: int | None = None) -> CourseAreas:
        """The areas of the chat's course (or of `course_id`), its model built in a thread if needed."""
        course = self.course_of(ctx.chat_key) if course_id is None else course_id
        await self.catalog.ready(course)
        return self.areas(course)

    def _quiz_areas(self, quiz: dict | None) -> CourseAreas:
        return self.areas(int(quiz["course_id"]) if quiz and quiz.get("course_id") else None)

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
        only_shows = command.shows_bare and not args.strip()
        if command.manage and not only_shows and not await self._can_manage(ctx):
            return [say(command.refused)]
        areas = await self.areas_for(ctx)
        if name == "course":
            if re.match(r"(?i)add(\s|$)", args.strip()):
                pasted = args.strip()[3:].strip()
                if not pasted:
                    return [say("在 /course add 后面粘贴讲话全文，我会先给你看预览。")]
                return await self.publishing.speech(ctx, pasted, "粘贴的文字")
            # Anyone may look at the courses; switching a group's is for its administrators.
            return await areas.courses.course(ctx, args.strip(), can_manage=await self._can_manage(ctx))
        handler = getattr(getattr(areas, command.area), name)
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
                return await self._quiz_areas(quiz).quizzes.answer(ctx, quiz, LETTERS.index(letter))
        if stripped.rstrip("。.!！~～") in CHECKIN_WORDS:  # 打卡: ✅ 已学习 where there are no buttons
            last = self.storage.last_delivery(ctx.chat_key)
            areas = await self.areas_for(ctx)
            same = last is not None and int(last.get("course_id") or 1) == areas.course_id
            return areas.study.studied(ctx, int(last["lesson_day"]) if same else None)
        if ctx.reply_to_message_id is not None:
            lesson = self.storage.lesson_for_message(ctx.chat_key, ctx.reply_to_message_id)
            if lesson is not None:
                course, day = lesson
                return (await self.areas_for(ctx, course)).study.reflect_on(ctx, stripped, day)
        parsed = parse_text_command(stripped)
        if parsed is not None:
            return await self.command(ctx, *parsed)
        if ctx.is_group:
            return []
        return [say("想做什么？可以点下面的按钮，或发送 /help 查看全部命令。", home_buttons())]

    async def button(self, ctx: Ctx, data: str) -> list[Out]:
        """A pressed inline button: `kind:rest` as the buttons of the areas write it, `@course` at the end
        when it names a course other than the first."""
        self._register(ctx)
        kind, _, rest = data.partition(":")
        tag = _COURSE_TAG.search(rest) if kind in ("done", "note", "quiz", "sec") else None
        if tag:
            rest = rest[: tag.start()]
        areas = await self.areas_for(ctx, int(tag.group(1)) if tag else None)
        if kind == "toc":
            return await areas.lookup.sections(ctx, "")
        if kind == "sec":
            return await areas.lookup.section(ctx, rest)
        if kind == "s":
            offset, _, query = rest.partition(":")
            return areas.lookup.search_page(query, _number(offset) or 0)
        if kind == "today":
            return await areas.study.today(ctx, "")
        if kind == "done":
            return areas.study.studied(ctx, _number(rest))
        if kind == "note":
            return areas.study.ask_reflection(_number(rest))
        if kind == "quiz":
            count, _, section = rest.partition(":")
            number = _number(count)
            return await areas.quizzes.start(ctx, QUIZ_DEFAULT if number is None else number, section or None)
        if kind == "review":
            return await areas.quizzes.review(ctx, "")
        if kind == "rank":
            return await areas.ranks.rank(ctx, "")
        if kind == "stopquiz":
            return areas.quizzes.stop(ctx)
        if kind == "quizon":
            session = self.storage.get_quiz(_number(rest) or 0)
            return self._quiz_areas(session).quizzes.resume(ctx, _number(rest) or 0)
        if kind == "crs":
            number = _number(rest)
            return await areas.courses.switch(
                ctx, -1 if number is None else number, await self._can_manage(ctx)
            )
        if kind == "pub":
            ident, _, verb = rest.partition(":")
            return self.publishing.decide(ctx, _number(ident) or -1, verb)
        if kind == "bank":
            ident, _, verb = rest.partition(":")
            return self.publishing.import_bank(ctx, _number(ident) or -1, verb)
        if kind == "sub":
            return await self.command(ctx, "subscribe", "")
        if kind == "bc":
            verb, _, ident = rest.partition(":")
            number = _number(ident)
            return self.admin.broadcast_decision(ctx, verb, -1 if number is None else number)
        return [say("这个按钮已经失效了。发送 /help 查看全部命令。")]

    async def document(self, ctx: Ctx, filename: str, size: int | None, fetch) -> list[Out]:
        """A file sent in a private chat: a speech or a question bank from a bot admin (`fetch` gets its
        bytes, called only if the file is taken)."""
        self._register(ctx)
        return await self.publishing.document(ctx, filename, size, fetch)

    async def poll_answer(self, ctx: Ctx, poll_id: str, option: int | None) -> list[Out]:
        """An answer to a Telegram quiz poll (ctx.chat_key is resolved from the poll)."""
        self._register(ctx)
        quiz = self.storage.quiz_by_poll(poll_id)
        if quiz is not None:
            await self.catalog.ready(int(quiz["course_id"]))
        return await self._quiz_areas(quiz).quizzes.poll_answer(ctx, poll_id, option)

    def poll_sent(self, session_id: int, poll_id: str, message_id: str | int | None) -> None:
        """A channel delivered a quiz question as a poll (Telegram): answers to poll_id belong to it."""
        self.quizzes.poll_sent(session_id, poll_id, message_id)

    def poll_failed(self, session_id: int, permanent: bool = False) -> list[Out]:
        """A channel could not deliver a quiz question: the round stops holding the chat; what to tell
        the user (permanent: the platform refused it, so resending cannot help)."""
        return self._quiz_areas(self.storage.get_quiz(session_id)).quizzes.poll_failed(session_id, permanent)

    async def inline(self, query: str, chat_key: str | None = None) -> list[InlineHit]:
        """Inline mode: sentences matching the query, in the course of the user's private chat
        (`chat_key`; the default course for someone who never wrote to the bot)."""
        course = self.course_of(chat_key) if chat_key else None
        await self.catalog.ready(course)
        return self.areas(course).lookup.inline(query)

    def welcome_back(self, ctx: Ctx) -> None:
        """A chat that had blocked the bot is back: pushes resume."""
        self.subscription.welcome_back(ctx)

    # -- what jobs and channels ask for --------------------------------------------------------------
    @property
    def plan_length(self) -> int:
        """Days in the configured course's lesson plan."""
        return len(self.lessons)

    def plan_length_of(self, course_id: int) -> int:
        """Days in a course's lesson plan."""
        return len(self.areas(course_id).model.lessons)

    def push_message(self, pos: int, catch_up_of: time | None = None) -> tuple[int, Message]:
        """The configured course's daily push for plan position `pos` and the lesson day it teaches."""
        return self.study.push_message(pos, catch_up_of)

    async def prepare(self, chat: dict) -> None:
        """The model of the chat's next push, built in a thread if it is not kept (not on the event loop,
        where every other chat would wait for it)."""
        await self.catalog.ready(self.storage.next_course(chat))

    def push_for(self, chat: dict, catch_up_of: time | None = None) -> tuple[int, int, int, Message]:
        """The chat's next daily push: (course, plan position, lesson day, message). The course is its
        own, or the one it moves on to now (`Storage.next_course`), at its place there."""
        course = self.storage.next_course(chat)
        if course == int(chat.get("course_id") or 1):
            pos = int(chat.get("plan_pos") or 0)
        else:
            pos, _done = self.storage.course_place(chat["key"], course)
        areas = self.areas(course)
        key = (pos, catch_up_of)
        if key not in areas.pushes:
            areas.pushes[key] = areas.study.push_message(pos, catch_up_of)
            while len(areas.pushes) > 64:
                areas.pushes.popitem(last=False)
        day, message = areas.pushes[key]
        return course, pos, day, message

    def lesson_message(self, lesson: Lesson, catch_up_of: time | None = None, final: bool = False) -> Message:
        """The daily lesson as the push and /today show it."""
        return self.study.lesson_message(lesson, catch_up_of=catch_up_of, final=final)

    def review_message(self, day_index: int) -> Message:
        """A review day after the plan."""
        return self.study.review_message(day_index)

    def reminder_for(self, chat: dict, study_date: date) -> Message | None:
        """A chat's study reminder of `study_date`, or None when it needs none (its person studied)."""
        return self.reminders.reminder_for(chat, study_date)

    async def overdue_rounds(self, now: datetime) -> list[tuple[str, list[Out]]]:
        """Group quiz rounds whose question's time is up, moved on: (chat_key, what to send) each."""
        done = []
        for quiz in self.storage.overdue_rounds(now):
            await self.catalog.ready(int(quiz["course_id"]))
            outs = self._quiz_areas(quiz).quizzes.overdue(quiz, now)
            if outs:
                done.append((quiz["chat_key"], outs))
        return done

    def poll_for(self, quiz: dict) -> QuizPoll | None:
        """The current question of an active quiz session."""
        return self._quiz_areas(quiz).quizzes.poll_for(quiz)

    # -- helpers ------------------------------------------------------------------------------------
    def _register(self, ctx: Ctx) -> None:
        try:
            self.storage.ensure_user(ctx.user_key, ctx.user_name, ctx.first_name)
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
