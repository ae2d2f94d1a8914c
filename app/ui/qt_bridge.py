"""Carry engine events to the Qt main thread.

The engine calls its subscribers on its own threads; Qt widgets may only be touched on the main
thread. :class:`EngineBridge` is a QObject living on the main thread: :meth:`EngineBridge.deliver`
(called on any thread) emits one typed signal per event kind, and since the receivers live on the
main thread Qt queues the call there. The bridge subscribes to the engine exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.events import (
    EngineReady,
    ErrorRaised,
    LevelChanged,
    ModelLoading,
    Notice,
    PartialText,
    StateChanged,
    UtteranceResult,
)

if TYPE_CHECKING:
    from app.engine import Engine

log = logging.getLogger(__name__)


class EngineBridge(QObject):
    """Qt signals mirroring the engine's events (queued onto the thread that owns the bridge)."""

    ready = Signal(object)  # EngineReady
    loading = Signal(object)  # ModelLoading
    state_changed = Signal(object)  # StateChanged
    level_changed = Signal(float, float)  # rms, peak
    partial_text = Signal(object)  # PartialText
    utterance = Signal(object)  # UtteranceResult
    error = Signal(object)  # ErrorRaised
    notice = Signal(object)  # Notice

    def __init__(self, parent: QObject | None = None) -> None:
        """Create an unattached bridge (call :meth:`attach` once the engine exists)."""
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = None
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine | None:
        """The engine this bridge listens to, if attached."""
        return self._engine

    def attach(self, engine: Engine) -> None:
        """Subscribe to ``engine`` (once; attaching again to the same engine does nothing)."""
        if self._engine is engine:
            return
        self.detach()
        self._engine = engine
        self._unsubscribe = engine.subscribe(self.deliver)

    def detach(self) -> None:
        """Stop listening to the engine."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = None
        self._engine = None

    def deliver(self, event: Any) -> None:
        """Emit the signal for ``event``; safe to call from any thread."""
        if isinstance(event, LevelChanged):
            self.level_changed.emit(float(event.rms), float(event.peak))
        elif isinstance(event, StateChanged):
            self.state_changed.emit(event)
        elif isinstance(event, PartialText):
            self.partial_text.emit(event)
        elif isinstance(event, UtteranceResult):
            self.utterance.emit(event)
        elif isinstance(event, ErrorRaised):
            self.error.emit(event)
        elif isinstance(event, Notice):
            self.notice.emit(event)
        elif isinstance(event, EngineReady):
            self.ready.emit(event)
        elif isinstance(event, ModelLoading):
            self.loading.emit(event)
        else:  # a newer engine event this UI does not know yet
            log.debug("bridge: ignoring unknown event %r", event)
