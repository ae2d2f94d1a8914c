"""LLM tab: which models ``llm`` can reach, the default, limits, key names, and the reply cache."""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from app.config import LLMSettings, Settings, clean_model_id
from app.errors import HoldtypeError
from app.llm.keys import set_key_hint
from app.llm.plugins import install_hint
from app.ui.settings.base import LLM_LOCK, Job, SettingsTab, TabContext, note, secondary_text_color, section
from app.ui.settings.widgets import SecondsBox, editable_combo

if TYPE_CHECKING:
    from app.llm.cache import CacheStats

log = logging.getLogger(__name__)


def reachable_models() -> tuple[list[tuple[str, str]], frozenset[str], dict[str, str]]:
    """(model id, description) for every model the llm library and its plugins offer, every
    name llm takes for a model (the ids and their aliases, ``llm aliases set`` too), and the
    key each name's model needs and cannot find (``openai`` for gpt-4o-mini without one)."""
    import llm

    from app.llm.runner import missing_key
    from app.llm.setup import llm_failure

    try:
        with LLM_LOCK:
            models = [(model.model_id, str(model)) for model in llm.get_models()]
            aliases = llm.get_model_aliases()
            keyless = {name: key for name, model in aliases.items() if (key := missing_key(model))}
    except Exception as exc:  # a broken extra-openai-models.yaml, a broken plugin
        raise HoldtypeError(llm_failure(exc)) from None
    return models, frozenset(aliases) | {model_id for model_id, _ in models}, keyless


def key_names() -> list[str]:
    """Names of the keys stored with ``holdtype llm keys set`` (never their values; not the
    note llm writes at the top of the file, which was listed as a key; a key stored as a name
    by its first characters only, :func:`app.llm.keys.shown_name`)."""
    from app.llm import keys

    try:
        return [keys.shown_name(name) for name in keys.key_names()]
    except (OSError, HoldtypeError) as exc:
        log.info("cannot read llm's keys file: %s", exc)
        return []


def cache_figures(settings: LLMSettings, clear: bool = False) -> CacheStats | str:
    """The reply cache's figures (entries, size, hits), after deleting every reply when
    ``clear``; or, when the cache cannot be used now (another program holds it, the folder is
    unreadable), a line saying why: "not cleared (…)", "unavailable (…)". Slow with many
    replies: the settings window runs it on a worker thread."""
    from app.llm.cache import CACHE_FAILURES, LLMCache

    if clear:
        try:
            with LLMCache(settings) as cache:
                cache.clear()
        except CACHE_FAILURES as exc:
            return f"not cleared ({exc})"
    try:
        with LLMCache(settings) as cache:
            return cache.stats()
    except Exception as exc:  # cache folder unreadable: show why
        return f"unavailable ({exc})"


class LLMTab(SettingsTab):
    """LLM model, limits, keys and cache."""

    title = "LLM"
    key = "llm"

    def __init__(self, ctx: TabContext) -> None:
        """Build the form (the model list loads in the background)."""
        super().__init__(ctx)
        form = QFormLayout()
        self.model = editable_combo()
        self.model.setObjectName("llm-model")
        self.model.setMinimumWidth(320)
        line = self.model.lineEdit()
        if line is not None:  # blank said what it means: no LLM runs, modes paste plain text
            line.setPlaceholderText("none: modes without their own model paste the plain text")
        self.model.currentTextChanged.connect(self.changed)
        self.model.currentTextChanged.connect(self._say_if_unknown)
        self._reachable: frozenset[str] | None = None  # the model ids and aliases llm offers
        self._keyless: dict[str, str] = {}  # of those, the ones whose key is missing: the key's name
        self._listed_note = ""
        form.addRow("&Default model:", self.model)
        self.models_note = QLabel("Looking for models…")
        self.models_note.setWordWrap(True)
        form.addRow("", self.models_note)
        self.timeout = SecondsBox(0.001, 600.0, step=1.0)  # a limit under 0.5 s was raised to 0.5
        self.timeout.valueChanged.connect(self.changed)
        form.addRow("&Time limit per dictation:", self.timeout)
        form.addRow(self.timeout.problem)
        self.retries = QSpinBox()
        self.retries.setRange(0, 10)
        self.retries.valueChanged.connect(self.changed)
        form.addRow("&Retries on an invalid reply:", self.retries)

        keys_box = QGroupBox("API keys")
        keys_layout = QVBoxLayout(keys_box)
        self.keys = QLabel("")
        self.keys.setObjectName("llm-keys")
        self.keys.setWordWrap(True)
        keys_layout.addWidget(self.keys)
        keys_layout.addWidget(
            note(
                "Keys are kept in llm's own key store, never in Holdtype's settings. Set one in a "
                "terminal with <code>holdtype llm keys set openai</code> (or anthropic, openrouter…)."
            )
        )

        cache_box = QGroupBox("Reply cache")
        cache_form = QFormLayout(cache_box)
        self.cache_enabled = QCheckBox("Reuse the reply when the same text is sent to the same model")
        self.cache_enabled.toggled.connect(self.changed)
        cache_form.addRow("", self.cache_enabled)
        self.cache_size = QSpinBox()
        self.cache_size.setRange(1, 100_000)
        self.cache_size.setSuffix(" MB")
        self.cache_size.valueChanged.connect(self.changed)
        cache_form.addRow("&Size limit:", self.cache_size)
        self.cache_stats = QLabel("")
        self.cache_stats.setObjectName("cache-stats")
        self.clear_button = QPushButton("Clear cache")
        self.clear_button.clicked.connect(self.clear_cache)
        row = QHBoxLayout()
        row.addWidget(self.cache_stats, 1)
        row.addWidget(self.clear_button)
        cache_form.addRow("Stored:", row)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(keys_box)
        layout.addWidget(cache_box)
        layout.addStretch(1)
        self._job: Job | None = None
        self._cache_job: Job | None = None  # counting or clearing the reply cache
        self._cache_next: bool | None = None  # asked for meanwhile: a count (False) or a clear (True)
        self._shown_once = False
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        """Re-read what may have changed outside (``holdtype llm keys set``, a plugin installed,
        the cache used) each time the tab is shown: the window lives until Holdtype quits, and the
        tab said "No keys set yet." after a key was set."""
        super().showEvent(event)
        if self._shown_once:
            self.refresh()
        self._shown_once = True

    def refresh(self) -> None:
        """Re-read key names and cache stats, and list models in the background."""
        names = key_names()
        self.keys.setText(
            "Keys set: " + ", ".join(f"<b>{html.escape(n)}</b>" for n in names)
            if names
            else "No keys set yet."
        )
        self.refresh_cache_stats()
        if self._job is None:
            job = Job(lambda _progress: reachable_models())
            job.signals.done.connect(self._models_loaded)
            job.signals.failed.connect(lambda m: self._models_loaded(None, m))
            self._job = job.start()

    def _models_loaded(
        self,
        found: tuple[list[tuple[str, str]], frozenset[str], dict[str, str]] | None,
        error: str | None = None,
    ) -> None:
        self._job = None
        if found is None:
            self._say(f"Cannot list llm models: {html.escape(str(error))}", warn=True)
            return
        models, names, self._keyless = found
        current = self.model.currentText()
        with self.quietly():
            self.model.clear()
            self.model.addItem("", "")
            for model_id, description in models:
                self.model.addItem(model_id, model_id)
                self.model.setItemData(self.model.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
            self.model.setEditText(current)
        self._reachable = names
        self._listed_note = (
            f"{len(models)} models reachable through llm and its plugins; install more with "
            f"<code>{html.escape(install_hint('llm-ollama'))}</code> and similar."
        )
        self._say_if_unknown(self.model.currentText())

    def _say_if_unknown(self, text: str) -> None:
        """Say when the model typed is none llm offers (a typo, a plugin not installed): it
        was saved without a word, and only a dictation's notice told."""
        name = clean_model_id(text)  # (as it is saved)
        if self._reachable is None:
            return
        if name and name not in self._reachable:
            self._say(
                f"<b>{html.escape(name)}</b> is not a model llm offers (check the name, or install "
                f"its plugin: <code>{html.escape(install_hint('llm-ollama'))}</code> and similar); "
                "until it is, modes "
                "without their own model paste the plain text.",
                warn=True,
            )
        elif name in self._keyless:  # (picked with no key: only a dictation, or Test, told)
            key = self._keyless[name]
            self._say(
                f"<b>{html.escape(name)}</b> needs an API key ({html.escape(key)}) and none is "
                f"stored: run <code>{html.escape(set_key_hint(key))}</code> in a terminal; until "
                "then, modes without their own model paste the plain text.",
                warn=True,
            )
        else:
            self._say(self._listed_note)

    def _say(self, text: str, warn: bool = False) -> None:
        """Show ``text`` under the model field: as a warning (in red) or as a note (grey)."""
        colour = "#c62828" if warn else secondary_text_color(self.models_note)
        self.models_note.setStyleSheet(f"color: {colour};")
        self.models_note.setText(text)

    def refresh_cache_stats(self) -> None:
        """Show the cache's entries, size and hit rate, counted on a worker thread (see
        :meth:`_cache_work`)."""
        self._cache_work(clear=False)

    def clear_cache(self) -> None:
        """Delete every cached reply, on a worker thread, then show the cache's figures; a cache
        that cannot be used now (another program holds it) is said next to the button and left
        as it is."""
        self._cache_work(clear=True)

    def _cache_work(self, clear: bool) -> None:
        """Count (or clear, then count) the reply cache on a worker thread: on the window's
        thread, counting 20,000 replies with an expiry froze the window 1.25 s when it was made
        and each time the tab was shown, and clearing as long. One job at a time: one asked for
        meanwhile runs next (a clear asked for wins over a count)."""
        if self._cache_job is not None:
            self._cache_next = clear or bool(self._cache_next)
            return
        settings = self.ctx.live.settings.llm  # (read here: the settings live on this thread)
        job = Job(lambda _progress: cache_figures(settings, clear))
        job.signals.done.connect(self._cache_counted)  # (methods: gone with the tab)
        job.signals.failed.connect(self._cache_failed)
        self.cache_stats.setText("clearing…" if clear else "counting…")
        self.clear_button.setEnabled(False)  # (until the figures say there is something to clear)
        self._cache_job = job.start()

    def _cache_failed(self, message: str) -> None:
        self._cache_counted(f"unavailable ({message})")

    def _cache_counted(self, figures: CacheStats | str) -> None:
        """Show what :func:`cache_figures` found: the figures, or why there are none."""
        self._cache_job = None
        if isinstance(figures, str):
            self.cache_stats.setText(figures)
            self.clear_button.setEnabled(True)  # clearing says why it cannot, next to it
        else:
            self.clear_button.setEnabled(figures.entries > 0)  # nothing to clear
            lookups = figures.hits + figures.misses
            rate = f", {figures.hits * 100 // lookups}% hits" if lookups else ""
            replies = "1 reply" if figures.entries == 1 else f"{figures.entries} replies"
            self.cache_stats.setText(f"{replies}, {figures.size_bytes / 1e6:.1f} MB{rate}")
        if self._cache_next is not None:
            clear, self._cache_next = self._cache_next, None
            self._cache_work(clear)

    def fill(self, settings: Settings) -> None:
        """Show the settings."""
        self.model.setEditText(settings.llm.model or "")
        self.timeout.show_seconds(settings.llm.timeout_s)
        self.retries.setValue(settings.llm.retries)
        self.cache_enabled.setChecked(settings.llm.cache_enabled)
        self.cache_size.setValue(settings.llm.cache_size_mb)

    def apply(self, settings: Settings) -> Settings:
        """Return the settings with this tab's values."""
        return section(
            settings,
            "llm",
            # (a zero-width space pasted along: "not a model llm offers", of a name that looked right)
            model=clean_model_id(self.model.currentText()) or None,
            timeout_s=self.timeout.seconds(),
            retries=self.retries.value(),
            cache_enabled=self.cache_enabled.isChecked(),
            cache_size_mb=self.cache_size.value(),
        )
