"""The running app takes what the CLI writes to the settings file, and never writes over it."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings, load_settings, save_settings
from app.ui.settings.live import LiveSettings
from tests.cli import holdtype


def _live(qtbot, holdtype_home: Path) -> LiveSettings:  # type: ignore[no-untyped-def]
    path = load_settings().path
    save_settings(Settings(), path)
    return LiveSettings(Settings(), path)


def test_a_term_added_by_the_cli_is_taken_and_kept(qtbot, holdtype_home: Path) -> None:  # type: ignore[no-untyped-def]
    live = _live(qtbot, holdtype_home)
    with qtbot.waitSignal(live.changed, timeout=10000):
        assert holdtype("vocab", "add", "scikit-learn").returncode == 0
    assert live.settings.vocabulary.terms == ["scikit-learn"]
    assert live.update("hotkey", paused=True)  # the tray's Pause, saved by the app
    saved = load_settings(live.path).settings
    assert saved.hotkey.paused and saved.vocabulary.terms == ["scikit-learn"]


def test_a_save_right_after_a_cli_change_keeps_both(qtbot, holdtype_home: Path) -> None:  # type: ignore[no-untyped-def]
    live = _live(qtbot, holdtype_home)
    live._poll.stop()  # the CLI writes between two polls: the app's save must still see it
    assert holdtype("vocab", "add", "PyPI").returncode == 0
    assert live.update("modes", active="clean")
    saved = load_settings(live.path).settings
    assert saved.modes.active == "clean" and saved.vocabulary.terms == ["PyPI"]
    assert live.settings == saved


def test_a_broken_edit_is_reported_and_the_settings_stay(qtbot, holdtype_home: Path) -> None:  # type: ignore[no-untyped-def]
    live = _live(qtbot, holdtype_home)
    with qtbot.waitSignal(live.failed, timeout=10000) as failed:
        live.path.write_text("[hotkey]\nkey = = 'f9'\n", encoding="utf-8")  # an editor, mid-edit
    assert "cannot be parsed" in failed.args[0] and "stay" in failed.args[0]
    assert live.settings == Settings()
    assert live.path.read_text(encoding="utf-8").startswith("[hotkey]")  # left for the editor
    # A save now would replace the broken file: it is kept aside first, as at start.
    assert live.update("hotkey", paused=True)
    aside = list(live.path.parent.glob("config.toml.broken-*"))
    assert len(aside) == 1 and "key = = 'f9'" in aside[0].read_text(encoding="utf-8")
    assert load_settings(live.path).settings.hotkey.paused


def test_a_term_typed_in_the_window_and_one_added_by_the_cli_both_stay(  # type: ignore[no-untyped-def]
    qtbot, holdtype_home: Path
) -> None:
    from app.ui.settings.base import TabContext
    from app.ui.settings.window import SettingsWindow

    path = load_settings().path
    start = Settings()
    start.vocabulary.terms = ["PyPI"]
    save_settings(start, path)
    live = LiveSettings(start, path)
    window = SettingsWindow(TabContext(live))
    qtbot.addWidget(window)
    tab = window.pages["vocabulary"]
    tab.add_term("Pydantic")  # typed, not saved yet (the window waits 300 ms)...
    window._timer.stop()  # ...and held back, so the CLI's change lands in between
    with qtbot.waitSignal(live.changed, timeout=10000):  # the app takes the CLI's term
        assert holdtype("vocab", "add", "scikit-learn").returncode == 0
    assert tab.term_list() == ["PyPI", "Pydantic"]  # a page being edited is not refilled
    assert window.commit()
    terms = load_settings(path).settings.vocabulary.terms
    assert sorted(terms) == ["PyPI", "Pydantic", "scikit-learn"]
    assert sorted(tab.term_list()) == sorted(terms)  # refilled with both once saved


def test_the_window_stops_saying_a_file_is_broken_once_it_is_fixed(qtbot, holdtype_home: Path) -> None:  # type: ignore[no-untyped-def]
    # The red "Not applied: … cannot be parsed" stayed after the file was fixed and applied.
    from app.ui.settings.base import TabContext
    from app.ui.settings.window import SettingsWindow

    live = _live(qtbot, holdtype_home)
    window = SettingsWindow(TabContext(live))
    qtbot.addWidget(window)
    with qtbot.waitSignal(live.failed, timeout=10000):
        live.path.write_text("[hotkey]\nkey = = 'f9'\n", encoding="utf-8")  # an editor, mid-edit
    assert window.status.text().startswith("Not applied")
    with qtbot.waitSignal(live.changed, timeout=10000):
        live.path.write_text("[hotkey]\nkey = 'f9'\n", encoding="utf-8")  # and saved as meant
    assert window.status.text() == "" and window.pages["general"].shown.hotkey.key == "f9"
