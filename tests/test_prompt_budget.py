"""A long vocabulary, and the transcript so far, fit in Whisper's prompt window.

faster-whisper keeps only the last 223 tokens of a prompt and drops the rest from the front:
the prompt's first sentence and the oldest terms, or in streaming the whole vocabulary prompt
once the committed text is appended. These tests use the real tokenizer and the real model.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.config import ModelSettings, VocabularySettings
from app.text.pipeline import TextPipeline
from app.text.termfile import read_terms
from app.text.vocabulary import Vocabulary, prompt_text
from app.transcribe.audiofile import load_audio
from app.transcribe.tokens import PROMPT_MARGIN, PROMPT_MAX_TOKENS, count_tokens
from app.transcribe.whisper import DecodeOptions, WhisperTranscriber

# Invented names: each is several tokens, like most jargon.
MANY = [f"Zorblax{i}Kit" for i in range(80)]


def test_count_tokens_uses_whispers_tokenizer() -> None:
    assert count_tokens(" Python") == 1
    assert count_tokens(" scikit-learn") > 1
    assert count_tokens("") == 0


def test_a_vocabulary_that_fits_is_named_whole() -> None:
    vocab = Vocabulary(["scikit-learn", "PyPI", "uv"])
    assert vocab.prompt_terms(50, count_tokens) == ["scikit-learn", "PyPI", "uv"]
    assert vocab.prompt(50, count_tokens) == vocab.prompt()


def test_a_long_vocabulary_keeps_both_sentences_and_its_newest_terms() -> None:
    vocab = Vocabulary(MANY)
    assert count_tokens(" " + vocab.prompt()) > 200  # too long as a whole
    prompt = vocab.prompt(200, count_tokens)
    assert prompt is not None
    assert count_tokens(" " + prompt) <= 200
    assert prompt.startswith("Today we talked about ")
    assert prompt.endswith(". Let me tell you what I did.")
    kept = vocab.prompt_terms(200, count_tokens)
    assert 10 < len(kept) < len(MANY)
    assert kept == MANY[-len(kept) :]  # the newest, in the user's order
    older = MANY[-len(kept) - 1]  # and as many as fit: one more would not
    assert count_tokens(" " + prompt_text([older, *kept])) > 200


def test_a_term_as_long_as_a_sentence_does_not_crowd_out_the_others() -> None:
    # Pasted by mistake, or a quote: it used to stop the newest-first fill at once, so the
    # prompt named no term at all.
    sentence = " ".join(["interoperability"] * 150)
    vocab = Vocabulary([*MANY[:5], sentence])
    assert vocab.prompt_terms(200, count_tokens) == MANY[:5]


def test_a_budget_too_small_for_any_term_gives_no_prompt() -> None:
    assert Vocabulary(MANY).prompt(5, count_tokens) is None


def test_the_pipeline_prompt_fits_the_window_with_the_text_before_it() -> None:
    pipeline = TextPipeline(VocabularySettings(terms=MANY), [])
    alone = pipeline.decode_options(DecodeOptions()).initial_prompt
    assert alone is not None and alone.startswith("Today we talked about")
    assert count_tokens(" " + alone) <= PROMPT_MAX_TOKENS - PROMPT_MARGIN
    before = "We shipped the release on Monday and fixed the installer."
    both = pipeline.decode_options(DecodeOptions(initial_prompt=before)).initial_prompt
    assert both is not None and both.startswith("Today we talked about") and both.endswith(before)
    assert count_tokens(" " + both) <= PROMPT_MAX_TOKENS - PROMPT_MARGIN


def test_context_is_cut_from_its_front_never_the_vocabulary(whisper: WhisperTranscriber) -> None:
    vocab_prompt = Vocabulary(MANY).prompt(PROMPT_MAX_TOKENS - PROMPT_MARGIN, count_tokens)
    context = " ".join(f"sentence number {i} of what was said before." for i in range(30))
    tokens = whisper._prompt(DecodeOptions(initial_prompt=vocab_prompt, context=context))
    assert isinstance(tokens, list) and len(tokens) <= PROMPT_MAX_TOKENS
    text = whisper._model.hf_tokenizer.decode(tokens)  # type: ignore[union-attr]
    assert text.strip().startswith(vocab_prompt)
    assert text.endswith("sentence number 29 of what was said before.")
    # Without context the prompt is passed as text, as before.
    assert whisper._prompt(DecodeOptions(initial_prompt="Hello.")) == "Hello."
    assert whisper._prompt(DecodeOptions()) is None


@pytest.mark.slow
def test_the_vocabulary_still_steers_whisper_after_a_long_transcript(
    whisper: WhisperTranscriber, speak
) -> None:
    """Streaming passes the text so far as context. With 60 terms (194 prompt tokens) and 120
    tokens of context, the context used to push the vocabulary prompt out of the window
    ("We used the ticket to learn", "from IPI"); now the context's front is what goes."""
    terms = read_terms(Path(__file__).parent / "data" / "tech_vocabulary.txt")
    pipeline = TextPipeline(VocabularySettings(terms=terms), [])
    options = pipeline.decode_options(DecodeOptions.from_settings(ModelSettings()))
    before = " ".join(f"Item {i} of the notes we took in the meeting today." for i in range(10))
    assert count_tokens(" " + options.initial_prompt) + count_tokens(" " + before) > PROMPT_MAX_TOKENS
    options = replace(options, context=before)
    first = whisper.transcribe(
        load_audio(speak("We use scikit learn for machine learning every day.", speed=150)), options
    )
    second = whisper.transcribe(
        load_audio(speak("Install NumPy and pandas from PyPI before you run the notebook.", speed=150)),
        options,
    )
    assert "scikit-learn" in pipeline.apply(first.text), first.text
    assert "PyPI" in second.text  # Whisper's own spelling, before any correction


@pytest.mark.slow
def test_hotwords_and_a_full_prompt_share_the_window(whisper: WhisperTranscriber, speak) -> None:
    """``vocabulary.bias = both`` with a long vocabulary: hotwords (up to half the window) and
    the vocabulary prompt (the other half) left no room for the text, and faster-whisper refused
    to decode ("The length of the prompt is 440 ..."): dictation failed. The oldest hotwords
    now give way."""
    pipeline = TextPipeline(VocabularySettings(terms=MANY, bias="both"), [])
    options = pipeline.decode_options(DecodeOptions.from_settings(ModelSettings()))
    assert options.hotwords is not None and count_tokens(" " + options.hotwords) > 200
    assert count_tokens(" " + options.initial_prompt) > 200
    result = whisper.transcribe(load_audio(speak("Please close the door.", speed=150)), options)
    # The decode runs and reads the sentence; with 440 tokens of terms around it, tiny.en has
    # once read "Please, please close the drawer." in a full run, so only "close" is required.
    assert "close" in result.text.lower(), result.text
    prompt, hotwords = whisper._fit(options, 30)
    assert prompt == options.initial_prompt  # the prompt, nearest the speech, is kept whole
    assert hotwords is not None and options.hotwords.endswith(hotwords)  # the newest terms
    assert len(hotwords) < len(options.hotwords)


@pytest.mark.slow
def test_a_full_prompt_leaves_room_for_the_text_of_a_long_recording(
    whisper: WhisperTranscriber, speak
) -> None:
    """27.8 s of audio in one window may write 233 tokens; with a 223-token prompt that was more
    than Whisper's 448 and the decode failed. The prompt's front now gives way."""
    audio = load_audio(speak("Please close the door.", speed=150, pad_s=13.0))
    assert 27.0 < len(audio) / 16_000 <= 28.0
    context = " ".join(f"sentence number {i} of what was said before." for i in range(30))
    options = replace(DecodeOptions.from_settings(ModelSettings(short_context=False)), context=context)
    result = whisper.transcribe(audio, options)
    assert "door" in result.text.lower(), result.text
    prompt, _ = whisper._fit(options, 233)
    assert isinstance(prompt, list) and len(prompt) < PROMPT_MAX_TOKENS
    assert whisper._model.hf_tokenizer.decode(prompt).endswith("number 29 of what was said before.")  # type: ignore[union-attr]
