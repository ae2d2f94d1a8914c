"""The tray application: one instance per user and Holdtype home, ready with no setup.

:func:`run_tray` builds the QApplication, makes sure only one Holdtype runs (a second start asks
the first to bring its settings window forward, then exits 0), starts the engine (the model
loads in the background), shows the tray icon — or explains why there is none — and, on the
first run, a short welcome naming the hotkey. Quitting shuts the engine down cleanly.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import io
import logging
import logging.handlers
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSocketNotifier, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QMessageBox

from app import logs
from app.config import Settings
from app.errors import HoldtypeError
from app.events import EngineReady
from app.hotkey.binding import describe_hotkey
from app.hotkey.darwin_layout import prepare_keyboard_layout
from app.instance import AlreadyRunning, claim
from app.paths import HOME_ENV, get_paths, resources_dir
from app.redact import RedactKeys
from app.ui.gc_guard import collect_on_main_thread
from app.ui.overlay import RecordingOverlay
from app.ui.qt_bridge import EngineBridge
from app.ui.settings.base import TabContext
from app.ui.settings.live import LiveSettings
from app.ui.sounds import CuePlayer
from app.ui.tray import NO_TRAY_MESSAGE, TrayController
from app.ui.wording import as_rich_text

if TYPE_CHECKING:
    from app.control import ControlServer
    from app.engine import Engine
    from app.ui.settings.window import SettingsWindow

log = logging.getLogger(__name__)

SHOW_COMMAND = b"show-settings\n"
CONNECT_TIMEOUT_MS = 1000


def instance_name() -> str:
    """The local-socket name shared by every start for this user and Holdtype home."""
    home = os.environ.get(HOME_ENV) or str(get_paths().config_dir)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    digest = hashlib.sha1(f"{user}|{Path(home).expanduser().resolve()}".encode()).hexdigest()[:12]
    return f"holdtype-{user}-{digest}"


def ask_running_instance(name: str | None = None, timeout_ms: int = CONNECT_TIMEOUT_MS) -> bool:
    """Ask a running Holdtype to show its settings; return True if one answered."""
    socket = QLocalSocket()
    socket.connectToServer(name or instance_name())
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(SHOW_COMMAND)
    socket.flush()
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


def welcome_text(settings: Settings, tray_available: bool, problems: Sequence[str] = ()) -> str:
    """The first-run message: the hotkey, and what the user still has to grant (macOS/Wayland)
    or to fix (``problems``: what did not start, a missing microphone or hotkey)."""
    key = describe_hotkey(settings.hotkey.key)
    how = "Hold" if settings.hotkey.mode == "hold" else "Press"
    ending = "and let go" if settings.hotkey.mode == "hold" else f"and press {key} again"
    mode = settings.modes.active
    does = (
        "inserts what you said as you said it"
        if mode == "raw"
        else "has an LLM rework what you said before it is inserted"
    )
    ready = "Holdtype is almost ready" if problems else "Holdtype is ready"
    parts = [
        f"<p><b>{ready}.</b> {how} <b>{key}</b>, speak, {ending}: your words are typed "
        "where the cursor is.</p>",
        f"<p>Speech is recognised on this computer with the <b>{settings.model.name}</b> model; "
        f"mode <b>{mode}</b> {does}.</p>",
    ]
    if sys.platform == "darwin":
        parts.append(
            "<p><b>One more step:</b> allow Holdtype in System Settings → Privacy &amp; Security "
            "under <i>Accessibility</i> and <i>Input Monitoring</i> (for the hotkey and pasting), "
            "and allow the microphone when asked.</p>"
        )
    elif os.environ.get("WAYLAND_DISPLAY") or os.environ.get("XDG_SESSION_TYPE") == "wayland":
        parts.append(
            "<p><b>One more step on Wayland:</b> Wayland does not let apps watch global keys. "
            "Bind a desktop shortcut to <code>holdtype dictate toggle</code> (GNOME: Settings → "
            "Keyboard → Custom Shortcuts), or let Holdtype read the keyboard itself: join the "
            "<code>input</code> group (<code>sudo usermod -aG input $USER</code>, then log in "
            "again) and start Holdtype with <code>PYNPUT_BACKEND=uinput</code>; or pick an X11 "
            "session. Pasting needs <code>wl-clipboard</code> and <code>wtype</code> (or "
            "<code>ydotool</code>).</p>"
        )
    if problems:  # said as they happened too, but a first start should not claim all is well
        listed = "".join(f"<li>{as_rich_text(problem)}</li>" for problem in problems)
        parts.append(f"<p><b>Not working yet:</b></p><ul>{listed}</ul>")
    if tray_available:
        parts.append("<p>The microphone icon in the tray has the menu: modes, models, history, settings.</p>")
    else:
        parts.append(f"<p>{as_rich_text(NO_TRAY_MESSAGE)}</p>")
    return "".join(parts)


class InstanceServer(QObject):
    """The running instance's end of the single-instance socket."""

    show_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        """Create the (not yet listening) server."""
        super().__init__(parent)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_connection)
        self._conns: list[QLocalSocket] = []

    def listen(self, name: str | None = None) -> bool:
        """Claim ``name`` (default :func:`instance_name`); False if a live instance holds it.

        Qt replaces an existing socket file when listening, so a live owner is probed first; a
        stale socket left by a crash does not answer and is replaced.
        """
        name = name or instance_name()
        probe = QLocalSocket()
        probe.connectToServer(name)
        if probe.waitForConnected(200):
            probe.disconnectFromServer()
            return False
        QLocalServer.removeServer(name)
        if self._server.listen(name):
            return True
        log.warning("single-instance socket %s: %s", name, self._server.errorString())
        return False

    def close(self) -> None:
        """Stop listening and drop open connections."""
        self._server.close()
        for conn in list(self._conns):
            conn.abort()
        self._conns.clear()

    def _on_connection(self) -> None:
        while self._server.hasPendingConnections():
            conn = self._server.nextPendingConnection()
            self._conns.append(conn)
            conn.readyRead.connect(self._on_ready_read)
            conn.disconnected.connect(self._on_disconnected)
            if conn.bytesAvailable():  # read in before the signal was connected: no readyRead
                self._take(conn)  # comes for it, the second start having written and gone

    def _on_ready_read(self) -> None:
        conn = self.sender()
        if isinstance(conn, QLocalSocket):
            self._take(conn)

    def _take(self, conn: QLocalSocket) -> None:
        """Act on what a second start wrote (``show-settings``)."""
        data = bytes(conn.readAll().data())
        if SHOW_COMMAND.strip() in data:
            log.info("another start asked for the settings window")
            self.show_requested.emit()

    def _on_disconnected(self) -> None:
        conn = self.sender()
        if isinstance(conn, QLocalSocket) and conn in self._conns:
            self._conns.remove(conn)
            conn.deleteLater()


class HoldtypeApp(QObject):
    """Everything the tray app runs: engine, bridge, tray, overlay, settings window, instance server."""

    def __init__(
        self,
        settings: Settings,
        *,
        config_path: Path | None = None,
        engine: Engine | None = None,
        enable_hotkeys: bool = True,
        enable_audio: bool = True,
        set_aside: bool = False,
    ) -> None:
        """Wire the UI to a new engine (or to ``engine``); call :meth:`start` to run it.

        ``set_aside``: a settings file that did not load was just moved aside, so ``settings``
        may say ``welcomed = false`` of a user who has run Holdtype before: no welcome then.
        """
        super().__init__()
        logs.follow_setting(settings.ui.log_level)
        if engine is None:
            from app.engine import Engine

            engine = Engine(settings, enable_hotkeys=enable_hotkeys, enable_audio=enable_audio)
        self.engine = engine
        self.first_run = not settings.ui.welcomed and not set_aside
        self.live = LiveSettings(settings, config_path or get_paths().config_file, engine)
        self.bridge = EngineBridge(self)
        self.overlay = RecordingOverlay(enabled=settings.ui.overlay)
        self.bridge.state_changed.connect(self.overlay.on_state)
        self.bridge.level_changed.connect(self.overlay.on_level)
        self.bridge.partial_text.connect(self.overlay.on_partial)
        self.bridge.ready.connect(self._on_ready)
        self.cues = CuePlayer(enabled=settings.audio.sounds)
        self.bridge.state_changed.connect(self.cues.on_state)
        self.tray = TrayController(engine, self.bridge, self.live)
        self.tray.open_settings.connect(self.open_settings)
        self.tray.quit_requested.connect(self.request_quit)
        self.live.changed.connect(self._on_settings)
        self.live.failed.connect(self._on_settings_failed)
        self.settings_window: SettingsWindow | None = None
        self.welcome: QMessageBox | None = None
        self.server: InstanceServer | None = None
        self.control: ControlServer | None = None  # `holdtype dictate`'s channel, once served
        self.ready_event: EngineReady | None = None
        self._stopped = False
        self._signal_sockets: tuple[object, ...] = ()

    # --- lifecycle ------------------------------------------------------------------------
    def listen(self, name: str | None = None) -> bool:
        """Serve the single-instance socket; return False if it could not be opened."""
        self.server = InstanceServer(self)
        self.server.show_requested.connect(lambda: self.open_settings(""))
        return self.server.listen(name)

    def serve_control(self) -> bool:
        """Open the control channel (``holdtype dictate …``); False, with a warning, when it
        cannot be opened (the hotkey and the tray still work)."""
        from app.engine_control import serve

        try:
            self.control = serve(self.engine)
        except HoldtypeError as exc:
            log.warning("%s; `holdtype dictate` cannot reach this Holdtype", exc)
            return False
        return True

    def start(self) -> None:
        """Start the engine, show the tray icon, and welcome a first-time user."""
        self.bridge.attach(self.engine)
        shown = self.tray.show()
        prepare_keyboard_layout()  # macOS: pynput's layout read on this, the main, thread
        self.engine.start()
        if self.first_run:
            self.show_welcome()
        else:
            if not self.live.settings.ui.welcomed:  # greeted before the file was set aside
                self._remember_welcomed()
            if not shown:
                log.warning("%s", NO_TRAY_MESSAGE)

    def show_welcome(self) -> None:
        """Show the first-run welcome (non-modal) and remember that it was shown."""
        box = QMessageBox()
        box.setObjectName("holdtype-welcome")
        box.setWindowTitle("Welcome to Holdtype")
        box.setIconPixmap(QIcon(str(resources_dir() / "icons" / "holdtype.png")).pixmap(64, 64))
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(welcome_text(self.live.settings, self.tray.available, self.engine.problems))
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.setEscapeButton(QMessageBox.StandardButton.Ok)  # Esc and the title-bar close work
        settings_button = box.addButton("Open settings", QMessageBox.ButtonRole.ActionRole)
        settings_button.clicked.connect(lambda: self.open_settings(""))
        box.setModal(False)
        box.show()
        self.welcome = box
        self._remember_welcomed()

    def _remember_welcomed(self) -> None:
        ui = self.live.settings.ui.model_copy(update={"welcomed": True})
        self.live.commit(self.live.settings.model_copy(update={"ui": ui}), apply=False)

    def quit(self) -> None:
        """Stop the engine and leave the event loop."""
        self.shutdown()
        app = QApplication.instance()
        if app is not None:
            app.exit(0)  # exit(), not quit(): quit() gives up if any window refuses to close

    def request_quit(self) -> None:
        """Quit as the user asked (the tray's Quit, the settings window's): an open settings
        window first saves its edits, and asks when some cannot be saved."""
        if self.settings_window is None:
            self.quit()
        else:
            self.settings_window.quit_when_saved(self.quit)

    def shutdown(self) -> None:
        """Release everything (idempotent): engine, tray icon, overlay, socket."""
        if self._stopped:
            return
        self._stopped = True
        if self.settings_window is not None:
            self.settings_window.stop()  # (the edit being typed too: it ends, and is saved)
            self.settings_window.close()
        if self.welcome is not None:
            self.welcome.done(0)
        if self.tray.about is not None:
            self.tray.about.done(0)
        self.tray.hide()
        self.overlay.hide()
        self.cues.close()
        if self.server is not None:
            self.server.close()
        if self.control is not None:
            self.control.close()
        self.bridge.detach()
        try:
            self.engine.shutdown()
        except Exception:  # shutting down must not hide the exit; log the bug
            log.exception("engine shutdown failed")

    # --- windows --------------------------------------------------------------------------
    def open_settings(self, tab: str = "") -> SettingsWindow:
        """Show the settings window (built on first use), on ``tab`` if given."""
        if self.settings_window is None:
            from app.ui.settings.window import SettingsWindow

            self.settings_window = SettingsWindow(
                TabContext(
                    self.live,
                    self.engine,
                    self.bridge,
                    quit_app=self.request_quit,
                    tray_shown=lambda: self.tray.available and self.tray.icon.isVisible(),
                )
            )
        self.settings_window.bring_forward(tab)
        return self.settings_window

    def _on_ready(self, event: EngineReady) -> None:
        self.ready_event = event
        log.info(
            "ready: %s on %s in %.0f ms, hotkey %s", event.model, event.device, event.load_ms, event.hotkey
        )

    def _on_settings_failed(self, message: str) -> None:
        """A save that failed (a read-only settings folder), or a settings file that does not
        load: the settings window says so on its status line when it is open; otherwise it
        is notified (a Pause or mode picked in the tray's menu failed with only a log line)."""
        window = self.settings_window
        if window is None or not window.isVisible():
            self.tray.notify("Holdtype settings", message, error=True)

    def _on_settings(self, settings: Settings) -> None:
        self.overlay.enabled = settings.ui.overlay
        self.cues.enabled = settings.audio.sounds
        logs.follow_setting(settings.ui.log_level)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_MAX_BYTES = 1_000_000


class _PrivateLogFile(logging.handlers.RotatingFileHandler):
    """A rotating log file only its user can read (as the history is): it can name what was said."""

    def _open(self) -> io.TextIOWrapper:  # logging's hook that opens the file
        handle = open(  # noqa: SIM115 - the handler owns the file and closes it
            self.baseFilename, self.mode, encoding=self.encoding, opener=lambda p, f: os.open(p, f, 0o600)
        )
        assert isinstance(handle, io.TextIOWrapper)
        return handle


def log_to_file(path: Path | None = None) -> logging.Handler | None:
    """Also write the log to ``holdtype.log`` in the data folder (one old file is kept).

    A tray app started from the menu or at login has no terminal; this file (shown in the
    Advanced tab) is where its warnings and errors go. Returns the handler, or None when the
    file cannot be opened (the app runs on without it).
    """
    from app.paths import ensure_dir

    path = path or get_paths().log_file
    try:
        ensure_dir(path.parent, private=True)
        handler = _PrivateLogFile(path, maxBytes=LOG_MAX_BYTES, backupCount=1, encoding="utf-8")
    except OSError as exc:
        log.warning("cannot write the log file %s: %s", path, exc)
        return None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactKeys())  # a provider's error may quote the key it was sent
    logging.getLogger().addHandler(handler)
    return handler


def run_tray(settings: Settings, config_path: Path | None = None, problem: str | None = None) -> int:
    """Run the tray app until Quit; return the exit code (0 also when another instance answered).

    ``problem`` (a settings file that was moved aside) is shown as a notification at start, and
    the first-run welcome is not: the user has run Holdtype before.
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Holdtype")
    app.setDesktopFileName("holdtype")
    app.setQuitOnLastWindowClosed(False)
    gc_timer = collect_on_main_thread(app)  # noqa: F841 - kept alive by its parent
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "holdtype.png")))
    try:
        return _start_tray(app, settings, config_path, problem)
    except (HoldtypeError, OSError) as exc:
        if not isinstance(exc, BrokenPipeError):
            _say_cannot_start(exc)
        raise  # (and on standard error, as the CLI says it)


def _say_cannot_start(exc: HoldtypeError | OSError) -> None:
    """Show why the tray app cannot start in a window: started from the menu or at login, its
    one line went to a standard error nobody reads, and Holdtype just never appeared."""
    from app.cli import os_error_line

    line = os_error_line(exc) if isinstance(exc, OSError) else str(exc)
    box = QMessageBox(QMessageBox.Icon.Critical, "Holdtype cannot start", line)
    box.setObjectName("holdtype-cannot-start")
    box.exec()


def _start_tray(app: QApplication, settings: Settings, config_path: Path | None, problem: str | None) -> int:
    """The tray app's start after Qt's: one instance, the log file, the engine; then Qt's loop."""
    if ask_running_instance():
        _said_already_running()
        return 0
    try:
        instance = claim("tray", wait_s=3.0)  # noqa: F841 - held until the process ends
    except AlreadyRunning as exc:  # a headless loop, which has no window to show, another home's...
        # ...or a tray of this home still starting: it answers soon (another home's has its own socket)
        if exc.kind == "tray" and exc.home is None and _handed_over():
            _said_already_running()
            return 0
        log.error("%s", exc)
        QMessageBox.warning(None, "Holdtype is already running", str(exc))
        return 1
    log_to_file()
    if problem:  # already on stderr; the log file is where a tray started from the menu keeps it
        log.warning("%s", problem, extra={"shown_to_user": True})
    holdtype = HoldtypeApp(settings, config_path=config_path, set_aside=problem is not None)
    if not holdtype.listen():
        log.warning("could not claim the single-instance socket; a second start will run twice")
    holdtype.serve_control()
    app.aboutToQuit.connect(holdtype.shutdown)
    _quit_on_signals(holdtype)
    QTimer.singleShot(0, holdtype.start)
    if problem:
        QTimer.singleShot(0, lambda: holdtype.tray.notify("Holdtype settings", problem, error=True))
    return int(app.exec())


#: How long a second start waits for a tray that holds the lock but does not answer yet.
HANDOVER_WAIT_S = 10.0


def _said_already_running() -> None:
    """Say on the terminal that the running Holdtype was asked to show its settings (a second
    start from a terminal ended without a word: the window may open on another workspace)."""
    log.info("Holdtype is already running; asked it to show its settings")
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            print("Holdtype is already running: its settings window is shown.", file=sys.stderr)


def _handed_over() -> bool:
    """Ask the tray that holds the instance lock to show its settings until it answers (it
    takes the lock before it listens: two launches a few ms apart, as a double-click on the
    menu entry makes, showed "already running" in a dialog instead)."""
    deadline = time.monotonic() + HANDOVER_WAIT_S
    while time.monotonic() < deadline:
        if ask_running_instance():
            return True
        time.sleep(0.1)
    return False


def _quit_on_signals(holdtype: HoldtypeApp) -> None:
    """Quit cleanly on SIGINT/SIGTERM/SIGHUP: the signal wakes Qt through a socket, without polling."""
    read_end, write_end = socket.socketpair()
    read_end.setblocking(False)
    write_end.setblocking(False)
    signal.set_wakeup_fd(write_end.fileno())
    notifier = QSocketNotifier(read_end.fileno(), QSocketNotifier.Type.Read, holdtype)

    def woke() -> None:
        with contextlib.suppress(OSError):
            read_end.recv(64)

    notifier.activated.connect(woke)
    holdtype._signal_sockets = (read_end, write_end, notifier)  # keep them alive
    hangup = getattr(signal, "SIGHUP", None)  # the terminal it was started from closed (POSIX)
    for signum in (signal.SIGINT, signal.SIGTERM, *([hangup] if hangup else [])):
        signal.signal(signum, lambda *_: QTimer.singleShot(0, holdtype.quit))
