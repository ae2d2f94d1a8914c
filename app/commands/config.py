"""``holdtype config``: where the settings live, and reading/changing them by dotted key."""

from __future__ import annotations

import contextlib
import json

import click

from app.commands._common import editing, load, save
from app.config import HotkeySettings, Settings, get_value, set_text, settings_to_toml
from app.errors import ConfigError
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


@config.command("set", context_settings={"ignore_unknown_options": True})
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
    with editing() as current:
        new = set_text(current, key, value)
        notes = _check_in_place(key, new)
        save(new)
    shown = get_value(new, key)
    click.echo(f"{key} = {shown if isinstance(shown, str) else json.dumps(shown)}")
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _check_in_place(key: str, new: Settings) -> list[str]:
    """Refuse a value that is valid in the file but names nothing on this machine (a model, a
    language or a mode that does not exist), before it breaks dictation; return notes on values
    that work but need a step first. The settings file itself stays lenient: a model folder on
    a drive that is not mounted is no reason to set the user's whole file aside."""
    if key == "schema_version":
        raise ConfigError("schema_version is kept by Holdtype itself; it cannot be set")
    if key.startswith("hotkey.") and key.split(".")[1] in {"key", "cancel_key", "mode_keys"}:
        _check_keys(key, new.hotkey)
    if key == "model.name":
        from app.transcribe.models import EMBEDDED, REGISTRY, is_installed, resolve

        name = new.model.name
        if name not in REGISTRY:
            resolve(name)  # an unknown name, or a folder without a model, is refused here
        elif name != EMBEDDED and not is_installed(name):
            return [f"{name} is not downloaded yet; run: holdtype models download {name}"]
    if key == "model.language" and new.model.language is not None:
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        language = new.model.language
        if language not in _LANGUAGE_CODES:
            raise ConfigError(
                f"unknown language code '{language}' (Whisper's codes: en, de, fr, es, ...; "
                "`holdtype config set model.language none` detects the language)"
            )
        if new.model.name.endswith(".en") and language != "en":
            from app.transcribe.models import REGISTRY

            multilingual = ", ".join(name for name in REGISTRY if not name.endswith(".en"))
            return [f"{new.model.name} understands English only; a multilingual model: {multilingual}"]
    if key == "llm.model" and new.llm.model:
        return _llm_model_notes(new.llm.model)
    if key == "modes.active" or key.startswith("hotkey.mode_keys"):
        from app.llm.modes import get_mode

        named = [new.modes.active] if key == "modes.active" else new.hotkey.mode_keys.values()
        for mode in named:
            get_mode(mode)  # unknown or broken: refused with the known names
    return []


def _llm_model_notes(model_id: str) -> list[str]:
    """A note when the llm library knows no model ``model_id`` (its plugin may come later,
    so the value is kept): a typo would otherwise show only at the first dictation in a mode."""
    import llm

    from app.llm.runner import PLUGIN_LOCK

    try:
        with PLUGIN_LOCK:
            llm.get_model(model_id)
    except llm.UnknownModelError:
        return [
            f"the llm library knows no model '{model_id}' here: install its plugin "
            "(llm install ...) or pick one from `holdtype llm models`"
        ]
    except Exception as exc:  # a broken plugin: the value may still be right
        return [f"could not look up llm model '{model_id}': {exc}"]
    return []


def _check_keys(key: str, hotkey: HotkeySettings) -> None:
    """Refuse keys that collide (the dictation key that is also the cancel key or a mode's key)
    or that typing needs ('a' or Enter alone), as the settings window does."""
    from app.hotkey.binding import BindingError, canonical, check_hotkey

    if key == "hotkey.key":
        problem = check_hotkey(hotkey.key, hotkey)[1]
        if problem:
            raise ConfigError(f"cannot use hotkey.key {hotkey.key}: {problem}")
        return
    if key == "hotkey.cancel_key":
        if hotkey.cancel_key == hotkey.key:
            raise ConfigError(f"{hotkey.key} is the dictation hotkey; the cancel key must differ")
        return
    for mode_key, mode in hotkey.mode_keys.items():
        others = {k: m for k, m in hotkey.mode_keys.items() if k != mode_key}
        problem = check_hotkey(mode_key, hotkey.model_copy(update={"mode_keys": others}))[1]
        with contextlib.suppress(BindingError):  # an unreadable key: check_hotkey said so
            if canonical(mode_key) == canonical(hotkey.key):
                problem = problem or "it is the dictation hotkey"
        if problem:
            raise ConfigError(f"cannot bind {mode_key} to mode '{mode}': {problem}")
