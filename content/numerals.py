"""Chinese numerals and section references (第三部分, 三, 3, 开篇, 结语)."""

from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"
_DIGIT_VALUE = {ch: i for i, ch in enumerate(DIGITS)} | {"〇": 0, "两": 2}


def cn_to_int(text: str) -> int | None:
    """Value of a Chinese numeral up to 99 (一, 十, 十二, 二十, 二十三), or None."""
    if not text or any(ch not in _DIGIT_VALUE and ch != "十" for ch in text):
        return None
    if "十" not in text:
        return _DIGIT_VALUE[text] if len(text) == 1 else None
    tens, _, units = text.partition("十")
    if "十" in units or len(tens) > 1 or len(units) > 1:
        return None
    value = (_DIGIT_VALUE[tens] if tens else 1) * 10
    return value + (_DIGIT_VALUE[units] if units else 0)


def int_to_cn(value: int) -> str:
    """Chinese numeral for 0-99."""
    if not 0 <= value <= 99:
        raise ValueError(f"out of range: {value}")
    if value < 10:
        return DIGITS[value]
    tens, units = divmod(value, 10)
    return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[units] if units else "")


_REF = re.compile(r"^(?:第)?\s*([0-9０-９]+|[零〇一二两三四五六七八九十]+)\s*(?:部分|节|章|点|项)?$")
OPENING_WORDS = {"开篇", "开头", "引言", "序言", "开场", "导语"}
CLOSING_WORDS = {"结语", "结尾", "结束语", "尾声", "最后"}


def parse_ref(text: str) -> int | str | None:
    """A section reference as a number, "opening", "closing", or None if it is not one."""
    ref = re.sub(r"\s+", "", text or "").strip("。.，,！!？?")
    if ref in OPENING_WORDS:
        return "opening"
    if ref in CLOSING_WORDS:
        return "closing"
    match = _REF.match(ref)
    if not match:
        return None
    raw = match.group(1).translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if raw.isdigit():
        return int(raw) if len(raw) <= 3 else None
    return cn_to_int(raw)


def reports_figures(text: str) -> bool:
    """Whether a sentence reports figures: two or more numbers (全市现有非煤矿山37座、尾矿库9座), in digits or
    as Chinese percentages (百分之六十以上的税收、百分之七十以上的地区生产总值), or one result reached."""
    digits = re.findall(r"[0-9０-９]+(?:[.．][0-9]+)?", text)
    if len(digits) + len(re.findall(r"百分之[零一二三四五六七八九十百点]+", text)) >= 2:
        return True
    # …or one result reached (比重达到百分之四十八点六, 增长12.5%): a statistic, trivia to recall
    return bool(re.search(r"(?:达到|增长|提高到|提升到|下降到|降低到)(?:了)?(?:百分之|[0-9０-９])", text))
