"""Holdtype's log level: the command line's when it names one, else the settings'.

``holdtype -v``/``-vv`` or ``HOLDTYPE_LOG_LEVEL`` is a request for this run and wins; without
either, the running app (tray or ``run --no-tray``) follows ``ui.log_level``, also when the
setting changes while it runs.
"""

from __future__ import annotations

import logging

_requested: int | None = None


def request(level: int | None) -> None:
    """Record the level the command line asked for (None: it asked for none)."""
    global _requested
    _requested = level


def follow_setting(name: str) -> int:
    """Set the level of Holdtype's loggers from the setting ``name`` ("DEBUG", "INFO", …),
    unless the command line asked for a level; return the level in effect.

    >>> request(None); follow_setting("ERROR") == logging.ERROR
    True
    >>> request(logging.DEBUG); follow_setting("ERROR") == logging.DEBUG
    True
    >>> request(None)
    """
    level = _requested if _requested is not None else getattr(logging, name, logging.INFO)
    logging.getLogger("app").setLevel(level)
    return level
