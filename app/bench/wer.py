"""Word error rate over a set of (reference, hypothesis) pairs, on normalised text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import jiwer

from app.text.normalize import normalize_for_wer


@dataclass(frozen=True, slots=True)
class WerResult:
    """Corpus-level WER: total edits over total reference words."""

    errors: int
    words: int

    @property
    def wer(self) -> float:
        """The word error rate (0.0 when there are no reference words)."""
        return self.errors / self.words if self.words else 0.0


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """Return (substitutions + deletions + insertions, reference words) after normalisation."""
    ref = normalize_for_wer(reference)
    hyp = normalize_for_wer(hypothesis)
    ref_words = len(ref.split())
    if not ref_words:
        return len(hyp.split()), 0
    if not hyp:
        return ref_words, ref_words
    out = jiwer.process_words(ref, hyp)
    return out.substitutions + out.deletions + out.insertions, ref_words


def corpus_wer(pairs: Iterable[tuple[str, str]]) -> WerResult:
    """Corpus WER of (reference, hypothesis) pairs: summed edits over summed reference words."""
    errors = words = 0
    for reference, hypothesis in pairs:
        e, w = word_errors(reference, hypothesis)
        errors += e
        words += w
    return WerResult(errors, words)
