"""Notice when the settings file changes under a running Holdtype.

``holdtype vocab add``, ``holdtype config set`` or an editor may change the file while the tray
app or ``holdtype run --no-tray`` runs. The running app polls the file's stamp (a ``stat`` a
second) and takes the new settings, so a term added from the command line is used by the next
dictation, and the app's own next save does not write the old settings over it. A file that
was changed into something unreadable is reported and left alone; the settings in use stay.
"""

from __future__ import annotations

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
    survive. A list, such as the vocabulary, is one setting.

    >>> merge_changes({"a": 1, "b": {"c": 1}}, {"a": 2, "b": {"c": 1}}, {"a": 1, "b": {"c": 3}})
    {'a': 2, 'b': {'c': 3}}
    """
    merged = dict(theirs)
    for key, value in mine.items():
        before, other = base.get(key), theirs.get(key)
        if isinstance(value, dict) and isinstance(before, dict) and isinstance(other, dict):
            merged[key] = merge_changes(before, value, other)
        elif before != value:
            merged[key] = value
    return merged
