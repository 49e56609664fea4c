"""What `/healthz` reports: each channel that is up, and the problems a running bot has right now.

The service owns one `Health` and hands it to the parts that know how they are doing: a channel registers
a check (`watch`), a cheap function of what it already knows (when getUpdates last answered, whether
setWebhook went through, when the WeCom token expires), called on each request; and a part that notices
trouble as it happens sets a problem while it lasts (the Telegram channel's 409 watch). The HTTP server
reports it and knows no channel.
"""

from __future__ import annotations

from collections.abc import Callable

#: A channel's check: (up, what to say), e.g. (True, "polling") or (False, "no getUpdates answer for 75 s").
Check = Callable[[], tuple[bool, str]]


class Health:
    """Named problems, set while they last, and named checks asked on each report."""

    def __init__(self) -> None:
        # Set and read on the event loop only (the channels and the HTTP server share it): no lock.
        self._problems: dict[str, str] = {}
        self._checks: dict[str, Check] = {}

    def set(self, name: str, reason: str) -> None:
        """`name` has a problem (replacing its earlier reason); it outweighs `name`'s check meanwhile."""
        self._problems[name] = reason

    def clear(self, name: str) -> None:
        """`name`'s problem is over (nothing happens if it had none)."""
        self._problems.pop(name, None)

    def watch(self, name: str, check: Check) -> None:
        """Ask `check` how `name` is doing on every report (replacing an earlier check of that name)."""
        self._checks[name] = check

    def report(self) -> tuple[list[str], list[str]]:
        """('name: reason' of each problem, 'name: up (detail)' of each channel that is up), by name."""
        problems = dict(self._problems)
        up = {}
        for name, check in self._checks.items():
            if name in problems:
                continue
            fine, detail = check()
            if fine:
                up[name] = f"up ({detail})"
            else:
                problems[name] = detail
        return (
            [f"{name}: {reason}" for name, reason in sorted(problems.items())],
            [f"{name}: {detail}" for name, detail in sorted(up.items())],
        )

    def problems(self) -> list[str]:
        """'name: reason' of each problem, by name."""
        return self.report()[0]

    @property
    def ok(self) -> bool:
        """No problem at all."""
        return not self.problems()
