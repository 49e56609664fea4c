"""Packaging: one pinned set of versions (constraints.txt) within pyproject.toml's ranges, used by .ci/run
and the Dockerfile; the Dockerfile's key properties, read statically; the image's health check
(`python -m bot.healthcheck`) against a real HTTP server; .env.example lists every variable."""

from __future__ import annotations

import json
import re
import socket
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot import healthcheck
from bot.core.config import ENV_VARS

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
PROJECT_REQUIREMENTS = [
    *PYPROJECT["project"]["dependencies"],
    *PYPROJECT["project"]["optional-dependencies"]["dev"],
]


def pins() -> dict[str, Version]:
    """constraints.txt as {canonical name: version}; every line must be name==version."""
    found = {}
    for line in (ROOT / "constraints.txt").read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not name==version"
            found[canonicalize_name(name)] = Version(version)
    return found


@pytest.mark.parametrize("text", [*PROJECT_REQUIREMENTS, *PYPROJECT["build-system"]["requires"]])
def test_every_declared_dependency_is_pinned_within_its_range(text):
    requirement = Requirement(text)
    pinned = pins().get(canonicalize_name(requirement.name))
    assert pinned is not None, f"{requirement.name} is not in constraints.txt"
    assert requirement.specifier.contains(pinned, prereleases=True), f"{pinned} is outside {requirement}"


def test_every_transitive_dependency_is_pinned():
    """What the project's requirements need in turn (their installed metadata, extras and markers
    applied), all the way down."""
    needed: set[str] = set()
    todo = [Requirement(text) for text in PROJECT_REQUIREMENTS]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        requirement = todo.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        needed.add(key[0])
        for text in metadata.requires(requirement.name) or []:
            sub = Requirement(text)
            extras = {"", *requirement.extras}
            if sub.marker is None or any(sub.marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(sub)
    assert needed - set(pins()) == set()


def _dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text("utf-8"))
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, arguments = line.strip().partition(" ")
            if instruction.upper() == "FROM":
                stages.append([])
            stages[-1].append((instruction.upper(), " ".join(arguments.split())))
    return stages


def test_dockerfile():
    stages = _dockerfile_stages()
    assert stages[0][0] == ("FROM", "python:3.11-slim AS deps")  # the stock base, nothing local
    image = dict(stages[-1])
    assert image["USER"] == "10001"  # numeric: a runtime can check it is not root without /etc/passwd
    command = image["HEALTHCHECK"].partition(" CMD ")[2]
    assert json.loads(command) == ["python", "-m", "bot.healthcheck"]  # exec form; no shell in between
    assert json.loads(image["CMD"]) == ["studybot", "run"]
    # The image takes nothing from the build context: the project's files come installed from a stage.
    copies = [arguments for instruction, arguments in stages[-1] if instruction in ("COPY", "ADD")]
    assert copies and all(arguments.startswith("--from=") for arguments in copies)
    # Every pip install takes the pinned versions, or installs the project alone.
    installs = [
        command
        for stage in stages
        for instruction, arguments in stage
        if instruction == "RUN"
        for command in arguments.split("&&")
        if re.search(r"\bpip\b.* install ", command)
    ]
    assert installs
    for command in installs:
        assert "--no-deps" in command or re.search(r" -c \S*constraints\.txt", command), command
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert "pip install -q -c constraints.txt -e '.[dev]'" in ci


def test_env_example_lists_every_variable():
    example = (ROOT / ".env.example").read_text("utf-8")
    assert [name for name in ENV_VARS if not re.search(rf"^(# )?{name}=", example, re.M)] == []


class _Healthz(BaseHTTPRequestHandler):
    status = 200
    body = b"ok\n"

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    handler = type("Handler", (_Healthz,), {})
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield httpd
        httpd.shutdown()


def test_healthcheck_follows_the_port_and_fails_on_503(server, monkeypatch):
    env = {"STUDYBOT_HTTP_HOST": "0.0.0.0", "STUDYBOT_HTTP_PORT": str(server.server_address[1])}
    assert healthcheck.check(env) == (True, f"http://127.0.0.1:{env['STUDYBOT_HTTP_PORT']}/healthz: 200 ok")
    server.RequestHandlerClass.status = 503
    server.RequestHandlerClass.body = b"telegram: 409 Conflict on getUpdates\n"
    healthy, said = healthcheck.check(env)
    assert not healthy and said.endswith(": 503 telegram: 409 Conflict on getUpdates")
    monkeypatch.setenv("STUDYBOT_HTTP_PORT", env["STUDYBOT_HTTP_PORT"])
    assert healthcheck.main() == 1
    server.RequestHandlerClass.status = 200
    assert healthcheck.main() == 0


def test_healthcheck_without_an_answer():
    assert healthcheck.healthz_url({}) == "http://127.0.0.1:8080/healthz"
    assert healthcheck.healthz_url({"STUDYBOT_HTTP_HOST": "::", "STUDYBOT_HTTP_PORT": " 9000 "}) == (
        "http://[::1]:9000/healthz"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert healthcheck.check({"STUDYBOT_HTTP_PORT": str(free)})[0] is False  # nothing listens
    healthy, said = healthcheck.check({"STUDYBOT_HTTP_PORT": "http"})
    assert not healthy and said.startswith("STUDYBOT_HTTP_PORT: ")
