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
EVENTS = {
    "loading": ModelLoading("tiny.en"),
    "ready": EngineReady("tiny.en", "cpu/int8", 1400.0, "ctrl+alt"),
    "failed": ErrorRaised(CUDA, "model"),
    "applied": Notice("Settings applied.", "settings"),
    "except": Notice(f"{EXCEPT}hotkey unavailable: no X", "settings"),
    "other error": ErrorRaised("the microphone is gone", "audio"),
    "other notice": Notice("Dictation cancelled; nothing will be inserted.", "engine"),
}

# (what happens, in order; what the window is told: one list of problems per answer)
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


@pytest.mark.parametrize(("sequence", "answers"), SEQUENCES)
def test_the_answer_to_a_save_comes_once_its_notice_and_its_model_are_in(  # type: ignore[no-untyped-def]
    answer, sequence: str, answers: list[list[str]]
) -> None:
    following, bridge, told = answer
    for step in sequence.split():
        if step == "save":
            following.start()
        elif step == "cancel":
            following.cancel()
        else:
            bridge.deliver(EVENTS[step.replace("-", " ")])
    assert [what for kind, what in told if kind == "answered"] == answers
    assert not following.waiting or not answers


def test_a_save_during_a_load_says_the_model_loads(answer) -> None:  # type: ignore[no-untyped-def]
    """The second save's "Saved — changes are in effect." stood beside a load under way."""
    following, bridge, told = answer
    following.start()
    bridge.deliver(EVENTS["loading"])
    bridge.deliver(EVENTS["applied"])
    following.start()
    assert told == [("loading", "tiny.en"), ("loading", "tiny.en")]
