"""The messages of the dictation engine (:mod:`app.engine`): the commands its thread consumes,
and the :class:`Utterance` each recording is, handed from worker to worker."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from app.config import Settings
from app.events import State

if TYPE_CHECKING:
    from app.audio.spool import SpoolWriter
    from app.transcribe.streaming import StreamingTranscriber


@dataclass(frozen=True, slots=True)
class Begin:
    """Start recording (a press, the tray, the CLI)."""

    mode: str | None
    at: float
    from_key: bool = False  # sent by the hotkey listener (else by the tray, CLI or a test)
    toggle: bool = False  # a press of a key that works in toggle mode (its next press stops)
    listener: int = 0  # which hotkey listener heard the press (Engine._listener_serial), if a key


@dataclass(frozen=True, slots=True)
class End:
    """Stop recording (``discard``: a key tap too short to be a dictation)."""

    at: float
    discard: bool = False
    from_key: bool = False


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel the recording, or the utterance in flight."""


@dataclass(frozen=True, slots=True)
class AudioFailed:
    """The microphone failed mid-recording (a lost device, the length limit)."""

    message: str


@dataclass(frozen=True, slots=True)
class Rearm:
    """Try again to open a microphone that went away."""

    attempt: int


@dataclass(frozen=True, slots=True)
class Stage:
    """An utterance in flight reached ``state`` (``IDLE``: it is done)."""

    generation: int
    state: State


@dataclass(frozen=True, slots=True)
class Apply:
    """Apply new settings; the "settings" notice that says so repeats ``applied``."""

    settings: Settings
    applied: int | None = None


@dataclass(frozen=True, slots=True)
class Reload:
    """Load the model of the settings in force again (it was just downloaded)."""


@dataclass(frozen=True, slots=True)
class Pause:
    """Ignore the hotkey, or listen to it again."""

    paused: bool


@dataclass(frozen=True, slots=True)
class Submit:
    """Dictate recorded audio, without a press."""

    audio: np.ndarray
    mode: str | None


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop the engine thread."""


def set_event() -> threading.Event:
    """A new event, already set."""
    event = threading.Event()
    event.set()
    return event


@dataclass(frozen=True, slots=True)
class Placed:
    """The app a recording is dictated into is known, and its mode is now the one
    ``modes.apps`` ties to that app (see ``Engine._place``)."""

    utterance: Utterance


@dataclass(slots=True)
class Utterance:
    """Everything known about one recording, handed from worker to worker."""

    generation: int
    mode: str
    key_down: float
    key_down_mono: float
    streaming: StreamingTranscriber | None
    spool: SpoolWriter | None
    recording: threading.Event = field(default_factory=threading.Event)
    audio: np.ndarray | None = None
    key_up: float | None = None
    key_up_mono: float | None = None
    cancelled: bool = False
    error: str | None = None
    spool_error: str | None = None  # the spool could not be made: no crash safety
    from_key: bool = False  # started by a hotkey press (else by the tray, the CLI, a test)
    app: str = ""  # the app dictated into, as the press found it ("" when unknown)
    window_pid: int | None = None  # the process of the window dictated into (None: unknown)
    # Set once ``app`` (and the mode ``modes.apps`` ties to it) is known: the output waits
    # for it. Set from the start for audio dictated without a press.
    placed: threading.Event = field(default_factory=set_event)
