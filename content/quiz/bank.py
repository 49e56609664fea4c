"""The quiz bank: fewer and better questions, each one an editor would print.

Candidates of four kinds are made from the speech's body sentences (never a heading, a salutation or a
procedural sentence): a cloze on a quoted 提法, on one item of an enumeration or on a key phrase; a
what-comes-next on an enumeration; 不包括哪一项 on an enumeration or on a
paragraph's points (一是…二是…); a which-part on a stretch that stands in one part only. Each is scored
(提法 and requirements above trivia, distractors that fit the slot above ones that merely match in length)
and the bank is chosen from the best under the rules of EDITOR.md: one question per sentence and per
enumeration, no answer visible in another question or in the part titles a which-part question shows, every
lesson and every part asked about, which-part questions at most a third, about one question per 110
characters; no wrong option that another question's stem shows in its place. A candidate whose blank would
cut a number or a fixed term, or that has not three distractors of the answer's own shape and field, or whose
answer is the odd one out among its options, is dropped rather than padded.
"""

from __future__ import annotations

import math
from collections import Counter

from content.points import point_lists
from content.quiz.lists import ListQuestions
from content.quiz.question import CHARS_PER_QUESTION, MIN_SCORE, Candidate, Question, stable_digest
from content.quiz.selection import Selection
from content.quiz.shapes import explanation_of, pattern_of, sentence_key, trivia_weight

# Lists everyone knows by heart: a question on them tests nothing of the speech.
KNOWN_SETS = [
    {"世界观", "人生观", "价值观"},
    {"德", "智", "体", "美", "劳"},
    {"经济建设", "政治建设", "文化建设", "社会建设", "生态文明建设"},
    {"富强", "民主", "文明", "和谐"},
]


class QuizBuilder(ListQuestions):
    """Builds the bank for one speech."""

    # -- candidates ----------------------------------------------------------------------------------
    def candidates(self) -> list[Candidate]:
        out: list[Candidate] = []
        for sentence in self.body:
            out += self._quoted(sentence)
            for items in self.lists[(sentence.section_id, sentence.index)]:
                if self._names(items):
                    continue  # a list of places or names: no blank on a name
                if trivia_weight(items):
                    continue  # a list of facilities is not what a study group should memorise
                if set(items) in KNOWN_SETS:
                    continue  # 世界观、人生观、价值观: answered without the speech
                out += self._enumeration(sentence, items)
                out += self._sequence(sentence, items)
                out += self._exclusion(sentence, items)
            out += self._key_phrases(sentence)
            out += self._field_terms_in(sentence)
            out += self._section(sentence)
        out += self._point_exclusions()
        # A paragraph's points (一是…“铸魂工程”…；二是…“塑形工程”…) are one enumeration: one question on them,
        # or the second shows the first's sibling.
        member = {
            sentence_key(x): f"points:{k}"
            for k, points in enumerate(point_lists(self.speech.all_sentences()))
            for x in points.sentences
        }
        for c in out:
            if sentence_key(c.sentence) in member:
                c.units.add(member[sentence_key(c.sentence)])
        return out

    def _names(self, items: list[str]) -> bool:
        """A list of places or names: most items tagged so, and no shared character but a place's (省, 县).
        jieba's tag alone is no proof: it tags 幸福感 and 安全感 as names."""
        if sum(self.tags.get(i, "")[:2] in {"ns", "nr", "nt"} for i in items) * 2 < len(items):
            return False
        fixed = {ch for _, ch in pattern_of(items)[1]}
        return not fixed or bool(fixed & set("省市县区镇乡村州"))

    # -- the bank --------------------------------------------------------------------------------------
    def build(self, lessons=None, prompts: dict[int, str] | None = None) -> list[Question]:
        """The bank, in reading order of the sources.

        `prompts` are the lessons' 思考题 by day. A lesson's 🧠 button leaves out a question whose answer its
        prompt names (`ContentModel.lesson_questions`), so such a question ranks below the others of its
        sentence and score, and stays in the bank for /quiz."""
        prompts = prompts or {}
        if not hasattr(self, "_candidates"):
            self._candidates = self.candidates()

        def named(c) -> bool:
            prompt = prompts.get(self.days.get(sentence_key(c.sentence)), "")
            return c.kind != "section" and any(term in prompt for term in c.answer_terms)

        pool = sorted(
            self._candidates,
            key=lambda c: (-c.score + named(c), self._position[sentence_key(c.sentence)], c.kind),
        )
        pool = [c for c in pool if c.score >= MIN_SCORE]
        body_chars = sum(len(s.text) for s in self.body)
        target = max(4, round(body_chars / CHARS_PER_QUESTION))
        numbered = [s for s in self.speech.sections if s.kind == "numbered"]
        bank = Selection(
            self.days,
            self.generic,
            " ".join(self.option_name(s) for s in self._places()),
            section_cap=math.ceil(target / 3 / max(1, len(numbered))) + 1,
        )
        self.refused = bank.refused

        # Every lesson, then every part, gets its best question first: of the other kinds in a first round,
        # a which-part question only where none fits, in a second (one taken first would keep out a cloze
        # its quote shows the answer of, and may itself be dropped to keep which-part within a third);
        # then the best of the rest; then which-part questions, up to a third.
        groups: list[set[tuple[str, int]]] = []
        if lessons:
            groups += [{(s.section_id, s.index) for s in lesson.sentences} for lesson in lessons]
        groups += [{(s.section_id, s.index) for s in section.sentences} for section in self.speech.sections]
        for sections_too in (False, True):
            for group in groups:
                if any(sentence_key(c.sentence) in group for c in bank.chosen):
                    continue
                for c in (c for c in pool if sentence_key(c.sentence) in group):
                    if (c.kind == "section") != sections_too:
                        continue
                    if c.kind == "section" and bank.per_part_sections[c.sentence.section_id]:
                        continue  # a part's second which-part question waits until every part has one
                    if bank.ok(c):
                        bank.take(c)
                        break
        share = {s.id: len([x for x in self.body if x.section_id == s.id]) for s in self.speech.sections}
        total = sum(share.values()) or 1

        def fill() -> None:
            per_section = Counter(c.sentence.section_id for c in bank.chosen)
            for which in ("other", "section", "section again"):
                for c in pool:
                    if len(bank.chosen) >= target:
                        break
                    if (c.kind == "section") != which.startswith("section") or c in bank.chosen:
                        continue
                    # Which-part questions go round the parts: a second on one part only after every part
                    # that has a candidate got its first.
                    if which == "section" and bank.per_part_sections[c.sentence.section_id]:
                        continue
                    if c.kind == "section" and (bank.sections() + 1) * 3 > len(bank.chosen) + 1:
                        continue
                    sid = c.sentence.section_id
                    cap = math.ceil(target * share.get(sid, 0) / total * 1.5) + 1
                    if per_section[sid] < cap and bank.ok(c):
                        bank.take(c)
                        per_section[sid] += 1

        fill()

        # Which lessons and parts rely on a question (the last kept of theirs).
        lesson_groups = groups[: len(lessons)] if lessons else []
        part_groups = groups[len(lessons) :] if lessons else groups

        def needed(c: Candidate, among: list[set[tuple[str, int]]]) -> bool:
            return any(
                sentence_key(c.sentence) in g and sum(sentence_key(x.sentence) in g for x in bank.chosen) == 1
                for g in among
            )

        def drop_sections() -> bool:
            """At most a third: the weakest which-part questions out; whether any went."""
            dropped = False
            while bank.sections() * 3 > len(bank.chosen):
                sections = [x for x in bank.chosen if x.kind == "section"]
                twice = Counter(x.sentence.section_id for x in sections)
                # A part's second which-part question goes first, then one no part needs (a part with no other
                # question keeps it before a lesson does), then one no lesson needs, then the weakest.
                extra = sorted(
                    sections,
                    key=lambda x: (
                        twice[x.sentence.section_id] == 1,
                        needed(x, part_groups),
                        needed(x, lesson_groups),
                        x.score,
                    ),
                )
                bank.drop(extra[0])
                dropped = True
            return dropped

        # What the dropped which-part questions kept out (a cloze whose answer one quoted) may come in
        # now: fill again, and drop again, until nothing changes (twice at most in practice).
        for _round in range(3):
            if not drop_sections():
                break
            fill()
        else:
            drop_sections()
        chosen = list(bank.chosen)
        chosen.sort(key=lambda c: (self._position[sentence_key(c.sentence)], c.kind))
        # The right answer's letter is spread evenly over the bank: each question takes the letter used least
        # so far (ties by the question's own digest), so no letter gives the answer away.
        used: Counter[int] = Counter()
        out = []
        for c in chosen:
            n = 1 + len(c.distractors[:3])
            key = stable_digest(c.kind, c.sentence.section_id, c.sentence.text, c.answer)
            index = min(range(n), key=lambda i: (used[i], stable_digest(key, str(i))))
            used[index] += 1
            out.append(self._question(c, index))
        return out

    def _question(self, c: Candidate, index: int) -> Question:
        key = stable_digest(c.kind, c.sentence.section_id, c.sentence.text, c.answer)
        wrong = sorted(c.distractors[:3], key=lambda o: stable_digest(key, o))
        options = tuple(wrong[:index] + [c.answer] + wrong[index:])
        return Question(
            f"{c.kind[0]}{key[:9]}",
            c.kind,
            c.sentence.section_id,
            c.question,
            options,
            index,
            c.sentence.text,
            explanation_of(self.labels[c.sentence.section_id], c.explanation or c.sentence.text),
            self.days.get(sentence_key(c.sentence)),
        )
