"""``holdtype llm …``: what the ``llm`` library can reach from here.

Example::

    holdtype llm models
    holdtype llm keys set openai
"""

from __future__ import annotations

import sys

import click

from app.commands._common import echo_json, note_empty, settings
from app.commands.llm_plugins import install, plugins, uninstall


@click.group("llm")
def llm_group() -> None:
    """Inspect the models the llm library can reach, add the plugins that bring more (Ollama,
    Anthropic, Gemini…), and store their API keys."""


llm_group.add_command(install)
llm_group.add_command(uninstall)
llm_group.add_command(plugins)


@llm_group.command("models")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model.")
def models(as_json: bool) -> None:
    """List model ids (and aliases) usable in modes, and whether each has its key.

    '*' marks the model modes run on when they name none (llm.model, else llm's default if it
    is a local model). Keys live in llm's own store: `holdtype llm keys set openai`.
    Example: holdtype llm models --json
    """
    import llm

    from app.llm.keys import set_key_hint
    from app.llm.runner import PLUGIN_LOCK, NoModel, missing_key, modes_model
    from app.llm.setup import llm_failure, setup_problem

    problem = setup_problem()  # (a broken keys.json failed each model's key check: a traceback)
    if problem:
        raise click.ClickException(f"the llm library cannot list its models: {problem}")
    try:
        default = llm.get_default_model()
    except Exception:  # a broken llm config only hides the default marker
        default = None
    try:
        with PLUGIN_LOCK:
            listed = llm.get_models_with_aliases()
    except Exception as exc:  # a broken extra-openai-models.yaml, a broken plugin
        raise click.ClickException(f"the llm library cannot list its models: {llm_failure(exc)}") from None
    try:
        used: str | None = modes_model(settings())
    except NoModel as exc:
        used, why_none = None, str(exc)
    found = False
    for item in listed:
        model = item.model
        needs = getattr(model, "needs_key", None)
        missing = missing_key(model)
        has_key = missing is None
        row = {
            "model_id": model.model_id,
            "aliases": list(item.aliases),
            "needs_key": needs,
            "has_key": has_key,
            "schema": bool(getattr(model, "supports_schema", False)),
            "default": model.model_id == default,  # llm's own default, for its other uses
            "used": used is not None and used in (model.model_id, *item.aliases),
        }
        found = found or bool(row["used"])
        if as_json:
            echo_json(row)
            continue
        mark = "*" if row["used"] else " "
        aliases = f" (aliases: {', '.join(item.aliases)})" if item.aliases else ""
        key = "" if missing is None else f"  [no key: {set_key_hint(missing)}]"
        click.echo(f"{mark} {model.model_id}{aliases}{key}")
    if as_json:
        return
    if used is None:
        click.secho(f"\nno model for the modes: {why_none}", err=True, fg="yellow")
    elif found:
        click.secho(f"\n* the model modes run on when they name none ({used})", err=True, fg="bright_black")
    else:
        click.secho(
            f"\nwarning: the modes' model, {used}, is not one the llm library lists (a plugin missing?)",
            err=True,
            fg="yellow",
        )


@llm_group.group("keys")
def keys() -> None:
    """Store API keys where llm and its plugins look for them (llm's keys.json).

    The same store as `llm keys`, for installs where the llm command is not on the PATH.
    Example: holdtype llm keys set openai
    """


@keys.command("set")
@click.argument("name")
def keys_set(name: str) -> None:
    """Store the key NAME (a provider's name: openai, anthropic, openrouter…).

    The key is asked for with hidden input, or read from standard input when that is not a
    terminal. There is no --value option on purpose: a key typed on the command line stays in
    the shell's history and shows in the process list. Spaces and the line break around it are
    dropped.

    \b
    Examples:
      holdtype llm keys set openai
      printf %s "$OPENAI_API_KEY" | holdtype llm keys set openai
    """
    from app.llm.keys import check_name, set_key

    name = check_name(name)  # before the prompt, which names it: a key given as the name is not shown
    if sys.stdin is None:  # the windowed launcher: no console to ask in, nothing piped in
        raise click.ClickException("no key given: run this in a terminal, or pipe the key in")
    if sys.stdin.isatty():
        value = click.prompt(f"Key for {name}", hide_input=True, err=True)
    else:
        value = sys.stdin.read()
    path = set_key(name, value)
    click.echo(f"saved the key {name} in {path}")
    _warn_if_no_model_takes(name)


def _warn_if_no_model_takes(name: str) -> None:
    """Warn when no model llm lists takes a key of this name (``OpenAI``, ``open-ai``): llm looks
    a key up by its exact name, so it would never be found. Only a warning: the plugin that
    takes it may come later."""
    import llm

    from app.llm.runner import PLUGIN_LOCK

    try:
        with PLUGIN_LOCK:
            taken = {needs for model in llm.get_models() if (needs := getattr(model, "needs_key", None))}
    except Exception:  # a broken plugin: its own commands say so
        return
    if taken and name not in taken:
        click.secho(
            f"warning: no model the llm library lists takes a key named {name} "
            f"(they take: {', '.join(sorted(taken))})",
            err=True,
            fg="yellow",
        )


@keys.command("list")
def keys_list() -> None:
    """List the names of the stored keys (never their values). Example: holdtype llm keys list"""
    from app.llm.keys import is_key_not_name, key_names, keys_file, shown_name
    from app.textfile import visible

    names = key_names()
    for name in names:
        click.echo(visible(shown_name(name)))  # a name in a hand-edited file may hold an escape sequence
    if not names:
        note_empty("no keys stored; add one with: holdtype llm keys set openai")
    if any(map(is_key_not_name, names)):  # (stored by llm's own `keys set`, which takes any name)
        click.secho(
            f"warning: a key is stored as a name (given in place of its name): take it out of {keys_file()}, "
            "then store it again under its name (printf %s KEY | holdtype llm keys set openai)",
            err=True,
            fg="yellow",
        )


@keys.command("remove")
@click.argument("name")
def keys_remove(name: str) -> None:
    """Remove the stored key NAME. Example: holdtype llm keys remove openai"""
    from app.llm.keys import remove_key, shown_name

    remove_key(name)
    click.echo(f"removed the key {shown_name(name)}")


@keys.command("path")
def keys_path() -> None:
    """Print the path of llm's keys.json (there or not). Example: holdtype llm keys path"""
    from app.llm.keys import keys_file

    click.echo(keys_file())
