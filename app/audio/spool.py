"""Crash-safe spool: each recording is appended to a WAV file while the key is held.

A :class:`SpoolWriter` receives float32 frames from the audio callback (:meth:`SpoolWriter.write`
only puts a copy on a queue), and a writer thread appends them as 16-bit PCM, 16 kHz mono. At
least every ``flush_interval_s`` (default 0.5 s) the file is flushed and its RIFF/data sizes are
rewritten, so a ``kill -9`` or a power cut loses at most about a second of speech.

A spool file belongs to a live process while that process holds an exclusive ``flock`` on it
(POSIX), which the kernel releases when the process dies however it dies. :meth:`Spool.leftovers`
lists only the files nobody holds: the recordings of a crashed process. :func:`read_spool` reads
such a file even when its header is stale or the last sample is cut in half: the number of frames
comes from the file size, not from the header.

Beside each file, a small JSON *note* (``utt-….wav.json``, :meth:`SpoolWriter.note`) keeps what
else is known of the recording (the microphone, the app dictated into, when the key went down), so
a recovered recording is listed in history as the dictation would have been; :func:`read_note`
reads it back. The note goes with its recording: deleted when the file is, never needed to recover
the audio.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import re
import shutil
import struct
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import AudioError
from app.paths import ensure_dir, lock_held, pid_alive, replace_file
from app.transcribe.audiofile import SAMPLE_RATE, wav_chunks  # recorded at the rate Whisper takes

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_SAMPLE_WIDTH = 2
_HEADER_SIZE = 44
_NAME_RE = re.compile(r"^utt-(?P<stamp>\d{8}-\d{6})-p(?P<pid>\d+)-g(?P<gen>\d+)(?:-\d+)?\.wav$")
_STOP = object()


def _wav_header(data_bytes: int) -> bytes:
    """A canonical 44-byte PCM WAV header for ``data_bytes`` of 16-bit mono 16 kHz audio."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        SAMPLE_RATE,
        SAMPLE_RATE * _SAMPLE_WIDTH,
        _SAMPLE_WIDTH,
        8 * _SAMPLE_WIDTH,
        b"data",
        data_bytes,
    )


def _to_pcm16(frames: np.ndarray) -> bytes:
    """Float samples in -1..1 (any shape, first channel used) as little-endian int16 bytes."""
    mono = frames if frames.ndim == 1 else frames[:, 0]
    scaled = np.clip(mono, -1.0, 1.0) * 32767.0
    return np.rint(scaled).astype("<i2").tobytes()


class SpoolWriter:
    """Appends one utterance to a WAV file from a writer thread; see the module docstring."""

    def __init__(self, path: Path, generation: int, flush_interval_s: float = 0.5) -> None:
        """Create ``path`` (mode 0600), lock it for this process and start the writer thread."""
        self._path = path
        self.generation = generation
        self._flush_interval_s = flush_interval_s
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._data_bytes = 0
        self._flushed_bytes = 0
        self._closed = False
        self._result: Path | None = None
        self._error: str | None = None
        self._flushed = threading.Condition()
        self._notes: dict[str, Any] = {}
        self._note_lock = threading.Lock()  # a note written as the file closes is not left behind
        # Made under a name recovery does not look at, locked, then renamed: between the
        # create and the lock, a start's recovery scan took the new, unlocked file for a
        # crashed one and deleted or moved it (the dictation then went to an unlinked file).
        # The lock belongs to the open file, so it holds across the rename.
        fresh = path.with_name(f".{path.name}.new") if fcntl is not None else path
        fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:  # a new file nobody else has open: this filesystem has no locks
                log.warning("cannot lock %s (%s); its process id marks it as ours instead", path, exc)
            try:
                os.rename(fresh, path)
            except OSError:
                os.close(fd)
                fresh.unlink(missing_ok=True)
                raise
        self._file = os.fdopen(fd, "r+b", buffering=0)
        self._file.write(_wav_header(0))
        self._thread = threading.Thread(target=self._run, name=f"spool-g{generation}", daemon=True)
        self._thread.start()

    @property
    def path(self) -> Path:
        """Where the WAV file is being written."""
        return self._path

    @property
    def frames_written(self) -> int:
        """Frames written to the file so far (not counting those still queued)."""
        return self._data_bytes // _SAMPLE_WIDTH

    @property
    def error(self) -> str | None:
        """The write error that stopped the writer (disk full...), if any."""
        return self._error

    def write(self, frames: np.ndarray) -> None:
        """Queue a copy of ``frames`` (float32, 16 kHz) for writing; never blocks."""
        if not self._closed:
            self._queue.put(np.array(frames, dtype=np.float32, copy=True))

    def note(self, **fields: Any) -> None:
        """Keep ``fields`` (``device``, ``app``, ``key_down``..., JSON values) in the note beside the file,
        added to those noted before. Best effort: a note that cannot be written costs a
        recovered recording those details, never its audio."""
        with self._note_lock:
            if self._closed:
                return
            self._notes.update(fields)
            try:
                write_note(self._path, self._notes)
            except OSError as exc:
                log.warning("cannot write the note of %s: %s", self._path.name, exc)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is in the file with an up-to-date header."""
        marker = threading.Event()
        self._queue.put(marker)
        return marker.wait(timeout)

    def _run(self) -> None:
        last_flush = time.monotonic()
        while True:
            timeout = max(0.0, self._flush_interval_s - (time.monotonic() - last_flush))
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            if isinstance(item, np.ndarray):
                self._append(item)
            due = time.monotonic() - last_flush >= self._flush_interval_s
            if due or not isinstance(item, np.ndarray):  # timeout, flush marker or stop
                self._sync_header()
                last_flush = time.monotonic()
            if isinstance(item, threading.Event):
                item.set()
            if item is _STOP:
                return

    def _append(self, frames: np.ndarray) -> None:
        if self._error is not None:
            return
        data = _to_pcm16(frames)
        try:
            self._file.seek(_HEADER_SIZE + self._data_bytes)
            self._file.write(data)
            self._data_bytes += len(data)
        except OSError as exc:
            self._error = f"cannot write the recording spool {self._path}: {exc}"
            log.error("%s", self._error)

    def _sync_header(self) -> None:
        if self._error is not None or self._flushed_bytes == self._data_bytes:
            return
        try:
            self._file.seek(0)
            self._file.write(_wav_header(self._data_bytes))
            os.fsync(self._file.fileno())
            self._flushed_bytes = self._data_bytes
        except OSError as exc:
            self._error = f"cannot flush the recording spool {self._path}: {exc}"
            log.error("%s", self._error)

    def close(self, keep: bool, keep_dir: Path | None = None, keep_note: bool = False) -> Path | None:
        """Finish the file; delete it, or (``keep``) move it to ``keep_dir`` and return its path.

        Without ``keep_dir`` a kept file stays where it is, with its note when ``keep_note``:
        the next start's recovery then reads both. Only the first call acts; later calls
        return what the first one returned.
        """
        with self._note_lock:
            if self._closed:
                return self._result
            self._closed = True
            if not (keep_note and keep and keep_dir is None):
                with contextlib.suppress(OSError):  # (the file must still be closed below)
                    note_path(self._path).unlink(missing_ok=True)
        self._queue.put(_STOP)
        self._thread.join(timeout=10.0)
        self._file.close()  # also releases the lock
        if not keep:
            self._path.unlink(missing_ok=True)
            self._result = None
        elif keep_dir is None:
            self._result = self._path
        else:
            ensure_dir(keep_dir, private=True)
            target = keep_dir / self._path.name
            shutil.move(str(self._path), target)
            self._path = self._result = target
        return self._result


def note_path(path: Path) -> Path:
    """The note beside the spool file ``path`` (see the module docstring)."""
    return path.with_name(f"{path.name}.json")


def write_note(path: Path, notes: dict[str, Any]) -> None:
    """Write ``notes`` as the note beside spool file ``path``, whole or not at all (through a
    temporary file); OSError when it cannot be written."""
    target = note_path(path)
    fresh = target.with_name(f".{target.name}.new")
    try:
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(notes, out)
        replace_file(fresh, target)
    except OSError:
        fresh.unlink(missing_ok=True)
        raise


def read_note(path: Path) -> dict[str, Any]:
    """What the note beside spool file ``path`` says (``{}`` when it is missing or unreadable:
    the recording is recovered without those details)."""
    try:
        notes = json.loads(note_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("cannot read the note of %s: %s", path.name, exc)
        return {}
    return notes if isinstance(notes, dict) else {}


def unused_name(folder: Path, generation: int) -> Path:
    """A new recording's file in ``folder``: ``utt-<date>-<time>-p<pid>-g<generation>.wav``
    (what recovery looks for, and the kept recording's name), numbered when it exists."""
    base = f"utt-{time.strftime('%Y%m%d-%H%M%S')}-p{os.getpid()}-g{generation}"
    path = folder / f"{base}.wav"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{base}-{n}.wav"
    return path


class Spool:
    """The folder of in-progress recordings (``get_paths().spool_dir``)."""

    def __init__(self, dir: Path, flush_interval_s: float = 0.5) -> None:
        """Use ``dir`` (created on first :meth:`open`) for spool files."""
        self.dir = dir
        self.flush_interval_s = flush_interval_s

    def open(self, generation: int) -> SpoolWriter:
        """Start the spool file of utterance ``generation``; :class:`AudioError` when it cannot
        be made (the press then records without crash safety). The folder is made here too: a
        folder that could not be made (a read-only parent, a full disk) failed the press with
        "internal error", and no recording started."""
        try:
            ensure_dir(self.dir, private=True)
            return SpoolWriter(unused_name(self.dir, generation), generation, self.flush_interval_s)
        except OSError as exc:
            raise AudioError(f"cannot create the recording spool in {self.dir}: {exc}") from exc

    def leftovers(self) -> list[Path]:
        """Spool files left by a process that died (oldest first); files in use are skipped.
        A file a crash left between its creation and its first write (``.utt-….wav.new``,
        which holds no audio) is deleted."""
        if not self.dir.is_dir():
            return []
        for fresh in self.dir.glob(".utt-*.wav.new"):
            if not _in_use(fresh):
                with contextlib.suppress(OSError):
                    fresh.unlink()
        for note in self.dir.glob("utt-*.wav.json"):  # its recording was recovered or closed
            if not note.with_suffix("").exists():
                with contextlib.suppress(OSError):
                    note.unlink()
        for fresh in self.dir.glob(".utt-*.wav.json.new"):  # a note's write a crash cut short
            match = _NAME_RE.match(fresh.name[1 : -len(".json.new")])
            if match is None or not pid_alive(int(match["pid"])):
                with contextlib.suppress(OSError):
                    fresh.unlink()
        found = [p for p in self.dir.glob("utt-*.wav") if _NAME_RE.match(p.name) and not _in_use(p)]
        return _oldest_first(found)

    def noted(self) -> list[Path]:
        """The spool files nobody holds that have a note (oldest first), and nothing else
        done: :meth:`leftovers` deletes a ``.new`` file nobody holds, which, during a session,
        may be the next recording's between its creation and its lock (see SpoolWriter)."""
        if not self.dir.is_dir():
            return []
        found = []
        for note in self.dir.glob("utt-*.wav.json"):
            path = note.with_name(note.name[: -len(".json")])
            if _NAME_RE.match(path.name) and not _in_use(path):  # (a missing file is "in use")
                found.append(path)
        return _oldest_first(found)

    def discard(self, path: Path) -> None:
        """Delete a spool file and its note (after it was recovered)."""
        path.unlink(missing_ok=True)
        note_path(path).unlink(missing_ok=True)


def _oldest_first(paths: list[Path]) -> list[Path]:
    """``paths`` by the time they were last written, then by name; one gone meanwhile (a
    key tap's file closed, a recovered one discarded since it was listed) is left out."""
    dated = []
    for path in paths:
        try:
            dated.append((path.stat().st_mtime, path.name, path))
        except FileNotFoundError:
            continue
    return [path for _, _, path in sorted(dated, key=lambda item: item[:2])]


def _in_use(path: Path) -> bool:
    """Whether a live process (this one included) is still writing ``path``."""
    match = _NAME_RE.match(path.name)
    if fcntl is not None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return True  # vanished or unreadable: not ours to recover
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            # No locks on this filesystem: the file is in use while the process named in it lives.
            return lock_held(exc) or (match is not None and pid_alive(int(match["pid"])))
        finally:
            os.close(fd)  # closing drops our probe lock
        return False
    # Windows: an open file cannot be renamed; a writer keeps its file open.  # pragma: no cover
    if match and int(match["pid"]) == os.getpid():
        return True
    probe = path.with_name(path.name + ".probe")
    try:
        os.rename(path, probe)
    except OSError:
        return True
    with contextlib.suppress(OSError):
        os.rename(probe, path)
    return False


def save_wav(audio: np.ndarray, path: Path) -> Path:
    """Write ``audio`` (float32, 16 kHz mono) to ``path`` as a 16-bit WAV file (mode 0600, in a
    private folder) and return the path; a failed write leaves no file behind."""
    ensure_dir(path.parent, private=True)
    data = _to_pcm16(audio)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(_wav_header(len(data)) + data)
    except OSError:
        path.unlink(missing_ok=True)
        raise
    return path


def read_spool(path: Path) -> np.ndarray:
    """Read a spool WAV as float32 16 kHz mono, trusting the file size over a stale header."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AudioError(f"cannot read the spool file {path}: {exc}") from exc
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise AudioError(f"{path} is not a WAV file")
    data_start = None
    for chunk_id, at, _size in wav_chunks(raw):
        if chunk_id == b"fmt ":
            channels, rate, bits = struct.unpack_from("<HI", raw, at + 2) + struct.unpack_from(
                "<H", raw, at + 14
            )
            if (channels, rate, bits) != (1, SAMPLE_RATE, 16):
                raise AudioError(f"{path} is not 16-bit 16 kHz mono ({channels} ch, {rate} Hz, {bits} bit)")
        if chunk_id == b"data":
            data_start = at
            break
    if data_start is None:
        raise AudioError(f"{path} has no audio data")
    usable = (len(raw) - data_start) // _SAMPLE_WIDTH * _SAMPLE_WIDTH
    pcm = np.frombuffer(raw, dtype="<i2", count=usable // _SAMPLE_WIDTH, offset=data_start)
    return pcm.astype(np.float32) / 32768.0
