"""The inserter interface, and picking the backend that fits the session.

An :class:`Inserter` puts text into the focused window, by pasting (clipboard + shortcut) or by
typing, and reports what happened in an :class:`InsertResult` instead of raising. Backends (X11,
Wayland, Windows, macOS) live in their own modules and are imported only when chosen.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from app.config import PasteSettings
from app.errors import HoldtypeError

log = logging.getLogger(__name__)

Backend = Literal["x11", "wayland", "windows", "macos"]

_MODULES: dict[str, str] = {
    "x11": "app.insert.x11:X11Inserter",
    "wayland": "app.insert.wayland:WaylandInserter",
    "windows": "app.insert.windows:WindowsInserter",
    "macos": "app.insert.macos:MacInserter",
}


class InsertError(HoldtypeError):
    """No way to insert text in this session (for example the chosen backend's tools are missing)."""


@dataclass(frozen=True, slots=True)
class InsertResult:
    """What happened to one insertion.

    ``ok`` is True when the text reached the window (the target read the clipboard, or the keys
    were typed). When a paste fails, the text is left on the clipboard and ``error`` says why.
    ``unread`` is True when a failed paste put nothing in the window by the time it gave up
    (the shortcut was sent, but no one read the clipboard). A busy window may still read it
    later, so a try again can paste the text twice, unless the shortcut is known not to have
    reached the window (the hotkey's grab took it).
    """

    ok: bool
    method: Literal["paste", "type"]
    backend: str
    error: str | None = None
    shortcut: str | None = None
    unread: bool = False


@runtime_checkable
class Inserter(Protocol):
    """Puts text into the focused window."""

    name: str

    def is_available(self) -> tuple[bool, str]:
        """Whether this backend can work here, and a sentence saying why not (or what it uses)."""
        ...

    def insert(self, text: str) -> InsertResult:
        """Insert ``text`` into the focused window; never raises for expected failures."""
        ...


def detect_backend(environ: dict[str, str] | None = None, platform: str | None = None) -> Backend:
    """Pick the backend for the current session from the platform and session variables.

    Wayland wins when ``WAYLAND_DISPLAY`` is set or ``XDG_SESSION_TYPE`` is ``wayland``, unless the
    session type says ``x11``; otherwise X11 (including XWayland-less X sessions).
    """
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if plat.startswith("win"):
        return "windows"
    if plat == "darwin":
        return "macos"
    session = env.get("XDG_SESSION_TYPE", "").lower()
    if session == "x11":
        return "x11"
    if session == "wayland" or env.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "x11"


def with_trailing_space(text: str, settings: PasteSettings) -> str:
    """Add the configured space after ``text`` (not after empty text or existing whitespace)."""
    if settings.trailing_space and text and not text[-1].isspace():
        return text + " "
    return text


def make_inserter(backend: Backend, settings: PasteSettings) -> Inserter:
    """Build the inserter of ``backend`` (without checking that it is available)."""
    module_name, attr = _MODULES[backend].split(":")
    cls = getattr(importlib.import_module(module_name), attr)
    return cls(settings)  # type: ignore[no-any-return]


def choose_inserter(settings: PasteSettings) -> Inserter:
    """Return the inserter for this session, honouring ``settings.backend`` when it is not auto.

    Raises :class:`InsertError` with the reason (and the fix) when that backend cannot work here.
    """
    backend: Backend = detect_backend() if settings.backend == "auto" else settings.backend
    inserter = make_inserter(backend, settings)
    ok, reason = inserter.is_available()
    if not ok:
        how = "detected from the session" if settings.backend == "auto" else "set in paste.backend"
        raise InsertError(f"cannot insert text with the {backend} backend ({how}): {reason}")
    global _last_said
    if (backend, reason) != _last_said:  # (said again at each settings change, it was noise)
        _last_said = (backend, reason)
        log.info("inserting text with the %s backend: %s", backend, reason)
    return inserter


_last_said: tuple[str, str] | None = None  # the backend choose_inserter last logged, and why


def window_in(wm_class: Sequence[str] | None, classes: Sequence[str]) -> bool:
    """Whether a window of class ``wm_class`` (its (instance, class) pair) is one of
    ``classes``: either part matches, ignoring case."""
    names = {name.casefold() for name in classes}
    return bool(wm_class) and any(part.casefold() in names for part in wm_class or () if part)
