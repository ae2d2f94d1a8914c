"""Every settings field can be reached with Alt+letter and has a name a screen reader says.

None of the form labels had a mnemonic, "Dictation hotkey:" named a container rather than the
key field, and the fields without a label of their own (the modes list, the model and history
tables, the history search, the doctor's output…) had no accessible name at all. A field is
named as assistive technology sees it, through Qt's accessibility interface: a name of its own,
or a label whose buddy it is (the "labelled by" relation: on Linux, the one way a combo box is
named; its accessible name there is its value).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from app.config import Settings
from tests.ui.test_settings_tabs import open_window

#: What the user types in or picks from: each needs a name.
FIELDS = (QLineEdit, QAbstractSpinBox, QComboBox, QPlainTextEdit, QAbstractItemView)


def accessible_name(widget: QWidget) -> str:
    """What assistive technology names ``widget`` by: its own accessible name, else the text
    of the label it is labelled by; empty when it has neither."""
    if widget.accessibleName().strip():
        return str(widget.accessibleName().strip())
    interface = QAccessible.queryAccessibleInterface(widget)
    labels = interface.relations(QAccessible.RelationFlag.Label) if interface is not None else []
    return " ".join(label.text(QAccessible.Text.Name).strip() for label, _relation in labels).strip()


def part_of_another_field(widget: QWidget, page: QWidget) -> bool:
    """Whether ``widget`` is a piece of a field (a combo box's line edit or its list, a table's
    header)."""
    holder = widget.parentWidget()
    while holder is not None and holder is not page:
        if isinstance(holder, (QComboBox, QAbstractSpinBox, QAbstractItemView)):
            return True
        holder = holder.parentWidget()
    return False


def test_labels_have_one_mnemonic_each_and_fields_a_name(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    assert len(window.pages) == 8  # (every tab could be built: none is checked by mistake)
    for key, page in window.pages.items():
        letters: dict[str, str] = {}  # Alt+letter: the label (or button) it belongs to
        for widget in page.findChildren(QWidget):
            if isinstance(widget, QLabel) and widget.buddy() is not None:
                buddy = widget.buddy()
                mnemonic = QKeySequence.mnemonic(widget.text()).toString()
                assert mnemonic, f"{key}: the label {widget.text()!r} has no Alt+letter (a '&' in it)"
                # Alt+letter gives its buddy the focus: a label of something that cannot take
                # it (a read-only line, a container of the field) is no buddy.
                assert buddy.focusPolicy() != Qt.FocusPolicy.NoFocus, (key, widget.text(), buddy)
                assert accessible_name(buddy), (key, widget.text(), buddy)
            elif isinstance(widget, QAbstractButton):
                mnemonic = QKeySequence.mnemonic(widget.text()).toString()
            else:
                continue
            if mnemonic:
                taken = letters.get(mnemonic)
                assert taken is None, f"{key}: {mnemonic} is both {taken!r} and {widget.text()!r}"
                letters[mnemonic] = widget.text()
        for field in page.findChildren(QWidget):
            if isinstance(field, FIELDS) and not part_of_another_field(field, page):
                assert accessible_name(field), (key, type(field).__name__, field.objectName())
    assert len(letters) > 0  # (the walk found the labels: the last page, Advanced, has some)


def test_the_dictation_hotkey_label_leads_to_the_key_field(qtbot, config_path: Path, write_settings) -> None:  # type: ignore[no-untyped-def]
    # It pointed at the row holding the field and its Change… button: Alt+letter did nothing,
    # and the field had no name.
    write_settings(Settings())
    window = open_window(qtbot, config_path)
    window.show()
    qtbot.waitExposed(window)
    tab = window.pages["general"]
    labels = [label for label in tab.findChildren(QLabel) if label.buddy() is tab.hotkey]
    assert [label.text().replace("&", "") for label in labels] == ["Dictation hotkey:"]
    assert accessible_name(tab.hotkey) == "Dictation hotkey"
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    tab.strategy.setFocus()
    qtbot.waitUntil(tab.strategy.hasFocus, timeout=5000)
    letter = QKeySequence.mnemonic(labels[0].text())[0].key()
    qtbot.keyClick(tab.strategy, letter, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(tab.hotkey.hasFocus, timeout=5000)
    assert not tab.hotkey.capturing  # (focused, not listening for a key yet)
