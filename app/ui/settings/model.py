"""Model tab: installed and downloadable speech models, downloads with progress, decoding options."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.config import Settings
from app.errors import HoldtypeError
from app.events import EngineReady, ErrorRaised, ModelLoading
from app.ui.settings.base import Job, SettingsTab, TabContext, note, section
from app.ui.settings.widgets import ProblemLabel, editable_combo, keep_room

if TYPE_CHECKING:
    from app.transcribe.models import Cancel

log = logging.getLogger(__name__)

COMPUTE_TYPES = ("auto", "int8", "int8_float16", "int8_float32", "float16", "float32")


def spoken_language(typed: str) -> str:
    """The Whisper language code for what was typed in the language box: a code ("de"), a
    name from the list ("German", "German (de)"), or nothing (detect). ValueError names a
    language Whisper does not know (the window then says "Not saved" and keeps the text).
    """
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    text = typed.strip()
    for code, label in LANGUAGES:
        if text.casefold() in {code, label.casefold(), f"{label} ({code})".casefold()}:
            return code
    if text.lower() in _LANGUAGE_CODES:
        return text.lower()
    raise ValueError(
        f"Whisper knows no language {text!r}; pick one from the list or type its code (de, fr, ...)"
    )


LANGUAGES = (
    ("en", "English"),
    ("", "Detect automatically"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("nl", "Dutch"),
    ("pl", "Polish"),
    ("ja", "Japanese"),
    ("zh", "Chinese"),
)
COLUMNS = ("Model", "Size", "Speed", "Accuracy", "Languages", "Status")


class ModelTab(SettingsTab):
    """Pick, download and tune the speech model."""

    title = "Model"
    key = "model"

    def __init__(self, ctx: TabContext) -> None:
        """Build the model table, download controls and decoding options."""
        super().__init__(ctx)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("model-table")
        self.table.setAccessibleName("Speech models")
        self.table.setAccessibleDescription("The Whisper models to download and use for dictation")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.use_selected())
        self.use_button = QPushButton("Use this model")
        self.use_button.clicked.connect(self.use_selected)
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("download-button")
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setObjectName("cancel-button")
        self.cancel_button.clicked.connect(self.cancel_download)
        self.cancel_button.setEnabled(False)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.folder_button = QPushButton("Use a folder…")
        self.folder_button.setObjectName("folder-button")
        self.folder_button.setToolTip("A CTranslate2 model you converted or copied yourself")
        self.folder_button.clicked.connect(self.choose_folder)
        buttons = QHBoxLayout()
        for button in (self.use_button, self.download_button, self.cancel_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.folder_button)
        self.progress = QProgressBar()
        self.progress.setObjectName("download-progress")
        self.progress.setVisible(False)
        self.message = keep_room(QLabel(""))
        self.message.setObjectName("download-message")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        self.device = QComboBox()
        for value, label in (
            ("auto", "Automatic (GPU if available)"),
            ("cpu", "CPU"),
            ("cuda", "GPU (CUDA)"),
        ):
            self.device.addItem(label, value)
        self.device.currentIndexChanged.connect(self.changed)
        form.addRow("&Run on:", self.device)
        self.compute_type = QComboBox()
        for value in COMPUTE_TYPES:
            self.compute_type.addItem(value, value)
        self.compute_type.currentIndexChanged.connect(self.changed)
        form.addRow("&Compute type:", self.compute_type)
        self.beam_size = QSpinBox()
        self.beam_size.setRange(1, 16)
        self.beam_size.valueChanged.connect(self.changed)
        form.addRow("&Beam size:", self.beam_size)
        self.language = editable_combo()
        for code, label in LANGUAGES:
            self.language.addItem(f"{label} ({code})" if code else label, code)
        self.language.currentIndexChanged.connect(self.changed)
        self.language.currentIndexChanged.connect(self._show_language_note)
        # An item picked from the list counts even when it is the current one: after a code
        # typed in ("fr"), picking English again showed English and kept "fr".
        self.language.activated.connect(self.changed)
        self.language.activated.connect(self._show_language_note)
        line = self.language.lineEdit()
        if line is not None:  # a code typed in counts when the field is left, Enter or not
            line.editingFinished.connect(self.changed)
            line.editingFinished.connect(self._show_language_note)
        form.addRow("&Spoken language:", self.language)
        self.language_note = ProblemLabel()  # an English-only model for another language
        self.language_note.setObjectName("language-note")
        form.addRow(self.language_note)
        self.short_context = QCheckBox("Fast decoding of short audio")
        self.short_context.setToolTip(
            "Whisper's encoder hears the audio plus 5 s of silence instead of a whole 30 s "
            "window: two to three times faster for dictation, as accurate in our benchmarks."
        )
        self.short_context.toggled.connect(self.changed)
        form.addRow("", self.short_context)
        self.speech_gate = QCheckBox("Ignore recordings without speech")
        self.speech_gate.setToolTip(
            "A voice detector listens first: audio with no speech at all (a key held by "
            "mistake, room noise) is not decoded, since Whisper would invent words from it."
        )
        self.speech_gate.toggled.connect(self.changed)
        form.addRow("", self.speech_gate)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(
            note(
                "tiny.en ships with Holdtype and works offline. Larger models are more accurate "
                "but slower on a CPU; models ending in .en understand English only. A larger beam "
                "is a little more accurate and a little slower."
            )
        )
        self._job: Job | None = None
        self._cancel: Cancel | None = None
        self._downloading: str | None = None
        self._loads: set[int] = set()  # the loads the engine began (ModelLoading) not ended yet
        self._load_failed = False  # ...and the last load failed (ErrorRaised of source "model")
        self._loading_chosen = False  # ...which _load_chosen asked for: its end is said
        if ctx.bridge is not None:  # the model the engine has loaded is shown in the table
            ctx.bridge.loading.connect(self._on_loading)
            ctx.bridge.ready.connect(self._on_loaded)
            ctx.bridge.error.connect(self._on_engine_error)
        self.refresh()

    # --- table ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild the table from the registry and what is installed."""
        from app.transcribe import models

        selected = self.selected_name()
        current = self.ctx.live.settings.model.name
        in_use = self.model_in_use()
        chosen = getattr(self, "_chosen", None)  # refresh() also runs before fill()
        folders = [n for n in dict.fromkeys((current, chosen)) if n and n not in models.REGISTRY]
        self.table.setRowCount(len(models.REGISTRY) + len(folders))
        for row, folder in enumerate(folders, start=len(models.REGISTRY)):
            self._folder_row(row, folder, current)
        for row, info in enumerate(models.REGISTRY.values()):
            installed = models.is_installed(info.name)
            status = self._status(info.name, installed, current, in_use)
            size = f"{info.size_mb / 1000:.1f} GB" if info.size_mb >= 1000 else f"{info.size_mb} MB"
            cells = (
                info.name,
                size,
                info.speed,
                info.accuracy,
                "English" if info.english_only else "99 languages",
                status,
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, info.name)
                if info.name == current:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, col, item)
        if selected:
            self.select(selected)
        self._update_buttons()

    def _status(self, name: str, installed: bool, current: str, in_use: str) -> str:
        """The Status column of the registry's model ``name``: the chosen one (``current``) is
        "in use" only once the engine has it loaded (``in_use``); until then the row says
        which model stands in for it, and after a load that failed (CUDA chosen where there is
        none: it said "in use" beside the window's "not in effect") that it could not be."""
        from app.transcribe import models

        if name == self._downloading:
            return "downloading…"
        if name == current and in_use != current:  # (the embedded model stands in)
            return f"{'installed' if installed else 'not downloaded'} — {in_use} stands in until it loads"
        if name == current and self._loads:
            return "loading…"
        if name == current and self._load_failed:  # (the engine holds it, not loaded: no dictation)
            return "could not be loaded"
        if name == current:
            return "in use" if installed else "in use — not downloaded"
        if name == models.EMBEDDED:
            return f"built in — standing in for {current}" if in_use == name else "built in"
        return "installed" if installed else "not downloaded"

    def model_in_use(self) -> str:
        """The model dictation uses now: the chosen one, or the embedded one standing in for it
        while it is not on this machine (the table said "in use" of a model the engine had not
        loaded)."""
        engine = self.ctx.engine
        return engine.model_in_use if engine is not None else self.ctx.live.settings.model.name

    def _folder_row(self, row: int, folder: str, current: str) -> None:
        """A row for a model folder of the user's: its name, size and whether it is in use."""
        from app.transcribe import models

        path = Path(folder).expanduser()
        found = models.is_installed(folder)
        size_mb = sum(f.stat().st_size for f in path.iterdir() if f.is_file()) / 1e6 if found else 0
        if folder == current and self._load_failed:
            status = "could not be loaded"
        elif folder == current:
            status = "in use" if found else "in use — folder not found"
        else:
            status = "chosen" if found else "folder not found"
        cells = (path.name, f"{size_mb:.0f} MB" if found else "—", "—", "—", "—", f"{status}: {path}")
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, folder)
            item.setToolTip(str(path))
            if folder == current:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.table.setItem(row, col, item)

    def select(self, name: str) -> None:
        """Select the row of model ``name`` (a registry name or a folder)."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == name:
                self.table.selectRow(row)
                return

    def selected_name(self) -> str | None:
        """The model name (or folder) of the selected row."""
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _update_buttons(self) -> None:
        from app.transcribe import models

        name = self.selected_name()
        busy = self._job is not None
        installed = bool(name) and models.is_installed(name or "")
        listed = name in models.REGISTRY  # a folder of the user's is never downloaded or deleted
        # The chosen model, once downloaded, can be "used" too while another stands in for it.
        loaded = name == self.ctx.live.settings.model.name and name == self.model_in_use()
        self.use_button.setEnabled(bool(name) and installed and not loaded)
        self.download_button.setEnabled(listed and not installed and not busy)
        # The model in use, removed, could not be loaded at the next start.
        removable = listed and installed and name not in (models.EMBEDDED, self.ctx.live.settings.model.name)
        self.remove_button.setEnabled(removable and not busy)
        self.cancel_button.setEnabled(busy)

    # --- actions --------------------------------------------------------------------------
    def use_selected(self) -> None:
        """Make the selected (installed) model the one in use."""
        from app.transcribe import models

        name = self.selected_name()
        if not name:
            return
        if not models.is_installed(name):
            self.message.setText(f"Download {name} first.")
            return
        if name == self.ctx.live.settings.model.name:  # nothing to save: only to load, or not even
            self._load_chosen()
            return
        self._chosen = name
        self.changed()
        self._show_language_note()
        self.message.setText(f"Switching to {name}; it loads in the background.")

    def choose_folder(self) -> None:
        """Ask for a CTranslate2 model folder and use it (see :meth:`use_folder`)."""
        folder = QFileDialog.getExistingDirectory(self, "Choose a CTranslate2 model folder")
        if folder:
            self.use_folder(folder)

    def use_folder(self, folder: str) -> bool:
        """Use the model in ``folder`` if it is one (model.bin and config.json); say why not."""
        from app.transcribe import models

        try:
            path = models.resolve(str(Path(folder).expanduser().resolve()))
        except HoldtypeError as exc:
            self.message.setStyleSheet("color: #c62828;")
            self.message.setText(str(exc))
            return False
        self._chosen = str(path)
        self._show_language_note()
        self.message.setStyleSheet("")
        self.message.setText(f"Switching to the model in {path}; it loads in the background.")
        self.changed()
        self.refresh()
        self.select(self._chosen)
        return True

    def download_selected(self) -> None:
        """Download the selected model in a worker thread, with progress and cancel."""
        name = self.selected_name()
        if name:
            self.download(name)

    def download(self, name: str) -> None:
        """Start downloading model ``name`` (progress in the bar; errors in the message line)."""
        from app.transcribe import models

        if self._job is not None:
            return
        cancel = models.Cancel()

        def work(progress: Any) -> str:
            return str(models.download(name, lambda done, total: progress((done, total)), cancel))

        job = Job(work)
        job.signals.progress.connect(self._on_progress)
        job.signals.done.connect(lambda _path: self._download_finished(name, None))
        job.signals.failed.connect(lambda message: self._download_finished(name, message))
        self._cancel = cancel
        self._downloading = name
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.message.setStyleSheet("")
        self.message.setText(f"Downloading {name}…")
        self._job = job.start()
        self.refresh()

    def cancel_download(self) -> None:
        """Stop the running download (at once, also while the server sends nothing)."""
        if self._cancel is not None:
            self._cancel.set()
            self.message.setText("Cancelling…")

    def stop(self) -> None:
        """The app quits: a download would keep the process alive until it ended."""
        self.cancel_download()

    def _on_progress(self, value: tuple[int, int]) -> None:
        done, total = value
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(done * 1000 / total))
            self.progress.setFormat(f"{done / 1e6:.0f} of {total / 1e6:.0f} MB")

    def _download_finished(self, name: str, error: str | None) -> None:
        cancelled = self._cancel is not None and self._cancel.is_set()
        self._job = None
        self._cancel = None
        self._downloading = None
        self.progress.setVisible(False)
        if cancelled:
            self.message.setStyleSheet("")
            self.message.setText(f"Download of {name} cancelled.")
        elif error:
            self.message.setStyleSheet("color: #c62828;")
            self.message.setText(f"Download failed: {error}")
        elif name == self.ctx.live.settings.model.name:
            self._load_chosen()
        else:
            self.message.setStyleSheet("")
            self.message.setText(f"{name} is installed. Click “Use this model” to switch to it.")
        self.refresh()

    def _load_chosen(self) -> None:
        """Have the engine load the chosen model, now on this machine, in place of the one that
        stood in for it (said on the message line); say so when it is in use already."""
        name = self.ctx.live.settings.model.name
        in_use = self.model_in_use()
        self.message.setStyleSheet("")
        if self.ctx.engine is None or in_use == name:
            self.message.setText(f"{name} is installed and is the model in use.")
            return
        self.ctx.engine.reload_model()
        self._loading_chosen = True
        self.message.setText(
            f"{name} is installed; it loads in the background, {in_use} standing in until then."
        )

    # --- the engine's model -----------------------------------------------------------------
    def _on_loading(self, event: ModelLoading) -> None:
        self._loads.add(event.load)
        self._load_failed = False
        self.refresh()

    def _load_ended(self, load: int | None, failed: bool) -> bool:
        """Whether the end of load ``load`` tells how the chosen model stands: not while a load
        seen begin is under way, when another ended (the one at start-up, a dictation's own
        try, one begun before the window opened): the row said "in use" or "could not be
        loaded" of the model still loading."""
        if load in self._loads:
            self._loads.discard(load)
        elif self._loads:
            return False
        self._load_failed = failed
        return True

    def _on_loaded(self, event: EngineReady) -> None:
        if not self._load_ended(event.load, failed=False):
            return
        if self._loading_chosen:
            self._loading_chosen = False
            self.message.setStyleSheet("")
            self.message.setText(f"{event.model} is loaded and in use.")
        self.refresh()

    def _on_engine_error(self, event: ErrorRaised) -> None:
        if event.source != "model" or not self._load_ended(event.load, failed=True):
            return
        if self._loading_chosen:
            self._loading_chosen = False
            self.message.setStyleSheet("color: #c62828;")
            self.message.setText(f"Could not load the model: {event.message}")
        self.refresh()

    def hideEvent(self, event: QHideEvent) -> None:  # Qt override
        """A finished download's word ("Download failed: …", "installed", "cancelled") belongs
        to that try: it stayed on the tab across tab switches and the window's closing and
        opening again, a failure of last week read as today's. A running download keeps its."""
        if self._job is None:
            self.message.setStyleSheet("")
            self.message.setText("")
        super().hideEvent(event)

    def remove_selected(self) -> None:
        """Delete the selected downloaded model."""
        from app.transcribe import models

        name = self.selected_name()
        if not name:
            return
        if name == self.ctx.live.settings.model.name:  # (the buttons may show older settings)
            self.message.setText(f"{name} is the model in use; choose another before removing it.")
            return
        try:
            models.remove(name)
        except HoldtypeError as exc:
            self.message.setText(str(exc))
        self.refresh()

    # --- settings -------------------------------------------------------------------------
    def fill(self, settings: Settings) -> None:
        """Show the settings."""
        self._chosen = settings.model.name
        self.device.setCurrentIndex(max(0, self.device.findData(settings.model.device)))
        index = self.compute_type.findData(settings.model.compute_type)
        if index < 0:
            self.compute_type.addItem(settings.model.compute_type, settings.model.compute_type)
            index = self.compute_type.count() - 1
        self.compute_type.setCurrentIndex(index)
        self.beam_size.setValue(settings.model.beam_size)
        self.short_context.setChecked(settings.model.short_context)
        self.speech_gate.setChecked(settings.model.speech_gate)
        language = settings.model.language or ""
        index = self.language.findData(language)
        if index < 0:
            self.language.addItem(language, language)
            index = self.language.count() - 1
        self.language.setCurrentIndex(index)
        self._show_language_note()
        if hasattr(self, "table"):
            self.refresh()

    def _language(self) -> str:
        """The language code chosen or typed ("" to detect); ValueError for an unknown one."""
        language = self.language.currentData()
        if language is None or self.language.currentText() != self.language.itemText(
            self.language.currentIndex()
        ):
            language = spoken_language(self.language.currentText())
        return str(language)

    def end_editing(self) -> None:
        """A language code typed in counts once the field is left; left while the list of
        languages it matches was open (typing "de" opens it), that reported nothing, and
        quitting lost the code."""
        try:
            if self.shown is None or (self._language() or None) == self.shown.model.language:
                return
        except ValueError:  # not a language: saving says so
            pass
        self.changed()

    def _show_language_note(self) -> None:
        """Say so when the model in use understands English only and another language is
        chosen: it writes what it hears as English (or nothing)."""
        from app.transcribe.models import english_only_note

        chosen = getattr(self, "_chosen", None)
        try:
            language = self._language()
        except ValueError:  # an unknown language: saving says so
            language = ""
        note = english_only_note(Path(chosen).name, language) if chosen else None
        self.language_note.setText(f'{note}: download one above, then "Use this model".' if note else "")

    def apply(self, settings: Settings) -> Settings:
        """Return the settings with this tab's values."""
        language = self._language()
        return section(
            settings,
            "model",
            name=self._chosen,
            device=self.device.currentData(),
            compute_type=self.compute_type.currentData(),
            beam_size=self.beam_size.value(),
            short_context=self.short_context.isChecked(),
            speech_gate=self.speech_gate.isChecked(),
            language=language or None,
        )

    def committed(self, settings: Settings) -> None:
        """Show the saved choice in the table: after "Use this model" it still showed the old
        model in use, and offered to remove the new one, which the next start then lacked."""
        self.refresh()
