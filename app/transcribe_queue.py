"""The transcription worker's queue, where dictation comes first.

Two kinds of job share the one worker that holds the model. A dictation's (the decodes made
while the key is held, and the one after release) is what the user waits for. A background
job (a history entry transcribed again, a recording a crash left) is not: it never starts
while a recording is under way or a dictation's job waits, and one that is decoding gives
way within one decoding stage (the encoder, one window of the decoder) when a dictation
comes. It is then put back behind the dictation and starts over, since a decode cannot be
resumed.

Before this, a dictation made while a long recording was transcribed again waited for the
whole of it: tiny.en reads a minute of speech in about 3 s on two cores, a larger model far
longer.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator

from app.transcribe.whisper import DecodeCancelled

log = logging.getLogger(__name__)

Job = Callable[[], object]
# A background job: called with the question "does a dictation want the worker?", to pass as
# a decode's ``cancel``; it may raise DecodeCancelled when the answer turned yes.
BackgroundJob = Callable[[Callable[[], bool]], object]


class TranscribeQueue:
    """Jobs for the transcription worker (see the module's docstring).

    ``recording`` says whether a recording is under way; each recording is ended inside
    :meth:`recording_ending`, which its last job is queued in (the background jobs held back
    meanwhile go behind it).
    """

    def __init__(self, recording: Callable[[], bool]) -> None:
        """An empty queue; ``recording`` is asked from the worker's thread."""
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self._recording = recording
        self._lock = threading.Lock()
        self._dictation_waiting = 0  # dictation jobs queued and not yet started
        self._ending = 0  # recordings being ended (their last job not queued yet)
        self._held: list[BackgroundJob] = []  # background jobs waiting for a recording to end

    def put(self, job: Job | None) -> None:
        """Queue ``job`` as it is (loading a model; None stops the worker)."""
        self.jobs.put(job)

    def dictation(self, job: Job) -> None:
        """Queue a dictation's ``job``: a background job decoding gives way to it."""
        with self._lock:
            self._dictation_waiting += 1

        def run() -> object:
            with self._lock:
                self._dictation_waiting -= 1
            return job()

        self.jobs.put(run)

    def background(self, job: BackgroundJob) -> None:
        """Queue ``job`` to run when no dictation wants the worker."""
        self.jobs.put(lambda: self._run_background(job))

    def dictation_first(self) -> bool:
        """Whether a dictation wants the worker: a recording is under way or being ended, or
        its job waits."""
        with self._lock:
            waiting = self._dictation_waiting > 0 or self._ending > 0
        return waiting or self._recording()

    @contextlib.contextmanager
    def recording_ending(self) -> Iterator[None]:
        """While a recording is ended: from before it stops being under way (``recording``
        says no) until its last job is queued, a dictation still wants the worker (else a
        background job could start in that gap); then the background jobs held back during
        the recording are queued, behind its jobs."""
        with self._lock:
            self._ending += 1
        try:
            yield
        finally:
            with self._lock:  # with the count, atomically: a job held back now is queued here
                self._ending -= 1
                held, self._held = (self._held, []) if not self._ending else ([], self._held)
            for job in held:
                self.background(job)

    def _run_background(self, job: BackgroundJob) -> None:
        if self.dictation_first():
            self._defer(job)
            return
        try:
            job(_Latch(self.dictation_first))
        except DecodeCancelled:
            log.debug("a background decode gave way to a dictation; it starts over after it")
            self._defer(job)

    def _defer(self, job: BackgroundJob) -> None:
        """Put ``job`` back: until the recording under way ends, or behind the dictation jobs
        waiting. The recording is asked under the lock :meth:`recording_ending` takes as it
        ends, after a recording stops: a job held back is always queued again."""
        with self._lock:
            if self._ending or self._recording():
                self._held.append(job)
                return
        self.background(job)


class _Latch:
    """A background job's ``cancel``: once it has said yes, it keeps saying yes. The question
    changes answer when the dictation's job starts, and a decode beside the job's own (the
    plain reading of a long vocabulary, on the model's other worker) asks it after that: it
    ran on, beside the dictation it should have given way to."""

    def __init__(self, ask: Callable[[], bool]) -> None:
        self._ask = ask
        self._said = False

    def __call__(self) -> bool:
        """Whether the job is to give way (now, or since it was first told so)."""
        if not self._said and self._ask():  # never written back to no: another thread's
            self._said = True  # slower "no" must not undo a "yes"
        return self._said
