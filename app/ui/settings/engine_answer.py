"""What the engine made of the settings the window just saved.

A save is applied by the engine on its own thread, after :meth:`LiveSettings.commit` returned:
the engine says "Settings applied." (or "..., except: ..." for a hotkey or microphone it could
not set up), and a model setting changed loads the model again (``ModelLoading``, then
``EngineReady``, or an ``ErrorRaised`` of source ``model``: CUDA chosen where there is none).
:class:`EngineAnswer` follows those events after a save and reports once they are all in, so the
window says "in effect" only of settings the engine took.
"""

from __future__ import annotations

from collections.abc import Callable

from app.events import EngineReady, ErrorRaised, ModelLoading, Notice
from app.ui.settings.base import TabContext

#: How the engine's notice of settings it could not all apply begins (see Engine._on_apply).
EXCEPT = "Settings applied, except: "


class EngineAnswer:
    """Follows the engine's events after a save; ``answered(problems)`` once it has applied
    the settings (``problems`` empty when all are in effect), ``loading(model)`` when a model
    loads first."""

    def __init__(
        self, ctx: TabContext, answered: Callable[[list[str]], None], loading: Callable[[str], None]
    ) -> None:
        """Listen to the engine of ``ctx`` (nothing to follow without one)."""
        self._ctx = ctx
        self._answered = answered
        self._loading = loading
        self.waiting = False  # a save's answer is still to come
        self._model = False  # ...and the model it reloads is loading
        self._problems: list[str] = []
        bridge = ctx.bridge
        if bridge is not None:
            bridge.notice.connect(self._on_notice)
            bridge.loading.connect(self._on_loading)
            bridge.ready.connect(self._on_ready)
            bridge.error.connect(self._on_error)

    def start(self) -> None:
        """Settings were just saved and handed to the engine: follow what it says of them
        (not when no running engine will answer: the window on its own, the engine not
        started)."""
        bridge, engine = self._ctx.bridge, self._ctx.engine
        if bridge is None or engine is None or bridge.engine is not engine:
            return
        self.waiting, self._model, self._problems = True, False, []

    def _on_notice(self, event: Notice) -> None:
        if not self.waiting or event.source != "settings":
            return
        if event.message.startswith(EXCEPT):
            self._problems.append(event.message[len(EXCEPT) :])
        if not self._model:  # (ModelLoading comes before the notice)
            self._done()

    def _on_loading(self, event: ModelLoading) -> None:
        if self.waiting:
            self._model = True
            self._loading(event.model)

    def _on_ready(self, _event: EngineReady) -> None:
        if self.waiting and self._model:
            self._done()

    def _on_error(self, event: ErrorRaised) -> None:
        if self.waiting and self._model and event.source == "model":
            self._problems.append(event.message)
            self._done()

    def _done(self) -> None:
        problems = self._problems
        self.waiting, self._model, self._problems = False, False, []
        self._answered(problems)
