"""API keys kept out of what Holdtype shows and logs.

Keys live in llm's key store, never in Holdtype's files; but a provider's error message may
quote the key it was sent ("Incorrect API key provided: sk-proj-…": OpenAI masks it, some
OpenAI-compatible servers do not), and that message becomes a mode's fallback reason, a
notification and a log line. :func:`redact_keys` masks such words wherever Holdtype passes
them on; :class:`RedactKeys` does the same for every log record, whatever logged it.

A key is known by its shape (a provider's prefix: ``sk-``, ``gsk_``...) and, whatever its
shape, by its value: the user's own keys (:mod:`app.own_keys`: those of llm's key store and
of environment variables named for a key) are masked wherever they appear (a key with no
well-known prefix, quoted in a 401, was shown whole).
"""

from __future__ import annotations

import logging
import re

from app.key_shapes import KEY_CANDIDATE, KEY_MARKS, TOKEN_FORM, looks_like_api_key
from app.own_keys import own_keys_pattern

SHOWN = 6  # characters of a key left to tell which one it was
#: What stands for a hidden password ("postgres://admin:(hidden)@db.example.com/prod").
HIDDEN = "(hidden)"
#: The password of a URL ("scheme://user:password@host"); the scheme, user and host stay.
URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/?#@\"'`]*):[^\s/?#\"'`]+@")


def _is_key(word: str) -> bool:
    """A key's shape (:func:`looks_like_api_key`) with a random part: letters of both cases
    (OpenAI, Anthropic, Groq, Google), or a run of 20 or more letters and digits with a digit
    in it (the lower-case hex of DeepSeek, OpenRouter, Perplexity). Model ids
    ("xai-grok-2-vision-1212") have neither. A service's token in its form
    (:data:`TOKEN_FORM`: "AKIA" and 16 capitals and digits) is one whatever its letters."""
    if TOKEN_FORM.fullmatch(word):
        return True
    if not looks_like_api_key(word):
        return False
    if any(c.isupper() for c in word) and any(c.islower() for c in word):
        return True
    return any(len(run) >= 20 and any(c.isdigit() for c in run) for run in re.split(r"[-_]", word))


def redact_keys(text: str) -> str:
    """``text`` with each of the user's own keys (:func:`own_keys_pattern`) masked whole (named
    for where it is kept: "(key 'mistral' hidden)"), the password of every URL hidden (a
    model's ``api_base`` may carry one, and every message about its server names it), and
    every word shaped like an API key masked after its first characters.

    >>> redact_keys("Incorrect API key provided: sk-proj-Ab3Xy9" + "Qw7" * 10 + ". Check it.")
    'Incorrect API key provided: sk-pro…(key hidden). Check it.'
    >>> redact_keys("model xai-grok-2-vision-1212 and sk-learn are no keys")
    'model xai-grok-2-vision-1212 and sk-learn are no keys'
    >>> redact_keys("Authentication Fails (sk-or-v1-0123456789abcdef0123456789abcdef)")
    'Authentication Fails (sk-or-…(key hidden))'
    >>> redact_keys("nothing answers at http://admin:Sup3rS3cretPw@127.0.0.1:9/v1")
    'nothing answers at http://admin:(hidden)@127.0.0.1:9/v1'
    """
    pattern, keys = own_keys_pattern()
    if pattern is not None:
        text = pattern.sub(lambda m: f"(key {keys[m[0]]} hidden)", text)
    if "://" in text:
        text = URL_PASSWORD.sub(rf"\1:{HIDDEN}@", text)
    if not any(mark in text for mark in KEY_MARKS):
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
