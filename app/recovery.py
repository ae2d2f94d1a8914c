"""Recordings a crash left in the spool, transcribed into history at the next start.

A spool file nobody holds (:meth:`app.audio.spool.Spool.leftovers`) is a recording whose process
died. Each is read (trusting its size over its stale header), transcribed, kept as a whole WAV
file in the audio folder and added to history as ``recovered``, with what its note says (the app,
the microphone, when the key went down, the mode). One recording per background job on the
transcription worker, which gives way to a dictation made meanwhile: three minutes of leftover
audio once held a new dictation for 40 s. The mode it was dictated in then runs on the output
worker, as for ``history retry``, on the entry already in history: a model that fails or hangs
costs nothing recovered. A file that cannot be read is set aside, never deleted unless empty.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app import events as ev
from app.audio.spool import Spool, read_note, read_spool, save_wav
from app.errors import HoldtypeError
from app.events import EngineEvent, Outcome
from app.history.store import HistoryEntry, HistoryError, HistoryStore, entry_from_dict
from app.paths import move_aside
from app.transcribe.audiofile import SAMPLE_RATE
from app.transcribe_queue import BackgroundJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpoolRecovery:
    """Recovers ``spool``'s leftovers (see the module docstring) with the engine's parts."""

    spool: Spool
    audio_dir: Path  # where recovered audio is kept
    history: Callable[[], HistoryStore]
    # The final text and Whisper's words of some audio; the callable asks whether to give way.
    transcribe: Callable[[np.ndarray, Callable[[], bool]], tuple[str, str]]
    model_name: Callable[[], str]
    publish: Callable[[EngineEvent], None]
    background: Callable[[BackgroundJob], None]  # queue a job on the transcription worker
    # Hand a recovered entry (its text the transcript) and Whisper's words to the entry's mode,
    # which rewrites the entry and says so; None: entries keep the transcript.
    rewrite: Callable[[HistoryEntry, str], None] | None = None

    def start(self) -> None:
        """Say how many recordings wait, and queue the first one's recovery."""
        leftovers = self.spool.leftovers()
        if leftovers:
            self.publish(
                ev.Notice(f"Recovering {len(leftovers)} recording(s) from an earlier session…", "recovery")
            )
            self.background(functools.partial(self._next, leftovers, []))

    def _next(self, leftovers: list[Path], recovered: list[str], cancel: Callable[[], bool]) -> None:
        """Recover ``leftovers[0]``, then queue the rest behind whatever jobs wait meanwhile."""
        path, rest = leftovers[0], leftovers[1:]
        if not self._one(path, recovered, cancel):
            rest = []  # history cannot be written now: the next start tries again
        if rest:
            self.background(functools.partial(self._next, rest, recovered))
        elif recovered:
            self.publish(
                ev.Notice(
                    f"Recovered {len(recovered)} recording(s) from an earlier session into history",
                    "recovery",
                    said="; ".join(recovered),
                )
            )

    def _one(self, path: Path, recovered: list[str], cancel: Callable[[], bool]) -> bool:
        """Transcribe one leftover spool file into history, its audio kept as a whole WAV file
        (the spool's header is as old as its last flush: players read the file short). False
        when history could not be written."""
        try:
            audio = read_spool(path)
        except HoldtypeError as exc:
            self._set_aside(path, exc)
            return True
        notes = read_note(path)
        if isinstance(notes.get("entry"), dict):  # a dictation that went in; history could not take it
            return self._finished(path, audio, notes, recovered)
        if not len(audio):  # a crash right after the header: nothing was said, nothing to keep
            self.spool.discard(path)
            log.debug("deleted the spool file %s: a header and no audio", path)
            return True
        try:
            text, raw = self.transcribe(audio, cancel)
        except HoldtypeError as exc:
            self.publish(ev.ErrorRaised(f"could not recover {path.name}: {exc}", "recovery"))
            return True
        kept = self.audio_dir / path.name
        key_down = _number(notes.get("key_down"))
        try:
            # When the recording started: the key's press as noted, else the time the file was
            # last written (as it ended: flushed at least every half second) less its length.
            created = key_down or path.stat().st_mtime - len(audio) / SAMPLE_RATE
            save_wav(audio, kept)  # recovered audio is always kept: the user may want to replay it
        except OSError as exc:  # a full disk: the spool file stays for the next start
            self.publish(ev.ErrorRaised(f"could not recover {path.name}: {exc}", "recovery"))
            return True
        # The mode it was dictated in runs once the transcript is safe in history.
        noted = notes.get("mode")
        mode = noted if isinstance(noted, str) and noted else "raw"
        entry = HistoryEntry(
            Outcome.RECOVERED,
            text=text,
            raw=raw,
            created=created,
            key_down=key_down,
            model=self.model_name(),
            mode=mode,
            device=str(notes.get("device") or ""),
            audio_path=str(kept),
            audio_seconds=len(audio) / SAMPLE_RATE,
            app=str(notes.get("app") or ""),
            added=time.time(),  # (the retention counts from now: see HistoryStore.prune)
        )
        try:
            entry_id = self.history().add(entry)
        except HistoryError as exc:  # locked by another program: try again at the next start
            kept.unlink(missing_ok=True)
            self.publish(ev.ErrorRaised(f"could not recover {path.name}: {exc}", "recovery"))
            return False
        self.spool.discard(path)
        recovered.append(f"#{entry_id}: {opening(text) or '(no speech)'}")  # the audio is kept
        if mode != "raw" and text.strip() and self.rewrite is not None:
            self.rewrite(dataclasses.replace(entry, id=entry_id), raw)  # (it tells of the result)
            return True
        seconds = len(audio) / SAMPLE_RATE
        self.publish(ev.UtteranceResult(0, entry_id, raw, text, Outcome.RECOVERED, mode, seconds, None))
        return True

    def _finished(self, path: Path, audio: np.ndarray, notes: dict[str, Any], recovered: list[str]) -> bool:
        """Add the entry a finished dictation's note describes (see
        ``DictationKeeper._leave_for_next_start``), as it was then, its audio kept only if it
        was to be; False when history still cannot take it (the file waits for the next start).

        Dated as it was said, it is marked as added now: the retention counts from here, or a
        start days later announced it and the next cleanup deleted it (see HistoryStore.prune).
        """
        kept = self.audio_dir / path.name if notes.get("keep_audio") and len(audio) else None
        try:
            if kept is not None:
                save_wav(audio, kept)
        except OSError as exc:  # a full disk: the spool file stays for the next start
            self.publish(ev.ErrorRaised(f"could not keep {path.name}: {exc}", "recovery"))
            return True  # (the others are still recovered)
        entry = dataclasses.replace(
            entry_from_dict(notes["entry"]),
            id=None,
            audio_path=str(kept) if kept is not None else None,
            added=time.time(),
        )
        try:
            entry_id = self.history().add(entry)
        except (HistoryError, OSError) as exc:
            if kept is not None:
                kept.unlink(missing_ok=True)
            self.publish(ev.ErrorRaised(f"could not add {path.name} to history: {exc}", "history"))
            return False
        self.spool.discard(path)
        recovered.append(f"#{entry_id}: {opening(entry.text) or '(no speech)'}")
        return True

    def _set_aside(self, path: Path, exc: HoldtypeError) -> None:
        """Get a spool file that cannot be read out of the way of the next start's recovery.

        An empty file (a crash before the header was written, a full disk) holds nothing and goes
        quietly; any other is renamed ``<name>.broken-<time>`` and named once, so its bytes are
        still there for the user.
        """
        try:
            if path.stat().st_size == 0:
                path.unlink()
                log.debug("deleted the empty spool file %s: nothing to recover", path)
                return
            target = move_aside(path, "broken")
        except OSError as err:  # said again at the next start, until the file can be moved
            self.publish(ev.ErrorRaised(f"could not recover {path.name}: {exc} ({err})", "recovery"))
            return
        self.publish(ev.ErrorRaised(f"could not recover {path.name}: {exc}; kept as {target}", "recovery"))


def _number(value: object) -> float | None:
    """A note's number, or None for anything else (a note is JSON: bool is not a number)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def opening(text: str, limit: int = 60) -> str:
    """The start of ``text`` for a notice: whole words up to ``limit`` characters, then "…".

    >>> opening("We should talk about the quarterly numbers before the meeting on Friday.")
    'We should talk about the quarterly numbers before the…'
    >>> opening("Short enough."), opening("x" * 70) == "x" * 60 + "…"
    ('Short enough.', True)
    """
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:") + "…"
