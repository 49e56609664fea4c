"""The entries of jieba's dict.txt a speech can need, found through an index of the file kept on disk.

A speech's part of the dictionary (`terms._speech_dictionary`) is made of the words that occur in it and
the longer ones that begin or end with two of its characters. Every such word is one of the speech's
characters, or begins with two characters that stand together in it, or (three characters or more) ends
with two; so an index of dict.txt's entries by those keys gives every entry the speech can need (about
30,000 of 349,000) without going through the other 320,000, and the pass over the whole file is made
once per machine instead of once per speech.

The index is one file in the temp directory beside jieba's own cache (jieba.cache), named by dict.txt's
path, keyed by its path, size and modification time, checked by a CRC and written atomically (a partial
file renamed into place). It holds the entries themselves (word, count and tag, as `parse_line` reads a
line), so what is read through it is what dict.txt said when it was indexed. A stale, corrupt or
unreadable index is rebuilt, and one another user owns is not read; where none can be written (a
read-only temp directory) `speech_entries` returns None and the caller reads dict.txt whole, as before.
Building it takes about 0.75 s, once per machine (the Docker image builds it with the bundled speech).

A speech reads the index once (13 MB, a few milliseconds) and looks at the parts it needs in place;
nothing of it is kept after the call, so the process does not grow by the dictionary's size.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import tempfile
import zlib
from array import array
from bisect import bisect_left
from itertools import accumulate
from pathlib import Path

logger = logging.getLogger(__name__)

MAGIC = b"studybot-jieba-index\n"
FORMAT = 4
# A key is (first << 21) | second for a word's first or last two characters (a code point needs 21
# bits), and (char << 21) | _ALONE for a word of one character: no second character has that value.
_SHIFT = 21
_ALONE = (1 << _SHIFT) - 1
_LINE_BITS = 20  # entry numbers are packed below a key while the index is built: at most 2**20 lines
# A line of dict.txt: word, count and an optional part-of-speech tag; the file's total is the sum of these.
DICT_COUNT = re.compile(r"^\S+ (\d+)", re.MULTILINE)
# The sections after the header, each an array of one type: (name, typecode).
_SECTIONS = (
    ("keys", "Q"),  # the keys, ascending
    ("first_starts", "I"),  # where each key's entries begin in first_entries (and one more: the end)
    ("first_entries", "I"),  # entry (line) numbers by first characters, ascending under each key
    ("last_starts", "I"),
    ("last_entries", "I"),  # by last two characters, words of three characters or more
    ("word_ends", "I"),  # where each entry's word ends in `words`, in characters (one more: 0 first)
    ("words", "B"),  # the words one after another, UTF-16-LE (dict.txt has no character beyond U+FFFF)
    ("counts", "q"),
    ("tags", "B"),  # index into the header's tag names; 0: no tag
)


def parse_line(line: str) -> tuple[str, int, str | None]:
    """A line of dict.txt, "word count [tag]", as jieba reads it: the word, its count and its tag."""
    word, _, rest = line.partition(" ")
    count, _, tag = rest.partition(" ")
    return word, int(count), tag.strip() or None


def index_path(dict_path: Path) -> Path:
    """Where the index of this dict.txt is kept: the temp directory, named by the file's path."""
    digest = hashlib.md5(str(dict_path).encode("utf-8", "surrogatepass"), usedforsecurity=False)
    return Path(tempfile.gettempdir()) / f"studybot-jieba-index.{digest.hexdigest()[:12]}.bin"


def _stamp(dict_path: Path) -> str:
    st = dict_path.stat()
    return f"{FORMAT}:{sys.byteorder}:{dict_path}:{st.st_size}:{st.st_mtime_ns}"


def speech_entries(
    dict_path: Path, chars: set[str], pairs: set[str]
) -> tuple[list[str], list[int], list[str | None], int] | None:
    """The words, counts and tags of dict.txt's entries that are one of `chars` (a text's characters),
    begin with one of `pairs` (the two-character pieces of it) or, of three characters or more, end with
    one; in the file's order. And the sum of the file's counts (jieba's total).

    None when there is no index and none can be written: the caller then reads the file."""
    try:
        stamp = _stamp(dict_path)
        where = index_path(dict_path)
    except OSError:  # no dict.txt, or gettempdir() finds no usable directory (FileNotFoundError)
        return None
    data = _read(where)
    index = _open(data, stamp)
    if index is None:
        data = _rebuild(dict_path, stamp, where)
        index = _open(data, stamp) if data is not None else None
        if index is None:
            return None
    try:
        return (*_entries(index, chars, pairs), index["total"])
    except (ValueError, IndexError):  # an index that passed its checks and is wrong all the same
        return None


def _read(where: Path) -> bytes:
    """The index file's bytes; none (b"") if it is missing, unreadable or another user's (who could have
    put anything there: the temp directory is everyone's)."""
    try:
        with open(where, "rb") as file:
            if hasattr(os, "getuid") and os.fstat(file.fileno()).st_uid != os.getuid():
                return b""
            return file.read()
    except OSError:
        return b""


def _open(data: bytes, stamp: str) -> dict | None:
    """The index's header and its sections (memoryviews of `data`); None unless it is whole, of this
    dict.txt (the same stamp) and matches its CRC."""
    try:
        if not data.startswith(MAGIC):
            return None
        view = memoryview(data)
        at = len(MAGIC)
        size = int.from_bytes(view[at : at + 4], "little")
        header = json.loads(bytes(view[at + 4 : at + 4 + size]))
        if not isinstance(header, dict) or header.get("stamp") != stamp:
            return None
        at += 4 + size
        if zlib.crc32(view[at:]) != header["crc"] or not isinstance(header["total"], int):
            return None
        names = tuple(header["tag_names"])
        if names[:1] != (None,) or not all(isinstance(t, str) for t in names[1:]):
            return None
        index = {"total": header["total"], "tag_names": names}
        for (name, typecode), length in zip(_SECTIONS, header["lengths"], strict=True):
            section = view[at : at + length]
            if len(section) != length:
                return None
            index[name] = section.cast(typecode)
            at += length
        keys, entries = len(index["keys"]), len(index["counts"])
        if (
            at != len(view)
            or len(index["first_starts"]) != keys + 1
            or len(index["last_starts"]) != keys + 1
            or len(index["word_ends"]) != entries + 1
            or len(index["tags"]) != entries
            or len(index["words"]) != 2 * index["word_ends"][entries]
        ):
            return None
        return index
    except (ValueError, TypeError, KeyError):
        return None


def _entries(index: dict, chars: set[str], pairs: set[str]) -> tuple[list[str], list[int], list[str | None]]:
    """The entries listed under the characters and two-character pieces, in file order."""
    wanted = sorted(
        {ord(c) << _SHIFT | _ALONE for c in chars} | {ord(p[0]) << _SHIFT | ord(p[1]) for p in pairs}
    )
    keys, first_starts, first, last_starts, last = (
        index[name] for name in ("keys", "first_starts", "first_entries", "last_starts", "last_entries")
    )
    found: list[int] = []
    n, at = len(keys), 0
    for key in wanted:  # ascending, so each search starts where the last one ended
        at = bisect_left(keys, key, at, n)
        if at == n:
            break
        if keys[at] == key:
            found.extend(first[first_starts[at] : first_starts[at + 1]])
            found.extend(last[last_starts[at] : last_starts[at + 1]])
    numbers = sorted(set(found))  # a word may be listed under its first and its last characters
    ends, text = index["word_ends"], str(index["words"], "utf-16-le")
    names = index["tag_names"]
    words = [text[ends[n] : ends[n + 1]] for n in numbers]
    counts = list(map(index["counts"].__getitem__, numbers))
    tags = [names[t] for t in map(index["tags"].__getitem__, numbers)]
    return words, counts, tags


def _rebuild(dict_path: Path, stamp: str, where: Path) -> bytes | None:
    """Index dict.txt and write the index in place of `where` (atomically); its bytes, or None when it
    cannot be written (then nothing is built) or dict.txt cannot be indexed."""
    partial = where.with_name(f"{where.name}.{os.getpid()}")
    try:
        out = open(partial, "wb")  # first: in a read-only directory, no index is built for nothing
    except OSError:
        return None
    try:
        with out:
            parts = _build(dict_path.read_text("utf-8"), stamp)
            for part in parts or ():
                out.write(part)
        if parts is None:
            partial.unlink()
            return None
        del parts
        os.replace(partial, where)
        return _read(where)
    except (OSError, UnicodeError) as exc:  # dict.txt unreadable, the disk full…
        logger.info("jieba dictionary index not written (%s): reading dict.txt whole", exc)
        try:
            partial.unlink()
        except OSError:
            pass
        return None


def _build(dict_txt: str, stamp: str) -> list[bytes | memoryview] | None:
    """The index of dict.txt's text, in parts to write one after another (its lines are those of
    str.splitlines, as `terms` reads them). None for a file it cannot hold: too many lines, a count that
    is no integer of 64 bits, over 255 tags, a character beyond U+FFFF.

    Built a block of lines at a time into arrays, keeping no object per line: about 40 MB at the peak, no
    more than the pass over dict.txt it replaces (lists of all the lines and words would be 150 MB)."""
    first, last = array("Q"), array("Q")  # (key << _LINE_BITS) | entry number, sorted below
    words = bytearray()  # UTF-16-LE
    ends = array("I", [0])
    counts = array("q")
    tags = array("B")
    names: list[str | None] = [None]  # the tags by id, and the ids of each tag and of each text of one
    name_ids: dict[str | None, int] = {None: 0}
    raw_ids: dict[str, int] = {}
    n = 0
    try:
        for block in _line_blocks(dict_txt):
            # Each line as parse_line reads it, a step at a time over the block (twice as fast as a loop).
            parts = [line.partition(" ") for line in block]
            block_words = [word for word, _, _ in parts]
            rests = [rest.partition(" ") for _, _, rest in parts]
            counts.extend(map(int, [count for count, _, _ in rests]))
            for raw in dict.fromkeys([tag for _, _, tag in rests]):
                if raw not in raw_ids:
                    name = raw.strip() or None
                    if name not in name_ids:
                        name_ids[name] = len(names)
                        names.append(name)
                    raw_ids[raw] = name_ids[name]
            tags.extend([raw_ids[tag] for _, _, tag in rests])
            first.extend(
                [
                    (ord(w[0]) << _SHIFT | (ord(w[1]) if len(w) > 1 else _ALONE)) << _LINE_BITS | k
                    for k, w in enumerate(block_words, n)
                    if w
                ]
            )
            last.extend(
                [
                    (ord(w[-2]) << _SHIFT | ord(w[-1])) << _LINE_BITS | k
                    for k, w in enumerate(block_words, n)
                    if len(w) > 2
                ]
            )
            n += len(block)
            words += "".join(block_words).encode("utf-16-le")
            lengths = accumulate(map(len, block_words), initial=ends[-1])
            next(lengths)
            ends.extend(lengths)
            del block, parts, rests, block_words
    except (ValueError, OverflowError):
        # A count jieba could not read either (the caller reads the file line by line), over 255 tags,
        # or too many lines for an entry number.
        return None
    if n > 1 << _LINE_BITS:
        return None  # an entry number would run into its key
    if len(words) != 2 * ends[-1]:
        return None  # a character beyond U+FFFF is two UTF-16 units, and `word_ends` counts characters
    mask = (1 << _LINE_BITS) - 1
    runs = {}  # per table: its keys, where each key's entries begin, the entries
    for name, packed in (("first", first), ("last", last)):
        ordered = sorted(packed)
        del packed[:]  # no longer needed: its room, for the next table's
        keys, starts = array("Q"), array("I")
        previous = -1
        for at, value in enumerate(ordered):
            key = value >> _LINE_BITS
            if key != previous:
                keys.append(key)
                starts.append(at)
                previous = key
        starts.append(len(ordered))
        runs[name] = keys, starts, array("I", (value & mask for value in ordered))
        del ordered
    # Both tables' keys in one ascending list, and where each key's run of entries begins in each table
    # (an empty run where it has none; and one more: the end).
    (first_keys, first_runs, first_entries), (last_keys, last_runs, last_entries) = (
        runs.pop("first"),
        runs.pop("last"),
    )
    keys, first_starts, last_starts = array("Q"), array("I"), array("I")
    i = j = 0
    beyond = 1 << 63
    while i < len(first_keys) or j < len(last_keys):
        a = first_keys[i] if i < len(first_keys) else beyond
        b = last_keys[j] if j < len(last_keys) else beyond
        key = min(a, b)
        keys.append(key)
        first_starts.append(first_runs[i])
        last_starts.append(last_runs[j])
        i += a == key
        j += b == key
    first_starts.append(first_runs[-1])
    last_starts.append(last_runs[-1])
    sections = {
        "keys": keys,
        "first_starts": first_starts,
        "first_entries": first_entries,
        "last_starts": last_starts,
        "last_entries": last_entries,
        "word_ends": ends,
        "words": words,
        "counts": counts,
        "tags": tags,
    }
    body = [memoryview(sections[name]).cast("B") for name, _ in _SECTIONS]
    crc = 0
    for part in body:
        crc = zlib.crc32(part, crc)
    header = json.dumps(
        {
            "stamp": stamp,
            "total": sum(map(int, DICT_COUNT.findall(dict_txt))),
            "tag_names": names,
            "lengths": [len(part) for part in body],
            "crc": crc,
        },
        ensure_ascii=False,
    ).encode("utf-8")
    return [MAGIC, len(header).to_bytes(4, "little"), header, *body]


# Line boundaries of str.splitlines besides "\n" (read_text has made "\r\n" and "\r" into "\n").
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _line_blocks(text: str, size: int = 1 << 18):
    """The lines of `text` as str.splitlines gives them, in blocks of about `size` characters."""
    if _OTHER_BREAKS.search(text):
        yield text.splitlines()
        return
    start = 0
    while start < len(text):
        end = text.find("\n", start + size)
        if end < 0:
            end = len(text)
        yield text[start:end].splitlines()
        start = end + 1
