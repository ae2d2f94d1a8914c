"""``holdtype bench idle``: CPU and RSS of the armed, idle engine."""

from __future__ import annotations

import click

from app.commands._common import settings


@click.command()
@click.option("--seconds", default=20.0, show_default=True, help="How long to measure.")
def idle(seconds: float) -> None:
    """Start the engine (model loaded, microphone armed, hotkey listening), stay idle, and print
    its CPU use and resident memory. Targets: CPU ≤ 1 %, RSS ≤ 250 MB.

    Example: holdtype bench idle --seconds 30
    """
    from app.bench.idle import measure_idle, memory_unmeasurable

    if (why := memory_unmeasurable()) is not None:
        raise click.ClickException(why)
    figures = measure_idle(settings(), seconds)
    click.echo(f"launch to ready  {figures.launch_to_ready_ms:8.0f} ms")
    click.echo(f"idle CPU         {figures.cpu_percent:8.2f} % of one core over {figures.seconds:.0f} s")
    click.echo(f"RSS              {figures.rss_mb:8.1f} MB (peak {figures.peak_rss_mb:.1f} MB)")
    click.echo(
        f"armed            microphone {'yes' if figures.armed_audio else 'NO'}, "
        f"hotkey {'yes' if figures.armed_hotkey else 'NO'}"
    )
    for problem in figures.problems:
        click.echo(f"note: {problem}")
