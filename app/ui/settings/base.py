"""What every settings tab shares: the context it works in and the load/apply contract.

A tab shows part of :class:`~app.config.Settings`. :meth:`SettingsTab.load` fills the widgets;
when the user changes one the tab emits ``edited``; the window then asks the tab to
:meth:`SettingsTab.apply` its widgets onto the current settings and commits the result (saved
and applied live). Tabs never write the settings file themselves.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QScrollArea, QWidget

from app.config import Settings
from app.errors import HoldtypeError
from app.llm.runner import PLUGIN_LOCK
from app.ui.settings.live import LiveSettings

if TYPE_CHECKING:
    from app.engine import Engine
    from app.ui.qt_bridge import EngineBridge

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TabContext:
    """What a tab may use: the live settings, and the running engine when there is one."""

    live: LiveSettings
    engine: Engine | None = None
    bridge: EngineBridge | None = None
    # Quitting the app from the window, offered while no tray icon (with its Quit) is shown;
    # None when the window runs without the app (tests, a tab on its own).
    quit_app: Callable[[], None] | None = None
    tray_shown: Callable[[], bool] | None = None


class SettingsTab(QWidget):
    """Base class of the settings tabs."""

    edited = Signal()
    title = ""
    key = ""

    def __init__(self, ctx: TabContext) -> None:
        """Build the tab's widgets (subclasses call this first)."""
        super().__init__()
        self.ctx = ctx
        self.setObjectName(f"tab-{self.key}")
        self._loading = False
        self.shown: Settings | None = None  # what the widgets were last filled from

    def load(self, settings: Settings) -> None:
        """Show ``settings`` in the widgets (without emitting ``edited``)."""
        self.shown = settings
        with self.quietly():
            self.fill(settings)

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Change widgets without reporting an edit (the code fills them, not the user)."""
        was, self._loading = self._loading, True
        try:
            yield
        finally:
            self._loading = was

    def fill(self, settings: Settings) -> None:
        """Subclasses: put ``settings`` into the widgets."""

    def shows(self, settings: Settings) -> bool:
        """Whether the widgets already show ``settings`` (this tab's part of them): refilling
        would change nothing the user sees, and would close an open cell editor. False when the
        tab's values cannot be read (a rule that cannot run): then it is refilled."""
        try:
            return self.apply(settings).model_dump() == settings.model_dump()
        except (ValueError, HoldtypeError):
            return False

    def apply(self, settings: Settings) -> Settings:
        """Return ``settings`` with this tab's values (subclasses override)."""
        return settings

    def apply_saveable(self, settings: Settings) -> Settings | None:
        """When :meth:`apply` refused the tab's values, ``settings`` with those of them that can
        be saved (a tab of independent parts: the terms, beside a rule that cannot run), or
        None when none can; the tab stays edited until all of it is saved."""
        return None

    def committed(self, settings: Settings) -> None:
        """Called after ``settings`` were saved: side effects beyond the file (autostart...).
        A :class:`~app.errors.HoldtypeError` raised here is shown in the window."""

    def end_editing(self) -> None:
        """Called when the window closes or the app quits, once the field being typed in was
        left: report an edit that leaving it did not (subclasses; the cells and most fields
        report theirs as they are left)."""

    def stop(self) -> None:
        """Called when the app quits: end background work that would outlive it (a download)."""

    def close_requested(self, close: Callable[[], object]) -> bool:
        """The window is being closed: True to let it close now; False when the tab first asks
        the user something (work not saved), and calls ``close()`` once the answer allows it."""
        return True

    def changed(self, *_: object) -> None:
        """Slot for widget change signals: report an edit unless the tab is loading."""
        if not self._loading:
            self.edited.emit()


def section(settings: Settings, part: str, /, **values: Any) -> Settings:
    """Return ``settings`` with ``values`` set in its section ``part`` (validated on commit)."""
    current = getattr(settings, part)
    return settings.model_copy(update={part: current.model_copy(update=values)})


def secondary_text_color(widget: QWidget) -> str:
    """A colour for secondary text on ``widget``: two thirds of the text colour, one third of
    the background's. Qt's ``mid`` (used before) was #b8b8b8 on #fbfbfb, a contrast of about
    1.9:1, hard to read; this stays readable in light and dark themes alike. Taken from the
    application's palette for such a widget, not the widget's own: that one has the colour of
    an earlier call in it, and a status line set again and again faded to the background."""
    palette = QApplication.palette(widget)
    text = palette.color(QPalette.ColorRole.WindowText)
    back = palette.color(QPalette.ColorRole.Window)
    mixed = QColor(
        (2 * text.red() + back.red()) // 3,
        (2 * text.green() + back.green()) // 3,
        (2 * text.blue() + back.blue()) // 3,
    )
    return str(mixed.name())


def open_question(
    parent: QWidget,
    name: str,
    text: tuple[str, str],
    buttons: QMessageBox.StandardButton,
    default: QMessageBox.StandardButton,
    answered: Callable[[QMessageBox.StandardButton], None],
    closed: Callable[[], None],
) -> QMessageBox:
    """Ask a question over ``parent`` without blocking (``text`` is the title and the question;
    Esc answers Cancel): ``answered(button)`` runs with the button clicked, then ``closed()``
    once the box is gone (it deletes itself). Returns the open box."""
    title, question = text
    box = QMessageBox(QMessageBox.Icon.Question, title, question, buttons, parent)
    box.setObjectName(name)
    box.setDefaultButton(default)
    box.setEscapeButton(QMessageBox.StandardButton.Cancel)
    box.buttonClicked.connect(lambda button: answered(box.standardButton(button)))
    box.finished.connect(closed)
    box.finished.connect(box.deleteLater)
    box.open()
    return box


def bring_into_view(widget: QWidget) -> None:
    """Scroll the page holding ``widget`` until it is in sight, and give it the focus (a
    button at the foot of a long page left the field it filled out of sight)."""
    holder = widget.parentWidget()
    while holder is not None and not isinstance(holder, QScrollArea):
        holder = holder.parentWidget()
    if holder is not None:
        holder.ensureWidgetVisible(widget, 0, 40)
    widget.setFocus(Qt.FocusReason.OtherFocusReason)


def on_delete_key(widget: QWidget, action: Callable[[], None]) -> QShortcut:
    """Run ``action`` when Delete is pressed while ``widget`` (a table) has the focus; not while
    one of its cells is being edited, where Delete deletes a character."""
    shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), widget)
    shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
    shortcut.activated.connect(action)
    return shortcut


def note(text: str) -> QLabel:
    """A grey, wrapping explanatory label."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {secondary_text_color(label)};")
    label.setOpenExternalLinks(True)
    return label


#: The llm library loads its plugins and model list lazily and not thread-safely; UI jobs that
#: call into it (listing models, testing a mode) take this lock so they never race each other.
LLM_LOCK = PLUGIN_LOCK


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)
    progress = Signal(object)


class Job(QRunnable):
    """Run ``work(progress)`` on the global thread pool; results come back as Qt signals.

    ``work`` receives a ``progress(value)`` callable it may call from the worker thread.
    Connect to ``job.signals.done/failed/progress`` before calling :meth:`start`.
    """

    def __init__(self, work: Callable[[Callable[[Any], None]], Any]) -> None:
        """Wrap ``work``; the signals object is created here, on the calling (GUI) thread."""
        super().__init__()
        self.setAutoDelete(False)
        self.work = work
        self.signals = _Signals()

    def run(self) -> None:
        """Worker-thread body (called by the pool)."""
        try:
            try:
                result = self.work(self.signals.progress.emit)
            except Exception as exc:  # reported to the user, never swallowed
                self.signals.failed.emit(str(exc) or type(exc).__name__)
            else:
                self.signals.done.emit(result)
        except RuntimeError:  # the receiving window was closed while the job ran
            log.debug("job finished after its window closed")

    def start(self) -> Job:
        """Queue the job on the global pool and return it (keep a reference while it runs)."""
        QThreadPool.globalInstance().start(self)
        return self
