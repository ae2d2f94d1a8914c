"""The Audio tab's PortAudio calls, run one at a time off the Qt main thread.

With the sound server stalled (PulseAudio stopped or hung), re-reading PortAudio's device list
and opening or closing a stream block until it answers: 30 s and more, measured with a real
PulseAudio under SIGSTOP. Made on the main thread, those calls froze the settings window. The
tab hands them to :class:`AudioCalls`, which runs them in order on a daemon thread of its own and
brings each outcome back to the main thread; :meth:`AudioCalls.busy_for` tells the tab how long
the running call has waited, so it can say the server does not answer instead of looking frozen.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

#: How long the worker thread lingers without work before it ends (a new call starts it again).
IDLE_EXIT_S = 10.0

Callback = Callable[[Any], None]


class _Outcomes(QObject):
    """Lives on the main thread; a call's outcome is queued to it there by Qt."""

    outcome = Signal(object, object)  # callback, value (a result or the exception)

    def __init__(self, parent: QObject | None) -> None:
        super().__init__(parent)
        self.outcome.connect(self._run)

    def _run(self, callback: Callback, value: Any) -> None:
        callback(value)


class AudioCalls:
    """A queue of PortAudio calls, run in order on one daemon thread.

    ``done`` and ``failed`` callbacks run on the thread that created this object (the Qt main
    thread). The thread starts on the first call and ends after :data:`IDLE_EXIT_S` idle.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        """Create the queue; ``parent`` owns the object that carries outcomes back."""
        self._outcomes = _Outcomes(parent)
        self._queue: queue.Queue[tuple[Callable[[], Any], Callback | None, Callback | None]] = queue.Queue()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._unfinished = 0
        self._started_at: float | None = None

    def submit(
        self, work: Callable[[], Any], done: Callback | None = None, failed: Callback | None = None
    ) -> None:
        """Queue ``work()``; then ``done(result)`` or ``failed(exception)`` on the main thread.

        A call without ``failed`` has its exception logged.
        """
        with self._cond:
            self._queue.put((work, done, failed))
            self._unfinished += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="holdtype-audio-calls", daemon=True)
                self._thread.start()

    def busy_for(self) -> float:
        """Seconds the running call has been running (0 when none is)."""
        with self._cond:
            return 0.0 if self._started_at is None else time.monotonic() - self._started_at

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every call queued so far has finished, ``timeout`` seconds at most.

        May be called from any thread but the worker's own.
        """
        with self._cond:
            return self._cond.wait_for(lambda: self._unfinished == 0, timeout)

    def _loop(self) -> None:
        while True:
            try:
                work, done, failed = self._queue.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._cond:
                    if self._queue.empty():  # (submit() adds under this lock: nothing is lost)
                        self._thread = None
                        return
                continue
            with self._cond:
                self._started_at = time.monotonic()
            callback: Callback | None
            try:
                value: Any = work()
                callback = done
            except Exception as exc:  # carried to the tab, which says what failed
                value, callback = exc, failed
                if failed is None:
                    log.info("audio call failed: %s", exc)
            finally:
                with self._cond:
                    self._started_at = None
                    self._unfinished -= 1
                    self._cond.notify_all()
            if callback is not None:
                try:
                    self._outcomes.outcome.emit(callback, value)
                except RuntimeError:  # the tab was deleted while the call ran
                    log.debug("audio call finished after its tab was closed")
