"""Wrong options: three that read like the answer in its slot, of its own shape and field, and are wrong."""

from __future__ import annotations

from content.lexicon import other_images
from content.quiz.question import stable_digest
from content.quiz.reading import Reading
from content.quiz.shapes import (
    GENERIC_HEADS,
    HAN_ONLY,
    NOT_MODIFIERS,
    fits_pattern,
    fixed_suffix,
    pattern_of,
    prefix_class,
    term_shape,
    variable_part,
)

# Endings of the names of a quality or attitude (X之心, X感, X性): not of a topic
# (X观 and X意识 are: 政绩观, 风险意识).
QUALITY_ENDINGS = frozenset({"之心", "感", "性", "之基", "之本", "之源"})


# Suffixes that make a noun and say nothing of its meaning (钉钉子 and 孺子牛 share 子, not an idea).
NOUN_SUFFIXES = frozenset("子头儿")


# Doctrines and virtues named X主义: never a wrong option in a slot of faults of that build.
POSITIVE_ISMS = frozenset(
    "社会主义 马克思主义 共产主义 爱国主义 集体主义 现实主义 英雄主义 人道主义 国际主义 乐观主义 理想主义".split()
)


class Options(Reading):
    """Wrong options: three that read like the answer in its slot, of its own shape and field, and are wrong."""

    # -- distractors ---------------------------------------------------------------------------------
    def _pick(
        self, answer: str, pool: list[str], left: str, right: str, shown: str, pattern=None, pos: bool = True
    ) -> tuple[list[str], float]:
        """Three wrong options from the pool that read like the answer; and how well they fit (0–1)."""
        out: list[str] = []
        quality = 0.0
        seen: set[str] = set()
        variable = variable_part(answer, pattern) if pattern else answer
        # Options of an ending that names a quality (敬畏之心 for 仁爱之心, 归属感 for 获得感) name no topic: the
        # speech need not speak of 敬畏 for 敬畏之心 to read as one of the answer's kind.
        # …nor does a spirit's name (“钉钉子”精神 against “老黄牛”精神), nor what an ordinal ranks (第一资源
        # against 第一动力, 第一要务).
        quality_kind = (
            (bool(pattern) and fixed_suffix(pattern, answer) in QUALITY_ENDINGS)
            or right.lstrip("”").startswith("精神")
            or answer.startswith("第")
            or bool(other_images(answer))  # an image (先手棋 against 压舱石) names no topic either
        )
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
            if self._is_theme(cand):
                continue  # the speech's theme (营商环境 of a speech on it) fits every slot of it: arguably right
            if cand in POSITIVE_ISMS and answer.endswith("主义"):
                continue  # 社会主义 among 形式主义、官僚主义: absurd in a slot of faults
            cand_var = variable_part(cand, pattern) if pattern else cand
            # A near-synonym (用才 for 用人) could be right too: the changing part shares no character.
            if (set(cand_var) & set(variable)) - NOUN_SUFFIXES:
                continue
            if self.fits(left, cand, right) or (pos and not self.same_pos(answer, cand)):
                continue
            if len(cand_var) >= 2 and cand_var in shown:
                continue  # its own part stands in the stem (督办机制 beside 跟踪督办): arguably right
            if len(cand_var) >= 2 and cand_var in left + right:
                continue  # or elsewhere in the sentence (品牌化 where it says 擦亮“云溪志愿红”品牌)
            if len(cand_var) >= 2 and right[:2] and (cand_var + right[:2]) in self.full:
                continue  # the speech says it of the word after the slot (关键性 for ＿＿变量: “关键变量”)
            if len(cand_var) >= 4 and any(
                cand_var[i : i + 2] in shown and cand_var[i : i + 2] not in self.generic
                for i in range(len(cand_var) - 1)
            ):
                continue  # a sibling of a word in the stem (量子科技 beside 量子信息): arguably right
            if (
                len(cand_var) >= 2
                and not quality_kind
                and cand not in self.full
                and not self._on_topic(cand_var)
            ):
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
        """1 when the speech uses the candidate in a slot like this one (the same word after it), else 0.5
        (once per candidate and slot: a search of the whole speech)."""
        after = right[:2]
        before = left[-2:]
        if not hasattr(self, "_slot_fits"):
            self._slot_fits: dict[tuple[str, str, str], float] = {}
        key = (before, cand, after)
        if key not in self._slot_fits:
            fit = 0.5
            if (after and (cand + after) in self.full) or (before and (before + cand) in self.full):
                fit = 1.0
            self._slot_fits[key] = fit
        return self._slot_fits[key]

    def _item_pool(self, items: list[str], answer: str, pattern) -> list[str]:
        """Words of the list's shape from elsewhere in the speech: items of its other lists, its quoted terms
        and its words, with the characters the list's items share in the same places (X感, 涉企X, 早X);
        for a list with no such shape, items of other lists built the same way (讲政治 ~ 悟思想)."""
        key = (tuple(items), answer, pattern)
        if not hasattr(self, "_item_pools"):
            self._item_pools: dict[tuple, list[str]] = {}
        if key not in self._item_pools:  # a list's item is asked by a cloze and by 不包括哪一项
            lexicon = self._lexicon(items, answer, pattern)
            speech = self._speech_pool(items, answer, pattern)
            if len(lexicon) >= 3:
                # The lexicon knows the list's field: no item of a list of another field (市场阅卷 among
                # 人工智能、量子信息) is needed beside its terms.
                weak = self._weak_for(items)
                speech = [o for o in speech if o not in weak]
            elif lexicon:
                # It knows the field but has too few terms of the shape: the rest only from the speech's
                # lists and quoted terms, not any word of the shape (举报 after 迟报、漏报: no fault at all).
                listed = {i for lists in self.lists.values() for other in lists for i in other}
                speech = [o for o in speech if o in listed or o in self.terms]
            self._item_pools[key] = lexicon + [o for o in speech if o not in lexicon]
        return self._item_pools[key]

    def _lexicon(self, items: list[str], answer: str, pattern) -> list[str]:
        """Terms of the field the list's items belong to (content/data/fields.txt), of the answer's length
        and shape: the surest wrong options, of the answer's own kind (获得感 → 归属感, 系统性 → 整体性)."""
        from content.lexicon import field_terms

        found = [t for t in field_terms(items) if t not in items]
        fitting = [
            t
            for t in dict.fromkeys(found)
            if len(t) == len(answer) and (not pattern[1] or fits_pattern(t, pattern))
        ]
        return sorted(fitting, key=lambda o: stable_digest(answer, o))

    def _speech_pool(self, items: list[str], answer: str, pattern) -> list[str]:
        if not pattern[1]:
            # No shape of its own: then its field is what the lists are of, seen in the words around them
            # (交通、医院、学校等基础设施; 日巡查、周报告: times). Items of lists of the same field only.
            kin, rest = self._kin_of(items)
            ok = [o for o in dict.fromkeys(kin + rest) if len(o) == len(answer) and HAN_ONLY.fullmatch(o)]
            ok = [o for o in ok if self.same_parts(answer, o)]
            # Items of lists of the same field first (said before or after the same word), then the rest,
            # which may be of another field: a question takes at most one of those (see `_weak`).
            self._weak |= {o for o in ok if o not in kin}
            return sorted(ok, key=lambda o: (o not in kin, stable_digest(answer, o)))
        shaped, seen = self._shaped(items, pattern)
        near: list[str] = []
        suffix = fixed_suffix(pattern, answer)
        if len(suffix) == 1 and len(answer) >= 3:
            # Common words of the list's ending whose stem is a word of the speech (规范化 beside 规范, 责任感
            # beside 责任): of its shape and its field.
            near = [w for w in self.near.get(suffix, ()) if w[:-1] in self._vocab_set()]
        elif len(suffix) == 1 and len(answer) == 2:
            # Two characters of one ending (真招、实招、新招): common words of it (高招, 妙招).
            near = [w for w in self.near.get(suffix, ()) if len(w) == 2]
        shaped = shaped + [
            o
            for o in dict.fromkeys(near)
            if o not in seen and fits_pattern(o, pattern) and HAN_ONLY.fullmatch(o)
        ]
        return sorted(
            (o for o in shaped if self.same_parts(answer, o)), key=lambda o: stable_digest(answer, o)
        )

    def _weak_for(self, items: list[str]) -> set[str]:
        """The items of lists of another field than this list's: those of `_weak` that are not its kin (年考核
        is weak beside 线索处置, kin beside 日巡查、周报告: `_weak` gathers them over every list)."""
        if pattern_of(items)[1]:
            return self._weak
        return self._weak - set(self._kin_of(items)[0])

    def _kin_of(self, items: list[str]) -> tuple[list[str], list[str]]:
        """For a list of no shape of its own: the items of the other such lists of its field (said before or
        after the same word, or of the same class or build), and those of the rest (once per list)."""
        key = tuple(items)
        if key not in self._kin:
            klass = prefix_class(items)
            frame = self._frames_of(items)
            kin, rest = [], []
            for lists in self.lists.values():
                for other in lists:
                    if other == items or pattern_of(other)[1]:
                        continue
                    if prefix_class(other) != klass:
                        continue  # 月调度、＿＿、年考核 wants another time, nothing else; 挂牌子、要台账 no time
                    same_field = (
                        bool(frame & self._frames_of(other))
                        or bool(klass)
                        # requirements of one build (循足迹、悟思想 and 学思想、强党性) are of one field
                        or (self._verb_led(items) and self._verb_led(other))
                    )
                    (kin if same_field else rest).extend(other)
            self._kin[key] = kin, rest
        return self._kin[key]

    def _shaped(self, items: list[str], pattern) -> tuple[list[str], set[str]]:
        """For a list of a shape: the words of the speech of that shape (in Chinese characters only) that
        may stand for an item, from its other lists of a shape, its plain quoted terms and its words; and
        all those looked at (once per list and shape, for each of its items asked)."""
        key = (tuple(items), pattern)
        if key not in self._shapes:
            listed = [
                it
                for lists in self.lists.values()
                for other in lists
                if other != items and pattern_of(other)[1]
                for it in other
            ]
            base, by_length = self._plain_words()
            length = pattern[0]
            # the length first: most words are of another (fits_pattern says so too, at a call's cost)
            pool = dict.fromkeys(listed + (by_length.get(length, []) if length else list(base)))
            shaped = [
                o
                for o in pool
                if (not length or len(o) == length) and fits_pattern(o, pattern) and HAN_ONLY.fullmatch(o)
            ]
            self._shapes[key] = shaped, base.keys() | set(listed)
        return self._shapes[key]

    def _plain_words(self) -> tuple[dict[str, None], dict[int, list[str]]]:
        """The speech's plain quoted terms and its words, once each in order, and the same by length (once
        per speech: every list of a shape draws on them)."""
        if not hasattr(self, "_plain"):
            base = dict.fromkeys([t for t in self.terms if term_shape(t) == "plain"] + self._words())
            by_length: dict[int, list[str]] = {}
            for w in base:
                by_length.setdefault(len(w), []).append(w)
            self._plain = base, by_length
        return self._plain

    def _shared_affix(self, term: str, pool: tuple[str, ...] | list[str], rest: str) -> str | None:
        """The head (建设 of 政治建设, 战略 of 人才强省战略) or beginning (第一 of 第一资源) a term shares with
        three or more of its field, so that they read alike in its slot; or a one-character ending (性 of
        根本性) where the term modifies the noun after it (根本性建设: any X性 reads as well there, unlike
        after a verb: 调动积极性). None for a field of mixed build (灯下黑, 微腐败, 卡脖子) or a generic head
        (工作机制: the head is not what to recall)."""
        ordinal = term.startswith("第") and sum(t.startswith(term[:2]) for t in pool) >= 3
        if ordinal:
            return term[:2]  # 第一资源 against 第一动力, 第一要务: the head is what the ordinal ranks
        if term[:2] in NOT_MODIFIERS or term[-2:] in GENERIC_HEADS:
            return None  # 工作机制; 年度考核 against 综合考核, 忧患意识 against 风险意识: arguably right
        if len(term) >= 4:
            for affix in (term[-2:], term[:2]):
                if sum(t.endswith(affix) if affix == term[-2:] else t.startswith(affix) for t in pool) >= 3:
                    return affix
            return None
        # X性 and X观 only: X化 before a noun names how the thing is made (标准化蔬菜大棚, 智能化管控平台), and
        # another X化 rarely reads there (项目化蔬菜大棚, 革命化技术经理人).
        if len(term) == 3 and term[-1] in "性观" and sum(t.endswith(term[-1]) for t in pool) >= 3:
            following = self.cut(rest)[:1]
            if following and self.tags.get(following[0]) in {"n", "vn"} and len(following[0]) >= 2:
                return term[-1]
        return None
