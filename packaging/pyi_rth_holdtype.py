"""PyInstaller runtime hook: runs in the frozen app before ``app/__main__.py``.

A windowed executable (``holdtype-tray.exe`` on Windows, the ``.app`` on macOS when started from
Finder) may have no standard streams: ``sys.stdout``/``sys.stderr`` are ``None`` and the first
``print``, click message or log line would raise. Point them at the null device instead; the app's
own log file (``holdtype.log``) still records everything.
"""

import os
import sys

for _name in ("stdout", "stderr"):
    if getattr(sys, _name) is None:
        setattr(sys, _name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the app
if sys.stdin is None:
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
