"""Bot admins: announcements to every subscriber (preview, confirm, the texts of its progress), /stats, /export."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path

from bot.core.actions import reports
from bot.core.actions.base import Area
from bot.core.actions.replies import (
    Button,
    Ctx,
    Document,
    Documents,
    Later,
    Message,
    Out,
    Photo,
    percent,
    say,
    thousands,
)
from bot.core.export import ExportFailed, export_parts, export_workbook
from bot.core.render import Doc
from bot.core.sheets import PART_LIMIT, Part
from bot.core.storage import Storage

logger = logging.getLogger(__name__)


class Admin(Area):
    """/broadcast and its buttons, /stats, /export."""

    # The most bytes in one file of /export (tests make it small to see the parts).
    part_limit = PART_LIMIT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One export at a time: each runs a process and a core; a second one waits for the first.
        self._exporting = asyncio.Lock()

    async def stats(self, ctx: Ctx, args: str) -> list[Out]:
        """Subscribers, activity today, lessons sent today, quiz accuracy by part; then each group today
        and this week (`reports`); and two charts after the text (`Later`): learners per day, accuracy
        by part."""
        tz = self.config.tzinfo
        today, week = reports.this_week(tz, ctx.now)
        # The queries in a thread: indexed, but over a large database they take tens of milliseconds.
        stats, (top, total) = await asyncio.gather(
            asyncio.to_thread(self.storage.global_stats, ctx.now, tz, self.course_id),
            asyncio.to_thread(reports.group_figures, self.storage, [today, week]),
        )
        await reports.add_members(top, ctx.member_count)
        private, groups, _ = subscriber_counts(self.storage)
        robots = self.robot_count
        doc = Doc().b("📊 统计").add(f"（{stats['date']}）\n")
        doc.add(
            f"订阅：{thousands(private + groups + robots)}（{private} 个私聊 · {groups} 个群 · {robots} 个企业微信群）\n"
        )
        doc.add(f"今日活跃：{stats['active_today']} 人\n今日推送：{stats['lessons_sent_today']} 课\n")
        doc.add(f"心得：{stats['reflections_total']} 篇 · 答题：{stats['answers_total']} 次\n")
        courses = self.storage.courses(published_only=True)
        if len(courses) > 1:
            activity = self.storage.course_activity()
            doc.add("\n各课程：\n")
            for course in courses:
                row = activity.get(int(course["id"]), {})
                answered = row.get("answered", 0)
                accuracy = f"（正确率 {percent(row['correct'] / answered)}）" if answered else ""
                doc.add(
                    f"《{course['title']}》：{row.get('chats', 0)} 个聊天在学 · 推送 {row.get('lessons', 0)} 课 · "
                    f"答题 {answered} 次{accuracy} · 心得 {row.get('reflections', 0)} 篇\n"
                )
        by_section = stats["quiz_by_section"]
        if by_section:
            title = f"《{self.model.title}》" if len(courses) > 1 else ""
            doc.add(f"\n{title}各部分正确率：\n")
            for section in self.model.sections:
                row = by_section.get(section.id)
                if row:
                    doc.add(
                        f"{self.section_name(section.id)}：{percent(row['accuracy'])}（{row['answered']} 次）\n"
                    )
        doc.extend(reports.groups_doc(top, total, ("今日", "本周"), self.section_name, self.course_id))
        last = today.first
        parts = reports.accuracy_rows(by_section, self.model)

        async def charts() -> list[Out]:
            # After the text is sent: the first chart of a process imports matplotlib (about 0.5 s).
            try:
                series = await asyncio.to_thread(
                    self.storage.learners_per_day, last - timedelta(days=reports.CHART_DAYS - 1), last
                )
                pngs = await asyncio.to_thread(reports.stats_charts, series, parts)
            except Exception:  # a chart that cannot be drawn leaves the figures
                logger.exception("/stats charts failed")
                return []
            captions = [f"近 {reports.CHART_DAYS} 天每日打卡人数", "各部分正确率"]
            names = ["learners.png", "accuracy.png"]
            return [Photo(png, c, n) for png, c, n in zip(pngs, captions, names, strict=False)]

        return [Message(doc), Later(charts)]

    async def export(self, ctx: Ctx, args: str) -> list[Out]:
        """Every reflection and quiz answer as CSV files under the upload limit, one message each; then
        the workbook (.xlsx) when it is done."""
        stamp = ctx.now.astimezone(self.config.tzinfo).strftime("%Y%m%d-%H%M")
        stem = f"studybot-export-{stamp}"

        def make(directory: Path) -> AsyncIterator[list[Out]]:
            return self._export_files(directory, stem)

        notice = (
            "⏳ 上一个导出完成后开始这一个，完成后发送文件。"
            if self._exporting.locked()
            else "⏳ 正在导出心得与答题记录，完成后发送文件。"
        )
        return [say(notice), Documents(make, "心得与答题记录")]

    async def _export_files(self, directory: Path, stem: str) -> AsyncIterator[list[Out]]:
        """The CSV parts as soon as they are written, then the workbook when it is. Both are made side by
        side from the start, each in its child process: the CSV (16–39 s for 600,000 rows) does not wait
        for the workbook (about 100 s). Closed early (the chat's channel stops), the workbook is stopped."""
        async with self._exporting:
            book = asyncio.create_task(export_workbook(self.storage, directory, stem))
            try:
                try:
                    parts = await export_parts(self.storage, directory, stem, self.part_limit)
                except (ExportFailed, OSError):
                    logger.exception("/export failed")
                    yield [say("😥 导出没有完成，请稍后再试。")]
                    return
                yield csv_documents(parts)
                try:
                    made = await book
                except (ExportFailed, OSError):
                    logger.exception("/export: the workbook failed")
                    yield [say("😥 工作簿（.xlsx）没有生成，CSV 已发送。")]
                    return
                yield [
                    Document(made.path.name, made.path, "📊 工作簿：成员、每日打卡、答题记录、心得、各群汇总")
                ]
            finally:
                if not book.done():
                    book.cancel()  # its child process is killed
                await asyncio.gather(book, return_exceptions=True)

    async def broadcast(self, ctx: Ctx, args: str) -> list[Out]:
        """Preview an announcement to every subscriber, with confirm and cancel buttons."""
        if not args:
            return [say("请在 /broadcast 后面写通知内容，例如 /broadcast 本周五下午集中学习。")]
        broadcast_id = self.storage.create_broadcast(ctx.user_key, args, ctx.now)
        private, groups, console = subscriber_counts(self.storage)
        total = private + groups + self.robot_count
        doc = (
            Doc().b("📣 广播预览").add("（确认后发出的内容如下）\n\n").extend(broadcast_doc(args)).add("\n\n")
        )
        doc.add(
            f"将发送给 {thousands(total)} 个订阅（{private} 个私聊 · {groups} 个群 · {self.robot_count} 个企业微信群）"
        )
        if console:
            doc.add("\n（控制台的订阅不接收广播。）")
        buttons = [[Button("确认发送", f"bc:go:{broadcast_id}"), Button("取消", f"bc:no:{broadcast_id}")]]
        return [Message(doc, buttons)]

    def broadcast_decision(self, ctx: Ctx, verb: str, broadcast_id: int) -> list[Out]:
        """确认发送 (queue one row per recipient; the fan-out job sends them) or 取消."""
        if not ctx.is_bot_admin:
            return [say("这个操作仅限管理员。")]
        broadcast = self.storage.get_broadcast(broadcast_id)
        if broadcast is None or broadcast["state"] != "preview":
            return [say("这条广播已经处理过了。")]
        if verb == "no":
            self.storage.cancel_broadcast(broadcast_id, ctx.now)
            return [Message(Doc().add("已取消，这条广播不会发出。"), edit=True)]
        recipients = broadcast_recipients(self.storage)
        self.storage.start_broadcast(broadcast_id, recipients, ctx.now)
        doc = Doc().add(f"📤 开始发送，共 {thousands(len(recipients))} 个订阅……")
        return [Message(doc, edit=True, broadcast_id=broadcast_id)]


def csv_documents(parts: Sequence[Part]) -> list[Out]:
    """/export's CSV parts as documents, each caption saying which rows it holds when there are several."""
    total = sum(part.rows for part in parts)
    caption = f"📦 导出 {thousands(total)} 条心得与答题记录"
    if len(parts) == 1:
        return [Document(parts[0].path.name, parts[0].path, caption)]
    documents: list[Out] = []
    first = 1
    for i, part in enumerate(parts, start=1):
        last = first + part.rows - 1
        where = f" · 第 {i}/{len(parts)} 部分（第 {thousands(first)}–{thousands(last)} 条）"
        documents.append(Document(part.path.name, part.path, caption + where))
        first = last + 1
    return documents


#: How the admin's messages name a channel (the first part of a chat key).
CHANNEL_NAMES = {"tg": "Telegram", "wecom": "企业微信", "robot": "企业微信群机器人"}


class BroadcastMessages:
    """What the fan-out job says: the announcement itself, the admin's progress line, the final report."""

    def announcement(self, text: str) -> Message:
        """The announcement as every recipient gets it."""
        return Message(broadcast_doc(text))

    def progress(self, counts: Mapping[str, int], waiting: Sequence[str] = ()) -> Doc:
        """The admin's progress line: 已发送 640 / 1,284 · 屏蔽 3; then a line for each channel whose sends
        keep failing for now (an outage), its recipients waiting to be tried again."""
        total = sum(counts.values())
        done = counts.get("sent", 0) + counts.get("blocked", 0) + counts.get("failed", 0)
        doc = Doc().add(f"📤 已发送 {done:,} / {total:,}")
        if counts.get("blocked"):
            doc.add(f" · 屏蔽 {counts['blocked']:,}")
        if counts.get("failed"):
            doc.add(f" · 失败 {counts['failed']:,}")
        for channel in waiting:
            doc.add(f"\n⏳ {CHANNEL_NAMES.get(channel, channel)} 暂时无法连接，稍后自动重试")
        return doc

    def report(self, counts: Mapping[str, int], seconds: float) -> Doc:
        """The final report: delivered, blocked, failed."""
        doc = Doc().b("✅ 广播已完成").add("\n")
        doc.add(
            f"送达 {counts.get('sent', 0):,} · 屏蔽 {counts.get('blocked', 0):,} · 失败 {counts.get('failed', 0):,}"
        )
        doc.add(f"\n用时 {seconds:.0f} 秒")
        return doc


def broadcast_doc(text: str) -> Doc:
    """An announcement as subscribers see it."""
    return Doc().b("📢 通知").add("\n\n").add(text)


def subscriber_counts(storage: Storage) -> tuple[int, int, int]:
    """Subscribed private chats and groups that broadcasts reach, and console subscriptions (which they don't)."""
    counts = storage.count_subscribed()
    private = sum(
        n for (channel, kind), n in counts.items() if kind == "private" and channel in ("tg", "wecom")
    )
    groups = sum(n for (channel, kind), n in counts.items() if kind in ("group", "supergroup"))
    console = sum(n for (channel, kind), n in counts.items() if channel == "console")
    return private, groups, console


def broadcast_recipients(storage: Storage) -> list[str]:
    """Every chat a broadcast goes to: subscribed Telegram and WeCom chats and every robot."""
    return storage.subscribed_keys(("tg", "wecom", "robot"))
