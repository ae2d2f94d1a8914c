"""General tab: the hotkey, how it behaves, start at login, sounds and how text is inserted."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.config import Settings
from app.hotkey.binding import check_hotkey
from app.paths import HOME_ENV, resources_dir
from app.ui.settings.base import SettingsTab, TabContext, note, section
from app.ui.settings.widgets import HotkeyField

log = logging.getLogger(__name__)

AUTOSTART_NAME = "holdtype.desktop"


def autostart_file() -> Path:
    """Where the XDG autostart entry lives (``$XDG_CONFIG_HOME/autostart/holdtype.desktop``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart" / AUTOSTART_NAME


def launch_command() -> list[str]:
    """The command that starts this Holdtype's tray app: the script installed beside the
    running Python (its virtual environment's), else the one on PATH, else ``python -m app``.
    The first ``holdtype`` on PATH alone could be another install (a pipx one, an old one)."""
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: the executable is Holdtype itself
        return [sys.executable]
    name = "holdtype.exe" if sys.platform == "win32" else "holdtype"
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    script = shutil.which("holdtype")
    if script:
        return [script]
    return [sys.executable, "-m", "app"]


_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def exec_line(args: list[str]) -> str:
    """``args`` as the Exec value of a desktop entry, quoted as the Desktop Entry spec says:
    in double quotes (a shell's single quotes are invalid there) with the double quote, backquote,
    dollar and backslash escaped, backslashes doubled once more for the string value, and ``%``
    written ``%%``.

    >>> exec_line(["env", "HOLDTYPE_HOME=/home/a b/ht", "/opt/holdtype/holdtype"])
    'env "HOLDTYPE_HOME=/home/a b/ht" /opt/holdtype/holdtype'
    >>> exec_line(["/x/100%/holdtype"])
    '/x/100%%/holdtype'
    """
    parts = []
    for arg in args:
        if arg and not (_EXEC_RESERVED & set(arg)):
            parts.append(arg.replace("%", "%%"))
            continue
        quoted = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        parts.append('"' + quoted.replace("\\", "\\\\").replace("%", "%%") + '"')
    return " ".join(parts)


def desktop_icon() -> str:
    """The Icon of the autostart entry: ``holdtype``, the name packaging/linux/install.sh (and
    the menu entry) use, when an icon of that name is installed where desktops look (the XDG
    data folders); else the path of Holdtype's own icon, which is valid wherever Holdtype is."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    data_dirs = (os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    for base in (data_home, *data_dirs):
        if not base:
            continue
        icons = Path(base) / "icons" / "hicolor"
        if any(icons.glob("*/apps/holdtype.png")) or any(icons.glob("*/apps/holdtype.svg")):
            return "holdtype"
        if (Path(base) / "pixmaps" / "holdtype.png").is_file():
            return "holdtype"
    return str(resources_dir() / "icons" / "holdtype.png")


def set_start_at_login(enabled: bool) -> Path | None:
    """Write or remove the autostart entry (Linux desktops); return its path when written."""
    if not sys.platform.startswith("linux"):
        log.info("start at login is only automated on Linux for now")
        return None
    path = autostart_file()
    if not enabled:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    home = os.environ.get(HOME_ENV)
    command = launch_command()
    if home:
        command = ["env", f"{HOME_ENV}={home}", *command]
    path.write_text(
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Holdtype\n"
        "Comment=Hold a key, speak, let go: dictation into any window\n"
        f"Exec={exec_line(command)}\n"
        f"Icon={desktop_icon()}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n",
        encoding="utf-8",
    )
    return path


def hotkey_note(mode: str) -> str:
    """The tab's note on the hotkey, in the words of the hotkey mode (``hold`` or ``toggle``)."""
    kind = "a hold-to-talk key" if mode == "hold" else "the key that starts and stops dictation"
    return f"Caps Lock works well as {kind}: Holdtype undoes the Caps Lock toggle. Esc cancels a recording."


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
        self.hotkey.captured.connect(self._on_captured)
        change = QPushButton("Change…")
        change.clicked.connect(self.hotkey.start_capture)
        row = QHBoxLayout()
        row.addWidget(self.hotkey, 1)
        row.addWidget(change)
        box = QWidget()
        box.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Dictation hotkey:", box)
        self.hotkey_problem = QLabel("")
        self.hotkey_problem.setObjectName("hotkey-problem")
        self.hotkey_problem.setWordWrap(True)
        self.hotkey_problem.setStyleSheet("color: #c62828;")
        form.addRow("", self.hotkey_problem)

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
        form.addRow("Hotkey mode:", mode_box)

        self.min_hold = QDoubleSpinBox()
        self.min_hold.setDecimals(3)  # 0.125 s was saved as 0.13 when another setting changed
        self.min_hold.setRange(0.0, 5.0)
        self.min_hold.setSingleStep(0.05)
        self.min_hold.setSuffix(" s")
        self.min_hold.valueChanged.connect(self.changed)
        form.addRow("Ignore taps shorter than:", self.min_hold)

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
        form.addRow("Insert text by:", self.strategy)
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

    def _show_mode_note(self) -> None:
        self.hotkey_note.setText(hotkey_note("hold" if self.hold.isChecked() else "toggle"))

    def _on_captured(self, key: str) -> None:
        canonical, problem = check_hotkey(key, self.ctx.live.settings.hotkey)
        if problem:
            self.hotkey_problem.setText(problem)
            self.hotkey.set_binding(self.ctx.live.settings.hotkey.key)
            return
        self.hotkey_problem.setText("")
        self.hotkey.set_binding(canonical or key)
        self.changed()

    def fill(self, settings: Settings) -> None:
        """Show the settings."""
        self.hotkey.set_binding(settings.hotkey.key)
        (self.hold if settings.hotkey.mode == "hold" else self.toggle).setChecked(True)
        self._show_mode_note()
        self.min_hold.setValue(settings.hotkey.min_hold_s)
        self.start_at_login.setChecked(settings.ui.start_at_login)
        self.sounds.setChecked(settings.audio.sounds)
        self.overlay.setChecked(settings.ui.overlay)
        self.strategy.setCurrentIndex(max(0, self.strategy.findData(settings.paste.strategy)))
        self.restore_clipboard.setChecked(settings.paste.restore_clipboard)
        self.trailing_space.setChecked(settings.paste.trailing_space)

    def apply(self, settings: Settings) -> Settings:
        """Return the settings with this tab's values."""
        settings = section(
            settings,
            "hotkey",
            key=self.hotkey.binding() or settings.hotkey.key,
            mode="hold" if self.hold.isChecked() else "toggle",
            min_hold_s=round(self.min_hold.value(), 3),
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
        """Keep the autostart entry in step with the setting."""
        try:
            set_start_at_login(settings.ui.start_at_login)
        except OSError as exc:
            log.warning("could not update the autostart entry: %s", exc)
