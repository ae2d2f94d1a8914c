"""Messages written for the terminal (commands in backticks) made fit for a window.

The engine's and the CLI's messages name commands as `holdtype doctor`; a desktop
notification or a plain label showed the backticks.
"""

from __future__ import annotations

import html
import re

_CODE = re.compile(r"`([^`]+)`")


def as_rich_text(message: str) -> str:
    """A plain message for a rich-text label: escaped, its `commands` set as code (the welcome
    showed the backticks).

    >>> as_rich_text("run `holdtype doctor` <now>")
    'run <code>holdtype doctor</code> &lt;now&gt;'
    """
    return _CODE.sub(r"<code>\1</code>", html.escape(message, quote=False))


def as_plain_text(message: str) -> str:
    """A message for plain text (a notification, a label): its `commands` in quotes.

    >>> as_plain_text("no input device found; run `holdtype doctor`")
    'no input device found; run “holdtype doctor”'
    """
    return _CODE.sub(r"“\1”", message)
