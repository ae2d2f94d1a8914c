"""The settings window's hotkey capture names keys as pynput does on each system.

Real Qt key events, built with the native codes each system's Qt gives them (X11 keysyms,
Windows scan codes with the extended-key bit, macOS virtual key codes); only this machine's
system can deliver them for real, so the others are built here.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent

from app.ui.settings.widgets import held_modifiers, key_name

CTRL = Qt.KeyboardModifier.ControlModifier
META = Qt.KeyboardModifier.MetaModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
NONE = Qt.KeyboardModifier.NoModifier


def _event(key: Qt.Key, modifiers: Qt.KeyboardModifier = NONE, scan: int = 0, virtual: int = 0) -> QKeyEvent:
    return QKeyEvent(QEvent.Type.KeyPress, key, modifiers, scan, virtual, 0, "")


@pytest.mark.parametrize(
    ("platform", "event", "expected"),
    [
        ("linux", _event(Qt.Key.Key_Control, virtual=0xFFE4), "ctrl_r"),
        ("linux", _event(Qt.Key.Key_Control, virtual=0xFFE3), "ctrl"),
        ("win32", _event(Qt.Key.Key_Control, scan=0x11D, virtual=0x11), "ctrl_r"),
        ("win32", _event(Qt.Key.Key_Control, scan=0x1D, virtual=0x11), "ctrl"),
        ("win32", _event(Qt.Key.Key_Alt, scan=0x138, virtual=0x12), "alt_r"),
        ("win32", _event(Qt.Key.Key_Shift, scan=0x36, virtual=0x10), "shift_r"),
        # macOS: Qt's Control key is Command, its Meta key is Control
        ("darwin", _event(Qt.Key.Key_Control, virtual=0x37), "cmd"),
        ("darwin", _event(Qt.Key.Key_Control, virtual=0x36), "cmd_r"),
        ("darwin", _event(Qt.Key.Key_Meta, virtual=0x3B), "ctrl"),
        ("darwin", _event(Qt.Key.Key_Meta, virtual=0x3E), "ctrl_r"),
        ("darwin", _event(Qt.Key.Key_Alt, virtual=0x3D), "alt_r"),
    ],
)
def test_modifier_keys_are_named_by_side(platform: str, event: QKeyEvent, expected: str) -> None:
    assert key_name(event, platform) == expected


def test_command_shift_d_on_macos_is_cmd_shift_d() -> None:
    event = _event(Qt.Key.Key_D, CTRL | SHIFT, virtual=0x02)
    assert held_modifiers(event, platform="darwin") == ["shift", "cmd"]
    assert held_modifiers(event, platform="linux") == ["ctrl", "shift"]
    control_d = _event(Qt.Key.Key_D, META, virtual=0x02)
    assert held_modifiers(control_d, platform="darwin") == ["ctrl"]
    # the held key itself is not one of its own modifiers
    assert held_modifiers(_event(Qt.Key.Key_Control, CTRL), exclude="cmd_r", platform="darwin") == []
