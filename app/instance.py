"""One dictation loop per user and Holdtype home: two would each hear the hotkey and paste
every dictation twice.

The tray app and ``holdtype run --no-tray`` both take an exclusive lock on
``<data>/instance.lock`` before they start listening, and write their pid and kind into it, so
the one that loses can say who holds it. The operating system drops the lock when its process
ends, however it ends, so a crash leaves nothing stale behind. (The tray's local socket is a
different thing: it lets a second tray start hand over to the first one and show its window.)
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.errors import HoldtypeError
from app.paths import ensure_dir, get_paths, lock_within

log = logging.getLogger(__name__)

KINDS = {"tray": "the tray app", "headless": "`holdtype run --no-tray`"}


class AlreadyRunning(HoldtypeError):
    """Another Holdtype holds the instance lock; ``pid`` and ``kind`` say which, when known."""

    def __init__(self, pid: int | None, kind: str | None) -> None:
        self.pid = pid
        self.kind = kind
        self.who = KINDS.get(kind or "", "another Holdtype") + (f" (pid {pid})" if pid else "")
        ways = {"tray": "its tray menu's Quit", "headless": "Ctrl-C in its terminal"}
        how = [ways[kind]] if kind in ways else []
        how.append(f"kill {pid}" if pid else "end its process")
        super().__init__(
            f"Holdtype is already running: {self.who}. Two would paste every dictation twice; "
            f"quit that one first ({', or '.join(how)})"
        )


@dataclass
class InstanceLock:
    """The held lock; keep it for as long as the dictation loop runs, then :meth:`release`."""

    path: Path
    _file: IO[str]

    def release(self) -> None:
        """Let another instance start (also happens when the process ends)."""
        with contextlib.suppress(OSError):
            self._file.close()


def claim(
    kind: str,
    path: Path | None = None,
    wait_s: float = 0.0,
    waiting: Callable[[AlreadyRunning], None] | None = None,
) -> InstanceLock:
    """Take the instance lock for ``kind`` ("tray" or "headless"), or raise :class:`AlreadyRunning`.

    ``wait_s`` gives a holder that is shutting down (finishing the recording it had) that long
    to let go; ``waiting`` is told once, as soon as the lock is found taken.
    """
    path = path or get_paths().data_dir / "instance.lock"
    ensure_dir(path.parent, private=True)  # the data folder: history, log, recordings
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    handle = os.fdopen(fd, "r+", encoding="utf-8")
    told = None if waiting is None else (lambda: waiting(AlreadyRunning(*_read_holder(handle))))
    taken = lock_within(handle, wait_s, waiting=told)
    if taken is None:  # a filesystem without locks (some network mounts): no guard
        log.warning("cannot lock %s; not checking for a second Holdtype", path)
    elif not taken:
        refusal = AlreadyRunning(*_read_holder(handle))
        handle.close()
        raise refusal
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()} {kind}\n")
    handle.flush()
    return InstanceLock(path, handle)


def held(path: Path | None = None) -> bool:
    """Whether a Holdtype holds the instance lock now: one starting up has it a few seconds
    before its control channel (``holdtype dictate``) is open."""
    path = path or get_paths().data_dir / "instance.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:  # (closing it lets go of a lock taken)
        return lock_within(handle, 0.0) is False


def _read_holder(handle: IO[str]) -> tuple[int | None, str | None]:
    """The pid and kind the holder wrote, as far as they can be read."""
    try:
        handle.seek(0)
        fields = handle.read(100).split()
    except OSError:  # Windows refuses to read a locked region
        return None, None
    pid = int(fields[0]) if fields and fields[0].isdigit() else None
    kind = fields[1] if len(fields) > 1 else None
    return pid, kind
