"""`holdtype llm install|uninstall|plugins`: a real pip installs a real llm plugin (a wheel
built here) into a virtual environment of its own, layered on the test's, so the project's
environment is never changed."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.cli import ROOT

PLUGIN = """\
import llm


class Echo(llm.Model):
    model_id = "holdtype-echo"

    def execute(self, prompt, stream, response, conversation):
        yield prompt.prompt.upper()


@llm.hookimpl
def register_models(register):
    register(Echo())
"""


def _wheel(folder: Path) -> Path:
    """A wheel of the plugin ``llm-holdtype-echo`` (one module, llm's entry point)."""
    info = "llm_holdtype_echo-0.1.dist-info"
    files = {
        "llm_holdtype_echo.py": PLUGIN,
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: llm-holdtype-echo\nVersion: 0.1\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: holdtype-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{info}/entry_points.txt": "[llm]\nholdtype_echo = llm_holdtype_echo\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    path = folder / "llm_holdtype_echo-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
    return path


@pytest.fixture
def layered_python(tmp_path: Path) -> Path:
    """The python of a new virtual environment that also sees the test environment's packages
    (a .pth file): pip, run by it, installs into the new one."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    own = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(own, "layered.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


def test_a_plugin_installs_lists_its_models_and_uninstalls(layered_python: Path, tmp_path: Path) -> None:
    # Every hint said `llm install llm-ollama`, a command on no user's PATH.
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [layered_python, "-m", "app", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
        )

    assert "holdtype-echo" not in run("llm", "models").stdout
    installed = run("llm", "install", str(_wheel(tmp_path)))
    assert installed.returncode == 0, installed.stderr
    assert "installed" in installed.stdout and "restart Holdtype" in installed.stdout
    rows = [json.loads(line) for line in run("llm", "plugins", "--json").stdout.splitlines()]
    assert {"name": "llm-holdtype-echo", "version": "0.1"} in rows
    assert "holdtype-echo" in run("llm", "models").stdout
    # never in the test's own environment
    assert (
        "holdtype-echo"
        not in subprocess.run(
            [sys.executable, "-m", "app", "llm", "models"], capture_output=True, text=True, cwd=ROOT
        ).stdout
    )

    refused = run("llm", "uninstall", "LLM", "llm-holdtype-echo")
    assert refused.returncode == 1 and "Holdtype needs LLM" in refused.stderr
    assert "holdtype-echo" in run("llm", "models").stdout  # nothing was removed
    removed = run("llm", "uninstall", "llm-holdtype-echo")
    assert removed.returncode == 0, removed.stderr
    assert "holdtype-echo" not in run("llm", "models").stdout
    assert "llm-holdtype-echo" not in run("llm", "plugins").stdout


def test_a_failed_install_is_one_line_after_pips_own_message(layered_python: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-plugin-0.1-py3-none-any.whl"
    done = subprocess.run(
        [layered_python, "-m", "app", "llm", "install", str(missing)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: pip could not install") and "its message is above" in last
    assert "Traceback" not in done.stderr


def test_uninstall_refuses_what_holdtypes_dependencies_need() -> None:
    """The guard knew Holdtype's direct requirements only: `llm uninstall openai` (llm's),
    `ctranslate2` (faster-whisper's) went to pip and broke every mode, or dictation itself."""
    from importlib import metadata

    from app.llm.plugins import needed_by_holdtype
    from tests.cli import holdtype

    deep = ["openai", "ctranslate2", "onnxruntime", "anyio"]  # llm's, faster-whisper's, openai's
    # Checked in this process first: a CLI without the guard would really remove them.
    assert needed_by_holdtype([*deep, "llm-holdtype-echo", "OpenAI"]) == [*deep, "OpenAI"]
    refused = holdtype("llm", "uninstall", "openai", "ctranslate2")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "not removed: Holdtype needs openai, ctranslate2" in refused.stderr
    assert metadata.version("openai") and metadata.version("ctranslate2")  # nothing was removed


def test_uninstall_of_a_package_that_is_not_installed_says_so() -> None:
    """pip only warns "Skipping ... as it is not installed" and exits 0: Holdtype said
    "removed llm-nonexistent-xyz" and exited 0."""
    from tests.cli import holdtype

    done = holdtype("llm", "uninstall", "llm-nonexistent-xyz")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "not installed here: llm-nonexistent-xyz" in done.stderr
    assert "removed" not in done.stdout and "Skipping" not in done.stderr
