"""Sends in flight, kept apart from the job that started them, so that a shutdown lets them land.

Cancelling a job (SIGTERM) used to cut its sends off mid-request: the platform had often received them
already, but the database still said `sending` (a broadcast recipient) and they went out again after the
restart. A job runs each send, together with the recording of its outcome, through `InFlight.run`.
Cancelling the job then stops it from starting new sends, while the ones in flight go on; `drain` waits
for those a few seconds at most and only then cuts off whatever is still running (a hanging API).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

__all__ = ["DRAIN_SECONDS", "InFlight"]

T = TypeVar("T")

#: How long a shutdown waits for the sends in flight before cancelling them.
DRAIN_SECONDS = 5.0


class InFlight:
    """The sends a job has in flight; each outlives a cancelled caller until `drain` ends it."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` (a send and the bookkeeping of its outcome); cancelling the caller does not cut it."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        # The caller may have been cancelled meanwhile: nobody else would retrieve the error.
        if not task.cancelled() and task.exception() is not None:
            logger.debug("a send finished with an error after its job stopped", exc_info=task.exception())

    async def drain(self, timeout: float = DRAIN_SECONDS) -> int:
        """Wait up to `timeout` seconds for the sends in flight, then cancel the rest; return how many."""
        if not self._tasks:
            return 0
        pending: set[asyncio.Task[Any]] = set(self._tasks)
        try:
            _, pending = await asyncio.wait(pending, timeout=timeout)
        finally:
            for task in pending:
                task.cancel()
        if pending:
            logger.warning("%d sends still in flight after %.0f s were cut off", len(pending), timeout)
            await asyncio.wait(pending, timeout=1.0)
        return len(pending)
