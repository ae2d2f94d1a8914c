"""Microphone capture: 16 kHz mono float32, with a pre-roll that is always running while armed.

Threads:

- PortAudio's audio thread runs :meth:`Recorder._callback`, which only copies the block into a
  preallocated ring buffer (the pre-roll) and, while recording, into a preallocated utterance
  buffer and the spool writer's queue. (When the device cannot capture at 16 kHz, the block is
  first converted by a streaming ``soxr`` resampler, which works in C on the block.)
- A monitor thread (20 Hz while recording, 2 Hz otherwise) computes the input level, grows the
  utterance buffer before it fills, and reports a lost device or the length limit to ``on_error``,
  so no user callback ever runs on the audio thread.
- The engine calls :meth:`arm`, :meth:`start`, :meth:`audio_so_far` and :meth:`stop`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from app.audio import devices
from app.errors import AudioError
from app.transcribe.audiofile import SAMPLE_RATE  # recorded at the rate Whisper takes

if TYPE_CHECKING:
    from app.audio.spool import SpoolWriter
    from app.config import AudioSettings

log = logging.getLogger(__name__)

BLOCK_S = 0.05  # 20 ms blocks cost ~1.3 % CPU while idle-armed, 50 ms ~0.5 %
_LEVEL_WINDOW = SAMPLE_RATE // 20
#: A press handled this much later than its key went down (the engine thread busy, a slow disk
#: for the spool) still gets its pre-roll counted back from the key: the first words were cut.
LATE_PRESS_S = 2.0

_INITIAL_UTTERANCE_S = 30.0
_GROW_MARGIN_S = 5.0
#: A recording at least this long (s) that got under STARVED_SHARE of its length from the
#: device was starved: the sound server stopped answering, or the device stopped delivering.
STARVED_MIN_S = 1.0
STARVED_SHARE = 0.5


def starved(lasted_s: float, received_s: float) -> str | None:
    """What to tell of a recording that lasted ``lasted_s`` seconds and got ``received_s`` of
    audio from the device, when that is much less (a stalled sound server delivers nothing,
    and says nothing: the recording read as "no speech"); None when the audio came.

    >>> starved(2.5, 2.4) is None
    True
    >>> starved(2.5, 0.0).split(":")[0]
    'the microphone delivered 0.0 s of audio in the 2.5 s recorded'
    """
    if lasted_s < STARVED_MIN_S or received_s >= STARVED_SHARE * lasted_s:
        return None
    return (
        f"the microphone delivered {received_s:.1f} s of audio in the {lasted_s:.1f} s recorded: "
        "the sound server does not answer, or the device stopped"
    )


def _ring_size(pre_frames: int) -> int:
    """The frames the ring keeps: a pre-roll of ``pre_frames`` however late the press is
    handled (:data:`LATE_PRESS_S`), and the level meter's window."""
    return max(pre_frames, SAMPLE_RATE // 2) + round(LATE_PRESS_S * SAMPLE_RATE) + _LEVEL_WINDOW


class Recorder:
    """Captures utterances from the configured input device; see the module docstring."""

    def __init__(
        self,
        settings: AudioSettings,
        on_level: Callable[[float, float], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        *,
        capture_rate: int | None = None,
    ) -> None:
        """Prepare buffers; nothing is opened until :meth:`arm`.

        ``capture_rate`` forces the device to be opened at that rate and resampled to 16 kHz
        here (for drivers whose own 16 kHz conversion is poor); by default 16 kHz is asked of the
        device and resampling happens only when it refuses.
        """
        self._settings = settings
        self._capture_rate = capture_rate
        self._on_level = on_level
        self._on_error = on_error
        self._lock = threading.Condition(threading.Lock())
        self._max_frames = int(settings.max_record_s * SAMPLE_RATE)
        # A pre-roll longer than a whole recording may be (pre_roll_s 3, max_record_s 2) made
        # every press fail: it is cut to the recording's length.
        self._pre_frames = min(round(settings.pre_roll_s * SAMPLE_RATE), self._max_frames)
        self._ring = np.zeros(_ring_size(self._pre_frames), np.float32)
        self._ring_total = 0  # frames ever written to the ring
        self._ring_from = 0  # the first of them the ring holds for sure (see retune)
        self._utt = np.zeros(0, np.float32)
        self._utt_len = 0
        self._recording = False
        self._limit_hit = False
        self._limit_reported = False
        self._spool: SpoolWriter | None = None
        self._stream: Any = None
        self._device: devices.InputDevice | None = None
        self._resampler: Any = None
        self._channels = 1
        self._closing = False
        self._lost: str | None = None
        self._lost_reported = False
        self._overflows = 0
        self._started = (0.0, 0)  # monotonic time and ring frames at the utterance's start
        self._starved: str | None = None
        self._level = (0.0, 0.0)
        self._monitor: threading.Thread | None = None
        self._wake = threading.Event()
        self._monitor_stop = threading.Event()
        self._stream_lock = threading.Lock()  # serialises opening/closing the stream

    # --- properties -------------------------------------------------------------------------
    @property
    def armed(self) -> bool:
        """Whether the input stream is open (the pre-roll is running)."""
        return self._stream is not None and self._lost is None

    @property
    def recording(self) -> bool:
        """Whether an utterance is being captured."""
        return self._recording

    @property
    def device_name(self) -> str | None:
        """Name of the device in use (or last used)."""
        return self._device.name if self._device else None

    @property
    def device(self) -> devices.InputDevice | None:
        """The device in use (or last used)."""
        return self._device

    @property
    def level(self) -> float:
        """Input RMS level (0..1) of the last 50 ms."""
        if not self._recording:
            self._level = self._measure()
        return self._level[0]

    @property
    def peak(self) -> float:
        """Input peak level (0..1) of the last 50 ms."""
        return self._level[1]

    @property
    def frames_captured(self) -> int:
        """Frames (16 kHz) received since :meth:`arm`; grows while the stream runs."""
        return self._ring_total

    @property
    def limit_reached(self) -> bool:
        """Whether the current utterance hit ``audio.max_record_s`` (later audio was dropped)."""
        return self._limit_hit

    @property
    def lost_error(self) -> str | None:
        """Why the stream stopped on its own (device gone), or None."""
        return self._lost

    @property
    def starved(self) -> str | None:
        """Why the last utterance holds much less audio than it lasted (see :func:`starved`),
        or None."""
        return self._starved

    @property
    def overflows(self) -> int:
        """Blocks PortAudio reported as overflowed (input dropped because we were too slow)."""
        return self._overflows

    # --- arming -----------------------------------------------------------------------------
    def arm(self) -> None:
        """Open the input stream; the pre-roll ring runs from now on.

        Raises :class:`AudioError` (with the fix) when there is no usable input device.
        """
        if self.armed:
            return
        if self._stream is not None or self._monitor is not None:
            self.disarm()  # a lost stream: wait for the monitor to let go of it first
        sd = devices._sd()
        devices.refresh()  # hot-plugged devices; then hold PortAudio so no refresh restarts it
        devices._stream_opened()  # under us between choosing the device and opening it
        try:
            stream, device, rate = self._open(sd)
        except BaseException:
            devices._stream_closed()
            raise
        self._stream = stream
        self._device = device
        try:
            stream.start()
        except Exception as exc:
            self._close_stream()
            raise AudioError(f"cannot start input device '{device.name}': {exc}") from exc
        self._monitor_stop.clear()
        self._monitor = threading.Thread(target=self._monitor_loop, name="recorder-monitor", daemon=True)
        self._monitor.start()
        log.info("armed on %s (%d Hz)", device.describe(), rate)

    def _open(self, sd: Any) -> tuple[Any, devices.InputDevice, int]:
        """Choose the device and rate and create (not start) the input stream."""
        device = devices.resolve_device(self._settings.device)
        rate = self._capture_rate or SAMPLE_RATE
        channels = 1
        if not self._supports(sd, device, rate, 1):
            rate = int(device.default_samplerate)
            channels = 1 if self._supports(sd, device, rate, 1) else min(device.channels, 2)
            log.info(
                "%s cannot capture %d Hz mono; capturing %d Hz x%d and resampling",
                device.name,
                self._capture_rate or SAMPLE_RATE,
                rate,
                channels,
            )
        self._resampler = None
        if rate != SAMPLE_RATE:
            import soxr

            self._resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        self._channels = channels
        with self._lock:
            self._ring[:] = 0.0
            self._ring_total = self._ring_from = 0
            self._lost = None
            self._lost_reported = False
            self._closing = False
            if self._utt.size == 0:
                initial = min(self._max_frames, int(_INITIAL_UTTERANCE_S * SAMPLE_RATE))
                self._utt = np.zeros(initial, np.float32)
        try:
            stream = sd.InputStream(
                device=device.index,
                samplerate=rate,
                channels=channels,
                dtype="float32",
                blocksize=int(rate * BLOCK_S),
                callback=self._callback,
                finished_callback=self._finished,
            )
        except Exception as exc:
            raise AudioError(
                f"cannot open input device '{device.name}': {exc}; pick another with "
                "`holdtype config set audio.device NAME` or check `holdtype doctor`"
            ) from exc
        return stream, device, rate

    @staticmethod
    def _supports(sd: Any, device: devices.InputDevice, rate: int, channels: int) -> bool:
        try:
            sd.check_input_settings(device=device.index, samplerate=rate, channels=channels, dtype="float32")
        except Exception:  # PortAudioError or ValueError, depending on the host API
            return False
        return True

    def wait_running(self, timeout: float = 5.0) -> bool:
        """Wait until the armed stream has delivered audio (some backends take a moment)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._ring_total > 0 or self._lost is not None, timeout)

    def wait_frames(self, frames: int, timeout: float) -> bool:
        """Wait until :attr:`frames_captured` reaches ``frames`` (False on timeout or device loss)."""
        with self._lock:
            self._lock.wait_for(lambda: self._ring_total >= frames or self._lost is not None, timeout)
            return self._ring_total >= frames

    def disarm(self) -> None:
        """Close the input stream. An utterance in progress keeps its audio for :meth:`stop`."""
        self._monitor_stop.set()
        self._wake.set()
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=5.0)
        self._monitor = None
        self._close_stream()

    def _close_stream(self) -> None:
        with self._stream_lock:
            stream, self._stream = self._stream, None
        if stream is None:
            return
        self._closing = True
        try:
            stream.close(ignore_errors=True)
        except Exception as exc:  # a vanished device may fail to close; nothing left to do
            log.debug("closing the input stream failed: %s", exc)
        finally:
            devices._stream_closed()
            with self._lock:
                self._lock.notify_all()

    def retune(self, settings: AudioSettings) -> bool:
        """Take ``settings``' pre-roll and length limit without closing the stream: reopening
        it for them took up to 2 s, and a press meanwhile lost its first words. False, with
        nothing changed, when the device differs (the caller reopens) or a recording is under
        way. The audio already in the pre-roll is kept."""
        if settings.device != self._settings.device:
            return False
        max_frames = int(settings.max_record_s * SAMPLE_RATE)
        pre_frames = min(round(settings.pre_roll_s * SAMPLE_RATE), max_frames)
        size = _ring_size(pre_frames)
        with self._lock:
            if self._recording:
                return False
            if size != self._ring.size:
                ring = np.zeros(size, np.float32)
                kept = np.arange(
                    self._ring_total - min(self._ring_total - self._ring_from, self._ring.size, size),
                    self._ring_total,
                )
                ring[kept % size] = self._ring[kept % self._ring.size]  # where writing goes on
                self._ring = ring
                # A bigger ring holds only what the smaller one had: the rest of a longer
                # pre-roll fills in as audio comes, never as the zeros it starts with.
                self._ring_from = int(kept[0]) if kept.size else self._ring_total
            if self._utt.size < pre_frames:  # (an utterance starts with the pre-roll in it)
                self._utt = np.zeros(
                    min(max_frames, max(pre_frames, int(_INITIAL_UTTERANCE_S * SAMPLE_RATE))), np.float32
                )
            self._settings, self._max_frames, self._pre_frames = settings, max_frames, pre_frames
        return True

    # --- utterances -------------------------------------------------------------------------
    def start(self, spool: SpoolWriter | None = None, pressed_at: float | None = None) -> None:
        """Begin an utterance with the last ``pre_roll_s`` seconds already in it: those before
        ``pressed_at`` (``time.monotonic()`` when the key went down), when the start comes
        later (up to :data:`LATE_PRESS_S`), else before now."""
        if not self.armed:
            raise AudioError(self._lost or "the microphone is not armed (no input device open)")
        late = 0.0 if pressed_at is None else min(max(0.0, time.monotonic() - pressed_at), LATE_PRESS_S)
        with self._lock:
            wanted = self._pre_frames + round(late * SAMPLE_RATE)
            pre = min(wanted, self._ring_total - self._ring_from, self._ring.size, self._utt.size)
            if pre:
                end = self._ring_total % self._ring.size
                idx = np.arange(end - pre, end) % self._ring.size
                self._utt[:pre] = self._ring[idx]
            self._utt_len = pre
            self._started = (time.monotonic(), self._ring_total)
            self._starved = None
            self._limit_hit = False
            self._limit_reported = False
            self._spool = spool
            if spool is not None and pre:
                spool.write(self._utt[:pre])
            self._recording = True
        self._wake.set()

    def audio_so_far(self) -> np.ndarray:
        """A copy of the current utterance (float32, 16 kHz), pre-roll included."""
        with self._lock:
            return self._utt[: self._utt_len].copy()

    def stop(self, tail_timeout: float = 0.2) -> np.ndarray:
        """End the utterance and return all its audio.

        Waits (at most ``tail_timeout``) for one more block from the device, so the audio up to
        this call is included. Returns an empty array when no utterance was being recorded.
        """
        with self._lock:
            if not self._recording:
                return np.zeros(0, np.float32)
            target = self._ring_total + 1
            if self._stream is not None and self._lost is None:
                self._lock.wait_for(
                    lambda: self._ring_total >= target or self._lost is not None or self._stream is None,
                    tail_timeout,
                )
            self._recording = False
            self._spool = None
            audio = self._utt[: self._utt_len].copy()
            since, frames = self._started
            self._starved = starved(time.monotonic() - since, (self._ring_total - frames) / SAMPLE_RATE)
        self._level = (0.0, 0.0)
        return audio

    # --- audio thread -----------------------------------------------------------------------
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status and status.input_overflow:
            self._overflows += 1
        block = indata[:, 0] if self._channels == 1 else indata.mean(axis=1)
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block)
        n = block.shape[0]
        if n == 0:
            return
        with self._lock:
            size = self._ring.size
            if n >= size:
                self._ring[:] = block[-size:]
            else:
                start = self._ring_total % size
                first = min(n, size - start)
                self._ring[start : start + first] = block[:first]
                if first < n:
                    self._ring[: n - first] = block[first:]
            self._ring_total += n
            if self._recording and not self._limit_hit:
                room = self._max_frames - self._utt_len
                if n > room:
                    block = block[:room]
                    self._limit_hit = True
                if self._utt_len + block.shape[0] > self._utt.size:  # monitor fell behind
                    self._grow_locked(self._utt_len + block.shape[0])
                self._utt[self._utt_len : self._utt_len + block.shape[0]] = block
                self._utt_len += block.shape[0]
                if self._spool is not None and block.shape[0]:
                    self._spool.write(block)
            self._lock.notify_all()
        if self._limit_hit:
            self._wake.set()

    def _finished(self) -> None:
        if self._closing:
            return
        device = self.device_name or "the microphone"
        self._lost = (
            f"input device '{device}' stopped delivering audio (unplugged or the sound server "
            "went away); what was recorded so far is kept. It is opened again when it comes back "
            "(`holdtype doctor` lists the devices)"
        )
        with self._lock:
            self._lock.notify_all()
        self._wake.set()

    # --- monitor thread ---------------------------------------------------------------------
    def _grow_locked(self, needed: int) -> None:
        capacity = max(needed, min(self._max_frames, self._utt.size * 2 or SAMPLE_RATE))
        bigger = np.zeros(capacity, np.float32)
        bigger[: self._utt_len] = self._utt[: self._utt_len]
        self._utt = bigger

    def _measure(self) -> tuple[float, float]:
        with self._lock:
            n = min(_LEVEL_WINDOW, self._ring_total)
            if n == 0:
                return (0.0, 0.0)
            end = self._ring_total % self._ring.size
            window = self._ring[np.arange(end - n, end) % self._ring.size]
        return float(np.sqrt(np.mean(window * window))), float(np.max(np.abs(window)))

    def _monitor_loop(self) -> None:
        while not self._monitor_stop.is_set():
            self._wake.wait(0.05 if self._recording else 0.5)
            self._wake.clear()
            if self._monitor_stop.is_set():
                return
            if self._recording:
                self._level = self._measure()
                if self._on_level is not None:
                    self._safe(self._on_level, *self._level)
                self._maybe_grow()
                if self._limit_hit and not self._limit_reported:
                    self._limit_reported = True
                    self._report(
                        f"recording reached the maximum length ({self._settings.max_record_s:g} s, "
                        "audio.max_record_s); later audio was not recorded"
                    )
            if self._lost is not None and not self._lost_reported:
                self._lost_reported = True
                log.warning("%s", self._lost)
                self._report(self._lost)
                self._close_stream()
                return

    def _maybe_grow(self) -> None:
        margin = int(_GROW_MARGIN_S * SAMPLE_RATE)
        if self._utt.size >= self._max_frames or self._utt.size - self._utt_len > margin:
            return
        capacity = min(self._max_frames, self._utt.size * 2)
        bigger = np.zeros(capacity, np.float32)  # allocated outside the lock
        with self._lock:
            if bigger.size > self._utt.size:
                bigger[: self._utt_len] = self._utt[: self._utt_len]
                self._utt = bigger

    def _report(self, message: str) -> None:
        if self._on_error is not None:
            self._safe(self._on_error, message)

    @staticmethod
    def _safe(func: Callable[..., None], *args: Any) -> None:
        try:
            func(*args)
        except Exception:
            log.exception("recorder callback %r failed", func)
