"""Whether the graphical session named in the environment answers (before Qt is asked to).

Qt aborts the whole process when it cannot connect to its display: an ``ssh -X`` session that
expired, ``sudo`` without the Xauthority, a tmux started in an older session. The tray start
printed "Fatal Python error: Aborted" with two stacks, and Qt's own reason was lost with it.
"""

from __future__ import annotations

import os
import socket

from app.errors import short_reason


def x11_problem(display: str) -> str | None:
    """Why X display ``display`` cannot be opened (``cannot open X display :99: …``), or None."""
    try:
        from Xlib import display as xdisplay

        xdisplay.Display(display).close()
    except Exception as exc:  # Xlib's ConnectionClosedError, DisplayNameError, OSError...
        return f"cannot open X display {display}: {short_reason(exc)}"
    return None


def wayland_problem(name: str) -> str | None:
    """Why Wayland display ``name`` (``WAYLAND_DISPLAY``: a socket name in ``XDG_RUNTIME_DIR``,
    or a path) cannot be reached, or None."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    path = name if os.path.isabs(name) else os.path.join(runtime, name)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(path)
        except OSError as exc:
            return f"cannot reach Wayland display {name} ({path}): {short_reason(exc)}"
    return None


def session_problem() -> str | None:
    """Why no window can be shown in the session the environment names (DISPLAY and/or
    WAYLAND_DISPLAY; one that answers is enough, as Qt tries both), or None. Also None when
    neither is set (said elsewhere) or Qt is told to draw off screen (``QT_QPA_PLATFORM``)."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal", "vnc")):
        return None
    problems = []
    wayland = os.environ.get("WAYLAND_DISPLAY")
    if wayland:
        problems.append(wayland_problem(wayland))
        if problems[-1] is None:
            return None
    display = os.environ.get("DISPLAY")
    if display:
        problems.append(x11_problem(display))
        if problems[-1] is None:
            return None
    found = [p for p in problems if p]
    return "; ".join(found) if found else None
