"""``holdtype config``: where the settings live, and reading/changing them by dotted key."""

from __future__ import annotations

import json

import click

from app.commands._common import load, save
from app.config import get_value, set_text, settings_to_toml
from app.paths import get_paths


@click.group()
def config() -> None:
    """Show and change settings (stored as TOML).

    Example: holdtype config set hotkey.key f9
    """


@config.command("path")
def config_path() -> None:
    """Print the settings file's path (and the data and cache folders)."""
    paths = get_paths()
    click.echo(str(paths.config_file))


@config.command("paths")
def config_paths() -> None:
    """Print every folder Holdtype uses."""
    paths = get_paths()
    for name, value in (
        ("config", paths.config_file),
        ("data", paths.data_dir),
        ("cache", paths.cache_dir),
        ("history", paths.history_db),
        ("models", paths.models_dir),
        ("modes", paths.modes_dir),
    ):
        click.echo(f"{name}\t{value}")


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
def config_show(as_json: bool) -> None:
    """Print all settings, defaults included."""
    settings = load().settings
    if as_json:
        click.echo(json.dumps(settings.model_dump(mode="json"), indent=2))
    else:
        click.echo(settings_to_toml(settings), nl=False)


@config.command("get")
@click.argument("key")
def config_get(key: str) -> None:
    """Print one setting, e.g. `holdtype config get model.beam_size`."""
    value = get_value(load().settings, key)
    click.echo(value if isinstance(value, str) else json.dumps(value))


@config.command("set")
@click.argument("key")
@click.argument("value")
def config_set(key: str, value: str) -> None:
    """Change one setting (validated), e.g. `holdtype config set hotkey.mode toggle`.

    VALUE is read as JSON/TOML when it parses (numbers, true/false, lists), else as text;
    `none` clears an optional setting.
    """
    if key.startswith("hotkey.") and key.split(".")[-1] in {"key", "cancel_key"}:
        from app.hotkey.binding import canonical

        value = canonical(value)
    new = set_text(load().settings, key, value)
    save(new)
    shown = get_value(new, key)
    click.echo(f"{key} = {shown if isinstance(shown, str) else json.dumps(shown)}")
