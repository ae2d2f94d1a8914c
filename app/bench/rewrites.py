"""How often the vocabulary rewrites text that holds none of its terms.

Auto-correction must leave ordinary words alone ("I don't trust him" with Rust in the
vocabulary, "the tensor shape" with TensorRT). This benchmark runs :meth:`Vocabulary.correct`
over the sentences of plain text files (prose, transcripts: anything without the terms) and
counts what it changed, recasing apart ("black" → Black only changes letters' case, which WER
ignores) from rewrites ("tensor" → TensorRT).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import HoldtypeError
from app.text.vocabulary import Vocabulary

# A sentence ends at ., ! or ? before white space; lines are joined first (prose is wrapped).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MIN_CHARS, _MAX_CHARS = 20, 300  # shorter is a heading or a name; longer, a run-on paragraph


@dataclass
class RewriteReport:
    """What the vocabulary changed in the sentences it read."""

    sentences: int = 0
    changed: int = 0  # sentences with any change
    rewritten: int = 0  # sentences with a change beyond letter case
    recased: Counter[tuple[str, str]] = field(default_factory=Counter)
    rewrites: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def as_dict(self, top: int) -> dict[str, object]:
        """JSON-ready figures, with the ``top`` most frequent rewrites and recasings."""
        return {
            "sentences": self.sentences,
            "changed": self.changed,
            "rewritten": self.rewritten,
            "rewrites": [{"from": a, "to": b, "count": n} for (a, b), n in self.rewrites.most_common(top)],
            "recased": [{"from": a, "to": b, "count": n} for (a, b), n in self.recased.most_common(top)],
        }


def read_sentences(paths: Iterable[Path]) -> list[str]:
    """The sentences of text files, 20 to 300 characters each, white space made single.

    Raises :class:`HoldtypeError` for a file that cannot be read, or files without one."""
    sentences: list[str] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise HoldtypeError(f"cannot read {path}: {exc.strerror or exc}") from exc
        for sentence in _SENTENCE_END.split(" ".join(text.split())):
            if _MIN_CHARS <= len(sentence) <= _MAX_CHARS:
                sentences.append(sentence)
    if not sentences:
        raise HoldtypeError(f"no sentences of {_MIN_CHARS} to {_MAX_CHARS} characters in the files given")
    return sentences


def measure_rewrites(sentences: Iterable[str], vocabulary: Vocabulary) -> RewriteReport:
    """Correct each sentence with ``vocabulary`` and tally the words it changed."""
    report = RewriteReport()
    for sentence in sentences:
        report.sentences += 1
        corrected = vocabulary.correct(sentence)
        if corrected == sentence:
            continue
        report.changed += 1
        before, after = sentence.split(), corrected.split()
        matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
        rewrote = False
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            change = (" ".join(before[i1:i2]), " ".join(after[j1:j2]))
            if change[0].lower() == change[1].lower():
                report.recased[change] += 1
            else:
                rewrote = True
                report.rewrites[change] += 1
                report.examples.setdefault(change, sentence)
        report.rewritten += rewrote
    return report
