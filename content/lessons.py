"""The lesson plan: one excerpt of whole sentences a day, in order, each with its own reflection prompt."""

from __future__ import annotations

from dataclasses import dataclass

from content.speech import Section, Sentence, Speech

MIN_CHARS = 120
MAX_CHARS = 350
TARGET_CHARS = 180

# Reflection prompts in several forms; each names a key phrase of its own excerpt.
PROMPT_FORMS: tuple[tuple[str, str], ...] = (
    ("理解", "这段讲话讲到“{p}”，你是怎样理解的？"),
    ("联系工作", "结合本职工作，在“{p}”上你还有哪些差距？"),
    ("具体举措", "围绕“{p}”，你所在的单位可以拿出哪一两项具体举措？"),
    ("自我检视", "对照“{p}”，你自己做得怎么样，还有哪些不足？"),
    ("身边榜样", "在“{p}”方面，你身边有哪些好做法、好榜样？"),
    ("追问缘由", "讲话为什么特别强调“{p}”？它要解决什么问题？"),
    ("行动计划", "接下来一个月，围绕“{p}”你打算做成哪一件实事？"),
    ("群众视角", "从群众的角度看，“{p}”应当体现为哪些看得见的变化？"),
)


@dataclass(frozen=True)
class Lesson:
    """One day of study."""

    day: int
    section_id: str
    sentences: tuple[Sentence, ...]
    prompt: str
    phrase: str
    form: str

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


def blocks(speech: Speech) -> list[tuple[Section, list[Sentence], list[int]]]:
    """Each section's sentences (no lesson crosses a section) and the sub-point each sentence is in."""
    out = []
    for section in speech.sections:
        group = {}
        for k, sub in enumerate(section.subsections, start=1):
            group.update({s.index: k for s in sub.sentences})
        # A heading before the first sub-point goes with that sub-point.
        first = min(group.values(), default=0)
        out.append((section, section.sentences, [group.get(s.index, first) for s in section.sentences]))
    return out


def partition(lengths: list[int], groups: list[int] | None = None) -> list[int]:
    """Best split of consecutive sentences into lessons; returns the index where each lesson starts.

    Dynamic programming over cut points: a lesson of several sentences stays within MAX_CHARS, lessons
    under MIN_CHARS cost a lot (unavoidable only for a short section), a lesson that runs across two
    sub-points costs something, the rest cost their distance from TARGET_CHARS, so lessons come out
    even rather than greedily full.
    """
    n = len(lengths)
    groups = groups or [0] * n
    best = [0.0] + [float("inf")] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        size = 0
        for start in range(end - 1, -1, -1):
            size += lengths[start]
            if size > MAX_CHARS and end - start > 1:
                break
            cost = (size - TARGET_CHARS) ** 2 + 4_000 * (groups[end - 1] != groups[start])
            if size < MIN_CHARS:
                cost += 1_000_000
            if best[start] + cost < best[end]:
                best[end], back[end] = best[start] + cost, start
    starts, end = [], n
    while end > 0:
        starts.append(back[end])
        end = back[end]
    return sorted(starts)


def build_lessons(speech: Speech, phrases_for) -> list[Lesson]:
    """The lesson plan; `phrases_for(text, section)` lists candidate key phrases of an excerpt, best first."""
    lessons: list[Lesson] = []
    used_phrases: set[str] = set()
    used_prompts: set[str] = set()
    for section, sentences, groups in blocks(speech):
        starts = partition([len(s.text) for s in sentences], groups)
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else len(sentences)
            chunk = tuple(sentences[start:end])
            day = len(lessons) + 1
            text = "".join(s.text for s in chunk)
            phrase, form, prompt = _prompt(day, phrases_for(text, section), used_phrases, used_prompts)
            lessons.append(Lesson(day, section.id, chunk, prompt, phrase, form))
    return lessons


def _prompt(day: int, candidates: list[str], used_phrases: set[str], used_prompts: set[str]):
    """A prompt for the excerpt: a phrase not yet asked about if possible, forms in rotation."""
    fresh = [p for p in candidates if p not in used_phrases] or candidates or ["这段讲话"]
    for offset in range(len(PROMPT_FORMS) * len(fresh)):
        phrase = fresh[offset // len(PROMPT_FORMS)]
        form, template = PROMPT_FORMS[(day - 1 + offset) % len(PROMPT_FORMS)]
        prompt = template.format(p=phrase)
        if prompt not in used_prompts:
            used_phrases.add(phrase)
            used_prompts.add(prompt)
            return phrase, form, prompt
    raise AssertionError("no unused prompt")  # unreachable: every phrase × form pair is distinct
