"""`studybot check`, run as the installed console script against the Bot API and WeCom stand-ins.

One line per item, ✓ or what to fix; exit 0 when all pass, 1 when one fails, 2 for a wrong setting (the line
`studybot run` prints). Secrets never appear; it runs beside a `studybot run` without taking its lock.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from botapi_standin import BotAPIStandin
from helpers import sent_to
from processes import ADMIN, STUDYBOT, TOKEN, environment, free_port, start, terminate, wait_until
from wecom_standin import WeComStandin

from bot.core.storage import SCHEMA_VERSION, Storage
from bot.instance import InstanceLock, holder, lock_path
from bot.selfcheck import database

ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def check(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`studybot check` with these settings only (none of the test's own STUDYBOT_*)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    return subprocess.run(
        [STUDYBOT, "check"], env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def lines(result: subprocess.CompletedProcess) -> list[str]:
    return result.stdout.splitlines()


def line(result: subprocess.CompletedProcess, start: str) -> str:
    """The one line of the output that begins with `start` (after its mark)."""
    found = [x for x in lines(result) if x[2:].startswith(start)]
    assert len(found) == 1, result.stdout + result.stderr
    return found[0]


@pytest.fixture
def api():
    with BotAPIStandin(token=TOKEN) as standin:
        yield standin


@pytest.fixture
def wecom():
    with WeComStandin() as standin:
        yield standin


def telegram_env(api: BotAPIStandin, db: Path) -> dict[str, str]:
    return {
        "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
        "STUDYBOT_TELEGRAM_API_URL": api.base_url,
        "STUDYBOT_DB": str(db),
        "STUDYBOT_ADMINS": str(ADMIN),
    }


def wecom_env(wecom: WeComStandin) -> dict[str, str]:
    return {
        "STUDYBOT_WECOM_API_URL": wecom.url,
        "STUDYBOT_WECOM_CORP_ID": wecom.corp_id,
        "STUDYBOT_WECOM_AGENT_ID": str(wecom.agent_id),
        "STUDYBOT_WECOM_SECRET": wecom.corp_secret,
        "STUDYBOT_WECOM_TOKEN": "callback-token-0123",
        "STUDYBOT_WECOM_AES_KEY": AES_KEY,
    }


def secrets_absent(result: subprocess.CompletedProcess, *secrets: str) -> None:
    out = result.stdout + result.stderr
    for secret in secrets:
        assert secret not in out, out


def test_everything_configured_and_working_is_all_ticks(tmp_path, api, wecom):
    db = tmp_path / "bot.db"
    Storage(db).close()
    robot = wecom.add_robot(ROBOT_KEY)
    env = {**telegram_env(api, db), **wecom_env(wecom), "STUDYBOT_WECOM_WEBHOOKS": robot}
    result = check(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    out = lines(result)
    assert [x[:2] for x in out] == ["✓ "] * 6, result.stdout
    assert "Telegram (polling), WeCom app, 1 WeCom robot" in line(result, "configuration:")
    assert line(result, f"database {db}:").endswith(
        f"quick_check ok, schema version {SCHEMA_VERSION}; no studybot run on it"
    )
    speech = line(result, "content:")
    assert "《在2023年全市组织工作会议上的讲话》 from the bundled speech: 7 sections, " in speech
    assert line(result, "Telegram:") == f"✓ Telegram: @studybot_test_bot answers at {api.base_url}…"
    assert f"corp {wecom.corp_id}, agent {wecom.agent_id} gets an access token at {wecom.url};" in line(
        result, "WeCom app:"
    )
    assert line(result, "WeCom robot") == (
        f"✓ WeCom robot {wecom.url}/cgi-bin/webhook/send?key=…5aaa: well formed (nothing sent)"
    )
    secrets_absent(result, TOKEN, wecom.corp_secret, ROBOT_KEY, AES_KEY, "callback-token-0123")
    # Tried once each, and nothing that changes anything: no message, no lock, no migration.
    assert [c.method for c in api.calls] == ["getMe", "getWebhookInfo"]
    assert wecom.token_calls == 1 and wecom.robot_messages(ROBOT_KEY) == []
    assert not lock_path(str(db)).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.db"]  # no -wal or -shm left behind
    api.assert_no_errors()


def test_a_token_the_bot_api_rejects(tmp_path, api):
    wrong = "123456:WRONG-token-value"
    result = check({**telegram_env(api, tmp_path / "bot.db"), "STUDYBOT_TELEGRAM_TOKEN": wrong})
    assert result.returncode == 1
    assert line(result, "Telegram:") == (
        "✗ Telegram: token rejected: get a new one from @BotFather and set STUDYBOT_TELEGRAM_TOKEN"
    )
    assert [x[0] for x in lines(result)] == ["✓", "✓", "✓", "✗"]
    secrets_absent(result, wrong, "WRONG-token")


def test_an_unreachable_bot_api_is_named_by_its_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens there
    env = {
        "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
        "STUDYBOT_TELEGRAM_API_URL": url,
        "STUDYBOT_DB": str(tmp_path / "b.db"),
    }
    began = time.monotonic()
    result = check(env)
    assert result.returncode == 1
    assert line(result, "Telegram:").startswith(f"✗ Telegram: cannot reach {url}… (ConnectError")
    assert "check STUDYBOT_TELEGRAM_API_URL and the network" in result.stdout
    secrets_absent(result, TOKEN, "TEST-token")
    assert time.monotonic() - began < 30


def test_a_webhook_the_polling_would_delete_is_said(tmp_path, api):
    hook = "https://hooks.example.org/telegram?token=hook-secret-123"
    httpx.post(f"{api.base_url}{TOKEN}/setWebhook", json={"url": hook}).raise_for_status()
    result = check(telegram_env(api, tmp_path / "bot.db"))
    assert result.returncode == 1
    assert line(result, "Telegram: @").startswith("✓")
    webhook = line(result, "Telegram: a webhook is set")
    assert webhook.startswith(
        "✗ Telegram: a webhook is set (https://hooks.example.org/telegram?token=***, 0 updates"
    )
    assert "deletes the webhook when it starts" in webhook
    secrets_absent(result, "hook-secret-123", TOKEN)


def test_webhook_mode_says_where_updates_go_and_what_telegram_reports(tmp_path, api):
    url = "https://bot.example.org/telegram/updates"
    env = {**telegram_env(api, tmp_path / "bot.db"), "STUDYBOT_TELEGRAM_WEBHOOK_URL": url}
    result = check(env)
    assert result.returncode == 0, result.stdout
    assert "Telegram (webhook)" in line(result, "configuration:")
    assert line(result, "Telegram: webhook mode") == (
        f"✓ Telegram: webhook mode; `studybot run` sets the webhook to {url} (served at "
        "http://127.0.0.1:8080/telegram/updates)"
    )
    httpx.post(f"{api.base_url}{TOKEN}/setWebhook", json={"url": url}).raise_for_status()
    assert line(check(env), "Telegram: webhook set").startswith(f"✓ Telegram: webhook set to {url}")
    # Telegram cannot reach it: the stand-in's delivery fails, and getWebhookInfo says so.
    api.forward_webhook(f"http://127.0.0.1:{free_port()}/telegram/updates")
    api.add_user(77, "小赵")
    api.send_message(77, 77, "/start")
    wait_until(lambda: api.webhook_posts, 10, "a webhook delivery")
    result = check(env)
    assert result.returncode == 1
    failed = line(result, "Telegram: the webhook")
    assert failed.startswith(f"✗ Telegram: the webhook to {url} last failed: Connection failed")
    assert "the reverse proxy" in failed
    other = {**env, "STUDYBOT_TELEGRAM_WEBHOOK_URL": "https://other.example.org/hook"}
    assert line(check(other), "Telegram: a webhook to another URL").startswith("✗")


@pytest.mark.parametrize(
    ("setting", "value", "errcode", "fix"),
    [
        ("STUDYBOT_WECOM_CORP_ID", "wwnotthiscorp", 40013, "check STUDYBOT_WECOM_CORP_ID"),
        ("STUDYBOT_WECOM_SECRET", "not-the-secret-987", 40001, "check STUDYBOT_WECOM_SECRET"),
    ],
)
def test_wecom_gettoken_refused(tmp_path, wecom, setting, value, errcode, fix):
    result = check({**wecom_env(wecom), "STUDYBOT_DB": str(tmp_path / "bot.db"), setting: value})
    assert result.returncode == 1
    refused = line(result, "WeCom app:")
    assert refused.startswith(f"✗ WeCom app: gettoken at {wecom.url} answered {errcode} ")
    assert fix in refused
    secrets_absent(result, wecom.corp_secret, "not-the-secret-987")


def test_an_unreachable_wecom_api(tmp_path, wecom):
    url = f"http://127.0.0.1:{free_port()}"
    result = check({**wecom_env(wecom), "STUDYBOT_DB": str(tmp_path / "b.db"), "STUDYBOT_WECOM_API_URL": url})
    assert result.returncode == 1
    assert line(result, "WeCom app:").startswith(f"✗ WeCom app: cannot get a token from {url} (ConnectError")
    secrets_absent(result, wecom.corp_secret)


def test_robot_urls_of_the_wrong_form_are_shown_with_the_key_masked(tmp_path):
    keys = ["a1b2c3d4-http-only-key-0001", "a1b2c3d4-wrong-path-key-0002", "a1b2c3d4-good-form-key-0003"]
    urls = [
        f"http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={keys[0]}",
        f"https://qyapi.weixin.qq.com/cgi-bin/webhook/sendx?key={keys[1]}",
        f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={keys[2]}",
    ]
    result = check({"STUDYBOT_WECOM_WEBHOOKS": ",".join(urls), "STUDYBOT_DB": str(tmp_path / "bot.db")})
    assert result.returncode == 1
    assert lines(result)[-3:] == [
        "✗ WeCom robot http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…0001: is http://, so its key would "
        "travel unencrypted; use the https:// URL WeCom shows",
        "✗ WeCom robot https://qyapi.weixin.qq.com/cgi-bin/webhook/sendx?key=…0002: has the path "
        "/cgi-bin/webhook/sendx, not /cgi-bin/webhook/send; copy the robot's whole webhook URL",
        "✓ WeCom robot https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…0003: well formed (nothing sent)",
    ]
    secrets_absent(result, *keys)


def test_a_robot_url_with_two_keys_is_the_configuration_line(tmp_path):
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=first-key-1111&key=second-key-2222"
    env = {"STUDYBOT_WECOM_WEBHOOKS": url, "STUDYBOT_DB": str(tmp_path / "bot.db")}
    result = check(env)
    assert result.returncode == 2 and result.stdout == ""
    (message,) = result.stderr.splitlines()
    assert message.startswith("studybot: STUDYBOT_WECOM_WEBHOOKS: ") and "needs exactly one key=" in message
    assert "send?key=***&ke" in message  # masked (and the quoted URL cut short)
    secrets_absent(result, "first-key-1111", "second-key-2222")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STUDYBOT_TIMEZONE", "Mars/Base"),
        ("STUDYBOT_WECOM_CORP_ID", "wwcorp"),
        ("STUDYBOT_CONTENT", "/no/such.txt"),
    ],
)
def test_a_wrong_setting_is_the_line_studybot_run_prints(tmp_path, variable, value):
    env = {
        "STUDYBOT_TELEGRAM_TOKEN": "1:secret-token-value",
        "STUDYBOT_DB": str(tmp_path / "bot.db"),
        variable: value,
    }
    result = check(env)
    assert result.returncode == 2 and result.stdout == ""
    (message,) = result.stderr.splitlines()
    assert variable in message
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    run = subprocess.run([STUDYBOT, "run"], env={**base, **env}, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stderr == result.stderr  # the same line, word for word
    secrets_absent(result, "secret-token-value")


def test_no_channel_gives_the_hint_of_studybot_run(tmp_path):
    result = check({"STUDYBOT_DB": str(tmp_path / "bot.db"), "STUDYBOT_TIMEZON": "Asia/Tokyo"})
    assert result.returncode == 1
    hint = line(result, "channels:")
    assert hint.startswith("✗ channels: no channel is configured. Set STUDYBOT_TELEGRAM_TOKEN")
    assert "studybot console" in hint
    assert line(result, "configuration: ignoring") == (
        "✗ configuration: ignoring unknown environment variable STUDYBOT_TIMEZON; did you mean STUDYBOT_TIMEZONE?"
    )
    assert line(result, "configuration: valid").startswith("✓")
    assert result.stderr == ""


def test_a_speech_that_cannot_be_read(tmp_path, api):
    empty = tmp_path / "speech.txt"
    empty.write_text("  \n\n", encoding="utf-8")
    result = check({**telegram_env(api, tmp_path / "bot.db"), "STUDYBOT_CONTENT": str(empty)})
    assert result.returncode == 1
    assert line(result, "content:").startswith(
        f"✗ content: STUDYBOT_CONTENT: 讲话文件是空的：{empty}; set it to"
    )
    assert line(result, "Telegram:").startswith("✓")  # the other items are still tried


def test_database_problems(tmp_path, api):
    (tmp_path / "plain-file").write_text("")
    under_a_file = tmp_path / "plain-file" / "bot.db"
    result = check(telegram_env(api, under_a_file))
    assert result.returncode == 1
    assert line(result, "database").startswith(
        f"✗ database {under_a_file}: does not exist and cannot be created: {tmp_path / 'plain-file'} is a file"
    )
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all " * 100)
    result = check(telegram_env(api, junk))
    assert result.returncode == 1
    assert line(result, "database").startswith(
        f"✗ database {junk}: SQLite cannot read it (file is not a database)"
    )
    assert junk.read_bytes() == b"not sqlite at all " * 100


def test_database_lines_in_process(tmp_path, monkeypatch):
    db = tmp_path / "bot.db"
    Storage(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    newer = database(str(db))
    assert not newer.ok and f"schema version {SCHEMA_VERSION + 1} is newer than this StudyBot" in newer.text
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    foreign = database(str(other))
    assert not foreign.ok and "is not a StudyBot database (its tables: invoices)" in foreign.text
    assert database(":memory:").ok
    assert database(str(tmp_path)).text.endswith(
        f"set STUDYBOT_DB to a file in it, such as {tmp_path / 'studybot.db'}"
    )
    # A folder the bot may not write in (tested by faking os.access: these tests may run as root).
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != tmp_path and real_access(p, mode))
    fresh = tmp_path / "fresh.db"
    refused = database(str(fresh))
    assert not refused.ok and f"{tmp_path} is not writable by user " in refused.text
    assert not fresh.exists()


def test_holder_is_read_without_taking_the_lock(tmp_path):
    db = str(tmp_path / "bot.db")
    assert holder(db) is None  # no lock file at all
    lock = InstanceLock(db)
    lock.acquire()
    try:
        assert holder(db).startswith(f"pid {os.getpid()} on host ")
        assert holder(db).startswith(f"pid {os.getpid()} on host ")  # reading it took nothing
    finally:
        lock.release()
    assert holder(db) is None  # released: the file names nobody
    lock_path(db).write_text('{"pid": 999999999, "host": "x", "started": "2024-01-01T00:00:00+00:00"}\n')
    assert holder(db) is None  # left by a killed process: nobody holds it


def test_check_beside_a_running_bot(tmp_path, api):
    db = tmp_path / "bot.db"
    log = tmp_path / "studybot.log"
    api.add_user(ADMIN, "管理员")
    env = environment(api, db)
    bot = start(env, log)
    try:
        wait_until(lambda: api.calls_for("getUpdates"), 30, "the bot to poll")
        result = check(env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"a studybot run is on it (pid {bot.pid} on host " in line(result, "database")
        assert bot.poll() is None
        mark = api.mark()
        api.send_message(ADMIN, ADMIN, "/start")  # it still answers
        reply = api.wait_for("sendMessage", lambda c: sent_to(c, ADMIN), timeout=30, after=mark)
        assert "你好" in reply.params["text"]
    finally:
        if bot.poll() is None:
            terminate(bot, log)
    assert bot.returncode == 0, log.read_text()
    assert "in use" not in log.read_text() and "Traceback" not in log.read_text()
    api.assert_no_errors()
