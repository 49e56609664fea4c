"""The weekly summary: on Mondays at 09:00 (the bot's zone), last week's figures to every bot admin (their
private chat on Telegram) and to every WeCom robot, once per week and recipient across restarts.

When it is due and what it says come from the core (`WeeklyMessages`); who has had it from the database:
a row per week and recipient is claimed right before the send and completed after (`weekly_reports`).
A send to be tried again (429, a network error) gives its claim back for the next tick; a claim a killed
process left is settled as sent at the next tick (and logged), so a restart never sends the week twice: as
for the daily push, a kill costs at most the one send on the wire (they go one after another).
A handful of messages a week: they are not paced.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from jobs.interfaces import RetryLater, Sender, TemporaryError, WeeklyMessages, WeeklyStore

logger = logging.getLogger(__name__)


@dataclass
class WeeklyReport:
    """What one tick did."""

    sent: int = 0
    failed: int = 0
    retry: int = 0
    errors: list[str] = field(default_factory=list)


class WeeklySummary:
    """Sends the week's summary to `recipients` (chat keys: tg:ADMIN_ID, robot:…) through `senders`."""

    def __init__(
        self,
        store: WeeklyStore,
        messages: WeeklyMessages,
        senders: Mapping[str, Sender],
        recipients: Sequence[str],
    ):
        self.store = store
        self.messages = messages
        self.senders = senders
        self.recipients = [key for key in recipients if key.split(":", 1)[0] in senders]

    async def tick(self, now: datetime) -> WeeklyReport:
        """Send the summary due at `now` to whoever has not had it (nothing when none is due)."""
        report = WeeklyReport()
        week = self.messages.week_due(now)

        if week is None or not self.recipients:
            return report
        had = self.store.weekly_states(week)
        self._settle_interrupted(week, had, now)
        todo = [key for key in self.recipients if key not in had]
        if not todo:
            return report
        message = await self.messages.summary(now)
        for key in todo:
            if not self.store.claim_weekly(week, key, now):
                continue
            try:
                await self.senders[key.split(":", 1)[0]].send(key, message)
            except (RetryLater, TemporaryError) as exc:
                self.store.release_weekly(week, key)
                report.retry += 1
                report.errors.append(f"{key}: {type(exc).__name__}")
            except Exception as exc:  # noqa: BLE001 - blocked, refused: this week's summary is lost for it
                self.store.complete_weekly(week, key, now, error=f"{type(exc).__name__}: {exc}"[:200])
                report.failed += 1
                report.errors.append(f"{key}: {type(exc).__name__}")
            else:
                self.store.complete_weekly(week, key, now)
                report.sent += 1
        return report

    def _settle_interrupted(self, week: date, had: Mapping[str, str], now: datetime) -> None:
        """Claims of `week` still open when a tick begins are a stopped process's sends that were on the
        wire (ticks run one after another, and each completes or gives back every claim it takes): they
        count as sent, as the daily push's do, so they are never sent again; the log says how many."""
        interrupted = [key for key, state in had.items() if state == "claimed"]
        for key in interrupted:
            self.store.complete_weekly(week, key, now)
        if interrupted:
            logger.warning(
                "weekly summary: settled %d send(s) interrupted by a restart as sent (not sent again: "
                "they may have arrived): %s",
                len(interrupted),
                ", ".join(sorted(interrupted)),
            )
