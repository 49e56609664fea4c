"""/export at scale: the real `studybot run` process against the Bot API stand-in (tests/botapi_standin.py).

A database of 100,000 chats and users, 500,000 quiz answers and 100,000 reflections (40–120 characters of
Chinese each; some names and texts start with = + - @). An admin sends /export; while it runs, another
user sends `/section 3` again and again (one at a time, 20 ms apart), timed from the update entering the
stand-in's queue to the reply arriving there, as in bench_telegram.py. Reported: rows in the database and
rows delivered (every part downloaded from the stand-in and parsed), the parts and their sizes, command →
last part, the `/section 3` latencies while the files are made and while they are uploaded, the peak
resident memory of the bot process during the export (VmHWM, reset through /proc/<pid>/clear_refs just
before, so the model build's peak at start-up does not count) and of the export's child process, and the
stand-in's refusals (an upload over 50 MB would be one).
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests", ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_telegram import TOKEN, BotProcess, TimedStandin, pct  # noqa: E402

from bot.core.sheets import FORMULA_STARTS  # noqa: E402
from bot.core.storage import Storage  # noqa: E402

ADMIN, ALICE = 1001, 1002
CHATS = 100_000
ANSWERS = 500_000
REFLECTIONS = 100_000
GAP = 0.02  # between two /section 3 of the other user
WORDS = "学习贯彻落实组织工作会议精神扎实做好理论武装育才聚才基层党建干部队伍建设人才强省战略近悦远来的环境"


def build(
    path: Path, seed: int = 11, *, chats: int = CHATS, answers: int = ANSWERS, reflections: int = REFLECTIONS
) -> int:
    """The database: chats, users, quiz sessions and answers, reflections. Returns the rows to export.
    (bench_backup.py builds a smaller one with the keyword arguments.)"""
    Storage(path).close()  # the schema, as the bot makes it
    rng = random.Random(seed)
    base = 1_790_000_000
    users = user_ids(chats)
    names = [rng.choice(["-", "+", "=", "@", "", "", "", ""]) + rng.choice("王李张刘陈杨赵黄周吴") +
             "".join(rng.choice("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞") for _ in range(rng.randint(1, 2)))
             for _ in users]  # fmt: skip
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO chats (key, channel, chat_type, timezone, push_time, subscribed, created_at, updated_at) "
            "VALUES (?, 'tg', 'private', 'Asia/Shanghai', '08:00', 1, ?, ?)",
            [(f"tg:{u}", base, base) for u in users],
        )
        conn.executemany(
            "INSERT INTO users (key, name, created_at) VALUES (?, ?, ?)",
            [(f"tg:{u}", name, base) for u, name in zip(users, names, strict=True)],
        )
        conn.executemany(
            "INSERT INTO quiz_sessions (id, chat_key, user_key, question_ids, state, created_at, updated_at) "
            "VALUES (?, ?, ?, '[]', 'done', ?, ?)",
            [(i + 1, f"tg:{u}", f"tg:{u}", base, base) for i, u in enumerate(users)],
        )
        per_user = answers // chats
        conn.executemany(
            "INSERT INTO quiz_answers (session_id, chat_key, user_key, question_id, section_id, option, correct, "
            "answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (i + 1, f"tg:{u}", f"tg:{u}", f"c{rng.getrandbits(36):09x}", str(rng.randint(0, 6)),
                 rng.randint(0, 3), rng.randint(0, 1), base + rng.randint(0, 30 * 86400))
                for i, u in enumerate(users)
                for _ in range(per_user)
            ),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO reflections (chat_key, user_key, lesson_day, text, created_at) VALUES (?, ?, ?, ?, ?)",
            (
                (f"tg:{u}", f"tg:{u}", rng.randint(1, 18),
                 rng.choice(["", "", "", "=", "-", "+", "@"]) +
                 "".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120))),
                 base + rng.randint(0, 30 * 86400))
                for u in users[:reflections]
            ),
        )  # fmt: skip
    (total,) = conn.execute(
        "SELECT (SELECT count(*) FROM quiz_answers) + (SELECT count(*) FROM reflections)"
    ).fetchone()
    conn.close()
    return total


def user_ids(chats: int = CHATS) -> list[int]:
    """The Telegram user ids of the built database's private chats (chat key tg:<id>)."""
    return [1_000_000_000 + i * 7 for i in range(chats)]


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class ChildWatch(threading.Thread):
    """The peak resident memory of the bot's child processes (the export's), sampled every 20 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.gone_at: float | None = None  # when the child had come and gone: the files are made
        self.stop = threading.Event()

    def run(self) -> None:
        seen = False
        while not self.stop.is_set():
            found = children(self.pid)
            for child in found:
                # Only once it runs the export: between fork and exec it still counts the bot's pages.
                if b"bot.core.export" in _cmdline(child):
                    self.peak_kb = max(self.peak_kb, status_kb(child, "VmHWM"))
            if found:
                seen = True
            elif seen and self.gone_at is None:
                self.gone_at = time.monotonic()
            time.sleep(0.02)


def main() -> dict[str, float | str]:
    figures: dict[str, float | str] = {"load average, 1 min, before (2 cores)": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        total = build(workdir / "bot.db")
        figures["database: chats / answers / reflections"] = f"{CHATS:,} / {ANSWERS:,} / {REFLECTIONS:,}"
        figures["database build (s)"] = time.perf_counter() - started
        figures["database file (MB)"] = (workdir / "bot.db").stat().st_size / 1e6
        with TimedStandin(token=TOKEN) as api:
            api.add_user(ADMIN, "管理员")
            api.add_user(ALICE, "小王")
            bot = BotProcess(api, workdir, STUDYBOT_ADMINS=str(ADMIN))
            try:
                mark = api.mark()
                api.send_message(ALICE, ALICE, "/start")
                api.wait_index("sendMessage", ALICE, mark, timeout=60)
                time.sleep(1.0)  # post-init calls (setMyCommands) out of the way
                for _ in range(10):  # warm-up
                    mark = api.mark()
                    api.send_message(ALICE, ALICE, "/section 3")
                    api.wait_index("sendMessage", ALICE, mark)
                figures["bot RSS before /export (MiB)"] = status_kb(bot.proc.pid, "VmRSS") / 1024
                figures["bot VmHWM since start, before /export (MiB)"] = (
                    status_kb(bot.proc.pid, "VmHWM") / 1024
                )
                Path(f"/proc/{bot.proc.pid}/clear_refs").write_text("5")  # VmHWM from here on
                watch = ChildWatch(bot.proc.pid)
                watch.start()
                export_mark = api.mark()
                asked = time.monotonic()
                api.send_message(ADMIN, ADMIN, "/export")
                samples: list[tuple[float, float, float]] = []  # (queued at, latency, hand-over ms)
                first_doc = count = last_csv = workbook_at = None
                while True:
                    bot.check_alive(workdir)
                    sent = [c for c in api.calls[export_mark:] if c.method == "sendDocument" and c.ok]
                    docs = [c for c in sent if c.result["document"]["file_name"].endswith(".csv")]
                    if docs and count is None:
                        found = re.search(r"第 1/(\d+) 部分", docs[0].params["caption"])
                        count = int(found.group(1)) if found else 1
                        first_doc = time.monotonic()
                    if count is not None and len(docs) >= count and last_csv is None:
                        last_csv = time.monotonic()
                    if workbook_at is None and any(
                        c.result["document"]["file_name"].endswith(".xlsx") for c in sent
                    ):
                        workbook_at = time.monotonic()
                    if last_csv is not None and workbook_at is not None:
                        break
                    if time.monotonic() - asked > 600:
                        raise TimeoutError(
                            f"the export did not arrive; calls: {api.calls[export_mark:][-5:]}"
                        )
                    mark = api.mark()
                    update = api.send_message(ALICE, ALICE, "/section 3")
                    index = api.wait_index("sendMessage", ALICE, mark, timeout=30)
                    queued = api.queued_at[update["update_id"]]
                    handed = api.handed_at[update["update_id"]]
                    samples.append(
                        (queued, (api.arrived_at[index] - queued) * 1000, (handed - queued) * 1000)
                    )
                    time.sleep(GAP)
                done = time.monotonic()
                watch.stop.set()
                watch.join()
                made = watch.gone_at or first_doc
                making = [sample for sample in samples if sample[0] < made]
                uploading = [sample for sample in samples if sample[0] >= made]
                bot_peak = status_kb(bot.proc.pid, "VmHWM") / 1024
                refusals = len(api.errors)
                sizes, delivered, unsafe = [], 0, 0
                for call in docs:
                    data = api.file_content(call.result["document"]["file_id"])
                    sizes.append(len(data))
                    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
                    delivered += len(rows) - 1
                    unsafe += sum(cell.startswith(FORMULA_STARTS) for row in rows for cell in row)
            finally:
                bot.stop()
        figures["rows in the database"] = total
        figures["rows delivered"] = delivered
        figures["parts"] = len(sizes)
        figures["part sizes (MB)"] = " + ".join(f"{s / 1e6:.1f}" for s in sizes)
        figures["largest upload (MB, Telegram takes 50)"] = max(sizes) / 1e6
        figures["cells a spreadsheet would run"] = unsafe
        figures["/export → files made (child process gone) (s)"] = made - asked
        figures["/export → first part (s)"] = first_doc - asked
        figures["/export → last CSV part (s)"] = last_csv - asked
        figures["/export → the workbook (.xlsx) (s)"] = workbook_at - asked
        figures["/export → everything (s)"] = done - asked
        figures["the workbook after the last CSV part"] = workbook_at > last_csv
        for name, samples in (("while the files are made", making), ("while they are uploaded", uploading)):
            if samples:
                total, handover = [s[1] for s in samples], [s[2] for s in samples]
                figures[f"/section 3 {name}: samples"] = len(samples)
                figures[f"/section 3 {name}: p50 (ms)"] = pct(total, 50)
                figures[f"/section 3 {name}: p95 (ms)"] = pct(total, 95)
                figures[f"/section 3 {name}: max (ms)"] = max(total)
                figures[f"/section 3 {name}: of it getUpdates hand-over, max (ms)"] = max(handover)
        figures["bot peak RSS during /export, VmHWM (MiB)"] = bot_peak
        figures["export child process peak RSS (MiB)"] = watch.peak_kb / 1024
        figures["stand-in refusals"] = refusals
    return figures


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name:55s} {value:>12.3f}" if isinstance(value, float) else f"{name:55s} {value!s:>12}")
