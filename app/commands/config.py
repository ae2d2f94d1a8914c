"""``holdtype config``: where the settings live, and reading/changing them by dotted key."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Collection, Mapping
from pathlib import Path

import click

from app.commands._common import editing, load, save
from app.config import (
    KEYS_GO_TO_LLM,
    HistorySettings,
    HotkeySettings,
    Settings,
    all_settings_toml,
    check_terms,
    get_value,
    holds_api_key,
    set_text,
    set_value,
)
from app.errors import ConfigError, HoldtypeError
from app.paths import get_paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@click.group()
def config() -> None:
    """Show and change settings (stored as TOML).

    Example: holdtype config set hotkey.key f9
    """


@config.command("path")
def config_path() -> None:
    """Print the settings file's path (`holdtype config paths` lists every folder)."""
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
        click.echo(json.dumps(settings.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        click.echo(shown_toml(settings), nl=False)


def shown_toml(settings: Settings) -> str:
    """The settings as TOML, each optional setting that is not set written as a comment under
    its section header (TOML has no null), so that every key is listed.

    >>> print(shown_toml(Settings()).split("[audio]")[1].split("\\n\\n")[0].strip())
    # device: not set (Input device name or index; default device if unset)
    pre_roll_s = 0.3
    max_record_s = 600.0
    keep_audio = false
    sounds = true
    """
    data = settings.model_dump(mode="json")
    text = all_settings_toml(settings)
    written = tomllib.loads(text)
    lines: list[str] = []
    for line in text.splitlines():
        lines.append(line)
        section = line[1:-1] if line.startswith("[") and line.endswith("]") else ""
        values = data.get(section)
        if not isinstance(values, dict):
            continue
        fields = type(getattr(settings, section)).model_fields
        for name, value in values.items():
            # (language = "" is how the file says auto-detect: it was listed twice)
            if value is None and name not in written.get(section, {}):
                about = fields[name].description if name in fields else None
                lines.append(f"# {name}: not set" + (f" ({about})" if about else ""))
    return "\n".join(lines) + "\n"


@config.command("get")
@click.argument("key")
def config_get(key: str) -> None:
    """Print one setting: text as it is, anything else as JSON.

    Example: holdtype config get model.beam_size
    """
    value = get_value(load().settings, key)
    click.echo(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


@config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@click.option("--yes", is_flag=True, help="Do not ask before a shorter history retention deletes entries.")
def config_set(key: str, value: str, yes: bool) -> None:
    """Change one setting (validated). Example: holdtype config set hotkey.mode toggle

    VALUE is read as JSON/TOML when it parses (numbers, true/false, lists), else as text;
    `none` clears an optional setting. A whole section (`hotkey`, `vocabulary`...) takes a
    JSON object whose settings are changed (the others keep their values), `rules` a JSON
    list (the whole list), checked like each of its settings. An entry of a table is set or
    added on its own (`modes.apps.firefox clean`; a name with dots in double quotes:
    'modes.apps."org.mozilla.firefox"'), and taken out with `none`. A value shaped
    like an API key is refused for every setting: keys go in llm's key store (`holdtype
    llm keys set openai`).

    A shorter `history.retention_days` that deletes entries says how many and asks first
    (without a terminal to ask in, it takes --yes).
    """
    if holds_api_key(value):  # the settings file is plain text, and no setting is a key
        raise click.ClickException(f"not saved: this looks like an API key; {KEYS_GO_TO_LLM}")
    shorter = False
    if _touches(key, "history.retention_days"):  # (asked before the settings are locked)
        before = load().settings
        shorter = _confirm_retention(before.history.retention_days, set_text(before, key, value).history, yes)
    with editing() as current:
        new = _normalised(key, set_text(current, key, value))  # a key inside JSON: save refuses it
        notes = _check_in_place(key, new, current)
        if key == "ui.start_at_login" or new.ui.start_at_login != current.ui.start_at_login:
            # As the settings window does; not for another ui setting (an installer's entry stays).
            notes += _start_at_login(new.ui.start_at_login)
        save(new, forget=[key] if _at_default(new, key) else ())
    try:
        shown = get_value(new, key)
    except ConfigError:  # an entry of a table, taken out (`modes.apps.firefox none`)
        click.echo(f"{key} removed")
    else:
        click.echo(f"{key} = {shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)}")
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if shorter:
        _apply_retention(new)


def _apply_retention(settings: Settings) -> None:
    """Delete the entries (and LLM replies) past ``settings``' shorter retention now, as the
    user was told: a running Holdtype does too, but without one, `history list` and `history
    export` still gave them until the next start."""
    from app.events import ErrorRaised, Notice
    from app.history.retention import Retention
    from app.history.store import HistoryStore

    def say(event: object) -> None:
        if isinstance(event, (Notice, ErrorRaised)):
            click.echo(f"note: {event.message}", err=True)

    try:
        with HistoryStore() as store:
            Retention(lambda: settings, lambda: store, get_paths().llm_cache_dir, say).apply(
                force=True, announce=True
            )
    except HoldtypeError as exc:  # (the next start, or the running app, tries again)
        click.echo(f"note: {exc}; a running Holdtype, or its next start, deletes them", err=True)


def _at_default(settings: Settings, key: str) -> bool:
    """Whether the setting ``key`` of ``settings`` is at its default: set so, it is taken out of
    the file (it stayed there, pinned, and a later default never reached it)."""
    try:
        return get_value(settings, key) == get_value(Settings(), key)
    except ConfigError:  # an entry of a table, new or taken out
        return False


@config.command("reset")
@click.argument("key")
def config_reset(key: str) -> None:
    """Set one setting (or a whole section) back to its default, and take it out of the
    settings file, so that a later version's default reaches it.

    An entry of a table (`modes.apps.firefox`, `hotkey.mode_keys.f9`), which no default
    has, is taken out.

    Example: holdtype config reset model.beam_size
    """
    try:
        default = get_value(Settings(), key)
    except ConfigError:
        if "." not in key:
            raise  # an unknown key: one line
        with editing() as current:  # an entry of a table, or else the same unknown key's line
            new = set_value(current, key, None)
            save(new, forget=[key])
        click.echo(f"{key} taken out (the default has no such entry)")
        return
    with editing() as current:
        new = set_value(current, key, default)
        save(new, forget=[key])
    shown = default if isinstance(default, str) else json.dumps(default, ensure_ascii=False)
    click.echo(f"{key} = {shown} (the default)")


def _confirm_retention(old_days: int | None, new: HistorySettings, yes: bool) -> bool:
    """Say how many entries a shorter retention deletes, and go on only when the user says so
    (``--yes``, or asked on the terminal): they are deleted at once, for good. Set from the
    CLI, 3562 of 5000 entries went without a word. True when entries are to go."""
    days = new.retention_days
    if days is None or (old_days is not None and days >= old_days):
        return False
    if not get_paths().history_db.exists():
        return False
    from app.history.retention import days_wording, entries_wording
    from app.history.store import HistoryStore

    try:
        with HistoryStore() as store:
            gone = store.count_past(days)
    except HoldtypeError:  # unreadable: it is reported where it is used, and nothing is pruned
        return False
    if not gone:
        return False
    what = f"{entries_wording(gone, 'history')} older than {days_wording(days)}"
    if yes:
        click.echo(f"note: {what} will be deleted for good, with any kept recordings", err=True)
        return True
    if sys.stdin is None or not sys.stdin.isatty():
        raise click.ClickException(f"not saved: {what} would be deleted for good; add --yes to go on")
    if not click.confirm(f"{what} will be deleted for good, with any kept recordings. Go on?", err=True):
        raise click.ClickException("not saved; history is kept as it was")
    return True


def _touches(key: str, setting: str) -> bool:
    """Whether setting ``key`` sets ``setting``: the setting itself, a section holding it, or a
    part of it.

    >>> [_touches(k, "hotkey.key") for k in ("hotkey.key", "hotkey", "hotkey.mode", "model")]
    [True, True, False, False]
    >>> _touches("hotkey.mode_keys.f9", "hotkey.mode_keys")
    True
    """
    return setting == key or setting.startswith(key + ".") or key.startswith(setting + ".")


def _normalised(key: str, new: Settings) -> Settings:
    """``new`` with what ``key`` sets written the one way Holdtype reads it: the dictation and
    cancel keys canonical ("Ctrl+Alt+Space" is ctrl+alt+space; a key Holdtype does not know is
    refused), a model folder as an absolute path (a relative one would mean another folder
    from wherever Holdtype runs next)."""
    from app.hotkey.binding import canonical
    from app.transcribe.models import REGISTRY

    keys = {
        name: canonical(getattr(new.hotkey, name))
        for name in ("key", "cancel_key")
        if _touches(key, f"hotkey.{name}")
    }
    if keys:
        new = new.model_copy(update={"hotkey": new.hotkey.model_copy(update=keys)})
    if _touches(key, "llm.model") and new.llm.model and new.llm.model != new.llm.model.strip():
        # (" gpt-4o-mini " was saved with its spaces, a name no model has)
        new = new.model_copy(update={"llm": new.llm.model_copy(update={"model": new.llm.model.strip()})})
    folder = Path(new.model.name).expanduser()
    if _touches(key, "model.name") and new.model.name not in REGISTRY and folder.is_dir():
        new = new.model_copy(update={"model": new.model.model_copy(update={"name": os.path.abspath(folder)})})
    return new


def _check_in_place(key: str, new: Settings, old: Settings) -> list[str]:
    """Refuse a value that is valid in the file but names nothing on this machine (a model, a
    language or a mode that does not exist), a key that collides with another, a rule that
    cannot run, before it breaks dictation; return notes on values that work but need a step
    first. Whatever ``key`` sets is checked, one setting or a whole section. The settings file
    itself stays lenient: a model folder on a drive that is not mounted is no reason to set the
    user's whole file aside. Of the modes named in tables (``modes.apps``,
    ``hotkey.mode_keys``) only those this change names are checked: a mode deleted since it was
    tied must not block mending the table one entry at a time."""
    if key == "schema_version":
        raise ConfigError("schema_version is kept by Holdtype itself; it cannot be set")
    notes: list[str] = []
    _check_keys(
        new.hotkey, [name for name in ("key", "mode_keys", "cancel_key") if _touches(key, f"hotkey.{name}")]
    )
    if _touches(key, "model.name"):
        notes += _check_model_name(new.model.name)
    if _touches(key, "model.device") or _touches(key, "model.compute_type"):
        notes += _check_compute(new.model.device, new.model.compute_type)
    if _touches(key, "model.language") or _touches(key, "model.name"):
        notes += _check_language(new.model.name, new.model.language, explicit=_touches(key, "model.language"))
    if _touches(key, "vocabulary.terms"):
        check_terms(new.vocabulary.terms)
    if _touches(key, "rules"):
        from app.text.rules import validate_rule

        for rule in new.rules:
            validate_rule(rule)
    if _touches(key, "llm.model") and new.llm.model:
        notes += _llm_model_notes(new.llm.model)
    if _touches(key, "modes.active") or _touches(key, "hotkey.mode_keys") or _touches(key, "modes.apps"):
        from app.llm.modes import get_mode

        named = [new.modes.active] if _touches(key, "modes.active") else []
        if _touches(key, "hotkey.mode_keys"):
            named += _changed_values(old.hotkey.mode_keys, new.hotkey.mode_keys)
        if _touches(key, "modes.apps"):
            named += _changed_values(old.modes.apps, new.modes.apps)
        for mode in named:
            get_mode(mode)  # unknown or broken: refused with the known names
    return notes


def _changed_values(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The values of ``new`` set or changed since ``old`` (a key's removal names nothing).

    >>> _changed_values({"slack": "gone", "mutt": "email"}, {"slack": "gone", "mutt": "clean"})
    ['clean']
    """
    return [value for name, value in new.items() if old.get(name) != value]


def _start_at_login(enabled: bool) -> list[str]:
    """Write or remove the start-at-login entry (an :class:`~app.errors.AutostartError`, and
    nothing saved, when it cannot be); a note of where it is."""
    from app.autostart import set_start_at_login

    where = set_start_at_login(enabled)
    return [f"Holdtype starts when you log in ({where})"] if where is not None else []


def _check_compute(device: str, compute_type: str) -> list[str]:
    """Notes when the model will not load here with ``device`` and ``compute_type`` (kept: the
    settings may be meant for a machine with a GPU, or for one to be fitted)."""
    from app.transcribe.device import cuda_device_count

    gpus = cuda_device_count()
    if device == "cuda" and gpus < 1:
        return [
            "CTranslate2 sees no CUDA GPU here: the model will not load until it does "
            "(for this machine: holdtype config set model.device auto)"
        ]
    if compute_type in ("auto", "default"):
        return []
    where = "cuda" if device == "cuda" or (device == "auto" and gpus > 0) else "cpu"
    try:
        import ctranslate2

        supported = set(ctranslate2.get_supported_compute_types(where))
    except Exception:  # (a broken CUDA install: said by the load itself)
        return []
    if compute_type in supported:
        return []
    return [
        f"this {where.upper() if where == 'cuda' else 'CPU'} cannot compute in {compute_type} "
        f"(it can in {', '.join(sorted(supported))}): the model will not load "
        "(holdtype config set model.compute_type auto)"
    ]


def _check_model_name(name: str) -> list[str]:
    """Refuse a model name that is neither known nor a model folder; a note when it still has
    to be downloaded."""
    from app.transcribe.models import EMBEDDED, REGISTRY, is_installed, resolve

    if name not in REGISTRY:
        resolve(name)  # an unknown name, or a folder without a model, is refused here
    elif name != EMBEDDED and not is_installed(name):
        return [f"{name} is not downloaded yet; run: holdtype models download {name}"]
    return []


def _check_language(model: str, language: str | None, explicit: bool) -> list[str]:
    """Refuse a language code Whisper does not know (when ``explicit``ly set); a note when the
    model understands English only and the language is another."""
    if language is None:
        return []
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    from app.transcribe.models import english_only_note

    if explicit and language not in _LANGUAGE_CODES:
        raise ConfigError(
            f"unknown language code '{language}' (Whisper's codes: en, de, fr, es, ...; "
            "`holdtype config set model.language none` detects the language)"
        )
    note = english_only_note(model, language)
    return [note] if note else []


def _llm_model_notes(model_id: str) -> list[str]:
    """A note when the llm library knows no model ``model_id`` (its plugin may come later,
    so the value is kept): a typo would otherwise show only at the first dictation in a mode."""
    from app.llm.setup import unknown_model_note

    note = unknown_model_note(model_id, "or pick one from `holdtype llm models`")
    if note and len(model_id.split()) > 1:  # two words no model knows: a name and a key, pasted
        raise ConfigError(
            f"not saved: the llm library knows no model '{model_id.split()[0]} …', and a model's name "
            "has no spaces; set the name alone (`holdtype llm models` lists them)"
        )
    return [note] if note else []


def _check_keys(hotkey: HotkeySettings, changed: Collection[str]) -> None:
    """Refuse a dictation or mode key that typing or pasting needs ('a' or Enter alone, ctrl+v),
    as the settings window does; ``changed`` names which were set ("key", "mode_keys"). Keys
    that clash with each other are refused by the settings themselves (``HotkeySettings``)."""
    from app.hotkey.binding import check_cancel_key, check_hotkey

    if "cancel_key" in changed:
        problem = check_cancel_key(hotkey.cancel_key)
        if problem:
            raise ConfigError(f"cannot use hotkey.cancel_key {hotkey.cancel_key}: {problem}")
    if "key" in changed:
        problem = check_hotkey(hotkey.key, hotkey)[1]
        if problem:
            raise ConfigError(f"cannot use hotkey.key {hotkey.key}: {problem}")
    if "mode_keys" in changed:
        for mode_key, mode in hotkey.mode_keys.items():
            others = {k: m for k, m in hotkey.mode_keys.items() if k != mode_key}
            problem = check_hotkey(mode_key, hotkey.model_copy(update={"mode_keys": others}))[1]
            if problem:
                raise ConfigError(f"cannot bind {mode_key} to mode '{mode}': {problem}")
