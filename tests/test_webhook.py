"""Webhook mode: setWebhook with the secret token, updates posted to the bot's HTTP server at the URL's path
(by the Bot API stand-in, as Telegram does, through a stand-in for the reverse proxy), 403 without the
secret and nothing changed, a wrong URL stopping start-up with one line, a dead network at setWebhook
waited out, and polling again (the URL unset) taking over from the webhook.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from botapi_standin import BotAPIStandin
from helpers import Clock, sent_to

from bot.core.config import Config, ConfigError
from bot.core.storage import Storage
from bot.service import Service

TOKEN = "123456:WEBHOOK-token"
USER = 5151
SECRET = "s3cret_token-1"
URL = "https://bot.example.org/telegram/updates"
STUDYBOT = str(Path(sys.executable).with_name("studybot"))


def env_for(api: BotAPIStandin, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
        "STUDYBOT_TELEGRAM_API_URL": api.base_url,
        "STUDYBOT_DB": str(tmp_path / "bot.db"),
        "STUDYBOT_TELEGRAM_WEBHOOK_URL": URL,
        "STUDYBOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
        **extra,
    }


async def start_service(api: BotAPIStandin, tmp_path: Path, **extra: str) -> tuple[Service, Storage]:
    config = replace(Config.from_env(env_for(api, tmp_path, **extra)), http_port=0, tick_seconds=3600)
    storage = Storage(config.db_path)
    service = Service(config, storage, clock=Clock(datetime.now(UTC)))
    await service.start()
    return service, storage


def route(service: Service) -> str:
    return f"http://127.0.0.1:{service.http_server.port}/telegram/updates"


def update_json(update_id: int, text: str, user: int = USER) -> dict:
    """A message update as Telegram posts it."""
    sender = {"id": user, "is_bot": False, "first_name": "小李"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": user, "type": "private", "first_name": "小李"},
            "from": sender,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if text.startswith("/")
            else [],
        },
    }


# -- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, says",
    [
        ("http://bot.example.org/hook", "is not an https URL"),
        ("bot.example.org/hook", "is not an https URL"),
        ("https://bot.example.org:8080/hook", "ports 443, 80, 88 and 8443 only"),
        ("https://bot.example.org/healthz", "one of the bot's own routes"),
        ("https://bot.example.org/hook?x=1", "query or a fragment"),
    ],
)
def test_a_wrong_webhook_url_is_one_line_naming_the_variable(url, says):
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"STUDYBOT_TELEGRAM_TOKEN": TOKEN, "STUDYBOT_TELEGRAM_WEBHOOK_URL": url})
    message = str(caught.value)
    assert message.startswith("STUDYBOT_TELEGRAM_WEBHOOK_URL: ") and says in message and "\n" not in message


def test_a_secret_telegram_would_refuse_is_caught_without_showing_it():
    with pytest.raises(ConfigError) as caught:
        Config.from_env(
            {
                "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
                "STUDYBOT_TELEGRAM_WEBHOOK_URL": URL,
                "STUDYBOT_TELEGRAM_WEBHOOK_SECRET": "has spaces and ü",
            }
        )
    assert str(caught.value).startswith("STUDYBOT_TELEGRAM_WEBHOOK_SECRET: ") and "ü" not in str(caught.value)


def test_a_webhook_without_a_token_is_refused_and_unset_means_polling():
    with pytest.raises(ConfigError, match="STUDYBOT_TELEGRAM_TOKEN is not"):
        Config.from_env({"STUDYBOT_TELEGRAM_WEBHOOK_URL": URL})
    config = Config.from_env({"STUDYBOT_TELEGRAM_TOKEN": TOKEN})
    assert not config.telegram_webhook
    config = Config.from_env({"STUDYBOT_TELEGRAM_TOKEN": TOKEN, "STUDYBOT_TELEGRAM_WEBHOOK_URL": URL})
    assert config.telegram_webhook and config.webhook_path == "/telegram/updates"


def test_studybot_run_with_an_http_webhook_url_stops_with_one_line(tmp_path):
    env = {
        **os.environ,
        "STUDYBOT_TELEGRAM_TOKEN": TOKEN,
        "STUDYBOT_TELEGRAM_WEBHOOK_URL": "http://bot.example.org/hook",
        "STUDYBOT_DB": str(tmp_path / "bot.db"),
    }
    done = subprocess.run([STUDYBOT, "run"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "STUDYBOT_TELEGRAM_WEBHOOK_URL" in lines[0] and "https" in lines[0], (
        done.stderr
    )
    assert not (tmp_path / "bot.db").exists()


# -- the service in this process: real PTB, updates by HTTP -------------------------------------------


async def test_updates_by_webhook_are_answered_and_nothing_polls(tmp_path):
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(USER, "小李")
        service, storage = await start_service(api, tmp_path)
        try:
            (call,) = api.calls_for("setWebhook")
            assert call.params["url"] == URL and call.params["secret_token"] == SECRET
            assert (
                "message" in call.params["allowed_updates"]
                and "poll_answer" in call.params["allowed_updates"]
            )
            api.forward_webhook(route(service))
            mark = api.mark()
            api.send_message(USER, USER, "/start")
            reply = await api.await_call("sendMessage", lambda c: sent_to(c, USER), timeout=15, after=mark)
            assert "你好" in reply.params["text"]
            mark = api.mark()
            api.send_message(USER, USER, "/search 党建")
            await api.await_call("sendMessage", lambda c: sent_to(c, USER), timeout=15, after=mark)
            assert api.pending_updates() == [] and all(status == 200 for _, status in api.webhook_posts)
            assert not api.calls_for("getUpdates") and not api.calls_for("deleteWebhook")
            assert storage.get_chat(f"tg:{USER}") is not None
            async with httpx.AsyncClient() as http:
                health = await http.get(f"http://127.0.0.1:{service.http_server.port}/healthz")
                assert (health.status_code, health.text) == (200, "ok\ntelegram: up (webhook set)\n")
        finally:
            await service.shutdown()
            storage.close()
        assert not api.calls_for("deleteWebhook")  # left in place: updates wait at Telegram meanwhile
        api.assert_no_errors()


async def test_without_the_secret_token_403_and_nothing_changes(tmp_path):
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(USER, "小李")
        api.add_chat(USER, "private")  # the user has opened the chat: the bot may write to it
        service, storage = await start_service(api, tmp_path)
        try:
            mark = api.mark()
            body = json.dumps(update_json(900, "/subscribe 07:30"))
            async with httpx.AsyncClient() as http:
                for headers in (
                    {},
                    {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                    {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"},
                    {"X-Telegram-Bot-Api-Secret-Token": "ü".encode() * 8},
                ):
                    answer = await http.post(
                        route(service), content=body, headers={"Content-Type": "application/json", **headers}
                    )
                    assert answer.status_code == 403, headers
                good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                for junk in (b"{", b"[]", b'{"no_update_id": 1}', b'"text"'):
                    answer = await http.post(route(service), content=junk, headers=good)
                    assert answer.status_code == 400
                assert (await http.get(route(service), headers=good)).status_code == 405
            await asyncio.sleep(0.5)
            assert storage.get_chat(f"tg:{USER}") is None
            assert not [c for c in api.calls[mark:] if c.method.startswith("send")]
            # The same update with the secret is taken.
            async with httpx.AsyncClient() as http:
                answer = await http.post(route(service), content=body, headers=good)
            assert answer.status_code == 200
            reply = await api.await_call("sendMessage", lambda c: sent_to(c, USER), timeout=15, after=mark)
            assert "07:30" in reply.params["text"]
            assert storage.get_chat(f"tg:{USER}")["subscribed"] == 1
        finally:
            await service.shutdown()
            storage.close()


async def test_no_secret_set_means_one_of_the_runs_own(tmp_path):
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(USER, "小李")
        service, storage = await start_service(api, tmp_path, STUDYBOT_TELEGRAM_WEBHOOK_SECRET="")
        try:
            secret = api.calls_for("setWebhook")[0].params["secret_token"]
            assert len(secret) >= 32
            api.forward_webhook(route(service))
            mark = api.mark()
            api.send_message(USER, USER, "/help")
            await api.await_call("sendMessage", lambda c: sent_to(c, USER), timeout=15, after=mark)
            async with httpx.AsyncClient() as http:
                answer = await http.post(
                    route(service),
                    json=update_json(901, "/help"),
                    headers={"X-Telegram-Bot-Api-Secret-Token": ""},
                )
            assert answer.status_code == 403
        finally:
            await service.shutdown()
            storage.close()


async def test_telegram_refusing_the_url_stops_start_up_with_one_line(tmp_path, capsys):
    with BotAPIStandin(token=TOKEN) as api:
        api.fail_next("setWebhook", kind=400)
        config = replace(Config.from_env(env_for(api, tmp_path)), http_port=0, tick_seconds=3600)
        storage = Storage(config.db_path)
        service = Service(config, storage)
        try:
            with pytest.raises(SystemExit) as stopped:
                await service.start()
            assert stopped.value.code == 2
            (line,) = capsys.readouterr().err.splitlines()
            assert line.startswith("studybot: STUDYBOT_TELEGRAM_WEBHOOK_URL: Telegram refused it")
        finally:
            await service.shutdown()
            storage.close()


async def test_a_dead_network_at_setwebhook_is_waited_out(tmp_path):
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(USER, "小李")
        api.take_down("setWebhook", kind=502)
        service, storage = await start_service(api, tmp_path)
        healthz = f"http://127.0.0.1:{service.http_server.port}/healthz"
        try:
            async with httpx.AsyncClient() as http:
                answer = await http.get(healthz)
                assert answer.status_code == 503 and answer.text.startswith("telegram: webhook not set: ")
                api.bring_up()
                await api.await_call("setWebhook", lambda c: c.ok, timeout=15)
                for _ in range(100):
                    if (await http.get(healthz)).status_code == 200:
                        break
                    await asyncio.sleep(0.05)
                assert (await http.get(healthz)).text == "ok\ntelegram: up (webhook set)\n"
            api.forward_webhook(route(service))
            mark = api.mark()
            api.send_message(USER, USER, "/today")
            await api.await_call("sendMessage", lambda c: sent_to(c, USER), timeout=15, after=mark)
        finally:
            await service.shutdown()
            storage.close()


async def test_updates_sent_while_the_bot_was_down_arrive_once_it_is_back(tmp_path):
    """Telegram keeps what it could not deliver: the stand-in retries until the bot answers 200."""
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(USER, "小李")
        service, storage = await start_service(api, tmp_path)
        await service.shutdown()
        storage.close()
        # The bot is down; the proxy answers nothing. The user writes meanwhile.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            dead = probe.getsockname()[1]
        api.forward_webhook(f"http://127.0.0.1:{dead}/telegram/updates")
        api.send_message(USER, USER, "/start")
        await asyncio.sleep(0.5)
        assert api.pending_updates() and any(status is None for _, status in api.webhook_posts)
        info = await asyncio.to_thread(
            httpx.post, f"{api.base_url}{TOKEN}/getWebhookInfo", json={}, timeout=5
        )
        assert info.json()["result"]["last_error_message"].startswith("Connection failed")
        service, storage = await start_service(api, tmp_path)
        try:
            mark = api.mark()
            api.forward_webhook(route(service))
            reply = await api.await_call("sendMessage", lambda c: sent_to(c, USER), timeout=15, after=mark)
            assert "你好" in reply.params["text"] and api.pending_updates() == []
        finally:
            await service.shutdown()
            storage.close()


async def test_polling_again_deletes_the_webhook_first(tmp_path):
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(USER, "小李")
        service, storage = await start_service(api, tmp_path)
        await service.shutdown()
        storage.close()
        service, storage = await start_service(api, tmp_path, STUDYBOT_TELEGRAM_WEBHOOK_URL="")
        try:
            assert api.calls_for("deleteWebhook")
            mark = api.mark()
            api.send_message(USER, USER, "/help")
            await api.await_call("sendMessage", lambda c: sent_to(c, USER), timeout=15, after=mark)
            assert not [c for c in api.calls_for("getUpdates") if c.error_code == 409]
        finally:
            await service.shutdown()
            storage.close()


# -- the installed bot as a process --------------------------------------------------------------------


def test_studybot_run_in_webhook_mode_answers_and_stops_on_sigterm(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with BotAPIStandin(token=TOKEN) as api:
        api.add_user(USER, "小李")
        env = {**os.environ, **env_for(api, tmp_path), "STUDYBOT_HTTP_PORT": str(port)}
        process = subprocess.Popen([STUDYBOT, "run"], env=env, stderr=subprocess.PIPE, text=True)
        try:
            api.wait_for("setWebhook", timeout=30)
            api.forward_webhook(f"http://127.0.0.1:{port}/telegram/updates")
            mark = api.mark()
            api.send_message(USER, USER, "/start")
            reply = api.wait_for("sendMessage", lambda c: sent_to(c, USER), timeout=30, after=mark)
            assert "你好" in reply.params["text"]
            assert not api.calls_for("getUpdates")
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert TOKEN not in err and SECRET not in err
        api.assert_no_errors()


def test_polling_does_not_load_aiohttp_web_before_its_first_poll():
    """aiohttp.web costs 0.1-0.2 s to import; polling's path to its first getUpdates must not pay it."""
    code = "import sys, bot.service, bot.channels.telegram; print('aiohttp.web' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
