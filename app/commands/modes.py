"""``holdtype modes …``: list, show, test and remove LLM modes.

Examples::

    holdtype modes list
    holdtype modes show clean
    holdtype modes test clean "um so I think we should uh ship it"
    holdtype modes remove memo
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence

import click

from app.commands._common import echo_json, editing, save, settings
from app.config import Settings
from app.llm.modes import Mode, get_mode, load_modes, unusable_modes, unusable_ties


@click.group()
def modes() -> None:
    """List, show, test and remove LLM modes (built-in and your own).

    Your own modes are TOML files in the modes folder (see `holdtype modes list`); one with the
    name of a built-in mode replaces it (`holdtype modes remove NAME` brings the built-in back).
    """


@modes.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per mode.")
def list_modes(as_json: bool) -> None:
    """List every mode with its model and description.

    Example: holdtype modes list --json
    """
    cfg = settings()
    broken: list[str] = []
    found = load_modes(skipped=broken)
    for problem in broken:
        click.secho(f"warning: {problem} (skipped)", err=True, fg="yellow")
    _warn_stale_apps(cfg, found, said=broken)
    # A built-in mode whose copy of the user's does not load: dictation reports the file, so
    # the list does not offer the built-in as if it were in use.
    unusable = unusable_modes(found)
    if as_json:
        for mode in found.values():
            echo_json(
                {
                    "name": mode.name,
                    "description": mode.description,
                    "model": mode.model or (cfg.llm.model if mode.uses_llm else None),
                    "schema": mode.schema_ is not None,
                    "source": mode.source,
                    "active": mode.name == cfg.modes.active,
                    "apps": _apps_of(cfg, mode.name),
                    "problem": unusable.get(mode.name),
                }
            )
        return
    width = max(len(n) for n in found)
    default = cfg.llm.model or _llm_default(cfg, [m for m in found.values() if m.uses_llm and not m.model])
    for mode in found.values():
        mark = "*" if mode.name == cfg.modes.active else " "
        model = (mode.model or default) if mode.uses_llm else "-"
        about = mode.description
        if mode.name in unusable:
            model = "-"
            about = (
                f"NOT USABLE: your file {mode.name}.toml is not valid (see the warning); fix it, or "
                f"`holdtype modes remove {mode.name}` brings the built-in back"
            )
        click.echo(f"{mark} {mode.name:<{width}}  {model:<24}  {about}")
        apps = _apps_of(cfg, mode.name)
        if apps:
            click.echo(f"  {'':<{width}}  used in: {', '.join(apps)}")
    from app.paths import get_paths

    click.echo(f"\nYour modes folder: {get_paths().modes_dir}")


@modes.command("show")
@click.argument("name")
def show_mode(name: str) -> None:
    """Show a mode's definition (as TOML) and where it comes from.

    The output is a mode file to start from: saved in the modes folder as NAME.toml and
    edited, it is mode NAME.

    Example: holdtype modes show clean > ~/.config/holdtype/modes/tidy.toml
    """
    import tomli_w

    from app.paths import get_paths

    mode = get_mode(name)
    if mode.source:
        click.echo(f"# {mode.source}")
    click.echo(f"# A copy saved in {get_paths().modes_dir} as NAME.toml is mode NAME.")
    data = mode.to_toml_dict()
    # (without the name line: a copy saved as tidy.toml, the name "clean" in it, replaced clean)
    data.pop("name", None)
    click.echo(tomli_w.dumps(data), nl=False)


@modes.command("test")
@click.argument("name")
@click.argument("text")
@click.option(
    "--sample",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Sample index (each is cached apart).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
def test_mode(name: str, text: str, sample: int, as_json: bool) -> None:
    """Run mode NAME on TEXT and print what would be inserted.

    TEXT is taken as heard: the vocabulary and the rules apply first, as in a dictation (the
    mode gets what `holdtype rules test TEXT` prints). Without --json, a mode that fell back
    prints that text and exits with 1; --json adds it as "input".

    Example: holdtype modes test clean "um so uh ship it"
    """
    from app.llm.runner import ModeRunner
    from app.text.pipeline import TextPipeline

    cfg = settings()
    runner = ModeRunner(cfg)
    # An unknown or broken mode is an error here, not a fallback; the run reuses what this read
    # (reading the modes twice said each broken mode file's warning twice).
    runner.mode(name)
    text = TextPipeline.from_settings(cfg).apply(text)  # what a dictation hands the mode
    result = runner.run(name, text, sample=sample)  # a fallback is this command's error line below
    problem = runner.cache_problem()
    if problem:
        click.secho(f"warning: {problem}", err=True, fg="yellow")
    if as_json:
        echo_json({**result.to_dict(), "input": text})
        return
    click.echo(result.text)
    if result.fallback_reason:
        began = f" ({result.reply_began})" if result.reply_began else ""  # (stderr: no log file)
        raise click.ClickException(f"mode {name} fell back to the input: {result.fallback_reason}{began}")
    if result.model is None and not text.strip():  # (clean calls a model, but not for nothing)
        click.secho("the text is empty: no model was asked", err=True, fg="bright_black")
        return
    if result.model is None:  # a mode with no LLM step (raw): nothing was called
        click.secho(f"mode {name} calls no model; the text is pasted as it is", err=True, fg="bright_black")
        return
    suffix = " (cached)" if result.cached else ""
    click.secho(f"{result.model}: {result.llm_ms:.0f} ms{suffix}", err=True, fg="bright_black")


@modes.command("remove")
@click.argument("name")
def remove_mode(name: str) -> None:
    """Delete your mode NAME (its file in the modes folder).

    Your copy of a built-in mode is removed and the built-in one is back; a built-in mode
    itself cannot be removed. Settings never name a mode that is gone: if NAME was the mode in
    use, dictation uses raw (no LLM) again; its hotkey (hotkey.mode_keys) is removed, and the
    apps tied to it (modes.apps) get the mode in use.

    Example: holdtype modes remove memo
    """
    from app.llm.modes import remove_user_mode, retarget_mode

    with editing() as current:
        files, builtin = remove_user_mode(name)
        said: list[str] = []
        if not builtin:  # the mode is gone: what named it is let go
            new, said = retarget_mode(current, name, None)
            if said:
                save(new)
    where = ", ".join(str(path) for path in files)
    if builtin:
        click.echo(f"removed your copy of {name} ({where}); the built-in {name} is back")
    else:
        click.echo(f"removed mode {name} ({where})")
        for line in said:
            click.echo(f"  {line}")


def _llm_default(cfg: Settings, needing: list[Mode]) -> str:
    """What the modes in ``needing`` (LLM modes naming no model, with no ``llm.model`` set)
    run on: llm's default model when Holdtype would use it (a local one), else that none is."""
    if not needing:
        return "-"
    from app.llm.runner import NoModel, pick_model

    try:
        return f"{pick_model(needing[0], cfg)} (llm's default)"
    except NoModel:  # a cloud default is not used unless named: these modes fall back
        return "(none: set llm.model)"


def _apps_of(cfg: Settings, mode: str) -> list[str]:
    """The apps ``modes.apps`` ties to ``mode``, as the user named them."""
    return [app for app, tied in cfg.modes.apps.items() if tied == mode]


def _warn_stale_apps(cfg: Settings, found: Mapping[str, object], said: Sequence[str] = ()) -> None:
    """Say on stderr which ``modes.apps`` entries name no mode (one deleted since it was tied,
    or whose file is broken, with what is wrong in it unless that was ``said`` already), with
    the command that drops them: their apps get the mode in use."""
    stale = {app: mode for app, mode in cfg.modes.apps.items() if mode not in found}
    if not stale:
        return
    kept = {app: mode for app, mode in cfg.modes.apps.items() if app not in stale}
    command = f"holdtype config set modes.apps {shlex.quote(json.dumps(kept, ensure_ascii=False))}"
    broken = False
    for mode, apps, why in unusable_ties(stale):
        broken = broken or bool(why)
        if why in said:
            why = "its file cannot be used, as said above"
        click.secho(
            f"warning: modes.apps ties {', '.join(apps)} to '{mode}': {why or 'no such mode'} "
            "(the mode in use applies there)",
            err=True,
            fg="yellow",
        )
    what = "them" if len(stale) > 1 else "it"
    fix = f"fix the mode file or drop {what}" if broken else f"drop {what}"
    click.secho(f"  {fix} with: {command}", err=True, fg="yellow")
