"""The bot's HTTP server on aiohttp.web: /healthz, /metrics and, when given, the WeCom callback at
/wecom/callback and Telegram's webhook at its URL's path.

The server knows no channel: the service hands it the handlers, the `Health` that /healthz reports (200
"ok" and a line per channel that is up, or 503 with the problems first, e.g. Telegram's 409 Conflict
while it lasts) and what /metrics shows (the Prometheus text format). Limits: a body over 256 KiB is
answered 413; the request head must arrive within 10 s of the connection opening (or of the previous
answer on a kept-alive connection), else the connection is closed; the body must arrive within 10 s of
the head (408); a handler that raises is logged and answered 500, and the server goes on serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.core.health import Health

logger = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
READ_TIMEOUT = 10.0
#: How long stopping waits for requests being answered before closing their connections.
SHUTDOWN_TIMEOUT = 3.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The whole body read under the timeout before any handler runs; errors as plain answers."""
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            await request.read()  # over client_max_size: raises 413; handlers then get it from the cache
    except TimeoutError:
        response = web.Response(status=408, text="request timeout\n")
        response.force_close()
        return response
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return web.Response(status=404, text="not found\n")
    except web.HTTPException:
        raise  # 405 from the router, 413 and the like: aiohttp answers them
    except Exception:
        logger.exception("HTTP handler failed")
        return web.Response(status=500, text="internal server error\n")


def _healthz(health: Health | None) -> Handler:
    async def healthz(request: web.Request) -> web.Response:
        problems, up = health.report() if health is not None else ([], [])
        # The problems first, then what is up; 503 when there is any problem, so a load balancer or a
        # supervisor's health check sees it without reading the body.
        lines = problems + up if problems else ["ok", *up]
        return web.Response(status=503 if problems else 200, text="".join(f"{line}\n" for line in lines))

    return healthz


class HttpServer:
    """Serves /healthz and, when given, /metrics, the WeCom callback at /wecom/callback (GET and POST) and
    Telegram's webhook (POST at `webhook`'s path)."""

    def __init__(
        self,
        host: str,
        port: int,
        wecom: Handler | None = None,
        health: Health | None = None,
        *,
        metrics: Handler | None = None,
        webhook: tuple[str, Handler] | None = None,
    ):
        self.host = host
        self.port = port
        self.wecom = wecom
        self.health = health
        self.metrics = metrics
        self.webhook = webhook
        self.runner: web.AppRunner | None = None

    def make_app(self) -> web.Application:
        """The application: its routes and limits."""
        app = web.Application(client_max_size=MAX_BODY, middlewares=[_guard])
        app.router.add_get("/healthz", _healthz(self.health))  # HEAD too, answered without a body
        if self.wecom is not None:
            wecom = self.wecom

            async def callback(request: web.Request) -> web.StreamResponse:
                return await wecom(request)

            app.router.add_get("/wecom/callback", callback, allow_head=False)
            app.router.add_post("/wecom/callback", callback)
        if self.metrics is not None:
            app.router.add_get("/metrics", self.metrics)
        if self.webhook is not None:
            path, webhook = self.webhook

            async def updates(request: web.Request) -> web.StreamResponse:
                return await webhook(request)

            app.router.add_post(path, updates)
        return app

    async def start(self) -> None:
        """Listen (port 0 picks a free port; `self.port` then holds it)."""
        # keepalive_timeout is also aiohttp's only bound on a client that is slow to send the request
        # head: the connection is closed when no whole head has come within it. lingering_time: how long
        # the rest of a body nobody reads (after a 408 or 413) is taken in and dropped before closing.
        runner = web.AppRunner(
            self.make_app(),
            access_log=None,
            keepalive_timeout=READ_TIMEOUT,
            lingering_time=READ_TIMEOUT,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self.runner = runner
        self.port = runner.addresses[0][1]
        logger.info("HTTP server on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and serving, then let the WeCom handler finish the messages it accepted."""
        if self.runner:
            await self.runner.cleanup()
            self.runner = None
        aclose = getattr(self.wecom, "aclose", None)
        if aclose is not None:
            await aclose()
