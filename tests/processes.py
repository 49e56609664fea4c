"""`studybot run` as a process, for the tests that kill, stop or starve it: start it, wait for it, stop it,
and seed its database and the Bot API stand-in with subscribers."""

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
from zoneinfo import ZoneInfo

from botapi_standin import BotAPIStandin
from helpers import buttons

from bot.core.storage import Storage

STUDYBOT = shutil.which("studybot", path=str(Path(sys.executable).parent)) or "studybot"
TOKEN = "123456:TEST-token"
ADMIN = 1001
RATE = 100


def free_port() -> int:
    """A TCP port nothing listens on (for STUDYBOT_HTTP_PORT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict[str, str], log: Path) -> subprocess.Popen:
    """`studybot run` with these settings (and no STUDYBOT_* of the test's own), its output appended to `log`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    with log.open("a") as out:
        return subprocess.Popen([STUDYBOT, "run"], env={**base, **env}, stdout=out, stderr=subprocess.STDOUT)


def wait_until(condition, timeout: float, what: str) -> None:
    """Poll `condition` (real time: a process runs on its own) until it holds, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def seed_due_chats(db: Path, ids: range, now: datetime) -> None:
    """Subscribed private chats whose lesson of today is due now (one transaction, not one per chat)."""
    storage = Storage(db)
    storage.close()
    push_time = (now.astimezone(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=1)).strftime("%H:%M")
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO chats (key, channel, chat_type, timezone, push_time, subscribed, blocked, plan_pos, "
            "next_due, created_at, updated_at) VALUES (?, 'tg', 'private', 'Asia/Shanghai', ?, 1, 0, 0, ?, ?, ?)",
            [(f"tg:{uid}", push_time, int(now.timestamp()) - 60, int(now.timestamp()), 0) for uid in ids],
        )


def environment(api: BotAPIStandin, db: Path, rate: int = RATE) -> dict[str, str]:
    """The settings of a bot on `db` talking to the stand-in, with ADMIN as its admin, at `rate` a second."""
    return {
        "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
        "STUDYBOT_TELEGRAM_API_URL": api.base_url,
        "STUDYBOT_DB": str(db),
        "STUDYBOT_ADMINS": str(ADMIN),
        "STUDYBOT_BROADCAST_RATE": str(rate),
        "STUDYBOT_HTTP_PORT": str(free_port()),
        "STUDYBOT_TICK_SECONDS": "1",
    }


def terminate(process: subprocess.Popen, log: Path) -> float:
    """SIGTERM; the seconds until the process exited (it must exit 0)."""
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("studybot run did not stop on SIGTERM:\n" + log.read_text()) from None
    took = time.monotonic() - began
    assert process.returncode == 0, log.read_text()
    return took


def subscribers(db: Path, api: BotAPIStandin, users: range) -> None:
    """Subscribed private chats whose daily push is not due during the test."""
    now = datetime.now(UTC)
    storage = Storage(db)
    for uid in users:
        key = f"tg:{uid}"
        storage.ensure_chat(key, "tg", "private")
        storage.subscribe(key, "08:00", now, now + timedelta(days=30))
        api.add_user(uid, f"用户{uid}")
        api.add_chat(uid, "private")
    storage.close()


def confirm_broadcast(api: BotAPIStandin, users: range) -> None:
    """The admin's /broadcast and 确认发送."""
    api.send_message(ADMIN, ADMIN, "/broadcast 明天上午九点集中学习")
    preview = api.wait_for("sendMessage", lambda c: str(c.params.get("chat_id")) == str(ADMIN), timeout=30)
    assert f"将发送给 {len(users)} 个订阅" in preview.params["text"]
    go = next(data for data in buttons(preview) if data.startswith("bc:go:"))
    api.press_button(ADMIN, ADMIN, preview.result["message_id"], go)


def received(api: BotAPIStandin, users: range) -> dict[int, int]:
    """Messages delivered to each of `users`."""
    delivered = api.delivered
    return {uid: len(delivered.get(uid, [])) for uid in users}
