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


def test_a_command_run_with_standard_output_closed_says_so(speak) -> None:  # type: ignore[no-untyped-def]
    """From a review: `holdtype transcribe FILE >&-` ended in a traceback (Python has no stdout
    then), and `vocab list >&-` printed into nothing and exited 0, so a script could not tell.
    A command whose output is its result says so in one line and exits 1; one run for what it
    does (`vocab add`, a desktop shortcut's `dictate toggle`) still does it."""

    def closed(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=120,
            preexec_fn=lambda: os.close(1),
        )

    clip = speak("Hello there.")
    for args in (
        ["transcribe", str(clip)],
        ["vocab", "list"],
        ["history", "export", "-"],
        ["dictate", "status"],
    ):
        done = closed(*args)
        assert done.returncode == 1 and "Traceback" not in done.stderr, (args, done.stderr)
        assert done.stderr.strip() == (
            "Error: standard output is closed, so the output would be lost; "
            "redirect it to a file instead (> FILE, or > /dev/null)"
        ), args
    added = closed("vocab", "add", "Kubernetes")
    assert added.returncode == 0, added.stderr
    assert holdtype("vocab", "list").stdout.split() == ["Kubernetes"]
    toggled = closed("dictate", "toggle")  # (no Holdtype runs here: said so, not stdout)
    assert "standard output is closed" not in toggled.stderr and "Traceback" not in toggled.stderr
