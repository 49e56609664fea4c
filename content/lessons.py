"""The lesson plan: one excerpt of whole sentences a day, in order, each with its own reflection prompt.

A lesson never crosses a part and keeps a sub-point whole where it fits. Headings are not quoted: the part
and sub-point are named above the excerpt (`place`), and a run-in lead sentence (第一，扎实做好……。) is shown
there too (`lead`) on the first lesson of its part or sub-point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from content.speech import Section, Sentence, Speech

MIN_CHARS = 80  # under this is not a day's reading, unless the part itself is shorter
LOW_CHARS = 150  # the target range of a day
MAX_CHARS = 350  # the end of the target range
HARD_MAX_CHARS = 400  # a whole paragraph may run a little over rather than lose its first or last sentence
AIM_CHARS = 240
READ_ROLES = frozenset({"body", "procedural"})  # what a lesson quotes


@dataclass(frozen=True)
class Lesson:
    """One day of study."""

    day: int
    section_id: str
    sentences: tuple[Sentence, ...]
    prompt: str
    phrase: str
    form: str
    subsection_id: str | None = None
    place: str = ""  # 第一部分 · 扎实做好理论武装 · （二）压实书记责任
    lead: str | None = None  # the run-in heading sentence, on the first lesson after it

    @property
    def text(self) -> str:
        """The excerpt: its sentences, a new line where a paragraph starts."""
        out, last = [], None
        for s in self.sentences:
            if last is not None and s.paragraph != last:
                out.append("\n")
            out.append(s.text)
            last = s.paragraph
        return "".join(out)


@dataclass(frozen=True)
class Chunk:
    """A lesson before its prompt: where it stands and what it quotes."""

    section: Section
    sub: Section | None
    sentences: tuple[Sentence, ...]
    lead: str | None

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.sentences)


def _groups(section: Section) -> list[tuple[Section | None, list[Sentence]]]:
    """The section's readable sentences by sub-point (None for what stands before the first one)."""
    owner = {s.index: sub for sub in section.subsections for s in sub.sentences}
    out: list[tuple[Section | None, list[Sentence]]] = []
    for sentence in section.sentences:
        sub = owner.get(sentence.index)
        if not out or out[-1][0] is not sub:
            out.append((sub, []))
        if sentence.role in READ_ROLES:
            out[-1][1].append(sentence)
    return [(sub, sentences) for sub, sentences in out if sentences]


# A lesson should not begin where the speech goes on with what came before.
# A sentence that continues the one before it: never the first of a lesson.
_CONTINUES = re.compile(r"^(?:[二三四五六七八九十]是|究其原因|其次|再次|另一方面)")
# One that links to what came before (这些问题…, 同时…): a continuation inside a paragraph, but at a
# paragraph's start it opens what that paragraph goes on to say.
_LINKS = re.compile(r"^(?:可以说|这些|此外|同时|因此|所以|与此同时)")


# A paragraph that opens a requirement of its own: one point of the passage, best a day of its own.
_NEW_POINT = re.compile(r"^(?:要|必须|注重|健全|完善|着力)")


def cut_costs(sentences: list[Sentence]) -> list[float]:
    """What it costs to begin a lesson at each sentence: nothing at a paragraph start, more inside one,
    much more after a ；-piece of a long sentence, before a sentence that continues the last one, or
    within a run of ——bullets."""
    costs = []
    opens: dict[object, str] = {}  # each paragraph's first sentence
    for sentence in sentences:
        opens.setdefault(sentence.paragraph, sentence.text)
    for i, sentence in enumerate(sentences):
        cost = 0.0
        if i and sentence.paragraph == sentences[i - 1].paragraph:
            cost += 20_000
            if not sentences[i - 1].text.endswith(("。", "！", "？", "!", "?", "”")):
                cost += 200_000
        starts_paragraph = not i or sentence.paragraph != sentences[i - 1].paragraph
        if _CONTINUES.match(sentence.text) or (_LINKS.match(sentence.text) and not starts_paragraph):
            cost += 100_000
        if i and starts_paragraph and _NEW_POINT.match(sentence.text):
            cost -= (
                600  # a paragraph that opens a requirement of its own (要健全导师帮带制度…): a day's start
            )
        if i and opens[sentence.paragraph].startswith("——"):
            # A ——bullet and its sisters are one list: where a lesson must end inside one, at a bullet.
            cost += 100_000 if sentence.text.startswith("——") else 150_000
        costs.append(cost)
    return costs


def partition(
    lengths: list[int],
    groups: list[int] | None = None,
    cuts: list[float] | None = None,
    leads_in: frozenset[int] = frozenset(),
) -> list[int]:
    """Best split of consecutive sentences into lessons; returns the index where each lesson starts.

    Dynamic programming over cut points. A lesson of several sentences stays within HARD_MAX_CHARS; one under
    MIN_CHARS costs more than anything else (so a procedural sentence or a tiny sub-point joins a
    neighbour); one that runs across two sub-points costs a lot; the rest cost their distance from the
    150–350 range and a little their distance from AIM_CHARS, so lessons come out even; `cuts` adds what
    it costs to begin a lesson at each sentence (see `cut_costs`); a group in `leads_in` (a part's words
    before its first sub-point) joins the next one at a tenth of the price.
    """
    n = len(lengths)
    groups = groups or [0] * n
    cuts = cuts or [0.0] * n
    best = [0.0] + [float("inf")] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        size = 0
        for start in range(end - 1, -1, -1):
            size += lengths[start]
            if size > HARD_MAX_CHARS and end - start > 1:
                break
            # Under 150 a day is thin and over 350 long: both cost more than cutting inside a paragraph
            # would by 30 characters, and much less than peeling a paragraph's first or last sentence off.
            cost = (
                25 * (max(0, LOW_CHARS - size) ** 2 + max(0, size - MAX_CHARS) ** 2)
                + 0.05 * (size - AIM_CHARS) ** 2
            )
            crossed = len(set(groups[start:end]) - {groups[start]})
            # A part's few words before its first sub-point (`leads_in`) may open that sub-point's lesson.
            cost += 30_000 if crossed == 1 and groups[start] in leads_in else 300_000 * crossed
            if size < MIN_CHARS:
                cost += 1_000_000
            cost += cuts[start] if start else 0.0
            if best[start] + cost < best[end]:
                best[end], back[end] = best[start] + cost, start
    starts, end = [], n
    while end > 0:
        starts.append(back[end])
        end = back[end]
    return sorted(starts)


def chunks(speech: Speech) -> list[Chunk]:
    """Each day's excerpt, in reading order, before prompts are chosen."""
    out: list[Chunk] = []
    for section in speech.sections:
        groups = _groups(section)
        sentences = [s for _, group in groups for s in group]
        marks = [k for k, (_, group) in enumerate(groups) for _ in group]
        owners = [sub for sub, group in groups for _ in group]
        leads_in = frozenset(k for k, (sub, _) in enumerate(groups) if sub is None and section.subsections)
        starts = partition([len(s.text) for s in sentences], marks, cut_costs(sentences), leads_in)
        shown: set[int] = set()
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else len(sentences)
            sub = owners[start] or owners[end - 1]
            lead = None
            for owner in (section, sub):
                if (
                    owner is not None
                    and id(owner) not in shown
                    and owner.heading
                    and owner.heading.rstrip("。；！：:") != owner.title
                ):  # a heading that is its title with an end mark (压实党委政府领导责任。) is shown as the title
                    if owner.sentences and owner.sentences[0].role == "heading":
                        lead = owner.heading if lead is None else f"{lead}\n{owner.heading}"
                shown.add(id(owner))
            out.append(Chunk(section, sub, tuple(sentences[start:end]), lead))
    return out


def place_of(section: Section, sub: Section | None) -> str:
    """Where a lesson stands, as shown above its excerpt."""
    return section.name if sub is None else f"{section.name} · {sub.name}"


def build_lessons(speech: Speech, prompt_for, plan: list[Chunk] | None = None) -> list[Lesson]:
    """The lesson plan (of `plan`, the speech's `chunks`, if already made); `prompt_for(chunks)` returns
    (phrase, form, prompt) for each chunk."""
    plan = plan if plan is not None else chunks(speech)
    prompts = prompt_for(plan)
    return [
        Lesson(
            day,
            chunk.section.id,
            chunk.sentences,
            prompt,
            phrase,
            form,
            chunk.sub.id if chunk.sub else None,
            place_of(chunk.section, chunk.sub),
            chunk.lead,
        )
        for day, (chunk, (phrase, form, prompt)) in enumerate(zip(plan, prompts, strict=True), start=1)
    ]
