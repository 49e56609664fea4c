"""Telegram adapter: python-telegram-bot handlers that build a `Ctx`, call `Actions` and send the result.

Every reply is Telegram HTML rendered from a `Doc` (user text escaped), split at sentence ends under
4,096 characters; quiz questions go out as non-anonymous quiz polls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
    ChatMember,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputFile,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram import (
    Message as TgMessage,
)
from telegram.constants import ParseMode, PollType
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    PollAnswerHandler,
    filters,
)

from bot.core.actions import COMMANDS, Actions, Button, Ctx, Document, Message, Out, QuizPoll
from bot.core.config import Config
from bot.core.render import Doc, split_doc, to_html
from bot.core.storage import Storage

logger = logging.getLogger(__name__)

# Durations (RetryAfter.retry_after) as timedelta, the behaviour of PTB's next major version, read per call.
os.environ.setdefault("PTB_TIMEDELTA", "1")

POLL_QUESTION_MAX = 300
INLINE_RESULTS = 10
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
SORRY = "😥 抱歉，处理时出了点问题，请稍后再试。"


class SendFailed(Exception):
    """A send that cannot succeed: the chat blocked the bot, or it moved (see `migrated_to`)."""

    def __init__(self, reason: str, migrated_to: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.migrated_to = migrated_to


def retry_seconds(exc: RetryAfter) -> float:
    """How long a 429 asks to wait, whether PTB gives it as a timedelta or as seconds."""
    value = exc.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def keyboard(rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    """Inline keyboard of the action's buttons."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in rows]
    )


class TelegramChannel:
    """Sends actions' output to Telegram and turns updates into actions."""

    def __init__(
        self,
        config: Config,
        storage: Storage,
        actions: Callable[[], asyncio.Future[Actions] | Actions],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_broadcast: Callable[[int], None] | None = None,
    ):
        self.config = config
        self.storage = storage
        self._actions = actions
        self.clock = clock
        self.on_broadcast = on_broadcast
        self.app: Application | None = None

    async def actions(self) -> Actions:
        """The actions, once the content model is loaded."""
        value = self._actions()
        return await value if asyncio.isfuture(value) or asyncio.iscoroutine(value) else value

    # -- wiring ------------------------------------------------------------------------------------
    def build(self) -> Application:
        """The Application with every handler registered."""
        token = self.config.telegram_token.get()
        app = (
            ApplicationBuilder()
            .token(token)
            .base_url(self.config.telegram_api_url)
            .base_file_url(self.config.telegram_api_url.replace("/bot", "/file/bot"))
            # Replies: at most 20 a minute to one group; broadcasts pace themselves (jobs.pacing), so the
            # global bucket is off here rather than doubling up with a bursty one.
            .rate_limiter(AIORateLimiter(overall_max_rate=0, group_max_rate=20, max_retries=0))
            # Few connections, kept alive: httpcore scans its whole pool on every request.
            .connection_pool_size(32)
            .post_init(self._post_init)
            .build()
        )
        # New messages only: an edited command or reply must not run or count twice.
        fresh = filters.UpdateType.MESSAGE
        app.add_handler(CommandHandler(list(COMMANDS), self.on_command, filters=fresh))
        app.add_handler(MessageHandler(fresh & filters.COMMAND, self.on_unknown_command))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        app.add_handler(MessageHandler(fresh & filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(
            MessageHandler(
                fresh & filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_other
            )
        )
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(PollAnswerHandler(self.on_poll_answer))
        app.add_handler(InlineQueryHandler(self.on_inline_query))
        app.add_handler(ChatMemberHandler(self.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(self.on_error)
        self.app = app
        return app

    async def _post_init(self, app: Application) -> None:
        """Register the command menu (admins' commands are not advertised)."""
        commands = [BotCommand(name, desc) for name, (desc, admin) in COMMANDS.items() if not admin]
        try:
            await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault())
            await app.bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
        except TelegramError:
            logger.warning("could not register the command menu", exc_info=True)

    # -- context -----------------------------------------------------------------------------------
    def ctx(self, update: Update, chat_id: int | None = None, chat_type: str | None = None) -> Ctx:
        """The action context of an update."""
        chat = update.effective_chat
        user = update.effective_user
        message = update.effective_message
        cid = chat.id if chat else chat_id
        ctype = chat.type if chat else (chat_type or "private")
        bot = self.app.bot if self.app else None

        # An anonymous administrator writes as the group itself (sender_chat is the chat).
        anonymous_admin = bool(message and message.sender_chat and message.sender_chat.id == cid)

        async def is_group_admin() -> bool:
            if anonymous_admin:
                return True
            member = await bot.get_chat_member(cid, user.id)
            return member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)

        reply_to = message.reply_to_message if message else None
        return Ctx(
            chat_key=f"tg:{cid}",
            channel="tg",
            chat_type=ctype if ctype in ("private", "group", "supergroup", "channel") else "private",
            user_key=f"tg:{user.id}" if user else f"tg:{cid}",
            user_name=(user.full_name if user else "") or "",
            now=self.clock(),
            chat_title=chat.title if chat else None,
            is_bot_admin=bool(user and user.id in self.config.admins),
            group_admin_check=is_group_admin if user else None,
            message_id=str(message.message_id) if message else None,
            reply_to_message_id=(
                str(reply_to.message_id)
                if reply_to and reply_to.from_user and bot and reply_to.from_user.id == bot.id
                else None
            ),
        )

    # -- handlers ----------------------------------------------------------------------------------
    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A known command."""
        text = update.effective_message.text or ""
        head, _, args = text.partition(" ")
        name = head[1:].split("@", 1)[0]
        if "\n" in head:  # "/search\nwords": the command ends at the line break
            name, _, rest = name.partition("\n")
            args = rest + " " + args
        ctx = self.ctx(update)
        await self._unblock(ctx)
        outs = await (await self.actions()).command(ctx, name, args)
        await self.send(update.effective_chat.id, outs, ctx)

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An unknown command: answered in private chats and when addressed to this bot in groups."""
        text = update.effective_message.text or ""
        head = text.split(maxsplit=1)[0] if text.split() else ""
        addressed = "@" in head and head.split("@", 1)[1].lower() == (context.bot.username or "").lower()
        if update.effective_chat.type != "private" and not addressed:
            return
        ctx = self.ctx(update)
        outs = await (await self.actions()).command(ctx, head[1:].split("@", 1)[0] or "?", "")
        await self.send(update.effective_chat.id, outs, ctx)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text: a reply to a lesson (reflection), an answer letter, or a hint in private."""
        ctx = self.ctx(update)
        if ctx.is_group and ctx.reply_to_message_id is None:
            return  # group chatter that is not for the bot
        outs = await (await self.actions()).text(ctx, update.effective_message.text or "")
        await self.send(update.effective_chat.id, outs, ctx)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A sticker, photo or file in a private chat: say what the bot understands."""
        await self.send(
            update.effective_chat.id,
            [Message(Doc().add("我只看得懂文字。发送 /help 查看全部命令，或直接写下你的心得。"))],
        )

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button."""
        query = update.callback_query
        ctx = self.ctx(update)
        try:
            await query.answer()
        except TelegramError:
            logger.debug("callback answer failed", exc_info=True)
        outs = await (await self.actions()).button(ctx, query.data or "")
        await self.send(update.effective_chat.id, outs, ctx, pressed=query.message)

    async def on_poll_answer(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An answer to one of our quiz polls: record it, maybe send the next question or the score."""
        answer = update.poll_answer
        session = self.storage.quiz_by_poll(answer.poll_id)
        if session is None or answer.user is None:
            return
        chat_id = int(session["chat_key"].split(":", 1)[1])
        chat = self.storage.get_chat(session["chat_key"]) or {}
        ctx = self.ctx(update, chat_id=chat_id, chat_type=chat.get("chat_type", "private"))
        option = answer.option_ids[0] if answer.option_ids else None
        outs = await (await self.actions()).poll_answer(ctx, answer.poll_id, option)
        await self.send(chat_id, outs, ctx)

    async def on_inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Inline mode: search results a user can drop into any chat."""
        query = update.inline_query
        actions = await self.actions()
        model = actions.model
        text = query.query.strip()
        results = []
        if text:
            hits = model.search(text, limit=INLINE_RESULTS)
            sentences = [h.sentence for h in hits]
        else:
            sentences = [s.sentences[0] for s in model.sections if s.sentences][:INLINE_RESULTS]
        for sentence in sentences:
            section = model.section(sentence.section_id)
            place = f"{section.label} · 第 {sentence.index} 句"
            body = f"{sentence.text}\n——《{model.title}》{section.label}"
            results.append(
                InlineQueryResultArticle(
                    id=f"{sentence.section_id}-{sentence.index}",
                    title=place,
                    description=sentence.text[:80],
                    input_message_content=InputTextMessageContent(body),
                )
            )
        await query.answer(results, cache_time=60, is_personal=False)

    async def on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: move the chat and its history to the new id."""
        message = update.effective_message
        if message.migrate_to_chat_id:
            self.storage.migrate_chat(f"tg:{message.chat.id}", f"tg:{message.migrate_to_chat_id}")

    async def on_my_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot was blocked, kicked, or let back in."""
        change = update.my_chat_member
        key = f"tg:{change.chat.id}"
        status = change.new_chat_member.status
        if status in (ChatMember.BANNED, ChatMember.LEFT):
            self.storage.mark_blocked(key)
        elif self.storage.get_chat(key):
            await self._unblock(self.ctx(update))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error and tell the user something went wrong instead of staying silent."""
        logger.error("error while handling an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat:
            try:
                await context.bot.send_message(update.effective_chat.id, SORRY)
            except TelegramError:
                logger.warning("could not send the error notice", exc_info=True)

    async def _unblock(self, ctx: Ctx) -> None:
        """A chat that writes to us again is not blocked any more."""
        chat = self.storage.get_chat(ctx.chat_key)
        if chat and chat["blocked"]:
            actions = await self.actions()
            from bot.core.config import parse_hhmm

            self.storage.unblock(
                ctx.chat_key, actions._next_due(chat, parse_hhmm(chat["push_time"]), ctx.now)
            )

    # -- sending -----------------------------------------------------------------------------------
    async def send(
        self, chat_id: int, outs: list[Out], ctx: Ctx | None = None, pressed: TgMessage | None = None
    ):
        """Send each output in order; a blocked chat is marked so and nothing else fails."""
        try:
            for out in outs:
                if isinstance(out, Message):
                    await self._send_message(chat_id, out, pressed)
                elif isinstance(out, QuizPoll):
                    await self.send_poll(chat_id, out)
                elif isinstance(out, Document):
                    await self._call(
                        self.app.bot.send_document,
                        chat_id,
                        InputFile(out.content, filename=out.filename),
                        caption=out.caption,
                    )
        except SendFailed as exc:
            if exc.migrated_to:
                self.storage.migrate_chat(f"tg:{chat_id}", f"tg:{exc.migrated_to}")
            else:
                self.storage.mark_blocked(f"tg:{chat_id}")

    async def _send_message(self, chat_id: int, out: Message, pressed: TgMessage | None) -> None:
        markup = keyboard(out.buttons)
        if out.edit and pressed is not None:
            try:
                sent = await self._call(
                    pressed.edit_text, to_html(out.doc), parse_mode=ParseMode.HTML, reply_markup=markup
                )
                self._after_send(chat_id, out, sent if isinstance(sent, TgMessage) else pressed)
                return
            except BadRequest:
                logger.debug("edit failed; sending a new message instead", exc_info=True)
        chunks = split_doc(out.doc)
        sent = None
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            # Not selective: the pressed button has no message of the user's to reply to, so a selective
            # ForceReply would reach nobody in a group.
            reply_markup = (
                (ForceReply(input_field_placeholder="写下你的心得") if out.ask_reply else markup)
                if last
                else None
            )
            sent = await self.send_html(chat_id, to_html(chunk), reply_markup)
        if sent is not None:
            self._after_send(chat_id, out, sent)

    def _after_send(self, chat_id: int, out: Message, sent: TgMessage) -> None:
        if out.lesson_day is not None:
            self.storage.remember_lesson_message(
                f"tg:{chat_id}", sent.message_id, out.lesson_day, self.clock()
            )
        if out.broadcast_id is not None:
            self.storage.set_progress_message(out.broadcast_id, f"tg:{chat_id}", sent.message_id)
            if self.on_broadcast:
                self.on_broadcast(out.broadcast_id)

    async def send_html(self, chat_id: int, html: str, reply_markup=None) -> TgMessage:
        """sendMessage with HTML."""
        return await self._call(
            self.app.bot.send_message,
            chat_id,
            html,
            parse_mode=ParseMode.HTML,
            reply_markup=reply_markup,
            link_preview_options=NO_PREVIEW,
        )

    async def send_poll(self, chat_id: int, poll: QuizPoll) -> TgMessage:
        """A quiz question as a non-anonymous quiz poll; remembers the poll for its answers."""
        q = poll.question
        title = (
            poll.title if len(poll.title) <= POLL_QUESTION_MAX else poll.title[: POLL_QUESTION_MAX - 1] + "…"
        )
        sent = await self._call(
            self.app.bot.send_poll,
            chat_id,
            title,
            list(q.options),
            is_anonymous=False,
            type=PollType.QUIZ,
            correct_option_ids=[q.answer],
            explanation=q.explanation,
        )
        self.storage.set_quiz_poll(poll.session_id, sent.poll.id, sent.message_id)
        return sent

    async def _call(self, method, *args, **kwargs):
        """One Bot API call: waits out a 429 once, turns 403 and migration into SendFailed."""
        for attempt in range(2):
            try:
                return await method(*args, **kwargs)
            except RetryAfter as exc:
                if attempt:
                    raise
                await asyncio.sleep(retry_seconds(exc))
            except Forbidden as exc:
                raise SendFailed("blocked") from exc
            except ChatMigrated as exc:
                raise SendFailed("migrated", migrated_to=exc.new_chat_id) from exc
        return None


# Rendered messages a TelegramSender keeps (one per lesson of the plan and then some).
_RENDERED = 64


class TelegramSender:
    """`jobs.interfaces.Sender` for Telegram chats: no retries of its own, errors mapped for the caller."""

    def __init__(self, channel: TelegramChannel, connections: int = 64):
        self.channel = channel
        self.connections = connections
        self._base = f"{channel.config.telegram_api_url}{channel.config.telegram_token.get()}"
        self._session = None  # an aiohttp.ClientSession, made on first use inside the event loop
        self._rendered: OrderedDict[int, tuple[Message, list[str]]] = OrderedDict()

    def is_group(self, chat_key: str, chat_type: str) -> bool:
        """Groups and supergroups (negative ids) have the 20-a-minute limit."""
        return chat_type in ("group", "supergroup") or chat_key.startswith("tg:-")

    async def send(self, chat_key: str, message: Message) -> str | None:
        """Send a message (split to fit); return the id of its last part.

        A daily lesson's id is recorded with its delivery (`Storage.complete_delivery`), which is where a
        reply to it is looked up, so nothing is written here."""
        chat_id = int(chat_key.split(":", 1)[1])
        sent_id = None
        for part in self._parts(message):
            sent_id = await self._post("sendMessage", f'{{"chat_id":{chat_id},{part}'.encode())
        return None if sent_id is None else str(sent_id)

    def _parts(self, message: Message) -> list[str]:
        """The message's parts as JSON bodies without their opening brace and chat_id.

        Rendered once per message: a broadcast sends the same one to every chat, a daily push one per
        lesson of the day."""
        cached = self._rendered.get(id(message))
        if cached is not None and cached[0] is message:
            self._rendered.move_to_end(id(message))
            return cached[1]
        chunks = split_doc(message.doc)
        parts = []
        for i, chunk in enumerate(chunks):
            payload: dict[str, Any] = {
                "text": to_html(chunk),
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
            }
            if message.buttons and i == len(chunks) - 1:
                payload["reply_markup"] = {
                    "inline_keyboard": [
                        [{"text": b.text, "callback_data": b.data} for b in row] for row in message.buttons
                    ]
                }
            parts.append(json.dumps(payload, ensure_ascii=False, separators=(",", ":"))[1:])
        # The message is kept with its parts, so its id cannot be reused while it is cached.
        self._rendered[id(message)] = (message, parts)
        if len(self._rendered) > _RENDERED:
            self._rendered.popitem(last=False)
        return parts

    async def _post(self, method: str, body: bytes) -> int | None:
        """One Bot API call as plain JSON over aiohttp; errors mapped for the caller.

        The fan-out sends thousands of messages and reads nothing of PTB's Message objects, and httpx
        costs ~1.6 ms of CPU a request where aiohttp costs well under half of that: going around both is
        what lets one core keep up with a four-figure rate (measured in benchmarks/bench_delivery.py).
        """
        import aiohttp  # loaded already where the HTTP server (aiohttp.web) runs

        from jobs.interfaces import Blocked, Migrated, PermanentError, RetryLater, TemporaryError

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                timeout=aiohttp.ClientTimeout(total=20, connect=5),
                headers={"Content-Type": "application/json"},
            )
        try:
            async with self._session.post(f"{self._base}/{method}", data=body) as response:
                status = response.status
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TemporaryError(type(exc).__name__) from None  # the URL holds the token: name only
        if not isinstance(data, dict):
            raise TemporaryError(f"HTTP {status}")
        if data.get("ok"):
            return data["result"].get("message_id")
        code = data.get("error_code")
        parameters = data.get("parameters") or {}
        description = str(data.get("description", ""))
        if code == 429:
            raise RetryLater(float(parameters.get("retry_after", 1)))
        if code == 403:
            raise Blocked(description)
        if parameters.get("migrate_to_chat_id"):
            raise Migrated(f"tg:{parameters['migrate_to_chat_id']}")
        if code is not None and 400 <= code < 500:
            raise PermanentError(description)
        raise TemporaryError(description or f"HTTP {status}")

    async def aclose(self) -> None:
        """Close the fan-out connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def edit(self, chat_key: str, message_id: str, doc: Doc) -> None:
        """Edit a progress message."""
        chat_id = int(chat_key.split(":", 1)[1])
        try:
            await self.channel.app.bot.edit_message_text(
                to_html(doc), chat_id=chat_id, message_id=int(message_id), parse_mode=ParseMode.HTML
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
