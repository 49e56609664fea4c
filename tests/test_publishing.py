"""Publishing in the chat, over the Bot API stand-in with the real PTB application: an admin sends a .txt or
.docx speech (a user's upload: getFile, then the download from the stand-in's file URL) or a question bank
(.xlsx), sees a preview and publishes or cancels; bad files and other people get one clear answer and change
nothing."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import docx
import pytest
from botapi_standin import BotAPIStandin
from helpers import Clock, buttons, sent_to
from test_telegram import ADMIN, ALICE, BOB, GROUP, TOKEN, Harness, running

from bot.core.bank import bank_rows, to_xlsx
from content import build_model, read_text

SPEECHES = Path(__file__).parent / "data" / "speeches"


def speech(name: str) -> str:
    return read_text(next(SPEECHES.glob(f"{name}*.txt")))


@pytest.fixture
async def bot(tmp_path):
    from datetime import UTC, datetime

    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(ADMIN, "管理员")
        api.add_user(ALICE, "小王")
        api.add_user(BOB, "小李")
        api.add_chat(GROUP, "supergroup", "学习小组", admins=[ALICE], members=[ADMIN, ALICE, BOB])
        clock = Clock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
        async with running(api, tmp_path, clock, STUDYBOT_ADMINS=str(ADMIN)) as (service, storage):
            yield Harness(api, service, storage, clock)


async def upload(bot: Harness, user: int, name: str, content: bytes, method: str = "sendMessage"):
    """The user sends a file in their private chat; the bot's answer."""
    mark = bot.api.mark()
    bot.api.send_document(user, user, name, content)
    return await bot.api.await_call(method, lambda c: sent_to(c, user), timeout=30, after=mark)


def courses(bot: Harness) -> list[tuple[int, str]]:
    return [(c["id"], c["state"]) for c in bot.storage.courses()]


def docx_bytes(paragraphs: list[str], table_only: bool = False) -> bytes:
    document = docx.Document()
    if table_only:
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).text = "姓名"
        table.cell(1, 1).text = "职务"
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def test_an_admin_publishes_a_gbk_txt_for_every_chat_and_the_group_moves_on(bot):
    api, storage = bot.api, bot.storage
    # The group studies the first course, subscribed, on day 3.
    await bot.say(GROUP, ALICE, "/subscribe 08:00")
    storage.db.execute("UPDATE chats SET plan_pos = 2, course_since = 0 WHERE key = ?", [f"tg:{GROUP}"])
    storage.db.conn.commit()
    text = speech("s02")
    preview = await upload(bot, ADMIN, "第二讲.txt", text.encode("gb18030"))
    model = build_model(text)
    assert (
        f"📄 《{model.title}》" in preview.params["text"]
        and f"{len(model.lessons)} 天的学习" in preview.params["text"]
    )
    assert buttons(preview) == ["pub:2:finished", "pub:2:all", "pub:2:no"]
    assert [c.method for c in api.calls if c.method == "getFile"] == ["getFile"]
    assert courses(bot) == [(1, "published"), (2, "draft")]
    done = await bot.press(ADMIN, ADMIN, preview.response["result"]["message_id"], "pub:2:all")
    assert "已发布为课程 2" in done.params["text"]
    assert courses(bot) == [(1, "published"), (2, "published")]
    # The group's next push is the new course's first lesson; its place in the first course is kept.
    bot.clock.advance(days=1)
    mark = api.mark()
    report = await bot.service.daily.tick(bot.clock())
    assert report.sent >= 1
    push = await api.await_call("sendMessage", lambda c: sent_to(c, GROUP), timeout=10, after=mark)
    assert f"第 1 天 / 共 {len(model.lessons)} 天" in push.params["text"]
    assert storage.course_place(f"tg:{GROUP}", 1) == (2, False)
    assert storage.get_chat(f"tg:{GROUP}")["course_id"] == 2


async def test_a_docx_preview_then_cancel_keeps_nothing(bot):
    text = speech("s04")
    paragraphs = [p for p in text.split("\n") if p.strip()]
    preview = await upload(bot, ADMIN, "讲话.docx", docx_bytes(paragraphs))
    assert "📄 《" in preview.params["text"] and buttons(preview)[-1] == "pub:2:no"
    cancelled = await bot.press(ADMIN, ADMIN, preview.response["result"]["message_id"], "pub:2:no")
    assert "已取消" in cancelled.params["text"]
    assert courses(bot) == [(1, "published")]


async def test_someone_who_is_not_an_admin_is_refused_and_nothing_is_fetched(bot):
    answer = await upload(bot, BOB, "讲话.txt", speech("s01").encode())
    assert "只有管理员" in answer.params["text"]
    assert not bot.api.calls_for("getFile") and courses(bot) == [(1, "published")]


@pytest.mark.parametrize(
    "name, content, says",
    [
        ("空.txt", b"", "文件是空的"),
        ("二进制.txt", bytes(range(256)) * 40, "不是"),
        ("表格.docx", None, "没有正文"),
        ("通知.txt", "关于召开学习会议的通知。请各支部准时参加。".encode(), "不像一篇讲话稿"),
        ("讲话.pdf", b"%PDF-1.4 ...", ".txt 或 .docx"),
        ("坏的.docx", b"PK\x03\x04 not really a zip", "没有保存"),
    ],
)
async def test_bad_files_get_one_clear_answer_and_change_nothing(bot, name, content, says):
    if content is None:
        content = docx_bytes([], table_only=True)
    before = courses(bot)
    answer = await upload(bot, ADMIN, name, content)
    assert says in answer.params["text"], answer.params["text"]
    assert courses(bot) == before


async def test_a_file_over_20_mb_is_refused_before_it_is_downloaded(bot):
    answer = await upload(bot, ADMIN, "大.txt", b"x" * (21 * 1024 * 1024))
    assert "文件太大" in answer.params["text"] and not bot.api.calls_for("getFile")


async def test_the_same_text_twice_is_already_a_course(bot):
    text = speech("s05")
    first = await upload(bot, ADMIN, "a.txt", text.encode())
    await bot.press(ADMIN, ADMIN, first.response["result"]["message_id"], "pub:2:finished")
    again = await upload(bot, ADMIN, "b.txt", text.encode("utf-16"))
    assert "已经是课程 2" in again.params["text"] and len(courses(bot)) == 2


async def test_course_add_with_pasted_text(bot):
    text = speech("s10")
    preview = await bot.say(ADMIN, ADMIN, "/course add\n" + text)
    assert "📄 《" in preview.params["text"] and "pub:2:all" in buttons(preview)
    refused = await bot.say(BOB, BOB, "/course add\n" + text)
    assert "只有管理员" in refused.params["text"]


async def test_a_question_bank_replaces_the_questions_and_a_bad_one_is_reported_by_row(bot):
    model = bot.service.actions_ready.result().catalog.model(1)
    rows = bank_rows(model.questions, model.sections)
    # The editor keeps three of the generated questions and fixes nothing else.
    good = to_xlsx(rows[:3])
    preview = await upload(bot, ADMIN, "题库.xlsx", good)
    assert "题库预览" in preview.params["text"] and "删除" in preview.params["text"]
    draft = buttons(preview)[0]
    assert draft.startswith("bank:") and draft.endswith(":replace")
    done = await bot.press(ADMIN, ADMIN, preview.response["result"]["message_id"], draft)
    assert "已导入 3 道题" in done.params["text"] and "共 3 道题" in done.params["text"]
    quiz_ids = {q.id for q in bot.service.actions_ready.result().catalog.model(1).questions}
    assert quiz_ids == {q.id for q in model.questions[:3]}  # the same questions keep their ids
    mark = bot.api.mark()
    bot.api.send_message(ALICE, ALICE, "/quiz 3")
    poll = await bot.api.await_call("sendPoll", lambda c: sent_to(c, ALICE), timeout=10, after=mark)
    asked = poll.params["question"].split("）", 1)[1]  # after the "（1/3）" counter
    assert asked in {q.question for q in model.questions[:3]}
    # A bank with a wrong answer letter: the row is named and nothing changes.
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(rows)))
    book.active.cell(row=4, column=7).value = "E"
    bad = io.BytesIO()
    book.save(bad)
    answer = await upload(bot, ADMIN, "题库2.xlsx", bad.getvalue())
    assert "第 4 行" in answer.params["text"] and "没有导入" in answer.params["text"]
    assert len(bot.service.actions_ready.result().catalog.model(1).questions) == 3
    stored = sqlite3.connect(bot.storage.path).execute("SELECT count(*) FROM bank_drafts").fetchone()[0]
    assert stored == 0


async def test_an_old_speech_course_is_reviewable_after_moving_on(bot):
    """Wrong answers in the first course stay in its wrong-answer book after the chat moved to a second."""
    await bot.say(ALICE, ALICE, "/start")
    mark = bot.api.mark()
    bot.api.send_message(ALICE, ALICE, "/quiz 1")
    poll = await bot.api.await_call("sendPoll", lambda c: sent_to(c, ALICE), timeout=10, after=mark)
    wrong = (poll.params["correct_option_ids"][0] + 1) % len(poll.params["options"])
    mark = bot.api.mark()
    bot.api.answer_poll(poll.response["result"]["poll"]["id"], ALICE, [wrong])
    await bot.api.await_call("sendMessage", lambda c: sent_to(c, ALICE), timeout=10, after=mark)
    preview = await upload(bot, ADMIN, "新.txt", speech("s06").encode())
    await bot.press(ADMIN, ADMIN, preview.response["result"]["message_id"], "pub:2:all")
    switched = await bot.say(ALICE, ALICE, "/course 2")
    assert "已切换到" in switched.params["text"]
    empty = await bot.say(ALICE, ALICE, "/review")
    assert "错题本是空的" in empty.params["text"]
    back = await bot.say(ALICE, ALICE, "/course 1")
    assert "已切换到" in back.params["text"]
    bot.clock.advance(days=1)
    mark = bot.api.mark()
    bot.api.send_message(ALICE, ALICE, "/review")
    review = await bot.api.await_call("sendPoll", lambda c: sent_to(c, ALICE), timeout=10, after=mark)
    assert review.params["question"] == poll.params["question"]


def test_the_upload_limit_is_the_documents_limit_and_starting_loads_neither_openpyxl_nor_docx():
    import subprocess
    import sys

    from bot.core import documents
    from bot.core.actions import publishing

    assert publishing.MAX_BYTES == documents.MAX_BYTES
    code = "import sys, bot.service, bot.core.actions; print([m for m in ('openpyxl', 'docx') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
