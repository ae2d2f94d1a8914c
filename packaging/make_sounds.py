"""Generate the short start/stop cues in ``resources/sounds/`` (16-bit mono WAV, 44.1 kHz).

Run from a checkout: ``python packaging/make_sounds.py``. Start rises, stop falls; both are
quiet (-14 dBFS peak) and under 150 ms so they never cover the first word.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "sounds"
RATE = 44_100


def tone_pair(f1: float, f2: float, each_s: float = 0.06, gap_s: float = 0.01) -> np.ndarray:
    """Two soft sine blips (``f1`` then ``f2``) with raised-cosine edges."""
    parts = []
    for freq in (f1, f2):
        t = np.arange(int(RATE * each_s)) / RATE
        blip = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t)
        ramp = int(RATE * 0.008)
        env = np.ones_like(t)
        edge = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
        env[:ramp] = edge
        env[-ramp:] = edge[::-1]
        parts.append(blip * env)
        parts.append(np.zeros(int(RATE * gap_s)))
    signal = np.concatenate(parts)
    return signal / np.max(np.abs(signal)) * 10 ** (-14 / 20)


def write_wav(path: Path, signal: np.ndarray) -> None:
    """Write ``signal`` (floats in -1..1) as 16-bit PCM."""
    data = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())


def main() -> int:
    """Write ``start.wav`` and ``stop.wav``."""
    OUT.mkdir(parents=True, exist_ok=True)
    write_wav(OUT / "start.wav", tone_pair(660.0, 880.0))
    write_wav(OUT / "stop.wav", tone_pair(880.0, 587.0))
    print(f"sounds written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
