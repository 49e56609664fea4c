"""The streak rule (`bot.core.streaks.streak`) and the study-day and reminder times (`bot.core.schedule`):
pure functions, dates and instants given, nothing read from a clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.schedule import next_reminder, reminder_instant, study_date, study_day_end
from bot.core.streaks import FREEZE_CAP, FREEZE_EVERY, streak

D0 = date(2026, 11, 1)
BERLIN = ZoneInfo("Europe/Berlin")


def days(*offsets: int) -> list[date]:
    return [D0 + timedelta(days=n) for n in offsets]


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


# ------------------------------------------------------------------------------------------------ streaks


def test_nothing_studied():
    state = streak([], D0)
    assert (state.current, state.best, state.days, state.freezes, state.studied_today) == (0, 0, 0, 0, False)


def test_a_run_and_today_not_over_yet():
    run = days(0, 1, 2)
    assert streak(run, D0 + timedelta(days=2)).current == 3  # studied today
    assert streak(run, D0 + timedelta(days=2)).studied_today
    later = streak(run, D0 + timedelta(days=3))  # not yet today: yesterday's run still stands
    assert (later.current, later.studied_today) == (3, False)
    assert streak(run, D0 + timedelta(days=4)).current == 0  # yesterday missed, no freeze: broken
    assert streak(run, D0 + timedelta(days=4)).best == 3


def test_repeats_order_and_future_days_are_ignored():
    state = streak([*days(2, 0, 1, 1), D0 + timedelta(days=9)], D0 + timedelta(days=2))
    assert (state.current, state.days) == (3, 3)


def test_a_freeze_is_earned_every_seven_days_and_capped():
    week = days(*range(7))
    assert streak(week[:6], week[5]).freezes == 0
    state = streak(week, week[6])
    assert (state.freezes, state.earned) == (1, (week[6],))
    month = days(*range(28))
    state = streak(month, month[-1])
    assert state.freezes == FREEZE_CAP == 2  # earned at 7 and 14; 21 and 28 find the cap full
    assert state.earned == (month[6], month[13])
    assert FREEZE_EVERY == 7


def test_a_freeze_bridges_exactly_one_missed_day():
    studied = days(*range(7), 8)  # 7 days, day 7 missed, back on day 8
    state = streak(studied, D0 + timedelta(days=8))
    assert state.current == 8 and state.best == 8  # the frozen day is not counted as studied
    assert state.frozen == (D0 + timedelta(days=7),) and state.freezes == 0
    assert state.froze(D0 + timedelta(days=7))


def test_the_missed_day_spends_the_freeze_before_the_next_check_in():
    week = days(*range(7))
    # The day after the missed one, before checking in: the freeze is spent on yesterday, the streak stands.
    state = streak(week, D0 + timedelta(days=8))
    assert (state.current, state.freezes, state.frozen) == (7, 0, (D0 + timedelta(days=7),))
    # Checking in then is the same state, one day longer: nothing shown earlier changes.
    after = streak([*week, D0 + timedelta(days=8)], D0 + timedelta(days=8))
    assert (after.current, after.freezes, after.frozen) == (8, 0, state.frozen)


def test_two_missed_days_break_the_streak_even_with_two_freezes():
    fortnight = days(*range(14))
    assert streak(fortnight, fortnight[-1]).freezes == 2
    back = D0 + timedelta(days=16)  # days 14 and 15 missed
    state = streak([*fortnight, back], back)
    assert state.current == 1 and state.best == 14
    assert state.freezes == 1 and state.frozen == (D0 + timedelta(days=14),)  # the first missed day's
    waiting = streak(fortnight, back)  # not checked in yet on the third day: broken already
    assert waiting.current == 0 and waiting.freezes == 1


def test_without_a_freeze_one_missed_day_breaks_it():
    state = streak(days(0, 1, 2, 4), D0 + timedelta(days=4))
    assert (state.current, state.best, state.frozen) == (1, 3, ())


def test_freezes_spent_and_earned_again():
    studied = [*days(*range(7)), *days(*range(8, 15)), *days(16)]  # 7, miss, 7 more, miss, 1
    state = streak(studied, D0 + timedelta(days=16))
    assert state.current == 15 and state.days == 15
    assert state.frozen == (D0 + timedelta(days=7), D0 + timedelta(days=15))
    assert state.earned == (D0 + timedelta(days=6), D0 + timedelta(days=14)) and state.freezes == 0


# ------------------------------------------------------------------------------------------------ study days


@pytest.mark.parametrize(
    "wall, expected",
    [
        ((2026, 11, 5, 2, 30), date(2026, 11, 4)),  # 02:30 on the 5th counts for the 4th
        ((2026, 11, 5, 3, 59, 59), date(2026, 11, 4)),
        ((2026, 11, 5, 4, 0), date(2026, 11, 5)),
        ((2026, 11, 5, 0, 0), date(2026, 11, 4)),
        ((2026, 11, 5, 23, 59), date(2026, 11, 5)),
    ],
)
def test_a_study_day_ends_at_four(wall, expected):
    shanghai = ZoneInfo("Asia/Shanghai")
    assert study_date(shanghai, local(shanghai, *wall).astimezone(UTC)) == expected
    assert study_date("Asia/Shanghai", local(shanghai, *wall)) == expected


@pytest.mark.parametrize(
    "day, before_four_utc, hours",
    [
        (date(2026, 3, 28), datetime(2026, 3, 29, 1, 59, tzinfo=UTC), 23),  # spring forward: 23 h long
        (date(2026, 10, 24), datetime(2026, 10, 25, 2, 59, tzinfo=UTC), 25),  # fall back: 25 h long
    ],
)
def test_the_day_boundary_is_four_local_on_dst_days(day, before_four_utc, hours):
    # 03:59 local on the day the clocks change still belongs to the day before; 04:00 starts the new one.
    assert study_date(BERLIN, before_four_utc) == day
    assert study_date(BERLIN, before_four_utc + timedelta(minutes=1)) == day + timedelta(days=1)
    start = study_day_end(BERLIN, day - timedelta(days=1))
    end = study_day_end(BERLIN, day)
    assert end - start == timedelta(hours=hours)
    assert end.astimezone(BERLIN).time() == time(4, 0) == start.astimezone(BERLIN).time()


def test_a_reminder_before_four_is_in_the_night_after_its_day():
    assert reminder_instant(BERLIN, time(20, 30), date(2026, 11, 4)) == local(BERLIN, 2026, 11, 4, 20, 30)
    assert reminder_instant(BERLIN, time(1, 0), date(2026, 11, 4)) == local(BERLIN, 2026, 11, 5, 1, 0)


def test_next_reminder_after_a_day_handled_and_when_late():
    at = time(20, 30)
    morning = local(BERLIN, 2026, 11, 4, 9, 0)
    assert next_reminder(BERLIN, at, None, morning) == (date(2026, 11, 4), local(BERLIN, 2026, 11, 4, 20, 30))
    # Handled today: tomorrow's.
    assert next_reminder(BERLIN, at, date(2026, 11, 4), morning)[0] == date(2026, 11, 5)
    # 1 h late (the bot was down): today's still, due at once.
    late = local(BERLIN, 2026, 11, 4, 21, 30)
    assert next_reminder(BERLIN, at, None, late) == (date(2026, 11, 4), local(BERLIN, 2026, 11, 4, 20, 30))
    # More than 2 h late: skipped, tomorrow's.
    too_late = local(BERLIN, 2026, 11, 4, 22, 31)
    assert next_reminder(BERLIN, at, None, too_late)[0] == date(2026, 11, 5)
    # A new setting (late=0): the next one after now, never one already past.
    assert next_reminder(BERLIN, at, None, late, late=timedelta(0))[0] == date(2026, 11, 5)
    # A reminder at 03:30 may be at most until its study day ends at 04:00.
    night = time(3, 30)
    assert next_reminder(BERLIN, night, None, local(BERLIN, 2026, 11, 5, 3, 50))[0] == date(2026, 11, 4)
    assert next_reminder(BERLIN, night, None, local(BERLIN, 2026, 11, 5, 4, 1))[0] == date(2026, 11, 5)


def test_next_reminder_needs_an_aware_now():
    with pytest.raises(ValueError):
        next_reminder(BERLIN, time(20, 30), None, datetime(2026, 11, 4, 9, 0))
