"""The control channel (``holdtype dictate …``): a real socket between a real server and client.

The engine side is tested end to end in tests/e2e/test_dictate_command.py; here the handlers
are plain functions, which is what the server takes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import sys
import tempfile
import threading
from multiprocessing.connection import Client
from pathlib import Path

import pytest

from app.control import ControlServer, NotRunning, control_address, key_path, send
from app.engine import Engine
from app.engine_control import engine_handler
from app.errors import HoldtypeError
from tests.cli import holdtype

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets; Windows uses a named pipe")


@pytest.fixture
def server():
    """A served channel that answers with the request it got."""
    srv = ControlServer(lambda request: {"ok": True, "echo": request})
    srv.start()
    yield srv
    srv.close()


def test_a_request_reaches_the_server_and_its_reply_comes_back(server: ControlServer) -> None:
    reply = send({"command": "status", "mode": "email"})
    assert reply == {"ok": True, "echo": {"command": "status", "mode": "email"}}


def test_the_key_and_socket_are_the_users_alone_and_go_with_the_server(server: ControlServer) -> None:
    assert stat.S_IMODE(key_path().stat().st_mode) == 0o600
    folder = Path(control_address()).parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    server.close()
    assert not key_path().exists()
    assert not Path(control_address()).exists()
    with pytest.raises(NotRunning, match="holdtype run --no-tray"):
        send({"command": "status"})


def test_nothing_running_is_said_plainly() -> None:
    with pytest.raises(NotRunning, match="Holdtype is not running"):
        send({"command": "toggle"})


def test_a_client_without_the_key_is_refused(server: ControlServer) -> None:
    key_path().write_bytes(b"x" * 32)  # another key than the server's
    with pytest.raises(HoldtypeError, match="refused"):
        send({"command": "status"})


def test_a_socket_left_by_a_crash_means_not_running_and_a_new_server_replaces_it() -> None:
    address = control_address()
    Path(address).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    crashed = socket.socket(socket.AF_UNIX)
    crashed.bind(address)  # bound, then closed without unlinking: what a killed server leaves
    crashed.close()
    key_path().write_bytes(b"k" * 32)
    with pytest.raises(NotRunning):
        send({"command": "status"})
    srv = ControlServer(lambda request: {"ok": True})
    srv.start()
    try:
        assert send({"command": "status"}) == {"ok": True}
    finally:
        srv.close()


def test_a_client_that_never_speaks_does_not_hold_up_the_next(server: ControlServer) -> None:
    silent = Client(control_address())  # connects, reads nothing, answers nothing
    try:
        assert send({"command": "status"})["ok"] is True
    finally:
        silent.close()


def test_a_failing_handler_answers_with_the_error_and_the_server_goes_on() -> None:
    calls: list[str] = []

    def handler(request: dict) -> dict:
        calls.append(request["command"])
        if request["command"] == "boom":
            raise RuntimeError("the handler broke")
        return {"ok": True}

    srv = ControlServer(handler)
    srv.start()
    try:
        reply = send({"command": "boom"})
        assert reply["ok"] is False and "the handler broke" in reply["message"]
        assert send({"command": "status"}) == {"ok": True}
        assert calls == ["boom", "status"]
    finally:
        srv.close()


def test_a_reply_slower_than_the_timeout_is_an_error_not_a_hang() -> None:
    release = threading.Event()

    def slow(request: dict) -> dict:
        release.wait(10)
        return {"ok": True}

    srv = ControlServer(slow)
    srv.start()
    try:
        with pytest.raises(HoldtypeError, match=r"did not answer within 0\.3 s"):
            send({"command": "status"}, timeout=0.3)
    finally:
        release.set()
        srv.close()


def test_a_data_folder_too_deep_for_a_socket_path_gets_one_in_the_runtime_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    monkeypatch.setenv("HOLDTYPE_HOME", str(deep))
    runtime = tempfile.mkdtemp(prefix="rt")  # short, as XDG_RUNTIME_DIR is (/run/user/1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    address = control_address()
    assert address.startswith(runtime) and len(os.fsencode(address)) < 100
    srv = ControlServer(lambda request: {"ok": True, "here": True})
    srv.start()
    try:
        assert send({"command": "status"})["here"] is True
        assert stat.S_IMODE(Path(address).parent.stat().st_mode) == 0o700
    finally:
        srv.close()
        shutil.rmtree(runtime)


def test_engine_commands_say_why_they_do_nothing() -> None:
    """A real engine (not started: no microphone, no hotkey), its handler called directly."""
    from app.config import Settings

    engine = Engine(Settings(hotkey={"paused": True}), enable_hotkeys=False, enable_audio=False)
    handle = engine_handler(engine)
    assert handle({"command": "status"}) == {
        "ok": True,
        "state": "idle",
        "ready": False,
        "paused": True,
        "mode": "raw",
    }
    assert handle({"command": "start"})["message"] == "Holdtype is paused: resume it first"
    assert handle({"command": "toggle"})["message"] == "Holdtype is paused: resume it first"
    assert handle({"command": "stop"}) == {
        "ok": False,
        "state": "idle",
        "message": "Holdtype is not recording",
    }
    assert handle({"command": "cancel"})["message"] == "nothing to cancel"
    unknown = handle({"command": "launch"})
    assert unknown["ok"] is False and "known: start, stop, toggle, cancel, status" in unknown["message"]


def test_the_cli_says_nothing_is_running_and_checks_the_mode_first() -> None:
    out = holdtype("dictate", "toggle")
    assert out.returncode == 1
    assert "Holdtype is not running" in out.stderr and "Traceback" not in out.stderr
    out = holdtype("dictate", "start", "--mode", "nosuch")
    assert out.returncode == 1
    assert "unknown mode 'nosuch'" in out.stderr
    # A script reading `status --json` got nothing on stdout when no Holdtype ran.
    out = holdtype("dictate", "status", "--json")
    assert out.returncode == 1 and "Holdtype is not running" in out.stderr
    assert json.loads(out.stdout) == {"state": "not running", "ready": False, "paused": None, "mode": None}
    out = holdtype("dictate", "status")
    assert out.returncode == 1 and out.stdout == "not running\n"


def test_the_cli_reaches_a_running_server() -> None:
    """The subprocess finds the server through HOLDTYPE_HOME alone."""
    status = {"ok": True, "state": "recording", "ready": True, "paused": False, "mode": "email"}
    srv = ControlServer(lambda request: status if request == {"command": "status"} else {"ok": False})
    srv.start()
    try:
        out = holdtype("dictate", "status", "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {
            "state": "recording",
            "ready": True,
            "paused": False,
            "mode": "email",
        }
        out = holdtype("dictate", "status")
        assert out.stdout == "recording\n"
    finally:
        srv.close()


def test_a_holdtype_still_starting_is_waited_for() -> None:
    # `holdtype run --no-tray & holdtype dictate start` said "not running": the app holds the
    # instance lock a few seconds (loading its parts) before the channel opens. The lock here
    # is the real one, taken as a starting app takes it; the channel opens a moment later.
    from app.instance import claim

    lock = claim("headless")
    opened: list[ControlServer] = []

    def open_channel() -> None:
        srv = ControlServer(lambda request: {"ok": True, "echo": request})
        srv.start()
        opened.append(srv)

    timer = threading.Timer(1.0, open_channel)
    timer.start()
    try:
        assert send({"command": "status"}) == {"ok": True, "echo": {"command": "status"}}
    finally:
        timer.join()
        for srv in opened:
            srv.close()
        lock.release()
    with pytest.raises(NotRunning):  # nothing holds the lock now: said at once
        send({"command": "status"}, starting_s=60)
    lock = claim("headless")
    try:
        with pytest.raises(NotRunning):  # held, but no channel ever opens: said in the end
            send({"command": "status"}, starting_s=0.5)
    finally:
        lock.release()
