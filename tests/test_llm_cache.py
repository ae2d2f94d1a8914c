"""The LLM reply cache: stable keys, persisted counters, listing, clearing, and real hits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.config import LLMSettings, Settings
from app.llm.cache import CacheEntry, CacheError, LLMCache, cache_key
from app.llm.runner import ModeRunner
from app.paths import get_paths

BASE = {
    "model": "m",
    "options": {"temperature": 0.0, "max_tokens": 50},
    "system": "s",
    "prompt": "p",
    "schema": None,
    "sample": 0,
}


def _entry(key: str, created: float | None = None, text: str = "reply") -> CacheEntry:
    return CacheEntry(
        key=key,
        text=text,
        parsed=None,
        model="m",
        mode="clean",
        llm_ms=12.0,
        created=time.time() if created is None else created,
    )


def test_key_is_stable_and_order_independent() -> None:
    a = cache_key(**BASE)  # type: ignore[arg-type]
    reordered = dict(BASE, options={"max_tokens": 50, "temperature": 0.0})
    assert cache_key(**reordered) == a  # type: ignore[arg-type]
    assert len(a) == 64 and int(a, 16) >= 0
    # a fixed value guards against accidental changes to the key recipe (which would orphan caches)
    assert a == cache_key("m", {"max_tokens": 50, "temperature": 0.0}, "s", "p", None, 0)


@pytest.mark.parametrize(
    "change",
    [
        {"model": "m2"},
        {"options": {"temperature": 0.5, "max_tokens": 50}},
        {"system": "s2"},
        {"prompt": "p2"},
        {"schema": {"type": "object", "properties": {}}},
        {"sample": 1},
    ],
)
def test_every_part_changes_the_key(change: dict[str, object]) -> None:
    assert cache_key(**dict(BASE, **change)) != cache_key(**BASE)  # type: ignore[arg-type]


def test_put_get_and_counters_persist_across_instances() -> None:
    with LLMCache() as store:
        assert store.get("a" * 64) is None
        store.put(_entry("a" * 64))
        got = store.get("a" * 64)
        assert got is not None and got.text == "reply"
    with LLMCache() as store:
        stats = store.stats()
        assert (stats.entries, stats.hits, stats.misses) == (1, 1, 1)
        assert stats.size_bytes > 0


def test_a_damaged_entry_is_a_miss_and_is_dropped() -> None:
    """One torn value (a disk error in one row) made its dictation fall back for good and
    `cache list` fail with an UnpicklingError."""
    import sqlite3

    with LLMCache() as store:
        store.put(_entry("a" * 64))
        store.put(_entry("b" * 64, text="kept"))
    database = sqlite3.connect(get_paths().llm_cache_dir / "cache.db")
    with database:
        database.execute("update Cache set value = substr(value, 1, 40) where key = ?", ("a" * 64,))
    database.close()
    with LLMCache() as store:
        assert [e.text for e in store.entries()] == ["kept"]  # the damaged one is left out
        assert store.get("a" * 64) is None
        store.put(_entry("a" * 64, text="asked again"))
        got = store.get("a" * 64)
        assert got is not None and got.text == "asked again"


def test_a_damaged_cache_is_set_aside_and_a_new_one_works(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "llm"
    folder.mkdir()
    (folder / "cache.db").write_bytes(b"not a database, a disk error's leftovers" * 100)
    with LLMCache(directory=folder) as store:
        assert store.problem is not None and "moved to" in store.problem
        store.put(_entry("b" * 64))
        assert store.get("b" * 64) is not None
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("llm.corrupt-")]
    assert len(aside) == 1 and (aside[0] / "cache.db").read_bytes().startswith(b"not a database")
    with LLMCache(directory=folder) as store:  # the new cache opens cleanly next time
        assert store.problem is None and store.stats().entries == 1


def test_list_show_and_prefixes() -> None:
    with LLMCache() as store:
        store.put(_entry("abcd12" + "0" * 58, created=1000.0, text="old"))
        store.put(_entry("abcd13" + "0" * 58, text="new"))
        assert [e.text for e in store.entries()] == ["new", "old"]
        assert store.show("abcd13").text == "new"
        assert store.show("ABCD12" + "0" * 58).text == "old"
        with pytest.raises(CacheError, match="matches 2"):
            store.show("abcd")
        with pytest.raises(CacheError, match="at least 4"):
            store.show("ab")
        with pytest.raises(CacheError, match="no cache entry"):
            store.show("ffff")
        assert store.stats().hits == 0  # looking around is not a hit


def test_clear_older_than_keeps_recent_entries() -> None:
    with LLMCache() as store:
        store.put(_entry("1" * 64, created=time.time() - 10 * 86400))
        store.put(_entry("2" * 64))
        assert store.clear(older_than_days=5) == 1
        assert [e.key for e in store.entries()] == ["2" * 64]
        assert store.clear() == 1
        assert store.stats().entries == 0


def test_ttl_expires_entries() -> None:
    settings = LLMSettings(cache_ttl_days=0.5 / 86400)  # half a second
    with LLMCache(settings) as store:
        store.put(_entry("3" * 64))
        deadline = time.monotonic() + 30
        while store.get("3" * 64, count=False) is not None:
            assert time.monotonic() < deadline, "entry never expired"
            time.sleep(0.05)


def test_a_ttl_set_later_expires_entries_stored_before_it() -> None:
    """Entries stored with no TTL carried no expiry: `cache_ttl_days` set afterwards left them
    served (and listed) for good, the dictation in them too."""
    with LLMCache() as store:
        store.put(_entry("4" * 64, created=time.time() - 2 * 86400))
        store.put(_entry("5" * 64))
    with LLMCache(LLMSettings(cache_ttl_days=1.0)) as store:
        assert [e.key for e in store.entries()] == ["5" * 64]
        assert store.get("4" * 64) is None and store.get("5" * 64) is not None
    with LLMCache() as store:  # dropped when read, not merely hidden
        assert store.get("4" * 64, count=False) is None


def test_stats_count_no_expired_entry() -> None:
    """`cache stats` counted the replies past the TTL that `cache list` no longer showed."""
    with LLMCache() as store:
        store.put(_entry("7" * 64, created=time.time() - 2 * 86400))
        store.put(_entry("8" * 64))
    with LLMCache(LLMSettings(cache_ttl_days=1.0)) as store:
        assert store.stats().entries == len(store.entries()) == 1


def test_stats_without_a_ttl_counts_what_keys_lists() -> None:
    """Without a TTL the replies are counted in one query (iterating the keys took seconds for
    tens of thousands): it counts what :meth:`LLMCache.keys` yields, and so what `cache list`
    shows and `cache clear` removes, whatever else diskcache holds (the hit/miss counters, keys
    of another type written to the folder by hand)."""
    with LLMCache() as store:
        for key in ("a" * 64, "b" * 64, "holdtype-stats", "HOLDTYPE-STATS:hits"):
            store.put(_entry(key))
        assert store.get("c" * 64) is None and store.get("a" * 64) is not None  # the counters exist
        for odd in (7, 2.5, b"bytes", ("a", "tuple")):  # (not written by Holdtype: not replies)
            store._cache.set(odd, "x")
        listed = sorted(store.keys())
        assert listed == ["HOLDTYPE-STATS:hits", "a" * 64, "b" * 64, "holdtype-stats"]
        assert store.stats().entries == len(listed) == len(store.entries())
        assert store.clear() == len(listed)
        assert store.stats().entries == 0


def test_a_full_cache_keeps_its_counters_and_writes_no_readable_file(holdtype_home) -> None:  # type: ignore[no-untyped-def]
    """The hit and miss counters are cache entries: a cache at its size limit evicted them with
    the oldest replies ("hits: 1" became 0). Replies over 32 KiB went to files of their own made
    with the umask, readable by other users."""
    with LLMCache(LLMSettings(cache_size_mb=1)) as store:
        store.put(_entry("6" * 64))
        assert store.get("6" * 64) is not None
        for n in range(12):
            store.put(_entry(f"{n:02d}" * 32, text=f"{n} " + "x" * 100_000))
        stats = store.stats()
        assert (stats.hits, stats.misses) == (1, 0), stats
        assert stats.entries < 13  # the limit did evict replies
    loose = [p for p in get_paths().llm_cache_dir.rglob("*") if p.is_file() and p.suffix == ".val"]
    assert loose == []


_COUNT_HITS = """
import sys, time
from app.llm.cache import LLMCache
with LLMCache() as store:
    while not (store.directory / "go").exists():
        time.sleep(0.01)
    for _ in range(int(sys.argv[1])):
        assert store.get("h" * 64) is not None
"""
_STORE = """
import sys, time
from app.llm.cache import CacheEntry, LLMCache
with LLMCache() as store:
    while not (store.directory / "go").exists():
        time.sleep(0.01)
    for n in range(int(sys.argv[1])):
        store.put(CacheEntry(key=f"{n:064x}", text="reply", parsed=None, model="m", mode="clean",
                             llm_ms=1.0, created=time.time()))
"""


def test_hits_counted_while_another_process_stores_replies_are_all_kept() -> None:
    # put() read the counters, stored its reply, and wrote the old values back: hits another
    # process counted in between were lost (2000 hits beside 2000 puts were counted as 718).
    import subprocess
    import sys

    n = 2000
    with LLMCache() as store:
        store.put(_entry("h" * 64))
        directory = store.directory
    workers = [
        subprocess.Popen([sys.executable, "-c", code, str(n)], cwd=Path(__file__).resolve().parent.parent)
        for code in (_COUNT_HITS, _STORE)
    ]
    (directory / "go").touch()
    assert [w.wait(timeout=300) for w in workers] == [0, 0]
    with LLMCache() as store:
        stats = store.stats()
    assert (stats.hits, stats.entries) == (n, n + 1), stats


def test_size_limit_comes_from_settings() -> None:
    with LLMCache(LLMSettings(cache_size_mb=3)) as store:
        assert store.stats().size_limit_bytes == 3 * 1024 * 1024


@pytest.mark.llm
def test_same_call_is_a_hit_and_sends_no_request(local_llm) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(llm=LLMSettings(model=local_llm.model_id, timeout_s=120))
    text = "so um the build is green and uh we can ship it today"
    first = ModeRunner(settings).run("clean", text)
    assert not first.cached and first.raw_reply
    sent = local_llm.requests
    second = ModeRunner(settings).run("clean", text)  # a new runner: the hit comes from disk
    assert second.cached
    assert local_llm.requests == sent
    assert (second.text, second.raw_reply, second.fallback_reason) == (
        first.text,
        first.raw_reply,
        first.fallback_reason,
    )
    with LLMCache() as store:
        stats = store.stats()
        assert (stats.entries, stats.hits, stats.misses) == (1, 1, 1)
        assert store.show(first.cache_key or "").model == local_llm.model_id


@pytest.mark.llm
def test_sample_indices_are_cached_apart(local_llm) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(llm=LLMSettings(model=local_llm.model_id, timeout_s=120))
    runner = ModeRunner(settings)
    text = "please remind me to um water the plants tomorrow"
    before = local_llm.requests
    zero = runner.run("clean", text, sample=0)
    one = runner.run("clean", text, sample=1)
    assert local_llm.requests == before + 2
    assert zero.cache_key != one.cache_key
    assert runner.run("clean", text, sample=1).cached
    assert local_llm.requests == before + 2
    with LLMCache() as store:
        assert store.stats().entries == 2


def test_cache_disabled_stores_nothing() -> None:
    settings = Settings(llm=LLMSettings(model="no-such-model", cache_enabled=False))
    runner = ModeRunner(settings)
    assert runner.cache is None
    result = runner.run("clean", "hello there")
    assert result.fallback_reason and not result.cached


@pytest.mark.llm
def test_a_cache_that_cannot_be_opened_still_asks_the_model(local_llm) -> None:  # type: ignore[no-untyped-def]
    # a file where the cache folder should be: opening the cache fails with FileExistsError
    folder = get_paths().llm_cache_dir
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("not a folder")
    settings = Settings(llm=LLMSettings(model=local_llm.model_id, timeout_s=120))
    text = "so um the tests pass and uh we can merge it"
    before = local_llm.requests
    result = ModeRunner(settings).run("clean", text)  # used to raise: nothing pasted
    assert local_llm.requests == before + 1
    assert result.model == local_llm.model_id and not result.cached and result.raw_reply
    assert result.text.strip() and (result.text == text or not result.fallback_reason)
    assert folder.read_text() == "not a folder"


@pytest.mark.llm
def test_a_cache_another_program_holds_costs_a_dictation_about_a_second(local_llm) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    settings = Settings(llm=LLMSettings(model=local_llm.model_id, timeout_s=120))
    text = "so um the tests pass and uh we can merge it"
    runner = ModeRunner(settings)
    first = runner.run("clean", text)
    assert runner.cache is not None and first.cache_key is not None
    other = sqlite3.connect(runner.cache.directory / "cache.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # a database browser, or another process mid-write
    try:
        start = time.monotonic()
        again = runner.run("clean", text)  # the hit's counter waited 60 s, then the model was asked
        assert again.cached and again.text == first.text
        assert time.monotonic() - start < 10
        before = local_llm.requests
        start = time.monotonic()
        fresh = ModeRunner(settings).run("clean", text + " today")  # opening waited 60 s first
        assert local_llm.requests == before + 1 and not fresh.cached
        assert time.monotonic() - start < first.llm_ms / 1000 + 30
    finally:
        other.execute("ROLLBACK")
        other.close()
    folder = get_paths().llm_cache_dir
    assert [p.name for p in folder.parent.iterdir()] == ["llm"]  # was moved aside as "corrupt"
    with LLMCache() as store:
        assert store.get(first.cache_key, count=False) is not None


def test_forgetting_replies_gives_up_soon_on_a_cache_another_program_holds(caplog) -> None:  # type: ignore[no-untyped-def]
    """Deleting a history entry deletes its reply; with the cache held by another program,
    diskcache's opening retried for 60 s (on the settings window's thread)."""
    import sqlite3
    import threading

    import diskcache

    from app.llm.cache import forget_replies

    with LLMCache() as store:
        store.put(_entry("7" * 64))
    holder = sqlite3.connect(get_paths().llm_cache_dir / diskcache.core.DBNAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program writing, for longer than any wait below
    try:
        done: list[int] = []
        worker = threading.Thread(target=lambda: done.append(forget_replies(["7" * 64])), daemon=True)
        worker.start()
        worker.join(20)
        assert done == [0], "forgetting waited on the held cache"
        assert "stay in the cache" in caplog.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert forget_replies(["7" * 64]) == 1
