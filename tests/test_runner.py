"""`studybot run` as a process: start-up, a dead network, clean shutdown, no secret in the log."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from botapi_standin import BotAPIStandin

TOKEN = "123456:SECRET-token-value"
STUDYBOT = shutil.which("studybot", path=str(Path(sys.executable).parent)) or "studybot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict, tmp_path) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    full = {**base, "STUDYBOT_DB": str(tmp_path / "bot.db"), "STUDYBOT_HTTP_PORT": str(free_port()),
            "STUDYBOT_LOG_LEVEL": "DEBUG", **env}  # fmt: skip
    return subprocess.Popen(
        [STUDYBOT, "run"], env=full, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def stop(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError("studybot run did not stop on SIGTERM:\n" + err) from None
    return process.returncode, err


def test_serves_and_stops_cleanly(tmp_path):
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(7, "小王")
        process = start(
            {"STUDYBOT_TELEGRAM_TOKEN": TOKEN, "STUDYBOT_TELEGRAM_API_URL": api.base_url}, tmp_path
        )
        try:
            api.wait_for("getUpdates", timeout=20)
            api.send_message(7, 7, "/start")
            reply = api.wait_for("sendMessage", timeout=20)
            assert "你好，小王" in reply.params["text"]
        finally:
            code, err = stop(process)
        api.assert_no_errors()
    assert code == 0, err
    assert "studybot stopped" in err
    assert "SECRET-token-value" not in err


def test_dead_network_is_waited_out(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/bot"
    process = start({"STUDYBOT_TELEGRAM_TOKEN": TOKEN, "STUDYBOT_TELEGRAM_API_URL": dead}, tmp_path)
    deadline = time.monotonic() + 20
    seen = ""
    try:
        while time.monotonic() < deadline and "unreachable" not in seen:
            line = process.stderr.readline()
            if not line:
                break
            seen += line
        assert process.poll() is None, "the bot gave up instead of retrying:\n" + seen
    finally:
        code, err = stop(process)
    seen += err
    assert "unreachable" in seen and "Traceback" not in seen
    assert "SECRET-token-value" not in seen
