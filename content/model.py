"""The content model of one speech: sections, lessons with prompts, quiz bank and search, built once."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from content import terms as terms_mod
from content.lessons import Lesson, build_lessons, chunks
from content.numerals import parse_ref
from content.prompts import PromptMaker, audience_of
from content.quiz import Question, QuizBuilder
from content.search import Hit, SearchIndex
from content.speech import Section, Speech, parse_speech
from content.textfile import ENCODINGS, NotTextError, decode_text

logger = logging.getLogger(__name__)

BUNDLED = "2023-municipal-organization-work-conference.txt"


class ContentError(Exception):
    """The speech file cannot be used (missing, unreadable, empty)."""


def bundled_text() -> str:
    """The bundled default speech."""
    return resources.files("content").joinpath("data", BUNDLED).read_text(encoding="utf-8")


def read_text(path: str | Path | None) -> str:
    """The speech at `path`, or the bundled one; a clear ContentError if it cannot be used."""
    if path is None:
        return bundled_text()
    p = Path(path)
    try:
        text = decode_text(p.read_bytes())
    except FileNotFoundError:
        raise ContentError(f"找不到讲话文件：{p}") from None
    except IsADirectoryError:
        raise ContentError(f"讲话文件是一个目录：{p}") from None
    except NotTextError:
        raise ContentError(f"讲话文件不是 {ENCODINGS} 文本：{p}") from None
    except OSError as exc:
        raise ContentError(f"无法读取讲话文件 {p}：{exc.strerror}") from None
    if not text.strip():
        raise ContentError(f"讲话文件是空的：{p}")
    return text


@dataclass
class ContentModel:
    """Everything the bot says about one speech."""

    speech: Speech
    lessons: list[Lesson]
    questions: list[Question]
    dictionary: frozenset[str]
    index: SearchIndex = field(repr=False)
    tokenizer: object = field(repr=False)

    @property
    def title(self) -> str:
        """The speech's title."""
        return self.speech.title

    @property
    def sections(self) -> list[Section]:
        """Opening, numbered parts, closing."""
        return self.speech.sections

    @functools.cached_property
    def numbered(self) -> list[Section]:
        """The numbered parts only."""
        return [s for s in self.sections if s.kind == "numbered"]

    def section(self, section_id: str) -> Section | None:
        """A section by id."""
        return next((s for s in self.sections if s.id == section_id), None)

    def find_section(self, ref: str) -> Section | None:
        """A section by what a reader types: 3, 三, 第三, 第三部分, 0, 开篇, 结语."""
        value = parse_ref(ref)
        if value == "opening" or value == 0:
            return next((s for s in self.sections if s.kind == "opening"), None)
        if value == "closing":
            return next((s for s in self.sections if s.kind == "closing"), None)
        if isinstance(value, int):
            return next((s for s in self.numbered if s.number == value), None)
        return None

    def lesson_questions(self, day: int) -> list[Question]:
        """The questions of a lesson's 🧠 button: its own, then the rest of its part, leaving out any whose
        answer the lesson's prompt names (it stands right above the button)."""
        lesson = next((x for x in self.lessons if x.day == day), None)
        if lesson is None:
            return []
        part = [q for q in self.questions if q.section_id == lesson.section_id]
        part = [q for q in part if q.kind == "section" or q.options[q.answer] not in lesson.prompt]
        return [q for q in part if q.day == day] + [q for q in part if q.day != day]

    @functools.cached_property
    def question_by_id(self) -> dict[str, Question]:
        """Questions by id."""
        return {q.id: q for q in self.questions}

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        """Best-ranked sentences for a query; never raises on odd input."""
        return self.index.search(query, limit)

    def suggest(self, query: str, n: int = 3) -> list[str]:
        """Key phrases of the speech closest to a query that found nothing (shared characters first)."""
        chars = set(re.findall(r"[\u4e00-\u9fff]", query or ""))
        ranked = sorted(
            (p for p in self.dictionary if 2 <= len(p) <= 8),
            key=lambda p: (-len(chars & set(p)), -self.speech_text.count(p), p),
        )
        return ranked[:n]

    @functools.cached_property
    def speech_text(self) -> str:
        """All section text."""
        return "\n".join(s.text for s in self.sections)

    def to_dict(self) -> dict:
        """The JSON export (schema in SPEC.md)."""
        out: dict = {"title": self.title}
        for key in ("subtitle", "date", "speaker"):
            if getattr(self.speech, key):
                out[key] = getattr(self.speech, key)
        out["sections"] = [_section_dict(s) for s in self.sections]
        out["lessons"] = [_lesson_dict(x) for x in self.lessons]
        out["questions"] = [q.to_dict() for q in self.questions]
        return out


def _lesson_dict(lesson: Lesson) -> dict:
    out = {"day": lesson.day, "section": lesson.section_id, "text": lesson.text, "prompt": lesson.prompt}
    if lesson.subsection_id:
        out["subsection"] = lesson.subsection_id
    return out


def _section_dict(section: Section) -> dict:
    out = {
        "id": section.id,
        "kind": section.kind,
        "number": section.number,
        "title": section.title,
        **({"heading": section.heading} if section.heading else {}),
        "text": section.text,
        "sentences": [s.text for s in section.sentences],
    }
    if section.subsections:
        out["subsections"] = [_section_dict(s) for s in section.subsections]
    return out


def build_model(text: str) -> ContentModel:
    """Parse a speech and build its lessons, quiz bank and search index."""
    speech = parse_speech(text)
    quoted = terms_mod.quoted_terms(text)
    titles = [terms_mod.title_phrase(s.title) for s in speech.sections if s.kind == "numbered"]
    base_words = set(quoted) | set(terms_mod.fixed_phrases(text)) | {t for t in titles if t in text}
    tokenizer = terms_mod.make_tokenizer(base_words, text)
    cut = functools.lru_cache(maxsize=4096)(lambda s: list(tokenizer.cut(s)))
    lists = [
        item
        for sentence in speech.all_sentences()
        for items in terms_mod.enumerations(sentence.text, cut)
        for item in items
    ]
    dictionary = frozenset(w for w in base_words | set(lists) if len(w) >= 2)
    vocabulary = frozenset(w for sentence in speech.all_sentences() for w in cut(sentence.text))
    idf = terms_mod.idf_table(vocabulary, tokenizer.FREQ, tokenizer.total)

    is_word = lambda w: w in dictionary or bool(tokenizer.FREQ.get(w))  # noqa: E731
    tags = terms_mod.speech_tags(text)
    maker = PromptMaker(
        text,
        quoted,
        lambda sentence: terms_mod.enumerations(sentence, cut),
        lambda excerpt: terms_mod.keywords(excerpt, cut, dictionary, idf),
        is_word,
        tags.get,
        [
            x.heading or x.title
            for s in speech.sections
            for x in (s, *s.subsections)
            if x.kind == "numbered" and x.title
        ],
        audience_of(speech.sections[0].text if speech.sections else ""),
        f"{speech.title} {speech.subtitle or ''}",
    )
    # The prompts on their own merits; the quiz after them. A question whose answer its lesson's prompt names
    # stays in the bank; that lesson's 🧠 button leaves it out (ContentModel.lesson_questions).
    plan = chunks(speech)
    days = {(s.section_id, s.index): day for day, chunk in enumerate(plan, start=1) for s in chunk.sentences}
    lessons = build_lessons(speech, maker.prompts, plan)
    builder = QuizBuilder(speech, cut, quoted, is_word, tags, days, terms_mod.near_words(text))
    questions = builder.build(plan, {lesson.day: lesson.prompt for lesson in lessons})
    index = SearchIndex(speech.all_sentences(), cut)
    return ContentModel(speech, lessons, questions, dictionary, index, tokenizer)


@functools.lru_cache(maxsize=4)
def _cached_model(text: str) -> ContentModel:
    return build_model(text)


def load_model(path: str | Path | None = None) -> ContentModel:
    """The content model of the speech at `path` (the bundled one by default), cached per text."""
    return _cached_model(read_text(path))
