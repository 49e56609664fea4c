"""bot/core/charts.py: what a chart costs.

In fresh processes (the median of 3): importing matplotlib's Figure and Agg canvas, importing
bot.core.charts, and the first chart of a process (the font registered and its 8 MB file read, then one
calendar drawn); and, since numpy now comes installed with matplotlib and sqlite-utils imports it when it
can, the bot's own imports (`bot.service`, `bot.core.actions`) with numpy and with it hidden. Then in this
process, warm: milliseconds per chart (the median and the slowest of 20) and the PNG's size, for the
12-week calendar (a count per day, and empty), learners per day over 30 and 90 days, and accuracy over the
bundled speech's seven parts.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RUNS = 20
TODAY = date(2024, 5, 15)

_TIMED = """
import sys, time
{before}
started = time.perf_counter()
{code}
print(time.perf_counter() - started)
"""


def fresh(code: str, before: str = "", runs: int = 3) -> float:
    """The median seconds `code` takes in a fresh interpreter (after `before`, untimed)."""
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _TIMED.format(before=before, code=code)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def cases() -> dict[str, object]:
    from bot.core import charts
    from content import load_model

    counts = {TODAY - timedelta(days=i): (i * 7) % 11 for i in range(84) if i % 4}
    parts = [(s.name, (i * 0.17) % 1, i * 37) for i, s in enumerate(load_model().sections)]
    return {
        "calendar": lambda: charts.study_calendar(counts, TODAY),
        "calendar empty": lambda: charts.study_calendar(set(), TODAY),
        "learners 30 days": lambda: charts.daily_learners_chart(
            [(TODAY - timedelta(days=i), 20 + i % 13) for i in range(30)]
        ),
        "learners 90 days": lambda: charts.daily_learners_chart(
            [(TODAY - timedelta(days=i), 20 + i % 13) for i in range(90)]
        ),
        "accuracy 7 parts": lambda: charts.accuracy_by_part_chart(parts),
    }


def main() -> dict[str, object]:
    figures: dict[str, object] = {"load average (1 min)": round(os.getloadavg()[0], 2)}
    figures["import matplotlib Figure + Agg, ms"] = 1000 * fresh(
        "import matplotlib.figure, matplotlib.backends.backend_agg"
    )
    figures["import bot.core.charts, ms"] = 1000 * fresh("import bot.core.charts")
    figures["first chart of a process (font loaded), ms"] = 1000 * fresh(
        "from bot.core import charts; import datetime; charts.study_calendar(set(), datetime.date(2024, 5, 15))",
        before="import bot.core.charts",
    )
    bot = "import bot.service, bot.core.actions"
    figures["import bot.service + actions, ms"] = 1000 * fresh(bot)
    figures["  the same with numpy hidden, ms"] = 1000 * fresh(bot, before="sys.modules['numpy'] = None")
    for name, draw in cases().items():
        draw()  # warm: the font loaded, the code paths run once
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            data = draw()
            times.append(time.perf_counter() - started)
        figures[f"{name}: ms p50"] = 1000 * statistics.median(times)
        figures[f"{name}: ms max"] = 1000 * max(times)
        figures[f"{name}: PNG KB"] = round(len(data) / 1024, 1)
    return figures


if __name__ == "__main__":
    for figure, value in main().items():
        print(f"{figure}: {value:.1f}" if isinstance(value, float) else f"{figure}: {value}")
