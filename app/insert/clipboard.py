"""Read, write and clear the clipboard's text, per backend.

``get_clipboard(backend)`` returns an object with ``get() -> str | None`` (None: empty or no
text), ``set(text)`` and ``clear()``. Text set here outlives this process (xclip, xsel, wl-copy
and pbcopy keep serving it; Windows copies it into the system clipboard).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Literal, Protocol

from app.errors import HoldtypeError
from app.insert.base import Backend, detect_backend
from app.system_packages import install_command

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0


# The image types a picture is put back in when the process that keeps a clipboard's formats
# cannot start (then xclip serves the first one offered).
IMAGE_TARGETS = ("image/png", "image/jpeg", "image/bmp", "image/gif", "image/tiff")
#: The targets text is offered in on X11 (UTF-8 but for STRING, which is Latin-1), in the order
#: Holdtype offers them; Wayland's wl-paste lists the same names beside its MIME types.
TEXT_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "text/plain", "STRING", "TEXT", "COMPOUND_TEXT")
_TEXT_TARGETS = frozenset(TEXT_TARGETS)
_UTF8_TARGETS = TEXT_TARGETS[:3]  # the names of UTF-8 text, the most usual first
#: At most this many of a clipboard's other formats are kept (an office suite offers dozens).
MAX_FORMATS = 16
#: Formats bigger than this are not kept, nor any once this many bytes were read.
MAX_FORMAT_BYTES = 32 * 1024 * 1024
MAX_FORMATS_BYTES = 64 * 1024 * 1024
#: How long reading the other formats may take before the paste, in all (they are read together).
FORMATS_READ_S = 1.5
#: How long the process that keeps the old clipboard gets to start and own it.
KEEPER_START_S = 10.0


def other_formats(offered: Sequence[str]) -> list[str]:
    """The formats of ``offered`` (a clipboard's TARGETS) worth putting back besides its text:
    the MIME types (HTML, a file manager's file list, pictures), not the plain-text ones, nor X's
    own (PIXMAP names a server resource its owner frees; TARGETS, TIMESTAMP, MULTIPLE...).

    >>> other_formats(["TARGETS", "text/html", "UTF8_STRING", "text/plain;charset=UTF-8", "PIXMAP",
    ...                "x-special/gnome-copied-files", "image/png"])
    ['text/html', 'x-special/gnome-copied-files', 'image/png']
    """
    kept = [t for t in offered if "/" in t and not t.casefold().startswith("text/plain")]
    return list(dict.fromkeys(kept))[:MAX_FORMATS]


class ClipboardError(HoldtypeError):
    """The clipboard cannot be read or written (tool missing, no display...)."""


class Clipboard(Protocol):
    """Text access to the system clipboard."""

    def get(self) -> str | None:
        """The clipboard's text, or None when it is empty or holds no text."""
        ...

    def set(self, text: str) -> None:
        """Put ``text`` on the clipboard."""
        ...

    def clear(self) -> None:
        """Empty the clipboard."""
        ...


def _run(
    args: list[str],
    data: bytes | None = None,
    *,
    detach: bool = False,
    timeout: float = TIMEOUT_S,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run a clipboard tool. ``detach``: the tool forks a server that keeps serving the text,
    so its output is not captured and it runs in a session of its own: in Holdtype's process
    group, the Ctrl-C or closed terminal that ends Holdtype ended it too, and the clipboard
    (the user's own, put back after a paste, or a dictation that could not be pasted) was empty."""
    try:
        return subprocess.run(
            args,
            input=data,
            stdout=subprocess.DEVNULL if detach else subprocess.PIPE,
            stderr=subprocess.DEVNULL if detach else subprocess.PIPE,
            timeout=timeout,
            check=False,
            start_new_session=detach and sys.platform != "win32",
            env=env,
        )
    except FileNotFoundError as exc:
        raise ClipboardError(f"{args[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise ClipboardError(f"{args[0]} did not answer within {timeout:g} s") from exc


class X11Clipboard:
    """The X11 CLIPBOARD selection through xclip (or xsel); with ``selection="primary"``,
    the PRIMARY selection (what xterm pastes with Shift+Insert and a middle click)."""

    def __init__(self, selection: Literal["clipboard", "primary"] = "clipboard") -> None:
        self.tool = "xclip" if shutil.which("xclip") else "xsel" if shutil.which("xsel") else None
        self.selection = selection
        #: The formats the last :meth:`read` could not keep (not given in time, too big): a
        #: paste over them would lose them for good.
        self.unkept: list[str] = []
        self._xclip = ["xclip", "-selection", selection]
        self._xsel = ["xsel", f"--{selection}"]

    def available(self) -> tuple[bool, str]:
        """Whether xclip/xsel and a display are there."""
        if not os.environ.get("DISPLAY"):
            return False, "DISPLAY is not set (no X session)"
        if self.tool is None:
            return False, f"neither xclip nor xsel is installed ({install_command('xclip')})"
        return True, self.tool

    def _tool(self) -> str:
        ok, why = self.available()
        if not ok:
            raise ClipboardError(why)
        assert self.tool is not None
        return self.tool

    def get(self) -> str | None:
        """The clipboard's text (UTF-8), or None when nothing owns it or it has no text."""
        return self.read(formats=False)[0]

    def read(self, formats: bool = True) -> tuple[str | None, dict[str, bytes]]:
        """The clipboard's text, and (``formats``, with xclip) its data in the other formats it
        is offered in (:func:`other_formats`: HTML, a copied file list, a picture), by format,
        to put it back whole after a paste; the types on offer are asked once."""
        tool = self._tool()
        extra: dict[str, bytes] = {}
        self.unkept = []
        if tool == "xclip":
            listed = self._targets()
            offered = frozenset(listed or ())
            if formats and listed:
                extra = self._formats(other_formats(listed))
            if listed is not None and not offered & _TEXT_TARGETS:
                # no text: xclip serving a picture answers a text request with the picture
                return None, extra
            if listed is not None and offered & _TEXT_TARGETS <= {"STRING", "TEXT"} and "STRING" in offered:
                # Latin-1 only (an old program): read as UTF-8, "café" came back "caf\ufffd"
                out = _run([*self._xclip, "-o", "-t", "STRING"])
                if out.returncode == 0:
                    return out.stdout.decode("latin-1"), extra
            # UTF-8 text by the first name the owner offers it under (some offer it only as
            # text/plain: asked for UTF8_STRING alone, their text read as none, and was lost)
            utf8 = [t for t in _UTF8_TARGETS if listed is None or t in offered] or ["UTF8_STRING"]
            for name in utf8:
                out = _run([*self._xclip, "-o", "-t", name])
                if out.returncode == 0:
                    break
            else:
                out = _run([*self._xclip, "-o"])
        else:
            out = _run([*self._xsel, "--output"])
        if out.returncode != 0:
            return None, extra
        # Bytes that are not UTF-8 (an old program's Latin-1 offered as UTF-8) are kept as they
        # are (lone surrogates), so that they go back unchanged: "replace" restored U+FFFD.
        return out.stdout.decode("utf-8", errors="surrogateescape"), extra

    def set(self, text: str) -> None:
        """Own the clipboard with ``text`` (a background xclip/xsel keeps serving it)."""
        tool = self._tool()
        args = [*self._xclip, "-i"] if tool == "xclip" else [*self._xsel, "--input"]
        out = _run(args, text.encode("utf-8", errors="surrogateescape"), detach=True)
        if out.returncode != 0:
            raise ClipboardError(f"{tool} could not set the clipboard (exit {out.returncode})")

    def _formats(self, names: list[str]) -> dict[str, bytes]:
        """The clipboard's data in each of ``names``, read with xclip all at once, within
        :data:`FORMATS_READ_S` in all (a format still being made then is left out), and within
        the size limits; in the order of ``names``."""
        if not names:
            return {}
        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="holdtype-clipboard")
        reads = {
            name: pool.submit(_run, [*self._xclip, "-o", "-t", name], timeout=FORMATS_READ_S)
            for name in names
        }
        wait(reads.values(), timeout=FORMATS_READ_S)
        pool.shutdown(wait=False, cancel_futures=True)
        found: dict[str, bytes] = {}
        total = 0
        for name, future in reads.items():
            if not future.done() or future.cancelled() or future.exception() is not None:
                log.debug("clipboard format %s not kept: not read in time", name)
                self.unkept.append(name)
                continue
            out = future.result()
            if out.returncode != 0 or not out.stdout:
                continue  # (offered, but not given: nothing to lose)
            if len(out.stdout) > MAX_FORMAT_BYTES or total + len(out.stdout) > MAX_FORMATS_BYTES:
                log.debug("clipboard format %s not kept: too big", name)
                self.unkept.append(name)
                continue
            total += len(out.stdout)
            found[name] = out.stdout
        return found

    def _targets(self) -> list[str] | None:
        """The types the clipboard's owner offers its data in, in its order; None when there
        is no owner or it does not say (an old program: then only a read tells)."""
        listed = _run([*self._xclip, "-o", "-t", "TARGETS"])
        if listed.returncode != 0:
            return None
        return listed.stdout.decode("ascii", errors="replace").split()

    def keep(self, text: str | None, extra: dict[str, bytes]) -> None:
        """Own the clipboard with ``text`` and the data of ``extra`` (by format), served by a
        process of Holdtype's own that outlives it, as xclip does for one format, and ends when
        another program takes the clipboard over."""
        from app.paths import holdtype_command

        header = {
            "selection": self.selection.upper(),
            "text": text,
            "formats": [[n, len(d)] for n, d in extra.items()],
        }
        payload = json.dumps(header).encode("utf-8") + b"\n" + b"".join(extra.values())
        try:
            proc = subprocess.Popen(
                [*holdtype_command(), "_keep-clipboard"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise ClipboardError(f"cannot start the process that keeps the clipboard: {exc}") from exc
        try:
            said, _ = proc.communicate(payload, timeout=KEEPER_START_S)  # it forks and owns
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.communicate()
            raise ClipboardError(
                f"the process that keeps the clipboard did not start within {KEEPER_START_S:g} s"
            ) from exc
        if said.strip() != b"owned":
            reason = said.decode("utf-8", errors="replace").strip() or f"exit {proc.returncode}"
            raise ClipboardError(f"the process that keeps the clipboard failed: {reason}")

    def set_image(self, target: str, data: bytes) -> None:
        """Own the clipboard with an image of type ``target`` (served by a background xclip)."""
        if self._tool() != "xclip":
            raise ClipboardError(
                f"putting an image on the clipboard needs xclip ({install_command('xclip')})"
            )
        out = _run([*self._xclip, "-t", target, "-i"], data, detach=True)
        if out.returncode != 0:
            raise ClipboardError(f"xclip could not set the clipboard (exit {out.returncode})")

    def clear(self) -> None:
        """Leave the clipboard without an owner, i.e. empty."""
        if shutil.which("xsel"):
            out = _run([*self._xsel, "--clear"])
            if out.returncode == 0:
                return
        clear_selection_owner(selection=self.selection.upper())


def clear_selection_owner(display_name: str | None = None, selection: str = "CLIPBOARD") -> None:
    """Set the ``selection``'s owner to None through Xlib (what ``xsel --clear`` does)."""
    try:
        from Xlib import X
        from Xlib import display as xdisplay
        from Xlib.error import DisplayError
        from Xlib.protocol import request
    except ImportError as exc:  # pragma: no cover - python-xlib comes with pynput
        raise ClipboardError("python-xlib is missing") from exc
    try:
        d = xdisplay.Display(display_name)
    except DisplayError as exc:
        raise ClipboardError(f"cannot open the X display: {exc}") from exc
    try:
        request.SetSelectionOwner(
            display=d.display, window=X.NONE, selection=d.intern_atom(selection), time=X.CurrentTime
        )
        d.sync()
    finally:
        d.close()


class WaylandClipboard:
    """The Wayland clipboard through wl-clipboard (wl-copy / wl-paste)."""

    def get(self) -> str | None:
        """The clipboard's text, or None."""
        out = _run(["wl-paste", "--no-newline", "--type", "text/plain"])
        if out.returncode != 0:
            return None
        return out.stdout.decode("utf-8", errors="surrogateescape")  # (bytes kept: see X11Clipboard)

    def types(self) -> list[str]:
        """The types the clipboard is offered in (none when it is empty)."""
        out = _run(["wl-paste", "--list-types"])
        return out.stdout.decode("utf-8", errors="replace").split() if out.returncode == 0 else []

    def get_type(self, kind: str) -> bytes | None:
        """The clipboard's data of type ``kind`` (a picture's bytes), or None."""
        out = _run(["wl-paste", "--no-newline", "--type", kind])
        return out.stdout if out.returncode == 0 and out.stdout else None

    def set_type(self, kind: str, data: bytes) -> None:
        """Put ``data`` of type ``kind`` on the clipboard (wl-copy forks a server for it)."""
        out = _run(["wl-copy", "--type", kind], data, detach=True)
        if out.returncode != 0:
            raise ClipboardError(f"wl-copy failed (exit {out.returncode})")

    def set(self, text: str) -> None:
        """Put ``text`` on the clipboard (wl-copy forks a server for it)."""
        data = text.encode("utf-8", errors="surrogateescape")
        out = _run(["wl-copy", "--type", "text/plain;charset=utf-8"], data, detach=True)
        if out.returncode != 0:
            raise ClipboardError(f"wl-copy failed (exit {out.returncode})")

    def clear(self) -> None:
        """Empty the clipboard."""
        _run(["wl-copy", "--clear"])


def utf8_locale_env() -> dict[str, str]:
    """This process's environment with a UTF-8 locale for pbcopy and pbpaste, which take the
    text's encoding from the locale: an app started by Finder or at login (launchd) has none,
    and "café" or a curly apostrophe came out as "cafÃ©"."""
    env = dict(os.environ)
    if "utf-8" not in (env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or "").lower().replace(
        "utf8", "utf-8"
    ):
        env.pop("LC_ALL", None)
        env["LC_CTYPE"] = "en_US.UTF-8"
        env["LANG"] = "en_US.UTF-8"
    return env


#: One item of the macOS pasteboard: its data by type (``public.png``, ``public.utf8-plain-text``…).
PasteboardItem = dict[str, bytes]


class MacClipboard:
    """The macOS pasteboard through pbcopy / pbpaste, and AppKit for what is not text."""

    def get(self) -> str | None:
        """The pasteboard's text, or None when it has none."""
        out = _run(["pbpaste", "-Prefer", "txt"], env=utf8_locale_env())
        if out.returncode != 0 or not out.stdout:
            return None
        return out.stdout.decode("utf-8", errors="replace")

    def set(self, text: str) -> None:
        """Put ``text`` on the pasteboard."""
        out = _run(["pbcopy"], text.encode("utf-8"), env=utf8_locale_env())
        if out.returncode != 0:
            raise ClipboardError(f"pbcopy failed (exit {out.returncode})")

    def clear(self) -> None:
        """Empty the pasteboard (pbcopy of nothing leaves an empty string)."""
        _run(["pbcopy"], b"", env=utf8_locale_env())

    def snapshot(self) -> list[PasteboardItem] | None:
        """Every item on the pasteboard with its data of every type (a screenshot, copied
        files, styled text: pbpaste reads text only, and after a paste the pasteboard was
        emptied), within :data:`MAX_FORMATS_BYTES`; None when AppKit (PyObjC, which pynput
        brings on macOS) cannot read it or there is more."""
        try:
            from AppKit import NSPasteboard  # type: ignore[import-not-found]
        except ImportError:
            return None
        try:
            board = NSPasteboard.generalPasteboard()
            items: list[PasteboardItem] = []
            total = 0
            for item in board.pasteboardItems() or ():
                data: PasteboardItem = {}
                for kind in item.types() or ():
                    raw = item.dataForType_(kind)
                    if raw is None:
                        continue
                    data[str(kind)] = value = bytes(raw)
                    total += len(value)
                    if total > MAX_FORMATS_BYTES:
                        return None
                items.append(data)
            return items
        except Exception as exc:  # PyObjC raises its own errors; the text path still works
            log.debug("cannot read the pasteboard's items: %s", exc)
            return None

    def restore(self, items: list[PasteboardItem]) -> None:
        """Put back what :meth:`snapshot` read (an empty list empties the pasteboard)."""
        try:
            from AppKit import NSPasteboard, NSPasteboardItem  # type: ignore[import-not-found]
            from Foundation import NSData  # type: ignore[import-not-found]

            board = NSPasteboard.generalPasteboard()
            board.clearContents()
            objects = []
            for data in items:
                item = NSPasteboardItem.alloc().init()
                for kind, raw in data.items():
                    item.setData_forType_(NSData.dataWithBytes_length_(raw, len(raw)), kind)
                objects.append(item)
            if objects and not board.writeObjects_(objects):
                raise ClipboardError("the pasteboard refused the items put back")
        except ClipboardError:
            raise
        except Exception as exc:
            raise ClipboardError(f"cannot put the pasteboard's items back: {exc}") from exc


#: Windows clipboard formats whose data is not an HGLOBAL of bytes (a bitmap, metafile or palette
#: handle, an owner-drawn one) and cannot be copied as bytes; Windows makes CF_BITMAP from CF_DIB
#: again by itself. 0x200-0x2FF (CF_PRIVATEFIRST..LAST) and 0x300-0x3FF (CF_GDIOBJFIRST..LAST)
#: hold handles of the owner's own kind too.
WIN_HANDLE_FORMATS = frozenset({2, 3, 9, 14, 0x80, 0x82, 0x83, 0x8E})


def win_formats_to_keep(formats: Iterable[int]) -> list[int]:
    """Of the Windows clipboard ``formats`` (``EnumClipboardFormats`` order), those whose data
    can be copied as bytes and put back (every one but :data:`WIN_HANDLE_FORMATS` and the
    private and GDI object ranges), in order, each once."""
    kept: list[int] = []
    for fmt in formats:
        if fmt in WIN_HANDLE_FORMATS or 0x200 <= fmt <= 0x3FF or fmt in kept:
            continue
        kept.append(fmt)
    return kept


WinRestore = Literal["formats", "text", "clear", "leave"]


def win_restore_plan(
    old_text: str | None, saved: list[tuple[int, bytes]] | None, had_formats: bool
) -> WinRestore:
    """How the Windows clipboard is put back after a paste: ``formats`` (every format saved
    before, a picture or files with the text), else the ``text`` alone, else ``clear`` when it
    was empty, else ``leave`` it holding the dictated text: a clipboard that held something
    that could not be saved (a picture only) is never emptied."""
    if saved:
        return "formats"
    if old_text is not None:
        return "text"
    return "leave" if had_formats else "clear"


class WindowsClipboard:
    """The Windows clipboard through the Win32 API (ctypes): its text, and a snapshot of all
    its formats to put back after a paste.

    It is opened with no owner window (``OpenClipboard(NULL)``): Microsoft documents that
    ``SetClipboardData`` may then fail after ``EmptyClipboard``; a failure is reported as a
    :class:`ClipboardError`. A message-only owner window was not added, because a window with
    no message loop as clipboard owner could not be tried on Windows here.
    """

    CF_UNICODETEXT = 13
    GMEM_MOVEABLE = 0x0002

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        self._ct = ctypes
        self.user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
        self.kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        self.user32.GetClipboardData.restype = wintypes.HANDLE
        self.user32.SetClipboardData.argtypes = [wintypes.UINT, wintypes.HANDLE]
        self.user32.SetClipboardData.restype = wintypes.HANDLE
        self.kernel32.GlobalAlloc.argtypes = [wintypes.UINT, ctypes.c_size_t]
        self.kernel32.GlobalAlloc.restype = wintypes.HGLOBAL
        self.kernel32.GlobalLock.argtypes = [wintypes.HGLOBAL]
        self.kernel32.GlobalLock.restype = wintypes.LPVOID
        self.kernel32.GlobalUnlock.argtypes = [wintypes.HGLOBAL]
        self.kernel32.GlobalSize.argtypes = [wintypes.HGLOBAL]
        self.kernel32.GlobalSize.restype = ctypes.c_size_t
        self.kernel32.GlobalFree.argtypes = [wintypes.HGLOBAL]
        self.kernel32.GlobalFree.restype = wintypes.HGLOBAL
        self.user32.EnumClipboardFormats.argtypes = [wintypes.UINT]
        self.user32.EnumClipboardFormats.restype = wintypes.UINT

    def _open(self) -> None:
        for _ in range(20):  # another process may hold the clipboard for a moment
            if self.user32.OpenClipboard(None):
                return
            import time

            time.sleep(0.01)
        raise ClipboardError("the clipboard is in use by another program")

    def get(self) -> str | None:
        """The clipboard's Unicode text, or None."""
        self._open()
        try:
            handle = self.user32.GetClipboardData(self.CF_UNICODETEXT)
            if not handle:
                return None
            pointer = self.kernel32.GlobalLock(handle)
            try:
                return self._ct.wstring_at(pointer)
            finally:
                self.kernel32.GlobalUnlock(handle)
        finally:
            self.user32.CloseClipboard()

    def set(self, text: str) -> None:
        """Put ``text`` on the clipboard."""
        data = self._ct.create_unicode_buffer(text)
        size = self._ct.sizeof(data)
        self._open()
        try:
            self.user32.EmptyClipboard()
            handle = self.kernel32.GlobalAlloc(self.GMEM_MOVEABLE, size)
            pointer = self.kernel32.GlobalLock(handle)
            self._ct.memmove(pointer, data, size)
            self.kernel32.GlobalUnlock(handle)
            if not self.user32.SetClipboardData(self.CF_UNICODETEXT, handle):
                raise ClipboardError("SetClipboardData failed")
        finally:
            self.user32.CloseClipboard()

    def clear(self) -> None:
        """Empty the clipboard."""
        self._open()
        try:
            self.user32.EmptyClipboard()
        finally:
            self.user32.CloseClipboard()

    def format_count(self) -> int:
        """How many formats the clipboard holds (0: empty)."""
        return int(self.user32.CountClipboardFormats())

    def snapshot(self) -> list[tuple[int, bytes]]:
        """Every format's data that can be kept (see :func:`win_formats_to_keep`), as bytes.
        Raises :class:`ClipboardError` when a format's data cannot be read."""
        self._open()
        try:
            formats: list[int] = []
            fmt = self.user32.EnumClipboardFormats(0)
            while fmt:
                formats.append(fmt)
                fmt = self.user32.EnumClipboardFormats(fmt)
            saved: list[tuple[int, bytes]] = []
            total = 0
            for fmt in win_formats_to_keep(formats)[:MAX_FORMATS]:
                handle = self.user32.GetClipboardData(fmt)  # (an app may render it only now)
                if not handle:
                    raise ClipboardError(f"cannot read clipboard format {fmt}")
                size = self.kernel32.GlobalSize(handle)
                total += size
                if size > MAX_FORMAT_BYTES or total > MAX_FORMATS_BYTES:  # (a big spreadsheet range)
                    raise ClipboardError(f"clipboard format {fmt} is too big to keep ({size} bytes)")
                pointer = self.kernel32.GlobalLock(handle)
                if not pointer:
                    raise ClipboardError(f"cannot lock clipboard format {fmt}")
                try:
                    saved.append((fmt, self._ct.string_at(pointer, size)))
                finally:
                    self.kernel32.GlobalUnlock(handle)
            return saved
        finally:
            self.user32.CloseClipboard()

    def restore(self, saved: list[tuple[int, bytes]]) -> None:
        """Put a :meth:`snapshot` back, all its formats at once. Raises :class:`ClipboardError`
        when one cannot be set (the clipboard may then hold only some of them)."""
        self._open()
        try:
            self.user32.EmptyClipboard()
            for fmt, data in saved:
                handle = self.kernel32.GlobalAlloc(self.GMEM_MOVEABLE, max(len(data), 1))
                if not handle:
                    raise ClipboardError("out of memory for the clipboard")
                pointer = self.kernel32.GlobalLock(handle)
                if pointer:
                    self._ct.memmove(pointer, data, len(data))
                    self.kernel32.GlobalUnlock(handle)
                if not pointer or not self.user32.SetClipboardData(fmt, handle):
                    self.kernel32.GlobalFree(handle)  # still ours: the clipboard did not take it
                    raise ClipboardError(f"cannot set clipboard format {fmt}")
        finally:
            self.user32.CloseClipboard()


def get_clipboard(backend: Backend | str = "auto") -> Clipboard:
    """Return the clipboard of ``backend`` (``auto``: detected from the session)."""
    chosen = detect_backend() if backend == "auto" else backend
    if chosen == "x11":
        return X11Clipboard()
    if chosen == "wayland":
        return WaylandClipboard()
    if chosen == "macos":
        return MacClipboard()
    if chosen == "windows":
        if not sys.platform.startswith("win"):
            raise ClipboardError("the Windows clipboard is only available on Windows")
        return WindowsClipboard()
    raise ClipboardError(f"unknown clipboard backend {backend!r}")
