"""The content models of the courses a bot teaches, built when first used and kept in a small LRU.

The configured speech (course 1 unless STUDYBOT_CONTENT changed) is built at start and always kept;
another course's model is built from the text the database holds the first time a chat on it needs it
(`ready` builds it in a thread, so the event loop goes on answering meanwhile) and forgotten when it is
the least recently used of more than `size`. A course's text never changes (it is identified by its
hash), so a model, once built, is right for as long as it is kept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from bot.core.bank import BankRow
from bot.core.storage import Storage
from content import ContentError, ContentModel, build_model

logger = logging.getLogger(__name__)

#: Models kept besides the configured one (a 10,000-character speech's model is a few MB).
LRU_SIZE = 4


class Catalog:
    """Course id → content model."""

    def __init__(
        self,
        storage: Storage,
        configured: ContentModel,
        configured_id: int = 1,
        size: int = LRU_SIZE,
        build: Callable[[str], ContentModel] = build_model,
    ):
        self.storage = storage
        self._configured_base = configured
        self.configured_id = configured_id
        self.configured = self._with_bank(configured_id, configured)
        self.size = size
        self._build = build
        self._models: OrderedDict[int, ContentModel] = OrderedDict()
        self._lock = threading.Lock()  # `ready` builds in a worker thread
        self._building = threading.Lock()

    @classmethod
    def for_configured(
        cls, storage: Storage, text: str, model: ContentModel, source: str | None, now, **kwargs
    ) -> Catalog:
        """The catalog of a bot configured with `text` (the bundled speech when `source` is None): the
        speech registered as a course first (storage/courses.py says which)."""
        course, created = storage.register_configured_course(text, model.title, source or "bundled", now)
        if created and course != 1:
            logger.warning(
                "STUDYBOT_CONTENT holds a new speech (%s): published as course %d; every chat moves to it "
                "at its next push, its place in the earlier course kept",
                model.title,
                course,
            )
        return cls(storage, model, course, **kwargs)

    def model(self, course_id: int | None) -> ContentModel:
        """The course's model (built now if it is not kept); the configured one for an unknown course."""
        if course_id is None or course_id == self.configured_id:
            return self.configured
        with self._lock:
            model = self._models.get(course_id)
            if model is not None:
                self._models.move_to_end(course_id)
                return model
        # One build at a time: a build's peak is tens of MB (jieba's dictionary read through), and chats on
        # several old courses at once must not add them up.
        with self._building:
            with self._lock:
                model = self._models.get(course_id)
            if model is not None:
                return model
            text = self.storage.course_text(course_id)
            if not text:
                return self.configured  # a course row without text (none should be): never fail a reply
            try:
                model = self._with_bank(course_id, self._build(text))
            except ContentError:
                return self.configured
        with self._lock:
            self._models[course_id] = model
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        return model

    def _with_bank(self, course_id: int, model: ContentModel) -> ContentModel:
        return with_bank(self.storage, course_id, model)

    def forget(self, course_id: int) -> None:
        """The course changed (a question bank imported): build its model again when next needed."""
        with self._lock:
            self._models.pop(course_id, None)
        if course_id == self.configured_id:
            self.configured = self._with_bank(course_id, self._configured_base)

    def generated(self, course_id: int) -> ContentModel:
        """The course's model with its generated questions only (what a bank starts from)."""
        if course_id == self.configured_id:
            return self._configured_base
        text = self.storage.course_text(course_id)
        return self._build(text) if text else self._configured_base

    def keep(self, course_id: int, model: ContentModel) -> None:
        """Keep a model just built for a course (a draft's preview), so publishing does not build it again."""
        with self._lock:
            self._models[course_id] = self._with_bank(course_id, model)
            while len(self._models) > self.size:
                self._models.popitem(last=False)

    def kept(self, course_id: int) -> bool:
        """Whether the course's model is at hand (no build needed)."""
        return course_id == self.configured_id or course_id in self._models

    async def ready(self, course_id: int | None) -> ContentModel:
        """The course's model, built in a thread if it is not kept."""
        if course_id is None or self.kept(course_id):
            return self.model(course_id)
        return await asyncio.get_running_loop().run_in_executor(None, self.model, course_id)

    def loaded(self) -> int:
        """How many models are in memory."""
        return 1 + len(self._models)


def with_bank(storage: Storage, course_id: int, model: ContentModel) -> ContentModel:
    """The model with the course's curated questions instead of, or beside, the generated ones."""
    rows, mode = storage.course_bank(course_id)
    if not rows:
        return model
    # A row that is one of the generated questions (same stem and options, as an export gives it) keeps
    # that question's id and lesson: answers and review cards made before the import still find it.
    generated = {(q.question, tuple(q.options)): q for q in model.questions}
    bank = []
    for row in bank_from_json(rows):
        question = row.to_question()
        same = generated.get((question.question, tuple(question.options)))
        if same is not None:
            question = dataclasses.replace(
                same, answer=question.answer, section_id=question.section_id, explanation=question.explanation
            )
        bank.append(question)
    if mode == "add":
        known = {q.id for q in bank}
        bank = [*(q for q in model.questions if q.id not in known), *bank]
    questions = bank
    return dataclasses.replace(model, questions=questions)


def bank_to_json(rows) -> str:
    """Curated questions as the database keeps them."""
    return json.dumps([dataclasses.asdict(row) for row in rows], ensure_ascii=False)


def bank_from_json(text: str) -> list[BankRow]:
    """The curated questions a course keeps."""
    return [BankRow(**{**item, "options": tuple(item["options"])}) for item in json.loads(text)]
