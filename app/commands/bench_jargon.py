"""``holdtype bench jargon``: WER and term accuracy, stage by stage, on a jargon manifest."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands import _common


@click.command()
@click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model_name", default=None, help="Speech model (default: the configured one).")
@click.option(
    "--bias",
    type=click.Choice(["prompt", "hotwords", "both"]),
    default=None,
    help="How the vocabulary steers Whisper (default: the vocabulary.bias setting).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Also score live dictation: each clip as a held key records it, decoded after "
    "release and streamed while held.",
)
@click.option("--show", is_flag=True, help="Also print every clip's text at each stage.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the figures.")
def jargon(
    manifests: tuple[Path, ...],
    model_name: str | None,
    bias: str | None,
    live: bool,
    show: bool,
    as_json: bool,
) -> None:
    """WER and term accuracy for: raw Whisper, +vocabulary bias, +auto-correction, +rules.

    MANIFEST is a TSV (id, voice, text, terms) with audio at audio/<id>.wav beside it. The
    vocabulary is the union of the manifests' terms, in the order given (the last manifest's
    terms are the newest), nothing else; the rules are yours. Several manifests make a
    vocabulary too long for Whisper's prompt; each manifest's own clips are then scored too.

    Example: holdtype bench jargon ../shared/data/jargon-dev/manifest.tsv
    """
    from app.bench.jargon import by_manifest, read_manifest, run_jargon
    from app.bench.options import describe_model, model_fields, model_settings

    settings = _common.settings()
    model = model_settings(settings.model, model_name)
    groups = [(str(manifest), read_manifest(manifest)) for manifest in manifests]
    items = [item for _, group in groups for item in group]
    report = run_jargon(items, model, settings.vocabulary, settings.rules, bias=bias, live=live)
    parts = by_manifest(report, groups) if len(groups) > 1 else []
    if as_json:
        summary = report.as_dict()
        summary.update(model_fields(model))
        if parts:
            summary["manifests"] = [part.as_dict() for part in parts]
        _common.echo_json(summary)
        return
    click.echo(f"{len(items)} clips, {report.total_terms} terms, {describe_model(model)}, bias {report.bias}")
    click.echo(f"{'stage':<14}{'WER':>8}{'terms':>14}")
    for stage in report.stages:
        acc = f"{stage.term_hits}/{report.total_terms} {stage.term_accuracy:.0%}"
        click.echo(f"{stage.name:<14}{stage.wer:>8.1%}{acc:>14}")
    if parts:
        click.echo("each manifest's clips, with every manifest's terms (+rules):")
        for part in parts:
            final = next(s for s in part.stages if s.name == "+rules")
            acc = f"{final.term_hits}/{final.total_terms} {final.term_accuracy:.0%}"
            click.echo(f"{'':<14}{final.wer:>8.1%}{acc:>14}  {part.clips} clips, {part.path}")
    if report.second_readings:
        click.echo(
            f"{report.second_readings} of {len(items)} clips read twice "
            "(a long vocabulary prompt: the terms heard named last; speech without terms, no vocabulary)"
        )
    if show:
        for n, item in enumerate(items):
            click.echo(f"\n{item.id}  ref: {item.text}")
            for stage in report.stages:
                click.echo(f"  {stage.name:<12} {stage.texts[n]}")
