"""Standard streams that cannot encode every character (a pipe on Windows takes the ANSI code
page, cp1252) write such characters as "?" instead of ending the command."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.cli import ROOT, holdtype


def test_a_term_outside_the_streams_code_page_is_listed_not_a_traceback() -> None:
    assert holdtype("vocab", "add", "Zürich名前").returncode == 0
    # PYTHONIOENCODING gives this process's pipes what Windows gives a piped one by itself
    listed = subprocess.run(
        [sys.executable, "-m", "app", "vocab", "list"],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "cp1252"},
        cwd=ROOT,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert b"Traceback" not in listed.stderr
    assert listed.stdout.decode("cp1252").strip() == "Zürich??"


def test_json_on_such_a_stream_escapes_what_it_cannot_encode() -> None:
    import json

    assert holdtype("vocab", "add", "Zürich名前").returncode == 0
    listed = subprocess.run(
        [sys.executable, "-m", "app", "vocab", "list", "--json"],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "cp1252"},
        cwd=ROOT,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout.decode("cp1252"))["terms"] == ["Zürich名前"]  # no "?" for a letter
