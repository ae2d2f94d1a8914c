"""The decisions of Holdtype's Windows-only code, separated from the Win32 calls so that they
run here (Linux): which modifiers a paste releases, which key names a Windows key event has,
which clipboard formats are kept... The Win32 calls themselves are not run by these tests."""

from __future__ import annotations

import pytest

from app.insert.windows import held_modifiers

DOWN = -32768  # GetAsyncKeyState's high bit set, as the signed SHORT ctypes returns
DOWN_AND_PRESSED_SINCE = -32767  # high bit and the low "pressed since the last call" bit


@pytest.mark.parametrize(
    ("down", "expected"),
    [
        ({}, []),  # nothing held: no stray Alt or Win key-up (menu bar, Start menu)
        ({0xA4: DOWN, 0xA2: DOWN}, ["alt_l", "ctrl_l"]),  # ctrl+alt+d still held
        ({0xA5: DOWN_AND_PRESSED_SINCE}, ["alt_r"]),
        ({0x5B: 1}, []),  # only the low bit: pressed earlier, not down now
        ({0xA1: 0x8000, 0x5C: DOWN}, ["shift_r", "cmd_r"]),  # unsigned reading too
    ],
)
def test_a_paste_releases_only_the_modifiers_held(down: dict[int, int], expected: list[str]) -> None:
    assert held_modifiers(lambda vk: down.get(vk, 0)) == expected
