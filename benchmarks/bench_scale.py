"""What one process holds: database size per unit, the bot's memory on a large database, the due-chat
query over 100,000 chats and 100,000 daily pushes due at the same time.

(a) bench_backup.py's database (100,000 chats and users, 200,000 deliveries, 100,000 quiz sessions with
    300,000 answers, 60,000 reflections) plus one broadcast's 100,000 recipients, all sent: bytes per row
    of each table with its indexes, from SQLite's dbstat (pages in use, so a little under the file).
(b) the real `studybot run` on that database against the Bot API stand-in (as in bench_telegram.py):
    process start → first getUpdates, VmRSS when ready and after COMMANDS commands (`/search`, `/today`,
    `/me`), VmHWM, and an admin's `/stats` over the whole database (update → reply).
(c) the due-chat query over 100,000 chats (bench_delivery.py's (c), measured again).
(d) 100,000 chats due at the same minute, pushed by one `DailyPush.tick` at 1,000/s with 20 ms of latency
    (bench_delivery.py's (d) at ten times the chats): the whole morning push of a large bot.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests", ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_backup import build  # noqa: E402
from bench_delivery import _daily_minute, _due_query  # noqa: E402
from bench_export import user_ids  # noqa: E402
from bench_telegram import TOKEN, BotProcess, TimedStandin, pct  # noqa: E402

ADMIN, ALICE = 1001, 1002
COMMANDS = 300
PUSHES = 100_000
PUSH_RATE = 1000.0


def add_broadcast(db: Path, chats: int) -> None:
    """One finished broadcast to every chat, as `/broadcast` leaves it."""
    base = 1_790_500_000
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO broadcasts (id, admin_key, text, state, created_at, started_at, finished_at) "
            "VALUES (1, ?, '本周五下午集中学习，请准时参加', 'done', ?, ?, ?)",
            [f"tg:{ADMIN}", base, base, base + 4000],
        )
        conn.executemany(
            "INSERT INTO broadcast_recipients (broadcast_id, chat_key, state, attempts, updated_at) "
            "VALUES (1, ?, 'sent', 1, ?)",
            ((f"tg:{u}", base + i // 25) for i, u in enumerate(user_ids(chats))),
        )


def sizes(db: Path) -> dict[str, tuple[int, int]]:
    """Table → (rows, bytes of its pages and its indexes' pages)."""
    conn = sqlite3.connect(db)
    owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
    used: dict[str, int] = {}
    for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
        table = owner.get(name, name)
        used[table] = used.get(table, 0) + size
    out = {
        table: (conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0], size)  # noqa: S608
        for table, size in used.items()
        if table in owner
    }
    conn.close()
    return out


def run_bot(workdir: Path, figures: dict) -> None:
    with TimedStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        api.add_user(ALICE, "小王")
        bot = BotProcess(api, workdir, STUDYBOT_ADMINS=str(ADMIN))
        try:
            mark = api.mark()
            api.send_message(ALICE, ALICE, "/start")
            api.wait_index("sendMessage", ALICE, mark, timeout=60)
            first = api.first_index("getUpdates")
            figures["(b) start → first getUpdates on this database (ms)"] = (
                api.arrived_at[first] - bot.started
            ) * 1000
            time.sleep(1.0)
            figures["(b) bot RSS when ready (MiB)"] = bot.status()["VmRSS"] / 1024
            for n in range(COMMANDS):
                mark = api.mark()
                api.send_message(ALICE, ALICE, ("/search 人才", "/today", "/me")[n % 3])
                api.wait_index("sendMessage", ALICE, mark, timeout=30)
            stats = []
            for _ in range(5):
                mark = api.mark()
                update = api.send_message(ADMIN, ADMIN, "/stats")
                index = api.wait_index("sendMessage", ADMIN, mark, timeout=60)
                stats.append((api.arrived_at[index] - api.queued_at[update["update_id"]]) * 1000)
                time.sleep(0.05)
            bot.check_alive(workdir)
            status = bot.status()
            figures[f"(b) bot RSS after {COMMANDS} commands and 5 /stats (MiB)"] = status["VmRSS"] / 1024
            figures["(b) bot peak RSS since start, VmHWM (MiB)"] = status["VmHWM"] / 1024
            figures["(b) /stats over this database, update → reply, median of 5 (ms)"] = pct(stats, 50)
            figures["(b) stand-in refusals"] = len(api.errors)
        finally:
            bot.stop()


def main() -> dict[str, float | str]:
    import logging

    logging.basicConfig(level=logging.WARNING)
    figures: dict[str, float | str] = {"load average, 1 min, before (2 cores)": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        workdir = Path(tmp)
        db = workdir / "bot.db"
        counts = build(db)
        add_broadcast(db, counts["chats"])
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        figures["(a) database file (MB)"] = db.stat().st_size / 1e6
        found = sizes(db)
        chats = found["chats"][0]
        per_chat = sum(found[t][1] for t in ("chats", "users"))
        figures["(a) chats + users, per 1,000 chats (kB)"] = per_chat / chats * 1000 / 1e3
        for table, label in (
            ("deliveries", "deliveries (daily lessons sent)"),
            ("quiz_sessions", "quiz sessions"),
            ("quiz_answers", "quiz answers"),
            ("reflections", "reflections (40–120 characters)"),
            ("broadcast_recipients", "broadcast recipients"),
        ):
            rows, size = found[table]
            figures[f"(a) {label}, per 100,000 (MB)"] = size / rows * 100_000 / 1e6
        figures["(a) rows: chats / deliveries / quiz answers / reflections / broadcast recipients"] = (
            " / ".join(
                f"{found[t][0]:,}"
                for t in ("chats", "deliveries", "quiz_answers", "reflections", "broadcast_recipients")
            )
        )
        run_bot(workdir, figures)
    for name, value in _due_query().items():
        figures[f"(c) due query over 100,000 chats: {name}"] = value
    for name, value in asyncio.run(_daily_minute(PUSHES, PUSH_RATE)).items():
        figures[f"(d) {PUSHES:,} due at once at {PUSH_RATE:,.0f}/s: {name}"] = value
    return figures


if __name__ == "__main__":
    for name, value in main().items():
        shown = f"{value:12.3f}" if isinstance(value, float) else f"{value!s:>12}"
        print(f"{name:70s} {shown}")
