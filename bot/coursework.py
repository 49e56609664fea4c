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
        from bot.core.documents import DocumentError, speech_text

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


def _course_model(storage: Storage, course_id: int, what: str):
    """The course's generated model, or one line and exit 2 if there is no such course."""
    from content import build_model

    text = storage.course_text(course_id)
    if not text:
        raise fail(f"{what}: no course {course_id}; `studybot course list` shows them")
    return build_model(text)


def questions_export(course_id: int, fmt: str, output: str | None) -> int:
    """Write the questions the bot asks in a course (generated, or the imported bank) as XLSX or CSV."""
    from bot.core.bank import bank_rows, to_csv, to_xlsx
    from bot.core.catalog import with_bank

    config = config_or_exit()
    with Storage(config.db_path) as storage:
        _configured(storage, config)
        model = with_bank(storage, course_id, _course_model(storage, course_id, "course questions export"))
    rows = bank_rows(model.questions, model.sections)
    data = to_xlsx(rows) if fmt == "xlsx" else to_csv(rows)
    path = Path(output or f"course-{course_id}-questions.{fmt}")
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise fail(f"course questions export: cannot write {path}: {exc.strerror or exc}") from None
    print(f"studybot: {len(rows)} questions of course {course_id} written to {path}")
    return 0


def questions_import(course_id: int, path: str, add: bool) -> int:
    """Check a bank (XLSX or CSV) row by row and, if every row is right, make it the course's questions
    (or add it to the generated ones); with any wrong row nothing is imported."""
    from bot.core.bank import bank_rows, diff_banks, read_bank, section_names
    from bot.core.catalog import bank_from_json, bank_to_json

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise fail(f"course questions import: cannot read {path}: {exc.strerror or exc}") from None
    config = config_or_exit()
    with Storage(config.db_path) as storage:
        _configured(storage, config)
        model = _course_model(storage, course_id, "course questions import")
        imported = read_bank(data, Path(path).name, section_names(model.sections))
        if not imported.ok:
            for error in imported.errors:
                print(f"studybot: {path}: {error}", file=sys.stderr)
            print(f"studybot: nothing imported ({len(imported.errors)} problems)", file=sys.stderr)
            return 1
        stored, _mode = storage.course_bank(course_id)
        current = bank_from_json(stored) if stored else bank_rows(model.questions, model.sections)
        storage.set_course_bank(course_id, bank_to_json(imported.rows), "add" if add else "replace")
    how = "added to the generated ones" if add else "replacing the generated ones"
    print(f"studybot: {diff_banks(current, imported.rows)}")
    print(f"studybot: {len(imported.rows)} questions imported into course {course_id}, {how}")
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
