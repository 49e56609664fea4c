"""`studybot course add|list|show`: the courses of a database, from the command line.

A course added here is published at once for the chats that have finished theirs (`--switch all`: for
every chat), as the admin's [发布] does in the chat; a running bot picks it up at the next push.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.core.render import to_plain
from bot.core.storage import Storage, text_hash
from bot.startup import config_or_exit, fail


def _speech(path: str) -> str:
    """The text of a speech file (.txt in any encoding the engine reads), or one line and exit 2."""
    from content.textfile import NotTextError, decode_text

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise fail(f"course add: cannot read {path}: {exc.strerror or exc}") from None
    if Path(path).suffix.lower() == ".docx":
        try:
            from bot.core.documents import DocumentError, speech_text
        except ImportError:  # pragma: no cover - python-docx comes with the package
            raise fail("course add: .docx needs python-docx") from None
        try:
            return speech_text(Path(path).name, data)
        except DocumentError as exc:
            raise fail(f"course add: {path}: {exc}") from None
    try:
        return decode_text(data)
    except NotTextError as exc:
        raise fail(f"course add: {path}: {exc}") from None


def add(path: str, title: str | None, switch: str) -> int:
    """Store the speech at `path` as a course and publish it; print its preview."""
    from bot.core.actions.courses import course_preview
    from content import ContentError, EmptySpeechError, build_model

    text = _speech(path)
    try:
        model = build_model(text)
    except (ContentError, EmptySpeechError) as exc:
        raise fail(f"course add: {path}: {exc}") from None
    config = config_or_exit()
    with Storage(config.db_path) as storage:
        _configured(storage, config)
        course, created = storage.add_course(
            text, title or model.title, Path(path).name, datetime.now(UTC), created_by="cli", publish=switch
        )
        if not created:
            existing = storage.course(course)
            print(f"studybot: {path} is already course {course} (《{existing['title']}》); nothing added")
            return 0
    print(to_plain(course_preview(model, title)))
    who = "every chat at its next push" if switch == "all" else "chats that have finished their course"
    print(f"studybot: published as course {course}, for {who}")
    return 0


def list_courses() -> int:
    """Print every course: id, title, state, who it was published for, chats on it."""
    config = config_or_exit()
    with Storage(config.db_path) as storage:
        _configured(storage, config)
        counts = storage.course_counts()
        default = storage.default_course()
        for course in storage.courses():
            when = (
                datetime.fromtimestamp(course["published_at"], UTC).strftime("%Y-%m-%d")
                if course["published_at"]
                else "—"
            )
            state = (
                "draft"
                if course["state"] == "draft"
                else ("for every chat" if course["switch"] == "all" else "for chats that finished theirs")
            )
            mark = " (default)" if course["id"] == default else ""
            print(
                f"{course['id']:>3}  《{course['title']}》{mark}  {state}, published {when}, "
                f"{course['chars'] or 0} characters, {counts.get(course['id'], 0)} chats"
            )
    return 0


def show(course_id: int, full: bool) -> int:
    """Print a course's outline as `content show` does."""
    from bot.outline import outline
    from content import build_model

    config = config_or_exit()
    with Storage(config.db_path) as storage:
        _configured(storage, config)
        course = storage.course(course_id)
        text = storage.course_text(course_id)
    if course is None or not text:
        raise fail(f"course show: no course {course_id}; `studybot course list` shows them")
    print(f"course {course_id} · {course['state']} · source {course['source']}")
    sys.stdout.write(outline(build_model(text), full=full))
    return 0


def _configured(storage: Storage, config) -> None:
    """Register the configured speech (course 1 on a new database) as `studybot run` would."""
    from content import parse_speech, read_text

    try:
        text = read_text(config.content_path)
    except Exception:  # noqa: BLE001 - a broken STUDYBOT_CONTENT: the courses can still be listed
        return
    if storage.course_by_hash(text_hash(text)) is None:
        title = parse_speech(text).title  # the title only: no need to build the whole model
        storage.register_configured_course(text, title, config.content_path or "bundled", datetime.now(UTC))
