"""The instance lock: one dictation loop per Holdtype home, with a real file lock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.instance import AlreadyRunning, claim
from tests.fixtures.holder import holding

HOLD_LOCK = """
import sys
from pathlib import Path
from app.instance import claim
lock = claim("tray", Path(sys.argv[1]))
print("held", flush=True)
sys.stdin.read()  # hold it until the test closes our stdin
"""


def test_second_claim_is_refused_until_the_first_is_released(tmp_path: Path) -> None:
    path = tmp_path / "instance.lock"
    first = claim("headless", path)
    with pytest.raises(AlreadyRunning) as refused:
        claim("tray", path)
    assert refused.value.pid == os.getpid() and refused.value.kind == "headless"
    assert "`holdtype run --no-tray`" in str(refused.value) and "Ctrl-C" in str(refused.value)
    first.release()
    claim("tray", path).release()


def test_a_lock_held_by_another_process_names_it_and_dies_with_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "instance.lock"  # the folder is made on first use
    with holding(HOLD_LOCK, str(path)) as holder:
        with pytest.raises(AlreadyRunning) as refused:
            claim("headless", path)
        assert refused.value.pid == holder.pid
        assert f"the tray app (pid {holder.pid})" in str(refused.value)
        assert "tray menu's Quit" in str(refused.value)
        holder.kill()  # no clean release: the system drops the lock with the process
        holder.wait(timeout=30)
        claim("headless", path).release()


def test_only_a_lock_held_elsewhere_refuses_a_start() -> None:
    import errno

    from app.paths import lock_held

    assert lock_held(BlockingIOError(errno.EWOULDBLOCK, "Resource temporarily unavailable"))
    assert lock_held(PermissionError(errno.EACCES, "Permission denied"))  # Windows' msvcrt.locking
    assert not lock_held(OSError(errno.ENOLCK, "No locks available"))  # an NFS mount without lockd


def test_a_filesystem_without_locks_starts_unguarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """FAKE: flock failing with ENOLCK, as on a network mount without a lock daemon; no real
    part here fails that way on cue."""
    import errno

    import app.paths as paths

    def no_locks(handle: object) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(paths, "try_lock", no_locks)
    lock = claim("headless", tmp_path / "instance.lock")  # starts instead of "already running"
    assert "not checking for a second Holdtype" in caplog.text
    assert (tmp_path / "instance.lock").read_text().split() == [str(os.getpid()), "headless"]
    lock.release()
