"""Persistent state of StudyBot: one SQLite file (WAL) accessed through sqlite-utils.

Everything that must survive a restart lives here: chats and their subscription, the per-day
delivery claims that make the daily push exactly-once-per-local-day, quiz sessions and answers,
spaced-repetition review cards (FSRS), reflections, and broadcasts with per-recipient progress.

Conventions:
- Chats are keyed "<channel>:<id>" with channel tg / wecom / robot / console (see `chat_key`).
- Every time that is queried by time (next_due, review due, created/sent/answered...) is stored as
  integer UTC epoch seconds; ISO-8601 strings appear only in `export_rows` for display.
- Every write method commits before it returns, so a caller replies only after the state is safe.
- `now` and `next_due` arguments take an aware datetime (naive = UTC) or epoch seconds; stored as int.

Layout: `schema` (the migrations), `db` (`Database`: the connection, its lock and transactions, and the
pure helpers), and one class per concern over it: `chats` (chats and users), `deliveries` (the daily
push, lesson messages), `quizzes` (quiz sessions, answers, FSRS review cards),
`reflections`, `broadcasts` (broadcasts and recipients), `courses` (the speeches taught and each chat's
place in each), `checkins` (who studied on which study day: 打卡), `reminders` (each chat's study
reminder and its once-a-day claims), `ranks` (/rank's leaderboards), `reports` (figures per group, the
weekly summary's claims) and `stats` (stats and the export). `Storage`
below is all of them on one connection; import everything from this package, not from its modules.
"""

from bot.core.storage.broadcasts import BroadcastStore
from bot.core.storage.chats import ChatStore
from bot.core.storage.checkins import CheckinStore
from bot.core.storage.courses import SWITCHES, CourseStore, text_hash
from bot.core.storage.db import (
    CHANNELS,
    CHAT_TYPES,
    RECIPIENT_STATES,
    Database,
    Instant,
    chat_key,
    epoch,
    robot_chat_key,
)
from bot.core.storage.deliveries import DeliveryStore
from bot.core.storage.quizzes import QuizStore
from bot.core.storage.ranks import RankStore
from bot.core.storage.reflections import ReflectionStore
from bot.core.storage.reminders import ReminderStore
from bot.core.storage.reports import ReportStore
from bot.core.storage.schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from bot.core.storage.stats import EXPORT_FIELDS, StatsStore, snapshot_export_rows

__all__ = [
    "CHANNELS",
    "CHAT_TYPES",
    "EXPORT_FIELDS",
    "MIGRATIONS",
    "RECIPIENT_STATES",
    "SWITCHES",
    "SCHEMA_VERSION",
    "Database",
    "Instant",
    "Storage",
    "chat_key",
    "epoch",
    "migrate",
    "robot_chat_key",
    "schema_version",
    "snapshot_export_rows",
    "text_hash",
]


# ChatStore comes last: DeliveryStore, BroadcastStore and ReminderStore build on it (they update the chat
# row in their own transactions), and a base must follow its subclasses in the method resolution order.
class Storage(
    DeliveryStore,
    QuizStore,
    RankStore,
    ReflectionStore,
    BroadcastStore,
    StatsStore,
    ReportStore,
    CheckinStore,
    ReminderStore,
    CourseStore,
    ChatStore,
):
    """All persistent state of the bot, on one SQLite database.

    Open it with ``Storage(path)`` (or ``":memory:"``): the file is created if needed and migrated
    (see `Database.__init__`); every public method takes the instance lock and commits before it
    returns. The methods are grouped by concern in the mixins it is made of, which share one
    connection, lock and clock through `Database`.
    """
