"""Courses figures: the real `studybot run` process on a database of 20 courses, against the Bot API stand-in.

- process start → first getUpdates with 21 courses in the database (the configured one and 20 more), and
  resident memory (VmRSS, VmHWM) once ready;
- the same process after chats on five different courses each asked /today (five models built on first
  use; the catalog keeps four besides the configured one);
- an admin's upload of a 10,000-character speech (.txt, sent as a user's document) → the preview: from the
  moment the update is queued to the moment the preview's sendMessage arrives (getFile and the download,
  decoding, the model's build, storing the draft); several different texts, each built fresh.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_content import speech_10k
from bench_telegram import ALICE, TOKEN, BotProcess, TimedStandin

ROOT = Path(__file__).resolve().parent.parent
SPEECHES = ROOT / "tests" / "data" / "speeches"
COURSES = 20
STARTS = 3
UPLOADS = 3
LEARNERS = range(3001, 3006)


def course_texts(n: int) -> list[str]:
    """`n` different speeches: the test speeches, then pairs of them (one's opening, another's body)."""
    from content import read_text

    singles = [read_text(p) for p in sorted(SPEECHES.glob("*.txt"))]
    texts = list(singles)
    for i, first in enumerate(singles):
        for second in singles[i + 1 :]:
            if len(texts) >= n:
                return texts[:n]
            if "同志们：" in second:
                texts.append(first.rstrip("\n") + "\n" + second.split("同志们：", 1)[1])
    return texts[:n]


def fill(db: Path) -> list[int]:
    """The database: the bundled speech as course 1 and COURSES more; a chat on each of five of them."""
    sys.path.insert(0, str(ROOT))
    from bot.core.storage import Storage
    from content import bundled_text, parse_speech

    now = datetime.now(UTC)
    storage = Storage(db)
    storage.register_configured_course(bundled_text(), parse_speech(bundled_text()).title, "bundled", now)
    ids = [
        storage.add_course(text, parse_speech(text).title, f"t{i}.txt", now, publish="finished")[0]
        for i, text in enumerate(course_texts(COURSES))
    ]
    storage.close()
    with sqlite3.connect(db) as conn:
        stamp = int(now.timestamp())
        conn.executemany(
            "INSERT INTO chats (key, channel, chat_type, timezone, push_time, created_at, updated_at, course_id) "
            "VALUES (?, 'tg', 'private', 'Asia/Shanghai', '08:00', ?, ?, ?)",
            [(f"tg:{uid}", stamp, stamp, ids[i * 3]) for i, uid in enumerate(LEARNERS)],
        )
    return ids


def wait_first_poll(api: TimedStandin, bot: BotProcess, workdir: Path) -> float:
    deadline = time.monotonic() + 30
    while api.first_index("getUpdates") is None:
        bot.check_alive(workdir)
        if time.monotonic() > deadline:
            raise TimeoutError("no getUpdates within 30 s")
        time.sleep(0.002)
    return (api.arrived_at[api.first_index("getUpdates")] - bot.started) * 1000


def main() -> dict:
    figures: dict[str, object] = {}
    firsts, ready_rss = [], []
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        fill(template)
        for n in range(STARTS):
            workdir = Path(tmp) / f"run{n}"
            workdir.mkdir()
            (workdir / "bot.db").write_bytes(template.read_bytes())
            with TimedStandin(token=TOKEN) as api:
                api.add_user(ALICE, "小王")
                for uid in LEARNERS:
                    api.add_user(uid, f"学员{uid}")
                bot = BotProcess(api, workdir, STUDYBOT_ADMINS=str(ALICE))
                try:
                    firsts.append(wait_first_poll(api, bot, workdir))
                    mark = len(api.calls)
                    api.send_message(ALICE, ALICE, "/start")
                    api.wait_index("sendMessage", ALICE, mark, timeout=30)
                    time.sleep(0.5)
                    ready_rss.append(bot.status()["VmRSS"] / 1024)
                    if n:
                        continue
                    for uid in LEARNERS:  # five chats, five courses: five models built on first use
                        mark = len(api.calls)
                        api.send_message(uid, uid, "/today")
                        api.wait_index("sendMessage", uid, mark, timeout=60)
                    status = bot.status()
                    figures["RSS after 5 courses used (MiB)"] = status["VmRSS"] / 1024
                    uploads = []
                    for i in range(UPLOADS):
                        text = speech_10k() + f"\n\n（第 {i + 1} 稿）"
                        mark = len(api.calls)
                        update = api.send_document(ALICE, ALICE, f"讲话{i}.txt", text.encode("utf-8"))
                        index = api.wait_index("sendMessage", ALICE, mark, timeout=60)
                        assert "📄" in api.calls[index].params["text"], api.calls[index].params["text"][:200]
                        uploads.append((api.arrived_at[index] - api.queued_at[update["update_id"]]) * 1000)
                    figures["10k upload → preview, median (ms)"] = statistics.median(uploads)
                    figures["10k upload → preview, max (ms)"] = max(uploads)
                    figures["peak RSS (VmHWM, MiB)"] = bot.status()["VmHWM"] / 1024
                    api.assert_no_errors()
                finally:
                    bot.stop()
    figures[f"start → first getUpdates, {COURSES + 1} courses, median of {STARTS} (ms)"] = statistics.median(
        firsts
    )
    figures["start → first getUpdates, max (ms)"] = max(firsts)
    figures["RSS when ready (MiB)"] = statistics.median(ready_rss)
    return figures


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key}: {value}")
