"""Text normalisation for word error rate: the same rules for references and hypotheses.

Lower-case, hyphens and slashes become spaces, punctuation is dropped (apostrophes inside words
are kept, so "don't" stays one word), numbers stay as written, whitespace is collapsed.
"""

from __future__ import annotations

import re
import unicodedata

_SPLITTERS = re.compile(r"[-‐‑‒–—/_]")
_DROP = re.compile(r"[^\w\s']")
_QUOTE = re.compile(r"(?<!\w)'|'(?!\w)")


def normalize_for_wer(text: str) -> str:
    """Return ``text`` normalised for WER scoring.

    >>> normalize_for_wer("Install scikit-learn, then run: pytest!")
    'install scikit learn then run pytest'
    """
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    text = text.lower()
    text = _SPLITTERS.sub(" ", text)
    # A dot between letters/digits (Node.js, 3.12) separates words; elsewhere it is punctuation.
    text = re.sub(r"(?<=\w)\.(?=\w)", " ", text)
    text = _DROP.sub(" ", text)
    text = _QUOTE.sub(" ", text)
    return " ".join(text.split())
