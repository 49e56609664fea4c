"""Content engine figures: import cost, model build (first and warm), search latency."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

QUERIES = ["人才", "留人 环境", "四个意识", "党建 引领", "习近平新时代中国特色社会主义思想", "钉钉子", "近悦远",
           "基层 党组织 政治功能", "干部", "廉洁", "量子计算", "😀", "hello", "人" * 6000, "。！？", "招"]  # fmt: skip


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> dict[str, float]:
    code = "import time,sys;t=time.perf_counter();import content;print(time.perf_counter()-t,'jieba' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    figures = {"import content (ms)": float(out[0]) * 1000, "jieba loaded by import": float(out[1] == "True")}

    from content import build_model, bundled_text
    from content.terms import release_build_caches, speech_dictionary

    text = bundled_text()
    t = time.perf_counter()
    build_model(text)
    figures["build model, first in the process (ms)"] = (time.perf_counter() - t) * 1000
    release_build_caches()
    t = time.perf_counter()
    speech_dictionary(text)
    figures["of it: the speech's words from jieba's dict.txt (ms)"] = (time.perf_counter() - t) * 1000
    build_model(text)  # warm: the speech's part of jieba's dictionary and the IDF table are cached
    builds = []
    for _ in range(20):
        t = time.perf_counter()
        model = build_model(text)
        builds.append((time.perf_counter() - t) * 1000)
    figures["build model warm, median (ms)"] = statistics.median(builds)
    figures["build model warm, p95 (ms)"] = pct(builds, 95)
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
        print(f"{name:45s} {value:10.3f}")
