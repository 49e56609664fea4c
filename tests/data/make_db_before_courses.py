# ruff: noqa: E501
"""Writes tests/data/db-before-courses.sqlite with the code of the release before courses (schema 3)."""

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from bot.core.actions import Actions, Ctx
from bot.core.config import Config
from bot.core.storage import SCHEMA_VERSION, Storage
from content import load_model

out = sys.argv[1]
assert SCHEMA_VERSION == 3
storage = Storage(out)
model = load_model()
config = Config.from_env({})
actions = Actions(storage, model, config)
now = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


async def main():
    # A Telegram private chat on day 6 of the plan (5 lessons sent), with answers, cards, a reflection.
    ctx = Ctx("tg:501", "tg", "private", "tg:501", "小王", now)
    await actions.command(ctx, "start", "")
    storage.subscribe("tg:501", "07:30", now, int((now + timedelta(hours=1)).timestamp()))
    for i in range(5):
        day = (now - timedelta(days=5 - i)).date()
        assert storage.claim_delivery("tg:501", day, (i % len(model.lessons)) + 1, False, now)
        storage.complete_delivery(
            "tg:501",
            day,
            str(1000 + i),
            int((now + timedelta(hours=1)).timestamp()),
            i + 1,
            now,
            plan_done=i + 1 >= len(model.lessons),
        )
    await actions.command(ctx, "quiz", "3")
    quiz = storage.active_quiz("tg:501")
    for qid in quiz["question_ids"]:
        q = model.question_by_id[qid]
        wrong = (q.answer + 1) % len(q.options)
        session = storage.active_quiz("tg:501")
        await actions.quizzes.answer(ctx, session, wrong)
    storage.add_reflection("tg:501", "tg:501", 3, "第三天的心得：要把学习成果转化为工作实效。", now, "1003")
    storage.remember_lesson_message("tg:501", "2001", 2, now)
    storage.mark_studied("tg:501", "tg:501", 2, now)
    # A group that has just started, and one that has finished the plan.
    g = Ctx("tg:-1002", "tg", "supergroup", "tg:777", "老李", now, chat_title="学习小组")
    await actions.command(g, "start", "")
    storage.subscribe("tg:-1002", "08:00", now, int((now + timedelta(hours=2)).timestamp()))
    f = Ctx("tg:503", "tg", "private", "tg:503", "小张", now)
    await actions.command(f, "start", "")
    storage.subscribe("tg:503", "09:00", now, int((now + timedelta(hours=3)).timestamp()))
    total = len(model.lessons)
    for i in range(total + 2):
        day = (now - timedelta(days=total + 2 - i)).date()
        storage.claim_delivery("tg:503", day, (i % total) + 1, False, now)
        storage.complete_delivery(
            "tg:503",
            day,
            str(3000 + i),
            int((now + timedelta(hours=3)).timestamp()),
            i + 1,
            now,
            plan_done=i + 1 >= total,
        )


asyncio.run(main())
storage.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
storage.db.conn.execute("PRAGMA journal_mode=DELETE")
storage.close()
print("ok", out)
