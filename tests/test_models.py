"""The model registry, downloads (real code against a refused connection) and device choice."""

from __future__ import annotations

import pytest

from app.config import ModelSettings
from app.errors import ModelError
from app.transcribe import models
from app.transcribe.device import choose_device, cpu_workers
from app.transcribe.whisper import LONG_AUDIO_BEAM, LONG_FORM_S, DecodeOptions, beam_for


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


def test_a_local_model_folder_is_a_model(tmp_path) -> None:
    with pytest.raises(ModelError, match="not a CTranslate2 model folder"):
        models.resolve(str(tmp_path))
    embedded = models.resolve("tiny.en")
    assert models.resolve(str(embedded)) == embedded


def test_download_without_network_fails_clearly_and_leaves_nothing(monkeypatch) -> None:
    # A real connection refused: nothing listens on the discard port of loopback.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    seen: list[tuple[int, int]] = []
    with pytest.raises(ModelError, match=r"could not download 'base\.en'.*tiny\.en"):
        models.download("base.en", lambda done, total: seen.append((done, total)))
    assert seen and seen[0][0] == 0  # progress was reported before the failure
    assert not models.downloaded_path("base.en").exists()
    assert not models.downloaded_path("base.en").with_name("base.en.partial").exists()
    assert models.is_installed("tiny.en")


@pytest.mark.parametrize(
    ("setting", "cores", "expected"),
    [
        (0, 2, (1, 2)),  # automatic: two decodes side by side, half the cores each
        (0, 16, (8, 2)),
        (0, 1, (1, 2)),
        (0, None, (1, 2)),  # os.cpu_count() may not know
        (3, 16, (3, 1)),  # an explicit count: one decode at a time, with that many threads
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
