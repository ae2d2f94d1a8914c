"""The engine's microphone (:mod:`app.engine`): opened at the start and kept open (so the
pre-roll runs before a press), opened again after it went away, retuned or reopened when the
audio settings change, and told to the user when the sound server keeps it waiting."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from app import engine_messages as msg
from app import events as ev
from app.errors import HoldtypeError
from app.events import EngineEvent
from app.problems import Problems

if TYPE_CHECKING:
    from app.audio.capture import Recorder
    from app.audio.spool import Spool
    from app.config import AudioSettings

log = logging.getLogger(__name__)

# After the microphone went away: the first try to open it again, and the longest wait
# between tries (doubling from the first).
REARM_FIRST_S = 1.0
REARM_MAX_S = 30.0
# How long opening the microphone may take before the user is told the sound server does not
# answer (a stalled PulseAudio holds PortAudio's calls until it answers).
ARM_SLOW_S = 5.0


class Microphone:
    """The recorder and the spool its recordings are written to, kept armed.

    Its methods run on the engine thread (``send`` puts a command on its queue), except
    :meth:`on_native_runaway`, which a C library's stderr reader calls.
    """

    def __init__(
        self,
        settings: Callable[[], AudioSettings],
        spool_dir: Path,
        publish: Callable[[EngineEvent], None],
        send: Callable[[object], None],
        problems: Problems,
        stopped: threading.Event,
    ) -> None:
        """Nothing is opened until :meth:`arm`; ``settings`` gives the audio settings in force."""
        self._settings = settings
        self._spool_dir = spool_dir
        self._publish = publish
        self._send = send
        self._problems = problems
        self._stopped = stopped
        self.recorder: Recorder | None = None
        self.spool: Spool | None = None
        # The settings the microphone was last set up with: a change made while a recording
        # is under way waits for it to end (see :meth:`refresh`).
        self._armed_settings: AudioSettings | None = None
        #: PortAudio's thread loops for good (see :meth:`on_native_runaway`): the stream must
        #: not be closed (that waits on the thread), and the process must leave without
        #: PortAudio's exit handler (it closes the stream too).
        self.stuck = False

    @property
    def armed(self) -> bool:
        """Whether the microphone is open."""
        return self.recorder is not None and self.recorder.armed

    @property
    def level(self) -> float:
        """The microphone's current RMS level (0 when not armed)."""
        return self.recorder.level if self.recorder is not None else 0.0

    @property
    def device_name(self) -> str:
        """The name of the input in use ("" when none is known)."""
        return (self.recorder.device_name or "") if self.recorder is not None else ""

    def arm(self, slow: bool = False) -> None:
        """Open the microphone of the audio settings (``slow``: the user was already told the
        sound server keeps it waiting, so they are told when it is ready)."""
        from app.audio.capture import Recorder
        from app.audio.spool import Spool

        if self.spool is None:
            self.spool = Spool(self._spool_dir)
        if self.recorder is None:
            self._armed_settings = self._settings()
            self.recorder = Recorder(
                self._armed_settings,
                on_level=lambda rms, peak: self._publish(ev.LevelChanged(rms, peak)),
                on_error=lambda message: self._send(msg.AudioFailed(message)),
            )
        try:
            self._open(self.recorder, slow)
            if not self.recorder.wait_running(3.0):
                log.warning("the microphone opened but delivers no audio yet")
        except HoldtypeError as exc:
            self._publish(ev.ErrorRaised(str(exc), "audio"))
            self._problems.fail("audio", str(exc))
        else:
            self._problems.clear("audio")

    def schedule_rearm(self, attempt: int) -> None:
        """Try to open the microphone again after a wait (see :meth:`rearm`)."""
        delay = min(REARM_MAX_S, REARM_FIRST_S * 2 ** (attempt - 1))
        timer = threading.Timer(delay, lambda: self._send(msg.Rearm(attempt)))
        timer.daemon = True
        timer.start()

    def rearm(self, attempt: int, recording: bool) -> None:
        """Open the microphone that went away (a sound server restarting, a headset plugged
        back in) or was not there at the start, so that the pre-roll runs before the next
        press: opened only by that press, it lost the first two seconds said. Tried again,
        less and less often, until it opens. Not while ``recording``."""
        recorder = self.recorder
        if self._stopped.is_set() or recorder is None or recorder.armed or recording:
            return  # stopped, armed meanwhile (a press, new settings), or busy recording
        try:
            slow = self._open(recorder)
        except HoldtypeError as exc:
            log.debug("the microphone is still unavailable (try %d): %s", attempt, exc)
            self.schedule_rearm(attempt + 1)
            return
        self._problems.clear("audio")
        if not slow:  # (a slow one has said so already)
            self._say_ready(recorder)

    def refresh(self) -> None:
        """Set the microphone up again if the audio settings changed (no recording is under
        way: an open recording keeps the microphone it started with)."""
        audio = self._settings()
        if self._armed_settings is None or audio == self._armed_settings:
            return
        recorder = self.recorder
        # The same device keeps its stream (one that is not open is opened again: that may
        # mend it); a stuck one cannot be closed: the settings wait for a restart.
        if recorder is not None and recorder.armed and recorder.retune(audio):
            self._armed_settings = audio
        elif not self.stuck:
            slow = False
            if recorder is not None:
                # closing the old stream blocks as opening does while the server is stalled
                with self._saying_when_slow("the new audio settings are not applied yet") as said:
                    recorder.disarm()
                slow = said.is_set()
                self.recorder = None
            self.arm(slow)

    def close(self) -> None:
        """Close the microphone (at shutdown), unless its audio thread is stuck."""
        if self.recorder is not None and not self.stuck:  # (closing it would wait for good)
            with contextlib.suppress(Exception):
                self.recorder.disarm()

    def on_native_runaway(self, line: str) -> None:
        """A C library prints one line in a loop (:mod:`app.native_stderr`): PortAudio 19.6's
        ALSA thread does so for good once the sound server went away under an open stream.
        The stream never reports its end and cannot be closed (closing waits on that thread),
        so the microphone cannot be opened again in this process: say so, and what to do."""
        if "pa_linux_alsa" not in line:
            return
        self.stuck = True
        message = (
            "the microphone's audio thread is stuck since the sound server went away (a bug of "
            "PortAudio 19.6, the audio library): quit Holdtype and start it again to record"
        )
        self._problems.keep("audio", message)  # said again at each ready, until Holdtype restarts
        self._publish(ev.ErrorRaised(message, "audio"))

    def _open(self, recorder: Recorder, told: bool = False) -> bool:
        """Open the microphone (``recorder.arm()``), saying so when the sound server keeps it
        waiting: PortAudio's calls then block, and so does the thread that made them (with a
        stalled PulseAudio, until it answers), so that without a word a press did nothing.

        Returns whether it was slow; a slow one that opened (or one the user was ``told``
        about already) says the microphone is ready.
        """
        with self._saying_when_slow("the microphone is not open yet") as said:
            recorder.arm()
        if said.is_set() or told:
            self._say_ready(recorder)
        return said.is_set()

    @contextlib.contextmanager
    def _saying_when_slow(self, waiting: str) -> Iterator[threading.Event]:
        """Publish an audio error when the block's PortAudio call has not returned after
        :data:`ARM_SLOW_S` (``waiting`` says what waits); the event tells whether it was said."""
        said = threading.Event()

        def slow() -> None:
            said.set()
            check = "check it with `pactl info`" if sys.platform.startswith("linux") else "check it"
            message = (
                f"the sound server has not answered for {ARM_SLOW_S:g} s: {waiting} ({check}); "
                "Holdtype goes on once the server answers"
            )
            self._publish(ev.ErrorRaised(message, "audio"))

        timer = threading.Timer(ARM_SLOW_S, slow)
        timer.daemon = True
        timer.start()
        try:
            yield said
        finally:
            timer.cancel()
            timer.join()

    def _say_ready(self, recorder: Recorder) -> None:
        """Tell the user the microphone opened (after it was lost, or kept them waiting)."""
        self._publish(
            ev.Notice(f"The microphone is ready: {recorder.device_name or 'default input'}", "audio")
        )
