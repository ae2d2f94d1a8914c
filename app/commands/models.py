"""``holdtype models``: which speech models exist, which are installed, and downloading them."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import click

from app.commands._common import echo_json, settings
from app.errors import ModelError


@click.group()
def models_group() -> None:
    """List and download speech models.

    Example: holdtype models download base.en
    """


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def models_list(as_json: bool) -> None:
    """List known models: size, speed, accuracy, and whether installed (* = in use)."""
    from app.transcribe import models as registry

    cfg = settings()
    current = cfg.model.name
    for info in registry.REGISTRY.values():
        installed = registry.is_installed(info.name)
        if as_json:
            echo_json(
                {
                    "name": info.name,
                    "size_mb": info.size_mb,
                    "speed": info.speed,
                    "accuracy": info.accuracy,
                    "english_only": info.english_only,
                    "installed": installed,
                    "embedded": info.name == registry.EMBEDDED,
                    "active": info.name == current,
                    "folder": False,
                }
            )
            continue
        mark = "*" if info.name == current else " "
        state = "embedded" if info.name == registry.EMBEDDED else ("installed" if installed else "download")
        click.echo(
            f"{mark} {info.name:<16} {info.size_mb:>5} MB  {info.speed:<20} {info.accuracy:<10} {state}"
        )
    missing = current in registry.REGISTRY and not registry.is_installed(current)
    if missing and not as_json and registry.embedded_stands_in(current, cfg.model.language):
        click.echo(
            f"note: {current} is chosen but not downloaded: dictation uses the embedded "
            f"{registry.EMBEDDED} until `holdtype models download {current}`",
            err=True,
        )
    if current not in registry.REGISTRY:  # a model folder of the user's is in use
        found = registry.is_installed(current)
        if as_json:
            row = dict.fromkeys(("size_mb", "speed", "accuracy", "english_only"))  # not known for a folder
            echo_json(
                {
                    "name": current,
                    **row,
                    "installed": found,
                    "embedded": False,
                    "active": True,
                    "folder": True,
                }
            )
        else:
            click.echo(f"* {current}  (your model folder{'' if found else '; not found'})")


@models_group.command("download")
@click.argument("name")
def models_download(name: str) -> None:
    """Download model NAME into the cache folder, with a progress bar."""
    from tqdm import tqdm

    from app.transcribe import models as registry

    if name not in registry.REGISTRY:
        raise registry.unknown_model(name)
    if registry.is_installed(name):
        click.echo(f"{name} is already installed: {registry.resolve(name)}")
        return
    info = registry.REGISTRY[name]
    host = urlsplit(registry.hub_url(info.repo_id, "model.bin")).netloc
    click.echo(f"downloading {name} ({info.size_mb} MB) from {host}", err=True)
    bar: tqdm | None = None  # drawn once bytes arrive: no empty bar before an offline error

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not done and bar is None:
            return
        if bar is None:
            bar = tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr)
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        path = registry.download(name, progress)
    finally:
        if bar is not None:
            bar.close()
    click.echo(f"downloaded {name} to {path}")


@models_group.command("remove")
@click.argument("name")
def models_remove(name: str) -> None:
    """Delete a downloaded model (not the one in use: set another first)."""
    from app.transcribe import models as registry

    if name == settings().model.name and name in registry.REGISTRY and name != registry.EMBEDDED:
        # Dictation and `transcribe` then failed with "not downloaded yet" until it was fetched again.
        raise ModelError(
            f"'{name}' is the model in use; pick another first: holdtype config set model.name "
            f"{registry.EMBEDDED}, then remove it"
        )
    registry.remove(name)
    click.echo(f"removed {name}")
