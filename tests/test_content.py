"""The content engine's parser and search on the bundled speech and on short speeches of other styles.

Lessons, prompts and the quiz bank are checked rule by rule on every test speech in test_speeches.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from content import build_model, bundled_text, parse_ref, parse_speech, split_sentences

DATA = Path(__file__).parent / "data"

SEED_TITLES = [
    "扎实做好理论武装",
    "扎实做好选贤任能",
    "扎实做好育才聚才",
    "扎实做好强基固本",
    "抓实做好队伍建设",
]


def _body(text: str) -> str:
    return "".join(line.strip(" \t\u3000") for line in text.splitlines()[1:])


# -- parser --------------------------------------------------------------------------------------------


def test_seed_structure(model):
    kinds = [s.kind for s in model.sections]
    assert kinds == ["opening"] + ["numbered"] * 5 + ["closing"]
    assert [s.title for s in model.numbered] == SEED_TITLES
    assert [s.id for s in model.sections] == ["0", "1", "2", "3", "4", "5", "6"]
    assert model.title == "在2023年全市组织工作会议上的讲话"
    assert model.sections[0].text.startswith("同志们：")
    assert model.sections[-1].text.startswith("同志们，组织部门")
    assert model.sections[1].text.startswith("第一，扎实做好理论武装")


def test_seed_nothing_lost(model):
    joined = "".join(s.text.replace("\n", "") for s in model.sections)
    assert joined == _body(bundled_text())
    for section in model.sections:
        assert "".join(s.text for s in section.sentences) == section.text.replace("\n", "")


def test_sentence_split_keeps_quotes_and_ends():
    text = "他说：“要学习。要实践！”我们照办。真的吗？是的；好。"
    assert split_sentences(text) == ["他说：“要学习。要实践！”", "我们照办。", "真的吗？", "是的；好。"]
    assert split_sentences("没有句号的一段") == ["没有句号的一段"]
    assert split_sentences("“千里之堤，溃于蚁穴。”要慎独。") == ["“千里之堤，溃于蚁穴。”", "要慎独。"]


def test_run_on_sentence_split_at_semicolon():
    long = "甲" * 70 + "；" + "乙" * 70 + "。"
    assert split_sentences(long) == ["甲" * 70 + "；", "乙" * 70 + "。"]
    # A short tail stays with its sentence rather than standing alone.
    assert split_sentences("甲" * 130 + "；乙。") == ["甲" * 130 + "；乙。"]
    # Semicolons inside a quotation never split.
    quoted = "“" + "甲" * 70 + "；" + "乙" * 70 + "”。"
    assert split_sentences(quoted) == [quoted]


def test_sentence_ids_stable(model):
    again = build_model(bundled_text())
    assert [(s.section_id, s.index, s.text) for s in again.speech.all_sentences()] == [
        (s.section_id, s.index, s.text) for s in model.speech.all_sentences()
    ]


def test_dun_style_with_sub_points():
    m = build_model((DATA / "speech-dun.txt").read_text("utf-8"))
    assert [s.kind for s in m.sections] == ["opening", "numbered", "numbered", "numbered", "closing"]
    assert m.numbered[0].title == "提高站位，切实增强抓基层党建的责任感"
    assert [sub.id for sub in m.numbered[1].subsections] == ["2.1", "2.2", "2.3"]
    assert [sub.title for sub in m.numbered[1].subsections] == [
        "建强支部班子",
        "规范组织生活",
        "发展集体经济",
    ]
    assert m.numbered[1].subsections[0].sentences[0].text.startswith("（一）建强支部班子")
    assert "".join(s.text.replace("\n", "") for s in m.sections) == _body(
        (DATA / "speech-dun.txt").read_text()
    )


def test_part_style():
    text = (DATA / "speech-part.txt").read_text("utf-8")
    m = build_model(text)
    assert [s.number for s in m.numbered] == [1, 2, 3]
    assert m.numbered[1].title == "全力打造人才集聚的“强磁场”"
    # 一要…二要… inside a part is not mistaken for numbering.
    assert len(m.numbered) == 3
    assert "".join(s.text.replace("\n", "") for s in m.sections) == _body(text)


def test_plain_paragraphs():
    text = (DATA / "speech-plain.txt").read_text("utf-8")
    m = build_model(text)
    assert m.sections[0].kind == "opening" and m.sections[-1].kind == "closing"
    assert [s.title for s in m.numbered] == [
        "青年干部要加强理论学习",
        "青年干部要到基层一线去经受磨炼",
        "青年干部要守住廉洁底线",
    ]
    assert "".join(s.text.replace("\n", "") for s in m.sections) == _body(text)


def test_no_title_no_salutation():
    m = build_model("我们要学习。我们要实践。\n第二段在这里。")
    assert m.title == "讲话"
    assert sum(len(s.sentences) for s in m.sections) == 3


@pytest.mark.parametrize("text", ["", "   \n\u3000\n", "只有标题"])
def test_empty_speech_refused(text):
    from content import EmptySpeechError

    with pytest.raises(EmptySpeechError):
        parse_speech(text)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("3", 3),
        ("三", 3),
        ("第三", 3),
        ("第三部分", 3),
        (" 第 3 部分 ", 3),
        ("３", 3),
        ("0", 0),
        ("开篇", "opening"),
        ("结语", "closing"),
        ("十二", 12),
        ("abc", None),
        ("", None),
        ("第", None),
        ("99999", None),
    ],
)
def test_parse_ref(ref, expected):
    assert parse_ref(ref) == expected


def test_find_section(model):
    assert model.find_section("三").title == "扎实做好育才聚才"
    assert model.find_section("第五部分").number == 5
    assert model.find_section("0").kind == "opening"
    assert model.find_section("结语").kind == "closing"
    assert model.find_section("6") is None  # there are five parts; 6 is not a part number
    assert model.find_section("<b>") is None


# -- search -----------------------------------------------------------------------------------------


def test_search_ranks_phrases(model):
    hits = model.search("留人 环境")
    assert hits and "拴心留人" in hits[0].sentence.text and hits[0].sentence.section_id == "3"
    hits = model.search("人才")
    assert hits and all("人才" in h.sentence.text for h in hits)
    assert {h.sentence.section_id for h in hits} == {"3", "5"}
    top = model.search("四个意识")
    assert top and top[0].sentence.section_id in {"0", "1"}
    assert "四个意识" in top[0].terms


def test_search_ignores_stray_characters_of_words_the_speech_lacks(model):
    # 人工智能 is not in the speech: its 人 alone would match nearly every sentence.
    assert model.search("人工智能大模型") == []
    assert "人" not in model.index.query_terms("人工智能")
    # A single character asked for on its own is still searched.
    assert model.search("招") and all("招" in h.sentence.text for h in model.search("招"))


def test_search_keeps_fixed_phrases_whole(model):
    tokens = list(model.tokenizer.cut("坚持不懈用习近平新时代中国特色社会主义思想凝心铸魂"))
    assert "习近平新时代中国特色社会主义思想" in tokens
    assert "凝心铸魂" in tokens


@pytest.mark.parametrize("name", ["bundled", "speech-dun.txt", "speech-plain.txt"])
def test_the_speech_part_of_the_dictionary_changes_nothing(name, monkeypatch):
    # A model keeps only the part of jieba's dictionary around its speech's words: the lessons, prompts,
    # questions and segmentation of the speech must be exactly those the full dictionary gives.
    from content import terms

    text = bundled_text() if name == "bundled" else (DATA / name).read_text("utf-8")
    small = build_model(text)
    make_tokenizer = terms.make_tokenizer
    monkeypatch.setattr(terms, "make_tokenizer", lambda words, text=None: make_tokenizer(words))
    full = build_model(text)
    assert len(small.tokenizer.FREQ) < len(full.tokenizer.FREQ) // 10
    assert small.to_dict() == full.to_dict()
    for sentence in small.speech.all_sentences():
        assert list(small.tokenizer.cut(sentence.text)) == list(full.tokenizer.cut(sentence.text))
    # Queries, with words the speech lacks too, find the same sentences (共同富裕 does not find 共同).
    for query in (
        "人才强省战略研究",
        "共同富裕示范区",
        "党风廉政建设责任制",
        "年轻干部培养选拔",
        "区块链技术",
    ):
        assert [h.sentence.text for h in small.search(query)] == [h.sentence.text for h in full.search(query)]


def test_search_substring_fallback(model):
    hits = model.search("近悦远")  # part of a word
    assert hits and "近悦远来" in hits[0].sentence.text
    hits = model.search("招")
    assert any("真招、实招、新招" in h.sentence.text for h in hits)


def test_search_marks_matches(model):
    hit = model.search("钉钉子")[0]
    marked = hit.marked(lambda s: s.replace("<", "&lt;"), "<b>", "</b>")
    assert "<b>钉钉子</b>" in marked
    assert re.sub("</?b>", "", marked) == hit.sentence.text


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "。。。！！",
        "😀🎉",
        "hello WORLD",
        "<b>人才</b>",
        "人" * 6000,
        "a" * 6000,
        "\x00\n\t",
        "ＡＢＣ",
        "省*次全会",
        "((",
        "[a-z]+",
        "\\",
        "人才 " * 3000,
    ],
)
def test_search_any_query(model, query):
    hits = model.search(query)
    assert isinstance(hits, list)
    for hit in hits:
        assert hit.spans and all(0 <= s < e <= len(hit.sentence.text) for s, e in hit.spans)


def test_search_no_hit(model):
    assert model.search("量子计算") == []
    assert model.search("。！？") == []
    suggestions = model.suggest("人材")
    assert suggestions and all(s in model.speech_text for s in suggestions)


def test_import_does_not_load_jieba():
    code = "import sys, content; content.parse_speech('标题\\n正文。'); print('jieba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def short_speech(title: str, business: str, parts: list[tuple[str, str]]) -> str:
    """A short speech of numbered parts, opened and announced as real ones are."""
    numbers = "一二三四五六七八九"
    head = f"{title}\n同志们：\n今天召开这次会议，主要任务是{business}。下面，我讲{numbers[len(parts) - 1]}点意见。\n"
    return head + "".join(f"{numbers[i]}、{name}\n{body}\n" for i, (name, body) in enumerate(parts))


def test_prompt_form_follows_what_the_sentence_says_of_the_term():
    # The sentence around a quoted term says its kind: a fault it criticises, a measure it puts in place.
    text = short_speech(
        "在全县作风建设推进会上的讲话",
        "部署今年的作风建设工作",
        [
            (
                "正视问题",
                "一段时间以来，我们的作风建设取得了明显成效，群众满意度持续提升，干部精气神明显提振。"
                "但也要看到，有的同志热衷于“撒胡椒面”，资金项目分散使用，钱花了不少，事情没办成几件，"
                "群众看在眼里、急在心上，这种状况必须下决心扭转，决不能让它继续蔓延下去。",
            ),
            (
                "健全机制",
                "各乡镇各部门要推行“周交办”，每周梳理群众反映强烈的问题，明确责任人和完成时限，"
                "逐项跟踪问效，办结一件销号一件，确保件件有着落、事事有回音，让群众真正感受到变化。",
            ),
            (
                "压实责任",
                "各级党组织书记要履行第一责任人职责，亲自研究、亲自部署、亲自督办，"
                "把作风建设同业务工作一起谋划、一起推进、一起考核，以作风建设的实际成效取信于民。",
            ),
        ],
    )
    forms = {lesson.phrase: lesson.form for lesson in build_model(text).lessons}
    assert forms.get("撒胡椒面") == "原因办法", forms
    assert forms.get("周交办") == "举措落实", forms


def test_a_prompt_names_both_sides_of_a_pair():
    # “八小时内”与“八小时外” are one thought: a prompt that names one half misses it.
    text = short_speech(
        "在全市机关作风建设大会上的讲话",
        "部署机关作风建设",
        [
            (
                "严管干部",
                "要把对干部的监督管理贯穿始终，推动“八小时内”与“八小时外”相贯通，既管工作圈，也管生活圈、社交圈，"
                "让干部时刻绷紧纪律这根弦，做到台上台下一个样、人前人后一个样。",
            ),
            (
                "厚爱干部",
                "要落实谈心谈话制度，及时掌握干部思想动态，帮助解决实际困难，"
                "对受到不实举报的干部及时澄清正名，让敢于担当的干部放下包袱、轻装上阵。",
            ),
        ],
    )
    phrases = [lesson.phrase for lesson in build_model(text).lessons]
    assert "“八小时内”与“八小时外”相贯通" in phrases, phrases  # with what is said of both
    assert "八小时内" not in phrases and "八小时外" not in phrases


def test_a_fault_told_by_an_image_is_named_with_what_it_is_said_of():
    text = short_speech(
        "在全县债务风险防控工作会议上的讲话",
        "部署债务风险防控",
        [
            (
                "守住底线",
                "各乡镇要量力而行、尽力而为，坚持有多少钱办多少事，更不能借债搞建设、留下“后遗症”，"
                "对新增隐性债务的，要严肃追责问责，决不姑息，切实守住不发生系统性风险的底线。",
            ),
            (
                "压实责任",
                "各级党委政府要扛起主体责任，主要负责同志要亲自抓、负总责，定期研究债务化解工作，"
                "把化债任务分解到年度、落实到项目、明确到责任人，确保按期完成化解任务。",
            ),
        ],
    )
    phrases = {lesson.phrase: lesson.form for lesson in build_model(text).lessons}
    assert phrases.get("借债搞建设、留下“后遗症”") == "原因办法", phrases


def test_a_prompt_may_name_the_passage_s_requirement_in_its_own_words():
    # The main requirement, one clause after 要, is what the passage asks: named whole, its quotes nested.
    text = short_speech(
        "在全市生态环境保护大会上的讲话",
        "部署今年的生态环境保护工作",
        [
            (
                "治水",
                "全市各级各部门要坚持“控源、截污、治河、补水”一体推进，把治水的责任压到每一个排口、每一段河道，"
                "做到问题在一线发现、措施在一线落实、成效在一线检验，让群众看到实实在在的变化。",
            ),
            (
                "治气",
                "要深入推进工业源、移动源、面源协同治理，加快淘汰落后产能，推广清洁能源，"
                "持续压减燃煤消费总量，确保全年空气质量优良天数比例稳中有升，让蓝天白云成为常态。",
            ),
        ],
    )
    lessons = build_model(text).lessons
    first = next(lesson for lesson in lessons if "控源" in lesson.text)
    assert first.phrase == "坚持“控源、截污、治河、补水”一体推进", first.phrase
    assert "“坚持‘控源、截污、治河、补水’一体推进”" in first.prompt, first.prompt


def test_people_s_feelings_not_kinds_of_people_take_the_people_form():
    # 获得感、幸福感、安全感 are what people feel: asked from their side. 三级书记 are people of office, not that.
    from content.prompts import kind_of, list_kind

    assert list_kind(["获得感", "幸福感", "安全感"]) == "people"
    assert kind_of("三级书记") != "people" and kind_of("党员干部") != "people"


def test_the_quiz_layers_call_only_down():
    # content/quiz/ is read from the bottom up: no class calls a method that a class above it defines.
    import ast
    from pathlib import Path

    order = ["reading", "options", "clozes", "which_part", "bank"]
    folder = Path(__file__).resolve().parent.parent / "content" / "quiz"
    trees = {m: ast.parse((folder / f"{m}.py").read_text("utf-8")) for m in order}
    methods = {
        f.name: m
        for m, tree in trees.items()
        for c in tree.body
        if isinstance(c, ast.ClassDef)
        for f in c.body
        if isinstance(f, ast.FunctionDef)
    }
    upward = [
        (m, node.attr)
        for m, tree in trees.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and order.index(methods.get(node.attr, m)) > order.index(m)
    ]
    assert upward == []


def test_a_spirit_and_an_ordinal_inside_a_quote_are_asked_against_their_fields():
    # “钉钉子”精神 wants another spirit of its build (老黄牛, 拓荒牛), not a word of the speech; 第一资源 inside
    # “人才是第一资源” is a term of its own (第一动力, 第一要务), asked inside the quote.
    text = short_speech(
        "在全县人才工作会议上的讲话",
        "部署今年的人才工作和干部队伍建设",
        [
            (
                "聚才",
                "各乡镇各部门要牢固树立“人才是第一资源”的理念，把引才育才作为一项基础性工作来抓，"
                "完善乡土人才培育机制，落实人才住房、子女入学等服务保障，把“引得来”转化为“留得住”。"
                "县委组织部要牵头实施“雁归工程”，会同人社部门建立返乡人才工作台账，一季度一调度，确保各项政策落到实处。",
            ),
            (
                "干事",
                "要在真抓实干上见实效。全县党员干部要发扬“钉钉子”精神，一锤接着一锤敲，一张蓝图绘到底，不达目的不罢休。"
                "各级领导干部要落实“四下基层”制度，带头深入基层一线，面对面听取群众意见，实打实解决群众困难，"
                "以干部的“辛苦指数”换取群众的“幸福指数”，让群众看到实实在在的变化。",
            ),
        ],
    )
    questions = build_model(text).questions
    asked = {q.options[q.answer]: q for q in questions if q.kind == "cloze"}
    spirit = asked["钉钉子"]
    assert set(spirit.options) - {"钉钉子"} <= {"老黄牛", "孺子牛", "拓荒牛", "铺路石"}, spirit.options
    assert "发扬“＿＿”精神" in spirit.question
    ordinal = asked["第一资源"]
    assert "“人才是＿＿”" in ordinal.question, ordinal.question
    assert all(o.startswith("第一") for o in ordinal.options), ordinal.options


def test_a_passage_that_opens_on_a_thesis_is_asked_about_it():
    # 法治是最好的营商环境。要全面推行…“首违不罚”…: the passage argues from its first sentence; a term of the
    # requirement after it is a detail of it. (营商环境就是生产力、竞争力: a thesis of two predicates.)
    text = short_speech(
        "在全市优化营商环境大会上的讲话",
        "部署今年的营商环境工作",
        [
            (
                "强化法治保障",
                "法治是最好的营商环境。要全面推行包容审慎监管，扩大“首违不罚”清单范围，"
                "坚决防止“一刀切”执法和选择性执法，让企业在法治的轨道上安心发展、放心投资，"
                "对涉企案件要依法快立快审快执，切实保护企业和企业家的合法权益。",
            ),
            (
                "提升服务效能",
                "营商环境就是生产力、竞争力。要深化“一网通办”改革，推动更多涉企事项网上办、掌上办、"
                "就近办，让企业办事少跑腿、不跑腿，对企业反映的问题要建立台账、限时办结，"
                "做到件件有回音、事事有着落，用企业的获得感检验我们的工作成效。",
            ),
        ],
    )
    prompts = {lesson.prompt for lesson in build_model(text).lessons}
    assert any("“法治是最好的营商环境”" in p for p in prompts), prompts
    assert any("“营商环境就是生产力、竞争力”" in p for p in prompts), prompts


def test_points_of_three_characters_and_a_run_of_bullets_are_asked_together():
    # 一是要讲政治…二是要重品行…三是要勇担当…: the hopes together, not 对党忠诚 of the first; ——到基层一线去。
    # ——到发展一线去。——到急难险重一线去。: the three directions, not a programme inside one of them.
    text = short_speech(
        "在全市年轻干部工作会议上的讲话",
        "部署年轻干部培养工作",
        [
            (
                "希望",
                "借此机会，我向全市年轻干部提几点希望。一是要讲政治，始终把对党忠诚作为第一位的要求，"
                "在大是大非面前立场坚定。二是要重品行，严以修身、严以用权、严以律己，干干净净做事。"
                "三是要勇担当，面对矛盾敢于迎难而上，面对失误敢于承担责任，努力成为堪当重任的栋梁之材。",
            ),
            (
                "锻炼",
                "年轻干部成长必须经过基层一线的摔打磨砺。具体来讲，要突出三个方向：\n"
                "——到基层一线去。没有基层经历的机关年轻干部，都要安排到乡镇、村任职或挂职，时间不少于两年。\n"
                "——到发展一线去。每年选派一批年轻干部组成“攻坚突击队”，到重大项目建设一线经受历练。\n"
                "——到急难险重一线去。在信访维稳、应急处突等任务中，有意识地安排年轻干部挑大梁、当主角。",
            ),
        ],
    )
    prompts = [lesson.prompt for lesson in build_model(text).lessons]
    assert any("“讲政治、重品行、勇担当”" in p for p in prompts), prompts
    assert any("“到基层一线去、到发展一线去、到急难险重一线去”" in p for p in prompts), prompts


def test_what_a_passage_says_it_has_shown_is_its_point():
    # 实践证明，只有…才能…: the passage's conclusion, above the fault it warns of after it; the cue itself is
    # never a phrase.
    text = short_speech(
        "在全市干部工作会议上的讲话",
        "部署今年的干部工作",
        [
            (
                "容错纠错",
                "去年以来，全市共对27名在项目建设、信访化解等工作中出现失误但出于公心的干部实施了容错免责，"
                "有的已经重新走上了重要岗位。实践证明，只有让敢干事的人没有后顾之忧，才能激发干部队伍的精气神。"
                "各地各单位要用好这一机制，严格把握政策界限，坚决防止把容错纠错当成违纪违法的“挡箭牌”。",
            ),
            (
                "培养",
                "回顾全市发展的历程，每一个重要阶段都离不开一批年轻干部的挺身而出，他们白手起家、风餐露宿，"
                "在滩涂上建起了港口。历史和现实都告诉我们，年轻干部是事业发展的生力军，把他们培养好、使用好，"
                "就是对党的事业最大的负责。",
            ),
        ],
    )
    lessons = build_model(text).lessons
    prompts = [lesson.prompt for lesson in lessons]
    assert any("“只有让敢干事的人没有后顾之忧，才能激发干部队伍的精气神”" in p for p in prompts), prompts
    assert any("“年轻干部是事业发展的生力军”" in p for p in prompts), prompts
    assert not any("实践证明" in lesson.phrase for lesson in lessons)


def test_a_passage_of_two_paragraphs_of_weight_is_asked_about_both():
    # 耕地是粮食生产的命根子。… / 建好农田只是第一步，管好用好才是关键。…: one lesson, two points, both named.
    text = short_speech(
        "在全县农村工作会议上的讲话",
        "部署今年的农业农村工作",
        [
            (
                "耕地保护",
                "耕地是粮食生产的命根子。要坚决遏制耕地“非农化”、严格管控“非粮化”，全面落实田长制，"
                "建立县、乡、村三级田长体系，对违法占用耕地的行为发现一起、查处一起，决不姑息。"
                "今年要完成高标准农田建设三万亩，确保粮食播种面积只增不减。\n"
                "建好农田只是第一步，管好用好才是关键。当前，一些地方存在重建设、轻管护的问题，"
                "有的机耕路损毁无人修，有的灌溉渠道淤塞无人管。要建立高标准农田管护责任制，"
                "落实管护主体和经费，确保农田建成一块、管好一块、见效一块。",
            ),
            (
                "产业发展",
                "要坚持“一乡一业、一村一品”，做强茶叶、蔬菜、中药材三大主导产业，推动农产品加工业提档升级，"
                "让农民更多分享产业增值收益，今年全县农产品加工产值要增长百分之十以上。",
            ),
        ],
    )
    prompts = [lesson.prompt for lesson in build_model(text).lessons]
    both = [p for p in prompts if "耕地是粮食生产的命根子" in p]
    assert both and "建好农田只是第一步，管好用好才是关键" in both[0], prompts


def test_a_list_of_one_opening_keeps_it_on_its_first_item():
    # 让企业家的意见建议有地方说、有人听、有回音: 有 opens every item, the first too (not 地方说).
    import jieba

    from content.terms import enumerations

    text = "要健全政企沟通机制，让企业家的意见建议有地方说、有人听、有回音。"
    assert enumerations(text, jieba.lcut) == [["有地方说", "有人听", "有回音"]]


def test_an_honour_is_no_prompt_and_an_opening_of_nothing_to_name_asks_the_meetings_aim():
    # 两个支部被命名为省直机关“四强”党支部: an honour reported, not a 提法; the opening asks what the meeting
    # rallies its audience to (动员…以更高标准推进模范机关建设).
    text = short_speech(
        "在厅机关党的建设工作会议上的讲话",
        "总结去年厅机关党建工作，安排今年重点任务，动员各级党组织和广大党员干部以更高标准推进模范机关建设",
        [
            (
                "强化政治引领",
                "去年，两个支部被命名为省直机关“四强”党支部，成绩来之不易。要把“两个确立”的决定性意义转化为"
                "做到“两个维护”的政治自觉，严格执行重大事项请示报告制度，确保党中央决策部署在厅机关落地见效。",
            ),
            (
                "推动融合发展",
                "要深化“党建+项目”模式，把支部建在项目上，让党旗在水利工程建设一线高高飘扬，"
                "以党建高质量推动水利事业高质量发展，坚决防止党建和业务“两张皮”。",
            ),
        ],
    )
    lessons = build_model(text).lessons
    assert all("四强" not in lesson.phrase for lesson in lessons)
    assert "“以更高标准推进模范机关建设”" in lessons[0].prompt, lessons[0].prompt


def test_a_fault_in_one_paragraph_and_a_requirement_opening_the_other_are_asked_together():
    # …不能停留在“读读文件、念念报纸”的层面。… / 要注重家风建设。…: what is criticised and what is asked.
    text = short_speech(
        "在全市年轻干部工作会议上的讲话",
        "部署年轻干部培养工作",
        [
            (
                "教育",
                "思想政治教育要入脑入心，不能停留在“读读文件、念念报纸”的层面。要组织年轻干部走进田间地头、"
                "车间工地、社区楼院，在同群众面对面交流中受教育、长才干，每年至少开展两次集中调研，"
                "形成一批有分量的调研报告，真正把学到的理论转化为推动工作的本领。\n"
                "要注重家风建设。家风连着作风，作风连着党风。年轻干部刚刚成家立业，正是涵养良好家风的重要时期。"
                "各级党组织要通过举办家庭助廉活动、寄送廉洁家书等方式，引导年轻干部管好家属子女，"
                "以清正家风涵养清廉作风，筑牢拒腐防变的家庭防线。",
            ),
            (
                "监督",
                "要坚持严管和厚爱相结合，建立年轻干部成长档案，对苗头性倾向性问题早发现、早提醒、早纠正，"
                "让年轻干部在监督中成长、在约束下前行。",
            ),
        ],
    )
    prompts = [lesson.prompt for lesson in build_model(text).lessons]
    both = [p for p in prompts if "读读文件、念念报纸" in p]
    assert both and "注重家风建设" in both[0], prompts


def test_two_sayings_of_a_fault_and_a_balance_of_two_pairs_are_asked_whole():
    # 绝不能“会上热、会后冷”“说起来重要、做起来次要”: one fault in two sayings; 把严管和厚爱结合起来、激励和约束
    # 并重: the principle the measures before it come to. (…没有最好、只有更好 is no requirement.)
    text = short_speech(
        "在全市作风建设大会上的讲话",
        "部署今年的作风建设工作",
        [
            (
                "抓落实",
                "优化营商环境没有最好、只有更好。各级各部门要把今天会议的部署转化为具体行动，对照任务清单，"
                "逐项抓好落实，对企业关心的问题要件件有回音，绝不能“会上热、会后冷”“说起来重要、做起来次要”，"
                "年底前市里将组织专项评估，对工作推进情况进行全面检验。",
            ),
            (
                "严管厚爱",
                "要严肃查处门难进、脸难看、事难办等问题，对涉企执法中的突出问题实行“一案双查”。同时，"
                "要落实容错纠错机制，对受到诬告错告的干部及时澄清正名，为敢于担当的干部撑腰鼓劲，"
                "把严管和厚爱结合起来、激励和约束并重，让干部在干事创业中放开手脚、轻装上阵。",
            ),
        ],
    )
    prompts = [lesson.prompt for lesson in build_model(text).lessons]
    assert any("“会上热、会后冷”“说起来重要、做起来次要”" in p for p in prompts), prompts
    assert any("严管和厚爱结合起来、激励和约束并重" in p for p in prompts), prompts
    assert not any("没有最好、只有更好”你打算" in p for p in prompts), prompts


def test_what_a_fault_really_is_and_a_saying_of_two_halves_rank_above_an_example():
    # 比如，…“换一任领导换一个思路”…: an example; 这些问题看似是…，实质上是…: the point. 严是爱，松是害。: a saying
    # the passage turns on.
    text = short_speech(
        "在全县乡村振兴工作会议上的讲话",
        "部署今年的乡村振兴工作",
        [
            (
                "作风",
                "一些地方抓产业发展还存在不少问题。比如，有的乡镇产业规划年年编、年年改，“换一任领导换一个思路”，"
                "结果项目多而散，形不成规模。这些问题看似是工作方法问题，实质上是政绩观问题、作风问题，"
                "必须下决心加以纠正，各乡镇要对照查摆，逐项整改到位。",
            ),
            (
                "师德",
                "严是爱，松是害。对师德失范行为要坚持零容忍，发现一起、查处一起、通报一起，"
                "对情节严重的实行“一票否决”，同时要依法维护教师合法权益，让广大教师安心从教、静心育人。",
            ),
        ],
    )
    prompts = [lesson.prompt for lesson in build_model(text).lessons]
    assert any("实质上是政绩观问题、作风问题" in p for p in prompts), prompts
    assert any("“严是爱，松是害”" in p for p in prompts), prompts


def test_a_list_of_how_a_result_was_won_is_a_spirit_and_asked_of_people():
    # 顶烈日、冒风雨、苦干实干: not points to pick from, a spirit seen in people (…的劲头).
    from content.prompts import list_kind
    from content.prompts.forms import FORMS, fill_form

    assert list_kind(["顶烈日", "冒风雨", "苦干实干"]) == "spirit"
    assert list_kind(["文明乡风", "良好家风", "淳朴民风"]) != "spirit"
    said = fill_form(FORMS["spirit"][0], "顶烈日、冒风雨、苦干实干")
    assert said == "你身边谁身上有“顶烈日、冒风雨、苦干实干”的劲头？你打算怎样向他学习？", said


def test_what_counts_against_what_does_not_is_a_principle_quoted_whole():
    # 让科学家把主要精力放在科研上，而不是填表格、跑审批上: the measure of the passage's reforms.
    text = short_speech(
        "在全市科技创新大会上的讲话",
        "部署今年的科技创新工作",
        [
            (
                "科研管理",
                "要深化科研项目管理改革，赋予科研单位和科研人员更大自主权，精简各类检查评估，"
                "让科学家把主要精力放在科研上，而不是填表格、跑审批上，真正为科研人员松绑减负。",
            ),
            (
                "人才",
                "要实施青年科技人才“启航计划”，每年遴选一批青年科技人才给予持续支持，"
                "在重大项目、重点平台中给他们压担子、搭梯子，让优秀人才脱颖而出。",
            ),
        ],
    )
    prompts = [lesson.prompt for lesson in build_model(text).lessons]
    assert any("“让科学家把主要精力放在科研上，而不是填表格、跑审批上”" in p for p in prompts), prompts


def test_what_a_work_is_not_and_what_it_is_ranks_above_a_spirit_said_in_passing():
    # 以钉钉子精神抓好…: a manner; 专项整治不是简单地查一查、罚一罚，而是要找准风险根源、完善制度体系: the point.
    text = short_speech(
        "在全市安全生产工作会议上的讲话",
        "部署今年的安全生产工作",
        [
            (
                "专项整治",
                "今年是重大事故隐患专项排查整治行动的攻坚之年，必须坚持问题导向，以钉钉子精神抓好重点行业领域整治。"
                "专项整治不是简单地查一查、罚一罚，而是要找准风险根源、完善制度体系，做到查大风险、除大隐患、"
                "防大事故，推动安全生产治理模式向事前预防转型。",
            ),
            (
                "应急",
                "要健全应急指挥体系，完善应急预案，加强应急演练，提升基层应急处置能力，"
                "确保一旦有事拉得出、冲得上、打得赢，最大限度减少人员伤亡和财产损失。",
            ),
        ],
    )
    prompts = [lesson.prompt for lesson in build_model(text).lessons]
    assert any("专项整治不是简单地查一查、罚一罚，而是要找准风险根源、完善制度体系" in p for p in prompts), (
        prompts
    )


def test_foundations_laid_one_by_one_are_asked_together_as_a_standard():
    # 筑牢信仰之基，…打牢从政之基，…夯实廉政之基: what a cadre measures himself by, all of them.
    text = short_speech(
        "在全县干部教育培训工作会议上的讲话",
        "部署今年的干部教育培训工作",
        [
            (
                "素质培养",
                "要教育引导干部加强党性修养、筑牢信仰之基，加强政德修养、打牢从政之基，严守纪律规矩、夯实廉政之基，"
                "增强干部素质培养的系统性、持续性、针对性，把干部素质培养贯穿干部成长全过程。",
            ),
            (
                "培训方式",
                "要创新培训方式，推行案例教学、现场教学、情景模拟，让干部在实践中学、在学中干，"
                "切实提升干部推动高质量发展的本领，确保培训取得实实在在的效果。",
            ),
        ],
    )
    lessons = build_model(text).lessons
    assert any(lesson.phrase == "筑牢信仰之基、打牢从政之基、夯实廉政之基" for lesson in lessons), [
        lesson.prompt for lesson in lessons
    ]


def test_an_image_is_asked_against_images_of_other_meanings():
    # “先手棋” against 压舱石、风向标…, never against 突破口 or 牛鼻子 (a key move too: arguably right); a role
    # one plays (当好“店小二”) against roles; and a list said as a fault (更不能“挂牌子、派任务、要台账”) gets no
    # requirement of the speech (讲政治) as the item it does not hold.
    from content.lexicon import fields, fields_holding

    text = short_speech(
        "在全市科技创新大会上的讲话",
        "部署今年的科技创新工作",
        [
            (
                "建强创新平台",
                "云江实验室是全市创新体系的“金字招牌”，也是争创国家级平台的“先手棋”。"
                "今年要全面完成实验室二期建设，引进顶尖科研团队，力争年内纳入省实验室体系，"
                "让实验室真正成为集聚创新资源、孵化创新成果的重要载体。",
            ),
            (
                "优化创新服务",
                "各级领导干部要当好服务企业的“店小二”，做到有求必应、无事不扰，对企业反映的问题建立台账、限时办结。"
                "对社区书记，要使之做到讲政治、善治理、能服务、敢担当。"
                "各部门不能当“甩手掌柜”，把本该自己承担的工作一股脑推给基层，更不能“挂牌子、派任务、要台账”。",
            ),
        ],
    )
    questions = build_model(text).questions
    asked = {q.options[q.answer]: q for q in questions if q.kind == "cloze"}
    own = {name for k in fields_holding("先手棋") for name, terms, _ in [fields()[k]] if "先手棋" in terms}
    move = asked["先手棋"]
    for option in set(move.options) - {"先手棋"}:
        names = {fields()[k][0] for k in fields_holding(option)}
        assert names and not names & own and all(n.startswith("比喻·") for n in names), move.options
    role = asked["店小二"]
    assert all(any(fields()[k][0].startswith("比喻人·") for k in fields_holding(o)) for o in role.options), (
        role.options
    )
    for q in questions:
        if q.kind == "exclusion" and "挂牌子" in q.options:
            assert q.options[q.answer] not in {"讲政治", "善治理", "能服务", "敢担当"}, q.options


def test_no_which_part_question_on_a_sentence_that_only_announces():
    # 我们的差距主要体现在四个方面。/ 在这里，我还要对近期几项具体工作提出要求。: any part could say them.
    text = short_speech(
        "在全县乡村振兴工作会议上的讲话",
        "部署今年的乡村振兴工作",
        [
            (
                "认清形势",
                "对照上级要求和群众期盼，我们的差距主要体现在四个方面。一是产业链条短，二是品牌不响。",
            ),
            ("抓好产业", "要做强茶叶和稻米两大产业，推动一二三产业融合发展，让农民更多分享增值收益。"),
            (
                "压实责任",
                "在这里，我还要对近期几项具体工作提出要求。各乡镇要在月底前完成摸排，建立工作台账。",
            ),
        ],
    )
    sources = {q.source for q in build_model(text).questions if q.kind == "section"}
    assert not any("四个方面" in s or "提出要求" in s for s in sources), sources


def test_one_result_reached_is_a_figure_report():
    from content.numerals import reports_figures

    assert reports_figures("高新技术产业增加值占规上工业增加值比重达到百分之四十八点六。")
    assert reports_figures("技术合同成交额增长12.5%。")
    assert not reports_figures("要把科技创新摆在发展全局的核心位置。")
