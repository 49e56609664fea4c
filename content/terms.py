"""Key phrases of a speech: quoted 提法, enumerations, a jieba dictionary that keeps them whole, keywords.

Nothing here touches jieba's dictionary at import time. A speech's tokenizer gets only the part of
jieba's dictionary that occurs in the speech and the words around those (read from dict.txt through an
index of it, `dictindex`: some 30,000 of its 349,000 entries for 10,000 characters) plus the speech's own
phrases, so it is small and one speech's words never change how another is segmented.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from content import dictindex

logger = logging.getLogger(__name__)

_QUOTED = re.compile(r"“([^“”]{1,30})”")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE_END = re.compile(r"(?<=[。！？；\n])")
# Fixed phrases of political writing that jieba would otherwise cut apart; added only where they occur.
FIXED_PHRASES = (
    "习近平新时代中国特色社会主义思想",
    "以习近平同志为核心的党中央",
    "习近平总书记",
    "党的二十大精神",
    "党的二十大",
    "伟大建党精神",
    "全面从严治党",
    "高质量发展",
    "高质量党建",
    "民族复兴",
    "强国建设",
    "基层党组织",
    "新时代新征程",
    "主题教育",
    "党中央",
    "中国共产党",
    "社会主义现代化国家",
    "中央八项规定",
    "干事创业",
    "凝心铸魂",
    "思想建党",
    "理论强党",
    "好干部标准",
    "选人用人",
    "人才强省",
    "社会治理",
    "乡村振兴",
    "基层治理",
    "党员队伍",
    "党性修养",
    "政德修养",
    "组工干部",
)
# Words too general to name what an excerpt is about.
STOPWORDS = frozenset(
    """我们 你们 他们 要 要求 坚持 推动 进一步 更加 不断 全面 加强 持续 一些 各级 各个 同时 一方面 另一方面
    始终 切实 自觉 深入 扎实 做好 抓好 抓实 提高 提升 实现 确保 工作 方面 问题 重要 今天 这个 那些 就是 必须
    广大 充分 积极 有效 中国 同志 同志们 从而 以及 其中 通过 形成 之后 之所 作为 不断增强 注重 围绕 结合 强化
    突出 总是 每次 这样 一路 走来 正在 开展 落实 贯彻 学习 领会 深刻 领悟 把握 进行 建设 发展 组织 思想 政治
    党的 人民 之基 引导 教育 一代代 一块 一处 一步""".split()
)


def _jieba():
    """The jieba module, imported without pkg_resources.

    jieba 0.42 imports pkg_resources only to open its own data files (and opens them by path without it);
    importing pkg_resources costs 80–150 ms and several MiB, more than the rest of jieba. Nothing else
    here uses it; if something has imported it already, it is left as it is."""
    if "jieba" not in sys.modules and "pkg_resources" not in sys.modules:
        sys.modules["pkg_resources"] = None  # `import pkg_resources` raises ImportError meanwhile
        try:
            import jieba
        finally:
            if sys.modules.get("pkg_resources", False) is None:
                del sys.modules["pkg_resources"]
    import jieba

    return jieba


@functools.cache
def _base_tokenizer():
    """jieba's tokenizer with its main dictionary loaded (once per process, from jieba's disk cache)."""
    jieba = _jieba()

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def idf_table(vocabulary: frozenset[str], freq: dict[str, int], total: int) -> tuple[dict[str, float], float]:
    """How rare each word of the speech is in general use: log(total / count) from jieba's own dictionary
    counts (the speech's part of it, already at hand), and the rarity given to words it does not know.

    jieba's idf.txt would say much the same at the cost of reading 270,000 more lines (~0.3 s) per speech.
    """
    table = {w: math.log(total / freq[w]) for w in vocabulary if freq.get(w)}
    values = sorted(table.values())
    median = values[len(values) // 2] if values else 10.0
    return table, median


def release_build_caches() -> None:
    """Forget jieba's base dictionary and IDF tables once the models a process needs are built."""
    _base_tokenizer.cache_clear()
    _speech_dictionary.cache_clear()


def make_tokenizer(words: Iterable[str], text: str | None = None):
    """A jieba tokenizer that keeps `words` whole, sharing nothing mutable with other speeches.

    With `text`, its dictionary is jieba's cut down to the words that occur in the text (see
    `speech_dictionary`): it cuts the text exactly as the full one would, at a fraction of the memory."""
    tokenizer = _jieba().Tokenizer()
    if text is None:
        base = _base_tokenizer()
        tokenizer.FREQ, tokenizer.total = dict(base.FREQ), base.total
    else:
        tokenizer.FREQ, tokenizer.total = speech_dictionary(text)
    tokenizer.initialized = True
    for word in sorted(set(words)):
        if len(word) >= 2:
            # A high frequency wins over any split the main dictionary would prefer.
            tokenizer.add_word(word, freq=max(tokenizer.FREQ.get(word) or 0, 100_000))
    return tokenizer


def speech_dictionary(text: str) -> tuple[dict[str, int], int]:
    """A fresh copy of `_speech_dictionary(text)` (a tokenizer adds words to its own)."""
    freq, total, *_ = _speech_dictionary(text)
    return dict(freq), total


def speech_tags(text: str) -> dict[str, str]:
    """jieba's part-of-speech tags (n, v, vn…) of the dictionary words that occur in the text."""
    return _speech_dictionary(text)[2]


NEAR_MIN = 50
_DICT_COUNT = dictindex.DICT_COUNT  # a line of jieba's dict.txt: word, count and an optional tag


def near_words(text: str) -> tuple[tuple[str, str], ...]:
    """Common words not in the text made of a piece of it and one more character, with their tags."""
    return _speech_dictionary(text)[3]


@functools.lru_cache(maxsize=4)
def _speech_dictionary(text: str) -> tuple[dict[str, int], int, dict[str, str], tuple[tuple[str, str], ...]]:
    """jieba's main dictionary cut down to the words that occur in ``text``, and the dictionary's total count.

    Read from jieba's dict.txt as jieba's own loader reads it (through `dictindex`, which finds the lines a
    text can need without reading the others), keeping a word only if it occurs in the text (with its
    prefixes, which jieba's segmenter walks through). Segmenting any part of
    the text gives the same words as with the whole dictionary: every word jieba could choose there is a
    substring of the text, with the same count and total. Elsewhere (a search query) unknown runs go to
    jieba's HMM as any unknown word does, and a word that is not in the text cannot match it anyway;
    the longer words around the speech's own (`_extensions`) are kept too, so a query is cut around them as
    with the whole dictionary. The whole would be 500,000 entries, about 75 MiB of the process (and a
    disk cache built on first use); what is kept for one speech is about 15,000.

    Also kept: the part-of-speech tags of the kept words (`speech_tags`), and common words not in the text
    that are one of its words with one character after it (责任感 in a speech with 责任 and 获得感,
    `near_words`): quiz distractors of a list's own shape.
    """
    path = Path(_jieba().__file__).parent / "dict.txt"
    # The text's pieces of one to four characters, by length (40,000 for 10,000 characters, where all
    # those of up to 16, jieba's longest word, were 160,000); a longer word (there are few) is looked for
    # in the text itself.
    pieces = (frozenset(), *({text[i : i + n] for i in range(len(text) - n + 1)} for n in range(1, 5)))
    chars, pairs = pieces[1], pieces[2]
    found = dictindex.speech_entries(path, chars, pairs)
    if found is None:  # no index of dict.txt and none can be written: read it whole
        words, counts, word_tags, total = _read_entries(path, chars, pairs)
    else:
        words, counts, word_tags, total = found
    freq: dict[str, int] = {}
    tags: dict[str, str] = {}
    # Words that may extend one of the speech's (see _extensions), sorted out once those are known.
    around: list[tuple[str, int]] = []
    near: list[tuple[str, str]] = []
    for word, count, tag in zip(words, counts, word_tags, strict=True):
        size = len(word)
        if word in pieces[size] if size <= 4 else size <= 16 and word in text:
            freq[word] = count
            if tag:
                tags[word] = tag
        elif size > 2 and (word[:2] in pairs or word[-2:] in pairs):
            around.append((word, count))
            if count >= NEAR_MIN and size <= 5 and tag and word[-1] in chars:
                if word[:-1] in pieces[size - 1]:
                    near.append((word, tag))
    freq.update(_extensions(around, {w for w, count in freq.items() if count and len(w) >= 2}))
    # And the prefixes of all of them, count 0 (in the order of the words, as one at a time would add them).
    prefixes = dict.fromkeys(word[:end] for word in freq for end in range(1, len(word)))
    freq.update({word: 0 for word in prefixes if word not in freq})
    return freq, total, tags, tuple(near)


def _read_entries(
    path: Path, chars: set[str], pairs: set[str]
) -> tuple[list[str], list[int], list[str | None], int]:
    """What `dictindex.speech_entries` finds, read from dict.txt line by line (as jieba's own loader reads
    it): the entries that are one of `chars` or begin with one of `pairs` or, of three characters or more,
    end with one. Only those lines are parsed further (a plain loop over the lines is twice as fast as a
    regular expression over the file)."""
    dict_txt = path.read_text("utf-8")
    words, counts, tags = [], [], []
    for line in dict_txt.splitlines():
        word = line.partition(" ")[0]
        if (
            word in chars
            if len(word) == 1
            else len(word) > 1 and (word[:2] in pairs or (len(word) > 2 and word[-2:] in pairs))
        ):
            word, count, tag = dictindex.parse_line(line)
            words.append(word)
            counts.append(count)
            tags.append(tag)
    return words, counts, tags, _dict_total(str(path), dict_txt)


_TOTALS: dict[str, int] = {}


def _dict_total(path: str, dict_txt: str) -> int:
    """The sum of dict.txt's counts (jieba's total): once per process, and kept beside jieba's own cache
    in the temp directory (keyed by the file's size and time) so a fresh process need not add up
    350,000 counts again."""
    if path in _TOTALS:
        return _TOTALS[path]
    import json
    import tempfile

    st = Path(path).stat()
    key = f"{path}:{st.st_size}:{st.st_mtime_ns}"
    cache = Path(tempfile.gettempdir()) / "studybot-jieba-total.json"
    try:
        saved = json.loads(cache.read_text("utf-8"))
        if saved.get("key") == key and isinstance(saved.get("total"), int):
            _TOTALS[path] = saved["total"]
            return saved["total"]
    except (OSError, ValueError, AttributeError):
        pass
    total = sum(map(int, _DICT_COUNT.findall(dict_txt)))
    _TOTALS[path] = total
    try:
        partial = cache.with_name(f"{cache.name}.{os.getpid()}")
        partial.write_text(json.dumps({"key": key, "total": total}), "utf-8")
        os.replace(partial, cache)
    except OSError:
        pass  # a read-only temp directory: add them up again next time
    return total


def _extensions(candidates: Iterable[tuple[str, int]], words: set[str]) -> dict[str, int]:
    """The candidate dictionary words that start or end with one of `words` (共同富裕 for 共同).

    With them a search query is cut as jieba would cut it: 共同富裕 stays whole (and matches nothing in a
    speech without it) instead of leaving a 共同 that would match an unrelated sentence. None of them
    occurs in the speech, so the speech's own segmentation does not change.
    """
    return {word: count for word, count in candidates if _extends(word, words)}


def _extends(word: str, words: set[str]) -> bool:
    """Whether a part of `word` of two or more characters, at its start or its end, is one of `words`."""
    size = len(word)
    if size == 3:  # most of them: spelt out, three times as fast as the loops below
        return word[:2] in words or word[1:] in words
    if size == 4:
        return word[:2] in words or word[:3] in words or word[1:] in words or word[2:] in words
    return any(word[:end] in words for end in range(2, size)) or any(
        word[start:] in words for start in range(1, size - 1)
    )


def quoted_terms(text: str) -> list[str]:
    """Distinct quoted terms “…” in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _QUOTED.finditer(text):
        term = match.group(1).strip()
        if _HAN.search(term):
            seen.setdefault(term, None)
    return list(seen)


def fixed_phrases(text: str) -> list[str]:
    """The fixed phrases that occur in the text."""
    return [p for p in FIXED_PHRASES if p in text]


def title_phrase(title: str) -> str:
    """The core of a section title: 扎实做好理论武装 → 理论武装."""
    core = re.sub(
        r"^(扎实|抓实|切实|着力|全面|持续|进一步)?(做好|抓好|加强|推进|推动|坚持|强化|做实)", "", title
    )
    return core if len(core) >= 2 else title


def enumerations(clause_text: str, cut) -> list[list[str]]:
    """Lists of three or more parallel items (A、B、C) in the clauses of a sentence.

    `cut` is a segmenting function; it trims the first and last item to the length of the middle ones
    on word boundaries (推动形成能者上 → 能者上, 劣者汰的良好局面 → 劣者汰).
    """
    found = []
    for clause in re.split(r"[，,；;。！？：:]", clause_text):
        parts = clause.split("、")
        if len(parts) < 3:
            continue
        items = _list_of(parts, cut)
        if items:
            found.append(items)
            continue
        # Two lists in one clause (维护社会稳定、联系服务群众中挑重担、当先锋、打头阵): the part between them
        # ends the one and begins the other.
        for at in range(2, len(parts) - 2):
            first, second = _list_of(parts[: at + 1], cut), _list_of(parts[at:], cut)
            if first and second:
                found += [first, second]
                break
        else:
            for at in range(2, len(parts) - 1):
                first = _list_of(parts[: at + 1], cut)
                if first and len(parts) - at < 3:
                    found.append(first)  # a list and the words after it (专业精神的优秀干部选出来、用起来)
                    break
    return found


def _list_of(parts: list[str], cut) -> list[str] | None:
    """The items of one list from its parts split at 、, the outer ones trimmed; None if not parallel."""
    middle = [p.strip("“”") for p in parts[1:-1]]
    if any(not p or "“" in p or "”" in p for p in middle):
        return None
    if max(map(len, middle)) - min(map(len, middle)) > 2:
        return None  # not parallel items: a list phrase swallowed into a longer clause
    target = Counter(len(p) for p in middle).most_common(1)[0][0]
    first = _trim(parts[0], target, cut, from_end=True)
    last = _trim(parts[-1], target, cut, from_end=False)
    end = middle[0][-1]
    if len({len(p) for p in middle}) == 1 and all(p[-1] == end for p in middle):
        # Items of one ending (长期性、基础性、战略性工作): the outer ones end where the ending does.
        if len(last) > target and last[target - 1] == end:
            last = last[:target]
        if len(first) > target and first[-1] == end:
            first = first[-target:]
    # Items of one opening (有地方说、有人听、有回音) or ending: the outer ones keep it where the text has it
    # (the trim takes 有 for a lead word).
    opening = middle[0][:1]
    outer = parts[0].strip("“”")
    if opening and all(p.startswith(opening) for p in middle) and first and not first.startswith(opening):
        if outer.endswith(opening + first):
            first = opening + first
    items = [first, *middle, last]
    if all(it and 2 <= len(it) <= 12 and _HAN.search(it) for it in items):
        return items
    return None


# Words that end a list where they follow its last item: particles, and the verb the list is the goal of
# (向经济部门、项目一线、基层乡镇倾斜: 倾斜 is not part of 基层乡镇).
_TAIL = ("的", "等", "之", "各", "各项", "等等", "中", "上", "倾斜", "延伸", "集聚", "流动", "下沉", "转移")
_LEAD = "在以把对向从为让使将与和及有"


def _trim(item: str, target: int, cut, from_end: bool) -> str:
    """Cut an outer item of a list down to about `target` characters on word boundaries.

    The first item keeps its last words (推动形成能者上 → 能者上); the last item keeps its first words
    up to a particle or other tail word (劣者汰的良好局面 → 劣者汰, 高端人才匮乏的问题 → 高端人才匮乏).
    """
    if from_end and "“" in item:
        item = item.rsplit("“", 1)[1]
    if from_end and len(item) > target and item[0] in _LEAD:
        item = item[1:]  # 在江河治理 → 江河治理: a preposition is not part of the first item
    if not from_end and "”" in item:
        item = item.split("”", 1)[0]
    item = item.strip("“”")
    if len(item) <= target + 1:
        return item
    words = list(cut(item))
    if from_end:
        taken = ""
        for word in reversed(words):
            taken = word + taken
            if len(taken) >= target:
                break
        return taken if len(taken) <= target + 2 else ""
    taken = ""
    for i, word in enumerate(words):
        if taken and (word in _TAIL or len(taken) + len(word) > target + 2):
            rest = "".join(words[i:])
            return taken if rest.startswith(_TAIL) and len(taken) >= target - 1 else ""
        taken += word
    return taken if len(taken) <= target + 2 else ""


def keywords(
    text: str, cut, dictionary: frozenset[str], idf: tuple[dict[str, float], float], limit: int = 8
) -> list[str]:
    """Keywords of a passage by TF-IDF (`idf` from `idf_table`), the speech's own phrases first.

    `cut` segments one sentence; the passage is cut sentence by sentence (jieba never joins words across
    punctuation, so the words are the same, and the speech's sentences are cut once for all callers)."""
    idf, median = idf
    words = (w for piece in _SENTENCE_END.split(text) if piece for w in cut(piece))
    counts = Counter(w for w in words if len(w) >= 2 and _HAN.search(w) and w not in STOPWORDS)
    total = sum(counts.values()) or 1

    def score(word: str) -> float:
        weight = counts[word] / total * idf.get(word, median)
        return weight * (3.0 if word in dictionary else 1.0) * math.log(1 + len(word))

    return sorted(counts, key=lambda w: (-score(w), w))[:limit]
