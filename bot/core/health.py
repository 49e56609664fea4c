"""What `/healthz` reports: the problems a running bot has right now, by name, each with a short reason.

The service owns one `Health` and hands it to the parts that notice trouble (the Telegram channel's
409 watch) and to the HTTP server that reports it, so the server knows no channel.
"""

from __future__ import annotations


class Health:
    """Named problems, set while they last and cleared when they end; healthy when there are none."""

    def __init__(self) -> None:
        # Set and read on the event loop only (the channels and the HTTP server share it): no lock.
        self._problems: dict[str, str] = {}

    def set(self, name: str, reason: str) -> None:
        """`name` has a problem (replacing its earlier reason)."""
        self._problems[name] = reason

    def clear(self, name: str) -> None:
        """`name`'s problem is over (nothing happens if it had none)."""
        self._problems.pop(name, None)

    def problems(self) -> list[str]:
        """'name: reason' of each problem, by name."""
        return [f"{name}: {reason}" for name, reason in sorted(self._problems.items())]

    @property
    def ok(self) -> bool:
        """No problem at all."""
        return not self.problems()
