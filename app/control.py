"""A running Holdtype's control channel: other processes start and stop its dictation.

Wayland lets no application watch global keys, so there the user binds a desktop shortcut to
``holdtype dictate toggle``; on any desktop a script, a window manager binding (sway's
``bindsym --release`` gives hold-to-talk) or a status bar can drive it the same way. The tray
app and ``holdtype run --no-tray`` serve the channel after they take the instance lock
(:mod:`app.instance`), so there is at most one server per Holdtype home.

The channel is a Unix socket in the private data folder (a named pipe on Windows). Each start
writes a fresh random key beside it, readable by the user only; a client proves it holds the
key (HMAC of a random challenge) before its request is read. Requests and replies are one JSON
object each.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from app.errors import HoldtypeError
from app.paths import ensure_dir, get_paths, private_file, runtime_dir

log = logging.getLogger(__name__)

#: How long either side waits for the other's next message during the handshake and request.
EXCHANGE_S = 5.0
# How long a request waits for a Holdtype that is starting (loading its parts) to open the channel.
STARTING_WAIT_S = 15.0
#: A Unix socket path longer than this does not fit ``sockaddr_un`` everywhere (macOS: 104).
MAX_SOCKET_PATH = 100

Request = dict[str, Any]
Reply = dict[str, Any]
Handler = Callable[[Request], Reply]


class NotRunning(HoldtypeError):
    """No Holdtype of this home serves the control channel."""

    def __init__(self) -> None:
        super().__init__(
            "Holdtype is not running: start it with `holdtype` (the tray app) or `holdtype run --no-tray`"
        )


def key_path() -> Path:
    """The file holding the running server's key (private to the user)."""
    return get_paths().data_dir / "control.key"


def control_address() -> str:
    """Where this Holdtype home's control channel listens: ``control.sock`` in the data
    folder, or (a path too long for a Unix socket) a socket named after the data folder in a
    private folder of the runtime or temporary folder; on Windows a named pipe."""
    data = get_paths().data_dir
    digest = hashlib.sha256(os.fsencode(data)).hexdigest()[:16]
    if sys.platform == "win32":
        return rf"\\.\pipe\holdtype-{digest}"
    path = data / "control.sock"
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return str(path)
    return str(runtime_dir() / f"{digest}.sock")


def _signature(key: bytes, challenge: bytes) -> bytes:
    return hmac.new(key, challenge, hashlib.sha256).digest()


def _receive(conn: Connection, timeout: float, limit: int = 65536) -> bytes:
    """The next message on ``conn`` within ``timeout`` s, at most ``limit`` bytes."""
    if not conn.poll(timeout):
        raise TimeoutError("no answer")
    return conn.recv_bytes(limit)


class ControlServer:
    """Serves ``handler`` on the control channel, one thread per client, until :meth:`close`.

    ``handler`` gets the request (a dict with ``command``) and returns the reply (a dict
    with ``ok``); it runs on the client's thread and may wait for the engine.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.address = control_address()
        self._key = secrets.token_bytes(32)
        self._listener: Listener | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def start(self) -> None:
        """Listen (replacing a socket a crashed Holdtype left) and publish the key.

        Raises :class:`HoldtypeError` when the channel cannot be opened."""
        try:
            if sys.platform != "win32":
                folder = Path(self.address).parent
                ensure_dir(folder, private=True)
                if folder.stat().st_uid != os.getuid():
                    raise HoldtypeError(f"{folder} belongs to another user: no control socket there")
                # only the instance lock's holder gets here: a socket left is a crashed one's
                Path(self.address).unlink(missing_ok=True)
            self._listener = Listener(self.address)
            key_file = private_file(ensure_dir(key_path().parent, private=True) / key_path().name)
            key_file.write_bytes(self._key)
        except OSError as exc:
            self.close()
            raise HoldtypeError(f"cannot open the control channel {self.address}: {exc}") from exc
        self._thread = threading.Thread(target=self._accept_loop, name="holdtype-control", daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._closing.is_set():
            try:
                conn = listener.accept()
            except OSError:
                if not self._closing.is_set():
                    log.exception("the control channel stopped")
                return
            if self._closing.is_set():
                conn.close()
                return
            client = threading.Thread(target=self._serve, args=(conn,), name="holdtype-control-client")
            client.daemon = True
            client.start()

    def _serve(self, conn: Connection) -> None:
        """Check the client's key, then answer its one request."""
        with conn:
            try:
                challenge = secrets.token_bytes(32)
                conn.send_bytes(challenge)
                if not hmac.compare_digest(_receive(conn, EXCHANGE_S, 64), _signature(self._key, challenge)):
                    log.warning("refused a control request: wrong key")
                    conn.send_bytes(json.dumps({"ok": False, "message": "wrong key"}).encode())
                    return
                conn.send_bytes(b"ok")
                request = json.loads(_receive(conn, EXCHANGE_S))
                if not isinstance(request, dict):
                    raise ValueError("the request is not an object")
            except (OSError, EOFError, TimeoutError, ValueError) as exc:
                log.debug("control client dropped: %s", exc)
                return
            try:
                reply = self.handler(request)
            except Exception as exc:  # a bug: the client hears of it, the server goes on
                log.exception("control request %r failed", request.get("command"))
                reply = {"ok": False, "message": f"internal error: {exc}"}
            with contextlib.suppress(OSError):
                conn.send_bytes(json.dumps(reply).encode("utf-8"))

    def close(self) -> None:
        """Stop serving and remove the key (the socket goes with the listener)."""
        if self._closing.is_set():
            return
        self._closing.set()
        if self._listener is not None and self._thread is not None:
            with contextlib.suppress(OSError):  # wake the accept() so its thread ends
                Client(self.address).close()
            self._thread.join(timeout=2)
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        with contextlib.suppress(OSError):
            if key_path().read_bytes() == self._key:  # not a newer server's
                key_path().unlink()


def send(request: Request, timeout: float = EXCHANGE_S, starting_s: float = STARTING_WAIT_S) -> Reply:
    """Send ``request`` to the running Holdtype and return its reply (waiting up to
    ``timeout`` s for it once the request is sent). A Holdtype still starting (it holds the
    instance lock, its channel not open yet) is waited for up to ``starting_s``: `holdtype run
    --no-tray & holdtype dictate start` said "not running".

    Raises :class:`NotRunning` when no Holdtype serves this home, :class:`HoldtypeError`
    when it does not answer."""
    from app.instance import held

    deadline = time.monotonic() + starting_s
    while True:
        try:
            return _send(request, timeout)
        except NotRunning:
            if time.monotonic() >= deadline or not held():
                raise
            time.sleep(0.1)


def _send(request: Request, timeout: float) -> Reply:
    """:func:`send`, once."""
    try:
        key = key_path().read_bytes()
    except OSError:
        raise NotRunning() from None
    try:
        conn = Client(control_address())
    except OSError:  # no socket, or one a crashed Holdtype left (refused)
        raise NotRunning() from None
    with conn:
        try:
            conn.send_bytes(_signature(key, _receive(conn, EXCHANGE_S, 64)))
            if _receive(conn, EXCHANGE_S) != b"ok":
                raise HoldtypeError(
                    "the running Holdtype refused the request (its key changed: was it restarted?); try again"
                )
            conn.send_bytes(json.dumps(request).encode("utf-8"))
            reply = json.loads(_receive(conn, timeout))
        except TimeoutError:
            raise HoldtypeError(f"the running Holdtype did not answer within {timeout:g} s") from None
        except (OSError, EOFError, ValueError) as exc:
            raise HoldtypeError(f"the running Holdtype broke off the request: {exc}") from exc
    if not isinstance(reply, dict):
        raise HoldtypeError("the running Holdtype gave an answer that is not understood")
    return reply
