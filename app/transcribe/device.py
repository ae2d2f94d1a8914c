"""Where Whisper runs: CUDA with float16 when CTranslate2 sees a GPU, else the CPU with int8,
and how many threads and parallel decodes the CPU gets."""

from __future__ import annotations

import logging

from app.errors import ModelError

log = logging.getLogger(__name__)


def cuda_device_count() -> int:
    """Return how many CUDA devices CTranslate2 can use (0 when none or no CUDA build)."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a broken CUDA install must not stop CPU transcription
        log.debug("CTranslate2 could not count CUDA devices", exc_info=True)
        return 0


def choose_device(device: str, compute_type: str, cuda_devices: int) -> tuple[str, str]:
    """Pick (device, compute_type) for CTranslate2.

    ``auto`` uses CUDA with float16 when at least one GPU is visible, else the CPU with int8.
    An explicit ``cuda`` without a GPU is an error that names the fix. An explicit compute type
    is kept as given.
    """
    if device not in {"auto", "cpu", "cuda"}:
        raise ModelError(f"unknown device '{device}'; use auto, cpu or cuda")
    if device == "cuda" and cuda_devices < 1:
        raise ModelError(
            "model.device is 'cuda' but CTranslate2 sees no CUDA GPU; "
            "run: holdtype config set model.device auto"
        )
    chosen = "cuda" if device == "cuda" or (device == "auto" and cuda_devices > 0) else "cpu"
    if compute_type and compute_type != "auto":
        return chosen, compute_type
    return chosen, "float16" if chosen == "cuda" else "int8"


def cpu_workers(cpu_threads: int, cores: int | None) -> tuple[int, int]:
    """(threads per decode, decodes at once) for CTranslate2 on the CPU.

    ``cpu_threads`` 0 means automatic: two decodes can run side by side (the streaming
    transcriber's speculative decode and the final one a release waits for), each with half
    the cores. Whisper's decoder works on small matrices: on a 2-core machine one thread
    decodes a 5 s utterance in 0.38 s where two take 0.55 s, so half the cores is also the
    faster choice for one decode alone. An explicit count keeps one decode at a time, with
    no more threads than cores.
    """
    if cpu_threads > 0:
        # More threads than cores only wait on each other: 64 on 2 cores decoded a clip in
        # 2.5 s where 2 took 0.44 s.
        return (min(cpu_threads, cores) if cores else cpu_threads), 1
    return max(1, (cores or 1) // 2), 2
