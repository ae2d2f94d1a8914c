"""Transcribe a history entry's kept recording again: what the settings window's "Transcribe
again" and ``holdtype history retry`` share.

A dictation that failed (the model could not load, the decode broke) keeps its recording, and
so does every dictation with ``audio.keep_audio`` on; reading it again (with a bigger model, or
after adding a term to the vocabulary) keeps the new words. No words are lost doing so: an
entry that has text keeps it (what went into a window, or the email a mode wrote whose paste
failed), and the new reading becomes an entry of its own.
"""

from __future__ import annotations

import time
from pathlib import Path

from app.errors import HoldtypeError
from app.events import Outcome
from app.history.store import HistoryEntry, HistoryStore


def kept_recording(entry: HistoryEntry) -> Path:
    """The recording ``entry`` kept; :class:`HoldtypeError` saying why there is none."""
    if not entry.audio_path:
        raise HoldtypeError(
            f"history entry {entry.id} kept no recording (failed and cancelled dictations keep "
            "theirs; `holdtype config set audio.keep_audio true` keeps every one)"
        )
    path = Path(entry.audio_path)
    if not path.is_file():
        raise HoldtypeError(f"the recording of history entry {entry.id} is gone: {path}")
    return path


def keep_reading(
    store: HistoryStore,
    entry: HistoryEntry,
    raw: str,
    text: str,
    model: str,
    mode: str,
    *,
    in_place: bool = False,
    wait_s: float | None = None,
    fallback_reason: str | None = None,
    llm_ms: float | None = None,
) -> int:
    """Keep the new reading of ``entry``'s recording (``raw``, then ``text`` after the
    vocabulary, rules and ``mode``, by ``model``) and return the id of the entry holding it.

    An entry with no text (a failed transcription, a cancelled or empty dictation) takes the
    words and becomes ``recovered``, its old error gone. One that has text keeps it, whatever
    its outcome: a failed paste of what a mode wrote was overwritten with the plain reading,
    and the user's only copy was gone. The reading is then a new ``recovered`` entry, newest in
    the history, of the same app and microphone (the recording stays with the first).
    ``in_place``: ``text`` is the entry's own transcript run through its mode (a recording
    recovered after a crash is kept first, then its mode runs), which takes the entry's place.
    A reading with no words changes nothing: :class:`HoldtypeError`. ``wait_s``: how long
    the write waits for another program's lock (as :meth:`HistoryStore.add`). ``fallback_reason``
    and ``llm_ms``: why the mode gave the plain reading (None: it did not) and its time, kept
    with the reading as a dictation's are."""
    assert entry.id is not None
    if not text.strip():
        raise HoldtypeError(f"no words heard in the recording of history entry {entry.id}; it is unchanged")
    if entry.text.strip() and not in_place:
        return store.add(
            HistoryEntry(
                Outcome.RECOVERED,
                text=text,
                raw=raw,
                created=time.time(),
                model=model,
                mode=mode,
                device=entry.device,
                audio_seconds=entry.audio_seconds,
                app=entry.app,
                fallback_reason=fallback_reason,
                llm_ms=llm_ms,
            ),
            wait_s,
        )
    if not store.update(
        entry.id,
        wait_s,
        raw=raw,
        text=text,
        model=model,
        mode=mode,
        error=None,
        outcome=Outcome.RECOVERED.value,
        fallback_reason=fallback_reason,
        llm_ms=llm_ms,
    ):
        raise HoldtypeError(f"entry {entry.id} was deleted while it was read again; its new words: {text}")
    return entry.id


def said_again(old: int, new: int) -> str:
    """What the user is told once entry ``old`` was read again into entry ``new``.

    >>> said_again(7, 7), said_again(7, 9)
    ('Transcribed entry 7 again', 'Transcribed entry 7 again, as entry 9 (entry 7 keeps its text)')
    """
    if new == old:
        return f"Transcribed entry {old} again"
    return f"Transcribed entry {old} again, as entry {new} (entry {old} keeps its text)"
