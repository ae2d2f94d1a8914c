"""Long stretches without speech taken out of a long recording before it is decoded.

Whisper reads a recording 30 s at a time. A window of silence or room noise makes it write
something anyway ("You", "........"), and what it wrote is the context of the next window: a
voice memo that starts with 35 s of quiet came out as dots, its words lost, and speech, two
minutes of silence, speech came out as five copies of the sentence. faster-whisper's answer is
its VAD filter, which decodes the speech alone; this is the same idea for Holdtype's own
long-form reading: the stretches the voice detector hears no one in, when long, are cut down
to a short pause (:data:`KEEP_S` of their own audio either side of the speech, so a soft word
edge the detector missed stays), and the words' times are put back where they were said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.transcribe.audiofile import SAMPLE_RATE

#: Audio kept either side of the speech the detector hears (the pause left between two spans
#: is twice this).
KEEP_S = 1.0
#: Only a stretch without speech longer than this is cut down (a pause in a talk stays as it is).
MIN_CUT_S = 5.0


@dataclass(frozen=True)
class Squeezed:
    """A recording with its long stretches without speech cut out."""

    audio: np.ndarray
    #: Each kept piece as (start in ``audio``, start in the recording, length), in seconds.
    pieces: tuple[tuple[float, float, float], ...]

    def original_span(self, start: float, end: float) -> tuple[float, float]:
        """The times in the recording of a word (or segment) from ``start`` to ``end`` in
        the squeezed audio: its end in the piece its start is in (a word that ran over a cut
        was 30 s long), never before its start.

        >>> squeezed = Squeezed(np.zeros(0, np.float32), ((0.0, 0.0, 11.0), (11.0, 41.0, 10.0)))
        >>> squeezed.original_span(10.8, 11.2), squeezed.original_span(12.0, 13.0)
        ((10.8, 11.0), (42.0, 43.0))
        """
        begin = self.original_time(start)
        piece = next((p for p in reversed(self.pieces) if start >= p[0]), self.pieces[0])
        return begin, max(begin, min(self.original_time(end), piece[1] + piece[2]))

    def inside(self, spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        """``spans`` of the recording (the voice detector's, each inside a kept piece) in the
        squeezed audio's time.

        >>> squeezed = Squeezed(np.zeros(0, np.float32), ((0.0, 39.0, 5.0),))
        >>> squeezed.inside([(40.0, 43.0)])
        [(1.0, 4.0)]
        """
        out = []
        for low, high in spans:
            start, origin, length = next(
                (p for p in self.pieces if p[1] <= low < p[1] + p[2]), self.pieces[-1]
            )
            out.append((start + low - origin, start + min(high, origin + length) - origin))
        return out

    def original_time(self, at: float) -> float:
        """The time in the recording of ``at`` seconds into the squeezed audio.

        >>> squeezed = Squeezed(np.zeros(0, np.float32), ((0.0, 10.0, 3.0), (3.0, 40.0, 2.0)))
        >>> squeezed.original_time(1.0), squeezed.original_time(4.5), squeezed.original_time(9.0)
        (11.0, 41.5, 42.0)
        """
        for start, origin, length in reversed(self.pieces):
            if at >= start:
                return origin + min(at - start, length)
        return self.pieces[0][1]


def squeeze(
    audio: np.ndarray,
    speech: Sequence[tuple[float, float]],
    keep_s: float = KEEP_S,
    min_cut_s: float = MIN_CUT_S,
) -> Squeezed | None:
    """``audio`` without its stretches of more than ``min_cut_s`` seconds in which the voice
    detector hears no ``speech`` (its spans, in seconds, in order), ``keep_s`` of each kept
    either side of the speech; None when there is no such stretch (or no speech at all).

    >>> audio = np.zeros(60 * SAMPLE_RATE, np.float32)
    >>> squeezed = squeeze(audio, [(40.0, 43.0)])
    >>> len(squeezed.audio) / SAMPLE_RATE, squeezed.pieces
    (5.0, ((0.0, 39.0, 5.0),))
    >>> squeeze(audio, [(2.0, 30.0), (33.0, 58.0)]) is None  # pauses of 2 and 3 s: kept
    True
    """
    total = len(audio) / SAMPLE_RATE
    if not speech:
        return None
    kept: list[list[float]] = []
    for start, end in speech:
        low, high = max(0.0, start - keep_s), min(total, end + keep_s)
        if kept and low - kept[-1][1] <= min_cut_s - 2 * keep_s:
            kept[-1][1] = max(kept[-1][1], high)  # the pause between them is short: kept whole
        else:
            kept.append([low, high])
    # The ends of the recording: cut only when long enough, as a pause inside it is.
    if kept[0][0] <= min_cut_s - keep_s:
        kept[0][0] = 0.0
    if total - kept[-1][1] <= min_cut_s - keep_s:
        kept[-1][1] = total
    if len(kept) == 1 and kept[0] == [0.0, total]:
        return None
    parts: list[np.ndarray] = []
    pieces: list[tuple[float, float, float]] = []
    at = 0
    for low, high in kept:
        first, last = round(low * SAMPLE_RATE), round(high * SAMPLE_RATE)
        parts.append(audio[first:last])
        pieces.append((at / SAMPLE_RATE, first / SAMPLE_RATE, (last - first) / SAMPLE_RATE))
        at += last - first
    return Squeezed(np.concatenate(parts), tuple(pieces))
