"""The tray app on a real X display: with and without a tray host, and its menu driving the engine.

The engine is the real one, built without hotkeys and microphone (``enable_hotkeys=False,
enable_audio=False``) so the test owns the keyboard and needs no sound server.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QSystemTrayIcon

from app.config import Settings, load_settings
from app.events import Outcome, State
from app.ui.app import HoldtypeApp
from app.ui.tray import NO_TRAY_MESSAGE
from tests.fixtures.holder import sqlite_held_exclusively
from tests.fixtures.waiting import wait_for

pytest.importorskip("app.engine", reason="the engine has not landed yet")


@pytest.fixture
def holdtype(qtbot, config_path: Path, write_settings) -> Iterator[HoldtypeApp]:  # type: ignore[no-untyped-def]
    """The tray app over a fresh settings file, started; shut down after the test."""
    ui = HoldtypeApp(Settings(), config_path=config_path, enable_hotkeys=False, enable_audio=False)
    yield ui
    ui.shutdown()


@pytest.fixture
def holdtype_with_mic(qtbot, pulse, config_path: Path) -> Iterator[HoldtypeApp]:  # type: ignore[no-untyped-def]
    """The tray app with the microphone armed on the private PulseAudio server."""
    ui = HoldtypeApp(Settings(), config_path=config_path, enable_hotkeys=False, enable_audio=True)
    yield ui
    ui.shutdown()


def start_and_wait_ready(qtbot, ui: HoldtypeApp) -> None:  # type: ignore[no-untyped-def]
    ui.start()
    qtbot.waitUntil(lambda: ui.ready_event is not None, timeout=120000)


def test_without_tray_host_the_app_still_runs_and_says_why(qtbot, holdtype, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert not QSystemTrayIcon.isSystemTrayAvailable()
    start_and_wait_ready(qtbot, holdtype)
    assert holdtype.tray.available is False
    assert holdtype.tray.problem == NO_TRAY_MESSAGE
    # first run: a welcome naming the hotkey, and why there is no icon
    assert holdtype.welcome is not None and holdtype.welcome.isVisible()
    text = holdtype.welcome.text()
    assert "Caps Lock" in text and "No system tray" in text
    assert load_settings(config_path).settings.ui.welcomed is True


def test_without_tray_host_a_problem_is_shown_in_a_box_of_its_own(  # type: ignore[no-untyped-def]
    qtbot, qapp, no_audio_device, config_path: Path
) -> None:
    """Stock GNOME has no tray: "no input device" went only to the log, and a dictation then
    failed with nothing on screen saying why."""
    assert not QSystemTrayIcon.isSystemTrayAvailable()
    settings = Settings.model_validate({"ui": {"welcomed": True}})
    ui = HoldtypeApp(settings, config_path=config_path, enable_hotkeys=False, enable_audio=True)
    try:
        start_and_wait_ready(qtbot, ui)
        qtbot.waitUntil(lambda: ui.tray.toast is not None and ui.tray.toast.isVisible(), timeout=10000)
        toast = ui.tray.toast
        assert toast is not None and "no input device" in toast.message.text()
        # a command in it is quoted, as a desktop app writes it (the terminal's backticks showed)
        assert "“holdtype doctor”" in toast.message.text() and "`" not in toast.message.text()
        assert not toast.isActiveWindow()  # the window typed in keeps the focus
        qtbot.mouseClick(toast, Qt.MouseButton.LeftButton)  # a click dismisses it
        assert not toast.isVisible()
    finally:
        ui.shutdown()


QUIT_FROM_SETTINGS = """
import sys
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from app.config import Settings
from app.ui.app import HoldtypeApp

app = QApplication(sys.argv[:1])
app.setQuitOnLastWindowClosed(False)
ui = HoldtypeApp(Settings(), enable_hotkeys=False, enable_audio=False)
app.aboutToQuit.connect(ui.shutdown)

def click_quit():
    window = ui.open_settings()
    print("quit shown:", window.quit_button.isVisible(), flush=True)
    QTest.mouseClick(window.quit_button, Qt.MouseButton.LeftButton)

QTimer.singleShot(500, click_quit)
QTimer.singleShot(30000, lambda: app.exit(3))  # (a Quit that does not quit)
sys.exit(app.exec())
"""


def test_without_tray_host_the_settings_window_offers_quit(display) -> None:  # type: ignore[no-untyped-def]
    """Quit was only in the tray's menu: without a tray, only a signal ended Holdtype. (In a
    process of its own: Qt's exit, run in the tests' shared application, would end it.)"""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", QUIT_FROM_SETTINGS],
        env={**display.env, "HOLDTYPE_HOME": os.environ["HOLDTYPE_HOME"]},
        cwd=str(root),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "quit shown: True" in done.stdout, done.stdout + done.stderr


def test_a_term_cell_being_typed_is_saved_as_holdtype_shuts_down(qtbot, holdtype, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A signal or a logout quits through shutdown(): it saved the window's edits before the
    # cell being typed in wrote its text (as the window hid), and the term was lost.
    from tests.ui.test_settings_tabs import cell_editor

    window = holdtype.open_settings("vocabulary")
    qtbot.waitExposed(window)
    qtbot.waitUntil(window.isActiveWindow, timeout=10000)
    terms = window.pages["vocabulary"].terms
    window.pages["vocabulary"].add_term("NumPy")
    terms.setCurrentCell(0, 0)
    terms.editItem(terms.item(0, 0))
    editor = cell_editor(qtbot, terms)
    qtbot.waitUntil(editor.hasFocus, timeout=5000)
    editor.selectAll()
    qtbot.keyClicks(editor, "Polars")
    holdtype.shutdown()
    assert load_settings(config_path).settings.vocabulary.terms == ["Polars"]


def test_with_a_tray_the_settings_window_leaves_quit_to_its_menu(qtbot, tray_host, holdtype) -> None:  # type: ignore[no-untyped-def]
    holdtype.tray.show()
    qtbot.waitUntil(holdtype.tray.icon.isVisible, timeout=10000)
    window = holdtype.open_settings()
    qtbot.waitExposed(window)
    assert not window.quit_button.isVisible()


def test_icon_gets_a_real_place_in_trayer(qtbot, tray_host, holdtype) -> None:  # type: ignore[no-untyped-def]
    start_and_wait_ready(qtbot, holdtype)
    icon = holdtype.tray.icon
    assert holdtype.tray.available
    qtbot.waitUntil(lambda: icon.isVisible() and not icon.geometry().isEmpty(), timeout=20000)
    assert icon.geometry().width() >= 16
    qtbot.waitUntil(lambda: holdtype.tray.icon_name() == "idle", timeout=10000)
    tip = icon.toolTip()
    assert "Hotkey: Caps Lock (hold)" in tip and "Mode: raw" in tip and "tiny.en" in tip


def test_icon_appears_when_the_tray_host_starts_after_holdtype(  # type: ignore[no-untyped-def]
    qtbot, qapp, display, holdtype
) -> None:
    # Without a tray host at start the icon was never shown, and `available` was never read
    # again: a panel starting after Holdtype (at login) showed no Holdtype icon.
    from tests.ui.conftest import run_tray_host

    assert not QSystemTrayIcon.isSystemTrayAvailable()
    start_and_wait_ready(qtbot, holdtype)
    assert holdtype.tray.available is False
    with run_tray_host(display, qapp):
        icon = holdtype.tray.icon
        qtbot.waitUntil(lambda: holdtype.tray.available, timeout=20000)
        assert holdtype.tray.problem is None
        qtbot.waitUntil(lambda: icon.isVisible() and not icon.geometry().isEmpty(), timeout=20000)
        assert icon.geometry().width() >= 16
    qtbot.waitUntil(lambda: not holdtype.tray.available, timeout=20000)
    assert holdtype.tray.problem == NO_TRAY_MESSAGE


def action(ui: HoldtypeApp, name: str):  # type: ignore[no-untyped-def]
    found = [a for a in ui.tray.menu.actions() if a.objectName() == name]
    assert found, f"no menu action {name}"
    return found[0]


def test_menu_actions_drive_the_engine(qtbot, holdtype_with_mic, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    holdtype = holdtype_with_mic
    start_and_wait_ready(qtbot, holdtype)
    engine = holdtype.engine
    tray = holdtype.tray

    # Mode: a radio list of the modes; picking one changes the engine's settings and the file
    tray.mode_menu.aboutToShow.emit()
    modes = {a.text(): a for a in tray.mode_menu.actions() if a.isCheckable()}
    assert modes["raw"].isChecked()
    other = next(name for name in modes if name != "raw")
    modes[other].trigger()
    qtbot.waitUntil(lambda: engine.settings.modes.active == other, timeout=10000)
    assert load_settings(config_path).settings.modes.active == other
    assert f"Mode: {other}" in tray.icon.toolTip()

    # Model: installed models only, the current one checked
    tray.model_menu.aboutToShow.emit()
    models = {a.text(): a for a in tray.model_menu.actions() if a.isCheckable()}
    assert models["tiny.en"].isChecked()

    # Pause hotkey
    action(holdtype, "pause").trigger()
    qtbot.waitUntil(lambda: tray.icon_name() == "disabled", timeout=10000)
    assert load_settings(config_path).settings.hotkey.paused is True
    action(holdtype, "pause").trigger()
    qtbot.waitUntil(lambda: tray.icon_name() == "idle", timeout=10000)

    # Start / Stop dictation
    action(holdtype, "dictate").trigger()
    qtbot.waitUntil(lambda: tray.state is State.RECORDING, timeout=10000)
    assert action(holdtype, "dictate").text() == "Stop dictation"
    qtbot.waitUntil(holdtype.overlay.isVisible, timeout=10000)
    qtbot.waitUntil(lambda: "start" in holdtype.cues.played, timeout=10000)  # the start cue sounded
    action(holdtype, "dictate").trigger()
    qtbot.waitUntil(lambda: tray.state is State.IDLE, timeout=60000)
    assert not holdtype.overlay.isVisible()

    # Settings… and Open history open the window on the right tab
    action(holdtype, "history").trigger()
    window = holdtype.settings_window
    assert window is not None and window.isVisible()
    assert window.current_page() is window.pages["history"]


def test_recent_click_copies(qtbot, holdtype, clipboard) -> None:  # type: ignore[no-untyped-def]
    from app.history.store import HistoryEntry

    start_and_wait_ready(qtbot, holdtype)
    holdtype.engine.history.add(HistoryEntry(outcome=Outcome.PASTED, text="remember the milk", mode="raw"))
    holdtype.tray.fill_recent()
    entries = [a for a in holdtype.tray.recent_menu.actions() if a.isEnabled() and a.text()]
    assert entries[0].text() == "remember the milk"
    entries[0].trigger()
    qtbot.waitUntil(lambda: clipboard.get() == "remember the milk", timeout=10000)


def _recent_labels(ui: HoldtypeApp) -> list[str]:
    return [a.text() for a in ui.tray.recent_menu.actions() if a.text()]


def test_recent_menu_opens_at_once_while_a_dictation_waits_for_the_history(holdtype) -> None:  # type: ignore[no-untyped-def]
    """Another program held the history's write lock and a dictation's write waited for it
    (10 s) with the store's one connection: opening the Recent menu waited behind it, the tray
    frozen. The menu reads on its own (WAL lets it) and shows the entries at once."""
    from app.history.store import HistoryEntry

    store = holdtype.engine.history
    store.add(HistoryEntry(outcome=Outcome.PASTED, text="remember the milk", mode="raw"))
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a database browser in the middle of a write
    writing = threading.Thread(target=_add_quietly, args=(store,))
    try:
        writing.start()
        wait_for(lambda: _taken(store._lock), timeout=5, what="the dictation's write waiting")
        started = time.monotonic()
        holdtype.tray.fill_recent()
        assert time.monotonic() - started < 5.0  # (behind the write, it waited its 10 s)
        assert _recent_labels(holdtype)[0] == "remember the milk"
    finally:
        other.execute("ROLLBACK")  # (the write goes in then)
        other.close()
        writing.join(15)


def _add_quietly(store) -> None:  # type: ignore[no-untyped-def]
    """Add an entry as a dictation does; a history that stays held only loses it here."""
    from app.history.store import HistoryEntry, HistoryError

    with contextlib.suppress(HistoryError):
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="said while it was held", mode="raw"))


def _taken(lock) -> bool:  # type: ignore[no-untyped-def]
    """Whether another thread holds ``lock``."""
    free = lock.acquire(blocking=False)
    if free:
        lock.release()
    return not free


def test_recent_menu_says_a_held_history_is_busy_in_a_moment(holdtype) -> None:  # type: ignore[no-untyped-def]
    """Held by another program in SQLite's EXCLUSIVE mode (as when Holdtype started under it,
    the store unopened): the menu waited the store's 10 s to open it, then said "Nothing
    dictated yet". It says the history is busy, within a second."""
    from app.history.store import HistoryEntry, HistoryStore
    from app.paths import get_paths
    from app.ui.wording import HISTORY_BUSY

    with HistoryStore(get_paths().history_db) as store:  # (as the user's earlier runs left it)
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="remember the milk", mode="raw"))
    with sqlite_held_exclusively(get_paths().history_db):
        started = time.monotonic()
        holdtype.tray.fill_recent()
        assert time.monotonic() - started < 5.0  # (the store's read waited 10 s)
        shown = [a for a in holdtype.tray.recent_menu.actions() if a.text()]
        assert [a.text() for a in shown] == [HISTORY_BUSY] and not shown[0].isEnabled()
    holdtype.tray.fill_recent()  # let go: the entries are back
    assert _recent_labels(holdtype)[0] == "remember the milk"


def test_history_page_says_a_held_history_is_busy_in_a_moment(qtbot, holdtype) -> None:  # type: ignore[no-untyped-def]
    """The History page read as the Recent menu did, on the Qt thread with the store's 10 s
    wait: the settings window froze as it opened on a held history."""
    from app.history.store import HistoryEntry, HistoryStore
    from app.paths import get_paths
    from app.ui.wording import HISTORY_BUSY

    with HistoryStore(get_paths().history_db) as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="remember the milk", mode="raw"))
    with sqlite_held_exclusively(get_paths().history_db):
        started = time.monotonic()
        tab = holdtype.open_settings("history").pages["history"]
        qtbot.waitUntil(lambda: tab.message.text() == HISTORY_BUSY + ".", timeout=8000)
        assert time.monotonic() - started < 8.0 and tab.table.rowCount() == 0  # (it waited 10 s)
    tab.refresh()  # let go: the entries are back, and the busy message goes
    assert tab.table.rowCount() == 1 and tab.message.text() == ""


def test_paste_again_on_the_history_page_says_how_it_went(qtbot, holdtype) -> None:  # type: ignore[no-untyped-def]
    """The History page's "Paste again" said only "Pasting it again…": an entry gone since the
    page showed it (deleted by another Holdtype, the retention) was not pasted, unsaid. The
    page says the outcome, and so does a notification (here Holdtype's own box: no tray)."""
    from app.history.store import HistoryEntry

    start_and_wait_ready(qtbot, holdtype)
    kept = holdtype.engine.history.add(HistoryEntry(outcome=Outcome.PASTED, text="remember the milk"))
    window = holdtype.open_settings("history")
    tab = window.pages["history"]
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=5000)
    tab.table.selectRow(0)
    holdtype.engine.history.delete(kept)  # after the page showed it
    tab.paste_button.click()
    said = f"Could not paste entry {kept} again: it is no longer in the history."
    qtbot.waitUntil(lambda: tab.message.text() == said, timeout=15000)
    toast = holdtype.tray.toast
    assert toast is not None and toast.isVisible() and "no longer in the history" in toast.message.text()


def test_missing_microphone_shows_error_icon_and_keeps_running(
    qtbot, no_audio_device, config_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ui = HoldtypeApp(Settings(), config_path=config_path, enable_hotkeys=False, enable_audio=True)
    try:
        errors: list[str] = []
        ui.bridge.error.connect(lambda e: errors.append(e.message))
        start_and_wait_ready(qtbot, ui)
        assert ui.ready_event is not None and ui.ready_event.problems  # could not arm the mic
        qtbot.waitUntil(lambda: ui.tray.icon_name() == "error", timeout=10000)
        assert "Last error:" in ui.tray.icon.toolTip()
        action(ui, "dictate").trigger()  # trying anyway gives a clear message, not a crash
        qtbot.waitUntil(lambda: any("device" in m.lower() for m in errors), timeout=20000)
        assert ui.tray.state is State.IDLE
        assert not ui.overlay.isVisible()
    finally:
        ui.shutdown()


def test_the_log_level_setting_applies_from_the_start(qtbot, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    import logging

    from app import logs

    logs.request(None)  # as `holdtype` without -v
    settings = Settings.model_validate({"ui": {"log_level": "ERROR"}})
    ui = HoldtypeApp(settings, config_path=config_path, enable_hotkeys=False, enable_audio=False)
    try:
        assert logging.getLogger("app").getEffectiveLevel() == logging.ERROR
    finally:
        ui.shutdown()
        logging.getLogger("app").setLevel(logging.NOTSET)


def test_about_box_leaves_the_tray_menu_usable(qtbot, holdtype) -> None:  # type: ignore[no-untyped-def]
    """QMessageBox.about() was application-modal: while it was open the tray menu did not open
    at all (no Quit, no Pause) until the box was closed."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    seen: list[bool] = []  # whether a modal window blocked the rest of the app

    def look() -> None:  # runs inside the box's own event loop, if it has one
        modal = QApplication.activeModalWidget()
        seen.append(modal is not None)
        if modal is not None:
            modal.close()

    QTimer.singleShot(500, look)
    holdtype.tray.show_about()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == [False]
    about = holdtype.tray.about
    assert about is not None and about.isVisible() and "Holdtype" in about.text()
    holdtype.shutdown()  # Quit closes it
    assert not about.isVisible()


class _Balloons(QObject):
    """Counts the tray's notification balloons (Qt's QBalloonTip windows) as they are shown."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and watched.metaObject().className() == "QBalloonTip":
            labels = watched.findChildren(QLabel)
            self.texts.append(" ".join(label.text() for label in labels))
        return False


def test_missing_microphone_is_notified_once(  # type: ignore[no-untyped-def]
    qtbot, qapp, tray_host, no_audio_device, config_path: Path
) -> None:
    """The audio source's error was notified, then the same text again when the engine was ready."""
    settings = Settings.model_validate({"ui": {"welcomed": True}})
    ui = HoldtypeApp(settings, config_path=config_path, enable_hotkeys=False, enable_audio=True)
    balloons = _Balloons()
    qapp.installEventFilter(balloons)
    try:
        start_and_wait_ready(qtbot, ui)
        qtbot.waitUntil(lambda: ui.tray.icon_name() == "error", timeout=10000)
        qtbot.wait(1000)  # a second balloon would come right after the ready event
        device = [text for text in balloons.texts if "no input device" in text]
        assert len(device) == 1, balloons.texts
    finally:
        qapp.removeEventFilter(balloons)
        ui.shutdown()


def test_transcribe_again_puts_new_words_into_a_failed_entry(
    qtbot, config_path: Path, speak, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A dictation that failed keeps its recording; "Transcribe again" on the History tab reads
    it with the real model and the vocabulary as it is now, and the entry gets the words."""
    settings = Settings()
    settings.vocabulary.terms = ["scikit-learn"]
    holdtype = HoldtypeApp(settings, config_path=config_path, enable_hotkeys=False, enable_audio=False)
    try:
        _transcribe_again(qtbot, holdtype, speak, tmp_path)
    finally:
        holdtype.shutdown()


def _transcribe_again(qtbot, holdtype: HoldtypeApp, speak, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from app.history.store import HistoryEntry

    start_and_wait_ready(qtbot, holdtype)
    wav = speak("We use scikit learn for machine learning every day.", speed=150)
    history = holdtype.engine.history
    failed = history.add(
        HistoryEntry(
            Outcome.FAILED, error="transcription failed: the model is not loaded", audio_path=str(wav)
        )
    )
    nothing = history.add(HistoryEntry(Outcome.PASTED, text="no recording kept"))
    window = holdtype.open_settings("history")
    tab = window.pages["history"]
    qtbot.waitUntil(lambda: tab.table.rowCount() == 2, timeout=5000)
    tab.table.selectRow(0)  # newest first: the entry with no recording
    assert tab.selected().id == nothing and not tab.again_button.isEnabled()
    tab.table.selectRow(1)
    assert tab.selected().id == failed and tab.again_button.isEnabled()
    tab.again_button.click()
    assert not tab.again_button.isEnabled()  # one at a time
    qtbot.waitUntil(lambda: "Transcribed entry" in tab.message.text(), timeout=60000)
    entry = history.get(failed)
    assert entry.outcome == Outcome.RECOVERED and entry.error is None, entry
    assert "scikit-learn" in entry.text and entry.model == "tiny.en"
    qtbot.waitUntil(lambda: any("scikit-learn" in (e.text or "") for e in tab._entries), timeout=5000)
    assert tab.message.text() == f"Transcribed entry {failed} again."

    # A pasted entry keeps what went in: the new reading is an entry of its own, shown first
    pasted = history.add(HistoryEntry(Outcome.PASTED, text="We use psychic learn.", audio_path=str(wav)))
    tab.refresh()
    tab.table.selectRow(0)
    assert tab.selected().id == pasted
    tab.again_button.click()
    qtbot.waitUntil(lambda: "as entry" in tab.message.text(), timeout=60000)
    assert history.get(pasted).text == "We use psychic learn."
    qtbot.waitUntil(lambda: tab.table.rowCount() == 4, timeout=5000)
    assert tab._entries[0].outcome == Outcome.RECOVERED and "scikit-learn" in tab._entries[0].text

    # The recording went away after the row was shown: the reason is said on the tab
    soon_gone = tmp_path / "soon-gone.wav"
    shutil.copy(wav, soon_gone)
    gone = history.add(HistoryEntry(Outcome.FAILED, audio_path=str(soon_gone)))
    tab.refresh()
    tab.table.selectRow(0)
    assert tab.selected().id == gone and tab.again_button.isEnabled()
    soon_gone.unlink()
    tab.again_button.click()
    qtbot.waitUntil(lambda: "is gone" in tab.message.text(), timeout=30000)
    assert tab.message.text().startswith(f"Could not transcribe entry {gone} again")
    assert history.get(gone).outcome == Outcome.FAILED


def test_quit_saves_a_mode_being_written(qtbot, holdtype) -> None:  # type: ignore[no-untyped-def]
    """Quit dropped a mode's unsaved edits without a word; it saves them, as every other
    settings tab saves as you type."""
    from app.llm.modes import load_modes

    tab = holdtype.open_settings("modes").pages["modes"]
    tab.select("email")
    qtbot.keyClicks(tab.template, " Sign it Ana.")
    holdtype.shutdown()  # what the tray's Quit does before the event loop ends
    assert "Sign it Ana." in load_modes()["email"].template


def test_quit_keeps_a_mode_that_cannot_be_saved_for_next_time(  # type: ignore[no-untyped-def]
    qtbot, holdtype, config_path: Path
) -> None:
    """A mode being written that cannot be saved yet (no {text} in its template) is kept, and
    the Modes tab shows it again, unsaved, the next time it opens: nothing is asked while
    quitting (a logout quits too), and nothing typed is lost."""
    from app.llm.modes import load_modes
    from app.ui.settings.modes import kept_draft_path
    from tests.ui.test_settings_tabs import open_window

    tab = holdtype.open_settings("modes").pages["modes"]
    tab.new_mode()
    tab.name.setText("memo")
    tab.template.setPlainText("Memo, no placeholder yet")
    holdtype.shutdown()
    assert "memo" not in load_modes() and kept_draft_path().is_file()

    tab = open_window(qtbot, config_path).pages["modes"]
    assert tab.name.text() == "memo" and tab.template.toPlainText() == "Memo, no placeholder yet"
    assert tab.selected_name() is None and "Kept from when Holdtype quit" in tab.origin.text()
    assert "must contain {text}" in tab.origin.text() and not kept_draft_path().exists()
    tab.template.setPlainText("Memo: {text}")
    assert tab.save_current() is not None and "memo" in load_modes()


def test_a_tray_change_that_cannot_be_saved_is_not_made_and_is_said(  # type: ignore[no-untyped-def]
    qtbot, tmp_path: Path
) -> None:
    """A file stands where the settings folder goes (a real obstacle, also for the root user a
    read-only folder does not stop): "Pause hotkey" paused the engine while the menu and icon
    said it was not, the next settings change resumed it unasked, a mode picked stayed checked
    with the old one in use, and with the settings window closed nothing was said."""
    from app.events import Notice

    blocker = tmp_path / "settings-folder"
    blocker.write_text("a file where the settings folder goes\n")
    settings = Settings.model_validate({"ui": {"welcomed": True}})
    ui = HoldtypeApp(settings, config_path=blocker / "config.toml", enable_hotkeys=False, enable_audio=False)
    paused: list[bool] = []  # the engine's pause at each settings change it made

    def applied(event: object) -> None:  # (on the engine thread, as the change is made)
        if isinstance(event, Notice) and event.source == "settings":
            paused.append(ui.engine.settings.hotkey.paused)

    ui.engine.subscribe(applied)
    try:
        start_and_wait_ready(qtbot, ui)
        action(ui, "pause").trigger()
        # said without the settings window (no tray host here: in Holdtype's own box)
        qtbot.waitUntil(lambda: ui.tray.toast is not None and ui.tray.toast.isVisible(), timeout=5000)
        assert ui.tray.toast is not None and "Could not save settings" in ui.tray.toast.message.text()
        assert not action(ui, "pause").isChecked() and ui.tray.icon_name() == "idle"
        ui.engine.set_paused(False)  # a command after any pause the menu sent: its change comes last
        qtbot.waitUntil(lambda: bool(paused), timeout=10000)
        assert paused == [False], "the engine was paused by a change that was not saved"

        ui.tray.toast.hide()
        ui.tray.mode_menu.aboutToShow.emit()
        modes = {a.text(): a for a in ui.tray.mode_menu.actions() if a.isCheckable()}
        other = next(name for name in modes if name != "raw")
        modes[other].trigger()
        qtbot.waitUntil(ui.tray.toast.isVisible, timeout=5000)
        checked = [a.text() for a in ui.tray.mode_menu.actions() if a.isChecked()]
        assert checked == ["raw"] and ui.engine.settings.modes.active == "raw"
        assert "Mode: raw" in ui.tray.icon.toolTip()
    finally:
        ui.shutdown()


def test_a_model_setting_the_engine_refuses_is_said_and_its_error_goes_once_a_model_loads(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """GPU (CUDA) chosen on a machine without CUDA (this one): the window said "Saved — changes
    are in effect." beside the engine's error; back on Automatic, the model loaded and the tray
    kept its error icon and the old "Last error". While a model loaded the tray said "idle"."""
    from app.ui.settings.window import SAVED

    settings = write_settings(Settings.model_validate({"ui": {"welcomed": True}}))
    ui = HoldtypeApp(settings, config_path=config_path, enable_hotkeys=False, enable_audio=False)
    try:
        start_and_wait_ready(qtbot, ui)
        window = ui.open_settings("model")
        tab = window.pages["model"]
        loading: list[tuple[str, str]] = []  # the tray's icon and status as a model loads
        ui.bridge.loading.connect(
            lambda _e: loading.append((ui.tray.icon_name(), ui.tray.icon.toolTip().splitlines()[0]))
        )
        readies: list[object] = []
        ui.bridge.ready.connect(readies.append)

        tab.device.setCurrentIndex(tab.device.findData("cuda"))
        qtbot.waitUntil(lambda: "not in effect" in window.status.text(), timeout=30000)
        assert "CUDA" in window.status.text() and SAVED not in window.status.text()
        assert loading == [("busy", "Holdtype — loading tiny.en…")]
        assert ui.tray.icon_name() == "error" and "Last error:" in ui.tray.icon.toolTip()
        assert "loading" not in ui.tray.icon.toolTip()  # the load is over: it failed

        tab.device.setCurrentIndex(tab.device.findData("auto"))
        qtbot.waitUntil(lambda: bool(readies), timeout=60000)
        assert len(loading) == 2 and window.status.text() == SAVED
        assert ui.tray.icon_name() == "idle" and "Last error" not in ui.tray.icon.toolTip()
    finally:
        ui.shutdown()


def test_a_save_refused_while_an_earlier_one_loads_its_model_stays_said(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """Compute type changed (the model loads again), then a language Whisper does not know
    typed before the load ended: once the model loaded, "Saved — changes are in effect." took
    the place of "Not saved", and the refused edit stayed unsaved unsaid."""
    settings = write_settings(Settings.model_validate({"ui": {"welcomed": True}}))
    ui = HoldtypeApp(settings, config_path=config_path, enable_hotkeys=False, enable_audio=False)
    try:
        start_and_wait_ready(qtbot, ui)
        window = ui.open_settings("model")
        tab = window.pages["model"]
        ends: list[object] = []  # the load's end and the engine's notice of the first save
        ui.bridge.ready.connect(ends.append)
        ui.bridge.notice.connect(lambda e: ends.append(e) if e.source == "settings" else None)
        tab.compute_type.setCurrentIndex(tab.compute_type.findData("float32"))
        assert window.commit()  # (the engine's events wait for this test to give way)
        line = tab.language.lineEdit()
        line.setText("Klingon")
        line.editingFinished.emit()
        assert not window.commit()
        assert window.status.text().startswith("Not saved (Model tab)")
        qtbot.waitUntil(lambda: len(ends) == 2, timeout=60000)
        assert load_settings(config_path).settings.model.compute_type == "float32"
        assert window.status.text().startswith("Not saved (Model tab)"), window.status.text()
        assert "Klingon" in window.status.text()
    finally:
        ui.shutdown()
