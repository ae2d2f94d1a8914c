"""``holdtype bench latency``: release-to-text time, streaming vs batch, in one run."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.commands._common import settings


@click.command()
@click.option(
    "--clips",
    type=click.Path(exists=True, path_type=Path),
    help="Folder of audio files, or a .jsonl/.tsv manifest (default: synthesize with espeak-ng).",
)
@click.option("--lengths", default="5,10,30,60", show_default=True, help="Utterance lengths (s).")
@click.option("--repeats", default=3, show_default=True, help="Utterances per length.")
@click.option("--json-out", type=click.Path(path_type=Path), help="Also write every measure here.")
def latency(clips: Path | None, lengths: str, repeats: int, json_out: Path | None) -> None:
    """Feed utterances at real-time pace through streaming and batch decoding; print medians.

    For each length: median release→text time of batch decoding after release, of streaming
    (decoding while the key is held), their ratio, and streaming when the speaker paused 0.5 s
    before releasing, and how long streaming kept the model busy per utterance (busy ms:
    every decode while the key was held and after). With references (a manifest), also the
    WER of batch and streaming.

    Example: holdtype bench latency --clips ../shared/data/speech/manifest.jsonl
    """
    from app.bench import latency as bench
    from app.paths import check_export_target

    if json_out is not None:
        check_export_target(json_out)  # not over Holdtype's settings or history, after minutes of work
    config = settings()
    wanted = [float(x) for x in lengths.split(",") if x.strip()]
    with bench.temporary_synth_dir() as tmp:
        sources = bench._sources_from(clips) if clips else bench.synthesize(Path(tmp))
        results = list(bench.measure(config, sources, wanted, repeats, lambda m: click.echo(m, err=True)))
    rows = bench.summarize(results)
    click.echo(
        f"model {config.model.name}, beam {config.model.beam_size}, "
        f"{len(config.vocabulary.terms)} vocabulary terms; medians over {repeats} utterances"
    )
    click.echo(
        f"{'length':>7} {'audio s':>8} {'batch ms':>9} {'stream ms':>10} {'ratio':>6} "
        f"{'pause ms':>9} {'decodes':>8} {'busy ms':>8} {'WER batch':>10} {'WER stream':>11}"
    )
    for r in rows:
        wer_b = "-" if r["wer_batch"] is None else f"{100 * float(r['wer_batch']):.1f}%"
        wer_s = "-" if r["wer_stream"] is None else f"{100 * float(r['wer_stream']):.1f}%"
        click.echo(
            f"{r['target_s']:>6.0f}s {r['seconds']:>8.1f} {r['batch_ms']:>9.0f} "
            f"{r['stream_ms']:>10.0f} {r['ratio']:>6.2f} {r['pause_ms']:>9.0f} "
            f"{r['decodes']:>8.0f} {r['busy_ms']:>8.0f} {wer_b:>10} {wer_s:>11}"
        )
    if json_out:
        json_out.write_text(
            json.dumps(
                {
                    "summary": rows,
                    "measures": [
                        m.__dict__ if hasattr(m, "__dict__") else {f: getattr(m, f) for f in m.__slots__}
                        for m in results
                    ],
                },
                indent=2,
            )
        )
