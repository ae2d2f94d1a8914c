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

from PySide6.QtCore import QObject, Signal

from app.config import Settings, save_settings
from app.errors import HoldtypeError

if TYPE_CHECKING:
    from app.engine import Engine

log = logging.getLogger(__name__)


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
            save_settings(settings, self.path)
        except (HoldtypeError, OSError, ValueError) as exc:
            message = f"Could not save settings: {exc}"
            log.warning("%s", message)
            self.failed.emit(message)
            return False
        self._settings = settings
        if apply and self.engine is not None:
            try:
                self.engine.apply_settings(settings)
            except HoldtypeError as exc:
                message = f"Saved, but could not apply the settings: {exc}"
                log.warning("%s", message)
                self.failed.emit(message)
        self.changed.emit(settings)
        return True

    def update(self, section: str, **values: object) -> bool:
        """Commit a copy of the settings with ``values`` changed in ``section`` (e.g. ``"modes"``)."""
        current = getattr(self._settings, section)
        new_section = current.model_copy(update=values)
        return self.commit(self._settings.model_copy(update={section: new_section}))
