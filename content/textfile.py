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
        if text is None and len(data) >= 2 and data.count(0) * 3 > len(data):
            # UTF-16 without a BOM: every other byte of CJK or ASCII text is often zero.
            text = _strict(data, "utf-16-le" if data[1::2].count(0) > data[0::2].count(0) else "utf-16-be")
        if text is None:
            text = _strict(data, "gb18030")
    if text is None or len(_CONTROL.findall(text)) > max(2, len(text) // 1000):
        raise NotTextError(f"不是 {ENCODINGS} 文本")
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None
