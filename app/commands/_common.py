"""Helpers shared by the CLI subcommands: load settings once, save them, print JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from app.config import LoadResult, Settings, load_settings, save_settings


def load() -> LoadResult:
    """Load settings; report (on stderr) a broken settings file that was moved aside."""
    result = load_settings()
    if result.problem:
        click.secho(f"warning: {result.problem}", err=True, fg="yellow")
    return result


def settings() -> Settings:
    """Load and return the user's settings (reporting any problem on stderr)."""
    return load().settings


def save(new: Settings) -> None:
    """Save settings to the user's config file, atomically."""
    save_settings(new)


def note_empty(message: str) -> None:
    """Say on stderr that a listing is empty, and how to fill it (stdout stays empty, for
    scripts)."""
    click.secho(message, err=True, fg="bright_black")


def echo_json(obj: Any) -> None:
    """Print one JSON object on one line (UTF-8, no ASCII escaping)."""
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))
