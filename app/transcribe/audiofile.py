"""Audio files read for transcription: any format PyAV/ffmpeg decodes, as 16 kHz mono float32."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from app.errors import AudioError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # Whisper's input rate
#: Audio this much shorter than a file says it holds (or a tenth of it) is said to end early.
CUT_SHORT_S = 0.5


def load_audio(path: str | Path) -> np.ndarray:
    """Decode any audio file PyAV/ffmpeg reads into 16 kHz mono float32."""
    path = Path(path)
    try:
        if not path.exists():
            raise AudioError(f"no such file: {path}")
        if path.is_dir():
            raise AudioError(f"{path} is a folder, not an audio file")
        if path.is_file() and path.stat().st_size == 0:  # a pipe, as <(sox ...) gives, has no size
            raise AudioError(f"cannot read audio from {path}: the file is empty")
        if path.is_file():  # (not a pipe: opened and closed, its writer would lose its reader)
            with path.open("rb"):  # PyAV says less of a file it may not open
                pass
    except OSError as exc:  # a file, or a folder on its path, the user may not read
        raise AudioError(f"cannot read {path}: {exc.strerror or exc}") from None
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
        audio, said_s = _decode_with_pyav(source)
        if isinstance(source, str):  # ffmpeg measures a WAV by its size, not by its header
            said_s = _wav_header_s(source) or said_s
    except AudioError as exc:
        raise AudioError(f"cannot read audio from {name}: {exc}") from exc
    except Exception as exc:  # PyAV raises many error types for unreadable input
        raise AudioError(f"cannot read audio from {name}: {_decode_failure(exc)}") from exc
    if len(audio) == 0:  # a WAV header and nothing after it: a recording cut off at the start
        raise AudioError(f"cannot read audio from {name}: it holds no sound, only a header")
    read_s = len(audio) / SAMPLE_RATE
    if said_s is not None and read_s < said_s - max(CUT_SHORT_S, 0.1 * said_s):
        # (a copy or download cut off: the part there was transcribed, and nothing said so)
        log.warning(
            "%s ends early: %.1f s of the %.1f s it says it holds were read (a file cut short?)",
            name,
            read_s,
            said_s,
        )
    return audio


def _wav_header_s(path: str) -> float | None:
    """How long a WAV file's header says its sound is (its data chunk's size over its byte
    rate); None for any other file, or a header that does not say (a stream's 0 or ~0).

    >>> _wav_header_s("/nonexistent.wav") is None
    True
    """
    import struct

    if not Path(path).is_file():  # a pipe (<(sox ...)): read once already; opened again it waits
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    byte_rate = 0
    for chunk, at, size in wav_chunks(head):
        if chunk == b"fmt " and at + 12 <= len(head):
            byte_rate = struct.unpack_from("<I", head, at + 8)[0]
        elif chunk == b"data":
            # (0 and 0xFFFFFFFF: a header written before the length was known, as pipes do)
            return size / byte_rate if byte_rate and 0 < size < 0xFFFFFFFF else None
    return None


def wav_chunks(raw: bytes) -> Iterator[tuple[bytes, int, int]]:
    """The chunks of the RIFF/WAVE file whose first bytes are ``raw``, in order: each chunk's
    id, where its content starts in ``raw``, and the size its header gives; none when ``raw``
    is no WAV file.

    >>> [(c, at, n) for c, at, n in wav_chunks(b"RIFF\\0\\0\\0\\0WAVEdata\\4\\0\\0\\0")]
    [(b'data', 20, 4)]
    """
    import struct

    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        return
    at = 12
    while at + 8 <= len(raw):
        chunk, size = struct.unpack_from("<4sI", raw, at)
        yield chunk, at + 8, size
        at += 8 + size + (size & 1)


def _decode_with_pyav(source: str | BinaryIO) -> tuple[np.ndarray, float | None]:
    """The first audio track of ``source`` as 16 kHz mono float32, resampled by ffmpeg, and
    how long the file says it is (its header's or container's duration; None when unknown).

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
        stream = container.streams.audio[0]
        said_s = None
        if stream.duration and stream.time_base:
            said_s = float(stream.duration * stream.time_base)
        elif container.duration:
            said_s = container.duration / 1_000_000  # (AV_TIME_BASE)
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
    return _as_float(chunks), said_s


def _as_float(chunks: list[np.ndarray]) -> np.ndarray:
    """The 16-bit ``chunks`` end to end as float32 in -1..1 (``chunks`` is emptied).

    Joined straight into float32 and scaled in place: joining, converting and scaling as
    whole arrays held four copies at once (1.2 GB of memory for two hours of audio, a 458 MB
    result).

    >>> _as_float([np.array([16384, -32768], np.int16), np.array([8192], np.int16)]).tolist()
    [0.5, -1.0, 0.25]
    >>> _as_float([]).shape
    (0,)
    """
    if not chunks:
        return np.zeros(0, np.float32)
    out = np.concatenate(chunks, dtype=np.float32)
    chunks.clear()
    out /= np.float32(32768.0)
    return out


def _decode_failure(exc: Exception) -> str:
    """What went wrong decoding a file, in words: PyAV's errors carry ffmpeg's reason in
    ``strerror`` and an errno that means nothing to a user ("[Errno 1094995529] ...")."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"{reason} (is it an audio or video file?)" if "Invalid data" in reason else reason
