"""Tests for the Bot API stand-in, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import telegram
from botapi_standin import BotAPIStandin, parse_html, parse_markdown, parse_markdown_v2, utf16_len
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, PollAnswer, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

TOKEN = "123:ABC"
ANN = 42
BOB = 43
GROUP = -1001
SUPERGROUP = -1002003


@pytest.fixture
def standin() -> Iterator[BotAPIStandin]:
    with BotAPIStandin(token=TOKEN) as server:
        server.add_user(ANN, "Ann", "ann")
        server.add_user(BOB, "Bob")
        server.add_chat(ANN, "private")
        server.add_chat(GROUP, "group", "Study group", admins=[ANN], owner=BOB)
        yield server


@pytest.fixture
async def bot(standin: BotAPIStandin) -> AsyncIterator[telegram.Bot]:
    async with standin.make_bot() as client:
        yield client


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"b{i}", callback_data=d) for i, d in enumerate(data)]]
    )


# ------------------------------------------------------------------ basics


async def test_get_me_returns_a_complete_bot_user(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "studybot_test_bot" and me.id == 123
    assert me.supports_inline_queries and me.can_join_groups
    assert standin.calls_for("getme")[0].ok
    assert standin.errors == []


async def test_send_message_is_stored_with_utf16_entities(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    sent = await bot.send_message(ANN, "😀 <b>学习</b> &lt;ok&gt;", parse_mode="HTML")
    assert sent.text == "😀 学习 <ok>"
    assert sent.from_user.id == 123 and sent.chat.id == ANN
    # The emoji is two UTF-16 code units, so the bold entity starts at 3.
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 3, 2)]
    second = await bot.send_message(ANN, "  padded  ")
    assert second.text == "padded" and second.message_id == sent.message_id + 1
    assert standin.messages_in(ANN) == ["😀 学习 <ok>", "padded"]
    assert standin.errors == []


async def test_json_form_and_case_insensitive_requests(standin: BotAPIStandin) -> None:
    async with httpx.AsyncClient(base_url=f"{standin.base_url}{TOKEN}") as client:
        as_json = await client.post("/sendmessage", json={"chat_id": ANN, "text": "json"})
        as_form = await client.post(
            "/SendMessage",
            data={"chat_id": str(ANN), "text": "form", "reply_markup": '{"inline_keyboard": []}'},
        )
        as_get = await client.get("/getMe")
    assert as_json.json()["result"]["text"] == "json"
    assert as_form.json()["result"]["text"] == "form"
    assert as_get.json()["result"]["is_bot"] is True
    assert [c.method for c in standin.calls] == ["sendMessage", "sendMessage", "getMe"]


async def test_document_upload_and_download(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    sent = await bot.send_document(
        ANN, b"review sheet", filename="sheet.txt", caption="<i>today</i>", parse_mode="HTML"
    )
    assert sent.document.file_name == "sheet.txt" and sent.caption == "today"
    assert standin.file_content(sent.document.file_id) == b"review sheet"
    remote = await bot.get_file(sent.document.file_id)
    assert bytes(await remote.download_as_bytearray()) == b"review sheet"
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_document(ANN, b"x", filename="x.txt", caption="c" * 1025)


async def test_a_large_upload_streamed_from_disk_and_one_over_50_mb_refused(
    bot: telegram.Bot, standin: BotAPIStandin, tmp_path
) -> None:
    from botapi_standin import MAX_UPLOAD

    assert MAX_UPLOAD == 50_000_000  # Telegram's 50 MB for bots, read strictly
    big = tmp_path / "big.csv"
    big.write_bytes(os.urandom(3_000_000))
    with big.open("rb") as handle:  # streamed by httpx, in pieces the stand-in reads one at a time
        sent = await bot.send_document(ANN, telegram.InputFile(handle, "big.csv", read_file_handle=False))
    assert standin.file_content(sent.document.file_id) == big.read_bytes()
    assert sent.document.file_size == 3_000_000
    standin.max_upload = 2_000_000
    with (
        big.open("rb") as handle,
        pytest.raises(telegram.error.TelegramError, match="Request Entity Too Large"),
    ):
        await bot.send_document(ANN, telegram.InputFile(handle, "big.csv", read_file_handle=False))
    (refused,) = standin.errors
    assert refused.method == "sendDocument" and refused.response["error_code"] == 413


# ------------------------------------------------------------------ validation


async def test_missing_required_field_and_unknown_method(standin: BotAPIStandin, bot: telegram.Bot) -> None:
    async with httpx.AsyncClient(base_url=f"{standin.base_url}{TOKEN}") as client:
        missing = await client.post("/sendMessage", json={"chat_id": ANN})
        no_chat = await client.post("/sendMessage", data={"text": "no chat"})
        unknown = await client.post("/fooBar", json={})
    assert (
        missing.status_code == 400 and missing.json()["description"] == "Bad Request: message text is empty"
    )
    assert no_chat.json()["description"] == "Bad Request: chat_id is empty"
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("notAMethod")
    assert len(standin.errors) == 4


async def test_wrong_token_is_unauthorized(standin: BotAPIStandin) -> None:
    with pytest.raises(InvalidToken):
        async with standin.make_bot("999:WRONG"):
            pass
    assert standin.errors[0].error_code == 401


async def test_text_length_is_counted_in_utf16_after_parsing(
    bot: telegram.Bot, standin: BotAPIStandin
) -> None:
    await bot.send_message(ANN, "a" * 4096)
    await bot.send_message(ANN, "学" * 4096)  # CJK is one unit each
    await bot.send_message(ANN, "😀" * 2048)  # two units each: exactly 4096
    await bot.send_message(ANN, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")  # tags don't count
    assert standin.errors == []
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(ANN, "a" * 4097)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(ANN, "😀" * 2049)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(ANN, "<b> </b>", parse_mode="HTML")
    assert len(standin.errors) == 3 and len(standin.bot_messages(ANN)) == 4


@pytest.mark.parametrize(
    "text",
    [
        "<b>unclosed",
        "<b>x</i>",
        "a < b",
        "Tom & Jerry",
        "line<br>break",
        "<span>x</span>",
        "&nbsp;",
        "<a href='x'>x",
        "</b>",
        "<tg-emoji>x</tg-emoji>",
    ],
)
async def test_bad_html_is_refused(bot: telegram.Bot, standin: BotAPIStandin, text: str) -> None:
    with pytest.raises(BadRequest, match="(?i)Can't parse entities"):
        await bot.send_message(ANN, text, parse_mode="HTML")
    assert standin.errors[-1].description.startswith("Bad Request: can't parse entities: ")


def test_html_parsing_matches_telegram() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre>\n<blockquote expandable>q</blockquote>'
        '<span class="tg-spoiler">s</span> <a href="https://e.org/?a=1&amp;b=2">l</a> &#128512;&#x41;&quot;'
    )
    assert text == 'x = 1\nqs l 😀A"'
    assert entities == [
        {"type": "pre", "offset": 0, "length": 5, "language": "python"},
        {"type": "expandable_blockquote", "offset": 6, "length": 1},
        {"type": "spoiler", "offset": 7, "length": 1},
        {"type": "text_link", "offset": 9, "length": 1, "url": "https://e.org/?a=1&b=2"},
    ]
    assert utf16_len("😀学") == 3


def test_markdown_v2_requires_escaping() -> None:
    text, entities = parse_markdown_v2(r"*bold* _it_ __u__ ||s|| `c\`` [l](https://x.org/\)) 1\.5")
    assert text == "bold it u s c` l 1.5"
    assert [e["type"] for e in entities] == ["bold", "italic", "underline", "spoiler", "code", "text_link"]
    assert entities[-1]["url"] == "https://x.org/)"
    for bad in ("1.5", "a-b", "*open", "(x)"):
        with pytest.raises(ValueError):
            parse_markdown_v2(bad)


def test_legacy_markdown() -> None:
    assert parse_markdown("*b* _i_ `c` [l](https://x.org)")[0] == "b i c l"
    with pytest.raises(ValueError, match="(?i)can't find end"):
        parse_markdown("snake_case")


async def test_explanation_and_edit_are_parsed_too(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    with pytest.raises(BadRequest, match="(?i)Can't parse entities"):
        await bot.send_poll(
            ANN,
            "Q",
            ["a", "b"],
            type="quiz",
            correct_option_ids=[0],
            explanation="<b>x",
            explanation_parse_mode="HTML",
        )
    sent = await bot.send_message(ANN, "old")
    with pytest.raises(BadRequest, match="(?i)Can't parse entities"):
        await bot.edit_message_text("a & b", ANN, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)unsupported parse_mode"):
        await bot.send_message(ANN, "x", parse_mode="BBCode")


async def test_callback_data_is_limited_to_64_bytes(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    await bot.send_message(ANN, "ok", reply_markup=keyboard("x" * 64, "你" * 21))
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(ANN, "too long", reply_markup=keyboard("x" * 65))
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(ANN, "22 CJK = 66 bytes", reply_markup=keyboard("你" * 22))
    assert len(standin.errors) == 2


async def test_bot_commands_are_checked(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    await bot.set_my_commands([("today", "今天的学习"), ("review_2", "Review")])
    assert [c.command for c in await bot.get_my_commands()] == ["today", "review_2"]
    for bad in [("Today", "upper case"), ("x" * 33, "too long"), ("ok", ""), ("ok", "d" * 257)]:
        with pytest.raises(BadRequest, match="(?i)BOT_COMMAND"):
            await bot.set_my_commands([bad])
    assert (
        await bot.set_my_description("学习助手")
        and (await bot.get_my_description()).description == "学习助手"
    )


async def test_inline_query_answers_are_checked(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    query_id = standin.inline_query(ANN, "speech")["inline_query"]["id"]
    results = [
        telegram.InlineQueryResultArticle(str(i), f"t{i}", telegram.InputTextMessageContent("x"))
        for i in range(51)
    ]
    with pytest.raises(BadRequest, match="(?i)RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(query_id, results)
    assert await bot.answer_inline_query(query_id, results[:50])
    assert len(standin.inline_answers[query_id]["results"]) == 50


# ------------------------------------------------------------------ polls


async def test_quiz_poll_answers_round_trip(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    sent = await bot.send_poll(
        ANN,
        "哪一年?",
        ["1978", "1992", "2012"],
        type="quiz",
        correct_option_ids=[1],
        is_anonymous=False,
        explanation="<b>1992</b> 南方谈话",
        explanation_parse_mode="HTML",
    )
    call = standin.calls_for("sendPoll")[-1]
    assert call.params["correct_option_ids"] == [1] and "correct_option_id" not in call.params
    assert sent.poll.correct_option_ids == (1,) and sent.poll.explanation == "1992 南方谈话"

    standin.answer_poll(sent.poll.id, ANN, [1])
    standin.answer_poll(sent.poll.id, BOB, [0], poll_update=False)
    updates = await bot.get_updates(timeout=1)
    answers = [u.poll_answer for u in updates if u.poll_answer]
    assert all(isinstance(a, PollAnswer) for a in answers)
    assert [(a.user.id, a.option_ids) for a in answers] == [(ANN, (1,)), (BOB, (0,))]
    assert answers[0].option_persistent_ids == (sent.poll.options[1].persistent_id,)
    # Raw update dicts parse too, exactly as the Application would parse them.
    raw = standin.calls_for("getUpdates")[-1].result
    assert Update.de_json(raw[0], bot).poll_answer.poll_id == sent.poll.id
    assert standin.polls(ANN)[0]["total_voter_count"] == 2
    with pytest.raises(ValueError, match="(?i)revoting|changing"):
        standin.answer_poll(sent.poll.id, ANN, [2])  # quizzes can't be re-answered
    assert standin.errors == []


async def test_anonymous_poll_reveals_no_voters(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    sent = await bot.send_poll(ANN, "Q", ["a", "b"])
    update = standin.answer_poll(sent.poll.id, ANN, [0])
    assert "poll_answer" not in update and update["poll"]["options"][0]["voter_count"] == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"question": "q" * 301}, "question length"),
        ({"options": ["x"]}, "at least 2"),
        ({"options": [str(i) for i in range(13)]}, "more than 12"),
        ({"options": ["a", "b" * 101]}, "option length"),
        ({"type": "quiz"}, "correct_option_ids must be specified"),
        ({"type": "quiz", "correct_option_ids": [5]}, "wrong correct option"),
        ({"type": "quiz", "correct_option_ids": [0], "explanation": "e" * 201}, "explanation is too long"),
        ({"type": "quiz", "correct_option_ids": [0], "explanation": "1\n2\n3\n4"}, "line feeds"),
    ],
)
async def test_poll_limits(bot: telegram.Bot, standin: BotAPIStandin, kwargs: dict, error: str) -> None:
    args = {"question": "Q", "options": ["a", "b"], **kwargs}
    with pytest.raises(BadRequest, match="(?i)" + error):
        await bot.send_poll(ANN, **args)


# ------------------------------------------------------------------ injected faults


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own retry_after
async def test_rate_limit_answers_429_with_retry_after(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    standin.rate_limit(per_chat_per_minute=2)
    await bot.send_message(ANN, "1")
    await bot.send_message(ANN, "2")
    with pytest.raises(RetryAfter):
        await bot.send_message(ANN, "3")
    assert standin.calls_for("sendMessage")[-1].response["parameters"]["retry_after"] >= 1
    assert standin.count_429 == 1 and standin.errors == []
    await bot.send_message(GROUP, "other chats are fine")
    standin.rate_limit()
    await bot.send_message(ANN, "3")
    assert standin.max_in_window(ANN, window=60) == 3


async def test_latency_and_delivery_timestamps(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    standin.latency = 0.05
    started = time.monotonic()
    await asyncio.gather(*(bot.send_message(GROUP, str(i)) for i in range(3)))
    assert time.monotonic() - started >= 0.05
    deliveries = standin.delivered[GROUP]
    assert [d.method for d in deliveries] == ["sendMessage"] * 3
    assert standin.max_in_window(GROUP, window=1.0) == 3


async def test_blocked_chat_is_forbidden(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    standin.block(ANN)
    with pytest.raises(Forbidden, match="(?i)blocked by the user"):
        await bot.send_message(ANN, "hi")
    standin.unblock(ANN)
    await bot.send_message(ANN, "hi again")
    assert standin.errors == []


async def test_unstarted_private_chat_is_forbidden(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    with pytest.raises(Forbidden, match="(?i)can't initiate conversation"):
        await bot.send_message(BOB, "hi")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(777, "hi")
    standin.send_message(BOB, BOB, "/start")  # Bob starts the bot: now it may write to him
    await bot.send_message(BOB, "welcome")


async def test_migrated_group_raises_chat_migrated(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    standin.migrate(GROUP, SUPERGROUP)
    with pytest.raises(ChatMigrated) as excinfo:
        await bot.send_message(GROUP, "hi")
    assert excinfo.value.new_chat_id == SUPERGROUP
    sent = await bot.send_message(SUPERGROUP, "hi")
    assert sent.chat.type == "supergroup"
    assert (await bot.get_chat_member(SUPERGROUP, BOB)).status == "creator"
    assert standin.errors == []


async def test_fail_next_drops_or_errors(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    standin.fail_next("sendMessage", 1)
    with pytest.raises(NetworkError):
        await bot.send_message(ANN, "lost")
    standin.fail_next("sendMessage", 1, kind=502)
    with pytest.raises(NetworkError, match="(?i)Bad Gateway"):
        await bot.send_message(ANN, "lost too")
    standin.fail_next("sendMessage", 1, kind="network_after")
    with pytest.raises(NetworkError):
        await bot.send_message(ANN, "sent but unacknowledged")
    standin.fail_next("sendPoll", 1, kind=400)  # as an emulator without polls would answer
    with pytest.raises(BadRequest, match="not supported"):
        await bot.send_poll(ANN, "Q", ["a", "b"])
    standin.fail_next("sendPoll", 1, kind=404)
    with pytest.raises(InvalidToken):  # PTB's reading of a 404
        await bot.send_poll(ANN, "Q", ["a", "b"])
    await bot.send_message(ANN, "fine")
    assert standin.messages_in(ANN) == ["sent but unacknowledged", "fine"]
    assert standin.polls(ANN) == []


async def test_take_down_fails_every_call_until_brought_up(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    standin.take_down("sendMessage", 502)
    for _ in range(3):
        with pytest.raises(NetworkError, match="(?i)Bad Gateway"):
            await bot.send_message(ANN, "lost")
    await bot.get_me()  # only sendMessage is down
    standin.take_down("*", "network")
    with pytest.raises(NetworkError):
        await bot.get_me()
    standin.take_down("*", "hang")
    pending = asyncio.create_task(bot.send_message(ANN, "held"))
    await asyncio.sleep(0.3)
    assert not pending.done()  # held unanswered, as by a server that does not answer
    standin.bring_up()
    with pytest.raises(NetworkError):
        await pending  # then dropped: nothing delivered while it was down
    await bot.send_message(ANN, "back")
    assert standin.messages_in(ANN) == ["back"]
    assert standin.errors == []

    assert standin.errors == []


# ------------------------------------------------------------------ updates


async def test_long_polling_wakes_up_when_an_update_arrives(
    bot: telegram.Bot, standin: BotAPIStandin
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    standin.send_message(ANN, ANN, "/today@studybot_test_bot now")
    updates = await poll
    assert time.monotonic() - started < 1.0
    message = updates[0].message
    assert message.text.startswith("/today") and message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/today@studybot_test_bot")
    # Confirming with offset removes the update; an empty long poll honours its timeout.
    started = time.monotonic()
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 3


async def test_allowed_updates_and_group_privacy(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    assert standin.send_message(GROUP, BOB, "chatting among ourselves") is None
    assert standin.send_message(GROUP, BOB, "/start@other_bot") is None
    assert standin.send_message(GROUP, BOB, "/start") is not None
    question = await bot.send_message(GROUP, "What year?")
    reply = standin.send_message(GROUP, BOB, "1992", reply_to_message_id=question.message_id)
    assert reply["message"]["reply_to_message"]["message_id"] == question.message_id
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["/start", "1992"]
    await bot.get_updates(offset=updates[-1].update_id + 1, allowed_updates=["callback_query"])
    standin.send_message(ANN, ANN, "filtered out")
    assert await bot.get_updates() == ()
    assert len(standin.dropped_updates) == 3


async def test_chat_members_follow_the_configuration(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    standin.add_user(44, "Cid")
    standin.add_chat(-1005, "supergroup", "Closed", admins=[ANN], owner=BOB, members=[])
    statuses = [(await bot.get_chat_member(-1005, uid)).status for uid in (BOB, ANN, 44, 123)]
    assert statuses == ["creator", "administrator", "left", "member"]
    assert [m.user.id for m in await bot.get_chat_administrators(-1005)] == [BOB, ANN]
    assert (await bot.get_chat(-1005)).title == "Closed"


async def test_edits_and_poll_stops_follow_telegram_rules(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    sent = await bot.send_message(ANN, "v1", reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(ANN, sent.message_id, reply_markup=keyboard("a"))
    edited = await bot.edit_message_text("v2", ANN, sent.message_id, reply_markup=keyboard("b"))
    assert edited.text == "v2" and edited.edit_date is not None
    poll = await bot.send_poll(ANN, "Q", ["a", "b"], is_anonymous=False)
    stopped = await bot.stop_poll(ANN, poll.message_id)
    assert stopped.is_closed
    with pytest.raises(BadRequest, match="(?i)already been closed"):
        await bot.stop_poll(ANN, poll.message_id)
    assert await bot.delete_message(ANN, sent.message_id)
    assert standin.messages_in(ANN) == ["Q"]
    assert [c.description for c in standin.errors] == [
        "Bad Request: message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message",
        "Bad Request: poll has already been closed",
    ]


async def test_second_poller_gets_conflict(bot: telegram.Bot, standin: BotAPIStandin) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.1)
    async with standin.make_bot() as other:
        await other.get_updates(timeout=0)
    with pytest.raises(Conflict, match="(?i)only one bot instance"):
        await first
    assert standin.errors[-1].error_code == 409


async def test_another_instance_cuts_every_poll_off_with_409(
    bot: telegram.Bot, standin: BotAPIStandin
) -> None:
    standin.other_instance(every=0.2)
    standin.send_message(ANN, ANN, "taken by the other one")
    started = time.monotonic()
    with pytest.raises(Conflict) as excinfo:
        await bot.get_updates(timeout=5)
    assert 0.15 < time.monotonic() - started < 2  # cut off at the other's next poll, not at the timeout
    call = standin.calls_for("getUpdates")[-1]
    assert call.response == {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    }
    assert str(excinfo.value) == call.description
    assert [u["message"]["text"] for u in standin.taken_by_other] == ["taken by the other one"]
    standin.other_instance(None)  # the other instance stopped
    standin.send_message(ANN, ANN, "for us")
    assert [u.message.text for u in await bot.get_updates(timeout=1)] == ["for us"]
    assert standin.errors == []  # injected: the bot broke no rule


async def test_a_poll_waiting_for_the_other_instance_goes_on_when_it_stops(
    bot: telegram.Bot, standin: BotAPIStandin
) -> None:
    standin.other_instance(every=5)
    poll = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.2)
    standin.other_instance(None)
    standin.send_message(ANN, ANN, "hello")
    assert [u.message.text for u in await poll] == ["hello"]
    assert standin.errors == []


async def test_application_polls_and_handles_buttons(standin: BotAPIStandin) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("<b>Welcome</b>", parse_mode="HTML", reply_markup=keyboard("go"))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text("done")

    app = standin.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=5)
        standin.send_message(ANN, ANN, "/start")
        welcome = await standin.await_call("sendMessage")
        assert welcome.result["text"] == "Welcome"
        update = standin.press_button(ANN, ANN, welcome.result["message_id"], "go")
        await standin.await_call("editMessageText")
        await app.updater.stop()
        await app.stop()
    assert standin.callback_answers[update["callback_query"]["id"]]["text"] == "ok"
    # The edit dropped the keyboard because reply_markup was not repeated, as on Telegram.
    assert "reply_markup" not in standin.bot_messages(ANN)[0]
    assert standin.errors == [] and standin.pending_updates() == []


def test_serves_a_bot_in_another_process(standin: BotAPIStandin) -> None:
    script = (
        "import asyncio, os, telegram\n"
        "async def main():\n"
        "    async with telegram.Bot(os.environ['TOKEN'], base_url=os.environ['API']) as bot:\n"
        "        updates = await bot.get_updates(timeout=5)\n"
        "        await bot.send_message(updates[0].message.chat.id, 'echo: ' + updates[0].message.text)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "TOKEN": TOKEN, "API": standin.base_url}
    child = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        threading.Timer(0.2, standin.send_message, (ANN, ANN, "hello")).start()
        call = standin.wait_for("sendMessage", timeout=8)
        assert call.params == {"chat_id": ANN, "text": "echo: hello"}
        assert child.wait(timeout=8) == 0
    finally:
        if child.poll() is None:
            child.kill()
    assert standin.errors == []
