"""What C libraries print on descriptor 2 is passed on, but a line repeated in a loop is counted.

PortAudio 19.6's ALSA thread, once the sound server went away under a stream, can print the same
error without end (77 GB in one run on this machine). Making PortAudio loop on cue is not
possible here, so the loop is played by a stand-in writer (named so below): a thread writing
the same bytes to descriptor 2 with ``os.write``, the very system call that PortAudio's
``fprintf`` ends in.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from app.native_stderr import REPEATS_SHOWN, RUNAWAY_REPEATS, RepeatFilter

PORTAUDIO_LINE = (
    b"Expression 'self->capture.ready || self->playback.ready' failed in "
    b"'src/hostapi/alsa/pa_linux_alsa.c', line: 3958\n"
)


def _run(script: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, timeout=120, check=False
    )


def test_a_line_printed_in_a_loop_reaches_stderr_a_few_times_and_a_count() -> None:
    repeats = 200_000  # about 24 MB unfiltered
    proc = _run(
        f"""
        import logging, os, sys, threading
        from app.std_streams import keep_stderr_from_redirects
        from app.native_stderr import runaway_seen
        from app.commands.run import guard_stderr  # what `holdtype run` starts with
        keep_stderr_from_redirects()
        logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(message)s")
        guard_stderr()
        os.write(2, b"ALSA lib: a first message\\n")
        line = {PORTAUDIO_LINE!r}

        def stand_in_portaudio_loop():  # the fake: PortAudio cannot be made to loop on cue
            for _ in range({repeats}):
                os.write(2, line)

        writer = threading.Thread(target=stand_in_portaudio_loop)
        writer.start()
        writer.join()
        os.write(2, b"Qt: another message\\n")
        print("seen", runaway_seen("pa_linux_alsa"), runaway_seen("Qt"))
        logging.error("python's own stderr")
        """
    )
    err = proc.stderr
    assert proc.returncode == 0, err[-2000:]
    assert len(err) < 10_000, f"{len(err)} bytes reached stderr"
    assert err.splitlines(keepends=True).count(PORTAUDIO_LINE) == REPEATS_SHOWN
    assert f"(the line above was repeated {repeats - REPEATS_SHOWN} more times)".encode() in err
    # other lines are passed on, in order around the loop
    assert err.index(b"ALSA lib: a first message") < err.index(PORTAUDIO_LINE)
    assert err.index(b"repeated") < err.index(b"Qt: another message")
    # told once; Python's own lines do not go through the filter
    assert err.count(b"the same line over and over (shown 3 times, then counted): Expression") == 1
    assert b"python's own stderr" in err
    assert proc.stdout.split() == [b"seen", b"True", b"False"]


def test_a_crash_still_prints_its_traceback() -> None:
    """A crash (a segmentation fault, made on purpose by CPython's own fault helper: the
    stand-in for a C library crashing) prints its Python traceback on the real standard error,
    past the filter: the filter's thread dies with the process, so what a crash wrote into its
    pipe could be lost. Before, a crash printed no traceback at all."""
    proc = _run(
        """
        import faulthandler
        from app.std_streams import keep_stderr_from_redirects
        from app.commands.run import guard_stderr
        keep_stderr_from_redirects()
        guard_stderr()

        def dictating():
            faulthandler._sigsegv()  # the stand-in crash

        dictating()
        """
    )
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode != 0
    assert "Fatal Python error: Segmentation fault" in err, err
    assert "in dictating" in err


def test_a_line_that_keeps_repeating_is_counted_every_minute() -> None:
    now = [0.0]
    lines = RepeatFilter(clock=lambda: now[0])
    shown = [lines.feed(b"x\n") for _ in range(REPEATS_SHOWN + 10)]
    assert shown.count(b"x\n") == REPEATS_SHOWN and shown[-1] == b""
    now[0] = 61.0
    assert lines.feed(b"x\n") == b"(the line above was repeated 11 more times so far)\n"
    assert lines.feed(b"x\n") == b""  # the next count comes a minute later
    assert lines.flush() == b"(the line above was repeated 1 more time)\n"
    assert lines.flush() == b""


def test_runaway_is_flagged_once_per_line() -> None:
    lines = RepeatFilter(clock=lambda: 0.0)
    flagged = []
    for _ in range(RUNAWAY_REPEATS * 2 + 1):
        lines.feed(b"y\n")
        if lines.runaway is not None:
            flagged.append(lines.runaway)
            lines.runaway = None
    assert flagged == [b"y\n"]
