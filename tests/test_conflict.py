"""409 Conflict on getUpdates (another instance polls the same token), as an operator sees it: the log
lines counted over a period, `/healthz` during and after, the bot answering again once it is over.

The rule on a clock the test moves (bot/channels/telegram/polling.py); then the whole service in this
process with the real PTB Application against the Bot API stand-in, whose `other_instance()` cuts every
poll off with Telegram's 409; then the real `studybot run` process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from botapi_standin import BotAPIStandin
from helpers import Clock, sent_to

from bot.channels.telegram.polling import ConflictWatch
from bot.core.config import Config
from bot.core.health import Health
from bot.core.storage import Storage
from bot.service import Service

TOKEN = "123456:TEST-token"
USER = 4242
STUDYBOT = shutil.which("studybot", path=str(Path(sys.executable).parent)) or "studybot"
WATCH_LOG = "bot.channels.telegram.polling"
DESCRIPTION = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


class Monotonic:
    """time.monotonic, plus whatever the test has moved it forward by."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def watch_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WATCH_LOG]


# -- the rule, on a fake clock


def test_one_line_at_the_start_one_a_minute_one_at_the_end(caplog):
    caplog.set_level(logging.INFO)
    now = [1000.0]
    health = Health()
    watch = ConflictWatch(health, clock=lambda: now[0])
    watch.polled()
    assert watch_lines(caplog) == [] and health.ok
    # Ten minutes of 409s at PTB's pace (1 s, ×1.5, at most 30 s between polls; here 1.5 s throughout,
    # as when the other instance's polls keep ours short), the odd poll getting through between them.
    t, answers = 1000.0, 0
    while t < 1600.0:
        now[0] = t
        watch.conflict(DESCRIPTION)
        answers += 1
        if answers % 7 == 0:
            watch.polled()  # a poll the other instance did not cut off: the conflict goes on
        assert health.problems() == [
            "telegram: 409 Conflict on getUpdates: another bot instance is polling this token"
        ]
        t += 1.5
    lines = watch_lines(caplog)
    assert len(lines) == 10, lines  # the start and one for each of the nine minutes after it
    assert DESCRIPTION in lines[0] and "/healthz answers 503" in lines[0]
    assert all("409 Conflict for" in line and "in the last 6" in line for line in lines[1:])
    counts = [int(re.search(r"409 ×(\d+) in the last", line)[1]) for line in lines[1:]]
    assert 1 + sum(counts) <= answers and min(counts) >= 39  # a 409 every 1.5 s: 40 a minute
    # The other instance stops: polls work; the conflict is over after a quiet minute, not before.
    last = now[0]
    for seconds in (10, 20, 59):
        now[0] = last + seconds
        watch.polled()
        assert not health.ok and watch.active
    now[0] = last + 60.5
    watch.polled()
    assert health.ok and not watch.active
    end = watch_lines(caplog)[-1]
    assert (
        end.startswith("Telegram: the 409 Conflict is over after 659 s") and f"(409 ×{answers} in all)" in end
    )
    assert len(watch_lines(caplog)) == 11
    watch.polled()
    assert len(watch_lines(caplog)) == 11
    assert not [r for r in caplog.records if r.exc_info]


def test_a_new_conflict_after_the_end_is_reported_again(caplog):
    caplog.set_level(logging.INFO)
    now = [0.0]
    watch = ConflictWatch(Health(), clock=lambda: now[0])
    watch.conflict(DESCRIPTION)
    now[0] = 61
    watch.polled()
    now[0] = 100
    watch.conflict(DESCRIPTION)
    lines = watch_lines(caplog)
    assert len(lines) == 3 and "is over" in lines[1] and DESCRIPTION in lines[2]


# -- the service in this process: real PTB polling the stand-in


async def test_the_service_reports_a_conflict_and_recovers(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(USER, "小王")
        env = {
            "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": api.base_url,
            "STUDYBOT_DB": str(tmp_path / "bot.db"),
        }
        config = replace(Config.from_env(env), http_port=0, tick_seconds=3600)
        storage = Storage(config.db_path)
        service = Service(config, storage, clock=Clock(datetime.now(UTC)))
        await service.start()
        clock = Monotonic()
        service.telegram.conflicts.clock = clock
        healthz = f"http://127.0.0.1:{service.http_server.port}/healthz"
        try:
            async with httpx.AsyncClient() as http:
                assert (await http.get(healthz)).text == "ok\ntelegram: up (polling)\n"
                mark = api.mark()
                api.other_instance(every=0.1)
                await api.await_call("getUpdates", lambda c: c.error_code == 409, timeout=15, after=mark)
                answer = await http.get(healthz)
                assert answer.status_code == 503
                assert (
                    answer.text
                    == "telegram: 409 Conflict on getUpdates: another bot instance is polling this token\n"
                )

                # A few seconds of it, at PTB's backoff: 409s, one line of ours, no traceback.
                def conflicts() -> int:
                    return sum(
                        1 for c in api.calls[mark:] if c.method == "getUpdates" and c.error_code == 409
                    )

                deadline = time.monotonic() + 30
                while conflicts() < 3 and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                assert conflicts() >= 3
                assert len(watch_lines(caplog)) == 1 and DESCRIPTION in watch_lines(caplog)[0]
                assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
                # A minute later (on the watch's clock) the next 409 says it goes on.
                clock.offset += 61
                mark = api.mark()
                await api.await_call("getUpdates", lambda c: c.error_code == 409, timeout=30, after=mark)
                # The stand-in records the 409 as it answers; the bot reads the answer a moment later.
                deadline = time.monotonic() + 10
                while len(watch_lines(caplog)) < 2 and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                lasted = re.search(r"409 Conflict for (\d+) s now", watch_lines(caplog)[-1])
                assert lasted and int(lasted[1]) >= 61 and len(watch_lines(caplog)) == 2
                # The other instance stops. The bot answers again at once, healthz once a minute is quiet.
                api.other_instance(None)
                mark = api.mark()
                api.send_message(USER, USER, "/start")
                reply = await api.await_call(
                    "sendMessage", lambda c: sent_to(c, USER), timeout=40, after=mark
                )
                assert "你好，小王" in reply.params["text"]
                assert (await http.get(healthz)).status_code == 503  # not yet a quiet minute
                clock.offset += 61
                mark = api.mark()
                api.send_message(USER, USER, "/help")  # the next poll returns at once, with it
                await api.await_call("sendMessage", lambda c: sent_to(c, USER), timeout=10, after=mark)
                answer = await http.get(healthz)
                assert (answer.status_code, answer.text) == (200, "ok\ntelegram: up (polling)\n")
                assert len(watch_lines(caplog)) == 3 and "is over" in watch_lines(caplog)[-1]
        finally:
            await service.shutdown()
            storage.close()
        api.assert_no_errors()
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_stop_during_a_conflict_logs_no_traceback(tmp_path, caplog):
    # PTB's last getUpdates at shutdown meets the 409 too: it logged a traceback for it.
    caplog.set_level(logging.INFO)
    with BotAPIStandin(token=TOKEN) as api:
        env = {
            "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": api.base_url,
            "STUDYBOT_DB": str(tmp_path / "bot.db"),
        }
        config = replace(Config.from_env(env), http_port=0, tick_seconds=3600)
        storage = Storage(config.db_path)
        service = Service(config, storage, clock=Clock(datetime.now(UTC)))
        api.other_instance(every=0.1)
        await service.start()
        try:
            await api.await_call("getUpdates", lambda c: c.error_code == 409, timeout=15)
        finally:
            mark = api.mark()
            await service.shutdown()
            storage.close()
        assert 409 in [c.error_code for c in api.calls[mark:] if c.method == "getUpdates"]  # the last one
        api.assert_no_errors()
    assert len(watch_lines(caplog)) == 1
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# -- the real process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_studybot_run_under_a_conflict_logs_one_line_and_reports_503(tmp_path):
    log = tmp_path / "studybot.log"
    port = free_port()
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(USER, "小王")
        api.other_instance(every=0.2)  # already polling when the bot starts
        base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
        env = {
            **base,
            "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": api.base_url,
            "STUDYBOT_DB": str(tmp_path / "bot.db"),
            "STUDYBOT_HTTP_PORT": str(port),
        }
        with log.open("w") as out:
            process = subprocess.Popen([STUDYBOT, "run"], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            api.wait_for("getUpdates", lambda c: c.error_code == 409, timeout=30)
            deadline = time.monotonic() + 20
            while "HTTP server on" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz")
            assert answer.status_code == 503 and "409 Conflict" in answer.text
            started = time.monotonic()
            time.sleep(6)  # the period over which the lines are counted
            period = time.monotonic() - started
            conflicts = [c for c in api.calls_for("getUpdates") if c.error_code == 409]
            text = log.read_text()
            assert len(conflicts) >= 3, text
            ours = [line for line in text.splitlines() if "Conflict" in line]
            assert len(ours) == 1 and DESCRIPTION in ours[0], text  # PTB's traceback per poll is gone
            assert "Traceback" not in text and " ERROR " not in text, text
            print(f"{len(conflicts)} answers of 409, {period:.1f} s counted, 1 log line")
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 503
            # The other instance goes away: the bot answers again.
            api.other_instance(None)
            mark = api.mark()
            api.send_message(USER, USER, "/start")
            reply = api.wait_for("sendMessage", lambda c: sent_to(c, USER), timeout=40, after=mark)
            assert "你好，小王" in reply.params["text"]
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        api.assert_no_errors()
    text = log.read_text()
    assert process.returncode == 0, text
    assert "Traceback" not in text, text


def test_a_conflict_left_unread_by_ptb_at_a_stop_is_not_logged(caplog):
    # The race of the test above: PTB's retry loop leaves for the stop without reading the poll's 409, and
    # asyncio reports the Conflict as "Task exception was never retrieved". Other errors still show.
    from telegram.error import Conflict

    from bot.channels.telegram.polling import hide_conflict_tracebacks

    hide_conflict_tracebacks()
    for exc in (Conflict("Conflict: terminated by other getUpdates request"), RuntimeError("boom")):
        try:
            raise exc
        except Exception:
            logging.getLogger("asyncio").error("Task exception was never retrieved", exc_info=True)
    assert [type(r.exc_info[1]) for r in caplog.records if r.name == "asyncio"] == [RuntimeError]
