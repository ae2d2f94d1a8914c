"""Each settings tab shows what the settings file says and writes the user's changes back."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit, QMessageBox, QPushButton

from app.config import Rule, Settings, load_settings
from app.ui.settings.base import TabContext
from app.ui.settings.live import LiveSettings
from app.ui.settings.widgets import PROBLEM_COLOUR
from app.ui.settings.window import SettingsWindow


def answer_delete(qtbot, tab, yes: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Answer the history tab's "Delete …?" question (Delete, or Cancel)."""
    from PySide6.QtWidgets import QMessageBox

    qtbot.waitUntil(lambda: tab.confirm_delete is not None and tab.confirm_delete.isVisible(), timeout=5000)
    button = QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.Cancel
    tab.confirm_delete.button(button).click()


def open_window(qtbot, config_path: Path) -> SettingsWindow:  # type: ignore[no-untyped-def]
    """The settings window over the settings file (no engine: the file is the only output)."""
    live = LiveSettings(load_settings(config_path).settings, config_path)
    window = SettingsWindow(TabContext(live))
    qtbot.addWidget(window)
    return window


def open_history(qtbot, config_path: Path, write_settings, rows: int):  # type: ignore[no-untyped-def]
    """Open the settings (default settings) on the History tab; return the window and the tab
    once it shows ``rows`` entries."""
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    window.show()
    window.show_tab("history")
    tab = window.pages["history"]
    qtbot.waitUntil(lambda: tab.table.rowCount() == rows, timeout=5000)
    return window, tab


def open_modes(qtbot, config_path: Path, write_settings, shown: bool = False):  # type: ignore[no-untyped-def]
    """Open the settings (default settings) on the Modes tab, on screen when ``shown``; return
    the window and the tab."""
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    if shown:
        window.show()
        window.show_tab("modes")
    return window, window.pages["modes"]


def cell_editor(qtbot, table) -> QLineEdit:  # type: ignore[no-untyped-def]
    """The line edit of the cell being edited in table.

    An editor that was just closed is hidden and deleted later, so it can still be a child of
    the viewport: looking for "the" QLineEdit child could find it, gone by the next line.
    """
    found: list[QLineEdit] = []

    def open_one() -> bool:
        found[:] = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
        return len(found) == 1

    qtbot.waitUntil(open_one, timeout=5000)
    return found[0]


def saved(config_path: Path) -> Settings:
    return load_settings(config_path).settings


def commit(qtbot, window: SettingsWindow) -> None:  # type: ignore[no-untyped-def]
    """Wait for the window's own debounced commit (it fires 300 ms after the last edit)."""
    qtbot.waitUntil(lambda: not window._dirty, timeout=5000)
    assert "Saved" in window.status.text(), window.status.text()


def test_values_a_spin_box_shows_are_saved_as_they_were(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # Two decimals and a 0.5 s floor: changing another setting on the tab saved 0.125 s as
    # 0.13 and a 0.25 s LLM time limit as 0.5.
    s = Settings()
    s.hotkey.min_hold_s, s.audio.pre_roll_s, s.llm.timeout_s = 0.125, 0.125, 0.25
    write_settings(s)
    window = open_window(qtbot, config_path)
    window.pages["general"].sounds.setChecked(not s.audio.sounds)
    window.pages["audio"].keep_audio.setChecked(True)
    window.pages["llm"].retries.setValue(3)
    commit(qtbot, window)
    got = saved(config_path)
    assert (got.hotkey.min_hold_s, got.audio.pre_roll_s, got.llm.timeout_s) == (0.125, 0.125, 0.25)
    assert got.llm.retries == 3 and got.audio.keep_audio and got.audio.sounds is not s.audio.sounds
    # shown as written, not to three decimals ("0.300 s")
    assert window.pages["general"].min_hold.text() == "0.125 s"
    window.pages["audio"].pre_roll.setValue(0.3)
    assert window.pages["audio"].pre_roll.text() == "0.3 s"
    assert window.pages["llm"].timeout.text() == "0.25 s"


def test_values_the_settings_take_and_the_boxes_cannot_show_are_saved_as_they_were(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # From a review: set with `holdtype config set`, a retention of 100,000 days and a 0.0004 s
    # LLM time limit were saved as 36,500 and 0.001 as soon as another setting of their tab
    # changed (the boxes' limits and decimals, not the settings').
    s = Settings()
    s.history.retention_days, s.llm.timeout_s = 100_000, 0.0004
    s.hotkey.min_hold_s, s.audio.pre_roll_s = 0.0004, 0.1234
    write_settings(s)
    window = open_window(qtbot, config_path)
    history = window.pages["history"]
    assert history.retention.value() == 100_000  # shown as it is, too
    history.enabled.setChecked(False)
    window.pages["llm"].retries.setValue(3)
    window.pages["general"].sounds.setChecked(not s.audio.sounds)
    window.pages["audio"].keep_audio.setChecked(True)
    commit(qtbot, window)
    got = saved(config_path)
    assert not got.history.enabled and got.llm.retries == 3 and got.audio.keep_audio  # (the edits)
    assert (got.history.retention_days, got.llm.timeout_s) == (100_000, 0.0004)
    assert (got.hotkey.min_hold_s, got.audio.pre_roll_s) == (0.0004, 0.1234)
    window.pages["llm"].timeout.setValue(2.5)  # a value the user sets is taken as shown
    commit(qtbot, window)
    assert saved(config_path).llm.timeout_s == 2.5
    s.history.retention_days = 10**12  # more than a box of days holds
    write_settings(s)
    window = open_window(qtbot, config_path)
    window.pages["history"].enabled.setChecked(False)
    commit(qtbot, window)
    assert saved(config_path).history.retention_days == 10**12


def test_the_window_fits_a_short_screen_and_its_pages_scroll(qtbot, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The Modes page needed ~650 px, the window could not be made shorter, and on a laptop at
    150 % (720 px of screen) its lower buttons sat below the screen's edge.

    The room a page has is measured where the user sees it, in its scroll area's viewport, with
    the window at the size it opens at on the test display, whose one screen is 1280x800 (a
    common laptop; tests/fixtures/display.py), under openbox, with no panel: the window opens as
    tall as it can on such a laptop (the screen's height less the title bar and some air), the
    same height on every run. The screen's size is checked first: on another one the measure
    would mean nothing, and no resize could stand in for it faithfully (the title bar's height
    is the window manager's)."""
    window = open_window(qtbot, config_path)
    window.show_tab("modes")
    window.show()
    qtbot.waitExposed(window)
    modes = window.pages["modes"]
    screen = window.screen().availableGeometry().height()
    # Opens whole, at the page's preferred size (its wrapped lines measured once laid out): at
    # its least, the mode editors were cut short and the buttons below them out of sight.
    qtbot.waitUntil(lambda: window.height() >= min(modes.sizeHint().height(), screen - 100), timeout=5000)
    assert window.height() <= screen
    # There is room for the Vocabulary page at its preferred size (squeezed to its least, it
    # scrolled as soon as a message appeared under a table, and everything on it moved): what
    # is measured is the room its scroll area shows, not the window's height less the tab bar
    # and the status line (that guess missed the margins and the tab frame, 30 px, and let a
    # page that scrolled by 21 px pass).
    assert screen == 800, "the test display is a 1280x800 screen (tests/fixtures/display.py)"
    qtbot.waitUntil(lambda: window.height() == window._wanted_height(), timeout=5000)
    window.show_tab("vocabulary")
    vocabulary = window.pages["vocabulary"]
    holder = window._holders["vocabulary"]
    QApplication.processEvents()  # (its scroll bar set for the page laid out at this size)
    assert holder.viewport().height() >= vocabulary.sizeHint().height()
    assert holder.verticalScrollBar().maximum() == 0
    window.show_tab("modes")
    assert window.minimumSizeHint().height() <= 400
    window.resize(window.width(), 400)
    holder = window._holders["modes"]
    qtbot.waitUntil(lambda: holder.verticalScrollBar().maximum() > 0, timeout=5000)
    holder.ensureWidgetVisible(modes.test_button)  # what was below the edge is reached
    qtbot.waitUntil(lambda: modes.test_button.visibleRegion().isEmpty() is False, timeout=5000)
    assert window.current_page() is modes


def test_seconds_are_shown_and_read_in_the_users_locale(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QLocale

    from app.ui.settings.widgets import SecondsBox

    box = SecondsBox(0.0, 600.0)
    qtbot.addWidget(box)
    box.setLocale(QLocale(QLocale.Language.German))
    box.setValue(20.0)
    assert box.text() == "20 s"
    box.setValue(0.125)
    assert box.text() == "0,125 s"
    assert box.valueFromText("1,5") == 1.5


def test_a_decimal_comma_is_read_and_a_value_out_of_range_is_refused_aloud(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # "Ignore taps shorter than": "0,5" typed in an English locale was saved as 5 s (the comma
    # read as a thousands separator and dropped), and typing 9 (over the 5 s allowed) did
    # nothing at all, without a word.
    from PySide6.QtCore import QLocale

    s = Settings()
    s.hotkey.min_hold_s = 0.3
    write_settings(s)
    window = open_window(qtbot, config_path)
    window.show()
    tab = window.pages["general"]
    box = tab.min_hold
    for locale in (
        QLocale(QLocale.Language.English, QLocale.Country.UnitedStates),
        QLocale(QLocale.Language.German),
    ):
        box.setLocale(locale)
        for typed, seconds in (("0,5", 0.5), ("0.25", 0.25)):
            box.lineEdit().selectAll()
            qtbot.keyClicks(box.lineEdit(), typed)
            qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
            commit(qtbot, window)
            assert saved(config_path).hotkey.min_hold_s == seconds, (locale.name(), typed)
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "9")
    assert box.lineEdit().text().startswith("9")  # taken as typed...
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert box.value() == 0.25  # ...and refused, saying why
    assert box.problem.isVisible()
    assert box.problem.text() == "9 s is more than the 5 s allowed; it stays 0,25 s."
    commit(qtbot, window)  # (what the window's timer does: the value refused is not saved)
    assert saved(config_path).hotkey.min_hold_s == 0.25
    box.setValue(1.0)  # a value taken: the message has done its work
    assert box.problem.text() == ""


def test_all_tabs_load(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    assert list(window.pages) == [
        "general", "audio", "model", "vocabulary", "modes", "llm", "history", "advanced"
    ]  # fmt: skip


def test_general_tab(qtbot, config_path: Path, write_settings, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    s = Settings()
    s.hotkey.key = "ctrl+alt+page_down"
    s.hotkey.mode = "toggle"
    s.hotkey.min_hold_s = 0.4
    s.paste.strategy = "type"
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["general"]
    assert tab.hotkey.binding() == "ctrl+alt+page_down"
    assert tab.hotkey.text() == "Ctrl+Alt+Page Down"  # as the tray names it
    assert tab.toggle.isChecked()
    assert tab.min_hold.value() == pytest.approx(0.4)
    assert tab.strategy.currentData() == "type"
    assert not tab.restore_clipboard.isEnabled()  # typing leaves the clipboard alone

    tab.hold.setChecked(True)
    tab.min_hold.setValue(0.6)
    tab.strategy.setCurrentIndex(tab.strategy.findData("paste"))
    assert tab.restore_clipboard.isEnabled()
    tab.restore_clipboard.setChecked(False)
    tab.start_at_login.setChecked(True)
    commit(qtbot, window)
    got = saved(config_path)
    assert got.hotkey.mode == "hold"
    assert got.hotkey.min_hold_s == pytest.approx(0.6)
    assert got.paste.strategy == "paste"
    assert got.paste.restore_clipboard is False
    assert got.ui.start_at_login is True
    entry = tmp_path / "xdg" / "autostart" / "holdtype.desktop"
    assert "Exec=" in entry.read_text()
    assert "HOLDTYPE_HOME=" in entry.read_text()

    tab.start_at_login.setChecked(False)
    commit(qtbot, window)
    assert not entry.exists()


def test_start_at_login_shows_the_entry_there_now_and_a_save_keeps_it(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, own_autostart_folder: Path
) -> None:
    """The box showed the saved setting. An entry someone else wrote (the Windows installer
    writes the same one) showed unchecked, and saving any other setting removed it; an entry
    turned off in the desktop's startup settings showed checked, and a save turned it back on."""
    from app.autostart import set_start_at_login

    s = Settings()
    write_settings(s)  # start_at_login = false in the file
    entry = set_start_at_login(True)  # written by "the installer", not by this window
    assert isinstance(entry, Path) and entry.parent == own_autostart_folder / "autostart"
    window = open_window(qtbot, config_path)
    tab = window.pages["general"]
    assert tab.start_at_login.isChecked()
    tab.sounds.setChecked(not s.audio.sounds)  # another setting of the same tab
    commit(qtbot, window)
    assert entry.is_file() and saved(config_path).ui.start_at_login is True

    # Turned off the way GNOME's startup settings do it, while the file says true
    entry.write_text(entry.read_text().replace("Autostart-enabled=true", "Autostart-enabled=false"))
    window.close()
    window = open_window(qtbot, config_path)
    tab = window.pages["general"]
    assert not tab.start_at_login.isChecked()
    tab.sounds.setChecked(s.audio.sounds)
    commit(qtbot, window)
    assert not entry.exists() and saved(config_path).ui.start_at_login is False


def test_general_tab_note_follows_the_hotkey_mode(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    """The note said "hold-to-talk key" with toggle mode chosen."""
    s = Settings()
    s.hotkey.mode = "toggle"
    write_settings(s)
    from PySide6.QtWidgets import QLabel

    tab = open_window(qtbot, config_path).pages["general"]

    def shown() -> str:
        return " ".join(label.text() for label in tab.findChildren(QLabel) if "Caps Lock" in label.text())

    assert "hold-to-talk" not in shown()
    assert "starts and stops" in shown()
    tab.hold.setChecked(True)
    assert "hold-to-talk" in shown()
    tab.toggle.setChecked(True)
    assert "hold-to-talk" not in shown()


def test_start_at_login_entry_is_valid_with_a_space_in_a_path(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, tmp_path: Path, monkeypatch
) -> None:
    """The autostart entry quoted its paths the shell's way ('...'), which the Desktop Entry
    spec does not allow: desktop-file-validate rejected it as soon as a path had a space."""
    import shlex

    from tests.fixtures.parts import require_tools

    require_tools("desktop-file-validate", fix="sudo apt-get install desktop-file-utils")
    home = tmp_path / "my home" / "holdtype"
    monkeypatch.setenv("HOLDTYPE_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    window.pages["general"].start_at_login.setChecked(True)
    commit(qtbot, window)
    entry = tmp_path / "xdg" / "autostart" / "holdtype.desktop"
    check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    exec_value = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    assert shlex.split(exec_value[len("Exec=") :])[:2] == ["env", f"HOLDTYPE_HOME={home}"]


def test_start_at_login_that_cannot_be_written_is_said_in_the_window(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, tmp_path: Path, monkeypatch
) -> None:
    """An autostart entry that could not be written was only logged: the window said "Saved —
    changes are in effect" with no entry. A file stands where its folder goes (a real obstacle
    even for root, which ignores permissions)."""
    config = tmp_path / "xdg"
    config.mkdir()
    (config / "autostart").write_text("not a folder")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    window.pages["general"].start_at_login.setChecked(True)
    qtbot.waitUntil(lambda: not window._dirty, timeout=5000)
    status = window.status.text()
    assert status.startswith("Saved, but: Could not add the start-at-login entry"), status
    assert str(config / "autostart") in status and "#c62828" in window.status.styleSheet()
    assert saved(config_path).ui.start_at_login is True  # the setting itself is saved

    (config / "autostart").unlink()  # fixed: turning it off and on again writes it
    window.pages["general"].start_at_login.setChecked(False)
    commit(qtbot, window)
    window.pages["general"].start_at_login.setChecked(True)
    commit(qtbot, window)
    assert window.status.text() == "Saved — changes are in effect."
    assert (config / "autostart" / "holdtype.desktop").is_file()


def test_general_rejects_bad_hotkeys(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    s = Settings()
    s.hotkey.mode_keys = {"f8": "raw"}
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["general"]
    tab.hotkey.captured.emit("a")
    assert "stop you typing" in tab.hotkey_problem.text()
    tab.hotkey.captured.emit("esc")
    assert "cancel key" in tab.hotkey_problem.text()
    tab.hotkey.captured.emit("f8")
    assert "'raw' mode" in tab.hotkey_problem.text()
    assert tab.hotkey.binding() == "caps_lock"
    assert tab.hotkey_note.text().startswith("Caps Lock works well")
    tab.hotkey.captured.emit("ctrl+alt+space")
    assert tab.hotkey_problem.text() == ""
    # The note spoke of Caps Lock whatever the key was (from a review).
    assert tab.hotkey_note.text().startswith("Hold Ctrl+Alt+Space while you speak")
    commit(qtbot, window)
    assert saved(config_path).hotkey.key == "ctrl+alt+space"
    tab.toggle.setChecked(True)
    assert tab.hotkey_note.text().startswith("Press Ctrl+Alt+Space to start dictating")


def test_audio_tab(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    s = Settings()
    s.audio.pre_roll_s = 0.5
    s.audio.device = "Unplugged USB Mic"
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["audio"]
    assert tab.pre_roll.value() == pytest.approx(0.5)
    assert tab.device.currentData() == "Unplugged USB Mic"  # kept while it is not plugged in
    tab.pre_roll.setValue(1.0)
    tab.keep_audio.setChecked(True)
    tab.device.setCurrentIndex(0)  # system default
    commit(qtbot, window)
    got = saved(config_path)
    assert got.audio.pre_roll_s == pytest.approx(1.0)
    assert got.audio.keep_audio is True
    assert got.audio.device is None


def test_model_tab(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    s = Settings()
    s.model.beam_size = 3
    s.model.language = "de"
    s.model.device = "cpu"
    s.model.short_context = False
    s.model.speech_gate = False
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["model"]
    assert tab.beam_size.value() == 3
    assert tab.language.currentData() == "de"
    # tiny.en (in use) writes German as English: said where the language is chosen
    assert tab.language_note.text().startswith("tiny.en understands English only")
    assert tab.device.currentData() == "cpu"
    assert not tab.short_context.isChecked()
    assert not tab.speech_gate.isChecked()
    names = [tab.table.item(r, 0).text() for r in range(tab.table.rowCount())]
    assert names[0] == "tiny.en" and "large-v3" in names
    assert "in use" in tab.table.item(0, 5).text()
    tab.beam_size.setValue(2)
    tab.short_context.setChecked(True)
    tab.speech_gate.setChecked(True)
    tab.language.setCurrentIndex(tab.language.findData(""))
    assert tab.language_note.text() == ""  # detected: English is one answer
    tab.compute_type.setCurrentIndex(tab.compute_type.findData("int8"))
    commit(qtbot, window)
    got = saved(config_path)
    assert got.model.beam_size == 2
    assert got.model.short_context is True
    assert got.model.speech_gate is True
    assert got.model.language is None  # "detect automatically", stored as language = ""
    assert got.model.compute_type == "int8"
    # A language typed in counts when the field is left (no Enter needed); one Whisper does not
    # know is not saved (it was, with "Saved" shown), and the text stays for fixing.
    line = tab.language.lineEdit()
    line.setText("German")
    line.editingFinished.emit()
    commit(qtbot, window)
    assert saved(config_path).model.language == "de"
    assert "English only" in tab.language_note.text()  # a typed language is checked too
    line.setText("Klingon")
    line.editingFinished.emit()
    qtbot.waitUntil(lambda: "Not saved" in window.status.text(), timeout=5000)
    assert "knows no language 'Klingon'" in window.status.text()
    assert saved(config_path).model.language == "de" and line.text() == "Klingon"
    # Picking from the list after typing: the list's current item did not change, so the pick
    # showed English and saved nothing (the note and "Not saved" stayed). A real click.
    english = tab.language.findData("en")
    line.setText("fr")
    line.editingFinished.emit()
    commit(qtbot, window)
    assert saved(config_path).model.language == "fr"
    tab.language.setCurrentIndex(english)  # the list's item is English, the field says "fr"
    line.setText("fr")
    line.editingFinished.emit()
    commit(qtbot, window)
    assert saved(config_path).model.language == "fr" and tab.language.currentIndex() == english
    window.show()
    tab.language.showPopup()
    view = tab.language.view()
    qtbot.waitUntil(view.isVisible, timeout=5000)
    index = view.model().index(english, 0)
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())
    commit(qtbot, window)
    assert saved(config_path).model.language == "en" and not tab.language_note.text()


def test_a_field_tabbed_through_says_nothing_of_a_save(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # From a review: tabbing through Spoken language said "Saved — changes are in effect.",
    # and nothing was written.
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    shown_on(qtbot, window, "model")
    tab = window.pages["model"]
    line = tab.language.lineEdit()
    line.setFocus()
    qtbot.waitUntil(line.hasFocus, timeout=5000)
    written = config_path.read_bytes()
    with qtbot.waitSignal(tab.edited, timeout=5000):  # a field left counts as an edit...
        qtbot.keyClick(line, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: not window._dirty and not window._timer.isActive(), timeout=5000)
    assert window.status.text() == ""  # ...that changed nothing
    assert config_path.read_bytes() == written
    tab.language.setCurrentIndex(tab.language.findData("fr"))  # a real change is said
    commit(qtbot, window)
    assert saved(config_path).model.language == "fr"


def test_model_tab_uses_a_model_folder(qtbot, config_path: Path, write_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A CTranslate2 folder of the user's (here: a real copy of the embedded model) can be used;
    a folder without a model is refused with the reason, and nothing changes."""
    import shutil

    from app.transcribe.models import embedded_model_path

    folder = tmp_path / "my-whisper"
    shutil.copytree(embedded_model_path(), folder)
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    tab = window.pages["model"]
    rows = tab.table.rowCount()
    assert not tab.use_folder(str(tmp_path))
    assert "not a CTranslate2 model folder" in tab.message.text()
    assert tab.table.rowCount() == rows
    assert tab.use_folder(str(folder))
    commit(qtbot, window)
    assert saved(config_path).model.name == str(folder.resolve())
    tab.refresh()
    assert tab.table.rowCount() == rows + 1
    assert tab.table.item(rows, 0).text() == "my-whisper"
    assert tab.table.item(rows, 5).text().startswith("in use")
    assert "in use" not in tab.table.item(0, 5).text()  # tiny.en is only "built in" now
    tab.select(str(folder.resolve()))
    assert tab.selected_name() == str(folder.resolve())
    # Holdtype never downloads or deletes a folder of the user's.
    assert not tab.download_button.isEnabled() and not tab.remove_button.isEnabled()
    tab.select("tiny.en")
    tab.use_selected()
    commit(qtbot, window)
    assert saved(config_path).model.name == "tiny.en"
    assert folder.is_dir()


def test_vocabulary_tab(qtbot, config_path: Path, write_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s = Settings()
    s.vocabulary.terms = ["PyPI"]
    s.rules = [Rule(find="new line", replace="\n")]
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    assert tab.term_list() == ["PyPI"]
    assert tab.rule_list()[0].find == "new line"

    tab.new_term.setText("scikit-learn")
    qtbot.keyClick(tab.new_term, Qt.Key.Key_Return)
    tab.add_rule(Rule(find="teh", replace="the"))
    remove = tab.findChild(QPushButton, "remove-term")
    assert not remove.isEnabled()  # nothing selected: it did nothing when clicked
    tab.terms.selectRow(0)
    assert remove.isEnabled()
    tab.terms.clearSelection()
    assert not remove.isEnabled()
    commit(qtbot, window)
    got = saved(config_path)
    assert got.vocabulary.terms == ["PyPI", "scikit-learn"]
    assert [(r.find, r.replace) for r in got.rules] == [("new line", "\n"), ("teh", "the")]

    # export, then import into an empty vocabulary: TOML and CSV both round-trip
    for suffix in (".toml", ".csv"):
        exported = tmp_path / f"vocab{suffix}"
        tab.export_file(exported)
        tab.terms.setRowCount(0)
        tab.rules.setRowCount(0)
        tab.import_file(exported)
        assert tab.term_list() == ["PyPI", "scikit-learn"]
        assert [(r.find, r.replace) for r in tab.rule_list()] == [("new line", "\n"), ("teh", "the")]

    # a plain list, one term per line (as `holdtype vocab list` prints), imports its terms
    listed = tmp_path / "glossary.txt"
    listed.write_text("# tools\nPolars\n\nscikit-learn\n", encoding="utf-8")
    tab.import_file(listed)
    assert tab.term_list() == ["PyPI", "scikit-learn", "Polars"]
    tab.terms.removeRow(2)
    assert tab.term_list() == ["PyPI", "scikit-learn"]

    # a term already listed is selected, not added twice; one that differs in case is a new term
    tab.add_term("scikit-learn")
    assert tab.term_list() == ["PyPI", "scikit-learn"]
    assert [i.row() for i in tab.terms.selectionModel().selectedRows()] == [1]
    tab.add_term("pypi")
    assert tab.term_list() == ["PyPI", "scikit-learn", "pypi"]


def test_each_way_of_hinting_the_terms_says_what_it_does(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # "Hint terms as hotwords" was a choice with no word on what hotwords are.
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    bias = window.pages["vocabulary"].bias
    tips = {bias.itemData(i): bias.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(bias.count())}
    assert set(tips) == {"prompt", "hotwords", "both", "none"}
    assert all(tip for tip in tips.values()), tips
    assert "faster-whisper's hotwords" in tips["hotwords"] and "default" in tips["prompt"]


def test_a_rule_that_cannot_run_is_shown_and_not_saved(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # Ticking Regex on "([unclosed" showed the error, yet the rule was saved (and then skipped
    # at every dictation): the tab saved whatever its table held.
    write_settings(Settings(rules=[Rule(find="teh", replace="the")]))
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    tab.add_rule(Rule(find="([unclosed", replace="x"))  # fine as plain text...
    commit(qtbot, window)
    tab.rules.item(1, 2).setCheckState(Qt.CheckState.Checked)  # ...not as a regex
    assert "invalid regular expression" in tab.rule_problem.text()
    tab.new_term.setText("scikit-learn")  # another edit: the tab cannot be saved as it is...
    qtbot.keyClick(tab.new_term, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Not saved" in window.status.text(), timeout=5000)
    assert "invalid regular expression" in window.status.text()
    assert [(r.find, r.regex) for r in saved(config_path).rules] == [("teh", False), ("([unclosed", False)]
    assert tab.term_list() == ["scikit-learn"] and tab.rules.rowCount() == 2  # ...and loses nothing
    tab.rules.item(1, 0).setText(r"\(\[unclosed")  # fixed
    commit(qtbot, window)
    got = saved(config_path)
    assert got.vocabulary.terms == ["scikit-learn"]
    assert [(r.find, r.regex) for r in got.rules] == [("teh", False), (r"\(\[unclosed", True)]


def test_a_rule_replacement_being_typed_survives_the_save_of_its_find(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # Find typed, Tab, Replace being typed: 300 ms after the Find edit the window saved and
    # refilled the tab it had just saved, which closed the open Replace cell: the file got
    # "recieve -> the" and what was typed in Replace was lost.
    write_settings(Settings(rules=[Rule(find="teh", replace="the")]))
    window = open_window(qtbot, config_path)
    window.bring_forward("vocabulary")
    qtbot.waitExposed(window)
    tab = window.pages["vocabulary"]
    tab.rules.item(0, 0).setText("recieve")  # the Find cell typed; Tab moves to Replace
    tab.rules.setCurrentCell(0, 1)
    tab.rules.editItem(tab.rules.item(0, 1))
    editor = cell_editor(qtbot, tab.rules)
    editor.selectAll()
    qtbot.keyClicks(editor, "rece")
    commit(qtbot, window)  # the Find edit is saved while Replace is being typed
    assert tab.rules.state() == QAbstractItemView.State.EditingState
    # a term added meanwhile (`holdtype vocab add`) waits until the focus leaves the tab
    qtbot.waitUntil(editor.hasFocus, timeout=5000)
    s = saved(config_path)
    s.vocabulary.terms = ["PyPI"]
    window.ctx.live.commit(s)
    assert tab.rules.state() == QAbstractItemView.State.EditingState
    qtbot.keyClicks(editor, "ive")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "vocabulary" in window._dirty, timeout=5000)
    commit(qtbot, window)
    got = saved(config_path)
    assert [(r.find, r.replace) for r in got.rules] == [("recieve", "receive")]
    assert got.vocabulary.terms == ["PyPI"]
    window.tabs.tabBar().setFocus()
    qtbot.waitUntil(lambda: tab.term_list() == ["PyPI"], timeout=5000)


def _add_rule_with_the_button(qtbot, config_path: Path, write_settings):  # type: ignore[no-untyped-def]
    """The settings window on the Vocabulary tab, its "Add rule" button clicked: (window, tab)."""
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    window.bring_forward("vocabulary")
    qtbot.waitExposed(window)
    tab = window.pages["vocabulary"]
    button = next(b for b in tab.findChildren(QPushButton) if b.text() == "Add rule")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    return window, tab


def test_add_rule_saves_nothing_until_find_is_typed(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # "Add rule" added and saved the placeholder rule "find me" -> "" at once: dictating
    # "can you find me a flight" came out "can you a flight".
    window, tab = _add_rule_with_the_button(qtbot, config_path, write_settings)
    assert tab.rules.rowCount() == 1 and tab.rules.item(0, 0).text() == ""
    assert not window._dirty  # nothing to save yet
    assert tab.rules.state() == QAbstractItemView.State.EditingState  # Find is being typed
    editor = cell_editor(qtbot, tab.rules)
    qtbot.keyClicks(editor, "teh")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    tab.rules.item(0, 1).setText("the")
    commit(qtbot, window)
    assert [(r.find, r.replace) for r in saved(config_path).rules] == [("teh", "the")]


def test_a_new_rule_is_not_in_use_until_its_replacement_is_entered(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # Add rule, Find typed, Enter: 300 ms later "teh" -> "" was saved, which deleted "teh" from
    # every dictation until Replace was filled in.
    window, tab = _add_rule_with_the_button(qtbot, config_path, write_settings)
    editor = cell_editor(qtbot, tab.rules)
    qtbot.keyClicks(editor, "teh")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # (said once the editor has closed)
    qtbot.waitUntil(lambda: "Not in use yet: “teh”" in tab.rule_problem.text(), timeout=5000)
    # no edit reported, so no save to come (an edit marks the tab at once, and starts the timer)
    assert not window._dirty and not window._timer.isActive()
    assert saved(config_path).rules == []
    assert "Saved" not in window.status.text()
    tab.try_input.setText("teh cat")
    assert tab.try_output.text() == "teh cat"  # not applied either
    # Left empty on purpose (a rule that deletes the word): the empty cell opened and left with Enter
    tab.rules.setCurrentCell(0, 1)
    tab.rules.editItem(tab.rules.item(0, 1))
    editor = cell_editor(qtbot, tab.rules)
    qtbot.waitUntil(editor.hasFocus, timeout=5000)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "vocabulary" in window._dirty, timeout=5000)  # (the editor closes later)
    commit(qtbot, window)
    assert [(r.find, r.replace) for r in saved(config_path).rules] == [("teh", "")]
    assert tab.rule_problem.text() == ""


def test_a_new_rule_left_by_a_click_away_from_its_empty_replacement_is_not_in_use(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # Find typed, Tab (the Replace cell opens), a click elsewhere: the empty replacement was
    # taken as entered, and the rule deleted "teh" from every dictation.
    window, tab = _add_rule_with_the_button(qtbot, config_path, write_settings)
    window.activateWindow()  # (focus moves only in the active window)
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    editor = cell_editor(qtbot, tab.rules)
    qtbot.keyClicks(editor, "teh")
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: tab.rules.currentColumn() == 1, timeout=5000)
    qtbot.mouseClick(tab.new_term, Qt.MouseButton.LeftButton)  # the user goes on elsewhere
    qtbot.waitUntil(lambda: tab.rules.state() != QAbstractItemView.State.EditingState, timeout=5000)
    qtbot.waitUntil(lambda: "Not in use yet: “teh”" in tab.rule_problem.text(), timeout=5000)
    assert not window._dirty and saved(config_path).rules == []


def test_a_rule_edit_that_cannot_run_is_kept_when_another_tab_saves(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # Ticking Regex on "([unclosed" was not marked as an edit: the next save (of another tab)
    # refilled the table, which undid the tick, and the window said "Saved".
    write_settings(Settings(rules=[Rule(find="([unclosed", replace="x")]))
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    tab.rules.item(0, 2).setCheckState(Qt.CheckState.Checked)
    assert "invalid regular expression" in tab.rule_problem.text()
    general = window.pages["general"]
    general.sounds.setChecked(not general.sounds.isChecked())
    qtbot.waitUntil(lambda: "Not saved" in window.status.text(), timeout=5000)
    assert "invalid regular expression" in window.status.text()
    assert tab.rules.item(0, 2).checkState() == Qt.CheckState.Checked  # the edit is kept
    assert "invalid regular expression" in tab.rule_problem.text()
    tab.rules.item(0, 2).setCheckState(Qt.CheckState.Unchecked)  # undone by the user
    qtbot.waitUntil(lambda: not window._dirty, timeout=5000)
    assert window.status.text() == ""  # nothing left to save: "Not saved" goes, no "Saved" comes
    assert [(r.find, r.regex) for r in saved(config_path).rules] == [("([unclosed", False)]
    assert saved(config_path).audio.sounds == general.sounds.isChecked()  # the other edit too


def test_an_edit_that_cannot_be_saved_keeps_no_other_tab_from_saving(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # One bad rule stopped every tab from saving: "Play a short sound" unticked on General was
    # shown, never saved, and closing the window (or Quit) dropped it without a word.
    s = Settings(rules=[Rule(find="foo(bar", replace="x")])
    s.audio.sounds = True
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    tab.rules.item(0, 2).setCheckState(Qt.CheckState.Checked)  # Regex: "foo(bar" cannot run
    window.pages["general"].sounds.setChecked(False)
    qtbot.waitUntil(lambda: "Not saved" in window.status.text(), timeout=5000)
    assert "Vocabulary & Rules" in window.status.text(), window.status.text()
    assert "invalid regular expression" in window.status.text()
    assert saved(config_path).audio.sounds is False  # General is saved
    assert window._dirty == {"vocabulary"}  # the bad edit stays pending, not lost
    assert [(r.find, r.regex) for r in saved(config_path).rules] == [("foo(bar", False)]
    window.close()
    assert saved(config_path).audio.sounds is False


def test_closing_with_an_edit_that_cannot_be_saved_asks_first(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # A term added beside a rule that cannot run was shown, never saved (the rule keeps its tab
    # from saving), and closing the window (Ctrl+W, Esc) dropped it without a word.
    write_settings(Settings(rules=[Rule(find="foo(bar", replace="x")]))
    window = open_window(qtbot, config_path)
    window.show()
    tab = window.pages["vocabulary"]
    tab.rules.item(0, 2).setCheckState(Qt.CheckState.Checked)  # Regex: "foo(bar" cannot run
    qtbot.waitUntil(lambda: "Not saved" in window.status.text(), timeout=5000)
    window.close()
    qtbot.waitUntil(
        lambda: window.confirm_close is not None and window.confirm_close.isVisible(), timeout=5000
    )
    assert window.isVisible() and "invalid regular expression" in window.confirm_close.text()
    window.confirm_close.button(QMessageBox.StandardButton.Cancel).click()  # Keep editing
    qtbot.waitUntil(lambda: window.confirm_close is None, timeout=5000)
    assert window.isVisible() and tab.rules.item(0, 2).checkState() == Qt.CheckState.Checked
    window.close()
    qtbot.waitUntil(
        lambda: window.confirm_close is not None and window.confirm_close.isVisible(), timeout=5000
    )
    window.confirm_close.button(QMessageBox.StandardButton.Discard).click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert not window._dirty and tab.rules.item(0, 2).checkState() == Qt.CheckState.Unchecked  # as saved
    assert [(r.find, r.regex) for r in saved(config_path).rules] == [("foo(bar", False)]


def test_a_term_is_saved_beside_a_rule_that_cannot_run(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # From a review: a term added while a rule could not run was shown, never saved; the tray's
    # Quit then lost it with a line in the log.
    write_settings(Settings(rules=[Rule(find="foo(bar", replace="x")]))
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    tab.rules.item(0, 2).setCheckState(Qt.CheckState.Checked)  # Regex: "foo(bar" cannot run
    tab.add_term("Talos")
    qtbot.waitUntil(lambda: "Not saved" in window.status.text(), timeout=5000)
    assert "the rest of the tab is saved" in window.status.text(), window.status.text()
    assert saved(config_path).vocabulary.terms == ["Talos"]
    assert [(r.find, r.regex) for r in saved(config_path).rules] == [("foo(bar", False)]  # not yet
    assert window._dirty == {"vocabulary"}  # the rule's edit stays pending
    tab.rules.item(0, 0).setText("foo\\(bar")  # fixed: now all of it is saved
    qtbot.waitUntil(lambda: [r.regex for r in saved(config_path).rules] == [True], timeout=5000)
    assert saved(config_path).vocabulary.terms == ["Talos"] and not window._dirty


def test_quit_with_an_edit_that_cannot_be_saved_asks_first(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # The tray's Quit dropped such an edit with only a log line; closing the window asked.
    write_settings(Settings(rules=[Rule(find="foo(bar", replace="x")]))
    window = open_window(qtbot, config_path)
    window.show()
    quits: list[int] = []
    window.quit_when_saved(lambda: quits.append(1))  # nothing pending: quits at once
    assert quits == [1]
    window.pages["vocabulary"].rules.item(0, 2).setCheckState(Qt.CheckState.Checked)
    window.quit_when_saved(lambda: quits.append(2))
    qtbot.waitUntil(lambda: window.confirm_quit is not None and window.confirm_quit.isVisible(), timeout=5000)
    assert "invalid regular expression" in window.confirm_quit.text() and quits == [1]
    window.confirm_quit.button(QMessageBox.StandardButton.Cancel).click()  # Keep editing
    qtbot.waitUntil(lambda: window.confirm_quit is None, timeout=5000)
    assert quits == [1] and window._dirty == {"vocabulary"}
    window.quit_when_saved(lambda: quits.append(3))
    qtbot.waitUntil(lambda: window.confirm_quit is not None and window.confirm_quit.isVisible(), timeout=5000)
    window.confirm_quit.button(QMessageBox.StandardButton.Discard).click()  # Quit without them
    qtbot.waitUntil(lambda: quits == [1, 3], timeout=5000)


def test_an_edit_still_being_typed_is_saved_when_holdtype_quits(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # From a review: a term cell being edited, or a language code typed ("de": the list of
    # languages it matches opens over the field), was not in the file when Holdtype quit (the
    # tray's Quit, the window's, a signal, a logout): the cell wrote its text only as the
    # window hid, after the last save. Closing the window saved it.
    write_settings(Settings(vocabulary={"terms": ["NumPy"]}))
    window = open_window(qtbot, config_path)
    shown_on(qtbot, window, "vocabulary")
    terms = window.pages["vocabulary"].terms
    terms.setCurrentCell(0, 0)
    terms.editItem(terms.item(0, 0))
    editor = cell_editor(qtbot, terms)
    qtbot.waitUntil(editor.hasFocus, timeout=5000)
    editor.selectAll()
    qtbot.keyClicks(editor, "Polars")
    quits: list[int] = []
    window.quit_when_saved(lambda: quits.append(1))  # the tray's Quit, the window's
    assert quits == [1] and saved(config_path).vocabulary.terms == ["Polars"]
    assert not window._dirty

    window.show_tab("model")
    line = window.pages["model"].language.lineEdit()
    line.setFocus()
    qtbot.waitUntil(line.hasFocus, timeout=5000)
    line.selectAll()
    qtbot.keyClicks(line, "de")
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=5000)
    window.stop()  # a signal, a logout (what the app's shutdown runs)
    assert saved(config_path).model.language == "de"
    assert saved(config_path).vocabulary.terms == ["Polars"] and not window._dirty


def test_the_saved_line_goes_after_a_moment(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # "Saved — changes are in effect." stayed for good, beside every error a tab showed later.
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    window.pages["general"].sounds.setChecked(False)
    commit(qtbot, window)
    assert window.status.text() == "Saved — changes are in effect."
    qtbot.waitUntil(lambda: window.status.text() == "", timeout=10000)


def test_a_removed_rule_takes_its_message_along(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # "invalid regular expression" stayed under the table after the bad rule was removed.
    write_settings(Settings(rules=[Rule(find="teh", replace="the"), Rule(find="foo(bar", replace="x")]))
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    tab.rules.item(1, 2).setCheckState(Qt.CheckState.Checked)
    assert "invalid regular expression" in tab.rule_problem.text()
    tab.rules.selectRow(1)
    remove = next(b for b in tab.findChildren(QPushButton) if b.text() == "Remove" and b.isEnabled())
    remove.click()
    assert tab.rule_problem.text() == ""
    commit(qtbot, window)
    assert [r.find for r in saved(config_path).rules] == ["teh"]


def test_a_term_already_listed_is_said_so_and_nothing_is_saved(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # Adding a term already listed selected it, cleared the field and said "Saved".
    write_settings(Settings(vocabulary={"terms": ["NumPy", "PyPI"]}))
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    tab.new_term.setText("PyPI")
    qtbot.keyClick(tab.new_term, Qt.Key.Key_Return)
    assert not window._dirty and not window._timer.isActive()  # no edit: no save to come
    assert "Saved" not in window.status.text()
    assert "“PyPI” is already in the list" in tab.term_note.text()
    assert [i.row() for i in tab.terms.selectionModel().selectedRows()] == [1]
    qtbot.keyClicks(tab.new_term, "Po")  # the note was of the last term: it stayed as this is typed
    assert tab.term_note.text() == ""
    tab.new_term.clear()
    tab.new_term.setText("Polars")  # a new one: added, saved, and the note goes
    qtbot.keyClick(tab.new_term, Qt.Key.Key_Return)
    assert tab.term_note.text() == ""
    commit(qtbot, window)
    assert saved(config_path).vocabulary.terms == ["NumPy", "PyPI", "Polars"]
    # A term that is an English word too is said to be one, as `vocab add` says (it was not).
    tab.new_term.setText("Rust")
    qtbot.keyClick(tab.new_term, Qt.Key.Key_Return)
    assert "“Rust” is also an English word" in tab.term_note.text()
    assert "add “rust” too" in tab.term_note.text()
    tab.new_term.setText("rust")
    qtbot.keyClick(tab.new_term, Qt.Key.Key_Return)
    assert tab.term_note.text() == ""  # the twin keeps the word: nothing more to say
    # A term that differs from another only in case is said to, as `vocab add` says (a review
    # found the window silent).
    tab.new_term.setText("numpy")
    qtbot.keyClick(tab.new_term, Qt.Key.Key_Return)
    assert "“numpy” differs from “NumPy” only in case" in tab.term_note.text()


def test_a_term_that_cannot_be_one_is_refused_as_vocab_add_refuses_it(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # `vocab add` refused "..." and "# tools" (read back from `vocab list` as a comment), but the
    # settings window saved them: the checks lived in the command. Then (a review) the window
    # took "🚀" into the list, and from then on no term added was saved: Quit lost them all.
    write_settings(Settings(vocabulary={"terms": ["NumPy"]}))
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    from tests.cli import holdtype

    for typed in ("🚀", "# tools"):
        tab.new_term.setText(typed)
        qtbot.keyClick(tab.new_term, Qt.Key.Key_Return)
        assert tab.term_list() == ["NumPy"] and tab.new_term.text() == typed  # kept, to be fixed
        assert not window._dirty and not window._timer.isActive()  # nothing to save
        cli = holdtype("vocab", "add", typed)  # the same reason
        assert cli.returncode == 1 and cli.stderr.strip() == f"Error: {tab.term_note.text()[11:]}"
        assert tab.term_note.text().startswith("Not added: not a term: ")
        assert PROBLEM_COLOUR in tab.term_note.styleSheet()
    assert '(in a list of terms, "# " starts a comment)' in tab.term_note.text()
    tab.new_term.clear()
    qtbot.keyClicks(tab.new_term, "Polars")  # (the line was of the last one)
    assert tab.term_note.text() == ""
    qtbot.keyClick(tab.new_term, Qt.Key.Key_Return)
    commit(qtbot, window)
    assert saved(config_path).vocabulary.terms == ["NumPy", "Polars"]


def test_a_cell_typed_over_with_what_cannot_be_a_term_keeps_no_other_term_from_being_saved(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # One term that could not be one kept the whole vocabulary from being saved (the file
    # stayed as it was), and every term added after it was lost at Quit.
    write_settings(Settings(vocabulary={"terms": ["NumPy", "PyPI"]}))
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    tab.terms.item(1, 0).setText("🚀")
    qtbot.waitUntil(lambda: "Not saved" in window.status.text(), timeout=5000)
    assert "not a term: '🚀' (a term needs a letter or digit)" in window.status.text()
    assert "the rest of the tab is saved" in window.status.text()
    # The term typed over stays until the cell is fixed: a quit that cannot ask lost it
    assert saved(config_path).vocabulary.terms == ["NumPy", "PyPI"]
    bad = tab.terms.item(1, 0)  # the row says what is wrong with it
    assert bad.foreground().color().name() == PROBLEM_COLOUR and "letter or digit" in bad.toolTip()
    assert tab.term_note.text() == "Not a term: “🚀” (a term needs a letter or digit). Fix or remove it."
    assert not tab.terms.item(0, 0).toolTip()
    # A term another program adds meanwhile is not read as one the user removed (the edited
    # tab never showed it): it was lost at the tab's next save
    write_settings(Settings(vocabulary={"terms": ["NumPy", "PyPI", "Foo"]}))
    qtbot.waitUntil(lambda: "Foo" in window.ctx.live.settings.vocabulary.terms, timeout=10000)
    tab.add_term("Polars")
    qtbot.waitUntil(lambda: "Polars" in saved(config_path).vocabulary.terms, timeout=5000)
    assert saved(config_path).vocabulary.terms == ["NumPy", "PyPI", "Foo", "Polars"]
    assert window._dirty == {"vocabulary"}  # the bad term is kept in the table, to be fixed
    tab.terms.item(1, 0).setText("Pandas")
    commit(qtbot, window)
    assert saved(config_path).vocabulary.terms == ["NumPy", "Foo", "Pandas", "Polars"]
    assert tab.term_note.text() == "" and not tab.terms.item(1, 0).toolTip()
    assert tab.terms.item(1, 0).foreground().color().name() != PROBLEM_COLOUR


def test_a_term_deleted_beside_one_typed_over_with_what_cannot_be_a_term_is_deleted(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # From a review: while a cell held a term that cannot be one, every term the table no
    # longer showed was kept, a term deleted on purpose too, and a quit that could not ask
    # kept it for good. Only the term typed over (its last one) stays until it is fixed.
    write_settings(Settings(vocabulary={"terms": ["kubectl", "oldname", "Pulumi"]}))
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    tab.terms.item(0, 0).setText("kubectl2")  # edited, saved, then typed over: kubectl2 stays
    commit(qtbot, window)
    assert saved(config_path).vocabulary.terms == ["kubectl2", "oldname", "Pulumi"]
    tab.terms.removeRow(1)
    tab.terms.item(0, 0).setText("🚀")
    qtbot.waitUntil(lambda: "Not saved" in window.status.text(), timeout=5000)
    assert saved(config_path).vocabulary.terms == ["kubectl2", "Pulumi"]


def test_a_term_that_cannot_be_one_in_a_file_edited_by_hand_is_kept_and_shown(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # The file still loads with one; the tab marks it, and keeps no other edit from being saved.
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text('[vocabulary]\nterms = ["NumPy", "..."]\n', encoding="utf-8")
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    assert "“...” (a term needs a letter or digit)" in tab.term_note.text()
    tab.add_term("Polars")
    commit(qtbot, window)
    assert saved(config_path).vocabulary.terms == ["NumPy", "...", "Polars"]


def test_vocabulary_tab_says_when_the_prompt_cannot_hold_every_term(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    s = Settings()
    s.vocabulary.terms = [f"Zorblax{i}Kit" for i in range(20)]
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    assert tab.prompt_note.isHidden()  # 20 invented names fit
    for i in range(20, 50):
        tab.add_term(f"Zorblax{i}Kit")
    assert not tab.prompt_note.isHidden()
    assert "of 50 terms" in tab.prompt_note.text()
    tab.bias.setCurrentIndex(tab.bias.findData("hotwords"))  # no prompt: nothing to say
    assert tab.prompt_note.isHidden()
    tab.bias.setCurrentIndex(tab.bias.findData("both"))
    assert not tab.prompt_note.isHidden()
    tab.terms.setRowCount(10)  # fewer terms: the note goes away with the next edit
    tab.changed()
    assert tab.prompt_note.isHidden()


def test_an_import_of_many_terms_is_one_edit(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, tmp_path: Path, monkeypatch
) -> None:
    # Importing 200 terms froze the window for ~10 s: each term reported two edits, and each
    # measured the whole vocabulary against Whisper's prompt again (quadratic).
    from app.text import pipeline

    write_settings(Settings())
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    measured: list[int] = []
    real = pipeline.prompt_coverage

    def counted(terms: list[str]) -> tuple[int, int]:
        measured.append(len(terms))
        return real(terms)

    monkeypatch.setattr(pipeline, "prompt_coverage", counted)  # a spy: the real one runs
    edits: list[int] = []
    tab.edited.connect(lambda: edits.append(1))
    listed = tmp_path / "many.txt"
    listed.write_text("".join(f"Zorblax{i}Kit\n" for i in range(200)), encoding="utf-8")
    tab.import_file(listed)
    assert len(tab.term_list()) == 200
    assert (len(edits), measured) == (1, [200])
    assert "of 200 terms" in tab.prompt_note.text() and not tab.prompt_note.isHidden()
    tab.add_term("one more")  # one term added by hand: one edit too
    assert (len(edits), measured[1:]) == (2, [201])
    commit(qtbot, window)
    assert len(saved(config_path).vocabulary.terms) == 201


def test_message_lines_show_what_the_user_typed_as_typed(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, tmp_path: Path, monkeypatch
) -> None:
    """From a review: message lines guessed from their text whether it was HTML. One quoting a
    search, the apps typed or an imported file's content showed "<b>x</b>" in bold, and an
    <img> tag as a picture. Lines that are rich text escape what they quote; the others are
    plain text."""
    from PySide6.QtWidgets import QFileDialog

    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore

    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="hello"))
    window, history = open_history(qtbot, config_path, write_settings, rows=1)
    history.search.setText("a <b> c")
    qtbot.waitUntil(lambda: history.table.rowCount() == 0, timeout=5000)
    assert history.message.text() == "Nothing in the history contains “a <b> c”."
    assert history.message.textFormat() == Qt.TextFormat.PlainText

    modes = window.pages["modes"]
    modes.select("email")
    modes.apps_field.setText("<b>x</b>, <B>X</B>")  # (the same app twice: refused, quoted)
    modes.apps_field.editingFinished.emit()
    assert modes.apps_problem.textFormat() == Qt.TextFormat.RichText
    said = modes.apps_problem.text()
    assert "&lt;b&gt;x&lt;/b&gt;" in said and "<b>" not in said, said
    assert modes.origin.textFormat() == Qt.TextFormat.PlainText  # (names the model typed in)

    vocabulary = window.pages["vocabulary"]
    odd = tmp_path / "odd.toml"
    odd.write_text('[vocabulary]\nterms = "<b>x</b>"\n', encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_args, **_kw: (str(odd), ""))
    vocabulary._import_dialog()
    assert vocabulary.rule_problem.textFormat() == Qt.TextFormat.RichText
    said = vocabulary.rule_problem.text()
    assert said.startswith("Could not import: ") and "<b>" not in said, said
    assert "&lt;b&gt;x&lt;/b&gt;" in said, said
    for line in (vocabulary.term_note, vocabulary.try_output):
        assert line.textFormat() == Qt.TextFormat.PlainText, line.objectName()


def test_vocabulary_try_it(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("app.text.pipeline", reason="the text pipeline has not landed yet")
    s = Settings()
    s.rules = [Rule(find="teh", replace="the")]
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    tab.try_input.setText("teh cat")
    assert "the cat" in tab.try_output.text()


def test_new_mode_brings_its_name_into_view_with_the_focus(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # From a review: clicked at the foot of the page, New mode left the Name field (filled with
    # "my-mode") out of sight and without the focus.
    window, tab = open_modes(qtbot, config_path, write_settings, shown=True)
    qtbot.waitExposed(window)
    holder = window._holders["modes"]
    holder.verticalScrollBar().setValue(holder.verticalScrollBar().maximum())
    tab.new_mode()
    qtbot.waitUntil(tab.name.hasFocus, timeout=5000)
    assert tab.name.selectedText() == "my-mode"
    top = tab.name.mapTo(holder.viewport(), tab.name.rect().topLeft()).y()
    assert top >= 0 and top + tab.name.height() <= holder.viewport().height()


def test_modes_tab(qtbot, config_path: Path, write_settings, holdtype_home: Path) -> None:  # type: ignore[no-untyped-def]
    window, tab = open_modes(qtbot, config_path, write_settings)
    names = [tab.list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(tab.list.count())]
    assert names[0] == "raw"
    tab.list.setCurrentRow(0)  # the built-in raw mode (no LLM) cannot be edited
    assert not tab.system.isEnabled() and not tab.save_button.isEnabled()

    tab.new_mode()
    assert tab.system.isEnabled() and tab.template.isEnabled() and tab.save_button.isEnabled()
    tab.name.setText("shout")
    tab.system.setPlainText("Repeat the text in capitals.")
    tab.template.setPlainText("{text}")
    path = tab.save_current()
    assert path is not None and path.is_file()
    assert tab.selected_name() == "shout"
    tab.use_selected()
    tab.bind_field.captured.emit("f8")
    commit(qtbot, window)
    got = saved(config_path)
    assert got.modes.active == "shout"
    assert got.hotkey.mode_keys == {"f8": "shout"}

    assert tab.bind_problem.text() == ""  # no problem
    tab.bind_field.captured.emit("caps_lock")  # the dictation key itself
    assert "dictation hotkey" in tab.bind_problem.text()


def test_saving_a_mode_keeps_what_the_editor_does_not_show(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # The editor shows name, description, model, prompts, schema and output field; saving a
    # mode wrote only those, so its options, include_git_diff and reply ratios were lost (the
    # built-in commit mode saved with a new description no longer saw the staged diff).
    from app.llm.modes import load_mode_file
    from app.paths import get_paths

    folder = get_paths().modes_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gitmsg.toml").write_text(
        'description = "Commit message"\nsystem = "Write a commit message."\ntemplate = "{text}"\n'
        "include_git_diff = true\nmin_ratio = 0.1\nmax_ratio = 9.0\n"
        "[options]\ntemperature = 0.2\n",
        encoding="utf-8",
    )
    _window, tab = open_modes(qtbot, config_path, write_settings)
    tab.select("gitmsg")
    tab.description.selectAll()
    qtbot.keyClicks(tab.description, "Commit message, my wording")
    path = tab.save_current()
    assert path is not None
    mode = load_mode_file(path)
    assert mode.description == "Commit message, my wording"
    assert mode.include_git_diff is True
    assert mode.options == {"temperature": 0.2}
    assert (mode.min_ratio, mode.max_ratio) == (0.1, 9.0)
    tab.new_mode()  # a new mode starts from the defaults, not from the mode shown before
    tab.name.setText("fresh")
    mode = load_mode_file(tab.save_current() or Path())
    assert mode.include_git_diff is False and mode.options == {}


def test_a_mode_that_cannot_be_saved_says_why_in_words(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    """The reasons read "Not saved: : template must contain {text}", a bad name's raw regex,
    and JSON's "Expecting property name…" without saying that the Schema field was meant."""
    _window, tab = open_modes(qtbot, config_path, write_settings)
    tab.new_mode()
    tab.template.setPlainText("no placeholder")
    assert tab.save_current() is None
    assert tab.origin.text() == "Not saved: template must contain {text} (where the dictated text goes)"
    tab.template.setPlainText("{text}")
    tab.name.setText("my mode")
    assert tab.save_current() is None
    said = tab.origin.text()
    assert said.startswith("Not saved: name: ") and "letters, digits" in said and "no spaces" in said
    assert "^[" not in said and "pattern" not in said
    tab.name.setText("mine")
    tab.schema.setPlainText("{type: object}")
    assert tab.save_current() is None
    assert tab.origin.text().startswith("Not saved: Schema: Expecting property name"), tab.origin.text()


def modes_tab(qtbot, config_path: Path, write_settings, settings: Settings, selected: str):  # type: ignore[no-untyped-def]
    """The window over ``settings`` (written first), and its Modes tab with ``selected`` chosen."""
    write_settings(settings)
    window = open_window(qtbot, config_path)
    tab = window.pages["modes"]
    tab.select(selected)
    return window, tab


def test_a_mode_hotkey_is_changed_or_removed_from_the_modes_tab(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # Saves merge the tab's change into the file's settings, table key by table key: a key
    # removed in the window stayed, so "Remove binding" did nothing and a new key added a second.
    s = Settings()
    s.hotkey.mode_keys = {"f10": "email"}
    window, tab = modes_tab(qtbot, config_path, write_settings, s, "email")
    assert tab.unbind_button.isEnabled()
    tab.bind_field.captured.emit("f11")
    commit(qtbot, window)
    assert saved(config_path).hotkey.mode_keys == {"f11": "email"}
    tab.unbind_button.click()
    commit(qtbot, window)
    assert saved(config_path).hotkey.mode_keys == {}
    assert not tab.unbind_button.isEnabled()  # nothing left to remove
    tab.select("message")  # a mode with no key
    assert not tab.unbind_button.isEnabled()
    tab.bind_field.captured.emit("f9")
    assert tab.unbind_button.isEnabled()
    tab.unbind_button.click()
    # A new mode being drafted is no mode yet: its hotkey and "use" wait for the save.
    tab.select("email")
    tab.new_mode()
    assert tab.selected_name() is None
    tab.bind_field.captured.emit("f12")
    # the field showed f12, with no word, and nothing was ever bound
    assert tab.bind_field.binding() == "" and "Save the mode first" in tab.bind_problem.text()
    tab.use_selected()
    assert tab.name.text() == "my-mode"  # the draft was not replaced by the old selection
    assert saved(config_path).hotkey.mode_keys == {} and saved(config_path).modes.active == "raw"
    tab.name.setText("raw")
    assert tab.save_current() is None and "raw is the built-in mode" in tab.origin.text()


def test_apps_are_tied_to_a_mode_from_the_modes_tab(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """modes.apps, edited where the mode is: the field lists the apps of the selected mode;
    naming an app another mode had moves it; a name given twice is refused, with the reason."""
    s = Settings()
    s.modes.apps = {"Slack": "message"}
    window, tab = modes_tab(qtbot, config_path, write_settings, s, "message")
    assert tab.apps_field.text() == "Slack"
    tab.select("email")
    assert tab.apps_field.text() == ""
    tab.apps_field.setText("thunderbird, slack")
    tab.apps_field.editingFinished.emit()
    commit(qtbot, window)
    assert saved(config_path).modes.apps == {"thunderbird": "email", "slack": "email"}
    email = next(
        tab.list.item(r) for r in range(tab.list.count()) if tab.list.item(r).text().startswith("email")
    )
    assert "in thunderbird, slack" in email.text()

    tab.apps_field.setText("thunderbird, Thunderbird")
    tab.apps_field.editingFinished.emit()
    assert "named twice" in tab.apps_problem.text()
    tab.apps_field.setText("")  # none: the mode is tied to no app
    tab.apps_field.editingFinished.emit()
    commit(qtbot, window)
    assert saved(config_path).modes.apps == {} and tab.apps_problem.text() == ""

    # A saved mode with unsaved edits is still that mode: its apps are tied (they were refused
    # as "save the mode first", then dropped), and emptying the field unties them
    tab.description.setText("Edited, not saved")
    tab.description.textEdited.emit("Edited, not saved")
    tab.apps_field.setText("geary")
    tab.apps_field.editingFinished.emit()
    assert tab.apps_problem.text() == ""
    commit(qtbot, window)
    assert saved(config_path).modes.apps == {"geary": "email"}
    assert tab.description.text() == "Edited, not saved"  # the edits stay in the editor
    tab.apps_field.setText("")
    tab.apps_field.editingFinished.emit()
    commit(qtbot, window)
    assert saved(config_path).modes.apps == {}
    tab.name.setText("mail2")  # renamed, not saved: the apps would go to the old name
    tab.name.textEdited.emit("mail2")
    tab.apps_field.setText("geary")
    tab.apps_field.editingFinished.emit()
    assert "Save the mode first" in tab.apps_problem.text()


def mode_names(tab) -> list[str]:  # type: ignore[no-untyped-def]
    return [tab.list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(tab.list.count())]


def test_a_mode_of_yours_is_deleted_and_a_copy_of_a_builtin_restored(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """A mode could not be deleted from the tab, and a saved copy of a built-in mode hid the
    built-in for good. Delete asks first; on a copy it is "Restore built-in"; a mode deleted
    is let go in the settings: none names a mode that is gone."""
    from PySide6.QtWidgets import QMessageBox

    from app.paths import get_paths

    folder = get_paths().modes_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "memo.toml").write_text('description = "Memo"\ntemplate = "Memo: {text}"\n')
    (folder / "email.toml").write_text('description = "My email"\ntemplate = "Mine: {text}"\n')
    s = Settings()
    s.modes.active, s.hotkey.mode_keys = "memo", {"f8": "memo"}
    s.modes.apps = {"mutt": "memo", "geary": "email"}
    window, tab = modes_tab(qtbot, config_path, write_settings, s, "clean")
    assert not tab.delete_button.isEnabled()  # a built-in mode: nothing to delete
    tab.select("email")
    assert tab.delete_button.isEnabled() and tab.delete_button.text() == "Restore built-in"
    tab.delete_button.click()
    box = tab.confirm_delete
    assert box is not None and "your copy of 'email'" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: tab.confirm_delete is None)
    assert not (folder / "email.toml").exists()
    assert tab.selected_name() == "email" and tab.description.text() != "My email"
    assert "built-in email restored" in tab.origin.text() and not tab.delete_button.isEnabled()

    tab.select("memo")
    assert tab.delete_button.text() == "Delete mode"
    tab.delete_button.click()
    said = tab.confirm_delete.text()
    assert "the mode in use becomes 'raw'" in said and "f8 is unbound" in said and "mutt gets" in said
    tab.confirm_delete.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: tab.confirm_delete is None)
    assert (folder / "memo.toml").exists() and "memo" in mode_names(tab)
    tab.delete_button.click()
    tab.confirm_delete.button(QMessageBox.StandardButton.Yes).click()
    assert not (folder / "memo.toml").exists() and "memo" not in mode_names(tab)
    assert tab.selected_name() == "raw"
    commit(qtbot, window)
    got = saved(config_path)
    assert got.modes.active == "raw" and got.hotkey.mode_keys == {} and got.modes.apps == {"geary": "email"}


def test_renaming_a_mode_moves_it_and_what_named_it(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """Renaming tidy to tidier and saving left both listed (two files), the settings on tidy.
    A mode of yours is moved; a built-in one is copied under the new name, and stays."""
    from app.paths import get_paths

    folder = get_paths().modes_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tidy.toml").write_text('description = "Tidy"\ntemplate = "Tidy: {text}"\n')
    s = Settings()
    s.modes.active, s.hotkey.mode_keys, s.modes.apps = "tidy", {"f8": "tidy"}, {"mutt": "tidy"}
    window, tab = modes_tab(qtbot, config_path, write_settings, s, "tidy")
    tab.name.selectAll()
    qtbot.keyClicks(tab.name, "tidier")
    assert tab.save_current() == folder / "tidier.toml"
    assert not (folder / "tidy.toml").exists()
    assert "tidier" in mode_names(tab) and "tidy" not in mode_names(tab)
    assert tab.selected_name() == "tidier" and "renamed from tidy" in tab.origin.text()
    commit(qtbot, window)
    got = saved(config_path)
    assert (got.modes.active, got.hotkey.mode_keys, got.modes.apps) == (
        "tidier",
        {"f8": "tidier"},
        {"mutt": "tidier"},
    )

    tab.select("email")  # a built-in one: copied under the new name
    tab.name.selectAll()
    qtbot.keyClicks(tab.name, "email2")
    assert tab.save_current() == folder / "email2.toml"
    assert {"email", "email2"} <= set(mode_names(tab)) and not (folder / "email.toml").exists()
    assert saved(config_path).modes.active == "tidier"

    tab.select("tidier")  # onto another mode of yours: refused, both stay
    tab.name.selectAll()
    qtbot.keyClicks(tab.name, "email2")
    assert tab.save_current() is None and "you have a mode called email2 already" in tab.origin.text()
    assert (folder / "tidier.toml").exists() and (folder / "email2.toml").exists()
    tab.name.selectAll()  # named alike but for case: one file on macOS and Windows
    qtbot.keyClicks(tab.name, "Email2")
    assert tab.save_current() is None and "you have a mode called email2 already" in tab.origin.text()
    tab.new_mode()  # a new mode under the name of one of yours: refused too (it was written over)
    tab.name.selectAll()
    qtbot.keyClicks(tab.name, "email2")
    assert tab.save_current() is None and "you have a mode called email2 already" in tab.origin.text()
    assert (folder / "tidier.toml").exists() and (folder / "email2.toml").exists()


def test_an_app_taken_from_another_mode_is_said(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    """An app has one mode: naming one another mode had took it away without a word."""
    s = Settings()
    s.modes.apps = {"Thunderbird": "email"}
    window, tab = modes_tab(qtbot, config_path, write_settings, s, "message")
    tab.apps_field.setText("thunderbird, slack")
    tab.apps_field.editingFinished.emit()
    said = tab.apps_problem.text()  # (on the apps' message line, in grey: not an error)
    assert "thunderbird was tied to email; now to message" in said and PROBLEM_COLOUR not in said
    commit(qtbot, window)
    assert saved(config_path).modes.apps == {"thunderbird": "message", "slack": "message"}
    tab.select("email")  # said once, where it happened
    assert tab.apps_problem.text() == ""


def test_cancel_when_leaving_an_unsaved_mode_keeps_it_highlighted(
    qtbot, config_path: Path, write_settings
) -> None:  # type: ignore[no-untyped-def]
    # A click on "raw" with email edited asked first; Cancel left "raw" highlighted while the
    # editor showed email, and "Use for dictation" then took email, not the mode highlighted.
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    window.show()
    window.show_tab("modes")
    qtbot.waitExposed(window)
    tab = window.pages["modes"]
    tab.select("email")
    qtbot.keyClicks(tab.template, " Sign it Ana.")
    raw = next(
        tab.list.item(r)
        for r in range(tab.list.count())
        if tab.list.item(r).data(Qt.ItemDataRole.UserRole) == "raw"
    )
    qtbot.mouseClick(
        tab.list.viewport(), Qt.MouseButton.LeftButton, pos=tab.list.visualItemRect(raw).center()
    )
    qtbot.waitUntil(lambda: tab.confirm_switch is not None and tab.confirm_switch.isVisible(), timeout=5000)
    tab.confirm_switch.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: tab.confirm_switch is None, timeout=5000)
    chosen = [i.data(Qt.ItemDataRole.UserRole) for i in tab.list.selectedItems()]
    assert tab.selected_name() == "email" and chosen == ["email"], (tab.selected_name(), chosen)
    assert "Sign it Ana." in tab.template.toPlainText()


def test_closing_the_window_with_an_unsaved_mode_asks_first(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """Closing the settings kept a mode's unsaved edits in the editor alone, unsaid (and
    Quit then dropped them). Closing asks: Save, Discard, or Cancel (the window stays)."""
    from PySide6.QtWidgets import QMessageBox

    from app.llm.modes import load_modes
    from app.ui.settings.modes import kept_draft_path

    write_settings(Settings())
    window = open_window(qtbot, config_path)
    window.show()
    qtbot.waitExposed(window)
    tab = window.pages["modes"]
    tab.select("email")
    window.show_tab("general")
    qtbot.keyClicks(tab.template, " Sign it Ana.")
    window.close()
    box = tab.confirm_switch
    assert box is not None and "before closing" in box.text() and "'email'" in box.text()
    assert window.isVisible() and window.current_page() is tab
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: tab.confirm_switch is None)
    assert window.isVisible() and "Sign it Ana." in tab.template.toPlainText()

    window.close()
    tab.confirm_switch.button(QMessageBox.StandardButton.Discard).click()
    qtbot.waitUntil(lambda: not window.isVisible())
    assert "Sign it Ana." not in tab.template.toPlainText()
    assert "Sign it Ana." not in load_modes()["email"].template

    window.show()
    qtbot.keyClicks(tab.template, " Sign it Bo.")
    window.close()
    tab.confirm_switch.button(QMessageBox.StandardButton.Save).click()
    qtbot.waitUntil(lambda: not window.isVisible())
    assert "Sign it Bo." in load_modes()["email"].template

    window.show()  # what cannot be saved stays, with the reason
    tab.template.setPlainText("no placeholder")
    window.close()
    qtbot.waitUntil(lambda: tab.confirm_switch is not None)
    tab.confirm_switch.button(QMessageBox.StandardButton.Save).click()
    qtbot.waitUntil(lambda: tab.confirm_switch is None)
    assert window.isVisible() and "must contain {text}" in tab.origin.text()
    window.close()
    tab.confirm_switch.button(QMessageBox.StandardButton.Discard).click()
    qtbot.waitUntil(lambda: not window.isVisible())

    window.show()  # "New mode" left as it came holds nothing to lose: no question, nothing kept
    tab.new_mode()
    window.close()
    assert not window.isVisible() and tab.confirm_switch is None
    window.stop()  # what Quit does
    assert "my-mode" not in load_modes() and not kept_draft_path().exists()


def test_apps_tied_to_a_deleted_mode_are_shown_and_can_be_forgotten(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """A mode deleted since an app was tied to it: the tab says so (the tie was invisible, and
    kept), and "Forget them" drops those ties alone."""
    from app.paths import get_paths

    modes_dir = get_paths().modes_dir
    modes_dir.mkdir(parents=True, exist_ok=True)
    (modes_dir / "half-done.toml").write_text('template = "no placeholder"\n')  # broken by hand
    s = Settings()
    s.modes.apps = {"mutt": "deleted-since", "Slack": "message", "geary": "half-done"}
    window, tab = modes_tab(qtbot, config_path, write_settings, s, "message")
    assert tab.stale_apps.isVisibleTo(tab) and tab.forget_stale.isVisibleTo(tab)
    assert "mutt: tied to 'deleted-since', which is gone" in tab.stale_apps.text()
    assert "geary: tied to 'half-done', whose file is broken" in tab.stale_apps.text()  # not "gone"
    assert "must contain {text}" in tab.stale_apps.text()
    tab.forget_stale.click()
    commit(qtbot, window)
    assert saved(config_path).modes.apps == {"Slack": "message"}
    assert not tab.stale_apps.isVisibleTo(tab) and not tab.forget_stale.isVisibleTo(tab)


def test_llm_tab(qtbot, config_path: Path, write_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]

    keys = Path(os.environ["LLM_USER_PATH"]) / "keys.json"
    keys.write_text(json.dumps({"openai": "sk-very-secret"}))
    s = Settings()
    s.llm.timeout_s = 12.0
    s.llm.retries = 1
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["llm"]
    assert tab.timeout.value() == pytest.approx(12.0)
    assert "openai" in tab.keys.text() and "sk-very-secret" not in tab.keys.text()
    qtbot.waitUntil(lambda: tab._job is None and tab._cache_job is None, timeout=20000)
    assert "models reachable" in tab.models_note.text()
    assert "0 replies" in tab.cache_stats.text()
    # No default model: the blank box says what that means; each model's description is its tooltip
    assert tab.model.currentText() == "" and "plain text" in tab.model.lineEdit().placeholderText()
    listed = [tab.model.itemText(i) for i in range(tab.model.count())]
    mini = tab.model.findText("gpt-4o-mini")
    assert mini > 0 and tab.model.itemData(mini) == "gpt-4o-mini", listed
    assert tab.model.itemData(mini, Qt.ItemDataRole.ToolTipRole), listed
    tab.model.setEditText("gpt-4o-mini")
    tab.retries.setValue(3)
    tab.cache_enabled.setChecked(False)
    commit(qtbot, window)
    got = saved(config_path)
    assert got.llm.model == "gpt-4o-mini"
    assert got.llm.retries == 3
    assert got.llm.cache_enabled is False


@pytest.mark.parametrize("leave", [Qt.Key.Key_Return, Qt.Key.Key_Tab])
def test_typed_combo_values_are_saved_as_typed(qtbot, config_path: Path, write_settings, leave) -> None:  # type: ignore[no-untyped-def]
    # The editable boxes completed what was typed inline: "de" became "Detect automatically"
    # (language None) and "gpt-4" became "gpt-4o" on Enter or Tab; a typed value that was
    # refused stayed in the list. (Keys go to the completion popup while it is open.)
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    window.bring_forward("model")
    qtbot.waitExposed(window)
    language = window.pages["model"].language
    items = language.count()
    line = language.lineEdit()
    line.setFocus()
    qtbot.waitUntil(line.hasFocus, timeout=5000)
    line.selectAll()
    qtbot.keyClicks(line, "de")
    qtbot.keyClick(QApplication.activePopupWidget() or QApplication.focusWidget(), leave)
    commit(qtbot, window)
    assert saved(config_path).model.language == "de"
    assert language.count() == items

    window.show_tab("llm")
    tab = window.pages["llm"]
    qtbot.waitUntil(lambda: tab._job is None, timeout=20000)
    tab.model.addItem("gpt-4o")  # as listed by llm
    line = tab.model.lineEdit()
    line.setFocus()
    qtbot.waitUntil(line.hasFocus, timeout=5000)
    line.selectAll()
    qtbot.keyClicks(line, "gpt-4")
    qtbot.keyClick(QApplication.activePopupWidget() or QApplication.focusWidget(), leave)
    commit(qtbot, window)
    assert saved(config_path).llm.model == "gpt-4"


def test_llm_tab_names_a_key_command_that_works(qtbot, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    # It said "llm keys set openai": a command on no user's PATH (the packaged app has none).
    from PySide6.QtWidgets import QLabel

    window = open_window(qtbot, config_path)
    tab = window.pages["llm"]
    told = [label.text() for label in tab.findChildren(QLabel) if "in a terminal" in label.text()]
    assert len(told) == 1 and "<code>holdtype llm keys set openai</code>" in told[0], told


def test_llm_tab_shows_a_key_set_while_the_window_was_open(qtbot, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Read once when the window was made (it lives until Holdtype quits): still "No keys set
    # yet." after `holdtype llm keys set openai` and the window closed and opened again. Then
    # it listed the note llm writes at the top of a new keys.json as a key ("// Note, openai"),
    # and a name as HTML.
    from tests.cli import holdtype

    window = open_window(qtbot, config_path)
    tab = window.pages["llm"]
    window.show()
    window.show_tab(tab.key)
    qtbot.waitUntil(tab.isVisible, timeout=5000)
    assert tab.keys.text() == "No keys set yet."
    assert holdtype("llm", "keys", "set", "openai", input="sk-x").returncode == 0  # llm's layout
    window.hide()
    window.show()
    qtbot.waitUntil(lambda: "openai" in tab.keys.text(), timeout=5000)
    assert tab.keys.text() == "Keys set: <b>openai</b>"
    keys_file = Path(os.environ["LLM_USER_PATH"]) / "keys.json"
    keys_file.write_text(json.dumps({**json.loads(keys_file.read_text()), "<i>odd</i>": "sk-y"}))
    window.hide()
    window.show()
    qtbot.waitUntil(lambda: "odd" in tab.keys.text(), timeout=5000)
    assert tab.keys.text() == "Keys set: <b>&lt;i&gt;odd&lt;/i&gt;</b>, <b>openai</b>"


def test_llm_tab_never_shows_a_key_stored_as_a_name(qtbot, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    # llm's own `keys set` takes a key given in place of its name (the two swapped): the tab
    # listed it whole under "Keys set".
    key = "sk-proj-ZZzz0123456789AbCdEf0123456789xyz"
    keys_file = Path(os.environ["LLM_USER_PATH"]) / "keys.json"
    keys_file.write_text(json.dumps({"// Note": "llm's note", key: "openai", "mistral": "m-x"}))
    window = open_window(qtbot, config_path)
    tab = window.pages["llm"]
    window.show()
    window.show_tab(tab.key)
    qtbot.waitUntil(lambda: "mistral" in tab.keys.text(), timeout=5000)
    assert tab.keys.text() == "Keys set: <b>mistral</b>, <b>sk-pro…(key hidden)</b>"


def test_llm_tab_clear_cache_says_when_another_program_holds_it(qtbot, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    import diskcache

    from app.llm.cache import LLMCache
    from app.paths import get_paths

    with LLMCache() as cache:  # the cache exists, with its database
        cache.clear()
    window = open_window(qtbot, config_path)
    tab = window.pages["llm"]
    qtbot.waitUntil(lambda: tab._cache_job is None, timeout=20000)  # (counted on a worker thread)
    other = sqlite3.connect(get_paths().llm_cache_dir / diskcache.core.DBNAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a database browser writing
    try:
        tab.clear_cache()  # before, CacheUnavailable escaped the button's slot
        qtbot.waitUntil(lambda: tab._cache_job is None, timeout=20000)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert tab.cache_stats.text().startswith("not cleared"), tab.cache_stats.text()
    assert "another program holds it" in tab.cache_stats.text()
    assert tab.clear_button.isEnabled()  # (to try again)
    tab.clear_cache()
    qtbot.waitUntil(lambda: tab._cache_job is None, timeout=20000)
    assert "0 replies" in tab.cache_stats.text()
    assert not tab.clear_button.isEnabled()  # nothing to clear


def test_llm_tab_clear_cache_is_offered_while_there_are_replies(qtbot, config_path: Path) -> None:  # type: ignore[no-untyped-def]
    import time

    from app.llm.cache import CacheEntry, LLMCache

    window = open_window(qtbot, config_path)
    tab = window.pages["llm"]

    def counted() -> str:  # (counted and cleared on a worker thread)
        qtbot.waitUntil(lambda: tab._cache_job is None, timeout=20000)
        return str(tab.cache_stats.text())

    assert "0 replies" in counted() and not tab.clear_button.isEnabled()
    with LLMCache() as cache:
        cache.put(CacheEntry("b" * 64, "reply", None, "some-model", "clean", 12.0, time.time()))
    tab.refresh_cache_stats()
    assert "1 reply," in counted() and tab.clear_button.isEnabled()
    tab.clear_button.click()
    assert "0 replies" in counted() and not tab.clear_button.isEnabled()


def test_history_tab(qtbot, config_path: Path, write_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore

    store = HistoryStore()
    store.add(HistoryEntry(outcome=Outcome.PASTED, text="hello world", mode="raw"))
    store.add(HistoryEntry(outcome=Outcome.PASTED, text="second note", mode="raw"))
    store.close()
    window, tab = open_history(qtbot, config_path, write_settings, rows=2)
    tab.search.setText("second")
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=5000)
    tab.table.selectRow(0)
    tab.delete_selected()
    assert tab.table.rowCount() == 1  # asked first; Cancel (the default) keeps it
    answer_delete(qtbot, tab, yes=False)
    assert tab.table.rowCount() == 1
    tab.delete_selected()
    answer_delete(qtbot, tab)
    qtbot.waitUntil(lambda: tab.table.rowCount() == 0, timeout=5000)  # (on a worker thread)
    tab.search.setText("")
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=5000)
    out = tmp_path / "history.csv"
    assert tab.export_to(out) == 1
    assert "hello world" in out.read_text()
    tab.retention.setValue(30)
    commit(qtbot, window)
    assert saved(config_path).history.retention_days == 30
    tab.enabled.setChecked(False)  # no history: how long to keep it is moot
    assert not tab.retention.isEnabled()
    tab.enabled.setChecked(True)
    assert tab.retention.isEnabled()


def test_history_tab_says_when_it_is_empty_and_shows_a_match_further_on(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    # From a review: an empty history and a search without matches showed a blank table; a
    # match on a later line of an entry was out of sight ("friday" showed only "Hi Ann,").
    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore

    _window, tab = open_history(qtbot, config_path, write_settings, rows=0)
    qtbot.waitUntil(lambda: tab.message.text().startswith("Nothing dictated yet"), timeout=5000)
    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="Hi Ann,\n\nthe review moved to Friday at ten."))
    tab.refresh()
    assert tab.table.rowCount() == 1 and tab.message.text() == ""
    tab.search.setText("friday")
    qtbot.waitUntil(lambda: tab.table.item(0, 1).text().startswith("…"), timeout=5000)
    assert "Friday at ten." in tab.table.item(0, 1).text()
    assert tab.table.item(0, 1).toolTip().startswith("Hi Ann,")  # the whole text
    tab.search.setText("saturday")
    qtbot.waitUntil(lambda: tab.table.rowCount() == 0, timeout=5000)
    assert tab.message.text() == "Nothing in the history contains “saturday”."
    tab.search.setText("")
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=5000)
    assert tab.message.text() == ""


def test_a_busy_history_keeps_its_rows_and_is_read_again_once_free(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, monkeypatch
) -> None:
    """From a review: held by another program, the History page emptied its table (the chosen
    entry with it) and said "try again in a moment"; nothing read it again until the page was
    shown anew. (FAKE hold: the page's reads raise HistoryBusy, as a held history makes them;
    another program's exclusive hold cannot be taken while the page's own store is open.)"""
    from app.events import Outcome
    from app.history.store import HistoryBusy, HistoryEntry, HistoryStore
    from app.ui.wording import HISTORY_BUSY

    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="remember the milk"))
    _window, tab = open_history(qtbot, config_path, write_settings, rows=1)
    tab.table.selectRow(0)
    real, held, tries = tab.reader, [True], []

    def reader():  # type: ignore[no-untyped-def]
        if held[0]:
            tries.append(1)
            raise HistoryBusy("database is locked")
        return real()

    monkeypatch.setattr(tab, "reader", reader)
    tab.refresh()
    assert tab.message.text() == HISTORY_BUSY + "."
    assert tab.table.rowCount() == 1 and tab.selected() is not None
    qtbot.waitUntil(lambda: len(tries) >= 3, timeout=20000)  # (read again, unasked)
    assert tab.table.rowCount() == 1 and tab.message.text() == HISTORY_BUSY + "."
    held[0] = False  # let go: the next read shows the history, and the message goes
    qtbot.waitUntil(lambda: tab.message.text() == "", timeout=20000)
    assert tab.table.rowCount() == 1 and tab.selected().text == "remember the milk"


def test_the_history_page_without_an_engine_makes_no_database_and_waits_a_moment_only(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """From a review: without an engine, the page opened a whole store on the Qt thread for
    the database's path: a missing history was made (an empty database), and one held by
    another program froze the window the store's 10 s. (REAL hold: another process.)"""
    import time

    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore
    from app.paths import get_paths
    from app.ui.wording import HISTORY_BUSY
    from tests.fixtures.holder import sqlite_held_exclusively

    db = get_paths().history_db
    _window, tab = open_history(qtbot, config_path, write_settings, rows=0)
    assert tab.message.text().startswith("Nothing dictated yet") and not db.exists()
    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="remember the milk"))
    with sqlite_held_exclusively(db):
        started = time.monotonic()
        tab.refresh()
        assert time.monotonic() - started < 5  # (the store waited 10 s)
        assert tab.message.text() == HISTORY_BUSY + "."
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=20000)  # (read again, once free)


def test_delete_of_a_held_history_says_it_is_busy_and_deletes_nothing(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """From a review: Delete used the store on the Qt thread with its 10 s wait: a history
    another program held froze the window, then the failure escaped. Now it runs on a worker
    thread and says the history is busy, the entry still there and still selected, and works
    when tried again. (REAL hold: another process.)"""
    import time

    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore
    from app.paths import get_paths
    from app.ui.wording import HISTORY_BUSY
    from tests.fixtures.holder import sqlite_writes_held

    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="older note", created=1000.0))
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="newer note", created=2000.0))
    _window, tab = open_history(qtbot, config_path, write_settings, rows=2)
    tab.table.selectRow(1)
    with sqlite_writes_held(get_paths().history_db):
        tab.delete_selected()
        started = time.monotonic()
        answer_delete(qtbot, tab)
        assert time.monotonic() - started < 5  # the window went on (it froze 10 s)
        qtbot.waitUntil(lambda: tab.message.text() == f"Nothing deleted: {HISTORY_BUSY}.", timeout=8000)
        assert tab.table.rowCount() == 2 and tab.selected().text == "older note"
    with HistoryStore() as store:
        assert store.count() == 2  # deleted: none
    qtbot.waitUntil(lambda: tab.confirm_delete is None, timeout=5000)
    tab.delete_selected()  # tried again, once free
    answer_delete(qtbot, tab)
    qtbot.waitUntil(lambda: tab.message.text() == "Deleted 1 entry.", timeout=8000)
    assert tab.table.rowCount() == 1 and tab.table.item(0, 1).text() == "newer note"


def test_export_of_a_held_history_says_it_is_busy_and_leaves_the_file(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, tmp_path: Path, monkeypatch
) -> None:
    """From a review: Export used the store on the Qt thread with its 10 s wait: a history
    another program held froze the window, then the failure escaped, the file chosen already
    emptied. Now it reads first, for a moment only. (REAL hold: another process.)"""
    import time

    from PySide6.QtWidgets import QFileDialog

    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore
    from app.paths import get_paths
    from app.ui.wording import HISTORY_BUSY
    from tests.fixtures.holder import sqlite_held_exclusively

    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="remember the milk"))
    _window, tab = open_history(qtbot, config_path, write_settings, rows=1)
    out = tmp_path / "history.csv"
    out.write_text("kept from before\n")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(out), ""))
    with sqlite_held_exclusively(get_paths().history_db):
        started = time.monotonic()
        tab._export_dialog()
        assert time.monotonic() - started < 5
        assert tab.message.text() == f"Export failed: {HISTORY_BUSY}."
    assert out.read_text() == "kept from before\n"
    tab._export_dialog()
    assert tab.message.text() == f"Exported 1 entries to {out}." and "remember the milk" in out.read_text()


def test_a_shorter_retention_that_deletes_entries_is_asked_first_and_the_wheel_needs_the_focus(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """One wheel notch over "Delete entries older than: forever" made it "1 days", saved at
    once: the next cleanup deleted every entry older than a day, unasked."""
    import time

    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore

    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="ten days old", created=time.time() - 10 * 86400))
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="said today"))
    window, tab = open_history(qtbot, config_path, write_settings, rows=2)
    box = tab.retention
    assert not box.hasFocus() and box.value() == 0
    notch = QWheelEvent(
        QPointF(5, 5),
        QPointF(box.mapToGlobal(QPoint(5, 5))),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(box, notch)
    assert box.value() == 0  # the page scrolls on; the box does not turn
    box.setValue(1)
    qtbot.waitUntil(lambda: tab.confirm_prune is not None and tab.confirm_prune.isVisible(), timeout=5000)
    assert "deletes 1 entry now" in tab.confirm_prune.text()
    tab.confirm_prune.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: tab.confirm_prune is None, timeout=5000)
    assert box.value() == 0 and box.text() == "forever"
    assert saved(config_path).history.retention_days is None
    box.setValue(30)  # deletes nothing: no question
    commit(qtbot, window)
    assert tab.confirm_prune is None and saved(config_path).history.retention_days == 30
    box.setValue(1)
    qtbot.waitUntil(lambda: tab.confirm_prune is not None and tab.confirm_prune.isVisible(), timeout=5000)
    tab.confirm_prune.button(QMessageBox.StandardButton.Yes).click()
    commit(qtbot, window)
    assert saved(config_path).history.retention_days == 1 and box.text() == "1 day"


def choose(combo, text: str) -> None:  # type: ignore[no-untyped-def]
    """Choose ``text`` in ``combo`` as the user does (the list's ``activated``, not a change
    made by code)."""
    index = combo.findText(text)
    assert index >= 0, text
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


@pytest.mark.parametrize(
    ("stored", "shown"), [(None, "Forever"), (7, "1 week"), (365, "1 year"), (14, "Custom…")]
)
def test_history_retention_shows_the_stored_value_as_its_preset_or_custom(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, stored: int | None, shown: str
) -> None:
    """The retention was a bare number of days, with none of the usual choices offered."""
    write_settings(Settings(history={"retention_days": stored}))
    window = open_window(qtbot, config_path)
    tab = window.pages["history"]
    choices = [tab.retention_preset.itemText(i) for i in range(tab.retention_preset.count())]
    assert choices == ["Forever", "1 day", "1 week", "30 days", "90 days", "1 year", "Custom…"]
    assert tab.retention_preset.currentText() == shown
    assert tab.retention.isVisibleTo(tab) == (shown == "Custom…")  # the number, for another value
    assert tab.retention.value() == (stored or 0)


def test_history_retention_is_chosen_from_presets_or_typed_in(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """A preset or a number typed after "Custom…" is saved in the one setting there is."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent

    window, tab = open_history(qtbot, config_path, write_settings, rows=0)
    choices = tab.retention_preset
    notch = QWheelEvent(
        QPointF(5, 5),
        QPointF(choices.mapToGlobal(QPoint(5, 5))),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(choices, notch)  # a page scrolled past the list: it does not turn
    assert not choices.hasFocus() and choices.currentText() == "Forever"
    choose(choices, "90 days")
    commit(qtbot, window)
    assert saved(config_path).history.retention_days == 90 and not tab.retention.isVisibleTo(tab)
    choose(choices, "Custom…")  # the box shows the days in force, to be changed
    assert tab.retention.isVisibleTo(tab) and tab.retention.value() == 90
    tab.retention.setValue(45)
    commit(qtbot, window)
    assert saved(config_path).history.retention_days == 45
    assert choices.currentText() == "Custom…"  # (30 typed next would not jump to "30 days")
    choose(choices, "Forever")
    commit(qtbot, window)
    assert saved(config_path).history.retention_days is None
    assert tab.retention.value() == 0 and not tab.retention.isVisibleTo(tab)
    tab.enabled.setChecked(False)  # no history: how long to keep it is moot
    assert not choices.isEnabled()


def test_a_retention_question_open_takes_no_second_change(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """From a review: with "Keeping 15 days … deletes 2 entries" open (the box of days typed in,
    committed as the list of presets took the click), choosing "1 day" from the list opened a
    second question over it; Delete on the first then saved 1 day, deleting 4 entries."""
    import time

    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore

    with HistoryStore() as store:
        for age in (0.5, 3, 10, 20, 40):
            old = time.time() - age * 86400
            store.add(HistoryEntry(outcome=Outcome.PASTED, text=f"{age} days old", created=old))
    write_settings(Settings(history={"retention_days": 30}))
    window = open_window(qtbot, config_path)
    window.show()
    window.show_tab("history")
    tab = window.pages["history"]
    qtbot.waitUntil(lambda: tab.table.rowCount() == 5, timeout=5000)
    choose(tab.retention_preset, "Custom…")
    tab.retention.setValue(15)
    qtbot.waitUntil(lambda: tab.confirm_prune is not None and tab.confirm_prune.isVisible(), timeout=5000)
    first = tab.confirm_prune
    assert "deletes 2 entries" in first.text(), first.text()
    choose(tab.retention_preset, "1 day")  # the list's popup was open over the question
    asked = [box for box in tab.findChildren(QMessageBox, "history-retention-confirm") if box.isVisible()]
    assert asked == [first] and tab.confirm_prune is first
    assert tab.retention.value() == 15 and tab.retention_preset.currentText() == "Custom…"
    first.button(QMessageBox.StandardButton.Yes).click()
    commit(qtbot, window)
    assert saved(config_path).history.retention_days == 15 and tab.confirm_prune is None


def test_history_play_says_it_is_playing_and_a_second_click_stops_it(  # type: ignore[no-untyped-def]
    qtbot, pulse, config_path: Path, write_settings, tmp_path: Path
) -> None:
    """Play audio gave no sign that it was playing, and a second click was silently ignored."""
    import wave

    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore

    wav = tmp_path / "kept.wav"
    with wave.open(str(wav), "wb") as w:  # 20 s of quiet noise, played on the test's null sink
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(range(256)) * (20 * 16000 * 2 // 256))
    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="kept audio", mode="raw", audio_path=str(wav)))
    _, tab = open_history(qtbot, config_path, write_settings, rows=1)
    tab.table.selectRow(0)
    assert tab.play_button.isEnabled() and tab.play_button.text() == "Play audio"
    tab.play_button.click()
    assert tab.play_button.text() == "Stop playing" and tab.play_button.isEnabled()
    assert "Playing" in tab.message.text()
    qtbot.wait(1000)
    assert tab.play_button.text() == "Stop playing"  # still playing: 20 s of audio
    tab.table.clearSelection()
    assert tab.play_button.isEnabled()  # it can be stopped whatever is selected
    tab.play_button.click()  # stops it: well before the 20 s of audio are over
    qtbot.waitUntil(lambda: tab.play_button.text() == "Play audio", timeout=10000)
    assert "Cannot play" not in tab.message.text()


def test_history_tab_copies_what_it_shows_and_deletes_every_selected_row(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QAbstractItemView

    from app.events import Outcome
    from app.history import store as history
    from app.history.store import HistoryEntry, HistoryStore

    with HistoryStore() as store:
        for n in range(history_page := 200):
            store.add(HistoryEntry(outcome=Outcome.PASTED, text=f"note {n}", mode="raw", created=1000.0 + n))
        store.add(HistoryEntry(outcome=Outcome.EMPTY, text="", raw="", mode="raw", created=5000.0))
        store.add(HistoryEntry(outcome=Outcome.FAILED, text="", raw="raw only", mode="raw", created=6000.0))
    _, tab = open_history(qtbot, config_path, write_settings, rows=history_page)
    assert "newest 200 of 202" in tab.message.text()  # the rest are not silently missing
    tab.search.setText("note 19")  # search results: the "newest 200 of …" line stayed over them
    tab.refresh()
    assert tab.table.rowCount() == 11 and "newest" not in tab.message.text()  # 19, 190-199
    tab.search.setText("")
    tab.refresh()
    QGuiApplication.clipboard().setText("keep me")
    tab.table.selectRow(0)  # a failed paste: only Whisper's words were kept
    tab.copy_selected()
    assert QGuiApplication.clipboard().text() == "raw only"  # what the row shows, not ""
    QGuiApplication.clipboard().setText("keep me")
    assert tab.copy_button.isEnabled()
    tab.table.selectRow(1)  # nothing heard: Copy (and Paste again) offered nothing to copy
    assert not tab.copy_button.isEnabled() and not tab.paste_button.isEnabled()
    tab.copy_selected()  # (the Ctrl+C of the table)
    assert QGuiApplication.clipboard().text() == "keep me" and "Nothing to copy" in tab.message.text()
    tab.table.clearSelection()
    tab.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
    for row in (0, 1, 2):
        tab.table.selectRow(row)
    tab.delete_selected()  # all three, not the first alone
    answer_delete(qtbot, tab)
    qtbot.waitUntil(lambda: tab.message.text() == "Deleted 3 entries.", timeout=5000)
    with HistoryStore() as store:
        assert store.count() == 199 and history.Outcome.FAILED not in {e.outcome for e in store.list(limit=5)}


def test_history_selection_follows_its_entry_when_a_dictation_lands(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """A dictation landing while a row is selected shifts the rows down: Delete must still
    delete the entry the user picked, not the one that moved into its row."""
    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore
    from app.ui.qt_bridge import EngineBridge

    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="older note", mode="raw", created=1000.0))
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="newer note", mode="raw", created=2000.0))
    write_settings(Settings())
    bridge = EngineBridge()
    live = LiveSettings(load_settings(config_path).settings, config_path)
    window = SettingsWindow(TabContext(live, None, bridge))
    qtbot.addWidget(window)
    window.show()
    window.show_tab("history")
    tab = window.pages["history"]
    qtbot.waitUntil(lambda: tab.table.rowCount() == 2, timeout=5000)
    tab.table.selectRow(1)
    assert tab.selected().text == "older note"
    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="just dictated", mode="raw", created=3000.0))
    bridge.utterance.emit(object())  # what the engine sends when a dictation is done
    qtbot.waitUntil(lambda: tab.table.rowCount() == 3, timeout=5000)
    assert [e.text for e in tab.selected_entries()] == ["older note"]
    tab.delete_selected()
    answer_delete(qtbot, tab)
    qtbot.waitUntil(lambda: tab.message.text() == "Deleted 1 entry.", timeout=5000)
    with HistoryStore() as store:
        assert [e.text for e in store.list(limit=5)] == ["just dictated", "newer note"]
    tab.table.selectRow(1)
    assert tab.selected().text == "newer note"
    tab.search.setText("newer")  # the search moves the entry to row 0: the selection goes along
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=5000)
    assert [e.text for e in tab.selected_entries()] == ["newer note"]


def test_history_paste_again_says_what_it_did(  # type: ignore[no-untyped-def]
    qtbot, x_env, config_path: Path, write_settings
) -> None:
    """After Copy, "Paste again" left "Copied." on show: it said what it had not done."""
    from app.engine import Engine
    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore

    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="hello again", mode="raw"))
    write_settings(Settings())
    engine = Engine(Settings(), enable_hotkeys=False, enable_audio=False)  # not started: nothing is pasted
    try:
        live = LiveSettings(load_settings(config_path).settings, config_path)
        window = SettingsWindow(TabContext(live, engine))
        qtbot.addWidget(window)
        window.show()
        window.show_tab("history")
        tab = window.pages["history"]
        qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=5000)
        tab.table.selectRow(0)
        tab.copy_button.click()
        assert tab.message.text() == "Copied."
        assert tab.paste_button.isEnabled()
        tab.paste_button.click()
        assert "again into the window you were in" in tab.message.text(), tab.message.text()
    finally:
        engine.history.close()


def shown_on(qtbot, window: SettingsWindow, key: str) -> None:  # type: ignore[no-untyped-def]
    """Show ``window`` on the tab ``key``, active (keys typed go to it)."""
    window.bring_forward(key)
    qtbot.waitExposed(window)
    qtbot.waitUntil(window.isActiveWindow, timeout=10000)


def test_the_delete_key_removes_terms_and_rules(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    """Delete did nothing in the Terms and Rules tables; in a cell being edited it deletes a
    character, as before."""
    write_settings(
        Settings(
            vocabulary={"terms": ["NumPy", "PyPI"]},
            rules=[Rule(find="teh", replace="the"), Rule(find="a", replace="b")],
        )
    )
    window = open_window(qtbot, config_path)
    shown_on(qtbot, window, "vocabulary")
    tab = window.pages["vocabulary"]
    tab.terms.setFocus()
    tab.terms.selectRow(0)
    qtbot.keyClick(tab.terms, Qt.Key.Key_Delete)
    assert tab.term_list() == ["PyPI"]
    tab.rules.setFocus()
    tab.rules.selectRow(1)
    qtbot.keyClick(tab.rules, Qt.Key.Key_Delete)
    assert [r.find for r in tab.rule_list()] == ["teh"]
    commit(qtbot, window)
    got = saved(config_path)
    assert got.vocabulary.terms == ["PyPI"] and [r.find for r in got.rules] == ["teh"]
    tab.rules.setCurrentCell(0, 1)
    tab.rules.editItem(tab.rules.item(0, 1))
    editor = cell_editor(qtbot, tab.rules)
    qtbot.waitUntil(editor.hasFocus, timeout=5000)
    editor.setCursorPosition(0)
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    assert editor.text() == "he" and tab.rules.rowCount() == 1


def test_the_delete_key_asks_before_deleting_history(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore

    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="hello world", mode="raw"))
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="second note", mode="raw"))
    window, tab = open_history(qtbot, config_path, write_settings, rows=2)
    shown_on(qtbot, window, "history")
    tab.table.setFocus()
    tab.table.selectRow(0)
    qtbot.keyClick(tab.table, Qt.Key.Key_Delete)
    answer_delete(qtbot, tab, yes=False)  # asked, as the button asks; Cancel keeps it
    assert tab.table.rowCount() == 2
    qtbot.waitUntil(lambda: tab.confirm_delete is None, timeout=5000)
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_Delete)
    answer_delete(qtbot, tab)
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=5000)


def test_esc_and_ctrl_w_close_the_window_and_save_its_edits(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    s = Settings()
    s.audio.sounds = True
    write_settings(s)
    for keys in (
        (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier),
    ):
        window = open_window(qtbot, config_path)
        shown_on(qtbot, window, "vocabulary")
        tab = window.pages["vocabulary"]
        # Esc while a cell is edited ends the edit, not the window
        tab.rules.setRowCount(0)
        tab.add_rule(Rule(find="teh", replace="the"))
        tab.rules.setCurrentCell(0, 1)
        tab.rules.editItem(tab.rules.item(0, 1))
        editor = cell_editor(qtbot, tab.rules)
        qtbot.waitUntil(editor.hasFocus, timeout=5000)
        qtbot.keyClick(editor, Qt.Key.Key_Escape)
        assert window.isVisible()
        general = window.pages["general"]
        general.sounds.setChecked(not general.sounds.isChecked())  # pending when the key comes
        window.show_tab("general")
        general.sounds.setFocus()
        qtbot.keyClick(general.sounds, keys[0], keys[1])
        qtbot.waitUntil(lambda w=window: not w.isVisible(), timeout=5000)  # type: ignore[misc]
        assert not window._dirty
        assert saved(config_path).audio.sounds is general.sounds.isChecked()
        assert [r.find for r in saved(config_path).rules] == ["teh"]


def test_advanced_tab(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    tab = window.pages["advanced"]
    tab.log_level.setCurrentIndex(tab.log_level.findData("DEBUG"))
    commit(qtbot, window)
    assert saved(config_path).ui.log_level == "DEBUG"
    tab.run_doctor()
    qtbot.waitUntil(lambda: "Checks done:" in tab.output.toPlainText(), timeout=60000)
    assert tab.doctor_button.isEnabled()


def test_an_open_button_that_opens_nothing_says_so(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, tmp_path: Path, monkeypatch
) -> None:
    """The folder buttons did nothing, without a word, where no file manager opens a folder
    (no xdg-open here: an empty PATH)."""
    from app.paths import get_paths

    write_settings(Settings())
    window = open_window(qtbot, config_path)
    tab = window.pages["advanced"]
    monkeypatch.setenv("PATH", str(tmp_path))
    assert tab.open_folder(get_paths().data_dir) is False
    assert tab.open_problem.isVisibleTo(tab)
    assert f"No file manager opened {get_paths().data_dir}" in tab.open_problem.text()


def test_an_open_button_says_so_when_xdg_open_finds_no_file_manager(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """Qt's openUrl said yes as soon as xdg-open started; xdg-open then found no file manager
    (none is installed here: the real xdg-open exits 3) and the button did nothing, silently."""
    from app.paths import get_paths
    from app.ui.file_manager import xdg_opener

    assert xdg_opener() is not None, "xdg-open is missing (apt-get install xdg-utils)"
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    tab = window.pages["advanced"]
    assert tab.open_folder(get_paths().data_dir) is True  # started
    qtbot.waitUntil(lambda: "No file manager opened" in tab.open_problem.text(), timeout=20000)
    assert str(get_paths().data_dir) in tab.open_problem.text()
    assert tab.open_problem.isVisibleTo(tab)


def test_a_long_test_result_does_not_squeeze_the_boxes_above_it(
    qtbot, config_path: Path, write_settings
) -> None:  # type: ignore[no-untyped-def]
    # A fallback's reason (four lines at the window's size) squeezed System prompt and Template
    # to 40 px, the prompt's text drawn over the Template box: the page now scrolls instead.
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    window.resize(760, 560)
    window.show()
    window.show_tab("modes")
    tab = window.pages["modes"]
    tab.select("clean")
    qtbot.waitUntil(lambda: tab.system.height() >= tab.system.minimumHeight(), timeout=5000)
    reason = (
        "Fell back to the plain text: no model picked for mode clean, and llm's default is a cloud model. "
        * 4
    )
    tab.result.setText(f"<b>{reason}</b><br><i>no model called</i>")
    qtbot.waitUntil(
        lambda: tab.result.height() >= tab.result.heightForWidth(tab.result.width()), timeout=5000
    )
    assert tab.system.height() >= tab.system.minimumHeight() == 90, tab.system.height()
    assert tab.template.geometry().top() >= tab.system.geometry().bottom(), "the boxes overlap"
    assert tab.result.geometry().top() >= tab.sample.geometry().bottom()


def test_modes_tab_tests_the_mode_as_the_editor_shows_it(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # Test ran the saved mode: with email's model edited (not saved), it said "no model picked
    # for mode email". The model named here is one llm does not know: no call is made.
    _window, tab = open_modes(qtbot, config_path, write_settings)
    tab.select("email")
    tab.model.setText("my-edited-model-xyz")
    tab.sample.setText("tell sam the build is green")
    tab.test_button.click()
    qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=60000)
    assert "unknown llm model 'my-edited-model-xyz'" in tab.result.text(), tab.result.text()
    # Said as what it is: it read as a model's reply in bold, the failure in small italics.
    assert tab.result.text().startswith("<b>Fell back to the plain text: "), tab.result.text()
    assert "; dictation in this mode pastes: tell sam the build is green</i>" in tab.result.text()
    tab.template.setPlainText("no placeholder")  # an edit that is no mode: said, not run
    tab.test_button.click()
    assert tab.result.text().startswith("Cannot test:") and tab.test_button.isEnabled()


def test_a_mode_test_waiting_on_its_model_holds_up_no_dictation(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """From a review: Test ran the mode under the llm plugin lock, held while the model was
    asked (up to llm.timeout_s): a dictation's mode, which takes the lock to look its model
    up, waited for the Test to end, and Esc could not stop it. The runner takes the lock for
    its lookups only."""
    import time

    from app.llm.runner import ModeRunner
    from app.ui.settings.modes import save_user_mode
    from tests.fixtures.llama import SilentStub, model_entry, write_llm_models

    stub = SilentStub()  # STUB: a hung LLM server (accepts, never answers); none hangs on cue
    try:
        write_llm_models([model_entry("slow", stub.api_base)])
        save_user_mode({"name": "alpha", "system": "s", "template": "{text}", "model": "slow"})
        settings = Settings(llm={"timeout_s": 30})
        _window, tab = modes_tab(qtbot, config_path, write_settings, settings, "alpha")
        tab.sample.setText("tell sam the build is green")
        tab.test_button.click()
        assert stub.accepted.wait(30)  # the Test waits on the model
        started = time.monotonic()
        said = ModeRunner(settings).run("beta", "ship it on friday", mode=tab_mode(tab, "no-such-model-xyz"))
        assert time.monotonic() - started < 15.0  # (it waited for the Test's 30 s)
        assert "unknown llm model 'no-such-model-xyz'" in (said.fallback_reason or ""), said
        assert not tab.test_button.isEnabled()  # the Test still waits meanwhile
    finally:
        stub.close()
    qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=60000)


def tab_mode(tab, model: str):  # type: ignore[no-untyped-def]
    """The mode the Modes tab's editor shows, named beta and running on ``model``."""
    from app.llm.modes import Mode

    return Mode.model_validate({**tab.editor_data(), "name": "beta", "model": model})


def test_a_mode_put_in_use_without_its_models_key_says_so_at_once(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, monkeypatch, caplog
) -> None:
    """Use for dictation on a mode whose model needs an API key that is not stored said
    nothing: only Test, or each dictation's fallback notice, told. (No model is called.)"""
    import logging

    from app.llm.keys import set_key

    caplog.set_level(logging.DEBUG)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # (llm reads the key from there too)
    window, tab = modes_tab(qtbot, config_path, write_settings, Settings(llm={"model": "4o-mini"}), "clean")
    assert tab.result.text() == ""  # raw is in use, and needs no model
    tab.use_button.click()
    qtbot.waitUntil(lambda: "needs the openai API key" in tab.result.text(), timeout=30000)
    said = tab.result.text()
    assert said.startswith("<b>4o-mini, the model of clean, needs the openai API key"), said
    assert "dictation in this mode pastes the text the rules corrected, without the LLM" in said
    assert "<code>holdtype llm keys set openai</code>" in said
    commit(qtbot, window)  # the save refills the page: the note stays
    assert saved(config_path).modes.active == "clean"
    qtbot.waitUntil(lambda: tab._key_check is None, timeout=30000)
    assert tab.result.text() == said
    tab.select("email")  # not the mode in use: nothing said of it
    assert tab.result.text() == ""
    secret = "sk-test-not-a-real-key-0000"
    set_key("openai", secret)
    tab.select("clean")  # shown again, its key stored since: the note goes
    qtbot.waitUntil(lambda: tab.result.text() == "", timeout=30000)
    assert secret not in caplog.text


def mode_in_use_on(qtbot, config_path: Path, write_settings, model: str):  # type: ignore[no-untyped-def]
    """The window over a mode of the user's, alpha, running on ``model`` and in use, shown on
    its Modes tab with alpha chosen; returns the window and the tab."""
    from app.ui.settings.modes import save_user_mode

    save_user_mode({"name": "alpha", "system": "s", "template": "{text}", "model": model})
    window, tab = modes_tab(qtbot, config_path, write_settings, Settings(modes={"active": "alpha"}), "alpha")
    window.show()
    window.show_tab("modes")
    return window, tab


def test_the_missing_key_note_ends_when_the_mode_has_no_model_to_run_on(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, monkeypatch
) -> None:
    """From a review: the model cleared from the mode in use (no default model either), the
    note that its old model needs a key stayed: a check that found no model said nothing."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _window, tab = mode_in_use_on(qtbot, config_path, write_settings, "gpt-4o-mini")
    qtbot.waitUntil(lambda: "needs the openai API key" in tab.result.text(), timeout=30000)
    tab.model.setText("")  # the default model, and there is none usable: no model at all
    assert tab.save_current() is not None
    qtbot.waitUntil(lambda: tab._key_check is None, timeout=30000)
    assert tab.result.text() == "" and tab._key_note is None


def test_a_key_check_of_the_modes_previous_model_brings_no_note_back(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, monkeypatch
) -> None:
    """From a review: key checks start on every refill and finish in any order; a slow check of
    the mode's previous model (a first plugin load) landed after the check of its new one and
    brought back the note that the previous model needs a key."""
    import threading

    import app.llm.setup

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    looked_up = app.llm.setup.missing_key_of
    let_go, slow_done = threading.Event(), threading.Event()

    def slow_for_the_old_model(model_id: str) -> str | None:
        if model_id != "gpt-4o-mini":
            return looked_up(model_id)
        let_go.wait(60)
        try:
            return looked_up(model_id)
        finally:
            slow_done.set()

    monkeypatch.setattr(app.llm.setup, "missing_key_of", slow_for_the_old_model)
    _window, tab = mode_in_use_on(qtbot, config_path, write_settings, "gpt-4o-mini")
    qtbot.waitUntil(lambda: tab._key_check is not None, timeout=5000)  # (held back)
    checks = tab._key_seq
    tab.ctx.live.update("history", retention_days=7)  # a refill: nothing new to look up
    assert tab._key_seq == checks  # (the check running already will do)
    tab.model.setText("my-local-model-xyz")  # a model llm does not know: no key is missing
    assert tab.save_current() is not None
    let_go.set()
    qtbot.waitUntil(slow_done.is_set, timeout=30000)
    qtbot.waitUntil(lambda: tab._key_check is None, timeout=30000)
    qtbot.wait(300)  # (the old check's result, if it were taken)
    assert "needs the openai API key" not in tab.result.text() and tab._key_note is None


def test_a_mode_saved_with_a_model_llm_does_not_know_says_so(
    qtbot, config_path: Path, write_settings
) -> None:  # type: ignore[no-untyped-def]
    # A typo in a mode's model was saved without a word: only Test, or a dictation's fallback
    # notice, told. (No model is called: the name is only looked up.)
    _window, tab = open_modes(qtbot, config_path, write_settings)
    tab.new_mode()
    tab.name.setText("memo")
    tab.model.setText("no-such-model-xyz")
    assert tab.save_current() is not None
    qtbot.waitUntil(lambda: "knows no model 'no-such-model-xyz'" in tab.origin.text(), timeout=30000)
    assert tab.origin.text().startswith("saved to ")
    tab.model.setText("")  # no model of its own: nothing to look up
    assert tab.save_current() is not None
    assert tab.origin.text().startswith("saved to ") and "note:" not in tab.origin.text()


def test_a_test_result_goes_with_its_mode(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # The previous mode's test result stayed under the mode shown next, and under a new one.
    _window, tab = open_modes(qtbot, config_path, write_settings)
    tab.select("clean")
    tab.result.setText("<b>a reply of clean</b>")
    tab.select("email")
    assert tab.result.text() == ""
    tab.result.setText("<b>a reply of email</b>")
    tab.new_mode()
    assert tab.result.text() == ""


def test_the_focus_comes_back_to_test_when_its_run_ends(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # Disabled while the mode ran, Test gave its focus to "Hotkey for this mode": the Space or
    # Enter that followed started a key capture there.
    _window, tab = open_modes(qtbot, config_path, write_settings, shown=True)
    tab.select("email")
    tab.model.setText("my-edited-model-xyz")  # one llm does not know: no call is made
    tab.test_button.setFocus()
    qtbot.waitUntil(tab.test_button.hasFocus, timeout=5000)
    qtbot.keyClick(tab.test_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: tab.test_button.isEnabled() and "Running" not in tab.result.text(), timeout=60000)
    qtbot.waitUntil(tab.test_button.hasFocus, timeout=5000)
    assert not tab.bind_field.hasFocus()


@pytest.mark.llm
def test_modes_tab_tests_a_mode_on_the_local_llm(qtbot, local_llm, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    s = Settings()
    s.llm.model = local_llm.model_id
    s.llm.timeout_s = 240.0  # ~6 s here; a call that times out is not cached, and this tests the cache
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["modes"]
    tab.new_mode()
    tab.name.setText("tidy")
    tab.system.setPlainText("Fix the punctuation of the text. Reply with the text only.")
    assert tab.save_current() is not None
    tab.sample.setText("hello there how are you today")
    before = local_llm.requests
    tab.test_button.click()
    qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=300000)
    first = tab.result.text()
    assert f"model {local_llm.model_id}" in first, first
    assert local_llm.requests > before
    sent = local_llm.requests
    tab.test_button.click()
    qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=300000)
    assert "from the cache" in tab.result.text(), (first, tab.result.text())
    assert local_llm.requests == sent  # the cache answered


def test_testing_the_commit_mode_sends_no_staged_changes_of_where_holdtype_started(  # type: ignore[no-untyped-def]
    qtbot, local_llm, config_path: Path, write_settings, tmp_path: Path, monkeypatch
) -> None:
    """From a review: Test ran the commit mode with the staged diff of the folder the tray was
    started in (a private repository, a home folder kept in git), sent to the mode's model;
    dictation sends one only of the focused window's folder. The Test sends none."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "plans.py").write_text("def launch_rocket():\n    return 'to mars on tuesday'\n")
    subprocess.run([*git, "add", "plans.py"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    s = Settings()
    s.llm.model = local_llm.model_id
    s.llm.timeout_s = 240.0
    _window, tab = modes_tab(qtbot, config_path, write_settings, s, "commit")
    tab.sample.setText("add the launch plans")
    before = local_llm.requests
    tab.test_button.click()
    qtbot.waitUntil(lambda: tab.test_button.isEnabled(), timeout=300000)
    assert local_llm.requests > before, tab.result.text()
    sent = json.dumps(local_llm.bodies[before:])
    assert "add the launch plans" in sent and "launch_rocket" not in sent and "mars" not in sent


def test_advanced_tab_runs_doctor_in_a_frozen_bundle(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, tmp_path: Path, monkeypatch
) -> None:
    """In the PyInstaller bundle sys.executable is Holdtype itself: `-m app` made it print
    "No such option '-m'" instead of the doctor's report."""
    import sys

    from tests.cli import ROOT

    # FAKE: a frozen build cannot be made in a test; this script takes the CLI arguments the way
    # the bundle's executable does (holdtype ARGS), and runs this source tree's CLI.
    frozen = tmp_path / "bundle" / "holdtype"
    frozen.parent.mkdir()
    frozen.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m app "$@"\n')
    frozen.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(frozen))
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    tab = window.pages["advanced"]
    tab.run_doctor()
    qtbot.waitUntil(lambda: "Checks done:" in tab.output.toPlainText(), timeout=60000)
    assert "No such option" not in tab.output.toPlainText()
    assert "[ok  ] python:" in tab.output.toPlainText()


def test_an_edit_that_cannot_be_saved_stays_pending(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    """A save refused by a real check (no API key is written to the settings file): the edit
    was marked saved all the same, so closing the window or the next edit elsewhere never
    tried it again."""
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    tab = window.pages["vocabulary"]
    tab.add_rule(Rule(find="my key", replace="sk-proj-" + "Ab3" * 16))
    qtbot.waitUntil(
        lambda: "Could not save" in window.status.text() or "Not saved" in window.status.text(), timeout=5000
    )
    assert "vocabulary" in window._dirty
    assert saved(config_path).rules == []
    tab.rules.item(0, 1).setText("ana@example.com")  # fixed: the pending edit goes in
    commit(qtbot, window)
    assert [(r.find, r.replace) for r in saved(config_path).rules] == [("my key", "ana@example.com")]


def test_a_refused_value_is_not_echoed_in_the_message(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # An API key pasted as the model was refused with pydantic's raw text, which repeats the
    # input: part of the key was shown in the window (and in a mode's "Not saved" line).
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    key = "sk-proj-" + "Ab3xY9" * 8
    window.pages["llm"].model.setEditText(key)
    qtbot.waitUntil(lambda: "saved" in window.status.text().lower(), timeout=5000)
    assert "Not saved" in window.status.text() or "Could not save" in window.status.text()
    assert "Ab3xY9" not in window.status.text() and "input_value" not in window.status.text()
    assert saved(config_path).llm.model is None
    modes = window.pages["modes"]
    modes.new_mode()
    modes.name.setText("mine")
    modes.model.setText(key)
    assert modes.save_current() is None
    assert "Not saved" in modes.origin.text()
    assert "Ab3xY9" not in modes.origin.text() and "input_value" not in modes.origin.text()


def test_the_model_in_use_cannot_be_removed(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    """Removed, it could not be loaded at the next start; another downloaded model can be."""
    import shutil

    from app.transcribe.models import downloaded_path, embedded_model_path

    for name in ("base.en", "small.en"):  # real model files (the embedded tiny.en's), as if downloaded
        shutil.copytree(embedded_model_path(), downloaded_path(name))
    s = Settings()
    s.model.name = "base.en"
    write_settings(s)
    window = open_window(qtbot, config_path)
    tab = window.pages["model"]
    tab.select("base.en")
    assert not tab.remove_button.isEnabled()
    tab.select("small.en")
    assert tab.remove_button.isEnabled()
    tab.remove_selected()
    assert not downloaded_path("small.en").exists() and downloaded_path("base.en").is_dir()


def test_after_use_this_model_the_table_shows_it_in_use_and_will_not_remove_it(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """The table kept showing the old model in use: the new one could be removed at once, and
    the next start had no model to load."""
    import shutil

    from app.transcribe.models import downloaded_path, embedded_model_path

    shutil.copytree(embedded_model_path(), downloaded_path("base.en"))  # as if downloaded
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    tab = window.pages["model"]
    tab.select("base.en")
    tab.use_selected()
    commit(qtbot, window)
    assert saved(config_path).model.name == "base.en"
    tab.select("base.en")
    assert tab.table.item(1, 5).text() == "in use" and tab.table.item(1, 0).text() == "base.en"
    assert not tab.remove_button.isEnabled() and not tab.use_button.isEnabled()
    tab.remove_selected()  # (asked anyway: refused)
    assert downloaded_path("base.en").is_dir() and "model in use" in tab.message.text()


def test_a_mode_being_written_survives_a_settings_change_elsewhere(
    qtbot, config_path: Path, write_settings
) -> None:  # type: ignore[no-untyped-def]
    """Every settings change (another tab, the tray, `holdtype vocab add`) refilled the Modes
    tab from the mode files: a new mode being written, or edits to one, were wiped."""
    window, tab = open_modes(qtbot, config_path, write_settings)
    tab.new_mode()
    qtbot.keyClicks(tab.system, " Keep it short.")
    window.pages["general"].sounds.setChecked(not window.pages["general"].sounds.isChecked())
    commit(qtbot, window)
    assert "Keep it short." in tab.system.toPlainText() and tab.system.isEnabled()
    assert tab.selected_name() is None and tab.name.text() == "my-mode"
    # edits to a saved mode too; choosing another mode in the list shows that one
    tab.select("email")
    qtbot.keyClicks(tab.template, " Sign it Ana.")
    s = saved(config_path)
    s.vocabulary.terms = ["PyPI"]
    window.ctx.live.commit(s)  # as from another process: the window takes the file's settings
    assert "Sign it Ana." in tab.template.toPlainText() and tab.selected_name() == "email"
    tab.select("clean")
    assert "Sign it Ana." not in tab.template.toPlainText()


def test_choosing_another_mode_with_unsaved_edits_asks_first(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings
) -> None:
    """Edits to a mode were dropped without a word when another mode was clicked in the list
    (every other tab saves as you type). The tab now asks: Save, Discard, or Cancel."""
    from PySide6.QtWidgets import QMessageBox

    from app.llm.modes import load_modes

    _window, tab = open_modes(qtbot, config_path, write_settings)

    def click(name: str) -> None:
        row = next(
            r for r in range(tab.list.count()) if tab.list.item(r).data(Qt.ItemDataRole.UserRole) == name
        )
        rect = tab.list.visualItemRect(tab.list.item(row))
        qtbot.mouseClick(tab.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    click("email")
    assert tab.confirm_switch is None  # nothing edited yet: no question
    qtbot.keyClicks(tab.template, " Sign it Ana.")
    click("clean")
    box = tab.confirm_switch
    assert box is not None and "'email'" in box.text() and "'clean'" in box.text()
    assert tab.selected_name() == "email" and "Sign it Ana." in tab.template.toPlainText()
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: tab.confirm_switch is None)
    assert tab.selected_name() == "email" and "Sign it Ana." in tab.template.toPlainText()

    click("clean")
    tab.confirm_switch.button(QMessageBox.StandardButton.Discard).click()
    assert tab.selected_name() == "clean" and "Sign it Ana." not in tab.template.toPlainText()
    assert "Sign it Ana." not in load_modes()["email"].template

    click("email")
    qtbot.keyClicks(tab.template, " Sign it Bo.")
    click("clean")
    tab.confirm_switch.button(QMessageBox.StandardButton.Save).click()
    assert tab.selected_name() == "clean"
    assert "Sign it Bo." in load_modes()["email"].template


def test_explanatory_notes_are_readable(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The notes under the settings were Qt's ``mid`` grey: #b8b8b8 on #fbfbfb, a contrast of
    about 1.9:1 (WCAG asks 4.5:1 for text)."""
    from PySide6.QtGui import QColor, QPalette

    from app.ui.settings.base import note

    label = note("Pre-roll keeps the last moment")
    qtbot.addWidget(label)
    font = label.font()
    font.setPointSize(48)  # glyphs wide enough to have pixels of the text's own colour
    label.setFont(font)
    label.adjustSize()
    image = label.grab().toImage()

    def luminance(color: QColor) -> float:
        def channel(value: int) -> float:
            c = value / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        red, green, blue = (channel(v) for v in (color.red(), color.green(), color.blue()))
        return 0.2126 * red + 0.7152 * green + 0.0722 * blue

    back = label.palette().color(QPalette.ColorRole.Window)
    drawn = [image.pixelColor(x, y) for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)]
    text = max(drawn, key=lambda c: abs(luminance(c) - luminance(back)))  # as rendered
    lighter, darker = sorted((luminance(text), luminance(back)), reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 4.5, (text.name(), back.name())


def test_history_tab_says_why_an_entry_failed(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    """A failed dictation with no words showed an empty row: its reason, kept in history, was
    nowhere to be seen. It stands in for the text now, and the outcome's tooltip gives it."""
    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore

    reason = "model 'small.en' is not installed; download it with `holdtype models download small.en`"
    with HistoryStore() as store:
        failed = Outcome.FAILED
        store.add(HistoryEntry(outcome=failed, text="", raw="", mode="raw", created=1000.0, error=reason))
        store.add(HistoryEntry(outcome=failed, text="kept words", mode="raw", created=2000.0, error="x"))
    _, tab = open_history(qtbot, config_path, write_settings, rows=2)
    words, silent = 0, 1  # newest first
    assert tab.table.item(words, 1).text() == "kept words" and tab.table.item(words, 4).toolTip() == "x"
    assert tab.table.item(silent, 1).text() == f"({reason})"
    assert tab.table.item(silent, 1).font().italic() and tab.table.item(silent, 4).toolTip() == reason


def test_the_saved_line_keeps_its_colour_save_after_save(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    """Each save mixed the line's colour from its own palette, which the last save had already
    lightened: after a few saves "Saved" was the colour of the background."""
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    sounds = window.pages["general"].sounds
    colours = []
    for _ in range(5):
        sounds.setChecked(not sounds.isChecked())
        commit(qtbot, window)
        assert window.status.text() == "Saved — changes are in effect."
        colours.append(window.status.styleSheet())
    assert len(set(colours)) == 1, colours


def test_a_default_model_llm_does_not_offer_is_said(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    """A typo in the model's name was saved without a word: only a dictation's notice told."""
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    tab = window.pages["llm"]
    qtbot.waitUntil(lambda: tab._job is None, timeout=20000)
    tab.model.setEditText("gpt-4o-mnii")
    assert "gpt-4o-mnii</b> is not a model llm offers" in tab.models_note.text()
    assert "#c62828" in tab.models_note.styleSheet()  # a warning, not the grey of a note
    # A model whose key is missing is said to need one (from a review: picked without a key,
    # only a dictation's notice, or Test, told).
    tab.model.setEditText("4o-mini")  # an alias llm takes
    assert "4o-mini</b> needs an API key (openai)" in tab.models_note.text()
    assert "holdtype llm keys set openai" in tab.models_note.text()
    from app.llm.keys import set_key

    set_key("openai", "sk-test-not-a-real-key-0000")
    tab.refresh()
    qtbot.waitUntil(lambda: tab._job is None, timeout=20000)
    assert "models reachable" in tab.models_note.text()
    assert "#c62828" not in tab.models_note.styleSheet()
    tab.model.setEditText("")  # none: no model runs, nothing to say
    assert "models reachable" in tab.models_note.text()
    # From a review: pasted with a zero-width space, a name that reads right was "not a model
    # llm offers", and was saved with it.
    tab.model.setEditText(" gpt-4o-mini\u200b")
    assert "models reachable" in tab.models_note.text()
    commit(qtbot, window)
    assert saved(config_path).llm.model == "gpt-4o-mini"
