"""Check-ins (打卡) end to end: the ✅ 已学习 button under a lesson through the whole service against the
Bot API stand-in, 已学 / 打卡 typed in the console and by a WeCom app user; the study day (04:00 to 04:00
in the chat's zone, across daylight-saving changes), pressing twice, the streak and its freezes in /me.
Time is a parameter: the test moves the service's clock, nothing sleeps for the wall clock."""

# ruff: noqa: F811  (bot and app_bot are fixtures of test_telegram and test_wecom_channel, used here)
from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from helpers import Clock
from test_telegram import ALICE, BOB, CAROL, GROUP, bot  # noqa: F401
from test_wecom_channel import USER, app_bot, shanghai  # noqa: F401

from bot.channels.console import CHAT_KEY, Console
from bot.core.actions import Actions
from bot.core.config import Config
from bot.core.storage import Storage

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def at(zone: ZoneInfo, *wall: int) -> datetime:
    """An instant given as wall time in `zone`, as UTC."""
    return datetime(*wall, tzinfo=zone).astimezone(UTC)


class Learner:
    """One Telegram user with a lesson message whose ✅ they press, in their private chat or a group."""

    def __init__(self, bot, user: int, chat: int | None = None):
        self.bot, self.user, self.chat = bot, user, user if chat is None else chat
        self.lesson_id: int | None = None

    async def press(self, when: datetime) -> str:
        """Press ✅ 已学习 at `when`; the bot's answer."""
        self.bot.clock.now = when
        if self.lesson_id is None:
            lesson = await self.bot.say(self.chat, self.user, "/today")
            self.lesson_id = lesson.result["message_id"]
        answer = await self.bot.press(self.chat, self.user, self.lesson_id, "done:1", method="sendMessage")
        return answer.params["text"]

    async def me(self) -> str:
        return (await self.bot.say(self.chat, self.user, "/me")).params["text"]

    def dates(self) -> list[str]:
        return [d.isoformat() for d in self.bot.storage.checkin_dates(f"tg:{self.user}")]


async def test_a_study_day_ends_at_four_and_twice_counts_once(bot):
    alice = Learner(bot, ALICE)
    first = await alice.press(at(SHANGHAI, 2026, 11, 24, 20, 0))
    assert first == "✅ 今天的学习已记录！连续 1 天 · 已学习 1 天。"
    again = await alice.press(at(SHANGHAI, 2026, 11, 24, 22, 0))
    assert again == "👌 今天已经打过卡了，不重复记录。连续 1 天 · 已学习 1 天。"
    # 02:30 on the 25th is still the study day of the 24th.
    night = await alice.press(at(SHANGHAI, 2026, 11, 25, 2, 30))
    assert night.startswith("👌 今天已经打过卡了")
    assert alice.dates() == ["2026-11-24"]
    morning = await alice.press(at(SHANGHAI, 2026, 11, 25, 4, 0))
    assert morning == "✅ 今天的学习已记录！连续 2 天 · 已学习 2 天。"
    assert alice.dates() == ["2026-11-24", "2026-11-25"]
    me = await alice.me()
    assert "学习天数：2 天" in me and "连续学习：2 天（最长 2 天）" in me and "今天：已打卡 ✅" in me
    assert "🛡 连续保护：0 次（每学满 7 天得 1 次，最多 2 次）" in me
    # The next evening, not yet pressed: the streak still stands, and /me says how to check in.
    bot.clock.now = at(SHANGHAI, 2026, 11, 26, 21, 0)
    me = await alice.me()
    assert "连续学习：2 天" in me and "今天还没打卡：学完点 ✅ 已学习，或发送“打卡”" in me
    # Typed in the private chat on Telegram too.
    typed = await bot.say(ALICE, ALICE, "打卡")
    assert typed.params["text"] == "✅ 今天的学习已记录！连续 3 天 · 已学习 3 天。"
    rows = bot.storage.db.execute("SELECT user_key, chat_key, study_date FROM checkins ORDER BY study_date")
    assert [tuple(r) for r in rows] == [(f"tg:{ALICE}", f"tg:{ALICE}", d) for d in alice.dates()]


async def test_the_day_boundary_is_four_in_berlin_on_the_dst_days(bot):
    bob = Learner(bot, BOB)
    bot.clock.now = at(BERLIN, 2026, 3, 27, 12, 0)
    zone = await bot.say(BOB, BOB, "/settime 08:00 Europe/Berlin")
    assert "（Europe/Berlin）" in zone.params["text"]
    await bob.press(at(BERLIN, 2026, 3, 27, 20, 0))
    # 29 March: 02:00 CET becomes 03:00 CEST. 03:59 CEST (01:59 UTC) is still the 28th's study day.
    assert (await bob.press(datetime(2026, 3, 29, 1, 59, tzinfo=UTC))).endswith("连续 2 天 · 已学习 2 天。")
    assert (await bob.press(datetime(2026, 3, 29, 2, 0, tzinfo=UTC))).endswith("连续 3 天 · 已学习 3 天。")
    assert bob.dates() == ["2026-03-27", "2026-03-28", "2026-03-29"]
    # 25 October: 03:00 CEST becomes 02:00 CET. 02:30 comes twice and 03:59 CET is 02:59 UTC: all the 24th.
    await bob.press(at(BERLIN, 2026, 10, 23, 20, 0))
    for utc in ((0, 30), (1, 30), (2, 59)):
        await bob.press(datetime(2026, 10, 25, *utc, tzinfo=UTC))
    assert (await bob.press(datetime(2026, 10, 25, 3, 0, tzinfo=UTC))).startswith("✅")  # 04:00 CET
    assert bob.dates()[3:] == ["2026-10-23", "2026-10-24", "2026-10-25"]
    assert (await bob.me()).count("连续学习：3 天") == 1


async def test_a_freeze_earned_in_seven_days_saves_one_missed_day_not_two(bot):
    alice = Learner(bot, ALICE)
    start = date(2026, 11, 24)

    def evening(n: int) -> datetime:
        day = start + timedelta(days=n)
        return at(SHANGHAI, day.year, day.month, day.day, 20, 0)

    for n in range(6):
        assert (
            await alice.press(evening(n))
        ) == f"✅ 今天的学习已记录！连续 {n + 1} 天 · 已学习 {n + 1} 天。"
    seventh = await alice.press(evening(6))
    assert seventh.startswith("✅ 今天的学习已记录！连续 7 天 · 已学习 7 天。")
    assert "🛡 学满 7 天，获得 1 次连续保护（现有 1 次）：漏打卡一天时自动使用。" in seventh
    assert "🛡 连续保护：1 次" in await alice.me()
    # Day 7 missed. On day 8, before checking in, the freeze is spent on yesterday and the streak stands.
    bot.clock.now = evening(8) - timedelta(hours=10)
    me = await alice.me()
    assert "连续学习：7 天" in me and "🛡 连续保护：0 次" in me and "昨天没打卡，已用掉 1 次保护" in me
    saved = await alice.press(evening(8))
    assert saved == "✅ 今天的学习已记录！\n昨天没打卡，用掉了 1 次保护，连续 8 天继续！已学习 8 天。"
    for n in range(9, 14):
        await alice.press(evening(n))
    fourteenth = await alice.press(evening(14))
    assert "连续 14 天 · 已学习 14 天" in fourteenth and "获得 1 次连续保护（现有 1 次）" in fourteenth
    # Days 15 and 16 missed: the freeze covers the first, the second breaks the streak.
    broken = await alice.press(evening(17))
    assert broken == "✅ 今天的学习已记录！\n连续打卡中断了，今天重新开始：连续 1 天 · 已学习 15 天。"
    me = await alice.me()
    assert "学习天数：15 天" in me and "连续学习：1 天（最长 14 天）" in me and "🛡 连续保护：0 次" in me


async def test_a_check_in_is_the_persons_in_a_group_and_in_private(bot):
    bot.clock.now = at(SHANGHAI, 2026, 11, 24, 20, 0)
    carol = Learner(bot, CAROL, GROUP)
    in_group = await carol.press(bot.clock.now)
    # In a group the reply names who checked in, escaped.
    assert in_group == "✅ &lt;b&gt;小张&lt;/b&gt;今天的学习已记录！连续 1 天 · 已学习 1 天。"
    bob = Learner(bot, BOB, GROUP)
    bob.lesson_id = carol.lesson_id
    assert (await bob.press(bot.clock.now)).startswith("✅ 小李今天的学习已记录！")
    private = await Learner(bot, CAROL).press(bot.clock.now)  # the same person, the same study day
    assert private == "👌 今天已经打过卡了，不重复记录。连续 1 天 · 已学习 1 天。"
    me = await bot.say(GROUP, CAROL, "/me")
    assert "学习天数：1 天" in me.params["text"] and "今天：已打卡 ✅" in me.params["text"]
    rows = bot.storage.db.execute("SELECT user_key, chat_key FROM checkins ORDER BY user_key").fetchall()
    assert rows == [(f"tg:{BOB}", f"tg:{GROUP}"), (f"tg:{CAROL}", f"tg:{GROUP}")]


async def test_console_checks_in_with_words(tmp_path, model):
    storage = Storage(tmp_path / "console.db")
    clock = Clock(at(SHANGHAI, 2026, 11, 24, 2, 30))  # the study day of the 23rd
    out = io.StringIO()
    console = Console(Actions(storage, model, Config.from_env({})), out=out, clock=clock)

    async def line(text: str) -> str:
        start = out.tell()
        await console.handle(text)
        return out.getvalue()[start:]

    assert (await line("打卡")).startswith("✅ 今天的学习已记录！连续 1 天 · 已学习 1 天。")
    assert (await line("已学")).startswith("👌 今天已经打过卡了")
    clock.now = at(SHANGHAI, 2026, 11, 24, 9, 0)
    assert (await line("已学！")).startswith("✅ 今天的学习已记录！连续 2 天 · 已学习 2 天。")
    assert storage.checkin_dates(CHAT_KEY) == [date(2026, 11, 23), date(2026, 11, 24)]
    me = await line("我的")
    assert "学习天数：2 天" in me and "连续学习：2 天（最长 2 天）" in me
    # Its study reminder shows on the console when due, with the button numbered.
    assert "每天 20:30（Asia/Shanghai）" in await line("/remind 20:30")
    clock.now = at(SHANGHAI, 2026, 11, 25, 20, 30)
    shown = await line("")
    assert "⏰ 今天还没学习哦，花 3 分钟看看今天的内容？" in shown and "[1] 📖 今日学习" in shown
    assert "已经连续 2 天了" in shown
    assert "📖 每日学习 · 第 1 天" in await line("1")  # the button: today's lesson
    assert "⏰" not in await line("")  # once a day
    storage.close()


async def test_wecom_app_user_checks_in_and_is_reminded(app_bot):
    user, service = app_bot, app_bot.service
    [done] = await user.say("打卡")
    assert done == "✅ 今天的学习已记录！连续 1 天 · 已学习 1 天。"
    [twice] = await user.say("已学")
    assert twice.startswith("👌 今天已经打过卡了")
    [me] = await user.say("我的")
    assert "学习天数：1 天" in me
    [remind] = await user.say("提醒 20:30")
    assert "每天 20:30（Asia/Shanghai）" in remind and "下次提醒：今天 20:30。" in remind
    service.clock.now = shanghai(24, 20, 30)
    before = len(user.inbox())
    assert (await service.reminders.tick(service.clock())).sent == 0  # studied today: none
    service.clock.now = shanghai(25, 20, 30)
    assert (await service.reminders.tick(service.clock())).sent == 1
    [nudge] = [m["content"] for m in user.inbox()[before:]]
    assert nudge.startswith("⏰ 今天还没学习哦，花 3 分钟看看今天的内容？")
    assert "发送“今日”看今天的内容，学完发送“打卡”。" in nudge
    [off] = await user.say("提醒 关闭")
    assert off.startswith("🔕 已关闭学习提醒")
    assert service.storage.get_chat(f"wecom:{USER}")["remind_next_due"] is None
