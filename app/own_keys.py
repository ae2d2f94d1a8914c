"""The user's own API keys, whatever their shape: those of llm's key store and of environment
variables named for a key.

A key with a provider's prefix (``sk-``, ``gsk_``...) is known by its shape alone; one without
(a Mistral key is 32 letters and digits) only by its value. :func:`own_keys_pattern` finds
them all, for :mod:`app.redact` to mask them in what is shown and logged, and for the checks
of what is saved in plain text (:func:`holds_api_key`: the settings file, the mode files).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from app.key_shapes import KEY_CANDIDATE, looks_like_api_key
from app.paths import llm_keys_file

# A value shorter than this is no key; masking it would mask ordinary words ("true", "local").
OWN_KEY_MIN_LENGTH = 8
# Environment variables that hold keys, as llm and its plugins name them: OPENAI_API_KEY,
# LLM_GEMINI_KEY, OPENROUTER_KEY, HF_TOKEN, GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY.
_KEY_VARIABLE = re.compile(r"(?:^|_)(?:[A-Z]*KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
_KEY_VARIABLE_ENDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")  # (a cheap test before the pattern)
# What :func:`own_keys_pattern` last built, and the state of the sources it was built from.
_cached: tuple[object, re.Pattern[str] | None, dict[str, str]] = (None, None, {})


def _stored_keys(path: Path) -> dict[str, str]:
    """The keys ``llm keys set`` stored in ``path`` (name -> key); none when it is absent or
    unreadable (llm itself says what is wrong with it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    # (llm writes a "// Note" entry, a sentence, at the top of the file)
    return {
        name: value for name, value in data.items() if isinstance(value, str) and not name.startswith("//")
    }


def _key_variables() -> tuple[tuple[str, str], ...]:
    """The environment variables named for a key (:data:`_KEY_VARIABLE`) and their values."""
    # (names first, values only of those: decoding every value took three times as long)
    return tuple(
        (name, os.environ.get(name, ""))
        for name in os.environ
        if name.upper().endswith(_KEY_VARIABLE_ENDS) and _KEY_VARIABLE.search(name)
    )


def _is_own_key(value: str, from_store: bool) -> bool:
    """Whether ``value`` is long enough, and random enough, to be masked wherever it appears.
    A value in llm's key store was set as a key: any of 8 characters or more is one. A value
    of an environment variable may be a setting that merely ends in KEY or TOKEN: a word of
    small letters ("disabled", "localhost") is left alone there."""
    if len(value) < OWN_KEY_MIN_LENGTH or any(c.isspace() for c in value):
        return False
    return from_store or not (value.isalpha() and value.islower())


def key_shaped_name(name: str) -> bool:
    """Whether a key store's ``name`` is shaped like a key, not a provider's name: shaped like
    one (:func:`looks_like_api_key`), or random as no name is (16 characters or more, with
    capitals, small letters and digits: a Mistral key).

    >>> key_shaped_name("openai"), key_shaped_name("aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW")
    (False, True)
    """
    name = name.strip()
    mixed = all(any(test(c) for c in name) for test in (str.isdigit, str.isupper, str.islower))
    return (len(name) >= 16 and mixed) or looks_like_api_key(name)


def own_keys_pattern() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """The user's own API keys, whatever their shape, each with where it is kept: the keys of
    llm's key store (``'mistral'``) and of environment variables named for a key
    (``$MISTRAL_API_KEY``; a value in both is named for the store, which llm prefers); and
    a pattern matching any of them (None when there are none). Made again only when the key
    store's file or the key variables changed: a stat and a look at the environment per log
    record, not a read of the file."""
    global _cached
    path = llm_keys_file()
    try:
        info = path.stat()
        stamp: object = (info.st_mtime_ns, info.st_size)
    except OSError:
        stamp = None
    variables = _key_variables()
    state = (str(path), stamp, variables)
    cached_state, pattern, keys = _cached
    if cached_state == state:
        return pattern, keys
    keys = {}
    for name, value in (_stored_keys(path) if stamp is not None else {}).items():
        # (a key stored as the name, by llm's own `keys set`: its value is a provider's name,
        # "anthropic", which would be masked everywhere as "(key 'sk-proj-…' hidden)")
        if not key_shaped_name(name) and _is_own_key(value.strip(), from_store=True):
            keys.setdefault(value.strip(), f"'{name}'")
    for name, value in variables:
        if _is_own_key(value.strip(), from_store=False):
            keys.setdefault(value.strip(), f"${name}")
    # Longest first: a key that holds another is masked whole.
    pattern = re.compile("|".join(map(re.escape, sorted(keys, key=len, reverse=True)))) if keys else None
    _cached = (state, pattern, keys)
    return pattern, keys


def holds_api_key(value: str) -> bool:
    """Whether ``value`` is or holds an API key: a word shaped like one
    (:func:`looks_like_api_key`), or one of the user's own keys whatever its shape
    (:func:`own_keys_pattern`: a Mistral key has no prefix to tell it by). No setting or mode file
    holds one: both are plain text.

    >>> holds_api_key('my key is "sk-proj-' + "Ab3" * 16 + '".'), holds_api_key("gpt-4o-mini")
    (True, False)
    """
    return api_key_finder()(value)


def api_key_finder() -> Callable[[str], bool]:
    """:func:`holds_api_key` for many values in a row (every string of the settings): the
    user's own keys are looked up once, not once per value."""
    pattern, _ = own_keys_pattern()

    def holds(value: str) -> bool:
        if any(looks_like_api_key(m[0]) for m in KEY_CANDIDATE.finditer(value)):
            return True
        return pattern is not None and pattern.search(value) is not None

    return holds
