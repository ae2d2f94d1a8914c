"""The text pipeline every transcript goes through: vocabulary, then rules, then tidy whitespace.

The engine, the streaming transcriber and ``holdtype transcribe`` all use :class:`TextPipeline`,
so what a benchmark measures is what the user gets. It also decides how the vocabulary biases
Whisper (:meth:`TextPipeline.decode_options`).
"""

from __future__ import annotations

import dataclasses
import re

from app.config import Rule, Settings, VocabularySettings
from app.text.rules import RuleSet, compile_rules
from app.text.vocabulary import Vocabulary
from app.transcribe.tokens import PROMPT_BUDGET, count_tokens
from app.transcribe.whisper import DecodeOptions

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")


def tidy(text: str) -> str:
    """Collapse runs of whitespace, drop spaces before punctuation, strip the ends."""
    text = " ".join(text.split())
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def prompt_coverage(terms: list[str]) -> tuple[int, int]:
    """How many of ``terms`` Whisper's prompt names, and of how many (case-insensitive) terms.

    Terms past the prompt window (see :meth:`Vocabulary.prompt_terms`) are still auto-corrected.
    """
    vocabulary = Vocabulary(terms)
    named = vocabulary.prompt_terms(PROMPT_BUDGET, count_tokens)
    return len(named), len(vocabulary.prompt_terms())


class TextPipeline:
    """Vocabulary correction and replacement rules, built once from the settings.

    An invalid rule (say, a hand-edited config with a broken regex) is skipped with a warning
    rather than stopping dictation; the CLI refuses such rules when they are added.
    """

    def __init__(self, vocabulary: VocabularySettings, rules: list[Rule]) -> None:
        self.settings = vocabulary
        self.vocabulary = Vocabulary(vocabulary.terms, vocabulary.sensitivity)
        self.rules: RuleSet = compile_rules(rules, strict=False)
        # Measured once here, not at each utterance (the first count loads the tokenizer).
        self._prompt: str | None = None
        if self.vocabulary and vocabulary.bias in {"prompt", "both"}:
            self._prompt = self.vocabulary.prompt(PROMPT_BUDGET, count_tokens)

    @classmethod
    def from_settings(cls, settings: Settings) -> TextPipeline:
        """Build the pipeline from the user's settings."""
        return cls(settings.vocabulary, settings.rules)

    def decode_options(self, base: DecodeOptions) -> DecodeOptions:
        """Return ``base`` with the vocabulary's ``initial_prompt``/``hotwords`` per ``bias``.

        An ``initial_prompt`` already set in ``base`` is kept, with the vocabulary's prompt in
        front of it. Together they fit in Whisper's prompt window: a vocabulary too long for it
        names only some of its terms (see :meth:`Vocabulary.prompt_terms`).
        """
        bias = self.settings.bias
        if not self.vocabulary or bias == "none":
            return base
        changes: dict[str, object] = {}
        if bias in {"prompt", "both"}:
            prompt = self._prompt
            if base.initial_prompt:
                room = PROMPT_BUDGET - count_tokens(" " + base.initial_prompt)
                prompt = self.vocabulary.prompt(room, count_tokens)
                prompt = f"{prompt} {base.initial_prompt}" if prompt else base.initial_prompt
            changes["initial_prompt"] = prompt
        if bias in {"hotwords", "both"}:
            changes["hotwords"] = self.vocabulary.hotwords()
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

    def apply_vocabulary(self, raw: str) -> str:
        """Fix near misses of the user's terms (when auto-correction is on)."""
        if not self.settings.autocorrect:
            return raw
        return self.vocabulary.correct(raw)

    def apply_rules(self, text: str) -> str:
        """Apply the replacement rules in order."""
        return self.rules.apply(text)

    def apply(self, raw: str) -> str:
        """The whole pipeline: vocabulary, rules, tidy whitespace."""
        return tidy(self.apply_rules(self.apply_vocabulary(tidy(raw))))
