"""``holdtype run``: the dictation loop, as the tray app or headless (``--no-tray``).

Headless, every engine event is one log line on stderr; Ctrl-C, SIGTERM or SIGHUP (its
terminal closed) shuts down cleanly (a recording in progress is transcribed and kept in history
first, not pasted).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

import click

from app import events as ev
from app import logs
from app.commands._common import load
from app.config import Settings
from app.engine_control import NO_HOTKEY_HINT
from app.errors import HoldtypeError
from app.hotkey.darwin_layout import prepare_keyboard_layout
from app.hotkey.gesture import mode_for_key
from app.settings_watch import POLL_INTERVAL_S, SettingsFileWatch

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from app.control import ControlServer
    from app.engine import Engine


# A partial line shows at most this much of the text committed so far: the words grow all
# through a hold, and a five-minute hold printed about 0.4 MB of log when each line repeated
# everything. The result line has the whole text.
PARTIAL_TAIL_CHARS = 100


def tail(text: str, limit: int = PARTIAL_TAIL_CHARS) -> str:
    """The end of ``text``, about ``limit`` characters from a word's start, after "…"."""
    if len(text) <= limit:
        return text
    end = text[-limit:]
    space = end.find(" ")
    return "…" + (end[space + 1 :] if 0 <= space < len(end) - 1 else end)


def shown(event: ev.EngineEvent) -> bool:
    """Whether ``event`` is worth a line: a partial with no words yet (a silent hold printed
    ``partial #7: []`` each second) is not."""
    return not isinstance(event, ev.PartialText) or bool((event.committed + event.tentative).strip())


def describe(event: ev.EngineEvent) -> str:
    """Render an engine event as one human-readable log line."""
    if isinstance(event, ev.EngineReady):
        count = len(event.problems)  # each was logged as an error line when it happened
        extra = f"; {count} problem{'s' if count > 1 else ''} (above)" if count else ""
        return (
            f"ready: model {event.model} on {event.device} (loaded in {event.load_ms:.0f} ms), "
            f"hotkey {event.hotkey}{extra}"
        )
    if isinstance(event, ev.ModelLoading):
        return f"loading model {event.model}"
    if isinstance(event, ev.StateChanged):
        mode = f", mode {event.mode}" if event.mode else ""
        return f"state: {event.state.value} (#{event.generation}{mode})"
    if isinstance(event, ev.PartialText):
        said = " ".join(part for part in (tail(event.committed), f"[{event.tentative}]") if part)
        return f"partial #{event.generation}: {said}"
    if isinstance(event, ev.UtteranceResult):
        timing = (
            f" in {event.release_to_text_ms:.0f} ms after release"
            if event.release_to_text_ms is not None and event.outcome != ev.Outcome.CANCELLED
            else ""
        )
        error = f" error: {event.error}" if event.error else ""
        number = f" #{event.generation}" if event.generation else ""  # (0: a recording read again)
        kept = "not in history" if event.history_id is None else f"history {event.history_id}"
        return (
            f"result{number} ({event.outcome.value}, mode {event.mode}, "
            f"{event.audio_seconds:.1f} s audio{timing}, {kept}): "
            f"{event.text!r}{error}"
        )
    if isinstance(event, ev.ErrorRaised):
        return f"error ({event.source}): {event.message}"
    if isinstance(event, ev.Notice):
        return f"notice ({event.source}): {event.shown}"  # the terminal shows results too
    return repr(event)


# A second start waits this long for a running loop to exit (one stopped a moment ago may still
# be finishing the recording it had) before it gives up.
CLAIM_WAIT_S = 10.0


def run_headless() -> int:
    """Run the engine without any UI until SIGINT/SIGTERM; return the exit code."""
    from app.engine import Engine
    from app.instance import AlreadyRunning, claim

    loaded = load()
    settings = loaded.settings

    def waiting(other: AlreadyRunning) -> None:
        _say(f"holdtype: {other.who} is running; waiting up to {CLAIM_WAIT_S:.0f} s for it to exit")

    instance = claim("headless", wait_s=CLAIM_WAIT_S, waiting=waiting)  # else one error line
    logs.follow_setting(settings.ui.log_level)
    engine = Engine(settings)
    stop = threading.Event()

    def log_event(event: ev.EngineEvent) -> None:
        if isinstance(event, ev.LevelChanged) or not shown(event):
            return  # (levels: 20 lines a second would drown the log)
        _say(f"holdtype: {describe(event)}")
        if isinstance(event, ev.ErrorRaised) and event.source == "hotkey":
            _say(f"holdtype: {NO_HOTKEY_HINT}")

    engine.subscribe(log_event)

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():  # pressed again while a dictation is finished: say what is going on
            _say("holdtype: still finishing the dictation in progress; it is kept in history")
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if hasattr(signal, "SIGHUP"):  # its terminal closed: shut down as cleanly as for Ctrl-C
        signal.signal(signal.SIGHUP, on_signal)
    _say(
        f"holdtype: starting (hotkey {settings.hotkey.key}, "
        f"{mode_for_key(settings.hotkey.key, settings.hotkey.mode)} mode, "
        f"model {settings.model.name}, mode {settings.modes.active}); Ctrl-C to quit"
    )
    prepare_keyboard_layout()  # macOS: pynput's layout read on this, the main, thread
    engine.start()
    control = serve_control(engine)
    watch = SettingsFileWatch(loaded.path)
    while not stop.wait(POLL_INTERVAL_S):
        settings = _follow_settings_file(watch, engine, settings)
    if engine.state == ev.State.IDLE:
        _say("holdtype: shutting down")
    else:  # (Ctrl-C again got no answer for the seconds a long transcription takes)
        _say(
            f"holdtype: shutting down once the dictation in progress ({engine.state.value}) is "
            "transcribed and kept in history (not pasted); this can take a few seconds"
        )
    if control is not None:
        control.close()
    engine.shutdown()
    instance.release()
    _say("holdtype: stopped")
    return 0


def _say(line: str) -> None:
    """Print ``line`` on stderr. A terminal or pipe gone (Ctrl-C stops a `| tee` too) is not
    told: the shutdown it would have cut short keeps the recording in progress."""
    with contextlib.suppress(OSError, ValueError):
        click.echo(line, err=True)


def serve_control(engine: Engine) -> ControlServer | None:
    """Open the control channel (``holdtype dictate …``) for ``engine``; None, with the reason
    on stderr, when it cannot be opened (the hotkey still works)."""
    from app.engine_control import serve

    try:
        return serve(engine)
    except HoldtypeError as exc:
        _say(f"holdtype: error (control): {exc}; `holdtype dictate` cannot reach this one")
        return None


def _follow_settings_file(watch: SettingsFileWatch, engine: Engine, settings: Settings) -> Settings:
    """Apply the settings file if another process changed it (``holdtype vocab add``, an
    editor); return the settings in use. A file changed into something broken is reported
    and left alone."""
    found = watch.poll(settings)
    if isinstance(found, HoldtypeError):
        _say(f"holdtype: error (settings): {found}; the settings in use stay")
        return settings
    if found is None:
        return settings
    # Said before it is applied: the engine's "Settings applied." (or what could not be) follows.
    _say(f"holdtype: settings: {watch.path} changed")
    engine.apply_settings(found)
    logs.follow_setting(found.ui.log_level)
    return found


def _has_gui() -> bool:
    """Whether Qt can open windows here (always on Windows/macOS; on Linux a display is needed)."""
    if not sys.platform.startswith("linux"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal", "vnc")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def guard_stderr() -> None:
    """Set up standard error for a long run: a C library's error loop must not fill the disk
    (:mod:`app.native_stderr`), and a crash still prints its Python traceback, on the real
    standard error, past that filter (the filter's thread dies with the process)."""
    import faulthandler

    from app.native_stderr import add_runaway_listener, govern_native_stderr

    with contextlib.suppress(AttributeError, OSError, ValueError):  # a stream with no descriptor
        faulthandler.enable(file=sys.stderr)
    add_runaway_listener(_native_runaway)
    govern_native_stderr()


def _native_runaway(line: str) -> None:
    """Log once that a C library prints the same line in a loop (see :mod:`app.native_stderr`;
    the engine tells the user what PortAudio's loop means)."""
    log.warning("a library prints the same line over and over (shown 3 times, then counted): %s", line)


@click.command()
@click.option("--no-tray", is_flag=True, help="Run headless: no tray icon or windows; log events.")
def run(no_tray: bool) -> None:
    """Run Holdtype: hold the hotkey (Caps Lock by default), speak, let go.

    Example: holdtype run --no-tray
    """
    guard_stderr()
    if no_tray:
        _exit(run_headless())
    if not _has_gui():
        raise HoldtypeError(
            "no graphical session (DISPLAY and WAYLAND_DISPLAY are unset), so there is no tray to "
            "show: start Holdtype from your desktop session, or run `holdtype run --no-tray`"
        )
    from app.display_check import session_problem

    problem = session_problem()
    if problem:  # (Qt would abort the process, its reason lost)
        raise HoldtypeError(
            f"{problem}, so there is no tray to show: start Holdtype inside your desktop session "
            "(an ssh -X session may have expired; sudo needs your Xauthority)"
        )
    from app.ui.app import run_tray

    loaded = load()
    _exit(run_tray(loaded.settings, loaded.path, loaded.problem))


def _exit(code: int) -> None:
    """Exit with ``code``; past PortAudio's exit handler when its audio thread is stuck (that
    handler closes the stream, which waits on the thread for good: Holdtype did not quit)."""
    from app.native_stderr import runaway_seen

    if not runaway_seen("pa_linux_alsa"):
        sys.exit(code)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
