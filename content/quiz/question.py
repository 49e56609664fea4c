"""A quiz question and a candidate for one, with the limits a Telegram quiz poll sets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from content.speech import Sentence

BLANK = "＿＿"


QUESTION_MAX = 300


OPTION_MAX = 100


EXPLANATION_MAX = 200


WINDOW_MAX = 70  # characters of the source shown around a blank: enough context, short enough to read


SNIPPET_MAX = 48  # characters of a sentence quoted in a which-part question


SNIPPET_MIN = 12


CHARS_PER_QUESTION = 110


CONTEXT = 4  # characters either side of a filled-in distractor that must not occur in the speech


MIN_SCORE = 2.0


LEAD_MAX = 28  # characters of the sentence shown before a list


@dataclass(frozen=True)
class Question:
    """One quiz question; `answer` is the index of the right option."""

    id: str
    kind: str  # cloze | section | sequence
    section_id: str
    question: str
    options: tuple[str, ...]
    answer: int
    source: str
    explanation: str
    day: int | None = None  # the lesson whose excerpt holds the source sentence

    def to_dict(self) -> dict:
        """The question as in the JSON export."""
        out = {
            "id": self.id,
            "kind": self.kind,
            "section": self.section_id,
            "question": self.question,
            "options": list(self.options),
            "answer": self.answer,
            "source": self.source,
        }
        if self.day is not None:
            out["day"] = self.day
        return out


@dataclass
class Candidate:
    """A question before selection, with what it must not share with others."""

    kind: str
    sentence: Sentence
    question: str
    answer: str
    distractors: list[str]
    score: float
    units: set[str] = field(default_factory=set)  # the sentence, the enumeration: one question each
    answer_terms: tuple[str, ...] = ()  # what this question gives away if shown elsewhere
    core: str = ""  # the part of the answer the options differ in (政治 of 政治建设); all of it if empty
    explanation: str = ""  # what the explanation quotes, if not the sentence (a list of points, in full)


def stable_digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()
