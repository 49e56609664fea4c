"""A strict local stand-in for the Telegram Bot API, for tests.

The stand-in is a real HTTP server on 127.0.0.1 that the real python-telegram-bot
``Application``/``Bot`` (or a bot running in another OS process) talks to through
``base_url=f"{standin.url}/bot"``.  It is an ``aiohttp.web`` server on its own event loop in a
background thread, so it works from sync tests, from async tests on any event loop, and for
subprocesses alike.  An event loop rather than a thread per request: no GIL hand-offs between
dozens of handler threads, cheap header parsing, and an injected latency is an ``asyncio.sleep``
that holds no thread; only a pending long poll (``getUpdates``) waits in a worker thread.

It is deliberately *strict*: every call is validated against the Bot API description in
``tests/data/bot-api.json`` (unknown methods, missing required fields, wrong field types,
incomplete nested objects) and against the limits Telegram enforces (text length in UTF-16
code units after entity parsing, HTML/Markdown parsing, callback_data size, poll limits,
command names, ...).  Every refusal caused by the bot is recorded in :attr:`errors`, so a
test can prove that the bot never broke the rules with ``assert standin.errors == []``.
Refusals the test injected on purpose (429, blocked chats, migrated chats, dropped
connections, the 409 of another instance polling the token) are *not* counted as errors.

Responses are self-checked against the spec as well: an object the stand-in returns always
carries every field the spec marks as required, because PTB refuses incomplete objects.

Typical use::

    with BotAPIStandin(token="123:ABC") as standin:
        standin.add_user(42, "Ann")
        bot = telegram.Bot("123:ABC", base_url=f"{standin.url}/bot")
        standin.send_message(42, 42, "/start")      # inject an update
        call = standin.wait_for("sendMessage")       # the bot's answer
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import email.message
import email.utils
import itertools
import json
import logging
import math
import re
import ssl
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from aiohttp import web

logger = logging.getLogger(__name__)

SPEC_PATH = Path(__file__).resolve().parent / "data" / "bot-api.json"

MAX_MESSAGE_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_POLL_QUESTION = 300
MAX_POLL_OPTION = 100
MAX_POLL_OPTIONS = 12
MAX_POLL_EXPLANATION = 200
MAX_POLL_EXPLANATION_LINE_FEEDS = 2
MAX_INLINE_RESULTS = 50
MAX_COMMANDS = 100
# Bots upload files of up to 50 MB (multipart/form-data); read strictly as 50,000,000 bytes a request.
MAX_UPLOAD = 50_000_000

# Update types Telegram leaves out unless they are asked for explicitly (see getUpdates).
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# How long a long poll that was superseded by a newer getUpdates waits to see whether its
# client has simply gone away (PTB cancels its poll and sends a final getUpdates on stop).
_SUPERSEDE_GRACE = 0.5
# Granularity of the long-poll loop; also how quickly a vanished client is noticed.
_POLL_SLICE = 0.05

_API_PATH = re.compile(r"/bot([^/]+)/([A-Za-z0-9_]+)/?")
_FILE_PATH = re.compile(r"/file/bot([^/]+)/(.+)")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_INT_STRING = re.compile(r"-?[0-9]+")
_DISCRIMINATOR = re.compile(r"(?:must be|always)\s+[\"“]?([A-Za-z0-9_]+)")
_COMMAND_IN_TEXT = re.compile(r"(?<!\S)/([A-Za-z0-9_]{1,32})(@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
_MENTION_IN_TEXT = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{5,32})(?!\w)")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Exactly one of these must be set on an inline keyboard button.
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
# send* methods answered with a media message: method -> (parameter / Message field, spec type).
_MEDIA_METHODS = {
    "sendDocument": ("document", "Document"),
    "sendPhoto": ("photo", "PhotoSize"),
    "sendAudio": ("audio", "Audio"),
    "sendVideo": ("video", "Video"),
    "sendVoice": ("voice", "Voice"),
    "sendAnimation": ("animation", "Animation"),
    "sendVideoNote": ("video_note", "VideoNote"),
    "sendSticker": ("sticker", "Sticker"),
}
_FAILURE_KINDS = ("network", "network_after", 400, 404, 500, 502)
# What an injected HTTP error answers: 400 and 404 as an API that lacks the method would.
_FAILURE_PHRASES = {
    400: "Bad Request: method is not supported",
    404: "Not Found",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
# Telegram's description of a getUpdates ended by a newer one of the same token.
_CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
# What an outage (take_down) may do: the failures above, or hold every request unanswered.
_OUTAGE_KINDS = ("network", 500, 502, "hang")


# --------------------------------------------------------------------------- records


class UploadedFile(NamedTuple):
    """A file part of a multipart/form-data request (its content a view of the request's body)."""

    filename: str
    content: bytes | memoryview
    content_type: str | None


class Call(NamedTuple):
    """One API call as the stand-in saw it.

    ``response`` is the JSON body that was sent back (``{"ok": ..., ...}``), or ``None`` when
    the connection was dropped (injected network failure, or a client that went away).
    """

    method: str
    params: dict[str, Any]
    response: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        """True if the call succeeded."""
        return bool(self.response and self.response.get("ok"))

    @property
    def result(self) -> Any:
        """The ``result`` of a successful call (None otherwise)."""
        return self.response.get("result") if self.response else None

    @property
    def error_code(self) -> int | None:
        """The error code of a refused call (None otherwise)."""
        return self.response.get("error_code") if self.response else None

    @property
    def description(self) -> str | None:
        """The error description of a refused call (None otherwise)."""
        return self.response.get("description") if self.response else None


class Delivery(NamedTuple):
    """A message the bot successfully sent; ``at`` is ``time.monotonic()``."""

    at: float
    method: str
    message_id: int


class APIError(Exception):
    """A refusal in Telegram's format.

    ``violation`` is False for refusals the test injected (rate limits, blocked or migrated
    chats): those are expected behaviour the bot must cope with, not rule breaking.
    """

    def __init__(
        self,
        code: int,
        description: str,
        *,
        parameters: dict[str, Any] | None = None,
        violation: bool = True,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters
        self.violation = violation

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would answer with."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class StandinBug(RuntimeError):
    """The stand-in produced something that contradicts the spec (a bug in this module)."""


class _Abandoned(Exception):
    """The client went away while its request was pending; nothing is sent back."""


# --------------------------------------------------------------------------- formatted text


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts text in."""
    return len(text.encode("utf-16-le")) // 2


class EntityParseError(ValueError):
    """Formatted text that Telegram refuses with ``can't parse entities``."""


class _Out:
    """Accumulates parsed text while tracking the UTF-16 offset that entities refer to."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0

    def add(self, piece: str) -> None:
        self.parts.append(piece)
        self.pos += utf16_len(piece)

    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _Open:
    """An entity whose end has not been seen yet."""

    name: str
    type: str | None
    offset: int
    where: int  # byte offset of the opening markup, for error messages
    extra: dict[str, Any] = field(default_factory=dict)


def _byte_offset(text: str, index: int) -> int:
    # Telegram reports positions in bytes of the UTF-8 encoded input.
    return len(text[:index].encode("utf-8"))


def _close_entity(opened: _Open, end: int, entities: list[dict[str, Any]]) -> None:
    # Telegram silently drops entities that would be empty.
    if opened.type is not None and end > opened.offset:
        entities.append(
            {"type": opened.type, "offset": opened.offset, "length": end - opened.offset, **opened.extra}
        )


def _sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_HTML_TAG_NAME = re.compile(r"[A-Za-z0-9-]*")
_HTML_ATTR_NAME = re.compile(r"[A-Za-z0-9_-]+")
_HTML_WHITESPACE = " \t\r\n"


def _html_entity(text: str, i: int) -> tuple[str, int]:
    """Decode the character reference at ``text[i]`` (which is ``&``)."""
    match = _HTML_ENTITY.match(text, i)
    if match is None:
        # Telegram's docs require every literal '&' to be written as &amp;.
        raise EntityParseError(
            f"Character '&' must be escaped as &amp; (only &lt; &gt; &amp; &quot; and numeric "
            f"character references are supported) at byte offset {_byte_offset(text, i)}"
        )
    if match.group(1):
        return _HTML_NAMED_ENTITIES[match.group(1)], match.end()
    code = int(match.group(2)) if match.group(2) else int(match.group(3), 16)
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise EntityParseError(f"Invalid character reference at byte offset {_byte_offset(text, i)}")
    return chr(code), match.end()


def _html_decode_span(text: str, start: int, end: int) -> str:
    """Decode character references in ``text[start:end]`` (an attribute value)."""
    pieces: list[str] = []
    i = start
    while i < end:
        amp = text.find("&", i, end)
        if amp < 0:
            pieces.append(text[i:end])
            break
        pieces.append(text[i:amp])
        char, i = _html_entity(text, amp)
        if i > end:
            raise EntityParseError(f"Invalid character reference at byte offset {_byte_offset(text, amp)}")
        pieces.append(char)
    return "".join(pieces)


def _html_tag_entity(
    name: str, attrs: dict[str, str], stack: list[_Open], where: int
) -> tuple[str | None, dict[str, Any]]:
    """Entity type and extra fields for an opening tag, refusing what Telegram refuses."""
    if name == "span":
        if attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
        return "spoiler", {}
    if name == "a":
        href = attrs.get("href")
        return ("text_link", {"url": href}) if href else (None, {})
    if name == "code" and stack and stack[-1].name == "pre":
        # <pre><code class="language-x"> is one pre entity with a language.
        css = attrs.get("class", "")
        if css.startswith("language-") and "language" not in stack[-1].extra:
            stack[-1].extra["language"] = css.removeprefix("language-")
        return None, {}
    if name == "blockquote":
        return ("expandable_blockquote" if "expandable" in attrs else "blockquote"), {}
    if name == "tg-emoji":
        emoji_id = attrs.get("emoji-id", "")
        if not emoji_id.isdigit():
            raise EntityParseError(
                f'Tag "tg-emoji" must have a numeric "emoji-id" attribute at byte offset {where}'
            )
        return "custom_emoji", {"custom_emoji_id": emoji_id}
    if name == "tg-time":
        unix = attrs.get("unix", "")
        if not unix.isdigit():
            raise EntityParseError(
                f'Tag "tg-time" must have a numeric "unix" attribute at byte offset {where}'
            )
        extra: dict[str, Any] = {"unix_time": int(unix)}
        if "format" in attrs:
            extra["date_time_format"] = attrs["format"]
        return "date_time", extra
    return _HTML_TAGS[name], {}


def _html_start_tag(text: str, i: int, out: _Out, stack: list[_Open]) -> int:
    n = len(text)
    where = _byte_offset(text, i)
    match = _HTML_TAG_NAME.match(text, i + 1)
    name = match.group().lower()
    if name not in _HTML_TAGS:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {where}')
    j = match.end()
    attrs: dict[str, str] = {}
    while True:
        while j < n and text[j] in _HTML_WHITESPACE:
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {where}")
        if text[j] == ">":
            j += 1
            break
        attr = _HTML_ATTR_NAME.match(text, j)
        if attr is None:
            raise EntityParseError(f'Empty attribute name in the tag "{name}" at byte offset {where}')
        j = attr.end()
        while j < n and text[j] in _HTML_WHITESPACE:
            j += 1
        value = ""
        if j < n and text[j] == "=":
            j += 1
            while j < n and text[j] in _HTML_WHITESPACE:
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {where}")
            if text[j] in "\"'":
                end = text.find(text[j], j + 1)
                if end < 0:
                    raise EntityParseError(f"Unclosed start tag at byte offset {where}")
                value = _html_decode_span(text, j + 1, end)
                j = end + 1
            else:
                end = j
                while end < n and text[end] not in _HTML_WHITESPACE + ">":
                    end += 1
                value = _html_decode_span(text, j, end)
                j = end
        attrs[attr.group().lower()] = value
    entity_type, extra = _html_tag_entity(name, attrs, stack, where)
    stack.append(_Open(name, entity_type, out.pos, where, extra))
    return j


def _html_end_tag(text: str, i: int, out: _Out, stack: list[_Open], entities: list[dict[str, Any]]) -> int:
    where = _byte_offset(text, i)
    match = _HTML_TAG_NAME.match(text, i + 2)
    name = match.group().lower()
    j = match.end()
    while j < len(text) and text[j] in _HTML_WHITESPACE:
        j += 1
    if j >= len(text) or text[j] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {where}")
    if not stack:
        raise EntityParseError(f'Unexpected end tag "</{name}>" at byte offset {where}')
    top = stack.pop()
    if top.name != name:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {where}, expected "</{top.name}>", found "</{name}>"'
        )
    _close_entity(top, out.pos, entities)
    return j + 1


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into plain text and MessageEntity dicts.

    Raises :class:`EntityParseError` for what Telegram refuses: unknown or unclosed tags,
    mismatched end tags, and a literal ``<`` or ``&`` that is not part of a tag/entity.
    """
    out = _Out()
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded, i = _html_entity(text, i)
            out.add(decoded)
        elif char == "<":
            if text.startswith("</", i):
                i = _html_end_tag(text, i, out, stack, entities)
            else:
                i = _html_start_tag(text, i, out, stack)
        else:
            j = i + 1
            while j < n and text[j] not in "<&":
                j += 1
            out.add(text[i:j])
            i = j
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.text(), _sorted_entities(entities)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_KIND_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2 into plain text and entities; unescaped reserved characters are refused."""
    out = _Out()
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    quote: _Open | None = None
    i, n = 0, len(text)

    def toggle(kind: str, width: int) -> None:
        nonlocal i
        if stack and stack[-1].type == kind:
            _close_entity(stack.pop(), out.pos, entities)
        else:
            stack.append(_Open(kind, kind, out.pos, _byte_offset(text, i)))
        i += width

    while i < n:
        char = text[i]
        top = stack[-1] if stack else None
        if top is not None and top.type in ("pre", "code"):
            # Inside code only ` and \ are special.
            if char == "\\" and i + 1 < n and text[i + 1] in "`\\":
                out.add(text[i + 1])
                i += 2
            elif top.type == "pre" and text.startswith("```", i):
                _close_entity(stack.pop(), out.pos, entities)
                i += 3
            elif top.type == "code" and char == "`":
                _close_entity(stack.pop(), out.pos, entities)
                i += 1
            else:
                out.add(char)
                i += 1
            continue
        if i == 0 or text[i - 1] == "\n":
            expandable = text.startswith("**>", i)
            if expandable or char == ">":
                if quote is None:
                    kind = "expandable_blockquote" if expandable else "blockquote"
                    quote = _Open(">", kind, out.pos, _byte_offset(text, i))
                i += 3 if expandable else 1
                continue
            if quote is not None:
                # The quotation ended with the previous line; its line feed is not part of it.
                _close_entity(quote, out.pos - 1, entities)
                quote = None
        if (
            quote is not None
            and quote.type == "expandable_blockquote"
            and text.startswith("||", i)
            and (i + 2 == n or text[i + 2] == "\n")
            and not (top and top.type == "spoiler")
        ):
            _close_entity(quote, out.pos, entities)
            quote = None
            i += 2
            continue
        if char == "\\":
            if i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                out.add(text[i + 1])
                i += 2
            else:
                out.add(char)
                i += 1
            continue
        if char not in _MDV2_RESERVED:
            out.add(char)
            i += 1
            continue
        if char == "_":
            if text.startswith("__", i):
                toggle("underline", 2)
            else:
                toggle("italic", 1)
        elif char == "*":
            toggle("bold", 1)
        elif char == "~":
            toggle("strikethrough", 1)
        elif char == "|" and text.startswith("||", i):
            toggle("spoiler", 2)
        elif char == "`":
            where = _byte_offset(text, i)
            if text.startswith("```", i):
                j = i + 3
                line_end = text.find("\n", j)
                extra: dict[str, Any] = {}
                if line_end >= 0 and "`" not in text[j:line_end]:
                    if text[j:line_end].strip():
                        extra["language"] = text[j:line_end].strip()
                    j = line_end + 1
                stack.append(_Open("```", "pre", out.pos, where, extra))
                i = j
            else:
                stack.append(_Open("`", "code", out.pos, where))
                i += 1
        elif char == "[":
            stack.append(_Open("[", "text_link", out.pos, _byte_offset(text, i)))
            i += 1
        elif char == "!" and text.startswith("![", i):
            stack.append(_Open("![", "custom_emoji", out.pos, _byte_offset(text, i)))
            i += 2
        elif char == "]" and top is not None and top.type in ("text_link", "custom_emoji"):
            stack.pop()
            i += 1
            url = None
            if i < n and text[i] == "(":
                j, chars = i + 1, []
                while j < n and text[j] != ")":
                    if text[j] == "\\" and j + 1 < n and text[j + 1] in ")\\":
                        j += 1
                    chars.append(text[j])
                    j += 1
                if j >= n:
                    raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
                url, i = "".join(chars), j + 1
            if top.type == "custom_emoji":
                match = re.fullmatch(r"tg://emoji\?id=([0-9]+)", url or "")
                if match is None:
                    raise EntityParseError(
                        f"Custom emoji entity must contain a tg://emoji URL at byte offset {top.where}"
                    )
                top.extra["custom_emoji_id"] = match.group(1)
            elif url:
                top.extra["url"] = url
            else:
                top.type = None
            _close_entity(top, out.pos, entities)
        else:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
    if quote is not None:
        _close_entity(quote, out.pos, entities)
    if stack:
        unclosed = stack[-1]
        kind = _MDV2_KIND_NAMES.get(unclosed.type or "", "TextUrl")
        raise EntityParseError(f"Can't find end of {kind} entity at byte offset {unclosed.where}")
    return out.text(), _sorted_entities(entities)


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Markdown (``*bold* _italic_ `code` ```pre``` [text](url)``)."""
    out = _Out()
    entities: list[dict[str, Any]] = []
    markers = {"_": "italic", "*": "bold", "`": "code"}
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        where = _byte_offset(text, i)
        start = out.pos
        if char == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {where}")
            out.add(text[i + 1 : end])
            i = end + 1
            if text.startswith("(", i):
                close = text.find(")", i + 1)
                if close < 0:
                    raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
                _close_entity(
                    _Open("[", "text_link", start, where, {"url": text[i + 1 : close]}), out.pos, entities
                )
                i = close + 1
            continue
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {where}")
            body, extra = text[i + 3 : end], {}
            first_line, newline, rest = body.partition("\n")
            if newline and first_line.strip() and " " not in first_line.strip():
                body, extra = rest, {"language": first_line.strip()}
            out.add(body)
            _close_entity(_Open("```", "pre", start, where, extra), out.pos, entities)
            i = end + 3
            continue
        end = text.find(char, i + 1)
        if end < 0:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {where}")
        out.add(text[i + 1 : end])
        _close_entity(_Open(char, markers[char], start, where), out.pos, entities)
        i = end + 1
    return out.text(), _sorted_entities(entities)


_PARSERS: dict[str, Callable[[str], tuple[str, list[dict[str, Any]]]]] = {
    "html": parse_html,
    "markdownv2": parse_markdown_v2,
    "markdown": parse_markdown,
}


def _strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace like Telegram does, shifting and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------- the spec

_PRIMITIVES: dict[str, Callable[[Any], bool]] = {
    "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
    "True": lambda v: v is True,
    "String": lambda v: isinstance(v, str),
    "InputFile": lambda v: isinstance(v, UploadedFile),
}


class BotAPISpec:
    """Lookup and validation against ``bot-api.json``."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data.get("version", "")
        self.methods: dict[str, dict[str, Any]] = data["methods"]
        self.types: dict[str, dict[str, Any]] = data["types"]
        self._method_names = {name.lower(): name for name in self.methods}
        self._fields = {
            name: {f["name"]: f for f in spec.get("fields", [])} for name, spec in self.methods.items()
        }
        self._discriminators: dict[str, tuple[str, str]] = {}
        for name, spec in self.types.items():
            if not spec.get("subtype_of"):
                continue
            for f in spec.get("fields", []):
                if f["name"] in ("type", "status", "source") and f["required"]:
                    match = _DISCRIMINATOR.search(f["description"])
                    if match:
                        self._discriminators[name] = (f["name"], match.group(1))
                        break
        entity_spec = next(f for f in self.types["MessageEntity"]["fields"] if f["name"] == "type")
        self.entity_types = frozenset(re.findall(r"[\"“]([a-z_]+)[\"”]", entity_spec["description"]))
        self.update_types = frozenset(
            f["name"] for f in self.types["Update"]["fields"] if f["name"] != "update_id"
        )

    @classmethod
    @lru_cache(maxsize=4)
    def load(cls, path: Path = SPEC_PATH) -> BotAPISpec:
        """Load (and cache) the spec file."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def canonical(self, method: str) -> str | None:
        """The spec's spelling of ``method`` (Telegram method names are case-insensitive)."""
        return self._method_names.get(method.lower())

    def returns(self, method: str) -> list[str]:
        """The types ``method`` returns."""
        return self.methods[method]["returns"]

    def coerce_params(self, method: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Decode form-encoded values (which PTB JSON-serialises unless they are strings)."""
        fields = self._fields[method]
        params = {}
        for name, value in raw.items():
            spec = fields.get(name)
            params[name] = self._coerce(value, spec["types"]) if spec else value
        return params

    @staticmethod
    def _coerce(value: Any, types: list[str]) -> Any:
        if not isinstance(value, str):
            return value
        if "String" in types:
            # "Integer or String" is a chat_id: numeric ids arrive as text in forms.
            if "Integer" in types and _INT_STRING.fullmatch(value):
                return int(value)
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value  # validation reports the wrong type

    def check_params(self, method: str, params: dict[str, Any]) -> None:
        """Refuse missing required parameters and parameters of the wrong shape."""
        for name, spec in self._fields[method].items():
            value = params.get(name)
            missing = name not in params or (
                value == "" and spec["types"] == ["String"] and "empty string" not in spec["description"]
            )
            if missing:
                if spec["required"]:
                    raise APIError(400, f"Bad Request: {'message text' if name == 'text' else name} is empty")
                continue
            error = self.check(value, spec["types"], name)
            if error:
                raise APIError(400, f"Bad Request: can't parse {name}: {error}")

    def check(self, value: Any, types: Iterable[str], path: str) -> str | None:
        """Return why ``value`` is not any of ``types`` (None if it is)."""
        errors = []
        for type_name in types:
            error = self._check_one(value, type_name, path)
            if error is None:
                return None
            errors.append(error)
        return errors[-1] if isinstance(value, dict) else errors[0]

    def _check_one(self, value: Any, type_name: str, path: str) -> str | None:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return f"{path} must be an array"
            inner = type_name.removeprefix("Array of ")
            for index, item in enumerate(value):
                error = self.check(item, [inner], f"{path}[{index}]")
                if error:
                    return error
            return None
        primitive = _PRIMITIVES.get(type_name)
        if primitive is not None:
            return None if primitive(value) else f"{path} must be of type {type_name}"
        spec = self.types.get(type_name)
        if spec is None:
            return None  # a type this spec does not describe; nothing to check against
        if spec.get("subtypes"):
            candidates = [
                sub
                for sub in spec["subtypes"]
                if sub not in self._discriminators
                or (
                    isinstance(value, dict)
                    and value.get(self._discriminators[sub][0]) == self._discriminators[sub][1]
                )
            ]
            if not candidates:
                return f"{path} is not a valid {type_name}"
            return self.check(value, candidates, path)
        if not isinstance(value, dict):
            return f"{path} must be a {type_name} object"
        discriminator = self._discriminators.get(type_name)
        if discriminator and value.get(discriminator[0]) != discriminator[1]:
            return f'{path}.{discriminator[0]} must be "{discriminator[1]}"'
        for spec_field in spec.get("fields", []):
            name = spec_field["name"]
            if name not in value:
                if spec_field["required"]:
                    return f'{path}: field "{name}" of {type_name} is required'
                continue
            error = self.check(value[name], spec_field["types"], f"{path}.{name}")
            if error:
                return error
        return None


# --------------------------------------------------------------------------- state


@dataclass
class _Chat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    owner: int | None = None
    admins: tuple[int, ...] = ()
    members: set[int] | None = None  # None: every registered user is a member
    bot_is_admin: bool = False


@dataclass
class _PollState:
    chat_id: int
    message_id: int
    votes: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes | memoryview
    file_name: str | None
    mime_type: str | None
    file_path: str


@dataclass
class _RateLimits:
    global_per_second: int | None = None
    per_chat_per_second: int | None = None
    per_chat_per_minute: int | None = None


# --------------------------------------------------------------------------- HTTP plumbing


# Telegram takes long request lines (a text can travel in the query string); aiohttp's default is 8 KiB.
_MAX_LINE = 64 * 1024
# Request bodies over this size are read a piece of this size at a time.
_PIECE = 1 << 20
# How long stop() lets requests in progress finish before it closes their connections.
_SHUTDOWN_TIMEOUT = 1.0


def _header_param(value: str, key: str) -> str | None:
    message = email.message.Message()
    message["x"] = value
    param = message.get_param(key, header="x")
    return None if param is None else email.utils.collapse_rfc2231_value(param)


def _multipart_chunks(body: bytes | bytearray, delimiter: bytes) -> Iterable[tuple[bytes, memoryview]]:
    """(head, content) of each part. The content is a view of the body, not a copy: copying a 45 MB file
    (its pages touched for the first time) holds the stand-in's event loop for ~50 ms."""
    view = memoryview(body)
    start = body.find(delimiter)
    while start != -1:
        begin = start + len(delimiter)
        if body.startswith(b"--", begin):
            return
        end = body.find(delimiter, begin)
        stop = len(body) if end == -1 else end
        if body.startswith(b"\r\n", begin):
            begin += 2
        if body.endswith(b"\r\n", begin, stop):
            stop -= 2
        split = body.find(b"\r\n\r\n", begin, stop)
        if split == -1:
            raise ValueError("malformed multipart part")
        yield bytes(view[begin:split]), view[split + 4 : stop]
        start = end


def _parse_multipart(body: bytes | bytearray, content_type: str) -> dict[str, Any]:
    boundary = _header_param(content_type, "boundary")
    if not boundary:
        raise ValueError("multipart body without boundary")
    params: dict[str, Any] = {}
    for head, content in _multipart_chunks(body, b"--" + boundary.encode("latin-1")):
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = _header_param(disposition, "name")
        if name is None:
            continue
        filename = _header_param(disposition, "filename")
        if filename is None:
            params[name] = str(content, "utf-8")
        else:
            params[name] = UploadedFile(filename, content, headers.get("content-type"))
    return params


def _parse_params(query: str, content_type: str, body: bytes | bytearray) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if not body:
        return params
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("the JSON body must be an object")
        params.update(data)
    elif kind in ("application/x-www-form-urlencoded", ""):
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif kind == "multipart/form-data":
        params.update(_parse_multipart(body, content_type))
    else:
        raise ValueError(f"unsupported Content-Type {kind!r}")
    return params


def _reply(status: int, body: bytes, content_type: str = "application/json") -> web.Response:
    return web.Response(status=status, body=body, headers={"Content-Type": content_type})


def _drop(request: web.BaseRequest) -> web.Response:
    """Close the connection without answering, as a network failure would.

    The response returned here is never sent: aiohttp finds the transport closed, takes it for a
    client that went away and only logs that at DEBUG.
    """
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)


async def _in_thread(function: Callable[[], Any]) -> Any:
    """Run ``function`` in a new daemon thread and await its result.

    Not an executor: its threads are joined at interpreter exit, so a pending long poll of a
    stand-in nobody stopped would hold the exit up until the poll's timeout.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: Exception | None) -> None:
        if future.done():  # cancelled: stop() gave up waiting for this request
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def run() -> None:
        try:
            result, error = function(), None
        except Exception as exc:
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop is closed: the stand-in was stopped meanwhile
            pass

    threading.Thread(target=run, name="botapi-standin-poll", daemon=True).start()
    return await future


def _client_gone(request: web.BaseRequest) -> Callable[[], bool]:
    """A check, callable from any thread, that the peer closed the connection (a cancelled long poll)."""

    def gone() -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()

    return gone


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _ptb_request(**kwargs: Any) -> Any:
    # PTB builds a fresh SSL context (loading the CA bundle, ~50 ms) for every HTTP client;
    # the stand-in speaks plain HTTP, so one shared context keeps test setup fast.
    from telegram.request import HTTPXRequest

    return HTTPXRequest(httpx_kwargs={"verify": _ssl_context()}, **kwargs)


# --------------------------------------------------------------------------- the stand-in


class BotAPIStandin:
    """A strict, stateful fake of ``api.telegram.org`` served from a background event loop.

    All public methods are thread-safe.  See the module docstring for an overview.
    """

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        bot_username: str = "studybot_test_bot",
        bot_first_name: str = "StudyBot",
        privacy_mode: bool = True,
        spec_path: Path = SPEC_PATH,
    ) -> None:
        self.token = token
        self.spec = BotAPISpec.load(Path(spec_path))
        self.privacy_mode = privacy_mode
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": not privacy_mode,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
            "has_topics_enabled": False,
        }
        #: Seconds to wait before handling each call that sends a message (holds no thread).
        self.latency = 0.0
        #: The largest request body taken (bytes); a larger one is answered 413, as Telegram does.
        self.max_upload = MAX_UPLOAD
        #: Number of 429 answers given because of :meth:`rate_limit`.
        self.count_429 = 0
        #: Answers to callback queries / inline queries, keyed by query id (the call's params).
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._errors: list[Call] = []
        self._dropped: list[dict[str, Any]] = []
        self._delivered: dict[int, list[Delivery]] = defaultdict(list)
        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, _Chat] = {}
        self._messages: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self._deleted: set[tuple[int, int]] = set()
        self._last_message_id: dict[int, int] = defaultdict(int)
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._other_every: float | None = None
        self._taken_by_other: list[dict[str, Any]] = []
        self._webhook_url = ""
        self._webhook_secret = ""
        self._webhook_error: tuple[int, str] | None = None
        self._webhook_wake: asyncio.Event | None = None
        #: Where updates for the webhook go: the local address the public https URL leads to (what a
        #: reverse proxy in front of the bot would forward to); see :meth:`forward_webhook`.
        self.webhook_target: str | None = None
        #: (update_id, HTTP status or None when the request failed) of every webhook delivery tried.
        self.webhook_posts: list[tuple[int, int | None]] = []
        #: Seconds between tries when the webhook did not answer 2xx (Telegram waits longer).
        self.webhook_retry = 0.2
        self._polls: dict[str, _PollState] = {}
        self._callback_queries: dict[str, dict[str, Any]] = {}
        self._inline_queries: dict[str, dict[str, Any]] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._files: dict[str, _StoredFile] = {}
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._failures: dict[str, deque[str | int]] = defaultdict(deque)
        self._down: dict[str, str | int] = {}
        self._limits = _RateLimits()
        self._sent_global: deque[float] = deque()
        self._sent_per_chat: dict[int, deque[float]] = defaultdict(deque)
        self._ids = itertools.count(1)
        self._stopping = False
        self._address: tuple[str, int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.ServerRunner | None = None
        self._thread: threading.Thread | None = None
        self._sending = frozenset(
            name
            for name, spec in self.spec.methods.items()
            if name.startswith(("send", "forward", "copy"))
            and any("Message" in returned for returned in spec["returns"])
        )
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": lambda params: dict(self.bot_user),
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPoll": self._send_poll,
            "stopPoll": self._stop_poll,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": lambda p: self._set_bot_text(p, "description", 512),
            "getMyDescription": lambda p: self._get_bot_text(p, "description"),
            "setMyShortDescription": lambda p: self._set_bot_text(p, "short_description", 120),
            "getMyShortDescription": lambda p: self._get_bot_text(p, "short_description"),
            "setMyName": lambda p: self._set_bot_text(p, "name", 64),
            "getMyName": lambda p: self._get_bot_text(p, "name"),
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getChatMemberCount": self._get_chat_member_count,
            "getFile": self._get_file,
            **{method: (lambda p, m=method: self._send_media(p, m)) for method in _MEDIA_METHODS},
        }

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``; PTB's base_url is ``url + "/bot"``."""
        if self._address is None:
            raise RuntimeError("the stand-in is not running; call start() first")
        host, port = self._address
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """What to pass as PTB's ``base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as PTB's ``base_file_url``."""
        return f"{self.url}/file/bot"

    def start(self) -> BotAPIStandin:
        """Start serving on a random free port."""
        if self._loop is not None:
            return self
        self._stopping = False
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop,), name="botapi-standin", daemon=True
        )
        self._thread.start()
        try:
            self._address = asyncio.run_coroutine_threadsafe(self._start_server(), loop).result(timeout=10)
        except BaseException:
            self._loop = loop
            self.stop()
            raise
        self._loop = loop
        logger.debug("Bot API stand-in listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving; pending long polls return empty and open connections are closed."""
        loop, thread = self._loop, self._thread
        if loop is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        try:
            if self._runner is not None:
                # Closes idle keep-alive connections at once, lets requests in progress finish (a long
                # poll returns empty now) for up to _SHUTDOWN_TIMEOUT, then closes the rest.
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(
                    timeout=4 * _SHUTDOWN_TIMEOUT + 5
                )
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=5)
            self._loop = self._runner = self._thread = None
            self._address = None

    def _run_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            # Whatever is still pending (a request stop() gave up waiting for) is cancelled.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    async def _start_server(self) -> tuple[str, int]:
        server = web.Server(
            self._serve,
            access_log=None,
            max_line_size=_MAX_LINE,
            max_field_size=_MAX_LINE,
        )
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        self._runner = runner
        # A client opening dozens of connections at once (a fan-out does) must not overflow the backlog:
        # each dropped SYN costs it a 1 s retransmit.
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=256)
        await site.start()
        host, port = runner.addresses[0][:2]
        self._webhook_wake = asyncio.Event()
        asyncio.get_running_loop().create_task(self._webhook_loop())
        return host, port

    async def _webhook_loop(self) -> None:
        """Telegram's side of a webhook: each update POSTed as JSON, with the secret token header, to
        :attr:`webhook_target`, one at a time and in order; kept and tried again until answered 2xx."""
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while True:
                await self._webhook_wake.wait()
                self._webhook_wake.clear()
                while True:
                    with self._lock:
                        target = self.webhook_target if self._webhook_url else None
                        ready = self._deliverable(1) if target else []
                        secret = self._webhook_secret
                    if not ready:
                        break
                    update = ready[0]
                    headers = {"Content-Type": "application/json"}
                    if secret:
                        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
                    try:
                        async with session.post(target, data=json.dumps(update), headers=headers) as answer:
                            await answer.read()
                            status: int | None = answer.status
                            problem = f"Wrong response from the webhook: {answer.status} {answer.reason}"
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        status, problem = None, f"Connection failed: {type(exc).__name__}"
                    with self._cond:
                        self.webhook_posts.append((update["update_id"], status))
                        delivered = status is not None and 200 <= status < 300
                        if delivered:
                            if update in self._updates:
                                self._updates.remove(update)
                        else:
                            self._webhook_error = (int(time.time()), problem)
                        self._cond.notify_all()
                    if not delivered:
                        await asyncio.sleep(self.webhook_retry)

    def _wake_webhook(self) -> None:
        """Start delivering to the webhook (callable from any thread, under the lock)."""
        loop, wake = self._loop, self._webhook_wake
        if self._webhook_url and loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    def forward_webhook(self, target: str | None) -> None:
        """Deliver the webhook's updates to ``target`` (e.g. ``http://127.0.0.1:PORT/path``), as a
        reverse proxy in front of the bot forwards the public https URL; None stops delivering."""
        with self._lock:
            self.webhook_target = target
            self._wake_webhook()

    def make_bot(self, token: str | None = None) -> Any:
        """A real ``telegram.Bot`` pointed at the stand-in (use it with ``async with``)."""
        import telegram

        return telegram.Bot(
            token or self.token,
            base_url=self.base_url,
            base_file_url=self.base_file_url,
            request=_ptb_request(connection_pool_size=8),
            get_updates_request=_ptb_request(),
        )

    def application_builder(self) -> Any:
        """A real ``ApplicationBuilder`` with token, base URLs and HTTP clients already set."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
            .request(_ptb_request(connection_pool_size=256))
            .get_updates_request(_ptb_request())
        )

    def __enter__(self) -> BotAPIStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- test-side setup

    def add_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """Register a user; returns the User object.

        The private chat with the user exists only once the user has written to the bot
        (:meth:`send_message`) or :meth:`add_chat` was called with type ``"private"``: until then
        the bot gets 403 "bot can't initiate conversation with a user", as on Telegram.
        """
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        for key, value in (
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
        ):
            if value is not None:
                user[key] = value
        with self._lock:
            self._users[user_id] = user
        return dict(user)

    def add_chat(
        self,
        chat_id: int,
        type: str,
        title: str | None = None,
        admins: Iterable[int] = (),
        *,
        owner: int | None = None,
        members: Iterable[int] | None = None,
        bot_is_admin: bool = False,
        username: str | None = None,
    ) -> None:
        """Register a chat.

        Private chats use the user's id (the user must be registered).  For groups,
        ``owner`` becomes ChatMemberOwner, ``admins`` ChatMemberAdministrator, and
        ``members`` (default: every registered user) ChatMemberMember; anyone else is "left".
        """
        if type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {type!r}")
        with self._lock:
            if type == "private":
                if chat_id not in self._users:
                    raise ValueError(f"private chat {chat_id}: register the user with add_user() first")
            elif chat_id >= 0:
                raise ValueError(f"{type} chat ids are negative on Telegram, got {chat_id}")
            self._chats[chat_id] = _Chat(
                id=chat_id,
                type=type,
                title=title if type != "private" else None,
                username=username,
                owner=owner,
                admins=tuple(admins),
                members=None if members is None else set(members),
                bot_is_admin=bot_is_admin,
            )
            if type != "private" and title is None:
                self._chats[chat_id].title = f"Chat {chat_id}"

    # ----------------------------------------------------------------- test-side updates

    def send_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any] | None:
        """A user writes ``text`` in a chat; returns the queued Update.

        Leading (and other) ``/command`` and ``/command@bot`` tokens become bot_command
        entities.  In groups with privacy mode on (the default) the bot only receives
        commands for it, replies to its messages and mentions of it; otherwise the message
        is not delivered, None is returned and the update lands in :attr:`dropped_updates`.
        """
        with self._lock:
            user = self._user(user_id)
            if chat_id == user_id and chat_id not in self._chats:
                self.add_chat(chat_id, "private")
            chat = self._test_chat(chat_id)
            content: dict[str, Any] = {"text": text}
            entities = self._auto_entities(text)
            if entities:
                content["entities"] = entities
            if reply_to_message_id is not None:
                target = self._stored(chat_id, reply_to_message_id)
                if target is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
                content["reply_to_message"] = self._as_reply(target)
            message = self._store_message(chat, user, content)
            if not self._bot_sees(chat, message):
                update = {"update_id": None, "message": copy.deepcopy(message)}
                self._dropped.append(update)
                return None
            return self._queue_update("message", message)

    def send_document(
        self,
        chat_id: int,
        user_id: int,
        file_name: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> dict[str, Any] | None:
        """A user sends a file; the bot can getFile it and download it from the file URL, as a user's
        upload to Telegram. Returns the queued Update (None if the bot does not see it, as for text)."""
        with self._lock:
            user = self._user(user_id)
            if chat_id == user_id and chat_id not in self._chats:
                self.add_chat(chat_id, "private")
            chat = self._test_chat(chat_id)
            stored = self._store_file(content, file_name, mime_type, "documents")
            body: dict[str, Any] = {"document": self._media_object(stored, "Document")}
            if caption:
                body["caption"] = caption
            message = self._store_message(chat, user, body)
            if chat.type != "private" and not self._bot_sees(chat, message):
                self._dropped.append({"update_id": None, "message": copy.deepcopy(message)})
                return None
            return self._queue_update("message", message)

    def press_button(self, chat_id: int, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        """A user presses the inline button with ``callback_data == data``; returns the Update."""
        with self._lock:
            user = self._user(user_id)
            self._test_chat(chat_id)
            message = self._stored(chat_id, message_id)
            if message is None:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            buttons = [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
            if not any(button.get("callback_data") == data for button in buttons):
                offered = [button.get("callback_data") for button in buttons]
                raise ValueError(
                    f"message {message_id} has no button with callback_data {data!r}; it has {offered}"
                )
            query_id = str(4_000_000_000 + next(self._ids))
            query = {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(message),
                "chat_instance": str((chat_id * 2654435761) % (1 << 62)),
                "data": data,
            }
            self._callback_queries[query_id] = query
            return self._queue_update("callback_query", query)

    def answer_poll(
        self, poll_id: str, user_id: int, option_ids: Iterable[int], *, poll_update: bool = True
    ) -> dict[str, Any]:
        """A user votes (an empty ``option_ids`` retracts); returns the queued Update.

        Non-anonymous polls produce a ``poll_answer`` update (returned) and, if
        ``poll_update``, a ``poll`` update with the new counts.  Anonymous polls only produce
        the ``poll`` update (returned): Telegram never tells a bot who voted in them.
        """
        with self._lock:
            state = self._polls.get(poll_id)
            if state is None:
                raise ValueError(f"unknown poll {poll_id!r}")
            user = self._user(user_id)
            poll = self._messages[state.chat_id][state.message_id]["poll"]
            ids = list(option_ids)
            if poll["is_closed"]:
                raise ValueError(f"poll {poll_id} is closed")
            if any(not 0 <= i < len(poll["options"]) for i in ids) or len(set(ids)) != len(ids):
                raise ValueError(f"invalid option ids {ids} for a poll with {len(poll['options'])} options")
            if len(ids) > 1 and not poll["allows_multiple_answers"]:
                raise ValueError(f"poll {poll_id} does not allow multiple answers")
            if user_id in state.votes and not poll["allows_revoting"]:
                raise ValueError(f"poll {poll_id} does not allow changing the answer")
            if not ids and user_id not in state.votes:
                raise ValueError("nothing to retract: the user has not voted")
            if ids:
                state.votes[user_id] = sorted(ids)
            else:
                state.votes.pop(user_id, None)
            for index, option in enumerate(poll["options"]):
                option["voter_count"] = sum(index in chosen for chosen in state.votes.values())
            poll["total_voter_count"] = len(state.votes)
            answer = None
            if not poll["is_anonymous"]:
                answer = self._queue_update(
                    "poll_answer",
                    {
                        "poll_id": poll_id,
                        "user": user,
                        "option_ids": sorted(ids),
                        "option_persistent_ids": [poll["options"][i]["persistent_id"] for i in sorted(ids)],
                    },
                )
            if poll_update or answer is None:
                state_update = self._queue_update("poll", poll)
                answer = answer or state_update
            return answer

    def inline_query(
        self, user_id: int, query: str, offset: str = "", chat_type: str | None = "sender"
    ) -> dict[str, Any]:
        """A user types ``@bot query``; returns the queued Update."""
        with self._lock:
            inline = {
                "id": str(8_000_000_000 + next(self._ids)),
                "from": self._user(user_id),
                "query": query,
                "offset": offset,
            }
            if chat_type is not None:
                inline["chat_type"] = chat_type
            self._inline_queries[inline["id"]] = inline
            return self._queue_update("inline_query", inline)

    def queue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an arbitrary update (``{kind: payload}``); it is checked against the spec."""
        with self._lock:
            return self._queue_update(kind, payload)

    # ----------------------------------------------------------------- test-side faults

    def rate_limit(
        self,
        global_per_second: int | None = None,
        per_chat_per_minute: int | None = None,
        *,
        per_chat_per_second: int | None = None,
    ) -> None:
        """Answer 429 with retry_after when sending exceeds these sliding-window limits.

        Only successfully sent messages count.  Call with no arguments to lift all limits.
        """
        with self._lock:
            self._limits = _RateLimits(global_per_second, per_chat_per_second, per_chat_per_minute)

    def block(self, chat_id: int) -> None:
        """The user blocks the bot (or the bot is kicked): sends get 403 Forbidden."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        with self._lock:
            self._blocked.discard(chat_id)

    def migrate(self, chat_id: int, new_chat_id: int, *, announce: bool = False) -> None:
        """Upgrade a group to a supergroup.

        Calls for the old id get 400 with ``parameters.migrate_to_chat_id``; the new id works.
        With ``announce`` the service messages (migrate_to/from_chat_id) are queued too.
        """
        with self._lock:
            old = self._test_chat(chat_id)
            if old.type != "group":
                raise ValueError(f"only groups migrate, chat {chat_id} is a {old.type}")
            if new_chat_id >= 0:
                raise ValueError("supergroup ids are negative")
            self._chats[new_chat_id] = _Chat(
                id=new_chat_id,
                type="supergroup",
                title=old.title,
                username=old.username,
                owner=old.owner,
                admins=old.admins,
                members=None if old.members is None else set(old.members),
                bot_is_admin=old.bot_is_admin,
            )
            self._migrated[chat_id] = new_chat_id
            if announce:
                actor = self._users.get(old.owner or (old.admins[0] if old.admins else 0))
                extra = {"from": actor} if actor else {}
                old_message = self._store_message(old, None, {"migrate_to_chat_id": new_chat_id, **extra})
                self._queue_update("message", old_message)
                new_message = self._store_message(
                    self._chats[new_chat_id], None, {"migrate_from_chat_id": chat_id, **extra}
                )
                self._queue_update("message", new_message)
            del self._chats[chat_id]

    def other_instance(self, every: float | None = 0.5) -> None:
        """Another bot instance polls this token from elsewhere, once every ``every`` seconds; ``None``:
        it has stopped.

        As on Telegram, the newer getUpdates ends the pending one: while the other instance polls, each
        getUpdates of the bot is cut off by the other's next poll (within ``every`` seconds) and answered
        409 ``Conflict: terminated by other getUpdates request; ...``, and the other instance takes the
        updates that were waiting (:attr:`taken_by_other`). Injected: not counted in :attr:`errors`.
        """
        if every is not None and every < 0:
            raise ValueError("every must be >= 0")
        with self._cond:
            self._other_every = every
            self._cond.notify_all()

    @property
    def taken_by_other(self) -> list[dict[str, Any]]:
        """Updates that went to the other instance of :meth:`other_instance`."""
        with self._lock:
            return list(self._taken_by_other)

    def fail_next(self, method: str, n: int = 1, kind: str | int = "network") -> None:
        """Make the next ``n`` calls of ``method`` (``"*"``: any method) fail.

        ``kind``: ``"network"`` drops the connection before the call is handled,
        ``"network_after"`` handles it (the message *is* sent) and then drops the
        connection, ``400``/``404``/``500``/``502`` answer with that HTTP error (400 and 404 as an
        emulator lacking the method would).
        """
        if isinstance(kind, str) and kind.isdigit():
            kind = int(kind)
        if kind not in _FAILURE_KINDS:
            raise ValueError(f"kind must be one of {_FAILURE_KINDS}, got {kind!r}")
        with self._lock:
            self._failures[method.lower()].extend([kind] * n)

    def take_down(self, method: str = "*", kind: str | int = 502) -> None:
        """An outage until :meth:`bring_up`: every call of ``method`` (``"*"``: any) fails.

        ``kind``: ``"network"`` drops the connection, ``500``/``502`` answer with that HTTP error,
        ``"hang"`` holds the request unanswered until the API is up again (or the client gives up) and
        then drops it, as an unreachable server does. Nothing is delivered while it is down. ``"*"``
        replaces any outage of single methods.
        """
        if kind not in _OUTAGE_KINDS:
            raise ValueError(f"kind must be one of {_OUTAGE_KINDS}, got {kind!r}")
        with self._lock:
            if method == "*":
                self._down.clear()  # the whole API: one kind for every method
            self._down[method.lower()] = kind

    def bring_up(self) -> None:
        """End every outage :meth:`take_down` started."""
        with self._lock:
            self._down.clear()

    # ----------------------------------------------------------------- test-side inspection

    @property
    def calls(self) -> list[Call]:
        """Every call so far, in order of completion (a snapshot)."""
        with self._lock:
            return list(self._calls)

    @property
    def errors(self) -> list[Call]:
        """Calls refused because the bot broke an API rule (a snapshot)."""
        with self._lock:
            return list(self._errors)

    @property
    def dropped_updates(self) -> list[dict[str, Any]]:
        """Updates the bot never got (privacy mode, or excluded by allowed_updates)."""
        with self._lock:
            return list(self._dropped)

    @property
    def delivered(self) -> dict[int, list[Delivery]]:
        """Successfully sent messages per chat id, with monotonic timestamps (a snapshot)."""
        with self._lock:
            return {chat_id: list(items) for chat_id, items in self._delivered.items()}

    def max_in_window(self, chat_id: int | None = None, window: float = 1.0) -> int:
        """Largest number of messages delivered (to ``chat_id``, or to all chats) in any ``window`` seconds."""
        with self._lock:
            if chat_id is None:
                times = sorted(d.at for items in self._delivered.values() for d in items)
            else:
                times = [d.at for d in self._delivered.get(chat_id, [])]
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def mark(self) -> int:
        """The index the next call will get; pass it as ``after`` to wait for later calls only."""
        with self._lock:
            return len(self._calls)

    def calls_for(self, method: str) -> list[Call]:
        """All calls of ``method`` (case-insensitive)."""
        wanted = method.lower()
        with self._lock:
            return [call for call in self._calls if call.method.lower() == wanted]

    def _find_call(self, method: str, predicate: Callable[[Call], bool] | None, after: int) -> Call | None:
        wanted = method.lower()
        for call in self._calls[after:]:
            if (wanted == "*" or call.method.lower() == wanted) and (predicate is None or predicate(call)):
                return call
        return None

    def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
        after: int = 0,
    ) -> Call:
        """Block until a call of ``method`` (``"*"``: any) with index >= ``after`` matches ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._find_call(method, predicate, after)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout_error(method, timeout, after)
                self._cond.wait(remaining)

    async def await_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
        after: int = 0,
    ) -> Call:
        """Async :meth:`wait_for`: polls without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = self._find_call(method, predicate, after)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                with self._lock:
                    raise self._timeout_error(method, timeout, after)
            await asyncio.sleep(0.01)

    def _timeout_error(self, method: str, timeout: float, after: int) -> TimeoutError:
        recent = [(c.method, c.ok) for c in self._calls[after:][-10:]]
        return TimeoutError(f"no matching {method} call within {timeout}s; recent calls: {recent}")

    def assert_no_errors(self) -> None:
        """Raise AssertionError listing every refused call."""
        errors = self.errors
        if errors:
            lines = [f"{c.method}: {c.description} (params {c.params})" for c in errors]
            raise AssertionError("the bot broke Bot API rules:\n" + "\n".join(lines))

    def bot_messages(self, chat_id: int, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The bot's messages in a chat as currently stored (edits applied), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(message)
                for mid, message in sorted(self._messages.get(chat_id, {}).items())
                if message.get("from", {}).get("id") == self.bot_id
                and (include_deleted or (chat_id, mid) not in self._deleted)
            ]

    def messages_in(self, chat_id: int) -> list[str]:
        """Texts of the bot's visible messages in a chat: text, caption or poll question."""
        texts = []
        for message in self.bot_messages(chat_id):
            text = message.get("text") or message.get("caption") or message.get("poll", {}).get("question")
            if text:
                texts.append(text)
        return texts

    def polls(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Poll objects the bot sent (current vote counts), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(self._messages[state.chat_id][state.message_id]["poll"])
                for state in self._polls.values()
                if chat_id is None or state.chat_id == chat_id
            ]

    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates the bot has not confirmed yet."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def my_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Commands currently set for a scope (default scope if None)."""
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def file_content(self, file_id: str) -> bytes:
        """Bytes of a file the bot uploaded."""
        with self._lock:
            return bytes(self._files[file_id].content)

    # ----------------------------------------------------------------- HTTP entry point

    async def _serve(self, request: web.BaseRequest) -> web.StreamResponse:
        split = urlsplit(request.raw_path)
        path = unquote(split.path)
        try:
            # aiohttp has undone any chunked encoding. Read a piece at a time into one buffer: a 45 MB
            # upload read whole would be joined (copied) in one go, holding up every other request.
            if (request.content_length or 0) <= _PIECE:
                body: bytes | bytearray = await request.content.read()
            else:
                body = bytearray()
                async for piece in request.content.iter_chunked(_PIECE):
                    body += piece
        except Exception:  # the client went away, or sent a malformed body
            logger.debug("reading a request body failed", exc_info=True)
            return _drop(request)
        file_match = _FILE_PATH.fullmatch(path)
        if file_match:
            return self._serve_file(*file_match.groups())
        match = _API_PATH.fullmatch(path)
        if match is None:
            return _reply(404, json.dumps(APIError(404, "Not Found").payload()).encode())
        token, raw_method = match.groups()
        if len(body) > self.max_upload:
            # As Telegram's front end does: the request is refused before it reaches the Bot API.
            error = APIError(413, "Request Entity Too Large")
            self._record(self.spec.canonical(raw_method) or raw_method, {}, error.payload(), violation=True)
            return _reply(413, json.dumps(error.payload()).encode())
        failure = self._take_failure(raw_method)
        try:
            raw_params = _parse_params(split.query, request.headers.get("Content-Type", ""), body)
        except (ValueError, UnicodeDecodeError) as exc:
            raw_params = {}
            parse_error: APIError | None = APIError(400, f"Bad Request: can't parse request: {exc}")
        else:
            parse_error = None
        if failure == "hang":
            method = self.spec.canonical(raw_method) or raw_method
            gone = _client_gone(request)
            while self._outage(raw_method) == "hang" and not gone() and not self._stopping:
                await asyncio.sleep(_POLL_SLICE)
            self._record(method, raw_params, None)
            return _drop(request)
        if failure == "network" or failure in _FAILURE_PHRASES:
            method = self.spec.canonical(raw_method) or raw_method
            if failure == "network":
                self._record(method, raw_params, None)
                return _drop(request)
            response = {"ok": False, "error_code": failure, "description": _FAILURE_PHRASES[failure]}
            self._record(method, raw_params, response)
            return _reply(int(failure), json.dumps(response).encode())
        status, response = await self._call(token, raw_method, raw_params, parse_error, _client_gone(request))
        if response is None or failure == "network_after":
            return _drop(request)
        return _reply(status, json.dumps(response, ensure_ascii=False).encode())

    def _serve_file(self, token: str, file_path: str) -> web.Response:
        with self._lock:
            stored = next((f for f in self._files.values() if f.file_path == file_path), None)
        if token != self.token or stored is None:
            return _reply(404, json.dumps(APIError(404, "Not Found").payload()).encode())
        return _reply(200, stored.content, stored.mime_type or "application/octet-stream")

    def _take_failure(self, raw_method: str) -> str | int | None:
        with self._lock:
            for key in (raw_method.lower(), "*"):
                if self._failures.get(key):
                    return self._failures[key].popleft()
        return self._outage(raw_method)

    def _outage(self, raw_method: str) -> str | int | None:
        with self._lock:
            return self._down.get(raw_method.lower(), self._down.get("*"))

    async def _call(
        self,
        token: str,
        raw_method: str,
        raw_params: dict[str, Any],
        parse_error: APIError | None,
        gone: Callable[[], bool],
    ) -> tuple[int, dict[str, Any] | None]:
        method = self.spec.canonical(raw_method)
        params = raw_params
        violation = False
        try:
            if token != self.token:
                raise APIError(401, "Unauthorized")
            if method is None:
                raise APIError(404, "Not Found")
            if parse_error is not None:
                raise parse_error
            params = self.spec.coerce_params(method, raw_params)
            if self.latency and method in self._sending:
                await asyncio.sleep(self.latency)
            if method == "getUpdates":
                # A long poll waits on self._cond: in a thread of its own, so the loop keeps serving.
                result = await _in_thread(lambda: self._execute(method, params, gone))
            else:
                result = self._execute(method, params, gone)
            status, response = 200, {"ok": True, "result": result}
        except APIError as exc:
            status, response, violation = exc.code, exc.payload(), exc.violation
        except _Abandoned:
            status, response = 0, None
        except Exception as exc:  # a bug in the stand-in must fail the test, not hang it
            logger.exception("Bot API stand-in failed on %s", raw_method)
            status, violation = 500, True
            response = {
                "ok": False,
                "error_code": 500,
                "description": f"Internal Server Error: stand-in bug: {exc}",
            }
        self._record(method or raw_method, params, response, violation=violation)
        return status, response

    def _record(
        self, method: str, params: dict[str, Any], response: dict[str, Any] | None, *, violation: bool = False
    ) -> None:
        call = Call(method, params, response)
        with self._cond:
            self._calls.append(call)
            if violation:
                self._errors.append(call)
                logger.warning("Bot API stand-in refused %s: %s", method, call.description)
            self._cond.notify_all()

    def _execute(self, method: str, params: dict[str, Any], gone: Callable[[], bool]) -> Any:
        with self._cond:
            self.spec.check_params(method, params)
            if method == "getUpdates":
                result = self._get_updates(params, gone)
            else:
                handler = self._handlers.get(method)
                result = handler(params) if handler is not None else self._generic(method, params)
            error = self.spec.check(result, self.spec.returns(method), "result")
            if error:
                raise StandinBug(f"{method} returned an object the spec refuses: {error}")
            return result

    def _generic(self, method: str, params: dict[str, Any]) -> Any:
        """Methods without special handling: check the chat, then answer plausibly."""
        returns = self.spec.returns(method)
        if method in self._sending and "Message" in returns:
            chat = self._target_chat(params["chat_id"], outgoing=True)
            content = self._caption_content(params)
            return self._deliver(method, chat, {**content, **self._common_extras(chat, params)})
        if "chat_id" in params and isinstance(params["chat_id"], int | str):
            self._target_chat(params["chat_id"], outgoing=method.startswith(("edit", "pin", "unpin")))
        if "Boolean" in returns:
            return True
        raise APIError(500, f"Internal Server Error: the stand-in does not implement {method}")

    # ----------------------------------------------------------------- updates

    def _queue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(payload)}
        self._next_update_id += 1
        error = self.spec.check(update, ["Update"], "update")
        if error:
            raise StandinBug(f"the stand-in built an invalid update: {error}")
        if kind not in self._allowed():
            self._dropped.append(update)
        else:
            self._updates.append(update)
            self._wake_webhook()
        self._cond.notify_all()
        return copy.deepcopy(update)

    def _allowed(self) -> frozenset[str]:
        return self._allowed_updates or (self.spec.update_types - _OPT_IN_UPDATES)

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed()
        ready = []
        for update in list(self._updates):
            if next(key for key in update if key != "update_id") not in allowed:
                # Telegram never delivers these; they are gone for good.
                self._updates.remove(update)
                self._dropped.append(update)
                continue
            ready.append(update)
            if len(ready) >= limit:
                break
        return ready

    def _get_updates(self, params: dict[str, Any], gone: Callable[[], bool]) -> list[dict[str, Any]]:
        if self._webhook_url:
            raise APIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if self._other_every is not None:
            self._cut_off_by_other(gone)
        limit = min(max(params.get("limit", 100), 1), 100)
        timeout = max(params.get("timeout", 0), 0)
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        offset = params.get("offset")
        if offset is not None:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()
        deadline = time.monotonic() + timeout
        while True:
            if self._stopping:
                return []
            if generation != self._poll_generation:
                return self._superseded(gone)
            ready = self._deliverable(limit)
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return copy.deepcopy(ready)
            self._cond.wait(min(remaining, _POLL_SLICE))
            if gone():
                raise _Abandoned

    def _cut_off_by_other(self, gone: Callable[[], bool]) -> None:
        # The other instance of other_instance() polls within `every` seconds: this poll ends with 409
        # then, and the other instance takes what was waiting. If it stops meanwhile, this poll goes on.
        deadline = time.monotonic() + self._other_every
        while self._other_every is not None and not self._stopping:
            if time.monotonic() >= deadline:
                self._taken_by_other.extend(self._updates)
                self._updates.clear()
                raise APIError(409, _CONFLICT_OTHER_POLL, violation=False)
            self._cond.wait(min(max(deadline - time.monotonic(), 0), _POLL_SLICE))
            if gone():
                raise _Abandoned

    def _superseded(self, gone: Callable[[], bool]) -> list[dict[str, Any]]:
        # A newer getUpdates arrived.  If this one's client already went away it was just a
        # cancelled poll; if the client is still waiting, two pollers are running.
        deadline = time.monotonic() + _SUPERSEDE_GRACE
        while time.monotonic() < deadline:
            if gone():
                raise _Abandoned
            self._cond.wait(0.02)
        raise APIError(409, _CONFLICT_OTHER_POLL)

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook_url = self._webhook_secret = ""
        self._webhook_error = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params["url"]
        if url and not url.startswith("https://"):
            raise APIError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if url and urlsplit(url).port not in (None, 443, 80, 88, 8443):
            raise APIError(
                400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.get("secret_token", "")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise APIError(400, "Bad Request: secret token contains unallowed characters")
        self._webhook_url = url
        self._webhook_secret = secret if url else ""
        self._webhook_error = None
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._wake_webhook()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook_url and self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        if self._webhook_url and self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    # ----------------------------------------------------------------- chats, users, messages

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id not in self._users:
            raise ValueError(f"unknown user {user_id}; register it with add_user()")
        return self._users[user_id]

    def _test_chat(self, chat_id: int) -> _Chat:
        if chat_id not in self._chats:
            raise ValueError(f"unknown chat {chat_id}; register it with add_chat()")
        return self._chats[chat_id]

    def _target_chat(self, value: int | str, *, outgoing: bool) -> _Chat:
        """Resolve a chat_id parameter the way Telegram would, with injected faults."""
        if isinstance(value, str):
            username = value.removeprefix("@").lower()
            chat = next(
                (
                    c
                    for c in self._chats.values()
                    if (c.username or self._users.get(c.id, {}).get("username", "")).lower() == username
                ),
                None,
            )
            if chat is None or not value.startswith("@"):
                raise APIError(400, "Bad Request: chat not found")
            value = chat.id
        if value in self._migrated:
            raise APIError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                parameters={"migrate_to_chat_id": self._migrated[value]},
                violation=False,
            )
        chat = self._chats.get(value)
        if chat is None:
            if outgoing and value in self._users:
                raise APIError(403, "Forbidden: bot can't initiate conversation with a user")
            raise APIError(400, "Bad Request: chat not found")
        if outgoing and value in self._blocked:
            reason = {
                "private": "bot was blocked by the user",
                "group": "bot was kicked from the group chat",
                "supergroup": "bot was kicked from the supergroup chat",
            }.get(chat.type, "bot is not a member")
            raise APIError(403, f"Forbidden: {reason}", violation=False)
        return chat

    def _chat_object(self, chat: _Chat) -> dict[str, Any]:
        result: dict[str, Any] = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            user = self._users[chat.id]
            for key in ("first_name", "last_name", "username"):
                if key in user:
                    result[key] = user[key]
        else:
            result["title"] = chat.title
            if chat.username:
                result["username"] = chat.username
        return result

    def _store_message(
        self, chat: _Chat, sender: dict[str, Any] | None, content: dict[str, Any]
    ) -> dict[str, Any]:
        self._last_message_id[chat.id] += 1
        message: dict[str, Any] = {
            "message_id": self._last_message_id[chat.id],
            "date": int(time.time()),
            "chat": self._chat_object(chat),
        }
        if sender is not None:
            message["from"] = sender
        message.update(content)
        self._messages[chat.id][message["message_id"]] = message
        return message

    def _stored(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        if (chat_id, message_id) in self._deleted:
            return None
        return self._messages.get(chat_id, {}).get(message_id)

    @staticmethod
    def _as_reply(message: dict[str, Any]) -> dict[str, Any]:
        # Telegram does not nest replies more than one level deep.
        return {key: copy.deepcopy(value) for key, value in message.items() if key != "reply_to_message"}

    def _bot_from(self) -> dict[str, Any]:
        return {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}

    def _auto_entities(self, text: str) -> list[dict[str, Any]]:
        entities = []
        for pattern, kind in ((_COMMAND_IN_TEXT, "bot_command"), (_MENTION_IN_TEXT, "mention")):
            for match in pattern.finditer(text):
                entities.append(
                    {
                        "type": kind,
                        "offset": utf16_len(text[: match.start()]),
                        "length": utf16_len(match.group()),
                    }
                )
        return _sorted_entities(entities)

    def _bot_sees(self, chat: _Chat, message: dict[str, Any]) -> bool:
        """Privacy mode: in groups a bot sees only what is addressed to it (unless it is admin)."""
        if chat.type == "private" or not self.privacy_mode or chat.bot_is_admin:
            return True
        text = message.get("text", "")
        for entity in message.get("entities", []):
            if entity["type"] == "bot_command":
                target = text[entity["offset"] : entity["offset"] + entity["length"]].partition("@")[2]
                if not target or target.lower() == self.bot_username.lower():
                    return True
        if message.get("reply_to_message", {}).get("from", {}).get("id") == self.bot_id:
            return True
        return f"@{self.bot_username.lower()}" in text.lower()

    # ----------------------------------------------------------------- formatting and markup

    def _formatted(
        self,
        text: str,
        parse_mode: str | None,
        entities: list[dict[str, Any]] | None,
    ) -> tuple[str, list[dict[str, Any]]]:
        """Apply parse_mode (or check explicit entities) and trim, as Telegram does."""
        if parse_mode:
            parser = _PARSERS.get(parse_mode.lower())
            if parser is None:
                raise APIError(400, "Bad Request: unsupported parse_mode")
            try:
                text, entities = parser(text)
            except EntityParseError as exc:
                raise APIError(400, f"Bad Request: can't parse entities: {exc}") from None
        else:
            entities = copy.deepcopy(entities or [])
            size = utf16_len(text)
            for entity in entities:
                if entity["type"] not in self.spec.entity_types:
                    raise APIError(
                        400, f"Bad Request: can't parse entities: unknown entity type {entity['type']!r}"
                    )
                if (
                    entity["offset"] < 0
                    or entity["length"] <= 0
                    or entity["offset"] + entity["length"] > size
                ):
                    raise APIError(400, "Bad Request: can't parse entities: entity is out of the text bounds")
        return _strip_text(text, entities)

    def _message_text(
        self,
        params: dict[str, Any],
        key: str = "text",
        mode_key: str = "parse_mode",
        entities_key: str = "entities",
    ) -> tuple[str, list[dict[str, Any]]]:
        text, entities = self._formatted(params[key], params.get(mode_key), params.get(entities_key))
        if not text:
            raise APIError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_MESSAGE_TEXT:
            raise APIError(400, "Bad Request: message is too long")
        return text, entities

    def _caption_content(self, params: dict[str, Any]) -> dict[str, Any]:
        if "caption" not in params:
            return {}
        caption, entities = self._formatted(
            params["caption"], params.get("parse_mode"), params.get("caption_entities")
        )
        if utf16_len(caption) > MAX_CAPTION:
            raise APIError(400, "Bad Request: message caption is too long")
        content: dict[str, Any] = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    @staticmethod
    def _check_inline_keyboard(markup: dict[str, Any]) -> None:
        for row in markup["inline_keyboard"]:
            for button in row:
                if not button.get("text"):
                    raise APIError(
                        400, "Bad Request: can't parse inline keyboard button: text must be non-empty"
                    )
                actions = [key for key in _BUTTON_ACTIONS if key in button]
                if not actions:
                    raise APIError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard",
                    )
                if len(actions) > 1:
                    raise APIError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        f"exactly one of the optional fields must be used, got {actions}",
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                    raise APIError(400, "Bad Request: BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not re.match(r"(https?|tg)://\S+$", url):
                    raise APIError(400, f"Bad Request: inline keyboard button URL '{url}' is invalid")

    def _inline_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None or "inline_keyboard" not in markup:
            return None
        self._check_inline_keyboard(markup)
        return markup

    def _common_extras(self, chat: _Chat, params: dict[str, Any]) -> dict[str, Any]:
        """Reply target, inline keyboard and flags shared by all send* methods."""
        extras: dict[str, Any] = {}
        markup = self._inline_markup(params)
        if markup is not None:
            extras["reply_markup"] = markup  # reply keyboards are client-side and never echoed
        reply = params.get("reply_parameters")
        if reply:
            target_chat = reply.get("chat_id", chat.id)
            target = self._stored(
                target_chat if isinstance(target_chat, int) else chat.id, reply["message_id"]
            )
            if target is not None:
                extras["reply_to_message"] = self._as_reply(target)
            elif not reply.get("allow_sending_without_reply"):
                raise APIError(400, "Bad Request: message to be replied not found")
        if params.get("protect_content"):
            extras["has_protected_content"] = True
        return extras

    # ----------------------------------------------------------------- sending

    def _check_rate(self, chat_id: int) -> None:
        now = time.monotonic()
        limits = self._limits
        wait = 0.0
        for limit, times, window in (
            (limits.global_per_second, self._sent_global, 1.0),
            (limits.per_chat_per_second, self._sent_per_chat[chat_id], 1.0),
            (limits.per_chat_per_minute, self._sent_per_chat[chat_id], 60.0),
        ):
            if not limit:
                continue
            # Send times are appended in order, so the ones within the window are the tail: counting
            # them by bisection keeps a busy stand-in from scanning thousands of times per call.
            recent = len(times) - bisect.bisect_right(times, now - window)
            if recent >= limit:
                wait = max(wait, times[len(times) - limit] + window - now)
        while self._sent_global and self._sent_global[0] <= now - 1.0:  # only the last second counts
            self._sent_global.popleft()
        if wait > 0:
            self.count_429 += 1
            retry_after = max(1, math.ceil(wait))
            raise APIError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                parameters={"retry_after": retry_after},
                violation=False,
            )

    def _deliver(self, method: str, chat: _Chat, content: dict[str, Any]) -> dict[str, Any]:
        """Rate-limit, store and return a new message from the bot."""
        self._check_rate(chat.id)
        message = self._store_message(chat, self._bot_from(), content)
        now = time.monotonic()
        self._sent_global.append(now)
        per_chat = self._sent_per_chat[chat.id]
        per_chat.append(now)
        while per_chat and per_chat[0] <= now - 60:
            per_chat.popleft()
        self._delivered[chat.id].append(Delivery(now, method, message["message_id"]))
        return copy.deepcopy(message)

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params["chat_id"], outgoing=True)
        text, entities = self._message_text(params)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._deliver("sendMessage", chat, {**content, **self._common_extras(chat, params)})

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params["chat_id"], outgoing=True)
        if params["action"] not in _CHAT_ACTIONS:
            raise APIError(400, "Bad Request: wrong parameter action in request")
        return True

    def _store_file(
        self, content: bytes, file_name: str | None, mime_type: str | None, folder: str
    ) -> _StoredFile:
        number = next(self._ids)
        suffix = Path(file_name).suffix if file_name else ""
        stored = _StoredFile(
            file_id=f"BQACAgIAAx0C{number:08d}",
            file_unique_id=f"AgAD{number:06d}",
            content=content,
            file_name=file_name,
            mime_type=mime_type,
            file_path=f"{folder}/file_{number}{suffix}",
        )
        self._files[stored.file_id] = stored
        return stored

    def _input_file(self, value: Any, params: dict[str, Any], folder: str) -> _StoredFile:
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
            if not isinstance(value, UploadedFile):
                raise APIError(400, "Bad Request: can't find attached file")
        if isinstance(value, UploadedFile):
            if not value.content:
                raise APIError(400, "Bad Request: file must be non-empty")
            return self._store_file(value.content, value.filename, value.content_type, folder)
        if value in self._files:
            return self._files[value]
        if isinstance(value, str) and re.match(r"https?://\S+$", value):
            return self._store_file(b"", Path(urlsplit(value).path).name or None, None, folder)
        raise APIError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _media_object(self, stored: _StoredFile, type_name: str) -> dict[str, Any]:
        media: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }
        if type_name == "Document":
            if stored.file_name:
                media["file_name"] = stored.file_name
            if stored.mime_type:
                media["mime_type"] = stored.mime_type
        # Fill whatever else the spec requires (width, duration, ...) with neutral values.
        for spec_field in self.spec.types[type_name]["fields"]:
            if spec_field["required"] and spec_field["name"] not in media:
                kind = spec_field["types"][0]
                media[spec_field["name"]] = {"Integer": 0, "Boolean": False, "Float": 0.0}.get(
                    kind, "regular" if spec_field["name"] == "type" else ""
                )
        return media

    def _send_media(self, params: dict[str, Any], method: str) -> dict[str, Any]:
        key, type_name = _MEDIA_METHODS[method]
        chat = self._target_chat(params["chat_id"], outgoing=True)
        stored = self._input_file(params[key], params, f"{key}s")
        media = self._media_object(stored, type_name)
        content = self._caption_content(params)
        content[key] = [media] if key == "photo" else media
        return self._deliver(method, chat, {**content, **self._common_extras(chat, params)})

    def _plain(
        self,
        text: str,
        parse_mode: str | None,
        entities: list[dict[str, Any]] | None,
    ) -> tuple[str, list[dict[str, Any]]]:
        # Poll questions and options only keep custom emoji ("Currently, only custom emoji
        # entities are allowed"); other formatting is parsed, checked and dropped.
        text, entities = self._formatted(text, parse_mode, entities)
        return text, [e for e in entities if e["type"] == "custom_emoji"]

    def _send_poll(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params["chat_id"], outgoing=True)
        poll_type = params.get("type", "regular")
        if poll_type not in ("regular", "quiz"):
            raise APIError(400, "Bad Request: wrong poll type specified")
        is_anonymous = params.get("is_anonymous", True)
        if chat.type == "channel" and not is_anonymous:
            raise APIError(400, "Bad Request: non-anonymous polls can't be sent to channel chats")
        question, question_entities = self._plain(
            params["question"], params.get("question_parse_mode"), params.get("question_entities")
        )
        if not 1 <= utf16_len(question) <= MAX_POLL_QUESTION:
            raise APIError(400, f"Bad Request: poll question length must be 1-{MAX_POLL_QUESTION} characters")
        raw_options = params["options"]
        # The spec allows a single option only for polls users can add options to.
        minimum = 1 if params.get("allow_adding_options") else 2
        if len(raw_options) < minimum:
            raise APIError(400, f"Bad Request: poll must have at least {minimum} option")
        if len(raw_options) > MAX_POLL_OPTIONS:
            raise APIError(400, f"Bad Request: poll can't have more than {MAX_POLL_OPTIONS} options")
        poll_id = str(5_000_000_000_000 + next(self._ids))
        options = []
        for index, raw in enumerate(raw_options):
            text, entities = self._plain(raw["text"], raw.get("text_parse_mode"), raw.get("text_entities"))
            if not 1 <= utf16_len(text) <= MAX_POLL_OPTION:
                raise APIError(400, f"Bad Request: poll option length must be 1-{MAX_POLL_OPTION} characters")
            option: dict[str, Any] = {"persistent_id": f"{poll_id}-{index}", "text": text, "voter_count": 0}
            if entities:
                option["text_entities"] = entities
            options.append(option)
        poll: dict[str, Any] = {
            "id": poll_id,
            "question": question,
            "options": options,
            "total_voter_count": 0,
            "is_closed": bool(params.get("is_closed", False)),
            "is_anonymous": is_anonymous,
            "type": poll_type,
            "allows_multiple_answers": bool(params.get("allows_multiple_answers", False)),
            "allows_revoting": bool(params.get("allows_revoting", poll_type != "quiz")),
            "members_only": bool(params.get("members_only", False)),
        }
        if question_entities:
            poll["question_entities"] = question_entities
        correct = params.get("correct_option_ids")
        if correct is None and isinstance(params.get("correct_option_id"), int):
            correct = [params["correct_option_id"]]  # the pre-9.6 name, still sent by old clients
        if poll_type == "quiz":
            if not correct:
                raise APIError(400, "Bad Request: correct_option_ids must be specified for quiz polls")
            if any(not 0 <= i < len(options) for i in correct) or correct != sorted(set(correct)):
                raise APIError(400, "Bad Request: wrong correct option ids specified")
            if len(correct) > 1 and not poll["allows_multiple_answers"]:
                raise APIError(
                    400, "Bad Request: a quiz with several correct options must allow multiple answers"
                )
            poll["correct_option_ids"] = list(correct)
        if "explanation" in params:
            explanation, entities = self._formatted(
                params["explanation"],
                params.get("explanation_parse_mode"),
                params.get("explanation_entities"),
            )
            if utf16_len(explanation) > MAX_POLL_EXPLANATION:
                raise APIError(400, "Bad Request: poll explanation is too long")
            if explanation.count("\n") > MAX_POLL_EXPLANATION_LINE_FEEDS:
                raise APIError(400, "Bad Request: poll explanation can't contain more than 2 line feeds")
            if explanation:
                poll["explanation"] = explanation
                if entities:
                    poll["explanation_entities"] = entities
        if "description" in params:
            description, entities = self._formatted(
                params["description"],
                params.get("description_parse_mode"),
                params.get("description_entities"),
            )
            if utf16_len(description) > MAX_CAPTION:
                raise APIError(400, "Bad Request: poll description is too long")
            if description:
                poll["description"] = description
                if entities:
                    poll["description_entities"] = entities
        if "open_period" in params and "close_date" in params:
            raise APIError(400, "Bad Request: open_period and close_date can't be used together")
        if "open_period" in params:
            if not 5 <= params["open_period"] <= 2628000:
                raise APIError(400, "Bad Request: open_period must be 5-2628000 seconds")
            poll["open_period"] = params["open_period"]
        if "close_date" in params:
            if not 5 <= params["close_date"] - time.time() <= 2628000:
                raise APIError(400, "Bad Request: close_date must be 5-2628000 seconds in the future")
            poll["close_date"] = params["close_date"]
        message = self._deliver("sendPoll", chat, {"poll": poll, **self._common_extras(chat, params)})
        self._polls[poll_id] = _PollState(chat.id, message["message_id"])
        return message

    # ----------------------------------------------------------------- editing

    def _editable(
        self, params: dict[str, Any], missing: str = "message to edit not found"
    ) -> tuple[_Chat, dict[str, Any]]:
        if "chat_id" not in params or "message_id" not in params:
            raise APIError(400, "Bad Request: message identifier is not specified")
        chat = self._target_chat(params["chat_id"], outgoing=True)
        message = self._stored(chat.id, params["message_id"])
        if message is None:
            raise APIError(400, f"Bad Request: {missing}")
        if message.get("from", {}).get("id") != self.bot_id:
            raise APIError(400, "Bad Request: message can't be edited")
        return chat, message

    @staticmethod
    def _not_modified() -> APIError:
        return APIError(
            400,
            "Bad Request: message is not modified: specified new message content and reply "
            "markup are exactly the same as a current content and reply markup of the message",
        )

    @staticmethod
    def _apply_edit(message: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        for key, value in changes.items():
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "text" not in params:
            raise APIError(400, "Bad Request: message text is empty")
        text, entities = self._message_text(params)
        markup = self._inline_markup(params)
        if "inline_message_id" in params:
            return True  # inline messages are not tracked
        _, message = self._editable(params)
        if "text" not in message:
            raise APIError(400, "Bad Request: there is no text in the message to edit")
        # Omitting reply_markup removes the inline keyboard, as on Telegram.
        if (message["text"], message.get("entities", []), message.get("reply_markup")) == (
            text,
            entities,
            markup,
        ):
            raise self._not_modified()
        return self._apply_edit(message, {"text": text, "entities": entities, "reply_markup": markup})

    def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        content = self._caption_content({"caption": params.get("caption", ""), **params})
        markup = self._inline_markup(params)
        if "inline_message_id" in params:
            return True
        _, message = self._editable(params)
        if not any(key in message for key in ("document", "photo", "audio", "video", "voice", "animation")):
            raise APIError(400, "Bad Request: there is no caption in the message to edit")
        current = (message.get("caption"), message.get("caption_entities"), message.get("reply_markup"))
        if current == (content.get("caption"), content.get("caption_entities"), markup):
            raise self._not_modified()
        return self._apply_edit(
            message,
            {
                "caption": content.get("caption"),
                "caption_entities": content.get("caption_entities"),
                "reply_markup": markup,
            },
        )

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        markup = self._inline_markup(params)
        if "inline_message_id" in params:
            return True
        _, message = self._editable(params)
        if message.get("reply_markup") == markup:
            raise self._not_modified()
        return self._apply_edit(message, {"reply_markup": markup})

    def _stop_poll(self, params: dict[str, Any]) -> dict[str, Any]:
        _, message = self._editable(params, "message with poll to stop not found")
        poll = message.get("poll")
        if poll is None:
            raise APIError(400, "Bad Request: message with poll to stop not found")
        if poll["is_closed"]:
            raise APIError(400, "Bad Request: poll has already been closed")
        poll["is_closed"] = True
        markup = self._inline_markup(params)
        if markup is not None:
            message["reply_markup"] = markup
        self._queue_update("poll", poll)  # bots get updates about polls they stopped
        return copy.deepcopy(poll)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params["chat_id"], outgoing=False)
        message = self._stored(chat.id, params["message_id"])
        if message is None:
            raise APIError(400, "Bad Request: message to delete not found")
        own = message.get("from", {}).get("id") == self.bot_id
        if not own and chat.type != "private" and not chat.bot_is_admin:
            raise APIError(400, "Bad Request: message can't be deleted")
        self._deleted.add((chat.id, params["message_id"]))
        return True

    def _delete_messages(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params["chat_id"], outgoing=False)
        ids = params["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise APIError(400, "Bad Request: message_ids must contain 1-100 identifiers")
        found = [mid for mid in ids if self._stored(chat.id, mid) is not None]
        if not found:
            raise APIError(400, "Bad Request: message to delete not found")
        for mid in found:
            self._deleted.add((chat.id, mid))
        return True

    # ----------------------------------------------------------------- queries

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params["callback_query_id"]
        if query_id not in self._callback_queries:
            raise APIError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        if utf16_len(params.get("text", "")) > 200:
            raise APIError(400, "Bad Request: MESSAGE_TOO_LONG")
        del self._callback_queries[query_id]
        self.callback_answers[query_id] = dict(params)
        return True

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        query_id = params["inline_query_id"]
        if query_id not in self._inline_queries:
            raise APIError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        results = params["results"]
        if len(results) > MAX_INLINE_RESULTS:
            raise APIError(400, "Bad Request: RESULTS_TOO_MUCH")
        seen = set()
        for result in results:
            if not 1 <= len(result["id"].encode("utf-8")) <= 64:
                raise APIError(400, "Bad Request: RESULT_ID_INVALID")
            if result["id"] in seen:
                raise APIError(400, "Bad Request: RESULT_ID_DUPLICATE")
            seen.add(result["id"])
            content = result.get("input_message_content") or {}
            if "message_text" in content:
                self._message_text(content, "message_text")
            if "reply_markup" in result:
                self._check_inline_keyboard(result["reply_markup"])
        del self._inline_queries[query_id]
        self.inline_answers[query_id] = dict(params)
        return True

    # ----------------------------------------------------------------- bot settings

    @staticmethod
    def _commands_key(scope: dict[str, Any] | None, language_code: str | None) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params["commands"]
        if len(commands) > MAX_COMMANDS:
            raise APIError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not _COMMAND_NAME.fullmatch(command["command"]):
                raise APIError(400, f"Bad Request: BOT_COMMAND_INVALID ({command['command']!r})")
            if not 1 <= utf16_len(command["description"].strip()) <= 256:
                raise APIError(400, f"Bad Request: BOT_COMMAND_DESCRIPTION_INVALID ({command['command']!r})")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = copy.deepcopy(commands)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(
            self._commands.get(self._commands_key(params.get("scope"), params.get("language_code")), [])
        )

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params.get("scope"), params.get("language_code")), None)
        return True

    def _set_bot_text(self, params: dict[str, Any], key: str, limit: int) -> bool:
        value = params.get(key, "")
        if utf16_len(value) > limit:
            raise APIError(400, f"Bad Request: {key} must be 0-{limit} characters")
        self._bot_texts[(key, params.get("language_code", ""))] = value
        return True

    def _get_bot_text(self, params: dict[str, Any], key: str) -> dict[str, str]:
        language = params.get("language_code", "")
        value = self._bot_texts.get((key, language), self._bot_texts.get((key, ""), None))
        if value is None:
            value = self.bot_user["first_name"] if key == "name" else ""
        return {key: value}

    # ----------------------------------------------------------------- chat info

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params["chat_id"], outgoing=False)
        info = self._chat_object(chat)
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return info

    def _member_ids(self, chat: _Chat) -> set[int]:
        if chat.type == "private":
            return {chat.id}
        members = set(self._users) if chat.members is None else set(chat.members)
        return members | set(chat.admins) | ({chat.owner} if chat.owner is not None else set())

    def _member(self, chat: _Chat, user_id: int) -> dict[str, Any]:
        user = self._bot_from() if user_id == self.bot_id else self._users.get(user_id)
        if user is None:
            raise APIError(400, "Bad Request: user not found")
        if chat.type != "private" and user_id == chat.owner:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if chat.type != "private" and (
            user_id in chat.admins or (user_id == self.bot_id and chat.bot_is_admin)
        ):
            rights = dict.fromkeys(
                (
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_pin_messages",
                ),
                True,
            )
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_promote_members": False,
                "can_manage_topics": False,
                **rights,
            }
        if user_id == self.bot_id or user_id in self._member_ids(chat):
            return {"status": "member", "user": user}
        return {"status": "left", "user": user}

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params["chat_id"], outgoing=False)
        return self._member(chat, params["user_id"])

    def _get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._target_chat(params["chat_id"], outgoing=False)
        if chat.type == "private":
            raise APIError(400, "Bad Request: there are no administrators in the private chat")
        ids = ([chat.owner] if chat.owner is not None else []) + list(chat.admins)
        if chat.bot_is_admin:
            ids.append(self.bot_id)
        return [self._member(chat, user_id) for user_id in dict.fromkeys(ids)]

    def _get_chat_member_count(self, params: dict[str, Any]) -> int:
        chat = self._target_chat(params["chat_id"], outgoing=False)
        return len(self._member_ids(chat) | {self.bot_id})

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(params["file_id"])
        if stored is None:
            raise APIError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }
