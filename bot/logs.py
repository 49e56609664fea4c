"""The process's logging: one set-up, library chatter kept quiet, secrets redacted from every line."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.config import Config


def config_secrets(config: Config) -> list[str]:
    """The secret values of a configuration (the bot token, the webhook's secret token, the WeCom secret,
    token and AES key)."""
    values = [
        config.telegram_token,
        config.telegram_webhook_secret,
        config.wecom_secret,
        config.wecom_token,
        config.wecom_aes_key,
    ]
    return [v.get() for v in values if v is not None]


class RedactSecrets(logging.Filter):
    """Replaces secret values (the bot token, WeCom secrets) wherever they would appear in a log line."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text = record.exc_text or ""
        if any(s in message or s in text for s in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
                text = text.replace(secret, "***")
            record.msg, record.args, record.exc_text = message, None, text or None
        return True


def configure_logging(level: str = "INFO", secrets: list[str] | None = None) -> None:
    """One logging set-up for the process; library chatter kept at WARNING; secrets redacted."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets(secrets or []))
    # httpx logs every request URL, and a Bot API URL carries the token: keep it quiet.
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
