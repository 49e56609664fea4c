"""The shape of words and lists: patterns of fixed characters, numerals, snippets and windows of a sentence.

Pure functions of text, used by every kind of question.
"""

from __future__ import annotations

import functools
import re

from content.numerals import reports_figures  # noqa: F401  (the quiz's, beside its other shapes)
from content.quiz.question import EXPLANATION_MAX, SNIPPET_MAX, SNIPPET_MIN, WINDOW_MAX
from content.speech import Sentence

# Words that forbid what follows (更不能搞, 防止出现, 坚决杜绝): any fault reads after them.
PROHIBITION = re.compile(
    r"(?:不能|不要|不准|不搞|严禁|防止|杜绝|避免|反对|克服|警惕|力戒|决不|绝不)[^，；：]{0,6}“?$"
)


# Well-known 提法 of the shape “数字+个+词”, used as distractors only where the speech has too few.
NUMBERED_TERMS = (
    "两个确立",
    "两个维护",
    "四个意识",
    "四个自信",
    "四个全面",
    "五位一体",
    "两个务必",
    "三个务必",
    "两个结合",
    "四个伟大",
    "三严三实",
    "两学一做",
)


HAN = re.compile(r"[\u4e00-\u9fff]")


HAN_ONLY = re.compile(r"[\u4e00-\u9fff]+")


NUMERIC = set("0123456789０１２３４５６７８９零〇一二两三四五六七八九十百千万亿点%％.．")


COUNTED = re.compile(r"[一二两三四五六七八九十]个.+")  # 四个意识


NUMBERED = re.compile(r"[一二两三四五六七八九十].+")  # 三会一课, 一人一策


REQUIRE = re.compile(r"(要|必须|坚持|着力|务必|确保|推动|切实|严格|牢固树立|深入实施)")


# Coarse part-of-speech classes of jieba's tags; idioms and unknown words fit any slot of their length.
MODIFIER_TAGS = frozenset({"n", "nz"})


# Words jieba tags as nouns that modify as adverbs (全面建设) or make formulas (会议精神, 主义精神).
NOT_MODIFIERS = frozenset(
    "会议 指示 全会 讲话 文件 批示 报告 主义 全面 整体 全局 全力 大力 全部 各项 一切 部分 体系 "
    "大量 少量 多数 少数 各类 有关 相关 工作 方面 体制".split()
)


RUN_TAGS = frozenset({"n", "nz", "ng"})


# Heads whose kinds overlap in use: a cloze on the modifier of one offers options that are arguably right
# (督办机制 for a mechanism of 调度 and 考核, 综合考核 for 年度考核, 重点行业 for 重点领域).
GENERIC_HEADS = frozenset(
    "机制 考核 意识 领域 行业 手段 责任 资源 方式 水平 质量 领导 一线 干部 导向 监管".split()
)


NOUNISH = frozenset("n nr ns nt nz nw ng vn an j".split())


VERBISH = frozenset("v vd vg vi vn".split())


ADJISH = frozenset("a ad ag an".split())


THEME_STOP = frozenset("在 上 的 会议 讲话 大会 全市 全县 全区 全省 工作 推进会 座谈会 暨 和 与 年".split())


def window(text: str, start: int, end: int) -> tuple[str, int, int]:
    """The clauses around text[start:end], at most WINDOW_MAX characters, and the span's new offsets."""
    if len(text) <= WINDOW_MAX:
        return text, start, end
    bounds = sorted({0, len(text), *(m.end() for m in re.finditer(r"[，,；;：:]", text))})
    lo = max(b for b in bounds if b <= start)
    hi = min(b for b in bounds if b >= end)
    while True:
        grown = False
        before = [b for b in bounds if b < lo]
        after = [b for b in bounds if b > hi]
        if before and hi - before[-1] <= WINDOW_MAX:
            lo, grown = before[-1], True
        if after and after[0] - lo <= WINDOW_MAX:
            hi, grown = after[0], True
        if not grown:
            break
    return text[lo:hi], start - lo, end - lo


def ellipsis(shown: str, piece: str, full: str) -> str:
    """`shown` (the piece with its blank) marked with …… where the sentence goes on beyond the piece."""
    out = shown
    if not full.startswith(piece):
        out = "……" + out
    if not full.endswith(piece):
        out = out.rstrip("，,；;：:") + "……"
    return out


def explanation_of(section_label: str, sentence: str) -> str:
    text = f"{section_label}：{sentence}"
    return text if len(text) <= EXPLANATION_MAX else text[: EXPLANATION_MAX - 1] + "…"


def term_shape(term: str) -> str:
    if "、" in term or "，" in term:
        return "list"
    if COUNTED.fullmatch(term):
        return "counted"
    return "numbered" if NUMBERED.fullmatch(term) and len(term) <= 5 else "plain"


def pattern_of(items: list[str] | tuple[str, ...]) -> tuple[int, tuple[tuple[int, str], ...]]:
    """The shape a list's items share: their length and the characters fixed at the same places.

    能者上、优者奖、庸者下 → (3, ((1, "者"),)); 获得感、幸福感、安全感 → (3, ((2, "感"),)).
    Items of different lengths share only a fixed ending, counted from the end (negative places).
    (Once per list: a list's shape is asked for each other list it is weighed against.)
    """
    return _pattern_of(tuple(items))


@functools.lru_cache(maxsize=4096)
def _pattern_of(items: tuple[str, ...]) -> tuple[int, tuple[tuple[int, str], ...]]:
    lengths = {len(i) for i in items}
    if len(lengths) == 1:
        n = lengths.pop()
        fixed = tuple((k, items[0][k]) for k in range(n) if len({i[k] for i in items}) == 1)
        return n, fixed
    end = 0
    while end < min(map(len, items)) and len({i[-1 - end] for i in items}) == 1:
        end += 1
    return 0, tuple((-1 - k, items[0][-1 - k]) for k in range(end))


def fits_pattern(word: str, pattern: tuple[int, tuple[tuple[int, str], ...]]) -> bool:
    n, fixed = pattern
    if n and len(word) != n:
        return False
    return all(-len(word) <= k < len(word) and word[k] == ch for k, ch in fixed)


def variable_part(word: str, pattern: tuple[int, tuple[tuple[int, str], ...]]) -> str:
    """The characters of a word outside its pattern's fixed places (安全 of 安全感)."""
    places = {k % len(word) for k, _ in pattern[1]} if word else set()
    return "".join(ch for k, ch in enumerate(word) if k not in places)


# The word after a quoted term that says what it names: “头雁”工程, “清廉”品牌, “钉钉子”精神.
QUOTE_HEAD = re.compile(
    r"^(?:工程|行动|计划|机制|制度|品牌|平台|模式|课程|工作法|服务|活动|创建|试点|改革|清单|队伍|环节|理念|精神|"
    r"作风|现象|问题|难题|规划|标准|要求|线路|志愿服务队|服务队|工作室|驿站|中心)"
)


PERSON_HEAD = re.compile(r"(干部|党员|人员|人才|群众|同志|书记|教师|老师|学生|青年|职工|代表)$")


# A sentence that points back to what was said before it, or a formula of any speech's opening or closing:
# quoted alone, it does not say which part it is from.
CONTEXTUAL = re.compile(
    r"^(?:这些|这个|这是|这就|这说明|这让|对这些|对此|上述|以上|总的来看|总的来说|今天，?我们|我们的差距|"
    r"具体来讲|具体来说|各地各单位要加强)"
)


PREFIX_CLASSES = {"time": set("日周旬月季年"), "early": set("早先")}


def prefix_class(items: list[str]) -> str | None:
    """The class all items begin with (日巡查、周报告、月通报: time), or None."""
    for name, chars in PREFIX_CLASSES.items():
        if all(item[:1] in chars for item in items):
            return name
    return None


NUMERALS = "一二两三四五六七八九十百千万"


def skeleton(term: str) -> str:
    """Where a term has numerals: 一人一档 → 一_一_ (any numeral stands for any other)."""
    return "".join("一" if ch in NUMERALS else "_" for ch in term)


def fixed_suffix(pattern, word: str) -> str:
    """The fixed ending a pattern gives its words (感 of X感), or ""."""
    n, fixed = pattern
    places = {(k if k >= 0 else len(word) + k) for k, _ in fixed}
    end = len(word)
    while end - 1 in places:
        end -= 1
    return word[end:] if end < len(word) and end > 0 else ""


def built_alike(a: str, b: str) -> bool:
    """Two terms of one build: the same head or beginning of two characters (民心工程 ~ 铸魂工程, 第一资源 ~
    第一动力), or the same last character for three-character terms (政绩观 ~ 权力观)."""
    if len(a) >= 4 and len(b) >= 4:
        return a[-2:] == b[-2:] or a[:2] == b[:2]
    return len(a) == len(b) == 3 and a[-1] == b[-1]


def common_suffix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) - 1 and a[-1 - n] == b[-1 - n]:
        n += 1
    return a[len(a) - n :]


def sentence_key(sentence: Sentence) -> tuple[str, int]:
    return (sentence.section_id, sentence.index)


def sentence_unit(sentence: Sentence) -> str:
    return f"s:{sentence.section_id}:{sentence.index}"


def list_unit(sentence: Sentence, items: list[str]) -> str:
    return "l:" + "、".join(items)


def is_parallel(items: list[str]) -> bool:
    """Real parallel items: three or more, of like length, none a fragment."""
    return len(items) >= 3 and max(map(len, items)) - min(map(len, items)) <= 2 and min(map(len, items)) >= 2


def trivia_weight(items: list[str]) -> float:
    """How much a list looks like trivia (交通、医院、学校: short concrete nouns; the 进X of a campaign) rather
    than a requirement."""
    if len(items) >= 4 and all(len(i) <= 2 for i in items):
        return 1.5
    # 进机关、进学校、进社区: the places a campaign goes to, not what it asks
    return 1.5 if all(len(i) == 3 and i.startswith("进") for i in items) else 0.0


def token_ending(tokens: list[str], at: int) -> str:
    pos = 0
    for token in tokens:
        if pos + len(token) == at:
            return token
        pos += len(token)
    return ""


def token_starting(tokens: list[str], at: int) -> str:
    pos = 0
    for token in tokens:
        if pos == at:
            return token
        pos += len(token)
    return ""


def snippet_of(text: str) -> str | None:
    """A recognisable stretch of a sentence: its opening clauses, SNIPPET_MIN–SNIPPET_MAX characters."""
    # (without a link to the sentence before, 同时，…: the stretch is quoted as a statement of its own)
    body = re.sub(r"^(?:同时|此外|另外|另一方面|当然|因此|所以|为此|对此)，", "", text.rstrip("。！？；"))
    if len(body) <= SNIPPET_MAX:
        return body if len(body) >= SNIPPET_MIN else None
    out = ""
    for clause in re.split(r"(?<=[，；：])", body):
        if len(out) + len(clause) > SNIPPET_MAX:
            break
        out += clause
    out = out.rstrip("，；：")
    return out + "……" if len(out) >= SNIPPET_MIN else None


def echoes_heading(heading: str, text: str) -> bool:
    """Whether a stretch repeats a heading: a run of 8 or more of the heading's characters in it."""
    clauses = [c for c in re.split(r"[，,。；;：:！？、]", heading) if len(c) >= 6]
    return any(c in text for c in clauses) or (len(heading) >= 8 and heading[:8] in text)


def find_item(text: str, items: list[str], k: int) -> int:
    """Offset of the k-th item of a list in the sentence, or -1."""
    pos = 0
    for i, item in enumerate(items):
        found = text.find(item, pos)
        if found < 0:
            return -1
        if i == k:
            return found
        pos = found + len(item)
    return -1
