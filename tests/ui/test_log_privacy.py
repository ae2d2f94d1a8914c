"""The tray's log file (``holdtype.log``, INFO by default) does not hold what the user said.

The history is the place for dictated text; the log is what a user attaches to a bug report.
The recovery notice after a crash quotes the recovered words, and the tray logged it whole.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from app.audio.spool import Spool
from app.history.store import HistoryStore
from app.paths import get_paths
from app.transcribe.audiofile import load_audio
from tests.fixtures.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_recovery_notice_names_no_words_in_the_log(display, speak, tmp_path, holdtype_home) -> None:  # type: ignore[no-untyped-def]
    paths = get_paths()
    writer = Spool(paths.spool_dir).open(3)  # left by a crash: written, never closed
    writer.write(load_audio(speak("Buy milk and bread on the way home.", speed=150)))
    assert writer.flush()
    writer._file.close()
    env = {**display.env, "HOLDTYPE_HOME": str(holdtype_home), "LLM_USER_PATH": os.environ["LLM_USER_PATH"]}
    with open(tmp_path / "terminal.log", "w") as terminal:  # no -v: the settings' level (INFO)
        tray = subprocess.Popen(
            [sys.executable, "-m", "app", "run"], env=env, cwd=str(ROOT), stdout=terminal, stderr=terminal
        )

    def logged() -> str:
        return paths.log_file.read_text(encoding="utf-8") if paths.log_file.exists() else ""

    try:
        wait_for(lambda: "recovery: Recovered 1 recording" in logged(), timeout=120, what="the recovery line")
        tray.send_signal(signal.SIGTERM)
        assert tray.wait(timeout=30) == 0
    finally:
        if tray.poll() is None:
            tray.kill()
            tray.wait()
    [entry] = HistoryStore(paths.history_db).list(1)
    assert "milk" in entry.text.lower()  # recovered into history...
    assert "milk" not in logged().lower()  # ...and not written to the log
