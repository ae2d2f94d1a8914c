"""The transcription worker's queue: background jobs give way to dictation.

The jobs here are plain functions on a real worker thread (the engine's tests run the same
queue with the model: tests/test_engine.py); a "decode" is a loop that asks ``cancel`` at
each step, as the model asks it between decoding stages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from app.transcribe.whisper import DecodeCancelled
from app.transcribe_queue import TranscribeQueue
from tests.fixtures.waiting import wait_for


class _Worker:
    """A queue with its worker thread, and the order in which things happened."""

    def __init__(self) -> None:
        self.recording = False
        self.queue = TranscribeQueue(lambda: self.recording)
        self.done: list[str] = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while (job := self.queue.jobs.get()) is not None:
            job()

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(10)


@pytest.fixture
def worker() -> Iterator[_Worker]:
    w = _Worker()
    yield w
    w.stop()


def _decode(worker: _Worker, name: str, started: threading.Event, release: threading.Event):  # type: ignore[no-untyped-def]
    """A background job that "decodes" until ``release`` is set, asking ``cancel`` meanwhile."""

    def job(cancel: Callable[[], bool]) -> None:
        worker.done.append(f"{name} started")
        started.set()
        while not release.wait(0.01):
            if cancel():
                raise DecodeCancelled
        worker.done.append(name)

    return job


def test_a_background_decode_gives_way_to_a_dictation_and_starts_over(worker: _Worker) -> None:
    started, release = threading.Event(), threading.Event()
    worker.queue.background(_decode(worker, "again", started, release))
    assert started.wait(10)

    def dictation() -> None:
        worker.done.append("dictation")
        release.set()  # the next run of the decode finishes at once

    worker.queue.dictation(dictation)
    wait_for(lambda: "again" in worker.done, timeout=10, what="the decode to finish")
    assert worker.done == ["again started", "dictation", "again started", "again"]


def test_a_background_job_waits_while_a_recording_is_under_way(worker: _Worker) -> None:
    worker.recording = True
    ran = threading.Event()

    def again(cancel: Callable[[], bool]) -> None:
        worker.done.append("again")
        ran.set()

    worker.queue.background(again)
    checked = threading.Event()
    worker.queue.put(checked.set)  # a job behind it: the worker has been past it
    assert checked.wait(10)
    assert worker.done == []  # held back, not run
    worker.queue.dictation(lambda: worker.done.append("stream"))
    with worker.queue.recording_ending():
        worker.recording = False
        worker.queue.dictation(lambda: worker.done.append("finish"))
    assert ran.wait(10)
    assert worker.done == ["stream", "finish", "again"]


def test_without_dictation_a_background_job_runs_in_turn(worker: _Worker) -> None:
    seen: list[bool] = []
    worker.queue.background(lambda cancel: seen.append(cancel()))
    worker.queue.put(lambda: worker.done.append("after"))
    wait_for(lambda: worker.done, timeout=10, what="the job behind it")
    assert seen == [False]  # asked by the job: no dictation wanted the worker


def test_a_decode_beside_a_job_that_gave_way_stays_cancelled(worker: _Worker) -> None:
    """A background job's ``cancel`` latches: the plain reading a long vocabulary decodes beside
    the job's own (another thread) asked it once the dictation's job had started, was told no,
    and ran on beside the dictation."""
    started, ask_now = threading.Event(), threading.Event()
    answers: list[bool] = []
    side: list[threading.Thread] = []

    def again(cancel: Callable[[], bool]) -> None:
        if side:  # run again after the dictation: done at once
            worker.done.append("again")
            return

        def beside() -> None:  # asks only while the dictation runs
            assert ask_now.wait(10)
            answers.append(cancel())

        side.append(threading.Thread(target=beside, daemon=True))
        side[0].start()
        started.set()
        wait_for(cancel, timeout=10, what="the dictation to be queued")
        raise DecodeCancelled

    worker.queue.background(again)
    assert started.wait(10)

    def dictation() -> None:
        worker.done.append("dictation")
        ask_now.set()
        wait_for(lambda: answers, timeout=10, what="the decode beside to ask")

    worker.queue.dictation(dictation)
    wait_for(lambda: "again" in worker.done, timeout=10, what="the job run again")
    assert answers == [True], answers  # was [False]: the dictation's job had started
    assert worker.done == ["dictation", "again"]


def test_no_background_job_starts_while_a_recording_is_being_ended(worker: _Worker) -> None:
    """Between a recording no longer being under way and its last job being queued, a background
    job found no dictation wanting the worker and started (the last job then waited a stage)."""
    worker.recording = True
    with worker.queue.recording_ending():
        worker.recording = False  # the recording stopped; its job is not queued yet
        worker.queue.background(lambda cancel: worker.done.append("again"))
        checked = threading.Event()
        worker.queue.put(checked.set)
        assert checked.wait(10)
        assert worker.done == []  # held back, not run in the gap
        worker.queue.dictation(lambda: worker.done.append("finish"))
    wait_for(lambda: "again" in worker.done, timeout=10, what="the job held back")
    assert worker.done == ["finish", "again"]


def test_a_latched_cancel_is_not_undone_by_a_slower_no() -> None:
    """Two threads ask at once: one told yes, one whose "no" comes back later; the "no" used to
    overwrite the "yes"."""
    from app.transcribe_queue import _Latch

    answers = iter([False, True])
    slow_no, asked = threading.Event(), threading.Event()

    def ask() -> bool:
        answer = next(answers)
        if not answer:  # the first asker's "no" is held up until the other has said yes
            asked.set()
            assert slow_no.wait(10)
        return answer

    latch = _Latch(ask)
    first = threading.Thread(target=latch)
    first.start()
    assert asked.wait(10)
    assert latch() is True
    slow_no.set()
    first.join(10)
    assert latch() is True  # was False
