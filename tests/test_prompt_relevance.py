"""A vocabulary too long for Whisper's prompt: the terms a first reading seems to say are named.

The usual prompt names the newest terms that fit (see ``test_prompt_budget.py``). When a first
reading of the audio seems to say an older term, even badly misheard, the audio is decoded once
more with a prompt that names it. The recording transcriber below is the real model, wrapped to
note the options of each decode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from app.config import ModelSettings, VocabularySettings
from app.text.pipeline import PROMPT_BIASES, TextPipeline
from app.text.vocabulary import Vocabulary
from app.transcribe.streaming import StreamingTranscriber
from app.transcribe.tokens import PROMPT_BUDGET, count_tokens
from app.transcribe.whisper import SAMPLE_RATE, DecodeOptions, Transcript, WhisperTranscriber, load_audio

# Invented names, several tokens each: 80 of them overflow the prompt window.
MANY = [f"Zorblax{i}Kit" for i in range(80)]
OLD = ["scikit-learn", "PyPI"]  # added first: the usual prompt leaves them out
BASE = DecodeOptions.from_settings(ModelSettings())


def test_relevant_terms_hear_misheard_terms_and_skip_unrelated_speech() -> None:
    vocab = Vocabulary(["scikit-learn", "PyPI", "Kubernetes", "PostgreSQL", "Matplotlib"])
    said = vocab.relevant_terms("We use psychic learn, pie pie and cube or net ease with post gress.")
    assert said == ["scikit-learn", "PyPI", "Kubernetes", "PostgreSQL"]  # the user's order
    assert vocab.relevant_terms("We walked along the river and stopped for coffee.") == []
    assert vocab.relevant_terms("") == []
    assert Vocabulary([]).relevant_terms("psychic learn") == []


def test_favoured_terms_are_named_last_and_the_newest_others_fill_the_room() -> None:
    vocab = Vocabulary(OLD + MANY)
    named = vocab.prompt_terms(PROMPT_BUDGET, count_tokens, favour=["pypi"])  # any casing
    assert named[-1] == "PyPI" and "scikit-learn" not in named
    others = named[:-1]
    assert others == MANY[-len(others) :]  # the newest, as without favour
    prompt = vocab.prompt(PROMPT_BUDGET, count_tokens, favour=["PyPI"])
    assert prompt is not None and count_tokens(" " + prompt) <= PROMPT_BUDGET
    # A vocabulary that fits is named whole, in order, whatever is favoured.
    small = Vocabulary(["NumPy", "PyPI", "uv"])
    assert small.prompt_terms(PROMPT_BUDGET, count_tokens, favour=["NumPy"]) == ["NumPy", "PyPI", "uv"]


def test_a_vocabulary_that_fits_never_reads_twice() -> None:
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY[:10]), [])
    assert pipeline.missing_terms("we use psychic learn from pie pie") == []
    assert pipeline.decode_options(BASE, heard="psychic learn") == pipeline.decode_options(BASE)


def test_an_overflowing_vocabulary_names_what_was_heard() -> None:
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY), [])
    usual = pipeline.decode_options(BASE).initial_prompt
    assert usual is not None and "scikit-learn" not in usual
    assert pipeline.missing_terms("we use psychic learn every day") == ["scikit-learn"]
    assert pipeline.missing_terms("we walked along the river") == []
    heard = pipeline.decode_options(BASE, heard="we use psychic learn every day").initial_prompt
    assert heard is not None and heard.endswith("and scikit-learn. Let me tell you what I did.")
    assert count_tokens(" " + heard) <= PROMPT_BUDGET
    # Bias without a prompt: nothing is left out, nothing is read twice.
    hotwords = TextPipeline(VocabularySettings(terms=OLD + MANY, bias="hotwords"), [])
    assert "hotwords" not in PROMPT_BIASES and hotwords.missing_terms("psychic learn") == []


@dataclass
class RecordingTranscriber:
    """The real model, noting the prompt of every decode (not a fake: it decodes for real)."""

    whisper: WhisperTranscriber
    prompts: list[str | None] = field(default_factory=list)

    def transcribe(
        self, audio: np.ndarray, options: DecodeOptions, cancel: Callable[[], bool] | None = None
    ) -> Transcript:
        self.prompts.append(options.initial_prompt)
        return self.whisper.transcribe(audio, options, cancel=cancel)


@pytest.mark.slow
def test_a_second_reading_names_the_old_terms_it_heard(whisper: WhisperTranscriber, speak) -> None:
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY), [])
    audio = load_audio(speak("Install scikit learn from PyPI before you run the notebook.", speed=150))
    recorder = RecordingTranscriber(whisper)
    transcript = pipeline.transcribe(recorder, audio, BASE)
    assert len(recorder.prompts) == 2, recorder.prompts
    assert pipeline.second_readings == 1
    first, second = recorder.prompts
    assert first is not None and "scikit-learn" not in first and "PyPI" not in first
    assert second is not None and "scikit-learn" in second and "PyPI" in second
    text = pipeline.apply(transcript.text)
    assert "scikit-learn" in text and "PyPI" in text, text


@pytest.mark.slow
def test_ordinary_speech_with_a_vocabulary_that_fits_is_read_once(whisper: WhisperTranscriber, speak) -> None:
    pipeline = TextPipeline(VocabularySettings(terms=OLD), [])
    recorder = RecordingTranscriber(whisper)
    audio = load_audio(speak("Install scikit learn from PyPI before you run the notebook.", speed=150))
    pipeline.transcribe(recorder, audio, BASE)
    assert len(recorder.prompts) == 1


@pytest.mark.slow
def test_streaming_decodes_name_the_old_terms_the_audio_was_heard_to_say(
    whisper: WhisperTranscriber, speak
) -> None:
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY), [])
    recorder = RecordingTranscriber(whisper)
    streaming = pipeline.streaming(recorder, BASE)
    assert isinstance(streaming, StreamingTranscriber)
    said = "We train the model with scikit learn and publish the package on PyPI."
    audio = load_audio(speak(said, speed=150))
    step = int(0.1 * SAMPLE_RATE)
    for end in range(step, len(audio) + 1, step):
        streaming.feed(audio[:end])
    text = pipeline.apply(streaming.finish(audio).text)
    assert recorder.prompts and "scikit-learn" not in (recorder.prompts[0] or "")
    assert any(p and "scikit-learn" in p for p in recorder.prompts[1:]), recorder.prompts
    assert "scikit-learn" in text, text
