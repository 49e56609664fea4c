"""WeCom callback figures: the real `studybot run` process (the self-built app only) against the WeCom
stand-in (tests/wecom_standin.py), over local HTTP.

- callback answer latency: 500 encrypted, signed POSTs to /wecom/callback, one at a time, each from a
  new user with one of the usual commands (今日, 目录, 搜索 人才, 第三部分, …); timed from sending the
  request to having WeCom's answer ("success"), on a fresh connection each (the server closes it, as
  WeCom's own calls do not reuse one). The requests are built (encrypted and signed) beforehand: that is
  WeCom's work, not the bot's.
- reply latency: from sending the POST to the bot's first reply (message/send) arriving at the stand-in;
  the next POST is sent once it has, so every sample is measured on an otherwise idle bot.
- burst: the same 500 POSTs with 20 in flight at once (latency of each answer, and answers per second).
- the callback's own crypto (signature check, AES decryption, defusedxml parse) in this process.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from wecom_standin import WeComStandin, make_callback_request  # noqa: E402

from bot.channels.wecom.crypto import WeComCrypto, parse_message  # noqa: E402

SAMPLES = 500
WARMUP = 20
BURST_CONCURRENCY = 20
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
COMMANDS = [
    "今日",
    "目录",
    "搜索 人才",
    "第三部分",
    "我的",
    "帮助",
    "搜索 留人 环境",
    "/today",
    "答题",
    "设置",
]
TARGET_P95_MS = 50.0


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _studybot() -> str:
    script = Path(sys.executable).parent / "studybot"
    return str(script) if script.exists() else "studybot"


class Bot:
    """`studybot run` with the self-built app pointed at the stand-in, on a free port."""

    def __init__(self, standin: WeComStandin, workdir: str):
        self.port = _free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
        env = {
            **base,
            "STUDYBOT_DB": os.path.join(workdir, "bench.db"),
            "STUDYBOT_HTTP_PORT": str(self.port),
            "STUDYBOT_LOG_LEVEL": "WARNING",
            "STUDYBOT_WECOM_API_URL": standin.url,
            "STUDYBOT_WECOM_CORP_ID": standin.corp_id,
            "STUDYBOT_WECOM_AGENT_ID": str(standin.agent_id),
            "STUDYBOT_WECOM_SECRET": standin.corp_secret,
            "STUDYBOT_WECOM_TOKEN": TOKEN,
            "STUDYBOT_WECOM_AES_KEY": AES_KEY,
        }
        self.log = open(os.path.join(workdir, "bot.log"), "w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([_studybot(), "run"], env=env, stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}/wecom/callback"

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"studybot run exited: {self.output()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("studybot run did not serve /healthz")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.log.close()
        return code


def _requests(crypto: WeComCrypto, prefix: str, n: int) -> list[tuple[str, dict[str, str], bytes]]:
    """n signed, encrypted text messages from n new users: (user, query, body)."""
    out = []
    for i in range(n):
        user = f"{prefix}{i:04d}"
        params, body = make_callback_request(
            crypto, user, COMMANDS[i % len(COMMANDS)], int(time.time()), f"nonce{prefix}{i}"
        )
        out.append((user, params, body))
    return out


def _post(http: httpx.Client, url: str, params: dict[str, str], body: bytes) -> float:
    """One POST (the server closes each connection); its latency in ms, unless "success" did not come back."""
    started = time.perf_counter()
    response = http.post(url, params=params, content=body)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200 or response.text != "success":
        raise RuntimeError(f"callback answered {response.status_code} {response.text!r}")
    return elapsed


def _wait_reply(standin: WeComStandin, user: str, timeout: float = 10.0) -> float:
    """Wait for the first reply to user; return the stand-in's monotonic time of its arrival."""
    deadline = time.monotonic() + timeout
    while True:
        messages = standin.app_messages(user)
        if messages:
            return messages[0]["at"]
        if time.monotonic() > deadline:
            raise RuntimeError(f"no reply to {user}")
        time.sleep(0.0005)


def crypto_figures(crypto: WeComCrypto) -> dict[str, float]:
    """The callback's own crypto work per message, in this process."""
    samples = []
    requests = _requests(crypto, "c", 2000)
    for _, params, body in requests:
        started = time.perf_counter()
        inner = crypto.decrypt_message(
            body, params["msg_signature"], params["timestamp"], params["nonce"], time.time()
        )
        parse_message(inner)
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "verify+decrypt+parse p50 (ms)": pct(samples, 50),
        "verify+decrypt+parse p95 (ms)": pct(samples, 95),
    }


def main() -> dict[str, float | bool]:
    figures: dict[str, float | bool] = {}
    with tempfile.TemporaryDirectory() as workdir, WeComStandin() as standin:
        crypto = WeComCrypto(TOKEN, AES_KEY, standin.corp_id)
        bot = Bot(standin, workdir)
        http = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=BURST_CONCURRENCY))
        try:
            bot.wait_healthy()
            # Warm-up: the content model (jieba) loads while the server already answers; wait for replies.
            for user, params, body in _requests(crypto, "w", WARMUP):
                _post(http, bot.url, params, body)
                _wait_reply(standin, user, timeout=60)

            answers, replies = [], []
            for user, params, body in _requests(crypto, "s", SAMPLES):
                sent = time.monotonic()
                answers.append(_post(http, bot.url, params, body))
                replies.append((_wait_reply(standin, user) - sent) * 1000)
            figures["callback answer p50 (ms)"] = pct(answers, 50)
            figures["callback answer p95 (ms)"] = pct(answers, 95)
            figures["callback answer p99 (ms)"] = pct(answers, 99)
            figures["callback answer max (ms)"] = max(answers)
            figures["callback answer mean (ms)"] = statistics.fmean(answers)
            figures["callback p95 within 50 ms target"] = pct(answers, 95) <= TARGET_P95_MS
            figures["message → first reply p50 (ms)"] = pct(replies, 50)
            figures["message → first reply p95 (ms)"] = pct(replies, 95)

            burst = _requests(crypto, "b", SAMPLES)
            started = time.perf_counter()
            with ThreadPoolExecutor(BURST_CONCURRENCY) as pool:
                latencies = list(pool.map(lambda r: _post(http, bot.url, r[1], r[2]), burst))
            seconds = time.perf_counter() - started
            figures[f"burst ({BURST_CONCURRENCY} in flight) answer p50 (ms)"] = pct(latencies, 50)
            figures[f"burst ({BURST_CONCURRENCY} in flight) answer p95 (ms)"] = pct(latencies, 95)
            figures["burst answers per second"] = SAMPLES / seconds
            for user, _, _ in burst:
                _wait_reply(standin, user, timeout=60)
            figures["burst: every user got a reply"] = all(standin.app_messages(u) for u, _, _ in burst)
        finally:
            http.close()
            code = bot.stop()
        figures["clean exit on SIGTERM"] = code == 0
        figures.update(crypto_figures(crypto))
    return figures


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name:45s} {value:10.3f}" if not isinstance(value, bool) else f"{name:45s} {value!s:>10}")
