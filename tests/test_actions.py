"""Every command, button and text through `Actions` for every kind of chat, rendered in every format.

Real storage (SQLite in memory) and the real content model; the Telegram HTML is checked with the
stand-in's parser of Telegram's HTML, so a reply that Telegram would refuse fails here first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botapi_standin import parse_html, utf16_len

from bot.core.actions import (
    COMMANDS,
    Actions,
    Ctx,
    Document,
    Documents,
    Later,
    Message,
    Photo,
    QuizPoll,
    parse_text_command,
    quiz_doc,
)
from bot.core.config import Config
from bot.core.render import Doc, split_doc, to_html, to_markdown, to_plain
from bot.core.storage import Storage

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
ODD = ["", "0", "3", "三", "第三部分", "结语", "99", "-1", "abc", "07:30", "25:61", "人" * 5000, "😀🎉",
       "<b>x</b>", "&amp; <", "a\nb", "\u202e", "省*次全会", "[link](http://x)", "**bold**", "%s"]  # fmt: skip
BUTTONS = ["toc", "today", "review", "sec:3", "sec:0", "sec:9", "sec:", "quiz:3:2", "quiz:x", "stopquiz", "sub", "done:1",
           "done:x", "note:1", "note:999", "s:5:人才", "s:x:", "bc:go:1", "bc:no:1", "bc:go:x",
           "quizon:1", "quizon:x", "quizon:", "crs:1", "crs:2", "crs:x", "done:1@1", "sec:3@99", "quiz:3:d1@7",
           "nonsense", ""]  # fmt: skip


@pytest.fixture
def actions(model):
    storage = Storage(":memory:")
    config = Config.from_env({"STUDYBOT_ADMINS": "1"})
    yield Actions(storage, model, config, robot_count=2)
    storage.close()


def contexts():
    """Private user, bot admin, group member, group administrator, console, WeCom user."""

    async def yes() -> bool:
        return True

    async def no() -> bool:
        return False

    return [
        Ctx("tg:2", "tg", "private", "tg:2", "小王", NOW),
        Ctx("tg:1", "tg", "private", "tg:1", "管理员", NOW, is_bot_admin=True),
        Ctx("tg:-5", "tg", "supergroup", "tg:3", "<i>小李</i>", NOW, "学习组", group_admin_check=no),
        Ctx("tg:-5", "tg", "supergroup", "tg:4", "组长", NOW, "学习组", group_admin_check=yes),
        Ctx("console:local", "console", "private", "console:local", "root", NOW, is_bot_admin=True),
        Ctx("wecom:zhang", "wecom", "private", "wecom:zhang", "zhang", NOW),
    ]


def check(outs) -> list[Documents | Later]:
    """Every output renders in every format and fits Telegram's limits; returns the files still to make."""
    later = []
    for out in outs:
        if isinstance(out, Message):
            docs = [out.doc]
        elif isinstance(out, QuizPoll):
            assert 1 <= len(out.title) <= 300 + 10
            docs = [quiz_doc(out)]
        elif isinstance(out, Documents):
            assert out.title
            later.append(out)
            continue
        elif isinstance(out, Later):  # pictures made after the reply is sent
            later.append(out)
            continue
        elif isinstance(out, Photo):  # a chart: a PNG with a caption under Telegram's 1,024
            assert out.png.startswith(b"\x89PNG\r\n\x1a\n") and 1 <= len(out.caption) <= 1024
            continue
        else:
            assert isinstance(out, Document) and out.filename.endswith((".csv", ".xlsx"))
            continue
        for doc in docs:
            for chunk in split_doc(doc):
                text, _ = parse_html(to_html(chunk))
                assert 1 <= utf16_len(text) <= 4096
            assert to_markdown(doc) and to_plain(doc)
        if isinstance(out, Message):
            for row in out.buttons:
                for button in row:
                    assert 1 <= len(button.data.encode()) <= 64 and button.text
    return later


async def test_every_command_with_odd_arguments(actions, tmp_path):
    for ctx in contexts():
        for name in COMMANDS:
            for arg in ODD:
                outs = await actions.command(ctx, name, arg)
                assert outs, (name, arg, ctx.chat_type)
                for files in check(outs):
                    if isinstance(files, Later):
                        assert not check(await files.make())
                        continue
                    batches = [batch async for batch in files.make(tmp_path)]
                    assert batches and all(batches) and not check([o for b in batches for o in b])
            quiz = actions.storage.active_quiz(ctx.chat_key)
            if quiz:
                actions.storage.finish_quiz(quiz["id"], cancelled=True)


async def test_every_button(actions):
    await actions.command(contexts()[1], "broadcast", "测试")
    for ctx in contexts():
        for data in BUTTONS:
            outs = await actions.button(ctx, data)
            assert outs, (data, ctx.chat_type)
            check(outs)


async def test_text_messages(actions):
    for ctx in contexts():
        for text in [
            "你好",
            "A",
            "d",
            "今日",
            "目录",
            "第三部分",
            "搜索 人才",
            "答题",
            "订阅 07:30",
            "我的",
            "/help",
            *ODD,
        ]:
            outs = await actions.text(ctx, text)
            if not ctx.is_group:
                assert outs, text
            check(outs)


def test_text_commands():
    assert parse_text_command("今日") == ("today", "")
    assert parse_text_command("搜索 人才 干部") == ("search", "人才 干部")
    assert parse_text_command("第三部分") == ("section", "第三部分")
    assert parse_text_command("订阅 07:30") == ("subscribe", "07:30")
    assert parse_text_command("/Quiz@studybot 3") == ("quiz", "3")
    assert parse_text_command("随便说说") is None


async def test_group_settings_need_an_administrator(actions):
    member, admin = contexts()[2], contexts()[3]
    refused = await actions.command(member, "subscribe", "07:30")
    assert "只有群管理员" in refused[0].doc.plain_text
    assert not actions.storage.get_chat("tg:-5")["subscribed"]
    await actions.command(admin, "subscribe", "07:30")
    assert actions.storage.get_chat("tg:-5")["subscribed"]


async def test_user_text_is_escaped_in_html(actions):
    ctx = contexts()[2]
    outs = await actions.command(ctx, "search", "<b>人才</b>")
    html = to_html(outs[0].doc)
    assert "“&lt;b&gt;人才&lt;/b&gt;”" in html  # the query as typed, escaped; hits marked in real bold
    assert "<b>人才</b>" in html


async def test_quiz_text_answers_and_score(actions):
    ctx = contexts()[4]
    outs = await actions.command(ctx, "quiz", "2")
    polls = [o for o in outs if isinstance(o, QuizPoll)]
    assert len(polls) == 1 and polls[0].number == 1
    right = polls[0].question.answer
    outs = await actions.text(ctx, "ABCD"[right])
    assert "答对了" in outs[0].doc.plain_text and isinstance(outs[1], QuizPoll)
    outs = await actions.text(ctx, "ABCD"[(outs[1].question.answer + 1) % len(outs[1].question.options)])
    assert "正确答案是" in outs[0].doc.plain_text
    assert outs[-1].doc.plain_text.startswith("🎯 1 / 2")
    ctx.now = NOW + timedelta(days=3)
    review = await actions.command(ctx, "review", "")
    assert "复习错题 · 共 1 题" in review[0].doc.plain_text


async def test_a_letter_past_the_options_is_no_answer():
    # A question of three options (a curated bank's, imported for a course): D is not an answer.
    import dataclasses

    from content import load_model
    from content.quiz import Question

    base = load_model()
    three = Question(
        "k3options", "cloze", base.questions[0].section_id, "填空：党员是党的肌体的＿＿。", ("细胞", "骨骼", "血液"),
        0, base.questions[0].source, "出自讲话。", base.questions[0].day,
    )  # fmt: skip
    model = dataclasses.replace(base, questions=[three, *base.questions])
    storage = Storage(":memory:")
    actions = Actions(storage, model, Config.from_env({"STUDYBOT_ADMINS": "1"}), robot_count=2)
    ctx = contexts()[4]
    session = actions.storage.start_quiz(ctx.chat_key, ctx.user_key, [three.id], ctx.now)
    quiz = actions.storage.active_quiz(ctx.chat_key)
    assert quiz is not None and quiz["id"] == session
    [hint] = await actions.text(ctx, "D")
    assert hint.doc.plain_text == "这一题只有 A、B、C 三项，请回复其中一个字母。"
    assert actions.storage.active_quiz(ctx.chat_key)["position"] == 0  # nothing recorded
    outs = await actions.text(ctx, "A")
    assert "答对了" in outs[0].doc.plain_text
    storage.close()


async def test_a_question_not_delivered_frees_the_chat_once(actions):
    ctx = contexts()[4]
    [_, poll] = await actions.command(ctx, "quiz", "2")
    [notice] = actions.poll_failed(poll.session_id)
    assert notice.doc.plain_text.endswith("稍后发送“答题”再来一轮。") and notice.buttons == []
    assert actions.poll_failed(poll.session_id) == []  # reported twice: said once
    assert actions.storage.active_quiz(ctx.chat_key) is None
    assert isinstance((await actions.command(ctx, "quiz", "2"))[1], QuizPoll)


async def test_a_telegram_question_whose_send_never_ended_frees_the_chat_after_two_minutes(actions):
    # The process was killed between the session and its poll: neither poll_sent nor poll_failed came.
    ctx = contexts()[0]
    [_, lost] = await actions.command(ctx, "quiz", "2")
    [busy] = await actions.command(ctx, "quiz", "2")
    assert "已有一轮测验在进行" in busy.doc.plain_text
    later = Ctx(ctx.chat_key, "tg", "private", ctx.user_key, ctx.user_name, NOW + timedelta(seconds=121))
    [_, fresh] = await actions.command(later, "quiz", "2")
    assert isinstance(fresh, QuizPoll) and fresh.session_id != lost.session_id
    assert actions.storage.get_quiz(lost.session_id)["state"] == "cancelled"


async def test_broadcast_counts_exclude_console(actions):
    await actions.command(contexts()[4], "subscribe", "07:30")
    await actions.command(contexts()[0], "subscribe", "07:30")
    await actions.command(contexts()[3], "subscribe", "07:30")
    outs = await actions.command(contexts()[1], "broadcast", "大家好")
    text = outs[0].doc.plain_text
    assert "将发送给 4 个订阅（1 个私聊 · 1 个群 · 2 个企业微信群）" in text
    assert "控制台的订阅不接收广播" in text


def test_split_doc_keeps_sentences_and_limits():
    doc = Doc().add("标题\n").quote("这是一句话。" * 1000)
    parts = split_doc(doc)
    assert len(parts) > 1
    assert "".join(p.plain_text for p in parts) == doc.plain_text
    for part in parts[:-1]:
        assert utf16_len(part.plain_text) <= 4096 and part.plain_text.endswith("。")
    emoji = Doc().add("😀" * 3000)  # 6,000 UTF-16 units: Telegram counts these twice
    assert all(utf16_len(p.plain_text) <= 4096 for p in split_doc(emoji))


def test_markdown_keeps_the_asterisk_as_written():
    doc = Doc().b("省").add("*次全会 ").quote("按照省*次全会部署")
    markdown = to_markdown(doc)
    assert "***" not in markdown and "省*次全会" in markdown
    assert markdown.replace("\u200b", "").startswith("**省***次全会")
