"""A paragraph's points (一是…，二是…，三是…): the list a speech makes of its measures, problems or reasons,
one point a clause or a sentence. Each point is the clause its ordinal opens (一是抓好工业源治理，… → 抓好工业源
治理); the lead is what announces them (重点抓好三个方面。 / 原因主要有三：).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from content.speech import Sentence

ORDINALS = "一二三四五六七八九"

# An ordinal at the start of a sentence or after a clause's end (统一是… is no ordinal).
ORDINAL = re.compile(r"(?:^|(?<=[。；，：！？]))\s*([一二三四五六七八九])是")

# Points that are faults or their causes, not measures: a fake from a list of the other kind would stand out.
PROBLEM = re.compile(
    r"问题|差距|短板|不足|原因|不到位|不够|不强|不优|不实|现象|弱项|隐患|薄弱|困难|存在|依然|偏重|突出|单一"
)
PROBLEM_LEAD = re.compile(r"(?:问题|差距|短板|不足|原因|不到位|情况|困难|弱项)[^，；]{0,10}$|原因主要有|存在")
# A clause that says someone's fault: 有的乡镇满足于开会发文, 一些河湖长履职不到位.
FAULT_CLAUSE = re.compile(
    r"^(?:有的|一些|少数|部分)[^，；]*(?:不|没有|未|难|弱|满足于|当成|习惯于|热衷于|轻)"
)
RESULT = re.compile(r"更加|明显|显著|持续提升|大幅|稳步|全面完成|实现")
RESULT_LEAD = re.compile(r"(?:成效|成绩|成果|进展|变化|提升)[^，；]{0,6}$")
# A point that opens with a measure's verb is a measure, whatever its lead says (防止…的现象。一是推行…).
MEASURE_VERBS = frozenset(
    "推行 抓好 强化 加强 推进 建立 健全 完善 深化 坚持 落实 实施 聚焦 加快 严格 用好 做优 营造 推广 盘活 改革 "
    "大兴 弘扬 深入 持续 加大 紧盯 优化 构建 打造 培育 探索 统筹".split()
)
MEASURE = re.compile(r"^(?:" + "|".join(sorted(MEASURE_VERBS)) + r"|精准|坚决|常态化|把|读|重|善|守)")

POINT_MIN, POINT_MAX = 3, 24


@dataclass(frozen=True)
class Points:
    """One list of points: the sentences that hold it, its lead and its points in order."""

    sentences: tuple[Sentence, ...]
    lead: str
    points: tuple[str, ...]

    @property
    def kind(self) -> str:
        """fault, result (成效 a year brought) or measure: a wrong point is of its list's kind."""
        if self.problems:
            return "fault"
        results = sum(bool(RESULT.search(p)) for p in self.points)
        if RESULT_LEAD.search(self.lead) or results * 2 > len(self.points):
            return "result"
        return "measure"

    @property
    def problems(self) -> bool:
        """A list of faults or their causes rather than of measures."""
        if sum(bool(MEASURE.match(p)) for p in self.points) * 2 > len(self.points):
            return False
        faults = sum(bool(PROBLEM.search(p)) or p.startswith(("有的", "部分", "少数")) for p in self.points)
        return bool(PROBLEM_LEAD.search(self.lead)) or faults * 2 > len(self.points)


def _point(text: str) -> str:
    """The clause an ordinal opens, without the 要 of a requirement (要读原著、学原理 → 读原著、学原理; 要素保障
    keeps its 要)."""
    m = re.match(r"[^，；。：！？]*", text)
    clause = m.group(0) if m else ""
    if clause.count("“") > clause.count("”"):
        close = text.find("”", len(clause))
        if close < 0:
            return ""
        rest = re.match(r"[^，；。：！？]*", text[close + 1 :])
        clause = text[: close + 1] + (rest.group(0) if rest else "")
    if clause.startswith("要") and not re.match(r"要(?:素|求|害|点|件|务|员|案|闻|塞|职)", clause):
        clause = clause[1:]
    return clause.strip()


def point_lists(sentences: list[Sentence], least: int = 3) -> list[Points]:
    """The lists of points in a speech: runs of 一是, 二是, 三是… in order within one paragraph, `least` or
    more, each point a clause of 4–24 characters (a list with a point longer is no set of options)."""
    by_paragraph: dict[tuple[str, int], list[Sentence]] = {}
    for s in sentences:
        if s.role == "body":
            by_paragraph.setdefault((s.section_id, s.paragraph), []).append(s)
    out = []
    for group in by_paragraph.values():
        found: list[tuple[int, Sentence, int]] = []  # (ordinal, sentence, offset after 是)
        for s in group:
            for m in ORDINAL.finditer(s.text):
                found.append((ORDINALS.index(m.group(1)) + 1, s, m.end()))
        run: list[tuple[int, Sentence, int]] = []
        for item in found + [(0, None, 0)]:
            if run and item[0] == run[-1][0] + 1:
                run.append(item)
                continue
            if len(run) >= least:
                points = [_point(s.text[at:]) for _, s, at in run]
                if all(POINT_MIN <= len(p) <= POINT_MAX for p in points) and len(set(points)) == len(points):
                    first, start = run[0][1], run[0][2] - 2
                    lead = first.text[:start].rstrip("，：；　 ")
                    k = group.index(first)
                    if len(lead) < 6:
                        lead = group[k - 1].text.rstrip("。：；！") if k else ""
                        k -= 1
                    # The paragraph's topic sentence says what the points are of where the sentence before
                    # them only sets the scene (交通运输领域要…。全市现有营运客车…3.6万辆，道路安全压力很大。一是…).
                    if k > 0 and len(group[0].text) <= 40 and not ORDINAL.search(group[0].text):
                        lead = group[0].text
                    holders = tuple(dict.fromkeys(s for _, s, _ in run))
                    out.append(Points(holders, lead.rstrip("。：；！"), tuple(points)))
            run = [item] if item[0] == 1 else []
    return out + _bullet_lists(sentences, least)


def _bullet_lists(sentences: list[Sentence], least: int) -> list[Points]:
    """Runs of ——bullets (——到基层一线去。…——到发展一线去。…), each point the clause after its dash, the lead
    the sentence before the first (要突出三个方向：)."""
    out = []
    body = [s for s in sentences if s.role == "body"]
    k = 0
    while k < len(body):
        if not body[k].text.startswith("——"):
            k += 1
            continue
        run = [body[k]]
        j = k + 1
        while j < len(body) and body[j].section_id == run[0].section_id:
            if body[j].text.startswith("——"):
                run.append(body[j])
            elif body[j].paragraph != run[-1].paragraph:
                break  # a bullet's paragraph may run on after its point; a paragraph without one ends them
            j += 1
        points = [_point(s.text[2:]) for s in run]
        before = body[k - 1] if k and body[k - 1].section_id == run[0].section_id else None
        if (
            len(run) >= least
            and before is not None
            and all(POINT_MIN <= len(p) <= POINT_MAX for p in points)
            and len(set(points)) == len(points)
        ):
            out.append(Points(tuple(run), before.text.rstrip("。：；！"), tuple(points)))
        k = j
    return out
