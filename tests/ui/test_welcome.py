"""The first-run welcome names the hotkey and, on Wayland, what the user still has to allow."""

from __future__ import annotations

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
    assert "No system tray" in text


def test_welcome_does_not_call_an_llm_mode_verbatim() -> None:
    # A mode chosen before the first start (`holdtype config set modes.active clean`): the
    # welcome said "mode clean inserts what you said as you said it", which is raw's job.
    settings = Settings()
    settings.modes.active = "clean"
    text = welcome_text(settings, tray_available=True)
    assert "mode <b>clean</b> has an LLM rework what you said" in text
    assert "as you said it" not in text
