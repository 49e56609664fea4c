"""Quizzes under faults and /review at any time, end to end: the real Application (the whole service)
against the Bot API stand-in, which refuses or drops the sendPoll calls the test chooses; a real SQLite
file; the clock moved by the test.

A question that could not be sent never holds the chat: the round is ended (a refused poll) or paused
with a ▶️ button (a temporary error), the user is told, and a new /quiz works at once. /review with no
card due yet quizzes the notebook anyway as 提前复习, rated by FSRS at the real time of each answer.
"""

# ruff: noqa: F811  (bot is the fixture of test_telegram, imported to be used here)
from __future__ import annotations

import asyncio

import fsrs
import pytest
from helpers import buttons, sent_to
from test_telegram import ALICE, BOB, GROUP, bot  # noqa: F401


async def until(condition, timeout: float = 5.0) -> None:
    """Wait until condition() holds: the bot records a sent poll just after the stand-in answered."""
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


def notice_in(chat: int):
    """A predicate for the bot's notice that a question was not sent."""
    return lambda c: sent_to(c, chat) and c.method == "sendMessage" and "没能发出去" in c.params["text"]


async def first_poll(bot, chat: int, after: int):
    return await bot.api.await_call("sendPoll", lambda c: sent_to(c, chat), after=after)


async def answer(bot, chat: int, poll, user: int, right: bool):
    """The user answers the poll; returns the bot's next call in the chat (the next poll or the score)."""
    correct = poll.params["correct_option_ids"][0]
    mark = bot.api.mark()
    wrong = (correct + 1) % len(poll.result["poll"]["options"])
    bot.api.answer_poll(poll.result["poll"]["id"], user, [correct if right else wrong])
    return await bot.api.await_call("*", lambda c: sent_to(c, chat), after=mark)


async def answer_only(bot, poll, user: int, right: bool) -> None:
    """The user answers the poll, and the bot has recorded it (a group round may say nothing yet)."""
    correct = poll.params["correct_option_ids"][0]
    poll_id = poll.result["poll"]["id"]
    await until(lambda: bot.storage.quiz_by_poll(poll_id) is not None)  # recorded just after it was sent
    session = bot.storage.quiz_by_poll(poll_id)["id"]

    def answers() -> int:
        return sum(r["total"] for r in bot.storage.quiz_results(session))

    before = answers()
    wrong = (correct + 1) % len(poll.result["poll"]["options"])
    bot.api.answer_poll(poll_id, user, [correct if right else wrong])
    await until(lambda: answers() > before)


# ------------------------------------------------------------------ item 7: a poll that never arrived


@pytest.mark.parametrize("kind", [400, 404])
async def test_a_refused_first_poll_ends_the_round_and_a_new_quiz_works(bot, kind):
    """An API without sendPoll (400, or 404 as for an unknown method): the round ends, the user is told."""
    bot.api.fail_next("sendPoll", 1, kind=kind)
    mark = bot.api.mark()
    intro = await bot.say(ALICE, ALICE, "/quiz")
    assert "小测验 · 共 5 题" in intro.params["text"]
    notice = await bot.api.await_call("sendMessage", notice_in(ALICE), after=mark)
    assert notice.params["text"] == "⚠️ 第 1 / 5 题没能发出去，这轮测验已结束。"
    assert buttons(notice) == ["quiz:5"]
    [refused] = bot.api.calls_for("sendPoll")
    assert refused.error_code == kind
    assert bot.storage.active_quiz(f"tg:{ALICE}") is None

    mark = bot.api.mark()
    again = await bot.say(ALICE, ALICE, "/quiz")
    assert "小测验 · 共 5 题" in again.params["text"]  # not "这里已有一轮测验在进行（第 1 / 5 题）"
    poll = await first_poll(bot, ALICE, mark)
    assert poll.params["question"].startswith("（1/5）")
    await until(lambda: bot.storage.active_quiz(f"tg:{ALICE}")["poll_id"] == poll.result["poll"]["id"])


@pytest.mark.parametrize("kind", [502, "network"])
async def test_a_first_poll_lost_in_transit_pauses_the_round_and_resumes(bot, kind):
    bot.api.fail_next("sendPoll", 1, kind=kind)
    mark = bot.api.mark()
    await bot.say(ALICE, ALICE, "/quiz 3")
    notice = await bot.api.await_call("sendMessage", notice_in(ALICE), after=mark)
    assert notice.params["text"] == (
        "⚠️ 第 1 / 3 题没能发出去（发送暂时出错），这轮测验先暂停了。稍后点“继续答题”重发这一题，或再来一轮。"
    )
    resume, again = buttons(notice)
    session = int(resume.removeprefix("quizon:"))
    assert again == "quiz:5" and bot.storage.get_quiz(session)["state"] == "cancelled"
    assert bot.storage.active_quiz(f"tg:{ALICE}") is None  # nothing holds the chat meanwhile

    first = await bot.press(ALICE, ALICE, notice.result["message_id"], resume, method="sendPoll")
    assert first.params["question"].startswith("（1/3）")
    await until(lambda: bot.storage.active_quiz(f"tg:{ALICE}")["poll_id"] == first.result["poll"]["id"])
    assert bot.storage.active_quiz(f"tg:{ALICE}")["id"] == session
    second = await answer(bot, ALICE, first, ALICE, right=True)
    assert second.method == "sendPoll" and second.params["question"].startswith("（2/3）")
    # The old button again: the round is running, it is not sent twice.
    busy = await bot.press(ALICE, ALICE, notice.result["message_id"], resume)
    assert busy.params["text"].startswith("这里已有一轮测验在进行（第 2 / 3 题）")
    assert len([c for c in bot.api.calls_for("sendPoll") if c.ok]) == 2


async def test_a_later_question_lost_mid_quiz_pauses_and_resumes_with_the_score_whole(bot):
    mark = bot.api.mark()
    await bot.say(GROUP, ALICE, "/quiz 3")
    first = await first_poll(bot, GROUP, mark)
    bot.api.fail_next("sendPoll", 1, kind="network")
    # A group round: ALICE alone answers the first question, which ends when its 60 s are up.
    await answer_only(bot, first, ALICE, right=False)
    mark = bot.api.mark()
    bot.clock.advance(seconds=61)
    await bot.service.rounds_tick(bot.clock())
    notice = await bot.api.await_call("sendMessage", notice_in(GROUP), after=mark)
    assert notice.params["text"].startswith("⚠️ 第 2 / 3 题没能发出去（发送暂时出错）")
    session = int(buttons(notice)[0].removeprefix("quizon:"))
    paused = bot.storage.get_quiz(session)
    assert paused["state"] == "cancelled" and paused["position"] == 1 and paused["poll_id"] is None
    # A late answer to question 1's poll (updates are handled in order: before the press below) is
    # not taken for question 2.
    bot.api.answer_poll(first.result["poll"]["id"], BOB, [0])
    second = await bot.press(
        GROUP, ALICE, notice.result["message_id"], f"quizon:{session}", method="sendPoll"
    )
    assert second.params["question"].startswith("（2/3）")
    third = await answer(bot, GROUP, second, ALICE, right=True)
    assert third.params["question"].startswith("（3/3）")
    # Only ALICE answered each question before: her answer alone moves the round on.
    score = await answer(bot, GROUP, third, ALICE, right=True)
    assert score.params["text"].startswith("<b>🏁 本轮测验结束 · 共 3 题</b>")
    assert "1. 小王 · 2 / 3" in score.params["text"]
    assert bot.storage.quiz_results(session) == [
        {"user_key": f"tg:{ALICE}", "name": "小王", "correct": 2, "total": 3}
    ]


async def test_a_paused_round_does_not_stop_a_new_one_in_a_group(bot):
    bot.api.fail_next("sendPoll", 1, kind=502)
    mark = bot.api.mark()
    await bot.say(GROUP, ALICE, "/quiz 1")
    notice = await bot.api.await_call("sendMessage", notice_in(GROUP), after=mark)
    mark = bot.api.mark()
    other = await bot.say(GROUP, BOB, "/quiz 2")
    assert "小测验 · 共 2 题" in other.params["text"]
    poll = await first_poll(bot, GROUP, mark)
    assert poll.params["question"].startswith("（1/2）")
    # Resuming ALICE's round now would make two: it says which one runs instead.
    busy = await bot.press(GROUP, ALICE, notice.result["message_id"], buttons(notice)[0])
    assert busy.params["text"].startswith("本群已有一轮测验在进行（第 1 / 2 题）")
    assert bot.storage.active_quiz(f"tg:{GROUP}")["user_key"] == f"tg:{BOB}"


async def test_a_lost_heading_ends_the_round_before_its_question(bot):
    """The heading before the first poll is lost: the poll is not sent on its own, the round pauses."""
    bot.api.fail_next("sendMessage", 1, kind="network")
    notice = await bot.say(ALICE, ALICE, "/quiz 2")
    assert notice.params["text"].startswith("⚠️ 第 1 / 2 题没能发出去（发送暂时出错）")
    assert bot.api.calls_for("sendPoll") == []
    assert bot.storage.active_quiz(f"tg:{ALICE}") is None
    assert "小测验 · 共 2 题" in (await bot.say(ALICE, ALICE, "/quiz 2")).params["text"]


async def test_a_blocked_chat_does_not_keep_a_round(bot):
    await bot.say(ALICE, ALICE, "/start")
    bot.api.block(ALICE)
    mark = bot.api.mark()
    bot.api.send_message(ALICE, ALICE, "/quiz")
    await bot.api.await_call("sendMessage", lambda c: c.error_code == 403, after=mark)
    await until(lambda: bot.storage.get_chat(f"tg:{ALICE}")["blocked"] == 1)
    assert bot.storage.active_quiz(f"tg:{ALICE}") is None
    assert bot.api.calls_for("sendPoll") == []


# ------------------------------------------------------------------ item 8: /review right after a mistake


def card(bot, user: int, question_id: str) -> dict:
    return bot.storage.db["review_cards"].get((f"tg:{user}", 1, question_id))


async def test_review_right_after_a_wrong_answer_goes_over_it_early(bot):
    mark = bot.api.mark()
    await bot.say(ALICE, ALICE, "/quiz 1")
    poll = await first_poll(bot, ALICE, mark)
    score = await answer(bot, ALICE, poll, ALICE, right=False)
    assert "答错的 1 题已加入错题本" in score.params["text"]
    [(question_id,)] = bot.storage.db.execute("SELECT question_id FROM review_cards").fetchall()
    before = card(bot, ALICE, question_id)
    assert before["due"] > bot.clock().timestamp()  # not due yet: a learning step away

    bot.clock.advance(seconds=20)
    mark = bot.api.mark()
    review = await bot.say(ALICE, ALICE, "/review")
    assert review.params["text"] == (
        "<b>🔁 提前复习 · 共 1 题</b>\n错题都还没到复习时间，先提前练一练。选出你认为正确的一项。"
    )
    again = await first_poll(bot, ALICE, mark)
    assert again.params["question"] == "（1/1）" + poll.params["question"].split("）", 1)[1]
    bot.clock.advance(seconds=10)
    score = await answer(bot, ALICE, again, ALICE, right=True)
    assert score.params["text"].startswith("<b>🎯 1 / 1</b>")
    after = card(bot, ALICE, question_id)
    assert after["reviews"] == 2 and after["lapses"] == 1
    assert after["due"] > before["due"]  # right: the next review moves later
    assert after["updated_at"] == int(bot.clock().timestamp())  # recorded at its real time
    assert fsrs.Card.from_json(after["card"]).last_review.timestamp() == bot.clock().timestamp()


async def test_review_asks_only_the_due_cards_when_some_are_due(bot):
    mark = bot.api.mark()
    await bot.say(ALICE, ALICE, "/quiz 2")
    first = await first_poll(bot, ALICE, mark)
    second = await answer(bot, ALICE, first, ALICE, right=False)
    bot.clock.advance(days=2)  # the first mistake comes due; the second is made now
    await answer(bot, ALICE, second, ALICE, right=False)
    text = lambda c: c.params["question"].split("）", 1)[1]  # noqa: E731
    mark = bot.api.mark()
    review = await bot.say(ALICE, ALICE, "/review")
    assert review.params["text"].startswith("<b>🔁 复习错题 · 共 1 题</b>")
    due = await first_poll(bot, ALICE, mark)
    assert text(due) == text(first)
    await answer(bot, ALICE, due, ALICE, right=True)
    # Now none is due: both, the soonest due first, as 提前复习.
    mark = bot.api.mark()
    early = await bot.say(ALICE, ALICE, "/review")
    assert early.params["text"].startswith("<b>🔁 提前复习 · 共 2 题</b>")
    poll = await first_poll(bot, ALICE, mark)
    assert text(poll) == text(second)


async def test_review_with_an_empty_notebook(bot):
    call = await bot.say(ALICE, ALICE, "/review")
    assert call.params["text"] == "错题本是空的 👍 先来一轮 /quiz 吧。" and buttons(call) == ["quiz:5"]
