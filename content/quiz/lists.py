"""Questions on a list as a whole: which item it does not hold (不包括哪一项) and which point a paragraph does
not make (一是…二是…三是…: 不是其中之一).

Both need one wrong option, not three: the items of a list are of one shape and field by construction, a
paragraph's points are of one kind. (Which ending goes with which item of a frame, 以学懂促深化、以弄通促＿＿,
was asked once and dropped: with the other endings shown it is answered by elimination, with them blanked a
guess by position, and a verb's ending reads as well with another item.)
"""

from __future__ import annotations

import re

from content.points import FAULT_CLAUSE, MEASURE_VERBS, ORDINALS, Points, point_lists
from content.quiz.question import BLANK, Candidate, stable_digest
from content.quiz.shapes import (
    HAN_ONLY,
    PROHIBITION,
    REQUIRE,
    find_item,
    list_unit,
    pattern_of,
    prefix_class,
    sentence_key,
    sentence_unit,
    trivia_weight,
    variable_part,
)
from content.quiz.which_part import WhichPart
from content.speech import Sentence

COUNT_WORDS = {3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八"}


class ListQuestions(WhichPart):
    """Questions on a list as a whole: which item it does not hold, which point a paragraph does not make."""

    # -- 不包括哪一项 -----------------------------------------------------------------------------------
    def _exclusion(self, sentence: Sentence, items: list[str]) -> list[Candidate]:
        """Three items of the list and one word of its shape and field that it does not hold; asked which
        is not there. The wrong one is taken from the speech's other lists of the field where it can be (a
        word on topic: an item off topic would stand out as the answer)."""
        text = sentence.text
        start = find_item(text, items, 0)
        last = find_item(text, items, len(items) - 1)
        if start < 0 or last < 0 or len(items) < 3 or len(items) > 8:
            return []
        end = last + len(items[-1])
        pattern = pattern_of(items)
        if not pattern[1] and not self._verb_led(items) and not self._lexicon(items, items[0], pattern):
            return []  # no shape, no field: any word could be argued to belong
        here = self._section_text(sentence.section_id)
        # A list of periods (月调度、季通报、年考核): the period is its frame, the verb what changes; a wrong
        # item is of another period and another verb (周研判), never of one of the list's own.
        klass = prefix_class(items)

        def part(word: str) -> str:
            return word[1:] if klass else variable_part(word, pattern)

        changing = set().union(*(set(part(i)) for i in items))
        lengths = {len(i) for i in items}
        fakes = []
        forbidden = bool(PROHIBITION.search(re.split(r"[，；：]", text[:start])[-1]))
        field = set(self._lexicon(items, items[len(items) // 2], pattern))
        verb_led = self._verb_led(items)
        for cand in self._item_pool(items, items[len(items) // 2], pattern):
            if cand in items or cand in here or not HAN_ONLY.fullmatch(cand):
                continue
            if cand in self._weak_for(items) and cand not in field:
                continue  # an item of a list of another field (资金 among industries): it stands out
            if cand not in field and not self._of_a_like_list(cand, items, pattern):
                continue  # any word of the list's shape (安排 beside 安身、安心、安业) is not of its kind
            if len(cand) not in lengths or any(cand in i or i in cand for i in items):
                continue
            # A near-synonym of an item (安心 beside 安全感) could be argued to be in the list.
            if set(part(cand)) & changing:
                continue
            if klass and (prefix_class([cand]) != klass or cand[0] in {i[0] for i in items}):
                continue
            if not (
                cand in field  # a term of the list's field in the lexicon: its field vouches for it
                or self.same_parts(items[0], cand)
                or (verb_led and self._verb_led([items[0], cand]))
            ):
                continue
            if any(f"{i}、{cand}" in self.full or f"{cand}、{i}" in self.full for i in items):
                continue  # the speech lists it beside one of them elsewhere
            in_speech = cand in self.full
            if in_speech and self._forbidden(cand) != forbidden:
                continue  # a requirement among faults (讲政治 beside 挂牌子、派任务), or a fault among requirements
            if in_speech and text[end : end + 1] == "等":
                continue  # 针对高价彩礼…等陈规陋习 is open: 封建迷信, which the speech calls a 不良风气, is arguably in it
            if (
                not in_speech
                and cand not in field
                and not self._on_topic(variable_part(cand, pattern) or cand)
            ):
                continue  # off topic, it stands out as the answer (a term of the list's field does not)
            fakes.append((not in_speech, stable_digest(text, cand), cand))
        if not fakes:
            return []
        fake = min(fakes)[2]
        shown = items
        if len(items) > 3:
            keep = sorted(range(len(items)), key=lambda k: stable_digest(text, items[k]))[:3]
            shown = [items[k] for k in sorted(keep)]
        quoted = start > 0 and text[start - 1] == "“" and text[end : end + 1] == "”"
        a, b = (start - 1, end + 1) if quoted else (start, end)
        slot = "‘＿＿’" if quoted else BLANK
        lead, follow = self._lead(text[:a]), self._follow(text[b:])
        said = re.sub(r"^(?:……)?(?:[一二三四五六七八九十]是)?(?:要|必须)?(?:坚持|做到|实行|推进)?", "", lead)
        if len(said) + len(follow.strip("…")) < 6:
            return []  # 一是要坚持＿＿……: which of the speech's lists is not said
        quote = lead + slot + follow
        count = COUNT_WORDS.get(len(items))
        if count is None:
            return []
        question = f"讲话中“{quote}”，横线处列举了{count}项。下列哪一项不在其中？"
        score = 4.5 - trivia_weight(items) + 0.5 * (fake in self.full) + 0.25 * bool(REQUIRE.search(text))
        return [
            Candidate(
                "exclusion",
                sentence,
                question,
                fake,
                list(shown),
                score,
                {sentence_unit(sentence), list_unit(sentence, items)},
                (fake, *items),
                variable_part(fake, pattern),
            )
        ]

    def _forbidden(self, word: str) -> bool:
        """Whether the speech says the word as something it forbids (更不能“挂牌子、派任务”)."""
        at = self.full.find(word)
        return bool(PROHIBITION.search(re.split(r"[，；：。！？\n]", self.full[:at])[-1]))

    # -- 不包括哪一点 (一是…二是…三是…) ------------------------------------------------------------------
    def _point_exclusions(self) -> list[Candidate]:
        """For each list of three or more points (一是抓好工业源治理…二是抓好移动源治理…), three of its points and
        a point of another list of the speech that it does not hold; asked which is not there."""
        every = point_lists(self.speech.all_sentences(), least=2)
        # Clauses of the speech of a point's kind, for a list no other list has a wrong point for: measures
        # (推进…, 强化…) and faults of someone (有的乡镇满足于开会发文, 一些河湖长履职不到位). (Not any clause with
        # 问题 in it: 查找短板不足 is a measure, 有的同学说 no fault.)
        clauses: dict[str, list[tuple[Sentence, str]]] = {"measure": [], "fault": []}
        for s in self.body:
            for clause in re.split(r"[，；。：！？]", s.text):
                clause = clause.strip()
                if clause.startswith("要") and clause[1:3] in MEASURE_VERBS:
                    clause = clause[1:]  # 要加强社区文化建设: the measure is 加强社区文化建设
                if not (4 <= len(clause) <= 24) or not re.fullmatch(r"[\u4e00-\u9fff“”]+", clause):
                    continue
                if clause.count("“") != clause.count("”") or clause.startswith(("一是", "二是", "三是")):
                    continue
                if clause[:2] in MEASURE_VERBS:
                    clauses["measure"].append((s, clause))
                elif FAULT_CLAUSE.match(clause) and len(clause) >= 7:
                    clauses["fault"].append((s, clause))
        out = []
        for points in every:
            if len(points.points) >= 3:
                pool = [
                    (p.sentences[0], c)
                    for p in every
                    if p is not points and p.kind == points.kind
                    for c in p.points
                ]
                out += self._point_exclusion(points, pool, clauses.get(points.kind, []))
        return out

    def _point_exclusion(
        self, points: Points, others: list[tuple[Sentence, str]], clauses: list[tuple[Sentence, str]]
    ) -> list[Candidate]:
        items = list(points.points)
        count = COUNT_WORDS.get(len(items))
        # The lead as said, or its last clauses up to 40 characters: what the points are of (道路安全压力很大
        # alone does not say; …重型货车3.6万辆，道路安全压力很大 does).
        lead = ""
        for piece in reversed(re.split(r"(?<=[，；：])", points.lead)):
            if lead and len(lead) + len(piece) > 40:
                break
            lead = piece + lead
        lead = ("……" if lead != points.lead else "") + lead.replace("“", "‘").replace("”", "’")
        if count is None or len(lead.strip("…")) < 8:
            return []
        if len({self.days.get(sentence_key(s)) for s in points.sentences}) > 1:
            return []  # points over two days: the lesson's quiz button would ask about the next day's
        # What all the points share (抓好, 有的, 强化…监督, 更加) a wrong one shares too, or it stands out.
        shared = {items[0][k : k + 2] for k in range(len(items[0]) - 1)}
        shared = {piece for piece in shared if all(piece in i for i in items)}
        # …and the character they all open or end with (从…看 of 从巩固党的执政基础看, 从推进乡村振兴看).
        opens = items[0][0] if len({i[0] for i in items}) == 1 else ""
        ends = items[0][-1] if len({i[-1] for i in items}) == 1 else ""
        lengths = sorted(map(len, items))
        slack = 0 if lengths[-1] - lengths[0] <= 1 else 2  # points of one length: a wrong one of it too
        # A point of another list of the same part is on topic and still wrong (老旧装置安全评估 among the
        # measures for the roads): only the list's own paragraph is kept clear of it.
        first = points.sentences[0]
        here = "".join(
            s.text
            for s in self.speech.all_sentences()
            if (s.section_id, s.paragraph) == (first.section_id, first.paragraph)
        )
        fakes = []
        # A point of another list first, then a clause of the speech of the points' kind: a fault among
        # measures, or a measure among a year's results, is the answer at a glance.
        for rank, pool in enumerate((others, clauses)):
            for where, cand in pool:
                if cand in here or cand in items or not all(piece in cand for piece in shared):
                    continue
                if not (cand.startswith(opens) and cand.endswith(ends)):
                    continue
                if not lengths[0] - slack <= len(cand) <= lengths[-1] + slack:
                    continue
                # One that shares a word of its own with a point (强化政治监督 beside 强化政治建设) could be
                # argued to be in the list.
                words = {w for w in self.cut(cand) if len(w) >= 2} - shared - self.generic - MEASURE_VERBS
                if any(w in i for w in words for i in items):
                    continue
                # …and on the paragraph's topic, a word of it said there (研发 of 加大研发投入 beside the
                # reform of research projects): one of another topic (高层建筑消防 among the roads) stands out.
                if not any(w in here for w in words):
                    continue
                # Another list's point from the same part (its own topic there), a clause from another part
                # (one of the same part may be a point said again in other words: 有的部门习惯于“管”字当头 of
                # 少数干部服务意识不强).
                near = where.section_id == first.section_id
                if near and abs(where.paragraph - first.paragraph) <= 1:
                    continue  # the paragraph next to the list's: its points are the list's in other words
                if near and rank and points.kind == "fault":
                    continue  # a fault of the same part may be one of the points said again (管字当头)
                fakes.append((rank, near == bool(rank), stable_digest(points.lead, cand), cand))
        if not fakes:
            return []
        shown = items
        if len(items) > 3:
            keep = sorted(range(len(items)), key=lambda k: stable_digest(points.lead, items[k]))[:3]
            shown = [items[k] for k in sorted(keep)]
        question = f"讲话中“{lead}”，随后分{count}点展开。下列哪一项不是其中之一？"
        score = 4.6 + 0.25 * bool(REQUIRE.search(points.lead))
        # The best three wrong points, each a candidate a little below the one before: where one is another
        # question's answer, the next may stand.
        return [
            Candidate(
                "exclusion",
                first,
                question,
                fake,
                shown,
                score - 0.05 * k,
                {sentence_unit(first), "l:" + "、".join(items)},
                (fake, *items),
                fake,
                lead.strip("…") + "：" + "；".join(f"{ORDINALS[j]}是{p}" for j, p in enumerate(items)) + "。",
            )
            for k, (*_, fake) in enumerate(sorted(fakes)[:3])
        ]

    def _of_a_like_list(self, cand: str, items: list[str], pattern) -> bool:
        """Whether the word is an item of another list of this one's kind: of the same fixed characters
        (获得感 is of no list of X得Y beside 留得住), or, for a list of no shape, of its field (said around the
        same word, or requirements of one build)."""
        if pattern[1]:
            if not hasattr(self, "_items_by_shape"):
                self._items_by_shape: dict[tuple, dict[str, set[tuple[str, ...]]]] = {}
                for lists in self.lists.values():
                    for other in lists:
                        shape = self._items_by_shape.setdefault(pattern_of(other)[1], {})
                        for item in other:
                            shape.setdefault(item, set()).add(tuple(other))
            owners = self._items_by_shape.get(pattern[1], {}).get(cand, set())
            return bool(owners - {tuple(items)})
        return cand in self._kin_of(items)[0]
