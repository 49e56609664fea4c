"""How `studybot run` and `studybot console` start: what they check first (settings, the speech file and,
for `run`, that no other studybot runs on the database; `studybot check` tries more: bot/selfcheck.py),
then the running bot (bot/service.py) or the console.

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


def run() -> int:
    """Run until SIGINT/SIGTERM; exit code 2 for a configuration problem or a second instance on the database."""
    import asyncio

    from bot.core.storage import Storage
    from bot.logs import config_secrets, configure_logging
    from bot.service import Service

    config = config_or_exit()
    configure_logging(config.log_level, config_secrets(config))
    if not config.any_channel:
        raise fail(NO_CHANNEL)
    from content import ContentError, EmptySpeechError, read_text

    try:
        read_text(config.content_path)  # fail now, not in the thread that builds the model
    except (ContentError, EmptySpeechError) as exc:
        raise fail(f"STUDYBOT_CONTENT: {exc}") from None
    lock = lock_or_exit(config.db_path)  # before the database is even opened (and migrated)
    try:
        storage = Storage(config.db_path)
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
        raise fail(f"STUDYBOT_DB: cannot open {config.db_path}: {exc}") from None
    try:
        asyncio.run(Service(config, storage).serve())
    finally:
        storage.close()
        lock.release()
    return 0


def console() -> int:
    """Run the console on stdin/stdout until end of input."""
    import asyncio
    import logging

    from bot.channels.console import WELCOME, Console, stdin_lines
    from bot.channels.console import run as converse
    from bot.core.actions import Actions
    from bot.core.storage import Storage

    config = config_or_exit()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    model = content_or_exit(config)
    # No instance lock: the console may run beside `studybot run` on the same database (README says
    # so). It sends nothing the running bot sends: its daily push covers only the console's own chat
    # (the only sender it has), claimed in the database like every lesson, and it runs no broadcast; a
    # broadcast confirmed here is queued in the database for `studybot run` to send.
    storage = Storage(config.db_path)
    from datetime import UTC, datetime

    from bot.core.catalog import Catalog
    from content import read_text

    catalog = Catalog.for_configured(
        storage, read_text(config.content_path), model, config.content_path, datetime.now(UTC)
    )
    terminal = Console(Actions(storage, catalog, config, robot_count=len(config.wecom_webhooks)))
    print(WELCOME, flush=True)
    try:
        asyncio.run(terminal.deliver_due())
        asyncio.run(converse(terminal, stdin_lines()))
    except KeyboardInterrupt:
        pass
    finally:
        storage.close()
    return 0
