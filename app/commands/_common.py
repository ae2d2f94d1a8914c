"""Helpers shared by the CLI subcommands: load settings once, save them, print JSON."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import click

from app.config import LoadResult, Settings, load_settings, save_settings, settings_lock
from app.jsontext import json_text


def load() -> LoadResult:
    """Load settings; report (on stderr) a broken settings file that was moved aside."""
    result = load_settings()
    if result.problem:
        click.secho(f"warning: {result.problem}", err=True, fg="yellow")
    return result


def settings() -> Settings:
    """Load and return the user's settings (reporting any problem on stderr)."""
    return load().settings


@contextlib.contextmanager
def editing() -> Iterator[Settings]:
    """The user's settings, for a command that changes them: it saves with :func:`save` inside
    the block, and no other process saves the settings meanwhile (see ``settings_lock``)."""
    with settings_lock():
        yield settings()


def save(new: Settings, forget: Collection[str] = ()) -> None:
    """Save settings to the user's config file, atomically (inside :func:`editing`); the
    dotted keys in ``forget``, at their defaults, are taken out of it."""
    save_settings(new, forget=forget)


def note_empty(message: str) -> None:
    """Say on stderr that a listing is empty, and how to fill it (stdout stays empty, for
    scripts)."""
    click.secho(message, err=True, fg="bright_black")


def echo_json(obj: Any) -> None:
    r"""Print one JSON object on one line (UTF-8, no ASCII escaping; see
    :func:`app.jsontext.json_text`).

    A lone surrogate (the bytes of a file name that is not UTF-8) is written as a JSON
    ``\uXXXX`` escape, which UTF-8 cannot carry raw; ``json.loads`` gives it back, and
    ``os.fsencode`` the name's bytes.

    >>> echo_json({"path": "caf\udce9.wav", "text": "naïve"})
    {"path": "caf\udce9.wav", "text": "naïve"}
    >>> echo_json({"text": "one\u2028two"})
    {"text": "one\u2028two"}
    """
    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower()
    # A stream that is not UTF (a pipe on Windows: cp1252) gets escapes, never a "?" for a letter
    click.echo(json_text(obj, ensure_ascii="utf" not in encoding))


def export_target(path: Path) -> Path:
    """``path`` as a file for `vocab export`; ``-`` is refused (a usage error): it reads as
    standard output, which that command does not write to (`vocab list` does), and a file named
    "-" would appear. (`history export -` writes to standard output.)"""
    if str(path) == "-":
        raise click.UsageError("give a file name to export to (- is not standard output here)")
    return path


def with_model(config: Settings, name: str | None) -> Settings:
    """``config`` reading with speech model ``name`` (``--model``; an unknown or missing one is
    a clear error before anything loads), or with the configured one, for which the embedded
    model stands in while it is not on this machine, as in dictation (said in a warning line;
    the configured one's error when the embedded one cannot stand in for it)."""
    from app.errors import ModelMissing
    from app.transcribe import models

    if name is not None:  # (--model "" is an unknown model, not the configured one)
        models.resolve(name)
        return _named(config, name)
    try:
        models.resolve(config.model.name)
    except ModelMissing as exc:
        if not models.embedded_stands_in(config.model.name, config.model.language):
            raise
        click.secho(
            f"warning: {exc}; the embedded {models.EMBEDDED} is used until then", err=True, fg="yellow"
        )
        return _named(config, models.EMBEDDED)
    return config


def _named(config: Settings, name: str) -> Settings:
    return config.model_copy(update={"model": config.model.model_copy(update={"name": name})})
