"""Which app has the keyboard focus: the names a mode can be tied to (``modes.apps``).

Each backend names the focused window's app its own way:

- X11: the window's WM_CLASS, class first (``("firefox", "Navigator")``);
- Wayland: the app id sway or Hyprland report (``org.gnome.Evolution``); GNOME and KDE do not
  say which window has the focus, so there no app is known;
- Windows: the foreground window's program, as ``thunderbird`` and ``thunderbird.exe``;
- macOS: the frontmost app's name and bundle id (``Mail``, ``com.apple.mail``), asked of
  System Events, which needs the Accessibility permission pasting needs anyway.

Each answer is a tuple of names, the one to show first (the history keeps it), any of which
a ``modes.apps`` entry may use (any case), or None when it cannot be told.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from app.insert.base import Backend

log = logging.getLogger(__name__)

#: How long the macOS query may take before dictation goes on without it.
OSASCRIPT_TIMEOUT_S = 1.0


class FocusedWindow(NamedTuple):
    """The window that has the keyboard focus: its app's names (None when unknown) and, where
    the desktop says (X11, sway, Hyprland), the process that owns it."""

    names: tuple[str, ...] | None
    pid: int | None = None


def focused_app(backend: Backend) -> tuple[str, ...] | None:
    """The names of the app whose window has the keyboard focus under ``backend``, or None."""
    return focused_window(backend).names


def focused_window(backend: Backend) -> FocusedWindow:
    """The window that has the keyboard focus under ``backend`` (see :class:`FocusedWindow`)."""
    try:
        if backend == "x11":
            from app.insert.x11 import active_window

            window = active_window()
            wm_class = window.wm_class  # (instance, class): the class names the app
            return FocusedWindow((*wm_class[1:], wm_class[0]) if wm_class else None, window.pid)
        if backend == "wayland":
            from app.insert.wayland import focused_wayland_window

            app_id, pid = focused_wayland_window()
            return FocusedWindow((app_id,) if app_id else None, pid)
        if backend == "windows":
            return FocusedWindow(_windows_foreground_program())
        return FocusedWindow(_macos_frontmost_app())
    except Exception as exc:  # never let a query stop dictation
        log.debug("could not tell the focused app (%s): %s", backend, exc)
        return FocusedWindow(None)


def _windows_foreground_program() -> tuple[str, ...] | None:
    """The program of the foreground window (``("thunderbird", "thunderbird.exe")``).

    Not exercised on Linux CI (user32 exists on Windows only): keep it to the API calls.
    """
    if sys.platform != "win32":
        return None
    import ctypes
    from ctypes import wintypes

    user32 = ctypes.WinDLL("user32", use_last_error=True)
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    user32.GetForegroundWindow.restype = wintypes.HWND
    user32.GetWindowThreadProcessId.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.DWORD)]
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    kernel32.QueryFullProcessImageNameW.argtypes = [
        wintypes.HANDLE,
        wintypes.DWORD,
        wintypes.LPWSTR,
        ctypes.POINTER(wintypes.DWORD),
    ]
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    window = user32.GetForegroundWindow()
    if not window:
        return None
    pid = wintypes.DWORD()
    user32.GetWindowThreadProcessId(window, ctypes.byref(pid))
    process_query_limited_information = 0x1000
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid.value)
    if not handle:
        return None
    try:
        size = wintypes.DWORD(1024)
        buffer = ctypes.create_unicode_buffer(size.value)
        if not kernel32.QueryFullProcessImageNameW(handle, 0, buffer, ctypes.byref(size)):
            return None
    finally:
        kernel32.CloseHandle(handle)
    program = Path(buffer.value.replace("\\", "/"))
    return (program.stem, program.name)


_FRONTMOST = (
    'tell application "System Events" to tell (first application process whose frontmost is true) '
    "to return (name as text) & linefeed & (bundle identifier as text)"
)


def _macos_frontmost_app() -> tuple[str, ...] | None:
    """The frontmost app's name and bundle id (``("Mail", "com.apple.mail")``).

    Not exercised on Linux CI (osascript exists on macOS only).
    """
    if sys.platform != "darwin":
        return None
    try:
        out = subprocess.run(
            ["osascript", "-e", _FRONTMOST],
            capture_output=True,
            text=True,
            timeout=OSASCRIPT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    names = tuple(line.strip() for line in out.stdout.splitlines() if line.strip())
    return names if out.returncode == 0 and names else None
