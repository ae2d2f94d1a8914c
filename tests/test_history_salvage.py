"""A damaged history database is set aside, and the entries it still gives start the new one."""

from __future__ import annotations

from pathlib import Path

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
