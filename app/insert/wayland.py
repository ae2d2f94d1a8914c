"""Insert text on Wayland: wl-copy + a paste shortcut sent with wtype (or ydotool), or typing.

``wl-copy --paste-once --foreground`` serves the text to exactly one paste and then exits, so its
exit tells us the target has read it. A clipboard manager (cliphist's ``wl-paste --watch``) reads
each new clipboard at once, before the paste key: when the one read is gone that soon, the text
is served again to every reader and put away ``restore_delay_ms`` after the key (Wayland does
not say who reads). The old clipboard's text is put back, or with no text its picture.

Wayland compositors decide whether virtual keyboards are allowed: wtype needs the
virtual-keyboard protocol (wlroots compositors, KDE; not GNOME), ydotool needs its ``ydotoold``
daemon and access to ``/dev/uinput``. :meth:`WaylandInserter.is_available` says which of these
is missing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from app.config import PasteSettings
from app.insert.base import InsertResult, window_in, with_trailing_space
from app.insert.clipboard import IMAGE_TARGETS, TEXT_TARGETS, ClipboardError, WaylandClipboard
from app.system_packages import install_command

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 3.0
#: wtype waits this long (ms) before its first key: sent at once, the first key of each run was
#: lost on sway and Hyprland (its virtual keyboard's keymap not in place yet): "Hello" typed
#: "ello", and every other Ctrl+V reached the window as a plain "v", or not at all.
WTYPE_START_MS = 50
#: A clipboard manager (cliphist's and clipman's ``wl-paste --watch``, KDE's Klipper) reads a new
#: clipboard within this long of it being set, before any paste key went out.
MANAGER_READ_S = 0.1
# Linux input event codes for ydotool: KEY_LEFTCTRL 29, KEY_LEFTSHIFT 42, KEY_V 47.
_YDOTOOL_CTRL_V = ["29:1", "47:1", "47:0", "29:0"]
_YDOTOOL_CTRL_SHIFT_V = ["29:1", "42:1", "47:1", "47:0", "42:0", "29:0"]
#: How long the compositor gets to say which window has the focus.
IPC_TIMEOUT_S = 2.0


def _ydotool_ready() -> bool:
    socket = os.environ.get("YDOTOOL_SOCKET") or "/tmp/.ydotool_socket"
    return shutil.which("ydotool") is not None and Path(socket).exists()


def paste_keys(tool: str, terminal: bool) -> list[str]:
    """The command that sends the paste shortcut with ``tool`` (wtype or ydotool):
    Ctrl+Shift+V for a ``terminal``, else Ctrl+V.

    >>> paste_keys("wtype", terminal=True)
    ['wtype', '-s', '50', '-M', 'ctrl', '-M', 'shift', 'v', '-m', 'shift', '-m', 'ctrl']
    """
    if tool == "ydotool":
        return ["ydotool", "key", *(_YDOTOOL_CTRL_SHIFT_V if terminal else _YDOTOOL_CTRL_V)]
    held = ["ctrl", "shift"] if terminal else ["ctrl"]
    press = [arg for name in held for arg in ("-M", name)]
    release = [arg for name in reversed(held) for arg in ("-m", name)]
    return ["wtype", "-s", str(WTYPE_START_MS), *press, "v", *release]


def focused_app_id() -> str | None:
    """The app id (or X11 class) of the focused window, asked of sway or Hyprland through their
    IPC; None on other compositors (GNOME and KDE do not say) or when it cannot be told."""
    return focused_wayland_window()[0]


def focused_wayland_window() -> tuple[str | None, int | None]:
    """The focused window's app id (or X11 class) and process id, as sway or Hyprland report
    them through their IPC; (None, None) on other compositors or when it cannot be told."""
    if os.environ.get("SWAYSOCK") and shutil.which("swaymsg"):
        tree = _ipc_json(["swaymsg", "-r", "-t", "get_tree"])
        node = _focused(tree) if isinstance(tree, dict) else None
        if node is not None:
            props = node.get("window_properties") or {}
            return node.get("app_id") or props.get("class") or None, _pid(node.get("pid"))
        return None, None
    if os.environ.get("HYPRLAND_INSTANCE_SIGNATURE") and shutil.which("hyprctl"):
        window = _ipc_json(["hyprctl", "activewindow", "-j"])
        if isinstance(window, dict):
            return window.get("class") or window.get("initialClass") or None, _pid(window.get("pid"))
    return None, None


def _pid(value: object) -> int | None:
    """A process id as a compositor reports it (a positive int), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _ipc_json(args: list[str]) -> object:
    """A compositor command's JSON answer, or None."""
    try:
        out = subprocess.run(args, capture_output=True, timeout=IPC_TIMEOUT_S, check=False)
        return json.loads(out.stdout) if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None


def _focused(node: dict[str, Any]) -> dict[str, Any] | None:
    """The focused window in a sway tree."""
    if node.get("focused") and node.get("type") in ("con", "floating_con"):
        return node
    for child in (*node.get("nodes", ()), *node.get("floating_nodes", ())):
        if isinstance(child, dict) and (found := _focused(child)) is not None:
            return found
    return None


class WaylandInserter:
    """Pastes (or types) text into the focused Wayland window."""

    name = "wayland"

    def __init__(self, settings: PasteSettings, read_timeout_s: float = READ_TIMEOUT_S) -> None:
        self.settings = settings
        self.read_timeout_s = read_timeout_s
        self.clipboard = WaylandClipboard()

    def _keys_tool(self) -> str | None:
        if shutil.which("wtype"):
            return "wtype"
        if _ydotool_ready():
            return "ydotool"
        return None

    def is_available(self) -> tuple[bool, str]:
        """Needs WAYLAND_DISPLAY, wl-clipboard (for pasting) and wtype or a running ydotoold."""
        if not os.environ.get("WAYLAND_DISPLAY"):
            if os.environ.get("DISPLAY"):
                return False, "WAYLAND_DISPLAY is not set (X11): holdtype config set paste.backend x11"
            return False, "WAYLAND_DISPLAY is not set: no desktop session here; run Holdtype inside yours"
        if self.settings.strategy == "paste" and not (shutil.which("wl-copy") and shutil.which("wl-paste")):
            return False, f"wl-clipboard is not installed ({install_command('wl-clipboard')})"
        tool = self._keys_tool()
        if tool is None:
            return False, (
                "no way to send keys: install wtype (wlroots compositors, KDE) or run ydotoold "
                f"({install_command('ydotool')}; needs /dev/uinput); GNOME allows neither for paste"
            )
        return True, f"{self.settings.strategy} with {tool}"

    def insert(self, text: str) -> InsertResult:
        """Insert ``text`` (plus the configured trailing space) by the configured strategy."""
        text = with_trailing_space(text, self.settings)
        if not text:
            return InsertResult(True, self.settings.strategy, self.name)
        tool = self._keys_tool()
        if tool is None:
            return InsertResult(False, self.settings.strategy, self.name, self.is_available()[1])
        if self.settings.strategy == "type":
            args = (
                ["wtype", "-s", str(WTYPE_START_MS), "--", text]
                if tool == "wtype"
                else ["ydotool", "type", "--", text]
            )
            error = _run(args, timeout=30 + len(text) * 0.05)
            return InsertResult(error is None, "type", self.name, error)
        return self._paste(text, tool)

    def _paste(self, text: str, tool: str) -> InsertResult:
        try:
            old, picture = self._read_old()
        except ClipboardError as exc:
            return InsertResult(False, "paste", self.name, f"cannot read the clipboard: {exc}")
        terminal = window_in((focused_app_id() or "",), self.settings.terminal_classes)
        keys = paste_keys(tool, terminal)
        shortcut = "ctrl+shift+v" if terminal else "ctrl+v"
        server: subprocess.Popen[bytes] | None = None
        error: str | None = None
        try:
            server = _serve(text, once=True)
            try:  # its one read gone at once: a clipboard manager's, not the window's
                server.wait(timeout=MANAGER_READ_S)
                log.debug("a clipboard manager read the clipboard first; pasting without a read check")
                server = _serve(text, once=False)
                error = _run(keys)
                time.sleep(max(self.settings.restore_delay_ms / 1000.0, MANAGER_READ_S * 3))
            except subprocess.TimeoutExpired:
                error = _run(keys)
                if error is None:
                    try:
                        server.wait(timeout=self.read_timeout_s)
                    except subprocess.TimeoutExpired:
                        error = (
                            f"the active window did not read the clipboard within {self.read_timeout_s:.0f} s"
                        )
        except OSError as exc:
            error = f"paste failed: {exc}"
        finally:
            if server is not None and server.poll() is None:
                server.terminate()
                server.wait(timeout=5)
            self._settle(text, old, picture, error)
        return InsertResult(error is None, "paste", self.name, error, shortcut)

    def _read_old(self) -> tuple[str | None, tuple[str, bytes] | None]:
        """The clipboard's text, or (none) its picture as (type, bytes), to put back."""
        if not self.settings.restore_clipboard:
            return None, None
        types = self.clipboard.types()
        if types and not any(t.startswith("text/") or t in TEXT_TARGETS for t in types):
            kind = next((t for t in IMAGE_TARGETS if t in types), None)
            data = self.clipboard.get_type(kind) if kind else None
            return None, (kind, data) if kind and data else None
        return self.clipboard.get(), None

    def _settle(
        self, text: str, old: str | None, picture: tuple[str, bytes] | None, error: str | None
    ) -> None:
        """Leave the dictated text on the clipboard (a failed paste, or no restoring), else
        the old text or picture, else nothing."""
        try:
            if error is not None or not self.settings.restore_clipboard:
                self.clipboard.set(text)
            elif old is not None:
                self.clipboard.set(old)
            elif picture is not None:
                self.clipboard.set_type(*picture)
            else:
                self.clipboard.clear()
        except ClipboardError as exc:
            log.warning("could not settle the clipboard: %s", exc)


def _serve(text: str, once: bool) -> subprocess.Popen[bytes]:
    """wl-copy serving ``text`` in the foreground: to one read (``once``), or until stopped."""
    server = subprocess.Popen(
        [
            "wl-copy",
            "--foreground",
            *(["--paste-once"] if once else []),
            "--type",
            "text/plain;charset=utf-8",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert server.stdin is not None
    server.stdin.write(text.encode("utf-8"))
    server.stdin.close()
    return server


def _run(args: list[str], timeout: float = 30.0) -> str | None:
    """Run a key tool; None on success, else a one-line error."""
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{args[0]} failed: {exc}"
    if out.returncode != 0:
        lines = (out.stderr or out.stdout).strip().splitlines()
        return f"{args[0]} failed: {lines[-1] if lines else f'exit {out.returncode}'}"
    return None
