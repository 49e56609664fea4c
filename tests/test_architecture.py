"""The rule of the house (ARCHITECTURE.md), read from the code's own imports: every import points down
the chain content ← core ← jobs ← channels ← entry, channels never import one another, and the core and
the jobs hold no platform.

Every import is counted, at module level or inside a function, under TYPE_CHECKING or not.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("content", "bot", "jobs")

# Lowest first. A module's layer is the longest prefix listed here.
LAYERS = {
    "content": 0,
    "bot.core": 1,
    "jobs": 2,
    "bot.channels": 3,
    "bot": 4,  # the entry: bot.cli, bot.service, bot.startup, bot.outline
}
LAYER_NAMES = {0: "content", 1: "core", 2: "jobs", 3: "channels", 4: "entry"}

# Inside the core: settings, time rules, the streak rule, rendering, health, faults, spreadsheet cells,
# question banks, uploaded documents and charts at the bottom, then storage, then the export and the catalog
# of courses' models, then the actions.
CORE_ORDER = {"bot.core.config": 0, "bot.core.schedule": 0, "bot.core.streaks": 0, "bot.core.render": 0,
              "bot.core.health": 0, "bot.core.metrics": 0, "bot.core.faults": 0, "bot.core.sheets": 0,
              "bot.core.bank": 0, "bot.core.documents": 0, "bot.core.charts": 0, "bot.core.storage": 1,
              "bot.core.export": 2,
              "bot.core.catalog": 2, "bot.core.actions": 3}  # fmt: skip

# Platform libraries: only the channels and the entry may import them.
PLATFORMS = ("telegram", "aiohttp", "httpx", "cryptography", "defusedxml")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            # `from bot.core import schedule` imports the module bot.core.schedule.
            out.extend(
                (node.lineno, f"{target}.{alias.name}")
                for alias in node.names
                if f"{target}.{alias.name}" in MODULES
            )
    return out


def _prefix(name: str, table: dict[str, int]) -> str | None:
    best = None
    for prefix in table:
        if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def _layer(name: str) -> int | None:
    prefix = _prefix(name, LAYERS)
    return None if prefix is None else LAYERS[prefix]


def _channel(name: str) -> str | None:
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["bot", "channels"] else None


def _violations(name: str, path: Path) -> list[str]:
    mine = _layer(name)
    problems = []
    for line, target in _imports(name, path):
        where = f"{name}:{line} imports {target}"
        top = target.split(".")[0]
        if top in PLATFORMS and mine is not None and mine < LAYERS["bot.channels"]:
            problems.append(f"{where}: {LAYER_NAMES[mine]} holds no platform")
            continue
        theirs = _layer(target)
        if theirs is None or mine is None:
            continue
        if theirs > mine:
            problems.append(f"{where}: {LAYER_NAMES[mine]} may not import {LAYER_NAMES[theirs]}")
        elif mine == theirs == LAYERS["bot.channels"] and _channel(target) not in (None, _channel(name)):
            problems.append(f"{where}: one channel may not import another")
        elif mine == theirs == LAYERS["bot.core"]:
            a, b = _prefix(name, CORE_ORDER), _prefix(target, CORE_ORDER)
            if a and b and CORE_ORDER[b] > CORE_ORDER[a]:
                problems.append(f"{where}: inside the core, {a} may not import {b}")
    return problems


def test_the_packages_are_found():
    assert {"content.model", "bot.core.actions", "jobs.daily", "bot.channels.console", "bot.cli"} <= set(
        MODULES
    )


def test_every_import_points_down_the_chain():
    problems = [p for name, path in sorted(MODULES.items()) for p in _violations(name, path)]
    assert problems == []


@pytest.mark.parametrize(
    "source, target, expected",
    [
        ("bot.core.actions.study", "jobs.daily", "core may not import jobs"),
        ("bot.core.render", "bot.channels.wecom.api", "core may not import channels"),
        ("bot.channels.console", "bot.startup", "channels may not import entry"),
        ("bot.channels.wecom.channel", "bot.channels.http", "one channel may not import another"),
        ("bot.core.storage.chats", "bot.core.actions", "inside the core"),
        ("content.model", "telegram", "content holds no platform"),
        ("jobs.broadcast", "aiohttp", "jobs holds no platform"),
    ],
)
def test_the_rule_catches_what_it_is_for(tmp_path, source, target, expected):
    path = tmp_path / "probe.py"
    path.write_text(f"def f():\n    import {target}\n", encoding="utf-8")
    problems = _violations(source, path)
    assert len(problems) == 1 and expected in problems[0], problems


def test_jobs_import_nothing_of_bot():
    # The chain would let jobs import the core below them; they get it through jobs/interfaces.py instead,
    # so that the core's storage and actions can change without touching the scheduled work.
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for name, path in MODULES.items()
        if name.startswith("jobs")
        for line, target in _imports(name, path)
        if target.split(".")[0] == "bot"
    ]
    assert found == []


def _members(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(value.fget if isinstance(value, property) else value)
        for name, value in vars(protocol).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    }


def _conforms(protocol: type, implementation: object) -> list[str]:
    """Where `implementation` differs from `protocol`: a missing member, or parameters named otherwise."""
    problems = []
    for name, wanted in _members(protocol).items():
        found = inspect.getattr_static(implementation, name, None)
        if found is None:
            problems.append(f"{name}: missing")
            continue
        if isinstance(found, property):
            continue
        if isinstance(found, staticmethod | classmethod):
            found = found.__func__
        have = inspect.signature(found)
        want_params = [p for p in wanted.parameters if p != "self"]
        have_params = [p for p in have.parameters if p != "self"]
        # The implementation may take more (optional) parameters, never fewer or others.
        if have_params[: len(want_params)] != want_params:
            problems.append(f"{name}{have} does not take {want_params}")
        if inspect.iscoroutinefunction(found) != inspect.iscoroutinefunction(getattr(protocol, name)):
            problems.append(f"{name}: async in one, not in the other")
    return problems


def _implementations():
    from bot.channels.console import ConsoleSender
    from bot.channels.telegram import TelegramSender
    from bot.channels.wecom.channel import RobotSender, WeComAppSender
    from bot.core import schedule
    from bot.core.actions import Actions, BroadcastMessages
    from bot.core.storage import Storage
    from jobs import interfaces

    return [
        (interfaces.DeliveryStore, Storage),
        (interfaces.BroadcastStore, Storage),
        (interfaces.Lessons, Actions),
        (interfaces.BroadcastMessages, BroadcastMessages),
        (interfaces.Calendar, schedule),
        (interfaces.ReminderStore, Storage),
        (interfaces.ReminderMessages, Actions),
        (interfaces.ReminderCalendar, schedule),
        *(
            (interfaces.Sender, sender)
            for sender in (TelegramSender, RobotSender, WeComAppSender, ConsoleSender)
        ),
    ]


@pytest.mark.parametrize(
    "protocol, implementation", _implementations(), ids=lambda x: getattr(x, "__name__", "")
)
def test_what_the_service_hands_the_jobs_is_what_they_ask_for(protocol, implementation):
    assert _conforms(protocol, implementation) == []


def test_the_conformance_check_catches_a_wrong_store():
    from jobs import interfaces

    class Wrong:
        def due_chats(self, now, limit): ...

        async def get_chat(self, key): ...

    problems = _conforms(interfaces.DeliveryStore, Wrong)
    assert problems[:2] == [
        "due_chats(self, now, limit) does not take ['now_epoch', 'limit', 'channels']",
        "get_chat: async in one, not in the other",
    ]
    assert "claim_delivery: missing" in problems
