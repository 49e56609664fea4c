"""A broadcast survives SIGKILL: the real `studybot run` process, killed half-way through a broadcast to 400
chats and started again, finishes it. Nobody is skipped; nobody gets it twice except the few sends that were
in flight at the kill (the recipients the database still had as `sending`)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from botapi_standin import BotAPIStandin
from helpers import buttons

from bot.core.storage import Storage
from jobs.broadcast import BroadcastRunner
from jobs.pacing import Pacer

TOKEN = "123456:TEST-token"
ADMIN = 1001
USERS = range(60_001, 60_401)
RATE = 50
STUDYBOT = shutil.which("studybot", path=str(Path(sys.executable).parent)) or "studybot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict[str, str], log: Path) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    with log.open("a") as out:
        return subprocess.Popen([STUDYBOT, "run"], env={**base, **env}, stdout=out, stderr=subprocess.STDOUT)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_sigkill_half_way_then_restart_finishes_the_broadcast(tmp_path):
    db = tmp_path / "bot.db"
    log = tmp_path / "studybot.log"
    now = datetime.now(UTC)
    storage = Storage(db)
    for uid in USERS:
        key = f"tg:{uid}"
        storage.ensure_chat(key, "tg", "private")
        storage.subscribe(key, "08:00", now, now + timedelta(days=30))  # no daily push during the test
    storage.close()
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        for uid in USERS:
            api.add_user(uid, f"用户{uid}")
            api.add_chat(uid, "private")
        api.latency = 0.02
        api.rate_limit(global_per_second=RATE, per_chat_per_minute=20)
        env = {
            "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": api.base_url,
            "STUDYBOT_DB": str(db),
            "STUDYBOT_ADMINS": str(ADMIN),
            "STUDYBOT_BROADCAST_RATE": str(RATE),
            "STUDYBOT_HTTP_PORT": str(free_port()),
            "STUDYBOT_TICK_SECONDS": "1",
        }

        def delivered() -> int:
            return sum(len(v) for k, v in api.delivered.items() if k != ADMIN)

        process = start(env, log)
        try:
            api.send_message(ADMIN, ADMIN, "/broadcast 明天上午九点集中学习")
            preview = api.wait_for(
                "sendMessage", lambda c: str(c.params.get("chat_id")) == str(ADMIN), timeout=30
            )
            assert f"将发送给 {len(USERS)} 个订阅" in preview.params["text"]
            go = next(data for data in buttons(preview) if data.startswith("bc:go:"))
            api.press_button(ADMIN, ADMIN, preview.result["message_id"], go)
            wait_until(lambda: delivered() >= len(USERS) // 2, 30, "half of the broadcast")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            assert process.returncode == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        time.sleep(0.2)  # requests that were on the wire reach the stand-in and are delivered
        at_kill = delivered()
        assert len(USERS) // 2 <= at_kill < len(USERS)
        with sqlite3.connect(db) as conn:
            in_flight = {key for (key,) in conn.execute(
                "SELECT chat_key FROM broadcast_recipients WHERE state = 'sending'")}  # fmt: skip
            (done,) = conn.execute(
                "SELECT count(*) FROM broadcast_recipients WHERE state = 'sent'"
            ).fetchone()
        assert done <= at_kill
        # The in-flight sends are bounded by the sender's concurrency at this rate.
        concurrency = BroadcastRunner(None, None, {}, Pacer(RATE)).concurrency
        assert len(in_flight) <= concurrency

        mark = api.mark()
        process = start(env, log)
        try:
            report = api.wait_for(
                "editMessageText", lambda c: "广播已完成" in c.params["text"], timeout=40, after=mark
            )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        assert f"送达 {len(USERS)} · 屏蔽 0 · 失败 0" in report.params["text"], log.read_text()
        counts = {uid: len(api.delivered.get(uid, [])) for uid in USERS}
        assert min(counts.values()) == 1, "somebody was skipped"
        twice = {f"tg:{uid}" for uid, n in counts.items() if n > 1}
        assert max(counts.values()) <= 2
        assert twice <= in_flight, "only a send in flight at the kill may have gone out twice"
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT state FROM broadcasts").fetchall() == [("done",)]
            states = dict(conn.execute("SELECT state, count(*) FROM broadcast_recipients GROUP BY state"))
        assert states == {"sent": len(USERS)}
        assert api.count_429 == 0
        api.assert_no_errors()
