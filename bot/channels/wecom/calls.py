"""What every WeCom API call shares: `WeComError`, the errcodes, one request, secrets kept out of logs.

`_post_or_get` makes one call and turns transport, HTTP and JSON failures into `WeComError`. Secrets
(corp secret, access token, webhook key) never reach logs or exception messages: every errmsg is scrubbed
of the values a client knows. httpx itself logs request URLs (with ``key=`` / ``access_token=``) at INFO,
so a redacting filter is installed on the ``httpx`` logger when this module is imported (app.py and
robot.py import it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

#: errcodes WeCom uses for a bad access token: 40014 invalid, 42001 expired.
TOKEN_ERRCODES = frozenset({40014, 42001})
#: errcode for "api freq out of limit".
RATE_LIMIT_ERRCODE = 45009

Sleep = Callable[[float], Awaitable[Any]]
Clock = Callable[[], float]

# --- secret redaction in httpx's own request logs --------------------------------------------------

_SECRET_PARAM_RE = re.compile(r"(?i)\b(key|access_token|corpsecret)=[^&\s\"'<>]+")


def redact_secrets(text: str) -> str:
    """Replace the values of key=, access_token= and corpsecret= query parameters with ***."""
    return _SECRET_PARAM_RE.sub(lambda m: m.group(1) + "=***", text)


class _RedactingFilter(logging.Filter):
    """Logging filter that strips secret query parameters from a record's rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redact it, and keep the record."""
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix; let logging report it
            return True
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def _install_httpx_redaction() -> None:
    """Attach the redacting filter to the httpx logger once (it logs each request URL at INFO)."""
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactingFilter) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactingFilter())


_install_httpx_redaction()


# --- errors ----------------------------------------------------------------------------------------


class WeComError(Exception):
    """A WeCom API call failed: ``errcode`` (-1 for transport/HTTP failures) and a secret-free errmsg."""

    def __init__(self, errcode: int, errmsg: str, where: str = "") -> None:
        """Keep the code, the (already scrubbed) message and where the call went (e.g. ``robot …a1b2``)."""
        self.errcode = errcode
        self.errmsg = errmsg
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}WeCom error {errcode}: {errmsg}")


def _scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Remove known secret values and secret query parameters from text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return redact_secrets(text)


async def _post_or_get(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    json: Any = None,
    files: dict[str, tuple[str, bytes, str]] | None = None,
    where: str,
    secrets: Iterable[str | None],
) -> dict[str, Any]:
    """Make one call and return the JSON object; turn transport/HTTP/JSON failures into WeComError.
    `files` is a multipart/form-data upload: field name → (filename, bytes, content type)."""
    secrets = tuple(secrets)
    try:
        response = await client.request(method, url, params=params, json=json, files=files)
    except httpx.HTTPError as exc:
        # httpx messages can carry the URL (and so the key/token); rebuild a scrubbed one, no chain.
        raise WeComError(-1, _scrub(f"{type(exc).__name__}: {exc}", secrets), where) from None
    if response.status_code != 200:
        raise WeComError(-1, f"HTTP {response.status_code}", where)
    try:
        data = response.json()
    except ValueError:
        raise WeComError(-1, "response is not JSON", where) from None
    if not isinstance(data, dict):
        raise WeComError(-1, "response is not a JSON object", where)
    return data


def _errcode(data: dict[str, Any]) -> int:
    """Return the errcode of a WeCom answer (0 when absent, -1 when not a number)."""
    try:
        return int(data.get("errcode", 0) or 0)
    except (TypeError, ValueError):
        return -1
