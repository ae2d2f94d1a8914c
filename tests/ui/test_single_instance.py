"""A second start finds the running instance, asks it for its settings window, and leaves."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import uuid

from app.ui.app import InstanceServer, ask_running_instance, instance_name

SECOND_START = """
import sys
from PySide6.QtCore import QCoreApplication
from app.ui.app import ask_running_instance
app = QCoreApplication([])
sys.exit(0 if ask_running_instance(sys.argv[1]) else 3)
"""


def test_second_start_asks_first_for_settings(qtbot, display) -> None:  # type: ignore[no-untyped-def]
    name = f"holdtype-test-{uuid.uuid4().hex[:8]}"
    server = InstanceServer()
    assert server.listen(name)
    with qtbot.waitSignal(server.show_requested, timeout=20000):
        proc = subprocess.Popen([sys.executable, "-c", SECOND_START, name], env=display.env, cwd=str(_root()))
    assert proc.wait(timeout=20) == 0
    # a second server cannot claim the name while the first one lives
    other = InstanceServer()
    assert not other.listen(name)
    server.close()
    assert not ask_running_instance(name, timeout_ms=300)
    assert other.listen(name)  # after the first one is gone, the name is free again
    other.close()


def test_name_is_per_home(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOLDTYPE_HOME", str(tmp_path / "a"))
    first = instance_name()
    monkeypatch.setenv("HOLDTYPE_HOME", str(tmp_path / "b"))
    assert instance_name() != first
    assert first.startswith("holdtype-")


def _start_env(display, holdtype_home) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment of a `holdtype run` started by these tests: the test display, the
    test's home and LLM config, and ``PYTHONFAULTHANDLER`` (a start that hangs shows where:
    see :func:`_wait_for_log`)."""
    import os

    return {
        **display.env,
        "HOLDTYPE_HOME": str(holdtype_home),
        "LLM_USER_PATH": os.environ["LLM_USER_PATH"],
        "PYTHONFAULTHANDLER": "1",
    }


def _wait_for_log(path, text: str, timeout: float, what: str, proc=None) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``text`` is in the log at ``path``, or ``proc`` ends (a failure at once). On a
    timeout, ``proc`` (started with ``PYTHONFAULTHANDLER=1``) is aborted so that its threads'
    stacks land in the log. Either way the failure shows the log's tail."""
    import signal

    from tests.fixtures.waiting import WaitTimeout, wait_for

    def seen() -> bool:
        return text in path.read_text() or (proc is not None and proc.poll() is not None)

    try:
        wait_for(seen, timeout=timeout, what=what)
    except WaitTimeout as exc:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        raise WaitTimeout(f"{exc}\n--- {path.name} ---\n{path.read_text()[-6000:]}") from None
    if text not in path.read_text():
        raise AssertionError(
            f"{what}: the process ended (exit code {proc.returncode}) first\n"
            f"--- {path.name} ---\n{path.read_text()[-6000:]}"
        )


def _root():  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


def test_real_second_start_hands_over_and_exits(display, tmp_path, holdtype_home) -> None:  # type: ignore[no-untyped-def]
    """`holdtype run` twice: the second asks the first for its settings window and exits 0."""
    import signal

    env = _start_env(display, holdtype_home)
    log_path = tmp_path / "first.log"
    with open(log_path, "w") as log:
        first = subprocess.Popen(
            [sys.executable, "-m", "app", "-v", "run"], env=env, cwd=str(_root()), stdout=log, stderr=log
        )
    try:
        _wait_for_log(log_path, "ready:", timeout=120, what="the first instance to be ready", proc=first)
        second = subprocess.run(
            [sys.executable, "-m", "app", "-v", "run"],
            env=env,
            cwd=str(_root()),
            capture_output=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr.decode()[-2000:]
        # said on the terminal (it ended without a word; the window may be on another workspace)
        assert b"Holdtype is already running: its settings window is shown." in second.stderr
        # (seen to take over 20 s once, on a loaded 2-core CI machine)
        _wait_for_log(
            log_path,
            "asked for the settings window",
            timeout=60,
            what="the first instance to get the request",
            proc=first,
        )
        assert first.poll() is None  # the first one keeps running
        headless = subprocess.run(
            [sys.executable, "-m", "app", "run", "--no-tray"],
            env=env,
            cwd=str(_root()),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert headless.returncode == 1 and "Traceback" not in headless.stderr
        assert f"already running: the tray app (pid {first.pid})" in headless.stderr
        # The tray serves `holdtype dictate` (a desktop shortcut's way in, on Wayland)
        status = subprocess.run(
            [sys.executable, "-m", "app", "dictate", "status", "--json"],
            env=env,
            cwd=str(_root()),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        assert '"state": "idle"' in status.stdout and '"ready": true' in status.stdout
        # The terminal it was started from closes: a clean quit, as on SIGTERM and Ctrl-C.
        first.send_signal(signal.SIGHUP)
        assert first.wait(timeout=30) == 0
        assert not (holdtype_home / "data" / "control.key").exists()  # nothing stale is left
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def test_two_starts_at_once_hand_over_without_a_dialog(display, tmp_path, holdtype_home) -> None:  # type: ignore[no-untyped-def]
    """Two `holdtype run` a few ms apart (a double-click on the menu entry): the one that lost
    the lock found a tray not listening yet and showed "already running" in a modal dialog,
    waiting there. It now asks until the tray answers, and exits 0."""

    from tests.fixtures.waiting import end_process, wait_for

    env = _start_env(display, holdtype_home)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    starts = []
    for path in logs:
        with open(path, "w") as log:
            starts.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app", "-v", "run"],
                    env=env,
                    cwd=str(_root()),
                    stdout=log,
                    stderr=log,
                )
            )
    try:
        wait_for(lambda: any(p.poll() is not None for p in starts), timeout=90, what="one start to hand over")
        ended = next(p for p in starts if p.poll() is not None)
        kept = next(p for p in starts if p is not ended)
        assert ended.returncode == 0, logs[starts.index(ended)].read_text()[-2000:]
        assert kept.poll() is None
        wait_for(
            lambda: "asked for the settings window" in logs[starts.index(kept)].read_text(),
            timeout=30,
            what="the running tray to get the request",
        )
    finally:
        for p in starts:
            end_process(p, timeout=30)


def _refused_tray(display, env, tmp_path, first, named: str) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    """Start a tray with ``env`` beside the loop ``first``: it shows the "already running" box,
    naming ``named`` in its log, is closed with a real key and exits 1; ``first`` runs on until
    it is stopped here. Returns the tray's process."""
    import signal

    from tests.fixtures.waiting import wait_for

    tray_log = tmp_path / "tray.log"
    with open(tray_log, "w") as log:
        tray = subprocess.Popen(
            [sys.executable, "-m", "app", "run"], env=env, cwd=str(_root()), stdout=log, stderr=log
        )

    def message_box() -> str:
        found = display.run("xdotool", "search", "--name", "Holdtype is already running", check=False)
        return found.stdout.split()[0] if found.stdout.split() else ""

    try:
        box = wait_for(message_box, timeout=60, what="the tray's 'already running' message box", interval=0.2)
        assert named in tray_log.read_text()
        display.run("xdotool", "windowfocus", "--sync", box)
        display.run("xdotool", "key", "Return")
        assert tray.wait(timeout=30) == 1
    except BaseException:
        tray.kill()  # (the caller never got it to end)
        tray.wait()
        raise
    assert first.poll() is None  # the loop that was there first keeps running
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0
    return tray


def test_tray_does_not_start_beside_a_headless_loop(display, tmp_path, holdtype_home) -> None:  # type: ignore[no-untyped-def]
    """Headless first: a second headless loop and a tray both refuse, since each would paste
    every dictation twice; the tray says so in a message box, closed here with a real key."""

    env = _start_env(display, holdtype_home)
    log_path = tmp_path / "headless.log"
    with open(log_path, "w") as log:
        headless = [sys.executable, "-m", "app", "run", "--no-tray"]
        first = subprocess.Popen(headless, env=env, cwd=str(_root()), stdout=log, stderr=log)
    tray = None
    try:
        _wait_for_log(log_path, "ready:", timeout=120, what="the headless loop to be ready", proc=first)
        second = subprocess.run(headless, env=env, cwd=_root(), capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "Traceback" not in second.stderr
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        # It gave the running loop 10 s to exit (one stopped a moment ago may be finishing), then
        # refused in one error line.
        assert len(lines) == 2 and "waiting up to 10 s" in lines[0], lines
        assert lines[1].startswith("Error:") and f"`holdtype run --no-tray` (pid {first.pid})" in lines[1]
        tray = _refused_tray(display, env, tmp_path, first, f"pid {first.pid}")
    finally:
        for proc in (first, tray):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_start_waits_for_a_loop_that_is_stopping(display, tmp_path, holdtype_home) -> None:  # type: ignore[no-untyped-def]
    """A restart (stop, start at once) works: the new loop waits for the old one to let go."""
    import signal

    from tests.fixtures.waiting import wait_for

    env = _start_env(display, holdtype_home)
    headless = [sys.executable, "-m", "app", "run", "--no-tray"]
    logs = [tmp_path / "old.log", tmp_path / "new.log"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for path in logs:
            with open(path, "w") as log:
                procs.append(subprocess.Popen(headless, env=env, cwd=_root(), stdout=log, stderr=log))
            if not procs[1:]:
                _wait_for_log(logs[0], "ready:", timeout=120, what="the old loop", proc=procs[0])
        old, new = procs
        wait_for(lambda: "waiting up to" in logs[1].read_text(), timeout=60, what="the new loop to wait")
        assert f"pid {old.pid}" in logs[1].read_text()
        old.send_signal(signal.SIGTERM)
        assert old.wait(timeout=30) == 0
        _wait_for_log(logs[1], "ready:", timeout=120, what="the new loop to start", proc=new)
        new.send_signal(signal.SIGTERM)
        assert new.wait(timeout=30) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_tray_that_cannot_start_says_why_in_a_window(display, tmp_path, holdtype_home) -> None:  # type: ignore[no-untyped-def]
    """Started from the menu, a start that failed (here: the instance lock cannot be made, a
    folder is in its place; a read-only data folder did the same) wrote its one line to a
    standard error nobody reads, and Holdtype never appeared."""
    from app.paths import get_paths
    from tests.fixtures.waiting import wait_for

    (get_paths().data_dir / "instance.lock").mkdir(parents=True)
    tray = subprocess.Popen(
        [sys.executable, "-m", "app", "run"],
        env=_start_env(display, holdtype_home),
        cwd=str(_root()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def message_box() -> str:
            found = display.run("xdotool", "search", "--name", "Holdtype cannot start", check=False)
            return found.stdout.split()[0] if found.stdout.split() else ""

        box = wait_for(message_box, timeout=60, what="the 'cannot start' message box", interval=0.2)
        display.run("xdotool", "windowfocus", "--sync", box)
        display.run("xdotool", "key", "Return")
        _, err = tray.communicate(timeout=30)
        assert tray.returncode == 1 and "Traceback" not in err, err
        assert "instance.lock" in next(line for line in err.splitlines() if line.startswith("Error:"))
    finally:
        if tray.poll() is None:
            tray.kill()
            tray.communicate()


def test_another_home_does_not_start_on_the_same_display(display, tmp_path, holdtype_home) -> None:  # type: ignore[no-untyped-def]
    """A Holdtype of another HOLDTYPE_HOME on the same desktop heard the same hotkey and pasted
    every dictation a second time: now both a headless loop and a tray of that home refuse,
    naming the running one and its home (a tray in a message box, closed with a real key)."""

    log_path = tmp_path / "first.log"
    with open(log_path, "w") as log:
        first = subprocess.Popen(
            [sys.executable, "-m", "app", "-v", "run"],
            env=_start_env(display, holdtype_home),
            cwd=str(_root()),
            stdout=log,
            stderr=log,
        )
    tray = None
    try:
        _wait_for_log(log_path, "ready:", timeout=120, what="the first home's tray to be ready", proc=first)
        other = _start_env(display, tmp_path / "other-home")
        other["DISPLAY"] += ".0"  # the same display, named with its screen
        named = f"the tray app (pid {first.pid}) of the Holdtype home {holdtype_home.resolve()}"
        headless = subprocess.run(
            [sys.executable, "-m", "app", "run", "--no-tray"],
            env=other,
            cwd=str(_root()),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert headless.returncode == 1 and "Traceback" not in headless.stderr
        lines = [line for line in headless.stderr.splitlines() if line.strip()]
        assert len(lines) == 2 and "waiting up to 10 s" in lines[0] and named in lines[0], lines
        assert (
            lines[1].startswith("Error:")
            and named in lines[1]
            and f"on this desktop ({display.display})" in lines[1]
        )
        tray = _refused_tray(display, other, tmp_path, first, named)
    finally:
        for proc in (first, tray):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
