"""Keep a C library that prints the same error in a loop from flooding the log.

PortAudio 19.6 (Debian's and Ubuntu's ``libportaudio2``) has a loop in its ALSA capture thread
that can print ``Expression '...ready' failed`` for good, tens of megabytes a second, once the
sound server (PulseAudio, PipeWire) goes away under an open stream. A tray app's standard error
ends up in the desktop session's log (``~/.xsession-errors``) or in a terminal: the disk fills.

:func:`govern_native_stderr` points file descriptor 2, where C libraries print, at a pipe read
by a thread of its own, which passes each line on to where descriptor 2 went before, except that
a line repeated in a row is passed on :data:`REPEATS_SHOWN` times, then counted: the count is
printed when another line comes, and every :data:`SUMMARY_S` while the repeats go on. Python's
own standard error does not go through it (see :func:`app.std_streams.keep_stderr_from_redirects`).
Whoever wants to know of such a loop (the engine, to tell the user what it means) listens with
:func:`add_runaway_listener`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: How many times in a row the same line is passed on before it is only counted.
REPEATS_SHOWN = 3
#: While a line keeps repeating, how often the count so far is printed (seconds).
SUMMARY_S = 60.0
#: Repeats in a row after which the runaway listeners are told (once per run of repeats).
RUNAWAY_REPEATS = 1000
#: The longest line kept whole; a longer one is passed on in pieces.
MAX_LINE = 8192

_listeners: list[Callable[[str], None]] = []
_listeners_lock = threading.Lock()


def add_runaway_listener(listener: Callable[[str], None]) -> None:
    """Call ``listener(line)`` (on the filter's thread) for each line that repeated
    :data:`RUNAWAY_REPEATS` times in a row, once per run of repeats."""
    with _listeners_lock:
        _listeners.append(listener)


def remove_runaway_listener(listener: Callable[[str], None]) -> None:
    """Stop calling ``listener``; one that is not listening is ignored."""
    with _listeners_lock:
        if listener in _listeners:
            _listeners.remove(listener)


_seen: list[str] = []


def runaway_seen(part: str) -> bool:
    """Whether a line containing ``part`` repeated in a loop in this process."""
    with _listeners_lock:
        return any(part in line for line in _seen)


def tell_runaway(line: str) -> None:
    """Tell every listener that ``line`` repeats in a loop (a failing listener is logged)."""
    with _listeners_lock:
        _seen.append(line)
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(line)
        except Exception:
            log.exception("a runaway-output listener failed")


class RepeatFilter:
    """Decides what is passed on, line by line (no I/O of its own).

    >>> f = RepeatFilter(clock=lambda: 0.0)
    >>> [f.feed(b"a\\n") for _ in range(5)]
    [b'a\\n', b'a\\n', b'a\\n', b'', b'']
    >>> f.feed(b"b\\n")
    b'(the line above was repeated 2 more times)\\nb\\n'
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Start with no line seen; ``clock`` gives the time in seconds (for the summaries)."""
        self._clock = clock
        self._last: bytes | None = None
        self._repeats = 0  # of the last line, in a row, after its first showing
        self._hidden = 0  # of those, not passed on and not yet reported
        self._summary_at = 0.0
        self.runaway: bytes | None = None  # set (once per line) when it repeated RUNAWAY_REPEATS times

    def feed(self, line: bytes) -> bytes:
        """Return what to pass on for ``line`` (one line, with its newline): maybe nothing."""
        if line == self._last:
            self._repeats += 1
            if self._repeats < REPEATS_SHOWN:
                return line
            self._hidden += 1
            if self._repeats == RUNAWAY_REPEATS:
                self.runaway = line
            now = self._clock()
            if self._repeats == REPEATS_SHOWN:
                self._summary_at = now + SUMMARY_S
            elif now >= self._summary_at:
                self._summary_at = now + SUMMARY_S
                return self._flush(" so far")
            return b""
        out = self._flush("")
        self._last, self._repeats = line, 0
        return out + line

    def flush(self) -> bytes:
        """What is left to say (the count of lines not passed on), at the end."""
        return self._flush("")

    def _flush(self, so_far: str) -> bytes:
        if not self._hidden:
            return b""
        hidden, self._hidden = self._hidden, 0
        times = "time" if hidden == 1 else "times"
        return f"(the line above was repeated {hidden} more {times}{so_far})\n".encode()


class _Governor:
    def __init__(self, read_fd: int, out_fd: int) -> None:
        self._read_fd = read_fd
        self._out_fd = out_fd
        self._filter = RepeatFilter()
        self.thread = threading.Thread(target=self._pump, name="holdtype-native-stderr", daemon=True)

    def _pump(self) -> None:
        try:
            self._pump_lines()
        except BaseException:
            with contextlib.suppress(OSError):
                os.dup2(self._out_fd, 2)  # writers must not block on a pipe nobody reads
            raise

    def _pump_lines(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self._read_fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:  # every write end closed
                self._write(self._filter.feed(pending) if pending else b"")
                self._write(self._filter.flush())
                return
            pending += chunk
            lines = pending.split(b"\n")
            pending = lines.pop()
            if len(pending) > MAX_LINE:
                lines.append(pending)
                pending = b""
            out = b"".join(self._filter.feed(line + b"\n") for line in lines)
            self._write(out)
            runaway, self._filter.runaway = self._filter.runaway, None
            if runaway is not None:
                tell_runaway(runaway.decode(errors="replace").strip())

    def _write(self, data: bytes) -> None:
        while data:
            try:
                written = os.write(self._out_fd, data)
            except OSError:
                return  # the terminal or the log went away: nothing to do about it here
            data = data[written:]


def govern_native_stderr() -> bool:
    """Pass what C libraries print on descriptor 2 through a :class:`RepeatFilter`; a line
    repeated :data:`RUNAWAY_REPEATS` times in a row goes to the runaway listeners.

    Returns whether descriptor 2 is governed now; it is
    not on Windows, nor when descriptor 2 is closed. Should the thread fail, and at exit,
    descriptor 2 goes back to where it went before, so that nothing printed later is lost.
    Child processes inherit the pipe as their standard error, and are filtered alike.
    """
    if sys.platform == "win32":
        return False
    try:
        out_fd = os.dup(2)
    except OSError:
        return False
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    governor = _Governor(read_fd, out_fd)
    governor.thread.start()

    def restore() -> None:
        with contextlib.suppress(OSError):
            os.dup2(out_fd, 2)  # closes the pipe's last write end: the thread says what it held
        governor.thread.join(timeout=1.0)

    atexit.register(restore)
    return True
