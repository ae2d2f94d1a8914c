"""Terms that are also ordinary English, which auto-correction then writes as the term wherever
they are said: a word of the same letters ("it will rust" becomes "it will Rust" with Rust in
the vocabulary) or an everyday reading ("the sequel was better" becomes "the SQL was better",
"we see sharp gains" "we C# gains"). ``holdtype vocab add`` and the settings window's Vocabulary
tab say so, with the way to keep the plain words: them in lower case as a term too (a
transcript gets the closer casing)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.text.english import english_word
from app.text.readings import (
    AMPERSAND_READING,
    LEADING_SYMBOLS,
    LETTER_WORDS,
    SYMBOL_READINGS,
    letters_of,
    spoken_variants,
)
from app.transcribe.tokens import common_word

# The words that name a letter or a symbol ("see" of C#, "sharp", "at" of @property).
_SYMBOL_WORDS = frozenset(
    [
        *SYMBOL_READINGS.values(),
        AMPERSAND_READING,
        *(w for said in LEADING_SYMBOLS.values() for s in said for w in s.split()),
    ]
)


def _word(word: str) -> bool:
    """Whether ``word`` is an English word as said: a letter alone is one only as "a" or "i"
    (the word list, counted on subtitles, has "y", "e", "u"..., which made `vocab add x=y`
    call 'ex y' ordinary English)."""
    return english_word(word) and (len(word) > 1 or word in ("a", "i"))


def everyday_readings(term: str) -> list[str]:
    """The readings of ``term`` (see :func:`~app.text.readings.spoken_variants`) that are
    everyday English other than its own letters: one English word ("sequel" for SQL, "gooey"
    for GUI), or two frequent English words (one token of Whisper's each) that name its letters
    and symbols or are its own words, not letters only ("see sharp" for C#, "at property" for
    @property; not "ay eye" for AI). Longer readings, and those of its syllables ("sigh pie"
    for SciPy, "pie test" for pytest, "my sequel" for MySQL), are rarely said by chance.

    >>> everyday_readings("SQL"), everyday_readings("C#"), everyday_readings("SciPy")
    (['sequel'], ['see sharp'], [])
    """
    own_words = re.findall(r"[^\W_]+", term.lower())  # ("property" of @property: no symbol)
    own_letters = "".join(own_words)
    found = []
    for reading in spoken_variants(term):
        words = reading.split()
        if letters_of(reading) == own_letters or not all(_word(w) for w in words):
            continue
        if term.startswith("#") and words[0] == SYMBOL_READINGS["#"]:
            # (# is "sharp" after a letter, C# or F#; a term it begins, #include or #hash,
            # is said "hash" or "pound": "sharp include" is no English one says)
            continue
        if len(words) == 1 or (
            len(words) == 2
            and all(
                common_word(w) and (w in LETTER_WORDS or w in _SYMBOL_WORDS or w in own_words) for w in words
            )
            and not all(w in LETTER_WORDS for w in words)
        ):
            found.append(reading)
    return found


def ordinary_words(added: Iterable[str], terms: Iterable[str]) -> dict[str, str]:
    """Those of the ``added`` terms that auto-correction writes for ordinary English, each with
    that English: the word of the same letters ("rust" for Rust), else its first
    :func:`everyday_readings` it is written for ("sequel" for SQL), when no lower-case twin
    among ``terms`` (the whole vocabulary) keeps it.

    >>> ordinary_words(["Rust", "PyPI", "pandas", "SQL"], ["Rust", "PyPI", "pandas", "SQL"])
    {'Rust': 'rust', 'SQL': 'sequel'}
    >>> ordinary_words(["Rust", "SQL"], ["Rust", "rust", "SQL", "sequel"])
    {}
    """
    from app.text.vocabulary import Vocabulary

    lower_twins = {term for term in terms if term.islower()}
    found: dict[str, str] = {}
    for term in added:
        word = term.lower()
        said = [word] if term != word and _word(word) else []
        for phrase in [*said, *everyday_readings(term)]:
            if phrase in lower_twins:
                continue
            if term in Vocabulary([term]).correct(f"I think {phrase} is fine"):
                found[term] = phrase
                break
    return found
