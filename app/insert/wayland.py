"""Insert text on Wayland: wl-copy + a paste shortcut sent with wtype (or ydotool), or typing.

``wl-copy --paste-once --foreground`` serves the text to exactly one paste and then exits, so its
exit tells us the target has read it. Wayland compositors decide whether virtual keyboards are
allowed: wtype needs the virtual-keyboard protocol (wlroots compositors, KDE; not GNOME), ydotool
needs its ``ydotoold`` daemon and access to ``/dev/uinput``. :meth:`WaylandInserter.is_available`
says which of these is missing.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from app.config import PasteSettings
from app.insert.base import InsertResult, with_trailing_space
from app.insert.clipboard import ClipboardError, WaylandClipboard

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 3.0
# Linux input event codes for ydotool: KEY_LEFTCTRL 29, KEY_LEFTSHIFT 42, KEY_V 47.
_YDOTOOL_CTRL_V = ["29:1", "47:1", "47:0", "29:0"]


def _ydotool_ready() -> bool:
    socket = os.environ.get("YDOTOOL_SOCKET") or "/tmp/.ydotool_socket"
    return shutil.which("ydotool") is not None and Path(socket).exists()


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
            return False, "wl-clipboard is not installed (sudo apt-get install wl-clipboard)"
        tool = self._keys_tool()
        if tool is None:
            return False, (
                "no way to send keys: install wtype (wlroots compositors, KDE) or run ydotoold "
                "(sudo apt-get install ydotool; needs /dev/uinput); GNOME allows neither for paste"
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
            args = ["wtype", "--", text] if tool == "wtype" else ["ydotool", "type", "--", text]
            error = _run(args, timeout=30 + len(text) * 0.05)
            return InsertResult(error is None, "type", self.name, error)
        return self._paste(text, tool)

    def _paste(self, text: str, tool: str) -> InsertResult:
        try:
            old = self.clipboard.get()
        except ClipboardError as exc:
            return InsertResult(False, "paste", self.name, f"cannot read the clipboard: {exc}")
        server: subprocess.Popen[bytes] | None = None
        error: str | None = None
        try:
            server = subprocess.Popen(
                ["wl-copy", "--foreground", "--paste-once", "--type", "text/plain;charset=utf-8"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            assert server.stdin is not None
            server.stdin.write(text.encode("utf-8"))
            server.stdin.close()
            keys = (
                ["wtype", "-M", "ctrl", "v", "-m", "ctrl"]
                if tool == "wtype"
                else ["ydotool", "key", *_YDOTOOL_CTRL_V]
            )
            error = _run(keys)
            if error is None:
                try:
                    server.wait(timeout=self.read_timeout_s)
                except subprocess.TimeoutExpired:
                    error = f"the active window did not read the clipboard within {self.read_timeout_s:.0f} s"
        except OSError as exc:
            error = f"paste failed: {exc}"
        finally:
            if server is not None and server.poll() is None:
                server.terminate()
                server.wait(timeout=5)
            try:
                if error is not None or not self.settings.restore_clipboard:
                    self.clipboard.set(text)
                elif old is not None:
                    self.clipboard.set(old)
                else:
                    self.clipboard.clear()
            except ClipboardError as exc:
                log.warning("could not settle the clipboard: %s", exc)
        return InsertResult(error is None, "paste", self.name, error, "ctrl+v")


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
