"""One dictation loop per user and Holdtype home, and per user and desktop session: two would
each hear the hotkey and paste every dictation twice.

The tray app and ``holdtype run --no-tray`` both take an exclusive lock on
``<data>/instance.lock`` before they start listening, and write their pid and kind into it, so
the one that loses can say who holds it. A Holdtype started with another ``HOLDTYPE_HOME`` has
another data folder, so each also locks the desktop it listens on, in the user's private
run-time folder (:func:`app.paths.private_runtime_dir`): a lock named for the X display
(``:0`` and ``:0.0`` are one) and one for the Wayland display, each that is set (a Wayland
session with XWayland has both), and on macOS and Windows one for the user's session. Such a
lock holds the pid, kind and home, so the loser can say which other home runs there. A process with
no display at all (an SSH login) takes only the home's lock. The operating system drops the
locks when their process ends, however it ends, so a crash leaves nothing stale behind. (The
tray's local socket is a different thing: it lets a second tray start hand over to the first
one and show its window.)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from app.errors import HoldtypeError
from app.paths import HOME_ENV, ensure_dir, get_paths, lock_within, open_lock_file, private_runtime_dir

log = logging.getLogger(__name__)

KINDS = {"tray": "the tray app", "headless": "`holdtype run --no-tray`"}

#: The least time a start that got its home's lock waits for the desktop's: a holder that is
#: shutting down lets go of both a moment apart.
DESKTOP_GRACE_S = 1.0


class AlreadyRunning(HoldtypeError):
    """Another Holdtype holds the instance lock; ``pid`` and ``kind`` say which, when known.

    ``home`` is set when it is another Holdtype home's loop on the same ``desktop`` (the
    display's name, or "this session")."""

    def __init__(
        self, pid: int | None, kind: str | None, home: str | None = None, desktop: str | None = None
    ) -> None:
        self.pid = pid
        self.kind = kind
        self.home = home
        self.desktop = desktop
        self.who = KINDS.get(kind or "", "another Holdtype") + (f" (pid {pid})" if pid else "")
        if home:
            self.who += f" of the Holdtype home {home}"
        ways = {"tray": "its tray menu's Quit", "headless": "Ctrl-C in its terminal"}
        how = [ways[kind]] if kind in ways else []
        how.append(f"kill {pid}" if pid else "end its process")
        where = f" on this desktop ({desktop})" if desktop else ""
        super().__init__(
            f"Holdtype is already running{where}: {self.who}. Two would paste every dictation "
            f"twice; quit that one first ({', or '.join(how)})"
        )


@dataclass
class InstanceLock:
    """The held lock; keep it for as long as the dictation loop runs, then :meth:`release`."""

    path: Path
    _file: IO[str]
    _desktop_files: list[IO[str]] = field(default_factory=list)

    def release(self) -> None:
        """Let another instance start (also happens when the process ends)."""
        # the desktop's first: a start of this home waiting for both finds it free
        for handle in [*self._desktop_files, self._file]:
            with contextlib.suppress(OSError):
                handle.close()


def claim(
    kind: str,
    path: Path | None = None,
    wait_s: float = 0.0,
    waiting: Callable[[AlreadyRunning], None] | None = None,
) -> InstanceLock:
    """Take the instance lock for ``kind`` ("tray" or "headless"), then the lock of each
    desktop it listens on (:func:`desktops`), or raise :class:`AlreadyRunning`.

    ``wait_s`` gives a holder that is shutting down (finishing the recording it had) that long
    to let go; ``waiting`` is told once, as soon as a lock is found taken.
    """
    deadline = time.monotonic() + wait_s
    told: list[bool] = []

    def tell(other: Callable[[], AlreadyRunning]) -> Callable[[], None] | None:
        if waiting is None:
            return None

        def once() -> None:
            if not told:
                told.append(True)
                waiting(other())

        return once

    home = _home_name(path)
    path = path or get_paths().data_dir / "instance.lock"
    ensure_dir(path.parent, private=True)  # the data folder: history, log, recordings
    handle = open_lock_file(path)
    taken = lock_within(handle, wait_s, waiting=tell(lambda: AlreadyRunning(*_read_holder(handle)[:2])))
    if taken is None:  # a filesystem without locks (some network mounts): no guard
        log.warning("cannot lock %s; not checking for a second Holdtype", path)
    elif not taken:
        refusal = AlreadyRunning(*_read_holder(handle)[:2])
        handle.close()
        raise refusal
    _write_holder(handle, f"{os.getpid()} {kind}")
    lock = InstanceLock(path, handle)
    try:
        for desktop, name in desktops():
            left = max(deadline - time.monotonic(), min(wait_s, DESKTOP_GRACE_S))
            desktop_handle = _claim_desktop(name, desktop, kind, home, left, tell)
            if desktop_handle is not None:
                lock._desktop_files.append(desktop_handle)
    except BaseException:
        lock.release()
        raise
    return lock


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


def desktops(env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """The desktop sessions a dictation loop started with ``env`` (default: this process's)
    hears keys on and pastes into, as (name for people, lock file name) pairs; none without
    a display."""
    env = os.environ if env is None else env
    if sys.platform == "darwin":  # one session per user at a time
        return [("this session", "session.lock")]
    if sys.platform == "win32":  # pragma: no cover - not run on Linux
        number = _windows_session()
        return [("this session", f"session-{number}.lock" if number else "session.lock")]
    found = []
    wayland = env.get("WAYLAND_DISPLAY")
    if wayland:  # a socket name in XDG_RUNTIME_DIR, or a path
        socket = os.path.join(env.get("XDG_RUNTIME_DIR", ""), wayland)
        found.append((wayland, _lock_name("wayland", socket)))
    display = x_display(env.get("DISPLAY", ""))
    if display:
        found.append((display, _lock_name("x11", display)))
    return found


def x_display(value: str) -> str:
    """The X display ``value`` (``$DISPLAY``) names, without its screen number: the keys and
    the clipboard are the display's, not a screen's.

    >>> x_display(":0.0"), x_display("unix:0"), x_display("localhost:10.0"), x_display("")
    (':0', ':0', 'localhost:10', '')
    """
    host, colon, rest = value.strip().rpartition(":")
    number = rest.split(".", 1)[0]
    if not colon or not number.isdigit():
        return value.strip()  # not in the usual form: taken as it is
    if host == "unix":  # the local socket, as ":0" is
        host = ""
    return f"{host}:{number}"


def _lock_name(kind: str, key: str) -> str:
    """A file name for the lock of desktop ``key``: readable, and exact through a digest."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(key).name if kind == "wayland" else key)
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{kind}-{readable.strip('_')[:40]}-{digest}.lock"


def _windows_session() -> str:  # pragma: no cover - not run on Linux
    """This process's Windows session id (a user signed in twice, over Remote Desktop, has
    two); empty when it cannot be asked."""
    try:
        import ctypes
        from ctypes import wintypes

        number = wintypes.DWORD()
        kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
        if kernel32.ProcessIdToSessionId(os.getpid(), ctypes.byref(number)):
            return str(number.value)
    except (OSError, AttributeError):
        pass
    return ""


def _claim_desktop(
    name: str,
    desktop: str,
    kind: str,
    home: str,
    wait_s: float,
    tell: Callable[[Callable[[], AlreadyRunning]], Callable[[], None] | None],
) -> IO[str] | None:
    """Take the lock of ``desktop`` (its file ``name``) within ``wait_s``; None when it cannot
    be had for want of a private folder or of file locks (said in the log: the home's lock
    still guards). Raises :class:`AlreadyRunning`, naming the holder's home when it differs."""
    try:
        path = private_runtime_dir() / name
        handle = open_lock_file(path)
    except (HoldtypeError, OSError) as exc:
        log.warning(
            "cannot lock the desktop %s (%s); not checking for another Holdtype home there", desktop, exc
        )
        return None

    def refusal() -> AlreadyRunning:
        pid, holder_kind, holder_home = _read_holder(handle)
        return AlreadyRunning(pid, holder_kind, holder_home if holder_home != home else None, desktop)

    taken = lock_within(handle, wait_s, waiting=tell(refusal))
    if taken is None:
        log.warning("cannot lock %s; not checking for another Holdtype home on %s", path, desktop)
        handle.close()
        return None
    if not taken:
        other = refusal()
        handle.close()
        raise other
    _write_holder(handle, f"{os.getpid()} {kind} {home}")
    return handle


def _home_name(path: Path | None) -> str:
    """How the home whose lock is ``path`` (default: this process's) is named to a Holdtype of
    another home: ``HOLDTYPE_HOME`` as set, else the data folder."""
    if path is not None:
        return str(path.parent)
    home = os.environ.get(HOME_ENV)
    return str(Path(home).expanduser().resolve()) if home else str(get_paths().data_dir)


def _write_holder(handle: IO[str], line: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(line.replace("\n", " ") + "\n")
    handle.flush()


def _read_holder(handle: IO[str]) -> tuple[int | None, str | None, str | None]:
    """The pid, kind and home the holder wrote, as far as they can be read."""
    try:
        handle.seek(0)
        fields = handle.read(4200).rstrip("\n").split(" ", 2)
    except OSError:  # Windows refuses to read a locked region
        return None, None, None
    pid = int(fields[0]) if fields and fields[0].isdigit() else None
    kind = (fields[1] or None) if len(fields) > 1 else None
    home = (fields[2] or None) if len(fields) > 2 else None
    return pid, kind, home
