"""The tray app keeps a log file (the one the Advanced tab names): started from the menu or at
login, it has no terminal, and its warnings must land somewhere the user can read."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

from app.paths import get_paths
from tests.fixtures.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_tray_writes_the_log_file_the_advanced_tab_names(display, tmp_path, holdtype_home) -> None:  # type: ignore[no-untyped-def]
    paths = get_paths()
    paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    paths.config_file.write_text("[hotkey\nkey = 'f9'\n")  # does not parse: moved aside, reported
    env = {**display.env, "HOLDTYPE_HOME": str(holdtype_home), "LLM_USER_PATH": os.environ["LLM_USER_PATH"]}
    with open(tmp_path / "terminal.log", "w") as terminal:  # no -v: the settings' level (INFO) counts
        tray = subprocess.Popen(
            [sys.executable, "-m", "app", "run"], env=env, cwd=str(ROOT), stdout=terminal, stderr=terminal
        )
    log_file = paths.log_file

    def logged() -> str:
        return log_file.read_text(encoding="utf-8") if log_file.exists() else ""

    try:
        wait_for(lambda: "ready: tiny.en" in logged(), timeout=120, what=f"'ready' in {log_file}")
        assert "cannot be parsed" in logged() and "config.toml.broken-" in logged()
        assert stat.S_IMODE(log_file.stat().st_mode) == 0o600  # like the history: it may name what was said
        tray.send_signal(signal.SIGTERM)
        assert tray.wait(timeout=30) == 0
    finally:
        if tray.poll() is None:
            tray.kill()
            tray.wait()


def test_the_log_file_masks_an_api_key_whatever_logged_it(tmp_path: Path) -> None:
    """Keys are never in Holdtype's files: a line quoting one (a provider's error, a plugin's
    debug output) is written with the key masked, its message and its traceback alike."""
    import logging

    from app.ui.app import log_to_file

    key = "gsk_" + "Ab3Xy9Qw7Zt" * 4
    handler = log_to_file(tmp_path / "holdtype.log")
    assert handler is not None
    plugin = logging.getLogger("llm_some_plugin")
    plugin.setLevel(logging.INFO)
    try:
        plugin.warning("request refused: %s", f"key {key} is invalid")
        try:
            raise RuntimeError(f"401: {key}")
        except RuntimeError:
            plugin.exception("call failed")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    written = (tmp_path / "holdtype.log").read_text(encoding="utf-8")
    assert "request refused: key gsk_Ab…(key hidden) is invalid" in written
    assert "RuntimeError: 401: gsk_Ab…(key hidden)" in written
    assert key[:10] not in written


def test_the_log_file_masks_the_users_own_keys_whatever_their_shape(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A key with no provider's prefix, quoted in a provider's error, was written whole: the
    keys in llm's store and in key variables are masked by their values, one set after the
    log started as well; a setting that merely ends in _TOKEN, or a short value, is no key."""
    import logging

    from app.ui.app import log_to_file

    stored, later, in_env = "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW", "Zq8Xw7Vu6Ts5Rq4Po3Nm2", "kL9mN8bV7cX6zA5s"
    monkeypatch.setenv("OPENROUTER_KEY", in_env)
    monkeypatch.setenv("SESSION_TOKEN", "disabled")  # a word, not a key
    monkeypatch.setenv("TINY_API_KEY", "abc123")  # too short to be told from a word

    def llm_keys_set(name: str, value: str) -> None:  # llm's own CLI, on this test's llm folder
        store = [sys.executable, "-m", "llm", "keys", "set", name, "--value", value]
        assert subprocess.run(store, capture_output=True, text=True, timeout=120).returncode == 0

    llm_keys_set("mistral", stored)
    handler = log_to_file(tmp_path / "holdtype.log")
    assert handler is not None
    plugin = logging.getLogger("llm_some_plugin")
    plugin.setLevel(logging.INFO)
    try:
        plugin.warning("401 - Invalid token: %s", stored)
        plugin.warning("401 from openrouter: Bearer %s refused", in_env)
        llm_keys_set("groq", later)
        plugin.warning("key=%s&model=x", later)
        plugin.warning("tracing disabled; abc123 is the build")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    written = (tmp_path / "holdtype.log").read_text(encoding="utf-8")
    assert "401 - Invalid token: (key 'mistral' hidden)" in written
    assert "Bearer (key $OPENROUTER_KEY hidden) refused" in written
    assert "key=(key 'groq' hidden)&model=x" in written
    assert "tracing disabled; abc123 is the build" in written
    assert not any(key[:8] in written for key in (stored, later, in_env))
