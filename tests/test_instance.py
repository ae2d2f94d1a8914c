"""The instance lock: one dictation loop per Holdtype home, and per desktop across homes, with
real file locks taken by real processes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from app.instance import AlreadyRunning, claim, held
from tests.fixtures.holder import holding

#: Desktops are told apart by their displays on Linux; macOS and Windows have one per session.
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="displays name desktops on Linux"
)

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


# Takes the lock of the home and desktop its environment names (HOLDTYPE_HOME, DISPLAY,
# WAYLAND_DISPLAY, XDG_RUNTIME_DIR), as `holdtype run` does, and holds them.
HOLD_DESKTOP = """
from app.instance import claim
lock = claim("tray")
print("held", flush=True)
import sys
sys.stdin.read()
"""


@pytest.fixture
def desktop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private run-time folder of this test's own (the desktop locks go there; nothing of
    another test run's or of the user's desktop is seen), and no display set yet."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    return runtime


def _on(monkeypatch: pytest.MonkeyPatch, home: Path, display: str) -> None:
    """This process (and a holder started now) is Holdtype home ``home`` on ``display``."""
    monkeypatch.setenv("HOLDTYPE_HOME", str(home))
    name = "WAYLAND_DISPLAY" if display.startswith("wayland") else "DISPLAY"
    monkeypatch.setenv(name, display)


@linux_only
@pytest.mark.parametrize(("first", "second"), [(":5", ":5.0"), ("unix:5", ":5"), ("wayland-1", "wayland-1")])
def test_another_home_on_the_same_display_is_refused_naming_it(
    desktop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str, second: str
) -> None:
    home_a, home_b = tmp_path / "home a", tmp_path / "home-b"
    _on(monkeypatch, home_a, first)
    with holding(HOLD_DESKTOP) as holder:
        _on(monkeypatch, home_b, second)
        with pytest.raises(AlreadyRunning) as refused:
            claim("headless")
        assert (refused.value.pid, refused.value.kind) == (holder.pid, "tray")
        assert refused.value.home == str(home_a.resolve())  # (a name with a space, read whole)
        message = str(refused.value)
        assert f"on this desktop ({first.replace('unix', '')})" in message
        assert f"the tray app (pid {holder.pid}) of the Holdtype home {home_a.resolve()}" in message
        assert "tray menu's Quit" in message
        # the refused start let go of its own home's lock: that home's tools see nothing running
        assert not held(home_b.resolve() / "data" / "instance.lock")


@linux_only
def test_other_displays_each_run_a_loop(
    desktop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on(monkeypatch, tmp_path / "a", ":5")
    with holding(HOLD_DESKTOP):
        _on(monkeypatch, tmp_path / "b", ":6")
        claim("headless").release()
        monkeypatch.delenv("DISPLAY")
        _on(monkeypatch, tmp_path / "c", "wayland-1")  # another session's Wayland display
        claim("headless").release()


def test_the_same_home_is_refused_as_before(
    desktop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on(monkeypatch, tmp_path / "a", ":5")
    with holding(HOLD_DESKTOP) as holder:
        for display in (":5", ":6"):  # its home's lock refuses, on any display
            _on(monkeypatch, tmp_path / "a", display)
            with pytest.raises(AlreadyRunning) as refused:
                claim("headless")
            assert refused.value.pid == holder.pid and "Holdtype home" not in str(refused.value)
            assert str(refused.value).startswith(
                f"Holdtype is already running: the tray app (pid {holder.pid}). "
            )


def test_a_holder_that_ends_frees_the_display(
    desktop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on(monkeypatch, tmp_path / "a", ":5")
    with holding(HOLD_DESKTOP) as holder:
        _on(monkeypatch, tmp_path / "b", ":5")
        with pytest.raises(AlreadyRunning):
            claim("headless")
        holder.kill()  # no clean release: the system drops the locks with the process
        holder.wait(timeout=30)
        claim("headless").release()


def test_a_start_waits_for_another_home_that_is_stopping(
    desktop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for its own home's loop: one stopping (finishing its recording) gets ``wait_s``."""
    _on(monkeypatch, tmp_path / "a", ":5")
    told: list[AlreadyRunning] = []
    with holding(HOLD_DESKTOP) as holder:
        assert holder.stdin is not None
        _on(monkeypatch, tmp_path / "b", ":5")

        def waiting(other: AlreadyRunning) -> None:
            told.append(other)
            holder.stdin.close()  # it stops now

        claim("headless", wait_s=60, waiting=waiting).release()
    assert len(told) == 1 and told[0].pid == holder.pid and told[0].home == str((tmp_path / "a").resolve())


@pytest.mark.skipif(sys.platform == "win32", reason="no owners or modes to check this way")
def test_a_run_time_folder_not_private_is_not_used(
    desktop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A link in place of the run-time folder (in a shared temporary folder, another user can
    make one first): not followed; the start goes on with its home's lock alone, and says so."""
    from app.paths import runtime_dir

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    runtime_dir().symlink_to(elsewhere)
    _on(monkeypatch, tmp_path / "a", ":5")
    lock = claim("headless")
    assert "not checking for another Holdtype home" in caplog.text and "link" in caplog.text
    assert list(elsewhere.iterdir()) == []
    lock.release()


@linux_only
def test_display_names() -> None:
    from app.instance import desktops

    def names(**env: str) -> list[str]:
        return [name for _, name in desktops(env)]

    assert names(DISPLAY=":0") == names(DISPLAY=":0.0") == names(DISPLAY="unix:0.1")
    assert names(DISPLAY=":0") != names(DISPLAY=":1") and names(DISPLAY=":0") != names(DISPLAY="host:0")
    assert names() == [] and names(DISPLAY="") == []  # no display: no desktop lock
    assert names(WAYLAND_DISPLAY="wayland-0", XDG_RUNTIME_DIR="/run/user/7") != names(
        WAYLAND_DISPLAY="wayland-0", XDG_RUNTIME_DIR="/run/user/8"
    )
    both = names(WAYLAND_DISPLAY="wayland-0", DISPLAY=":0", XDG_RUNTIME_DIR="/run/user/7")
    assert len(both) == 2 and names(DISPLAY=":0")[0] in both  # XWayland's display too
