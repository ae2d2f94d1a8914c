"""`holdtype transcribe --mode` against the real local LLM server (llama.cpp + Gemma 3 270M)."""

from __future__ import annotations

import json

import pytest

from app.config import LLMSettings, Settings, save_settings
from tests.cli import holdtype

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def test_transcribe_with_a_mode_reports_llm_fields_and_caches(local_llm, speak) -> None:
    save_settings(Settings(llm=LLMSettings(model=local_llm.model_id, timeout_s=120)))
    wav = speak("So um the meeting is moved to Thursday afternoon.", speed=150)
    before = local_llm.requests
    first = holdtype("transcribe", "--json", "--mode", "clean", str(wav))
    assert first.returncode == 0, first.stderr
    row = json.loads(first.stdout)
    assert row["mode"] == "clean" and row["cached"] is False
    assert {"llm_ms", "fallback_reason", "raw", "text"} <= row.keys()
    assert local_llm.requests == before + 1
    # Whatever the tiny model said, the user's words survive: either its rewrite or the transcript.
    assert "thursday" in row["text"].lower() or row["fallback_reason"]
    again = json.loads(holdtype("transcribe", "--json", "--mode", "clean", str(wav)).stdout)
    assert again["cached"] is True and again["text"] == row["text"]
    assert local_llm.requests == before + 1


def test_transcribe_with_an_unknown_mode_is_a_clear_error(speak) -> None:
    wav = speak("Hello there.", speed=150)
    result = holdtype("transcribe", "--mode", "no-such-mode", str(wav))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "no-such-mode" in result.stderr


def test_transcribe_with_the_server_down_falls_back_to_the_transcript(speak) -> None:
    from tests.fixtures.llama import model_entry, write_llm_models

    # Nothing listens on port 9 of loopback: a real connection refused.
    write_llm_models([model_entry("holdtype-down", "http://127.0.0.1:9/v1")])
    save_settings(Settings(llm=LLMSettings(model="holdtype-down", timeout_s=5)))
    wav = speak("Please water the plants.", speed=150)
    result = holdtype("transcribe", "--json", "--mode", "clean", str(wav))
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["fallback_reason"]
    assert row["text"] and "plant" in row["text"].lower()


def test_transcribe_says_a_fallback_as_one_warning_line(speak) -> None:
    save_settings(Settings(llm=LLMSettings(model="no-such-model")))  # falls back without a network
    wav = speak("Please water the plants.", speed=150)
    for extra in ([], ["--json"]):
        result = holdtype("transcribe", *extra, "--mode", "clean", str(wav))
        assert result.returncode == 0, result.stderr
        said = [line for line in result.stderr.splitlines() if "fell back" in line]
        # was a timestamped "WARNING app.llm.runner: ..." log line
        assert len(said) == 1 and said[0].startswith(f"warning: {wav}: mode clean fell back"), said
        assert "no-such-model" in said[0] and "WARNING" not in result.stderr
