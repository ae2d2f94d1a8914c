"""A reading that ends before the speech does (a long vocabulary prompt made Whisper close the
sentence early and drop its end; without a prompt, a file name's dot did) is read on from where
it stopped."""

from __future__ import annotations

import numpy as np
import pytest

from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.glitches import words_of
from app.transcribe.whisper import EARLY_END_S, DecodeOptions, Transcript, WhisperTranscriber
from tests.fixtures.scripted import ScriptedWhole

pytestmark = pytest.mark.slow

SENTENCE = "Load the CSV with pandas, then plot it with Matplotlib in Jupyter notebooks."
CUT_SHORT = "Load the CSV with pandas, then plot it"
PROMPT = "Today we talked about pandas, Matplotlib and Jupyter."


def ends_early(whole_samples: int) -> ScriptedWhole:
    """FAKE first reading (named as such): the real model drops a sentence's end under a long
    prompt only on some audio and some CPUs, not on cue. The reading of the whole audio is
    scripted to stop after "plot it"; the alignment, the voice detector and the reading of the
    rest are the real model's."""
    return ScriptedWhole(whole_samples, lambda duration: Transcript(CUT_SHORT, duration, "en", logprob=-0.2))


@pytest.fixture(scope="module")
def sentence(speak) -> np.ndarray:  # type: ignore[no-untyped-def]
    return load_audio(speak(SENTENCE, speed=150))


def test_a_reading_that_ended_early_is_read_on(sentence: np.ndarray) -> None:
    transcriber = ends_early(len(sentence))
    result = transcriber.transcribe(sentence, DecodeOptions(initial_prompt=PROMPT))
    words = words_of(result.text)
    assert result.text.startswith(CUT_SHORT), result.text  # the first reading kept as it was
    assert len(words) >= len(words_of(CUT_SHORT)) + 3, result.text  # and the end added
    assert "jupyter" in words or "notebooks" in words, result.text
    assert len(transcriber.decodes) == 2  # the whole, then only what follows "plot it"
    assert transcriber.decodes[1] < len(sentence) / SAMPLE_RATE * 0.6


def test_where_the_reading_ended_is_told_by_the_audio(
    sentence: np.ndarray, whisper: WhisperTranscriber
) -> None:
    options = DecodeOptions(initial_prompt=PROMPT)
    duration = len(sentence) / SAMPLE_RATE
    short = Transcript(CUT_SHORT, duration, "en")
    cut = whisper._early_end(sentence, short, options)
    assert cut is not None
    # in the pause after "plot it": the words said after it are more than EARLY_END_S long
    end = whisper._text_end(sentence, CUT_SHORT, PROMPT, duration)
    assert end is not None and end + EARLY_END_S < duration
    assert abs(cut / SAMPLE_RATE - end) < 0.6
    # the whole sentence read is not read on; a reading without a prompt is checked alike
    full = whisper.transcribe(sentence, options)
    assert whisper._early_end(sentence, full, options) is None, full.text
    plain = whisper._early_end(sentence, short, DecodeOptions())
    assert plain is not None and abs(plain / SAMPLE_RATE - end) < 0.6


def test_a_pause_after_the_words_is_not_taken_for_more_speech(speak, whisper: WhisperTranscriber) -> None:  # type: ignore[no-untyped-def]
    audio = load_audio(speak("Ship it today.", speed=150, pad_s=3.0))
    said = Transcript("Ship it today.", len(audio) / SAMPLE_RATE, "en")
    assert whisper._early_end(audio, said, DecodeOptions(initial_prompt=PROMPT)) is None
    assert whisper._early_end(audio, said, DecodeOptions()) is None


def test_without_a_prompt_speech_after_a_pause_is_not_read_on(
    sentence: np.ndarray, whisper: WhisperTranscriber
) -> None:
    """From a review: read on, a reading without a prompt took in another voice heard after a
    pause (a television: "And the report. Breaking news tonight."). Without a prompt, only
    speech that goes on at once is read on (the dot that closed "from setup." mid-sentence):
    here the same words, after 1.3 s of silence."""
    prompted = DecodeOptions(initial_prompt=PROMPT)
    short = Transcript(CUT_SHORT, len(sentence) / SAMPLE_RATE, "en")
    cut = whisper._early_end(sentence, short, prompted)
    assert cut is not None
    pause = np.zeros(round(1.3 * SAMPLE_RATE), np.float32)
    audio = np.concatenate([sentence[:cut], pause, sentence[cut:]]).astype(np.float32)
    short = Transcript(CUT_SHORT, len(audio) / SAMPLE_RATE, "en")
    assert whisper._early_end(audio, short, DecodeOptions()) is None
    assert whisper._early_end(audio, short, prompted) is not None  # a prompted reading is, as it was
