"""The container's health check (the Dockerfile's HEALTHCHECK): `python -m bot.healthcheck`.

Exit 0 when the bot's `/healthz` answers 200; 1 on anything else — a 503 (a channel is down, e.g.
Telegram's 409 Conflict: its reasons are printed), another status, no answer within 4 s, nothing
listening, or a port the bot would refuse. It reads `STUDYBOT_HTTP_HOST` and `STUDYBOT_HTTP_PORT` as the
bot does (8080 by default; an address of every interface is asked on the loopback), so the port checked
is the port the bot listens on. Standard library only, no proxy: it runs every 30 s beside the bot.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

from bot.core.config_values import DEFAULT_HTTP_HOST, ConfigError, _port_var

TIMEOUT = 4.0
#: Addresses that mean every interface, and the loopback address to ask instead.
_EVERY_INTERFACE = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def _get(env: Mapping[str, str], name: str) -> str | None:
    # As Config.from_env: an empty or whitespace-only value counts as unset.
    value = (env.get(name) or "").strip()
    return value or None


def healthz_url(env: Mapping[str, str]) -> str:
    """The URL of the bot's /healthz under these settings; ConfigError for a port the bot refuses."""
    port = _port_var("STUDYBOT_HTTP_PORT", _get(env, "STUDYBOT_HTTP_PORT"))
    host = _get(env, "STUDYBOT_HTTP_HOST") or DEFAULT_HTTP_HOST
    host = _EVERY_INTERFACE.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def check(env: Mapping[str, str]) -> tuple[bool, str]:
    """(healthy, what /healthz said or why it could not be asked)."""
    try:
        url = healthz_url(env)
    except ConfigError as error:
        return False, str(error)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT) as response:
            status, body = response.status, response.read(4096)
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(4096)
    except OSError as error:  # refused, timed out, reset
        return False, f"{url}: {error}"
    text = " | ".join(line for line in body.decode("utf-8", "replace").splitlines() if line.strip())
    return status == 200, f"{url}: {status} {text}"


def main() -> int:
    healthy, said = check(os.environ)
    print(said)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
