"""The hotkey field records keys really typed on the X server (xdotool), not synthetic Qt events."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings, load_settings
from app.ui.settings.base import TabContext
from app.ui.settings.live import LiveSettings
from app.ui.settings.window import SettingsWindow
from tests.fixtures.display import XDisplay


@pytest.fixture
def general(qtbot, x_env: XDisplay, config_path: Path, write_settings):  # type: ignore[no-untyped-def]
    """The settings window on the General tab, mapped and active on the test display (this
    process's DISPLAY pointing at it, as the app's is: the Caps Lock put back after a capture
    is read and set through it)."""
    display = x_env
    display.reset_keyboard()  # Caps Lock off, no modifier held
    write_settings(Settings())
    live = LiveSettings(load_settings(config_path).settings, config_path)
    window = SettingsWindow(TabContext(live))
    qtbot.addWidget(window)
    window.bring_forward("general")
    qtbot.waitExposed(window)
    display.xdotool("windowactivate", "--sync", str(int(window.winId())))
    qtbot.waitUntil(window.isActiveWindow, timeout=10000)
    return window


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["F9"], "f9"),
        (["ctrl+alt+space"], "ctrl+alt+space"),
        (["Control_R"], "ctrl_r"),
        (["Caps_Lock"], "caps_lock"),
    ],
)
def test_field_records_real_key(qtbot, display: XDisplay, general, config_path: Path, keys, expected) -> None:  # type: ignore[no-untyped-def]
    tab = general.pages["general"]
    tab.hotkey.start_capture()
    assert tab.hotkey.capturing
    with qtbot.waitSignal(tab.hotkey.captured, timeout=10000) as blocker:
        display.xdotool("key", *keys)
    assert blocker.args == [expected]
    assert not tab.hotkey.capturing
    qtbot.waitUntil(lambda: load_settings(config_path).settings.hotkey.key == expected, timeout=5000)
    # Pressing Caps Lock to capture it turned the lock on, and it stayed on.
    assert not display.caps_lock_on()


def test_invalid_key_is_explained(qtbot, display: XDisplay, general, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    tab = general.pages["general"]
    tab.hotkey.start_capture()
    with qtbot.waitSignal(tab.hotkey.captured, timeout=10000):
        display.xdotool("key", "q")
    assert "stop you typing" in tab.hotkey_problem.text()
    assert tab.hotkey.binding() == "caps_lock"
    assert load_settings(config_path).settings.hotkey.key == "caps_lock"
    # The reason belongs to that try: it stayed across tab switches, closing and reopening.
    general.show_tab("audio")
    general.show_tab("general")
    assert tab.hotkey_problem.text() == ""


def test_escape_cancels_capture(qtbot, display: XDisplay, general) -> None:  # type: ignore[no-untyped-def]
    tab = general.pages["general"]
    tab.hotkey.start_capture()
    display.xdotool("key", "Escape")
    qtbot.waitUntil(lambda: not tab.hotkey.capturing, timeout=10000)
    assert tab.hotkey.binding() == "caps_lock"


def test_a_key_is_recorded_when_it_is_released(qtbot, display: XDisplay, general, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Recorded as it went down, the new binding was saved and armed while the key was still
    held: a hold of a second in the field started a recording."""
    tab = general.pages["general"]
    tab.hotkey.start_capture()
    emitted: list[str] = []
    tab.hotkey.captured.connect(emitted.append)
    display.xdotool("keydown", "F9")
    try:
        qtbot.waitUntil(lambda: tab.hotkey.text() == "F9", timeout=10000)  # the press was seen
        assert tab.hotkey.capturing and emitted == []
    finally:
        display.xdotool("keyup", "F9")
    qtbot.waitUntil(lambda: emitted == ["f9"], timeout=10000)
    assert not tab.hotkey.capturing
    qtbot.waitUntil(lambda: load_settings(config_path).settings.hotkey.key == "f9", timeout=5000)


def test_recording_caps_lock_in_the_field_leaves_dictation_with_the_lock_off(  # type: ignore[no-untyped-def]
    qtbot, display: XDisplay, general
) -> None:
    """The field put the lock back off without a key event, and the listener, which had seen
    it go on, put it back on after each dictation: the user typed in capitals from then on.
    The press in the field started (and dropped) a dictation too."""
    import queue
    import time

    from app.config import HotkeySettings
    from app.hotkey.listener import HotkeyAction, HotkeyListener
    from tests.fixtures.waiting import wait_for

    actions: queue.Queue[HotkeyAction] = queue.Queue()
    listener = HotkeyListener.from_settings(HotkeySettings(min_hold_s=0.1), actions.put)
    listener.start()
    try:
        tab = general.pages["general"]
        tab.hotkey.start_capture()
        with qtbot.waitSignal(tab.hotkey.captured, timeout=10000):
            display.xdotool("key", "Caps_Lock")
        wait_for(lambda: not display.caps_lock_on(), timeout=10, what="the field to put the lock back")
        assert actions.empty()  # choosing the key in the field is no dictation
        general.hide()  # (Qt's window keeps no key grab: the dictation goes to the listener)
        display.xdotool("keydown", "Caps_Lock")
        assert actions.get(timeout=10).kind.name == "START"
        held = time.monotonic()  # held past min_hold_s: a dictation, not a tap
        wait_for(lambda: time.monotonic() - held > 0.4, timeout=5, what="a hold")
        display.xdotool("keyup", "Caps_Lock")
        assert actions.get(timeout=10).kind.name == "STOP"
        wait_for(lambda: not display.caps_lock_on(), timeout=10, what="the lock off after the dictation")
    finally:
        listener.stop()
        display.reset_keyboard()


def test_a_cancelled_capture_takes_the_refusal_along(qtbot, display: XDisplay, general) -> None:  # type: ignore[no-untyped-def]
    """ "f8 already starts the 'clean' mode" stayed after a capture cancelled with Esc, and
    was still there when the window was opened again."""
    live = general.ctx.live
    s = live.settings.model_copy(deep=True)
    s.hotkey.mode_keys = {"f8": "clean"}
    assert live.commit(s)
    tab = general.pages["general"]
    tab.hotkey.start_capture()
    with qtbot.waitSignal(tab.hotkey.captured, timeout=10000):
        display.xdotool("key", "F8")
    assert "already starts the 'clean' mode" in tab.hotkey_problem.text()
    tab.hotkey.start_capture()
    display.xdotool("key", "Escape")
    qtbot.waitUntil(lambda: not tab.hotkey.capturing, timeout=10000)
    assert tab.hotkey_problem.text() == ""
    assert general.isVisible()  # Esc ended the capture, not the window
    general.close()
    general.bring_forward("general")
    qtbot.waitExposed(general)
    assert tab.hotkey_problem.text() == ""


def test_ctrl_w_is_captured_not_the_window_closed(qtbot, display: XDisplay, general) -> None:  # type: ignore[no-untyped-def]
    """Ctrl+W closes the settings window, but not while a hotkey is being captured."""
    tab = general.pages["general"]
    tab.hotkey.start_capture()
    with qtbot.waitSignal(tab.hotkey.captured, timeout=10000) as blocker:
        display.xdotool("key", "ctrl+w")
    assert blocker.args == ["ctrl+w"]
    assert general.isVisible()


def test_a_shifted_key_let_go_after_its_shift_is_recorded(
    qtbot, display: XDisplay, general, config_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Shift+1 goes down as "!" and, Shift let go first, comes up as "1": the release was not
    matched, the capture never ended, and every hotkey stayed dead while it lasted."""
    from app.hotkey import listener

    tab = general.pages["general"]
    tab.hotkey.start_capture()
    with qtbot.waitSignal(tab.hotkey.captured, timeout=10000) as blocker:
        display.xdotool("keydown", "shift", "keydown", "1", "keyup", "shift", "keyup", "1")
    assert blocker.args[0].startswith("shift+") and not tab.hotkey.capturing
    assert not listener._KEY_CAPTURE.is_set()
