"""The quiz bank: cloze, which-section and what-comes-next questions built from the speech.

Every question is checked before it is kept: the answer written into the blank gives back the speech's
own words, no distractor does (each one is tried in the blank against the whole text), no option is
already visible in the question, and everything fits a Telegram quiz poll.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from content.speech import Sentence, Speech

BLANK = "＿＿"
QUESTION_MAX = 300
OPTION_MAX = 100
EXPLANATION_MAX = 200
WINDOW_MAX = 70  # characters of the source shown around a blank: enough context, short enough to read
SNIPPET_MAX = 60  # characters of a sentence quoted in a which-part question
MIN_PER_SECTION = 5
CONTEXT = 4  # characters either side of a filled-in distractor that must not occur in the speech

# Well-known 提法 of the shape “数字+个+词”, used as distractors only where the speech has too few.
NUMBERED_TERMS = (
    "两个确立",
    "两个维护",
    "四个意识",
    "四个自信",
    "四个全面",
    "五位一体",
    "两个务必",
    "三个务必",
    "两个结合",
    "四个伟大",
    "三严三实",
    "两学一做",
)


@dataclass(frozen=True)
class Question:
    """One quiz question; `answer` is the index of the right option."""

    id: str
    kind: str  # cloze | section | sequence
    section_id: str
    question: str
    options: tuple[str, ...]
    answer: int
    source: str
    explanation: str

    def to_dict(self) -> dict:
        """The question as in the JSON export."""
        return {
            "id": self.id,
            "kind": self.kind,
            "section": self.section_id,
            "question": self.question,
            "options": list(self.options),
            "answer": self.answer,
            "source": self.source,
        }


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


def _place(options: list[str], answer: str, key: str) -> tuple[tuple[str, ...], int]:
    """Options in a stable shuffled order (from the question's key), so answers are not always A."""
    ordered = sorted(options, key=lambda o: _digest(key, o))
    return tuple(ordered), ordered.index(answer)


def _window(text: str, start: int, end: int) -> tuple[str, int, int]:
    """The clauses around text[start:end], at most WINDOW_MAX characters, and the span's new offsets."""
    if len(text) <= WINDOW_MAX:
        return text, start, end
    bounds = [0] + [m.end() for m in re.finditer(r"[，,；;：:]", text)] + [len(text)]
    bounds = sorted(set(bounds))
    lo = max(b for b in bounds if b <= start)
    hi = min(b for b in bounds if b >= end)
    while True:
        grown = False
        before = [b for b in bounds if b < lo]
        after = [b for b in bounds if b > hi]
        if before and hi - before[-1] <= WINDOW_MAX:
            lo, grown = before[-1], True
        if after and after[0] - lo <= WINDOW_MAX:
            hi, grown = after[0], True
        if not grown:
            break
    piece = text[lo:hi]
    return piece, start - lo, end - lo


def _ellipsis(shown: str, piece: str, full: str) -> str:
    """`shown` (the piece with its blank) marked with …… where the sentence goes on beyond the piece."""
    out = shown
    if not full.startswith(piece):
        out = "……" + out
    if not full.endswith(piece):
        out = out.rstrip("，,；;：:") + "……"
    return out


def _explanation(section_label: str, sentence: str) -> str:
    text = f"{section_label}：{sentence}"
    return text if len(text) <= EXPLANATION_MAX else text[: EXPLANATION_MAX - 1] + "…"


class QuizBuilder:
    """Builds the bank for one speech."""

    def __init__(
        self,
        speech: Speech,
        cut: Callable[[str], list[str]],
        terms: list[str],
        is_word: Callable[[str], bool] = lambda w: True,
    ):
        self.speech = speech
        self.cut = cut
        self.is_word = is_word
        self.full = "\n".join(s.text for s in speech.sections)
        self.terms = terms
        self.labels = {s.id: s.label for s in speech.sections}
        self.questions: dict[str, Question] = {}
        self._blanks: set[tuple[str, str, str]] = set()
        self._order: dict[str, tuple[int, int]] = {}
        self._position = {id(s): i for i, s in enumerate(speech.all_sentences())}
        from content.terms import title_phrase

        self.title_phrases = {title_phrase(s.title) for s in speech.sections if s.kind == "numbered"}

    def fits(self, left: str, option: str, right: str) -> bool:
        """Whether the option written into the blank gives text found in the speech."""
        return (left[-CONTEXT:] + option + right[:CONTEXT]) in self.full

    def build(self) -> list[Question]:
        """All questions, in reading order of their sources."""
        from content.terms import enumerations

        for sentence in self.speech.all_sentences():
            if len(sentence.text) < 12:
                continue
            self._quoted_cloze(sentence)
            for items in enumerations(sentence.text, self.cut):
                self._enumeration_cloze(sentence, items)
                self._sequence(sentence, items)
            self._section_question(sentence)
        self._top_up()
        return sorted(self.questions.values(), key=lambda q: self._order[q.id])

    # -- helpers -----------------------------------------------------------------------------------
    def _add(self, kind: str, sentence: Sentence, question: str, answer: str, distractors: list[str]) -> None:
        key = _digest(kind, sentence.section_id, sentence.text, answer)
        qid = f"{kind[0]}{key[:9]}"
        if qid in self.questions or len(distractors) < 3:
            return
        options, index = _place([answer, *distractors[:3]], answer, key)
        if len(question) > QUESTION_MAX or any(not 1 <= len(o) <= OPTION_MAX for o in options):
            return
        if len(set(options)) != len(options):
            return
        explanation = _explanation(self.labels[sentence.section_id], sentence.text)
        self.questions[qid] = Question(
            qid, kind, sentence.section_id, question, options, index, sentence.text, explanation
        )
        self._order[qid] = (self._position[id(sentence)], len(self._order))

    def _distractors(self, answer: str, pool: list[str], left: str, right: str, shown: str) -> list[str]:
        """Options of similar length that are not the answer, not shown, and do not fit the blank."""
        seen: set[str] = set()
        out: list[str] = []
        # Stable sort: among equal lengths the caller's order (nearest in wording first) stands.
        ranked = sorted(pool, key=lambda p: abs(len(p) - len(answer)))
        for cand in ranked:
            if cand in seen or cand == answer or cand in shown or answer in cand or cand in answer:
                continue
            seen.add(cand)
            if abs(len(cand) - len(answer)) > max(2, len(answer) // 2) or self.fits(left, cand, right):
                continue
            out.append(cand)
            if len(out) == 3:
                break
        return out

    def _cloze(self, sentence: Sentence, start: int, end: int, pool: list[str], kind: str = "cloze") -> None:
        text = sentence.text
        answer = text[start:end]
        piece, s, e = _window(text, start, end)
        left, right = text[:start], text[end:]
        shown = piece[:s] + piece[e:]
        distractors = self._distractors(answer, pool, left, right, shown)
        # The same blank in the same words (the speech repeats some passages) is one question, not two.
        keys = {(answer, "<", text[max(0, start - 10) : start]), (answer, ">", text[end : end + 10])}
        if keys & self._blanks:
            return
        self._blanks |= keys
        question = "填空：" + _ellipsis(piece[:s] + BLANK + piece[e:], piece, text)
        self._add(kind, sentence, question, answer, distractors)

    # -- kinds -------------------------------------------------------------------------------------
    def _quoted_cloze(self, sentence: Sentence) -> None:
        """Blank a quoted term; distractors are other quoted terms of the same shape."""
        for match in re.finditer(r"“([^“”]{2,20})”", sentence.text):
            term = match.group(1)
            pool = [t for t in self.terms if _same_shape(t, term)]
            if _shape(term) != "plain":
                pool += [t for t in NUMBERED_TERMS if len(t) == len(term) and _same_shape(t, term)]
            pool.sort(key=lambda t: _digest(term, t))
            self._cloze(sentence, match.start(1), match.end(1), pool)

    def _enumeration_cloze(self, sentence: Sentence, items: list[str]) -> None:
        """Blank one item of a list; distractors are items of other lists of the same length."""
        # The middle item: its neighbours on both sides give the reader something to go on.
        item = items[len(items) // 2]
        start = _find_item(sentence.text, items, len(items) // 2)
        if start < 0:
            return
        self._cloze(sentence, start, start + len(item), self._item_pool(items, item))

    def _item_pool(self, items: list[str], answer: str) -> list[str]:
        """Items of other lists and plain quoted terms of the answer's length, nearest in wording first."""
        others = [it for other in self._all_lists() if other != items for it in other]
        others += [t for t in self.terms if _shape(t) == "plain"]
        chars = set("".join(items))
        same = [o for o in dict.fromkeys(others) if len(o) == len(answer)]
        return sorted(same, key=lambda o: (-len(chars & set(o)), _digest(answer, o)))

    def _sequence(self, sentence: Sentence, items: list[str]) -> None:
        """What comes next in a list: show the first items, ask for the following one."""
        if len(items) < 3:
            return
        shown_n = len(items) - 2 if len(items) >= 4 else 2
        answer = items[shown_n]
        prefix = "、".join(items[:shown_n]).replace("“", "‘").replace("”", "’")
        question = f"讲话中“{prefix}”之后，紧接着的一项是？"
        if set(items) <= self.title_phrases:
            return  # the list of the parts: the speech names them in another order than it treats them
        pool = items[shown_n + 1 :] + self._item_pool(items, answer)
        last = items[shown_n - 1]
        distractors = [
            p
            for p in dict.fromkeys(pool)
            if p != answer and p not in items[:shown_n] and f"{last}、{p}" not in self.full
        ][:3]
        self._add("sequence", sentence, question, answer, distractors)

    def _section_question(self, sentence: Sentence) -> None:
        """Which part says this; only for sentences found in exactly one numbered part."""
        numbered = [s for s in self.speech.sections if s.kind == "numbered"]
        section = next((s for s in numbered if s.id == sentence.section_id), None)
        if section is None or len(numbered) < 4 or sentence.index == 1 or len(sentence.text) < 16:
            return
        body = sentence.text.rstrip("。！？；")
        if len(body) > SNIPPET_MAX:
            # The opening clauses, up to SNIPPET_MAX characters: enough to recognise the passage.
            clauses = re.split(r"(?<=[，；])", body)
            body = ""
            for clause in clauses:
                if len(body) + len(clause) > SNIPPET_MAX:
                    break
                body += clause
            body = body.rstrip("，；")
            if len(body) < 16:
                return
            body += "……"
        if sum(body.rstrip("…") in s.text for s in self.speech.sections) != 1:
            return
        from content.terms import title_phrase

        if any(title_phrase(s.title) in sentence.text for s in numbered):
            return  # the sentence names a part's theme: too easy, or misleading
        label = lambda s: f"{s.label} · {s.title}"  # noqa: E731
        others = sorted((s for s in numbered if s is not section), key=lambda s: _digest(sentence.text, s.id))
        # Quotation marks inside the quoted passage become single ones, as Chinese typesetting nests them.
        question = f"“{body.replace('“', '‘').replace('”', '’')}”出自讲话的哪一部分？"
        self._add("section", sentence, question, label(section), [label(s) for s in others])

    def _top_up(self) -> None:
        """Key-phrase clozes for parts with too few questions (short speeches).

        Distractors here share no character with the answer: a near-synonym (广大干部 for 组工干部) could
        also be true of the sentence, which no check against the text can rule out.
        """
        from content.terms import STOPWORDS

        words = [
            w
            for s in self.speech.all_sentences()
            for w in self.cut(s.text)
            if 3 <= len(w) <= 6
            and _HAN_ONLY.fullmatch(w)
            and w not in STOPWORDS
            and self.is_word(w)
            and "习近平" not in w
        ]
        pool = list(dict.fromkeys(words))
        for section in self.speech.sections:
            wanted = MIN_PER_SECTION if section.kind == "numbered" else MIN_PER_SECTION - 2
            for sentence in section.sentences:
                if _is_heading(sentence, section):
                    continue
                if sum(q.section_id == section.id for q in self.questions.values()) >= wanted:
                    break
                for word in dict.fromkeys(w for w in self.cut(sentence.text) if w in pool):
                    start = sentence.text.find(word)
                    if start >= 0 and sentence.text.count(word) == 1:
                        ranked = sorted(
                            (o for o in pool if not set(o) & set(word) and _same_shape(o, word)),
                            key=lambda o: _digest(word, o),
                        )
                        self._cloze(sentence, start, start + len(word), ranked)

    def _all_lists(self) -> list[list[str]]:
        if not hasattr(self, "_lists"):
            from content.terms import enumerations

            self._lists = [
                items for s in self.speech.all_sentences() for items in enumerations(s.text, self.cut)
            ]
        return self._lists


_HAN_ONLY = re.compile(r"[\u4e00-\u9fff]+")
_COUNTED = re.compile(r"[一二两三四五六七八九十]个.+")  # 四个意识
_NUMBERED = re.compile(r"[一二两三四五六七八九十].+")  # 三会一课, 一人一策


def _shape(term: str) -> str:
    if "、" in term or "，" in term:
        return "list"
    if _COUNTED.fullmatch(term):
        return "counted"
    return "numbered" if _NUMBERED.fullmatch(term) and len(term) <= 5 else "plain"


def _is_heading(sentence: Sentence, section) -> bool:
    """The heading line of a numbered part (一、…): its words are the part's title, not a quiz."""
    return (
        sentence.index == 1 and section.kind == "numbered" and not sentence.text.endswith(("。", "！", "？"))
    )


def _same_shape(a: str, b: str) -> bool:
    """Terms of one kind (lists, 四个意识, 三会一课, plain phrases) and of similar length."""
    return _shape(a) == _shape(b) and abs(len(a) - len(b)) <= 2


def _find_item(text: str, items: list[str], k: int) -> int:
    """Offset of the k-th item of a list in the sentence, or -1."""
    pos = 0
    for i, item in enumerate(items):
        found = text.find(item, pos)
        if found < 0:
            return -1
        if i == k:
            return found
        pos = found + len(item)
    return -1
