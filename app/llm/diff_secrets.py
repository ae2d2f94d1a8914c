"""Secrets kept out of a staged diff before a model (perhaps a cloud one) and the reply cache see it.

commit mode sends ``git diff --staged`` with the dictation. A staged ``.env`` or settings file
is described by its names, not its values: words shaped like API keys are masked
(:func:`app.redact.redact_keys`), the values of lines that set a secret are hidden, and so are
private key blocks. A name is a secret's when one of its parts is a secret's word, so that
``GITHUB_TOKEN``, ``clientSecret`` and ``"Authorization":`` lose their values and
``tokenizer``, ``authors`` and ``max_tokens`` keep theirs.
"""

from __future__ import annotations

import itertools
import re

from app.redact import redact_keys

HIDDEN = "(hidden)"
# A name's parts that make it a secret's wherever they stand in it ("DB_PASSWORD", "secret_name").
_SECRET_PARTS = frozenset(
    {
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "credential",
        "credentials",
        "auth",
        "authorization",
        "apikey",
        "privatekey",
        "accesskey",
        "secretkey",
    }
)
# Two parts that do so together ("api_key", "AWS_ACCESS_KEY", "privateKey").
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key")})
# A part that does so only at the name's end: "GITHUB_TOKEN", "authToken", but not "token_count".
_SECRET_ENDS = frozenset({"token", "pat"})
# A name, then ':' or '=' and a value (not '==', not nothing): "API_KEY=", '"password": '.
_SETTING = re.compile(r"([\w.-]+)[\"']?\s*[:=]\s*(?![\s,;)\]}=]|$)")
_PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.DOTALL)


def name_parts(name: str) -> list[str]:
    """``name`` cut into lower-case words at '_', '-', '.' and camelCase humps.

    >>> name_parts("AWS_SECRET_ACCESS_KEY"), name_parts("clientAPIKey"), name_parts("max-tokens")
    (['aws', 'secret', 'access', 'key'], ['client', 'api', 'key'], ['max', 'tokens'])
    """
    humps = re.sub(r"([a-z0-9])([A-Z])|([A-Z]+)([A-Z][a-z])", r"\1\3 \2\4", name)
    return [part.lower() for part in re.split(r"[\s_.\-]+", humps) if part]


def is_secret_name(name: str) -> bool:
    """Whether a setting called ``name`` holds a secret (see the module's docstring).

    >>> [is_secret_name(n) for n in ("OPENAI_API_KEY", "apiToken", "tokenizer", "authors")]
    [True, True, False, False]
    """
    parts = name_parts(name)
    if not parts:
        return False
    if parts[-1] in _SECRET_ENDS or any(part in _SECRET_PARTS for part in parts):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(parts))


def _hide_setting(line: str) -> str:
    """A diff line with the value of the first secret it sets hidden (the rest of the line)."""
    if line[:1] not in ("+", "-", " "):
        return line
    for match in _SETTING.finditer(line, 1):
        if is_secret_name(match[1]):
            return line[: match.end()] + HIDDEN + ("\r" if line.endswith("\r") else "")
    return line


def hide_secrets(diff: str) -> str:
    """``diff`` with the secrets it shows hidden: words shaped like API keys, the values of
    lines that set a secret ("OPENAI_API_KEY=...", "password: ..."), private key blocks.

    >>> print(hide_secrets("+DEBUG=1\\n+OPENAI_API_KEY=abc123\\n-  password: 'hunter2'"))
    +DEBUG=1
    +OPENAI_API_KEY=(hidden)
    -  password: (hidden)
    >>> hide_secrets("+def token_count(text):\\n+tokenizer = 'bpe'")
    "+def token_count(text):\\n+tokenizer = 'bpe'"
    """
    diff = _PRIVATE_KEY.sub(lambda m: f"-----BEGIN {m[1]}----- {HIDDEN}", redact_keys(diff))
    return "\n".join(_hide_setting(line) for line in diff.split("\n"))
