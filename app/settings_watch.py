"""Notice when the settings file changes under a running Holdtype.

``holdtype vocab add``, ``holdtype config set`` or an editor may change the file while the tray
app or ``holdtype run --no-tray`` runs. The running app polls the file's stamp (a ``stat`` a
second) and takes the new settings, so a term added from the command line is used by the next
dictation, and the app's own next save does not write the old settings over it. A file that
was changed into something unreadable is reported and left alone; the settings in use stay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.config import Settings, read_settings
from app.errors import ConfigError

POLL_INTERVAL_S = 1.0  # how often a running app looks at the file


class SettingsFileWatch:
    """Tells whether the settings file changed since it was last read or written here."""

    def __init__(self, path: Path) -> None:
        """Watch ``path``, taking it as it is now as already known."""
        self.path = path
        self._stamp = self._read_stamp()
        self.broken = False  # the file changed into something that does not load

    def _read_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def mark(self) -> None:
        """The file is as this process just wrote it: not a change to pick up."""
        self._stamp = self._read_stamp()
        self.broken = False

    def poll(self, current: Settings) -> Settings | ConfigError | None:
        """The file's settings if it changed since the last poll or :meth:`mark` to something
        other than ``current``; the problem if it changed into something that does not load
        (:attr:`broken` stays set until it loads again); None if unchanged or gone (a file
        being replaced is back a moment later)."""
        stamp = self._read_stamp()
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            found = read_settings(self.path)
        except ConfigError as exc:
            self.broken = True
            return exc
        self.broken = False
        return None if found == current else found


def merge_changes(base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """``theirs`` (the file as another process left it) with every setting that ``mine`` changed
    from ``base`` (what both started from) put on top: two changes to different settings both
    survive. A list changed on both sides (the vocabulary, the rules) keeps both sides' items:
    see :func:`merge_lists`.

    A key ``mine`` removed from a table (a mode's hotkey unbound) is removed, unless ``theirs``
    changed its value meanwhile.

    >>> merge_changes({"a": 1, "b": {"c": 1}}, {"a": 2, "b": {"c": 1}}, {"a": 1, "b": {"c": 3}})
    {'a': 2, 'b': {'c': 3}}
    >>> merge_changes({"keys": {"f10": "email"}}, {"keys": {"f11": "email"}}, {"keys": {"f10": "email"}})
    {'keys': {'f11': 'email'}}
    """
    merged = dict(theirs)
    for key, value in mine.items():
        before, other = base.get(key), theirs.get(key)
        if isinstance(value, dict) and isinstance(before, dict) and isinstance(other, dict):
            merged[key] = merge_changes(before, value, other)
        elif isinstance(value, list) and isinstance(before, list) and isinstance(other, list):
            merged[key] = merge_lists(before, value, other)
        elif before != value:
            merged[key] = value
    for key, value in base.items():
        if key not in mine and key in merged and merged[key] == value:
            del merged[key]
    return merged


def merge_lists(base: list[Any], mine: list[Any], theirs: list[Any]) -> list[Any]:
    """``mine`` (in its order) without the items ``theirs`` removed from ``base``, and with the
    items ``theirs`` added, each placed after the item it follows in ``theirs``.

    The settings window saves a whole list, the vocabulary say, while ``holdtype vocab add``
    may have added a term to the file a moment before: both the window's edit and the term stay.
    An item is compared by value, so a rule edited elsewhere replaces the old rule where it was.

    >>> merge_lists(["a", "b"], ["a", "b", "mine"], ["a", "b", "theirs"])
    ['a', 'b', 'theirs', 'mine']
    >>> merge_lists(["a", "b", "c"], ["c", "b", "a"], ["a", "c"])
    ['c', 'a']
    """
    if mine == base:
        return list(theirs)
    if theirs == base:
        return list(mine)
    key = _item_key
    before, after = {key(x) for x in base}, {key(x) for x in theirs}
    merged = [x for x in mine if key(x) not in before or key(x) in after]
    keys = [key(x) for x in merged]  # kept in step with merged
    for index, item in enumerate(theirs):
        item_key = key(item)
        if item_key in before or item_key in keys:
            continue
        place = 0 if index == 0 else len(merged)
        for previous in reversed(theirs[:index]):
            if key(previous) in keys:
                place = keys.index(key(previous)) + 1
                break
        merged.insert(place, item)
        keys.insert(place, item_key)
    return merged


def _item_key(item: Any) -> str:
    """A list item as a comparable value (a rule is a dict)."""
    return json.dumps(item, sort_keys=True, default=str)
