"""Transcribing files side by side: stopping gives up the decodes in progress."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from app.config import Settings
from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.batch import FileTranscriber
from app.transcribe.whisper import DecodeCancelled
from tests.fixtures.waiting import wait_for


class _Watched:
    """The real transcriber, noting which decodes ended given up (a spy, not a stand-in)."""

    def __init__(self, whisper) -> None:  # type: ignore[no-untyped-def]
        self.whisper = whisper
        self.cancelled = 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.whisper, name)

    def transcribe(self, audio, options, cancel=None):  # type: ignore[no-untyped-def]
        try:
            return self.whisper.transcribe(audio, options, cancel=cancel)
        except DecodeCancelled:
            self.cancelled += 1
            raise


def test_stopping_gives_up_the_decodes_in_progress(speak, tmp_path: Path) -> None:
    short = speak("Send the figures to the team.", speed=160)
    sentence = load_audio(speak("The library will close early tomorrow, so return your books.", speed=150))
    long = tmp_path / "long.wav"  # about two minutes: decoded in many windows
    pause = np.zeros(SAMPLE_RATE // 2, np.float32)
    sf.write(long, np.tile(np.concatenate([sentence, pause]), 30), SAMPLE_RATE)
    files = FileTranscriber(Settings())
    watched = _Watched(files.whisper)
    files.whisper = watched  # type: ignore[assignment]
    results = files.transcribe_files([short, long, long], jobs=2)
    first = next(results)
    assert "figures" in first.text.lower()  # type: ignore[union-attr]
    results.close()  # Ctrl-C, or a reader that stops: the two long decodes are running
    # given up at their next stage, not waited for: close() returns before they end
    wait_for(lambda: watched.cancelled >= 1, timeout=120, what="a long decode to be given up")


def test_files_go_one_at_a_time_unless_jobs_asks_for_more(speak, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A file's elapsed_ms is what it takes alone: decoded beside another, a file took half as
    long again (25 clips: a median 835 against 561 ms), so side by side is asked for (--jobs)."""
    import os
    import threading

    clips = [speak(text, speed=170) for text in ("Close the door.", "Open the window.", "Bring tea.")]
    files = FileTranscriber(Settings())
    running, most, lock = 0, 0, threading.Lock()
    own = files.transcribe_file

    def counted(path: Path):  # type: ignore[no-untyped-def]
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return own(path)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(files, "transcribe_file", counted)
    texts = [r.text for r in files.transcribe_files(clips)]  # type: ignore[union-attr]
    assert most == 1 and "door" in texts[0].lower() and "tea" in texts[2].lower()
    most = 0
    again = [r.text for r in files.transcribe_files(clips, jobs=2)]  # type: ignore[union-attr]
    assert again == texts
    assert most == (2 if (os.cpu_count() or 1) >= 2 else 1)  # both decodes started before either ended
