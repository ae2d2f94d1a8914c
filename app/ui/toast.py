"""A notification of Holdtype's own, for desktops without a system tray (stock GNOME).

The tray icon's balloon is where Holdtype says what went wrong (no microphone, a paste that
failed, an LLM that fell back). Without a tray those words went only to a log nobody reads: a
dictation failed and nothing on screen said so. This small frameless box near the top right of
the screen says it instead, for a few seconds; a click dismisses it. Like the recording pill,
it never takes the keyboard focus from the window being typed in.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from app.ui.overlay import FLOATING, never_focused

SHOW_MS = 8000  # as long as the tray's balloons stay
WIDTH = 380
MARGIN = 24


class Toast(QFrame):
    """A box that shows one notification at a time (a new one replaces the one shown)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Create the (hidden) box."""
        super().__init__(parent, FLOATING)
        self.setObjectName("holdtype-toast")
        self.setWindowTitle("Holdtype notification")
        never_focused(self)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(WIDTH)
        self.title = QLabel("")
        self.title.setObjectName("toast-title")
        self.title.setStyleSheet("font-weight: bold;")
        self.message = QLabel("")
        self.message.setObjectName("toast-message")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)

    def show_message(self, title: str, message: str, error: bool = False, ms: int = SHOW_MS) -> None:
        """Show ``title`` and ``message`` for ``ms`` milliseconds (an error's title in red)."""
        self.title.setText(title)
        self.title.setStyleSheet("font-weight: bold;" + (" color: #c62828;" if error else ""))
        self.message.setText(message)
        self.adjustSize()
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            self.move(area.right() - self.width() - MARGIN, area.top() + MARGIN)
        self.show()
        self.raise_()
        self._timer.start(ms)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt override
        """A click dismisses it."""
        self.hide()
        event.accept()
