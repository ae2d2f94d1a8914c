"""A reading without the vocabulary as a second opinion on the biased one.

Under a prompt full of terms, tiny.en's beam search sometimes loses the right ordinary words
early ("Have you all the nightly jobs" for "Schedule the nightly jobs"), words a reading
without the prompt kept. ``TextPipeline.second_opinion`` takes such words where Whisper, under
the same prompt, finds them likelier, never at the cost of a term. The biased readings below
are ones tiny.en wrote on our jargon clips, written in by hand so that no test depends on a
decode going wrong; the audio and its scoring are real (espeak-ng, the embedded tiny.en).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from app.config import ModelSettings, VocabularySettings
from app.text.pipeline import TextPipeline
from app.text.swaps import Swap, swapped, swaps
from app.text.termfile import read_terms
from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.whisper import LONG_FORM_S, DecodeOptions, Transcript, WhisperTranscriber
from tests.fixtures.speech import Speak


def test_swaps_are_the_stretches_read_otherwise() -> None:
    reading = "Have you all the nightly jobs with Kestra instead of cron?"
    other = "schedule the nightly jobs with Kestra instead of cron."
    assert swaps(reading, other) == [Swap(0, 3, ("schedule",))]
    assert swapped(reading, swaps(reading, other)) == "schedule the nightly jobs with Kestra instead of cron?"


def test_case_and_punctuation_alone_are_no_swap() -> None:
    assert swaps("We use Vector, and ClickHouse.", "we use vector and clickhouse") == []


def test_words_only_one_reading_has_are_swaps_too() -> None:
    reading = "Let me make more requests with httpx."
    other = "Make the requests with httpx."
    changes = swaps(reading, other)
    assert changes == [Swap(0, 2, ()), Swap(3, 4, ("the",))]
    assert swapped(reading, changes[:1]) == "make more requests with httpx."
    assert swapped(reading, changes) == "make the requests with httpx."
    assert swaps("", "words") == [Swap(0, 0, ("words",))]


@pytest.fixture(scope="module")
def whisper() -> WhisperTranscriber:
    """The real embedded tiny.en model, loaded once for this module."""
    model = WhisperTranscriber(ModelSettings())
    model.load()
    return model


def _pipeline(terms: list[str], bias: str = "prompt") -> TextPipeline:
    return TextPipeline(VocabularySettings(terms=terms, bias=bias), [])  # type: ignore[arg-type]


def _prompt(pipeline: TextPipeline) -> str:
    prompt = pipeline.decode_options(DecodeOptions()).initial_prompt
    assert prompt
    return prompt


TERMS = ["Kestra", "Airflow", "Dagster", "cron"]
# A vocabulary whose prompt is long (over LONG_PROMPT_TOKENS): the one that gets a second opinion.
LONG_TERMS = read_terms(Path(__file__).parent / "data" / "tech_vocabulary.txt") + TERMS


@pytest.mark.slow
def test_words_the_prompted_beam_lost_come_back(speak: Speak, whisper: WhisperTranscriber) -> None:
    pipeline = _pipeline(TERMS)
    audio = load_audio(speak("Schedule the nightly jobs with Kestra instead of cron.", voice="en-us+m3"))
    seconds = len(audio) / SAMPLE_RATE
    reading = Transcript("Have you all the nightly jobs with Kestra instead of cron?", seconds)
    plain = "schedule the nightly jobs with Kestra instead of cron."
    result = pipeline.second_opinion(whisper, audio, reading, plain, _prompt(pipeline))
    assert result.text == "schedule the nightly jobs with Kestra instead of cron?"
    assert pipeline.polish(result.text) == "Schedule the nightly jobs with Kestra instead of cron?"


@pytest.mark.slow
def test_the_reading_keeps_words_the_audio_says(speak: Speak, whisper: WhisperTranscriber) -> None:
    pipeline = _pipeline(TERMS)
    audio = load_audio(speak("Schedule the nightly jobs with Kestra instead of cron.", voice="en-us+m3"))
    said = "Schedule the nightly jobs with Kestra instead of cron."
    reading = Transcript(said, len(audio) / SAMPLE_RATE)
    plain = "Have you all the nightly jobs with Kestra in the head of cron."
    assert pipeline.second_opinion(whisper, audio, reading, plain, _prompt(pipeline)).text == said


@pytest.mark.slow
def test_a_term_is_never_swapped_away(speak: Speak, whisper: WhisperTranscriber) -> None:
    """The audio says "extra", the biased reading wrote the term: Whisper scores "extra"
    higher, but the prompt is there for the terms and the swap is not even scored."""
    pipeline = _pipeline(TERMS)
    audio = load_audio(speak("Schedule the nightly jobs with extra care.", voice="en-us+m3"))
    reading = Transcript("Schedule the nightly jobs with Kestra care.", len(audio) / SAMPLE_RATE)
    plain = "Schedule the nightly jobs with extra care."
    scores = whisper.score_texts(audio, [reading.text, plain], _prompt(pipeline))
    assert scores is not None and scores[1] > scores[0]  # the audio says "extra"
    assert pipeline.second_opinion(whisper, audio, reading, plain, _prompt(pipeline)).text == reading.text


@pytest.mark.slow
def test_a_near_miss_of_a_term_is_kept_for_the_audio_check(speak: Speak, whisper: WhisperTranscriber) -> None:
    """ "Staff QL" is a near miss of GraphQL that ``confirm`` asks the audio about: a reading
    that drops it (tiny.en without the prompt skipped the sentence's start) is no option."""
    pipeline = _pipeline(["GraphQL", "Apollo"])
    audio = load_audio(speak("Our API speaks GraphQL and the mobile client uses Apollo.", voice="en-us"))
    reading = Transcript(
        "Now we're at the I speak, Staff QL, and the mobile client use in Apollo.", len(audio) / SAMPLE_RATE
    )
    plain = "And the mobile client use in Apollo."
    result = pipeline.second_opinion(whisper, audio, reading, plain, _prompt(pipeline))
    assert "Staff QL" in result.text


@pytest.mark.slow
def test_a_long_vocabulary_gets_a_second_opinion(speak: Speak, whisper: WhisperTranscriber) -> None:
    audio = load_audio(speak("Schedule the nightly jobs with Kestra instead of cron.", voice="en-us+m3"))
    pipeline = _pipeline(LONG_TERMS)
    text = pipeline.transcribe(whisper, audio, DecodeOptions()).text
    assert pipeline.second_opinions == 1
    assert "Kestra" in text
    short = _pipeline(TERMS)
    short.transcribe(whisper, audio, DecodeOptions())
    assert short.second_opinions == 0  # a short prompt nudges few words: one reading, no delay
    unbiased = TextPipeline(VocabularySettings(), [])
    unbiased.transcribe(whisper, audio, DecodeOptions())
    assert unbiased.second_opinions == 0  # no vocabulary: one reading, nothing to compare
    hotwords = _pipeline(LONG_TERMS, bias="hotwords")
    hotwords.transcribe(whisper, audio, DecodeOptions())
    assert hotwords.second_opinions == 0  # the audio check scores prompts, not hotwords
    off = TextPipeline(VocabularySettings(terms=LONG_TERMS, second_opinion=False), [])
    off.transcribe(whisper, audio, DecodeOptions())
    assert off.second_opinions == 0  # the user's choice


@pytest.mark.slow
def test_audio_past_one_window_gets_no_second_opinion(speak: Speak, whisper: WhisperTranscriber) -> None:
    clip = load_audio(speak("Schedule the nightly jobs with Kestra instead of cron.", voice="en-us+m3"))
    gap = np.zeros(SAMPLE_RATE, np.float32)
    audio = np.concatenate([clip, gap] * (int(LONG_FORM_S) // 3))
    assert len(audio) > LONG_FORM_S * SAMPLE_RATE
    pipeline = _pipeline(LONG_TERMS)
    pipeline.transcribe(whisper, audio, DecodeOptions())
    assert pipeline.second_opinions == 0


class PlainFails:
    """A fake for what a real model cannot be made to do on cue: the reading without the
    vocabulary, made beside the biased one, fails (every other decode is the real model's)."""

    def __init__(self, inner: WhisperTranscriber) -> None:
        self._inner = inner
        self.score_texts = inner.score_texts

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, cancel: object = None) -> Transcript:
        if threading.current_thread().name.startswith("plain-reading"):
            raise RuntimeError("the plain decode broke")
        return self._inner.transcribe(audio, options)


@pytest.mark.slow
def test_a_failed_second_opinion_keeps_the_biased_reading(speak: Speak, whisper: WhisperTranscriber) -> None:
    audio = load_audio(speak("Schedule the nightly jobs with Kestra instead of cron.", voice="en-us+m3"))
    pipeline = _pipeline(LONG_TERMS)
    text = pipeline.transcribe(PlainFails(whisper), audio, DecodeOptions()).text  # type: ignore[arg-type]
    assert pipeline.second_opinions == 0
    off = TextPipeline(VocabularySettings(terms=LONG_TERMS, second_opinion=False), [])
    assert text == off.transcribe(whisper, audio, DecodeOptions()).text  # as without a second opinion
