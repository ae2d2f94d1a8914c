"""Which folder the user works in, inside the window they dictate into (for the staged diff).

A mode with ``include_git_diff`` (the built-in ``commit``) sends ``git diff --staged`` along
with the dictation. From the command line the repository is the current folder. The running app
(tray or ``run --no-tray``) was started wherever it was started (the home folder at login, or a
project's folder): reading that folder's diff sent the staged changes of an unrelated repository,
secrets included, to the model. What counts there is the folder of the terminal dictated into.

:func:`foreground_directory` answers that on Linux from ``/proc``: among the processes the
focused window's process started, those in the foreground of a terminal (their process group is
their terminal's foreground group: the shell at its prompt, or ``git commit``'s editor). When
they all sit in one terminal, the newest one's working folder is the answer. A window with no
terminal in it (an editor, a browser), several terminals (tabs, or one server process for
every window, as gnome-terminal has), or a terminal running tmux, screen or ssh (the folder
worked in is not theirs), cannot tell which folder is meant: None, and the mode goes without
a diff rather than send the wrong one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)

PROC = Path("/proc")
# Foreground programs whose own folder is not the one worked in: a terminal multiplexer's
# client (its panes' shells belong to its server, elsewhere), a session on another machine.
ELSEWHERE = frozenset(
    {"tmux", "tmux: client", "screen", "zellij", "ssh", "mosh-client", "et", "docker", "podman",
     "kubectl", "distrobox", "toolbox", "vagrant", "lxc", "incus", "machinectl", "sudo"}
)  # fmt: skip


class _Process(NamedTuple):
    name: str  # the command name (comm)
    pid: int
    ppid: int
    pgrp: int
    tty: int  # the controlling terminal's device number (0: none)
    tpgid: int  # the foreground process group of that terminal (-1: none)
    started: int  # clock ticks after boot


def _read_stat(pid_dir: Path) -> _Process | None:
    """One ``/proc/<pid>/stat``; None when the process went away meanwhile."""
    try:
        text = (pid_dir / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session tty_nr tpgid flags ... starttime(22nd)": the command
    # name may hold spaces and parentheses, so the fields are counted from its closing one.
    fields = text[text.rfind(")") + 2 :].split()
    name = text[text.find("(") + 1 : text.rfind(")")]
    try:
        return _Process(
            name,
            int(pid_dir.name),
            int(fields[1]),
            int(fields[2]),
            int(fields[4]),
            int(fields[5]),
            int(fields[19]),
        )
    except (IndexError, ValueError):
        return None


def foreground_directory(pid: int | None, proc: Path = PROC) -> Path | None:
    """The working folder of the foreground program in the terminal that process ``pid`` (a
    window's owner) runs, or None when that cannot be told (see the module docstring).

    None also off Linux, and for ``pid`` None.
    """
    if pid is None or not sys.platform.startswith("linux") or not proc.is_dir():
        return None
    children: dict[int, list[_Process]] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit() and (process := _read_stat(entry)) is not None:
            children.setdefault(process.ppid, []).append(process)
    foreground: list[_Process] = []
    todo, seen = [pid], {pid}
    while todo:
        for child in children.get(todo.pop(), ()):
            if child.pid in seen:  # (a pid reused during the scan)
                continue
            seen.add(child.pid)
            todo.append(child.pid)
            if child.tty and child.pgrp == child.tpgid:
                foreground.append(child)
    if len({p.tty for p in foreground}) != 1:
        log.debug("window process %s: %d terminal(s) in the foreground: folder unknown", pid, len(foreground))
        return None
    if any(p.name in ELSEWHERE for p in foreground):
        log.debug("window process %s runs tmux, ssh or the like: folder unknown", pid)
        return None
    newest = max(foreground, key=lambda p: (p.started, p.pid))
    with contextlib.suppress(OSError):
        return Path(os.readlink(proc / str(newest.pid) / "cwd"))
    return None
