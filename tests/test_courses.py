"""Courses: many speeches over time, each chat on one with its place kept in each.

Real SQLite files, the real content engine on the test speeches, the real daily push (jobs.daily) with a
recording sender; a database written by the release before courses (tests/data/db-before-courses.sqlite,
made by tests/data/make_db_before_courses.py with that release's code) upgraded in place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from processes import STUDYBOT

from bot.core import schedule
from bot.core.actions import Actions, Ctx, Message
from bot.core.catalog import Catalog
from bot.core.config import Config
from bot.core.render import to_plain
from bot.core.storage import SCHEMA_VERSION, Storage, text_hash
from content import build_model, bundled_text, load_model, read_text
from jobs.daily import DailyPush
from jobs.pacing import Pacer

DATA = Path(__file__).parent / "data"
SPEECHES = DATA / "speeches"
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def speech(name: str) -> str:
    return read_text(next(SPEECHES.glob(f"{name}*.txt")))


class Recorder:
    """A Sender that keeps what it was given."""

    def __init__(self):
        self.sent: list[tuple[str, Message]] = []

    def is_group(self, chat_key: str, chat_type: str) -> bool:
        return chat_type != "private"

    async def send(self, chat_key: str, message: Message) -> str:
        self.sent.append((chat_key, message))
        return str(len(self.sent))

    async def edit(self, chat_key, message_id, doc) -> None:
        return None


@pytest.fixture
def bot(tmp_path, model):
    storage = Storage(tmp_path / "bot.db")
    catalog = Catalog.for_configured(storage, bundled_text(), model, None, NOW)
    actions = Actions(storage, catalog, Config.from_env({"STUDYBOT_ADMINS": "1"}))
    yield storage, actions
    storage.close()


def chat_at(storage: Storage, key: str, pos: int, done: bool = False, course: int = 1) -> None:
    """A subscribed chat at plan position `pos` of its course, due now."""
    storage.ensure_chat(key, key.split(":")[0], "private", None, timezone="Asia/Shanghai")
    storage.subscribe(key, "08:00", NOW - timedelta(days=30), int((NOW - timedelta(minutes=5)).timestamp()))
    storage.db.execute(
        "UPDATE chats SET plan_pos = ?, plan_done = ?, course_id = ?, course_since = ? WHERE key = ?",
        [pos, int(done), course, int((NOW - timedelta(days=30)).timestamp()), key],
    )
    storage.db.conn.commit()


async def push(storage: Storage, actions: Actions, now: datetime = NOW) -> Recorder:
    recorder = Recorder()
    daily = DailyPush(storage, actions, {"tg": recorder, "console": recorder}, Pacer(1000), schedule)
    await daily.tick(now)
    return recorder


def ctx(key: str = "tg:7", now: datetime = NOW, **kw) -> Ctx:
    return Ctx(key, key.split(":")[0], kw.pop("chat_type", "private"), key, "小赵", now, **kw)


def text_of(outs) -> str:
    return "\n".join(to_plain(o.doc) for o in outs if isinstance(o, Message))


# -- the database of the release before courses ---------------------------------------------------------


async def test_a_database_from_before_courses_upgrades_in_place(tmp_path, model):
    db = tmp_path / "old.db"
    shutil.copy(DATA / "db-before-courses.sqlite", db)
    storage = Storage(db)
    try:
        assert storage.schema_version == SCHEMA_VERSION
        chats = {c["key"]: c for c in storage.db.query("SELECT * FROM chats")}
        assert {k: (c["course_id"], c["plan_pos"], c["plan_done"]) for k, c in chats.items()} == {
            "tg:501": (1, 5, 0),
            "tg:-1002": (1, 0, 0),
            "tg:503": (1, 15, 1),
        }
        assert storage.course_place("tg:503", 1) == (15, True)
        for table in (
            "deliveries",
            "quiz_sessions",
            "quiz_answers",
            "reflections",
            "lesson_messages",
            "study_marks",
        ):
            assert {r["course_id"] for r in storage.db.query(f"SELECT course_id FROM {table}")} == {1}, table
        # The ✅ marks of then are check-ins now, on their study day in the chat's zone (schema 5).
        assert storage.checkin_dates("tg:501") == [date(2026, 11, 20)]
        cards = list(storage.db.query("SELECT * FROM review_cards"))
        assert len(cards) == 3 and {c["course_id"] for c in cards} == {1}
        # The bot starts: the configured (bundled) speech becomes course 1's text, and everything refers to it.
        catalog = Catalog.for_configured(storage, bundled_text(), model, None, NOW)
        assert catalog.configured_id == 1 and storage.course(1)["title"] == model.title
        assert storage.course_by_hash(text_hash(bundled_text()))["id"] == 1
        actions = Actions(storage, catalog, Config.from_env({}))
        assert all(c["question_id"] in model.question_by_id for c in cards)
        me = text_of(await actions.command(ctx("tg:501"), "me", ""))
        assert "错题本：3 题" in me
        review = await actions.command(ctx("tg:501", NOW + timedelta(days=2)), "review", "")
        assert any(getattr(o, "question", None) for o in review)
        assert storage.lesson_for_message("tg:501", "2001") == (1, 2)
        course, pos, day, message = actions.push_for(storage.get_chat("tg:501"))
        assert (course, pos, day) == (1, 5, 6) and "第 6 天" in to_plain(message.doc)
    finally:
        storage.close()


# -- publishing --------------------------------------------------------------------------------------


async def test_a_course_for_finished_chats_moves_on_only_those(bot):
    storage, actions = bot
    chat_at(storage, "tg:11", 2)  # mid-plan
    total = len(actions.model.lessons)
    chat_at(storage, "tg:12", total + 3, done=True)  # finished, in review
    second = speech("s02")
    course, created = storage.add_course(second, "第二讲", "s02.txt", NOW, publish="finished")
    assert created and course == 2
    sent = dict((await push(storage, actions)).sent)
    assert "第 3 天" in to_plain(sent["tg:11"].doc)
    moved = to_plain(sent["tg:12"].doc)
    new = build_model(second)
    assert f"第 1 天 / 共 {len(new.lessons)} 天" in moved and new.lessons[0].text[:20] in moved
    assert storage.get_chat("tg:12")["course_id"] == 2 and storage.get_chat("tg:12")["plan_pos"] == 1
    assert storage.course_place("tg:12", 1) == (total + 3, True)  # its place in the first course kept
    assert storage.get_chat("tg:11")["course_id"] == 1
    # The next day: each goes on in its own course.
    sent = dict((await push(storage, actions, NOW + timedelta(days=1))).sent)
    assert "第 4 天" in to_plain(sent["tg:11"].doc) and "第 2 天" in to_plain(sent["tg:12"].doc)


async def test_a_course_for_every_chat_switches_each_at_its_next_push_and_back_resumes(bot):
    storage, actions = bot
    chat_at(storage, "tg:21", 4)
    storage.add_course(speech("s04"), "", "s04.txt", NOW, publish="all")
    sent = dict((await push(storage, actions)).sent)
    assert "第 1 天" in to_plain(sent["tg:21"].doc)
    assert storage.course_place("tg:21", 1) == (4, False)
    # Back to the first course with /course: it resumes at day 5.
    listing = await actions.command(ctx("tg:21"), "course", "")
    buttons = [b.data for row in listing[0].buttons for b in row]
    assert buttons == ["crs:1"] and "▶ 2." in text_of(listing) and "学到第 4 天" in text_of(listing)
    switched = text_of(await actions.button(ctx("tg:21"), "crs:1"))
    assert "从第 5 天继续" in switched
    today = text_of(await actions.command(ctx("tg:21"), "today", ""))
    assert "第 5 天" in today
    # The publication for every chat does not pull it back: it chose, after it.
    sent = dict((await push(storage, actions, NOW + timedelta(days=1))).sent)
    assert "第 5 天" in to_plain(sent["tg:21"].doc) and storage.get_chat("tg:21")["course_id"] == 1


async def test_a_new_speech_in_studybot_content_is_a_new_course(tmp_path, model):
    """The bug this issue starts from: a chat on day 15 of the old plan was told it had finished a speech
    it had never seen."""
    storage = Storage(tmp_path / "bot.db")
    try:
        Catalog.for_configured(storage, bundled_text(), model, None, NOW)
        chat_at(storage, "tg:31", 15, done=True)
        text = speech("s05")
        new = build_model(text)
        catalog = Catalog.for_configured(storage, text, new, "/srv/next.txt", NOW + timedelta(hours=1))
        assert catalog.configured_id == 2
        actions = Actions(storage, catalog, Config.from_env({}))
        later = NOW + timedelta(days=1)
        sent = dict((await push(storage, actions, later)).sent)
        lesson = to_plain(sent["tg:31"].doc)
        assert "全部完成" not in lesson and "复习" not in lesson
        assert f"第 1 天 / 共 {len(new.lessons)} 天" in lesson
        settings = text_of(await actions.command(ctx("tg:31", later), "settings", ""))
        assert f"下一课是第 2 天 / 共 {len(new.lessons)} 天" in settings
        # Restarting with the same speech changes nothing; going back to the old one is course 1 again.
        assert Catalog.for_configured(storage, text, new, "/srv/next.txt", later).configured_id == 2
        assert Catalog.for_configured(storage, bundled_text(), model, None, later).configured_id == 1
        assert len(storage.courses()) == 2
    finally:
        storage.close()


# -- everything keyed by course --------------------------------------------------------------------------


async def test_answers_and_review_cards_belong_to_their_course(bot):
    storage, actions = bot
    chat_at(storage, "tg:41", 0)
    storage.add_course(speech("s01"), "", "s01.txt", NOW, publish="all")
    assert storage.switch_course("tg:41", 2, NOW)
    outs = await actions.command(ctx("tg:41"), "quiz", "3")
    polls = [o for o in outs if hasattr(o, "question")]
    second = actions.areas(2).model
    assert polls and polls[0].question.id in second.question_by_id
    quiz = storage.active_quiz("tg:41")
    assert quiz["course_id"] == 2
    for _ in quiz["question_ids"]:
        session = storage.active_quiz("tg:41")
        if session is None:
            break
        question = second.question_by_id[session["question_ids"][session["position"]]]
        await actions.text(ctx("tg:41"), "ABCD"[(question.answer + 1) % len(question.options)])
    cards = list(storage.db.query("SELECT course_id, question_id FROM review_cards WHERE user_key = 'tg:41'"))
    assert cards and {c["course_id"] for c in cards} == {2}
    assert all(c["question_id"] in second.question_by_id for c in cards)
    # On the first course, its own (empty) wrong-answer book; back on the second, the cards are there.
    storage.switch_course("tg:41", 1, NOW)
    assert "错题本是空的" in text_of(await actions.command(ctx("tg:41"), "review", ""))
    storage.switch_course("tg:41", 2, NOW)
    review = await actions.command(ctx("tg:41", NOW + timedelta(days=1)), "review", "")
    asked = [o.question.id for o in review if hasattr(o, "question")]
    assert asked and all(q in second.question_by_id for q in asked)


async def test_buttons_of_an_earlier_course_still_mean_its_lessons(bot):
    storage, actions = bot
    chat_at(storage, "tg:51", 0)
    storage.add_course(speech("s06"), "", "s06.txt", NOW, publish="all")
    storage.switch_course("tg:51", 2, NOW)
    lesson = (await actions.command(ctx("tg:51"), "today", ""))[0]
    data = [b.data for row in lesson.buttons for b in row]
    assert data == ["done:1@2", "note:1@2", "quiz:3:d1@2"]
    storage.switch_course("tg:51", 1, NOW)
    outs = await actions.button(ctx("tg:51"), "quiz:3:d1@2")
    first = [o for o in outs if hasattr(o, "question")][0]
    assert first.question.id in actions.areas(2).model.question_by_id
    assert storage.active_quiz("tg:51")["course_id"] == 2


async def test_course_in_a_group_lists_for_all_and_switches_for_its_admins_only(bot):
    storage, actions = bot
    storage.add_course(speech("s03"), "", "s03.txt", NOW, publish="finished")

    async def no() -> bool:
        return False

    async def yes() -> bool:
        return True

    member = ctx("tg:-61", chat_type="supergroup", chat_title="组", group_admin_check=no)
    listing = await actions.command(member, "course", "")
    assert "只有群管理员能切换" in text_of(listing) and not listing[0].buttons
    assert "只有群管理员可以切换" in text_of(await actions.button(member, "crs:2"))
    assert storage.get_chat("tg:-61")["course_id"] == 1
    admin = ctx("tg:-61", chat_type="supergroup", chat_title="组", group_admin_check=yes)
    assert "已切换到" in text_of(await actions.command(admin, "course", "2"))
    assert storage.get_chat("tg:-61")["course_id"] == 2
    assert "没有这门课程" in text_of(await actions.command(admin, "course", "9"))
    assert "没有这门课程：" + "人" * 20 + "…" in text_of(await actions.command(admin, "course", "人" * 500))


async def test_wecom_and_console_say_kecheng(bot):
    storage, actions = bot
    storage.add_course(speech("s07"), "", "s07.txt", NOW, publish="finished")
    for key in ("wecom:zhang", "console:local"):
        listing = text_of(await actions.text(ctx(key), "课程"))
        assert "2." in listing and "发送“课程 2”" in listing
        assert "已切换到" in text_of(await actions.text(ctx(key), "课程 2"))
        assert storage.get_chat(key)["course_id"] == 2


def test_new_chats_start_on_the_last_course_published_for_everyone(bot):
    storage, _actions = bot
    storage.ensure_chat("tg:71", "tg", "private")
    storage.add_course(speech("s08"), "", "s08.txt", NOW, publish="finished")
    storage.ensure_chat("tg:72", "tg", "private")
    storage.add_course(speech("s10"), "", "s10.txt", NOW + timedelta(seconds=1), publish="all")
    storage.ensure_chat("tg:73", "tg", "private")
    assert [storage.get_chat(k)["course_id"] for k in ("tg:71", "tg:72", "tg:73")] == [1, 1, 3]
    assert storage.default_course() == 3


def test_the_same_text_twice_is_one_course(bot):
    storage, _ = bot
    text = speech("s11")
    assert storage.add_course(text, "", "a.txt", NOW)[1] is True
    again, created = storage.add_course(text.replace("\n", "\r\n") + "\n\n", "", "b.txt", NOW)
    assert not created and again == 2


def test_the_catalog_builds_a_course_once_and_keeps_a_few(tmp_path, model):
    storage = Storage(tmp_path / "bot.db")
    built = []

    def build(text):
        built.append(text_hash(text))
        return model

    try:
        catalog = Catalog.for_configured(storage, bundled_text(), model, None, NOW, size=2, build=build)
        ids = [
            storage.add_course(speech(n), "", n, NOW, publish="finished")[0] for n in ("s01", "s02", "s03")
        ]
        for course in ids + ids[-2:]:
            catalog.model(course)
        assert len(built) == 3 and catalog.loaded() == 3  # the configured one and the last two
        catalog.model(ids[0])  # evicted: built again
        assert len(built) == 4
        assert catalog.model(1) is model and catalog.model(999) is model
    finally:
        storage.close()


# -- the command line ---------------------------------------------------------------------------------------


def test_studybot_course_add_list_show(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    env["STUDYBOT_DB"] = str(tmp_path / "bot.db")

    def run(*args):
        return subprocess.run(
            [STUDYBOT, "course", *args], env=env, capture_output=True, text=True, timeout=120
        )

    gbk = tmp_path / "第九讲.txt"
    gbk.write_bytes(speech("s09").encode("gb18030"))
    added = run("add", str(gbk), "--title", "第九讲")
    assert added.returncode == 0, added.stderr
    assert "📄 《第九讲》" in added.stdout and "published as course 2" in added.stdout
    again = run("add", str(gbk))
    assert again.returncode == 0 and "is already course 2" in again.stdout
    listing = run("list")
    lines = listing.stdout.splitlines()
    assert listing.returncode == 0 and len(lines) == 2 and "《第九讲》" in lines[1]
    shown = run("show", "2")
    assert shown.returncode == 0 and "章节" in shown.stdout and "学习计划" in shown.stdout
    missing = run("show", "7")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 10)
    bad = run("add", str(junk))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "junk.txt" in bad.stderr


def test_models_load_from_the_database_not_the_file(tmp_path, model):
    """A course's text lives in SQLite: the file it came from may go."""
    storage = Storage(tmp_path / "bot.db")
    try:
        path = tmp_path / "talk.txt"
        path.write_text(speech("s06"), encoding="utf-8")
        catalog = Catalog.for_configured(storage, bundled_text(), load_model(), None, NOW)
        course, _ = storage.add_course(
            path.read_text(encoding="utf-8"), "", path.name, NOW, publish="finished"
        )
        path.unlink()
        assert catalog.model(course).title == build_model(speech("s06")).title
    finally:
        storage.close()


async def test_me_and_stats_show_each_course_and_the_total(bot):
    storage, actions = bot
    chat_at(storage, "tg:81", 3)
    storage.add_course(speech("s02"), "第二讲", "s02.txt", NOW, publish="finished")
    storage.add_reflection("tg:81", "tg:81", 2, "第一讲的心得", NOW, course_id=1)
    storage.switch_course("tg:81", 2, NOW)
    storage.add_reflection("tg:81", "tg:81", 1, "第二讲的心得", NOW, course_id=2)
    storage.add_reflection("tg:81", "tg:81", 1, "第二讲又一篇", NOW, course_id=2)
    me = text_of(await actions.command(ctx("tg:81"), "me", ""))
    assert "心得：3 篇" in me
    assert f"《{actions.model.title}》：学到第 3 天" in me and "《第二讲》：刚开始" in me
    assert "心得 1 篇" in me and "心得 2 篇" in me
    admin = Ctx("tg:1", "tg", "private", "tg:1", "管理员", NOW, is_bot_admin=True)
    stats = text_of(await actions.command(admin, "stats", ""))
    assert "各课程：" in stats and "《第二讲》：1 个聊天在学" in stats and "心得 2 篇" in stats


async def test_wecom_robots_follow_the_default_course(bot):
    storage, actions = bot
    storage.ensure_chat("robot:aaaa1111", "robot", "robot", "企业微信群", timezone="Asia/Shanghai")
    storage.subscribe("robot:aaaa1111", "08:00", NOW, int((NOW - timedelta(minutes=1)).timestamp()))
    storage.db.execute(
        "UPDATE chats SET course_since = ? WHERE key = 'robot:aaaa1111'", [int(NOW.timestamp()) - 60]
    )
    storage.db.conn.commit()  # on the robot since before NOW (the storage's own clock is the wall clock)
    assert actions.push_for(storage.get_chat("robot:aaaa1111"))[0] == 1
    storage.add_course(speech("s03"), "", "s03.txt", NOW, publish="finished")
    assert actions.push_for(storage.get_chat("robot:aaaa1111"))[0] == 1  # mid-course: it stays
    storage.add_course(speech("s11"), "", "s11.txt", NOW + timedelta(seconds=5), publish="all")
    course, pos, day, _ = actions.push_for(storage.get_chat("robot:aaaa1111"))
    assert (course, pos, day) == (3, 0, 1) and storage.default_course() == 3
    storage.ensure_chat("robot:bbbb2222", "robot", "robot", "新群", timezone="Asia/Shanghai")
    assert storage.get_chat("robot:bbbb2222")["course_id"] == 3


async def test_inline_search_serves_the_users_course(bot):
    storage, actions = bot
    text = speech("s01")
    storage.add_course(text, "", "s01.txt", NOW, publish="finished")
    chat_at(storage, "tg:91", 0)
    storage.switch_course("tg:91", 2, NOW)
    hits = await actions.inline("乡村振兴", "tg:91")
    assert hits and all(hit.text.split("\n——")[0] in text for hit in hits)
    first = await actions.inline("乡村振兴", "tg:99999")  # never wrote: the default course
    assert all(
        hit.text.split("\n——")[0] not in text or hit.text.split("\n——")[0] in bundled_text() for hit in first
    )
