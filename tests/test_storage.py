"""Tests of bot.core.storage on real SQLite, in memory and in a temporary file."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import fsrs
import pytest
import sqlite_utils

from bot.core.storage import (
    EXPORT_FIELDS,
    MIGRATIONS,
    SCHEMA_VERSION,
    Storage,
    chat_key,
    migrate,
    robot_chat_key,
    schema_version,
)

T0 = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai
E0 = int(T0.timestamp())
DAY = 86400


class Clock:
    """A settable clock for Storage(clock=...)."""

    def __init__(self, now: int = E0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Storage:
    storage = Storage(":memory:", clock=clock, review_scheduler=fsrs.Scheduler(enable_fuzzing=False))
    yield storage
    assert not storage.db.conn.in_transaction  # every write committed before returning
    storage.close()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "studybot.db"


def subscribed_chat(store: Storage, key: str, next_due: int, chat_type: str = "private") -> None:
    """Create a chat and subscribe it at 08:00 with the given next_due."""
    channel = key.split(":", 1)[0]
    store.ensure_chat(key, channel, chat_type, title=key)
    store.subscribe(key, "08:00", T0, next_due)


# ------------------------------------------------------------------ opening, pragmas, migrations


def test_new_database_is_migrated(store: Storage) -> None:
    assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    assert schema_version(store.db) == SCHEMA_VERSION
    expected = {
        "meta", "chats", "deliveries", "users", "quiz_sessions", "quiz_answers", "review_cards",
        "reflections", "broadcasts", "broadcast_recipients",
    }  # fmt: skip
    assert expected <= set(store.db.table_names())
    assert "idx_chats_next_due" in {index.name for index in store.db["chats"].indexes}


def test_file_database_pragmas(db_file: Path) -> None:
    with Storage(db_file) as store:
        assert db_file.exists()  # the parent directory was created
        assert store.db.journal_mode == "wal"
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    # WAL is a property of the file: a fresh connection sees it too.
    conn = sqlite3.connect(db_file)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_synchronous_full_can_be_chosen(db_file: Path) -> None:
    with Storage(db_file, synchronous="full") as store:
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2
    with pytest.raises(ValueError):
        Storage(db_file, synchronous="fast")


def test_reopening_is_a_no_op(db_file: Path) -> None:
    with Storage(db_file) as store:
        store.ensure_chat("tg:1", "tg", "private")
        schema = store.db.schema
    with Storage(db_file) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.db.schema == schema
        assert store.get_chat("tg:1") is not None
        assert store.db.execute("SELECT count(*) FROM meta WHERE key = 'schema_version'").fetchone()[0] == 1


def test_upgrade_from_version_0(db_file: Path) -> None:
    # A file that exists but was never migrated (e.g. created by hand or by an old build).
    db_file.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_file)
    conn.execute("CREATE TABLE unrelated (x)")
    conn.commit()
    conn.close()
    with sqlite_utils.Database(db_file) as db:
        assert schema_version(db) == 0
    with Storage(db_file) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert "unrelated" in store.db.table_names()


def test_upgrade_from_version_1_keeps_data(db_file: Path) -> None:
    db_file.parent.mkdir(parents=True)
    db = sqlite_utils.Database(db_file)
    assert migrate(db, MIGRATIONS[:1]) == 1
    db.execute(
        "INSERT INTO chats (key, channel, chat_type, timezone, push_time, created_at, updated_at) "
        "VALUES ('tg:7', 'tg', 'private', 'Asia/Shanghai', '08:00', 1, 1)"
    )
    assert "idx_chats_next_due" not in {index.name for index in db["chats"].indexes}
    db.close()
    with Storage(db_file) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.get_chat("tg:7")["push_time"] == "08:00"
        assert "idx_chats_next_due" in {index.name for index in store.db["chats"].indexes}


def test_failed_migration_rolls_back(db_file: Path) -> None:
    db_file.parent.mkdir(parents=True)
    db = sqlite_utils.Database(db_file)

    def broken(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        migrate(db, [*MIGRATIONS, broken])
    assert schema_version(db) == SCHEMA_VERSION
    assert "half_done" not in db.table_names()
    db.close()


def test_newer_schema_is_refused(db_file: Path) -> None:
    with Storage(db_file) as store:
        store.db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(RuntimeError, match="newer than this StudyBot"):
        Storage(db_file)


def test_writes_are_committed_before_returning(db_file: Path) -> None:
    with Storage(db_file) as store:
        store.ensure_chat("tg:5", "tg", "private")
        store.subscribe("tg:5", "07:30", T0, E0 + 100)
        assert not store.db.conn.in_transaction
        other = sqlite3.connect(db_file)  # another connection sees it at once
        assert other.execute("SELECT push_time, next_due FROM chats WHERE key = 'tg:5'").fetchone() == (
            "07:30",
            E0 + 100,
        )
        other.close()


def test_usable_from_another_thread(store: Storage) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            store.ensure_chat("tg:9", "tg", "private")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert not errors
    assert store.get_chat("tg:9") is not None


def test_meta_values(store: Storage) -> None:
    assert store.get_meta("content") is None
    store.set_meta("content", "abc")
    store.set_meta("content", "def")
    assert store.get_meta("content") == "def"
    with pytest.raises(ValueError):
        store.set_meta("schema_version", "1")


# ------------------------------------------------------------------ chats


def test_keys() -> None:
    assert chat_key("tg", -100123) == "tg:-100123"
    with pytest.raises(ValueError):
        chat_key("irc", 1)
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-secret"
    key = robot_chat_key(url)
    assert key.startswith("robot:") and len(key) == len("robot:") + 12
    assert "693a91f6" not in key
    assert robot_chat_key("http://other-host/cgi-bin/webhook/send?key=693a91f6-secret") == key
    assert robot_chat_key(url.replace("secret", "other")) != key


def test_ensure_chat_inserts_then_refreshes_title(store: Storage, clock: Clock) -> None:
    row = store.ensure_chat(
        "tg:-1", "tg", "group", title="学习小组", timezone="Europe/Berlin", push_time="07:00"
    )
    assert row["subscribed"] == 0 and row["blocked"] == 0 and row["plan_pos"] == 0
    assert (row["timezone"], row["push_time"], row["next_due"]) == ("Europe/Berlin", "07:00", None)
    assert row["created_at"] == E0
    clock.now += 10
    row = store.ensure_chat("tg:-1", "tg", "group", title="新名字")
    assert row["title"] == "新名字" and row["updated_at"] == E0 + 10
    assert row["timezone"] == "Europe/Berlin"  # settings are not reset
    assert store.ensure_chat("tg:-1", "tg", "group")["title"] == "新名字"  # None keeps the title
    with pytest.raises(ValueError):
        store.ensure_chat("x:1", "x", "private")
    with pytest.raises(ValueError):
        store.ensure_chat("tg:1", "tg", "forum")


def test_subscription_lifecycle_keeps_next_due_invariant(store: Storage) -> None:
    store.ensure_chat("tg:1", "tg", "private")
    store.set_time("tg:1", "09:00", E0 + 5)  # not subscribed: next_due stays NULL
    assert store.get_chat("tg:1")["next_due"] is None
    assert store.get_chat("tg:1")["push_time"] == "09:00"
    store.subscribe("tg:1", "7:30", T0, E0 + 10)  # normalized to HH:MM
    chat = store.get_chat("tg:1")
    assert (chat["subscribed"], chat["push_time"], chat["next_due"]) == (1, "07:30", E0 + 10)
    store.set_time("tg:1", "06：00", E0 + 20)
    assert store.get_chat("tg:1")["push_time"] == "06:00"
    with pytest.raises(ValueError):
        store.set_time("tg:1", "25:00", E0)
    assert store.get_chat("tg:1")["next_due"] == E0 + 20
    store.set_timezone("tg:1", "America/New_York", E0 + 30)
    assert store.get_chat("tg:1")["timezone"] == "America/New_York"
    with pytest.raises(KeyError):
        store.set_timezone("tg:1", "No/Where", E0)
    assert store.mark_blocked("tg:1")
    assert store.get_chat("tg:1")["next_due"] is None
    assert not store.set_next_due("tg:404", E0)
    store.set_next_due("tg:1", E0 + 40)  # blocked: ignored
    assert store.get_chat("tg:1")["next_due"] is None
    assert store.unblock("tg:1", E0 + 50)
    assert store.get_chat("tg:1")["next_due"] == E0 + 50
    assert store.unsubscribe("tg:1")
    chat = store.get_chat("tg:1")
    assert (chat["subscribed"], chat["next_due"]) == (0, None)
    assert not store.unsubscribe("tg:404")
    with pytest.raises(KeyError):
        store.subscribe("tg:404", "08:00", T0, E0)


def test_next_due_accepts_datetimes(store: Storage) -> None:
    subscribed_chat(store, "tg:1", T0 + timedelta(hours=1))
    assert store.get_chat("tg:1")["next_due"] == E0 + 3600
    store.set_next_due("tg:1", datetime(2024, 5, 1, 9, 0))  # naive = UTC
    assert store.get_chat("tg:1")["next_due"] == E0 + 9 * 3600
    assert [row["key"] for row in store.due_chats(T0 + timedelta(hours=9))] == ["tg:1"]


def test_due_chats_ordered_bounded_and_filtered(store: Storage) -> None:
    for i, offset in enumerate([50, 10, 30, 20, 40, 999]):
        subscribed_chat(store, f"tg:{i}", E0 + offset)
    store.ensure_chat("tg:100", "tg", "private")  # never subscribed
    subscribed_chat(store, "tg:101", E0)
    store.mark_blocked("tg:101")
    subscribed_chat(store, "tg:102", E0)
    store.unsubscribe("tg:102")
    due = store.due_chats(E0 + 45)
    assert [row["key"] for row in due] == ["tg:1", "tg:3", "tg:2", "tg:4"]
    assert [row["next_due"] for row in store.due_chats(E0 + 45, limit=2)] == [E0 + 10, E0 + 20]
    assert store.due_chats(E0) == []


def test_due_query_uses_the_index(store: Storage) -> None:
    plan = " | ".join(
        row["detail"]
        for row in store.db.query(
            "EXPLAIN QUERY PLAN SELECT * FROM chats WHERE next_due <= ? AND subscribed = 1 AND blocked = 0 "
            "ORDER BY next_due LIMIT ?",
            [E0, 10],
        )
    )
    assert "USING INDEX idx_chats_next_due (next_due<?)" in plan
    assert "TEMP B-TREE" not in plan  # ORDER BY comes from the index, no sort


def test_100k_chats(store: Storage) -> None:
    rows = (
        {
            "key": f"tg:{i}",
            "channel": "tg",
            "chat_type": "private" if i % 10 else "group",
            "timezone": "Asia/Shanghai",
            "push_time": "08:00",
            "subscribed": int(i % 7 != 0),
            "blocked": 0,
            "plan_pos": 0,
            "next_due": E0 + (i * 7919) % 86400 if i % 7 != 0 else None,
            "created_at": E0,
            "updated_at": E0,
            "plan_done": 0,
        }
        for i in range(100_000)
    )
    store.db["chats"].insert_all(rows, batch_size=1000)
    assert store.db["chats"].count == 100_000
    due = store.due_chats(E0 + 3600, limit=1000)
    assert len(due) == 1000
    assert [row["next_due"] for row in due] == sorted(row["next_due"] for row in due)
    assert all(row["next_due"] <= E0 + 3600 and row["subscribed"] == 1 for row in due)
    expected_due = sum(1 for i in range(100_000) if i % 7 and (i * 7919) % 86400 <= 3600)
    assert len(store.due_chats(E0 + 3600, limit=100_000)) == expected_due
    subscribed = sum(1 for i in range(100_000) if i % 7)
    counts = store.count_subscribed()
    assert sum(counts.values()) == subscribed
    assert counts[("tg", "group")] == sum(1 for i in range(0, 100_000, 10) if i % 7)
    assert len(store.subscribed_chats(channel="tg", chat_type="group")) == counts[("tg", "group")]


def test_subscribed_chats_and_counts(store: Storage) -> None:
    subscribed_chat(store, "tg:1", E0)
    subscribed_chat(store, "tg:-2", E0, chat_type="group")
    subscribed_chat(store, "robot:abc", E0, chat_type="robot")
    subscribed_chat(store, "tg:3", E0)
    store.mark_blocked("tg:3")
    assert {row["key"] for row in store.subscribed_chats()} == {"tg:1", "tg:-2", "robot:abc"}
    assert [row["key"] for row in store.subscribed_chats(channel="robot")] == ["robot:abc"]
    assert store.count_subscribed() == {("tg", "private"): 1, ("tg", "group"): 1, ("robot", "robot"): 1}


# ------------------------------------------------------------------ deliveries


def test_claim_once_per_local_date(store: Storage) -> None:
    subscribed_chat(store, "tg:1", E0)
    assert store.claim_delivery("tg:1", date(2024, 5, 1), 1, False, T0)
    assert not store.claim_delivery("tg:1", "2024-05-01", 1, False, T0)  # a second tick
    assert not store.claim_delivery("tg:1", "2024-05-01", 2, True, T0 + timedelta(hours=1))
    assert store.claim_delivery("tg:1", "2024-05-02", 2, False, T0 + timedelta(days=1))
    assert [row["lesson_day"] for row in store.deliveries_on("2024-05-01")] == [1]


def test_claim_survives_reopening(db_file: Path) -> None:
    with Storage(db_file) as store:
        subscribed_chat(store, "tg:1", E0)
        assert store.claim_delivery("tg:1", "2024-05-01", 1, False, T0)
    with Storage(db_file) as store:  # a restart the same day
        assert not store.claim_delivery("tg:1", "2024-05-01", 1, True, T0 + timedelta(hours=2))
        assert [row["local_date"] for row in store.claimed_unsent()] == ["2024-05-01"]
        store.complete_delivery("tg:1", "2024-05-01", None, E0 + DAY, 1, T0)
        assert store.claimed_unsent() == []
    with Storage(db_file) as store:
        assert not store.claim_delivery("tg:1", "2024-05-01", 1, True, T0 + timedelta(hours=3))


def test_complete_delivery_advances_the_chat(store: Storage) -> None:
    subscribed_chat(store, "tg:1", E0)
    store.claim_delivery("tg:1", "2024-05-01", 1, False, T0)
    store.complete_delivery("tg:1", "2024-05-01", 555, E0 + DAY, 1, T0 + timedelta(seconds=3))
    chat = store.get_chat("tg:1")
    assert (chat["plan_pos"], chat["last_local_date"], chat["next_due"], chat["plan_done"]) == (
        1, "2024-05-01", E0 + DAY, 0,
    )  # fmt: skip
    delivery = store.last_delivery("tg:1")
    assert (delivery["state"], delivery["message_id"], delivery["sent_at"]) == ("sent", "555", E0 + 3)
    assert store.lesson_day_for_message("tg:1", 555) == 1
    assert store.lesson_day_for_message("tg:1", "556") is None
    assert store.due_chats(E0 + 10) == []
    store.claim_delivery("tg:1", "2024-05-02", 2, False, T0 + timedelta(days=1))
    store.complete_delivery("tg:1", "2024-05-02", "560", None, 2, T0 + timedelta(days=1), plan_done=True)
    chat = store.get_chat("tg:1")
    assert (chat["plan_pos"], chat["plan_done"], chat["next_due"]) == (2, 1, None)
    assert store.last_delivery("tg:1")["lesson_day"] == 2


def test_complete_without_claim_changes_nothing(store: Storage) -> None:
    subscribed_chat(store, "tg:1", E0)
    with pytest.raises(KeyError):
        store.complete_delivery("tg:1", "2024-05-01", 1, E0 + DAY, 5, T0)
    assert store.get_chat("tg:1")["plan_pos"] == 0
    assert not store.db.conn.in_transaction


def test_failed_delivery_can_be_claimed_again(store: Storage) -> None:
    subscribed_chat(store, "tg:1", E0)
    assert store.claim_delivery("tg:1", "2024-05-01", 1, False, T0)
    store.fail_delivery("tg:1", "2024-05-01", "timeout", T0, next_due=E0 + 300)
    assert store.get_chat("tg:1")["next_due"] == E0 + 300
    assert store.claimed_unsent() == []
    assert store.claim_delivery("tg:1", "2024-05-01", 1, False, T0 + timedelta(minutes=5))
    row = store.deliveries_on("2024-05-01")[0]
    assert (row["state"], row["attempts"], row["error"]) == ("claimed", 2, None)
    assert not store.claim_delivery("tg:1", "2024-05-01", 1, False, T0 + timedelta(minutes=6))


def test_claimed_unsent_by_chat(store: Storage) -> None:
    subscribed_chat(store, "tg:1", E0)
    subscribed_chat(store, "tg:2", E0)
    store.claim_delivery("tg:1", "2024-05-01", 1, False, T0)
    store.claim_delivery("tg:2", "2024-05-01", 1, False, T0)
    assert [row["chat_key"] for row in store.claimed_unsent("tg:2")] == ["tg:2"]
    assert len(store.claimed_unsent()) == 2


# ------------------------------------------------------------------ quiz


def test_one_active_quiz_per_chat(store: Storage, clock: Clock) -> None:
    first = store.start_quiz("tg:-1", "tg:10", ["q1", "q2"], T0)
    assert first is not None
    assert store.start_quiz("tg:-1", "tg:11", ["q3"], T0) is None
    other = store.start_quiz("tg:-2", "tg:11", ["q3"], T0)
    assert other is not None and other != first
    session = store.active_quiz("tg:-1")
    assert session["id"] == first and session["question_ids"] == ["q1", "q2"] and session["kind"] == "quiz"
    # The partial unique index enforces it even for SQL that bypasses start_quiz.
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute(
            "INSERT INTO quiz_sessions (chat_key, user_key, question_ids, state, created_at, updated_at) "
            "VALUES ('tg:-1', 'tg:12', '[]', 'active', 0, 0)"
        )
    assert store.finish_quiz(first)
    assert not store.finish_quiz(first)
    assert store.get_quiz(first)["state"] == "done"
    assert store.active_quiz("tg:-1") is None
    assert store.start_quiz("tg:-1", "tg:11", ["q3"], T0) is not None


def test_stale_quiz_is_replaced(store: Storage) -> None:
    first = store.start_quiz("tg:-1", "tg:10", ["q1"], E0)
    assert store.start_quiz("tg:-1", "tg:10", ["q1"], E0 + 3599) is None
    second = store.start_quiz("tg:-1", "tg:10", ["q2"], E0 + 3601)
    assert second is not None
    assert store.get_quiz(first)["state"] == "cancelled"
    assert store.start_quiz("tg:-1", "tg:10", ["q1"], E0 + 99_999, stale_after=None) is None


def test_a_session_whose_poll_never_arrived_is_replaced(store: Storage) -> None:
    # A kill between the session and its first poll: no poll_id was ever recorded.
    lost = store.start_quiz("tg:7", "tg:7", ["q1"], E0)
    assert store.start_quiz("tg:7", "tg:7", ["q1"], E0 + 119, unsent_after=120) is None
    assert store.start_quiz("tg:7", "tg:7", ["q2"], E0 + 121, unsent_after=120) is not None
    assert store.get_quiz(lost)["state"] == "cancelled"
    # A session whose poll arrived is left alone however long its question is thought over (the hour rule).
    shown = store.start_quiz("tg:8", "tg:8", ["q1"], E0)
    store.db.execute("UPDATE quiz_sessions SET poll_id = 'p', updated_at = ? WHERE id = ?", [E0, shown])
    assert store.start_quiz("tg:8", "tg:8", ["q2"], E0 + 600, unsent_after=120) is None


def test_answers_polls_and_results(store: Storage) -> None:
    store.ensure_user("tg:10", "小王")
    store.ensure_user("tg:11", "小李")
    session = store.start_quiz("tg:-1", "tg:10", ["q1", "q2"], T0)
    store.set_quiz_poll(session, "poll-1", 77)
    assert store.quiz_by_poll("poll-1")["id"] == session
    assert store.quiz_by_poll("poll-1")["poll_message_id"] == "77"
    assert store.quiz_by_poll("nope") is None
    assert store.record_answer(session, "tg:-1", "tg:10", "q1", "1", 0, True, T0)
    assert not store.record_answer(session, "tg:-1", "tg:10", "q1", "1", 2, False, T0)  # duplicate
    assert store.record_answer(session, "tg:-1", "tg:11", "q1", "1", 2, False, T0)
    # Two answers to one group poll: only the first advance moves the quiz on.
    assert store.advance_quiz(session, expected_position=0) == 1
    assert store.advance_quiz(session, expected_position=0) is None
    store.set_quiz_poll(session, "poll-2", 78)
    assert store.record_answer(session, "tg:-1", "tg:10", "q2", "3", 1, True, T0)
    assert store.record_answer(session, "tg:-1", "tg:11", "q2", "3", 1, True, T0)
    assert store.get_quiz(session)["correct"] == 3
    assert store.quiz_results(session) == [
        {"user_key": "tg:10", "name": "小王", "correct": 2, "total": 2},
        {"user_key": "tg:11", "name": "小李", "correct": 1, "total": 2},
    ]
    store.finish_quiz(session)
    assert store.advance_quiz(session) is None  # not active any more
    assert store.quiz_by_poll("poll-2")["state"] == "done"


def test_a_round_paused_at_an_unsent_question_resumes_once(store: Storage) -> None:
    session = store.start_quiz("tg:-1", "tg:10", ["q1", "q2"], E0)
    store.set_quiz_poll(session, "poll-1", 77)
    assert store.advance_quiz(session, expected_position=0) == 1
    assert store.quiz_by_poll("poll-1") is None  # a late answer to question 1 finds no round
    assert store.get_quiz(session)["poll_id"] is None
    assert not store.resume_quiz(session, E0)  # active: nothing to resume
    assert store.finish_quiz(session, cancelled=True)  # question 2 could not be sent
    other = store.start_quiz("tg:-1", "tg:11", ["q3"], E0 + 10)
    assert not store.resume_quiz(session, E0 + 20)  # the chat has another round now
    store.finish_quiz(other)
    assert not store.resume_quiz(session, E0 + 3601)  # left too long
    assert store.resume_quiz(session, E0 + 30)
    assert store.active_quiz("tg:-1")["position"] == 1
    assert not store.resume_quiz(session, E0 + 40)
    store.set_quiz_poll(session, "poll-2", 78)
    store.finish_quiz(session, cancelled=True)  # ⏹ after question 2 arrived: not resumable
    assert not store.resume_quiz(session, E0 + 50)


def test_users(store: Storage, clock: Clock) -> None:
    assert store.get_user("tg:1") is None
    assert store.ensure_user("tg:1")["name"] is None
    assert store.ensure_user("tg:1", "甲")["name"] == "甲"
    assert store.ensure_user("tg:1")["name"] == "甲"
    assert store.get_user("tg:1")["created_at"] == E0


# ------------------------------------------------------------------ review cards (FSRS)


def test_wrong_answers_land_in_review(store: Storage) -> None:
    session = store.start_quiz("tg:1", "tg:1", ["q1", "q2"], T0)
    store.record_answer(session, "tg:1", "tg:1", "q1", "1", 0, True, T0)  # right: no card
    store.record_answer(session, "tg:1", "tg:1", "q2", "1", 3, False, T0)  # wrong: a card
    assert store.count_reviews("tg:1", T0 + timedelta(days=1)) == (1, 1)
    due = store.due_reviews("tg:1", T0 + timedelta(minutes=15))
    assert [row["question_id"] for row in due] == ["q2"]
    assert due[0]["lapses"] == 1 and due[0]["reviews"] == 1
    assert E0 < due[0]["due"] <= E0 + 15 * 60  # a short learning step, not tomorrow
    assert store.due_reviews("tg:2", T0 + timedelta(days=1)) == []


def test_early_review_is_rated_at_its_real_time(store: Storage) -> None:
    store.record_review("tg:1", "q1", False, T0)
    store.record_review("tg:1", "q2", False, T0 + timedelta(seconds=30))
    assert store.due_reviews("tg:1", T0 + timedelta(seconds=40)) == []
    assert [r["question_id"] for r in store.next_reviews("tg:1")] == ["q1", "q2"]  # soonest first
    assert store.next_reviews("tg:2") == []
    first_due = store.next_reviews("tg:1")[0]["due"]
    right = store.record_review("tg:1", "q1", True, T0 + timedelta(seconds=40))  # before it is due
    assert right["due"] > first_due and right["reviews"] == 2 and right["lapses"] == 1
    card = fsrs.Card.from_json(right["card"])
    assert card.last_review == T0 + timedelta(seconds=40)
    wrong = store.record_review("tg:1", "q2", False, T0 + timedelta(seconds=50))
    assert wrong["due"] - (E0 + 50) <= 15 * 60 and wrong["lapses"] == 2  # a lapse stays soon


def test_fsrs_review_scheduling(store: Storage) -> None:
    now = T0
    store.record_review("tg:1", "q1", False, now)
    intervals = []
    for _ in range(4):
        card = store.db["review_cards"].get(("tg:1", 1, "q1"))
        now = datetime.fromtimestamp(card["due"], UTC)  # review exactly when due
        row = store.record_review("tg:1", "q1", True, now)
        intervals.append(row["due"] - int(now.timestamp()))
    assert intervals == sorted(intervals) and intervals[-1] > intervals[0]
    assert intervals[-1] >= DAY  # graduated to day-scale intervals
    assert (
        fsrs.Card.from_json(store.db["review_cards"].get(("tg:1", 1, "q1"))["card"]).state
        == fsrs.State.Review
    )
    assert store.due_reviews("tg:1", now) == []
    # A lapse brings it back soon and is counted.
    row = store.record_review("tg:1", "q1", False, now + timedelta(days=30))
    assert row["lapses"] == 2
    assert row["due"] - int((now + timedelta(days=30)).timestamp()) < DAY


def test_due_reviews_order_and_limit(store: Storage) -> None:
    for i, question in enumerate(["a", "b", "c"]):
        store.record_review("tg:1", question, False, T0 + timedelta(seconds=10 * (2 - i)))
    due = store.due_reviews("tg:1", T0 + timedelta(days=1), limit=2)
    assert [row["question_id"] for row in due] == ["c", "b"]


def test_answer_to_a_question_under_review_reschedules_it(store: Storage) -> None:
    store.record_review("tg:1", "q1", False, T0)
    session = store.start_quiz("tg:1", "tg:1", ["q1"], T0, kind="review")
    store.record_answer(session, "tg:1", "tg:1", "q1", "1", 0, True, T0 + timedelta(minutes=2))
    card = store.db["review_cards"].get(("tg:1", 1, "q1"))
    assert card["reviews"] == 2 and card["lapses"] == 1


# ------------------------------------------------------------------ reflections, stats, export


def test_reflections(store: Storage) -> None:
    first = store.add_reflection("tg:1", "tg:1", 3, "学习体会一", T0, message_id=9)
    second = store.add_reflection("tg:1", "tg:1", None, "体会二", T0 + timedelta(seconds=1))
    assert second > first
    rows = store.reflections_of("tg:1")
    assert [row["text"] for row in rows] == ["体会二", "学习体会一"]
    assert rows[1]["message_id"] == "9" and rows[1]["lesson_day"] == 3


def test_user_stats_streaks_across_days(store: Storage) -> None:
    tz = "Asia/Shanghai"
    subscribed_chat(store, "tg:1", E0)
    for day in ("2024-05-01", "2024-05-02", "2024-05-03"):
        store.claim_delivery("tg:1", day, 1, False, T0)
        store.complete_delivery("tg:1", day, None, E0 + DAY, 1, T0)
    store.claim_delivery("tg:1", "2024-05-09", 1, False, T0)
    store.fail_delivery("tg:1", "2024-05-09", "boom", T0)  # a failed push is not a studied day
    session = store.start_quiz("tg:1", "tg:1", ["q1", "q2"], T0)
    # 17:30 UTC on May 4 is 01:30 on May 5 in Shanghai: it counts for May 5.
    store.record_answer(session, "tg:1", "tg:1", "q1", "1", 0, True, datetime(2024, 5, 4, 17, 30, tzinfo=UTC))
    store.record_answer(session, "tg:1", "tg:1", "q2", "2", 1, False, datetime(2024, 5, 5, 3, 0, tzinfo=UTC))
    store.add_reflection("tg:-5", "tg:1", 2, "心得", datetime(2024, 5, 6, 2, 0, tzinfo=UTC))  # in a group

    stats = store.user_stats("tg:1", date(2024, 5, 6), tz)
    assert stats == {
        "days_studied": 5,
        "studied_today": True,
        "current_streak": 2,
        "best_streak": 3,
        "answered": 2,
        "correct": 1,
        "accuracy": 0.5,
        "reflections": 1,
    }
    # Not studied yet today: yesterday's streak still stands; a day later it is broken.
    assert store.user_stats("tg:1", date(2024, 5, 7), tz)["current_streak"] == 2
    assert store.user_stats("tg:1", date(2024, 5, 8), tz)["current_streak"] == 0
    # In UTC the first answer falls on May 4, joining the May 1-3 run.
    utc = store.user_stats("tg:1", date(2024, 5, 6), "UTC")
    assert utc["best_streak"] == 6 and utc["current_streak"] == 6
    empty = store.user_stats("tg:404", date(2024, 5, 6), tz)
    assert (empty["days_studied"], empty["current_streak"], empty["accuracy"]) == (0, 0, None)


def test_global_stats(store: Storage) -> None:
    subscribed_chat(store, "tg:1", E0)
    subscribed_chat(store, "tg:-2", E0, chat_type="group")
    store.ensure_user("tg:1", "甲")
    store.claim_delivery("tg:1", "2024-05-01", 1, False, T0)
    store.complete_delivery("tg:1", "2024-05-01", 1, E0 + DAY, 1, T0)
    store.claim_delivery("tg:-2", "2024-04-30", 1, False, T0 - timedelta(days=1))
    store.complete_delivery("tg:-2", "2024-04-30", 1, E0, 1, T0 - timedelta(days=1))  # yesterday
    session = store.start_quiz("tg:-2", "tg:1", ["q1", "q2"], T0)
    store.record_answer(session, "tg:-2", "tg:1", "q1", "1", 0, True, T0)
    store.record_answer(session, "tg:-2", "tg:3", "q1", "1", 1, False, T0)
    store.record_answer(session, "tg:-2", "tg:3", "q2", "2", 1, True, T0 - timedelta(days=2))
    store.add_reflection("tg:1", "tg:4", 1, "好", T0 + timedelta(hours=3))
    stats = store.global_stats(T0 + timedelta(hours=4), "Asia/Shanghai")
    assert stats["date"] == "2024-05-01"
    assert stats["subscribers"] == {("tg", "private"): 1, ("tg", "group"): 1}
    assert stats["subscribers_total"] == 2
    assert stats["active_today"] == 3  # tg:1, tg:3 (quiz) and tg:4 (reflection)
    assert stats["lessons_sent_today"] == 1
    assert stats["quiz_by_section"] == {
        "1": {"answered": 2, "correct": 1, "accuracy": 0.5},
        "2": {"answered": 1, "correct": 1, "accuracy": 1.0},
    }
    assert (stats["users_total"], stats["reflections_total"], stats["answers_total"]) == (1, 1, 3)


def test_export_rows(store: Storage) -> None:
    store.ensure_user("tg:1", "甲")
    store.add_reflection("tg:1", "tg:1", 2, "体会, 含逗号", T0 + timedelta(seconds=5))
    session = store.start_quiz("tg:1", "tg:1", ["q1", "q2", "q3"], T0)
    store.record_answer(session, "tg:1", "tg:1", "q1", "1", 0, True, T0)
    store.record_answer(session, "tg:1", "tg:1", "q2", "3", 2, False, T0 + timedelta(seconds=10))
    store.record_answer(session, "tg:1", "tg:2", "q2", "3", 1, True, T0 + timedelta(seconds=10))
    store.add_reflection("tg:1", "tg:2", None, "二", T0 + timedelta(seconds=20))
    rows = list(store.export_rows(batch=1))  # tiny batches exercise the pagination
    assert all(tuple(row) == EXPORT_FIELDS for row in rows)
    assert [(row["kind"], row["user"], row["text_or_question"]) for row in rows] == [
        ("quiz_answer", "tg:1", "q1"),
        ("reflection", "tg:1", "体会, 含逗号"),
        ("quiz_answer", "tg:1", "q2"),
        ("quiz_answer", "tg:2", "q2"),
        ("reflection", "tg:2", "二"),
    ]
    assert rows[0] == {
        "kind": "quiz_answer",
        "time": "2024-05-01T00:00:00+00:00",
        "chat": "tg:1",
        "user": "tg:1",
        "user_name": "甲",
        "section_or_lesson": "1",
        "text_or_question": "q1",
        "answer": 0,
        "correct": 1,
    }
    assert rows[1]["section_or_lesson"] == "2" and rows[1]["answer"] == "" and rows[1]["correct"] == ""
    assert rows[4]["section_or_lesson"] == "" and rows[4]["user_name"] == ""
    with Storage(":memory:") as empty:
        assert list(empty.export_rows()) == []


# ------------------------------------------------------------------ broadcasts


def test_broadcast_preview_start_is_idempotent(store: Storage) -> None:
    broadcast = store.create_broadcast("tg:1", "通知", T0)
    assert store.get_broadcast(broadcast)["state"] == "preview"
    store.set_preview_message(broadcast, 11)
    store.set_progress_message(broadcast, "tg:1", 12)
    assert store.unfinished_broadcasts() == []
    assert store.start_broadcast(broadcast, ["tg:1", "tg:2", "tg:2", "robot:x"], T0)
    assert not store.start_broadcast(broadcast, ["tg:3"], T0)  # a double confirm
    row = store.get_broadcast(broadcast)
    assert (row["state"], row["started_at"], row["preview_message_id"]) == ("sending", E0, "11")
    assert (row["progress_chat"], row["progress_message_id"]) == ("tg:1", "12")
    assert store.broadcast_counts(broadcast) == {
        "pending": 3,
        "sending": 0,
        "sent": 0,
        "blocked": 0,
        "failed": 0,
    }
    # (position, key, chat type): these keys have no chat row, which the runner reports as failed.
    assert store.pending_page(broadcast, 0, 10) == [
        (1, "tg:1", None),
        (2, "tg:2", None),
        (3, "robot:x", None),
    ]
    assert [b["id"] for b in store.unfinished_broadcasts()] == [broadcast]


def test_broadcast_resume_after_crash(db_file: Path) -> None:
    keys = [f"tg:{i}" for i in range(10)]
    with Storage(db_file) as store:
        for key in keys:
            subscribed_chat(store, key, E0)
        broadcast = store.create_broadcast("tg:0", "通知", T0)
        store.start_broadcast(broadcast, [row["key"] for row in store.subscribed_chats()], T0)
        batch = [key for _, key, _ in store.pending_page(broadcast, 0, 4)]
        assert batch == keys[:4]
        for key in batch:
            store.mark_sending(broadcast, key)
        store.record_outcomes(
            broadcast, [("tg:0", "sent", None), ("tg:1", "blocked", "Forbidden: bot was blocked by the user")]
        )
        # ... killed here, with tg:2 and tg:3 in flight.
        page = store.pending_page(broadcast, 0, 4)
        assert [key for _, key, _ in page] == keys[4:8]
        # Keyset paging: the next page starts after the last one, whatever has been sent meanwhile.
        assert [key for _, key, _ in store.pending_page(broadcast, page[-1][0], 100)] == keys[8:]
    with Storage(db_file) as store:
        assert [b["id"] for b in store.unfinished_broadcasts()] == [broadcast]
        assert store.broadcast_counts(broadcast)["sending"] == 2
        assert store.reset_inflight(broadcast) == 2
        assert store.reset_inflight() == 0
        pending = [key for _, key, _ in store.pending_page(broadcast, 0, 100)]
        assert pending == keys[2:]  # nobody skipped, nobody sent twice
        for key in pending:
            store.mark_sending(broadcast, key)
            store.mark_sending(broadcast, key)  # a retry of the same send counts once
        store.record_outcomes(
            broadcast,
            [(key, "failed", "Bad Request") if key == "tg:9" else (key, "sent", None) for key in pending],
        )
        with pytest.raises(ValueError, match="unknown recipient state 'done'"):
            store.record_outcomes(broadcast, [("tg:2", "sent", None), ("tg:3", "done", None)])
        assert store.broadcast_counts(broadcast)["sent"] == 8  # the bad batch wrote nothing
        counts = store.broadcast_counts(broadcast)
        assert counts == {"pending": 0, "sending": 0, "sent": 8, "blocked": 1, "failed": 1}
        assert store.get_chat("tg:1")["blocked"] == 1  # the 403 marked the chat
        recipient = store.db["broadcast_recipients"].get((broadcast, "tg:2"))
        assert recipient["attempts"] == 2
        assert store.finish_broadcast(broadcast, T0)
        assert not store.finish_broadcast(broadcast, T0)
        assert store.unfinished_broadcasts() == []
        assert store.get_broadcast(broadcast)["state"] == "done"


def test_cancel_broadcast(store: Storage) -> None:
    broadcast = store.create_broadcast("tg:1", "通知", T0)
    assert store.cancel_broadcast(broadcast, T0)
    assert not store.cancel_broadcast(broadcast, T0)
    assert not store.start_broadcast(broadcast, ["tg:1"], T0)
    assert store.get_broadcast(broadcast)["state"] == "cancelled"
    with pytest.raises(ValueError):
        store.record_outcomes(broadcast, [("tg:1", "delivered", None)])


# ------------------------------------------------------------------ group -> supergroup migration


def test_migrate_chat_moves_row_and_history(store: Storage) -> None:
    old, new = "tg:-123", "tg:-100123"
    store.ensure_chat(old, "tg", "group", title="支部")
    store.subscribe(old, "07:00", T0, E0 + 60)
    store.claim_delivery(old, "2024-05-01", 1, False, T0)
    store.complete_delivery(old, "2024-05-01", 5, E0 + DAY, 1, T0)
    store.add_reflection(old, "tg:7", 1, "体会", T0)
    session = store.start_quiz(old, "tg:7", ["q1"], T0)
    store.record_answer(session, old, "tg:7", "q1", "1", 0, True, T0)
    broadcast = store.create_broadcast("tg:1", "通知", T0)
    store.start_broadcast(broadcast, [old], T0)

    moved = store.migrate_chat(old, new)
    assert moved["key"] == new and moved["chat_type"] == "supergroup" and moved["title"] == "支部"
    assert (moved["subscribed"], moved["push_time"], moved["plan_pos"], moved["next_due"]) == (
        1,
        "07:00",
        1,
        E0 + DAY,
    )
    old_row = store.get_chat(old)
    assert (old_row["migrated_to"], old_row["subscribed"], old_row["next_due"]) == (new, 0, None)
    assert store.resolve_chat_key(old) == new
    assert store.resolve_chat_key(new) == new
    assert store.last_delivery(new)["lesson_day"] == 1
    assert not store.claim_delivery(new, "2024-05-01", 2, False, T0)  # the day stays claimed
    assert store.active_quiz(new)["id"] == session
    assert store.reflections_of("tg:7")[0]["chat_key"] == new
    assert [key for _, key, _ in store.pending_page(broadcast, 0, 10)] == [new]
    assert [row["key"] for row in store.subscribed_chats()] == [new]
    assert [row["key"] for row in store.due_chats(E0 + DAY)] == [new]
    assert store.migrate_chat(old, new)["key"] == new  # idempotent
    assert store.migrate_chat("tg:-404", "tg:-100404") is None


def test_migrate_into_an_auto_created_supergroup(store: Storage) -> None:
    old, new = "tg:-1", "tg:-1001"
    store.ensure_chat(old, "tg", "group", title="旧")
    store.subscribe(old, "06:30", T0, E0 + 60)
    store.ensure_chat(new, "tg", "supergroup", title="新")  # a message from the new id came first
    moved = store.migrate_chat(old, new)
    assert (moved["title"], moved["subscribed"], moved["push_time"], moved["next_due"]) == (
        "新",
        1,
        "06:30",
        E0 + 60,
    )


def test_a_migrated_group_takes_its_course_members_and_reminder_along(store: Storage) -> None:
    old, new = "tg:-7", "tg:-1007"
    store.ensure_chat(old, "tg", "group", title="支部")
    course, _ = store.add_course("第二门课的讲话。" * 20, "第二门课", "upload", T0, publish="finished")
    assert store.switch_course(old, course, T0)  # not subscribed: only its course and its reminder
    store.set_reminder(old, "20:30", E0 + 3600)
    store.check_in("tg:7", old, date(2024, 5, 1), T0)
    store.add_reflection(old, "tg:8", 1, "体会", T0 + timedelta(hours=1))
    store.ensure_chat(new, "tg", "supergroup", title="支部")  # a message from the new id came first
    store.add_reflection(new, "tg:8", 1, "新群里的体会", T0 + timedelta(hours=2))
    moved = store.migrate_chat(old, new)
    assert (moved["course_id"], moved["remind_at"], moved["remind_next_due"]) == (course, "20:30", E0 + 3600)
    members = store.db.execute("SELECT chat_key, user_key, first_seen FROM chat_members ORDER BY user_key")
    assert members.fetchall() == [(new, "tg:7", E0), (new, "tg:8", E0 + 3600)]  # the earlier first_seen
    counts = store.db.execute("SELECT chat_key, members FROM chat_member_counts").fetchall()
    assert counts == [(new, 2)]
    # Telegram's second notice (migrate_from_chat_id) after the new group turned its reminder off:
    # what was written under the old id meanwhile moves, the state stays as it is now.
    store.set_reminder(new, None, None)
    store.add_reflection(old, "tg:9", 1, "迟到的体会", T0 + timedelta(hours=3))
    again = store.migrate_chat(old, new)
    assert again["remind_at"] is None and again["course_id"] == course
    assert store.db.execute("SELECT count(*) FROM reflections WHERE chat_key = ?", [old]).fetchone()[0] == 0
    assert store.db.execute(
        "SELECT members FROM chat_member_counts WHERE chat_key = ?", [new]
    ).fetchone() == (3,)


def test_a_migration_that_fails_half_way_leaves_the_file_as_it_was(tmp_path) -> None:
    """Statements of a migration run inside its transaction (not executescript, which commits first)."""
    import sqlite_utils

    from bot.core.storage.schema import MIGRATIONS, _in_transaction, migrate, schema_version

    db = sqlite_utils.Database(tmp_path / "half.db")
    migrate(db, MIGRATIONS[:3])

    def broken(db) -> None:
        _in_transaction(db, "CREATE TABLE half_done (x INTEGER);\nALTER TABLE chats ADD COLUMN half INTEGER;")
        raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError):
        migrate(db, [*MIGRATIONS[:3], broken])
    assert schema_version(db) == 3
    assert "half_done" not in db.table_names() and "half" not in db["chats"].columns_dict
    assert migrate(db, MIGRATIONS) == len(MIGRATIONS)  # and the real one applies afterwards
