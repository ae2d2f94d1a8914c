"""`holdtype run --no-tray` on a sound server that does not answer: what it says, and that
it says it (PortAudio's start points descriptor 2 at the null device while it waits)."""

from __future__ import annotations

import signal

from tests.e2e.live import LiveApp, app_env
from tests.fixtures.pulse import PulseServer


def test_a_start_on_a_stalled_sound_server_says_so_on_stderr(private_pulse: PulseServer) -> None:
    """The sound server is stalled (SIGSTOP: a real PulseAudio) when the headless app starts:
    opening the microphone blocks in PortAudio's start, which has descriptor 2 pointed at the
    null device meanwhile. The app now says after 5 s that the sound server does not answer,
    and that line reaches stderr; once the server answers, the microphone opens and the app is
    ready."""
    private_pulse.process.send_signal(signal.SIGSTOP)
    app = None
    try:
        app = LiveApp(app_env(private_pulse.client_env))
        line = app.wait_line("sound server has not answered", timeout=60)
        assert "error (audio)" in line and "pactl info" in line, line
        assert app.count("ready: model") == 0  # (the start waits for the microphone)
    finally:
        private_pulse.process.send_signal(signal.SIGCONT)
    try:
        app.wait_line("microphone is ready", timeout=60)
        app.wait_line("ready: model", timeout=120)
    finally:
        assert app.stop() == 0, app.log()
