"""The recording pill appears while recording, follows the engine's events, and never takes focus."""

from __future__ import annotations

import threading

from app.events import LevelChanged, PartialText, State, StateChanged
from app.ui.overlay import RecordingOverlay
from app.ui.qt_bridge import EngineBridge
from tests.fixtures.display import XDisplay


def deliver_from_thread(bridge: EngineBridge, *events: object) -> None:
    """Deliver events from a non-Qt thread, as the engine does."""
    thread = threading.Thread(target=lambda: [bridge.deliver(e) for e in events])
    thread.start()
    thread.join(timeout=10)


def focused_window(display: XDisplay) -> int:
    return int(display.xdotool("getwindowfocus").strip())


def test_overlay_shows_without_stealing_focus(qtbot, display: XDisplay, target_window) -> None:  # type: ignore[no-untyped-def]
    bridge = EngineBridge()
    overlay = RecordingOverlay()
    qtbot.addWidget(overlay)
    bridge.state_changed.connect(overlay.on_state)
    bridge.level_changed.connect(overlay.on_level)
    bridge.partial_text.connect(overlay.on_partial)
    assert display.active_window() == target_window.window_id

    deliver_from_thread(bridge, StateChanged(State.RECORDING, 1), LevelChanged(0.2, 0.5))
    qtbot.waitUntil(overlay.isVisible, timeout=5000)
    wid = str(int(overlay.winId()))
    # really mapped on the X server, near the bottom of the screen
    qtbot.waitUntil(lambda: "IsViewable" in display.run("xwininfo", "-id", wid).stdout, timeout=5000)
    geometry = overlay.geometry()
    assert geometry.bottom() > overlay.screen().geometry().height() * 0.7

    deliver_from_thread(bridge, PartialText(1, "hello", "world"), PartialText(0, "stale", ""))
    qtbot.waitUntil(lambda: overlay.text == "hello world", timeout=5000)
    assert max(overlay._history) > 0  # the level reached the meter

    # the keyboard still belongs to the text window: typing lands there
    assert display.active_window() == target_window.window_id
    assert focused_window(display) == target_window.window_id
    display.xdotool("type", "--delay", "20", "abc")
    target_window.wait_for_text("abc")

    deliver_from_thread(bridge, StateChanged(State.TRANSCRIBING, 1))
    qtbot.waitUntil(lambda: overlay.state is State.TRANSCRIBING, timeout=5000)
    assert overlay.isVisible()
    deliver_from_thread(bridge, StateChanged(State.INSERTING, 1), StateChanged(State.IDLE, 1))
    qtbot.waitUntil(lambda: not overlay.isVisible(), timeout=5000)
    assert display.active_window() == target_window.window_id


def test_overlay_can_be_turned_off(qtbot) -> None:  # type: ignore[no-untyped-def]
    overlay = RecordingOverlay(enabled=False)
    qtbot.addWidget(overlay)
    overlay.on_state(StateChanged(State.RECORDING, 7))
    assert not overlay.isVisible()


def test_new_recording_clears_old_words(qtbot) -> None:  # type: ignore[no-untyped-def]
    overlay = RecordingOverlay()
    qtbot.addWidget(overlay)
    overlay.on_state(StateChanged(State.RECORDING, 1))
    overlay.on_partial(PartialText(1, "first", ""))
    overlay.on_state(StateChanged(State.IDLE, 1))
    overlay.on_state(StateChanged(State.RECORDING, 2))
    assert overlay.text == ""
    overlay.hide()


def test_the_pill_names_an_llm_mode_the_words_will_go_through(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A mode key or the focused app (modes.apps) may pick another mode than the one set: the
    pill says which, so a dictation into the mail app is seen to go through "email"."""
    overlay = RecordingOverlay()
    qtbot.addWidget(overlay)
    overlay.on_state(StateChanged(State.RECORDING, 1, "email"))
    assert overlay.mode == "email" and overlay.caption() == "email · listening…"
    overlay.on_partial(PartialText(1, "dear Ann", ""))
    assert overlay.caption() == "email · dear Ann"
    overlay.on_state(StateChanged(State.TRANSCRIBING, 1))  # the busy states carry no mode: kept
    assert overlay.caption() == "email · transcribing… dear Ann"
    overlay.on_state(StateChanged(State.IDLE, 1))
    overlay.on_state(StateChanged(State.RECORDING, 2, "raw"))  # no LLM: no label
    assert overlay.mode == "" and overlay.caption() == "listening…"
    overlay.on_partial(PartialText(2, "git", ""))
    overlay.on_state(StateChanged(State.RECORDING, 2, "commit"))  # the focused app's, found after
    assert overlay.caption() == "commit · git"  # the same recording: its words stay
    overlay.hide()
