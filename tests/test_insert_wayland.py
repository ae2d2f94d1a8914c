"""Pasting and typing on Wayland, into a real Qt window on a real (headless) sway, with
wl-clipboard and wtype as on a sway, Hyprland or KDE desktop."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import PasteSettings
from app.insert.base import choose_inserter
from app.insert.wayland import WaylandInserter
from tests.fixtures.waiting import wait_for
from tests.fixtures.wayland import WaylandSession, WaylandWindow


def settings(**changes: object) -> PasteSettings:
    base = {"trailing_space": False, "restore_delay_ms": 50, "backend": "wayland"}
    base.update(changes)
    return PasteSettings(**base)  # type: ignore[arg-type]


def test_paste_reaches_the_window_and_the_old_clipboard_comes_back(
    wayland: WaylandSession, wayland_window: WaylandWindow
) -> None:
    wayland.copy(b"what the user had copied")
    inserter = choose_inserter(settings(backend="auto"))
    assert inserter.name == "wayland"
    for n in range(4):  # the first key of each wtype went missing on every other paste
        result = inserter.insert(f"Paste {n} from Holdtype. ")
        assert result.ok, result.error
    wayland_window.wait_for_text("".join(f"Paste {n} from Holdtype. " for n in range(4)))
    wait_for(
        lambda: wayland.paste() == b"what the user had copied",
        timeout=10,
        what="the old clipboard to come back",
    )


def test_typing_keeps_the_first_letter_accents_and_symbols(
    wayland: WaylandSession, wayland_window: WaylandWindow
) -> None:
    inserter = WaylandInserter(settings(strategy="type"))
    for word in ("Hello, wörld ✓", " Again"):  # "ello, wörld": wtype's first key was lost
        result = inserter.insert(word)
        assert result.ok, result.error
    wayland_window.wait_for_text("Hello, wörld ✓ Again")


def test_a_picture_on_the_clipboard_is_put_back(
    wayland: WaylandSession, wayland_window: WaylandWindow
) -> None:
    picture = (Path(__file__).resolve().parent.parent / "resources" / "icons" / "idle-64.png").read_bytes()
    wayland.copy(picture, kind="image/png")
    result = WaylandInserter(settings()).insert("Over a picture.")
    assert result.ok, result.error
    wayland_window.wait_for_text("Over a picture.")
    wait_for(lambda: wayland.paste("image/png") == picture, timeout=10, what="the picture to come back")


@pytest.fixture
def clipboard_manager(wayland: WaylandSession) -> Iterator[subprocess.Popen[bytes]]:
    """A clipboard history as cliphist and clipman run one: `wl-paste --watch` reads every
    new clipboard as soon as it is set."""
    import os

    proc = subprocess.Popen(
        ["wl-paste", "--watch", "cat"],
        env={**os.environ, **wayland.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield proc
    proc.kill()
    proc.wait()


def test_a_clipboard_managers_read_is_not_taken_for_the_paste(
    wayland: WaylandSession, wayland_window: WaylandWindow, clipboard_manager: subprocess.Popen[bytes]
) -> None:
    wayland.copy(b"old clipboard")
    result = WaylandInserter(settings()).insert("Dictated, not the old clipboard.")
    assert result.ok, result.error
    wayland_window.wait_for_text("Dictated, not the old clipboard.")
    wait_for(lambda: wayland.paste() == b"old clipboard", timeout=10, what="the old clipboard to come back")


def test_a_terminal_on_sway_gets_ctrl_shift_v(wayland: WaylandSession, tmp_path: Path) -> None:
    """foot (as kitty, Alacritty...) takes Ctrl+V as a literal ^V: the paste was never read and
    the dictation stayed on the clipboard. sway says which window has the focus."""
    import os

    from app.insert.focus import focused_app
    from app.insert.wayland import focused_app_id
    from tests.fixtures.parts import require_tools

    require_tools("foot", fix="sudo apt-get install foot")
    out = tmp_path / "typed.txt"
    ready = tmp_path / "ready"
    script = f"stty -icanon -echo && touch {ready} && exec cat > {out}"
    terminal = subprocess.Popen(
        ["foot", "sh", "-c", script], env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(
            lambda: ready.exists() and focused_app_id() == "foot", timeout=30, what="foot to have the focus"
        )
        assert focused_app("wayland") == ("foot",)  # what a modes.apps entry is matched against
        result = WaylandInserter(settings()).insert("git commit -m 'dictated'")
        assert result.ok, result.error
        assert result.shortcut == "ctrl+shift+v"
        wait_for(
            lambda: out.read_text() == "git commit -m 'dictated'",
            timeout=15,
            what="the text in the terminal",
        )
    finally:
        terminal.kill()
        terminal.wait()
