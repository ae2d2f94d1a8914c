"""A running app notices when another process changes the settings file (real files)."""

from __future__ import annotations

import json
from pathlib import Path

from app.config import Settings, load_settings, save_settings
from app.errors import ConfigError
from app.settings_watch import SettingsFileWatch, merge_changes, merge_lists
from tests.cli import holdtype


def test_a_change_by_the_cli_is_seen_once(holdtype_home: Path) -> None:
    path = load_settings().path
    save_settings(Settings(), path)
    watch = SettingsFileWatch(path)
    assert watch.poll(Settings()) is None  # nothing changed yet
    added = holdtype("vocab", "add", "scikit-learn")
    assert added.returncode == 0, added.stderr
    found = watch.poll(Settings())
    assert isinstance(found, Settings) and found.vocabulary.terms == ["scikit-learn"]
    assert watch.poll(Settings()) is None  # seen once
    save_settings(Settings(), path)
    watch.mark()  # our own save is not a change
    assert watch.poll(Settings()) is None


def test_a_broken_edit_is_reported_and_left_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_settings(Settings(), path)
    watch = SettingsFileWatch(path)
    path.write_text("[hotkey]\nkey = = 'f9'\n", encoding="utf-8")  # an editor, mid-edit
    found = watch.poll(Settings())
    assert isinstance(found, ConfigError) and "cannot be parsed" in str(found)
    assert watch.broken  # until it loads again: a save by the app keeps it aside first
    assert path.read_text(encoding="utf-8").startswith("[hotkey]")  # not moved aside
    assert not list(tmp_path.glob("config.toml.broken-*"))
    save_settings(Settings(), path)  # fixed, to what the app already has: nothing to apply
    assert watch.poll(Settings()) is None and not watch.broken
    path.unlink()
    assert watch.poll(Settings()) is None  # a file being replaced is gone for a moment


def test_merge_keeps_both_sides_changes() -> None:
    base = Settings().model_dump()
    mine = Settings().model_dump()
    mine["hotkey"]["paused"] = True  # the tray paused the hotkey
    theirs = Settings().model_dump()
    theirs["vocabulary"]["terms"] = ["PyPI"]  # meanwhile `holdtype vocab add PyPI`
    merged = Settings.model_validate(merge_changes(base, mine, theirs))
    assert merged.hotkey.paused is True and merged.vocabulary.terms == ["PyPI"]
    # The same setting changed on both sides: this process's change is the newer one.
    theirs["hotkey"]["paused"] = False
    assert merge_changes(base, mine, theirs)["hotkey"]["paused"] is True
    assert json.dumps(merge_changes(base, base, theirs)) == json.dumps(theirs)


def test_a_list_changed_on_both_sides_keeps_both_sides_items() -> None:
    # The window saved its vocabulary list; meanwhile `vocab add` and `vocab remove` ran.
    assert merge_lists(["PyPI", "NumPy"], ["PyPI", "NumPy", "Pydantic"], ["NumPy", "uv"]) == [
        "NumPy",
        "uv",
        "Pydantic",
    ]
    # A rule edited elsewhere replaces the old one in its place; order matters for rules.
    old, edited, other = {"find": "teh", "replace": "the"}, {"find": "teh", "replace": "The"}, {"find": "a"}
    mine = [old, {"find": "b"}, other, {"find": "new"}]
    assert merge_lists([old, {"find": "b"}, other], mine, [edited, other]) == [edited, other, {"find": "new"}]
    # One side unchanged: the other side's list as it is.
    assert merge_lists(["a"], ["a"], ["b", "a"]) == ["b", "a"]
    assert merge_lists(["a"], ["a", "c"], ["a"]) == ["a", "c"]
