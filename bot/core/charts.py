"""Charts as PNG bytes, for the replies where a picture says more than lines of figures: a user's study
calendar (/me) and the admin's learners per day and accuracy by part (/stats).

Pure: figures in, PNG bytes out; the same figures give the same bytes. Each chart is its own
`matplotlib.figure.Figure` drawn by `FigureCanvasAgg`: no pyplot, no GUI backend, no global rcParams
changed, so charts may be drawn in worker threads at the same time. Every piece of text gets the
project's Simplified-Chinese font by its own `fontproperties`: Noto Sans SC Regular (SIL OFL 1.1), shipped
by the PyPI package pylopdf-fonts-zh-cn and registered with matplotlib's font manager at first use, so
Chinese labels never come out as empty boxes whatever fonts the machine has. DejaVu Sans (matplotlib's
own) stands behind it for a character it lacks.

Importing this module imports matplotlib (about 0.5 s; the first chart then reads the font, ~70 ms more;
`benchmarks/bench_charts.py`): nothing imports it at start-up, the handlers that send a chart import it
when they first need one. A chart then takes 35–90 ms.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from pylopdf_fonts_zh_cn import sans_path

DPI = 120  # chat-sized: the /stats charts 768 px wide (6.4 in), the 12-week calendar 528 px
FAMILY = "Noto Sans SC"
MONTHS = ("一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月")
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
# GitHub's greens: no study, then four levels of more.
LEVELS = ("#ebedf0", "#9be9a8", "#40c463", "#30a14e", "#216e39")
INK, GREY, BLUE = "#1f2328", "#57606a", "#4c8bf5"
GOOD, FAIR, WEAK = "#40c463", "#f2a93b", "#e5534b"  # accuracy ≥ 80%, ≥ 60%, below

_lock = threading.Lock()
_registered = False


def font_path() -> Path:
    """The project's CJK font file (Noto Sans SC Regular, from pylopdf-fonts-zh-cn)."""
    return sans_path()


def _font(size: float) -> font_manager.FontProperties:
    """The project's font at `size` points, registered with matplotlib on the first call; DejaVu Sans
    for any character it lacks."""
    global _registered
    with _lock:
        if not _registered:
            font_manager.fontManager.addfont(font_path())
            _registered = True
    return font_manager.FontProperties(family=[FAMILY, "DejaVu Sans"], size=size)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    """The figure as PNG; no metadata, so the bytes depend on the drawing alone."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return out.getvalue()


def _plain(ax, *, keep: Sequence[str] = ()) -> None:
    """No frame but the spines in `keep`, no tick marks."""
    for name, spine in ax.spines.items():
        spine.set_visible(name in keep)
        spine.set_color("#d0d7de")
    ax.tick_params(length=0, colors=GREY)


def _text_width(text: str, size: float) -> float:
    """About how wide `text` is in inches at `size` points: a CJK character is one em, others half."""
    ems = sum(1.0 if ord(ch) > 0x2E7F else 0.55 for ch in text)
    return ems * size / 72


def _square(x: float, y: float, colour: str, **style) -> FancyBboxPatch:
    """A calendar square with rounded corners in the cell whose top left corner is (x, y)."""
    return FancyBboxPatch((x + 0.1, y + 0.1), 0.8, 0.8, boxstyle="round,pad=0,rounding_size=0.15",
                          facecolor=colour, **style)  # fmt: skip


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------ calendar


def calendar_cells(
    days: set[date] | Mapping[date, int], today: date, weeks: int = 12
) -> dict[date, tuple[int, int, int]]:
    """The squares of `study_calendar`: each day of the last `weeks` weeks up to `today` (none after it)
    as (column, row, level). Column 0 is the week of the first Monday shown, the last one today's week;
    row 0 is Monday. Level 0 is a day without study; a set's days are level 4, a count per day is
    drawn in four levels relative to the largest count in view."""
    if not 6 <= weeks <= 53:
        raise ValueError(f"weeks must be 6 to 53, not {weeks}")
    counts = {d: 1 for d in days} if isinstance(days, set | frozenset) else dict(days)
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))  # Monday of the first column
    shown = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    top = max((counts.get(d, 0) for d in shown), default=0)

    def level(n: int) -> int:
        return 0 if n <= 0 else max(1, min(4, math.ceil(4 * n / top)))

    return {d: ((d - first).days // 7, d.weekday(), level(counts.get(d, 0))) for d in shown}


def month_labels(today: date, weeks: int = 12) -> list[tuple[int, str]]:
    """(column, 一月…十二月) over the calendar: a month's name over the week its first day falls in
    (over the first week, the month its Sunday is in), the first left out when the next follows within
    three weeks, so that no two names overlap."""
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    sundays = [first + timedelta(weeks=column, days=6) for column in range(weeks)]
    columns = [c for c in range(weeks) if c == 0 or sundays[c].month != sundays[c - 1].month]
    if len(columns) > 1 and columns[1] < 3:
        columns.pop(0)
    return [(c, MONTHS[sundays[c].month - 1]) for c in columns]


def study_calendar(
    days: set[date] | Mapping[date, int], today: date, weeks: int = 12, title: str = "学习日历"
) -> bytes:
    """The last `weeks` weeks up to `today` as a GitHub-style heatmap, PNG: one column per week, Monday
    on top, a square per day coloured by its level (`calendar_cells`), month names over the columns
    (`month_labels`), today outlined, the legend 少…多, and the number of days studied.

    `days`: the set of days studied, or a count per day (answers, say). 6 ≤ `weeks` ≤ 53."""
    cells = calendar_cells(days, today, weeks)
    cell = 0.3  # inches per square
    left, right, above, below = 0.55, 0.25, 0.95, 0.42
    width, height = left + weeks * cell + right, above + 7 * cell + below
    fig = _figure(width, height)
    ax = fig.add_axes((left / width, below / height, weeks * cell / width, 7 * cell / height))
    ax.set_xlim(0, weeks)
    ax.set_ylim(7.0, 0.0)  # Monday on top
    ax.set_axis_off()

    plain, outlined = {"edgecolor": "none"}, {"edgecolor": INK, "linewidth": 1.8}  # today outlined
    squares = [
        _square(column, row, LEVELS[level], **(outlined if d == today else plain))
        for d, (column, row, level) in cells.items()
    ]
    small = _font(8)
    for row, name in enumerate(WEEKDAYS):
        ax.text(-0.2, row + 0.5, name, ha="right", va="center", color=GREY, fontproperties=small)
    for column, name in month_labels(today, weeks):
        ax.text(column + 0.1, -0.3, name, ha="left", va="bottom", color=GREY, fontproperties=small)

    fig.text(0.12 / width, 1 - 0.1 / height, title, ha="left", va="top", color=INK, fontproperties=_font(13))
    studied = sum(1 for _, _, level in cells.values() if level)
    summary = f"近 {weeks} 周学习 {studied} 天 · 方框为今天（{today.month}月{today.day}日）"
    fig.text(0.12 / width, 1 - 0.42 / height, summary, ha="left", va="top", color=GREY, fontproperties=small)
    # The legend, right-aligned under the grid: 少 ■■■■■ 多
    y = 7.25
    ax.text(weeks - 5.75, y + 0.4, "少", ha="right", va="center", color=GREY, fontproperties=small)
    squares += [_square(weeks - 5.7 + i, y, colour, **plain) for i, colour in enumerate(LEVELS)]
    # One collection, not a patch each: half the time of the chart.
    ax.add_collection(PatchCollection(squares, match_original=True, clip_on=False), autolim=False)
    ax.text(weeks - 0.65, y + 0.4, "多", ha="left", va="center", color=GREY, fontproperties=small)
    return _png(fig)


# ------------------------------------------------------------------ /stats


def _empty(fig: Figure, title: str) -> bytes:
    fig.text(0.5, 0.5, "暂无数据", ha="center", va="center", color=GREY, fontproperties=_font(11))
    fig.text(0.03, 0.95, title, ha="left", va="top", color=INK, fontproperties=_font(13))
    return _png(fig)


def daily_learners_chart(series: Sequence[tuple[date, int]], title: str = "每日学习人数") -> bytes:
    """Learners per day as bars, PNG: `series` is (date, learners), one per date, in any order (a date
    missing from it is a gap); the counts over the bars when there are at most 31, dates as 5/1 under
    them (about eight, the last day always), "暂无数据" when the series is empty."""
    fig = _figure(6.4, 3.0)
    points = sorted(series)
    if not points:
        return _empty(fig, title)
    first = points[0][0]
    xs = [(d - first).days for d, _ in points]
    ys = [max(0, int(n)) for _, n in points]
    ax = fig.add_axes((0.09, 0.14, 0.88, 0.68))
    _plain(ax, keep=("bottom",))
    span = xs[-1] + 1
    ax.bar(xs, ys, width=0.7, color=BLUE)
    ax.set_xlim(-0.6, span - 0.4)
    peak = max(ys) or 1
    ax.set_ylim(0, peak * 1.18)
    small = _font(8)
    step = max(1, math.ceil(span / 8))
    ticks = list(range(xs[-1], -1, -step))[::-1]  # the last day always labelled
    days = [first + timedelta(days=x) for x in ticks]
    ax.set_xticks(ticks, [f"{d.month}/{d.day}" for d in days], fontproperties=small)
    y_step = max(1, math.ceil(peak / 4))
    y_ticks = list(range(0, peak + 1, y_step))
    ax.set_yticks(y_ticks, [str(y) for y in y_ticks], fontproperties=small)
    ax.grid(axis="y", color="#eaeef2", linewidth=0.8)
    ax.set_axisbelow(True)
    if len(points) <= 31:
        for x, y in zip(xs, ys, strict=True):
            ax.text(x, y + peak * 0.02, str(y), ha="center", va="bottom", color=GREY, fontproperties=_font(7))
    fig.text(0.03, 0.95, title, ha="left", va="top", color=INK, fontproperties=_font(13))
    fig.text(0.03, 0.86, "人数", ha="left", va="top", color=GREY, fontproperties=small)
    return _png(fig)


def accuracy_by_part_chart(parts: Sequence[tuple[str, float, int]], title: str = "各部分正确率") -> bytes:
    """Accuracy per part as horizontal bars, in the order given (top to bottom): the part's name (cut at
    18 characters), a bar from 0 to 100% coloured green from 80%, amber from 60%, red below, and
    "83%（120 次）" at its end (未答题 for a part without answers). `parts`: (name, accuracy 0–1, answers).
    """
    rows = [(_clip(name, 18), min(1.0, max(0.0, float(acc or 0))), int(n)) for name, acc, n in parts]
    height = 1.05 + 0.36 * max(1, len(rows))  # 0.7 in above the bars, 0.35 below
    fig = _figure(6.4, height)
    if not rows:
        return _empty(fig, title)
    label = _font(9)
    left = min(3.2, 0.2 + max(_text_width(name, 9) for name, _, _ in rows))
    right = 1.15  # room for "100%（1,234 次）"
    ax = fig.add_axes((left / 6.4, 0.35 / height, (6.4 - left - right) / 6.4, (height - 1.05) / height))
    _plain(ax, keep=("left",))
    ys = range(len(rows))
    colours = [GOOD if acc >= 0.8 else FAIR if acc >= 0.6 else WEAK for _, acc, _ in rows]
    ax.barh(ys, [1.0] * len(rows), height=0.62, color="#eaeef2")  # the track to 100%
    ax.barh(ys, [acc for _, acc, _ in rows], height=0.62, color=colours)
    ax.set_xlim(0, 1)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first part on top
    ax.set_yticks(list(ys), [name for name, _, _ in rows], fontproperties=label, color=INK)
    ax.set_xticks([0, 0.5, 1], ["0%", "50%", "100%"], fontproperties=_font(8))
    for y, (_, acc, n) in enumerate(rows):
        said = f"{round(acc * 100)}%（{n:,} 次）" if n else "未答题"
        ax.text(1.02, y, said, ha="left", va="center", color=GREY,
                fontproperties=_font(8), clip_on=False)  # fmt: skip
    fig.text(0.03, 1 - 0.12 / height, title, ha="left", va="top", color=INK, fontproperties=_font(13))
    fig.text(
        0.03, 1 - 0.4 / height, "正确率（答题次数）", ha="left", va="top", color=GREY, fontproperties=_font(8)
    )
    return _png(fig)
