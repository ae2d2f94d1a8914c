"""Parsing, validating and formatting hotkey strings."""

from __future__ import annotations

import pytest

from app.errors import HoldtypeError
from app.hotkey.binding import Binding, BindingError, canonical, format_binding, parse_binding


@pytest.mark.parametrize(
    ("spec", "modifiers", "key", "text"),
    [
        ("caps_lock", set(), "caps_lock", "caps_lock"),
        ("f9", set(), "f9", "f9"),
        ("F9", set(), "f9", "f9"),
        ("ctrl+alt+space", {"ctrl", "alt"}, "space", "ctrl+alt+space"),
        ("alt+ctrl+space", {"ctrl", "alt"}, "space", "ctrl+alt+space"),
        ("Control + Alt + Space", {"ctrl", "alt"}, "space", "ctrl+alt+space"),
        ("right_alt", set(), "alt_r", "alt_r"),
        ("ctrl+caps_lock", {"ctrl"}, "caps_lock", "ctrl+caps_lock"),
        ("capslock", set(), "caps_lock", "caps_lock"),
        ("d", set(), "d", "d"),
        ("D", set(), "d", "d"),
        ("ctrl+shift+d", {"ctrl", "shift"}, "d", "ctrl+shift+d"),
        ("super+h", {"cmd"}, "h", "cmd+h"),
        ("escape", set(), "esc", "esc"),
        ("ctrl+shift_r", {"ctrl"}, "shift_r", "ctrl+shift_r"),
        ("ctrl++", {"ctrl"}, "+", "ctrl++"),
        ("ctrl+plus", {"ctrl"}, "+", "ctrl++"),
        ("f20", set(), "f20", "f20"),
    ],
)
def test_parse_and_format(spec: str, modifiers: set[str], key: str, text: str) -> None:
    binding = parse_binding(spec)
    assert binding == Binding(frozenset(modifiers), key)
    assert format_binding(binding) == text
    assert canonical(spec) == text
    assert parse_binding(text) == binding  # the canonical form parses back to the same binding


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("caps_lok", "did you mean 'caps_lock'"),
        ("ctrl+alt+spcae", "did you mean 'space'"),
        ("rigth_alt", "did you mean 'alt_r'"),
        ("f99", "unknown key 'f99'"),
        ("hyperdrive", "unknown key 'hyperdrive'"),
        ("a+b", "'a' is not a modifier"),
        ("f9+ctrl", "'f9' is not a modifier"),
        ("ctrl+ctrl_l+a", "given twice"),
        ("ctrl+ctrl", "both a modifier and the key"),
        ("ctrl++a", "empty key name"),
        ("ctrl+", "empty key name"),
    ],
)
def test_invalid_bindings_explain(spec: str, fragment: str) -> None:
    with pytest.raises(BindingError) as info:
        parse_binding(spec)
    assert fragment in str(info.value)
    assert isinstance(info.value, HoldtypeError)


def test_binding_is_hashable_and_frozen() -> None:
    a = parse_binding("ctrl+alt+space")
    b = parse_binding("alt+control+space")
    assert {a: "x"}[b] == "x"
    with pytest.raises(AttributeError):
        a.key = "f1"  # type: ignore[misc]
    assert str(a) == "ctrl+alt+space"
    assert parse_binding("d").is_char and not a.is_char


@pytest.mark.parametrize(
    "key",
    [
        "ctrl",
        "Ctrl+V",
        "ctrl+shift+v",
        "shift",
        "ctrl_l",
        "Shift+Insert",
        "cmd+v",
        # from a review: taken, each ctrl+shift+v paste into a terminal started a dictation
        "ctrl+shift",
        "shift+ctrl",
        "ctrl+shift_l",
        "cmd",
    ],
)
def test_a_key_holdtype_presses_to_insert_text_is_refused(key: str) -> None:
    # Bound to ctrl+v, each paste started a dictation of its own, and auto-repeat of the held
    # key pasted the clipboard some fifty times; shift+insert is xterm's paste, which Holdtype
    # presses there (it was taken, and each paste into xterm started a dictation).
    from app.config import HotkeySettings
    from app.hotkey.binding import check_cancel_key, check_hotkey

    accepted, problem = check_hotkey(key, HotkeySettings())
    assert accepted is None and "to insert text" in (problem or "")
    assert "to insert text" in (check_cancel_key(key) or "")  # it would cancel its own paste


@pytest.mark.parametrize("key", ["ctrl+shift_r", "ctrl_r", "shift_r", "ctrl+alt", "alt+shift"])
def test_modifiers_a_paste_never_holds_all_of_are_a_hotkey(key: str) -> None:
    from app.config import HotkeySettings
    from app.hotkey.binding import check_cancel_key, check_hotkey

    accepted, problem = check_hotkey(key, HotkeySettings())
    assert accepted is not None and problem is None, problem
    assert check_cancel_key(key) is None


@pytest.mark.parametrize("key", ["ctrl+c", "ctrl+x", "ctrl+z", "cmd+a"])
def test_a_shortcut_every_app_edits_with_is_refused(key: str) -> None:
    # Taken as the hotkey (grabbed on X11), copy, cut, undo or select all stopped in every app.
    from app.config import HotkeySettings
    from app.hotkey.binding import check_hotkey

    accepted, problem = check_hotkey(key, HotkeySettings())
    assert accepted is None and "in every app" in (problem or ""), problem


@pytest.mark.parametrize("key", ["ctrl_r", "shift_r", "ctrl+alt+space", "f9", "ctrl+shift+c"])
def test_the_right_hand_modifiers_stay_free_to_bind(key: str) -> None:
    from app.config import HotkeySettings
    from app.hotkey.binding import check_hotkey

    assert check_hotkey(key, HotkeySettings()) == (canonical(key), None)


@pytest.mark.parametrize("key", ["+", "d", "space", "plus"])
def test_a_key_needed_for_typing_is_refused_alone(key: str) -> None:
    # "+" split on "+" looked like two parts, so numpad + was taken alone and grabbed "=".
    from app.config import HotkeySettings
    from app.hotkey.binding import check_hotkey

    accepted, problem = check_hotkey(key, HotkeySettings())
    assert accepted is None and "alone" in (problem or ""), problem
    assert check_hotkey(f"ctrl+alt+{key}", HotkeySettings())[0] == canonical(f"ctrl+alt+{key}")
