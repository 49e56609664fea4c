"""What a failure while handling a message becomes: the user's reply, the log line, the admins' notice.

Every channel hands what its handler raised to `Faults.reply` (and the service hands the jobs' failures to
`Faults.report`), so one place decides. A full disk (SQLite's SQLITE_FULL, "database or disk is full", or
ENOSPC) is said plainly: the bot cannot save now. It is logged once a minute with a count of the failures
since, not a traceback per message, and the bot admins are told at most once an hour. Anything else is
logged with its traceback and answered with the usual apology.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
import time
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)

SQLITE_FULL = 13  # the primary result code; extended codes keep it in their low byte

SORRY = "😥 抱歉，处理时出了点问题，请稍后再试。"
DISK_FULL = "⚠️ 服务器存储空间已满，暂时无法保存，请稍后再试。"
ADMINS_TOLD = "管理员已收到通知。"
ADMIN_NOTICE = (
    "⚠️ 服务器存储空间已满：数据库无法写入（database or disk is full）。\n"
    "查阅照常可用；需要保存的操作会请用户稍后再试。请尽快清理磁盘空间，恢复后无需重启。"
)

#: At most one log line per this many seconds while the disk is full.
LOG_EVERY = 60.0
#: At most one notice to the admins per this many seconds.
NOTIFY_EVERY = 3600.0


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether exc (or what caused it) is a write refused for want of space."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.OperationalError):
            code = getattr(exc, "sqlite_errorcode", None)
            if (code is not None and code & 0xFF == SQLITE_FULL) or "database or disk is full" in str(exc):
                return True
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class Faults:
    """The reply to a failed message, rate-limited logging of a full disk, and the admins' notice.

    `clock` gives seconds (the service passes its wall clock, so tests move it); `notify`, if set, sends a
    text to the bot admins (the service sets it when Telegram and STUDYBOT_ADMINS are configured).
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        notify: Callable[[str], Coroutine[Any, Any, None]] | None = None,
    ):
        self.clock = clock
        self.notify = notify
        self._logged_at: float | None = None
        self._unlogged = 0  # full-disk failures since the last log line
        self._notified_at: float | None = None
        self._tasks: set[asyncio.Task] = set()

    def reply(self, exc: BaseException | None, where: str) -> str:
        """What to tell the user whose message (handled by `where`) raised exc; logs and notifies."""
        if self.report(exc, where):
            return DISK_FULL + (ADMINS_TOLD if self.notify is not None else "")
        return SORRY

    def report(self, exc: BaseException | None, where: str) -> bool:
        """Log a failure of `where` (a full disk at most once a minute) and tell the admins of a full disk
        (at most once an hour); True if it was a full disk."""
        if not is_disk_full(exc):
            logger.error("error in %s", where, exc_info=exc)
            return False
        now = self.clock()
        if self._due(self._logged_at, now, LOG_EVERY):
            if self._unlogged:
                logger.error(
                    "database or disk is full: %d more writes failed in %.0f s (latest in %s)",
                    self._unlogged + 1, now - self._logged_at, where,
                )  # fmt: skip
            else:
                logger.error(
                    "database or disk is full (%s in %s): writes fail and users are asked to try later, "
                    "reads go on; logged at most once a minute until space is freed",
                    type(exc).__name__, where,
                )  # fmt: skip
            self._logged_at, self._unlogged = now, 0
        else:
            self._unlogged += 1
        if self.notify is not None and self._due(self._notified_at, now, NOTIFY_EVERY):
            self._notified_at = now
            self._tell_admins(ADMIN_NOTICE)
        return True

    @staticmethod
    def _due(last: float | None, now: float, every: float) -> bool:
        # A clock that went back (the wall clock stepped) counts as due rather than silencing for long.
        return last is None or now - last >= every or now < last

    def _tell_admins(self, text: str) -> None:
        """Send the notice in the background: the user's reply must not wait for the admins'."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside the event loop: nothing to send it with
            logger.warning("could not tell the admins: no event loop")
            return
        task = loop.create_task(self.notify(text))  # type: ignore[misc]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
