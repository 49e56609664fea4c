"""What every command does, for every channel, by area: `lookup`, `study`, `quizzes`, `subscription`,
`admin` (and `welcome`), each a class over the shared state (`base.Area`); `commands` is the command
table, `dispatcher.Actions` the one entry the channels call; `replies` the types that go in and out.
"""

from bot.core.actions.admin import BroadcastMessages, broadcast_doc, broadcast_recipients, subscriber_counts
from bot.core.actions.commands import COMMANDS, TEXT_ALIASES, Command, parse_text_command
from bot.core.actions.dispatcher import Actions
from bot.core.actions.quizzes import QUIZ_DEFAULT, QUIZ_MAX, REVIEW_MAX
from bot.core.actions.replies import (
    LETTERS,
    Button,
    Ctx,
    Document,
    Documents,
    InlineHit,
    Later,
    Message,
    Out,
    Photo,
    QuizPoll,
    quiz_doc,
)
from bot.core.actions.study import REFLECTION_MAX

__all__ = [
    "COMMANDS",
    "LETTERS",
    "QUIZ_DEFAULT",
    "QUIZ_MAX",
    "REFLECTION_MAX",
    "REVIEW_MAX",
    "TEXT_ALIASES",
    "Actions",
    "BroadcastMessages",
    "Button",
    "Command",
    "Ctx",
    "Document",
    "Documents",
    "Photo",
    "InlineHit",
    "Later",
    "Message",
    "Out",
    "QuizPoll",
    "broadcast_doc",
    "broadcast_recipients",
    "parse_text_command",
    "quiz_doc",
    "subscriber_counts",
]
