"""The dictation engine: one owner of the state, three workers, no Qt.

::

    key down ─► Recorder (pre-roll) ─► StreamingTranscriber (decodes while the key is held)
    key up   ─► finish tail ─► vocabulary + rules ─► mode (LLM, cached) ─► insert ─► history

Threads:

* the **engine thread** consumes a queue of commands (begin, end, cancel, settings...) and is
  the only one that changes :attr:`Engine.state`; pynput and audio callbacks only put commands
  on that queue;
* the **transcription worker** streams decodes while the key is held, finishes each utterance
  on release, loads the model, and, when no dictation wants it, transcribes history entries
  again and recovers recordings left by a crash (:mod:`app.transcribe_queue`);
* the **output worker** runs text rules, the LLM mode, insertion and history, in order, so a
  slow LLM never delays the next recording.

Each utterance carries a generation number. Cancel marks its generation; a cancelled result is
stored in history but never inserted. A key press while the previous utterance is still being
processed starts a new recording at once; the results are inserted in order, never while a
hotkey is held down (see ``_wait_for_keys_up``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from app import events as ev
from app import native_stderr
from app.config import AudioSettings, HotkeySettings, Settings
from app.errors import HoldtypeError
from app.events import EngineEvent, Outcome, State
from app.paths import get_paths
from app.transcribe.audiofile import SAMPLE_RATE
from app.transcribe.streaming import Partial, StreamingTranscriber, stream_while_recording
from app.transcribe.whisper import DecodeCancelled, DecodeOptions, Transcriber, WhisperTranscriber
from app.transcribe_queue import TranscribeQueue

if TYPE_CHECKING:
    from app.audio.capture import Recorder
    from app.audio.spool import Spool, SpoolWriter
    from app.history.store import HistoryEntry, HistoryStore
    from app.hotkey.listener import HotkeyAction, HotkeyListener
    from app.insert.base import Inserter, InsertResult
    from app.insert.focus import FocusedWindow
    from app.text.pipeline import TextPipeline

log = logging.getLogger(__name__)

Subscriber = Callable[[EngineEvent], None]
_POLL_S = 0.1  # how often the streaming loop looks at new audio
# After the microphone went away: the first try to open it again, and the longest wait
# between tries (doubling from the first).
REARM_FIRST_S = 1.0
REARM_MAX_S = 30.0
# How long opening the microphone may take before the user is told the sound server does not
# answer (a stalled PulseAudio holds PortAudio's calls until it answers).
ARM_SLOW_S = 5.0
PRUNE_EVERY_S = 3600.0  # how often a running app deletes history past its retention, idle or not
# How long a dictation's output waits to know which app it went into; the queries' own time
# limits are shorter (swaymsg and hyprctl 2 s, macOS's script 1 s).
PLACE_WAIT_S = 3.0
# A recording of at least this many seconds that came out empty keeps its audio, for `history
# retry`: a long dictation read as nothing is more likely a misreading than silence.
KEEP_EMPTY_S = 3.0


# --- commands consumed by the engine thread ------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Begin:
    mode: str | None
    at: float
    from_key: bool = False  # sent by the hotkey listener (else by the tray, CLI or a test)


@dataclass(frozen=True, slots=True)
class _End:
    at: float
    discard: bool = False
    from_key: bool = False


@dataclass(frozen=True, slots=True)
class _Cancel:
    pass


@dataclass(frozen=True, slots=True)
class _AudioFailed:
    message: str


@dataclass(frozen=True, slots=True)
class _Rearm:
    attempt: int


@dataclass(frozen=True, slots=True)
class _Stage:
    generation: int
    state: State


@dataclass(frozen=True, slots=True)
class _Apply:
    settings: Settings


@dataclass(frozen=True, slots=True)
class _Pause:
    paused: bool


@dataclass(frozen=True, slots=True)
class _Submit:
    audio: np.ndarray
    mode: str | None


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


@dataclass(frozen=True, slots=True)
class _Placed:
    """The app a recording is dictated into is known, and its mode is now the one
    ``modes.apps`` ties to that app (see ``Engine._place``)."""

    utterance: _Utterance


@dataclass(slots=True)
class _Utterance:
    """Everything known about one recording, handed from worker to worker."""

    generation: int
    mode: str
    key_down: float
    key_down_mono: float
    streaming: StreamingTranscriber | None
    spool: SpoolWriter | None
    recording: threading.Event = field(default_factory=threading.Event)
    audio: np.ndarray | None = None
    key_up: float | None = None
    key_up_mono: float | None = None
    cancelled: bool = False
    error: str | None = None
    spool_error: str | None = None  # the spool could not be made: no crash safety
    app: str = ""  # the app dictated into, as the press found it ("" when unknown)
    window_pid: int | None = None  # the process of the window dictated into (None: unknown)
    # Set once ``app`` (and the mode ``modes.apps`` ties to it) is known: the output waits
    # for it. Set from the start for audio dictated without a press.
    placed: threading.Event = field(default_factory=_set_event)


def _release_freed_memory() -> None:
    """Give the heap freed by model loading back to the OS (glibc keeps it otherwise)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl): nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Engine:
    """Runs the dictation loop; the tray and ``holdtype run --no-tray`` are faces on it."""

    def __init__(
        self,
        settings: Settings,
        *,
        enable_hotkeys: bool = True,
        enable_audio: bool = True,
        transcriber: Transcriber | None = None,
    ) -> None:
        """Build the engine; nothing starts (no model, no microphone) until :meth:`start`."""
        self._settings = settings
        self._enable_hotkeys = enable_hotkeys
        self._enable_audio = enable_audio
        self._transcriber: Transcriber = transcriber or WhisperTranscriber(settings.model)
        self._paths = get_paths()
        self._state = State.IDLE
        self._subscribers: list[Subscriber] = []
        self._sub_lock = threading.Lock()
        self._commands: queue.Queue[object] = queue.Queue()
        self._transcribe_jobs = TranscribeQueue(lambda: self._current is not None)
        self._output_jobs: queue.Queue[Callable[[], object] | None] = queue.Queue()
        self._generation = 0
        self._current: _Utterance | None = None  # being recorded
        self._busy: dict[int, State] = {}  # generation -> stage, for utterances in flight
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopped = threading.Event()
        self._stopping = threading.Event()  # shutdown() began: a load ending now is not "ready"
        self._ready = threading.Event()
        self._recorder: Recorder | None = None
        self._spool: Spool | None = None
        self._listener: HotkeyListener | None = None
        # The settings the microphone and the hotkey listener were last set up with: a change
        # made while a recording is under way waits for it to end (see _refresh_parts).
        self._armed_audio: AudioSettings | None = None
        self._listening_hotkey: HotkeySettings | None = None
        self._history: HistoryStore | None = None
        self._pipeline: TextPipeline | None = None
        self._inserter: Inserter | None = None
        self._mode_runner: Any = None
        self._stale_modes: set[str] = set()  # modes.apps' modes already said to be unusable
        self._runner_lock = threading.Lock()
        self._placing: tuple[threading.Thread | None, float] = (None, 0.0)  # last focus query, since
        self._problems: dict[str, str] = {}  # part ("audio", "hotkey") -> why it is not working
        #: PortAudio's thread loops for good (see :meth:`_on_native_runaway`): the microphone's
        #: stream must not be closed (that waits on the thread), and the process must leave
        #: without PortAudio's exit handler (it closes the stream too).
        self.audio_stuck = False
        self._failed_now: list[str] = []  # the problems of the last settings change
        self._cancelled: set[int] = set()  # generations cancelled while in flight
        self._pruned_at = -PRUNE_EVERY_S  # when history was last pruned (monotonic seconds)
        self._prune_queued = threading.Event()  # a pruning waits on the output worker

    # --- public API ------------------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The current state (recording wins over the stage of an utterance still in flight)."""
        return self._state

    @property
    def recording(self) -> int | None:
        """The number of the utterance being recorded (as in its events), None when none is."""
        current = self._current
        return None if current is None else current.generation

    @property
    def recording_mode(self) -> str | None:
        """The mode of the recording in progress (a mode key's, the focused app's or the
        active one), None when none is being recorded."""
        current = self._current
        return None if current is None else current.mode

    @property
    def settings(self) -> Settings:
        """The settings in force."""
        return self._settings

    @property
    def history(self) -> HistoryStore:
        """The history store (opened on first use)."""
        if self._history is None:
            from app.history.store import HistoryStore

            self._history = HistoryStore(self._paths.history_db)
            if self._history.problem:
                self._publish(ev.ErrorRaised(self._history.problem, "history"))
        return self._history

    @property
    def ready(self) -> bool:
        """True once the model is loaded."""
        return self._ready.is_set()

    @property
    def problems(self) -> tuple[str, ...]:
        """What does not work now (no microphone, no hotkey), each in a sentence."""
        return tuple(self._problems.values())

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model is loaded (or ``timeout``); return whether it is."""
        return self._ready.wait(timeout)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every event (on engine threads); return an unsubscribe."""
        with self._sub_lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._sub_lock, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def start(self) -> None:
        """Start the workers, load the model, arm the microphone and hotkeys, recover crashes."""
        if self._started:
            return
        self._started = True
        for name, target in (
            ("holdtype-engine", self._engine_loop),
            ("holdtype-transcribe", lambda: self._worker_loop(self._transcribe_jobs.jobs)),
            ("holdtype-output", lambda: self._worker_loop(self._output_jobs)),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._rebuild_text_parts()
        _ = self.history
        self._output_jobs.put(lambda: self._apply_retention(force=True))
        if self._enable_audio:
            native_stderr.add_runaway_listener(self._on_native_runaway)
            self._arm_audio()
            if self._recorder is not None and not self._recorder.armed:  # no microphone yet:
                self._schedule_rearm(1)  # one plugged in later is opened without a press
        if self._enable_hotkeys:
            self._start_hotkeys()
        self._transcribe_jobs.put(self._load_and_recover)

    def shutdown(self, timeout: float = 15.0) -> None:
        """Finish what is in flight (a recording in progress is transcribed and kept), then stop."""
        if not self._started or self._stopped.is_set():
            return
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.stop()
        if self._current is not None:
            self.end()
        self._commands.put(_Stop())
        deadline = time.monotonic() + timeout
        self._threads[0].join(max(0.0, deadline - time.monotonic()))
        self._transcribe_jobs.put(None)
        self._threads[1].join(max(0.0, deadline - time.monotonic()))
        self._output_jobs.put(None)
        self._threads[2].join(max(0.0, deadline - time.monotonic()))
        native_stderr.remove_runaway_listener(self._on_native_runaway)
        if self._recorder is not None and not self.audio_stuck:  # (closing it would wait for good)
            with contextlib.suppress(Exception):
                self._recorder.disarm()
        if self._history is not None:
            self._history.close()
        self._stopped.set()

    def begin(self, mode: str | None = None) -> None:
        """Start recording (for the mode ``mode``, else the focused app's in ``modes.apps``,
        else the active one)."""
        self._commands.put(_Begin(mode, time.time()))

    def end(self) -> None:
        """Stop recording; the utterance is transcribed and inserted."""
        self._commands.put(_End(time.time()))

    def toggle(self, mode: str | None = None) -> None:
        """Start recording when idle, else stop the recording in progress."""
        if self._current is None:
            self.begin(mode)
        else:
            self.end()

    def dictate_audio(self, audio: np.ndarray, mode: str | None = None) -> None:
        """Run recorded ``audio`` (16 kHz mono float32) through the same path as a dictation."""
        self._commands.put(_Submit(np.asarray(audio, dtype=np.float32), mode))

    def cancel(self) -> None:
        """Cancel the recording (or the utterance in flight): nothing is inserted."""
        self._commands.put(_Cancel())

    def set_paused(self, paused: bool) -> None:
        """Ignore (or listen to again) the hotkey. Made on the engine thread, on the settings
        in force then: built here, it undid settings applied a moment before and still queued."""
        self._commands.put(_Pause(paused))

    def apply_settings(self, settings: Settings) -> None:
        """Apply new settings live: model, hotkeys, microphone, text rules, paste, modes."""
        self._commands.put(_Apply(settings))

    def repaste(self, history_id: int) -> None:
        """Insert the text of a history entry again."""
        entry = self.history.get(history_id)
        if entry is None:
            self._publish(ev.ErrorRaised(f"no history entry {history_id}", "history"))
            return
        self._output_jobs.put(lambda: self._insert_only(entry.text))

    def transcribe_again(self, history_id: int) -> None:
        """Transcribe the kept recording of history entry ``history_id`` again, with the model,
        vocabulary and rules in use now and the entry's mode, and keep the new words: in that
        entry, or in a new one when its text went into a window (:mod:`app.history.again`).
        Published as a ``Notice`` and an :class:`~app.events.UtteranceResult` of generation 0,
        as a recovered recording is; a problem as an ``ErrorRaised``."""
        self._transcribe_jobs.background(lambda cancel: self._read_again(history_id, cancel))

    def _read_again(self, history_id: int, cancel: Callable[[], bool]) -> None:
        """Decode a kept recording again (transcription worker, a background job: gives way to
        a dictation when ``cancel`` says so); the output worker finishes."""
        from app.history.again import kept_recording
        from app.transcribe.audiofile import load_audio

        try:
            entry = self.history.get(history_id)
            if entry is None:
                raise HoldtypeError(f"no history entry {history_id}")
            audio = load_audio(kept_recording(entry))
            problem = None if self._ready.is_set() else self._load_model()
            if problem is not None:
                raise HoldtypeError(f"the model is not loaded ({problem})")
            text, raw = self._transcribe_batch(audio, cancel)
        except DecodeCancelled:
            raise  # it starts over after the dictation
        except Exception as exc:  # a decode that broke too: said, and the entry stays as it is
            if not isinstance(exc, HoldtypeError):
                log.exception("transcribing entry %s again failed", history_id)
            self._publish(ev.ErrorRaised(f"could not transcribe entry {history_id} again: {exc}", "history"))
            return
        self._output_jobs.put(lambda: self._keep_reading(entry, raw, text, len(audio) / SAMPLE_RATE))

    def _keep_reading(self, entry: HistoryEntry, raw: str, text: str, seconds: float) -> None:
        """Run the entry's mode on its new reading and keep it (output worker): in the entry,
        or in a new one when the entry's text went into a window (:func:`keep_reading`)."""
        from app.history.again import keep_reading, said_again

        assert entry.id is not None
        mode = entry.mode or "raw"
        reply_key = None
        try:
            if text and mode != "raw":
                text, reply_key = self._run_mode(mode, text)  # its failure: the reading, with a notice
            kept = keep_reading(self.history, entry, raw, text, self._transcriber_name(), mode)
        except HoldtypeError as exc:
            self._publish(ev.ErrorRaised(f"could not transcribe entry {entry.id} again: {exc}", "history"))
            return
        self._link_reply(kept, reply_key)
        self._publish(ev.Notice(said_again(entry.id, kept), "history"))
        self._publish(ev.UtteranceResult(0, kept, raw, text, Outcome.RECOVERED, mode, seconds, None))

    def copy_to_clipboard(self, text: str) -> None:
        """Put ``text`` on the clipboard."""
        from app.insert.base import detect_backend
        from app.insert.clipboard import get_clipboard

        try:
            get_clipboard(detect_backend()).set(text)
        except HoldtypeError as exc:
            self._publish(ev.ErrorRaised(str(exc), "clipboard"))

    def recorder_level(self) -> float:
        """The microphone's current RMS level (0 when not armed)."""
        return self._recorder.level if self._recorder is not None else 0.0

    # --- events ----------------------------------------------------------------------------------
    def _publish(self, event: EngineEvent) -> None:
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:  # a broken subscriber must not stop dictation
                log.exception("event subscriber failed on %s", type(event).__name__)

    def _set_state(self, generation: int) -> None:
        """Recompute the public state and publish it when it changed (engine thread only).

        The event names the utterance whose stage it is (``generation``, the one that caused the
        change, only for idle): with one recording and another still in flight, "inserting"
        was published under the number of the one being recorded.
        """
        if self._current is not None:
            new, generation = State.RECORDING, self._current.generation
        elif self._busy:
            generation = min(self._busy)
            new = self._busy[generation]
        else:
            new = State.IDLE
        if new != self._state:
            self._state = new
            mode = self._current.mode if self._current is not None else ""
            self._publish(ev.StateChanged(new, generation, mode))

    # --- engine thread ---------------------------------------------------------------------------
    def _engine_loop(self) -> None:
        while True:
            # History past its retention goes on the hour, idle or not (a missing microphone's
            # re-arm every 30 s kept the queue from ever falling idle).
            if (
                self._settings.history.retention_days is not None
                and time.monotonic() - self._pruned_at >= PRUNE_EVERY_S
                and not self._prune_queued.is_set()
            ):
                self._prune_queued.set()
                self._output_jobs.put(self._apply_retention)
            try:
                command = self._commands.get(timeout=PRUNE_EVERY_S / 4)
            except queue.Empty:
                continue
            try:
                if isinstance(command, _Stop):
                    return
                self._handle(command)
            except HoldtypeError as exc:
                self._publish(ev.ErrorRaised(str(exc), "engine"))
            except Exception as exc:  # keep the loop alive; report the bug
                log.exception("engine command %r failed", command)
                self._publish(ev.ErrorRaised(f"internal error: {exc}", "engine"))

    def _handle(self, command: object) -> None:
        if isinstance(command, _Begin):
            self._on_begin(command)
        elif isinstance(command, _End):
            self._on_end(command)
        elif isinstance(command, _Cancel):
            self._on_cancel()
        elif isinstance(command, _AudioFailed):
            # A lost device or the length limit: keep and transcribe what was captured.
            self._publish(ev.ErrorRaised(command.message, "audio"))
            if self._current is not None:
                if self._listener is not None:
                    self._listener.reset()
                self._on_end(_End(time.time()))
            if self._recorder is not None and not self._recorder.armed:
                self._schedule_rearm(1)
        elif isinstance(command, _Rearm):
            self._on_rearm(command.attempt)
        elif isinstance(command, _Placed):
            self._on_placed(command)
        elif isinstance(command, _Stage):
            if command.state == State.IDLE:
                self._busy.pop(command.generation, None)
            else:
                self._busy[command.generation] = command.state
            self._set_state(command.generation)
        elif isinstance(command, _Apply):
            self._on_apply(command.settings)
        elif isinstance(command, _Pause):
            hotkey = self._settings.hotkey.model_copy(update={"paused": command.paused})
            self._on_apply(self._settings.model_copy(update={"hotkey": hotkey}))
        elif isinstance(command, _Submit):
            self._generation += 1
            now = time.time()
            utt = _Utterance(
                self._generation,
                command.mode or self._settings.modes.active,
                now,
                time.monotonic(),
                None,
                None,
                audio=command.audio,
                key_up=now,
                key_up_mono=time.monotonic(),
            )
            self._busy[utt.generation] = State.TRANSCRIBING
            self._set_state(utt.generation)
            self._transcribe_jobs.dictation(lambda: self._finish(utt))

    def _on_begin(self, command: _Begin) -> None:
        if self._current is not None:
            return  # already recording (auto-repeat, or a second source)
        if self._recorder is None or not self._recorder.armed:
            self._arm_audio()
            if self._recorder is None or not self._recorder.armed:
                if command.from_key:
                    self._forget_key_recording()  # its next press must start one, not stop none
                return  # the error was published by _arm_audio
        self._generation += 1
        gen = self._generation
        spool: SpoolWriter | None = None
        spool_error = None
        if self._spool is not None:
            try:
                spool = self._spool.open(gen)
            except HoldtypeError as exc:  # record anyway; only crash safety is lost
                spool_error = str(exc)
                self._publish(ev.ErrorRaised(f"{exc}; recording without crash safety", "spool"))
        try:
            self._recorder.start(spool)
        except BaseException:  # (the device went away since it was found armed)
            if spool is not None:
                spool.close(keep=False)
            raise
        streaming = None
        if self._settings.model.streaming and self._pipeline is not None:
            base = DecodeOptions.from_settings(self._settings.model)
            streaming = self._pipeline.streaming(self._transcriber, base)
        mode = command.mode or self._settings.modes.active
        if spool is not None:  # for a recovery after a crash: where and when this was said
            spool.note(key_down=command.at, device=self._recorder.device_name or "")
        utt = _Utterance(gen, mode, command.at, time.monotonic(), streaming, spool, spool_error=spool_error)
        utt.recording.set()
        self._current = utt
        self._set_state(gen)  # the start cue, the overlay, `dictate start`: told at once
        self._transcribe_jobs.dictation(lambda: self._stream(utt))
        utt.placed.clear()
        placing, since = self._placing
        if placing is not None and placing.is_alive() and time.monotonic() - since > PLACE_WAIT_S:
            # An earlier query never came back (an X server or compositor that does not
            # answer): asking again would leave one more thread waiting at every press. (One
            # merely slow, within its time limit, is not in the way of the next press's.)
            log.warning("the focus query of an earlier press has not returned; the app is not asked")
            utt.placed.set()
            return
        placing = threading.Thread(
            target=self._place, args=(utt, command.mode is None), name="holdtype-focus", daemon=True
        )
        self._placing = (placing, time.monotonic())
        placing.start()

    def _place(self, utt: _Utterance, pick_mode: bool) -> None:
        """Ask which app the recording is dictated into, once its start is shown (a few ms; on
        macOS a script, on sway a swaymsg): keep the app's name, and unless a mode was asked
        for (``pick_mode`` False), take the mode ``modes.apps`` ties to it. On a thread of its
        own: on the command thread, a query that stalled (up to its 2 s time limit) held up
        the release and the cancel key. The output waits for ``utt.placed``; the command
        thread tells the overlay of the new mode (:class:`_Placed`)."""
        from app.llm.modes import modes_for_app

        moved = False
        try:
            window = self._focused_window()
            app = window.names
            utt.app = app[0] if app else ""
            utt.window_pid = window.pid
            if utt.app and utt.spool is not None:
                utt.spool.note(app=utt.app)
            for tied in modes_for_app(app, self._settings.modes.apps) if pick_mode else ():
                if tied == utt.mode:
                    break
                if self._mode_usable(tied, utt.app):  # (else the next name's tie, if any)
                    utt.mode, moved = tied, True
                    break
        except Exception:  # never let the query stop dictation
            log.exception("could not tell which app is dictated into")
        finally:
            utt.placed.set()
        if moved:
            self._commands.put(_Placed(utt))

    def _on_placed(self, command: _Placed) -> None:
        """Show the mode ``modes.apps`` chose, if its recording is still under way."""
        utt = command.utterance
        if utt is self._current:
            self._publish(ev.StateChanged(State.RECORDING, utt.generation, utt.mode))

    def _mode_usable(self, mode: str, app: str) -> bool:
        """Whether ``mode``, which ``modes.apps`` ties to ``app``, can be run; one that was
        deleted (or whose file is broken) since it was tied is said once, and the mode in use
        applies instead (its dictation used to get the plain transcript, with a notice each
        time)."""
        from app.llm.modes import ModeError

        try:
            self._runner().mode(mode)
        except ModeError as exc:
            if mode not in self._stale_modes:
                self._stale_modes.add(mode)
                self._publish(
                    ev.Notice(
                        f"{exc}; modes.apps ties {app or 'an app'} to it, so the mode in use applies there",
                        "llm",
                    )
                )
            return False
        self._stale_modes.discard(mode)
        return True

    def _runner(self) -> Any:
        """The LLM mode runner for the settings in force, made on first use (``ModeRunner``);
        called from the focus thread and the output worker while settings may be applied."""
        from app.llm.runner import ModeRunner

        with self._runner_lock:
            runner = self._mode_runner
            settings = self._settings
            if runner is None or runner.settings is not settings:
                runner = self._mode_runner = ModeRunner(settings)
            return runner

    def _focused_window(self) -> FocusedWindow:
        """The window being dictated into (:func:`app.insert.focus.focused_window`): its app's
        names for the history and for ``modes.apps``, its process for the staged diff. On
        macOS the query is a System Events script (0.1 s or more); it used to be skipped unless
        ``modes.apps`` needed it, which left the history's App column empty there, when it ran
        on the command thread."""
        from app.insert.base import detect_backend
        from app.insert.focus import focused_window

        backend = self._settings.paste.backend
        backend = detect_backend() if backend == "auto" else backend
        window = focused_window(backend)
        log.debug("dictating into %s", window)
        return window

    def _on_end(self, command: _End) -> None:
        try:
            # From before the recording is no longer under way until its job is queued: no
            # background decode starts in between; those held back go behind it.
            with self._transcribe_jobs.recording_ending():
                self._end_recording(command)
        finally:
            self._refresh_parts()  # settings changed while the key was held, now in force

    def _end_recording(self, command: _End) -> None:
        utt = self._current
        if utt is None or self._recorder is None:
            return
        utt.audio = self._recorder.stop()
        # Release to text counts from the release itself (the key event, or the request), not
        # from here: the queue and stopping the microphone took 40 – 50 ms of it unseen.
        utt.key_up, utt.key_up_mono = command.at, time.monotonic() - max(0.0, time.time() - command.at)
        utt.recording.clear()
        self._current = None
        if self._recorder.lost_error:
            utt.error = self._recorder.lost_error
        elif self._recorder.starved:
            utt.error = self._recorder.starved
        if not command.from_key:
            self._forget_key_recording()  # ended from the tray: the key's next press starts one
        # A key tap under min_hold_s is no dictation; but one that ends a longer recording
        # started elsewhere (the tray) stops it as any end does: that audio is kept.
        if command.discard and command.at - utt.key_down < self._settings.hotkey.min_hold_s:
            if utt.spool is not None:
                utt.spool.close(keep=False)
            self._set_state(utt.generation)
            self._publish(
                ev.Notice(f"Key tap shorter than {self._settings.hotkey.min_hold_s:g} s ignored.", "hotkey")
            )
            return
        self._busy[utt.generation] = State.TRANSCRIBING
        self._set_state(utt.generation)
        self._transcribe_jobs.dictation(lambda: self._finish(utt))

    def _forget_key_recording(self) -> None:
        """Tell the hotkey listener no recording of its own is under way (a toggle's next
        press then starts one rather than stopping one that is not there)."""
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.reset()

    def _on_cancel(self) -> None:
        if self._current is not None:
            utt = self._current
            utt.cancelled = True
            self._on_end(_End(time.time()))
            self._publish(ev.Notice("Dictation cancelled; the recording is kept in history.", "engine"))
            return
        if self._busy:
            gen = max(self._busy)
            self._cancelled.add(gen)
            self._publish(ev.Notice("Dictation cancelled; nothing will be inserted.", "engine"))

    def _on_apply(self, settings: Settings) -> None:
        old, self._settings = self._settings, settings
        if settings.history.retention_days != old.history.retention_days:
            self._output_jobs.put(lambda: self._apply_retention(force=True))
        if settings.model != old.model and isinstance(self._transcriber, WhisperTranscriber):
            if settings.model.model_dump(exclude={"streaming"}) != old.model.model_dump(
                exclude={"streaming"}
            ):
                new = WhisperTranscriber(settings.model)
                self._transcriber = new
                self._ready.clear()
                self._transcribe_jobs.put(self._load_model)
            else:
                self._transcriber.settings = settings.model  # type: ignore[attr-defined]
        self._rebuild_text_parts()
        if self._current is not None and (settings.audio != old.audio or settings.hotkey != old.hotkey):
            self._publish(
                ev.Notice(
                    "Settings applied; the hotkey and microphone ones when this recording ends.", "settings"
                )
            )
            return  # _on_end calls _refresh_parts
        self._failed_now = []
        self._refresh_parts()
        failed = self._failed_now  # each also published as an error
        applied = f"Settings applied, except: {'; '.join(failed)}" if failed else "Settings applied."
        self._publish(ev.Notice(applied, "settings"))

    def _refresh_parts(self) -> None:
        """Set up the microphone and the hotkey listener again if their settings changed, once
        no recording is under way. Replaced while its key is held, a listener never hears the
        release (the recording went on until the next press, and Caps Lock stayed on); an
        open recording keeps the microphone it started with."""
        if self._current is not None:
            return
        # The hotkeys first: a press made while the microphone reopens (up to seconds) waits
        # for it on the command queue, where a listener not yet started would not hear it.
        if self._enable_hotkeys and self._settings.hotkey != self._listening_hotkey:
            if self._listener is not None:
                self._listener.stop()
                self._listener = None
            self._start_hotkeys()
        audio = self._settings.audio
        if not self._enable_audio or self._armed_audio is None or audio == self._armed_audio:
            return
        recorder = self._recorder
        # The same device keeps its stream (one that is not open is opened again: that may
        # mend it); a stuck one cannot be closed: the settings wait for a restart.
        if recorder is not None and recorder.armed and recorder.retune(audio):
            self._armed_audio = audio
        elif not self.audio_stuck:
            slow = False
            if self._recorder is not None:
                # closing the old stream blocks as opening does while the server is stalled
                with self._saying_when_slow("the new audio settings are not applied yet") as said:
                    self._recorder.disarm()
                slow = said.is_set()
                self._recorder = None
            self._arm_audio(slow)

    # --- parts -----------------------------------------------------------------------------------
    def _rebuild_text_parts(self) -> None:
        from app.text.pipeline import TextPipeline

        self._pipeline = TextPipeline.from_settings(self._settings)
        self._inserter = None  # chosen again on next insert, from the new paste settings
        self._mode_runner = None

    def _arm_audio(self, slow: bool = False) -> None:
        """Open the microphone of the audio settings (``slow``: the user was already told the
        sound server keeps it waiting, so they are told when it is ready)."""
        from app.audio.capture import Recorder
        from app.audio.spool import Spool

        if self._spool is None:
            self._spool = Spool(self._paths.spool_dir)
        if self._recorder is None:
            self._armed_audio = self._settings.audio
            self._recorder = Recorder(
                self._settings.audio,
                on_level=lambda rms, peak: self._publish(ev.LevelChanged(rms, peak)),
                on_error=lambda message: self._commands.put(_AudioFailed(message)),
            )
        try:
            self._arm(self._recorder, slow)
            if not self._recorder.wait_running(3.0):
                log.warning("the microphone opened but delivers no audio yet")
        except HoldtypeError as exc:
            self._publish(ev.ErrorRaised(str(exc), "audio"))
            self._problem("audio", str(exc))
        else:
            self._problems.pop("audio", None)

    def _schedule_rearm(self, attempt: int) -> None:
        """Try to open the microphone again after a wait (see :meth:`_on_rearm`)."""
        delay = min(REARM_MAX_S, REARM_FIRST_S * 2 ** (attempt - 1))
        timer = threading.Timer(delay, lambda: self._commands.put(_Rearm(attempt)))
        timer.daemon = True
        timer.start()

    def _on_rearm(self, attempt: int) -> None:
        """Open the microphone that went away (a sound server restarting, a headset plugged
        back in) or was not there at the start, so that the pre-roll runs before the next
        press: opened only by that press, it lost the first two seconds said. Tried again,
        less and less often, until it opens."""
        recorder = self._recorder
        if self._stopped.is_set() or recorder is None or recorder.armed or self._current is not None:
            return  # stopped, armed meanwhile (a press, new settings), or busy recording
        try:
            slow = self._arm(recorder)
        except HoldtypeError as exc:
            log.debug("the microphone is still unavailable (try %d): %s", attempt, exc)
            self._schedule_rearm(attempt + 1)
            return
        self._problems.pop("audio", None)
        if not slow:  # (a slow one has said so already)
            self._say_microphone_ready(recorder)

    def _arm(self, recorder: Recorder, told: bool = False) -> bool:
        """Open the microphone (``recorder.arm()``), saying so when the sound server keeps it
        waiting: PortAudio's calls then block, and so does the thread that made them (with a
        stalled PulseAudio, until it answers), so that without a word a press did nothing.

        Returns whether it was slow; a slow one that opened (or one the user was ``told``
        about already) says the microphone is ready.
        """
        with self._saying_when_slow("the microphone is not open yet") as said:
            recorder.arm()
        if said.is_set() or told:
            self._say_microphone_ready(recorder)
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

    def _on_native_runaway(self, line: str) -> None:
        """A C library prints one line in a loop (:mod:`app.native_stderr`): PortAudio 19.6's
        ALSA thread does so for good once the sound server went away under an open stream.
        The stream never reports its end and cannot be closed (closing waits on that thread),
        so the microphone cannot be opened again in this process: say so, and what to do."""
        if "pa_linux_alsa" not in line:
            return
        self.audio_stuck = True
        message = (
            "the microphone's audio thread is stuck since the sound server went away (a bug of "
            "PortAudio 19.6, the audio library): quit Holdtype and start it again to record"
        )
        self._problems["audio"] = message  # said again at each ready, until Holdtype restarts
        self._publish(ev.ErrorRaised(message, "audio"))

    def _say_microphone_ready(self, recorder: Recorder) -> None:
        """Tell the user the microphone opened (after it was lost, or kept them waiting)."""
        self._publish(
            ev.Notice(f"The microphone is ready: {recorder.device_name or 'default input'}", "audio")
        )

    def _start_hotkeys(self) -> None:
        from app.hotkey.listener import HotkeyListener

        self._listening_hotkey = self._settings.hotkey
        try:
            listener = HotkeyListener.from_settings(self._settings.hotkey, self._on_hotkey)
            listener.start()
        except HoldtypeError as exc:
            self._publish(ev.ErrorRaised(f"hotkey unavailable: {exc}", "hotkey"))
            self._problem("hotkey", str(exc))
            return
        self._problems.pop("hotkey", None)
        self._listener = listener

    def _problem(self, part: str, message: str) -> None:
        """Remember that ``part`` does not work (said at the next ready, until it works)."""
        self._problems[part] = message
        self._failed_now.append(message)

    def _on_hotkey(self, action: HotkeyAction) -> None:
        """Called on pynput's thread: only turn the action into a command."""
        from app.hotkey.listener import ActionKind

        now = time.time() - max(0.0, time.monotonic() - action.time)  # when the key event came
        if action.kind == ActionKind.START:
            self._commands.put(_Begin(action.mode_name or None, now, from_key=True))
        elif action.kind == ActionKind.STOP:
            self._commands.put(_End(now, from_key=True))
        elif action.kind == ActionKind.DISCARD:
            self._commands.put(_End(now, discard=True, from_key=True))
        elif action.kind == ActionKind.CANCEL:
            self._commands.put(_Cancel())

    # --- workers ---------------------------------------------------------------------------------
    @staticmethod
    def _worker_loop(jobs: queue.Queue[Callable[[], object] | None]) -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("worker job failed")

    def _load_model(self) -> str | None:
        """Load the model (transcription worker); the reason when it cannot be loaded."""
        transcriber = self._transcriber
        try:
            if isinstance(transcriber, WhisperTranscriber):
                transcriber.load()
        except HoldtypeError as exc:
            self._publish(ev.ErrorRaised(str(exc), "model"))
            return str(exc)
        self._ready.set()
        _release_freed_memory()
        if isinstance(transcriber, WhisperTranscriber) and not self._stopping.is_set():
            self._publish(
                ev.EngineReady(
                    transcriber.name,
                    f"{transcriber.device}/{transcriber.compute_type}",
                    transcriber.load_ms or 0.0,
                    self._settings.hotkey.key,
                    tuple(self._problems.values()),
                )
            )
        return None

    def _load_and_recover(self) -> None:
        self._load_model()
        if self._ready.is_set() and not self._stopping.is_set():  # (else the next start does)
            self._recover()

    def _recover(self) -> None:
        """Transcribe recordings a crash left in the spool into history (:mod:`app.recovery`)."""
        from app.audio.spool import Spool
        from app.recovery import SpoolRecovery

        SpoolRecovery(
            self._spool or Spool(self._paths.spool_dir),
            self._paths.audio_dir,
            lambda: self.history,
            self._transcribe_batch,
            self._transcriber_name,
            self._publish,
            self._transcribe_jobs.background,
        ).start()

    def _transcriber_name(self) -> str:
        return getattr(self._transcriber, "name", type(self._transcriber).__name__)

    def _transcribe_batch(self, audio: np.ndarray, cancel: Callable[[], bool]) -> tuple[str, str]:
        """The final text and Whisper's words of ``audio``, read as a whole (a background
        job's decode: ``cancel`` raises DecodeCancelled when a dictation comes)."""
        assert self._pipeline is not None
        base = DecodeOptions.from_settings(self._settings.model)
        raw = self._pipeline.transcribe(self._transcriber, audio, base, cancel=cancel).text
        return self._pipeline.finish(self._transcriber, audio, raw), raw

    def _stream(self, utt: _Utterance) -> None:
        """Decode while the key is held (transcription worker)."""
        recorder, streaming = self._recorder, utt.streaming
        if recorder is None or streaming is None:
            return

        def on_partial(partial: Partial) -> None:
            self._publish(ev.PartialText(utt.generation, partial.committed, partial.tentative))

        stream_while_recording(
            streaming, recorder.audio_so_far, utt.recording, on_partial, self._ready.is_set, _POLL_S
        )

    def _finish(self, utt: _Utterance) -> None:
        """Decode what is left and hand the text to the output worker (transcription worker)."""
        audio = utt.audio if utt.audio is not None else np.zeros(0, np.float32)
        # Jobs on this worker run in turn: a model that failed to load (or a new one queued
        # behind this job) will not load while this job waits, so it tries here itself.
        problem = None if self._ready.is_set() else self._load_model()
        try:
            if problem is not None:
                raise HoldtypeError(f"the model is not loaded ({problem})")
            if utt.streaming is not None:
                transcript = utt.streaming.finish(audio)
            else:
                assert self._pipeline is not None
                base = DecodeOptions.from_settings(self._settings.model)
                transcript = self._pipeline.transcribe(self._transcriber, audio, base)
            raw = transcript.text
        except Exception as exc:  # keep the audio: it is in the spool and goes to history
            log.exception("transcription failed")
            raw = ""
            utt.error = f"transcription failed: {exc}"
        assert self._pipeline is not None
        # Near misses of the user's terms that the audio confirms (needs the model: done here).
        heard = self._pipeline.confirm(self._transcriber, audio, raw) if raw else ""
        text_ready = time.time()
        release_ms = (time.monotonic() - (utt.key_up_mono or time.monotonic())) * 1000
        self._output_jobs.put(lambda: self._output(utt, raw, heard, text_ready, release_ms))

    def _output(self, utt: _Utterance, raw: str, heard: str, text_ready: float, release_ms: float) -> None:
        """Rules, mode, insert, history (output worker). ``raw`` is Whisper's words, ``heard``
        the same with near misses the audio confirmed as terms (see ``TextPipeline.confirm``)."""
        from app.history.store import HistoryEntry

        assert self._pipeline is not None
        gen = utt.generation
        text = self._pipeline.polish(heard) if heard else ""
        if not utt.placed.wait(PLACE_WAIT_S):  # (each query has a shorter time limit of its own)
            log.warning("which app dictation #%d went into was not told in time", gen)
        mode = utt.mode
        outcome = Outcome.EMPTY
        error = utt.error
        inserted_at = None
        reply_key: str | None = None
        try:
            if text and mode != "raw" and not utt.cancelled:
                self._commands.put(_Stage(gen, State.PROCESSING))
                # Esc after the release gives up on the model at once: a hung server held
                # this worker, and every dictation after it, for llm.timeout_s.
                text, reply_key = self._run_mode(
                    mode, text, lambda: utt.cancelled or gen in self._cancelled, utt.window_pid
                )
            if text and not (utt.cancelled or gen in self._cancelled) and self._wait_for_keys_up():
                log.debug("dictation #%d waited for the hotkey to come up before it went in", gen)
            if utt.cancelled or gen in self._cancelled:
                outcome = Outcome.CANCELLED
            elif error and not text:  # nothing transcribed: the audio is kept to try again
                outcome = Outcome.FAILED
            elif text:
                self._commands.put(_Stage(gen, State.INSERTING))
                result = self._insert_between_holds(gen, text)
                inserted_at = time.time()
                if result.ok:
                    outcome = Outcome.TYPED if result.method == "type" else Outcome.PASTED
                else:
                    outcome = Outcome.FAILED
                    error = result.error or "paste failed"
                    self._publish(
                        ev.ErrorRaised(f"{error}. The text is on the clipboard and in history.", "insert")
                    )
        finally:
            audio = utt.audio if utt.audio is not None else np.zeros(0, np.float32)
            remember = self._settings.history.enabled or outcome == Outcome.FAILED
            keep = self._settings.audio.keep_audio or (
                remember  # (audio no entry names would never be deleted)
                and (
                    outcome in (Outcome.FAILED, Outcome.CANCELLED)
                    # nothing came of a long recording: kept for `history retry`
                    or (outcome == Outcome.EMPTY and len(audio) >= KEEP_EMPTY_S * SAMPLE_RATE)
                )
            )
            entry_id = None
            audio_path = None
            left = False
            spool = (
                utt.spool
                if utt.spool is not None and not utt.spool_error and utt.spool.error is None
                else None
            )
            # Where the recording will be kept (the spool file moved to the audio folder), named
            # in the entry as it is written: the entry goes in first, so that a dictation history
            # cannot take now is left for the next start with its recording.
            planned = str(self._paths.audio_dir / spool.path.name) if keep and spool is not None else None
            entry = HistoryEntry(
                outcome,
                text=text,
                raw=raw,
                created=utt.key_down,
                key_down=utt.key_down,
                key_up=utt.key_up,
                text_ready=text_ready,
                inserted=inserted_at,
                model=self._transcriber_name(),
                mode=mode,
                device=(self._recorder.device_name or "") if self._recorder else "",
                error=error,
                audio_path=planned,
                audio_seconds=len(audio) / SAMPLE_RATE,
                release_to_text_ms=release_ms,
                app=utt.app,
            )
            if remember:
                entry_id = self._remember(
                    entry, "it is added at the next start" if spool is not None else None
                )
                if entry_id is None and spool is not None:
                    left = self._leave_for_next_start(utt, entry, keep)
            if not left:
                audio_path = self._keep_audio(utt, audio, keep)
                if entry_id is not None and audio_path != planned:  # kept from memory, or not kept
                    self._set_audio_path(entry_id, audio_path)
            self._link_reply(entry_id, reply_key)
            self._publish(
                ev.UtteranceResult(
                    gen, entry_id, raw, text, outcome, mode, len(audio) / SAMPLE_RATE, release_ms, error
                )
            )
            self._commands.put(_Stage(gen, State.IDLE))
            self._apply_retention()

    def _keep_audio(self, utt: _Utterance, audio: np.ndarray, keep: bool) -> str | None:
        """Close the recording's spool file, moving it to the kept recordings when ``keep``;
        return where the kept recording is. A spool that could not be made or written (a
        full disk) holds a stub, or nothing: the recording is then written from memory,
        where it is whole."""
        from app.audio.spool import save_wav, unused_name

        spool = utt.spool
        broken = utt.spool_error or (spool.error if spool is not None else None)
        if spool is not None and broken is None:
            try:
                kept = spool.close(keep=keep, keep_dir=self._paths.audio_dir)
            except OSError as exc:  # a full disk: the file stays in the spool, for recovery
                log.warning("could not close the recording's spool file", exc_info=True)
                message = f"could not keep the recording ({exc}); it is recovered at the next start"
                self._publish(ev.ErrorRaised(message, "spool"))
                return None
            return str(kept) if kept else None
        if broken is None:  # audio handed in (dictate_audio): the caller has it
            return None
        if spool is not None:
            self._publish(ev.ErrorRaised(f"{broken}; the recording was not crash-safe", "spool"))
            with contextlib.suppress(OSError):
                spool.close(keep=False)
        if not keep or not len(audio):
            return None
        try:
            return str(save_wav(audio, unused_name(self._paths.audio_dir, utt.generation)))
        except OSError as exc:
            self._publish(ev.ErrorRaised(f"could not keep the recording: {exc}", "spool"))
            return None

    def _apply_retention(self, force: bool = False) -> None:
        """Delete history entries (and their kept audio) older than ``history.retention_days``
        (output worker): at start, when the setting changes, and every :data:`PRUNE_EVERY_S`
        (asked for by the engine loop, idle or not), so an app left running keeps to it too."""
        self._prune_queued.clear()
        days = self._settings.history.retention_days
        now = time.monotonic()
        if days is None or (not force and now - self._pruned_at < PRUNE_EVERY_S):
            return
        self._pruned_at = now
        from app.history.store import HistoryError

        try:
            removed = self.history.prune(days)
        except HistoryError as exc:
            message = f"{exc}; entries older than {days} days are deleted later"
            self._publish(ev.ErrorRaised(message, "history"))
            return
        if removed:
            log.info("deleted %d history entries older than %d days", removed, days)
        self._prune_reply_cache(days)

    def _prune_reply_cache(self, days: float) -> None:
        """Delete LLM replies older than ``days`` too: each holds a dictation (its prompt) as
        history does, and kept past the retention it outlived the entry it came from."""
        from app.llm.cache import CACHE_FAILURES, LLMCache

        if not self._paths.llm_cache_dir.is_dir():  # (also pruned with caching turned off since)
            return
        try:
            with LLMCache(self._settings.llm) as cache:
                removed = cache.clear(older_than_days=days)
        except CACHE_FAILURES as exc:  # (another program holds it: the next pruning tries again)
            log.warning("LLM replies older than %s days are deleted later: %s", days, exc)
            return
        if removed:
            log.info("deleted %d LLM replies older than %s days", removed, days)

    def _wait_for_keys_up(self) -> bool:
        """Wait while a hotkey is held down (output worker); return whether it waited.

        Until its release, a held F9 or ``ctrl+alt+space`` (also the press that stops a toggle
        recording) has the whole keyboard grabbed, so the paste shortcut reached Holdtype
        instead of the window and the text was left on the clipboard; a held Caps Lock has the
        lock on, so text typed into a terminal came out case-inverted. A dictation ready while
        the key is held for the next one goes in right after the release, before the next.
        """
        waited = False
        # Longer than any recording: a release the listener missed must not stop all output.
        longest = self._settings.audio.max_record_s + 10.0
        deadline = time.monotonic() + longest
        while (listener := self._listener) is not None and not listener.wait_keys_up(0.2):
            waited = True  # looked up again each time: a listener may be replaced meanwhile
            if time.monotonic() > deadline:
                log.warning(
                    "a hotkey seems down for over %.0f s (a missed release?); inserting anyway", longest
                )
                break
        return waited

    def _key_presses(self) -> int:
        listener = self._listener
        return listener.presses if listener is not None else 0

    def _insert_between_holds(self, generation: int, text: str) -> InsertResult:
        """Insert ``text``; again once the key is up if a hotkey went down during the paste
        and nothing was pasted (its key grab took the shortcut: see _wait_for_keys_up)."""
        presses = self._key_presses()
        result = self._insert(text)
        if not result.ok and result.unread and self._key_presses() != presses:
            log.info("dictation #%d: a hotkey press took the paste shortcut; pasting after it", generation)
            self._wait_for_keys_up()
            result = self._insert(text)
        return result

    def _remember(self, entry: HistoryEntry, later: str | None = None) -> int | None:
        """Add ``entry`` to history; None when the database cannot take it now (another
        program holds it, a full disk), which is said, with the text, rather than ending the
        dictation; ``later`` says what becomes of it then."""
        from app.history.store import HistoryError

        try:
            return self.history.add(entry)
        except HistoryError as exc:
            then = later or "this dictation is not in history"
            self._publish(ev.ErrorRaised(f"{exc}; {then}: {entry.text!r}", "history"))
            return None

    def _set_audio_path(self, entry_id: int, audio_path: str | None) -> None:
        """Name the kept recording of entry ``entry_id`` (None: there is none), where it is not
        where the entry was told it would be."""
        from app.history.store import HistoryError

        try:
            self.history.update(entry_id, audio_path=audio_path)
        except HistoryError as exc:
            log.warning("history entry #%d does not name its recording %s: %s", entry_id, audio_path, exc)

    def _leave_for_next_start(self, utt: _Utterance, entry: HistoryEntry, keep_audio: bool) -> bool:
        """Leave the recording's spool file, and a note of what became of it (``entry``), for
        the next start's recovery, which adds the entry then: history could not take it now,
        and deleting the recording lost the dictation for good. False when that fails too."""
        spool = utt.spool
        assert spool is not None
        spool.note(entry=entry.to_dict(), keep_audio=keep_audio)
        try:
            spool.close(keep=True, keep_note=True)
        except OSError:
            log.warning("could not leave the recording for the next start", exc_info=True)
            return False
        return True

    def _run_mode(
        self,
        mode: str,
        text: str,
        cancel: Callable[[], bool] | None = None,
        window_pid: int | None = None,
    ) -> tuple[str, str | None]:
        """``text`` through ``mode``, and the reply cache's key of the model's reply (None when
        no model was asked); the text as it was when the mode fails in any way (the runner
        itself falls back on a model's failures: this also covers its own). ``cancel``
        says the dictation was cancelled: the model is no longer waited for. A mode that sends
        the staged diff reads it in the folder of the terminal dictated into (the window of
        process ``window_pid``), never in Holdtype's own (:mod:`app.llm.workdir`)."""
        from app.llm.modes import ModeError
        from app.llm.runner import CANCELLED
        from app.llm.workdir import foreground_directory

        try:
            runner = self._runner()  # (new settings may drop it meanwhile)
            repo = None
            with contextlib.suppress(ModeError):  # (the run says what is wrong with the mode)
                if runner.mode(mode).include_git_diff:
                    repo = foreground_directory(window_pid) or False
                    log.info("mode %s: staged diff of %s", mode, repo or "no folder (none sent)")
            result = runner.run(mode, text, cancel=cancel, repo=repo)
        except Exception as exc:
            log.exception("mode %s failed", mode)
            self._publish(ev.Notice(f"Mode '{mode}' failed ({exc}); the plain transcript is used", "llm"))
            return text, None
        problem = runner.cache_problem()
        if problem:
            self._publish(ev.ErrorRaised(problem, "llm"))
        if result.fallback_reason and result.fallback_reason != CANCELLED:
            self._publish(
                ev.Notice(f"Mode '{mode}' fell back to the plain transcript: {result.fallback_reason}", "llm")
            )
        return result.text, result.cache_key

    def _link_reply(self, entry_id: int | None, reply_key: str | None) -> None:
        """Tie the LLM reply ``reply_key`` to history entry ``entry_id``: deleting the entry
        deletes the reply (its words are the entry's)."""
        from app.history.store import HistoryError

        if entry_id is None or reply_key is None:
            return
        try:
            self.history.link_reply(entry_id, reply_key)
        except HistoryError as exc:  # (the entry is kept; only this tie is lost)
            log.warning("entry %s is not tied to its LLM reply: %s", entry_id, exc)

    def _insert(self, text: str) -> InsertResult:
        from app.insert.base import InsertResult, choose_inserter

        inserter = self._inserter  # read once: applied settings may replace it meanwhile
        if inserter is None:
            try:
                inserter = self._inserter = choose_inserter(self._settings.paste)
            except HoldtypeError as exc:
                self.copy_to_clipboard(text)
                return InsertResult(False, "paste", "none", str(exc))
            from app.insert.x11 import X11Inserter

            if isinstance(inserter, X11Inserter):
                inserter.between_words = self._wait_for_keys_up
        listener = self._listener
        try:
            # Its Shift (a capital typed) and Ctrl (the paste) must not spoil a hotkey press.
            with listener.sending_keys() if listener is not None else contextlib.nullcontext():
                result = inserter.insert(text)
        except Exception as exc:  # an inserter's bug or a stuck tool must not lose the text
            log.exception("inserting the text failed")
            self.copy_to_clipboard(text)
            return InsertResult(False, "paste", type(inserter).__name__, f"paste failed: {exc}")
        if not result.ok and result.method == "type":
            self.copy_to_clipboard(text)  # a failed paste leaves it there, and the notice says so
        return result

    def _insert_only(self, text: str) -> None:
        result = self._insert(text)
        if not result.ok:
            self._publish(ev.ErrorRaised(result.error or "paste failed", "insert"))
