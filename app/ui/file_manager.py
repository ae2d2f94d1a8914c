"""Open a folder in the user's file manager, and learn when none opened it.

Qt's ``QDesktopServices.openUrl`` reports success on Linux as soon as ``xdg-open`` starts, also
when xdg-open then finds no file manager and exits 3 (a window manager without a desktop, a
minimal install): the button did nothing, without a word. There, xdg-open is run here and its
exit status is watched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

# A file manager opens in well under this; xdg-open still running after it is taken as opened
# (some openers wait for the program they start).
OPENER_WAIT_S = 15.0


def xdg_opener() -> str | None:
    """The ``xdg-open`` to run on Linux and the BSDs, or None (elsewhere, or not installed)."""
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return None
    return shutil.which("xdg-open")


def open_in_file_manager(path: Path, failed: Callable[[], None]) -> bool:
    """Open ``path`` in the file manager. False when nothing could be started.

    With xdg-open, True means it started; ``failed`` is called later, from another thread, if
    it exits with an error (no file manager found) within :data:`OPENER_WAIT_S`.
    """
    opener = xdg_opener()
    if opener is None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
    try:
        process = subprocess.Popen(
            [opener, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the file manager outlives Holdtype's window
        )
    except OSError:
        return False

    def watch() -> None:
        try:
            code = process.wait(timeout=OPENER_WAIT_S)
        except subprocess.TimeoutExpired:
            return
        if code != 0:
            failed()

    threading.Thread(target=watch, name="holdtype-xdg-open", daemon=True).start()
    return True
