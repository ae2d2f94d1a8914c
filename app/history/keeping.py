"""What is kept of a finished dictation (the engine's output worker): its history entry and,
when it may be wanted again, its recording. Nothing said is lost: a dictation the history
cannot take now is left, with its recording, in the spool, and added as soon as history can be
written again: before the next dictation's entry, on the engine's retry every
:data:`RETRY_WAITING_S`, or at the next start (:class:`app.recovery.WaitingDictations`)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app import events as ev
from app.events import EngineEvent, Outcome

if TYPE_CHECKING:
    from app.config import Settings
    from app.engine_messages import Utterance
    from app.history.store import HistoryEntry, HistoryStore

log = logging.getLogger(__name__)

#: How often a running app tries again to add the dictations that wait for history (s), and
#: how long each of those tries waits for another program's lock (s): a dictation's paste may
#: be queued behind it.
RETRY_WAITING_S = 10.0
RETRY_WAIT_S = 0.2


class DictationKeeper:
    """Writes finished dictations to history and keeps (or deletes) their recordings."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        history: Callable[[], HistoryStore],
        audio_dir: Path,
        publish: Callable[[EngineEvent], None],
        spool_dir: Path | None = None,
        rewrite: Callable[[HistoryEntry, str], None] | None = None,
    ) -> None:
        """``settings`` and ``history`` give those in force; kept recordings go to ``audio_dir``;
        dictations history could not take wait in ``spool_dir`` (None: none are looked for);
        ``rewrite`` runs the mode of a crash's recording added so (see WaitingDictations)."""
        self._rewrite = rewrite
        self._settings = settings
        self._history = history
        self._audio_dir = audio_dir
        self._publish = publish
        self._spool_dir = spool_dir
        # Whether dictations may wait in the spool for history: at the start some may (an
        # earlier session's), and after one was left there. Read by the engine thread.
        self._waiting = spool_dir is not None
        self._left_here: set[str] = set()  # the spool files of those this session left there
        self._done: set[str] = set()  # those added whose spool file could not be deleted

    @property
    def waiting(self) -> bool:
        """Whether dictations may wait for history (:meth:`add_waiting` adds them)."""
        return self._waiting

    def expect_waiting(self) -> None:
        """Entries were left in the spool for history by others (a crash's recording whose
        entry history could not take): the tries of :meth:`add_waiting` go on until they are
        added (output worker, as :meth:`add_waiting` is)."""
        self._waiting = self._spool_dir is not None

    def add_waiting(self, wait_s: float | None = None, say_failure: bool = False) -> str | None:
        """Add the dictations that wait in the spool for history, in the order they were said,
        waiting at most ``wait_s`` (default OUTPUT_WAIT_S) for another program's lock (output
        worker); why history cannot take them yet (said too when ``say_failure``), None when
        none wait."""
        from app.audio.spool import Spool
        from app.history.store import OUTPUT_WAIT_S
        from app.recovery import WaitingDictations

        if not self._waiting or self._spool_dir is None:
            return None
        waiting = WaitingDictations(
            Spool(self._spool_dir),
            self._audio_dir,
            self._history,
            self._publish,
            OUTPUT_WAIT_S if wait_s is None else wait_s,
            frozenset(self._left_here),
            self._done,
            self._rewrite,
        )
        try:
            problem = waiting.add(say_failure)
        except Exception as exc:
            # On the output worker, in the dictation's keep (its result, its return to idle
            # and its spool's close came after): a bug here cost all that. The dictations
            # wait on, for the next try.
            log.exception("could not add the dictations that wait for history")
            problem = f"could not add the dictations that wait for history ({exc})"
        self._waiting = problem is not None
        return problem

    def keep(
        self,
        utt: Utterance,
        entry: HistoryEntry,
        audio: np.ndarray,
        *,
        spoken: bool = True,
        reply_key: str | None = None,
    ) -> int | None:
        """Keep the dictation ``utt`` as ``entry`` says it ended, with its recording when it
        may be wanted again; return the entry's id (None: not in history, now or yet).

        History takes it when it is on, and always when it failed (the text is nowhere
        else). The recording is kept with ``audio.keep_audio``, and for an entry that failed,
        was cancelled, or came out empty (for ``history retry``). An empty or cancelled one
        not ``spoken`` (no speech heard in it: a tap of the key, silence) is no dictation:
        neither it nor its recording is kept. ``reply_key``: the LLM reply its text came from,
        noted with one left to wait for history, which ties them once it is added (the
        caller ties it to an entry added now: :meth:`link_reply`).
        """
        settings = self._settings()
        outcome = entry.outcome
        if outcome in (Outcome.EMPTY, Outcome.CANCELLED) and not spoken:
            self._keep_audio(utt, audio, keep=False)  # (its spool file goes)
            return None
        remember = settings.history.enabled or outcome == Outcome.FAILED
        keep = settings.audio.keep_audio or (
            remember  # (audio no entry names would never be deleted)
            and outcome in (Outcome.FAILED, Outcome.CANCELLED, Outcome.EMPTY)
        )
        spool = (
            utt.spool if utt.spool is not None and not utt.spool_error and utt.spool.error is None else None
        )
        # Where the recording will be kept (the spool file moved to the audio folder), named
        # in the entry as it is written: the entry goes in first, so that a dictation history
        # cannot take now is left for the next start with its recording.
        planned = str(self._audio_dir / spool.path.name) if keep and spool is not None else None
        entry = dataclasses.replace(entry, audio_path=planned)
        entry_id = None
        if remember:
            later = "it is added to history once history can be written" if spool is not None else None
            entry_id = self._remember(entry, later)
            if (
                entry_id is None
                and spool is not None
                and self._leave_for_next_start(utt, entry, keep, reply_key)
            ):
                return None
        audio_path = self._keep_audio(utt, audio, keep)
        if entry_id is not None and audio_path != planned:  # kept from memory, or not kept
            self._set_audio_path(entry_id, audio_path)
        return entry_id

    def link_reply(self, entry_id: int | None, reply_key: str | None) -> None:
        """Tie the LLM reply ``reply_key`` to history entry ``entry_id``: deleting the entry
        deletes the reply (its words are the entry's)."""
        from app.history.store import OUTPUT_WAIT_S, HistoryError

        if entry_id is None or reply_key is None:
            return
        try:
            self._history().link_reply(entry_id, reply_key, OUTPUT_WAIT_S)
        except HistoryError as exc:  # (the entry is kept; only this tie is lost)
            log.warning("entry %s is not tied to its LLM reply: %s", entry_id, exc)

    def _remember(self, entry: HistoryEntry, later: str | None = None) -> int | None:
        """Add ``entry`` to history, after the dictations that wait for it; None when the
        database cannot take it now (another program holds it, a full disk), which is said,
        with the text, rather than ending the dictation; ``later`` says what becomes of it
        then. Each write waits at most OUTPUT_WAIT_S: the next dictation's paste waits for it."""
        from app.history.store import OUTPUT_WAIT_S, HistoryError

        # (while history cannot take those, it cannot take this one either: one wait, not two)
        problem = self.add_waiting()
        if problem is None:
            try:
                return self._history().add(entry, OUTPUT_WAIT_S)
            except HistoryError as exc:
                problem = str(exc)
        then = later or "this dictation is not in history"
        self._publish(ev.ErrorRaised(f"{problem}; {then}: {entry.text!r}", "history"))
        return None

    def _set_audio_path(self, entry_id: int, audio_path: str | None) -> None:
        """Name the kept recording of entry ``entry_id`` (None: there is none), where it is not
        where the entry was told it would be."""
        from app.history.store import OUTPUT_WAIT_S, HistoryError

        try:
            self._history().update(entry_id, OUTPUT_WAIT_S, audio_path=audio_path)
        except HistoryError as exc:
            log.warning("history entry #%d does not name its recording %s: %s", entry_id, audio_path, exc)

    def _leave_for_next_start(
        self, utt: Utterance, entry: HistoryEntry, keep_audio: bool, reply_key: str | None = None
    ) -> bool:
        """Leave the recording's spool file, and a note of what became of it (``entry``, and
        the LLM reply its text came from), in the spool, where :meth:`add_waiting` (or the
        next start) adds the entry once history can be written: history could not take it
        now, and deleting the recording lost the dictation for good. False when that fails too."""
        spool = utt.spool
        assert spool is not None
        # (without the reply's key, deleting the entry later left its words in the reply cache)
        spool.note(entry=entry.to_dict(), keep_audio=keep_audio, reply_key=reply_key)
        try:
            spool.close(keep=True, keep_note=True)
        except OSError:
            log.warning("could not leave the recording for the next start", exc_info=True)
            return False
        self._waiting = self._spool_dir is not None
        self._left_here.add(spool.path.name)
        return True

    def _keep_audio(self, utt: Utterance, audio: np.ndarray, keep: bool) -> str | None:
        """Close the recording's spool file, moving it to the kept recordings when ``keep``;
        return where the kept recording is. A spool that could not be made or written (a
        full disk) holds a stub, or nothing: the recording is then written from memory,
        where it is whole."""
        from app.audio.spool import save_wav, unused_name

        spool = utt.spool
        broken = utt.spool_error or (spool.error if spool is not None else None)
        if spool is not None and broken is None:
            try:
                kept = spool.close(keep=keep, keep_dir=self._audio_dir)
            except OSError as exc:  # a full disk: the file stays in the spool, for recovery
                log.warning("could not close the recording's spool file", exc_info=True)
                message = f"could not keep the recording ({exc}); it is recovered at the next start"
                self._publish(ev.ErrorRaised(message, "spool"))
                return None
            return str(kept) if kept else None
        if broken is None:  # audio handed in (dictate_audio): the caller has it
            return None
        if spool is not None:
            self._publish(ev.ErrorRaised(f"{broken}; the recording was not crash-safe", "spool"))
            with contextlib.suppress(OSError):
                spool.close(keep=False)
        if not keep or not len(audio):
            return None
        try:
            return str(save_wav(audio, unused_name(self._audio_dir, utt.generation)))
        except OSError as exc:
            self._publish(ev.ErrorRaised(f"could not keep the recording: {exc}", "spool"))
            return None
