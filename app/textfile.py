"""Read a text file a user wrote, whatever the editor that saved it.

TOML and our term lists are UTF-8, but Windows tools add a byte-order mark: Notepad before
2019 and PowerShell 5's ``Out-File -Encoding utf8`` write UTF-8 with one, and PowerShell 5's
``>`` writes UTF-16. Python's TOML parser takes a UTF-8 mark for a stray character, so a
settings file saved that way used to be set aside as broken, vocabulary and rules with it.
"""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

_MARKS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(data: bytes) -> str:
    """``data`` as text: UTF-8, or the encoding its byte-order mark names (the mark dropped).

    Raises :class:`UnicodeDecodeError` for bytes that are none of these.

    >>> decode_text(codecs.BOM_UTF8 + b"key = 1")
    'key = 1'
    >>> decode_text("# terms\\nNumPy".encode("utf-16"))
    '# terms\\nNumPy'
    """
    for mark, encoding in _MARKS:
        if data.startswith(mark):
            return data[len(mark) :].decode(encoding)
    return data.decode("utf-8")


def read_text(path: Path) -> str:
    """The text of the file at ``path`` (see :func:`decode_text`); OSError as ``open`` raises it."""
    return decode_text(path.read_bytes())


# Characters that reorder the text around them (bidi embeddings, overrides and isolates): a stored
# U+202E shows the rest of the line backwards.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_hidden(ch: str) -> bool:
    """Whether ``ch`` prints as something else than it is: a control character (an escape
    sequence takes effect) or a bidi control (the text around it is reordered).

    >>> is_hidden("\x1b"), is_hidden("\u202e"), is_hidden("é"), is_hidden(" ")
    (True, True, False, False)
    """
    return unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS


def visible(text: str, keep: str = "") -> str:
    r"""``text`` made safe to print to a terminal: control characters (ESC, so no escape
    sequence takes effect) and bidi controls are written as escapes; those in ``keep`` stay.

    >>> visible("\x1b[2Jred \u202eevil")
    '\\x1b[2Jred \\u202eevil'
    >>> print(visible("two\nlines\tand a tab", keep="\n"))
    two
    lines\tand a tab
    >>> visible("naïve, 日本語 ✓")
    'naïve, 日本語 ✓'
    """
    if text.isprintable():  # what is escaped is never printable: the common case costs one scan
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if ch not in keep and is_hidden(ch) else ch for ch in text
    )
