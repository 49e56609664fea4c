"""The lexicon of fields (content/data/fields.txt): kinds of terms common in 讲话稿 — the 建设 of 政治建设,
思想建设…; the 战略 of 人才强省战略, 科教兴国战略… — so a wrong option can be of the answer's own field.
"""

from __future__ import annotations

import functools
from collections import Counter


@functools.cache
def fields() -> tuple[tuple[str, frozenset[str], str], ...]:
    """The fields of common 讲话稿 vocabulary (content/data/fields.txt): name, terms, and the ending most
    of its terms share (化, 精神, 监督…, or "" when they share none)."""
    from importlib import resources

    out = []
    text = resources.files("content").joinpath("data", "fields.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        terms = [t.strip() for t in rest.split("、") if t.strip()]
        ending = ""
        for size in (2, 1):
            tails = Counter(t[-size:] for t in terms if len(t) > size)
            if tails and tails.most_common(1)[0][1] >= 0.8 * len(terms):
                ending = tails.most_common(1)[0][0]
                break
        out.append((name.strip(), frozenset(terms), ending))
    return tuple(out)


@functools.cache
def _lexicon_index() -> tuple[dict[str, list[str]], dict[str, list[int]]]:
    """The lexicon's terms of three or more characters by their first two characters, and the fields each
    term is in (by index into `fields()`)."""
    by_start: dict[str, list[str]] = {}
    in_fields: dict[str, list[int]] = {}
    for k, (_, terms, _ending) in enumerate(fields()):
        for term in sorted(terms):
            in_fields.setdefault(term, []).append(k)
            if len(term) >= 3 and term not in by_start.get(term[:2], ()):
                by_start.setdefault(term[:2], []).append(term)
    return by_start, in_fields


def fields_holding(term: str) -> tuple[int, ...]:
    """The fields a term is in (indices into `fields()`)."""
    return tuple(_lexicon_index()[1].get(term, ()))


@functools.cache
def _by_ending() -> dict[str, list[int]]:
    """The fields whose terms share an ending (化, 精神…), by that ending (index into `fields()`)."""
    out: dict[str, list[int]] = {}
    for k, (_, _terms, ending) in enumerate(fields()):
        if ending:
            out.setdefault(ending, []).append(k)
    return out


@functools.lru_cache(maxsize=4096)
def lexicon_terms_in(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The lexicon's terms of three or more characters said once in the text (人才强省战略, 舆论监督), longest
    first, each with the other terms of its fields of its length. A term inside a longer one found
    (人才强国 in 人才强国战略) is left out."""
    by_start, in_fields = _lexicon_index()
    all_fields = fields()
    found: dict[str, list[str]] = {}
    for i in range(len(text) - 2):
        for term in by_start.get(text[i : i + 2], ()):
            if text.startswith(term, i) and term not in found and text.count(term) == 1:
                found[term] = [
                    t
                    for k in in_fields[term]
                    for t in sorted(all_fields[k][1])
                    if len(t) == len(term) and t != term
                ]
    ordered = sorted(found, key=lambda t: (-len(t), text.find(t)))
    kept = [t for i, t in enumerate(ordered) if not any(t in longer for longer in ordered[:i])]
    return tuple((t, tuple(dict.fromkeys(found[t]))) for t in kept)


def field_terms(words: list[str] | tuple[str, ...]) -> list[str]:
    """Terms of the fields some words belong to together (see `_field_terms`)."""
    return list(_field_terms(tuple(words)))


@functools.lru_cache(maxsize=4096)
def _field_terms(words: tuple[str, ...]) -> tuple[str, ...]:
    """Terms of the fields some words belong to together: a field that names one of them, or, for a list,
    whose ending they all have (系统性、持续性、针对性 → the 性 field; 学思想、强党性、重实践 → none)."""
    found: list[str] = []
    _, in_fields = _lexicon_index()
    named_in = Counter(k for w in set(words) for k in in_fields.get(w, ()))
    all_fields = fields()
    ends = {w[-n:] for w in words for n in (1, 2) if len(w) > n} if len(words) >= 3 else set()
    by_ending = _by_ending()
    which = sorted(set(named_in) | {k for end in ends for k in by_ending.get(end, ())})
    # Fields that name two of a list's items say its kind; fields of its ending alone come in only when none
    # does (高端化、智能化 are of industry's change, not of 程序化 and 法治化).
    naming = [k for k in which if named_in[k] >= 2]
    if len(words) >= 3 and naming:
        which = naming
    for k in which:
        _, terms, ending = all_fields[k]
        # A list's field names two of its items, not just one (银行 is a financial business, but in
        # 交通、医院、学校、银行 it is a facility).
        named = named_in[k] >= min(2, len(words))
        # By ending only for a list (three or more items): a lone word ending in 精神 or 监督 may be a name
        # of another kind (全会精神, “码上监督”平台).
        ending_all = (
            len(words) >= 3 and ending and all(w.endswith(ending) and len(w) > len(ending) for w in words)
        )
        if named or ending_all:
            found += sorted(terms - set(words))
    return tuple(dict.fromkeys(found))


def other_images(term: str, role: bool = False) -> tuple[tuple[str, ...], ...]:
    """For an image (先手棋, 主力军): the images of each other meaning (比喻· fields) of the term's length,
    one tuple a meaning, so that a wrong option is an image and never one of the answer's own meaning
    (先手棋 against 突破口 is arguably right); things for a thing, roles for a role (比喻人·), and roles
    alone in a slot for a role one plays (当好“＿＿”).
    Empty when the term is no image."""
    all_fields = fields()
    mine = [k for k in fields_holding(term) if all_fields[k][0].startswith(("比喻·", "比喻人·"))]
    if not mine:
        return ()
    # Things against things, roles against roles (年轻干部是事业发展的＿＿ wants a 生力军, not a 晴雨表).
    kinds = ("比喻人·",) if role or all_fields[mine[0]][0].startswith("比喻人·") else ("比喻·",)
    out = []
    for k, (name, terms, _ending) in enumerate(all_fields):
        if k not in mine and name.startswith(kinds):
            fitting = tuple(sorted(t for t in terms if len(t) == len(term)))
            if fitting:
                out.append(fitting)
    return tuple(out)
