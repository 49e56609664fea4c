"""`studybot check`: every configured item tried once, one line each, ✓ or what to fix.

The lines, in order: the configuration (a wrong value is the one line `studybot run` prints, on stderr, and
exit status 2; an unknown STUDYBOT_* variable is a ✗ line), the database, the speech, Telegram (getMe, then
getWebhookInfo), the WeCom app (gettoken), each WeCom robot's webhook URL (its form only: nothing is sent),
and a ✗ line when no channel is configured. Exit status 0 when every line is ✓, 1 otherwise.

It runs beside a `studybot run` on the same database without disturbing it: the instance lock is read, never
taken (bot/instance.py `holder`), the database is opened only to read it (quick_check, the schema version;
no migration), and the Telegram calls are the two that change nothing. Secret values (the token, the WeCom
secret, the robots' keys) are removed from every line; a robot's URL is shown with its key as ``…a1b2``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.core.config import Config, redact_url
from bot.core.storage import SCHEMA_VERSION
from bot.instance import database_file, holder
from bot.logs import config_secrets
from bot.startup import NO_CHANNEL, config_or_exit

#: Seconds each call to Telegram or WeCom may take, connecting included.
TIMEOUT = 5.0

#: WeCom's page on an errcode, the code appended.
ERRCODES = "https://developer.work.weixin.qq.com/devtool/query?e="
#: What to do about an errcode of WeCom's gettoken.
GETTOKEN_FIXES = {
    40013: "check STUDYBOT_WECOM_CORP_ID: the 企业ID under 我的企业 → 企业信息",
    40001: "check STUDYBOT_WECOM_SECRET: the Secret of this app (应用管理 → the app), in the same corp",
    40091: "check STUDYBOT_WECOM_SECRET: the Secret of this app (应用管理 → the app), in the same corp",
    41002: "set STUDYBOT_WECOM_CORP_ID",
    41004: "set STUDYBOT_WECOM_SECRET",
    60020: "WeCom refuses this server's IP: add it to the app's 企业可信IP (应用管理 → the app)",
}


@dataclass(frozen=True)
class Line:
    """One line of the report: ✓ (ok) or ✗, and what it says."""

    ok: bool
    text: str


def good(text: str) -> Line:
    """A ✓ line."""
    return Line(True, text)


def bad(text: str) -> Line:
    """A ✗ line: what is wrong and what to do."""
    return Line(False, text)


def check() -> int:
    """Print the report; 0 when every line is ✓, 1 otherwise (a configuration error exits 2 first)."""
    config, ignored = load_config()
    secrets = [*config_secrets(config), *_robot_keys(config)]
    failed = False

    def say(line: Line) -> None:
        nonlocal failed
        text = line.text
        for secret in secrets:
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        print(f"{'✓' if line.ok else '✗'} {text}", flush=True)
        failed = failed or not line.ok

    say(configuration(config))
    for message in ignored:
        say(bad(f"configuration: {message}"))
    say(database(config.db_path))
    say(speech(config))
    if not config.any_channel:
        say(bad(f"channels: {NO_CHANNEL}"))
    for line in asyncio.run(remote(config)):
        say(line)
    for url in config.wecom_webhooks:
        say(robot(url))
    return 1 if failed else 0


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def load_config() -> tuple[Config, list[str]]:
    """The configuration (or the line `studybot run` prints and exit 2), and the warnings of reading it
    (unknown STUDYBOT_* variables: names only), to be shown as lines rather than logged."""
    collect = _Collect()
    log = logging.getLogger("bot.core.config")
    log.addHandler(collect)
    propagate, log.propagate = log.propagate, False
    try:
        config = config_or_exit()
    finally:
        log.removeHandler(collect)
        log.propagate = propagate
    return config, collect.messages


def configuration(config: Config) -> Line:
    """What the configuration turns on."""
    channels = []
    if config.telegram_enabled:
        channels.append("Telegram (webhook)" if config.telegram_webhook else "Telegram (polling)")
    if config.wecom_app_enabled:
        channels.append("WeCom app")
    if config.wecom_webhooks:
        n = len(config.wecom_webhooks)
        channels.append(f"{n} WeCom robot{'s' if n > 1 else ''}")
    parts = [f"channels: {', '.join(channels) or 'none'}", f"time zone {config.timezone}"]
    parts.append(f"default push time {config.default_time:%H:%M}")
    if config.wecom_webhooks:
        parts.append(f"robots push at {config.wecom_push_time:%H:%M}")
    if config.telegram_enabled:
        admins = len(config.admins)
        parts.append(f"{admins} admin{'s' * (admins > 1)}" if admins else "no admins: nobody may /broadcast")
    return good(f"configuration: valid ({'; '.join(parts)})")


# --------------------------------------------------------------------------- the database


def database(db_path: str) -> Line:
    """Whether the database exists, is sound and writable, its schema version, and whether a bot runs on it."""
    name = f"database {db_path}"
    real = database_file(db_path)
    if real is None:
        return good(f"{name}: in memory, so nothing is kept when the bot stops")
    running = holder(db_path)
    on_it = f"a studybot run is on it ({running})" if running else "no studybot run on it"
    if real.is_dir():
        return bad(f"{name}: is a directory; set STUDYBOT_DB to a file in it, such as {real / 'studybot.db'}")
    if not real.exists():
        problem = _cannot_create(real)
        if problem:
            return bad(f"{name}: does not exist and cannot be created: {problem}")
        return good(
            f"{name}: does not exist yet; `studybot run` creates it (schema version {SCHEMA_VERSION})"
        )
    problem = _not_writable(real)
    try:
        found = _read(real, writable=problem is None)
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            return bad(f"{name}: SQLite cannot open it ({exc}); set STUDYBOT_DB to the bot's database")
        return bad(f"{name}: another process kept it locked for 5 s ({exc}); try again")
    except sqlite3.DatabaseError as exc:
        return bad(
            f"{name}: SQLite cannot read it ({exc}); set STUDYBOT_DB to the bot's database, or restore a backup"
        )
    quick_check, version, tables = found
    if quick_check != "ok":
        return bad(
            f"{name}: SQLite's quick_check found damage ({quick_check}); restore a copy made by `studybot backup`"
        )
    if version > SCHEMA_VERSION:
        return bad(
            f"{name}: schema version {version} is newer than this StudyBot ({SCHEMA_VERSION}); "
            "upgrade StudyBot or use another STUDYBOT_DB"
        )
    if version == 0 and tables:
        return bad(
            f"{name}: is not a StudyBot database (its tables: {', '.join(tables[:5])}); "
            "set STUDYBOT_DB to a new file or to the bot's own"
        )
    if problem:
        return bad(f"{name}: {problem}")
    size = sum(p.stat().st_size for p in (real, real.with_name(real.name + "-wal")) if p.exists())
    if version == 0:
        state = f"empty: `studybot run` sets it up (schema version {SCHEMA_VERSION})"
    elif version < SCHEMA_VERSION:
        state = f"schema version {version}, migrated to {SCHEMA_VERSION} when `studybot run` starts"
    else:
        state = f"schema version {version}"
    return good(f"{name}: exists ({size / 1e6:.1f} MB), quick_check ok, {state}; {on_it}")


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return f"uid {os.geteuid()}"


def _cannot_create(path: Path) -> str | None:
    """Why the database file could not be made where it should be (its folders too), or None."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a directory; set STUDYBOT_DB to a path in a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"{folder} is not writable by user {_user()}; make it writable (chown/chmod), "
            "or set STUDYBOT_DB to a path in a writable directory"
        )
    return None


def _not_writable(path: Path) -> str | None:
    """What the bot could not write of the database, its journal and its lock file, or None."""
    user = _user()
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return (
            f"{path.parent} is not writable by user {user}, and the bot makes {path.name}-wal, -shm and "
            ".lock beside the database; make it writable (chown/chmod), or move the database"
        )
    for file in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", ".lock"))):
        if file.exists() and not os.access(file, os.R_OK | os.W_OK):
            return f"{file} is not writable by user {user}; make it writable (chown/chmod)"
    return None


def _read(path: Path, writable: bool) -> tuple[str, int, list[str]]:
    """quick_check's first line, the schema version and the tables other than meta, read in one snapshot.

    Opened read-write where it may be (never created: mode=rw), so that as the last connection it tidies its
    -wal and -shm away on close as the bot does; read-only connections leave them behind."""
    from bot.core.storage import schema_version

    conn = sqlite3.connect(f"{path.as_uri()}?mode={'rw' if writable else 'ro'}", uri=True, timeout=5)
    try:
        import sqlite_utils

        db = sqlite_utils.Database(conn)
        with conn:  # one read transaction: the three answers agree
            conn.execute("BEGIN")
            quick_check = conn.execute("PRAGMA quick_check").fetchone()[0]
            version = schema_version(db)
            tables = [t for t in db.table_names() if t != "meta"]
        return str(quick_check), version, tables
    finally:
        conn.close()


# --------------------------------------------------------------------------- the speech


def speech(config: Config) -> Line:
    """The content model built from the speech: its title and how many sections, lessons and questions."""
    from content import ContentError, EmptySpeechError, load_model

    source = config.content_path or "the bundled speech"
    try:
        model = load_model(config.content_path)
    except (ContentError, EmptySpeechError) as exc:
        return bad(
            f"content: STUDYBOT_CONTENT: {exc}; set it to a speech text file (UTF-8, GB18030 or UTF-16), "
            "or unset it for the bundled speech"
        )
    except Exception as exc:  # noqa: BLE001 - a speech the builder fails on is one line, not a traceback
        return bad(f"content: {source} could not be built ({type(exc).__name__}: {exc})")
    return good(
        f"content: 《{model.title}》 from {source}: {len(model.sections)} sections, "
        f"{len(model.lessons)} lessons, {len(model.questions)} questions"
    )


# --------------------------------------------------------------------------- Telegram and WeCom


async def remote(config: Config) -> list[Line]:
    """The Telegram and WeCom app lines, their calls made side by side."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(TIMEOUT)) as client:
        calls = []
        if config.telegram_enabled:
            calls.append(telegram(config, client))
        if config.wecom_app_enabled:
            calls.append(wecom_app(config, client))
        results = await asyncio.gather(*calls)
    return [line for lines in results for line in lines]


async def _bot_api(config: Config, client: httpx.AsyncClient, method: str) -> tuple[int, dict | None]:
    """One Bot API call without parameters: the HTTP status and the JSON object (None if it is not one)."""
    response = await client.post(f"{config.telegram_api_url}{config.telegram_token.get()}/{method}")
    try:
        data = response.json()
    except ValueError:
        data = None
    return response.status_code, data if isinstance(data, dict) else None


async def telegram(config: Config, client: httpx.AsyncClient) -> list[Line]:
    """getMe: the bot's @username or what is wrong; then getWebhookInfo: a webhook the polling would remove."""
    shown = f"{config.telegram_api_url}…"  # the token goes after it, and is never shown
    me = await _get_me(config, client, shown)
    if isinstance(me, Line):
        return [me]
    off = "" if me.get("supports_inline_queries") else "; inline mode is off (@BotFather, /setinline)"
    lines = [good(f"Telegram: @{me['username']} answers at {shown}{off}")]
    try:
        status, data = await _bot_api(config, client, "getWebhookInfo")
    except httpx.HTTPError as exc:
        return [*lines, bad(f"Telegram: getWebhookInfo at {shown} failed ({type(exc).__name__})")]
    info = data.get("result") if data and data.get("ok") else None
    if not isinstance(info, dict):
        return [*lines, bad(f"Telegram: getWebhookInfo at {shown} answered HTTP {status}")]
    pending = int(info.get("pending_update_count") or 0)
    if config.telegram_webhook:
        return [*lines, _webhook_line(config, info, pending)]
    if info.get("url"):
        lines.append(
            bad(
                f"Telegram: a webhook is set ({redact_url(str(info['url']))}, {pending} updates waiting), and "
                "`studybot run` polls: it deletes the webhook when it starts, so whatever serves that URL gets no "
                "more updates; stop that first, or delete the webhook yourself (deleteWebhook)"
            )
        )
    return lines


def _webhook_line(config: Config, info: dict, pending: int) -> Line:
    """Webhook mode: what getWebhookInfo says of the URL the bot would set."""
    url = config.telegram_webhook_url
    served = f"http://{config.http_host}:{config.http_port}{config.webhook_path}"
    current = str(info.get("url") or "")
    if not current:
        return good(f"Telegram: webhook mode; `studybot run` sets the webhook to {url} (served at {served})")
    if current != url:
        return bad(
            f"Telegram: a webhook to another URL is set ({redact_url(current)}); `studybot run` replaces it with "
            f"{url}, so whatever serves the other gets no more updates"
        )
    error = info.get("last_error_message")
    if error:
        return bad(
            f"Telegram: the webhook to {url} last failed: {error} ({pending} updates waiting); check that it "
            f"reaches {served} (the reverse proxy in front of the bot)"
        )
    return good(f"Telegram: webhook set to {url}, served at {served} ({pending} updates waiting)")


async def _get_me(config: Config, client: httpx.AsyncClient, shown: str) -> dict | Line:
    """The bot's User object from getMe, or the ✗ line saying what to fix."""
    try:
        status, data = await _bot_api(config, client, "getMe")
    except httpx.TimeoutException:
        return bad(
            f"Telegram: no answer from {shown} within {TIMEOUT:.0f} s; check the network (a proxy? "
            "HTTPS_PROXY) and STUDYBOT_TELEGRAM_API_URL"
        )
    except httpx.HTTPError as exc:
        return bad(
            f"Telegram: cannot reach {shown} ({type(exc).__name__}: {exc}); check STUDYBOT_TELEGRAM_API_URL "
            "and the network"
        )
    if status == 401:
        return bad("Telegram: token rejected: get a new one from @BotFather and set STUDYBOT_TELEGRAM_TOKEN")
    if status == 404:
        return bad(
            f"Telegram: {shown} answered 404 Not Found; STUDYBOT_TELEGRAM_API_URL should end in /bot (such as "
            "https://api.telegram.org/bot) and STUDYBOT_TELEGRAM_TOKEN be the whole token from @BotFather"
        )
    me = data.get("result") if data and data.get("ok") else None
    if not isinstance(me, dict) or not me.get("username"):
        said = f": {data['description']}" if data and data.get("description") else ""
        return bad(
            f"Telegram: {shown} answered getMe with HTTP {status}{said}, not as the Bot API does; "
            "check STUDYBOT_TELEGRAM_API_URL"
        )
    return me


async def wecom_app(config: Config, client: httpx.AsyncClient) -> list[Line]:
    """gettoken with the app's corp id and secret: ✓, or WeCom's errcode and errmsg with what to do."""
    from bot.channels.wecom.app import WeComApp
    from bot.channels.wecom.calls import WeComError

    api = config.wecom_api_url
    app = WeComApp(api, config.wecom_corp_id, config.wecom_agent_id, config.wecom_secret.get(), client)
    try:
        await app.get_token()
    except WeComError as exc:
        if exc.errcode == -1 and exc.errmsg != "system busy":  # no answer of WeCom's own (calls.py)
            problem = (
                f"cannot get a token from {api} ({exc.errmsg}); check STUDYBOT_WECOM_API_URL and the network"
            )
        else:
            fix = GETTOKEN_FIXES.get(exc.errcode, f"see {ERRCODES}{exc.errcode}")
            problem = f"gettoken at {api} answered {exc.errcode} {exc.errmsg}; {fix}"
        return [bad(f"WeCom app: {problem}")]
    callback = f"http://{config.http_host}:{config.http_port}/wecom/callback"
    corp = f"corp {config.wecom_corp_id}, agent {config.wecom_agent_id}"
    return [good(f"WeCom app: {corp} gets an access token at {api}; its callback is served at {callback}")]


def robot(url: str) -> Line:
    """The form of a robot's webhook URL, checked without sending anything to it."""
    from bot.channels.wecom.robot import redact_webhook, webhook_problem

    problem = webhook_problem(url)
    shown = f"WeCom robot {redact_webhook(url)}"
    return bad(f"{shown}: {problem}") if problem else good(f"{shown}: well formed (nothing sent)")


def _robot_keys(config: Config) -> list[str]:
    from bot.channels.wecom.robot import webhook_key

    keys = []
    for url in config.wecom_webhooks:
        try:
            keys.append(webhook_key(url))
        except ValueError:
            continue
    return keys
