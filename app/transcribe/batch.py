"""Transcribe audio files in one go: the engine of ``holdtype transcribe`` and the benchmarks.

Uses exactly the live pipeline's parts (model, vocabulary biasing, vocabulary correction, rules,
optional LLM mode), so what a file gives is what dictation gives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.config import Settings
from app.errors import AudioError
from app.text.pipeline import TextPipeline
from app.transcribe.audiofile import SAMPLE_RATE, decode_bytes, load_audio
from app.transcribe.whisper import DecodeOptions, WhisperTranscriber


@dataclass(frozen=True, slots=True)
class FileResult:
    """One file's transcript, as printed by ``holdtype transcribe --json``."""

    path: str
    text: str
    raw: str
    seconds: float
    elapsed_ms: float
    model: str
    mode: str = "raw"
    # How long this file waited for the model to load: the first file of a run only. Kept out
    # of elapsed_ms, which is what every utterance costs once the model is in memory (the app
    # loads it at start).
    load_ms: float = 0.0
    llm_ms: float | None = None
    cached: bool | None = None
    fallback_reason: str | None = None
    cache_key: str | None = None  # the LLM reply's key in the reply cache (not printed)

    def to_dict(self, *, mode_named: bool = False) -> dict[str, Any]:
        """JSON-ready fields; the LLM ones when a mode ran, or when ``mode_named`` (``--mode``
        was given, ``raw`` too: a script that always passes ``--mode X`` reads the same keys
        whatever X is, null where no model was asked)."""
        data: dict[str, Any] = {
            "path": self.path,
            "text": self.text,
            "raw": self.raw,
            "seconds": round(self.seconds, 3),
            "elapsed_ms": round(self.elapsed_ms, 1),
            "load_ms": round(self.load_ms, 1),
            "model": self.model,
            "mode": self.mode,
        }
        if self.mode != "raw" or mode_named:
            data.update(
                llm_ms=None if self.llm_ms is None else round(self.llm_ms, 1),
                cached=self.cached,
                fallback_reason=self.fallback_reason,
            )
        return data


# The path that names standard input (``holdtype transcribe -``).
STDIN = Path("-")


class FileTranscriber:
    """Loads the model once and transcribes files with the user's vocabulary, rules and mode.

    ``stdin`` is the audio file read from standard input, transcribed where :data:`STDIN`
    ("-") is among the paths.
    """

    def __init__(
        self, settings: Settings, *, use_rules: bool = True, mode: str = "raw", stdin: bytes | None = None
    ) -> None:
        self.settings = settings
        self.stdin = stdin
        self.use_rules = use_rules
        self.mode = mode
        self.whisper = WhisperTranscriber(settings.model)
        self.pipeline = TextPipeline.from_settings(settings)
        self._runner: Any = None
        self._stop = threading.Event()  # set when the caller stops reading: running decodes end
        if mode != "raw":
            from app.llm.runner import ModeRunner

            self._runner = ModeRunner(settings)
            self._runner.mode(mode)  # unknown mode: fail before any audio is decoded

    def cache_problem(self) -> str | None:
        """What the mode's reply cache found on opening (a damaged cache set aside), once."""
        return self._runner.cache_problem() if self._runner is not None else None

    def transcribe_files(self, paths: list[Path], jobs: int = 1) -> Iterator[FileResult | AudioError]:
        """Transcribe ``paths``, yielding each file's result (or the :class:`AudioError` that
        stopped it) in the order given.

        One file at a time by default, so that each file's ``elapsed_ms`` is what it takes
        alone (a file's decode already runs its readings side by side on the cores). ``jobs``
        above 1 decodes that many files at once, up to as many as the model runs at once (two
        on a CPU with two cores or more, see :func:`~app.transcribe.device.cpu_workers`): more
        files an hour, each one slower. 25 check-set clips with their 51 terms on a 2-core VM:
        11.7 s against 15.0 s one at a time, a file's median ``elapsed_ms`` 835 against 561 ms.
        With an LLM mode the files go one at a time, like the mode's calls.
        """
        if len(paths) < 2 or self._runner is not None or jobs < 2:
            for path in paths:
                yield self._attempt(path)
            return
        loading = time.perf_counter()
        self.whisper.load()  # (which tells how many decodes the model runs at once)
        load_ms = (time.perf_counter() - loading) * 1000
        at_once = max(1, min(jobs, self.whisper.workers))
        pool = ThreadPoolExecutor(at_once)
        self._stop.clear()
        try:
            loaded = False
            for outcome in pool.map(self._attempt, paths):
                if isinstance(outcome, FileResult):  # the first file read waited for the load
                    # (an unreadable one before it did not); the others' no-op load() can
                    # still wait on the model's lock behind a decode
                    outcome = replace(outcome, load_ms=0.0 if loaded else load_ms)
                    loaded = True
                yield outcome
        except BaseException:
            # Ctrl-C, or a caller that stops reading: the files not started yet are dropped,
            # and the decodes running are given up between their stages, without waiting
            # for them (a window of a long file takes seconds to reach its next stage).
            self._stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _attempt(self, path: Path) -> FileResult | AudioError:
        """:meth:`transcribe_file`, with an unreadable file's error returned, not raised."""
        try:
            return self.transcribe_file(path)
        except AudioError as exc:
            return exc

    def transcribe_file(self, path: Path) -> FileResult:
        """Transcribe one file (any format PyAV/ffmpeg reads); :data:`STDIN` is ``stdin``."""
        audio = decode_bytes(self.stdin or b"") if path == STDIN else load_audio(path)
        loading = time.perf_counter()
        self.whisper.load()  # a no-op once loaded
        started = time.perf_counter()
        base = DecodeOptions.from_settings(self.settings.model)
        if self.use_rules:
            raw = self.pipeline.transcribe(self.whisper, audio, base, cancel=self._stop.is_set).text
            text = self.pipeline.finish(self.whisper, audio, raw)
        else:
            raw = text = self.whisper.transcribe(audio, base, cancel=self._stop.is_set).text
        elapsed = (time.perf_counter() - started) * 1000
        result = FileResult(
            str(path),
            text,
            raw,
            len(audio) / SAMPLE_RATE,
            elapsed,
            self.whisper.name,
            self.mode,
            (started - loading) * 1000,
        )
        if self._runner is None or not text:
            return result
        mode_result = self._runner.run(self.mode, text)
        return FileResult(
            result.path,
            mode_result.text,
            raw,
            result.seconds,
            result.elapsed_ms,
            result.model,
            self.mode,
            result.load_ms,
            mode_result.llm_ms,
            mode_result.cached,
            mode_result.fallback_reason,
            mode_result.cache_key,
        )
