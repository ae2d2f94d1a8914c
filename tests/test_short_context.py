"""Short encoder context: short audio is encoded with a few seconds of silence, not 30 s."""

from __future__ import annotations

import numpy as np
import pytest

from app.bench.wer import word_errors
from app.config import ModelSettings
from app.transcribe.whisper import (
    SAMPLE_RATE,
    SHORT_CONTEXT_MARGIN_S,
    DecodeOptions,
    Transcript,
    WhisperTranscriber,
    Word,
    _trim_repeat,
    encoder_frames,
    load_audio,
    max_new_tokens,
    repeat_start,
)


@pytest.mark.parametrize(
    ("duration", "margin", "frames"),
    [
        (3.0, 5.0, 800),
        (3.005, 5.0, 802),  # 801 frames rounded up to an even count (the conv stride is 2)
        (3.0, None, None),  # no margin: the whole window
        (24.9, 5.0, 2990),
        (25.0, 5.0, None),  # would reach the 30 s window anyway
        (40.0, 5.0, None),  # long-form audio keeps whole windows
    ],
)
def test_encoder_frames(duration: float, margin: float | None, frames: int | None) -> None:
    assert encoder_frames(duration, margin) == frames


def test_settings_choose_the_margin() -> None:
    assert DecodeOptions.from_settings(ModelSettings()).context_margin_s == SHORT_CONTEXT_MARGIN_S
    off = DecodeOptions.from_settings(ModelSettings(short_context=False))
    assert off.context_margin_s is None


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("please send the figures to the team", None),
        ("apple pie pie", None),  # one word twice is ordinary speech
        ("send it to me to me", None),  # two words twice: too little to tell
        ("send the figures to the team the figures to the team", 6),  # the last five words twice
        ("the cat sat on the mat the cat sat", 6),  # the end restarts the opening
        ("The cat sat on the mat. The cat, sat", 6),  # case and punctuation do not matter
    ],
)
def test_repeat_start(text: str, cut: int | None) -> None:
    assert repeat_start(text.split()) == cut


def _transcript(text: str, duration: float, step: float = 0.4) -> Transcript:
    words = tuple(Word(i * step, i * step + 0.3, " " + w, 0.9) for i, w in enumerate(text.split()))
    return Transcript(text, duration, "en", words)


def test_trim_repeat_drops_the_second_reading_and_words_in_the_padding() -> None:
    repeated = _transcript("the cat sat on the mat the cat sat", duration=5.0)
    assert _trim_repeat(repeated).text == "the cat sat on the mat"
    assert len(_trim_repeat(repeated).words) == 6
    # Words that start after the real audio ended were heard in the silent padding.
    padded = _transcript("please send it thanks", duration=1.0)
    assert _trim_repeat(padded).text == "please send it"
    clean = _transcript("please send it", duration=5.0)
    assert _trim_repeat(clean) is clean
    no_words = Transcript("the cat sat on the mat the cat sat", 5.0)
    assert _trim_repeat(no_words).text == "the cat sat on the mat"


def test_max_new_tokens() -> None:
    assert max_new_tokens(1.0) == 18
    assert max_new_tokens(10.0) == 90
    assert max_new_tokens(60.0) is None  # long-form: faster-whisper's own checks per window


@pytest.mark.slow
def test_short_context_hears_the_same_words_as_the_whole_window(speak) -> None:
    """Real model, real speech: the cheap encoding reads a sentence as the full one does."""
    whisper = WhisperTranscriber(ModelSettings())
    whisper.load()
    sentences = [
        "Please send the updated figures to the team before noon.",
        "We walked along the river for an hour and then stopped for coffee.",
    ]
    for sentence in sentences:
        audio = load_audio(speak(sentence, speed=150))
        full = whisper.transcribe(audio, DecodeOptions(context_margin_s=None))
        short = whisper.transcribe(audio, DecodeOptions(context_margin_s=SHORT_CONTEXT_MARGIN_S))
        errors, words = word_errors(sentence, short.text)
        full_errors, _ = word_errors(sentence, full.text)
        assert errors <= full_errors + 1, (full.text, short.text)
        assert errors / words <= 0.2, short.text
        # Word timestamps stay inside the real audio, not the silence added after it.
        timed = whisper.transcribe(
            audio, DecodeOptions(context_margin_s=SHORT_CONTEXT_MARGIN_S, word_timestamps=True)
        )
        assert timed.words and timed.words[-1].start < len(audio) / SAMPLE_RATE
        assert timed.duration == pytest.approx(len(audio) / SAMPLE_RATE)


@pytest.mark.slow
@pytest.mark.parametrize("level", [0.0, 1e-4, 3e-4, 3e-3])
def test_short_context_on_silence_invents_nothing(level: float) -> None:
    """Digital silence (a muted microphone) and room tone of several levels give no text."""
    whisper = WhisperTranscriber(ModelSettings())
    whisper.load()
    rng = np.random.default_rng(3)
    hiss = (rng.standard_normal(2 * SAMPLE_RATE) * level).astype(np.float32)
    text = whisper.transcribe(hiss, DecodeOptions(context_margin_s=SHORT_CONTEXT_MARGIN_S)).text
    assert text == "", text
