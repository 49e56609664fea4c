"""The quiz bank: fewer and better questions, each one an editor would print.

Candidates of four kinds are made from the speech's body sentences (never a heading, a salutation or a
procedural sentence): a cloze on a quoted 提法, on one item of an enumeration or on a key phrase; a
what-comes-next on an enumeration; a which-part on a stretch that stands in one part only. Each is scored
(提法 and requirements above trivia, distractors that fit the slot above ones that merely match in length)
and the bank is chosen from the best under the rules of EDITOR.md: one question per sentence and per
enumeration, no answer visible in another question or in the part titles a which-part question shows, every
lesson and every part asked about, which-part questions at most a third, about one question per 110
characters. A candidate whose blank would cut a number or a fixed term, or that has not three distractors
of the answer's own shape and field, is dropped rather than padded.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from content.prompts import kind_of
from content.speech import Section, Sentence, Speech

BLANK = "＿＿"
QUESTION_MAX = 300
OPTION_MAX = 100
EXPLANATION_MAX = 200
WINDOW_MAX = 70  # characters of the source shown around a blank: enough context, short enough to read
SNIPPET_MAX = 48  # characters of a sentence quoted in a which-part question
SNIPPET_MIN = 12
CHARS_PER_QUESTION = 110
CONTEXT = 4  # characters either side of a filled-in distractor that must not occur in the speech
MIN_SCORE = 2.0

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
_HAN = re.compile(r"[\u4e00-\u9fff]")
_HAN_ONLY = re.compile(r"[\u4e00-\u9fff]+")
_NUMERIC = set("0123456789０１２３４５６７８９零〇一二两三四五六七八九十百千万亿点%％.．")
_COUNTED = re.compile(r"[一二两三四五六七八九十]个.+")  # 四个意识
_NUMBERED = re.compile(r"[一二两三四五六七八九十].+")  # 三会一课, 一人一策
_REQUIRE = re.compile(r"(要|必须|坚持|着力|务必|确保|推动|切实|严格|牢固树立|深入实施)")
# Coarse part-of-speech classes of jieba's tags; idioms and unknown words fit any slot of their length.
_MODIFIER_TAGS = frozenset({"n", "nz"})
# Words jieba tags as nouns that modify as adverbs (全面建设) or make formulas (会议精神, 主义精神).
_NOT_MODIFIERS = frozenset(
    "会议 指示 全会 讲话 文件 批示 报告 主义 全面 整体 全局 全力 大力 全部 各项 一切 部分 体系 "
    "大量 少量 多数 少数 各类 有关 相关 工作 方面 体制".split()
)
_RUN_TAGS = frozenset({"n", "nz", "ng"})
# Heads whose kinds overlap in use: a cloze on the modifier of one offers options that are arguably right
# (督办机制 for a mechanism of 调度 and 考核, 综合考核 for 年度考核, 重点行业 for 重点领域).
_GENERIC_HEADS = frozenset("机制 考核 意识 领域 行业 手段 责任 资源 方式 水平 质量 领导 一线 干部".split())
_NOUNISH = frozenset("n nr ns nt nz nw ng vn an j".split())
_VERBISH = frozenset("v vd vg vi vn".split())
_ADJISH = frozenset("a ad ag an".split())
THEME_STOP = frozenset("在 上 的 会议 讲话 大会 全市 全县 全区 全省 工作 推进会 座谈会 暨 和 与 年".split())


@dataclass(frozen=True)
class Question:
    """One quiz question; `answer` is the index of the right option."""

    id: str
    kind: str  # cloze | section | sequence
    section_id: str
    question: str
    options: tuple[str, ...]
    answer: int
    source: str
    explanation: str
    day: int | None = None  # the lesson whose excerpt holds the source sentence

    def to_dict(self) -> dict:
        """The question as in the JSON export."""
        out = {
            "id": self.id,
            "kind": self.kind,
            "section": self.section_id,
            "question": self.question,
            "options": list(self.options),
            "answer": self.answer,
            "source": self.source,
        }
        if self.day is not None:
            out["day"] = self.day
        return out


@dataclass
class Candidate:
    """A question before selection, with what it must not share with others."""

    kind: str
    sentence: Sentence
    question: str
    answer: str
    distractors: list[str]
    score: float
    units: set[str] = field(default_factory=set)  # the sentence, the enumeration: one question each
    answer_terms: tuple[str, ...] = ()  # what this question gives away if shown elsewhere
    core: str = ""  # the part of the answer the options differ in (政治 of 政治建设); all of it if empty


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


def _window(text: str, start: int, end: int) -> tuple[str, int, int]:
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


def _ellipsis(shown: str, piece: str, full: str) -> str:
    """`shown` (the piece with its blank) marked with …… where the sentence goes on beyond the piece."""
    out = shown
    if not full.startswith(piece):
        out = "……" + out
    if not full.endswith(piece):
        out = out.rstrip("，,；;：:") + "……"
    return out


def _explanation(section_label: str, sentence: str) -> str:
    text = f"{section_label}：{sentence}"
    return text if len(text) <= EXPLANATION_MAX else text[: EXPLANATION_MAX - 1] + "…"


def _shape(term: str) -> str:
    if "、" in term or "，" in term:
        return "list"
    if _COUNTED.fullmatch(term):
        return "counted"
    return "numbered" if _NUMBERED.fullmatch(term) and len(term) <= 5 else "plain"


def pattern_of(items: list[str]) -> tuple[int, tuple[tuple[int, str], ...]]:
    """The shape a list's items share: their length and the characters fixed at the same places.

    能者上、优者奖、庸者下 → (3, ((1, "者"),)); 获得感、幸福感、安全感 → (3, ((2, "感"),)).
    Items of different lengths share only a fixed ending, counted from the end (negative places).
    """
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


def _variable(word: str, pattern: tuple[int, tuple[tuple[int, str], ...]]) -> str:
    """The characters of a word outside its pattern's fixed places (安全 of 安全感)."""
    places = {k % len(word) for k, _ in pattern[1]} if word else set()
    return "".join(ch for k, ch in enumerate(word) if k not in places)


class QuizBuilder:
    """Builds the bank for one speech."""

    def __init__(
        self,
        speech: Speech,
        cut: Callable[[str], list[str]],
        terms: list[str],
        is_word: Callable[[str], bool] = lambda w: True,
        tags: dict[str, str] | None = None,
        days: dict[tuple[str, int], int] | None = None,
        near: tuple[tuple[str, str], ...] = (),
    ):
        self.speech = speech
        self.cut = cut
        self.is_word = is_word
        self.tags = tags or {}
        self.days = days or {}
        # Common words one character longer than a piece of the speech (责任感), by that last character.
        self.near: dict[str, list[str]] = {}
        for word, tag in near:
            self.near.setdefault(word[-1], []).append(word)
            self.tags.setdefault(word, tag)
        self.full = "\n".join(s.text for s in speech.sections)
        self.terms = terms
        self.labels = {s.id: s.label for s in speech.sections}
        self._position = {(s.section_id, s.index): i for i, s in enumerate(speech.all_sentences())}
        self.body = [s for s in speech.all_sentences() if s.role == "body" and len(s.text) >= 10]
        from content.terms import enumerations, title_phrase

        self._weak: set[str] = set()  # list items offered for a slot of another field, at most one a question
        self.lists = {
            (s.section_id, s.index): [items for items in enumerations(s.text, cut) if _parallel(items)]
            for s in self.body
        }
        self.title_words = self._theme_words()
        self.titles = [x.title for s in speech.sections for x in (s, *s.subsections) if x.kind == "numbered"]
        self.title_phrases = {title_phrase(t) for t in self.titles}
        self.headings = [x.heading for s in speech.sections for x in (s, *s.subsections) if x.heading]
        from content.prompts import GENERIC
        from content.terms import STOPWORDS, fixed_phrases

        self.generic = STOPWORDS | GENERIC
        self.fixed = set(fixed_phrases(self.full)) | set(terms)

    # -- checks ------------------------------------------------------------------------------------
    def fits(self, left: str, option: str, right: str) -> bool:
        """Whether the option written into the blank gives text found in the speech."""
        return (left[-CONTEXT:] + option + right[:CONTEXT]) in self.full

    def _theme_words(self) -> set[str]:
        """The words of the speech's title (组织工作 of 在2023年全市组织工作会议上的讲话)."""
        words = {w for w in self.cut(self.speech.title) if len(w) >= 2 and _HAN_ONLY.fullmatch(w)}
        words = {w for w in words if w not in THEME_STOP and not any(ch.isdigit() for ch in w)}
        # A title phrase of a fixed term: 组织 + 工作 → 组织工作.
        for a, b in zip(self.cut(self.speech.title), self.cut(self.speech.title)[1:], strict=False):
            if (a + b) in self.speech.title and self.is_word(a + b) and len(a + b) >= 4:
                words.add(a + b)
        return words

    def _is_theme(self, answer: str) -> bool:
        titles = self.speech.title + " " + (self.speech.subtitle or "")
        return answer in self.title_words or (len(answer) >= 3 and answer in titles)

    def _coarse(self, tag: str | None) -> frozenset[str] | None:
        """Noun, verb, adjective classes of a jieba tag; None when unknown or an idiom (fits anything)."""
        if tag is None or tag in {"l", "i", "x"}:
            return None
        return frozenset(
            name
            for name, group in (("n", _NOUNISH), ("v", _VERBISH), ("a", _ADJISH))
            if tag in group or tag[:1] == name
        ) or frozenset({tag[:1]})

    def signature(self, word: str) -> tuple[frozenset[str] | None, ...]:
        """The classes of a word's parts: (v, n) for 讲政治, (n,) for 方向盘."""
        if word in self.tags:
            return (self._coarse(self.tags[word]),)
        if word not in self.full:
            # A word of the lexicon the speech does not say: the speech's part of the dictionary would cut
            # it by guess. Its field vouches for it.
            return (None,)
        return tuple(self._coarse(self.tags.get(t)) for t in self.cut(word))

    def same_parts(self, a: str, b: str) -> bool:
        """Stricter: as many parts, each known part of a class the other's could be (讲政治 ~ 重公道)."""
        sa, sb = self.signature(a), self.signature(b)
        if len(sa) != len(sb):
            return False
        # jieba's tags of a lone character are a guess: a short item is judged by its head only.
        pairs = list(zip(sa, sb, strict=True))[-1:] if len(a) <= 3 else zip(sa, sb, strict=True)
        return all(
            (x is None and y is None) or (x is not None and y is not None and bool(x & y)) for x, y in pairs
        )

    def same_pos(self, a: str, b: str) -> bool:
        """Whether b reads like a in a slot: as many parts, each of a class a's part could be."""
        sa, sb = self.signature(a), self.signature(b)
        if len(sa) != len(sb) and None not in (sa[:1] + sb[:1]):
            return False
        x, y = sa[-1] if sa else None, sb[-1] if sb else None
        return x is None or y is None or bool(x & y)

    def _whole_unit(self, text: str, start: int, end: int) -> bool:
        """The blank text[start:end] is a whole unit: not inside a number or a longer fixed term."""
        if start > 0 and end < len(text) and text[start - 1] == "“" and text[end] == "”":
            return True
        if (start > 0 and text[start - 1] in _NUMERIC) or (end < len(text) and text[end] in _NUMERIC):
            return False
        tokens = self.cut(text)
        bounds, pos = {0}, 0
        for token in tokens:
            pos += len(token)
            bounds.add(pos)
        if start not in bounds or end not in bounds:
            return False
        # A modifier left outside (可支配 + 收入, 第一 + 责任人): the word before must not join the answer.
        before = _token_ending(tokens, start)
        after = _token_starting(tokens, end)
        if before and (self.is_word(before + text[start:end]) or self.tags.get(before, "")[:1] in {"m", "b"}):
            return False
        if after and self.is_word(text[start:end] + after):
            return False
        return True

    # -- distractors ---------------------------------------------------------------------------------
    def _pick(
        self, answer: str, pool: list[str], left: str, right: str, shown: str, pattern=None, pos: bool = True
    ) -> tuple[list[str], float]:
        """Three wrong options from the pool that read like the answer; and how well they fit (0–1)."""
        out: list[str] = []
        quality = 0.0
        seen: set[str] = set()
        variable = _variable(answer, pattern) if pattern else answer
        off_topic = 0
        for cand in pool:
            if (
                cand in seen
                or cand == answer
                or not cand
                or cand in shown
                or answer in cand
                or cand in answer
            ):
                continue
            seen.add(cand)
            if abs(len(cand) - len(answer)) > max(1, len(answer) // 3):
                continue
            cand_var = _variable(cand, pattern) if pattern else cand
            # A near-synonym (用才 for 用人) could be right too: the changing part shares no character.
            if set(cand_var) & set(variable):
                continue
            if self.fits(left, cand, right) or (pos and not self.same_pos(answer, cand)):
                continue
            if len(cand_var) >= 2 and cand_var in shown:
                continue  # its own part stands in the stem (督办机制 beside 跟踪督办): arguably right
            if len(cand_var) >= 2 and cand not in self.full and not self._on_topic(cand_var):
                # Of a field the speech never touches (全球治理, 养老金融 in a speech on neither): one such
                # option at most, or the others give the answer away as the one on topic.
                if off_topic:
                    continue
                off_topic += 1
            out.append(cand)
            quality += self._slot_fit(cand, left, right)
            if len(out) == 3:
                break
        return out, quality / 3 if out else 0.0

    def _on_topic(self, piece: str) -> bool:
        """Whether the speech itself speaks of what a wrong option's own part names: a word of it (思想 for
        思想建设, 作风 for 作风建设) or, for a longer piece, one of its two-character words."""
        if piece in self.full:
            return True
        return len(piece) > 2 and any(
            piece[i : i + 2] in self.full and piece[i : i + 2] not in self.generic
            for i in range(len(piece) - 1)
        )

    def _slot_fit(self, cand: str, left: str, right: str) -> float:
        """1 when the speech uses the candidate in a slot like this one (the same word after it), else 0.5."""
        after = right[:2]
        before = left[-2:]
        if after and (cand + after) in self.full:
            return 1.0
        if before and (before + cand) in self.full:
            return 1.0
        return 0.5

    # -- candidates ----------------------------------------------------------------------------------
    def candidates(self) -> list[Candidate]:
        out: list[Candidate] = []
        for sentence in self.body:
            out += self._quoted(sentence)
            for items in self.lists[(sentence.section_id, sentence.index)]:
                if any(self.tags.get(i, "")[:2] in {"ns", "nr", "nt"} for i in items):
                    continue  # a list of places or names: no blank on a name
                if _trivia(items):
                    continue  # a list of facilities is not what a study group should memorise
                out += self._enumeration(sentence, items)
                out += self._sequence(sentence, items)
            out += self._key_phrases(sentence)
            out += self._field_terms_in(sentence)
            out += self._section(sentence)
        return out

    def _cloze(
        self,
        sentence: Sentence,
        start: int,
        end: int,
        pool: list[str],
        score: float,
        units: set[str],
        pattern=None,
        pos: bool = True,
    ) -> list[Candidate]:
        text = sentence.text
        answer = text[start:end]
        if (
            self._is_theme(answer)
            or re.search(r"[0-9０-９%％]", answer)
            or not self._whole_unit(text, start, end)
        ):
            return []
        piece, s, e = _window(text, start, end)
        shown = piece[:s] + piece[e:]
        changing = _variable(answer, pattern) if pattern else answer
        if self._hinted(changing, shown):
            return []
        distractors, quality = self._pick(answer, pool, text[:start], text[end:], shown, pattern, pos)
        if len(distractors) < 3:
            return []
        if len(shown.strip("，。；：“”、 ")) < 12:
            return []  # too little around the blank to recall it by
        question = "填空：" + _ellipsis(piece[:s] + BLANK + piece[e:], piece, text)
        if _REQUIRE.search(text):
            score += 0.5
        return [
            Candidate(
                "cloze",
                sentence,
                question,
                answer,
                distractors,
                score + quality,
                units | {_unit(sentence)},
                (answer,),
                changing,
            )
        ]

    def _hinted(self, changing: str, shown: str) -> bool:
        """Whether the stem points to the answer: a piece of what the options differ in stands there
        (由部门“揭榜”领题 … “＿＿”: 揭榜挂帅). A word the speech says everywhere (政治) points only where the
        stem repeats it (把好政治关，把＿＿放在第一位，做深做实干部政治素质考察: 政治标准)."""
        for i in range(len(changing) - 1):
            piece = changing[i : i + 2]
            if piece in shown and (
                len(changing) >= 3 or shown.count(piece) >= 2 or self.full.count(piece) < 8
            ):
                return True
        return False

    def _quoted(self, sentence: Sentence) -> list[Candidate]:
        """Blank a quoted 提法; distractors are quoted terms of its own kind.

        A term that names something by the word after it (“头雁”工程, “清廉”品牌) is asked only
        against terms the speech also puts before that word; a counted term (四个意识) against counted
        terms; any other against terms of its build that the speech uses in a slot like this one.
        """
        out = []
        text = sentence.text
        for match in re.finditer(r"“([^“”]{2,12})”", text):
            term = match.group(1)
            if not _HAN_ONLY.fullmatch(term):
                continue
            left, right = text[: match.start()], text[match.end() :]
            shape, field_ = _shape(term), self._kind(term)
            head = _QUOTE_HEAD.match(right)
            if head:
                pool = [t for t in self._quoted_before(head.group(0)) if t != term and len(t) == len(term)]
            elif shape == "counted":
                # Well-known counted terms the speech does not use first: one it uses goes with a verb of its
                # own (增强“四个意识”、坚定“四个自信”), which would give the answer of 做到“＿＿” away.
                # The well-known ones only for a well-known one: 三个课堂 against 两个确立 is out of field.
                known = term in NUMBERED_TERMS
                pool = [t for t in NUMBERED_TERMS if known and _COUNTED.fullmatch(t) and len(t) == len(term)]
                pool.sort(key=lambda t: t in self.full)
                pool += [t for t in self.terms if t != term and _COUNTED.fullmatch(t) and len(t) == len(term)]
            else:
                if field_ == "problem" and shape in {"plain", "numbered"}:
                    # The speech's own faults (灯下黑, 两张皮, 一阵风) are one kind, whatever their build or
                    # jieba's tags of them.
                    faults = self._terms_of("plain", field_, len(term)) + self._terms_of(
                        "numbered", field_, len(term)
                    )
                    pool = [t for t in faults if t != term]
                else:
                    pool = [
                        t
                        for t in self._terms_of(shape, field_, len(term))
                        if t != term and self._like(term, t, shape)
                    ]
            if shape != "counted":
                pool.sort(key=lambda t: (-self._slot_fit(t, left, right), _digest(term, t)))
            if not head:
                # Then terms of the term's field in the common vocabulary (延安精神 for 长征精神).
                # Only those of its head or beginning: one field may hold several kinds (坐办公室 beside
                # 带病提拔, 良好家风 beside 道德模范), and only terms built alike read alike in a slot.
                pool += [
                    t
                    for t in self._lexicon([term], term, (len(term), ()))
                    if t not in pool and _built_alike(term, t)
                ]
            pattern, pos = None, True
            if shape in {"counted", "numbered"}:
                # 四个意识 ~ 四个全面: the numerals and 个 are the shape; the rest is what is asked.
                pattern = (len(term), tuple((k, ch) for k, ch in enumerate(term) if ch in _NUMERALS + "个"))
                pos = False
            elif shape == "plain" and len(term) >= 4 and not head:
                # “铸魂工程” against “塑形工程”, “民心工程”: the head they share is the shape, fixed.
                affix = next(
                    (a for a in (term[-2:],) if sum(t.endswith(a) for t in pool if t != term) >= 3), None
                )
                if affix:
                    pool = [t for t in pool if t.endswith(affix)]
                    pattern = (len(term), ((len(term) - 2, affix[0]), (len(term) - 1, affix[1])))
            found = self._cloze(sentence, match.start(1), match.end(1), pool, 6.0, set(), pattern, pos)
            if not head and (shape == "numbered" or (shape == "plain" and field_ == "principle")):
                # A term of no kind of its own (方向标, 用人) only against terms the speech uses in such a
                # slot: any other (安全带 in 抓好“＿＿”环节) would be a giveaway.
                found = [
                    c for c in found if all(self._slot_fit(d, left, right) == 1.0 for d in c.distractors)
                ]
            out += found
        return out

    def _kind(self, term: str) -> str:
        """The kind of a quoted term (programme, principle…), computed once per term."""
        if not hasattr(self, "_kinds"):
            self._kinds: dict[str, str] = {}
        if term not in self._kinds:
            self._kinds[term] = kind_of(term)
        return self._kinds[term]

    def _terms_of(self, shape: str, kind: str, length: int) -> list[str]:
        """The speech's quoted terms of a shape, kind and length."""
        if not hasattr(self, "_term_groups"):
            self._term_groups: dict[tuple[str, str, int], list[str]] = {}
            for t in self.terms:
                self._term_groups.setdefault((_shape(t), self._kind(t), len(t)), []).append(t)
        return self._term_groups.get((shape, kind, length), [])

    def _quoted_before(self, head: str) -> list[str]:
        """The quoted terms the speech puts right before a word (“X”工程)."""
        return list(dict.fromkeys(re.findall(rf"“([^“”]{{2,12}})”{re.escape(head)}", self.full)))

    def _like(self, term: str, other: str, shape: str) -> bool:
        """Two quoted terms of one build: the same length, numerals in the same places (一人一档 ~ 一岗一策),
        and otherwise the same parts of speech (讲政治 ~ 重公道)."""
        if len(term) != len(other):
            return False
        if shape in {"counted", "numbered"}:
            return _skeleton(term) == _skeleton(other)
        return self.same_parts(term, other)

    def _frames_of(self, items: list[str]) -> set[str]:
        """The words right after a list (等基础设施 → 基础设施, 的良好局面 → 良好局面) and right before it."""
        if not hasattr(self, "_list_frames"):
            self._list_frames: dict[tuple[str, ...], set[str]] = {}
        key = tuple(items)
        if key not in self._list_frames:
            found: set[str] = set()
            joined = "、".join(items)
            for sentence in self.body:
                at = sentence.text.find(joined)
                if at < 0:
                    continue
                after = re.sub(r"^(等|的|之|各)+", "", sentence.text[at + len(joined) :])
                before = sentence.text[:at]
                tokens_after = self.cut(re.split(r"[，。；：、！？]", after)[0]) if after else []
                tokens_before = self.cut(re.split(r"[，。；：、！？]", before)[-1]) if before else []
                found |= {">" + t for t in tokens_after[:1] if len(t) >= 2 and t not in self.generic}
                found |= {"<" + t for t in tokens_before[-1:] if len(t) >= 2 and t not in self.generic}
            self._list_frames[key] = found
        return self._list_frames[key]

    def _item_pool(self, items: list[str], answer: str, pattern) -> list[str]:
        """Words of the list's shape from elsewhere in the speech: items of its other lists, its quoted terms
        and its words, with the characters the list's items share in the same places (X感, 涉企X, 早X);
        for a list with no such shape, items of other lists built the same way (讲政治 ~ 悟思想)."""
        lexicon = self._lexicon(items, answer, pattern)
        return lexicon + [o for o in self._speech_pool(items, answer, pattern) if o not in lexicon]

    def _lexicon(self, items: list[str], answer: str, pattern) -> list[str]:
        """Terms of the field the list's items belong to (content/data/fields.txt), of the answer's length
        and shape: the surest wrong options, of the answer's own kind (获得感 → 归属感, 系统性 → 整体性)."""
        from content.terms import field_terms

        found = [t for t in field_terms(items) if t not in items]
        fitting = [
            t
            for t in dict.fromkeys(found)
            if len(t) == len(answer) and (not pattern[1] or fits_pattern(t, pattern))
        ]
        return sorted(fitting, key=lambda o: _digest(answer, o))

    def _speech_pool(self, items: list[str], answer: str, pattern) -> list[str]:
        others = [
            it
            for lists in self.lists.values()
            for other in lists
            if other != items and bool(pattern_of(other)[1]) == bool(pattern[1])
            for it in other
        ]
        if not pattern[1]:
            # No shape of its own: then its field is what the lists are of, seen in the words around them
            # (交通、医院、学校等基础设施; 日巡查、周报告: times). Items of lists of the same field only.
            klass = _prefix_class(items)
            frame = self._frames_of(items)
            kin, rest = [], []
            for lists in self.lists.values():
                for other in lists:
                    if other == items or pattern_of(other)[1]:
                        continue
                    if klass and _prefix_class(other) != klass:
                        continue  # 月调度、＿＿、年考核 wants another time, nothing else
                    same_field = (
                        bool(frame & self._frames_of(other))
                        or bool(klass)
                        # requirements of one build (循足迹、悟思想 and 学思想、强党性) are of one field
                        or (self._verb_led(items) and self._verb_led(other))
                    )
                    (kin if same_field else rest).extend(other)
            ok = [o for o in dict.fromkeys(kin + rest) if len(o) == len(answer) and _HAN_ONLY.fullmatch(o)]
            ok = [o for o in ok if self.same_parts(answer, o)]
            # Items of lists of the same field first (said before or after the same word), then the rest,
            # which may be of another field: a question takes at most one of those (see `_weak`).
            self._weak |= {o for o in ok if o not in kin}
            return sorted(ok, key=lambda o: (o not in kin, _digest(answer, o)))
        others += [t for t in self.terms if _shape(t) == "plain"]
        others += self._words()
        suffix = _suffix(pattern, answer)
        if len(suffix) == 1 and len(answer) >= 3:
            # Common words of the list's ending whose stem is a word of the speech (规范化 beside 规范, 责任感
            # beside 责任): of its shape and its field.
            others += [w for w in self.near.get(suffix, ()) if w[:-1] in self._vocab_set()]
        elif len(suffix) == 1 and len(answer) == 2:
            # Two characters of one ending (真招、实招、新招): common words of it (高招, 妙招).
            others += [w for w in self.near.get(suffix, ()) if len(w) == 2]
        return sorted(
            (
                o
                for o in dict.fromkeys(others)
                if fits_pattern(o, pattern) and _HAN_ONLY.fullmatch(o) and self.same_parts(answer, o)
            ),
            key=lambda o: _digest(answer, o),
        )

    def _verb_led(self, items: list[str]) -> bool:
        """Whether the items are verbs with their objects: 讲政治, 铸忠魂 (a character and a word), 优化结构
        (a verb and a noun). jieba's tags of lone characters and of such objects are guesses, so the
        object decides and one item in a list may be unknown (建新功)."""

        def led(item: str) -> bool:
            if len(item) == 3:
                return self.tags.get(item[1:], "")[:1] in {"n", "v"} and item[0] not in _NUMERALS + "不"
            if len(item) == 4:
                return self.tags.get(item[:2], "").startswith("v") and self.tags.get(item[2:]) in {"n", "vn"}
            return False

        return len({len(i) for i in items}) == 1 and sum(map(led, items)) >= len(items) - 1

    def _enumeration(self, sentence: Sentence, items: list[str]) -> list[Candidate]:
        """Blank one item of a list; distractors are words of the same shape from other lists."""
        pattern = pattern_of(items)
        k = len(items) // 2
        start = _find_item(sentence.text, items, k)
        if start < 0:
            return []
        score = 5.0 - _trivia(items)
        pool = self._item_pool(items, items[k], pattern)
        # jieba's tags of a verb and its object (重实践, 循足迹) are guesses: the build is checked already.
        pos = not self._verb_led(items)
        found = self._cloze(
            sentence, start, start + len(items[k]), pool, score, {_list_unit(sentence, items)}, pattern, pos
        )
        return [
            c
            for c in found
            if len(set(c.distractors) & self._weak - set(self._lexicon(items, items[k], pattern))) <= 1
        ]

    def _sequence(self, sentence: Sentence, items: list[str]) -> list[Candidate]:
        """What comes next in a list: show the first items, ask for the following one."""
        if len(items) < 3 or set(items) <= self.title_phrases:
            return []
        shown_n = len(items) - 2 if len(items) >= 4 else 2
        answer = items[shown_n]
        prefix = "、".join(items[:shown_n]).replace("“", "‘").replace("”", "’")
        question = f"讲话中“{prefix}”之后，紧接着的一项是？"
        pattern = pattern_of(items)
        last = items[shown_n - 1]
        pool = [
            p
            for p in self._item_pool(items, answer, pattern)
            if p not in sentence.text and f"{last}、{p}" not in self.full
        ]
        distractors, quality = self._pick(answer, pool, f"{last}、", "、", question, pattern)
        if len(distractors) < 3 or self._is_theme(answer):
            return []
        if len(set(distractors) & self._weak - set(self._lexicon(items, answer, pattern))) > 1:
            return []  # two options of another field: a giveaway
        units = {_unit(sentence), _list_unit(sentence, items)}
        score = 4.5 - _trivia(items) + quality
        return [Candidate("sequence", sentence, question, answer, distractors, score, units, (answer,))]

    def _key_phrases(self, sentence: Sentence) -> list[Candidate]:
        """Blank a key noun phrase of four or more characters; distractors share its head (考核机制 for
        工作机制, 思想建设 for 政治建设).

        The phrase is a word of the dictionary or two nouns in a row (政治 + 建设). Distractors come from
        the answer's field in the lexicon and from the speech's own phrases of that head in other parts (one
        in the same part could be a near-synonym there); one that shares any character of the modifier with
        the answer is not used. Common words of the head from the dictionary are not: of no field of the
        speech's, they read absurdly in its slot (工程质量 for 党员质量, 官僚资产).
        """
        out = []
        text = sentence.text
        if _figures(text):
            return []  # a sentence of figures reports; the term in it is no requirement to recall
        here = self._section_text(sentence.section_id)
        for start, end, phrase, compound in self._noun_phrases(text):
            if phrase[-2:] in _GENERIC_HEADS:
                continue  # 考察机制 against 考核机制: the options of a generic head overlap
            if not self._keyable(phrase, text, compound) or _PERSON_HEAD.search(phrase):
                continue  # 组工干部 against 党员干部: kinds of people are near-synonyms in a slot
            if not self._bounded(text, start, end):
                continue
            head = phrase[-2:]
            lexicon = self._lexicon([phrase], phrase, (len(phrase), ()))
            own = [
                w
                for w in self._by_head().get((head, len(phrase)), ())
                if w not in here
                and self._noun(w)
                and self.tags.get(w[:2]) in _MODIFIER_TAGS
                and w[:2] not in _NOT_MODIFIERS
            ]
            own.sort(key=lambda w: _digest(phrase, w))
            lexicon = [w for w in lexicon if w.endswith(head)]  # the head is the shape (胸怀天下 ≠ 人民至上)
            pool = [w for w in dict.fromkeys(lexicon + own) if w[:2] not in _NOT_MODIFIERS]
            pattern = (len(phrase), ((len(phrase) - 2, head[0]), (len(phrase) - 1, head[1])))
            score = 3.0 + 0.5 * (phrase in self.fixed) + 0.5 * bool(lexicon)
            out += self._cloze(sentence, start, end, pool, score, set(), pattern)
        return out

    def _bounded(self, text: str, start: int, end: int, right_noun: bool = False) -> bool:
        """The blank text[start:end] is a whole noun phrase in its sentence: no noun joins it on either side
        (建设 + 用地指标, 生活 + 垃圾分类, 人才 + 发展环境), it does not begin with a conjunction, adverb or
        pronoun (结果 + 项目) nor end in a verb (全市 + 计划)."""
        tokens = self.cut(text)
        spans, pos = [], 0
        for token in tokens:
            spans.append((pos, pos + len(token), token))
            pos += len(token)
        inner = [t for a, b, t in spans if a >= start and b <= end]
        before = next((t for a, b, t in spans if b == start), "")
        after = next((t for a, b, t in spans if a == end), "")
        if not inner:
            return False
        # A term of the lexicon may stand before the noun it qualifies (舆论监督 + 作用, 根本性 + 建设).
        if self.tags.get(before) in _RUN_TAGS or (not right_noun and self.tags.get(after) in _RUN_TAGS):
            return False
        if (before and self.is_word(before + inner[0])) or (after and self.is_word(inner[-1] + after)):
            return False
        if (self.tags.get(inner[0]) or "")[:1] in {"c", "d", "r", "m", "q"}:
            return False
        if (
            len(inner) > 1
            and (self.tags.get(inner[-1]) or "").startswith("v")
            and self.tags.get(inner[-1]) != "vn"
        ):
            return False
        return True

    def _field_terms_in(self, sentence: Sentence) -> list[Candidate]:
        """Blank a term of the lexicon the sentence says (人才强省战略, 舆论监督, 根本性 of 根本性建设), with
        terms of its field as distractors: the surest wrong options there are. A quoted term and a list
        item are asked as such; a term inside a longer quote (第一资源 of “人才是第一资源”) is asked here."""
        out = []
        text = sentence.text
        if _figures(text):
            return []  # a sentence of figures reports; the term in it is no requirement to recall
        tokens_of_text = self.cut(text)
        from content.terms import lexicon_terms_in

        for term, pool in lexicon_terms_in(text):
            start = text.find(term)
            end = start + len(term)
            before, after = text[start - 1 : start], text[end : end + 1]
            if (before == "“" and after == "”") or "、" in (before, after):
                continue
            affix = self._shared_affix(term, pool, text[end:])
            if affix is None:
                continue
            if not self._bounded(text, start, end, right_noun=True):
                continue
            tokens = self.cut(term)
            following = _token_starting(tokens_of_text, end)
            if (
                len(tokens) > 1
                and self.tags.get(tokens[0], "").startswith("v")
                and self.tags.get(following) in {"n", "vn"}
            ):
                continue  # a verb and its object that happen to spell a term: 创新 + 人才发展体制机制
            # The affix the term shares with its field (建设 of 政治建设, 第一 of 第一资源) is fixed; the rest
            # is what is asked, and a distractor that shares any of it (人才强国战略 for 人才强省战略) could be
            # right too.
            pool = sorted(
                (t for t in pool if t.startswith(affix) or t.endswith(affix)), key=lambda o: _digest(term, o)
            )
            if term.startswith(affix) and not term.endswith(affix):
                fixed = tuple(enumerate(affix))
                pool = [t for t in pool if t.startswith(affix)]
            else:
                fixed = tuple((len(term) - len(affix) + k, ch) for k, ch in enumerate(affix))
                pool = [t for t in pool if t.endswith(affix)]
            out += self._cloze(sentence, start, end, pool, 4.5, set(), (len(term), fixed))
        return out

    def _shared_affix(self, term: str, pool: tuple[str, ...] | list[str], rest: str) -> str | None:
        """The head (建设 of 政治建设, 战略 of 人才强省战略) or beginning (第一 of 第一资源) a term shares with
        three or more of its field, so that they read alike in its slot; or a one-character ending (性 of
        根本性) where the term modifies the noun after it (根本性建设: any X性 reads as well there, unlike
        after a verb: 调动积极性). None for a field of mixed build (灯下黑, 微腐败, 卡脖子) or a generic head
        (工作机制: the head is not what to recall)."""
        if term[:2] in _NOT_MODIFIERS or term[-2:] in _GENERIC_HEADS:
            return None  # 工作机制; 年度考核 against 综合考核, 忧患意识 against 风险意识: arguably right
        if len(term) >= 4:
            for affix in (term[-2:], term[:2]):
                if sum(t.endswith(affix) if affix == term[-2:] else t.startswith(affix) for t in pool) >= 3:
                    return affix
            return None
        if len(term) == 3 and sum(t.endswith(term[-1]) for t in pool) >= 3:
            following = self.cut(rest)[:1]
            if following and self.tags.get(following[0]) in {"n", "vn"} and len(following[0]) >= 2:
                return term[-1]
        return None

    def _noun_phrases(self, text: str) -> list[tuple[int, int, str, bool]]:
        """(start, end, phrase, compound) of the sentence's noun phrases worth a blank: a noun of four or
        more characters, or two nouns of two characters in a row (政治建设, 干部作风).

        The phrase is the whole run of nouns (not 生活准则 of 政治生活准则, nor 党员队伍 of 党员队伍素质),
        outside quotes (a quoted term is asked as such), and its modifier is a noun: 优化结构 or 合理配置
        is a requirement, asked as a list item if at all, and a noun of its head would not fit its slot.
        """
        spans = []
        pos = 0
        for token in self.cut(text):
            spans.append((pos, pos + len(token), token))
            pos += len(token)
        out = []
        for i, (start, _end, token) in enumerate(spans):
            for j, compound in ((i, False), (i + 1, True)):
                if j >= len(spans):
                    continue
                stop = spans[j][1]
                phrase = text[start:stop]
                if compound and not (len(token) == 2 and len(spans[j][2]) == 2):
                    continue
                if len(phrase) < 4 or not _HAN_ONLY.fullmatch(phrase):
                    continue
                if not self._noun_like(phrase, compound):
                    continue
                before = spans[i - 1][2] if i else ""
                after = spans[j + 1][2] if j + 1 < len(spans) else ""
                if self.tags.get(before) in _RUN_TAGS or self.tags.get(after) in _RUN_TAGS:
                    continue  # a piece of a run of nouns: 人才 + 发展环境, 基本知识 + 体系
                if compound and (self.is_word(before + token) or self.is_word(spans[j][2] + after)):
                    continue  # a piece of a longer phrase: 生活准则 of 政治生活 + 准则
                if (start and text[start - 1] == "“") or (stop < len(text) and text[stop] == "”"):
                    continue
                if (start and text[start - 1] == "、") or (stop < len(text) and text[stop] == "、"):
                    continue  # an item of a list, asked as one if at all (商场市场、宾馆饭店)
                out.append((start, stop, phrase, compound))
        return out

    def _noun_like(self, phrase: str, compound: bool = False) -> bool:
        """A noun phrase of a noun modifier and a noun head (政治建设, 基础设施), or a term of the lexicon."""
        modifier, head = phrase[:2], phrase[-2:]
        if phrase in self.terms or self._lexicon([phrase], phrase, (len(phrase), ())):
            return True
        if modifier in _NOT_MODIFIERS:
            return False  # 全面建设, 会议精神, 工作机制: a formula, not a phrase to recall
        if compound:
            # A verbal head makes a noun phrase only as a known term (政治建设); 原则 + 调查 is none.
            head_tag = self.tags.get(head)
            return self.tags.get(modifier) in _MODIFIER_TAGS and (
                head_tag == "n" or (head_tag == "vn" and self.is_word(phrase))
            )
        if len(phrase) == 4:
            return self.tags.get(modifier) in _MODIFIER_TAGS and self._noun(phrase)
        return self._noun(phrase)

    def _section_text(self, section_id: str) -> str:
        return next((s.text for s in self.speech.sections if s.id == section_id), "")

    def _noun(self, word: str) -> bool:
        tag = self.tags.get(word)
        return (tag in {"n", "nz", "vn", "nt"} if tag else word in self.fixed) and word not in self.generic

    def _keyable(self, token: str, text: str, compound: bool = False) -> bool:
        """A word worth a blank: a noun or term of the speech's own, once in the sentence, not generic."""
        if not (2 <= len(token) <= 8 and _HAN_ONLY.fullmatch(token)):
            return False
        if not (compound or self._noun(token)) or token in self.generic:
            return False
        if text.count(token) != 1 or "习近平" in token or "的" in token or token in self.title_words:
            return False
        # A word the speech says everywhere (党员, 干部) is no test of the passage.
        return self.full.count(token) <= 3

    def _words(self) -> list[str]:
        """Every word of two or more characters the speech's body uses, once each, in order."""
        if not hasattr(self, "_all_words"):
            self._all_words = list(
                dict.fromkeys(w for s in self.body for w in self.cut(s.text) if len(w) >= 2)
            )
        return self._all_words

    def _by_head(self) -> dict[tuple[str, int], list[str]]:
        """The speech's words of four or more characters by their last two characters and length."""
        if not hasattr(self, "_heads"):
            self._heads: dict[tuple[str, int], list[str]] = {}
            for w in self._vocabulary():
                if len(w) >= 4:
                    self._heads.setdefault((w[-2:], len(w)), []).append(w)
        return self._heads

    def _vocab_set(self) -> set[str]:
        if not hasattr(self, "_vocab_words"):
            self._vocab_words = set(self._vocabulary())
        return self._vocab_words

    def _vocabulary(self) -> list[str]:
        if not hasattr(self, "_vocab"):
            self._vocab = list(
                dict.fromkeys(
                    w
                    for s in self.body
                    for w in self.cut(s.text)
                    if 2 <= len(w) <= 8
                    and _HAN_ONLY.fullmatch(w)
                    and w not in self.generic
                    and self.is_word(w)
                )
            )
        return self._vocab

    def _places(self) -> list[Section]:
        """The options of a which-part question: the parts, and 开篇 and 结语 when there are few parts."""
        numbered = [s for s in self.speech.sections if s.kind == "numbered"]
        if len(numbered) >= 4:
            return numbered
        return [
            s
            for s in self.speech.sections
            if s.kind == "numbered" or any(x.role == "body" for x in s.sentences)
        ]

    def _section(self, sentence: Sentence) -> list[Candidate]:
        """Which part says this: a stretch found in no other part, that does not repeat a heading."""
        places = self._places()
        section = next((s for s in places if s.id == sentence.section_id), None)
        if section is None or len(places) < 3:
            return []
        if re.match(r"^(?:同志们|同学们|老师们|各位|最后|总之|让我们)", sentence.text):
            return []  # a quote that opens with 同志们， or 最后， says it is the closing
        snippet = _snippet(sentence.text)
        if snippet is None:
            return []
        core = snippet.rstrip("…")
        if sum(core in s.text for s in self.speech.sections) != 1:
            return []
        # Never a stretch that repeats a heading or names a part's theme: it answers itself or misleads.
        if any(_echoes(heading, core) for heading in self.headings) or any(
            p in sentence.text for p in self.title_phrases if len(p) >= 2
        ):
            return []
        if sentence.text.rstrip().endswith(("：", ":")):
            return []  # a sentence that only announces what follows (具体来讲，要突出三个方向：)
        if _CONTEXTUAL.match(sentence.text):
            return []  # it points back (这些问题…) or is a formula any part could say (今天，我们召开…)
        if re.match(r"^(?:[一二三四五六七八九十]是|要|必须)", sentence.text) and len(sentence.text) < 24:
            return []  # a lead line that heads its passage (要落实党政同责、一岗双责。)
        # Four characters of the part's own headings in the quote (政治监督 under 坚守政治监督定位) answer it.
        own_titles = [t for x in (section, *section.subsections) for t in (x.title, x.heading or "") if t]
        bare = re.sub(r"[“”‘’]", "", sentence.text)
        if any(
            _HAN_ONLY.fullmatch(t[i : i + 4]) and t[i : i + 4] in bare
            for t in (re.sub(r"[“”‘’]", "", x) for x in own_titles)
            for i in range(len(t) - 3)
        ):
            return []  # the sentence, not only the stretch quoted: 全面提高党员队伍素质 under 抓实做好队伍建设
        own = {w for w in self.cut(section.title) if len(w) >= 2 and w not in self.generic}
        # and any two characters of those (河湖长 of 河湖长制)
        own |= {w[i : i + 2] for w in list(own) if len(w) > 2 for i in range(len(w) - 1)} - self.generic
        # and the heading's own terms (思想建党 of 突出思想建党、理论强党): a quote that says them echoes it
        own |= {w for w in self.cut(section.heading or "") if len(w) >= 4 and w not in self.generic}
        if any(w in core for w in own):
            return []  # the quote says a word of the right option's title: it answers itself
        label = lambda s: s.name  # noqa: E731
        others = sorted((s for s in places if s is not section), key=lambda s: _digest(sentence.text, s.id))[
            :3
        ]
        question = f"“{snippet.replace('“', '‘').replace('”', '’')}”出自讲话的哪一部分？"
        score = 4.0 + 0.5 * bool(_REQUIRE.search(core))
        return [
            Candidate(
                "section",
                sentence,
                question,
                label(section),
                [label(s) for s in others],
                score,
                {_unit(sentence)},
                (),
            )
        ]

    # -- the bank --------------------------------------------------------------------------------------
    def build(self, lessons=None, prompts: dict[int, str] | None = None) -> list[Question]:
        """The bank, in reading order of the sources.

        `prompts` are the lessons' 思考题 by day: an answer its own lesson's prompt names is given away beside
        that lesson's quiz button, so such a candidate is not taken."""
        prompts = prompts or {}
        if not hasattr(self, "_candidates"):
            self._candidates = self.candidates()
        pool = sorted(self._candidates, key=lambda c: (-c.score, self._position[_key(c.sentence)], c.kind))
        pool = [c for c in pool if c.score >= MIN_SCORE]
        body_chars = sum(len(s.text) for s in self.body)
        target = max(4, round(body_chars / CHARS_PER_QUESTION))
        chosen: list[Candidate] = []
        used_units: set[str] = set()
        used_answers: set[str] = set()
        shown_text: list[str] = []
        titles_shown = " ".join(s.name for s in self._places())

        used_options: set[str] = set()
        per_lesson_sections: Counter[int | None] = Counter()
        numbered = [s for s in self.speech.sections if s.kind == "numbered"]
        section_cap = math.ceil(target / 3 / max(1, len(numbered))) + 1
        per_part_sections: Counter[str] = Counter()

        def ok(c: Candidate) -> bool:
            if c.units & used_units or (c.answer_terms and set(c.answer_terms) & used_answers):
                return False
            # One set of wrong options is not offered again in another slot (one shared option may be).
            if c.kind != "section" and len(set(c.distractors) & used_options) >= 2:
                return False
            if c.kind == "section":
                day = self.days.get(_key(c.sentence))
                if per_lesson_sections[day] or per_part_sections[c.sentence.section_id] >= section_cap:
                    return False
            if any(term in prompts.get(self.days.get(_key(c.sentence)), "") for term in c.answer_terms):
                return False
            mine = c.question + "\n" + "\n".join([c.answer, *c.distractors])
            # No answer of this question shows elsewhere, and no answer of another shows here.
            for term in c.answer_terms:
                if any(term in text for text in shown_text) or term in titles_shown:
                    return False
                # Half of a longer answer in a title shown as an option (腐败 of 微腐败) gives it away too.
                core = c.core or term
                halves = {core[i : i + 2] for i in range(len(core) - 1)} - self.generic
                if len(term) >= 3 and any(h in titles_shown for h in halves):
                    if c.kind != "section":
                        return False
            for other in chosen:
                if any(term in mine for term in other.answer_terms):
                    return False
            return True

        def take(c: Candidate) -> None:
            if c.kind == "section":
                per_lesson_sections[self.days.get(_key(c.sentence))] += 1
                per_part_sections[c.sentence.section_id] += 1
            else:
                used_options.update(c.distractors)
            chosen.append(c)
            used_units.update(c.units)
            used_answers.update(c.answer_terms)
            shown_text.append(c.question + "\n" + "\n".join([c.answer, *c.distractors]))

        # Every lesson, then every part, gets its best question first (a which-part question only where
        # nothing else fits); then the best of the rest; then which-part questions, up to a third.
        groups: list[set[tuple[str, int]]] = []
        if lessons:
            groups += [{(s.section_id, s.index) for s in lesson.sentences} for lesson in lessons]
        groups += [{(s.section_id, s.index) for s in section.sentences} for section in self.speech.sections]
        for group in groups:
            if any(_key(c.sentence) in group for c in chosen):
                continue
            mine = [c for c in pool if _key(c.sentence) in group]
            for c in sorted(mine, key=lambda c: c.kind == "section"):
                if c.kind == "section" and per_part_sections[c.sentence.section_id]:
                    continue  # a part's second which-part question waits until every part has one
                if ok(c):
                    take(c)
                    break
        per_section = Counter(c.sentence.section_id for c in chosen)
        share = {s.id: len([x for x in self.body if x.section_id == s.id]) for s in self.speech.sections}
        total = sum(share.values()) or 1
        for which in ("other", "section", "section again"):
            for c in pool:
                if len(chosen) >= target:
                    break
                sections = sum(x.kind == "section" for x in chosen)
                if (c.kind == "section") != which.startswith("section") or c in chosen:
                    continue
                # Which-part questions go round the parts: a second on one part only after every part
                # that has a candidate got its first.
                if which == "section" and per_part_sections[c.sentence.section_id]:
                    continue
                if c.kind == "section" and (sections + 1) * 3 > len(chosen) + 1:
                    continue
                sid = c.sentence.section_id
                cap = math.ceil(target * share.get(sid, 0) / total * 1.5) + 1
                if per_section[sid] < cap and ok(c):
                    take(c)
                    per_section[sid] += 1

        # At most a third: drop the weakest which-part questions, those a lesson does not rely on first.
        def needed(c: Candidate) -> bool:
            return any(
                _key(c.sentence) in g and sum(_key(x.sentence) in g for x in chosen) == 1 for g in groups
            )

        while sum(x.kind == "section" for x in chosen) * 3 > len(chosen):
            sections = [x for x in chosen if x.kind == "section"]
            twice = Counter(x.sentence.section_id for x in sections)
            # A part's second which-part question goes first, then one no lesson needs, then the weakest.
            extra = sorted(sections, key=lambda x: (twice[x.sentence.section_id] == 1, needed(x), x.score))
            chosen.remove(extra[0])
        chosen.sort(key=lambda c: (self._position[_key(c.sentence)], c.kind))
        # The right answer's letter is spread evenly over the bank: each question takes the letter used least
        # so far (ties by the question's own digest), so no letter gives the answer away.
        used: Counter[int] = Counter()
        out = []
        for c in chosen:
            n = 1 + len(c.distractors[:3])
            key = _digest(c.kind, c.sentence.section_id, c.sentence.text, c.answer)
            index = min(range(n), key=lambda i: (used[i], _digest(key, str(i))))
            used[index] += 1
            out.append(self._question(c, index))
        return out

    def _question(self, c: Candidate, index: int) -> Question:
        key = _digest(c.kind, c.sentence.section_id, c.sentence.text, c.answer)
        wrong = sorted(c.distractors[:3], key=lambda o: _digest(key, o))
        options = tuple(wrong[:index] + [c.answer] + wrong[index:])
        return Question(
            f"{c.kind[0]}{key[:9]}",
            c.kind,
            c.sentence.section_id,
            c.question,
            options,
            index,
            c.sentence.text,
            _explanation(self.labels[c.sentence.section_id], c.sentence.text),
            self.days.get(_key(c.sentence)),
        )


# The word after a quoted term that says what it names: “头雁”工程, “清廉”品牌, “钉钉子”精神.
_QUOTE_HEAD = re.compile(
    r"^(?:工程|行动|计划|机制|制度|品牌|平台|模式|课程|工作法|服务|活动|创建|试点|改革|清单|队伍|环节|理念|精神|"
    r"作风|现象|问题|难题|规划|标准|要求|线路|志愿服务队|服务队|工作室|驿站|中心)"
)
_PERSON_HEAD = re.compile(r"(干部|党员|人员|人才|群众|同志|书记|教师|老师|学生|青年|职工|代表)$")
# A sentence that points back to what was said before it, or a formula of any speech's opening or closing:
# quoted alone, it does not say which part it is from.
_CONTEXTUAL = re.compile(
    r"^(?:这些|这个|这是|这就|这说明|这让|对这些|对此|上述|以上|总的来看|总的来说|今天，?我们|我们的差距|"
    r"具体来讲|具体来说|各地各单位要加强)"
)
_PREFIX_CLASSES = {"time": set("日周旬月季年"), "early": set("早先")}


def _prefix_class(items: list[str]) -> str | None:
    """The class all items begin with (日巡查、周报告、月通报: time), or None."""
    for name, chars in _PREFIX_CLASSES.items():
        if all(item[:1] in chars for item in items):
            return name
    return None


_NUMERALS = "一二两三四五六七八九十百千万"


def _skeleton(term: str) -> str:
    """Where a term has numerals: 一人一档 → 一_一_ (any numeral stands for any other)."""
    return "".join("一" if ch in _NUMERALS else "_" for ch in term)


def _suffix(pattern, word: str) -> str:
    """The fixed ending a pattern gives its words (感 of X感), or ""."""
    n, fixed = pattern
    places = {(k if k >= 0 else len(word) + k) for k, _ in fixed}
    end = len(word)
    while end - 1 in places:
        end -= 1
    return word[end:] if end < len(word) and end > 0 else ""


def _built_alike(a: str, b: str) -> bool:
    """Two terms of one build: the same head or beginning of two characters (民心工程 ~ 铸魂工程, 第一资源 ~
    第一动力), or the same last character for three-character terms (政绩观 ~ 权力观)."""
    if len(a) >= 4 and len(b) >= 4:
        return a[-2:] == b[-2:] or a[:2] == b[:2]
    return len(a) == len(b) == 3 and a[-1] == b[-1]


def _figures(text: str) -> bool:
    """Whether a sentence reports figures: two or more numbers (全市现有非煤矿山37座、尾矿库9座)."""
    return len(re.findall(r"[0-9０-９]+(?:[.．][0-9]+)?", text)) >= 2


def _common_suffix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) - 1 and a[-1 - n] == b[-1 - n]:
        n += 1
    return a[len(a) - n :]


def _key(sentence: Sentence) -> tuple[str, int]:
    return (sentence.section_id, sentence.index)


def _unit(sentence: Sentence) -> str:
    return f"s:{sentence.section_id}:{sentence.index}"


def _list_unit(sentence: Sentence, items: list[str]) -> str:
    return "l:" + "、".join(items)


def _parallel(items: list[str]) -> bool:
    """Real parallel items: three or more, of like length, none a fragment."""
    return len(items) >= 3 and max(map(len, items)) - min(map(len, items)) <= 2 and min(map(len, items)) >= 2


def _trivia(items: list[str]) -> float:
    """How much a list looks like trivia (交通、医院、学校: short concrete nouns) rather than a requirement."""
    return 1.5 if len(items) >= 4 and all(len(i) <= 2 for i in items) else 0.0


def _token_ending(tokens: list[str], at: int) -> str:
    pos = 0
    for token in tokens:
        if pos + len(token) == at:
            return token
        pos += len(token)
    return ""


def _token_starting(tokens: list[str], at: int) -> str:
    pos = 0
    for token in tokens:
        if pos == at:
            return token
        pos += len(token)
    return ""


def _snippet(text: str) -> str | None:
    """A recognisable stretch of a sentence: its opening clauses, SNIPPET_MIN–SNIPPET_MAX characters."""
    body = text.rstrip("。！？；")
    if len(body) <= SNIPPET_MAX:
        return body if len(body) >= SNIPPET_MIN else None
    out = ""
    for clause in re.split(r"(?<=[，；：])", body):
        if len(out) + len(clause) > SNIPPET_MAX:
            break
        out += clause
    out = out.rstrip("，；：")
    return out + "……" if len(out) >= SNIPPET_MIN else None


def _echoes(heading: str, text: str) -> bool:
    """Whether a stretch repeats a heading: a run of 8 or more of the heading's characters in it."""
    clauses = [c for c in re.split(r"[，,。；;：:！？、]", heading) if len(c) >= 6]
    return any(c in text for c in clauses) or (len(heading) >= 8 and heading[:8] in text)


def _find_item(text: str, items: list[str], k: int) -> int:
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
