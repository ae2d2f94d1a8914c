"""The crash-safe spool: readable while written, survives kill -9, live files are not leftovers."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.audio.spool import SAMPLE_RATE, Spool, read_note, read_spool
from app.errors import AudioError
from app.paths import get_paths
from tests.fixtures.pulse import PulseServer
from tests.fixtures.speech import Speak
from tests.fixtures.waiting import wait_for


def _tone(seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _header_frames(path: Path) -> int:
    with wave.open(str(path), "rb") as handle:
        return handle.getnframes()


def test_flushed_file_is_readable_while_still_writing(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    writer = spool.open(generation=1)
    tone = _tone(1.0)
    try:
        for block in np.split(tone, 50):
            writer.write(block)
        assert writer.flush()
        assert _header_frames(writer.path) == tone.size
        audio = read_spool(writer.path)
        np.testing.assert_allclose(audio, tone, atol=1.0 / 16000)
        with wave.open(str(writer.path), "rb") as handle:
            assert (handle.getnchannels(), handle.getframerate(), handle.getsampwidth()) == (1, 16000, 2)
    finally:
        writer.close(keep=False)
    assert not writer.path.exists()


def test_header_is_updated_without_an_explicit_flush(tmp_path: Path) -> None:
    writer = Spool(tmp_path, flush_interval_s=0.5).open(generation=2)
    try:
        writer.write(_tone(0.7))
        wait_for(
            lambda: _header_frames(writer.path) == int(0.7 * SAMPLE_RATE), timeout=10, what="header sync"
        )
    finally:
        writer.close(keep=False)


def test_close_keep_moves_to_keep_dir(tmp_path: Path) -> None:
    writer = Spool(get_paths().spool_dir).open(generation=3)
    writer.write(_tone(0.5))
    kept = writer.close(keep=True, keep_dir=get_paths().audio_dir)
    assert kept is not None and kept.parent == get_paths().audio_dir
    data, rate = sf.read(kept, dtype="float32")
    assert rate == SAMPLE_RATE and data.shape == (8000,)
    assert list(get_paths().spool_dir.iterdir()) == []
    assert writer.close(keep=False) == kept  # only the first close acts
    assert kept.exists()
    assert oct(kept.stat().st_mode & 0o777) == "0o600"


def test_live_file_is_not_a_leftover(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    writer = spool.open(generation=4)
    writer.write(_tone(0.2))
    assert writer.flush()
    assert spool.leftovers() == []
    writer.close(keep=True)  # closed and left in the spool folder: now it is a leftover
    assert spool.leftovers() == [writer.path]
    spool.discard(writer.path)
    assert spool.leftovers() == []


def test_a_spool_file_is_locked_before_recovery_can_see_it(tmp_path: Path) -> None:
    """Created under its own name, a new spool file was there unlocked for an instant, and a
    start's recovery scan in that instant took it for a crashed one (and deleted or moved it).
    It is made under a name the scan skips, locked, then renamed."""
    folder = tmp_path / "spool"
    spool = Spool(folder)
    seen: list[str] = []
    real_rename = os.rename

    def watched_rename(src: str | Path, dst: str | Path) -> None:  # the real rename, watched
        seen.extend(p.name for p in spool.leftovers())  # what a scan finds right before it
        seen.extend(p.name for p in folder.iterdir())
        real_rename(src, dst)

    os.rename = watched_rename  # type: ignore[assignment]
    try:
        writer = spool.open(generation=5)
    finally:
        os.rename = real_rename  # type: ignore[assignment]
    assert seen == [f".{writer.path.name}.new"]  # no leftover, the name the glob skips
    assert [p.name for p in folder.iterdir()] == [writer.path.name] and spool.leftovers() == []
    writer.close(keep=False)


@pytest.mark.parametrize("listing", ["leftovers", "noted"])
def test_a_file_gone_while_the_spool_is_listed_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listing: str
) -> None:
    """From a review: the spool is now listed during a session (the dictations waiting for
    history), while a key tap's file is closed and deleted, or a recovered one discarded: one
    gone between the look at its lock and the look at its time raised FileNotFoundError, on
    the output worker in the middle of a dictation's keep."""
    import app.audio.spool as spool_module

    spool = Spool(tmp_path)
    kept, going = spool.open(generation=1), spool.open(generation=2)
    for writer in (kept, going):
        writer.write(_tone(0.2))
        writer.note(app="editor")
        writer.close(keep=True, keep_note=True)
    real_in_use = spool_module._in_use

    def in_use_then_gone(path: Path) -> bool:
        free = real_in_use(path)
        if path == going.path:
            path.unlink()  # (deleted by another thread right after)
        return free

    monkeypatch.setattr(spool_module, "_in_use", in_use_then_gone)
    assert getattr(spool, listing)() == [kept.path]


def test_a_file_left_between_creation_and_rename_is_cleared(tmp_path: Path) -> None:
    # A crash right after the create left ".utt-….wav.new" (no audio in it) in the folder for good.
    folder = tmp_path / "spool"
    folder.mkdir()
    stale = folder / ".utt-20261204-101010-p4242-g1.wav.new"
    stale.write_bytes(b"")
    spool = Spool(folder)
    assert spool.leftovers() == []
    assert not stale.exists()
    writer = spool.open(generation=1)  # an open spool file is kept
    assert spool.leftovers() == [] and writer.path.exists()
    writer.close(keep=False)


def test_a_recordings_note_is_kept_beside_it_and_goes_with_it(tmp_path: Path) -> None:
    """What recovery lists a crashed recording with (its app, its microphone, the press) is
    noted beside the file, private, each note added to the last; it goes when the file does."""
    spool = Spool(tmp_path / "spool")
    writer = spool.open(generation=1)
    note = writer.path.with_name(writer.path.name + ".json")
    writer.note(key_down=1764990000.25, device="USB Mic")
    writer.note(app="kitty")
    assert read_note(writer.path) == {"key_down": 1764990000.25, "device": "USB Mic", "app": "kitty"}
    assert oct(note.stat().st_mode & 0o777) == "0o600"
    assert spool.leftovers() == []  # the note is no recording
    writer.close(keep=False)
    assert not note.exists()
    writer.note(app="late")  # a note after the close (the focus query came back late): none
    assert list((tmp_path / "spool").iterdir()) == []

    kept = spool.open(generation=2)
    kept.note(device="USB Mic")
    path = kept.close(keep=True, keep_dir=tmp_path / "audio")
    assert path is not None and path.exists() and list((tmp_path / "spool").iterdir()) == []


def test_a_leftovers_note_is_read_and_deleted_with_it(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool = Spool(folder)
    writer = spool.open(generation=1)
    writer.note(app="kitty")
    writer.write(_tone(0.2))
    assert writer.flush()
    writer._file.close()  # the process "dies": its lock goes away, the file and its note stay
    assert spool.leftovers() == [writer.path] and read_note(writer.path) == {"app": "kitty"}
    spool.discard(writer.path)
    assert list(folder.iterdir()) == []
    # A note whose recording is gone (set aside as broken, or a crash between the two
    # deletions) is cleared; a note that is not JSON is read as no note.
    orphan = folder / "utt-20261204-101010-p4242-g1.wav.json"
    orphan.write_text("{}")
    torn = folder / ".utt-20261204-101010-p999999999-g2.wav.json.new"  # a dead process's write
    torn.write_text('{"app": "kit')
    assert spool.leftovers() == [] and not orphan.exists() and not torn.exists()
    broken = folder / "utt-20261204-101010-p4242-g2.wav"
    broken.write_bytes(b"RIFF")
    (folder / (broken.name + ".json")).write_text("{not json")
    assert read_note(broken) == {}


def test_truncated_file_with_stale_header(tmp_path: Path) -> None:
    tone = _tone(0.5)
    pcm = np.rint(tone * 32767).astype("<i2").tobytes()
    path = tmp_path / "utt-20240101-000000-p1-g1.wav"
    # Header written when the file was empty (data size 0), then 0.5 s and half a sample more.
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI", b"RIFF", 36, b"WAVE", b"fmt ", 16, 1, 1, 16000, 32000, 2, 16, b"data", 0
    )
    path.write_bytes(header + pcm + b"\x01")
    audio = read_spool(path)
    assert audio.size == tone.size
    np.testing.assert_allclose(audio, tone, atol=1.0 / 16000)
    assert Spool(tmp_path).leftovers() == [path]


def test_not_a_wav_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "utt-20240101-000000-p1-g1.wav"
    path.write_bytes(b"garbage")
    with pytest.raises(AudioError, match="not a WAV"):
        read_spool(path)


CHILD = textwrap.dedent(
    """
    import sys, time
    from app.audio.capture import Recorder
    from app.audio.spool import Spool
    from app.config import AudioSettings
    from app.paths import get_paths

    rec = Recorder(AudioSettings(pre_roll_s=0.3))
    rec.arm()
    assert rec.wait_running(30), "no audio from the device"
    writer = Spool(get_paths().spool_dir).open(generation=7)
    rec.start(writer)
    sys.stdout.write(str(writer.path) + "\\n")
    sys.stdout.flush()
    while True:  # record until killed
        time.sleep(1)
    """
)


def test_kill_9_mid_recording_leaves_a_recoverable_spool(
    pulse: PulseServer, speak: Speak, holdtype_home: Path
) -> None:
    clip = speak("The quick brown fox jumps over the lazy dog near the river bank.")
    clip_audio, _ = sf.read(clip, dtype="float32")
    env = {**pulse.env, "HOLDTYPE_HOME": str(holdtype_home), "PYTHONPATH": os.getcwd()}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line, f"child did not start recording: {child.stderr.read() if child.stderr else ''}"
        spool_file = Path(line)
        spool = Spool(get_paths().spool_dir)
        assert spool.leftovers() == []  # the child is alive and holds its file
        pulse.play(clip)
        # Everything played is in the file (with its header flushed) within a second or so.
        wanted = 44 + 2 * clip_audio.size
        wait_for(lambda: _header_frames(spool_file) * 2 + 44 >= wanted, timeout=15, what="spool flush")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    leftovers = spool.leftovers()
    assert leftovers == [spool_file]
    recovered = read_spool(spool_file)
    assert recovered.size >= clip_audio.size
    clip_rms = float(np.sqrt(np.mean(clip_audio**2)))
    loud = np.abs(recovered) > 0.02
    assert loud.sum() >= 0.5 * (np.abs(clip_audio) > 0.02).sum()
    assert float(np.sqrt(np.mean(recovered[loud] ** 2))) > 0.5 * clip_rms
    spool.discard(spool_file)
    assert spool.leftovers() == []


def test_a_filesystem_without_locks_still_spools_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAKE: flock failing with ENOLCK, as on a network mount without a lock daemon (no real part
    here fails that way on cue). Recording still spools; a file is in use while the process
    named in it lives, and a dead process's file is recovered."""
    import errno
    import fcntl

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    spool = Spool(tmp_path)
    writer = spool.open(generation=1)
    writer.write(_tone(0.3))
    assert writer.flush()
    assert spool.leftovers() == []  # ours, and we are alive
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    orphan = tmp_path / f"utt-20240101-000000-p{int(dead.stdout)}-g1.wav"
    orphan.write_bytes(writer.path.read_bytes())
    assert spool.leftovers() == [orphan]
    writer.close(keep=False)


def test_a_spool_folder_that_cannot_be_made_is_an_audio_error(tmp_path: Path) -> None:
    """From a review: a spool folder that could not be made (a read-only parent, a full disk;
    here its parent is a file, since the tests run as root, which writes in a read-only
    folder) was an OSError the press did not expect: "internal error", and nothing recorded.
    As an AudioError, the press records without crash safety, as
    test_a_recording_whose_spool_cannot_be_made_is_kept_whole_from_memory shows."""
    parent = tmp_path / "data"
    parent.write_text("")
    with pytest.raises(AudioError, match="cannot create the recording spool"):
        Spool(parent / "spool").open(generation=1)
