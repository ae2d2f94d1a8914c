"""Is anyone speaking? Silero VAD (shipped inside faster-whisper) as a gate before decoding.

Whisper given noise and no speech writes something anyway: "I don't know.", "you", or under a
vocabulary prompt the prompt itself ("Let me tell you what I did."). A key held by mistake in a
noisy room would paste that. The gate asks the voice detector first and skips the decode when
it hears no speech at all. Its bar is low (a 60 ms word at a quarter of the detector's
confidence): on our espeak-ng words, quiet and in noise, it missed only speech so far below the
noise that Whisper heard nothing in it either.
"""

from __future__ import annotations

import threading

import numpy as np

from app.transcribe.audiofile import SAMPLE_RATE  # what the detector takes, as Whisper does

GATE_THRESHOLD = 0.25  # the detector's speech probability (faster-whisper's filter uses 0.5)
GATE_MIN_SPEECH_MS = 60
_lock = threading.Lock()


def speech_spans(audio: np.ndarray) -> list[tuple[float, float]]:
    """The stretches of ``audio`` (16 kHz mono float32) the voice detector takes for speech,
    as (start, end) seconds, in order."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(audio) == 0:
        return []
    options = VadOptions(
        threshold=GATE_THRESHOLD,
        min_speech_duration_ms=GATE_MIN_SPEECH_MS,
        min_silence_duration_ms=200,
        speech_pad_ms=0,
    )
    spans = get_speech_timestamps(np.ascontiguousarray(audio, dtype=np.float32), options)
    return [(span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE) for span in spans]


def speech_seconds(audio: np.ndarray) -> float:
    """Seconds of ``audio`` (16 kHz mono float32) the voice detector takes for speech."""
    return sum(end - start for start, end in speech_spans(audio))


def has_speech(audio: np.ndarray) -> bool:
    """True when the voice detector hears any speech in ``audio``."""
    return speech_seconds(audio) > 0.0


def warm_up() -> None:
    """Load the detector now (about 0.2 s), so that the first recording does not wait for it."""
    from faster_whisper.vad import get_vad_model

    with _lock:
        get_vad_model()
