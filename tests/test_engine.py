"""The engine without microphone or hotkeys: audio in, text pasted on a real X display, history."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from app import events as ev
from app.audio.spool import Spool, read_note
from app.config import HotkeySettings, ModelSettings, Settings
from app.engine import Engine
from app.history.store import HistoryStore
from app.paths import get_paths
from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.whisper import WhisperTranscriber
from tests.fixtures.holder import sqlite_held_exclusively, sqlite_writes_held
from tests.fixtures.llama import OpenAIChatStub, SilentStub, model_entry, write_llm_models
from tests.fixtures.pulse import PulseServer
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.slow


class Recorder:
    """Collects engine events (a real subscriber, like the tray)."""

    def __init__(self) -> None:
        self.events: list[ev.EngineEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: ev.EngineEvent) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: type) -> list:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def engine(x_env) -> Engine:
    settings = Settings()
    settings.vocabulary.terms = ["scikit-learn"]
    eng = Engine(settings, enable_hotkeys=False, enable_audio=False)
    yield eng
    eng.shutdown()


def _start(engine: Engine) -> Recorder:
    seen = Recorder()
    engine.subscribe(seen)
    engine.start()
    assert engine.wait_ready(120)
    return seen


def _dictate_once(eng: Engine, target_window, speak) -> tuple[Recorder, ev.UtteranceResult]:  # type: ignore[no-untyped-def]
    """Start ``eng``, dictate "The meeting moved to Thursday." into the target window; the
    events seen and the result."""
    seen = _start(eng)
    target_window.focus()
    eng.dictate_audio(load_audio(speak("The meeting moved to Thursday.", speed=150)))
    return seen, wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]


def _said(seen: Recorder, kind: type, part: str, what: str, timeout: float = 60) -> list:
    """Wait until ``seen`` holds an event of ``kind`` whose message contains ``part``; those events."""
    return wait_for(lambda: [e for e in seen.of(kind) if part in e.message], timeout=timeout, what=what)


def test_dictated_audio_is_pasted_and_kept_in_history(engine, target_window, clipboard, speak):
    seen = _start(engine)
    clipboard.set("keep me")
    target_window.focus()
    engine.dictate_audio(load_audio(speak("We use scikit learn for machine learning.", speed=150)))
    result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
    assert result.outcome == ev.Outcome.PASTED, result
    assert "scikit-learn" in result.text
    wait_for(lambda: "scikit-learn" in target_window.text(), timeout=15, what="pasted text")
    wait_for(lambda: clipboard.get() == "keep me", timeout=10, what="clipboard restored")
    entry = engine.history.get(result.history_id)
    assert entry is not None and entry.outcome == ev.Outcome.PASTED
    assert entry.text == result.text and entry.raw == result.raw
    states = [e.state for e in seen.of(ev.StateChanged)]
    assert states == [ev.State.TRANSCRIBING, ev.State.INSERTING, ev.State.IDLE]
    assert seen.of(ev.EngineReady)[0].model == "tiny.en"


def test_utterances_queue_and_are_inserted_in_order(engine, target_window, speak):
    seen = _start(engine)
    target_window.focus()
    engine.dictate_audio(load_audio(speak("First sentence about apples.", speed=150)))
    engine.dictate_audio(load_audio(speak("Second sentence about oranges.", speed=150)))
    results = wait_for(
        lambda: len(seen.of(ev.UtteranceResult)) == 2 and seen.of(ev.UtteranceResult),
        timeout=90,
        what="two results",
    )
    assert [r.generation for r in results] == [1, 2]
    assert all(r.outcome == ev.Outcome.PASTED and r.text for r in results), results
    first, second = results[0].text, results[1].text

    def both() -> str | None:
        text = target_window.text()
        return text if first in text and second in text else None

    text = wait_for(both, timeout=15, what=f"{first!r} and {second!r} in the window")
    assert text.index(first) < text.index(second), text


def test_cancel_while_processing_inserts_nothing_but_keeps_history(engine, target_window, speak):
    seen = _start(engine)
    target_window.focus()
    engine.dictate_audio(load_audio(speak("Nobody should ever see this text.", speed=150)))
    engine.cancel()
    result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
    assert result.outcome == ev.Outcome.CANCELLED
    assert engine.history.get(result.history_id).text == result.text
    assert target_window.text() == ""


def test_escape_once_the_text_is_going_in_says_it_is_too_late(engine, target_window, speak):
    """From a review: Esc while the paste waited on a busy window said "Dictation cancelled;
    nothing will be inserted.", and then the text went in. (The window is frozen with SIGSTOP:
    a real app that does not answer for a while.)"""
    import signal

    from app.engine import TOO_LATE_TO_CANCEL

    seen = _start(engine)
    target_window.focus()
    target_window.proc.send_signal(signal.SIGSTOP)
    try:
        engine.dictate_audio(load_audio(speak("The meeting moved to Thursday.", speed=150)))
        wait_for(
            lambda: ev.State.INSERTING in [e.state for e in seen.of(ev.StateChanged)],
            timeout=60,
            what="the paste under way",
        )
        engine.cancel()
        _said(seen, ev.Notice, "Too late to cancel", "the too-late notice", timeout=10)
    finally:
        target_window.proc.send_signal(signal.SIGCONT)
    result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
    assert result.outcome != ev.Outcome.CANCELLED
    notices = [n.message for n in seen.of(ev.Notice)]
    assert TOO_LATE_TO_CANCEL in notices and not any("nothing will be inserted" in n for n in notices)


def _esc_as_it_ends(engine: Engine) -> threading.Event:
    """Press Esc when ``engine`` publishes a dictation's result (its last step, as the tray
    hears it), and hold that step until the engine answers; the event is set once it did."""
    answered = threading.Event()

    def esc_as_it_ends(event: ev.EngineEvent) -> None:
        if isinstance(event, ev.UtteranceResult):
            engine.cancel()
            answered.wait(30)
        elif isinstance(event, ev.Notice) and event.source == "engine":
            answered.set()

    engine.subscribe(esc_as_it_ends)
    return answered


def test_escape_after_the_text_went_in_says_it_is_too_late(engine, target_window, speak):
    """From a review: Esc after the paste, while the entry was still being written (a second
    or more when another program holds the history), said "Dictation cancelled; nothing will
    be inserted." of text already in the window. Here Esc comes as the result is published,
    the last step before the dictation is done: a subscriber (as the tray is) presses it, and
    waits for the engine's answer before it lets the dictation end."""
    from app.engine import TOO_LATE_TO_CANCEL

    answered = _esc_as_it_ends(engine)
    seen, result = _dictate_once(engine, target_window, speak)
    assert answered.is_set()
    assert result.outcome == ev.Outcome.PASTED and "thursday" in target_window.text().lower()
    notices = [n.message for n in seen.of(ev.Notice) if n.source == "engine"]
    assert notices == [TOO_LATE_TO_CANCEL], notices


def test_escape_as_an_empty_dictation_ends_is_not_told_it_is_too_late(engine, target_window):
    """From a review: a dictation with nothing to put in (silence) was told "Too late to
    cancel: the text is already going in" of Esc pressed while its entry was written."""
    from app.engine import TOO_LATE_TO_CANCEL

    answered = _esc_as_it_ends(engine)
    seen = _start(engine)
    target_window.focus()
    engine.dictate_audio(np.zeros(16000, np.float32))
    result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
    assert result.outcome == ev.Outcome.EMPTY and answered.is_set()
    notices = [n.message for n in seen.of(ev.Notice) if n.source == "engine"]
    assert TOO_LATE_TO_CANCEL not in notices and "Dictation cancelled; nothing will be inserted." in notices


def test_silence_gives_an_empty_result_and_nothing_is_pasted(engine, target_window):
    seen = _start(engine)
    target_window.focus()
    engine.dictate_audio(np.zeros(16000, np.float32))
    result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
    assert result.outcome == ev.Outcome.EMPTY
    assert target_window.text() == ""
    # Digital silence (a muted microphone, a speaker's monitor chosen as the input) is said: an
    # empty result came back each time without a word on why.
    said = [n.message for n in seen.of(ev.Notice) if "Heard only silence" in n.message]
    assert len(said) == 1 and "Settings → Audio" in said[0], seen.of(ev.Notice)
    # A quiet room (noise at about -60 dBFS) is a microphone that works: nothing to say.
    room = np.random.default_rng(7).normal(0, 0.001, 32000).astype(np.float32)
    engine.dictate_audio(room)
    wait_for(lambda: len(seen.of(ev.UtteranceResult)) == 2, timeout=60, what="a second result")
    assert len([n for n in seen.of(ev.Notice) if "Heard only silence" in n.message]) == 1


def test_failed_paste_leaves_text_in_history_and_on_clipboard(x_env, speak, monkeypatch):
    audio = load_audio(speak("The meeting moved to Thursday.", speed=150))
    # A real failure: no xdotool or xclip on PATH, so the paste keystroke cannot be sent.
    monkeypatch.setenv("PATH", "/nonexistent")
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False)
    try:
        seen = _start(eng)
        eng.dictate_audio(audio)
        result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
    finally:
        eng.shutdown()
    assert result.outcome == ev.Outcome.FAILED
    assert "thursday" in result.text.lower()
    assert any("clipboard" in e.message for e in seen.of(ev.ErrorRaised))


def test_failed_typing_leaves_the_text_on_the_clipboard_as_the_notice_says(
    x_env, clipboard, target_window, speak, monkeypatch, tmp_path: Path
):
    # "… The text is on the clipboard and in history." after a failed type, which never put it there.
    only_clipboard = tmp_path / "bin"
    only_clipboard.mkdir()
    for tool in ("xclip", "xsel"):
        if found := shutil.which(tool):
            (only_clipboard / tool).symlink_to(found)
    clipboard.set("what the user had copied")
    later = load_audio(speak("The meeting moved to Thursday.", speed=150))
    eng = Engine(Settings(paste={"strategy": "type"}), enable_hotkeys=False, enable_audio=False)
    try:
        seen = _start(eng)
        eng.dictate_audio(load_audio(speak("Open the settings window.", speed=150)))
        first = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
        assert first.outcome == ev.Outcome.TYPED, first
        monkeypatch.setenv("PATH", str(only_clipboard))  # xdotool gone once the inserter was chosen
        eng.dictate_audio(later)
        second = wait_for(lambda: seen.of(ev.UtteranceResult)[1:], timeout=60, what="a second result")[0]
        assert second.outcome == ev.Outcome.FAILED and "xdotool" in (second.error or ""), second
        assert any("on the clipboard" in e.message for e in seen.of(ev.ErrorRaised))
        wait_for(lambda: "Thursday" in (clipboard.get() or ""), timeout=10, what="the text on the clipboard")
    finally:
        eng.shutdown()


def _start_and_recover(settings: Settings | None = None) -> Recorder:
    """Start an engine (no microphone, no hotkeys; ``settings``, else the defaults), wait until
    it says what it recovered from the spool, shut it down; the events it gave."""
    eng = Engine(settings or Settings(), enable_hotkeys=False, enable_audio=False)
    try:
        seen = _start(eng)
        wait_for(
            lambda: [n for n in seen.of(ev.Notice) if n.message.startswith("Recovered")],
            timeout=60,
            what="the recovery notice",
        )
    finally:
        eng.shutdown()
    return seen


def _crash_leftover(speak, mode: str | None = None) -> tuple[Spool, Path, np.ndarray]:  # type: ignore[no-untyped-def]
    """A spool file whose writer is gone (as after kill -9): written, never closed, its lock
    released; the spool, the file and its audio ("Buy milk and bread on the way home."),
    dictated in ``mode`` when given."""
    spool = Spool(get_paths().spool_dir)
    writer = spool.open(7)
    if mode is not None:
        writer.note(mode=mode)  # as the engine notes it when the key goes down
    audio = load_audio(speak("Buy milk and bread on the way home.", speed=150))
    writer.write(audio)
    assert writer.flush()
    writer._file.close()  # the process "dies": its lock goes away, the file stays
    # Its header as of a flush half a second earlier: the last writes came after it.
    with writer.path.open("r+b") as torn:
        torn.seek(40)
        torn.write((2 * (len(audio) - 8000)).to_bytes(4, "little"))
    return spool, writer.path, audio


def test_leftover_spool_is_recovered_into_history(x_env, speak, holdtype_home: Path):
    spool, path, audio = _crash_leftover(speak)
    ended = path.stat().st_mtime
    seen = _start_and_recover()
    notices = [n.message for n in seen.of(ev.Notice) if n.source == "recovery"]
    assert notices[0].startswith("Recovering 1 recording") and "Recovered 1 recording" in notices[1]
    rows = HistoryStore(get_paths().history_db).list(5)
    assert [r.outcome for r in rows] == [ev.Outcome.RECOVERED]
    assert "milk" in rows[0].text.lower()
    # Dated when it started, not when the file was last written (as it ended).
    assert rows[0].created == pytest.approx(ended - len(audio) / 16000, abs=0.01)
    assert rows[0].audio_path and Path(rows[0].audio_path).exists()
    # The kept file is whole for a player: its header was as old as the spool's last flush.
    with wave.open(rows[0].audio_path) as kept:
        assert kept.getnframes() == len(audio)
    assert spool.leftovers() == []


def test_a_recovered_recording_that_cannot_be_deleted_does_not_stop_the_others(
    x_env, speak, holdtype_home: Path
):
    """From a review: an error deleting a recovered spool file (a spool folder made read-only)
    ended the recovery, and the recordings after it waited for the next start. (Root, as the
    tests run, writes in a read-only folder: a folder where the first one's note goes makes
    the deletion fail for real.)"""
    from app.audio.spool import note_path

    _spool, first, _audio = _crash_leftover(speak)
    note_path(first).unlink(missing_ok=True)
    note_path(first).mkdir()  # (unlink: EISDIR)
    _spool, second, _audio = _crash_leftover(speak)
    seen = _start_and_recover()
    assert [n for n in seen.of(ev.Notice) if n.message.startswith("Recovered 2 recording")]
    rows = HistoryStore(get_paths().history_db).list(5)
    assert [r.outcome for r in rows] == [ev.Outcome.RECOVERED] * 2
    assert not first.exists() and not second.exists()


def test_a_recovered_recording_history_cannot_take_is_added_once_it_can(  # type: ignore[no-untyped-def]
    x_env, speak, holdtype_home: Path, local_llm
):
    """A crash's recording transcribed at the start while another program held the history:
    its transcript was dropped and the recording waited for the next start (transcribed
    again then), each try holding the transcription worker for the store's 10 s wait. Its
    entry waits beside it, as a dictation's does, and is added during the session; then the
    mode it was dictated in runs on it (from a review: it never did)."""
    spool, path, audio = _crash_leftover(speak, mode="clean")
    HistoryStore(get_paths().history_db).close()  # (as the user's earlier runs left it)
    eng = Engine(
        Settings.model_validate({"llm": {"model": local_llm.model_id}}),
        enable_hotkeys=False,
        enable_audio=False,
    )
    seen = Recorder()
    eng.subscribe(seen)
    try:
        with sqlite_held_exclusively(get_paths().history_db):
            eng.start()
            said = wait_for(
                lambda: [e for e in seen.of(ev.ErrorRaised) if "could not add the recovered" in e.message],
                timeout=120,
                what="the word that the recovered recording waits for history",
            )
            assert "added once history can be written" in said[0].message, said
            assert path.exists() and "milk" in read_note(path)["entry"]["text"].lower()
        before = local_llm.requests
        added = wait_for(
            lambda: [n for n in seen.of(ev.Notice) if n.message.startswith("Recovered 1 recording")],
            timeout=60,
            what="the recovered recording's addition to history, without a restart",
        )
        (result,) = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=180, what="its mode's result")
        rows = eng.history.list(5)
    finally:
        eng.shutdown()
    assert "milk" in added[0].said.lower(), added
    assert result.mode == "clean" and local_llm.requests == before + 1  # the model was asked, once
    assert [(r.outcome, r.mode, r.audio_seconds) for r in rows] == [
        (ev.Outcome.RECOVERED, "clean", len(audio) / 16000)
    ], rows
    assert "milk" in rows[0].text.lower() and rows[0].audio_path and Path(rows[0].audio_path).exists()
    assert spool.leftovers() == [] and not path.exists()
    starts = [n for n in seen.of(ev.Notice) if n.message.startswith("Recovering")]
    assert len(starts) == 1, starts  # transcribed once


def test_a_recovered_recording_goes_through_the_mode_it_was_dictated_in(  # type: ignore[no-untyped-def]
    x_env, speak, holdtype_home: Path, local_llm
):
    # A crash while dictating in clean mode: the recovered entry was "raw", the mode forgotten.
    spool = Spool(get_paths().spool_dir)
    writer = spool.open(8)
    writer.note(mode="clean")  # as the engine notes it when the key goes down
    audio = load_audio(speak("So um we should uh ship the release today.", speed=150))
    writer.write(audio)
    assert writer.flush()
    writer._file.close()  # the process "dies"
    before = local_llm.requests
    eng = Engine(
        Settings.model_validate({"llm": {"model": local_llm.model_id}}),
        enable_hotkeys=False,
        enable_audio=False,
    )
    try:
        seen = _start(eng)
        wait_for(lambda: seen.of(ev.UtteranceResult), timeout=180, what="the recovered entry's result")
    finally:
        eng.shutdown()
    (result,) = seen.of(ev.UtteranceResult)
    assert result.mode == "clean" and result.outcome == ev.Outcome.RECOVERED
    assert local_llm.requests == before + 1  # the model was asked, once
    (row,) = HistoryStore(get_paths().history_db).list(5)
    assert (row.id, row.mode, row.text) == (result.history_id, "clean", result.text)
    assert "release" in row.raw.lower() and row.audio_path and Path(row.audio_path).exists()
    assert [n for n in seen.of(ev.Notice) if n.message.startswith("Recovered 1 recording")]


def test_an_unreadable_spool_file_is_reported_once_and_an_empty_one_goes_quietly(holdtype_home: Path):
    # Left by a crash before the header was written (empty), right after it (a header and no
    # audio: it became a "(no speech)" history entry) or by a full disk (a torn header): all
    # were reported at every start and never removed.
    spool_dir = get_paths().spool_dir
    spool_dir.mkdir(parents=True)
    empty = spool_dir / "utt-20261202-040000-p99999-g1.wav"
    empty.write_bytes(b"")
    header_only = spool_dir / "utt-20261202-040002-p99999-g3.wav"
    with wave.open(str(header_only), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
    torn = spool_dir / "utt-20261202-040001-p99999-g2.wav"
    torn.write_bytes(b"RIFF\x24\x00")
    said: list[list[str]] = []
    for _ in range(2):  # two starts
        eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False)
        try:
            seen = _start(eng)
            wait_for(lambda: not any(spool_dir.glob("*.wav")), timeout=30, what="the spool emptied")
        finally:
            eng.shutdown()
        said.append([e.message for e in seen.of(ev.ErrorRaised)])
    assert said[1] == [], said
    assert len(said[0]) == 1 and torn.name in said[0][0] and empty.name not in said[0][0], said
    assert HistoryStore(get_paths().history_db).list(5) == []
    (kept,) = spool_dir.iterdir()
    assert kept.name.startswith(torn.name + ".broken-") and str(kept) in said[0][0]
    assert kept.read_bytes() == b"RIFF\x24\x00"


def test_settings_applied_says_which_part_could_not_be_set_up(holdtype_home, monkeypatch):  # type: ignore[no-untyped-def]
    """With no display the hotkey cannot be armed (a real failure of a real part): the notice
    for a hotkey change said "Settings applied." all the same."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    eng = Engine(Settings(), enable_hotkeys=True, enable_audio=False)
    try:
        seen = _start(eng)
        applied = eng.apply_settings(Settings(hotkey=HotkeySettings(key="f9")))
        notice = wait_for(
            lambda: next((n for n in seen.of(ev.Notice) if n.source == "settings"), None),
            timeout=30,
            what="the settings notice",
        )
        assert notice.message.startswith("Settings applied, except:") and "hotkey" in notice.message
        assert notice.applied == applied  # (the settings window knows its save's notice by it)
    finally:
        eng.shutdown()


@contextlib.contextmanager
def _history_held(eng: Engine) -> Iterator[None]:
    """Another program (a database browser, a real process) holds the history's write lock
    meanwhile; it is still read."""
    with sqlite_writes_held(eng.history.path):
        yield


def test_a_history_held_by_another_program_does_not_stop_the_dictation(engine, target_window, speak):
    seen = _start(engine)
    target_window.focus()
    with _history_held(engine):
        engine.dictate_audio(load_audio(speak("We use scikit learn for machine learning.", speed=150)))
        result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
    assert result.outcome == ev.Outcome.PASTED and result.history_id is None
    wait_for(lambda: "scikit-learn" in target_window.text(), timeout=15, what="pasted text")
    said = [e.message for e in seen.of(ev.ErrorRaised) if e.source == "history"]
    assert len(said) == 1 and "not in history" in said[0] and "scikit-learn" in said[0], said
    # (back to idle just after the result: the stage goes through the engine's command queue)
    wait_for(lambda: seen.of(ev.StateChanged)[-1].state == ev.State.IDLE, timeout=15, what="idle again")
    # Once the other program lets go, dictations are kept again.
    engine.dictate_audio(load_audio(speak("Second try.", speed=150)))
    second = wait_for(lambda: seen.of(ev.UtteranceResult)[1:], timeout=60, what="a second result")[0]
    assert second.history_id is not None and engine.history.get(second.history_id) is not None


def test_a_mode_that_fails_in_an_unforeseen_way_pastes_the_plain_transcript(
    x_env, target_window, speak, monkeypatch
):
    from app.llm.runner import ModeRunner

    def broken(self, mode, text, **kwargs):  # FAKE: a bug in the runner, not a model's failure
        raise RuntimeError("unexpected")

    monkeypatch.setattr(ModeRunner, "run", broken)
    settings = Settings()
    settings.modes.active = "clean"
    eng = Engine(settings, enable_hotkeys=False, enable_audio=False)
    try:
        seen, result = _dictate_once(eng, target_window, speak)
        assert result.outcome == ev.Outcome.PASTED and "thursday" in result.text.lower(), result
        wait_for(lambda: "Thursday" in target_window.text(), timeout=15, what="pasted text")
        assert any("plain transcript" in e.message for e in seen.of(ev.Notice))
        assert eng.history.get(result.history_id).text == result.text
    finally:
        eng.shutdown()


def test_a_cancel_while_a_hung_model_is_asked_frees_the_next_dictation(x_env, target_window, speak):
    """Esc after the release, while the mode's model had not answered, was taken ("nothing will
    be inserted") but the output worker kept waiting on the model for llm.timeout_s, and the
    next dictation, with no mode at all, waited behind it."""
    stub = SilentStub()  # STUB: a hung LLM server (accepts, never answers); none hangs on cue
    write_llm_models([model_entry("hung", stub.api_base)])
    settings = Settings()
    settings.modes.active = "clean"
    settings.llm.model = "hung"
    settings.llm.timeout_s = 600.0  # far past every wait below
    eng = Engine(settings, enable_hotkeys=False, enable_audio=False)
    try:
        seen = _start(eng)
        target_window.focus()
        eng.dictate_audio(load_audio(speak("Nobody should ever see this text.", speed=150)))
        assert stub.accepted.wait(60), "the mode never asked the model"
        eng.cancel()
        first = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=30, what="the cancelled result")[0]
        assert first.outcome == ev.Outcome.CANCELLED, first
        assert not [n for n in seen.of(ev.Notice) if "fell back" in n.message]  # a cancel is no failure
        eng.dictate_audio(load_audio(speak("The meeting moved to Thursday.", speed=150)), mode="raw")
        second = wait_for(lambda: seen.of(ev.UtteranceResult)[1:], timeout=60, what="the next result")[0]
        assert second.outcome == ev.Outcome.PASTED, second
        wait_for(lambda: "Thursday" in target_window.text(), timeout=15, what="pasted text")
        assert "Nobody" not in target_window.text()
    finally:
        eng.shutdown()
        stub.close()


def test_history_keeps_why_the_mode_fell_back_and_how_long_it_took(x_env, target_window, speak):
    """A dictation whose mode's model timed out was kept with error null, text == raw, no
    fallback reason, and release_to_text_ms 28.9 though the paste came 5.4 s after the release:
    the reason and the time spent in the mode are kept, and the release-to-paste time."""
    import json

    from tests.cli import holdtype

    stub = SilentStub()  # STUB: a hung LLM server (accepts, never answers); none hangs on cue
    write_llm_models([model_entry("hung", stub.api_base)])
    settings = Settings()
    settings.modes.active = "clean"
    settings.llm.model = "hung"
    settings.llm.timeout_s = 2.0
    eng = Engine(settings, enable_hotkeys=False, enable_audio=False)
    try:
        seen = _start(eng)
        target_window.focus()
        eng.dictate_audio(load_audio(speak("The meeting moved to Thursday.", speed=150)))
        result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=90, what="a result")[0]
        assert result.outcome == ev.Outcome.PASTED, result
    finally:
        eng.shutdown()
        stub.close()
    (row,) = HistoryStore(get_paths().history_db).list(5)
    assert row.error is None and row.fallback_reason is not None
    assert "no reply from hung within 2 s" in row.fallback_reason, row.fallback_reason
    assert row.llm_ms is not None and row.llm_ms >= 1900  # (it waited the time limit)
    assert row.release_to_insert_ms is not None and row.release_to_text_ms is not None
    assert row.release_to_insert_ms >= row.release_to_text_ms + row.llm_ms - 1
    shown = holdtype("history", "show", str(row.id))
    assert shown.returncode == 0 and "fallback_reason: no reply from hung within 2 s" in shown.stdout, (
        shown.stdout
    )
    assert "release_to_insert_ms:" in shown.stdout and "llm_ms:" in shown.stdout
    as_json = json.loads(holdtype("history", "show", str(row.id), "--json").stdout)
    assert "no reply from hung" in as_json["fallback_reason"] and as_json["llm_ms"] >= 1900
    listed = json.loads(holdtype("history", "list", "--json").stdout.splitlines()[0])
    assert listed["fallback_reason"] == as_json["fallback_reason"]


def test_deleting_an_entry_deletes_the_llm_reply_made_from_it(x_env, target_window, speak):
    """A mode's reply is cached with the dictation in its prompt: `history delete` removed the
    entry and its recording, and the words stayed in the reply cache."""
    import sqlite3

    from app.llm.cache import LLMCache
    from tests.cli import holdtype

    stub = OpenAIChatStub(["The meeting moved to Thursday."])  # STUB: an OpenAI-compatible server
    write_llm_models([model_entry("stub", stub.api_base)])
    settings = Settings()
    settings.modes.active = "clean"
    settings.llm.model = "stub"
    eng = Engine(settings, enable_hotkeys=False, enable_audio=False)
    try:
        result = _dictate_once(eng, target_window, speak)[1]
        assert result.outcome == ev.Outcome.PASTED and stub.bodies, result
    finally:
        eng.shutdown()
        stub.close()
    with LLMCache() as cache:
        assert [e.text for e in cache.entries()] == ["The meeting moved to Thursday."]
    deleted = holdtype("history", "delete", str(result.history_id))
    assert deleted.returncode == 0, deleted.stderr
    with LLMCache() as cache:
        assert cache.entries() == []
        assert cache._cache._sql("PRAGMA secure_delete").fetchone()[0] == 1  # words overwritten
    history = sqlite3.connect(get_paths().history_db)
    try:
        assert history.execute("SELECT COUNT(*) FROM mode_replies").fetchone()[0] == 0
    finally:
        history.close()


def test_a_model_that_cannot_load_fails_the_dictation_and_the_next_model_loads(x_env, target_window, speak):
    """A real load failure (a damaged download of base.en: CTranslate2 refuses its weights):
    the dictation used to wait for the model for ever, and so did the load of the model picked
    next, queued behind it. (A model that is not there at all gives way to the embedded one.)"""
    from app.transcribe.models import downloaded_path

    damaged = downloaded_path("base.en")
    damaged.mkdir(parents=True)
    (damaged / "config.json").write_text("{}")
    (damaged / "model.bin").write_bytes(b"not a model" * 100)
    settings = Settings()
    settings.model.name = "base.en"
    eng = Engine(settings, enable_hotkeys=False, enable_audio=False)
    seen = Recorder()
    eng.subscribe(seen)
    try:
        eng.start()
        wait_for(
            lambda: [e for e in seen.of(ev.ErrorRaised) if e.source == "model"],
            timeout=60,
            what="the load error",
        )
        audio = load_audio(speak("The meeting moved to Thursday.", speed=150))
        eng.dictate_audio(audio)
        failed = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
        assert failed.outcome == ev.Outcome.FAILED and failed.text == ""
        assert failed.error and "cannot load model 'base.en'" in failed.error, failed.error
        assert "holdtype models download base.en" in failed.error
        assert eng.history.get(failed.history_id).outcome == ev.Outcome.FAILED
        eng.apply_settings(Settings())  # back to the embedded tiny.en
        assert eng.wait_ready(120)
        target_window.focus()
        eng.dictate_audio(audio)
        second = wait_for(lambda: seen.of(ev.UtteranceResult)[1:], timeout=60, what="a second result")[0]
        assert second.outcome == ev.Outcome.PASTED and "thursday" in second.text.lower(), second
    finally:
        eng.shutdown()


def _damaged_tokenizer_download(name: str) -> None:
    """Model ``name`` downloaded, then its tokenizer.json cut short (a disk error, a copy
    stopped midway): the embedded tiny.en's real files in its folder, one of them damaged."""
    from app.transcribe.models import downloaded_path, embedded_model_path

    folder = downloaded_path(name)
    shutil.copytree(embedded_model_path(), folder)
    (folder / "tokenizer.json").write_text('{"version": "1.0", "model": {"vocab')


def _two_failed_dictations(eng: Engine, seen: Recorder, pulse, speak) -> list[ev.UtteranceResult]:  # type: ignore[no-untyped-def]
    """Start ``eng``, dictate twice into the microphone; the two results, once the engine is
    idle again, each checked to be a failed entry in history with its whole recording."""
    eng.start()
    speech = speak("The meeting moved to Thursday.", speed=150)
    for n in (1, 2):
        eng.begin()
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
        pulse.play(speech)
        eng.end()
        wait_for(lambda: seen.of(ev.UtteranceResult)[n - 1 :], timeout=60, what=f"result {n}")  # noqa: B023
    wait_for(lambda: eng.state == ev.State.IDLE, timeout=30, what="the engine idle again")
    results = seen.of(ev.UtteranceResult)
    for result in results:
        assert result.outcome == ev.Outcome.FAILED and result.text == "", result
        assert eng.history.get(result.history_id).outcome == ev.Outcome.FAILED
        assert _kept_seconds(result) == pytest.approx(result.audio_seconds, abs=0.01)  # the words kept
    assert not list(get_paths().spool_dir.glob("*.wav"))  # (their spool files closed)
    return results


def test_a_damaged_tokenizer_fails_each_dictation_into_history_and_is_said_once(pulse, speak):
    """From a review: the tokenizer's parser raises a bare Exception, which went past every
    handler: each dictation vanished (not pasted, not in history, nothing said) and the state
    stayed "transcribing" for the rest of the session."""
    _damaged_tokenizer_download("base.en")
    settings = Settings()
    settings.model.name = "base.en"
    eng = Engine(settings, enable_hotkeys=False, enable_audio=True)
    seen = Recorder()
    eng.subscribe(seen)
    try:
        results = _two_failed_dictations(eng, seen, pulse, speak)
    finally:
        eng.shutdown()
    (said,) = [e.message for e in seen.of(ev.ErrorRaised) if e.source == "model"]  # at the start, once
    assert "tokenizer.json is damaged" in said, said
    assert "run: holdtype models remove base.en && holdtype models download base.en" in said, said
    assert all("tokenizer.json is damaged" in (r.error or "") for r in results), results


class _LoadFailsUnforeseen(WhisperTranscriber):
    """FAKE: a load that raises what no handler foresaw (a bug in a library). The real damaged
    files all become a ModelError now (see the test above); this one stands for the rest."""

    def load(self) -> None:
        raise KeyError("vocab")


def test_an_unforeseen_load_failure_fails_each_dictation_into_history_and_is_said_once(pulse, speak):
    eng = Engine(
        Settings(), enable_hotkeys=False, enable_audio=True, transcriber=_LoadFailsUnforeseen(ModelSettings())
    )
    seen = Recorder()
    eng.subscribe(seen)
    try:
        results = _two_failed_dictations(eng, seen, pulse, speak)
    finally:
        eng.shutdown()
    assert [e.message for e in seen.of(ev.ErrorRaised) if e.source == "model"] == ["'vocab'"]
    assert all("'vocab'" in (r.error or "") for r in results), results


class _LoadsOnCue(WhisperTranscriber):
    """FAKE timing (named as such): the real model's load waits for the test's cue first, since
    a quit that lands in the ~0.3 s the embedded model takes to load cannot be made on cue."""

    def __init__(self) -> None:
        super().__init__(ModelSettings())
        self.loading = threading.Event()
        self.go = threading.Event()

    def load(self) -> None:
        self.loading.set()
        self.go.wait(60)
        super().load()


def test_a_quit_during_the_model_load_does_not_say_ready_afterwards(holdtype_home: Path):
    """`holdtype run --no-tray` stopped while the model loaded printed "ready: ..." after
    "shutting down": the load ended, and the engine said it was ready while it was going away."""
    transcriber = _LoadsOnCue()
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False, transcriber=transcriber)
    seen = Recorder()
    eng.subscribe(seen)
    eng.start()
    assert transcriber.loading.wait(60)
    quitting = threading.Thread(target=eng.shutdown)
    quitting.start()
    wait_for(lambda: not eng._threads[0].is_alive(), timeout=30, what="the engine's loop to stop")
    transcriber.go.set()
    quitting.join(60)
    assert not quitting.is_alive()
    assert transcriber.load_ms is not None, "the load ran to its end"
    assert seen.of(ev.EngineReady) == []


def test_each_model_load_the_settings_begin_says_how_it_ended(holdtype_home: Path):
    """GPU (CUDA, which this machine lacks) chosen twice while the worker was busy: both loads
    read the newest settings, and the second's failure, the same as the first's, went unsaid.
    The settings window waits for each load it saw begin, and said "loading…" for good."""
    transcriber = _LoadsOnCue()  # (holds the worker, as a long dictation does)
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False, transcriber=transcriber)
    seen = Recorder()
    eng.subscribe(seen)
    try:
        eng.start()
        assert transcriber.loading.wait(60)
        for compute_type in ("float32", "int8"):
            eng.apply_settings(Settings(model={"device": "cuda", "compute_type": compute_type}))
        wait_for(lambda: len(seen.of(ev.ModelLoading)) == 2, timeout=30, what="both loads begun")
        transcriber.go.set()
        failed = wait_for(
            lambda: [e for e in seen.of(ev.ErrorRaised) if e.source == "model"][1:],
            timeout=60,
            what="the second load's end",
        )
        assert "CUDA" in failed[0].message, failed
        # Each end repeats its ModelLoading's serial (the window counts down those it saw begin).
        ended = [e.load for e in seen.of(ev.ErrorRaised) if e.source == "model"]
        assert ended == [e.load for e in seen.of(ev.ModelLoading)] == [1, 2], ended
    finally:
        transcriber.go.set()
        eng.shutdown()
    assert len(seen.of(ev.EngineReady)) == 1  # (the load at the start)


class _Holds:
    """A subscriber that holds up the thread publishing the first event ``which`` picks, until
    ``go`` is set (a tray slow to take an event does the same): the engine thread, held where
    a real one can be slow (a stalled sound server), while the test queues a quit behind it."""

    def __init__(self, which: Callable[[ev.EngineEvent], bool]) -> None:
        self.which = which
        self.held = threading.Event()
        self.go = threading.Event()

    def __call__(self, event: ev.EngineEvent) -> None:
        if not self.held.is_set() and self.which(event):
            self.held.set()
            self.go.wait(60)


def _quit_while_held(eng: Engine, hold: _Holds, queued: int) -> None:
    """Quit ``eng`` while ``hold`` holds its engine thread: once the quit has queued its Stop
    (``queued`` commands wait then), let the thread go; check the quit finished everything."""
    quitting = threading.Thread(target=eng.shutdown)
    quitting.start()
    wait_for(lambda: eng._commands.qsize() == queued, timeout=10, what="the quit's Stop queued")
    hold.go.set()
    quitting.join(60)
    assert not quitting.is_alive()
    # The quit waited out its 15 s and left the microphone recording, streamed for ever.
    assert not [t.name for t in eng._threads if t.is_alive()]


def test_a_press_queued_as_holdtype_quits_starts_no_recording(pulse):
    """From a review: a press still in the queue as the quit began (the engine thread busy,
    e.g. on a stalled sound server) started a recording after it: the quit hung 15 s with the
    microphone on, and the recording was not kept."""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    seen = _start(eng)
    hold = _Holds(lambda e: isinstance(e, ev.Notice) and e.source == "settings")
    eng.subscribe(hold)
    eng.apply_settings(eng.settings)  # (its notice holds the engine thread)
    assert hold.held.wait(30)
    eng.begin()
    _quit_while_held(eng, hold, queued=2)  # the press, and the Stop behind it
    assert ev.State.RECORDING not in [e.state for e in seen.of(ev.StateChanged)]
    assert not list(get_paths().spool_dir.glob("*.wav*"))


def test_a_recording_begun_as_holdtype_quits_is_ended_and_kept(pulse):
    """The other side of the same race: the press is being handled as the quit looks for a
    recording to end, and finds none yet. The Stop ends it; it is kept in history."""
    spool_dir = get_paths().spool_dir
    spool_dir.parent.mkdir(parents=True, exist_ok=True)
    spool_dir.write_text("")  # no spool: its error is published between the press and the recording
    # (the gate off: the few milliseconds recorded are kept, speech or not)
    eng = Engine(Settings(model={"speech_gate": False}), enable_hotkeys=False, enable_audio=True)
    seen = _start(eng)
    hold = _Holds(lambda e: isinstance(e, ev.ErrorRaised) and "without crash safety" in e.message)
    eng.subscribe(hold)
    eng.begin()
    assert hold.held.wait(30)
    _quit_while_held(eng, hold, queued=1)
    (result,) = seen.of(ev.UtteranceResult)
    assert result.history_id is not None
    assert HistoryStore(get_paths().history_db).get(result.history_id) is not None


def _dictate_again(eng, seen, x_env, pulse, speak, start: tuple[str, ...], stop: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """A second dictation with the hotkey (``start``, ``stop``: xdotool's arguments): it records
    and its words come out."""
    x_env.xdotool(*start)
    wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="the hotkey to record")
    pulse.play(speak("The weather is lovely today.", speed=150))
    x_env.xdotool(*stop)
    second = wait_for(lambda: seen.of(ev.UtteranceResult)[1:], timeout=60, what="a second result")[0]
    assert "lovely today" in second.text.lower(), second


def test_a_key_tap_that_ends_a_recording_started_from_the_tray_keeps_it(x_env, pulse, target_window, speak):
    """The tray starts a recording; a short tap of the hotkey (hold mode) stops it. The tap
    is under ``min_hold_s``, which used to discard the whole recording as a stray tap."""
    eng = Engine(Settings(), enable_hotkeys=True, enable_audio=True)
    try:
        seen = _start(eng)
        target_window.focus()
        eng.begin()  # what the tray's "Start dictation" does
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
        pulse.play(speak("Please book a table for four people.", speed=150))
        x_env.xdotool("key", "Caps_Lock")
        result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
        assert result.outcome == ev.Outcome.PASTED and "table" in result.text.lower(), result
        assert not [n for n in seen.of(ev.Notice) if "tap" in n.message.lower()]
        # The listener took no part in that recording: its next hold records as usual.
        _dictate_again(eng, seen, x_env, pulse, speak, ("keydown", "Caps_Lock"), ("keyup", "Caps_Lock"))
    finally:
        eng.shutdown()


def test_a_toggle_recording_stopped_from_the_tray_lets_the_next_press_start_one(
    x_env, pulse, target_window, speak
):
    """Toggle mode: the key starts a recording, the tray stops it. The listener still took
    it for running, so the next press was sent as a stop and did nothing."""
    eng = Engine(Settings(hotkey=HotkeySettings(mode="toggle")), enable_hotkeys=True, enable_audio=True)
    try:
        seen = _start(eng)
        target_window.focus()
        x_env.xdotool("key", "Caps_Lock")
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
        pulse.play(speak("Please book a table for four people.", speed=150))
        eng.end()  # what the tray's "Stop dictation" does
        wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")
        _dictate_again(eng, seen, x_env, pulse, speak, ("key", "Caps_Lock"), ("key", "Caps_Lock"))
    finally:
        eng.shutdown()


def test_in_toggle_mode_one_press_stops_a_recording_started_from_the_tray(x_env, pulse, target_window, speak):
    """Toggle mode: `holdtype dictate start` (or the tray) starts a recording; the key's press
    was taken as a start, ignored since one ran, and only a second press stopped it: the
    microphone stayed on after the press meant to stop it."""
    eng = Engine(Settings(hotkey=HotkeySettings(mode="toggle")), enable_hotkeys=True, enable_audio=True)
    try:
        seen = _start(eng)
        target_window.focus()
        eng.begin()  # what `holdtype dictate start` and the tray's "Start dictation" do
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
        pulse.play(speak("Please book a table for four people.", speed=150))
        x_env.xdotool("key", "Caps_Lock")  # one press
        result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
        assert result.outcome == ev.Outcome.PASTED and "table" in result.text.lower(), result
        # The next press starts a recording of its own, the one after stops it.
        _dictate_again(eng, seen, x_env, pulse, speak, ("key", "Caps_Lock"), ("key", "Caps_Lock"))
    finally:
        eng.shutdown()


def test_the_cancel_key_of_a_recording_started_from_the_tray_does_not_reach_the_window(
    x_env, pulse, target_window
):
    """The listener kept the cancel key from the focused window only for its own recordings:
    Esc cancelling one started from the tray (or `holdtype dictate start`) reached the window
    too (vim left insert mode). A letter as the cancel key shows it in the text field."""
    settings = Settings(hotkey=HotkeySettings(key="f9", cancel_key="e"))
    eng = Engine(settings, enable_hotkeys=True, enable_audio=True)
    try:
        seen = _start(eng)
        target_window.focus()
        eng.begin()
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
        x_env.xdotool("key", "e")
        _said(seen, ev.Notice, "cancelled", "the cancel")
        x_env.xdotool("type", "ok")
        target_window.wait_for_text("ok")
        assert target_window.text() == "ok"  # the "e" did not reach it
        wait_for(
            lambda: eng._listener is not None and eng._listener._cancel_grab is None,
            timeout=10,
            what="the key given back",
        )
        x_env.xdotool("key", "e")  # idle: the key is the window's again
        target_window.wait_for_text("oke")
    finally:
        eng.shutdown()


def test_an_inserter_that_raises_leaves_the_text_on_the_clipboard_and_in_history(
    x_env, clipboard, speak, monkeypatch
):
    from app.insert.x11 import X11Inserter

    def broken(self, text):  # FAKE: a bug or a stuck tool inside an inserter, not a real failure
        raise RuntimeError("stuck")

    monkeypatch.setattr(X11Inserter, "insert", broken)
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False)
    try:
        seen = _start(eng)
        eng.dictate_audio(load_audio(speak("The meeting moved to Thursday.", speed=150)))
        result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
        assert result.outcome == ev.Outcome.FAILED and "thursday" in result.text.lower(), result
        assert "stuck" in (result.error or "")
        assert any("clipboard" in e.message for e in seen.of(ev.ErrorRaised))
        wait_for(lambda: "Thursday" in (clipboard.get() or ""), timeout=10, what="the text on the clipboard")
        assert eng.history.get(result.history_id).text == result.text
    finally:
        eng.shutdown()


def test_history_past_its_retention_is_deleted_at_start_and_when_the_setting_changes(holdtype_home: Path):
    """history.retention_days was saved and shown in the settings window, and nothing ever
    deleted anything."""
    import time

    from app.events import Outcome
    from app.history.store import HistoryEntry

    now = time.time()
    audio = get_paths().audio_dir
    audio.mkdir(parents=True, exist_ok=True)
    wav = audio / "old.wav"
    wav.write_bytes(b"RIFF")
    with HistoryStore(get_paths().history_db) as store:
        store.add(
            HistoryEntry(Outcome.PASTED, text="forty days ago", created=now - 40 * 86400, audio_path=str(wav))
        )
        store.add(HistoryEntry(Outcome.PASTED, text="ten days ago", created=now - 10 * 86400))
        store.add(HistoryEntry(Outcome.PASTED, text="today", created=now - 60))
    settings = Settings()
    settings.history.retention_days = 30
    eng = Engine(settings, enable_hotkeys=False, enable_audio=False)
    try:
        seen = _start(eng)
        # (the entries go first, then the recordings they kept)
        wait_for(
            lambda: eng.history.count() == 2 and not wav.exists(),
            timeout=30,
            what="the 40-day-old entry to go",
        )
        shorter = settings.model_copy(deep=True)
        shorter.history.retention_days = 7
        eng.apply_settings(shorter)
        wait_for(lambda: eng.history.count() == 1, timeout=30, what="the 10-day-old entry to go")
        assert [e.text for e in eng.history.list()] == ["today"]
        # A shortened retention says what it deleted (the settings window's table refreshes on
        # it; it kept showing the deleted entries); the cleanup at start says nothing.
        said = wait_for(
            lambda: [n.message for n in seen.of(ev.Notice) if n.source == "history"],
            timeout=10,
            what="the notice of the deletion",
        )
        assert said == ["Deleted 1 history entry older than 7 days"], said
    finally:
        eng.shutdown()


@pytest.mark.parametrize("caching", [True, False])
def test_llm_replies_past_the_history_retention_are_deleted_with_it(holdtype_home: Path, caching: bool):
    """The reply cache holds each dictation a mode sent (its prompt): past the history's
    retention the entries were deleted and the replies, with the words in them, stayed (also
    those cached before caching was turned off)."""
    import time

    from app.llm.cache import CacheEntry, LLMCache

    def reply(key: str, age_days: float) -> CacheEntry:
        created = time.time() - age_days * 86400
        return CacheEntry(
            key=key, text="Lunch at noon?", parsed=None, model="m", mode="clean", llm_ms=1.0, created=created
        )

    with LLMCache() as cache:
        cache.put(reply("a" * 64, 10))
        cache.put(reply("b" * 64, 0.01))
    # Damaged caches set aside (their replies at least as old as the time in their names)
    folder = get_paths().llm_cache_dir
    old_copy = folder.with_name(
        f"llm.corrupt-{time.strftime('%Y%m%d-%H%M%S', time.localtime(time.time() - 10 * 86400))}"
    )
    new_copy = folder.with_name(f"llm.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    for copy in (old_copy, new_copy):
        copy.mkdir()
        (copy / "cache.db").write_bytes(b"torn: lunch at noon")
    settings = Settings()
    settings.history.retention_days = 7
    settings.llm.cache_enabled = caching
    eng = Engine(settings, enable_hotkeys=False, enable_audio=False)
    try:
        eng.start()

        def kept() -> list[str]:
            with LLMCache() as cache:
                return [e.key[0] for e in cache.entries()]

        wait_for(lambda: kept() == ["b"], timeout=30, what="the 10-day-old reply to go")
        wait_for(lambda: not old_copy.exists(), timeout=30, what="the 10-day-old damaged copy to go")
        assert new_copy.exists()
    finally:
        eng.shutdown()


def test_pausing_right_after_a_settings_change_keeps_that_change(holdtype_home: Path):
    """set_paused built its settings on those in force when called: a change applied a moment
    before, still queued for the engine thread, was undone (here both wait for the start)."""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False)
    changed = Settings()
    changed.vocabulary.terms = ["scikit-learn"]
    eng.apply_settings(changed)
    eng.set_paused(True)
    try:
        eng.start()
        wait_for(lambda: eng.settings.hotkey.paused, timeout=30, what="the pause")
        assert eng.settings.vocabulary.terms == ["scikit-learn"]
    finally:
        eng.shutdown()


def _record(eng: Engine, seen: Recorder, pulse, speak, during=None) -> ev.UtteranceResult:  # type: ignore[no-untyped-def]
    """Start a recording from the tray, play a sentence into the microphone, stop it."""
    eng.begin()
    wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
    if during is not None:
        during()
    pulse.play(speak("Please book a table for four people.", speed=150))
    eng.end()
    return wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]


def _kept_seconds(result: ev.UtteranceResult) -> float:
    row = HistoryStore(get_paths().history_db).get(result.history_id)
    assert row is not None and row.audio_path, row
    with wave.open(row.audio_path) as kept:
        return kept.getnframes() / kept.getframerate()


def test_a_recording_whose_spool_cannot_be_made_is_kept_whole_from_memory(
    x_env, pulse, target_window, speak, holdtype_home: Path
):
    """No spool (its folder cannot be made): a kept or failed recording had no audio kept at all."""
    spool_dir = get_paths().spool_dir
    spool_dir.parent.mkdir(parents=True, exist_ok=True)
    spool_dir.write_text("")  # a file where the folder goes: a real failure to create the spool
    eng = Engine(Settings(audio={"keep_audio": True}), enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        target_window.focus()
        result = _record(eng, seen, pulse, speak)
    finally:
        eng.shutdown()
    assert "table" in result.text.lower(), result
    assert any("without crash safety" in e.message for e in seen.of(ev.ErrorRaised))
    assert _kept_seconds(result) == pytest.approx(result.audio_seconds, abs=0.01)


class _FullDisk:
    """FAKE: a spool file on a disk that fills up mid-recording (no disk can be filled on cue
    here); its writes fail as a full disk's do, the rest is the real file."""

    def __init__(self, real) -> None:  # type: ignore[no-untyped-def]
        self.real = real

    def write(self, data: bytes) -> int:
        import errno

        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.real, name)


def test_a_recording_whose_spool_fills_the_disk_is_kept_whole_from_memory(
    x_env, pulse, target_window, speak, holdtype_home: Path
):
    """The spool's writes failed: the kept recording was the stub written before, said nowhere."""
    eng = Engine(Settings(audio={"keep_audio": True}), enable_hotkeys=False, enable_audio=True)

    def fill_the_disk() -> None:
        writer = eng._current.spool  # type: ignore[union-attr]
        writer._file = _FullDisk(writer._file)

    try:
        seen = _start(eng)
        target_window.focus()
        result = _record(eng, seen, pulse, speak, during=fill_the_disk)
    finally:
        eng.shutdown()
    assert "table" in result.text.lower(), result
    assert any(
        "No space left" in e.message and "not crash-safe" in e.message for e in seen.of(ev.ErrorRaised)
    )
    assert _kept_seconds(result) == pytest.approx(result.audio_seconds, abs=0.01)
    assert not list(get_paths().spool_dir.glob("*.wav"))  # the stub is gone


def test_a_microphone_that_comes_back_is_opened_before_the_next_press(
    x_env, private_pulse, pulse_server, holdtype_home: Path
):
    """After the sound server went away, the microphone was opened only by the next press,
    which then lost the first two seconds said (no pre-roll while it opened)."""
    from app.audio import devices

    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        assert eng._mic.recorder is not None and eng._mic.recorder.armed
        private_pulse.kill()  # the sound server goes away
        wait_for(
            lambda: [e for e in seen.of(ev.ErrorRaised) if e.source == "audio"], timeout=30, what="the loss"
        )
        with pytest.MonkeyPatch.context() as mp:
            for key, value in pulse_server.client_env.items():  # a sound server comes back
                mp.setenv(key, value)
            back = _said(seen, ev.Notice, "microphone is ready", "the microphone to be opened again")
            assert back and eng._mic.recorder.armed and eng.state == ev.State.IDLE
            assert eng._mic.recorder.wait_running(30)  # the pre-roll runs before any press
            eng._mic.recorder.disarm()
            mp.undo()
            devices.refresh()
    finally:
        eng.shutdown()


def test_a_recording_the_stalled_sound_server_gave_no_audio_says_so(
    x_env, private_pulse, holdtype_home: Path
):
    """The sound server stops answering (SIGSTOP: a real PulseAudio, stalled) before a press:
    the stream delivers nothing and reports nothing, and the recording read as "no speech was
    heard". It now fails with why, and the microphone works again once the server answers."""
    import signal

    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        assert eng._mic.recorder is not None and eng._mic.recorder.wait_running(30)
        private_pulse.process.send_signal(signal.SIGSTOP)
        try:
            last = [-1]

            def stopped_delivering() -> bool:  # (what the stream had buffered has come in)
                now = eng._mic.recorder.frames_captured  # type: ignore[union-attr]
                same, last[0] = now == last[0], now
                return same

            wait_for(stopped_delivering, timeout=10, what="the stream to stop delivering", interval=0.3)
            eng.begin()
            wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
            held = eng._mic.recorder.frames_captured
            wait_for(  # two seconds held, by the clock: the recording's own frames do not move
                lambda: time.monotonic() - eng._current.key_down_mono >= 2.0,  # type: ignore[union-attr]
                timeout=10,
                what="two seconds of recording",
            )
            assert eng._mic.recorder.frames_captured - held < SAMPLE_RATE // 2
            eng.end()
            result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
        finally:
            private_pulse.process.send_signal(signal.SIGCONT)
        assert result.outcome == ev.Outcome.FAILED, result
        assert result.error and result.error.startswith("the microphone delivered 0."), result.error
        assert "sound server does not answer" in result.error
        before = eng._mic.recorder.frames_captured
        wait_for(
            lambda: eng._mic.recorder.frames_captured > before + SAMPLE_RATE // 2,
            timeout=30,
            what="audio again",
        )
    finally:
        eng.shutdown()


def test_a_press_that_waits_on_a_stalled_sound_server_says_so(x_env, private_pulse, holdtype_home: Path):
    """The microphone is not open (a lost device, say) and the sound server stops answering
    (SIGSTOP: a real PulseAudio, stalled): the press opens the microphone, which blocks in
    PortAudio until the server answers, and nothing told the user why the key did nothing. It
    now says so after 5 s, says when the microphone is ready, and the press records then."""
    import signal

    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        assert eng._mic.recorder is not None and eng._mic.recorder.wait_running(30)
        eng._mic.recorder.disarm()  # (the engine is idle: nothing else touches the recorder now)
        private_pulse.process.send_signal(signal.SIGSTOP)
        try:
            eng.begin()
            said = _said(
                seen,
                ev.ErrorRaised,
                "sound server has not answered",
                "the press to say the sound server does not answer",
            )
            assert said[0].source == "audio" and "pactl info" in said[0].message
            assert eng.state == ev.State.IDLE and not eng._mic.recorder.armed
        finally:
            private_pulse.process.send_signal(signal.SIGCONT)
        _said(seen, ev.Notice, "microphone is ready", "the microphone to be ready")
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=30, what="the press to record")
        eng.cancel()
        wait_for(lambda: eng.state == ev.State.IDLE, timeout=30, what="the recording to be cancelled")
    finally:
        eng.shutdown()


def test_new_audio_settings_on_a_stalled_sound_server_say_so(x_env, private_pulse, holdtype_home: Path):
    """New audio settings close the open microphone and open it anew; with the sound server
    stalled (SIGSTOP: a real PulseAudio), closing blocks until it answers, and the settings
    were applied later without a word. It now says so after 5 s, then that the microphone is
    ready and the settings applied."""
    import signal

    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        assert eng._mic.recorder is not None and eng._mic.recorder.wait_running(30)
        changed = Settings()
        changed.audio.device = "default"  # another device setting: the stream is opened anew
        private_pulse.process.send_signal(signal.SIGSTOP)
        try:
            eng.apply_settings(changed)
            said = _said(
                seen,
                ev.ErrorRaised,
                "sound server has not answered",
                "the settings change to say the sound server does not answer",
            )
            assert said[0].source == "audio" and "new audio settings are not applied yet" in said[0].message
            assert not [n for n in seen.of(ev.Notice) if n.message == "Settings applied."]
        finally:
            private_pulse.process.send_signal(signal.SIGCONT)
        _said(seen, ev.Notice, "microphone is ready", "the microphone to be ready")
        wait_for(
            lambda: [n for n in seen.of(ev.Notice) if n.message == "Settings applied."],
            timeout=30,
            what="the settings to be applied",
        )
        assert eng._mic.recorder is not None and eng._mic.recorder.armed
    finally:
        eng.shutdown()


def test_a_stuck_portaudio_thread_is_said_and_its_stream_left_alone(x_env, pulse, holdtype_home: Path):
    """PortAudio 19.6's ALSA thread, once the sound server went away under the stream, can
    loop for good printing one line (app.native_stderr spots the loop). The stream then never
    ends and closing it waits on that thread: new audio settings froze the engine, and so did
    quitting. The loop cannot be made on cue here; the stuck thread is stood in for by telling
    the engine of the loop (the spotting itself is tested in test_native_stderr), the stream
    being a real, working one."""
    from tests.test_native_stderr import PORTAUDIO_LINE

    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    recorder = None
    try:
        seen = _start(eng)
        recorder = eng._mic.recorder
        assert recorder is not None and recorder.wait_running(30)
        eng._mic.on_native_runaway("some other library: the same line again")  # not PortAudio's
        assert not eng.audio_stuck
        eng._mic.on_native_runaway(PORTAUDIO_LINE.decode().strip())  # the stand-in
        said = [e for e in seen.of(ev.ErrorRaised) if "audio thread is stuck" in e.message]
        assert said and said[0].source == "audio" and "start it again" in said[0].message
        changed = Settings()
        changed.audio.device = "default"  # a change that opens the stream anew, but for the loop
        eng.apply_settings(changed)
        wait_for(
            lambda: [n for n in seen.of(ev.Notice) if n.message.startswith("Settings applied")],
            timeout=30,
            what="the settings to be applied (without closing the stuck stream)",
        )
        assert eng._mic.recorder is recorder and recorder.armed  # left alone
        eng.shutdown()
        assert recorder.armed  # quitting left it alone too
    finally:
        eng.shutdown()
        if recorder is not None:
            recorder.disarm()  # (a real stream, not stuck: the test closes it)


def test_audio_settings_that_keep_the_microphone_keep_its_stream(x_env, pulse, holdtype_home: Path):
    """Any audio setting (the pre-roll, the length limit, the sounds) closed the microphone
    and opened it again: up to 2 s in the running app, and a press meanwhile lost its first
    words, or, with a hotkey change in the same save, was not heard at all. The same device
    keeps its stream now, and the new pre-roll and limit apply to the next recording."""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        recorder = eng._mic.recorder
        assert recorder is not None and recorder.wait_running(30)
        stream = recorder._stream
        changed = Settings()
        changed.audio.pre_roll_s = 1.5
        changed.audio.max_record_s = 42.0
        changed.audio.sounds = False
        eng.apply_settings(changed)
        _said(seen, ev.Notice, "Settings applied", "the settings to be applied")
        assert eng._mic.recorder is recorder and recorder._stream is stream and recorder.armed
        assert recorder.wait_frames(recorder.frames_captured + 2 * SAMPLE_RATE, 30)  # 1.5 s to take
        eng.begin()
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
        eng.end()
        result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
        assert result.audio_seconds >= 1.5, result  # the new pre-roll (it was 0.3 s)
        moved = changed.model_copy(deep=True)  # (the engine holds `changed` itself)
        moved.audio.device = "default"  # another device setting: opened anew
        eng.apply_settings(moved)
        wait_for(
            lambda: [n for n in seen.of(ev.Notice) if n.message == "Settings applied."][1:],
            timeout=30,
            what="the device change to be applied",
        )
        assert eng._mic.recorder is not recorder and eng._mic.recorder is not None and eng._mic.recorder.armed
    finally:
        eng.shutdown()


def test_a_microphone_plugged_in_after_the_start_is_opened_without_a_press(
    x_env, no_audio_device, pulse_server, holdtype_home: Path
):
    from app.audio import devices

    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        assert any("no input device" in e.message for e in seen.of(ev.ErrorRaised))
        with pytest.MonkeyPatch.context() as mp:
            for key, value in pulse_server.client_env.items():  # a microphone is plugged in
                mp.setenv(key, value)
            _said(seen, ev.Notice, "microphone is ready", "the microphone to be opened")
            assert eng._mic.recorder is not None and eng._mic.recorder.wait_running(30)
            eng._mic.recorder.disarm()
            mp.undo()
            devices.refresh()
    finally:
        eng.shutdown()


def test_a_problem_fixed_by_a_settings_change_is_no_longer_reported(pulse, holdtype_home: Path):
    """ "1 problem (above)" stayed at each later ready after the microphone setting was fixed."""
    eng = Engine(Settings(audio={"device": "No Such Mic"}), enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        first = wait_for(lambda: seen.of(ev.EngineReady), timeout=60, what="ready")[0]
        assert any("No Such Mic" in p for p in first.problems), first
        assert eng.problems == first.problems  # (what the first-run welcome lists)
        fixed = Settings()
        eng.apply_settings(fixed)  # the default microphone
        wait_for(
            lambda: [n for n in seen.of(ev.Notice) if n.message == "Settings applied."],
            timeout=30,
            what="applied",
        )
        eng.apply_settings(
            fixed.model_copy(update={"model": fixed.model.model_copy(update={"beam_size": 4})})
        )
        again = wait_for(lambda: seen.of(ev.EngineReady)[1:], timeout=60, what="ready again")[0]
        assert again.problems == () == eng.problems, again
    finally:
        eng.shutdown()


def test_a_mode_tied_to_an_app_is_used_when_dictating_into_it(x_env, pulse, target_window_factory, speak):
    """``modes.apps``: the press reads which app has the focus (a real window's WM_CLASS); a
    window of a tied app gets that app's mode, any other window the active mode."""
    settings = Settings()
    settings.modes.active = "clean"  # an LLM mode; no LLM is set up: it falls back, with a notice
    settings.modes.apps = {"Holdtype-Mail": "raw"}  # matched whatever the case
    eng = Engine(settings, enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        mail = target_window_factory("holdtype-mail")
        mail.focus()

        def mail_mode() -> None:
            wait_for(lambda: eng.recording_mode == "raw", timeout=5, what="the mail app's mode")

        first = _record(eng, seen, pulse, speak, during=mail_mode)  # (`dictate status` says it)
        assert first.outcome == ev.Outcome.PASTED and first.mode == "raw", first
        wait_for(lambda: "table" in mail.text().lower(), timeout=15, what="the text in the mail window")
        assert not seen.of(ev.Notice)  # raw: no LLM was asked, so nothing fell back
        assert eng.history.get(first.history_id).app.casefold() == "holdtype-mail"  # kept for the user

        editor = target_window_factory("holdtype-editor")
        editor.focus()
        eng.begin()
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
        pulse.play(speak("Please book a table for four people.", speed=150))
        eng.end()
        second = wait_for(lambda: seen.of(ev.UtteranceResult)[1:], timeout=60, what="a second result")[0]
        assert second.mode == "clean" and eng.history.get(second.history_id).mode == "clean", second
        assert any("plain transcript" in n.message for n in seen.of(ev.Notice))
        # The overlay is told which mode each recording goes through: the start at once, in the
        # mode set, then the mail app's once the press found it
        modes = [e.mode for e in seen.of(ev.StateChanged) if e.state == ev.State.RECORDING]
        assert modes == ["clean", "raw", "clean"]
    finally:
        eng.shutdown()


def test_an_app_tied_to_a_deleted_mode_gets_the_mode_in_use(x_env, pulse, target_window_factory, speak):
    """A mode deleted since ``modes.apps`` tied it to an app: dictating there uses the active
    mode, said once (each dictation used to fall back to the plain transcript, with a notice)."""
    settings = Settings()
    settings.modes.apps = {"holdtype-mail": "deleted-since"}  # as a file edited by hand leaves it
    eng = Engine(settings, enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        mail = target_window_factory("holdtype-mail")
        mail.focus()
        first = _record(eng, seen, pulse, speak)
        assert first.outcome == ev.Outcome.PASTED and first.mode == "raw", first
        wait_for(lambda: "table" in mail.text().lower(), timeout=15, what="the text in the mail window")
        eng.begin()
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
        eng.end()
        second = wait_for(lambda: seen.of(ev.UtteranceResult)[1:], timeout=60, what="a second result")[0]
        assert second.mode == "raw", second
        said = [n.message for n in seen.of(ev.Notice) if "modes.apps" in n.message]
        assert len(said) == 1 and "deleted-since" in said[0] and "holdtype-mail" in said[0].casefold(), said
        assert not any("plain transcript" in n.message for n in seen.of(ev.Notice))
        modes = {e.mode for e in seen.of(ev.StateChanged) if e.state == ev.State.RECORDING}
        assert modes == {"raw"}, modes
    finally:
        eng.shutdown()


def test_a_stalled_focus_query_does_not_hold_up_the_release(pulse, speak, holdtype_home, monkeypatch):
    """Which app a recording goes into is asked as it starts; the query ran on the command
    thread, so one that stalled (a compositor or X server that does not answer) held up the
    release and the cancel key until it gave up. Here a real X server of its own, stopped
    with SIGSTOP, stalls it: the release is still handled, and the dictation ends."""
    import os
    import signal

    from tests.fixtures.display import _start_xvfb
    from tests.fixtures.scripted import ReadsNothing

    xvfb, name = _start_xvfb()
    try:
        monkeypatch.setenv("DISPLAY", name)
        monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        # A word is said, for a history row to look at (a hold with nothing said leaves none),
        # and read as nothing (FAKE reading): no paste goes to the stopped X server.
        reads_nothing = ReadsNothing(ModelSettings())
        eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True, transcriber=reads_nothing)
        word = speak("Yes.", speed=150)
        try:
            seen = _start(eng)
            os.kill(xvfb.pid, signal.SIGSTOP)  # from now on a new X connection waits forever
            eng.begin()
            wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
            pulse.play(word)
            eng.end()
            states = lambda: [e.state for e in seen.of(ev.StateChanged)]  # noqa: E731
            wait_for(lambda: ev.State.TRANSCRIBING in states(), timeout=20, what="the release handled")
            result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
            assert result.mode == "raw" and eng.history.get(result.history_id).app == "", result
            # A second press while the first query still waits: not asked again (a thread
            # more per press was left waiting), and its dictation ends too
            eng.begin()
            wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording again")
            pulse.play(word)
            eng.end()
            second = wait_for(lambda: seen.of(ev.UtteranceResult)[1:], timeout=60, what="a second result")[0]
            assert eng.history.get(second.history_id).app == "", second
            waiting = [t for t in threading.enumerate() if t.name == "holdtype-focus"]
            assert len(waiting) == 1, waiting
        finally:
            os.kill(xvfb.pid, signal.SIGCONT)
            eng.shutdown()
    finally:
        xvfb.terminate()
        xvfb.wait(10)


# About 50 s of speech: tiny.en takes seconds to read it, a dictation a fraction of one.
_LONG_TALK = " ".join(
    [
        "The river runs past the old mill and under the stone bridge into the town.",
        "Every morning the baker opens his shop before the sun comes up over the hills.",
        "Children walk to school along the path beside the water and count the ducks.",
    ]
    * 4
)


def _failed_entry(eng: Engine, speak) -> int:  # type: ignore[no-untyped-def]
    """A failed dictation of ``_LONG_TALK`` whose recording was kept, as transcribe-again finds it."""
    from app.history.store import HistoryEntry

    wav = speak(_LONG_TALK, speed=170)
    return eng.history.add(HistoryEntry(ev.Outcome.FAILED, error="transcription failed", audio_path=str(wav)))


def _two(seen: Recorder) -> list[ev.UtteranceResult] | None:
    results = seen.of(ev.UtteranceResult)
    return results if len(results) >= 2 else None


def test_a_dictation_made_while_an_entry_is_transcribed_again_comes_first(engine, target_window, speak):
    """A long recording read again gives way to a dictation made meanwhile (it used to wait for
    the whole of it), then starts over and still gets its words."""
    seen = _start(engine)
    target_window.focus()
    entry = _failed_entry(engine, speak)
    dictated = load_audio(speak("Please book a table for four people.", speed=150))
    engine.transcribe_again(entry)  # on the transcription worker before the dictation
    engine.dictate_audio(dictated)
    results = wait_for(lambda: _two(seen), timeout=120, what="two results")
    assert [r.generation for r in results] == [1, 0], results
    assert results[0].outcome == ev.Outcome.PASTED and "table" in results[0].text.lower()
    wait_for(lambda: "table" in target_window.text().lower(), timeout=15, what="the dictation pasted")
    again = engine.history.get(entry)
    assert results[1].history_id == entry and again.outcome == ev.Outcome.RECOVERED, again
    assert "river" in again.text.lower() and "ducks" in again.text.lower(), again.text


def test_an_entry_transcribed_again_during_a_recording_waits_for_its_dictation(
    x_env, pulse, target_window, speak
):
    """Without streaming the worker is free while the key is held: a transcribe-again asked
    then is held back until the recording ends, and its dictation is read first."""
    settings = Settings()
    settings.model.streaming = False
    eng = Engine(settings, enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        target_window.focus()
        entry = _failed_entry(eng, speak)
        eng.begin()
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
        eng.transcribe_again(entry)
        pulse.play(speak("Please book a table for four people.", speed=150))
        assert not seen.of(ev.UtteranceResult)  # held back: nothing read it while recording
        eng.end()
        results = wait_for(lambda: _two(seen), timeout=120, what="two results")
        assert [r.generation for r in results] == [1, 0], results
        assert "table" in results[0].text.lower() and results[1].history_id == entry, results
        assert "ducks" in eng.history.get(entry).text.lower()
    finally:
        eng.shutdown()


def test_a_dictation_history_could_not_take_is_added_at_the_next_start(
    x_env, pulse, target_window, speak, holdtype_home: Path
):
    """History held by another program as a recording ended: the text went in, the error said
    it was "not in history", and the recording was deleted: the dictation was gone for good."""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        target_window.focus()
        with _history_held(eng):
            result = _record(eng, seen, pulse, speak)
            eng.shutdown()  # (quit before the other program let go)
    finally:
        eng.shutdown()
    assert result.outcome == ev.Outcome.PASTED and result.history_id is None, result
    said = [e.message for e in seen.of(ev.ErrorRaised) if e.source == "history"]
    assert len(said) == 1 and "added to history once history can be written" in said[0], said
    assert len(Spool(get_paths().spool_dir).leftovers()) == 1  # the recording, left for then

    seen = _start_and_recover()
    rows = HistoryStore(get_paths().history_db).list(5)
    assert len(rows) == 1 and rows[0].outcome == ev.Outcome.PASTED, rows  # as it was, not "recovered"
    assert rows[0].text == result.text and rows[0].raw == result.raw
    assert rows[0].key_up is not None and rows[0].release_to_text_ms is not None
    assert rows[0].audio_path is None  # audio.keep_audio is off: none kept then, none now
    assert Spool(get_paths().spool_dir).leftovers() == []


def _stamped(eng: Engine) -> list[tuple[float, ev.EngineEvent]]:
    """The events ``eng`` gives from now on, each with the ``time.monotonic()`` it came at."""
    stamped: list[tuple[float, ev.EngineEvent]] = []
    eng.subscribe(lambda event: stamped.append((time.monotonic(), event)))
    return stamped


def test_a_held_history_does_not_hold_up_the_paste_path(engine, target_window, speak):
    """From a review: while another program held the history's write lock, each dictation's
    entry waited SQLite's 10 s for it on the output worker, which pastes the dictations in
    turn: the next one went in 4-5 s late, and the state said "inserting" all the while,
    though the text was in."""
    seen = _start(engine)
    stamped = _stamped(engine)
    target_window.focus()
    with _history_held(engine):
        engine.dictate_audio(load_audio(speak("The library will close early tomorrow.", speed=150)))
        result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
        wait_for(lambda: seen.of(ev.StateChanged)[-1].state == ev.State.IDLE, timeout=15, what="idle again")
    assert result.outcome == ev.Outcome.PASTED and result.history_id is None, result
    inserting = [at for at, e in stamped if isinstance(e, ev.StateChanged) and e.state == ev.State.INSERTING]
    idle = [at for at, e in stamped if isinstance(e, ev.StateChanged) and e.state == ev.State.IDLE]
    # From "inserting" to idle: the paste and a short wait for the history (about 1 s); it was
    # the paste and the store's 10 s.
    assert inserting and idle and idle[-1] - inserting[0] < 5.0, (inserting, idle)


def test_a_dictation_history_could_not_take_goes_in_before_the_next_one(
    x_env, pulse, target_window, speak, holdtype_home: Path
):
    """From a review: a dictation the held history could not take was added only at the next
    start; until then "paste the last dictation again" pasted an older one and search did not
    find it. Once history takes writes again, it goes in before the next dictation's entry,
    dated as it was said. (The engine's own retry every few seconds is put off here.)"""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    eng._retry_waiting_at = float("inf")  # (its retry every few seconds never comes)
    try:
        seen = _start(eng)
        target_window.focus()
        with _history_held(eng):
            first = _record(eng, seen, pulse, speak)
        assert first.outcome == ev.Outcome.PASTED and first.history_id is None, first
        assert eng.history.count() == 0
        eng.begin()
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
        pulse.play(speak("Run the tests and push the wheel.", speed=150))
        eng.end()
        second = wait_for(lambda: seen.of(ev.UtteranceResult)[1:], timeout=60, what="a second result")[0]
        rows = eng.history.list(5)  # (newest first)
    finally:
        eng.shutdown()
    assert second.history_id is not None, second
    assert [(r.outcome, r.text) for r in rows] == [
        (ev.Outcome.PASTED, second.text),
        (ev.Outcome.PASTED, first.text),
    ], rows
    assert rows[0].id == second.history_id and rows[1].id is not None and rows[1].id < rows[0].id
    assert rows[1].created < rows[0].created and rows[1].added is not None
    assert rows[1].raw == first.raw and rows[1].release_to_text_ms is not None
    assert Spool(get_paths().spool_dir).leftovers() == []
    notices = [n for n in seen.of(ev.Notice) if n.source == "recovery"]
    assert len(notices) == 1 and "earlier session" not in notices[0].message, notices
    assert notices[0].message.startswith("Added 1 dictation(s) to history"), notices
    assert notices[0].said.startswith(f"#{rows[1].id}: ")
    said = [e.message for e in seen.of(ev.ErrorRaised) if e.source == "history"]
    assert len(said) == 1 and "added to history once history can be written" in said[0], said


def test_a_dictation_left_for_history_goes_in_once_the_lock_is_gone_without_a_dictation(
    x_env, pulse, target_window, speak, holdtype_home: Path
):
    """From a review: a dictation the held history could not take waited for the next start,
    and one whose history was still held at that start waited for the start after. It goes in
    now while the app runs, once the other program lets go, with nothing dictated meanwhile."""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    try:
        seen = _start(eng)
        target_window.focus()
        with _history_held(eng):
            result = _record(eng, seen, pulse, speak)
            eng.shutdown()  # quit while it is held...
            eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
            seen = _start(eng)  # ...and started again while it still is
            _said(seen, ev.ErrorRaised, "could not add", "the failed addition at the start")
        assert result.history_id is None, result
        notice = _said(seen, ev.Notice, "into history", "the notice of the addition")[0]
        rows = eng.history.list(5)
    finally:
        eng.shutdown()
    assert notice.message == "Recovered 1 recording(s) from an earlier session into history", notice
    assert [(r.outcome, r.text) for r in rows] == [(ev.Outcome.PASTED, result.text)], rows
    assert Spool(get_paths().spool_dir).leftovers() == []


@contextlib.contextmanager
def _history_held_exclusively() -> Iterator[None]:
    """Another program holds the history in SQLite's EXCLUSIVE locking mode meanwhile (a
    real process): not even reading it is possible."""
    HistoryStore(get_paths().history_db).close()  # (as the user's earlier runs left it)
    with sqlite_held_exclusively(get_paths().history_db):
        yield


@pytest.mark.parametrize("enabled", [True, False])
def test_a_history_another_program_holds_at_the_start_costs_only_the_history(
    x_env, pulse, target_window, speak, holdtype_home: Path, enabled: bool
):
    """History held by another program as Holdtype started: it refused to start (exit 1
    after 10 s), even with the history off, where mid-run such a history costs only its write."""
    eng = Engine(Settings(history={"enabled": enabled}), enable_hotkeys=False, enable_audio=True)
    try:
        with _history_held_exclusively():
            seen = _start(eng)
            said = [e.message for e in seen.of(ev.ErrorRaised) if e.source == "history"]
            assert len(said) == 1 and said[0].startswith("history unavailable") and "locked" in said[0], said
            ready = wait_for(lambda: seen.of(ev.EngineReady), timeout=10, what="the ready event")[0]
            assert said[0] in ready.problems and said[0] in eng.problems  # (said again at each ready)
            target_window.focus()
            result = _record(eng, seen, pulse, speak)
            assert result.outcome == ev.Outcome.PASTED and result.history_id is None, result
            wait_for(lambda: "table" in target_window.text().lower(), timeout=15, what="pasted text")
    finally:
        eng.shutdown()
    waiting = Spool(get_paths().spool_dir).leftovers()
    if not enabled:  # nothing for the history: nothing waits for it
        assert waiting == [] and len([e for e in seen.of(ev.ErrorRaised) if e.source == "history"]) == 1
        return
    assert len(waiting) == 1  # the dictation, left for the next start as when history fails mid-run
    _start_and_recover()
    rows = HistoryStore(get_paths().history_db).list(5)
    assert [(r.outcome, r.text) for r in rows] == [(ev.Outcome.PASTED, result.text)], rows


def test_a_history_held_at_the_start_holds_the_start_up_briefly(holdtype_home: Path):
    """Engine.start() opened the history with the store's 10 s wait, on the caller's thread
    (the tray app's Qt thread): under a history another program held, the tray came up 10 s
    late. The start tries briefly and goes on; the history is tried again at each use."""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False)
    seen = Recorder()
    eng.subscribe(seen)
    try:
        with _history_held_exclusively():
            started = time.monotonic()
            eng.start()
            took = time.monotonic() - started
            said = [e.message for e in seen.of(ev.ErrorRaised) if e.source == "history"]
        assert took < 6.0, took  # (10 s and more before)
        assert len(said) == 1 and said[0].startswith("history unavailable"), said
        assert eng.wait_ready(120)
        assert eng.history.list(5) == []  # let go: it opens at the next use
        assert not [p for p in eng.problems if p.startswith("history unavailable")], eng.problems
    finally:
        eng.shutdown()


def test_a_history_that_could_not_be_opened_is_tried_briefly_on_the_output_worker(holdtype_home: Path):
    """From a review: with the history held by another program as Holdtype started, each
    dictation's entry opened it again on the output worker with the store's 10 s wait, so
    the next paste waited 10 s; and the retry of the dictations waiting for history was put
    off until it was open. Each try waits about OUTPUT_WAIT_S, and the retry comes."""
    from app.history.store import HistoryEntry

    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False)  # (not started: no workers)
    seen: list[ev.EngineEvent] = []
    eng.subscribe(seen.append)
    with _history_held_exclusively():
        assert eng._history is None  # (as when the start could not open it)
        writer = Spool(get_paths().spool_dir).open(1)  # one waits, as DictationKeeper leaves it
        writer.write(np.full(SAMPLE_RATE, 0.1, np.float32))
        writer.note(entry=HistoryEntry(ev.Outcome.PASTED, text="said before").to_dict(), keep_audio=False)
        writer.close(keep=True, keep_note=True)
        started = time.monotonic()
        kept = eng._keeper._remember(HistoryEntry(ev.Outcome.PASTED, text="said while held"))
        assert time.monotonic() - started < 5.0  # (it was the store's 10 s)
        assert kept is None and eng._history is None
        said = [e.message for e in seen if isinstance(e, ev.ErrorRaised) and e.source == "history"]
        assert len(said) == 1 and "said while held" in said[0], said
        assert eng._keeper.waiting
        eng._retry_waiting_at = 0.0  # (the retry is due)
        eng._retry_waiting()
        assert eng._output_jobs.qsize() == 1  # (it was skipped while the history was not open)
    job = eng._output_jobs.get_nowait()
    assert job is not None
    job()  # (the output worker's turn: the other program let go meanwhile)
    assert eng._history is not None and [e.text for e in eng.history.list()] == ["said before"]


@pytest.mark.parametrize("text", ["", "what went in"])
def test_transcribe_again_on_a_held_history_does_not_hold_up_the_output_worker(
    holdtype_home: Path, text: str
):
    """From a review: "Transcribe again" keeps its new words on the output worker, with the
    store's 10 s wait: behind another program's write lock the next dictation's paste
    waited that long. It waits OUTPUT_WAIT_S, and says the entry was not read again."""
    from app.history.store import HistoryEntry

    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False)  # (not started: no workers)
    seen: list[ev.EngineEvent] = []
    eng.subscribe(seen.append)
    try:
        kept = eng.history.add(HistoryEntry(ev.Outcome.FAILED, text=text, mode="raw", error="broke"))
        entry = eng.history.get(kept)
        assert entry is not None
        with _history_held(eng):
            started = time.monotonic()
            eng._keep_reading(entry, "the new words", "The new words.", 1.0)  # (in place / a new entry)
            assert time.monotonic() - started < 5.0  # (it was the store's 10 s)
        said = [e.message for e in seen if isinstance(e, ev.ErrorRaised)]
        assert len(said) == 1 and said[0].startswith(f"could not transcribe entry {kept} again"), said
        assert [(e.id, e.text) for e in eng.history.list()] == [(kept, text)]
    finally:
        eng.history.close()


def test_the_retry_of_the_waiting_dictations_is_queued_once_until_it_runs(holdtype_home: Path):
    """From a review: behind a slow job on the output worker (an LLM call, a long "Transcribe
    again"), the engine thread queued another try at the waiting dictations every 10 s, and
    all of them ran before the next dictation's paste."""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False)  # (not started: no workers)
    assert eng._keeper.waiting  # (at the start some may wait)
    for _ in range(3):  # (three retries due while the worker is busy)
        eng._retry_waiting_at = 0.0
        eng._retry_waiting()
    assert eng._output_jobs.qsize() == 1
    job = eng._output_jobs.get_nowait()
    assert job is not None
    job()  # (none waits: the keeper stops the tries)
    eng._keeper._waiting = True  # (one left meanwhile)
    eng._retry_waiting_at = 0.0
    eng._retry_waiting()
    assert eng._output_jobs.qsize() == 1  # (queued again once it ran)


def test_paste_again_says_what_it_did(engine, target_window) -> None:  # type: ignore[no-untyped-def]
    """ "Paste again" (the tray's Shift+click, the History page's button) said nothing: not
    when it went in, not when the entry was gone."""
    from app.history.store import HistoryEntry

    seen = _start(engine)
    kept = engine.history.add(HistoryEntry(ev.Outcome.PASTED, text="Remember the milk.", mode="raw"))
    target_window.focus()
    engine.repaste(kept)
    done = _said(seen, ev.Notice, f"entry {kept} again", "the notice of the paste")
    assert done[0].message == f"Pasted entry {kept} again" and done[0].source == "history", done
    assert done[0].said == "Remember the milk."  # shown with the words, never logged
    wait_for(lambda: "Remember the milk." in target_window.text(), timeout=15, what="the text pasted again")
    engine.history.delete(kept)  # (deleted from the History page, or by another Holdtype)
    engine.repaste(kept)
    gone = _said(seen, ev.ErrorRaised, f"could not paste entry {kept} again", "the error of the gone entry")
    assert "no longer in the history" in gone[0].message, gone
    assert target_window.text().count("Remember the milk.") == 1


def test_paste_again_on_a_held_history_says_so_without_waiting(  # type: ignore[no-untyped-def]
    x_env, target_window, holdtype_home: Path
) -> None:
    """Paste again read the entry on the caller's thread (the tray's Qt thread) with the
    store's 10 s wait, and a history another program held raised out of the Qt slot."""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=False)
    try:
        with _history_held_exclusively():
            seen = _start(eng)
            started = time.monotonic()
            eng.repaste(1)  # returns at once: the entry is read on the output worker
            assert time.monotonic() - started < 3.0  # (it read the history first: 10 s)
            # (after the retention's cleanup at the start, which waits for the store on that worker)
            said = _said(seen, ev.ErrorRaised, "could not paste entry 1 again", "the error", timeout=30)
            assert "another program holds it" in said[0].message, said
    finally:
        eng.shutdown()
    assert target_window.text() == ""


def test_a_dictation_added_at_a_start_days_later_is_kept_for_the_retention_from_then(
    x_env, speak, holdtype_home: Path
):
    """A failed paste history could not take, added at a start three days later with a
    one-day retention: "Recovered … into history", then deleted by the next cleanup, and its
    words were nowhere else. Its date stays when it was said; the retention counts from when
    it reached history."""
    from app.history.store import HistoryEntry

    said = time.time() - 3 * 86400
    writer = Spool(get_paths().spool_dir).open(1)  # as DictationKeeper leaves it for the next start
    writer.write(load_audio(speak("Remember the milk.", speed=150)))
    assert writer.flush()
    failed = HistoryEntry(
        ev.Outcome.FAILED, text="words that never went in", created=said, error="paste failed"
    )
    writer.note(entry=failed.to_dict(), keep_audio=True)
    writer.close(keep=True, keep_note=True)

    started = time.time()
    _start_and_recover(Settings(history={"retention_days": 1}))
    with HistoryStore(get_paths().history_db) as store:
        assert store.prune(1) == 0  # the next cleanup (hourly, or at the next start)
        rows = store.list(5)
        assert [(r.outcome, r.text) for r in rows] == [(ev.Outcome.FAILED, "words that never went in")]
        assert rows[0].created == pytest.approx(said) and rows[0].added is not None
        assert started <= rows[0].added <= time.time()
        assert rows[0].audio_path and Path(rows[0].audio_path).exists()
        assert store.prune(1, now=rows[0].added + 86400 + 1) == 1  # a day after it reached history
        assert not Path(rows[0].audio_path).exists()


def _record_silence(
    eng: Engine, seconds: float, stop: Callable[[], None] | None = None
) -> ev.UtteranceResult:
    """Start ``eng``, record ``seconds`` of the silent microphone from the tray, end it (or
    ``stop`` it: ``eng.cancel``); the result."""
    seen = _start(eng)
    eng.begin()
    wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
    wait_for(
        lambda: (
            eng._current is not None
            and eng._current.spool is not None
            and eng._current.spool.frames_written >= seconds * SAMPLE_RATE
        ),
        timeout=20,
        what=f"{seconds} s recorded",
    )
    (stop or eng.end)()
    return wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]


def _record_speech(
    eng: Engine, seen: Recorder, pulse: PulseServer, speech: Path, stop: Callable[[], None]
) -> ev.UtteranceResult:
    """Record ``speech`` played into the microphone with ``eng`` (started, ``seen`` its
    events), then ``stop`` it (``eng.end`` or ``eng.cancel``); the result."""
    eng.begin()
    wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="recording")
    pulse.play(speech)
    stop()
    return wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]


def test_a_hold_with_no_speech_leaves_nothing_in_history(x_env, pulse, holdtype_home: Path):
    """A hold of the key with nothing said (silence, a tap, a key held by mistake) added an
    "empty" row each time, and kept the recording of one of 3 s or more: history filled with
    taps. Nothing of it is kept now; the user is still told of a silent microphone."""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    try:
        result = _record_silence(eng, 3.5)
        seen = Recorder()
        eng.subscribe(seen)
        room = np.random.default_rng(7).normal(0, 0.001, 32000).astype(np.float32)  # a quiet room
        eng.dictate_audio(room)
        noise = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="the second result")[0]
    finally:
        eng.shutdown()
    assert result.outcome == ev.Outcome.EMPTY and result.history_id is None, result
    assert noise.outcome == ev.Outcome.EMPTY and noise.history_id is None, noise
    assert HistoryStore(get_paths().history_db).count() == 0
    audio_dir = get_paths().audio_dir
    assert not audio_dir.exists() or list(audio_dir.iterdir()) == []
    assert Spool(get_paths().spool_dir).leftovers() == []


def test_with_the_speech_gate_off_an_empty_dictation_is_kept(x_env, holdtype_home: Path):
    """From a review: with model.speech_gate off (the way around a voice detector that does
    not suit the user), the detector still decided whether an empty reading was kept, and
    speech it missed lost its row and recording, with nothing left for `history retry`."""
    eng = Engine(Settings(model={"speech_gate": False}), enable_hotkeys=False, enable_audio=False)
    try:
        seen = _start(eng)
        eng.dictate_audio(np.zeros(SAMPLE_RATE, np.float32))  # (no speech the detector hears)
        result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
    finally:
        eng.shutdown()
    assert result.outcome == ev.Outcome.EMPTY and result.history_id is not None, result
    rows = HistoryStore(get_paths().history_db).list(5)
    assert [(r.id, r.outcome) for r in rows] == [(result.history_id, ev.Outcome.EMPTY)], rows


def test_a_cancelled_hold_with_no_speech_leaves_nothing_in_history(x_env, pulse, speak, holdtype_home: Path):
    """From a review: Esc on a hold with nothing said in it (a press made by mistake, cancelled
    as such) kept an empty "cancelled" row and its silent recording, where the same hold let
    go kept neither. A cancelled hold with speech in it keeps both, as before."""
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True)
    try:
        silent = _record_silence(eng, 2.0, stop=eng.cancel)
        seen = Recorder()
        eng.subscribe(seen)
        said = speak("Nobody should ever see this text.", speed=150)
        spoken = _record_speech(eng, seen, pulse, said, eng.cancel)
    finally:
        eng.shutdown()
    assert silent.outcome == ev.Outcome.CANCELLED and silent.history_id is None, silent
    assert spoken.outcome == ev.Outcome.CANCELLED and spoken.history_id is not None, spoken
    assert [r.id for r in HistoryStore(get_paths().history_db).list(5)] == [spoken.history_id]
    assert _kept_seconds(spoken) == pytest.approx(spoken.audio_seconds, abs=0.01)
    assert len(list(get_paths().audio_dir.iterdir())) == 1  # (the silent one's is gone)
    assert Spool(get_paths().spool_dir).leftovers() == []


def test_speech_read_as_nothing_keeps_its_row_and_recording(x_env, pulse, speak, holdtype_home: Path):
    """A short word the voice detector heard but the model read as nothing (FAKE reading:
    tiny.en does so of some voices, never on cue) is a misreading, not a tap: its row and its
    recording stay for `history retry`. A recording under 3 s kept none: nothing to retry."""
    from tests.fixtures.scripted import ReadsNothing

    reads_nothing = ReadsNothing(ModelSettings())
    eng = Engine(Settings(), enable_hotkeys=False, enable_audio=True, transcriber=reads_nothing)
    try:
        result = _record_speech(eng, _start(eng), pulse, speak("Yes.", speed=150), eng.end)
    finally:
        eng.shutdown()
    assert result.outcome == ev.Outcome.EMPTY and result.history_id is not None, result
    assert result.audio_seconds < 3.0  # (kept by the speech in it, not by its length)
    assert _kept_seconds(result) == pytest.approx(result.audio_seconds, abs=0.01)
    assert Spool(get_paths().spool_dir).leftovers() == []


def test_an_idle_app_keeps_to_the_history_retention(holdtype_home: Path, monkeypatch: pytest.MonkeyPatch):
    """Pruning ran at start, on a settings change and after a dictation: an app left idle for
    days kept entries past the retention. (The hour is shortened to a second here.)"""
    from app.events import Outcome
    from app.history import retention as retention_module
    from app.history.store import HistoryEntry

    monkeypatch.setattr(retention_module, "PRUNE_EVERY_S", 1.0)
    settings = Settings()
    settings.history.retention_days = 30
    eng = Engine(settings, enable_hotkeys=False, enable_audio=False)
    try:
        eng.start()
        assert eng.wait_ready(120)
        wait_for(lambda: eng._retention.pruned_at > 0, timeout=30, what="the pruning at start")
        # written after the start's pruning (another Holdtype's dictation, days ago by now)
        with HistoryStore(get_paths().history_db) as store:
            store.add(HistoryEntry(Outcome.PASTED, text="forty days ago", created=time.time() - 40 * 86400))
        assert eng.history.count() == 1
        wait_for(lambda: eng.history.count() == 0, timeout=30, what="the idle app's pruning")
    finally:
        eng.shutdown()


def test_with_history_off_a_long_empty_recording_keeps_no_audio(x_env, pulse, holdtype_home: Path):
    """Audio no entry names is never deleted by the retention: kept with history off, it
    stayed for good."""
    eng = Engine(Settings(history={"enabled": False}), enable_hotkeys=False, enable_audio=True)
    try:
        result = _record_silence(eng, 3.5)
    finally:
        eng.shutdown()
    assert result.outcome == ev.Outcome.EMPTY and result.history_id is None, result
    audio_dir = get_paths().audio_dir
    assert not audio_dir.exists() or list(audio_dir.iterdir()) == []
    assert Spool(get_paths().spool_dir).leftovers() == []


def test_a_chosen_model_not_on_this_machine_gives_way_to_the_embedded_one(
    x_env, target_window, holdtype_home: Path, speak
):
    """A model chosen and then removed (or chosen before its download finished) left the app
    "loading" for good, and every dictation failed with "not downloaded", at every start."""
    eng = Engine(Settings(model={"name": "base.en"}), enable_hotkeys=False, enable_audio=False)
    try:
        seen, result = _dictate_once(eng, target_window, speak)
        ready = seen.of(ev.EngineReady)
        assert ready and ready[0].model == "tiny.en", ready
        said = _said(seen, ev.Notice, "not downloaded yet", "the notice of the missing model")
        assert "holdtype models download base.en" in said[0].message and "tiny.en" in said[0].message
        assert result.outcome == ev.Outcome.PASTED, result
        assert "thursday" in result.text.lower()
        assert eng.history.get(result.history_id).model == "tiny.en"  # type: ignore[union-attr]
        # A change of streaming alone keeps the model: the name of the missing one came back
        changed = Settings(model={"name": "base.en", "streaming": not eng.settings.model.streaming})
        eng.apply_settings(changed)
        wait_for(
            lambda: eng.settings.model.streaming == changed.model.streaming, timeout=10, what="the change"
        )
        assert eng._transcriber_name() == "tiny.en"
    finally:
        eng.shutdown()


def test_a_chosen_model_downloaded_meanwhile_is_loaded_on_reload(
    x_env, target_window, holdtype_home: Path, speak
):
    """A download of the chosen model, finished while the embedded one stood in for it, was
    used only after a restart. The model is put where a download puts it (the embedded
    model's real files, as base.en: no network here), and the engine loads it on reload."""
    from app.transcribe.models import downloaded_path, embedded_model_path

    eng = Engine(Settings(model={"name": "base.en"}), enable_hotkeys=False, enable_audio=False)
    try:
        seen = _start(eng)
        first = wait_for(lambda: seen.of(ev.EngineReady), timeout=10, what="the ready event")
        assert first[0].model == "tiny.en" and eng.model_in_use == "tiny.en"
        shutil.copytree(embedded_model_path(), downloaded_path("base.en"))
        eng.reload_model()
        ready = wait_for(lambda: seen.of(ev.EngineReady)[1:], timeout=120, what="the reload")
        assert ready[0].model == "base.en" and eng.model_in_use == "base.en"
        # The load's serial, repeated by its end (the one at start-up has none).
        assert seen.of(ev.ModelLoading) == [ev.ModelLoading("base.en", 1)]
        assert first[0].load is None and ready[0].load == 1
        target_window.focus()
        eng.dictate_audio(load_audio(speak("The meeting moved to Thursday.", speed=150)))
        result = wait_for(lambda: seen.of(ev.UtteranceResult), timeout=60, what="a result")[0]
        assert "thursday" in result.text.lower(), result
        assert eng.history.get(result.history_id).model == "base.en"  # type: ignore[union-attr]
    finally:
        eng.shutdown()


def test_a_missing_multilingual_model_does_not_give_way_to_an_english_only_one(x_env, holdtype_home: Path):
    """German speech read by tiny.en comes out as English words: not a stand-in."""
    eng = Engine(
        Settings(model={"name": "large-v3-turbo", "language": "de"}), enable_hotkeys=False, enable_audio=False
    )
    seen = Recorder()
    eng.subscribe(seen)
    try:
        eng.start()
        error = wait_for(
            lambda: [e for e in seen.of(ev.ErrorRaised) if e.source == "model"], timeout=60, what="the error"
        )
        assert "large-v3-turbo' is not downloaded yet" in error[0].message
        assert not eng.ready and not seen.of(ev.EngineReady)
    finally:
        eng.shutdown()


def test_a_toggle_press_whose_recording_could_not_start_leaves_the_next_press_a_start(
    x_env, pulse, holdtype_home: Path, monkeypatch
):  # type: ignore[no-untyped-def]
    """Toggle mode: the microphone failed to start the recording (FAKE failure on cue: the
    device going away between the check and the start cannot be made to happen here). The
    listener still took its press for a running recording, so the next press was sent as a
    stop to nothing and the user had to press twice."""
    from app.audio.capture import Recorder as Microphone
    from app.errors import AudioError

    real_start = Microphone.start
    failures = [AudioError("the input device went away (FAKE)")]

    def start_or_fail(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if failures:
            raise failures.pop()
        return real_start(self, *args, **kwargs)

    monkeypatch.setattr(Microphone, "start", start_or_fail)
    eng = Engine(
        Settings(hotkey=HotkeySettings(key="f9", mode="toggle")), enable_hotkeys=True, enable_audio=True
    )
    try:
        seen = _start(eng)
        x_env.xdotool("key", "F9")
        _said(seen, ev.ErrorRaised, "went away", "the failed start to be said", timeout=10)
        x_env.xdotool("key", "F9")
        wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="the next press to record")
        eng.cancel()
        wait_for(lambda: eng.recording is None, timeout=10, what="the recording to be cancelled")
    finally:
        eng.shutdown()


def test_a_press_heard_by_a_listener_that_new_settings_replace_records_nothing(
    x_env, pulse, holdtype_home: Path
):  # type: ignore[no-untyped-def]
    """A press the old listener heard just before applied settings restarted it was queued
    behind the settings: it started a recording after the swap, the new listener had not
    seen the key go down and ignored its release, and the recording ran to its limit.
    The engine thread is held (at the notice of an earlier apply) so that the press is sure
    to come in between. The display sends no auto-repeats: past the server's repeat delay
    (under load), the new listener, which never saw F9 go down, took a repeat for a press."""
    base = Settings(hotkey=HotkeySettings(key="f9", min_hold_s=0.0))
    eng = Engine(base, enable_hotkeys=True, enable_audio=True)
    hold_engine = threading.Event()
    go_on = threading.Event()

    def held_at_the_first_apply(event: ev.EngineEvent) -> None:
        if isinstance(event, ev.Notice) and event.message == "Settings applied." and not hold_engine.is_set():
            hold_engine.set()
            go_on.wait(30)

    try:
        with x_env.no_auto_repeat():
            seen = _start(eng)
            eng.subscribe(held_at_the_first_apply)
            eng.apply_settings(base.model_copy(update={"ui": base.ui.model_copy()}))
            assert hold_engine.wait(10)
            old = eng._listener
            assert old is not None
            presses = old.presses
            other_hotkey = base.hotkey.model_copy(update={"min_hold_s": 0.01})
            eng.apply_settings(base.model_copy(update={"hotkey": other_hotkey}))  # restarts the listener
            x_env.xdotool("keydown", "F9")  # heard by the old listener: its start waits behind
            wait_for(lambda: old.presses > presses, timeout=10, what="the old listener to hear the press")
            eng.apply_settings(base.model_copy(update={"hotkey": other_hotkey}))  # after it: a mark
            go_on.set()
            wait_for(
                lambda: len([n for n in seen.of(ev.Notice) if n.message == "Settings applied."]) == 3,
                timeout=10,
                what="the apply queued after the press",
            )
            assert eng._listener is not old
            x_env.xdotool("keyup", "F9")
            assert eng.recording is None, "a press of the replaced listener started a recording"
            # the new listener's own press records, and its release ends it
            x_env.xdotool("keydown", "F9")
            wait_for(lambda: eng.state == ev.State.RECORDING, timeout=10, what="the new listener to record")
            x_env.xdotool("keyup", "F9")
            wait_for(lambda: eng.recording is None, timeout=10, what="its release to end the recording")
    finally:
        go_on.set()
        x_env.xdotool("keyup", "F9")
        eng.shutdown()
