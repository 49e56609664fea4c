"""A person's study streak: a pure function of the study days they checked in on and today.

Nothing here reads the clock or the database. The study days come from the check-ins (one per person and
study day, `bot.core.storage.checkins`); a study day runs from 04:00 to 04:00 in the chat's zone
(`bot.core.schedule.study_date`), so the caller passes dates already.

Rules
-----
* The current streak is the number of days studied in the unbroken run that reaches today: it still
  stands when today is not studied yet but yesterday was (the day is not over).
* One streak freeze (连续保护) is earned each time the days studied in all reach a multiple of
  ``FREEZE_EVERY`` (7), as long as fewer than ``FREEZE_CAP`` (2) are held.
* A freeze is spent on the first missed day after a study day, automatically, if one is held: with
  exactly one day missed the run goes on (the frozen day itself is not counted as studied); a second
  missed day in a row breaks the run all the same (the freeze spent on the first stays spent). So two
  freezes held never bridge two missed days in a row.
* Today's missing check-in is not a missed day yet. Yesterday's is: at today, with yesterday missed and a
  freeze held, the freeze is already spent on yesterday and the streak stands; that is the state the
  next check-in finds (and says so).

Since days are only ever added at the end, the state computed later never contradicts what was shown
earlier: a freeze shown spent stays spent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["FREEZE_CAP", "FREEZE_EVERY", "StreakState", "streak"]

FREEZE_EVERY = 7
FREEZE_CAP = 2
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class StreakState:
    """A person's streak at one study day."""

    current: int  # days studied in the run that reaches today (0: no run, or broken)
    best: int  # the longest run ever
    days: int  # days studied in all
    freezes: int  # freezes held now
    frozen: tuple[date, ...] = ()  # the missed days a freeze was spent on, oldest first
    earned: tuple[date, ...] = ()  # the study days that earned a freeze
    studied_today: bool = False

    def froze(self, day: date) -> bool:
        """Whether a freeze was spent on `day`."""
        return day in self.frozen


def streak(
    dates: Iterable[date], today: date, *, every: int = FREEZE_EVERY, cap: int = FREEZE_CAP
) -> StreakState:
    """The streak at study day `today` of someone who studied on `dates` (any order, repeats and days
    after today ignored)."""
    days = sorted({d for d in dates if d <= today})
    run = best = freezes = 0
    frozen: list[date] = []
    earned: list[date] = []
    previous: date | None = None
    for count, day in enumerate(days, start=1):
        if previous is not None:
            missed = (day - previous).days - 1
            if missed >= 1 and freezes:
                freezes -= 1
                frozen.append(previous + _DAY)
                if missed > 1:
                    run = 0
            elif missed >= 1:
                run = 0
        run += 1
        best = max(best, run)
        if every > 0 and count % every == 0 and freezes < cap:
            freezes += 1
            earned.append(day)
        previous = day
    current = 0
    if previous is not None:
        missed = (today - previous).days - 1
        if missed <= 0:
            current = run
        elif freezes:
            freezes -= 1
            frozen.append(previous + _DAY)
            current = run if missed == 1 else 0
    return StreakState(
        current=current,
        best=best,
        days=len(days),
        freezes=freezes,
        frozen=tuple(frozen),
        earned=tuple(earned),
        studied_today=previous == today,
    )
