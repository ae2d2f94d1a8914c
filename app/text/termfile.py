"""Vocabulary files: one term per line, as ``holdtype vocab list`` prints them.

Read by ``holdtype vocab add --file`` and the benchmarks' ``--vocab-file``. Blank lines and lines
starting with ``#`` are skipped; a term keeps its inner spaces ("Talk Python To Me").
"""

from __future__ import annotations

from pathlib import Path

from app.errors import HoldtypeError


def parse_terms(text: str) -> list[str]:
    """The terms of a vocabulary file's ``text``, in order (spaces inside a term collapsed).

    >>> parse_terms("# tools\\nNumPy\\n\\n  Talk  Python To Me \\n")
    ['NumPy', 'Talk Python To Me']
    """
    terms = (" ".join(line.split()) for line in text.splitlines())
    return [term for term in terms if term and not term.startswith("#")]


def read_terms(path: Path) -> list[str]:
    """Read a vocabulary file (UTF-8, see :func:`parse_terms`); a clear error when it is missing
    or not text."""
    if not path.is_file():
        raise HoldtypeError(f"no such vocabulary file: {path}")
    try:
        return parse_terms(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise HoldtypeError(f"{path} is not a UTF-8 text file of terms ({exc.reason})") from None
