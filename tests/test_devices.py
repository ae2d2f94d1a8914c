"""Input device listing and resolution, on a real (private) PulseAudio server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from app.audio import devices
from app.audio.capture import Recorder
from app.config import AudioSettings
from app.errors import AudioError
from tests.cli import holdtype
from tests.fixtures.pulse import PulseServer


def test_lists_the_pulse_devices(pulse: PulseServer) -> None:
    found = devices.list_input_devices()
    names = [d.name for d in found]
    assert "pulse" in names and "default" in names, names
    assert sum(d.is_default for d in found) == 1
    assert all(d.channels > 0 and d.default_samplerate > 0 for d in found)
    assert "pulse" in found[names.index("pulse")].describe()


def test_resolve_default_name_and_index(pulse: PulseServer) -> None:
    default = devices.resolve_device(None)
    assert default.is_default
    by_name = devices.resolve_device("PULS")  # case-insensitive substring
    assert by_name.name == "pulse"
    assert devices.resolve_device(by_name.index) == by_name
    assert devices.resolve_device(str(by_name.index)) == by_name
    assert devices.resolve_device("  ") == default


def test_unknown_device_names_the_available_ones(pulse: PulseServer) -> None:
    with pytest.raises(AudioError, match=r"input device 'Blue Yeti' not found; available: .*pulse"):
        devices.resolve_device("Blue Yeti")
    with pytest.raises(AudioError, match=r"input device 999 not found; available: "):
        devices.resolve_device(999)


def test_no_input_device_names_the_fix(no_audio_device: dict[str, str]) -> None:
    assert devices.list_input_devices() == []
    with pytest.raises(AudioError, match=r"no input device found: plug in a microphone.*holdtype doctor"):
        devices.resolve_device(None)


def test_doctor_names_the_fix_for_each_microphone_problem(no_audio_device: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No device at all: the packages to install, or, when they are installed, starting the
    sound server. A configured device that is not there: the devices there are, and the
    setting to change (installing packages would not help)."""
    only_python = tmp_path / "bin"  # a PATH without pulseaudio or pipewire-pulse
    only_python.mkdir()
    none = holdtype("doctor", env={**no_audio_device, "PATH": str(only_python)})
    assert "[FAIL] microphone: no input device found\n" in none.stdout
    assert "fix: sudo apt-get install pulseaudio" in none.stdout
    assert "libasound2-plugins" in none.stdout and "run `holdtype doctor`" not in none.stdout


def test_doctor_says_to_start_an_installed_sound_server(no_audio_device: dict[str, str]) -> None:
    """It said `apt-get install pulseaudio ...` with PulseAudio installed and simply not running."""
    from tests.fixtures.parts import require_tools

    require_tools("pulseaudio", fix="sudo apt-get install pulseaudio")
    stopped = holdtype("doctor", env=no_audio_device)
    assert "[FAIL] microphone: no input device found\n" in stopped.stdout
    assert "fix: start the sound server: pulseaudio --start" in stopped.stdout, stopped.stdout
    assert "apt-get install pulseaudio" not in stopped.stdout


def test_doctor_with_a_running_sound_server_names_the_microphone(
    pulse_server: PulseServer, no_audio_device: dict[str, str]
) -> None:
    # The server answers, but ALSA (where PortAudio looks) offers no device: starting or
    # installing the server would not help.
    env = {**no_audio_device, "PULSE_SERVER": pulse_server.client_env["PULSE_SERVER"]}
    running = holdtype("doctor", env=env)
    assert "[FAIL] microphone: no input device found\n" in running.stdout
    assert "fix: plug in a microphone; the sound server runs" in running.stdout, running.stdout
    assert "pulseaudio --start" not in running.stdout


def test_doctor_names_the_devices_when_the_configured_one_is_missing(pulse: PulseServer) -> None:
    assert holdtype("config", "set", "audio.device", "Blue Yeti").returncode == 0
    result = holdtype("doctor")
    line = next(row for row in result.stdout.splitlines() if "microphone" in row)
    assert line.startswith("[FAIL] microphone: input device 'Blue Yeti' not found; available: ")
    assert "pulse" in line
    assert "fix: holdtype config set audio.device NAME" in result.stdout
    assert holdtype("config", "set", "audio.device", "pulse").returncode == 0
    assert "[ok  ] microphone: " in holdtype("doctor").stdout


def test_doctor_opens_the_microphone_it_names(pulse: PulseServer) -> None:
    # Listed is not openable: the default input whose PulseAudio source is gone was "[ok  ]",
    # and `run` then could not open it.
    result = holdtype("doctor", env={"PULSE_SOURCE": "no_such_source"})
    line = next(row for row in result.stdout.splitlines() if "microphone" in row)
    assert line.startswith("[FAIL] microphone: cannot open"), result.stdout
    assert "[ok  ] microphone: " in holdtype("doctor").stdout


def test_doctor_says_when_the_sound_server_does_not_answer(private_pulse: PulseServer) -> None:
    """A stalled sound server (SIGSTOP: a real PulseAudio) blocks PortAudio's first call until
    it answers, and doctor printed nothing, for good. The microphone check now gives up after
    10 s with what to do, the other checks are made, and doctor exits."""
    import signal

    private_pulse.process.send_signal(signal.SIGSTOP)
    try:
        result = holdtype("doctor", timeout=120)
    finally:
        private_pulse.process.send_signal(signal.SIGCONT)
    assert "[FAIL] microphone: the sound server does not answer (no reply in 10 s)\n" in result.stdout
    assert "fix: check it with `pactl info`" in result.stdout
    assert "[ok  ] llm: " in result.stdout, result.stdout  # the checks after it were made
    # Written while the blocked call had descriptor 2 pointed at the null device:
    assert "Some required parts are missing" in result.stderr, result.stderr
    assert result.returncode == 1


def test_refresh_sees_a_server_that_appears(no_audio_device: dict[str, str], pulse: PulseServer) -> None:
    # ``pulse`` was applied after ``no_audio_device``: the refreshed list now has the devices.
    assert devices.list_input_devices(refresh_first=True)


def test_refresh_is_skipped_while_a_stream_is_open(pulse: PulseServer) -> None:
    recorder = Recorder(AudioSettings())
    recorder.arm()
    try:
        assert devices.refresh() is False
        assert recorder.wait_running(30)
    finally:
        recorder.disarm()
    assert devices.refresh() is True


def test_arming_holds_off_a_concurrent_refresh(pulse: PulseServer) -> None:
    """The settings window re-reads the device list every 2 s while the recorder may be arming:
    PortAudio must not be restarted between choosing the device and opening its stream."""
    stop = threading.Event()
    refreshed: list[bool] = []

    def keep_refreshing() -> None:
        while not stop.is_set():
            refreshed.append(devices.refresh())

    worker = threading.Thread(target=keep_refreshing, daemon=True)
    worker.start()
    try:
        for _ in range(4):
            recorder = Recorder(AudioSettings())
            recorder.arm()
            try:
                assert recorder.wait_running(30)
            finally:
                recorder.disarm()
    finally:
        stop.set()
        worker.join(timeout=30)
    assert True in refreshed and False in refreshed  # both raced: refreshes ran and were held off


def _count_in_subprocess(env: dict[str, str]) -> int:
    code = "from app.audio.devices import list_input_devices; print(len(list_input_devices()))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


def test_subprocess_envs(pulse_server: PulseServer, no_audio_device: dict[str, str]) -> None:
    """The envs the fixtures hand to subprocesses (e.g. `holdtype run --no-tray`) do what they say."""
    assert _count_in_subprocess(pulse_server.env) >= 1
    assert _count_in_subprocess(no_audio_device) == 0
