"""A Bot API outage of a few seconds during a broadcast, in a real run (`studybot run` as a process, on the
real clock): sendMessage answers 502, then drops every connection, then comes back. Nobody ends `failed`,
everybody gets the announcement once, the admin is told the bot waits for Telegram, and the log says when
the outage began and when it ended, once each. (Minutes of outage, on a virtual clock, are in
test_broadcast.py.)"""

from __future__ import annotations

import sqlite3
import time

from botapi_standin import BotAPIStandin
from processes import (
    ADMIN,
    TOKEN,
    confirm_broadcast,
    environment,
    received,
    start,
    subscribers,
    terminate,
    wait_until,
)


def test_a_few_seconds_of_outage_during_a_broadcast(tmp_path):
    db, log = tmp_path / "bot.db", tmp_path / "studybot.log"
    users = range(63_001, 63_301)
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        subscribers(db, api, users)
        api.latency = 0.02
        process = start(environment(api, db), log)
        try:
            confirm_broadcast(api, users)
            wait_until(lambda: sum(received(api, users).values()) >= 60, 30, "the broadcast under way")
            api.take_down("sendMessage", 502)
            time.sleep(3.0)
            api.take_down("sendMessage", "network")
            time.sleep(2.0)
            during = sum(received(api, users).values())
            api.bring_up()
            report = api.wait_for("editMessageText", lambda c: "广播已完成" in c.params["text"], timeout=60)
        finally:
            terminate(process, log)
        assert f"送达 {len(users)} · 屏蔽 0 · 失败 0" in report.params["text"], log.read_text()
        counts = received(api, users)
        assert set(counts.values()) == {1}, "a recipient skipped or sent twice"
        assert during < len(users)  # the outage really held recipients back
        failed = [c for c in api.calls_for("sendMessage") if c.response is None or c.error_code == 502]
        assert len(failed) > 50
        with sqlite3.connect(db) as conn:
            states = dict(conn.execute("SELECT state, count(*) FROM broadcast_recipients GROUP BY state"))
            (retried,) = conn.execute(
                "SELECT count(*) FROM broadcast_recipients WHERE attempts > 1"
            ).fetchone()
        assert states == {"sent": len(users)} and retried > 0
        text = log.read_text()
        assert text.count("keep failing") == 1 and text.count("go through again") == 1, text
        assert "Traceback" not in text
        progress = [c.params["text"] for c in api.calls_for("editMessageText") if c.ok]
        assert any("⏳ Telegram 暂时无法连接，稍后自动重试" in t for t in progress), progress
        api.assert_no_errors()
