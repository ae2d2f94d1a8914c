"""Own an X selection (CLIPBOARD or PRIMARY) and serve its data, on a connection and thread of
its own: the dictated text during a paste, or the user's old clipboard in all its formats
after it (:mod:`app.insert.x11_keeper`).

Data larger than one X request is sent in pieces, as ICCCM's INCR protocol says: a copied
screenshot is megabytes, and python-xlib refuses a property over about 256 KB.
"""

from __future__ import annotations

import contextlib
import logging
import select
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.insert.clipboard import TEXT_TARGETS, ClipboardError

log = logging.getLogger(__name__)

#: Data longer than this goes in pieces of this size (well under the 256 KB request limit).
CHUNK = 64 * 1024
#: A transfer whose reader took no piece for this long is given up (once the selection is lost).
STALLED_S = 10.0


@dataclass
class _Transfer:
    """An INCR transfer under way: the next piece goes when the requestor deletes the property."""

    requestor: Any
    prop: int
    kind: int
    data: bytes
    sent: int = 0
    done: bool = False


class SelectionOwner:
    """Owns the X ``selection`` with ``text`` (None: no text) and ``extra`` data by target
    (``text/html``, ``image/png``, ``x-special/gnome-copied-files``...), until :meth:`close`
    or another client takes it over.

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
        text: str | None,
        display_name: str | None = None,
        reader: int | None = None,
        selection: str = "CLIPBOARD",
        extra: Mapping[str, bytes] | None = None,
    ) -> None:
        from Xlib import X, Xatom
        from Xlib import display as xdisplay

        self._X = X
        # (surrogateescape: text read back from a clipboard that held bytes that are not UTF-8)
        self.data = None if text is None else text.encode("utf-8", errors="surrogateescape")
        self.served = threading.Event()
        self.lost = threading.Event()
        self.last_request = 0.0
        self.requests = 0
        self._stop = threading.Event()
        self._d = xdisplay.Display(display_name)
        d = self._d
        d.set_error_handler(self._on_x_error)
        self._client_mask = ~int(d.display.info.resource_id_mask)
        self._reader = reader & self._client_mask if reader else None
        self._watchers: set[int] = set()  # clients that asked before the paste key was sent
        self._sent = False
        self._atoms = {name: d.intern_atom(name) for name in ("TARGETS", "TIMESTAMP", "INTEGER", "INCR")}
        self._selection = d.intern_atom(selection)  # CLIPBOARD, or PRIMARY (xterm's Shift+Insert)
        self._text_atoms = {} if text is None else {d.intern_atom(name): name for name in TEXT_TARGETS}
        self._extra = {d.intern_atom(name): data for name, data in (extra or {}).items()}
        self._transfers: dict[tuple[int, int], _Transfer] = {}
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

    @staticmethod
    def _on_x_error(error: object, request: object) -> None:
        """An X error (a requestor window gone mid-transfer): logged, not printed by Xlib."""
        log.debug("X error while serving the selection: %s", error)

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
                    if self.lost.is_set() and time.monotonic() - self.last_request > STALLED_S:
                        return  # taken over, and a reader stopped reading its pieces
                    select.select([self._d.fileno()], [], [], 0.05)
                    continue
                event = self._d.next_event()
                if event.type == X.SelectionRequest:
                    self._answer(event)
                elif event.type == X.PropertyNotify and event.state == X.PropertyDelete:
                    self._next_piece(event)
                elif event.type == X.SelectionClear:
                    self.lost.set()
                    if not self._transfers:
                        return
        except Exception:  # the connection broke; nothing more can be served
            log.exception("the X clipboard owner stopped")
            self.lost.set()

    def _answer(self, req: Any) -> None:
        from Xlib.protocol import event as xevent

        X = self._X
        prop = req.property or req.target  # obsolete clients: property None
        target = req.target
        requestor = req.requestor
        self.requests += 1
        self.last_request = time.monotonic()
        client = int(requestor.id) & self._client_mask
        if not self._sent:
            self._watchers.add(client)
        is_text = False
        try:
            if target == self._atoms["TARGETS"]:
                atoms = [self._atoms["TARGETS"], self._atoms["TIMESTAMP"], *self._text_atoms, *self._extra]
                requestor.change_property(prop, self._atom_type, 32, atoms)
            elif target == self._atoms["TIMESTAMP"]:
                requestor.change_property(prop, self._atoms["INTEGER"], 32, [self.timestamp])
            elif target in self._text_atoms and self.data is not None:
                name = self._text_atoms[target]
                if name == "STRING":
                    data = self.data.decode("utf-8", errors="replace").encode("latin-1", errors="replace")
                    self._put(requestor, prop, self._string_atom, data)
                else:
                    kind = target if name.startswith("text/") else self._d.intern_atom("UTF8_STRING")
                    self._put(requestor, prop, kind, self.data)
                is_text = True
            elif target in self._extra:
                self._put(requestor, prop, target, self._extra[target])
            else:
                prop = X.NONE
        except Exception:
            log.exception("could not answer a clipboard request")
            prop = X.NONE
            is_text = False
        notify = xevent.SelectionNotify(
            time=req.time,
            requestor=requestor,
            selection=req.selection,
            target=target,
            property=prop,
        )
        requestor.send_event(notify, event_mask=0)
        self._d.flush()
        if is_text and self._is_reader(client):
            self.served.set()
        elif is_text:
            log.debug("the clipboard was read by client %#x, not the paste's window", client)

    def _put(self, requestor: Any, prop: int, kind: int, data: bytes) -> None:
        """Write ``data`` to the requestor's property, or start an INCR transfer for it."""
        if len(data) <= CHUNK:
            requestor.change_property(prop, kind, 8, data)
            return
        requestor.change_attributes(event_mask=self._X.PropertyChangeMask)  # (our mask on it)
        requestor.change_property(prop, self._atoms["INCR"], 32, [len(data)])
        self._transfers[(int(requestor.id), int(prop))] = _Transfer(requestor, prop, kind, data)

    def _next_piece(self, event: Any) -> None:
        """The requestor took the last piece (deleted the property): write the next, then an
        empty one, which ends the transfer."""
        key = (int(event.window.id), int(event.atom))
        transfer = self._transfers.get(key)
        if transfer is None:
            return
        self.last_request = time.monotonic()
        piece = transfer.data[transfer.sent : transfer.sent + CHUNK]
        transfer.requestor.change_property(transfer.prop, transfer.kind, 8, piece)
        transfer.sent += len(piece)
        if not piece:  # the empty piece went: done
            del self._transfers[key]
            with contextlib.suppress(Exception):
                transfer.requestor.change_attributes(event_mask=0)
        self._d.flush()
        if self.lost.is_set() and not self._transfers:
            self._stop.set()  # taken over meanwhile: the transfer was finished first

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

    def wait_lost(self) -> None:
        """Block until another client owns the selection (and any transfer is finished)."""
        self._thread.join()

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
