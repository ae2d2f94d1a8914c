"""llm's key store (``keys.json`` in llm's user folder), read and written the way llm does.

Holdtype never keeps an API key of its own: the llm library and every plugin look a key up by
name in that file (then in the provider's environment variable). ``llm keys set`` writes it,
but the ``llm`` command is not on the user's PATH in every install (a virtual environment's
``bin``, or none at all in the packaged app), so ``holdtype llm keys`` writes the same file,
in llm's own format. Only names ever leave this module: a value is written, never returned.

Example::

    printf %s "$OPENAI_API_KEY" | holdtype llm keys set openai
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from app.errors import HoldtypeError
from app.own_keys import holds_api_key, key_shaped_name
from app.paths import llm_keys_file, replace_file
from app.redact import SHOWN
from app.textfile import is_hidden

#: The command that stores a key, as every hint names it: it works in every install.
SET_KEY_COMMAND = "holdtype llm keys set"
#: The entry llm writes at the top of a new keys.json; not a key (llm's ``keys list`` skips it).
NOTE = "// Note"
_NOTE_TEXT = "This file stores secret API credentials. Do not share!"
#: Why a key given as the name is refused (it is never repeated).
NAME_FIRST = (
    "not saved: the name given looks like an API key; the key's name comes first and the key "
    f"goes on standard input (or at the prompt): printf %s KEY | {SET_KEY_COMMAND} openai"
)


class KeyStoreError(HoldtypeError):
    """llm's key store cannot be read or written, or a key given to it is unusable."""


def set_key_hint(name: str) -> str:
    """The command that stores the key ``name``.

    >>> set_key_hint("openai")
    'holdtype llm keys set openai'
    """
    return f"{SET_KEY_COMMAND} {name}"


def keys_file() -> Path:
    """llm's ``keys.json`` (``LLM_USER_PATH`` or llm's folder), present or not: found as
    :mod:`app.redact` finds it for every log record, without importing llm."""
    return llm_keys_file()


def _read(path: Path) -> dict[str, Any]:
    """The keys file's object; empty when it is missing. A file llm cannot read either is an
    error, never taken as empty: llm's own ``keys set`` then starts afresh, and every other key
    in it is lost."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        text = ""  # reported below, as any other file that is not JSON
    try:
        stored = json.loads(text)
    except ValueError:
        stored = None
    if not isinstance(stored, dict):
        raise KeyStoreError(f"llm's key file {path} is not a JSON object of names and keys: fix or delete it")
    return stored


def key_names() -> list[str]:
    """The names of the stored keys, sorted (llm's note at the top of the file is not one)."""
    return sorted(name for name in _read(keys_file()) if name != NOTE)


def is_key_not_name(name: str) -> bool:
    """Whether ``name`` is a key given in place of its name (``printf openai | holdtype llm keys
    set sk-…``): shaped like a key or one of the user's own keys (:func:`holds_api_key`), or
    random as no provider's name is (16 characters or more, with capitals, small letters and
    digits: a Mistral key).

    >>> is_key_not_name("openai"), is_key_not_name("holdtype-test"), is_key_not_name("sk-proj-" + "Ab3" * 12)
    (False, False, True)
    >>> is_key_not_name("aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW")
    True
    """
    return key_shaped_name(name) or holds_api_key(name)


def shown_name(name: str) -> str:
    """``name`` as messages and ``keys list`` show it: a key stored as a name
    (:func:`is_key_not_name`, by llm's own ``keys set`` or before Holdtype refused one) by its
    first characters only.

    >>> shown_name("openai"), shown_name("sk-proj-" + "Ab3" * 12)
    ('openai', 'sk-pro…(key hidden)')
    """
    return f"{name[:SHOWN]}…(key hidden)" if is_key_not_name(name) else name


def check_name(name: str) -> str:
    """``name`` without the spaces around it, refused (:class:`KeyStoreError`) when it is no
    key's name: empty, llm's note, with spaces or control characters inside, or a key itself
    (:func:`is_key_not_name`; the message does not repeat it)."""
    name = name.strip()
    if is_key_not_name(name):
        raise KeyStoreError(NAME_FIRST)
    if not name or name == NOTE or any(is_hidden(ch) or ch.isspace() for ch in name):
        raise KeyStoreError(f"{name!r} is not a key name (a provider's name, such as openai)")
    return name


def clean_value(value: str) -> str:
    """``value`` without the spaces and line break around it (a paste, ``echo``); refused when
    nothing is left, or when a line break or control character is left inside, which no key
    has (two lines pasted). The message never quotes the value.

    >>> clean_value("  sk-abc\\n")
    'sk-abc'
    >>> clean_value("\\ufeffsk-abc")  # (a key file saved with a byte order mark)
    'sk-abc'
    >>> clean_value(" \\n")
    Traceback (most recent call last):
    ...
    app.llm.keys.KeyStoreError: no key given: the value is empty
    """
    value = value.strip().removeprefix("\ufeff").strip()  # (a key file saved on Windows: its BOM)
    if not value:
        raise KeyStoreError("no key given: the value is empty")
    if any(is_hidden(ch) for ch in value):
        raise KeyStoreError("not saved: the key has a line break or control character inside; give one line")
    # A key goes in an HTTP header: anything but printable ASCII failed every call later
    # ("'ascii' codec can't encode character"), a space or quotes were a paste's, not the key's.
    if any(ch.isspace() for ch in value) or not all(" " < ch < "\x7f" for ch in value):
        raise KeyStoreError(
            "not saved: an API key is letters, digits and signs without spaces; this value has other "
            "characters (a space, an accent, an invisible one, or it was not UTF-8); copy the key again"
        )
    if value[0] in "\"'" and value[-1] == value[0]:
        raise KeyStoreError("not saved: give the key without the quotes around it")
    if re.match(r"[A-Za-z_][A-Za-z0-9_]*=", value):
        raise KeyStoreError("not saved: this looks like NAME=key (a line of a .env file); give the key alone")
    return value


def _write(path: Path, stored: dict[str, Any]) -> None:
    """Write ``stored`` as llm does (two-space indent, a final newline), atomically and mode
    0600 whatever the umask and the old file's mode; a symbolic link keeps pointing at its
    file, which gets the keys."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".keys-", suffix=".json", dir=path.parent)  # made 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(stored, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        replace_file(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # a filesystem without permissions
        path.chmod(0o600)


def _store_lock(path: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the key store's lock (``keys.json.lock`` beside it) for a read, change and write:
    two Holdtype processes storing a key at once (the settings window and ``holdtype llm keys
    set`` in a script) each wrote its change over the other's, and one key was lost. (llm's own
    ``llm keys set`` takes no lock.)"""
    from app.config import settings_lock  # (app.config imports this module)

    return settings_lock(path)


def set_key(name: str, value: str) -> Path:
    """Store ``value`` (see :func:`clean_value`) as the key ``name``, replacing any key of that
    name, and return the file's path."""
    name, value = check_name(name), clean_value(value)
    path = keys_file()
    with _store_lock(path):
        stored = _read(path) or {NOTE: _NOTE_TEXT}  # a new file starts with llm's note
        stored[name] = value
        _write(path, stored)
    return path


def remove_key(name: str) -> Path:
    """Remove the key ``name`` and return the file's path; an error naming the stored keys when
    there is none of that name."""
    path = keys_file()
    with _store_lock(path):
        stored = _read(path)
        if name == NOTE or name not in stored:
            names = ", ".join(shown_name(n) for n in sorted(stored) if n != NOTE) or "none"
            raise KeyStoreError(f"no key named {shown_name(name)!r} in llm's key store (stored: {names})")
        del stored[name]
        _write(path, stored)
    return path
