"""Typed configuration of StudyBot, read once from the STUDYBOT_* environment variables.

`Config.from_env()` parses and validates every variable of the SPEC's Environment table. A value
that is set but wrong raises `ConfigError`, whose message is one line naming the variable and what
is expected, so `studybot run` can print it and exit. Secrets (tokens, the WeCom secret and AES
key) are wrapped in `Secret`, whose repr/str never shows the value; WeCom robot webhook URLs carry
their key in the query string, so `Config`'s repr and every error message redact it too.

The value parsers, their defaults, `ConfigError` and `Secret` live in config_values.py and are re-exported
here, so `from bot.core.config import Config, ConfigError, parse_hhmm, ...` keeps working.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.core.config_values import (
    DEFAULT_BROADCAST_RATE,
    DEFAULT_DB_PATH,
    DEFAULT_HTTP_HOST,
    DEFAULT_HTTP_PORT,
    DEFAULT_TELEGRAM_API_URL,
    DEFAULT_TIME,
    DEFAULT_TIMEZONE,
    DEFAULT_WECOM_API_URL,
    LOG_LEVELS,
    ConfigError,
    Secret,
    _admins_var,
    _aes_key_var,
    _agent_id_var,
    _content_var,
    _host_var,
    _log_level_var,
    _port_var,
    _rate_var,
    _tick_var,
    _time_var,
    _token_var,
    _url_var,
    _webhook_secret_var,
    _webhook_url_var,
    _webhooks_var,
    _zone_var,
    format_hhmm,
    parse_hhmm,
    redact_url,
)

__all__ = [
    "CHANNEL_VARS",
    "DEFAULT_BROADCAST_RATE",
    "DEFAULT_DB_PATH",
    "DEFAULT_HTTP_HOST",
    "DEFAULT_HTTP_PORT",
    "DEFAULT_TELEGRAM_API_URL",
    "DEFAULT_TIME",
    "DEFAULT_TIMEZONE",
    "DEFAULT_WECOM_API_URL",
    "ENV_VARS",
    "LOG_LEVELS",
    "PREFIX",
    "WECOM_APP_VARS",
    "Config",
    "ConfigError",
    "Secret",
    "format_hhmm",
    "parse_hhmm",
    "redact_url",
]

logger = logging.getLogger(__name__)

PREFIX = "STUDYBOT_"

# Every variable of the SPEC's Environment table, in table order.
ENV_VARS: tuple[str, ...] = (
    "STUDYBOT_TELEGRAM_TOKEN",
    "STUDYBOT_TELEGRAM_API_URL",
    "STUDYBOT_DB",
    "STUDYBOT_ADMINS",
    "STUDYBOT_TIMEZONE",
    "STUDYBOT_CONTENT",
    "STUDYBOT_DEFAULT_TIME",
    "STUDYBOT_BROADCAST_RATE",
    "STUDYBOT_WECOM_WEBHOOKS",
    "STUDYBOT_WECOM_PUSH_TIME",
    "STUDYBOT_WECOM_API_URL",
    "STUDYBOT_WECOM_CORP_ID",
    "STUDYBOT_WECOM_AGENT_ID",
    "STUDYBOT_WECOM_SECRET",
    "STUDYBOT_WECOM_TOKEN",
    "STUDYBOT_WECOM_AES_KEY",
    "STUDYBOT_HTTP_HOST",
    "STUDYBOT_HTTP_PORT",
    # Contract additions (SPEC, newer issues): Telegram's webhook mode.
    "STUDYBOT_TELEGRAM_WEBHOOK_URL",
    "STUDYBOT_TELEGRAM_WEBHOOK_SECRET",
    # Extensions beyond the contract (documented in README): scheduler tick and log level.
    "STUDYBOT_TICK_SECONDS",
    "STUDYBOT_LOG_LEVEL",
)

# The self-built WeCom app needs all five of these; some-but-not-all is a config error.
WECOM_APP_VARS: tuple[str, ...] = (
    "STUDYBOT_WECOM_CORP_ID",
    "STUDYBOT_WECOM_AGENT_ID",
    "STUDYBOT_WECOM_SECRET",
    "STUDYBOT_WECOM_TOKEN",
    "STUDYBOT_WECOM_AES_KEY",
)

# Variables that turn a channel on, for the "no channel configured" message of `studybot run`.
CHANNEL_VARS: tuple[str, ...] = ("STUDYBOT_TELEGRAM_TOKEN", "STUDYBOT_WECOM_WEBHOOKS", *WECOM_APP_VARS)


@dataclass(frozen=True, repr=False)
class Config:
    """Validated StudyBot configuration (build it with Config.from_env)."""

    telegram_token: Secret | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    db_path: str = DEFAULT_DB_PATH
    admins: frozenset[int] = frozenset()
    timezone: str = DEFAULT_TIMEZONE
    content_path: str | None = None
    default_time: time = DEFAULT_TIME
    broadcast_rate: float = DEFAULT_BROADCAST_RATE
    wecom_webhooks: tuple[str, ...] = ()
    wecom_push_time: time = DEFAULT_TIME
    wecom_api_url: str = DEFAULT_WECOM_API_URL
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: Secret | None = None
    wecom_token: Secret | None = None
    wecom_aes_key: Secret | None = None
    http_host: str = DEFAULT_HTTP_HOST
    http_port: int = DEFAULT_HTTP_PORT
    #: Webhook mode when set: Telegram posts updates to this public https URL (its path is served here).
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: Secret | None = None
    tick_seconds: float = 20.0
    log_level: str = "INFO"

    @property
    def tzinfo(self) -> ZoneInfo:
        """The ZoneInfo of `timezone` (ZoneInfo caches instances, so this is cheap)."""
        return ZoneInfo(self.timezone)

    @property
    def telegram_enabled(self) -> bool:
        """Whether the Telegram channel runs (a token is set)."""
        return self.telegram_token is not None

    @property
    def telegram_webhook(self) -> bool:
        """Whether Telegram updates come by webhook (else by polling)."""
        return self.telegram_enabled and self.telegram_webhook_url is not None

    @property
    def webhook_path(self) -> str:
        """The path of the webhook URL, where the bot's HTTP server takes Telegram's updates."""
        return urlsplit(self.telegram_webhook_url or "").path or "/"

    @property
    def wecom_robots_enabled(self) -> bool:
        """Whether any WeCom group-robot webhook is configured."""
        return bool(self.wecom_webhooks)

    @property
    def wecom_app_enabled(self) -> bool:
        """Whether the WeCom self-built app callback runs (all five app variables set)."""
        return None not in (
            self.wecom_corp_id,
            self.wecom_agent_id,
            self.wecom_secret,
            self.wecom_token,
            self.wecom_aes_key,
        )

    @property
    def any_channel(self) -> bool:
        """Whether at least one chat channel (besides the console) is configured."""
        return self.telegram_enabled or self.wecom_robots_enabled or self.wecom_app_enabled

    def __repr__(self) -> str:
        # Secrets already repr as Secret('***'); webhook URLs carry their key in the query string.
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "wecom_webhooks":
                value = tuple(redact_url(url) for url in value)
            shown.append(f"{f.name}={value!r}")
        return f"Config({', '.join(shown)})"

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Parse and validate the STUDYBOT_* variables; raise ConfigError on the first wrong one."""
        env = os.environ if environ is None else environ
        _warn_unknown(env)

        def get(name: str) -> str | None:
            # Empty (or whitespace-only) counts as unset: `FOO= docker run` style configs do that.
            value = env.get(name)
            if value is None:
                return None
            value = value.strip()
            return value or None

        default_time = _time_var("STUDYBOT_DEFAULT_TIME", get("STUDYBOT_DEFAULT_TIME"), DEFAULT_TIME)
        timezone = get("STUDYBOT_TIMEZONE") or DEFAULT_TIMEZONE
        _zone_var("STUDYBOT_TIMEZONE", timezone)
        agent_id = get("STUDYBOT_WECOM_AGENT_ID")
        config = cls(
            telegram_token=_token_var("STUDYBOT_TELEGRAM_TOKEN", get("STUDYBOT_TELEGRAM_TOKEN")),
            telegram_api_url=_url_var(
                "STUDYBOT_TELEGRAM_API_URL", get("STUDYBOT_TELEGRAM_API_URL"), DEFAULT_TELEGRAM_API_URL
            ),
            db_path=get("STUDYBOT_DB") or DEFAULT_DB_PATH,
            admins=_admins_var("STUDYBOT_ADMINS", get("STUDYBOT_ADMINS")),
            timezone=timezone,
            content_path=_content_var("STUDYBOT_CONTENT", get("STUDYBOT_CONTENT")),
            default_time=default_time,
            broadcast_rate=_rate_var("STUDYBOT_BROADCAST_RATE", get("STUDYBOT_BROADCAST_RATE")),
            wecom_webhooks=_webhooks_var("STUDYBOT_WECOM_WEBHOOKS", get("STUDYBOT_WECOM_WEBHOOKS")),
            wecom_push_time=_time_var(
                "STUDYBOT_WECOM_PUSH_TIME", get("STUDYBOT_WECOM_PUSH_TIME"), default_time
            ),
            wecom_api_url=_url_var(
                "STUDYBOT_WECOM_API_URL", get("STUDYBOT_WECOM_API_URL"), DEFAULT_WECOM_API_URL
            ),
            wecom_corp_id=get("STUDYBOT_WECOM_CORP_ID"),
            wecom_agent_id=None if agent_id is None else _agent_id_var("STUDYBOT_WECOM_AGENT_ID", agent_id),
            wecom_secret=_token_var("STUDYBOT_WECOM_SECRET", get("STUDYBOT_WECOM_SECRET")),
            wecom_token=_token_var("STUDYBOT_WECOM_TOKEN", get("STUDYBOT_WECOM_TOKEN")),
            wecom_aes_key=_aes_key_var("STUDYBOT_WECOM_AES_KEY", get("STUDYBOT_WECOM_AES_KEY")),
            http_host=_host_var("STUDYBOT_HTTP_HOST", get("STUDYBOT_HTTP_HOST")),
            http_port=_port_var("STUDYBOT_HTTP_PORT", get("STUDYBOT_HTTP_PORT")),
            telegram_webhook_url=_webhook_url_var(
                "STUDYBOT_TELEGRAM_WEBHOOK_URL", get("STUDYBOT_TELEGRAM_WEBHOOK_URL")
            ),
            telegram_webhook_secret=_webhook_secret_var(
                "STUDYBOT_TELEGRAM_WEBHOOK_SECRET", get("STUDYBOT_TELEGRAM_WEBHOOK_SECRET")
            ),
            tick_seconds=_tick_var("STUDYBOT_TICK_SECONDS", get("STUDYBOT_TICK_SECONDS")),
            log_level=_log_level_var("STUDYBOT_LOG_LEVEL", get("STUDYBOT_LOG_LEVEL")),
        )
        if config.telegram_webhook_url is not None and config.telegram_token is None:
            raise ConfigError(
                "STUDYBOT_TELEGRAM_WEBHOOK_URL",
                "is set, but STUDYBOT_TELEGRAM_TOKEN is not; webhook mode needs the bot's token",
            )
        present = [name for name in WECOM_APP_VARS if get(name) is not None]
        if present and len(present) < len(WECOM_APP_VARS):
            missing = [name for name in WECOM_APP_VARS if name not in present]
            raise ConfigError(
                ", ".join(missing),
                f"not set, but the WeCom app needs all five of {', '.join(WECOM_APP_VARS)} and only "
                f"{', '.join(present)} {'is' if len(present) == 1 else 'are'} set; set the missing ones or unset the rest",
            )
        return config


def _warn_unknown(env: Mapping[str, str]) -> None:
    """Log (names only, never values) STUDYBOT_* variables that are not ours, likely typos."""
    for name in sorted(k for k in env if k.startswith(PREFIX) and k not in ENV_VARS):
        close = difflib.get_close_matches(name, ENV_VARS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        logger.warning("ignoring unknown environment variable %s%s", name, hint)
