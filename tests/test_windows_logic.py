"""The decisions of Holdtype's Windows-only code, separated from the Win32 calls so that they
run here (Linux): which modifiers a paste releases, which key names a Windows key event has,
which clipboard formats are kept... The Win32 calls themselves are not run by these tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.bench.idle import memory_unmeasurable, peak_rss_mb, rss_mb
from app.hotkey.binding import parse_binding
from app.hotkey.listener import ActionKind, HotkeyListener
from app.insert.clipboard import win_formats_to_keep, win_restore_plan
from app.insert.windows import held_modifiers
from app.paths import REPLACE_RETRY_S, pid_alive, replace_file

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


def _caps_listener(mode: str, **bindings: str) -> tuple[HotkeyListener, list[ActionKind]]:
    kinds: list[ActionKind] = []
    keys = {parse_binding(key): name for key, name in (bindings or {"caps_lock": ""}).items()}
    listener = HotkeyListener(
        keys, "esc", lambda action: kinds.append(action.kind), mode=mode, min_hold_s=0.2
    )  # type: ignore[arg-type]
    return listener, kinds


def test_windows_keeps_a_dictating_caps_lock_from_the_system() -> None:
    """A hold long enough to dictate: press, auto-repeats and release all kept from Windows
    (so the lock never toggles), and no tap put through afterwards."""
    listener, kinds = _caps_listener("hold")
    assert listener._win32_caps_event(pressed=True) == (True, False)
    assert listener._win32_caps_event(pressed=True) == (True, False)  # auto-repeat
    time.sleep(0.25)
    assert listener._win32_caps_event(pressed=False) == (True, False)
    assert kinds == [ActionKind.START, ActionKind.STOP]


def test_windows_turns_a_caps_lock_tap_into_one_toggle() -> None:
    """A tap too short to dictate toggles the lock, as it does on X11: that is how the lock is
    turned on or off while Holdtype runs."""
    listener, kinds = _caps_listener("hold")
    assert listener._win32_caps_event(pressed=True) == (True, False)
    assert listener._win32_caps_event(pressed=False) == (True, True)
    assert kinds == [ActionKind.START, ActionKind.DISCARD]


def test_windows_toggle_mode_double_tap_toggles_the_lock_once() -> None:
    listener, kinds = _caps_listener("toggle")
    assert listener._win32_caps_event(pressed=True) == (True, False)  # starts
    assert listener._win32_caps_event(pressed=False) == (True, False)
    assert listener._win32_caps_event(pressed=True) == (True, False)  # too soon: a double tap
    assert listener._win32_caps_event(pressed=False) == (True, True)
    assert kinds == [ActionKind.START, ActionKind.DISCARD]


def test_windows_leaves_a_caps_lock_no_binding_takes_to_the_system() -> None:
    """Paused, or bound only with a modifier not held: Caps Lock is the system's, and toggles."""
    paused, kinds = _caps_listener("hold")
    paused.paused = True
    assert paused._win32_caps_event(pressed=True) == (False, False)
    assert paused._win32_caps_event(pressed=False) == (False, False)
    with_shift, more = _caps_listener("hold", **{"shift+caps_lock": ""})
    assert with_shift._win32_caps_event(pressed=True) == (False, False)
    assert with_shift._win32_caps_event(pressed=False) == (False, False)
    assert kinds == more == []


@pytest.mark.parametrize(
    ("platform", "env", "says"),
    [
        ("win32", {}, "Holdtype undoes the Caps Lock toggle."),
        ("linux", {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}, "Holdtype undoes the Caps Lock toggle."),
        ("linux", {"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, "X11 windows only"),
        ("linux", {"DISPLAY": ":0", "PYNPUT_BACKEND": "uinput"}, "still toggles"),
        ("darwin", {}, "still toggles"),
    ],
)
def test_the_settings_say_where_the_caps_lock_toggle_is_undone(
    platform: str, env: dict[str, str], says: str
) -> None:
    from app.ui.settings.general import caps_lock_undo

    assert says in caps_lock_undo(platform, env)


def test_a_pid_is_alive_while_its_process_runs_and_not_once_reaped() -> None:
    """The POSIX side of ``pid_alive`` (signal 0, nothing sent), on a real child process; the
    Windows side (OpenProcess + GetExitCodeProcess) cannot run here."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert pid_alive(child.pid)
        assert pid_alive(os.getpid())
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=20)
    assert not pid_alive(child.pid)  # ended and reaped: no such process
    assert not pid_alive(0) and not pid_alive(-1)  # never "the process group" (kill(0, ...))


def test_no_liveness_check_sends_a_signal_on_windows() -> None:
    """``os.kill(pid, 0)`` is CTRL_C_EVENT on Windows: the one check lives in ``pid_alive``."""
    app = Path(__file__).resolve().parent.parent / "app"
    users = [
        p.relative_to(app).as_posix()
        for p in app.rglob("*.py")
        if "os.kill(" in p.read_text(encoding="utf-8")
    ]
    assert users == ["paths.py"]


@pytest.mark.parametrize(
    ("present", "measurable"),
    [({"resource"}, True), ({"resource", "psutil"}, True), ({"psutil"}, True), (set(), False)],
)
def test_bench_idle_says_where_it_cannot_measure_memory(present: set[str], measurable: bool) -> None:
    """Windows has no ``resource`` module: without psutil the bench says so before it starts."""
    why = memory_unmeasurable(lambda name: name in present)
    assert (why is None) is measurable
    assert why is None or "Linux and macOS only" in why


def test_bench_idle_measures_memory_here() -> None:
    assert memory_unmeasurable() is None
    assert 0 < rss_mb() <= peak_rss_mb() + 1


def _immutable(path: Path, on: bool) -> bool:
    out = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True, check=False)
    return out.returncode == 0


def test_a_replace_refused_for_a_moment_is_tried_again(tmp_path: Path) -> None:
    """A settings file Windows will not let go of for a moment (an editor or a scan has it
    open) is written once it is free. Here a real refusal: the target made immutable (rename
    over it: EPERM, a PermissionError), let go 0.3 s later by another thread."""
    target, fresh = tmp_path / "config.toml", tmp_path / ".config-new.toml"
    target.write_text("old", encoding="utf-8")
    fresh.write_text("new", encoding="utf-8")
    if not _immutable(target, True):
        pytest.skip("this filesystem or user cannot make a file immutable (chattr)")
    letting_go = threading.Timer(0.3, _immutable, (target, False))
    letting_go.start()
    try:
        with pytest.raises(PermissionError):
            replace_file(fresh, target)  # on Linux: no retry, the error at once
        started = time.monotonic()
        replace_file(fresh, target, retry_s=REPLACE_RETRY_S)
        assert 0.25 < time.monotonic() - started < REPLACE_RETRY_S
    finally:
        letting_go.join()
        _immutable(target, False)
    assert target.read_text(encoding="utf-8") == "new" and not fresh.exists()


def test_a_replace_still_refused_after_the_retries_raises(tmp_path: Path) -> None:
    target, fresh = tmp_path / "config.toml", tmp_path / ".config-new.toml"
    target.write_text("old", encoding="utf-8")
    fresh.write_text("new", encoding="utf-8")
    if not _immutable(target, True):
        pytest.skip("this filesystem or user cannot make a file immutable (chattr)")
    try:
        started = time.monotonic()
        with pytest.raises(PermissionError):
            replace_file(fresh, target, retry_s=0.3)
        assert 0.25 < time.monotonic() - started < 1.0
    finally:
        _immutable(target, False)
    assert target.read_text(encoding="utf-8") == "old" and fresh.exists()


@pytest.mark.parametrize(
    ("system", "portaudio", "storage"),
    [
        ("linux", "sudo apt-get install libportaudio2", "sudo chown -R $USER"),
        ("darwin", "brew install portaudio", "sudo chown -R $USER"),
        ("win32", "pip install --force-reinstall sounddevice", "icacls"),
    ],
)
def test_doctor_fixes_are_the_platforms_own(system: str, portaudio: str, storage: str) -> None:
    from app.commands.doctor import portaudio_fix, storage_fix

    assert portaudio in portaudio_fix(system)
    assert storage in storage_fix(Path("/somewhere/holdtype"), system)
    assert ("apt-get" in portaudio_fix(system)) is (system == "linux")


def test_only_clipboard_formats_held_as_bytes_are_saved() -> None:
    """A screenshot (CF_DIB 8, CF_BITMAP 2 beside it, made from it again by Windows), HTML (a
    registered format, 0xC000 up), files (CF_HDROP 15): the handle formats are left out."""
    formats = [2, 8, 17, 0xC0A1, 15, 14, 3, 0x80, 0x82, 0x83, 0x8E, 9, 0x200, 0x3FF, 13, 13]
    assert win_formats_to_keep(formats) == [8, 17, 0xC0A1, 15, 13]


@pytest.mark.parametrize(
    ("old", "saved", "had_formats", "plan"),
    [
        ("text", [(13, b"t\\x00")], True, "formats"),
        (None, [(8, b"BM...")], True, "formats"),  # a picture only: put back
        ("text", None, True, "text"),  # the formats could not be saved: the text, as before
        (None, None, True, "leave"),  # something unreadable was there: never emptied
        (None, [], False, "clear"),  # it was empty: emptied again
    ],
)
def test_the_windows_clipboard_restore_plan(
    old: str | None, saved: list[tuple[int, bytes]] | None, had_formats: bool, plan: str
) -> None:
    assert win_restore_plan(old, saved, had_formats) == plan


def test_windows_altgr_fake_left_ctrl_does_not_spoil_a_right_alt_hotkey(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FAKE Windows event stream (pynput's hook cannot run here): on a layout with AltGr,
    Windows sends a left Ctrl down right before the right Alt, and pynput reports it as
    ctrl_l, so Ctrl seemed held and a right_alt hotkey never fired."""
    monkeypatch.setattr("sys.platform", "win32")
    kinds: list[ActionKind] = []
    keys = {parse_binding("right_alt"): "", parse_binding("f9"): "other"}
    listener = HotkeyListener(keys, "esc", lambda action: kinds.append(action.kind), min_hold_s=0.0)
    for name, pressed in [
        ("ctrl_l", True),  # the fake one, then AltGr itself
        ("alt_gr", True),
        ("alt_gr", True),  # auto-repeat sends both again
        ("ctrl_l", True),
        ("alt_gr", True),
        ("ctrl_l", False),
        ("alt_gr", False),
    ]:
        listener._handle(name, pressed)
    assert kinds == [ActionKind.START, ActionKind.STOP]
    listener._handle("f9", True)  # no Ctrl is left held either
    listener._handle("f9", False)
    assert kinds == [ActionKind.START, ActionKind.STOP, ActionKind.START, ActionKind.STOP]


def test_windows_a_ctrl_held_by_the_user_before_altgr_still_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's own left Ctrl, held well before another key, is not taken for AltGr's."""
    monkeypatch.setattr("sys.platform", "win32")
    kinds: list[ActionKind] = []
    listener = HotkeyListener(
        {parse_binding("ctrl+f9"): ""}, "esc", lambda action: kinds.append(action.kind), min_hold_s=0.0
    )
    for name, pressed in [("ctrl_l", True), ("f9", True), ("f9", False), ("ctrl_l", False)]:
        listener._handle(name, pressed)
    assert kinds == [ActionKind.START, ActionKind.STOP]
