"""SIGTERM with sends in flight, to the real `studybot run` process: the sends on the wire finish and are
recorded before it exits (a few seconds at most), so a restart repeats nothing; with an API that hangs it
still exits within about six seconds."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

from botapi_standin import BotAPIStandin
from processes import (
    ADMIN,
    TOKEN,
    confirm_broadcast,
    environment,
    received,
    seed_due_chats,
    start,
    subscribers,
    terminate,
    wait_until,
)


def test_sigterm_during_a_broadcast_repeats_nothing(tmp_path):
    db, log = tmp_path / "bot.db", tmp_path / "studybot.log"
    users = range(61_001, 61_301)
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        subscribers(db, api, users)
        api.latency = 0.5  # every send is on the wire for half a second: a SIGTERM always finds some
        env = environment(api, db)
        process = start(env, log)
        try:
            confirm_broadcast(api, users)
            wait_until(lambda: sum(received(api, users).values()) >= len(users) // 3, 30, "a third of it")
        finally:
            took = terminate(process, log)
        with sqlite3.connect(db) as conn:
            left = dict(conn.execute("SELECT state, count(*) FROM broadcast_recipients GROUP BY state"))
        assert took < 6, f"SIGTERM took {took:.1f} s"
        # Every send that was in flight finished and was recorded: none left for the restart to repeat.
        assert left.get("sending", 0) == 0 and 0 < left.get("pending", 0), left
        assert left["sent"] == sum(received(api, users).values())

        mark = api.mark()
        process = start(env, log)
        try:
            report = api.wait_for(
                "editMessageText", lambda c: "广播已完成" in c.params["text"], timeout=60, after=mark
            )
        finally:
            terminate(process, log)
        assert f"送达 {len(users)} · 屏蔽 0 · 失败 0" in report.params["text"]
        counts = received(api, users)
        assert min(counts.values()) == 1 and max(counts.values()) == 1, "a duplicate or a skip"
        assert "sends were in flight when the bot stopped" not in log.read_text()
        api.assert_no_errors()


def test_sigterm_during_a_daily_push_repeats_and_loses_nothing(tmp_path):
    db, log = tmp_path / "bot.db", tmp_path / "studybot.log"
    chats = range(73_001, 73_401)
    seed_due_chats(db, chats, datetime.now(UTC))
    with BotAPIStandin(token=TOKEN) as api:
        for uid in chats:
            api.add_user(uid, f"用户{uid}")
            api.add_chat(uid, "private")
        api.latency = 0.5
        env = environment(api, db)
        process = start(env, log)
        try:
            wait_until(lambda: sum(received(api, chats).values()) >= len(chats) // 3, 30, "a third of it")
        finally:
            took = terminate(process, log)
        assert took < 6, f"SIGTERM took {took:.1f} s"
        with sqlite3.connect(db) as conn:
            claimed = conn.execute("SELECT count(*) FROM deliveries WHERE state = 'claimed'").fetchone()[0]
            sent = conn.execute("SELECT count(*) FROM deliveries WHERE state = 'sent'").fetchone()[0]
        # No claim left for the restart to settle unsent: the sends in flight landed and were recorded.
        assert claimed == 0 and sent == sum(received(api, chats).values()) < len(chats)

        process = start(env, log)
        try:

            def all_sent() -> bool:
                with sqlite3.connect(db) as conn:
                    (n,) = conn.execute("SELECT count(*) FROM deliveries WHERE state = 'sent'").fetchone()
                return n == len(chats)

            wait_until(all_sent, 60, "the rest of the daily push")
        finally:
            terminate(process, log)
        counts = received(api, chats)
        assert min(counts.values()) == 1 and max(counts.values()) == 1, "a lesson lost or sent twice"
        assert "settled" not in log.read_text()
        api.assert_no_errors()


def test_sigterm_with_a_hanging_api_exits_within_seconds(tmp_path):
    db, log = tmp_path / "bot.db", tmp_path / "studybot.log"
    users = range(62_001, 62_201)
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        subscribers(db, api, users)
        api.latency = 0.05
        env = environment(api, db)
        process = start(env, log)
        try:
            confirm_broadcast(api, users)
            wait_until(lambda: sum(received(api, users).values()) >= 20, 30, "the broadcast under way")
            api.take_down("*", "hang")  # nothing answers any more, not even getUpdates
            time.sleep(1.0)
        finally:
            took = terminate(process, log)
        assert took < 6.5, f"SIGTERM took {took:.1f} s with a hanging API"
        assert "were cut off" in log.read_text()

        api.bring_up()
        mark = api.mark()
        process = start(env, log)
        try:
            report = api.wait_for(
                "editMessageText", lambda c: "广播已完成" in c.params["text"], timeout=60, after=mark
            )
        finally:
            terminate(process, log)
        assert f"送达 {len(users)} · 屏蔽 0 · 失败 0" in report.params["text"]
        # The sends cut off had never reached anyone (the API held them unanswered): sent once now.
        assert set(received(api, users).values()) == {1}
        api.assert_no_errors()
