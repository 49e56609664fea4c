"""What actions return and what they know of the incoming message: `Ctx` in; `Message`, `QuizPoll`,
`Document`, `Documents`, `Photo`, `Later` out; and the small text helpers every area uses.

Channels turn a `Ctx` out of their updates and send the outputs in their own format; nothing here knows
a platform.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.core.render import Doc
from content.quiz import Question

LETTERS = "ABCD"


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
    course_id: int = 1  # the course of that lesson
    ask_reply: bool = False  # ask the user to answer by replying (Telegram ForceReply)
    edit: bool = False  # replace the message the pressed button belongs to
    broadcast_id: int | None = None  # the progress message of this broadcast (edited while it is sent)
    image: bytes | None = None  # a PNG the scheduled jobs send after the text (the weekly summary's chart)


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
    """A file to send: its bytes, or the file on disk (a Path) that the channel uploads from."""

    filename: str
    content: bytes | Path
    caption: str


@dataclass
class Photo:
    """A picture to send (a chart): PNG bytes and a short caption."""

    png: bytes
    caption: str
    filename: str = "chart.png"


@dataclass
class Documents:
    """Files that take long to make, each sent as its own message (an export in parts).

    `make(directory)` writes them into `directory`, which the caller owns (a channel's temporary one, the
    console's working directory), off the event loop, and yields what to send as it is ready, in batches:
    a `Document` per file (its content the Path), or a `Message` if it could not (/export: the CSV parts
    first, the workbook when it is done). A channel sends each batch as it comes, apart from the update
    at hand, so that everyone else is answered meanwhile, and closes the iterator when it stops early
    (`contextlib.aclosing`), so that what is still being made is stopped; the directory may go only
    after that. `title` names what is made, for a channel that cannot send files.
    """

    make: Callable[[Path], AsyncIterator[list[Out]]]
    title: str


@dataclass
class Later:
    """Pictures (`Photo`s: charts) that take a moment to make and should not hold up the reply before them.

    A channel sends everything before it first, then awaits `make()` (apart from the update at hand, so
    that the chat's next update is not held either) and sends what it returns after it: /stats's text goes
    out at once and its charts follow. `make` draws off the event loop, logs and returns nothing if it
    cannot. The WeCom app uploads each picture and sends it as an image message.
    """

    make: Callable[[], Awaitable[list[Out]]]


Out = Message | QuizPoll | Document | Documents | Photo | Later


@dataclass(frozen=True)
class InlineHit:
    """One inline-mode result: a sentence of the speech with its place, as plain text."""

    id: str
    title: str
    description: str
    text: str


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
    # Asks the platform how many members a group (by chat key) has, bots left out; None if it cannot.
    member_count: Callable[[str], Awaitable[int | None]] | None = None
    message_id: str | None = None
    reply_to_message_id: str | None = None
    first_name: str | None = None  # where the platform has one (Telegram): what scoreboards show

    @property
    def is_group(self) -> bool:
        """A group chat (everyone may read, only administrators change settings)."""
        return self.chat_type in ("group", "supergroup")


def say(text: str = "", *buttons: list[Button]) -> Message:
    """A plain reply, with rows of buttons."""
    return Message(Doc().add(text), list(buttons))


def letters(n: int) -> str:
    """The letters of n options as said in a hint: A、B、C 或 D; A、B 或 C."""
    head, last = LETTERS[: n - 1], LETTERS[n - 1]
    return f"{'、'.join(head)} 或 {last}"


def quiz_doc(poll: QuizPoll) -> Doc:
    """A quiz question as text with lettered options, for channels without quiz polls."""
    doc = Doc().b(poll.title).add("\n")
    for i, option in enumerate(poll.question.options):
        doc.add(f"\n{LETTERS[i]}. {option}")
    return doc.add(f"\n\n回复 {letters(len(poll.question.options))} 作答。")


def thousands(n: int) -> str:
    """1,284."""
    return f"{n:,}"


def percent(value: float | None) -> str:
    """83%, or — when there is nothing to count."""
    return "—" if value is None else f"{round(value * 100)}%"


def clip(text: str, n: int) -> str:
    """At most n characters, … marking a cut."""
    return text if len(text) <= n else text[: n - 1] + "…"


def fit_callback(prefix: str, text: str, limit: int = 64) -> str:
    """Callback data `prefix + text`, text cut so the whole stays within Telegram's 64 bytes."""
    out = prefix
    for ch in text:
        if len((out + ch).encode()) > limit:
            break
        out += ch
    return out
