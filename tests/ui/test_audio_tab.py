"""The audio tab's microphone test records from a real (virtual) microphone and shows the transcript."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings, load_settings
from app.ui.settings.base import TabContext
from app.ui.settings.live import LiveSettings
from app.ui.settings.window import SettingsWindow


def _start_test(qtbot, config_path: Path, write_settings):  # type: ignore[no-untyped-def]
    """Open the settings on the Audio tab, start its microphone test, and return the tab once
    it is recording."""
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
    return tab


def test_microphone_test_transcribes_what_was_said(
    qtbot, pulse, speak, config_path: Path, write_settings
) -> None:  # type: ignore[no-untyped-def]
    # A phrase tiny.en hears reliably in espeak's voice ("hello" sometimes comes out "the law").
    speech = speak("we walked along the river", speed=150, pad_s=0.2)
    tab = _start_test(qtbot, config_path, write_settings)
    player = pulse.play(speech, wait=False)  # the user speaks
    qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=90000)
    player.wait(timeout=30)
    text = tab.test_result.text().lower()
    assert text.startswith("heard:"), text
    assert "walked" in text and "river" in text


def test_a_microphone_test_on_a_sound_server_that_stops_answering_ends(
    qtbot, private_pulse, config_path: Path, write_settings
) -> None:  # type: ignore[no-untyped-def]
    """The sound server stops answering during the test (SIGSTOP: a real PulseAudio, stalled):
    sounddevice's wait() never returned, and the test stayed at "Recording" for good, its
    button off. It now fails with what to check, and leaves the stalled server alone."""
    import signal

    from app.audio import devices
    from tests.fixtures.waiting import wait_for

    tab = _start_test(qtbot, config_path, write_settings)
    private_pulse.process.send_signal(signal.SIGSTOP)
    try:
        qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=60000)
        assert tab.test_result.text().startswith("Test failed: the microphone delivered no audio for 8 s")
        assert "pactl info" in tab.test_result.text()
        assert tab._meter is None  # no stream opened on the stalled server (it would block the window)
    finally:
        private_pulse.process.send_signal(signal.SIGCONT)
        # The stalled stream is stopped once the server answers; until then PortAudio is not
        # re-read, and the next tests would open the devices of this server, gone by then.
        wait_for(lambda: devices._open_streams == 0, timeout=30, what="the stalled stream to be stopped")
