"""Memory over a long dictation: a decode of every new length must not keep memory for good.

While the key is held, the streaming transcriber decodes the uncommitted tail about every
second, and with the short encoder context each decode hears a length of its own. oneDNN
(under CTranslate2) cached one primitive per length, up to 1024 of them: ``holdtype run``
grew from 195 MB to 835 MB over a 5-minute hold. Each measurement runs in a fresh process
(the cache is process-wide), with the real model, as the app loads it.

Measured by hand (150 decodes of 2-12 s, one process): 170 -> 519 MB unbounded, 306-333 MB
with the bound, 279 MB for the same number at one length; the same decoding speed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from app.transcribe.native_cache import PRIMITIVE_CACHE_CAPACITY, bound_native_caches
from tests.cli import ROOT

pytestmark = pytest.mark.slow

# Loads the model as the app does, decodes pieces of new lengths (as the streaming decodes of
# one long hold) and says the cache capacity oneDNN was given.
_SCRIPT = """
import os, sys
import numpy as np
from app.config import ModelSettings
from app.transcribe.whisper import DecodeOptions, WhisperTranscriber

transcriber = WhisperTranscriber(ModelSettings())
options = DecodeOptions.from_settings(transcriber.settings)
for seconds in (2.1, 3.7, 5.3):
    transcriber.transcribe(np.zeros(int(seconds * 16000), dtype=np.float32), options)
print(os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY"))
"""


def test_the_model_loads_with_onednn_s_cache_bounded() -> None:
    # The resident memory itself is measured by hand (see the module's docstring), not
    # asserted: it moves by tens of megabytes from run to run with the allocator's arenas.
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(PRIMITIVE_CACHE_CAPACITY)


def test_a_capacity_the_user_set_is_kept() -> None:
    assert bound_native_caches({}) == str(PRIMITIVE_CACHE_CAPACITY)
    assert bound_native_caches({"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "0"}) == "0"


def test_a_long_recording_is_cut_into_chunks_at_its_pauses() -> None:
    from app.transcribe import whisper

    rate = whisper.SAMPLE_RATE
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(int(1500 * rate)) * 0.1).astype(np.float32)  # 25 minutes of "speech"
    for pause in (590, 1185):  # a quiet second near each chunk's end
        audio[pause * rate : (pause + 1) * rate] = 0.0
    cuts = whisper.chunk_points(audio)
    assert [round(c / rate) for c in cuts] == [590, 1185], [c / rate for c in cuts]
    assert whisper.chunk_points(audio[: int(800 * rate)]) == []  # up to 15 minutes: one piece


def test_chunks_of_a_long_recording_are_read_in_turn(speak, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Past CHUNK_S and a half, a recording went to faster-whisper whole, whose features of two
    hours take 6.4 GB; it is read chunk by chunk. (CHUNK_S made small, so as not to wait for
    ten minutes of speech: the same code path.)"""
    from app.config import ModelSettings
    from app.transcribe import whisper
    from app.transcribe.audiofile import load_audio

    sentences = ["The library opens at nine.", "Bring your own laptop.", "Lunch is served at noon."]
    audio = np.concatenate([load_audio(speak(s, speed=150, pad_s=0.8)) for s in sentences])
    monkeypatch.setattr(whisper, "CHUNK_S", len(audio) / whisper.SAMPLE_RATE / 2.6)
    assert len(whisper.chunk_points(audio)) == 2
    model = whisper.WhisperTranscriber(ModelSettings())
    options = replace(whisper.DecodeOptions.from_settings(model.settings), word_timestamps=True)
    result = model.transcribe(audio, options)
    text = result.text.lower()
    assert "library" in text and "laptop" in text and "lunch" in text, result.text
    assert len(result.segments) >= 3
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and starts[-1] > len(audio) / whisper.SAMPLE_RATE * 0.6
