"""Insert text on X11: paste through the clipboard (default) or type it with xdotool.

Paste, step by step:

1. read the old clipboard text (xclip/xsel);
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
5. ``finally``: restore the old text (an empty clipboard is emptied again); if the paste failed
   (no xdotool, injection error, the target never read it) the text is left on the clipboard
   instead, served by xclip, so the user can paste it by hand.

The old clipboard's text is restored; a clipboard holding a picture and no text gets the
picture back (in the first of PNG, JPEG, BMP, GIF, TIFF it was offered in). Other kinds of data
are not kept: copied HTML comes back as its plain text, a copied file list is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Sequence
from typing import NamedTuple

from app.config import PasteSettings
from app.errors import SHOWN_TO_USER
from app.insert.base import InsertResult, with_trailing_space
from app.insert.clipboard import ClipboardError, X11Clipboard

log = logging.getLogger(__name__)

#: How long the target window gets to ask for the clipboard after the paste shortcut.
READ_TIMEOUT_S = 3.0
_TEXT_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "text/plain", "STRING", "TEXT", "COMPOUND_TEXT")


def window_in(wm_class: Sequence[str] | None, classes: Sequence[str]) -> bool:
    """Whether a window of class ``wm_class`` (its (instance, class) pair) is one of
    ``classes``: either part matches, ignoring case."""
    names = {name.casefold() for name in classes}
    return bool(wm_class) and any(part.casefold() in names for part in wm_class or () if part)


def paste_shortcut(wm_class: Sequence[str] | None, terminal_classes: Sequence[str]) -> str:
    """The xdotool key name of the paste shortcut for a window of class ``wm_class``:
    ``ctrl+shift+v`` for one of ``terminal_classes``, else ``ctrl+v``."""
    return "ctrl+shift+v" if window_in(wm_class, terminal_classes) else "ctrl+v"


class SelectionOwner:
    """Owns the X CLIPBOARD selection with one text, on its own X connection and thread.

    :attr:`served` is set when the paste's reader has read the text (not just asked for
    TARGETS); :attr:`lost` when another client took the selection over. The reader is the
    client of ``reader`` (the active window's id) when it is known; else, or when another
    client reads after :meth:`paste_sent`, any client that did not already ask before the
    paste key went out. A clipboard manager (CopyQ, GPaste, Klipper) reads each new
    clipboard at once: its read had been taken for the paste, and the old clipboard was put
    back while the window had read nothing (or before a slow one read).
    """

    def __init__(
        self,
        text: str,
        display_name: str | None = None,
        reader: int | None = None,
        selection: str = "CLIPBOARD",
    ) -> None:
        from Xlib import X, Xatom
        from Xlib import display as xdisplay

        self._X = X
        self.data = text.encode("utf-8")
        self.served = threading.Event()
        self.lost = threading.Event()
        self.last_request = 0.0
        self.requests = 0
        self._stop = threading.Event()
        self._d = xdisplay.Display(display_name)
        d = self._d
        self._client_mask = ~int(d.display.info.resource_id_mask)
        self._reader = reader & self._client_mask if reader else None
        self._watchers: set[int] = set()  # clients that asked before the paste key was sent
        self._sent = False
        self._atoms = {name: d.intern_atom(name) for name in ("TARGETS", "TIMESTAMP", "INTEGER")}
        self._selection = d.intern_atom(selection)  # CLIPBOARD, or PRIMARY (xterm's Shift+Insert)
        self._text_atoms = {d.intern_atom(name): name for name in _TEXT_TARGETS}
        self._string_atom = Xatom.STRING
        self._atom_type = Xatom.ATOM
        self._window = d.screen().root.create_window(
            0, 0, 1, 1, 0, X.CopyFromParent, event_mask=X.PropertyChangeMask
        )
        self.timestamp = self._server_time()
        self._window.set_selection_owner(self._selection, self.timestamp)
        d.flush()
        owner = d.get_selection_owner(self._selection)
        if owner != self._window:
            self._d.close()
            raise ClipboardError("could not take ownership of the X clipboard")
        self._thread = threading.Thread(target=self._serve, name="holdtype-x11-selection", daemon=True)
        self._thread.start()

    def _server_time(self) -> int:
        """A real server timestamp (ICCCM): append nothing to a property and read the event time."""
        X = self._X
        atom = self._d.intern_atom("HOLDTYPE_TIMESTAMP")
        self._window.change_property(atom, self._string_atom, 8, b"", mode=X.PropModeAppend)
        self._d.flush()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            while self._d.pending_events():
                event = self._d.next_event()
                if event.type == X.PropertyNotify and event.atom == atom:
                    return int(event.time)
            select.select([self._d.fileno()], [], [], 0.05)
        return X.CurrentTime

    def _serve(self) -> None:
        X = self._X
        try:
            while not self._stop.is_set():
                if not self._d.pending_events():
                    select.select([self._d.fileno()], [], [], 0.05)
                    continue
                event = self._d.next_event()
                if event.type == X.SelectionRequest:
                    self._answer(event)
                elif event.type == X.SelectionClear:
                    self.lost.set()
                    return
        except Exception:  # the connection broke; nothing more can be served
            log.exception("the X clipboard owner stopped")
            self.lost.set()

    def _answer(self, req: object) -> None:
        from Xlib.protocol import event as xevent

        X = self._X
        prop = req.property or req.target  # type: ignore[attr-defined]  # obsolete clients: property None
        target = req.target  # type: ignore[attr-defined]
        requestor = req.requestor  # type: ignore[attr-defined]
        self.requests += 1
        self.last_request = time.monotonic()
        client = int(requestor.id) & self._client_mask
        if not self._sent:
            self._watchers.add(client)
        is_text = False
        try:
            if target == self._atoms["TARGETS"]:
                atoms = [self._atoms["TARGETS"], self._atoms["TIMESTAMP"], *self._text_atoms]
                requestor.change_property(prop, self._atom_type, 32, atoms)
            elif target == self._atoms["TIMESTAMP"]:
                requestor.change_property(prop, self._atoms["INTEGER"], 32, [self.timestamp])
            elif target in self._text_atoms:
                name = self._text_atoms[target]
                if name == "STRING":
                    data = self.data.decode("utf-8").encode("latin-1", errors="replace")
                    requestor.change_property(prop, self._string_atom, 8, data)
                else:
                    kind = target if name.startswith("text/") else self._d.intern_atom("UTF8_STRING")
                    requestor.change_property(prop, kind, 8, self.data)
                is_text = True
            else:
                prop = X.NONE
        except Exception:
            log.exception("could not answer a clipboard request")
            prop = X.NONE
            is_text = False
        notify = xevent.SelectionNotify(
            time=req.time,  # type: ignore[attr-defined]
            requestor=requestor,
            selection=req.selection,  # type: ignore[attr-defined]
            target=target,
            property=prop,
        )
        requestor.send_event(notify, event_mask=0)
        self._d.flush()
        if is_text and self._is_reader(client):
            self.served.set()
        elif is_text:
            log.debug("the clipboard was read by client %#x, not the paste's window", client)

    def paste_sent(self) -> None:
        """Mark the paste key as about to be sent: a client that asked before it watches the
        clipboard (a manager) and is not the paste's reader."""
        self._sent = True

    def _is_reader(self, client: int) -> bool:
        if self._reader is not None and client == self._reader:
            return True
        # The active window unknown, or its text read through another connection (Wine's
        # clipboard thread): any client that was not watching before the paste.
        return self._sent and client not in self._watchers

    def wait_quiet(self, quiet_s: float, timeout: float) -> None:
        """After the first read, wait until no request came for ``quiet_s`` (at most ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.lost.is_set():
            idle = time.monotonic() - self.last_request
            if idle >= quiet_s:
                return
            self.lost.wait(min(quiet_s - idle, deadline - time.monotonic()))

    def close(self) -> None:
        """Stop serving, release the selection if still ours, and close the connection."""
        self._stop.set()
        self._thread.join(timeout=2)
        with contextlib.suppress(Exception):
            if not self.lost.is_set():
                owner = self._d.get_selection_owner(self._selection)
                if owner == self._window:
                    from Xlib.protocol import request

                    request.SetSelectionOwner(
                        display=self._d.display,
                        window=self._X.NONE,
                        selection=self._selection,
                        time=self.timestamp,
                    )
            self._window.destroy()
            self._d.close()


class ActiveWindow(NamedTuple):
    """The window keys go to: its id and (instance, class) WM_CLASS, each None when unknown."""

    id: int | None
    wm_class: tuple[str, ...] | None


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
                return ActiveWindow(found, tuple(wm_class))
            window = window.query_tree().parent
        return ActiveWindow(found, None)
    except Exception as exc:  # a window can vanish between the calls
        log.debug("could not read the active window: %s", exc)
        return ActiveWindow(None, None)
    finally:
        d.close()


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
        # (text, clipboard before it) of the last paste nobody read, whose text is left on the
        # clipboard: when the same text is pasted again, that earlier clipboard is the one to
        # put back, not the text the failed try left there.
        self._unread: tuple[str, str | None] | None = None

    def is_available(self) -> tuple[bool, str]:
        """Needs DISPLAY, xdotool, and (for pasting) xclip or xsel."""
        if not os.environ.get("DISPLAY"):
            if os.environ.get("WAYLAND_DISPLAY"):
                return False, "DISPLAY is not set (Wayland): holdtype config set paste.backend wayland"
            return False, "DISPLAY is not set: no desktop session here; run Holdtype inside yours"
        if shutil.which("xdotool") is None:
            return False, "xdotool is not installed (sudo apt-get install xdotool)"
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

        With Caps Lock on, letters come out case-inverted (as with any typing tool).
        """
        release_held_modifiers()
        absent = _not_on_keyboard(text)
        words = [text] if self.between_words is None else re.findall(r"\s*\S+\s*", text) or [text]
        for word in words:  # each with the spaces around it
            if self.between_words is not None and self.between_words():
                release_held_modifiers()  # those of a ctrl+alt+space held meanwhile
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
        image: tuple[str, bytes] | None = None
        board = self.primary if primary else self.clipboard
        try:  # a screenshot the user copied is put back too
            old, image = board.read(images=not keep)
        except ClipboardError as exc:  # its owner hangs: paste all the same, and leave the text
            log.warning("cannot read the clipboard (%s); pasting without restoring it", exc)
            old, keep = None, True
        unread_before, self._unread = self._unread, None
        if unread_before is not None and unread_before[0] == text == old and not primary:
            old = unread_before[1]  # pasted again after a try nobody read
        owner: SelectionOwner | None = None
        try:
            target = target or active_window()
            owner = SelectionOwner(text, reader=target.id, selection="PRIMARY" if primary else "CLIPBOARD")
            shortcut = paste_shortcut(target.wm_class, self.settings.terminal_classes)
            shortcut = "shift+Insert" if primary else shortcut
            release_held_modifiers()
            owner.paste_sent()
            error = _xdotool(["key", shortcut])
            if error is None:
                if owner.served.wait(self.read_timeout_s):
                    owner.wait_quiet(self.settings.restore_delay_ms / 1000.0, timeout=5.0)
                elif owner.lost.is_set():
                    error = "another program took over the clipboard before the paste"
                else:
                    error = f"the active window did not read the clipboard within {self.read_timeout_s:.0f} s"
                    unread = True
        except Exception as exc:  # Xlib or subprocess trouble: still leave a sane clipboard
            log.exception("paste failed")
            error = f"paste failed: {exc}"
        finally:
            error = self._settle(board, text, old, owner, error, keep, image)
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
        image: tuple[str, bytes] | None = None,
    ) -> str | None:
        """Leave the clipboard in its final state (``text`` on it when ``keep``, or the paste
        failed; else ``old``, or ``image``, a clipboard holding only a picture); returns the
        (possibly extended) error."""
        try:
            if error is not None or keep:
                board.set(text)  # keep the text available, served by xclip after we stop
            elif old is not None:
                board.set(old)
            elif image is not None:
                board.set_image(*image)
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


def release_held_modifiers(display_name: str | None = None) -> list[int]:
    """Send XTest key releases for every modifier key that is down, except Caps Lock.

    Returns the keycodes released. The user's hotkey (e.g. ``ctrl+alt+space``) may still be
    physically held when the text is ready; Ctrl+Alt+V would not paste.
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
        keymap = d.query_keymap()  # 32 bytes, one bit per keycode
        released: list[int] = []
        for index, codes in enumerate(d.get_modifier_mapping()):
            if index == X.LockMapIndex:
                continue
            for code in codes:
                if code and keymap[code // 8] & (1 << (code % 8)):
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
        return "xdotool is not installed (sudo apt-get install xdotool)"
    try:
        out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"xdotool {args[0]} did not finish within {timeout:.0f} s"
    if out.returncode != 0:
        detail = (out.stderr or out.stdout).strip().splitlines()
        return f"xdotool {args[0]} failed: {detail[-1] if detail else f'exit {out.returncode}'}"
    return None
