"""Rich text for replies, rendered as Telegram HTML, WeCom markdown or plain text, split to fit.

Actions build a `Doc` of styled spans and never write markup themselves; each channel renders it and
escapes user and speech text for its own format, so nothing a user types can break a message.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

TELEGRAM_LIMIT = 4096

STYLES = ("", "b", "i", "quote", "code")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")


@dataclass(frozen=True)
class Span:
    """A run of text in one style."""

    text: str
    style: str = ""


@dataclass
class Doc:
    """A message being built: spans in order."""

    spans: list[Span] = field(default_factory=list)

    def add(self, text: str, style: str = "") -> Doc:
        """Append text in a style."""
        if text:
            self.spans.append(Span(text, style))
        return self

    def b(self, text: str) -> Doc:
        """Append bold text."""
        return self.add(text, "b")

    def quote(self, text: str) -> Doc:
        """Append a block quotation (the speech's own words)."""
        return self.add(text, "quote")

    def line(self, text: str = "", style: str = "") -> Doc:
        """Append text and a line break."""
        return self.add(text, style).add("\n")

    def extend(self, other: Doc) -> Doc:
        """Append another document."""
        self.spans.extend(other.spans)
        return self

    @property
    def plain_text(self) -> str:
        """The visible text, without styling."""
        return "".join(s.text for s in self.spans)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def escape_html(text: str) -> str:
    """Escape text for Telegram HTML (only &, < and > are special; quotes are escaped for safety)."""
    return html.escape(text, quote=False)


def to_html(doc: Doc) -> str:
    """Telegram HTML."""
    out = []
    for span in doc.spans:
        text = escape_html(span.text)
        if span.style in ("b", "i", "code"):
            out.append(f"<{span.style}>{text}</{span.style}>")
        elif span.style == "quote":
            out.append(f"<blockquote>{text.strip(chr(10))}</blockquote>")
        else:
            out.append(text)
    return "".join(out).strip("\n")


# WeCom markdown is a small subset: '# ' headings, **bold**, [links](url), `code`, '> ' quotes and
# <font color> / <@userid> tags; a single '*' or '_' means nothing. Its docs define no escape character
# (a backslash may show up literally), so the text is kept exactly as written and only the sequences that
# would start formatting are broken with an invisible zero-width space: '**', '`', '](' , '<' before a
# letter or '@', and '#' or '>' at a line start. "省*次全会" stays "省*次全会".
ZWSP = "\u200b"
_MD_BREAKS = re.compile(r"\*(?=\*)|`|\](?=\()|<(?=[A-Za-z@/])")
_MD_LINE_START = re.compile(r"(?m)^([ \t]*)(?=[#>])")


def markdown_escape(text: str) -> str:
    """Text that WeCom markdown shows as written: formatting sequences broken by a zero-width space."""
    text = _MD_BREAKS.sub(lambda m: m.group(0) + ZWSP, text)
    return _MD_LINE_START.sub(lambda m: m.group(1) + ZWSP, text)


def to_markdown(doc: Doc) -> str:
    """WeCom markdown, with speech and user text escaped so that 省*次全会 shows as written."""
    out = []
    for span in doc.spans:
        text = markdown_escape(span.text)
        # A '*' at a span's edge would join the '**' of a neighbouring bold span (省 in bold, then *次…).
        if text.startswith("*"):
            text = ZWSP + text
        if text.endswith("*"):
            text += ZWSP
        if span.style == "b":
            out.append(f"**{text}**")
        elif span.style == "quote":
            body = "\n".join(f"> {line}" if line else ">" for line in text.strip("\n").split("\n"))
            out.append(f"\n{body}\n")
        elif span.style == "code":
            out.append(f"`{text}`")
        else:
            out.append(text)
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip("\n")


def to_plain(doc: Doc, bold: tuple[str, str] = ("", "")) -> str:
    """Plain text for the console; quotations indented with a bar, bold as `bold` (e.g. ANSI codes)."""
    out = []
    for span in doc.spans:
        if span.style == "quote":
            lines = span.text.strip("\n").split("\n")
            out.append("\n".join(f"  ┃ {line}" for line in lines))
        elif span.style == "b":
            out.append(bold[0] + span.text + bold[1])
        else:
            out.append(span.text)
    return "".join(out).strip("\n")


def split_doc(doc: Doc, limit: int = TELEGRAM_LIMIT, measure=utf16_len) -> list[Doc]:
    """Split into documents whose visible text is at most `limit`, cutting at sentence ends."""
    if measure(doc.plain_text) <= limit:
        return [doc]
    pieces: list[Span] = []
    for span in doc.spans:
        if measure(span.text) <= limit // 2:
            pieces.append(span)
            continue
        for part in _sentences(span.text, limit // 2, measure):
            pieces.append(Span(part, span.style))
    docs, current, size = [], Doc(), 0
    for piece in pieces:
        n = measure(piece.text)
        if size + n > limit and current.spans:
            docs.append(current)
            current, size = Doc(), 0
        current.spans.append(piece)
        size += n
    if current.spans:
        docs.append(current)
    return _merge_quotes(docs)


def _sentences(text: str, limit: int, measure) -> Iterable[str]:
    """Pieces of text of at most `limit`, cut after sentence ends (or anywhere for one huge sentence)."""
    buf = ""
    for sentence in _SENTENCE_END.split(text):
        while measure(sentence) > limit:
            # One sentence longer than the limit: cut it by characters, never inside a surrogate pair.
            cut = limit
            while measure(sentence[:cut]) > limit:
                cut -= 1
            if buf:
                yield buf
                buf = ""
            yield sentence[:cut]
            sentence = sentence[cut:]
        if measure(buf + sentence) > limit and buf:
            yield buf
            buf = ""
        buf += sentence
    if buf:
        yield buf


def _merge_quotes(docs: list[Doc]) -> list[Doc]:
    """Join neighbouring quote pieces within a document into one quotation."""
    for doc in docs:
        merged: list[Span] = []
        for span in doc.spans:
            if merged and merged[-1].style == span.style and span.style in ("quote", ""):
                merged[-1] = Span(merged[-1].text + span.text, span.style)
            else:
                merged.append(span)
        doc.spans = merged
    return docs
