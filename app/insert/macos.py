"""Insert text on macOS: pbcopy + Cmd-V sent through System Events (osascript), or typing.

Sending keys needs the Accessibility permission; without it osascript fails with error 1002
(or -1719) and the user is told where to grant it. macOS gives no signal when the target has
read the pasteboard, so the old text is restored after ``restore_delay_ms``. Untested here.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time

from app.config import PasteSettings
from app.insert.base import InsertResult, with_trailing_space
from app.insert.clipboard import ClipboardError, MacClipboard

log = logging.getLogger(__name__)

PERMISSION_HINT = (
    "macOS blocked the key press: allow Holdtype (or your terminal) in System Settings → "
    "Privacy & Security → Accessibility, then try again"
)


def accessibility_trusted() -> bool | None:
    """Whether this process may send keys (AXIsProcessTrusted); None when it cannot be asked."""
    try:
        import ctypes
        import ctypes.util

        lib = ctypes.cdll.LoadLibrary(ctypes.util.find_library("ApplicationServices") or "")
        return bool(lib.AXIsProcessTrusted())
    except (OSError, AttributeError):
        return None


AUTOMATION_HINT = (
    "macOS did not let Holdtype control System Events, which sends the key press: allow it in "
    "System Settings → Privacy & Security → Automation (Holdtype, or your terminal → System "
    "Events), then try again"
)


def osascript_problem(returncode: int, stderr: str) -> str | None:
    """What an osascript run that ended with ``returncode`` and ``stderr`` means for the user:
    None when it worked, the permission to grant when macOS refused it, else its last line.

    >>> osascript_problem(1, "Not authorized to send Apple events to System Events.") == AUTOMATION_HINT
    True
    >>> osascript_problem(1, "execution error: System Events got an error: osascript is not allowed")[:20]
    'macOS blocked the ke'
    """
    if returncode == 0:
        return None
    message = stderr.strip()
    if "-1743" in message or "not authorized to send apple events" in message.lower():
        return AUTOMATION_HINT
    if "1002" in message or "-1719" in message or "not allowed" in message:
        return PERMISSION_HINT
    return f"osascript failed: {message.splitlines()[-1] if message else returncode}"


def _osascript(script: str) -> str | None:
    try:
        out = subprocess.run(
            ["osascript", "-e", script], capture_output=True, text=True, timeout=30, check=False
        )
    except subprocess.TimeoutExpired:  # the first run waits on macOS's consent dialog
        return "osascript did not finish within 30 s (is macOS asking for a permission?); try again"
    return osascript_problem(out.returncode, out.stderr)


class MacInserter:
    """Pastes (or types) text into the focused macOS window."""

    name = "macos"

    def __init__(self, settings: PasteSettings) -> None:
        self.settings = settings
        self.clipboard = MacClipboard()

    def is_available(self) -> tuple[bool, str]:
        """Only on macOS, with pbcopy/osascript and the Accessibility permission."""
        if sys.platform != "darwin":
            return False, "the macOS backend only works on macOS"
        if not (shutil.which("pbcopy") and shutil.which("osascript")):
            return False, "pbcopy or osascript is missing"
        if accessibility_trusted() is False:
            return False, PERMISSION_HINT
        return True, f"{self.settings.strategy} with osascript"

    def insert(self, text: str) -> InsertResult:
        """Insert ``text`` (plus the configured trailing space) by the configured strategy."""
        text = with_trailing_space(text, self.settings)
        if not text:
            return InsertResult(True, self.settings.strategy, self.name)
        if self.settings.strategy == "type":
            quoted = text.replace("\\", "\\\\").replace('"', '\\"')
            error = _osascript(f'tell application "System Events" to keystroke "{quoted}"')
            return InsertResult(error is None, "type", self.name, error)
        items = self.clipboard.snapshot() if self.settings.restore_clipboard else None
        try:
            old = self.clipboard.get()  # (also when the items were read: if they cannot go back)
            self.clipboard.set(text)
        except ClipboardError as exc:
            return InsertResult(False, "paste", self.name, f"clipboard: {exc}")
        error = None
        try:
            error = _osascript('tell application "System Events" to keystroke "v" using command down')
            if error is None:
                time.sleep(self.settings.restore_delay_ms / 1000.0)  # no read notification on macOS
        finally:
            try:
                if error is None and self.settings.restore_clipboard:
                    if items is not None:
                        try:
                            self.clipboard.restore(items)
                        except ClipboardError as exc:
                            log.warning("could not put the pasteboard's items back: %s", exc)
                            self.clipboard.set(old) if old is not None else self.clipboard.clear()
                    else:
                        self.clipboard.set(old) if old is not None else self.clipboard.clear()
            except ClipboardError as exc:
                log.warning("could not restore the clipboard: %s", exc)
        return InsertResult(error is None, "paste", self.name, error, "cmd+v")
