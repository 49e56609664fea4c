"""Tests of bot.core.config: defaults, every variable's good and bad values, one-line errors, secrets."""

from __future__ import annotations

import logging
from datetime import time

import pytest

from bot.core.config import (
    ENV_VARS,
    Config,
    ConfigError,
    Secret,
    format_hhmm,
    parse_hhmm,
    redact_url,
)

AES_KEY = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJK0123+/"  # 43 base64 characters
TOKEN = "123456789:AAH-secret_token_value_XYZ"
WEBHOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
WECOM_APP = {
    "STUDYBOT_WECOM_CORP_ID": "ww1234567890abcdef",
    "STUDYBOT_WECOM_AGENT_ID": "1000002",
    "STUDYBOT_WECOM_SECRET": "app-secret-VALUE-42",
    "STUDYBOT_WECOM_TOKEN": "callbackTOKEN42",
    "STUDYBOT_WECOM_AES_KEY": AES_KEY,
}


def error_of(env: dict[str, str]) -> str:
    """The one-line message of the ConfigError that env raises."""
    with pytest.raises(ConfigError) as info:
        Config.from_env(env)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults() -> None:
    config = Config.from_env({})
    assert config.telegram_token is None
    assert config.telegram_api_url == "https://api.telegram.org/bot"
    assert config.db_path == "./studybot.db"
    assert config.admins == frozenset()
    assert config.timezone == "Asia/Shanghai"
    assert str(config.tzinfo) == "Asia/Shanghai"
    assert config.content_path is None
    assert config.default_time == time(8, 0)
    assert config.broadcast_rate == 25
    assert config.wecom_webhooks == ()
    assert config.wecom_push_time == time(8, 0)
    assert config.wecom_api_url == "https://qyapi.weixin.qq.com"
    assert (config.wecom_corp_id, config.wecom_agent_id, config.wecom_secret) == (None, None, None)
    assert (config.wecom_token, config.wecom_aes_key) == (None, None)
    assert config.http_host == "127.0.0.1"
    assert config.http_port == 8080
    assert not config.telegram_enabled
    assert not config.wecom_robots_enabled
    assert not config.wecom_app_enabled
    assert not config.any_channel
    assert Config.from_env({}) == Config()


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYBOT_HTTP_PORT", "9000")
    assert Config.from_env().http_port == 9000


def test_empty_and_blank_values_count_as_unset() -> None:
    env = {name: "" for name in ENV_VARS}
    env["STUDYBOT_DB"] = "   "
    assert Config.from_env(env) == Config()


def test_full_configuration(tmp_path) -> None:
    speech = tmp_path / "speech.txt"
    speech.write_text("讲话", encoding="utf-8")
    config = Config.from_env(
        {
            "STUDYBOT_TELEGRAM_TOKEN": f" {TOKEN}\n",
            "STUDYBOT_TELEGRAM_API_URL": "http://127.0.0.1:8081/bot",
            "STUDYBOT_DB": "/data/bot.db",
            "STUDYBOT_ADMINS": " 12345, 67890 ,,",
            "STUDYBOT_TIMEZONE": "Europe/Berlin",
            "STUDYBOT_CONTENT": str(speech),
            "STUDYBOT_DEFAULT_TIME": "7:30",
            "STUDYBOT_BROADCAST_RATE": "12.5",
            "STUDYBOT_WECOM_WEBHOOKS": f"{WEBHOOK}, http://localhost:9/hook?key=k2 ,",
            "STUDYBOT_WECOM_PUSH_TIME": "21:05",
            "STUDYBOT_WECOM_API_URL": "http://localhost:9",
            **WECOM_APP,
            "STUDYBOT_HTTP_HOST": "0.0.0.0",
            "STUDYBOT_HTTP_PORT": "65535",
        }
    )
    assert config.telegram_token is not None and config.telegram_token.get() == TOKEN
    assert config.telegram_api_url == "http://127.0.0.1:8081/bot"
    assert config.db_path == "/data/bot.db"
    assert config.admins == frozenset({12345, 67890})
    assert config.timezone == "Europe/Berlin"
    assert config.content_path == str(speech)
    assert config.default_time == time(7, 30)
    assert config.broadcast_rate == 12.5
    assert config.wecom_webhooks == (WEBHOOK, "http://localhost:9/hook?key=k2")
    assert config.wecom_push_time == time(21, 5)
    assert config.wecom_api_url == "http://localhost:9"
    assert config.wecom_corp_id == "ww1234567890abcdef"
    assert config.wecom_agent_id == 1000002
    assert config.wecom_secret == Secret("app-secret-VALUE-42")
    assert config.wecom_token is not None and config.wecom_token.get() == "callbackTOKEN42"
    assert config.wecom_aes_key is not None and config.wecom_aes_key.get() == AES_KEY
    assert (config.http_host, config.http_port) == ("0.0.0.0", 65535)
    assert config.telegram_enabled and config.wecom_robots_enabled and config.wecom_app_enabled
    assert config.any_channel


def test_wecom_push_time_defaults_to_default_time() -> None:
    config = Config.from_env({"STUDYBOT_DEFAULT_TIME": "06:45"})
    assert config.wecom_push_time == time(6, 45)


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({"STUDYBOT_TELEGRAM_TOKEN": TOKEN}, "telegram_enabled"),
        ({"STUDYBOT_WECOM_WEBHOOKS": WEBHOOK}, "wecom_robots_enabled"),
        (WECOM_APP, "wecom_app_enabled"),
    ],
)
def test_each_channel_alone_counts(env: dict[str, str], enabled: str) -> None:
    config = Config.from_env(env)
    assert getattr(config, enabled)
    assert config.any_channel
    others = {"telegram_enabled", "wecom_robots_enabled", "wecom_app_enabled"} - {enabled}
    assert not any(getattr(config, name) for name in others)


# ------------------------------------------------------------------ parse_hhmm


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7:30", time(7, 30)),
        ("07:30", time(7, 30)),
        ("07：30", time(7, 30)),
        ("０７：３０", time(7, 30)),
        (" 00:00 ", time(0, 0)),
        ("23:59", time(23, 59)),
    ],
)
def test_parse_hhmm_accepts(text: str, expected: time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize(
    "text", ["24:00", "7.30", "abc", "", "7:5", "07:60", "730", "07:30:00", "-1:30", "7:30pm", "１２３:00"]
)
def test_parse_hhmm_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="expected HH:MM such as 07:30"):
        parse_hhmm(text)


def test_format_hhmm() -> None:
    assert format_hhmm(time(7, 5)) == "07:05"
    assert format_hhmm(parse_hhmm("21：30")) == "21:30"


# ------------------------------------------------------------------ one-line errors, checked verbatim


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"STUDYBOT_DEFAULT_TIME": "25:00"},
            'STUDYBOT_DEFAULT_TIME: "25:00" is not a valid time, expected HH:MM such as 07:30',
        ),
        (
            {"STUDYBOT_WECOM_PUSH_TIME": "7.30"},
            'STUDYBOT_WECOM_PUSH_TIME: "7.30" is not a valid time, expected HH:MM such as 07:30',
        ),
        (
            {"STUDYBOT_TIMEZONE": "Mars/Olympus"},
            'STUDYBOT_TIMEZONE: "Mars/Olympus" is not a known time zone, expected an IANA name such as Asia/Shanghai',
        ),
        (
            {"STUDYBOT_TIMEZONE": "../etc/passwd"},
            'STUDYBOT_TIMEZONE: "../etc/passwd" is not a known time zone, expected an IANA name such as Asia/Shanghai',
        ),
        (
            {"STUDYBOT_TIMEZONE": "Asia"},
            'STUDYBOT_TIMEZONE: "Asia" is not a known time zone, expected an IANA name such as Asia/Shanghai',
        ),
        (
            {"STUDYBOT_ADMINS": "123,abc"},
            'STUDYBOT_ADMINS: "abc" is not a Telegram user id, expected comma-separated numbers such as 12345,67890',
        ),
        (
            {"STUDYBOT_ADMINS": "-100123"},
            'STUDYBOT_ADMINS: "-100123" is not a Telegram user id, expected comma-separated numbers such as 12345,67890',
        ),
        (
            {"STUDYBOT_BROADCAST_RATE": "0"},
            'STUDYBOT_BROADCAST_RATE: "0" is not a positive number, expected sends per second such as 25',
        ),
        (
            {"STUDYBOT_BROADCAST_RATE": "fast"},
            'STUDYBOT_BROADCAST_RATE: "fast" is not a positive number, expected sends per second such as 25',
        ),
        (
            {"STUDYBOT_BROADCAST_RATE": "inf"},
            'STUDYBOT_BROADCAST_RATE: "inf" is not a positive number, expected sends per second such as 25',
        ),
        (
            {"STUDYBOT_BROADCAST_RATE": "-5"},
            'STUDYBOT_BROADCAST_RATE: "-5" is not a positive number, expected sends per second such as 25',
        ),
        (
            {"STUDYBOT_HTTP_PORT": "70000"},
            'STUDYBOT_HTTP_PORT: "70000" is not a port number, expected a whole number from 1 to 65535',
        ),
        (
            {"STUDYBOT_HTTP_PORT": "0"},
            'STUDYBOT_HTTP_PORT: "0" is not a port number, expected a whole number from 1 to 65535',
        ),
        (
            {"STUDYBOT_HTTP_PORT": "http"},
            'STUDYBOT_HTTP_PORT: "http" is not a port number, expected a whole number from 1 to 65535',
        ),
        (
            {"STUDYBOT_HTTP_HOST": "http://0.0.0.0"},
            'STUDYBOT_HTTP_HOST: "http://0.0.0.0" is not a host, expected an address such as 127.0.0.1 or 0.0.0.0',
        ),
        (
            {"STUDYBOT_TELEGRAM_API_URL": "api.telegram.org/bot"},
            'STUDYBOT_TELEGRAM_API_URL: "api.telegram.org/bot" is not an http(s) URL, '
            "expected such as https://api.telegram.org/bot",
        ),
        (
            {"STUDYBOT_WECOM_API_URL": "ftp://qyapi.weixin.qq.com"},
            'STUDYBOT_WECOM_API_URL: "ftp://qyapi.weixin.qq.com" is not an http(s) URL, '
            "expected such as https://qyapi.weixin.qq.com",
        ),
        (
            {**WECOM_APP, "STUDYBOT_WECOM_AGENT_ID": "app1"},
            'STUDYBOT_WECOM_AGENT_ID: "app1" is not a whole number, expected the app\'s AgentId such as 1000002',
        ),
        (
            {"STUDYBOT_CONTENT": "/no/such/speech.txt"},
            'STUDYBOT_CONTENT: "/no/such/speech.txt" is not a file, expected the path of a UTF-8 speech text file',
        ),
    ],
)
def test_bad_values_give_one_line_naming_the_variable(env: dict[str, str], message: str) -> None:
    assert error_of(env) == message


def test_config_error_attributes_and_type() -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_env({"STUDYBOT_HTTP_PORT": "x"})
    assert isinstance(info.value, ValueError)
    assert info.value.variable == "STUDYBOT_HTTP_PORT"
    assert info.value.message.startswith('"x" is not a port number')


def test_error_value_with_newline_stays_on_one_line() -> None:
    message = error_of({"STUDYBOT_DEFAULT_TIME": "08:00\n\nrm -rf /"})
    assert message.startswith('STUDYBOT_DEFAULT_TIME: "08:00\\n\\nrm -rf /" is not a valid time')


def test_long_bad_value_is_truncated() -> None:
    message = error_of({"STUDYBOT_TIMEZONE": "X" * 500})
    assert len(message) < 200


def test_webhook_must_be_http_url_and_error_hides_its_key() -> None:
    message = error_of({"STUDYBOT_WECOM_WEBHOOKS": f"{WEBHOOK},ftp://example.com/send?key=SECRETKEY"})
    assert message == (
        'STUDYBOT_WECOM_WEBHOOKS: "ftp://example.com/send?key=***" is not an http(s) URL, expected '
        "comma-separated webhook URLs such as https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."
    )
    assert "SECRETKEY" not in message


def test_webhooks_dedupe_and_full_width_comma() -> None:
    config = Config.from_env({"STUDYBOT_WECOM_WEBHOOKS": f"{WEBHOOK}，{WEBHOOK}, ,"})
    assert config.wecom_webhooks == (WEBHOOK,)


def test_admins_accept_full_width_comma_and_ignore_empties() -> None:
    assert Config.from_env({"STUDYBOT_ADMINS": "1，2,, 3 ,"}).admins == frozenset({1, 2, 3})


def test_broadcast_rate_accepts_fraction() -> None:
    assert Config.from_env({"STUDYBOT_BROADCAST_RATE": "0.5"}).broadcast_rate == 0.5


def test_port_edges() -> None:
    assert Config.from_env({"STUDYBOT_HTTP_PORT": "1"}).http_port == 1
    assert error_of({"STUDYBOT_HTTP_PORT": "65536"}).startswith("STUDYBOT_HTTP_PORT:")
    assert error_of({"STUDYBOT_HTTP_PORT": "-1"}).startswith("STUDYBOT_HTTP_PORT:")


# ------------------------------------------------------------------ WeCom app: all or nothing


def test_partial_wecom_app_names_the_missing_variables() -> None:
    env = {
        k: WECOM_APP[k]
        for k in ("STUDYBOT_WECOM_CORP_ID", "STUDYBOT_WECOM_AGENT_ID", "STUDYBOT_WECOM_AES_KEY")
    }
    assert error_of(env) == (
        "STUDYBOT_WECOM_SECRET, STUDYBOT_WECOM_TOKEN: not set, but the WeCom app needs all five of "
        "STUDYBOT_WECOM_CORP_ID, STUDYBOT_WECOM_AGENT_ID, STUDYBOT_WECOM_SECRET, STUDYBOT_WECOM_TOKEN, "
        "STUDYBOT_WECOM_AES_KEY and only STUDYBOT_WECOM_CORP_ID, STUDYBOT_WECOM_AGENT_ID, "
        "STUDYBOT_WECOM_AES_KEY are set; set the missing ones or unset the rest"
    )


def test_partial_wecom_app_error_never_shows_secrets() -> None:
    env = {"STUDYBOT_WECOM_SECRET": WECOM_APP["STUDYBOT_WECOM_SECRET"]}
    message = error_of(env)
    assert message.startswith("STUDYBOT_WECOM_CORP_ID, STUDYBOT_WECOM_AGENT_ID, STUDYBOT_WECOM_TOKEN, ")
    assert "only STUDYBOT_WECOM_SECRET is set" in message
    assert WECOM_APP["STUDYBOT_WECOM_SECRET"] not in message


@pytest.mark.parametrize(
    "bad_key",
    [
        AES_KEY[:-1],  # 42 characters
        AES_KEY + "A",  # 44 characters
        AES_KEY[:-1] + "=",  # padding is not part of an EncodingAESKey
        AES_KEY[:-1] + "-",  # URL-safe alphabet is not accepted
    ],
)
def test_aes_key_must_be_43_base64_characters_and_is_never_shown(bad_key: str) -> None:
    message = error_of({**WECOM_APP, "STUDYBOT_WECOM_AES_KEY": bad_key})
    assert message == (
        "STUDYBOT_WECOM_AES_KEY: expected exactly 43 characters of A-Z, a-z, 0-9, + and / (the EncodingAESKey "
        f"of the app's callback settings), got {len(bad_key)} characters (value not shown)"
    )
    assert bad_key not in message and AES_KEY[:20] not in message


def test_bad_token_is_rejected_without_showing_it() -> None:
    message = error_of({"STUDYBOT_TELEGRAM_TOKEN": "123:abc def"})
    assert message == (
        "STUDYBOT_TELEGRAM_TOKEN: contains spaces or '/', expected the token exactly as issued (value not shown)"
    )
    assert "abc" not in message


# ------------------------------------------------------------------ secrets never shown


def test_secret_wrapper(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("hunter2")
    assert secret.get() == "hunter2"
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "Secret('***')"
    assert f"{secret}" == "Secret('***')"
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("token %s %r", secret, secret)
    assert "hunter2" not in caplog.text and "token Secret('***') Secret('***')" in caplog.text
    assert secret == Secret("hunter2") and secret != Secret("other")
    assert hash(secret) == hash(Secret("hunter2"))


def test_config_repr_and_str_hide_every_secret() -> None:
    config = Config.from_env(
        {"STUDYBOT_TELEGRAM_TOKEN": TOKEN, "STUDYBOT_WECOM_WEBHOOKS": WEBHOOK, **WECOM_APP}
    )
    for text in (repr(config), str(config), f"{config}"):
        assert TOKEN not in text and TOKEN.split(":")[1] not in text
        assert WECOM_APP["STUDYBOT_WECOM_SECRET"] not in text
        assert WECOM_APP["STUDYBOT_WECOM_TOKEN"] not in text
        assert AES_KEY not in text
        assert "693a91f6" not in text  # the webhook key
        assert "key=***" in text
        assert "Secret('***')" in text
        assert "ww1234567890abcdef" in text  # the corp id is not a secret


def test_config_is_frozen() -> None:
    config = Config.from_env({})
    with pytest.raises(AttributeError):
        config.http_port = 1  # type: ignore[misc]


def test_redact_url() -> None:
    assert redact_url(WEBHOOK) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"
    assert redact_url("https://x.test/a?b=1") == "https://x.test/a?b=1"
    assert redact_url("https://x.test/a?access_token=T&x=1") == "https://x.test/a?access_token=***&x=1"


def test_unknown_variables_are_warned_by_name_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.core.config"):
        Config.from_env({"STUDYBOT_TELEGRAM_TOKN": "sekrit-value", "OTHER": "x"})
    assert "STUDYBOT_TELEGRAM_TOKN" in caplog.text
    assert "did you mean STUDYBOT_TELEGRAM_TOKEN?" in caplog.text
    assert "sekrit-value" not in caplog.text
    assert "OTHER" not in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a&key=b",
    ],
)
def test_a_webhook_without_one_key_is_one_line_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_env({"STUDYBOT_WECOM_WEBHOOKS": url})
    message = str(info.value)
    assert message.startswith("STUDYBOT_WECOM_WEBHOOKS") and "key=" in message and "\n" not in message
