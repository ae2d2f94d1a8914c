"""Audio files are read by Holdtype's own PyAV decoder: as faster-whisper reads them, on every
PyAV version (faster-whisper's ``decode_audio`` passes an argument PyAV 19 dropped, and pip
installs PyAV 19 on Python 3.12 and later: every file failed to open there)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from app.transcribe.audiofile import decode_bytes, load_audio
from tests.fixtures.parts import require_tools
from tests.fixtures.speech import Speak


@pytest.mark.parametrize("suffix", ["wav", "flac", "ogg"])
def test_a_file_reads_as_faster_whisper_reads_it(speak: Speak, tmp_path: Path, suffix: str) -> None:
    from faster_whisper import decode_audio

    require_tools("sox", fix="sudo apt-get install sox libsox-fmt-all")
    spoken = speak("Decoding a stereo file at forty four kilohertz.")
    other = tmp_path / f"stereo.{suffix}"
    subprocess.run(["sox", str(spoken), "-r", "44100", "-c", "2", str(other)], check=True)
    ours = load_audio(other)
    assert ours.dtype == np.float32 and ours.ndim == 1
    assert abs(len(ours) / 16000 - len(load_audio(spoken)) / 16000) < 0.05  # resampled to 16 kHz
    np.testing.assert_array_equal(ours, decode_audio(str(other), sampling_rate=16000))
    np.testing.assert_array_equal(decode_bytes(other.read_bytes()), ours)


def test_a_damaged_stretch_in_the_middle_does_not_cut_the_rest(speak: Speak, tmp_path: Path) -> None:
    """faster-whisper's reader skips a frame ffmpeg cannot decode but, its generator ended by
    the error, reads nothing after it: an MP3 damaged a third of the way in came out a third
    long, without a word of warning."""
    require_tools("ffmpeg", fix="sudo apt-get install ffmpeg")
    spoken = speak(
        "This is a longer sentence that we damage in the middle, to see whether the reader goes on "
        "after the damage and keeps the rest of the words."
    )
    mp3 = tmp_path / "whole.mp3"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(spoken), "-c:a", "libmp3lame", str(mp3)], check=True
    )
    data = bytearray(mp3.read_bytes())
    for at in (len(data) // 3, len(data) // 2):  # two stretches of garbage, as a bad disk or copy gives
        data[at : at + 400] = bytes([0xFF, 0x00, 0x13, 0x37]) * 100
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(bytes(data))
    whole = len(load_audio(mp3))
    assert len(load_audio(damaged)) > 0.8 * whole


def test_a_file_whose_rate_changes_midway_is_read_whole(speak: Speak, tmp_path: Path) -> None:
    """An MP3 whose frames change sample rate (two files joined end to end, or a frame whose
    header damage says another rate) stopped the resampler: "Frame does not match
    AudioResampler setup", and not a word of the file was transcribed."""
    require_tools("ffmpeg", fix="sudo apt-get install ffmpeg")
    parts = []
    for rate, text in ((22050, "The first half is sampled slowly."), (44100, "The second half is faster.")):
        part = tmp_path / f"part{rate}.mp3"
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-i", str(speak(text)), "-ar", str(rate), "-c:a", "libmp3lame",
             str(part)],
            check=True,
        )  # fmt: skip
        parts.append(part)
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(b"".join(part.read_bytes() for part in parts))
    expected = sum(len(load_audio(part)) for part in parts)
    assert abs(len(load_audio(joined)) - expected) < 0.1 * 16000


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_a_file_cut_short_is_read_with_a_warning(
    speak: Speak, tmp_path: Path, suffix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """From a review: a WAV or MP3 cut off (a copy or download broken) was transcribed in part
    with exit 0 and nothing said: 1.2 s of a file that says it holds 6.5 s."""
    require_tools("ffmpeg", fix="sudo apt-get install ffmpeg")
    wav = speak("The meeting moved to Thursday afternoon, after the long review.", speed=150)
    whole = tmp_path / f"whole{suffix}"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), str(whole)], check=True)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    with caplog.at_level("WARNING"):
        assert len(load_audio(whole)) > 0
        assert not [r for r in caplog.records if "ends early" in r.getMessage()]
        audio = load_audio(cut)
    said = [r.getMessage() for r in caplog.records if "ends early" in r.getMessage()]
    assert len(audio) > 0 and len(said) == 1 and str(cut) in said[0], caplog.records
