"""Content engine figures: import cost, model build (fresh process, warm), search latency.

The 10,000-character speech is two of the test speeches joined (tests/data/speeches): a fresh process
imports the engine and builds it with jieba's dictionary loaded from scratch (through the index of dict.txt
in the temp directory, content/dictindex.py; and once with an empty temp directory, as on a machine's first
run, where the index is built); warm is a build in a process that has built another speech before (jieba
already imported), and a rebuild of the same text.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEECHES = ROOT / "tests" / "data" / "speeches"
QUERIES = ["人才", "留人 环境", "四个意识", "党建 引领", "习近平新时代中国特色社会主义思想", "钉钉子", "近悦远",
           "基层 党组织 政治功能", "干部", "廉洁", "量子计算", "😀", "hello", "人" * 6000, "。！？", "招"]  # fmt: skip


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def speech_10k() -> str:
    """A 10,000-character speech: one test speech and the body of another, cut at a paragraph end."""
    sys.path.insert(0, str(ROOT))
    from content import read_text

    first = read_text(SPEECHES / "s12-long-utf16.txt")
    second = read_text(SPEECHES / "s09-dun-runin-gbk.txt").split("同志们：", 1)[1]
    text = first.rstrip("\n").removesuffix("谢谢大家！") + second
    cut = text.rfind("\n", 0, 10_000)
    return text[:cut]


FRESH = """
import sys, time
sys.path.insert(0, {root!r})
t = time.perf_counter()
from content import build_model
build_model(open({path!r}, encoding="utf-8").read())
print(time.perf_counter() - t)
"""


def main() -> dict[str, float]:
    code = "import time,sys;t=time.perf_counter();import content;print(time.perf_counter()-t,'jieba' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    figures = {"import content (ms)": float(out[0]) * 1000, "jieba loaded by import": float(out[1] == "True")}

    big = speech_10k()
    figures["benchmark speech (characters)"] = float(len(big))
    path = Path("/tmp/studybot-bench-10k.txt")
    path.write_text(big, encoding="utf-8")
    fresh = []
    for _ in range(3):
        run = subprocess.run(
            [sys.executable, "-c", FRESH.format(root=str(ROOT), path=str(path))],
            capture_output=True,
            text=True,
            check=True,
        )
        fresh.append(float(run.stdout.strip()) * 1000)
    figures["10k speech, fresh process, dictionary load included, median of 3 (ms)"] = statistics.median(
        fresh
    )
    with tempfile.TemporaryDirectory() as empty:  # no index of dict.txt there: this run builds it
        run = subprocess.run(
            [sys.executable, "-c", FRESH.format(root=str(ROOT), path=str(path))],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TMPDIR": empty},
        )
    figures["10k speech, fresh process, empty temp dir (the dictionary index built) (ms)"] = (
        float(run.stdout.strip()) * 1000
    )

    from content import build_model, bundled_text

    build_model(bundled_text())  # jieba's dictionary is read once per process
    t = time.perf_counter()
    model = build_model(big)
    figures["10k speech, warm process, first build of it (ms)"] = (time.perf_counter() - t) * 1000
    builds = []
    for _ in range(10):
        t = time.perf_counter()
        model = build_model(big)
        builds.append((time.perf_counter() - t) * 1000)
    figures["10k speech, rebuild, median (ms)"] = statistics.median(builds)
    times = []
    for _ in range(100):
        for q in QUERIES:
            t = time.perf_counter()
            model.search(q)
            times.append((time.perf_counter() - t) * 1000)
    figures["search p50 (ms)"] = pct(times, 50)
    figures["search p95 (ms)"] = pct(times, 95)
    figures["search max (ms)"] = max(times)
    return figures


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name:72s} {value:10.3f}")
