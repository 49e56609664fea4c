"""Reports (issue 14, items 4 and 5): /stats per group with getChatMemberCount, the charts of /me and
/stats as photos, over the whole service and the Bot API stand-in; time is the harness's clock."""

from __future__ import annotations

import asyncio
import hashlib
import io
import tempfile
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from botapi_standin import BotAPIStandin
from helpers import Clock, sent_to
from openpyxl import load_workbook
from test_telegram import ADMIN, ALICE, BOB, CAROL, GROUP, TOKEN, Harness, running
from wecom_standin import WeComStandin

from bot.channels.console import Console
from bot.core.actions import Actions, reports
from bot.core.config import Config
from bot.core.schedule import study_date
from bot.core.storage import Storage
from bot.core.storage import robot_chat_key as robot_key

PNG = b"\x89PNG\r\n\x1a\n"
OTHER = -100600
NOW_CONSOLE = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)


@pytest.fixture
async def bot(tmp_path):
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        api.add_user(ALICE, "小王")
        api.add_user(BOB, "小李")
        api.add_user(CAROL, "小张")
        api.add_chat(GROUP, "supergroup", "学习小组", admins=[ALICE], members=[ADMIN, ALICE, BOB, CAROL])
        api.add_chat(OTHER, "supergroup", "第二小组", admins=[BOB], members=[BOB, CAROL])
        reports._member_counts.clear()
        # Wednesday 2026-11-25, 09:00 in Shanghai.
        clock = Clock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
        env = {"STUDYBOT_ADMINS": str(ADMIN)}
        async with running(api, tmp_path, clock, **env) as (service, storage):
            yield Harness(api, service, storage, clock)


async def _photos(bot: Harness, chat: int, mark: int, n: int) -> list:
    """The first n sendPhoto calls to chat after mark (waiting up to 20 s for them)."""
    for _ in range(400):
        photos = [c for c in bot.api.calls[mark:] if c.method == "sendPhoto" and sent_to(c, chat)]
        if len(photos) >= n:
            return photos[:n]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{n} photos expected, got {len(photos)}")


async def until(done, storage, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not done in time: {storage.db.execute('SELECT * FROM weekly_reports').fetchall()}")


def check_in(bot: Harness, user: int, chat: int) -> None:
    """A check-in on today's study day (the ✅ under a lesson does this; tested in test_checkins)."""
    today = study_date(bot.service.config.tzinfo, bot.clock())
    assert bot.storage.check_in(f"tg:{user}", f"tg:{chat}", today, bot.clock())


def _png(bot: Harness, call) -> bytes:
    return bot.api.file_content(call.result["photo"][-1]["file_id"])


async def test_stats_per_group_with_member_count_and_charts(bot):
    check_in(bot, ALICE, GROUP)
    check_in(bot, BOB, GROUP)
    await bot.say(GROUP, BOB, "/reflect 群里的一则心得")
    await bot.say(OTHER, BOB, "/sections")  # the bot learns of the group
    check_in(bot, CAROL, OTHER)
    session = bot.storage.start_quiz(f"tg:{GROUP}", f"tg:{ALICE}", ["q1"], bot.clock())
    bot.storage.record_answer(session, f"tg:{GROUP}", f"tg:{ALICE}", "q1", "1", 0, True, bot.clock())
    bot.storage.record_answer(session, f"tg:{GROUP}", f"tg:{BOB}", "q1", "1", 1, False, bot.clock())
    bot.storage.finish_quiz(session)
    mark = bot.api.mark()
    stats = await bot.say(ADMIN, ADMIN, "/stats", method="sendMessage")
    text = stats.params["text"]
    # Four members less the bot's own count: getChatMemberCount says 5 (the bot is one of them).
    assert "<b>学习小组</b> · 成员 4 人 · 出现过 2 人" in text, text
    assert "今日：打卡 2 人 · 学习率 50% · 正确率 50%（第一部分 50%） · 心得 1 篇" in text
    assert "<b>第二小组</b> · 成员 2 人" in text and "今日：打卡 1 人 · 学习率 50%" in text
    assert any(c.method == "getChatMemberCount" for c in bot.api.calls)
    photos = await _photos(bot, ADMIN, mark, 2)
    assert [_png(bot, p)[:8] for p in photos] == [PNG, PNG]
    assert "每日打卡人数" in photos[0].params["caption"]
    # Cached an hour: a second /stats asks the platform nothing.
    before = len(bot.api.calls_for("getChatMemberCount"))
    await bot.say(ADMIN, ADMIN, "/stats", method="sendMessage")
    assert len(bot.api.calls_for("getChatMemberCount")) == before


async def test_stats_text_goes_out_before_its_charts(bot, monkeypatch):
    """The first /stats of a process imports matplotlib for its charts: the text does not wait for them,
    nor does the next update."""
    drawing, release = threading.Event(), threading.Event()
    draw = reports.stats_charts

    def slow_charts(series, parts):  # in the action's thread, as the first chart of a process is
        drawing.set()
        assert release.wait(20), "the test never let the charts be drawn"
        return draw(series, parts)

    monkeypatch.setattr(reports, "stats_charts", slow_charts)
    check_in(bot, ALICE, GROUP)
    mark = bot.api.mark()
    try:
        text = await bot.say(ADMIN, ADMIN, "/stats", method="sendMessage")
        assert "📊 统计" in text.params["text"]
        assert not [c for c in bot.api.calls[mark:] if c.method == "sendPhoto"]
        # The charts are being drawn meanwhile; another user is answered all the same.
        assert (await bot.say(BOB, BOB, "/help", method="sendMessage")).params["text"]
        assert drawing.is_set()
    finally:
        release.set()
    (photo,) = await _photos(bot, ADMIN, mark, 1)  # learners per day (no answers: no accuracy chart)
    calls = bot.api.calls[mark:]
    assert calls.index(text) < calls.index(photo) and _png(bot, photo).startswith(PNG)


async def test_stats_falls_back_to_members_seen(bot):
    await bot.say(GROUP, ALICE, "/sections")
    check_in(bot, ALICE, GROUP)
    bot.api.fail_next("getChatMemberCount", 5, kind=400)
    stats = await bot.say(ADMIN, ADMIN, "/stats", method="sendMessage")
    text = stats.params["text"]
    assert "成员 1 人（按出现过的人数，未能读取群成员数）" in text and "学习率 100%" in text


async def test_me_sends_study_calendar(bot):
    await bot.say(ALICE, ALICE, "打卡")
    mark = bot.api.mark()
    me = await bot.say(ALICE, ALICE, "/me", method="sendMessage")
    assert "学习天数：1 天" in me.params["text"]
    (photo,) = await _photos(bot, ALICE, mark, 1)
    assert _png(bot, photo).startswith(PNG)
    assert "学习日历" in photo.params["caption"]


ROBOT_KEY = "5d6e7f80-1a2b-4c3d-8e9f-weeklyrobot01"


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of November 2026 in Shanghai: 30 November is a Monday."""
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


async def test_weekly_summary_once_on_monday_to_admin_and_robot(tmp_path):
    with BotAPIStandin(token=TOKEN) as api, WeComStandin() as wecom:
        api.add_user(ADMIN, "管理员")
        api.add_user(ALICE, "小王")
        api.add_user(BOB, "小李")
        api.add_chat(GROUP, "supergroup", "学习小组", admins=[ALICE], members=[ALICE, BOB])
        url = wecom.add_robot(ROBOT_KEY)
        reports._member_counts.clear()
        env = {"STUDYBOT_ADMINS": str(ADMIN), "STUDYBOT_WECOM_WEBHOOKS": url}
        clock = Clock(shanghai(29, 10))  # Sunday
        async with running(api, tmp_path, clock, **env) as (service, storage):
            bot = Harness(api, service, storage, clock)
            await bot.say(GROUP, ALICE, "/sections")
            await bot.say(ADMIN, ADMIN, "/start")  # a bot can write to a person who started it
            for user in (ALICE, BOB):
                assert storage.check_in(f"tg:{user}", f"tg:{GROUP}", "2026-11-25", shanghai(25, 9))
            assert (await service.weekly.tick(clock())).sent == 0  # Sunday
            clock.now = shanghai(30, 8, 59)
            assert (await service.weekly.tick(clock())).sent == 0  # Monday, before 09:00
            clock.now = shanghai(30, 9, 0)
            mark = api.mark()
            # The service's own tick may be running too: the claims let one of them send to each.
            await service.weekly.tick(clock())
            await until(lambda: set(storage.weekly_states("2026-11-23").values()) == {"sent"}, storage)
            text = await api.await_call("sendMessage", lambda c: sent_to(c, ADMIN), after=mark, timeout=10)
            assert "上周学习小结" in text.params["text"] and "11月23日–11月29日" in text.params["text"]
            assert (
                "<b>学习小组</b>" in text.params["text"]
                and "上周：打卡 2 人 · 学习率 100%" in text.params["text"]
            )
            (photo,) = await _photos(bot, ADMIN, mark, 1)
            assert _png(bot, photo).startswith(PNG)
            assert (await service.weekly.tick(clock())).sent == 0  # once
            assert len(storage.weekly_states("2026-11-23")) == 2
        summary = [m for m in wecom.robot_messages(ROBOT_KEY) if "上周学习小结" in str(m["content"])]
        images = [m for m in wecom.robot_messages(ROBOT_KEY) if m["msgtype"] == "image"]
        assert len(summary) == 1 and summary[0]["msgtype"] == "markdown"
        assert len(images) == 1 and images[0]["content"].startswith(PNG)
        assert images[0]["md5"] == hashlib.md5(images[0]["content"]).hexdigest()

        # A restart the same Monday (its first tick runs at start) sends nothing again.
        clock.now = shanghai(30, 10)
        async with running(api, tmp_path, clock, **env) as (service, storage):
            assert (await service.weekly.tick(clock())).sent == 0
            states = storage.weekly_states("2026-11-23")
            assert states == {f"tg:{ADMIN}": "sent", robot_key(url): "sent"}
            # Not due on Tuesday, even for recipients that never had it.
            storage.db.execute("DELETE FROM weekly_reports")
            clock.now = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # Tuesday 09:30
            assert (await service.weekly.tick(clock())).sent == 0
        assert len([m for m in wecom.robot_messages(ROBOT_KEY) if m["msgtype"] == "image"]) == 1
        assert len([c for c in api.calls_for("sendPhoto") if sent_to(c, ADMIN)]) == 1


async def test_export_sends_the_workbook_beside_the_csv(bot):
    await bot.say(GROUP, BOB, '/reflect =HYPERLINK("http://x","y")')
    mark = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")
    csv_doc = await bot.api.await_call("sendDocument", lambda c: sent_to(c, ADMIN), after=mark, timeout=20)
    assert csv_doc.result["document"]["file_name"].endswith(".csv")
    xlsx = await bot.api.await_call(
        "sendDocument",
        lambda c: sent_to(c, ADMIN) and c.result["document"]["file_name"].endswith(".xlsx"),
        after=mark,
        timeout=20,
    )
    book = load_workbook(io.BytesIO(bot.api.file_content(xlsx.result["document"]["file_id"])))
    assert book.sheetnames == ["成员", "每日打卡", "答题记录", "心得", "各群汇总"]
    [reflection] = list(book["心得"].iter_rows(min_row=2, values_only=True))
    assert reflection[-1] == '\'=HYPERLINK("http://x","y")'


async def test_export_sends_the_csv_before_the_workbook_is_done(bot, monkeypatch):
    """The CSV parts go out as soon as they are written; the workbook (much slower to write) after them."""
    from bot.core.actions import admin

    release = asyncio.Event()
    real = admin.export_workbook

    async def held_workbook(*args, **kwargs):
        await release.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(admin, "export_workbook", held_workbook)
    await bot.say(GROUP, BOB, "/reflect 导出前的一则心得")
    mark = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")
    try:
        csv_doc = await bot.api.await_call(
            "sendDocument", lambda c: sent_to(c, ADMIN), after=mark, timeout=20
        )
        assert csv_doc.result["document"]["file_name"].endswith(".csv")
        assert "导出 1 条心得与答题记录" in csv_doc.params["caption"]
    finally:
        release.set()
    xlsx = await bot.api.await_call(
        "sendDocument",
        lambda c: sent_to(c, ADMIN) and c.result["document"]["file_name"].endswith(".xlsx"),
        after=mark,
        timeout=20,
    )
    documents = [c for c in bot.api.calls[mark:] if c.method == "sendDocument"]
    assert documents == [csv_doc, xlsx]
    assert load_workbook(io.BytesIO(bot.api.file_content(xlsx.result["document"]["file_id"]))).sheetnames


async def test_export_without_its_workbook_still_sends_the_csv(bot, monkeypatch):
    from bot.core.actions import admin
    from bot.core.export import ExportFailed

    async def failing_workbook(*args, **kwargs):
        raise ExportFailed("exit status 1: disk full")

    monkeypatch.setattr(admin, "export_workbook", failing_workbook)
    mark = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")
    csv_doc = await bot.api.await_call("sendDocument", lambda c: sent_to(c, ADMIN), after=mark, timeout=20)
    assert csv_doc.result["document"]["file_name"].endswith(".csv")
    notice = await bot.api.await_call(
        "sendMessage", lambda c: sent_to(c, ADMIN) and "工作簿" in c.params["text"], after=mark, timeout=20
    )
    assert "没有生成，CSV 已发送" in notice.params["text"]
    assert bot.api.calls.index(csv_doc) < bot.api.calls.index(notice)
    # The export's lock is free again: a second export starts at once.
    mark = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")
    first = await bot.api.await_call("sendMessage", lambda c: sent_to(c, ADMIN), after=mark, timeout=20)
    assert "正在导出" in first.params["text"]


OLD_GROUP, NEW_GROUP = -4242, -1004242


async def test_a_group_that_becomes_a_supergroup_keeps_its_members_check_ins_and_reminder(bot):
    bot.api.add_chat(OLD_GROUP, "group", "支部群", admins=[ALICE], members=[ADMIN, ALICE, BOB, CAROL])
    old, new = f"tg:{OLD_GROUP}", f"tg:{NEW_GROUP}"
    assert "学习提醒" in (await bot.say(OLD_GROUP, ALICE, "/remind 20:30")).params["text"]
    await bot.say(OLD_GROUP, ALICE, "/subscribe 07:00")
    lesson = await bot.say(OLD_GROUP, BOB, "/today")
    done = await bot.press(OLD_GROUP, BOB, lesson.result["message_id"], "done:1", method="sendMessage")
    assert "学习已记录" in done.params["text"]
    assert "已记录" in (await bot.say(OLD_GROUP, CAROL, "/reflect 升级前写的心得")).params["text"]

    bot.api.migrate(OLD_GROUP, NEW_GROUP, announce=True)  # migrate_to_chat_id, then migrate_from_chat_id
    await until(lambda: (bot.storage.get_chat(old) or {}).get("migrated_to") == new, bot.storage)
    mark = bot.api.mark()
    await bot.say(NEW_GROUP, BOB, "/sections")  # the migrate_from message is handled by now too
    assert not [c for c in bot.api.calls[mark:] if sent_to(c, OLD_GROUP)]

    db = bot.storage.db
    members = db.execute("SELECT chat_key, user_key FROM chat_members ORDER BY chat_key, user_key").fetchall()
    assert members == [(new, f"tg:{BOB}"), (new, f"tg:{CAROL}")]
    assert db.execute("SELECT chat_key, members FROM chat_member_counts").fetchall() == [(new, 2)]
    chat = bot.storage.get_chat(new)
    assert (chat["chat_type"], chat["subscribed"], chat["push_time"], chat["remind_at"]) == (
        "supergroup",
        1,
        "07:00",
        "20:30",
    )

    # /stats: the group once, under its new id, with what was recorded under the old one.
    text = (await bot.say(ADMIN, ADMIN, "/stats", method="sendMessage")).params["text"]
    assert text.count("<b>支部群</b>") == 1 and "各群（按成员数，前 1 个）" in text, text
    assert "<b>支部群</b> · 成员 4 人 · 出现过 2 人" in text
    assert "今日：打卡 1 人 · 学习率 25%" in text and "心得 1 篇" in text

    # The reminder goes to the new id, counting the check-in made in the old group; a second check-in
    # on the same study day is recorded already.
    assert "每天 20:30" in (await bot.say(NEW_GROUP, BOB, "/remind")).params["text"]
    bot.clock.now = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)  # 20:30 in Shanghai
    assert (await bot.service.reminders.tick(bot.clock.now)).sent == 1
    [reminder] = [c for c in bot.api.calls_for("sendMessage") if c.params["text"].startswith("⏰ 今天")]
    assert sent_to(reminder, NEW_GROUP) and "已有 1 人打卡" in reminder.params["text"]
    lesson = await bot.say(NEW_GROUP, BOB, "/today")
    again = await bot.press(NEW_GROUP, BOB, lesson.result["message_id"], "done:1", method="sendMessage")
    assert "今天已经打过卡了" in again.params["text"]


async def test_console_saves_the_calendar_and_says_where(tmp_path, model, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    storage = Storage(tmp_path / "console.db")
    out = io.StringIO()
    console = Console(Actions(storage, model, Config.from_env({})), out=out, clock=Clock(NOW_CONSOLE))
    try:
        await console.handle("打卡")
        await console.handle("我的")
    finally:
        storage.close()
    line = next(line for line in out.getvalue().splitlines() if line.startswith("🖼 "))
    path = tmp_path / "studybot-charts" / "calendar.png"
    assert f"图片已保存到 {path}" in line and path.read_bytes().startswith(PNG)


def test_migration_fills_members_from_what_is_stored(tmp_path):
    from bot.core.storage import MIGRATIONS, migrate
    from bot.core.storage.sqlite import sqlite_utils

    path = tmp_path / "v5.db"
    db = sqlite_utils.Database(str(path))
    migrate(db, MIGRATIONS[:5])
    db.execute(
        "INSERT INTO checkins (user_key, study_date, chat_key, checked_at) VALUES "
        "('tg:1', '2026-11-24', 'tg:-5', 100), ('tg:2', '2026-11-24', 'tg:-5', 200), ('tg:1', '2026-11-25', 'tg:-5', 300)"
    )
    db.conn.commit()
    db.conn.close()
    storage = Storage(path)
    try:
        rows = storage.db.execute("SELECT chat_key, user_key, first_seen FROM chat_members ORDER BY user_key")
        assert rows.fetchall() == [("tg:-5", "tg:1", 100), ("tg:-5", "tg:2", 200)]
        assert storage.db.execute("SELECT members FROM chat_member_counts").fetchall() == [(2,)]
        storage.add_reflection("tg:-5", "tg:3", 1, "新来的", 400)  # the triggers keep both
        assert storage.db.execute("SELECT members FROM chat_member_counts").fetchall() == [(3,)]
    finally:
        storage.close()
