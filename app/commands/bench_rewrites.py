"""``holdtype bench rewrites``: what the vocabulary changes in text that holds none of its terms."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands import _common


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--vocab-file", type=click.Path(path_type=Path), required=True, help="Vocabulary: one term per line."
)
@click.option("--top", type=click.IntRange(min=0), default=20, show_default=True, help="Rewrites to list.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the figures.")
def rewrites(files: tuple[Path, ...], vocab_file: Path, top: int, as_json: bool) -> None:
    """How many sentences of FILES (plain text without the terms: prose, transcripts) the
    vocabulary's auto-correction changes, and the most frequent rewrites. Recasing ("black"
    → Black) is counted apart: WER ignores case. Uses your sensitivity setting; no audio.

    Example: holdtype bench rewrites /usr/share/games/fortunes/fortunes --vocab-file terms.txt
    """
    from app.bench.rewrites import measure_rewrites, read_sentences
    from app.text.termfile import read_terms
    from app.text.vocabulary import Vocabulary

    settings = _common.settings()
    terms = read_terms(vocab_file)
    sentences = read_sentences(files)
    report = measure_rewrites(sentences, Vocabulary(terms, settings.vocabulary.sensitivity))
    if as_json:
        _common.echo_json({"terms": len(terms), **report.as_dict(top)})
        return
    click.echo(
        f"{report.sentences} sentences, {len(terms)} terms: {report.rewritten} rewritten "
        f"({report.rewritten / report.sentences:.2%}), {report.changed - report.rewritten} only recased"
    )
    for (before, after), count in report.rewrites.most_common(top):
        click.echo(f"{count:5d}  {before!r} -> {after!r}   e.g. {report.examples[(before, after)]!r}")
