"""The small immutable messages the engine publishes, and the inputs it consumes.

Subscribers (the tray, the overlay, ``holdtype run --no-tray``'s logger, tests) receive these
through :meth:`app.engine.Engine.subscribe`. They carry no Qt types and no dict payloads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(str, enum.Enum):
    """Where the dictation state machine is."""

    IDLE = "idle"
    RECORDING = "recording"
    TRANSCRIBING = "transcribing"
    PROCESSING = "processing"
    INSERTING = "inserting"


class Outcome(str, enum.Enum):
    """How an utterance ended (stored in history)."""

    PASTED = "pasted"
    TYPED = "typed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RECOVERED = "recovered"
    EMPTY = "empty"


# --- published by the engine ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StateChanged:
    """The engine moved to ``state`` while handling utterance ``generation``; while recording,
    ``mode`` is the mode the words will go through (a mode key's, the focused app's, or the
    active one)."""

    state: State
    generation: int
    mode: str = ""


@dataclass(frozen=True, slots=True)
class LevelChanged:
    """Input level while recording: ``rms`` and ``peak`` in 0..1 (full scale)."""

    rms: float
    peak: float


@dataclass(frozen=True, slots=True)
class PartialText:
    """Words recognised so far while the key is held (committed + tentative)."""

    generation: int
    committed: str
    tentative: str


@dataclass(frozen=True, slots=True)
class UtteranceResult:
    """A finished utterance: what was heard, what was inserted, and how."""

    generation: int
    history_id: int | None
    raw: str
    text: str
    outcome: Outcome
    mode: str
    audio_seconds: float
    release_to_text_ms: float | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorRaised:
    """Something failed; ``message`` is meant for the user. A model load's failure (source
    ``model``) repeats the ``load`` of the :class:`ModelLoading` that began it (None: the load at
    start-up, or a dictation's own try)."""

    message: str
    source: str
    load: int | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Information for the user (recovered recordings, an LLM fallback, a missing tray).

    ``said`` holds words the user dictated that the notice quotes (the recovered recordings'
    first words): shown to the user with the message, never written to the log. ``applied``
    is the id :meth:`~app.engine.Engine.apply_settings` gave the settings a "settings" notice
    says were applied (None: the tray's Pause), so the settings window knows its save's notice.
    """

    message: str
    source: str
    said: str = ""
    applied: int | None = None

    @property
    def shown(self) -> str:
        """The message with the words it quotes, as the user sees it."""
        return f"{self.message}: {self.said}" if self.said else self.message


@dataclass(frozen=True, slots=True)
class ModelLoading:
    """The engine began loading the model ``model`` again (its settings changed, or it was just
    downloaded): not ready until the next :class:`EngineReady`, or an :class:`ErrorRaised` of
    source ``model`` says why it could not be loaded. Both repeat ``load``, this load's serial:
    the settings window tells the end of a load it saw begin from those of other loads (the
    one at start-up, a dictation's own try, one begun before the window opened)."""

    model: str
    load: int


@dataclass(frozen=True, slots=True)
class EngineReady:
    """The model is loaded and the hotkey is armed (or could not be, see ``problems``);
    ``load`` repeats the :class:`ModelLoading` that began the load (None: the load at start-up,
    or a dictation's own try)."""

    model: str
    device: str
    load_ms: float
    hotkey: str
    problems: tuple[str, ...] = ()
    load: int | None = None


EngineEvent = (
    EngineReady
    | ModelLoading
    | StateChanged
    | LevelChanged
    | PartialText
    | UtteranceResult
    | ErrorRaised
    | Notice
)
