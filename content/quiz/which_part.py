"""Which-part candidates: a stretch of a sentence found in one part only, asked as 出自讲话的哪一部分."""

from __future__ import annotations

import re

from content.quiz.clozes import CEREMONY, RUN_IN_LEAD, Clozes
from content.quiz.question import Candidate, stable_digest
from content.quiz.shapes import (
    CONTEXTUAL,
    HAN_ONLY,
    REQUIRE,
    echoes_heading,
    reports_figures,
    sentence_unit,
    snippet_of,
)
from content.speech import Section, Sentence


class WhichPart(Clozes):
    """Which-part candidates: a stretch of a sentence found in one part only, asked as 出自讲话的哪一部分."""

    def _places(self) -> list[Section]:
        """The options of a which-part question: the parts, and 开篇 and 结语 when there are few parts."""
        numbered = [s for s in self.speech.sections if s.kind == "numbered"]
        if len(numbered) >= 4:
            return numbered
        return [
            s
            for s in self.speech.sections
            if s.kind == "numbered" or any(x.role == "body" for x in s.sentences)
        ]

    def option_name(self, section: Section) -> str:
        """How a which-part question names a part: 第三部分 · 扎实做好育才聚才; a part with no title (parts
        divided by 同志们！) by its opening words, 第二部分（抓好社区治理，关键在党……）, or 第二部分 says nothing."""
        if section.kind != "numbered" or section.title:
            return section.name
        first = next((x.text for x in section.sentences if x.role == "body"), "")
        opening = ""
        for clause in re.split(r"(?<=[，；：。！？])", first):
            if opening and len(opening) + len(clause) > 16:
                break
            opening += clause
        opening = opening.rstrip("，；：。！？")[:16]
        return f"{section.label}（{opening}……）" if opening else section.label

    def _title_pieces(self, section: Section) -> list[str]:
        """The four-character pieces of Chinese of a part's titles and headings, quotes taken out (once
        per part)."""
        if not hasattr(self, "_pieces_of_titles"):
            self._pieces_of_titles: dict[str, list[str]] = {}
        if section.id not in self._pieces_of_titles:
            own_titles = [t for x in (section, *section.subsections) for t in (x.title, x.heading or "") if t]
            self._pieces_of_titles[section.id] = [
                t[i : i + 4]
                for t in (re.sub(r"[“”‘’]", "", x) for x in own_titles)
                for i in range(len(t) - 3)
                if HAN_ONLY.fullmatch(t[i : i + 4])
            ]
        return self._pieces_of_titles[section.id]

    def _section(self, sentence: Sentence) -> list[Candidate]:
        """Which part says this: a stretch found in no other part, that does not repeat a heading."""
        places = self._places()
        section = next((s for s in places if s.id == sentence.section_id), None)
        if section is None or len(places) < 3:
            return []
        if re.match(r"^(?:同志们|同学们|老师们|各位|最后|总之|让我们)", sentence.text):
            return []  # a quote that opens with 同志们， or 最后， says it is the closing
        if (
            CEREMONY.match(sentence.text)
            or re.search(r"召开|会前|本次会议|这次会议|高度重视", sentence.text[:30])
            or re.search(
                r"我都同意|我完全同意|作了(?:交流)?发言|讲得都很|通报了[^，。]{0,20}情况", sentence.text
            )
        ):
            return []  # the meeting's own business says it is the opening: a giveaway
        if reports_figures(sentence.text):
            return []  # a sentence of figures (研发经费投入达到142.6亿元): trivia, whatever part it is in
        lead = RUN_IN_LEAD.match(sentence.text)
        snippet = snippet_of(sentence.text[lead.end() :] if lead else sentence.text)  # not 在科技赋能上，…
        if snippet is None:
            return []
        core = snippet.rstrip("…")
        if sum(core in s.text for s in self.speech.sections) != 1:
            return []
        # Never a stretch that repeats a heading or names a part's theme: it answers itself or misleads.
        if any(echoes_heading(heading, core) for heading in self.headings) or any(
            p in sentence.text for p in self.title_phrases if len(p) >= 2
        ):
            return []
        if len(sentence.text) < 40 and re.search(
            r"我(?:再|还|想)?(?:要|想)?[^。！？]{0,16}(?:提出|提|讲|谈|强调|说)[^。！？]{0,8}(?:要求|意见|看法|体会|几点|几句)",
            sentence.text,
        ):
            return []  # the speaker announcing what comes (我还要对近期几项具体工作提出要求。): any part
        if re.search(
            r"(?:[一二两三四五六七八九十几]个?方面|以下几点|如下几点)[^，。]{0,4}[。：:]?$", sentence.text
        ):
            return []  # a sentence that counts what follows (差距主要体现在四个方面。): any part could say it
        if sentence.text.rstrip().endswith(("：", ":")):
            return []  # a sentence that only announces what follows (具体来讲，要突出三个方向：)
        if CONTEXTUAL.match(sentence.text):
            return []  # it points back (这些问题…) or is a formula any part could say (今天，我们召开…)
        if re.match(r"^(?:[一二三四五六七八九十]是|要|必须)", sentence.text) and len(sentence.text) < 24:
            return []  # a lead line that heads its passage (要落实党政同责、一岗双责。)
        # Four characters of the part's own headings in the quote (政治监督 under 坚守政治监督定位) answer it.
        bare = re.sub(r"[“”‘’]", "", sentence.text)
        if any(piece in bare for piece in self._title_pieces(section)):
            return []  # the sentence, not only the stretch quoted: 全面提高党员队伍素质 under 抓实做好队伍建设
        own = {w for w in self.cut(section.title) if len(w) >= 2 and w not in self.generic}
        # and any two characters of those (河湖长 of 河湖长制)
        own |= {w[i : i + 2] for w in list(own) if len(w) > 2 for i in range(len(w) - 1)} - self.generic
        # and the heading's own terms (思想建党 of 突出思想建党、理论强党): a quote that says them echoes it
        own |= {w for w in self.cut(section.heading or "") if len(w) >= 4 and w not in self.generic}
        if any(w in core for w in own):
            return []  # the quote says a word of the right option's title: it answers itself
        label = self.option_name
        if not section.title and section.kind == "numbered":
            first = next((x for x in section.sentences if x.role == "body"), None)
            if first is sentence or core[:8] in label(section):
                return []  # the option names the part by this very sentence
        others = sorted(
            (s for s in places if s is not section), key=lambda s: stable_digest(sentence.text, s.id)
        )[:3]
        question = f"“{snippet.replace('“', '‘').replace('”', '’')}”出自讲话的哪一部分？"
        score = 4.0 + 0.5 * bool(REQUIRE.search(core))
        return [
            Candidate(
                "section",
                sentence,
                question,
                label(section),
                [label(s) for s in others],
                score,
                {sentence_unit(sentence)},
                (),
            )
        ]
