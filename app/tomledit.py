"""Write new values into a TOML file's text, keeping what the user wrote around them.

A settings file edited by hand carries comments ("# work laptop", a term list in the user's
order with notes). Rewriting it from the settings alone drops them at the first
``holdtype vocab add``. :func:`update_toml` edits the existing document instead: values that
did not change keep their text, comments and layout; changed values are replaced; keys that
are gone are removed, with a comment on their own line.
"""

from __future__ import annotations

import difflib
import json
import sys
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.container import Container, OutOfOrderTableProxy
from tomlkit.items import AoT, Array, InlineTable, Table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def update_toml(old_text: str, data: dict[str, Any]) -> str | None:
    """Return ``old_text`` edited so that it parses to ``data``; None when that cannot be done
    safely (``old_text`` is not TOML, or the edit would not read back as ``data``), in which
    case the caller writes the file afresh.

    >>> text = '# mine\\n[model]\\nbeam_size = 5  # fast\\nname = "tiny.en"\\n'
    >>> print(update_toml(text, {"model": {"beam_size": 5, "name": "base.en"}}), end="")
    # mine
    [model]
    beam_size = 5  # fast
    name = "base.en"
    """
    try:
        doc = tomlkit.parse(old_text)
    except tomlkit.exceptions.TOMLKitError:
        return None
    try:
        _merge(doc, data)
        text = tomlkit.dumps(doc)
        if tomllib.loads(text) != data:
            return None
    except (tomlkit.exceptions.TOMLKitError, tomllib.TOMLDecodeError, ValueError, TypeError, AttributeError):
        return None  # (AttributeError: a tomlkit without the private insert _merge_dotted uses)
    return text


def _merge(table: Container | Table | InlineTable, data: dict[str, Any]) -> None:
    """Make ``table`` hold ``data``, touching only the keys whose values differ."""
    for key in [k for k in table if k not in data]:
        del table[key]
    for key, value in data.items():
        if key in table:
            current = table[key]
            if isinstance(value, dict) and isinstance(table, Container) and _dotted(current):
                _merge_dotted(table, key, current, value)
                continue
            if isinstance(value, dict) and isinstance(current, (Table, InlineTable)):
                _merge(current, value)
                continue
            if _plain(current) == value:
                continue
            if isinstance(value, list) and isinstance(current, (Array, AoT)) and len(current):
                _merge_list(current, value)
                continue
        table[key] = _item(value)


def _dotted(item: Any) -> bool:
    """Whether ``item`` is a section written as dotted keys (``model.name = "base.en"``)."""
    return isinstance(item, OutOfOrderTableProxy) or (isinstance(item, Table) and item.is_super_table())


def _merge_dotted(doc: Container, section: str, current: Any, data: dict[str, Any]) -> None:
    """Make the section ``section`` of ``doc``, written as dotted keys, hold ``data``: changed
    keys are replaced where they are, new ones written as dotted keys after the section's last
    line. Set as a table, tomlkit rewrote the whole section as ``[model]`` without its comments."""
    for key in [k for k in current if k not in data]:
        del current[key]
    # (its last line now; the end of the document when none is left: "llm.model = ..." alone,
    # cleared, gave max() nothing, and the whole file was written afresh without its comments)
    lines = [i for i, (name, _) in enumerate(doc.body) if name is not None and name.key == section]
    at = 1 + max(lines, default=len(doc.body) - 1)
    for key, value in data.items():
        if key in current:
            if _plain(current[key]) == value:
                continue
            if isinstance(value, list) and isinstance(current[key], (Array, AoT)) and len(current[key]):
                _merge_list(current[key], value)
            elif isinstance(value, dict) and isinstance(current[key], (Table, InlineTable)):
                _merge(current[key], value)  # ([modes.apps]: written inline, it lost its comments)
            else:
                current[key] = _item(value, inline=True)
            continue
        doc._insert_at(at, tomlkit.key([section, key]), _item(value, inline=True))
        at += 1


def _merge_list(current: Array | AoT, value: list[Any]) -> None:
    """Make ``current`` hold ``value`` by deleting and inserting items, so that the items that
    stay keep their comments (a term added to a list keeps the notes on the others)."""
    old = [_key(_plain(item)) for item in current]
    new = [_key(item) for item in value]
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        # A table that changed (a rule edited, or given a new default) is edited in place.
        while (
            i1 < i2
            and j1 < j2
            and isinstance(current[i1], (Table, InlineTable))
            and isinstance(value[j1], dict)
        ):
            _merge(current[i1], value[j1])
            i1, j1 = i1 + 1, j1 + 1
        for index in reversed(range(i1, i2)):
            del current[index]
        for offset, item in enumerate(value[j1:j2]):
            current.insert(i1 + offset, _item(item, inline=isinstance(current, Array)))


def _key(value: Any) -> str:
    """A hashable stand-in for a plain TOML value."""
    return json.dumps(value, sort_keys=True)


def _item(value: Any, inline: bool = False) -> Any:
    """A new value as tomlkit should write it: a list one item a line, as a fresh file has it;
    a table inside a list inline, unless it joins ``[[tables]]``."""
    if isinstance(value, dict):
        if inline:
            inline_table = tomlkit.inline_table()
            inline_table.update(value)
            return inline_table
        table = tomlkit.table()
        table.update(value)
        return table.add(tomlkit.nl())  # a blank line before the next [table]
    if isinstance(value, list) and value:
        array = tomlkit.array()
        array.extend(_item(v, inline=True) for v in value)
        return array.multiline(True)
    return value


def _plain(item: Any) -> Any:
    """A tomlkit item as plain Python values (what ``tomllib`` would read)."""
    unwrap = getattr(item, "unwrap", None)
    return unwrap() if callable(unwrap) else item
