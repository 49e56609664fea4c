"""Plain-text outline of a content model, for `studybot content show` and for reading it as an editor."""

from __future__ import annotations

from collections import Counter

from content import ContentModel

KIND_NAMES = {
    "cloze": "填空",
    "section": "出处",
    "sequence": "接续",
    "exclusion": "排除",
    "choice": "单选",
    "truefalse": "判断",
}


def outline(model: ContentModel, full: bool = False) -> str:
    """Sections, lessons with their prompts, and the quiz bank (every question when `full`)."""
    lines = [f"《{model.title}》"]
    speech = model.speech
    lines += [f"——{speech.subtitle}"] if speech.subtitle else []
    lines += (
        [" · ".join(x for x in (speech.speaker, speech.date) if x)] if speech.speaker or speech.date else []
    )
    lines.append("")
    per_section = Counter(q.section_id for q in model.questions)
    lessons_per = Counter(lesson.section_id for lesson in model.lessons)
    lines.append(f"章节（{len(model.sections)}）")
    for s in model.sections:
        title = s.name
        lines.append(
            f"  [{s.id}] {title}：{len(s.text.replace(chr(10), ''))} 字 · {len(s.sentences)} 句 · "
            f"{lessons_per[s.id]} 课 · {per_section[s.id]} 题"
        )
        for sub in s.subsections:
            lines.append(f"      {sub.label} {sub.title}：{len(sub.sentences)} 句")
    lines += ["", f"学习计划：{len(model.lessons)} 天"]
    for lesson in model.lessons:
        section = model.section(lesson.section_id)
        lines.append(f"  第 {lesson.day} 天 · {lesson.place or section.label} · {len(lesson.text)} 字")
        if full:
            # As the lesson message shows it: the run-in heading above, the excerpt quoted (┃) below it.
            if lesson.lead:
                lines += [f"    小标题：{line}" for line in lesson.lead.split("\n")]
            lines += [f"    ┃ {para}" for para in lesson.text.split("\n")]
        else:
            preview = lesson.text.replace("\n", " ")
            lines.append(f"    {preview[:60]}{'……' if len(preview) > 60 else ''}")
        lines.append(f"    💭 {lesson.prompt}")
    kinds = Counter(q.kind for q in model.questions)
    summary = "，".join(f"{KIND_NAMES.get(k, k)} {n}" for k, n in sorted(kinds.items()))
    lines += ["", f"题库：{len(model.questions)} 题（{summary}）"]
    if full:
        for q in model.questions:
            lines.append(f"  [{q.id}] {KIND_NAMES.get(q.kind, q.kind)} · {q.section_id} · {q.question}")
            for i, option in enumerate(q.options):
                lines.append(f"      {'ABCD'[i]}. {option}{'  ✔' if i == q.answer else ''}")
    return "\n".join(lines) + "\n"
