"""A long recording read window by window: speech Whisper skipped is read again, words it made
up where no one speaks are dropped, and audio with no speech at all is not decoded."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from app.config import ModelSettings
from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.glitches import words_of
from app.transcribe.whisper import LONG_FORM_S, DecodeOptions, Transcript, WhisperTranscriber
from tests.fixtures.parts import require_tools
from tests.fixtures.scripted import ScriptedWhole

pytestmark = pytest.mark.slow

FIRST = "The first part of the recording talks about the weather in the mountains."
SECOND = "After a long pause the speaker describes a garden full of tomatoes and roses."


def skips_speech(
    whole_samples: int, first_s: float, speech_gate: bool = True, pause_s: float = 25
) -> ScriptedWhole:
    """FAKE reading of the whole recording (named as such): Whisper skips speech between
    windows only on some long recordings and some CPUs, not on cue. The whole recording's
    reading is scripted to hold the first sentence and a stray "You" in the pause after it
    (``pause_s`` long), and to skip the rest; the voice detector and every other decode are
    the real ones."""

    def reading(duration: float) -> Transcript:
        segments = (f" {FIRST}", " You")
        stray = first_s + min(10.0, pause_s / 4)
        times = ((0.0, first_s), (stray, stray + min(2.0, pause_s / 2)))
        return Transcript(f"{FIRST} You", duration, "en", segments=segments, times=times)

    return ScriptedWhole(whole_samples, reading, ModelSettings(speech_gate=speech_gate))


def test_skipped_speech_is_read_again_and_a_stray_word_dropped(speak) -> None:  # type: ignore[no-untyped-def]
    first, second = load_audio(speak(FIRST)), load_audio(speak(SECOND))
    # Pauses too short to be cut out before the reading (see app.transcribe.squeeze)
    pause = np.zeros(4 * SAMPLE_RATE, np.float32)
    audio = np.concatenate([first, pause, second, pause, first, pause, second])
    assert len(audio) / SAMPLE_RATE > LONG_FORM_S
    transcriber = skips_speech(len(audio), len(first) / SAMPLE_RATE, pause_s=4)
    result = transcriber.transcribe(audio, DecodeOptions())
    words = words_of(result.text)
    assert result.text.startswith(FIRST), result.text
    assert {"garden", "tomatoes"} <= set(words), result.text  # the skipped sentence, read again
    assert "you" not in words, result.text  # the stray, dropped


def test_a_long_hum_is_not_read_as_words(tmp_path: Path, whisper: WhisperTranscriber) -> None:
    require_tools("sox", fix="sudo apt-get install sox")
    hum = tmp_path / "hum.wav"
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", "1", str(hum), "synth", "40", "sine", "60", "vol", "0.2"],
        check=True,
    )
    result = whisper.transcribe(load_audio(hum), DecodeOptions())
    assert result.text == ""  # tiny.en wrote "You", after 8 s of decoding


def test_with_the_speech_gate_off_no_segment_is_dropped(speak) -> None:  # type: ignore[no-untyped-def]
    """The gate is turned off for a voice the detector does not hear: its say on what is
    speech is not taken then (a short real segment would go)."""
    first, second = load_audio(speak(FIRST)), load_audio(speak(SECOND))
    audio = np.concatenate([first, np.zeros(25 * SAMPLE_RATE, np.float32), second])
    transcriber = skips_speech(len(audio), len(first) / SAMPLE_RATE, speech_gate=False)
    result = transcriber.transcribe(audio, DecodeOptions())
    assert "you" in words_of(result.text), result.text
    assert "garden" in words_of(result.text), result.text  # skipped speech is still read again


def test_long_stretches_without_speech_are_cut_out_before_the_reading(
    speak, whisper: WhisperTranscriber
) -> None:  # type: ignore[no-untyped-def]
    """From a review: speech, two minutes of silence, speech was read as five copies of the
    sentence (each 30 s window of silence read with the last words as context), and a memo
    starting with 35 s of room noise as "........". The voice detector's long silences are cut
    down before the reading."""
    said = load_audio(speak(SECOND))
    silence = np.zeros(120 * SAMPLE_RATE, np.float32)
    audio = np.concatenate([said, silence, said])
    result = whisper.transcribe(audio, DecodeOptions())
    words = words_of(result.text)
    assert words.count("garden") == 2 and words.count("tomatoes") == 2, result.text
    assert result.duration == pytest.approx(len(audio) / SAMPLE_RATE)
    rng = np.random.default_rng(2)  # faint room noise, then the sentence
    noise = (0.003 * rng.standard_normal(35 * SAMPLE_RATE)).astype(np.float32)
    result = whisper.transcribe(np.concatenate([noise, said]), DecodeOptions())
    assert {"garden", "tomatoes"} <= set(words_of(result.text)), result.text
