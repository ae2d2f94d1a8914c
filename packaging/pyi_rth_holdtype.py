"""PyInstaller runtime hook: runs in the frozen app before ``app/__main__.py``.

A windowed executable (``holdtype-tray.exe`` on Windows, the ``.app`` on macOS when started from
Finder) may have no standard streams: the first ``print``, click message or log line would raise.
``app.std_streams`` points them at the null device (``holdtype-tray`` of a pip install does the
same at its start).
"""

from app.std_streams import ensure_std_streams

ensure_std_streams()
