"""Start/stop cues: short WAVs from ``resources/sounds`` played off the GUI thread.

The engine knows nothing of sounds; the tray app plays a cue when recording starts and when it
stops (``audio.sounds``). Playback runs on one daemon thread fed by a queue, so opening the
output device never stalls the GUI; a machine without an output device just stays silent.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import wave
from collections.abc import Iterator

import numpy as np

from app.events import State, StateChanged
from app.paths import resources_dir

log = logging.getLogger(__name__)


@contextlib.contextmanager
def portaudio_stream() -> Iterator[None]:
    """Mark a PortAudio stream of the UI as open while the block runs.

    :func:`app.audio.devices.refresh` re-initialises PortAudio (to see hot-plugged devices) only
    while no stream is open; re-initialising under a playing stream crashes PortAudio. The
    recorder counts its streams the same way.
    """
    from app.audio import devices

    with devices.stream_in_use():
        yield


def load_cue(name: str) -> tuple[np.ndarray, int]:
    """Return the samples (float32) and rate of ``resources/sounds/<name>.wav``."""
    with wave.open(str(resources_dir() / "sounds" / f"{name}.wav"), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        return data, w.getframerate()


class CuePlayer:
    """Plays the start cue when recording begins and the stop cue when it ends."""

    def __init__(self, enabled: bool = True) -> None:
        """Load the cues; nothing plays until :meth:`on_state` sees a recording."""
        self.enabled = enabled
        self._cues = {name: load_cue(name) for name in ("start", "stop")}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._recording = False
        self.played: list[str] = []

    def on_state(self, event: StateChanged) -> None:
        """Queue a cue on entering or leaving the recording state."""
        recording = event.state is State.RECORDING
        if recording != self._recording:
            self._recording = recording
            if self.enabled:
                self.play("start" if recording else "stop")

    def play(self, name: str) -> None:
        """Queue cue ``name`` for playback."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="holdtype-cues", daemon=True)
            self._thread.start()
        self._queue.put(name)

    def close(self) -> None:
        """Stop the playback thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=2)
            self._thread = None

    def _run(self) -> None:
        while True:
            name = self._queue.get()
            if name is None:
                return
            samples, rate = self._cues[name]
            try:
                import sounddevice as sd

                with portaudio_stream():
                    sd.play(samples, rate, blocking=True)
                self.played.append(name)
            except Exception as exc:  # no output device or PortAudio: the cue is optional
                log.debug("cue %s not played: %s", name, exc)
