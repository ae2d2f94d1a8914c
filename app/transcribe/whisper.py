"""Local transcription with faster-whisper.

:class:`WhisperTranscriber` loads a model once (lazily, thread-safe) and turns 16 kHz mono float32
audio into a :class:`Transcript`, reading again a decode that went wrong in a known way
(:mod:`app.transcribe.glitches`). Where it runs is :mod:`app.transcribe.device`'s choice: CUDA
with float16 when CTranslate2 sees a GPU and the setting allows it, else the CPU with int8.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from app.config import DEFAULT_BEAM_SIZE, ModelSettings
from app.errors import ModelError, short_reason
from app.transcribe import gaps, models, vad
from app.transcribe.audiofile import SAMPLE_RATE
from app.transcribe.device import choose_device, cpu_workers, cuda_device_count
from app.transcribe.glitches import (
    TWICE_MIN_WORDS,
    doubled,
    list_like,
    loop_excess,
    looping,
    prompt_echo,
    repeat_start,
    said_twice,
    words_of,
)
from app.transcribe.native_cache import bound_native_caches
from app.transcribe.squeeze import Squeezed, squeeze
from app.transcribe.tokens import PROMPT_MAX_TOKENS, TEXT_TOKENS, WINDOW_TOKENS, fit_prompt

log = logging.getLogger(__name__)

LONG_FORM_S = 28.0  # audio longer than this is decoded window by window, with timestamps
SHORT_CONTEXT_MARGIN_S = 5.0  # silence the encoder hears after short audio (short_context)
FRAMES_PER_S = 100  # log-mel frames per second of audio
WINDOW_FRAMES = 3000  # Whisper's 30 s window
PIECE_MIN_S = 15.0  # long audio (short_context) is decoded in pieces of this many seconds...
PIECE_MAX_S = 25.0  # ...up to this many, cut at pauses
# Longer audio is decoded in chunks of about this length, cut at pauses: faster-whisper computes
# the features of all it is given at once (+422 MB for ten minutes, about 5 GB for two hours:
# BENCHMARKS.md, 2026-12-04, night).
CHUNK_S = 600.0
SAMPLING_SEED = 20_260_101  # any fixed number: see WhisperTranscriber.load
# A decode that loops (see :func:`looping`) is read again with repeated tokens penalised so.
LOOP_PENALTY = 1.3
# A read-again ending (see glitches.repeat_start) this many words long or longer is checked by
# a reading with the whole window before it is cut: a sentence may really be said twice.
REPEAT_CHECK_WORDS = 3
# Audio over one window (a long recording, not an utterance) is decoded with at most this beam:
# the wider default beam was measured on utterances; on the speech set's long recordings it
# made the whole set's decoding about 25 % slower (real-time factor 0.063 against 0.050) and
# changed nothing for the better (2 more errors of 1393 words with a 60-term vocabulary prompt).
LONG_AUDIO_BEAM = 5
PIECE_CONTEXT_CHARS = 200  # the end of the text so far, passed as prompt to the next piece
# A prompted reading of this many seconds or more with fewer words than this per second of
# speech most likely stopped early (Whisper ended the text after a sentence or two and dropped
# the rest); read in two halves, it keeps whichever has more words. Speech runs 2 to 3 words a
# second, slow dictation about 1.5; on a 116 s jargon reading, the piece that lost three
# sentences had 0.7 a second of audio, every other piece 2.5 to 3.1.
SPARSE_MIN_S = 8.0
SPARSE_WORDS_PER_S = 1.0
# A reading can also end a sentence early and drop the rest of a short utterance: a long
# vocabulary prompt (100 terms) read "Load the CSV with pandas, then plot it with Matplotlib in
# Jupyter." as "Load the CSV Win pandas, then plot it", sure of it, where the reading without
# the prompt and the second look heard it all; without any prompt, a file name's dot ended
# "Move the settings from setup.py into pyproject.toml this week." at "setup." (a reviewer's
# espeak-ng clips: 3 of 30 with a dotted file name). A reading with fewer words than
# EARLY_WORDS_PER_S a second of speech is aligned with the audio (one decoder pass); when its
# last word ends EARLY_END_S or more before the speech does, the rest is read on its own, after
# the text so far, and added.
EARLY_WORDS_PER_S = 2.2
EARLY_END_S = 1.0
# A reading without a prompt is read on only where the speech goes on at once (within this
# many seconds of its last word): the dot closed "from setup." mid-sentence; after a pause, the
# speech heard is as likely another voice (a television, a satnav), which a reviewer's clips
# had added to 3 of 16 readings ("And the report. Breaking news tonight.").
READ_ON_GAP_S = 0.6
SECONDS_PER_ENCODER_FRAME = 0.02
# faster-whisper's test for a reading that loops: text that compresses better than this is
# read again at rising temperatures. Speech said twice over compresses as well as a loop:
# "We will close early... Please remember..." said twice (24 s) was read seven times over, in
# 11.5 s, and the sampled readings could come out short or empty ("in one process of two").
# Up to one window a reading is tested by :func:`looping` first (see ``_decode``).
COMPRESSION_RATIO_THRESHOLD = 2.4
SILENT_PEAK = 2e-4  # audio that never goes above this (-74 dBFS, 7 LSB of 16 bits) is silence


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """Per-call decoding options (the model-wide ones live in :class:`ModelSettings`)."""

    beam_size: int = DEFAULT_BEAM_SIZE
    language: str | None = "en"
    initial_prompt: str | None = None
    # The text said just before this audio (the transcript so far). It follows initial_prompt,
    # cut from its front so that both fit in Whisper's prompt window.
    context: str | None = None
    hotwords: str | None = None
    prefix: str | None = None
    vad_filter: bool = False
    word_timestamps: bool = False
    condition_on_previous_text: bool = True
    without_timestamps: bool = True
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    # Seconds of (silent) padding the encoder sees after short audio, instead of the whole 30 s
    # window; None encodes the full window, as Whisper was trained.
    context_margin_s: float | None = None

    @classmethod
    def from_settings(cls, settings: ModelSettings, **overrides: object) -> DecodeOptions:
        """Build options from the model settings, with per-call overrides."""
        base = cls(
            beam_size=settings.beam_size,
            language=settings.language,
            vad_filter=settings.vad_filter,
            context_margin_s=SHORT_CONTEXT_MARGIN_S if settings.short_context else None,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Word:
    """A recognised word with its time span (seconds, relative to the audio given)."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """What Whisper heard."""

    text: str
    duration: float
    language: str | None = None
    words: tuple[Word, ...] = ()
    elapsed_ms: float = 0.0
    segments: tuple[str, ...] = field(default=())
    # Mean log-probability of the decoded tokens (0.0 when unknown): how sure Whisper was.
    logprob: float = 0.0
    # A repeat in it was checked by a reading with the whole window, which heard it too: the
    # words were said twice (see ``WhisperTranscriber._decode_window``).
    repeat_heard: bool = False
    # The (start, end) seconds of each of ``segments``, as Whisper placed them.
    times: tuple[tuple[float, float], ...] = ()
    # Copies of words may have been taken out of it: a first reading that looped was read
    # again, a repeat not heard by the whole window was cut, or the whole window's reading,
    # with fewer words, was taken (see ``WhisperTranscriber._read_by_pauses``).
    copies_cut: bool = False


class DecodeCancelled(Exception):
    """A decode was given up because its result is no longer wanted (see ``cancel``)."""


class _FirstLoops(Exception):
    """A first decode looped, and its caller asked to hear so before Whisper's temperature
    fallback runs (see ``WhisperTranscriber._transcribe``)."""

    def __init__(self, reading: Transcript) -> None:
        super().__init__(reading.text)
        self.reading = reading


class Transcriber(Protocol):
    """Anything that turns audio into a transcript (local Whisper, a remote server...)."""

    def transcribe(
        self, audio: np.ndarray, options: DecodeOptions, cancel: Callable[[], bool] | None = None
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 ``audio``; give up (raise :class:`DecodeCancelled`)
        as soon as ``cancel`` returns True, if the implementation can."""
        ...


def encoder_frames(duration: float, margin_s: float | None) -> int | None:
    """How many log-mel frames the encoder should see for ``duration`` seconds of audio.

    None means the whole 30 s window. Whisper's encoder costs time in proportion to its input,
    and faster-whisper always pads to 30 s: for a 3 s utterance, nine tenths of the work is
    spent on padding. Given a margin, the encoder sees the audio plus that much padding (an
    even number of frames: the encoder's convolution halves them). Audio past one window keeps
    full windows, which Whisper needs to seek from one to the next.
    """
    if margin_s is None or duration > LONG_FORM_S:
        return None
    frames = math.ceil((duration + margin_s) * FRAMES_PER_S)
    frames += frames % 2
    return frames if frames < WINDOW_FRAMES else None


def _silence_to(audio: np.ndarray, frames: int) -> np.ndarray:
    """``audio`` followed by silence up to ``frames`` log-mel frames: the encoder hears real
    silence after the speech, as in training (faster-whisper pads features with zeros, which is
    not silence to the model)."""
    pad = frames * (SAMPLE_RATE // FRAMES_PER_S) - len(audio)
    return np.concatenate([audio, np.zeros(max(0, pad), np.float32)])


def _after(options: DecodeOptions, *said: str) -> DecodeOptions:
    """``options`` for audio that follows the text ``said`` so far: its end (and the caller's
    own context) is the prompt's context, as Whisper's previous text would be."""
    context = " ".join(t for t in (options.context, *said) if t)[-PIECE_CONTEXT_CHARS:]
    return replace(options, context=context or None, condition_on_previous_text=False)


def _no_speech(duration: float, options: DecodeOptions, started: float) -> Transcript:
    """The empty reading of audio the voice detector hears no speech in."""
    log.debug("no speech in %.1f s of audio; not decoded", duration)
    return Transcript("", duration, options.language, (), (time.perf_counter() - started) * 1000)


def _put_back(transcript: Transcript, squeezed: Squeezed, duration: float, started: float) -> Transcript:
    """``transcript`` of ``squeezed``'s audio as the reading of the whole recording (of
    ``duration`` seconds, decoded from ``started``): its words and segments at their times."""
    at = squeezed.original_span
    spans = [at(w.start, w.end) for w in transcript.words]
    return replace(
        transcript,
        duration=duration,
        words=tuple(replace(w, start=a, end=b) for w, (a, b) in zip(transcript.words, spans, strict=True)),
        times=tuple(at(start, end) for start, end in transcript.times),
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def _trim_repeat(transcript: Transcript) -> Transcript:
    """The transcript without a read-again ending (see :func:`repeat_start`)."""
    if transcript.words:
        words = [w for w in transcript.words if w.start < transcript.duration]
        cut = repeat_start([w.text for w in words], seconds=transcript.duration)
        if cut is None and len(words) == len(transcript.words):
            return transcript
        kept = tuple(words[:cut] if cut is not None else words)
        text = "".join(w.text for w in kept).strip()
        return replace(transcript, text=text, words=kept, segments=(text,))
    tokens = transcript.text.split()
    cut = repeat_start(tokens, seconds=transcript.duration)
    if cut is None:
        return transcript
    text = " ".join(tokens[:cut])
    return replace(transcript, text=text, segments=(text,))


def _repeats(transcript: Transcript) -> bool:
    """Whether ``transcript`` reads words again at its end (see :func:`_trim_repeat`), or is
    one short utterance read twice over (see :func:`doubled`). A reading stuck in a loop
    ("The GPU jumps run run run run...", see :func:`looping`) is no repeat of what was said."""
    if looping(transcript.text):
        return False
    trimmed = _trim_repeat(transcript)
    return _words_cut(transcript, trimmed) >= REPEAT_CHECK_WORDS or doubled(trimmed.text)


def _words_cut(before: Transcript, after: Transcript) -> int:
    """How many words ``after`` has fewer than ``before``."""
    return len(words_of(before.text)) - len(words_of(after.text))


def _prompt_text(options: DecodeOptions) -> str:
    """All the text that steers the decode: ``initial_prompt``, hotwords and context."""
    return " ".join(p for p in (options.initial_prompt, options.hotwords, options.context) if p)


def _prompted(options: DecodeOptions) -> bool:
    """True when the decode is steered by a prompt or hotwords."""
    return bool(_prompt_text(options))


def _next_speech(spans: list[tuple[float, float]], after: float) -> float:
    """When the speech of ``spans`` (seconds) goes on after ``after``: ``after`` itself when a
    span runs on past it (by more than the voice detector's own slack), else the next span's
    start (infinity when there is none). The slack: the words' alignment put the end of "plot
    it" 0.45 s before the voice detector heard its last sound.

    >>> _next_speech([(0.2, 2.0), (3.3, 4.5)], 1.9), _next_speech([(0.2, 4.0)], 1.9)
    (3.3, 1.9)
    """
    return min((max(start, after) for start, end in spans if end > after + 0.5), default=math.inf)


# The marks that close a sentence (see written_alike).
_CLOSING = ".?!"


def written_alike(texts: tuple[str, ...]) -> tuple[str, ...]:
    """``texts`` (pieces of one reading, each read alone between the speaker's pauses) with
    the pieces that say the same words written as the one of them written most fully: with a
    capital and a closing mark. A short piece read alone often comes out in lower case and
    unmarked, one copy of a sentence said again and again differently from the others.

    Words said again after a pause, with a capital, are a sentence each even when no copy
    came out with its full stop (tiny.en on one CPU read all four copies of "Testing the
    microphone." said with pauses without one, on another with): the stop is written, so
    the copies do not run together as "microphone Testing the microphone".

    >>> written_alike(("Testing the mic.", "testing the mic", "Next."))
    ('Testing the mic.', 'Testing the mic.', 'Next.')
    >>> written_alike(("Testing the mic", "testing the mic,", "Next"))
    ('Testing the mic.', 'Testing the mic.', 'Next')
    """

    def fullness(text: str) -> int:
        return int(text[:1].isupper()) + int(text.rstrip()[-1:] in _CLOSING)

    best: dict[tuple[str, ...], str] = {}
    copies: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        key = tuple(words_of(text))
        copies[key] += 1
        if key not in best or fullness(text) > fullness(best[key]):
            best[key] = text
    for key, text in best.items():
        if key and copies[key] > 1 and fullness(text) == 1 and text[:1].isupper():
            best[key] = text.rstrip().rstrip(",;:") + "."
    return tuple(best[tuple(words_of(text))] for text in texts)


def _rewritten(words: tuple[Word, ...], old: tuple[str, ...], new: tuple[str, ...]) -> tuple[Word, ...]:
    """``words`` (of the pieces ``old``, in order) written as ``new`` says (see
    :func:`written_alike`), where each piece has one word per token of its text; else as
    they were (live dictation pastes the words)."""
    if sum(len(text.split()) for text in old) != len(words):
        return words
    out: list[Word] = []
    for before, after in zip(old, new, strict=True):
        mine, tokens = words[len(out) : len(out) + len(before.split())], after.split()
        if before == after or len(tokens) != len(mine):
            out.extend(mine)
        else:
            out.extend(replace(w, text=" " + t) for w, t in zip(mine, tokens, strict=True))
    return tuple(out)


def _unprompted(options: DecodeOptions) -> DecodeOptions:
    """``options`` without what :func:`_prompted` looks for: Whisper hears the audio unhelped."""
    return replace(options, initial_prompt=None, hotwords=None, context=None)


def split_points(audio: np.ndarray) -> list[int]:
    """Sample offsets that cut long audio into pieces of PIECE_MIN_S to PIECE_MAX_S seconds.

    Each cut falls at the quietest 200 ms of its range (a pause between words or sentences),
    so no word is split. Audio no longer than PIECE_MAX_S is not cut.
    """
    cuts: list[int] = []
    start = 0
    while len(audio) - start > PIECE_MAX_S * SAMPLE_RATE:
        cut = quietest(audio, start + int(PIECE_MIN_S * SAMPLE_RATE), start + int(PIECE_MAX_S * SAMPLE_RATE))
        cuts.append(cut)
        start = cut
    return cuts


def chunk_points(audio: np.ndarray) -> list[int]:
    """Sample offsets that cut a long recording into chunks of about :data:`CHUNK_S` (the last
    up to half as long again), each cut at the quietest moment of the chunk's last 30 s."""
    step = int(CHUNK_S * SAMPLE_RATE)
    cuts: list[int] = []
    at = 0
    while len(audio) - at > step * 1.5:
        at = quietest(audio, at + max(step // 2, step - 30 * SAMPLE_RATE), at + step)
        cuts.append(at)
    return cuts


def quietest(audio: np.ndarray, low: int, high: int) -> int:
    """The middle of the quietest 200 ms of ``audio[low:high]`` (sample offsets): where to cut
    without splitting a word."""
    hop = SAMPLE_RATE // 100  # 10 ms
    n = max(1, (high - low) // hop)
    energy = np.mean(np.square(audio[low : low + n * hop], dtype=np.float64).reshape(n, hop), axis=1)
    smooth = np.convolve(energy, np.ones(20) / 20, mode="same")
    return low + int(np.argmin(smooth)) * hop + hop // 2


def beam_for(duration: float, beam_size: int) -> int:
    """The beam to decode ``duration`` seconds of audio with: ``beam_size`` for an utterance
    (one window), at most :data:`LONG_AUDIO_BEAM` for a longer recording."""
    return min(beam_size, LONG_AUDIO_BEAM) if duration > LONG_FORM_S else beam_size


def max_new_tokens(duration: float) -> int | None:
    """A cap on the tokens one window may produce: a looping decode (Whisper's worst failure)
    otherwise runs to 448 tokens, seconds of CPU, before anything notices. Speech carries up to
    about 5 tokens a second; the cap allows 8, plus 10. Long audio is left to faster-whisper's
    own checks (the cap would apply to each 30 s window)."""
    if duration > LONG_FORM_S:
        return None
    return math.ceil(8 * duration) + 10


def _context_model_class() -> type:
    """faster-whisper's WhisperModel, with an encoder input that can stop short of 30 s."""
    from faster_whisper import WhisperModel

    class ContextWhisperModel(WhisperModel):  # type: ignore[misc]
        """Encodes only the first ``frames`` log-mel frames of a window when told to, and gives
        up a decode between its stages (encode, generate, align) when told to.

        It also keeps its last encoding: the same audio decoded again under another prompt (a
        second reading, see ``TextPipeline.transcribe``) skips the encoder, about a quarter of
        a short decode's time on CPU."""

        _context = threading.local()

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._last_lock = threading.Lock()
            self._last: tuple[bytes, object] | None = None  # (digest of the features, encoding)

        def _check_cancel(self) -> None:
            cancel = getattr(self._context, "cancel", None)
            if cancel is not None and cancel():
                raise DecodeCancelled

        def encode(self, features: np.ndarray) -> object:
            self._check_cancel()
            frames = getattr(self._context, "frames", None)
            if frames is not None and features.shape[-1] > frames:
                features = np.ascontiguousarray(features[..., :frames])
            digest = hashlib.blake2b(np.ascontiguousarray(features).tobytes(), digest_size=16)
            digest.update(repr(features.shape).encode())
            key = digest.digest()
            with self._last_lock:
                if self._last is not None and self._last[0] == key:
                    return self._last[1]
            encoded = super().encode(features)
            with self._last_lock:
                self._last = (key, encoded)
            return encoded

        def generate_with_fallback(self, *args: object, **kwargs: object) -> object:
            self._check_cancel()
            return super().generate_with_fallback(*args, **kwargs)

        def add_word_timestamps(self, *args: object, **kwargs: object) -> object:
            self._check_cancel()
            return super().add_word_timestamps(*args, **kwargs)

        @contextlib.contextmanager
        def _set(self, name: str, value: object) -> Iterator[None]:
            setattr(self._context, name, value)
            try:
                yield
            finally:
                setattr(self._context, name, None)

        def cancel_when(self, cancel: Callable[[], bool] | None) -> contextlib.AbstractContextManager[None]:
            """Within the block, this thread's decodes stop between stages once ``cancel()``."""
            return self._set("cancel", cancel)

        def encoder_frames(self, frames: int | None) -> contextlib.AbstractContextManager[None]:
            """Within the block, this thread's decodes encode ``frames`` frames (None: all)."""
            return self._set("frames", frames)

    return ContextWhisperModel


_T = TypeVar("_T")

#: Words of CTranslate2's errors that come from CUDA rather than from the model or the audio.
_CUDA_WORDS = ("cuda", "cublas", "cudnn", "libcu", "nvrtc", "gpu")


def is_cuda_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (raised by a decode on the GPU) is CUDA's: a library missing ("Library
    libcublas.so.12 is not found or cannot be loaded", faster-whisper's most reported GPU
    fault), out of GPU memory, a driver too old.

    >>> is_cuda_failure(RuntimeError("Library libcublas.so.12 is not found or cannot be loaded"))
    True
    >>> is_cuda_failure(RuntimeError("CUDA failed with error out of memory"))
    True
    >>> is_cuda_failure(ValueError("invalid prompt"))
    False
    """
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(word in text for word in _CUDA_WORDS)


def _damaged_tokenizer(folder: Path) -> str | None:
    """Why the tokenizer.json of the model in ``folder`` cannot be read, or None (it reads,
    or there is none). Asked only once a load failed: the parser's own error names no file."""
    import tokenizers

    file = folder / "tokenizer.json"
    if not file.is_file():
        return None
    try:
        tokenizers.Tokenizer.from_file(str(file))
    except Exception as exc:  # (the parser's errors are bare Exceptions)
        return str(exc).rstrip(".")
    return None


class WhisperTranscriber:
    """faster-whisper behind the :class:`Transcriber` interface; loads the model once."""

    def __init__(self, settings: ModelSettings) -> None:
        self.settings = settings
        self._model: object | None = None
        self._lock = threading.Lock()
        self.device: str | None = None
        self.compute_type: str | None = None
        self.load_ms: float | None = None
        self._commas: tuple[int, ...] | None = None
        self._tokenizer_cache: Any = None  # faster_whisper.tokenizer.Tokenizer, made on first use
        self._workers = 1  # the model's parallel workers (set by load)
        # This thread's first decode already made, that the next decode takes instead of
        # decoding again (see _transcribe: a loop read by its pauses first).
        self._known = threading.local()

    @property
    def name(self) -> str:
        """The model's name as configured."""
        return self.settings.name

    @property
    def workers(self) -> int:
        """How many decodes the loaded model runs at once (1 before it is loaded)."""
        return self._workers

    def plain_transcribe(self, audio: np.ndarray) -> str:
        """faster-whisper with its own defaults (only language and beam size from the settings):
        the baseline the benchmarks compare Holdtype's pipeline with."""

        def decode() -> str:
            segments, _info = self._model.transcribe(  # type: ignore[union-attr]
                audio, language=self.settings.language, beam_size=self.settings.beam_size
            )
            return " ".join(segment.text.strip() for segment in segments).strip()

        return self._run(decode)

    def load(self) -> None:
        """Load the model if it is not loaded yet (safe to call from several threads)."""
        with self._lock:
            if self._model is not None:
                return
            self._load_on(self.settings.device)

    def _load_on(self, device_setting: str) -> None:
        """Load the model for ``device_setting`` (auto, cpu or cuda); the caller holds the lock.
        A device other than the settings' own takes the compute type that suits it."""
        bound_native_caches()  # before CTranslate2 builds anything: see its module
        path = models.resolve(self.settings.name)
        compute_setting = self.settings.compute_type if device_setting == self.settings.device else "auto"
        device, compute = choose_device(device_setting, compute_setting, cuda_device_count())
        threads, workers = self.settings.cpu_threads, 2
        if device == "cpu":
            threads, workers = cpu_workers(self.settings.cpu_threads, os.cpu_count())
        started = time.perf_counter()
        # Whisper's temperature fallback samples (about 1 decode in 80 on our jargon sets).
        # Seeded, each of CTranslate2's worker threads draws the same numbers from one run
        # to the next; which worker takes a decode is up to the scheduler, so a clip that
        # needs the fallback can still read differently between runs (held set, g08).
        # CTranslate2 takes no seed per call.
        import ctranslate2

        ctranslate2.set_random_seed(SAMPLING_SEED)
        try:
            self._model = _context_model_class()(
                str(path),
                device=device,
                compute_type=compute,
                cpu_threads=threads,
                num_workers=workers,
            )
        except Exception as exc:  # (a damaged tokenizer.json raises a bare Exception)
            raise self._load_error(path, exc) from exc
        self.device, self.compute_type = device, compute
        self._workers = workers
        if self.settings.speech_gate:
            vad.warm_up()
        self.load_ms = (time.perf_counter() - started) * 1000
        log.info("loaded %s on %s/%s in %.0f ms", self.settings.name, device, compute, self.load_ms)

    def _load_error(self, path: Path, exc: Exception) -> ModelError:
        """What the user is told of ``exc``, raised as the model in ``path`` was loaded, with
        the fix. Not only CTranslate2's errors: the tokenizer's parser raises a bare
        ``Exception``, which went past the engine's handlers, and every dictation after it
        vanished without a word."""
        reason = str(exc).rstrip(".")
        tokenizer = _damaged_tokenizer(path)
        if tokenizer is not None:
            reason = f"its tokenizer.json is damaged ({tokenizer})"
        name = self.settings.name
        fix = ""
        if "compute type" in reason and self.settings.compute_type != "auto":
            # float16 on a CPU, int8_float16 without a GPU: "auto" picks what this
            # device runs (see choose_device).
            fix = "; run: holdtype config set model.compute_type auto"
        elif name in models.REGISTRY and name != models.EMBEDDED:
            # A download damaged since (a disk error, a file edited by hand): fetch it anew.
            fix = f"; run: holdtype models remove {name} && holdtype models download {name}"
        elif tokenizer is not None and name not in models.REGISTRY:  # a model folder of the user's
            fix = "; copy it again from the model's repository"
        return ModelError(f"cannot load model '{name}': {reason}{fix}")

    def transcribe(
        self, audio: np.ndarray, options: DecodeOptions, cancel: Callable[[], bool] | None = None
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 ``audio`` (consumes faster-whisper's generator here).

        When ``cancel`` is given, it is asked between the decode's stages (encoder, decoder,
        word alignment) and a True answer raises :class:`DecodeCancelled`: a speculative decode
        the user no longer waits for gives the CPU back within one stage.
        """

        def decode() -> Transcript:
            with self._model.cancel_when(cancel):  # type: ignore[union-attr]
                return self._transcribe(audio, options)

        return self._run(decode)

    def _run(self, work: Callable[[], _T]) -> _T:
        """Load the model and do ``work`` with it; on the GPU, a CUDA failure moves the model
        to the CPU and does the work again there (see :meth:`_leave_cuda`)."""
        self.load()
        model = self._model
        try:
            return work()
        except RuntimeError as exc:
            if not self._leave_cuda(model, exc):
                raise
        return work()

    def _leave_cuda(self, failed: object, exc: RuntimeError) -> bool:
        """After ``exc`` from a decode on ``failed``: when it is CUDA's (a cuBLAS or cuDNN
        library that CTranslate2 opens only at the first decode, GPU memory taken by another
        program), load the model on the CPU and return True: dictation goes on, slower,
        rather than failing each time. With ``model.device = cuda`` set explicitly, raise
        :class:`ModelError` naming the fix instead. False for any other error."""
        if self.device != "cuda" or not is_cuda_failure(exc):
            return False
        reason = short_reason(exc)
        if self.settings.device == "cuda":
            raise ModelError(
                f"the GPU failed to run '{self.settings.name}': {reason}; install the CUDA 12 "
                "libraries (cuBLAS, cuDNN 9) or run: holdtype config set model.device auto"
            ) from exc
        with self._lock:
            if self._model is failed:  # (a decode beside this one may have moved it already)
                log.warning("the GPU failed (%s); the model runs on the CPU from now on", reason)
                self._load_on("cpu")
        return True

    def score_texts(
        self, audio: np.ndarray, texts: list[str], prompt: str | None = None
    ) -> list[float] | None:
        """How likely Whisper finds each of ``texts`` as what ``audio`` says, after ``prompt``:
        the natural log of the probability of its tokens, one number per text (compare them
        with each other, for the same audio and prompt). None when the audio does not fit in
        one window (over ``LONG_FORM_S``) or is too short to hold a word, and for a
        multilingual model left to detect the language (the language token is part of what
        is scored).

        The encoder hears the audio as :meth:`transcribe` makes it (the short context when
        that setting is on), so right after a decode of the same audio its encoding is reused;
        each text then costs one pass of the decoder (60 to 120 ms for tiny.en on one core, by
        the prompt's length), the texts spread over the model's workers.
        """
        duration = len(audio) / SAMPLE_RATE
        if not texts or duration > LONG_FORM_S or len(audio) < SAMPLE_RATE // 10:
            return None
        return self._run(lambda: self._score_texts(audio, texts, prompt, duration))

    def _score_texts(
        self, audio: np.ndarray, texts: list[str], prompt: str | None, duration: float
    ) -> list[float] | None:
        model = self._model
        assert model is not None
        if model.model.is_multilingual and not self.settings.language:  # type: ignore[attr-defined]
            return None
        encoded, frames = self._encoded(audio, duration)
        tokenizer = self._tokenizer()
        previous = tokenizer.encode(" " + prompt.strip())[-PROMPT_MAX_TOKENS:] if prompt else []
        start = model.get_prompt(tokenizer, previous, without_timestamps=True)  # type: ignore[attr-defined]

        def score(text: str) -> float:
            ids = tokenizer.encode(" " + text.strip()) if text.strip() else []
            if not ids:
                return 0.0
            result = model.model.align(encoded, start, [ids], [frames], median_filter_width=1)[0]  # type: ignore[attr-defined]
            probs = np.maximum(np.asarray(result.text_token_probs, dtype=np.float64), 1e-12)
            return float(np.log(probs).sum())

        if len(texts) == 1 or self._workers == 1:
            return [score(text) for text in texts]
        # One text per call on each of the model's workers: a batch would run on one of them.
        with ThreadPoolExecutor(min(len(texts), self._workers)) as pool:
            return list(pool.map(score, texts))

    def _encoded(self, audio: np.ndarray, duration: float) -> tuple[Any, int]:
        """The encoder's output for ``audio`` as :meth:`transcribe` makes it (the short context
        when that setting is on: right after a decode of the same audio, its encoding is
        reused), and how many log-mel frames it heard."""
        model = self._model
        assert model is not None
        frames = encoder_frames(duration, DecodeOptions.from_settings(self.settings).context_margin_s)
        if frames is not None:
            audio = _silence_to(audio, frames)
        features = model.feature_extractor(audio)  # type: ignore[attr-defined]
        if frames is None:
            frames = WINDOW_FRAMES
            features = np.pad(features[:, :frames], ((0, 0), (0, max(0, frames - features.shape[-1]))))
        return model.encode(np.ascontiguousarray(features[:, :frames])), frames  # type: ignore[attr-defined]

    def _tokenizer(self) -> Any:
        """faster-whisper's tokenizer for this model and language (made once)."""
        if self._tokenizer_cache is None:
            from faster_whisper.tokenizer import Tokenizer

            model = self._model
            multilingual = model.model.is_multilingual  # type: ignore[union-attr]
            self._tokenizer_cache = Tokenizer(
                model.hf_tokenizer,  # type: ignore[union-attr]
                multilingual,
                task="transcribe",
                language=self.settings.language or "en",
            )
        return self._tokenizer_cache

    def _transcribe(
        self,
        audio: np.ndarray,
        options: DecodeOptions,
        read_on: bool = True,
        known: list[tuple[float, float]] | None = None,
        by_pauses: bool = True,
    ) -> Transcript:
        """``audio`` read (see :meth:`transcribe`); ``known``: the voice detector's spans of
        it, when they are (the detector runs once over a recording, not once a step);
        ``by_pauses``: a reading that loops may be read again piece by piece (see
        :meth:`_read_by_pauses`), which a piece so read is not."""
        started = time.perf_counter()
        duration = len(audio) / SAMPLE_RATE
        if len(audio) < SAMPLE_RATE // 10 or float(np.max(np.abs(audio))) < SILENT_PEAK:
            # Too short to hold a word, or digital silence (a muted microphone): Whisper would
            # only invent something ("you").
            return Transcript("", duration, options.language, (), 0.0)
        # The voice detector's spans, once: for the speech gate, and what a reading missed.
        speech: list[tuple[float, float]] | None = None
        if self.settings.speech_gate and duration <= LONG_FORM_S:
            speech = known if known is not None else vad.speech_spans(audio)
            if not speech:
                # Noise, a breath, a key held by mistake: Whisper would invent words. (Longer
                # audio is checked below, or piece by piece through this same check.)
                return _no_speech(duration, options, started)
        if self.settings.speech_gate and LONG_FORM_S < duration <= CHUNK_S * 1.5:
            # Long stretches no one speaks in, cut down first (see app.transcribe.squeeze; a
            # recording read in chunks has each chunk cut down, as it is read).
            speech = known if known is not None else vad.speech_spans(audio)
            squeezed = squeeze(audio, speech)
            if squeezed is not None:
                inner = self._transcribe(squeezed.audio, options, read_on, squeezed.inside(speech))
                return _put_back(inner, squeezed, duration, started)
        options = replace(options, beam_size=beam_for(duration, options.beam_size))
        if _prompted(options) and duration > PIECE_MAX_S:
            return self._transcribe_pieces(audio, options, started)
        if duration > CHUNK_S * 1.5:
            return self._transcribe_pieces(audio, options, started, chunk_points(audio), carry=False)
        if duration > LONG_FORM_S:  # (read window by window: see _mend_long)
            speech = speech if speech is not None else vad.speech_spans(audio)
            if self.settings.speech_gate and not speech:  # 40 s of hum read as "You", in 8 s
                return _no_speech(duration, options, started)
        frames = encoder_frames(duration, options.context_margin_s)
        spoken = audio  # as given: padded below for the encoder
        if frames is not None:
            audio = _silence_to(audio, frames)
        # Speech with pauses whose first reading loops may have been said again and again:
        # read by its pauses (see _read_by_pauses) before Whisper's fallback reads the whole
        # at six more temperatures (2 s each on a 6.5 s clip) for a loop the pieces then
        # replace. Only when the pieces say no words again is the fallback run, as before.
        # (Whether it has pauses is asked only of a reading that loops: _pause_reading.)
        early = bool(by_pauses and speech and duration <= LONG_FORM_S)
        paused = False  # read by its pauses already: there were no pieces (a loop takes any)
        try:
            result = self._decode_window(audio, options, started, duration, frames, fallback=not early)
        except _FirstLoops as loops:
            paused = True
            taken = self._read_by_pauses(self._pause_reading(spoken, options, started, speech), loops.reading)
            if taken is not None:
                return taken
            # As before, but for the first decode, made already: on to the fallback.
            self._known.first = loops.reading
            try:
                result = self._decode_window(audio, options, started, duration, frames)
            finally:
                self._known.first = None
        if duration > LONG_FORM_S:
            result = self._mend_long(spoken, result, options, started, speech or [])
        prompt = _prompt_text(options)
        if prompt and prompt_echo(result.text, prompt):
            # No speech, read as the prompt: what the audio says is what Whisper hears unhelped.
            log.debug("decode %r echoes the prompt; read again without it", result.text)
            return self._decode_window(audio, _unprompted(options), started, duration, frames)
        if _prompted(options) and list_like(result.text):
            # A prompt (the vocabulary's, or the text so far) sometimes tips Whisper into
            # writing a list of guesses ("Messages, Waitin, RabbitMQ, Intel, Worker"). Decoding
            # again without commas makes it read the sentence. The second reading wins when it
            # has other words and Whisper is at least as sure of them; the same words mean the
            # commas were real (a spoken list).
            # (at the first temperature only: a retry that loops is not taken, so sampling it
            # again at five more temperatures cost 11 s of a 14 s clip of gibberish for nothing)
            once = replace(options, temperature=options.temperature[:1])
            retry = self._decode_window(audio, once, started, duration, frames, self._comma_tokens())
            changed = words_of(retry.text) != words_of(result.text)
            # (a retry stuck on a letter, "JKKKKKKKK...", is surer of itself than of any list)
            if retry.text and changed and retry.logprob >= result.logprob and not looping(retry.text):
                log.debug("list-like decode %r read again as %r", result.text, retry.text)
                result = retry
            else:
                result = replace(result, elapsed_ms=retry.elapsed_ms)
        stuck = looping(result.text)
        twice = 0 if stuck else said_twice(result.text)
        if twice and not result.repeat_heard and duration <= LONG_FORM_S:
            result = self._check_twice(spoken, options, started, duration, frames, result, twice)
        if result.repeat_heard:
            twice = 0
        if duration <= LONG_FORM_S and (stuck or result.copies_cut) and by_pauses and not paused:
            pieces = self._read_by_pauses(self._pause_reading(spoken, options, started, speech), result)
            if pieces is not None:
                return pieces
        if duration <= LONG_FORM_S and (stuck or twice):
            # Whisper stuck on a word ("Build, Weav, Weav, Weav, Weav,"), or reading a stretch
            # twice: what follows the repeat is lost. Read again with repeated tokens
            # penalised; the new reading wins when it does not repeat itself and has about as
            # many words as the first without its second copy, that is, it read other words
            # where the first repeated. Someone who really says "go" six times gets "Go, go!"
            # from the penalised reading: fewer words, so the repeats are kept. (Past one
            # window, faster-whisper's own fallback on text that compresses too well deals
            # with loops.)
            again = self._decode_window(
                audio, options, started, duration, frames, repetition_penalty=LOOP_PENALTY
            )
            said = len(words_of(again.text))
            clean = not looping(again.text) and not said_twice(again.text)
            if said and clean and said + 1 >= len(words_of(result.text)) - twice:
                log.debug("repeating decode %r read again as %r", result.text, again.text)
                return again
            if (
                said
                and clean
                and stuck
                and _prompted(options)
                and (said + 1 >= len(words_of(result.text)) - loop_excess(result.text))
            ):
                # The penalised reading lost no more than the loop's extra copies. A loop can
                # also stand in for a word or two that tiny.en half hears under a prompt ("The
                # GPU jumps, run, run, run, run, run, run, and the..." for "The GPU jobs run on
                # RunPod and the..."): then nothing after it is lost, and the count above
                # keeps the loop. Repeats that are really said are in the audio: a reading
                # without the prompt hears them too ("go" said six times loops there as well).
                plain = self._decode_window(audio, _unprompted(options), started, duration, frames)
                if not looping(plain.text):
                    log.debug("prompted loop %r read again as %r", result.text, again.text)
                    return replace(again, elapsed_ms=plain.elapsed_ms)
                return replace(result, elapsed_ms=plain.elapsed_ms)
            return replace(result, elapsed_ms=again.elapsed_ms)
        if self._cut_short(spoken, result, options):
            middle = quietest(spoken, int(len(spoken) * 0.35), int(len(spoken) * 0.65))
            halves = self._transcribe_pieces(spoken, options, started, [middle])
            if len(words_of(halves.text)) > len(words_of(result.text)):
                log.debug("reading %r stopped early; in two halves: %r", result.text, halves.text)
                return halves
            return replace(result, elapsed_ms=halves.elapsed_ms)
        cut = self._early_end(spoken, result, options, speech) if read_on else None
        if cut is not None:
            return self._read_on(spoken, cut, result, options, started)
        return result

    def _mend_long(
        self,
        spoken: np.ndarray,
        result: Transcript,
        options: DecodeOptions,
        started: float,
        speech: list[tuple[float, float]],
    ) -> Transcript:
        """``result``, a reading of a long recording window by window, without the segments
        of a few words it made up where the voice detector hears no ``speech`` (its spans),
        and with the speech it skipped read again and put in its place (see
        :mod:`app.transcribe.gaps`)."""
        if not speech:
            return result
        if not result.text.strip() and gaps.uncovered(speech, []):
            # Nothing read at all, yet seconds of speech: every window's reading compressed
            # "too well" (two sentences said three times over, 30 s) and was dropped as no
            # speech. Read in pieces, each one window, where a loop is checked by its audio.
            log.debug("a long reading of speech came out empty; read again in pieces")
            return self._transcribe_pieces(spoken, options, started)
        if not result.times or len(result.times) != len(result.segments):
            return result
        # With the gate off the detector is not trusted to hear every voice: nothing is dropped.
        gate = self.settings.speech_gate
        kept = [
            (span, text)
            for span, text in zip(result.times, result.segments, strict=True)
            if not (gate and gaps.stray(span, text, speech))
        ]
        missing = gaps.uncovered(speech, [span for span, _ in kept])
        if len(kept) == len(result.times) and not missing:
            return result
        if len(kept) < len(result.times):
            log.debug("dropped %d segment(s) read where no one speaks", len(result.times) - len(kept))
        pieces = [
            (span[0], text, [w for w in result.words if span[0] <= (w.start + w.end) / 2 <= span[1]])
            for span, text in kept
        ]
        for start, end in missing:
            low = max(0, round((start - 0.3) * SAMPLE_RATE))
            high = min(len(spoken), round((end + 0.3) * SAMPLE_RATE))
            before = " ".join(
                text.strip() for at, text, _ in sorted(pieces, key=lambda p: p[0]) if at < start
            )
            piece = self._transcribe(spoken[low:high], _after(options, before))
            log.debug(
                "%.1f s of speech at %.1f s was skipped; read again: %r", end - start, start, piece.text
            )
            if piece.text.strip():
                shift = low / SAMPLE_RATE
                moved = [replace(w, start=w.start + shift, end=w.end + shift) for w in piece.words]
                pieces.append((start, piece.text, moved))
        pieces.sort(key=lambda piece: piece[0])
        texts = tuple(text for _, text, _ in pieces)
        return replace(
            result,
            text=" ".join(text.strip() for text in texts if text.strip()),
            segments=texts,
            words=tuple(w for _, _, words in pieces for w in words),
            times=(),  # (the pieces read again have their own)
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def _early_end(
        self,
        spoken: np.ndarray,
        result: Transcript,
        options: DecodeOptions,
        speech: list[tuple[float, float]] | None = None,
    ) -> int | None:
        """Where the speech goes on after a reading of one window ended (a sample offset, in
        the pause after its last word), or None when it did not end early (see
        :data:`EARLY_END_S`). ``speech``: the voice detector's spans of ``spoken``, when known."""
        duration = len(spoken) / SAMPLE_RATE
        said = len(words_of(result.text))
        if not said or duration < 2 * EARLY_END_S or duration > LONG_FORM_S:
            return None
        spans = vad.speech_spans(spoken) if speech is None else speech
        if not spans or said >= EARLY_WORDS_PER_S * sum(end - start for start, end in spans):
            return None
        text_end = self._text_end(spoken, result.text, self._prompt(options), duration)
        if text_end is None or spans[-1][1] - text_end < EARLY_END_S:
            return None
        if not _prompted(options) and _next_speech(spans, text_end) - text_end > READ_ON_GAP_S:
            return None
        low = max(0, round((text_end - 0.1) * SAMPLE_RATE))
        return quietest(spoken, low, min(len(spoken), low + round(0.5 * SAMPLE_RATE)))

    def _read_on(
        self, spoken: np.ndarray, cut: int, result: Transcript, options: DecodeOptions, started: float
    ) -> Transcript:
        """``result`` with the audio after ``cut`` read on its own, after ``result``'s words,
        and added; ``result`` as it is when that reading adds no words."""
        rest = self._transcribe(spoken[cut:], _after(options, result.text), read_on=False)  # (once)
        elapsed = (time.perf_counter() - started) * 1000
        if not words_of(rest.text):
            return replace(result, elapsed_ms=elapsed)
        log.debug("reading %r ended before the speech did; read on: %r", result.text, rest.text)
        shift = cut / SAMPLE_RATE
        first, second = len(result.text), len(rest.text)
        return replace(
            result,
            text=f"{result.text} {rest.text}",
            words=(
                *result.words,
                *(replace(w, start=w.start + shift, end=w.end + shift) for w in rest.words),
            ),
            segments=(*result.segments, *rest.segments),
            logprob=(result.logprob * first + rest.logprob * second) / (first + second),
            elapsed_ms=elapsed,
        )

    def _text_end(
        self, audio: np.ndarray, text: str, prompt: str | list[int] | None, duration: float
    ) -> float | None:
        """Seconds into ``audio`` at which Whisper, reading it after ``prompt``, places the end
        of ``text``'s last token (its cross-attention alignment); None when it cannot tell."""
        model = self._model
        assert model is not None
        if model.model.is_multilingual and not self.settings.language:  # type: ignore[attr-defined]
            return None  # (the language token is part of the prompt)
        tokenizer = self._tokenizer()
        ids = tokenizer.encode(" " + text.strip())
        if not ids:
            return None
        encoded, frames = self._encoded(audio, duration)
        previous = tokenizer.encode(" " + prompt.strip()) if isinstance(prompt, str) else list(prompt or [])
        start = model.get_prompt(tokenizer, previous[-PROMPT_MAX_TOKENS:], without_timestamps=True)  # type: ignore[attr-defined]
        own = min(frames, round(duration * FRAMES_PER_S))  # the audio's frames, not the padding's
        result = model.model.align(encoded, start, [ids], [own], median_filter_width=7)[0]  # type: ignore[attr-defined]
        last = [time_index for text_index, time_index in result.alignments if text_index == len(ids) - 1]
        return (max(last) + 1) * SECONDS_PER_ENCODER_FRAME if last else None

    def _check_twice(
        self,
        spoken: np.ndarray,
        options: DecodeOptions,
        started: float,
        duration: float,
        frames: int | None,
        result: Transcript,
        twice: int,
    ) -> Transcript:
        """``result``, which says a stretch of ``twice`` words twice in a row, marked
        ``repeat_heard`` when a second reading says it twice too: the speaker did ("Run the
        tests again. Run the tests again."), and the repeat stays.

        The glitch it may be (see :func:`said_twice`) comes of the prompt and the short
        context: the second reading hears the whole window, or, when ``result`` heard it
        already, goes without the prompt. A reading with neither is taken as it is."""
        if frames is not None:
            second = self._decode_window(spoken, options, started, duration, None)
        elif _prompted(options):
            second = self._decode_window(spoken, _unprompted(options), started, duration, None)
        else:
            return replace(result, repeat_heard=True)
        heard = said_twice(second.text) >= max(TWICE_MIN_WORDS, twice - 1) and not looping(second.text)
        if heard:
            log.debug("%r: its repeat is heard by a second reading too (%r)", result.text, second.text)
        return replace(result, elapsed_ms=second.elapsed_ms, repeat_heard=heard)

    def _decode_window(
        self,
        audio: np.ndarray,
        options: DecodeOptions,
        started: float,
        duration: float,
        frames: int | None,
        suppress: tuple[int, ...] = (),
        repetition_penalty: float = 1.0,
        fallback: bool = True,
    ) -> Transcript:
        """One decode; with ``frames``, the encoder hears only that many log-mel frames.
        Without ``fallback``, a first decode that loops raises :class:`_FirstLoops`."""
        if frames is None:
            return self._decode(audio, options, started, duration, suppress, repetition_penalty, fallback)
        with self._model.encoder_frames(frames):  # type: ignore[union-attr]
            raw = self._decode(audio, options, started, duration, suppress, repetition_penalty, fallback)
        # Short context sometimes makes Whisper read the utterance twice, or hear words in the
        # padding: cut those off. But a speaker may say a sentence twice ("Testing one two
        # three, testing one two three"): a repeat of a few words is cut only when Whisper,
        # hearing the audio in its whole window (as it was trained), does not say it twice too.
        # A short utterance read twice over ("Done. Done." for "Done.") is checked so as well.
        trimmed = _trim_repeat(raw)
        cut_words = _words_cut(raw, trimmed)
        cut = cut_words >= REPEAT_CHECK_WORDS
        if not (cut or doubled(trimmed.text)) or prompt_echo(trimmed.text, _prompt_text(options)):
            return trimmed  # (a prompt read back twice is no speech at all: read again unprompted)
        spoken = audio[: round(duration * SAMPLE_RATE)]  # without the silence added for the encoder
        whole = self._decode_window(spoken, options, started, duration, None, suppress, repetition_penalty)
        if _repeats(whole):
            # Said so. The short context's reading stands (it reads as every other decode
            # does), unless it has a copy more than the whole window's: it may have added one
            # to those said ("Hello? Can you hear me?" said twice, read three times).
            log.debug("repeat in %r heard by the whole window too: %r", raw.text, whole.text)
            # One copy's words: the repeated ending, or (when the trim cut whole copies) the
            # one copy it kept; of a reading said twice over, half of it.
            copy = min(cut_words, len(words_of(trimmed.text))) or len(words_of(raw.text)) // 2
            kept = whole if 2 * _words_cut(raw, whole) >= copy else raw
            # The two readings count the copies differently, and either may be the one that
            # is right ("Can you hear me now?" said five times: five here, four in the whole
            # window): the pauses between them can tell (see _read_by_pauses).
            fewer = kept is whole and _words_cut(raw, whole) > 0
            return replace(
                kept, elapsed_ms=whole.elapsed_ms, repeat_heard=True, copies_cut=kept.copies_cut or fewer
            )
        # Not said (the development sets' read-agains, 4 in about 300 short-context decodes,
        # all read once with the whole window).
        if cut:
            return replace(trimmed, elapsed_ms=whole.elapsed_ms, copies_cut=True)
        return whole

    def _prompt(self, options: DecodeOptions) -> str | list[int] | None:
        """The prompt for faster-whisper: ``initial_prompt``, then as much of ``context``'s end
        as fits in the prompt window (faster-whisper would cut the prompt's front instead)."""
        if not options.context:
            return options.initial_prompt or None
        tokenizer = self._model.hf_tokenizer  # type: ignore[union-attr]
        head: list[int] = []
        if options.initial_prompt:
            head = tokenizer.encode(" " + options.initial_prompt.strip(), add_special_tokens=False).ids
        tail = tokenizer.encode(" " + options.context.strip(), add_special_tokens=False).ids
        room = max(0, PROMPT_MAX_TOKENS - len(head))
        return [*head[-PROMPT_MAX_TOKENS:], *(tail[-room:] if room else [])]

    def _fit(
        self, options: DecodeOptions, new_tokens: int | None
    ) -> tuple[str | list[int] | None, str | None]:
        """The initial prompt and hotwords of a decode, cut so that they and the ``new_tokens``
        Whisper may write fit in its window (see :func:`~app.transcribe.tokens.fit_prompt`):
        as they are when they fit, which is nearly always."""
        prompt = self._prompt(options)
        hotwords = options.hotwords or None
        if not hotwords and (prompt is None or new_tokens is None):
            return prompt, hotwords  # the prompt alone is cut to half the window: it fits
        model = self._model
        tokenizer = self._tokenizer()
        encoded = tokenizer.encode(" " + prompt.strip()) if isinstance(prompt, str) else prompt  # type: ignore[attr-defined]
        previous = list(encoded or [])[-PROMPT_MAX_TOKENS:]  # all faster-whisper keeps

        def measure(tokens: list[int], words: str | None) -> int:
            return len(
                model.get_prompt(  # type: ignore[union-attr]
                    tokenizer, tokens, without_timestamps=True, prefix=options.prefix or None, hotwords=words
                )
            )

        if measure(previous, hotwords) + (TEXT_TOKENS if new_tokens is None else new_tokens) <= WINDOW_TOKENS:
            return prompt, hotwords
        fitted, kept = fit_prompt(measure, previous, hotwords, new_tokens)
        log.debug(
            "prompt of %d tokens and %d hotwords cut to %d and %d to leave room for the text",
            len(previous),
            len(hotwords.split(", ")) if hotwords else 0,
            len(fitted),
            len(kept.split(", ")) if kept else 0,
        )
        return (prompt if fitted == previous else fitted or None), kept  # uncut: as it was

    def _comma_tokens(self) -> tuple[int, ...]:
        """The ids of every token that writes a comma (computed once per model)."""
        if self._commas is None:
            vocabulary = self._model.hf_tokenizer.get_vocab()  # type: ignore[union-attr]
            self._commas = tuple(sorted(i for token, i in vocabulary.items() if "," in token))
        return self._commas

    def _cut_short(self, audio: np.ndarray, result: Transcript, options: DecodeOptions) -> bool:
        """Whether a prompted reading of one window seems to have stopped early (see
        :data:`SPARSE_WORDS_PER_S`)."""
        seconds = len(audio) / SAMPLE_RATE
        if not _prompted(options) or seconds < SPARSE_MIN_S or seconds > LONG_FORM_S:
            return False
        said = len(words_of(result.text))
        # Words for the whole audio first: the voice detector runs only for a sparse reading.
        return said < SPARSE_WORDS_PER_S * seconds and said < SPARSE_WORDS_PER_S * vad.speech_seconds(audio)

    def _pause_reading(
        self,
        spoken: np.ndarray,
        options: DecodeOptions,
        started: float,
        speech: list[tuple[float, float]] | None,
    ) -> Transcript | None:
        """``spoken`` read again piece by piece, cut at the speaker's pauses (see
        :func:`gaps.pause_points`), when that reading says words again in pieces of audio of their
        own; None when it has no such pause, a piece's reading loops, or it says no words again
        (see :meth:`_read_by_pauses`)."""
        spans = speech if speech is not None else vad.speech_spans(spoken)
        cuts = gaps.pause_points(spoken, spans)
        if not cuts:
            return None
        pieces = self._transcribe_pieces(spoken, options, started, cuts, carry=False, by_pauses=False)
        if any(looping(text) for text in pieces.segments):
            return None
        if not (looping(pieces.text) or said_twice(pieces.text) or _repeats(pieces)):
            return None  # (no words said again: the loop was Whisper's; its own mends stand)
        texts = written_alike(pieces.segments)
        # (repeat_heard: the copies were heard in pieces of audio of their own)
        return replace(
            pieces,
            text=" ".join(texts),
            segments=texts,
            words=_rewritten(pieces.words, pieces.segments, texts),
            repeat_heard=True,
        )

    def _read_by_pauses(self, pieces: Transcript | None, result: Transcript) -> Transcript | None:
        """``pieces`` (the reading by pauses, see :meth:`_pause_reading`) in place of
        ``result``, a reading that loops or lost copies of words; None when there are no such
        pieces or (``result`` not looping) they give no more words.

        A sentence really said four times ("Testing the microphone." with a pause after each)
        read whole came out six times, and Whisper's fallback for loops then kept one copy:
        a loop of text is no proof of a loop of the decoder. Each piece holds one copy, so
        each copy read is one said. The pieces' reading is taken when, no piece looping, it
        still says words again: they were heard in pieces of audio of their own. Otherwise
        the loop was Whisper's (one that stands for words half heard, "run, run, run, run"),
        mended as before."""
        if pieces is None:
            return None
        if not looping(result.text) and _words_cut(result, pieces) >= 0:
            return None  # (a piece read alone may hear a word less well: "A build in green")
        log.debug("looping reading read again by pauses: %r", pieces.text)
        return pieces

    def _transcribe_pieces(
        self,
        audio: np.ndarray,
        options: DecodeOptions,
        started: float,
        cuts: list[int] | None = None,
        carry: bool = True,
        by_pauses: bool = True,
    ) -> Transcript:
        """Long audio, piece by piece (cut at pauses, see :func:`split_points`, or at ``cuts``),
        each with the short context, the caller's prompt and (``carry``) the end of the text so
        far; without ``carry`` (chunks of a long recording, see :data:`CHUNK_S`) each piece is
        decoded as if it were the whole audio.

        Whisper's own long-form decoding, given a vocabulary prompt, stops emitting timestamps
        and skips whole sentences (on a 231 s reading: 104 word errors instead of 31; in pieces,
        36). Without a prompt it does well (31 against 34 in pieces) and is used as it is.
        """
        texts: list[str] = []
        words: list[Word] = []
        language = options.language
        offset = 0
        weighted, weight = 0.0, 0  # mean log-probability over the pieces, by length of text
        for cut in [*(split_points(audio) if cuts is None else cuts), len(audio)]:
            if carry:
                said = _after(options, *texts)
            elif offset == 0:
                said = options
            else:
                # The caller's context is what was said before the first piece only: a piece
                # that says it again, read after it, lost its first words to the echo.
                said = replace(options, context=None)
            piece = self._transcribe(audio[offset:cut], said, by_pauses=by_pauses)
            shift = offset / SAMPLE_RATE
            words.extend(replace(w, start=w.start + shift, end=w.end + shift) for w in piece.words)
            if piece.text:
                texts.append(piece.text)
                weighted += piece.logprob * len(piece.text)
                weight += len(piece.text)
            language = piece.language or language
            offset = cut
        elapsed = (time.perf_counter() - started) * 1000
        text = " ".join(texts)
        logprob = weighted / weight if weight else 0.0
        return Transcript(
            text, len(audio) / SAMPLE_RATE, language, tuple(words), elapsed, tuple(texts), logprob
        )

    def _decode(
        self,
        audio: np.ndarray,
        options: DecodeOptions,
        started: float,
        duration: float,
        suppress: tuple[int, ...] = (),
        repetition_penalty: float = 1.0,
        fallback: bool = True,
    ) -> Transcript:
        """One decode of ``audio``. Up to one window, Whisper's reading at its first
        temperature is taken unless it loops (:func:`looping`); only then is it read again
        with Whisper's fallback (see :data:`COMPRESSION_RATIO_THRESHOLD`), or, without
        ``fallback``, given to the caller in :class:`_FirstLoops`. A reading whose mean
        log-probability is below Whisper's threshold is taken too: sampled again at five more
        temperatures it cost a second or more on a 4 s clip, changed no term on our jargon
        sets, and read differently from run to run."""
        if duration > LONG_FORM_S or len(options.temperature) < 2:
            return self._decode_once(audio, options, started, duration, suppress, repetition_penalty)
        first = getattr(self._known, "first", None)
        if first is not None:
            self._known.first = None  # (once: the decodes after it are of other audio or options)
        else:
            first = self._decode_once(
                audio, options, started, duration, suppress, repetition_penalty, fallback=False
            )
        if not looping(first.text):
            return first
        if not fallback:
            raise _FirstLoops(first)
        log.debug("decode %r loops; read again with the temperature fallback", first.text)
        again = self._decode_once(audio, options, started, duration, suppress, repetition_penalty)
        return replace(again, copies_cut=True)

    def _decode_once(
        self,
        audio: np.ndarray,
        options: DecodeOptions,
        started: float,
        duration: float,
        suppress: tuple[int, ...] = (),
        repetition_penalty: float = 1.0,
        fallback: bool = True,
    ) -> Transcript:
        new_tokens = max_new_tokens(duration)
        prompt, hotwords = self._fit(options, new_tokens)
        segments, info = self._model.transcribe(  # type: ignore[union-attr]
            audio,
            language=options.language,
            beam_size=options.beam_size,
            initial_prompt=prompt,
            hotwords=hotwords,
            prefix=options.prefix or None,
            vad_filter=options.vad_filter,
            word_timestamps=options.word_timestamps,
            condition_on_previous_text=options.condition_on_previous_text,
            # Past one 30 s window, timestamps are what lets Whisper seek window by window;
            # without them, long audio loses whole stretches.
            without_timestamps=options.without_timestamps
            and not options.word_timestamps
            and duration <= LONG_FORM_S,
            temperature=list(options.temperature if fallback else options.temperature[:1]),
            compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD if fallback else None,
            max_new_tokens=new_tokens,
            suppress_tokens=[-1, *suppress],  # -1: Whisper's usual set (symbols, speaker tags)
            repetition_penalty=repetition_penalty,
        )
        texts: list[str] = []
        times: list[tuple[float, float]] = []
        words: list[Word] = []
        logprob_sum = 0.0
        tokens = 0
        for segment in segments:
            texts.append(segment.text)
            times.append((segment.start, segment.end))
            logprob_sum += segment.avg_logprob * len(segment.tokens)
            tokens += len(segment.tokens)
            for w in segment.words or ():
                words.append(Word(w.start, w.end, w.word, w.probability))
        text = " ".join(t.strip() for t in texts if t.strip())
        elapsed = (time.perf_counter() - started) * 1000
        logprob = logprob_sum / tokens if tokens else 0.0
        return Transcript(
            text, duration, info.language, tuple(words), elapsed, tuple(texts), logprob, times=tuple(times)
        )
