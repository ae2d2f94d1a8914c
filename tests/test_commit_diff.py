"""The staged diff a commit-message mode sends comes from the terminal dictated into.

The running app reads no diff in its own folder: started in one project and dictating a commit
message into a terminal in another, it sent the first project's staged changes (a secret among
them) to the model. Real processes throughout: terminals in real pseudo-terminals, a real
xterm on the test display, real git repositories; the LLM server is a stub (named so below).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import events as ev
from app.config import Settings
from app.engine import Engine
from app.llm.workdir import foreground_directory
from tests.fixtures.llama import OpenAIChatStub, model_entry, write_llm_models
from tests.fixtures.parts import require_tools
from tests.fixtures.waiting import wait_for

# A "window process" (no terminal of its own) that starts one program per folder given, each in
# a pseudo-terminal of its own, as a terminal emulator runs a shell.
WINDOW = """
import os, pty, sys, time
for folder in sys.argv[1:]:
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(folder)
        program = os.environ.get("PROGRAM", "sleep")
        os.execv(program if "/" in program else "/bin/sleep", [program, "120"])
print("ready", flush=True)
time.sleep(120)
"""


@pytest.fixture
def window_process() -> Iterator:
    started: list[subprocess.Popen[str]] = []

    def start(*folders: Path, program: str = "sleep") -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", WINDOW, *map(str, folders)],
            env={**os.environ, "PROGRAM": program},
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # no terminal of its own, like a window started from a menu
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    yield start
    for proc in started:
        os.killpg(proc.pid, 9)
        proc.wait(10)


def test_the_folder_of_the_program_in_a_windows_terminal_is_found(window_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one = window_process(tmp_path)
    wait_for(lambda: foreground_directory(one.pid) == tmp_path, timeout=10, what="the terminal's folder")


def test_no_folder_when_a_window_has_no_terminal_or_several(window_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    two = window_process(tmp_path / "a", tmp_path / "b")  # two tabs: which one is meant is unknown
    wait_for(
        lambda: len([c for c in _children(two.pid) if c]) == 2, timeout=10, what="both terminals' programs"
    )
    assert foreground_directory(two.pid) is None
    none = window_process()  # an editor, a browser: no terminal at all
    assert foreground_directory(none.pid) is None
    assert foreground_directory(None) is None


def test_no_folder_when_the_terminal_runs_ssh_or_tmux(window_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """tmux's client sits in the folder it was attached from, not the pane's; ssh's shell is
    on another machine: their folder is not the one worked in."""
    ssh = tmp_path / "ssh"
    ssh.symlink_to(shutil.which("sleep") or "/bin/sleep")  # a program named ssh, as the terminal sees it
    remote = window_process(tmp_path, program=str(ssh))
    wait_for(lambda: _children(remote.pid, "ssh"), timeout=10, what="the 'ssh' in the terminal")
    assert foreground_directory(remote.pid) is None


def _children(pid: int, name: str = "sleep") -> list[str]:
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if name in line]


def _repo(folder: Path, staged: str) -> Path:
    """A real git repository at ``folder`` with ``staged`` in a staged file."""
    folder.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    (folder / "settings.py").write_text(staged + "\n")
    subprocess.run(["git", "add", "settings.py"], cwd=folder, check=True)
    return folder


def test_a_commit_message_gets_the_diff_of_the_terminal_dictated_into(  # type: ignore[no-untyped-def]
    x_env, pulse, target_window, speak, tmp_path: Path, monkeypatch
):
    require_tools("xterm", "git", fix="sudo apt-get install xterm git")
    elsewhere = _repo(tmp_path / "started-here", "SECRET_TOKEN = 'hunter2'")
    project = _repo(tmp_path / "project", "BUTTON_COLOUR = 'teal'")
    monkeypatch.chdir(elsewhere)  # where Holdtype was started
    stub = OpenAIChatStub(["Fix the login button colour"])  # STUB: a cloud-like LLM server
    write_llm_models([model_entry("stub", stub.api_base)])
    settings = Settings()
    settings.modes.active = "commit"
    settings.llm.model = "stub"
    eng = Engine(settings, enable_hotkeys=False, enable_audio=True)
    x_env.reset_keyboard()
    term = subprocess.Popen(["xterm", "-e", "sh", "-c", "cat > /dev/null"], env=x_env.env, cwd=project)
    try:
        wait_for(
            lambda: (
                x_env.run("xdotool", "getactivewindow", "getwindowpid", check=False).stdout.strip()
                == str(term.pid)
            ),
            timeout=30,
            what="the xterm to be active",
        )
        seen: list[ev.EngineEvent] = []
        eng.subscribe(seen.append)
        eng.start()
        assert eng.wait_ready(120)
        for n, focus in enumerate((None, target_window.focus)):
            if focus is not None:
                focus()
            eng.begin()
            wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
            pulse.play(speak("Fix the login button colour.", speed=150))
            eng.end()
            wait_for(
                lambda n=n: [e for e in seen if isinstance(e, ev.UtteranceResult)][n:],
                timeout=60,
                what="the result",
            )
        into_xterm, into_editor = (json.dumps(body) for body in stub.bodies)
        assert "BUTTON_COLOUR" in into_xterm and "hunter2" not in into_xterm
        # A window with no terminal in it cannot tell its folder: no diff at all, not Holdtype's.
        assert "BUTTON_COLOUR" not in into_editor and "hunter2" not in into_editor
    finally:
        eng.shutdown()
        term.terminate()
        term.wait(10)
        stub.close()
