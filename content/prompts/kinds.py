"""The kind of a phrase — standard, programme, principle, problem, spirit, people, image — which decides the
form of its prompt, and the words that are never a prompt's phrase.
"""

from __future__ import annotations

import functools
import re

_PROGRAMME = re.compile(
    r"(工程|行动|计划|机制|制度|体系|平台|模式|清单|工作法|责任制|专项|试点|项目|活动|改革|办法|联动|服务|"
    r"网格|中心|服务站|工作站|联络站|驿站|课堂|书屋|基金|品牌|示范区|一件事|就办|办好|一次办|跑一次|导师|突击队|服务队|讲师团|团|队|"
    r"议事厅|工作室|体验官|人才卡|服务卡|创新券|消费券|一张网|一码通|一网通)$"
)


_PRINCIPLE = re.compile(
    r"(理念|思想|原则|意义|观|宗旨|方针|战略|道路|初心|使命|定位|规律|方向|论|遵循|路线)$"
)


_STANDARD = re.compile(
    r"(标准|要求|底线|红线|本领|能力|纪律|规矩|准则|规范|导向|责任|职责|同责|双责|追责|尽责)$"
)


_PROBLEM = re.compile(r"(问题|短板|弱项|风险|隐患|矛盾|难题|不足|顽疾|主义|乱象|现象|梗阻|堵点|痛点|难点)$")


_SPIRIT = re.compile(r"(精神|作风|品格|情怀|担当|劲头|干劲|境界|品质|气节|风骨|韧劲|闯劲)$")


_PEOPLE = re.compile(r"(感|心事|难事|盼事|急事|愁事)$")


_COUNTED = re.compile(r"^[一二两三四五六七八九十]个.+")


NUMERAL_START = re.compile(r"^[一二两三四五六七八九十百千万零]")


HAN_ONLY = re.compile(r"[\u4e00-\u9fff]+")


# Heads of a quoted image that say what it stands for: “钉钉子”精神.
_IMAGE_HEADS = re.compile(r"^(精神|作风|效应|品格|劲头|干劲|情怀)")


# Words that are too general or too widely shared to be a passage's own phrase.
GENERIC = frozenset(
    """工作 问题 方面 同志们 同志 我们 大家 要求 建设 发展 组织 领导 干部 党员 群众 人民 全市 全县 全区 今年
    去年 当前 目前 实际 情况 任务 作用 意见 会议 讲话 部署 精神 思想 理论 政治 能力 水平 力量 基础 关键 重点
    进一步 坚持 加强 推进 推动 落实 切实 全面 深入 扎实 持续 更加 不断 积极 主动 组成部分 教职员工 交流经验
    实践证明 事实证明 归根结底 由此可见
    习近平新时代中国特色社会主义思想 党的二十大精神 党的二十大 党中央 高质量发展 中国共产党 民族复兴 强国建设
    新时代新征程 社会主义现代化国家 主题教育 以习近平同志为核心的党中央 习近平总书记 习近平
    工作作风 精神状态 工作举措 工作成效 工作任务 工作机制 工作水平 新局面 突出问题 明显成效 重大突破
    十四五 十五五 十四五规划 十五五规划""".split()
)


# A state that falls short, by its build: 三个不够, 挂牌不运转, 责任不到位.
_SHORTFALL = re.compile(
    r"不(?:够|到位|运转|作为|担当|落实|充分|平衡|适应|匹配|规范|严密|深入|健全|完善|有力|明显|严|实|力)$"
)


def _is_problem(phrase: str) -> bool:
    """A named problem of the common vocabulary (吃拿卡要, 信息孤岛, 一刀切: content/data/fields.txt), or a
    state that falls short by its build (三个不够, 挂牌不运转)."""
    from content.lexicon import fields

    if _SHORTFALL.search(phrase):
        return True

    problems = next((terms for name, terms, _ in fields() if name == "问题"), frozenset())
    return phrase in problems or any(len(p) >= 3 and p in phrase for p in problems)


@functools.lru_cache(maxsize=4096)
def kind_of(phrase: str) -> str:
    """The kind of a phrase, which decides the prompt's form."""
    core = phrase.rsplit("”", 1)[-1] or phrase.strip("“”‘’")
    bare = phrase.strip("“”‘’")
    if "、" in bare:
        items = bare.split("、")
        if all(_PEOPLE.search(i) for i in items):
            return "people"
        if all(_PROBLEM.search(i) for i in items):
            return "problem"
        if (
            all(len(i) <= 4 for i in items)
            and sum(bool(re.search(r"[好精强实正硬]$", i)) for i in items) >= 2
        ) or sum(bool(_STANDARD.search(i)) for i in items) * 2 >= len(items):
            return "standard"  # 讲政治、重公道、业务精、作风好; 党政同责、一岗双责…失职追责: duties
        return "programme"
    if _is_problem(bare):
        return "problem"
    if re.search(r"(会|大|全会|讲话|指示|批示|文件)精神$", core):
        return "principle"  # the spirit of a meeting is to be understood, not seen in people
    if re.search(r"”好(?:老师|干部|党员|青年)$", phrase):
        return "standard"  # “四有”好老师: what to measure oneself by
    if re.search(
        r"(伟大|建党|抗战|长征|延安|井冈山|红船|雷锋|焦裕禄|塞罕坝|抗疫|脱贫攻坚|载人航天|劳模|工匠)[\u4e00-\u9fff]*精神$",
        core,
    ):
        return "great_spirit"
    for kind, pattern in (
        ("spirit", _SPIRIT),
        ("problem", _PROBLEM),
        ("people", _PEOPLE),
        ("programme", _PROGRAMME),
        ("standard", _STANDARD),
        ("principle", _PRINCIPLE),
    ):
        if pattern.search(core) or pattern.search(bare):
            return kind
    if _COUNTED.match(bare) or "是" in bare[1:-1]:
        return "principle"
    return "principle"


# What a quoted term may name when a head follows it.
HEAD_NOUN = re.compile(
    r"^(?:的(?:韧劲|劲头|干劲|精神|作风|责任感|紧迫感|使命感|决心|勇气|定力)|(?:培育|提升|示范|攻坚|专项|赋能|培训)?(?:工程|行动|计划)|"
    r"规划|人员|工程|行动|计划|机制|制度|现象|问题|难题|精神|优良作风|作风|品牌|平台|联系服务|帮扶|"
    r"模式|理念|环节|体系|课程|工作法|工作制度|服务|队伍|活动|创建|试点|改革|要求|标准|清单|效应|意识|格局|"
    r"好老师|好干部|好党员|好青年)"
)


ORG_NAME = re.compile(
    r"[\u4e00-\u9fff]{0,3}(?:委|政府|人大|政协|部门|纪委|监委)(?:办|办公室)?|[\u4e00-\u9fff]{1,6}(?:局|厅)"
)


COMMON_FORMULAS = frozenset("两个确立 两个维护 四个意识 四个自信 四个全面 两个务必 三个务必".split())


_ORG = re.compile(r"(会|委|局|部|厅|办|企业|公司|中心|单位|学校|医院|银行|社区|街道|乡镇|村)$")


_TIMED = re.compile(r"^(日|周|旬|月|季|季度|半年|年|年度|每日|每周|每月|每季)")


def head_kind(head: str, term: str) -> str:
    if head in {"现象", "问题", "难题"} or _is_problem(term) or term in {"卡脖子"}:
        return "problem"  # “卡脖子”环节: a fault, whatever names it
    head = re.sub(r"^(培育|提升|示范|攻坚|专项|赋能|培训)(?=工程|行动|计划)", "", head)
    if head == "优良作风":
        return (
            "great_spirit"  # “四下基层”优良作风: a way of working handed down, practised (弘扬), not spotted
        )
    if head.endswith(
        ("韧劲", "劲头", "干劲", "精神", "作风", "责任感", "紧迫感", "使命感", "决心", "勇气", "定力")
    ):
        return "spirit"
    if head in {"规划", "工程", "行动", "计划", "机制", "制度", "品牌", "平台", "模式", "体系", "课程", "工作法",
                "工作制度", "服务", "联系服务", "帮扶", "活动", "创建", "试点", "改革", "清单", "队伍", "人员",
                "环节"}:  # fmt: skip
        return "programme"
    if head in {"好老师", "好干部", "好党员", "好青年"}:
        return "standard"  # “四有”好老师: what to measure oneself by
    if head in {"要求", "标准"}:
        # “讲政治、重公道…”要求 is a standard to check oneself against; “云溪香米”标准 is a product's.
        return "standard" if "、" in term else "principle"
    return "principle"


def list_kind(items: list[str]) -> str | None:
    """The kind of an enumeration, or None when it is no phrase for a prompt (names, organisations, greetings)."""
    if len(items) < 3 or min(map(len, items)) < 2:
        return None
    if all(len(i) <= 3 for i in items) and all(
        not re.search(r"[要抓有讲守重敢善勤严强促]", i[:1]) for i in items
    ):
        if all(_ORG.search(i) or len(i) == 2 for i in items):
            return None  # 南塘、枫林、清河; 居委会、业委会
    if any(re.search(r"(快乐|健康|顺利|如意|幸福美满)$", i) for i in items):
        return None
    if all(re.search(r"[\u4e00-\u9fff]{2,}[多少]$", i) for i in items):
        return None  # 老旧小区多、商务楼宇多: what a place is like, no requirement
    if all(len(i) == 3 and i.endswith("性") for i in items):
        return None  # 长期性、基础性、战略性: what the work is like, asked by the quiz rather than a prompt
    if all(_TIMED.match(i) for i in items):
        return "programme"  # 月调度、季通报、年考核: a mechanism
    efforts = r"苦干|实干|奉献|拼搏|吃苦|攻坚|克难|顶烈日|冒风雨|披星戴月|夜以继日|加班加点|默默坚守|不畏艰难"
    if sum(bool(re.search(efforts, i)) for i in items) >= len(items) - 1:
        return "spirit"  # 顶烈日、冒风雨、苦干实干: how a result was won, a spirit to see in people
    kinds = {kind_of(i) for i in items}
    if len(kinds) == 1 and kinds <= {"programme", "problem", "standard", "people"}:
        return kinds.pop()  # 问题清单、整改清单、责任清单: what each item is, the list is
    joined = "、".join(items)
    kind = kind_of(joined)
    if kind in {"standard", "people", "problem"}:
        return kind
    if (
        sum(
            bool(
                re.match(r"^(讲|守|重|敢|善|勤|严|忠|干净|担当)", i)
                or re.search(r"[于][\u4e00-\u9fff]{2}$", i)
            )
            for i in items
        )
        >= len(items) - 1
    ):
        return "standard"  # 讲政治、守纪律; 善于监督、精于执纪: qualities to check oneself against
    return "enumeration"


def is_fragment(phrase: str) -> bool:
    """A phrase that is not a term: too short, or a verb with its particle (讲得, 慢不得)."""
    bare = phrase.strip("“”‘’")
    return len(bare) < 2 or bool(re.fullmatch(r"[\u4e00-\u9fff]{1,2}[得的了着地]", bare))
