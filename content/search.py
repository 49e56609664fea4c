"""Search over the speech's sentences: jieba with the speech's own dictionary, BM25, substring fallback.

Any query returns a (possibly empty) list: long queries are cut to their first words, punctuation and
emoji are ignored, Latin is matched case-insensitively.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from content.speech import Sentence

K1 = 1.5
B = 0.75
MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 24
_WORDISH = re.compile(r"[\w\u4e00-\u9fff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# One-character function words that match almost every sentence and tell nothing.
_FILLER = frozenset("的了和与及或在是把被对从向于以为之而也都就又要我你他她它们这那个")


@dataclass(frozen=True)
class Hit:
    """A sentence that matched, with the spans of the matched words."""

    sentence: Sentence
    score: float
    spans: tuple[tuple[int, int], ...]
    terms: tuple[str, ...]

    def marked(self, escape: Callable[[str], str], before: str, after: str) -> str:
        """The sentence with matched words wrapped, everything escaped for the target format."""
        text, out, pos = self.sentence.text, [], 0
        for start, end in self.spans:
            out.append(escape(text[pos:start]))
            out.append(before + escape(text[start:end]) + after)
            pos = end
        out.append(escape(text[pos:]))
        return "".join(out)


_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def normalize(text: str) -> str:
    """Full-width Latin and digits to half-width, lower case; one character for one, so spans hold."""
    folded = text.translate(_HALF_WIDTH)
    lowered = folded.lower()
    return lowered if len(lowered) == len(folded) else folded


class SearchIndex:
    """BM25 over sentences: the query's words come from the speech's tokenizer, and each word counts
    wherever it occurs in a sentence, also inside a longer word (人才 in 优秀人才) or across a split."""

    def __init__(self, sentences: list[Sentence], cut: Callable[[str], list[str]]):
        self.sentences = sentences
        self.cut = cut
        self.norm_texts = [normalize(s.text) for s in sentences]
        self.lengths = [len(t) for t in self.norm_texts]
        self.avg_len = sum(self.lengths) / max(1, len(self.lengths))

    def _idf(self, df: int) -> float:
        n = len(self.sentences)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def query_terms(self, query: str) -> list[str]:
        """The distinct search words of a query, in order (bounded however long the query is)."""
        text = normalize(query)[:MAX_QUERY_CHARS]
        terms: dict[str, None] = {}
        for chunk in text.split():
            tokens = [t.strip() for t in self.cut(chunk)]
            tokens = [t for t in tokens if t and _WORDISH.search(t) and t not in _FILLER]
            if any(len(t) > 1 for t in tokens):
                # A lone character beside longer words is a piece of a word the speech does not have
                # (人 of 人工智能): it would match nearly every sentence.
                tokens = [t for t in tokens if len(t) > 1 or not _HAN.match(t)]
            for token in tokens:
                terms.setdefault(token, None)
            # The whole chunk too, so a phrase the segmenter splits still matches as written.
            if len(chunk) > 1 and _WORDISH.search(chunk):
                terms.setdefault(chunk, None)
        return list(terms)[:MAX_QUERY_TERMS]

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        """Best-ranked sentences for the query."""
        terms = self.query_terms(query)
        if not terms:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, set[str]] = defaultdict(set)
        for term in terms:
            postings = {i: t.count(term) for i, t in enumerate(self.norm_texts) if term in t}
            if not postings:
                continue
            idf = self._idf(len(postings))
            for i, tf in postings.items():
                norm = K1 * (1 - B + B * self.lengths[i] / self.avg_len)
                scores[i] += idf * tf * (K1 + 1) / (tf + norm)
                matched[i].add(term)
        # A sentence that holds more of the query's words ranks first, then by BM25, then reading order.
        ranked = sorted(scores, key=lambda i: (-len(matched[i]), -scores[i], i))[:limit]
        return [self._hit(i, scores[i], matched[i]) for i in ranked]

    def _hit(self, i: int, score: float, terms: set[str]) -> Hit:
        text = self.norm_texts[i]
        spans: list[tuple[int, int]] = []
        for term in sorted(terms, key=len, reverse=True):
            for m in re.finditer(re.escape(term), text):
                if all(m.end() <= s or m.start() >= e for s, e in spans):
                    spans.append((m.start(), m.end()))
        return Hit(self.sentences[i], score, tuple(sorted(spans)), tuple(sorted(terms)))
