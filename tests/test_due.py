"""Tests for bot.core.schedule: daily due times across zones, midnight, DST, catch-up and /settime."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.schedule import is_catch_up, is_due, local_date, next_due, scheduled_instant

SHANGHAI = "Asia/Shanghai"
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def utc(*args: int) -> datetime:
    """Build an aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    """Build an aware local datetime in ``zone`` (must exist) and return it in UTC."""
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


# --- local dates and midnight -------------------------------------------------------------------------


def test_local_date_ahead_of_utc() -> None:
    # 16:30 UTC on Jan 1 is already 00:30 on Jan 2 in Shanghai.
    now = utc(2026, 1, 1, 16, 30)
    assert local_date(SHANGHAI, now) == date(2026, 1, 2)
    assert local_date(NEW_YORK, now) == date(2026, 1, 1)


def test_local_date_behind_utc() -> None:
    # 02:00 UTC on Jan 2 is still Jan 1 (21:00) in New York.
    assert local_date(NEW_YORK, utc(2026, 1, 2, 2, 0)) == date(2026, 1, 1)


def test_now_in_another_zone_is_the_same_instant() -> None:
    now_utc = utc(2026, 6, 1, 23, 30)
    now_tokyo = now_utc.astimezone(ZoneInfo("Asia/Tokyo"))
    for zone in (SHANGHAI, BERLIN, NEW_YORK):
        assert next_due(zone, time(8), None, now_utc) == next_due(zone, time(8), None, now_tokyo)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        next_due(SHANGHAI, time(8), None, datetime(2026, 1, 1, 8))
    with pytest.raises(ValueError):
        local_date(SHANGHAI, datetime(2026, 1, 1, 8))


def test_zone_object_and_fixed_offset_accepted() -> None:
    now = utc(2026, 5, 1, 1)
    assert next_due(ZoneInfo(SHANGHAI), time(8), None, now) == next_due(SHANGHAI, time(8), None, now)
    assert next_due(UTC, time(8), None, now) == utc(2026, 5, 1, 8)


def test_midnight_push_in_shanghai() -> None:
    # Local midnight Jan 2 = 16:00 UTC Jan 1; yesterday's lesson went out, today's is due at midnight.
    now = utc(2026, 1, 1, 16, 0, 30)
    assert next_due(SHANGHAI, time(0, 0), date(2026, 1, 1), now) == utc(2026, 1, 1, 16, 0)
    assert is_due(SHANGHAI, time(0, 0), date(2026, 1, 1), now)
    # A minute before local midnight it is not due yet, though the UTC date is the same.
    before = utc(2026, 1, 1, 15, 59)
    assert not is_due(SHANGHAI, time(0, 0), date(2026, 1, 1), before)
    # Delivered at local midnight: next is tomorrow's local midnight.
    assert next_due(SHANGHAI, time(0, 0), date(2026, 1, 2), now) == utc(2026, 1, 2, 16, 0)


def test_2359_push() -> None:
    # 23:59 Shanghai on Jan 1 = 15:59 UTC Jan 1.
    assert next_due(SHANGHAI, time(23, 59), None, utc(2026, 1, 1, 0, 0)) == utc(2026, 1, 1, 15, 59)
    # 23:59 New York (EST) on Jan 1 = 04:59 UTC Jan 2: a UTC date after the local one.
    now = utc(2026, 1, 1, 12)
    assert next_due(NEW_YORK, time(23, 59), date(2025, 12, 31), now) == utc(2026, 1, 2, 4, 59)
    assert is_due(NEW_YORK, time(23, 59), date(2025, 12, 31), utc(2026, 1, 2, 4, 59))
    assert not is_due(NEW_YORK, time(23, 59), date(2026, 1, 1), utc(2026, 1, 2, 4, 59, 30))


def test_ordinary_day() -> None:
    before = utc(2026, 5, 9, 23, 59)  # 07:59 in Shanghai on May 10
    assert next_due(SHANGHAI, time(8), date(2026, 5, 9), before) == utc(2026, 5, 10, 0, 0)
    assert not is_due(SHANGHAI, time(8), date(2026, 5, 9), before)
    assert is_due(SHANGHAI, time(8), date(2026, 5, 9), utc(2026, 5, 10, 0, 0))
    # Delivered today: tomorrow.
    assert next_due(SHANGHAI, time(8), date(2026, 5, 10), utc(2026, 5, 10, 0, 1)) == utc(2026, 5, 11, 0, 0)


def test_new_chat_without_history() -> None:
    # Never delivered and the time is still ahead today: today's instant.
    assert next_due(BERLIN, time(20), None, local(BERLIN, 2026, 6, 1, 9)) == local(BERLIN, 2026, 6, 1, 20)


def test_last_date_ahead_of_today_waits_for_the_day_after_it() -> None:
    # Delivered on Jan 2 in Shanghai, then the chat moved to New York where it is still Jan 1.
    now = utc(2026, 1, 2, 1)  # Jan 1, 20:00 in New York
    assert next_due(NEW_YORK, time(8), date(2026, 1, 2), now) == local(NEW_YORK, 2026, 1, 3, 8)


# --- DST ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "push", "expected"),
    [
        # Spring forward: 02:00 -> 03:00. 02:30 does not exist; it fires at 03:00 local.
        (BERLIN, date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1, 0)),
        (BERLIN, date(2026, 3, 29), time(2, 0), utc(2026, 3, 29, 1, 0)),
        (BERLIN, date(2026, 3, 29), time(2, 59), utc(2026, 3, 29, 1, 0)),
        (NEW_YORK, date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7, 0)),
        # A gap at midnight (Havana springs 00:00 -> 01:00): push 00:00 fires at 01:00 local.
        ("America/Havana", date(2026, 3, 8), time(0, 0), utc(2026, 3, 8, 5, 0)),
        # Fall back: the ambiguous time fires at its first occurrence (still on summer time).
        (BERLIN, date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30)),
        (NEW_YORK, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),
        # Times either side of the transition keep their usual meaning.
        (BERLIN, date(2026, 3, 29), time(1, 59), utc(2026, 3, 29, 0, 59)),
        (BERLIN, date(2026, 3, 29), time(3, 0), utc(2026, 3, 29, 1, 0)),
        (BERLIN, date(2026, 3, 29), time(8, 0), utc(2026, 3, 29, 6, 0)),
        (BERLIN, date(2026, 3, 28), time(8, 0), utc(2026, 3, 28, 7, 0)),
        (BERLIN, date(2026, 10, 25), time(3, 0), utc(2026, 10, 25, 2, 0)),
        (BERLIN, date(2026, 10, 25), time(8, 0), utc(2026, 10, 25, 7, 0)),
        (NEW_YORK, date(2026, 3, 8), time(8, 0), utc(2026, 3, 8, 12, 0)),
        (NEW_YORK, date(2026, 11, 1), time(8, 0), utc(2026, 11, 1, 13, 0)),
        (SHANGHAI, date(2026, 3, 29), time(2, 30), utc(2026, 3, 28, 18, 30)),
    ],
)
def test_scheduled_instant(zone: str, day: date, push: time, expected: datetime) -> None:
    got = scheduled_instant(zone, push, day)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


def test_nonexistent_time_due_as_soon_as_wall_clock_passes_it() -> None:
    push = time(2, 30)
    last = date(2026, 3, 28)
    assert not is_due(BERLIN, push, last, utc(2026, 3, 29, 0, 59, 59))  # 01:59:59 CET
    assert is_due(BERLIN, push, last, utc(2026, 3, 29, 1, 0))  # 03:00 CEST
    assert not is_due(NEW_YORK, push, date(2026, 3, 7), utc(2026, 3, 8, 6, 59))
    assert is_due(NEW_YORK, push, date(2026, 3, 7), utc(2026, 3, 8, 7, 0))


def test_ambiguous_time_fires_once() -> None:
    push = time(2, 30)
    first = local(BERLIN, 2026, 10, 25, 2, 30, fold=0)
    second = local(BERLIN, 2026, 10, 25, 2, 30, fold=1)
    assert second - first == timedelta(hours=1)
    assert is_due(BERLIN, push, date(2026, 10, 24), first)
    # Delivered at the first 02:30: at the second 02:30 nothing is due until tomorrow.
    assert not is_due(BERLIN, push, date(2026, 10, 25), second)
    assert next_due(BERLIN, push, date(2026, 10, 25), second) == local(BERLIN, 2026, 10, 26, 2, 30)


# --- catch-up, missed days and /settime ---------------------------------------------------------------


def test_catch_up_same_day() -> None:
    push = time(8)
    now = local(BERLIN, 2026, 6, 1, 10)  # bot back at 10:00, lesson of 08:00 not delivered
    assert next_due(BERLIN, push, date(2026, 5, 31), now) == local(BERLIN, 2026, 6, 1, 8)
    assert is_due(BERLIN, push, date(2026, 5, 31), now)
    assert is_catch_up(BERLIN, push, now)


def test_is_catch_up_grace() -> None:
    push = time(8)
    assert not is_catch_up(BERLIN, push, local(BERLIN, 2026, 6, 1, 8, 0))
    assert not is_catch_up(BERLIN, push, local(BERLIN, 2026, 6, 1, 8, 5))
    assert is_catch_up(BERLIN, push, local(BERLIN, 2026, 6, 1, 8, 6))
    assert not is_catch_up(BERLIN, push, local(BERLIN, 2026, 6, 1, 8, 6), grace=timedelta(minutes=10))
    # Before today's time (e.g. /today) is never a catch-up.
    assert not is_catch_up(BERLIN, push, local(BERLIN, 2026, 6, 1, 7))
    # Over the spring-forward gap, 03:02 CEST is on time for a 02:30 push.
    assert not is_catch_up(BERLIN, time(2, 30), utc(2026, 3, 29, 1, 2))


def test_day_missed_entirely_is_not_sent_late() -> None:
    push = time(8)
    last = date(2026, 5, 30)  # May 31 was missed entirely (bot down all day)
    early = local(BERLIN, 2026, 6, 1, 0, 1)
    # Not due at 00:01 for yesterday's missed lesson: the plan continues at today's time.
    assert not is_due(BERLIN, push, last, early)
    assert next_due(BERLIN, push, last, early) == local(BERLIN, 2026, 6, 1, 8)


def test_next_due_never_before_start_of_local_today() -> None:
    rng = random.Random(7)
    start = utc(2026, 1, 1)
    for _ in range(2000):
        now = start + timedelta(seconds=rng.randrange(366 * 86400))
        zone = rng.choice([SHANGHAI, BERLIN, NEW_YORK])
        push = time(rng.randrange(24), rng.randrange(60))
        last = local_date(zone, now) - timedelta(days=rng.randrange(0, 5)) if rng.random() < 0.9 else None
        due = next_due(zone, push, last, now)
        assert local_date(zone, due) >= local_date(zone, now)


def test_next_due_does_not_decrease_as_time_passes() -> None:
    # So a stored next_due is a valid lower bound for an indexed "next_due <= now" query.
    push = time(2, 30)
    last = date(2026, 3, 20)
    previous = None
    now = utc(2026, 3, 27)
    while now < utc(2026, 4, 2):
        due = next_due(BERLIN, push, last, now)
        if previous is not None:
            assert due >= previous
        previous = due
        now += timedelta(minutes=17)


def test_settime_later_today_not_yet_delivered() -> None:
    now = local(BERLIN, 2026, 6, 1, 9)  # was 10:00, now /settime 12:00 at 09:00
    assert next_due(BERLIN, time(12), date(2026, 5, 31), now) == local(BERLIN, 2026, 6, 1, 12)
    assert not is_due(BERLIN, time(12), date(2026, 5, 31), now)


def test_settime_earlier_already_passed_not_yet_delivered_is_due_now() -> None:
    now = local(BERLIN, 2026, 6, 1, 9)  # was 10:00, now /settime 07:00 at 09:00
    assert next_due(BERLIN, time(7), date(2026, 5, 31), now) == local(BERLIN, 2026, 6, 1, 7)
    assert is_due(BERLIN, time(7), date(2026, 5, 31), now)


def test_settime_after_delivery_applies_tomorrow() -> None:
    now = local(BERLIN, 2026, 6, 1, 9)  # delivered at 08:00 today
    for new in (time(7), time(12), time(23, 59)):
        assert next_due(BERLIN, new, date(2026, 6, 1), now) == scheduled_instant(
            BERLIN, new, date(2026, 6, 2)
        )
        assert not is_due(BERLIN, new, date(2026, 6, 1), now)


# --- a simulated scheduler tick loop ------------------------------------------------------------------


def simulate(
    zone: str,
    push: time,
    start: datetime,
    end: datetime,
    down: tuple[tuple[datetime, datetime], ...] = (),
    last: date | None = None,
) -> list[datetime]:
    """Tick every minute from start to end; deliver when due and remember the local date."""
    deliveries = []
    now = start
    while now < end:
        up = not any(a <= now < b for a, b in down)
        if up and is_due(zone, push, last, now):
            deliveries.append(now)
            last = local_date(zone, now)
        now += timedelta(minutes=1)
    return deliveries


def day_start(zone: str, day: date) -> datetime:
    """Return the UTC instant of local midnight (or the first instant of the day)."""
    return scheduled_instant(zone, time(0), day)


WINDOWS = [
    (SHANGHAI, date(2025, 12, 31)),
    (BERLIN, date(2026, 3, 28)),
    (BERLIN, date(2026, 10, 24)),
    (NEW_YORK, date(2026, 3, 7)),
    (NEW_YORK, date(2026, 10, 31)),
]
PUSH_TIMES = [time(0, 0), time(1, 30), time(2, 30), time(3, 0), time(8, 0), time(23, 59)]


@pytest.mark.parametrize(("zone", "first_day"), WINDOWS)
@pytest.mark.parametrize("push", PUSH_TIMES, ids=str)
def test_tick_loop_one_delivery_per_local_day(zone: str, first_day: date, push: time) -> None:
    days = [first_day + timedelta(days=i) for i in range(3)]
    deliveries = simulate(zone, push, day_start(zone, days[0]), day_start(zone, days[-1] + timedelta(days=1)))
    per_day = Counter(local_date(zone, d) for d in deliveries)
    assert per_day == dict.fromkeys(days, 1)
    for delivered in deliveries:
        scheduled = scheduled_instant(zone, push, local_date(zone, delivered))
        # At or after the scheduled instant, and on the first tick that reaches it.
        assert timedelta(0) <= delivered - scheduled < timedelta(minutes=1)
        assert not is_catch_up(zone, push, delivered)


def test_tick_loop_downtime_same_day_catches_up_once() -> None:
    zone, push = BERLIN, time(8)
    days = [date(2026, 3, 28) + timedelta(days=i) for i in range(3)]
    # Down on the DST day from 07:00 to 11:00 local.
    down = ((local(zone, 2026, 3, 29, 7), local(zone, 2026, 3, 29, 11)),)
    deliveries = simulate(zone, push, day_start(zone, days[0]), day_start(zone, date(2026, 3, 31)), down)
    assert Counter(local_date(zone, d) for d in deliveries) == dict.fromkeys(days, 1)
    assert deliveries[1] == local(zone, 2026, 3, 29, 11)
    assert is_catch_up(zone, push, deliveries[1])


def test_tick_loop_day_missed_entirely_is_not_doubled() -> None:
    zone, push = NEW_YORK, time(8)
    # Down from Mar 7 22:00 until Mar 9 10:00 local: Mar 8 gets nothing, Mar 9 exactly one (a catch-up).
    down = ((local(zone, 2026, 3, 7, 22), local(zone, 2026, 3, 9, 10)),)
    deliveries = simulate(
        zone, push, day_start(zone, date(2026, 3, 7)), day_start(zone, date(2026, 3, 11)), down
    )
    per_day = Counter(local_date(zone, d) for d in deliveries)
    assert per_day == {date(2026, 3, 7): 1, date(2026, 3, 9): 1, date(2026, 3, 10): 1}
    assert local(zone, 2026, 3, 9, 10) in deliveries


def test_tick_loop_restart_keeps_last_date() -> None:
    # A restart re-reads last_local_date from storage, so a chat delivered before it is not sent again.
    zone, push = SHANGHAI, time(0, 0)
    first = simulate(zone, push, day_start(zone, date(2026, 1, 1)), utc(2026, 1, 1, 0))
    assert len(first) == 1
    resumed = simulate(zone, push, utc(2026, 1, 1, 0), utc(2026, 1, 1, 16), last=local_date(zone, first[0]))
    assert resumed == []


def test_tick_loop_settime_later_the_same_day() -> None:
    zone = SHANGHAI
    start = day_start(zone, date(2026, 6, 1))
    # Chat at 10:00; at 09:00 it moves to 21:00: exactly one delivery that day, at 21:00.
    part1 = simulate(zone, time(10), start, local(zone, 2026, 6, 1, 9))
    part2 = simulate(zone, time(21), local(zone, 2026, 6, 1, 9), day_start(zone, date(2026, 6, 2)))
    assert part1 == []
    assert part2 == [local(zone, 2026, 6, 1, 21)]
