"""JSON as Holdtype writes it for other programs (``--json`` output, the history's exports):
UTF-8 text that any reader splits into the same lines as the JSON itself."""

from __future__ import annotations

import json
import re
from typing import Any

# Written as \uXXXX escapes: lone surrogates (UTF-8 cannot carry them), and the line separators
# JSON allows raw but that end a line for str.splitlines() (U+0085, U+2028, U+2029), so each
# object stays on one line for any reader.
_ESCAPED = re.compile("[\ud800-\udfff\x85\u2028\u2029]")


def json_text(obj: Any, *, ensure_ascii: bool = False, indent: int | None = None) -> str:
    r"""``obj`` as JSON (letters as they are, unless ``ensure_ascii``), with the characters
    above written as ``\uXXXX`` escapes; ``json.loads`` gives them back. Values JSON has no
    type for are written as their ``str()``.

    >>> print(json_text({"path": "caf\udce9.wav", "text": "naïve one\u2028two"}))
    {"path": "caf\udce9.wav", "text": "naïve one\u2028two"}
    """
    text = json.dumps(obj, ensure_ascii=ensure_ascii, indent=indent, default=str)
    return _ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
