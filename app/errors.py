"""Exceptions that carry a message meant for the user.

Parts raise a subclass of :class:`HoldtypeError` for anything the user can fix (a missing file,
an unknown model, a bad setting). The CLI turns them into one line on stderr; the engine publishes
them as error events. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

# ``extra`` for a warning logged where the problem is found and also shown by whoever called
# (the CLI prints it as one "warning:" line): the CLI's own log handler on stderr skips it, so
# it is not said twice there, and every other handler (the app's log file) still gets it.
SHOWN_TO_USER = {"shown_to_user": True}


def short_reason(exc: BaseException) -> str:
    """The first line of ``exc``'s message (its ``reason``, for urllib's errors), at most 200
    characters; its type's name when it has none.

    >>> short_reason(RuntimeError("Library libcublas.so.12 is not found\\nmore")), short_reason(OSError())
    ('Library libcublas.so.12 is not found', 'OSError')
    """
    reason = getattr(exc, "reason", None)
    text = str(reason if reason is not None else exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


class HoldtypeError(Exception):
    """An error with a message that tells the user what went wrong and how to fix it."""


class ConfigError(HoldtypeError):
    """A setting or the settings file is invalid."""


class ModelError(HoldtypeError):
    """A speech model cannot be found, downloaded or loaded."""


class ModelMissing(ModelError):
    """The chosen speech model is not on this machine (not downloaded yet, or removed)."""


class AudioError(HoldtypeError):
    """Audio cannot be read from a file or captured from a device."""


class AutostartError(HoldtypeError):
    """The start-at-login entry cannot be written or removed."""


class RuleError(HoldtypeError):
    """A replacement rule is invalid (for example a regular expression that does not compile)."""


def unusable(what: str, exc: BaseException, advice: str) -> str:
    """Why ``what`` (a database file) cannot be used now: the error, and ``advice`` when another
    program holds it ("database is locked", "busy"), which is no damage.

    >>> unusable("the cache", Exception("database is locked"), "try again")
    'the cache cannot be used (database is locked); another program holds it: try again'
    """
    reason = str(exc) or "database is locked"  # diskcache.Timeout says nothing
    held = "locked" in reason or "busy" in reason
    return f"{what} cannot be used ({reason})" + (f"; another program holds it: {advice}" if held else "")
