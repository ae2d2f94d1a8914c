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

from app.transcribe import models

PROMPT_MAX_TOKENS = 223  # 448 // 2 - 1: the prompt tokens Whisper is given
PROMPT_MARGIN = 8  # slack for tokenizers that split a little differently from tiny.en's
PROMPT_BUDGET = PROMPT_MAX_TOKENS - PROMPT_MARGIN  # what a prompt measured here may use
_CAMEL = re.compile(r"[a-z][A-Z]")  # a capital inside a word: GitHub, YouTube


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
