"""Advanced tab: Holdtype's folders, log level, and ``holdtype doctor`` with its output."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.config import Settings
from app.paths import ensure_dir, get_paths, holdtype_command
from app.ui.file_manager import open_in_file_manager
from app.ui.settings.base import SettingsTab, TabContext, section
from app.ui.settings.widgets import ProblemLabel

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def doctor_verdict(code: int) -> str:
    """The line after the doctor's report, in words (it read "(doctor exited with code 0)").

    >>> doctor_verdict(0), doctor_verdict(1)
    ('Checks done: nothing required is missing.', 'Checks done: something required is missing (FAIL above).')
    """
    if code == 0:
        return "Checks done: nothing required is missing."
    if code == 1:
        return "Checks done: something required is missing (FAIL above)."
    return f"The checks stopped early (code {code})."


class AdvancedTab(SettingsTab):
    """Folders, logging and diagnostics."""

    title = "Advanced"
    key = "advanced"
    open_failed = Signal(str)  # xdg-open found no file manager (from its watcher thread)

    def __init__(self, ctx: TabContext) -> None:
        """Build the folder rows, log level and doctor output."""
        super().__init__(ctx)
        paths = get_paths()
        form = QFormLayout()
        for label, folder in (
            ("Settings:", paths.config_dir),
            ("Data (history, audio):", paths.data_dir),
            ("Cache (models, LLM replies):", paths.cache_dir),
        ):
            row = QHBoxLayout()
            path_label = QLabel(str(folder))
            path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            open_button = QPushButton("Open")
            open_button.setAccessibleName(f"Open the {label.split()[0].lower().rstrip(':')} folder")
            open_button.clicked.connect(lambda _=False, f=folder: self.open_folder(f))
            row.addWidget(path_label, 1)
            row.addWidget(open_button)
            box = QWidget()
            row.setContentsMargins(0, 0, 0, 0)
            box.setLayout(row)
            form.addRow(QLabel(label), box)  # (no buddy: the path takes no focus)
        self.open_problem = ProblemLabel()  # no file manager opened a folder: said, with the path
        self.open_problem.setObjectName("open-problem")
        form.addRow(self.open_problem)
        self.open_failed.connect(self.open_problem.setText)
        self.log_level = QComboBox()
        self.log_level.setObjectName("log-level")
        for level in LOG_LEVELS:
            self.log_level.addItem(level.title(), level)
        self.log_level.currentIndexChanged.connect(self.changed)
        form.addRow("&Log level:", self.log_level)
        form.addRow(QLabel("Log file:"), QLabel(str(paths.log_file)))
        self.doctor_button = QPushButton("Run doctor")
        self.doctor_button.setObjectName("run-doctor")
        self.doctor_button.clicked.connect(self.run_doctor)
        self.output = QPlainTextEdit()
        self.output.setObjectName("doctor-output")
        self.output.setAccessibleName("Doctor's report")
        self.output.setAccessibleDescription("What Run doctor found missing, and how to fix it")
        self.output.setReadOnly(True)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.output.setPlaceholderText(
            "Run doctor checks the microphone, the model, the hotkey and the paste tools, and says "
            "how to fix what is missing."
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.doctor_button)
        layout.addWidget(self.output, 1)
        self.process: QProcess | None = None

    def open_folder(self, folder: os.PathLike[str] | str) -> bool:
        """Open ``folder`` in the file manager (created first if missing); when none opens it,
        now or once xdg-open gives up, say so with the path to copy (the button did nothing,
        without a word). False when no opener could be started."""
        path = ensure_dir(Path(folder))
        problem = f"No file manager opened {path}; the path above can be selected and copied."
        self.open_problem.setText("")

        def failed() -> None:  # (from xdg-open's watcher thread: the signal queues it)
            with contextlib.suppress(RuntimeError):  # the window was closed meanwhile
                self.open_failed.emit(problem)

        opened = open_in_file_manager(path, failed)
        if not opened:
            self.open_problem.setText(problem)
        return opened

    def run_doctor(self) -> None:
        """Run ``holdtype doctor`` as a subprocess and stream its output (never blocks the UI)."""
        if self.process is not None:
            return
        self.output.clear()
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._failed)
        self.doctor_button.setEnabled(False)
        self.process = process
        program, *args = holdtype_command()
        process.start(program, [*args, "doctor"])

    def _read(self) -> None:
        if self.process is not None:
            text = bytes(self.process.readAllStandardOutput().data()).decode("utf-8", "replace")
            self.output.insertPlainText(text)

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read()
        self.output.appendPlainText("\n" + doctor_verdict(code))
        self.doctor_button.setEnabled(True)
        self.process = None

    def _failed(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.output.appendPlainText(f"Could not start the doctor: {error.name}")
            self.doctor_button.setEnabled(True)
            self.process = None

    def fill(self, settings: Settings) -> None:
        """Show the settings."""
        self.log_level.setCurrentIndex(max(0, self.log_level.findData(settings.ui.log_level)))

    def apply(self, settings: Settings) -> Settings:
        """Return the settings with this tab's values."""
        return section(settings, "ui", log_level=self.log_level.currentData())
