"""The settings the running app uses: one owner, saved atomically and applied live.

Both the tray menu and the settings window change settings through :class:`LiveSettings`:
:meth:`LiveSettings.commit` validates, writes the TOML file (temp file + rename), hands the new
settings to the engine (``apply_settings``: reload the model, rebind hotkeys, re-arm audio) and
tells every view through the ``changed`` signal. Nothing needs a restart.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from app.config import Settings, describe_error, save_settings, settings_lock
from app.errors import ConfigError, HoldtypeError
from app.paths import move_aside
from app.settings_watch import POLL_INTERVAL_S, SettingsFileWatch, merge_changes

if TYPE_CHECKING:
    from app.engine import Engine

log = logging.getLogger(__name__)

#: How a settings file that cannot be read is reported; the window clears it once one is read.
NOT_APPLIED = "Not applied"
# What the window says of a settings file changed elsewhere that the engine could not apply.
FILE_NOT_APPLIED = "The settings file changed, but could not be applied"

# How long a save in the window waits for a CLI command saving the settings (milliseconds, as a
# rule); past it the save fails and says so.
SAVE_WAIT_S = 3.0


class LiveSettings(QObject):
    """Current settings plus the file they live in and the engine that runs with them."""

    changed = Signal(object)  # Settings
    failed = Signal(str)  # message for the user

    def __init__(self, settings: Settings, path: Path, engine: Engine | None = None) -> None:
        """Hold ``settings`` (from ``path``); ``engine`` gets every committed change."""
        super().__init__()
        self._settings = settings
        self.path = path
        self.engine = engine
        # The id the engine gave the settings handed to it last (Engine.apply_settings), which
        # its notice of them repeats; None while none were.
        self.applied: int | None = None
        self._watch = SettingsFileWatch(path)
        self._poll = QTimer(self)
        self._poll.setInterval(int(POLL_INTERVAL_S * 1000))
        self._poll.timeout.connect(self.check_file)
        self._poll.start()

    @property
    def settings(self) -> Settings:
        """The settings in force."""
        return self._settings

    def commit(self, settings: Settings, *, apply: bool = True) -> bool:
        """Save ``settings`` and apply them to the engine; return False (and emit ``failed``) on error."""
        if settings == self._settings:
            return True
        try:
            settings = Settings.model_validate(settings.model_dump())
            base = self._settings
            with settings_lock(self.path, SAVE_WAIT_S):  # no CLI command saves meanwhile
                if self.check_file():  # the CLI or an editor changed the file: keep that
                    mine, theirs = settings.model_dump(), self._settings.model_dump()
                    settings = Settings.model_validate(merge_changes(base.model_dump(), mine, theirs))
                if self._watch.broken:  # an editor left it so: keep it aside, as at start
                    target = move_aside(self.path, "broken")
                    log.warning("the broken settings file was moved to %s before saving", target)
                save_settings(settings, self.path)
                self._watch.mark()
        except (HoldtypeError, OSError, ValueError) as exc:
            message = f"Could not save settings: {describe_error(exc)}"
            log.warning("%s", message)
            self.failed.emit(message)
            return False
        self._adopt(settings, apply, "Saved, but could not apply the settings")
        return True

    def check_file(self) -> bool:
        """Take the settings file's new content if another process changed it (``holdtype vocab
        add``, an editor); return True when new settings were applied. A broken file is reported
        through ``failed`` and left as it is, and the settings in use stay."""
        found = self._watch.poll(self._settings)
        if found is None:
            return False
        if isinstance(found, ConfigError):
            message = f"{NOT_APPLIED}: {found}; the settings in use stay until it is fixed"
            log.warning("%s", message)
            self.failed.emit(message)
            return False
        log.info("the settings file %s changed; applying it", self.path)
        self._adopt(found, True, FILE_NOT_APPLIED)
        return True

    def _adopt(self, settings: Settings, apply: bool, problem: str) -> None:
        self._settings = settings
        if apply and self.engine is not None:
            self.applied = None
            try:
                self.applied = self.engine.apply_settings(settings)
            except HoldtypeError as exc:
                message = f"{problem}: {exc}"
                log.warning("%s", message)
                self.failed.emit(message)
        self.changed.emit(settings)

    def update(self, section: str, **values: object) -> bool:
        """Commit a copy of the settings with ``values`` changed in ``section`` (e.g. ``"modes"``)."""
        current = getattr(self._settings, section)
        new_section = current.model_copy(update=values)
        return self.commit(self._settings.model_copy(update={section: new_section}))
