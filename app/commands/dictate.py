"""``holdtype dictate …``: start, stop, toggle or cancel the running Holdtype's dictation.

For desktops where no application may watch global keys (Wayland) and for scripts: bind a
desktop shortcut to ``holdtype dictate toggle``; a window manager that runs a command on key
release too (sway: ``bindsym --release``) gives hold-to-talk with ``start`` and ``stop``.
"""

from __future__ import annotations

import click

from app.commands._common import echo_json
from app.control import NotRunning, Reply, send
from app.engine_control import RESULT_S, SWITCH_S
from app.errors import HoldtypeError
from app.textfile import visible

_MODE = click.option(
    "--mode",
    metavar="NAME",
    help="Dictate in this mode (default: the focused app's mode in modes.apps, else the active one).",
)
_WAIT = click.option("--wait", is_flag=True, help="Wait for the text and print it (default: return at once).")


def _mode_checked(mode: str | None) -> str | None:
    """``mode`` when it names a mode (else a clear error before anything is recorded)."""
    if mode:
        from app.llm.modes import get_mode

        get_mode(mode)
    return mode


def _ask(command: str, **fields: object) -> Reply:
    """Send ``command`` to the running Holdtype; its refusal becomes the error (exit 1)."""
    wait = bool(fields.get("wait"))
    reply = send({"command": command, **fields}, timeout=(RESULT_S if wait else SWITCH_S) + 5)
    if reply.get("text") and wait:  # (nothing heard: no empty line, the error says so)
        click.echo(visible(str(reply["text"]), keep="\n"))
    if not reply.get("ok"):
        raise HoldtypeError(str(reply.get("message") or "the running Holdtype refused"))
    return reply


def _said(reply: Reply) -> None:
    click.secho(f"holdtype: {reply.get('message', 'done')}", err=True, fg="bright_black")


@click.group()
def dictate() -> None:
    """Start and stop the running Holdtype's dictation (for desktop shortcuts and scripts).

    Where the hotkey cannot work (Wayland), bind a desktop shortcut to `holdtype dictate toggle`.

    Example: holdtype dictate toggle
    """


@dictate.command()
@_MODE
def start(mode: str | None) -> None:
    """Start recording (nothing happens when it already records)."""
    _said(_ask("start", mode=_mode_checked(mode)))


@dictate.command()
@_WAIT
def stop(wait: bool) -> None:
    """Stop recording: the text is transcribed and inserted into the active window."""
    _said(_ask("stop", wait=wait))


@dictate.command()
@_MODE
@_WAIT
def toggle(mode: str | None, wait: bool) -> None:
    """Start recording, or stop the recording in progress."""
    _said(_ask("toggle", mode=_mode_checked(mode), wait=wait))


@dictate.command()
def cancel() -> None:
    """Cancel the recording (kept in history if it has speech) or the text still being made."""
    _said(_ask("cancel"))


@dictate.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object: state, ready, paused, mode.")
def status(as_json: bool) -> None:
    """Print what the running Holdtype is doing: idle, recording, transcribing, processing or
    inserting; "not running" (exit code 1) when none runs, so that a script reading --json
    always gets its object."""
    try:
        reply = _ask("status")
    except NotRunning:
        if as_json:
            echo_json({"state": "not running", "ready": False, "paused": None, "mode": None})
        else:
            click.echo("not running")
        raise
    if as_json:
        echo_json({key: reply.get(key) for key in ("state", "ready", "paused", "mode")})
    else:
        click.echo(str(reply.get("state")))
