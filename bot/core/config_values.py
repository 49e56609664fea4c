"""The values of the configuration: each variable's parser and default, `ConfigError` and `Secret`.

`parse_hhmm`/`format_hhmm` (times of day, also used by the commands) and `redact_url` live here too. The
`_*_var(name, value, ...)` helpers take a variable's name and stripped value (None when unset) and return
the typed value or its default; a set but wrong value raises `ConfigError` naming the variable, never
echoing a secret. `Config.from_env` (config.py) calls them. Standard library only.
"""

from __future__ import annotations

import hmac
import json
import math
import os
import re
import unicodedata
from datetime import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_DB_PATH = "./studybot.db"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_TIME = time(8, 0)
DEFAULT_BROADCAST_RATE = 25.0
DEFAULT_WECOM_API_URL = "https://qyapi.weixin.qq.com"
DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8080

_HHMM_RE = re.compile(r"(\d{1,2}):(\d{2})", re.ASCII)
_AES_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}", re.ASCII)
# Query parameters that are credentials (WeCom robots put theirs in ?key=...).
_SECRET_QUERY_KEYS = frozenset({"key", "access_token", "token", "secret", "corpsecret"})


class ConfigError(ValueError):
    """A set-but-wrong configuration value; str() is one line naming the variable."""

    def __init__(self, variable: str, message: str) -> None:
        # Collapse any whitespace run so the message stays on one line whatever the input was.
        self.variable = variable
        self.message = " ".join(message.split())
        super().__init__(f"{variable}: {self.message}")


class Secret:
    """A secret string whose repr/str never shows the value; call .get() to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        """Return the secret value (only where it is actually needed)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        # Constant-time comparison, so a Secret can be compared with a received token safely.
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Secret, self._value))


def parse_hhmm(text: str) -> time:
    """Parse a time of day such as "7:30", "07:30" or "07：30" (full-width colon); raise ValueError."""
    # NFKC folds the full-width colon and full-width digits users type on Chinese keyboards.
    normalized = unicodedata.normalize("NFKC", str(text)).strip()
    match = _HHMM_RE.fullmatch(normalized)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValueError(f"{_show(text)} is not a valid time, expected HH:MM such as 07:30")


def format_hhmm(value: time) -> str:
    """Format a time of day as HH:MM (the form stored in chats.push_time)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def redact_url(url: str) -> str:
    """Return url with credential query values (key=, token=...) replaced by ***, for logs and errors."""
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return "<unparseable URL>"
    if not any(name.lower() in _SECRET_QUERY_KEYS for name, _ in query):
        return url
    redacted = [(n, "***" if n.lower() in _SECRET_QUERY_KEYS else v) for n, v in query]
    return urlunsplit(parts._replace(query=urlencode(redacted, safe="*")))


def _show(value: str, limit: int = 60) -> str:
    """Quote a user-supplied value for a one-line message: escaped, double-quoted, truncated."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def _is_http_url(value: str) -> bool:
    """Whether value is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


def _tick_var(name: str, value: str | None) -> float:
    if value is None:
        return 20.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0.05 <= seconds <= 3600:
        raise ConfigError(
            name, f"{_show(value)} is not a valid interval, expected seconds between 0.05 and 3600"
        )
    return seconds


def _log_level_var(name: str, value: str | None) -> str:
    if value is None:
        return "INFO"
    if value.upper() not in LOG_LEVELS:
        raise ConfigError(name, f"{_show(value)} is not a log level, expected one of {', '.join(LOG_LEVELS)}")
    return value.upper()


def _time_var(name: str, value: str | None, default: time) -> time:
    """Parse an HH:MM variable."""
    if value is None:
        return default
    try:
        return parse_hhmm(value)
    except ValueError as exc:
        raise ConfigError(name, str(exc)) from None


def _zone_var(name: str, value: str) -> ZoneInfo:
    """Resolve an IANA time zone name."""
    try:
        return ZoneInfo(value)
    except (KeyError, ValueError, OSError):
        # ZoneInfoNotFoundError is a KeyError; paths like "../x" raise ValueError, directories OSError.
        pass
    raise ConfigError(
        name, f"{_show(value)} is not a known time zone, expected an IANA name such as Asia/Shanghai"
    )


def _admins_var(name: str, value: str | None) -> frozenset[int]:
    """Parse comma-separated Telegram user ids (spaces tolerated, empty entries ignored)."""
    if value is None:
        return frozenset()
    ids = set()
    # Tolerate the full-width comma too: the list is often typed on a Chinese keyboard.
    for part in value.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isascii() or not part.isdigit() or int(part) <= 0:
            raise ConfigError(
                name,
                f"{_show(part)} is not a Telegram user id, expected comma-separated numbers such as 12345,67890",
            )
        ids.add(int(part))
    return frozenset(ids)


def _content_var(name: str, value: str | None) -> str | None:
    """Check that the speech file exists."""
    if value is None:
        return None
    if not os.path.isfile(value):
        raise ConfigError(
            name, f"{_show(value)} is not a file, expected the path of a UTF-8 speech text file"
        )
    return value


def _rate_var(name: str, value: str | None) -> float:
    """Parse a positive, finite number of sends per second."""
    if value is None:
        return DEFAULT_BROADCAST_RATE
    try:
        rate = float(value)
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or rate <= 0:
        raise ConfigError(
            name, f"{_show(value)} is not a positive number, expected sends per second such as 25"
        )
    return rate


def _url_var(name: str, value: str | None, default: str) -> str:
    """Check an http(s) base URL."""
    if value is None:
        return default
    if not _is_http_url(value):
        raise ConfigError(
            name, f"{_show(redact_url(value))} is not an http(s) URL, expected such as {default}"
        )
    return value


def _webhooks_var(name: str, value: str | None) -> tuple[str, ...]:
    """Parse comma-separated WeCom robot webhook URLs, dropping empties and duplicates."""
    if value is None:
        return ()
    urls: list[str] = []
    for part in value.replace("，", ",").split(","):
        url = part.strip()
        if not url:
            continue
        if not _is_http_url(url):
            raise ConfigError(
                name,
                f"{_show(redact_url(url))} is not an http(s) URL, expected comma-separated webhook URLs such as "
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...",
            )
        keys = [v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k == "key"]
        if len(keys) != 1 or not keys[0].strip():
            raise ConfigError(
                name,
                f"{_show(redact_url(url))} needs exactly one key= (copy the robot's whole webhook URL, such as "
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...)",
            )
        if url not in urls:
            urls.append(url)
    return tuple(urls)


def _agent_id_var(name: str, value: str) -> int:
    """Parse the WeCom AgentId (a whole number)."""
    if not value.isascii() or not value.isdigit():
        raise ConfigError(
            name, f"{_show(value)} is not a whole number, expected the app's AgentId such as 1000002"
        )
    return int(value)


#: Paths of the bot's own HTTP routes: a webhook may not take one of them.
RESERVED_PATHS = frozenset({"/healthz", "/metrics", "/wecom/callback"})
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}", re.ASCII)


def _webhook_url_var(name: str, value: str | None) -> str | None:
    """Check the public https URL Telegram posts updates to; its path is where the bot serves them."""
    if value is None:
        return None
    parts = urlsplit(value) if _is_http_url(value) else None
    if parts is None or parts.scheme != "https":
        raise ConfigError(
            name,
            f"{_show(redact_url(value))} is not an https URL; Telegram delivers webhooks over https only "
            "(expected the public address, such as https://bot.example.org/telegram; a reverse proxy "
            "forwards it to STUDYBOT_HTTP_HOST:STUDYBOT_HTTP_PORT)",
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port not in (None, 443, 80, 88, 8443):
        raise ConfigError(name, "Telegram delivers webhooks to ports 443, 80, 88 and 8443 only")
    if parts.query or parts.fragment:
        raise ConfigError(name, "has a query or a fragment; expected a plain https URL with a path")
    if (parts.path.rstrip("/") or "/") in RESERVED_PATHS:
        raise ConfigError(name, f"the path {parts.path} is one of the bot's own routes; choose another")
    return value


def _webhook_secret_var(name: str, value: str | None) -> Secret | None:
    """Telegram's secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and - (never echoed)."""
    if value is None:
        return None
    if not _WEBHOOK_SECRET_RE.fullmatch(value):
        raise ConfigError(
            name,
            f"expected 1-256 characters of A-Z, a-z, 0-9, _ and -, got {len(value)} characters that do not "
            "fit (value not shown)",
        )
    return Secret(value)


def _token_var(name: str, value: str | None) -> Secret | None:
    """Wrap a token; reject inner whitespace or '/' (it is put in URLs) without echoing the value."""
    if value is None:
        return None
    if any(c.isspace() for c in value) or "/" in value:
        raise ConfigError(
            name, "contains spaces or '/', expected the token exactly as issued (value not shown)"
        )
    return Secret(value)


def _aes_key_var(name: str, value: str | None) -> Secret | None:
    """Check a WeCom EncodingAESKey (43 base64 characters) without ever echoing it."""
    if value is None:
        return None
    if not _AES_KEY_RE.fullmatch(value):
        raise ConfigError(
            name,
            "expected exactly 43 characters of A-Z, a-z, 0-9, + and / (the EncodingAESKey of the app's callback "
            f"settings), got {len(value)} characters (value not shown)",
        )
    return Secret(value)


def _host_var(name: str, value: str | None) -> str:
    """Check a listen host (an IP address or a name, no spaces or scheme)."""
    if value is None:
        return DEFAULT_HTTP_HOST
    if any(c.isspace() for c in value) or "/" in value:
        raise ConfigError(
            name, f"{_show(value)} is not a host, expected an address such as 127.0.0.1 or 0.0.0.0"
        )
    return value


def _port_var(name: str, value: str | None) -> int:
    """Parse a TCP port 1-65535."""
    if value is None:
        return DEFAULT_HTTP_PORT
    if value.isascii() and value.isdigit() and 1 <= int(value) <= 65535:
        return int(value)
    raise ConfigError(name, f"{_show(value)} is not a port number, expected a whole number from 1 to 65535")
