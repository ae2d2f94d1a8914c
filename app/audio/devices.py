"""Input devices: list them, and resolve the ``audio.device`` setting to one of them.

PortAudio (under sounddevice) reads the device list once, when it is initialised. :func:`refresh`
re-initialises it so hot-plugged microphones show up, but only while no stream of ours is open
(re-initialising would close it).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from app.errors import AudioError
from app.system_packages import install_command

log = logging.getLogger(__name__)

_lock = threading.Lock()
_open_streams = 0


def no_device_fix() -> str:
    """What to do when PortAudio lists no input device, for this platform."""
    if sys.platform.startswith("linux"):
        return (
            "plug in a microphone; on Linux install PulseAudio or PipeWire (pipewire-pulse) and "
            "the ALSA plugin (libasound2-plugins), and make sure the sound server is running"
        )
    if sys.platform == "darwin":
        return (
            "plug in a microphone; allow microphone access in System Settings > Privacy & "
            "Security > Microphone"
        )
    return "plug in a microphone; allow microphone access in Settings > Privacy > Microphone"


class NoInputDeviceError(AudioError):
    """PortAudio lists no input device at all."""

    def __init__(self) -> None:
        super().__init__(f"no input device found: {no_device_fix()}, or run `holdtype doctor`")


@dataclass(frozen=True, slots=True)
class InputDevice:
    """One capture device as PortAudio sees it."""

    index: int
    name: str
    host_api: str
    channels: int
    default_samplerate: float
    is_default: bool

    def describe(self) -> str:
        """``"3: USB Mic (ALSA)"``, with a star for the default device."""
        star = " *" if self.is_default else ""
        return f"{self.index}: {self.name} ({self.host_api}){star}"


def _sd():  # type: ignore[no-untyped-def]
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library itself is missing
        raise AudioError(
            f"the PortAudio library cannot be loaded ({exc}): {install_command('libportaudio2')}"
        ) from exc
    return sounddevice


def _stream_opened() -> None:
    global _open_streams
    with _lock:
        _open_streams += 1


def _stream_closed() -> None:
    global _open_streams
    with _lock:
        _open_streams = max(0, _open_streams - 1)


@contextlib.contextmanager
def stream_in_use() -> Iterator[None]:
    """Mark a PortAudio stream of the caller's as open, so :func:`refresh` will not restart
    PortAudio under it (meters, microphone tests, sound cues)."""
    _stream_opened()
    try:
        yield
    finally:
        _stream_closed()


def refresh() -> bool:
    """Re-read the device list (hot-plugged devices); skipped while a stream is open.

    Returns whether the list was re-read.
    """
    sd = _sd()
    with _lock:
        if _open_streams:
            log.debug("device list not refreshed: %d stream(s) open", _open_streams)
            return False
        sd._terminate()
        sd._initialize()
    return True


def list_input_devices(refresh_first: bool = False) -> list[InputDevice]:
    """All devices with at least one input channel, in PortAudio's order."""
    sd = _sd()
    if refresh_first:
        refresh()
    try:
        with _lock:  # not while another thread's refresh() restarts PortAudio under the reads
            raw = sd.query_devices()
            apis = sd.query_hostapis()
            default_in = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise AudioError(f"cannot list audio devices: {exc}") from exc
    if default_in is None or default_in < 0:
        defaults = (api["default_input_device"] for api in apis if api["default_input_device"] >= 0)
        default_in = next(defaults, -1)
    found = []
    for index, dev in enumerate(raw):
        if dev["max_input_channels"] <= 0:
            continue
        found.append(
            InputDevice(
                index=index,
                name=dev["name"],
                host_api=apis[dev["hostapi"]]["name"],
                channels=int(dev["max_input_channels"]),
                default_samplerate=float(dev["default_samplerate"]),
                is_default=index == default_in,
            )
        )
    return found


def resolve_device(setting: str | int | None, refresh_first: bool = False) -> InputDevice:
    """The device the ``audio.device`` setting names: an index, a name (substring), or the default.

    A name matches exactly first, then case-insensitively, then as a substring; an ambiguous
    substring picks the first match. Raises :class:`AudioError` with the fix when nothing matches.
    """
    devices = list_input_devices(refresh_first)
    if not devices:
        raise NoInputDeviceError
    if setting is None or (isinstance(setting, str) and not setting.strip()):
        default = next((d for d in devices if d.is_default), None)
        return default or devices[0]
    available = "; ".join(d.describe() for d in devices)
    if isinstance(setting, int) or (isinstance(setting, str) and setting.strip().isdigit()):
        index = int(setting)
        for device in devices:
            if device.index == index:
                return device
        raise AudioError(f"input device {index} not found; available: {available}")
    wanted = setting.strip()
    for match in (
        lambda d: d.name == wanted,
        lambda d: d.name.casefold() == wanted.casefold(),
        lambda d: wanted.casefold() in d.name.casefold(),
    ):
        hits = [d for d in devices if match(d)]
        if hits:
            if len(hits) > 1:
                log.info("input device %r matches %d devices; using %s", wanted, len(hits), hits[0])
            return hits[0]
    raise AudioError(f"input device '{wanted}' not found; available: {available}")
