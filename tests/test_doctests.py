"""The examples in the docstrings are run, so they stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "app.audio.silence",
    "app.autostart",
    "app.cli",
    "app.commands._common",
    "app.commands.config",
    "app.commands.eval",
    "app.errors",
    "app.history.again",
    "app.history.store",
    "app.history.retention",
    "app.hotkey.binding",
    "app.hotkey.gesture",
    "app.hotkey.grab",
    "app.insert.macos",
    "app.insert.windows",
    "app.key_shapes",
    "app.llm.diff_secrets",
    "app.llm.keys",
    "app.llm.loopback",
    "app.llm.modes",
    "app.llm.plugins",
    "app.llm.replies",
    "app.llm.runner",
    "app.logs",
    "app.own_keys",
    "app.recovery",
    "app.redact",
    "app.system_packages",
    "app.settings_watch",
    "app.std_streams",
    "app.text.normalize",
    "app.text.ordinary",
    "app.text.pipeline",
    "app.text.readings",
    "app.text.rules",
    "app.transcribe.audiofile",
    "app.text.termfile",
    "app.text.vocabulary",
    "app.textfile",
    "app.tomledit",
    "app.toml_salvage",
    "app.transcribe.gaps",
    "app.transcribe.glitches",
    "app.transcribe.models",
    "app.transcribe.tokens",
    "app.ui.wording",
    "app.ui.settings.advanced",
    "app.ui.settings.audio",
    "app.ui.settings.general",
    "app.ui.settings.history",
    "app.ui.settings.widgets",
    "app.ui.tray",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    """Every ``>>>`` example of the module gives the output written under it."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples left: drop it from MODULES"
    assert result.failed == 0
