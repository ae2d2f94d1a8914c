"""EngineAnswer against the engine's events in the orders they can come in.

The real engine (built, not started) is attached to a real bridge; the events are real event
objects delivered through that bridge, as the engine's threads deliver them. Orders a running
engine gives only by chance (a microphone slow to reopen, a save made while a model loads) are
fed here in turn; tests/ui/test_tray.py drives the whole window with a real failing load.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings, load_settings
from app.events import EngineReady, ErrorRaised, ModelLoading, Notice
from app.ui.qt_bridge import EngineBridge
from app.ui.settings.base import TabContext
from app.ui.settings.engine_answer import EXCEPT, EngineAnswer
from app.ui.settings.live import LiveSettings

pytest.importorskip("app.engine", reason="the engine has not landed yet")

CUDA = "cannot load model tiny.en on cuda: no CUDA device"
OTHERS = {
    "other-error": ErrorRaised("the microphone is gone", "audio"),
    "other-notice": Notice("Dictation cancelled; nothing will be inserted.", "engine"),
}

# (what happens, in order; what the window is told: one list of problems per answer). "save" is
# a save handed to the engine; "applied"/"except" its notice, "earlier" the notice of the save
# before it, "pause" the tray's Pause's. "loading" begins a load; "ready"/"failed" end the
# oldest load begun here (none: a load no ModelLoading began); "startup-ready"/"startup-failed"
# end the load at start-up (or a dictation's own try), "unseen-ready" one begun before the window.
SEQUENCES: list[tuple[str, list[list[str]]]] = [
    ("save applied", [[]]),
    ("save except", [["hotkey unavailable: no X"]]),
    ("save loading applied ready", [[]]),
    ("save loading applied failed", [[CUDA]]),
    # The load ends before the notice (the engine queues it before it sets up the hotkey again).
    ("save loading ready except", [["hotkey unavailable: no X"]]),
    ("save loading failed except", [["hotkey unavailable: no X", CUDA]]),
    ("save loading failed applied", [[CUDA]]),
    # A second save while the first one's model loads waits for that load.
    ("save loading applied save applied failed", [[CUDA]]),
    ("save loading save applied applied failed", [[CUDA]]),
    ("save loading applied save loading applied failed ready", [[]]),
    ("save loading applied save loading applied ready failed", [[CUDA]]),
    # A save refused meanwhile: the earlier one says nothing; the next waits for the load.
    ("save loading applied cancel ready", []),
    ("save loading applied cancel failed save applied", [[CUDA]]),
    ("save loading cancel applied ready save applied", [[]]),
    # What is not a save's answer.
    ("save other-error other-notice applied", [[]]),
    ("failed save applied", [[]]),  # a load no ModelLoading began (the one at start-up)
    # A load that failed unsaid (no save waited: the Model tab's reload) is said once.
    ("loading failed save applied save applied", [[CUDA], []]),
    ("save loading applied failed save applied", [[CUDA], []]),
    ("loading failed ready save applied", [[]]),  # (a dictation's own try loaded it)
    ("save applied failed ready", [[]]),
    ("applied save applied", [[]]),
    # From a review: other loads' ends came while a save's model loaded; "in effect" was said
    # of it, and its failure never.
    ("save loading applied startup-ready failed", [[CUDA]]),
    ("save loading startup-ready applied failed", [[CUDA]]),
    ("save loading applied startup-failed ready", [[]]),
    ("save loading applied unseen-ready failed", [[CUDA]]),
    # ...and the notice of an earlier save, or of the tray's Pause, was taken for the latest's.
    ("save save earlier", []),
    ("save save loading earlier ready loading applied failed", [[CUDA]]),
    ("save pause", []),
    ("save pause except", [["hotkey unavailable: no X"]]),
]


@pytest.fixture
def answer(qtbot, config_path: Path, write_settings) -> Iterator[tuple[EngineAnswer, EngineBridge, list]]:  # type: ignore[no-untyped-def]
    """An EngineAnswer over a real (not started) engine's bridge, and what it told."""
    from app.engine import Engine

    write_settings(Settings())
    engine = Engine(Settings(), enable_hotkeys=False, enable_audio=False)
    bridge = EngineBridge()
    bridge.attach(engine)
    told: list[tuple[str, object]] = []
    ctx = TabContext(LiveSettings(load_settings(config_path).settings, config_path), engine, bridge)
    following = EngineAnswer(
        ctx, lambda problems: told.append(("answered", problems)), lambda m: told.append(("loading", m))
    )
    yield following, bridge, told
    bridge.detach()


class _Steps:
    """Plays the steps of a sequence: saves handed to the real engine (not started: they only
    get their ids), and the events a running engine would answer with, through the bridge."""

    def __init__(self, following: EngineAnswer, bridge: EngineBridge) -> None:
        self.following, self.bridge = following, bridge
        self.saves: list[int] = []  # the ids the engine gave the saves
        self.loads = 0  # the loads begun
        self.pending: list[int] = []  # ...not ended yet, oldest first

    def play(self, step: str) -> None:
        """Do ``step`` (see SEQUENCES)."""
        engine = self.bridge.engine
        assert engine is not None
        if step == "save":
            self.saves.append(engine.apply_settings(Settings()))
            self.following.start(self.saves[-1])
        elif step == "cancel":
            self.following.cancel()
        elif step in ("applied", "except", "earlier", "pause"):
            back = {"earlier": 2, "pause": 0}.get(step, 1)  # which save's (before any: none)
            applied = self.saves[-back] if 0 < back <= len(self.saves) else None
            message = f"{EXCEPT}hotkey unavailable: no X" if step == "except" else "Settings applied."
            self.bridge.deliver(Notice(message, "settings", applied=applied))
        elif step == "loading":
            self.loads += 1
            self.pending.append(self.loads)
            self.bridge.deliver(ModelLoading("tiny.en", self.loads))
        elif step in OTHERS:
            self.bridge.deliver(OTHERS[step])
        else:
            which, _, end = step.rpartition("-")
            if which == "unseen":
                load: int | None = 0  # (its ModelLoading came before the window)
            elif which == "startup" or not self.pending:
                load = None
            else:
                load = self.pending.pop(0)
            if end == "ready":
                self.bridge.deliver(EngineReady("tiny.en", "cpu/int8", 1400.0, "ctrl+alt", load=load))
            else:
                self.bridge.deliver(ErrorRaised(CUDA, "model", load))


@pytest.mark.parametrize(("sequence", "answers"), SEQUENCES)
def test_the_answer_to_a_save_comes_once_its_notice_and_its_model_are_in(  # type: ignore[no-untyped-def]
    answer, sequence: str, answers: list[list[str]]
) -> None:
    following, bridge, told = answer
    steps = _Steps(following, bridge)
    for step in sequence.split():
        steps.play(step)
    assert [what for kind, what in told if kind == "answered"] == answers
    assert not following.waiting or not answers


def test_a_save_during_a_load_says_the_model_loads(answer) -> None:  # type: ignore[no-untyped-def]
    """The second save's "Saved — changes are in effect." stood beside a load under way."""
    following, bridge, told = answer
    steps = _Steps(following, bridge)
    for step in ("save", "loading", "applied", "save"):
        steps.play(step)
    assert told == [("loading", "tiny.en"), ("loading", "tiny.en")]
