"""Webhook mode: Telegram posts each update to the bot's HTTP server instead of the bot polling for it.

`Webhook` is the route's handler (on the aiohttp.web server, at the path of
`STUDYBOT_TELEGRAM_WEBHOOK_URL`) and what calls setWebhook. A request without the right
`X-Telegram-Bot-Api-Secret-Token` is answered 403 and changes nothing; an update is put on the
Application's queue and answered 200 at once, as PTB's own webhook server does, so Telegram is never
kept waiting on a reply being made (it sends a chat's next update only after the 200).

setWebhook is called at start-up and again until it works: a dead network is waited out (the updates
wait at Telegram meanwhile, up to 24 hours); Telegram refusing the URL stops the bot with one line,
since running on would receive nothing. The webhook is left in place at a stop, so the updates that come
while the bot restarts are kept for it; polling again (the URL unset) deletes it first (PTB does).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from telegram import Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookRefused(Exception):
    """Telegram refused the webhook URL for good (a 400 to setWebhook)."""


class Webhook:
    """The webhook route and its registration with Telegram."""

    def __init__(self, app: Application, url: str, secret: str):
        self.app = app
        self.url = url
        self._secret = secret.encode()
        #: setWebhook went through (for /healthz).
        self.set = False
        self.error = "setWebhook not yet called"
        self.received = 0
        self.refused = 0
        self._refusal_logged = -60.0

    def health(self) -> tuple[bool, str]:
        """/healthz: up once setWebhook went through."""
        return (True, "webhook set") if self.set else (False, f"webhook not set: {self.error}")

    async def try_register(self) -> bool:
        """setWebhook once with the secret token: True when set, False when worth trying again (no
        network, a 5xx, a 429); WebhookRefused when Telegram refuses the URL."""
        try:
            await self.app.bot.set_webhook(
                self.url, secret_token=self._secret.decode(), allowed_updates=Update.ALL_TYPES
            )
        except BadRequest as exc:
            self.error = f"Telegram refused the URL: {exc.message}"
            raise WebhookRefused(exc.message) from None
        except TelegramError as exc:  # NetworkError, TimedOut, RetryAfter and the rest: try again
            self.error = f"setWebhook failed ({type(exc).__name__}), retrying"
            return False
        self.set = True
        logger.info("Telegram webhook set; updates come by HTTP")
        return True

    async def keep_registering(self, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        """try_register with backoff (1 s doubling to a minute) until it works or Telegram refuses."""
        delay = 1.0
        while True:
            try:
                if await self.try_register():
                    return
            except WebhookRefused as exc:
                logger.error("STUDYBOT_TELEGRAM_WEBHOOK_URL: Telegram refused it: %s", exc)
                return
            logger.warning("%s; next try in %.0f s", self.error, delay)
            await sleep(delay)
            delay = min(delay * 2, 60.0)

    async def __call__(self, request: web.Request) -> web.Response:
        """One update from Telegram: checked, queued, answered 200."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            self.refused += 1
            now = time.monotonic()
            if now - self._refusal_logged >= 60.0:  # a flood of them is one line a minute
                self._refusal_logged = now
                logger.warning(
                    "webhook: %d request(s) without the right %s refused (403)", self.refused, SECRET_HEADER
                )
            return web.Response(status=403, text="forbidden\n")
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self.app.bot)
        except Exception:  # noqa: BLE001 - anything unreadable is the sender's fault: 400, nothing queued
            return web.Response(status=400, text="bad request: expected one Update as JSON\n")
        self.received += 1
        await self.app.update_queue.put(update)
        return web.Response()
