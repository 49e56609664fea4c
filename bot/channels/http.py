"""A small HTTP/1.1 server on asyncio streams: /healthz and the WeCom callback, in the bot's process.

The two routes need nothing a framework would add; a bounded request reader keeps a slow or huge
request from costing more than its timeout and 256 KiB.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
READ_TIMEOUT = 10.0
REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 413: "Payload Too Large", 500: "Internal Server Error"}  # fmt: skip


@dataclass
class Request:
    """What a handler gets."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    """What a handler returns."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


Handler = Callable[[Request], Awaitable[Response]]


class HttpServer:
    """Serves /healthz and, when given, the WeCom callback at /wecom/callback."""

    def __init__(self, host: str, port: int, wecom: Handler | None = None):
        self.host = host
        self.port = port
        self.wecom = wecom
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        """Listen (port 0 picks a free port; `self.port` then holds it)."""
        self.server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        logger.info("HTTP server on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening, then let the WeCom handler finish the messages it accepted."""
        if self.server:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        aclose = getattr(self.wecom, "aclose", None)
        if aclose is not None:
            await aclose()

    async def route(self, request: Request) -> Response:
        """Dispatch one request."""
        if request.path == "/healthz":
            return Response(200, b"ok\n") if request.method in ("GET", "HEAD") else Response(405)
        if request.path == "/wecom/callback" and self.wecom is not None:
            if request.method not in ("GET", "POST"):
                return Response(405)
            return await self.wecom(request)
        return Response(404, b"not found\n")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_method = ""
        try:
            try:
                request = await asyncio.wait_for(self._read(reader), READ_TIMEOUT)
                request_method = request.method
            except TimeoutError:
                response = Response(408)
            except ValueError as exc:
                response = Response(413 if "large" in str(exc) else 400)
            else:
                try:
                    response = await self.route(request)
                except Exception:
                    logger.exception("HTTP handler failed")
                    response = Response(500)
            head = (
                f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Error')}\r\n"
                f"Content-Type: {response.content_type}\r\nContent-Length: {len(response.body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            # A HEAD answer has the headers of the GET answer and no body.
            body = b"" if request_method == "HEAD" else response.body
            writer.write(head.encode() + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> Request:
        line = await reader.readline()
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            raise ValueError("bad request line")
        method, target, _ = parts
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            if len(headers) > 100:
                raise ValueError("too many headers")
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length < 0:
            raise ValueError("bad length")
        if length > MAX_BODY:
            raise ValueError("too large")
        body = await reader.readexactly(length) if length else b""
        url = urlsplit(target)
        # keep_blank_values, and no '+' → ' ' surprise: WeCom's echostr is base64 and may hold '+'.
        query = {k: v[0] for k, v in parse_qs(url.query.replace("+", "%2B"), keep_blank_values=True).items()}
        return Request(method.upper(), url.path, query, headers, body)
