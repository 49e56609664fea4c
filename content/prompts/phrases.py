"""Where a passage's phrase comes from: its main requirement, images with what they stand for, pairs, the
cues in the sentence around a quoted term (a fault it criticises, a measure it puts in place), a paragraph's
points by what they are of, the shapes a phrase is said in (steps alike, faults told by images, two sayings,
a meeting's aim), and what is not a unit of the passage's own.
"""

from __future__ import annotations

import re
from collections import Counter

from content.lessons import Chunk

ADVERBS = frozenset(
    "认真 积极 深入 切实 大力 全面 不断 努力 主动 持续 扎实 进一步 坚决 严格 加快 明确 已经 充分 始终".split()
)


# “三农”是应对风险挑战的“压舱石”, 乡镇党委书记要当好“一线总指挥”: what an image is said of, and the image.
SAID = re.compile(
    r"((?:“[^“”]{1,8}”|[\u4e00-\u9fff]{2,8})(?:是|就是|要当好|要争当|要成为|成为)[^，。；！？“”]{0,12})“([^“”]{1,6})”"
)


def image_phrase(term: str, text: str, known_noun: bool = True) -> str:
    """A short quoted image named with what it stands for: 把稳用权的“方向盘”, “三农”是应对风险挑战的“压舱石”,
    当好“领头雁”; "" when the clause before it does not say."""
    at = text.find(f"“{term}”")
    if at < 0:
        return ""
    # What it is said of, when the sentence names it: “三农”是应对风险挑战的“压舱石”, 乡镇党委书记要当好“一线总指挥”.
    if re.search(r"[之者于而其乎]", term):
        return ""  # a classical saying (国之大者) is a 提法, not an image
    said = next((m for m in SAID.finditer(text) if m.group(2) == term), None)
    if said and len(said.group(1)) <= 20 and not re.search(r"(不能|不要|不是|防止|避免)", said.group(1)):
        return f"{said.group(1)}“{term}”"
    clause = re.split(r"[，。；：！？、”]", text[:at])[-1]
    if re.search(r"(不能|不要|不是|防止|避免|当成|当作|而非|决不|绝不)", clause):
        return ""  # said of what not to be: no image to live up to
    role = re.search(r"(当好|争当|争做|甘当)$", clause)
    if role:
        return f"{role.group(1)}“{term}”"  # 当好“店小二”: a role to live up to, whatever the dictionary knows
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


# 从“A”走向“B”, 由“A”转入“B”: a change named by its two ends.
JOINED = re.compile(r"“([^“”]{1,10})”[、和与及同]?“([^“”]{1,10})”")


PAIR = re.compile(
    r"(?:[从由]“[^“”]{1,10}”(?:转向|转入|转为|变成|变为|走向|迈向|转变为|到|向)|以“[^“”]{1,10}”(?:代替|代))“[^“”]{1,10}”"
)


# Words before a term that say it is a problem to fight.
# A sentence that criticises: some people or places do something, or it names a shortfall.
CRITICISM = re.compile(
    r"(有的|一些|少数|个别|仍然存在|依然存在|还存在|存在着|不同程度|习惯于|热衷于|满足于|甚至)"
)


CRITICISM_AFTER = re.compile(
    r"^(?:的)?(?:问题|现象|倾向|局面尚未|局面仍|状况|情况依然|仍然|依然|还不同程度|的平台|的单位|的企业)"
)


# A verb that puts a measure in place, right before the quoted term: 推行“一案双查”, 建立“一本账”.
MEASURE_VERB = re.compile(
    r"(推行|实行|实施|开展|建立|健全|打造|创建|推进|深化|落实|推广|探索|启动|用好|完善)$"
)


PROBLEM_CUE = re.compile(
    r"(防止|整治|反对|克服|杜绝|遏制|纠治|破除|警惕|避免|纠正|根治|满足于|不搞|不能|不要|决不|绝不|不再|"
    r"严禁|摒弃|告别|消除|打破|破解|防范|力戒|不做)"
)


# Heads that say nothing without the words before them (…的根本标准, 创新发展的中坚力量), and verbs of saying.
VAGUE_END = re.compile(
    r"(方向|工作|时期|阶段|汇报|倾斜|情况|方面|行动|过程|部署|任务|会议|在于|力量|标准|保证|支撑|提出|指出|强调)$"
)


KINDS_OF_PEOPLE = re.compile(r"(干部|党员|群众|书记|一把手|同志|人员|代表|同学|老师)$")


def title_overlap(phrase: str, titles: str) -> float:
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
    "增强 涵养 保持 领悟 树牢 擦亮 织密 守住 严守 用活 盘活 聚焦 紧盯 突出 打好 打破 破除 打通 畅通 优化 加大 "
    "激发 拓展 规范 倡导 探索 夯实 统筹 巩固 壮大 培养 算好 答好 走好 下好 守好 管好 履行 担负 扛牢 "
    "拓宽 抓实 做实 做强 做优 补齐 补强 严把"
).split()


_PROBLEM_VERBS = ("防止", "破解", "整治", "纠治", "克服", "解决")


_MEASURE_LEADS = frozenset("推行 实行 实施 开展 建立 推广 探索 启动".split())


def requirement_of(sentence: str, is_word=lambda w: False) -> tuple[str, str] | None:
    """(kind, clause) of a sentence's requirement: its first clause after 要/必须, without the subject and the
    adverbs, when it is a verb and its object of 6–24 characters (坚持“控源、截污、治河、补水”一体推进)."""
    clauses = re.split(r"[，。；：！？]", sentence)
    head = clauses[0]
    if (
        len(clauses) > 1
        and not re.search(r"要|必须|务必", head)
        and (
            re.match(r"(?:在|对|从|围绕|面对|针对)", head)
            or (len(head) <= 8 and re.match(r"(?:也|还|更|都|就)?(?:要|必须)", clauses[1]))
        )
    ):
        head = clauses[
            1
        ]  # 在市域范围内，也要打破…; 衡量学业，还要算好“时间账”: the scope, then the requirement
        head = re.sub(r"^(?:也|还|更|都|就)(?=要|必须)", "", head)
    lead = _REQUIRE_LEAD.match(head)
    clause = head[lead.end() :] if lead and lead.group(0) else head
    clause = _REQUIRE_ADVERBS.sub("", clause)
    start = len(head) - len(clause)
    modal = head[:start] == "要" and any(clause.startswith(v) for v in _REQUIRE_VERBS)
    if start and is_word(head[start - 1] + clause[0]) and not modal:
        return None  # 主要 + 求…: the clause would begin inside a word (要 + 强化 is the modal and a verb)
    verb = next((v for v in _REQUIRE_VERBS if clause.startswith(v)), None)
    taken = re.fullmatch(r"把([\u4e00-\u9fff“”]{2,14})(?:作为|摆在|放在)([\u4e00-\u9fff“”]{2,12})", clause)
    if verb is None and taken and len(clause) <= 24:
        # 要把学习宣传贯彻党的创新理论作为文明实践的首要任务: what is to be put first, in its own words
        return "requirement", clause
    if (
        verb is None
        and sentence.startswith("要")
        and len(clauses) == 2
        and not clauses[1]
        and 6 <= len(clause)
    ):
        # A lead sentence of its own (要向科技要产量、要效益。): a requirement whatever its verb.
        return "requirement", clause
    if verb is None or not 5 <= len(clause) <= 24 or clause.count("“") != clause.count("”"):
        return None
    if re.search(r"(既要|既|一方面|是[^，。]{2,}的|没有[^，。]{1,4}、只有)", clause):
        return None  # half of 既要…更要, or a statement (推动绿色低碳发展是…的治本之策), not one requirement
    obj = clause[len(verb) :]
    if verb == "做到" and len(obj) >= 4:
        clause = obj  # 做到守法诚信经营: the prompt says 做到 itself
    if verb in _MEASURE_LEADS and re.fullmatch(r"[\u4e00-\u9fff]{2,8}“[^“”、]+”[\u4e00-\u9fff]{0,2}", obj):
        return (
            "programme",
            obj,
        )  # 推行科研项目经费“包干制” → 科研项目经费“包干制”: the measure, not 推进“推行…”
    if re.fullmatch(r"“[^“”]+”[\u4e00-\u9fff]{0,2}", obj) and not verb.endswith("好"):
        # (算好“时间账”, 扣好“第一粒扣子”: the verb makes the image a task; kept with it)
        # 坚持“一乡一业、一村一品”, 坚持“农业+”理念: the quoted term (with its head) is the phrase, not the verb.
        clause = obj
    if verb == "落实" and len(obj) >= 4:
        clause = obj  # 落实“党政同责、一岗双责”, not 落实“落实…”
        if clause.endswith("的要求") and len(clause) >= 7:
            clause = clause[:-3]  # 落实五级书记抓乡村振兴的要求: the requirement is 五级书记抓乡村振兴
    if clause.startswith("“") and "、" in clause:
        from content.prompts.kinds import kind_of

        if kind_of(clause) == "standard":
            return "standard", clause  # 落实“党政同责、一岗双责…”: duties to check oneself against
    if verb in _PROBLEM_VERBS:
        kind = "problem"
    elif verb in {"发扬", "弘扬", "践行"} or obj.endswith(("精神", "作风")):
        kind = "spirit"
        if obj.endswith(("精神", "作风")) and len(obj) >= 4:
            return kind, obj  # 发扬钉钉子精神 → 钉钉子精神: a spirit is seen in people, not "发扬" in them
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
        # 完善基层监督体系 is a requirement in its own words (its verb leads it: never 落实“完善…”); a measure
        # named without its verb (“一案双查”, 科研项目经费“包干制”) is a programme.
        kind = "programme" if not clause.startswith(verb) else "requirement"
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


def main_sentence(chunk: Chunk) -> str:
    """The passage's main requirement: its first sentence that says what must be done, or the short lead
    sentence it opens with (深入打好净土保卫战。 before 要强化土壤污染源头防控，…): that heads the rest."""
    first = next((s for s in chunk.sentences if s.role == "body"), None)
    if first is not None and len(first.text) <= 20 and not re.search(r"[，；：]", first.text):
        if requirement_of(first.text):
            return first.text
    for sentence in chunk.sentences:
        if sentence.role == "body" and re.search(
            r"(要|必须|坚持|着力|务必|确保|推动|不断|始终|^保持|^弘扬|^发扬|^牢记)", sentence.text
        ):
            return sentence.text
    body = [s for s in chunk.sentences if s.role == "body"]
    return body[0].text if body else chunk.text


def fallback_phrase(chunk: Chunk) -> str:
    title = chunk.sub.title if chunk.sub else chunk.section.title
    if chunk.section.kind == "numbered" and title:
        return title
    return chunk.section.title  # 开篇, 结语: the prompt then asks about the passage as a whole


# What a thesis says: X是Y, X来自Y, X在于Y, X才能Y, A每前进一步，B就要跟进一步, 谁能X，谁就能Y.
_THESIS = re.compile(r"(是|来自|在于|决定|关系到|才能|就要|离不开|取决于|谁就)")


# What a passage says it has shown (实践证明，…): the thesis follows.
CONCLUSION = re.compile(
    r"^(?:实践证明|事实证明|实践告诉我们|历史告诉我们|历史和现实都告诉我们|历史和实践都告诉我们|经验告诉我们|"
    r"说到底|归根结底|归根到底|由此可见)[，：]"
)


_NOT_THESIS = re.compile(
    r"^(?:要|必须|我们|各级|各地|同志们|这|那|但|而|因此|所以|同时|首先|其次|再次|当前|目前|今年|去年|今天|"
    r"近年来|过去|一是|二是|三是|四是|五是|特别是|比如|例如|其中|对此|总之|最后|各位|亲爱的)"
)


def thesis_of(sentence: str, longest: int = 26) -> str | None:
    """A short sentence that states a thesis (党的力量来自组织; 理论创新每前进一步，理论武装就要跟进一步),
    without its end mark; None for a requirement, a report, a link to what came before, or a long one."""
    body = sentence.rstrip("。！")
    concluded = CONCLUSION.match(body)
    if concluded:
        # 实践证明，只有…才能…; 历史和现实都告诉我们，年轻干部是事业发展的生力军，…: what the passage proves,
        # whole where it is short, else its first clause where that states it.
        rest = re.sub(r"^(?:还是|就是|都是)", "", body[concluded.end() :])
        if re.search(r"不够|不强|不足|不到位|不牢", rest):
            return None  # 归根到底，还是宗旨意识不够牢固: the root of the faults before it, not a thesis
        first = re.split(r"[，；]", rest)[0]
        return thesis_of(rest, 30) or (thesis_of(first) if first != rest else None)
    if re.fullmatch(r"[\u4e00-\u9fff]{2,5}更要[\u4e00-\u9fff]{2,5}", body):
        return body  # 引才更要育才: a thesis by comparison, though it says 要
    if re.fullmatch(r"[\u4e00-\u9fff“”]{2,8}既要[\u4e00-\u9fff]{2,6}，更要[\u4e00-\u9fff]{2,6}", body):
        return body  # 纠治“四风”既要治标，更要治本: the same, in two clauses
    if re.fullmatch(r"[\u4e00-\u9fff]{2,8}就是[\u4e00-\u9fff]{2,5}、[\u4e00-\u9fff]{2,5}", body):
        return body  # 营商环境就是生产力、竞争力: a thesis of two predicates
    if re.fullmatch(
        r"[\u4e00-\u9fff]{1,3}是[\u4e00-\u9fff]{1,3}，[\u4e00-\u9fff]{1,3}是[\u4e00-\u9fff]{1,3}", body
    ):
        return body  # 严是爱，松是害: a saying of two halves
    seems = re.match(
        r"((?:这些问题|这种现象|这些现象|这)?看似是[\u4e00-\u9fff、]{2,12}，实质上?是[\u4e00-\u9fff、]{2,14})",
        body,
    )
    if seems:
        return seems.group(1)  # 这些问题看似是工作方法问题，实质上是政绩观问题、作风问题: what it really is
    clauses = [c for c in re.split(r"[，；]", body) if c]
    if len(clauses) == 3 and len(clauses[0]) <= 5 and len(body) <= 22:
        # 水的问题，表象在水里，根子在岸上: a topic, then a saying of two halves built alike
        x, y = clauses[1], clauses[2]
        if len(x) == len(y) and any(ch in x and ch in y for ch in "在是靠"):
            return body
    if len(clauses) == 2 and re.match(r"(?:需要|要|必须)", clauses[1]) and "是" in clauses[0]:
        # 优化营商环境是一场只有起点没有终点的接力赛，需要我们一棒接着一棒跑下去: the claim, then what it asks
        return thesis_of(clauses[0], 25)
    # (a quoted image in a short one is said of its subject: 科技创新离不开“金融活水”的浇灌)
    quoted = re.fullmatch(r"[^“”]{2,10}“[^“”]{2,6}”[^“”]{0,8}", body) and len(clauses) == 1
    marks = r"[0-9０-９%、：？]" if quoted else r"[0-9０-９%、：？“”]"
    if not 8 <= len(body) <= longest or len(clauses) > 2 or re.search(marks, body):
        return None
    if _NOT_THESIS.match(body) or re.search(r"(要|必须|应当|务必)(?!跟进)", body.replace("就要", "")):
        return None
    if not _THESIS.search(body) or re.search(r"(你们|大家|我们|咱们)", body):
        return None  # said to the audience (各位企业家，你们是…), not a thesis
    return body


def criticised_here(before: str, after: str) -> bool:
    """Whether the words around a list criticise it: 有的…/防止… before it in its clause, …的思想/现象/问题 after."""
    clause = re.split(r"[，；。！？]", before)[-1]
    sentence = re.split(r"[。！？]", before)[-1]
    point = re.split(r"[；：。！？]", before)[-1]  # 二是有的部门监管履职不到位，对…“你推我、我推你”
    return bool(
        PROBLEM_CUE.search(clause)
        or re.match(r"(?:有的|一些|少数|个别|部分)", sentence)
        or re.match(r"(?:[一二三四五六七八九]是)?(?:有的|一些|少数|个别)", point)
        or re.match(r"”?(?:的)?(?:思想|现象|问题|倾向|情况)", after)
    )


def points_phrase(lead: str, points: tuple[str, ...], kind: str) -> tuple[str, str] | None:
    """(phrase, kind of prompt) of a list of points: the requirement its lead sentence makes (要强化保障 →
    强化保障), or the points themselves where they are short (抓好工业源治理、移动源治理、面源治理; 目标断档、方法
    不适应、自律不足), or their first three (抓好老旧小区改造、养老服务、“一老一小”等) or two, by the names or things
    they put in place (“党建+项目”、“党建+服务”…; 谈心谈话制度…), or, where even those are
    long, none named (这段讲话接连提出的几点举措中…). None for a year's results or the angles a thing is seen
    from (从…看)."""
    if kind == "result" or all(p.startswith("从") and p.endswith("看") for p in points):
        return None

    def joined(some: tuple[str, ...]) -> str:
        verb = some[0][:2]
        if kind != "fault" and all(p.startswith(verb) for p in some):
            return verb + "、".join(p[2:] for p in some)  # 抓好工业源治理、移动源治理
        if all("、" in p for p in some) and not any("“" in p for p in some):
            return "".join(f"“{p}”" for p in some)  # “读原著、学原理”“重实践、强本领”: points, not six items
        return "、".join(some)

    if kind != "fault":
        head = re.split(r"[，；：]", lead)[0]
        scope = re.fullmatch(r"在([\u4e00-\u9fff]{2,10})(?:上|方面)", head)
        if scope:
            return scope.group(1), "points"  # 在科技赋能上，一是…: the points are of 科技赋能
        # (the subject before 要 may be long: 危险化学品和工贸领域要突出源头管控)
        head = re.sub(r"^.{0,12}?(?:要|必须|务必)", "", head) if re.search(r"要|必须|务必", head[:14]) else ""
        # Not a method (以…为主线) or an announcement (重点抓好三个方面): the points say it then.
        # (nor a formula every speech says: 深刻领悟“两个确立”的决定性意义 leads any list)
        if 4 <= len(head) <= 16 and not re.search(
            r"^以|[0-9０-９]|方面|几点|三点|四点|意见|建议|如下|两个确立|两个维护|四个意识|四个自信", head
        ):
            return head, "points"
    every = joined(points)
    if len(every) <= 30:
        return every, "faults" if kind == "fault" else "points_all"
    some = joined(points[:3])
    if len(points) > 3 and len(some) <= 30:
        return some, "faults_some" if kind == "fault" else "points_some"
    # Long points that each name a measure in their own clause (一是推行“党建+项目”模式…；二是推行“党建+服务”
    # 模式…): by those names.
    names = [m.group(0) for m in (re.search(r"“[^“”]{2,10}”", x) for x in points) if m]
    if kind != "fault" and len(names) == len(points) and len(set(names)) == len(names):
        named = "、".join(names)
        if len(named) <= 36:
            return named, "points_all"
    # Points that are measures named after their verb (落实谈心谈话制度、严格执行…报告制度、建立…成长档案): by
    # what each puts in place.
    things = [LEADING_VERB.sub("", x) for x in points]
    if kind != "fault" and all(t != x and len(t) >= 4 for t, x in zip(things, points, strict=True)):
        named = "、".join(things)
        if len(named) <= 30 and "、" not in "".join(things):
            return named, "points_all"
    two = joined(points[:2])
    if len(points) > 2 and len(two) <= 24:
        return (
            two,
            "faults_some" if kind == "fault" else "points_some",
        )  # (the first two, where three are long)
    return points[0], "faults_count" if kind == "fault" else "points_count"


# The verb a measure opens with (落实, 严格执行, 建立): what it puts in place comes after.
LEADING_VERB = re.compile(
    r"^(?:严格执行|深入开展|加快推进|扎实推进|全面推行|持续开展|落实|建立|健全|完善|推行|实施|开展|执行|推广|用好)"
)


# A sentence that says what its subject is twice, the image in the second clause: 巡察是党内监督的重要形式，
# 是对党组织和党员领导干部的“政治体检”.
SAID_AGAIN = re.compile(
    r"(?:^|[。！？])([\u4e00-\u9fff]{2,6})是[^，。；“”]{2,20}，(?:也|更)?是[^，。；“”]{0,18}“([^“”]{2,6})”$"
)


# 把…的“A”转化为…的“B”: an image turned into another.
TURN = re.compile(
    r"(?:把|让)[\u4e00-\u9fff]{0,8}“([^“”]{2,6})”(?:转化为|变为|转变为|变成)[\u4e00-\u9fff]{0,10}“([^“”]{2,6})”"
)


# A label that counts its parts: 三个不够, 四链, 五位一体 (asked for what it holds).
COUNTED_LABEL = re.compile(r"[两三四五六七八九十](?:个[\u4e00-\u9fff]{1,4}|[\u4e00-\u9fff]|位一体)")


# 把…“X”…作为…“image”: what is taken as the image is itself quoted (把老百姓的“急、难、愁、盼”“安、危、冷、暖”作为
# 确定民生工程的“方向标”); the first quote stands for it.
TAKEN_AS_QUOTED = re.compile(
    r"把[\u4e00-\u9fff]{0,6}的?(“[^“”]{2,10}”)(?:“[^“”]{2,10}”)?作为([\u4e00-\u9fff]{0,10}的)“([^“”]{2,4})”"
)


# 既要A，更要B: what counts more, in the speech's words, with what it is of where that comes right before
# (纠治“四风”既要治标，更要治本).
MORE_THAN = re.compile(
    r"(?:[\u4e00-\u9fff“”]{2,8}(?=既要))?既要[^，。；“”]{2,10}，(?:更|还|也)要[^，。；“”]{2,16}(?=[，。；])"
)


# 以X推动Y, 以X引领Y: a principle of method, in the speech's words.
BY_MEANS = re.compile(
    r"(?<![\u4e00-\u9fff])以[\u4e00-\u9fff“”]{3,9}(?:推动|引领|促进|带动|赢得)[\u4e00-\u9fff“”]{3,8}(?=[，。；])"
)


# What a meeting is for, as its opening says it: 目的就是把压力传导到基层、把责任落实到末梢; 动员…凝聚共识、压实责任.
MEETING_PURPOSE = re.compile(
    r"(?:目的(?:就)?是|动员[^，。；]{0,8}?(?:进一步)?)((?:[\u4e00-\u9fff]{2,12}、){1,3}[\u4e00-\u9fff]{2,12})[，。；]"
)


# …or the one thing it rallies its audience to (动员…以更高标准推进模范机关建设).
MEETING_AIM = re.compile(
    r"动员[^，。；]{2,24}?((?:以[\u4e00-\u9fff]{2,8})?(?:推进|推动|加快|奋力|全力|扎实)[\u4e00-\u9fff]{2,16})[，。；]"
)


# …or, among the tasks it lists, the one that is not its procedure (主要任务是…，大力弘扬教育家精神，总结…).
MEETING_TASK = re.compile(
    r"主要任务是[^。]*?[，、]((?:大力|进一步)?(?:弘扬|凝聚|激发|推动)[\u4e00-\u9fff]{2,14})[，。；]"
)


# How a fault is a habit (一些干部长期在机关“坐办公室”): said with it, the fault has its referent.
HABIT = re.compile(r"(?:长期|总是|一味|只会|只顾)[\u4e00-\u9fff]{0,4}$")


# Two sayings with what each is: “功成不必在我”的胸怀和“功成必定有我”的担当.
BOTH_SAYINGS = re.compile(r"“[^“”]{2,8}”的[\u4e00-\u9fff]{1,3}和“[^“”]{2,8}”的[\u4e00-\u9fff]{1,3}")


# Faults each told by an image of what it is said of: 防止学习“一阵风”、调研“走过场”、转化“打折扣”.
TOLD_FAULTS = re.compile(
    r"(?:防止|避免|杜绝|克服|反对|整治|纠治)"
    r"((?:[\u4e00-\u9fff]{1,4}“[^“”]{2,6}”、){2,4}[\u4e00-\u9fff]{1,4}“[^“”]{2,6}”)"
)


# …or two or more said to be what is wrong (招商引资“会谈不会签”、项目推进“会跑不会盯”的现象依然存在).
FAULTS_CRITICISED = re.compile(
    r"((?:[\u4e00-\u9fff]{1,4}“[^“”]{2,6}”、){1,3}[\u4e00-\u9fff]{1,4}“[^“”]{2,6}”)(?=(?:的|等)(?:现象|问题|倾向))"
)


# Two sayings of one fault, side by side after a prohibition (绝不能“会上热、会后冷”“说起来重要、做起来次要”).
PROHIBITED_PAIR = re.compile(r"(?:绝不能|决不能|不能|防止|避免|杜绝)(“[^“”]{2,12}”“[^“”]{2,12}”)")


# What counts and what does not (改革的成效最终要体现在企业的感受上，而不是体现在我们的文件和报表上; 专项整治不是
# 简单地查一查、罚一罚，而是要找准风险根源、完善制度体系).
CONTRAST = re.compile(
    r"([\u4e00-\u9fff“”、]{6,22})，而不是([\u4e00-\u9fff“”、]{3,16})(?=[。；，])"
    r"|[\u4e00-\u9fff]{2,8}不是[\u4e00-\u9fff“”、]{2,14}，而是[\u4e00-\u9fff“”、]{2,18}(?=[。；，])"
)


# Two pairs held in balance (把严管和厚爱结合起来、激励和约束并重): the principle a passage of measures comes to.
BALANCE = re.compile(
    r"[\u4e00-\u9fff]{2,4}和[\u4e00-\u9fff]{2,4}(?:相)?结合(?:起来)?、[\u4e00-\u9fff]{2,4}和[\u4e00-\u9fff]{2,4}并重"
)


# Attitudes each named by a saying (“等不起”的紧迫感、“慢不得”的危机感、“坐不住”的责任感): one list, asked whole.
SAID_ATTITUDES = re.compile(
    r"(?:“[^“”]{2,6}”的[\u4e00-\u9fff]{1,4}、){2,4}“[^“”]{2,6}”的[\u4e00-\u9fff]{1,4}?(?:感|意识|精神|劲头|干劲|韧劲|担当)"
)


# A sentence that opens on a step or programme by its verb: 抓好“用人”环节，… / 实施“头雁”工程，…
PARALLEL_STEP = re.compile(r"^([\u4e00-\u9fff]{2,3}?)“([^“”]{1,6})”(环节|工程|行动|计划)[，。；]")


def not_a_unit(bare: str, excerpt: str) -> bool:
    """Whether a phrase is not a unit of the passage's own: a piece of a name (生态文明 of 习近平生态文明思想),
    what a task is measured by (对照任务清单), or a meeting's format (主会场+分会场)."""
    if f"习近平{bare}" in excerpt or measured_by(bare, excerpt):
        return True
    return bool(re.search(r"[+＋](?=[\u4e00-\u9fff]*会场)", bare) or bare.endswith("会场"))


TAKEN_AS = re.compile(r"把([^，。；！？“”]{2,10})(?:当作|当成|作为|视为)“([^“”]+)”")


def taken_as(term: str, excerpt: str):
    """The match of 把…当作“term” in the excerpt, or None (one pattern for every term)."""
    return next((m for m in TAKEN_AS.finditer(excerpt) if m.group(2) == term), None)


def measured_by(word: str, excerpt: str) -> bool:
    """Whether the excerpt says 对照/按照/依照/根据 right before the word (a plain search: a pattern built per
    word would be compiled anew for each, the dearest part of a build)."""
    return any(verb + word in excerpt for verb in ("对照", "按照", "依照", "根据"))


# The digits of the figures a keyword may end (2024级新生): ASCII and full-width.
DIGITS = frozenset("0123456789０１２３４５６７８９")


def after_digit(word: str, text: str) -> bool:
    """Whether `word` stands right after a digit somewhere in `text` (as re.search of [0-9０-９]word)."""
    return any(start and text[start - 1] in DIGITS for start in occurrences(word, text, overlapping=True))


def occurrences(word: str, text: str, overlapping: bool = False):
    """Where `word` (not empty) starts in `text`, left to right: not overlapping, as re.finditer finds it,
    unless `overlapping`. A plain search, not a regular expression compiled for each word."""
    start = text.find(word)
    step = 1 if overlapping else len(word)
    while start >= 0:
        yield start
        start = text.find(word, start + step)


def parallel_leads(sentences) -> frozenset[str]:
    """A part's sub-point headings that are sentences of their paragraphs: three or more short sentences
    opening a paragraph each, said alike (要在固本培元上下功夫。要在严管厚爱上见实效。…; 深入打好蓝天保卫战。
    深入打好碧水保卫战。…; …领域要突出源头管控。…领域要突出重大风险防控。): a title each, never a phrase."""
    openers = [
        x.text
        for k, x in enumerate(sentences)
        if x.role == "body"
        and (k == 0 or sentences[k - 1].paragraph != x.paragraph)
        and len(x.text) <= 20
        and x.text.endswith("。")
    ]

    def frame(text: str) -> str:
        said = re.search(r"要[\u4e00-\u9fff]", text)
        return said.group(0) if said else text[:4]

    alike = Counter(frame(t) for t in openers)
    return frozenset(t for t in openers if alike[frame(t)] >= 3)


def said_in_example(phrase: str, sentences) -> bool:
    """Whether a phrase is said only in sentences that give an example (比如，…; 例如，…; 像…这样)."""
    bare = phrase.replace("“", "").replace("”", "")
    said = [x.text for x in sentences if bare in x.text.replace("“", "").replace("”", "")]
    return bool(said) and all(re.match(r"(?:比如|例如|譬如|举个例子)", x) for x in said)
