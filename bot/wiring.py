"""How the running bot starts and stops its channels: Telegram (polling or webhook), the WeCom app and its
token, the WeCom robots, and the HTTP server with /healthz, /metrics and the callbacks.

A part of `bot.service.Service` (it is this class's subclass), kept apart so each reads in one sitting:
the service decides the order, these methods do each step.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date

logger = logging.getLogger("bot.service")


class ChannelWiring:
    """Starting and stopping the channels (see `bot.service.Service` for the attributes they use)."""

    async def _start_telegram(self) -> None:
        from telegram import Update

        from bot.channels.telegram import TelegramChannel, TelegramSender

        self.telegram = TelegramChannel(
            self.config,
            self.storage,
            self.get_actions,
            clock=self.clock,
            on_broadcast=self.wake_broadcasts,
            faults=self.faults,
            health=self.health,
            metrics=self.metrics,
        )
        if self.config.admins:
            self.faults.notify = self.telegram.tell_admins
        app = self.telegram.build()
        await self._initialize_telegram(app)
        await app.start()
        if self.telegram.webhook is not None:
            self.health.watch("telegram", self.telegram.webhook.health)
        else:
            # Polling deletes a webhook an earlier run in webhook mode left (PTB does, before polling).
            await app.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=10)
            self.health.watch("telegram", self.telegram.polling.health)
        self.tasks.append(asyncio.create_task(self.telegram._post_init(app)))
        from jobs.pacing import in_flight

        self.senders["tg"] = TelegramSender(self.telegram, connections=in_flight(self.config.broadcast_rate))

    async def _initialize_telegram(self, app) -> None:
        """getMe until it works: a dead network at start-up is waited out, a refused token is fatal."""
        from telegram.error import InvalidToken, NetworkError

        delay = 1.0
        while True:
            try:
                await app.initialize()
                return
            except InvalidToken:
                raise SystemExit(
                    "studybot: STUDYBOT_TELEGRAM_TOKEN: the Bot API refused this token"
                ) from None
            except NetworkError as exc:
                logger.warning(
                    "Telegram Bot API unreachable (%s); retrying in %.0f s", type(exc).__name__, delay
                )
                await self._sleep(delay)
                if self.stop.is_set():
                    raise SystemExit(0) from None
                delay = min(delay * 2, 60.0)

    async def _set_webhook(self) -> None:
        """setWebhook now; a refused URL stops start-up with one line, a dead network is retried."""
        from bot.channels.telegram.webhook import WebhookRefused
        from bot.startup import fail

        webhook = self.telegram.webhook
        try:
            if await webhook.try_register():
                return
        except WebhookRefused as exc:
            raise fail(f"STUDYBOT_TELEGRAM_WEBHOOK_URL: Telegram refused it: {exc}") from None
        logger.warning("%s", webhook.error)
        self.tasks.append(asyncio.create_task(webhook.keep_registering(self._sleep)))

    async def _start_wecom_app(self) -> None:
        """The WeCom app's sender, and a task that keeps its access token fresh (so /healthz can say)."""
        from bot.channels.wecom.channel import WeComAppSender

        sender = WeComAppSender(self.config, self.http_client, self.metrics)
        self.senders["wecom"] = sender
        self.health.watch("wecom", sender.app.token_health)
        self.tasks.append(asyncio.create_task(self._keep_wecom_token(sender.app)))

    async def _keep_wecom_token(self, app) -> None:
        # get_token makes a call only when the cached token is (nearly) expired: once a minute is cheap.
        while not self.stop.is_set():
            try:
                await app.get_token()
            except Exception as exc:  # noqa: BLE001 - /healthz says it; the next send or minute retries
                logger.warning("WeCom gettoken failed: %s", exc)
            await self._sleep(60.0)

    def _setup_robots(self) -> None:
        """One chat row per configured robot, subscribed at the robots' push time; removed ones unsubscribed."""
        from bot.channels.wecom.channel import RobotSender
        from bot.core.storage import robot_chat_key

        configured = {robot_chat_key(url): url for url in self.config.wecom_webhooks}
        for chat in self.storage.subscribed_chats(channel="robot"):
            if chat["key"] not in configured:
                self.storage.unsubscribe(chat["key"])
        if not configured:
            return
        from bot.core.schedule import next_due

        now = self.clock()
        push_time = self.config.wecom_push_time
        for key in configured:
            chat = self.storage.ensure_chat(
                key, "robot", "robot", "企业微信群", timezone=self.config.timezone, push_time=push_time
            )
            # A robot follows STUDYBOT_WECOM_PUSH_TIME and STUDYBOT_TIMEZONE as they are now; its plan
            # position and the date of its last lesson stay, so a restart never repeats a lesson.
            last = chat.get("last_local_date")
            due = next_due(self.config.tzinfo, push_time, date.fromisoformat(last) if last else None, now)
            if chat["timezone"] != self.config.timezone:
                self.storage.set_timezone(key, self.config.timezone, int(due.timestamp()))
            if (
                not chat["subscribed"]
                or chat["blocked"]
                or chat["push_time"] != push_time.strftime("%H:%M")
                or chat["timezone"] != self.config.timezone
            ):
                self.storage.subscribe(key, push_time, now, int(due.timestamp()))
        self.senders["robot"] = RobotSender(configured, self.http_client)
        robots = f"{len(configured)} robot{'s' if len(configured) > 1 else ''} configured"
        self.health.watch("wecom robots", lambda: (True, robots))

    async def _start_http(self) -> None:
        # aiohttp.web takes 0.1–0.5 s to import: in a thread, so the event loop goes on answering meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, __import__, "bot.channels.http")
        from bot.channels.http import HttpServer

        handler = None
        if self.config.wecom_app_enabled:
            from bot.channels.wecom.channel import WeComCallback

            handler = WeComCallback(
                self.config,
                self.storage,
                self.get_actions,
                self.http_client,
                self.clock,
                self.senders["wecom"],
                faults=self.faults,
                metrics=self.metrics,
            )
        webhook = self.telegram.webhook if self.telegram else None
        self.http_server = HttpServer(
            self.config.http_host,
            self.config.http_port,
            handler,
            self.health,
            metrics=self._metrics_page,
            webhook=(self.config.webhook_path, webhook) if webhook else None,
        )
        try:
            await self.http_server.start()
        except OSError as exc:
            if handler is not None or webhook is not None:
                # WeCom or Telegram could not reach the bot: stop with one line naming the setting.
                from bot.startup import fail

                what = "the WeCom callback" if webhook is None else "Telegram's webhook"
                raise fail(
                    f"STUDYBOT_HTTP_HOST/STUDYBOT_HTTP_PORT: cannot listen on {self.config.http_host}:"
                    f"{self.config.http_port} for {what}: {exc.strerror or exc}"
                ) from None
            # Only /healthz would be served: a busy port must not stop the bot.
            logger.warning(
                "HTTP server not started on %s:%s: %s", self.config.http_host, self.config.http_port, exc
            )
            self.http_server = None

    async def _metrics_page(self, request):
        """GET /metrics: the Prometheus text format."""
        from aiohttp import web

        return web.Response(body=self.metrics.render(), headers={"Content-Type": self.metrics.content_type})

    async def _stop_telegram(self, timeout: float) -> None:
        """Stop polling and the Application; given up after `timeout` s (its last getUpdates may hang)."""
        if not (self.telegram and self.telegram.app):
            return
        app = self.telegram.app
        try:
            async with asyncio.timeout(timeout):
                if app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
                await app.shutdown()
        except TimeoutError:
            logger.warning("Telegram did not stop within %.0f s (the Bot API does not answer)", timeout)
        except Exception:
            logger.warning("Telegram shutdown was not clean", exc_info=True)
