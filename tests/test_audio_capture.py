"""The Recorder on a real microphone path: espeak-ng speech played into a PulseAudio null sink."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.audio import devices
from app.audio.capture import SAMPLE_RATE, Recorder
from app.audio.spool import Spool, read_spool
from app.config import AudioSettings
from app.errors import AudioError
from app.paths import get_paths
from tests.fixtures.pulse import SINK, SPEAKERS, PulseServer
from tests.fixtures.speech import Speak
from tests.fixtures.waiting import wait_for

SENTENCE = "Please send the quarterly report to the finance team before Friday."
LOUD = 0.02


class Errors:
    """Collects on_error messages and lets a test wait for one."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.event = threading.Event()

    def __call__(self, message: str) -> None:
        self.messages.append(message)
        self.event.set()


def _read(path: Path) -> np.ndarray:
    audio, rate = sf.read(path, dtype="float32")
    assert rate == SAMPLE_RATE
    return audio


def _speech_span(audio: np.ndarray) -> float:
    """Seconds from the first to the last loud sample."""
    loud = np.flatnonzero(np.abs(audio) > LOUD)
    return 0.0 if loud.size == 0 else (loud[-1] - loud[0]) / SAMPLE_RATE


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if audio.size else 0.0


@pytest.fixture
def errors() -> Errors:
    return Errors()


@pytest.fixture
def levels() -> list[tuple[float, float]]:
    return []


@pytest.fixture
def recorder(pulse: PulseServer, errors: Errors, levels: list[tuple[float, float]]) -> Iterator[Recorder]:
    """A Recorder armed on the shared PulseAudio server, its stream already delivering."""
    rec = Recorder(
        AudioSettings(pre_roll_s=0.3), on_level=lambda rms, peak: levels.append((rms, peak)), on_error=errors
    )
    rec.arm()
    try:
        assert rec.wait_running(30), "the armed stream delivered no audio"
        yield rec
    finally:
        rec.disarm()


def _play_and_capture(pulse: PulseServer, rec: Recorder, clip: Path, device: str = SINK) -> None:
    """Play ``clip`` and wait until the recorder has received everything that was played."""
    pulse.play(clip, device=device)
    # paplay returns once the server has played the clip; the monitor source delivers it to us
    # within its latency. Wait until another 0.3 s of audio has arrived after that.
    assert rec.wait_frames(rec.frames_captured + int(0.3 * SAMPLE_RATE), timeout=15), "audio stopped"


def test_records_speech_played_into_the_sink(
    pulse: PulseServer, recorder: Recorder, speak: Speak, levels: list[tuple[float, float]]
) -> None:
    clip = speak(SENTENCE)
    expected = _read(clip)
    recorder.start()
    assert recorder.recording
    _play_and_capture(pulse, recorder, clip)
    so_far = recorder.audio_so_far()
    audio = recorder.stop()
    assert not recorder.recording
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert so_far.size <= audio.size and np.array_equal(audio[: so_far.size], so_far)
    # The whole sentence is there: same span of speech (± 0.15 s) and similar loudness.
    assert abs(_speech_span(audio) - _speech_span(expected)) < 0.15
    loud = np.abs(audio) > LOUD
    assert _rms(audio[loud]) == pytest.approx(_rms(expected[np.abs(expected) > LOUD]), rel=0.25)
    assert audio.size >= expected.size
    # The level callback ran while recording and saw the speech.
    assert levels and max(peak for _, peak in levels) > 0.1


def test_device_rate_is_resampled_to_16k(pulse: PulseServer, speak: Speak, errors: Errors) -> None:
    """Captured at 48 kHz and resampled here (the path for devices that refuse 16 kHz)."""
    clip = speak(SENTENCE)
    expected = _read(clip)
    rec = Recorder(AudioSettings(), on_error=errors, capture_rate=48_000)
    rec.arm()
    try:
        assert rec.wait_running(30)
        rec.start()
        _play_and_capture(pulse, rec, clip)
        audio = rec.stop()
    finally:
        rec.disarm()
    assert audio.dtype == np.float32
    assert abs(_speech_span(audio) - _speech_span(expected)) < 0.15
    loud = np.abs(audio) > LOUD
    assert _rms(audio[loud]) == pytest.approx(_rms(expected[np.abs(expected) > LOUD]), rel=0.25)
    assert not errors.messages


def test_sounds_on_the_default_sink_are_not_recorded(
    pulse: PulseServer, recorder: Recorder, speak: Speak
) -> None:
    """The fixture's speakers are not its microphone: app cues do not leak into recordings."""
    recorder.start()
    _play_and_capture(pulse, recorder, speak("Ding."), device=SPEAKERS)
    assert _speech_span(recorder.stop()) == 0.0


@pytest.mark.slow
def test_recorded_speech_transcribes(pulse: PulseServer, recorder: Recorder, speak: Speak) -> None:
    from app.config import ModelSettings
    from app.transcribe.whisper import DecodeOptions, WhisperTranscriber

    clip = speak(SENTENCE)
    recorder.start()
    _play_and_capture(pulse, recorder, clip)
    audio = recorder.stop()
    settings = ModelSettings(cpu_threads=1)
    transcript = WhisperTranscriber(settings).transcribe(audio, DecodeOptions.from_settings(settings))
    words = transcript.text.lower()
    # tiny.en's reading of a synthetic voice shifts with where the recording starts (it once
    # heard "finance team" as "fine and steam"): three of the four words must come through.
    heard = [w for w in ("quarterly", "report", "finance", "friday") if w in words]
    assert len(heard) >= 3, transcript.text


@pytest.mark.parametrize("pre_roll_s", [0.0, 1.5])
def test_pre_roll_keeps_audio_from_before_start(
    pulse: PulseServer, speak: Speak, errors: Errors, pre_roll_s: float
) -> None:
    clip = speak("Hello.")
    expected = _read(clip)
    assert expected.size < 1.0 * SAMPLE_RATE
    rec = Recorder(AudioSettings(pre_roll_s=pre_roll_s), on_error=errors)
    rec.arm()
    try:
        assert rec.wait_frames(int(1.5 * SAMPLE_RATE), timeout=30)  # the ring is full
        _play_and_capture(pulse, rec, clip)  # the word is spoken just before the key goes down
        rec.start()
        audio = rec.stop()
    finally:
        rec.disarm()
    if pre_roll_s:
        assert audio.size >= int(pre_roll_s * SAMPLE_RATE)
        assert abs(_speech_span(audio) - _speech_span(expected)) < 0.1
    else:
        assert _speech_span(audio) == 0.0  # without pre-roll the word is lost: the test can tell


def test_a_press_handled_late_keeps_its_pre_roll_from_the_key(
    pulse: PulseServer, speak: Speak, errors: Errors
) -> None:
    """The pre-roll was counted back from when the engine's thread took the press: a thread
    busy for a moment (a slow disk for the spool, settings being applied) cut the first words."""
    import time

    clip = speak("Hello.")
    expected = _read(clip)
    rec = Recorder(AudioSettings(pre_roll_s=0.3), on_error=errors)
    rec.arm()
    try:
        assert rec.wait_frames(int(1.0 * SAMPLE_RATE), timeout=30)
        for late in (False, True):
            pressed = time.monotonic()  # the key goes down as the word starts
            _play_and_capture(pulse, rec, clip)
            assert rec.wait_frames(rec.frames_captured + int(0.5 * SAMPLE_RATE), timeout=15)
            rec.start(pressed_at=pressed if late else None)  # taken a second or so after
            audio = rec.stop()
            if late:
                assert abs(_speech_span(audio) - _speech_span(expected)) < 0.1
            else:
                assert _speech_span(audio) == 0.0  # counted from now: the word is lost
    finally:
        rec.disarm()


def test_a_longer_pre_roll_set_while_armed_adds_no_silence_it_never_heard(
    pulse: PulseServer, speak: Speak, errors: Errors
) -> None:
    """`retune` grows the ring for a longer pre-roll on the open stream: a press right after
    took the whole new pre-roll from a ring that held 0.5 s, 1.5 s of it zeros never heard."""
    rec = Recorder(AudioSettings(pre_roll_s=0.3), on_error=errors)
    rec.arm()
    try:
        assert rec.wait_frames(int(1.0 * SAMPLE_RATE), timeout=30)
        assert rec.retune(AudioSettings(pre_roll_s=2.0))
        rec.start()  # at once: the grown ring holds what the old one had, 1 s and a little
        audio = rec.stop()
        assert audio.size < int(1.5 * SAMPLE_RATE), audio.size / SAMPLE_RATE
        assert rec.wait_frames(rec.frames_captured + int(2.2 * SAMPLE_RATE), timeout=30)
        _play_and_capture(pulse, rec, speak("Hello."))
        rec.start()  # the new pre-roll, whole, once as much audio came
        assert rec.stop().size >= int(2.0 * SAMPLE_RATE)
    finally:
        rec.disarm()


def test_spool_gets_the_same_audio(pulse: PulseServer, recorder: Recorder, speak: Speak) -> None:
    clip = speak("Testing the spool.")
    writer = Spool(get_paths().spool_dir).open(generation=1)
    recorder.start(writer)
    _play_and_capture(pulse, recorder, clip)
    audio = recorder.stop()
    kept = writer.close(keep=True, keep_dir=get_paths().audio_dir)
    assert kept is not None
    spooled = read_spool(kept)
    assert spooled.size == audio.size
    np.testing.assert_allclose(spooled, np.clip(audio, -1, 1), atol=1.0 / 16000)


def test_audio_so_far_grows_past_the_initial_buffer(
    pulse: PulseServer, recorder: Recorder, speak: Speak
) -> None:
    """Pre-allocated room is 30 s; a longer take grows it without losing samples."""
    clip = speak(SENTENCE)
    recorder._utt = np.zeros(SAMPLE_RATE, np.float32)  # private: shrink the buffer to force growth
    recorder.start()
    for _ in range(2):
        _play_and_capture(pulse, recorder, clip)
    audio = recorder.stop()
    assert audio.size > 2 * _read(clip).size
    loud = np.flatnonzero(np.abs(audio) > LOUD)
    assert loud.size > 0


def test_max_record_length_stops_appending(pulse: PulseServer, speak: Speak, errors: Errors) -> None:
    rec = Recorder(AudioSettings(pre_roll_s=0.0, max_record_s=1.5), on_error=errors)
    rec.arm()
    try:
        assert rec.wait_running(30)
        rec.start()
        assert errors.event.wait(30), "no error for the length limit"
        assert rec.limit_reached
        audio = rec.stop()
    finally:
        rec.disarm()
    assert audio.size == int(1.5 * SAMPLE_RATE)
    assert "maximum length" in errors.messages[0] and "audio.max_record_s" in errors.messages[0]


def test_a_pre_roll_longer_than_the_length_limit_is_cut_to_it(pulse: PulseServer, errors: Errors) -> None:
    """pre_roll_s 3 with max_record_s 2: every press failed (a 3 s pre-roll into a 2 s buffer)."""
    rec = Recorder(AudioSettings(pre_roll_s=3.0, max_record_s=2.0), on_error=errors)
    rec.arm()
    try:
        assert rec.wait_frames(3 * SAMPLE_RATE, timeout=30)  # the ring holds more than 2 s
        rec.start()
        assert errors.event.wait(30), "no error for the length limit"
        audio = rec.stop()
    finally:
        rec.disarm()
    assert audio.size == 2 * SAMPLE_RATE


def test_device_gone_mid_recording_keeps_the_audio(
    private_pulse: PulseServer, pulse_server: PulseServer, speak: Speak, errors: Errors
) -> None:
    clip = speak("Keep what I said before the microphone went away.")
    expected = _read(clip)
    rec = Recorder(AudioSettings(), on_error=errors)
    rec.arm()
    try:
        assert rec.wait_running(30)
        rec.start()
        _play_and_capture(private_pulse, rec, clip)
        private_pulse.kill()  # the microphone is pulled out
        assert errors.event.wait(30), "on_error was not called when the device went away"
        wait_for(lambda: not rec.armed, timeout=10, what="recorder to notice the lost stream")
        audio = rec.stop()
        assert "stopped delivering audio" in errors.messages[0] and "kept" in errors.messages[0]
        assert abs(_speech_span(audio) - _speech_span(expected)) < 0.15
        # Nothing to re-arm on now: a clear error, not a hang or a crash.
        with pytest.raises(AudioError, match="no input device found"):
            rec.arm()
        # A microphone comes back: the same recorder arms again.
        with pytest.MonkeyPatch.context() as mp:
            for key, value in pulse_server.client_env.items():
                mp.setenv(key, value)
            rec.arm()
            assert rec.armed and rec.wait_running(30)
            rec.disarm()
            mp.undo()
            devices.refresh()
    finally:
        rec.disarm()


def test_no_device_is_a_clear_error(no_audio_device: dict[str, str], errors: Errors) -> None:
    rec = Recorder(AudioSettings(), on_error=errors)
    with pytest.raises(AudioError, match=r"no input device found: plug in a microphone.*holdtype doctor"):
        rec.arm()
    assert not rec.armed
    with pytest.raises(AudioError, match="not armed"):
        rec.start()
    assert rec.stop().size == 0


def test_unknown_device_setting_is_a_clear_error(pulse: PulseServer) -> None:
    rec = Recorder(AudioSettings(device="No Such Mic"))
    with pytest.raises(AudioError, match=r"input device 'No Such Mic' not found; available: "):
        rec.arm()
