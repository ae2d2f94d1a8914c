"""Drive a real ``holdtype run --no-tray`` process: real X server, real PulseAudio, real keys."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.cli import ROOT, holdtype
from tests.fixtures.waiting import wait_for


def run_no_tray(env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``holdtype run --no-tray`` with ``env``, its log (stderr) on a pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", "run", "--no-tray"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class LiveApp:
    """A running headless Holdtype whose stderr log lines can be awaited."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = run_no_tray(env)
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        """Everything the app logged so far."""
        with self._lock:
            return "\n".join(self.lines)

    def count(self, needle: str) -> int:
        """How many log lines contain ``needle``."""
        with self._lock:
            return sum(needle in line for line in self.lines)

    def wait_line(self, needle: str, timeout: float = 60.0, occurrence: int = 1) -> str:
        """Wait until ``needle`` has appeared in ``occurrence`` log lines; return the last one."""

        def found() -> str | None:
            with self._lock:
                hits = [line for line in self.lines if needle in line]
            if self.proc.poll() is not None and len(hits) < occurrence:
                raise AssertionError(
                    f"holdtype exited ({self.proc.returncode}) before logging {needle!r}:\n{self.log()}"
                )
            return hits[occurrence - 1] if len(hits) >= occurrence else None

        try:
            return wait_for(found, timeout=timeout, what=f"log line {needle!r}", interval=0.05)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- holdtype log ---\n{self.log()}") from None

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait for a clean exit; return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"holdtype did not stop on SIGTERM:\n{self.log()}") from None
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: a crash."""
        self.proc.kill()
        self.proc.wait()


def app_env(*parts: dict[str, str]) -> dict[str, str]:
    """The environment for a Holdtype subprocess: os.environ (HOLDTYPE_HOME, LLM_USER_PATH of this
    test) overlaid with the display's and the sound server's variables."""
    env = dict(os.environ)
    for part in parts:
        env.update(part)
    env["HOLDTYPE_HOME"] = os.environ["HOLDTYPE_HOME"]
    env["LLM_USER_PATH"] = os.environ["LLM_USER_PATH"]
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spool_files(home: Path) -> list[Path]:
    """Spool files currently in HOLDTYPE_HOME."""
    folder = home / "data" / "spool"
    return sorted(folder.glob("utt-*.wav")) if folder.is_dir() else []


def history_rows(env: dict[str, str]) -> list[dict]:
    """The app's history (``history list --json``), newest first."""
    out = holdtype("history", "list", "--json", "--limit", "20", env=env)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def start_app(env: dict[str, str]) -> LiveApp:
    """Start ``holdtype run --no-tray`` and wait until it is ready to dictate."""
    app = LiveApp(env)
    app.wait_line("ready: model", timeout=120)
    return app


#: The words of "The library will close early tomorrow morning.", a sentence the Esc tests say.
LIBRARY_WORDS = frozenset({"library", "close", "early", "tomorrow", "morning"})


def assert_cancelled_and_kept(env: dict[str, str], target_text: str, words: frozenset[str]) -> None:
    """Nothing reached the target window, and history holds one cancelled dictation with at
    least all but one of ``words`` (tiny.en may mishear one)."""
    assert target_text == ""
    rows = history_rows(env)
    assert [r["outcome"] for r in rows] == ["cancelled"]
    assert rows[0]["release_to_text_ms"] is None  # no text came of it: no time to text either
    heard = set(re.findall(r"[a-z]+", rows[0]["text"].lower()))
    assert len(heard & words) >= len(words) - 1, rows[0]["text"]
