"""The index of jieba's dict.txt in the temp directory (content/dictindex.py): what a speech reads through
it is what reading dict.txt whole gives; a stale or corrupt index is rebuilt, a read-only temp directory
falls back to reading the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from content import bundled_text, dictindex, terms

DICT = """\
AT&T 3 nz
B超 3 n
B超 3 n
人 2000 n
人才 900 n
人才库 60 n
人才强省 40
强省 30 v
才 500 d
发展 5000 vn
高质量发展 200 l
高质量 300 n
质量 800 n
共同 700 d
共同富裕 120 l
富裕 200 a
责任 900 n
责任感 80 n
感 300 v
"""
TEXT = "推动高质量发展，人才是第一资源。责任在肩。AT&T"


def _pieces(text: str) -> tuple[set[str], set[str]]:
    return set(text), {text[i : i + 2] for i in range(len(text) - 1)}


def _by_reading(dict_txt: str, text: str) -> list[tuple[str, int, str | None]]:
    """What the index must give: every line a word of the text or one around it can be on, in order."""
    chars, pairs = _pieces(text)
    out = []
    for line in dict_txt.splitlines():
        word, count, tag = dictindex.parse_line(line)
        if (len(word) == 1 and word in chars) or (
            len(word) > 1 and (word[:2] in pairs or (len(word) > 2 and word[-2:] in pairs))
        ):
            out.append((word, count, tag))
    return out


@pytest.fixture
def temp_dir(tmp_path, monkeypatch) -> Path:
    """A temp directory of the test's own (the index and the total's cache go there)."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


@pytest.fixture
def dict_file(tmp_path) -> Path:
    path = tmp_path / "jieba" / "dict.txt"
    path.parent.mkdir()
    path.write_text(DICT, "utf-8")
    return path


def _entries(dict_file: Path, text: str = TEXT):
    found = dictindex.speech_entries(dict_file, *_pieces(text))
    assert found is not None
    words, counts, tags, total = found
    return list(zip(words, counts, tags, strict=True)), total


def test_the_index_finds_what_reading_the_file_finds(temp_dir, dict_file):
    entries, total = _entries(dict_file)
    assert entries == _by_reading(DICT, TEXT)
    assert ("共同富裕", 120, "l") not in entries and ("人才库", 60, "n") in entries  # 共同 is not in the text
    assert total == sum(int(line.split()[1]) for line in DICT.splitlines())
    assert [p.name for p in temp_dir.iterdir()] == [dictindex.index_path(dict_file).name]
    # Read back from the file, not built again.
    built = dictindex.index_path(dict_file).stat().st_mtime_ns
    assert _entries(dict_file, "共同富裕") == (_by_reading(DICT, "共同富裕"), total)
    assert dictindex.index_path(dict_file).stat().st_mtime_ns == built


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: b"",  # empty
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # one bit of the last tag flipped
        lambda data: data[:100] + bytes([data[100] ^ 0xFF]) + data[101:],  # the header
        lambda data: os.urandom(len(data)),  # noise
    ],
)
def test_a_corrupt_index_is_rebuilt(temp_dir, dict_file, damage):
    expected = _entries(dict_file)
    where = dictindex.index_path(dict_file)
    good = where.read_bytes()
    where.write_bytes(damage(good))
    assert _entries(dict_file) == expected
    assert where.read_bytes() == good


def test_a_stale_index_is_rebuilt(temp_dir, dict_file):
    _entries(dict_file)
    changed = DICT.replace("人才 900 n", "人才 901 nz")
    dict_file.write_text(changed, "utf-8")
    os.utime(dict_file, ns=(1, 1))  # another time, whatever the clock's resolution
    entries, total = _entries(dict_file)
    assert ("人才", 901, "nz") in entries and entries == _by_reading(changed, TEXT)
    assert total == sum(int(line.split()[1]) for line in changed.splitlines())
    # The index of another dict.txt (another path, the same size and time) put in its place is not used.
    other = dict_file.with_name("other.txt")
    other.write_text(changed.replace("人才 901 nz", "人才 902 nz"), "utf-8")
    os.utime(other, ns=(1, 1))
    assert ("人才", 902, "nz") in _entries(other)[0]
    dictindex.index_path(other).replace(dictindex.index_path(dict_file))
    assert _entries(dict_file) == (entries, total)


def test_a_file_the_index_cannot_hold_is_read_whole(temp_dir, dict_file):
    dict_file.write_text(DICT + "坏行 many n\n", "utf-8")  # jieba could not read it either
    assert dictindex.speech_entries(dict_file, *_pieces(TEXT)) is None
    assert not list(temp_dir.iterdir())  # no partial file left behind


def _read_only_temp_dir(tmp_path: Path, monkeypatch) -> None:
    """A temp directory nothing can be written to (root writes to a mode 0o500 directory: then a path
    under a regular file, which no one can create a file in)."""
    where = tmp_path / "read-only"
    where.mkdir()
    where.chmod(0o500)
    try:
        (where / "probe").touch()
    except OSError:
        pass
    else:
        (where / "probe").unlink()
        where = tmp_path / "a-file"
        where.write_text("", "utf-8")
    monkeypatch.setattr(tempfile, "tempdir", str(where))


def test_a_read_only_temp_dir_reads_the_file(tmp_path, dict_file, monkeypatch):
    _read_only_temp_dir(tmp_path, monkeypatch)
    assert dictindex.speech_entries(dict_file, *_pieces(TEXT)) is None


def _speech_dictionary(text: str):
    freq, total, tags, near = terms._speech_dictionary.__wrapped__(text)
    return sorted(freq.items()), total, sorted(tags.items()), near


def test_the_speech_dictionary_is_the_same_with_and_without_the_index(tmp_path, temp_dir, monkeypatch):
    # The real dict.txt and the bundled speech: through a new index, through it again, and read whole
    # where the temp directory is read-only.
    text = bundled_text()
    first = _speech_dictionary(text)
    assert any(p.name.startswith("studybot-jieba-index.") for p in temp_dir.iterdir())
    assert _speech_dictionary(text) == first
    _read_only_temp_dir(tmp_path, monkeypatch)
    assert _speech_dictionary(text) == first
    assert dict(first[0])["人才"] > 0 and first[3]


def test_another_users_index_is_not_read(temp_dir, dict_file, monkeypatch):
    # The temp directory is everyone's: an index someone else owns could say anything.
    _entries(dict_file)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(dictindex.index_path(dict_file)).st_uid + 1)
    assert dictindex.speech_entries(dict_file, *_pieces(TEXT)) is None
