"""A long vocabulary prompt: the terms a first reading seems to say are named nearest the speech.

The usual prompt names the terms in the user's order, or the newest that fit when the vocabulary
is too long for Whisper's prompt (see ``test_prompt_budget.py``). When the prompt is long and a
first reading of the audio seems to say terms, even badly misheard, the audio is decoded once
more with those terms named last (an older term left out is named again), and the reading
Whisper is surer of is kept. The recording transcriber below is the real model, wrapped to note
the options and the result of each decode.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from app.config import ModelSettings, VocabularySettings
from app.text.pipeline import LONG_PROMPT_TOKENS, PROMPT_BIASES, TextPipeline
from app.text.termfile import read_terms
from app.text.vocabulary import SURE_BAR, Vocabulary
from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.streaming import Look, StreamingTranscriber
from app.transcribe.tokens import PROMPT_BUDGET, count_tokens
from app.transcribe.whisper import DecodeOptions, Transcript, WhisperTranscriber

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
    # The sure bar hears the same clear readings, and nothing in ordinary speech that the
    # default bar takes for terms (worth naming in a prompt, not worth a second decode).
    assert vocab.relevant_terms("We use psychic learn from pie pie.", SURE_BAR) == ["scikit-learn", "PyPI"]
    tech = Vocabulary(read_terms(Path(__file__).parent / "data" / "tech_vocabulary.txt"))
    ordinary = "And so my fellow Americans, ask not what your country can do for you."
    assert len(tech.relevant_terms(ordinary)) >= 3
    assert tech.relevant_terms(ordinary, SURE_BAR) == []


def test_a_long_recording_that_spells_no_term_once_corrected_is_read_without_a_long_vocabulary() -> None:
    # The speech set's long LJSpeech recording under the 60 tech terms: "Peter" and "therefor"
    # come near Poetry and Terraform at the sure bar, but no term comes of them once corrected;
    # kept under the prompt, that recording read 6 words worse than without the vocabulary.
    tech = read_terms(Path(__file__).parent / "data" / "tech_vocabulary.txt")
    pipeline = TextPipeline(VocabularySettings(terms=tech), [])
    heard = "It was printed at Mainz by Peter Schoeffer, and it was natural therefor that the forms followed."
    assert pipeline.vocabulary.relevant_terms(heard, SURE_BAR)  # near terms, on the sure bar
    assert pipeline.apply_vocabulary(heard) == heard  # ... that correction does not take
    look = pipeline.second_look(BASE, heard, 231.0)
    assert look is not None and look.replaces and look.options == BASE, look
    # Within one window the prompted second look is kept: it often spells what the first
    # reading only came near (the check set's "Xegoost ... weights and biases").
    look = pipeline.second_look(BASE, heard, 10.0)
    assert look is not None and not look.replaces and look.options.initial_prompt, look
    # A reading that spells a term keeps the vocabulary (long audio: its one reading stands).
    said = "It was printed at Mainz by Peter, and we deploy it with Terraform on Kubernetes."
    assert pipeline.second_look(BASE, said, 231.0) is None


def test_favoured_terms_are_named_last_and_the_newest_others_fill_the_room() -> None:
    vocab = Vocabulary(OLD + MANY)
    named = vocab.prompt_terms(PROMPT_BUDGET, count_tokens, favour=["pypi"])  # any casing
    assert named[-1] == "PyPI" and "scikit-learn" not in named
    others = named[:-1]
    assert others == MANY[-len(others) :]  # the newest, as without favour
    prompt = vocab.prompt(PROMPT_BUDGET, count_tokens, favour=["PyPI"])
    assert prompt is not None and count_tokens(" " + prompt) <= PROMPT_BUDGET
    # A vocabulary that fits is named whole, the favoured terms last.
    small = Vocabulary(["NumPy", "PyPI", "uv"])
    assert small.prompt_terms(PROMPT_BUDGET, count_tokens) == ["NumPy", "PyPI", "uv"]
    assert small.prompt_terms(PROMPT_BUDGET, count_tokens, favour=["NumPy"]) == ["PyPI", "uv", "NumPy"]


def test_a_short_vocabulary_prompt_is_never_reordered() -> None:
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY[:10]), [])
    usual = pipeline.decode_options(BASE).initial_prompt
    assert usual is not None and count_tokens(" " + usual) <= LONG_PROMPT_TOKENS
    assert pipeline.decode_options(BASE, heard="psychic learn") == pipeline.decode_options(BASE)


def test_a_long_vocabulary_that_fits_names_what_was_heard_last() -> None:
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY[:20]), [])
    usual = pipeline.decode_options(BASE).initial_prompt
    assert usual is not None and LONG_PROMPT_TOKENS < count_tokens(" " + usual) <= PROMPT_BUDGET
    assert usual.startswith("Today we talked about scikit-learn, PyPI, Zorblax0Kit")
    heard = pipeline.decode_options(BASE, heard="we use psychic learn every day").initial_prompt
    assert heard is not None and heard.endswith("Zorblax19Kit and scikit-learn. Let me tell you what I did.")
    # At most half the window (tiny.en follows a long list loosely): the newest others fill it.
    assert count_tokens(" " + heard) <= LONG_PROMPT_TOKENS
    named = [w.strip(",.") for w in heard.split()]
    assert "PyPI" not in named and "Zorblax0Kit" not in named and "Zorblax18Kit" in named
    # Nothing heard that sounds like a term: the usual prompt, so no second reading.
    assert pipeline.decode_options(BASE, heard="we walked along the river") == pipeline.decode_options(BASE)


def test_an_overflowing_vocabulary_names_what_was_heard() -> None:
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY), [])
    usual = pipeline.decode_options(BASE).initial_prompt
    assert usual is not None and "scikit-learn" not in usual
    assert pipeline.decode_options(BASE, heard="we walked along the river") == pipeline.decode_options(BASE)
    heard = pipeline.decode_options(BASE, heard="we use psychic learn every day").initial_prompt
    assert heard is not None and heard.endswith("and scikit-learn. Let me tell you what I did.")
    assert count_tokens(" " + heard) <= LONG_PROMPT_TOKENS
    # Bias without a prompt: nothing is left out, nothing is read twice.
    hotwords = TextPipeline(VocabularySettings(terms=OLD + MANY, bias="hotwords"), [])
    assert "hotwords" not in PROMPT_BIASES
    assert hotwords.decode_options(BASE, heard="psychic learn") == hotwords.decode_options(BASE)


def test_a_look_keeps_the_surer_reading_with_text_or_replaces_the_first() -> None:
    # Plain Transcript values standing for two readings of one clip (no model involved).
    sure = Transcript("Install scikit-learn.", 2.0, logprob=-0.2)
    unsure = Transcript("Install psychic learn.", 2.0, logprob=-0.6)
    surer = Look(BASE)
    assert surer.keeps(unsure, sure) and not surer.keeps(sure, unsure)
    tie = Transcript("Install psychic learn!", 2.0, logprob=-0.2)
    assert not surer.keeps(sure, tie)  # the second reading must be strictly surer
    empty = Transcript("", 2.0, logprob=0.0)  # no tokens: logprob 0.0 says nothing
    assert not surer.keeps(unsure, empty) and surer.keeps(empty, unsure)
    # A reading without the vocabulary replaces the first whenever it reads words.
    bare = Look(BASE, replaces=True)
    assert bare.keeps(sure, unsure) and not bare.keeps(sure, empty)
    # A reading stuck on a word loses to one that is not, however sure Whisper is of it.
    stuck = Transcript("The jobs, run, run, run, run, run, and the logs.", 2.0, logprob=-0.1)
    heard = Transcript("The jobs run on RunPod and the logs.", 2.0, logprob=-0.9)
    assert surer.keeps(stuck, heard) and not surer.keeps(heard, stuck)
    assert not bare.keeps(heard, stuck)


@dataclass
class RecordingTranscriber:
    """The real model, noting the prompt of every decode (not a fake: it decodes for real)."""

    whisper: WhisperTranscriber
    prompts: list[str | None] = field(default_factory=list)
    results: list[Transcript] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)  # how much audio each decode heard

    def transcribe(
        self, audio: np.ndarray, options: DecodeOptions, cancel: Callable[[], bool] | None = None
    ) -> Transcript:
        self.prompts.append(options.initial_prompt)
        self.samples.append(len(audio))
        self.results.append(self.whisper.transcribe(audio, options, cancel=cancel))
        return self.results[-1]


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
def test_a_long_prompt_reads_again_and_keeps_the_surer_reading(whisper: WhisperTranscriber, speak) -> None:
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY[:20]), [])
    audio = load_audio(speak("Install scikit learn from PyPI before you run the notebook.", speed=150))
    recorder = RecordingTranscriber(whisper)
    transcript = pipeline.transcribe(recorder, audio, BASE)
    assert len(recorder.prompts) == 2 and pipeline.second_readings == 1, recorder.prompts
    first, second = recorder.prompts
    assert first is not None and first.startswith("Today we talked about scikit-learn, PyPI,")
    assert second is not None and second.endswith("scikit-learn and PyPI. Let me tell you what I did.")
    surer = max(recorder.results, key=lambda r: r.logprob)
    assert transcript.text == surer.text
    assert transcript.elapsed_ms == pytest.approx(sum(r.elapsed_ms for r in recorder.results))
    text = pipeline.apply(transcript.text)
    assert "scikit-learn" in text and "PyPI" in text, text


@pytest.mark.slow
def test_speech_without_terms_is_read_again_without_a_long_vocabulary(
    whisper: WhisperTranscriber, speak
) -> None:
    audio = load_audio(speak("We walked along the river and stopped for coffee at noon.", speed=150))
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY[:20]), [])
    recorder = RecordingTranscriber(whisper)
    transcript = pipeline.transcribe(recorder, audio, BASE)
    usual = pipeline.decode_options(BASE).initial_prompt
    assert usual is not None and recorder.prompts == [usual, None], recorder.prompts
    assert pipeline.second_readings == 1
    # The reading without the vocabulary is kept, whatever Whisper's certainty of either.
    assert transcript.text == recorder.results[1].text == whisper.transcribe(audio, BASE).text
    assert "river" in transcript.text.lower(), transcript.text
    assert transcript.elapsed_ms == pytest.approx(sum(r.elapsed_ms for r in recorder.results))
    # A short prompt nudges ordinary words less: such speech is read once.
    short = TextPipeline(VocabularySettings(terms=OLD), [])
    recorder = RecordingTranscriber(whisper)
    short.transcribe(recorder, audio, BASE)
    assert recorder.prompts == [short.decode_options(BASE).initial_prompt] and short.second_readings == 0


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
    speech = load_audio(speak(said, speed=150))
    # Released on the last word, with no pause for a pause decode (and its second look): the
    # release's decode names the terms the chunks heard.
    audio = speech[: np.flatnonzero(np.abs(speech) > 0.02)[-1]]
    step = int(0.1 * SAMPLE_RATE)
    for end in range(step, len(audio) + 1, step):
        streaming.feed(audio[:end])
    text = pipeline.apply(streaming.finish(audio).text)
    assert recorder.prompts and "scikit-learn" not in (recorder.prompts[0] or "")
    assert any(p and "scikit-learn" in p for p in recorder.prompts[1:]), recorder.prompts
    assert "scikit-learn" in text, text


def _stream_with_pause(streaming: StreamingTranscriber, audio: np.ndarray) -> None:
    """Feed ``audio`` every 0.1 s as the engine does while the key is held."""
    step = int(0.1 * SAMPLE_RATE)
    for end in range(step, len(audio) + 1, step):
        streaming.feed(audio[:end])


def _held_with_pause(
    whisper: WhisperTranscriber, speak, said: str
) -> tuple[TextPipeline, RecordingTranscriber, StreamingTranscriber, np.ndarray]:
    """``said``, then a 1 s pause with the key still held, streamed under a long vocabulary
    prompt: the pipeline, the recorder of its decodes, the streaming transcriber, the audio."""
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY[:20]), [])
    recorder = RecordingTranscriber(whisper)
    streaming = pipeline.streaming(recorder, BASE)
    speech = load_audio(speak(said, speed=150))
    audio = np.concatenate([speech, np.zeros(SAMPLE_RATE, np.float32)])
    _stream_with_pause(streaming, audio)
    return pipeline, recorder, streaming, audio


@pytest.mark.slow
def test_a_pause_gives_a_short_utterance_a_second_look_with_a_long_prompt(
    whisper: WhisperTranscriber, speak
) -> None:
    assert TextPipeline(VocabularySettings(terms=OLD), []).streaming(whisper, BASE).second_look is None
    said = "Install scikit learn from PyPI before you run the notebook."
    pipeline, recorder, streaming, audio = _held_with_pause(whisper, speak, said)
    usual = pipeline.decode_options(BASE).initial_prompt
    # The last pause decode (the usual prompt), then its second look (the terms heard last).
    # A pause within the sentence may have had a look of its own before.
    assert recorder.prompts[-2] == usual and usual is not None
    look = recorder.prompts[-1]
    assert look is not None and look.endswith("scikit-learn and PyPI. Let me tell you what I did.")
    assert count_tokens(" " + look) <= LONG_PROMPT_TOKENS < count_tokens(" " + usual)
    pause, second = recorder.results[-2:]
    transcript = streaming.finish(audio)
    assert streaming.finish_decoded is False  # the release needed no decode
    assert transcript.text == (second if second.logprob > pause.logprob else pause).text.strip()
    text = pipeline.apply(transcript.text)
    assert "scikit-learn" in text and "PyPI" in text, text


@pytest.mark.slow
def test_a_pause_after_speech_without_terms_looks_again_without_a_long_vocabulary(
    whisper: WhisperTranscriber, speak
) -> None:
    said = "We walked along the river and stopped for coffee at noon."
    pipeline, recorder, streaming, audio = _held_with_pause(whisper, speak, said)
    usual = pipeline.decode_options(BASE).initial_prompt
    assert usual is not None and recorder.prompts[-2:] == [usual, None], recorder.prompts[-3:]
    look = recorder.results[-1]
    transcript = streaming.finish(audio)
    assert streaming.finish_decoded is False  # the release needed no decode
    assert transcript.text == look.text.strip() and "river" in transcript.text.lower(), transcript.text


@dataclass
class GatedTranscriber(RecordingTranscriber):
    """The real model, but a second look (another prompt than ``usual``) at audio of at least
    ``gate_samples`` first waits for ``gate``: a release during that decode, which real timing
    gives only by chance, is made certain. The decode itself is real, and ``cancel`` stops it
    as it would."""

    usual: str | None = None
    gate_samples: int = 0
    gate: threading.Event = field(default_factory=threading.Event)
    waiting: threading.Event = field(default_factory=threading.Event)

    def transcribe(
        self, audio: np.ndarray, options: DecodeOptions, cancel: Callable[[], bool] | None = None
    ) -> Transcript:
        if options.initial_prompt != self.usual and len(audio) >= self.gate_samples:
            self.waiting.set()
            assert self.gate.wait(60)
        return super().transcribe(audio, options, cancel)


@pytest.mark.slow
def test_a_release_during_the_second_look_keeps_the_first_reading_without_waiting(
    whisper: WhisperTranscriber, speak
) -> None:
    pipeline = TextPipeline(VocabularySettings(terms=OLD + MANY[:20]), [])
    speech = load_audio(speak("Install scikit learn from PyPI before you run the notebook.", speed=150))
    audio = np.concatenate([speech, np.zeros(SAMPLE_RATE, np.float32)])
    usual = pipeline.decode_options(BASE).initial_prompt
    # A first run finds the last second look (the same audio and feeds decode the same way).
    recorder = RecordingTranscriber(whisper)
    _stream_with_pause(pipeline.streaming(recorder, BASE), audio)
    assert recorder.prompts[-1] != usual, recorder.prompts
    gated = GatedTranscriber(whisper, usual=usual, gate_samples=recorder.samples[-1])
    streaming = pipeline.streaming(gated, BASE)
    feeder = threading.Thread(target=_stream_with_pause, args=(streaming, audio), daemon=True)
    feeder.start()
    try:
        assert gated.waiting.wait(120), "no second look started"
        pause = gated.results[-1]
        assert gated.prompts[-1] == usual  # the pause decode the look follows
        transcript = streaming.finish(audio)  # while the second look is held at its gate
        assert not gated.gate.is_set()  # finish() did not wait for it
        assert streaming.finish_decoded is False
        assert transcript.text == pause.text.strip()
    finally:
        gated.gate.set()
        feeder.join(120)
    assert not feeder.is_alive()
    assert len(gated.results) == len(gated.prompts) - 1  # the look was given up, not finished
