"""The phrases a passage offers a reflection prompt, each scored: what the passage argues from or comes to
(a thesis, a conclusion, a balance of two pairs), what it asks in its own words (a requirement, a paragraph's
scope), what it names (a quoted 提法 with what it is said of, a programme, a list, points), and its concepts
(terms of the common vocabulary, keywords). `PromptMaker` (maker.py) chooses among them for each lesson.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from content.lessons import Chunk
from content.lexicon import lexicon_terms_in
from content.numerals import reports_figures
from content.points import MEASURE_VERBS, point_lists
from content.prompts.kinds import (
    COMMON_FORMULAS,
    GENERIC,
    HAN_ONLY,
    HEAD_NOUN,
    NUMERAL_START,
    ORG_NAME,
    head_kind,
    is_fragment,
    kind_of,
    list_kind,
)
from content.prompts.phrases import (
    ADVERBS,
    BALANCE,
    BOTH_SAYINGS,
    BY_MEANS,
    CONCLUSION,
    CONTRAST,
    CRITICISM,
    CRITICISM_AFTER,
    FAULTS_CRITICISED,
    HABIT,
    JOINED,
    KINDS_OF_PEOPLE,
    MEASURE_VERB,
    MORE_THAN,
    PAIR,
    PARALLEL_STEP,
    PROBLEM_CUE,
    PROHIBITED_PAIR,
    SAID,
    SAID_AGAIN,
    SAID_ATTITUDES,
    TAKEN_AS_QUOTED,
    TOLD_FAULTS,
    TURN,
    VAGUE_END,
    after_digit,
    criticised_here,
    image_phrase,
    main_sentence,
    measured_by,
    not_a_unit,
    occurrences,
    parallel_leads,
    points_phrase,
    requirement_of,
    said_in_example,
    taken_as,
    thesis_of,
    title_overlap,
)


@dataclass(frozen=True)
class Candidate:
    """A phrase a prompt could name, with its kind and how central it is to the passage."""

    phrase: str
    kind: str
    score: float


class Found:
    """The phrases of one passage found so far, each scored once: by what it is, then by where it stands (the
    main requirement's terms first, a phrase the speech repeats, an example's or a figure's below)."""

    def __init__(self, maker: Phrases, chunk: Chunk) -> None:
        self.maker, self.chunk = maker, chunk
        self.excerpt = chunk.text
        self.main = main_sentence(chunk)
        self.titles = " ".join(
            x.title for x in (chunk.section, chunk.sub) if x is not None and x.kind == "numbered"
        )
        self.leads = maker._parallel_leads(chunk.section)
        self.points = point_lists(chunk.sentences)  # its paragraphs' points (一是…二是…), read once
        self.phrases: dict[str, Candidate] = {}
        self.pairs: list[re.Match] = []  # matches named whole: no quoted term inside one is named alone

    def add(self, phrase: str, kind: str, score: float, strong: bool = True) -> None:
        """Score a phrase and keep it, unless it is no phrase for a prompt or is kept already."""
        bare = phrase.replace("“", "").replace("”", "")
        if is_fragment(phrase) or phrase in self.phrases or bare in GENERIC or ORG_NAME.fullmatch(bare):
            return
        if bare.endswith("们"):
            return  # people addressed or thanked (亲友们, 老师们): no term
        if KINDS_OF_PEOPLE.fullmatch(bare) or bare in {"一把手", "关键少数"}:
            return  # “一把手”: a kind of people, no idea
        if len(bare) == 3 and bare.endswith("性"):
            return  # 长期性, 系统性: what the work is like, no idea of its own
        if self.maker._place_name(bare):
            return  # “桐溪教育”: a place's name for a channel
        if bare in COMMON_FORMULAS:
            score -= 2.0  # 两个确立, 四个意识: said in every speech, rarely a passage's own point
        # A heading is a title, never a prompt's phrase (nor one of a part's parallel self.leads).
        if any(bare in h for h in self.maker.headings) or any(bare in h for h in self.leads):
            return
        if not_a_unit(bare, self.excerpt):
            return
        # A phrase the whole speech keeps repeating (两个维护) is not this passage's own point.
        shared = self.maker.text.count(bare) if "“" not in phrase[1:-1] else 1
        score -= 1.5 * max(0, shared - 1)
        # The self.main requirement carries the passage's point: a term of it before a term of an example.
        in_main = bare in self.main.replace("“", "").replace("”", "")
        score += (3.5 if strong else 2.0) * in_main + 2.0 * title_overlap(phrase, self.titles)
        # An example the speech gives (比如，有的乡镇…“换一任领导换一个思路”) illustrates its point.
        if said_in_example(phrase, self.chunk.sentences):
            score -= 2.0
        # A phrase said only in a sentence of figures (a survey's answer, a staff count) is a detail
        # the passage reports, not its point.
        said_in = [x.text for x in self.chunk.sentences if bare in x.text.replace("“", "").replace("”", "")]
        if said_in and all(reports_figures(x) for x in said_in):
            score -= 3.0
        self.phrases[phrase] = Candidate(phrase, kind, score)

    def ranked(self) -> list[Candidate]:
        return sorted(self.phrases.values(), key=lambda c: -c.score)


class Phrases:
    """The phrases a passage offers a prompt (`candidates`), for `PromptMaker` (maker.py), which holds the
    speech's state they are read against: its text, quoted terms, headings, dictionary and tags."""

    # (set by PromptMaker.__init__)
    text: str
    quoted: list[str]
    headings: list[str]
    places: set[str]
    clauses: set[str]
    _leads: dict[str, frozenset[str]]

    def candidates(self, chunk: Chunk) -> list[Candidate]:
        """Phrases of the excerpt worth a prompt, most central first."""
        found = Found(self, chunk)
        self._sayings(found)
        self._quoted_terms(found)
        self._statements(found)
        self._requirements(found)
        self._concepts(found)
        self._points(found)
        return found.ranked()

    def _sayings(self, found: Found) -> None:
        """Changes, pairs, sayings and images said together: each named whole, never one side of it."""
        chunk, excerpt = found.chunk, found.excerpt
        add = found.add
        # 从“宽松软”走向“严紧硬”: the change is the point, not one side of it; 以“表态”代替“表率”: a fault.
        pairs = found.pairs
        pairs += PAIR.finditer(excerpt)
        for p in pairs:
            sentence_before = re.split(r"[。！？]", excerpt[: p.start()])[-1]
            fault = p.group(0).startswith("以") or bool(
                PROBLEM_CUE.search(sentence_before) or CRITICISM.search(sentence_before)
            )
            # 由“地上”转入“地下” of a criticism is a fault; 从“有名”向“有实” a change to make. A pair said of
            # a quoted subject keeps it, and a sister change before it (“四风”问题由“明”转“暗”、由“地上”…).
            said_of = re.search(r"(“[^“”]{1,6}”(?:问题|现象)?)((?:[从由]“[^“”]{1,6}”[转向到]“[^“”]{1,6}”、)?)$",
                                excerpt[: p.start()])  # fmt: skip
            phrase = (said_of.group(1) + said_of.group(2) if said_of else "") + p.group(0)
            add(phrase if len(phrase) <= 30 else p.group(0), "problem" if fault else "change", 6.5)
        # Two quoted terms said as one (防止“非农化”、“非粮化”; “八小时内”与“八小时外”): both, never one half.
        joined = []
        for j in JOINED.finditer(excerpt):
            a, b = j.group(1), j.group(2)
            if any(p.start() <= j.start() < p.end() for p in pairs):
                continue
            if not (
                a in self.quoted
                and b in self.quoted
                and len(a) == len(b)  # two sides of one thing are built alike (“八小时内”“八小时外”)
                and kind_of(a) == kind_of(b) == "principle"
                and not {a, b} & COMMON_FORMULAS
                and not excerpt[j.end() : j.end() + 2].lstrip("、和与").startswith("“")
            ):
                continue  # items of a list of terms (“青苗工程”、“百名英才计划”): each its own
            clause = re.split(r"[，。；：！？]", excerpt[: j.start()])[-1]
            criticised = CRITICISM_AFTER.match(excerpt[j.end() :])  # “人户分离”“人房分离”现象十分普遍
            kind = (
                "problem"
                if PROBLEM_CUE.search(clause) or CRITICISM.search(clause) or criticised
                else "principle"
            )
            if kind == "principle" and all(re.search(r"[岗区站队点室]$", x) for x in (a, b)):
                kind = "programme"  # “党员示范岗”“党员责任区”: posts and areas set up, to work in
            said = re.match(r"(相贯通|相统一|相结合|相衔接|两手抓|并重|并举|齐抓|的关系)", excerpt[j.end() :])
            # Two images said of something (让社区党组织成为社区治理的“主心骨”和“压舱石”): with it.
            of = re.search(r"(?:让|使)?[\u4e00-\u9fff]{2,10}(?:成为|是)[\u4e00-\u9fff]{0,8}的$", clause)
            taken = re.search(r"把[\u4e00-\u9fff]{2,8}(?:当成|当作|变成)[\u4e00-\u9fff]{0,6}的?$", clause)
            if of and kind == "principle" and len(a) <= 3 and len(b) <= 3 and len(of.group(0)) <= 16:
                add(of.group(0) + j.group(0), "image", 6.0)
            elif taken and len(a) <= 3 and len(b) <= 3:
                # 把容错纠错当成违纪违法的“挡箭牌”和“避风港”: two images of a fault, with what they are made of.
                add(taken.group(0) + j.group(0), "problem", 6.0)
            else:
                add(j.group(0) + (said.group(1) if said else ""), kind, 6.0)  # “八小时内”与“八小时外”相贯通
            joined.append(j)
        pairs += joined
        # A comparison that says what counts more (既要看升学率，更要看学生的品德、身心和成长后劲): the whole of it.
        for more in MORE_THAN.finditer(excerpt):
            if len(more.group(0)) <= 26:
                add(more.group(0), "principle", 6.5)
                self.clauses.add(more.group(0))
                pairs.append(more)
        # A principle of method (以高质量党建推动高质量发展; 以正确用人导向引领干事创业导向): one to understand.
        for by in BY_MEANS.finditer(excerpt):
            if len(by.group(0)) <= 18:
                add(by.group(0), "principle", 6.5)
                if "“" in by.group(0):
                    self.clauses.add(by.group(0))  # 以营商环境之“优”赢得发展之“先”: quoted whole
                    pairs.append(by)
        # One image turned into another (把科技创新的“关键变量”转化为高质量发展的“最大增量”): the turn is the point.
        for turn in TURN.finditer(excerpt):
            if re.search(
                r"(不能|不要|决不|绝不|防止|避免|严防|杜绝)[\u4e00-\u9fff]{0,4}$", excerpt[: turn.start()]
            ):
                continue  # 决不能让“带病工程”变成“夺命工程”: a turn to prevent, not one to make
            # with what each image is of where that is short (把科技创新的“关键变量”转化为高质量发展的“最大增量”)
            said = (
                turn.group(0) if len(turn.group(0)) <= 30 else f"把“{turn.group(1)}”转化为“{turn.group(2)}”"
            )
            add(said, "requirement", 9.0)  # (not said verbatim: no bonus of the main sentence's)
            self.clauses.add(said)
            pairs.append(turn)
        # Two sayings with what each is (“功成不必在我”的胸怀和“功成必定有我”的担当): both, never one half.
        for both in BOTH_SAYINGS.finditer(excerpt):
            add(both.group(0), "spirit", 7.0)
            pairs.append(both)
        for contrast in CONTRAST.finditer(excerpt):
            said = contrast.group(0)
            if not re.search(r"[它他她这那]", contrast.group(1) or said) and len(said) <= 40:
                # what counts, against what does not: the passage's measure (X不是…，而是…: said of a topic,
                # not a description of what someone values, 家长最看重的不是…)
                whole = any(x.text.rstrip("。！") == said for x in found.chunk.sentences)
                if whole and len(said) > 26:
                    continue  # a whole sentence is named only when it is short (see thesis_of)
                if contrast.group(1) or not re.search(r"[的最]", said.split("不是")[0]):
                    add(said, "principle", 8.0)
                self.clauses.add(said)
        # Foundations laid one by one (筑牢信仰之基，…打牢从政之基，…夯实廉政之基，…强化能力之基): what each
        # measures himself by, together.
        for sentence in chunk.sentences:
            bases = re.findall(r"[\u4e00-\u9fff]{4}之[基本魂源]", sentence.text)
            if len(bases) >= 3 and len({b[-1] for b in bases}) == 1 and len(set(bases)) == len(bases):
                add("、".join(bases), "standard", 8.0)
        # Two pairs held in balance (严管和厚爱结合起来、激励和约束并重): what a passage of measures comes to.
        for balance in BALANCE.finditer(excerpt):
            said = re.sub(r"^(?:把|坚持|要)", "", balance.group(0))
            add(said, "principle", 9.75)  # (above a programme of one of the measures)
            self.clauses.add(said)
        # One fault in two sayings (绝不能“会上热、会后冷”“说起来重要、做起来次要”); attitudes each named by a
        # saying (“等不起”的紧迫感、…): both, all, as one.
        for both in PROHIBITED_PAIR.finditer(excerpt):
            add(both.group(1), "problem", 7.0)
            pairs.append(both)
        for attitudes in SAID_ATTITUDES.finditer(excerpt):
            add(attitudes.group(0), "standard", 7.5)
            pairs.append(attitudes)
        # Faults each told by an image of what they are said of (防止学习“一阵风”、调研“走过场”、转化“打折扣”):
        # the list whole, never one image without its subject.
        for told in (*TOLD_FAULTS.finditer(excerpt), *FAULTS_CRITICISED.finditer(excerpt)):
            add(told.group(1), "problem", 7.0)
            pairs.append(told)
        # Steps said alike, a sentence each (抓好“用人”环节，… 抓好“留才”环节，…): the passage is about all of
        # them, and a prompt on one leaves the others out.
        steps: dict[tuple[str, str], list[str]] = {}
        for sentence in chunk.sentences:
            step = PARALLEL_STEP.match(sentence.text)
            if step:
                steps.setdefault((step.group(1), step.group(3)), []).append(step.group(2))
        for (_verb, head), terms in steps.items():
            if 2 <= len(terms) <= 3 and len(set(terms)) == len(terms):
                add("".join(f"“{t}”" for t in terms) + head, "programme", 11.0)

    def _quoted_terms(self, found: Found) -> None:
        """Quoted terms, each named by its kind and with what it is said of."""
        excerpt = found.excerpt
        add = found.add
        pairs = found.pairs
        for match in re.finditer(r"“([^“”]{2,16})”", excerpt):
            term = match.group(1)
            if term not in self.quoted or term.endswith(("。", "！", "？")):
                continue
            # A couplet (不驰于空想，不骛于虚声) is one saying; a list (讲政治、重公道) one phrase.
            if re.search(r"(什么|怎么|怎样|为何|吗|呢|？|百分之)", term) or not HAN_ONLY.fullmatch(
                re.sub(r"(?<=[\u4e00-\u9fff])[、，](?=[\u4e00-\u9fff])", "", term)
            ):
                continue  # a quoted question, a figure or a mixed string is not a term
            before, after = excerpt[: match.start()], excerpt[match.end() :]
            if re.search(r"(简称|以下称)$", before):
                continue  # an abbreviation the speech defines
            if re.search(r"(命名为|评为|授予|荣获|获评|表彰)[^，。；“”]{0,10}$", before):
                continue  # an honour conferred (被命名为省直机关“四强”党支部; 表彰一批“…标兵”): a report
            if re.match(r"、[一二三四五六七八九十两]?[个张份项条]“", after) or re.search(
                r"”、[一二三四五六七八九十两]?[个张份项条]$", before
            ):
                continue  # one of 一个“四年规划”、一个“学期目标”、一张“每周清单”: never one for all
            if any(p.start() <= match.start() < p.end() for p in pairs):
                continue  # one side of a change or a substitution: the pair is the phrase
            if (
                term in self.title
                or re.match(r"[市县区镇乡村省]", after)
                or before.endswith(("”", "”、"))
                or after.startswith(("“", "、“"))
            ):
                continue  # the theme, a place (“枫林”市), or half of a pair (“八小时内”“八小时外”)
            head = HEAD_NOUN.match(after)
            if "、" in term and not head:
                # A quoted list is the speech's own formula (a 校训, “明德、砺学、致用、报国”): asked about as a
                # whole, by its kind where the items say it; a fault where the sentence criticises it
                # (有的地方和部门对科技创新“说起来重要、干起来次要、忙起来不要”).
                halves = term.split("、")
                # Two halves of one saying (民之所盼、政之所向) are a 提法 to understand, not items to pick from;
                # of a mechanism's build (一岗一清单、一人一责任; 一群通办、一端集成), a mechanism.
                if len(halves) == 2:
                    kind = "programme" if all(NUMERAL_START.match(h) for h in halves) else "principle"
                else:
                    kind = list_kind(halves)
                if criticised_here(before, after):
                    kind = "problem"
                add(term, kind or "enumeration", 6.0 if kind else 5.0)  # (below a requirement that says it)
                continue
            if head and head.group(0) == "问题" and re.search(r"(看待|重视|关注|研究|对待|解决好)$", before):
                continue  # 看待“三农”问题: a field of work, neither a fault nor a term to reflect on
            if head and (after[len(head.group(0)) :].startswith("、“") or before.endswith("、")):
                continue  # one of a list (“等不起”的紧迫感、“慢不得”的危机感…): never one for all
            if head:
                # “十四五”规划, “熟人社会”难题, “钉钉子”的韧劲: the term with what it names.
                phrase = f"“{term}”{head.group(0)}"
                add(phrase, head_kind(head.group(0), term), 6.0)
                continue
            clause = re.split(r"[，。；：！？]", before)[-1]
            # The sentence around the quote says what kind of thing it is: a fault it criticises (有的同志…
            # “换一任领导换一个思路”; …“本领恐慌”问题) or a measure it puts in place (推行“一案双查”).
            sentence_before = re.split(r"[。！？]", before)[-1]
            sentence_after = re.split(r"[。！？]", after)[0]
            if PROBLEM_CUE.search(clause) or (
                kind_of(term) == "principle"
                and (CRITICISM.search(sentence_before) or CRITICISM_AFTER.match(sentence_after))
            ):
                habit = HABIT.search(clause)
                if habit:
                    add(f"{habit.group(0)}“{term}”", "problem", 6.0)  # 长期在机关“坐办公室”: with where
                    continue
                attitude = re.search(r"(满足于|停留于|止步于|局限于)$", clause)
                if attitude:
                    # 满足于“不出事”: the fault is being content with it, not the thing (热衷于“撒胡椒面”:
                    # the thing is the fault).
                    add(f"{attitude.group(1)}“{term}”", "problem", 6.0)
                    continue
                known = (self.tag_of(term) or "")[:1] == "n"
                if known and len(term) <= 4 and kind_of(term) == "principle":
                    # A fault told by an image (把容错纠错当成“挡箭牌”): named with what it is said of.
                    told = re.sub(
                        r"^(?:[一二三四五六七八九十]是|有的|一些|少数|个别|甚至|还有的|也有的|更不能|决不能|"
                        r"绝不能|不能|不要|防止|避免|严禁)+",
                        "",
                        clause,
                    )
                    if 2 <= len(told) <= 14 and re.search(r"(当成|当作|留下|成了|变成|沦为)$", told):
                        add(f"{told}“{term}”", "problem", 6.0)
                        continue
                    taken = re.search(
                        r"把[\u4e00-\u9fff]{2,10}(?:当成|当作|变成)[\u4e00-\u9fff]{0,8}$", clause
                    )
                    if taken and len(taken.group(0)) <= 20:
                        # 把手中的审批权当成谋取私利的“提款机”: the fault is what is made of what
                        add(f"{taken.group(0)}“{term}”", "problem", 6.0)
                        continue
                    if not re.search(r"(当成|当作|留下|成了|变成|沦为)$", clause):
                        # A fault named beside what it is said of (监管盲区和“真空地带”, 政策碎片化、“撒胡椒面”).
                        beside = re.search(r"([\u4e00-\u9fff]{2,8}[和与、])$", told)
                        said_of = beside.group(1) if beside else ""
                        # from after the verb or conjunction that governs both (坚决消除 + 监管盲区和, 但 + 碎片化、)
                        said_of = re.split(
                            r"(?:消除|防止|杜绝|避免|整治|克服|破除|纠正|但|而|又|也|还|就|是)", said_of
                        )[-1]
                        add(f"{said_of}“{term}”" if len(said_of) >= 3 else term, "problem", 6.0)
                    continue
                add(term, "problem", 6.0)
                continue
            if kind_of(term) == "principle" and MEASURE_VERB.search(clause[-4:]):
                add(term, "programme", 6.0)
                continue
            kind = kind_of(term)
            known = self._concrete(term)
            made = next((m for m in TAKEN_AS_QUOTED.finditer(excerpt) if m.group(3) == term), None)
            if kind == "principle" and made:
                # 把老百姓的“急、难、愁、盼”…作为确定民生工程的“方向标”: the image with what it is made of
                add(
                    f"把{made.group(1)}作为{made.group(2)}“{term}”", "image", 9.0
                )  # (not verbatim: no main bonus)
                continue
            image = (
                image_phrase(term, excerpt, known)
                if kind == "principle" and len(term) <= 4 and not NUMERAL_START.match(term)
                else ""
            )
            if image:
                add(image, "image", 5.5)
                continue
            if kind == "principle" and 4 <= len(term) <= 6 and not NUMERAL_START.match(term):
                # A longer image said of something (巡察是一次“政治体检”): named with it.
                said = next((m for m in SAID.finditer(excerpt) if m.group(2) == term), None)
                if (
                    said
                    and self._concrete(term)
                    and len(said.group(1)) <= 16
                    and not re.search(r"(不能|不要|不是)", said.group(1))
                ):
                    add(f"{said.group(1)}“{term}”", "image", 6.0)
                    continue
                again = SAID_AGAIN.search(excerpt[: match.end()]) if not said else None
                if again and again.group(2) == term:
                    # 巡察是党内监督的重要形式，是对…的“政治体检”: the subject of the sentence, said again
                    add(f"{again.group(1)}是“{term}”", "claim", 6.5)
                    continue
                if said and len(said.group(1)) <= 10 and not re.search(r"(不能|不要|不是)", said.group(1)):
                    # A 提法 said of something (粮食安全是“国之大者”): the claim, with what it is said of.
                    add(f"{said.group(1)}“{term}”", "claim", 6.5)
                    continue
            if kind == "principle" and 4 <= len(term) <= 6:
                # 把安全责任当作“千斤重担” (an image, though it starts with a numeral).
                taken = f"“{term}”" in excerpt and taken_as(term, excerpt)
                if taken and not re.search(r"(不能|不要|防止|避免)$", excerpt[: taken.start()]):
                    add(taken.group(0), "image", 6.0)
                    continue
            carried = re.search(r"(?:推动|让|使|促进)([\u4e00-\u9fff]{2,8})$", clause)
            if kind == "principle" and carried and len(term) >= 5:
                # 推动党的创新理论“飞入寻常百姓家”: what the saying is said of, with it
                add(f"{carried.group(1)}“{term}”", kind, 6.0)
                continue
            if kind != "principle" or len(term) >= 4 or NUMERAL_START.match(term):
                habit = HABIT.search(clause)
                if kind == "problem" and habit:
                    add(f"{habit.group(0)}“{term}”", kind, 6.0)  # 长期在机关“坐办公室”: with where
                    continue
                of = re.search(r"(?:建立|构建|形成|织密|打造|下好|用好|建好)([\u4e00-\u9fff]{2,6})$", clause)
                if re.match(r"一[张盘本条把套站]", term) and of and not of.group(1).endswith("的"):
                    add(f"{of.group(1)}“{term}”", kind, 6.0)  # 人才工作“一张网”: the net with what it is of
                    continue
                add(term, kind, 6.0)
                continue
            # A short plain term (方向盘, 压舱石) is an image: named with what it stands for, or not at all.
            image = image_phrase(term, excerpt, known)
            if image:
                add(image, "image", 5.0)

    def _statements(self, found: Found) -> None:
        """A thesis the passage argues from and the lists it makes."""
        chunk, main, leads = found.chunk, found.main, found.leads
        add = found.add
        # A thesis the passage argues from (理论创新每前进一步，理论武装就要跟进一步; 党的力量来自组织): a
        # principle in the speech's own words, strongest where it opens the passage or a paragraph.
        # Where it is the passage's first word (法治是最好的营商环境。要全面推行…), the passage argues from it:
        # its point, above a term of the requirement that follows (an editor asks 为什么说…).
        first_body = next((x for x in chunk.sentences if x.role == "body" and x.text not in leads), None)
        # (a thesis that leads points, 留住人才，既要靠事业，也要靠环境。一是…二是…, is asked through them)
        point_leads = {p.lead for p in found.points}
        for k, sentence in enumerate(chunk.sentences):
            thesis = thesis_of(sentence.text) if sentence.role == "body" else None
            if thesis:
                opens = k == 0 or sentence.paragraph != chunk.sentences[k - 1].paragraph
                score = 6.5 if opens else 5.5
                if sentence.text.rstrip("。！") in point_leads:
                    score = 4.0
                elif sentence is first_body and sentence.text != main:
                    score = 9.75  # (the main sentence's bonus makes a thesis that is the main one 10.0)
                elif CONCLUSION.match(sentence.text) or re.search(
                    r"看似是.*，实质上?是|^.{1,3}是.{1,3}，.{1,3}是", thesis
                ):
                    # 实践证明，只有…才能…; 看似是…，实质上是…; 严是爱，松是害: what the passage has shown, or
                    # the saying it turns on, is its point
                    score = 9.0
                add(thesis, "principle", score)
                if thesis in found.phrases and found.phrases[thesis].kind == "principle":
                    self.clauses.add(thesis)  # (not a claim or image found as such: printed as it is)
        for sentence in chunk.sentences:
            for items in self.lists_of(sentence.text):
                joined = "、".join(items)
                kind = list_kind(items)
                at = sentence.text.find(joined)
                if (
                    kind
                    and at >= 0
                    and criticised_here(sentence.text[:at], sentence.text[at + len(joined) :])
                ):
                    kind = "problem"
                if kind and len(joined) <= (24 if kind == "problem" else 18) and len(items) <= 5:
                    if re.search(r"做到$", sentence.text[: max(0, sentence.text.find(joined))]):
                        kind = "standard"  # 始终做到认识不含糊、力度不减弱: what to measure oneself by
                    if kind == "standard" and re.search(
                        r"(书记|校长|局长|负责同志|负责人|一把手)[^，。]{0,6}(是|要)", sentence.text
                    ):
                        # 各学校党组织书记、校长是…第一责任人，要…做到亲自部署、亲自过问: duties of an office,
                        # not every reader's standard
                        kind = "requirement"
                    # A list that qualifies a noun (有专业能力、专业素养、专业精神的优秀干部; 代耕代种…等托管
                    # 服务) is an example of the passage, not its point.
                    at = sentence.text.find(joined)
                    after = sentence.text[at + len(joined) : at + len(joined) + 1] if at >= 0 else ""
                    add(joined, kind, 3.0 if after in {"的", "等"} else 5.0)

    def _requirements(self, found: Found) -> None:
        """The requirement a sentence makes in its own words, and the scope a paragraph opens on."""
        chunk, main = found.chunk, found.main
        add = found.add
        # The main requirement itself, where it is one clause (坚持严管和厚爱结合、激励和约束并重, 牢固树立正确的
        # 政绩观, 深化河湖“清四乱”常态化规范化): what the passage asks, in its own words.
        for k, sentence in enumerate(chunk.sentences):
            requirement = requirement_of(sentence.text, self.is_word) if sentence.role == "body" else None
            opens = k == 0 or sentence.paragraph != chunk.sentences[k - 1].paragraph
            if requirement and not any(requirement[1] in h or h in requirement[1] for h in self.headings):
                score = 5.5 if sentence.text == main else 4.5
                if opens and len(sentence.text) <= 16 and score < 5.5:
                    score = 6.5  # 要注重家风建设。 opening a paragraph: that paragraph's point
                add(requirement[1], requirement[0], score)
                if not requirement[1].startswith("“") and not (
                    requirement[0] == "programme" and "“" in requirement[1]
                ):
                    # a clause, quoted whole (a quoted term prints as it is, so does 科研项目经费“包干制”)
                    self.clauses.add(requirement[1])
        # The scope a paragraph opens on (在安全投入保障上，各级财政要…): what that paragraph is about.
        for k, sentence in enumerate(chunk.sentences):
            scope = re.match(r"在([\u4e00-\u9fff]{4,10})上，", sentence.text)
            opens = k == 0 or sentence.paragraph != chunk.sentences[k - 1].paragraph
            said = scope.group(1) if scope else ""
            if (
                scope
                and opens
                and sentence.role == "body"
                and not any(said.startswith(v) for v in MEASURE_VERBS)
            ):
                add(scope.group(1), "requirement", 6.0)

    def _concepts(self, found: Found) -> None:
        """Terms of the common vocabulary and keywords of the main sentence: concepts to reflect on."""
        chunk, excerpt, main = found.chunk, found.excerpt, found.main
        add = found.add
        # A term of the common vocabulary the main sentence says (政治建设, 人才强省战略): a concept to reflect on.
        for term, _ in lexicon_terms_in(main):
            at = main.find(term)
            before, after = main[max(0, at - 2) : at], main[at + len(term) : at + len(term) + 2]
            if len(term) < 4 or before[-1:] in {"“", "、"} or after[:1] in {"”", "、"}:
                continue  # a quoted term or a list item is named as such
            if (
                (len(before) == 2 and self.is_word(before + term[:2]))
                or (len(after) == 2 and self.is_word(term[-2:] + after))
                or (before and self.is_word(before[-1] + term))
            ):
                continue  # inside a longer word: 成果转化 of 科技成果转化
            if len(before) == 2 and (self.tag_of(before) or "")[:1] == "n" and HAN_ONLY.fullmatch(before):
                continue  # a piece of a longer name: 干部 + 政治素质 (考察)
            if before in {"对照", "按照", "依照", "根据"}:
                continue  # what a task is measured by (对照任务清单), not a programme of the passage
            if before.endswith("的") and VAGUE_END.search(term):
                continue  # …作为检验工作成效的根本标准: the head says nothing without what it is of
            kind = kind_of(term)
            # (a concept: 创新能力 said of a city's year is understood, not a standard to check oneself by)
            add(term, "principle" if kind == "standard" else kind, 4.0)
        for word in self.keywords(main)[:3] + self.keywords(excerpt)[:4]:
            if after_digit(word, excerpt):
                continue  # the tail of a figure (2024级新生)
            if f"习近平{word}" in excerpt:
                continue  # a piece of a name of the Thought (习近平生态文明思想)
            if measured_by(word, excerpt):
                continue  # what a task is measured by (对照任务清单), not a programme of the passage
            if len(word) >= 3 and word not in GENERIC and self.is_word(word) and self.is_noun(word):
                if (self.tag_of(word) or "n") in {"ns", "nr", "nt"} or VAGUE_END.search(word):
                    continue  # a name, or a word that ends vaguely (…方向, …工作, …时期)
                if word in self.title or any(
                    ch.isdigit() for s in chunk.sentences if word in s.text for ch in s.text
                ):
                    continue  # the speech's theme, or a word of a sentence of figures
                if not self._concept(word, excerpt):
                    continue
                kind = kind_of(word)
                # A keyword is a concept: 创新能力 from a report of results is understood, not a standard.
                kind = "principle" if kind == "standard" else kind
                add(word, kind, 3.0 if len(word) >= 4 else 2.0, strong=False)

    def _points(self, found: Found) -> None:
        """A paragraph of points (一是…二是…三是…), asked about together."""
        excerpt, leads = found.excerpt, found.leads
        # A paragraph of points (一是…二是…三是…) is the passage's build: the prompt asks about the points
        # together, by what they are of (强化保障; 抓好工业源治理、移动源治理、面源治理; the 短板 they list).
        for points in found.points:
            # (under one of a part's parallel leads, a heading, the points are named by themselves)
            # (where they cannot be named, the heading is the scope they are listed under)
            heading = points.lead in {x.rstrip("。") for x in leads}
            said = points_phrase("" if heading else points.lead, points.points, points.kind)
            if heading and said and said[1].endswith("_count"):
                said = points_phrase(points.lead, points.points, points.kind)
            named = [re.findall(r"是(?:一[项个场种])?“([^“”]{2,6})”", x.text)[:1] for x in points.sentences]
            if said is None and len(named) == len(points.points) and all(named) and len(points.points) >= 3:
                # Angles (从…看) that each name what the thing is (一项“铸魂工程”…“塑形工程”…“民心工程”): the names.
                said = ("".join(f"“{n[0]}”" for n in named), "principle")
            if not said or any(said[0] in h for h in self.headings):
                continue
            if said[1].endswith("_count"):
                # the points named by none of them (这段讲话接连提出的几点举措中…): below a named programme
                if said[0] not in found.phrases:
                    found.phrases[said[0]] = Candidate(said[0], said[1], 9.5)
            else:
                # above the lead sentence's requirement they unpack, and above the same phrase found as one
                # (hopes a speaker puts to his audience, 提几点希望：一是要讲政治…, are what each measures
                # himself by)
                at = excerpt.find(points.sentences[0].text)
                hopes = (
                    said[1] == "points_all" and "希望" in points.lead + excerpt[max(0, at - 30) : max(0, at)]
                )
                found.phrases[said[0]] = Candidate(said[0], "standard" if hopes else said[1], 11.2)

    def _place_name(self, word: str) -> bool:
        """A name of the speech's place and a common word (桐溪教育, a channel's name): no idea to reflect on."""
        return len(word) == 4 and word[:2] in self.places and word[2:] in GENERIC | {"教育", "文化", "经济"}

    def _concrete(self, term: str) -> bool:
        """Whether a quoted term is a thing an image could be made of: a dictionary noun, or a word the
        dictionary knows ending it (体检 of 政治体检, 卫士 of 纯洁性卫士); 国之大者 is a 提法."""
        if (self.tag_of(term) or "")[:1] == "n":
            return True
        return len(term) >= 4 and any(self.tag_of(term[-k:]) for k in (2, 3))

    def _concept(self, word: str, excerpt: str) -> bool:
        """Whether a keyword is a concept to reflect on: a noun the dictionary knows as one (or a term of
        the speech's own), not a kind of people (党员干部, 一把手), and whole where it stands: not a piece
        of a longer word (颗粒物 of 细颗粒物, 全体会议 of 省安委会全体会议)."""
        if not ((self.tag_of(word) or "")[:1] == "n" or self.tag_of(word) == "vn" or word in self.quoted):
            return False  # 关键在于, 积极探索: no noun
        if KINDS_OF_PEOPLE.search(word) or word[:2] in ADVERBS:
            return False  # 认真学习, 积极探索: a verb with its adverb (jieba calls them nouns)
        for start in occurrences(word, excerpt):
            end = start + len(word)
            before, after = excerpt[max(0, start - 2) : start], excerpt[end : end + 2]
            if (before and self.is_word(before[-1:] + word[:2])) or (
                after and self.is_word(word[-2:] + after[:1])
            ):
                return False
            if (len(before) == 2 and self.is_word(before + word[:2])) or (
                len(after) == 2 and self.is_word(word[-2:] + after)
            ):
                return False
        return True

    def _parallel_leads(self, section) -> frozenset[str]:
        """A part's parallel leads (see `parallel_leads`), once per part."""
        if section.id not in self._leads:
            self._leads[section.id] = parallel_leads(section.sentences)
        return self._leads[section.id]
