"""Standard streams for a Holdtype started without a console.

A windowed launcher (``holdtype-tray.exe`` of a pip install or of the PyInstaller build on
Windows, the ``.app`` on macOS started from Finder) runs with ``sys.stdout``/``sys.stderr`` set
to ``None``: the first ``print``, click message or log line to them would raise. Holdtype's own
log file (``holdtype.log``) records everything either way.
"""

from __future__ import annotations

import os
import sys


def ensure_std_streams() -> None:
    """Point each missing standard stream (``None``) at the null device; leave real ones be.

    >>> ensure_std_streams()
    >>> sys.stdout is not None and sys.stderr is not None and sys.stdin is not None
    True
    """
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the app
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
