"""Shared test setup: every test gets its own HOLDTYPE_HOME and llm user folder.

Real-part fixtures live in ``tests/fixtures/``; each module registers itself below.
"""

from __future__ import annotations

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
