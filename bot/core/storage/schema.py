"""The schema of StudyBot's database: its migrations and the code that applies them.

`MIGRATIONS` lists the migrations in order (`_m001_tables`, `_m002_indexes`, `_m003_study_marks`,
`_m004_courses`, `_m005_checkins`, `_m006_quiz_rounds`, `_m007_reports`);
`SCHEMA_VERSION` is how many there are, `schema_version` reads the version a file records in its meta
table and `migrate` brings a file up to date, one transaction per migration.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.storage.sqlite import sqlite_utils

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- migrations
# Each migration is applied once, in order, inside its own transaction, and bumps meta.schema_version.
# They are plain DDL on purpose: a shipped migration must produce the same schema forever, whatever a
# later sqlite-utils version renders for table.create(). Never edit a shipped migration: append one.


def _in_transaction(db: sqlite_utils.Database, script: str) -> None:
    """Run a script's statements one by one in the migration's transaction (executescript would commit
    first, so a kill half-way would leave a half-migrated file)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.conn.execute(statement)
            statement = ""
    if statement.strip() and not all(
        line.strip().startswith("--") or not line.strip() for line in statement.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement: {statement.strip()[:80]}")


def _m001_tables(db: sqlite_utils.Database) -> None:
    """Create the tables (schema version 1)."""
    db.executescript(
        """
        CREATE TABLE chats (
            key TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            chat_type TEXT NOT NULL,
            title TEXT,
            timezone TEXT NOT NULL,
            push_time TEXT NOT NULL,
            subscribed INTEGER NOT NULL DEFAULT 0 CHECK (subscribed IN (0, 1)),
            blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
            plan_pos INTEGER NOT NULL DEFAULT 0,
            last_local_date TEXT,
            next_due INTEGER,
            migrated_to TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            plan_done INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            chat_key TEXT NOT NULL REFERENCES chats(key),
            local_date TEXT NOT NULL,
            lesson_day INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'claimed' CHECK (state IN ('claimed', 'sent', 'failed')),
            catch_up INTEGER NOT NULL DEFAULT 0,
            message_id TEXT,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            sent_at INTEGER,
            UNIQUE (chat_key, local_date)
        );
        CREATE TABLE users (
            key TEXT PRIMARY KEY,
            name TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE quiz_sessions (
            id INTEGER PRIMARY KEY,
            chat_key TEXT NOT NULL,
            user_key TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'quiz',
            question_ids TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0,
            correct INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'done', 'cancelled')),
            poll_id TEXT,
            poll_message_id TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE quiz_answers (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES quiz_sessions(id),
            chat_key TEXT NOT NULL,
            user_key TEXT NOT NULL,
            question_id TEXT NOT NULL,
            section_id TEXT,
            option INTEGER,
            correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
            answered_at INTEGER NOT NULL,
            UNIQUE (session_id, question_id, user_key)
        );
        CREATE TABLE review_cards (
            user_key TEXT NOT NULL,
            question_id TEXT NOT NULL,
            card TEXT NOT NULL,
            due INTEGER NOT NULL,
            lapses INTEGER NOT NULL DEFAULT 0,
            reviews INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (user_key, question_id)
        );
        CREATE TABLE reflections (
            id INTEGER PRIMARY KEY,
            chat_key TEXT NOT NULL,
            user_key TEXT NOT NULL,
            lesson_day INTEGER,
            text TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            message_id TEXT
        );
        CREATE TABLE broadcasts (
            id INTEGER PRIMARY KEY,
            admin_key TEXT NOT NULL,
            text TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'preview'
                CHECK (state IN ('preview', 'sending', 'done', 'cancelled')),
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            finished_at INTEGER,
            progress_chat TEXT,
            progress_message_id TEXT,
            preview_message_id TEXT
        );
        CREATE TABLE broadcast_recipients (
            broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
            chat_key TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'blocked', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (broadcast_id, chat_key)
        );
        """
    )


def _m002_indexes(db: sqlite_utils.Database) -> None:
    """Create the secondary indexes (schema version 2)."""
    db.executescript(
        """
        -- The scheduler's due query: WHERE next_due <= ? ORDER BY next_due LIMIT n (a range scan).
        CREATE INDEX idx_chats_next_due ON chats(next_due);
        CREATE INDEX idx_deliveries_sent_at ON deliveries(sent_at);
        CREATE INDEX idx_deliveries_local_date ON deliveries(local_date);
        -- At most one active quiz per chat, enforced by SQLite itself (a partial unique index).
        CREATE UNIQUE INDEX idx_quiz_sessions_one_active ON quiz_sessions(chat_key) WHERE state = 'active';
        CREATE INDEX idx_quiz_sessions_poll_id ON quiz_sessions(poll_id);
        CREATE INDEX idx_quiz_answers_user ON quiz_answers(user_key, answered_at);
        CREATE INDEX idx_quiz_answers_answered_at ON quiz_answers(answered_at);
        CREATE INDEX idx_review_cards_due ON review_cards(user_key, due);
        CREATE INDEX idx_reflections_user ON reflections(user_key, created_at);
        CREATE INDEX idx_reflections_chat ON reflections(chat_key, created_at);
        CREATE INDEX idx_reflections_created_at ON reflections(created_at);
        CREATE INDEX idx_broadcasts_state ON broadcasts(state);
        CREATE INDEX idx_broadcast_recipients_state ON broadcast_recipients(broadcast_id, state);
        """
    )


def _m003_study_marks(db: sqlite_utils.Database) -> None:
    """Lesson messages other than the push (/today) and "已学习" marks (schema version 3)."""
    db.executescript(
        """
        CREATE TABLE lesson_messages (
            chat_key TEXT NOT NULL,
            message_id TEXT NOT NULL,
            lesson_day INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (chat_key, message_id)
        );
        CREATE TABLE study_marks (
            id INTEGER PRIMARY KEY,
            user_key TEXT NOT NULL,
            chat_key TEXT NOT NULL,
            lesson_day INTEGER,
            studied_at INTEGER NOT NULL
        );
        CREATE INDEX idx_study_marks_user ON study_marks(user_key, studied_at);
        """
    )


def _m004_courses(db: sqlite_utils.Database) -> None:
    """Courses: many speeches, each chat on one of them with its place kept in each (schema version 4).

    Course 1 is the speech the bot taught so far (the bundled one or STUDYBOT_CONTENT): every existing
    row belongs to it, and every chat is on it at its position. Its text is filled in at the next start,
    when the service registers the speech it is configured with (`Storage.register_configured_course`).
    Statement by statement inside the migration's transaction: a kill half-way leaves version 3.
    """
    _in_transaction(
        db,
        """
        CREATE TABLE courses (
            id INTEGER PRIMARY KEY,
            hash TEXT UNIQUE,
            title TEXT NOT NULL DEFAULT '',
            text TEXT,
            source TEXT,
            state TEXT NOT NULL DEFAULT 'published' CHECK (state IN ('draft', 'published')),
            switch TEXT NOT NULL DEFAULT 'finished' CHECK (switch IN ('finished', 'all')),
            bank TEXT,
            bank_mode TEXT CHECK (bank_mode IN ('replace', 'add')),
            created_by TEXT,
            created_at INTEGER NOT NULL,
            published_at INTEGER
        );
        INSERT INTO courses (id, source, created_at, published_at)
            VALUES (1, 'configured', CAST(strftime('%s', 'now') AS INTEGER), 0);
        CREATE TABLE course_progress (
            chat_key TEXT NOT NULL,
            course_id INTEGER NOT NULL,
            plan_pos INTEGER NOT NULL DEFAULT 0,
            plan_done INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (chat_key, course_id)
        );
        INSERT INTO course_progress (chat_key, course_id, plan_pos, plan_done, updated_at)
            SELECT key, 1, plan_pos, plan_done, updated_at FROM chats WHERE plan_pos > 0 OR plan_done = 1;
        ALTER TABLE chats ADD COLUMN course_id INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE chats ADD COLUMN course_since INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE deliveries ADD COLUMN course_id INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE quiz_sessions ADD COLUMN course_id INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE quiz_answers ADD COLUMN course_id INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE reflections ADD COLUMN course_id INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE lesson_messages ADD COLUMN course_id INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE study_marks ADD COLUMN course_id INTEGER NOT NULL DEFAULT 1;
        -- A review card is one person's card for one question of one course: the key gains course_id.
        CREATE TABLE review_cards_by_course (
            user_key TEXT NOT NULL,
            course_id INTEGER NOT NULL DEFAULT 1,
            question_id TEXT NOT NULL,
            card TEXT NOT NULL,
            due INTEGER NOT NULL,
            lapses INTEGER NOT NULL DEFAULT 0,
            reviews INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (user_key, course_id, question_id)
        );
        INSERT INTO review_cards_by_course
            (user_key, course_id, question_id, card, due, lapses, reviews, updated_at)
            SELECT user_key, 1, question_id, card, due, lapses, reviews, updated_at FROM review_cards;
        DROP TABLE review_cards;
        ALTER TABLE review_cards_by_course RENAME TO review_cards;
        CREATE INDEX idx_review_cards_due ON review_cards(user_key, course_id, due);
        CREATE INDEX idx_quiz_answers_course ON quiz_answers(course_id, answered_at);
        -- A question bank an admin sent, shown as a preview until they confirm or cancel it.
        CREATE TABLE bank_drafts (
            id INTEGER PRIMARY KEY,
            course_id INTEGER NOT NULL,
            rows TEXT NOT NULL,
            created_by TEXT,
            created_at INTEGER NOT NULL
        );
        """,
    )


def _m005_checkins(db: sqlite_utils.Database) -> None:
    """Check-ins (打卡) and study reminders (schema version 5).

    A check-in is one person's study day (04:00 to 04:00 in the zone of the chat they checked in from),
    whichever chat they pressed ✅ in: the key is (user, study date), so a second press that day counts
    nothing. The ✅ marks made before (study_marks) become check-ins here, each on its study day in its
    chat's zone; study_marks stays as it was, written no more.

    A chat's reminder: `remind_at` (HH:MM, NULL when off) and `remind_next_due` (UTC, indexed, NULL
    unless a reminder is set and the chat can receive it), and one `reminders` row per chat and study
    day, claimed before the send: the once-a-day guarantee, as `deliveries` is for the push.

    Statement by statement rather than executescript (which commits first): all of it inside the
    migration's transaction, so a kill half-way leaves version 4 as it was.
    """
    script = """
        CREATE TABLE checkins (
            user_key TEXT NOT NULL,
            study_date TEXT NOT NULL,
            chat_key TEXT NOT NULL,
            course_id INTEGER NOT NULL DEFAULT 1,
            lesson_day INTEGER,
            checked_at INTEGER NOT NULL,
            PRIMARY KEY (user_key, study_date)
        );
        -- Who of a group studied today: the people who checked in there, then their check-in of the day.
        CREATE INDEX idx_checkins_chat ON checkins(chat_key, user_key);
        ALTER TABLE chats ADD COLUMN remind_at TEXT;
        ALTER TABLE chats ADD COLUMN remind_next_due INTEGER;
        -- The reminder tick's due query: WHERE remind_next_due <= ? ORDER BY remind_next_due LIMIT n.
        CREATE INDEX idx_chats_remind_next_due ON chats(remind_next_due);
        CREATE TABLE reminders (
            chat_key TEXT NOT NULL,
            study_date TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'claimed' CHECK (state IN ('claimed', 'sent', 'skipped', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 1,
            error TEXT,
            created_at INTEGER NOT NULL,
            sent_at INTEGER,
            PRIMARY KEY (chat_key, study_date)
        );
        CREATE INDEX idx_reminders_claimed ON reminders(state) WHERE state = 'claimed';
        """
    _in_transaction(db, script)
    # The study day of each earlier ✅ (the rule as shipped with this migration: 04:00 local).
    marks = db.execute(
        "SELECT m.user_key, m.chat_key, m.course_id, m.lesson_day, m.studied_at, c.timezone "
        "FROM study_marks m LEFT JOIN chats c ON c.key = m.chat_key ORDER BY m.studied_at, m.id"
    ).fetchall()
    zones: dict[str, ZoneInfo] = {}
    rows = []
    for user_key, chat_key, course_id, lesson_day, studied_at, tz in marks:
        name = tz or "Asia/Shanghai"
        if name not in zones:
            try:
                zones[name] = ZoneInfo(name)
            except Exception:  # a zone this system does not know: the bot's default
                zones[name] = ZoneInfo("Asia/Shanghai")
        wall = datetime.fromtimestamp(int(studied_at), zones[name]).replace(tzinfo=None)
        day = (wall - timedelta(hours=4)).date().isoformat()
        rows.append((user_key, day, chat_key, course_id, lesson_day, int(studied_at)))
    db.conn.executemany(
        "INSERT OR IGNORE INTO checkins (user_key, study_date, chat_key, course_id, lesson_day, checked_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def _m006_quiz_rounds(db: sqlite_utils.Database) -> None:
    """Group quiz rounds and /rank (schema version 6).

    `quiz_sessions.deadline` (UTC, NULL outside group rounds): when the round's current question ends
    whoever has answered; the rounds tick asks for the overdue ones by index. /rank reads a group's
    answers by chat and time (`idx_quiz_answers_chat`). `users.first_name` (Telegram's; NULL where a
    platform has none): what scoreboards and leaderboards show, the whole name otherwise. Statement by statement inside the migration's
    transaction: a kill half-way leaves version 5 as it was.
    """
    _in_transaction(
        db,
        """
        ALTER TABLE quiz_sessions ADD COLUMN deadline INTEGER;
        ALTER TABLE users ADD COLUMN first_name TEXT;
        CREATE INDEX idx_quiz_sessions_deadline ON quiz_sessions(deadline) WHERE state = 'active';
        CREATE INDEX idx_quiz_answers_chat ON quiz_answers(chat_key, answered_at);
        """,
    )


def _m007_reports(db: sqlite_utils.Database) -> None:
    """Reports: who was seen in each chat, the indexes /stats reads by group, the weekly summary's claims
    (schema version 7).

    `chat_members` holds one row per chat and person who answered, wrote a reflection or checked in there
    (filled from what is stored, then kept by triggers on those three tables, so no write path changes),
    and `chat_member_counts` how many each chat has (kept by a trigger on chat_members, indexed).
    `weekly_reports` is one row per week (the Monday it began) and recipient, claimed before the send:
    the summary goes out once per week across restarts, as `deliveries` does for the push.

    Statement by statement inside the migration's transaction: a kill half-way leaves version 6.
    """
    script = """
        CREATE TABLE chat_members (
            chat_key TEXT NOT NULL,
            user_key TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            PRIMARY KEY (chat_key, user_key)
        ) WITHOUT ROWID;
        INSERT OR IGNORE INTO chat_members (chat_key, user_key, first_seen)
            SELECT chat_key, user_key, min(answered_at) FROM quiz_answers GROUP BY chat_key, user_key;
        INSERT OR IGNORE INTO chat_members (chat_key, user_key, first_seen)
            SELECT chat_key, user_key, min(created_at) FROM reflections GROUP BY chat_key, user_key;
        INSERT OR IGNORE INTO chat_members (chat_key, user_key, first_seen)
            SELECT chat_key, user_key, min(checked_at) FROM checkins GROUP BY chat_key, user_key;
        -- How many members each chat has seen, kept with chat_members: /stats ranks the groups by an index.
        CREATE TABLE chat_member_counts (
            chat_key TEXT PRIMARY KEY,
            members INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO chat_member_counts (chat_key, members)
            SELECT chat_key, count(*) FROM chat_members GROUP BY chat_key;
        CREATE INDEX idx_chat_member_counts ON chat_member_counts(members);
        CREATE TRIGGER trg_member_counts AFTER INSERT ON chat_members BEGIN
            INSERT INTO chat_member_counts (chat_key, members) VALUES (NEW.chat_key, 1)
            ON CONFLICT (chat_key) DO UPDATE SET members = members + 1;
        END;
        CREATE TRIGGER trg_members_answer AFTER INSERT ON quiz_answers BEGIN
            INSERT OR IGNORE INTO chat_members (chat_key, user_key, first_seen)
            VALUES (NEW.chat_key, NEW.user_key, NEW.answered_at);
        END;
        CREATE TRIGGER trg_members_reflection AFTER INSERT ON reflections BEGIN
            INSERT OR IGNORE INTO chat_members (chat_key, user_key, first_seen)
            VALUES (NEW.chat_key, NEW.user_key, NEW.created_at);
        END;
        CREATE TRIGGER trg_members_checkin AFTER INSERT ON checkins BEGIN
            INSERT OR IGNORE INTO chat_members (chat_key, user_key, first_seen)
            VALUES (NEW.chat_key, NEW.user_key, NEW.checked_at);
        END;
        -- A group's check-ins of a week, and the check-ins of every chat per study day (the chart).
        CREATE INDEX idx_checkins_chat_date ON checkins(chat_key, study_date, user_key);
        CREATE INDEX idx_checkins_date ON checkins(study_date, chat_key);
        -- A group's answers of a week: idx_quiz_answers_chat, made by migration 6. Accuracy by part of a
        -- course without reading the table:
        CREATE INDEX idx_quiz_answers_section ON quiz_answers(course_id, section_id, correct);
        CREATE TABLE weekly_reports (
            week TEXT NOT NULL,
            chat_key TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'claimed' CHECK (state IN ('claimed', 'sent', 'failed')),
            error TEXT,
            created_at INTEGER NOT NULL,
            sent_at INTEGER,
            PRIMARY KEY (week, chat_key)
        );
        """
    _in_transaction(db, script)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _m001_tables,
    _m002_indexes,
    _m003_study_marks,
    _m004_courses,
    _m005_checkins,
    _m006_quiz_rounds,
    _m007_reports,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    """The schema version recorded in meta (0 for a new or pre-migration file)."""
    if "meta" not in db.table_names():
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(
    db: sqlite_utils.Database, migrations: list[Callable[[sqlite_utils.Database], None]] | None = None
) -> int:
    """Apply the pending migrations in order, each in its own transaction; return the final version."""
    migrations = MIGRATIONS if migrations is None else migrations
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    while True:
        # BEGIN IMMEDIATE takes the write lock before reading the version, so two processes
        # starting together cannot both apply the same migration.
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(db)
            if version > len(migrations):
                raise RuntimeError(
                    f"database schema version {version} is newer than this StudyBot ({len(migrations)}); "
                    "upgrade StudyBot or use another STUDYBOT_DB"
                )
            if version == len(migrations):
                db.conn.execute("COMMIT")
                return version
            migrations[version](db)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [str(version + 1)],
            )
            db.conn.execute("COMMIT")
            logger.info("database migrated to schema version %d", version + 1)
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
