"""Splitting text for WeCom: `split_utf8` and the UTF-8 byte limits of WeCom's messages.

Long text is cut at sentence ends, an over-long sentence at its clause marks, and only then between
characters, so that every chunk fits its limit.
"""

from __future__ import annotations

from collections.abc import Iterable

#: WeCom byte limits (UTF-8) on message content.
ROBOT_MARKDOWN_MAX_BYTES = 4096
ROBOT_TEXT_MAX_BYTES = 2048
#: The app message API allows 2048 bytes for both text and markdown (text beyond is truncated by WeCom).
APP_TEXT_MAX_BYTES = 2048
APP_MARKDOWN_MAX_BYTES = 2048

#: Sentence terminators WeCom messages are split after.
SENTENCE_ENDS = "。！？；\n"
#: Clause marks used when a single sentence is too long on its own.
CLAUSE_ENDS = "，、：,;:"
#: Closing quotes/brackets that belong to the sentence they close (。” stays together).
_CLOSERS = "”’」』）)》〉】\"'"


def _segments(text: str, ends: str) -> list[str]:
    """Cut text after each character in ends (plus any closing quotes that follow); keeps every char."""
    pieces: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        if text[i] in ends:
            i += 1
            while i < n and text[i] in _CLOSERS:
                i += 1
            pieces.append(text[start:i])
            start = i
        else:
            i += 1
    if start < n:
        pieces.append(text[start:])
    return pieces


def _hard_split(text: str, max_bytes: int) -> list[str]:
    """Split at character boundaries into pieces of at most max_bytes UTF-8 bytes."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > max_bytes and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        pieces.append("".join(current))
    return pieces


def _pack(pieces: Iterable[str], max_bytes: int) -> list[str]:
    """Greedily join consecutive pieces (each ≤ max_bytes) into chunks of at most max_bytes."""
    chunks: list[str] = []
    current = ""
    size = 0
    for piece in pieces:
        width = len(piece.encode("utf-8"))
        if size + width > max_bytes and current:
            chunks.append(current)
            current, size = "", 0
        current += piece
        size += width
    if current:
        chunks.append(current)
    return chunks


def split_utf8(text: str, max_bytes: int) -> list[str]:
    """Split text into chunks of ≤ max_bytes UTF-8 bytes at sentence ends; ''.join(result) == text."""
    if max_bytes < 4:  # one code point can take 4 bytes
        raise ValueError("max_bytes must be at least 4")
    if not text:
        return []
    if len(text.encode("utf-8")) <= max_bytes:
        return [text]
    pieces: list[str] = []
    for sentence in _segments(text, SENTENCE_ENDS):
        if len(sentence.encode("utf-8")) <= max_bytes:
            pieces.append(sentence)
            continue
        # One over-long sentence: try its clauses, and only then cut between characters.
        for clause in _segments(sentence, CLAUSE_ENDS):
            if len(clause.encode("utf-8")) <= max_bytes:
                pieces.append(clause)
            else:
                pieces.extend(_hard_split(clause, max_bytes))
    return _pack(pieces, max_bytes)
