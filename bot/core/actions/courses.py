"""/course (课程 on WeCom and in the console): the published courses, and switching this chat to one.

A chat studies one course at a time and keeps its place in each: switching back resumes where it left
off. In a group only its administrators (or bot admins) may switch; anyone may look.
"""

from __future__ import annotations

from collections import Counter

from bot.core.actions.base import Area
from bot.core.actions.replies import Button, Ctx, Message, Out, say
from bot.core.render import Doc
from content import ContentModel

#: Buttons of courses shown at most (Telegram's keyboard and WeCom's text list stay readable).
SHOWN = 20
#: A part shorter than this many characters is worth a look before publishing.
SHORT_PART = 150


def preview_warnings(model: ContentModel) -> list[str]:
    """What an admin should look at before publishing: parts without questions, very short parts."""
    asked = Counter(q.section_id for q in model.questions)
    warnings = []
    numbered = model.numbered
    if not numbered:
        warnings.append("没有找到编号的部分（一、二、三……），全文只分成了开篇和结语")
    for section in numbered:
        if not asked[section.id]:
            warnings.append(f"{section.label}没有题目")
        if len(section.text) < SHORT_PART:
            warnings.append(f"{section.label}很短（{len(section.text)} 字）")
    if len(model.questions) < 5:
        warnings.append(f"题目很少（{len(model.questions)} 道）")
    return warnings


def course_preview(model: ContentModel, title: str | None = None) -> Doc:
    """A speech as a reader would meet it: title, parts, lessons and questions, the first lesson, three
    sample questions and the warnings."""
    doc = Doc().b(f"📄 《{title or model.title}》").add("\n")
    doc.add(f"{len(model.numbered)} 个部分 · {len(model.lessons)} 天的学习 · {len(model.questions)} 道题\n")
    for section in model.sections:
        doc.add(f"· {section.name}\n")
    if model.lessons:
        first = model.lessons[0]
        doc.add("\n").b("第 1 天").add("\n").quote(first.text).add("\n💭 ").add(first.prompt).add("\n")
    samples = _samples(model)
    if samples:
        doc.add("\n").b("题目示例").add("\n")
        for question in samples:
            doc.add(quiz_doc_text(question)).add("\n")
    warnings = preview_warnings(model)
    if warnings:
        doc.add("\n").b("⚠️ 请留意").add("\n")
        for warning in warnings:
            doc.add(f"· {warning}\n")
    return doc


def _samples(model: ContentModel, n: int = 3) -> list:
    """Up to `n` questions of different kinds and parts."""
    picked, kinds = [], set()
    for question in model.questions:
        if question.kind not in kinds:
            picked.append(question)
            kinds.add(question.kind)
    for question in model.questions:
        if len(picked) >= n:
            break
        if question not in picked:
            picked.append(question)
    return picked[:n]


def quiz_doc_text(question) -> str:
    """One question with its lettered options and the answer, on a few lines."""
    letters = "ABCD"
    options = "  ".join(f"{letters[i]}. {option}" for i, option in enumerate(question.options))
    return f"{question.question}\n  {options}（答案 {letters[question.answer]}）"


class Courses(Area):
    """The list of courses and the switch."""

    def course_title(self, course: dict) -> str:
        """A course's name as shown: its title, or its number."""
        return course.get("title") or f"课程 {course['id']}"

    async def course(self, ctx: Ctx, args: str, can_manage: bool = True) -> list[Out]:
        """The published courses, this chat's marked, with a button to switch to each other one."""
        courses = self.storage.courses(published_only=True)
        chat = self.storage.get_chat(ctx.chat_key) or {}
        current = int(chat.get("course_id") or self.storage.default_course())
        wanted = args.strip()
        if wanted:
            picked = self._find(courses, wanted)
            if picked is None:
                shown = wanted if len(wanted) <= 20 else wanted[:20] + "…"
                return [say(f"没有这门课程：{shown}。发送 /course 查看全部课程。")]
            return await self.switch(ctx, int(picked["id"]), can_manage)
        doc = Doc().b("📚 课程").add("\n")
        buttons = []
        for number, course in enumerate(courses[-SHOWN:], start=1):
            pos, done = self.storage.course_place(ctx.chat_key, int(course["id"]))
            place = "已学完" if done else (f"学到第 {pos} 天" if pos else "未开始")
            mark = "▶ " if int(course["id"]) == current else ""
            doc.add(f"{mark}{number}. 《{self.course_title(course)}》 · {place}\n")
            if int(course["id"]) != current:
                buttons.append([Button(f"切换到《{self.course_title(course)}》"[:60], f"crs:{course['id']}")])
        if len(courses) == 1:
            doc.add("\n目前只有这一门课程。")
        elif ctx.is_group and not can_manage:
            doc.add("\n本群的课程只有群管理员能切换。")
            buttons = []
        else:
            doc.add("\n切换后从你在那门课学到的地方接着学；切回来也一样。")
            if ctx.channel != "tg":
                doc.add("\n发送“课程 2”切换到第 2 门。")
        return [Message(doc, buttons)]

    async def switch(self, ctx: Ctx, course_id: int, can_manage: bool = True) -> list[Out]:
        """Put this chat on a course now (the ▶ button or `/course 2`)."""
        if ctx.is_group and not can_manage:
            return [say("只有群管理员可以切换本群的课程。")]
        course = self.storage.course(course_id)
        if course is None or course["state"] != "published":
            return [say("这门课程已经不在了。发送 /course 查看全部课程。")]
        if not self.storage.switch_course(ctx.chat_key, course_id, ctx.now):
            return [say("这门课程已经不在了。发送 /course 查看全部课程。")]
        pos, done = self.storage.course_place(ctx.chat_key, course_id)
        where = "已学完，之后每天推送复习" if done else (f"从第 {pos + 1} 天继续" if pos else "从第 1 天开始")
        doc = Doc().add(f"✅ 已切换到《{self.course_title(course)}》，{where}。")
        return [Message(doc, [[Button("📖 今日学习", "today"), Button("📚 目录", "toc")]])]

    @staticmethod
    def _find(courses: list[dict], wanted: str) -> dict | None:
        """A course by its number in the list (1, 2…) or a word of its title."""
        if wanted.isdigit():
            number = int(wanted)
            shown = courses[-SHOWN:]
            return shown[number - 1] if 1 <= number <= len(shown) else None
        return next((c for c in courses if wanted in (c.get("title") or "")), None)
