"""Telegram figures: the real `studybot run` process against the Bot API stand-in (tests/botapi_standin.py).

- update → reply latency for `/search 人才`, `/section 3`, `/quiz`: from the moment the update is in the
  stand-in's queue to the moment the bot's answering call (sendMessage; for /quiz the sendPoll that follows
  the heading) arrives at the stand-in. Sequential, one update at a time, after a warm-up. The bot long-polls,
  so an update is handed over when its pending getUpdates returns; the hand-over part is reported apart.
- process start → first getUpdates, over several starts, each with a fresh database and a fresh stand-in
  (jieba's disk cache, Python's bytecode caches and the OS page cache are warm: "cold-ish"); also process
  start → first reply to a /start that is already waiting (the content model loaded).
- resident memory of `studybot run` (VmRSS and VmHWM from /proc/<pid>/status) after the latency runs.
"""

from __future__ import annotations

import contextvars
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from botapi_standin import BotAPIStandin, Call  # noqa: E402

TOKEN = "123456:BENCH-token"
ALICE = 1002
QUIZ_USERS = 50_000  # /quiz comes from a fresh private chat each time: one active quiz per chat
SAMPLES = 200
WARMUP = 10
STARTS = 5
COMMANDS = [("search", "/search 人才", "sendMessage"), ("section", "/section 3", "sendMessage"),
            ("quiz", "/quiz", "sendPoll")]  # fmt: skip


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


_ARRIVED: contextvars.ContextVar[float] = contextvars.ContextVar("arrived")


class TimedStandin(BotAPIStandin):
    """The stand-in with timestamps (time.monotonic): when each update was queued and handed over by
    getUpdates, and when each call arrived (its request read, before the stand-in's own checks)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.queued_at: dict[int, float] = {}
        self.handed_at: dict[int, float] = {}
        self.arrived_at: list[float] = []  # parallel to self._calls

    async def _serve(self, request):
        # Each request is served in a task of its own, so a context variable keeps arrivals apart.
        _ARRIVED.set(time.monotonic())
        return await super()._serve(request)

    def _record(self, method, params, response, *, violation=False) -> None:
        with self._cond:
            self.arrived_at.append(_ARRIVED.get(time.monotonic()))
            super()._record(method, params, response, violation=violation)

    def _queue_update(self, kind, payload):
        update = super()._queue_update(kind, payload)  # the caller holds the lock: no poll sees it yet
        self.queued_at[update["update_id"]] = time.monotonic()
        return update

    def _get_updates(self, params, conn):
        updates = super()._get_updates(params, conn)
        now = time.monotonic()
        for update in updates:
            self.handed_at.setdefault(update["update_id"], now)
        return updates

    def wait_index(self, method: str, chat: int, after: int, timeout: float = 10.0) -> int:
        """Index of the first successful `method` call to `chat` at or after `after`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(after, len(self._calls)):
                    call: Call = self._calls[i]
                    if call.method == method and call.ok and str(call.params.get("chat_id")) == str(chat):
                        return i
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = [(c.method, c.ok, c.description) for c in self._calls[after:][-10:]]
                    raise TimeoutError(f"no {method} to {chat} within {timeout}s; recent calls: {recent}")
                self._cond.wait(remaining)

    def first_index(self, method: str) -> int | None:
        with self._lock:
            return next((i for i, c in enumerate(self._calls) if c.method == method), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def studybot_command() -> list[str]:
    script = Path(sys.executable).parent / "studybot"
    if script.exists():
        return [sys.executable, str(script), "run"]
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(['run']))"]


class BotProcess:
    """`studybot run` as a subprocess talking to `api`, with its own database in `workdir`."""

    def __init__(self, api: BotAPIStandin, workdir: Path, **extra: str):
        env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
        self.port = free_port()  # of its HTTP server
        env.update(
            STUDYBOT_TELEGRAM_TOKEN=TOKEN,
            STUDYBOT_TELEGRAM_API_URL=api.base_url,
            STUDYBOT_DB=str(workdir / "bot.db"),
            STUDYBOT_HTTP_PORT=str(self.port),
            STUDYBOT_LOG_LEVEL="WARNING",
            **extra,
        )
        self.log = open(workdir / "studybot.log", "wb")  # noqa: SIM115 - closed in stop()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            studybot_command(), env=env, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT
        )

    def status(self) -> dict[str, int]:
        """VmRSS, VmHWM ... of the process in kB."""
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.startswith("Vm"):
                out[key] = int(value.split()[0])
        return out

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def check_alive(self, workdir: Path) -> None:
        if self.proc.poll() is not None:
            log = (workdir / "studybot.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"studybot run exited with {self.proc.returncode}:\n{log}")


def one_start(workdir: Path) -> tuple[float, float]:
    """(process start → first getUpdates, process start → reply to a /start waiting in the queue), ms."""
    with TimedStandin(token=TOKEN) as api:
        api.add_user(ALICE, "小王")
        api.send_message(ALICE, ALICE, "/start")
        bot = BotProcess(api, workdir)
        try:
            deadline = time.monotonic() + 30
            while api.first_index("getUpdates") is None:
                bot.check_alive(workdir)
                if time.monotonic() > deadline:
                    raise TimeoutError("no getUpdates within 30 s")
                time.sleep(0.002)
            first_poll = api.arrived_at[api.first_index("getUpdates")] - bot.started
            reply = api.arrived_at[api.wait_index("sendMessage", ALICE, 0, timeout=30)] - bot.started
            api.assert_no_errors()
        finally:
            bot.stop()
    return first_poll * 1000, reply * 1000


def latency_run(api: TimedStandin, command: str, method: str, samples: int, users) -> dict[str, list[float]]:
    """Sequential samples: total (queued → answering call arrives), handover (queued → getUpdates returns it)."""
    total, handover = [], []
    for _ in range(samples):
        user = next(users)
        if user not in api._users:
            api.add_user(user, f"用户{user}")
        mark = api.mark()
        update = api.send_message(user, user, command)
        index = api.wait_index(method, user, mark)
        uid = update["update_id"]
        total.append((api.arrived_at[index] - api.queued_at[uid]) * 1000)
        handover.append((api.handed_at[uid] - api.queued_at[uid]) * 1000)
        time.sleep(0.005)  # let the reply's tail (response parsing, storage writes) finish
    return {"total": total, "handover": handover}


def main(samples: int = SAMPLES, starts: int = STARTS) -> dict[str, float]:
    figures: dict[str, float] = {"load average, 1 min, before (2 cores)": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-telegram-") as tmp:
        tmp = Path(tmp)
        # Start-up. One unmeasured start first, so jieba's disk cache and the bytecode caches exist.
        polls, replies = [], []
        for n in range(starts + 1):
            workdir = tmp / f"start{n}"
            workdir.mkdir()
            first_poll, reply = one_start(workdir)
            if n:
                polls.append(first_poll)
                replies.append(reply)
        figures[f"start → first getUpdates, median of {starts} (ms)"] = pct(polls, 50)
        figures[f"start → first getUpdates, max of {starts} (ms)"] = max(polls)
        figures[f"start → reply to a waiting /start, median of {starts} (ms)"] = pct(replies, 50)

        # Latency and memory, on one long-running process.
        workdir = tmp / "latency"
        workdir.mkdir()
        with TimedStandin(token=TOKEN) as api:
            api.add_user(ALICE, "小王")
            bot = BotProcess(api, workdir)
            try:
                mark = api.mark()
                api.send_message(ALICE, ALICE, "/start")
                api.wait_index("sendMessage", ALICE, mark, timeout=30)
                time.sleep(1.0)  # post-init calls (setMyCommands) out of the way
                rss_ready = bot.status()
                cpu0 = bot.cpu_seconds()
                quiz_users = iter(range(QUIZ_USERS, QUIZ_USERS + 10 * (samples + WARMUP)))
                for name, command, method in COMMANDS:
                    users = quiz_users if name == "quiz" else iter(lambda: ALICE, None)
                    latency_run(api, command, method, WARMUP, users)
                    bot.check_alive(workdir)
                    runs = latency_run(api, command, method, samples, users)
                    total, handover = runs["total"], runs["handover"]
                    figures[f"{command} p50 (ms)"] = pct(total, 50)
                    figures[f"{command} p95 (ms)"] = pct(total, 95)
                    figures[f"{command} max (ms)"] = max(total)
                    figures[f"{command} of it getUpdates hand-over p95 (ms)"] = pct(handover, 95)
                figures["latency runs: samples per command"] = samples
                figures["bot CPU during latency runs (s)"] = bot.cpu_seconds() - cpu0
                status = bot.status()
                figures["RSS when ready (MiB)"] = rss_ready["VmRSS"] / 1024
                figures["RSS after latency runs (MiB)"] = status["VmRSS"] / 1024
                figures["peak RSS, VmHWM (MiB)"] = status["VmHWM"] / 1024
                figures["stand-in refusals"] = len(api.errors)
            finally:
                bot.stop()
    return figures


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name:55s} {value:10.3f}")
