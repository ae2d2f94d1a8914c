"""Pieces of terms that Whisper writes as words of their own under the vocabulary's prompt.

A prompt naming PyPI makes "pie" likelier as the token "Py": "the pie is cold" was read "the
Py is cold", "apple pie" "Apple, Py", and auto-correction has no term to make of it. Such a
piece is no English word and no term, but the start or the end of one:
:func:`fragment_words` finds them, and ``TextPipeline.transcribe`` takes the words a reading
without the vocabulary has there.
"""

from __future__ import annotations

import re

from app.text.english import english_word

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_PARTS = re.compile(r"[\W_]+")  # what splits a term into its words and parts


def _core(word: str) -> str:
    """``word`` without the punctuation around it ("Py," -> "Py")."""
    return _EDGES.sub("", word)


def fragment_words(text: str, terms: list[str]) -> frozenset[str]:
    """The words of ``text`` (without punctuation around them) that are pieces of ``terms``:
    two letters or more, the start or end of a one-word term spelled as it is (case and all),
    neither an English word, nor a word or part of any term ("scikit" of scikit-learn, "js" of
    Next.js), nor in capitals (an acronym Whisper wrote on purpose: SQL of PostgreSQL, API of
    FastAPI, LLM of LLMs).

    >>> sorted(fragment_words("Yesterday I ate Apple, Py with my Grandmother.", ["PyPI", "NumPy"]))
    ['Py']
    >>> sorted(fragment_words("Install NumPy and Py from PyPI", ["PyPI", "NumPy", "Py"]))
    []
    >>> sorted(fragment_words("Use Num and Kit for it", ["NumPy", "scikit-learn"]))
    ['Num']
    >>> sorted(fragment_words("Write the SQL for the API, then scikit and js", ["PostgreSQL", "FastAPI",
    ...        "scikit-learn", "Next.js"]))
    []
    """
    whole = {part.casefold() for term in terms for part in _PARTS.split(term) if part}
    single = [term for term in terms if " " not in term]
    found = set()
    for word in text.split():
        core = _core(word)
        if len(core) < 2 or core.isupper() or core.casefold() in whole or english_word(core):
            continue
        if any(term != core and (term.startswith(core) or term.endswith(core)) for term in single):
            found.add(core)
    return frozenset(found)


def covers(words: list[str], start: int, end: int, pieces: frozenset[str]) -> bool:
    """Whether ``words[start:end]`` holds one of ``pieces`` (see :func:`fragment_words`)."""
    return any(_core(word) in pieces for word in words[start:end])
