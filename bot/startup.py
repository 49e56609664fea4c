"""What `studybot run` and `studybot console` check before they start: settings, the speech file and,
for `run`, that no other studybot runs on the database (`studybot check` tries more: bot/selfcheck.py).

A problem is one line on stderr naming what to fix, and exit status 2.
"""

from __future__ import annotations

import sys

from bot.core.config import CHANNEL_VARS, Config, ConfigError

#: What `studybot run` (and `studybot check`) say when no channel is configured.
NO_CHANNEL = (
    "no channel is configured. Set STUDYBOT_TELEGRAM_TOKEN (Telegram), "
    "STUDYBOT_WECOM_WEBHOOKS (WeCom group robots) or all of "
    f"{', '.join(CHANNEL_VARS[2:])} (WeCom app). To try the bot without any, run `studybot console`."
)


def fail(message: str) -> SystemExit:
    """Print one line and return the SystemExit to raise."""
    print(f"studybot: {message}", file=sys.stderr)
    return SystemExit(2)


def config_or_exit() -> Config:
    """The configuration from the environment, or exit naming the wrong variable."""
    try:
        return Config.from_env()
    except ConfigError as exc:
        raise fail(str(exc)) from None


def content_or_exit(config: Config):
    """The content model of the configured speech, or exit saying what is wrong with the file."""
    from content import ContentError, EmptySpeechError, load_model

    try:
        return load_model(config.content_path)
    except (ContentError, EmptySpeechError) as exc:
        raise fail(f"STUDYBOT_CONTENT: {exc}") from None


def lock_or_exit(db_path: str):
    """The database's instance lock (bot.instance), or exit naming the process that holds it."""
    from bot.instance import InstanceBusy, InstanceLock

    lock = InstanceLock(db_path)
    try:
        lock.acquire()
    except InstanceBusy as exc:
        raise fail(
            f"STUDYBOT_DB: {db_path} is in use by another studybot ({exc}); "
            "stop that one first, or point STUDYBOT_DB at another database"
        ) from None
    except OSError as exc:
        raise fail(f"STUDYBOT_DB: cannot create the lock file {lock.path}: {exc.strerror or exc}") from None
    return lock
