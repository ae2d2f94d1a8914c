"""Private by default: nothing Holdtype loads connects out on its own (real processes, strace).

A process runs the part under test under ``strace -f -e trace=connect``; any connection to an
address that is not this machine's loopback fails the test. A DNS lookup counts: it is a
``connect`` to the resolver's address (port 53) before anything is sent.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import LLMSettings, Settings, save_settings
from tests.cli import ROOT, holdtype
from tests.fixtures.llama import OpenAIChatStub, model_entry, write_llm_models
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


@pytest.mark.parametrize(
    ("host", "proxies"),
    [
        ("127.0.0.1", {"HTTP_PROXY": "{proxy}"}),
        ("127.0.0.1", {"http_proxy": "{proxy}", "HTTPS_PROXY": "{proxy}", "no_proxy": "example.com"}),
        ("localhost", {"ALL_PROXY": "{proxy}", "NO_PROXY": ".corp.example.com"}),
    ],
)
def test_a_model_on_this_machine_is_asked_directly_whatever_the_proxy(
    host: str, proxies: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a proxy in the environment (as a company network sets one), the dictation sent to a
    model server on this machine went through the proxy, and so left the machine, though
    Holdtype takes such a model for a local one (and picks it by itself as llm's default)."""
    for name in ("no_proxy", "NO_PROXY"):  # (only the user's own, as each case sets it)
        monkeypatch.delenv(name, raising=False)
    server = OpenAIChatStub(["We should ship the release on Friday."])  # STUB: the local model server
    proxy = OpenAIChatStub(["(from the proxy)"])  # STUB: stands in for the proxy; must get nothing
    try:
        write_llm_models([model_entry("stub", f"http://{host}:{server.port}/v1", "m")])
        save_settings(Settings(llm=LLMSettings(model="stub", timeout_s=30)))
        env = {name: value.format(proxy=f"http://127.0.0.1:{proxy.port}") for name, value in proxies.items()}
        done = holdtype("modes", "test", "clean", "we should ship the release on friday", "--json", env=env)
    finally:
        server.close()
        proxy.close()
    assert done.returncode == 0, done.stderr
    assert proxy.bodies == [], "the proxy got the dictation"
    assert len(server.bodies) == 1 and "ship the release" in json.dumps(server.bodies)
    result = json.loads(done.stdout)
    assert result["text"] == "We should ship the release on Friday." and not result["fallback_reason"], result


def test_the_users_own_no_proxy_hosts_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine's names are added to the user's NO_PROXY (another of its addresses a model
    is on too), never put in place of the hosts the user listed there."""
    from app.llm.loopback import bypass_proxies

    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "example.com, .corp.example.com,LOCALHOST")
    bypass_proxies("http://127.0.0.2:8080/v1")
    assert os.environ["NO_PROXY"] == "example.com,.corp.example.com,LOCALHOST,127.0.0.1,::1,127.0.0.2"
    assert "no_proxy" not in os.environ  # (urllib, httpx and requests read the one the user set)
    monkeypatch.setenv("NO_PROXY", "*")
    bypass_proxies()
    assert os.environ["NO_PROXY"] == "*"
