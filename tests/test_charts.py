"""bot/core/charts.py: each chart is a valid, chat-sized PNG, the same bytes for the same figures, drawn
in the project's Chinese font (no empty boxes), without touching matplotlib's global settings, from several
threads at once; and the bot starts without importing matplotlib."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTFont
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from PIL import Image

from bot.core import charts
from content import load_model
from content.textfile import decode_text

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2024, 5, 15)  # a Wednesday
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LABELS = (
    "学习日历 少 多 正确率 人数 答题次数 每日学习人数 各部分正确率 暂无数据 未答题 近周学习天方框为今天月日次"
)
NAMES = "张伟 王芳 李娜 刘洋 陈静 杨磊 赵敏 黄婷 周杰 吴昊 徐丽 孙浩 马超 朱琳 胡斌 郭峰 何欣 高翔 林俊 罗娟 郑燕 梁晨 谢涛"


def parts() -> list[tuple[str, float, int]]:
    """The bundled speech's parts as /stats names them, with made-up figures."""
    sections = load_model().sections
    return [(s.name, (i * 0.17) % 1, i * 37) for i, s in enumerate(sections)]


def png(data: bytes, widest: int = 800) -> Image.Image:
    assert data[:8] == PNG_SIGNATURE
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    width, height = image.size
    assert 400 <= width <= widest and 140 <= height <= 800, image.size  # a chat-sized picture
    assert len(data) < 150_000
    return image


def every_chart() -> dict[str, bytes]:
    full = {TODAY - timedelta(days=i) for i in range(7 * 12)}
    counts = {TODAY - timedelta(days=i): i % 9 for i in range(100)}
    series = [(TODAY - timedelta(days=i), 10 + (i * 7) % 50) for i in range(30)]
    return {
        "calendar empty": charts.study_calendar(set(), TODAY),
        "calendar full": charts.study_calendar(full, TODAY),
        "calendar counts": charts.study_calendar(counts, TODAY, title="答题日历"),
        "calendar 26 weeks": charts.study_calendar(full, TODAY, weeks=26),
        "learners": charts.daily_learners_chart(series),
        "learners 90 days, gaps": charts.daily_learners_chart(
            series[::3] + [(TODAY - timedelta(days=89), 4)]
        ),
        "learners empty": charts.daily_learners_chart([]),
        "accuracy": charts.accuracy_by_part_chart(parts()),
        "accuracy one part": charts.accuracy_by_part_chart([("开篇", 1.0, 1)]),
        "accuracy empty": charts.accuracy_by_part_chart([]),
    }


def test_every_chart_is_a_small_png_and_the_same_twice():
    first, second = every_chart(), every_chart()
    for name, data in first.items():
        image = png(data, 1100 if "26 weeks" in name else 800)
        assert image.mode in ("RGB", "RGBA"), name
        assert second[name] == data, f"{name}: not deterministic"
    assert len({data for data in first.values()}) == len(first)  # each different


def test_no_glyph_is_missing_and_the_font_is_the_projects():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        every_chart()
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    assert Path(findfont(charts._font(10))) == charts.font_path()


def _render(text: str, font: FontProperties) -> bytes:
    fig = Figure(figsize=(3, 1), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.05, 0.3, text, fontproperties=font)
    fig.canvas.draw()
    return bytes(fig.canvas.buffer_rgba())


def test_chinese_is_drawn_not_boxed():
    """Against DejaVu Sans alone, which has no Chinese: matplotlib warns, and draws the same box for
    every character, so that two different words of four characters look the same; in the project's
    font they do not."""
    dejavu = FontProperties(family="DejaVu Sans", size=20)
    with pytest.warns(UserWarning, match="missing from font"):
        tofu = _render("学习日历", dejavu)
    with pytest.warns(UserWarning, match="missing from font"):
        assert _render("正确率多", dejavu) == tofu
    ours = _render("学习日历", charts._font(20))
    assert ours != tofu
    assert ours != _render("正确率多", charts._font(20))
    assert ours != _render("", charts._font(20))


def _cjk_constants() -> str:
    """Every string in charts.py with a Chinese character in it: the labels the module itself draws."""
    tree = ast.parse((ROOT / "bot" / "core" / "charts.py").read_text("utf-8"))
    return "".join(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and any(ord(c) > 0x2E7F for c in node.value)
    )


def test_the_font_has_every_character_the_charts_draw():
    cmap = TTFont(charts.font_path(), lazy=True).getBestCmap()
    model = load_model()
    speeches = "".join(
        decode_text(p.read_bytes()) for p in sorted((ROOT / "tests" / "data" / "speeches").glob("*.txt"))
    )
    texts = {
        "labels": LABELS + "".join(charts.MONTHS) + "".join(charts.WEEKDAYS) + _cjk_constants(),
        "parts": "".join(f"{s.name}{s.heading or ''}" for s in model.sections),
        "names": NAMES,
        "the bundled speech": "".join(s.text for s in model.sections),
        "the test speeches": speeches,
        "digits and signs": "0123456789%/…·（）：,.-—",
    }
    for what, text in texts.items():
        missing = sorted({c for c in text if not c.isspace() and ord(c) not in cmap})
        assert missing == [], f"{what}: {missing}"
    # General Chinese text: all 6,763 characters of GB 2312.
    gb2312 = [
        bytes([hi, lo]).decode("gb2312", "ignore") for hi in range(0xB0, 0xF8) for lo in range(0xA1, 0xFF)
    ]
    hanzi = [c for c in gb2312 if c]
    assert len(hanzi) == 6763
    assert [c for c in hanzi if ord(c) not in cmap] == []
    assert (
        {"一月", "十二月"} <= set(charts.MONTHS)
        and charts.WEEKDAYS[0] == "周一"
        and charts.WEEKDAYS[-1] == "周日"
    )


def test_calendar_cells():
    full = charts.calendar_cells({TODAY - timedelta(days=i) for i in range(7 * 12)}, TODAY)
    assert len(full) == 7 * 11 + 3  # eleven whole weeks and Monday to Wednesday
    first = min(full)
    assert first.weekday() == 0 and full[first] == (0, 0, 4)
    assert full[TODAY] == (11, 2, 4) and max(full) == TODAY
    assert {level for _, _, level in full.values()} == {4}
    empty = charts.calendar_cells(set(), TODAY)
    assert set(empty) == set(full) and {level for _, _, level in empty.values()} == {0}
    # Counts: four levels relative to the largest in view; outside the view counts nothing.
    counts = {
        TODAY: 8,
        TODAY - timedelta(days=1): 1,
        TODAY - timedelta(days=2): 4,
        TODAY - timedelta(days=3): 0,
    }
    counts[TODAY - timedelta(days=400)] = 1000
    cells = charts.calendar_cells(counts, TODAY)
    assert [cells[TODAY - timedelta(days=i)][2] for i in range(5)] == [4, 1, 2, 0, 0]
    assert TODAY - timedelta(days=400) not in cells
    sunday = date(2024, 5, 19)
    assert max(charts.calendar_cells(set(), sunday)) == sunday and charts.calendar_cells(set(), sunday)[
        sunday
    ][:2] == (11, 6)
    with pytest.raises(ValueError):
        charts.calendar_cells(set(), TODAY, weeks=2)


def test_month_labels():
    # The first column is the week of Monday 26 February, ending in March; April 1st is in column 5.
    assert charts.month_labels(TODAY) == [(0, "三月"), (5, "四月"), (9, "五月")]
    # The first column (19–25 February) is left out: March begins in the next.
    assert charts.month_labels(date(2024, 5, 6)) == [(1, "三月"), (6, "四月"), (10, "五月")]
    labels = charts.month_labels(date(2024, 12, 31), weeks=53)
    assert 12 <= len(labels) <= 13 and {name for _, name in labels} == set(charts.MONTHS)
    assert all(b - a >= 3 for (a, _), (b, _) in zip(labels, labels[1:], strict=False))


def test_global_settings_are_left_alone():
    # RcParams.copy, not dict(rcParams): reading the "backend" item would import pyplot to resolve it.
    before = matplotlib.rcParams.copy()
    every_chart()
    assert matplotlib.rcParams.copy() == before
    assert "matplotlib.pyplot" not in sys.modules


def test_charts_drawn_in_threads_at_once_are_the_same():
    expected = [
        charts.study_calendar({TODAY - timedelta(days=i) for i in range(0, 80, 3)}, TODAY),
        charts.accuracy_by_part_chart(parts()),
    ]
    with ThreadPoolExecutor(4) as pool:
        calendars = pool.map(
            lambda i: charts.study_calendar({TODAY - timedelta(days=i) for i in range(0, 80, 3)}, TODAY),
            range(4),
        )
        accuracies = pool.map(lambda i: charts.accuracy_by_part_chart(parts()), range(4))
        assert set(calendars) == {expected[0]} and set(accuracies) == {expected[1]}


def test_the_bot_starts_without_matplotlib_or_numpy():
    # numpy too: sqlite-utils imports it when installed, unless bot/core/storage/sqlite.py hides it.
    code = (
        "import sys, bot.service, bot.core.actions, bot.startup, bot.cli\n"
        "from bot.core.storage import Storage\n"
        "Storage(':memory:').close()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'PIL', 'fontTools', "
        "'pylopdf_fonts_zh_cn', 'numpy', 'pandas') or m == 'bot.core.charts')\n"
        "print(loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]", done.stdout
