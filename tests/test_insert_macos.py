"""macOS insertion logic that can be checked on Linux: the locale pbcopy and pbpaste get, and
what an osascript failure tells the user. macOS itself cannot run here."""

from __future__ import annotations

import pytest

from app.insert.clipboard import MacClipboard, utf8_locale_env
from app.insert.macos import AUTOMATION_HINT, PERMISSION_HINT, osascript_problem


def test_an_app_started_without_a_locale_gives_pbcopy_a_utf8_one(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANG", "LC_ALL", "LC_CTYPE"):  # what launchd gives an app started by Finder
        monkeypatch.delenv(name, raising=False)
    env = utf8_locale_env()
    assert env["LC_CTYPE"] == "en_US.UTF-8" and env["LANG"] == "en_US.UTF-8"


def test_a_users_utf8_locale_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_CTYPE", raising=False)
    monkeypatch.setenv("LANG", "de_DE.utf8")
    env = utf8_locale_env()
    assert env["LANG"] == "de_DE.utf8" and "LC_CTYPE" not in env


def test_a_c_locale_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_ALL", "C")
    env = utf8_locale_env()
    assert "LC_ALL" not in env and env["LC_CTYPE"] == "en_US.UTF-8"


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        ("execution error: Not authorized to send Apple events to System Events. (-1743)", AUTOMATION_HINT),
        (
            "System Events got an error: osascript is not allowed to send keystrokes. (1002)",
            PERMISSION_HINT,
        ),
        (
            "execution error: Some other failure (-1708)",
            "osascript failed: execution error: Some other failure (-1708)",
        ),
    ],
)
def test_an_osascript_failure_names_what_to_allow(stderr: str, expected: str) -> None:
    assert osascript_problem(1, stderr) == expected
    assert osascript_problem(0, stderr) is None


def test_without_appkit_the_pasteboard_is_read_as_text() -> None:
    # AppKit (PyObjC) exists on macOS only: here the snapshot says it cannot, and the inserter
    # falls back to pbpaste's text
    assert MacClipboard().snapshot() is None
