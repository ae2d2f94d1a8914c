"""How loud audio is, frame by frame, and where silence starts for the utterance at hand."""

from __future__ import annotations

import numpy as np

from app.transcribe.audiofile import SAMPLE_RATE

FRAME = SAMPLE_RATE // 50  # samples in 20 ms, the frame the levels are measured on


def frame_rms(audio: np.ndarray) -> np.ndarray:
    """RMS of each whole 20 ms frame of ``audio``."""
    n = len(audio) // FRAME
    frames = audio[: n * FRAME].reshape(n, FRAME).astype(np.float64)
    return np.sqrt(np.mean(frames * frames, axis=1))


def voiced(audio: np.ndarray, threshold: float) -> bool:
    """Whether any 20 ms frame of ``audio`` is louder than ``threshold`` (RMS)."""
    if len(audio) < FRAME:
        return rms(audio) >= threshold
    return bool(frame_rms(audio).max() >= threshold)


def rms(audio: np.ndarray) -> float:
    """RMS of all of ``audio`` (0.0 for none)."""
    if audio.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


class SilenceLevel:
    """The level below which a stretch of *this* utterance counts as silence.

    Microphones differ by 40 dB and more: a fixed threshold calls a quiet speaker silent and a
    hissing room voiced. The threshold sits between the utterance's noise floor (the quietest
    tenth of its 20 ms frames) and its speech level (the loudest twentieth): their geometric
    mean, at most a quarter of the speech level, so that any spoken word has frames above it.
    """

    def __init__(self, minimum: float = 1e-4) -> None:
        self.minimum = minimum
        self._frames = np.empty(0)

    def update(self, audio: np.ndarray) -> float:
        """Take in the utterance so far (it only grows); return the current threshold."""
        have = len(self._frames)
        if len(audio) // FRAME > have:
            self._frames = np.concatenate([self._frames, frame_rms(audio[have * FRAME :])])
        return self.threshold

    def _levels(self) -> tuple[float, float] | None:
        frames = self._frames[self._frames > 1e-6]  # digital silence says nothing of the room
        if len(frames) < 5:
            return None
        floor, speech = np.percentile(frames, [10, 95])
        return float(floor), float(speech)

    @property
    def threshold(self) -> float:
        """The silence threshold (RMS, full scale 1.0) for the audio seen so far."""
        levels = self._levels()
        if levels is None:
            return self.minimum
        floor, speech = levels
        if speech < 4 * floor:  # no contrast yet: all noise, or all speech
            return max(2 * floor, self.minimum)
        return max(min(float(np.sqrt(floor * speech)), 0.25 * speech), self.minimum)

    @property
    def strict(self) -> float:
        """A lower threshold, at most three times the noise floor: for decisions where taking
        soft speech for silence would lose words (anything above it counts as voiced)."""
        levels = self._levels()
        if levels is None:
            return self.minimum
        return max(min(self.threshold, 3 * levels[0]), self.minimum)
