"""CPU and memory of the armed, idle engine: model loaded, microphone open, hotkey listening."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from app import events as ev
from app.config import Settings


@dataclass(frozen=True, slots=True)
class IdleFigures:
    """What the idle engine costs."""

    seconds: float
    cpu_percent: float  # of one core
    rss_mb: float
    peak_rss_mb: float
    armed_audio: bool
    armed_hotkey: bool
    launch_to_ready_ms: float
    problems: tuple[str, ...]


def _importable(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def memory_unmeasurable(importable: Callable[[str], bool] = _importable) -> str | None:
    """Why this process's memory cannot be measured here, or None when it can: the standard
    ``resource`` module (Linux, macOS) or psutil (Windows, when installed) is needed."""
    if importable("resource") or importable("psutil"):
        return None
    return (
        "holdtype bench idle measures memory on Linux and macOS only; on Windows install psutil "
        "(pip install psutil) to measure there"
    )


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; psutil or peak RSS elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if _importable("psutil"):
        import psutil

        return float(psutil.Process().memory_info().rss) / (1024 * 1024)
    return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (``resource``; psutil's peak working set
    on Windows, which has no ``resource`` module)."""
    if not _importable("resource"):
        import psutil  # memory_unmeasurable() said it is there

        info = psutil.Process().memory_info()
        return float(getattr(info, "peak_wset", info.rss)) / (1024 * 1024)
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def measure_idle(settings: Settings, seconds: float = 20.0, settle_s: float = 3.0) -> IdleFigures:
    """Start the engine, wait until ready and settled, then measure CPU over ``seconds``.

    Raises RuntimeError (before the model loads) where memory cannot be measured (see
    :func:`memory_unmeasurable`)."""
    if (why := memory_unmeasurable()) is not None:
        raise RuntimeError(why)
    from app.engine import Engine

    problems: list[str] = []
    launched = time.perf_counter()
    engine = Engine(settings)
    engine.subscribe(lambda e: problems.append(e.message) if isinstance(e, ev.ErrorRaised) else None)
    engine.start()
    try:
        if not engine.wait_ready(300):
            raise RuntimeError("the model did not load")
        ready_ms = (time.perf_counter() - launched) * 1000
        time.sleep(settle_s)  # let start-up work (recovery, first audio blocks) finish
        cpu0, wall0 = os.times(), time.perf_counter()
        time.sleep(seconds)
        cpu1, wall1 = os.times(), time.perf_counter()
        used = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        return IdleFigures(
            seconds=wall1 - wall0,
            cpu_percent=100 * used / (wall1 - wall0),
            rss_mb=rss_mb(),
            peak_rss_mb=peak_rss_mb(),
            armed_audio=engine.microphone_armed,
            armed_hotkey=engine.hotkey_armed,
            launch_to_ready_ms=ready_ms,
            problems=tuple(problems),
        )
    finally:
        engine.shutdown()
