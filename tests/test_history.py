"""The SQLite history: CRUD, search, prune, export, corruption, WAL, file mode, threads."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from app.audio.spool import SAMPLE_RATE, Spool
from app.config import Settings
from app.events import EngineEvent, ErrorRaised, Outcome
from app.history.keeping import DictationKeeper
from app.history.store import (
    GLANCE_WAIT_S,
    HistoryBusy,
    HistoryEntry,
    HistoryError,
    HistoryReader,
    HistoryStore,
)
from app.paths import get_paths
from app.recovery import WaitingDictations
from tests.fixtures.waiting import wait_for


def entry(text: str, outcome: Outcome = Outcome.PASTED, **fields: object) -> HistoryEntry:
    return HistoryEntry(outcome=outcome, text=text, raw=text.lower(), model="tiny.en", mode="raw", **fields)  # type: ignore[arg-type]


@pytest.fixture
def store() -> Iterator[HistoryStore]:
    s = HistoryStore()
    yield s
    s.close()


def test_default_path_is_in_the_data_folder(store: HistoryStore) -> None:
    assert store.path == get_paths().history_db
    assert store.path.exists()
    assert store.problem is None


def test_add_get_update_delete(store: HistoryStore) -> None:
    now = time.time()
    new_id = store.add(
        entry("Hello world.", key_down=now - 2, key_up=now - 1, audio_seconds=1.0, device="default")
    )
    got = store.get(new_id)
    assert got is not None
    assert got.id == new_id
    assert (got.text, got.raw, got.outcome, got.device, got.audio_seconds) == (
        "Hello world.",
        "hello world.",
        Outcome.PASTED,
        "default",
        1.0,
    )
    assert got.key_down == pytest.approx(now - 2)
    assert store.update(new_id, outcome=Outcome.FAILED, error="xdotool missing", inserted=now)
    got = store.get(new_id)
    assert got is not None and got.outcome is Outcome.FAILED and got.error == "xdotool missing"
    assert got.inserted == pytest.approx(now)
    assert not store.update(9999, text="x")
    with pytest.raises(ValueError, match="unknown history fields: nope"):
        store.update(new_id, nope=1)
    assert store.delete(new_id)
    assert store.get(new_id) is None
    assert not store.delete(new_id)


def test_list_is_newest_first_with_limit_and_offset(store: HistoryStore) -> None:
    base = time.time() - 100
    ids = [store.add(entry(f"utterance {i}", created=base + i)) for i in range(5)]
    assert [e.id for e in store.list()] == ids[::-1]
    assert [e.id for e in store.list(limit=2)] == [ids[4], ids[3]]
    assert [e.id for e in store.list(limit=2, offset=2)] == [ids[2], ids[1]]
    assert store.count() == 5


def test_search_text_and_raw_case_insensitive(store: HistoryStore) -> None:
    a = store.add(
        HistoryEntry(outcome=Outcome.PASTED, text="Install scikit-learn", raw="install psychic learn")
    )
    b = store.add(entry("100% sure about it"))
    store.add(entry("nothing here"))
    assert [e.id for e in store.search("SCIKIT")] == [a]
    assert [e.id for e in store.search("psychic")] == [a]
    assert [e.id for e in store.search("100%")] == [b]
    assert store.search("%") == [store.get(b)]  # % is literal, not a wildcard
    assert store.search("_") == []
    # Every letter's case, not only ASCII's (SQLite's LIKE found "école" only as typed)
    c = store.add(entry("Retour à l'école, dans la straße"))
    assert [e.id for e in store.search("ÉCOLE")] == [c]
    assert [e.id for e in store.search("STRASSE")] == [c]
    d = store.add(entry("Flights to İstanbul on Friday"))  # its İ folds to i and a dot above
    assert [e.id for e in store.search("istanbul")] == [d] == [e.id for e in store.search("İSTANBUL")]


def test_prune_by_age(store: HistoryStore) -> None:
    now = time.time()
    old = store.add(entry("old", created=now - 10 * 86400))
    new = store.add(entry("new", created=now - 3600))
    assert store.prune(7, now=now) == 1
    assert store.get(old) is None and store.get(new) is not None


def test_a_recovered_recording_is_aged_from_its_recovery(store: HistoryStore, tmp_path: Path) -> None:
    """Said three days before a crash's restart, with a one-day retention: the recovered
    entry was announced, then deleted by the next cleanup before the user saw it."""
    import os

    now = time.time()
    fresh, stale = tmp_path / "fresh.wav", tmp_path / "stale.wav"
    for wav in (fresh, stale):
        wav.write_bytes(b"RIFF")
    os.utime(stale, (now - 2 * 86400, now - 2 * 86400))  # recovered two days ago
    said = now - 3 * 86400
    kept = store.add(entry("kept", created=said, outcome=Outcome.RECOVERED, audio_path=str(fresh)))
    aged = store.add(entry("aged", created=said, outcome=Outcome.RECOVERED, audio_path=str(stale)))
    plain = store.add(entry("plain", created=said, audio_path=None))
    assert store.prune(1, now=now) == 2
    assert store.get(kept) is not None and fresh.exists()
    assert store.get(aged) is None and store.get(plain) is None and not stale.exists()


def test_an_entry_added_at_a_later_start_is_aged_from_then(store: HistoryStore) -> None:
    """A dictation history could not take as it ended is added at the next start, days later:
    with a short retention the next cleanup deleted it (a failed paste's words for good)."""
    now = time.time()
    said = now - 3 * 86400
    late = store.add(entry("late", created=said, outcome=Outcome.FAILED, added=now - 3600))
    plain = store.add(entry("plain", created=said, outcome=Outcome.FAILED))
    stale = store.add(entry("stale", created=said, outcome=Outcome.PASTED, added=now - 2 * 86400))
    assert store.count_past(1, now=now) == 2
    assert store.prune(1, now=now) == 2
    assert store.get(plain) is None and store.get(stale) is None
    kept = store.get(late)
    assert (
        kept is not None and kept.created == pytest.approx(said) and kept.added == pytest.approx(now - 3600)
    )
    assert store.prune(1, now=now + 86400) == 1  # a day after it reached history


def test_deleting_an_entry_deletes_the_recording_it_kept(store: HistoryStore, tmp_path: Path) -> None:
    """A kept recording is as private as its text: `history delete` and the retention left
    the WAV files behind (only the settings window's Delete removed them)."""
    now = time.time()
    wavs = [tmp_path / f"{name}.wav" for name in ("old", "gone", "new")]
    for wav in wavs:
        wav.write_bytes(b"RIFF")
    old = store.add(entry("old", created=now - 10 * 86400, audio_path=str(wavs[0])))
    gone = store.add(entry("gone", created=now - 3600, audio_path=str(wavs[1])))
    new = store.add(entry("new", created=now - 3600, audio_path=str(wavs[2])))
    assert store.prune(7, now=now) == 1 and not wavs[0].exists()
    assert store.delete(gone) and not wavs[1].exists()
    assert store.get(new) is not None and wavs[2].exists()
    assert store.get(old) is None and not store.delete(old)


def test_deleting_several_entries_deletes_all_or_none(store: HistoryStore, tmp_path: Path) -> None:
    """The settings window deleted the entries chosen one by one: a history held by another
    program part of the way through left some deleted, and all were said deleted. (REAL hold:
    another process.)"""
    from tests.fixtures.holder import sqlite_writes_held

    wav = tmp_path / "kept.wav"
    wav.write_bytes(b"RIFF")
    ids = [store.add(entry("one", audio_path=str(wav))), store.add(entry("two"))]
    kept = store.add(entry("three"))
    with sqlite_writes_held(store.path):
        started = time.monotonic()
        with pytest.raises(HistoryBusy):
            store.delete_entries(ids, wait_s=GLANCE_WAIT_S)
        assert time.monotonic() - started < 5  # (the store's own wait is 10 s)
    assert store.count() == 3 and wav.exists()  # none of them
    assert store.delete_entries([*ids, 999]) == 2 and not wav.exists()
    assert [e.id for e in store.list()] == [kept]


def test_export_over_a_readable_file_makes_it_private(store: HistoryStore, tmp_path: Path) -> None:
    # The settings window's Export picks a name the user may have used before (a file made
    # 0644 by another program, or an older export): it held the whole history, readable by all.
    store.add(entry("what I said", created=1.0))
    out = tmp_path / "holdtype-history.csv"
    out.write_text("old\n")
    out.chmod(0o644)
    assert store.export(out, "csv") == 1
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "what I said" in out.read_text()


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_export(store: HistoryStore, tmp_path: Path, fmt: str) -> None:
    store.add(entry("first", created=1.0))
    store.add(entry("second, with comma", outcome=Outcome.CANCELLED, created=2.0))
    out = tmp_path / f"history.{fmt}"
    assert store.export(out, fmt) == 2  # type: ignore[arg-type]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    elif fmt == "json":
        rows = json.loads(out.read_text())
    else:
        rows = list(csv.DictReader(out.open()))
    assert [r["text"] for r in rows] == ["first", "second, with comma"]
    assert rows[1]["outcome"] == "cancelled"


def test_wal_and_private_file_mode(store: HistoryStore) -> None:
    store.add(entry("secret words"))
    assert store.journal_mode() == "wal"
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    wal = store.path.with_name(store.path.name + "-wal")
    assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600


def test_data_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as s:
        i = s.add(entry("kept"))
    with HistoryStore(path) as s:
        got = s.get(i)
        assert got is not None and got.text == "kept"


def test_a_column_of_a_newer_version_is_left_alone(tmp_path: Path) -> None:
    # A newer Holdtype that adds a column to the history: this one's every listing failed
    # with "unexpected keyword argument" (a traceback from `holdtype history list`).
    import sqlite3

    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as s:
        s.add(entry("before"))
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE utterances ADD COLUMN language TEXT")
    with HistoryStore(path) as s:
        s.add(entry("after"))
        assert [e.text for e in s.list()] == ["after", "before"]


#: The first history table's columns; later Holdtypes added others (see HistoryStore).
_FIRST_COLUMNS = (
    "id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, "
    "key_down REAL, key_up REAL, text_ready REAL, inserted REAL, raw TEXT NOT NULL DEFAULT '', "
    "text TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '', mode TEXT NOT NULL DEFAULT '', "
    "device TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL, error TEXT, audio_path TEXT, "
    "audio_seconds REAL, release_to_text_ms REAL"
)


def _old_history(path: Path, more_columns: str = "", app: str | None = None) -> Path:
    """A history database at ``path`` as an older Holdtype made it (WAL; the first columns and
    ``more_columns``), with one entry, "old words" (dictated into ``app`` when given)."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"CREATE TABLE utterances ({_FIRST_COLUMNS}{more_columns})")
        conn.execute("CREATE INDEX utterances_created ON utterances(created)")
        if app is None:
            conn.execute(
                "INSERT INTO utterances (created, text, outcome) VALUES (1.0, 'old words', 'pasted')"
            )
        else:
            conn.execute(
                "INSERT INTO utterances (created, text, outcome, app) VALUES (1.0, 'old words', 'pasted', ?)",
                (app,),
            )
    conn.close()
    return path


def _first_schema(path: Path) -> Path:
    """A history database at ``path`` as the first Holdtype made it (no app column)."""
    return _old_history(path)


def test_a_history_made_before_the_app_column_gets_it_when_opened(tmp_path: Path) -> None:
    """The app each dictation went into is a column added later: a database of before it is
    read as it was, and takes the app of new entries."""

    path = _first_schema(tmp_path / "h.sqlite3")
    with HistoryStore(path) as s:
        s.add(HistoryEntry(Outcome.PASTED, text="new words", app="thunderbird"))
        assert [(e.text, e.app) for e in s.list()] == [("new words", "thunderbird"), ("old words", "")]
    with HistoryStore(path) as s:  # opened again: nothing to add, nothing lost
        assert s.count() == 2


def _before_fallback_reason(path: Path) -> Path:
    """A history database at ``path`` as Holdtype made it before it kept the mode's fallback
    reason and times (the app and added columns, no others), its entry dictated into xterm."""
    return _old_history(path, ", app TEXT NOT NULL DEFAULT '', added REAL", app="xterm")


@pytest.mark.parametrize("made", [_first_schema, _before_fallback_reason])
def test_a_history_of_before_the_fallback_reason_keeps_its_entries_and_takes_new_ones(
    tmp_path: Path, made: Callable[[Path], Path]
) -> None:
    """The mode's fallback reason, its time and the release-to-paste time are columns added
    later: a database made before them is read as it was and takes them for new entries."""
    import sqlite3

    path = made(tmp_path / "h.sqlite3")
    with HistoryStore(path) as s:
        s.add(
            HistoryEntry(
                Outcome.PASTED,
                text="new words",
                raw="new words",
                fallback_reason="no reply from hung within 2 s (llm.timeout_s)",
                llm_ms=2001.5,
                release_to_insert_ms=2300.0,
            )
        )
        new, old = s.list()
    assert (new.fallback_reason, new.llm_ms, new.release_to_insert_ms) == (
        "no reply from hung within 2 s (llm.timeout_s)",
        2001.5,
        2300.0,
    )
    assert (old.text, old.fallback_reason, old.llm_ms, old.release_to_insert_ms) == (
        "old words",
        None,
        None,
        None,
    )
    with HistoryStore(path) as s:  # opened again: nothing to add, nothing lost
        assert s.count() == 2
    with sqlite3.connect(path) as conn:
        have = {row[1] for row in conn.execute("PRAGMA table_info(utterances)")}
    conn.close()
    assert {"fallback_reason", "llm_ms", "release_to_insert_ms", "app", "added"} <= have


def test_a_history_of_before_the_app_column_is_read_while_another_process_writes(tmp_path: Path) -> None:
    """Adding the column needs the write lock: while another process held it, even a listing
    waited its whole timeout and failed. It reads without the column; a write adds it first."""
    import sqlite3

    path = _first_schema(tmp_path / "h.sqlite3")
    writer = sqlite3.connect(path, isolation_level=None)  # another process's write, under way
    writer.execute("BEGIN IMMEDIATE")
    try:
        with HistoryStore(path, timeout_s=1.0) as s:
            assert [(e.text, e.app) for e in s.list()] == [("old words", "")]
            assert s.count_past(1) == 1  # (no entry says when it was added: none was late)
            with pytest.raises(HistoryError):  # the column cannot be added yet: the write waits
                s.add(HistoryEntry(Outcome.PASTED, text="new words", app="thunderbird"))
            writer.execute("COMMIT")
            s.add(HistoryEntry(Outcome.PASTED, text="new words", app="thunderbird"))
            assert [(e.text, e.app) for e in s.list()] == [("new words", "thunderbird"), ("old words", "")]
        writer.execute("BEGIN IMMEDIATE")  # the schema as it is now: opening writes nothing either
        with HistoryStore(path, timeout_s=1.0) as s:
            assert s.count() == 2
        writer.execute("COMMIT")
    finally:
        writer.close()
    with sqlite3.connect(path) as conn:
        assert {"app", "added"} <= {row[1] for row in conn.execute("PRAGMA table_info(utterances)")}
    conn.close()


def test_not_a_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not sqlite at all, just text " * 100)
    with HistoryStore(path) as s:
        assert s.problem is not None and "moved to" in s.problem
        assert s.moved_to is not None and s.moved_to.name.startswith("history.sqlite3.corrupt-")
        assert s.moved_to.read_bytes().startswith(b"this is not sqlite")
        assert s.count() == 0
        s.add(entry("fresh start"))
    with HistoryStore(path) as s:
        assert s.problem is None and s.count() == 1


def test_malformed_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as s:
        for i in range(300):
            s.add(entry(f"utterance number {i} " * 5))
    # clobber the middle of the file (table pages), keep the header valid
    data = bytearray(path.read_bytes())
    assert len(data) > 3 * 4096
    data[4096 : len(data) - 10] = b"\xff" * (len(data) - 10 - 4096)
    path.write_bytes(bytes(data))
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)
    with HistoryStore(path) as s:
        assert s.problem is not None, "a malformed database must be detected"
        assert s.count() == 0
        assert s.moved_to is not None and s.moved_to.exists()


def test_a_locked_database_is_left_alone_not_taken_for_a_damaged_one(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as s:
        s.add(entry("said before the lock"))
    other = sqlite3.connect(path, isolation_level=None)  # another program, holding the file
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryError, match="another program holds it"):
            HistoryStore(path, timeout_s=0.2)
        assert not list(tmp_path.glob("*.corrupt-*")), "a locked history was moved aside"
    finally:
        other.execute("ROLLBACK")
        other.close()
    with HistoryStore(path) as s:
        assert s.problem is None
        assert [e.text for e in s.list()] == ["said before the lock"]


def test_a_write_while_another_program_holds_the_lock_says_so(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path, timeout_s=0.2) as s:
        kept = s.add(entry("keep me"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # a write transaction, as a database browser holds one
        try:
            with pytest.raises(HistoryError, match="another program holds it"):
                s.delete(kept)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert s.delete(kept)


def test_a_reader_is_not_held_up_by_a_write_waiting_for_another_program(tmp_path: Path) -> None:
    """The tray's Recent menu read through the store's one connection: while a dictation's
    write waited for another program's lock (10 s), the menu waited behind it, the tray frozen.
    A HistoryReader reads at once (WAL: the other program's write lock does not stop a read)."""
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path, timeout_s=3.0) as s:
        s.add(entry("said before the lock"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # a database browser in the middle of a write
        failed: list[HistoryError] = []

        def write() -> None:
            try:
                s.add(entry("waits"))
            except HistoryError as exc:
                failed.append(exc)

        def store_taken() -> bool:
            free = s._lock.acquire(blocking=False)
            if free:
                s._lock.release()
            return not free

        writing = threading.Thread(target=write)
        try:
            writing.start()
            wait_for(store_taken, timeout=5, what="the write waiting")
            started = time.monotonic()
            reader = HistoryReader(path)
            assert [e.text for e in reader.list()] == ["said before the lock"]
            assert reader.count() == 1 and reader.get(1) is not None
            assert [e.text for e in reader.search("BEFORE")] == ["said before the lock"]
            assert reader.count_past(1, now=time.time() + 3 * 86400) == 1
            assert time.monotonic() - started < 2.5  # (held up, it waited for the write's 3 s)
        finally:
            writing.join(10)
            other.execute("ROLLBACK")
            other.close()
        assert len(failed) == 1  # (the write waited its own 3 s)


def test_a_reader_gives_up_on_a_held_history_in_a_moment(tmp_path: Path) -> None:
    """Held in SQLite's EXCLUSIVE locking mode (as when Holdtype started under it), a read
    cannot be made: the reader says the history is busy after GLANCE_WAIT_S, not 10 s; it
    never writes (no database made where there is none)."""
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as s:
        s.add(entry("said before the lock"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(HistoryBusy, match="another program holds it"):
            HistoryReader(path).list()
        assert time.monotonic() - started < GLANCE_WAIT_S + 3.0  # (the store's reads waited 10 s)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [e.text for e in HistoryReader(path).list()] == ["said before the lock"]
    missing = tmp_path / "none" / "history.sqlite3"
    with pytest.raises(HistoryError):
        HistoryReader(missing).list()
    assert not missing.exists()
    with pytest.raises(HistoryError, match=r"query_only|readonly"), HistoryReader(path)._connection() as conn:
        conn.execute("DELETE FROM utterances")


@contextlib.contextmanager
def _taken_by_another_thread(store: HistoryStore, release: threading.Event) -> Iterator[None]:
    """Another of Holdtype's threads is inside ``store`` (a recovery's write waiting for
    another program, a Delete from the History page) until ``release`` is set."""
    taken = threading.Event()

    def hold() -> None:
        with store._lock:
            taken.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(10)
        yield
    finally:
        release.set()
        holder.join(30)


def test_a_prune_told_to_wait_briefly_does_not_wait_for_another_thread_in_the_store(
    store: HistoryStore,
) -> None:
    """The retention's prune on the output worker (wait_s=OUTPUT_WAIT_S) read the entries it
    deletes with no time limit: behind another thread in the store it waited as long as that
    thread (~10 s), and the next dictation's paste with it. It gives up in a moment, saying
    it is Holdtype itself that is busy, not another program to close."""
    store.add(entry("old", created=time.time() - 10 * 86400))
    release = threading.Event()
    with _taken_by_another_thread(store, release):
        threading.Timer(9.0, release.set).start()  # (before: the prune waited for this)
        started = time.monotonic()
        with pytest.raises(HistoryBusy) as raised:
            store.prune(1, wait_s=0.5)
        assert time.monotonic() - started < 5.0
    assert "Holdtype" in str(raised.value) and "close that program" not in str(raised.value), raised.value
    assert store.prune(1, wait_s=0.5) == 1


def test_a_short_wait_is_not_spent_twice_over(store: HistoryStore) -> None:
    """A write told to wait at most ``wait_s`` waited up to that for the store's lock, then
    ``wait_s`` again for another program's (SQLite's busy timeout): OUTPUT_WAIT_S's 1 s cost
    2 s. The busy timeout is what is left of the wait."""
    release = threading.Event()
    with _taken_by_another_thread(store, release):
        threading.Timer(1.0, release.set).start()
        with store._connection(2.0) as conn:
            left_ms = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    assert 0 < left_ms <= 1000, left_ms  # (it was 2000)
    with store._connection() as conn:  # (the store's own wait again after it)
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10000


def test_threads_write_while_another_reads(store: HistoryStore) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(50):
                new_id = store.add(entry(f"w{n}-{i}"))
                store.update(new_id, outcome=Outcome.TYPED)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        store.list(limit=10)
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 150
    assert {e.outcome for e in store.list(limit=200)} == {Outcome.TYPED}


def test_entry_is_frozen() -> None:
    e = entry("x")
    with pytest.raises(AttributeError):
        e.text = "y"  # type: ignore[misc]
    assert e.to_dict()["outcome"] == "pasted"


def test_words_read_again_for_an_entry_deleted_meanwhile_are_not_said_kept(store: HistoryStore) -> None:
    """The entry went (deleted in the window, pruned) while its recording was read again: the
    update found nothing, yet "Transcribed entry N again" was said and the words were lost."""
    from app.errors import HoldtypeError
    from app.history.again import keep_reading

    entry = store.get(store.add(HistoryEntry(Outcome.FAILED, error="transcription failed")))
    assert entry is not None and entry.id is not None
    store.delete(entry.id)
    with pytest.raises(HoldtypeError, match=r"was deleted while it was read again; its new words: new words"):
        keep_reading(store, entry, "new words", "new words", "tiny.en", "raw")
    assert store.count() == 0


def _left_waiting(spool: Spool, generation: int, text: str, keep_audio: bool = False, **note: object) -> Path:
    """A dictation history could not take, left in ``spool`` as DictationKeeper leaves it."""
    writer = spool.open(generation)
    writer.write(np.full(SAMPLE_RATE // 10, 0.1, np.float32))
    assert writer.flush()
    writer.note(entry=entry(text, created=time.time()).to_dict(), keep_audio=keep_audio, **note)
    writer.close(keep=True, keep_note=True)
    time.sleep(0.05)  # (told apart by when they were written)
    return writer.path


def _keeper(store: HistoryStore, tmp_path: Path, events: list[EngineEvent]) -> DictationKeeper:
    return DictationKeeper(Settings, lambda: store, tmp_path / "audio", events.append, tmp_path / "spool")


def test_a_waiting_dictation_whose_spool_file_cannot_be_deleted_is_added_once(
    store: HistoryStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a review: a spool folder that would not let the added dictation's file go raised
    out of the keeper, on the output worker in the middle of the next dictation's keep (no
    result, the state left "inserting"), and each retry added the same dictation again."""
    _left_waiting(Spool(tmp_path / "spool"), 1, "said while held")

    def refuse(self: Spool, path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Spool, "discard", refuse)
    events: list[EngineEvent] = []
    keeper = _keeper(store, tmp_path, events)
    assert keeper.add_waiting() is None
    assert keeper.add_waiting() is None  # (the retry, or the next dictation's)
    assert [e.text for e in store.list()] == ["said while held"]
    said = [e.message for e in events if isinstance(e, ErrorRaised)]
    assert len(said) == 1 and "could not be deleted from the spool" in said[0], said


def test_a_failure_adding_the_waiting_dictations_is_no_failure_of_the_dictation(
    tmp_path: Path,
) -> None:
    """Whatever goes wrong adding the dictations that wait, the keeper says why they still
    wait rather than raising into the dictation being kept; they wait for the next try."""
    _left_waiting(Spool(tmp_path / "spool"), 1, "said while held")

    def broken() -> HistoryStore:
        raise RuntimeError("a bug")

    keeper = DictationKeeper(Settings, broken, tmp_path / "audio", lambda e: None, tmp_path / "spool")
    problem = keeper.add_waiting()
    assert problem is not None and "a bug" in problem and keeper.waiting


def test_a_waiting_dictation_whose_recording_cannot_be_kept_keeps_its_place(
    store: HistoryStore, tmp_path: Path
) -> None:
    """From a review: one whose recording could not be written (a full disk; here the audio
    folder is a file) was skipped: the one said after it went in first, and the keeper was
    told none waited, so the tries stopped. It and those after it wait for the next try."""
    spool = Spool(tmp_path / "spool")
    _left_waiting(spool, 1, "said first", keep_audio=True)
    _left_waiting(spool, 2, "said second")
    (tmp_path / "audio").write_text("not a folder")
    waiting = WaitingDictations(spool, tmp_path / "audio", lambda: store, lambda e: None, 0.5)
    assert waiting.add(say_failure=False) is not None
    assert store.count() == 0 and len(waiting.waiting()) == 2
    (tmp_path / "audio").unlink()
    assert waiting.add() is None
    rows = sorted(store.list(), key=lambda e: e.id or 0)
    assert [e.text for e in rows] == ["said first", "said second"]
    assert rows[0].audio_path and Path(rows[0].audio_path).is_file()
    assert spool.leftovers() == []


def test_adding_the_waiting_dictations_leaves_a_recording_being_made_alone(
    store: HistoryStore, tmp_path: Path
) -> None:
    """From a review: the waiting dictations were found with Spool.leftovers(), whose cleanup
    deletes a ``.new`` file nobody holds: run during a session, that can be the next
    recording's between its creation and its lock. They are found from their notes."""
    spool = Spool(tmp_path / "spool")
    _left_waiting(spool, 1, "said while held")
    making = spool.dir / f".utt-20250101-000000-p{os.getpid()}-g2.wav.new"
    making.write_bytes(b"")  # (created, not locked yet)
    assert WaitingDictations(spool, tmp_path / "audio", lambda: store, lambda e: None, 0.5).add() is None
    assert [e.text for e in store.list()] == ["said while held"]
    assert making.exists()


def test_a_dictation_that_waited_for_history_is_tied_to_its_llm_reply(
    store: HistoryStore, tmp_path: Path
) -> None:
    """From a review: a dictation made in an LLM mode while the history was held was added
    later without its tie to the reply it came from, so deleting the entry left the reply,
    the dictation's words, in the LLM cache. The reply's key waits with it."""
    from app.engine_messages import Utterance

    held = True

    def history() -> HistoryStore:
        if held:
            raise HistoryBusy("the history database cannot be used (database is locked)")
        return store

    events: list[EngineEvent] = []
    keeper = DictationKeeper(Settings, history, tmp_path / "audio", events.append, tmp_path / "spool")
    writer = Spool(tmp_path / "spool").open(1)
    audio = np.full(SAMPLE_RATE // 10, 0.1, np.float32)
    writer.write(audio)
    assert writer.flush()
    utt = Utterance(1, "email", time.time(), time.monotonic(), None, writer, audio=audio)
    said = dataclasses.replace(entry("Dear Sam, the meeting moved."), mode="email")
    assert keeper.keep(utt, said, audio, reply_key="reply-1") is None  # (left in the spool)
    held = False
    assert keeper.add_waiting() is None
    [added] = store.list()
    assert added.text == said.text
    with store._connection() as conn:
        ties = [tuple(row) for row in conn.execute("SELECT entry_id, cache_key FROM mode_replies")]
    assert ties == [(added.id, "reply-1")]
