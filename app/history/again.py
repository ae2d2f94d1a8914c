"""Transcribe a history entry's kept recording again: what the settings window's "Transcribe
again" and ``holdtype history retry`` share.

A dictation that failed (the model could not load, the decode broke) keeps its recording, and
so does every dictation with ``audio.keep_audio`` on; reading it again (with a bigger model, or
after adding a term to the vocabulary) puts the new words into the same entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.errors import HoldtypeError
from app.events import Outcome
from app.history.store import HistoryEntry

#: Outcomes whose entry inserted nothing: once there are words, it is a recovered dictation.
NOTHING_INSERTED = frozenset({Outcome.FAILED, Outcome.EMPTY, Outcome.CANCELLED})


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


def new_reading(entry: HistoryEntry, raw: str, text: str, model: str) -> dict[str, Any]:
    """The fields of ``entry`` to change for its new reading (``raw``, then ``text`` after the
    vocabulary, rules and mode, by ``model``): an entry that inserted nothing is now
    ``recovered``, its old error gone; one that was pasted or typed stays so (its ``inserted``
    time says when). A reading with no words changes nothing: :class:`HoldtypeError`."""
    if not text.strip():
        raise HoldtypeError(f"no words heard in the recording of history entry {entry.id}; it is unchanged")
    fields: dict[str, Any] = {"raw": raw, "text": text, "model": model, "error": None}
    if entry.outcome in NOTHING_INSERTED:
        fields["outcome"] = Outcome.RECOVERED.value
    return fields
