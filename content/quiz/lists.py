"""Questions on a list as a whole: which item it does not hold (不包括哪一项), which point a paragraph does not
make (一是…二是…三是…: 不是其中之一), and which ending goes with which item of a list built on one frame
(筑牢信仰之基，打牢＿＿之基，夯实廉政之基).

All take their options from the speech's own lists, so they fit where a cloze finds no three wrong words:
the items of a list are of one shape and field by construction, a paragraph's points are of one kind, and in
a frame each ending is wrong for every item but its own (which holds for nouns, not for verbs: 以弄通促深化
reads as well as 内化).
"""

from __future__ import annotations

import re

from content.points import FAULT_CLAUSE, MEASURE_VERBS, ORDINALS, Points, point_lists
from content.quiz.clozes import odd_one_out
from content.quiz.question import BLANK, Candidate, stable_digest
from content.quiz.shapes import (
    HAN_ONLY,
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

# Endings that read after almost anything (不到位, 要落实): a frame with one is no test of which goes where.
LOOSE_ENDINGS = frozenset("到位 落实 规范 及时 有力 有效 充分 严格 精准 扎实 完善 健全".split())

COUNT_WORDS = {3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八"}


def clause_lists(text: str) -> list[list[str]]:
    """Runs of three or more clauses of one build, split by ，or ；, that end alike (筑牢信仰之基，打牢从政之基，
    夯实廉政之基): the items of a frame, as `enumerations` gives those joined by 、."""
    out = []
    clauses = [c for c in re.split(r"[，；]", text.rstrip("。！？；"))]
    run: list[str] = []

    def close() -> None:
        if len(run) >= 3:
            out.append(list(run))

    for clause in clauses:
        clause = clause.strip()
        ending = shared_ending([*run, clause]) if run else ""
        # 之基 of 筑牢信仰之基, 打牢从政之基; not 的问题 (既有…的问题，也有…的问题: not items of one frame)
        if run and 5 <= len(clause) <= 24 and len(ending) >= 2 and not ending.startswith("的"):
            run.append(clause)
            continue
        close()
        run = [clause] if 5 <= len(clause) <= 24 else []
    close()
    return out


def shared_ending(words: list[str]) -> str:
    """The ending all words share, leaving each at least one character of its own (化 of 深化、内化)."""
    n = 0
    while n < min(map(len, words)) - 1 and len({w[-1 - n] for w in words}) == 1:
        n += 1
    return words[0][len(words[0]) - n :]


class ListQuestions(WhichPart):
    """Questions on a list as a whole: which item it does not hold, and which ending goes with which item."""

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

    # -- which ending with which item -------------------------------------------------------------------
    def _pairing(self, sentence: Sentence, items: list[str]) -> list[Candidate]:
        """A list built on one frame (以X促Y, X向民生Y, …之基): the word that changes at the end of one item,
        with the others' words there as the wrong options; the other items are shown with theirs left out,
        so the question is which goes with which."""
        text = sentence.text
        if len(items) < 3 or min(map(len, items)) < 5 or not pattern_of(items)[1]:
            return []  # no frame (熬夜刷手机、上课打瞌睡): the endings are not of one kind
        starts = []
        pos = 0
        for item in items:
            at = text.find(item, pos)
            if at < 0:
                return []
            starts.append(at)
            pos = at + len(item)
        bounds, spans, pos = {0}, [], 0
        for token in self.cut(text):
            spans.append((pos, pos + len(token), token))
            pos += len(token)
            bounds.add(pos)
        suffix = shared_ending(items)
        slots = []
        for item, at in zip(items, starts, strict=True):
            stop = at + len(item)
            # The slot: the item's last word that is not all of the shared ending (内化 of 以弄通促内化,
            # 深化 before 提升, 从政 before 之基).
            inside = [(s, e, t) for s, e, t in spans if s >= at and e <= stop]
            if not inside or inside[-1][1] != stop:
                return []
            slot = next((x for x in reversed(inside) if x[0] < stop - len(suffix)), None)
            if slot is None or slot[0] == at:
                return []
            # It ends where the shared ending begins (从政 + 之基), or holds all of it (内化 of 以弄通促内化):
            # never across it (组织 + 力强 + 不强 of 组织力强不强).
            if slot[1] != stop - len(suffix) and not (slot[1] == stop and len(suffix) <= 1):
                return []
            slots.append(slot)
        # The slot is governed by what all items share right beside it (促 of 以X促Y, 向民生 of X向民生Y, 之基,
        # 提升 of X提升): then each item's word reads in every slot. Without it, each word belongs to its own
        # object (把脚步走勤、把情况摸清: 把情况走勤 is absurd).
        words = [t for _, _, t in slots]
        led = len({text[s - 1] for s, _, _ in slots}) == 1
        closed = len(suffix) >= 2 and all(
            e == at + len(i) - len(suffix) for (_, e, _), at, i in zip(slots, starts, items, strict=True)
        )
        if not (led or closed):
            return []
        # After 的 or 到 the word is a noun bound to the words before it (更加务实的 + 举措 beside 作风: 务实的作风
        # reads as well; 落实到村组 beside 人头): only a frame that ends alike after it (筑牢信仰之基，打牢从政之基)
        # fixes which is whose. (jieba's tags cannot say it: 内化 of 以弄通促内化 is tagged a noun.)
        if not closed and text[slots[0][0] - 1] in "的到":
            return []
        if closed and not led:
            # …and then only after a verb (筑牢 + 信仰之基), not after the modifier of a noun phrase (困难 +
            # 家庭必访 beside 老人: 困难老人 reads as well).
            before = [next((t for _, e, t in spans if e == s), "") for s, _, _ in slots]
            if not all((self.tags.get(b) or "")[:1] == "v" for b in before):
                return []
        if set(words) & LOOSE_ENDINGS:
            return []  # 服务企业不＿＿ with 到位: an ending that reads after any item is no item's own
        if all((self.tags.get(w) or "")[:1] == "v" for w in words) or all(w.endswith("化") for w in words):
            return []  # verbs (以弄通促深化 ~ 内化; 财力向民生聚焦 ~ 倾斜) read after any item: arguably right
        if len(set(words)) != len(words) or not all(
            2 <= len(w) <= 4 and HAN_ONLY.fullmatch(w) for w in words
        ):
            return []
        cues = [text[at:s] for at, (s, _, _) in zip(starts, slots, strict=True)]
        if len(set(cues)) != len(cues) or len(set(map(len, words))) > 1:
            return []
        # What changes in each word shares nothing with another's (深化 ~ 内化 share only the ending 化).
        ending = shared_ending(words)
        stems = [w[: len(w) - len(ending)] for w in words]
        out = []
        for k, (s, e, answer) in enumerate(slots):
            # A word that shares a character with the answer's own part (廉政 for 从政) is left out: the fewer
            # options, the surer each is wrong.
            others = [w for j, w in enumerate(words) if j != k and not set(stems[j]) & set(stems[k])]
            if len(others) < 2:
                continue
            # No check of parts of speech: each word stands in its own item of the frame, so it fits there
            # (jieba's tags of such words are guesses: 深化 j, 内化 n, 转化 v).
            if self._is_theme(answer) or not self._whole_unit(text, s, e):
                continue
            shown = ""
            pos = starts[0]
            for j, (ss, ee, _) in enumerate(slots):
                shown += text[pos:ss] + (BLANK if j == k else "……")
                pos = ee
            list_end = starts[-1] + len(items[-1])
            shown += text[pos:list_end]
            lead = self._lead(text[: starts[0]], keep_quotes=True)
            tail = "……" if text[list_end:].strip("。！？") else text[list_end:]
            if (lead + shown).count("“") > (lead + shown).count("”"):
                shown += "”"  # the list was quoted: the quote closes (说起来……、干起来＿＿、忙起来……”)
                tail = "" if shown.endswith("……”") else tail
            if shown.endswith("……"):
                tail = tail.removeprefix("……")
            question = "填空：" + lead + shown + tail
            distractors = sorted(others, key=lambda w: stable_digest(text, answer, w))[:3]
            if odd_one_out(answer, distractors):
                continue  # 引导、指导 against 关心: the one without 导 is the answer
            score = 4.5 + 0.25 * bool(REQUIRE.search(text)) + 0.1 * len(distractors)
            out.append(
                Candidate(
                    "cloze",
                    sentence,
                    question,
                    answer,
                    distractors,
                    score - 0.01 * abs(k - len(items) // 2),
                    {sentence_unit(sentence), list_unit(sentence, items)},
                    (answer,),
                    stems[k],
                )
            )
        return out
