"""Keeping history to ``history.retention_days`` in a running app: entries past it, their
kept recordings and the LLM replies made from them are deleted at the start, when the setting
changes, and every :data:`PRUNE_EVERY_S`, idle or not."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app import events as ev
from app.events import EngineEvent

if TYPE_CHECKING:
    from app.config import Settings
    from app.history.store import HistoryStore

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0  # how often a running app deletes history past its retention, idle or not


def days_wording(days: float) -> str:
    """``days`` of a retention in words.

    >>> days_wording(1), days_wording(30), days_wording(0.5)
    ('a day', '30 days', '0.5 days')
    """
    return "a day" if days == 1 else f"{days:g} days"


def entries_wording(count: int, kind: str = "") -> str:
    """``count`` entries (of a ``kind``) in words.

    >>> entries_wording(1), entries_wording(3562, "history")
    ('1 entry', '3562 history entries')
    """
    return f"{count} {kind + ' ' if kind else ''}{'entry' if count == 1 else 'entries'}"


class Retention:
    """Prunes history (and the reply cache) past the retention, on the output worker."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        history: Callable[[], HistoryStore],
        llm_cache_dir: Path,
        publish: Callable[[EngineEvent], None],
    ) -> None:
        """``settings`` and ``history`` give those in force; nothing is pruned until asked."""
        self._settings = settings
        self._history = history
        self._llm_cache_dir = llm_cache_dir
        self._publish = publish
        self.pruned_at = -PRUNE_EVERY_S  # when history was last pruned (monotonic seconds)
        self._queued = threading.Event()  # a pruning waits on the output worker

    def due(self) -> bool:
        """Whether a pruning should be queued now (on the hour, none queued yet); a True
        answer counts it as queued until :meth:`apply` runs."""
        if (
            self._settings().history.retention_days is None
            or time.monotonic() - self.pruned_at < PRUNE_EVERY_S
            or self._queued.is_set()
        ):
            return False
        self._queued.set()
        return True

    def apply(self, force: bool = False, announce: bool = False) -> None:
        """Delete history entries (and their kept audio) older than ``history.retention_days``
        (output worker): ``force`` at start and when the setting changes, else once per
        :data:`PRUNE_EVERY_S`, so an app left running keeps to it too. ``announce``: say how
        many went (the setting was just changed)."""
        self._queued.clear()
        days = self._settings().history.retention_days
        now = time.monotonic()
        if days is None or (not force and now - self.pruned_at < PRUNE_EVERY_S):
            return
        self.pruned_at = now
        from app.history.store import OUTPUT_WAIT_S, HistoryError

        try:  # (not the store's 10 s wait: the next dictation's paste waits for this one)
            removed = self._history().prune(days, wait_s=OUTPUT_WAIT_S)
        except HistoryError as exc:
            message = f"{exc}; entries older than {days_wording(days)} are deleted later"
            self._publish(ev.ErrorRaised(message, "history"))
            return
        if removed:
            said = f"Deleted {entries_wording(removed, 'history')} older than {days_wording(days)}"
            log.info("%s", said)
            if announce:  # (the retention was just shortened: the history window refreshes)
                self._publish(ev.Notice(said, "history"))
        self._prune_reply_cache(days)

    def _prune_reply_cache(self, days: float) -> None:
        """Delete LLM replies older than ``days`` too: each holds a dictation (its prompt) as
        history does, and kept past the retention it outlived the entry it came from."""
        from app.llm.cache import CACHE_FAILURES, LLMCache, remove_set_aside

        # A damaged copy set aside was last written when it was set aside: all in it is as old.
        gone, failed = remove_set_aside(self._llm_cache_dir, older_than_days=days)
        for line in failed:
            log.warning("could not delete a damaged LLM reply cache set aside: %s", line)
        if gone:
            log.info("deleted %d damaged LLM reply caches set aside %s ago", len(gone), days_wording(days))
        if not self._llm_cache_dir.is_dir():  # (also pruned with caching turned off since)
            return
        try:
            with LLMCache(self._settings().llm) as cache:
                removed = cache.clear(older_than_days=days)
        except CACHE_FAILURES as exc:  # (another program holds it: the next pruning tries again)
            log.warning("LLM replies older than %s are deleted later: %s", days_wording(days), exc)
            return
        if removed:
            log.info("deleted %d LLM replies older than %s", removed, days_wording(days))
