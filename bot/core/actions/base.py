"""What every area of actions shares: the store, the content model of its course, the settings, and a few
lookups. An area serves one course: the dispatcher keeps one set of areas per course in use."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.actions.replies import Button
from bot.core.config import Config, parse_hhmm
from bot.core.schedule import next_due, next_reminder
from bot.core.storage import Storage
from content import ContentModel
from content.lessons import Lesson


class Area:
    """One area of commands (lookup, study, quizzes, subscription, admin) over the shared state."""

    def __init__(
        self, storage: Storage, model: ContentModel, config: Config, robot_count: int = 0, course_id: int = 1
    ):
        self.storage = storage
        self.model = model
        self.course_id = course_id
        self.config = config
        self.robot_count = robot_count
        self.lessons = model.lessons

    def tagged(self, data: str) -> str:
        """Button data that names this area's course (`done:3@2`), so a button pressed after the chat
        moved on to another course still means the lesson or part it was shown with. Course 1 untagged:
        the buttons of messages sent before there were courses mean course 1 too."""
        return data if self.course_id == 1 else f"{data}@{self.course_id}"

    def lesson(self, day: int | None) -> Lesson | None:
        """The lesson of plan day `day` (1-based), or None."""
        if day is None or not 1 <= day <= len(self.lessons):
            return None
        return self.lessons[day - 1]

    def section_name(self, section_id: str) -> str:
        """A part's name as shown (its id if the model has no such part)."""
        section = self.model.section(section_id)
        if section is None:
            return section_id
        return section.name

    def zone(self, chat: dict) -> ZoneInfo:
        """The chat's time zone (the default zone if its own is unknown)."""
        try:
            return ZoneInfo(chat.get("timezone") or self.config.timezone)
        except Exception:
            return ZoneInfo(self.config.timezone)

    def next_due(self, chat: dict, push_time: time, now: datetime) -> int:
        """Epoch seconds of the chat's next push at `push_time`, after its last lesson."""
        last = chat.get("last_local_date")
        last_date = datetime.strptime(last, "%Y-%m-%d").date() if last else None
        return int(next_due(self.zone(chat), push_time, last_date, now).timestamp())

    def remind_due(self, chat: dict, now: datetime) -> int | None:
        """Epoch seconds of the chat's next study reminder after now (None if it has none), never a
        second one on a study day that had its reminder."""
        if not chat.get("remind_at"):
            return None
        handled = self.storage.last_reminded(chat["key"])
        at = parse_hhmm(chat["remind_at"])
        return int(next_reminder(self.zone(chat), at, handled, now, late=timedelta(0))[1].timestamp())


def home_buttons() -> list[Button]:
    """Today's lesson, the contents, a quiz: where a lost user can start."""
    return [Button("📖 今日学习", "today"), Button("📚 目录", "toc"), Button("🧠 答题", "quiz:5")]
