"""The audio tab's microphone test records from a real (virtual) microphone and shows the transcript."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings, load_settings
from app.ui.settings.base import TabContext
from app.ui.settings.live import LiveSettings
from app.ui.settings.window import SettingsWindow


def test_microphone_test_transcribes_what_was_said(
    qtbot, pulse, speak, config_path: Path, write_settings
) -> None:  # type: ignore[no-untyped-def]
    # A phrase tiny.en hears reliably in espeak's voice ("hello" sometimes comes out "the law").
    speech = speak("we walked along the river", speed=150, pad_s=0.2)
    write_settings(Settings())
    live = LiveSettings(load_settings(config_path).settings, config_path)
    window = SettingsWindow(TabContext(live))
    qtbot.addWidget(window)
    window.bring_forward("audio")
    tab = window.pages["audio"]
    qtbot.waitUntil(lambda: tab.device.count() > 1, timeout=10000)  # the virtual microphone is listed
    tab.test_button.click()
    # Recording, or already over (a failure must show its message, not a bare timeout)
    qtbot.waitUntil(
        lambda: tab.test_result.text().startswith("Recording") or tab.test_button.isEnabled(), timeout=10000
    )
    assert tab.test_result.text().startswith("Recording"), tab.test_result.text()
    player = pulse.play(speech, wait=False)  # the user speaks
    qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=90000)
    player.wait(timeout=30)
    text = tab.test_result.text().lower()
    assert text.startswith("heard:"), text
    assert "walked" in text and "river" in text
