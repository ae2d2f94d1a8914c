"""Files with history or dictated text, and their folders, are the user's alone, whatever the umask.

Each test runs with a permissive umask (0002: group-writable, as on distributions with a group
per user; 0022: the common default) and checks the modes of what Holdtype really wrote.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.paths import get_paths
from tests.cli import ROOT


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o002, 0o022], ids=["umask-0002", "umask-0022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """This process (and the subprocesses it starts) creates files under a permissive umask."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_the_history_command_makes_a_private_data_folder(umask: int) -> None:
    """``holdtype history list`` on a new machine creates the data folder: the history database,
    the log and recordings live there, so it is 0700 (it was 0775 under umask 0002)."""
    done = subprocess.run(
        [sys.executable, "-m", "app", "history", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    paths = get_paths()
    assert mode(paths.data_dir) == 0o700
    assert mode(paths.history_db) == 0o600


def test_the_first_recording_makes_a_private_data_folder(umask: int) -> None:
    """The spool (``data/spool``) can be the first thing in the data folder: its parent is made
    private too, not left to the umask."""
    from app.audio.spool import Spool

    paths = get_paths()
    writer = Spool(paths.spool_dir).open(1)
    try:
        assert mode(paths.data_dir) == 0o700
        assert mode(paths.spool_dir) == 0o700
        assert mode(writer.path) == 0o600
    finally:
        writer.close(keep=False)


def test_doctor_makes_a_private_data_folder(umask: int) -> None:
    """``holdtype doctor`` creates the folders it checks; the data folder private."""
    subprocess.run([sys.executable, "-m", "app", "doctor"], cwd=ROOT, capture_output=True, timeout=120)
    assert mode(get_paths().data_dir) == 0o700


def test_the_llm_cache_files_are_private(umask: int) -> None:
    """The reply cache holds dictated text and the model's replies: its database and the
    -wal/-shm files SQLite makes beside it are 0600 (SQLite made them 0644)."""
    from app.llm.cache import CacheEntry, LLMCache

    folder = get_paths().llm_cache_dir
    with LLMCache() as cache:
        cache.put(
            CacheEntry(
                key="k" * 64,
                text="what the model said",
                parsed=None,
                model="m",
                mode="clean",
                llm_ms=1.0,
                created=0.0,
                prompt="what I said",
            )
        )
        files = sorted(p for p in folder.iterdir() if p.is_file())
        assert files, "the cache wrote no file"
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert mode(folder) == 0o700


def test_recovered_audio_is_kept_in_a_private_folder(x_env, speak, holdtype_home: Path) -> None:  # type: ignore[no-untyped-def]
    """After a crash mid-recording, the next start moves the spool file to ``data/audio``: that
    folder was made with the umask's mode (0775 under 0002) when it did not exist yet."""
    from app.config import Settings
    from app.engine import Engine
    from app.history.store import HistoryStore
    from app.transcribe.audiofile import load_audio
    from tests.fixtures.waiting import wait_for

    old = os.umask(0o002)
    try:
        paths = get_paths()
        writer = leftover_spool_file(
            paths.spool_dir, load_audio(speak("Buy milk on the way home.", speed=150))
        )
        eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False)
        try:
            eng.start()
            assert eng.wait_ready(120)
            wait_for(lambda: HistoryStore(paths.history_db).list(1), timeout=60, what="the recovered entry")
        finally:
            eng.shutdown()
    finally:
        os.umask(old)
    [kept] = list(paths.audio_dir.iterdir())
    assert kept.name == writer.name
    assert mode(paths.audio_dir) == 0o700
    assert mode(kept) == 0o600


def leftover_spool_file(folder: Path, audio: np.ndarray) -> Path:
    """A spool file whose writer is gone, as after kill -9: written, never closed, lock released."""
    from app.audio.spool import Spool

    writer = Spool(folder).open(7)
    writer.write(audio)
    assert writer.flush()
    writer._file.close()  # the process "dies": its lock goes away, the file stays
    return writer.path


def test_a_shared_sticky_folder_is_not_made_private(tmp_path: Path) -> None:
    """A history database put straight into /tmp made /tmp itself 0700 (found when a review's
    experiment did it on this VM: every other user, and sway run as nobody, lost /tmp). A
    sticky folder open to all is left as it is; an ordinary existing folder is still tightened."""
    from app.history.store import HistoryStore

    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    with HistoryStore(shared / "history.sqlite3") as store:
        assert store.count() == 0
    assert mode(shared) == 0o1777
    assert mode(shared / "history.sqlite3") == 0o600  # the database itself is still private
    own = tmp_path / "own"
    own.mkdir(mode=0o755)
    with HistoryStore(own / "history.sqlite3"):
        pass
    assert mode(own) == 0o700
