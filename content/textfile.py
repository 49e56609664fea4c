"""The bytes of a speech file as text: UTF-8 (with or without BOM), UTF-16, GB18030/GBK; anything else refused."""

from __future__ import annotations

import codecs
import re

ENCODINGS = "UTF-8、GB18030/GBK 或 UTF-16"
# Control characters other than tab, line feed and carriage return: not in any text a person pastes.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class NotTextError(ValueError):
    """The bytes are not text in one of the encodings a speech comes in."""


def decode_text(data: bytes) -> str:
    """Text of a speech file: BOMs first, then UTF-8, UTF-16 without BOM, GB18030; line ends made \\n."""
    if data.startswith(codecs.BOM_UTF8):
        text = _strict(data[3:], "utf-8")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _strict(data, "utf-16")
    else:
        text = _strict(data, "utf-8")
        if text is None:
            # GB18030 or UTF-16 without a BOM: the reading that looks most like text wins.
            readings = [t for t in (_strict(data, e) for e in ("gb18030", "utf-16-le", "utf-16-be")) if t]
            best = max(readings, key=_plausible, default=None)
            text = best if best is not None and _plausible(best) >= 0.9 else None
    if text is None or len(_CONTROL.findall(text)) > max(2, len(text) // 1000):
        raise NotTextError(f"不是 {ENCODINGS} 文本")
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


# What a speech is made of: Chinese characters, CJK and full-width punctuation, ASCII, whitespace.
_TEXTLIKE = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2010-\u2027\u00b7\x20-\x7e\s]")


def _plausible(text: str) -> float:
    """The share of characters a speech would have."""
    return len(_TEXTLIKE.findall(text)) / len(text) if text else 0.0


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None
