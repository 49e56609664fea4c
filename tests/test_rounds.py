"""Group quiz rounds and /rank, end to end: the whole service against the Bot API stand-in, a real SQLite
file, the clock moved by the test (a round's 60 s are the service's clock: `Service.rounds_tick(now)`).

In a group a quiz is one round for everyone: a question ends after 3 answers (later: as many as answered
the one before, at most 3) or 60 s, whichever first, and the round ends with its scoreboard.
"""

# ruff: noqa: F811  (bot is the fixture of test_telegram, imported to be used here)
from __future__ import annotations

from datetime import datetime, timedelta

from helpers import buttons, sent_to
from test_quiz_faults import answer_only, until
from test_telegram import ADMIN, ALICE, BOB, CAROL, GROUP, bot  # noqa: F401

GKEY = f"tg:{GROUP}"


def polls_in(bot, chat: int) -> list:
    return [c for c in bot.api.calls_for("sendPoll") if sent_to(c, chat)]


async def start_round(bot, count: int, user: int = ALICE):
    mark = bot.api.mark()
    intro = await bot.say(GROUP, user, f"/quiz {count}")
    poll = await bot.api.await_call("sendPoll", lambda c: sent_to(c, GROUP), after=mark)
    await until(lambda: (bot.storage.active_quiz(GKEY) or {}).get("poll_id") == poll.result["poll"]["id"])
    return intro, poll


def right(poll) -> int:
    return poll.params["correct_option_ids"][0]


async def test_a_round_moves_on_after_enough_answers_and_ends_with_a_scoreboard(bot):
    bot.api.add_user(BOB, "小李", last_name="Li")  # the scoreboard shows first names
    intro, first = await start_round(bot, 2)
    assert "3 人答完或 60 秒后出下一题" in intro.params["text"]
    # A second /quiz while the round runs is refused: where it is and who started it.
    busy = await bot.say(GROUP, BOB, "/quiz")
    assert busy.params["text"].startswith("本群已有一轮测验在进行（第 1 / 2 题），由小王发起")
    assert "stopquiz" in buttons(busy)
    # Out of order: not the starter first. Two answers keep the question open.
    await answer_only(bot, first, CAROL, right=True)
    await answer_only(bot, first, BOB, right=True)
    assert len(polls_in(bot, GROUP)) == 1
    mark = bot.api.mark()
    bot.api.answer_poll(
        first.result["poll"]["id"], ALICE, [(right(first) + 1) % len(first.result["poll"]["options"])]
    )  # the third: wrong
    second = await bot.api.await_call("sendPoll", lambda c: sent_to(c, GROUP), after=mark)
    assert second.params["question"].startswith("（2/2）")
    await until(lambda: bot.storage.active_quiz(GKEY)["poll_id"] == second.result["poll"]["id"])
    # A late answer to the old poll counts for nothing, least of all for the new question.
    session = bot.storage.active_quiz(GKEY)["id"]
    bot.api.answer_poll(first.result["poll"]["id"], ADMIN, [right(first)])
    qid = bot.storage.active_quiz(GKEY)["question_ids"][1]
    await answer_only(bot, second, BOB, right=True)
    assert bot.storage.question_answerers(session, qid) == 1
    assert f"tg:{ADMIN}" not in {r["user_key"] for r in bot.storage.quiz_results(session)}
    await answer_only(bot, second, CAROL, right=True)
    mark = bot.api.mark()
    bot.api.answer_poll(second.result["poll"]["id"], ALICE, [right(second)])
    board = await bot.api.await_call("sendMessage", lambda c: sent_to(c, GROUP), after=mark)
    text = board.params["text"]
    assert text.startswith("<b>🏁 本轮测验结束 · 共 2 题</b>") and board.params["parse_mode"] == "HTML"
    # A tie shares its rank; the HTML-ish first name is escaped.
    assert "1. 小李 · 2 / 2" in text and "1. &lt;b&gt;小张&lt;/b&gt; · 2 / 2" in text
    assert "3. 小王 · 1 / 2" in text and "<b>小张</b>" not in text
    assert "Li" not in text and bot.storage.get_user(f"tg:{BOB}")["name"] == "小李 Li"
    assert bot.storage.active_quiz(GKEY) is None and bot.storage.get_quiz(session)["state"] == "done"
    assert "rank" in buttons(board)
    rank = await bot.press(GROUP, BOB, board.result["message_id"], "rank")
    assert (
        rank.params["text"].startswith("<b>🏆 排行榜 · 学习小组</b>")
        and "1. 小李 · 答对 2 题" in rank.params["text"]
    )


async def test_a_round_moves_on_when_its_60_seconds_are_up(bot):
    _, first = await start_round(bot, 2)
    await answer_only(bot, first, BOB, right=True)
    bot.clock.advance(seconds=59)
    assert await bot.service.rounds_tick(bot.clock()) == 0
    assert len(polls_in(bot, GROUP)) == 1
    mark = bot.api.mark()
    bot.clock.advance(seconds=2)
    await bot.service.rounds_tick(bot.clock())  # the service's own loop may have been first
    second = await bot.api.await_call("sendPoll", lambda c: sent_to(c, GROUP), after=mark)
    assert second.params["question"].startswith("（2/2）")
    await until(lambda: bot.storage.active_quiz(GKEY)["poll_id"] == second.result["poll"]["id"])
    # Nobody answers the last one: its 60 s end the round (counted from when it was asked).
    bot.clock.advance(seconds=30)
    assert await bot.service.rounds_tick(bot.clock()) == 0
    mark = bot.api.mark()
    bot.clock.advance(seconds=31)
    await bot.service.rounds_tick(bot.clock())
    board = await bot.api.await_call("sendMessage", lambda c: sent_to(c, GROUP), after=mark)
    assert board.params["text"].startswith("<b>🏁 本轮测验结束 · 共 2 题</b>")
    assert "1. 小李 · 1 / 2" in board.params["text"]
    assert bot.storage.active_quiz(GKEY) is None
    assert await bot.service.rounds_tick(bot.clock()) == 0  # nothing twice


async def test_a_private_quiz_has_no_deadline(bot):
    await bot.say(ALICE, ALICE, "/quiz 2")
    await bot.api.await_call("sendPoll", lambda c: sent_to(c, ALICE))
    assert bot.storage.active_quiz(f"tg:{ALICE}")["deadline"] is None
    bot.clock.advance(minutes=5)
    assert await bot.service.rounds_tick(bot.clock()) == 0


def _answers(storage, chat_key: str, when: datetime, correct: dict[int, int]) -> None:
    """A finished round in the chat at `when`: each user's number of right answers."""
    session = storage.start_quiz(chat_key, f"tg:{ALICE}", [f"q{i}" for i in range(5)], when)
    for user, right_answers in correct.items():
        for i in range(right_answers):
            storage.record_answer(session, chat_key, f"tg:{user}", f"q{i}", "1", 0, True, when)
    storage.finish_quiz(session)


async def test_rank_of_the_week_and_of_the_course_with_ties(bot):
    await bot.say(GROUP, ALICE, "/settings")  # the group and ALICE are known
    storage = bot.storage
    for user, name in [(BOB, "小李"), (CAROL, "<b>小张</b>"), (ADMIN, "管理员")]:
        storage.ensure_user(f"tg:{user}", name)
    now = bot.clock()  # Tuesday 2026-11-24, 09:00 in Shanghai; the week began Monday 04:00
    _answers(storage, GKEY, now - timedelta(days=7), {BOB: 3})  # last week
    _answers(storage, GKEY, datetime(2026, 11, 22, 20, 30, tzinfo=now.tzinfo), {ALICE: 2, CAROL: 2, BOB: 1})
    _answers(storage, GKEY, now, {ADMIN: 2})
    _answers(storage, f"tg:{BOB}", now, {BOB: 5})  # in his private chat: not the group's
    for user, days in [
        (ALICE, ["2026-11-23", "2026-11-24"]),
        (CAROL, ["2026-11-24"]),
        (ADMIN, ["2026-11-23"]),
    ]:
        for day in days:
            storage.check_in(f"tg:{user}", GKEY, day, now)
    storage.check_in(f"tg:{CAROL}", GKEY, "2026-11-20", now)  # last week: counts for the course only
    call = await bot.say(GROUP, BOB, "/rank")
    text = call.params["text"]
    week, course = text.split("本课程")
    assert "本周（11月23日起）" in week
    assert "1. 小王 · 答对 2 题 · 学习 2 天" in week
    assert (
        "2. &lt;b&gt;小张&lt;/b&gt; · 答对 2 题 · 学习 1 天" in week
        and "2. 管理员 · 答对 2 题 · 学习 1 天" in week
    )
    assert "4. 小李 · 答对 1 题 · 学习 0 天" in week
    assert "1. 小李 · 答对 4 题 · 学习 0 天" in course
    assert (
        "2. 小王 · 答对 2 题 · 学习 2 天" in course
        and "2. &lt;b&gt;小张&lt;/b&gt; · 答对 2 题 · 学习 2 天" in course
    )
    assert "4. 管理员 · 答对 2 题 · 学习 1 天" in course
    assert "<b>小张</b>" not in text


async def test_rank_in_a_private_chat_is_for_groups_and_shows_ones_own_week(bot):
    await bot.say(ALICE, ALICE, "/start")
    _answers(bot.storage, GKEY, bot.clock(), {ALICE: 2})
    bot.storage.check_in(f"tg:{ALICE}", f"tg:{ALICE}", "2026-11-24", bot.clock())
    call = await bot.say(ALICE, ALICE, "/rank")
    assert "排行榜在群里使用" in call.params["text"] and "你本周答对 2 题，学习 1 天" in call.params["text"]
    help_text = (await bot.say(ALICE, ALICE, "/help")).params["text"]
    assert "/rank" in help_text
    await bot.api.await_call("setMyCommands")
    assert "rank" in [c["command"] for c in bot.api.my_commands()]
