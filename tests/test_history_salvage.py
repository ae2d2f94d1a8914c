"""A damaged history database is set aside, and the entries it still gives start the new one."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.events import Outcome
from app.history.salvage import readable_rows
from app.history.store import HistoryEntry, HistoryStore


def _history_of(path: Path, n: int) -> None:
    with HistoryStore(path) as store:
        for i in range(n):
            store.add(
                HistoryEntry(Outcome.PASTED, text=f"dictation number {i} " + "word " * 30, created=1e9 + i)
            )
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def test_the_readable_entries_of_a_damaged_history_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / "a#b?c%20d"  # characters a database URI would read as its own
    folder.mkdir()
    path = folder / "history.sqlite3"
    _history_of(path, 300)
    page = 4096
    data = bytearray(path.read_bytes())
    assert len(data) >= 20 * page
    data[12 * page : 12 * page + 8] = b"\x0d\xff\xff\xff\xff\xff\xff\xff"  # one damaged leaf page
    path.write_bytes(bytes(data))

    store = HistoryStore(path)
    try:
        assert store.moved_to is not None and store.moved_to.exists()  # the damaged file, kept
        kept = store.count()
        assert 250 <= kept < 300, kept  # a page's worth lost, not the whole history
        assert store.problem is not None and f"the {kept} entries that could still be read" in store.problem
        first, last = store.list(1, offset=kept - 1)[0], store.list(1)[0]
        assert first.text.startswith("dictation number 0 ") and last.text.startswith("dictation number 299 ")
        assert first.id == 1 and last.id == 300  # the ids as they were: `history show N` still finds N
        store.add(HistoryEntry(Outcome.PASTED, text="after", created=2e9))  # and the new one goes on
        assert store.list(1)[0].id == 301
    finally:
        store.close()


def test_a_file_that_is_no_database_gives_nothing_back(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"not a database at all" * 100)
    assert readable_rows(path) == []
    store = HistoryStore(path)
    try:
        assert store.count() == 0 and store.problem is not None and "new, empty history" in store.problem
    finally:
        store.close()


def test_doctor_names_the_damaged_copy_until_it_is_deleted() -> None:
    from app.commands.doctor import _history
    from app.paths import get_paths

    path = get_paths().history_db
    assert _history().ok
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database at all" * 100)
    HistoryStore(path).close()  # said once, as it is set aside
    check = _history()
    assert not check.ok and not check.required and "a damaged copy set aside" in check.detail
    assert ".recover" in check.fix
    for aside in path.parent.glob(f"{path.name}.corrupt-*"):
        aside.unlink()
    assert _history().ok


def test_a_process_that_finds_the_history_being_read_back_waits_and_uses_the_new_one(tmp_path: Path) -> None:
    """Several processes opening one damaged history each set aside what was at its path: the
    second one the first one's new history, half read back, and the entries were stranded.
    Here this test is the first process (it holds the salvage lock while it puts a new
    history in place); `holdtype history list` must wait for it and list that history."""
    import os
    import subprocess
    import sys

    from app.paths import lock_within
    from tests.fixtures.waiting import wait_for

    home = tmp_path / "home"
    data = home / "data"
    data.mkdir(parents=True)
    path = data / "history.sqlite3"
    path.write_bytes(b"no database at all " * 400)
    good = tmp_path / "good.sqlite3"
    _history_of(good, 30)
    env = {**os.environ, "HOLDTYPE_HOME": str(home)}
    with open(path.with_name(path.name + ".salvage-lock"), "a") as lock:
        assert lock_within(lock, 5) is True
        lister = subprocess.Popen(
            [sys.executable, "-m", "app", "history", "list", "-n", "100", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lock_file = str(path.with_name(path.name + ".salvage-lock"))
        fds = Path(f"/proc/{lister.pid}/fd")

        def lister_at_the_lock() -> bool:
            try:
                return any(os.readlink(fd) == lock_file for fd in fds.iterdir())
            except OSError:  # (a descriptor closed while looked at)
                return False

        # (whether or not it has tried the lock yet, it reads the history only once it has it)
        wait_for(lister_at_the_lock, 60, "the lister to open the salvage lock")
        path.rename(path.with_name(path.name + ".corrupt-by-test"))
        good.rename(path)
    out, err = lister.communicate(timeout=60)
    assert lister.returncode == 0, err
    assert len(out.splitlines()) == 30  # the new history, not one of its own
    assert sorted(p.name for p in data.glob("*corrupt*")) == ["history.sqlite3.corrupt-by-test"]


def test_the_llm_replies_of_salvaged_entries_are_still_deleted_with_them(holdtype_home: Path) -> None:
    """The new history had the entries but not their ties to the LLM replies (``mode_replies``):
    `history delete` (and the retention's cleanup) then left the entry's words in the reply
    cache for good."""
    import time

    from app.llm.cache import CacheEntry, LLMCache
    from app.paths import get_paths
    from tests.cli import holdtype

    path = get_paths().history_db
    path.parent.mkdir(parents=True, exist_ok=True)
    _history_of(path, 300)
    keys = {entry_id: f"{entry_id:064x}" for entry_id in (1, *range(10, 301, 10))}
    with LLMCache() as cache:
        for entry_id in (1, 300):
            cache.put(CacheEntry(keys[entry_id], f"reply {entry_id}", None, "m", "clean", 5.0, time.time()))
    with HistoryStore(path) as store:
        for entry_id, key in keys.items():
            store.link_reply(entry_id, key)
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    data[12 * page : 12 * page + 8] = b"\x0d\xff\xff\xff\xff\xff\xff\xff"  # one damaged leaf page
    path.write_bytes(bytes(data))

    done = holdtype("history", "delete", "1")
    assert done.returncode == 0 and "was damaged" in done.stderr, done.stderr
    with LLMCache() as cache:
        assert keys[1] not in set(cache.keys())  # deleted with its entry
        assert keys[300] in set(cache.keys())  # its entry is still there
    with HistoryStore(path) as store:
        assert store.moved_to is None and 250 <= store.count() < 300  # (salvaged by the command)
        ties = store._conn.execute("SELECT entry_id, cache_key FROM mode_replies").fetchall()
        kept = {row[0] for row in store._conn.execute("SELECT id FROM utterances")}
    # every tie of an entry that came back (but the deleted one's), none of one that did not
    assert sorted(tuple(tie) for tie in ties) == [(i, key) for i, key in keys.items() if i in kept]
    assert set(keys) - kept - {1}  # (the damaged page held entries with replies)
    assert holdtype("history", "delete", "300").returncode == 0
    with LLMCache() as cache:
        assert keys[300] not in set(cache.keys())


def _rightmost_leaf(path: Path, table: str) -> int:
    """The page holding the largest ids of ``table`` in the database at ``path`` (followed
    from its root through each interior page's right-most child)."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        number = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    data = path.read_bytes()
    while True:
        start = (number - 1) * size + (100 if number == 1 else 0)  # (page 1 begins with the file header)
        if data[start] == 0x0D:  # a leaf page of a table
            return int(number)
        assert data[start] == 0x05, data[start]  # an interior page of a table
        number = int.from_bytes(data[start + 8 : start + 12], "big")


def _damage(path: Path, page: int) -> None:
    data = bytearray(path.read_bytes())
    size = 4096
    data[(page - 1) * size : (page - 1) * size + 8] = b"\x0d\xff\xff\xff\xff\xff\xff\xff"
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("counter", ["readable", "damaged too"])
def test_the_ids_of_entries_lost_with_a_damaged_page_are_not_given_again(
    tmp_path: Path, counter: str
) -> None:
    """A new history numbered on from the last entry read back: the newest entries, lost with
    a damaged last page, had their ids (published by `history list --json`) given to new
    dictations. The old history's counter says how far its ids went; without it, the ids
    stepped over as unreadable do."""
    path = tmp_path / "history.sqlite3"
    _history_of(path, 300)
    with HistoryStore(path) as store:
        for entry_id in (298, 299, 300):  # deleted: the counter is past every id left
            assert store.delete(entry_id)
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _damage(path, _rightmost_leaf(path, "utterances"))  # the newest entries' page
    if counter == "damaged too":
        _damage(path, _rightmost_leaf(path, "sqlite_sequence"))

    with HistoryStore(path) as store:
        assert store.moved_to is not None
        kept = store.count()
        assert 200 <= kept < 297, kept  # the newest entries are lost
        assert store.list(1)[0].id < 297
        new_id = store.add(HistoryEntry(Outcome.PASTED, text="after"))
    if counter == "readable":
        assert new_id == 301, new_id  # as the old history would have numbered it
    else:
        assert new_id > 297, new_id  # past every id the damaged history could still show
