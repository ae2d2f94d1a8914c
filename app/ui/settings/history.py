"""History tab: search, copy, paste again, transcribe again, delete, export, play kept audio;
retention."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QShowEvent, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.config import Settings
from app.errors import HoldtypeError
from app.history.retention import days_wording, entries_wording
from app.paths import get_paths
from app.ui.settings.base import Job, SettingsTab, TabContext, on_delete_key, open_question, section
from app.ui.settings.widgets import buddy_label, keep_room
from app.ui.sounds import portaudio_stream
from app.ui.wording import history_unreadable

log = logging.getLogger(__name__)
_NEWEST = "Showing the newest"
_NOTHING_FOUND = "Nothing in the history contains"
_NOTHING_YET = "Nothing dictated yet: hold the hotkey, speak, let go; each dictation is kept here."
_HISTORY_OFF = "The history is off (Keep a history, below): dictations are not kept."
#: How many characters of a match's line come before it in the table's cell.
_BEFORE_MATCH = 24


def _around(text: str, query: str) -> str:
    """``text`` on one line, from a little before the first place ``query`` is in it: a match
    further on was out of sight in its cell (searching "friday" showed only "Hi Ann,…").

    >>> _around("Hi Ann,\\n\\nthe review moved to next week, on Friday at ten.", "friday")
    '… moved to next week, on Friday at ten.'
    >>> _around("Friday it is", "friday"), _around("no match", "friday")
    ('Friday it is', 'no match')
    """
    flat = " ".join(text.split())
    at = flat.casefold().find(" ".join(query.split()).casefold())
    if at <= _BEFORE_MATCH:
        return flat
    return "…" + flat[at - _BEFORE_MATCH :]


COLUMNS = ("When", "Text", "App", "Mode", "Outcome")
PAGE = 200
#: While another program holds the history, the page shown reads it again this often (ms), at
#: most this many times in a row: it said "try again in a moment", and nothing did.
BUSY_RETRY_MS = 1000
BUSY_RETRIES = 10
#: How long the page's Delete waits for another program's lock on the history (s), on a worker
#: thread: with the store's 10 s the window froze that long, then said nothing had been done.
WRITE_WAIT_S = 1.0


def play_wav(path: Path, stop: threading.Event | None = None) -> None:
    """Play a WAV file on the default output; blocks the calling worker thread until the end,
    or until ``stop`` is set (within a tenth of a second)."""
    import sounddevice as sd

    with wave.open(str(path), "rb") as w:
        frames = w.readframes(w.getnframes())
        rate = w.getframerate()
        channels = w.getnchannels()
    audio = (np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0).reshape(-1, channels)
    block = max(1, rate // 10)
    # A stream of its own, not sd.play(): the start/stop cues use sd.play's one global stream
    with portaudio_stream(), sd.OutputStream(samplerate=rate, channels=channels, dtype="float32") as out:
        for start in range(0, len(audio), block):
            if stop is not None and stop.is_set():
                out.abort()  # now, without playing what is buffered
                return
            out.write(np.ascontiguousarray(audio[start : start + block]))


class RetentionBox(QSpinBox):
    """Days of history kept (0: "forever"). The mouse wheel turns it only once it has the
    focus: a page scrolled past it deleted history; typed digits count once the typing ends."""

    def __init__(self) -> None:
        """A box of 0 ("forever") to as many days as a spin box holds: the settings set no
        limit, and 100,000 days set with `holdtype config set` became the box's 36,500 when
        another setting of the tab changed."""
        super().__init__()
        self.setRange(0, 2**31 - 1)
        self.setSpecialValueText("forever")
        self.setSuffix(" days")
        self.setKeyboardTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.valueChanged.connect(lambda days: self.setSuffix(" day" if days == 1 else " days"))

    def wheelEvent(self, event: QWheelEvent) -> None:  # Qt override
        """Turn the box only when it has the focus; else the page scrolls on."""
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


#: The retentions offered by name (days; 0: forever); any other is typed in after "Custom…".
RETENTION_PRESETS = (
    ("Forever", 0),
    ("1 day", 1),
    ("1 week", 7),
    ("30 days", 30),
    ("90 days", 90),
    ("1 year", 365),
)
CUSTOM = -1  # the data of "Custom…"


class RetentionChoices(QComboBox):
    """The retention presets, then "Custom…" (which shows the box of days). As with the box, the
    mouse wheel turns it only once it has the focus: a page scrolled past it chose a shorter
    retention."""

    def __init__(self) -> None:
        """The presets of :data:`RETENTION_PRESETS`, then "Custom…"."""
        super().__init__()
        for label, days in RETENTION_PRESETS:
            self.addItem(label, days)
        self.addItem("Custom…", CUSTOM)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:  # Qt override
        """Turn the list only when it has the focus; else the page scrolls on."""
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class HistoryTab(SettingsTab):
    """Everything dictated, searchable."""

    title = "History"
    key = "history"

    def __init__(self, ctx: TabContext) -> None:
        """Build the search field, table and actions."""
        super().__init__(ctx)
        self.confirm_delete: QMessageBox | None = None  # the open "Delete …?" question
        self.search = QLineEdit()
        self.search.setObjectName("history-search")
        self.search.setAccessibleName("Search the history")
        self.search.setPlaceholderText("Search what you dictated…")
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self.refresh)
        self._busy_timer = QTimer(self)  # the history was busy: read it again in a moment
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(BUSY_RETRY_MS)
        self._busy_timer.timeout.connect(self._read_again)
        self._busy_tries = 0  # the reads again since the history was last read
        self.search.textChanged.connect(self._search_timer.start)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("history-table")
        self.table.setAccessibleName("History")
        self.table.setAccessibleDescription("What you dictated, newest first")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self.copy_selected)
        self.paste_button = QPushButton("Paste again")
        self.paste_button.clicked.connect(self.repaste_selected)
        self.play_button = QPushButton("Play audio")
        self.play_button.clicked.connect(self.play_selected)
        self.again_button = QPushButton("Transcribe again")
        self.again_button.setObjectName("history-again")
        self.again_button.setToolTip(
            "Read the kept recording again with the model, vocabulary and rules in use now"
        )
        self.again_button.clicked.connect(self.transcribe_selected_again)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("history-delete")
        self.delete_button.clicked.connect(self.delete_selected)
        on_delete_key(self.table, self.delete_selected)  # asks first, as the button does
        export = QPushButton("Export…")
        export.clicked.connect(self._export_dialog)
        buttons = QHBoxLayout()
        for b in (
            self.copy_button,
            self.paste_button,
            self.play_button,
            self.again_button,
            self.delete_button,
        ):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(export)
        self.message = keep_room(QLabel(""))
        keep = QHBoxLayout()
        self.enabled = QCheckBox("Keep a history")
        self.enabled.toggled.connect(self.changed)
        self.retention = RetentionBox()  # the days in force; shown for "Custom…"
        self.retention.setObjectName("retention-days")
        self.retention.setAccessibleName("Days to keep entries")
        self.retention.valueChanged.connect(self._retention_changed)
        self.retention.valueChanged.connect(lambda _days: self._show_preset())
        policy = self.retention.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # shown or not, the choices beside it stay put
        self.retention.setSizePolicy(policy)
        self.retention_preset = RetentionChoices()  # a bare number of days had no common choices
        self.retention_preset.setObjectName("retention-preset")
        self.retention_preset.activated.connect(self._preset_chosen)
        self._kept_days = 0  # the retention in force (0: forever), to go back to on Cancel
        self.confirm_prune: QMessageBox | None = None  # asking before a shorter retention deletes
        self._asked_days = 0  # the retention that question is about
        self.enabled.toggled.connect(self.retention.setEnabled)  # moot without a history
        self.enabled.toggled.connect(self.retention_preset.setEnabled)
        keep.addWidget(self.enabled)
        keep.addStretch(1)
        keep.addWidget(buddy_label("&Keep entries for:", self.retention_preset))
        keep.addWidget(self.retention_preset)
        keep.addWidget(self.retention)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addLayout(keep)
        self._entries: list[Any] = []
        self._job: Job | None = None
        self._deleting: Job | None = None  # the deletion under way (on a worker thread)
        self._stop_playing: threading.Event | None = None
        self._again: int | None = None  # the entry being transcribed again
        self._pasting: int | None = None  # the entry being pasted again: its outcome is said here
        if ctx.bridge is not None:
            ctx.bridge.utterance.connect(self._on_utterance)
            ctx.bridge.notice.connect(self._on_again)
            ctx.bridge.error.connect(self._on_again)
        self._update_buttons()

    # --- store ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def store(self) -> Iterator[Any]:
        """The history store, for a write on a worker thread (never on the Qt thread: it waits
        for another program's lock): the engine's, or, when there is none, one opened for it
        and closed after."""
        if self.ctx.engine is not None:
            yield self.ctx.engine.history
            return
        from app.history.store import HistoryStore

        with HistoryStore(get_paths().history_db, timeout_s=WRITE_WAIT_S) as store:
            yield store

    def reader(self) -> Any:
        """Reads for this page, which waits on the Qt thread (:class:`HistoryReader`: for a
        moment only): the engine's, or, when there is none, one of the history's path. Opening
        a store for its path waited the store's 10 s on a held history, and made a database
        that was not there."""
        if self.ctx.engine is not None:
            return self.ctx.engine.history_reader
        from app.history.store import HistoryReader

        return HistoryReader(get_paths().history_db)

    def _on_utterance(self, _event: object) -> None:
        """A new dictation landed, or an entry was transcribed again: show it if the tab is on
        screen (else on the next show)."""
        if self.isVisible():
            self.refresh()

    def _on_again(self, event: object) -> None:
        """The entry being transcribed or pasted again was (a notice), or could not be (an
        error): say so here too. Entries deleted by a shorter retention leave the table."""
        message = str(getattr(event, "message", ""))
        if message.startswith("Deleted ") and getattr(event, "source", "") == "history":
            self.message.setText(message + ".")
            self.refresh()
            return
        pasting = self._pasting
        outcomes = (f"{how} entry {pasting} again" for how in ("Pasted", "Typed", "could not paste"))
        if pasting is not None and message.startswith(tuple(outcomes)):
            self.message.setText(message[0].upper() + message[1:] + ("" if message.endswith(".") else "."))
            self._pasting = None
            return
        if self._again is None:
            return
        done = f"Transcribed entry {self._again} again"
        failed = f"could not transcribe entry {self._again} again"
        if message.startswith(done) or message.startswith(failed):
            self.message.setText(message[0].upper() + message[1:] + ".")
            self._again = None
            self._update_buttons()

    def refresh(self) -> None:
        """Reload the table (search results when the search field has text)."""
        query = self.search.text().strip()
        # Rows move when a new dictation lands or the search changes: keep the same entries
        # selected, not the same row numbers (Delete or Paste again would hit another entry).
        chosen = {entry.id for entry in self.selected_entries()}
        # What the last listing said (not what an action did: "Copied.") is said again or cleared.
        listing = not self.message.text() or self.message.text().startswith(
            (_NEWEST, _NOTHING_FOUND, _NOTHING_YET, _HISTORY_OFF, "History busy", "History unavailable")
        )
        from app.history.store import HistoryBusy

        try:
            reader = self.reader()
            if not reader.path.exists():  # nothing kept yet (a reader makes no database)
                self._entries, total = [], 0
            else:
                self._entries = list(reader.search(query, limit=PAGE) if query else reader.list(limit=PAGE))
                total = reader.count()
        except HistoryBusy as exc:  # for a moment: the rows shown (and chosen) stay meanwhile
            self.message.setText(history_unreadable(exc) + ".")
            if self.isVisible() and self._busy_tries < BUSY_RETRIES:
                self._busy_tries += 1
                self._busy_timer.start()
            return
        except (HoldtypeError, OSError) as exc:
            self.message.setText(history_unreadable(exc) + ".")
            self._entries, total = [], None
        self._busy_tries = 0
        self._busy_timer.stop()
        if total is None:
            pass  # (said above)
        elif not query and total > len(self._entries):
            self.message.setText(f"{_NEWEST} {len(self._entries)} of {total}; search to find older ones.")
        elif query and not self._entries and total:  # (a blank table said nothing)
            self.message.setText(f"{_NOTHING_FOUND} “{query}”.")
        elif not total and listing:  # (an action's outcome, "Could not paste…", stays)
            self.message.setText(_NOTHING_YET if self.ctx.live.settings.history.enabled else _HISTORY_OFF)
        elif listing:  # search results, or all of them shown
            self.message.setText("")
        self.table.setRowCount(len(self._entries))
        for row, entry in enumerate(self._entries):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.created))
            outcome = getattr(entry.outcome, "value", str(entry.outcome))
            said = entry.text or entry.raw
            error = getattr(entry, "error", None) or ""
            # A failed entry with no words said why nowhere: its reason stands in for the text.
            shown = _around(said, query) if query else said
            cells = (when, shown or (f"({error})" if error else ""), entry.app, entry.mode, outcome)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                if col == 1:
                    item.setToolTip(said or str(text))
                    if not said:
                        font = item.font()
                        font.setItalic(True)
                        item.setFont(font)
                elif col == 4 and error:
                    item.setToolTip(error)
                self.table.setItem(row, col, item)
        self.table.clearSelection()
        for row, entry in enumerate(self._entries):
            if entry.id in chosen:
                self.table.selectionModel().select(
                    self.table.model().index(row, 0),
                    QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
                )
        self._update_buttons()

    def _read_again(self) -> None:
        """The history was busy a moment ago: read it again, if the page is still shown."""
        if self.isVisible():
            self.refresh()

    def selected(self) -> Any | None:
        """The selected history entry (the first, when several are)."""
        chosen = self.selected_entries()
        return chosen[0] if chosen else None

    def selected_entries(self) -> list[Any]:
        """Every selected history entry, in table order."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self._entries[row] for row in rows if row < len(self._entries)]

    def _update_buttons(self) -> None:
        entry = self.selected()
        has = entry is not None
        words = entry is not None and bool(entry.text or entry.raw)  # (a cancelled entry has none)
        self.copy_button.setEnabled(words)
        self.delete_button.setEnabled(has and self._deleting is None)
        self.paste_button.setEnabled(words and self.ctx.engine is not None)
        audio = getattr(entry, "audio_path", None) if has else None
        playing = self._job is not None  # the button stops it, whatever is selected
        kept = bool(audio) and Path(str(audio)).is_file()
        self.play_button.setEnabled(playing or kept)
        self.again_button.setEnabled(
            kept and len(self.selected_entries()) == 1 and self.ctx.engine is not None and self._again is None
        )

    # --- actions --------------------------------------------------------------------------
    def copy_selected(self) -> None:
        """Copy the selected text to the clipboard."""
        entry = self.selected()
        if entry is None:
            return
        text = entry.text or entry.raw  # what the table shows (a failed entry may have raw only)
        if not text:
            self.message.setText("Nothing to copy: nothing was heard.")  # the clipboard stays
            return
        if self.ctx.engine is not None:
            self.ctx.engine.copy_to_clipboard(text)
        else:
            QGuiApplication.clipboard().setText(text)
        self.message.setText("Copied.")

    def repaste_selected(self) -> None:
        """Paste the selected text again into the window that was active before this one."""
        entry = self.selected()
        if entry is not None and self.ctx.engine is not None and entry.id is not None:
            # what was done, not what an earlier action said ("Copied." stayed)
            self.message.setText("Pasting it again into the window you were in before this one.")
            self._pasting = entry.id
            self.window().showMinimized()
            self.ctx.engine.repaste(entry.id)

    def transcribe_selected_again(self) -> None:
        """Read the selected entry's kept recording again (the engine's transcription worker):
        the words go where :func:`app.history.again.keep_reading` puts them, and
        :meth:`_on_again` says so when they come."""
        entry = self.selected()
        if entry is None or entry.id is None or self.ctx.engine is None:
            return
        self._again = entry.id
        self.ctx.engine.transcribe_again(entry.id)
        self.message.setText(f"Transcribing entry {entry.id} again…")
        self._update_buttons()

    def delete_selected(self) -> None:
        """Ask, then delete the selected entries (and their kept audio): the question is
        :attr:`confirm_delete`, open until answered; Cancel (the default, and Esc) keeps them."""
        ids = [entry.id for entry in self.selected_entries() if entry.id is not None]
        if not ids or self._deleting is not None:  # (the Delete key, while one is under way)
            return
        what = "this entry" if len(ids) == 1 else f"these {len(ids)} entries"
        yes = QMessageBox.StandardButton.Yes
        cancel = QMessageBox.StandardButton.Cancel
        # The entries chosen now, by id: a dictation landing meanwhile moves the rows.
        self.confirm_delete = open_question(
            self,
            "history-delete-confirm",
            ("Delete from history", f"Delete {what}? The words and any kept recording are removed for good."),
            yes | cancel,
            cancel,
            answered=lambda answer: self._delete(ids) if answer == yes else None,
            closed=self._asked,
        )
        self.confirm_delete.button(yes).setText("Delete")

    def _asked(self) -> None:
        """The question was answered (or closed): let it go."""
        self.confirm_delete = None

    def _delete(self, ids: list[int]) -> None:
        """Delete the entries ``ids`` (and their kept audio) on a worker thread, all or none:
        :meth:`_deleted` says which. On the Qt thread, a held history froze the window 10 s."""
        if self._deleting is not None:
            return

        def work(_progress: Any) -> int | Exception:
            try:
                with self.store() as store:
                    return int(store.delete_entries(ids, wait_s=WRITE_WAIT_S))
            except (HoldtypeError, OSError) as exc:  # said by _deleted
                return exc

        job = Job(work)
        job.signals.done.connect(self._deleted)
        job.signals.failed.connect(self._deleted)
        self._deleting = job.start()
        self.message.setText("Deleting…")
        self._update_buttons()

    def _deleted(self, result: object) -> None:
        """The deletion ended: how many entries went (``result`` a count), or why none did
        (then they stay, and stay selected: Delete again tries again)."""
        self._deleting = None
        if isinstance(result, int):
            self.message.setText(f"Deleted {result} entr{'y' if result == 1 else 'ies'}.")
            self.refresh()
            return
        if isinstance(result, (HoldtypeError, OSError)):
            self.message.setText(f"Nothing deleted: {history_unreadable(result)}.")
        else:
            self.message.setText(f"Nothing deleted: {result}.")
        self._update_buttons()

    def play_selected(self) -> None:
        """Play the kept audio of the selected entry (worker thread); while it plays, the
        button says so and a second click stops it."""
        if self._job is not None:
            self.stop_playing()
            return
        entry = self.selected()
        if entry is None or not entry.audio_path:
            return
        path = Path(entry.audio_path)
        stop = threading.Event()
        job = Job(lambda _progress: play_wav(path, stop))
        job.signals.done.connect(lambda _r: self._played(""))
        job.signals.failed.connect(lambda m: self._played(f"Cannot play: {m}"))
        self._stop_playing = stop
        self._job = job.start()
        self.play_button.setText("Stop playing")
        self.message.setText("Playing the recording…")
        self._update_buttons()

    def stop_playing(self) -> None:
        """Stop the recording that is playing, if one is."""
        if self._stop_playing is not None:
            self._stop_playing.set()

    def stop(self) -> None:
        """The app quits: stop playing."""
        self.stop_playing()

    def _played(self, message: str) -> None:
        self._job = None
        self._stop_playing = None
        self.play_button.setText("Play audio")
        self.message.setText(message)
        self._update_buttons()

    def export_to(self, path: Path) -> int:
        """Export the whole history to ``path`` (format from the suffix: .csv, .json, .jsonl),
        read as the page reads it, waiting for a moment only (a write lock held elsewhere holds
        up no read: :class:`HistoryReader`)."""
        count = int(self.reader().export(path))
        self.message.setText(f"Exported {count} entries to {path}.")
        return count

    def _export_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export history", "holdtype-history.csv", "CSV (*.csv);;JSON (*.json);;JSON lines (*.jsonl)"
        )
        if name:
            from app.history.store import HistoryError

            try:
                self.export_to(Path(name))
            except HistoryError as exc:
                self.message.setText(f"Export failed: {history_unreadable(exc)}.")
            except (OSError, HoldtypeError) as exc:
                self.message.setText(f"Export failed: {exc}")

    def showEvent(self, event: QShowEvent) -> None:  # Qt override
        """Refresh whenever the tab is shown."""
        super().showEvent(event)
        self._busy_tries = 0  # (shown again: as many tries again while the history is busy)
        self.refresh()

    # --- settings -------------------------------------------------------------------------
    def fill(self, settings: Settings) -> None:
        """Show the settings."""
        self.enabled.setChecked(settings.history.enabled)
        self.retention.setEnabled(settings.history.enabled)
        self.retention_preset.setEnabled(settings.history.enabled)
        self._kept_days = settings.history.retention_days or 0
        # (more days than the box holds raised OverflowError, and the tab was not built)
        self.retention.setValue(min(self._kept_days, self.retention.maximum()))
        self._show_preset(anew=True)

    def _show_preset(self, anew: bool = False) -> None:
        """Show the retention's days as the preset that has them, else as "Custom…" with the box
        of days; once the user chose "Custom…" it stays (unless ``anew``: the settings shown)."""
        combo = self.retention_preset
        if combo.currentData() == CUSTOM and not anew:
            return
        index = combo.findData(self.retention.value())
        combo.setCurrentIndex(index if index >= 0 else combo.findData(CUSTOM))
        self.retention.setVisible(combo.currentData() == CUSTOM)

    def _preset_chosen(self, index: int) -> None:
        """A retention chosen from the list: its days (asked first when it deletes entries, as
        any retention is: :meth:`_retention_changed`); "Custom…" shows the box of days."""
        days = self.retention_preset.itemData(index)
        self.retention.setVisible(days == CUSTOM)
        if days == CUSTOM:
            self.retention.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.retention.setValue(days)

    def _retention_changed(self, days: int) -> None:
        """A retention that would delete entries now is asked first (:attr:`confirm_prune`):
        one turn of the box once deleted the history older than a day, for good."""
        if self._loading:
            return
        if self.confirm_prune is not None:
            # A question is open (the box of days committed as the list of presets took the
            # click, and a preset chosen then): a second one opened over it, and its answer
            # applied to whatever the box held. The one asked about stays shown until answered.
            with self.quietly():
                self.retention.setValue(self._asked_days)
            return
        kept = self._kept_days
        gone: int | None = 0
        if days and (not kept or days < kept):
            try:
                reader = self.reader()
                gone = reader.count_past(days) if reader.path.exists() else 0  # (none kept yet)
            except HoldtypeError as exc:  # (read for a moment only: asked all the same)
                log.warning(
                    "could not count the entries a retention of %s deletes: %s", days_wording(days), exc
                )
                gone = None
        if gone == 0:
            self._kept_days = days
            self.changed()
            return
        yes = QMessageBox.StandardButton.Yes
        cancel = QMessageBox.StandardButton.Cancel
        what = "every entry older than that" if gone is None else entries_wording(gone)
        older = days_wording(days)
        self._asked_days = days

        def answered(answer: QMessageBox.StandardButton) -> None:
            # Only the retention asked about, still shown: Delete is no yes to another one.
            if answer == yes and self.retention.value() == days:
                self._kept_days = days
                self.changed()
            else:
                with self.quietly():
                    self.retention.setValue(self._kept_days)

        def closed() -> None:
            self._asked_prune(asked)

        asked = self.confirm_prune = open_question(
            self,
            "history-retention-confirm",
            (
                "Delete old history",
                f"Keeping {older} of history deletes {what} now, with any kept recordings, for good.",
            ),
            yes | cancel,
            cancel,
            answered=answered,
            closed=closed,
        )
        asked.button(yes).setText("Delete")

    def _asked_prune(self, box: QMessageBox) -> None:
        """The retention question ``box`` was answered (or closed): put the box of days back
        unless Delete; let it go (if it is the open one: never another's)."""
        if box is not self.confirm_prune:
            return
        if self.retention.value() != self._kept_days:
            with self.quietly():
                self.retention.setValue(self._kept_days)
        self.confirm_prune = None

    def apply(self, settings: Settings) -> Settings:
        """Return the settings with this tab's values."""
        return section(
            settings,
            "history",
            enabled=self.enabled.isChecked(),
            # The retention in force, not the box: one being asked about is not agreed to yet,
            # and one more days than the box holds is kept as it is.
            retention_days=self._kept_days or None,
        )
