"""A prompt that tips Whisper into writing a list of guesses gets a second, comma-free reading."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import ModelSettings
from app.transcribe.audiofile import load_audio
from app.transcribe.glitches import list_like, words_of
from app.transcribe.whisper import DecodeOptions, Transcript, WhisperTranscriber


@pytest.mark.parametrize(
    ("text", "listy"),
    [
        ("Marimo, Node, Book, Python, Files, that work well with git.", True),
        ("Messages, Waitin, RabbitMQ, Intel, Worker, Big Snama.", True),
        ("The async, handler awaits, the response, and returns JSON.", True),
        ("Buy eggs, milk, bread and butter.", True),  # a real list matches too; see below
        ("Deploy the container to Kubernetes and point it at PostgreSQL.", False),
        ("For small apps, SQLite is enough, but we cache sessions in Redis.", False),
        ("Yes, sure.", False),  # two pieces: too few to call a list
        ("", False),
    ],
)
def test_list_like(text: str, listy: bool) -> None:
    assert list_like(text) is listy


def test_words_ignore_case_and_punctuation() -> None:
    assert words_of("Buy eggs, milk. Bread!") == words_of("buy eggs milk bread")
    assert words_of("Buy eggs, milk") != words_of("Buy eggs milk bread")


class ScriptedDecodes(WhisperTranscriber):
    """FAKE decoder (named as such): a list-like first reading cannot be produced on cue by the
    real model, so the two decodes return scripted transcripts and record whether the second
    one was asked to suppress commas. Everything else is the real transcriber."""

    def __init__(self, first: Transcript, second: Transcript) -> None:
        super().__init__(ModelSettings(speech_gate=False))  # AUDIO below is no speech
        self.script = [first, second]
        self.suppressed: list[tuple[int, ...]] = []
        self._model = object()
        self._commas = (11, 837)

    def _decode_window(  # type: ignore[no-untyped-def]
        self, audio, options, started, duration, frames, suppress=(), repetition_penalty=1.0, fallback=True
    ):
        self.suppressed.append(suppress)
        return self.script[len(self.suppressed) - 1]


AUDIO = np.full(16_000 * 2, 0.1, np.float32)
PROMPTED = DecodeOptions(initial_prompt="Today we talked about RabbitMQ. Let me tell you what I did.")
LIST = Transcript("Messages, Waitin, RabbitMQ, Intel, Worker.", 2.0, "en", logprob=-0.87)
SENTENCE = Transcript("Messages wait in RabbitMQ until the worker picks them up.", 2.0, "en", logprob=-0.70)


def test_a_list_of_guesses_is_read_again_without_commas() -> None:
    whisper = ScriptedDecodes(LIST, SENTENCE)
    assert whisper._transcribe(AUDIO, PROMPTED).text == SENTENCE.text
    assert whisper.suppressed == [(), (11, 837)]


def test_a_spoken_list_keeps_its_commas() -> None:
    spoken = Transcript("Buy eggs, milk, bread and butter.", 2.0, "en", logprob=-0.3)
    whisper = ScriptedDecodes(spoken, Transcript("Buy eggs milk bread and butter.", 2.0, "en", logprob=-0.2))
    assert whisper._transcribe(AUDIO, PROMPTED).text == spoken.text


def test_a_less_sure_second_reading_is_not_taken() -> None:
    whisper = ScriptedDecodes(LIST, Transcript("Messages weighed in rabbit.", 2.0, "en", logprob=-1.2))
    assert whisper._transcribe(AUDIO, PROMPTED).text == LIST.text


def test_no_prompt_no_second_decode() -> None:
    whisper = ScriptedDecodes(LIST, SENTENCE)
    assert whisper._transcribe(AUDIO, DecodeOptions()).text == LIST.text
    assert whisper.suppressed == [()]


@pytest.mark.slow
def test_real_model_writes_no_comma_when_commas_are_suppressed(speak) -> None:
    """The real tokenizer's comma tokens, passed to the real decoder: a spoken list comes out
    with its words and without a single comma (Whisper may end the items with full stops)."""
    whisper = WhisperTranscriber(ModelSettings())
    whisper.load()
    commas = whisper._comma_tokens()
    tokenizer = whisper._model.hf_tokenizer  # type: ignore[attr-defined]
    assert tokenizer.encode(",", add_special_tokens=False).ids[0] in commas
    assert all("," in tokenizer.decode([i]) for i in commas)
    audio = load_audio(speak("Buy eggs, milk, bread, apples, and butter.", speed=140))
    options = DecodeOptions(context_margin_s=5.0)
    plain = whisper.transcribe(audio, options).text
    bare = whisper._decode_window(audio, options, 0.0, len(audio) / 16_000, None, commas).text
    assert "," not in bare, bare
    assert {"eggs", "milk"} <= set(words_of(bare)), bare
    assert len(words_of(bare)) >= len(words_of(plain)) - 2, (plain, bare)
