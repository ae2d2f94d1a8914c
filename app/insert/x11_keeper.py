"""``holdtype _keep-clipboard``: keep the user's old clipboard, in every format, after a paste.

xclip serves one format: the HTML a browser copied came back as plain text, a file manager's
copied files as their paths (which no file manager pastes), a picture copied with its text
lost one of them. :meth:`app.insert.clipboard.X11Clipboard.keep` starts this command with the
clipboard on its standard input (a JSON line: ``selection``, ``text``, ``formats`` as
``[name, size]`` pairs; then the formats' bytes in that order). It forks, so that Holdtype does
not wait for it and it outlives Holdtype, owns the selection, says ``owned`` on its standard
output, and serves until another program takes the selection over.
"""

from __future__ import annotations

import json
import os
import sys
from typing import BinaryIO

import click


def read_clipboard(stream: BinaryIO) -> tuple[str, str | None, dict[str, bytes]]:
    """The selection's name, text and formats from ``stream`` (see the module's docstring).

    Raises ValueError when the stream does not hold what its header says."""
    header = json.loads(stream.readline())
    selection = header["selection"]
    if selection not in ("CLIPBOARD", "PRIMARY"):
        raise ValueError(f"unknown selection {selection!r}")
    text = header["text"]
    formats: dict[str, bytes] = {}
    for name, size in header["formats"]:
        data = stream.read(size)
        if len(data) != size:
            raise ValueError(f"format {name} was cut short ({len(data)} of {size} bytes)")
        formats[str(name)] = data
    return selection, (None if text is None else str(text)), formats


@click.command("_keep-clipboard", hidden=True)
def keep_clipboard() -> None:
    """Serve a clipboard read from standard input (Holdtype starts this itself)."""
    from app.insert.x11_selection import SelectionOwner

    try:
        selection, text, formats = read_clipboard(sys.stdin.buffer)
    except (ValueError, KeyError, TypeError) as exc:
        click.echo(f"error: {exc}")
        sys.exit(1)
    sys.stdin.close()
    if os.fork():  # the parent returns at once (Holdtype reaps it); the child serves
        os._exit(0)
    try:
        owner = SelectionOwner(text, selection=selection, extra=formats)
    except Exception as exc:  # no display, or another client took it first
        click.echo(f"error: {exc}")
        sys.stdout.flush()
        os._exit(1)
    click.echo("owned")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # Holdtype reads until this end closes
    owner.wait_lost()
    owner.close()
    os._exit(0)
