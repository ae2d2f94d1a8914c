"""macOS hotkey logic that can be checked on Linux: Caps Lock as a press-to-start key, and
pynput's keyboard layout read once on the main thread.

macOS cannot run here. The key events below are the ones pynput's macOS backend sends (for Caps
Lock, a press and a release at once each time the lock toggles: ``keyboard/_darwin.py``), fed to
the real listener's state machine; the layout test uses a stand-in for pynput's Carbon module,
named as such, since Carbon exists on macOS only.
"""

from __future__ import annotations

import contextlib
import threading
import types
from collections.abc import Iterator

import pytest

from app.hotkey.binding import parse_binding
from app.hotkey.darwin_layout import prepare_keyboard_layout, use_layout_read_now
from app.hotkey.listener import ActionKind, HotkeyAction, HotkeyListener


def _caps_toggle(listener: HotkeyListener) -> None:
    """What pynput's macOS backend sends when Caps Lock's lock toggles: press, then release."""
    listener._handle("caps_lock", True)
    listener._handle("caps_lock", False)


def _listener(monkeypatch: pytest.MonkeyPatch, platform: str, key: str = "caps_lock") -> list[HotkeyAction]:
    monkeypatch.setattr("sys.platform", platform)
    got: list[HotkeyAction] = []
    listener = HotkeyListener({parse_binding(key): ""}, "esc", got.append, mode="hold", min_hold_s=0.0)
    _caps_toggle(listener)
    _caps_toggle(listener)
    return got


def test_caps_lock_on_macos_starts_at_one_toggle_and_stops_at_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kinds = [action.kind for action in _listener(monkeypatch, "darwin")]
    assert kinds == [ActionKind.START, ActionKind.STOP]


def test_caps_lock_in_hold_mode_elsewhere_is_still_held(monkeypatch: pytest.MonkeyPatch) -> None:
    # the same events on Linux are two zero-length holds (min_hold_s 0: both kept)
    kinds = [action.kind for action in _listener(monkeypatch, "linux")]
    assert kinds == [ActionKind.START, ActionKind.STOP, ActionKind.START, ActionKind.STOP]


def test_another_key_on_macos_keeps_hold_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.platform", "darwin")
    got: list[HotkeyAction] = []
    listener = HotkeyListener({parse_binding("f9"): ""}, "esc", got.append, mode="hold", min_hold_s=0.0)
    listener._handle("f9", True)
    listener._handle("f9", False)
    assert [action.kind for action in got] == [ActionKind.START, ActionKind.STOP]


def _stand_in_carbon(reads: list[str]) -> tuple[types.ModuleType, types.ModuleType]:
    """A stand-in for pynput's ``_util.darwin`` (Carbon calls, macOS only) and its keyboard
    backend: ``keycode_context`` records the thread it runs on."""

    @contextlib.contextmanager
    def keycode_context() -> Iterator[tuple[int, bytes]]:
        reads.append(threading.current_thread().name)
        yield (40, b"layout")

    util = types.ModuleType("stand_in_pynput_util_darwin")
    util.keycode_context = keycode_context  # type: ignore[attr-defined]
    keyboard = types.ModuleType("stand_in_pynput_keyboard_darwin")
    keyboard.keycode_context = keycode_context  # type: ignore[attr-defined]
    return util, keyboard


def test_the_layout_is_read_once_on_the_calling_thread_and_shared() -> None:
    reads: list[str] = []
    util, keyboard = _stand_in_carbon(reads)
    assert use_layout_read_now(util, keyboard)
    assert reads == [threading.current_thread().name]

    seen: list[object] = []

    def listener_thread() -> None:  # what pynput's listener does as it starts
        with keyboard.keycode_context() as context:
            seen.append(context)
        with util.keycode_context() as context:  # what its controller's key map does
            seen.append(context)

    thread = threading.Thread(target=listener_thread, name="pynput-listener")
    thread.start()
    thread.join(5)
    assert seen == [(40, b"layout"), (40, b"layout")]
    assert reads == [threading.current_thread().name]  # never read on pynput's thread

    # read again at the next start (new settings), through Carbon, not through the copy
    assert use_layout_read_now(util, keyboard)
    assert len(reads) == 2


def test_a_layout_that_cannot_be_read_leaves_pynput_as_it_was() -> None:
    @contextlib.contextmanager
    def failing() -> Iterator[tuple[int, bytes]]:
        raise OSError("no keyboard input source")
        yield (0, b"")  # pragma: no cover

    util = types.ModuleType("stand_in_pynput_util_darwin")
    util.keycode_context = failing  # type: ignore[attr-defined]
    keyboard = types.ModuleType("stand_in_pynput_keyboard_darwin")
    keyboard.keycode_context = failing  # type: ignore[attr-defined]
    assert not use_layout_read_now(util, keyboard)
    assert keyboard.keycode_context is failing


def test_nothing_is_done_off_macos_or_off_the_main_thread() -> None:
    assert not prepare_keyboard_layout("linux")
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(prepare_keyboard_layout("darwin")))
    thread.start()
    thread.join(5)
    assert result == [False]


@pytest.mark.parametrize("key", ["insert", "print_screen", "ctrl+scroll_lock", "pause"])
def test_keys_macos_does_not_report_are_refused_there(key: str) -> None:
    from app.config import HotkeySettings
    from app.hotkey.binding import check_hotkey

    canonical, problem = check_hotkey(key, HotkeySettings(), platform="darwin")
    assert canonical is None and problem is not None and "macOS has no" in problem
    assert check_hotkey(key, HotkeySettings(), platform="linux")[1] is None


def test_a_right_option_let_go_while_left_option_is_held_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """FAKE macOS event stream (the events pynput's macOS backend sends; Quartz cannot run
    here): it tells a modifier key's press from its release by whether the modifier's flag
    is set, so the right Option let go while the left one is held (the flag stays set) comes
    as a second press. The recording never stopped, and "alt_r" stayed held for good."""
    monkeypatch.setattr("sys.platform", "darwin")
    got: list[HotkeyAction] = []
    keys = {parse_binding("right_alt"): "", parse_binding("f9"): "other"}
    listener = HotkeyListener(keys, "esc", got.append, mode="hold", min_hold_s=0.0)
    listener._handle("alt", True)  # left Option, held
    listener._handle("alt_r", True)
    listener._handle("alt_r", True)  # right Option let go: the Option flag is still set
    assert [action.kind for action in got] == [ActionKind.START, ActionKind.STOP]
    listener._handle("alt", False)  # left Option let go: the flag clears
    listener._handle("f9", True)  # no Option is left held
    listener._handle("f9", False)
    assert [action.kind for action in got][2:] == [ActionKind.START, ActionKind.STOP]
    assert listener.wait_keys_up(0)
