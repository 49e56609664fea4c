"""Reflection prompts (思考题): a phrase worth thinking about from each lesson, in the form its kind asks for.

The phrase is a quoted 提法, a named programme or mechanism, an enumeration, a sub-point's or part's own
requirement, or the key concept of the passage's main requirement; never a function word or a fragment. A
metaphor is named with what it stands for (把稳用权的“方向盘”). The form follows the phrase's kind (EDITOR.md):
a standard is checked against oneself, a programme is carried out, a principle is understood, a problem is
traced to its causes, a spirit is seen in people. Phrases that many passages share rank below the passage's
own, and no phrase or prompt is used twice.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from content.lessons import Chunk
from content.terms import lexicon_terms_in

# Forms by the kind of phrase, each with a few wordings used in turn.
FORMS: dict[str, tuple[str, ...]] = {
    "standard": (
        "对照“{p}”，你做得怎么样？还有哪些差距？",
        "用“{p}”衡量自己，哪一条做得最好，哪一条还要补课？",
    ),
    "programme": (
        "围绕“{p}”，你所在支部（单位）可以做哪一件实事？",
        "落实“{p}”，你所在单位下一步最该抓的是哪一环？",
        "推进“{p}”，你能在自己的岗位上做些什么？",
    ),
    "principle": (
        "怎样理解“{p}”？它对你的工作提出了什么要求？",
        "讲话为什么强调“{p}”？结合实际谈谈你的认识。",
        "你是怎样理解“{p}”的？对你的工作有什么启发？",
    ),
    "problem": (
        "“{p}”的根源在哪里？你所在单位可以怎样破解？",
        "你身边有没有“{p}”的表现？应当怎样解决？",
    ),
    "spirit": (
        "你身边谁身上有“{p}”？你打算怎样向他学习？",
        "在工作中践行“{p}”，你打算从哪件事做起？",
    ),
    # A named spirit of the Party or the nation (伟大建党精神) is practised rather than spotted in a colleague.
    "great_spirit": (
        "在工作中弘扬“{p}”，你打算从哪件事做起？",
        "结合本职工作，怎样把“{p}”落到实处？",
    ),
    "image": (
        "讲话说“{p}”，这在你的岗位上意味着什么？",
        "怎样理解“{p}”这个比喻？对你有什么启发？",
    ),
    "people": (
        "从群众的角度看，怎样让“{p}”看得见、摸得着？",
        "在你的工作中，“{p}”可以体现为哪些实实在在的变化？",
    ),
    "enumeration": (
        "讲话提出“{p}”，你对哪一点体会最深？为什么？",
        "讲话列举了“{p}”，结合实际，你最有感触的是哪一项？",
    ),
    # A requirement in the speech's own words, a verb and its object (深化河湖‘清四乱’常态化规范化).
    "requirement": (
        "围绕“{p}”，你所在单位下一步最该做的一件事是什么？",
        "结合本职工作，你打算怎样落实“{p}”？",
        "落实“{p}”，你所在单位还有哪些差距？",
    ),
    "action": (
        "围绕“{p}”，你所在单位下一步最该做的一件事是什么？",
        "做到“{p}”，你自己可以从哪里着手？",
        "结合本职工作，你打算怎样落实“{p}”？",
    ),
}
FORM_NAMES = {
    "standard": "对照检视",
    "programme": "举措落实",
    "principle": "理解认识",
    "problem": "原因办法",
    "spirit": "榜样践行",
    "image": "比喻释义",
    "people": "群众视角",
    "action": "行动落实",
    "requirement": "举措落实",
    "enumeration": "列举体会",
    "great_spirit": "榜样践行",
}

_PROGRAMME = re.compile(
    r"(工程|行动|计划|机制|制度|体系|平台|模式|清单|工作法|责任制|专项|试点|项目|活动|改革|办法|联动|服务|"
    r"网格|中心|站|驿站|课堂|书屋|基金|品牌|示范区|一件事|就办|办好|一次办|跑一次|导师|突击队|服务队|讲师团|团|队|"
    r"议事厅|工作室|体验官)$"
)
_PRINCIPLE = re.compile(
    r"(理念|思想|原则|意义|观|宗旨|方针|战略|道路|初心|使命|定位|规律|方向|论|遵循|路线)$"
)
_STANDARD = re.compile(r"(标准|要求|底线|红线|本领|能力|纪律|规矩|准则|规范|导向|责任|职责)$")
_PROBLEM = re.compile(r"(问题|短板|弱项|风险|隐患|矛盾|难题|不足|顽疾|主义|乱象|现象|梗阻|堵点|痛点|难点)$")
_SPIRIT = re.compile(r"(精神|作风|品格|情怀|担当|劲头|干劲|境界|品质|气节|风骨|韧劲|闯劲)$")
_ADVERBS = frozenset("认真 积极 深入 切实 大力 全面 不断 努力 主动 持续 扎实 进一步 坚决 严格 加快".split())
_PEOPLE = re.compile(r"(感|心事|难事|盼事|急事|愁事)$")
_COUNTED = re.compile(r"^[一二两三四五六七八九十]个.+")
_NUMERAL_START = re.compile(r"^[一二两三四五六七八九十百千万零]")
_HAN_ONLY = re.compile(r"[\u4e00-\u9fff]+")
# Heads of a quoted image that say what it stands for: “钉钉子”精神.
_IMAGE_HEADS = re.compile(r"^(精神|作风|效应|品格|劲头|干劲|情怀)")
# Words that are too general or too widely shared to be a passage's own phrase.
GENERIC = frozenset(
    """工作 问题 方面 同志们 同志 我们 大家 要求 建设 发展 组织 领导 干部 党员 群众 人民 全市 全县 全区 今年
    去年 当前 目前 实际 情况 任务 作用 意见 会议 讲话 部署 精神 思想 理论 政治 能力 水平 力量 基础 关键 重点
    进一步 坚持 加强 推进 推动 落实 切实 全面 深入 扎实 持续 更加 不断 积极 主动 组成部分 教职员工 交流经验
    习近平新时代中国特色社会主义思想 党的二十大精神 党的二十大 党中央 高质量发展 中国共产党 民族复兴 强国建设
    新时代新征程 社会主义现代化国家 主题教育 以习近平同志为核心的党中央 习近平总书记""".split()
)


@dataclass(frozen=True)
class Candidate:
    """A phrase a prompt could name, with its kind and how central it is to the passage."""

    phrase: str
    kind: str
    score: float


def _is_problem(phrase: str) -> bool:
    """A named problem of the common vocabulary (吃拿卡要, 信息孤岛, 一刀切: content/data/fields.txt)."""
    from content.terms import fields

    problems = next((terms for name, terms, _ in fields() if name == "问题"), frozenset())
    return phrase in problems or any(len(p) >= 3 and p in phrase for p in problems)


@functools.lru_cache(maxsize=4096)
def kind_of(phrase: str) -> str:
    """The kind of a phrase, which decides the prompt's form."""
    core = phrase.rsplit("”", 1)[-1] or phrase.strip("“”‘’")
    bare = phrase.strip("“”‘’")
    if "、" in bare:
        items = bare.split("、")
        if all(_PEOPLE.search(i) for i in items):
            return "people"
        if all(_PROBLEM.search(i) for i in items):
            return "problem"
        if (
            all(len(i) <= 4 for i in items)
            and sum(bool(re.search(r"[好精强实正硬]$", i)) for i in items) >= 2
        ):
            return "standard"
        return "programme"
    if _is_problem(bare):
        return "problem"
    if re.search(r"(会|大|全会|讲话|指示|批示|文件)精神$", core):
        return "principle"  # the spirit of a meeting is to be understood, not seen in people
    if re.search(
        r"(伟大|建党|抗战|长征|延安|井冈山|红船|雷锋|焦裕禄|塞罕坝|抗疫|脱贫攻坚|载人航天|劳模|工匠)[\u4e00-\u9fff]*精神$",
        core,
    ):
        return "great_spirit"
    for kind, pattern in (
        ("spirit", _SPIRIT),
        ("problem", _PROBLEM),
        ("people", _PEOPLE),
        ("programme", _PROGRAMME),
        ("standard", _STANDARD),
        ("principle", _PRINCIPLE),
    ):
        if pattern.search(core) or pattern.search(bare):
            return kind
    if _COUNTED.match(bare) or "是" in bare[1:-1]:
        return "principle"
    return "principle"


# “三农”是应对风险挑战的“压舱石”, 乡镇党委书记要当好“一线总指挥”: what an image is said of, and the image.
_SAID = re.compile(
    r"((?:“[^“”]{1,8}”|[\u4e00-\u9fff]{2,8})(?:是|就是|要当好|要争当|要成为|成为)[^，。；！？“”]{0,12})“([^“”]{1,6})”"
)


def _image(term: str, text: str, known_noun: bool = True) -> str:
    """A short quoted image named with what it stands for: 把稳用权的“方向盘”, “三农”是应对风险挑战的“压舱石”,
    当好“领头雁”; "" when the clause before it does not say."""
    at = text.find(f"“{term}”")
    if at < 0:
        return ""
    # What it is said of, when the sentence names it: “三农”是应对风险挑战的“压舱石”, 乡镇党委书记要当好“一线总指挥”.
    if re.search(r"[之者于而其乎]", term):
        return ""  # a classical saying (国之大者) is a 提法, not an image
    said = next((m for m in _SAID.finditer(text) if m.group(2) == term), None)
    if said and len(said.group(1)) <= 20 and not re.search(r"(不能|不要|不是|防止|避免)", said.group(1)):
        return f"{said.group(1)}“{term}”"
    clause = re.split(r"[，。；：！？、”]", text[:at])[-1]
    if re.search(r"(不能|不要|不是|防止|避免|当成|当作|而非|决不|绝不)", clause):
        return ""  # said of what not to be: no image to live up to
    if not known_noun:
        return ""  # a word the dictionary does not know as a noun (急难愁盼) is a term, not an image
    clause = re.sub(
        r"^(?:真正|切实|努力|奋力|着力|作为|成为|当作|当成|是|为|把|将|要|也是|更是|就是)+", "", clause
    )
    if 3 <= len(clause) <= 10 and clause.endswith("的"):
        return f"{clause}“{term}”"
    if re.fullmatch(r"(当好|争当|争做|做好|做|当|成为|甘当|扣好|系好|守好|把稳|筑牢)", clause):
        return f"{clause}“{term}”"
    return ""


class PromptMaker:
    """Chooses each lesson's phrase and prompt for one speech."""

    def __init__(
        self,
        speech_text: str,
        quoted: list[str],
        lists_of: Callable[[str], list[list[str]]],
        keywords: Callable[[str], list[str]],
        is_word: Callable[[str], bool],
        tag_of: Callable[[str], str | None] = lambda w: None,
        headings: list[str] | None = None,
        audience: str = "cadres",
        title: str = "",
    ):
        self.headings = headings or []
        self.title = title
        self.audience = audience
        self.clauses: set[str] = set()  # phrases that are a requirement clause: quoted whole, inner quotes ‘’
        self.avoid: set[str] = set()  # the quiz's answers: a prompt that names one gives it away
        self.tag_of = tag_of
        self.is_noun = lambda w: (tag_of(w) or "n")[:1] == "n"
        self.text = speech_text
        self.quoted = quoted
        self.lists_of = lists_of
        self.keywords = keywords
        self.is_word = is_word

    def candidates(self, chunk: Chunk) -> list[Candidate]:
        """Phrases of the excerpt worth a prompt, most central first."""
        excerpt = chunk.text
        main = _main_sentence(chunk)
        titles = " ".join(
            x.title for x in (chunk.section, chunk.sub) if x is not None and x.kind == "numbered"
        )
        found: dict[str, Candidate] = {}

        def add(phrase: str, kind: str, score: float, strong: bool = True) -> None:
            bare = phrase.replace("“", "").replace("”", "")
            if _fragment(phrase) or phrase in found or bare in GENERIC or _ORG_NAME.fullmatch(bare):
                return
            if bare in COMMON_FORMULAS:
                score -= 2.0  # 两个确立, 四个意识: said in every speech, rarely a passage's own point
            # A heading is a title, never a prompt's phrase.
            if any(bare in h for h in self.headings):
                return
            # A phrase the whole speech keeps repeating (两个维护) is not this passage's own point.
            shared = self.text.count(bare) if "“" not in phrase[1:-1] else 1
            score -= 1.5 * max(0, shared - 1)
            # The main requirement carries the passage's point: a term of it before a term of an example.
            in_main = bare in main.replace("“", "").replace("”", "")
            score += (3.5 if strong else 2.0) * in_main + 2.0 * _overlap(phrase, titles)
            found[phrase] = Candidate(phrase, kind, score)

        # 从“宽松软”走向“严紧硬”: the change is the point, not one side of it; 以“表态”代替“表率”: a fault.
        pairs = list(_PAIR.finditer(excerpt))
        for p in pairs:
            add(p.group(0), "problem" if p.group(0).startswith("以") else "action", 6.5)
        # Two quoted terms said as one (防止“非农化”、“非粮化”; “八小时内”与“八小时外”): both, never one half.
        joined = []
        for j in _JOINED.finditer(excerpt):
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
            kind = "problem" if _PROBLEM_CUE.search(clause) or _CRITICISM.search(clause) else "principle"
            add(j.group(0), kind, 6.0)
            joined.append(j)
        pairs += joined
        for match in re.finditer(r"“([^“”]{2,16})”", excerpt):
            term = match.group(1)
            if term not in self.quoted or term.endswith(("。", "！", "？")):
                continue
            # A couplet (不驰于空想，不骛于虚声) is one saying; a list (讲政治、重公道) one phrase.
            if re.search(r"(什么|怎么|怎样|为何|吗|呢|？|百分之)", term) or not _HAN_ONLY.fullmatch(
                re.sub(r"(?<=[\u4e00-\u9fff])[、，](?=[\u4e00-\u9fff])", "", term)
            ):
                continue  # a quoted question, a figure or a mixed string is not a term
            before, after = excerpt[: match.start()], excerpt[match.end() :]
            if re.search(r"(简称|以下称)$", before):
                continue  # an abbreviation the speech defines
            if any(p.start() <= match.start() < p.end() for p in pairs):
                continue  # one side of a change or a substitution: the pair is the phrase
            if (
                term in self.title
                or re.match(r"[市县区镇乡村省]", after)
                or before.endswith("”")
                or after.startswith("“")
            ):
                continue  # the theme, a place (“枫林”市), or half of a pair (“八小时内”“八小时外”)
            head = _HEAD_NOUN.match(after)
            if "、" in term and not head:
                kind = _list_kind(term.split("、"))
                if kind:
                    add(term, kind, 6.0)
                continue
            if head:
                # “十四五”规划, “熟人社会”难题, “钉钉子”的韧劲: the term with what it names.
                phrase = f"“{term}”{head.group(0)}"
                add(phrase, _head_kind(head.group(0), term), 6.0)
                continue
            clause = re.split(r"[，。；：！？]", before)[-1]
            # The sentence around the quote says what kind of thing it is: a fault it criticises (有的同志…
            # “换一任领导换一个思路”; …“本领恐慌”问题) or a measure it puts in place (推行“一案双查”).
            sentence_before = re.split(r"[。！？]", before)[-1]
            sentence_after = re.split(r"[。！？]", after)[0]
            if _PROBLEM_CUE.search(clause) or (
                kind_of(term) == "principle"
                and (_CRITICISM.search(sentence_before) or _CRITICISM_AFTER.match(sentence_after))
            ):
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
                    if not re.search(r"(当成|当作|留下|成了|变成|沦为)$", clause):
                        add(term, "problem", 6.0)  # the fault itself (热衷于“撒胡椒面”)
                    continue
                add(term, "problem", 6.0)
                continue
            if kind_of(term) == "principle" and _MEASURE_VERB.search(clause[-4:]):
                add(term, "programme", 6.0)
                continue
            kind = kind_of(term)
            known = self._concrete(term)
            image = (
                _image(term, excerpt, known)
                if kind == "principle" and len(term) <= 4 and not _NUMERAL_START.match(term)
                else ""
            )
            if image:
                add(image, "image", 5.5)
                continue
            if kind == "principle" and 4 <= len(term) <= 6 and not _NUMERAL_START.match(term):
                # A longer image said of something (巡察是一次“政治体检”): named with it.
                said = next((m for m in _SAID.finditer(excerpt) if m.group(2) == term), None)
                if (
                    said
                    and self._concrete(term)
                    and len(said.group(1)) <= 16
                    and not re.search(r"(不能|不要|不是)", said.group(1))
                ):
                    add(f"{said.group(1)}“{term}”", "image", 6.0)
                    continue
                taken = re.search(
                    rf"把([^，。；！？“”]{{2,10}})(?:当作|当成|作为|视为)“{re.escape(term)}”", excerpt
                )
                if taken and not re.search(r"(不能|不要|防止|避免)$", excerpt[: taken.start()]):
                    add(taken.group(0), "image", 6.0)  # 把安全责任当作“千斤重担”
                    continue
            if kind != "principle" or len(term) >= 4 or _NUMERAL_START.match(term):
                add(term, kind, 6.0)
                continue
            # A short plain term (方向盘, 压舱石) is an image: named with what it stands for, or not at all.
            image = _image(term, excerpt, known)
            if image:
                add(image, "image", 5.0)
        for sentence in chunk.sentences:
            for items in self.lists_of(sentence.text):
                joined = "、".join(items)
                kind = _list_kind(items)
                if kind and len(joined) <= 18 and len(items) <= 5:
                    add(joined, kind, 5.0)
        # The main requirement itself, where it is one clause (坚持严管和厚爱结合、激励和约束并重, 牢固树立正确的
        # 政绩观, 深化河湖“清四乱”常态化规范化): what the passage asks, in its own words.
        for sentence in chunk.sentences:
            requirement = _requirement(sentence.text, self.is_word) if sentence.role == "body" else None
            if requirement and not any(requirement[1] in h or h in requirement[1] for h in self.headings):
                add(requirement[1], requirement[0], 5.5 if sentence.text == main else 4.5)
                if not requirement[1].startswith("“"):
                    self.clauses.add(requirement[1])  # a clause, quoted whole (a quoted term prints as it is)
        # A term of the common vocabulary the main sentence says (政治建设, 人才强省战略): a concept to reflect on.
        for term, _ in lexicon_terms_in(main):
            at = main.find(term)
            before, after = main[max(0, at - 2) : at], main[at + len(term) : at + len(term) + 2]
            if len(term) < 4 or before[-1:] in {"“", "、"} or after[:1] in {"”", "、"}:
                continue  # a quoted term or a list item is named as such
            if (len(before) == 2 and self.is_word(before + term[:2])) or (
                len(after) == 2 and self.is_word(term[-2:] + after)
            ):
                continue  # inside a longer word: 成果转化 of 科技成果转化
            if len(before) == 2 and (self.tag_of(before) or "")[:1] == "n" and _HAN_ONLY.fullmatch(before):
                continue  # a piece of a longer name: 干部 + 政治素质 (考察)
            add(term, kind_of(term), 4.0)
        for word in self.keywords(main)[:3] + self.keywords(excerpt)[:4]:
            if re.search(rf"[0-9０-９]{re.escape(word)}", excerpt):
                continue  # the tail of a figure (2024级新生)
            if len(word) >= 3 and word not in GENERIC and self.is_word(word) and self.is_noun(word):
                if (self.tag_of(word) or "n") in {"ns", "nr", "nt"} or _VAGUE_END.search(word):
                    continue  # a name, or a word that ends vaguely (…方向, …工作, …时期)
                if word in self.title or any(
                    ch.isdigit() for s in chunk.sentences if word in s.text for ch in s.text
                ):
                    continue  # the speech's theme, or a word of a sentence of figures
                if not self._concept(word, excerpt):
                    continue
                add(word, kind_of(word), 3.0 if len(word) >= 4 else 2.0, strong=False)
        return sorted(found.values(), key=lambda c: -c.score)

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
        if _KINDS_OF_PEOPLE.search(word) or word[:2] in _ADVERBS:
            return False  # 认真学习, 积极探索: a verb with its adverb (jieba calls them nouns)
        for m in re.finditer(re.escape(word), excerpt):
            before, after = excerpt[max(0, m.start() - 2) : m.start()], excerpt[m.end() : m.end() + 2]
            if (before and self.is_word(before[-1:] + word[:2])) or (
                after and self.is_word(word[-2:] + after[:1])
            ):
                return False
            if (len(before) == 2 and self.is_word(before + word[:2])) or (
                len(after) == 2 and self.is_word(word[-2:] + after)
            ):
                return False
        return True

    def prompts(self, plan: list[Chunk]) -> list[tuple[str, str, str]]:
        """(phrase, form name, prompt) for each chunk, every phrase and prompt used once."""
        used_phrases: set[str] = set()
        used_prompts: set[str] = set()
        turn: dict[str, int] = {}
        out = []
        for chunk in plan:
            fresh = [c for c in self.candidates(chunk) if c.phrase not in used_phrases]
            # A phrase that a quiz answer stands in gives it away: take the best other one if it is nearly as
            # good; if not, the prompt keeps its phrase and the question goes (build_model).
            clear = [c for c in fresh if not any(a in c.phrase for a in self.avoid)]
            options = clear if clear and clear[0].score >= fresh[0].score - 1.0 else fresh
            if not options:
                words = [
                    w
                    for w in self.keywords(chunk.text)
                    if len(w) >= 2
                    and w not in GENERIC
                    and w not in used_phrases
                    and w not in self.title
                    and not _ORG_NAME.fullmatch(w)
                    and (self.tag_of(w) or "n")[:2] not in {"ns", "nr", "nt"}
                    and not _VAGUE_END.search(w)
                    and self._concept(w, chunk.text)
                ]
                options = [Candidate(words[0], kind_of(words[0]), 0.0)] if words else []
            if not options:
                options = [Candidate(_fallback(chunk), "action", 0.0)]
            pick = options[0]
            forms = FORMS[pick.kind]
            k = turn.get(pick.kind, 0)
            for offset in range(len(forms)):
                prompt = _fill(
                    forms[(k + offset) % len(forms)], pick.phrase, self.audience, pick.phrase in self.clauses
                )
                if prompt not in used_prompts:
                    break
            if chunk.section.kind != "numbered" and pick.phrase == chunk.section.title:
                # Nothing in the passage to name: ask about it as a whole, quoting nothing.
                prompt = (
                    "读完开篇，你认为这次会议要解决的最紧迫的问题是什么？"
                    if chunk.section.kind == "opening"
                    else "这段讲话提出的要求中，你所在单位下一步最该落实的是哪一条？"
                )
                if prompt in used_prompts:
                    prompt = f"这段讲话（第 {len(out) + 1} 天）中，哪一句对你触动最深？为什么？"
            turn[pick.kind] = k + 1
            used_phrases.add(pick.phrase)
            used_prompts.add(prompt)
            out.append((pick.phrase, FORM_NAMES[pick.kind], prompt))
        return out


# 从“A”走向“B”, 由“A”转入“B”: a change named by its two ends.
_JOINED = re.compile(r"“([^“”]{1,10})”[、和与及同]?“([^“”]{1,10})”")
_PAIR = re.compile(
    r"(?:[从由]“[^“”]{1,10}”(?:转向|转入|转为|变成|变为|走向|迈向|转变为|到|向)|以“[^“”]{1,10}”(?:代替|代))“[^“”]{1,10}”"
)
# What a quoted term may name when a head follows it.
_HEAD_NOUN = re.compile(
    r"^(?:的(?:韧劲|劲头|干劲|精神|作风)|规划|人员|工程|行动|计划|机制|制度|现象|问题|难题|精神|作风|品牌|平台|"
    r"模式|理念|环节|体系|课程|工作法|工作制度|服务|队伍|活动|创建|试点|改革|要求|标准|清单|效应|意识|格局)"
)
# Words before a term that say it is a problem to fight.
# A sentence that criticises: some people or places do something, or it names a shortfall.
_CRITICISM = re.compile(
    r"(有的|一些|少数|个别|仍然存在|依然存在|还存在|存在着|不同程度|习惯于|热衷于|满足于|甚至)"
)
_CRITICISM_AFTER = re.compile(r"^(?:的)?(?:问题|现象|倾向|情况依然|仍然|依然|还不同程度)")
# A verb that puts a measure in place, right before the quoted term: 推行“一案双查”, 建立“一本账”.
_MEASURE_VERB = re.compile(
    r"(推行|实行|实施|开展|建立|健全|打造|创建|推进|深化|落实|推广|探索|启动|用好|完善)$"
)
_PROBLEM_CUE = re.compile(
    r"(防止|整治|反对|克服|杜绝|遏制|纠治|破除|警惕|避免|纠正|根治|满足于|不搞|不能|不要|决不|绝不|不再|"
    r"严禁|摒弃|告别|消除|打破|破解|防范|力戒|不做)"
)
_ORG_NAME = re.compile(r"[\u4e00-\u9fff]{0,3}(?:委|政府|人大|政协|部门|纪委|监委)")
COMMON_FORMULAS = frozenset("两个确立 两个维护 四个意识 四个自信 四个全面 两个务必 三个务必".split())
_VAGUE_END = re.compile(r"(方向|工作|时期|阶段|汇报|倾斜|情况|方面|行动|过程|部署|任务|会议|在于)$")
_KINDS_OF_PEOPLE = re.compile(r"(干部|党员|群众|书记|一把手|同志|人员|代表|同学|老师)$")
_ORG = re.compile(r"(会|委|局|部|厅|办|企业|公司|中心|单位|学校|医院|银行|社区|街道|乡镇|村)$")
_TIMED = re.compile(r"^(日|周|旬|月|季|季度|半年|年|年度|每日|每周|每月|每季)")


def _head_kind(head: str, term: str) -> str:
    if head in {"现象", "问题", "难题"}:
        return "problem"
    if head.endswith(("韧劲", "劲头", "干劲", "精神", "作风")):
        return "spirit"
    if head in {"规划", "工程", "行动", "计划", "机制", "制度", "品牌", "平台", "模式", "体系", "课程", "工作法",
                "工作制度", "服务", "活动", "创建", "试点", "改革", "清单", "队伍", "人员", "环节"}:  # fmt: skip
        return "programme"
    if head in {"要求", "标准"}:
        # “讲政治、重公道…”要求 is a standard to check oneself against; “云溪香米”标准 is a product's.
        return "standard" if "、" in term else "principle"
    return "principle"


def _list_kind(items: list[str]) -> str | None:
    """The kind of an enumeration, or None when it is no phrase for a prompt (names, organisations, greetings)."""
    if len(items) < 3 or min(map(len, items)) < 2:
        return None
    if all(len(i) <= 3 for i in items) and all(
        not re.search(r"[要抓有讲守重敢善勤严强促]", i[:1]) for i in items
    ):
        if all(_ORG.search(i) or len(i) == 2 for i in items):
            return None  # 南塘、枫林、清河; 居委会、业委会
    if any(re.search(r"(快乐|健康|顺利|如意|幸福美满)$", i) for i in items):
        return None
    if all(_TIMED.match(i) for i in items):
        return "programme"  # 月调度、季通报、年考核: a mechanism
    kinds = {kind_of(i) for i in items}
    if len(kinds) == 1 and kinds <= {"programme", "problem", "standard", "people"}:
        return kinds.pop()  # 问题清单、整改清单、责任清单: what each item is, the list is
    joined = "、".join(items)
    kind = kind_of(joined)
    if kind in {"standard", "people", "problem"}:
        return kind
    if (
        sum(
            bool(
                re.match(r"^(讲|守|重|敢|善|勤|严|忠|干净|担当)", i)
                or re.search(r"[于][\u4e00-\u9fff]{2}$", i)
            )
            for i in items
        )
        >= len(items) - 1
    ):
        return "standard"  # 讲政治、守纪律; 善于监督、精于执纪: qualities to check oneself against
    return "enumeration"


def _fragment(phrase: str) -> bool:
    """A phrase that is not a term: too short, or a verb with its particle (讲得, 慢不得)."""
    bare = phrase.strip("“”‘’")
    return len(bare) < 2 or bool(re.fullmatch(r"[\u4e00-\u9fff]{1,2}[得的了着地]", bare))


# A talk to students asks about their studies, not their work unit.
FOR_STUDENTS = (
    ("结合本职工作", "结合自己的学习"),
    ("你所在支部（单位）", "你所在的班级"),
    ("你所在单位", "你所在的班级"),
    ("在你的岗位上", "在你的学习生活中"),
    ("在自己的岗位上", "在自己的学习生活中"),
    ("在工作中", "在学习生活中"),
    ("你的工作", "你的学习"),
    ("结合实际", "结合自己的经历"),
)


def audience_of(opening: str) -> str:
    """Who the speech talks to, from its salutation: students (同学们) or cadres."""
    return "students" if re.search(r"同学们|青年学子|新同学", opening[:60]) else "cadres"


def _fill(form: str, phrase: str, audience: str = "cadres", clause: bool = False) -> str:
    if clause:
        # A requirement clause is quoted whole; its own quoted terms take the inner marks (‘清四乱’).
        form, inner = form, phrase.replace("“", "‘").replace("”", "’")
    elif "“" in phrase:
        # A phrase with its own quotation marks (“钉钉子”精神) is printed as it is, not quoted again.
        form, inner = form.replace("“{p}”", "{p}"), phrase
    else:
        inner = phrase
    if audience == "students":
        for old, new in FOR_STUDENTS:
            form = form.replace(old, new)
    return form.format(p=inner)


def _overlap(phrase: str, titles: str) -> float:
    """How much of the phrase the part's and sub-point's titles share (0–1)."""
    chars = [c for c in phrase if "\u4e00" <= c <= "\u9fff"]
    return sum(c in titles for c in chars) / len(chars) if chars and titles else 0.0


# The subject before 要 (各级党组织要, 我们要) and the adverbs after it are not part of the requirement.
_REQUIRE_LEAD = re.compile(r"^(?:[^，。；：！？“”]{0,12}?(?:要|必须|务必))?")
_REQUIRE_ADVERBS = re.compile(
    r"^(?:坚决|切实|进一步|深入|大力|更加|着力|不断|持续|全面|认真|扎实|始终|自觉|积极|努力|加快|真正|"
    r"严格|全力|主动|牢牢|一以贯之地|毫不动摇地|更加自觉地)+"
)
_REQUIRE_VERBS = (
    "坚持 树立 落实 推动 推进 建立 健全 完善 深化 强化 加强 提升 提高 做到 抓好 用好 防止 破解 实施 开展 "
    "发扬 弘扬 践行 扛起 压实 守牢 筑牢 把好 把握 锻造 培育 营造 构建 打造 创建 推行 整治 纠治 克服 解决 "
    "增强 涵养 保持 领悟 树牢 擦亮 织密 守住 严守 用活 盘活 聚焦 紧盯 突出 打好"
).split()
_PROBLEM_VERBS = ("防止", "破解", "整治", "纠治", "克服", "解决")


def _requirement(sentence: str, is_word=lambda w: False) -> tuple[str, str] | None:
    """(kind, clause) of a sentence's requirement: its first clause after 要/必须, without the subject and the
    adverbs, when it is a verb and its object of 6–24 characters (坚持“控源、截污、治河、补水”一体推进)."""
    head = re.split(r"[，。；：！？]", sentence)[0]
    lead = _REQUIRE_LEAD.match(head)
    clause = head[lead.end() :] if lead and lead.group(0) else head
    clause = _REQUIRE_ADVERBS.sub("", clause)
    start = len(head) - len(clause)
    if start and is_word(head[start - 1] + clause[0]):
        return None  # 要用 + 好…: the clause would begin inside a word
    verb = next((v for v in _REQUIRE_VERBS if clause.startswith(v)), None)
    if verb is None or not 6 <= len(clause) <= 24 or clause.count("“") != clause.count("”"):
        return None
    if re.search(r"(既要|既|一方面|是[^，。]{2,}的)", clause):
        return None  # half of 既要…更要, or a statement (推动绿色低碳发展是…的治本之策), not one requirement
    obj = clause[len(verb) :]
    if re.fullmatch(r"“[^“”]+”[\u4e00-\u9fff]{0,2}", obj):
        # 坚持“一乡一业、一村一品”, 坚持“农业+”理念: the quoted term (with its head) is the phrase, not the verb.
        clause = obj
    if verb == "落实" and len(obj) >= 4:
        clause = obj  # 落实“党政同责、一岗双责”, not 落实“落实…”
    if verb in _PROBLEM_VERBS:
        kind = "problem"
    elif verb in {"发扬", "弘扬", "践行"} or obj.endswith(("精神", "作风")):
        kind = "spirit"
    elif re.search(r"(机制|制度|工程|行动|体系|平台|格局|链条|活动|试点|清单)$", obj) or verb in {
        "建立",
        "健全",
        "完善",
        "实施",
        "开展",
        "推行",
        "打造",
        "创建",
        "构建",
    }:
        kind = "programme"
    elif re.search(r"(观|理念|原则|结合|并重|统一|相结合|思想|意识)$", obj) or verb in {
        "树立",
        "树牢",
        "领悟",
    }:
        kind = "principle"
    elif re.search(r"(标准|要求)$", obj) or (verb == "做到" and "、" in obj):
        # A standard to measure oneself by is named without its verb (对照“讲政治、守纪律…”).
        return "standard", obj if verb == "做到" else clause
    else:
        kind = "requirement"
    return kind, clause


def _main_sentence(chunk: Chunk) -> str:
    """The passage's main requirement: its first sentence that says what must be done."""
    for sentence in chunk.sentences:
        if sentence.role == "body" and re.search(
            r"(要|必须|坚持|着力|务必|确保|推动|不断|始终)", sentence.text
        ):
            return sentence.text
    body = [s for s in chunk.sentences if s.role == "body"]
    return body[0].text if body else chunk.text


def _fallback(chunk: Chunk) -> str:
    title = chunk.sub.title if chunk.sub else chunk.section.title
    if chunk.section.kind == "numbered" and title:
        return title
    return chunk.section.title  # 开篇, 结语: the prompt then asks about the passage as a whole
