"""The modes a dictation goes through, as the engine runs them (:mod:`app.engine`): the
runner for the settings in force, which mode ``modes.apps`` may pick, and a run that never
fails the dictation (any failure gives the plain transcript, with a notice)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from app import events as ev
from app.events import EngineEvent

if TYPE_CHECKING:
    from app.config import Settings
    from app.llm.runner import ModeRunner

log = logging.getLogger(__name__)


class ModeRun(NamedTuple):
    """What a dictation's mode made of its text."""

    text: str  # what goes in: the rewrite, or the text as it was
    reply_key: str | None  # the reply cache's key of the model's reply; None: no model was asked
    fallback_reason: str | None = None  # why the text is the one given (None: no fallback)


class DictationModes:
    """Runs dictations through their modes; called from the focus thread and the output worker."""

    def __init__(self, settings: Callable[[], Settings], publish: Callable[[EngineEvent], None]) -> None:
        """``settings`` gives the settings in force (a new object whenever they change)."""
        self._settings = settings
        self._publish = publish
        self._runner: ModeRunner | None = None
        self._lock = threading.Lock()
        self._stale: set[str] = set()  # modes.apps' modes already said to be unusable
        self._preparing = False  # llm's import is under way or done (see prepare)

    def prepare(self, mode: str) -> None:
        """Have ``mode``'s run ready before the text is: a mode other than raw imports llm and
        its plugins, once a process, on a thread of its own, while the key is held (the first
        dictation in a mode waited 0.4 to 0.7 s for it after the key was let go)."""
        if mode == "raw" or self._preparing:  # (RAW: not imported on the press's thread)
            return
        with self._lock:
            if self._preparing:
                return
            self._preparing = True

        def load() -> None:
            from app.llm.runner import load_llm

            load_llm()

        threading.Thread(target=load, name="holdtype-llm-import", daemon=True).start()

    def reset(self) -> None:
        """Make the runner again on next use (the settings changed)."""
        self._runner = None

    def runner(self) -> ModeRunner:
        """The mode runner for the settings in force, made on first use."""
        from app.llm.runner import ModeRunner

        with self._lock:
            runner = self._runner
            settings = self._settings()
            if runner is None or runner.settings is not settings:
                runner = self._runner = ModeRunner(settings)
            return runner

    def usable(self, mode: str, app: str) -> bool:
        """Whether ``mode``, which ``modes.apps`` ties to ``app``, can be run; one that was
        deleted (or whose file is broken) since it was tied is said once, and the mode in use
        applies instead (its dictation used to get the plain transcript, with a notice each
        time)."""
        from app.llm.modes import ModeError

        try:
            self.runner().mode(mode)
        except ModeError as exc:
            if mode not in self._stale:
                self._stale.add(mode)
                self._publish(
                    ev.Notice(
                        f"{exc}; modes.apps ties {app or 'an app'} to it, so the mode in use applies there",
                        "llm",
                    )
                )
            return False
        self._stale.discard(mode)
        return True

    def run(
        self,
        mode: str,
        text: str,
        cancel: Callable[[], bool] | None = None,
        window_pid: int | None = None,
    ) -> ModeRun:
        """``text`` through ``mode``, with the reply cache's key of the model's reply (None when
        no model was asked) and why it fell back; the text as it was when the mode fails in any
        way (the runner itself falls back on a model's failures: this also covers its own). ``cancel``
        says the dictation was cancelled: the model is no longer waited for. A mode that sends
        the staged diff reads it in the folder of the terminal dictated into (the window of
        process ``window_pid``), never in Holdtype's own (:mod:`app.llm.workdir`)."""
        from app.llm.modes import ModeError
        from app.llm.runner import CANCELLED
        from app.llm.workdir import foreground_directory

        try:
            runner = self.runner()  # (new settings may drop it meanwhile)
            repo: Path | Literal[False] | None = None
            with contextlib.suppress(ModeError):  # (the run says what is wrong with the mode)
                if runner.mode(mode).include_git_diff:
                    repo = foreground_directory(window_pid) or False
                    log.info("mode %s: staged diff of %s", mode, repo or "no folder (none sent)")
            result = runner.run(mode, text, cancel=cancel, repo=repo)
        except Exception as exc:
            log.exception("mode %s failed", mode)
            from app.redact import redact_keys

            said = redact_keys(str(exc))  # (a plugin's error may quote the key it was sent)
            self._publish(ev.Notice(f"Mode '{mode}' failed ({said}); the plain transcript is used", "llm"))
            return ModeRun(text, None, f"mode failed: {said}")
        problem = runner.cache_problem()
        if problem:
            self._publish(ev.ErrorRaised(problem, "llm"))
        if result.fallback_reason and result.fallback_reason != CANCELLED:
            # What the model replied is shown with the notice, never logged with it (``said``).
            message = f"Mode '{mode}' fell back to the plain transcript: {result.fallback_reason}"
            self._publish(ev.Notice(message, "llm", result.reply_began))
        return ModeRun(result.text, result.cache_key, result.fallback_reason)
