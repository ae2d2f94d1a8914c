"""Standard streams: for a Holdtype started without a console, and kept from C libraries.

A windowed launcher (``holdtype-tray.exe`` of a pip install or of the PyInstaller build on
Windows, the ``.app`` on macOS started from Finder) runs with ``sys.stdout``/``sys.stderr`` set
to ``None``: the first ``print``, click message or log line to them would raise. Holdtype's own
log file (``holdtype.log``) records everything either way.
"""

from __future__ import annotations

import io
import os
import sys


def ensure_std_streams() -> None:
    """Point each missing standard stream (``None``) at the null device; leave real ones be.

    >>> ensure_std_streams()
    >>> sys.stdout is not None and sys.stderr is not None and sys.stdin is not None
    True
    """
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the app
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115


def replace_unencodable_output() -> None:
    """Have stdout and stderr write "?" for a character their encoding lacks, when it is not a
    UTF: piped on Windows, Python's streams take the ANSI code page (cp1252) strictly, and a
    microphone, term or file name outside it ("ü名前.wav") ended the command with a
    UnicodeEncodeError traceback."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower()
        if "utf" not in encoding and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def keep_stderr_from_redirects() -> None:
    """Write Python's stderr through a copy of file descriptor 2, so that a C library pointing
    descriptor 2 elsewhere for a while cannot swallow Holdtype's lines.

    sounddevice silences PortAudio's start-up (ALSA's noise) by pointing descriptor 2 at the
    null device while ``Pa_Initialize`` runs: about 20 ms with no sound server, and until it
    answers with a stalled one. Holdtype re-reads the device list that way (a microphone
    plugged in later), so a line another thread logged meanwhile was lost: the headless app's
    "ready:", or its "the sound server has not answered". Only a stream that writes to
    descriptor 2 itself is replaced, not a capture of it (pytest's, click's test runner's).
    """
    stream = sys.stderr
    try:
        if stream is None or stream.fileno() != 2:
            return
    except (AttributeError, OSError, ValueError):  # a stream with no descriptor
        return
    stream.flush()
    sys.stderr = io.TextIOWrapper(
        io.FileIO(os.dup(2), "w"),
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=True,
        write_through=True,
    )


def stdout_reader_gone() -> bool:
    """Whether standard output is a pipe (or socket) whose reader has closed it: ``holdtype
    history list | head -1`` once ``head`` has its line. A :class:`BrokenPipeError` is then
    no failure of the command's; one of a socket or a helper's pipe is. Where this cannot be
    told (no ``poll``: Windows), a broken pipe is taken to be standard output's."""
    import select

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a stream with no descriptor (a capture)
        return False
    if not hasattr(select, "poll"):
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def let_stdout_go() -> None:
    """Point standard output's descriptor at the null device, as Python's documentation of
    SIGPIPE advises: what is still buffered for a reader that is gone would otherwise raise
    BrokenPipeError once more as Python flushes it at exit ("Exception ignored", exit 120)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
