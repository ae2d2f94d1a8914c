"""Insert text on Windows: the Win32 clipboard plus Ctrl+V sent with pynput, or typing.

Windows gives no signal when the target has read the clipboard, so the old text is restored
after ``restore_delay_ms``. Untested here (no Windows in CI); kept small on purpose.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from app.config import PasteSettings
from app.insert.base import InsertResult, with_trailing_space
from app.insert.clipboard import ClipboardError, WindowsClipboard, get_clipboard, win_restore_plan

log = logging.getLogger(__name__)

#: VK_V: the key that pastes with Ctrl, by its position, whatever the layout types with it.
VK_V = 0x56
#: Modifiers the user's hotkey may still hold down when the paste goes out: virtual key code →
#: pynput ``Key`` name (the right-hand ones are extended keys; pynput's members say so).
HOTKEY_MODIFIERS = {
    0xA4: "alt_l",  # VK_LMENU
    0xA5: "alt_r",  # VK_RMENU (AltGr)
    0xA0: "shift_l",  # VK_LSHIFT
    0xA1: "shift_r",  # VK_RSHIFT
    0x5B: "cmd_l",  # VK_LWIN
    0x5C: "cmd_r",  # VK_RWIN
    0xA2: "ctrl_l",  # VK_LCONTROL
    0xA3: "ctrl_r",  # VK_RCONTROL
}


def held_modifiers(key_state: Callable[[int], int]) -> list[str]:
    """The pynput names of the :data:`HOTKEY_MODIFIERS` that ``key_state`` (``GetAsyncKeyState``)
    says are down now (its high bit, 0x8000), in the table's order.

    Only those are released before the paste: a key-up of Alt or Win the user never pressed
    opens the window's menu bar or the Start menu.

    >>> held_modifiers(lambda vk: -32768 if vk == 0xA5 else 0)
    ['alt_r']
    """
    return [name for vk, name in HOTKEY_MODIFIERS.items() if key_state(vk) & 0x8000]


def _async_key_state(vk: int) -> int:
    """``GetAsyncKeyState(vk)`` (Windows only)."""
    import ctypes

    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    user32.GetAsyncKeyState.argtypes = [ctypes.c_int]
    user32.GetAsyncKeyState.restype = ctypes.c_short
    return int(user32.GetAsyncKeyState(vk))


def _restore(
    board: WindowsClipboard, old: str | None, saved: list[tuple[int, bytes]] | None, had_formats: bool
) -> None:
    """Put the clipboard back as it was before the paste (see :func:`win_restore_plan`); when
    its formats cannot all be set back, its text alone. Failures are logged (the dictated text
    is in the history)."""
    plan = win_restore_plan(old, saved, had_formats)
    try:
        if plan == "formats" and saved:
            try:
                board.restore(saved)
                return
            except ClipboardError as exc:
                log.warning("could not put back every clipboard format, only its text: %s", exc)
                plan = win_restore_plan(old, None, had_formats)
        if plan == "text" and old is not None:
            board.set(old)
        elif plan == "clear":
            board.clear()
    except ClipboardError as exc:
        log.warning("could not restore the clipboard: %s", exc)


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
        from pynput.keyboard import Controller, Key, KeyCode

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
        assert isinstance(board, WindowsClipboard)
        error: str | None = None
        try:
            old = board.get()
        except ClipboardError as exc:
            return InsertResult(False, "paste", self.name, f"cannot read the clipboard: {exc}")
        saved: list[tuple[int, bytes]] | None = None
        had_formats = True  # unknown: never emptied
        if self.settings.restore_clipboard:
            try:  # a picture, files, rich text: all put back after the paste
                had_formats = board.format_count() > 0
                saved = board.snapshot()
            except Exception as exc:  # the text alone is put back, as before
                log.warning("cannot save the clipboard's other formats: %s", exc)
        try:
            board.set(text)
            for held in held_modifiers(_async_key_state):  # the user's hotkey, if still down
                keys.release(Key[held])
            with keys.pressed(Key.ctrl):
                # by virtual key: a character 'v' goes out as a Unicode packet (no Ctrl+V at all)
                # on a layout without a 'v' key (Russian, Greek...)
                keys.tap(KeyCode.from_vk(VK_V))
            time.sleep(self.settings.restore_delay_ms / 1000.0)  # no read notification on Windows
        except Exception as exc:
            error = f"paste failed: {exc}"
        finally:
            if error is None and self.settings.restore_clipboard:
                _restore(board, old, saved, had_formats)
        return InsertResult(error is None, "paste", self.name, error, "ctrl+v")
