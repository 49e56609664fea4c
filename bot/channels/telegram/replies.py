"""Telegram replies: the core's Message, QuizPoll, Document and Photo (sendPhoto) outputs as Bot API calls through PTB.

Pictures that take a moment to draw (`Later`: /stats's and /me's charts) are drawn and sent in a task
of their own once the text before them is out, so neither the text nor the next update waits for them.

Every reply is Telegram HTML rendered from a `Doc` (user text escaped), split at sentence ends under
4,096 characters; quiz questions go out as non-anonymous quiz polls. A blocked or migrated chat comes back
as `SendFailed` from one call and is recorded in storage, so nothing else fails.

Files (`Documents`, an export) are made in a task of their own, in a temporary directory next to the
database, and uploaded from disk one message each, streamed (never read into memory whole).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
)
from telegram import (
    Message as TgMessage,
)
from telegram.constants import ParseMode, PollType
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.core.actions import Actions, Button, Ctx, Document, Documents, Later, Message, Out, Photo, QuizPoll
from bot.core.render import split_doc, to_html
from bot.core.storage import Storage

logger = logging.getLogger(__name__)

# Durations (RetryAfter.retry_after) as timedelta, the behaviour of PTB's next major version, read per call.
os.environ.setdefault("PTB_TIMEDELTA", "1")

POLL_QUESTION_MAX = 300
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
FILES_FAILED = "😥 抱歉，文件没有发出去，请稍后再试。"
# Temporary directories of files being made; one a kill left behind is removed after a day.
FILES_PREFIX = ".studybot-files-"
STALE_FILES_SECONDS = 86400
# Telegram may take a while to answer a 45 MB upload; PTB's default read timeout is 5 s.
UPLOAD_TIMEOUT = 120


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


class TelegramReplies:
    """Sending for `TelegramChannel`: each output in order, through the channel's Application."""

    # Set by TelegramChannel.
    app: Application | None
    storage: Storage
    clock: Callable[[], datetime]
    on_broadcast: Callable[[int], None] | None
    actions: Callable[[], Awaitable[Actions]]
    files_dir: str | None  # where temporary files go (the database's directory); None: the system's
    file_tasks: set[asyncio.Task]

    async def send(
        self, chat_id: int, outs: list[Out], ctx: Ctx | None = None, pressed: TgMessage | None = None
    ):
        """Send each output in order; a blocked chat is marked so and nothing else fails. The core hears
        whether a quiz question arrived: if it, or anything before it, could not be sent, the round stops
        holding the chat and the user is told."""
        done = 0
        try:
            for out in outs:
                if isinstance(out, Message):
                    await self._send_message(chat_id, out, pressed)
                elif isinstance(out, QuizPoll):
                    sent = await self.send_poll(chat_id, out)
                    (await self.actions()).poll_sent(out.session_id, sent.poll.id, sent.message_id)
                elif isinstance(out, Document):
                    await self._send_document(chat_id, out)
                elif isinstance(out, Photo):
                    await self._call(
                        self.app.bot.send_photo,
                        chat_id,
                        InputFile(out.png, filename=out.filename),
                        caption=out.caption,
                    )
                elif isinstance(out, Documents):
                    self._apart(self._send_documents(chat_id, out))
                elif isinstance(out, Later):  # charts: drawn and sent after the text, in a task
                    self._apart(self._send_later(chat_id, out))
                done += 1
        except SendFailed as exc:
            await self._questions_lost(chat_id, outs[done:], None)
            if exc.migrated_to:
                self.storage.migrate_chat(f"tg:{chat_id}", f"tg:{exc.migrated_to}")
            else:
                self.storage.mark_blocked(f"tg:{chat_id}")
        except TelegramError as exc:
            if not await self._questions_lost(chat_id, outs[done:], exc):
                raise

    async def _questions_lost(self, chat_id: int, unsent: list[Out], exc: TelegramError | None) -> bool:
        """Report the first quiz question among `unsent` as failed and send what the core says (not for a
        blocked chat: exc None); False if there was none."""
        poll = next((o for o in unsent if isinstance(o, QuizPoll)), None)
        if poll is None:
            return False
        # 400 (the poll refused) or 404 (an API without sendPoll): sending it again cannot help.
        permanent = exc is None or isinstance(exc, BadRequest | InvalidToken)
        logger.warning(
            "quiz question %d/%d of session %d not sent to %s: %s",
            poll.number, poll.total, poll.session_id, chat_id, type(exc).__name__ if exc else "chat gone",
        )  # fmt: skip
        notice = (await self.actions()).poll_failed(poll.session_id, permanent=permanent)
        if exc is not None:
            try:
                for out in notice:
                    if isinstance(out, Message):
                        await self._send_message(chat_id, out, None)
            except (TelegramError, SendFailed):
                logger.warning("could not tell %s that the question was not sent", chat_id)
        return True

    async def _send_document(self, chat_id: int, out: Document) -> None:
        """sendDocument; a file on disk is streamed from it (PTB reads the handle as it uploads)."""
        if isinstance(out.content, bytes):
            await self._call(
                self.app.bot.send_document,
                chat_id,
                InputFile(out.content, filename=out.filename),
                caption=out.caption,
            )
            return
        with open(out.content, "rb") as handle:
            await self._call(
                self.app.bot.send_document,
                chat_id,
                InputFile(handle, filename=out.filename, read_file_handle=False),
                caption=out.caption,
                read_timeout=UPLOAD_TIMEOUT,
                write_timeout=UPLOAD_TIMEOUT,
            )

    def _apart(self, work: Awaitable[None]) -> None:
        """Run `work` in a task of its own (the update's handler goes on), cancelled when the bot stops."""
        task = asyncio.create_task(work)
        self.file_tasks.add(task)
        task.add_done_callback(self.file_tasks.discard)

    async def _send_later(self, chat_id: int, out: Later) -> None:
        """Make the pictures and send them (nothing if they cannot be made: the text went already)."""
        try:
            await self.send(chat_id, await out.make())
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("sending pictures to tg:%s failed", chat_id)

    async def _send_documents(self, chat_id: int, out: Documents) -> None:
        """Make the files in a temporary directory, send each batch as it comes, remove the directory."""
        try:
            if self.files_dir:
                _remove_stale(Path(self.files_dir))
            directory = Path(tempfile.mkdtemp(prefix=FILES_PREFIX, dir=self.files_dir))
            try:
                # Each batch as it is ready (an export's CSV parts, then its workbook); closed before the
                # directory goes, so that nothing is still writing into it.
                async with contextlib.aclosing(out.make(directory)) as batches:
                    async for outs in batches:
                        await self.send(chat_id, outs)
            finally:
                # In a thread: unlinking 80 MB of files is no work for the event loop.
                await asyncio.to_thread(shutil.rmtree, directory, True)
        except asyncio.CancelledError:
            logger.info("%s for tg:%s cancelled", out.title, chat_id)
            raise
        except Exception:
            logger.exception("sending %s to tg:%s failed", out.title, chat_id)
            try:
                await self.send_html(chat_id, FILES_FAILED)
            except Exception:  # noqa: BLE001 - the error is logged above; nothing more to say
                logger.warning("could not send the failure notice", exc_info=True)

    async def stop_files(self) -> None:
        """Cancel the files still being made or sent (the bot stops); their temporary files go."""
        for task in list(self.file_tasks):
            task.cancel()
        await asyncio.gather(*self.file_tasks, return_exceptions=True)

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
                f"tg:{chat_id}", sent.message_id, out.lesson_day, self.clock(), course_id=out.course_id
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
        """A quiz question as a non-anonymous quiz poll."""
        q = poll.question
        title = (
            poll.title if len(poll.title) <= POLL_QUESTION_MAX else poll.title[: POLL_QUESTION_MAX - 1] + "…"
        )
        return await self._call(
            self.app.bot.send_poll,
            chat_id,
            title,
            list(q.options),
            is_anonymous=False,
            type=PollType.QUIZ,
            correct_option_ids=[q.answer],
            explanation=q.explanation,
        )

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


def _remove_stale(directory: Path) -> None:
    """Remove temporary file directories older than a day: a process killed while sending leaves them."""
    cutoff = time.time() - STALE_FILES_SECONDS
    for path in directory.glob(FILES_PREFIX + "*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue
