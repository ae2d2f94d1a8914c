"""A message said under a field (a value refused, a test's result, "Copied.") comes and goes
without moving the controls around it: every settings page kept them hidden, taking no room,
and each message pushed what was below it down a line (or, under a table, pulled the buttons
above it up), under the pointer."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from app.config import Settings, load_settings
from app.ui.settings.base import TabContext
from app.ui.settings.live import LiveSettings
from app.ui.settings.window import SettingsWindow

SET = None  # the message is said by setting the line's text


def _note(text: str):  # type: ignore[no-untyped-def]
    """The note on a page that starts with ``text``."""
    return lambda tab: next(label for label in tab.findChildren(QLabel) if label.text().startswith(text))


#: (page, the message line, a control near it, how the tab says a message there).
LINES = [
    pytest.param("general", lambda t: t.hotkey_problem, lambda t: t.hold, SET, id="hotkey"),
    pytest.param("general", lambda t: t.min_hold.problem, lambda t: t.start_at_login, SET, id="min-hold"),
    pytest.param("audio", lambda t: t.test_result, lambda t: t.pre_roll, SET, id="mic-test"),
    pytest.param("audio", lambda t: t.pre_roll.problem, lambda t: t.keep_audio, SET, id="pre-roll"),
    pytest.param("model", lambda t: t.language_note, lambda t: t.short_context, SET, id="language"),
    pytest.param("vocabulary", lambda t: t.term_note, lambda t: t.autocorrect, SET, id="term"),
    pytest.param("vocabulary", lambda t: t.rule_problem, lambda t: t.try_input, SET, id="rule"),
    pytest.param("modes", lambda t: t.bind_problem, lambda t: t.apps_field, SET, id="mode-hotkey"),
    pytest.param(
        "modes",
        lambda t: t.apps_problem,
        _note("Apps by window class"),
        lambda t, text: t._say_moved([text] if text else []),
        id="mode-apps",
    ),
    pytest.param("llm", lambda t: t.timeout.problem, lambda t: t.retries, SET, id="llm-timeout"),
    # above it, under the table: the table gave the line its room, and the buttons went up
    pytest.param("history", lambda t: t.message, lambda t: t.copy_button, SET, id="history"),
    pytest.param("advanced", lambda t: t.open_problem, lambda t: t.log_level, SET, id="open-folder"),
]


def settled(qtbot, label: QLabel) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page was laid out for ``label``'s text (shown, as tall as its lines)."""

    def done() -> bool:
        QApplication.sendPostedEvents()
        if not label.text():
            return True
        return label.isVisible() and label.height() >= label.heightForWidth(label.width()) > 0

    qtbot.waitUntil(done, timeout=5000)
    QApplication.sendPostedEvents()
    QApplication.processEvents()


def apart(widget: QWidget, label: QLabel) -> int:
    """How far ``widget`` starts below ``label``, in pixels (a message elsewhere on the page, the
    Audio page's note about the devices found, moves both alike)."""
    return widget.mapToGlobal(QPoint(0, 0)).y() - label.mapToGlobal(QPoint(0, 0)).y()


@pytest.mark.parametrize(("key", "line", "control", "say"), LINES)
def test_a_message_comes_and_goes_without_moving_the_controls(  # type: ignore[no-untyped-def]
    qtbot, config_path: Path, write_settings, key: str, line, control, say
) -> None:
    write_settings(Settings())
    window = SettingsWindow(TabContext(LiveSettings(load_settings(config_path).settings, config_path)))
    qtbot.addWidget(window)
    window.show()
    window.show_tab(key)
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.height() >= window._wanted_height(), timeout=5000)  # grown once shown
    page = window.pages[key]
    label, widget = line(page), control(page)
    say = say or (lambda _tab, text: label.setText(text))
    say(page, "")
    settled(qtbot, label)
    before = apart(widget, label)
    say(page, "This value cannot be used here.")  # one line, as most are
    settled(qtbot, label)
    assert label.isVisible() and label.height() > 0
    assert apart(widget, label) == before, f"{widget} moved when the message showed"
    say(page, "")
    settled(qtbot, label)
    assert apart(widget, label) == before, f"{widget} moved when the message went"
