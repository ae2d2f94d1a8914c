"""Every LLM reply, cached on disk with :mod:`diskcache`.

The key is the SHA-256 of canonical JSON (sorted keys, no spaces) of everything that decides the
reply: model id, options, system prompt, full prompt, schema and the sample index. The sample
index lets an eval draw N different samples of one prompt and still cache each of them.

Values are :class:`CacheEntry` dicts: the reply text, the parsed object (schema modes), the
model, timings, token counts and the time it was stored. The size limit and the optional TTL come
from :class:`app.config.LLMSettings`. Hit and miss counters are kept in the cache folder too, so
``holdtype cache stats`` sees what the app did.

A cache another process holds (a write in progress, a database browser) is waited for
:data:`WAIT_S`, not diskcache's 60 s: the mode runner then goes on uncached and the ``cache``
commands say so in one line. Such a cache is left alone, never taken for a damaged one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import pickle
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import diskcache

from app.config import LLMSettings
from app.errors import SHOWN_TO_USER, HoldtypeError, unusable
from app.paths import ensure_dir, get_paths, move_aside, private_file

log = logging.getLogger(__name__)

_STATS_PREFIX = "holdtype-stats:"
_HITS = _STATS_PREFIX + "hits"
_MISSES = _STATS_PREFIX + "misses"


# Replies up to this size stay in the (private) database: diskcache writes larger values to
# files of their own, made with the umask (0644 in 0755 folders: readable by other users).
IN_DATABASE_UP_TO = 64 * 1024 * 1024

# How long an operation waits for another process's lock on the cache database: a reply is
# worth less than the time it saves, and a dictation must not wait on it.
WAIT_S = 1.0


class CacheError(HoldtypeError):
    """A cache key is unknown or ambiguous."""


class CacheUnavailable(HoldtypeError):
    """The cache database cannot be used right now (another process holds it, read-only, a
    full disk); it is fine and is left alone."""


# What a cache that cannot be used right now raises (a folder that is a file, a full disk, a
# database another process holds): callers that can do without the cache, like the mode runner,
# catch these and carry on uncached.
CACHE_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    sqlite3.Error,
    diskcache.Timeout,
    CacheUnavailable,
)


def cache_key(
    model: str,
    options: dict[str, Any],
    system: str,
    prompt: str,
    schema: dict[str, Any] | None,
    sample: int,
) -> str:
    """Return the stable hex key for one LLM call."""
    payload = {
        "model": model,
        "options": options,
        "system": system,
        "prompt": prompt,
        "schema": schema,
        "sample": sample,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A stored reply."""

    key: str
    text: str
    parsed: Any
    model: str
    mode: str
    llm_ms: float
    created: float
    attempts: int = 1
    input_tokens: int | None = None
    output_tokens: int | None = None
    schema_error: str | None = None
    prompt: str = ""
    system: str = ""
    cut: bool = False  # the reply stopped at its length limit (see runner._Reply)

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data (for JSON output)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """What ``holdtype cache stats`` shows."""

    directory: str
    entries: int
    size_bytes: int
    hits: int
    misses: int
    size_limit_bytes: int
    ttl_days: float | None


class LLMCache:
    """The reply cache: a :class:`diskcache.Cache` in ``get_paths().llm_cache_dir``."""

    def __init__(self, settings: LLMSettings | None = None, directory: Path | None = None) -> None:
        """Open (creating if needed) the cache with the size limit and TTL of ``settings``;
        :class:`CacheUnavailable` when another process holds it for more than :data:`WAIT_S`."""
        self.settings = settings or LLMSettings()
        self.directory = directory or get_paths().llm_cache_dir
        self.problem: str | None = None
        ensure_dir(self.directory, private=True)
        try:
            _wait_for_writers(self.directory)
            self._cache = self._open()
        except sqlite3.OperationalError as exc:  # locked, read-only, disk full: not damage
            raise self._unavailable(exc) from exc
        except sqlite3.DatabaseError as exc:  # a damaged database: start a new cache beside it
            self._set_aside(exc)
            self._cache = self._open()

    def _open(self) -> diskcache.Cache:
        private_file(self.directory / diskcache.core.DBNAME)  # it holds what was said, as history
        return diskcache.Cache(
            str(self.directory),
            timeout=WAIT_S,
            size_limit=self.settings.cache_size_mb * 1024 * 1024,
            eviction_policy="least-recently-stored",
            disk_min_file_size=IN_DATABASE_UP_TO,
            sqlite_secure_delete=1,  # a deleted reply's words are overwritten, not left in free pages
        )

    def _unavailable(self, exc: BaseException) -> CacheUnavailable:
        what = f"the LLM reply cache {self.directory}"
        return CacheUnavailable(unusable(what, exc, "try again when it is done"))

    @contextlib.contextmanager
    def _using(self) -> Iterator[None]:
        """Turn a lock held too long (or another passing database failure) into CacheUnavailable."""
        try:
            yield
        except (sqlite3.OperationalError, diskcache.Timeout) as exc:
            raise self._unavailable(exc) from exc

    def _set_aside(self, exc: Exception) -> None:
        """Move the unreadable cache folder to ``<folder>.corrupt-<time>`` (a reply can always be
        asked for again, but the user may want to look) and keep the message in :attr:`problem`
        for the caller to show (the CLI as a "warning:" line); the log has it too."""
        target = move_aside(self.directory, SET_ASIDE_TAG)
        ensure_dir(self.directory, private=True)
        self.problem = (
            f"The LLM reply cache {self.directory} could not be read ({exc}); it was moved to "
            f"{target} and a new, empty cache was started."
        )
        log.warning("%s", self.problem, extra=SHOWN_TO_USER)

    def close(self) -> None:
        """Close the underlying database connections."""
        self._cache.close()

    def __enter__(self) -> LLMCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- lookups ---------------------------------------------------------------------------------
    def get(self, key: str, count: bool = True) -> CacheEntry | None:
        """Return the entry for ``key`` or None; ``count`` updates the hit/miss counters."""
        with self._using():
            entry = _to_entry(self._read(key))
            if entry is not None and self._expired(entry):  # stored before the TTL was set
                self._cache.delete(key)
                entry = None
        if count:
            self.count(hit=entry is not None)
        return entry

    def count(self, hit: bool) -> None:
        """Count a hit or a miss (for a reply read with ``get(key, count=False)`` whose use was
        decided later: one today's checks refuse is a miss); a locked cache only costs the count."""
        try:
            self._cache.incr(_HITS if hit else _MISSES, 1, default=0)
        except (sqlite3.OperationalError, diskcache.Timeout) as exc:  # a reply read is a reply
            log.debug("hit/miss not counted: %s", self._unavailable(exc))

    def _read(self, key: str) -> Any:
        """The stored value of ``key``; a damaged one (a torn write, a disk error) is dropped and
        read as a miss: kept, it made that dictation fall back for good, and `cache list` fail."""
        try:
            return self._cache.get(key)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as exc:
            log.warning("dropped a damaged LLM cache entry %s: %s", key[:12], exc)
            with contextlib.suppress(*CACHE_FAILURES):
                self._cache.delete(key)
            return None

    def _expired(self, entry: CacheEntry) -> bool:
        """Whether ``entry`` is older than the TTL (entries stored before ``cache_ttl_days`` was
        set, or made shorter, carry no expiry of their own: they are dropped when read)."""
        ttl_days = self.settings.cache_ttl_days
        return ttl_days is not None and entry.created < time.time() - ttl_days * 86400.0

    def put(self, entry: CacheEntry) -> None:
        """Store ``entry`` (expiring after the TTL, if one is set)."""
        ttl_days = self.settings.cache_ttl_days
        expire = ttl_days * 86400.0 if ttl_days else None
        # The counters are never written back from values read before: a hit another process
        # counted in between was lost (2000 hits beside 2000 stores were counted as 718).
        # Each is stored again after each reply (an increment by 0), so that it is never among
        # the oldest entries, which a full cache evicts first (a cache at its size limit wiped
        # its hit count); one this very reply evicted is added back, to whatever was counted
        # since.
        evicted: dict[str, int] = {}
        with self._using():
            with self._cache.transact():  # (no other process counts in between)
                counters = {name: self._cache.get(name) for name in (_HITS, _MISSES)}
                self._cache.set(entry.key, entry.to_dict(), expire=expire)
                for name, value in counters.items():
                    if value is None:
                        continue
                    if self._cache.get(name) is None:
                        evicted[name] = int(value)
                    else:
                        # (refreshed, so the cull runs after this read; a cull may still evict
                        # the counter checked next, which is why each is checked after the last)
                        self._cache.incr(name, 0)
            for name, value in evicted.items():  # (after the commit, which frees the room)
                self._cache.incr(name, value, default=0)

    def keys(self) -> Iterator[str]:
        """Keys of stored replies (not the counters)."""
        with self._using():
            for key in self._cache.iterkeys():
                if isinstance(key, str) and not key.startswith(_STATS_PREFIX):
                    yield key

    def entries(self) -> list[CacheEntry]:
        """All stored replies, newest first."""
        with self._using():
            found = [
                e
                for e in (_to_entry(self._read(k)) for k in list(self.keys()))
                if e is not None and not self._expired(e)
            ]
        return sorted(found, key=lambda e: e.created, reverse=True)

    def show(self, key_or_prefix: str) -> CacheEntry:
        """Return the entry whose key is ``key_or_prefix`` or starts with it (at least 4 characters)."""
        key_or_prefix = key_or_prefix.strip().lower()
        entry = self.get(key_or_prefix, count=False)
        if entry is not None:
            return entry
        if len(key_or_prefix) < 4:
            raise CacheError("give at least 4 characters of the key (see `holdtype cache list`)")
        matches = [k for k in self.keys() if k.startswith(key_or_prefix)]
        if not matches:
            raise CacheError(f"no cache entry with key {key_or_prefix} (see `holdtype cache list`)")
        if len(matches) > 1:
            raise CacheError(f"key prefix {key_or_prefix} matches {len(matches)} entries; give more of it")
        entry = self.get(matches[0], count=False)
        if entry is None:  # expired in between
            raise CacheError(f"cache entry {matches[0]} has expired")
        return entry

    def _count_keys(self) -> int:
        """How many keys :meth:`keys` yields (those diskcache stores as text, less the counters'),
        in one query: iterating them took 2.8 s for 60,000 replies."""
        row = self._cache._sql(
            "SELECT COUNT(*) FROM Cache WHERE raw = 1 AND typeof(key) = 'text' AND substr(key, 1, ?) != ?",
            (len(_STATS_PREFIX), _STATS_PREFIX),
        ).fetchone()
        return int(row[0])

    def stats(self) -> CacheStats:
        """Entries (not the expired ones, which are only dropped when read: with a TTL, each
        entry is read to tell, which takes seconds for tens of thousands of replies; without
        one, the keys are counted in one query), size on disk, and the persisted hit/miss
        counters."""
        with self._using():
            ttl = self.settings.cache_ttl_days is not None
            return CacheStats(
                directory=str(self.directory),
                entries=len(self.entries()) if ttl else self._count_keys(),
                size_bytes=int(self._cache.volume()),
                hits=int(self._cache.get(_HITS, 0)),
                misses=int(self._cache.get(_MISSES, 0)),
                size_limit_bytes=int(self._cache.size_limit),
                ttl_days=self.settings.cache_ttl_days,
            )

    def clear(self, older_than_days: float | None = None) -> int:
        """Delete replies (only those older than ``older_than_days``, if given); return how many.

        Clearing everything also resets the hit/miss counters.
        """
        with self._using():
            if older_than_days is None:
                removed = self._count_keys()
                self._cache.clear()
                return removed
            cutoff = time.time() - older_than_days * 86400.0
            removed = 0
            for key in list(self.keys()):
                entry = _to_entry(self._read(key))
                if entry is None or entry.created < cutoff:
                    removed += int(self._cache.delete(key))
            self._cache.expire()
            return removed


#: The tag of a damaged cache folder moved aside (``llm.corrupt-<time>``, see LLMCache._set_aside).
SET_ASIDE_TAG = "corrupt"


def set_aside_copies(directory: Path | None = None) -> list[Path]:
    """The damaged copies of the cache folder ``directory`` (by default the reply cache's) that
    were moved aside (``llm.corrupt-<time>``), oldest first: each holds dictated text, and
    nothing but :func:`remove_set_aside` deletes them."""
    folder = directory or get_paths().llm_cache_dir
    try:
        return sorted(folder.parent.glob(f"{folder.name}.{SET_ASIDE_TAG}-*"))
    except OSError:
        return []


def remove_set_aside(
    directory: Path | None = None, older_than_days: float | None = None
) -> tuple[list[Path], list[str]]:
    """Delete the damaged copies of the cache (:func:`set_aside_copies`): all of them, or those
    set aside more than ``older_than_days`` ago (each reply in one is at least that old).
    Returns the copies deleted and, one line each, those that could not be."""
    import shutil

    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400.0
    removed: list[Path] = []
    failed: list[str] = []
    for path in set_aside_copies(directory):
        try:
            if cutoff is not None and _set_aside_at(path) >= cutoff:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:
            failed.append(f"{path}: {exc.strerror or exc}")
            continue
        removed.append(path)
    return removed, failed


def _set_aside_at(path: Path) -> float:
    """When ``path`` was set aside: the time in its name (``llm.corrupt-20261207-093000``, local
    time, as :func:`app.paths.move_aside` writes it), else its last change."""
    stamp = path.name.rsplit(f".{SET_ASIDE_TAG}-", 1)[-1][:15]
    try:
        return time.mktime(time.strptime(stamp, "%Y%m%d-%H%M%S"))
    except (ValueError, OverflowError):
        return path.stat().st_mtime


def _wait_for_writers(directory: Path) -> None:
    """Wait up to :data:`WAIT_S` for the cache database's write lock (diskcache's own opening
    retries for 60 s whatever its timeout): sqlite3.OperationalError if another process holds
    it longer. A file that is no database passes: opening it says so."""
    db = directory / diskcache.core.DBNAME
    if not db.is_file():
        return
    conn = sqlite3.connect(db, timeout=WAIT_S, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError:  # not a database: opening sets it aside
        pass
    finally:
        conn.close()


def forget_replies(keys: list[str], directory: Path | None = None) -> int:
    """Delete the replies cached under ``keys`` (those of deleted history entries) and return
    how many were there. The cache is opened with the settings it has (not the defaults,
    which would become its size limit); one that cannot be used now keeps them, said in the
    log, and `holdtype cache clear` removes them."""
    folder = directory or get_paths().llm_cache_dir
    if not (folder / diskcache.core.DBNAME).is_file():
        return 0
    try:
        _wait_for_writers(folder)  # (the settings window deletes on its own thread)
        with diskcache.Cache(str(folder), timeout=WAIT_S, sqlite_secure_delete=1) as cache:
            removed = sum(int(cache.delete(key)) for key in keys)
            cache._sql("PRAGMA wal_checkpoint(TRUNCATE)")  # old page images leave the WAL too
            return removed
    except CACHE_FAILURES as exc:
        log.warning("the LLM replies of the deleted history entries stay in the cache (%s): %s", folder, exc)
        return 0


def _to_entry(raw: object) -> CacheEntry | None:
    if not isinstance(raw, dict):
        return None
    try:
        return CacheEntry(**raw)
    except TypeError:
        log.warning("ignoring a cache entry in an old format")
        return None
