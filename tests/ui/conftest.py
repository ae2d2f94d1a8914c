"""UI tests run the real widgets on the session's Xvfb display (``tests/fixtures/display.py``).

pytest-qt creates one QApplication per session from ``qapp_args``; overriding it here makes the
display start first and points this process at it, so Qt connects to the real X server (xcb).
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings, load_settings, save_settings
from app.paths import get_paths
from tests.fixtures.display import XDisplay
from tests.fixtures.parts import require_tools
from tests.fixtures.waiting import wait_for


@pytest.fixture(scope="session")
def qapp_args(display: XDisplay) -> list[str]:
    """Point this process at the test display before pytest-qt builds the QApplication."""
    os.environ["DISPLAY"] = display.display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ["XDG_SESSION_TYPE"] = "x11"
    os.environ.pop("WAYLAND_DISPLAY", None)
    return ["holdtype-ui-tests"]


@pytest.fixture(autouse=True)
def own_autostart_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``XDG_CONFIG_HOME`` for each test: the General tab shows whether the real
    start-at-login entry is there and writes or removes it when saved, which must never be
    the entry of the account the tests run under."""
    folder = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


@pytest.fixture(autouse=True)
def gc_on_main_thread() -> Iterator[None]:
    """Collect garbage on the main thread only (see app/ui/gc_guard.py): a collection started by
    a worker thread could destroy Qt objects of an earlier test there, and crash."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


@pytest.fixture
def config_path(holdtype_home: Path) -> Path:
    """The settings file of this test's Holdtype home."""
    return get_paths().config_file


@pytest.fixture
def write_settings(config_path: Path):  # type: ignore[no-untyped-def]
    """Return ``write(settings) -> Settings``: save to the config file and load it back."""

    def write(settings: Settings) -> Settings:
        save_settings(settings, config_path)
        return load_settings(config_path).settings

    return write


@pytest.fixture
def tray_host(display: XDisplay, qapp) -> Iterator[subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    """A real XEmbed system tray (trayer) on the test display, stopped after the test."""
    with run_tray_host(display, qapp) as proc:
        yield proc


@contextlib.contextmanager
def run_tray_host(display: XDisplay, qapp) -> Iterator[subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    """Start trayer on the test display and wait until it owns the tray; stop it at the end."""
    from PySide6.QtWidgets import QSystemTrayIcon

    require_tools("trayer", fix="sudo apt-get install trayer")
    proc = subprocess.Popen(
        ["trayer", "--edge", "bottom", "--align", "right", "--widthtype", "pixel", "--width", "100",
         "--height", "24", "--SetDockType", "true"],
        env=display.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def owned() -> bool:
        qapp.processEvents()
        return QSystemTrayIcon.isSystemTrayAvailable()

    try:
        wait_for(owned, timeout=20, what="trayer to own the system tray selection")
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        wait_for(lambda: not owned(), timeout=20, what="the system tray to go away")


def x_tool(display: XDisplay, *args: str) -> str:
    """Run an X command line tool on the test display and return its stdout."""
    if shutil.which(args[0]) is None:
        pytest.skip(f"{args[0]} missing")
    return display.run(*args, check=False).stdout
