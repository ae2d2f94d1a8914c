"""Vocabulary & Rules tab: the user's terms and replacement rules, import/export, a try-it box."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.config import Rule, Settings, check_terms, clean_term, term_problem
from app.errors import ConfigError, HoldtypeError
from app.text.termfile import read_vocabulary_file, write_vocabulary_file
from app.ui.settings.base import SettingsTab, TabContext, on_delete_key, secondary_text_color, section
from app.ui.settings.widgets import PROBLEM_COLOUR, ProblemLabel, as_html, keep_room, with_line

log = logging.getLogger(__name__)

RULE_COLUMNS = ("Find", "Replace with", "Regex", "Match case")
#: On the Replace cell of a rule added with "Add rule" whose replacement was never entered: such
#: a rule is not saved (an empty replacement deletes its words from every dictation).
UNCONFIRMED = Qt.ItemDataRole.UserRole + 1
# A term cell's term as it was shown or added: kept in the file while a term that cannot be one
# is typed over it, until that is fixed.
SHOWN_TERM = Qt.ItemDataRole.UserRole + 2


def check_rule(rule: Rule) -> str | None:
    """Return why ``rule`` is invalid (e.g. a regex that does not compile), or None."""
    try:
        from app.text.rules import validate_rule
    except ImportError:
        return None
    try:
        validate_rule(rule)
    except HoldtypeError as exc:
        return str(exc)
    return None


def try_text(text: str, settings: Settings) -> str:
    """Run ``text`` through the vocabulary and rules as dictation would."""
    from app.text.pipeline import TextPipeline

    return str(TextPipeline(settings.vocabulary, settings.rules).apply(text))


class VocabularyTab(SettingsTab):
    """Terms and replacement rules."""

    title = "Vocabulary && Rules"
    key = "vocabulary"

    def __init__(self, ctx: TabContext) -> None:
        """Build the two tables, import/export and the try-it box."""
        super().__init__(ctx)
        terms_box = QGroupBox("Vocabulary: words and names Holdtype should spell your way")
        self.terms = QTableWidget(0, 1)
        self.terms.setObjectName("terms-table")
        self.terms.setAccessibleName("Vocabulary terms")
        self.terms.setHorizontalHeaderLabels(["Term"])
        self.terms.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.terms.verticalHeader().setVisible(False)
        self.terms.verticalHeader().setDefaultSectionSize(24)
        self.terms.itemChanged.connect(self._term_edited)
        self.new_term = QLineEdit()
        self.new_term.setObjectName("new-term")
        self.new_term.setAccessibleName("New term")
        self.new_term.setAccessibleDescription("A word or name to add to the vocabulary; Enter adds it")
        self.new_term.setPlaceholderText("e.g. scikit-learn, PyPI, Kubernetes")
        self.new_term.returnPressed.connect(self.add_term)
        add_term = QPushButton("Add")
        add_term.clicked.connect(self.add_term)
        remove_term = QPushButton("Remove")
        remove_term.setObjectName("remove-term")
        remove_term.clicked.connect(lambda: self._remove_rows(self.terms))
        _enabled_by_selection(remove_term, self.terms)
        on_delete_key(self.terms, lambda: self._delete_key(self.terms))
        row = QHBoxLayout()
        row.addWidget(self.new_term, 1)
        row.addWidget(add_term)
        row.addWidget(remove_term)
        opts = QHBoxLayout()
        self.autocorrect = QCheckBox("Fix near misses (“psychic learn” → scikit-learn)")
        self.autocorrect.toggled.connect(self.changed)
        self.bias = QComboBox()
        for value, label, tip in (
            (
                "prompt",
                "Hint terms in the prompt",
                "Whisper reads as if the terms had just been said before: it then spells them as "
                "listed. Measured best on our jargon recordings (the default).",
            ),
            (
                "hotwords",
                "Hint terms as hotwords",
                "The terms go in as faster-whisper's hotwords, a hint placed before everything "
                "else Whisper is told; it leaves the prompt to the text said just before.",
            ),
            ("both", "Prompt and hotwords", "Both hints at once."),
            (
                "none",
                "Don't hint the model",
                "Whisper hears without hints; near misses are still fixed when that is ticked.",
            ),
        ):
            self.bias.addItem(label, value)
            self.bias.setItemData(self.bias.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.bias.setToolTip("How the terms steer Whisper as it listens (hover a choice for what it does)")
        self.bias.setAccessibleName("How the terms hint the model")
        self.bias.currentIndexChanged.connect(self.changed)
        opts.addWidget(self.autocorrect)
        opts.addStretch(1)
        opts.addWidget(self.bias)
        self.prompt_note = QLabel("")
        self.prompt_note.setObjectName("prompt-note")
        self.prompt_note.setWordWrap(True)
        self.prompt_note.setVisible(False)
        terms_layout = QVBoxLayout(terms_box)
        terms_layout.addWidget(self.terms)
        # A term typed that is listed already (grey: not an error); one refused, or a term in
        # the table that cannot be one (in red).
        self.term_note = ProblemLabel()
        self._term_problem = False  # the note says what is wrong (in red)
        self.new_term.textEdited.connect(lambda _: self._check_terms(anew=True))  # (said of the last one)
        self.term_note.setObjectName("term-note")
        self._say_term("")
        terms_layout.addLayout(with_line(row, self.term_note))
        terms_layout.addLayout(opts)
        terms_layout.addWidget(self.prompt_note)
        self.edited.connect(self._update_prompt_note)
        self.edited.connect(self._check_terms)

        rules_box = QGroupBox("Replacement rules (whole words, after the vocabulary)")
        self.rules = QTableWidget(0, len(RULE_COLUMNS))
        self.rules.setObjectName("rules-table")
        self.rules.setAccessibleName("Replacement rules")
        self.rules.setHorizontalHeaderLabels(RULE_COLUMNS)
        self.rules.setToolTip(
            "Each rule replaces a whole word or phrase, in order, after the vocabulary.\n"
            "In a replacement, \\n is a line break and \\t a tab; an empty replacement deletes the word."
        )
        self.rules.verticalHeader().setVisible(False)
        self.rules.verticalHeader().setDefaultSectionSize(24)
        header = self.rules.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.rules.itemChanged.connect(self._rule_edited)
        # An editor closed on the Replace cell with Enter or Tab, changed or not: the
        # replacement is entered (left empty, it is a rule that deletes its words). Closed by
        # a click elsewhere, an empty one is not: Find, Tab, a click away saved a deletion.
        self.rules.itemDelegate().closeEditor.connect(self._replace_entered)
        add_rule = QPushButton("Add rule")
        add_rule.clicked.connect(self.new_rule)
        remove_rule = QPushButton("Remove")
        remove_rule.clicked.connect(lambda: self._remove_rows(self.rules))
        _enabled_by_selection(remove_rule, self.rules)
        on_delete_key(self.rules, lambda: self._delete_key(self.rules))
        import_button = QPushButton("Import…")
        import_button.clicked.connect(self._import_dialog)
        export_button = QPushButton("Export…")
        export_button.clicked.connect(self._export_dialog)
        buttons = QHBoxLayout()
        for b in (add_rule, remove_rule):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(import_button)
        buttons.addWidget(export_button)
        # The rules that cannot run, then (grey: not an error) the new ones not in use yet: one
        # line for both, whose room is kept (two lines kept made the page too tall to fit).
        self.rule_problem = ProblemLabel(rich=True)  # (in red what cannot run; in grey what waits)
        self.rule_problem.setObjectName("rule-problem")
        rules_layout = QVBoxLayout(rules_box)
        rules_layout.addWidget(self.rules)
        rules_layout.addLayout(with_line(buttons, self.rule_problem))
        _no_bottom_margin(rules_layout)

        try_box = QGroupBox("Try it")
        form = QFormLayout(try_box)
        self.try_input = QLineEdit()
        self.try_input.setObjectName("try-input")
        self.try_input.setPlaceholderText("type a sentence as Whisper might hear it")
        self.try_input.textChanged.connect(self.update_try)
        self.try_output = keep_room(QLabel(""))
        self.try_output.setObjectName("try-output")
        self.try_output.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("&Before:", self.try_input)
        form.addRow(QLabel("After:"), self.try_output)  # (no buddy: the result takes no focus)
        _no_bottom_margin(form)

        layout = QVBoxLayout(self)
        layout.addWidget(terms_box, 2)
        layout.addWidget(rules_box, 2)
        layout.addWidget(try_box)

    # --- tables ---------------------------------------------------------------------------
    def add_term(self, text: str | None = None) -> None:
        """Add a term (from the entry field when ``text`` is not given). A term already in the
        list is selected instead; one that differs only in case is a new term (``LLM`` the
        acronym, ``llm`` the tool), as with ``holdtype vocab add``. One that cannot be a term
        ("🚀", "# tools") is refused with the reason `vocab add` gives, and stays in the field:
        taken into the list, it kept every term added after it from being saved."""
        term = clean_term(text if isinstance(text, str) else self.new_term.text())
        if not term:
            return
        try:
            check_terms([term])
        except ConfigError as exc:
            self._say_term(f"Not added: {exc}", problem=True)
            return
        rows = [
            r
            for r in range(self.terms.rowCount())
            if (i := self.terms.item(r, 0)) and i.text().strip() == term
        ]
        self.new_term.clear()
        if rows:  # nothing changes: no edit, and no "Saved"
            self.terms.selectRow(rows[0])
            self._say_term(f"“{term}” is already in the list.")
            return
        self._say_term("")
        twins = self._case_twins(term)
        with self._one_edit():
            self._append_term(term)
        self._say_if_ordinary(term)
        if twins:  # (as `holdtype vocab add` says)
            self._say_term(
                f"“{term}” differs from “{twins[0]}” only in case: both are kept, and a transcript "
                "gets the casing closest to what Whisper wrote. If it was a slip, remove it."
            )

    def _case_twins(self, term: str) -> list[str]:
        """The terms in the list spelled as ``term`` but for case; none for a lower-case English
        word beside its name ("rust" beside Rust keeps the word where Whisper writes it)."""
        from app.text.english import english_word

        if term.islower() and english_word(term):
            return []
        listed = [i.text().strip() for r in range(self.terms.rowCount()) if (i := self.terms.item(r, 0))]
        return [t for t in listed if t != term and t.casefold() == term.casefold()]

    def _say_if_ordinary(self, term: str) -> None:
        """Say so when ``term`` is also an English word or said as one ("sequel" for SQL), which
        it will now be written as (as `holdtype vocab add` does)."""
        from app.text.ordinary import ordinary_words

        terms = [i.text().strip() for r in range(self.terms.rowCount()) if (i := self.terms.item(r, 0))]
        word = ordinary_words([term], terms).get(term)
        if word is not None:
            said = "an English word" if word == term.lower() else f"said as English (“{word}”)"
            self._say_term(
                f"“{term}” is also {said}: a dictated “{word}” will be written “{term}”. "
                f"To keep the word where Whisper writes it in lower case, add “{word}” too."
            )

    def _say_term(self, text: str, problem: bool = False) -> None:
        """Say ``text`` under the terms: what is wrong in red (``problem``), a note in grey."""
        colour = PROBLEM_COLOUR if problem else secondary_text_color(self.term_note)
        self.term_note.setStyleSheet(f"color: {colour};")
        self.term_note.setText(text)
        self._term_problem = problem and bool(text)

    def _term_edited(self, item: QTableWidgetItem) -> None:
        if not self._loading:
            self.changed()  # (and the terms are checked: :meth:`_check_terms`)

    def _check_terms(self, anew: bool = False) -> None:
        """Mark each term in the table that cannot be one (a cell typed over with "🚀"): in red,
        why in its tooltip, and said under the table; one typed in is not saved (the others
        are) until it is fixed or removed. What the line said of something else goes when
        ``anew`` (a term being typed) or once it said what was wrong."""
        problems = []
        with self.quietly():  # (marking a cell is no edit)
            for row in range(self.terms.rowCount()):
                item = self.terms.item(row, 0)
                if item is None:
                    continue
                term = clean_term(item.text())
                problem = term_problem(term) if term else None
                tip = f"Not a term: {problem}" if problem else ""
                if item.toolTip() != tip:  # (each cell set again repainted the table)
                    item.setData(Qt.ItemDataRole.ForegroundRole, QColor(PROBLEM_COLOUR) if problem else None)
                    item.setToolTip(tip)
                if problem:
                    problems.append(f"“{term}” ({problem})")
                elif term and item.data(SHOWN_TERM) != term:
                    item.setData(SHOWN_TERM, term)  # (the term kept should one be typed over it)
        if problems:
            more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
            self._say_term(f"Not a term: {'; '.join(problems[:3])}{more}. Fix or remove it.", problem=True)
        elif anew or self._term_problem:
            self._say_term("")

    def _append_term(self, term: str) -> None:
        """Append ``term`` to the table (reported by the caller: setting the cell is no edit)."""
        with self.quietly():
            row = self.terms.rowCount()
            self.terms.insertRow(row)
            item = QTableWidgetItem(term)
            item.setData(SHOWN_TERM, term)
            self.terms.setItem(row, 0, item)
            self.terms.scrollToItem(item)

    @contextmanager
    def _one_edit(self) -> Iterator[None]:
        """Report what is changed inside as one edit, once it is done: each term added reported
        itself twice, and each report measured the whole vocabulary against Whisper's prompt
        (200 imported terms froze the window for seconds)."""
        with self.quietly():
            yield
        self.changed()

    def add_rule(self, rule: Rule) -> None:
        """Append ``rule`` to the rules table."""
        self._insert_rule_row(rule)
        self.changed()

    def new_rule(self) -> None:
        """Append an empty rule and start typing its Find cell. Nothing is saved until Find has
        text (a row without one is skipped): a placeholder rule was saved at once, and deleted
        its words from every dictation. Nor until its replacement is entered (typed, or its cell
        left empty with Enter or Tab): Find typed and Enter saved the rule with an empty
        replacement, which deleted that word from every dictation meanwhile."""
        row = self._insert_rule_row(
            Rule.model_construct(find="", replace="", regex=False, case_sensitive=False)
        )
        replace = self.rules.item(row, 1)
        if replace is not None:
            with self.quietly():
                replace.setData(UNCONFIRMED, True)
        self.rules.setCurrentCell(row, 0)
        self.rules.scrollTo(self.rules.currentIndex())
        self.rules.edit(self.rules.currentIndex())

    def _unconfirmed(self, row: int) -> bool:
        """Whether the rule in ``row`` waits for its replacement (see :meth:`new_rule`)."""
        item = self.rules.item(row, 1)
        return item is not None and bool(item.data(UNCONFIRMED))

    def _confirm(self, row: int) -> None:
        """The replacement of the rule in ``row`` is entered: the rule is in use from now on."""
        item = self.rules.item(row, 1)
        if item is not None and item.data(UNCONFIRMED):
            with self.quietly():
                item.setData(UNCONFIRMED, None)

    def _replace_entered(self, editor: QWidget, hint: QAbstractItemDelegate.EndEditHint) -> None:
        """An editor was closed on a cell: on an unconfirmed rule's Replace cell, by Enter or
        Tab, that enters its replacement, empty as it may be (an unchanged cell reports no
        other edit)."""
        if hint == QAbstractItemDelegate.EndEditHint.NoHint:  # (focus gone elsewhere)
            return
        index = self.rules.indexAt(editor.geometry().center())
        if index.isValid() and index.column() == 1 and self._unconfirmed(index.row()):
            self._confirm(index.row())
            self._rules_changed()

    def _insert_rule_row(self, rule: Rule) -> int:
        with self.quietly():
            row = self.rules.rowCount()
            self.rules.insertRow(row)
            self.rules.setItem(row, 0, QTableWidgetItem(rule.find))
            self.rules.setItem(row, 1, QTableWidgetItem(rule.replace))
            for col, value in ((2, rule.regex), (3, rule.case_sensitive)):
                item = QTableWidgetItem("")
                item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                item.setCheckState(Qt.CheckState.Checked if value else Qt.CheckState.Unchecked)
                self.rules.setItem(row, col, item)
        return row

    def _delete_key(self, table: QTableWidget) -> None:
        """Delete pressed in ``table``: remove the selected rows, as Remove does."""
        if table.selectedIndexes():
            self._remove_rows(table)

    def _remove_rows(self, table: QTableWidget) -> None:
        rows = sorted({i.row() for i in table.selectedIndexes()}, reverse=True)
        if not rows and table.rowCount():
            return
        for row in rows:
            table.removeRow(row)
        if table is self.rules:
            self._check_rules()  # the message of a rule removed went on showing
        self.changed()

    def term_list(self) -> list[str]:
        """The terms in the table."""
        out = []
        for row in range(self.terms.rowCount()):
            item = self.terms.item(row, 0)
            if item is not None and item.text().strip():
                out.append(item.text().strip())
        return out

    def _rule_rows(self, unconfirmed: bool = False) -> list[Rule]:
        """Every rule in the table, as typed (not validated; rows without a ``find`` skipped, and
        new rules whose replacement was never entered unless ``unconfirmed``)."""
        out = []
        for row in range(self.rules.rowCount()):
            if self._unconfirmed(row) and not unconfirmed:
                continue
            cells = [self.rules.item(row, c) for c in range(len(RULE_COLUMNS))]
            find = cells[0].text() if cells[0] is not None else ""
            if not find.strip():
                continue
            out.append(
                Rule.model_construct(
                    find=find,
                    replace=cells[1].text() if cells[1] is not None else "",
                    regex=cells[2] is not None and cells[2].checkState() == Qt.CheckState.Checked,
                    case_sensitive=cells[3] is not None and cells[3].checkState() == Qt.CheckState.Checked,
                )
            )
        return out

    def rule_list(self) -> list[Rule]:
        """The rules in the table. One that cannot run (a regex that does not compile) raises
        ValueError naming it: the window then says "Not saved" and keeps the tab's edits,
        this rule's and the others', until it is fixed."""
        rules = []
        for rule in self._rule_rows():
            problem = check_rule(rule)
            if problem:
                raise ValueError(f"a rule cannot run: {problem}")
            rules.append(Rule.model_validate(rule.model_dump()))
        return rules

    def _rule_edited(self, item: QTableWidgetItem) -> None:
        if self._loading:
            return
        if item.column() == 1:
            self._confirm(item.row())  # its replacement typed: a new rule is in use now
        elif self._unconfirmed(item.row()):  # not in use yet: nothing to save
            self._check_rules()
            return
        self._rules_changed()

    def _rules_changed(self) -> None:
        self._check_rules()
        # An edit that cannot run is an edit all the same: the window tries to save it, says
        # "Not saved" and keeps it until it is fixed (it was left unmarked, so the next save
        # refilled the table over it and said "Saved").
        self.changed()

    def _check_rules(self) -> None:
        """Say under the table which rules cannot run (nothing when all can), and which new
        ones are not in use yet."""
        problems = [p for p in (check_rule(r) for r in self._rule_rows(unconfirmed=True)) if p]
        waiting = []
        for row in range(self.rules.rowCount()):
            find = self.rules.item(row, 0)
            if find is not None and find.text().strip() and self._unconfirmed(row):
                waiting.append(f"“{find.text()}”")
        said = [(PROBLEM_COLOUR, "; ".join(problems))] if problems else []
        if waiting:
            said.append(
                (
                    secondary_text_color(self.rule_problem),
                    f"Not in use yet: {', '.join(waiting)}. Enter what replaces it in “Replace with” "
                    "(left empty, on purpose, the words are deleted).",
                )
            )
        self.rule_problem.setText(
            "<br>".join(f'<span style="color: {c};">{as_html(t)}</span>' for c, t in said)
        )

    # --- import / export ------------------------------------------------------------------
    def import_file(self, path: Path) -> None:
        """Merge the terms and rules of ``path`` (text, TOML or CSV, see
        :mod:`app.text.termfile`) into the tables."""
        terms, rules = read_vocabulary_file(path)
        with self._one_edit():
            listed = set(self.term_list())  # (looked up term by term in the table: quadratic)
            for text in terms:
                term = " ".join(text.split())
                if term and term not in listed:
                    listed.add(term)
                    self._append_term(term)
            for rule in rules:
                self._insert_rule_row(rule)

    def export_file(self, path: Path) -> None:
        """Write the tables to ``path`` (TOML or CSV by suffix)."""
        write_vocabulary_file(path, self.term_list(), self.rule_list())

    def _import_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Import vocabulary", "", "Vocabulary (*.txt *.toml *.csv);;All files (*)"
        )
        if name:
            try:
                self.import_file(Path(name))
            except HoldtypeError as exc:
                self.rule_problem.setText(as_html(f"Could not import: {exc}"))

    def _export_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export vocabulary", "vocabulary.toml", "TOML (*.toml);;CSV (*.csv);;Terms only (*.txt)"
        )
        if name:
            try:
                self.export_file(Path(name))
            except (OSError, ValueError, HoldtypeError) as exc:  # also a rule that cannot run,
                # (or rules for a .txt)
                self.rule_problem.setText(as_html(f"Could not export {name}: {exc}"))

    # --- try it ---------------------------------------------------------------------------
    def update_try(self) -> None:
        """Show the try-it sentence after the current (unsaved) vocabulary and rules."""
        text = self.try_input.text()
        if not text.strip():
            self.try_output.setText("")
            return
        try:
            settings = self.apply(self.ctx.live.settings)
            self.try_output.setText(try_text(text, settings))
        except ImportError:
            self.try_output.setText("(the text pipeline is not available in this build)")
        except (HoldtypeError, ValueError) as exc:
            self.try_output.setText(f"(cannot apply: {exc})")

    def _update_prompt_note(self) -> None:
        """Tell when Whisper's prompt window cannot hold every term (and the bias uses one)."""
        from app.text.pipeline import PROMPT_BIASES, prompt_coverage

        if self.bias.currentData() not in PROMPT_BIASES:
            self.prompt_note.setVisible(False)
            return
        named, total = prompt_coverage(self.term_list())
        self.prompt_note.setText(
            f"Whisper's prompt holds the newest {named} of {total} terms. An older one is hinted "
            "only when a first reading seems to say it (one more decode: slower), and every "
            "term is still corrected."
        )
        self.prompt_note.setVisible(named < total)

    # --- settings -------------------------------------------------------------------------
    def fill(self, settings: Settings) -> None:
        """Show the settings."""
        self.terms.setRowCount(0)
        for term in settings.vocabulary.terms:
            row = self.terms.rowCount()
            self.terms.insertRow(row)
            item = QTableWidgetItem(term)
            item.setData(SHOWN_TERM, term)
            self.terms.setItem(row, 0, item)
        self.rules.setRowCount(0)
        for rule in settings.rules:
            self.add_rule(rule)
        self.autocorrect.setChecked(settings.vocabulary.autocorrect)
        self.bias.setCurrentIndex(max(0, self.bias.findData(settings.vocabulary.bias)))
        self._update_prompt_note()
        self._check_terms()
        self._check_rules()  # a new rule not in use yet is gone with the refill, and its note

    def apply(self, settings: Settings) -> Settings:
        """Return the settings with this tab's values. A term that cannot be one ("...", a
        control character), typed into a cell, raises ConfigError naming it, and the window
        says "Not saved" (one ``settings`` hold already, from a file edited by hand, is kept as
        it is: the file still loads); so does a rule that cannot run (ValueError)."""
        terms = self.term_list()
        saved = set(settings.vocabulary.terms)
        check_terms([term for term in terms if clean_term(term) not in saved])
        return self._with_terms(settings, terms).model_copy(update={"rules": self.rule_list()})

    def apply_saveable(self, settings: Settings) -> Settings:
        """What :meth:`apply` refused saved without it: the terms but those that cannot be
        (one typed over a cell with "🚀" kept every term from being saved, and Quit lost them),
        with the term each of those was typed over kept until it is fixed, their choices, and
        the rules unless one cannot run (one bad regex kept a term just added from being saved);
        the rest is saved once it is fixed."""
        saved = set(settings.vocabulary.terms)
        terms: list[str] = []
        for row in range(self.terms.rowCount()):
            item = self.terms.item(row, 0)
            term = item.text().strip() if item is not None else ""
            if not term:
                continue
            if (c := clean_term(term)) in saved or not term_problem(c):
                terms.append(term)
                continue
            # The term it was typed over stays until it is fixed: a quit that cannot ask (a
            # logout) lost both. (Only that one: a term deleted meanwhile is deleted.)
            was = item.data(SHOWN_TERM) if item is not None else None
            if isinstance(was, str) and was.strip() and was.strip() not in terms:
                terms.append(was.strip())
        settings = self._with_terms(settings, terms)
        try:
            return settings.model_copy(update={"rules": self.rule_list()})
        except ValueError:
            return settings

    def _with_terms(self, settings: Settings, terms: list[str]) -> Settings:
        """``settings`` with ``terms`` and the tab's choices of how they are used."""
        return section(
            settings,
            "vocabulary",
            terms=terms,
            autocorrect=self.autocorrect.isChecked(),
            bias=self.bias.currentData(),
        )


def _no_bottom_margin(layout: QLayout) -> None:
    """No margin under ``layout``, a box's, whose last line is a message line (keep_room): its
    empty room is the air above the box's edge already (with a margin as well, the page did
    not fit the window on an 800 px screen)."""
    layout.setContentsMargins(-1, -1, -1, 0)  # (-1: the style's, as the other boxes have)


def _enabled_by_selection(button: QPushButton, table: QTableWidget) -> None:
    """Enable ``button`` only while ``table`` has a selection (Remove did nothing without one)."""
    button.setEnabled(False)
    table.itemSelectionChanged.connect(lambda: button.setEnabled(bool(table.selectedItems())))
