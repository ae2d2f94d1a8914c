"""The recording pill: a small frameless window near the bottom of the screen.

It appears when recording starts and shows a live level meter, the elapsed time and the words
recognised so far; on release it says "transcribing…" and vanishes when the text is inserted.
It never takes the keyboard focus: it is a tool window that does not accept focus, is shown
without activation, and bypasses the window manager on X11 (so the WM cannot focus it either).
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from app.events import PartialText, State, StateChanged

WIDTH = 420
HEIGHT = 44
BARS = 12


#: A small window of Holdtype's own over the others (the pill, a notification without a tray):
#: no frame, on top, never the focus; on X11 past the window manager, which cannot focus it.
FLOATING = (
    Qt.WindowType.FramelessWindowHint
    | Qt.WindowType.WindowStaysOnTopHint
    | Qt.WindowType.Tool
    | Qt.WindowType.WindowDoesNotAcceptFocus
    | Qt.WindowType.X11BypassWindowManagerHint
)


def never_focused(window: QWidget) -> None:
    """Make a :data:`FLOATING` window show without taking the focus from the window typed in."""
    window.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
    if sys.platform == "darwin":  # a tool window (an NSPanel) hides while its app is not the
        # active one, which Holdtype never is while you dictate into another app
        window.setAttribute(Qt.WidgetAttribute.WA_MacAlwaysShowToolWindow, True)
    window.setFocusPolicy(Qt.FocusPolicy.NoFocus)


class RecordingOverlay(QWidget):
    """A pill that mirrors the engine's recording state; feed it the bridge's signals."""

    def __init__(self, enabled: bool = True) -> None:
        """Create the (hidden) overlay; ``enabled`` False keeps it hidden at all times."""
        super().__init__(None, FLOATING)
        self.setObjectName("holdtype-overlay")
        self.setWindowTitle("Holdtype recording")
        never_focused(self)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground, True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setFixedSize(WIDTH, HEIGHT)
        self.enabled = enabled
        self._state = State.IDLE
        self._generation = -1
        self._started = 0.0
        self._rms = 0.0
        self._peak = 0.0
        self._history = [0.0] * BARS
        self._text = ""
        self._mode = ""
        self._tick = QTimer(self)
        self._tick.setInterval(100)
        self._tick.timeout.connect(self.update)

    # --- inputs ---------------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The engine state the overlay last saw."""
        return self._state

    @property
    def text(self) -> str:
        """The partial words currently shown."""
        return self._text

    @property
    def mode(self) -> str:
        """The LLM mode of the recording shown ("" for raw: no label)."""
        return self._mode

    def on_state(self, event: StateChanged) -> None:
        """Show, relabel or hide the pill for a state change."""
        self._state = event.state
        if event.state is State.RECORDING:
            if event.generation != self._generation:
                self._text = ""
                self._history = [0.0] * BARS
                self._started = time.monotonic()
            # (a second event of the same recording: the focused app's mode, found after)
            self._mode = "" if event.mode in ("", "raw") else event.mode
            self._generation = event.generation
            self._popup()
        elif event.state in (State.TRANSCRIBING, State.PROCESSING, State.INSERTING):
            if self.isVisible():
                self.update()
        else:
            self._tick.stop()
            self.hide()

    def on_level(self, rms: float, peak: float) -> None:
        """Feed the level meter (0..1 values)."""
        self._rms = rms
        self._peak = peak
        # speech rms rarely passes 0.3: scale so normal speech fills most of the meter
        self._history = [*self._history[1:], min(1.0, (rms * 4.0) ** 0.7)]

    def on_partial(self, event: PartialText) -> None:
        """Show the words recognised so far."""
        if event.generation == self._generation:
            self._text = " ".join(p for p in (event.committed.strip(), event.tentative.strip()) if p)
            self.update()

    # --- display --------------------------------------------------------------------------
    def _popup(self) -> None:
        if not self.enabled:
            return
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            self.move(area.x() + (area.width() - WIDTH) // 2, area.y() + area.height() - HEIGHT - 56)
        if not self.isVisible():
            self.show()
        self._tick.start()
        self.update()

    def caption(self) -> str:
        """The words the pill shows after its meter: the mode (an LLM mode only: the focused
        app's or a mode key's may not be the one the user set), then the words heard so far
        or what is being done."""
        if self._state is State.RECORDING:
            words = self._text or "listening…"
        else:
            words = "transcribing…" if self._state is State.TRANSCRIBING else "finishing…"
            if self._text:
                words = f"{words} {self._text}"
        return f"{self._mode} · {words}" if self._mode else words

    def elapsed_s(self) -> float:
        """Seconds since recording started (0 when not recording)."""
        return time.monotonic() - self._started if self._started else 0.0

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the pill: dot, meter, time and words (or the busy label)."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        p.setPen(QColor(255, 255, 255, 40))
        p.setBrush(QColor(24, 28, 32, 235))
        p.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        recording = self._state is State.RECORDING
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#e53935") if recording else QColor("#f9a825"))
        p.drawEllipse(QRectF(16, HEIGHT / 2 - 6, 12, 12))
        # level meter: recent history as bars
        x = 38.0
        for value in self._history if recording else [0.15] * BARS:
            h = max(3.0, value * (HEIGHT - 18))
            p.setBrush(QColor("#80cbc4") if recording else QColor(255, 255, 255, 70))
            p.drawRoundedRect(QRectF(x, (HEIGHT - h) / 2, 3.0, h), 1.5, 1.5)
            x += 5.0
        font = QFont(self.font())
        font.setPointSizeF(10.5)
        p.setFont(font)
        p.setPen(QColor("#eceff1"))
        x += 8
        if recording:
            secs = int(self.elapsed_s())
            clock = f"{secs // 60}:{secs % 60:02d}"
            p.drawText(QRectF(x, 0, 44, HEIGHT), Qt.AlignmentFlag.AlignVCenter, clock)
            x += 46
            color = QColor("#eceff1") if self._text else QColor("#90a4ae")
        else:
            color = QColor("#ffe082")
        words = self.caption()
        p.setPen(color)
        room = int(WIDTH - x - 20)
        # keep the end of the sentence in view: elide on the left
        shown = QFontMetrics(font).elidedText(words, Qt.TextElideMode.ElideLeft, room)
        p.drawText(QRectF(x, 0, room, HEIGHT), Qt.AlignmentFlag.AlignVCenter, shown)
        p.end()
