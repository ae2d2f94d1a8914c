"""``holdtype cache …``: the LLM reply cache.

Examples::

    holdtype cache stats
    holdtype cache list --json
    holdtype cache show 3fa9c2
    holdtype cache clear --older-than 30
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from typing import Any

import click

from app.commands._common import echo_json, note_empty, settings
from app.llm.cache import LLMCache
from app.textfile import visible


def _open() -> LLMCache:
    store = LLMCache(settings().llm)
    if store.problem:
        click.secho(f"warning: {store.problem}", err=True, fg="yellow")
    return store


@click.group()
def cache() -> None:
    """Inspect and clear the cache of LLM replies (a hit costs no model call)."""


@cache.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(as_json: bool) -> None:
    """Entries, size, hits and misses.

    Example: holdtype cache stats
    """
    with _open() as store:
        figures = store.stats()
    if as_json:
        echo_json(asdict(figures))
        return
    total = figures.hits + figures.misses
    rate = f" ({100.0 * figures.hits / total:.0f}% hits)" if total else ""
    click.echo(f"folder:   {figures.directory}")
    click.echo(f"entries:  {figures.entries}")
    click.echo(f"size:     {figures.size_bytes / 1024:.1f} KiB of {figures.size_limit_bytes / 2**20:.0f} MiB")
    click.echo(f"hits:     {figures.hits}")
    click.echo(f"misses:   {figures.misses}{rate}")
    click.echo(f"ttl:      {f'{figures.ttl_days:g} days' if figures.ttl_days else 'none'}")


@cache.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
def list_entries(as_json: bool) -> None:
    """List cached replies, newest first.

    Example: holdtype cache list --json
    """
    with _open() as store:
        entries = store.entries()
    if not entries and not as_json:
        note_empty(_empty_note())
    for entry in entries:
        if as_json:
            row = entry.to_dict()
            row.pop("prompt", None)
            row.pop("system", None)
            echo_json(row)
            continue
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.created))
        reply = " ".join(entry.text.split())
        reply = visible(reply if len(reply) <= 60 else reply[:57] + "...")  # no escape sequence runs
        click.echo(f"{entry.key[:12]}  {when}  {entry.mode:<8} {entry.model:<20} {reply}")


def _empty_note() -> str:
    """What an empty cache means: no LLM mode has run yet, or caching is off."""
    if not settings().llm.cache_enabled:
        return "The LLM reply cache is off; turn it on with `holdtype config set llm.cache_enabled true`."
    return "No cached replies yet: an LLM mode's replies are kept here (see `holdtype modes list`)."


@cache.command("show")
@click.argument("key")
def show(key: str) -> None:
    """Show one cached reply with its prompt (KEY may be a unique prefix).

    Example: holdtype cache show 3fa9c2
    """
    with _open() as store:
        entry = store.show(key)
    echo_json(entry.to_dict())


class _Days(click.FloatRange):
    """An age in days, 0 or more and finite: ``nan`` was taken and removed nothing, said as
    "removed 0 entries" (``config`` refuses it too, as "Input should be a finite number")."""

    name = "days"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """``value`` as days, or a usage error saying why it is none."""
        days = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(days):
            self.fail(f"{value!r} is not a number of days: it should be a finite number", param, ctx)
        return float(super().convert(days, param, ctx))


@cache.command("clear")
@click.option(
    "--older-than", "older_than", type=_Days(min=0), metavar="DAYS", help="Only entries older than DAYS."
)
def clear(older_than: float | None) -> None:
    """Delete cached replies (all of them, or those older than DAYS).

    Clearing all of them also deletes the damaged copies of the cache set aside earlier
    (llm.corrupt-<time> beside it), which hold dictated text too.
    Example: holdtype cache clear --older-than 30
    """
    from app.llm.cache import remove_set_aside

    with _open() as store:
        removed = store.clear(older_than)
    said = f"removed {removed} entr{'y' if removed == 1 else 'ies'}"
    if older_than is not None:
        click.echo(said)
        return
    gone, failed = remove_set_aside(store.directory)
    if gone:
        copies = "copy" if len(gone) == 1 else "copies"
        where = ", ".join(map(str, gone))
        said += f", and {len(gone)} damaged {copies} of the cache set aside earlier ({where})"
    click.echo(said)
    if failed:
        raise click.ClickException(f"could not delete the damaged cache set aside: {'; '.join(failed)}")
