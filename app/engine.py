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
hotkey is held down (see :mod:`app.insert.around_hotkeys`).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from app import engine_messages as msg
from app import events as ev
from app import native_stderr
from app.audio.silence import only_silence, silence_notice
from app.config import HotkeySettings, Settings
from app.errors import HoldtypeError, ModelMissing
from app.events import EngineEvent, Outcome, State
from app.history import retention
from app.history.keeping import RETRY_WAIT_S, RETRY_WAITING_S, DictationKeeper
from app.insert.around_hotkeys import HotkeyAwareInserter
from app.llm.dictation_modes import DictationModes
from app.microphone import Microphone
from app.paths import get_paths
from app.problems import Problems
from app.transcribe.audiofile import SAMPLE_RATE
from app.transcribe.streaming import Partial, stream_while_recording
from app.transcribe.whisper import DecodeCancelled, DecodeOptions, Transcriber, WhisperTranscriber
from app.transcribe_queue import TranscribeQueue

if TYPE_CHECKING:
    from app.audio.spool import SpoolWriter
    from app.history.store import HistoryEntry, HistoryReader, HistoryStore
    from app.hotkey.listener import HotkeyAction, HotkeyListener
    from app.insert.focus import FocusedWindow
    from app.text.pipeline import TextPipeline

log = logging.getLogger(__name__)

Subscriber = Callable[[EngineEvent], None]
_POLL_S = 0.1  # how often the streaming loop looks at new audio
# How long a dictation's output waits to know which app it went into; the queries' own time
# limits are shorter (swaymsg and hyprctl 2 s, macOS's script 1 s).
PLACE_WAIT_S = 3.0
# Why a dictation finished while Holdtype quits is kept, not pasted (see _output).
NOT_PASTED_WHEN_QUITTING = (
    "not pasted: Holdtype was quitting; the text is in history (`holdtype history paste`)"
)
#: Said when Esc comes once the text is going in (being pasted or typed): it cannot be stopped.
TOO_LATE_TO_CANCEL = "Too late to cancel: the text is already going in (it is kept in history)."


def _monotonic_of(at: float) -> float:
    """The ``time.monotonic()`` of the moment ``at`` (a ``time.time()`` not in the future)."""
    return time.monotonic() - max(0.0, time.time() - at)


def _speech_in(audio: np.ndarray) -> bool:
    """Whether the voice detector hears speech in ``audio`` (one it cannot run on is taken to
    have some: its recording is then kept rather than lost)."""
    from app.transcribe import vad

    try:
        return vad.has_speech(audio)
    except Exception:
        log.exception("the voice detector failed; the empty recording is kept")
        return True


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
        self._current: msg.Utterance | None = None  # being recorded
        self._busy: dict[int, State] = {}  # generation -> stage, for utterances in flight
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopped = threading.Event()
        self._stopping = threading.Event()  # shutdown() began: a load ending now is not "ready"
        self._ready = threading.Event()
        self._listener: HotkeyListener | None = None
        # The settings the hotkey listener was last set up with: a change made while a
        # recording is under way waits for it to end (see _refresh_parts).
        self._listening_hotkey: HotkeySettings | None = None
        self._listener_serial = 0  # counts the listeners started: each press says which heard it
        self._load_serial = 0  # counts the loads announced (ModelLoading): each end says which
        self._applied = itertools.count(1)  # ids of the settings handed in (apply_settings)
        self._history: HistoryStore | None = None
        from app.history.store import HistoryReader

        self._reader = HistoryReader(self._paths.history_db)
        self._history_lock = threading.RLock()  # (a subscriber told of a problem may ask for it)
        self._pipeline: TextPipeline | None = None
        self._modes = DictationModes(lambda: self._settings, self._publish)
        self._inserting = HotkeyAwareInserter(
            lambda: self._settings,
            lambda: self._listener,
            lambda message: self._publish(ev.ErrorRaised(message, "clipboard")),
        )
        self._keeper = DictationKeeper(
            lambda: self._settings,
            self._history_now,
            self._paths.audio_dir,
            self._publish,
            self._paths.spool_dir,
            self._rewrite_recovered,
        )
        # When the engine thread next has the output worker try to add the dictations history
        # could not take (DictationKeeper.add_waiting), while some wait.
        self._retry_waiting_at = time.monotonic() + RETRY_WAITING_S
        self._retry_queued = threading.Event()  # that try waits on the output worker
        self._retention = retention.Retention(
            lambda: self._settings, self._history_now, self._paths.llm_cache_dir, self._publish
        )
        self._placing: tuple[threading.Thread | None, float] = (None, 0.0)  # last focus query, since
        self._problems = Problems()
        self._mic = Microphone(
            lambda: self._settings.audio,
            self._paths.spool_dir,
            self._publish,
            self._commands.put,
            self._problems,
            self._stopped,
        )
        self._cancelled: set[int] = set()  # generations cancelled while in flight
        # The generations past the point where Esc could stop them (under the lock, with
        # _cancelled): Esc then said "nothing will be inserted", and the text went in. The
        # output worker adds one as it decides; the engine thread takes it out as it takes the
        # generation out of _busy (its Stage IDLE), so that an Esc it handles before then,
        # however late, is told it is too late.
        self._past_cancel: set[int] = set()
        self._cancel_lock = threading.Lock()
        # The last load failure said, and of which transcriber (transcription worker): each
        # dictation tries the load again, and its failed result says why; the same error was
        # said again with each of them. (A model the settings chose anew is told of anew.)
        self._load_failure_said: tuple[object, str] | None = None

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
        """The history store (opened on first use, by one thread; tried again at each use
        while it cannot be opened: :class:`~app.history.store.HistoryError`)."""
        return self._store()

    def _store(self, wait_s: float | None = None) -> HistoryStore:
        """The history store, waiting at most ``wait_s`` (None: the store's 10 s) to open one
        that could not be opened yet (:class:`~app.history.store.HistoryError` when it still
        cannot): see :meth:`_history_now`."""
        from app.history.store import HistoryBusy, HistoryStore

        if self._history is not None:
            return self._history
        if not self._history_lock.acquire(timeout=-1 if wait_s is None else max(wait_s, 0.001)):
            raise HistoryBusy("the history is being opened by another of Holdtype's own tasks")
        try:
            if self._history is None:
                self._history = HistoryStore(self._paths.history_db, open_wait_s=wait_s)
                self._problems.clear("history")  # (it could not be opened at the start)
                if self._history.problem:
                    self._publish(ev.ErrorRaised(self._history.problem, "history"))
            return self._history
        finally:
            self._history_lock.release()

    def _history_now(self) -> HistoryStore:
        """The history store for the output worker: one that could not be opened at the start
        is tried again with OUTPUT_WAIT_S, not the store's 10 s, under the history's lock:
        each dictation's entry, the retry of those waiting and the retention opened it with
        the 10 s wait, and each paste after it waited that long."""
        from app.history.store import OUTPUT_WAIT_S

        return self._store(OUTPUT_WAIT_S)

    @property
    def ready(self) -> bool:
        """True once the model is loaded."""
        return self._ready.is_set()

    @property
    def problems(self) -> tuple[str, ...]:
        """What does not work now (no microphone, no hotkey), each in a sentence."""
        return self._problems.now()

    @property
    def microphone_armed(self) -> bool:
        """Whether the microphone is open (its pre-roll running)."""
        return self._mic.armed

    @property
    def hotkey_armed(self) -> bool:
        """Whether a hotkey listener is listening."""
        return self._listener is not None

    @property
    def audio_stuck(self) -> bool:
        """PortAudio's audio thread loops for good (:meth:`Microphone.on_native_runaway`): the
        process must leave without PortAudio's exit handler, which would wait on it."""
        return self._mic.stuck

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
        # Before the workers: the engine loop's first retention check has the output worker
        # open the history too, and two first opens at once found the database locked.
        self._rebuild_text_parts()
        self._open_history()
        for name, target in (
            ("holdtype-engine", self._engine_loop),
            ("holdtype-transcribe", lambda: self._worker_loop(self._transcribe_jobs.jobs)),
            ("holdtype-output", lambda: self._worker_loop(self._output_jobs)),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self._history is not None:  # (else the first dictation's entry tries it first)
            # Dictations an earlier session's history could not take go in first, as they were.
            self._output_jobs.put(lambda: self._keeper.add_waiting(say_failure=True))
        self._output_jobs.put(lambda: self._retention.apply(force=True))
        if self._enable_audio:
            native_stderr.add_runaway_listener(self._mic.on_native_runaway)
            self._mic.arm()
            if self._mic.recorder is not None and not self._mic.armed:  # no microphone yet:
                self._mic.schedule_rearm(1)  # one plugged in later is opened without a press
        if self._enable_hotkeys:
            self._start_hotkeys()
        self._transcribe_jobs.put(self._load_and_recover)

    def _open_history(self) -> None:
        """Open the history at the start. One another program holds (or a read-only folder,
        a full disk) costs the history, not the dictation: Holdtype refused to start (even
        with the history off), where mid-run such a history costs only its write. The user is
        told, and the history is tried again at each use meanwhile: a dictation it cannot
        take waits in the spool until it can be written (see DictationKeeper.keep). The wait
        is brief (OUTPUT_WAIT_S): with the store's 10 s wait, on the caller's thread, the tray
        came up 10 s late under a held history."""
        from app.history.store import HistoryError

        try:
            _ = self._history_now()
        except HistoryError as exc:
            message = (
                f"history unavailable: {exc}; dictation works, and a dictation history cannot "
                "take is added once it can be written"
            )
            self._problems.fail("history", message)
            self._publish(ev.ErrorRaised(message, "history"))

    def shutdown(self, timeout: float = 15.0) -> None:
        """Finish what is in flight (a recording in progress is transcribed and kept in history,
        not pasted: see NOT_PASTED_WHEN_QUITTING), then stop."""
        if not self._started or self._stopped.is_set():
            return
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.stop()
        if self._current is not None:
            self.end()
        self._commands.put(msg.Stop())
        deadline = time.monotonic() + timeout
        self._threads[0].join(max(0.0, deadline - time.monotonic()))
        self._transcribe_jobs.put(None)
        self._threads[1].join(max(0.0, deadline - time.monotonic()))
        self._output_jobs.put(None)
        self._threads[2].join(max(0.0, deadline - time.monotonic()))
        native_stderr.remove_runaway_listener(self._mic.on_native_runaway)
        self._mic.close()
        if self._history is not None:
            self._history.close()
        self._stopped.set()

    def begin(self, mode: str | None = None) -> None:
        """Start recording (for the mode ``mode``, else the focused app's in ``modes.apps``,
        else the active one)."""
        self._commands.put(msg.Begin(mode, time.time()))

    def end(self) -> None:
        """Stop recording; the utterance is transcribed and inserted."""
        self._commands.put(msg.End(time.time()))

    def toggle(self, mode: str | None = None) -> None:
        """Start recording when idle, else stop the recording in progress."""
        if self._current is None:
            self.begin(mode)
        else:
            self.end()

    def dictate_audio(self, audio: np.ndarray, mode: str | None = None) -> None:
        """Run recorded ``audio`` (16 kHz mono float32) through the same path as a dictation."""
        self._commands.put(msg.Submit(np.asarray(audio, dtype=np.float32), mode))

    def cancel(self) -> None:
        """Cancel the recording (or the utterance in flight): nothing is inserted."""
        self._commands.put(msg.Cancel())

    def set_paused(self, paused: bool) -> None:
        """Ignore (or listen to again) the hotkey. Made on the engine thread, on the settings
        in force then: built here, it undid settings applied a moment before and still queued."""
        self._commands.put(msg.Pause(paused))

    def apply_settings(self, settings: Settings) -> int:
        """Apply new settings live: model, hotkeys, microphone, text rules, paste, modes. Return
        the id the "settings" notice that says they were applied repeats (``Notice.applied``):
        one for an earlier save, the tray's Pause or a settings file changed is told apart."""
        applied = next(self._applied)
        self._commands.put(msg.Apply(settings, applied))
        return applied

    def reload_model(self) -> None:
        """Load the model of the settings in force again, in the background as a settings
        change does (:class:`~app.events.ModelLoading`, then ``EngineReady``): the settings
        window calls it once the chosen model is downloaded, which the embedded one stood in
        for until then (the download was used only after a restart)."""
        self._commands.put(msg.Reload())

    @property
    def model_in_use(self) -> str:
        """The name of the model dictation uses (or is loading): the embedded one's while it
        stands in for a chosen model that is not on this machine."""
        return self._transcriber_name()

    @property
    def history_reader(self) -> HistoryReader:
        """Reads of the history for the UI thread: each waits at most half a second for a
        lock, then says the history is busy (:class:`~app.history.store.HistoryReader`);
        the store's reads waited 10 s, and behind a dictation's write that waited as long."""
        return self._reader

    def repaste(self, history_id: int) -> None:
        """Insert the text of history entry ``history_id`` again (on the output worker, after
        the dictations going in). Said either way: a ``Notice`` once it went in, an
        ``ErrorRaised`` when the entry is gone or has no text, the history is busy, or the
        paste failed (the text is then on the clipboard)."""
        self._output_jobs.put(lambda: self._repaste(history_id))

    def _repaste(self, history_id: int) -> None:
        from app.history.store import HistoryError
        from app.recovery import opening

        failed = f"could not paste entry {history_id} again"
        try:
            entry = self._reader.get(history_id)
        except HistoryError as exc:
            self._publish(ev.ErrorRaised(f"{failed}: {exc}", "history"))
            return
        if entry is None or not entry.text.strip():
            why = "it is no longer in the history" if entry is None else "it has no text"
            self._publish(ev.ErrorRaised(f"{failed}: {why}", "history"))
            return
        result = self._inserting.insert(entry.text)
        if not result.ok:
            problem = result.error or "the paste failed"
            self._publish(ev.ErrorRaised(f"{failed}: {problem}. The text is on the clipboard.", "insert"))
            return
        done = "Typed" if result.method == "type" else "Pasted"
        self._publish(ev.Notice(f"{done} entry {history_id} again", "history", said=opening(entry.text)))

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

    def _keep_reading(self, entry: HistoryEntry, raw: str, text: str, seconds: float | None) -> None:
        """Run the entry's mode on its new reading and keep it (output worker): in the entry,
        or in a new one when the entry has text (:func:`keep_reading`). ``seconds`` None: the
        reading of a recording recovered after a crash, said by the recovery's own notice (its
        length is the entry's), whose mode's text takes the place of its transcript."""
        from app.history.again import keep_reading, said_again
        from app.history.store import OUTPUT_WAIT_S

        assert entry.id is not None
        mode = entry.mode or "raw"
        reply_key = fallback = llm_ms = None
        try:
            if text and mode != "raw":
                asked = time.monotonic()
                # its failure: the reading, with a notice
                text, reply_key, fallback = self._modes.run(mode, text)
                llm_ms = (time.monotonic() - asked) * 1000
            # (not the store's 10 s wait: the next dictation's paste waits for this one)
            kept = keep_reading(
                self._history_now(),
                entry,
                raw,
                text,
                self._transcriber_name(),
                mode,
                in_place=seconds is None,
                wait_s=OUTPUT_WAIT_S,
                fallback_reason=fallback,
                llm_ms=llm_ms,
            )
        except HoldtypeError as exc:
            self._publish(ev.ErrorRaised(f"could not transcribe entry {entry.id} again: {exc}", "history"))
            return
        self._keeper.link_reply(kept, reply_key)
        if seconds is None:
            seconds = entry.audio_seconds or 0.0
        else:
            self._publish(ev.Notice(said_again(entry.id, kept), "history"))
        self._publish(ev.UtteranceResult(0, kept, raw, text, Outcome.RECOVERED, mode, seconds, None))

    def copy_to_clipboard(self, text: str) -> None:
        """Put ``text`` on the clipboard."""
        self._inserting.copy_to_clipboard(text)

    def recorder_level(self) -> float:
        """The microphone's current RMS level (0 when not armed)."""
        return self._mic.level

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
            if self._retention.due():
                self._output_jobs.put(self._retention.apply)
            try:
                command = self._commands.get(timeout=min(retention.PRUNE_EVERY_S / 4, self._retry_waiting()))
            except queue.Empty:
                continue
            try:
                if isinstance(command, msg.Stop):
                    self._end_for_quit()
                    return
                self._handle(command)
            except HoldtypeError as exc:
                self._publish(ev.ErrorRaised(str(exc), "engine"))
            except Exception as exc:  # keep the loop alive; report the bug
                log.exception("engine command %r failed", command)
                self._publish(ev.ErrorRaised(f"internal error: {exc}", "engine"))

    def _end_for_quit(self) -> None:
        """End a recording still open at the Stop (engine thread): one a press began as
        :meth:`shutdown` looked, which saw none. Left open, the microphone recorded on, the
        transcription worker streamed it for ever and the quit waited out its whole time limit;
        ended, it is transcribed and kept in history as any recording at a quit is."""
        if self._current is None:
            return
        log.info("a recording begun as Holdtype quit is ended and kept")
        try:
            self._on_end(msg.End(time.time()))
        except Exception:  # (the Stop must still end the loop)
            log.exception("could not end the recording at the quit")
            if self._current is not None:  # (its streaming job ends: the quit is not held up)
                self._current.recording.clear()

    def _retry_waiting(self) -> float:
        """Have the output worker try to add the dictations history could not take, every
        RETRY_WAITING_S while some wait (engine thread); how long until the next try. Also
        while the history could not be opened: the output worker tries to open it briefly."""
        if not self._keeper.waiting:
            return RETRY_WAITING_S
        left = self._retry_waiting_at - time.monotonic()
        if left <= 0:
            # One at a time: behind a slow LLM call or a long "Transcribe again", one was
            # queued every RETRY_WAITING_S, each run before the next dictation's paste.
            if not self._retry_queued.is_set():
                self._retry_queued.set()
                self._output_jobs.put(self._add_waiting_again)
            self._retry_waiting_at = time.monotonic() + RETRY_WAITING_S
            left = RETRY_WAITING_S
        return left

    def _add_waiting_again(self) -> None:
        """The retry :meth:`_retry_waiting` queues (output worker)."""
        self._retry_queued.clear()
        self._keeper.add_waiting(RETRY_WAIT_S)

    def _handle(self, command: object) -> None:
        if isinstance(command, msg.Begin):
            if command.from_key and command.listener != self._listener_serial:
                self._drop_replaced_press()
                return
            try:
                self._on_begin(command)
            finally:
                if command.from_key and self._current is None:
                    # No recording came of the press (the microphone failed to start): in
                    # toggle mode the listener took it for one, and its next press was sent
                    # as a stop to nothing (the user had to press twice).
                    self._forget_key_recording()
        elif isinstance(command, msg.End):
            self._on_end(command)
        elif isinstance(command, msg.Cancel):
            self._on_cancel()
        elif isinstance(command, msg.AudioFailed):
            # A lost device or the length limit: keep and transcribe what was captured.
            self._publish(ev.ErrorRaised(command.message, "audio"))
            if self._current is not None:
                if self._listener is not None:
                    self._listener.reset()
                self._on_end(msg.End(time.time()))
            if self._mic.recorder is not None and not self._mic.armed:
                self._mic.schedule_rearm(1)
        elif isinstance(command, msg.Rearm):
            self._mic.rearm(command.attempt, recording=self._current is not None)
        elif isinstance(command, msg.Placed):
            self._on_placed(command)
        elif isinstance(command, msg.Stage):
            if command.state == State.IDLE:
                self._busy.pop(command.generation, None)
                with self._cancel_lock:
                    self._past_cancel.discard(command.generation)
            else:
                self._busy[command.generation] = command.state
            self._set_state(command.generation)
        elif isinstance(command, msg.Apply):
            self._on_apply(command.settings, command.applied)
        elif isinstance(command, msg.Reload):
            if isinstance(self._transcriber, WhisperTranscriber):
                self._load_anew()
        elif isinstance(command, msg.Pause):
            hotkey = self._settings.hotkey.model_copy(update={"paused": command.paused})
            self._on_apply(self._settings.model_copy(update={"hotkey": hotkey}))
        elif isinstance(command, msg.Submit):
            self._generation += 1
            now = time.time()
            utt = msg.Utterance(
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

    def _on_begin(self, command: msg.Begin) -> None:
        if self._stopping.is_set():
            # A press queued as Holdtype quits (behind a slow microphone, a `dictate start`
            # before a logout's SIGTERM): a recording begun now would not be in what the quit
            # finishes. The press is dropped; none was under way.
            log.info("a press made as Holdtype quits is ignored")
            return
        if self._current is not None:
            if command.toggle and not self._current.from_key:
                # A toggle key's press while a recording started elsewhere (`holdtype dictate
                # start`, the tray) runs: the user means to stop it. Ignored, it took a second
                # press, and the microphone stayed on meanwhile.
                self._on_end(msg.End(command.at))
            return  # already recording (auto-repeat, or a second source)
        if not self._mic.armed:
            self._mic.arm()
            if not self._mic.armed:
                return  # the error was published by Microphone.arm (see _handle: no recording)
        recorder = self._mic.recorder
        assert recorder is not None
        self._generation += 1
        gen = self._generation
        spool: SpoolWriter | None = None
        spool_error = None
        if self._mic.spool is not None:
            try:
                spool = self._mic.spool.open(gen)
            except HoldtypeError as exc:  # record anyway; only crash safety is lost
                spool_error = str(exc)
                self._publish(ev.ErrorRaised(f"{exc}; recording without crash safety", "spool"))
        try:
            # (its pre-roll counted from the key: this thread may take the press late)
            recorder.start(spool, pressed_at=_monotonic_of(command.at))
        except BaseException:  # (the device went away since it was found armed)
            if spool is not None:
                spool.close(keep=False)
            raise
        streaming = None
        if self._settings.model.streaming and self._pipeline is not None:
            base = DecodeOptions.from_settings(self._settings.model)
            streaming = self._pipeline.streaming(self._transcriber, base)
        mode = command.mode or self._settings.modes.active
        self._modes.prepare(mode)
        if spool is not None:  # for a recovery after a crash: where and when this was said
            spool.note(key_down=command.at, device=self._mic.device_name, mode=mode)
        utt = msg.Utterance(
            gen,
            mode,
            command.at,
            time.monotonic(),
            streaming,
            spool,
            spool_error=spool_error,
            from_key=command.from_key,
        )
        utt.recording.set()
        self._current = utt
        if not command.from_key and self._listener is not None:
            with contextlib.suppress(Exception):  # (only the key's grab would be lost)
                self._listener.recording_elsewhere()
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

    def _place(self, utt: msg.Utterance, pick_mode: bool) -> None:
        """Ask which app the recording is dictated into, once its start is shown (a few ms; on
        macOS a script, on sway a swaymsg): keep the app's name, and unless a mode was asked
        for (``pick_mode`` False), take the mode ``modes.apps`` ties to it. On a thread of its
        own: on the command thread, a query that stalled (up to its 2 s time limit) held up
        the release and the cancel key. The output waits for ``utt.placed``; the command
        thread tells the overlay of the new mode (:class:`msg.Placed`)."""
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
                if self._modes.usable(tied, utt.app):  # (else the next name's tie, if any)
                    utt.mode, moved = tied, True
                    self._modes.prepare(tied)
                    if utt.spool is not None:
                        utt.spool.note(mode=tied)
                    break
        except Exception:  # never let the query stop dictation
            log.exception("could not tell which app is dictated into")
        finally:
            utt.placed.set()
        if moved:
            self._commands.put(msg.Placed(utt))

    def _on_placed(self, command: msg.Placed) -> None:
        """Show the mode ``modes.apps`` chose, if its recording is still under way."""
        utt = command.utterance
        if utt is self._current:
            self._publish(ev.StateChanged(State.RECORDING, utt.generation, utt.mode))

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

    def _on_end(self, command: msg.End) -> None:
        try:
            # From before the recording is no longer under way until its job is queued: no
            # background decode starts in between; those held back go behind it.
            with self._transcribe_jobs.recording_ending():
                self._end_recording(command)
        finally:
            self._refresh_parts()  # settings changed while the key was held, now in force

    def _end_recording(self, command: msg.End) -> None:
        utt, recorder = self._current, self._mic.recorder
        if utt is None or recorder is None:
            return
        utt.audio = recorder.stop()
        # Release to text counts from the release itself (the key event, or the request), not
        # from here: the queue and stopping the microphone took 40 – 50 ms of it unseen.
        utt.key_up, utt.key_up_mono = command.at, _monotonic_of(command.at)
        utt.recording.clear()
        self._current = None
        if recorder.lost_error:
            utt.error = recorder.lost_error
        elif recorder.starved:
            utt.error = recorder.starved
        if not (command.from_key and utt.from_key):
            # ended from the tray (the key's next press starts one), or a recording started
            # there ended by the key: the listener lets go of what it kept for it (Esc)
            self._forget_key_recording()
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

    def _drop_replaced_press(self) -> None:
        """A press heard by a listener that applied settings (or Pause) replaced since: it
        was queued behind them. The new listener did not see the key go down and ignores its
        release, so a recording it started ran on to its length limit; none is started."""
        log.info("a hotkey press heard as the hotkey was set up again is dropped")
        self._publish(ev.Notice("The hotkey was pressed as its settings changed; press it again.", "hotkey"))

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
            self._on_end(msg.End(time.time()))
            self._publish(
                ev.Notice("Dictation cancelled; the recording is kept in history if it has speech.", "engine")
            )
            return
        if self._busy:
            gen = max(self._busy)
            with self._cancel_lock:
                too_late = gen in self._past_cancel
                if not too_late:
                    self._cancelled.add(gen)
            if too_late:
                self._publish(ev.Notice(TOO_LATE_TO_CANCEL, "engine"))
            else:
                self._publish(ev.Notice("Dictation cancelled; nothing will be inserted.", "engine"))

    def _on_apply(self, settings: Settings, applied: int | None = None) -> None:
        old, self._settings = self._settings, settings
        if settings.history.retention_days != old.history.retention_days:
            self._output_jobs.put(lambda: self._retention.apply(force=True, announce=True))
        if settings.model != old.model and isinstance(self._transcriber, WhisperTranscriber):
            if settings.model.model_dump(exclude={"streaming"}) != old.model.model_dump(
                exclude={"streaming"}
            ):
                self._load_anew()
            else:
                # (the name of the model in use: the embedded one may stand in for the chosen)
                name = self._transcriber.name
                self._transcriber.settings = settings.model.model_copy(update={"name": name})
        self._rebuild_text_parts()
        if self._current is not None and (settings.audio != old.audio or settings.hotkey != old.hotkey):
            self._publish(
                ev.Notice(
                    "Settings applied; the hotkey and microphone ones when this recording ends.",
                    "settings",
                    applied=applied,
                )
            )
            return  # _on_end calls _refresh_parts
        self._problems.count_from_now()
        self._refresh_parts()
        failed = self._problems.failed_now()  # each also published as an error
        message = f"Settings applied, except: {'; '.join(failed)}" if failed else "Settings applied."
        self._publish(ev.Notice(message, "settings", applied=applied))

    def _load_anew(self) -> None:
        """Have the transcription worker load the model of the settings in force (engine
        thread); dictation waits for it, and the UI says it loads (ModelLoading)."""
        self._transcriber = WhisperTranscriber(self._settings.model)
        self._ready.clear()
        self._load_serial += 1
        load = self._load_serial
        self._publish(ev.ModelLoading(self._settings.model.name, load))
        self._transcribe_jobs.put(lambda: self._load_announced(load))

    def _load_announced(self, load: int) -> None:
        """Load the model for ModelLoading ``load`` (transcription worker), and say how it
        ended even when that was said before: each ModelLoading gets its EngineReady or
        ErrorRaised, which the settings window counts on. Two loads queued behind a third read
        the same (newest) transcriber, and the second's failure, the same, went unsaid: the
        window waited for it for good."""
        self._load_failure_said = None
        self._load_model(load)

    def _refresh_parts(self) -> None:
        """Set up the microphone and the hotkey listener again if their settings changed, once
        no recording is under way. Replaced while its key is held, a listener never hears the
        release (the recording went on until the next press, and Caps Lock stayed on); an
        open recording keeps the microphone it started with."""
        if self._current is not None or self._stopping.is_set():  # (quitting: nothing to set up)
            return
        # The hotkeys first: a press made while the microphone reopens (up to seconds) waits
        # for it on the command queue, where a listener not yet started would not hear it.
        if self._enable_hotkeys and self._settings.hotkey != self._listening_hotkey:
            if self._listener is not None:
                self._listener.stop()
                self._listener = None
            self._start_hotkeys()
        if self._enable_audio:
            self._mic.refresh()

    # --- parts -----------------------------------------------------------------------------------
    def _rebuild_text_parts(self) -> None:
        from app.text.pipeline import TextPipeline

        self._pipeline = TextPipeline.from_settings(self._settings)
        self._inserting.reset()  # chosen again on next insert, from the new paste settings
        self._modes.reset()

    def _start_hotkeys(self) -> None:
        from app.hotkey.listener import HotkeyListener

        self._listening_hotkey = self._settings.hotkey
        self._listener_serial += 1
        serial = self._listener_serial
        try:
            listener = HotkeyListener.from_settings(
                self._settings.hotkey, lambda action: self._on_hotkey(action, serial)
            )
            listener.start()
        except HoldtypeError as exc:
            self._publish(ev.ErrorRaised(f"hotkey unavailable: {exc}", "hotkey"))
            self._problems.fail("hotkey", str(exc))
            return
        self._problems.clear("hotkey")
        self._listener = listener

    def _on_hotkey(self, action: HotkeyAction, listener: int) -> None:
        """Called on pynput's thread: only turn the action into a command. ``listener`` is
        the serial of the listener that heard it (see :meth:`_drop_replaced_press`)."""
        from app.hotkey.listener import ActionKind

        now = time.time() - max(0.0, time.monotonic() - action.time)  # when the key event came
        if action.kind == ActionKind.START:
            from app.hotkey.gesture import mode_for_key

            toggle = mode_for_key(action.binding, self._settings.hotkey.mode) == "toggle"
            begin = msg.Begin(action.mode_name or None, now, from_key=True, toggle=toggle, listener=listener)
            self._commands.put(begin)
        elif action.kind == ActionKind.STOP:
            self._commands.put(msg.End(now, from_key=True))
        elif action.kind == ActionKind.DISCARD:
            self._commands.put(msg.End(now, discard=True, from_key=True))
        elif action.kind == ActionKind.CANCEL:
            self._commands.put(msg.Cancel())

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

    def _load_model(self, load: int | None = None) -> str | None:
        """Load the model (transcription worker); the reason when it cannot be loaded, said
        once (not again at each dictation's try, whose failed result says it). What it says
        repeats ``load``, the ModelLoading that announced it (None: not announced)."""
        transcriber = self._transcriber
        try:
            if isinstance(transcriber, WhisperTranscriber):
                try:
                    transcriber.load()
                except ModelMissing as exc:
                    transcriber = self._embedded_instead(transcriber, exc)
        except Exception as exc:  # any: one not foreseen left every dictation stuck, unsaid
            if not isinstance(exc, HoldtypeError):
                log.exception("the model could not be loaded")
            problem = str(exc) or type(exc).__name__
            said = self._load_failure_said
            if said is None or said[0] is not transcriber or said[1] != problem:
                self._load_failure_said = (transcriber, problem)
                self._publish(ev.ErrorRaised(problem, "model", load))
            return problem
        self._load_failure_said = None
        self._ready.set()
        _release_freed_memory()
        if isinstance(transcriber, WhisperTranscriber) and not self._stopping.is_set():
            self._publish(
                ev.EngineReady(
                    transcriber.name,
                    f"{transcriber.device}/{transcriber.compute_type}",
                    transcriber.load_ms or 0.0,
                    self._settings.hotkey.key,
                    self._problems.now(),
                    load,
                )
            )
        return None

    def _embedded_instead(self, missing: WhisperTranscriber, exc: ModelMissing) -> WhisperTranscriber:
        """The embedded model, loaded in place of ``missing``, which is not on this machine
        (removed, or chosen before it was downloaded): dictation stayed broken, at every start,
        until it was downloaded again. Raises ``exc`` when it is the embedded one itself."""
        from app.transcribe.models import EMBEDDED, embedded_stands_in

        if not embedded_stands_in(missing.name, missing.settings.language):
            raise exc
        embedded = WhisperTranscriber(missing.settings.model_copy(update={"name": EMBEDDED}))
        embedded.load()
        if self._transcriber is missing:  # (unless new settings chose another meanwhile)
            self._transcriber = embedded
        message = (
            f"{exc}; the embedded {EMBEDDED} is used until then (a download from the settings' "
            "Model tab is used at once; restart Holdtype after `holdtype models download`)"
        )
        self._publish(ev.Notice(message, "model"))
        return embedded

    def _load_and_recover(self) -> None:
        self._load_model()
        if self._ready.is_set() and not self._stopping.is_set():  # (else the next start does)
            self._recover()

    def _recover(self) -> None:
        """Transcribe recordings a crash left in the spool into history (:mod:`app.recovery`)."""
        from app.audio.spool import Spool
        from app.history.store import OUTPUT_WAIT_S
        from app.recovery import SpoolRecovery

        SpoolRecovery(
            self._mic.spool or Spool(self._paths.spool_dir),
            self._paths.audio_dir,
            self._history_now,  # (on the transcription worker: a dictation may wait behind it)
            self._transcribe_batch,
            self._transcriber_name,
            self._publish,
            self._transcribe_jobs.background,
            self._rewrite_recovered,
            OUTPUT_WAIT_S,
            lambda: self._output_jobs.put(self._keeper.expect_waiting),
        ).start()

    def _rewrite_recovered(self, entry: HistoryEntry, raw: str) -> None:
        """Queue the mode of ``entry``, a recording recovered after a crash, on its transcript."""
        self._output_jobs.put(lambda: self._keep_reading(entry, raw, entry.text, None))

    def _transcriber_name(self) -> str:
        return getattr(self._transcriber, "name", type(self._transcriber).__name__)

    def _transcribe_batch(self, audio: np.ndarray, cancel: Callable[[], bool]) -> tuple[str, str]:
        """The final text and Whisper's words of ``audio``, read as a whole (a background
        job's decode: ``cancel`` raises DecodeCancelled when a dictation comes)."""
        assert self._pipeline is not None
        base = DecodeOptions.from_settings(self._settings.model)
        raw = self._pipeline.transcribe(self._transcriber, audio, base, cancel=cancel).text
        try:
            heard = self._pipeline.confirm(self._transcriber, audio, raw) if raw else ""
        except DecodeCancelled:
            raise
        except Exception:  # the words as heard, as a dictation's (`_finish`): not a lost recording
            log.exception("confirming the vocabulary's near misses failed")
            heard = raw
        return self._pipeline.polish(heard) if heard else "", raw

    def _stream(self, utt: msg.Utterance) -> None:
        """Decode while the key is held (transcription worker)."""
        recorder, streaming = self._mic.recorder, utt.streaming
        if recorder is None or streaming is None:
            return

        def on_partial(partial: Partial) -> None:
            self._publish(ev.PartialText(utt.generation, partial.committed, partial.tentative))

        stream_while_recording(
            streaming, recorder.audio_so_far, utt.recording, on_partial, self._ready.is_set, _POLL_S
        )

    def _finish(self, utt: msg.Utterance) -> None:
        """Decode what is left and hand the text to the output worker (transcription worker)."""
        audio = utt.audio if utt.audio is not None else np.zeros(0, np.float32)
        try:
            # Jobs on this worker run in turn: a model that failed to load (or a new one queued
            # behind this job) will not load while this job waits, so it tries here itself.
            problem = None if self._ready.is_set() else self._load_model()
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
        try:
            # Near misses of the user's terms that the audio confirms (needs the model: done here).
            heard = self._pipeline.confirm(self._transcriber, audio, raw) if raw else ""
        except Exception:  # the words as heard: whatever goes wrong, the output job is queued
            log.exception("confirming the vocabulary's near misses failed")
            heard = raw
        text_ready = time.time()
        release_ms = (time.monotonic() - (utt.key_up_mono or time.monotonic())) * 1000
        self._output_jobs.put(lambda: self._output(utt, raw, heard, text_ready, release_ms))

    def _output(self, utt: msg.Utterance, raw: str, heard: str, text_ready: float, release_ms: float) -> None:
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
        fallback: str | None = None
        llm_ms: float | None = None
        insert_ms: float | None = None
        failed_paste: str | None = None  # said once the entry is kept: whether it is in history
        try:
            if text and mode != "raw" and not utt.cancelled:
                self._commands.put(msg.Stage(gen, State.PROCESSING))
                # Esc after the release gives up on the model at once: a hung server held
                # this worker, and every dictation after it, for llm.timeout_s.
                asked = time.monotonic()
                text, reply_key, fallback = self._modes.run(
                    mode, text, lambda: utt.cancelled or gen in self._cancelled, utt.window_pid
                )
                llm_ms = (time.monotonic() - asked) * 1000
            if text and not (utt.cancelled or gen in self._cancelled) and self._inserting.wait_for_keys_up():
                log.debug("dictation #%d waited for the hotkey to come up before it went in", gen)
            with self._cancel_lock:
                cancelled = utt.cancelled or gen in self._cancelled
                if not cancelled and text and not self._stopping.is_set():
                    # from here on, Esc cannot stop it (one with nothing to put in is still
                    # "cancelled; nothing will be inserted", not "too late")
                    self._past_cancel.add(gen)
            if cancelled:
                outcome = Outcome.CANCELLED
            elif error and not text:  # nothing transcribed: the audio is kept to try again
                outcome = Outcome.FAILED
            elif text and self._stopping.is_set():
                # Quitting (Ctrl-C in the terminal, the tray's Quit, a logout's SIGTERM): the
                # focus is on whatever quit it, not where the words were meant to go; a
                # terminal would have run them. Kept in history, pasted by `history paste`.
                outcome, error = Outcome.FAILED, NOT_PASTED_WHEN_QUITTING
            elif text:
                self._commands.put(msg.Stage(gen, State.INSERTING))
                result = self._inserting.insert_between_holds(gen, text)
                inserted_at = time.time()
                insert_ms = (time.monotonic() - (utt.key_up_mono or time.monotonic())) * 1000
                if result.ok:
                    outcome = Outcome.TYPED if result.method == "type" else Outcome.PASTED
                else:
                    outcome = Outcome.FAILED
                    error = failed_paste = result.error or "paste failed"
        finally:
            audio = utt.audio if utt.audio is not None else np.zeros(0, np.float32)
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
                device=self._mic.device_name,
                error=error,
                audio_seconds=len(audio) / SAMPLE_RATE,
                # (no text came of a cancelled one: its time would say how fast nothing was)
                release_to_text_ms=None if outcome is Outcome.CANCELLED else release_ms,
                app=utt.app,
                fallback_reason=fallback,
                llm_ms=llm_ms,
                release_to_insert_ms=insert_ms,
            )
            # A hold with nothing in it (a tap, silence, a key held by mistake) is no dictation:
            # history filled with empty rows, cancelled or not (Esc on a press made by mistake
            # kept a silent recording). One the voice detector heard speech in but the model
            # read as nothing is kept, with its recording, for `history retry`. With the speech
            # gate off the user has set the voice detector aside: every one is kept.
            spoken = (
                outcome not in (Outcome.EMPTY, Outcome.CANCELLED)
                or bool(raw)
                or not self._settings.model.speech_gate
                or _speech_in(audio)
            )
            entry_id = self._keeper.keep(utt, entry, audio, spoken=spoken, reply_key=reply_key)
            self._keeper.link_reply(entry_id, reply_key)
            if outcome is Outcome.EMPTY and not error and only_silence(audio):
                self._publish(ev.Notice(silence_notice(self._mic.device_name), "audio"))
            if failed_paste is not None:  # (a history that could not take it says so itself)
                kept = " and in history" if entry_id is not None else ""
                self._publish(
                    ev.ErrorRaised(f"{failed_paste}. The text is on the clipboard{kept}.", "insert")
                )
            self._publish(
                ev.UtteranceResult(
                    gen, entry_id, raw, text, outcome, mode, len(audio) / SAMPLE_RATE, release_ms, error
                )
            )
            self._commands.put(msg.Stage(gen, State.IDLE))
            self._retention.apply()
