"""The first-run welcome names the hotkey and, on Wayland, what the user still has to allow."""

from __future__ import annotations

import html

import pytest

from app.config import Settings
from app.ui.app import welcome_text


def test_welcome_names_default_hotkey_model_and_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    text = welcome_text(Settings(), tray_available=True)
    assert "Hold <b>Caps Lock</b>" in text
    assert "tiny.en" in text and "<b>raw</b>" in text
    assert "Wayland" not in text and "No system tray" not in text


def test_welcome_on_wayland_without_tray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    settings = Settings()
    settings.hotkey.key = "ctrl+alt+space"
    settings.hotkey.mode = "toggle"
    text = welcome_text(settings, tray_available=False)
    assert "Press <b>Ctrl+Alt+Space</b>" in text and "press Ctrl+Alt+Space again" in text
    assert "input</code> group" in text
    # Joining the group alone did nothing: the keyboard is read only with the uinput backend.
    assert "<code>PYNPUT_BACKEND=uinput</code>" in text and "holdtype dictate toggle" in text
    assert "<code>wtype</code>" in text  # as doctor and setup.sh say (it named only ydotool)
    assert "No system tray" in text
    assert "run <code>holdtype</code> again" in text and "`" not in text  # (backticks were shown)


def test_welcome_does_not_call_an_llm_mode_verbatim() -> None:
    # A mode chosen before the first start (`holdtype config set modes.active clean`): the
    # welcome said "mode clean inserts what you said as you said it", which is raw's job.
    settings = Settings()
    settings.modes.active = "clean"
    text = welcome_text(settings, tray_available=True)
    assert "mode <b>clean</b> has an LLM rework what you said" in text
    assert "as you said it" not in text


def test_a_settings_file_set_aside_does_not_bring_the_welcome_back(display, holdtype_home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A config.toml that does not parse is moved aside and defaults are used, welcomed = false
    among them: the tray greeted a returning user as a new one."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from app.config import load_settings, save_settings
    from app.paths import get_paths
    from tests.fixtures.waiting import wait_for

    config = get_paths().config_file
    settings = Settings()
    settings.ui.welcomed = True
    save_settings(settings, config)
    with open(config, "a", encoding="utf-8") as f:
        f.write("this line is [not toml\n")
    root = Path(__file__).resolve().parents[2]
    env = {**display.env, "HOLDTYPE_HOME": str(holdtype_home), "LLM_USER_PATH": os.environ["LLM_USER_PATH"]}
    log_path = tmp_path / "tray.log"
    with open(log_path, "w") as log:
        tray = subprocess.Popen(
            [sys.executable, "-m", "app", "-v", "run"], env=env, cwd=str(root), stdout=log, stderr=log
        )
    try:
        wait_for(lambda: "ready:" in log_path.read_text(), timeout=120, what="the tray app to be ready")
        assert "was moved to" in log_path.read_text()
        wait_for(lambda: load_settings(config).settings.ui.welcomed, timeout=10, what="welcomed to be kept")
        windows = display.xdotool("search", "--name", "Welcome to Holdtype", check=False)
        assert windows == "", "the welcome was shown to a returning user"
    finally:
        tray.terminate()
        tray.wait(timeout=30)
    assert list(config.parent.glob("config.toml.broken-*"))


def test_the_welcome_does_not_say_ready_when_a_part_did_not_start() -> None:
    # With no microphone the first start said "Holdtype is ready." (the problem was in the log).
    problem = "no input device found: plug in a microphone <or> check PulseAudio"
    text = welcome_text(Settings(), tray_available=True, problems=[problem])
    assert "<b>Holdtype is almost ready.</b>" in text and "Holdtype is ready" not in text
    assert "<b>Not working yet:</b>" in text and html.escape(problem) in text
    assert "Holdtype is ready." in welcome_text(Settings(), tray_available=True)
