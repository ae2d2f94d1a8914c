"""The LLM tab counts and clears the reply cache on a worker thread: the window never waits on it.

Counting 20,000 cached replies with an expiry (each is read to tell whether it expired) froze
the settings window more than a second when it was made and each time the LLM tab was shown,
and "Clear cache" as long. The cache here is a real one, filled through its own API.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import diskcache
import shiboken6
from PySide6.QtCore import QTimer

from app.config import Settings
from app.llm.cache import CacheEntry, LLMCache
from app.paths import get_paths
from app.ui.settings.base import TabContext
from app.ui.settings.live import LiveSettings
from app.ui.settings.window import SettingsWindow
from tests.cli import holdtype
from tests.ui.test_settings_tabs import open_window

REPLIES = 20_000


def fill_cache(settings: Settings, replies: int) -> None:
    """Store ``replies`` replies in the real reply cache, as dictations would."""
    with LLMCache(settings.llm) as cache:
        for n in range(replies):
            cache.put(CacheEntry(f"{n:064x}", f"reply {n}", None, "some-model", "clean", 12.0, time.time()))


def counted(qtbot, tab) -> str:  # type: ignore[no-untyped-def]
    """Wait until the tab has counted (or cleared) the cache; return what it says."""
    qtbot.waitUntil(lambda: tab._cache_job is None, timeout=60000)
    return str(tab.cache_stats.text())


def cli_entries() -> int:
    """The replies ``holdtype cache stats`` counts."""
    done = holdtype("cache", "stats", "--json")
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["entries"])


def test_the_llm_tab_counts_and_clears_the_cache_while_the_window_stays_responsive(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    s = Settings()
    s.llm.cache_ttl_days = 30.0  # (each reply is read to tell whether it expired: the slow count)
    settings = write_settings(s)
    fill_cache(settings, REPLIES)
    window = open_window(qtbot, config_path)
    tab = window.pages["llm"]
    # The window was made without waiting for the count: it is under way.
    assert tab.cache_stats.text() == "counting…"
    assert not tab.clear_button.isEnabled()  # (nothing known to clear yet)
    seen: list[str] = []  # what the line said each time the window's event loop turned
    ticks = QTimer()
    ticks.timeout.connect(lambda: seen.append(tab.cache_stats.text()))
    ticks.start(0)
    try:
        said = counted(qtbot, tab)
    finally:
        ticks.stop()
    assert "counting…" in seen  # the loop ran while the count was under way
    assert said.startswith(f"{REPLIES} replies, ") and tab.clear_button.isEnabled(), said
    assert cli_entries() == REPLIES  # the tab and `holdtype cache stats` count alike

    # Shown again (the window lives until Holdtype quits): counted again, the tab on screen first.
    window.show()
    window.show_tab(tab.key)
    qtbot.waitUntil(tab.isVisible, timeout=5000)
    counted(qtbot, tab)
    window.hide()
    window.show()
    assert tab.isVisible() and tab.cache_stats.text() == "counting…"
    assert counted(qtbot, tab).startswith(f"{REPLIES} replies, ")

    # Clearing too: the click comes back at once, the figures after.
    tab.clear_button.click()
    assert tab.cache_stats.text() == "clearing…" and not tab.clear_button.isEnabled()
    assert counted(qtbot, tab).startswith("0 replies, ")
    assert not tab.clear_button.isEnabled()  # nothing to clear
    assert cli_entries() == 0


def test_a_count_asked_for_during_a_clear_runs_after_it(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # One job at a time: a count and a clear side by side could show the count from before the
    # clear last. A clear asked for while a count runs is not dropped either.
    settings = write_settings(Settings())
    fill_cache(settings, 3)
    window = open_window(qtbot, config_path)
    tab = window.pages["llm"]
    assert tab.cache_stats.text() == "counting…"
    tab.clear_cache()  # (the button is disabled meanwhile; asked for all the same)
    tab.refresh_cache_stats()  # (a count after it: the clear still runs)
    assert tab.cache_stats.text() == "counting…"
    assert counted(qtbot, tab).startswith("0 replies, ")  # the last figures are after the clear
    assert cli_entries() == 0


def test_a_count_ending_after_the_window_is_gone_is_dropped(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # The window goes with the app on quit while a count may still run: its result must find
    # no deleted label to write to (an exception in a slot).
    settings = write_settings(Settings())
    fill_cache(settings, 3)
    database = get_paths().llm_cache_dir / diskcache.core.DBNAME
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program writing: the count waits for it
    try:
        window = SettingsWindow(TabContext(LiveSettings(settings, config_path)))  # (deleted here)
        tab = window.pages["llm"]
        job = tab._cache_job
        assert job is not None and tab.cache_stats.text() == "counting…"
        results: list[object] = []
        job.signals.done.connect(results.append)
        shiboken6.delete(window)  # (no event was handled since the count began: it is still to come)
        assert not shiboken6.isValid(tab)
    finally:
        other.execute("ROLLBACK")
        other.close()
    qtbot.waitUntil(lambda: bool(results), timeout=30000)
    # (the figures; or, had the other program held the cache past the wait, why there are none)
    assert getattr(results[0], "entries", None) == 3 or str(results[0]).startswith("unavailable"), results
