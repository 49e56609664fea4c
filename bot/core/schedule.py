"""When a chat's daily lesson is due: pure functions of (zone, push time, last delivered local date, now).

Nothing here reads the clock or the database; the scheduler passes ``now`` in, so the rules are testable
and the due chats can be computed from stored columns for any number of chats.

Rules
-----
* A chat gets one lesson per local day, at its push time (``HH:MM``) in its own time zone.
  ``last_local_date`` is the chat's local date of its last delivery; a lesson is due when today's
  (local) push instant has passed and ``last_local_date`` is not today.
* After downtime the day's lesson goes out once when the bot is back the same local day; a day missed
  entirely is not sent twice the next day — the plan just continues. So :func:`next_due` never returns
  an instant before the start of the chat's local today.
* A local push time that does not exist (spring-forward gap, e.g. 02:30 on 2026-03-29 in Europe/Berlin)
  fires at the first instant after the gap (03:00 local): as soon as the wall clock has passed it.
  An ambiguous time (fall-back) fires once, at its first occurrence (``fold=0``).
* ``/settime`` needs no special handling: a later time today (not yet delivered) is due today at the new
  time; an earlier time that has already passed (not yet delivered) is due now (catch-up); if today's
  lesson was delivered the new time applies from tomorrow.
* A ``last_local_date`` ahead of local today (the chat moved to a zone further west, or the clock
  stepped back) defers the next lesson to the day after it, so no local date ever gets two.

Study days and reminders
------------------------
* A study day (the day a check-in counts for) runs from ``DAY_STARTS`` (04:00) to 04:00 the next
  morning, local wall time: a check-in at 02:30 on the 5th counts for the 4th (:func:`study_date`).
  Local wall time, so the day boundary stays at 04:00 on the days the clocks change (no zone of
  interest changes its clocks at 04:00).
* A study reminder (``/remind HH:MM``) belongs to the study day its time falls in: 20:30 to that day,
  01:00 to the night after it (:func:`reminder_instant`). One per chat and study day; one the bot was
  down for is sent when it is back if that is at most ``REMIND_LATE`` (2 h) late and still within the
  study day, else skipped: a nudge at 3 a.m. helps nobody (:func:`next_reminder`).

Because :func:`next_due` never decreases as ``now`` advances (for a fixed ``last_local_date``), a stored
``next_due`` is a safe lower bound for an indexed ``WHERE next_due <= :now`` query; confirm each hit with
:func:`is_due` (a chat whose stored instant is from a day missed entirely is due at today's time instead).
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

Zone = str | tzinfo

__all__ = [
    "Zone",
    "as_zone",
    "is_catch_up",
    "is_due",
    "local_date",
    "next_due",
    "next_reminder",
    "reminder_instant",
    "scheduled_instant",
    "study_date",
    "study_day_end",
]

DEFAULT_GRACE = timedelta(minutes=5)
#: When a study day starts, local wall time: check-ins before it count for the day before.
DAY_STARTS = time(4, 0)
#: How late a study reminder may still go out (after downtime), within its study day.
REMIND_LATE = timedelta(hours=2)


def as_zone(tz: Zone) -> tzinfo:
    """Return a tzinfo for a zone name or pass a tzinfo through (ZoneInfo caches by name)."""
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _require_aware(now: datetime) -> None:
    """Reject naive datetimes: a naive ``now`` would silently mean the server's local time."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def local_date(tz: Zone, now: datetime) -> date:
    """Return the chat's local calendar date at the instant ``now``."""
    _require_aware(now)
    return now.astimezone(as_zone(tz)).date()


def _wall(instant_s: int, zone: tzinfo) -> datetime:
    """Return the naive local wall time at a UTC POSIX second."""
    return datetime.fromtimestamp(instant_s, UTC).astimezone(zone).replace(tzinfo=None)


def scheduled_instant(tz: Zone, push_time: time, local_day: date) -> datetime:
    """Return the aware UTC instant of the push at ``push_time`` on ``local_day`` in zone ``tz``."""
    zone = as_zone(tz)
    # The push time is a wall-clock time in the chat's zone; any tzinfo on it is ignored.
    wall = datetime.combine(local_day, push_time.replace(tzinfo=None, fold=0))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        # Exists; for an ambiguous wall time fold=0 is the first occurrence, which is the one we fire at.
        return first
    # In a gap fold=0 maps past the gap by its length (02:30 -> 03:30) and fold=1 before it (01:30).
    # The wanted instant is the transition itself, the first moment the wall clock reads >= the push
    # time; zoneinfo exposes no transition list, so bisect between the two (transitions are whole seconds).
    lo = math.floor(wall.replace(tzinfo=zone, fold=1).timestamp())
    hi = math.ceil(first.timestamp())
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(mid, zone) >= wall:
            hi = mid
        else:
            lo = mid
    if _wall(lo, zone) >= wall:
        hi = lo
    return datetime.fromtimestamp(hi, UTC)


def next_due(tz: Zone, push_time: time, last_local_date: date | None, now: datetime) -> datetime:
    """Return the aware UTC instant of the next daily push the chat has not had (<= now means due now)."""
    _require_aware(now)
    zone = as_zone(tz)
    today = now.astimezone(zone).date()
    day = today
    if last_local_date is not None and last_local_date >= today:
        # Delivered today (or on a local date that is still ahead of us): the next one is the day after.
        day = last_local_date + timedelta(days=1)
    # Never a day before today: a day missed entirely is skipped, not sent late the next day.
    return scheduled_instant(zone, push_time, day)


def is_due(tz: Zone, push_time: time, last_local_date: date | None, now: datetime) -> bool:
    """Return whether the chat should get its lesson at ``now``."""
    return next_due(tz, push_time, last_local_date, now) <= now


def is_catch_up(tz: Zone, push_time: time, now: datetime, grace: timedelta = DEFAULT_GRACE) -> bool:
    """Return whether a delivery at ``now`` is late (more than ``grace`` after today's push instant): 补发."""
    _require_aware(now)
    zone = as_zone(tz)
    scheduled = scheduled_instant(zone, push_time, now.astimezone(zone).date())
    return now - scheduled > grace


def study_date(tz: Zone, now: datetime) -> date:
    """Return the study day at ``now``: the local date, less a day before 04:00 (``DAY_STARTS``)."""
    _require_aware(now)
    wall = now.astimezone(as_zone(tz)).replace(tzinfo=None)
    return (wall - timedelta(hours=DAY_STARTS.hour, minutes=DAY_STARTS.minute)).date()


def study_day_end(tz: Zone, day: date) -> datetime:
    """Return the aware UTC instant study day ``day`` ends (04:00 local the next morning)."""
    return scheduled_instant(tz, DAY_STARTS, day + timedelta(days=1))


def reminder_instant(tz: Zone, remind_at: time, day: date) -> datetime:
    """Return the aware UTC instant of study day ``day``'s reminder at ``remind_at`` local time (a time
    before 04:00 is in the night after the day's date)."""
    local_day = day if remind_at.replace(tzinfo=None) >= DAY_STARTS else day + timedelta(days=1)
    return scheduled_instant(tz, remind_at, local_day)


def next_reminder(
    tz: Zone, remind_at: time, handled: date | None, now: datetime, late: timedelta = REMIND_LATE
) -> tuple[date, datetime]:
    """Return (study day, UTC instant) of the next reminder to send: the first study day from today on,
    after ``handled`` (the last one sent or skipped), whose reminder is not more than ``late`` past and
    whose day has not ended. ``late=0`` gives the next one strictly after ``now`` (a new setting)."""
    _require_aware(now)
    zone = as_zone(tz)
    day = study_date(zone, now)
    if handled is not None and handled >= day:
        day = handled + timedelta(days=1)
    while True:
        at = reminder_instant(zone, remind_at, day)
        if min(at + late, study_day_end(zone, day)) > now:
            return day, at
        day += timedelta(days=1)
