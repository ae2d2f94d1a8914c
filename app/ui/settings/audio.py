"""Audio tab: input device (refreshed on hot-plug), live level, microphone test, pre-roll."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from app.config import Settings
from app.errors import AudioError
from app.transcribe.audiofile import SAMPLE_RATE
from app.ui.settings.audio_calls import AudioCalls
from app.ui.settings.base import Job, SettingsTab, TabContext, note, section
from app.ui.settings.widgets import LevelMeter, SecondsBox, keep_room
from app.ui.sounds import portaudio_stream
from app.ui.wording import as_plain_text

log = logging.getLogger(__name__)

POLL_MS = 2000
TEST_SECONDS = 3.0
#: How long past its length the microphone test's recording (or playback) may run before the
#: sound server is taken to have stopped answering.
STALL_S = 5.0
#: The level meter, when its stream could not open or stopped, is opened again after this long,
#: doubled on each failure up to :data:`METER_RETRY_MAX_S` (the device list's poll does so).
METER_RETRY_S = 2.0
METER_RETRY_MAX_S = 30.0
#: A meter whose stream has delivered nothing for this long is taken to have stopped.
METER_SILENT_S = 1.5


def input_device_names(refresh: bool = True) -> list[str]:
    """Names of the input devices; ``refresh`` re-reads PortAudio's list (hot-plugged devices)."""
    from app.audio.devices import list_input_devices

    names: list[str] = []
    for device in list_input_devices(refresh_first=refresh):
        if device.name not in names:
            names.append(device.name)
    return names


class _Meter:
    """A sounddevice input stream that only stores the latest level (read by a Qt timer).

    :meth:`stopped` tells when the stream stopped by itself (the device unplugged, the sound
    server gone): its owner then closes it, so that PortAudio can be re-read and the meter opened
    anew. Stopped means ended, or silent for :data:`METER_SILENT_S`: a stalled server delivers
    nothing without ending the stream, and PortAudio 19.6's ALSA thread may loop for good instead
    of ending when the server dies (see :mod:`app.native_stderr`).
    """

    def __init__(self, device: str | None) -> None:
        import sounddevice as sd

        from app.audio.devices import resolve_device

        self.rms = 0.0
        self.peak = 0.0
        self._ended = threading.Event()
        self._closing = False
        self._last_block = time.monotonic()
        self._guard = portaudio_stream()
        self._guard.__enter__()
        try:
            self.stream = sd.InputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="float32",
                device=resolve_device(device).index,
                callback=self._callback,
                finished_callback=self._finished,
            )
            self.stream.start()
            self._last_block = time.monotonic()
        except BaseException:
            self._guard.__exit__(None, None, None)
            raise

    def _callback(self, data: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._last_block = time.monotonic()
        self.rms = float(np.sqrt(np.mean(np.square(data)))) if frames else 0.0
        self.peak = float(np.max(np.abs(data))) if frames else 0.0

    def _finished(self) -> None:
        if not self._closing:
            self._ended.set()

    def stopped(self) -> bool:
        """Whether the stream ended, or has delivered no audio for :data:`METER_SILENT_S`."""
        return self._ended.is_set() or time.monotonic() - self._last_block > METER_SILENT_S

    def close(self) -> None:
        """Stop and close the stream (it may block while the sound server does not answer)."""
        self._closing = True
        try:
            self.stream.abort()
            self.stream.close()
        finally:
            self._guard.__exit__(None, None, None)


def finished_within(sd: Any, seconds: float) -> bool:
    """Wait until sounddevice's ``rec``/``play`` stream has finished, ``seconds`` at most.

    False when it has not: the sound server stopped answering (sounddevice's own ``wait()``
    then never returns, and the microphone test stayed at "Recording" for good). The stream is
    then stopped on a thread of its own, since stopping it can block as long; it counts as an
    open stream until then, so that PortAudio is not restarted under it.
    """
    from app.audio import devices

    stream = sd.get_stream()
    deadline = time.monotonic() + seconds
    while stream.active:
        if time.monotonic() >= deadline:
            devices._stream_opened()

            def stop() -> None:
                try:
                    sd.stop(ignore_errors=True)
                finally:
                    devices._stream_closed()

            threading.Thread(target=stop, name="holdtype-stop-stalled", daemon=True).start()
            return False
        time.sleep(0.05)
    sd.wait()  # finished: returns at once, and closes the stream
    return True


def record_play_transcribe(
    device: str | None, settings: Settings, progress: Any, before: Callable[[float], bool] | None = None
) -> str:
    """Record :data:`TEST_SECONDS` from ``device``, play it back, and return the transcript.

    ``before(timeout)``, when given, waits for the caller's other streams to be closed; False
    (they were not, in :data:`STALL_S`) means the sound server does not answer.
    """
    import sounddevice as sd

    from app.audio.devices import resolve_device
    from app.transcribe.whisper import DecodeOptions, WhisperTranscriber

    # Held from choosing the device on: the tab's device poll must not restart PortAudio between.
    with portaudio_stream():
        if before is not None and not before(STALL_S):
            raise AudioError(
                f"the sound server has not answered for {STALL_S:g} s (an earlier call of this "
                "tab still waits on it). Check it with `pactl info`, then test again"
            )
        index = resolve_device(device).index
        frames = int(TEST_SECONDS * SAMPLE_RATE)
        audio = sd.rec(frames, samplerate=SAMPLE_RATE, channels=1, dtype="float32", device=index)
        progress("Recording 3 seconds — say something…")  # once the stream runs, not before
        if not finished_within(sd, TEST_SECONDS + STALL_S):
            raise AudioError(
                f"the microphone delivered no audio for {TEST_SECONDS + STALL_S:g} s: the sound "
                "server does not answer, or the device stopped. Check the sound server "
                "(`pactl info`), then test again"
            )
    audio = audio[:, 0].copy()
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    progress("Playing it back…")
    try:
        with portaudio_stream():
            sd.play(audio, SAMPLE_RATE)
            if not finished_within(sd, TEST_SECONDS + STALL_S):
                log.info("the playback did not finish; the sound server does not answer")
    except sd.PortAudioError as exc:
        log.info("playback failed: %s", exc)
    if peak < 0.003:
        return "(silence: the microphone picked up nothing — check the device and its volume)"
    progress("Transcribing…")
    transcriber = WhisperTranscriber(settings.model)
    transcript = transcriber.transcribe(audio, DecodeOptions.from_settings(settings.model))
    return str(getattr(transcript, "text", transcript)).strip() or "(no words recognised)"


# ALSA's names for the sound server, which PortAudio lists beside the devices on Linux: shown
# as "System default", "pulse", "default" they read as three different microphones.
_ALSA_NAMES = {
    "pulse": "the sound server (PulseAudio or PipeWire)",
    "pipewire": "the sound server (PipeWire)",
    "default": "ALSA's default, most often the sound server",
    "sysdefault": "ALSA's default card",
}


def device_label(name: str) -> str:
    """How the input device ``name`` is listed: ALSA's names for the sound server say so.

    >>> device_label("pulse"), device_label("USB Audio Device: - (hw:1,0)")
    ('pulse: the sound server (PulseAudio or PipeWire)', 'USB Audio Device: - (hw:1,0)')
    """
    about = _ALSA_NAMES.get(name) if sys.platform.startswith("linux") else None
    return f"{name}: {about}" if about else name


class AudioTab(SettingsTab):
    """Input device, level meter, microphone test, pre-roll."""

    title = "Audio"
    key = "audio"

    def __init__(self, ctx: TabContext) -> None:
        """Build the form; device polling and the meter run only while the tab is visible."""
        super().__init__(ctx)
        form = QFormLayout()
        self.device = QComboBox()
        self.device.setObjectName("device-combo")
        self.device.addItem("System default", None)
        self.device.currentIndexChanged.connect(self._device_changed)
        form.addRow("&Microphone:", self.device)
        self.meter = LevelMeter()
        self.meter.setAccessibleName("Input level")
        form.addRow(QLabel("Level:"), self.meter)  # (no buddy: the meter takes no focus)
        self.meter_note = keep_room(QLabel(""))
        form.addRow(self.meter_note)
        self.test_button = QPushButton("Test microphone (3 s)")
        self.test_button.clicked.connect(self.test_microphone)
        form.addRow("", self.test_button)
        self.test_result = keep_room(QLabel(""))
        self.test_result.setObjectName("mic-test-result")
        form.addRow(self.test_result)
        self.pre_roll = SecondsBox(0.0, 3.0, step=0.1)
        self.pre_roll.valueChanged.connect(self.changed)
        form.addRow("&Keep audio from before the key press:", self.pre_roll)
        form.addRow(self.pre_roll.problem)
        self.keep_audio = QCheckBox("Keep each recording's audio in the history")
        self.keep_audio.toggled.connect(self.changed)
        form.addRow("", self.keep_audio)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(
            note(
                "Pre-roll keeps the last moment before you pressed the key, so a first word "
                "spoken a little early is not cut off."
            )
        )
        layout.addStretch(1)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.refresh_devices)
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(50)
        self._meter_timer.timeout.connect(self._update_meter)
        self._meter: _Meter | None = None
        self._meter_lock = threading.Lock()  # the meter is handed over by the calls' thread
        self._meter_generation = 0  # a meter opened for an older generation is closed at once
        self._meter_retry_s = METER_RETRY_S  # how long after a failed open it is tried again
        self._meter_retry_at: float | None = None  # when (monotonic) the poll opens it again
        self._calls = AudioCalls(self)
        self._listing = False  # a device-list call is queued or running
        self._have_devices = True  # PortAudio listed an input device (until it lists none)
        self._device_note = False  # the note shows the device list's state
        self._job: Job | None = None
        self._wanted: str | None = None

    # --- devices --------------------------------------------------------------------------
    def refresh_devices(self) -> None:
        """Re-read the device list (every 2 s while the tab is shown), off the main thread.

        While a PortAudio call of the tab has waited :data:`STALL_S` or more, the tab says the
        sound server does not answer instead of reading the list again.
        """
        waited = self._calls.busy_for()
        if waited >= STALL_S:
            self._set_device_note(
                f"The sound server has not answered for {waited:.0f} s: the device list and the "
                "level are paused until it does. Check it with `pactl info`."
            )
        if self._listing:
            return
        self._listing = True
        # PortAudio is re-read only while no stream is open (the meter's, a test's)
        self._calls.submit(input_device_names, self._devices_listed, self._devices_failed)

    def _devices_listed(self, names: list[str]) -> None:
        self._listing = False
        self._set_device_note("")
        self._show_devices(names)
        retry_at = self._meter_retry_at
        if names and retry_at is not None and time.monotonic() >= retry_at:
            self._start_meter()  # it failed to open, or stopped: try again

    def _devices_failed(self, exc: Exception) -> None:  # PortAudio not available: say so
        self._listing = False
        self._set_device_note(as_plain_text(f"Cannot list input devices: {exc}"))
        self._show_devices([])

    def _set_device_note(self, text: str) -> None:
        """Show (or clear, with "") a note about the device list; the meter's own notes stay."""
        if text or self._device_note:
            self.meter_note.setText(text)
        self._device_note = bool(text)

    def _show_devices(self, names: list[str]) -> None:
        # No microphone at all: the test could only fail as the level note already says.
        self._have_devices = bool(names)
        self.test_button.setEnabled(self._have_devices and self._job is None)
        current = [self.device.itemData(i) for i in range(1, self.device.count())]
        wanted = self._wanted
        if wanted and wanted not in names:
            names.append(wanted)  # keep the chosen device visible while it is unplugged
        if names == current:
            return
        self._loading, was_loading = True, self._loading
        try:
            self.device.clear()
            self.device.addItem("System default", None)
            for name in names:
                self.device.addItem(device_label(name), name)
            self.device.setCurrentIndex(max(0, self.device.findData(wanted)) if wanted else 0)
        finally:
            self._loading = was_loading

    def _device_changed(self) -> None:
        if self._loading:
            return
        self._wanted = self.device.currentData()
        self.changed()
        if self.isVisible():
            self._start_meter()

    # --- level meter ----------------------------------------------------------------------
    def _start_meter(self) -> None:
        """Open the meter's stream off the main thread; it shows levels once open."""
        self._stop_meter()
        with self._meter_lock:
            generation = self._meter_generation
        device = self.device.currentData()

        def open_meter() -> None:
            meter = _Meter(device)
            with self._meter_lock:
                if generation == self._meter_generation:
                    self._meter = meter
                    return
            meter.close()  # stopped meanwhile (hidden, another device, a test)

        self._calls.submit(open_meter, self._meter_opened(generation), self._meter_failed(generation))

    def _meter_opened(self, generation: int) -> Callable[[object], None]:
        def opened(_: object) -> None:
            if generation == self._meter_generation and self._meter is not None:
                self._meter_retry_at = None
                self._meter_retry_s = METER_RETRY_S
                self._device_note = False
                self.meter_note.setText("")  # its own notes, and the device list's
                self._meter_timer.start()

        return opened

    def _meter_failed(self, generation: int) -> Callable[[Exception], None]:
        def failed(exc: Exception) -> None:  # no device, busy device, no PortAudio
            if generation == self._meter_generation:
                self._retry_meter_later()
                self._device_note = False
                self.meter_note.setText(as_plain_text(f"No level: {exc}"))

        return failed

    def _stop_meter(self) -> None:
        """Close the meter's stream (off the main thread); a meter still opening is closed once
        it is open."""
        self._meter_timer.stop()
        self._meter_retry_at = None
        with self._meter_lock:
            self._meter_generation += 1
            meter, self._meter = self._meter, None
        if meter is not None:
            self._calls.submit(meter.close, failed=lambda exc: log.debug("meter close: %s", exc))
        self.meter.set_level(0.0, 0.0)

    def _retry_meter_later(self) -> None:
        """Have the device poll open the meter again after a while, longer after each failure."""
        self._meter_retry_at = time.monotonic() + self._meter_retry_s
        self._meter_retry_s = min(METER_RETRY_MAX_S, self._meter_retry_s * 2)

    def _update_meter(self) -> None:
        meter = self._meter
        if meter is None:
            return
        if meter.stopped():  # unplugged, or the sound server went away (or stalls)
            self._stop_meter()  # closed, so that PortAudio can be re-read
            self._retry_meter_later()
            self._device_note = False
            self.meter_note.setText(
                "The microphone stopped delivering audio (unplugged, or the sound server went "
                "away). The level comes back when it does."
            )
            return
        self.meter.set_level(meter.rms, meter.peak)

    def showEvent(self, event: QShowEvent) -> None:  # Qt override
        """Start polling devices and metering while visible."""
        super().showEvent(event)
        self.refresh_devices()
        self._poll.start()
        self._start_meter()

    def hideEvent(self, event: QHideEvent) -> None:  # Qt override
        """Stop polling and release the microphone when hidden."""
        self._poll.stop()
        self._stop_meter()
        super().hideEvent(event)

    # --- microphone test ------------------------------------------------------------------
    def test_microphone(self) -> None:
        """Record 3 s, play it back and show the transcript (in a worker thread)."""
        if self._job is not None:
            return
        self._stop_meter()
        self.test_button.setEnabled(False)
        device = self.device.currentData()
        settings = self.ctx.live.settings
        calls = self._calls

        def work(progress: Callable[[Any], None]) -> str:
            # The meter's stream is closed first (an exclusive device would refuse a second).
            return record_play_transcribe(device, settings, progress, before=calls.wait_idle)

        job = Job(work)
        job.signals.progress.connect(lambda text: self.test_result.setText(str(text)))
        job.signals.done.connect(lambda text: self._test_done(f"Heard: {text}"))
        job.signals.failed.connect(lambda message: self._test_done(f"Test failed: {message}"))
        self._job = job.start()

    def _test_done(self, message: str) -> None:
        """Show the test's outcome; the level meter runs again (its stream opens off the main
        thread, so a sound server that does not answer cannot block this window)."""
        self.test_result.setText(as_plain_text(message))
        self._job = None
        self.test_button.setEnabled(self._have_devices)
        if self.isVisible():
            self._start_meter()

    # --- settings -------------------------------------------------------------------------
    def fill(self, settings: Settings) -> None:
        """Show the settings."""
        device = settings.audio.device
        self._wanted = None if device is None else str(device)
        if self._wanted and self.device.findData(self._wanted) < 0:
            self.device.addItem(self._wanted, self._wanted)
        self.device.setCurrentIndex(max(0, self.device.findData(self._wanted)) if self._wanted else 0)
        self.pre_roll.show_seconds(settings.audio.pre_roll_s)
        self.keep_audio.setChecked(settings.audio.keep_audio)

    def apply(self, settings: Settings) -> Settings:
        """Return the settings with this tab's values."""
        return section(
            settings,
            "audio",
            device=self.device.currentData(),
            pre_roll_s=self.pre_roll.seconds(),
            keep_audio=self.keep_audio.isChecked(),
        )
