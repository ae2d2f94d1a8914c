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


@pytest.mark.parametrize(
    ("vk", "char", "expected"),
    [
        (0x44, "d", "d"),  # D alone
        (0x44, "D", "d"),  # with Shift
        (0x44, "\x04", "d"),  # with Ctrl: the control character pynput's translator gives
        (0x44, None, "d"),  # with Ctrl+Alt: no character at all
        (0x45, "€", "e"),  # Ctrl+Alt is AltGr on a German layout: still the E key
        (0x31, "!", "1"),  # Ctrl+Shift+1 on a US layout
        (0x31, "&", "1"),  # the same key on a French layout (digits are shifted there)
        (0xBB, "=", "="),  # a punctuation key with no modifier: its character
        (0xBB, None, None),  # with Ctrl and no canonical() to ask: unnamed, as before
    ],
)
def test_a_windows_key_is_named_by_its_key_not_the_modifiers_held(
    x_env: object, vk: int, char: str | None, expected: str | None
) -> None:
    from pynput.keyboard._base import KeyCode

    from app.hotkey.listener import win32_key_name

    assert win32_key_name(KeyCode(vk=vk, char=char)) == expected


def test_a_windows_punctuation_key_with_ctrl_is_named_by_its_plain_character(x_env: object) -> None:
    """pynput's Windows ``Listener.canonical`` (which cannot run here) gives the character of the
    key's scan code with no modifier; a stand-in for it does the same for VK_OEM_PLUS."""
    from pynput.keyboard import Key  # the X11 backend's, named as the Windows one's are
    from pynput.keyboard._base import KeyCode

    from app.hotkey.listener import win32_key_name

    def canonical(key: KeyCode) -> KeyCode:
        return KeyCode.from_char("=") if key.vk == 0xBB else key

    assert win32_key_name(KeyCode(vk=0xBB, char="\x1d"), canonical) == "="
    assert win32_key_name(Key.caps_lock) == "caps_lock"
    assert win32_key_name(KeyCode(vk=0xBB), lambda key: 1 / 0) is None  # canonical failed: unnamed
