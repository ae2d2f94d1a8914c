"""What Whisper's reading of a long recording left out, or made up, by the voice detector.

Past one 30 s window Whisper seeks from window to window by its own timestamps, and now and then
a seek jumps over speech: on a 334 s recording of the speech set's clips joined end to end,
tiny.en (plain faster-whisper as well) skipped 22 s, 63 words, in the middle. In long silence
or hum it writes a stray "You". The voice detector tells both: speech that no segment covers is
read again (:func:`uncovered`), and a segment of a few words where it hears no speech at all is
dropped (:func:`stray`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from app.transcribe.audiofile import SAMPLE_RATE

Span = tuple[float, float]

#: Uncovered speech at least this long (seconds) is read again.
GAP_MIN_S = 1.0
#: A segment is taken to cover this much before and after its timestamps (they are rounded to
#: 20 ms and Whisper's are loose by a few hundred ms).
EDGE_S = 0.5
#: Uncovered stretches closer than this are read together.
JOIN_S = 1.0
#: A segment of at most this many words that overlaps no speech is a stray.
STRAY_MAX_WORDS = 3
#: A pause this long (seconds) between spans of speech is one to cut a reading that loops at
#: (the voice detector hears none shorter; espeak-ng leaves 0.29 s between sentences).
PAUSE_CUT_S = 0.2
#: A stretch this far under the speech's level (its 95th percentile of 10 ms levels) is quiet
#: enough to be a pause (-34 dB: a room's hum under a voice is quieter still).
QUIET_LEVEL = 0.02
#: Frames (10 ms) over that level that do not end a quiet stretch: a click, a crackle.
QUIET_BLIP_FRAMES = 3
#: Cuts at quiet stretches are this far (seconds) from every other cut: a piece holds a word.
MIN_PIECE_S = 0.5


def _merged(spans: Sequence[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def uncovered(speech: Sequence[Span], segments: Sequence[Span], min_s: float = GAP_MIN_S) -> list[Span]:
    """The stretches of ``speech`` (the voice detector's spans, seconds) that no segment of a
    reading covers, those closer than :data:`JOIN_S` joined, each at least ``min_s`` of speech.

    >>> uncovered([(0.0, 10.0), (12.0, 20.0)], [(0.0, 9.8), (15.0, 20.0)])
    [(12.0, 14.5)]
    >>> uncovered([(0.0, 4.0)], [(0.0, 4.2)])
    []
    """
    covered = _merged([(start - EDGE_S, end + EDGE_S) for start, end in segments])
    pieces: list[Span] = []
    for start, end in speech:
        at = start
        for low, high in covered:
            if high <= at or low >= end:
                continue
            if low > at:
                pieces.append((at, low))
            at = max(at, high)
        if at < end:
            pieces.append((at, end))
    gaps: list[list[float]] = []  # [start, end, seconds of speech]
    for start, end in pieces:
        if gaps and start - gaps[-1][1] < JOIN_S:
            gaps[-1][1] = end
            gaps[-1][2] += end - start
        else:
            gaps.append([start, end, end - start])
    return [(start, end) for start, end, said in gaps if said >= min_s]


def stray(segment: Span, text: str, speech: Sequence[Span]) -> bool:
    """Whether a segment of a reading (its span and text) is one Whisper made up: a few words
    (:data:`STRAY_MAX_WORDS`) where the voice detector hears no speech at all.

    >>> stray((30.0, 32.0), "You", [(0.0, 20.0), (50.0, 60.0)])
    True
    >>> stray((30.0, 32.0), "You", [(31.0, 31.5)])
    False
    >>> stray((30.0, 32.0), "and then we all went home", [])
    False
    """
    if len(text.split()) > STRAY_MAX_WORDS or not text.strip():
        return False
    start, end = segment[0] - EDGE_S, segment[1] + EDGE_S
    return not any(low < end and high > start for low, high in speech)


def pause_cuts(speech: Sequence[Span], min_pause_s: float = PAUSE_CUT_S) -> list[int]:
    """Sample offsets (16 kHz) at the middle of each pause of at least ``min_pause_s``
    between the voice detector's ``speech`` spans (seconds): where a recording can be cut
    between sentences, or phrases, without splitting a word.

    >>> pause_cuts([(0.1, 1.5), (1.9, 3.0), (3.1, 4.0)])
    [27200]
    """
    return [
        round((end + start) / 2 * SAMPLE_RATE)
        for (_, end), (start, _) in itertools.pairwise(speech)
        if start - end >= min_pause_s
    ]


def quiet_cuts(audio: np.ndarray, min_pause_s: float = PAUSE_CUT_S) -> list[int]:
    """Sample offsets (16 kHz) at the middle of each stretch of at least ``min_pause_s``
    inside ``audio`` whose level stays under :data:`QUIET_LEVEL` of the speech's.

    The voice detector's probability falls slowly after speech: a sentence said four times
    with 0.33 s of silence between the copies ("Next slide please.", "Thank you.") was one
    span to it, or three of one, two and one copies, so that no cut between them was found.

    >>> tone = np.sin(np.arange(8000, dtype=np.float32) / 3)
    >>> quiet_cuts(np.concatenate([tone, np.zeros(6400, np.float32), tone]))
    [11200]
    """
    hop = SAMPLE_RATE // 100  # 10 ms
    frames = len(audio) // hop
    if frames == 0:
        return []
    levels = np.sqrt(np.mean(np.square(audio[: frames * hop], dtype=np.float64).reshape(frames, hop), axis=1))
    loud = float(np.percentile(levels, 95))
    if loud <= 0.0:
        return []
    quiet = np.concatenate([[False], levels < QUIET_LEVEL * loud, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    runs: list[list[int]] = []
    for start, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if runs and start - runs[-1][1] <= QUIET_BLIP_FRAMES:
            runs[-1][1] = end  # (a click, or noise a frame over the bar, ends no pause)
        else:
            runs.append([start, end])
    need = round(min_pause_s * 100)
    return [
        (start + end) // 2 * hop
        for start, end in runs
        if end - start >= need and start > 0 and end < frames  # (not the silence before or after)
    ]


def pause_points(audio: np.ndarray, speech: Sequence[Span]) -> list[int]:
    """Where to cut ``audio`` between phrases: its pauses between the voice detector's
    ``speech`` spans (:func:`pause_cuts`), and the quiet stretches inside the speech that it
    ran together with the words around them (:func:`quiet_cuts`), each at least
    :data:`MIN_PIECE_S` from every other cut.

    >>> tone = np.sin(np.arange(8000, dtype=np.float32) / 3)
    >>> gap = np.zeros(6400, np.float32)
    >>> audio = np.concatenate([tone, gap, tone, gap, tone])
    >>> pause_points(audio, [(0.0, 2.3)]), pause_points(audio, [(0.0, 1.5)])
    ([11200, 25600], [11200])
    >>> click = gap.copy(); click[3200:3360] = 0.5  # 10 ms
    >>> pause_points(np.concatenate([tone, click, tone]), [(0.0, 1.4)])
    [11200]
    """
    if not speech:
        return []
    cuts = pause_cuts(speech)
    first, last = speech[0][0] * SAMPLE_RATE, speech[-1][1] * SAMPLE_RATE
    apart = MIN_PIECE_S * SAMPLE_RATE
    for cut in quiet_cuts(audio):
        if first < cut < last and all(abs(cut - other) >= apart for other in cuts):
            cuts.append(cut)
    return sorted(cuts)
