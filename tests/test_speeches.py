"""The content engine on speeches nobody wrote it for: every rule of EDITOR.md, checked on every speech.

`tests/data/speeches/` holds test speeches of the structures real 讲话稿 use (front matter, 第一部分 /
第一个问题 / 一、 / unnumbered / 关于… headings, run-in lead sentences, 同志们！ dividers, a one-line paste,
closings), each with the outline a reader expects (`NAME.json`). The outline is checked per speech; the
rules on lessons, prompts and questions are invariants checked on all of them and on the bundled speech.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from content import ContentError, build_model, bundled_text, read_text, terms
from content.lessons import HARD_MAX_CHARS, MIN_CHARS, READ_ROLES
from content.lexicon import field_terms, fields, fields_holding
from content.points import point_lists
from content.prompts import FORM_NAMES, GENERIC, kind_of
from content.prompts.kinds import COMMON_FORMULAS
from content.prompts.phrases import (
    BOTH_SAYINGS,
    COUNTED_LABEL,
    FAULTS_CRITICISED,
    HABIT,
    LEADING_VERB,
    MEETING_PURPOSE,
    MORE_THAN,
    PARALLEL_STEP,
    SAID_AGAIN,
    SAID_ATTITUDES,
    TOLD_FAULTS,
    VAGUE_END,
    parallel_leads,
    points_phrase,
    requirement_of,
)
from content.quiz import BLANK, EXPLANATION_MAX, OPTION_MAX, QUESTION_MAX, pattern_of
from content.quiz.clozes import CEREMONY, PROHIBITION, odd_one_out
from content.quiz.shapes import prefix_class, reports_figures, skeleton, variable_part
from content.terms import enumerations
from content.textfile import NotTextError, decode_text

DATA = Path(__file__).parent / "data"
SPEECH_DIR = DATA / "speeches"
OUTLINES = sorted(SPEECH_DIR.glob("*.json"))
NAMES = ["seed", *(p.stem for p in OUTLINES)]


@cache
def model_of(name: str):
    if name == "seed":
        return build_model(bundled_text())
    return build_model(read_text(SPEECH_DIR / f"{name}.txt"))


@pytest.fixture(params=NAMES)
def speech(request):
    return model_of(request.param)


def _squash(text: str) -> str:
    return re.sub(r"[\s\ufeff]", "", text)


# -- outline ------------------------------------------------------------------------------------------


def test_there_are_enough_test_speeches():
    assert len(OUTLINES) >= 10
    for path in OUTLINES:
        text = read_text(path.with_suffix(".txt"))
        assert 3000 <= len(text) <= 8000, path.name


@pytest.mark.parametrize("path", OUTLINES, ids=lambda p: p.stem)
def test_outline(path):
    expected = json.loads(path.read_text("utf-8"))
    m = model_of(path.stem)
    for key in ("title", "subtitle", "date", "speaker"):
        assert getattr(m.speech, key) == expected[key], key
    got = m.sections
    assert [(s.kind, s.number) for s in got] == [(e["kind"], e.get("number")) for e in expected["sections"]]
    for section, want in zip(got, expected["sections"], strict=True):
        assert _squash(section.text).startswith(_squash(want["begins"])), (section.id, section.text[:20])
        if "then" in want:
            assert want["then"] in section.text[:60]
        if section.kind != "numbered":
            continue
        if want.get("title") is None:
            assert section.heading is None
        else:
            assert (section.title, section.heading) == (want["title"], want["heading"])
        subs = want.get("subsections", [])
        assert [s.number for s in section.subsections] == [s["number"] for s in subs], section.id
        for sub, w in zip(section.subsections, subs, strict=True):
            assert (sub.title, sub.heading) == (w["title"], w["heading"])
            assert _squash(sub.text).startswith(_squash(w["begins"]))


@pytest.mark.parametrize("name", NAMES)
def test_nothing_lost_and_front_matter_apart(name):
    m = model_of(name)
    raw = bundled_text() if name == "seed" else read_text(SPEECH_DIR / f"{name}.txt")
    front = [x for x in (m.speech.title, m.speech.subtitle, m.speech.date, m.speech.speaker) if x]
    body = "".join(_squash(s.text) for s in m.sections)
    assert _squash(raw).endswith(body)
    head = _squash(raw)[: len(_squash(raw)) - len(body)]
    assert len(head) <= sum(len(_squash(f)) + 4 for f in front)  # only the front matter is left out
    lesson_text = "".join(lesson.text for lesson in m.lessons)
    for line in front:
        if len(line) >= 4:
            assert line not in m.speech_text.split("\n")
        assert line not in lesson_text or name == "seed"


@pytest.mark.parametrize("name", [p.stem for p in OUTLINES])
@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16", "utf-16-le", "crlf"])
def test_the_same_speech_in_any_encoding(name, encoding, tmp_path):
    text = read_text(SPEECH_DIR / f"{name}.txt")
    data = text.replace("\n", "\r\n").encode("utf-8") if encoding == "crlf" else text.encode(encoding)
    path = tmp_path / "speech.txt"
    path.write_bytes(data)
    assert read_text(path) == text
    assert decode_text(data) == text


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01\x02\x03" * 200, bytes(range(256)) * 8, "讲话".encode() + b"\xff\xfe\x00\x00\x9f"],
)
def test_not_text_is_one_clear_error(data, tmp_path):

    with pytest.raises(NotTextError):
        decode_text(data)
    path = tmp_path / "x.txt"
    path.write_bytes(data)
    with pytest.raises(ContentError, match="不是 UTF-8、GB18030/GBK 或 UTF-16 文本"):
        read_text(path)


def test_stray_blank_lines_and_full_width_indents_change_nothing():
    text = read_text(SPEECH_DIR / "s01-dun-subpoints.txt")
    messy = "\n\n".join("\u3000\u3000" + line + "  " for line in text.split("\n"))
    assert build_model(messy).to_dict() == model_of("s01-dun-subpoints").to_dict()


def test_json_export_keeps_the_old_fields_and_adds_new_ones():
    d = model_of("s01-dun-subpoints").to_dict()
    assert {"title", "sections", "lessons", "questions"} <= set(d)
    assert d["subtitle"] and d["date"] and d["speaker"]
    for section in d["sections"]:
        assert {"id", "kind", "number", "title", "text", "sentences"} <= set(section)
    assert any("heading" in s for s in d["sections"])
    assert all({"day", "section", "text", "prompt"} <= set(x) for x in d["lessons"])
    assert any("subsection" in x for x in d["lessons"])
    assert all(
        {"id", "kind", "section", "question", "options", "answer", "source"} <= set(q) for q in d["questions"]
    )


# -- lessons ------------------------------------------------------------------------------------------


def test_lessons_cover_the_readable_text_in_order(speech):
    read = [s for s in speech.speech.all_sentences() if s.role in READ_ROLES]
    assert [s for lesson in speech.lessons for s in lesson.sentences] == read
    assert [x.day for x in speech.lessons] == list(range(1, len(speech.lessons) + 1))


def test_lesson_sizes(speech):
    for lesson in speech.lessons:
        size = len(lesson.text.replace("\n", ""))
        section = speech.section(lesson.section_id)
        readable = sum(len(s.text) for s in section.sentences if s.role in READ_ROLES)
        assert size >= MIN_CHARS or readable < MIN_CHARS * 2, (lesson.day, lesson.text)
        assert size <= HARD_MAX_CHARS or len(lesson.sentences) == 1, lesson.day


def test_no_heading_inside_a_lesson(speech):
    headings = {x.heading for s in speech.sections for x in (s, *s.subsections) if x.heading}
    for lesson in speech.lessons:
        assert all(s.role in READ_ROLES for s in lesson.sentences)
        for heading in headings:
            assert heading not in lesson.text, (lesson.day, heading)
        assert not re.match(r"^(同志们|各位|亲爱的)[^，。]*[：！]$", lesson.text)


def test_a_lesson_holds_one_sub_point_and_names_it(speech):
    for lesson in speech.lessons:
        section = speech.section(lesson.section_id)
        owners = {sub.id for sub in section.subsections for s in sub.sentences if s in lesson.sentences}
        assert len(owners) <= 1, lesson.day
        if owners:
            sub = next(s for s in section.subsections if s.id in owners)
            assert lesson.subsection_id == sub.id and sub.title in lesson.place
        assert lesson.place.startswith(section.label)


def test_procedural_sentence_is_not_a_day_of_its_own(speech):
    for lesson in speech.lessons:
        assert not all(s.role == "procedural" for s in lesson.sentences), lesson.text


def test_a_run_of_bullets_stays_in_one_lesson_where_it_fits(speech):
    # ——到基层一线去。——到发展一线去。——到急难险重一线去。 are one list: never two days, if one holds them.

    lessons = speech.lessons
    for before, lesson in zip(lessons, lessons[1:], strict=False):
        if lesson.section_id != before.section_id or not lesson.sentences[0].text.startswith("——"):
            continue
        if any(s.text.startswith("——") for s in before.sentences):
            run = [s for s in before.sentences if s.text.startswith("——")]
            first = before.sentences.index(run[0])
            rest = sum(len(s.text) for s in before.sentences[first:])
            assert rest + len(lesson.text) > HARD_MAX_CHARS, (before.day, lesson.day)


# -- prompts ------------------------------------------------------------------------------------------


def test_prompts_unique_and_about_their_own_excerpt(speech):
    prompts = [x.prompt for x in speech.lessons]
    phrases = [x.phrase for x in speech.lessons]
    assert len(set(prompts)) == len(prompts)
    assert len(set(phrases)) == len(phrases)
    for lesson in speech.lessons:
        assert "？" in lesson.prompt and lesson.prompt[-1] in "？。"
        core = lesson.phrase.replace("“", "").replace("”", "")
        text = lesson.text.replace("“", "").replace("”", "")
        # (points said together: 抓好工业源治理、移动源治理、面源治理, each said in the excerpt)
        pieces = [p for piece in core.split(" / ") for p in piece.split("、")]  # (two points: A / B)
        # (steps said alike: “用人”“留才”环节, each with the head in the excerpt)
        steps = re.findall(r"“([^“”]+)”", lesson.phrase)
        head = re.sub(r"“[^“”]+”", "", lesson.phrase)
        alike = len(steps) >= 2 and head and all(f"{t}{head}" in text for t in steps)
        # (a phrase put together of the excerpt's pieces: 巡察是“政治体检”, 把“关键变量”转化为“最大增量”, 把“急、难、
        # 愁、盼”作为确定民生工程的“方向标”: each quoted term said there, and each other piece of four or more)
        quoted = re.findall(r"“([^“”]+)”", lesson.phrase)
        between = [p.removeprefix("把") for p in re.split(r"“[^“”]+”", lesson.phrase)]
        said = (
            len(quoted) >= 1
            and all(q in text for q in quoted)
            and all(p in text for p in between if len(p) >= 4)
        )
        assert core in text or core in lesson.place or all(p in text for p in pieces) or alike or said, (
            lesson.day
        )


def test_a_prompt_on_two_points_names_one_of_each_paragraph(speech):
    """A passage of two paragraphs, each its own requirement, is asked about both (…既讲“A”，又讲“B”)."""
    for lesson in speech.lessons:
        if " / " not in lesson.phrase:
            continue
        where = []
        for piece in lesson.phrase.split(" / "):
            bare = piece.replace("“", "").replace("”", "")
            where.append(
                {s.paragraph for s in lesson.sentences if bare in s.text.replace("“", "").replace("”", "")}
            )
        assert len(where) == 2 and all(len(w) == 1 for w in where) and where[0] != where[1], lesson.day
        assert all(
            p.replace("“", "").replace("”", "")[:4] in re.sub(r"[‘’“”]", "", lesson.prompt)
            for p in lesson.phrase.split(" / ")
        ), lesson.prompt


def test_prompt_phrases_are_terms_not_fragments(speech):
    tokens = speech.tokenizer
    for lesson in speech.lessons:
        phrase = lesson.phrase
        bare = phrase.strip("“”")
        assert bare not in GENERIC and len(bare) >= 2 and not bare.endswith("们"), phrase
        assert not re.search(r"[。！？；]$", phrase)
        assert not re.fullmatch(r"[\u4e00-\u9fff]{1,2}[得的了着地]", bare), phrase  # 讲得, 好的
        assert not re.fullmatch(r"[\u4e00-\u9fff]{0,3}(委|政府|人大|政协)", bare), phrase  # 县委, 区政府
        assert bare not in speech.title, phrase  # the speech's theme
        if len(bare) == 4 and VAGUE_END.search(
            bare
        ):  # …的根本标准: a head that says nothing without what it is of
            assert f"的{bare}" not in lesson.text.replace("“", "").replace("”", ""), phrase
        # Never one side of a change or a substitution (由“地上”转入“地下”, 以“表态”代替“表率”).
        if "“" not in phrase[1:-1]:
            for pair in re.finditer(
                r"(?:[从由]“[^“”]+”(?:转向|转入|走向|变成|到)|以“[^“”]+”代替)“[^“”]+”", lesson.text
            ):
                assert f"“{bare}”" not in pair.group(0), (phrase, pair.group(0))
        if "“" not in phrase and "、" not in phrase and phrase in lesson.text:
            # A phrase of the excerpt starts and ends on the speech's own word boundaries.
            for sentence in lesson.sentences:
                at = sentence.text.find(phrase)
                if at >= 0:
                    bounds = {0}
                    for piece in tokens.cut(sentence.text):
                        bounds.add(max(bounds) + len(piece))
                    # (after the modal 要 that opens a requirement: jieba joins 要强 of 要强化, 要用 of 要用好)
                    modal = at == 1 and sentence.text.startswith("要")
                    assert (at in bounds or modal) and at + len(phrase) in bounds, (phrase, sentence.text)
                    break


def test_prompt_form_fits_the_phrase(speech):
    for lesson in speech.lessons:
        assert lesson.form in FORM_NAMES.values()
        bare = lesson.phrase.rstrip("”")
        # A programme or mechanism is carried out, never checked against oneself (“对照‘堡垒工程’”).
        # (not three names of what one work is: 文明实践是一项“铸魂工程”…“塑形工程”…“民心工程”)
        if re.search(r"(工程|行动|计划|机制|制度|平台|清单|工作法)$", bare) and "”“" not in lesson.phrase:
            # 杜绝“带病工程”: a project the speech fights is a problem, not a programme to carry out.
            at = lesson.text.find(lesson.phrase.strip("“”"))
            fought = re.search(
                r"(防止|杜绝|整治|不能|反对|避免|严禁|消除|纠治|破除)[^，。；]{0,4}$", lesson.text[:at]
            )
            assert lesson.form == FORM_NAMES["problem" if fought else "programme"], lesson.prompt
        if re.search(r"(问题|现象|难题)$", bare) and "，" not in bare:
            # (a statement about faults, 这些问题看似是…，实质上是…问题, is understood, not a fault named)
            assert lesson.form == FORM_NAMES["problem"], lesson.prompt
        if re.search(r"(会议|全会|大会|讲话)精神$", bare) or kind_of(lesson.phrase) == "principle":
            assert "身边谁身上有" not in lesson.prompt and "对照" not in lesson.prompt, lesson.prompt


def test_metaphors_come_with_what_they_stand_for(speech):
    for lesson in speech.lessons:
        bare = lesson.phrase.strip("“”")
        if (
            re.fullmatch(r"[\u4e00-\u9fff]{2,3}", bare)
            and f"“{bare}”" in lesson.text
            and lesson.form == "比喻释义"
        ):
            raise AssertionError(f"metaphor without its referent: {lesson.phrase}")


# -- questions ----------------------------------------------------------------------------------------


def _answer(q):
    return q.options[q.answer]


def test_bank_size_and_spread(speech):
    # Fewer and better: never more than one question per 80 characters, and no part asked about more
    # than its share. (The target of one per 80–150 is not met yet: see README, "How the content is built".)
    body = sum(len(s.text) for s in speech.speech.all_sentences() if s.role == "body")
    n = len(speech.questions)
    assert 1 <= n <= body / 80, (n, body)
    per_part = Counter(q.section_id for q in speech.questions)
    for section in speech.sections:
        share = sum(len(s.text) for s in section.sentences if s.role == "body") / body
        assert per_part[section.id] <= max(2, round(n * share * 1.5) + 2), section.id


def test_one_question_per_sentence_and_per_enumeration(speech):
    sources = Counter(q.source for q in speech.questions)
    assert max(sources.values()) == 1, sources.most_common(1)
    answers = Counter(_answer(q) for q in speech.questions if q.kind != "section")
    assert max(answers.values(), default=1) == 1, answers.most_common(1)


def test_no_answer_visible_elsewhere(speech):
    qs = speech.questions
    sections = [q for q in qs if q.kind == "section"]
    shown_titles = " ".join(o for q in sections for o in q.options)
    for q in qs:
        if q.kind == "section":
            continue
        answer = _answer(q)
        for other in qs:
            if other is q:
                continue
            assert answer not in other.question, (answer, other.question)
            assert answer not in other.options or other.kind == "section", (answer, other.options)
        assert answer not in shown_titles, answer


def test_fields_of_the_common_vocabulary():

    assert len(fields()) >= 25 and all(len(terms) >= 3 for _, terms, _ in fields())
    assert {"归属感", "安全感"} <= set(field_terms(["获得感", "幸福感"]))  # a field that names two of them
    assert "期货" not in field_terms(
        ["交通", "医院", "学校", "银行"]
    )  # one item alone does not make the field
    assert "整体性" in field_terms(["系统性", "持续性", "针对性"])  # a list by its ending
    assert "工匠精神" not in field_terms(["全会精神"])  # a lone word is never matched by ending alone
    assert field_terms(["循足迹", "悟思想", "铸忠魂"]) == []


def test_no_prompt_gives_an_answer_away(speech):
    # A lesson's prompt stands right above its 🧠 button: no question that button asks has its answer there
    # (the bank may hold it, for /quiz; the button leaves it out).
    for lesson in speech.lessons:
        for q in speech.lesson_questions(lesson.day):
            assert q.kind == "section" or _answer(q) not in lesson.prompt, (lesson.day, _answer(q))
            assert q.section_id == lesson.section_id


def test_an_image_is_asked_against_images_of_other_meanings(speech):
    # 先手棋 against 压舱石、风向标, never 突破口 (a key move too); things against things, roles against roles.
    def meanings(term):
        return {fields()[k][0] for k in fields_holding(term) if fields()[k][0].startswith("比喻")}

    for q in speech.questions:
        answer = _answer(q)
        if q.kind != "cloze" or not meanings(answer):
            continue
        kind = next(iter(meanings(answer))).split("·")[0]
        others = [meanings(o) for o in q.options if o != answer]
        assert all(m and not m & meanings(answer) for m in others), q.options
        assert all(n.split("·")[0] == kind for m in others for n in m), q.options


@cache
def _plain_tokenizer():
    import jieba

    return jieba.Tokenizer()  # jieba's own dictionary, without the speech's terms


def _plain_cut(text: str) -> list[str]:
    return _plain_tokenizer().lcut(text)


def test_blanks_on_whole_units(speech):
    cut = speech.tokenizer.cut
    for q in speech.questions:
        if q.kind != "cloze":
            continue
        assert q.question.count(BLANK) == 1
        answer = _answer(q)
        left, right = q.question.removeprefix("填空：").split(BLANK)
        left, right = left.split("……")[-1], right.split("……")[0]
        assert left + answer + right in q.source
        at = q.source.find(left + answer + right) + len(left)
        quoted = q.source[at - 1 : at] == "“" and q.source[at + len(answer) : at + len(answer) + 1] == "”"
        if not quoted:
            bounds, pos = {0}, 0
            for token in cut(q.source):
                pos += len(token)
                bounds.add(pos)
            # Inside a quoted clause the speech's dictionary keeps whole (“人才是第一资源”), the clause's own
            # words are the units: 人才 是 第一资源.
            open_ = q.source.rfind("“", 0, at)
            close = q.source.find("”", at)
            if open_ >= 0 and close > at and "”" not in q.source[open_:at]:
                pos = open_ + 1
                for token in _plain_cut(q.source[open_ + 1 : close]):
                    pos += len(token)
                    bounds.add(pos)
            assert at in bounds and at + len(answer) in bounds, (q.id, answer)
        # no figure: a digit, or a numeral with its unit (百分之七点 + 二); 重点企业 is a word
        assert not re.search(r"[0-9０-９%]|[一二三四五六七八九十][百千万亿点]", answer), answer
        assert not (left[-1:].isdigit() or right[:1].isdigit()), answer
        heading_texts = {x.heading for s in speech.sections for x in (s, *s.subsections) if x.heading}
        assert q.source not in heading_texts
        # The words just outside the blank do not join its edges into a word (生活 + 垃圾分类, 建设 + 用地).
        if (
            not quoted
            and q.source[at - 1 : at] != "、"
            and q.source[at + len(answer) : at + len(answer) + 1] != "、"
        ):
            tokens = list(cut(q.source))
            spans, pos = [], 0
            for token in tokens:
                spans.append((pos, token))
                pos += len(token)
            before = next((t for p, t in spans if p + len(t) == at), "")
            first = next((t for p, t in spans if p == at), "")
            assert not (before and speech.tokenizer.FREQ.get(before + first)), (before, answer)


def test_distractors_of_the_answers_shape_and_wrong(speech):
    text = speech.speech_text
    for q in speech.questions:
        answer = _answer(q)
        wrong = [o for i, o in enumerate(q.options) if i != q.answer]
        if q.kind == "cloze":
            left, right = q.question.removeprefix("填空：").split(BLANK)
            left, right = left.split("……")[-1], right.split("……")[0]
            for option in wrong:
                assert (left[-4:] + option + right[:4]) not in text, (q.id, option)
                assert option not in left + right
                assert abs(len(option) - len(answer)) <= max(1, len(answer) // 3), (answer, option)
                assert not (set(option) - set(answer)) == set() and option != answer
        if q.kind in {"cloze", "sequence"}:
            n, fixed = pattern_of([answer, *wrong])
            # Counted terms (四个意识) go with counted terms; X者Y with X者Y where the answer has that shape.
            if re.fullmatch(r"[一二两三四五六七八九十]个.+", answer):
                assert all(re.fullmatch(r"[一二两三四五六七八九十]个.+", o) for o in wrong), q.id


def test_distractors_match_part_of_speech(speech):
    """A distractor's head word is of the answer's part of speech (jieba.posseg), as a reader hears the slot."""
    import jieba.posseg

    def classes(word: str) -> set[str]:
        flags = [t.flag for t in jieba.posseg.cut(word)]
        flag = flags[-1] if flags else "x"
        if flag in {"i", "l", "x", "eng", "m", "j"}:
            return {"any"}
        out = {flag[:1]}
        if flag in {"vn", "an"}:
            out |= {"n", flag[:1]}
        return out

    def fields_of(word: str) -> set[str]:
        return {name for name, terms, _ in fields() if word in terms}

    mismatched = total = 0
    for q in speech.questions:
        answer = _answer(q)
        if q.kind in {"section", "exclusion"} or re.match(r"^[一二两三四五六七八九十]", answer):
            continue  # counted and numbered terms (四个意识, 一岗双责) go by their shape; see below for lists
        if all(o in q.source for o in q.options):
            continue  # the words of one slot of a frame in the sentence itself (以学懂促深化、以弄通促内化)
        for i, option in enumerate(q.options):
            others = set().union(*(fields_of(o) for o in q.options if o != option))
            # Options that the lexicon puts in one field are of one kind (形式主义 ~ 吃拿卡要), whatever their tags.
            if i != q.answer and not fields_of(option) & others:
                total += 1
                a, b = classes(answer), classes(option)
                mismatched += "any" not in a | b and not a & b
    assert mismatched <= max(2, total // 6), (mismatched, total)


def test_section_questions(speech):
    qs = speech.questions
    sections = [q for q in qs if q.kind == "section"]
    assert len(sections) * 3 <= len(qs)
    if len(speech.numbered) >= 2 and len(qs) >= 6:
        assert sections, "no which-part question"
    headings = [x.heading for s in speech.sections for x in (s, *s.subsections) if x.heading]
    for q in sections:
        quote = re.match(r"“(.+)”出自", q.question).group(1).rstrip("…").replace("‘", "“").replace("’", "”")
        assert len(quote) >= 8
        assert sum(quote in s.text for s in speech.sections) == 1
        part = speech.section(q.section_id)
        if part.title or part.kind != "numbered":
            assert part.name == _answer(q)
        else:  # untitled (parts divided by 同志们！): named by its opening words, which the quote is not
            assert _answer(q).startswith(part.label + "（") and quote[:8] not in _answer(q)
        for heading in headings:
            for clause in re.split(r"[，。；：]", heading):
                if len(clause) >= 8:
                    assert clause not in quote, (clause, quote)
        # Nor four characters of its own part's headings (政治监督 under 坚守政治监督定位), nor a sentence
        # that only announces what follows.
        part = speech.section(q.section_id)
        own = [t for x in (part, *part.subsections) for t in (x.title, x.heading or "") if t]
        for title in own:
            for i in range(len(title) - 3):
                piece = title[i : i + 4]
                assert not (re.fullmatch(r"[\u4e00-\u9fff]{4}", piece) and piece in quote), (piece, quote)
        assert not q.source.endswith(("：", ":"))
        assert 3 <= len(q.options) <= 4


def test_sequence_questions(speech):
    for q in (q for q in speech.questions if q.kind == "sequence"):
        shown = re.match(r"讲话中“(.+)”之后", q.question).group(1).replace("‘", "“").replace("’", "”")
        items = shown.split("、")
        assert len(items) >= 2
        last = items[-1]
        assert f"{last}、{_answer(q)}" in q.source
        rest = q.source.split(f"{last}、{_answer(q)}", 1)[1]
        for i, option in enumerate(q.options):
            if i != q.answer:
                assert f"{last}、{option}" not in speech.speech_text
                assert option not in rest[:40], option  # not an item that follows later in the same list


def test_theme_word_is_never_an_answer(speech):
    title = speech.title + (speech.speech.subtitle or "")
    for q in speech.questions:
        if q.kind != "section":
            assert len(_answer(q)) < 3 or _answer(q) not in title, _answer(q)


def test_questions_fit_a_telegram_quiz_poll(speech):

    for q in speech.questions:
        assert 1 <= len(q.question) <= QUESTION_MAX
        assert 3 <= len(q.options) <= 4 and len(set(q.options)) == len(q.options)
        assert all(1 <= len(o) <= OPTION_MAX for o in q.options)
        assert 0 <= q.answer < len(q.options) and len(q.explanation) <= EXPLANATION_MAX
        assert q.source in {s.text for s in speech.section(q.section_id).sentences}
        assert q.day is not None and q.source in speech.lessons[q.day - 1].text.replace("\n", "")


def test_questions_deterministic_and_spread_over_letters(speech):
    assert len({q.id for q in speech.questions}) == len(speech.questions)
    if len(speech.questions) >= 8:
        assert Counter(q.answer for q in speech.questions).most_common(1)[0][1] <= len(speech.questions) / 2


def test_exclusion_questions(speech):
    """不包括哪一项: three items of one list of the sentence, and one word of their shape it does not hold."""

    for q in (q for q in speech.questions if q.kind == "exclusion" and "展开" not in q.question):
        fake = _answer(q)
        real = [o for i, o in enumerate(q.options) if i != q.answer]
        assert len(real) == 3 and fake not in q.source, q.id
        assert q.question.count(BLANK) == 1 and re.search(r"列举了[三四五六七八]项", q.question)
        lists = [items for items in enumerations(q.source, speech.tokenizer.cut) if set(real) <= set(items)]
        assert lists, (q.id, real)
        items = lists[0]
        pattern = pattern_of(items)
        assert len(fake) in {len(i) for i in items}
        assert all(fake[k] == ch for k, ch in pattern[1] if -len(fake) <= k < len(fake)), (fake, items)
        changing = set("".join(variable_part(i, pattern) for i in items))
        assert not set(variable_part(fake, pattern)) & changing, (fake, items)
        for item in items:
            assert f"{item}、{fake}" not in speech.speech_text and f"{fake}、{item}" not in speech.speech_text


def test_point_exclusions(speech):
    """不是其中之一 of a paragraph's points (一是…二是…三是…): three of its points, said in the source's
    paragraph, and one of the speech's points or clauses of their kind that the paragraph does not say."""

    sentences = speech.speech.all_sentences()
    lists = {pl.sentences[0].text: pl for pl in point_lists(sentences)}
    for q in (q for q in speech.questions if "随后分" in q.question):
        points = lists[q.source]
        fake = _answer(q)
        real = [o for i, o in enumerate(q.options) if i != q.answer]
        assert len(real) == 3 and set(real) <= set(points.points), q.id
        assert f"随后分{'三四五六七八'[len(points.points) - 3]}点展开" in q.question
        first = points.sentences[0]
        paragraph = "".join(
            s.text for s in sentences if (s.section_id, s.paragraph) == (first.section_id, first.paragraph)
        )
        assert fake not in paragraph and fake in speech.speech_text, (q.id, fake)
        # of their build: what all points share, the wrong one shares (抓好…, 有的…)
        for piece in {points.points[0][k : k + 2] for k in range(len(points.points[0]) - 1)}:
            if all(piece in p for p in points.points):
                assert piece in fake, (q.id, piece, fake)
        assert q.explanation.count("是") >= len(points.points)


def test_the_answer_is_never_the_odd_one_out(speech):
    """Wrong options that share a character where the answer has another (反馈一件、办结一件、移交一件 against
    警示一片; 四个… against 两个确立) give the answer away."""

    for q in speech.questions:
        if q.kind in {"cloze", "sequence"}:
            wrong = [o for i, o in enumerate(q.options) if i != q.answer]
            assert not odd_one_out(_answer(q), wrong), (q.id, q.options)


def test_no_fault_asked_after_a_prohibition(speech):
    """更不能搞“＿＿”: any fault reads there and the sentence stays true with it."""

    for q in (q for q in speech.questions if q.kind == "cloze" and "“＿＿”" in q.question):
        before = q.question.split("“＿＿”")[0]
        assert not PROHIBITION.search(re.split(r"[，；：]", before)[-1] + "“"), q.id


def test_no_wrong_option_shown_by_another_stem(speech):
    """A wrong option that another question's stem shows in its own place is ruled out by it."""
    asked = [q for q in speech.questions if q.kind != "section"]
    for q in asked:
        for other in asked:
            if other is not q:
                stem = other.question.replace("‘", "“").replace("’", "”")
                wrong = [o for i, o in enumerate(q.options) if i != q.answer and len(o) >= 2]
                assert not any(o in stem for o in wrong), (q.id, other.id)


def test_which_part_never_on_the_meeting_or_on_figures(speech):
    """A sentence about the meeting (今天…召开) says it is the opening; one of figures is trivia."""

    for q in (q for q in speech.questions if q.kind == "section"):
        assert not CEREMONY.match(q.source) and not reports_figures(q.source), q.id


def test_no_question_on_which_ending_goes_with_which_item(speech):
    """以学懂促……、以弄通促＿＿ against the frame's own endings: answered by elimination where the others show,
    a guess by position where they are blanked (and 以弄通促深化 reads as well): never asked."""
    for q in speech.questions:
        if q.kind == "cloze":
            assert not all(o in q.source for o in q.options), q.id


def test_prompt_forms_read_the_phrase_right(speech):
    """The form fits what the phrase is: a shortfall (三个不够, 挂牌不运转) is traced to its causes, a field of
    work (看待“三农”问题) is not asked as a fault, a spirit is seen in people without the verb that urges it
    (钉钉子精神, not 发扬钉钉子精神), a 现象 is not asked for its 表现, a verb of saying is no phrase."""
    for lesson in speech.lessons:
        bare = lesson.phrase.strip("“”")
        if re.search(r"不(?:够|到位|运转)$", bare):
            assert lesson.form == "原因办法", (lesson.day, lesson.prompt)
        for field in re.findall(r"(?:看待|重视|关注|对待)“([^“”]+)”问题", lesson.text):
            assert f"“{field}”问题的根源" not in lesson.prompt, lesson.prompt
        if lesson.form == "榜样践行":
            assert not re.match(r"(发扬|弘扬|践行|传承)", bare), lesson.prompt
        assert not re.search(r"(现象|问题|倾向)”?的表现", lesson.prompt), lesson.prompt
        assert not re.search(r"(提出|指出|强调)$", bare), lesson.prompt


def test_an_image_taken_for_something_comes_with_it(speech):
    """把安全责任当作“千斤重担”: the prompt names what the image is taken for, whatever its first character."""
    for lesson in speech.lessons:
        for m in re.finditer(r"把([^，。；！？“”]{2,10})(?:当作|当成|视为)“([^“”]{4,6})”", lesson.text):
            if lesson.phrase.strip("“”") == m.group(2):
                raise AssertionError(f"image without what it is taken for: {lesson.prompt}")


def test_run_in_leads_are_headings_not_material(speech):
    """在基层监管能力建设上，…: the lead heads what follows, so no blank falls in it and no quote opens with it."""
    lead = re.compile(r"^(?:在|从|就)[^，。；]{2,16}(?:上|方面)，")
    for q in speech.questions:
        m = lead.match(q.source)
        if not m:
            continue
        if q.kind == "cloze":
            left = q.question.removeprefix("填空：").split(BLANK)[0].split("……")[-1]
            at = q.source.find(left + _answer(q)) + len(left)
            assert at >= m.end(), (q.id, _answer(q))
        if q.kind == "section":
            assert not re.match(r"“" + re.escape(m.group(0)), q.question), q.question


def test_no_wrong_option_is_said_in_its_sentence(speech):
    """A wrong option whose own part the sentence says (品牌化 where it says 擦亮…品牌) could be argued right."""

    for q in speech.questions:
        if q.kind != "cloze":
            continue
        answer = _answer(q)
        pattern = pattern_of(list(q.options))
        rest = q.source.replace(answer, "", 1)
        for i, option in enumerate(q.options):
            own = variable_part(option, pattern) if pattern[1] else option
            if i != q.answer and len(own) >= 2 and not all(o in q.source for o in q.options):
                assert own not in rest, (q.id, option)


def test_a_thesis_prompt_quotes_a_short_statement_not_a_requirement(speech):
    """理论创新每前进一步，理论武装就要跟进一步: a whole sentence is named only when it states a thesis, briefly."""
    for lesson in speech.lessons:
        bare = lesson.phrase.strip("“”")
        if any(s.text.rstrip("。！") == bare for s in lesson.sentences) and lesson.form == "理解认识":
            assert len(bare) <= 26 and not re.search(r"(你们|大家|我们)", bare), lesson.prompt
            # (既要…，更要…; 既要靠事业，也要靠环境: a thesis by comparison)
            said = re.sub(r"就要|更要|既要|也要", "", bare)
            assert not re.search(r"(要|必须)", said), lesson.prompt


def test_a_role_comes_with_its_verb(speech):
    """当好“店小二”: a role named with the verb that takes it on, not alone."""
    for lesson in speech.lessons:
        bare = lesson.phrase.strip("“”")
        if re.search(rf"当好“{re.escape(bare)}”", lesson.text) and len(bare) <= 4:
            raise AssertionError(f"role without 当好: {lesson.prompt}")


def test_a_lesson_never_repeats_its_title_as_a_lead(speech):
    """（一）压实党委政府领导责任 above the excerpt: the heading 压实党委政府领导责任。 is not printed again."""
    for lesson in speech.lessons:
        for line in (lesson.lead or "").splitlines():
            assert line.rstrip("。；！：:") not in lesson.place.split(" · ")[-1], (lesson.day, line)


def test_no_modifier_blank_whose_options_do_not_read_before_the_noun(speech):
    """标准化＿＿蔬菜大棚 / 智能化管控平台: an X化 before a noun takes no other X化; nor is an X导向 asked (结果导向
    against 目标导向, 实绩导向: arguably right); nor an option the speech says of the word after the slot
    (关键性 for ＿＿变量 where it says “关键变量”)."""

    for q in speech.questions:
        if q.kind != "cloze":
            continue
        answer = _answer(q)
        left, right = q.question.removeprefix("填空：").split(BLANK)
        right = right.split("……")[0]
        if (
            len(answer) == 3
            and answer.endswith("化")
            and right[:1]
            and re.match(r"[\u4e00-\u9fff]", right[:1])
        ):
            assert left[-1:] == "、" or right[:1] == "、", (q.id, answer)
        assert not answer.endswith("导向"), q.id
        pattern = pattern_of(list(q.options))
        for i, option in enumerate(q.options):
            own = variable_part(option, pattern) if pattern[1] else option
            if i != q.answer and len(own) >= 2 and right[:2] and not all(o in q.source for o in q.options):
                assert own + right[:2] not in speech.speech_text, (q.id, option)


def test_requirement_prompts_do_not_double_the_verb(speech):
    """落实“坚持稳字当头”: a requirement begins with its own verb; the prompt says 做到, never 落实 before it."""
    for lesson in speech.lessons:
        assert not re.search(r"(落实|推进)“(坚持|推行|实施|落实|推进|加强|深化)", lesson.prompt), (
            lesson.prompt
        )
        assert not re.search(r"(把|落实|推进|围绕)“\1", lesson.prompt), lesson.prompt  # 把“把…”


def test_prompt_phrases_are_whole_units(speech):
    """Not a piece of a name (生态文明 of 习近平生态文明思想), not what a task is measured by (对照任务清单), not
    做到 twice, and a pair said as one keeps what is said of it (“八小时内”与“八小时外”相贯通)."""
    for lesson in speech.lessons:
        bare = lesson.phrase.strip("“”")
        assert f"习近平{bare}" not in lesson.text, lesson.prompt
        assert not re.search(rf"(对照|按照|依照|根据){re.escape(bare)}", lesson.text), lesson.prompt
        assert "做到“做到" not in lesson.prompt and "落实“落实" not in lesson.prompt, lesson.prompt
        m = re.search(r"“[^“”]+”与“[^“”]+”(相贯通|相统一|相结合)", lesson.text)
        if m and m.group(0)[: -len(m.group(1))] == lesson.phrase:
            raise AssertionError(f"pair without what is said of it: {lesson.prompt}")
        if re.search(r"(走向|转向|转入|转为|变成|变为|迈向)“", lesson.phrase):
            assert "转变" not in lesson.prompt.replace(lesson.phrase, ""), lesson.prompt


def test_no_blank_on_a_counted_noun(speech):
    """68家＿＿: the noun a figure counts takes only the options its measure word allows."""
    for q in speech.questions:
        if q.kind == "cloze":
            left = q.question.removeprefix("填空：").split(BLANK)[0]
            assert not re.search(r"[0-9０-９][家个项座所条名位户处批]$", left), q.id


def test_no_cloze_on_the_meetings_own_business_nor_the_theme_as_an_option(speech):
    """今天…表彰… is the meeting's business, not study material; the speech's theme (营商环境 of a speech on it)
    fits every slot, so it is offered in none; a sequence's options have the answer's numerals in the same
    places (一抓到底 against 一X到底, not 一园一策)."""

    title = speech.title + (speech.speech.subtitle or "")
    for q in speech.questions:
        if q.kind == "cloze":
            assert not re.match(
                r"^(?:今天|这次会议|本次会议|会议的主要任务|刚才|会上|会前|会后|在此)", q.source
            )
        if q.kind in {"cloze", "sequence"}:
            for option in q.options:
                assert len(option) < 4 or option not in title, (q.id, option)
        if q.kind == "sequence":
            assert len({skeleton(o) for o in q.options}) == 1, q.options


def test_a_paragraph_that_opens_a_requirement_of_its_own_begins_a_day_where_both_halves_fit(speech):
    """要健全导师帮带制度… after the 月调度 mechanism: two points, two days, when each half is a day's reading."""
    for lesson in speech.lessons:
        sents = lesson.sentences
        for k in range(1, len(sents)):
            if sents[k].paragraph == sents[k - 1].paragraph:
                continue
            if not re.match(r"^(?:要|必须|注重|健全|完善|着力)", sents[k].text):
                continue
            head = sum(len(s.text) for s in sents[:k])
            tail = sum(len(s.text) for s in sents[k:])
            assert not (head >= 150 and tail >= 150), (lesson.day, head, tail)


def test_a_prompt_never_names_one_of_a_list_of_quoted_terms(speech):
    # 增强“等不起”的紧迫感、“慢不得”的危机感、“坐不住”的责任感: one of the three stands for none of them.
    for lesson in speech.lessons:
        phrase = lesson.phrase
        if not phrase.startswith("“") or "、" in phrase:
            continue
        for m in re.finditer(re.escape(phrase), lesson.text):
            before, after = lesson.text[: m.start()], lesson.text[m.end() :]
            assert not after.startswith("、“") and not before.endswith("”、"), (lesson.day, phrase)


def test_a_passage_of_named_points_is_asked_about_its_points(speech):
    # A lead requirement (深入打好蓝天保卫战。) and the points that unpack it (一是抓好工业源治理…): the
    # points, where they can be named, are what the passage asks, not the lead alone nor one of them.

    headings = [x.heading or x.title for s in speech.sections for x in (s, *s.subsections) if x.title]
    used = set()
    for lesson in speech.lessons:
        leads = {x.rstrip("。") for x in parallel_leads(speech.section(lesson.section_id).sentences)}
        said = []
        for p in point_lists(lesson.sentences):
            named = points_phrase("" if p.lead in leads else p.lead, p.points, p.kind)
            if named and named[1].endswith("_count"):
                named = points_phrase(p.lead, p.points, p.kind)  # (unnamed points: under their heading)
            said.append(named)
        said = [s for s in said if s and not s[1].endswith("_count")]
        said = [s for s in said if not any(s[0] in h for h in headings) and s[0] not in used]
        if said and lesson.form not in {"two_points"}:
            assert lesson.phrase in {s[0] for s in said}, (lesson.day, lesson.phrase, said)
        used.add(lesson.phrase)


def test_no_wrong_item_shares_the_changing_part_of_another_item(speech):
    # 清廉机关、清廉学校、＿＿、清廉村居、清廉企业 against 清廉国企: arguably 清廉企业 itself.
    for q in speech.questions:
        if q.kind != "cloze" or "、" not in q.question:
            continue
        stem = q.question.removeprefix("填空：")
        around = (
            re.split(r"[，。；：]", stem.split(BLANK)[0])[-1]
            + BLANK
            + re.split(r"[，。；：]", stem.split(BLANK)[1])[0]
        )
        items = [i.strip("“”…") for i in around.split("、") if i.strip("“”…") and BLANK not in i]
        n, fixed = pattern_of(
            [q.options[q.answer], *[i for i in items if len(i) == len(q.options[q.answer])]]
        )
        if not fixed:
            continue
        places = {k % n for k, _ in fixed}
        taken = {ch for i in items if len(i) == n for k, ch in enumerate(i) if k not in places}
        for k, option in enumerate(q.options):
            if k != q.answer and len(option) == n:
                mine = {ch for j, ch in enumerate(option) if j not in places}
                assert not mine & taken, (q.id, option)


def test_a_periodic_mechanism_is_offered_only_for_one(speech):
    # 月调度 among 挂牌子、要台账、派任务 is of another kind: the answer stands out as the one that is not.

    times = {
        item
        for s in speech.speech.all_sentences()
        for items in speech_lists(speech, s.text)
        if prefix_class(items) == "time"
        for item in items
    }
    for q in speech.questions:
        if q.kind not in {"exclusion", "sequence", "cloze"}:
            continue
        shown = [o for o in q.options if o in times]
        if shown:
            assert len(shown) == len(q.options) or prefix_class(list(q.options)) == "time", (q.id, q.options)
        answer = q.options[q.answer]
        if q.kind in {"cloze", "sequence"} and answer in times:
            # 日巡查、＿＿、月通报: only 周 fits the order; every option is of the answer's period.
            assert {o[0] for o in q.options} == {answer[0]}, (q.id, q.options)


def speech_lists(model, text):

    return terms.enumerations(text, model.tokenizer.lcut)


def test_steps_said_alike_are_asked_about_together(speech):
    # 抓好“用人”环节，… 抓好“留才”环节，… in one lesson: a prompt on one step leaves the other out.

    for lesson in speech.lessons:
        steps: dict[tuple[str, str], list[str]] = {}
        for s in lesson.sentences:
            m = PARALLEL_STEP.match(s.text)
            if m:
                steps.setdefault((m.group(1), m.group(3)), []).append(m.group(2))
        for names in steps.values():
            if len(names) >= 2:
                assert all(t in lesson.prompt for t in names) or not any(t in lesson.prompt for t in names), (
                    lesson.day,
                    lesson.prompt,
                )
                assert "推进" not in lesson.prompt or "环节" not in lesson.prompt, lesson.prompt


def test_no_wrong_option_the_same_part_says(speech):
    # 政治监督要具体化、＿＿、常态化 against 清单化 where the part asks for 清单化管理: arguably right there too.
    parts = {s.id: s.text for s in speech.speech.sections}
    for q in speech.questions:
        if q.kind not in {"cloze", "sequence"}:
            continue
        for k, option in enumerate(q.options):
            if k != q.answer and len(option) >= 3:  # (two characters stand inside many a longer word)
                assert option not in parts[q.section_id], (q.id, option)


def test_no_cloze_on_a_years_formula_nor_after_an_adjective(speech):
    # 今年是…的＿＿ (开局之年) tests a date; 廉洁＿＿ (文化建设) cuts 廉洁文化 in two.

    tags = terms.speech_tags(speech.speech_text)
    for q in speech.questions:
        if q.kind != "cloze":
            continue
        assert not q.options[q.answer].endswith("之年"), q.id
        left = q.question.removeprefix("填空：").split(BLANK)[0].split("……")[-1]
        tokens = speech.tokenizer.lcut(left) if left else []
        if tokens and len(tokens[-1]) == 2:
            assert tags.get(tokens[-1]) != "a", (q.id, tokens[-1])


def test_a_list_question_says_which_list(speech):
    # 讲话中“一是要坚持＿＿……”: a speech has many 一是; the stem must say enough to find the list.
    for q in speech.questions:
        if q.kind != "exclusion" or "横线处" not in q.question:
            continue
        quote = q.question.split("“", 1)[1].rsplit("”，横线处", 1)[0]
        said = re.sub(r"[‘’＿…]", "", quote)
        said = re.sub(r"^(?:[一二三四五六七八九十]是)?(?:要|必须)?(?:坚持|做到|实行|推进)?", "", said)
        assert len(said) >= 6, q.question


def test_a_couplet_is_no_list_and_a_description_no_requirement(speech):
    # 民之所盼、政之所向 is one saying: never "which item"; 老旧小区多、商务楼宇多 describes a place, asks nothing;
    # “桐溪教育” is a place's name for a channel.
    places = set(re.findall(r"([\u4e00-\u9fff]{2})[省市县区镇乡]", speech.speech_text))
    for lesson in speech.lessons:
        bare = lesson.phrase.replace("“", "").replace("”", "")
        halves = bare.split("、")
        if len(halves) == 2 and f"“{bare}”" in lesson.text:
            assert not re.search(r"哪一(项|点)", lesson.prompt), lesson.prompt
        assert not (len(halves) >= 3 and all(re.search(r"[多少]$", h) for h in halves)), lesson.prompt
        assert not (len(bare) == 4 and bare[:2] in places and bare[2:] in {"教育", "文化", "经济"}), bare
        assert "十四五" not in bare or len(bare) > 8, bare


def test_a_lesson_that_opens_on_a_lead_asks_about_it(speech):
    # 要向科技要产量、要效益。 / 要在严管厚爱上见实效。 heads what follows: the prompt is about it (or about
    # the points or the two paragraphs it opens), not a detail after it.

    asked, missed = 0, []
    for lesson in speech.lessons:
        body = [s for s in lesson.sentences if s.role == "body"]
        if not body or len(body[0].text) > 20 or re.search(r"[，；：]", body[0].text):
            continue
        lead = requirement_of(body[0].text)
        if not lead or point_lists(lesson.sentences) or " / " in lesson.phrase:
            continue
        if body[0].text in parallel_leads(speech.section(lesson.section_id).sentences):
            continue  # one of a part's parallel leads: a heading, never the phrase (below)
        asked += 1
        bare = lambda t: t.replace("“", "").replace("”", "").replace("‘", "").replace("’", "")  # noqa: E731
        if bare(lead[1])[:6] not in bare(lesson.prompt):
            missed.append((lesson.day, lesson.prompt))
    # (a phrase the speech keeps for another lesson, or a programme the lead names, may take its place)
    assert len(missed) <= max(1, asked // 10), missed


def test_a_parts_parallel_leads_are_headings_never_the_phrase(speech):
    # 深入打好蓝天保卫战。…深入打好碧水保卫战。…深入打好净土保卫战。: sub-point titles in all but layout.
    for lesson in speech.lessons:
        leads = parallel_leads(speech.section(lesson.section_id).sentences)
        bare = lesson.phrase.replace("“", "").replace("”", "")
        if re.search(r"(列出|提出)的几点", lesson.prompt):
            continue  # the scope of points that cannot be named by themselves
        assert not any(bare in lead.replace("“", "").replace("”", "") for lead in leads), (
            lesson.day,
            lesson.prompt,
        )


def test_a_tifa_said_of_something_comes_with_it(speech):
    # 粮食安全是“国之大者”: asked as the claim (为什么说粮食安全是“国之大者”), never the bare 提法.
    for lesson in speech.lessons:
        m = re.fullmatch(r"“?([\u4e00-\u9fff]{4,6})”?", lesson.phrase)
        if not m or f"“{m.group(1)}”" not in lesson.text:
            continue
        said = re.search(r"([\u4e00-\u9fff]{2,8})(?:是|就是)“" + re.escape(m.group(1)) + "”", lesson.text)
        assert not said or said.group(1).startswith(("不", "也", "都")), (lesson.day, lesson.prompt)


def test_one_question_per_paragraph_of_points(speech):
    # 一是…“铸魂工程”…；二是…“塑形工程”…: two questions on one list of points give each other away.

    for points in point_lists(speech.speech.all_sentences()):
        texts = {s.text for s in points.sentences}
        assert sum(q.source in texts for q in speech.questions) <= 1, points.lead


def test_no_question_on_the_meetings_procedure_or_a_name(speech):
    # 县委宣传部通报了…情况，我都同意 is no study material; 习近平＿＿思想 blanks a name; 社会主义 is no fault;
    # 百分之六十以上的税收、百分之七十以上的… is a sentence of figures.
    for q in speech.questions:
        if q.kind == "section":
            assert not re.search(r"我都同意|作了(?:交流)?发言|通报了[^，。]{0,20}情况", q.source), q.id
        if q.kind == "cloze":
            assert not q.question.split(BLANK)[0].endswith("习近平"), q.id
            assert len(re.findall(r"百分之", q.source)) < 2, q.id
        answer = q.options[q.answer]
        if answer.endswith("主义"):
            assert not {"社会主义", "马克思主义", "共产主义"} & set(q.options), q.id


def test_no_option_of_the_themes_own_head(speech):
    # In a speech on 营商环境 every X环境 is arguably its point: 风清气正的＿＿ (发展环境 ~ 政务环境).

    title_heads = {w for w in re.findall(r"[\u4e00-\u9fff]{2}", speech.speech.title)}
    for q in speech.questions:
        if q.kind == "cloze" and len(q.options[q.answer]) >= 4:
            heads = {o[-2:] for o in q.options}
            if len(heads) == 1:
                assert not (heads & title_heads and heads <= {"环境", "创新", "工作"}), q.id


def test_no_prompt_on_a_kind_of_people_a_quality_or_one_of_a_counted_list(speech):
    # “一把手” is people; 长期性 what the work is like; 一个“四年规划”、一个“学期目标”… one of several;
    # 把审批权当成谋取私利的“提款机” is a fault of what is made of what, never the bare “提款机”.
    for lesson in speech.lessons:
        bare = lesson.phrase.replace("“", "").replace("”", "")
        assert bare not in {"一把手", "关键少数"} and not (len(bare) == 3 and bare.endswith("性")), bare
        quoted = re.fullmatch(r"“?([^“”]+)”?", lesson.phrase)
        if quoted:
            term = f"“{quoted.group(1)}”"
            assert not re.search(
                re.escape(term) + r"、[一二三四五六七八九十两]?[个张份项条]“", lesson.text
            ), term
            taken = re.search(
                r"把[\u4e00-\u9fff]{2,10}(?:当成|当作)[\u4e00-\u9fff]{0,8}" + re.escape(term), lesson.text
            )
            assert not taken or len(taken.group(0)) > 22, (lesson.day, lesson.prompt)
        assert not re.search(r"(倾斜|延伸|集聚|下沉)$", bare), bare


def test_points_that_name_their_measures_are_asked_by_those_names(speech):
    # 一是推行“党建+项目”模式…；二是推行“党建+服务”模式…；三是推行“党建+监管”模式…: not "几点举措".

    for lesson in speech.lessons:
        for points in point_lists(lesson.sentences):
            said = points_phrase(points.lead, points.points, points.kind)
            names = [re.search(r"“[^“”]{2,10}”", p) for p in points.points]
            if said and all(names) and said[1] == "points_all" and "”、“" in said[0]:
                assert all(n.group(0) in said[0] for n in names), said
                if lesson.phrase == said[0]:
                    assert "几点举措" not in lesson.prompt, lesson.prompt


def test_faults_told_by_images_are_asked_with_their_subjects(speech):
    # 防止学习“一阵风”、调研“走过场”、转化“打折扣”: never the bare “一阵风”.

    for lesson in speech.lessons:
        for told in (*TOLD_FAULTS.finditer(lesson.text), *FAULTS_CRITICISED.finditer(lesson.text)):
            images = re.findall(r"“([^“”]+)”", told.group(1))
            bare = lesson.phrase.strip("“”")
            assert bare not in images, (lesson.day, lesson.prompt)


def test_a_saying_of_two_halves_and_a_habit_keep_what_they_are_said_of(speech):
    # “功成不必在我”的胸怀和“功成必定有我”的担当: both; 长期在机关“坐办公室”: with where.

    for lesson in speech.lessons:
        for both in BOTH_SAYINGS.finditer(lesson.text):
            halves = re.findall(r"“([^“”]+)”", both.group(0))
            assert lesson.phrase.strip("“”") not in halves, lesson.prompt
        m = re.fullmatch(r"“?([^“”]+)”?", lesson.phrase)
        if m:
            at = lesson.text.find(f"“{m.group(1)}”")
            if at > 0 and HABIT.search(re.split(r"[，。；：]", lesson.text[:at])[-1]):
                assert not lesson.prompt.startswith(f"“{m.group(1)}”"), lesson.prompt


def test_an_opening_that_says_the_meetings_aim_is_asked_about_it(speech):
    # 目的就是把压力传导到基层、把责任落实到末梢: the opening's day asks about that, not "最紧迫的问题".

    for lesson in speech.lessons:
        if lesson.prompt.startswith("读完开篇"):
            assert not MEETING_PURPOSE.search(lesson.text), lesson.day


def test_points_under_a_scope_or_of_named_measures_are_asked_by_it(speech):
    # 在科技赋能上，一是…: the points are of 科技赋能; 落实谈心谈话制度、严格执行…报告制度、建立…成长档案: by what
    # each puts in place — neither as "这段讲话接连提出的几点举措".

    for lesson in speech.lessons:
        for points in point_lists(lesson.sentences):
            scope = re.fullmatch(
                r"在([\u4e00-\u9fff]{2,10})(?:上|方面)", re.split(r"[，；：]", points.lead)[0]
            )
            named = all(LEADING_VERB.match(p) for p in points.points)
            if (scope or named) and points.kind == "measure":
                assert "几点举措" not in lesson.prompt, lesson.prompt


def test_an_image_said_of_the_sentences_subject_comes_with_it(speech):
    # 巡察是党内监督的重要形式，是对…的“政治体检”: 为什么说巡察是“政治体检”; 推动党的创新理论“飞入寻常百姓家”:
    # with what flies in. Never the bare image.

    for lesson in speech.lessons:
        m = re.fullmatch(r"“?([^“”]+)”?", lesson.phrase)
        if not m:
            continue
        at = lesson.text.find(f"“{m.group(1)}”")
        if at < 0:
            continue
        head = lesson.text[: at + len(m.group(1)) + 2]
        again = SAID_AGAIN.search(head)
        assert not (again and again.group(2) == m.group(1)), lesson.prompt
        carried = re.search(
            r"(?:推动|让|使|促进)([\u4e00-\u9fff]{2,8})$", re.split(r"[，。；：]", lesson.text[:at])[-1]
        )
        assert not (carried and len(m.group(1)) >= 5 and "、" not in m.group(1)), lesson.prompt


def test_a_comparison_is_asked_whole_and_a_good_x_is_a_standard(speech):
    # 既要看升学率，更要看学生的品德…: never the half it plays down (升学率); “四有”好老师: 对照, not 为什么.

    for lesson in speech.lessons:
        for more in MORE_THAN.finditer(lesson.text):
            first = re.search(r"既要(?:看|抓|重)?([^，。；“”]{2,10})，", more.group(0))
            assert not first or lesson.phrase.strip("“”") != first.group(1), lesson.prompt
        if re.fullmatch(r"“[^“”]+”好(?:老师|干部|党员|青年)", lesson.phrase):
            assert lesson.form == "对照检视", lesson.prompt


def test_a_counted_label_is_asked_for_what_it_holds(speech):
    # “三个不够”, “四链”, “五位一体”: never understood bare; asked what they hold and which part matters.

    for lesson in speech.lessons:
        bare = lesson.phrase.strip("“”")
        if COUNTED_LABEL.fullmatch(bare) and bare not in COMMON_FORMULAS:
            assert re.search(r"哪一个方面|几个方面中|最突出的是哪一个|对照", lesson.prompt), lesson.prompt


def test_your_unit_is_asked_only_of_a_units_task(speech):
    # A speech to a city's cadres on the government's tasks (标准地出让, 源头治理) asks what they mean for one's
    # own post; "your unit" only where the speech is to the Party's organizations or the sentence gives the
    # task to units (各部门要…). A talk to students never asks about a unit.
    from content.prompts.forms import party_building, unit_task

    text = speech.speech_text
    if party_building(text):
        return
    for lesson in speech.lessons:
        if "你所在" not in lesson.prompt:
            continue
        bare = lesson.phrase.replace("“", "").replace("”", "").split(" / ")[0]
        said = [s.text for s in lesson.sentences if bare[:6] in s.text.replace("“", "").replace("”", "")]
        assert any(unit_task(s, bare) for s in said or [lesson.text]), (lesson.day, lesson.prompt)


def test_the_party_s_organizations_are_told_by_what_a_speech_says_throughout():
    from content.prompts.forms import party_building

    assert party_building(model_of("seed").speech_text)  # 组织工作: branches and Party organizations
    assert not party_building(model_of("s02-part-runin").speech_text)  # 营商环境: the government's
    assert not party_building(model_of("s04-plain-headings").speech_text)  # 生态环境: the same


def test_attitudes_each_named_by_a_saying_are_asked_together(speech):
    # “等不起”的紧迫感、“慢不得”的危机感、“坐不住”的责任感: the three, never one, and as a standard.
    for lesson in speech.lessons:
        for said in SAID_ATTITUDES.finditer(lesson.text):
            sayings = re.findall(r"“([^“”]+)”", said.group(0))
            assert lesson.phrase.strip("“”") not in sayings, (lesson.day, lesson.prompt)


def test_no_wording_of_a_prompt_comes_round_more_than_three_times(speech):
    # A booklet whose prompts read "怎样理解…？它对你的工作提出了什么要求？" every third day reads as a form.
    wordings = Counter(re.sub(r"“.*”", "“…”", lesson.prompt) for lesson in speech.lessons)
    assert max(wordings.values()) <= 3, wordings.most_common(3)


def test_a_fault_is_asked_of_ones_own_work_not_of_colleagues(speech):
    # "你身边有没有…的表现" reads as an invitation to denounce colleagues: one's own work is asked about.
    for lesson in speech.lessons:
        assert "你身边有没有" not in lesson.prompt, (lesson.day, lesson.prompt)
