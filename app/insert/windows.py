"""Insert text on Windows: the Win32 clipboard plus Ctrl+V sent with pynput, or typing.

Windows gives no signal when the target has read the clipboard, so the old text is restored
after ``restore_delay_ms``. Untested here (no Windows in CI); kept small on purpose.
"""

from __future__ import annotations

import logging
import sys
import time

from app.config import PasteSettings
from app.insert.base import InsertResult, with_trailing_space
from app.insert.clipboard import ClipboardError, get_clipboard

log = logging.getLogger(__name__)


class WindowsInserter:
    """Pastes (or types) text into the focused Windows window."""

    name = "windows"

    def __init__(self, settings: PasteSettings) -> None:
        self.settings = settings

    def is_available(self) -> tuple[bool, str]:
        """Only on Windows, with pynput importable."""
        if not sys.platform.startswith("win"):
            return False, "the Windows backend only works on Windows"
        try:
            from pynput import keyboard  # noqa: F401
        except ImportError as exc:
            return False, f"pynput cannot send keys: {exc}"
        return True, f"{self.settings.strategy} with pynput"

    def insert(self, text: str) -> InsertResult:
        """Insert ``text`` (plus the configured trailing space) by the configured strategy."""
        from pynput.keyboard import Controller, Key

        text = with_trailing_space(text, self.settings)
        if not text:
            return InsertResult(True, self.settings.strategy, self.name)
        keys = Controller()
        if self.settings.strategy == "type":
            try:
                keys.type(text)
            except Exception as exc:  # pynput raises Controller.InvalidCharacterException and OSError
                return InsertResult(False, "type", self.name, f"typing failed: {exc}")
            return InsertResult(True, "type", self.name)
        board = get_clipboard("windows")
        error: str | None = None
        try:
            old = board.get()
        except ClipboardError as exc:
            return InsertResult(False, "paste", self.name, f"cannot read the clipboard: {exc}")
        try:
            board.set(text)
            for held in (Key.alt, Key.alt_r, Key.shift, Key.cmd, Key.ctrl_r):  # the user's hotkey
                keys.release(held)
            with keys.pressed(Key.ctrl):
                keys.tap("v")
            time.sleep(self.settings.restore_delay_ms / 1000.0)  # no read notification on Windows
        except Exception as exc:
            error = f"paste failed: {exc}"
        finally:
            try:
                if error is None and self.settings.restore_clipboard:
                    board.set(old) if old is not None else board.clear()
            except ClipboardError as exc:
                log.warning("could not restore the clipboard: %s", exc)
        return InsertResult(error is None, "paste", self.name, error, "ctrl+v")
