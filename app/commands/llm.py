"""``holdtype llm …``: what the ``llm`` library can reach from here.

Example::

    holdtype llm models
"""

from __future__ import annotations

import click

from app.commands._common import echo_json, settings


@click.group("llm")
def llm_group() -> None:
    """Inspect the models the llm library can reach (install plugins with `llm install`)."""


@llm_group.command("models")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model.")
def models(as_json: bool) -> None:
    """List model ids (and aliases) usable in modes, and whether each has its key.

    '*' marks the model modes run on when they name none (llm.model, else llm's default if it
    is a local model). Keys live in llm's own store: `llm keys set openai`.
    Example: holdtype llm models --json
    """
    import llm

    from app.llm.runner import PLUGIN_LOCK, NoModel, missing_key, modes_model
    from app.llm.setup import llm_failure

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
        has_key = missing_key(model) is None
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
        key = "" if has_key else f"  [no key: llm keys set {needs}]"
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
