"""What the engine made of the settings the window just saved.

A save is applied by the engine on its own thread, after :meth:`LiveSettings.commit` returned:
the engine says "Settings applied." (or "..., except: ..." for a hotkey or microphone it could
not set up), and a model setting changed loads the model again (``ModelLoading``, then
``EngineReady``, or an ``ErrorRaised`` of source ``model``: CUDA chosen where there is none).
:class:`EngineAnswer` follows those events after a save and reports once they are all in, so the
window says "in effect" only of settings the engine took.

The notice and the load's end come in either order: the engine queues the load on its
transcription worker before it sets up the microphone and the hotkey again (which can take
seconds). A load is followed across saves: a second save while the first one's model loads
waits for that load too (its failure was said "in effect" when the second save's notice came
first). The answer is in once the latest save's notice has come and no load is under way.

Each is told apart by its id, as other settings notices and other loads come in between: a
notice repeats the id ``apply_settings`` gave the save (an earlier save's, the tray's Pause, a
settings file changed elsewhere say theirs), and a load's end the serial of the ModelLoading that
began it (the load at start-up, a dictation's own try and a load begun before the window opened
end loads not followed: taken for a save's, they said "in effect" of a model still loading, and
its failure went unsaid).
"""

from __future__ import annotations

from collections.abc import Callable

from app.events import EngineReady, ErrorRaised, ModelLoading, Notice
from app.ui.settings.base import TabContext

#: How the engine's notice of settings it could not all apply begins (see Engine._on_apply).
EXCEPT = "Settings applied, except: "


class EngineAnswer:
    """Follows the engine's events after a save; ``answered(problems)`` once it has applied
    the settings (``problems`` empty when all are in effect), ``loading(model)`` while a model
    loads first."""

    def __init__(
        self, ctx: TabContext, answered: Callable[[list[str]], None], loading: Callable[[str], None]
    ) -> None:
        """Listen to the engine of ``ctx`` (nothing to follow without one)."""
        self._ctx = ctx
        self._answered = answered
        self._loading = loading
        # The latest save:
        self.waiting = False  # its answer is still to come
        self._applied: int | None = None  # the id the engine gave it (Notice.applied)
        self._noticed = False  # ...and the engine's notice of it came
        self._problems: list[str] = []  # what that notice says could not be applied
        # The model, followed whether or not a save waits (a save waits for a load under way):
        self._loads: set[int] = set()  # the loads begun (ModelLoading.load) whose end has not come
        self._model = ""  # the one loading last
        self._load_problem = ""  # why the last load that ended failed, until an answer says it
        bridge = ctx.bridge
        if bridge is not None:
            bridge.notice.connect(self._on_notice)
            bridge.loading.connect(self._on_loading)
            bridge.ready.connect(self._on_ready)
            bridge.error.connect(self._on_error)

    def start(self, applied: int | None) -> None:
        """Settings were just saved and handed to the engine, which gave them the id
        ``applied``: follow what it says of them (not when no running engine will answer: the
        window on its own, the engine not started, the settings not handed to it). A model
        still loading for an earlier save is waited for as well."""
        bridge, engine = self._ctx.bridge, self._ctx.engine
        if bridge is None or engine is None or bridge.engine is not engine or applied is None:
            return
        self.waiting, self._applied, self._noticed, self._problems = True, applied, False, []
        if self._loads:
            self._loading(self._model)

    def cancel(self) -> None:
        """Say nothing of the saves so far (a save since was refused or failed, and the window
        says so: an earlier save's answer wrote "in effect" over it). Loads are still followed:
        the next save's answer says a failure not said yet."""
        self.waiting = False

    def _on_notice(self, event: Notice) -> None:
        if not self.waiting or event.source != "settings" or event.applied != self._applied:
            return
        self._noticed = True
        if event.message.startswith(EXCEPT):
            self._problems.append(event.message[len(EXCEPT) :])
        self._answer_when_in()

    def _on_loading(self, event: ModelLoading) -> None:
        self._loads.add(event.load)
        self._model, self._load_problem = event.model, ""
        if self.waiting:
            self._loading(event.model)

    def _on_ready(self, event: EngineReady) -> None:
        self._ended(event.load, "")

    def _on_error(self, event: ErrorRaised) -> None:
        if event.source == "model":
            self._ended(event.load, event.message)

    def _ended(self, load: int | None, problem: str) -> None:
        """Load ``load`` ended (``problem`` says why it failed); one not seen begin (the load
        at start-up, a dictation's own try, one begun before the window) is none of a save's,
        though a model it loaded ends a failure not said yet."""
        if load in self._loads:
            self._loads.discard(load)
            self._load_problem = problem
            self._answer_when_in()
        elif not problem:
            self._load_problem = ""

    def _answer_when_in(self) -> None:
        if not (self.waiting and self._noticed and not self._loads):
            return
        problems = self._problems + ([self._load_problem] if self._load_problem else [])
        self.waiting, self._load_problem = False, ""  # (a load's failure is said once)
        self._answered(problems)
