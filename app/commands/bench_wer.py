"""``holdtype bench wer``: WER and real-time factor, plain faster-whisper against the pipeline."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands import _common


@click.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--vocab-file", type=click.Path(path_type=Path), help="Vocabulary: one term per line.")
@click.option("--model", "model_name", default=None, help="Speech model (default: the configured one).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N clips.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the figures.")
def wer(
    manifest: Path, vocab_file: Path | None, model_name: str | None, limit: int | None, as_json: bool
) -> None:
    """WER of plain faster-whisper vs the full text pipeline, and the real-time factor.

    MANIFEST has JSON lines with "path" (relative to the manifest) and "text". The vocabulary
    is the --vocab-file's terms (none without it), with your bias and sensitivity settings.

    Example: holdtype bench wer ../shared/data/speech/manifest.jsonl --vocab-file terms.txt
    """
    from app.bench.options import describe_model, model_fields, model_settings
    from app.bench.wer import compare_wer, read_speech_manifest
    from app.text.termfile import read_terms

    settings = _common.settings()
    terms = read_terms(vocab_file) if vocab_file else []
    vocabulary = settings.vocabulary.model_copy(update={"terms": terms})
    vocabulary = type(vocabulary).model_validate(vocabulary.model_dump())
    model = model_settings(settings.model, model_name)
    items = read_speech_manifest(manifest, limit)
    result = compare_wer(items, model, vocabulary)
    summary = result.as_dict()
    summary.update({"terms": len(vocabulary.terms), "bias": vocabulary.bias, **model_fields(model)})
    if as_json:
        _common.echo_json(summary)
        return
    click.echo(
        f"{result.clips} clips, {result.audio_s:.0f} s of audio, {result.plain.words} words, "
        f"{describe_model(model)}, {len(vocabulary.terms)} terms, bias {vocabulary.bias}"
    )
    click.echo(f"plain faster-whisper  WER {result.plain.wer:6.2%}  RTF {summary['plain_rtf']}")
    click.echo(f"holdtype pipeline     WER {result.pipeline.wer:6.2%}  RTF {summary['pipeline_rtf']}")
