"""The tray icon: the app's state at a glance and every action one click away.

Icons: idle, recording (with a level bar drawn live), busy (transcribing/processing/inserting),
error, and disabled (hotkey paused). The tooltip names the hotkey, mode and model. Without a tray
host (``QSystemTrayIcon.isSystemTrayAvailable()`` is False, e.g. a bare X server with openbox)
the controller still works — the hotkey and overlay do the job — and :attr:`TrayController.problem`
says why there is no icon.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QMessageBox, QSystemTrayIcon

from app.config import Settings
from app.events import EngineReady, ErrorRaised, ModelLoading, Notice, State, StateChanged, UtteranceResult
from app.hotkey.binding import describe_hotkey
from app.hotkey.gesture import mode_for_key
from app.paths import resources_dir
from app.ui.qt_bridge import EngineBridge
from app.ui.settings.live import LiveSettings
from app.ui.wording import as_plain_text, history_unreadable

if TYPE_CHECKING:
    from app.engine import Engine
    from app.ui.toast import Toast

log = logging.getLogger(__name__)

NO_TRAY_MESSAGE = (
    "No system tray is available on this desktop, so Holdtype shows no icon. Dictation still "
    "works with the hotkey and the on-screen pill; run `holdtype` again to open the settings."
)
RECENT_COUNT = 10
BUSY_STATES = (State.TRANSCRIBING, State.PROCESSING, State.INSERTING)


@cache
def state_icon(name: str) -> QIcon:
    """Return the icon for ``name`` (idle, recording, busy, error, disabled) at every size."""
    icon = QIcon()
    folder = resources_dir() / "icons"
    for size in (22, 32, 64, 256):
        icon.addFile(str(folder / f"{name}-{size}.png"))
    return icon


def level_icon(level: int) -> QIcon:
    """Return the recording icon with a level bar filled to ``level`` of 5."""
    return _level_icon(max(0, min(5, level)))


@lru_cache(maxsize=6)
def _level_icon(level: int) -> QIcon:
    pixmap = QPixmap(str(resources_dir() / "icons" / "recording-64.png"))
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(0, 0, 0, 110))
    p.drawRoundedRect(QRectF(52, 8, 10, 48), 4, 4)
    if level:
        h = 44 * level / 5
        p.setBrush(QColor("#a5d6a7"))
        p.drawRoundedRect(QRectF(54, 54 - h, 6, h), 3, 3)
    p.end()
    return QIcon(pixmap)


def list_mode_names() -> list[str]:
    """Return the names of the available LLM modes (``raw`` first)."""
    names: list[str] = []
    try:
        from app.llm.modes import load_modes

        names = list(load_modes())
    except Exception as exc:  # modes module not available or a broken mode file
        log.debug("modes unavailable: %s", exc)
    if "raw" in names:
        names.remove("raw")
    return ["raw", *names]


def installed_models() -> list[str]:
    """Return the registry names of the speech models that are installed."""
    from app.transcribe import models

    return [name for name in models.REGISTRY if models.is_installed(name)]


TRAY_CHECK_MS = 2000  # how often to look whether a tray host started or went away


def worth_a_notification(event: Notice) -> bool:
    """Whether a notice is worth a desktop notification: not a plain "Settings applied.", of
    which each click of the settings window (which says "Saved" itself) or `config set` made
    one, an 8-second balloon each. Settings that could not all be applied still say so.

    >>> worth_a_notification(Notice("Settings applied.", "settings"))
    False
    >>> worth_a_notification(Notice("Settings applied, except: hotkey: no X server", "settings"))
    True
    """
    return not (event.source == "settings" and event.message == "Settings applied.")


class TrayController(QObject):
    """Owns the tray icon and its menu, and turns menu clicks into engine calls."""

    open_settings = Signal(str)  # tab name ("" for the last one)
    quit_requested = Signal()

    def __init__(self, engine: Engine, bridge: EngineBridge, live: LiveSettings) -> None:
        """Build the icon and menu; call :meth:`show` to put it in the tray."""
        super().__init__()
        self.engine = engine
        self.live = live
        self.state = State.IDLE
        self.last_error: str | None = None
        self._error_source = ""  # the source of last_error's event ("model": ready clears it)
        self.ready = False  # a model is loaded
        self.loading = True  # the engine loads one (at the start, and after a model change)
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self.problem: str | None = None if self.available else NO_TRAY_MESSAGE
        # A tray host may start after Holdtype (a panel at login) or go away: look again.
        self._tray_check = QTimer(self)
        self._tray_check.setInterval(TRAY_CHECK_MS)
        self._tray_check.timeout.connect(self.check_tray)
        self._level = -1
        self.about: QMessageBox | None = None
        self.toast: Toast | None = None  # notifications without a tray (made when needed)
        self.icon = QSystemTrayIcon(state_icon("idle"), self)
        self.menu = QMenu()
        self.menu.setObjectName("holdtype-tray-menu")
        self._build_menu()
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        bridge.state_changed.connect(self.on_state)
        bridge.level_changed.connect(self.on_level)
        bridge.error.connect(self.on_error)
        bridge.notice.connect(self.on_notice)
        bridge.utterance.connect(self.on_utterance)
        bridge.ready.connect(self.on_ready)
        bridge.loading.connect(self.on_loading)
        live.changed.connect(self._on_settings)
        self._refresh()

    # --- menu -----------------------------------------------------------------------------
    def _action(self, text: str, slot: Callable[..., Any], name: str) -> QAction:
        action = QAction(text, self.menu)
        action.setObjectName(name)
        action.triggered.connect(slot)
        self.menu.addAction(action)
        return action

    def _build_menu(self) -> None:
        self.status_action = QAction("Starting…", self.menu)
        self.status_action.setEnabled(False)
        self.menu.addAction(self.status_action)
        self.menu.addSeparator()
        self.dictate_action = self._action("Start dictation", self.toggle_dictation, "dictate")
        self.mode_menu = self.menu.addMenu("Mode")
        self.mode_menu.setObjectName("mode-menu")
        self.mode_group = QActionGroup(self.mode_menu)
        self.mode_menu.aboutToShow.connect(self._fill_modes)
        self.model_menu = self.menu.addMenu("Model")
        self.model_menu.setObjectName("model-menu")
        self.model_group = QActionGroup(self.model_menu)
        self.model_menu.aboutToShow.connect(self._fill_models)
        self.pause_action = self._action("Pause hotkey", self.set_paused, "pause")
        self.pause_action.setCheckable(True)
        self.recent_menu = self.menu.addMenu("Recent")
        self.recent_menu.setObjectName("recent-menu")
        self.recent_menu.aboutToShow.connect(self.fill_recent)
        self.menu.addSeparator()
        self._action("Settings…", lambda: self.open_settings.emit(""), "settings")
        self._action("Open history", lambda: self.open_settings.emit("history"), "history")
        self._action("About Holdtype", self.show_about, "about")
        self.menu.addSeparator()
        self._action("Quit", self.quit_requested.emit, "quit")
        self._fill_modes()
        self._fill_models()

    def _fill_modes(self) -> None:
        self.mode_menu.clear()
        for action in self.mode_group.actions():
            self.mode_group.removeAction(action)
        active = self.live.settings.modes.active
        for name in list_mode_names():
            action = QAction(name, self.mode_menu, checkable=True)
            action.setChecked(name == active)
            action.triggered.connect(lambda _=False, n=name: self.choose_mode(n))
            self.mode_group.addAction(action)
            self.mode_menu.addAction(action)

    def _fill_models(self) -> None:
        self.model_menu.clear()
        for action in self.model_group.actions():
            self.model_group.removeAction(action)
        current = self.live.settings.model.name
        names = installed_models()
        if current not in names:
            names.append(current)
        for name in names:
            action = QAction(name, self.model_menu, checkable=True)
            action.setChecked(name == current)
            action.triggered.connect(lambda _=False, n=name: self.choose_model(n))
            self.model_group.addAction(action)
            self.model_menu.addAction(action)
        self.model_menu.addSeparator()
        more = self.model_menu.addAction("Download more…")
        more.triggered.connect(lambda: self.open_settings.emit("model"))

    def fill_recent(self) -> None:
        """Refill the Recent menu with the last utterances (click copies, shift-click re-pastes).

        Read for a moment only (:attr:`Engine.history_reader`): while another program held the
        history, opening the menu froze the tray for the store's 10 s wait."""
        self.recent_menu.clear()
        entries: list[Any] = []
        try:
            entries = list(self.engine.history_reader.list(limit=RECENT_COUNT))
        except Exception as exc:  # history unavailable: say so in the menu
            log.warning("recent history unavailable: %s", exc)
            said = history_unreadable(exc)
            label = said if len(said) <= 64 else said[:63] + "…"
            problem = self.recent_menu.addAction(label.replace("&", "&&"))
            problem.setObjectName("recent-unavailable")
            problem.setToolTip(said)
            problem.setEnabled(False)
            return
        shown = 0
        for entry in entries:
            text = str(getattr(entry, "text", "") or "")
            if not text.strip():
                continue
            label = text if len(text) <= 48 else text[:47] + "…"
            action = self.recent_menu.addAction(label.replace("&", "&&"))
            action.setToolTip(text)
            entry_id = getattr(entry, "id", None)
            action.triggered.connect(lambda _=False, t=text, i=entry_id: self.recent_clicked(t, i))
            shown += 1
            if shown >= RECENT_COUNT:
                break
        if not shown:
            empty = self.recent_menu.addAction("Nothing dictated yet")
            empty.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            hint = self.recent_menu.addAction("Click copies · Shift+click pastes again")
            hint.setEnabled(False)

    # --- actions --------------------------------------------------------------------------
    def toggle_dictation(self) -> None:
        """Start dictation when idle, stop it while recording."""
        if self.state is State.RECORDING:
            self.engine.end()
        elif self.state is State.IDLE:
            self.engine.begin()

    def choose_mode(self, name: str) -> None:
        """Make ``name`` the active mode. Not saved (a read-only settings file), the menu
        shows the mode still active again: it showed the mode picked, the other one in use."""
        if not self.live.update("modes", active=name):
            self._fill_modes()

    def choose_model(self, name: str) -> None:
        """Switch the speech model (the engine reloads it in the background); a model not
        saved is not shown checked (see :meth:`choose_mode`)."""
        if not self.live.update("model", name=name):
            self._fill_models()

    def set_paused(self, paused: bool) -> None:
        """Pause or resume the hotkey (remembered across restarts). Saved first, the engine
        told only once it is: a save that failed left the engine paused and the menu and
        icon not, and the next settings change resumed it unasked."""
        hotkey = self.live.settings.hotkey.model_copy(update={"paused": bool(paused)})
        if self.live.commit(self.live.settings.model_copy(update={"hotkey": hotkey}), apply=False):
            self.engine.set_paused(bool(paused))
        self._refresh()  # (not saved: the menu as the settings in force are)

    def recent_clicked(self, text: str, history_id: int | None) -> None:
        """Copy ``text``; with Shift held, paste it again into the active window."""
        shift = bool(QGuiApplication.queryKeyboardModifiers() & Qt.KeyboardModifier.ShiftModifier)
        if shift and history_id is not None:
            self.engine.repaste(history_id)
        else:
            self.engine.copy_to_clipboard(text)

    def show_about(self) -> None:
        """Show the About box, without blocking the tray menu (Quit, Pause) while it is open."""
        from app import __version__

        if self.about is None:
            box = QMessageBox()
            box.setObjectName("holdtype-about")
            box.setWindowTitle("About Holdtype")
            box.setIconPixmap(QIcon(str(resources_dir() / "icons" / "holdtype.png")).pixmap(64, 64))
            box.setTextFormat(Qt.TextFormat.RichText)
            box.setText(
                f"<b>Holdtype {__version__}</b><p>Hold a key, speak, let go: your words appear where "
                "you type. Speech is recognised on this computer (faster-whisper); nothing leaves it "
                "unless you pick an LLM mode that uses a remote model.</p>"
            )
            box.setStandardButtons(QMessageBox.StandardButton.Ok)
            box.setModal(False)  # QMessageBox.about() was app-modal: the tray menu did not open
            self.about = box
        self.about.show()
        self.about.raise_()
        self.about.activateWindow()

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.open_settings.emit("")

    # --- engine events --------------------------------------------------------------------
    def on_ready(self, event: EngineReady) -> None:
        """The model is loaded: the icon keeps showing anything that could not be armed.

        Each of those problems was notified when it happened (an error event of its own), so
        it is not notified a second time here. A model's error is over (the icon stayed red,
        with the old "Last error", after a model that failed to load was replaced).
        """
        self.ready, self.loading = True, False
        if self._error_source == "model":
            self.last_error, self._error_source = None, ""
        if event.problems:
            self.last_error = "; ".join(event.problems)
        self._refresh()

    def on_loading(self, event: ModelLoading) -> None:
        """The engine loads a model again (a model setting changed, a download finished): not
        ready until it says so (the tooltip said "idle" meanwhile)."""
        self.ready, self.loading = False, True
        self._refresh()

    def on_state(self, event: StateChanged) -> None:
        """Follow the engine's state."""
        self.state = event.state
        if event.state is State.RECORDING:
            self.last_error = None
            self._level = -1
        self._refresh()

    def on_level(self, rms: float, peak: float) -> None:
        """Redraw the level bar (only when it changes by a step, to keep the CPU idle)."""
        if self.state is not State.RECORDING:
            return
        level = min(5, int((rms * 4.0) ** 0.7 * 5 + 0.5))
        if level != self._level:
            self._level = level
            self.icon.setIcon(level_icon(level))

    def on_error(self, event: ErrorRaised) -> None:
        """Show the error icon and a notification."""
        self.last_error, self._error_source = event.message, event.source
        if event.source == "model":  # the load is over: the icon says it failed, not "busy"
            self.loading = False
        log.warning("%s: %s", event.source, event.message)
        self.notify("Holdtype: something went wrong", event.message, error=True)
        self._refresh()

    def on_notice(self, event: Notice) -> None:
        """Show a notification (recovered recordings, LLM fallbacks), unless it only says
        that what was asked was done (:func:`worth_a_notification`)."""
        log.info("%s: %s", event.source, event.message)  # not event.said: the log names no words
        if worth_a_notification(event):
            self.notify("Holdtype", event.shown)

    def on_utterance(self, event: UtteranceResult) -> None:
        """A result arrived: an error in it is shown; a success clears the error icon."""
        if event.error:
            self.on_error(ErrorRaised(event.error, "utterance"))
        else:
            self.last_error = None
            self._refresh()

    def notify(self, title: str, message: str, *, error: bool = False) -> None:
        """Show a desktop notification from the tray icon; without a tray, in a box of
        Holdtype's own (the words went only to the log: a failed dictation said nothing)."""
        message = as_plain_text(message)  # (a message names a command as `holdtype doctor`)
        if self.available and self.icon.isVisible():
            kind = QSystemTrayIcon.MessageIcon.Warning if error else QSystemTrayIcon.MessageIcon.Information
            self.icon.showMessage(title, message, kind, 8000)
            return
        if self.toast is None:
            from app.ui.toast import Toast

            self.toast = Toast()
        self.toast.show_message(title, message, error)

    def _on_settings(self, settings: Settings) -> None:
        self.pause_action.setChecked(settings.hotkey.paused)
        self._refresh()

    # --- display --------------------------------------------------------------------------
    def icon_name(self) -> str:
        """The name of the icon for the current state."""
        if self.state is State.RECORDING:
            return "recording"
        if self.state in BUSY_STATES or self.loading:
            return "busy"
        if self.last_error:
            return "error"
        if self.live.settings.hotkey.paused:
            return "disabled"
        return "idle"

    def tooltip(self) -> str:
        """The tooltip text: state, hotkey, mode and model."""
        s = self.live.settings
        if self.loading:
            status = f"loading {s.model.name}…"
        elif not self.ready:
            status = "no model loaded"
        elif s.hotkey.paused and self.state is State.IDLE:
            status = "hotkey paused"
        else:
            status = self.state.value
        hold = "hold" if mode_for_key(s.hotkey.key, s.hotkey.mode) == "hold" else "press to start/stop"
        lines = [
            f"Holdtype — {status}",
            f"Hotkey: {describe_hotkey(s.hotkey.key)} ({hold})",
            f"Mode: {s.modes.active} · Model: {s.model.name}",
        ]
        if self.last_error:
            lines.append(f"Last error: {self.last_error[:120]}")
        return "\n".join(lines)

    def _refresh(self) -> None:
        name = self.icon_name()
        if name != "recording" or self._level < 0:
            self.icon.setIcon(state_icon(name) if name != "recording" else level_icon(0))
        tip = self.tooltip()
        self.icon.setToolTip(tip)
        self.status_action.setText(tip.splitlines()[0])
        self.dictate_action.setText("Stop dictation" if self.state is State.RECORDING else "Start dictation")
        self.dictate_action.setEnabled(self.state in (State.IDLE, State.RECORDING))
        self.pause_action.setChecked(self.live.settings.hotkey.paused)

    def show(self) -> bool:
        """Put the icon in the tray; return False (and log why) when there is no tray host yet.
        The icon is shown all the same: Qt docks it when a tray host starts (the icon was
        never shown when the panel started after Holdtype)."""
        self.icon.show()
        self._tray_check.start()
        if not self.available:
            log.warning("%s", NO_TRAY_MESSAGE)
        return self.available

    def hide(self) -> None:
        """Remove the icon from the tray (and a notification shown without one)."""
        self._tray_check.stop()
        self.icon.hide()
        if self.toast is not None:
            self.toast.hide()

    def check_tray(self) -> None:
        """Follow a tray host starting or going away (:attr:`available`, :attr:`problem`)."""
        available = QSystemTrayIcon.isSystemTrayAvailable()
        if available == self.available:
            return
        self.available = available
        self.problem = None if available else NO_TRAY_MESSAGE
        if available:
            log.info("a system tray host started; the Holdtype icon is in it")
        else:
            log.warning("%s", NO_TRAY_MESSAGE)
