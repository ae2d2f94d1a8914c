"""The history of everything dictated: one SQLite row per utterance.

The database lives in the data folder (``get_paths().history_db``), uses WAL so the UI can read
while the engine writes, and is created readable by the user only (mode 0600). One connection is
shared behind a lock, so the store can be used from any thread; reads that must not wait long
(the tray's menu and the settings window read on the Qt thread) go through a
:class:`HistoryReader`, which has connections of its own.

A file that is not a database or is malformed is never silently reused or overwritten: it is
moved aside as ``history.sqlite3.corrupt-<time>``, a new database is started, and the message is
kept in :attr:`HistoryStore.problem` for the caller to show. A database that is only unusable for
now (locked by another program, read-only, a full disk) is no damage: it stays where it is and
:class:`HistoryError` says why.
"""

from __future__ import annotations

import abc
import builtins
import contextlib
import csv
import dataclasses
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from app.errors import SHOWN_TO_USER, HoldtypeError, unusable
from app.events import Outcome
from app.jsontext import json_text
from app.paths import (
    ensure_dir,
    get_paths,
    lock_within,
    move_aside,
    open_export,
    private_file,
    replace_file,
)

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS utterances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    key_down REAL,
    key_up REAL,
    text_ready REAL,
    inserted REAL,
    raw TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    error TEXT,
    audio_path TEXT,
    audio_seconds REAL,
    release_to_text_ms REAL,
    app TEXT NOT NULL DEFAULT '',
    added REAL,
    fallback_reason TEXT,
    llm_ms REAL,
    release_to_insert_ms REAL
);
CREATE INDEX IF NOT EXISTS utterances_created ON utterances(created);
"""
# Which LLM replies (their keys in the reply cache) an entry's text came from: they hold the
# same words, so deleting the entry deletes them. Made at the first link (older databases).
_REPLIES = "CREATE TABLE IF NOT EXISTS mode_replies (entry_id INTEGER NOT NULL, cache_key TEXT NOT NULL)"


class HistoryError(HoldtypeError):
    """The history database cannot be used right now (locked by another program, read-only, a
    full disk); the file itself is fine and is left alone."""


class HistoryBusy(HistoryError):
    """Another program holds the history database's lock (a database browser, a backup): it
    is free again in a moment."""


def _unusable(path: Path, exc: sqlite3.OperationalError) -> HistoryError:
    message = unusable(f"the history database {path}", exc, "close that program and try again")
    held = "locked" in str(exc) or "busy" in str(exc)
    return (HistoryBusy if held else HistoryError)(message)


@contextlib.contextmanager
def _sqlite_errors(path: Path) -> Iterator[None]:
    """SQLite's errors on the history at ``path`` raised as :class:`HistoryError`."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise _unusable(path, exc) from exc
    except sqlite3.DatabaseError as exc:  # damaged since it was opened (checked then)
        raise HistoryError(
            f"the history database {path} is damaged ({exc}); the next start of "
            "Holdtype moves it aside and starts a new one"
        ) from exc


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One utterance. Times are unix seconds (``time.time()``); ``id`` is None until stored."""

    outcome: Outcome
    text: str = ""
    raw: str = ""
    created: float = dataclasses.field(default_factory=time.time)
    key_down: float | None = None
    key_up: float | None = None
    text_ready: float | None = None
    inserted: float | None = None
    model: str = ""
    mode: str = ""
    device: str = ""
    error: str | None = None
    audio_path: str | None = None
    audio_seconds: float | None = None
    # From the key's release to the transcript (vocabulary and rules applied), before the mode:
    # the speech model's latency. The mode's time is ``llm_ms``; the whole wait, to the paste,
    # ``release_to_insert_ms``.
    release_to_text_ms: float | None = None
    # The app the dictation went into (its window class or app id, as modes.apps names it;
    # "" when it could not be told or was not asked).
    app: str = ""
    # When the entry reached history, where that was later than the dictation ended: a
    # dictation history could not take then is added once it can be written, and a recording
    # a crash left at the next start (app.recovery), maybe days later. The retention counts
    # from here, not from ``created``; None: it went in as it ended.
    added: float | None = None
    # Why the mode gave the plain transcript instead of its rewrite (the model timed out, was
    # refused...); None when it did not fall back, or no mode ran. Never the model's words.
    fallback_reason: str | None = None
    # The time the mode took (cache lookup, the model and its retries, or waiting for it until
    # it was given up); None when no mode ran.
    llm_ms: float | None = None
    # From the key's release to the text going in (pasted, typed, or the paste failing).
    release_to_insert_ms: float | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (the outcome as its string value)."""
        data = dataclasses.asdict(self)
        data["outcome"] = self.outcome.value
        return data

    def details(self) -> dict[str, Any]:
        """:meth:`to_dict` in the order of ``history show --json`` and the exports: the fields
        of a ``list --json`` row (:data:`SUMMARY_FIELDS`), then the others."""
        data = self.to_dict()
        return {**{name: data[name] for name in SUMMARY_FIELDS}, **data}


# The fields of a `history list --json` row, in their order (other tools read them: add, never
# rename); `show --json` and the exports give the same, then the entry's other fields.
SUMMARY_FIELDS = (
    "id",
    "created",
    "text",
    "raw",
    "outcome",
    "mode",
    "model",
    "device",
    "audio_seconds",
    "release_to_text_ms",
    "error",
    "app",
    "fallback_reason",
)


COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(HistoryEntry) if f.name != "id")
_UPDATABLE = frozenset(COLUMNS)
_FIELDS = frozenset(("id", *COLUMNS))


# A run of whitespace: `history list` shows each as one space (a line break, a tab), and
# searching for the words as shown ("Line two Line four") found nothing.
_SPACES = re.compile(r"\s+")


def _folded(text: str) -> str:
    r"""``text`` as search compares it: casefolded, without the dot above that folding leaves
    of a capital I with a dot ("İstanbul" folds to "i̇stanbul", which "istanbul" did not find),
    and each run of whitespace one space.

    >>> _folded("İSTANBUL") == _folded("istanbul") == "istanbul"
    True
    >>> _folded("Line two\n\n\tLine  four ")
    'line two line four '
    """
    return _SPACES.sub(" ", text.casefold().replace("\u0307", ""))


def _contains(haystack: str | None, needle: str) -> bool:
    """SQL ``holdtype_contains``: whether ``haystack`` holds ``needle`` (already folded by
    :func:`_folded`), ignoring case."""
    return haystack is not None and needle in _folded(haystack)


# The entries whose text or raw text holds a needle (given twice, folded by _folded).
_MATCHES = "holdtype_contains(text, ?) OR holdtype_contains(raw, ?)"


def entry_from_dict(fields: Mapping[str, Any]) -> HistoryEntry:
    """The entry whose fields (as :meth:`HistoryEntry.to_dict` gives them, or a database row)
    are ``fields``. Known fields only: a newer Holdtype may have added one (an older one then
    read the database with a TypeError on every listing); an unknown outcome reads as failed."""
    data = {key: value for key, value in fields.items() if key in _FIELDS}
    try:
        data["outcome"] = Outcome(data.get("outcome"))
    except ValueError:
        log.warning("history entry %s has unknown outcome %r", data.get("id"), data.get("outcome"))
        data["outcome"] = Outcome.FAILED
    return HistoryEntry(**data)


def _kept_since(audio_path: str | None, since: float) -> bool:
    """Whether the recording kept at ``audio_path`` was written at ``since`` or later."""
    if not audio_path:
        return False
    try:
        return os.stat(audio_path).st_mtime >= since
    except OSError:
        return False


def _row_to_entry(row: sqlite3.Row) -> HistoryEntry:
    return entry_from_dict({key: row[key] for key in row.keys()})  # noqa: SIM118 - sqlite3.Row is not a mapping


# Columns added since the first history schema, with their definitions: a database made
# before them gets them when it is opened.
_ADDED_COLUMNS = {
    "app": "TEXT NOT NULL DEFAULT ''",
    "added": "REAL",
    "fallback_reason": "TEXT",
    "llm_ms": "REAL",
    "release_to_insert_ms": "REAL",
}


#: How long opening the history waits for another process's write lock to add a column;
#: after that the column is added before the first write (reading needs none of them).
MIGRATE_WAIT_S = 0.5
#: How long opening a damaged history waits for another Holdtype process that is setting the
#: same database aside and reading its entries back (s); see HistoryStore._salvage.
SALVAGE_WAIT_S = 60.0


def _add_columns(conn: sqlite3.Connection, wait_s: float, restore_s: float) -> list[str]:
    """Add the columns a history database made by an older Holdtype lacks, waiting at most
    ``wait_s`` for another process's write lock (then ``restore_s`` is the connection's wait
    again); return those still missing because the lock was not given up (with ``wait_s`` as
    long as the connection's own wait, a lock is :class:`sqlite3.OperationalError`)."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(utterances)")}
    missing: list[str] = []
    conn.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
    try:
        for name, definition in _ADDED_COLUMNS.items():
            if name in have:
                continue
            if missing:  # (the lock is still held: each column would wait its turn for nothing)
                missing.append(name)
                continue
            try:
                conn.execute(f"ALTER TABLE utterances ADD COLUMN {name} {definition}")
            except sqlite3.OperationalError as exc:
                if "duplicate column" in str(exc):  # another process added it first
                    continue
                if "locked" not in str(exc) or wait_s >= restore_s:
                    raise
                log.info("history column %s is added later: %s", name, exc)
                missing.append(name)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(restore_s * 1000)}")
    return missing


ExportFormat = Literal["jsonl", "json", "csv"]


def export_format(path: Path) -> ExportFormat:
    """The export format a file's suffix asks for: ``.csv``, ``.json``, else JSON lines.

    >>> export_format(Path("said.CSV")), export_format(Path("said.json")), export_format(Path("said"))
    ('csv', 'json', 'jsonl')
    """
    suffix = path.suffix.lower()
    return "csv" if suffix == ".csv" else "json" if suffix == ".json" else "jsonl"


class _Reads(abc.ABC):
    """The reads of the history, over the connection :meth:`_connection` lends: the store's
    own, or a :class:`HistoryReader`'s of its own, which waits less for a lock."""

    path: Path

    @abc.abstractmethod
    def _connection(
        self, wait_s: float | None = None
    ) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """The connection to read with; SQLite's errors raised as :class:`HistoryError`.
        ``wait_s``: how long to wait for a lock, where the reads can be told (see the store)."""

    def get(self, entry_id: int) -> HistoryEntry | None:
        """Return entry ``entry_id``, or None."""
        with self._connection() as conn:
            row = conn.execute("SELECT * FROM utterances WHERE id = ?", (entry_id,)).fetchone()
        return _row_to_entry(row) if row else None

    def list(self, limit: int = 20, offset: int = 0) -> list[HistoryEntry]:
        """The newest entries first, from the ``offset``-th (0: the newest)."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT * FROM utterances ORDER BY created DESC, id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [_row_to_entry(r) for r in rows]

    def search(
        self, text: str, limit: int = 20, offset: int = 0
    ) -> builtins.list[HistoryEntry]:  # `list` is a method here
        """Entries whose final or raw text contains ``text``, newest first. Case is ignored for
        every letter ("ÉCOLE" finds "école", "STRASSE" finds "straße"), not only for ASCII as
        SQLite's LIKE does, and so is the kind and length of whitespace (a line break matches a
        space: see :func:`_folded`)."""
        needle = _folded(text)
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT * FROM utterances WHERE {_MATCHES} ORDER BY created DESC, id DESC LIMIT ? OFFSET ?",
                (needle, needle, limit, offset),
            ).fetchall()
        return [_row_to_entry(r) for r in rows]

    def count(self, text: str | None = None) -> int:
        """How many entries there are; with ``text``, how many :meth:`search` finds for it."""
        with self._connection() as conn:
            if text is None:
                return int(conn.execute("SELECT COUNT(*) FROM utterances").fetchone()[0])
            needle = _folded(text)
            return int(
                conn.execute(
                    f"SELECT COUNT(*) FROM utterances WHERE {_MATCHES}", (needle, needle)
                ).fetchone()[0]
            )

    def count_past(self, retention_days: float, now: float | None = None) -> int:
        """How many entries :meth:`prune` would delete now (asked before a shorter retention
        is set: the settings window says how many go)."""
        condition, params = self._past(retention_days, now)
        with self._connection() as conn:
            row = conn.execute(f"SELECT COUNT(*) FROM utterances WHERE {condition}", params).fetchone()
        return int(row[0])

    def export(self, path: Path, fmt: ExportFormat | None = None) -> int:
        """Write every entry (oldest first) to ``path`` as JSON lines, a JSON array or CSV
        (``fmt``; None: by the file's suffix, see :func:`export_format`).

        The file is mode 0600, also when it was there before with another mode (it is
        truncated and rewritten: the old mode would have opened the whole history to others).
        The history is read first: one that cannot be read now leaves a file that was there as
        it was. Returns the number of entries written. A file in Holdtype's own folders is
        refused (:func:`app.paths.check_export_target`).
        """
        fmt = fmt or export_format(path)
        entries = self._exported(fmt)
        with open_export(path) as handle:
            return _write_export(handle, entries, fmt)

    def export_to(self, handle: IO[str], fmt: ExportFormat) -> int:
        """Write every entry (oldest first) to the open text stream ``handle`` (standard
        output, for ``history export -``) as :meth:`export` writes a file; returns how many."""
        return _write_export(handle, self._exported(fmt), fmt)

    def _exported(self, fmt: ExportFormat) -> builtins.list[dict[str, Any]]:
        """Every entry (oldest first) as the exports write it (:meth:`HistoryEntry.details`),
        once ``fmt`` is known to be one of them."""
        if fmt not in ("jsonl", "json", "csv"):
            raise ValueError(f"unknown export format {fmt!r} (jsonl, json or csv)")
        with self._connection() as conn:
            rows = conn.execute("SELECT * FROM utterances ORDER BY created, id").fetchall()
        return [_row_to_entry(r).details() for r in rows]

    def _past(
        self, retention_days: float, now: float | None, wait_s: float | None = None
    ) -> tuple[str, tuple[Any, ...]]:
        """The condition (and its parameters) of the entries older than ``retention_days``;
        ``wait_s`` as in :meth:`HistoryStore.add` (the retention on the output worker read
        here with the store's 10 s wait, and the next paste waited for it)."""
        cutoff = (time.time() if now is None else now) - retention_days * 86400.0
        condition, params = "created < ?", [cutoff]
        with self._connection(wait_s) as conn:
            # (an older database whose column is not added yet (see _open): no entry was late)
            if "added" in {row[1] for row in conn.execute("PRAGMA table_info(utterances)")}:
                condition += " AND (added IS NULL OR added < ?)"
                params.append(cutoff)
            # A recording recovered after a crash is aged from its kept audio's time too: one
            # recovered before entries said when they were added has nothing else to say it.
            recovered = conn.execute(
                f"SELECT id, audio_path FROM utterances WHERE {condition} AND outcome = ?",
                (*params, Outcome.RECOVERED.value),
            ).fetchall()
        spared = [row[0] for row in recovered if _kept_since(row[1], cutoff)]
        if not spared:
            return condition, tuple(params)
        marks = ", ".join("?" for _ in spared)
        return f"{condition} AND id NOT IN ({marks})", (*params, *spared)


def _write_export(handle: IO[str], entries: list[dict[str, Any]], fmt: ExportFormat) -> int:
    """Write ``entries`` (as :meth:`_Reads.export` reads them) to ``handle`` as ``fmt``; how many."""
    # Line separators escaped as `list --json` has them: a U+2028 in a dictation, written
    # raw, ended the line for readers that split at every line break (str.splitlines).
    if fmt == "jsonl":
        for item in entries:
            handle.write(json_text(item) + "\n")
    elif fmt == "json":
        handle.write(json_text(entries, indent=1) + "\n")
    else:
        writer = csv.DictWriter(handle, fieldnames=list(HistoryEntry(Outcome.EMPTY).details()))
        writer.writeheader()
        writer.writerows(entries)
    return len(entries)


def _readable(conn: sqlite3.Connection) -> sqlite3.Connection:
    """``conn``, made ready for the reads: rows by name, the search's own comparison."""
    conn.row_factory = sqlite3.Row
    conn.create_function("holdtype_contains", 2, _contains, deterministic=True)
    return conn


#: How long a read made for the screen waits for a lock (s): the tray's Recent menu and the
#: settings window's History page read on the Qt thread, which froze for the store's whole
#: wait (10 s) while another program held the history, or while a dictation's write waited
#: for that program with the store's one connection.
GLANCE_WAIT_S = 0.5
#: How long a write made on the engine's output worker (a dictation's entry, the retention's
#: cleanup) waits for another program's lock (s): that worker pastes the next dictation only
#: after it, and with the store's 10 s wait a history held by another program pasted each
#: dictation that late. An entry it cannot take waits in the spool (app.recovery).
OUTPUT_WAIT_S = 1.0


class HistoryReader(_Reads):
    """Reads of the history at ``path`` for the UI thread (and whatever must not wait long):
    a connection of its own for each read, so a write of the store waiting for another
    program's lock does not hold it up, which gives up after ``wait_s`` with
    :class:`HistoryBusy`. Nothing is created or changed: a missing database is a
    :class:`HistoryError`, as a locked one."""

    def __init__(self, path: Path, wait_s: float = GLANCE_WAIT_S) -> None:
        """Read the history at ``path``, waiting at most ``wait_s`` for a lock."""
        self.path = path
        self.wait_s = wait_s

    @contextlib.contextmanager
    def _connection(self, wait_s: float | None = None) -> Iterator[sqlite3.Connection]:
        """A connection of this read's own, closed after it (it waits ``self.wait_s``)."""
        with _sqlite_errors(self.path):
            # mode=rw: a missing file is an error, not a new empty database (made 0644)
            uri = f"{self.path.resolve().as_uri()}?mode=rw"
            conn = _readable(sqlite3.connect(uri, uri=True, timeout=self.wait_s, check_same_thread=False))
            try:
                conn.execute("PRAGMA query_only = ON")
                yield conn
            finally:
                conn.close()


class HistoryStore(_Reads):
    """Read and write the history database at ``path`` (default: the user's data folder)."""

    def __init__(
        self, path: Path | None = None, timeout_s: float = 10.0, open_wait_s: float | None = None
    ) -> None:
        """Open (creating if needed) the database; ``timeout_s`` is how long a statement waits
        for another process's lock before :class:`HistoryError`; ``open_wait_s``, when
        shorter, how long the opening itself waits (opened where a paste waits for it)."""
        self.path = path or get_paths().history_db
        self.problem: str | None = None
        self.moved_to: Path | None = None
        self._timeout_s = timeout_s
        self._open_wait_s = timeout_s if open_wait_s is None else min(open_wait_s, timeout_s)
        self._missing: list[str] = []  # columns of a database of before them, not added yet
        self._lock = threading.RLock()
        ensure_dir(self.path.parent, private=True)  # the history's -wal and -shm files go here too
        try:
            self._conn = self._open()
        except sqlite3.OperationalError as exc:  # locked, read-only, disk full: not damage
            raise _unusable(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:  # not a database, or malformed
            self._conn = self._salvage(exc)

    def _salvage(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """Set the damaged database aside and start a new one with the entries it still gives.

        One process at a time, and out of sight until done: several Holdtype processes opening
        the same damaged file (the app starting while a command reads the history) each set
        aside what they found at the path, the second one the first one's new history, half
        read back; the entries were left in the first copy and the history came up empty, and
        a listing made meanwhile showed none. The new history is made beside the old one and
        put in its place when full; a process that waited for it opens it.
        """
        lock_path = self.path.with_name(self.path.name + ".salvage-lock")
        with open(lock_path, "a", encoding="utf-8") as handle:
            private_file(lock_path)
            lock_within(handle, SALVAGE_WAIT_S, waiting=self._say_waiting)
            try:
                return self._open()  # made by the process waited for
            except sqlite3.OperationalError as more:
                raise _unusable(self.path, more) from more
            except sqlite3.DatabaseError as more:
                exc = more
            fresh = self.path.with_name(self.path.name + ".salvaged")
            for leftover in (fresh, *(fresh.with_name(fresh.name + s) for s in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)  # (an earlier salvage cut short)
            conn = self._open(fresh)
            taken = 0
            try:
                taken = self._read_back(conn)
            except sqlite3.Error as more:  # (a full disk): the new history starts empty, as said
                log.warning("could not read back the entries of %s: %s", self.path, more)
            conn.close()  # its write-ahead log goes into the file
            self._set_aside(exc, taken)
            replace_file(fresh, self.path)
            log.warning("%s", self.problem, extra=SHOWN_TO_USER)
            return self._open()

    def _say_waiting(self) -> None:
        log.info("the history %s is damaged; waiting for another Holdtype to read it back", self.path)

    # --- opening ---------------------------------------------------------------------------
    def _open(self, path: Path | None = None) -> sqlite3.Connection:
        path = path or self.path
        private_file(path)
        conn = _readable(sqlite3.connect(path, check_same_thread=False, timeout=self._open_wait_s))
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA secure_delete=ON")  # a deleted entry's words are overwritten
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            # Even CREATE ... IF NOT EXISTS takes the write lock: under another process's
            # write, a listing waited its whole timeout and failed. So it runs only for a new
            # database, and a missing column waits for the first write (reads need none).
            made = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if not {"utterances", "utterances_created"} <= made:
                conn.executescript(_SCHEMA)
            # (it leaves the connection with the store's wait, timeout_s, from here on)
            self._missing = _add_columns(conn, min(MIGRATE_WAIT_S, self._open_wait_s), self._timeout_s)
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _set_aside(self, exc: Exception, taken: int) -> None:
        """Move the damaged database (and its -wal, -shm) aside; say so, with the ``taken``
        entries it still gave."""
        target = move_aside(self.path, "corrupt")
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.rename(target.with_name(target.name + suffix))
        self.moved_to = target
        if taken:
            self.problem = (
                f"The history database {self.path} was damaged; it was moved to {target}, and "
                f"the {taken} entries that could still be read are in a new history."
            )
        else:
            self.problem = (
                f"The history database {self.path} could not be read ({exc}); it was moved to "
                f"{target} and a new, empty history was started."
            )

    def _read_back(self, conn: sqlite3.Connection) -> int:
        """Put the entries the damaged database at ``self.path`` still gives (see
        :mod:`app.history.salvage`) into the new one, ``conn``, with the ties to the LLM
        replies their text came from; how many entries.

        Without the ties (``mode_replies``), deleting an entry (or the retention's cleanup)
        left its words in the reply cache for good. A tie whose entry did not come back is
        left out: nothing would ever delete its reply through it.

        New entries are numbered on from the old history's last id, not from the last one
        read back: the ids of the entries lost with a damaged page went to new dictations,
        and an id a script had kept from ``history list --json`` named another dictation."""
        from app.history.salvage import read_table, readable_rows

        read = read_table(self.path)
        rows = read.rows
        columns = [row[1] for row in conn.execute("PRAGMA table_info(utterances)")]
        taken: set[int] = set()
        with conn:
            self._number_on(conn, read.last_id)
            for row in rows:
                names = [name for name in columns if name in row]
                if "created" not in names or "outcome" not in names:
                    continue
                marks = ", ".join("?" for _ in names)
                conn.execute(
                    f"INSERT OR IGNORE INTO utterances ({', '.join(names)}) VALUES ({marks})",
                    [row[name] for name in names],
                )
                taken.add(row["id"])
            ties = [
                (tie["entry_id"], tie["cache_key"])
                for tie in readable_rows(self.path, "mode_replies")
                if tie.get("entry_id") in taken and tie.get("cache_key")
            ]
            if ties:
                conn.execute(_REPLIES)
                conn.executemany("INSERT INTO mode_replies (entry_id, cache_key) VALUES (?, ?)", ties)
        return len(taken)

    def _number_on(self, conn: sqlite3.Connection, last_seen: int) -> None:
        """Have the new history ``conn`` give ids after every id the damaged one at
        ``self.path`` gave: its own counter (``sqlite_sequence``) where that can be read, else
        ``last_seen``, the largest id read back or stepped over as unreadable."""
        from app.history.salvage import readable_rows

        counted = [
            row["seq"]
            for row in readable_rows(self.path, "sqlite_sequence")
            if row.get("name") == "utterances" and isinstance(row.get("seq"), int)
        ]
        last = max(counted) if counted else last_seen
        if last <= 0:
            return
        done = conn.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'utterances'", (last,)
        ).rowcount
        if not done:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('utterances', ?)", (last,))

    @contextlib.contextmanager
    def _tx(self, wait_s: float | None = None) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``wait_s`` as in :meth:`_connection`."""
        with self._connection(wait_s), self._conn:
            if self._missing:  # columns the opening could not add (see _open)
                wait = self._timeout_s if wait_s is None else wait_s
                self._missing = _add_columns(self._conn, wait, wait)
            yield self._conn

    @contextlib.contextmanager
    def _connection(self, wait_s: float | None = None) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; SQLite's errors raised as :class:`HistoryError`.
        ``wait_s``: wait at most that long, for the lock and for another program's, rather
        than the store's ``timeout_s`` (then :class:`HistoryBusy`)."""
        if wait_s is None:
            with self._lock, _sqlite_errors(self.path):
                yield self._conn
            return
        # (this thread may hold it already: re-entered, the lock is taken at once)
        deadline = time.monotonic() + wait_s
        if not self._lock.acquire(timeout=max(wait_s, 0.001)):
            # Another of Holdtype's threads is in the store (waiting for another program, or
            # not): "close that program" named one that may not exist.
            raise HistoryBusy(
                f"the history database {self.path} is busy with another of Holdtype's own tasks; "
                "try again in a moment"
            )
        try:
            with _sqlite_errors(self.path):
                # The time left, not ``wait_s`` again: a wait for the lock then for another
                # program's took twice ``wait_s``.
                left_ms = max(1, int((deadline - time.monotonic()) * 1000))
                self._conn.execute(f"PRAGMA busy_timeout = {left_ms}")
                try:
                    yield self._conn
                finally:
                    self._conn.execute(f"PRAGMA busy_timeout = {int(self._timeout_s * 1000)}")
        finally:
            self._lock.release()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------
    def add(self, entry: HistoryEntry, wait_s: float | None = None) -> int:
        """Store ``entry`` (its ``id`` is ignored) and return the new row id. ``wait_s``: how
        long to wait for another program's lock, when not the store's ``timeout_s``."""
        values = entry.to_dict()
        cols = ", ".join(COLUMNS)
        marks = ", ".join("?" for _ in COLUMNS)
        with self._tx(wait_s) as conn:
            cur = conn.execute(
                f"INSERT INTO utterances ({cols}) VALUES ({marks})", [values[c] for c in COLUMNS]
            )
            return int(cur.lastrowid or 0)

    def update(self, entry_id: int, wait_s: float | None = None, **fields: Any) -> bool:
        """Change some fields of entry ``entry_id``; returns False when there is no such entry.

        Unknown field names raise ``ValueError``; ``wait_s`` as in :meth:`add`.
        """
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"unknown history fields: {', '.join(sorted(unknown))}")
        if not fields:
            return self.get(entry_id) is not None
        values = [v.value if isinstance(v, Outcome) else v for v in fields.values()]
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._tx(wait_s) as conn:
            cur = conn.execute(f"UPDATE utterances SET {assignments} WHERE id = ?", [*values, entry_id])
            return cur.rowcount > 0

    def link_reply(self, entry_id: int, cache_key: str, wait_s: float | None = None) -> None:
        """Remember that entry ``entry_id``'s text came from the LLM reply cached under
        ``cache_key``: deleting the entry deletes that reply too (``wait_s`` as in :meth:`add`)."""
        with self._tx(wait_s) as conn:
            conn.execute(_REPLIES)
            conn.execute(
                "INSERT INTO mode_replies (entry_id, cache_key) VALUES (?, ?)", (entry_id, cache_key)
            )

    def delete(self, entry_id: int) -> bool:
        """Delete entry ``entry_id``, its kept recording and its LLM replies; returns False when
        there is no such entry."""
        return self._delete_where("id = ?", (entry_id,)) > 0

    def delete_entries(self, entry_ids: Sequence[int], wait_s: float | None = None) -> int:
        """Delete the entries ``entry_ids`` as :meth:`delete` does, in one transaction: all of
        them or, the history held (:class:`HistoryBusy`), none; returns how many there were.
        ``wait_s`` as in :meth:`add` (the settings window's Delete says "busy" soon)."""
        marks = ", ".join("?" for _ in entry_ids)
        return self._delete_where(f"id IN ({marks})", tuple(entry_ids), wait_s)

    def prune(self, retention_days: float, now: float | None = None, wait_s: float | None = None) -> int:
        """Delete entries older than ``retention_days``, and their kept recordings; returns how
        many were deleted.

        An entry added to history after its dictation ended (:attr:`HistoryEntry.added`: at
        the next start, for a dictation history could not take then or a recording a crash
        left) is aged from when it was added, not from when it was said: added at a start days
        later, with a short retention, it was announced and then deleted by the next cleanup
        before the user saw it (for a failed paste, the words were then gone for good). A
        recording recovered before entries said when they were added is aged from its
        recovery, its kept audio's time. ``wait_s`` as in :meth:`add`.
        """
        return self._delete_where(*self._past(retention_days, now, wait_s), wait_s=wait_s)

    def _delete_where(self, condition: str, params: tuple[Any, ...], wait_s: float | None = None) -> int:
        """Delete the entries matching ``condition``, the audio files they kept and the LLM
        replies their text came from (each as private as the text); returns how many entries
        were deleted."""
        replies: list[str] = []
        with self._tx(wait_s) as conn:
            kept = conn.execute(
                f"SELECT audio_path FROM utterances WHERE audio_path IS NOT NULL AND {condition}", params
            ).fetchall()
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'mode_replies'").fetchone():
                of = f"entry_id IN (SELECT id FROM utterances WHERE {condition})"
                replies = [
                    key for (key,) in conn.execute(f"SELECT cache_key FROM mode_replies WHERE {of}", params)
                ]
                conn.execute(f"DELETE FROM mode_replies WHERE {of}", params)
            deleted = conn.execute(f"DELETE FROM utterances WHERE {condition}", params).rowcount
        if replies:
            from app.llm.cache import forget_replies

            forget_replies(replies)
        for (audio,) in kept:
            try:
                Path(audio).unlink(missing_ok=True)
            except OSError as exc:  # the entry is gone; say which file is left
                log.warning("could not delete the recording %s: %s", audio, exc)
        return int(deleted)

    # --- reading ---------------------------------------------------------------------------
    def journal_mode(self) -> str:
        """The SQLite journal mode in use (``wal``)."""
        with self._connection() as conn:
            return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
