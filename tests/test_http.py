"""The HTTP server (`bot.channels.http.HttpServer`) over real HTTP on 127.0.0.1: routes, methods, limits,
a failing handler, keep-alive and the WeCom callback's query with a literal '+', with raw sockets where the
bytes on the wire matter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web

from bot.channels import http as http_module
from bot.channels.http import MAX_BODY, HttpServer
from bot.channels.wecom.channel import callback_query
from bot.core.health import Health


class Recorder:
    """A stand-in for the WeCom callback: records what reached it; `fail` makes it raise once."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str], bytes]] = []
        self.fail = False
        self.closed = False

    async def __call__(self, request: web.Request) -> web.Response:
        if self.fail:
            self.fail = False
            raise RuntimeError("handler broke")
        body = await request.read()
        self.seen.append((request.method, callback_query(request), body))
        return web.Response(text=f"got {len(body)}")

    async def aclose(self) -> None:
        self.closed = True


@asynccontextmanager
async def serving(wecom: Recorder | None = None) -> AsyncIterator[HttpServer]:
    server = HttpServer("127.0.0.1", 0, wecom)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    async with serving(Recorder()) as server:
        yield server


def url(server: HttpServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response off the wire: status, headers (lower-case names), body (by Content-Length)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    return int(status_line.split()[1]), headers, await reader.readexactly(length)


async def test_port_0_picks_a_free_port_and_stop_closes_the_callback():
    wecom = Recorder()
    async with serving(wecom) as server:
        assert server.port > 0
        port = server.port
    assert wecom.closed
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{port}/healthz")


async def test_healthz_get_and_head(server):
    async with httpx.AsyncClient() as http:
        response = await http.get(url(server, "/healthz"))
        assert response.status_code == 200 and response.text == "ok\n"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 ")
        # No body after the HEAD answer: the next bytes are the GET's answer.
        status, _, body = await read_response(reader)
        assert (status, body) == (200, b"ok\n")
    finally:
        writer.close()


async def test_healthz_reports_the_problems_it_is_handed():
    health = Health()
    server = HttpServer("127.0.0.1", 0, None, health)
    await server.start()
    try:
        async with httpx.AsyncClient() as http:
            health.set("telegram", "409 Conflict on getUpdates")
            health.set("disk", "full")
            response = await http.get(url(server, "/healthz"))
            assert response.status_code == 503
            assert response.text == "disk: full\ntelegram: 409 Conflict on getUpdates\n"
            assert (await http.head(url(server, "/healthz"))).status_code == 503
            health.clear("disk")
            health.clear("telegram")
            response = await http.get(url(server, "/healthz"))
            assert (response.status_code, response.text) == (200, "ok\n")
    finally:
        await server.stop()


async def test_unknown_path_404_and_wrong_methods_405(server):
    async with httpx.AsyncClient() as http:
        for path in ("/", "/nothing", "/healthz/", "/wecom/callback/x"):
            response = await http.get(url(server, path))
            assert (response.status_code, response.text) == (404, "not found\n"), path
        for method, path in [("POST", "/healthz"), ("PUT", "/healthz"), ("DELETE", "/healthz"),
                             ("PUT", "/wecom/callback"), ("DELETE", "/wecom/callback"),
                             ("HEAD", "/wecom/callback"), ("PATCH", "/wecom/callback")]:  # fmt: skip
            response = await http.request(method, url(server, path))
            assert response.status_code == 405, (method, path)
    assert server.wecom.seen == []


async def test_no_callback_route_without_a_handler():
    async with serving(None) as server, httpx.AsyncClient() as http:
        assert (await http.get(url(server, "/wecom/callback"))).status_code == 404
        assert (await http.post(url(server, "/wecom/callback"), content=b"x")).status_code == 404
        assert (await http.get(url(server, "/healthz"))).text == "ok\n"


async def test_body_limit_256_kib(server):
    async with httpx.AsyncClient() as http:
        response = await http.post(url(server, "/wecom/callback"), content=b"x" * MAX_BODY)
        assert (response.status_code, response.text) == (200, f"got {MAX_BODY}")
        response = await http.post(url(server, "/wecom/callback"), content=b"x" * (MAX_BODY + 1))
        assert response.status_code == 413

        # The limit holds for a body of unannounced length too.
        async def chunks():
            for _ in range(5):
                yield b"y" * 65536

        response = await http.post(url(server, "/wecom/callback"), content=chunks())
        assert response.status_code == 413
        assert (await http.get(url(server, "/healthz"))).status_code == 200
    assert [len(body) for _, _, body in server.wecom.seen] == [MAX_BODY]


async def test_a_handler_that_raises_is_logged_answered_500_and_the_server_goes_on(server, caplog):
    caplog.set_level(logging.ERROR, logger="bot.channels.http")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        server.wecom.fail = True
        writer.write(b"POST /wecom/callback HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
        status, _, body = await read_response(reader)
        assert status == 500 and b"handler broke" not in body
        [record] = [r for r in caplog.records if r.name == "bot.channels.http"]
        assert record.getMessage() == "HTTP handler failed"
        assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)
        # The same connection and new ones are still served.
        writer.write(b"POST /wecom/callback HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
        assert (await read_response(reader))[::2] == (200, b"got 2")
    finally:
        writer.close()
    async with httpx.AsyncClient() as http:
        assert (await http.get(url(server, "/healthz"))).status_code == 200


async def test_query_keeps_plus_literal_and_blank_values(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        target = "/wecom/callback?echostr=ab+c%2Bd%3D%3D&msg_signature=5f&empty=&x=%20y&echostr=second"
        writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert (await read_response(reader))[0] == 200
    finally:
        writer.close()
    [(method, query, body)] = server.wecom.seen
    assert method == "GET" and body == b""
    assert query == {"echostr": "ab+c+d==", "msg_signature": "5f", "empty": "", "x": " y"}


async def test_keep_alive_two_requests_on_one_connection(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = await read_response(reader)
        assert (status, body) == (200, b"ok\n") and headers.get("connection", "").lower() != "close"
        writer.write(b"POST /wecom/callback?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        status, _, body = await read_response(reader)
        assert (status, body) == (200, b"got 3")
    finally:
        writer.close()
    assert server.wecom.seen == [("POST", {"a": "1"}, b"abc")]


async def test_malformed_request_400(server):
    for garbage in (b"GARBAGE\r\n\r\n", b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(garbage)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.split(b" ", 2)[1] == b"400", garbage
        finally:
            writer.close()


async def test_slow_clients_are_cut_off(monkeypatch):
    monkeypatch.setattr(http_module, "READ_TIMEOUT", 0.3)
    wecom = Recorder()
    async with serving(wecom) as server:
        # A body that never comes: 408, and the connection is closed.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(b"POST /wecom/callback HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            status, headers, _ = await read_response(reader)
            assert status == 408 and headers["connection"].lower() == "close"
            assert await asyncio.wait_for(reader.read(), 15) == b""
        finally:
            writer.close()
        # A request head that never ends, and a kept-alive connection left idle: closed without an answer.
        for first in (b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b""):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            try:
                writer.write(first)
                assert await asyncio.wait_for(reader.read(), 5) == b""
            finally:
                writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await read_response(reader))[0] == 200
            assert await asyncio.wait_for(reader.read(), 5) == b""
        finally:
            writer.close()
    assert wecom.seen == []
