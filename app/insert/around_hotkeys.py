"""Inserting dictated text without clashing with the hotkeys (the engine's output worker).

While a hotkey is held it has the keyboard grabbed (or Caps Lock on), so a paste made then
goes to Holdtype, or types case-inverted: text waits for the keys to come up. A text that
cannot go in is left on the clipboard, so it is never lost.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.errors import HoldtypeError

if TYPE_CHECKING:
    from app.config import Settings
    from app.hotkey.listener import HotkeyListener
    from app.insert.base import Inserter, InsertResult

log = logging.getLogger(__name__)

#: How much longer than the longest recording a held hotkey may hold text back: a release
#: the listener missed must not stop all output.
MISSED_RELEASE_S = 10.0


class HotkeyAwareInserter:
    """Puts text into the focused window with the inserter the paste settings choose."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        listener: Callable[[], HotkeyListener | None],
        on_clipboard_error: Callable[[str], None],
    ) -> None:
        """``settings`` and ``listener`` give those in force (either may be replaced while
        text goes in); ``on_clipboard_error`` is told when even the clipboard fails."""
        self._settings = settings
        self._listener = listener
        self._on_clipboard_error = on_clipboard_error
        self._inserter: Inserter | None = None

    def reset(self) -> None:
        """Choose the inserter again on the next insert (the paste settings changed)."""
        self._inserter = None

    def copy_to_clipboard(self, text: str) -> None:
        """Put ``text`` on the clipboard."""
        from app.insert.base import detect_backend
        from app.insert.clipboard import get_clipboard

        try:
            get_clipboard(detect_backend()).set(text)
        except HoldtypeError as exc:
            self._on_clipboard_error(str(exc))

    def wait_for_keys_up(self) -> bool:
        """Wait while a hotkey is held down; return whether it waited.

        Until its release, a held F9 or ``ctrl+alt+space`` (also the press that stops a toggle
        recording) has the whole keyboard grabbed, so the paste shortcut reached Holdtype
        instead of the window and the text was left on the clipboard; a held Caps Lock has the
        lock on, so text typed into a terminal came out case-inverted. A dictation ready while
        the key is held for the next one goes in right after the release, before the next.
        """
        waited = False
        longest = self._settings().audio.max_record_s + MISSED_RELEASE_S
        deadline = time.monotonic() + longest
        while (listener := self._listener()) is not None and not listener.wait_keys_up(0.2):
            waited = True  # looked up again each time: a listener may be replaced meanwhile
            if time.monotonic() > deadline:
                log.warning(
                    "a hotkey seems down for over %.0f s (a missed release?); inserting anyway", longest
                )
                break
        return waited

    def insert_between_holds(self, generation: int, text: str) -> InsertResult:
        """Insert ``text``; again once the key is up if nothing read the paste because the
        hotkey's grab took its shortcut (a hold began during the paste: see
        :meth:`wait_for_keys_up`).

        Only a shortcut the grab is known to have taken is sent again. A hotkey press that
        grabs nothing (Caps Lock), or came after the shortcut had gone out, left it with the
        window: one that did not read the clipboard is busy (or hung) and pastes when it wakes,
        so a second shortcut pasted the text twice. That text stays on the clipboard and in
        history, and the failure says so.
        """
        listener = self._listener()  # (the one whose grab was there: a new one counts from 0)
        presses, taken = (listener.presses, listener.keys_taken) if listener is not None else (0, 0)
        result = self.insert(text)
        if not result.ok and result.unread and listener is not None:
            if listener.keys_taken != taken:
                log.info(
                    "dictation #%d: a hotkey press took the paste shortcut; pasting after it", generation
                )
                self.wait_for_keys_up()
                result = self.insert(text)
            elif listener.presses != presses:
                log.info(
                    "dictation #%d: not pasted again after the hotkey press: the paste shortcut "
                    "reached the window, which may still paste it once it is less busy",
                    generation,
                )
        return result

    def _modifier_hotkeys(self) -> frozenset[str]:
        """The bound hotkeys of the listener in force that are modifier keys alone: a paste
        leaves them held (one may be down for the next dictation already)."""
        listener = self._listener()
        return frozenset() if listener is None else listener.modifier_keys

    def insert(self, text: str) -> InsertResult:
        """Insert ``text`` now; when that fails, the text is left on the clipboard."""
        from app.insert.base import InsertResult, choose_inserter

        inserter = self._inserter  # read once: applied settings may replace it meanwhile
        if inserter is None:
            try:
                inserter = self._inserter = choose_inserter(self._settings().paste)
            except HoldtypeError as exc:
                self.copy_to_clipboard(text)
                return InsertResult(False, "paste", "none", str(exc))
            from app.insert.x11 import X11Inserter

            if isinstance(inserter, X11Inserter):
                inserter.between_words = self.wait_for_keys_up
                inserter.hotkey_keys = self._modifier_hotkeys
        listener = self._listener()
        try:
            # Its Shift (a capital typed) and Ctrl (the paste) must not spoil a hotkey press.
            with listener.sending_keys() if listener is not None else contextlib.nullcontext():
                result = inserter.insert(text)
        except Exception as exc:  # an inserter's bug or a stuck tool must not lose the text
            log.exception("inserting the text failed")
            self.copy_to_clipboard(text)
            return InsertResult(False, "paste", type(inserter).__name__, f"paste failed: {exc}")
        if not result.ok and result.method == "type":
            self.copy_to_clipboard(text)  # a failed paste leaves it there, and the notice says so
        return result
