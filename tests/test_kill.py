"""The real `studybot run` process killed with SIGKILL and started again.

A broadcast to 400 chats killed half-way is finished: nobody is skipped; nobody gets it twice except the few
sends that were in flight at the kill (the recipients the database still had as `sending`). A daily push to
2,000 chats at 200/s killed half-way: nobody gets two lessons that day, and the chats that get none are at
most the sends that were on the wire at the kill. The study reminders of 1,000 chats the same: none twice.
The weekly summary to 40 admins and 40 WeCom robots, the process's clock moved to Monday 09:00, killed
half-way: each recipient has the week's summary once, but the one send on the wire at the kill (never twice)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from botapi_standin import BotAPIStandin
from helpers import buttons
from processes import environment, seed_due_chats, start, wait_until
from wecom_standin import WeComStandin

from bot.core.storage import Storage, robot_chat_key
from jobs.broadcast import BroadcastRunner
from jobs.pacing import Pacer, in_flight

TOKEN = "123456:TEST-token"
ADMIN = 1001
USERS = range(60_001, 60_401)
RATE = 50


def delivered(api: BotAPIStandin) -> int:
    """Messages the stand-in delivered, over all chats."""
    return sum(len(v) for v in api.delivered.values())


def kill_half_way(api: BotAPIStandin, env: dict, log: Path, total: int, what: str) -> None:
    """Start `studybot run`, SIGKILL it once half of `total` messages are delivered, and let the requests
    that were on the wire reach the stand-in."""
    process = start(env, log)
    try:
        wait_until(lambda: delivered(api) >= total // 2, 60, f"half of {what}")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    time.sleep(0.3)  # requests that were on the wire reach the stand-in and are delivered


def claimed_in(db: Path, table: str) -> set[str]:
    """Chats whose row in `table` (deliveries, reminders) a kill left claimed."""
    with sqlite3.connect(db) as conn:
        return {key for (key,) in conn.execute(f"SELECT chat_key FROM {table} WHERE state = 'claimed'")}


def restart_until_sent(env: dict, log: Path, db: Path, table: str, total: int, what: str) -> None:
    """Start `studybot run` again, stop it (SIGTERM, exit 0) once `total` rows of `table` are sent."""
    process = start(env, log)
    try:

        def all_sent() -> bool:
            with sqlite3.connect(db) as conn:
                (n,) = conn.execute(f"SELECT count(*) FROM {table} WHERE state = 'sent'").fetchone()
            return n == total

        wait_until(all_sent, 60, f"the rest of {what}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0, log.read_text()


def test_sigkill_during_a_daily_push_costs_at_most_the_sends_on_the_wire(tmp_path):
    db = tmp_path / "bot.db"
    log = tmp_path / "studybot.log"
    chats = range(70_001, 72_001)
    rate = 200
    seed_due_chats(db, chats, datetime.now(UTC))
    with BotAPIStandin(token=TOKEN) as api:
        for uid in chats:
            api.add_user(uid, f"用户{uid}")
            api.add_chat(uid, "private")
        api.latency = 0.02
        api.rate_limit(global_per_second=rate)
        env = environment(api, db, rate=rate)
        kill_half_way(api, env, log, len(chats), "the daily push")
        at_kill = api.delivered
        claimed = claimed_in(db, "deliveries")
        # Claimed and not answered: the sends the process had on the wire (or was about to put there).
        got = {f"tg:{uid}" for uid in at_kill}
        on_the_wire = claimed & got
        lost_at_kill = claimed - got
        assert len(at_kill) < len(chats)
        restart_until_sent(env, log, db, "deliveries", len(chats), "the daily push")
        counts = {f"tg:{uid}": len(api.delivered.get(uid, [])) for uid in chats}
        assert max(counts.values()) == 1, "a chat got two lessons in one day"
        lost = {key for key, n in counts.items() if n == 0}
        print(
            f"claimed at the kill: {len(claimed)} (answered by the stand-in: {len(on_the_wire)}); lost: {len(lost)}"
        )
        # Only a claim can be lost (settled as sent at the restart), and claims are taken only for sends
        # that start: never more than the sends the job keeps in flight at this rate (usually under 20; 30
        # once on a slow, loaded machine, so the bound is the job's own).
        assert lost == lost_at_kill
        assert len(claimed) <= in_flight(200), (
            f"{len(claimed)} claimed at the kill, {len(on_the_wire)} on the wire"
        )
        assert "settled" in log.read_text() or not claimed
        api.assert_no_errors()


def test_sigkill_during_study_reminders_never_sends_one_twice(tmp_path):
    """1,000 chats whose study reminder is due, at 200/s, killed half-way and started again: nobody gets two
    that day; the ones that get none are the claims the kill left (at most the sends on the wire)."""
    db = tmp_path / "bot.db"
    log = tmp_path / "studybot.log"
    chats = range(80_001, 81_001)
    now = datetime.now(UTC)
    # A zone where it is about noon now: the reminder a minute ago is today's, far from 04:00.
    offset = 12 - now.hour
    zone = f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
    remind_at = (now.astimezone(ZoneInfo(zone)) - timedelta(minutes=1)).strftime("%H:%M")
    Storage(db).close()
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO chats (key, channel, chat_type, timezone, push_time, remind_at, remind_next_due, "
            "created_at, updated_at) VALUES (?, 'tg', 'private', ?, '08:00', ?, ?, 0, 0)",
            [(f"tg:{uid}", zone, remind_at, int(now.timestamp()) - 60) for uid in chats],
        )
    with BotAPIStandin(token=TOKEN) as api:
        for uid in chats:
            api.add_user(uid, f"用户{uid}")
            api.add_chat(uid, "private")
        api.latency = 0.02
        api.rate_limit(global_per_second=200)
        env = environment(api, db, rate=200)
        kill_half_way(api, env, log, len(chats), "the reminders")
        claimed = claimed_in(db, "reminders")
        got = {f"tg:{uid}" for uid in api.delivered}
        assert len(got) < len(chats)
        restart_until_sent(env, log, db, "reminders", len(chats), "the reminders")
        counts = {f"tg:{uid}": len(api.delivered.get(uid, [])) for uid in chats}
        assert max(counts.values()) == 1, "a chat got two reminders in one day"
        lost = {key for key, n in counts.items() if n == 0}
        print(f"claimed at the kill: {len(claimed)}; lost: {len(lost)}")
        assert lost == claimed - got and len(claimed) <= in_flight(200)  # (see the daily push's test)
        assert all(c.params["text"].startswith("⏰ 今天还没学习哦") for c in api.calls_for("sendMessage"))
        api.assert_no_errors()


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
        env = environment(api, db, rate=RATE)

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


def test_sigkill_after_a_course_is_published_moves_each_chat_once(tmp_path):
    """A course published for the chats that finished theirs, then a daily push killed half-way: every chat
    gets one lesson that day (a send on the wire at the kill aside), the finished ones the new course's
    first lesson, the others their next lesson of the first course."""
    from content import build_model, load_model, read_text

    db = tmp_path / "bot.db"
    log = tmp_path / "studybot.log"
    chats = range(80_001, 80_401)
    finished = set(chats[::2])
    rate = 200
    seed_due_chats(db, chats, datetime.now(UTC))
    total = len(load_model().lessons)
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "UPDATE chats SET plan_pos = ?, plan_done = ? WHERE key = ?",
            [(total + 2, 1, f"tg:{uid}") if uid in finished else (3, 0, f"tg:{uid}") for uid in chats],
        )
    speech = read_text(sorted((Path(__file__).parent / "data" / "speeches").glob("s02*.txt"))[0])
    first_lesson = build_model(speech).lessons[0].text[:30]
    path = tmp_path / "第二讲.txt"
    path.write_text(speech, encoding="utf-8")
    with BotAPIStandin(token=TOKEN) as api:
        for uid in chats:
            api.add_user(uid, f"用户{uid}")
            api.add_chat(uid, "private")
        api.latency = 0.02
        api.rate_limit(global_per_second=rate)
        env = environment(api, db, rate=rate)
        added = subprocess.run(
            [str(Path(sys.executable).with_name("studybot")), "course", "add", str(path)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert added.returncode == 0, added.stderr

        kill_half_way(api, env, log, len(chats), "the daily push")
        claimed = claimed_in(db, "deliveries")
        got_at_kill = {f"tg:{uid}" for uid in api.delivered}
        restart_until_sent(env, log, db, "deliveries", len(chats), "the daily push")
        counts = {uid: len(api.delivered.get(uid, [])) for uid in chats}
        assert max(counts.values()) == 1, "a chat got two lessons in one day"
        lost = {f"tg:{uid}" for uid, n in counts.items() if n == 0}
        assert lost <= claimed - got_at_kill and len(lost) <= 20
        with sqlite3.connect(db) as conn:
            rows = dict(conn.execute("SELECT key, course_id FROM chats").fetchall())
        for uid in chats:
            assert rows[f"tg:{uid}"] == (2 if uid in finished else 1), uid
            if counts[uid]:
                text = api.messages_in(uid)[0]
                if uid in finished:
                    assert first_lesson in text, text[:80]
                else:
                    assert "第 4 天" in text, text[:80]
        api.assert_no_errors()


#: `studybot run` with the service's clock moved by argv[1] seconds: the real command (bot.startup.run, as
#: the console script calls it) with `Service`'s clock parameter a moved one. Only the clock the bot decides
#: by is moved (what is due, what week it is); sockets, sleeps and the stand-ins keep real time.
MOVED_RUN = """
import sys
from datetime import UTC, datetime, timedelta

import bot.service

shift = timedelta(seconds=float(sys.argv[1]))


class MovedClock(bot.service.Service):
    def __init__(self, config, storage, clock=None):
        super().__init__(config, storage, clock=lambda: datetime.now(UTC) + shift)


bot.service.Service = MovedClock
from bot.startup import run

sys.exit(run())
"""


def start_moved(env: dict, log: Path, shift: float) -> subprocess.Popen:
    """`studybot run` (as `start` runs it) whose clock reads `shift` seconds ahead of the wall clock."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    with log.open("a") as out:
        return subprocess.Popen(
            [sys.executable, "-c", MOVED_RUN, str(shift)],
            env={**base, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_sigkill_during_the_weekly_summary_sends_it_once_to_each_recipient(tmp_path):
    """The weekly summary to 40 bot admins (Telegram: text, then the chart by sendPhoto) and 40 WeCom robots
    (markdown, then an image message), both stand-ins slow (50 ms an answer), the bot's clock moved to
    Monday 09:00:05 in its zone, SIGKILL once half of them have it, then started again on the same clock
    until all 80 are settled. As the daily push (SPEC, Delivery guarantees: restarts never repeat it): no
    recipient has it twice, and the only one that may have none is the claim the kill left, the send on the
    wire (the summary goes to one recipient after another)."""
    db = tmp_path / "bot.db"
    log = tmp_path / "studybot.log"
    admins = range(90_001, 90_041)
    title = "🗓 上周学习小结"
    zone = ZoneInfo("Asia/Shanghai")
    real = datetime.now(UTC)
    local = real.astimezone(zone)
    monday = (local + timedelta(days=7 - local.weekday())).replace(hour=9, minute=0, second=5, microsecond=0)
    shift = (monday - real).total_seconds()
    Storage(db).close()
    with BotAPIStandin(token=TOKEN) as api, WeComStandin() as wecom:
        for uid in admins:
            api.add_user(uid, f"管理员{uid}")
            api.add_chat(uid, "private")
        robots = [f"weekly-robot-{i:04d}-" + "k" * 16 for i in range(40)]
        urls = [wecom.add_robot(key) for key in robots]
        api.latency = wecom.latency = 0.05
        env = {
            **environment(api, db),
            "STUDYBOT_ADMINS": ",".join(str(uid) for uid in admins),
            "STUDYBOT_WECOM_WEBHOOKS": ",".join(urls),
            "STUDYBOT_TIMEZONE": "Asia/Shanghai",
        }
        total = len(admins) + len(robots)

        def got() -> dict[str, int]:
            """How many summaries (their text) each recipient has."""
            counts = {f"tg:{uid}": sum(title in t for t in api.messages_in(uid)) for uid in admins}
            for key in robots:
                texts = [m["content"] for m in wecom.robot_messages(key) if m["msgtype"] == "markdown"]
                counts[key] = sum(title in t for t in texts)
            return counts

        process = start_moved(env, log, shift)
        try:
            wait_until(lambda: sum(got().values()) >= total // 2 + 10, 90, "half of the weekly summary")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            assert process.returncode == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        time.sleep(0.3)  # a request that was on the wire reaches its stand-in
        at_kill = got()
        week = (monday.date() - timedelta(days=7)).isoformat()
        with sqlite3.connect(db) as conn:
            states = dict(conn.execute("SELECT chat_key, state FROM weekly_reports WHERE week = ?", [week]))
        claimed = {key for key, state in states.items() if state == "claimed"}
        assert total // 2 <= sum(at_kill.values()) < total
        assert len(claimed) <= 1, f"{len(claimed)} claims left at the kill: one recipient after another"

        process = start_moved(env, log, shift)
        try:

            def all_settled() -> bool:
                with sqlite3.connect(db) as conn:
                    (n,) = conn.execute(
                        "SELECT count(*) FROM weekly_reports WHERE week = ? AND state = 'sent'", [week]
                    ).fetchone()
                return n == total

            wait_until(all_settled, 90, "the rest of the weekly summary")
            time.sleep(1.5)  # a tick or two more: nothing else may go out
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
        assert process.returncode == 0, log.read_text()
        counts = got()
        robot_ids = {key: robot_chat_key(url) for key, url in zip(robots, urls, strict=True)}
        by_key = {robot_ids.get(key, key): n for key, n in counts.items()}
        assert max(by_key.values()) == 1, f"twice: {[k for k, n in by_key.items() if n > 1]}"
        missing = {key for key, n in by_key.items() if n == 0}
        print(f"claimed at the kill: {sorted(claimed)}; missing: {sorted(missing)}")
        assert missing <= claimed, "only the send on the wire at the kill may be missing"
        if claimed:
            assert "settled 1 send(s) interrupted by a restart" in log.read_text()
        # Every summary that arrived came with its chart, after its text (the one on the wire aside).
        for uid in admins:
            if by_key[f"tg:{uid}"] and f"tg:{uid}" not in claimed:
                kinds = [
                    m.method for m in api.calls_for("sendPhoto") if str(m.params.get("chat_id")) == str(uid)
                ]
                assert len(kinds) == 1, uid
        for key in robots:
            # A robot is subscribed too: its daily lesson (08:00, caught up at 09:00) goes out beside it.
            messages = wecom.robot_messages(key)
            lessons = [m for m in messages if m["msgtype"] == "markdown" and "每日学习" in m["content"]]
            assert len(lessons) <= 1, key
            if by_key[robot_ids[key]] and robot_ids[key] not in claimed:
                at = next(
                    i for i, m in enumerate(messages) if m["msgtype"] == "markdown" and title in m["content"]
                )
                assert messages[at + 1]["msgtype"] == "image", key
                assert sum(m["msgtype"] == "image" for m in messages) == 1, key
        api.assert_no_errors()
        assert wecom.errors == []
