"""Publishing in the chat: a bot admin sends a speech (.txt, .docx, or `/course add` and the text) or a
question bank (.xlsx, .csv) and gets a preview with buttons; nothing changes until they press one.

A speech is stored as a draft course at once (so the buttons can name it), shown as a reader would meet
it, and published for the chats that have finished their course or for every chat, or dropped. A bank is
checked row by row against the admin's current course (all or nothing), shown as what it would change,
and kept as a draft until it replaces or joins the generated questions. Anyone who is not a bot admin is
told so politely, and the file is not even downloaded.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import PurePath

from bot.core.actions.courses import course_preview
from bot.core.actions.replies import Button, Ctx, Message, Out, say
from bot.core.bank import bank_rows, diff_banks, section_names
from bot.core.catalog import Catalog, bank_from_json, bank_to_json
from bot.core.render import Doc
from bot.core.storage import Storage, text_hash
from content import ContentError, EmptySpeechError, build_model

BANK_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".tsv", ".xls")
#: The largest file taken (documents.MAX_BYTES; Telegram lets a bot download up to 20 MB).
MAX_BYTES = 20 * 1024 * 1024
#: Fewer Chinese characters than this is no speech to study for days (a notice, a list, a name).
MIN_CHINESE = 300
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
NOT_ADMIN = "只有管理员可以发布课程或导入题库。发送 /help 查看我能做什么。"


class Publishing:
    """Speeches and question banks sent by bot admins."""

    def __init__(self, storage: Storage, catalog: Catalog, on_change: Callable[[int], None] | None = None):
        self.storage = storage
        self.catalog = catalog
        self.on_change = on_change or (lambda course_id: None)

    async def document(
        self, ctx: Ctx, filename: str, size: int | None, fetch: Callable[[], Awaitable[bytes]]
    ) -> list[Out]:
        """A file sent in a private chat: a speech or a bank from an admin; fetched only if it is taken."""
        if not ctx.is_bot_admin:
            return [say(NOT_ADMIN)]
        if size is not None and size > MAX_BYTES:
            return [
                say(f"文件太大（{size / 1e6:.1f} MB）：讲话稿和题库都不超过 {MAX_BYTES // 1024 // 1024} MB。")
            ]
        data = await fetch()
        if PurePath(filename or "").suffix.lower() in BANK_SUFFIXES:
            return await self.bank(ctx, filename, data)
        # python-docx (and lxml) load when a speech arrives, not when the bot starts.
        from bot.core.documents import DocumentError, speech_text

        try:
            text = speech_text(filename, data)
        except DocumentError as exc:
            return [say(f"没有保存：{exc}。")]
        return await self.speech(ctx, text, filename)

    async def speech(self, ctx: Ctx, text: str, source: str) -> list[Out]:
        """A speech's preview, stored as a draft course, with [发布] [取消]."""
        if not ctx.is_bot_admin:
            return [say(NOT_ADMIN)]
        existing = self.storage.course_by_hash(text_hash(text))
        if existing is not None:
            state = "" if existing["state"] == "published" else "（草稿，还没有发布）"
            return [
                say(f"这篇讲话已经是课程 {existing['id']}《{existing['title']}》了{state}，没有重复保存。")
            ]
        if len(_CHINESE.findall(text)) < MIN_CHINESE:
            return [say(f"没有保存：这不像一篇讲话稿（中文不到 {MIN_CHINESE} 字）。请发送讲话的全文。")]
        try:
            model = await asyncio.get_running_loop().run_in_executor(None, build_model, text)
        except (ContentError, EmptySpeechError) as exc:
            return [say(f"没有保存：{exc}。")]
        if len(model.lessons) < 2:
            return [say("没有保存：这篇文字太短，排不出每天的学习。请发送讲话的全文。")]
        course, _created = self.storage.add_course(
            text, model.title, source, ctx.now, created_by=ctx.user_key
        )
        self.catalog.keep(course, model)
        doc = course_preview(model)
        doc.add("\n发布后：")
        buttons = [
            [Button("📢 发布：学完当前课程的先学", f"pub:{course}:finished")],
            [Button("📢 发布：所有人下次推送就切换", f"pub:{course}:all")],
            [Button("取消", f"pub:{course}:no")],
        ]
        doc.add("“学完的先学”只换给已学完当前课程的聊天；“所有人切换”让每个聊天下次推送起学这一篇，")
        doc.add("原来的进度保留，切回去接着学。")
        return [Message(doc, buttons)]

    def decide(self, ctx: Ctx, course_id: int, verb: str) -> list[Out]:
        """[发布] or [取消] under a speech's preview."""
        if not ctx.is_bot_admin:
            return [say(NOT_ADMIN)]
        course = self.storage.course(course_id)
        if course is None:
            return [say("这份草稿已经取消了。")]
        if course["state"] == "published":
            return [say(f"课程 {course_id}《{course['title']}》已经发布了。")]
        if verb == "no":
            self.storage.drop_draft(course_id)
            return [say("已取消，这篇讲话没有保存。")]
        if verb not in ("finished", "all"):
            return [say("这个按钮已经失效了。")]
        self.storage.publish_course(course_id, verb, ctx.now)
        self.on_change(course_id)
        who = "每个聊天下次推送起都学这一篇" if verb == "all" else "学完当前课程的聊天下次推送起学这一篇"
        return [say(f"✅ 已发布为课程 {course_id}《{course['title']}》：{who}。发送 /course 查看全部课程。")]

    async def bank(self, ctx: Ctx, filename: str, data: bytes) -> list[Out]:
        """A question bank for the admin's current course: its rows checked, a preview of the change."""
        chat = self.storage.get_chat(ctx.chat_key) or {}
        course_id = int(chat.get("course_id") or self.storage.default_course())
        course = self.storage.course(course_id) or {"title": "", "id": course_id}
        model = await asyncio.get_running_loop().run_in_executor(None, self.catalog.generated, course_id)
        from bot.core.bank import read_bank

        imported = read_bank(data, filename, section_names(model.sections))
        if not imported.ok:
            head = f"题库没有导入（课程《{course['title']}》），请改好再发：\n"
            return [say(head + imported.error_text())]
        stored, mode = self.storage.course_bank(course_id)
        current = bank_from_json(stored) if stored else bank_rows(model.questions, model.sections)
        draft = self.storage.save_bank_draft(course_id, bank_to_json(imported.rows), ctx.user_key, ctx.now)
        doc = Doc().b(f"📥 题库预览 · 课程 {course_id}《{course['title']}》").add("\n")
        doc.add(f"{len(imported.rows)} 道题。{diff_banks(current, imported.rows)}（与现在的题目相比）\n")
        doc.add("替换：只用这份题库出题；追加：生成的题目之外再加上这些。")
        buttons = [
            [Button("替换现有题目", f"bank:{draft}:replace"), Button("追加", f"bank:{draft}:add")],
            [Button("取消", f"bank:{draft}:no")],
        ]
        return [Message(doc, buttons)]

    def import_bank(self, ctx: Ctx, draft_id: int, verb: str) -> list[Out]:
        """[替换] [追加] [取消] under a bank's preview."""
        if not ctx.is_bot_admin:
            return [say(NOT_ADMIN)]
        draft = self.storage.take_bank_draft(draft_id)
        if draft is None:
            return [say("这份题库已经处理过了。")]
        if verb not in ("replace", "add"):
            return [say("已取消，题库没有导入。")]
        course_id = int(draft["course_id"])
        self.storage.set_course_bank(course_id, draft["rows"], verb)
        self.catalog.forget(course_id)
        self.on_change(course_id)
        total = len(self.catalog.model(course_id).questions)
        how = "替换了生成的题目" if verb == "replace" else "追加在生成的题目之后"
        count = len(bank_from_json(draft["rows"]))
        return [say(f"✅ 已导入 {count} 道题，{how}：这门课现在共 {total} 道题。")]
