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


#: What the tray's Recent menu and the History page say while another program holds the
#: history (they read for a moment only, on the Qt thread: see HistoryReader).
HISTORY_BUSY = "History busy: another program is using it; try again in a moment"


def history_unreadable(exc: Exception) -> str:
    """What the tray's Recent menu and the History page say when the history cannot be read.

    >>> from app.history.store import HistoryBusy
    >>> history_unreadable(HistoryBusy("database is locked")) == HISTORY_BUSY
    True
    >>> history_unreadable(OSError("disk I/O error"))
    'History unavailable: disk I/O error'
    """
    from app.history.store import HistoryBusy

    if isinstance(exc, HistoryBusy):
        return HISTORY_BUSY
    return f"History unavailable: {as_plain_text(str(exc))}"
