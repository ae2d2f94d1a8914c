"""Decode while the key is held, so that on release only a short tail is left.

The policy is *local agreement* (Whisper-Streaming, Macháček et al. 2023): every ~1 s of new
audio, the uncommitted tail is decoded again; the words on which two consecutive decodes agree
are committed, and the tail's start moves past them. Committed words are passed as the prompt of
the next decode, together with the vocabulary bias, so the model keeps its context.

On release, :meth:`StreamingTranscriber.finish` decodes only the uncommitted tail. When the user
paused before letting go, the last decode already heard everything (the audio after it is
silent), so no decode is needed at all.

The class is driven by one thread (the engine's transcription worker): call :meth:`feed` with the
audio so far as often as you like (it decodes only when enough new audio arrived), then
:meth:`finish` with the whole utterance.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from app.transcribe.whisper import SAMPLE_RATE, DecodeOptions, Transcriber, Transcript, Word

log = logging.getLogger(__name__)

_NORM = re.compile(r"[^\w']+")


def _norm(word: str) -> str:
    return _NORM.sub("", word.lower())


def _rms(audio: np.ndarray) -> float:
    if audio.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def _last_voiced(audio: np.ndarray, floor: float) -> float:
    """Seconds at which the last voiced 20 ms frame ends (0 when all is silence).

    A frame is voiced when its RMS is above ``floor`` and above a tenth of the loud frames'
    level, so room noise in a real recording does not count as speech.
    """
    frame = SAMPLE_RATE // 50
    n = len(audio) // frame
    if n == 0:
        return 0.0
    frames = audio[: n * frame].reshape(n, frame).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    threshold = max(floor, 0.1 * float(np.percentile(rms, 95)))
    voiced = np.flatnonzero(rms > threshold)
    return 0.0 if voiced.size == 0 else (int(voiced[-1]) + 1) * frame / SAMPLE_RATE


def _runaway(words: list[Word], seconds: float) -> bool:
    """Whether decoded words look like a hallucination: too many for the audio, or looping."""
    tokens = [_norm(t) for w in words for t in w.text.split()]
    if len(tokens) > max(6.0, 5.0 * seconds):
        return True
    trigrams = [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    return len(trigrams) >= 6 and len(set(trigrams)) < len(trigrams) / 2


@dataclass(frozen=True, slots=True)
class StreamingConfig:
    """Tuning of the streaming policy."""

    min_chunk_s: float = 1.5  # decode again after this much new audio
    pause_s: float = 0.25  # ...or as soon as this much trailing silence follows new speech
    silence_rms: float = 0.006  # below this RMS (full scale 1.0) a stretch counts as silence
    max_tail_s: float = 12.0  # force a commit when the uncommitted tail grows past this
    keep_tail_s: float = 3.0  # ...keeping this much audio uncommitted
    cut_gap_s: float = 0.12  # the audio start only moves into a gap at least this long
    max_buffer_s: float = 8.0  # past this, move the start into the widest committed gap
    context_chars: int = 200  # committed text passed as prompt
    commit_lag_s: float = 0.8  # a word is committed only once this much audio follows it
    ending_slack_s: float = 0.35  # last heard word may end this much before the speech does


@dataclass(slots=True)
class _State:
    committed: list[Word] = field(default_factory=list)
    start: float = 0.0  # seconds: where the decoded audio begins (a pause between words)
    committed_until: float = 0.0  # seconds: end of the last committed word
    hypothesis: list[Word] = field(default_factory=list)  # last decode's uncommitted words
    decoded_until: float = 0.0  # seconds of audio the last decode saw
    decodes: int = 0
    decode_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Partial:
    """Text so far: committed words (final) and the tentative rest."""

    committed: str
    tentative: str


def _join(words: list[Word]) -> str:
    return "".join(w.text for w in words).strip()


class StreamingTranscriber:
    """Local-agreement streaming over any :class:`Transcriber` that returns word timestamps."""

    def __init__(
        self,
        transcriber: Transcriber,
        options: DecodeOptions,
        config: StreamingConfig | None = None,
    ) -> None:
        self.transcriber = transcriber
        self.options = options
        self.config = config or StreamingConfig()
        self._s = _State()
        self.finish_decoded: bool | None = None  # did finish() need a decode (None: not called)

    # -- public API ------------------------------------------------------------------------------
    @property
    def decodes(self) -> int:
        """How many decodes ran while the key was held."""
        return self._s.decodes

    def partial(self) -> Partial:
        """Return the committed and tentative text of the latest decode."""
        return Partial(_join(self._s.committed), _join(self._s.hypothesis))

    def should_decode(self, audio: np.ndarray) -> bool:
        """Tell whether enough new audio (or a pause after new speech) warrants a decode."""
        now = len(audio) / SAMPLE_RATE
        new = now - self._s.decoded_until
        if new >= self.config.min_chunk_s:
            return True
        if new < self.config.pause_s:
            return False
        # A pause: new audio arrived since the last decode and its end is silent.
        new_audio = audio[int(self._s.decoded_until * SAMPLE_RATE) :]
        trailing = audio[-int(self.config.pause_s * SAMPLE_RATE) :]
        return _rms(trailing) < self.config.silence_rms <= _rms(new_audio)

    def feed(self, audio: np.ndarray) -> Partial | None:
        """Decode the uncommitted tail if warranted; return the new partial text, else None."""
        if not self.should_decode(audio):
            return None
        self._decode_and_commit(audio)
        return self.partial()

    def finish(self, audio: np.ndarray) -> Transcript:
        """Return the transcript of the whole utterance, decoding only what is still needed."""
        started = time.perf_counter()
        s = self._s
        end = len(audio) / SAMPLE_RATE
        heard = s.committed + s.hypothesis
        voiced_until = _last_voiced(audio, self.config.silence_rms)
        if (
            s.decodes
            and s.decoded_until >= voiced_until
            and (not heard or heard[-1].end >= voiced_until - self.config.ending_slack_s)
        ):
            # The last decode heard everything spoken, and its words reach the end of the speech
            # (nothing was dropped at the end of its buffer): it is already final.
            words = heard
            self.finish_decoded = False
            log.debug("streaming: release after a pause, no decode needed")
        else:
            # Trailing silence is cut off: Whisper invents words ("see you next time") in it.
            spoken = audio[: int(min(end, voiced_until + 0.3) * SAMPLE_RATE)]
            tail = self._decode_tail(spoken, word_timestamps=s.committed_until > s.start, final=True)
            if _runaway(tail, max(0.0, voiced_until - s.committed_until)):
                log.info("streaming: the final tail looks like a hallucination; kept the hypothesis")
                tail = s.hypothesis
            words = s.committed + tail
            self.finish_decoded = True
        text = _join(words)
        elapsed = (time.perf_counter() - started) * 1000
        return Transcript(text, end, self.options.language, tuple(words), elapsed)

    # -- internals -------------------------------------------------------------------------------
    def _options_for_tail(self, word_timestamps: bool, final: bool = False) -> DecodeOptions:
        before = [w for w in self._s.committed if w.end <= self._s.start + 0.01]
        context = _join(before)[-self.config.context_chars :]
        prompt = " ".join(p for p in (self.options.initial_prompt, context) if p)
        return replace(
            self.options,
            initial_prompt=prompt or None,
            word_timestamps=word_timestamps,
            condition_on_previous_text=False,
            # No temperature fallback: it can multiply a decode's cost (seconds, at release). A
            # poor speculative hypothesis is simply not agreed on; a runaway final tail is caught
            # by finish(), which then keeps the last hypothesis.
            temperature=self.options.temperature[:1],
        )

    def _decode_tail(self, audio: np.ndarray, word_timestamps: bool, final: bool = False) -> list[Word]:
        """Decode audio from the current start; return the words not committed yet."""
        s = self._s
        tail = audio[int(s.start * SAMPLE_RATE) :]
        end = len(audio) / SAMPLE_RATE
        started = time.perf_counter()
        result = self.transcriber.transcribe(tail, self._options_for_tail(word_timestamps, final))
        s.decode_ms += (time.perf_counter() - started) * 1000
        if not word_timestamps:
            text = result.text.strip()
            return self._dedupe([Word(s.start, end, " " + text, 1.0)]) if text else []
        words = [
            Word(s.start + float(w.start), s.start + float(w.end), w.text, float(w.probability))
            for w in result.words
        ]
        # Words the tail re-heard from before the commit point are already committed.
        words = [w for w in words if (w.start + w.end) / 2 >= s.committed_until - 0.05]
        return self._dedupe(words)

    def _dedupe(self, words: list[Word]) -> list[Word]:
        """Drop leading words that repeat the end of the committed text (cut-point echoes)."""
        committed = [_norm(w.text) for w in self._s.committed]
        if not committed or not words:
            return words
        if len(words) == 1 and " " in words[0].text.strip():
            # A single text blob (final tail): compare word by word.
            parts = words[0].text.split()
            for n in range(min(3, len(parts), len(committed)), 0, -1):
                if [_norm(p) for p in parts[:n]] == committed[-n:]:
                    rest = " ".join(parts[n:])
                    return [replace(words[0], text=" " + rest)] if rest else []
            return words
        new = [_norm(w.text) for w in words]
        for n in range(min(3, len(new), len(committed)), 0, -1):
            if new[:n] == committed[-n:]:
                return words[n:]
        return words

    def _decode_and_commit(self, audio: np.ndarray) -> None:
        s, cfg = self._s, self.config
        now = len(audio) / SAMPLE_RATE
        words = self._decode_tail(audio, word_timestamps=True)
        s.decodes += 1
        s.decoded_until = now
        # Local agreement: commit the longest common prefix with the previous hypothesis.
        agreed = 0
        for old, new in zip(s.hypothesis, words, strict=False):
            if _norm(old.text) != _norm(new.text) or not _norm(new.text):
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
        self._move_start(now)
        log.debug(
            "streaming: decode %d committed %d words, %d tentative, start %.2f s",
            s.decodes,
            len(s.committed),
            len(s.hypothesis),
            s.start,
        )

    def _move_start(self, now: float) -> None:
        """Move the decode start into a pause between two committed words, never into a word.

        Only gaps with committed words on both sides count: timestamps of words near the end of
        a decode (the tentative ones) are the least reliable, and cutting next to one could clip
        a word that was never committed.
        """
        s, cfg = self._s, self.config
        words = s.committed
        best: tuple[float, float] | None = None  # (gap, cut)
        for before, after in itertools.pairwise(words):
            if before.end <= s.start:
                continue
            gap = after.start - before.end
            cut = before.end + max(gap, 0.0) / 2
            if gap >= cfg.cut_gap_s:
                s.start = cut
            elif best is None or gap > best[0]:
                best = (gap, cut)
        if now - s.start > cfg.max_buffer_s and best is not None and best[1] > s.start:
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
    latency benchmark runs too, so it measures what users get). A decode in progress when the
    key is released finishes first; :meth:`StreamingTranscriber.finish` follows.
    """
    while recording.is_set():
        if ready():
            partial = streaming.feed(get_audio())
            if partial is not None:
                if on_partial is not None and recording.is_set():
                    on_partial(partial)
                continue
        time.sleep(poll_s)
