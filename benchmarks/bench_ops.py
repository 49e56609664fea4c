"""Operations figures: webhook mode and /metrics of the real `studybot run` process.

- webhook update → reply: an update POSTed to the bot's webhook route (as Telegram, or the reverse proxy
  in front of the bot, does) until the bot's sendMessage arrives at the Bot API stand-in; `/help` and
  `/search 人才`, sequential, after a warm-up. The POST itself is answered before the reply is made.
- /metrics: the time to answer a scrape (GET, the whole page read), on a database of 100,000 chats (the
  due-chats and broadcast-queue gauges are counts over it), and the page's size.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx
from bench_telegram import BotProcess, TimedStandin, pct

TOKEN = "123456:BENCH-token"
USER = 1002
SECRET = "bench-secret"
PATH = "/telegram/updates"
SAMPLES = 300
WARMUP = 20
CHATS = 100_000


def update(update_id: int, text: str) -> dict:
    sender = {"id": USER, "is_bot": False, "first_name": "小王"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": USER, "type": "private", "first_name": "小王"},
            "from": sender,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


def fill_chats(db: Path, n: int) -> None:
    """n subscribed chats, a tenth of them due now, through the bot's own schema. WeCom app users: this
    bot has no WeCom app, so it sends them nothing and the tenth stays due for the gauge to count."""
    from bot.core.storage import Storage

    Storage(str(db)).close()  # the schema, migrated
    now = int(time.time())
    with sqlite3.connect(db) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(chats)")}
        rows = [
            (f"wecom:user{i}", "wecom", "private", "Asia/Shanghai", "08:00", 1, 0,
             now - 60 if i % 10 == 0 else now + 3600, now, now)
            for i in range(n)
        ]  # fmt: skip
        names = [
            "key",
            "channel",
            "chat_type",
            "timezone",
            "push_time",
            "subscribed",
            "blocked",
            "next_due",
            "created_at",
            "updated_at",
        ]
        assert set(names) <= columns, columns
        conn.executemany(
            f"INSERT INTO chats ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", rows
        )


def main() -> dict:
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp, TimedStandin(token=TOKEN) as api:
        workdir = Path(tmp)
        api.add_user(USER, "小王")
        api.add_chat(USER, "private")
        fill_chats(workdir / "bot.db", CHATS)
        bot = BotProcess(
            api,
            workdir,
            STUDYBOT_TELEGRAM_WEBHOOK_URL=f"https://bot.example.org{PATH}",
            STUDYBOT_TELEGRAM_WEBHOOK_SECRET=SECRET,
        )
        try:
            base = f"http://127.0.0.1:{bot.port}"
            with httpx.Client(timeout=10) as http:
                wait_healthy(http, base)
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
                for name, text in (("help", "/help"), ("search", "/search 人才")):
                    latencies = []
                    for i in range(WARMUP + SAMPLES):
                        body = json.dumps(update(len(api.calls) * 7 + i + 1, text))
                        after = len(api.calls)
                        started = time.monotonic()
                        answer = http.post(base + PATH, content=body, headers=headers)
                        assert answer.status_code == 200, answer.text
                        index = api.wait_index("sendMessage", USER, after)
                        if i >= WARMUP:
                            latencies.append(api.arrived_at[index] - started)
                    figures[f"webhook {name} → reply p50 ms"] = 1000 * pct(latencies, 50)
                    figures[f"webhook {name} → reply p95 ms"] = 1000 * pct(latencies, 95)
                scrapes = []
                for _ in range(WARMUP + SAMPLES):
                    started = time.monotonic()
                    page = http.get(base + "/metrics")
                    scrapes.append(time.monotonic() - started)
                    assert page.status_code == 200
                scrapes = scrapes[WARMUP:]
                figures[f"/metrics p50 ms ({CHATS:,} chats)"] = 1000 * pct(scrapes, 50)
                figures[f"/metrics p95 ms ({CHATS:,} chats)"] = 1000 * pct(scrapes, 95)
                figures["/metrics page bytes"] = len(page.content)
                due = next(line for line in page.text.splitlines() if line.startswith("studybot_due_chats "))
                figures["due chats on the page"] = int(float(due.split()[1]))
        finally:
            bot.stop()
    return figures


def wait_healthy(http: httpx.Client, base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http.get(base + "/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError("the bot never reported healthy")


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key}: {value}")
