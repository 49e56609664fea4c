"""A local stand-in for the WeCom (企业微信) API and group-robot webhooks, for tests.

It is a threaded stdlib HTTP server on 127.0.0.1 running in a background thread, so the same instance
serves an in-process httpx client and a bot started as a separate process (point
``STUDYBOT_WECOM_API_URL`` at ``standin.url`` and the webhooks at ``standin.add_robot(...)``).

Routes, answering like WeCom (HTTP 200 with ``errcode``/``errmsg``):

- ``GET /cgi-bin/gettoken?corpid=&corpsecret=``: issues tokens living ``expires_in`` seconds on the
  stand-in's clock; :meth:`WeComStandin.expire_tokens` makes issued tokens answer 42001 (or 40014).
- ``POST /cgi-bin/media/upload?access_token=&type=``: a temporary file as WeCom takes it: multipart/form-data
  with the file in the field ``media``, its filename and content type given; type ``image`` only here (a
  JPG or PNG of more than 5 bytes and at most 10 MB). Answers ``type``, ``media_id`` (valid 3 days on the
  stand-in's clock) and ``created_at``; refusals as WeCom's: 40005 bad type, 41005 no ``media`` part,
  40004 not a JPG/PNG (or a content type that is not an image's), 40006 empty or too small, 40009 too big.
- ``POST /cgi-bin/message/send?access_token=``: checks the token, the JSON shape, ``agentid`` and the
  2048-byte content limit (text, markdown), or for ``image`` a ``media_id`` this stand-in issued and that
  has not expired (else 40007), and records the message per user.
- ``POST /cgi-bin/webhook/send?key=``: robots; unknown key → 93000, more than 20 accepted messages in a
  sliding 60 s window per key → 45009, content over 4096 (markdown) / 2048 (text) bytes → 40058.

The clock is injectable: give the stand-in the same fake clock the client under test uses and the
whole exchange runs without wall-clock time. :meth:`WeComStandin.inject_error` makes the next calls to
a robot (or the app) fail with a chosen errcode. Helpers at the bottom build signed, encrypted callback
requests for tests of the bot's callback endpoint.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import hashlib
import itertools
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.channels.wecom.crypto import WeComCrypto, build_text_message

logger = logging.getLogger(__name__)

APP_CONTENT_MAX_BYTES = 2048
ROBOT_LIMITS = {"markdown": 4096, "text": 2048}
ROBOT_IMAGE_MAX_BYTES = 2 * 1024 * 1024  # an image message: JPG or PNG, before base64
MAX_BODY_BYTES = 1024 * 1024
#: A temporary image (media/upload?type=image): JPG or PNG, more than 5 bytes, at most 10 MB.
UPLOAD_IMAGE_MIN_BYTES = 5
UPLOAD_IMAGE_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_MAX_BODY_BYTES = UPLOAD_IMAGE_MAX_BYTES + 64 * 1024
MEDIA_LIFETIME = 3 * 24 * 3600.0
IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}

#: App target name for :meth:`WeComStandin.inject_error`.
APP = "app"


class WeComStandin:
    """In-memory WeCom API + robot webhooks served over HTTP on 127.0.0.1."""

    def __init__(
        self,
        corp_id: str = "wwstandin0000corp",
        corp_secret: str = "standin-corp-secret-0123456789",
        agent_id: int = 1000002,
        expires_in: int = 7200,
        clock: Callable[[], float] = time.monotonic,
        robot_limit: int = 20,
        robot_window: float = 60.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the fake corp; call :meth:`start` (or use ``with``) to serve."""
        self.corp_id = corp_id
        self.corp_secret = corp_secret
        self.agent_id = agent_id
        self.expires_in = expires_in
        self.clock = clock
        self.robot_limit = robot_limit
        self.robot_window = robot_window
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tokens: dict[str, dict[str, Any]] = {}
        self._robots: dict[str, dict[str, Any]] = {}
        self._app_messages: dict[str, list[dict[str, Any]]] = {}
        self._injected: dict[str, deque[tuple[int, str]]] = {}
        self._msgids = itertools.count(1)
        self._media: dict[str, dict[str, Any]] = {}
        #: One number per accepted app message and upload, in the order they were accepted ("seq").
        self._seq = itertools.count(1)
        #: Seconds every answer waits before it is written (a slow WeCom), for tests of sends that take a while.
        self.latency = 0.0
        self.token_calls = 0
        self.errors: list[dict[str, Any]] = []

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> WeComStandin:
        """Bind 127.0.0.1 (a free port unless one was given) and serve in a daemon thread."""
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"standin": self})
        self._server = _Server((self._host, self._port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="wecom-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> WeComStandin:
        """Start on entering a ``with`` block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving a ``with`` block."""
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, to use as ``STUDYBOT_WECOM_API_URL`` / ``WeComApp(api_url=...)``."""
        if self._server is None:
            raise RuntimeError("stand-in not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- test API --------------------------------------------------------------------------------

    def add_robot(self, key: str | None = None) -> str:
        """Register a robot key (random if None) and return its webhook URL."""
        key = key or secrets.token_hex(16)
        with self._lock:
            self._robots.setdefault(key, {"messages": [], "accepted_at": deque()})
        return self.webhook_url(key)

    def webhook_url(self, key: str) -> str:
        """Webhook URL of a robot key (registered or not)."""
        return f"{self.url}/cgi-bin/webhook/send?key={key}"

    def robot_messages(self, key: str) -> list[dict[str, Any]]:
        """Messages a robot accepted, oldest first: dicts with msgtype, content, at (stand-in clock)."""
        with self._lock:
            robot = self._robots.get(key)
            return [dict(m) for m in robot["messages"]] if robot else []

    def app_messages(self, user_id: str) -> list[dict[str, Any]]:
        """App messages delivered to one user, oldest first: msgtype, content, agentid, msgid, at, seq (an
        image's content is its bytes, with its media_id and filename)."""
        with self._lock:
            return [dict(m) for m in self._app_messages.get(user_id, [])]

    def uploads(self) -> list[dict[str, Any]]:
        """Files media/upload accepted, oldest first: media_id, type, filename, content_type, content, at, seq."""
        with self._lock:
            return [dict(m, media_id=k) for k, m in self._media.items()]

    def expire_tokens(self, errcode: int = 42001) -> None:
        """Make every issued token answer errcode (42001 expired, 40014 invalid) from now on."""
        with self._lock:
            for token in self._tokens.values():
                token["refused_with"] = errcode

    def inject_error(self, target: str, errcode: int, errmsg: str = "injected error", times: int = 1) -> None:
        """Make the next ``times`` calls to a robot key (or ``"app"`` for message/send, ``"app:image"`` for
        its image messages only, ``"upload"`` for media/upload) fail with errcode."""
        with self._lock:
            self._injected.setdefault(target, deque()).extend([(errcode, errmsg)] * times)

    # --- routes (called from server threads) -----------------------------------------------------

    def _refuse(self, route: str, errcode: int, errmsg: str, **detail: Any) -> dict[str, Any]:
        """Record a refused call and build WeCom's answer (caller holds the lock)."""
        self.errors.append({"route": route, "errcode": errcode, "errmsg": errmsg, **detail})
        return {"errcode": errcode, "errmsg": errmsg}

    def _take_injected(self, target: str) -> tuple[int, str] | None:
        """Pop the next injected error for target, if any (caller holds the lock)."""
        queue = self._injected.get(target)
        return queue.popleft() if queue else None

    def handle_gettoken(self, query: dict[str, str]) -> dict[str, Any]:
        """Answer GET /cgi-bin/gettoken."""
        with self._lock:
            self.token_calls += 1
            if not query.get("corpid"):
                return self._refuse("gettoken", 41002, "corpid missing")
            if not query.get("corpsecret"):
                return self._refuse("gettoken", 41004, "corpsecret missing")
            if query["corpid"] != self.corp_id:
                return self._refuse("gettoken", 40013, "invalid corpid")
            if query["corpsecret"] != self.corp_secret:
                return self._refuse("gettoken", 40001, "invalid credential")
            token = "standin-token-" + secrets.token_hex(12)
            self._tokens[token] = {"expires_at": self.clock() + self.expires_in, "refused_with": None}
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in}

    def _check_token(self, token: str | None) -> tuple[int, str] | None:
        """Return (errcode, errmsg) if token is missing, unknown, expired or revoked (lock held)."""
        if not token:
            return 41001, "access_token missing"
        entry = self._tokens.get(token)
        if entry is None:
            return 40014, "invalid access_token"
        if entry["refused_with"] == 40014:
            return 40014, "invalid access_token"
        if entry["refused_with"] is not None or self.clock() >= entry["expires_at"]:
            return 42001, "access_token expired"
        return None

    def handle_message_send(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        """Answer POST /cgi-bin/message/send."""
        route = "message/send"
        with self._lock:
            problem = self._check_token(query.get("access_token"))
            if problem:
                return self._refuse(route, *problem)
            injected = self._take_injected(APP)
            if injected:
                return self._refuse(route, *injected)
            if not isinstance(body, dict):
                return self._refuse(route, 47001, "data format error")
            msgtype = body.get("msgtype")
            if msgtype not in ("text", "markdown", "image"):
                return self._refuse(route, 40008, "invalid message type")
            if body.get("agentid") != self.agent_id or isinstance(body.get("agentid"), bool):
                return self._refuse(route, 40056, "invalid agentid")
            touser = body.get("touser")
            if not isinstance(touser, str) or not touser:
                return self._refuse(route, 40031, "invalid user list")
            if msgtype == "image":
                return self._app_image(route, touser, body)
            part = body.get(msgtype)
            content = part.get("content") if isinstance(part, dict) else None
            if not isinstance(content, str) or not content:
                return self._refuse(route, 44004, "empty content")
            if len(content.encode("utf-8")) > APP_CONTENT_MAX_BYTES:
                return self._refuse(route, 45002, "content size out of limit")
            msgid = f"standin-msg-{next(self._msgids)}"
            for user in touser.split("|"):
                self._app_messages.setdefault(user, []).append(
                    {
                        "msgtype": msgtype,
                        "content": content,
                        "agentid": body["agentid"],
                        "msgid": msgid,
                        "at": self.clock(),
                        "seq": next(self._seq),
                    }
                )
            return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid}

    def _app_image(self, route: str, touser: str, body: dict[str, Any]) -> dict[str, Any]:
        """An app's image message: {"media_id"} of an image this stand-in issued, not expired. Kept as
        {msgtype, content (the bytes), media_id, filename, agentid, msgid, at}. Called with the lock held."""
        injected = self._take_injected("app:image")
        if injected:
            return self._refuse(route, *injected)
        part = body.get("image")
        media_id = part.get("media_id") if isinstance(part, dict) else None
        media = self._media.get(media_id) if isinstance(media_id, str) else None
        if media is None or self.clock() >= media["expires_at"]:
            return self._refuse(route, 40007, "invalid media_id", media_id=media_id)
        if media["type"] != "image":
            return self._refuse(route, 40007, "invalid media_id: not an image", media_id=media_id)
        msgid = f"standin-msg-{next(self._msgids)}"
        for user in touser.split("|"):
            self._app_messages.setdefault(user, []).append(
                {
                    "msgtype": "image",
                    "content": media["content"],
                    "media_id": media_id,
                    "filename": media["filename"],
                    "agentid": body["agentid"],
                    "msgid": msgid,
                    "at": self.clock(),
                    "seq": next(self._seq),
                }
            )
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid}

    def handle_upload(self, query: dict[str, str], content_type: str, raw: bytes) -> dict[str, Any]:
        """Answer POST /cgi-bin/media/upload?access_token=&type=: a multipart/form-data body whose file is
        the part named ``media`` with a filename and a content type (WeCom's "文件标识名为 media")."""
        route = "media/upload"
        with self._lock:
            problem = self._check_token(query.get("access_token"))
            if problem:
                return self._refuse(route, *problem)
            injected = self._take_injected("upload")
            if injected:
                return self._refuse(route, *injected)
            kind = query.get("type")
            if kind not in ("image", "voice", "video", "file"):
                return self._refuse(route, 40005, "invalid media type", type=kind)
            if kind != "image":
                return self._refuse(route, 40005, "only type=image in this stand-in", type=kind)
            part = _media_part(content_type, raw)
            if part is None:
                return self._refuse(route, 41005, "media data missing")
            filename, part_type, data, filelength = part
            if not filename:
                return self._refuse(route, 41005, "media data missing: no filename")
            if filelength is not None and filelength != len(data):
                return self._refuse(route, 40006, "invalid file size: filelength differs", filename=filename)
            if len(data) <= UPLOAD_IMAGE_MIN_BYTES:
                return self._refuse(route, 40006, "invalid file size", filename=filename)
            if len(data) > UPLOAD_IMAGE_MAX_BYTES:
                return self._refuse(route, 40009, "invalid image size", filename=filename)
            magic = IMAGE_MAGIC.get(part_type or "")
            if magic is None or not data.startswith(magic):
                return self._refuse(route, 40004, "invalid media type: not a JPG or PNG", filename=filename)
            media_id = "standin-media-" + secrets.token_urlsafe(24)
            now = self.clock()
            self._media[media_id] = {
                "type": kind,
                "filename": filename,
                "content_type": part_type,
                "content": data,
                "at": now,
                "expires_at": now + MEDIA_LIFETIME,
                "seq": next(self._seq),
            }
            return {
                "errcode": 0,
                "errmsg": "",
                "type": kind,
                "media_id": media_id,
                "created_at": str(int(now)),
            }

    def handle_webhook(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        """Answer POST /cgi-bin/webhook/send?key=."""
        route = "webhook/send"
        key = query.get("key", "")
        with self._lock:
            robot = self._robots.get(key)
            if robot is None:
                return self._refuse(route, 93000, "invalid webhook url", key=key)
            injected = self._take_injected(key)
            if injected:
                return self._refuse(route, *injected, key=key)
            now = self.clock()
            accepted: deque[float] = robot["accepted_at"]
            while accepted and accepted[0] <= now - self.robot_window:
                accepted.popleft()
            # Only accepted messages count toward the window; refused calls are not delivered.
            if len(accepted) >= self.robot_limit:
                return self._refuse(route, 45009, "api freq out of limit", key=key)
            if not isinstance(body, dict):
                return self._refuse(route, 47001, "data format error", key=key)
            msgtype = body.get("msgtype")
            if msgtype == "image":
                return self._robot_image(route, key, robot, body.get("image"), now)
            if msgtype not in ROBOT_LIMITS:
                return self._refuse(route, 40008, "invalid message type", key=key)
            part = body.get(msgtype)
            content = part.get("content") if isinstance(part, dict) else None
            if not isinstance(content, str) or not content:
                return self._refuse(route, 44004, "empty content", key=key)
            if len(content.encode("utf-8")) > ROBOT_LIMITS[msgtype]:
                return self._refuse(route, 40058, f"{msgtype}.content exceed max length", key=key)
            accepted.append(now)
            robot["messages"].append({"msgtype": msgtype, "content": content, "at": now})
            return {"errcode": 0, "errmsg": "ok"}

    def _robot_image(self, route: str, key: str, robot: dict, part: Any, now: float) -> dict[str, Any]:
        """msgtype image as WeCom's robot API takes it: {"base64", "md5"} of a JPG or PNG of at most
        2 MB (before base64), the md5 that of the decoded bytes. Kept as {msgtype, content (the bytes),
        md5, at}. Called with the lock held."""
        if not isinstance(part, dict) or not isinstance(part.get("base64"), str) or not part["base64"]:
            return self._refuse(route, 44004, "empty content", key=key)
        try:
            data = base64.b64decode(part["base64"], validate=True)
        except (binascii.Error, ValueError):
            return self._refuse(route, 40009, "invalid image size or format", key=key)
        if len(data) > ROBOT_IMAGE_MAX_BYTES or not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
            return self._refuse(route, 40009, "invalid image size or format", key=key)
        if part.get("md5") != hashlib.md5(data).hexdigest():  # noqa: S324 - WeCom's own check
            return self._refuse(route, 40009, "image md5 mismatch", key=key)
        robot["accepted_at"].append(now)
        robot["messages"].append({"msgtype": "image", "content": data, "md5": part["md5"], "at": now})
        return {"errcode": 0, "errmsg": "ok"}


def _media_part(content_type: str, raw: bytes) -> tuple[str | None, str | None, bytes, int | None] | None:
    """The part named ``media`` of a multipart/form-data body: (filename, its content type, its bytes,
    its filelength if given); None if the body is not multipart with a boundary or has no such part."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    )
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if (
            part.get_content_disposition() != "form-data"
            or part.get_param("name", header="content-disposition") != "media"
        ):
            continue
        declared = part.get_param("filelength", header="content-disposition")
        try:
            filelength = int(declared) if declared is not None else None
        except (TypeError, ValueError):
            filelength = -1
        data = part.get_payload(decode=True) or b""
        part_type = part.get_content_type() if part.get("Content-Type") else None
        return part.get_filename(), part_type, data, filelength
    return None


class _Server(ThreadingHTTPServer):
    """Threaded server with a listen backlog large enough for a burst of concurrent connections."""

    # The stdlib default of 5 drops SYNs under a concurrent burst, costing a 1 s retransmit each.
    request_queue_size = 128
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the owning :class:`WeComStandin` (set as a class attribute)."""

    standin: WeComStandin
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately; with Nagle on, each keep-alive answer waits ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet (and keys out of it)."""

    def _query(self) -> tuple[str, dict[str, str]]:
        """Split the request path into route and a flat query dict (first value of each name)."""
        parts = urlsplit(self.path)
        return parts.path, {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}

    def _reply(self, status: int, data: dict[str, Any]) -> None:
        """Send a JSON answer."""
        payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        try:
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The caller is gone (a bot killed with its request on the wire): handled, never answered.
            self.close_connection = True

    def do_GET(self) -> None:
        """Serve gettoken."""
        path, query = self._query()
        if path == "/cgi-bin/gettoken":
            self._reply(200, self.standin.handle_gettoken(query))
        else:
            self._reply(404, {"errcode": 404, "errmsg": "not found"})

    def do_POST(self) -> None:
        """Serve media/upload, message/send and webhook/send."""
        path, query = self._query()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        limit = UPLOAD_MAX_BODY_BYTES if path == "/cgi-bin/media/upload" else MAX_BODY_BYTES
        if not 0 <= length <= limit:
            self._reply(413, {"errcode": 413, "errmsg": "body too large"})
            return
        raw = self.rfile.read(length)
        if self.standin.latency:
            time.sleep(self.standin.latency)
        if path == "/cgi-bin/media/upload":
            self._reply(200, self.standin.handle_upload(query, self.headers.get("Content-Type", ""), raw))
            return
        try:
            body: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        if path == "/cgi-bin/message/send":
            self._reply(200, self.standin.handle_message_send(query, body))
        elif path == "/cgi-bin/webhook/send":
            self._reply(200, self.standin.handle_webhook(query, body))
        else:
            self._reply(404, {"errcode": 404, "errmsg": "not found"})


# --- callback request builders ------------------------------------------------------------------


def make_callback_body(
    crypto: WeComCrypto,
    inner_xml: str,
    timestamp: str | int,
    nonce: str,
    *,
    agent_id: int | str = 1000002,
    random_bytes: bytes | None = None,
) -> tuple[dict[str, str], bytes]:
    """Encrypt and sign inner_xml as WeCom would POST it: (query params, body bytes)."""
    encrypt = crypto.encrypt(inner_xml, random_bytes)
    timestamp = str(timestamp)
    body = (
        f"<xml><ToUserName><![CDATA[{crypto.corp_id}]]></ToUserName>"
        f"<AgentID><![CDATA[{agent_id}]]></AgentID>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    ).encode()
    params = {
        "msg_signature": crypto.signature(timestamp, nonce, encrypt),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    return params, body


def make_callback_request(
    crypto: WeComCrypto,
    from_user: str,
    content: str,
    timestamp: str | int,
    nonce: str,
    *,
    agent_id: int | str = 1000002,
    msg_id: str | None = None,
    create_time: int | None = None,
    random_bytes: bytes | None = None,
) -> tuple[dict[str, str], bytes]:
    """Build a valid encrypted callback POST for a user's text message: (query params, body bytes)."""
    inner = build_text_message(
        to_user=crypto.corp_id,
        from_user=from_user,
        content=content,
        create_time=int(create_time if create_time is not None else int(timestamp)),
        msg_id=msg_id or str(secrets.randbits(63)),
        agent_id=agent_id,
    )
    return make_callback_body(crypto, inner, timestamp, nonce, agent_id=agent_id, random_bytes=random_bytes)


def make_verify_request(crypto: WeComCrypto, echo: str, timestamp: str | int, nonce: str) -> dict[str, str]:
    """Build the query params of WeCom's URL-verification GET; the bot must answer with ``echo``."""
    echostr = crypto.encrypt(echo)
    timestamp = str(timestamp)
    return {
        "msg_signature": crypto.signature(timestamp, nonce, echostr),
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": echostr,
    }
