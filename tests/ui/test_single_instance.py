"""A second start finds the running instance, asks it for its settings window, and leaves."""

from __future__ import annotations

import subprocess
import sys
import uuid

from app.ui.app import InstanceServer, ask_running_instance, instance_name

SECOND_START = """
import sys
from PySide6.QtCore import QCoreApplication
from app.ui.app import ask_running_instance
app = QCoreApplication([])
sys.exit(0 if ask_running_instance(sys.argv[1]) else 3)
"""


def test_second_start_asks_first_for_settings(qtbot, display) -> None:  # type: ignore[no-untyped-def]
    name = f"holdtype-test-{uuid.uuid4().hex[:8]}"
    server = InstanceServer()
    assert server.listen(name)
    with qtbot.waitSignal(server.show_requested, timeout=20000):
        proc = subprocess.Popen([sys.executable, "-c", SECOND_START, name], env=display.env, cwd=str(_root()))
    assert proc.wait(timeout=20) == 0
    # a second server cannot claim the name while the first one lives
    other = InstanceServer()
    assert not other.listen(name)
    server.close()
    assert not ask_running_instance(name, timeout_ms=300)
    assert other.listen(name)  # after the first one is gone, the name is free again
    other.close()


def test_name_is_per_home(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOLDTYPE_HOME", str(tmp_path / "a"))
    first = instance_name()
    monkeypatch.setenv("HOLDTYPE_HOME", str(tmp_path / "b"))
    assert instance_name() != first
    assert first.startswith("holdtype-")


def _root():  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(__file__).resolve().parents[2]
