"""The questions chosen so far and what they use up: their sentences and lists, their answers, their wrong
options and the text they show. `refusal` says why a candidate cannot join them (EDITOR.md's rules between
questions); `take` adds one; `drop` takes one out again and keeps the bookkeeping right.
"""

from __future__ import annotations

from collections import Counter

from content.quiz.question import Candidate
from content.quiz.shapes import sentence_key


def plain(text: str) -> str:
    """Text with every quotation mark the same (“” and ‘’ as "): a term is seen in a stem either way."""
    return text.translate(str.maketrans("“”‘’", '""""'))


class Selection:
    """The bank as it is being chosen."""

    def __init__(
        self,
        days: dict[tuple[str, int], int],
        generic: frozenset[str] | set[str],
        titles_shown: str,
        section_cap: int,
    ) -> None:
        self.days = days  # the lesson each sentence is read in
        self.generic = generic  # words too common to give an answer away
        self.titles_shown = plain(titles_shown)  # the part titles a which-part question shows
        self.section_cap = section_cap  # which-part questions a part may have
        self.chosen: list[Candidate] = []
        self.refused: dict[int, str] = {}  # why a candidate was refused, by id (for reading the choice)
        self._clear()

    def _clear(self) -> None:
        self.units: set[str] = set()
        self.answers: set[str] = set()
        self.options: set[str] = set()
        self.shown: list[str] = []
        self.stems: dict[int, str] = {}  # the chosen questions' stems, quotes made plain, by id
        self.per_lesson_sections: Counter[int | None] = Counter()
        self.per_part_sections: Counter[str] = Counter()

    def day_of(self, c: Candidate) -> int | None:
        return self.days.get(sentence_key(c.sentence))

    def sections(self) -> int:
        """How many which-part questions are chosen."""
        return sum(x.kind == "section" for x in self.chosen)

    def refusal(self, c: Candidate) -> str | None:
        """Why a candidate cannot join the bank as it stands, or None."""
        if c.units & self.units:
            return "its sentence or list is asked already"
        if c.answer_terms and set(c.answer_terms) & self.answers:
            return "its answer is asked already"
        # One set of wrong options is not offered again in another slot (one shared option may be).
        if c.kind != "section" and len(set(c.distractors) & self.options) >= 2:
            return "its wrong options are offered already"
        if c.kind == "section":
            if (
                self.per_lesson_sections[self.day_of(c)]
                or self.per_part_sections[c.sentence.section_id] >= self.section_cap
            ):
                return "its lesson or part has its which-part question"
        # (quotes as in a stem: a quote inside a quote is written ‘’, 实施‘智慧安监’工程)
        mine = plain(c.question + "\n" + "\n".join([c.answer, *c.distractors]))
        # No answer of this question shows elsewhere, and no answer of another shows here.
        for term in map(plain, c.answer_terms):
            if any(term in text for text in self.shown) or term in self.titles_shown:
                return f"{term} shows in another question or a title"
            # Half of a longer answer in a title shown as an option (腐败 of 微腐败) gives it away too.
            core = c.core or term
            halves = {core[i : i + 2] for i in range(len(core) - 1)} - self.generic
            if 3 <= len(term) and len(core) <= 8 and any(h in self.titles_shown for h in halves):
                if c.kind != "section":
                    return f"half of {term} shows in a title"
        stem = plain(c.question)
        for other in self.chosen:
            if any(plain(term) in mine for term in other.answer_terms):
                return "it shows another question's answer"
            # A wrong option that another stem shows in its own place (“塑形工程” of 二是… against 一是…
            # “＿＿”) is ruled out by it.
            if c.kind == "section" or other.kind == "section":
                continue
            if any(plain(d) in self.stems[id(other)] for d in c.distractors if len(d) >= 2) or any(
                plain(d) in stem for d in other.distractors if len(d) >= 2
            ):
                return "another question's stem shows one of the wrong options"
        return None

    def ok(self, c: Candidate) -> bool:
        """Whether the candidate may join (and why not, kept in `refused`)."""
        why = self.refusal(c)
        if why is not None:
            self.refused[id(c)] = why
        return why is None

    def take(self, c: Candidate) -> None:
        if c.kind == "section":
            self.per_lesson_sections[self.day_of(c)] += 1
            self.per_part_sections[c.sentence.section_id] += 1
        else:
            self.options.update(c.distractors)
        self.chosen.append(c)
        self.stems[id(c)] = plain(c.question)
        self.units.update(c.units)
        self.answers.update(c.answer_terms)
        self.shown.append(plain(c.question + "\n" + "\n".join([c.answer, *c.distractors])))

    def drop(self, c: Candidate) -> None:
        """Take a chosen question out: what it used is free again (what it kept out may come in)."""
        kept = [x for x in self.chosen if x is not c]
        self.chosen = []
        self._clear()
        for x in kept:
            self.take(x)
