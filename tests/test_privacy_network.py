"""Private by default: nothing Holdtype loads connects out on its own (real processes, strace).

A process runs the part under test under ``strace -f -e trace=connect``; any connection to an
address that is not this machine's loopback fails the test. A DNS lookup counts: it is a
``connect`` to the resolver's address (port 53) before anything is sent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.cli import ROOT
from tests.fixtures.parts import require_tools

STRACE_FIX = "sudo apt-get install strace"
_INET = re.compile(
    r"connect\(\d+, \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\), "
    r'(?:inet_pton\(AF_INET6, |sin_addr=inet_addr\()"([^"]+)"'
)
_LOOPBACK = re.compile(r"^(127\.|::1$|::ffff:127\.)")


def outside_connections(trace: str) -> list[str]:
    """The ``connect`` lines of an strace log that reach past loopback, as "address:port".

    >>> line = '1 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("%s")}, 16) = 0'
    >>> outside_connections(line % "10.0.0.53"), outside_connections(line % "127.0.0.1")
    (['10.0.0.53:53'], [])
    """
    found = []
    for match in _INET.finditer(trace):
        port, address = match.groups()
        if not _LOOPBACK.match(address):
            found.append(f"{address}:{port}")
    return found


def run_traced(
    code: str, tmp_path: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run ``python -c code`` from the source tree under strace; return it and its trace."""
    require_tools("strace", fix=STRACE_FIX)
    trace = tmp_path / "connect.strace"
    done = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace), sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, trace.read_text(errors="replace")


def test_the_voice_detector_sends_no_telemetry(tmp_path: Path) -> None:
    """onnxruntime (Silero VAD, loaded at every start of the app) looked up
    mobile.events.data.microsoft.com about 10 s after its first session: a long-running
    ``holdtype run`` did so every time. Holdtype must turn that off before onnxruntime loads."""
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}  # the user's default
    code = "import time\nfrom app.transcribe import vad\nvad.warm_up()\ntime.sleep(15)\n"
    done, trace = run_traced(code, tmp_path, env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert outside_connections(trace) == [], "a connection left the machine:\n" + "\n".join(
        line for line in trace.splitlines() if "AF_INET" in line
    )


def test_a_telemetry_setting_the_user_made_is_kept(tmp_path: Path) -> None:
    """The switch is a default: a value already in the environment is not overwritten."""
    env = {**os.environ, "ORT_DISABLE_TELEMETRY": "0"}
    done = subprocess.run(
        [sys.executable, "-c", "import os, app; print(os.environ['ORT_DISABLE_TELEMETRY'])"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "0"
