"""`studybot backup` under load: the real `studybot run` process against the Bot API stand-in, sending a
broadcast, while `studybot backup PATH` copies its database in a process of its own.

A database of ~125 MB (100,000 chats and users, daily-push deliveries, quiz sessions and answers,
reflections: bench_export.py's rows, fewer answers and reflections, plus two delivered lessons a chat),
then the broadcast's 100,000 recipients written on confirm. While the broadcast is sent (at RATE a second,
LATENCY on every send), a client sends commands from a few private chats, one at a time, GAP apart, in
turn: `/search 人才` (reads), `/today` (reads; its lesson message recorded after the send) and `/reflect …`
(a write before the reply). Each is timed as in bench_telegram.py, from the update entering the stand-in's
queue to the reply arriving there. BACKUPS times: BEFORE seconds of samples, then `studybot backup` is
started and sampled until it exits. Reported: the backup's wall time (Popen → exit) and its own figure,
the copy's size, the WAL's size after it (a reader's snapshot keeps checkpoints from wrapping the WAL), the
reply latency p50/p95/max during the backups and before them, and the broadcast's send rate (deliveries
at the stand-in a second) in the same windows. Then, for comparison, the same copy in steps of
STEP_PAGES pages with short sleeps between them (what would let a writer in under a rollback journal):
whether it finishes within STEP_SECONDS while the bot sends, and how often it starts over.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests", ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_export import build as build_export  # noqa: E402
from bench_export import user_ids  # noqa: E402
from bench_telegram import TOKEN, BotProcess, TimedStandin, pct  # noqa: E402
from helpers import buttons  # noqa: E402

ADMIN = 1001
PROBES = [(1002, "/search 人才"), (1003, "/today"), (1004, "/reflect 基层党建要抓在日常、严在经常")]
CHATS = 100_000
ANSWERS = 300_000
REFLECTIONS = 60_000
DELIVERIES_PER_CHAT = 2
RATE = 100  # broadcast sends a second (STUDYBOT_BROADCAST_RATE)
LATENCY = 0.02  # on every send at the stand-in
BACKUPS = 5
BEFORE = 8.0  # seconds of samples before each backup
GAP = 0.02  # between two commands of the client
STEP_PAGES = 1000  # the copy in steps, for comparison: pages a step, a short sleep between steps
STEP_SECONDS = 10.0  # given up after this long


def studybot() -> list[str]:
    script = Path(sys.executable).parent / "studybot"
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]


def build(path: Path, seed: int = 12) -> dict[str, int]:
    """bench_export.py's database at this size, plus DELIVERIES_PER_CHAT delivered lessons a chat."""
    build_export(path, seed, chats=CHATS, answers=ANSWERS, reflections=REFLECTIONS)
    rng = random.Random(seed)
    base = 1_790_000_000
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO deliveries (chat_key, local_date, lesson_day, state, catch_up, message_id, attempts, "
            "created_at, sent_at) VALUES (?, ?, ?, 'sent', 0, ?, 1, ?, ?)",
            (
                (f"tg:{u}", f"2026-11-{20 + day:02d}", day + 1, str(rng.randint(10, 99_999)),
                 base + day * 86_400, base + day * 86_400 + rng.randint(0, 600))
                for u in user_ids(CHATS)
                for day in range(DELIVERIES_PER_CHAT)
            ),
        )  # fmt: skip
        conn.execute(
            "UPDATE chats SET plan_pos = ?, last_local_date = ?", [DELIVERIES_PER_CHAT, "2026-11-21"]
        )
    counts = {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
        for table in ("chats", "deliveries", "quiz_answers", "reflections")
    }
    conn.close()
    return counts


def stepwise(source: str, target: str, pages: int = STEP_PAGES, seconds: float = STEP_SECONDS) -> dict:
    """SQLite's backup in steps of `pages` with 5 ms sleeps, from a read-only connection as
    bot/core/storage/backup.py opens it (run in a process of its own): whether it finished within
    `seconds`, and how often it started over (the pages left went up: another connection wrote)."""
    src = sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    began, state = time.monotonic(), {"restarts": 0, "steps": 0, "left": None}

    class GiveUp(Exception):
        pass

    def progress(status: int, remaining: int, total: int) -> None:
        if state["left"] is not None and remaining > state["left"]:
            state["restarts"] += 1
        state["left"], state["steps"] = remaining, state["steps"] + 1
        if time.monotonic() - began > seconds:
            raise GiveUp

    try:
        src.backup(dst, pages=pages, progress=progress, sleep=0.005)
        finished = True
    except GiveUp:
        finished = False
    finally:
        src.close()
        dst.close()
    return {"finished": finished, "seconds": time.monotonic() - began, **state}


def sample(api: TimedStandin, probe: int, samples: list[tuple[float, float, float, str]]) -> None:
    """One command of the client, waited for; (queued at, update → reply ms, of it hand-over ms, command)."""
    user, command = PROBES[probe % len(PROBES)]
    mark = api.mark()
    update = api.send_message(user, user, command)
    index = api.wait_index("sendMessage", user, mark, timeout=60)
    queued = api.queued_at[update["update_id"]]
    samples.append(
        (
            queued,
            (api.arrived_at[index] - queued) * 1000,
            (api.handed_at[update["update_id"]] - queued) * 1000,
            command.split()[0],
        )
    )
    time.sleep(GAP)


def clear_peak(bot: BotProcess) -> None:
    """Reset the process's VmHWM to its current RSS (so a later VmHWM is the peak since now)."""
    Path(f"/proc/{bot.proc.pid}/clear_refs").write_text("5")


def rate_in(times: list[float], windows: list[tuple[float, float]]) -> float:
    """Deliveries a second over these windows."""
    count = sum(1 for t in times for start, end in windows if start <= t < end)
    return count / sum(end - start for start, end in windows)


def latency(figures: dict, name: str, samples: list[tuple[float, float, float, str]]) -> None:
    total = [s[1] for s in samples]
    figures[f"replies {name}: samples"] = len(samples)
    figures[f"replies {name}: p50 (ms)"] = pct(total, 50)
    figures[f"replies {name}: p95 (ms)"] = pct(total, 95)
    figures[f"replies {name}: max (ms)"] = max(total)
    figures[f"replies {name}: of the max, getUpdates hand-over (ms)"] = max(samples, key=lambda s: s[1])[2]
    writes = [s[1] for s in samples if s[3] == "/reflect"]
    figures[f"replies {name}: /reflect (a write before the reply) p95 / max (ms)"] = (
        f"{pct(writes, 95):.1f} / {max(writes):.1f}"
    )


def main(backups: int = BACKUPS) -> dict[str, float | str]:
    figures: dict[str, float | str] = {"load average, 1 min, before (2 cores)": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        workdir = Path(tmp)
        db = workdir / "bot.db"
        started = time.perf_counter()
        counts = build(db)
        figures["database: chats / deliveries / answers / reflections"] = " / ".join(
            f"{n:,}" for n in counts.values()
        )
        figures["database build (s)"] = time.perf_counter() - started
        figures["database file as built (MB)"] = db.stat().st_size / 1e6
        recipients = user_ids(CHATS)
        with TimedStandin(token=TOKEN) as api:
            api.add_user(ADMIN, "管理员")
            for uid in recipients:
                api.add_user(uid, "学员")
                api.add_chat(uid, "private")
            for user, _ in PROBES:
                api.add_user(user, f"用户{user}")
            bot = BotProcess(api, workdir, STUDYBOT_ADMINS=str(ADMIN), STUDYBOT_BROADCAST_RATE=str(RATE))
            env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")} | {
                "STUDYBOT_DB": str(db)
            }
            try:
                for user, _ in PROBES:
                    mark = api.mark()
                    api.send_message(user, user, "/start")
                    api.wait_index("sendMessage", user, mark, timeout=60)
                time.sleep(1.0)  # post-init calls (setMyCommands) out of the way
                figures["bot RSS when ready (MiB)"] = bot.status()["VmRSS"] / 1024
                clear_peak(bot)
                api.latency = LATENCY
                mark = api.mark()
                api.send_message(ADMIN, ADMIN, "/broadcast 本周五下午集中学习，请准时参加")
                preview = api.wait_for(
                    "sendMessage",
                    lambda c: str(c.params.get("chat_id")) == str(ADMIN),
                    timeout=60,
                    after=mark,
                )
                found = re.search(r"将发送给 ([\d,]+) 个订阅", preview.params["text"])
                assert found and int(found.group(1).replace(",", "")) == CHATS, preview.params["text"]
                go = next(data for data in buttons(preview) if data.startswith("bc:go:"))
                api.press_button(ADMIN, ADMIN, preview.result["message_id"], go)
                first = recipients[0]
                deadline = time.monotonic() + 60
                while first not in api._delivered:  # the recipients written, the sends begun
                    bot.check_alive(workdir)
                    if time.monotonic() > deadline:
                        raise TimeoutError("the broadcast did not start")
                    time.sleep(0.05)
                time.sleep(2.0)  # up to speed
                figures["bot peak RSS from /broadcast to 2 s into its sends, VmHWM (MiB)"] = (
                    bot.status()["VmHWM"] / 1024
                )
                clear_peak(bot)
                figures["database file with the broadcast's recipients (MB)"] = db.stat().st_size / 1e6
                for n in range(3 * len(PROBES)):  # warm-up
                    sample(api, n, [])
                before: list[tuple[float, float, float, str]] = []
                during: list[tuple[float, float, float, str]] = []
                before_windows, during_windows, walls, own, sizes, wals = [], [], [], [], [], []
                probe = 0
                for run in range(backups):
                    began = time.monotonic()
                    while time.monotonic() - began < BEFORE:
                        bot.check_alive(workdir)
                        sample(api, probe, before)
                        probe += 1
                    before_windows.append((began, time.monotonic()))
                    target = workdir / f"copy{run}.db"
                    out = open(workdir / f"backup{run}.out", "w+b")  # noqa: SIM115 - closed below
                    began = time.monotonic()
                    proc = subprocess.Popen(
                        [*studybot(), "backup", str(target)], env=env, stdout=out, stderr=subprocess.STDOUT
                    )
                    while proc.poll() is None:
                        bot.check_alive(workdir)
                        sample(api, probe, during)
                        probe += 1
                    ended = time.monotonic()
                    during_windows.append((began, ended))
                    out.seek(0)
                    text = out.read().decode(errors="replace")
                    out.close()
                    if proc.returncode != 0:
                        raise RuntimeError(f"studybot backup exited {proc.returncode}: {text}")
                    walls.append(ended - began)
                    said = re.search(r", ([\d.]+) s\)", text)
                    own.append(float(said.group(1)) if said else float("nan"))
                    sizes.append(target.stat().st_size / 1e6)
                    wal = db.with_name(db.name + "-wal")
                    wals.append(wal.stat().st_size / 1e6 if wal.exists() else 0.0)
                    with sqlite3.connect(target) as copy:
                        check = copy.execute("PRAGMA quick_check").fetchone()[0]
                        if check != "ok":
                            raise RuntimeError(f"copy {run}: {check}")
                    target.unlink()
                bot.check_alive(workdir)
                steps = subprocess.run(
                    [sys.executable, __file__, "--stepwise", str(db), str(workdir / "steps.db")],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                steps = json.loads(steps.stdout)
                bot.check_alive(workdir)
                delivered = api.delivered
                wanted = set(recipients)
                times = [d.at for uid, items in delivered.items() if uid in wanted for d in items]
                twice = sum(1 for uid, items in delivered.items() if uid in wanted and len(items) > 1)
                refusals = len(api.errors)
                status = bot.status()
            finally:
                bot.stop()
        figures["backups"] = backups
        figures["backup wall time, Popen → exit (s)"] = " / ".join(f"{w:.2f}" for w in walls)
        figures["backup's own figure (s)"] = " / ".join(f"{s:.1f}" for s in own)
        figures["copy size (MB)"] = " / ".join(f"{s:.1f}" for s in sizes)
        figures["bot's WAL after each backup (MB)"] = " / ".join(f"{s:.1f}" for s in wals)
        latency(figures, "before the backups", before)
        latency(figures, "during the backups", during)
        figures["broadcast sends/s before the backups"] = rate_in(times, before_windows)
        figures["broadcast sends/s during the backups"] = rate_in(times, during_windows)
        figures["broadcast rate set (/s)"] = RATE
        figures[f"for comparison, in steps of {STEP_PAGES} pages: finished within {STEP_SECONDS:.0f} s"] = (
            f"{steps['finished']} ({steps['seconds']:.1f} s, {steps['restarts']} restarts, {steps['steps']} steps)"
        )
        figures["recipients sent twice"] = twice
        figures["stand-in refusals"] = refusals
        figures["bot RSS at the end (MiB)"] = status["VmRSS"] / 1024
        figures["bot peak RSS from then to the end, VmHWM (MiB)"] = status["VmHWM"] / 1024
    return figures


if __name__ == "__main__":
    if sys.argv[1:2] == ["--stepwise"]:
        print(json.dumps(stepwise(*sys.argv[2:4])))
        sys.exit()
    for name, value in main().items():
        print(f"{name:60s} {value:>12.3f}" if isinstance(value, float) else f"{name:60s} {value!s:>12}")
