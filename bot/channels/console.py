"""`studybot console`: the bot in the terminal, same commands and same database, no token needed.

Lines on stdin, replies on stdout. Buttons are shown numbered ([1] 📖 今日学习) and pressed by typing
their number; quiz questions are answered with A, B, C or D. Exits at end of input.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from bot.core import schedule
from bot.core.actions import (
    Actions,
    Button,
    Ctx,
    Document,
    Documents,
    Later,
    Message,
    Out,
    Photo,
    QuizPoll,
    quiz_doc,
)
from bot.core.faults import Faults
from bot.core.render import to_plain
from jobs.daily import DailyPush
from jobs.pacing import Pacer
from jobs.reminders import Reminders

logger = logging.getLogger(__name__)

CHAT_KEY = "console:local"
WELCOME = "学习助手 · 控制台。输入 /help 查看命令，/start 开始；按钮输入编号即可，Ctrl-D 退出。"


class ConsoleSender:
    """The console as a delivery channel: a subscribed console gets its daily lesson on screen."""

    def __init__(self, console: Console):
        self.console = console

    def is_group(self, chat_key: str, chat_type: str) -> bool:
        """The console is one person."""
        return False

    async def send(self, chat_key: str, message: Message) -> str | None:
        """Print the lesson."""
        self.console.show([message])
        return None

    async def edit(self, chat_key: str, message_id: str, doc) -> None:
        """Nothing to edit on a terminal."""


class Console:
    """One terminal conversation."""

    def __init__(
        self, actions: Actions, out=sys.stdout, clock=lambda: datetime.now(UTC), faults: Faults | None = None
    ):
        self.actions = actions
        self.faults = faults or Faults()
        self.out = out
        self.clock = clock
        self.buttons: list[Button] = []
        self.user = _user_name()
        # Matched search words and headings in bold on a terminal; plain when piped.
        self.bold = ("\x1b[1m", "\x1b[0m") if getattr(out, "isatty", lambda: False)() else ("", "")
        senders = {"console": ConsoleSender(self)}
        pacer = Pacer(100.0)
        self.push = DailyPush(actions.storage, actions, senders, pacer, schedule)
        self.reminders = Reminders(actions.storage, actions, senders, pacer, schedule)

    async def deliver_due(self) -> None:
        """Show the day's lesson if the console is subscribed and it is due, and its study reminder
        (/remind) if that is due."""
        await self.push.tick(self.clock())
        await self.reminders.tick(self.clock())

    def ctx(self) -> Ctx:
        """The console is a private chat whose user administers the bot (it has the database)."""
        return Ctx(CHAT_KEY, "console", "private", CHAT_KEY, self.user, self.clock(), is_bot_admin=True)

    async def handle(self, line: str) -> None:
        """One line of input."""
        text = line.strip()
        await self.deliver_due()
        if not text:
            return
        if text.isdigit() and 1 <= int(text) <= len(self.buttons):
            outs = await self.actions.button(self.ctx(), self.buttons[int(text) - 1].data)
        elif text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            outs = await self.actions.command(self.ctx(), name.split("@", 1)[0], args)
        else:
            outs = await self.actions.text(self.ctx(), text)
        self.show([out for out in outs if not isinstance(out, Documents | Later)])
        for out in outs:
            if isinstance(out, Documents):  # files are saved in the working directory
                async with contextlib.aclosing(out.make(Path.cwd())) as batches:
                    async for made in batches:
                        self.show(made)
            elif isinstance(out, Later):  # charts, after the text
                self.show(await out.make())

    def show(self, outs: list[Out]) -> None:
        """Print replies as plain text."""
        # Pictures shown after the text (`Later`) keep the buttons the text offered.
        pictures = bool(outs) and all(isinstance(out, Photo) for out in outs)
        buttons: list[Button] = []
        for out in outs:
            if isinstance(out, Message):
                self.out.write(to_plain(out.doc, self.bold) + "\n")
                buttons = [b for row in out.buttons for b in row] or buttons
            elif isinstance(out, QuizPoll):
                self.out.write(to_plain(quiz_doc(out)) + "\n")
                buttons = []
            elif isinstance(out, Document):
                path = out.content if isinstance(out.content, Path) else Path(out.filename)
                if isinstance(out.content, bytes):
                    path.write_bytes(out.content)
                self.out.write(f"{out.caption}\n已保存到 {path.resolve()}\n")
            elif isinstance(out, Photo):  # a terminal shows no pictures: the PNG goes to a file
                self.out.write(f"🖼 {out.caption}：{save_photo(out)}\n")
        if pictures:
            self.out.flush()
            return
        if buttons:
            self.out.write("  ".join(f"[{i}] {b.text}" for i, b in enumerate(buttons, start=1)) + "\n")
        self.buttons = buttons
        self.out.write("\n")
        self.out.flush()


def save_photo(photo: Photo) -> str:
    """Save a chart in the system's temporary directory; where it went, or why not, as a line."""
    try:
        directory = Path(tempfile.gettempdir()) / "studybot-charts"
        directory.mkdir(exist_ok=True)
        path = directory / photo.filename
        path.write_bytes(photo.png)
    except OSError as exc:
        return f"图片未能保存（{exc.strerror or exc}）"
    return f"图片已保存到 {path}"


def _user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (e.g. a bare container)
        return "控制台"


async def run(console: Console, lines: Iterable[str]) -> None:
    """Handle lines until they end; a line that fails gets the core's words for it (a full disk said
    plainly, else an apology) and the session goes on."""
    for line in lines:
        try:
            await console.handle(line)
        except Exception as exc:  # one bad line must not end the session
            console.out.write(console.faults.reply(exc, "console") + "\n\n")
            console.out.flush()


def stdin_lines() -> Iterator[str]:
    """Lines of input; on a terminal with a prompt, so the user sees where to type."""
    if not sys.stdin.isatty():
        yield from sys.stdin
        return
    while True:
        try:
            yield input("› ")
        except EOFError:
            print()
            return
