"""The audio tab's microphone test records from a real (virtual) microphone and shows the transcript."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings, load_settings
from app.ui.settings.base import TabContext
from app.ui.settings.live import LiveSettings
from app.ui.settings.window import SettingsWindow


def _show_audio_tab(qtbot, config_path: Path, write_settings):  # type: ignore[no-untyped-def]
    """Open the settings (default settings) on the Audio tab; return the window and the tab."""
    write_settings(Settings())
    live = LiveSettings(load_settings(config_path).settings, config_path)
    window = SettingsWindow(TabContext(live))
    qtbot.addWidget(window)
    window.bring_forward("audio")
    return window, window.pages["audio"]


def _open_tab(qtbot, config_path: Path, write_settings):  # type: ignore[no-untyped-def]
    """Open the settings on the Audio tab; return the window and the tab once its level meter
    runs on the virtual microphone."""
    window, tab = _show_audio_tab(qtbot, config_path, write_settings)
    qtbot.waitUntil(lambda: tab.device.count() > 1, timeout=10000)  # the virtual microphone is listed
    qtbot.waitUntil(lambda: tab._meter is not None, timeout=10000)
    return window, tab


def _start_test(qtbot, config_path: Path, write_settings):  # type: ignore[no-untyped-def]
    """Open the settings on the Audio tab, start its microphone test, and return the window and
    the tab once it is recording."""
    window, tab = _open_tab(qtbot, config_path, write_settings)
    tab.test_button.click()
    # Recording, or already over (a failure must show its message, not a bare timeout)
    qtbot.waitUntil(
        lambda: tab.test_result.text().startswith("Recording") or tab.test_button.isEnabled(), timeout=10000
    )
    assert tab.test_result.text().startswith("Recording"), tab.test_result.text()
    return window, tab


def test_microphone_test_transcribes_what_was_said(
    qtbot, pulse, speak, config_path: Path, write_settings
) -> None:  # type: ignore[no-untyped-def]
    # A phrase tiny.en hears reliably in espeak's voice ("hello" sometimes comes out "the law").
    speech = speak("we walked along the river", speed=150, pad_s=0.2)
    window, tab = _start_test(qtbot, config_path, write_settings)
    player = pulse.play(speech, wait=False)  # the user speaks
    qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=90000)
    player.wait(timeout=30)
    text = tab.test_result.text().lower()
    assert text.startswith("heard:"), text
    assert "walked" in text and "river" in text
    _meter_back_then_closed(qtbot, window, tab)


def test_a_microphone_test_on_a_sound_server_that_stops_answering_ends(
    qtbot, private_pulse, config_path: Path, write_settings
) -> None:  # type: ignore[no-untyped-def]
    """The sound server stops answering during the test (SIGSTOP: a real PulseAudio, stalled):
    sounddevice's wait() never returned, and the test stayed at "Recording" for good, its
    button off. It now fails with what to check, and the tab recovers once the server answers."""
    import signal

    window, tab = _start_test(qtbot, config_path, write_settings)
    private_pulse.process.send_signal(signal.SIGSTOP)
    try:
        qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=60000)
        assert tab.test_result.text().startswith("Test failed: the microphone delivered no audio for 8 s")
        assert "pactl info" in tab.test_result.text()
        assert tab._meter is None  # its stream cannot open on the stalled server
    finally:
        private_pulse.process.send_signal(signal.SIGCONT)
    _meter_back_then_closed(qtbot, window, tab)


def _meter_back_then_closed(qtbot, window, tab) -> None:  # type: ignore[no-untyped-def]
    """The level meter comes back by itself (once the server answers again); then the window is
    closed, and the test waits for every stream of the tab to be closed (they close on the
    tab's own thread): until then PortAudio is not re-read, and the next tests would open the
    devices of a server gone by then; a stream left open on a server that goes away makes
    PortAudio's ALSA thread print errors without end."""
    from app.audio import devices
    from tests.fixtures.waiting import wait_for

    qtbot.waitUntil(lambda: tab._meter is not None and tab.meter_note.text() == "", timeout=60000)
    window.close()
    wait_for(lambda: devices._open_streams == 0, timeout=30, what="the tab's streams to be closed")


def test_the_audio_tab_answers_while_the_sound_server_does_not(
    qtbot, private_pulse, config_path: Path, write_settings
) -> None:  # type: ignore[no-untyped-def]
    """With the sound server stalled (SIGSTOP: a real PulseAudio), closing the meter's stream,
    re-reading the device list and opening the stream again block until it answers (30 s and
    more). The tab made those calls on the window's thread: leaving it and coming back froze
    the window. They run on a thread of their own now: the window goes on and says why the
    level is gone, and the meter comes back when the server answers."""
    import signal

    window, tab = _open_tab(qtbot, config_path, write_settings)
    private_pulse.process.send_signal(signal.SIGSTOP)
    try:
        window.show_tab("general")  # the meter's stream is closed
        window.show_tab("audio")  # the device list re-read, the stream opened again
        # The tab's 2 s poll runs on the window's thread: this note needs it running.
        qtbot.waitUntil(lambda: "sound server has not answered" in tab.meter_note.text(), timeout=30000)
        assert "pactl info" in tab.meter_note.text()
        assert tab._meter is None
        tab.test_button.click()  # a test waits for the meter's calls, then gives up
        qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=30000)
        assert tab.test_result.text().startswith("Test failed: the sound server has not answered for 5 s")
    finally:
        private_pulse.process.send_signal(signal.SIGCONT)
    _meter_back_then_closed(qtbot, window, tab)


def test_a_level_meter_that_stops_delivering_is_closed_and_comes_back(  # type: ignore[no-untyped-def]
    qtbot, private_pulse, config_path: Path, write_settings
) -> None:
    """The sound server stops answering under the open level meter (SIGSTOP: a real PulseAudio,
    stalled), the tab being shown all along. The level sat at zero without a word, and the dead
    stream, still open, kept PortAudio from being re-read. The meter now notices that no audio
    comes, says so, closes its stream, and opens again once the server answers."""
    import signal

    window, tab = _open_tab(qtbot, config_path, write_settings)
    private_pulse.process.send_signal(signal.SIGSTOP)
    try:
        qtbot.waitUntil(lambda: "stopped delivering audio" in tab.meter_note.text(), timeout=30000)
        assert tab._meter is None
        assert tab.isVisible()  # noticed by the meter itself, not by leaving the tab
    finally:
        private_pulse.process.send_signal(signal.SIGCONT)
    _meter_back_then_closed(qtbot, window, tab)


def test_with_no_microphone_the_tab_says_so_once(  # type: ignore[no-untyped-def]
    qtbot, no_audio_device, config_path: Path, write_settings
) -> None:
    """No input device at all: the level note said so, and the enabled test button failed
    with the same long message a second time. The button now waits for a microphone."""
    _, tab = _show_audio_tab(qtbot, config_path, write_settings)
    qtbot.waitUntil(lambda: "no input device found" in tab.meter_note.text(), timeout=20000)
    qtbot.waitUntil(lambda: not tab.test_button.isEnabled(), timeout=10000)
    assert tab.device.count() == 1  # "System default" alone
    assert tab.test_result.text() == ""


def test_the_level_meters_peak_tick_is_never_left_of_its_level(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A steady tone of amplitude 0.125 drew its bar to about half the meter and its peak tick
    at an eighth: the bar was on a curve of its own, the tick in plain amplitude."""
    import math

    from app.ui.settings.widgets import LevelMeter

    meter = LevelMeter()
    qtbot.addWidget(meter)
    for amplitude in (0.01, 0.125, 0.5, 0.9):
        meter.set_level(amplitude / math.sqrt(2), amplitude)  # a sine: its RMS and its peak
        assert meter.peak >= meter.level > 0, (amplitude, meter.level, meter.peak)
        assert not meter.clipping
    meter.set_level(0.7, 1.0)
    assert meter.clipping and meter.peak == 1.0
