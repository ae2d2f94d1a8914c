"""Keep the hotkey from the focused window (X11): a passive grab of it on the root window.

pynput's listener watches every key through the RECORD extension, which does not stop a key from
also reaching the focused window: holding F9 sent F9 and its auto-repeats to the editor, and
ctrl+alt+space let go of ctrl first typed a row of spaces. Grabbed (``XGrabKey`` on the root
window), a bound key goes to Holdtype alone, and from its press to its release the whole keyboard
does; RECORD still sees every event, so the listener works as before.

Not grabbed: Caps Lock (a tap must still toggle the lock, see ``listener``), keys that are
modifiers themselves (``ctrl_r`` is still Ctrl for every other shortcut), and the cancel key (Esc
belongs to the focused window when no recording runs). A key another program has grabbed (a
desktop shortcut) is left to it, with a warning: Holdtype still hears it.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable, Iterable
from typing import Any

from app.hotkey.binding import MODIFIER_OF, Binding

log = logging.getLogger(__name__)

#: X keysym names of the pynput key names that differ from them.
_KEYSYMS: dict[str, str] = {
    "space": "space", "enter": "Return", "tab": "Tab", "backspace": "BackSpace",
    "delete": "Delete", "insert": "Insert", "home": "Home", "end": "End", "page_up": "Prior",
    "page_down": "Next", "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "esc": "Escape", "menu": "Menu", "pause": "Pause", "print_screen": "Print",
    "scroll_lock": "Scroll_Lock", "num_lock": "Num_Lock",
    "media_play_pause": "XF86AudioPlay", "media_volume_mute": "XF86AudioMute",
    "media_volume_down": "XF86AudioLowerVolume", "media_volume_up": "XF86AudioRaiseVolume",
    "media_previous": "XF86AudioPrev", "media_next": "XF86AudioNext",
    "+": "plus", "-": "minus", ",": "comma", ".": "period", "/": "slash", ";": "semicolon",
    "'": "apostrophe", "`": "grave", "\\": "backslash", "[": "bracketleft",
    "]": "bracketright", "=": "equal",
}  # fmt: skip
#: Keys never grabbed (see the module docstring).
_NOT_GRABBED = frozenset({"caps_lock", *MODIFIER_OF})


def keysym_name(key: str) -> str | None:
    """The X keysym name of a binding's main key (None: one that is not grabbed).

    >>> [keysym_name(k) for k in ("f9", "space", "d", "+", "caps_lock", "ctrl_r")]
    ['F9', 'space', 'd', 'plus', None, None]
    """
    if key in _NOT_GRABBED:
        return None
    if key.startswith("f") and key[1:].isdigit():
        return key.upper()
    return _KEYSYMS.get(key, key if len(key) == 1 else None)


def shifted_characters(bindings: Iterable[Binding]) -> dict[str, str]:
    """The characters Shift makes of the bound character keys that are held with Shift, in this
    keyboard layout, each mapped to the bound one: ``{"!": "1"}`` for ``ctrl+shift+1`` on a US
    layout. pynput names a key press by what it types, so Ctrl+Shift+1 arrived as "!" and the
    hotkey ``ctrl+shift+1`` written by hand never fired (the grab took the key all the same).
    A key whose shifted level is the same character (a letter, in lower case) adds nothing."""
    from Xlib import XK
    from Xlib import display as xdisplay

    keys = {b.key for b in bindings if b.is_char and "shift" in b.modifiers}
    found: dict[str, str] = {}
    if not keys:
        return found
    d: Any = xdisplay.Display()
    try:
        for key in sorted(keys):
            name = keysym_name(key)
            keycode = d.keysym_to_keycode(XK.string_to_keysym(name)) if name else 0
            if not keycode or d.keycode_to_keysym(keycode, 0) != XK.string_to_keysym(name):
                continue  # not on the key's first level: Shift does not make it something else
            char = _keysym_char(d.keycode_to_keysym(keycode, 1))
            if char and char.lower() != key and char not in keys:
                found[char.lower()] = key
    finally:
        d.close()
    return found


def typed_with_shift(bindings: Iterable[Binding]) -> frozenset[str]:
    """The bound character keys, bound without Shift, that this keyboard layout types only
    with Shift ("+" on a US layout is Shift and "="): ``ctrl+alt++`` is pressed with Shift
    held, which did not match its modifiers, and its grab (without Shift) took Ctrl+Alt+=."""
    from Xlib import XK
    from Xlib import display as xdisplay

    keys = {b.key for b in bindings if b.is_char and "shift" not in b.modifiers}
    found: set[str] = set()
    if not keys:
        return frozenset()
    d: Any = xdisplay.Display()
    try:
        for key in sorted(keys):
            name = keysym_name(key)
            keysym = XK.string_to_keysym(name) if name else 0
            keycode = d.keysym_to_keycode(keysym) if keysym else 0
            levels = (d.keycode_to_keysym(keycode, 0), d.keycode_to_keysym(keycode, 1)) if keycode else ()
            if levels and levels[0] != keysym and levels[1] == keysym:
                found.add(key)
    finally:
        d.close()
    return frozenset(found)


#: The X keysyms of the modifier keys, by our (pynput's) name of each key.
_MODIFIER_KEYSYMS: dict[int, str] = {
    0xFFE9: "alt", 0xFFEA: "alt_r", 0xFFE3: "ctrl", 0xFFE4: "ctrl_r", 0xFFE1: "shift",
    0xFFE2: "shift_r", 0xFFEB: "cmd", 0xFFEC: "cmd_r", 0xFE03: "alt_gr", 0xFF7E: "alt_gr",
}  # fmt: skip


def modifier_levels() -> dict[int, str]:
    """The keysyms the modifier keys of this keyboard layout give on their other levels, each
    mapped to the key's name: ``{0xFFE7: "alt", 0xFFE8: "alt_r"}`` (Meta_L, Meta_R) on a US
    layout. pynput names a key by its keysym at the Shift (and AltGr) state of the moment, so
    Alt let go while Shift is held came as Meta_L, which has no name: the release was lost.
    A keysym some key has on its first level is left out (it names that key)."""
    from Xlib import display as xdisplay

    d: Any = xdisplay.Display()
    try:
        first = d.display.info.min_keycode
        count = d.display.info.max_keycode - first + 1
        mapping = d.get_keyboard_mapping(first, count)
    finally:
        d.close()
    own = {levels[0] for levels in mapping if levels}
    found: dict[int, str] = {}
    for levels in mapping:
        name = _MODIFIER_KEYSYMS.get(levels[0]) if levels else None
        if name is None:
            continue
        for keysym in levels[1:]:
            if keysym and keysym not in own and keysym not in _MODIFIER_KEYSYMS:
                found.setdefault(keysym, name)
    return found


def _keysym_char(keysym: int) -> str | None:
    """The character an X keysym types (Latin-1 keysyms are their code point; others are
    0x1000000 + the code point), else None.

    >>> _keysym_char(0x21), _keysym_char(0x10020AC), _keysym_char(0xFFBE) is None
    ('!', '€', True)
    """
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if 0x1000100 <= keysym <= 0x110FFFF:
        return chr(keysym - 0x1000000)
    return None


class KeyGrab:
    """Grabs ``bindings`` on the root window of a private X connection until :meth:`close`.

    The grab is made with every combination of the lock modifiers (Caps Lock, Num Lock) that
    do not matter to a hotkey, and the events it brings are read and dropped on a thread of
    its own (the listener gets them from RECORD).
    """

    def __init__(
        self,
        bindings: Iterable[Binding],
        with_shift: Iterable[str] = (),
        on_taken: Callable[[], None] | None = None,
    ) -> None:
        """Grab each binding's key with its modifiers (and Shift for a key in ``with_shift``,
        see :func:`typed_with_shift`). ``on_taken`` is called (on the grab's thread) for each
        press of another key that the grab took from the focused window: while a grabbed key
        is down the whole keyboard is Holdtype's, a paste shortcut sent then included."""
        from Xlib import XK, X
        from Xlib import display as xdisplay

        self._on_taken = on_taken
        self._d: Any = xdisplay.Display()
        self._root = self._d.screen().root
        self._grabs: list[tuple[int, int]] = []
        masks = {"ctrl": X.ControlMask, "shift": X.ShiftMask, "alt": X.Mod1Mask, "cmd": X.Mod4Mask}
        locks = (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask)  # Caps Lock, Num Lock
        for binding in bindings:
            name = keysym_name(binding.key)
            keycode = self._d.keysym_to_keycode(XK.string_to_keysym(name)) if name else 0
            if not keycode:
                continue
            modifiers = X.ShiftMask if binding.key in with_shift else 0
            for modifier in binding.modifiers:
                modifiers |= masks[modifier]
            if self._grab(keycode, [modifiers | lock for lock in locks]):
                log.debug("grabbed %s", binding)
            else:
                log.warning("%s is grabbed by another program; it may also reach that program", binding)
        # Presses not told to on_taken: the grabbed keys, and the modifiers (see _drain).
        self._ignored = {keycode for keycode, _ in self._grabs}
        if on_taken is not None:
            try:
                mapping = self._d.get_modifier_mapping()
                self._ignored.update(code for codes in mapping for code in codes if code)
            except Exception as exc:  # (a Ctrl the grab took then counts as taken too)
                log.debug("cannot read the modifier keys: %s", exc)
        self._stop = threading.Event()
        # Written by close(): the drain thread wakes at once (a recording's cancel-key grab is
        # closed on the key listener's thread, right before the release reaches the engine).
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._drain, name="holdtype-keygrab", daemon=True)
        self._thread.start()

    def _grab(self, keycode: int, modifier_sets: list[int]) -> bool:
        """Grab ``keycode`` with each of ``modifier_sets``; False when X refused (BadAccess)."""
        from Xlib import X, error

        catch = error.CatchError(error.BadAccess)
        for modifiers in modifier_sets:
            self._root.grab_key(keycode, modifiers, True, X.GrabModeAsync, X.GrabModeAsync, onerror=catch)
            self._grabs.append((keycode, modifiers))
        self._d.sync()
        return catch.get_error() is None

    @property
    def grabbed(self) -> int:
        """How many (key, modifiers) grabs were asked for."""
        return len(self._grabs)

    def _drain(self) -> None:
        """Read and drop the events the grabs bring, until :meth:`close`; tell ``on_taken`` of
        each press of a key that is neither one of the grabbed ones nor a modifier (the V of a
        Ctrl+V: the window that gets it with Ctrl down pastes, whoever got the Ctrl)."""
        from Xlib import X

        fd = self._d.fileno()
        ignored = self._ignored
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([fd, self._wake_r], [], [], 0.2)
                if fd in ready:
                    for _ in range(self._d.pending_events()):
                        event = self._d.next_event()
                        if event.type == X.KeyPress and event.detail not in ignored and self._on_taken:
                            self._on_taken()
            except Exception as exc:  # the connection went away: nothing left to drain
                log.debug("key grab connection closed: %s", exc)
                return

    def close(self) -> None:
        """Let go of the keys and close the connection (safe to call twice)."""
        if self._stop.is_set():
            return
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=2)
        for end in (self._wake_r, self._wake_w):
            os.close(end)
        try:
            for keycode, modifiers in self._grabs:
                self._root.ungrab_key(keycode, modifiers)
            self._d.sync()
        except Exception as exc:  # closing: the server may be gone already
            log.debug("could not ungrab the hotkeys: %s", exc)
        finally:
            self._grabs.clear()
            self._d.close()
