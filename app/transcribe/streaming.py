"""Decode while the key is held, so that on release only a short tail is left.

The policy is *local agreement* (Whisper-Streaming, Macháček et al. 2023): every ~1 s of new
audio, the uncommitted tail is decoded again; the words on which two consecutive decodes agree
are committed, and the tail's start moves past them. Committed words are passed as the prompt of
the next decode, together with the vocabulary bias, so the model keeps its context.

On release, :meth:`StreamingTranscriber.finish` decodes only the end that no streaming decode
settled (with ``final_context_s`` of settled audio before it), and a speculative decode still running is
given up between its stages rather than waited for. A short utterance (``whole_max_s``) is
decoded whole instead: hardly slower, and its first words are read with the sentence's end.
When the user paused before letting go, the last decode already heard everything (the audio
after it is silent), so no decode is needed at all. With ``second_look`` (a long vocabulary), a
short utterance's pause decode is followed by a second reading while the key is still held,
as ``holdtype transcribe`` reads such audio twice; then ``prepare`` (the vocabulary's check of
near misses against the audio) works on the pause's text. A release never waits for either.

The class is driven by one thread (the engine's transcription worker): call :meth:`feed` with the
audio so far as often as you like (it decodes only when enough new audio arrived), then
:meth:`finish` with the whole utterance.
"""

from __future__ import annotations

import difflib
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from app.text.english import lower_inside_sentence
from app.transcribe.audiofile import SAMPLE_RATE
from app.transcribe.glitches import looping, norm_word
from app.transcribe.levels import FRAME, SilenceLevel, frame_rms, rms, voiced
from app.transcribe.whisper import DecodeCancelled, DecodeOptions, Transcriber, Transcript, Word

log = logging.getLogger(__name__)


def _pieces(words: list[str]) -> tuple[list[str], list[int]]:
    """Normalised pieces of ``words`` split at hyphens and slashes, and the word each is from:
    a decode may write "scikit-learn" where an earlier one wrote "scikit learn"."""
    pieces: list[str] = []
    owners: list[int] = []
    for k, word in enumerate(words):
        for piece in re.split(r"[-/]", word):
            if norm := norm_word(piece):
                pieces.append(norm)
                owners.append(k)
    return pieces, owners


def _cut(words: list[str], committed: list[str]) -> tuple[int, bool]:
    """Where the words of a re-decoded buffer that come after its already committed words
    begin, and whether the word before that is the decode's reading of the last committed one.

    The buffer starts in a pause before some committed words; the decode hears them again,
    maybe spelled a little differently. Align on normalised pieces and cut after the last one
    (never inside a word).
    """
    if not committed:
        return 0, False
    done, _ = _pieces(committed)
    norm, owners = _pieces(words)
    matcher = difflib.SequenceMatcher(a=done, b=norm, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return min(len(committed), len(words)), False
    last = blocks[-1]
    cut = last.b + last.size + (len(done) - (last.a + last.size))  # in pieces
    if cut <= 0:
        return 0, False
    if cut >= len(norm):
        return len(words), cut == len(norm)
    return owners[cut - 1] + 1, True


# Punctuation a word may end with: what a decode writes where it thinks a sentence or a
# clause ends.
_MARKS = ".,;:!?…"


def _marks(text: str) -> str:
    """The punctuation ``text`` ends with ("service." -> ".", "to..." -> "...")."""
    return text[len(text.rstrip(_MARKS)) :]


def _reread(word: Word, reading: str, after: str | None) -> Word:
    """``word``, the last word of a decode's text, with the punctuation a later decode that
    heard past it wrote there (``reading``: that decode's word at that place; ``after``: its
    next word, None when it read no further).

    Whisper closes its text with a mark where its audio ends: a decode that stopped after
    "deploy the service" wrote "service.", and the words after it were joined to that mark
    ("We will deploy the service. to Kubernetes tomorrow morning"). The decode that heard the
    sentence go on is the one to follow, with two exceptions. Its next word in capitals may
    start a new sentence it left unmarked, and the mark is kept. And at the end of the speech
    (``after`` None) neither decode heard more: a mark is taken, none is no reason to drop one
    (a decode prompted with text cut mid-sentence often leaves its end unmarked).

    >>> def mend(word: str, reading: str, after: str | None) -> str:
    ...     return _reread(Word(0, 1, word, 1), reading, after).text
    >>> mend(" service.", " service", " to"), mend(" town.", " town", " We"), mend(" go", " go,", " and")
    (' service', ' town.', ' go,')
    >>> mend(" morning", " morning.", None), mend(" ok?", " ok", None)
    (' morning.', ' ok?')
    """
    old, new = _marks(word.text), _marks(reading)
    if new == old:
        return word
    if not new and (after is None or (old[-1:] in ".!?…" and after.lstrip()[:1].isupper())):
        return word
    return replace(word, text=word.text[: len(word.text) - len(old)] + new)


def _read_on(decoded: list[str], known: list[Word], open_end: bool) -> tuple[list[str], Word | None]:
    """The words of a final decode (``decoded``) after the known words it heard again
    (``known``), and the last of these with the punctuation this decode gave it when
    ``open_end`` (that word ended the text of the decode that gave it: see :func:`_reread`),
    or None when it keeps its own.

    >>> heard = [Word(0, 1, t, 1) for t in (" deploy", " the", " service.")]
    >>> texts, mended = _read_on("deploy the service to Kubernetes".split(), heard, True)
    >>> texts, mended.text
    (['to', 'Kubernetes'], ' service')
    """
    first_new, reads_end = _cut(decoded, [norm_word(w.text) for w in known])
    texts = decoded[first_new:]
    if not (known and open_end and reads_end):
        return texts, None
    mended = _reread(known[-1], " " + decoded[first_new - 1], " " + texts[0] if texts else None)
    return texts, (mended if mended is not known[-1] else None)


def _stopped_early(final: list[Word], hypothesis: list[Word], fewer: int) -> bool:
    """Whether the final decode of the tail ended early: ``fewer`` words or more short of the
    last hypothesis, which heard less of the same audio. Speech cut off mid-sentence (the
    length limit, a release while still talking) sometimes makes Whisper stop there ("Let us
    keep very" where the hypothesis had "Let us keep the reach right limit up")."""
    return len(final) + fewer <= len(hypothesis)


# A leading word of a decode that starts this much or more before the committed words end
# overlaps them: an echo of the cut point (see StreamingTranscriber._said_again). Whisper's
# word times come in steps of 20 ms.
ECHO_OVERLAP_S = 0.03


def _runaway(words: list[Word], seconds: float, repeat_heard: bool = False) -> bool:
    """Whether decoded words look like a hallucination: too many for the audio, or looping.

    ``repeat_heard``: the decode's repeats were heard by a second reading too (see
    ``Transcript.repeat_heard``): a sentence said three times over ("The build is green. The
    build is green. The build is green.") is no loop, and only the count of words is judged.
    """
    tokens = [norm_word(t) for w in words for t in w.text.split()]
    if len(tokens) > max(6.0, 5.0 * seconds):
        return True
    if repeat_heard:
        return False
    trigrams = [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    return len(trigrams) >= 6 and len(set(trigrams)) < len(trigrams) / 2


@dataclass(frozen=True, slots=True)
class StreamingConfig:
    """Tuning of the streaming policy."""

    min_chunk_s: float = 1.5  # decode again after this much new audio
    pause_s: float = 0.25  # ...or as soon as this much trailing silence follows new speech
    min_silence_rms: float = 1e-4  # the silence threshold adapts to the audio, never below this
    max_tail_s: float = 12.0  # force a commit when the uncommitted tail grows past this
    keep_tail_s: float = 3.0  # ...keeping this much audio uncommitted
    max_buffer_s: float = 6.0  # past this, move the start into the widest committed gap
    context_chars: int = 200  # committed text passed as prompt
    final_context_s: float | None = 1.5  # the final decode re-hears this much committed audio
    commit_lag_s: float = 0.8  # a word is committed only once this much audio follows it
    # An utterance no longer than this (whose buffer still starts at its beginning) is decoded
    # whole by the final decode, committed words included: see StreamingTranscriber._final_words.
    whole_max_s: float = 6.0
    # The beam of the speculative chunk decodes made while the key is held (at most the
    # settings' beam): their words are only agreed on, and a short utterance is read again
    # whole at the settings' beam. None: the settings' beam for them too.
    chunk_beam: int | None = 5
    # The final decode's tail is taken for one that stopped early, and the last hypothesis is
    # kept, when it has this many words fewer than that hypothesis (see _stopped_early).
    stopped_early_words: int = 2


@dataclass(slots=True)
class _State:
    committed: list[Word] = field(default_factory=list)
    start: float = 0.0  # seconds: where the decoded audio begins (a pause between words)
    committed_until: float = 0.0  # seconds: end of the last committed word
    # The last committed word was the last word of the decode that committed it, and no decode
    # read past it since: its punctuation is where that decode's text ended (see _reread).
    open_end: bool = False
    hypothesis: list[Word] = field(default_factory=list)  # last decode's uncommitted words
    decoded_until: float = 0.0  # seconds of audio the last decode saw
    decodes: int = 0
    decode_ms: float = 0.0
    # A final-quality decode made during a pause: (audio seconds it heard, the utterance's words).
    candidate: tuple[float, list[Word]] | None = None
    pause_level: float = 0.0  # loudest 20 ms frame (RMS) of the silence that made the candidate
    # The mean log-probability of the candidate's reading when it is one whole decode of the
    # utterance (what a second look is compared with); None otherwise.
    whole_logprob: float | None = None
    final_heard_s: float = 0.0  # seconds of audio the latest final-quality decode heard


@dataclass(frozen=True, slots=True)
class Look:
    """A second reading of an utterance: its options, and which reading is then kept."""

    options: DecodeOptions
    # False: the reading Whisper is surer of (higher mean log-probability). True: this one,
    # whenever it reads words (a reading without the vocabulary of speech that says no term:
    # log-probabilities under different prompts say little about which reading is right).
    replaces: bool = False

    def keeps(self, first: Transcript, second: Transcript) -> bool:
        """Whether ``second`` (this look's reading) is kept over ``first``."""
        if not second.text.strip():
            return False
        if looping(first.text) != looping(second.text):
            # A reading stuck on a word ("run, run, run, run") is sure of itself: each repeat
            # is likely after the last. Whichever reading does not loop said more.
            return looping(first.text)
        return self.replaces or not first.text.strip() or second.logprob > first.logprob


@dataclass(frozen=True, slots=True)
class Partial:
    """Text so far: committed words (final) and the tentative rest."""

    committed: str
    tentative: str


# Characters of the text before a word that _join looks at (its mark, and quotes after it).
_TAIL = 16


def _join(words: list[Word], before: str = "") -> str:
    """The words' text, after ``before`` (the text shown before them); a word English writes
    in lower case inside a sentence is (a decode that starts mid-sentence may give it a
    capital: see :func:`lower_inside_sentence`)."""
    parts: list[str] = []
    tail = before[-_TAIL:]  # what tells whether a sentence ended: the last few characters
    for word in words:
        part = lower_inside_sentence(word.text, tail)
        parts.append(part)
        tail = (tail + part)[-_TAIL:]
    return "".join(parts).strip()


def _partial(committed: list[Word], tentative: list[Word]) -> Partial:
    """The text so far, the tentative words read after the committed ones."""
    done = _join(committed)
    return Partial(done, _join(tentative, done))


class StreamingTranscriber:
    """Local-agreement streaming over any :class:`Transcriber` that returns word timestamps."""

    def __init__(
        self,
        transcriber: Transcriber,
        options: DecodeOptions,
        config: StreamingConfig | None = None,
        reprompt: Callable[[str], DecodeOptions] | None = None,
        second_look: Callable[[str, float], Look | None] | None = None,
        prepare: Callable[[np.ndarray, str], object] | None = None,
    ) -> None:
        self.transcriber = transcriber
        self.options = options
        # Options for a decode given the text heard so far (the vocabulary too long for one
        # prompt names the terms that text seems to say); None: always ``options``.
        self.reprompt = reprompt
        # How to read a whole short utterance once more, given its first reading's text and
        # seconds, or None when one reading is enough (see _decode_look).
        self.second_look = second_look
        # Work on a pause decode's text while the key is held, so that a release after the
        # pause finds it done (the vocabulary's check of near misses against the audio: see
        # TextPipeline.confirm, which remembers its last answer); given the audio and text.
        self.prepare = prepare
        self.config = config or StreamingConfig()
        self._s = _State()
        self._silence = SilenceLevel(self.config.min_silence_rms)
        self.finish_decoded: bool | None = None  # did finish() need a decode (None: not called)
        self.finish_heard_s: float | None = None  # seconds of audio finish()'s decode heard
        # feed() may still be decoding in another thread when finish() runs (see there).
        self._lock = threading.Lock()
        self._closed = False  # finish() began: decodes still running leave no trace
        self._inflight: tuple[str, float, threading.Event] | None = None  # kind, heard s, done

    # -- public API ------------------------------------------------------------------------------
    @property
    def decodes(self) -> int:
        """How many decodes ran while the key was held."""
        return self._s.decodes

    @property
    def decode_ms(self) -> float:
        """Milliseconds spent decoding this utterance so far (given-up decodes included)."""
        return self._s.decode_ms

    def partial(self) -> Partial:
        """Return the committed and tentative text of the latest decode."""
        return _partial(self._s.committed, self._s.hypothesis)

    def _next_decode(self, audio: np.ndarray) -> str | None:
        """Which decode the audio so far calls for: "pause", "chunk" or None."""
        s, cfg = self._s, self.config
        now = len(audio) / SAMPLE_RATE
        new = now - s.decoded_until
        if new < cfg.pause_s:
            return None
        silence = self._silence.update(audio)
        if rms(audio[-int(cfg.pause_s * SAMPLE_RATE) :]) < silence:
            # The speaker paused: make the final text ready, once per pause, if anything is
            # still uncommitted. A candidate made in an earlier pause is stale once speech
            # followed it (too little for a chunk decode): finish() would decode again.
            if s.candidate is not None:
                heard = int(s.candidate[0] * SAMPLE_RATE)
                return "pause" if voiced(audio[heard:], silence) else None
            tail = audio[int(s.start * SAMPLE_RATE) :]
            return "pause" if voiced(tail, silence) else None
        return "chunk" if new >= cfg.min_chunk_s else None

    def should_decode(self, audio: np.ndarray) -> bool:
        """Tell whether enough new audio (or a pause after new speech) warrants a decode."""
        return self._next_decode(audio) is not None

    def feed(self, audio: np.ndarray, cancel: Callable[[], bool] | None = None) -> Partial | None:
        """Decode the uncommitted tail if warranted; return the new partial text, else None.

        ``cancel`` (asked between the stages of a speculative chunk decode) tells that the key
        was released: the decode is given up, so that :meth:`finish` need not wait for it. A
        pause decode is never given up, since it is what lets a release need no decode at all.
        A decode that ends after :meth:`finish` began leaves no trace.
        """
        kind = self._next_decode(audio)
        if kind is None:
            return None
        done = threading.Event()
        with self._lock:
            if self._closed:
                return None
            self._inflight = (kind, len(audio) / SAMPLE_RATE, done)
        try:
            if kind == "pause":
                partial = self._decode_pause(audio)
                if partial is not None and self.second_look is not None and self._s.whole_logprob is not None:
                    look_done = threading.Event()
                    with self._lock:
                        closed = self._closed
                        if not closed:
                            self._inflight = ("look", len(audio) / SAMPLE_RATE, look_done)
                    done.set()  # the pause decode is over: a release does not wait for the look
                    done = look_done
                    if not closed:
                        self._decode_look(audio, cancel)
                if partial is not None and self.prepare is not None:
                    self._prepare(audio, done, cancel)
                return partial
            try:
                self._decode_and_commit(audio, cancel)
            except DecodeCancelled:
                log.debug("streaming: released during a chunk decode; gave it up")
                return None
            return self.partial()
        finally:
            with self._lock:
                self._inflight = None
            done.set()

    def _prepare(
        self, audio: np.ndarray, previous: threading.Event, cancel: Callable[[], bool] | None
    ) -> None:
        """Run :attr:`prepare` on the pause's final text, unless the key is already up (a
        release never waits for it: it is marked in flight as "prepare")."""
        prepared = threading.Event()
        with self._lock:
            if self._closed or (cancel is not None and cancel()) or self._s.candidate is None:
                return
            text = _join(self._s.candidate[1])
            self._inflight = ("prepare", len(audio) / SAMPLE_RATE, prepared)
        previous.set()
        try:
            if text and self.prepare is not None:
                self.prepare(audio, text)
        except Exception:  # only a head start: the release does the work again if need be
            log.warning("streaming: preparing the pause's text failed", exc_info=True)
        finally:
            prepared.set()

    def _decode_pause(self, audio: np.ndarray) -> Partial | None:
        # Decode now exactly as a release would, so that a release during this pause finds the
        # final text ready.
        words = self._final_words(audio, looked_at=self.second_look is not None)
        quiet = audio[-int(self.config.pause_s * SAMPLE_RATE) :]
        with self._lock:
            if self._closed:
                return None
            s = self._s
            s.candidate = (len(audio) / SAMPLE_RATE, words)
            s.pause_level = float(frame_rms(quiet).max()) if len(quiet) >= FRAME else 0.0
            s.decoded_until = len(audio) / SAMPLE_RATE
            s.decodes += 1
            # (the last committed word may have been given other punctuation: see _reread)
            same = [(w.start, w.end, norm_word(w.text)) for w in words[: len(s.committed)]]
            done = (
                len(s.committed) if same == [(w.start, w.end, norm_word(w.text)) for w in s.committed] else 0
            )
            return _partial(words[:done], words[done:])

    def finish(self, audio: np.ndarray) -> Transcript:
        """Return the transcript of the whole utterance, decoding only what is still needed.

        Safe to call while a :meth:`feed` from another thread is still decoding: a pause
        decode that may turn out final is waited for; a speculative one is left to stop on its
        own (its result is dropped) while the final decode runs beside it.
        """
        started = time.perf_counter()
        with self._lock:
            inflight = self._inflight
        if inflight is not None and inflight[0] == "pause":
            heard = int(inflight[1] * SAMPLE_RATE)
            if not voiced(audio[heard:], self._silence.update(audio)):
                inflight[2].wait()
        with self._lock:
            self._closed = True
        s = self._s
        end = len(audio) / SAMPLE_RATE
        candidate = s.candidate
        unheard = audio[int(candidate[0] * SAMPLE_RATE) :] if candidate else audio
        self._silence.update(audio)
        # Anything louder than the pause itself (twice its loudest frame), or than the strict
        # threshold, is speech the candidate did not hear: soft trailing words are not lost.
        limit = min(self._silence.threshold, max(self._silence.strict, 2 * s.pause_level))
        if candidate is not None and not voiced(unheard, limit):
            # The pause decode heard the whole speech and the silence after it: it is final.
            words = candidate[1]
            self.finish_decoded = False
            log.debug("streaming: release after a pause, no decode needed")
        else:
            words = self._final_words(audio)
            self.finish_decoded = True
            self.finish_heard_s = self._s.final_heard_s
        text = _join(words)
        elapsed = (time.perf_counter() - started) * 1000
        return Transcript(text, end, self.options.language, tuple(words), elapsed)

    # -- internals -------------------------------------------------------------------------------
    def _settled(self) -> list[Word]:
        """The last hypothesis's leading words that had ``commit_lag_s`` of audio after them
        when decoded: at release no second decode will come to agree on them, and the final
        decode is spared hearing them again (it re-hears ``final_context_s`` before its start)."""
        s, cfg = self._s, self.config
        if cfg.final_context_s is None:
            return []
        limit = s.decoded_until - cfg.commit_lag_s
        return list(itertools.takewhile(lambda w: w.end <= limit, s.hypothesis))

    def _transcribe(
        self, audio: np.ndarray, options: DecodeOptions, cancel: Callable[[], bool] | None = None
    ) -> Transcript:
        """One decode, its time added to the utterance's decode time (cancelled ones too)."""
        started = time.perf_counter()
        try:
            return self.transcriber.transcribe(audio, options, cancel=cancel)
        finally:
            self._s.decode_ms += (time.perf_counter() - started) * 1000

    def _final_words(self, audio: np.ndarray, looked_at: bool = False) -> list[Word]:
        """The utterance's words as a release now would have them.

        A short utterance (``whole_max_s``, its buffer never moved) is decoded whole, as batch
        decoding would: its committed words were agreed on by decodes of its first seconds
        only, and a decode that hears the sentence to its end reads them better. On jargon
        sentences of 4-6 s with lead-in and trailing silence, the committed words plus a final
        tail gave 22.9 / 28.1 / 32.3 % WER on three sets where the whole decode gives 19.1 /
        23.7 / 26.7 % (batch: 18.3 / 23.0 / 28.6 %), for about 10-50 ms more per final decode
        (the tail decode already re-heard most of the audio). Longer utterances keep their
        committed words and decode only the unsettled end, which keeps releases fast.
        """
        s = self._s
        s.whole_logprob = None
        if s.start == 0.0 and len(audio) / SAMPLE_RATE <= self.config.whole_max_s:
            return self._decode_whole(audio, looked_at)
        return self._decode_final(audio)

    def _decode_whole(self, audio: np.ndarray, looked_at: bool = False) -> list[Word]:
        """Decode all of ``audio`` (no timestamps); a looping or empty decode falls back to the
        committed words and the last hypothesis.

        ``looked_at``: a second look will follow (a pause decode with a long vocabulary), so
        this is batch decoding's first reading, with its very options (the whole vocabulary's
        prompt, temperature fallback): with the look, a short utterance reads as
        ``holdtype transcribe`` reads it. With the terms the chunks heard in the prompt instead,
        the 50-clip set (83 terms, over the prompt window) read 26.7 %, 62/83 streamed against
        24.4 %, 66/83 after release; now both read 24.4 %, 66/83 (the check, fresh, held and
        development sets unchanged). Otherwise (a release with no pause: no look, which would
        cost release time) the prompt names the terms the chunks heard, in place of the look."""
        s = self._s
        end = len(audio) / SAMPLE_RATE
        s.final_heard_s = end
        if looked_at:
            options = replace(self.options, word_timestamps=False)
        else:
            options = self._options_for_tail(False, 0.0, s.committed)
        result = self._transcribe(audio, options)
        text = result.text.strip()
        words = [Word(0.0, end, " " + text, 1.0)] if text else []
        heard = s.committed + s.hypothesis
        if (not words and heard) or _runaway(words, end, result.repeat_heard):
            log.info("streaming: the whole decode looks empty or runaway; kept the streamed words")
            return heard
        s.whole_logprob = result.logprob
        return words

    def _decode_look(self, audio: np.ndarray, released: Callable[[], bool] | None = None) -> None:
        """Read the pause decode's audio once more as :attr:`second_look` says, and make that
        reading the candidate when the :class:`Look` keeps it (by default, when Whisper is
        surer of it: a higher mean log-probability).

        It runs right after the pause decode, in the same :meth:`feed`, while the key is still
        held. A release (``released()``, or :meth:`finish`) gives it up between its stages and
        keeps the first reading, so it costs no release time; speech after the pause makes its
        result stale, and it is dropped.
        """
        s = self._s
        with self._lock:
            candidate, first_logprob = s.candidate, s.whole_logprob
        if candidate is None or first_logprob is None:
            return
        heard_s, words = candidate
        look = self.second_look(_join(words), heard_s) if self.second_look is not None else None
        if look is None:
            return
        try:
            result = self._transcribe(
                audio[: int(heard_s * SAMPLE_RATE)],
                replace(look.options, word_timestamps=False),
                cancel=lambda: self._closed or (released is not None and released()),
            )
        except DecodeCancelled:
            log.debug("streaming: released during a second look; kept the first reading")
            return
        text = result.text.strip()
        read = [Word(0.0, heard_s, " " + text, 1.0)] if text else []
        first = Transcript(_join(words), heard_s, logprob=first_logprob)
        if not read or _runaway(read, heard_s, result.repeat_heard) or not look.keeps(first, result):
            return
        with self._lock:
            if self._closed or s.candidate is not candidate:
                return
            s.candidate = (heard_s, read)
            s.whole_logprob = result.logprob
            s.decodes += 1
        log.debug("streaming: a second look read %r", text)

    def _decode_final(self, audio: np.ndarray) -> list[Word]:
        """Decode the tail as batch decoding would (no timestamps) and return the utterance's
        words: the committed ones and the final decode's after them (a looping, hallucinated
        tail falls back to the last hypothesis)."""
        s = self._s
        end = len(audio) / SAMPLE_RATE
        settled = self._settled()
        known = s.committed + settled
        known_until = max(s.committed_until, settled[-1].end if settled else 0.0)
        start = self._final_start(known, known_until)
        tail = audio[int(start * SAMPLE_RATE) :]
        s.final_heard_s = len(tail) / SAMPLE_RATE
        result = self._transcribe(tail, self._options_for_tail(False, start, known))
        in_buffer = [w for w in known if (w.start + w.end) / 2 >= start]
        decoded = result.text.split()
        # The last known word, when it ended the text of the decode that gave it (the last
        # hypothesis's last word, or a committed word no decode read past), takes its
        # punctuation from this decode, which heard on.
        open_end = len(settled) == len(s.hypothesis) if settled else s.open_end
        texts, mended = _read_on(decoded, in_buffer, open_end)
        words = settled + [Word(known_until, end, " " + t, 1.0) for t in texts]
        # Judged on all the words of this decode against all the audio it heard: its new
        # words against the audio after the settled ones took a normal tail for a runaway
        # when the match with the known words was off by one ("walked" against "walk"), and
        # the words said after the last speculative decode were lost.
        heard = [Word(start, end, " " + t, 1.0) for t in decoded]
        if _runaway(heard, len(tail) / SAMPLE_RATE, result.repeat_heard):
            log.info("streaming: the final tail looks like a hallucination; kept the hypothesis")
            return s.committed + s.hypothesis
        if _stopped_early(words, s.hypothesis, self.config.stopped_early_words):
            log.info("streaming: the final tail stopped before words already heard; kept them")
            return s.committed + s.hypothesis
        committed = list(s.committed)
        if mended is not None:
            if settled:
                words[len(settled) - 1] = mended
            else:
                committed[-1] = mended
        return committed + words

    def _final_start(self, known: list[Word], known_until: float) -> float:
        """Where the final decode starts: in the widest pause between known words that leaves
        it at least ``final_context_s`` of them to hear again (and at most twice that), else at
        the buffer's start. The final decode is what a release waits for: it need not hear
        again what the streaming decodes already settled, only enough to find its place."""
        s, cfg = self._s, self.config
        if cfg.final_context_s is None:
            return s.start
        latest = known_until - cfg.final_context_s
        earliest = known_until - 2 * cfg.final_context_s
        best: tuple[float, float] | None = None  # (gap, cut)
        for before, after in itertools.pairwise(known):
            cut = (before.end + after.start) / 2
            if before.end <= s.start or not earliest <= cut <= latest:
                continue
            gap = after.start - before.end
            if best is None or gap > best[0]:
                best = (gap, cut)
        return best[1] if best is not None and best[1] > s.start else s.start

    def _options_for_tail(
        self, word_timestamps: bool, start: float | None = None, known: list[Word] | None = None
    ) -> DecodeOptions:
        start = self._s.start if start is None else start
        known = self._s.committed if known is None else known
        before = [w for w in known if w.end <= start + 0.01]
        context = _join(before)[-self.config.context_chars :]
        options = self.options
        if self.reprompt is not None:
            # What this tail was heard to say so far: the last decode's words from its start.
            heard = _join([w for w in (*known, *self._s.hypothesis) if w.end > start])
            if heard:
                options = self.reprompt(heard)
        return self._plain(options, context, word_timestamps)

    def _plain(self, options: DecodeOptions, context: str | None, word_timestamps: bool) -> DecodeOptions:
        """``options`` for a streaming decode: ``context`` after its own, one temperature."""
        return replace(
            options,
            context=" ".join(p for p in (options.context, context) if p) or None,
            word_timestamps=word_timestamps,
            condition_on_previous_text=False,
            # No temperature fallback: it can multiply a decode's cost (seconds, at release). A
            # poor speculative hypothesis is simply not agreed on; a runaway final tail is caught
            # by finish(), which then keeps the last hypothesis.
            temperature=self.options.temperature[:1],
        )

    def _decode_tail(
        self, audio: np.ndarray, cancel: Callable[[], bool] | None = None
    ) -> tuple[list[Word], tuple[str, str | None] | None]:
        """Decode audio from the current start, with word times; return the words not
        committed yet, and the decode's reading of the last committed word with its next
        word (None when it has no word over the last committed one)."""
        s = self._s
        tail = audio[int(s.start * SAMPLE_RATE) :]
        options = self._options_for_tail(True)
        if self.config.chunk_beam is not None:
            options = replace(options, beam_size=min(options.beam_size, self.config.chunk_beam))
        result = self._transcribe(tail, options, cancel)
        words: list[Word] = []
        for w in result.words:
            word = Word(s.start + float(w.start), s.start + float(w.end), w.text, float(w.probability))
            if words and not w.text[:1].isspace():
                # A piece of the previous word ("scikit" + "-learn"): one word, as the text has it.
                prev = words[-1]
                word = Word(prev.start, word.end, prev.text + w.text, min(prev.probability, word.probability))
                words[-1] = word
            else:
                words.append(word)
        # Words the tail re-heard from before the commit point are already committed.
        cut = s.committed_until - 0.05
        before = [w for w in words if (w.start + w.end) / 2 < cut]
        words = [w for w in words if (w.start + w.end) / 2 >= cut]
        junction = None
        if before and s.committed and before[-1].end > s.committed[-1].start:
            junction = (before[-1].text, words[0].text if words else None)
        return self._dedupe(words, [norm_word(w.text) for w in before]), junction

    def _dedupe(self, words: list[Word], heard: list[str]) -> list[Word]:
        """Drop leading words that repeat the end of the committed text (cut-point echoes).

        ``heard``: the decode's own words placed before the commit point (normalised). When
        they end with the same words, the decode heard the committed copy where it was said,
        and the one after it was said again ("I said no, no, not that way": the second "no",
        heard 0.4 s after the first, was dropped as an echo, its time being too short a word's).
        """
        committed = [norm_word(w.text) for w in self._s.committed]
        if not committed or not words:
            return words
        new = [norm_word(w.text) for w in words]
        for n in range(min(3, len(new), len(committed)), 0, -1):
            if new[:n] == committed[-n:]:
                heard_twice = heard[-n:] == committed[-n:]
                return words if heard_twice or self._said_again(words[:n]) else words[n:]
        return words

    def _said_again(self, words: list[Word]) -> bool:
        """Whether ``words``, the same as the last committed ones, were said again rather than
        heard again at the cut ("testing the microphone, testing the microphone").

        An echo is the committed words' own audio: Whisper places it over them, so it starts
        before they end (" a" at 4.16 s when the committed " a" spans 4.16 – 4.28 s). Words
        said again start after them and take about as long to say."""
        s = self._s
        said = s.committed[-len(words) :]
        if words[0].start < s.committed_until - ECHO_OVERLAP_S:
            return False
        return words[-1].end - words[0].start >= 0.5 * (said[-1].end - said[0].start)

    def _decode_and_commit(self, audio: np.ndarray, cancel: Callable[[], bool] | None = None) -> None:
        now = len(audio) / SAMPLE_RATE
        words, junction = self._decode_tail(audio, cancel=cancel)
        with self._lock:
            if self._closed:
                raise DecodeCancelled
            self._commit(words, now, junction)

    def _commit(self, words: list[Word], now: float, junction: tuple[str, str | None] | None = None) -> None:
        """Commit the words this decode and the last one agree on. ``junction``: this decode's
        reading of the last committed word and its next word (see _decode_tail)."""
        s, cfg = self._s, self.config
        if words and s.open_end:
            # This decode read past the word the last commit's decode ended on.
            if junction is not None:
                s.committed[-1] = _reread(s.committed[-1], *junction)
            s.open_end = False
        s.candidate = None
        s.decodes += 1
        s.decoded_until = now
        # Local agreement: commit the longest common prefix with the previous hypothesis.
        agreed = 0
        for old, new in zip(s.hypothesis, words, strict=False):
            if norm_word(old.text) != norm_word(new.text) or not norm_word(new.text):
                break
            if new.end > now - cfg.commit_lag_s:
                break  # too little right context yet: the next decode may still revise it
            agreed += 1
        if agreed == 0 and now - s.committed_until > cfg.max_tail_s:
            # No agreement for too long: commit what lies well before the end.
            agreed = sum(1 for w in words if w.end < now - cfg.keep_tail_s)
        s.committed.extend(words[:agreed])
        s.hypothesis = words[agreed:]
        if agreed:
            s.committed_until = max(s.committed_until, words[agreed - 1].end)
            s.open_end = agreed == len(words)
        self._move_start(now)
        log.debug(
            "streaming: decode %d committed %d words, %d tentative, start %.2f s",
            s.decodes,
            len(s.committed),
            len(s.hypothesis),
            s.start,
        )

    def _move_start(self, now: float) -> None:
        """Once the buffer is long, move its start into the widest pause between committed words.

        A short buffer keeps every decode cheap (the one a release waits for above all); the cut
        falls in a pause, where tiny.en hears the next word whole, and the committed text before
        it is passed as prompt. Measured on ../shared/data/speech, cutting past 6 s costs no
        accuracy and halves release latency compared with 12 s.
        """
        s, cfg = self._s, self.config
        if now - s.start <= cfg.max_buffer_s:
            return
        best: tuple[float, float] | None = None  # (gap, cut)
        for before, after in itertools.pairwise(s.committed):
            if before.end <= s.start:
                continue
            gap = after.start - before.end
            if best is None or gap > best[0]:
                best = (gap, before.end + max(gap, 0.0) / 2)
        if best is not None and best[1] > s.start:
            s.start = best[1]


def stream_while_recording(
    streaming: StreamingTranscriber,
    get_audio: Callable[[], np.ndarray],
    recording: threading.Event,
    on_partial: Callable[[Partial], None] | None = None,
    ready: Callable[[], bool] = lambda: True,
    poll_s: float = 0.1,
) -> None:
    """Feed ``streaming`` with the audio so far until ``recording`` is cleared.

    This is the loop the engine's transcription worker runs while the key is held (and the
    latency benchmark runs too, so it measures what users get). It returns as soon as the key
    is released, even while a decode is running: :meth:`StreamingTranscriber.finish` follows
    and knows what to do with that decode.

    A decode that fails (a GPU without its libraries fails every one) ends the speculative
    decodes of this utterance: it is logged once, and the release's decode decides (its
    failure keeps the audio). Each failed decode was tried again at once, dozens of threads a
    second for as long as the key was held, each with its traceback on stderr.
    """
    failed = threading.Event()

    def released() -> bool:
        return not recording.is_set()

    def decode(audio: np.ndarray) -> None:
        try:
            partial = streaming.feed(audio, cancel=released)
        except DecodeCancelled:  # (given up for the release: nothing failed)
            return
        except Exception:
            failed.set()
            log.warning("streaming: a decode failed; none more until the release", exc_info=True)
            return
        if partial is not None and on_partial is not None and recording.is_set():
            on_partial(partial)

    # Each decode runs in a thread of its own, so that a release returns at once: finish()
    # then decodes beside a speculative decode that is still stopping, instead of after it.
    worker: threading.Thread | None = None
    while recording.is_set():
        if worker is not None and not worker.is_alive():
            worker = None
            continue  # there may be enough new audio for the next decode already
        if worker is None and not failed.is_set() and ready():
            audio = get_audio()
            if streaming.should_decode(audio):
                worker = threading.Thread(target=decode, args=(audio,), name="stream-decode", daemon=True)
                worker.start()
                continue
        # Sleep in short slices: a release must not wait out a whole poll.
        deadline = time.monotonic() + (0.01 if worker is not None else poll_s)
        while recording.is_set() and time.monotonic() < deadline:
            if worker is not None and not worker.is_alive():
                break
            time.sleep(0.01)
