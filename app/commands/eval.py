"""``holdtype eval``: does an LLM mode beat the plain transcript? Measure it on your own clips.

Each clip is transcribed once (Whisper, then vocabulary and rules: the ``raw`` text); then every
mode rewrites that text N times (sample 0..N-1, each cached, so a rerun costs no model call).
Per mode: WER against the references, term accuracy when the manifest names terms, how often the
mode fell back to the raw text, the median model latency of fresh calls, and tokens reported.

Example::

    holdtype eval ../shared/data/jargon-dev/manifest.tsv --mode clean --samples 3 --json-out eval.json
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from app.errors import HoldtypeError
from app.paths import check_export_target, open_export

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Clip:
    """One clip of an eval manifest."""

    id: str
    audio: Path
    reference: str | None
    terms: tuple[str, ...] = ()


@dataclass(slots=True)
class ModeScore:
    """Running totals for one mode."""

    mode: str
    samples: int
    model: str | None = None  # the model the mode runs on (its own, else llm.model); None: raw
    pairs: list[tuple[str, str]] = field(default_factory=list)
    term_hits: int = 0
    term_total: int = 0
    calls: int = 0
    fallbacks: int = 0
    cached: int = 0
    fresh_ms: list[float] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The figures reported for this mode."""
        from app.bench.wer import corpus_wer

        wer = corpus_wer(self.pairs) if self.pairs else None
        return {
            "mode": self.mode,
            "model": self.model,
            "samples": self.samples,
            "calls": self.calls,
            "wer": None if wer is None else round(wer.wer, 4),
            "term_accuracy": round(self.term_hits / self.term_total, 4) if self.term_total else None,
            "terms": f"{self.term_hits}/{self.term_total}" if self.term_total else None,
            "fallback_rate": round(self.fallbacks / self.calls, 4) if self.calls else 0.0,
            "cached": self.cached,
            "latency_median_ms": round(statistics.median(self.fresh_ms), 1) if self.fresh_ms else None,
            "tokens_in": self.tokens_in or None,
            "tokens_out": self.tokens_out or None,
            "fallback_reasons": self.reasons,
        }


def read_clips(manifest: Path) -> list[Clip]:
    """Read a TSV manifest (``id voice text terms``, audio at ``audio/<id>.wav``) or a JSONL one.

    JSONL lines are objects with ``path`` (relative to the manifest), ``text`` (optional
    reference) and ``terms`` (optional list).
    """
    if not manifest.is_file():
        raise HoldtypeError(f"no such manifest: {manifest}")
    if manifest.suffix.lower() in {".jsonl", ".ndjson"}:
        clips: list[Clip] = []
        try:
            text = manifest.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise HoldtypeError(f"{manifest} is not UTF-8 text ({exc.reason})") from None
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                audio = (manifest.parent / row["path"]).resolve()
            except (ValueError, KeyError, TypeError) as exc:
                raise HoldtypeError(f"{manifest}:{n}: expected a JSON object with 'path' ({exc})") from None
            terms = row.get("terms") or []
            if isinstance(terms, str):  # "Friday|PyPI", as the TSV manifests write them
                terms = [t.strip() for t in terms.split("|") if t.strip()]
            reference = row.get("text")
            if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
                raise HoldtypeError(f'{manifest}:{n}: "terms" must be a list of words, not {terms!r}')
            if reference is not None and not isinstance(reference, str):
                raise HoldtypeError(f'{manifest}:{n}: "text" must be a string, not {reference!r}')
            clips.append(Clip(str(row.get("id") or audio.stem), audio, reference, tuple(terms)))
        if not clips:
            raise HoldtypeError(f"no clips in {manifest}")
        return clips
    from app.bench.jargon import read_manifest

    return [Clip(i.id, i.audio, i.text, i.terms) for i in read_manifest(manifest)]


@click.command("eval")
@click.argument("manifest", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--mode", "modes", multiple=True, required=True, help="Mode to compare with raw (repeat).")
@click.option(
    "--samples", default=1, show_default=True, type=click.IntRange(1, 100), help="Samples per clip."
)
@click.option("--json-out", type=click.Path(path_type=Path, dir_okay=False), help="Write the results here.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N clips.")
@click.option(
    "--vocab-from-manifest", is_flag=True, help="Add the manifest's terms to the vocabulary for this run."
)
def eval_command(
    manifest: Path,
    modes: tuple[str, ...],
    samples: int,
    json_out: Path | None,
    limit: int | None,
    vocab_from_manifest: bool,
) -> None:
    """Compare raw transcripts against LLM modes on a manifest of clips.

    \b
    MANIFEST is either
      JSON lines: {"path": "a.wav", "text": "reference", "terms": ["PyPI"]}
        (path relative to the manifest; text and terms optional), or
      a TSV with the columns id, voice, text, terms (terms split by |),
        each clip's audio at audio/<id>.wav beside it.

    Example: holdtype eval clips/manifest.tsv --mode clean --mode email --samples 3
    """
    from app.commands._common import settings as load_settings
    from app.llm.modes import get_mode
    from app.llm.runner import ModeRunner

    cfg = load_settings()
    modes = tuple(dict.fromkeys(modes))  # (--mode clean twice: two rows, one set of outputs)
    for name in modes:
        get_mode(name)  # unknown or broken modes fail before any transcription
    if json_out is not None:  # not after every clip and call
        check_export_target(json_out)  # (it held the history, or the settings, until moved aside)
        if not json_out.absolute().parent.is_dir():
            raise HoldtypeError(f"no folder {json_out.absolute().parent} to write {json_out.name} in")
    clips = read_clips(manifest)[:limit] if limit else read_clips(manifest)
    absent = [str(c.audio) for c in clips if not c.audio.is_file()]
    if absent:
        raise HoldtypeError(f"missing audio: {', '.join(absent[:3])}{' ...' if len(absent) > 3 else ''}")
    if json_out is not None and json_out.exists():  # (it replaced the manifest, or a clip)
        given = next(
            (p for p in (manifest, *(c.audio for c in clips)) if os.path.samefile(p, json_out)), None
        )
        if given is not None:
            raise HoldtypeError(f"{json_out} is {given}, an input of this eval; write the results elsewhere")
    if vocab_from_manifest:
        cfg = cfg.model_copy(deep=True)
        cfg.vocabulary.terms = cfg.vocabulary.terms + [t for c in clips for t in c.terms]

    texts = _transcribe(cfg, clips)
    runner = ModeRunner(cfg)
    scores = [ModeScore("raw", 1)] + [ModeScore(m, samples, _mode_model(m, cfg)) for m in modes if m != "raw"]
    for score in scores:
        for clip, text in zip(clips, texts, strict=True):
            for sample in range(score.samples):
                result = runner.run(score.mode, text, sample=sample)
                _score(score, clip, result)
                problem = runner.cache_problem()
                if problem:
                    click.secho(f"warning: {problem}", err=True, fg="yellow")
        click.echo(f"{score.mode}: done ({score.calls} calls)", err=True)

    summaries = [s.summary() for s in scores]
    _print_table(summaries)
    if json_out:
        payload = {
            "manifest": str(manifest),
            "clips": len(clips),
            "model": cfg.llm.model,  # (llm.model; each mode's own is in "modes")
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "modes": summaries,
            "outputs": {s.mode: s.outputs for s in scores},
        }
        with open_export(json_out) as handle:  # transcripts: private, as history exports are
            handle.write(json.dumps(payload, indent=2, ensure_ascii=False))
        click.echo(f"wrote {json_out}", err=True)


def _mode_model(name: str, cfg: Any) -> str | None:
    """The model mode ``name`` runs on: its file's ``model``, else ``llm.model`` (or llm's
    default when it is local); None when it calls none or none is usable (its calls fall back)."""
    from app.llm.modes import get_mode
    from app.llm.runner import NoModel, pick_model

    mode = get_mode(name)
    if not mode.uses_llm:
        return None
    try:
        return pick_model(mode, cfg)
    except NoModel:
        return None


def _transcribe(cfg: Any, clips: list[Clip]) -> list[str]:
    """Transcribe every clip once: Whisper, then the text pipeline (vocabulary and rules)."""
    from app.text.pipeline import TextPipeline
    from app.transcribe.audiofile import load_audio
    from app.transcribe.whisper import DecodeOptions, WhisperTranscriber

    pipeline = TextPipeline.from_settings(cfg)
    options = DecodeOptions.from_settings(cfg.model)
    transcriber = WhisperTranscriber(cfg.model)
    texts: list[str] = []
    for n, clip in enumerate(clips, 1):
        audio = load_audio(clip.audio)
        transcript = pipeline.transcribe(transcriber, audio, options)
        texts.append(pipeline.finish(transcriber, audio, transcript.text))
        click.echo(f"transcribed {n}/{len(clips)}: {clip.id}", err=True)
    return texts


def _score(score: ModeScore, clip: Clip, result: Any) -> None:
    from app.bench.jargon import term_hits

    score.calls += 1
    if clip.reference is not None:
        score.pairs.append((clip.reference, result.text))
    if clip.terms:
        score.term_hits += term_hits(clip.terms, result.text)
        score.term_total += len(clip.terms)
    if result.fallback_reason:
        score.fallbacks += 1
        reason = _reason_group(result.fallback_reason)
        score.reasons[reason] = score.reasons.get(reason, 0) + 1
    if result.cached:
        score.cached += 1
    elif result.raw_reply is not None:  # the model answered: a refused connection, a timeout,
        score.fresh_ms.append(result.llm_ms)  # a mode that fell back before any call took no model time
    score.tokens_in += result.input_tokens or 0
    score.tokens_out += result.output_tokens or 0
    score.outputs.append(
        {"id": clip.id, "model": result.model, "text": result.text, "fallback_reason": result.fallback_reason}
    )


def _reason_group(reason: str, limit: int = 80) -> str:
    """``reason`` as the table counts it: up to its first parenthesis (the figures that tell
    one timeout from another), in ``limit`` characters, cut at a word with "…" where it was
    cut (it was cut mid-word: "… is a cloud mode" for "… is a cloud model").

    >>> _reason_group("the model timed out (after 12.5 s)")
    'the model timed out…'
    >>> _reason_group("one two three", limit=10), _reason_group("short")
    ('one two…', 'short')
    """
    head = reason.split(" (")[0]
    if len(head) > limit:
        head = head[: limit + 1].rsplit(" ", 1)[0] if " " in head[:limit] else head[:limit]
    head = head.rstrip(" ,;:")
    return head if head == reason else head + "…"


def _print_table(rows: list[dict[str, Any]]) -> None:
    def fmt(value: Any, pct: bool = False) -> str:
        if value is None:
            return "-"
        return f"{100 * value:.1f}%" if pct else str(value)

    header = ("mode", "model", "calls", "WER", "terms", "fallback", "median ms", "tokens in/out")
    lines = [header]
    for r in rows:
        tokens = f"{r['tokens_in']}/{r['tokens_out']}" if r["tokens_in"] or r["tokens_out"] else "-"
        lines.append(
            (
                r["mode"],
                r["model"] or "-",
                str(r["calls"]),
                fmt(r["wer"], pct=True),
                f"{r['terms']} ({fmt(r['term_accuracy'], pct=True)})" if r["terms"] else "-",
                fmt(r["fallback_rate"], pct=True),
                fmt(r["latency_median_ms"]),
                tokens,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
    for r in rows:
        for reason, count in r["fallback_reasons"].items():
            click.echo(f"  {r['mode']} fell back {count}x: {reason}")
