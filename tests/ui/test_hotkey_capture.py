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


def test_escape_cancels_capture(qtbot, display: XDisplay, general) -> None:  # type: ignore[no-untyped-def]
    tab = general.pages["general"]
    tab.hotkey.start_capture()
    display.xdotool("key", "Escape")
    qtbot.waitUntil(lambda: not tab.hotkey.capturing, timeout=10000)
    assert tab.hotkey.binding() == "caps_lock"


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
    assert tab.hotkey_problem.text() == "" and tab.hotkey_problem.isHidden()
    assert general.isVisible()  # Esc ended the capture, not the window
    general.close()
    general.bring_forward("general")
    qtbot.waitExposed(general)
    assert tab.hotkey_problem.isHidden()


def test_ctrl_w_is_captured_not_the_window_closed(qtbot, display: XDisplay, general) -> None:  # type: ignore[no-untyped-def]
    """Ctrl+W closes the settings window, but not while a hotkey is being captured."""
    tab = general.pages["general"]
    tab.hotkey.start_capture()
    with qtbot.waitSignal(tab.hotkey.captured, timeout=10000) as blocker:
        display.xdotool("key", "ctrl+w")
    assert blocker.args == ["ctrl+w"]
    assert general.isVisible()
