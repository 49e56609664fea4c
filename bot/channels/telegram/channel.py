"""Telegram adapter: python-telegram-bot handlers that build a `Ctx`, call `Actions` and send the result.

`TelegramChannel` builds the PTB Application, registers the update handlers and turns each update into an
action; what the action returns goes out through `TelegramReplies` (replies.py).
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
    ChatMember,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.error import TelegramError
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

from bot.channels.telegram.metered import MeteredRequest, timed
from bot.channels.telegram.polling import ConflictWatch, WatchedRequest, hide_conflict_tracebacks
from bot.channels.telegram.replies import TelegramReplies
from bot.core.actions import COMMANDS, Actions, Ctx, Message
from bot.core.config import Config
from bot.core.faults import Faults
from bot.core.health import Health
from bot.core.metrics import Metrics
from bot.core.render import Doc
from bot.core.storage import Storage

logger = logging.getLogger(__name__)


class TelegramChannel(TelegramReplies):
    """Sends actions' output to Telegram and turns updates into actions."""

    def __init__(
        self,
        config: Config,
        storage: Storage,
        actions: Callable[[], asyncio.Future[Actions] | Actions],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_broadcast: Callable[[int], None] | None = None,
        faults: Faults | None = None,
        health: Health | None = None,
        metrics: Metrics | None = None,
    ):
        self.config = config
        self.metrics = metrics
        self.faults = faults or Faults()
        self.storage = storage
        self._actions = actions
        self.clock = clock
        self.on_broadcast = on_broadcast
        self.app: Application | None = None
        #: 409 Conflict on getUpdates: its log lines and its entry in `health` (polling.py).
        self.conflicts = ConflictWatch(health)
        self.polling: WatchedRequest | None = None  # getUpdates' connection, made by build()
        #: Webhook mode (STUDYBOT_TELEGRAM_WEBHOOK_URL): the route and its setWebhook (webhook.py); made by
        #: build().
        self.webhook = None
        # Files being made go next to the database: /tmp may be a small tmpfs, in memory.
        db = str(config.db_path)
        self.files_dir = (
            None if db == ":memory:" or db.startswith("file:") else os.path.dirname(os.path.abspath(db))
        )
        self.file_tasks: set[asyncio.Task] = set()

    async def actions(self) -> Actions:
        """The actions, once the content model is loaded."""
        value = self._actions()
        return await value if asyncio.isfuture(value) or asyncio.iscoroutine(value) else value

    # -- wiring ------------------------------------------------------------------------------------
    def build(self) -> Application:
        """The Application with every handler registered."""
        token = self.config.telegram_token.get()
        self.polling = WatchedRequest(self.conflicts)
        app = (
            ApplicationBuilder()
            .token(token)
            .base_url(self.config.telegram_api_url)
            .base_file_url(self.config.telegram_api_url.replace("/bot", "/file/bot"))
            # Replies: at most 20 a minute to one group; broadcasts pace themselves (jobs.pacing), so the
            # global bucket is off here rather than doubling up with a bursty one.
            .rate_limiter(AIORateLimiter(overall_max_rate=0, group_max_rate=20, max_retries=0))
            # Few connections, kept alive: httpcore scans its whole pool on every request.
            .request(MeteredRequest(self.metrics, connection_pool_size=32))
            .get_updates_request(self.polling)
            .post_init(self._post_init)
            .build()
        )
        hide_conflict_tracebacks()  # a 409 gets the watch's lines instead
        if self.config.telegram_webhook:
            # Here, not at the top: it loads aiohttp.web, which polling does not need before its first poll.
            from bot.channels.telegram.webhook import Webhook

            secret = self.config.telegram_webhook_secret
            # Without a set secret, one of this run's own: setWebhook hands it to Telegram at every start.
            self.webhook = Webhook(
                app, self.config.telegram_webhook_url, secret.get() if secret else secrets.token_urlsafe(32)
            )
        # New messages only: an edited command or reply must not run or count twice.
        fresh = filters.UpdateType.MESSAGE

        def t(handler):
            return timed(self.metrics, handler)  # update -> reply latency for /metrics

        app.add_handler(CommandHandler(list(COMMANDS), t(self.on_command), filters=fresh))
        app.add_handler(MessageHandler(fresh & filters.COMMAND, t(self.on_unknown_command)))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        app.add_handler(MessageHandler(fresh & filters.TEXT & ~filters.COMMAND, t(self.on_text)))
        app.add_handler(
            MessageHandler(fresh & filters.ChatType.PRIVATE & filters.Document.ALL, t(self.on_document))
        )
        app.add_handler(
            MessageHandler(
                fresh & filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, t(self.on_other)
            )
        )
        app.add_handler(CallbackQueryHandler(t(self.on_button)))
        app.add_handler(PollAnswerHandler(t(self.on_poll_answer)))
        app.add_handler(InlineQueryHandler(t(self.on_inline_query)))
        app.add_handler(ChatMemberHandler(self.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(self.on_error)
        self.app = app
        return app

    async def _post_init(self, app: Application) -> None:
        """Register the command menu (admins' commands are not advertised)."""
        commands = [BotCommand(name, c.description) for name, c in COMMANDS.items() if not c.admin]
        try:
            await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault())
            await app.bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
        except TelegramError:
            logger.warning("could not register the command menu", exc_info=True)

    # -- context -----------------------------------------------------------------------------------
    async def member_count(self, key: str) -> int | None:
        """A group's members less the bot itself (getChatMemberCount counts it; other bots it cannot tell)."""
        count = await self.app.bot.get_chat_member_count(int(key.split(":", 1)[1]))
        return max(0, count - 1)

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
            first_name=(user.first_name or None) if user else None,
            now=self.clock(),
            chat_title=chat.title if chat else None,
            is_bot_admin=bool(user and user.id in self.config.admins),
            group_admin_check=is_group_admin if user else None,
            member_count=self.member_count if bot else None,
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

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A file in a private chat: a speech or a question bank from a bot admin (downloaded only then)."""
        document = update.effective_message.document

        async def fetch() -> bytes:
            file = await context.bot.get_file(document.file_id)
            return bytes(await file.download_as_bytearray())

        ctx = self.ctx(update)
        actions = await self.actions()
        outs = await actions.document(ctx, document.file_name or "", document.file_size, fetch)
        await self.send(update.effective_chat.id, outs, ctx)

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
        hits = await (await self.actions()).inline(query.query, f"tg:{query.from_user.id}")
        results = [
            InlineQueryResultArticle(
                id=hit.id,
                title=hit.title,
                description=hit.description,
                input_message_content=InputTextMessageContent(hit.text),
            )
            for hit in hits
        ]
        await query.answer(results, cache_time=60, is_personal=False)

    async def on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: move the chat and its history to the new id. Telegram says so in
        both (migrate_to_chat_id in the old group, migrate_from_chat_id in the new one), in either order;
        whichever comes first moves it, the other finds it moved."""
        message = update.effective_message
        if message.migrate_to_chat_id:
            self.storage.migrate_chat(f"tg:{message.chat.id}", f"tg:{message.migrate_to_chat_id}")
        elif message.migrate_from_chat_id:
            self.storage.migrate_chat(f"tg:{message.migrate_from_chat_id}", f"tg:{message.chat.id}")

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
        """Tell the user what went wrong (the core's words: a full disk plainly, else an apology) instead
        of staying silent; the core logs it."""
        where = "Telegram"
        chat_id = None
        if isinstance(update, Update):
            text = update.message.text if update.message else None
            if update.callback_query:
                where += " button " + (update.callback_query.data or "").split(":", 1)[0][:16]
            elif text and text.startswith("/"):
                where += " " + text.split(maxsplit=1)[0].split("@", 1)[0][:33]  # the command, never the text
            if update.effective_chat:
                chat_id = update.effective_chat.id
            elif update.poll_answer:  # a quiz answer: the quiz's chat (a read, which still works)
                where += " quiz answer"
                session = self.storage.quiz_by_poll(update.poll_answer.poll_id)
                chat_id = int(session["chat_key"].split(":", 1)[1]) if session else None
        reply = self.faults.reply(context.error, where)
        if chat_id is not None:
            try:
                await context.bot.send_message(chat_id, reply)
            except TelegramError:
                logger.warning("could not send the error notice", exc_info=True)

    async def tell_admins(self, text: str) -> None:
        """A notice to every bot admin (STUDYBOT_ADMINS) in their private chat with the bot."""
        for admin in self.config.admins:
            try:
                await self.send_html(admin, html.escape(text, quote=False))
            except Exception as exc:  # an admin who never wrote to the bot, or no network: the others still
                logger.warning("could not tell admin %s: %s", admin, type(exc).__name__)

    async def _unblock(self, ctx: Ctx) -> None:
        """A chat that writes to us again is not blocked any more."""
        (await self.actions()).welcome_back(ctx)
