"""The global hotkey listener (pynput).

pynput calls our callbacks on its own thread. They only track which modifiers are held, run each
binding's :class:`~app.hotkey.gesture.Gesture`, and hand a :class:`HotkeyAction` to ``on_action``
(which should just put it on the engine's queue). They never block and never touch Qt.

Caps Lock: when it is the dictation key, each press/release of it would toggle the lock. After
such a cycle the listener compares the lock state with the one before the press and, if it
changed, sets the lock back through XKB (X11): no key event, so nothing the user types next
can be mistaken for one of ours, and no window sees a Caps Lock tap it should not.
A tap too short to dictate (under ``min_hold_s``) keeps its toggle: that is how the lock is
turned on or off while Holdtype runs. Stopping the listener mid-hold puts the lock back too.

On Windows the bound Caps Lock never reaches the system at all (see
:meth:`HotkeyListener._win32_filter`), so the lock does not change; a tap too short to dictate
is then passed on as one injected Caps Lock tap.

pynput is imported only in :meth:`HotkeyListener.start` (on X11 it needs a display at import).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from app.config import HotkeySettings
from app.errors import HoldtypeError
from app.hotkey.binding import MODIFIER_OF, Binding, parse_binding
from app.hotkey.gesture import Action, Gesture, mode_for_key
from app.hotkey.xrecord import unblock_record, wait_until_recording

if TYPE_CHECKING:
    from app.hotkey.grab import KeyGrab

log = logging.getLogger(__name__)

#: How long after a :meth:`HotkeyListener.sending_keys` block its keys may still arrive (s).
SENT_GRACE_S = 0.5
#: How long a starting pynput listener may take to be ready (it opens its display connections).
READY_TIMEOUT_S = 10.0
#: Windows: how soon after a left Ctrl press an AltGr press shows that Ctrl was AltGr's own (s).
ALTGR_CTRL_S = 0.05
#: Left-hand modifier names that pynput reports under the generic name (Key.ctrl_l is Key.ctrl).
_GENERIC_OF_LEFT = {"ctrl_l": "ctrl", "alt_l": "alt", "shift_l": "shift", "cmd_l": "cmd"}


class HotkeyError(HoldtypeError):
    """The hotkey listener cannot run here (no display, no permission...)."""


class ActionKind(str, enum.Enum):
    """What the user did with a hotkey."""

    START = "start"
    STOP = "stop"
    DISCARD = "discard"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class HotkeyAction:
    """A hotkey decision for the engine.

    ``mode_name`` is the mode bound to the key (``""`` for the main hotkey: use the active mode);
    ``time`` is ``time.monotonic()`` when the key event arrived; ``binding`` the canonical key
    (``""`` for a cancel with no key held: it is for the dictation still in flight, if any).
    """

    kind: ActionKind
    mode_name: str
    time: float
    binding: str = ""


def key_matches(binding_key: str, event_key: str) -> bool:
    """Whether a key event named ``event_key`` (pynput's name) is the binding's main key.

    >>> key_matches("alt_r", "alt_gr"), key_matches("alt_gr", "alt_r"), key_matches("alt_l", "alt_gr")
    (True, True, False)
    """
    if binding_key == event_key:
        return True
    if {binding_key, event_key} == {"alt_r", "alt_gr"}:  # one key: AltGr on German, French... layouts
        return True
    if _GENERIC_OF_LEFT.get(binding_key) == event_key:  # "ctrl_l" binding, pynput says "ctrl"
        return True
    # a generic modifier binding ("ctrl") accepts either side
    return binding_key in ("ctrl", "alt", "shift", "cmd") and MODIFIER_OF.get(event_key) == binding_key


#: X keysyms pynput names no ``Key`` for: ISO_Level3_Shift is the right Alt key of every layout
#: with an AltGr (German, French, Spanish, Nordic...); pynput calls only Mode_switch alt_gr.
#: Meta_L and Meta_R are the Alt keys on their Shift level: pynput names a key by the keysym of
#: the Shift state at the event, so Alt let go while Shift is held (an Alt+Shift layout switch)
#: came unnamed, its release was dropped and "alt" stayed held: no hotkey without Alt fired
#: again. (Other layouts' levels of modifier keys: see :func:`app.hotkey.grab.modifier_levels`.)
_NAMELESS_VKS = {0xFE03: "alt_gr", 0xFFE7: "alt", 0xFFE8: "alt_r"}


def key_name(key: Any, levels: dict[int, str] | None = None) -> str | None:
    """pynput key → our name: ``Key`` members by name, characters lower-cased, else None.
    ``levels`` names more keysyms (those of this layout's modifier keys on other levels)."""
    name = getattr(key, "name", None)
    if isinstance(name, str):
        return name
    vk = getattr(key, "vk", None) or 0
    if (known := _NAMELESS_VKS.get(vk)) is not None:
        return known
    if levels and (known := levels.get(vk)) is not None:
        return known
    char = getattr(key, "char", None)
    if isinstance(char, str) and len(char) == 1:
        return char.lower()
    return None


def win32_key_name(key: Any, canonical: Callable[[Any], Any] | None = None) -> str | None:
    """Our name of a key event from pynput's Windows backend, whatever modifiers are held.

    pynput's Windows listener gives a key the character the layout types with the modifiers
    held at that moment: with Ctrl, D arrives as ``'\\x04'``, with Ctrl+Alt as no character (or
    AltGr's '€'), so ``ctrl+alt+d`` and ``ctrl+shift+1`` never matched. A letter or digit key is
    named by its virtual key code instead (VK_0..VK_9, VK_A..VK_Z: the layout's own letters); any
    other key by its character when it is a printable one, else by ``canonical`` (the
    listener's: pynput's Windows ``canonical`` gives the key's character with no modifier, from
    its scan code). ``Key`` members go by name, as everywhere.
    """
    name = getattr(key, "name", None)
    if isinstance(name, str):
        return name
    vk = getattr(key, "vk", None)
    if isinstance(vk, int) and (0x30 <= vk <= 0x39 or 0x41 <= vk <= 0x5A):
        return chr(vk).lower()
    char = getattr(key, "char", None)
    if isinstance(char, str) and len(char) == 1 and char.isprintable():
        return char.lower()
    if canonical is not None:
        with contextlib.suppress(Exception):  # a key the layout has no character for
            plain = getattr(canonical(key), "char", None)
            if isinstance(plain, str) and len(plain) == 1 and plain.isprintable():
                return plain.lower()
    return None


def is_available() -> tuple[bool, str]:
    """Whether global key listening can work in this session, and why not."""
    if sys.platform == "darwin":
        try:
            import ctypes
            import ctypes.util

            lib = ctypes.cdll.LoadLibrary(ctypes.util.find_library("ApplicationServices") or "")
            if not lib.AXIsProcessTrusted():
                return False, (
                    "macOS has not allowed this app to watch the keyboard: add it (or your terminal) in "
                    "System Settings → Privacy & Security → Accessibility and Input Monitoring, then restart"
                )
        except (OSError, AttributeError) as exc:
            return False, f"cannot check macOS Accessibility permission: {exc}"
        return True, "macOS (Quartz event tap)"
    if sys.platform.startswith("win"):
        return True, "Windows (low-level keyboard hook)"
    if os.environ.get("PYNPUT_BACKEND") == "uinput":
        if os.access("/dev/input", os.R_OK | os.X_OK):
            return True, "Linux uinput (reads /dev/input directly)"
        return False, "the uinput backend needs read access to /dev/input (add yourself to the 'input' group)"
    session = os.environ.get("XDG_SESSION_TYPE", "").lower()
    wayland = session == "wayland" or (bool(os.environ.get("WAYLAND_DISPLAY")) and session != "x11")
    display = os.environ.get("DISPLAY")
    if not display:
        if wayland:
            return False, (
                "Wayland does not let apps watch global keys: run under XWayland with DISPLAY set (keys "
                "are then seen only while an X11 window has focus), or set PYNPUT_BACKEND=uinput and "
                "join the 'input' group, or bind a desktop shortcut to `holdtype dictate toggle` instead"
            )
        return False, "DISPLAY is not set: no X server to listen to"
    try:
        from Xlib import display as xdisplay

        d = xdisplay.Display(display)
    except Exception as exc:
        return False, f"cannot open X display {display}: {exc}"
    try:
        if not d.has_extension("RECORD"):
            return False, f"the X server on {display} lacks the RECORD extension pynput needs"
    finally:
        d.close()
    if wayland:
        return True, f"XWayland {display}: keys are seen only while an X11 window has focus"
    return True, f"X11 {display} (RECORD)"


#: Windows: VK_CAPITAL, the low-level hook's flag of an injected event (LLKHF_INJECTED), and the
#: key-down messages (WM_KEYDOWN, WM_SYSKEYDOWN).
_VK_CAPITAL = 0x14
_LLKHF_INJECTED = 0x10
_WM_KEYDOWNS = (0x0100, 0x0104)

#: XkbUseCoreKbd: the core keyboard, in libX11's Xkb calls.
_XKB_USE_CORE_KBD = 0x0100


def wait_ready(listener: Any, timeout: float = READY_TIMEOUT_S) -> bool:
    """Wait until pynput's started ``listener`` is ready to hear keys; False when its thread
    ended first, or after ``timeout`` seconds.

    pynput's own ``wait()`` has no timeout and never returns when the listener's thread fails
    before it is ready (on X11: a display connection refused, a RECORD context not created):
    Holdtype hung at start, the engine never ready.
    """
    if not hasattr(listener, "_ready"):  # a pynput that no longer has the flag: its own wait
        listener.wait()
        return True
    deadline = time.monotonic() + timeout
    while not listener._ready:
        if not listener.is_alive() or time.monotonic() >= deadline:
            return bool(listener._ready)
        listener.join(0.01)  # returns at once when the thread ends
    return True


class _CapsLock:
    """Reads and sets the X11 Caps Lock state, on private X connections (python-xlib to read;
    libX11 through ctypes to set it, since python-xlib has no XKB)."""

    def __init__(self) -> None:
        import ctypes
        import ctypes.util

        from Xlib import X
        from Xlib import display as xdisplay

        self._X = X
        self._d = xdisplay.Display()
        self._lock = threading.Lock()
        x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XkbLockModifiers.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint]
        x11.XkbLockModifiers.restype = ctypes.c_int
        x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self._x11 = x11
        self._xdpy = x11.XOpenDisplay(None)
        if not self._xdpy:
            self._d.close()
            raise HotkeyError("libX11 cannot open the display to set Caps Lock")

    def locked(self) -> bool:
        """Whether Caps Lock is on now."""
        with self._lock:
            return bool(self._d.screen().root.query_pointer().mask & self._X.LockMask)

    def set(self, locked: bool) -> None:
        """Turn the lock (and its light) on or off, without any key event (XkbLockModifiers).
        Also right while the key is held: its release then toggles nothing, because its
        press was the one that locked (XKB unlocks on release only a lock that was on before)."""
        lock_mask = self._X.LockMask
        with self._lock:
            if not self._x11.XkbLockModifiers(
                self._xdpy, _XKB_USE_CORE_KBD, lock_mask, lock_mask if locked else 0
            ):
                raise HotkeyError("the X server refused to set Caps Lock (no XKB)")
            self._x11.XSync(self._xdpy, 0)

    def close(self) -> None:
        """Close the X connections."""
        with self._lock:
            self._d.close()
            self._x11.XCloseDisplay(self._xdpy)


@contextlib.contextmanager
def _caps_lock(doing: str) -> Iterator[_CapsLock | None]:
    """The X11 Caps Lock, closed after use; None (logged, ``doing`` it) when it cannot be had."""
    try:
        caps = _CapsLock()
    except Exception as exc:  # no libX11, no display: nothing to read or put back
        log.debug("cannot %s Caps Lock: %s", doing, exc)
        yield None
        return
    try:
        yield caps
    finally:
        caps.close()


def caps_lock_state() -> bool | None:
    """Whether Caps Lock is on (X11), or None when it cannot be read here."""
    if not _is_x11():
        return None
    with _caps_lock("read") as caps:
        return None if caps is None else caps.locked()


def set_caps_lock(locked: bool) -> None:
    """Turn Caps Lock on or off (X11), without a key event; a failure is logged. The listeners
    of this process are told: with no key event they kept the state they last saw, and put
    that back after each dictation (the lock stayed on once the settings window's hotkey field
    had put it back off after recording Caps Lock)."""
    with _caps_lock("set") as caps:
        if caps is None:
            return
        try:
            caps.set(locked)
        except HotkeyError as exc:
            log.debug("cannot set Caps Lock: %s", exc)
            return
    for listener in list(_LIVE):
        listener.caps_lock_set(locked)


#: The listeners started in this process (see :func:`set_caps_lock`).
_LIVE: weakref.WeakSet[HotkeyListener] = weakref.WeakSet()
#: Set while a key is being recorded for a binding (the settings window's hotkey field): a
#: press then is the user choosing a key, not dictating (held a second, it recorded one).
_KEY_CAPTURE = threading.Event()


def capturing_keys(on: bool) -> None:
    """Say that a key is being recorded for a binding (``on``), or no longer: meanwhile no
    listener starts a recording."""
    if on:
        _KEY_CAPTURE.set()
    else:
        _KEY_CAPTURE.clear()


class HotkeyListener:
    """Watches the keyboard and turns the bound keys into :class:`HotkeyAction` calls.

    ``bindings`` maps each key to a mode name (``""`` = the active mode); all use ``mode`` and
    ``min_hold_s``. ``on_action`` is called on pynput's thread and must return quickly.
    """

    def __init__(
        self,
        bindings: dict[Binding, str],
        cancel_key: str,
        on_action: Callable[[HotkeyAction], None],
        *,
        mode: Literal["hold", "toggle"] = "hold",
        min_hold_s: float = 0.25,
        restore_caps_lock: bool = True,
    ) -> None:
        if not bindings:
            raise HotkeyError("no hotkey is bound")
        self.bindings = dict(bindings)
        self.cancel = parse_binding(cancel_key)
        self.on_action = on_action
        self.restore_caps_lock = restore_caps_lock
        self._gestures = {b: Gesture(mode_for_key(str(b), mode), min_hold_s) for b in self.bindings}
        self._active: Binding | None = None
        self._held: set[str] = set()  # modifier keys held, pynput names
        self._down: set[str] = set()  # other keys held, by the names they went down with
        self._own: set[str] = set()  # of those, the ones that went down while Holdtype sent keys
        self._sending = 0  # how many sending_keys() blocks are open
        self._sent_until = 0.0  # their keys may still be on their way to us until then
        self._paused = False
        self._listener: Any = None
        self._pynput: Any = None  # the pynput listener being started or running (its canonical())
        self._caps: _CapsLock | None = None
        self._caps_known: bool | None = None  # lock state after the last Caps Lock release
        self._caps_before: bool | None = None  # lock state before the current bound press
        self._win_caps_kept = False  # Windows: the Caps Lock down now is kept from the system
        self._win_caps_tap = False  # Windows: ...and its press made a tap of it (see _win32_caps_event)
        self._state_lock = threading.Lock()
        self._grab: KeyGrab | None = None  # X11: the bound keys kept from the focused window
        # X11: the cancel key kept from it while a recording runs (see _hold_cancel_key)
        self._cancel_grab: KeyGrab | None = None
        self._elsewhere = False  # a recording the listener did not start runs (the tray, the CLI)
        self._cancel_down = False  # the cancel key went down during a recording and is still down
        self._keys_up = threading.Event()  # set while no bound key is down
        self._keys_up.set()
        self._presses = 0  # bound keys that went down so far
        # X11: keys Holdtype sent (a paste shortcut) that a grab took from the focused window
        self._taken = 0
        self._taken_lock = threading.Lock()  # (not _state_lock: a grab is closed under it)
        self._shifted: dict[str, str] = {}  # X11: "!" → "1" for ctrl+shift+1 (see shifted_characters)
        self._with_shift: frozenset[str] = frozenset()  # X11: "+" of ctrl+alt++ (see typed_with_shift)
        self._last_event: tuple[str, bool, float] | None = None  # (name, pressed, when): Windows' AltGr
        self._levels: dict[int, str] = {}  # X11: Meta_L → "alt"... (see grab.modifier_levels)

    @classmethod
    def from_settings(
        cls, settings: HotkeySettings, on_action: Callable[[HotkeyAction], None]
    ) -> HotkeyListener:
        """Build a listener for ``settings.key`` (mode ``""``) and every ``mode_keys`` entry.

        Raises :class:`~app.hotkey.binding.BindingError` for an invalid key and
        :class:`HotkeyError` when two entries bind the same key.
        """
        bindings: dict[Binding, str] = {parse_binding(settings.key): ""}
        for key, mode_name in settings.mode_keys.items():
            binding = parse_binding(key)
            if binding in bindings:
                raise HotkeyError(f"hotkey {key!r} is bound twice (main key or another mode key)")
            bindings[binding] = mode_name
        listener = cls(
            bindings,
            settings.cancel_key,
            on_action,
            mode=settings.mode,
            min_hold_s=settings.min_hold_s,
            restore_caps_lock=settings.restore_caps_lock,
        )
        listener.paused = settings.paused
        return listener

    # --- lifecycle -------------------------------------------------------------------------
    @staticmethod
    def is_available() -> tuple[bool, str]:
        """Whether global key listening can work here, and why not (see :func:`is_available`)."""
        return is_available()

    @property
    def running(self) -> bool:
        """True while the pynput listener thread runs."""
        return self._listener is not None and self._listener.running

    @property
    def paused(self) -> bool:
        """While paused, bound keys do nothing (an active recording is not stopped)."""
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self._paused = bool(value)
        if self._listener is not None:  # paused, the keys are the focused window's again
            self._release_grab()
            if not self._paused:
                self._take_grab()

    @property
    def presses(self) -> int:
        """How many times a bound key went down so far (a new one since you looked: a press)."""
        return self._presses

    @property
    def keys_taken(self) -> int:
        """How many keys Holdtype sent (in a :meth:`sending_keys` block) the hotkey's grab took
        so far, on X11: pressed while a bound key was down, they reached Holdtype instead of
        the focused window (a new one since you looked: that window did not get them)."""
        return self._taken

    def _on_taken(self) -> None:
        """A grab took a key press from the focused window (called on the grab's thread)."""
        if self._sending or time.monotonic() < self._sent_until:  # (the user's own: not counted)
            with self._taken_lock:
                self._taken += 1

    def wait_keys_up(self, timeout: float | None = None) -> bool:
        """Block until no bound key is held down (at most ``timeout``); return whether none is.

        While one is, text must not be inserted: on X11 a held bound key (F9, ``ctrl+alt+space``)
        has the whole keyboard grabbed, so keys sent to the focused window reach Holdtype
        instead, and a held Caps Lock has the lock on. In toggle mode, too, for the length of
        each press. A stopped listener holds nothing down.
        """
        return self._keys_up.wait(timeout)

    @contextlib.contextmanager
    def sending_keys(self) -> Iterator[None]:
        """Mark a stretch in which Holdtype sends keys of its own (it types or pastes text).

        ``xdotool type`` holds Shift for a capital letter, the paste holds Ctrl, and the X
        server cannot tell those from the user's: an F9 pressed at that instant came as
        Shift+F9 and was ignored (the next dictation never started). A modifier that goes
        down inside this block counts as Holdtype's own: a bound key then matches with or
        without it, so a combination the user holds meanwhile (``ctrl+alt+space``) still works.
        The block's keys reach the listener a little after they were sent: it lasts
        :data:`SENT_GRACE_S` longer.
        """
        with self._state_lock:
            self._sending += 1
        try:
            yield
        finally:
            with self._state_lock:
                self._sending -= 1
                self._sent_until = time.monotonic() + SENT_GRACE_S

    @property
    def modifier_keys(self) -> frozenset[str]:
        """The bound keys that are modifier keys alone (``ctrl_r``, ``alt_r``...): Holdtype's
        paste must not let go of them (one may be held for the next dictation)."""
        return frozenset(b.key for b in self.bindings if b.key in MODIFIER_OF)

    @property
    def sending(self) -> bool:
        """True while keys Holdtype sent (a :meth:`sending_keys` block) may still arrive."""
        return self._sending > 0 or time.monotonic() < self._sent_until

    @property
    def recording(self) -> bool:
        """True while a gesture of this listener has started a recording that has not ended."""
        return self._active is not None

    def start(self) -> None:
        """Start listening. Raises :class:`HotkeyError` when it cannot work in this session."""
        if self._listener is not None:
            return
        ok, why = is_available()
        if not ok:
            raise HotkeyError(f"the global hotkey cannot work here: {why}")
        try:
            from pynput import keyboard
        except ImportError as exc:  # pynput probes its backend at import
            raise HotkeyError(f"pynput cannot start: {exc}") from exc
        if self.restore_caps_lock and self._uses_caps_lock() and _is_x11():
            try:
                self._caps = _CapsLock()
                self._caps_known = self._caps.locked()
            except Exception as exc:
                log.warning("cannot watch the Caps Lock state, it will not be restored: %s", exc)
                self._caps = None
        options: dict[str, Any] = {}
        if sys.platform == "win32" and self.restore_caps_lock and self._uses_caps_lock():
            self._win_caps_kept = self._win_caps_tap = False
            options["win32_event_filter"] = self._win32_filter
        try:
            listener = self._start_pynput(keyboard, **options)
        except HotkeyError:
            if self._caps is not None:
                self._caps.close()
                self._caps = None
            raise
        if _is_x11() and not wait_until_recording(listener):
            log.warning("the key recording was not confirmed on; the first key may go unheard")
        self._listener = listener
        _LIVE.add(self)
        if _is_x11():
            from app.hotkey.grab import modifier_levels, shifted_characters, typed_with_shift

            try:
                self._shifted = shifted_characters(self.bindings)
                self._with_shift = typed_with_shift(self.bindings)
                self._levels = modifier_levels()
            except Exception as exc:  # the binding as written still works with the shifted character
                log.warning("cannot read the keyboard layout for shifted hotkeys: %s", exc)
        if not self._paused:
            self._take_grab()
        log.info("hotkeys armed: %s", ", ".join(str(b) for b in self.bindings))

    def _start_pynput(self, keyboard: Any, **options: Any) -> Any:
        """Start pynput's keyboard listener and return it once it is ready; raise
        :class:`HotkeyError` when it is not (see :func:`wait_ready`)."""
        for attempt in (1, 2):  # a connection refused once (the X server at its client limit)
            listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release, **options)
            listener.daemon = True
            self._pynput = listener
            listener.start()
            if wait_ready(listener):
                break
            if listener.is_alive():  # hung: stopped if it ever gets ready (stopping it now hangs)
                stop_when_ready = threading.Thread(
                    target=lambda late=listener: (late.wait(), late.stop()),
                    name="holdtype-late-keys",
                    daemon=True,
                )
                stop_when_ready.start()
                raise HotkeyError(f"the pynput keyboard listener was not ready within {READY_TIMEOUT_S:g} s")
            log.warning("the pynput keyboard listener ended before it was ready (try %d of 2)", attempt)
        else:
            raise HotkeyError(
                "the pynput keyboard listener ended before it was ready: it could not set up its "
                "connection to the display server (its error is in the log); restart Holdtype"
            )
        if not listener.running or not listener.is_alive():  # (macOS: no event tap, ended at once)
            raise HotkeyError("the pynput keyboard listener stopped right after starting")
        return listener

    def _take_grab(self) -> None:
        """On X11, keep the bound keys from the focused window (see :mod:`app.hotkey.grab`)."""
        if not _is_x11():
            return
        from app.hotkey.grab import KeyGrab

        try:
            self._grab = KeyGrab(self.bindings, self._with_shift, self._on_taken)
        except Exception as exc:  # the hotkey still works; the key also reaches the window
            log.warning("cannot grab the hotkey, so it also reaches the focused window: %s", exc)
            self._grab = None

    def _release_grab(self) -> None:
        grab, self._grab = self._grab, None
        if grab is not None:
            grab.close()

    def _hold_cancel_key(self, held: bool) -> None:
        """On X11, keep the cancel key from the focused window while a recording runs (``held``)
        and give it back after: Esc cancelled the dictation and also reached the window (vim left
        insert mode, a dialog closed). Only with a bound key held is the keyboard grabbed
        anyway; Caps Lock is not grabbed, and a toggle's recording holds no key. Idle, the
        cancel key is the window's (it cancels a dictation still in flight there too)."""
        if held == (self._cancel_grab is not None) or not _is_x11():
            return
        if not held:
            if self._cancel_grab is not None:
                self._cancel_grab.close()
            self._cancel_grab = None  # once closed: the key is the window's from here
            return
        from app.hotkey.grab import KeyGrab

        try:
            self._cancel_grab = KeyGrab([self.cancel], on_taken=self._on_taken)
        except Exception as exc:  # it still cancels; the key also reaches the window
            log.debug("cannot grab the cancel key: %s", exc)

    def stop(self) -> None:
        """Stop listening (safe to call twice, and from any thread but pynput's own)."""
        self._release_grab()
        self._keys_up.set()  # no release will be heard any more: let no one wait for it
        _LIVE.discard(self)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
            if _is_x11():
                unblock_record(listener)
            if threading.current_thread() is not listener:
                listener.join(timeout=5)
                if listener.is_alive():
                    log.warning("the pynput listener thread did not end within 5 s")
        with self._state_lock:  # (after its thread: no key handled now takes the grab again)
            self._cancel_down = False
            self._hold_cancel_key(False)
        with self._state_lock:
            caps, self._caps = self._caps, None
            before, self._caps_before = self._caps_before, None
        if caps is not None:
            if before is not None:  # stopped with the key held (the app quits mid-dictation)
                with contextlib.suppress(Exception):
                    if caps.locked() != before:
                        caps.set(before)
                        log.debug("Caps Lock restored to %s on stop", "on" if before else "off")
            caps.close()

    def reset(self) -> None:
        """Forget an active recording (the engine ended it by itself, e.g. at max length), and
        one started elsewhere (:meth:`recording_elsewhere`)."""
        with self._state_lock:
            for gesture in self._gestures.values():
                gesture.reset()
            self._active = None
            self._elsewhere = False
            self._hold_cancel_key(self._cancel_down)

    def recording_elsewhere(self) -> None:
        """A recording this listener did not start runs (the tray's, `holdtype dictate
        start`'s): its cancel key is kept from the focused window until :meth:`reset`, as for a
        recording of its own (Esc cancelled it and also reached the window)."""
        with self._state_lock:
            self._elsewhere = True
            self._hold_cancel_key(True)

    def _uses_caps_lock(self) -> bool:
        return any(b.key == "caps_lock" for b in self.bindings)

    # --- pynput callbacks (pynput's thread) ------------------------------------------------
    def _on_press(self, key: Any, injected: bool = False) -> None:
        try:
            self._handle(self._key_name(key), pressed=True)
        except Exception:  # an exception would stop pynput's listener for good
            log.exception("hotkey press handling failed")

    def _on_release(self, key: Any, injected: bool = False) -> None:
        try:
            self._handle(self._key_name(key), pressed=False)
        except Exception:
            log.exception("hotkey release handling failed")

    def _key_name(self, key: Any) -> str | None:
        if sys.platform == "win32":
            pynput = self._pynput
            return win32_key_name(key, None if pynput is None else pynput.canonical)
        return key_name(key, self._levels)

    def _win32_filter(self, msg: int, data: Any) -> bool:
        """pynput's ``win32_event_filter``, for a bound Caps Lock with ``restore_caps_lock``.

        Windows has no way to set the lock without a key event, and reading it back
        (``GetKeyState``) from a background thread is not reliable, so instead of putting the
        lock back after the fact (as on X11) the bound Caps Lock is kept from the system: it
        never toggles. pynput calls this filter in its low-level keyboard hook, on the thread
        that also runs our callbacks, before the event is queued for them; ``suppress_event()``
        keeps the event from the system *and* from those callbacks, so a Caps Lock event is
        handled here and never reaches :meth:`_on_press`. Returning False lets the system have
        it without our callbacks. An injected Caps Lock (our own tap, or another program's) is
        only the system's: our tap must not start a dictation. Any failure lets the event
        through to the system, as without Holdtype; an exception would stop pynput's listener.
        """
        if data.vkCode != _VK_CAPITAL:
            return True
        if data.flags & _LLKHF_INJECTED:
            return False
        try:
            keep, tap = self._win32_caps_event(pressed=msg in _WM_KEYDOWNS)
            if tap:  # not from inside the hook: SendInput's event comes back through it
                threading.Thread(target=_win32_tap_caps_lock, name="holdtype-caps-tap", daemon=True).start()
        except Exception:
            log.exception("Caps Lock handling failed")
            return False
        if keep:
            self._pynput.suppress_event()  # raises pynput's SuppressException: the hook returns 1
        return False

    def _win32_caps_event(self, pressed: bool) -> tuple[bool, bool]:
        """Handle a Caps Lock event on Windows; return whether to keep it from the system, and
        whether the lock must now be toggled by an injected tap.

        A press is kept when a Caps Lock binding took it (its gesture is down: not paused, its
        modifiers held); its auto-repeats and its release are kept with it, so the system sees
        neither half and the lock stays as it was. A press no binding takes toggles the lock as
        usual. When the press or release ends in a discard (a hold too short to dictate, a
        double tap in toggle mode) the user meant a tap: the lock is toggled once, as on X11.
        """
        if pressed and self._win_caps_kept:  # auto-repeat
            self._handle("caps_lock", pressed=True)
            return True, False
        actions = self._handle("caps_lock", pressed)
        discarded = any(action.kind is ActionKind.DISCARD for action in actions)
        if pressed:
            self._win_caps_kept = any(b.key == "caps_lock" and g.down for b, g in self._gestures.items())
            self._win_caps_tap = self._win_caps_kept and discarded
            return self._win_caps_kept, False
        kept, self._win_caps_kept = self._win_caps_kept, False
        tap, self._win_caps_tap = kept and (self._win_caps_tap or discarded), False
        return kept, tap

    def _handle(self, name: str | None, pressed: bool) -> list[HotkeyAction]:
        """Handle a key event; return the actions handed to ``on_action``."""
        if name is None:
            return []
        now = time.monotonic()
        actions: list[HotkeyAction] = []
        with self._state_lock:
            if pressed and name in self._held and sys.platform == "darwin":
                # pynput's macOS backend tells a modifier's press from its release by the
                # modifier's flag, which the other side's key (left Option) keeps set: the
                # right Option let go comes as a press again. Modifiers never auto-repeat
                # there (flagsChanged), so a press of one that is down is its release.
                pressed = False
            if name in self._shifted and any(MODIFIER_OF[n] == "shift" for n in self._held):
                name = self._shifted[name]  # Ctrl+Shift+1 arrives as "!": it is ctrl+shift+1
            if name not in MODIFIER_OF:
                if pressed:
                    self._down.add(name)
                else:
                    if name not in self._down:
                        name = self._renamed(name)
                    self._down.discard(name)
            if name in MODIFIER_OF and pressed:
                if name == "alt_gr" and sys.platform == "win32":
                    self._drop_altgr_ctrl(now)
                self._held.add(name)
                if self._sending or now < self._sent_until:
                    self._own.add(name)
            self._last_event = (name, pressed, now)
            down_before = sum(gesture.down for gesture in self._gestures.values())
            actions = self._press(name, now) if pressed else self._release(name, now)
            if name in MODIFIER_OF and not pressed:
                self._held.discard(name)
                self._own.discard(name)
            down = sum(gesture.down for gesture in self._gestures.values())
            if down > down_before:
                self._presses += 1
            if down and self._listener is not None:  # (not once stopped: see stop)
                self._keys_up.clear()
            else:  # after _release put Caps Lock back
                self._keys_up.set()
        for action in actions:
            self.on_action(action)
        if actions or not pressed:  # after the engine has them: a grab takes 10 - 20 ms
            with self._state_lock:
                self._hold_cancel_key(self._active is not None or self._cancel_down or self._elsewhere)
        return actions

    def _drop_altgr_ctrl(self, now: float) -> None:
        """Windows, AltGr going down: forget the left Ctrl that went down right before it.
        On a layout with AltGr, Windows sends a left Ctrl press (not injected) ahead of each
        right Alt press, and pynput reports it as ctrl_l: Ctrl seemed held, so a right_alt
        hotkey never matched. (Its release comes with AltGr's; a key not held is let go.)"""
        last = self._last_event
        if last is not None and last[0] in ("ctrl_l", "ctrl") and last[1] and now - last[2] <= ALTGR_CTRL_S:
            self._held.discard(last[0])
            self._own.discard(last[0])

    def _renamed(self, name: str) -> str:
        """The name a key released as ``name`` went down with, when it is a bound character key
        held now: a character is named by the Shift state at each event, so with Shift let go
        first ``ctrl+shift+!`` goes down as "!" and comes up as "1", and the recording never
        stopped. Else ``name``."""
        held = [
            key
            for key in self._down
            if any(
                gesture.down and binding.is_char and key_matches(binding.key, key)
                for binding, gesture in self._gestures.items()
            )
        ]
        return held[0] if len(held) == 1 else name

    def _held_modifiers(self, exclude: str, users_only: bool = False) -> frozenset[str]:
        """The modifiers held, other than the one the key ``exclude`` is (if it is one);
        ``users_only``: not those that went down while Holdtype sent keys (see :meth:`sending_keys`)."""
        excluded = MODIFIER_OF.get(exclude)
        held = self._held - self._own if users_only else self._held
        return frozenset(MODIFIER_OF[n] for n in held if MODIFIER_OF[n] != excluded)

    def _modifiers_match(self, binding: Binding, name: str) -> bool:
        """Whether the modifiers held as ``name`` goes down are those of ``binding``: all of
        them, or all but the ones Holdtype's own keys hold (and Shift, for a character the
        layout types with it)."""
        wanted = binding.modifiers | {"shift"} if binding.key in self._with_shift else binding.modifiers
        return wanted in (self._held_modifiers(name), self._held_modifiers(name, users_only=True))

    def _typed_by_us(self, name: str, now: float) -> bool:
        """Whether a press of ``name`` now may be one Holdtype's own typing or paste made: a
        character, or AltGr (ISO_Level3_Shift, which ``xdotool type`` holds for @ { } [ ] \\ |
        ~ on a German layout), while keys are sent (see :meth:`sending_keys`). Taken for the
        user's right_alt hotkey, typing "a@b.de" started a dictation (in toggle mode, one
        that never ended). Other keys (F9, Alt_R on a US layout) Holdtype never types."""
        return (self._sending > 0 or now < self._sent_until) and (name == "alt_gr" or len(name) == 1)

    def _press(self, name: str, now: float) -> list[HotkeyAction]:
        if self._paused or (_KEY_CAPTURE.is_set() and self._active is None):
            return []
        typed_by_us = self._typed_by_us(name, now)
        if key_matches(self.cancel.key, name) and self._held_modifiers(name) >= self.cancel.modifiers:
            binding = self._active
            if binding is None:  # released already: the words may still be on their way in,
                # which only the engine knows; it cancels them, or does nothing when idle
                if self._elsewhere:  # (its grab goes when the key is up, as below)
                    self._cancel_down = True
                return [HotkeyAction(ActionKind.CANCEL, "", now)]
            self._gestures[binding].cancel()
            self._active = None
            self._cancel_down = True  # its grab goes when the key is up: its release is ours too
            return [HotkeyAction(ActionKind.CANCEL, self.bindings[binding], now, str(binding))]
        for binding, gesture in self._gestures.items():
            if not key_matches(binding.key, name):
                continue
            if self._active not in (None, binding):
                continue  # another hotkey is recording
            if not gesture.down and not self._modifiers_match(binding, name):
                continue
            if not gesture.down and typed_by_us and not binding.modifiers:
                continue  # (a combination, ctrl+alt+d, is held by the user: see sending_keys)
            if name == "caps_lock" and not gesture.down:
                self._caps_before = self._caps_known
            actions = self._emit(binding, gesture.on_press(now), now)
            if name == "caps_lock" and any(action.kind is ActionKind.DISCARD for action in actions):
                # A double tap in toggle mode: its release is then left alone, so the lock
                # changes once, as a tap does in hold mode (put back, no tap ever changed it).
                self._caps_before = None
            return actions
        return []

    def _release(self, name: str, now: float) -> list[HotkeyAction]:
        if self._cancel_down and key_matches(self.cancel.key, name):
            self._cancel_down = False
        result: list[HotkeyAction] = []
        for binding, gesture in self._gestures.items():
            if gesture.down and key_matches(binding.key, name):
                result = self._emit(binding, gesture.on_release(now), now)
                break
        if name == "caps_lock":
            if any(action.kind is ActionKind.DISCARD for action in result):
                self._caps_before = None  # a tap, not a dictation: the user toggled the lock
            try:
                self._after_caps_release()
            except Exception as exc:  # never at the cost of the STOP, nor of the keys being up
                self._give_up_caps_lock(exc)
        return result

    def _emit(self, binding: Binding, action: Action, now: float) -> list[HotkeyAction]:
        if action is Action.NONE:
            return []
        if action is Action.START:
            self._active = binding
        else:
            self._active = None
        kind = {
            Action.START: ActionKind.START,
            Action.STOP: ActionKind.STOP,
            Action.DISCARD: ActionKind.DISCARD,
        }
        return [HotkeyAction(kind[action], self.bindings[binding], now, str(binding))]

    def caps_lock_set(self, locked: bool) -> None:
        """Caps Lock was set to ``locked`` without a key event (:func:`set_caps_lock`)."""
        if self._caps is not None and self._caps_before is None:  # (not mid-dictation)
            self._caps_known = locked

    def _give_up_caps_lock(self, exc: Exception) -> None:
        """Caps Lock could not be read or put back (an X server without XKB: XKB_DISABLE=1):
        said once, and not tried again by this listener. The error had left the release
        before its STOP was handed on: the recording ran to its length limit."""
        caps, self._caps = self._caps, None
        self._caps_before = None
        log.warning("cannot put Caps Lock back after a dictation, so it is left as the key made it: %s", exc)
        if caps is not None:
            with contextlib.suppress(Exception):
                caps.close()

    def _after_caps_release(self) -> None:
        """Put Caps Lock back to its state before a bound press; remember the state otherwise."""
        caps = self._caps
        if caps is None:
            return
        now_locked = caps.locked()
        before, self._caps_before = self._caps_before, None
        if before is not None and now_locked != before:
            caps.set(before)
            now_locked = before
            log.debug("Caps Lock restored to %s", "on" if before else "off")
        self._caps_known = now_locked


def _win32_tap_caps_lock() -> None:
    """Toggle Caps Lock on Windows with an injected tap (pynput's Controller: ``SendInput`` of
    VK_CAPITAL down and up); a failure is logged."""
    try:
        from pynput.keyboard import Controller, Key

        Controller().tap(Key.caps_lock)
    except Exception as exc:
        log.warning("cannot toggle Caps Lock after a short tap: %s", exc)


def _is_x11() -> bool:
    return (
        sys.platform.startswith("linux")
        and bool(os.environ.get("DISPLAY"))
        and (os.environ.get("PYNPUT_BACKEND") in (None, "", "xorg"))
    )
