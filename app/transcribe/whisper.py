"""Local transcription with faster-whisper.

:class:`WhisperTranscriber` loads a model once (lazily, thread-safe) and turns 16 kHz mono float32
audio into a :class:`Transcript`. The device is chosen by :func:`choose_device`: CUDA with float16
when CTranslate2 sees a GPU and the setting allows it, else the CPU with int8.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from app.config import ModelSettings
from app.errors import AudioError, ModelError
from app.transcribe import models

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
LONG_FORM_S = 28.0  # audio longer than this is decoded window by window, with timestamps


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """Per-call decoding options (the model-wide ones live in :class:`ModelSettings`)."""

    beam_size: int = 5
    language: str | None = "en"
    initial_prompt: str | None = None
    hotwords: str | None = None
    prefix: str | None = None
    vad_filter: bool = False
    word_timestamps: bool = False
    condition_on_previous_text: bool = True
    without_timestamps: bool = True
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

    @classmethod
    def from_settings(cls, settings: ModelSettings, **overrides: object) -> DecodeOptions:
        """Build options from the model settings, with per-call overrides."""
        base = cls(
            beam_size=settings.beam_size,
            language=settings.language,
            vad_filter=settings.vad_filter,
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


class Transcriber(Protocol):
    """Anything that turns audio into a transcript (local Whisper, a remote server...)."""

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        """Transcribe 16 kHz mono float32 ``audio``."""
        ...


def cuda_device_count() -> int:
    """Return how many CUDA devices CTranslate2 can use (0 when none or no CUDA build)."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a broken CUDA install must not stop CPU transcription
        log.debug("CTranslate2 could not count CUDA devices", exc_info=True)
        return 0


def choose_device(device: str, compute_type: str, cuda_devices: int) -> tuple[str, str]:
    """Pick (device, compute_type) for CTranslate2.

    ``auto`` uses CUDA with float16 when at least one GPU is visible, else the CPU with int8.
    An explicit ``cuda`` without a GPU is an error that names the fix. An explicit compute type
    is kept as given.
    """
    if device not in {"auto", "cpu", "cuda"}:
        raise ModelError(f"unknown device '{device}'; use auto, cpu or cuda")
    if device == "cuda" and cuda_devices < 1:
        raise ModelError(
            "model.device is 'cuda' but CTranslate2 sees no CUDA GPU; "
            "run: holdtype config set model.device auto"
        )
    chosen = "cuda" if device == "cuda" or (device == "auto" and cuda_devices > 0) else "cpu"
    if compute_type and compute_type != "auto":
        return chosen, compute_type
    return chosen, "float16" if chosen == "cuda" else "int8"


def load_audio(path: str | Path) -> np.ndarray:
    """Decode any audio file PyAV/ffmpeg reads into 16 kHz mono float32."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"no such file: {path}")
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file")
    from faster_whisper import decode_audio

    try:
        audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises many error types for unreadable input
        raise AudioError(f"cannot read audio from {path}: {exc}") from exc
    return np.asarray(audio, dtype=np.float32)


class WhisperTranscriber:
    """faster-whisper behind the :class:`Transcriber` interface; loads the model once."""

    def __init__(self, settings: ModelSettings) -> None:
        self.settings = settings
        self._model: object | None = None
        self._lock = threading.Lock()
        self.device: str | None = None
        self.compute_type: str | None = None
        self.load_ms: float | None = None

    @property
    def name(self) -> str:
        """The model's name as configured."""
        return self.settings.name

    def plain_transcribe(self, audio: np.ndarray) -> str:
        """faster-whisper with its own defaults (only language and beam size from the settings):
        the baseline the benchmarks compare Holdtype's pipeline with."""
        self.load()
        segments, _info = self._model.transcribe(  # type: ignore[union-attr]
            audio, language=self.settings.language, beam_size=self.settings.beam_size
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    def load(self) -> None:
        """Load the model if it is not loaded yet (safe to call from several threads)."""
        with self._lock:
            if self._model is not None:
                return
            from faster_whisper import WhisperModel

            path = models.resolve(self.settings.name)
            device, compute = choose_device(
                self.settings.device, self.settings.compute_type, cuda_device_count()
            )
            started = time.perf_counter()
            try:
                self._model = WhisperModel(
                    str(path),
                    device=device,
                    compute_type=compute,
                    cpu_threads=self.settings.cpu_threads,
                    num_workers=1,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise ModelError(f"cannot load model '{self.settings.name}': {exc}") from exc
            self.device, self.compute_type = device, compute
            self.load_ms = (time.perf_counter() - started) * 1000
            log.info("loaded %s on %s/%s in %.0f ms", self.settings.name, device, compute, self.load_ms)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        """Transcribe 16 kHz mono float32 ``audio`` (consumes faster-whisper's generator here)."""
        self.load()
        assert self._model is not None
        started = time.perf_counter()
        duration = len(audio) / SAMPLE_RATE
        if len(audio) < SAMPLE_RATE // 10:
            return Transcript("", duration, options.language, (), 0.0)
        segments, info = self._model.transcribe(  # type: ignore[attr-defined]
            audio,
            language=options.language,
            beam_size=options.beam_size,
            initial_prompt=options.initial_prompt or None,
            hotwords=options.hotwords or None,
            prefix=options.prefix or None,
            vad_filter=options.vad_filter,
            word_timestamps=options.word_timestamps,
            condition_on_previous_text=options.condition_on_previous_text,
            # Past one 30 s window, timestamps are what lets Whisper seek window by window;
            # without them, long audio loses whole stretches.
            without_timestamps=options.without_timestamps
            and not options.word_timestamps
            and duration <= LONG_FORM_S,
            temperature=list(options.temperature),
        )
        texts: list[str] = []
        words: list[Word] = []
        for segment in segments:
            texts.append(segment.text)
            for w in segment.words or ():
                words.append(Word(w.start, w.end, w.word, w.probability))
        text = " ".join(t.strip() for t in texts if t.strip())
        elapsed = (time.perf_counter() - started) * 1000
        return Transcript(text, duration, info.language, tuple(words), elapsed, tuple(texts))
