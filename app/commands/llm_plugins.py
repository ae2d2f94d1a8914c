"""``holdtype llm install|uninstall|plugins``: llm plugins in Holdtype's own Python environment.

Example::

    holdtype llm install llm-anthropic
    holdtype llm plugins
"""

from __future__ import annotations

import subprocess

import click

from app.commands._common import echo_json, note_empty


@click.command("install")
@click.argument("packages", metavar="PACKAGE...", nargs=-1, required=True)
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade the packages if they are installed.")
def install(packages: tuple[str, ...], upgrade: bool) -> None:
    """Install llm plugins (llm-ollama, llm-anthropic, llm-gguf…) where Holdtype runs, as `llm
    install` does: the llm command is not on your PATH. Restart a running Holdtype to use them.

    Example: holdtype llm install llm-anthropic
    """
    from app.llm.plugins import pip_command

    _run_pip(pip_command("install", list(packages), upgrade), "install", packages)
    click.echo(
        f"installed {', '.join(packages)}; `holdtype llm models` lists the models it brings "
        "(restart Holdtype if it is running, to use them there)"
    )


@click.command("uninstall")
@click.argument("packages", metavar="PACKAGE...", nargs=-1, required=True)
def uninstall(packages: tuple[str, ...]) -> None:
    """Remove llm plugins installed with `holdtype llm install`. Packages Holdtype needs (llm,
    faster-whisper, and what they need in turn: openai, httpx, ctranslate2…) are refused, and so
    is a package that is not installed.

    Example: holdtype llm uninstall llm-anthropic
    """
    from app.llm.plugins import needed_by_holdtype, not_installed, pip_command

    needed = needed_by_holdtype(list(packages))
    if needed:
        raise click.ClickException(
            f"not removed: Holdtype needs {', '.join(needed)}; `holdtype llm plugins` lists the "
            "plugins you can remove"
        )
    missing = not_installed(list(packages))
    if missing:  # (pip warns "Skipping" and exits 0: "removed" was said of what was never there)
        also = "; nothing was removed" if len(missing) < len(packages) else ""
        raise click.ClickException(
            f"not installed here: {', '.join(missing)}{also}; `holdtype llm plugins` lists the plugins "
            "you can remove"
        )
    _run_pip(pip_command("uninstall", list(packages)), "remove", packages)
    click.echo(f"removed {', '.join(packages)} (restart Holdtype if it is running)")


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per plugin.")
def plugins(as_json: bool) -> None:
    """List the llm plugins installed where Holdtype runs, with their versions.

    Example: holdtype llm plugins
    """
    from app.llm.plugins import install_hint, installed_plugins

    found = installed_plugins()
    for name, version in found:
        if as_json:
            echo_json({"name": name, "version": version})
        else:
            click.echo(f"{name} {version}")
    if not found and not as_json:
        note_empty(f"no llm plugins installed (llm's own OpenAI models need none); add one: {install_hint()}")


def _run_pip(command: list[str], doing: str, packages: tuple[str, ...]) -> None:
    """Run pip (its output goes to the terminal as it comes); a one-line error when it fails."""
    try:
        done = subprocess.run(command, check=False)
    except OSError as exc:
        raise click.ClickException(f"cannot run pip ({command[0]}): {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise click.ClickException(
            f"pip could not {doing} {', '.join(packages)} (exit code {done.returncode}; its message is above)"
        )
