"""Shared test setup: every test gets its own HOLDTYPE_HOME and llm user folder.

Real-part fixtures live in ``tests/fixtures/``; each module registers itself below.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.waiting import wait_for

pytest_plugins = [
    "tests.fixtures.speech",
    "tests.fixtures.pulse",
    "tests.fixtures.display",
    "tests.fixtures.wayland",
    "tests.fixtures.llama",
    "tests.fixtures.hub",
]


@pytest.fixture(autouse=True, scope="session")
def session_homes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Between tests too, Holdtype and llm point at throwaway folders, not the user's: a thread
    a test left running (a settings page's model check, say) reads the environment after that
    test's own folders were put back, and llm makes its folder wherever LLM_USER_PATH says (or
    ~/.config/io.datasette.llm without it)."""
    saved = {name: os.environ.get(name) for name in ("HOLDTYPE_HOME", "LLM_USER_PATH")}
    base = tmp_path_factory.mktemp("between-tests")
    os.environ["HOLDTYPE_HOME"] = str(base / "holdtype-home")
    os.environ["LLM_USER_PATH"] = str(base / "llm-user")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


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


#: How long a test's PortAudio streams may take to close after it (some close on threads).
STREAMS_CLOSE_S = 30.0


@pytest.fixture(autouse=True)
def no_audio_stream_left_open() -> Iterator[None]:
    """Fail a test that leaves a PortAudio stream of ours open (a recorder, a level meter, a
    microphone test). Such a stream outlives the test's sound server; when PulseAudio goes away
    under it, PortAudio 19.6's ALSA thread can loop for good printing the same error (it filled
    this machine's disk once), and no later test can re-read the device list."""
    devices = sys.modules.get("app.audio.devices")
    before = devices._open_streams if devices is not None else 0  # an earlier test's: failed there
    yield
    devices = sys.modules.get("app.audio.devices")
    if devices is None:
        return  # no test of this session touched PortAudio yet
    wait_for(
        lambda: devices._open_streams <= before,
        timeout=STREAMS_CLOSE_S,
        what="this test's PortAudio streams to be closed (a stream must not outlive its test)",
    )
