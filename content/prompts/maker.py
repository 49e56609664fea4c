"""Reflection prompts (思考题): a phrase worth thinking about from each lesson, in the form its kind asks for.

The phrase is a quoted 提法, a named programme or mechanism, an enumeration, a sub-point's or part's own
requirement, or the key concept of the passage's main requirement; never a function word or a fragment. A
metaphor is named with what it stands for (把稳用权的“方向盘”). The form follows the phrase's kind (EDITOR.md):
a standard is checked against oneself, a programme is carried out, a principle is understood, a problem is
traced to its causes, a spirit is seen in people. Phrases that many passages share rank below the passage's
own, and no phrase or prompt is used twice. The phrases and their scores come from `candidates`; here, the
choice for each lesson: the best one no quiz answer stands in, a second point where the lesson has two
paragraphs of weight, whom the prompt asks (a unit, one's own post, a student), and the wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from content.lessons import Chunk
from content.prompts.candidates import Candidate, Phrases
from content.prompts.forms import FORM_NAMES, FORMS, fill_form, for_audience, party_building, unit_task
from content.prompts.kinds import (
    COMMON_FORMULAS,
    GENERIC,
    ORG_NAME,
    kind_of,
)
from content.prompts.phrases import (
    COUNTED_LABEL,
    MEETING_AIM,
    MEETING_PURPOSE,
    MEETING_TASK,
    VAGUE_END,
    fallback_phrase,
    not_a_unit,
    thesis_of,
)

# The kinds of phrase that make a point of their own: what to do or to understand (not a fault or an image,
# which illustrate one).
TWO_KINDS = frozenset({"requirement", "standard", "programme", "action", "change"})
# The kinds a point of either paragraph may be named by in a prompt on both (not a list, a fault or a word).
OTHER_KINDS = TWO_KINDS | {"principle", "image", "claim", "spirit"}

# A sentence that makes a requirement of its own (要…, 必须…, 坚持…), not one that explains the one before.
OPENS_REQUIREMENT = re.compile(r"^(?:[^，。；]{0,12}(?:要|必须)|坚持|推动|着力|健全|完善|强化|加强|深化)")

TWO_POINTS = (
    "这段讲话既讲“{a}”，又讲“{b}”。结合本职工作，你觉得哪一方面更需要加强？为什么？",
    "围绕“{a}”和“{b}”这两点，你所在单位各有哪些做法，还有哪些差距？",
)
# …of two statements to understand (耕地是粮食生产的命根子 / 建好农田只是第一步，管好用好才是关键).
TWO_STATEMENTS = (
    "这段讲话既讲“{a}”，又讲“{b}”。你对哪一点体会更深？为什么？",
    "怎样理解“{a}”和“{b}”这两点？结合实际谈谈你的认识。",
)
# …of two tasks of an institution, asked of one's post (see forms.FOR_POSTS).
TWO_TASKS_FOR_POSTS = (
    "这段讲话既讲“{a}”，又讲“{b}”。这对你的岗位意味着什么？",
    "围绕“{a}”和“{b}”这两点，你在自己的岗位上能做些什么？",
)


# What the speech gives as the cause of the faults it criticises (究其原因，…; 根子在…).
CAUSE = re.compile(r"^(?:究其原因|原因在于|根子在于|问题的根子在于|分析原因)")
CAUSE_FORMS = (
    "讲话把问题的原因归结为“{p}”。对照你的工作，怎样从根子上解决？",
    "讲话指出，原因在于“{p}”。在你的岗位上，最该从哪里改起？",
)


# What the passage asks in one paragraph and a fault it names in the other.
POINT_AND_FAULT = (
    "这段讲话既讲“{a}”，又指出“{b}”。对照你的工作，最该补上的是哪一点？",
    "这段讲话在讲“{a}”的同时，指出了“{b}”。对照你的工作，问题出在哪里？",
)


# A fault the passage criticises in one paragraph and what it asks in the other.
FAULT_AND_CURE = (
    "这段讲话既批评“{a}”，又要求“{b}”。结合本职工作，你打算怎样做？",
    "讲话指出“{a}”的问题，又提出“{b}”。你的工作中最该从哪里改起？",
)


class PromptMaker(Phrases):
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
        self._leads: dict[str, frozenset[str]] = {}  # a part's parallel leads, by part (see _parallel_leads)
        self.branches = party_building(speech_text)  # a speech to the Party's organizations: tasks are theirs
        self.clauses: set[str] = set()  # phrases that are a requirement clause: quoted whole, inner quotes ‘’
        self.tag_of = tag_of
        self.is_noun = lambda w: (tag_of(w) or "n")[:1] == "n"
        self.text = speech_text
        # The speech's own places (桐溪 of 桐溪县): a term of one and a common word (“桐溪教育”, a channel's
        # name) names no idea.
        self.places = set(re.findall(r"([\u4e00-\u9fff]{2})[省市县区镇乡]", speech_text))
        self.quoted = quoted
        self.lists_of = lists_of
        self.keywords = keywords
        self.is_word = is_word

    def prompts(self, plan: list[Chunk]) -> list[tuple[str, str, str]]:
        """(phrase, form name, prompt) for each chunk, every phrase and prompt used once."""
        used_phrases: set[str] = set()
        used_prompts: set[str] = set()
        turn: dict[str, int] = {}
        out = []
        for chunk in plan:
            fresh = [c for c in self.candidates(chunk) if c.phrase not in used_phrases]
            options = fresh
            if not options:
                words = [
                    w
                    for w in self.keywords(chunk.text)
                    if len(w) >= 2
                    and w not in GENERIC
                    and not w.endswith("们")
                    and w not in used_phrases
                    and w not in self.title
                    and not ORG_NAME.fullmatch(w)
                    and (self.tag_of(w) or "n")[:2] not in {"ns", "nr", "nt"}
                    and not VAGUE_END.search(w)
                    and not not_a_unit(w, chunk.text)
                    and not self._place_name(w)
                    and not (len(w) == 3 and w.endswith("性"))
                    and self._concept(w, chunk.text)
                ]
                options = [Candidate(words[0], kind_of(words[0]), 0.0)] if words else []
            if not options:
                options = [Candidate(fallback_phrase(chunk), "action", 0.0)]
            pick = options[0]
            bare_pick = pick.phrase.strip("“”")
            if COUNTED_LABEL.fullmatch(bare_pick) and bare_pick not in COMMON_FORMULAS:
                # A label that counts what it stands for (“三个不够”, “四链”, “五位一体”): asked for what it
                # holds, not understood bare.
                pick = Candidate(pick.phrase, "counted_problem" if pick.kind == "problem" else "counted", 0.0)
            forms = FORMS[pick.kind]
            k = turn.get(pick.kind, 0)
            audience = self._audience_of(chunk, pick.phrase)
            for offset in range(len(forms)):
                form = forms[(k + offset) % len(forms)]
                if "哪一环" in form and re.search(
                    r"(环节|卡|券|网|码|活动|队|团|站|室|岗|区|课堂|讲堂)”?$", pick.phrase
                ):
                    continue  # 落实“留才”环节…哪一环: a step already; a card or a voucher has no steps
                if form.startswith("推进") and pick.phrase.endswith("环节"):
                    continue  # a step is taken, not 推进“留才”环节
                verb = re.search(r"(把|落实|推进|围绕)“\{p\}”", form)
                if verb and pick.phrase.lstrip("“").startswith(verb.group(1)):
                    continue  # 把“把科技创新作为…”: the verb doubled
                stated = re.search(r"是|在于|来自|离不开|才|就要|关键", pick.phrase)
                if form.startswith("为什么说") and (pick.phrase not in self.clauses or not stated):
                    continue  # 为什么说 wants a statement (为什么说“法治是最好的营商环境”), not a term
                if audience == "students" and form.startswith(("推动", "推进", "落实")):
                    continue  # what an organization does; a student changes himself (实现…的转变)
                if form.startswith("讲话说") and not re.search(
                    r"是|成为|当好|当成|当作|作为|把|让", pick.phrase
                ):
                    continue  # 讲话说 wants a clause: 讲话说科技创新的“关键变量” is no sentence
                prompt = fill_form(form, pick.phrase, audience, pick.phrase in self.clauses)
                if prompt not in used_prompts:
                    break
            opening = chunk.section.kind == "opening"
            aims = (MEETING_PURPOSE, MEETING_AIM, MEETING_TASK) if opening else ()
            purpose = next((m for m in (a.search(chunk.text) for a in aims) if m), None)
            # A bare word of an opening (省直机关, 机关党建, 第一课) names less than what the meeting is for, or
            # than the opening as a whole.
            bare_word = (
                len(pick.phrase) <= 4 and pick.kind == "principle" and f"“{pick.phrase}”" not in chunk.text
            )
            weak = opening and (pick.score < 3.0 or (purpose is not None and bare_word))
            if (chunk.section.kind != "numbered" and pick.phrase == chunk.section.title) or weak:
                # Nothing in the passage to name: ask about it as a whole, quoting nothing.
                if purpose:
                    # what the meeting is for, in its words (目的就是把压力传导到基层、把责任落实到末梢)
                    aim = re.sub(
                        r"^(?:全[省市县区]上下|各级各部门|各地各部门|大家)?(?:进一步)?", "", purpose.group(1)
                    )
                    prompt = for_audience(f"这次会议要“{aim}”。落到你所在单位，最该接住的是什么？", audience)
                else:
                    prompt = for_audience(
                        "读完开篇，你认为这次会议要解决的最紧迫的问题是什么？"
                        if chunk.section.kind == "opening"
                        else "这段讲话提出的要求中，你所在单位下一步最该落实的是哪一条？",
                        audience,
                    )
                if prompt in used_prompts:
                    prompt = f"这段讲话（第 {len(out) + 1} 天）中，哪一句对你触动最深？为什么？"
            if pick.kind == "problem" and self._said_as_cause(chunk, pick.phrase):
                # 究其原因，…教育引导不深入、制度约束不严密…: the speech gives the root; asking for it is circular.
                prompt = fill_form(CAUSE_FORMS[len(out) % len(CAUSE_FORMS)], pick.phrase, audience)
            two = self._second_point(chunk, pick, options) or self._other_paragraph(chunk, pick, options)
            if two is not None:
                # A passage of two points, a paragraph each (头雁工程 …; 加强乡村人才队伍建设 …): both.
                # (a phrase of its own quotes that is no clause, “农业+”理念, is printed as it is, not nested)
                a, b = (
                    x.phrase[1:-1]
                    if re.fullmatch(r"“[^“”]+”", x.phrase)
                    else x.phrase.replace("“", "‘").replace("”", "’")
                    if x.phrase in self.clauses
                    else x.phrase
                    for x in (pick, two)
                )
                own = [("“" in x.phrase and x.phrase not in self.clauses) for x in (pick, two)]
                stated = {"principle", "image", "claim"}
                if pick.kind == "problem":
                    forms = FAULT_AND_CURE
                elif two.kind == "problem":
                    forms = POINT_AND_FAULT
                elif pick.kind in stated and two.kind in stated:
                    forms = TWO_STATEMENTS
                elif audience == "posts":
                    forms = TWO_TASKS_FOR_POSTS
                else:
                    forms = TWO_POINTS
                form = forms[len(out) % len(forms)]
                if own[0]:
                    form = form.replace("“{a}”", "{a}")
                if own[1]:
                    form = form.replace("“{b}”", "{b}")
                prompt = for_audience(form, audience).format(a=a, b=b)
                if prompt not in used_prompts:
                    used_phrases.add(two.phrase)
                    fault = "problem" in (pick.kind, two.kind)  # (asked as a fault and its remedy)
                    pick = Candidate(
                        f"{pick.phrase} / {two.phrase}", "problem" if fault else "requirement", pick.score
                    )
            turn[pick.kind] = k + 1
            used_phrases.add(pick.phrase)
            used_prompts.add(prompt)
            out.append((pick.phrase, FORM_NAMES[pick.kind], prompt))
        return out

    def _said_as_cause(self, chunk: Chunk, phrase: str) -> bool:
        """Whether the phrase is said as the cause of what the passage criticises (究其原因，…)."""
        bare = phrase.replace("“", "").replace("”", "")
        return any(
            CAUSE.match(x.text) and bare in x.text.replace("“", "").replace("”", "") for x in chunk.sentences
        )

    def _audience_of(self, chunk: Chunk, phrase: str) -> str:
        """Whom the prompt asks: students; a cadre about his unit, where the speech is to the Party's
        organizations or the sentence gives the task to units; else a cadre about his own post."""
        if self.audience != "cadres" or self.branches:
            return self.audience
        bare = phrase.replace("“", "").replace("”", "").split(" / ")[0]
        said = [x.text for x in chunk.sentences if bare[:6] in x.text.replace("“", "").replace("”", "")]
        return "cadres" if any(unit_task(x, bare) for x in said or [chunk.text]) else "posts"

    def _other_paragraph(self, chunk: Chunk, pick: Candidate, options: list[Candidate]) -> Candidate | None:
        """The best phrase of the passage's other paragraph, where it has two of weight (100 characters or
        more each) and the pick is said in one only: a strong one (a requirement, a thesis, a programme, an
        image with what it stands for; scored 6 or more), so that the prompt asks about both halves."""
        sizes: dict[int, int] = {}
        for x in chunk.sentences:
            if x.role == "body":
                sizes[x.paragraph] = sizes.get(x.paragraph, 0) + len(x.text)
        big = [p for p, n in sizes.items() if n >= 100]
        if len(big) != 2 or pick.kind not in OTHER_KINDS | {"problem"} or len(pick.phrase) > 20:
            return None

        def paragraphs_of(c: Candidate) -> set[int]:
            bare = c.phrase.replace("“", "").replace("”", "")
            return {x.paragraph for x in chunk.sentences if bare in x.text.replace("“", "").replace("”", "")}

        mine = paragraphs_of(pick)
        if len(mine) != 1 or not mine <= set(big):
            return None
        for other in options[1:]:
            # (a fault the other paragraph names, 三个不到位, beside what the first asks: both)
            fault = other.kind == "problem" and pick.kind != "problem"
            if other.score < 6.0 or (other.kind not in OTHER_KINDS and not fault) or len(other.phrase) > 20:
                continue
            if pick.kind == "problem" and (other.kind not in TWO_KINDS or other.phrase not in self.clauses):
                continue  # a fault, then what to do about it (注重家风建设), not another idea
            where = paragraphs_of(other)
            if len(where) == 1 and where <= set(big) and where != mine:
                return other
        return None

    def _second_point(self, chunk: Chunk, pick: Candidate, options: list[Candidate]) -> Candidate | None:
        """The requirement of another paragraph of the passage, where the passage makes two, each opening a
        paragraph of its own (实施“头雁工程”… / 要加强乡村人才队伍建设…): the prompt's phrase a requirement,
        standard, programme, action or change said in one sentence, the other its sentence's requirement in its
        own words."""

        def said_in(c: Candidate) -> set[int]:
            bare = c.phrase.replace("“", "").replace("”", "")
            return {
                k for k, x in enumerate(chunk.sentences) if bare in x.text.replace("“", "").replace("”", "")
            }

        opens = {
            k
            for k, x in enumerate(chunk.sentences)
            if x.role == "body"
            and (
                OPENS_REQUIREMENT.match(x.text)
                # or a thesis that opens its paragraph (科技成果只有转化为现实生产力，才能真正体现价值。…)
                or ((k == 0 or chunk.sentences[k - 1].paragraph != x.paragraph) and thesis_of(x.text))
            )
        }
        thesis = pick.kind == "principle" and pick.phrase in self.clauses
        if len(opens) < 2 or (pick.kind not in TWO_KINDS and not thesis):
            return None
        mine = said_in(pick)
        if len(mine) != 1 or not mine <= opens:
            return None
        for other in options[1:]:
            where = said_in(other)
            # (a thesis that opens the other paragraph is its point too: 建好农田只是第一步，管好用好才是关键)
            stated = other.kind == "principle" and other.phrase in self.clauses
            if (other.kind not in TWO_KINDS and not stated) or len(where) != 1 or not where <= opens:
                continue
            if where == mine or other.phrase in pick.phrase or pick.phrase in other.phrase:
                continue
            # two points are two paragraphs of the passage, each a good part of it (not the first sentence
            # of the next day's paragraph)
            a, b = chunk.sentences[min(mine)], chunk.sentences[min(where)]
            sizes = [sum(len(x.text) for x in chunk.sentences if x.paragraph == y.paragraph) for y in (a, b)]
            if a.paragraph == b.paragraph or min(sizes) < 100:
                continue
            # the other sentence's own requirement in its words (坚持严管和厚爱结合、激励和约束并重)
            if other.phrase in self.clauses and other.score >= 4.5:
                return other
        return None
