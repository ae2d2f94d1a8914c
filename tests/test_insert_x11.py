"""Pasting and typing into a real Qt window on Xvfb, and leaving the clipboard as it was."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import PasteSettings
from app.hotkey.xrecord import unblock_record, wait_until_recording
from app.insert.base import Inserter, InsertError, choose_inserter, detect_backend, with_trailing_space
from app.insert.x11 import X11Inserter, active_window, active_window_class, paste_shortcut
from tests.fixtures.display import TargetWindow, XClipboard, XDisplay
from tests.fixtures.holder import holding
from tests.fixtures.parts import require_tools
from tests.fixtures.waiting import wait_for


def settings(**changes: object) -> PasteSettings:
    base = {"trailing_space": False, "restore_delay_ms": 50}
    base.update(changes)
    return PasteSettings(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("wm_class", "expected"),
    [
        (("st-256color", "st-256color"), "ctrl+shift+v"),  # st's class as built by default
        (("st", "st"), "ctrl+shift+v"),
        (("stellarium", "Stellarium"), "ctrl+v"),  # whole names only: "st" is no prefix
        (("org.wezfurlong.wezterm", "org.wezfurlong.wezterm"), "ctrl+shift+v"),
        (("com.mitchellh.ghostty", "com.mitchellh.ghostty"), "ctrl+shift+v"),
        (("gnome-terminal-server", "Gnome-terminal"), "ctrl+shift+v"),
        (("Alacritty", "Alacritty"), "ctrl+shift+v"),
        (("kitty", "kitty"), "ctrl+shift+v"),
        (("kgx", "org.gnome.Console"), "ctrl+shift+v"),  # GNOME Console
        (("org.gnome.Ptyxis", "Ptyxis"), "ctrl+shift+v"),
        (("guake", "Guake"), "ctrl+shift+v"),
        (("code", "Code"), "ctrl+v"),
        (("holdtype-target", "holdtype-target"), "ctrl+v"),
        (None, "ctrl+v"),
        ((), "ctrl+v"),
    ],
)
def test_paste_shortcut_by_window_class(wm_class: tuple[str, ...] | None, expected: str) -> None:
    assert paste_shortcut(wm_class, PasteSettings().terminal_classes) == expected


def test_custom_terminal_class() -> None:
    assert paste_shortcut(("myterm", "MyTerm"), ["myterm"]) == "ctrl+shift+v"
    assert paste_shortcut(("xterm", "XTerm"), []) == "ctrl+v"


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({"DISPLAY": ":0"}, "linux", "x11"),
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}, "linux", "x11"),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "linux", "wayland"),
        ({"XDG_SESSION_TYPE": "wayland"}, "linux", "wayland"),
        ({"XDG_SESSION_TYPE": "x11", "WAYLAND_DISPLAY": "wayland-0"}, "linux", "x11"),
        ({}, "win32", "windows"),
        ({}, "darwin", "macos"),
    ],
)
def test_detect_backend(env: dict[str, str], platform: str, expected: str) -> None:
    assert detect_backend(env, platform) == expected


@pytest.mark.parametrize(
    ("text", "on", "expected"),
    [("hello", True, "hello "), ("hello", False, "hello"), ("", True, ""), ("line\n", True, "line\n")],
)
def test_trailing_space(text: str, on: bool, expected: str) -> None:
    assert with_trailing_space(text, PasteSettings(trailing_space=on)) == expected


def test_missing_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    with pytest.raises(InsertError, match="DISPLAY is not set"):
        choose_inserter(PasteSettings(backend="x11"))


def test_paste_into_window_restores_old_clipboard(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow
) -> None:
    clipboard.set("what the user had copied")
    inserter = choose_inserter(settings())
    assert isinstance(inserter, Inserter) and inserter.name == "x11"
    result = inserter.insert("Hello from Holdtype, scikit-learn.")
    assert result.ok, result.error
    assert (result.method, result.backend, result.shortcut) == ("paste", "x11", "ctrl+v")
    target_window.wait_for_text("Hello from Holdtype, scikit-learn.")
    assert clipboard.get() == "what the user had copied"


def test_a_copy_made_during_the_paste_is_not_overwritten_by_the_restore(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow
) -> None:
    """The window copies something the moment the dictation lands in it (a user's quick
    copy): the old clipboard was put back over it, and the new copy was gone."""
    clipboard.set("old clipboard")
    target_window.copy_after_paste("copied just now")
    # (the restore waits 0.5 s of quiet after the paste: the window's copy lands before it)
    result = choose_inserter(settings(restore_delay_ms=500)).insert("Dictated words.")
    assert result.ok, result.error
    target_window.wait_for_text("Dictated words.")
    target_window.wait_copied()
    assert clipboard.get() == "copied just now"  # (the restore is over: insert() returned)


def test_a_latin1_clipboard_is_put_back_as_it_was(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow
) -> None:
    # An old program offers its text as STRING (Latin-1) only: read as UTF-8, "café" came
    # back "caf\ufffd" after the paste.
    x_env.run(
        "sh", "-c", "printf 'caf\\351 cr\\350me' | xclip -selection clipboard -t STRING -i >/dev/null 2>&1"
    )
    result = X11Inserter(settings()).insert("Hello.")
    assert result.ok, result.error
    target_window.wait_for_text("Hello.")
    assert clipboard.get() == "café crème"


def test_a_picture_on_the_clipboard_is_put_back_after_the_paste(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow
) -> None:
    """A screenshot copied before a dictation was wiped: only text was read back to restore."""
    picture = (Path(__file__).resolve().parent.parent / "resources" / "icons" / "idle-64.png").read_bytes()
    subprocess.run(
        ["xclip", "-selection", "clipboard", "-t", "image/png", "-i"],
        input=picture,
        env=x_env.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=10,
    )
    result = X11Inserter(settings()).insert("Pasted over a picture.")
    assert result.ok, result.error
    target_window.wait_for_text("Pasted over a picture.")
    back = subprocess.run(
        ["xclip", "-selection", "clipboard", "-o", "-t", "image/png"],
        env=x_env.env,
        capture_output=True,
        timeout=10,
    )
    assert back.returncode == 0 and back.stdout == picture


def test_empty_clipboard_stays_empty(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow
) -> None:
    inserter = X11Inserter(settings(trailing_space=True))
    result = inserter.insert("ünïcode ✓ text")
    assert result.ok, result.error
    target_window.wait_for_text("ünïcode ✓ text ")
    assert not clipboard.owned()


def test_two_pastes_in_a_row(x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow) -> None:
    clipboard.set("keep me")
    inserter = X11Inserter(settings())
    assert inserter.insert("one ").ok
    target_window.wait_for_text("one ")
    assert inserter.insert("two").ok
    target_window.wait_for_text("one two")
    assert clipboard.get() == "keep me"


def test_active_window_class(x_env: XDisplay, target_window_factory) -> None:  # type: ignore[no-untyped-def]
    window = target_window_factory(wm_class="kitty")
    wm_class = active_window_class()
    assert wm_class is not None and "kitty" in wm_class
    assert paste_shortcut(wm_class, PasteSettings().terminal_classes) == "ctrl+shift+v"
    window.close()


def _xterm(x_env: XDisplay, *command: str, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """A real xterm running ``command`` (in ``cwd``), once it is the active window."""
    require_tools("xterm", fix="sudo apt-get install xterm")
    x_env.reset_keyboard()
    term = subprocess.Popen(["xterm", "-e", *command], env=x_env.env, stderr=subprocess.DEVNULL, cwd=cwd)

    def active_pid() -> str:
        return x_env.run("xdotool", "getactivewindow", "getwindowpid", check=False).stdout.strip()

    wait_for(lambda: active_pid() == str(term.pid), timeout=30, what="this xterm window to be active")
    return term


def test_text_is_pasted_into_a_real_xterm_with_shift_insert(
    x_env: XDisplay, clipboard: XClipboard, tmp_path: Path
) -> None:
    """xterm pastes only its PRIMARY selection: Ctrl+Shift+V reached the program in it as a
    literal ^V, and the paste failed after 3 s. Its class is one of type_classes: PRIMARY and
    Shift+Insert, both selections as they were afterwards."""
    out = tmp_path / "received"
    # -icanon: each character reaches cat as it arrives, not at Enter
    term = _xterm(x_env, "sh", "-c", f"stty -icanon; cat > {out}")
    try:
        wait_for(lambda: out.exists(), timeout=30, what="xterm to start cat")
        clipboard.set("keep me")
        x_env.run("sh", "-c", "printf 'selected text' | xclip -selection primary -i >/dev/null 2>&1")
        result = X11Inserter(settings()).insert("pasted into xterm, Café")
        assert result.ok and (result.method, result.shortcut) == ("paste", "shift+Insert"), result
        wait_for(
            lambda: out.read_bytes().decode("utf-8", "replace") == "pasted into xterm, Café",
            timeout=30,
            what=f"the text in xterm ({out})",
        )
        assert clipboard.get() == "keep me"
        assert x_env.run("xclip", "-selection", "primary", "-o").stdout == "selected text"
    finally:
        term.terminate()
        term.wait(timeout=10)


def test_dictated_lines_do_not_run_as_commands_in_xterm(
    x_env: XDisplay, clipboard: XClipboard, tmp_path: Path
) -> None:
    """Typed into xterm, a line break was Return: each dictated line ran as a shell command at
    once. Pasted, bash holds the lines (bracketed paste) for the user to run or drop: Ctrl+C
    here drops them, and the command typed after it shows bash read everything before."""
    require_tools("bash", fix="sudo apt-get install bash")
    env = ["env", "-i", f"HOME={tmp_path}", "TERM=xterm", "PS1=$ ", "PROMPT_COMMAND=touch .prompt"]
    term = _xterm(x_env, *env, "bash", "--norc", "--noprofile", "-i", cwd=tmp_path)
    try:
        wait_for(lambda: (tmp_path / ".prompt").exists(), timeout=30, what="bash's first prompt")
        result = X11Inserter(settings()).insert("touch first\ntouch second")
        assert result.ok, result
        x_env.xdotool("key", "ctrl+c")
        x_env.xdotool("type", "--delay", "20", "touch done")
        x_env.xdotool("key", "Return")
        wait_for(lambda: (tmp_path / "done").exists(), timeout=30, what="bash to run the command typed last")
        assert not (tmp_path / "first").exists() and not (tmp_path / "second").exists()
        assert X11Inserter(settings()).insert("touch third").ok  # a paste reaches this bash
        x_env.xdotool("key", "Return")
        wait_for(lambda: (tmp_path / "third").exists(), timeout=30, what="the pasted command to run at Enter")
    finally:
        term.terminate()
        term.wait(timeout=10)


def test_typing_strategy(x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow) -> None:
    clipboard.set("untouched")
    result = X11Inserter(settings(strategy="type")).insert("typed, not pasted")
    assert result.ok, result.error
    assert result.method == "type"
    target_window.wait_for_text("typed, not pasted")
    assert clipboard.get() == "untouched"


def test_typing_with_caps_lock_on_keeps_the_case_and_the_lock(
    x_env: XDisplay, target_window: TargetWindow
) -> None:
    """With Caps Lock on, typed text came out case-inverted ("bRING ME A CUP")."""
    target_window.focus()
    x_env.xdotool("key", "Caps_Lock")
    wait_for(x_env.caps_lock_on, timeout=5, what="Caps Lock to turn on")
    try:
        result = X11Inserter(settings(strategy="type")).insert("Bring me a Cup")
        assert result.ok, result.error
        target_window.wait_for_text("Bring me a Cup")
        assert x_env.caps_lock_on()  # put back as the user had it
    finally:
        x_env.reset_keyboard()


def test_typing_keeps_accents_capitals_other_scripts_and_line_breaks(
    x_env: XDisplay, target_window: TargetWindow
) -> None:
    """xdotool type lost characters no key makes ("Caf nave ber 5" at 2 ms a key), wrote "Ü"
    as "ü" at any pace, and sent line breaks as Linefeed, which Qt ignores."""
    text = "Café naïve Über €5 日本\nSecond line ✓"
    target_window.focus()
    result = X11Inserter(settings(strategy="type")).insert(text)
    assert result.ok, result.error
    target_window.wait_for_text(text)


def test_typing_more_distinct_characters_than_spare_keys_keeps_each(
    x_env: XDisplay, target_window: TargetWindow
) -> None:
    # A keycode lent again at once turned the key sent on it before into the new character:
    # "今日は天気がいいので、公園に…" came out "今日は天と一緒緒昼ご飯を…" (Xvfb lends 19 keycodes).
    text = "今日は天気がいいので、公園に散歩に行きました。友達と一緒に昼ご飯を食べました。"
    assert len(set(text)) > 30
    target_window.focus()
    result = X11Inserter(settings(strategy="type")).insert(text)
    assert result.ok, result.error
    target_window.wait_for_text(text)


def test_typing_latin_letters_on_a_layout_without_them(x_env: XDisplay, target_window: TargetWindow) -> None:
    # On a Russian layout alone xdotool maps each Latin letter on and off a spare key at once,
    # and the window read most after the mapping was gone: "Hello, world 42!" came out "heo,  42!".
    require_tools("setxkbmap", fix="sudo apt-get install x11-xkb-utils")
    x_env.run("setxkbmap", "ru")
    try:
        target_window.focus()
        result = X11Inserter(settings(strategy="type")).insert("Hello, world 42! Привет")
        assert result.ok, result.error
        target_window.wait_for_text("Hello, world 42! Привет")
    finally:
        x_env.run("setxkbmap", "us")


def test_failed_paste_leaves_text_on_clipboard(
    x_env: XDisplay,
    clipboard: XClipboard,
    target_window: TargetWindow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """xdotool is gone from PATH (a real failure of the key injection); xclip still works."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("xclip", "xsel"):
        real = next(Path(d) / tool for d in os.environ["PATH"].split(os.pathsep) if (Path(d) / tool).exists())
        (bin_dir / tool).symlink_to(real)
    clipboard.set("old content")
    monkeypatch.setenv("PATH", str(bin_dir))
    result = X11Inserter(settings()).insert("words that must not be lost")
    assert not result.ok
    assert result.error is not None and "xdotool" in result.error
    monkeypatch.undo()
    assert clipboard.get() == "words that must not be lost"
    assert target_window.text() == ""


def test_target_that_never_reads_fails_and_keeps_text(x_env: XDisplay, clipboard: XClipboard) -> None:
    """With no window to paste into, nobody asks for the clipboard: ok=False, text kept, and
    the error says why (it said the active window "did not read the clipboard", of none)."""
    assert active_window().id is None  # (this test's display has no window open)
    result = X11Inserter(settings(), read_timeout_s=0.5).insert("nobody reads this")
    assert not result.ok
    assert result.error == "no window has the focus to paste into", result.error
    assert clipboard.get() == "nobody reads this"


def test_a_clipboard_managers_read_is_not_taken_for_the_paste(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow
) -> None:
    """A clipboard manager reads each new clipboard at once: its read counted as the window's
    paste, so with a window that read nothing the old clipboard was put back and the result
    said ok (the dictation only in history). The target here is stopped (SIGSTOP), a real
    window that cannot read; the manager is a real XFixes client (tests/fixtures/clipboard_manager.py)."""
    import json
    import queue
    import threading

    script = Path(__file__).parent / "fixtures" / "clipboard_manager.py"
    manager = subprocess.Popen(
        [sys.executable, str(script)], env=x_env.env, stdout=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line.strip()) for line in manager.stdout or ()], daemon=True
    ).start()
    try:
        assert lines.get(timeout=30) == "READY"
        clipboard.set("what the user had copied")
        assert lines.get(timeout=10) == f"READ {json.dumps('what the user had copied')}"
        os.kill(target_window.proc.pid, signal.SIGSTOP)
        try:
            result = X11Inserter(settings(), read_timeout_s=1.0).insert("words nobody pasted")
            assert lines.get(timeout=10) == f"READ {json.dumps('words nobody pasted')}"  # it did read
        finally:
            os.kill(target_window.proc.pid, signal.SIGCONT)
        assert not result.ok and result.error and "did not read the clipboard" in result.error
        assert clipboard.get() == "words nobody pasted"  # left there, to paste by hand
        target_window.wait_for_text("words nobody pasted")  # the window, woken, pastes it
        again = X11Inserter(settings()).insert(" and more")  # a window that reads: as before
        assert again.ok, again.error
        target_window.wait_for_text("words nobody pasted and more")
    finally:
        manager.kill()
        manager.wait()


@pytest.mark.parametrize(
    ("backend", "env", "fragment"),
    [
        ("wayland", {"WAYLAND_DISPLAY": ""}, "WAYLAND_DISPLAY is not set"),
        (
            "wayland",
            {"WAYLAND_DISPLAY": "wayland-0", "PATH": "/nonexistent"},
            "wl-clipboard is not installed",
        ),
        ("windows", {}, "only works on Windows"),
        ("macos", {}, "only works on macOS"),
    ],
)
def test_unusable_backend_override_explains(
    backend: str, env: dict[str, str], fragment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InsertError) as info:
        choose_inserter(PasteSettings(backend=backend))  # type: ignore[arg-type]
    assert fragment in str(info.value)
    assert "set in paste.backend" in str(info.value)


def test_paste_while_the_hotkey_modifiers_are_held_and_caps_lock_is_on(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow
) -> None:
    """The user still holds ctrl+alt (of ctrl+alt+space) and Caps Lock is on: the paste still lands,
    and no Caps_Lock key event is injected (a Caps Lock hotkey would take it for a new press)."""
    import queue

    from pynput import keyboard

    seen: queue.Queue[str] = queue.Queue()
    listener = keyboard.Listener(on_press=lambda key, injected=False: seen.put(str(key)))
    listener.start()
    listener.wait()
    assert wait_until_recording(listener), "pynput's key recording never came on"
    x_env.xdotool("key", "Caps_Lock")
    x_env.xdotool("keydown", "ctrl+alt")
    try:
        clipboard.set("old")
        while not seen.empty():
            seen.get_nowait()
        result = X11Inserter(settings()).insert("held modifiers")
        assert result.ok, result.error
        target_window.wait_for_text("held modifiers")
        assert clipboard.get() == "old"
        pressed = []
        while not seen.empty():
            pressed.append(seen.get_nowait())
        assert "Key.caps_lock" not in pressed
    finally:
        x_env.xdotool("keyup", "ctrl+alt")
        x_env.xdotool("key", "Caps_Lock")
        listener.stop()
        unblock_record(listener)
        listener.join(timeout=5)


HANGING_OWNER = """
import sys
from Xlib import X, display
d = display.Display()
w = d.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
w.set_selection_owner(d.intern_atom("CLIPBOARD"), X.CurrentTime)
d.sync()
print("held", flush=True)
sys.stdin.read()  # owns the clipboard and never answers a request for it
"""


def test_a_clipboard_owner_that_never_answers_does_not_lose_the_dictation(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow
) -> None:
    """A real X client that owns the clipboard and hangs: reading the old clipboard failed,
    and the paste gave up with nothing pasted and nothing on the clipboard."""
    with holding(HANGING_OWNER):
        target_window.focus()
        result = X11Inserter(settings()).insert("Hello despite a stuck clipboard.")
        assert result.ok, result.error
        target_window.wait_for_text("Hello despite a stuck clipboard.")
    assert clipboard.get() == "Hello despite a stuck clipboard."  # what was there could not be read


def test_text_put_on_the_clipboard_outlives_a_ctrl_c_of_holdtype(
    x_env: XDisplay, clipboard: XClipboard
) -> None:
    """Ctrl-C (or a closed terminal) signals Holdtype's whole process group: the xclip serving
    the clipboard (the user's text put back after a paste, a dictation that could not be
    pasted) was in it and died with Holdtype, and the clipboard was empty."""
    code = "from app.insert.clipboard import X11Clipboard; X11Clipboard().set('words that must stay')"
    holdtype = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)  # a terminal's job
    assert holdtype.wait(60) == 0
    wait_for(lambda: clipboard.get() == "words that must stay", timeout=10, what="the text on the clipboard")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(holdtype.pid, signal.SIGINT)  # Ctrl-C in that terminal
    wait_for(lambda: not _group_alive(holdtype.pid), timeout=10, what="the terminal's job to end")
    assert clipboard.get() == "words that must stay"


def _group_alive(group: int) -> bool:
    """Whether any process of process group ``group`` is still alive (not a zombie)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":
                return True
    return False


def test_a_hotkey_held_for_the_next_dictation_is_not_let_go_by_the_paste(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow
) -> None:
    """Before a paste, the modifiers held are let go (Ctrl+Alt+V would not paste); the right
    Ctrl bound as the hotkey, pressed again for the next dictation, was let go too: the
    listener heard a release at once (a tap too short, discarded) and the user spoke into
    nothing. A bound modifier key stays down; its own release ends the recording."""
    import queue
    import time

    from app.config import HotkeySettings, Settings
    from app.hotkey.listener import ActionKind, HotkeyAction, HotkeyListener
    from app.insert.around_hotkeys import HotkeyAwareInserter

    actions: queue.Queue[HotkeyAction] = queue.Queue()
    listener = HotkeyListener.from_settings(HotkeySettings(key="ctrl_r", min_hold_s=0.0), actions.put)
    listener.start()
    chosen = Settings(paste=settings())
    inserting = HotkeyAwareInserter(lambda: chosen, lambda: listener, lambda message: None)
    try:
        clipboard.set("old")
        x_env.xdotool("keydown", "Control_R")  # the next dictation
        assert actions.get(timeout=10).kind is ActionKind.START
        result = inserting.insert("pasted meanwhile")
        assert result.ok, result.error
        target_window.wait_for_text("pasted meanwhile")
        let_go = time.monotonic()
        x_env.xdotool("keyup", "Control_R")
        stop = actions.get(timeout=10)
        assert stop.kind is ActionKind.STOP and stop.time >= let_go, "the paste let go of the hotkey"
        assert listener.wait_keys_up(5) and actions.empty()
    finally:
        x_env.xdotool("keyup", "Control_R")
        listener.stop()
