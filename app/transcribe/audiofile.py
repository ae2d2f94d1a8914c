"""Audio files read for transcription: any format PyAV/ffmpeg decodes, as 16 kHz mono float32."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from app.errors import AudioError

SAMPLE_RATE = 16_000  # Whisper's input rate


def load_audio(path: str | Path) -> np.ndarray:
    """Decode any audio file PyAV/ffmpeg reads into 16 kHz mono float32."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"no such file: {path}")
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file")
    if path.is_file() and path.stat().st_size == 0:  # a pipe, as <(sox ...) gives, has no size
        raise AudioError(f"cannot read audio from {path}: the file is empty")
    return _decode(str(path), str(path))


def decode_bytes(data: bytes, name: str = "standard input") -> np.ndarray:
    """Decode a whole audio file held in memory (say, piped to ``holdtype transcribe -``) into
    16 kHz mono float32; ``name`` says where it came from in errors."""
    if not data:
        raise AudioError(f"cannot read audio from {name}: nothing was received")
    import io

    return _decode(io.BytesIO(data), name)


def _decode(source: str | BinaryIO, name: str) -> np.ndarray:
    try:
        audio = _decode_with_pyav(source)
    except AudioError as exc:
        raise AudioError(f"cannot read audio from {name}: {exc}") from exc
    except Exception as exc:  # PyAV raises many error types for unreadable input
        raise AudioError(f"cannot read audio from {name}: {_decode_failure(exc)}") from exc
    if len(audio) == 0:  # a WAV header and nothing after it: a recording cut off at the start
        raise AudioError(f"cannot read audio from {name}: it holds no sound, only a header")
    return audio


def _decode_with_pyav(source: str | BinaryIO) -> np.ndarray:
    """The first audio track of ``source`` as 16 kHz mono float32, resampled by ffmpeg.

    Holdtype's own, not faster-whisper's ``decode_audio``: that passes ``metadata_errors`` to
    ``av.open``, which PyAV 19 (what pip installs on Python 3.12 and later) no longer takes, so
    every file failed to open there. A packet ffmpeg cannot decode is skipped and the rest is
    read (faster-whisper meant to, but its generator ended at the first damaged frame).
    """
    import av

    try:
        container = av.open(source, mode="r", metadata_errors="ignore")  # (tags in any encoding)
    except TypeError as exc:  # PyAV 19: metadata is read without that choice
        if "metadata_errors" not in str(exc):
            raise
        container = av.open(source, mode="r")
    chunks: list[np.ndarray] = []
    with container:
        if not container.streams.audio:
            raise AudioError("it has no audio track")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        for packet in container.demux(container.streams.audio[0]):  # (the last one flushes)
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:  # a damaged packet: the rest is still read
                continue
            for frame in frames:
                try:
                    outs = resampler.resample(frame)
                except ValueError:  # "Frame does not match AudioResampler setup": the rate or
                    # channels changed (a damaged MP3 frame, files joined end to end); what came
                    # before is flushed and a resampler for the new shape takes over
                    chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
                    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                    outs = resampler.resample(frame)
                chunks.extend(out.to_ndarray().reshape(-1) for out in outs)
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))  # its tail
    if not chunks:
        return np.zeros(0, np.float32)
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def _decode_failure(exc: Exception) -> str:
    """What went wrong decoding a file, in words: PyAV's errors carry ffmpeg's reason in
    ``strerror`` and an errno that means nothing to a user ("[Errno 1094995529] ...")."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"{reason} (is it an audio or video file?)" if "Invalid data" in reason else reason
