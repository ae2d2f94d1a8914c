"""Impatient users, end to end: a new hold before the last dictation is in, and Esc after release.

Same real parts as ``test_live_dictation``: ``holdtype run --no-tray`` on Xvfb + openbox, a
PulseAudio virtual microphone, xdotool holding the keys, a real Qt window or a real xterm.
"""

from __future__ import annotations

import difflib
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import holdtype
from tests.e2e.live import LIBRARY_WORDS, LiveApp, app_env, assert_cancelled_and_kept, history_rows, start_app
from tests.fixtures.parts import require_tools
from tests.fixtures.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIRST = "The cat sat on the mat."
SECOND = "Bring me a cup of coffee."


def _history(env: dict[str, str]) -> list[dict]:
    """History rows, oldest first."""
    return history_rows(env)[::-1]


@pytest.fixture
def live_env(display, pulse_server, holdtype_home: Path) -> dict[str, str]:
    """Env for holdtype subprocesses on this display and sound server."""
    return app_env(display.env, pulse_server.client_env)


def _set(env: dict[str, str], key: str, value: str) -> None:
    out = holdtype("config", "set", key, value, env=env)
    assert out.returncode == 0, out.stderr


def _two_holds_back_to_back(app: LiveApp, display, pulse_server, key: str, first: Path, second: Path) -> None:  # type: ignore[no-untyped-def]
    """Hold ``key`` over ``first``, let go and press it again at once (the first dictation is
    still being transcribed or pasted), hold it over ``second``, let go."""
    display.xdotool("keydown", key)
    app.wait_line("state: recording")
    pulse_server.play(first)
    display.xdotool("keyup", key, "keydown", key)
    app.wait_line("state: recording", occurrence=2)
    pulse_server.play(second)
    display.xdotool("keyup", key)
    app.wait_line("result #2", timeout=60)


def _rows(env: dict[str, str], count: int) -> list[dict]:
    """Wait until history holds ``count`` rows; return them, oldest first."""
    return wait_for(
        lambda: len(rows := _history(env)) == count and rows, timeout=20, what=f"{count} history rows"
    )


def _in_order(texts: list[str], where: str) -> bool:
    """Whether each text occurs in ``where``, once, in this order."""
    at = 0
    for text in texts:
        if where.count(text) != 1 or where.find(text) < at:
            return False
        at = where.find(text) + len(text)
    return True


def test_a_dictation_ready_while_f9_is_held_again_is_pasted_in_order(
    live_env, display, pulse_server, target_window, speak
):
    """F9 held again grabs the whole keyboard until its release: the first dictation's Ctrl+V
    went to that grab instead of the window, and its words ended up only on the clipboard."""
    _set(live_env, "hotkey.key", "f9")
    app = start_app(live_env)
    try:
        target_window.focus()
        first, second = speak(FIRST, speed=170, pad_s=0.2), speak(SECOND, speed=170, pad_s=0.2)
        _two_holds_back_to_back(app, display, pulse_server, "F9", first, second)
        rows = _rows(live_env, 2)
        assert [r["outcome"] for r in rows] == ["pasted", "pasted"], app.log()
        texts = [r["text"] for r in rows]
        wait_for(lambda: _in_order(texts, target_window.text()), timeout=20, what=f"{texts} in order")
    finally:
        assert app.stop() == 0


def test_toggle_mode_pastes_once_the_stop_press_is_over(
    live_env, display, pulse_server, target_window, speak
):
    """In toggle mode the press that stops a dictation grabs the keyboard (F9) until it comes
    up; a press held a little (0.4 s) outlasted the paste, whose Ctrl+V went to the grab."""
    _set(live_env, "hotkey.key", "f9")
    _set(live_env, "hotkey.mode", "toggle")
    app = start_app(live_env)
    try:
        target_window.focus()
        display.xdotool("key", "F9")
        app.wait_line("state: recording")
        pulse_server.play(speak(SECOND, speed=170, pad_s=0.2))
        display.xdotool("keydown", "F9", "sleep", "0.4", "keyup", "F9")
        assert "(pasted" in app.wait_line("result #1", timeout=60), app.log()
        text = _rows(live_env, 1)[0]["text"]
        wait_for(lambda: _in_order([text], target_window.text()), timeout=20, what=f"{text!r} pasted")
    finally:
        assert app.stop() == 0


def test_a_recording_stopped_at_its_length_limit_is_pasted_once_the_key_is_up(
    live_env, display, pulse_server, target_window, speak
):
    """At audio.max_record_s the recording ends by itself, with F9 still held (grabbed): the
    paste went to the grab and the words ended up on the clipboard only."""
    _set(live_env, "hotkey.key", "f9")
    _set(live_env, "audio.max_record_s", "2")
    app = start_app(live_env)
    try:
        target_window.focus()
        display.xdotool("keydown", "F9")
        app.wait_line("state: recording")
        pulse_server.play(speak(FIRST, speed=170, pad_s=0.2))
        app.wait_line("maximum length", timeout=30)
        app.wait_line("state: transcribing")
        display.xdotool("keyup", "F9")
        assert "(pasted" in app.wait_line("result #1", timeout=60), app.log()
        text = _rows(live_env, 1)[0]["text"]
        wait_for(lambda: _in_order([text], target_window.text()), timeout=20, what=f"{text!r} pasted")
    finally:
        assert app.stop() == 0


@pytest.fixture
def slow_clipboard(display, clipboard) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The clipboard owned by a program that answers each request 2 s late; yields its text."""
    text = "what was on the clipboard before"
    script = Path(__file__).resolve().parent.parent / "fixtures" / "slow_clipboard.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), text, "2"], env=display.env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
        yield text
    finally:
        proc.kill()
        proc.wait()


def test_a_hold_that_begins_while_the_last_dictation_is_pasted_does_not_swallow_it(
    live_env, display, pulse_server, target_window, clipboard, slow_clipboard, speak
):
    """F9 pressed again while the first dictation's paste is under way (here: reading the old
    clipboard takes 2 s): its grab took the Ctrl+V and the words were only on the clipboard."""
    _set(live_env, "hotkey.key", "f9")
    app = start_app(live_env)
    try:
        target_window.focus()
        display.xdotool("keydown", "F9")
        app.wait_line("state: recording")
        pulse_server.play(speak(FIRST, speed=170, pad_s=0.2))
        display.xdotool("keyup", "F9")
        app.wait_line("state: inserting (#1)")
        display.xdotool("keydown", "F9")
        app.wait_line("state: recording", occurrence=2)
        pulse_server.play(speak(SECOND, speed=170, pad_s=0.2))
        display.xdotool("keyup", "F9")
        app.wait_line("result #2", timeout=60)
        rows = _rows(live_env, 2)
        assert [r["outcome"] for r in rows] == ["pasted", "pasted"], app.log()
        texts = [r["text"] for r in rows]
        wait_for(lambda: _in_order(texts, target_window.text()), timeout=20, what=f"{texts} in order")
        # Each stage is logged under the number of the dictation in it.
        assert app.log().index("result #1") < app.log().index("state: inserting (#2)"), app.log()
        # The clipboard is the one from before, not the first dictation the failed try left there.
        wait_for(lambda: clipboard.get() == slow_clipboard, timeout=10, what="the old clipboard back")
    finally:
        assert app.stop() == 0


def test_a_paste_a_busy_window_reads_late_is_not_pasted_again_after_the_next_press(
    live_env, display, pulse_server, target_window, clipboard, speak
):
    """The window is busy (frozen with SIGSTOP) when the first dictation's Ctrl+V reaches it,
    and Caps Lock goes down again during that paste. Caps Lock grabs no key, so the Ctrl+V
    waits in the window, which pastes the text from the clipboard once it wakes; the text was
    pasted again after the release all the same, and the window held it twice."""
    app = start_app(live_env)
    window = target_window.proc
    try:
        target_window.focus()
        display.xdotool("keydown", "Caps_Lock")
        app.wait_line("state: recording")
        pulse_server.play(speak(FIRST, speed=170, pad_s=0.2))
        window.send_signal(signal.SIGSTOP)
        display.xdotool("keyup", "Caps_Lock")
        app.wait_line("state: inserting (#1)")
        # Holdtype owns the clipboard with the text: the paste is under way.
        wait_for(clipboard.owned, timeout=20, what="the first dictation's paste to begin")
        display.xdotool("keydown", "Caps_Lock")
        app.wait_line("state: recording", occurrence=2)
        pulse_server.play(speak(SECOND, speed=170, pad_s=0.2))
        # The first paste gave up, and said what comes of the press made during it.
        app.wait_line("dictation #1: ", timeout=30)
        window.send_signal(signal.SIGCONT)
        # The window wakes, takes its queued Ctrl+V and pastes what is on the clipboard: the text.
        wait_for(lambda: target_window.text().strip(), timeout=20, what="the late paste in the window")
        display.xdotool("keyup", "Caps_Lock")
        app.wait_line("result #2", timeout=60)
        rows = _rows(live_env, 2)
        texts = [r["text"] for r in rows]
        assert rows[1]["outcome"] == "pasted", app.log()
        wait_for(lambda: texts[1] in target_window.text(), timeout=20, what=f"{texts[1]!r} pasted")
        assert _in_order(texts, target_window.text()), f"{target_window.text()!r}\n{app.log()}"
        assert "not pasted again after the hotkey press" in app.log(), app.log()
    finally:
        window.send_signal(signal.SIGCONT)
        assert app.stop() == 0


@pytest.fixture
def xterm(display, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A real xterm whose keyboard input is written, as it comes, to a file; (window id, file)."""
    require_tools("xterm", fix="sudo apt-get install xterm")
    display.reset_keyboard()
    out = tmp_path / "xterm-input.txt"
    title = "holdtype-xterm-target"
    script = f"stty -icanon -echo; exec cat > {shlex.quote(str(out))}"
    proc = subprocess.Popen(["xterm", "-title", title, "-e", "sh", "-c", script], env=display.env)
    try:
        wid = int(display.xdotool("search", "--sync", "--onlyvisible", "--name", f"^{title}$").split()[0])
        display.xdotool("windowactivate", "--sync", str(wid))
        wait_for(lambda: display.active_window() == wid, timeout=10, what="the xterm to be active")
        yield wid, out
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(("strategy", "outcome"), [("paste", "pasted"), ("type", "typed")])
def test_text_put_into_a_terminal_while_caps_lock_is_held_again_keeps_its_case(
    live_env, display, pulse_server, xterm, speak, strategy: str, outcome: str
):
    """xterm gets the text through PRIMARY and Shift+Insert, or typed (paste.strategy type);
    typed while Caps Lock was held for the next dictation (the lock is on while the key is
    down), it came out as "tHE CAT SAT ON THE MAT."."""
    _, typed = xterm
    _set(live_env, "paste.strategy", strategy)
    caps_before = display.caps_lock_on()
    app = start_app(live_env)
    try:
        first, second = speak(FIRST, speed=170, pad_s=0.2), speak(SECOND, speed=170, pad_s=0.2)
        _two_holds_back_to_back(app, display, pulse_server, "Caps_Lock", first, second)
        rows = _rows(live_env, 2)
        assert [r["outcome"] for r in rows] == [outcome, outcome], app.log()
        texts = [r["text"] for r in rows]
        wait_for(
            lambda: _in_order(texts, typed.read_text(encoding="utf-8")),
            timeout=20,
            what=f"{texts} typed in order, case kept (xterm got {typed.read_text(encoding='utf-8')!r})",
        )
        assert display.caps_lock_on() == caps_before
    finally:
        assert app.stop() == 0


def test_a_hold_that_begins_while_a_terminal_is_being_typed_into_loses_at_most_a_word(
    live_env, display, pulse_server, xterm, speak
):
    """Typing a long dictation into xterm takes a while; F9 held again meanwhile grabbed the
    keyboard and every key typed after it went to Holdtype: the rest of the text was lost, and
    history said "typed". Typing now waits, word by word, for the key to come up. (xterm gets
    pasted text unless paste.strategy is type.)"""
    _, typed = xterm
    _set(live_env, "hotkey.key", "f9")
    _set(live_env, "paste.strategy", "type")
    long = (
        "This is a rather long sentence that takes a while to type, because it goes on and on "
        "about the weather and the garden and the neighbours."
    )
    app = start_app(live_env)
    try:
        display.xdotool("keydown", "F9")
        app.wait_line("state: recording")
        pulse_server.play(speak(long, speed=170, pad_s=0.2))
        display.xdotool("keyup", "F9")
        app.wait_line("state: inserting (#1)")
        display.xdotool("keydown", "F9")  # while the words are being typed
        app.wait_line("state: recording", occurrence=2)
        pulse_server.play(speak(SECOND, speed=170, pad_s=0.2))
        display.xdotool("keyup", "F9")
        app.wait_line("result #2", timeout=60)
        rows = _rows(live_env, 2)
        first, second = (r["text"] for r in rows)

        def complete() -> bool:
            got = typed.read_text(encoding="utf-8")
            return got.endswith(second + " ") and first.split()[-1] in got

        wait_for(complete, timeout=20, what=f"both dictations typed ({typed.read_text(encoding='utf-8')!r})")
        got = typed.read_text(encoding="utf-8")
        matched = sum(
            block.size
            for block in difflib.SequenceMatcher(None, first, got, autojunk=False).get_matching_blocks()
        )
        # The word being typed when F9 went down may lose its rest ("Thiis a rather long...").
        longest = max(len(word) for word in first.split())
        assert len(first) - matched <= longest + 1, f"typed {got!r} for {first!r}"
    finally:
        assert app.stop() == 0


def test_escape_right_after_release_cancels_the_dictation_in_flight(
    live_env, display, pulse_server, target_window, speak
):
    """Esc while the words are still being transcribed: nothing is pasted, history keeps them.
    The listener passed Esc on only while a key was held, so this one was ignored."""
    _set(live_env, "model.streaming", "false")  # the whole clip is decoded after release
    app = start_app(live_env)
    try:
        target_window.focus()
        display.xdotool("keydown", "Caps_Lock")
        app.wait_line("state: recording")
        pulse_server.play(speak("The library will close early tomorrow morning.", speed=150))
        display.xdotool("keyup", "Caps_Lock", "key", "Escape")
        result = app.wait_line("result #1", timeout=60)
        assert "(cancelled" in result, result
    finally:
        assert app.stop() == 0
    assert_cancelled_and_kept(live_env, target_window.text(), LIBRARY_WORDS)
