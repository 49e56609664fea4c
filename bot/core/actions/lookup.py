"""Looking things up: the table of contents, one part in full, search (commands, the 更多 button, inline)."""

from __future__ import annotations

import re

from bot.core.actions.base import Area
from bot.core.actions.replies import Button, Ctx, InlineHit, Message, Out, clip, fit_callback, say
from bot.core.render import Doc
from content import int_to_cn

SEARCH_PAGE = 5
INLINE_RESULTS = 10


class Lookup(Area):
    """/sections, /section, /search."""

    async def sections(self, ctx: Ctx, args: str) -> list[Out]:
        """The table of contents, each part as a button."""
        doc = Doc().b(f"📚 《{self.model.title}》目录").add("\n")
        buttons = []
        for section in self.model.sections:
            name = self.section_name(section.id)
            doc.add(f"\n{name}（{len(section.text.replace(chr(10), ''))} 字）")
            buttons.append([Button(name, self.tagged(f"sec:{section.id}"))])
        doc.add("\n\n点按钮阅读，或发送 /section 3 这样的命令。")
        return [Message(doc, buttons)]

    async def section(self, ctx: Ctx, args: str) -> list[Out]:
        """One part of the speech in full, with buttons to the parts before and after."""
        if not args:
            return await self.sections(ctx, "")
        section = self.model.section(args) if re.fullmatch(r"\d", args) and "." not in args else None
        section = self.model.find_section(args) or (
            section if section and section.kind != "numbered" else None
        )
        if section is None:
            numbers = len(self.model.numbered)
            return [
                say(
                    f"没有找到“{clip(args, 20)}”。可以写 1–{numbers}、一…{int_to_cn(numbers)}、第三部分，"
                    "或 0 / 开篇、结语。",
                    [Button("📚 目录", "toc")],
                )
            ]
        doc = Doc().b(self.section_name(section.id)).add("\n\n")
        doc.add("\n\n".join(section.paragraphs))
        index = [s.id for s in self.model.sections].index(section.id)
        nav = []
        if index > 0:
            prev = self.model.sections[index - 1]
            nav.append(Button(f"◀ {prev.label}", self.tagged(f"sec:{prev.id}")))
        nav.append(Button("目录", "toc"))
        if index + 1 < len(self.model.sections):
            nxt = self.model.sections[index + 1]
            nav.append(Button(f"{nxt.label} ▶", self.tagged(f"sec:{nxt.id}")))
        return [Message(doc, [nav])]

    async def search(self, ctx: Ctx, args: str) -> list[Out]:
        """Sentences that match the words, best first, with matched words marked and their place."""
        if not args:
            return [say("请在 /search 后面写要找的词，例如 /search 人才")]
        return self.search_page(args, 0)

    def search_page(self, query: str, offset: int) -> list[Out]:
        """One page of hits from `offset`, with a 更多 button while more remain."""
        hits = self.model.search(query, limit=offset + SEARCH_PAGE + 1)
        shown = clip(" ".join(query.split()), 24)
        if not hits[offset:]:
            if offset:
                return [say("没有更多结果了。")]
            suggestions = self.model.suggest(query)
            tips = "、".join(f"“{s}”" for s in suggestions)
            return [say(f"🔍 没有找到“{shown}”。" + (f"可以试试：{tips}" if tips else ""))]
        total = len(self.model.search(query, limit=200))
        doc = Doc().b(f"🔍 “{shown}” · {total} 条").add("\n")
        for number, hit in enumerate(hits[offset : offset + SEARCH_PAGE], start=offset + 1):
            doc.add(f"\n{number}. ")
            text, pos = hit.sentence.text, 0
            for start, end in hit.spans:
                doc.add(text[pos:start]).b(text[start:end])
                pos = end
            doc.add(text[pos:])
            section = self.model.section(hit.sentence.section_id)
            doc.add(f"\n—— {section.label} · 第 {hit.sentence.index} 句\n")
        buttons = []
        if len(hits) > offset + SEARCH_PAGE:
            buttons.append([Button("更多", fit_callback(f"s:{offset + SEARCH_PAGE}:", query))])
        return [Message(doc, buttons)]

    def inline(self, query: str, limit: int = INLINE_RESULTS) -> list[InlineHit]:
        """Inline mode: matching sentences (the first of each part for an empty query) to drop into a chat."""
        text = query.strip()
        if text:
            sentences = [h.sentence for h in self.model.search(text, limit=limit)]
        else:
            sentences = [s.sentences[0] for s in self.model.sections if s.sentences][:limit]
        hits = []
        for sentence in sentences:
            section = self.model.section(sentence.section_id)
            hits.append(
                InlineHit(
                    id=f"{sentence.section_id}-{sentence.index}",
                    title=f"{section.label} · 第 {sentence.index} 句",
                    description=sentence.text[:80],
                    text=f"{sentence.text}\n——《{self.model.title}》{section.label}",
                )
            )
        return hits
