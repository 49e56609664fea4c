"""Delivery figures (issue 4): broadcast throughput and 429s against the Bot API stand-in, the due-chat
query over 100,000 chats, and 10,000 daily pushes due in the same minute.

Run ``python benchmarks/bench_delivery.py``; ``main()`` returns the figures as a dict.

The bot side is the production path: ``TelegramChannel.build()`` (python-telegram-bot's Application and
its HTTP client), ``TelegramSender``, ``jobs.pacing.Pacer``, ``BroadcastRunner`` / ``DailyPush`` and a
``Storage`` on a SQLite file. The stand-in (``tests/botapi_standin.py``, a strict Bot API fake on
``aiohttp.web``) runs in a separate process (this file with ``--standin-host``), so the bot and
the fake do not share one GIL; each side's CPU time is reported so that it is visible which one limits
the throughput. Its ``rate_limit`` is set to the bot's own rate: any second in which the bot's sends
arrive more than ``rate`` times is answered with 429 and counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOKEN = "123456:BENCH-token"
ADMIN = 1
LATENCY = 0.020
FIRST_USER = 1_000_000


# ------------------------------------------------------------------------------------ stand-in process


def _host() -> None:
    """The stand-in's side: one JSON command per stdin line, one JSON answer per stdout line."""
    sys.path.insert(0, str(ROOT / "tests"))
    from botapi_standin import BotAPIStandin

    api = BotAPIStandin(token=TOKEN).start()
    out = sys.stdout
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("op")
        answer: Any = None
        if op == "url":
            answer = api.base_url
        elif op == "users":
            for uid in range(cmd["first"], cmd["first"] + cmd["n"]):
                api.add_user(uid, f"u{uid}")
                api.add_chat(uid, "private")
        elif op == "faults":
            api.latency = cmd["latency"]
            api.rate_limit(global_per_second=cmd.get("global_per_second"), per_chat_per_minute=20)
        elif op == "stats":
            delivered = api.delivered
            times = sorted(d.at for items in delivered.values() for d in items)
            answer = {
                "delivered": len(times),
                "chats": len(delivered),
                "most_to_one_chat": max((len(items) for items in delivered.values()), default=0),
                "first": times[0] if times else None,
                "last": times[-1] if times else None,
                "max_in_window": api.max_in_window(None, 1.0),
                "count_429": api.count_429,
                "errors": len(api.errors),
                "cpu": sum(os.times()[:2]),
            }
        elif op == "stop":
            break
        out.write(json.dumps({"ok": True, "result": answer}) + "\n")
        out.flush()
    api.stop()


class RemoteStandin:
    """A Bot API stand-in in its own process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--standin-host"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.base_url: str = self.call("url")

    def call(self, op: str, **kwargs: Any) -> Any:
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the stand-in process died")
        return json.loads(line)["result"]

    def close(self) -> None:
        try:
            self.call("stop")
        except (RuntimeError, OSError, ValueError):
            pass
        self.proc.wait(timeout=10)


# ------------------------------------------------------------------------------------ bot side


def _insert_chats(storage, keys: list[str], push_time: str, zone: str, next_due: int | None) -> None:
    """Bulk-insert subscribed private Telegram chats (ensure_chat + subscribe one by one is slow)."""
    now = int(time.time())
    with storage._lock:
        storage.db.conn.execute("BEGIN IMMEDIATE")
        storage.db.conn.executemany(
            "INSERT INTO chats (key, channel, chat_type, timezone, push_time, subscribed, blocked, plan_pos, "
            "next_due, created_at, updated_at, plan_done) VALUES (?, 'tg', 'private', ?, ?, 1, 0, 0, ?, ?, ?, 0)",
            [(key, zone, push_time, next_due, now, now) for key in keys],
        )
        storage.db.conn.execute("COMMIT")


class Bot:
    """The production sending path on a fresh database, pointed at the stand-in."""

    def __init__(self, base_url: str, db_dir: str) -> None:
        self.base_url = base_url
        self.db_path = os.path.join(db_dir, "bench.db")

    async def __aenter__(self) -> Bot:
        from bot.channels.telegram import TelegramChannel, TelegramSender
        from bot.core.config import Config
        from bot.core.storage import Storage

        env = {
            "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
            "STUDYBOT_TELEGRAM_API_URL": self.base_url,
            "STUDYBOT_DB": self.db_path,
        }
        self.config = replace(Config.from_env(env), http_port=0)
        self.storage = Storage(self.db_path)
        self.channel = TelegramChannel(self.config, self.storage, lambda: None)
        self.app = self.channel.build()
        await self.app.initialize()
        self.sender = TelegramSender(self.channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sender.aclose()
        await self.app.shutdown()
        self.storage.close()


async def _broadcast(
    n: int, rate: float, concurrency: int | None = None, latency: float = LATENCY
) -> dict[str, float]:
    from bot.core.actions import BroadcastMessages, Message, broadcast_recipients
    from bot.core.render import Doc
    from jobs.broadcast import BroadcastRunner
    from jobs.pacing import Pacer

    standin = RemoteStandin()
    try:
        standin.call("users", first=ADMIN, n=1)
        standin.call("users", first=FIRST_USER, n=n)
        with tempfile.TemporaryDirectory() as tmp:
            async with Bot(standin.base_url, tmp) as bot:
                keys = [f"tg:{uid}" for uid in range(FIRST_USER, FIRST_USER + n)]
                _insert_chats(bot.storage, keys, "08:00", "Asia/Shanghai", None)
                now = datetime.now(UTC)
                broadcast_id = bot.storage.create_broadcast(
                    f"tg:{ADMIN}", "本周五下午集中学习，请准时参加", now
                )
                bot.storage.start_broadcast(broadcast_id, broadcast_recipients(bot.storage), now)
                progress = await bot.sender.send(f"tg:{ADMIN}", Message(Doc().add("📤 开始发送……")))
                bot.storage.set_progress_message(broadcast_id, f"tg:{ADMIN}", progress)
                standin.call("faults", latency=latency, global_per_second=int(rate))
                before = standin.call("stats")
                cpu0 = sum(os.times()[:2])
                t0 = time.monotonic()
                runner = BroadcastRunner(
                    bot.storage, BroadcastMessages(), {"tg": bot.sender}, Pacer(rate), concurrency=concurrency
                )
                counts = await runner.run(broadcast_id)
                elapsed = time.monotonic() - t0
                cpu = sum(os.times()[:2]) - cpu0
                after = standin.call("stats")
    finally:
        standin.close()
    delivered = after["delivered"] - before["delivered"]
    standin_cpu = after["cpu"] - before["cpu"]
    return {
        "chats": n,
        "rate (/s)": rate,
        "sends in flight at most (runner concurrency)": runner.concurrency,
        "delivered": delivered,
        "sent (runner)": counts["sent"],
        "failed (runner)": counts["failed"],
        "most to one chat": after["most_to_one_chat"],
        "elapsed (s)": elapsed,
        "efficiency": delivered / (elapsed * rate),
        "achieved (/s)": delivered / elapsed,
        "429s": after["count_429"],
        "max in any 1 s at the stand-in": after["max_in_window"],
        "bot CPU (% of one core)": 100 * cpu / elapsed,
        "bot CPU per send (ms)": 1000 * cpu / max(1, delivered),
        "stand-in CPU (% of one core)": 100 * standin_cpu / elapsed,
        "stand-in CPU per send (ms)": 1000 * standin_cpu / max(1, delivered),
        "stand-in errors": after["errors"],
    }


def _due_query(n: int = 100_000, runs: int = 200) -> dict[str, float]:
    from bot.core.storage import Storage, epoch
    from jobs.daily import BATCH

    rng = random.Random(4)
    start = datetime(2026, 11, 24, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(os.path.join(tmp, "due.db"))
        try:
            # Push times spread over the day, as 100,000 chats choosing their own times would be.
            now = int(time.time())
            rows = []
            for i in range(n):
                due = epoch(start) + rng.randrange(86_400)
                rows.append((f"tg:{FIRST_USER + i}", due, now, now))
            with storage._lock:
                storage.db.conn.execute("BEGIN IMMEDIATE")
                storage.db.conn.executemany(
                    "INSERT INTO chats (key, channel, chat_type, timezone, push_time, subscribed, blocked, "
                    "plan_pos, next_due, created_at, updated_at, plan_done) "
                    "VALUES (?, 'tg', 'private', 'Asia/Shanghai', '08:00', 1, 0, 0, ?, ?, ?, 0)",
                    rows,
                )
                storage.db.conn.execute("COMMIT")
                storage.db.execute("ANALYZE")
            channels = {"tg": None, "robot": None}

            def timed(at: int) -> tuple[float, int]:
                t = time.perf_counter()
                found = storage.due_chats(at, limit=BATCH, channels=channels)
                return (time.perf_counter() - t) * 1000, len(found)

            # A tick finds what came due since the previous one (20 s): the others have next_due tomorrow.
            storage.db.execute(
                "UPDATE chats SET next_due = next_due + 86400 WHERE next_due <= ?", [epoch(start) + 43_200]
            )
            typical, sizes = [], []
            for _ in range(runs):
                ms, size = timed(epoch(start) + 43_200 + rng.randrange(20))
                typical.append(ms)
                sizes.append(size)
            # Worst case: more chats due than one batch (everyone at the same time): a full batch of 2,000.
            full = [timed(epoch(start) + 86_400 * 2)[0] for _ in range(runs // 4)]
            plan = storage.db.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM chats WHERE next_due <= ? AND subscribed = 1 AND blocked = 0 "
                "AND channel IN (?, ?) ORDER BY next_due LIMIT ?",
                [0, "robot", "tg", BATCH],
            ).fetchall()
        finally:
            storage.close()
    return {
        "chats": n,
        "plan": " / ".join(row[-1] for row in plan),
        "rows per typical tick": statistics.median(sizes),
        "typical tick: median (ms)": statistics.median(typical),
        "typical tick: p95 (ms)": _pct(typical, 95),
        f"full batch of {BATCH}: median (ms)": statistics.median(full),
        f"full batch of {BATCH}: p95 (ms)": _pct(full, 95),
    }


async def _daily_minute(n: int = 10_000, rate: float = 1000) -> dict[str, float]:
    from bot.core import schedule
    from bot.core.actions import Actions
    from bot.core.schedule import scheduled_instant
    from bot.core.storage import epoch
    from content import load_model
    from jobs.daily import DailyPush
    from jobs.pacing import Pacer

    model = load_model()
    standin = RemoteStandin()
    try:
        standin.call("users", first=FIRST_USER, n=n)
        with tempfile.TemporaryDirectory() as tmp:
            async with Bot(standin.base_url, tmp) as bot:
                zone = ZoneInfo("Asia/Shanghai")
                today = datetime.now(zone).date()
                due = scheduled_instant(zone, datetime.strptime("08:00", "%H:%M").time(), today)
                keys = [f"tg:{uid}" for uid in range(FIRST_USER, FIRST_USER + n)]
                _insert_chats(bot.storage, keys, "08:00", "Asia/Shanghai", epoch(due))
                actions = Actions(bot.storage, model, bot.config, robot_count=0)
                push = DailyPush(bot.storage, actions, {"tg": bot.sender}, Pacer(rate), schedule)
                standin.call("faults", latency=LATENCY, global_per_second=int(rate))
                cpu0 = sum(os.times()[:2])
                t0 = time.monotonic()
                # The first tick of the minute, at :00 (a tick every 20 s may start up to 20 s later).
                report = await push.tick(due + timedelta(seconds=0.5))
                elapsed = time.monotonic() - t0
                cpu = sum(os.times()[:2]) - cpu0
                stats = standin.call("stats")
                again = await push.tick(due + timedelta(seconds=20))
    finally:
        standin.close()
    return {
        "chats due": n,
        "rate (/s)": rate,
        "sent": report.sent,
        "failed": report.failed,
        "delivered": stats["delivered"],
        "most to one chat": stats["most_to_one_chat"],
        "last delivered after the tick began (s)": stats["last"] - t0,
        "tick duration (s)": elapsed,
        "achieved (/s)": stats["delivered"] / elapsed,
        "429s": stats["count_429"],
        "sent by a second tick": again.sent,
        "bot CPU (% of one core)": 100 * cpu / elapsed,
        "stand-in errors": stats["errors"],
    }


async def _client_cost(n: int = 300) -> dict[str, Any]:
    """Where a send's CPU goes on the bot's side: one send at a time (no pacing, no concurrency)."""
    import importlib.util

    import httpx

    from bot.core.actions import Message, broadcast_doc

    standin = RemoteStandin()
    try:
        standin.call("users", first=FIRST_USER, n=n)
        with tempfile.TemporaryDirectory() as tmp:
            async with Bot(standin.base_url, tmp) as bot:
                message = Message(broadcast_doc("本周五下午集中学习，请准时参加"))
                await bot.sender.send(f"tg:{FIRST_USER}", message)  # the connection is open
                cpu = time.process_time()
                for uid in range(FIRST_USER, FIRST_USER + n):
                    await bot.sender.send(f"tg:{uid}", message)
                ptb = (time.process_time() - cpu) / n * 1000
        async with httpx.AsyncClient() as client:
            url = f"{standin.base_url}{TOKEN}/getMe"
            await client.post(url)
            cpu = time.process_time()
            for _ in range(n):
                await client.post(url)
            raw = (time.process_time() - cpu) / n * 1000
    finally:
        standin.close()
    return {
        "TelegramSender.send one at a time: bot CPU per send (ms)": ptb,
        "one core's worth of such sends (/s)": 1000 / ptb,
        "httpx POST alone: CPU per request (ms)": raw,
        # httpcore 1.0 imports sniffio on every lock it sets up; anyio 4.16 no longer installs it, so
        # each request pays for a few failed imports (a sys.path search each).
        "sniffio importable": importlib.util.find_spec("sniffio") is not None,
    }


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> dict[str, float]:
    """Run every scenario; return the figures as one flat dict."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    figures: dict[str, float] = {}

    def add(prefix: str, values: dict[str, Any]) -> None:
        for name, value in values.items():
            figures[f"{prefix}: {name}"] = value

    add("(a) broadcast 10,000 at 1,000/s", asyncio.run(_broadcast(10_000, 1000.0)))
    add("(b) broadcast 500 at 25/s", asyncio.run(_broadcast(500, 25.0)))
    # A server far from Telegram: 300 ms for every answer.
    add("(b2) broadcast 250 at 25/s, 300 ms latency", asyncio.run(_broadcast(250, 25.0, latency=0.3)))
    add("(c) due query over 100,000 chats", _due_query())
    add("(d) 10,000 due in one minute at 1,000/s", asyncio.run(_daily_minute()))
    add("(e) bottleneck", asyncio.run(_client_cost()))
    for concurrency in (8, 32):
        result = asyncio.run(_broadcast(2000, 1000.0, concurrency=concurrency))
        for name in ("achieved (/s)", "bot CPU (% of one core)", "bot CPU per send (ms)", "429s"):
            figures[f"(e) 2,000 at 1,000/s with {concurrency} in flight: {name}"] = result[name]
    return figures


if __name__ == "__main__":
    if sys.argv[1:] == ["--standin-host"]:
        _host()
    else:
        for name, value in main().items():
            shown = f"{value:12.3f}" if isinstance(value, float) else f"{value!s:>12}"
            print(f"{name:70s} {shown}")
