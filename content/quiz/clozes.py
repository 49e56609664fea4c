"""Cloze and what-comes-next candidates: a quoted 提法, a term of the lexicon, a key noun phrase, an item of
an enumeration, the item after the first ones of a list.
"""

from __future__ import annotations

import re

from content.lexicon import fields, fields_holding, other_images
from content.quiz.options import Options
from content.quiz.question import BLANK, Candidate, stable_digest
from content.quiz.shapes import (
    COUNTED,
    GENERIC_HEADS,
    HAN_ONLY,
    MODIFIER_TAGS,
    NOT_MODIFIERS,
    NUMBERED_TERMS,
    NUMERALS,
    PERSON_HEAD,
    PROHIBITION,
    QUOTE_HEAD,
    REQUIRE,
    RUN_TAGS,
    built_alike,
    ellipsis,
    find_item,
    list_unit,
    pattern_of,
    prefix_class,
    reports_figures,
    sentence_unit,
    skeleton,
    term_shape,
    token_starting,
    trivia_weight,
    variable_part,
    window,
)
from content.speech import Sentence

# A run-in lead that heads what follows: 在基层监管能力建设上，… / 在科技赋能上，…
RUN_IN_LEAD = re.compile(r"^(?:在|从|就)[^，。；]{2,16}(?:上|方面)，")


# A sentence about the meeting itself: what it is for, who spoke, what is handed out.
CEREMONY = re.compile(
    r"^(?:今天|这次会议|本次会议|会议的主要任务|刚才|会上|会前|会后|在此|借此机会|首先，我代表|我代表)"
)


def period_pattern(items: list[str], answer: str):
    """The shape of a list's item as its options must have it: the list's own, and for a list of periods
    (日巡查、＿＿、月通报) the answer's period too: an option of another period would be the only one that
    fits the order (周 between 日 and 月), a giveaway."""
    n, fixed = pattern_of(items)
    if prefix_class(items) == "time":
        return (len(answer), ((0, answer[0]), *((k, ch) for k, ch in fixed if k != 0)))
    return n, fixed


def odd_one_out(answer: str, distractors: list[str]) -> bool:
    """Whether the wrong options share a character at a place where the answer has another (反馈一件、办结一件、
    移交一件 against 警示一片): the answer is then the one that differs, a giveaway."""
    if len({len(d) for d in distractors}) != 1 or len(distractors[0]) != len(answer):
        return False
    return any(
        len({d[k] for d in distractors}) == 1 and distractors[0][k] != answer[k] for k in range(len(answer))
    )


class Clozes(Options):
    """Cloze and what-comes-next candidates: a quoted 提法, a term of the lexicon, a key noun phrase, an item of"""

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
        lead = RUN_IN_LEAD.match(text)
        if lead and start < lead.end():
            return []  # inside a run-in lead (在基层监管能力建设上，…): a heading, never a blank
        if CEREMONY.match(text):
            return []  # the meeting's own business (今天…表彰…, 刚才…作了发言): no study material
        if re.search(r"[0-9０-９][家个项座所条名位户处批]$", text[:start]):
            return []  # counted (68家＿＿): a figure's noun, and only one option takes its measure word
        if (
            self._is_theme(answer)
            or re.search(r"[0-9０-９%％]", answer)
            or not self._whole_unit(text, start, end)
        ):
            return []
        if text[:start].endswith("习近平"):
            return []  # inside a name: 习近平＿＿思想
        if answer.endswith("之年"):
            return []  # 开局之年, 关键之年: a date's formula, nothing of the speech's requirements
        # A wrong option the same part says (清单化 where it asks for 清单化管理; 导师帮带 where it sets one up;
        # 城市治理 in a part on it) could be argued to be right here too.
        here = self._section_text(sentence.section_id)
        pool = [t for t in pool if t not in here]
        piece, s, e = window(text, start, end)
        shown = piece[:s] + piece[e:]
        changing = variable_part(answer, pattern) if pattern else answer
        if self._hinted(changing, shown):
            return []
        distractors, quality = self._pick(answer, pool, text[:start], text[end:], shown, pattern, pos)
        if len(distractors) < 3 or odd_one_out(answer, distractors):
            return []
        if len(shown.strip("，。；：“”、 ")) < 12:
            return []  # too little around the blank to recall it by
        question = "填空：" + ellipsis(piece[:s] + BLANK + piece[e:], piece, text)
        if REQUIRE.search(text):
            score += 0.5
        return [
            Candidate(
                "cloze",
                sentence,
                question,
                answer,
                distractors,
                score + quality,
                units | {sentence_unit(sentence)},
                (answer,),
                changing,
            )
        ]

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
            if not HAN_ONLY.fullmatch(term):
                continue
            left, right = text[: match.start()], text[match.end() :]
            shape, field_ = term_shape(term), self._kind(term)
            head = QUOTE_HEAD.match(right)
            if head:
                pool = [t for t in self._quoted_before(head.group(0)) if t != term and len(t) == len(term)]
                # …and what a field of the lexicon that holds the whole (钉钉子精神) puts before that word
                # (老黄牛精神, 拓荒牛精神): the surest of its kind.
                whole, said = term + head.group(0), head.group(0)
                pool += [
                    t[: -len(said)]
                    for k in fields_holding(whole)
                    for t in sorted(fields()[k][1], key=lambda o: stable_digest(term, o))
                    if t.endswith(said) and len(t) == len(whole) and t != whole
                ]
                pool = list(dict.fromkeys(pool))
            elif shape == "counted":
                # Well-known counted terms the speech does not use first: one it uses goes with a verb of its
                # own (增强“四个意识”、坚定“四个自信”), which would give the answer of 做到“＿＿” away.
                # The well-known ones only for a well-known one: 三个课堂 against 两个确立 is out of field.
                known = term in NUMBERED_TERMS
                pool = [t for t in NUMBERED_TERMS if known and COUNTED.fullmatch(t) and len(t) == len(term)]
                pool.sort(key=lambda t: t in self.full)
                pool += [t for t in self.terms if t != term and COUNTED.fullmatch(t) and len(t) == len(term)]
            else:
                if field_ == "problem" and shape in {"plain", "numbered"}:
                    # The speech's own faults (灯下黑, 两张皮, 一阵风) are one kind, whatever their build or
                    # jieba's tags of them.
                    faults = self._terms_of("plain", field_, len(term)) + self._terms_of(
                        "numbered", field_, len(term)
                    )
                    # …of four characters, built of words alike (坐 + 办公室 is no 带病 + 提拔: 长期在机关“带病提拔”
                    # is absurd).
                    pool = [
                        t
                        for t in faults
                        if t != term and (len(term) != 4 or self._halves(t) == self._halves(term))
                    ]
                else:
                    pool = [
                        t
                        for t in self._terms_of(shape, field_, len(term))
                        if t != term and self._like(term, t, shape)
                    ]
            if shape != "counted":
                pool.sort(key=lambda t: (-self._slot_fit(t, left, right), stable_digest(term, t)))
            kin: list[str] = []  # terms of a small field that names this term and its partner (below)
            vouched: list[str] = []  # terms of a field of the lexicon that holds this one, built alike
            if not head:
                # Then terms of the term's field in the common vocabulary (延安精神 for 长征精神).
                # Only those of its head or beginning: one field may hold several kinds (坐办公室 beside
                # 带病提拔, 良好家风 beside 道德模范), and only terms built alike read alike in a slot.
                vouched = [
                    t
                    for t in self._lexicon([term], term, (len(term), ()))
                    if t not in pool and built_alike(term, t)
                ]
                pool += vouched
                # A field that names this term and another quoted beside it (从“学知识”转向“求真理”: the
                # field of what a student seeks) is the kind of both, whatever their build.
                partners = [
                    m.group(1)
                    for m in re.finditer(r"“([^“”]{2,12})”", text)
                    if m.group(1) != term and len(m.group(1)) == len(term)
                ]
                holding = fields_holding(term)
                kin = [
                    t
                    for partner in partners
                    for _, terms, _ in (fields()[k] for k in holding)
                    if partner in terms and len(terms) <= 15  # a field of one kind, not 问题's many
                    for t in sorted(terms, key=lambda o: stable_digest(term, o))
                    if len(t) == len(term) and t not in {term, partner}
                ]
                pool = list(dict.fromkeys(kin + pool))  # the surest: first
            images = self._images(term, left)
            if images:
                pool, kin = images, images  # an image against images of other meanings (below)
            pattern, pos = None, True
            if shape in {"counted", "numbered"} and not images:
                # 四个意识 ~ 四个全面: the numerals and 个 are the shape; the rest is what is asked.
                pattern = (len(term), tuple((k, ch) for k, ch in enumerate(term) if ch in NUMERALS + "个"))
                pos = False
            elif shape == "plain" and len(term) >= 4 and not head and not images:
                # “铸魂工程” against “塑形工程”, “民心工程”: the head they share is the shape, fixed.
                affix = next(
                    (a for a in (term[-2:],) if sum(t.endswith(a) for t in pool if t != term) >= 3), None
                )
                if affix:
                    pool = [t for t in pool if t.endswith(affix)]
                    pattern = (len(term), ((len(term) - 2, affix[0]), (len(term) - 1, affix[1])))
            if PROHIBITION.search(re.split(r"[，；：]", left)[-1]):
                continue  # 更不能搞“＿＿”: every fault reads there, and the sentence stays true with any
            found = self._cloze(sentence, match.start(1), match.end(1), pool, 6.0, set(), pattern, pos)
            if not head and (shape == "numbered" or (shape == "plain" and field_ == "principle")):
                # A term of no kind of its own (方向标, 用人) only against terms the speech uses in such a
                # slot: any other (安全带 in 抓好“＿＿”环节) would be a giveaway.
                found = [
                    c
                    for c in found
                    # (or terms of a field of the lexicon that holds it: 公园城市 for “无废城市”建设)
                    if all(
                        self._slot_fit(d, left, right) == 1.0 or d in kin or d in vouched
                        for d in c.distractors
                    )
                ]
            out += found
        return out

    def _images(self, term: str, left: str) -> list[str]:
        """Wrong options for an image (“先手棋”, 主力军): one image of each other meaning the speech never
        says, roles alone after 当好 and its like; empty for a term that is no image."""
        role = bool(re.search(r"(?:当好|当|做好|做|争当|争做|甘当|甘做|成为)“?$", left))
        out = []
        for meaning in other_images(term, role):
            said_not = [t for t in meaning if t not in self.full]
            if said_not:
                out.append(min(said_not, key=lambda t: stable_digest(term, t)))
        return sorted(out, key=lambda t: stable_digest(term, t)) if len(out) >= 3 else []

    def _halves(self, term: str) -> str:
        """How a four-character term is built: two words of two (带病 + 提拔), one and three (坐 + 办公室), or
        neither (挂而不干). (The speech's tokenizer keeps a quoted term whole, so its pieces are looked up.)"""
        if self.is_word(term[:2]) and self.is_word(term[2:]):
            return "2+2"
        if self.is_word(term[1:]) or self.is_word(term[:3]):
            return "1+3"
        return "?"

    def _enumeration(self, sentence: Sentence, items: list[str]) -> list[Candidate]:
        """Blank one item of a list; distractors are words of the same shape from other lists."""
        k = len(items) // 2
        pattern = period_pattern(items, items[k])
        start = find_item(sentence.text, items, k)
        if start < 0:
            return []
        score = 5.0 - trivia_weight(items)
        # No wrong item that shares its changing part with any item of the list (清廉国企 beside 清廉企业 of
        # 清廉机关、清廉学校、＿＿、清廉村居、清廉企业): it could be argued to be that item.
        taken = set("".join(variable_part(i, pattern) for i in items if i != items[k]))
        pool = [
            o for o in self._item_pool(items, items[k], pattern) if not set(variable_part(o, pattern)) & taken
        ]
        # jieba's tags of a verb and its object (重实践, 循足迹) are guesses: the build is checked already.
        pos = not self._verb_led(items)
        found = self._cloze(
            sentence, start, start + len(items[k]), pool, score, {list_unit(sentence, items)}, pattern, pos
        )
        lexicon = set(self._lexicon(items, items[k], pattern))
        return [
            c
            for c in found
            if len(set(c.distractors) & self._weak_for(items) - lexicon) <= 1
            and not (not set(c.distractors) & lexicon and self._one_other_list(c.distractors, items))
        ]

    def _one_other_list(self, words: list[str], items: list[str]) -> bool:
        """Whether the words are all items of the speech's other lists: of their kind, not the answer's
        (铸忠魂、强党性、学思想 of the study campaign against 挑重担、＿＿、打头阵), unless the lexicon vouches."""
        others = {
            item
            for lists in self.lists.values()
            for other in lists
            if set(other) != set(items)
            for item in other
        }
        return set(words) <= others

    def _sequence(self, sentence: Sentence, items: list[str]) -> list[Candidate]:
        """What comes next in a list: show the first items, ask for the following one."""
        if len(items) < 3 or set(items) <= self.title_phrases:
            return []
        shown_n = len(items) - 2 if len(items) >= 4 else 2
        answer = items[shown_n]
        prefix = "、".join(items[:shown_n]).replace("“", "‘").replace("”", "’")
        question = f"讲话中“{prefix}”之后，紧接着的一项是？"
        start = find_item(sentence.text, items, 0)
        if start > 0:
            # Where the list stands (推动纺织、化工、建材等传统产业向……转型): the stem reads without the lesson.
            before = sentence.text[:start].rstrip("“")
            context = self._lead(before).lstrip("…")
            pattern = period_pattern(items, answer)
            # (unless it says the answer's own part: 在督查考核上… before 月调度、季通报、＿＿ gives 年考核 away)
            if len(context) >= 6 and not self._hinted(variable_part(answer, pattern) or answer, context):
                question = f"{question}（{context}……）"
        pattern = period_pattern(items, answer)
        last = items[shown_n - 1]
        here = self._section_text(sentence.section_id)  # (导师帮带, which the part sets up: arguably next)
        pool = [
            p
            for p in self._item_pool(items, answer, pattern)
            if p not in here
            and f"{last}、{p}" not in self.full
            and skeleton(p) == skeleton(answer)  # 一抓到底 against 一X到底, not 一园一策
        ]
        distractors, quality = self._pick(answer, pool, f"{last}、", "、", question, pattern)
        if len(distractors) < 3 or self._is_theme(answer):
            return []
        if set(distractors) & self._weak_for(items) - set(self._lexicon(items, answer, pattern)):
            # an option of another field: next in a list of steps (线索处置、审查调查…) 政府采购 is absurd, and
            # the answer stands out (a cloze may take one: a word in a sentence reads more freely)
            return []
        units = {sentence_unit(sentence), list_unit(sentence, items)}
        score = 4.5 - trivia_weight(items) + quality
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
        if reports_figures(text):
            return []  # a sentence of figures reports; the term in it is no requirement to recall
        here = self._section_text(sentence.section_id)
        for start, end, phrase, compound in self._noun_phrases(text):
            if phrase[-2:] in GENERIC_HEADS:
                continue  # 考察机制 against 考核机制: the options of a generic head overlap
            if self._of_the_themes_head(phrase):
                continue  # 发展环境 against 政务环境 in a speech on 营商环境
            if not self._keyable(phrase, text, compound) or PERSON_HEAD.search(phrase):
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
                and self.tags.get(w[:2]) in MODIFIER_TAGS
                and w[:2] not in NOT_MODIFIERS
            ]
            own.sort(key=lambda w: stable_digest(phrase, w))
            lexicon = [w for w in lexicon if w.endswith(head)]  # the head is the shape (胸怀天下 ≠ 人民至上)
            pool = [w for w in dict.fromkeys(lexicon + own) if w[:2] not in NOT_MODIFIERS]
            pattern = (len(phrase), ((len(phrase) - 2, head[0]), (len(phrase) - 1, head[1])))
            score = 3.0 + 0.5 * (phrase in self.fixed) + 0.5 * bool(lexicon)
            out += self._cloze(sentence, start, end, pool, score, set(), pattern)
        return out

    def _field_terms_in(self, sentence: Sentence) -> list[Candidate]:
        """Blank a term of the lexicon the sentence says (人才强省战略, 舆论监督, 根本性 of 根本性建设), with
        terms of its field as distractors: the surest wrong options there are. A quoted term and a list
        item are asked as such; a term inside a longer quote (第一资源 of “人才是第一资源”) is asked here."""
        out = []
        text = sentence.text
        if reports_figures(text):
            return []  # a sentence of figures reports; the term in it is no requirement to recall
        tokens_of_text = self.cut(text)
        from content.lexicon import lexicon_terms_in

        for term, pool in lexicon_terms_in(text):
            start = text.find(term)
            end = start + len(term)
            before, after = text[start - 1 : start], text[end : end + 1]
            if (before == "“" and after == "”") or "、" in (before, after):
                continue
            affix = self._shared_affix(term, pool, text[end:])
            images = self._images(term, text[:start])
            if affix is None and images:
                if self._bounded(text, start, end, right_noun=True):
                    out += self._cloze(sentence, start, end, images, 4.5, set())
                continue
            if affix is None:
                continue
            if self._of_the_themes_head(term):
                continue  # 法治环境 in a speech on 营商环境: any 环境 is arguably its point
            if not self._bounded(text, start, end, right_noun=True):
                continue
            if re.match(r"(?:方式|体系|机制|模式|格局|制度|能力|水平)", text[end:]):
                continue  # 绿色生活 + 方式: the noun after makes one term with it (绿色生活方式)
            tokens = self.cut(term)
            following = token_starting(tokens_of_text, end)
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
                (t for t in pool if t.startswith(affix) or t.endswith(affix)),
                key=lambda o: stable_digest(term, o),
            )
            if term.startswith(affix) and not term.endswith(affix):
                fixed = tuple(enumerate(affix))
                pool = [t for t in pool if t.startswith(affix)]
            else:
                fixed = tuple((len(term) - len(affix) + k, ch) for k, ch in enumerate(affix))
                pool = [t for t in pool if t.endswith(affix)]
            out += self._cloze(sentence, start, end, pool, 4.5, set(), (len(term), fixed))
        return out

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
                if len(phrase) < 4 or not HAN_ONLY.fullmatch(phrase):
                    continue
                before = spans[i - 1][2] if i else ""
                after = spans[j + 1][2] if j + 1 < len(spans) else ""
                if self.tags.get(before) in RUN_TAGS or self.tags.get(after) in RUN_TAGS:
                    continue  # a piece of a run of nouns: 人才 + 发展环境, 基本知识 + 体系
                if compound and (self.is_word(before + token) or self.is_word(spans[j][2] + after)):
                    continue  # a piece of a longer phrase: 生活准则 of 政治生活 + 准则
                if (start and text[start - 1] == "“") or (stop < len(text) and text[stop] == "”"):
                    continue
                if (start and text[start - 1] == "、") or (stop < len(text) and text[stop] == "、"):
                    continue  # an item of a list, asked as one if at all (商场市场、宾馆饭店)
                if not self._noun_like(phrase, compound):
                    continue  # (last: the dearest test, a lookup in the lexicon)
                out.append((start, stop, phrase, compound))
        return out

    def _noun_like(self, phrase: str, compound: bool = False) -> bool:
        """A noun phrase of a noun modifier and a noun head (政治建设, 基础设施), or a term of the lexicon."""
        modifier, head = phrase[:2], phrase[-2:]
        if phrase in self.terms or self._lexicon([phrase], phrase, (len(phrase), ())):
            return True
        if modifier in NOT_MODIFIERS:
            return False  # 全面建设, 会议精神, 工作机制: a formula, not a phrase to recall
        if compound:
            # A verbal head makes a noun phrase only as a known term (政治建设); 原则 + 调查 is none.
            head_tag = self.tags.get(head)
            return self.tags.get(modifier) in MODIFIER_TAGS and (
                head_tag == "n" or (head_tag == "vn" and self.is_word(phrase))
            )
        if len(phrase) == 4:
            return self.tags.get(modifier) in MODIFIER_TAGS and self._noun(phrase)
        return self._noun(phrase)
