"""Terms that are also ordinary English words, which auto-correction then writes as the term
wherever they are said ("it will rust" becomes "it will Rust" with Rust in the vocabulary).
``holdtype vocab add`` and the settings window's Vocabulary tab say so, with the way to keep
the plain word: the word in lower case as a term too (a transcript gets the closer casing)."""

from __future__ import annotations

from collections.abc import Iterable

from app.text.english import english_word


def ordinary_terms(added: Iterable[str], terms: Iterable[str]) -> list[str]:
    """Those of the ``added`` terms that auto-correction writes for the English word of the
    same letters, with no lower-case twin among ``terms`` (the whole vocabulary) to keep it.

    >>> ordinary_terms(["Rust", "PyPI", "pandas"], ["Rust", "PyPI", "pandas"])
    ['Rust']
    >>> ordinary_terms(["Rust"], ["Rust", "rust"])
    []
    """
    from app.text.vocabulary import Vocabulary

    lower_twins = {term for term in terms if term.islower()}
    found = []
    for term in added:
        word = term.lower()
        if term == word or word in lower_twins or not english_word(word):
            continue
        if term in Vocabulary([term]).correct(f"I think {word} is fine"):
            found.append(term)
    return found
