"""The model tab downloads through the real download code: progress, cancel, and a clear offline error.

The "network" is a real HTTP server on localhost that serves a small fake Hugging Face repo
(``HF_ENDPOINT`` points the download code at it), a server that accepts connections and never
answers (a stalled network), or a closed port for the offline case.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings, load_settings
from app.transcribe import models
from app.ui.settings.base import TabContext
from app.ui.settings.live import LiveSettings
from app.ui.settings.window import SettingsWindow
from tests.fixtures.hub import BIN_SIZE, send_body, serving

MODEL = "base.en"


class _Stalled:
    """A server that accepts every connection, reads the request and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted: list[socket.socket] = []
        self.requested = threading.Event()  # a client sent its request and now waits
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        seen = b""
        while b"\r\n\r\n" not in seen:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            seen += data
        self.requested.set()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def stalled(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Stalled]:
    server = _Stalled()
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    yield server
    server.close()


@pytest.fixture
def tab(qtbot, config_path: Path, write_settings):  # type: ignore[no-untyped-def]
    write_settings(Settings())
    live = LiveSettings(load_settings(config_path).settings, config_path)
    window = SettingsWindow(TabContext(live))
    qtbot.addWidget(window)
    window.show()
    window.show_tab("model")
    page = window.pages["model"]
    page.select(MODEL)
    return page


def test_download_reports_progress_and_installs(qtbot, hub, tab, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert tab.download_button.isEnabled()
    tab.download_button.click()
    assert tab.progress.isVisible() and tab.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: tab._job is None, timeout=60000)
    assert models.is_installed(MODEL)
    # the bar followed the bytes to the end (it is hidden once the download is done)
    assert tab.progress.value() == tab.progress.maximum() == 1000
    assert tab.progress.format() == f"{BIN_SIZE / 1e6:.0f} of {BIN_SIZE / 1e6:.0f} MB"
    assert "installed" in tab.message.text()
    tab.select(MODEL)
    assert tab.use_button.isEnabled()
    tab.use_button.click()
    qtbot.waitUntil(lambda: load_settings(config_path).settings.model.name == MODEL, timeout=5000)


def test_download_can_be_cancelled(qtbot, hub, tab) -> None:  # type: ignore[no-untyped-def]
    hub.delay_s = 0.05
    tab.download_button.click()
    qtbot.waitUntil(lambda: tab.progress.maximum() == 1000 and tab.progress.value() > 0, timeout=30000)
    assert tab.cancel_button.isEnabled()
    tab.cancel_button.click()
    qtbot.waitUntil(lambda: tab._job is None, timeout=30000)
    assert "cancelled" in tab.message.text()
    assert not models.is_installed(MODEL)
    assert not models.downloaded_path(MODEL).with_name(f"{MODEL}.partial").exists()


def test_offline_download_gives_clear_error(qtbot, tab, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: connection refused
    tab.download_button.click()
    qtbot.waitUntil(lambda: tab._job is None, timeout=60000)
    text = tab.message.text()
    assert text.startswith("Download failed:")
    assert "refused" in text.lower()
    assert "tiny.en" in text and "offline" in text  # says the built-in model keeps working
    assert not tab.progress.isVisible()
    assert not models.is_installed(MODEL)
    assert tab.download_button.isEnabled()  # can retry


def test_a_failed_download_is_not_still_reported_when_the_window_opens_again(  # type: ignore[no-untyped-def]
    qtbot, tab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "Download failed: …" stayed on the tab when the window was closed and opened days later.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: connection refused
    tab.download_button.click()
    qtbot.waitUntil(lambda: tab._job is None, timeout=60000)
    assert tab.message.text().startswith("Download failed:")
    window = tab.window()
    window.hide()
    window.show()
    window.show_tab("model")
    qtbot.waitUntil(tab.isVisible, timeout=5000)
    assert tab.message.text() == ""
    assert tab.download_button.isEnabled()  # the try can be made again


def test_cancel_breaks_off_a_stalled_download(qtbot, stalled, tab) -> None:  # type: ignore[no-untyped-def]
    tab.download_button.click()
    qtbot.waitUntil(stalled.requested.is_set, timeout=10000)  # waiting for an answer now
    started = time.monotonic()
    tab.cancel_button.click()
    qtbot.waitUntil(lambda: tab._job is None, timeout=20000)
    assert time.monotonic() - started < models.READ_TIMEOUT_S / 3  # not the read's time limit
    assert "cancelled" in tab.message.text()
    assert not models.downloaded_path(MODEL).with_name(f"{MODEL}.partial").exists()
    assert tab.download_button.isEnabled()


class _EmbeddedHub(http.server.BaseHTTPRequestHandler):
    """Serves the embedded model's real files for any repo: what is downloaded is a model
    the engine can load (as base.en), through the real download code."""

    def do_GET(self) -> None:
        path = models.embedded_model_path() / self.path.rsplit("/", 1)[-1]
        if path.is_file():
            send_body(self, path.read_bytes())
        else:
            self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


def test_a_download_of_the_chosen_model_is_used_at_once(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """base.en chosen but not downloaded: tiny.en stood in. Its download said "Click 'Use this
    model'" with that button disabled, the row and the tray said base.en was in use, and the
    engine kept tiny.en until a restart. Now the engine loads it once downloaded, and until
    then the row says which model stands in."""
    from app.ui.app import HoldtypeApp

    settings = Settings.model_validate({"model": {"name": MODEL}, "ui": {"welcomed": True}})
    ui = HoldtypeApp(settings, config_path=config_path, enable_hotkeys=False, enable_audio=False)
    try:
        ui.start()
        qtbot.waitUntil(lambda: ui.ready_event is not None, timeout=120000)
        assert ui.ready_event is not None and ui.ready_event.model == "tiny.en"
        tab = ui.open_settings("model").pages["model"]
        row = _row(tab, MODEL)
        assert tab.table.item(row, 5).text() == "not downloaded — tiny.en stands in until it loads"
        assert tab.table.item(_row(tab, "tiny.en"), 5).text() == f"built in — standing in for {MODEL}"
        tab.select(MODEL)
        with serving(_EmbeddedHub, monkeypatch):
            tab.download_button.click()
            qtbot.waitUntil(lambda: tab._job is None, timeout=60000)
        assert models.is_installed(MODEL), tab.message.text()
        qtbot.waitUntil(lambda: ui.ready_event is not None and ui.ready_event.model == MODEL, timeout=120000)
        assert ui.engine.model_in_use == MODEL
        qtbot.waitUntil(lambda: tab.message.text() == f"{MODEL} is loaded and in use.", timeout=5000)
        assert tab.table.item(_row(tab, MODEL), 5).text() == "in use"
        assert tab.table.item(_row(tab, "tiny.en"), 5).text() == "built in"
        tab.select(MODEL)
        assert not tab.use_button.isEnabled()  # (in use: nothing to switch to)
        assert ui.tray.icon_name() == "idle" and f"Model: {MODEL}" in ui.tray.icon.toolTip()
        tab.beam_size.setValue(tab.beam_size.value() + 1)  # the tab's edits are still saved
        qtbot.waitUntil(lambda: load_settings(config_path).settings.model.beam_size == tab.beam_size.value())
    finally:
        ui.shutdown()


def test_a_model_that_could_not_be_loaded_is_not_said_in_use(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """GPU (CUDA) chosen on this machine, which has none: the row said "in use" while the
    window said "not in effect" and no model was loaded. It says so until a model loads."""
    from app.ui.app import HoldtypeApp

    settings = write_settings(Settings.model_validate({"ui": {"welcomed": True}}))
    ui = HoldtypeApp(settings, config_path=config_path, enable_hotkeys=False, enable_audio=False)
    try:
        ui.start()
        qtbot.waitUntil(lambda: ui.ready_event is not None, timeout=120000)
        window = ui.open_settings("model")
        tab = window.pages["model"]
        assert tab.table.item(_row(tab, "tiny.en"), 5).text() == "in use"
        readies: list[object] = []
        ui.bridge.ready.connect(readies.append)
        tab.device.setCurrentIndex(tab.device.findData("cuda"))
        qtbot.waitUntil(lambda: "not in effect" in window.status.text(), timeout=30000)
        assert ui.engine.model_in_use == "tiny.en"  # (the engine holds it, not loaded)
        assert tab.table.item(_row(tab, "tiny.en"), 5).text() == "could not be loaded"
        tab.device.setCurrentIndex(tab.device.findData("auto"))
        qtbot.waitUntil(lambda: bool(readies), timeout=60000)
        assert tab.table.item(_row(tab, "tiny.en"), 5).text() == "in use"
    finally:
        ui.shutdown()


def test_a_load_seen_begin_is_said_by_its_own_end(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """From a review: the load at start-up (or a dictation's own try) ended while a save's
    load was under way, and the row said "in use" of the model still loading. The real
    engine (not started) and bridge; its events are delivered as its threads deliver them."""
    from app.engine import Engine
    from app.events import EngineReady, ErrorRaised, ModelLoading
    from app.ui.qt_bridge import EngineBridge

    write_settings(Settings())
    engine = Engine(Settings(), enable_hotkeys=False, enable_audio=False)
    bridge = EngineBridge()
    bridge.attach(engine)
    live = LiveSettings(load_settings(config_path).settings, config_path)
    window = SettingsWindow(TabContext(live, engine, bridge))
    qtbot.addWidget(window)
    window.show_tab("model")
    tab = window.pages["model"]

    def status() -> str:
        return tab.table.item(_row(tab, "tiny.en"), 5).text()

    try:
        bridge.deliver(ModelLoading("tiny.en", 1))
        bridge.deliver(EngineReady("tiny.en", "cpu/int8", 1400.0, "ctrl+alt"))  # (the one at start-up)
        assert status() == "loading…"
        bridge.deliver(ErrorRaised("no CUDA device", "model", 1))
        assert status() == "could not be loaded"
        bridge.deliver(EngineReady("tiny.en", "cpu/int8", 1400.0, "ctrl+alt"))  # (a dictation's try)
        assert status() == "in use"
    finally:
        bridge.detach()


def _row(tab, name: str) -> int:  # type: ignore[no-untyped-def]
    """The table row of model ``name``."""
    from PySide6.QtCore import Qt

    rows = [
        r for r in range(tab.table.rowCount()) if tab.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == name
    ]
    assert rows, f"no row for {name}"
    return rows[0]


QUIT_WHILE_DOWNLOADING = """
import sys
from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication
from app.config import Settings
from app.ui.app import HoldtypeApp

app = QApplication(sys.argv[:1])
app.setQuitOnLastWindowClosed(False)
ui = HoldtypeApp(Settings(), enable_hotkeys=False, enable_audio=False)
app.aboutToQuit.connect(ui.shutdown)

def start():
    ui.start()
    ui.open_settings("model").pages["model"].download("small.en")

QTimer.singleShot(0, start)
told = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
told.activated.connect(ui.quit)  # the test writes a line once the download is stuck: Quit
app.exec()
"""


def test_quit_while_a_download_is_stalled_ends_the_process(display, stalled) -> None:  # type: ignore[no-untyped-def]
    """Quit cancels the download: the process does not linger for the network's read timeout."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", QUIT_WHILE_DOWNLOADING],
        env={**display.env, "HOLDTYPE_HOME": os.environ["HOLDTYPE_HOME"], "HF_ENDPOINT": stalled.endpoint},
        cwd=str(root),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert stalled.requested.wait(60), "the download never asked"
        assert proc.stdin is not None
        proc.stdin.write(b"quit\n")
        proc.stdin.flush()
        asked = time.monotonic()
        proc.wait(timeout=40)
        waited = time.monotonic() - asked
        assert waited < models.READ_TIMEOUT_S / 3, "the process waited for the stalled download"
        assert proc.returncode == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
