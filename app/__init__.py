"""Holdtype: hold a key, speak, let go; your words appear where the cursor is."""

import os

__version__ = "0.1.0"

# Private by default: the libraries Holdtype loads must not phone home. onnxruntime (which runs
# faster-whisper's Silero voice detector, loaded at every start for the speech gate) sends usage
# telemetry to mobile.events.data.microsoft.com about 10 s after its first session on Linux too;
# only this variable, read when its environment is created, turns that off
# (``onnxruntime.disable_telemetry_events()`` did not). Set here, before any part imports it; a
# value the user set is kept.
NO_TELEMETRY_ENV: dict[str, str] = {"ORT_DISABLE_TELEMETRY": "1"}
for _name, _value in NO_TELEMETRY_ENV.items():
    os.environ.setdefault(_name, _value)
