"""The `studybot` command line: run the bot, chat in the console, check the set-up, back up, export or show
the content."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

logger = logging.getLogger(__name__)

EXIT_USAGE = 2


def cmd_run(args: argparse.Namespace) -> int:
    """Run every configured channel (Telegram, WeCom robots, WeCom app) and the scheduler until stopped."""
    from bot.startup import run

    return run()


def cmd_console(args: argparse.Namespace) -> int:
    """Chat with the bot in the terminal: one command per line on stdin, replies on stdout."""
    from bot.startup import console

    return console()


def _load(args: argparse.Namespace):
    from content import ContentError, EmptySpeechError, load_model

    path = args.file or os.environ.get("STUDYBOT_CONTENT") or None
    try:
        return load_model(path)
    except (ContentError, EmptySpeechError) as exc:
        print(f"studybot: {exc}", file=sys.stderr)
        return None


def cmd_export(args: argparse.Namespace) -> int:
    """Print the content model (sections, lessons, questions) as JSON."""
    model = _load(args)
    if model is None:
        return EXIT_USAGE
    json.dump(model.to_dict(), sys.stdout, ensure_ascii=False, indent=2 if args.indent else None)
    sys.stdout.write("\n")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print a readable outline: sections, lessons with prompts, question counts (--all: every question)."""
    model = _load(args)
    if model is None:
        return EXIT_USAGE
    from bot.outline import outline

    sys.stdout.write(outline(model, full=args.all))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the database (STUDYBOT_DB) to PATH while the bot runs: a new file, or a directory for a dated one."""
    from bot.core.storage.backup import BackupError, backup
    from bot.startup import config_or_exit, fail

    config = config_or_exit()
    try:
        report = backup(config.db_path, args.path)
    except BackupError as exc:
        raise fail(f"backup: {exc}") from None
    print(
        f"studybot: backup of {config.db_path} written to {report.path} "
        f"({report.size / 1e6:.1f} MB, schema version {report.schema_version}, {report.seconds:.1f} s)"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Try each configured item once (settings, database, speech, Telegram, WeCom): ✓ or what to fix, a line
    each; exit 1 if one fails."""
    from bot.selfcheck import check

    return check()


def cmd_course_add(args: argparse.Namespace) -> int:
    """Add a speech (.txt in any encoding, or .docx) as a course and publish it; prints its preview."""
    from bot.coursework import add

    return add(args.file, args.title, args.switch)


def cmd_course_list(args: argparse.Namespace) -> int:
    """List the courses: id, title, who it was published for, chats on it."""
    from bot.coursework import list_courses

    return list_courses()


def cmd_course_show(args: argparse.Namespace) -> int:
    """Show a course's outline: sections, lessons with prompts, the quiz bank (--all: everything)."""
    from bot.coursework import show

    return show(args.id, args.all)


def cmd_questions_export(args: argparse.Namespace) -> int:
    """Write a course's questions as a question bank (题型, 题干, 选项A–D, 答案, 解析/出处, 部分)."""
    from bot.coursework import questions_export

    return questions_export(args.id, args.format, args.output)


def cmd_questions_import(args: argparse.Namespace) -> int:
    """Import a question bank (XLSX or CSV) into a course: every row checked, nothing imported if one is
    wrong; it replaces the generated questions (--add: joins them)."""
    from bot.coursework import questions_import

    return questions_import(args.id, args.file, args.add)


def _course_parser(sub) -> None:
    course = sub.add_parser("course", help="Courses: the speeches this bot teaches over time.")
    course_sub = course.add_subparsers(dest="course_command", required=True, metavar="COMMAND")
    add = course_sub.add_parser("add", help=cmd_course_add.__doc__, description=cmd_course_add.__doc__)
    add.add_argument("file", metavar="FILE", help="the speech: .txt or .docx")
    add.add_argument("--title", help="the course's title (default: the speech's own)")
    add.add_argument(
        "--switch",
        choices=("finished", "all"),
        default="finished",
        help="who moves on to it: chats that have finished their course (default), or every chat at its next push",
    )
    add.set_defaults(func=cmd_course_add)
    listing = course_sub.add_parser("list", help=cmd_course_list.__doc__, description=cmd_course_list.__doc__)
    listing.set_defaults(func=cmd_course_list)
    show = course_sub.add_parser("show", help=cmd_course_show.__doc__, description=cmd_course_show.__doc__)
    show.add_argument("id", metavar="ID", type=int)
    show.add_argument("--all", action="store_true", help="every lesson in full and every question")
    show.set_defaults(func=cmd_course_show)
    questions = course_sub.add_parser("questions", help="A course's question bank (题库): export or import.")
    q_sub = questions.add_subparsers(dest="questions_command", required=True, metavar="COMMAND")
    export = q_sub.add_parser(
        "export", help=cmd_questions_export.__doc__, description=cmd_questions_export.__doc__
    )
    export.add_argument("id", metavar="ID", type=int)
    export.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    export.add_argument("-o", "--output", metavar="PATH", help="default: course-ID-questions.FORMAT")
    export.set_defaults(func=cmd_questions_export)
    imp = q_sub.add_parser(
        "import", help=cmd_questions_import.__doc__, description=cmd_questions_import.__doc__
    )
    imp.add_argument("id", metavar="ID", type=int)
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--add", action="store_true", help="keep the generated questions and add these")
    imp.set_defaults(func=cmd_questions_import)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each command's help is its function's docstring."""
    parser = argparse.ArgumentParser(prog="studybot", description="学习助手 StudyBot")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, func in (("run", cmd_run), ("console", cmd_console), ("check", cmd_check)):
        p = sub.add_parser(name, help=func.__doc__, description=func.__doc__)
        p.set_defaults(func=func)
    backup = sub.add_parser("backup", help=cmd_backup.__doc__, description=cmd_backup.__doc__)
    backup.add_argument("path", metavar="PATH", help="a new file, or a directory")
    backup.set_defaults(func=cmd_backup)
    content = sub.add_parser("content", help="Export or show the speech's content model.")
    content_sub = content.add_subparsers(dest="content_command", required=True, metavar="COMMAND")
    export = content_sub.add_parser("export", help=cmd_export.__doc__, description=cmd_export.__doc__)
    export.add_argument("--json", action="store_true", help="JSON output (the only format; kept for clarity)")
    export.add_argument("--indent", action="store_true", help="pretty-print")
    show = content_sub.add_parser("show", help=cmd_show.__doc__, description=cmd_show.__doc__)
    show.add_argument("--all", action="store_true", help="also list every question")
    for p in (export, show):
        p.add_argument(
            "--file", metavar="PATH", help="speech text file (default: STUDYBOT_CONTENT or bundled)"
        )
    export.set_defaults(func=cmd_export)
    show.set_defaults(func=cmd_show)
    _course_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; nothing left to say.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
