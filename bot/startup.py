"""What `studybot run` and `studybot console` check before they start: settings and the speech file.

A problem is one line on stderr naming what to fix, and exit status 2.
"""

from __future__ import annotations

import sys

from bot.core.config import Config, ConfigError


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
