"""Shared test setup: every test gets its own HOLDTYPE_HOME and llm user folder.

Real-part fixtures live in ``tests/fixtures/``; each module registers itself below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.speech",
    "tests.fixtures.pulse",
    "tests.fixtures.display",
    "tests.fixtures.wayland",
    "tests.fixtures.llama",
    "tests.fixtures.hub",
]


@pytest.fixture(autouse=True)
def holdtype_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point Holdtype (and the llm library) at a fresh folder for this test."""
    home = tmp_path / "holdtype-home"
    home.mkdir()
    monkeypatch.setenv("HOLDTYPE_HOME", str(home))
    llm_home = tmp_path / "llm-user"
    llm_home.mkdir()
    monkeypatch.setenv("LLM_USER_PATH", str(llm_home))
    return home
