"""General tab: the hotkey, how it behaves, start at login, sounds and how text is inserted."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.autostart import set_start_at_login, start_at_login_enabled
from app.config import Settings
from app.hotkey.binding import check_hotkey, describe_hotkey
from app.ui.settings.base import SettingsTab, TabContext, note, section
from app.ui.settings.widgets import HotkeyField, ProblemLabel, SecondsBox, buddy_label

log = logging.getLogger(__name__)


def start_at_login_shown(setting: bool) -> bool:
    """What the start-at-login box shows: whether the entry is there now, whoever wrote or
    turned it off (the Windows installer writes the same entry; a desktop's startup settings
    turn an XDG entry off). Showing the saved setting instead, a save of any other setting
    removed the installer's entry or wrote back one the user had turned off elsewhere.
    ``setting`` is shown when the entry cannot be read."""
    try:
        return start_at_login_enabled()
    except OSError as exc:
        log.warning("could not tell whether Holdtype starts at login (%s): showing the setting", exc)
        return setting


def caps_lock_undo(platform: str = sys.platform, env: Mapping[str, str] = os.environ) -> str:
    """What Holdtype does about the lock a Caps Lock hotkey toggles, here (one sentence).

    It undoes the toggle on X11 (through XKB) and on Windows (the key is kept from the system);
    under Wayland it can set the lock of XWayland only, and the uinput backend and macOS leave
    the lock alone (see :mod:`app.hotkey.listener`).
    """
    undone = "Holdtype undoes the Caps Lock toggle."
    if platform == "win32":
        return undone
    if platform == "darwin":
        return "On macOS the lock still toggles with each press."
    session = env.get("XDG_SESSION_TYPE", "").lower()
    wayland = session == "wayland" or (bool(env.get("WAYLAND_DISPLAY")) and session != "x11")
    if env.get("PYNPUT_BACKEND", "") not in ("", "xorg") or not env.get("DISPLAY"):
        return "The lock still toggles with each press here (Holdtype undoes it on X11 and Windows)."
    if wayland:
        return "Holdtype undoes the toggle for X11 windows only: Wayland windows may see the lock on."
    return undone


def hotkey_note(mode: str, cancel_key: str = "esc", key: str = "caps_lock") -> str:
    """The tab's note on the hotkey ``key``, in the words of the hotkey mode (``hold`` or
    ``toggle``), naming the cancel key (``hotkey.cancel_key``: it said Esc whatever the key
    was). Caps Lock's toggle is spoken of only while it is the key (the note stayed on
    Caps Lock after the key was Ctrl+Alt+D).

    >>> hotkey_note("toggle", "ctrl+alt+c").endswith("Ctrl+Alt+C cancels a recording.")
    True
    >>> hotkey_note("hold", "esc", "ctrl+alt+d")
    'Hold Ctrl+Alt+D while you speak; the text goes in when you let go. Esc cancels a recording.'
    """
    cancel = describe_hotkey(cancel_key)
    if key == "caps_lock":
        kind = "a hold-to-talk key" if mode == "hold" else "the key that starts and stops dictation"
        return f"Caps Lock works well as {kind}: {caps_lock_undo()} {cancel} cancels a recording."
    shown = describe_hotkey(key)
    if mode == "hold":
        return (
            f"Hold {shown} while you speak; the text goes in when you let go. {cancel} cancels a recording."
        )
    return f"Press {shown} to start dictating and again to stop. {cancel} cancels a recording."


class GeneralTab(SettingsTab):
    """Hotkey, hold/toggle, minimum hold, start at login, sounds, paste strategy."""

    title = "General"
    key = "general"

    def __init__(self, ctx: TabContext) -> None:
        """Build the form."""
        super().__init__(ctx)
        form = QFormLayout()
        self.hotkey = HotkeyField()
        self.hotkey.setObjectName("hotkey-field")
        self.hotkey.setAccessibleName("Dictation hotkey")
        self.hotkey.setAccessibleDescription("Press Enter or Space, then the key or combination to use")
        self.hotkey.captured.connect(self._on_captured)
        self.hotkey.cancelled.connect(self._on_cancelled)
        change = QPushButton("Change…")
        change.clicked.connect(self.hotkey.start_capture)
        row = QHBoxLayout()
        row.addWidget(self.hotkey, 1)
        row.addWidget(change)
        box = QWidget()
        box.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        # Its label leads to the field, not to the row holding it (which takes no focus): the field
        # was nameless to a screen reader.
        form.addRow(buddy_label("&Dictation hotkey:", self.hotkey), box)
        self.hotkey_problem = ProblemLabel()
        self.hotkey_problem.setObjectName("hotkey-problem")
        form.addRow(self.hotkey_problem)

        self.hold = QRadioButton("Hold to talk (release to insert)")
        self.toggle = QRadioButton("Press to start, press again to stop")
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.hold)
        self.mode_group.addButton(self.toggle)
        self.hold.toggled.connect(self.changed)
        modes = QVBoxLayout()
        modes.setContentsMargins(0, 0, 0, 0)
        modes.addWidget(self.hold)
        modes.addWidget(self.toggle)
        mode_box = QWidget()
        mode_box.setLayout(modes)
        form.addRow(QLabel("Hotkey mode:"), mode_box)  # (no buddy: the choices are named each)

        self.min_hold = SecondsBox(0.0, 5.0, step=0.05)
        self.min_hold.valueChanged.connect(self.changed)
        form.addRow("&Ignore taps shorter than:", self.min_hold)
        form.addRow(self.min_hold.problem)  # why a value typed there was refused

        self.start_at_login = QCheckBox("Start Holdtype when I log in")
        self.start_at_login.toggled.connect(self.changed)
        form.addRow("", self.start_at_login)
        self.sounds = QCheckBox("Play a short sound when recording starts and stops")
        self.sounds.toggled.connect(self.changed)
        form.addRow("", self.sounds)
        self.overlay = QCheckBox("Show the recording pill at the bottom of the screen")
        self.overlay.toggled.connect(self.changed)
        form.addRow("", self.overlay)

        self.strategy = QComboBox()
        self.strategy.addItem("Paste (fast; uses the clipboard)", "paste")
        self.strategy.addItem("Type the characters (slower; leaves the clipboard alone)", "type")
        self.strategy.currentIndexChanged.connect(self.changed)
        self.strategy.currentIndexChanged.connect(self._show_strategy)
        form.addRow("Insert &text by:", self.strategy)
        self.restore_clipboard = QCheckBox("Put the previous clipboard back after pasting")
        self.restore_clipboard.toggled.connect(self.changed)
        form.addRow("", self.restore_clipboard)
        self.trailing_space = QCheckBox("Add a space after the inserted text")
        self.trailing_space.toggled.connect(self.changed)
        form.addRow("", self.trailing_space)

        self.hotkey_note = note(hotkey_note("hold"))
        self.hotkey_note.setObjectName("hotkey-note")
        self.hold.toggled.connect(self._show_mode_note)
        outer = QVBoxLayout(self)
        outer.addLayout(form)
        outer.addWidget(self.hotkey_note)
        outer.addStretch(1)

    def _show_strategy(self) -> None:
        """Typing leaves the clipboard alone: putting it back has nothing to do then (the
        choice is kept for when pasting is picked again)."""
        pasting = self.strategy.currentData() == "paste"
        self.restore_clipboard.setEnabled(pasting)
        self.restore_clipboard.setToolTip("" if pasting else "Typing leaves the clipboard alone.")

    def _show_mode_note(self) -> None:
        cancel = self.ctx.live.settings.hotkey.cancel_key
        key = self.hotkey.binding() or self.ctx.live.settings.hotkey.key
        self.hotkey_note.setText(hotkey_note("hold" if self.hold.isChecked() else "toggle", cancel, key))

    def _on_captured(self, key: str) -> None:
        canonical, problem = check_hotkey(key, self.ctx.live.settings.hotkey)
        if problem:
            self.hotkey_problem.setText(problem)
            self.hotkey.set_binding(self.ctx.live.settings.hotkey.key)
            return
        self.hotkey_problem.setText("")
        self.hotkey.set_binding(canonical or key)
        self._show_mode_note()
        self.changed()

    def _on_cancelled(self) -> None:
        """A key refused before is no longer the question once a capture is cancelled."""
        self.hotkey_problem.setText("")

    def hideEvent(self, event: QHideEvent) -> None:  # Qt override
        """A refused key's reason belongs to that try: it stayed under the hotkey across tab
        switches and the window's closing and opening again."""
        self.hotkey_problem.setText("")
        super().hideEvent(event)

    def fill(self, settings: Settings) -> None:
        """Show the settings."""
        self.hotkey.set_binding(settings.hotkey.key)
        (self.hold if settings.hotkey.mode == "hold" else self.toggle).setChecked(True)
        self._show_mode_note()
        self.min_hold.show_seconds(settings.hotkey.min_hold_s)
        self.start_at_login.setChecked(start_at_login_shown(settings.ui.start_at_login))
        self.sounds.setChecked(settings.audio.sounds)
        self.overlay.setChecked(settings.ui.overlay)
        self.strategy.setCurrentIndex(max(0, self.strategy.findData(settings.paste.strategy)))
        self._show_strategy()
        self.restore_clipboard.setChecked(settings.paste.restore_clipboard)
        self.trailing_space.setChecked(settings.paste.trailing_space)

    def apply(self, settings: Settings) -> Settings:
        """Return the settings with this tab's values."""
        settings = section(
            settings,
            "hotkey",
            key=self.hotkey.binding() or settings.hotkey.key,
            mode="hold" if self.hold.isChecked() else "toggle",
            min_hold_s=self.min_hold.seconds(),
        )
        settings = section(settings, "audio", sounds=self.sounds.isChecked())
        settings = section(
            settings, "ui", start_at_login=self.start_at_login.isChecked(), overlay=self.overlay.isChecked()
        )
        return section(
            settings,
            "paste",
            strategy=self.strategy.currentData(),
            restore_clipboard=self.restore_clipboard.isChecked(),
            trailing_space=self.trailing_space.isChecked(),
        )

    def committed(self, settings: Settings) -> None:
        """Keep the start-at-login entry in step with the setting (an
        :class:`~app.errors.AutostartError` when it cannot: the window shows it)."""
        set_start_at_login(settings.ui.start_at_login)
