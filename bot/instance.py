"""One `studybot run` per database: an OS lock on a sidecar file `<db>.lock`.

A second process on the same STUDYBOT_DB would take the running broadcast for a crashed one and send it
again, and poll the same token. The lock is `flock` on `<db>.lock` rather than a row in the database: the
kernel drops it when its process dies, however it dies (SIGKILL included), so a stale lock never blocks
the next start. The file's text (pid, host, start time) is only there for the message naming the holder;
the file itself is never removed, since unlinking a lock file races with a process opening it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class InstanceBusy(Exception):
    """Another process holds the database's lock; the message names it (pid and host)."""


def database_file(db_path: str) -> Path | None:
    """The real path of the database file (symlinks and relative paths resolved; an SQLite URI's path), or
    None for a database that lives in memory."""
    if db_path == ":memory:" or not db_path:
        return None
    if db_path.startswith("file:"):  # an SQLite URI: file:path?mode=...
        parts = urlsplit(db_path)
        if parse_qs(parts.query).get("mode") == ["memory"]:
            return None
        db_path = unquote(parts.path)
        if not db_path or db_path == ":memory:":
            return None
    return Path(db_path).expanduser().resolve()


def lock_path(db_path: str) -> Path | None:
    """The lock file beside the database, or None for a database that lives in memory."""
    # resolve(): a symlink or a relative path reaches the same lock as the real path.
    real = database_file(db_path)
    return None if real is None else real.with_name(real.name + ".lock")


def holder(db_path: str) -> str | None:
    """The process holding the database's lock, as `describe` names it, or None when none does.

    Found without taking the lock (`studybot check` runs beside a bot, and a lock taken even for a moment
    would turn away a `studybot run` starting then): the kernel's list of flocks (/proc/locks, Linux) is
    searched for the lock file's inode, or for the pid the file names (on overlay file systems stat's inode
    is not the kernel's); without that list, a holder named in the file that is alive on this host counts.
    """
    path = lock_path(db_path)
    if path is None:
        return None
    try:
        text = path.read_text("utf-8", "replace")
        inode = path.stat().st_ino
    except OSError:  # no lock file: no studybot ever ran on this database here
        return None
    flocks = _flocks()
    named = _named_pid(text)
    if flocks is None:  # no /proc/locks: a holder named in the file, alive on this host, counts
        held = named is not None
    else:  # the inode, or (overlay file systems: stat's inode is not the kernel's) the named pid
        held = any(inode == i or named == pid for pid, i in flocks)
    if not held:
        return None
    return describe(text) if text.strip() else "pid unknown: the lock file names none"


def _flocks() -> list[tuple[int, int]] | None:
    """(pid, inode) of every flock in /proc/locks (Linux), or None where it cannot be read."""
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = []
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146484 0 EOF"; a waiter's line has "->" after the number.
        fields = line.split()
        if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK":
            continue
        try:
            found.append((int(fields[4]), int(fields[5].rpartition(":")[2])))
        except ValueError:
            continue
    return found


def _named_pid(text: str) -> int | None:
    """The pid the lock file names, if it is a process of this host that still runs (other than this one)."""
    try:
        named = json.loads(text)
        pid, host = int(named["pid"]), named["host"]
    except (ValueError, KeyError, TypeError):
        return None
    if host != socket.gethostname() or pid == os.getpid() or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except PermissionError:
        return pid  # it runs, as another user
    except OSError:
        return None
    return pid


def describe(text: str) -> str:
    """The holder as written in the lock file: 'pid 1234 on host x, since …'."""
    try:
        holder = json.loads(text)
        return f"pid {holder['pid']} on host {holder['host']}, since {holder['started']}"
    except (ValueError, KeyError, TypeError):
        return "pid unknown: the lock file names none"


class InstanceLock:
    """Held from `acquire()` until `release()` or the end of the process."""

    def __init__(self, db_path: str):
        self.path = lock_path(db_path)
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise InstanceBusy at once (never waits); OSError if the file can't be made."""
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)  # as Storage does for the database
        except FileExistsError:
            pass  # a file where the folder should be: os.open below says "Not a directory"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = _read(fd)
            os.close(fd)
            raise InstanceBusy(describe(text)) from None
        except BaseException:
            os.close(fd)
            raise
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        self.fd = fd

    def release(self) -> None:
        """Let the next process in; the file stays, emptied, so it names nobody."""
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
        finally:
            os.close(self.fd)  # closing the last descriptor of the file drops the flock
            self.fd = None


def _read(fd: int) -> str:
    # The holder writes its line right after taking the lock: give a process that has just started a
    # moment to do so, rather than naming nobody.
    for _ in range(5):
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        if text.strip():
            return text
        time.sleep(0.02)
    return ""
