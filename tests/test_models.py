"""The model registry, downloads (real code against a refused connection) and device choice."""

from __future__ import annotations

import http.server
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.config import ModelSettings
from app.errors import ModelError
from app.transcribe import models
from app.transcribe.device import choose_device, cpu_workers
from app.transcribe.whisper import LONG_AUDIO_BEAM, LONG_FORM_S, DecodeOptions, beam_for
from tests.fixtures.hub import send_body, serving
from tests.fixtures.waiting import wait_for


@pytest.mark.parametrize(
    ("device", "compute", "gpus", "expected"),
    [
        ("auto", "auto", 0, ("cpu", "int8")),
        ("auto", "auto", 1, ("cuda", "float16")),
        ("auto", "auto", 2, ("cuda", "float16")),
        ("cpu", "auto", 1, ("cpu", "int8")),
        ("cuda", "auto", 1, ("cuda", "float16")),
        ("auto", "int8_float16", 1, ("cuda", "int8_float16")),
        ("auto", "float32", 0, ("cpu", "float32")),
    ],
)
def test_choose_device(device: str, compute: str, gpus: int, expected: tuple[str, str]) -> None:
    assert choose_device(device, compute, gpus) == expected


def test_cuda_without_a_gpu_names_the_fix() -> None:
    with pytest.raises(ModelError, match=r"model\.device auto"):
        choose_device("cuda", "auto", 0)


def test_embedded_model_is_installed_and_resolves_offline() -> None:
    assert models.is_installed("tiny.en")
    path = models.resolve("tiny.en")
    assert (path / "model.bin").exists()


def test_unknown_and_missing_models_explain_themselves() -> None:
    with pytest.raises(ModelError, match=r"unknown model 'tiny\.xx'"):
        models.resolve("tiny.xx")
    with pytest.raises(ModelError, match=r"holdtype models download base\.en"):
        models.resolve("base.en")


def test_a_slip_in_a_model_name_gets_the_name_meant_and_a_folder_needs_no_download() -> None:
    # `models download Base.en`, `smal.en` or `tiny` listed the known names without a hint, and
    # a model folder (which needs no download) was just "unknown".
    from tests.cli import holdtype

    for given, meant in (("Base.en", "base.en"), ("smal.en", "small.en"), ("tiny", "tiny.en")):
        proc = holdtype("models", "download", given)
        assert proc.returncode == 1 and f"(did you mean {meant}?)" in proc.stderr, proc.stderr
    folder = str(models.resolve("tiny.en"))
    proc = holdtype("models", "download", folder)
    assert proc.returncode == 1 and "is a model folder, which needs no download" in proc.stderr
    assert f"holdtype config set model.name {folder}" in proc.stderr


def test_a_local_model_folder_is_a_model(tmp_path) -> None:
    with pytest.raises(ModelError, match="not a CTranslate2 model folder"):
        models.resolve(str(tmp_path))
    # a folder that is not there is said to be missing (from a review: "not a model folder")
    with pytest.raises(ModelError, match="no such model folder"):
        models.resolve(str(tmp_path / "typo"))
    embedded = models.resolve("tiny.en")
    assert models.resolve(str(embedded)) == embedded


def test_download_without_network_fails_clearly_and_leaves_nothing(monkeypatch) -> None:
    # A real connection refused: nothing listens on the discard port of loopback.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    seen: list[tuple[int, int]] = []
    with pytest.raises(ModelError, match=r"could not download 'base\.en'.*tiny\.en") as raised:
        models.download("base.en", lambda done, total: seen.append((done, total)))
    # said in words ("[Errno 111] Connection refused" said little to most users)
    assert "the server refused the connection" in str(raised.value)
    assert seen and seen[0][0] == 0  # progress was reported before the failure
    assert not models.downloaded_path("base.en").exists()
    assert not models.downloaded_path("base.en").with_name("base.en.partial").exists()
    # nor its lock file (an empty base.en.lock was left in the models folder)
    assert not models.downloaded_path("base.en").with_name("base.en.lock").exists()
    assert models.is_installed("tiny.en")


def test_a_name_that_cannot_be_looked_up_is_said_in_words(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A real failed name lookup: the .invalid top-level domain never resolves (RFC 2606).
    monkeypatch.setenv("HF_ENDPOINT", "http://holdtype-test.invalid")
    with pytest.raises(ModelError, match="the server could not be found"):
        models.download("base.en")


def _connecting_to(port: int) -> bool:
    """Whether a TCP connection to ``port`` on loopback waits for its handshake (SYN_SENT)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[2].endswith(f":{port:04X}") and fields[3] == "02":
            return True
    return False


def test_cancel_breaks_off_a_connection_that_never_opens(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A real stalled connect: a server whose accept queue is full drops the handshake, as a
    # firewall does. Cancel used to wait out the 30 s connect timeout.
    server = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = server.getsockname()[1]
    queued = socket.create_connection(("127.0.0.1", port))  # fills the queue
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    cancel = models.Cancel()
    outcome: list[BaseException] = []

    def fetch() -> None:
        try:
            models.download("base.en", cancel=cancel)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    try:
        wait_for(lambda: _connecting_to(port), timeout=10, what="a connection waiting to open")
        asked = time.monotonic()
        cancel.set()
        worker.join(models.READ_TIMEOUT_S)
        waited = time.monotonic() - asked
    finally:
        queued.close()
        server.close()
    assert not worker.is_alive() and waited < models.READ_TIMEOUT_S / 3, waited
    assert len(outcome) == 1 and isinstance(outcome[0], models.DownloadCancelled), outcome
    assert not models.downloaded_path("base.en").with_name("base.en.partial").exists()


@pytest.mark.parametrize(
    ("setting", "cores", "expected"),
    [
        (0, 2, (1, 2)),  # automatic: two decodes side by side, half the cores each
        (0, 16, (8, 2)),
        (0, 1, (1, 2)),
        (0, None, (1, 2)),  # os.cpu_count() may not know
        (3, 16, (3, 1)),  # an explicit count: one decode at a time, with that many threads
        (64, 2, (2, 1)),  # ...but no more than the cores (64 on 2 cores: 6 times slower)
        (8, None, (8, 1)),
    ],
)
def test_cpu_threads_and_parallel_decodes(setting: int, cores: int | None, expected: tuple[int, int]) -> None:
    assert cpu_workers(setting, cores) == expected


def test_utterances_get_the_wide_beam_and_long_recordings_at_most_five() -> None:
    wide = ModelSettings().beam_size
    assert wide > LONG_AUDIO_BEAM  # the default is wider than faster-whisper's 5
    assert DecodeOptions().beam_size == wide == DecodeOptions.from_settings(ModelSettings()).beam_size
    assert beam_for(LONG_FORM_S, wide) == wide  # one window: an utterance
    assert beam_for(LONG_FORM_S + 1, wide) == LONG_AUDIO_BEAM
    assert beam_for(LONG_FORM_S + 1, 2) == 2  # a narrower beam the user chose is kept


def test_remove_takes_away_what_a_download_stopped_half_way_left() -> None:
    # A download killed by SIGTERM left base.en.partial (gigabytes for a large model), and
    # `models remove base.en` said "not downloaded" and left it.
    partial = models.downloaded_path("base.en").with_name("base.en.partial")
    partial.mkdir(parents=True)
    (partial / "model.bin").write_bytes(b"\0" * 1024)
    models.remove("base.en")
    assert not partial.exists()
    with pytest.raises(ModelError, match="is not downloaded"):
        models.remove("base.en")


def test_remove_deletes_only_a_model_holdtype_downloaded(tmp_path: Path) -> None:
    # `models remove ~/my-model` deleted the user's folder, `models remove ..` the whole cache.
    mine = tmp_path / "my-model"
    mine.mkdir()
    models.downloaded_path("base.en").parent.mkdir(parents=True, exist_ok=True)
    for name in (str(mine), "..", "../models", "tiny.en"):
        with pytest.raises(ModelError):
            models.remove(name)
    assert mine.is_dir() and models.downloaded_path("base.en").parent.is_dir()


def test_a_model_folder_without_its_tokenizer_is_refused(tmp_path: Path) -> None:
    # faster-whisper fetched the tokenizer from Hugging Face: 24 s of retries offline.
    folder = tmp_path / "no-tokenizer"
    shutil.copytree(models.embedded_model_path(), folder)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match=r"no tokenizer\.json"):
        models.resolve(str(folder))


def test_a_model_folder_with_a_damaged_tokenizer_says_which_file_and_the_fix(tmp_path: Path) -> None:
    # The tokenizer's parser raises a bare Exception naming no file: it went past every
    # handler of a load failure (from a review: each dictation then vanished).
    from app.transcribe.whisper import WhisperTranscriber

    folder = tmp_path / "cut-short"
    shutil.copytree(models.embedded_model_path(), folder)
    (folder / "tokenizer.json").write_text('{"version": "1.0", "truncated')
    with pytest.raises(ModelError, match=r"its tokenizer\.json is damaged \(.+\); copy it again from"):
        WhisperTranscriber(ModelSettings(name=str(folder))).load()


class _CutShort(http.server.BaseHTTPRequestHandler):
    """A real HTTP server whose connection closes halfway through every file it promises."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2000000")
        self.end_headers()
        self.wfile.write(b"\0" * 1_000_000)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


def test_a_download_cut_short_is_not_installed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A connection closed early ended the read like the end of the file: the half model was
    installed, failed to load, and `models download` then said it was installed already."""
    with (
        serving(_CutShort, monkeypatch),
        pytest.raises(ModelError, match="closed after 1000000 of 2000000 bytes"),
    ):
        models.download("base.en")
    assert not models.is_installed("base.en")
    assert not models.downloaded_path("base.en").with_name("base.en.partial").exists()


class _ServesEmbedded(http.server.BaseHTTPRequestHandler):
    """A real HTTP server of the embedded model's files that holds model.bin until ``gate`` is set."""

    gate = threading.Event()
    asked_for_model = threading.Event()

    def do_GET(self) -> None:
        filename = self.path.rsplit("/", 1)[-1]
        source = models.embedded_model_path() / filename
        if not source.is_file():
            self.send_error(404)
            return
        if filename == "model.bin":
            type(self).asked_for_model.set()
            type(self).gate.wait(30)
        send_body(self, source.read_bytes())

    def log_message(self, *args: object) -> None:
        pass


def test_a_second_download_of_a_model_being_downloaded_is_refused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two downloads of one model (the settings window and `models download`) wrote into one
    .partial folder and removed it under each other; the second is now refused, clearly."""
    _ServesEmbedded.gate.clear()
    _ServesEmbedded.asked_for_model.clear()
    outcome: list[object] = []
    lock = models.downloaded_path("base.en").with_name("base.en.lock")
    with serving(_ServesEmbedded, monkeypatch):
        first = threading.Thread(target=lambda: outcome.append(models.download("base.en")), daemon=True)
        first.start()
        try:
            assert _ServesEmbedded.asked_for_model.wait(30)
            with pytest.raises(ModelError, match=r"'base\.en' is being downloaded by another"):
                models.download("base.en")
            assert models.downloaded_path("base.en").with_name("base.en.partial").is_dir()  # untouched
            assert lock.is_file()  # the refused one leaves the lock it did not get
        finally:
            _ServesEmbedded.gate.set()
            first.join(60)
    assert outcome == [models.downloaded_path("base.en")]
    assert not lock.exists()  # gone with its holder
    assert models.is_installed("base.en")
    assert models.download("base.en") == models.downloaded_path("base.en")  # installed: no lock


def _libcublas_missing() -> RuntimeError:
    """A FAKE of CTranslate2's error on a GPU machine without cuBLAS (no GPU here): it comes at
    the first decode, after the model loaded on the GPU."""
    return RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")


def test_a_cuda_failure_at_the_first_decode_moves_the_model_to_the_cpu(speak, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.transcribe.audiofile import load_audio
    from app.transcribe.whisper import WhisperTranscriber

    audio = load_audio(speak("Open the settings window."))
    transcriber = WhisperTranscriber(ModelSettings())
    transcriber.load()
    on_gpu = transcriber._model
    transcriber.device = "cuda"  # as after a load on a GPU that device "auto" chose
    real = transcriber._transcribe
    failures: list[object] = []

    def first_decode_fails(*args: object, **kwargs: object) -> object:
        if transcriber._model is on_gpu:
            failures.append(on_gpu)
            raise _libcublas_missing()
        return real(*args, **kwargs)

    monkeypatch.setattr(transcriber, "_transcribe", first_decode_fails)
    text = transcriber.transcribe(audio, DecodeOptions()).text  # used to raise, every time
    assert "settings window" in text.lower()
    assert failures == [on_gpu] and transcriber.device == "cpu" and transcriber._model is not on_gpu
    assert transcriber.compute_type == "int8"


def _raising(exc: BaseException) -> Callable[..., object]:
    def fail(*args: object, **kwargs: object) -> object:
        raise exc

    return fail


def test_a_cuda_failure_with_the_device_set_to_cuda_names_the_fix(speak, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.transcribe.audiofile import load_audio
    from app.transcribe.whisper import WhisperTranscriber

    transcriber = WhisperTranscriber(ModelSettings())
    transcriber.load()
    transcriber.device = "cuda"
    transcriber.settings = ModelSettings(device="cuda")  # the user's explicit choice
    monkeypatch.setattr(
        transcriber, "_transcribe", lambda *a, **k: (_ for _ in ()).throw(_libcublas_missing())
    )
    with pytest.raises(ModelError, match=r"libcublas.*config set model\.device auto"):
        transcriber.transcribe(load_audio(speak("Open the settings window.")), DecodeOptions())
    # Any other error of a decode is not CUDA's: it is raised as it is.
    transcriber.settings = ModelSettings()
    monkeypatch.setattr(
        transcriber, "_transcribe", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("bad"))
    )
    with pytest.raises(RuntimeError, match="bad"):
        transcriber.transcribe(load_audio(speak("Open the settings window.")), DecodeOptions())


class _Odd(http.server.BaseHTTPRequestHandler):
    """A real HTTP server that answers as a broken network or a proxy does, by ``how``."""

    how = ""

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        if self.how == "no tokenizer" and name == "tokenizer.json":
            self.send_error(404)
            return
        if self.how == "gone" and name == "model.bin":
            self.send_error(404)
            return
        if self.how == "busy":
            self.send_error(503)
            return
        if self.how == "web page":
            send_body(self, b"<html><body>Sign in to the Wi-Fi</body></html>", "text/html; charset=utf-8")
            return
        if name == "model.bin" and self.how == "cut, no length":
            self.send_response(200)  # no Content-Length: the end of the connection ends the file
            self.end_headers()
            self.wfile.write(b"\0" * 1_000_000)
            self.close_connection = True
            return
        send_body(self, b"{}" if name.endswith(".json") else b"\0" * 1000)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("cut, no length", r"model\.bin ended after 1 of about 145 MB"),
        ("web page", r"a web page instead of config\.json"),
        (
            "no tokenizer",
            r"could not download .*Not Found",
        ),  # installed, then 24 s of Hugging Face retries at each load
        # The server answered: "Check the network connection" sent users astray.
        ("gone", r"model\.bin answered 404 \(Not Found\): the model is not at that address"),
        ("busy", r"answered 503 .*try again later"),
    ],
)
def test_a_download_that_is_not_the_model_is_not_installed(how: str, reason: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _Odd.how = how
    with serving(_Odd, monkeypatch), pytest.raises(ModelError, match=reason):
        models.download("base.en")
    assert not models.is_installed("base.en")
    assert not models.downloaded_path("base.en").with_name("base.en.partial").exists()


# 1 MB; and 4000 bytes short of a 64 KiB read's end, where a buffered file kept what the disk
# refused and raised again as it closed, so that the network was blamed after all.
@pytest.mark.parametrize("limit", [1_000_000, 16 * 65536 - 4000])
def test_a_download_that_cannot_be_written_names_the_disk_not_the_network(  # type: ignore[no-untyped-def]
    hub, holdtype_home: Path, limit: int
) -> None:
    """A full disk was reported as "Check the network connection". A real file-size limit
    (RLIMIT_FSIZE, in the `models download` process) makes the writes fail on cue."""
    import resource
    import signal
    import subprocess
    import sys

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    proc = subprocess.run(
        [sys.executable, "-m", "app", "models", "download", "base.en"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limited,
    )
    assert proc.returncode == 1, proc.stderr
    assert "could not write 'base.en'" in proc.stderr and "File too large" in proc.stderr, proc.stderr
    assert "network" not in proc.stderr
    assert not models.is_installed("base.en")
    assert not models.downloaded_path("base.en").with_name("base.en.partial").exists()
