"""The entries that can still be read from a damaged history database.

A damaged page costs the rows on it, not the rest: one bad page of a 300-entry history kept 286
entries readable (``sqlite3 FILE .dump``), and Holdtype used to start a new, empty history
without them. :func:`read_table` reads a damaged database's entries in order of id, stepping
over the ids a damaged page hides, so the new history can start with them, and says how far it
got: the ids of the entries lost are never given to new ones (``history list --json`` published
them).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: How many ids past a failing one are tried before giving up (a damaged page holds a few
#: dozen entries; a damaged interior page hides more).
MAX_SKIP = 5000
MAX_ID = 2**63 - 1  # SQLite's largest rowid
_ROWID = "holdtype_rowid"  # (a name no table of the history has)


@dataclass(frozen=True)
class ReadTable:
    """What :func:`read_table` got from a table of a damaged database."""

    rows: list[dict[str, Any]]  # every row SQLite could still read, by row id
    last_id: int  # the largest row id read or stepped over as unreadable (0: none)


def readable_rows(path: Path, table: str = "utterances") -> list[dict[str, Any]]:
    """Every row of ``table`` in the database at ``path`` that SQLite can still read, by row id
    (an entry's id; ``mode_replies`` has no column of its own for it); ``[]`` when none can be
    (not a database, no such table)."""
    return read_table(path, table).rows


def read_table(path: Path, table: str = "utterances") -> ReadTable:
    """The rows of ``table`` in the database at ``path`` that SQLite can still read (see
    :func:`readable_rows`), and the largest row id read or stepped over: no lost row had a
    larger one, unless the reading gave up (:data:`MAX_SKIP`) or stopped at another error."""
    try:
        # (as a URI: a "#", "?" or "%" in a folder's name is escaped)
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        log.debug("cannot open %s to read what is left: %s", path, exc)
        return ReadTable([], 0)
    rows: list[dict[str, Any]] = []
    after = 0  # the last row id read, or stepped over
    try:
        conn.row_factory = sqlite3.Row
        failures = 0
        query = f"SELECT rowid AS {_ROWID}, * FROM {table} WHERE rowid > ? ORDER BY rowid"
        while failures <= MAX_SKIP and after < MAX_ID:
            try:
                cursor = conn.execute(query, (after,))
                for row in cursor:  # row by row: the rows before a damaged page are kept
                    data = dict(row)
                    after = data.pop(_ROWID)
                    rows.append(data)
                    failures = 0
                break  # read to the end
            except sqlite3.OperationalError as exc:  # no such table, a locked file: not damage
                log.debug("cannot read %s: %s", path, exc)
                break
            except sqlite3.DatabaseError:
                after += 1  # an id on a damaged page: the next one may be on a good page
                failures += 1
    except sqlite3.Error as exc:
        log.debug("stopped reading %s: %s", path, exc)
    finally:
        conn.close()
    return ReadTable(rows, after)
