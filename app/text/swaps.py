"""Where two readings of the same speech differ, word by word, and one read with the other's words.

:meth:`TextPipeline.transcribe` compares the vocabulary-biased reading with a reading without
the vocabulary: each stretch where they read other words is a :class:`Swap` the audio may
prefer (see ``TextPipeline.second_opinion``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

_NOT_WORD = re.compile(r"[^\w']+")


def _key(word: str) -> str:
    """A word as the comparison sees it: lower case, without punctuation around or in it."""
    return _NOT_WORD.sub("", word.casefold())


@dataclass(frozen=True, slots=True)
class Swap:
    """Words ``start:end`` of a reading (split on whitespace) read as ``words`` instead."""

    start: int
    end: int
    words: tuple[str, ...]


def swaps(reading: str, other: str) -> list[Swap]:
    """The stretches where ``other`` reads other words than ``reading``, in order; words that
    differ only in case or punctuation are the same word. Each swap replaces words of
    ``reading`` (none, for words only ``other`` has) with those of ``other`` (none, for words
    only ``reading`` has)."""
    mine, theirs = reading.split(), other.split()
    keys = [_key(w) for w in mine], [_key(w) for w in theirs]
    matcher = difflib.SequenceMatcher(None, *keys, autojunk=False)
    return [
        Swap(i1, i2, tuple(theirs[j1:j2])) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"
    ]


def swapped(reading: str, changes: list[Swap]) -> str:
    """``reading`` with every one of ``changes`` (swaps of it that do not overlap) made."""
    words = reading.split()
    for change in sorted(changes, key=lambda s: -s.start):
        words[change.start : change.end] = change.words
    return " ".join(words)


def widened(reading: str, other: str, change: Swap) -> Swap:
    """``change`` (one of ``swaps(reading, other)``) with the word on each side of it written
    as ``other`` writes it: the same word, but maybe in another case or with other punctuation
    ("ate Apple, Py with" against "ate apple pie with": "apple pie with", not "Apple, pie").

    >>> reading, other = "I ate Apple, Py with my Grandmother.", "I ate apple pie with my grandmother."
    >>> swapped(reading, [widened(reading, other, swaps(reading, other)[0])])
    'I ate apple pie with my Grandmother.'
    """
    mine, theirs = reading.split(), other.split()
    matcher = difflib.SequenceMatcher(
        None, [_key(w) for w in mine], [_key(w) for w in theirs], autojunk=False
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal" and (i1, i2) == (change.start, change.end):
            before = 1 if i1 > 0 and j1 > 0 else 0  # (the words there are the same word: equal)
            after = 1 if i2 < len(mine) and j2 < len(theirs) else 0
            return Swap(i1 - before, i2 + after, tuple(theirs[j1 - before : j2 + after]))
    return change
