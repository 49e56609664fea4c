"""`studybot backup PATH`: a consistent copy of the database, made while a real `studybot run` sends a
broadcast; the bot is not disturbed and the copy opens as a whole database."""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest
from botapi_standin import BotAPIStandin
from processes import (
    ADMIN,
    STUDYBOT,
    TOKEN,
    confirm_broadcast,
    environment,
    received,
    start,
    subscribers,
    terminate,
    wait_until,
)

from bot.core.storage import SCHEMA_VERSION, Storage
from bot.core.storage.backup import BackupError, backup


def _backup(env: dict[str, str], path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [STUDYBOT, "backup", str(path)], env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


def test_a_backup_while_a_broadcast_is_sent(tmp_path):
    db, log = tmp_path / "bot.db", tmp_path / "studybot.log"
    users = range(81_001, 81_301)
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        subscribers(db, api, users)
        api.latency = 0.05
        env = environment(api, db)
        process = start(env, log)
        try:
            confirm_broadcast(api, users)
            wait_until(lambda: sum(received(api, users).values()) >= 50, 30, "the broadcast under way")
            done = _backup(env, tmp_path / "copy.db")
            sent_at_backup = sum(received(api, users).values())
            assert done.returncode == 0, done.stderr
            assert (
                done.stdout.startswith("studybot: backup of ")
                and f"schema version {SCHEMA_VERSION}" in done.stdout
            )
            wait_until(lambda: sum(received(api, users).values()) == len(users), 60, "the whole broadcast")
        finally:
            terminate(process, log)
        assert sent_at_backup < len(users)  # it was made while the broadcast was being sent
        counts = received(api, users)
        assert min(counts.values()) == 1 and max(counts.values()) == 1
        api.assert_no_errors()
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        states = dict(copy.execute("SELECT state, count(*) FROM broadcast_recipients GROUP BY state"))
    assert sum(states.values()) == len(users)  # one snapshot: every recipient, in some state
    with Storage(tmp_path / "copy.db") as restored:  # a copy is a database the bot opens as it is
        assert restored.schema_version == SCHEMA_VERSION


def test_a_backup_never_overwrites_and_names_what_is_wrong(tmp_path):
    db = tmp_path / "bot.db"
    Storage(db).close()
    report = backup(db, tmp_path)  # a directory: a dated file in it
    assert report.path.parent == tmp_path and report.path.name.startswith("studybot-")
    with pytest.raises(BackupError, match="exists already"):
        backup(db, report.path)
    with pytest.raises(BackupError, match="does not exist"):
        backup(tmp_path / "missing.db", tmp_path / "x.db")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial left
