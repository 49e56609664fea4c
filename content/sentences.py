"""Sentences of a paragraph: cut at 。！？ without breaking a quotation apart, a run-on sentence also at
its top-level semicolons."""

from __future__ import annotations

OPEN_QUOTES = "“‘「『《（(【"
CLOSE_QUOTES = "”’」』》）)】"
SENTENCE_ENDS = "。！？!?"
# A sentence longer than this is split at its top-level semicolons, as long as the pieces stay readable.
RUN_ON_LIMIT = 120
MIN_PIECE = 25


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
