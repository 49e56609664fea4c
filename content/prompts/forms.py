"""The forms of prompt for each kind of phrase (EDITOR.md), and their wording for students."""

from __future__ import annotations

import re

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
        "“{p}”要落地见效，关键在哪里？你能做些什么？",
    ),
    "principle": (
        "怎样理解“{p}”？它对你的工作提出了什么要求？",
        "讲话为什么强调“{p}”？结合实际谈谈你的认识。",
        "你是怎样理解“{p}”的？对你的工作有什么启发？",
        "为什么说“{p}”？结合实际谈谈你的理解。",
        "读了这段讲话，你对“{p}”有什么新的认识？",
        "“{p}”对做好你的本职工作有什么启示？",
    ),
    "problem": (
        "“{p}”的根源在哪里？你所在单位可以怎样破解？",
        "你的工作中有没有“{p}”这类问题？应当怎样防止？",
        "“{p}”的危害在哪里？你打算怎样防止和克服？",
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
    # A 提法 said of something, with its own quotes (粮食安全是“国之大者”): why the claim holds.
    "claim": (
        "为什么说{p}？结合实际谈谈你的认识。",
        "你是怎样理解{p}的？它对你的工作提出了什么要求？",
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
    # (Never 落实“坚持…” or 做到“打好…”: the requirement begins with its own verb.)
    "requirement": (
        "围绕“{p}”，你所在单位下一步最该做的一件事是什么？",
        "结合本职工作，“{p}”你打算怎样落到实处？",
        "就“{p}”这一要求，你所在单位还有哪些短板要补？",
        "把“{p}”落到实处，难点在哪里？你打算从哪里入手？",
    ),
    # A label that counts its parts (“三个不够”, “四链”): what it holds, and which of them matters here.
    "counted": (
        "讲话提出“{p}”，其中哪一个方面同你的工作关系最紧？为什么？",
        "“{p}”的几个方面中，结合本职工作，你最该在哪一方面下功夫？",
    ),
    "counted_problem": (
        "讲话指出的“{p}”，你所在单位最突出的是哪一个？怎样补上？",
        "对照“{p}”，你所在单位有没有类似情况？根源在哪里？",
    ),
    # A change named by its two ends (从“有名”向“有实”): the phrase carries its own quotes.
    "change": (
        "推动{p}转变，你所在单位下一步最该做的一件事是什么？",
        "实现{p}的转变，你自己可以从哪里着手？",
    ),
    # A paragraph's points (一是…二是…): asked together, which of them one's own unit most needs.
    "points": (
        "讲话围绕“{p}”列出的几点中，你所在单位最需要下功夫的是哪一点？为什么？",
        "讲话就“{p}”提出的几点中，你所在单位哪一点做得最好，哪一点还要补课？",
    ),
    "points_all": (
        "讲话提出的“{p}”这几点中，你所在单位最需要下功夫的是哪一点？为什么？",
        "讲话提出“{p}”这几项举措，你所在单位最该先抓哪一项？为什么？",
    ),
    "points_some": (
        "讲话提出的“{p}”等几点中，你所在单位最需要下功夫的是哪一点？为什么？",
        "对照讲话提出的“{p}”等几点，你所在单位哪一点做得最好，哪一点还要补课？",
    ),
    "faults_some": (
        "讲话指出的“{p}”等问题中，你所在单位哪一点最突出？根源在哪里，怎样解决？",
        "对照讲话指出的“{p}”等问题，你所在单位有没有类似情况？怎样整改？",
    ),
    # (the points too long to print: counted, none standing for the others)
    "points_count": (
        "这段讲话接连提出的几点举措中，你所在单位最需要下功夫的是哪一点？为什么？",
        "对照这段讲话接连提出的几点举措，你所在单位哪一点做得最好，哪一点还要补课？",
        "这段讲话提出的几点举措，你所在单位落实得怎么样？最该补上的是哪一点？",
    ),
    "faults": (
        "讲话指出的“{p}”，你所在单位哪一点最突出？根源在哪里，怎样解决？",
        "对照讲话指出的“{p}”，你所在单位有没有类似情况？怎样整改？",
    ),
    "faults_count": (
        "这段讲话接连指出的几方面问题，你所在单位哪一点最突出？根源在哪里，怎样解决？",
        "对照这段讲话指出的几方面问题，你所在单位有没有类似情况？怎样整改？",
        "这段讲话指出的问题中，哪一个在你身边最常见？应当怎样解决？",
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
    "claim": "理解认识",
    "people": "群众视角",
    "action": "行动落实",
    "change": "行动落实",
    "requirement": "举措落实",
    "counted": "理解认识",
    "counted_problem": "原因办法",
    "enumeration": "列举体会",
    "great_spirit": "榜样践行",
    "points": "举措落实",
    "points_all": "对照检视",
    "points_count": "举措落实",
    "points_some": "举措落实",
    "faults_some": "原因办法",
    "faults": "原因办法",
    "faults_count": "原因办法",
}


# A talk to students asks about their studies, not their work unit.
FOR_STUDENTS = (
    ("你认为这次会议要解决的最紧迫的问题是什么", "你对接下来的学习生活有哪些期待和打算"),
    ("你所在单位哪一点最突出", "你自己身上哪一点最突出"),
    ("你的工作中有没有", "你自己有没有"),
    ("做好你的本职工作", "你的学习"),
    ("你所在单位有没有类似情况", "你自己有没有类似情况"),
    ("你所在单位最需要下功夫的", "你自己最需要下功夫的"),
    ("你所在单位下一步最该做的一件事", "你自己下一步最该做的一件事"),
    ("你所在单位哪一点做得最好", "你自己哪一点做得最好"),
    ("结合本职工作", "结合自己的学习"),
    ("你所在支部（单位）", "你自己"),
    ("你所在单位", "你自己"),
    ("在你的岗位上", "在你的学习生活中"),
    ("在自己的岗位上", "在自己的学习生活中"),
    ("在工作中", "在学习生活中"),
    ("你的工作", "你的学习"),
    ("结合实际", "结合自己的经历"),
)


# Most tasks of a speech to a city's or county's cadres are the government's (标准地出让, 源头治理): asked
# what they mean for one's own post, not what "your unit" will do of them, unless the speech is to the
# Party's organizations or the sentence gives the task to units (see `unit_task`).
FOR_POSTS = (
    # (whole wordings first: a task of an institution is asked for what it means to one's post, or how to
    # read it, not what one will do of it oneself)
    ("围绕“{p}”，你所在单位下一步最该做的一件事是什么", "讲话要求“{p}”，这对你的岗位意味着什么"),
    ("就“{p}”这一要求，你所在单位还有哪些短板要补", "怎样理解“{p}”这一要求？它同你的工作有什么关系"),
    ("把“{p}”落到实处，难点在哪里？你打算从哪里入手", "把“{p}”落到实处，难点在哪里？关键要抓住什么"),
    ("围绕“{p}”，你所在支部（单位）可以做哪一件实事", "“{p}”对你的岗位意味着什么？你能做些什么"),
    ("列出的几点中，你所在单位最需要下功夫的是哪一点", "列出的几点中，你认为哪一点最关键"),
    ("提出的几点中，你所在单位哪一点做得最好，哪一点还要补课", "提出的几点中，哪一点你体会最深"),
    ("你所在支部（单位）可以做哪一件实事", "你在自己的岗位上可以做哪一件实事"),
    ("你所在单位下一步最该抓的是哪一环", "哪一环同你的岗位关系最紧"),
    ("你所在单位下一步最该做的一件事是什么", "你在自己的岗位上最该做的一件事是什么"),
    ("就“{p}”这一要求，你所在单位还有哪些短板要补", "“{p}”这一要求，对你的岗位意味着什么"),
    ("你所在单位最需要下功夫的是哪一点", "同你的岗位关系最紧的是哪一点"),
    ("这几点，你所在单位哪一点做得最好", "这几点，你在自己的岗位上哪一点做得最好"),
    ("你所在单位最该先抓哪一项", "哪一项同你的岗位关系最紧"),
    ("你所在单位哪一点做得最好", "你在自己的岗位上哪一点做得最好"),
    ("你所在单位落实得怎么样", "在你的岗位上落实得怎么样"),
    ("你所在单位最需要加强的是哪一个", "同你的岗位关系最紧的是哪一个"),
    ("你所在单位可以怎样破解", "在你的岗位上可以怎样破解"),
    ("你所在单位哪一点最突出", "在你的工作中哪一点最突出"),
    ("你所在单位最突出的是哪一个", "在你的工作中最突出的是哪一个"),
    ("你所在单位有没有类似情况", "你的工作中有没有类似情况"),
    ("落到你所在单位，", "落到你的岗位上，"),
    ("你所在单位下一步最该落实的是哪一条", "你在自己的岗位上最该落实的是哪一条"),
    ("你所在单位各有哪些做法", "你在自己的岗位上各有哪些做法"),
)

# Who a sentence gives its task to, where it is units (各部门要…, 基层党组织要…): "your unit" is then asked.
UNIT_SUBJECT = re.compile(
    r"(各级党组织|基层党组织|党支部|各支部|各单位|各部门|各地|各乡镇|各县|各街道|各社区|各学院|各级各部门|"
    r"机关各部门|市直各部门|各级各单位|各党委|党组织)"
)


def unit_task(sentence: str, phrase: str) -> bool:
    """Whether the sentence that says the phrase gives it to units (各部门要加强…): asked of "your unit"."""
    at = sentence.replace("“", "").replace("”", "").find(phrase.replace("“", "").replace("”", ""))
    return bool(UNIT_SUBJECT.search(sentence[: at if at >= 0 else len(sentence)]))


def party_building(text: str) -> bool:
    """Whether a speech is to the Party's organizations (支部, 党组织, 党员 said throughout): its tasks are
    theirs, and "your branch (unit)" is asked."""
    said = len(re.findall(r"支部|党组织|党委|党员", text))
    return said * 1000 >= 4 * max(1, len(text))


def audience_of(opening: str) -> str:
    """Who the speech talks to, from its salutation: students (同学们) or cadres."""
    return "students" if re.search(r"同学们|青年学子|新同学", opening[:60]) else "cadres"


def for_audience(text: str, audience: str) -> str:
    """A prompt's wording for its audience: a student is asked about his studies, not his work unit; a
    cadre (audience "posts") about his own post, not his unit."""
    table = {"students": FOR_STUDENTS, "posts": FOR_POSTS}.get(audience, ())
    for old, new in table:
        text = text.replace(old, new)
    return text


def fill_form(form: str, phrase: str, audience: str = "cadres", clause: bool = False) -> str:
    form = for_audience(form, audience)
    if re.search(r"(走向|转向|转入|转为|变成|变为|迈向)“", phrase):
        form = form.replace("的转变，", "，").replace("转变，", "，")  # 推动从“宽松软”走向“严紧硬”
    if re.search(r"(现象|问题|倾向|环节)$", phrase):
        form = form.replace("{p}”的表现", "{p}”").replace("{p}”这类问题", "{p}”")  # not …现象的表现
    if "、" in phrase and "有“{p}”？" in form:
        form = form.replace("有“{p}”？", "有“{p}”的劲头？")  # 谁身上有“顶烈日、冒风雨、苦干实干”的劲头
    if clause and "“{p}”" in form:
        # A requirement clause is quoted whole; its own quoted terms take the inner marks (‘清四乱’).
        form, inner = form, phrase.replace("“", "‘").replace("”", "’")
    elif "“" in phrase:
        # A phrase with its own quotation marks (“钉钉子”精神) is printed as it is, not quoted again.
        form, inner = form.replace("“{p}”", "{p}"), phrase
    else:
        inner = phrase
    return form.format(p=inner)
