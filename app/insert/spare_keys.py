"""Type characters no key of the keyboard makes (é, Ü, €, 日) on X11, through spare keycodes.

``xdotool type`` and ``xdotool key`` map such a character onto a spare keycode, send the key
and map it back at once; a window that reads the key after the mapping is gone drops the
character ("Café naïve Über" came out "Caf nave ber" when the machine was busy). Here each
character keeps its keycode while a text is typed and for :data:`KEEP_S` after it, and the key
is sent with XTest: the mapping changes before the key events, in one X connection, so every
client sees the new mapping first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

#: How long the spare keycodes keep their characters after the last one was typed.
KEEP_S = 2.0
#: How long after its key was sent a keycode may be lent to another character. A window reads
#: the character of a key through the mapping of the moment it handles the event: with more
#: distinct characters in a row than spare keycodes (Xvfb has 19; a Japanese sentence has more)
#: a keycode lent again at once turned the earlier key into the new character.
REUSE_S = 0.5


def keysym_of(char: str) -> int:
    """The X keysym of ``char``: Latin-1 characters have their code point, others the
    Unicode keysym (0x01000000 + code point)."""
    code = ord(char)
    return code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x01000000 | code


class SpareKeys:
    """Spare keycodes of one X display, lent to characters while text is typed."""

    def __init__(self, display_name: str | None = None) -> None:
        from Xlib import XK
        from Xlib import display as xdisplay

        self._d: Any = xdisplay.Display(display_name)
        first = self._d.display.info.min_keycode
        count = self._d.display.info.max_keycode - first + 1
        mapping = self._d.get_keyboard_mapping(first, count)
        self._width = len(mapping[0]) if mapping else 2
        self._free = [first + i for i, syms in enumerate(mapping) if not any(syms)]
        self._lent: dict[str, int] = {}  # character -> keycode, oldest first
        self._sent: dict[int, float] = {}  # keycode -> when its key was last sent (monotonic)
        self._shift = self._d.keysym_to_keycode(XK.string_to_keysym("Shift_L"))
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    @property
    def usable(self) -> bool:
        """Whether there is a spare keycode and a Shift key to type with."""
        return bool(self._free) and bool(self._shift)

    def type(self, text: str) -> None:
        """Type every character of ``text`` (each its own key press)."""
        from Xlib import X
        from Xlib.ext import xtest

        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            for char in text:
                lower, upper = char.lower(), char.upper()
                cased = len(lower) == len(upper) == 1 and lower != upper
                code = self._keycode(lower if cased else char, upper if cased else char)
                shift = cased and char == upper
                if shift:
                    xtest.fake_input(self._d, X.KeyPress, self._shift)
                xtest.fake_input(self._d, X.KeyPress, code)
                xtest.fake_input(self._d, X.KeyRelease, code)
                if shift:
                    xtest.fake_input(self._d, X.KeyRelease, self._shift)
                self._d.sync()
                self._sent[code] = time.monotonic()
            self._timer = threading.Timer(KEEP_S, self.restore)
            self._timer.daemon = True
            self._timer.start()

    def missing(self, chars: Iterable[str]) -> set[str]:
        """Those of ``chars`` that no key of the current keyboard map makes, the keycodes
        lent here aside (read afresh: ``setxkbmap`` may have changed the layout)."""
        info = self._d.display.info
        with self._lock:
            mapping = self._d.get_keyboard_mapping(info.min_keycode, info.max_keycode - info.min_keycode + 1)
            lent = set(self._lent.values())
        present = {sym for i, syms in enumerate(mapping) if info.min_keycode + i not in lent for sym in syms}
        return {char for char in chars if keysym_of(char) not in present}

    def _keycode(self, lower: str, upper: str) -> int:
        """The keycode lent to ``lower`` (and ``upper`` with Shift), lent now if need be: a
        free one, else the one lent longest ago (its character was typed well before)."""
        code = self._lent.pop(lower, None)
        if code is None:
            if self._free:
                code = self._free.pop(0)
            else:
                code = self._lent.pop(next(iter(self._lent)))
                wait = REUSE_S - (time.monotonic() - self._sent.get(code, 0.0))
                if wait > 0:  # its last key may not be read yet: typing slows to the windows' pace
                    time.sleep(wait)
            levels = [keysym_of(lower), keysym_of(upper)] * (self._width // 2 + 1)
            self._d.change_keyboard_mapping(code, [levels[: self._width]])
            self._d.sync()
        self._lent[lower] = code  # now the newest
        return code

    def restore(self) -> None:
        """Give the lent keycodes back their empty mapping."""
        with self._lock:
            for code in self._lent.values():
                self._d.change_keyboard_mapping(code, [[0] * self._width])
                self._free.append(code)
            self._lent.clear()
            self._d.sync()

    def close(self) -> None:
        """Restore the keycodes now and close the connection."""
        if self._timer is not None:
            self._timer.cancel()
        try:
            self.restore()
        finally:
            self._d.close()


_spare: dict[str | None, SpareKeys] = {}
_spare_lock = threading.Lock()


def spare_keys() -> SpareKeys | None:
    """The :class:`SpareKeys` of ``$DISPLAY`` (one per display, kept), or None when it has
    none to lend or cannot be opened (then xdotool types as it can)."""
    display_name = os.environ.get("DISPLAY")
    with _spare_lock:
        keys = _spare.get(display_name)
        if keys is None:
            try:
                keys = SpareKeys(display_name)
            except Exception as exc:
                log.debug("no spare keycodes: %s", exc)
                return None
            if not keys.usable:
                keys.close()
                return None
            _spare[display_name] = keys
        return keys


def forget_spare_keys() -> None:
    """Drop the kept connections (a broken one is opened afresh next time)."""
    with _spare_lock:
        for keys in _spare.values():
            with contextlib.suppress(Exception):
                keys.close()
        _spare.clear()
