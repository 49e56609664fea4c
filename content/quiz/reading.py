"""What the quiz knows of one speech: its words, their parts of speech, its quoted terms and lists, and the
checks every question passes (a blank on a whole unit, a stem that does not give the answer away).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from content.prompts import kind_of
from content.quiz.question import CONTEXT, LEAD_MAX
from content.quiz.shapes import (
    ADJISH,
    HAN_ONLY,
    NOUNISH,
    NUMERALS,
    NUMERIC,
    RUN_TAGS,
    THEME_STOP,
    VERBISH,
    is_parallel,
    skeleton,
    term_shape,
    token_ending,
    token_starting,
)
from content.speech import Speech

# A quoted term of two to twelve characters.
QUOTED = re.compile(r"“([^“”]{2,12})”")

# Verbs that take a measure as their object: a verb between one of them and a term is part of the term.
# Verbs that say how the next one is done (深入实施, 加快推进): the term after both is the second's object.
ADVERBIAL_VERBS = frozenset("深入 全面 大力 持续 切实 扎实 积极 坚决 加快 不断 认真 着力 统筹 稳步".split())


def in_quote(text: str, start: int, end: int) -> bool:
    """Whether a span lies inside a quotation and is not all of it (第一资源 of “人才是第一资源”)."""
    opening = text.rfind("“", 0, start)
    closing = text.find("”", end)
    if opening < 0 or closing < 0 or "”" in text[opening:start] or "“" in text[end:closing]:
        return False
    return not (opening == start - 1 and closing == end)


GOVERNING_VERBS = tuple(
    "推行 实施 实行 开展 建立 健全 落实 坚持 推进 加强 强化 完善 推动 深化 构建 探索".split()
)


class Reading:
    """What the quiz knows of one speech: its words, their parts of speech, its quoted terms and lists, and the"""

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
        self._signatures: dict[str, tuple[frozenset[str] | None, ...]] = {}  # see `signature`
        self._kin: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}  # see Options._kin_of
        self._shapes: dict[tuple, tuple[list[str], set[str]]] = {}  # see Options._shaped
        self.lists = {
            (s.section_id, s.index): [items for items in enumerations(s.text, cut) if is_parallel(items)]
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
        words = {w for w in self.cut(self.speech.title) if len(w) >= 2 and HAN_ONLY.fullmatch(w)}
        words = {w for w in words if w not in THEME_STOP and not any(ch.isdigit() for ch in w)}
        # A title phrase of a fixed term: 组织 + 工作 → 组织工作.
        for a, b in zip(self.cut(self.speech.title), self.cut(self.speech.title)[1:], strict=False):
            if (a + b) in self.speech.title and self.is_word(a + b) and len(a + b) >= 4:
                words.add(a + b)
        return words

    def _of_the_themes_head(self, phrase: str) -> bool:
        """Whether a phrase has the head of the speech's theme (发展环境 in a speech on 营商环境): every
        option of that head is arguably what the speech is about."""
        heads = {w[-2:] for w in self.title_words if len(w) >= 4} | {
            w for w in self.title_words if len(w) == 2 and (self.tags.get(w) or "")[:1] in {"n", "v"}
        }
        return len(phrase) >= 4 and phrase[-2:] in heads

    def _is_theme(self, answer: str) -> bool:
        titles = self.speech.title + " " + (self.speech.subtitle or "")
        return answer in self.title_words or (len(answer) >= 3 and answer in titles)

    def _coarse(self, tag: str | None) -> frozenset[str] | None:
        """Noun, verb, adjective classes of a jieba tag; None when unknown or an idiom (fits anything)."""
        if tag is None or tag in {"l", "i", "x"}:
            return None
        return frozenset(
            name
            for name, group in (("n", NOUNISH), ("v", VERBISH), ("a", ADJISH))
            if tag in group or tag[:1] == name
        ) or frozenset({tag[:1]})

    def signature(self, word: str) -> tuple[frozenset[str] | None, ...]:
        """The classes of a word's parts: (v, n) for 讲政治, (n,) for 方向盘 (once per word: the tags, the
        text and the cut do not change once the quiz is set up)."""
        found = self._signatures.get(word)
        if found is None:
            if word in self.tags:
                found = (self._coarse(self.tags[word]),)
            elif word not in self.full:
                # A word of the lexicon the speech does not say: the speech's part of the dictionary would
                # cut it by guess. Its field vouches for it.
                found = (None,)
            else:
                found = tuple(self._coarse(self.tags.get(t)) for t in self.cut(word))
            self._signatures[word] = found
        return found

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

    def _tokens_around(self, text: str, start: int, end: int) -> list[str]:
        """The sentence's tokens; where the span lies inside a quoted term the tokenizer keeps whole
        (第一资源 of “人才是第一资源”), the pieces before, of and after the span, each cut alone."""
        tokens = self.cut(text)
        if in_quote(text, start, end):
            bounds, pos = {0}, 0
            for token in tokens:
                pos += len(token)
                bounds.add(pos)
            if start not in bounds or end not in bounds:
                return [*self.cut(text[:start]), *self.cut(text[start:end]), *self.cut(text[end:])]
        return tokens

    def _whole_unit(self, text: str, start: int, end: int) -> bool:
        """The blank text[start:end] is a whole unit: not inside a number or a longer fixed term."""
        if start > 0 and end < len(text) and text[start - 1] == "“" and text[end] == "”":
            return True
        if (start > 0 and text[start - 1] in NUMERIC) or (end < len(text) and text[end] in NUMERIC):
            return False
        tokens = self._tokens_around(text, start, end)
        bounds, pos = {0}, 0
        for token in tokens:
            pos += len(token)
            bounds.add(pos)
        if start not in bounds or end not in bounds:
            return False
        # A modifier left outside (可支配 + 收入, 第一 + 责任人): the word before must not join the answer.
        before = token_ending(tokens, start)
        after = token_starting(tokens, end)
        if before and (self.is_word(before + text[start:end]) or self.tags.get(before, "")[:1] in {"m", "b"}):
            return False
        if after and self.is_word(text[start:end] + after):
            return False
        return True

    def _bounded(self, text: str, start: int, end: int, right_noun: bool = False) -> bool:
        """The blank text[start:end] is a whole noun phrase in its sentence: no noun joins it on either side
        (建设 + 用地指标, 生活 + 垃圾分类, 人才 + 发展环境), it does not begin with a conjunction, adverb or
        pronoun (结果 + 项目) nor end in a verb (全市 + 计划)."""
        tokens = self._tokens_around(text, start, end)
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
        if self.tags.get(before) in RUN_TAGS or (not right_noun and self.tags.get(after) in RUN_TAGS):
            return False
        if self.tags.get(before) == "vn" and not re.search(r"[，、；：“]$", text[:start]):
            return False  # 应急 + 能力建设: a verbal noun before the term qualifies it (应急能力建设)
        if len(before) == 2 and self.tags.get(before) == "a" and not re.search(r"[，、；：“]$", text[:start]):
            return False  # 廉洁 + 文化建设: an adjective before it makes one term with it
        if (before and self.is_word(before + inner[0])) or (after and self.is_word(inner[-1] + after)):
            return False
        ordinal = text.startswith("第", start)  # 第一资源: an ordinal opens a term of its own
        if (self.tags.get(inner[0]) or "")[:1] in {"c", "d", "r", "m", "q"} and not ordinal:
            return False
        if (self.tags.get(before) or "")[:1] == "v":
            # 全面推行 + 包容 + 审慎监管: a verb between the one that governs the term and the term is part of it.
            farther = next((t for a, b, t in spans if b == start - len(before)), "")
            if farther in ADVERBIAL_VERBS:
                pass  # 深入 + 实施 + 人才强省战略: 深入 says how, the term is 实施's object
            elif (self.tags.get(farther) or "")[:1] == "v" or farther.endswith(GOVERNING_VERBS):
                return False
        if (
            len(inner) > 1
            and (self.tags.get(inner[-1]) or "").startswith("v")
            and self.tags.get(inner[-1]) != "vn"
        ):
            return False
        return True

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
                self._term_groups.setdefault((term_shape(t), self._kind(t), len(t)), []).append(t)
        return self._term_groups.get((shape, kind, length), [])

    def _quoted_before(self, head: str) -> list[str]:
        """The quoted terms the speech puts right before a word (“X”工程)."""
        found = (m.group(1) for m in QUOTED.finditer(self.full) if self.full.startswith(head, m.end()))
        return list(dict.fromkeys(found))

    def _like(self, term: str, other: str, shape: str) -> bool:
        """Two quoted terms of one build: the same length, numerals in the same places (一人一档 ~ 一岗一策),
        and otherwise the same parts of speech (讲政治 ~ 重公道)."""
        if len(term) != len(other):
            return False
        if shape in {"counted", "numbered"}:
            return skeleton(term) == skeleton(other)
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

    def _verb_led(self, items: list[str]) -> bool:
        """Whether the items are verbs with their objects: 讲政治, 铸忠魂 (a character and a word), 优化结构
        (a verb and a noun). jieba's tags of lone characters and of such objects are guesses, so the
        object decides and one item in a list may be unknown (建新功)."""

        def led(item: str) -> bool:
            if len(item) == 3:
                return self.tags.get(item[1:], "")[:1] in {"n", "v"} and item[0] not in NUMERALS + "不"
            if len(item) == 4:
                return self.tags.get(item[:2], "").startswith("v") and self.tags.get(item[2:]) in {"n", "vn"}
            return False

        return len({len(i) for i in items}) == 1 and sum(map(led, items)) >= len(items) - 1

    def _lead(self, before: str, keep_quotes: bool = False) -> str:
        """The words of a sentence right before a list: its last clauses up to LEAD_MAX characters (at least
        eight, cut between words where a clause is longer), …… where cut."""
        pieces = [p for p in re.split(r"(?<=[，；：])", before) if p]
        out = ""
        for piece in reversed(pieces):
            if out and len(out) + len(piece) > LEAD_MAX:
                break
            out = piece + out
        if len(out) > LEAD_MAX or (len(out) < 8 and out != before):
            kept = ""
            for word in reversed(self.cut(before)):
                if len(kept) + len(word) > LEAD_MAX:
                    break
                kept = word + kept
            # Never from inside a quote (盼”“安、危…): from after the quote it cuts into.
            while "”" in kept and ("“" not in kept or kept.find("”") < kept.find("“")):
                kept = kept[kept.find("”") + 1 :]
            out = kept.lstrip("，；：、")  # (never from a list separator: 、水资源管理…)
        if not keep_quotes:  # inside a quote of its own, the sentence's quotes are written ‘’
            out = out.replace("“", "‘").replace("”", "’")
        return ("……" if out != before else "") + out

    @staticmethod
    def _follow(after: str) -> str:
        """The words of a sentence right after a list, up to the end of its clause."""
        m = re.match(r"[^，。；：！？]{0,16}", after)
        piece = m.group(0) if m else ""
        rest = after[len(piece) :]
        piece = piece.replace("“", "‘").replace("”", "’")
        return piece + ("……" if rest.strip("。！？") else "")

    def _section_text(self, section_id: str) -> str:
        return next((s.text for s in self.speech.sections if s.id == section_id), "")

    def _noun(self, word: str) -> bool:
        tag = self.tags.get(word)
        return (tag in {"n", "nz", "vn", "nt"} if tag else word in self.fixed) and word not in self.generic

    def _keyable(self, token: str, text: str, compound: bool = False) -> bool:
        """A word worth a blank: a noun or term of the speech's own, once in the sentence, not generic."""
        if not (2 <= len(token) <= 8 and HAN_ONLY.fullmatch(token)):
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
                    and HAN_ONLY.fullmatch(w)
                    and w not in self.generic
                    and self.is_word(w)
                )
            )
        return self._vocab
