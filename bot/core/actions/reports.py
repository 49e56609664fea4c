"""The figures by group: /stats's part about groups, its two charts, and the weekly summary the admins
and the WeCom robots get every Monday at 09:00.

Rules:
- A group's **members seen** are the people who answered, wrote a reflection or checked in there, ever.
- **Checked in** over a period: distinct people who checked in in that group on its study days (04:00 to
  04:00 in the bot's zone); today is today's study day, this week Monday to today.
- **学习率** = checked in ÷ members, members being the platform's count less the bot (Telegram's
  getChatMemberCount − 1), cached an hour per group; when the platform cannot say, members seen, and the
  line says so.
- Accuracy by part is over the answers given in the group in the period, named by the group's course
  when it is the admin's, else by the part's id.
- Groups are ranked by members seen; the first `TOP_GROUPS` are shown, then 另有 K 个群.
"""

from __future__ import annotations

import asyncio
import logging
import time as _time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from bot.core.actions.replies import Message, percent, thousands
from bot.core.render import Doc
from bot.core.schedule import study_date, study_day_end
from bot.core.storage import Storage

logger = logging.getLogger(__name__)

TOP_GROUPS = 10
SUMMARY_WEEKDAY, SUMMARY_TIME = 0, time(9, 0)  # the weekly summary: Mondays at 09:00
MEMBER_COUNT_TTL = 3600.0
CHART_DAYS = 30

MemberCount = Callable[[str], Awaitable[int | None]]

# chat_key -> (members less bots, monotonic time it was read); shared by every area.
_member_counts: dict[str, tuple[int, float]] = {}


@dataclass(frozen=True)
class Period:
    """Study days first..last and the instants [lo, hi) they span."""

    first: date
    last: date
    lo: int
    hi: int


def period(tz: tzinfo, first: date, last: date) -> Period:
    """The period of study days first..last in tz."""
    lo = int(study_day_end(tz, first - timedelta(days=1)).timestamp())
    return Period(first, last, lo, int(study_day_end(tz, last).timestamp()))


def this_week(tz: tzinfo, now: datetime) -> tuple[Period, Period]:
    """Today's study day and this week's (Monday to today)."""
    today = study_date(tz, now)
    return period(tz, today, today), period(tz, today - timedelta(days=today.weekday()), today)


def last_week(tz: tzinfo, now: datetime) -> Period:
    """The week before the one `now` is in, Monday to Sunday (calendar days of `now`'s zone)."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday() + 7)
    return period(tz, monday, monday + timedelta(days=6))


async def member_count(chat_key: str, ask: MemberCount | None) -> int | None:
    """A group's members less bots, from the platform (cached an hour), or None if it cannot say."""
    cached = _member_counts.get(chat_key)
    if cached and _time.monotonic() - cached[1] < MEMBER_COUNT_TTL:
        return cached[0]
    if ask is None:
        return None
    try:
        count = await ask(chat_key)
    except Exception as exc:  # noqa: BLE001 - any failure: fall back to members seen, and say so
        logger.info("member count of %s unavailable: %s", chat_key, type(exc).__name__)
        return None
    if count is not None:
        _member_counts[chat_key] = (int(count), _time.monotonic())
    return count


def group_figures(storage: Storage, periods: list[Period], limit: int = TOP_GROUPS) -> tuple[list[dict], int]:
    """The top groups with each period's figures (in a thread: a few indexed queries per group)."""
    groups, total = storage.groups_by_members(limit)
    for group in groups:
        group["periods"] = [storage.group_period(group["key"], p.first, p.last, p.lo, p.hi) for p in periods]
    return groups, total


async def add_members(groups: list[dict], ask: MemberCount | None) -> None:
    """Each group's members (the platform's count, else members seen) and whether it is the platform's."""
    counts = await asyncio.gather(*(member_count(g["key"], ask) for g in groups))
    for group, count in zip(groups, counts, strict=True):
        group["members"] = count if count else group["members_seen"]
        group["counted"] = bool(count)


def _rate(checked: int, members: int) -> str:
    return percent(min(1.0, checked / members)) if members else "—"


def _parts(by_section: dict[str, tuple[int, int]], name: Callable[[str], str]) -> str:
    shown = [
        f"{name(s)} {percent(ok / n)}"
        for s, (n, ok) in sorted(by_section.items(), key=lambda i: str(i[0]))
        if n
    ]
    return f"（{' · '.join(shown)}）" if shown else ""


def groups_doc(
    groups: list[dict],
    total: int,
    labels: tuple[str, ...],
    section_name: Callable[[str], str],
    course_id: int,
    by_part: bool = True,
) -> Doc:
    """The groups' lines: name and members, then a line per period (打卡, 学习率, 正确率, 心得)."""
    doc = Doc()
    if not groups:
        return doc.add("\n👥 群：还没有群里的学习记录\n")
    doc.add(f"\n👥 各群（按成员数，前 {len(groups)} 个）\n")
    for i, group in enumerate(groups, start=1):
        note = "" if group["counted"] else "（按出现过的人数，未能读取群成员数）"
        doc.add(f"{i}. ").b(group["title"] or group["key"]).add(
            f" · 成员 {thousands(group['members'])} 人{note} · 出现过 {thousands(group['members_seen'])} 人\n"
        )
        # The part's short name (第一部分) when the group studies the admin's course, else its id.
        name = (lambda s: section_name(s).split(" · ")[0]) if group["course_id"] == course_id else str
        for label, figures in zip(labels, group["periods"], strict=True):
            accuracy = percent(figures["accuracy"])
            parts = _parts(figures["by_section"], name) if by_part else ""
            doc.add(
                f"   {label}：打卡 {figures['checked_in']} 人 · 学习率 {_rate(figures['checked_in'], group['members'])}"
                f" · 正确率 {accuracy}{parts} · 心得 {figures['reflections']} 篇\n"
            )
    others = total - len(groups)
    if others > 0:
        doc.add(f"另有 {thousands(others)} 个群\n")
    return doc


def accuracy_rows(by_section: dict[str, Any], model) -> list[tuple[str, float, int]]:
    """(part name, accuracy, answers) in the model's order, for the chart."""
    return [
        (section.name, by_section[section.id]["accuracy"], by_section[section.id]["answered"])
        for section in model.sections
        if section.id in by_section
    ]


def stats_charts(series: list[tuple[date, int]], parts: list[tuple[str, float, int]]) -> list[bytes]:
    """The learners per day and accuracy by part charts as PNG (imports matplotlib: call it in a thread)."""
    from bot.core import charts

    out = [charts.daily_learners_chart(series, title=f"每日学习人数（近 {len(series)} 天）")]
    if parts:
        out.append(charts.accuracy_by_part_chart(parts))
    return out


def weekly_figures(storage: Storage, tz: tzinfo, now: datetime) -> dict[str, Any]:
    """Last week's figures (call in a thread): the top groups over the week, the people who checked in in
    any group, learners per day."""
    week = last_week(tz, now)
    groups, total = group_figures(storage, [week])
    return {
        "week": week,
        "groups": groups,
        "total": total,
        "checked": storage.groups_checked_in(week.first, week.last),
        "series": storage.learners_per_day(week.first, week.last),
    }


def weekly_doc(figures: dict[str, Any], section_name: Callable[[str], str], course_id: int) -> Doc:
    """Last week's summary: totals, then per group checked in, 学习率 and accuracy (the groups' members
    set by `add_members`)."""
    week, series, groups = figures["week"], figures["series"], figures["groups"]
    doc = Doc().b("🗓 上周学习小结").add(f"（{week.first:%m月%d日}–{week.last:%m月%d日}）\n")
    doc.add(
        f"在群里打卡：{thousands(figures['checked'])} 人 · 打卡人次：{thousands(sum(n for _, n in series))}\n"
    )
    answered = sum(g["periods"][0]["answered"] for g in groups)
    correct = sum(g["periods"][0]["correct"] for g in groups)
    doc.add(
        f"群内答题：{thousands(answered)} 次 · 正确率 {percent(correct / answered if answered else None)}\n"
    )
    return doc.extend(groups_doc(groups, figures["total"], ("上周",), section_name, course_id, by_part=False))


def weekly_chart(series: list[tuple[date, int]]) -> bytes:
    """The summary's chart: learners per day of the week (imports matplotlib: call it in a thread)."""
    from bot.core import charts

    return charts.daily_learners_chart(series, title="上周每日学习人数")


class WeeklyMessages:
    """What the weekly job says and when (`jobs.interfaces.WeeklyMessages`): the summary of last week,
    due on Mondays from 09:00 to the end of that day in the bot's zone (a bot down at 09:00 sends it
    when it is back the same day; from Tuesday on, that week's summary is no more due)."""

    def __init__(
        self, storage: Storage, tz: tzinfo, admin: Callable[[], Any], member_count: MemberCount | None = None
    ):
        self.storage, self.tz, self.admin, self.member_count = storage, tz, admin, member_count

    def week_due(self, now: datetime) -> date | None:
        """The Monday the week to summarize began, if its summary is due at `now`; else None."""
        local = now.astimezone(self.tz)
        if local.weekday() != SUMMARY_WEEKDAY or local.time() < SUMMARY_TIME:
            return None
        return last_week(self.tz, now).first

    async def summary(self, now: datetime) -> Message:
        """Last week's summary with its chart (`Message.image`); queries and chart in threads, members
        from the platform (`member_count`, cached as /stats's) or else the members seen."""
        area = self.admin()
        figures = await asyncio.to_thread(weekly_figures, self.storage, self.tz, now)
        await add_members(figures["groups"], self.member_count)
        png = await asyncio.to_thread(weekly_chart, figures["series"])
        return Message(weekly_doc(figures, area.section_name, area.course_id), image=png)
