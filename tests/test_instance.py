"""One `studybot run` per database (bot/instance.py): real processes against the Bot API stand-in.

A second process on the database of a running one exits at once with status 2 and one line naming the
first (its pid and host), before it polls or touches a broadcast; the first goes on, and its broadcast
reaches everyone exactly once. A first process killed with SIGKILL leaves nothing that blocks the next.
The console, by design, runs beside a running bot; a lock file that cannot be made is one line too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botapi_standin import BotAPIStandin
from helpers import buttons, sent_to

from bot.core.storage import Storage
from bot.instance import InstanceBusy, InstanceLock, lock_path

TOKEN = "123456:TEST-token"
ADMIN = 1001
USERS = range(70_001, 70_061)
RATE = 10  # 60 recipients: the broadcast lasts ~6 s, long enough to start a second process during it
STUDYBOT = shutil.which("studybot", path=str(Path(sys.executable).parent)) or "studybot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    return {**base, **env, "STUDYBOT_HTTP_PORT": str(free_port())}


def start(env: dict[str, str], log: Path) -> subprocess.Popen:
    full = environment(env)
    with log.open("a") as out:
        return subprocess.Popen([STUDYBOT, "run"], env=full, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def test_a_second_run_on_the_same_database_exits_at_once_and_the_first_goes_on(tmp_path):
    db = tmp_path / "bot.db"
    now = datetime.now(UTC)
    storage = Storage(db)
    for uid in USERS:
        storage.ensure_chat(f"tg:{uid}", "tg", "private")
        storage.subscribe(f"tg:{uid}", "08:00", now, now + timedelta(days=30))  # no daily push now
    storage.close()
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        for uid in USERS:
            api.add_user(uid, f"用户{uid}")
            api.add_chat(uid, "private")
        api.latency = 0.02
        env = {
            "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": api.base_url,
            "STUDYBOT_DB": str(db),
            "STUDYBOT_ADMINS": str(ADMIN),
            "STUDYBOT_BROADCAST_RATE": str(RATE),
            "STUDYBOT_TICK_SECONDS": "1",
        }

        def delivered() -> int:
            return sum(len(v) for k, v in api.delivered.items() if k != ADMIN)

        first = start(env, tmp_path / "first.log")
        try:
            api.send_message(ADMIN, ADMIN, "/broadcast 今晚七点集中学习")
            preview = api.wait_for("sendMessage", lambda c: sent_to(c, ADMIN), timeout=30)
            go = next(data for data in buttons(preview) if data.startswith("bc:go:"))
            api.press_button(ADMIN, ADMIN, preview.result["message_id"], go)
            api.wait_for("sendMessage", lambda c: not sent_to(c, ADMIN), timeout=20)  # it is sending

            at_start = delivered()
            started = time.monotonic()
            second = subprocess.run(
                [STUDYBOT, "run"],
                env=environment(env),
                capture_output=True,
                text=True,
                timeout=30,
            )
            took = time.monotonic() - started
            assert second.returncode == 2, second.stderr
            assert second.stdout == ""
            lines = second.stderr.splitlines()
            assert len(lines) == 1, second.stderr
            expected = (
                f"studybot: STUDYBOT_DB: {db} is in use by another studybot "
                f"(pid {first.pid} on host {socket.gethostname()}, since "
            )
            assert lines[0].startswith(expected), lines[0]
            assert re.search(r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\)", lines[0])
            print(f"second process exited after {took:.2f} s")
            assert took < 10  # at once: imports and the checks, no network (a loose bound for a busy CI)
            assert delivered() < len(USERS) and at_start < len(USERS), "the second started mid-broadcast"

            report = api.wait_for("editMessageText", lambda c: "广播已完成" in c.params["text"], timeout=40)
            assert f"送达 {len(USERS)} · 屏蔽 0 · 失败 0" in report.params["text"]
            assert first.poll() is None, "the first process went on"
            mark = api.mark()
            api.send_message(ADMIN, ADMIN, "/start")
            api.wait_for("sendMessage", lambda c: sent_to(c, ADMIN), timeout=10, after=mark)
        finally:
            code = stop(first)
        assert code == 0, (tmp_path / "first.log").read_text()
        counts = {uid: len(api.delivered.get(uid, [])) for uid in USERS}
        assert set(counts.values()) == {1}, "every recipient got the broadcast exactly once"
        # The second never reached the Bot API: one getMe, one bootstrap (deleteWebhook), the first's.
        assert len(api.calls_for("getMe")) == 1 and len(api.calls_for("deleteWebhook")) == 1
        api.assert_no_errors()
    assert "Traceback" not in (tmp_path / "first.log").read_text()


def test_after_a_sigkill_the_next_start_takes_the_lock(tmp_path):
    db = tmp_path / "bot.db"
    log = tmp_path / "studybot.log"
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        env = {
            "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": api.base_url,
            "STUDYBOT_DB": str(db),
        }
        killed = start(env, log)
        try:
            api.send_message(
                ADMIN, ADMIN, "/start"
            )  # answered: it polls (a getUpdates is recorded when done)
            api.wait_for("sendMessage", lambda c: sent_to(c, ADMIN), timeout=30)
            assert json.loads(lock_path(str(db)).read_text())["pid"] == killed.pid
            killed.send_signal(signal.SIGKILL)
            assert killed.wait(timeout=10) == -signal.SIGKILL
        finally:
            if killed.poll() is None:
                killed.kill()
                killed.wait()
        # The killed process's line is still in the file; the lock itself died with it.
        assert json.loads(lock_path(str(db)).read_text())["pid"] == killed.pid
        mark = api.mark()
        after = start(env, log)
        try:
            api.send_message(ADMIN, ADMIN, "/start")
            reply = api.wait_for("sendMessage", lambda c: sent_to(c, ADMIN), timeout=20, after=mark)
            assert "你好" in reply.params["text"]
            holder = json.loads(lock_path(str(db)).read_text())
            assert holder["pid"] == after.pid and holder["host"] == socket.gethostname()
        finally:
            code = stop(after)
        assert code == 0, log.read_text()
        api.assert_no_errors()
    assert lock_path(str(db)).read_text() == ""  # a clean stop leaves the file naming nobody


# -- the lock itself, in this process (flock holds between two opens of the file, even in one process)


def test_the_lock_is_taken_once_and_named_by_its_holder(tmp_path):
    db = str(tmp_path / "data" / "bot.db")  # the folder does not exist yet: made as Storage makes it
    first = InstanceLock(db)
    first.acquire()
    with pytest.raises(
        InstanceBusy, match=rf"^pid {os.getpid()} on host {re.escape(socket.gethostname())}, since "
    ):
        InstanceLock(db).acquire()
    # Another spelling of the same file (relative, through a symlink) reaches the same lock.
    (tmp_path / "link").symlink_to(tmp_path / "data")
    with pytest.raises(InstanceBusy):
        InstanceLock(str(tmp_path / "link" / "bot.db")).acquire()
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        with pytest.raises(InstanceBusy):
            InstanceLock("data/bot.db").acquire()
    finally:
        os.chdir(cwd)
    first.release()
    again = InstanceLock(db)
    again.acquire()
    again.release()


def test_no_lock_for_a_database_in_memory(tmp_path):
    assert lock_path(":memory:") is None
    assert lock_path("file::memory:?cache=shared") is None
    assert lock_path("file:shared?mode=memory&cache=shared") is None
    assert lock_path(f"file:{tmp_path}/a%20b.db?mode=rwc") == tmp_path / "a b.db.lock"
    for _ in range(2):
        InstanceLock(":memory:").acquire()  # nothing to hold: any number may run


def test_a_lock_file_that_names_nobody_still_locks(tmp_path):
    db = str(tmp_path / "bot.db")
    holder = InstanceLock(db)
    holder.acquire()
    lock_path(db).write_text("not what we wrote")
    with pytest.raises(InstanceBusy, match="pid unknown"):
        InstanceLock(db).acquire()
    holder.release()


def test_the_console_runs_beside_a_running_bot(tmp_path):
    # By design (bot/service.py, console()): it takes no lock, sends only its own chat's lesson.
    db = str(tmp_path / "bot.db")
    running = InstanceLock(db)
    running.acquire()
    try:
        result = subprocess.run(
            [STUDYBOT, "console"],
            env=environment({"STUDYBOT_DB": db}),
            input="/sections\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        running.release()
    assert result.returncode == 0, result.stderr
    assert "第三部分" in result.stdout and "in use" not in result.stderr


def test_a_lock_file_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "plain-file").write_text("")
    db = tmp_path / "plain-file" / "bot.db"  # its folder is a file: neither the lock nor the database can be
    result = subprocess.run(
        [STUDYBOT, "run"],
        env=environment(
            {
                "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
                "STUDYBOT_TELEGRAM_API_URL": "http://127.0.0.1:9/bot",
                "STUDYBOT_DB": str(db),
            }
        ),  # fmt: skip
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"studybot: STUDYBOT_DB: cannot create the lock file {db}.lock: Not a directory"
    ], result.stderr
