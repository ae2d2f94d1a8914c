"""Whether a recording was nothing but digital silence: a muted or dead microphone, or the
monitor of a speaker that plays nothing chosen as the input. Such a dictation came out empty
without a word, the user none the wiser about why, again and again."""

from __future__ import annotations

import numpy as np

from app.transcribe.audiofile import SAMPLE_RATE  # (recorded at the rate Whisper takes)

#: -80 dBFS: below the noise floor of any microphone that works (a quiet room is about -60).
SILENT_PEAK = 10 ** (-80 / 20)
#: A recording shorter than this (a tap of the key) is not enough to tell.
SILENCE_NOTICE_S = 1.0


def only_silence(audio: np.ndarray) -> bool:
    """Whether ``audio`` (16 kHz mono floats) is at least :data:`SILENCE_NOTICE_S` of nothing.

    >>> only_silence(np.zeros(16000, np.float32)), only_silence(np.full(16000, 0.001, np.float32))
    (True, False)
    >>> only_silence(np.zeros(8000, np.float32))  # a tap: too short to tell
    False
    """
    if len(audio) < SILENCE_NOTICE_S * SAMPLE_RATE:
        return False
    return float(np.max(np.abs(audio))) < SILENT_PEAK


def silence_notice(device: str | None) -> str:
    """What to tell the user when a dictation heard only silence from ``device``.

    >>> silence_notice("USB Mic")  # doctest: +ELLIPSIS
    'Heard only silence from the microphone (USB Mic): it may be muted, ...'
    """
    named = f" ({device})" if device else ""
    return (
        f"Heard only silence from the microphone{named}: it may be muted, or not the one you speak "
        "into; choose the input in Settings → Audio (`holdtype doctor` lists them)."
    )
