"""Recordings a crash left in the spool, transcribed into history at the next start; and
dictations history could not take as they ended, added once it can be written again.

A spool file nobody holds (:meth:`app.audio.spool.Spool.leftovers`) is a recording whose process
died. Each is read (trusting its size over its stale header), transcribed, kept as a whole WAV
file in the audio folder and added to history as ``recovered``, with what its note says (the app,
the microphone, when the key went down, the mode). One recording per background job on the
transcription worker, which gives way to a dictation made meanwhile: three minutes of leftover
audio once held a new dictation for 40 s. The mode it was dictated in then runs on the output
worker, as for ``history retry``, on the entry already in history: a model that fails or hangs
costs nothing recovered. A file that cannot be read is set aside, never deleted unless empty;
one whose recovery fails in a way nobody foresaw is tried again at the next starts, and set
aside at its third (:data:`TRIES_BEFORE_ASIDE`). One whose entry history cannot take (another
program holds it) has its entry noted beside it, and waits as a dictation does (below).

A dictation that ended while history could not take it (another program held the database) is
left in the spool with a note of its entry (``DictationKeeper``): :class:`WaitingDictations`
adds those entries as they were, in the order they were said, on the output worker: at the
start, before the next dictation's entry, and every little while meanwhile. It took a restart
before; until then "paste the last dictation again" pasted an older one.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app import events as ev
from app.audio.spool import Spool, read_note, read_spool, save_wav, write_note
from app.errors import HoldtypeError
from app.events import EngineEvent, Outcome
from app.history.store import HistoryEntry, HistoryError, HistoryStore, entry_from_dict
from app.paths import move_aside
from app.transcribe.audiofile import SAMPLE_RATE
from app.transcribe.whisper import DecodeCancelled
from app.transcribe_queue import BackgroundJob

log = logging.getLogger(__name__)

# A leftover whose recovery failed in a way nobody foresaw is tried again at this many starts
# before it is set aside: a failure of the moment (memory short, a library's bug in what the
# audio is put through) would otherwise have put every good recording aside at once.
TRIES_BEFORE_ASIDE = 3


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
    wait_s: float | None = None  # how long each write waits for another program's lock
    # Called when history could not take a recovered entry and it was noted beside its
    # recording instead, for WaitingDictations to add once history can be written.
    left_waiting: Callable[[], None] | None = None

    def start(self) -> None:
        """Say how many recordings wait, and queue the first one's recovery (a dictation's,
        whose entry waits for history, is :class:`WaitingDictations`' to add)."""
        leftovers = [path for path in self.spool.leftovers() if not _waits_for_history(path)]
        if leftovers:
            self.publish(
                ev.Notice(f"Recovering {len(leftovers)} recording(s) from an earlier session…", "recovery")
            )
            self.background(functools.partial(self._next, leftovers, [], []))

    def _next(
        self, leftovers: list[Path], recovered: list[str], failed: list[str], cancel: Callable[[], bool]
    ) -> None:
        """Recover ``leftovers[0]``, then queue the rest behind whatever jobs wait meanwhile.

        One that fails in a way nobody foresaw is said, and the others go on (it ended the
        recovery of them all, and, taken oldest first, did so again at every start); it is
        tried again at the next start, and set aside after :data:`TRIES_BEFORE_ASIDE` starts.
        A second such failure in one start is no longer one file's: the rest wait for the
        next start (``failed``: the names of this start's)."""
        path, rest = leftovers[0], leftovers[1:]
        try:
            if not self._one(path, recovered, cancel):
                rest = []  # nothing can be written now: the next start tries again
        except DecodeCancelled:
            raise  # a dictation came: this one starts over after it
        except Exception as exc:
            log.exception("recovering %s failed", path.name)
            failed.append(path.name)
            if len(failed) > 1:
                rest = []
            self._failed(path, exc)
        if rest:
            self.background(functools.partial(self._next, rest, recovered, failed))
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
        when history could not take it and its transcript could not be noted beside it."""
        notes = read_note(path)
        if isinstance(notes.get("entry"), dict):  # a dictation's: WaitingDictations adds it
            return True
        try:
            audio = read_spool(path)
        except HoldtypeError as exc:
            _set_aside(path, exc, self.publish)
            return True
        if not len(audio):  # a crash right after the header: nothing was said, nothing to keep
            self._discard(path, None)
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
            entry_id = self.history().add(entry, self.wait_s)
        except HistoryError as exc:  # locked by another program: the entry waits beside it
            kept.unlink(missing_ok=True)
            return self._leave_waiting(path, notes, entry, exc)
        self._discard(path, entry_id)
        recovered.append(f"#{entry_id}: {opening(text) or '(no speech)'}")  # the audio is kept
        if mode != "raw" and text.strip() and self.rewrite is not None:
            self.rewrite(dataclasses.replace(entry, id=entry_id), raw)  # (it tells of the result)
            return True
        seconds = len(audio) / SAMPLE_RATE
        self.publish(ev.UtteranceResult(0, entry_id, raw, text, Outcome.RECOVERED, mode, seconds, None))
        return True

    def _failed(self, path: Path, exc: Exception) -> None:
        """Say that recovering ``path`` failed unforeseen (``exc``), and count it in its note:
        tried again at the next start, set aside after :data:`TRIES_BEFORE_ASIDE` of them."""
        if not path.exists():  # (gone from the spool: in history already, or taken by another start)
            self.publish(ev.ErrorRaised(f"could not recover {path.name}: {exc}", "recovery"))
            return
        notes = read_note(path)
        tries = notes.get("failed_tries")
        tries = (tries if isinstance(tries, int) else 0) + 1
        if tries >= TRIES_BEFORE_ASIDE:
            _set_aside(path, exc, self.publish)
            return
        try:
            write_note(path, {**notes, "failed_tries": tries})
        except OSError as err:  # (counted again next time: tried again until it can be noted)
            log.warning("could not count the failed recovery of %s: %s", path.name, err)
        self.publish(
            ev.ErrorRaised(f"could not recover {path.name}: {exc}; tried again at the next start", "recovery")
        )

    def _discard(self, path: Path, entry_id: int | None) -> None:
        """Delete the recovered spool file ``path`` (in history as entry ``entry_id``; None:
        it held no audio). One that cannot be deleted (a spool folder made read-only) is said,
        and the recovery goes on: its error ended it, the others' too."""
        try:
            self.spool.discard(path)
        except OSError as exc:
            if entry_id is None or not path.exists():  # (the next start's cleanup tries again)
                log.warning("could not delete the recovered %s or its note: %s", path.name, exc)
                return
            message = (
                f"{path.name} is in history as entry {entry_id} but could not be deleted from "
                f"the spool ({exc}); unless it is deleted, the next start recovers it again"
            )
            self.publish(ev.ErrorRaised(message, "recovery"))

    def _leave_waiting(
        self, path: Path, notes: dict[str, Any], entry: HistoryEntry, exc: HistoryError
    ) -> bool:
        """Note the transcribed ``entry`` beside its recording ``path``, which history could
        not take (``exc``), so that WaitingDictations adds it as soon as history can be
        written, during this session; it waited for the next start, and was transcribed again
        then. False when the note cannot be written either (the next start tries again)."""
        waiting = dataclasses.replace(entry, audio_path=None).to_dict()
        try:
            # ("rewrite": its mode runs once it is in history, as it would have now)
            write_note(path, {**notes, "entry": waiting, "keep_audio": True, "rewrite": True})
        except OSError as err:
            message = f"could not recover {path.name}: {exc} (and could not note its transcript: {err})"
            self.publish(ev.ErrorRaised(message, "recovery"))
            return False
        message = (
            f"could not add the recovered {path.name} to history yet: {exc}; "
            "it is added once history can be written"
        )
        self.publish(ev.ErrorRaised(message, "recovery"))
        if self.left_waiting is not None:
            self.left_waiting()
        return True


@dataclass(frozen=True)
class WaitingDictations:
    """Adds the dictations waiting in ``spool`` for history (see the module docstring)."""

    spool: Spool
    audio_dir: Path  # where a recording that was to be kept is kept
    history: Callable[[], HistoryStore]
    publish: Callable[[EngineEvent], None]
    wait_s: float | None = None  # how long each write waits for another program's lock
    left_here: Collection[str] = ()  # the names of those this session left (the rest: earlier ones)
    # The names of those added whose spool file could not be deleted: not added again (each
    # retry added the same dictation once more). Filled in here; kept for the session.
    done: set[str] = dataclasses.field(default_factory=set)
    # Hand an added entry whose note asks for it (a crash's recording, transcribed while
    # history was held: its mode did not run) and Whisper's words to the entry's mode.
    rewrite: Callable[[HistoryEntry, str], None] | None = None

    def waiting(self) -> list[Path]:
        """The spool files of the dictations that wait, oldest first. Not through
        :meth:`Spool.leftovers`, whose cleanup is for the start: during a session it could
        delete the next recording's file as it was made."""
        return [
            path for path in self.spool.noted() if path.name not in self.done and _waits_for_history(path)
        ]

    def add(self, say_failure: bool = True) -> str | None:
        """Add the waiting dictations to history, in order, and say which were added; why
        history still cannot take one (it and those after it wait for the next try), said
        when ``say_failure`` (a try made every little while only logs it); None when none wait."""
        added: list[str] = []
        this_session = False
        try:
            for path in self.waiting():
                this_session = this_session or path.name in self.left_here
                try:
                    audio = read_spool(path)
                except HoldtypeError as exc:
                    _set_aside(path, exc, self.publish)
                    continue
                problem = self._one(path, audio, read_note(path), added, say_failure)
                if problem is not None:
                    return problem
            return None
        finally:
            if added:
                # (at a start they are an earlier session's; else history was held meanwhile)
                message = (
                    f"Added {len(added)} dictation(s) to history that it could not take as they ended"
                    if this_session
                    else f"Recovered {len(added)} recording(s) from an earlier session into history"
                )
                self.publish(ev.Notice(message, "recovery", said="; ".join(added)))

    def _one(
        self, path: Path, audio: np.ndarray, notes: dict[str, Any], added: list[str], say: bool
    ) -> str | None:
        """Add the entry a finished dictation's note describes (see
        ``DictationKeeper._leave_for_next_start``), as it was then, its audio kept only if it
        was to be; why history cannot take it now (the file waits), else None.

        Dated as it was said, it is marked as added now: the retention counts from here, or a
        start days later announced it and the next cleanup deleted it (see HistoryStore.prune).
        """
        kept = self.audio_dir / path.name if notes.get("keep_audio") and len(audio) else None
        try:
            if kept is not None:
                save_wav(audio, kept)
        except OSError as exc:  # a full disk: the spool file stays for the next try
            # It and those after it wait (they went in ahead of it, and the tries stopped).
            problem = f"could not keep the recording of {path.name}: {exc}"
            if say:
                self.publish(ev.ErrorRaised(problem, "recovery"))
            else:
                log.info("%s still waits for history: %s", path.name, problem)
            return problem
        entry = dataclasses.replace(
            entry_from_dict(notes["entry"]),
            id=None,
            audio_path=str(kept) if kept is not None else None,
            added=time.time(),
        )
        try:
            entry_id = self.history().add(entry, self.wait_s)
        except (HistoryError, OSError) as exc:
            if kept is not None:
                kept.unlink(missing_ok=True)
            if say:
                self.publish(ev.ErrorRaised(f"could not add {path.name} to history: {exc}", "history"))
            else:
                log.info("%s still waits for history: %s", path.name, exc)
            return str(exc)
        added.append(f"#{entry_id}: {opening(entry.text) or '(no speech)'}")
        if notes.get("rewrite") and self.rewrite is not None and entry.mode != "raw" and entry.text.strip():
            self.rewrite(dataclasses.replace(entry, id=entry_id), entry.raw or entry.text)
        reply_key = notes.get("reply_key")
        if isinstance(reply_key, str) and reply_key:  # (deleting the entry deletes its LLM reply)
            try:
                self.history().link_reply(entry_id, reply_key, self.wait_s)
            except HistoryError as exc:  # (the entry is kept; only this tie is lost)
                log.warning("entry %s is not tied to its LLM reply: %s", entry_id, exc)
        try:
            self.spool.discard(path)
        except OSError as exc:  # (a spool folder made read-only): it is in history all the same
            self.done.add(path.name)
            message = (
                f"{path.name} is in history as entry {entry_id} but could not be deleted from "
                f"the spool ({exc}); unless it is deleted, the next start adds it again"
            )
            self.publish(ev.ErrorRaised(message, "recovery"))
        return None


def _set_aside(path: Path, exc: Exception, publish: Callable[[EngineEvent], None]) -> None:
    """Get a spool file that cannot be read (or that failed in a way nobody foresaw, ``exc``)
    out of the way of the next start's recovery.

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
        publish(ev.ErrorRaised(f"could not recover {path.name}: {exc} ({err})", "recovery"))
        return
    publish(ev.ErrorRaised(f"could not recover {path.name}: {exc}; kept as {target}", "recovery"))


def _waits_for_history(path: Path) -> bool:
    """Whether spool file ``path`` is a finished dictation's, left with its entry for history."""
    return isinstance(read_note(path).get("entry"), dict)


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
