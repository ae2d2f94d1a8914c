"""API keys kept out of what Holdtype shows and logs.

Keys live in llm's key store, never in Holdtype's files; but a provider's error message may
quote the key it was sent ("Incorrect API key provided: sk-proj-…": OpenAI masks it, some
OpenAI-compatible servers do not), and that message becomes a mode's fallback reason, a
notification and a log line. :func:`redact_keys` masks such words wherever Holdtype passes
them on; :class:`RedactKeys` does the same for every log record, whatever logged it.

A key is known by its shape (a provider's prefix: ``sk-``, ``gsk_``...) and, whatever its
shape, by its value: the user's own keys (those of llm's key store and of environment
variables named for a key) are masked wherever they appear (a key with no well-known prefix,
quoted in a 401, was shown whole).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from app.config import KEY_CANDIDATE, looks_like_api_key
from app.paths import llm_keys_file

SHOWN = 6  # characters of a key left to tell which one it was
# A value shorter than this is no key; masking it would mask ordinary words ("true", "local").
OWN_KEY_MIN_LENGTH = 8
# Environment variables that hold keys, as llm and its plugins name them: OPENAI_API_KEY,
# LLM_GEMINI_KEY, OPENROUTER_KEY, HF_TOKEN, GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY.
_KEY_VARIABLE = re.compile(r"(?:^|_)(?:[A-Z]*KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
_KEY_VARIABLE_ENDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")  # (a cheap test before the pattern)
# What :func:`_own_keys_pattern` last built, and the state of the sources it was built from.
_cached: tuple[object, re.Pattern[str] | None, dict[str, str]] = (None, None, {})


def _is_key(word: str) -> bool:
    """A key's shape (:func:`looks_like_api_key`) with a random part: letters of both cases
    (OpenAI, Anthropic, Groq, Google), or a run of 20 or more letters and digits with a digit
    in it (the lower-case hex of DeepSeek, OpenRouter, Perplexity). Model ids
    ("xai-grok-2-vision-1212") have neither."""
    if not looks_like_api_key(word):
        return False
    if any(c.isupper() for c in word) and any(c.islower() for c in word):
        return True
    return any(len(run) >= 20 and any(c.isdigit() for c in run) for run in re.split(r"[-_]", word))


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


def _own_keys_pattern() -> tuple[re.Pattern[str] | None, dict[str, str]]:
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
        if _is_own_key(value.strip(), from_store=True):
            keys.setdefault(value.strip(), f"'{name}'")
    for name, value in variables:
        if _is_own_key(value.strip(), from_store=False):
            keys.setdefault(value.strip(), f"${name}")
    # Longest first: a key that holds another is masked whole.
    pattern = re.compile("|".join(map(re.escape, sorted(keys, key=len, reverse=True)))) if keys else None
    _cached = (state, pattern, keys)
    return pattern, keys


def redact_keys(text: str) -> str:
    """``text`` with each of the user's own keys (:func:`_own_keys_pattern`) masked whole (named
    for where it is kept: "(key 'mistral' hidden)"), and every word
    shaped like an API key masked after its first characters.

    >>> redact_keys("Incorrect API key provided: sk-proj-Ab3Xy9" + "Qw7" * 10 + ". Check it.")
    'Incorrect API key provided: sk-pro…(key hidden). Check it.'
    >>> redact_keys("model xai-grok-2-vision-1212 and sk-learn are no keys")
    'model xai-grok-2-vision-1212 and sk-learn are no keys'
    >>> redact_keys("Authentication Fails (sk-or-v1-0123456789abcdef0123456789abcdef)")
    'Authentication Fails (sk-or-…(key hidden))'
    """
    pattern, keys = _own_keys_pattern()
    if pattern is not None:
        text = pattern.sub(lambda m: f"(key {keys[m[0]]} hidden)", text)
    if "-" not in text and "_" not in text and "AIza" not in text:
        return text
    return KEY_CANDIDATE.sub(lambda m: f"{m[0][:SHOWN]}…(key hidden)" if _is_key(m[0]) else m[0], text)


class RedactKeys(logging.Filter):
    """A handler's filter that masks API keys in each record's message (:func:`redact_keys`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask keys in ``record``'s message (and its exception text); always let it through."""
        message = record.getMessage()
        masked = redact_keys(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_keys(record.exc_text)
        return True
