"""The settings window: one tab per module, every change saved and applied as it is made.

Edits are collected per tab and committed 300 ms after the last one (so dragging a slider or
typing a term does not rewrite the file on every keystroke): the edited tabs write their values
onto the current settings, :class:`~app.ui.settings.live.LiveSettings` validates, saves the file
atomically and hands the settings to the engine. Nothing needs a restart.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QIcon, QKeyEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.config import Settings, describe_error
from app.errors import HoldtypeError
from app.paths import resources_dir
from app.settings_watch import merge_changes
from app.ui.settings.base import SettingsTab, TabContext, open_question, secondary_text_color
from app.ui.settings.engine_answer import EngineAnswer
from app.ui.settings.live import FILE_NOT_APPLIED, NOT_APPLIED

log = logging.getLogger(__name__)

# (module under app.ui.settings, class name), in tab order
TABS: tuple[tuple[str, str], ...] = (
    ("general", "GeneralTab"),
    ("audio", "AudioTab"),
    ("model", "ModelTab"),
    ("vocabulary", "VocabularyTab"),
    ("modes", "ModesTab"),
    ("llm", "LLMTab"),
    ("history", "HistoryTab"),
    ("advanced", "AdvancedTab"),
)
COMMIT_DELAY_MS = 300
#: What the status line says after a save, and for how long.
SAVED = "Saved — changes are in effect."
SAVED_SHOWN_MS = 4000
#: ...and while the model those settings chose loads (followed by the model's name).
SAVED_LOADING = "Saved — loading "


def tab_name(page: SettingsTab) -> str:
    """The tab's title as shown (``&&`` in a title is a literal ``&``)."""
    return page.title.replace("&&", "&")


def _on_top(shown: Settings, mine: Settings, settings: Settings) -> Settings:
    """``settings`` with what a page changed from ``shown`` (the settings it was filled with)
    to ``mine`` put on top, validated: a change made meanwhile elsewhere stays."""
    return Settings.model_validate(
        merge_changes(shown.model_dump(), mine.model_dump(), settings.model_dump())
    )


class SettingsWindow(QWidget):
    """All settings, in tabs; changes apply live."""

    def __init__(self, ctx: TabContext) -> None:
        """Build every tab and load the current settings into it."""
        super().__init__()
        self.ctx = ctx
        self.setObjectName("holdtype-settings")
        self.setWindowTitle("Holdtype settings")
        self.setWindowIcon(QIcon(str(resources_dir() / "icons" / "holdtype.png")))
        self.tabs = QTabWidget()
        self.pages: dict[str, SettingsTab] = {}
        self._holders: dict[str, QScrollArea] = {}  # each page scrolls in a window kept short
        self._dirty: set[str] = set()
        self._stale: set[str] = set()  # tabs with newer settings to show once the focus leaves
        self._grown = False  # grown to the pages' wrapped lines, once shown
        self._outer = 0
        self.confirm_close: QMessageBox | None = None  # "close and lose what cannot be saved?"
        self.confirm_quit: QMessageBox | None = None  # "quit and lose it?"
        self._close_anyway = False
        for module_name, class_name in TABS:
            self._add_tab(module_name, class_name)
        self.status = QLabel("")
        self.status.setObjectName("settings-status")
        self.status.setWordWrap(True)
        # Without a tray icon there was no Quit anywhere: only a signal ended Holdtype.
        self.quit_button = QPushButton("Quit Holdtype")
        self.quit_button.setObjectName("quit-holdtype")
        self.quit_button.setVisible(False)
        if ctx.quit_app is not None:
            self.quit_button.clicked.connect(ctx.quit_app)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.quit_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        self._fit_screen(layout)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COMMIT_DELAY_MS)
        self._timer.timeout.connect(self.commit)
        # Ctrl+W closes the window, as in other windows (pending edits are saved on close)
        QShortcut(QKeySequence("Ctrl+W"), self, self.close)
        ctx.live.changed.connect(self._reload)
        ctx.live.failed.connect(self._show_problem)
        self.following = EngineAnswer(ctx, self._engine_answered, self._engine_loads)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_moved)

    def _add_tab(self, module_name: str, class_name: str) -> None:
        try:
            module = importlib.import_module(f"app.ui.settings.{module_name}")
            tab: SettingsTab = getattr(module, class_name)(self.ctx)
        except (ImportError, AttributeError, HoldtypeError) as exc:
            log.warning("settings tab %s unavailable: %s", module_name, exc)
            placeholder = QLabel(f"This page is not available: {exc}")
            placeholder.setWordWrap(True)
            self.tabs.addTab(placeholder, module_name.title())
            return
        tab.load(self.ctx.live.settings)
        tab.edited.connect(lambda k=tab.key: self._on_edited(k))
        self.pages[tab.key] = tab
        holder = QScrollArea()
        holder.setWidget(tab)
        holder.setWidgetResizable(True)  # the page fills the room there is, scrolls below its minimum
        holder.setFrameShape(QFrame.Shape.NoFrame)
        self._holders[tab.key] = holder
        self.tabs.addTab(holder, tab.title)

    def _fit_screen(self, layout: QVBoxLayout) -> None:
        """Open tall enough for the tallest page, but never taller than the screen: the Modes
        page alone needs ~650 px, and at 150 % on a 1080p laptop the window did not fit (its
        buttons below the screen's edge); a page that does not fit now scrolls instead."""
        self._outer = layout.contentsMargins().top() + layout.contentsMargins().bottom() + layout.spacing()
        self.setMinimumSize(480, 320)
        self.resize(760, self._wanted_height())

    def _wanted_height(self) -> int:
        """The height that shows the tallest page whole, within the screen (see _fit_screen):
        at its preferred size, not its least (the Modes page's editors were then cut short, its
        buttons below the fold, and the Vocabulary page scrolled at its first message)."""
        tallest = max((page.sizeHint().height() for page in self.pages.values()), default=0)
        bar = self.tabs.tabBar().sizeHint().height() + 8  # (and the pages' frame)
        height = max(560, tallest + bar + self.status.sizeHint().height() + self._outer)
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None and screen.height() > 0:
            height = min(height, screen.height() - 48)  # the title bar, and some air
        return height

    def showEvent(self, event: QShowEvent) -> None:  # Qt override
        """Once laid out the first time, grow to what the pages' wrapped lines need (a page's
        wrapped text is measured at its width, known only now). Quit is offered while no tray
        icon offers it."""
        super().showEvent(event)
        tray_shown = self.ctx.tray_shown
        self.quit_button.setVisible(
            self.ctx.quit_app is not None and tray_shown is not None and not tray_shown()
        )
        if not self._grown:
            self._grown = True
            QTimer.singleShot(0, self._grow_to_pages)

    def _grow_to_pages(self) -> None:
        wanted = self._wanted_height()
        if wanted > self.height():
            self.resize(self.width(), wanted)

    def current_page(self) -> SettingsTab | None:
        """The page on show (None for a page that could not be built)."""
        holder = self.tabs.currentWidget()
        return next((self.pages[key] for key, shown in self._holders.items() if shown is holder), None)

    def show_tab(self, key: str) -> None:
        """Switch to the tab called ``key`` (e.g. ``"history"``); unknown keys are ignored."""
        holder = self._holders.get(key)
        if holder is not None:
            self.tabs.setCurrentWidget(holder)

    def bring_forward(self, key: str = "") -> None:
        """Show the window on top and give it the focus (a second ``holdtype`` start does this)."""
        if key:
            self.show_tab(key)
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()

    def _on_edited(self, key: str) -> None:
        self._dirty.add(key)
        self._timer.start()

    def commit(self) -> bool:
        """Write the edited tabs' values, save and apply; return False when something failed.

        Each edited tab is put on the settings on its own: one that cannot be saved (a rule
        that cannot run) stays edited and says so, naming its tab, and the others are saved
        all the same (one bad rule kept every other tab's changes from ever being saved).
        """
        self._timer.stop()
        if not self._dirty:
            return True
        dirty = [self.pages[k] for k in self.pages if k in self._dirty]
        settings: Settings = self.ctx.live.settings
        before = settings
        ready: list[SettingsTab] = []
        refused: list[str] = []
        # refused tabs whose saveable parts are on the settings, each with those parts alone
        partly: list[tuple[SettingsTab, Settings]] = []
        for page in dirty:
            try:
                # The settings may have changed since the page was filled (`holdtype vocab add`
                # while the user types a term; a dirty page is not refilled): put only what
                # the user changed on the page on top, so both changes stay.
                shown = page.shown or settings
                settings = _on_top(shown, page.apply(shown), settings)
            except (ValueError, HoldtypeError) as exc:
                why = describe_error(exc)
                saveable = self._saveable(page, shown, settings)
                if saveable is not None:
                    settings, kept = saveable
                    partly.append((page, kept))
                    why += "; the rest of the tab is saved"
                refused.append(f"Not saved ({tab_name(page)} tab): {why}")
            else:
                ready.append(page)
        if ready or partly:
            pending = {page.key for page in ready}
            self._dirty -= pending
            if not self.ctx.live.commit(settings):
                self._dirty |= pending  # not saved (a full disk): kept, for the next try or the close
                self.following.cancel()  # (the failure stays said: see _engine_answered)
                return False
            for page, kept in partly:
                # What the tab saved is its starting point now: a term taken out of the file
                # with that save (typed over with "🚀"), typed in again once it is fixed, was
                # read as removed by someone else meanwhile, and was lost. Only what the tab
                # saved, not the whole file: a term another program added meanwhile, which the
                # edited tab never showed, was read as one the user removed at its next save.
                page.shown = kept
        problems = []
        for page in ready:
            try:
                page.committed(settings)
            except HoldtypeError as exc:  # the settings are saved; what follows from them is not
                log.warning("%s", exc)
                problems.append(describe_error(exc))
        if refused:
            if ready:
                refused.append("The other changes are saved" + (", but: " if problems else "."))
            self.following.cancel()
            self._show_problem(" ".join(refused + problems))
            return False
        if problems:
            self.following.cancel()
            self._show_problem("Saved, but: " + " ".join(problems))
            return True
        if settings == before:
            # Nothing to save (a field tabbed through: "Saved" was said all the same). What
            # was said of an edit since taken back goes; what was said of the last save (the
            # model it loads, what the engine could not apply) or of a file that cannot be
            # read stays said.
            if not self.status.text().startswith(("Saved", NOT_APPLIED, FILE_NOT_APPLIED)):
                self.status.setText("")
            return True
        self._say_saved()
        if self.ctx.live.settings != before:  # what the engine makes of them is said when it answers
            self.following.start(self.ctx.live.applied)
        return True

    def _say_saved(self) -> None:
        self.status.setStyleSheet(f"color: {secondary_text_color(self.status)};")
        self.status.setText(SAVED)
        # Said for a moment: it stayed for good, beside every error a tab showed later.
        QTimer.singleShot(SAVED_SHOWN_MS, self._saved_said)

    def _engine_loads(self, model: str) -> None:
        if self._says_saved():
            self.status.setStyleSheet(f"color: {secondary_text_color(self.status)};")
            self.status.setText(f"{SAVED_LOADING}{model}…")

    def _engine_answered(self, problems: list[str]) -> None:
        """The engine applied the settings just saved: "in effect" only when it could (a GPU
        chosen where CUDA is missing said "changes are in effect" beside the engine's error)."""
        if not self._says_saved():
            return
        if problems:
            self._show_problem("Saved, but not in effect: " + "; ".join(problems))
        else:
            self._say_saved()

    def _says_saved(self) -> bool:
        """The status line says only what the last save did (or nothing, once "Saved" faded):
        the engine's answer may replace that, never a problem said since ("Not saved", "Could
        not save": the answer to an earlier save wrote "in effect" over them)."""
        text = self.status.text()
        return text in ("", SAVED) or text.startswith(SAVED_LOADING)

    def _saved_said(self) -> None:
        if self.status.text() == SAVED:
            self.status.setText("")

    @staticmethod
    def _saveable(page: SettingsTab, shown: Settings, settings: Settings) -> tuple[Settings, Settings] | None:
        """``settings`` with the parts of a refused ``page`` that can be saved on their own
        (:meth:`SettingsTab.apply_saveable`), and ``shown`` with those parts alone; None when
        there are none."""
        try:
            kept = page.apply_saveable(shown)
            return None if kept is None else (_on_top(shown, kept, settings), kept)
        except (ValueError, HoldtypeError):
            return None

    def _reload(self, settings: Settings) -> None:
        """Show new settings (saved here, from the tray or from another process) in the tabs.

        A tab that already shows them is left as it is: the tab just saved shows what the user
        typed, and refilling it closed the cell being typed in (a rule's replacement was lost).
        A tab the user is working in (it has the focus) is refilled when the focus leaves it;
        until then, like an edited tab, its next save puts only the user's changes on top.
        """
        if self.status.text().startswith(NOT_APPLIED):  # the file is read again: no longer so
            self.status.setText("")
        for key, page in self.pages.items():
            if key in self._dirty:
                continue
            if page.shows(settings):
                page.shown = settings
                self._stale.discard(key)
            elif self._has_focus(page):
                self._stale.add(key)
            else:
                self._stale.discard(key)
                page.load(settings)

    def _has_focus(self, page: QWidget) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and page.isAncestorOf(focus)

    def _focus_moved(self, *_: object) -> None:
        """The focus left a tab that has newer settings to show: show them now."""
        for key in list(self._stale):
            page = self.pages[key]
            if key not in self._dirty and not self._has_focus(page):
                self._stale.discard(key)
                if not page.shows(self.ctx.live.settings):
                    page.load(self.ctx.live.settings)

    def _show_problem(self, message: str) -> None:
        self.status.setStyleSheet("color: #c62828;")
        self.status.setText(message)

    def end_editing(self) -> None:
        """End the edit being typed, as leaving its field does: a cell's editor writes its text
        into the table, a language code typed in counts, a number typed in a box is taken. Each
        reports its edit, for the next :meth:`commit`. Quitting (the tray's Quit, a signal, a
        logout) lost such an edit: the editor wrote it only as the window hid, after the last
        commit."""
        focus = self.focusWidget()  # (the field being typed in, while the window is active)
        if focus is not None and focus.hasFocus():
            focus.clearFocus()
        for page in self.pages.values():  # what leaving a field does not report (see the tabs)
            page.end_editing()

    def stop(self) -> None:
        """The app quits: the edit being typed ends, the tabs end their background work (a
        model download) and keep what they hold unsaved (a mode being written), then all that
        is saved."""
        self.end_editing()
        for page in self.pages.values():
            page.stop()
        if not self.commit() and self._dirty:  # (no one to ask: a logout quits too)
            log.warning("settings edits not saved as Holdtype quit: %s", self.status.text())

    def quit_when_saved(self, quit_app: Callable[[], None]) -> None:
        """Quit (``quit_app``) once the edits are saved; when some cannot be (a rule that
        cannot run), show the window and ask first, as closing it does: the tray's Quit lost
        them with only a line in the log."""
        self.end_editing()
        if self.commit() or not self._dirty or not self.isVisible():
            quit_app()
            return
        self.bring_forward("")

        def discarded() -> None:
            self._dirty.clear()
            QTimer.singleShot(0, quit_app)

        self.confirm_quit = self._ask_to_lose(
            "settings-quit-confirm", ("Quit Holdtype", "Quit without them"), discarded, self._asked_quit
        )

    def _asked_quit(self) -> None:
        self.confirm_quit = None

    def _ask_to_lose(
        self,
        name: str,
        words: tuple[str, str],
        discarded: Callable[[], None],
        closed: Callable[[], None],
    ) -> QMessageBox:
        """Ask (box ``name``) whether to go on and lose the edits that cannot be saved, which
        the status line names: ``words`` are what goes on ("Quit Holdtype") and its button's
        text; ``discarded()`` runs when the user agrees, ``closed()`` once the box is gone."""
        discard = QMessageBox.StandardButton.Discard
        cancel = QMessageBox.StandardButton.Cancel
        action, button = words
        box = open_question(
            self,
            name,
            ("Changes not saved", f"{self.status.text()}\n\n{action} and lose these changes?"),
            discard | cancel,
            cancel,
            answered=lambda answer: discarded() if answer == discard else None,
            closed=closed,
        )
        box.button(discard).setText(button)
        box.button(cancel).setText("Keep editing")
        box.button(cancel).setIcon(QIcon())  # (a red cross said "cancel" on the safe choice)
        return box

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc closes the window, once nothing in it took the key (a cell being edited, a
        hotkey being captured: those end with it)."""
        if event.key() == Qt.Key.Key_Escape and not event.modifiers():
            self.close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window commits pending edits (the app keeps running in the tray); a tab
        with work not saved (a mode being written) asks first, on show."""
        self.end_editing()  # (a cell wrote its text as the window hid: after this commit, unasked)
        for key, page in self.pages.items():
            if not page.close_requested(self.close):
                event.ignore()
                self.show_tab(key)
                return
        if not self.commit() and self._dirty and not self._close_anyway:
            # An edit that cannot be saved (a rule that cannot run keeps its tab's terms too)
            # went with the window, unasked.
            event.ignore()
            self._ask_close_anyway()
            return
        self._close_anyway = False
        super().closeEvent(event)

    def _ask_close_anyway(self) -> None:
        """Ask whether to close and lose the edits that cannot be saved (:attr:`confirm_close`)."""
        if self.confirm_close is not None:
            return

        def discarded() -> None:
            for key in list(self._dirty):  # shown as saved when the window opens again
                self.pages[key].load(self.ctx.live.settings)
            self._dirty.clear()
            self.status.setText("")
            self._close_anyway = True
            QTimer.singleShot(0, self.close)

        self.confirm_close = self._ask_to_lose(
            "settings-close-confirm", ("Close the window", "Close without them"), discarded, self._asked_close
        )

    def _asked_close(self) -> None:
        self.confirm_close = None
