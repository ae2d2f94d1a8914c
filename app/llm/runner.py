"""Run a mode on dictated text: cache lookup, the ``llm`` call, validation, sanity, fallback.

:meth:`ModeRunner.run` never loses the user's words. The ``raw`` mode returns the text as is
without importing ``llm``. Any other mode is looked up in the cache first (a hit touches neither
the network nor the model); on a miss the model is called through ``llm.get_model(id).prompt``
in a worker thread that is abandoned after ``timeout_s``. With a schema, a reply that fails
validation is retried (up to ``retries`` times, within the same ``timeout_s``) with the
validation error in the next prompt. An error, a time-out, exhausted retries, or a reply that
fails the sanity check (empty, far longer or shorter than the input, or answering the text
instead of rewriting it) gives back the input text, with ``fallback_reason`` saying why; the
reason is logged as well.

API keys are resolved by ``llm`` from its own key store (``holdtype llm keys set ...``) and never pass
through Holdtype's settings or logs.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from app.config import Settings
from app.errors import SHOWN_TO_USER
from app.llm.cache import CACHE_FAILURES, CacheEntry, LLMCache, cache_key
from app.llm.keys import set_key_hint
from app.llm.loopback import bypass_proxies, local_server_down, loopback_host
from app.llm.modes import (
    RAW,
    Mode,
    ModeError,
    builtin_dir,
    get_mode,
    render_prompt,
    staged_diff,
)
from app.llm.plugins import install_hint
from app.llm.replies import clean_reply, sanity_problem, strip_fence, strip_thinking, trim_chatter
from app.llm.setup import extra_models_file, extra_models_problem, keys_problem, llm_failure
from app.paths import get_paths
from app.redact import redact_keys

log = logging.getLogger(__name__)

# llm loads its plugins lazily and not thread-safely: every plugin/model lookup in Holdtype
# (the runner, the settings window) holds this lock.
PLUGIN_LOCK = threading.RLock()

MAX_TOKENS_CAP = 4096
#: Tokens a reasoning model gets for its thinking, above what the rewrite needs, once it ran
#: out of them (see ModeRunner._call): Qwen3 thinks some hundreds of tokens over a sentence.
THINKING_TOKENS = 2048
#: A schema retry is not started with less than this left of ``llm.timeout_s``.
MIN_RETRY_S = 0.5
#: How often a call waited for asks whether its dictation was cancelled.
CANCEL_POLL_S = 0.05
#: The fallback reason of a mode whose dictation was cancelled while the model was asked.
CANCELLED = "cancelled while the model was asked"


@dataclass(frozen=True, slots=True)
class ModeResult:
    """What a mode made of the text.

    ``text`` is what gets inserted: the model's rewrite, or the input itself when the mode fell
    back (then ``fallback_reason`` says why). ``llm_ms`` is the time this call spent on the model
    or the cache lookup; ``cached`` says the reply came from the cache.
    """

    text: str
    mode: str
    model: str | None
    cached: bool
    llm_ms: float
    fallback_reason: str | None = None
    raw_reply: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    attempts: int = 0
    cache_key: str | None = None

    @property
    def fell_back(self) -> bool:
        """True when the input text is returned because the mode failed."""
        return self.fallback_reason is not None

    @property
    def reply_began(self) -> str:
        """What the reply the mode fell back from began with, on one line ("the reply began
        'Yes, we can…'"), or "" (none came): for the user's eyes next to the fallback reason,
        never for the log, as it may hold their words."""
        reply = " ".join((self.raw_reply or "").split())
        if not self.fell_back or not reply:
            return ""
        return f"the reply began {reply[:40] + ('…' if len(reply) > 40 else '')!r}"

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (for ``--json`` output)."""
        return asdict(self)


def load_llm() -> None:
    """Import llm and its plugins (once a process: about half a second, more on a slow disk);
    a failure is left to the call to report. Dictation has it done while the key is held
    (``DictationModes.prepare``), so a mode's first run does not wait for it."""
    try:
        import llm  # noqa: F401
        from llm.plugins import load_plugins

        with PLUGIN_LOCK:
            load_plugins()
    except Exception as exc:  # (a broken install or plugin: the lookup says what is wrong)
        log.debug("llm or a plugin of it cannot be loaded: %s", exc)


class _Budget:
    """The time (``llm.timeout_s``, from the start of :meth:`ModeRunner.run`) and the cancel
    check of one run, for every step of it."""

    def __init__(self, timeout_s: float, cancel: Callable[[], bool] | None) -> None:
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.cancel = cancel

    def left(self) -> float:
        """Seconds left (0 when none)."""
        return max(0.0, self.deadline - time.monotonic())

    def check(self, model_id: str) -> None:
        """Raise :class:`_Fallback` when the dictation was cancelled or the time is up."""
        if self.cancel is not None and self.cancel():
            raise _Fallback(CANCELLED)
        if time.monotonic() >= self.deadline:
            raise _Fallback(f"no reply from {model_id} within {self.timeout_s:g} s (llm.timeout_s)")


class _Fallback(Exception):
    """Internal: the call failed in a way that returns the input text; ``attempts`` is how
    many requests reached for the model before it did (0: none was sent), ``raw_reply`` the
    last reply that came before it failed (a schema retry that then timed out)."""

    attempts = 0
    raw_reply: str | None = None


@dataclass(frozen=True, slots=True)
class _Reply:
    text: str
    parsed: Any
    attempts: int
    llm_ms: float
    input_tokens: int | None
    output_tokens: int | None
    schema_error: str | None
    cut: bool = False  # stopped at its length limit (max_tokens): not all of the rewrite


class ModeRunner:
    """Runs modes with the LLM settings of ``settings``; one per settings change."""

    def __init__(
        self,
        settings: Settings,
        cache: LLMCache | None = None,
        modes_dir: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        """Prepare a runner; the cache opens on first use (``cache_enabled`` allowing).

        ``cwd`` is the repository whose staged diff ``include_git_diff`` modes read (default: the
        current directory at call time).
        """
        self.settings = settings
        self._vocabulary: Any = None  # the user's terms, made on the first reply (see _spelled)
        self._cache = cache
        self._modes_dir = modes_dir
        self.cwd = cwd
        self._modes: dict[str, tuple[tuple[tuple[str, int], ...], Mode]] = {}
        self._lock = threading.Lock()
        self._cache_problem: str | None = None
        # model id -> (llm's alias files as they were, the model that id named then)
        self._resolved: dict[str, tuple[object, str]] = {}
        self._models: dict[str, tuple[object, Any]] = {}  # model id -> (the files then, its llm model)
        self._thinkers: set[str] = set()  # models whose reply was all reasoning when cut off

    # --- modes -----------------------------------------------------------------------------------
    @property
    def modes_dir(self) -> Path:
        """Folder of the user's modes."""
        return self._modes_dir if self._modes_dir is not None else get_paths().modes_dir

    def mode(self, name: str) -> Mode:
        """Return mode ``name``, re-reading mode files only when one of them changed."""
        signature = _dir_signature(builtin_dir()) + _dir_signature(self.modes_dir)
        cached = self._modes.get(name)
        if cached is not None and cached[0] == signature:
            return cached[1]
        mode = get_mode(name, self.modes_dir)
        self._modes[name] = (signature, mode)
        return mode

    @property
    def cache(self) -> LLMCache | None:
        """The reply cache, or None when caching is off or cannot be opened (then the mode runs
        uncached: the cache saves time, it must never cost the user their words)."""
        if not self.settings.llm.cache_enabled:
            return None
        with self._lock:
            if self._cache is None:
                try:
                    self._cache = LLMCache(self.settings.llm)
                except CACHE_FAILURES as exc:
                    log.warning("the LLM reply cache cannot be opened, running uncached: %s", exc)
                else:
                    self._cache_problem = self._cache.problem
            return self._cache

    def cache_problem(self) -> str | None:
        """What opening the cache found (a damaged cache set aside), the first time it is asked
        for, then None: the caller shows it once (the CLI as a "warning:" line, the engine as an
        error event)."""
        with self._lock:
            problem, self._cache_problem = self._cache_problem, None
        return problem

    # --- running ---------------------------------------------------------------------------------
    def run(
        self,
        mode_name: str,
        text: str,
        sample: int = 0,
        mode: Mode | None = None,
        cancel: Callable[[], bool] | None = None,
        repo: Path | Literal[False] | None = None,
    ) -> ModeResult:
        """Rewrite ``text`` with mode ``mode_name``; never raises: whatever fails (the model,
        a plugin, the cache, a staged diff, or a fault of Holdtype's own) gives ``text`` back
        with the reason in ``fallback_reason``.

        ``sample`` selects one of N cached samples of the same prompt (for evals); ``mode``
        is the mode itself, not its file (the settings window's Test of an unsaved edit).
        ``cancel``, asked between the steps and while the model is waited for, gives up when it
        says so (the dictation was cancelled): ``text`` comes back at once, its reason
        :data:`CANCELLED`. ``llm.timeout_s`` counts from here, for every step.
        ``repo`` is the folder whose staged diff an ``include_git_diff`` mode sends: None for
        the runner's ``cwd``, False for none (dictation into a window whose folder is unknown).
        """
        start = time.perf_counter()
        if mode_name == RAW or not text.strip():
            return ModeResult(text=text, mode=mode_name, model=None, cached=False, llm_ms=0.0)
        # llm.timeout_s and cancel cover the whole run: the model lookup (a plugin may ask its
        # server), the staged diff, the probe of a local server and the cache, not only the call;
        # but not the import of llm and its plugins, once a process (seconds, on a slow disk).
        load_llm()
        budget = _Budget(self.settings.llm.timeout_s, cancel)
        try:
            return self._run(mode_name, text, sample, start, mode, budget, repo)
        except Exception as exc:  # the words must never be lost to a bug on this path
            log.exception("mode %s failed", mode_name)
            return self._fallback(mode_name, None, text, f"internal error: {_one_line(exc)}", start)

    def _run(
        self,
        mode_name: str,
        text: str,
        sample: int,
        start: float,
        given: Mode | None,
        budget: _Budget,
        repo: Path | Literal[False] | None = None,
    ) -> ModeResult:
        """:meth:`run` for a mode that may use a model."""
        try:
            mode = given or self.mode(mode_name)
        except ModeError as exc:
            return self._fallback(mode_name, None, text, str(exc), start)
        if not mode.uses_llm:
            return ModeResult(text=text, mode=mode.name, model=None, cached=False, llm_ms=0.0)

        try:
            model_id = self._model_id(mode)
            budget.check(model_id)
        except _Fallback as exc:
            return self._fallback(mode.name, None, text, str(exc), start)
        diff = None
        if mode.include_git_diff and repo is not False:
            diff = staged_diff(
                self.cwd if repo is None else repo, timeout_s=max(0.1, min(5.0, budget.left()))
            )
        rendered = render_prompt(mode, text, diff)
        options = dict(mode.options)
        options.setdefault("max_tokens", _max_tokens(text, mode))
        # The model an alias names now (`llm aliases set fast ...` may repoint it).
        resolved = self._resolved_id(model_id)
        key = cache_key(resolved, options, rendered.system, rendered.prompt, mode.schema_, sample)
        try:
            budget.check(model_id)
        except _Fallback as exc:
            return self._fallback(mode.name, model_id, text, str(exc), start, key=key)

        cache = self.cache
        entry, readable = _cache_get(cache, key)  # (counted once it is known to be used)
        counts = cache if readable else None  # (a cache another program holds: no wait to count)
        if entry is not None:
            reply = _Reply(
                strip_thinking(entry.text),  # (a reply cached before the reasoning was dropped)
                entry.parsed,
                entry.attempts,
                entry.llm_ms,
                entry.input_tokens,
                entry.output_tokens,
                entry.schema_error,
                entry.cut,
            )
            served = self._finish(mode, model_id, text, reply, key, True, start, quiet=True)
            if served.fallback_reason is None or _cut_rewrite(reply):
                _cache_count(counts, hit=True)
                if served.fallback_reason is not None:
                    _warn_fallback(mode.name, served.fallback_reason)
                return served
            # (a reply the checks refuse, or one cut off with nothing but reasoning in it, kept
            # by an older Holdtype: the model is asked again; neither a fallback nor a hit)
            log.info("mode %s: a cached reply fails today's checks; asking the model again", mode.name)
        _cache_count(counts, hit=False)

        try:
            reply = self._call(mode, model_id, rendered.system, rendered.prompt, options, budget)
        except _Fallback as exc:
            return self._fallback(
                mode.name,
                model_id,
                text,
                str(exc),
                start,
                key=key,
                attempts=exc.attempts,
                raw_reply=exc.raw_reply,
            )
        result = self._finish(mode, model_id, text, reply, key, False, start)
        # A reply that never matched the schema, that the checks refuse (it answers the text,
        # it is empty), or that was cut off with nothing but reasoning in it is not kept: the
        # next dictation asks again (with llm.retries as they are then; a sampled model may do
        # better, a reasoning model may be given room or think less) rather than falling back
        # on the stored failure at once, every time. A rewrite cut off at its length limit is
        # kept: the same limit cuts it again.
        if (
            cache is not None
            and reply.schema_error is None
            and (result.fallback_reason is None or _cut_rewrite(reply))
        ):
            _cache_put(
                cache,
                CacheEntry(
                    key=key,
                    text=reply.text,
                    parsed=reply.parsed,
                    model=model_id,
                    mode=mode.name,
                    llm_ms=reply.llm_ms,
                    created=time.time(),
                    attempts=reply.attempts,
                    input_tokens=reply.input_tokens,
                    output_tokens=reply.output_tokens,
                    schema_error=reply.schema_error,
                    prompt=rendered.prompt,
                    system=rendered.system,
                    cut=reply.cut,
                ),
            )
        return result

    def _finish(
        self,
        mode: Mode,
        model_id: str,
        text: str,
        reply: _Reply,
        key: str,
        cached: bool,
        start: float,
        quiet: bool = False,
    ) -> ModeResult:
        """Turn a reply (fresh or cached) into the result, applying the schema and sanity checks;
        ``quiet`` leaves a fallback unlogged (a cached reply the caller may not use)."""
        common: dict[str, Any] = {
            "mode": mode.name,
            "model": model_id,
            "cached": cached,
            "raw_reply": reply.text,
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens,
            "attempts": reply.attempts,
            "cache_key": key,
        }
        if reply.schema_error is not None:
            reason = f"reply did not match the schema after {reply.attempts} attempt(s): {reply.schema_error}"
            return self._fallback_result(text, reason, start, common, quiet)
        if reply.cut:  # a long dictation's rewrite, cut off: the rest of it would be lost
            reason = "the reply was cut off at its length limit (max_tokens)"
            if not reply.text.strip():  # (with nothing but reasoning in it)
                reason = (
                    "the model was still thinking when its reply was cut off at its length limit (max_tokens)"
                )
            return self._fallback_result(text, reason, start, common, quiet)
        out = _output_text(mode, reply, text)
        if mode.schema_ is None:
            out = trim_chatter(text, out, mode.template)
        out = self._spelled(out)
        problem = sanity_problem(text, out, mode) or self._lost_term(text, out, mode)
        if problem is not None:
            # The reason names the rule, never the words: it goes to the log file (and the
            # tray's notice, which the log keeps). What the reply said is for DEBUG alone.
            log.debug("mode %s: the refused reply begins %r", mode.name, out[:60])
            return self._fallback_result(text, problem, start, common, quiet)
        return ModeResult(text=out, llm_ms=_ms_since(start), **common)

    def _spelled(self, reply: str) -> str:
        """``reply`` with the user's terms spelled as the vocabulary writes them, as in the
        transcript (auto-correction allowing): a model writes "Scikit Learn" or "Pypi"."""
        vocabulary = self.settings.vocabulary
        if not vocabulary.autocorrect or not vocabulary.terms:
            return reply
        if self._vocabulary is None:
            from app.text.vocabulary import Vocabulary  # (only for a vocabulary and a reply)

            self._vocabulary = Vocabulary(vocabulary.terms, vocabulary.sensitivity)
        return str(self._vocabulary.correct(reply))

    def _lost_term(self, text: str, reply: str, mode: Mode) -> str | None:
        """The problem with a rewrite that keeps the words (``min_overlap``) but drops a term of
        the vocabulary the dictation spells ("sklearn" for scikit-learn), or None."""
        if not mode.min_overlap or not self.settings.vocabulary.terms:
            return None
        from app.text.vocabulary import term_pattern

        for term in self.settings.vocabulary.terms:
            pattern = term_pattern(term)
            if pattern.search(text) and not pattern.search(reply):
                return f"reply drops the term {term!r} of your vocabulary"
        return None

    def _fallback(
        self,
        mode_name: str,
        model_id: str | None,
        text: str,
        reason: str,
        start: float,
        key: str | None = None,
        attempts: int = 0,
        raw_reply: str | None = None,
    ) -> ModeResult:
        common: dict[str, Any] = {"mode": mode_name, "model": model_id, "cached": False, "cache_key": key}
        common.update(attempts=attempts, raw_reply=raw_reply)
        return self._fallback_result(text, reason, start, common)

    def _fallback_result(
        self, text: str, reason: str, start: float, common: dict[str, Any], quiet: bool = False
    ) -> ModeResult:
        # Every caller shows the fallback its own way (the engine's notice, the CLI's warning
        # line, --json, the settings window): a key the reason quotes is masked here, for all.
        reason = redact_keys(reason)
        if not quiet:
            _warn_fallback(common["mode"], reason)
        return ModeResult(text=text, llm_ms=_ms_since(start), fallback_reason=reason, **common)

    def _resolved_id(self, model_id: str) -> str:
        """:func:`resolved_model_id`, looked up again only when llm's alias files changed (a
        lookup walks every plugin's models: 0.7 ms, twice a cache hit's whole time)."""
        stamp = _models_stamp()
        known = self._resolved.get(model_id)
        if known is not None and known[0] == stamp:
            return known[1]
        try:
            model = self._get_model(model_id)
        except Exception:  # an unknown model or a broken plugin: the call reports it
            return model_id
        resolved = resolved_model_id(model_id, model)
        self._resolved[model_id] = (stamp, resolved)
        return resolved

    def _get_model(self, model_id: str) -> Any:
        """``llm.get_model(model_id)``, looked up once per runner, again only when llm's files
        that name models (aliases, extra OpenAI models) or the backend variables changed: each
        lookup runs every plugin's register_models hook, and llm-ollama's asks its server."""
        import llm

        stamp = _models_stamp()
        known = self._models.get(model_id)
        if known is not None and known[0] == stamp:
            return known[1]
        with PLUGIN_LOCK:
            model = llm.get_model(model_id)
        self._models[model_id] = (stamp, model)
        return model

    def _model_id(self, mode: Mode) -> str:
        try:
            return pick_model(mode, self.settings, self._get_model)
        except NoModel as exc:
            raise _Fallback(str(exc)) from None

    # --- the model call --------------------------------------------------------------------------
    def _call(
        self,
        mode: Mode,
        model_id: str,
        system: str,
        prompt: str,
        options: dict[str, Any],
        budget: _Budget,
    ) -> _Reply:
        """Call the model (retrying schema failures) within ``budget``; raise :class:`_Fallback`
        on any failure."""
        import llm

        try:
            model = self._get_model(model_id)
        except llm.UnknownModelError:
            raise _Fallback(
                f"unknown llm model '{model_id}': install its plugin ({install_hint('llm-...')}) or pick one "
                "from `holdtype llm models`"
            ) from None
        except Exception as exc:  # a broken plugin or llm setup must not lose words
            raise _Fallback(f"cannot load llm model '{model_id}': {llm_failure(exc)}") from None
        keys = keys_problem() if getattr(model, "needs_key", None) else None  # (else: "not JSON")
        if keys:
            raise _Fallback(f"cannot use llm model '{model_id}': {keys}")

        call_options = _supported_options(model, options)
        problem = _options_problem(model, model_id, mode.options, call_options)  # (the file's own)
        if problem:
            raise _Fallback(
                f"mode {mode.name}: {problem}; fix [options] in its file (holdtype modes show {mode.name})"
            )
        schema = mode.schema_
        send_schema = schema if schema is not None and getattr(model, "supports_schema", False) else None
        if schema is not None and send_schema is None:
            system = (
                f"{system}\n\nReply with JSON only (no prose, no code fence) matching this JSON schema:\n"
                f"{json.dumps(schema, sort_keys=True)}"
            ).strip()

        bypass_proxies(getattr(model, "api_base", None))  # (a local model's words stay on this machine)
        budget.check(model_id)
        down = _local_server_down(getattr(model, "api_base", None), min(1.0, budget.left()))
        if down:
            raise _Fallback(f"{model_id} failed: {down}")
        budget.check(model_id)
        # llm.timeout_s bounds the whole mode, its retries included: three slow replies that
        # each failed the schema held a dictation three times the time limit.
        timeout = budget.timeout_s
        deadline = budget.deadline
        cancel = budget.cancel
        attempts_allowed = 1 + (self.settings.llm.retries if schema is not None else 0)
        # A reasoning model (Qwen3, DeepSeek-R1) spends the few tokens a rewrite needs on its
        # thinking: cut off before any answer, it is asked once more with room to think (and
        # from then on given that room at once), in what is left of llm.timeout_s. A max_tokens
        # of the mode's own is the user's choice, and kept.
        # (under the model's own name for it: llm-ollama's num_predict, llm-gemini's
        # max_output_tokens; checked by max_tokens alone, such a model never got that room)
        length = next((name for name in ("max_tokens", *_LENGTH_OPTIONS) if name in call_options), None)
        stretch = length is not None and not ({"max_tokens", length} & set(mode.options))
        if stretch and length is not None and model_id in self._thinkers:
            call_options = {**call_options, length: _room_to_think(call_options[length])}
            stretch = False
        total_ms = 0.0
        tokens_in: int | None = None
        tokens_out: int | None = None
        next_prompt = prompt
        error: str | None = None
        reply_text = ""
        cut = False
        attempt = requests = 0
        before: str | None = None  # what failed before the next request, said if it fails too
        while attempt < attempts_allowed:
            left = deadline - time.monotonic()
            if requests and left < MIN_RETRY_S:
                log.info("mode %s: no time left for another attempt (llm.timeout_s)", mode.name)
                break
            try:
                raw, usage, ms, cut = _call_with_timeout(
                    model, model_id, next_prompt, system, send_schema, call_options, timeout, left, cancel
                )
            except _Fallback as exc:
                exc.attempts = requests + 1
                if before is None or str(exc) == CANCELLED:
                    raise
                # (said alone, "no reply within 5 s" hid the replies that failed before it)
                later = _Fallback(f"{before}: {exc}")
                later.attempts, later.raw_reply = requests + 1, reply_text or None
                raise later from None
            requests += 1
            reply_text = strip_thinking(raw)
            total_ms += ms
            tokens_in = _add(tokens_in, usage[0])
            tokens_out = _add(tokens_out, usage[1])
            if cut and stretch and length is not None and not reply_text.strip():
                stretch = False
                self._thinkers.add(model_id)
                tokens = call_options[length]
                room = _room_to_think(tokens)
                call_options = {**call_options, length: room}
                before = (
                    f"the reply was all reasoning when cut off at {tokens} tokens ({length}); "
                    f"asked again with room to think ({room})"
                )
                log.info(
                    "mode %s: %s's reply was all reasoning when cut off at %d tokens; asking again with %d",
                    mode.name,
                    model_id,
                    tokens,
                    room,
                )
                continue
            attempt += 1
            if schema is None:
                return _Reply(reply_text, None, requests, total_ms, tokens_in, tokens_out, None, cut)
            check = validate_reply(reply_text, schema)
            if check.error is None:
                return _Reply(reply_text, check.parsed, requests, total_ms, tokens_in, tokens_out, None)
            error = check.summary
            before = f"reply did not match the schema after {attempt} attempt(s): {error}"
            before += f"; then attempt {attempt + 1}"
            log.info("mode %s: reply %d failed its schema: %s", mode.name, attempt, check.summary)
            next_prompt = (
                f"{prompt}\n\nYour previous reply was not valid. Validation error: {check.error}\n"
                f"Previous reply:\n{reply_text[:2000]}\n"
                "Reply again with JSON that matches the schema exactly, and nothing else."
            )
        return _Reply(reply_text, None, requests, total_ms, tokens_in, tokens_out, error, cut)


def _cut_rewrite(reply: _Reply) -> bool:
    """Whether ``reply`` is a rewrite cut off at its length limit, which the same limit cuts
    again (so it is cached), not a reply cut off with nothing but reasoning in it."""
    return reply.cut and bool(reply.text.strip())


def _cache_get(cache: LLMCache | None, key: str) -> tuple[CacheEntry | None, bool]:
    """The cached reply for ``key`` (None when there is none or the cache cannot be read), not
    counted as a hit or miss, and whether the cache could be read."""
    if cache is None:
        return None, False
    try:
        return cache.get(key, count=False), True
    except CACHE_FAILURES as exc:
        log.warning("the LLM reply cache cannot be read, asking the model: %s", exc)
        return None, False


def _cache_count(cache: LLMCache | None, hit: bool) -> None:
    """Count a hit or a miss of the reply cache, if there is one."""
    if cache is None:
        return
    try:
        cache.count(hit)
    except CACHE_FAILURES as exc:  # (a count lost costs nothing)
        log.debug("hit/miss not counted: %s", exc)


def _warn_fallback(mode_name: str, reason: str) -> None:
    """Log a mode's fallback (``reason`` already masked), marked for the user's eyes."""
    log.warning("mode %s fell back to the transcript: %s", mode_name, reason, extra=SHOWN_TO_USER)


def _cache_put(cache: LLMCache, entry: CacheEntry) -> None:
    """Store ``entry``; a cache that cannot be written only costs the next call its hit."""
    try:
        cache.put(entry)
    except CACHE_FAILURES as exc:
        log.warning("the LLM reply cache cannot be written, reply not cached: %s", exc)


def _call_with_timeout(
    model: Any,
    model_id: str,
    prompt: str,
    system: str,
    schema: dict[str, Any] | None,
    options: dict[str, Any],
    timeout_s: float,
    left_s: float,
    cancel: Callable[[], bool] | None = None,
) -> tuple[str, tuple[int | None, int | None], float, bool]:
    """One ``model.prompt`` call on a daemon thread, abandoned after ``left_s`` (what is left
    of the mode's ``timeout_s``, the time limit the error message names), or as soon as
    ``cancel`` says so (asked every :data:`CANCEL_POLL_S`): the reply, its token counts, its
    milliseconds, and whether it stopped at its length limit."""
    import llm

    outcome: dict[str, Any] = {}
    done = threading.Event()

    call_options = _with_timeout(model, model_id, options, left_s)

    def work() -> None:
        _CALL.timeout_s = left_s  # (for _bounded_client, on this thread)
        try:
            response = model.prompt(
                prompt, system=system or None, schema=schema, stream=False, **call_options
            )
            text = response.text()
            usage = response.usage()
            outcome["value"] = (text, (usage.input, usage.output))
            outcome["cut"] = _cut_at_max_tokens(response)
        except BaseException as exc:  # handed to the caller
            outcome["error"] = exc
        finally:
            done.set()

    start = time.perf_counter()
    worker = threading.Thread(target=work, name=f"llm-{model_id}", daemon=True)
    worker.start()
    deadline = time.monotonic() + max(0.0, left_s)
    while not done.wait(min(CANCEL_POLL_S, max(0.0, deadline - time.monotonic()))):
        if cancel is not None and cancel():
            raise _Fallback(CANCELLED)
        if time.monotonic() >= deadline:
            raise _Fallback(f"no reply from {model_id} within {timeout_s:g} s (llm.timeout_s)")
    ms = _ms_since(start)
    exc = outcome.get("error")
    if exc is None:
        text, usage = outcome["value"]
        return text, usage, ms, bool(outcome.get("cut"))
    if isinstance(exc, llm.errors.NeedsKeyException):
        needs = getattr(model, "needs_key", None) or model_id
        raise _Fallback(f"{model_id} needs an API key; run: {set_key_hint(needs)}")
    if isinstance(exc, llm.errors.ModelError):
        raise _Fallback(f"{model_id} failed: {_one_line(exc)}")
    if isinstance(exc, ValueError) and "schema" in str(exc):
        raise _Fallback(f"{model_id}: {_one_line(exc)}")
    server = getattr(model, "api_base", None)
    garbled = _not_a_completion(model, exc)
    if garbled:  # (it said "AttributeError: 'NoneType' object has no attribute 'model_dump'")
        check = f": is {server} an OpenAI-compatible API?" if server else ""
        raise _Fallback(
            f"{model_id} failed: the server's reply was not an OpenAI chat completion ({garbled}){check}"
        )
    if "connect" in type(exc).__name__.lower() and _dropped(exc):  # (it connected: it is running)
        at = f" at {server}" if server else ""
        raise _Fallback(f"{model_id} failed: the server{at} closed the connection without replying")
    if server and "connect" in type(exc).__name__.lower():  # (openai's APIConnectionError)
        raise _Fallback(
            f"{model_id} failed: {type(exc).__name__}: {_one_line(exc)} (nothing answers at "
            f"{server}: is its server running?)"
        )
    if server and type(exc).__name__ == "NotFoundError":  # a bare "Error code: 404"
        raise _Fallback(
            f"{model_id} failed: {type(exc).__name__}: {_one_line(exc)} (check the model's name, "
            f"and its api_base {server}: OpenAI-compatible servers' usually ends in /v1)"
        )
    raise _Fallback(f"{model_id} failed: {type(exc).__name__}: {_one_line(exc)}")


#: The time left for the call made on this thread.
_CALL = threading.local()
#: Models a call could not be bounded for (no timeout option, no client to give one), logged once.
_UNBOUNDED: set[str] = set()


def _with_timeout(model: Any, model_id: str, options: dict[str, Any], left_s: float) -> dict[str, Any]:
    """``options`` for a call that should end within ``left_s``, as far as ``model`` can be told:
    llm's OpenAI models get a client whose timeout is ``left_s``, without retries (the openai
    client waits 600 s a request, and tries three times); a model whose options take a
    ``timeout`` (seconds) gets it, unless the mode set one. A call abandoned (timed out, or
    cancelled: a request being read cannot be stopped from another thread) ends by then. For
    any other model, it runs on in the background until the model ends it: logged once."""
    if _bounded_client(model):
        return options
    fields = getattr(getattr(model, "Options", None), "model_fields", None) or {}
    if "timeout" in fields:
        return options if "timeout" in options else {**options, "timeout": max(1, math.ceil(left_s))}
    if model_id not in _UNBOUNDED:
        _UNBOUNDED.add(model_id)
        log.info(
            "%s takes no time limit: a call abandoned after llm.timeout_s (or cancelled) runs on in "
            "the background until the model ends it",
            model_id,
        )
    return options


def _bounded_client(model: Any) -> bool:
    """Make the clients of ``model``, one of llm's OpenAI models, take the time left for the
    call on their thread (see :data:`_CALL`), without retries; False for another model."""
    if not (type(model).__module__ or "").startswith("llm.default_plugins.openai_models"):
        return False
    if getattr(model, "_holdtype_bounded", False):
        return True
    made = getattr(model, "get_client", None)
    if not callable(made):
        return False

    def get_client(*args: Any, **kwargs: Any) -> Any:
        client = made(*args, **kwargs)
        left = getattr(_CALL, "timeout_s", None)
        if left is not None and callable(getattr(client, "with_options", None)):
            client = client.with_options(timeout=max(0.1, left), max_retries=0)
        return client

    model.get_client = get_client  # (this instance only: the runner keeps it, see _get_model)
    model._holdtype_bounded = True
    return True


def _not_a_completion(model: Any, exc: BaseException) -> str | None:
    """What was wrong with the reply of the server of ``model``, an OpenAI-compatible one, when
    llm's OpenAI client failed on it with ``exc`` (an HTML error page, ``{}``, no choices), or
    None: ``exc`` says something else, or ``model`` is no OpenAI chat model.

    >>> _not_a_completion(object(), IndexError("list index out of range")) is None
    True
    """
    try:
        from llm.default_plugins.openai_models import Chat
    except ImportError:  # pragma: no cover - llm without its OpenAI plugin
        return None
    if not isinstance(model, Chat):
        return None
    if isinstance(exc, json.JSONDecodeError):
        return "it is not JSON"
    if isinstance(exc, IndexError):
        return 'no "choices"'
    missing = re.fullmatch(r"'(\w+)' object has no attribute '(\w+)'", str(exc))
    if not isinstance(exc, AttributeError) or missing is None:  # (a TypeError may be the call's)
        return None
    kind, attribute = missing.groups()
    if kind != "NoneType":  # the client hands over a body that is no JSON object as it is
        return "it is not JSON" if kind == "str" else "it is no JSON object"
    return {"model_dump": 'no "usage"', "tool_calls": 'a choice with no "message"'}.get(
        attribute, f"no {attribute!r}"
    )


def _dropped(exc: BaseException) -> bool:
    """Whether a connection error ``exc`` is a server that took the connection and closed it
    without a reply (httpx's RemoteProtocolError, a reset), not one that took none."""
    seen = exc.__cause__ or exc.__context__
    for _ in range(10):  # (the chain of causes, bounded)
        if seen is None:
            return False
        if type(seen).__name__ in ("RemoteProtocolError", "ReadError") or isinstance(
            seen, (ConnectionResetError, BrokenPipeError)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _cut_at_max_tokens(response: Any) -> bool:
    """Whether a reply stopped at its length limit, as far as the plugin's response JSON
    tells: OpenAI's ``finish_reason`` "length", Anthropic's ``stop_reason`` "max_tokens",
    Ollama's ``done_reason`` "length", Gemini's ``finishReason`` "MAX_TOKENS".

    >>> class R:
    ...     def __init__(self, data): self.response_json = data
    >>> gemini = {"candidates": [{"finishReason": "MAX_TOKENS"}]}
    >>> _cut_at_max_tokens(R({"done_reason": "length"})), _cut_at_max_tokens(R(gemini))
    (True, True)
    """
    data = getattr(response, "response_json", None)
    if not isinstance(data, dict):
        return False
    for key in ("choices", "candidates"):
        first = data.get(key)
        if isinstance(first, list) and first and isinstance(first[0], dict):
            data = first[0]
            break
    return (
        data.get("finish_reason") == "length"
        or data.get("stop_reason") == "max_tokens"
        or data.get("done_reason") == "length"
        or data.get("finishReason") == "MAX_TOKENS"
    )


# --- checks ----------------------------------------------------------------------------------------
class NoModel(Exception):
    """No model to run a mode on; the message says how to name one (``fix`` is the command)."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


def _models_stamp() -> object:
    """What the model an id names depends on: llm's alias files, the backend variables."""
    return (_alias_files_stamp(), *(os.environ.get(name) for name in _BACKEND_ENV))


def _alias_files_stamp() -> object:
    """When and how llm's files that name models by other names were last written."""
    import llm

    stamps: list[tuple[int, int] | None] = []
    for name in ("aliases.json", "extra-openai-models.yaml"):
        try:
            info = (llm.user_dir() / name).stat()
            stamps.append((info.st_mtime_ns, info.st_size))
        except OSError:
            stamps.append(None)
    return tuple(stamps)


def resolved_model_id(model_id: str, model: Any = None) -> str:
    """The id of the model ``model_id`` names (an llm alias names another), else ``model_id``
    as given (a model llm does not know: its call says so). An OpenAI-compatible model of
    ``extra-openai-models.yaml`` is also named by the server and model it asks (a model id
    pointed at another server or model, its id kept, is another model for the cache), and
    so is any model by what else decides where its requests go (see :func:`_backend`).

    >>> resolved_model_id("no-such-model-anywhere")
    'no-such-model-anywhere'
    """
    import llm

    if model is None:  # (else ``model`` is what llm.get_model(model_id) gave)
        try:
            with PLUGIN_LOCK:
                model = llm.get_model(model_id)
        except Exception:  # an unknown model or a broken plugin: the call reports it
            return model_id
    resolved = str(model.model_id)
    api_base = getattr(model, "api_base", None)
    if api_base:
        resolved += f" @ {api_base} {getattr(model, 'model_name', None) or ''}".rstrip()
    backend = _backend(model, api_base)
    if backend:  # (none for most models: their keys stay what they were)
        resolved += f" [{' '.join(backend)}]"
    return resolved


#: What, in the environment, names the server of a model of llm's own OpenAI plugin without an
#: api_base (the openai client reads it), and of an llm-ollama model.
_BACKEND_ENV = ("OPENAI_BASE_URL", "OLLAMA_HOST")


def _backend(model: Any, api_base: str | None) -> list[str]:
    """What else decides where ``model``'s requests go and how they are read: an Azure-style
    entry's ``api_type``, ``api_version``, ``api_engine`` and ``headers`` (of
    ``extra-openai-models.yaml``; the headers by a digest only, as they may hold a key),
    ``OPENAI_BASE_URL`` for llm's OpenAI models that name no api_base, ``OLLAMA_HOST`` for an
    Ollama model."""
    import hashlib

    parts = [
        f"{name}={value}"
        for name in ("api_type", "api_version", "api_engine")
        if (value := getattr(model, name, None))
    ]
    headers = getattr(model, "headers", None)
    if headers:
        canonical = json.dumps(headers, sort_keys=True, default=str).encode("utf-8")
        parts.append(f"headers=sha256:{hashlib.sha256(canonical).hexdigest()[:16]}")
    module = type(model).__module__ or ""
    if module.startswith("llm.default_plugins.openai_models") and not api_base:
        base = os.environ.get("OPENAI_BASE_URL", "").strip()
        if base:
            parts.append(f"OPENAI_BASE_URL={base}")
    if module.split(".")[0] == "llm_ollama":
        host = os.environ.get("OLLAMA_HOST", "").strip()
        if host:
            parts.append(f"OLLAMA_HOST={host}")
    return parts


def pick_model(mode: Mode, settings: Settings, get_model: Callable[[str], Any] | None = None) -> str:
    """The model id ``mode`` runs on: its own, else Holdtype's ``llm.model``, else llm's
    default when that is known to be a local model: one whose server is this machine, or one
    a plugin runs in this process (see :func:`_not_known_local`).

    llm's default is usually a cloud model (gpt-4o-mini) and may have been picked for other
    work; what the user says leaves the machine only for a model named in Holdtype's settings
    or mode files, so a cloud default raises :class:`NoModel`, as does a broken llm setup.
    """
    if mode.model:
        return mode.model
    return modes_model(settings, f"mode {mode.name}", get_model)


def modes_model(
    settings: Settings, what: str = "the modes", get_model: Callable[[str], Any] | None = None
) -> str:
    """The model id the modes that name none run on (see :func:`pick_model`; ``what`` names
    them in the :class:`NoModel` raised when none is usable; ``get_model`` looks a model up,
    by default ``llm.get_model``)."""
    if settings.llm.model:
        return settings.llm.model
    import llm

    fix = "holdtype config set llm.model ID"
    try:
        model_id = llm.get_default_model()
        fix = f"holdtype config set llm.model {model_id}"
        if get_model is not None:
            model = get_model(model_id)
        else:
            with PLUGIN_LOCK:
                model = llm.get_model(model_id)
    except llm.UnknownModelError:
        return model_id  # reported by the call, with what to do
    except Exception as exc:  # a broken llm config must not lose words
        problem = extra_models_problem()
        if problem:
            raise NoModel(problem, f"edit {extra_models_file()}") from None
        raise NoModel(f"no model configured: set one with `{fix}` ({llm_failure(exc)})", fix) from None
    where = _not_known_local(model)
    if where is not None:
        raise NoModel(
            f"no model picked for {what}, and llm's default, {model_id}, {where}; "
            f"Holdtype sends dictation only to a model you name: {fix}",
            fix,
        )
    return model_id


#: The top modules of llm plugins whose models run in Holdtype's own process, on this machine.
IN_PROCESS_PLUGINS = frozenset(["llm_gguf", "llm_gpt4all", "llm_llama_cpp", "llm_mlx"])


def _not_known_local(model: Any) -> str | None:
    """None when ``model`` is known to run on this machine: an OpenAI-compatible model whose
    server (``api_base``) is this machine, an Ollama model whose server (``OLLAMA_HOST``) is,
    or a model of a plugin that runs it in this process (:data:`IN_PROCESS_PLUGINS`); else what
    is known of where it runs, for the reason a mode falls back. A model that names no server
    and needs no key may still send the text away (llm-ollama with ``OLLAMA_HOST`` on another
    machine, llm-bedrock through boto3's AWS settings): only what is known to stay is used.
    """
    api_base = getattr(model, "api_base", None)
    if api_base:
        return None if loopback_host(api_base) is not None else "runs on another machine"
    plugin = (type(model).__module__ or "").split(".")[0]
    if plugin == "llm_ollama":
        host = os.environ.get("OLLAMA_HOST", "").strip()
        if not host or _ollama_host_is_local(host):
            return None
        return "runs on another machine (the Ollama server OLLAMA_HOST names)"
    if plugin in IN_PROCESS_PLUGINS:
        return None
    needs = getattr(model, "needs_key", None)
    if needs:
        return f"is a cloud model (it needs the '{needs}' API key)"
    return f"is not known to run on this machine (a model of {plugin or 'a plugin'} may send text elsewhere)"


def _ollama_host_is_local(host: str) -> bool:
    """Whether ``OLLAMA_HOST`` (``host``, ``host:port`` or a URL) is this machine; the address
    a server listens on for every interface (``0.0.0.0``) is this machine to a client too.

    >>> [_ollama_host_is_local(h) for h in ("127.0.0.1:11434", "localhost", "http://[::1]:1", "0.0.0.0")]
    [True, True, True, True]
    >>> [_ollama_host_is_local(h) for h in ("192.168.1.20", "https://ollama.example.com", "http://x:1")]
    [False, False, False]
    """
    url = host if "://" in host else f"http://{host}"
    try:
        name = urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return False
    return name in ("0.0.0.0", "::") or loopback_host(url) is not None


def _local_server_down(api_base: str | None, timeout_s: float = 1.0) -> str | None:
    """Why the model server at ``api_base`` on this machine takes no connection ("Connection
    refused (nothing answers at …: is its server running?)"), or None: it does, it is on another
    machine, or that cannot be told (see :func:`~app.llm.loopback.local_server_down`, which
    doctor asks too). Asked before the call: the client's own retries, with their back-off,
    made each dictation wait 1.3 s more for a local server that was not running (an Ollama not
    started), and a batch of files paid it for every file.

    >>> _local_server_down(None), _local_server_down("https://llm.example.com/v1")
    (None, None)
    """
    down = local_server_down(api_base, max(0.05, timeout_s))
    return None if down is None else f"Connection refused ({down})"


def missing_key(model: Any) -> str | None:
    """The name of the key an ``llm`` model needs and cannot find (in llm's key store or its
    environment variable), for ``holdtype llm keys set NAME``; None when it needs none or has it."""
    import llm

    needs = getattr(model, "needs_key", None)
    if not needs:
        return None
    env = getattr(model, "key_env_var", None)
    return needs if llm.get_key(None, needs, env) is None else None


class ReplyCheck(NamedTuple):
    """A reply checked against a mode's schema."""

    parsed: Any
    error: str | None  # for the model's retry: may quote the reply, so never logged
    summary: str | None  # for logs, fallback reasons and the cache: names the rule, not the words


def validate_reply(reply: str, schema: dict[str, Any]) -> ReplyCheck:
    """Parse ``reply`` as JSON and validate it against ``schema``.

    jsonschema's message quotes the failing value ("'buy milk' is not of type 'array'"), which
    is the user's dictation reworded: it goes back to the model, and the summary, naming the
    place and the rule only, goes to the log and the fallback reason.
    """
    import jsonschema

    body = strip_fence(reply.strip())
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError as exc:  # its message is a position, never the reply's text
        return ReplyCheck(None, f"reply is not JSON ({exc})", f"reply is not JSON ({exc})")
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested past Python's limit
        return ReplyCheck(None, "reply is not JSON", "reply is not JSON")
    try:
        jsonschema.validate(parsed, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        rule = f"{exc.validator}: {json.dumps(exc.validator_value)}"[:120]
        return ReplyCheck(None, f"at {where}: {exc.message}", f"at {where}: fails {rule}")
    except jsonschema.SchemaError as exc:
        problem = f"the mode's schema is invalid: {exc.message}"
        return ReplyCheck(None, problem, problem)
    return ReplyCheck(parsed, None, None)


def _output_text(mode: Mode, reply: _Reply, source: str) -> str:
    """The text to insert: the schema's output field, or the cleaned-up reply of ``source``."""
    if mode.schema_ is not None and mode.output_field and isinstance(reply.parsed, dict):
        value = reply.parsed.get(mode.output_field)
        if isinstance(value, list):
            return "\n".join(f"- {str(item).strip()}" for item in value)
        return "" if value is None else str(value).strip()
    return clean_reply(reply.text, source)


#: The names plugins give the reply's length limit, where it is not ``max_tokens``: Gemini's,
#: Ollama's, Bedrock's (Claude), Hugging Face's, OpenAI's newer one.
_LENGTH_OPTIONS = (
    "max_output_tokens",
    "num_predict",
    "max_tokens_to_sample",
    "max_new_tokens",
    "max_completion_tokens",
)


def _supported_options(model: Any, options: dict[str, Any]) -> dict[str, Any]:
    """Drop options the model does not take, ``max_tokens`` given under the model's own name
    for it (llm-ollama's ``num_predict``, llm-gemini's ``max_output_tokens``...) when it has
    one; a model with none gets replies of any length (logged once)."""
    fields = getattr(getattr(model, "Options", None), "model_fields", None)
    model_id = str(getattr(model, "model_id", model))
    if not fields:
        if "max_tokens" in options:
            _unbounded_length(model_id)
        return {}
    if "max_tokens" in options and "max_tokens" not in fields:
        own = next((name for name in _LENGTH_OPTIONS if name in fields), None)
        if own is None:
            _unbounded_length(model_id)
        elif own not in options:
            options = {**options, own: options["max_tokens"]}
    dropped = sorted(set(options) - set(fields))
    if dropped:
        log.debug("model %s takes no option(s) %s", getattr(model, "model_id", model), ", ".join(dropped))
    return {k: v for k, v in options.items() if k in fields}


def _unbounded_length(model_id: str) -> None:
    if f"length:{model_id}" not in _UNBOUNDED:
        _UNBOUNDED.add(f"length:{model_id}")
        log.info(
            "%s takes no limit on its reply's length (max_tokens): its replies are not bounded", model_id
        )


def _options_problem(model: Any, model_id: str, given: dict[str, Any], taken: dict[str, Any]) -> str | None:
    """What is wrong with a mode's options for ``model``: a name the model does not take that
    is a slip for one it does ("temprature": dropped without a word, the reply came without
    it), or a value it refuses (a raw pydantic error at each dictation before); else None.
    Other names it does not take are dropped (:func:`_supported_options`): a mode may carry
    options for several providers."""
    import difflib

    from pydantic import ValidationError

    fields = list(getattr(getattr(model, "Options", None), "model_fields", None) or ())
    for name in sorted(set(given) - set(taken)):
        close = difflib.get_close_matches(name, fields, n=1, cutoff=0.85)  # (not top_k for top_p)
        if close:
            return f"{model_id} takes no option '{name}'; did you mean '{close[0]}'?"
    try:
        model.Options(**taken)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error.get("loc", ())) or "?"
        value = taken.get(name, error.get("input"))
        # (masked: a key pasted as an option's value would go into a notification and the log)
        return redact_keys(f"option {name} = {value!r} is not valid for {model_id} ({error.get('msg', exc)})")
    except Exception:  # a plugin's own Options may check more in its own way: its call will say
        return None
    return None


def _room_to_think(max_tokens: int) -> int:
    """``max_tokens`` for a reasoning model: the rewrite's, and :data:`THINKING_TOKENS` more.

    >>> _room_to_think(64), _room_to_think(4000)
    (2112, 4096)
    """
    return min(MAX_TOKENS_CAP, max_tokens + THINKING_TOKENS)


def _max_tokens(text: str, mode: Mode) -> int:
    """A bound on the reply length that still fits any sane rewrite of ``text`` (``max_ratio``
    times as long, and some), at three characters a token as :func:`_latin_chars` counts them.

    >>> clean = Mode(name="clean", system="Tidy it.", template="{text}", max_ratio=1.6)
    >>> _max_tokens("x" * 300, clean), _max_tokens("会" * 300, clean), _max_tokens("я" * 300, clean)
    (205, 525, 285)
    """
    allowed_chars = mode.max_ratio * _latin_chars(text) + 40
    extra = 64 if mode.schema_ is not None else 32
    return int(min(MAX_TOKENS_CAP, max(64, allowed_chars / 3 + extra)))


def _latin_chars(text: str) -> float:
    """How many characters of Latin script would take as many tokens as ``text``, in a common
    model's tokenizer, rounded up: English runs at about four characters a token; Chinese,
    Japanese and Korean at about one to one and a half, so each of their characters counts as
    three; other scripts (Cyrillic, Greek, Arabic, Devanagari) at two or three, so each of
    their characters counts as one and a half.

    >>> _latin_chars("ship it"), _latin_chars("出荷する"), _latin_chars("да")
    (7, 12, 3.0)
    """
    latin = cjk = other = 0
    for char in text:
        point = ord(char)
        if point < 0x370 or 0x1E00 <= point <= 0x206F:  # Latin (and its marks), punctuation
            latin += 1
        elif (
            0x2E80 <= point <= 0x9FFF  # CJK radicals, kana, ideographs
            or 0xAC00 <= point <= 0xD7AF  # Hangul
            or 0xF900 <= point <= 0xFFEF  # compatibility ideographs, full-width forms
            or 0x20000 <= point <= 0x3FFFF  # rarer ideographs
        ):
            cjk += 1
        else:
            other += 1
    return latin + 3 * cjk + (1.5 * other if other else 0)


def _dir_signature(folder: Path) -> tuple[tuple[str, int], ...]:
    try:
        with os.scandir(folder) as it:
            return tuple(sorted((e.path, e.stat().st_mtime_ns) for e in it if e.name.endswith(".toml")))
    except OSError:
        return ()


def _add(total: int | None, value: int | None) -> int | None:
    if value is None:
        return total
    return (total or 0) + value


def _one_line(exc: BaseException) -> str:
    """``exc``'s message on one line, shortened, any API key it quotes masked (it becomes a
    fallback reason: a notification, a log line)."""
    return redact_keys(" ".join(str(exc).split()))[:300] or type(exc).__name__


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
