"""Parse a speech into title, opening, numbered sections (with sub-points), closing and sentences.

Handles the numbering styles found in Chinese speeches: 第一，… paragraphs (the bundled speech),
一、二、 headings with （一）（二） sub-points, 第一部分 headings, and plain paragraphs with no numbering.
Every character of the text ends up in exactly one section, in order; ids depend only on the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from content.numerals import cn_to_int, int_to_cn

OPEN_QUOTES = "“‘「『《（(【"
CLOSE_QUOTES = "”’」』》）)】"
SENTENCE_ENDS = "。！？!?"
# A sentence longer than this is split at its top-level semicolons, as long as the pieces stay readable.
RUN_ON_LIMIT = 120
MIN_PIECE = 25

_NUM = "[一二三四五六七八九十]+"
# Top-level numbering styles, tried in this order; the first one found in the text wins.
_STYLES: dict[str, re.Pattern[str]] = {
    "part": re.compile(rf"^第({_NUM})部分[\s：:、，,.．]*(.*)$"),
    "dun": re.compile(rf"^({_NUM})[、．.]\s*(.*)$"),
    "ordinal": re.compile(rf"^第({_NUM})[，,、：:]\s*(.*)$"),
}
_SUB = re.compile(rf"^[（(]({_NUM})[）)]\s*(.*)$")
_SALUTATION = re.compile(r"^同志们[：:]")
_CLOSING = re.compile(r"^同志们[，,！!]")
_HEADING_MAX = 40
_TITLE_MAX = 20


@dataclass(frozen=True)
class Sentence:
    """One sentence: where it stands (section id, 1-based index, paragraph number) and its text."""

    section_id: str
    index: int
    paragraph: int
    text: str


@dataclass
class Section:
    """Opening, a numbered part (maybe with sub-points), or closing."""

    id: str
    kind: str  # opening | numbered | closing
    number: int | None
    title: str
    paragraphs: list[str]
    sentences: list[Sentence] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The section's text, paragraphs separated by newlines."""
        return "\n".join(self.paragraphs)

    @property
    def label(self) -> str:
        """How readers name it: 开篇, 第三部分, 结语, or （二） for a sub-point."""
        if self.kind == "opening":
            return "开篇"
        if self.kind == "closing":
            return "结语"
        if "." in self.id:
            return f"（{int_to_cn(self.number or 0)}）"
        return f"第{int_to_cn(self.number or 0)}部分"


@dataclass
class Speech:
    """A parsed speech."""

    title: str
    sections: list[Section]

    def all_sentences(self) -> list[Sentence]:
        """Every sentence in reading order."""
        return [s for section in self.sections for s in section.sentences]


class EmptySpeechError(ValueError):
    """The text has no content to study."""


def split_sentences(paragraph: str) -> list[str]:
    """Split at 。！？ (and ； in a run-on sentence) without breaking a quotation apart."""
    pieces: list[str] = []
    start = depth = 0
    i, n = 0, len(paragraph)
    while i < n:
        ch = paragraph[i]
        if ch in OPEN_QUOTES:
            depth += 1
        elif ch in CLOSE_QUOTES:
            depth = max(0, depth - 1)
        elif ch in SENTENCE_ENDS:
            j = i + 1
            while j < n and paragraph[j] in SENTENCE_ENDS:
                j += 1
            # A terminator inside a quotation ends the sentence only together with its closing quotes.
            k, d = j, depth
            while k < n and d > 0 and paragraph[k] in CLOSE_QUOTES:
                d -= 1
                k += 1
            if d == 0:
                depth = 0
                pieces.append(paragraph[start:k])
                start = i = k
                continue
            i = j
            continue
        i += 1
    if start < n:
        pieces.append(paragraph[start:])
    return [p for piece in pieces for p in _split_run_on(piece) if p]


def _split_run_on(sentence: str) -> list[str]:
    """Split a long sentence at top-level ；, keeping every piece at least MIN_PIECE characters."""
    if len(sentence) <= RUN_ON_LIMIT:
        return [sentence]
    cuts, depth = [], 0
    for i, ch in enumerate(sentence):
        if ch in OPEN_QUOTES:
            depth += 1
        elif ch in CLOSE_QUOTES:
            depth = max(0, depth - 1)
        elif ch in "；;" and depth == 0:
            cuts.append(i + 1)
    pieces, start = [], 0
    for cut in cuts:
        if cut - start >= MIN_PIECE and len(sentence) - cut >= MIN_PIECE:
            pieces.append(sentence[start:cut])
            start = cut
    pieces.append(sentence[start:])
    return pieces


def _paragraphs(text: str) -> list[str]:
    """Non-empty lines with surrounding (also full-width) spaces removed."""
    return [line.strip(" \t\u3000\ufeff\r") for line in text.splitlines() if line.strip(" \t\u3000\ufeff\r")]


def _heading_title(rest: str) -> tuple[str, bool]:
    """Title of a heading line and whether the line is a bare heading (no body text of its own)."""
    bare = len(rest) <= _HEADING_MAX and not any(ch in rest for ch in "。！？")
    title = rest.strip("，,。；;：: ")
    if bare and len(title) <= _TITLE_MAX:
        return title, bare
    return _short_title(title), bare


def _short_title(text: str) -> str:
    """A title short enough for a button: the first clause, cut at TITLE_MAX characters."""
    text = re.split(r"[，,。；;：:！？]", text, maxsplit=1)[0]
    return text if len(text) <= _TITLE_MAX else text[:_TITLE_MAX] + "…"


def _detect_style(paragraphs: list[str]) -> str | None:
    """The top-level numbering style: the first style whose number 一 starts a paragraph."""
    for name, pattern in _STYLES.items():
        for para in paragraphs:
            match = pattern.match(para)
            if match and cn_to_int(match.group(1)) == 1:
                return name
    return None


def parse_speech(text: str) -> Speech:
    """Parse the text of a speech."""
    paragraphs = _paragraphs(text)
    if not paragraphs:
        raise EmptySpeechError("the text is empty")
    title = "讲话"
    first = paragraphs[0]
    if not _SALUTATION.match(first) and len(first) <= 60 and not any(ch in first for ch in "。！？"):
        title = first
        paragraphs = paragraphs[1:]
    if not paragraphs:
        raise EmptySpeechError("the text has a title but no body")

    style = _detect_style(paragraphs)
    closing_at = next((i for i in range(len(paragraphs) - 1, 0, -1) if _CLOSING.match(paragraphs[i])), None)
    body_end = closing_at if closing_at is not None else len(paragraphs)

    # (start index, number, title, bare heading?) of each numbered part, numbers in sequence.
    starts: list[tuple[int, int, str, bool]] = []
    if style:
        pattern = _STYLES[style]
        for i, para in enumerate(paragraphs[:body_end]):
            match = pattern.match(para)
            if match and cn_to_int(match.group(1)) == len(starts) + 1:
                heading, bare = _heading_title(match.group(2))
                starts.append((i, len(starts) + 1, heading, bare))
    if not starts:
        starts = _plain_parts(paragraphs, body_end)

    sections: list[Section] = []
    first_start = starts[0][0] if starts else body_end
    if first_start > 0:
        sections.append(Section("0", "opening", None, "开篇", paragraphs[:first_start]))
    for k, (i, number, heading, bare) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else body_end
        section = Section(str(number), "numbered", number, heading, paragraphs[i:end])
        section.subsections = _subsections(section, skip_first=bare)
        sections.append(section)
    if closing_at is not None:
        closing_id = str(len(starts) + 1)
        sections.append(Section(closing_id, "closing", None, "结语", paragraphs[closing_at:]))
    for section in sections:
        _fill_sentences(section)
    return Speech(title, sections)


def _plain_parts(paragraphs: list[str], body_end: int) -> list[tuple[int, int, str, bool]]:
    """Parts of a speech with no numbering: after an opening paragraph, one part per paragraph."""
    first = 1 if body_end > 1 else 0
    if first and _SALUTATION.match(paragraphs[0]) and len(paragraphs[0]) <= 8 and body_end > 2:
        first = 2  # a bare 同志们： line belongs with the paragraph after it
    return [(i, n + 1, _short_title(paragraphs[i]), False) for n, i in enumerate(range(first, body_end))]


def _subsections(section: Section, skip_first: bool) -> list[Section]:
    """（一）（二） sub-points of a numbered section, numbered in sequence."""
    found: list[tuple[int, int, str]] = []
    for i, para in enumerate(section.paragraphs):
        match = _SUB.match(para)
        if match and cn_to_int(match.group(1)) == len(found) + 1:
            found.append((i, len(found) + 1, _heading_title(match.group(2))[0]))
    subs = []
    for k, (i, number, heading) in enumerate(found):
        end = found[k + 1][0] if k + 1 < len(found) else len(section.paragraphs)
        subs.append(Section(f"{section.id}.{number}", "numbered", number, heading, section.paragraphs[i:end]))
    return subs


def _fill_sentences(section: Section) -> None:
    """Split the section's paragraphs into sentences and share them with its sub-points."""
    index = 0
    by_paragraph: list[list[Sentence]] = []
    for p, para in enumerate(section.paragraphs):
        row = []
        for text in split_sentences(para):
            index += 1
            row.append(Sentence(section.id, index, p, text))
        by_paragraph.append(row)
    section.sentences = [s for row in by_paragraph for s in row]
    offset = 0
    for sub in section.subsections:
        first = section.paragraphs.index(sub.paragraphs[0], offset)
        offset = first + len(sub.paragraphs)
        sub.sentences = [s for row in by_paragraph[first:offset] for s in row]
