"""The real pynput listener on Xvfb, driven by xdotool key events."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator

import pytest

from app.config import HotkeySettings
from app.hotkey.binding import parse_binding
from app.hotkey.listener import ActionKind, HotkeyAction, HotkeyError, HotkeyListener, key_matches
from tests.fixtures.display import XDisplay
from tests.fixtures.parts import require_tools
from tests.fixtures.waiting import wait_for

Make = Callable[..., tuple[HotkeyListener, "queue.Queue[HotkeyAction]"]]


@pytest.fixture
def make_listener(x_env: XDisplay) -> Iterator[Make]:
    """Build and start listeners on the test display; all are stopped afterwards. The keyboard
    is reset first: an earlier test of the session may have left Caps Lock on (a short tap of
    it turns the lock on, as it should)."""
    x_env.reset_keyboard()
    made: list[HotkeyListener] = []

    def make(**settings: object) -> tuple[HotkeyListener, queue.Queue[HotkeyAction]]:
        actions: queue.Queue[HotkeyAction] = queue.Queue()
        listener = HotkeyListener.from_settings(HotkeySettings(**settings), actions.put)  # type: ignore[arg-type]
        listener.start()
        made.append(listener)
        return listener, actions

    yield make
    for listener in made:
        listener.stop()


def caps_on(xd: XDisplay) -> bool:
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(xd.display)
    try:
        return bool(d.screen().root.query_pointer().mask & X.LockMask)
    finally:
        d.close()


def caps_off(xd: XDisplay) -> None:
    """Turn Caps Lock off for the next tests (a tap, if it is on)."""
    if caps_on(xd):
        xd.xdotool("key", "Caps_Lock")
    wait_for(lambda: not caps_on(xd), timeout=5, what="Caps Lock off for the next tests")


def next_action(actions: queue.Queue[HotkeyAction], timeout: float = 10.0) -> HotkeyAction:
    return actions.get(timeout=timeout)


def drained(actions: queue.Queue[HotkeyAction]) -> list[HotkeyAction]:
    out = []
    while True:
        try:
            out.append(actions.get_nowait())
        except queue.Empty:
            return out


def test_hold_caps_lock_starts_and_stops_and_restores_lock(x_env: XDisplay, make_listener: Make) -> None:
    listener, actions = make_listener(key="caps_lock", min_hold_s=0.0)
    assert not caps_on(x_env)
    x_env.xdotool("keydown", "Caps_Lock")
    first = next_action(actions)
    assert (first.kind, first.mode_name, first.binding) == (ActionKind.START, "", "caps_lock")
    assert listener.recording
    x_env.xdotool("keyup", "Caps_Lock")
    second = next_action(actions)
    assert second.kind is ActionKind.STOP and second.time >= first.time
    wait_for(lambda: not caps_on(x_env), timeout=5, what="Caps Lock to be off again")
    # a second hold works the same (our own restoring tap was not taken for a press)
    x_env.xdotool("keydown", "Caps_Lock")
    assert next_action(actions).kind is ActionKind.START
    x_env.xdotool("keyup", "Caps_Lock")
    assert next_action(actions).kind is ActionKind.STOP
    wait_for(lambda: not caps_on(x_env), timeout=5, what="Caps Lock to be off again")
    assert drained(actions) == []


def test_caps_lock_that_was_on_stays_on(x_env: XDisplay, make_listener: Make) -> None:
    x_env.xdotool("key", "Caps_Lock")  # turn it on before the listener starts
    wait_for(lambda: caps_on(x_env), timeout=5, what="Caps Lock on")
    listener, actions = make_listener(key="caps_lock", min_hold_s=0.0)
    try:
        x_env.xdotool("keydown", "Caps_Lock")
        assert next_action(actions).kind is ActionKind.START
        x_env.xdotool("keyup", "Caps_Lock")
        assert next_action(actions).kind is ActionKind.STOP
        wait_for(lambda: caps_on(x_env), timeout=5, what="Caps Lock to be on again")
    finally:
        listener.stop()  # else it would undo the tap below, which is not a dictation
        caps_off(x_env)


def test_caps_lock_released_and_pressed_again_at_once_starts_the_next_dictation(
    x_env: XDisplay, make_listener: Make
) -> None:
    """The lock used to be put back with a Caps Lock tap whose next two events were ignored.
    When the user's new press reached the server before that tap, the press was the event
    ignored: no second recording, and the tap's release came as a stray key-up."""
    from Xlib import XK, X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    _listener, actions = make_listener(key="caps_lock", min_hold_s=0.0)
    d = xdisplay.Display(x_env.display)
    keycode = d.keysym_to_keycode(XK.string_to_keysym("Caps_Lock"))
    try:
        x_env.xdotool("keydown", "Caps_Lock")
        assert next_action(actions).kind is ActionKind.START
        # Both events are in before the listener can answer the release (a fast finger, or a
        # listener slowed by a decode): the server serves no other client meanwhile.
        d.grab_server()
        xtest.fake_input(d, X.KeyRelease, keycode)
        xtest.fake_input(d, X.KeyPress, keycode)
        d.ungrab_server()
        d.sync()
        assert [next_action(actions).kind for _ in range(2)] == [ActionKind.STOP, ActionKind.START]
        x_env.xdotool("keyup", "Caps_Lock")
        assert next_action(actions).kind is ActionKind.STOP
        wait_for(lambda: not caps_on(x_env), timeout=5, what="Caps Lock off, as before the holds")
        assert drained(actions) == []
    finally:
        d.close()
        caps_off(x_env)


def test_a_caps_lock_tap_too_short_to_dictate_toggles_the_lock(x_env: XDisplay, make_listener: Make) -> None:
    # Every cycle was put back, so a lock that was on (at start, or turned on elsewhere) could
    # not be turned off with the key while Holdtype ran.
    _listener, actions = make_listener(key="caps_lock", min_hold_s=5.0)
    try:
        for lock in (True, False):  # on, then off again
            x_env.xdotool("key", "Caps_Lock")
            assert [next_action(actions).kind for _ in range(2)] == [ActionKind.START, ActionKind.DISCARD]
            wait_for(lambda lock=lock: caps_on(x_env) == lock, timeout=5, what=f"the lock {lock}")
    finally:
        caps_off(x_env)


def test_a_caps_lock_double_tap_in_toggle_mode_toggles_the_lock(x_env: XDisplay, make_listener: Make) -> None:
    # The double tap's discard came on its press and only a discard on a release kept the
    # lock: in toggle mode Caps Lock could not be turned on or off while Holdtype ran.
    listener, actions = make_listener(key="caps_lock", mode="toggle", min_hold_s=5.0)
    try:
        for lock in (True, False):  # on, then off again
            x_env.xdotool("key", "Caps_Lock")
            assert next_action(actions).kind is ActionKind.START
            # (the first release handled, and the lock put back, before the second tap: sent
            # at once, it reached the server first and the restore undid it)
            assert listener.wait_keys_up(5)
            x_env.xdotool("key", "Caps_Lock")
            assert next_action(actions).kind is ActionKind.DISCARD
            wait_for(lambda lock=lock: caps_on(x_env) == lock, timeout=5, what=f"the lock {lock}")
    finally:
        caps_off(x_env)


def test_stopping_mid_hold_puts_caps_lock_back(x_env: XDisplay, make_listener: Make) -> None:
    # The app quitting (SIGTERM) with the key held left the lock on.
    listener, actions = make_listener(key="caps_lock", min_hold_s=0.0)
    x_env.xdotool("keydown", "Caps_Lock")
    assert next_action(actions).kind is ActionKind.START
    wait_for(lambda: caps_on(x_env), timeout=5, what="the press to turn Caps Lock on")
    listener.stop()
    x_env.xdotool("keyup", "Caps_Lock")
    try:
        wait_for(lambda: not caps_on(x_env), timeout=5, what="Caps Lock put back off")
    finally:
        caps_off(x_env)


def test_auto_repeat_does_not_restart(x_env: XDisplay, make_listener: Make) -> None:
    _listener, actions = make_listener(key="f9", min_hold_s=0.0)
    x_env.xdotool("keydown", "F9")
    assert next_action(actions).kind is ActionKind.START
    x_env.xdotool("keydown", "F9")  # repeated press without a release, as auto-repeat sends
    x_env.xdotool("keydown", "F9")
    x_env.xdotool("keyup", "F9")
    assert next_action(actions).kind is ActionKind.STOP
    assert drained(actions) == []


def test_short_tap_is_discarded(x_env: XDisplay, make_listener: Make) -> None:
    _listener, actions = make_listener(key="f9", min_hold_s=5.0)
    x_env.xdotool("key", "F9")
    assert next_action(actions).kind is ActionKind.START
    assert next_action(actions).kind is ActionKind.DISCARD


def test_escape_cancels_a_recording(x_env: XDisplay, make_listener: Make) -> None:
    listener, actions = make_listener(key="f9", min_hold_s=0.0)
    x_env.xdotool("key", "Escape")  # no key held: passed on for a dictation still in flight
    idle = next_action(actions)
    assert (idle.kind, idle.mode_name, idle.binding) == (ActionKind.CANCEL, "", "")
    assert not listener.recording
    x_env.xdotool("keydown", "F9")
    assert next_action(actions).kind is ActionKind.START
    x_env.xdotool("key", "Escape")
    assert next_action(actions).kind is ActionKind.CANCEL
    assert not listener.recording
    x_env.xdotool("keyup", "F9")  # the release after a cancel does nothing
    x_env.xdotool("keydown", "F9")
    assert next_action(actions).kind is ActionKind.START  # proves the Escape/keyup produced nothing
    x_env.xdotool("keyup", "F9")
    assert next_action(actions).kind is ActionKind.STOP


def test_the_listener_says_while_a_bound_key_is_down(x_env: XDisplay, make_listener: Make) -> None:
    """Text waits for wait_keys_up: in toggle mode too, for the length of each press."""
    listener, actions = make_listener(key="f9", mode="toggle", min_hold_s=0.0)
    assert listener.wait_keys_up(0) and listener.presses == 0
    x_env.xdotool("keydown", "F9")
    assert next_action(actions).kind is ActionKind.START
    assert not listener.wait_keys_up(0) and listener.presses == 1
    x_env.xdotool("keyup", "F9")
    assert listener.wait_keys_up(5)
    assert listener.recording  # toggle: still recording, but no key is down
    x_env.xdotool("keydown", "F9")
    assert next_action(actions).kind is ActionKind.STOP
    assert not listener.wait_keys_up(0) and listener.presses == 2
    listener.stop()  # a stopped listener holds nothing down
    assert listener.wait_keys_up(0)
    x_env.xdotool("keyup", "F9")


def test_combination_needs_its_modifiers(x_env: XDisplay, make_listener: Make) -> None:
    _listener, actions = make_listener(key="ctrl+alt+space", min_hold_s=0.0)
    x_env.xdotool("key", "space")  # without modifiers: nothing
    x_env.xdotool("key", "ctrl+space")  # missing alt: nothing
    x_env.xdotool("keydown", "ctrl+alt+space")
    first = next_action(actions)
    assert (first.kind, first.binding) == (ActionKind.START, "ctrl+alt+space")
    x_env.xdotool("keyup", "space")
    assert next_action(actions).kind is ActionKind.STOP
    x_env.xdotool("keyup", "ctrl+alt")
    assert drained(actions) == []


def test_a_shifted_character_released_after_shift_still_stops(x_env: XDisplay, make_listener: Make) -> None:
    """Ctrl+Shift+1 goes down as "!" (what the settings field captures) but, with Shift let go
    first, comes up as "1": the recording never stopped and text waited for the key for ever."""
    listener, actions = make_listener(key="ctrl+shift+!", min_hold_s=0.0)
    x_env.xdotool("keydown", "ctrl", "keydown", "shift", "keydown", "1")
    assert next_action(actions).kind is ActionKind.START
    x_env.xdotool("keyup", "shift", "keyup", "1")
    assert next_action(actions).kind is ActionKind.STOP
    assert listener.wait_keys_up(5)
    x_env.xdotool("keyup", "ctrl")
    assert drained(actions) == []


def test_a_shifted_digit_written_by_hand_fires(x_env: XDisplay, make_listener: Make) -> None:
    """``config set hotkey.key ctrl+shift+1``: the press arrives as "!" (what Shift makes of
    "1"), so the hotkey never fired, whichever key went up first."""
    listener, actions = make_listener(key="ctrl+shift+1", min_hold_s=0.0)
    for first_up in ("1", "shift"):
        x_env.xdotool("keydown", "ctrl", "keydown", "shift", "keydown", "1")
        start = next_action(actions)
        assert (start.kind, start.binding) == (ActionKind.START, "ctrl+shift+1")
        second_up = "shift" if first_up == "1" else "1"
        x_env.xdotool("keyup", first_up, "keyup", second_up)
        assert next_action(actions).kind is ActionKind.STOP
        assert listener.wait_keys_up(5)
        x_env.xdotool("keyup", "ctrl")
    x_env.xdotool("keydown", "ctrl", "keydown", "1", "keyup", "1", "keyup", "ctrl")  # no Shift: not it
    x_env.xdotool("keydown", "shift", "keydown", "1", "keyup", "1", "keyup", "shift")  # no Ctrl
    x_env.xdotool("keydown", "ctrl", "keydown", "shift", "keydown", "1")  # comes after those events
    assert next_action(actions).kind is ActionKind.START  # (not an action of theirs)
    x_env.xdotool("keyup", "1", "keyup", "shift", "keyup", "ctrl")
    assert next_action(actions).kind is ActionKind.STOP
    assert drained(actions) == []


def test_a_character_typed_with_shift_fires_with_shift_held(x_env: XDisplay, make_listener: Make) -> None:
    """``ctrl+alt++``: "+" is Shift and "=" on a US layout, so the press came with Shift held,
    which did not match the binding's modifiers, and the grab took Ctrl+Alt+= instead."""
    listener, actions = make_listener(key="ctrl+alt++", min_hold_s=0.0)
    x_env.xdotool("keydown", "ctrl", "keydown", "alt", "keydown", "shift", "keydown", "equal")
    start = next_action(actions)
    assert (start.kind, start.binding) == (ActionKind.START, "ctrl+alt++")
    x_env.xdotool("keyup", "equal", "keyup", "shift", "keyup", "alt", "keyup", "ctrl")
    assert next_action(actions).kind is ActionKind.STOP
    x_env.xdotool("keydown", "ctrl", "keydown", "alt", "keydown", "equal", "keyup", "equal")  # "=": not it
    x_env.xdotool("keydown", "shift", "keydown", "equal")  # comes after those events
    assert next_action(actions).kind is ActionKind.START  # (not an action of theirs)
    x_env.xdotool("keyup", "equal", "keyup", "shift", "keyup", "alt", "keyup", "ctrl")
    assert next_action(actions).kind is ActionKind.STOP
    assert listener.wait_keys_up(5) and drained(actions) == []


def test_a_modifier_holdtype_itself_holds_does_not_spoil_a_press(
    x_env: XDisplay, make_listener: Make
) -> None:
    """``xdotool type`` holds Shift for each capital: an F9 pressed at that instant came as
    Shift+F9 and was ignored, so the next dictation never started (seen typing into xterm)."""
    listener, actions = make_listener(key="f9", min_hold_s=0.0)
    x_env.xdotool("keydown", "Shift_L", "keydown", "F9", "keyup", "F9", "keyup", "Shift_L")  # the user's
    x_env.xdotool("keydown", "F9", "keyup", "F9")
    first = [next_action(actions).kind, next_action(actions).kind]  # plain F9: its events are in
    assert first == [ActionKind.START, ActionKind.STOP]  # (and Shift+F9 before it did nothing)
    with listener.sending_keys():
        x_env.xdotool("keydown", "Shift_L")  # Holdtype's own, a capital being typed
        x_env.xdotool("keydown", "F9")  # the user's
        assert next_action(actions).kind is ActionKind.START
        x_env.xdotool("keyup", "Shift_L")
        x_env.xdotool("keyup", "F9")
        assert next_action(actions).kind is ActionKind.STOP
    assert drained(actions) == []


def test_a_combination_pressed_while_holdtype_sends_keys_still_works(
    x_env: XDisplay, make_listener: Make
) -> None:
    """Modifiers that go down while Holdtype types may be the user's: ctrl+alt+space held then
    is that hotkey, and plain space is not."""
    listener, actions = make_listener(key="ctrl+alt+space", min_hold_s=0.0)
    with listener.sending_keys():
        x_env.xdotool("key", "space")
        x_env.xdotool("keydown", "ctrl+alt+space")
        first = next_action(actions)
        assert (first.kind, first.binding) == (ActionKind.START, "ctrl+alt+space")
        x_env.xdotool("keyup", "space", "keyup", "ctrl+alt")
        assert next_action(actions).kind is ActionKind.STOP
    assert drained(actions) == []


def test_toggle_mode_and_mode_key(x_env: XDisplay, make_listener: Make) -> None:
    _listener, actions = make_listener(
        key="f9", mode="toggle", min_hold_s=0.0, mode_keys={"right_alt": "email"}
    )
    x_env.xdotool("key", "F9")
    assert next_action(actions).kind is ActionKind.START
    x_env.xdotool("key", "F9")
    assert next_action(actions).kind is ActionKind.STOP
    x_env.xdotool("key", "Alt_R")
    start = next_action(actions)
    assert (start.kind, start.mode_name, start.binding) == (ActionKind.START, "email", "alt_r")
    x_env.xdotool("key", "Alt_R")
    assert next_action(actions).kind is ActionKind.STOP


def test_right_alt_is_heard_on_a_layout_with_altgr(x_env: XDisplay, make_listener: Make) -> None:
    # On German, French, Nordic... layouts right Alt is ISO_Level3_Shift, which pynput names no
    # key: a right_alt (or alt_gr) hotkey was never heard there, with no word why.
    require_tools("setxkbmap", fix="sudo apt-get install x11-xkb-utils")
    x_env.run("setxkbmap", "de")
    try:
        for key in ("right_alt", "alt_gr"):
            listener, actions = make_listener(key=key, min_hold_s=0.0)
            x_env.xdotool("keydown", "ISO_Level3_Shift")
            assert next_action(actions).kind is ActionKind.START
            x_env.xdotool("keyup", "ISO_Level3_Shift")
            assert next_action(actions).kind is ActionKind.STOP
            listener.stop()
    finally:
        x_env.run("setxkbmap", "us")


def test_alt_let_go_while_shift_is_held_is_not_held_for_ever(x_env: XDisplay, make_listener: Make) -> None:
    """Alt released with Shift held (an Alt+Shift layout switch) comes as Meta_L, Alt_R as
    Meta_R: that release was dropped, "alt" stayed held, and no hotkey without Alt fired again
    until Alt was tapped alone; a right_alt hotkey's release was lost (the recording ran on)."""
    _listener, actions = make_listener(key="f9", min_hold_s=0.0, mode_keys={"right_alt": "email"})
    x_env.xdotool("keydown", "Alt_L", "keydown", "Shift_L", "keyup", "Alt_L", "keyup", "Shift_L")
    x_env.xdotool("keydown", "F9", "keyup", "F9")
    assert [next_action(actions).kind, next_action(actions).kind] == [ActionKind.START, ActionKind.STOP]
    x_env.xdotool("keydown", "Alt_R")
    start = next_action(actions)
    assert (start.kind, start.binding) == (ActionKind.START, "alt_r")
    x_env.xdotool("keydown", "Shift_R", "keyup", "Alt_R")
    assert next_action(actions).kind is ActionKind.STOP
    x_env.xdotool("keyup", "Shift_R")
    x_env.xdotool("keydown", "F9", "keyup", "F9")
    assert [next_action(actions).kind, next_action(actions).kind] == [ActionKind.START, ActionKind.STOP]
    assert drained(actions) == []


def test_altgr_that_holdtype_types_with_is_not_the_users_right_alt(
    x_env: XDisplay, make_listener: Make
) -> None:
    """``xdotool type`` presses ISO_Level3_Shift for @ { } [ ] on a German layout: it was taken
    for the right_alt hotkey, and typing "a@b.de" started a dictation (in toggle mode, one that
    never ended)."""
    require_tools("setxkbmap", fix="sudo apt-get install x11-xkb-utils")
    x_env.run("setxkbmap", "de")
    try:
        listener, actions = make_listener(
            key="right_alt", mode="toggle", min_hold_s=0.0, mode_keys={"f9": "x"}
        )
        with listener.sending_keys():
            x_env.xdotool("type", "a@b.de {x}")
        x_env.xdotool("key", "F9")  # after the typed keys: the first the listener may act on
        start = next_action(actions)
        assert (start.kind, start.binding) == (ActionKind.START, "f9")
        x_env.xdotool("key", "F9")
        assert next_action(actions).kind is ActionKind.STOP
        wait_for(lambda: not listener.sending, timeout=5, what="the typed keys' grace to pass")
        x_env.xdotool("key", "ISO_Level3_Shift")  # the user's own, after the typing: heard
        start = next_action(actions)
        assert (start.kind, start.binding) == (ActionKind.START, "alt_r")
        x_env.xdotool("key", "ISO_Level3_Shift")
        assert next_action(actions).kind is ActionKind.STOP
        assert drained(actions) == []
    finally:
        x_env.run("setxkbmap", "us")


def test_paused_ignores_the_hotkey(x_env: XDisplay, make_listener: Make) -> None:
    listener, actions = make_listener(key="f9", min_hold_s=0.0, paused=True)
    assert listener.paused
    x_env.xdotool("key", "F9")
    listener.paused = False
    x_env.xdotool("keydown", "F9")
    assert next_action(actions).kind is ActionKind.START  # the paused tap emitted nothing before
    x_env.xdotool("keyup", "F9")
    assert next_action(actions).kind is ActionKind.STOP


def test_no_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    ok, why = HotkeyListener.is_available()
    assert not ok and "DISPLAY is not set" in why
    listener = HotkeyListener({parse_binding("f9"): ""}, "esc", lambda a: None)
    with pytest.raises(HotkeyError, match="DISPLAY is not set"):
        listener.start()


def test_wayland_without_display_explains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    ok, why = HotkeyListener.is_available()
    assert not ok and "Wayland" in why


def test_same_key_bound_twice_is_an_error() -> None:
    # The settings refuse it (a listener would arm neither key)...
    with pytest.raises(ValueError, match=r"F9 starts mode 'email' \(hotkey.mode_keys\) and is also the dict"):
        HotkeySettings(key="f9", mode_keys={"F9": "email"})
    # ...and the listener too, given settings built without those checks.
    unchecked = HotkeySettings.model_construct(key="f9", mode_keys={"F9": "email"})
    with pytest.raises(HotkeyError, match="bound twice"):
        HotkeyListener.from_settings(unchecked, lambda a: None)


@pytest.mark.parametrize(
    ("binding", "event", "expected"),
    [
        ("ctrl", "ctrl_r", True),
        ("ctrl", "ctrl", True),
        ("ctrl_l", "ctrl", True),
        ("ctrl_r", "ctrl", False),
        ("alt_r", "alt_r", True),
        ("alt_r", "alt", False),
        ("alt_r", "alt_gr", True),  # the same key on a layout with AltGr
        ("alt_gr", "alt_r", True),
        ("caps_lock", "caps_lock", True),
        ("d", "d", True),
        ("d", "e", False),
    ],
)
def test_key_matches(binding: str, event: str, expected: bool) -> None:
    assert key_matches(binding, event) is expected


def test_a_bound_key_does_not_reach_the_focused_window(  # type: ignore[no-untyped-def]
    x_env: XDisplay, make_listener: Make, target_window
) -> None:
    """Grabbed on X11: a held F9 (and its auto-repeats) reached the focused editor, and
    ctrl+alt+space with ctrl let go first typed spaces. A letter key shows it in a text field
    (the settings refuse a letter alone; the listener takes any key)."""
    listener, actions = make_listener(key="d", min_hold_s=0.0)
    target_window.focus()
    x_env.xdotool("keydown", "d")
    assert next_action(actions).kind is ActionKind.START
    x_env.xdotool("keyup", "d")
    assert next_action(actions).kind is ActionKind.STOP
    x_env.xdotool("type", "ok")
    target_window.wait_for_text("ok")  # typing reaches the window, and the "d" before it did not
    assert target_window.text() == "ok"
    listener.paused = True  # paused, the key is the window's again
    x_env.xdotool("key", "d")
    target_window.wait_for_text("okd")


def test_the_cancel_key_does_not_reach_the_focused_window_while_recording(  # type: ignore[no-untyped-def]
    x_env: XDisplay, make_listener: Make, target_window
) -> None:
    """Esc cancelled the dictation and reached the window too (vim left insert mode): with
    Caps Lock (never grabbed) or in toggle mode no key is held, so the keyboard was not
    grabbed. A letter as the cancel key shows it in a text field; idle, it is the window's."""
    listener, actions = make_listener(key="d", cancel_key="e", mode="toggle", min_hold_s=0.0)
    target_window.focus()
    x_env.xdotool("key", "d")
    assert next_action(actions).kind is ActionKind.START
    x_env.xdotool("key", "e")
    assert next_action(actions).kind is ActionKind.CANCEL
    assert not listener.recording
    x_env.xdotool("type", "ok")
    target_window.wait_for_text("ok")
    assert target_window.text() == "ok"  # neither the "d" nor the "e" reached it
    # Given back once the cancel key is up: its release comes after the CANCEL action.
    wait_for(lambda: listener._cancel_grab is None, timeout=10, what="the cancel key to be given back")
    x_env.xdotool("key", "e")  # idle: the key is the window's again (and cancels nothing there)
    target_window.wait_for_text("oke")
    assert next_action(actions).kind is ActionKind.CANCEL
    x_env.xdotool("key", "d")  # a recording that ends by the hotkey gives the key back too
    assert next_action(actions).kind is ActionKind.START
    x_env.xdotool("key", "d")
    assert next_action(actions).kind is ActionKind.STOP
    x_env.xdotool("key", "e")
    target_window.wait_for_text("okee")


def test_the_key_recording_is_on_when_start_returns(x_env: XDisplay, make_listener: Make) -> None:
    """pynput's ``wait()`` returns just before its thread asks the X server to enable the RECORD
    context: on a busy machine a tap sent right after start was never heard (a CI run lost the
    first F9 of the toggle test). ``start()`` now returns once the server has it enabled, so a
    key sent at once is heard, every time."""
    from Xlib import display as xdisplay

    from app.hotkey.xrecord import record_enabled

    d = xdisplay.Display(x_env.display)
    try:
        for _ in range(8):
            listener, actions = make_listener(key="f9", min_hold_s=0.0)
            assert record_enabled(d, listener._listener._context)  # type: ignore[union-attr]
            x_env.xdotool("key", "F9")
            assert next_action(actions).kind is ActionKind.START
            assert next_action(actions).kind is ActionKind.STOP
            listener.stop()
    finally:
        d.close()


def test_waiting_for_the_key_recording_reads_the_server(x_env: XDisplay) -> None:
    """The wait asks the X server itself: a context that is created but not enabled is not
    taken for one that records, and one enabled from another thread is seen at once."""
    import threading
    from types import SimpleNamespace

    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.ext import record

    from app.hotkey.xrecord import record_enabled, unblock_record, wait_until_recording

    owner = xdisplay.Display(x_env.display)
    reader = xdisplay.Display(x_env.display)
    spec = {
        "core_requests": (0, 0), "core_replies": (0, 0), "ext_requests": (0, 0, 0, 0),
        "ext_replies": (0, 0, 0, 0), "delivered_events": (0, 0),
        "device_events": (X.KeyPress, X.KeyRelease), "errors": (0, 0),
        "client_started": False, "client_died": False,
    }  # fmt: skip
    context = owner.record_create_context(0, [record.AllClients], [spec])
    owner.sync()
    # Only the attributes of pynput's listener that the wait reads; the context is the server's.
    listener = SimpleNamespace(_context=context, running=True)
    thread = threading.Thread(target=owner.record_enable_context, args=(context, lambda reply: None))
    try:
        assert not record_enabled(reader, context)
        assert not wait_until_recording(listener, timeout=0.2)
        thread.start()
        assert wait_until_recording(listener, timeout=5)
        assert record_enabled(reader, context)
    finally:
        unblock_record(listener)
        thread.join(timeout=5)
        reader.close()
        owner.close()
    assert not thread.is_alive()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_listener_that_cannot_reach_the_display_is_not_waited_on_forever(
    x_env: XDisplay, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """pynput's own wait() never returns when its thread fails before it is ready: a start
    whose display connection was refused hung Holdtype before it was ready, for good."""
    from pynput import keyboard  # imported while the display answers, as Holdtype does

    from app.hotkey.listener import wait_ready

    monkeypatch.setenv("DISPLAY", ":4093")  # no X server there: the listener's thread fails to connect
    listener = keyboard.Listener()
    listener.daemon = True
    listener.start()
    assert wait_ready(listener, timeout=60) is False
    assert not listener.is_alive()
    monkeypatch.setenv("DISPLAY", x_env.display)
    ready = keyboard.Listener()
    ready.daemon = True
    ready.start()
    try:
        assert wait_ready(ready, timeout=60) is True
    finally:
        ready.stop()
        ready.join(5)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_start_whose_listener_cannot_connect_says_so(x_env: XDisplay, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The start gives up with a HotkeyError (the engine reports the hotkey unavailable and
    starts the rest) instead of waiting for good. FAKE: the display check that comes first is
    told the display answers, to reach what it cannot see: a connection refused after it."""
    from pynput import keyboard  # noqa: F401 - imported while the display answers

    import app.hotkey.listener as listener_module

    monkeypatch.setattr(listener_module, "is_available", lambda: (True, "X11 (told so by the test)"))
    monkeypatch.setenv("DISPLAY", ":4093")  # no X server there
    listener = HotkeyListener.from_settings(HotkeySettings(key="f9"), lambda action: None)
    with pytest.raises(HotkeyError, match="ended before it was ready"):
        listener.start()
    assert not listener.running


def test_the_listener_counts_the_sent_keys_its_grab_took(x_env: XDisplay, make_listener: Make) -> None:
    """A paste shortcut sent while F9 is held reaches the grab, not the window: the output
    worker pastes again after the release only then. With no key held the window gets it,
    and a Ctrl alone pastes nothing wherever it goes: neither counts."""
    listener, actions = make_listener(key="f9", min_hold_s=0.0)
    with listener.sending_keys():
        x_env.xdotool("key", "ctrl+v")  # no key held: the focused window's
        x_env.xdotool("keydown", "F9")
        assert next_action(actions).kind is ActionKind.START
        x_env.xdotool("key", "ctrl")  # taken by the grab, but only a modifier
        x_env.xdotool("key", "ctrl+v")
        wait_for(lambda: listener.keys_taken >= 1, timeout=10, what="the grab to take the V")
        x_env.xdotool("keyup", "F9")
        assert next_action(actions).kind is ActionKind.STOP
    assert listener.keys_taken == 1  # (the grab reads its keys in order: the Ctrl came before)
    assert drained(actions) == []


def test_a_caps_lock_the_server_will_not_set_costs_no_stop(
    x_env: XDisplay, make_listener: Make, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With XKB turned off in libX11 (XKB_DISABLE=1) the server refuses to set Caps Lock: that
    error left the release before its STOP was handed on and before the keys were up, so the
    recording ran to its length limit and every paste waited. The restore is given up (said
    once); the dictation still ends."""
    monkeypatch.setenv("XKB_DISABLE", "1")
    listener, actions = make_listener(key="caps_lock", min_hold_s=0.0)
    try:
        for _ in range(2):
            x_env.xdotool("keydown", "Caps_Lock")
            assert next_action(actions).kind is ActionKind.START
            x_env.xdotool("keyup", "Caps_Lock")
            assert next_action(actions).kind is ActionKind.STOP
            assert listener.wait_keys_up(5)
        assert drained(actions) == []
        said = [r for r in caplog.records if "Caps Lock" in r.getMessage() and r.levelname == "WARNING"]
        assert len(said) == 1, [r.getMessage() for r in caplog.records]
    finally:
        caps_off(x_env)
