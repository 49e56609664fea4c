"""The Telegram bot end to end: the real Application polling the strict Bot API stand-in over HTTP,
a real SQLite file, and the whole service (`bot.service.Service`) as `studybot run` starts it."""

from __future__ import annotations

import csv
import io
import re
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from botapi_standin import BotAPIStandin
from helpers import SEED_DAYS, Clock, buttons, sent_to

from bot.core.config import Config
from bot.core.storage import Storage
from bot.service import Service

TOKEN = "123456:TEST-token"
ADMIN, ALICE, BOB, CAROL = 1001, 1002, 1003, 1004
GROUP = -100500


class Harness:
    """The running bot, its Bot API stand-in, its database and its clock."""

    def __init__(self, api: BotAPIStandin, service: Service, storage: Storage, clock: Clock):
        self.api, self.service, self.storage, self.clock = api, service, storage, clock

    async def say(self, chat: int, user: int, text: str, reply_to: int | None = None, method: str = "*"):
        """A user writes; returns the bot's first answering call in that chat (a chart, which an earlier
        /me or /stats may still be sending, only when asked for by method)."""
        mark = self.api.mark()
        self.api.send_message(chat, user, text, reply_to_message_id=reply_to)
        return await self.api.await_call(
            method,
            lambda c: sent_to(c, chat) and (method != "*" or c.method != "sendPhoto"),
            timeout=10,
            after=mark,
        )

    async def press(self, chat: int, user: int, message_id: int, data: str, method: str = "*"):
        """A user presses a button; returns the bot's first answering call in that chat."""
        mark = self.api.mark()
        self.api.press_button(chat, user, message_id, data)
        return await self.api.await_call(method, lambda c: sent_to(c, chat), timeout=10, after=mark)


def raw_message(chat: dict, sender: dict, message_id: int, **content) -> dict:
    """A message update as Telegram would send it, for what `send_message` does not build."""
    return {"message_id": message_id, "date": 1790000000, "chat": chat, "from": sender, **content}


ALICE_CHAT = {"id": ALICE, "type": "private", "first_name": "小王"}
ALICE_USER = {"id": ALICE, "is_bot": False, "first_name": "小王"}


def _text(call) -> str:
    return call.params.get("text") or call.params.get("question") or ""


@asynccontextmanager
async def running(api: BotAPIStandin, tmp_path, clock: Clock | None = None, **env: str):
    """The whole service (as `studybot run` starts it) on a fresh database, against the stand-in."""
    base = {
        "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
        "STUDYBOT_TELEGRAM_API_URL": api.base_url,
        "STUDYBOT_DB": str(tmp_path / "bot.db"),
    }
    config = replace(Config.from_env({**base, **env}), http_port=0, tick_seconds=3600)
    storage = Storage(config.db_path)
    service = Service(config, storage, clock=clock or Clock(datetime.now(UTC)))
    await service.start()
    try:
        yield service, storage
    finally:
        await service.shutdown()
        storage.close()
    api.assert_no_errors()


@pytest.fixture
async def bot(tmp_path):
    """The whole service against a fresh stand-in, at 09:00 Shanghai time."""
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        api.add_user(ALICE, "小王")
        api.add_user(BOB, "小李")
        api.add_user(CAROL, "<b>小张</b>")
        api.add_chat(GROUP, "supergroup", "学习小组", admins=[ALICE], members=[ADMIN, ALICE, BOB, CAROL])
        clock = Clock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
        env = {"STUDYBOT_ADMINS": str(ADMIN), "STUDYBOT_BROADCAST_RATE": "200"}
        async with running(api, tmp_path, clock, **env) as (service, storage):
            yield Harness(api, service, storage, clock)


async def test_start_registers_menu_and_welcomes(bot):
    call = await bot.say(ALICE, ALICE, "/start")
    assert "你好，小王" in call.params["text"] and call.params["parse_mode"] == "HTML"
    assert {"today", "toc", "quiz:5", "sub"} <= set(buttons(call))
    await bot.api.await_call("setMyCommands")
    names = [c["command"] for c in bot.api.my_commands()]
    assert names[:3] == ["start", "today", "sections"] and "broadcast" not in names


async def test_help_lists_admin_commands_only_for_admins(bot):
    user = await bot.say(ALICE, ALICE, "/help")
    admin = await bot.say(ADMIN, ADMIN, "/help")
    assert "/quiz" in user.params["text"] and "/broadcast" not in user.params["text"]
    assert "/broadcast" in admin.params["text"] and "/export" in admin.params["text"]


async def test_sections_and_navigation(bot):
    toc = await bot.say(ALICE, ALICE, "/sections")
    assert buttons(toc) == [f"sec:{i}" for i in range(7)]
    assert "第三部分 · 扎实做好育才聚才" in toc.params["text"]
    part = await bot.press(ALICE, ALICE, toc.result["message_id"], "sec:3")
    assert part.params["text"].startswith("<b>第三部分 · 扎实做好育才聚才</b>")
    assert buttons(part) == ["sec:2", "toc", "sec:4"]
    for ref, title in [("三", "第三部分"), ("第三部分", "第三部分"), ("3", "第三部分"), ("0", "开篇"), ("开篇", "开篇"),
                       ("结语", "结语"), ("第五", "第五部分")]:  # fmt: skip
        call = await bot.say(ALICE, ALICE, f"/section {ref}")
        assert call.params["text"].startswith(f"<b>{title}"), ref
    bad = await bot.say(ALICE, ALICE, "/section 9")
    assert "没有找到“9”" in bad.params["text"] and "1–5" in bad.params["text"]


async def test_search_marks_hits_and_escapes(bot):
    call = await bot.say(ALICE, ALICE, "/search 留人 环境")
    text = call.params["text"]
    assert text.startswith("<b>🔍 “留人 环境” · 2 条</b>")
    assert "<b>留人</b>" in text and "<b>环境</b>" in text and "第三部分 · 第 8 句" in text
    odd = await bot.say(ALICE, ALICE, "/search <script>alert(1)</script> & 人才")
    assert "&lt;script&gt;" in odd.params["text"] or "人才" in odd.params["text"]
    none = await bot.say(ALICE, ALICE, "/search 量子计算")
    assert "没有找到“量子计算”" in none.params["text"] and "可以试试" in none.params["text"]
    empty = await bot.say(ALICE, ALICE, "/search")
    assert "/search 人才" in empty.params["text"]
    more = await bot.say(ALICE, ALICE, "/search 人才")
    assert any(d.startswith("s:5:") for d in buttons(more))
    page = await bot.press(
        ALICE, ALICE, more.result["message_id"], next(d for d in buttons(more) if d.startswith("s:"))
    )
    assert "6. " in page.params["text"]


async def test_long_query_gets_an_answer(bot):
    call = await bot.say(ALICE, ALICE, "/search " + "人才" * 2000)
    assert "🔍" in call.params["text"]


async def test_today_then_reply_is_a_reflection(bot):
    lesson = await bot.say(ALICE, ALICE, "/today")
    text = lesson.params["text"]
    assert text.startswith(f"<b>📖 每日学习 · 第 1 天 / 共 {SEED_DAYS} 天</b>") and "<blockquote>" in text
    assert "💭 思考：" in text and text.rstrip().endswith("订阅。")
    assert buttons(lesson) == ["done:1", "note:1", "quiz:3:d1"]
    answer = await bot.say(
        ALICE, ALICE, "结合工作谈体会：<要>学深悟透 & 落实", reply_to=lesson.result["message_id"]
    )
    assert answer.params["text"] == "📝 已记录你第 1 天的心得（20 字）。"
    rows = bot.storage.db.execute("SELECT lesson_day, text FROM reflections").fetchall()
    assert rows == [(1, "结合工作谈体会：<要>学深悟透 & 落实")]
    note = await bot.press(ALICE, ALICE, lesson.result["message_id"], "note:1")
    assert note.params["reply_markup"]["force_reply"] is True
    again = await bot.say(ALICE, ALICE, "第二条心得", reply_to=note.result["message_id"])
    assert again.params["text"] == "📝 已记录你第 1 天的心得（5 字）。"
    chatter = await bot.say(ALICE, ALICE, "谢谢", reply_to=again.result["message_id"])
    assert "心得" not in chatter.params["text"]  # a reply to any other message is not a reflection
    done = await bot.press(ALICE, ALICE, lesson.result["message_id"], "done:1")
    assert "已学习 1 天" in done.params["text"]


async def test_reflect_command(bot):
    empty = await bot.say(ALICE, ALICE, "/reflect")
    assert "/reflect 后面" in empty.params["text"]
    call = await bot.say(ALICE, ALICE, "/reflect 要把学习成效转化为实际行动")
    assert "已记录你的心得（13 字）" in call.params["text"]
    me = await bot.say(ALICE, ALICE, "/me")
    assert "心得：1 篇" in me.params["text"]
    # Days studied are the days checked in (✅ 已学习 or 打卡); /me says how.
    assert "学习天数：0 天" in me.params["text"] and "今天还没打卡" in me.params["text"]
    await bot.say(ALICE, ALICE, "打卡")
    assert "学习天数：1 天" in (await bot.say(ALICE, ALICE, "/me")).params["text"]


async def test_subscribe_settings_and_settime(bot):
    bad = await bot.say(ALICE, ALICE, "/subscribe 25:00")
    assert bad.params["text"] == "时间格式应为 HH:MM，例如 /subscribe 07:30"
    ok = await bot.say(ALICE, ALICE, "/subscribe 7:30")
    assert "每天 07:30（Asia/Shanghai）" in ok.params["text"]
    settings = await bot.say(ALICE, ALICE, "/settings")
    assert "订阅：已开启" in settings.params["text"] and "推送时间：每天 07:30" in settings.params["text"]
    moved = await bot.say(ALICE, ALICE, "/settime 21:05 Europe/Berlin")
    assert "每天 21:05（Europe/Berlin）" in moved.params["text"]
    chat = bot.storage.get_chat(f"tg:{ALICE}")
    assert chat["push_time"] == "21:05" and chat["timezone"] == "Europe/Berlin"
    assert (await bot.say(ALICE, ALICE, "/settime")).params["text"].startswith("请写上时间")
    assert "不认识这个时区" in (await bot.say(ALICE, ALICE, "/settime 08:00 Mars/Base")).params["text"]
    off = await bot.say(ALICE, ALICE, "/unsubscribe")
    assert "已取消订阅" in off.params["text"] and not bot.storage.get_chat(f"tg:{ALICE}")["subscribed"]


async def test_group_settings_are_for_admins(bot):
    refused = await bot.say(GROUP, BOB, "/subscribe 08:00")
    assert "只有群管理员" in refused.params["text"]
    assert not (bot.storage.get_chat(f"tg:{GROUP}") or {}).get("subscribed")
    assert any(c.method == "getChatMember" for c in bot.api.calls)
    allowed = await bot.say(GROUP, ALICE, "/subscribe 08:00")
    assert "已订阅" in allowed.params["text"]
    by_bot_admin = await bot.say(GROUP, ADMIN, "/settime 09:00")
    assert "09:00" in by_bot_admin.params["text"]
    assert "只有群管理员" in (await bot.say(GROUP, BOB, "/unsubscribe")).params["text"]
    # Anyone may read.
    assert "第一部分" in (await bot.say(GROUP, BOB, "/sections")).params["text"]


async def test_private_quiz_scores_and_review(bot):
    intro = await bot.say(ALICE, ALICE, "/quiz 2")
    assert "小测验 · 共 2 题" in intro.params["text"]
    first = await bot.api.await_call("sendPoll", lambda c: sent_to(c, ALICE))
    assert first.params["type"] == "quiz" and first.params["is_anonymous"] is False
    assert first.params["question"].startswith("（1/2）")
    correct = first.params["correct_option_ids"][0]
    mark = bot.api.mark()
    bot.api.answer_poll(
        first.result["poll"]["id"], ALICE, [(correct + 1) % len(first.result["poll"]["options"])]
    )  # wrong
    second = await bot.api.await_call("sendPoll", lambda c: sent_to(c, ALICE), after=mark)
    assert second.params["question"].startswith("（2/2）")
    mark = bot.api.mark()
    bot.api.answer_poll(second.result["poll"]["id"], ALICE, [second.params["correct_option_ids"][0]])
    score = await bot.api.await_call("sendMessage", lambda c: sent_to(c, ALICE), after=mark)
    assert score.params["text"].startswith("<b>🎯 1 / 2</b> · 答错的 1 题已加入错题本")
    bot.clock.advance(days=2)  # the wrong answer comes due for review
    review = await bot.say(ALICE, ALICE, "/review")
    assert "复习错题 · 共 1 题" in review.params["text"]
    poll = await bot.api.await_call(
        "sendPoll", lambda c: sent_to(c, ALICE) and "（1/1）" in c.params["question"]
    )
    assert poll.params["question"].endswith(first.params["question"].split("）", 1)[1])
    bad = await bot.say(ALICE, ALICE, "/quiz abc")
    assert "1–10" in bad.params["text"]


async def test_group_quiz_is_one_round_for_everyone(bot):
    # The round's rules in full: tests/test_rounds.py.
    await bot.say(GROUP, ALICE, "/quiz 1")
    poll = await bot.api.await_call("sendPoll", lambda c: sent_to(c, GROUP))
    busy = await bot.say(GROUP, BOB, "/quiz")
    assert "已有一轮测验在进行" in busy.params["text"] and "stopquiz" in buttons(busy)
    right = poll.params["correct_option_ids"][0]
    bot.api.answer_poll(poll.result["poll"]["id"], BOB, [right])
    bot.api.answer_poll(poll.result["poll"]["id"], CAROL, [right])
    mark = bot.api.mark()
    bot.api.answer_poll(
        poll.result["poll"]["id"], ALICE, [(right + 1) % len(poll.result["poll"]["options"])]
    )  # the third answer ends it
    score = await bot.api.await_call(
        "sendMessage", lambda c: sent_to(c, GROUP) and "🏁" in c.params["text"], after=mark
    )
    assert "1. 小李 · 1 / 1" in score.params["text"] and "3. 小王 · 0 / 1" in score.params["text"]


async def test_inline_query_returns_quotes(bot):
    mark = bot.api.mark()
    bot.api.inline_query(ALICE, "人才")
    call = await bot.api.await_call("answerInlineQuery", after=mark)
    results = call.params["results"]
    assert results and all("人才" in r["input_message_content"]["message_text"] for r in results)
    assert results[0]["title"].startswith("第三部分 · 第")
    mark = bot.api.mark()
    bot.api.inline_query(ALICE, "")
    assert (await bot.api.await_call("answerInlineQuery", after=mark)).params["results"]


async def test_admin_tools_refused_to_others(bot):
    for command in ("/stats", "/export", "/broadcast 大家好"):
        call = await bot.say(ALICE, ALICE, command)
        assert call.params["text"] == "这个命令仅限管理员使用。"


async def test_stats_and_export(bot):
    await bot.say(ALICE, ALICE, "/reflect 学习心得一则")
    stats = await bot.say(ADMIN, ADMIN, "/stats")
    assert "📊 统计" in stats.params["text"] and "心得：1 篇" in stats.params["text"]
    mark = bot.api.mark()
    bot.api.send_message(ADMIN, ADMIN, "/export")
    doc = await bot.api.await_call("sendDocument", after=mark)
    file_id = doc.result["document"]["file_id"]
    rows = list(csv.reader(io.StringIO(bot.api.file_content(file_id).decode("utf-8-sig"))))
    assert rows[0][0] == "kind" and any("学习心得一则" in cell for row in rows for cell in row)


async def test_broadcast_preview_confirm_report(bot):
    for user in (ALICE, BOB):
        await bot.say(user, user, "/subscribe 08:00")
    await bot.say(GROUP, ALICE, "/subscribe 08:00")
    preview = await bot.say(ADMIN, ADMIN, "/broadcast 本周五下午<集中>学习 & 讨论")
    text = preview.params["text"]
    assert "📢 通知" in text and "本周五下午&lt;集中&gt;学习 &amp; 讨论" in text
    assert "将发送给 3 个订阅（2 个私聊 · 1 个群 · 0 个企业微信群）" in text
    go = next(d for d in buttons(preview) if d.startswith("bc:go:"))
    mark = bot.api.mark()
    bot.api.press_button(ADMIN, ADMIN, preview.result["message_id"], go)
    for chat in (ALICE, BOB, GROUP):
        call = await bot.api.await_call("sendMessage", lambda c, chat=chat: sent_to(c, chat), after=mark)
        assert "本周五下午&lt;集中&gt;学习" in call.params["text"]
    report = await bot.api.await_call(
        "editMessageText", lambda c: "广播已完成" in c.params["text"], after=mark, timeout=15
    )
    assert "送达 3 · 屏蔽 0 · 失败 0" in report.params["text"]
    again = await bot.press(ADMIN, ADMIN, preview.result["message_id"], go) if False else None
    assert again is None


async def test_broadcast_cancel(bot):
    preview = await bot.say(ADMIN, ADMIN, "/broadcast 取消的通知")
    no = next(d for d in buttons(preview) if d.startswith("bc:no:"))
    call = await bot.press(ADMIN, ADMIN, preview.result["message_id"], no)
    assert "已取消" in call.params["text"]
    assert bot.storage.get_broadcast(int(no.split(":")[2]))["state"] == "cancelled"


async def test_daily_push_once_per_day_with_catch_up(bot):
    await bot.say(ALICE, ALICE, "/subscribe 08:00")  # it is 09:00 in Shanghai: today's lesson is late
    await bot.say(BOB, BOB, "/subscribe 10:00")
    mark = bot.api.mark()
    report = await bot.service.daily.tick(bot.clock())
    assert report.sent == 1
    late = await bot.api.await_call("sendMessage", lambda c: sent_to(c, ALICE), after=mark)
    assert late.params["text"].startswith(f"<b>📖 补发 · 今日 08:00 的学习 · 第 1 天 / 共 {SEED_DAYS} 天</b>")
    assert (await bot.service.daily.tick(bot.clock())).sent == 0  # a second tick repeats nothing
    bot.clock.advance(hours=1, minutes=1)  # 10:01
    assert (await bot.service.daily.tick(bot.clock())).sent == 1
    assert (await bot.service.daily.tick(bot.clock())).sent == 0
    bot.clock.now = datetime(2026, 11, 25, 0, 0, 30, tzinfo=UTC)  # 08:00:30 in Shanghai the next day
    mark = bot.api.mark()
    assert (await bot.service.daily.tick(bot.clock())).sent == 1
    day2 = await bot.api.await_call("sendMessage", lambda c: sent_to(c, ALICE), after=mark)
    assert f"第 2 天 / 共 {SEED_DAYS} 天" in day2.params["text"] and "补发" not in day2.params["text"]


async def test_settime_later_today_still_delivers_today(bot):
    await bot.say(ALICE, ALICE, "/subscribe 08:00")
    await bot.service.daily.tick(bot.clock())  # today's lesson (catch-up)
    await bot.say(ALICE, ALICE, "/settime 12:00")
    bot.clock.advance(hours=4)
    assert (await bot.service.daily.tick(bot.clock())).sent == 0  # already had today's
    await bot.say(BOB, BOB, "/subscribe 07:00")
    bot.clock.now = bot.clock.now.replace(hour=0)  # 08:00 Shanghai, before BOB's new time below
    await bot.say(BOB, BOB, "/settime 11:00")
    bot.clock.advance(hours=3, minutes=1)
    assert (await bot.service.daily.tick(bot.clock())).sent >= 1


async def test_blocked_and_migrated_chats(bot):
    await bot.say(ALICE, ALICE, "/subscribe 08:00")
    bot.api.add_chat(-42, "group", "旧群", admins=[ALICE], members=[ALICE, BOB])
    await bot.say(-42, ALICE, "/subscribe 08:00")
    bot.api.block(ALICE)
    bot.api.migrate(-42, -1000042)
    report = await bot.service.daily.tick(bot.clock())
    assert report.blocked == 1 and report.sent == 1
    assert bot.storage.get_chat(f"tg:{ALICE}")["blocked"] == 1
    assert bot.storage.get_chat("tg:-1000042")["subscribed"] == 1
    assert bot.storage.get_chat("tg:-42")["migrated_to"] == "tg:-1000042"
    assert any(sent_to(c, -1000042) for c in bot.api.calls_for("sendMessage"))


async def test_error_handler_tells_the_user(bot, monkeypatch):
    actions = await bot.service.get_actions()

    async def broken(ctx, args):
        raise RuntimeError("boom")

    monkeypatch.setattr(actions.study, "me", broken)
    call = await bot.say(ALICE, ALICE, "/me")
    assert call.params["text"] == "😥 抱歉，处理时出了点问题，请稍后再试。"
    assert "🔍" in (await bot.say(ALICE, ALICE, "/search 人才")).params["text"]  # still running


async def test_unknown_commands(bot):
    private = await bot.say(ALICE, ALICE, "/foo")
    assert "不认识这个命令" in private.params["text"]
    mark = bot.api.mark()
    bot.api.send_message(GROUP, ALICE, "/foo")  # maybe another bot's command: stay quiet
    hello = await bot.say(GROUP, ALICE, "/help@studybot_test_bot" if False else "/help")
    assert not any(sent_to(c, GROUP) and "不认识" in _text(c) for c in bot.api.calls[mark:])
    assert "命令一览" in hello.params["text"]


ODD_INPUTS = ["", " ", "0", "-1", "999999999999", "3.5", "abc", "人" * 5000, "😀" * 100, "<b>x</b>", "&amp;",
              "<script>", "第九十九部分", "a\nb\nc", "\u202eRTL", "/", "@@@", "07:30:00", "24:00", "%s%n", "' OR 1=1 --"]  # fmt: skip
FUZZ_COMMANDS = ["start", "help", "today", "subscribe", "unsubscribe", "settime", "settings", "sections",
                 "section", "search", "quiz", "review", "reflect", "me", "broadcast", "stats", "export",
                 "remind"]  # fmt: skip


@pytest.mark.parametrize("command", FUZZ_COMMANDS)
async def test_fuzz_every_command_answers(bot, command):
    for user in (ALICE, ADMIN):
        for arg in ODD_INPUTS:
            text = f"/{command} {arg}".strip()
            if len(text) > 4096:
                text = text[:4096]
            mark = bot.api.mark()
            bot.api.send_message(user, user, text)
            await bot.api.await_call("*", lambda c, u=user: sent_to(c, u), after=mark, timeout=10)
        quiz = bot.storage.active_quiz(f"tg:{user}")
        if quiz:
            bot.storage.finish_quiz(quiz["id"], cancelled=True)
    assert "命令一览" in (await bot.say(ALICE, ALICE, "/help")).params["text"]


async def test_long_section_is_split_at_sentence_ends(tmp_path):
    speech = tmp_path / "long.txt"
    body = "".join(
        f"这是第{i}句很长的话，用来检验分段发送是否在句末断开，内容反复出现以凑够长度。" for i in range(200)
    )
    speech.write_text(
        f"长讲话\n同志们：\n开场白。\n第一，长的部分。{body}\n第二，短的部分。结束。\n", encoding="utf-8"
    )
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ALICE, "小王")
        async with running(api, tmp_path, STUDYBOT_CONTENT=str(speech)):
            mark = api.mark()
            api.send_message(ALICE, ALICE, "/section 1")
            last = await api.await_call("sendMessage", lambda c: bool(buttons(c)), after=mark, timeout=10)
            texts = [c.params["text"] for c in api.calls[mark:] if c.method == "sendMessage"]
            assert len(texts) >= 2 and buttons(last) == ["sec:0", "toc", "sec:2"]
            for text in texts[:-1]:
                plain = re.sub(r"<[^>]+>", "", text)
                assert len(plain) <= 4096 and plain.rstrip().endswith("。")


async def test_non_text_in_private_gets_a_hint(bot):
    bot.api.add_chat(ALICE, "private")
    mark = bot.api.mark()
    location = {"latitude": 39.9, "longitude": 116.4}
    bot.api.queue_update("message", raw_message(ALICE_CHAT, ALICE_USER, 99001, location=location))
    call = await bot.api.await_call("sendMessage", lambda c: sent_to(c, ALICE), after=mark)
    assert "我只看得懂文字" in call.params["text"]


async def test_plain_text_in_private_gets_buttons_and_chinese_commands_work(bot):
    hint = await bot.say(ALICE, ALICE, "你好")
    assert "想做什么" in hint.params["text"] and buttons(hint) == ["today", "toc", "quiz:5"]
    toc = await bot.say(ALICE, ALICE, "目录")
    assert "目录" in toc.params["text"] and len(buttons(toc)) == 7
    part = await bot.say(ALICE, ALICE, "第三部分")
    assert part.params["text"].startswith("<b>第三部分 · 扎实做好育才聚才</b>")


async def test_edited_commands_do_not_run_again(bot):
    first = await bot.say(ALICE, ALICE, "/reflect 第一版心得")
    mark = bot.api.mark()
    command = [{"type": "bot_command", "offset": 0, "length": 8}]
    edited = raw_message(
        ALICE_CHAT, ALICE_USER, first.params.get("reply_to_message_id") or 99002,
        edit_date=1790000060, text="/reflect 第二版心得", entities=command,
    )  # fmt: skip
    bot.api.queue_update("edited_message", edited)
    after = await bot.say(ALICE, ALICE, "/me")
    assert "心得：1 篇" in after.params["text"]
    assert not any(sent_to(c, ALICE) and "已记录" in c.params.get("text", "") for c in bot.api.calls[mark:])


async def test_anonymous_group_admin_may_subscribe(bot):
    mark = bot.api.mark()
    group = {"id": GROUP, "type": "supergroup", "title": "学习小组"}
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    command = [{"type": "bot_command", "offset": 0, "length": 10}]
    message = raw_message(
        group, anonymous, 99003, sender_chat=group, text="/subscribe 07:00", entities=command
    )
    bot.api.queue_update("message", message)
    call = await bot.api.await_call("sendMessage", lambda c: sent_to(c, GROUP), after=mark)
    assert "已订阅" in call.params["text"]
    assert bot.storage.get_chat(f"tg:{GROUP}")["subscribed"] == 1


async def test_group_member_replies_to_the_groups_lesson(bot):
    lesson = await bot.say(GROUP, ALICE, "/today")
    reply = await bot.say(GROUP, CAROL, "群里的心得", reply_to=lesson.result["message_id"])
    assert reply.params["text"] == "📝 已记录你第 1 天的心得（5 字）。"
    row = bot.storage.db.execute("SELECT user_key, chat_key, lesson_day FROM reflections").fetchone()
    assert row == (f"tg:{CAROL}", f"tg:{GROUP}", 1)
