"""Insert text on X11: paste through the clipboard (default) or type it with xdotool.

Paste, step by step:

1. read the old clipboard: its text and its other formats (xclip/xsel);
2. own the CLIPBOARD selection *in this process* with the new text (python-xlib), so we see the
   moment the target window asks for the text instead of guessing with a sleep;
3. release the modifiers the user still holds (e.g. of ``ctrl+alt+space``) through XTest, then
   send the paste shortcut with ``xdotool key``: Ctrl+V, or Ctrl+Shift+V when the active window's
   WM_CLASS is one of ``terminal_classes``; one of ``type_classes`` (xterm and rxvt, which no key
   pastes the clipboard into) gets the text through the PRIMARY selection and Shift+Insert
   (typed, a line break was Return, and each line ran in the shell). Not ``--clearmodifiers``: with Caps
   Lock on, xdotool clears it by tapping Caps_Lock twice, which a Caps Lock hotkey would take for
   a new press;
4. wait (bounded) until the target has read the text, then until its requests go quiet;
5. ``finally``: restore the old clipboard (an empty clipboard is emptied again); if the paste failed
   (no xdotool, injection error, the target never read it) the text is left on the clipboard
   instead, served by xclip, so the user can paste it by hand.

The old clipboard is restored with its text and its other formats (copied HTML, a file
manager's file list, a picture: see ``other_formats``), served by a small process of
Holdtype's own (``app.insert.x11_keeper``) where xclip would serve one format.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple

from app.config import PasteSettings
from app.errors import SHOWN_TO_USER
from app.insert.base import InsertResult, window_in, with_trailing_space
from app.insert.clipboard import IMAGE_TARGETS, ClipboardError, X11Clipboard
from app.insert.x11_selection import SelectionOwner
from app.system_packages import install_command

log = logging.getLogger(__name__)
#: A text up to this long is typed rather than pasted when the clipboard holds what could not
#: be put back after a paste (typing it takes about a second).
TYPE_INSTEAD_MAX_CHARS = 160

#: How long the target window gets to ask for the clipboard after the paste shortcut.
READ_TIMEOUT_S = 3.0


def paste_shortcut(wm_class: Sequence[str] | None, terminal_classes: Sequence[str]) -> str:
    """The xdotool key name of the paste shortcut for a window of class ``wm_class``:
    ``ctrl+shift+v`` for one of ``terminal_classes``, else ``ctrl+v``."""
    return "ctrl+shift+v" if window_in(wm_class, terminal_classes) else "ctrl+v"


class ActiveWindow(NamedTuple):
    """The window keys go to: its id, (instance, class) WM_CLASS and the process that made it
    (``_NET_WM_PID``, of the window that has the WM_CLASS), each None when unknown."""

    id: int | None
    wm_class: tuple[str, ...] | None
    pid: int | None = None


def active_window(display_name: str | None = None) -> ActiveWindow:
    """The active window (EWMH), else the input focus: its id and the WM_CLASS of it or of
    its nearest ancestor that has one."""
    try:
        from Xlib import X
        from Xlib import display as xdisplay
    except ImportError:  # pragma: no cover
        return ActiveWindow(None, None)
    try:
        d = xdisplay.Display(display_name)
    except Exception as exc:
        log.debug("no X display for the active window: %s", exc)
        return ActiveWindow(None, None)
    try:
        root = d.screen().root
        prop = root.get_full_property(d.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        window = None
        if prop is not None and len(prop.value) and prop.value[0]:
            window = d.create_resource_object("window", int(prop.value[0]))
        else:
            focus = d.get_input_focus().focus
            window = focus if not isinstance(focus, int) and focus != root else None
        found = int(window.id) if window is not None else None
        while window is not None and window != root:
            wm_class = window.get_wm_class()
            if wm_class:
                return ActiveWindow(found, tuple(wm_class), _local_pid(d, window))
            window = window.query_tree().parent
        return ActiveWindow(found, None)
    except Exception as exc:  # a window can vanish between the calls
        log.debug("could not read the active window: %s", exc)
        return ActiveWindow(None, None)
    finally:
        d.close()


def _local_pid(d: Any, window: Any) -> int | None:
    """The process of ``window`` (``_NET_WM_PID``) when it runs on this machine (its
    ``WM_CLIENT_MACHINE`` is this host): a window forwarded over ssh names a pid of another."""
    from Xlib import X

    owner = window.get_full_property(d.intern_atom("_NET_WM_PID"), X.AnyPropertyType)
    if owner is None or not len(owner.value):
        return None
    machine = window.get_full_property(d.intern_atom("WM_CLIENT_MACHINE"), X.AnyPropertyType)
    host = (
        machine.value.decode(errors="replace")
        if machine is not None and isinstance(machine.value, bytes)
        else ""
    )
    if host and host.split(".")[0] != socket.gethostname().split(".")[0]:
        return None
    return int(owner.value[0])


def active_window_class(display_name: str | None = None) -> tuple[str, ...] | None:
    """The (instance, class) WM_CLASS of the active window (EWMH), else of the input focus."""
    return active_window(display_name).wm_class


class X11Inserter:
    """Pastes (or types) text into the focused X11 window."""

    name = "x11"

    def __init__(self, settings: PasteSettings, read_timeout_s: float = READ_TIMEOUT_S) -> None:
        self.settings = settings
        self.read_timeout_s = read_timeout_s
        self.clipboard = X11Clipboard()
        self.primary = X11Clipboard("primary")  # for xterm and rxvt, which paste only PRIMARY
        #: Called before each typed word; blocks while typing would go astray and returns
        #: whether it waited. The engine makes it wait while a hotkey is held: a held F9 has
        #: the keyboard grabbed (typed keys reach Holdtype, not the window), a held Caps Lock
        #: the lock on. None: the text is typed in one go.
        self.between_words: Callable[[], bool] | None = None
        #: Gives the hotkey keys that are modifier keys themselves (``ctrl_r``, ``alt_r``...,
        #: pynput names): the modifiers let go before inserting leave them down (see
        #: :func:`release_held_modifiers`). None: every modifier is let go.
        self.hotkey_keys: Callable[[], Collection[str]] | None = None
        # (text, clipboard before it) of the last paste nobody read, whose text is left on the
        # clipboard: when the same text is pasted again, that earlier clipboard is the one to
        # put back, not the text the failed try left there.
        self._unread: tuple[str, str | None] | None = None

    def _hotkey_keys(self) -> Collection[str]:
        return () if self.hotkey_keys is None else self.hotkey_keys()

    def is_available(self) -> tuple[bool, str]:
        """Needs DISPLAY (an X server that answers), xdotool, and (for pasting) xclip or xsel."""
        if not os.environ.get("DISPLAY"):
            if os.environ.get("WAYLAND_DISPLAY"):
                return False, "DISPLAY is not set (Wayland): holdtype config set paste.backend wayland"
            return False, "DISPLAY is not set: no desktop session here; run Holdtype inside yours"
        from app.display_check import x11_problem

        problem = x11_problem(os.environ["DISPLAY"])  # (doctor said "ok" beside its FAIL display)
        if problem:
            return False, f"{problem}; run Holdtype inside your desktop session"
        if shutil.which("xdotool") is None:
            return False, f"xdotool is not installed ({install_command('xdotool')})"
        if self.settings.strategy == "paste":
            ok, why = self.clipboard.available()
            if not ok:
                return False, why
            return True, f"paste with xdotool and {why}"
        return True, "type with xdotool"

    def insert(self, text: str) -> InsertResult:
        """Insert ``text`` (plus the configured trailing space) by the configured strategy."""
        text = with_trailing_space(text, self.settings)
        if not text:
            return InsertResult(True, self.settings.strategy, self.name)
        if self.settings.strategy == "type":
            return self.type_text(text)
        target = active_window()
        if window_in(target.wm_class, self.settings.type_classes):
            # No key pastes the clipboard there (xterm): Shift+Insert pastes PRIMARY. Typed,
            # a line break was Return, and each dictated line ran as a shell command.
            return self.paste(text, target, primary=True)
        return self.paste(text, target)

    def type_text(self, text: str) -> InsertResult:
        """Type ``text`` into the focused window with ``xdotool type`` (held modifiers released first),
        word by word when :attr:`between_words` is set, asking it before each word.

        Caps Lock is turned off while typing and back on after: with it on, letters came out
        case-inverted ("bRING ME A CUP").
        """
        from app.hotkey.listener import caps_lock_state, set_caps_lock

        locked = caps_lock_state()
        if locked:
            set_caps_lock(False)
        try:
            return self._type_words(text)
        finally:
            if locked:
                set_caps_lock(True)

    def _type_words(self, text: str) -> InsertResult:
        """:meth:`type_text`'s typing, with the lock modifiers as they should be."""
        release_held_modifiers(keep=self._hotkey_keys())
        absent = _not_on_keyboard(text)
        words = [text] if self.between_words is None else re.findall(r"\s*\S+\s*", text) or [text]
        for word in words:  # each with the spaces around it
            if self.between_words is not None and self.between_words():
                release_held_modifiers(keep=self._hotkey_keys())  # those of a ctrl+alt+space held meanwhile
            for step in typing_commands(word, absent):
                if step[0] == "chars" and _typed_on_spare_keys(step[1]):
                    continue
                for command in _xdotool_commands(step):
                    error = _xdotool(command, timeout=30 + len(word) * 0.05)
                    if error is not None:
                        return InsertResult(False, "type", self.name, error)
        return InsertResult(True, "type", self.name)

    def paste(self, text: str, target: ActiveWindow | None = None, primary: bool = False) -> InsertResult:
        """Paste ``text`` through the clipboard into ``target`` (the active window when None)
        and restore the old clipboard afterwards; with ``primary``, through the PRIMARY
        selection and Shift+Insert (a failed paste then leaves the text on both)."""
        shortcut: str | None = None
        error: str | None = None
        unread = False
        keep = not self.settings.restore_clipboard
        extra: dict[str, bytes] = {}
        board = self.primary if primary else self.clipboard
        try:  # a screenshot the user copied is put back too
            old, extra = board.read(formats=not keep)
        except ClipboardError as exc:  # its owner hangs: paste all the same, and leave the text
            log.warning("cannot read the clipboard (%s); pasting without restoring it", exc)
            old, keep = None, True
        if (
            board.unkept
            and old is None
            and not extra  # (what was kept comes back: a PNG kept stands for the BMP not given)
            and not (keep or primary)
            and len(text) <= TYPE_INSTEAD_MAX_CHARS
            and "\n" not in text
        ):
            # Nothing of the clipboard could be kept (a picture too big, or given too slowly):
            # a paste would lose it for good. A short line is typed instead; the clipboard is
            # not touched.
            log.info("the clipboard's %s cannot be put back after a paste: typing", ", ".join(board.unkept))
            return self.type_text(text)
        unread_before, self._unread = self._unread, None
        if unread_before is not None and unread_before[0] == text == old and not primary:
            old = unread_before[1]  # pasted again after a try nobody read
        owner: SelectionOwner | None = None
        try:
            target = target or active_window()
            owner = SelectionOwner(text, reader=target.id, selection="PRIMARY" if primary else "CLIPBOARD")
            shortcut = paste_shortcut(target.wm_class, self.settings.terminal_classes)
            shortcut = "shift+Insert" if primary else shortcut
            release_held_modifiers(keep=self._hotkey_keys())
            owner.paste_sent()
            error = _xdotool(["key", shortcut])
            if error is None:
                if owner.served.wait(self.read_timeout_s):
                    owner.wait_quiet(self.settings.restore_delay_ms / 1000.0, timeout=5.0)
                elif owner.lost.is_set():
                    error = "another program took over the clipboard before the paste"
                elif target.id is None:  # (keys went to no window: a desktop, all minimised)
                    error = "no window has the focus to paste into"
                    unread = True
                else:
                    error = (
                        f"the active window did not read the clipboard within {self.read_timeout_s:.0f} s"
                        " (a busy window may still paste it)"
                    )
                    unread = True
        except Exception as exc:  # Xlib or subprocess trouble: still leave a sane clipboard
            log.exception("paste failed")
            error = f"paste failed: {exc}"
        finally:
            error = self._settle(board, text, old, owner, error, keep, extra)
            if primary and error is not None:
                with contextlib.suppress(ClipboardError):  # where the error message says it is
                    self.clipboard.set(text)
        if error:
            # The engine reports it as an insert error (one line in `run --no-tray`).
            log.warning(
                "paste into the active window failed: %s (the text is on the clipboard)",
                error,
                extra=SHOWN_TO_USER,
            )
        if unread and error is not None and not primary:
            self._unread = (text, old)
        return InsertResult(error is None, "paste", self.name, error, shortcut, unread and error is not None)

    def _settle(
        self,
        board: X11Clipboard,
        text: str,
        old: str | None,
        owner: SelectionOwner | None,
        error: str | None,
        keep: bool,
        extra: dict[str, bytes] | None = None,
    ) -> str | None:
        """Leave the clipboard in its final state (``text`` on it when ``keep``, or the paste
        failed; else ``old`` with the ``extra`` formats it was offered in: HTML, a file list,
        a picture); returns the (possibly extended) error."""
        try:
            if error is None and owner is not None and owner.lost.is_set() and _copied_since(board, text):
                # Something was copied during the paste (the user, at once): it stays. (A
                # clipboard manager taking over our text is no copy: the old one comes back.)
                log.info("the clipboard was copied to during the paste; it is left as it is")
            elif error is not None or keep:
                board.set(text)  # keep the text available, served by xclip after we stop
            elif extra:
                _keep_all(board, old, extra)
            elif old is not None:
                board.set(old)
            else:
                board.clear()
        except ClipboardError as exc:
            log.warning("could not settle the clipboard: %s", exc)
            if error is None:
                error = f"pasted, but the old clipboard could not be restored: {exc}"
        finally:
            if owner is not None:
                owner.close()
        return error


def _copied_since(board: X11Clipboard, text: str) -> bool:
    """Whether the clipboard, which another program took during the paste of ``text``, now
    holds something else than ``text`` (a new copy, not a manager keeping ours)."""
    try:
        return board.read(formats=False)[0] != text
    except ClipboardError:
        return False  # (cannot tell: restored as before)


def _keep_all(board: X11Clipboard, old: str | None, extra: dict[str, bytes]) -> None:
    """Put the old clipboard back in all its formats; when the process that keeps them cannot
    start, its text alone (or its first picture) through xclip."""
    try:
        board.keep(old, extra)
        return
    except ClipboardError as exc:
        log.warning("%s; putting back only the old clipboard's text or picture", exc)
    picture = next(((kind, data) for kind, data in extra.items() if kind in IMAGE_TARGETS), None)
    if old is not None:
        board.set(old)
    elif picture is not None:
        board.set_image(*picture)
    else:
        board.clear()


def typing_commands(text: str, absent: Collection[str] = ()) -> list[tuple[str, str]]:
    """How ``text`` is typed, in order: ("type", a run of ASCII) with ``xdotool type``; ("key",
    "Return") for a line break; ("chars", a run of other characters, and of the ASCII ones in
    ``absent``: no key of the layout makes them), each typed on a spare keycode
    (:mod:`app.insert.spare_keys`).

    ``xdotool type`` sends a line break as Linefeed, which Qt and GTK widgets ignore
    ("Hello\nWorld" came out "HelloWorld"), and types a character no key makes by mapping a
    spare key to it and back at once, which a window often reads after the mapping is gone
    ("Café naïve Über €5" came out "Caf nave ber 5"; on a Russian layout "Hello" came out
    "heo"), and "Ü" came out "ü" at any pace.

    >>> typing_commands("Ü ok\nÉté")
    [('chars', 'Ü'), ('type', ' ok'), ('key', 'Return'), ('chars', 'É'), ('type', 't'), ('chars', 'é')]
    >>> typing_commands("Hi, 42", absent="Hi")
    [('chars', 'Hi'), ('type', ', 42')]
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")

    def kind(ch: str) -> str:
        return "key" if ch == "\n" else "chars" if ord(ch) > 0x7F or ch in absent else "type"

    commands: list[tuple[str, str]] = []
    for ch in text:
        step = kind(ch)
        if step == "key":
            commands.append(("key", "Return"))
        elif commands and commands[-1][0] == step:
            commands[-1] = (step, commands[-1][1] + ch)
        else:
            commands.append((step, ch))
    return commands


def _xdotool_commands(command: tuple[str, str]) -> list[list[str]]:
    """The xdotool arguments for one of :func:`typing_commands`' steps; characters no key
    makes as a key each (with Shift for a capital): the fallback without spare keycodes."""
    kind, text = command
    if kind == "type":
        return [["type", "--delay", "2", "--", text]]
    if kind == "key":
        return [["key", text]]
    return [["key", "--delay", "30", f"{'shift+' if c.isupper() else ''}U{ord(c):04X}"] for c in text]


def _not_on_keyboard(text: str) -> frozenset[str]:
    """The ASCII characters of ``text`` (line breaks aside) no key of the current layout makes
    (Latin letters on a Russian or Greek layout), to be typed on spare keycodes."""
    from app.insert.spare_keys import spare_keys

    wanted = {ch for ch in text if ch.isascii() and ch not in "\r\n"}
    keys = spare_keys() if wanted else None
    if keys is None:
        return frozenset()
    try:
        return frozenset(keys.missing(wanted))
    except Exception as exc:  # the connection broke: xdotool types them as it can
        log.debug("cannot read the keyboard map: %s", exc)
        return frozenset()


def _typed_on_spare_keys(text: str) -> bool:
    """Type ``text`` (characters no key makes) on spare keycodes; False when the display
    lends none or the typing failed (xdotool then types them)."""
    from app.insert.spare_keys import forget_spare_keys, spare_keys

    keys = spare_keys()
    if keys is None:
        return False
    try:
        keys.type(text)
    except Exception as exc:  # the connection broke (X server restarted): xdotool instead
        log.warning("typing on spare keycodes failed (%s); xdotool types instead", exc)
        forget_spare_keys()
        return False
    return True


#: The X keysyms of each modifier key name (pynput's, as in a binding): the keys of that name.
_MODIFIER_KEYSYMS: dict[str, tuple[str, ...]] = {
    "ctrl": ("Control_L", "Control_R"), "ctrl_l": ("Control_L",), "ctrl_r": ("Control_R",),
    "shift": ("Shift_L", "Shift_R"), "shift_l": ("Shift_L",), "shift_r": ("Shift_R",),
    "cmd": ("Super_L", "Super_R"), "cmd_l": ("Super_L",), "cmd_r": ("Super_R",),
    "alt": ("Alt_L", "Meta_L", "Alt_R", "Meta_R", "ISO_Level3_Shift", "Mode_switch"),
    "alt_l": ("Alt_L", "Meta_L"),
    "alt_r": ("Alt_R", "Meta_R", "ISO_Level3_Shift", "Mode_switch"),
    "alt_gr": ("Alt_R", "Meta_R", "ISO_Level3_Shift", "Mode_switch"),
}  # fmt: skip


def release_held_modifiers(display_name: str | None = None, keep: Collection[str] = ()) -> list[int]:
    """Send XTest key releases for every modifier key that is down, except Caps Lock and the
    keys named in ``keep`` (modifier key names, as pynput's: ``ctrl_r``, ``alt_r``...).

    Returns the keycodes released. The user's hotkey (e.g. ``ctrl+alt+space``) may still be
    physically held when the text is ready; Ctrl+Alt+V would not paste. ``keep`` are the
    hotkeys that are modifier keys alone: one pressed again for the next dictation as the text
    goes in was let go here, the listener heard a tap too short to dictate, and the user
    spoke into nothing.
    """
    try:
        from Xlib import X
        from Xlib import display as xdisplay
        from Xlib.ext import xtest
    except ImportError:  # pragma: no cover
        return []
    try:
        d = xdisplay.Display(display_name)
    except Exception as exc:
        log.debug("cannot open the display to release modifiers: %s", exc)
        return []
    try:
        from Xlib import XK

        kept = {
            code
            for name in keep
            for keysym in _MODIFIER_KEYSYMS.get(name, ())
            for code, _index in d.keysym_to_keycodes(XK.string_to_keysym(keysym))
        }
        keymap = d.query_keymap()  # 32 bytes, one bit per keycode
        released: list[int] = []
        for index, codes in enumerate(d.get_modifier_mapping()):
            if index == X.LockMapIndex:
                continue
            for code in codes:
                if code and code not in kept and keymap[code // 8] & (1 << (code % 8)):
                    xtest.fake_input(d, X.KeyRelease, code)
                    released.append(code)
        d.sync()
        if released:
            log.debug("released held modifier keycodes %s before inserting", released)
        return released
    finally:
        d.close()


def _xdotool(args: list[str], timeout: float = 10.0) -> str | None:
    """Run xdotool; return None on success or a one-line error."""
    exe = shutil.which("xdotool")
    if exe is None:
        return f"xdotool is not installed ({install_command('xdotool')})"
    try:
        out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"xdotool {args[0]} did not finish within {timeout:.0f} s"
    if out.returncode != 0:
        detail = (out.stderr or out.stdout).strip().splitlines()
        return f"xdotool {args[0]} failed: {detail[-1] if detail else f'exit {out.returncode}'}"
    return None
