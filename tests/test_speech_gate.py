"""No speech, no text: the voice detector gate, and the prompt read back from noise.

Whisper given noise writes something anyway; under the vocabulary prompt it reads the prompt
back ("Let me tell you what I did."). Real model, real Silero detector, noise made here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.config import ModelSettings, VocabularySettings
from app.text.pipeline import TextPipeline
from app.text.termfile import read_terms
from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.glitches import prompt_echo
from app.transcribe.vad import has_speech, speech_seconds
from app.transcribe.whisper import DecodeOptions, WhisperTranscriber

TERMS = read_terms(Path(__file__).parent / "data" / "tech_vocabulary.txt")
WORDS = ["yes", "stop", "okay", "eight"]


def _noise(seconds: float, level: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE)) * level).astype(
        np.float32
    )


def test_prompt_echo_is_a_run_of_the_prompts_words_only() -> None:
    prompt = "Today we talked about scikit-learn and PyPI. Let me tell you what I did."
    assert prompt_echo("Let me tell you what I did.", prompt)
    assert prompt_echo("We talked about scikit-learn.", prompt)
    assert not prompt_echo("Let me tell you what I did yesterday.", prompt)  # more than the prompt
    assert not prompt_echo("I did.", prompt)  # too short to tell
    assert not prompt_echo("Install scikit-learn from PyPI.", prompt)
    assert not prompt_echo("", prompt)


@pytest.mark.parametrize("level", [0.0, 0.002, 0.01, 0.1])
def test_the_detector_hears_no_speech_in_noise(level: float) -> None:
    assert not has_speech(_noise(3.0, level, seed=7))
    assert speech_seconds(np.zeros(0, np.float32)) == 0.0


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize(("gain", "noise"), [(1.0, 0.0), (0.1, 0.0), (0.1, 0.01)])
def test_the_detector_hears_one_short_word_quiet_or_in_noise(
    speak, word: str, gain: float, noise: float
) -> None:
    audio = load_audio(speak(word)) * gain
    audio = np.concatenate(
        [_noise(0.5, noise, seed=1), audio + _noise(len(audio) / SAMPLE_RATE, noise, seed=2)]
    )
    assert has_speech(audio)


@pytest.mark.slow
@pytest.mark.parametrize(("seconds", "level"), [(3.0, 0.002), (3.0, 0.01), (6.0, 0.03)])
def test_noise_under_the_vocabulary_prompt_gives_no_text(
    whisper: WhisperTranscriber, seconds: float, level: float
) -> None:
    pipeline = TextPipeline(VocabularySettings(terms=TERMS), [])
    assert (
        pipeline.transcribe(
            whisper, _noise(seconds, level, seed=0), DecodeOptions.from_settings(ModelSettings())
        ).text
        == ""
    )


@pytest.mark.slow
def test_without_the_gate_noise_is_never_read_as_the_prompt(speak) -> None:
    """The 60-term prompt and 3 s of faint noise made tiny.en write "Let me tell you what I
    did."; with the gate off, the prompt-echo check decodes such audio again unprompted."""
    whisper = WhisperTranscriber(ModelSettings(speech_gate=False))
    pipeline = TextPipeline(VocabularySettings(terms=TERMS), [])
    options = pipeline.decode_options(DecodeOptions.from_settings(ModelSettings()))
    assert options.initial_prompt
    for seed, level in ((0, 0.002), (0, 0.01), (3, 0.03)):
        text = whisper.transcribe(_noise(3.0, level, seed), options).text
        assert not prompt_echo(text, options.initial_prompt), text
    # Real speech under the same prompt is untouched by the check.
    said = whisper.transcribe(load_audio(speak("Install NumPy and pandas from PyPI.", speed=150)), options)
    assert "PyPI" in pipeline.apply(said.text), said.text


@pytest.mark.slow
def test_a_single_word_is_still_transcribed(whisper: WhisperTranscriber, speak) -> None:
    pipeline = TextPipeline(VocabularySettings(terms=TERMS), [])
    text = pipeline.transcribe(
        whisper, load_audio(speak("yes")), DecodeOptions.from_settings(ModelSettings())
    ).text
    assert "yes" in text.lower(), text
