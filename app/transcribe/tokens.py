"""Counting Whisper tokens without a loaded model, for prompts that must fit Whisper's window.

Whisper reads at most ``PROMPT_MAX_TOKENS`` tokens of prompt (faster-whisper keeps the last
``448 // 2 - 1`` and silently drops the rest from the front). The embedded ``tiny.en`` model's
tokenizer is always installed, so prompts are measured with it; the other English models share
its vocabulary, and the multilingual ones split English text into about as many tokens, which
``PROMPT_MARGIN`` allows for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from app.transcribe import models

PROMPT_MAX_TOKENS = 223  # 448 // 2 - 1: the prompt tokens Whisper is given
PROMPT_MARGIN = 8  # slack for tokenizers that split a little differently from tiny.en's
PROMPT_BUDGET = PROMPT_MAX_TOKENS - PROMPT_MARGIN  # what a prompt measured here may use
# Plural and verb endings, longest first: the ones a common word (inflected_common_word) and
# a term (app.text.vocabulary) may add.
WORD_ENDINGS = ("ing", "es", "ed", "s", "d")
_CAMEL = re.compile(r"[a-z][A-Z]")  # a capital inside a word: GitHub, YouTube
WINDOW_TOKENS = 448  # Whisper's decoder: prompt, start tokens and the text it writes, together
# What a decode without a cap on its text leaves it at least (long audio, window by window):
# the other half of the window, as in Whisper's training.
TEXT_TOKENS = WINDOW_TOKENS // 2


@functools.cache
def _tokenizer() -> object:
    import tokenizers

    path = models.embedded_model_path() / "tokenizer.json"
    return tokenizers.Tokenizer.from_file(str(path))


def count_tokens(text: str) -> int:
    """How many Whisper tokens ``text`` is (as a prompt: no special tokens).

    >>> count_tokens(" Python")
    1
    """
    return len(_tokenizer().encode(text, add_special_tokens=False).ids)  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=4096)
def common_word(word: str) -> bool:
    """True when ``word``, lower-cased, is one whole token of Whisper's vocabulary.

    Whisper's byte-pair vocabulary was built from web text: a word that is a single token
    there ("back", "system", "sort", "century") is a common one, while rare words, misspellings
    and most tech names take several ("eyesort", "Ollama", "celery").

    >>> common_word("back"), common_word("Ralama")
    (True, False)
    """
    if not word.isalpha():
        return False
    return count_tokens(" " + word.lower()) == 1


@functools.lru_cache(maxsize=4096)
def known_name(word: str) -> bool:
    """True when ``word`` is written in capitals or in camel case and is one whole token of
    Whisper's vocabulary as written: an acronym or a name Whisper knows and wrote on purpose
    ("API", "JSON", "GitHub", "YouTube"), as common in tech talk as "back" is in English. Its
    own guesses at a name it does not know take several tokens ("RBC", "DuckDb"); a word that
    is only capitalised ("Century" for Sentry) is no such sign.

    >>> known_name("API"), known_name("GitHub"), known_name("RBC"), known_name("Century")
    (True, True, False, False)
    """
    if not (word.isalpha() and len(word) >= 2 and (word.isupper() or _CAMEL.search(word))):
        return False
    return count_tokens(" " + word) == 1


@functools.lru_cache(maxsize=4096)
def given_name(word: str) -> bool:
    """True when ``word`` is capitalised, one whole token of Whisper's vocabulary as written,
    and not one written in lower case: a name Whisper knows ("Peter", "London"), not a common
    word it capitalised ("Century" for Sentry, where " century" is one token too).

    >>> given_name("Peter"), given_name("Century"), given_name("Sintra")
    (True, False, False)
    """
    if not (word.isalpha() and len(word) >= 2 and word[0].isupper() and word[1:].islower()):
        return False
    return count_tokens(" " + word) == 1 and count_tokens(" " + word.lower()) > 1


@functools.lru_cache(maxsize=4096)
def inflected_common_word(word: str) -> bool:
    """True when ``word``, lower-cased, is a common word (see :func:`common_word`) with a plural
    or verb ending Whisper's vocabulary has no single token for ("cutters", "compiles").

    >>> inflected_common_word("cutters"), inflected_common_word("cutter")
    (True, False)
    """
    low = word.lower()
    if not low.isalpha() or common_word(low):
        return False
    for ending in WORD_ENDINGS:
        stem = low[: -len(ending)]
        if low.endswith(ending) and len(stem) >= 3 and common_word(stem):
            return True
    return False


def fit_prompt(
    measure: Callable[[list[int], str | None], int],
    previous: list[int],
    hotwords: str | None,
    new_tokens: int | None,
) -> tuple[list[int], str | None]:
    """The prompt tokens and hotwords a decode may use so that Whisper's whole prompt and the
    ``new_tokens`` it may write (``None``: :data:`TEXT_TOKENS`) fit in its window.

    ``measure(previous, hotwords)`` is the length of the prompt faster-whisper would build
    (hotwords, then the prompt's last :data:`PROMPT_MAX_TOKENS` tokens, then its start tokens).
    Each may hold up to half the window, so both together with a cap on the text can be more
    than the window: faster-whisper then refuses to decode, or, without a cap, leaves long audio
    almost no room for its words. Hotwords go first, oldest term first (they are the terms,
    comma-separated, newest last), as they are furthest from the speech; then the prompt loses
    its front, as faster-whisper itself would cut it.

    >>> size = lambda tokens, words: len(tokens) + len((words or "").split())
    >>> fit_prompt(size, [1, 2, 3], "a, b, c", 443)
    ([1, 2, 3], 'b, c')
    >>> fit_prompt(size, [1, 2, 3], "a, b, c", 446)
    ([2, 3], None)
    """
    limit = WINDOW_TOKENS - (TEXT_TOKENS if new_tokens is None else new_tokens)
    terms = hotwords.split(", ") if hotwords else []
    while terms and measure(previous, ", ".join(terms)) > limit:
        terms.pop(0)
    kept = ", ".join(terms) or None
    over = measure(previous, kept) - limit
    if over > 0:
        previous = previous[min(over, len(previous)) :]
    return previous, kept
