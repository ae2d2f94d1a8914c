"""Modes tab: the LLM modes, editing the user's own, testing one, and binding one to a hotkey."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.config import HotkeySettings, ModesSettings, Settings, describe_error
from app.errors import HoldtypeError
from app.hotkey.binding import check_hotkey
from app.llm.keys import set_key_hint
from app.paths import ensure_dir, get_paths, private_file, replace_file
from app.textfile import read_text
from app.ui.settings.base import (
    Job,
    SettingsTab,
    TabContext,
    bring_into_view,
    note,
    open_question,
    secondary_text_color,
    section,
)
from app.ui.settings.widgets import (
    FitsItsLines,
    HotkeyField,
    ProblemLabel,
    as_html,
    buddy_label,
    keep_room,
    with_line,
)

log = logging.getLogger(__name__)


def save_user_mode(data: dict[str, Any], folder: Path | None = None) -> Path:
    """Validate ``data`` as a mode and write it to the user's modes folder; return the file."""
    from app.llm.modes import RAW, Mode

    mode = Mode.model_validate(data)
    if mode.name == RAW:  # a file for it is not used (see load_modes)
        raise ValueError("raw is the built-in mode without an LLM; pick another name")
    folder = folder or get_paths().modes_dir
    ensure_dir(folder)
    path = folder / f"{mode.name}.toml"
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(mode.to_toml_dict()), encoding="utf-8")
    replace_file(tmp, path)
    return path


def kept_draft_path() -> Path:
    """Where a mode being written that could not be saved when Holdtype quit waits for the
    Modes tab to show it again (see :meth:`ModesTab.stop`)."""
    return get_paths().data_dir / "mode-draft.json"


#: The editor's fields, as a kept draft holds them (their text, valid or not).
_FIELDS = ("name", "description", "model", "system", "template", "schema", "output_field")


class ModesTab(SettingsTab):
    """List, edit, test and bind LLM modes."""

    title = "Modes"
    key = "modes"

    def __init__(self, ctx: TabContext) -> None:
        """Build the list and the editor."""
        super().__init__(ctx)
        self.list = QListWidget()
        self.list.setObjectName("modes-list")
        self.list.setAccessibleName("Modes")
        self.list.setAccessibleDescription("The mode picked here is shown in the editor beside it")
        self.list.currentItemChanged.connect(self._selection_changed)
        self.use_button = QPushButton("Use for dictation")
        self.use_button.setObjectName("use-mode")
        self.use_button.clicked.connect(self.use_selected)
        new_button = QPushButton("New mode")
        new_button.clicked.connect(self.new_mode)
        left = QVBoxLayout()
        left.setContentsMargins(-1, 0, -1, 0)  # (the page's margins are above and below: see right)
        left.addWidget(self.list, 1)
        left.addWidget(self.use_button)
        left.addWidget(new_button)
        left_box = QWidget()
        left_box.setLayout(left)

        form = QFormLayout()
        self.name = QLineEdit()
        self.description = QLineEdit()
        self.model = QLineEdit()
        self.model.setPlaceholderText("default model (LLM tab)")
        self.system = QPlainTextEdit()
        self.system.setMinimumHeight(90)  # grows with the window: the prompt is most of a mode
        self.template = QPlainTextEdit()
        self.template.setMaximumHeight(60)
        self.schema = QPlainTextEdit()
        self.schema.setMaximumHeight(60)
        self.schema.setPlaceholderText('optional JSON schema, e.g. {"type": "object", "properties": {...}}')
        self.output_field = QLineEdit()
        self.output_field.setPlaceholderText("schema field that is inserted")
        form.addRow("&Name:", self.name)
        form.addRow("&Description:", self.description)
        form.addRow("&Model:", self.model)
        form.addRow("&System prompt:", self.system)
        form.addRow("&Template ({text}):", self.template)
        form.addRow("Sc&hema:", self.schema)
        form.addRow("&Output field:", self.output_field)
        self.save_button = QPushButton("Save mode")
        self.save_button.clicked.connect(self.save_current)
        self.delete_button = QPushButton("Delete mode")  # "Restore built-in" for a copy of one
        self.delete_button.setObjectName("delete-mode")
        self.delete_button.clicked.connect(self.delete_selected)
        self.delete_button.setEnabled(False)  # until a mode of the user's is shown
        self.origin = QLabel("")  # (plain text: it names paths, and the model typed in)
        self.origin.setTextFormat(Qt.TextFormat.PlainText)
        self.origin.setWordWrap(True)

        self.sample = QLineEdit("so um I think we should uh meet on tuesday at three")
        self.sample.setObjectName("mode-sample")
        self.sample.setAccessibleName("Sample text")
        self.sample.setAccessibleDescription("The text Test runs the mode on")
        self.sample.setCursorPosition(0)  # (its start shown: the field is not as wide as the text)
        self.test_button = QPushButton("Test")
        self.test_button.setObjectName("test-mode")
        self.test_button.clicked.connect(self.test_selected)
        test_row = QHBoxLayout()  # (its label beside the text, as the rows below have theirs)
        test_row.addWidget(buddy_label("T&ry it on sample text:", self.sample))
        test_row.addWidget(self.sample, 1)
        test_row.addWidget(self.test_button)
        self.result = keep_room(QLabel(""), rich=True)  # (a reply in bold, how it came in italics)
        self.result.setObjectName("mode-result")
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.bind_field = HotkeyField()
        self.bind_field.setObjectName("mode-hotkey")
        self.bind_field.setAccessibleName("Hotkey for this mode")
        self.bind_field.setAccessibleDescription("Press Enter or Space, then the key or combination to use")
        self.bind_field.captured.connect(self._bind_captured)
        self.unbind_button = QPushButton("Remove binding")
        self.unbind_button.clicked.connect(self.unbind_selected)
        self.unbind_button.setEnabled(False)  # until a mode with a key is shown
        bind_row = QHBoxLayout()
        bind_row.addWidget(buddy_label("Hot&key for this mode:", self.bind_field))
        bind_row.addWidget(self.bind_field, 1)
        bind_row.addWidget(self.unbind_button)
        self.bind_problem = ProblemLabel()

        self.apps_field = QLineEdit()
        self.apps_field.setObjectName("mode-apps")
        self.apps_field.setAccessibleName("Apps that use this mode")
        self.apps_field.setAccessibleDescription("Window classes or app ids, separated by commas")
        self.apps_field.setPlaceholderText("e.g. thunderbird, Slack (comma-separated)")
        self.apps_field.editingFinished.connect(self._apps_edited)
        apps_row = QHBoxLayout()
        apps_row.addWidget(buddy_label("&Use it on its own in:", self.apps_field))
        apps_row.addWidget(self.apps_field, 1)
        # What is wrong with the apps named, or (grey: not an error) those of them taken from
        # another mode: one line for both, never said at once (a refused edit moves no app), whose
        # room is kept (two kept lines made the page scroll further on an 800 px screen).
        self.apps_problem = ProblemLabel(rich=True)
        self.apps_problem.setObjectName("mode-apps-problem")
        self.stale_apps = QLabel("")  # apps tied to a mode that is gone (deleted since)
        self.stale_apps.setTextFormat(Qt.TextFormat.PlainText)
        self.stale_apps.setObjectName("stale-apps")
        self.stale_apps.setWordWrap(True)
        self.forget_stale = QPushButton("Forget them")
        self.forget_stale.clicked.connect(self.forget_stale_apps)
        stale_row = QHBoxLayout()
        stale_row.addWidget(self.stale_apps, 1)
        stale_row.addWidget(self.forget_stale)

        right = QVBoxLayout()
        # Above and below, the page's margins are the editor's: its own as well, the page had
        # two margins at each end, and scrolled further on an 800 px screen.
        right.setContentsMargins(-1, 0, -1, 0)
        right.addLayout(form)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.origin, 1)
        right.addLayout(buttons)
        right.addLayout(with_line(test_row, self.result))
        right.addLayout(with_line(bind_row, self.bind_problem))
        right.addLayout(with_line(apps_row, self.apps_problem))
        right.addLayout(stale_row)
        right.addWidget(
            note(
                "Apps by window class or app id, as the History tab's App column names the app "
                "each dictation went into. Dictating into one of them uses this mode instead of "
                "the one in use; a mode's hotkey still picks its mode."
            )
        )
        right.addWidget(
            note(
                "Built-in modes are read-only; saving one under its name makes your own copy "
                '("Restore built-in" deletes it). Saving a mode of yours under another name '
                "renames it; a built-in one is copied."
            )
        )
        right_box = FitsItsLines()  # (its notes and a test's result wrap: room is kept for them)
        right_box.setLayout(right)
        splitter = QSplitter()
        splitter.addWidget(left_box)
        splitter.addWidget(right_box)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([180, 560])  # the list holds short names; the editor needs the room
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._modes: dict[str, Any] = {}
        self._builtins: set[str] = set()  # the names of the modes Holdtype ships
        self._mode_keys: dict[str, str] = {}
        self._mode_apps: dict[str, str] = {}
        self._active = "raw"
        self._job: Job | None = None
        self._refocus = False  # the Test button had the focus when its run began
        self._model_check: Job | None = None  # looking up a saved mode's model
        self._model_said = ""  # what the line under the buttons said of that save
        self._key_check: Job | None = None  # looking up the key of the mode in use's model
        self._key_note: tuple[str, str] | None = None  # (mode, what to say): its model has no key
        self._key_seq = 0  # the number of the latest key check: only its result is taken
        self._key_asked: tuple[str, str, str] | None = None  # what that check looks up
        self._draft_item: QListWidgetItem | None = None  # the mode being edited, in the list
        # The editor holds edits not saved to a mode file (a new mode, or changes to one):
        # a reload of the list (any settings change, here or from the CLI) keeps them.
        self._draft = False
        self._filling = False  # the editor is being filled from a mode, not edited
        self._editing: Any = None  # the mode the editor was filled from (None: a new one)
        self._quiet_select = False  # the list's selection is changed by code: no question
        self._kept_shown = False  # a draft kept when Holdtype last quit was looked for
        self._fresh: dict[str, str] = {}  # the editor's texts as "New mode" filled them
        self.confirm_switch: QMessageBox | None = None  # the open "Save your changes…?" question
        self.confirm_delete: QMessageBox | None = None  # the open "Delete mode…?" question
        for line in (self.name, self.description, self.model, self.output_field):
            line.textEdited.connect(self._edited)
        for box in (self.system, self.template, self.schema):
            box.textChanged.connect(self._edited)

    @contextlib.contextmanager
    def _filling_editor(self) -> Iterator[None]:
        """While the editor is filled from a mode or a template: no edit of the user's."""
        self._filling = True
        try:
            yield
        finally:
            self._filling = False

    def _edited(self, *_: object) -> None:
        if not self._filling:
            self._draft = True

    # --- list -----------------------------------------------------------------------------
    def reload_modes(self) -> None:
        """Re-read the mode files and refill the list."""
        from app.llm.modes import builtin_names, load_modes

        try:
            self._modes = load_modes()
            self._builtins = builtin_names()
        except HoldtypeError as exc:
            self.origin.setText(str(exc))
            self._modes = {}
        selected = self.selected_name()
        if selected is None and not self._draft:  # a new mode's draft has none selected
            selected = self._active
        self.list.blockSignals(True)
        self.list.clear()
        for name, mode in self._modes.items():
            keys = [k for k, m in self._mode_keys.items() if m == name]
            label = name + ("  ✓ in use" if name == self._active else "")
            if keys:
                label += f"  [{', '.join(keys)}]"
            apps = self._apps_of(name)
            if apps:
                label += f"  in {', '.join(apps)}"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(getattr(mode, "description", ""))
            self.list.addItem(item)
            if name == selected:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._show_stale_apps()
        if not self._draft:
            self._show_selected()

    def stale_ties(self) -> dict[str, str]:
        """The ``modes.apps`` entries whose mode is not among the modes (deleted since it was
        tied, or its file broken): dictation there uses the mode in use. Empty while the modes
        could not be read at all."""
        if not self._modes:
            return {}
        return {app: mode for app, mode in self._mode_apps.items() if mode not in self._modes}

    def _show_stale_apps(self) -> None:
        from app.llm.modes import unusable_ties

        stale = self.stale_ties()
        lines = [
            f"{', '.join(apps)}: tied to '{mode}', "
            + (f"whose file is broken ({why})." if why else "which is gone.")
            for mode, apps, why in unusable_ties(stale)
        ]
        self.stale_apps.setText("\n".join([*lines, "The mode in use applies there."]) if stale else "")
        self.stale_apps.setVisible(bool(stale))
        self.forget_stale.setVisible(bool(stale))

    def forget_stale_apps(self) -> None:
        """Drop the apps tied to a mode that is gone (:meth:`stale_ties`)."""
        stale = self.stale_ties()
        if stale:
            self._mode_apps = {app: mode for app, mode in self._mode_apps.items() if app not in stale}
            self.changed()
            self.reload_modes()

    def selected_name(self) -> str | None:
        """The name of the selected mode."""
        item = self.list.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def select(self, name: str) -> None:
        """Select mode ``name`` in the list and show it (unsaved edits are dropped: the caller
        saved them, or means to drop them)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self._quiet_select = True
                try:
                    self.list.setCurrentRow(row)
                finally:
                    self._quiet_select = False
                return

    def _selection_changed(self, current: QListWidgetItem | None, previous: QListWidgetItem | None) -> None:
        """Show the mode the user chose; with unsaved edits in the editor, ask first (they were
        dropped without a word, where every other tab saves as you type)."""
        if not self._draft or self._quiet_select or current is None:
            self._show_selected()
            return
        target = str(current.data(Qt.ItemDataRole.UserRole))
        # The draft's mode stays selected until answered: now, and again once the click that
        # chose the other one is over (it went on to highlight that one, the editor showing
        # the draft, and "Use for dictation" took the draft's mode).
        self._draft_item = previous
        self._set_current_quietly(previous)
        QTimer.singleShot(0, self._keep_draft_selected)
        self._ask_about_draft(f"before showing '{target}'", lambda: self.select(target))

    def _keep_draft_selected(self) -> None:
        """Select the draft's mode again, unless the question let it go (Save, Discard)."""
        if self._draft and self._draft_item is not None:
            self._set_current_quietly(self._draft_item)

    def _set_current_quietly(self, item: QListWidgetItem | None) -> None:
        """Make ``item`` the list's current one (None: none at all, not only unselected: the
        actions follow the current item), without showing it in the editor."""
        self.list.blockSignals(True)
        if item is None:
            self.list.setCurrentRow(-1)
            self.list.clearSelection()
        else:
            self.list.setCurrentItem(item, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.list.blockSignals(False)

    def _ask_about_draft(self, before: str, then: Callable[[], object]) -> None:
        """Ask whether to save the editor's changes ``before`` doing what ``then`` does (show
        another mode, close the window): the question is :attr:`confirm_switch`, open until
        answered; Cancel (and Esc) keeps editing."""
        if self.confirm_switch is not None:
            return
        name = self.name.text().strip() or "this mode"
        buttons = QMessageBox.StandardButton
        self.confirm_switch = open_question(
            self,
            "modes-unsaved-confirm",
            ("Unsaved mode", f"Save your changes to mode '{name}' {before}?"),
            buttons.Save | buttons.Discard | buttons.Cancel,
            buttons.Save,
            answered=lambda answer: self._draft_answered(answer, then),
            closed=self._asked,
        )

    def _draft_answered(self, answer: QMessageBox.StandardButton, then: Callable[[], object]) -> None:
        if answer == QMessageBox.StandardButton.Save:
            if self.save_current() is None:
                return  # not saved: the reason is shown, and the edits stay
        elif answer == QMessageBox.StandardButton.Discard:
            self._draft = False
            self.reload_modes()  # the editor shows a saved mode again, not the dropped edits
        else:
            return
        then()

    def close_requested(self, close: Callable[[], object]) -> bool:
        """With unsaved edits to a mode, ask Save / Discard / Cancel first (closing the window
        kept them in the editor alone, unsaid, until the app quit); ``close`` once answered."""
        if not self._unsaved():
            return True
        self._ask_about_draft("before closing the settings", close)
        return False

    def _unsaved(self) -> bool:
        """Whether the editor holds edits of the user's not saved: a new mode left as "New
        mode" filled it is none (closing or quitting would ask about, or save, "my-mode")."""
        return self._draft and not (self._editing is None and self._texts() == self._fresh)

    def _texts(self) -> dict[str, str]:
        """The editor's fields as they read, valid or not."""
        texts = {key: line.text() for key, line in self._lines().items()}
        texts.update(
            system=self.system.toPlainText(),
            template=self.template.toPlainText(),
            schema=self.schema.toPlainText(),
        )
        return texts

    def _asked(self) -> None:
        """The question was answered (or closed): let it go; after Cancel the draft's mode is
        the one selected."""
        self.confirm_switch = None
        self._keep_draft_selected()
        self._draft_item = None

    def _set_editable(self, editable: bool) -> None:
        """Let the mode's fields be edited and saved, or not (the built-in raw mode)."""
        for widget in (
            self.system,
            self.template,
            self.schema,
            self.model,
            self.output_field,
            self.description,
        ):
            widget.setEnabled(editable)
        self.save_button.setEnabled(editable)

    def _show_selected(self, *_: object) -> None:
        mode = self._modes.get(self.selected_name() or "")
        if mode is None:
            return
        with self._filling_editor():
            self._fill_editor(mode)
        self._draft = False

    def _fill_editor(self, mode: Any) -> None:
        if mode is not self._editing:  # another mode's test result is not this one's
            self.result.setText("")
        self._editing = mode
        self.name.setText(mode.name)
        self.description.setText(mode.description)
        self.description.setCursorPosition(0)  # its start shown, not its end
        self.model.setText(mode.model or "")
        self.system.setPlainText(mode.system)
        self.template.setPlainText(mode.template)
        self.schema.setPlainText(json.dumps(mode.schema_, indent=1) if mode.schema_ else "")
        self.output_field.setText(mode.output_field or "")
        is_user = _is_user(mode)
        self.origin.setText("your mode" if is_user else ("built in" if mode.source else ""))
        self._set_editable(mode.name != "raw")
        self._show_delete(mode)
        keys = [k for k, m in self._mode_keys.items() if m == mode.name]
        self._show_binding(keys[0] if keys else "")
        self.apps_field.setText(", ".join(self._apps_of(mode.name)))
        self.apps_problem.setText("")
        self._say_moved([])
        self.result.setText(self._key_said(mode.name))  # (a refill after each save keeps it)
        if mode.name == self._active:
            self._check_key(mode.name)

    # --- actions --------------------------------------------------------------------------
    def new_mode(self) -> None:
        """Start a new mode from a simple template. No mode is selected while it is drafted:
        "Use for dictation" and the mode's hotkey wait until it is saved."""
        self._set_current_quietly(None)
        self._show_binding("")
        self._show_delete(None)
        self.apps_field.setText("")
        self._say_moved([])
        with self._filling_editor():
            self._fill_new()
        self._draft = True
        self._fresh = self._texts()
        # The button is at the foot of a long page: the name to type was out of sight, and
        # "Save mode" right away saved "my-mode" with the sample prompt.
        bring_into_view(self.name)
        self.name.selectAll()

    def _fill_new(self) -> None:
        self.result.setText("")  # (the last mode's test result, shown under the new one)
        self._editing = None
        self.name.setText("my-mode")
        self.description.setText("")
        self.model.setText("")
        self.system.setPlainText("Rewrite the dictated text as requested. Reply with the text only.")
        self.template.setPlainText("{text}")
        self.schema.setPlainText("")
        self.output_field.setText("")
        self._set_editable(True)
        self.origin.setText("new (not saved yet)")

    def editor_data(self) -> dict[str, Any]:
        """The mode described by the editor fields (not validated), on top of the mode the
        editor was filled from: what the editor does not show (options, include_git_diff,
        min_ratio, max_ratio, min_overlap) is kept as that mode has it."""
        data: dict[str, Any] = self._editing.to_toml_dict() if self._editing is not None else {}
        data.update(
            name=self.name.text().strip(),
            description=self.description.text().strip(),
            system=self.system.toPlainText(),
            template=self.template.toPlainText(),
        )
        for key in ("model", "schema", "output_field"):  # emptied in the editor: unset
            data.pop(key, None)
        if self.model.text().strip():
            data["model"] = self.model.text().strip()
        schema = self.schema.toPlainText().strip()
        if schema:
            try:
                data["schema"] = json.loads(schema)
            except json.JSONDecodeError as exc:  # the field is named: JSON's message alone is not
                raise ValueError(f"Schema: {exc}") from None
        if self.output_field.text().strip():
            data["output_field"] = self.output_field.text().strip()
        return data

    def save_current(self) -> Path | None:
        """Validate and save the editor as a user mode. A mode of the user's saved under
        another name is renamed: its old file goes, and the settings that named it (the mode in
        use, its hotkey, its apps) follow it; a built-in one is copied under the new name."""
        name = self.name.text().strip()
        old = self._editing
        renamed = old is not None and old.name != name
        try:
            # Saved as a new mode, or renamed, onto another of the user's: its file was written
            # over (named alike but for case: one file, on macOS and Windows).
            if renamed or old is None:
                for other in self._modes.values():
                    if other is not old and _is_user(other) and other.name.casefold() == name.casefold():
                        raise ValueError(f"you have a mode called {other.name} already; pick another name")
            path = save_user_mode(self.editor_data())
        except (ValueError, HoldtypeError) as exc:
            self.origin.setText(f"Not saved: {describe_error(exc)}")
            return None
        said: list[str] = []
        if renamed and _is_user(old):
            from app.llm.modes import retarget_mode

            before = Path(old.source)
            try:
                if before.exists() and not before.samefile(path):  # (not a change of case alone)
                    before.unlink()
            except OSError as exc:
                log.warning("mode file %s stays: %s", before, exc)
            moved, said = retarget_mode(self.apply(self.ctx.live.settings), old.name, name)
            if said:
                self._take(moved)
                self.changed()
        self._draft = False  # saved: the list may show it afresh
        self.reload_modes()
        self.select(name)
        if renamed and _is_user(old):
            self.origin.setText("; ".join([f"renamed from {old.name}, saved to {path}", *said]))
        else:
            self.origin.setText(f"saved to {path}")
        model = self.model.text().strip()
        if model:  # a typo in the model's name showed only when the mode was tested or used
            self._check_model(model, self.origin.text())
        return path

    def _check_model(self, model: str, said: str) -> None:
        """Add to ``said`` (the line under the buttons) that llm knows no ``model``, once looked
        up off the main thread (loading llm's plugins takes a moment)."""
        from app.llm.setup import unknown_model_note

        def work(_progress: Any) -> Any:
            return unknown_model_note(model, "or pick one from the LLM tab's list")

        self._model_said = said
        job = Job(work)
        job.signals.done.connect(self._model_checked)  # (a method: gone with the tab)
        self._model_check = job.start()

    def _model_checked(self, note: Any) -> None:
        if note and self.origin.text() == self._model_said:  # (still about that save)
            self.origin.setText(f"{self._model_said}; note: {note}")

    def _take(self, settings: Settings) -> None:
        """Make the tab's values (mode in use, mode hotkeys, apps) those of ``settings``."""
        self._active = settings.modes.active
        self._mode_keys = dict(settings.hotkey.mode_keys)
        self._mode_apps = dict(settings.modes.apps)

    def _show_delete(self, mode: Any) -> None:
        """Offer to delete the mode shown, a mode of the user's: "Restore built-in" for the
        user's copy of a built-in mode; nothing for a built-in one or a new mode."""
        mine = mode is not None and _is_user(mode)
        copy = mine and mode.name in self._builtins
        self.delete_button.setText("Restore built-in" if copy else "Delete mode")
        self.delete_button.setEnabled(mine)

    def delete_selected(self) -> None:
        """Ask, then delete the selected mode of the user's (see :meth:`_delete_answered`)."""
        from app.llm.modes import retarget_mode

        name = self.selected_name() or ""
        mode = self._modes.get(name)
        if mode is None or not _is_user(mode) or self.confirm_delete is not None:
            return
        buttons = QMessageBox.StandardButton
        if name in self._builtins:
            title, action = "Restore built-in mode", "Restore built-in"
            question = f"Delete your copy of '{name}' ({mode.source}) and use the built-in '{name}' again?"
        else:
            title, action = "Delete mode", "Delete"
            _, said = retarget_mode(self.apply(self.ctx.live.settings), name, None)
            question = f"Delete your mode '{name}' ({mode.source})?"
            if said:
                question += "\n\nThen " + "; ".join(said) + "."
        if self._draft:
            question += "\n\nYour unsaved changes to it are lost."
        self.confirm_delete = open_question(
            self,
            "modes-delete-confirm",
            (title, question),
            buttons.Yes | buttons.Cancel,
            buttons.Cancel,
            answered=lambda answer: self._delete_answered(answer, name),
            closed=self._delete_asked,
        )
        yes = self.confirm_delete.button(buttons.Yes)
        yes.setText(action)

    def _delete_asked(self) -> None:
        self.confirm_delete = None

    def _delete_answered(self, answer: QMessageBox.StandardButton, name: str) -> None:
        """Delete mode ``name`` (answered Yes): the user's copy of a built-in gives the built-in
        back; a mode of the user's alone is let go in the settings too (see
        :func:`~app.llm.modes.retarget_mode`), which never name a mode that is gone."""
        if answer != QMessageBox.StandardButton.Yes:
            return
        from app.llm.modes import remove_user_mode, retarget_mode

        try:
            files, restored = remove_user_mode(name)
        except (OSError, HoldtypeError) as exc:
            self.origin.setText(f"Not deleted: {exc}")
            return
        said: list[str] = []
        if not restored:
            moved, said = retarget_mode(self.apply(self.ctx.live.settings), name, None)
            if said:
                self._take(moved)
                self.changed()
        self._draft = False
        self.reload_modes()
        self.select(name if restored else self._active)
        where = ", ".join(str(path) for path in files)
        done = f"built-in {name} restored (deleted {where})" if restored else f"deleted {name} ({where})"
        self.origin.setText("; ".join([done, *said]))

    def use_selected(self) -> None:
        """Make the selected mode the active one (shown again: :meth:`_check_key` says when its
        model needs an API key that is not stored)."""
        name = self.selected_name()
        if name:
            self._active = name
            self.changed()
            self.reload_modes()

    def _key_said(self, name: str) -> str:
        """What the line under the test says of mode ``name``: that its model has no key, when
        it is the mode in use and that was found (see :meth:`_check_key`); else nothing."""
        note = self._key_note
        return note[1] if note is not None and note[0] == name == self._active else ""

    def _check_key(self, name: str) -> None:
        """Look up, off the main thread (loading llm's plugins takes a moment), whether the model
        mode ``name`` (the one in use) runs on needs an API key that is not stored: put in use
        without one, the mode said nothing until Test, and each dictation pasted the text the
        rules corrected, without the LLM."""
        from app.llm.modes import RAW
        from app.llm.runner import NoModel, pick_model
        from app.llm.setup import missing_key_of

        mode = self._modes.get(name)
        if mode is None or name == RAW:
            return
        settings = self.ctx.live.settings
        # Every refill (any settings change) comes here: the same look-up running already will do.
        asked = (name, mode.model or "", settings.llm.model or "")
        if self._key_check is not None and asked == self._key_asked:
            return
        self._key_seq += 1
        seq = self._key_seq

        def work(_progress: Any) -> Any:
            try:
                model_id = pick_model(mode, settings)
            except NoModel:  # (no model to run it on: Test says so, and what to do; no key note)
                return (seq, name, None, None)
            key = missing_key_of(model_id)
            return (seq, name, model_id, key) if key else (seq, name, None, None)

        job = Job(work)
        job.signals.done.connect(self._key_checked)  # (methods: gone with the tab)
        job.signals.failed.connect(self._key_failed)
        self._key_asked = asked
        self._key_check = job.start()

    def _key_failed(self, message: str) -> None:
        """A key check could not be made (logged): the next refill makes another."""
        log.warning("could not look up the API key of the mode in use's model: %s", message)
        if self._key_check is not None and self.sender() is self._key_check.signals:
            self._key_check = None

    def _key_checked(self, found: Any) -> None:
        """Say that the mode in use has no key for its model, and how to store one (by its name
        only: a key is never shown), while it is shown; a key stored since, or another model
        (or none) to run on, ends the note. Only the latest check counts: checks run side by
        side and finish in any order, and one of the mode's previous model brought its note back."""
        seq, name, model_id, key = found
        if seq != self._key_seq:
            return
        self._key_check = None
        if name != self._active:
            return
        before = self._key_said(name)
        self._key_note = None
        if key:
            self._key_note = (
                name,
                f"<b>{as_html(model_id)}, the model of {as_html(name)}, needs the {as_html(key)} API key, "
                "and none is stored: until one is, dictation in this mode pastes the text the rules "
                f"corrected, without the LLM.</b><br><i>Store it with <code>{as_html(set_key_hint(key))}"
                "</code> in a terminal, or pick another model.</i>",
            )
        shown = name == self.selected_name() and not self._draft
        if shown and self.result.text() == before:  # (not over a test's result)
            self.result.setText(self._key_said(name))

    def test_selected(self) -> None:
        """Run the selected mode on the sample text in a worker thread; show result and cache state."""
        name = self.selected_name()
        if not name or self._job is not None:
            return
        from app.llm.modes import Mode
        from app.llm.runner import ModeRunner

        try:  # the mode as the editor shows it, saved or not (the saved one was run)
            mode = Mode.model_validate(self.editor_data())
        except (ValueError, HoldtypeError) as exc:
            self.result.setText(as_html(f"Cannot test: {describe_error(exc)}"))
            return
        runner = ModeRunner(self.ctx.live.settings)
        text = self.sample.text()

        def work(_progress: Any) -> Any:
            # (not under LLM_LOCK: the runner takes it for its plugin lookups; held while the
            # model was asked, it held up every dictation's mode for as long). No staged diff:
            # the runner's folder is wherever Holdtype was started, whose changes are not the
            # user's to send (dictation sends only those of the focused window's folder).
            return runner.run(mode.name, text, mode=mode, repo=False)

        job = Job(work)
        job.signals.done.connect(self._test_done)
        job.signals.failed.connect(lambda message: self._test_done(None, message))
        # Disabled, the button gave its focus to the next field, the mode's hotkey: the Enter or
        # Space that followed started a key capture. The focus comes back to it when done.
        self._refocus = self.test_button.hasFocus()
        self.test_button.setEnabled(False)
        self.result.setText(as_html(f"Running {mode.name}…"))
        self._job = job.start()

    def _test_done(self, result: Any, error: str | None = None) -> None:
        self._job = None
        self.test_button.setEnabled(True)
        if self._refocus:
            self._refocus = False
            self.test_button.setFocus()
        if result is None:
            self.result.setText(as_html(f"Failed: {error}"))
            return
        if result.cached:
            source = "from the cache"
        elif result.model:
            source = f"model {result.model}, {result.llm_ms:.0f} ms"
        else:
            source = "no model called"
        if result.fallback_reason:  # said first: the text below is no reply of a model
            reason = result.fallback_reason
            if "config set llm.model" in reason:
                reason += " (or pick a default model in the LLM tab)"
            self.result.setText(
                f"<b>Fell back to the plain text: {as_html(reason)}</b><br><i>{as_html(source)}; "
                f"dictation in this mode pastes: {as_html(result.text)}</i>"
            )
            return
        self.result.setText(f"<b>{as_html(result.text)}</b><br><i>{as_html(source)}</i>")

    def _bind_captured(self, key: str) -> None:
        name = self.selected_name()
        if not name or self._renamed():  # a new mode not saved yet: the key was kept for nothing
            self.bind_problem.setText("Save the mode first, then give it a key.")
            self._show_binding("")
            return
        others = {k: m for k, m in self._mode_keys.items() if m != name}
        hotkey = section(self.ctx.live.settings, "hotkey", mode_keys=others).hotkey
        canonical, problem = check_hotkey(key, hotkey)
        if canonical is not None:
            try:  # the clashes the settings refuse themselves: the dictation key, the cancel key
                bound = {**others, canonical: name}
                HotkeySettings.model_validate({**hotkey.model_dump(), "mode_keys": bound})
            except ValidationError as exc:
                problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
        if problem:
            self.bind_problem.setText(problem)
            kept = [k for k, m in self._mode_keys.items() if m == name]
            self._show_binding(kept[0] if kept else "")  # the binding it still has
            return
        self.bind_problem.setText("")
        self._show_binding(canonical or key)
        self._mode_keys = {k: m for k, m in self._mode_keys.items() if m != name}
        self._mode_keys[canonical or key] = name
        self.changed()
        self.reload_modes()

    def _renamed(self) -> bool:
        """Whether the editor holds unsaved edits that rename the selected mode: its key and
        apps would go to the old name."""
        return self._draft and self.name.text().strip() != self.selected_name()

    def _apps_of(self, mode: str) -> list[str]:
        """The apps tied to ``mode`` (``modes.apps``), as the user wrote them."""
        return [app for app, tied in self._mode_apps.items() if tied == mode]

    def _apps_edited(self) -> None:
        """Tie the apps in the field to the selected mode (an app tied to another mode moves)."""
        name = self.selected_name()
        typed = [app.strip() for app in self.apps_field.text().split(",") if app.strip()]
        if not name or self._renamed():  # a new mode, or one renamed, not saved yet
            if typed:
                self.apps_problem.setText(as_html("Save the mode first, then name its apps."))
            return
        if typed == self._apps_of(name):
            return
        folded = {app.casefold() for app in typed}
        others = {app.casefold(): mode for app, mode in self._mode_apps.items() if mode != name}
        moved = [(app, others[app.casefold()]) for app in typed if app.casefold() in others]
        apps = {
            app: mode
            for app, mode in self._mode_apps.items()
            if mode != name and app.casefold() not in folded
        }
        apps.update(dict.fromkeys(typed, name))
        try:
            checked = ModesSettings.model_validate({"apps": apps}).apps
        except ValidationError as exc:
            self.apps_problem.setText(as_html(exc.errors()[0]["msg"].removeprefix("Value error, ")))
            return
        self.apps_problem.setText("")
        self._mode_apps = checked
        self.changed()
        self.reload_modes()
        self._say_moved([f"{app} was tied to {mode}; now to {name}" for app, mode in moved])

    def _say_moved(self, lines: list[str]) -> None:
        """Say which apps just named were taken from another mode (an app has one mode), in
        grey, on the apps' message line (nothing else is said there then: see _apps_edited)."""
        grey = secondary_text_color(self.apps_problem)
        said = "<br>".join(as_html(line) for line in lines)
        self.apps_problem.setText(f'<span style="color: {grey};">{said}</span>' if lines else "")

    def _show_binding(self, key: str) -> None:
        """Show the selected mode's hotkey; "Remove binding" is there only when it has one."""
        self.bind_field.set_binding(key)
        self.unbind_button.setEnabled(bool(key))

    def unbind_selected(self) -> None:
        """Remove the hotkey of the selected mode."""
        name = self.selected_name()
        self._mode_keys = {k: m for k, m in self._mode_keys.items() if m != name}
        self._show_binding("")
        self.changed()
        self.reload_modes()

    # --- settings -------------------------------------------------------------------------
    def fill(self, settings: Settings) -> None:
        """Show the settings."""
        self._active = settings.modes.active
        self._mode_keys = dict(settings.hotkey.mode_keys)
        self._mode_apps = dict(settings.modes.apps)
        self.reload_modes()
        if not self._kept_shown:
            self._kept_shown = True
            self._show_kept_draft()

    def stop(self) -> None:
        """Holdtype quits with a mode being written: it is saved when it can be (every other tab
        saves as you type; it was dropped without a word); else, so that nothing typed is lost
        and nothing is asked while quitting (a logout quits too), it is kept in
        :func:`kept_draft_path`, and the tab shows it again, unsaved, the next time it opens."""
        if not self._unsaved() or self.save_current() is not None:
            self._draft = False
            return
        self._draft = False
        fields = self._texts()
        problem = self.origin.text().removeprefix("Not saved: ")
        kept = {
            "fields": fields,
            "editing": self._editing.to_toml_dict() if self._editing is not None else None,
            "source": self._editing.source if self._editing is not None else "",
            "problem": problem,
        }
        path = kept_draft_path()
        try:
            ensure_dir(path.parent, private=True)
            tmp = private_file(path.with_suffix(".json.tmp"))  # the prompts are the user's own
            tmp.write_text(json.dumps(kept, ensure_ascii=False, indent=1), encoding="utf-8")
            replace_file(tmp, path)
        except OSError as exc:
            log.warning("the unsaved mode %s is lost: %s", fields["name"], exc)
            return
        log.info("the unsaved mode %s is kept in %s: %s", fields["name"], path, problem)

    def _lines(self) -> dict[str, QLineEdit]:
        """The editor's one-line fields, by the name a mode gives them."""
        return {
            "name": self.name,
            "description": self.description,
            "model": self.model,
            "output_field": self.output_field,
        }

    def _show_kept_draft(self) -> None:
        """Show the mode draft kept when Holdtype last quit (:meth:`stop`) in the editor,
        unsaved, as it was left; the file goes (the draft is the editor's again)."""
        from app.llm.modes import Mode

        path = kept_draft_path()
        try:
            kept = json.loads(read_text(path))
            fields = {key: str(kept["fields"].get(key) or "") for key in _FIELDS}
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("the unsaved mode kept in %s cannot be read: %s", path, exc)
            return
        editing = None
        if isinstance(kept.get("editing"), dict):
            with contextlib.suppress(ValueError):  # (a ValidationError is one)
                editing = Mode.model_validate({**kept["editing"], "source": str(kept.get("source") or "")})
        name = editing.name if editing is not None and editing.name in self._modes else None
        rows = [
            r for r in range(self.list.count()) if self.list.item(r).data(Qt.ItemDataRole.UserRole) == name
        ]
        self._set_current_quietly(self.list.item(rows[0]) if rows else None)
        with self._filling_editor():
            self._editing = editing
            for key, line in self._lines().items():
                line.setText(fields[key])
            self.system.setPlainText(fields["system"])
            self.template.setPlainText(fields["template"])
            self.schema.setPlainText(fields["schema"])
            self._set_editable(True)
        keys = [k for k, m in self._mode_keys.items() if m == name] if name else []
        self._show_binding(keys[0] if keys else "")
        self.apps_field.setText(", ".join(self._apps_of(name)) if name else "")
        self._show_delete(self._modes.get(name) if name else None)
        self._draft = True
        problem = str(kept.get("problem") or "")
        self.origin.setText(
            f"Kept from when Holdtype quit, not saved{f' ({problem})' if problem else ''}: "
            "save it, or choose another mode to discard it."
        )
        with contextlib.suppress(OSError):
            path.unlink()

    def shows(self, settings: Settings) -> bool:
        """Always refilled: a refill re-reads the mode files, and keeps a draft being written."""
        return False

    def apply(self, settings: Settings) -> Settings:
        """Return the settings with this tab's values."""
        settings = section(settings, "modes", active=self._active, apps=dict(self._mode_apps))
        return section(settings, "hotkey", mode_keys=dict(self._mode_keys))


def _is_user(mode: Any) -> bool:
    """Whether ``mode`` was loaded from the user's modes folder (not built in)."""
    return bool(mode.source) and Path(mode.source).parent == get_paths().modes_dir
