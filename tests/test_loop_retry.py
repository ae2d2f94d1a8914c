"""A decode stuck on a word ("Weav, Weav, Weav, Weav") or reading a stretch twice is read again
with repeats penalised."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.config import ModelSettings
from app.transcribe import gaps, vad
from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.glitches import loop_excess, looping, said_twice, words_of
from app.transcribe.whisper import (
    LONG_FORM_S,
    LOOP_PENALTY,
    SHORT_CONTEXT_MARGIN_S,
    DecodeOptions,
    Transcript,
    WhisperTranscriber,
)


@pytest.mark.parametrize(
    ("text", "loops"),
    [
        ("I work so in GitHub Actions, Build, Weav, Weav, Weav, Weav,", True),
        ("But we're good hum action builds, but we'll, we'll, we'll, we'll.", True),
        ("Thank you, thank you, thank you.", True),  # a two-word run three times
        ("Run it on the GPU on the GPU on the GPU please.", True),  # three words three times
        ("No, no, no, that is not what I meant.", False),  # three times: people say that
        ("Deploy the container to Kubernetes and point it at PostgreSQL.", False),
        ("The cat and the dog and the bird.", False),  # repeated, but not in a row
        ("Build it for x86, 64, and Num64.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0", True),  # one word's parts
        ("Bind it to 0.0.0.0 or to 127.0.0.1, version 1.1.1.1.", False),  # four parts at most
        ("JKKKKKKKKKKKKKKKKKKKKKKKKKKKK", True),  # one letter (a reading of gibberish)
        ("Hmmm, a cool 100000000 dollars. Zzzzzzz.", False),  # seven at most; digits are no loop
        ("", False),
    ],
)
def test_looping(text: str, loops: bool) -> None:
    assert looping(text) is loops


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("The GPU jumps, run, run, run, run, run, run, and the Lox Dortet Weave,", 5),
        ("Go go go go go go.", 5),
        ("Thank you, thank you, thank you.", 4),  # a two-word run: two extra copies
        ("2, 2, 3, 2, 3, 1, 1, 1, 1, 1, 4", 4),
        ("No, no, no, that is not what I meant.", 0),  # not a loop
        ("", 0),
    ],
)
def test_loop_excess(text: str, extra: int) -> None:
    assert loop_excess(text) == extra


@pytest.mark.parametrize(
    ("text", "repeated"),
    [
        ("The FastAPI and Pydantic, the first API and Pydantic, the first API and Pydantic, the end.", 5),
        ("Open the file and read it, open the file and read it, then close it.", 6),
        ("I think we should, I think we should go home.", 4),
        ("Say it again, say it again.", 0),  # three words: people say that
        ("The cat and the dog and the cat and the dog.", 0),  # not in a row
        ("Deploy the container to Kubernetes and point it at PostgreSQL.", 0),
        ("", 0),
    ],
)
def test_said_twice(text: str, repeated: int) -> None:
    assert said_twice(text) == repeated


def test_said_twice_finds_what_comparing_every_run_finds() -> None:
    """said_twice looks at each size in one pass over the words (see the next test); it finds
    the longest run said twice in a row that comparing every run with the next finds."""
    import random

    def by_comparing(words: list[str]) -> int:
        for size in range(len(words) // 2, 3, -1):
            if any(words[i : i + size] == words[i + size : i + 2 * size] for i in range(len(words))):
                return size
        return 0

    rng = random.Random(7)
    found = 0
    for _ in range(3000):
        words = [rng.choice("ab") + rng.choice("ab") for _ in range(rng.randrange(0, 24))]
        if rng.random() < 0.5 and len(words) > 4:  # a run said twice, somewhere
            i, size = rng.randrange(len(words) - 3), rng.randrange(4, 8)
            words[i:i] = words[i : i + size]
        expected = by_comparing(words)
        found += expected > 0
        assert said_twice(" ".join(words)) == expected, words
    assert found > 1000  # (the check saw many)


def test_said_twice_reads_a_long_reply_in_a_moment() -> None:
    """From a review: the LLM modes check each reply with said_twice, on the output worker and
    outside the call's time limit; comparing every run with the next, a reply of 3,000 words
    took 12 s and one of 6,000 words 85 s before the paste (a cached reply as long)."""
    import time

    text = " ".join(f"word{i % 997} said{i % 991}" for i in range(3000))  # 6,000 words, no repeat
    started = time.monotonic()
    assert said_twice(text) == 0
    assert time.monotonic() - started < 20.0  # (85 s before)


class ScriptedDecodes(WhisperTranscriber):
    """FAKE decoder (named as such): a looping first reading cannot be produced on cue by the
    real model, so the decodes return scripted transcripts and record the repetition penalty
    each was asked for. Everything else is the real transcriber."""

    def __init__(self, *script: Transcript) -> None:
        super().__init__(ModelSettings(speech_gate=False))  # the audio below is no speech
        self.script = list(script)
        self.penalties: list[float] = []
        self.prompts: list[str | None] = []
        self.frames: list[int | None] = []
        self._model = object()
        self._commas = (11, 837)

    def _decode_window(  # type: ignore[no-untyped-def]
        self, audio, options, started, duration, frames, suppress=(), repetition_penalty=1.0, fallback=True
    ):
        self.penalties.append(repetition_penalty)
        self.prompts.append(options.initial_prompt)
        self.frames.append(frames)
        return self.script[len(self.penalties) - 1]


AUDIO = np.full(SAMPLE_RATE * 4, 0.1, np.float32)
LOOP = Transcript("I work so in GitHub Actions, Build, Weav, Weav, Weav, Weav.", 4.0, "en", logprob=-0.84)
READ = Transcript(
    "I work so in GitHub Actions, Builds and Wheels with cibuildwheel.", 4.0, "en", logprob=-0.84
)


def test_a_looping_reading_is_read_again_with_repeats_penalised() -> None:
    whisper = ScriptedDecodes(LOOP, READ)
    assert whisper._transcribe(AUDIO, DecodeOptions()).text == READ.text
    assert whisper.penalties == [1.0, LOOP_PENALTY]


def test_a_second_reading_that_drops_the_repeats_keeps_them() -> None:
    """Someone who really says a word over and over: the penalised reading has fewer words."""
    said = Transcript("Go go go go go go.", 3.0, "en", logprob=-0.54)
    whisper = ScriptedDecodes(said, Transcript("Go, go!", 3.0, "en", logprob=-0.65))
    assert whisper._transcribe(AUDIO, DecodeOptions()).text == said.text


PROMPTED = DecodeOptions(initial_prompt="Today we talked about RunPod and Weave.")
# A loop that stands in for words tiny.en half hears under a prompt (held set, g08, when the
# temperature fallback sampled it): nothing after it is lost, so the penalised reading is
# shorter than the first by about the loop's extra copies. (Without commas here: a reading that
# also looks like a list is read without commas first, see test_list_retry.)
PROMPT_LOOP = Transcript(
    "The GPU jumps run run run run run run and the Lox Dortet Weave.", 4.0, "en", logprob=-0.92
)
PENALISED = Transcript("The GPU jumps on, RunPod and the LoxDortet Weave.", 4.0, "en", logprob=-1.02)


def test_a_prompted_loop_gives_way_when_a_reading_without_the_prompt_does_not_loop() -> None:
    plain = Transcript("The GPU jumps on the run part and the locked water weave.", 4.0, "en")
    whisper = ScriptedDecodes(PROMPT_LOOP, PENALISED, plain)
    assert whisper._transcribe(AUDIO, PROMPTED).text == PENALISED.text
    assert whisper.penalties == [1.0, LOOP_PENALTY, 1.0]
    assert whisper.prompts == [PROMPTED.initial_prompt, PROMPTED.initial_prompt, None]


def test_a_prompted_loop_is_kept_when_the_reading_without_the_prompt_loops_too() -> None:
    """Repeats that are really said: the unprompted reading hears them as well."""
    plain = Transcript("The GPU jumps, run, run, run, run, run, and the log weave.", 4.0, "en")
    whisper = ScriptedDecodes(PROMPT_LOOP, PENALISED, plain)
    assert whisper._transcribe(AUDIO, PROMPTED).text == PROMPT_LOOP.text


def test_a_penalised_reading_that_lost_more_than_the_loop_is_not_taken() -> None:
    short = Transcript("The GPU jumps.", 4.0, "en")
    whisper = ScriptedDecodes(PROMPT_LOOP, short)
    assert whisper._transcribe(AUDIO, PROMPTED).text == PROMPT_LOOP.text
    assert whisper.penalties == [1.0, LOOP_PENALTY]  # no third reading


def test_a_stretch_read_twice_is_read_again_and_may_have_fewer_words() -> None:
    """The penalised reading has fewer words than the first, but as many as the first without
    its second copy: it read on where the first went back."""
    twice = Transcript(
        "The FastAPI and Pydantic, the first API and Pydantic, the first API and Pydantic, "
        "the first party with pyantic.",
        4.0,
        "en",
    )
    again = Transcript(
        "The FastAPI and Pydantic, the first API endpoint motivates the request party with pynetic.",
        4.0,
        "en",
    )
    whole = Transcript("The FastAPI and Pydantic, the first API endpoint validates the request.", 4.0, "en")
    whisper = ScriptedDecodes(twice, whole, again)
    assert whisper._transcribe(AUDIO, SHORT).text == again.text
    assert whisper.penalties == [1.0, 1.0, LOOP_PENALTY]
    assert whisper.frames[1] is None  # the check: a reading with the whole window, which did not repeat


SHORT = DecodeOptions(context_margin_s=SHORT_CONTEXT_MARGIN_S)  # the default: a short encoder context
SAID = Transcript("Open the file and read it, open the file and read it, then close it.", 4.0, "en")


def test_a_stretch_read_twice_is_kept_when_the_second_reading_loses_more() -> None:
    whole = Transcript("Open the file and read it, then close it.", 4.0, "en")
    whisper = ScriptedDecodes(SAID, whole, Transcript("Open the file.", 4.0, "en"))
    assert whisper._transcribe(AUDIO, SHORT).text == SAID.text


def test_a_stretch_the_whole_window_reads_twice_too_was_said_twice() -> None:
    """The speaker said it twice: no penalised reading, which would drop the second copy."""
    whisper = ScriptedDecodes(SAID, SAID)
    assert whisper._transcribe(AUDIO, SHORT).text == SAID.text
    assert whisper.penalties == [1.0, 1.0] and whisper.frames[1] is None


def test_a_stretch_read_twice_by_the_whole_window_is_checked_without_the_prompt() -> None:
    """Read with the whole window already (a long utterance, or short_context off), the second
    opinion goes without the prompt, which is what tips tiny.en into the glitch; with no
    prompt at all, the reading is taken as it is, as plain faster-whisper would."""
    prompted = DecodeOptions(initial_prompt="Today we talked about FastAPI.")
    whisper = ScriptedDecodes(SAID, SAID)
    assert whisper._transcribe(AUDIO, prompted).text == SAID.text
    assert whisper.prompts == [prompted.initial_prompt, None]
    alone = ScriptedDecodes(SAID)
    assert alone._transcribe(AUDIO, DecodeOptions()).text == SAID.text
    assert alone.penalties == [1.0]


def test_a_second_reading_that_loops_too_is_not_taken() -> None:
    other = Transcript("I work so in GitHub Actions, we'll, we'll, we'll, we'll.", 4.0, "en")
    whisper = ScriptedDecodes(LOOP, other)
    assert whisper._transcribe(AUDIO, DecodeOptions()).text == LOOP.text


def test_no_loop_no_second_decode() -> None:
    whisper = ScriptedDecodes(READ, LOOP)
    assert whisper._transcribe(AUDIO, DecodeOptions()).text == READ.text
    assert whisper.penalties == [1.0]


def test_long_audio_is_left_to_faster_whispers_own_fallback() -> None:
    long_audio = np.full(int(SAMPLE_RATE * (LONG_FORM_S + 2)), 0.1, np.float32)
    whisper = ScriptedDecodes(LOOP, READ)
    assert whisper._transcribe(long_audio, DecodeOptions()).text == LOOP.text
    assert whisper.penalties == [1.0]


@pytest.mark.slow
def test_real_repeats_are_kept_and_the_penalty_reaches_the_decoder(speak) -> None:
    """The real model on a word really said six times: the plain reading repeats it (and
    loops, by the measure above), the penalised one cannot, and transcribe keeps the plain
    one because the penalised reading lost words."""
    whisper = WhisperTranscriber(ModelSettings())
    whisper.load()
    audio = load_audio(speak("Go, go, go, go, go, go, go, go.", speed=150))
    options = DecodeOptions(context_margin_s=5.0)
    seconds = len(audio) / SAMPLE_RATE
    plain = whisper._decode_window(audio, options, 0.0, seconds, None).text
    penalised = whisper._decode_window(audio, options, 0.0, seconds, None, (), LOOP_PENALTY).text
    assert looping(plain), plain
    assert words_of(penalised).count("go") < words_of(plain).count("go"), (plain, penalised)
    kept = whisper.transcribe(audio, options).text
    assert words_of(kept).count("go") >= 4, kept
    # Under a vocabulary prompt too: the reading without it hears the repeats.
    prompted = whisper.transcribe(audio, replace(options, initial_prompt=PROMPTED.initial_prompt)).text
    assert words_of(prompted).count("go") >= 4, prompted


@pytest.mark.slow
def test_a_sentence_said_four_times_is_written_four_times(speak, whisper) -> None:  # type: ignore[no-untyped-def]
    """From a review: "Testing the microphone." said four times, a pause after each, was read
    six times by Whisper (a loop, by the measure above), and its fallback for loops kept one
    copy. Read again piece by piece between the pauses, each copy read is one said."""
    said = " ".join(["Testing the microphone."] * 4)
    audio = load_audio(speak(said, voice="en-us+m3", speed=165))
    text = whisper.transcribe(audio, DecodeOptions.from_settings(whisper.settings)).text
    assert words_of(text).count("microphone") == 4, text


class CountsFallbacks(WhisperTranscriber):
    """The real transcriber, noting the seconds of audio each decode with Whisper's temperature
    fallback reads."""

    def __init__(self) -> None:
        super().__init__(ModelSettings())
        self.fallbacks: list[float] = []

    def _decode_once(  # type: ignore[no-untyped-def]
        self, audio, options, started, duration, *args, fallback: bool = True, **kwargs
    ) -> Transcript:
        if fallback:
            self.fallbacks.append(duration)
        return super()._decode_once(audio, options, started, duration, *args, fallback=fallback, **kwargs)


class FirstReadingLoops(WhisperTranscriber):
    """FAKE first reading (named as such): the real model's first reading of the whole clip
    replaced by a loop, as tiny.en now and then reads one under a prompt (never on cue); the
    pieces, the fallback and every other decode are the real model's."""

    def __init__(self, seconds: float) -> None:
        super().__init__(ModelSettings())
        self.seconds = seconds
        self.first_readings = 0

    def _decode_once(  # type: ignore[no-untyped-def]
        self, audio, options, started, duration, *args, fallback: bool = True, **kwargs
    ) -> Transcript:
        if duration == self.seconds and not fallback:
            self.first_readings += 1
            return Transcript("Deploy the, the, the, the, the, the, the, the.", duration, "en")
        return super()._decode_once(audio, options, started, duration, *args, fallback=fallback, **kwargs)


@pytest.mark.slow
def test_a_loop_the_pauses_do_not_explain_goes_on_to_the_fallback_without_a_second_first_reading(  # type: ignore[no-untyped-def]
    speak,
) -> None:
    """A loop of Whisper's own, in speech with a pause: the pieces say no words again, so the
    fallback reads the clip as before, starting from the first reading already made."""
    audio = load_audio(speak("Deploy the container to Kubernetes. Then point it at the database."))
    seconds = len(audio) / SAMPLE_RATE
    whisper = FirstReadingLoops(seconds)
    whisper.load()
    text = whisper.transcribe(audio, DecodeOptions.from_settings(whisper.settings)).text
    assert "database" in words_of(text), text
    assert whisper.first_readings == 1


@pytest.mark.slow
def test_a_sentence_said_again_and_again_is_read_by_its_pauses_before_the_fallback(speak) -> None:  # type: ignore[no-untyped-def]
    """The first reading of the sentence said four times loops: its pauses are tried before
    Whisper's fallback, which read the whole at six temperatures (twice: the short context
    and the whole window, 4 s of a 6 s run) only for the pieces to replace it. (A piece's own
    reading may still loop and go through the fallback.)"""
    whisper = CountsFallbacks()
    whisper.load()
    said = " ".join(["Testing the microphone."] * 4)
    audio = load_audio(speak(said, voice="en-us+m3", speed=165))
    text = whisper.transcribe(audio, DecodeOptions.from_settings(whisper.settings)).text
    assert words_of(text).count("microphone") == 4, text
    seconds = len(audio) / SAMPLE_RATE
    assert all(duration < seconds / 2 for duration in whisper.fallbacks), (seconds, whisper.fallbacks)


@pytest.mark.slow
@pytest.mark.parametrize(("said", "voice"), [("Thank you.", "en-us+f2"), ("Next slide please.", "en-us")])
def test_copies_the_voice_detector_runs_together_are_cut_at_their_quiet(  # type: ignore[no-untyped-def]
    speak, whisper, said: str, voice: str
) -> None:
    """From a review: said four times with a third of a second of silence between, these came
    out twice and once: the voice detector heard one span of speech (or three), so the
    reading by pauses found no pause between the copies. The quiet stretches are pauses too."""
    audio = load_audio(speak(" ".join([said] * 4), voice=voice, speed=165))
    text = whisper.transcribe(audio, DecodeOptions.from_settings(whisper.settings)).text
    last = words_of(said)[-1]
    assert words_of(text).count(last) == 4, text


@pytest.mark.slow
def test_pieces_after_the_first_are_not_read_after_the_callers_context(speak, whisper) -> None:  # type: ignore[no-untyped-def]
    """Live dictation reads the words after those it committed, with them as context ("Can").
    Read by its pauses, each piece of a question said three times was read after that context
    too, and each lost its first word to it: "you hear me now? Can". The context is what was
    said before the first piece only."""
    audio = load_audio(speak(" ".join(["Can you hear me now?"] * 3), voice="en-us+f2"))
    cuts = gaps.pause_points(audio, vad.speech_spans(audio))
    assert len(cuts) == 2
    options = DecodeOptions.from_settings(whisper.settings, context="Can")
    pieces = whisper._transcribe_pieces(audio, options, 0.0, cuts, carry=False)
    assert [words_of(text)[:2] for text in pieces.segments[1:]] == [["can", "you"]] * 2, pieces.segments


class WindowsDropped(WhisperTranscriber):
    """FAKE long-form decode (named as such): Whisper's reading of a recording past one window
    that drops every window as no speech (its compression-ratio check took real repeats for a
    loop) cannot be had on cue from the real model; everything else is the real transcriber."""

    def _decode_window(  # type: ignore[no-untyped-def]
        self, audio, options, started, duration, frames, suppress=(), repetition_penalty=1.0, fallback=True
    ):
        if duration > LONG_FORM_S:
            return Transcript("", duration, "en")
        return super()._decode_window(
            audio, options, started, duration, frames, suppress, repetition_penalty, fallback
        )


@pytest.mark.slow
def test_a_long_recording_read_as_nothing_is_read_again_in_pieces(speak) -> None:  # type: ignore[no-untyped-def]
    """From a review: two clips said three times over (30 s) came out empty: every window's
    reading compressed "too well", was taken for a loop and dropped as no speech. The voice
    detector hears 30 s of speech, so the recording is read again in pieces of one window."""
    whisper = WindowsDropped(ModelSettings())
    whisper.load()
    clip = load_audio(speak("We will deploy the service to Kubernetes tomorrow morning.", speed=150))
    audio = np.concatenate([clip] * 9)
    assert len(audio) / SAMPLE_RATE > LONG_FORM_S
    text = whisper.transcribe(audio, DecodeOptions.from_settings(whisper.settings)).text
    assert words_of(text).count("morning") >= 6, text


@pytest.mark.slow
def test_a_question_said_five_times_is_written_five_times(speak, whisper) -> None:  # type: ignore[no-untyped-def]
    """Read with the short context, five copies; the whole window, which checks such a
    repeat, heard four and was taken (it may be the short context that adds one). The pauses
    between the copies tell: read piece by piece, five."""
    said = " ".join(["Can you hear me now?"] * 5)
    audio = load_audio(speak(said, voice="en-us+f2"))
    text = whisper.transcribe(audio, DecodeOptions.from_settings(whisper.settings)).text
    assert words_of(text).count("now") == 5, text
