"""A prompted reading that stops early (Whisper ended the text after a sentence and dropped the
rest) is read again in two halves."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import ModelSettings
from app.transcribe import vad
from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.glitches import words_of
from app.transcribe.whisper import SPARSE_MIN_S, DecodeOptions, Transcript, WhisperTranscriber
from tests.fixtures.scripted import ScriptedWhole

pytestmark = pytest.mark.slow

FIRST = "We replaced the old logging stack with Vector and ship the events to ClickHouse."
SECOND = "The notebook uses Pandera to check every data frame before the nightly training run."
THIRD = "Then the dashboard shows the results to the whole team every morning."
PROMPT = "Today we talked about Vector, ClickHouse and Pandera. Let me tell you what I did."


def stops_early(whole_samples: int) -> ScriptedWhole:
    """FAKE first reading (named as such): the real model drops sentences under a prompt only
    on some audio and some CPUs, not on cue. The reading of the whole audio is scripted to stop
    after its first sentence; every other decode (the two halves) is the real model's."""
    return ScriptedWhole(whole_samples, lambda duration: Transcript(FIRST, duration, "en", logprob=-0.3))


@pytest.fixture(scope="module")
def three_sentences(speak) -> np.ndarray:  # type: ignore[no-untyped-def]
    audio = load_audio(speak(f"{FIRST} {SECOND} {THIRD}", speed=150))
    assert len(audio) / SAMPLE_RATE >= SPARSE_MIN_S
    return audio


def test_a_reading_that_stopped_early_is_read_again_in_halves(three_sentences: np.ndarray) -> None:
    transcriber = stops_early(len(three_sentences))
    result = transcriber.transcribe(three_sentences, DecodeOptions(initial_prompt=PROMPT))
    words = words_of(result.text)
    assert {"pandera", "dashboard", "morning"} <= set(words), result.text  # the dropped sentences
    assert "vector" in words, result.text  # and the first one kept
    assert len(transcriber.decodes) == 3  # the whole, then two halves
    assert all(d < len(three_sentences) / SAMPLE_RATE * 0.7 for d in transcriber.decodes[1:])


def test_a_full_reading_is_not_read_again(three_sentences: np.ndarray, whisper: WhisperTranscriber) -> None:
    options = DecodeOptions(initial_prompt=PROMPT)
    result = whisper.transcribe(three_sentences, options)
    assert not whisper._cut_short(three_sentences, result, options), result.text
    short = Transcript(FIRST, len(three_sentences) / SAMPLE_RATE, "en")
    assert whisper._cut_short(three_sentences, short, options)
    # Without a prompt, Whisper's reading is left as it is (plain faster-whisper's).
    assert not whisper._cut_short(three_sentences, short, DecodeOptions())


def test_pauses_are_not_taken_for_lost_words(speak) -> None:  # type: ignore[no-untyped-def]
    """Few words in long audio are fine when the audio is mostly silence: a dictated sentence,
    then a pause to think. The voice detector's seconds of speech are what count."""
    audio = load_audio(speak("Ship it today.", speed=150, pad_s=5.0))
    assert len(audio) / SAMPLE_RATE >= SPARSE_MIN_S and vad.speech_seconds(audio) < 2.5
    said = Transcript("Ship it today.", len(audio) / SAMPLE_RATE, "en")
    options = DecodeOptions(initial_prompt=PROMPT)
    assert not WhisperTranscriber(ModelSettings())._cut_short(audio, said, options)
