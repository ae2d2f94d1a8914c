"""Keep Python's cyclic garbage collector on the Qt main thread.

PySide objects must be destroyed on the thread that owns them. Python's collector runs on
whichever thread happens to allocate when a threshold is crossed — often a worker thread (a
model list, a download) — and destroying a widget caught in a reference cycle there crashes Qt.
So automatic collection is turned off while the UI runs, and a timer collects on the main
thread instead.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

_INTERVAL_MS = 5_000


def collect_on_main_thread(parent: QObject, interval_ms: int = _INTERVAL_MS) -> QTimer:
    """Disable automatic GC and collect every ``interval_ms`` on the (calling) main thread."""
    gc.disable()
    timer = QTimer(parent)
    timer.setInterval(interval_ms)
    timer.timeout.connect(lambda: gc.collect())
    timer.start()
    return timer
