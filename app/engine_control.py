"""What the control channel's commands do to the engine (``holdtype dictate …``).

Each command waits, briefly, for the engine to show it took effect, so the command line can
say whether the recording started (a missing microphone says why not) or the text that was
inserted (``stop`` with ``wait``).
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from app import events as ev
from app.control import ControlServer, Handler, Reply, Request
from app.events import State

if TYPE_CHECKING:
    from app.engine import Engine

#: Commands the channel takes.
COMMANDS = ("start", "stop", "toggle", "cancel", "status")
#: Said when the hotkey cannot work: the way to dictate that is left.
NO_HOTKEY_HINT = (
    "without the hotkey, `holdtype dictate toggle` starts and stops dictation: bind it to a desktop shortcut"
)
#: How long a start or stop waits for the engine to record, or to stop recording.
SWITCH_S = 5.0
#: How long ``stop`` with ``wait`` waits for the text (a long recording on a slow CPU, an LLM).
RESULT_S = 300.0


_SAID = {ev.Outcome.EMPTY: "no speech was heard", ev.Outcome.CANCELLED: "cancelled"}


@contextlib.contextmanager
def _watching(engine: Engine) -> Iterator[queue.Queue[object]]:
    """The engine's events from now on, in a queue, until the block ends."""
    events: queue.Queue[object] = queue.Queue()
    unsubscribe = engine.subscribe(events.put)
    try:
        yield events
    finally:
        unsubscribe()


def _next(events: queue.Queue[object], deadline: float) -> object | None:
    """The next event before ``deadline`` (monotonic), or None."""
    try:
        return events.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        return None


def _status(engine: Engine) -> Reply:
    settings = engine.settings
    return {
        "ok": True,
        "state": engine.state.value,
        "ready": engine.ready,
        "paused": settings.hotkey.paused,
        "mode": engine.recording_mode or settings.modes.active,
    }


def _start(engine: Engine, mode: str | None) -> Reply:
    if engine.recording is not None:
        return {"ok": True, "state": "recording", "message": "already recording"}
    if engine.settings.hotkey.paused:
        return {"ok": False, "state": engine.state.value, "message": "Holdtype is paused: resume it first"}
    deadline = time.monotonic() + SWITCH_S
    with _watching(engine) as events:
        engine.begin(mode)
        while (event := _next(events, deadline)) is not None:
            if isinstance(event, ev.StateChanged) and event.state == State.RECORDING:
                return {"ok": True, "state": "recording", "message": "recording"}
            if isinstance(event, ev.ErrorRaised) and event.source == "audio":
                return {"ok": False, "state": engine.state.value, "message": event.message}
    late = f"did not start recording within {SWITCH_S:g} s"
    return {"ok": False, "state": engine.state.value, "message": late}


def _stop(engine: Engine, wait: bool) -> Reply:
    generation = engine.recording
    if generation is None:
        return {"ok": False, "state": engine.state.value, "message": "Holdtype is not recording"}
    deadline = time.monotonic() + SWITCH_S
    with _watching(engine) as events:
        engine.end()
        while engine.recording == generation:  # (the engine thread ends it; events only wake us)
            if time.monotonic() > deadline:
                return {"ok": False, "state": engine.state.value, "message": "the recording did not stop"}
            _next(events, min(deadline, time.monotonic() + 0.05))
        if not wait:
            return {"ok": True, "state": engine.state.value, "message": "stopped; transcribing"}
        deadline = time.monotonic() + RESULT_S
        while (event := _next(events, deadline)) is not None:
            if isinstance(event, ev.UtteranceResult) and event.generation == generation:
                return {
                    "ok": event.outcome in (ev.Outcome.PASTED, ev.Outcome.TYPED),
                    "state": engine.state.value,
                    "message": event.error or _SAID.get(event.outcome, event.outcome.value),
                    "text": event.text,
                    "outcome": event.outcome.value,
                    "history_id": event.history_id,
                }
    return {"ok": False, "state": engine.state.value, "message": f"no text within {RESULT_S:g} s"}


def _cancel(engine: Engine) -> Reply:
    if engine.state == State.IDLE:
        return {"ok": False, "state": "idle", "message": "nothing to cancel"}
    engine.cancel()
    return {"ok": True, "state": engine.state.value, "message": "cancelled"}


def engine_handler(engine: Engine) -> Handler:
    """The control channel's handler for ``engine``."""

    def handle(request: Request) -> Reply:
        command = request.get("command")
        mode = request.get("mode") or None
        wait = bool(request.get("wait"))
        if command == "status":
            return _status(engine)
        if command == "start":
            return _start(engine, mode)
        if command == "stop":
            return _stop(engine, wait)
        if command == "toggle":
            return _start(engine, mode) if engine.recording is None else _stop(engine, wait)
        if command == "cancel":
            return _cancel(engine)
        return {"ok": False, "message": f"unknown command {command!r} (known: {', '.join(COMMANDS)})"}

    return handle


def serve(engine: Engine) -> ControlServer:
    """Open the control channel for ``engine`` (raises :class:`HoldtypeError` when it cannot)."""
    server = ControlServer(engine_handler(engine))
    server.start()
    return server
