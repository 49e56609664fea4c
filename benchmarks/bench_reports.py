"""/stats by group over a large database, and the weekly summary.

A database of 100,000 Telegram groups (and their chat rows), 300,000 people, 1,000,000 quiz answers over
the last 60 days (10 a group), 300,000 check-ins over the last 30 days and 100,000 reflections, written
in bulk through SQLite (the migration's triggers fill chat_members as the bot's writes would). Then:

- the group figures alone (the top ten groups, today and this week);
- an admin's `/stats` through the real `Actions` (the content model of the bundled speech), member
  counts from a stand-in that answers at once: the text (which goes out before the charts are drawn)
  and the whole reply with its two charts, the first of the process (whose charts import matplotlib
  and read the font), then the median and max of the others;
- the longest the event loop went without running during a /stats (a ticker every millisecond);
- the weekly summary's making (`WeeklyMessages.summary`: the figures and its chart).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GROUPS = 100_000
PEOPLE = 300_000
ANSWERS = 1_000_000
CHECKINS = 300_000
REFLECTIONS = 100_000
RUNS = 6
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
ZONE = ZoneInfo("Asia/Shanghai")


def build(path: Path) -> float:
    """The database at path; seconds it took."""
    from bot.core.storage import Storage

    started = time.perf_counter()
    Storage(path).close()  # the schema, migrated
    rng = random.Random(14)
    now = int(NOW.timestamp())
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        conn.executemany(
            "INSERT INTO chats (key, channel, chat_type, title, timezone, push_time, created_at, updated_at) "
            "VALUES (?, 'tg', 'supergroup', ?, 'Asia/Shanghai', '08:00', ?, ?)",
            ((f"tg:-{1_000_000 + g}", f"学习小组 {g}", now, now) for g in range(GROUPS)),
        )
        conn.executemany(
            "INSERT INTO users (key, name, created_at) VALUES (?, ?, ?)",
            ((f"tg:{10_000 + u}", f"学员{u}", now) for u in range(PEOPLE)),
        )
        conn.executemany(
            "INSERT INTO quiz_sessions (id, chat_key, user_key, kind, question_ids, position, correct, state, "
            "created_at, updated_at) VALUES (?, ?, ?, 'quiz', '[]', 0, 0, 'done', ?, ?)",
            ((g + 1, f"tg:-{1_000_000 + g}", f"tg:{10_000 + g % PEOPLE}", now, now) for g in range(GROUPS)),
        )

        def person_of(group: int) -> str:  # each group's people: 3 of its own, roughly
            return f"tg:{10_000 + (group * 3 + rng.randrange(4)) % PEOPLE}"

        conn.executemany(
            "INSERT OR IGNORE INTO quiz_answers (session_id, chat_key, user_key, question_id, section_id, option, "
            "correct, answered_at, course_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
            (
                (
                    i % GROUPS + 1,
                    f"tg:-{1_000_000 + i % GROUPS}",
                    person_of(i % GROUPS),
                    f"q{i // GROUPS}",
                    str(1 + i % 5),
                    0,
                    int(rng.random() < 0.7),
                    now - rng.randrange(60 * 86400),
                )
                for i in range(ANSWERS)
            ),
        )
        start = NOW.astimezone(ZONE).date()
        conn.executemany(
            "INSERT OR IGNORE INTO checkins (user_key, study_date, chat_key, course_id, lesson_day, checked_at) "
            "VALUES (?, ?, ?, 1, 1, ?)",
            (
                (
                    f"tg:{10_000 + i % PEOPLE}",
                    (start - timedelta(days=(i // PEOPLE) * 7 + rng.randrange(7))).isoformat(),
                    f"tg:-{1_000_000 + (i % PEOPLE) // 3}",
                    now,
                )
                for i in range(CHECKINS)
            ),
        )
        conn.executemany(
            "INSERT INTO reflections (chat_key, user_key, lesson_day, text, created_at, course_id) "
            "VALUES (?, ?, 1, ?, ?, 1)",
            (
                (
                    f"tg:-{1_000_000 + i % GROUPS}",
                    person_of(i % GROUPS),
                    "学习心得" * 10,
                    now - rng.randrange(30 * 86400),
                )
                for i in range(REFLECTIONS)
            ),
        )
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


async def _stats(actions, ctx) -> tuple[float, float, float]:
    """One /stats: seconds to the text, seconds to the last chart, the longest event-loop stall (ms)."""
    from bot.core.actions import Later, Photo
    from bot.core.render import to_plain

    stall = 0.0
    running = True

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stall = max(stall, now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    outs = await actions.command(ctx, "stats", "")
    text = time.perf_counter() - started  # the text goes out now; the charts are drawn after it
    (later,) = [out for out in outs if isinstance(out, Later)]
    photos = await later.make()
    took = time.perf_counter() - started
    running = False
    await task
    assert sum(isinstance(out, Photo) for out in photos) == 2, photos
    assert "另有 99,990 个群" in to_plain(outs[0].doc), "ten groups shown, then the rest counted"
    return text, took, stall * 1000


async def _measure(path: Path) -> dict[str, object]:
    from bot.core.actions import Actions, Ctx
    from bot.core.actions.reports import WeeklyMessages, group_figures, this_week
    from bot.core.config import Config
    from bot.core.storage import Storage
    from content import load_model

    model = load_model()
    storage = Storage(path)
    config = Config.from_env({"STUDYBOT_ADMINS": "1"})
    actions = Actions(storage, model, config)

    async def members(key: str) -> int:
        return 30

    ctx = Ctx("tg:1", "tg", "private", "tg:1", "管理员", NOW, is_bot_admin=True, member_count=members)
    figures_ms = []
    for _ in range(RUNS):
        started = time.perf_counter()
        group_figures(storage, list(this_week(config.tzinfo, NOW)))
        figures_ms.append((time.perf_counter() - started) * 1000)
    texts, total, stalls = [], [], []
    for _ in range(RUNS):
        text, took, stall = await _stats(actions, ctx)
        texts.append(text * 1000)
        total.append(took * 1000)
        stalls.append(stall)
    weekly = WeeklyMessages(storage, config.tzinfo, lambda: actions.areas(None).admin)
    monday = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)
    started = time.perf_counter()
    message = await weekly.summary(monday)
    weekly_ms = (time.perf_counter() - started) * 1000
    storage.close()
    return {
        "group figures (top 10, today + week), median ms": statistics.median(figures_ms),
        "/stats first in the process: text, ms": texts[0],
        "/stats first in the process: the charts after it (imports matplotlib), ms": total[0],
        "/stats text, median of the rest, ms": statistics.median(texts[1:]),
        "/stats text, max of the rest, ms": max(texts[1:]),
        "/stats whole reply with 2 charts, median of the rest, ms": statistics.median(total[1:]),
        "/stats whole reply, max of the rest, ms": max(total[1:]),
        "/stats longest event-loop stall, max ms": max(stalls),
        "weekly summary (figures + chart) ms": weekly_ms,
        "weekly summary PNG bytes": len(message.image),
    }


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reports.db"
        seconds = build(path)
        figures: dict[str, object] = {
            "database: groups / answers": f"{GROUPS:,} / {ANSWERS:,}",
            "database build s": seconds,
            "database MB": path.stat().st_size / 1e6,
        }
        figures.update(asyncio.run(_measure(path)))
        return figures


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name}: {value}")
