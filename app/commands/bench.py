"""``holdtype bench …``: benchmark scripts that print figures (never pass/fail tests).

Each benchmark lives in its own module and is imported only when it runs.
"""

from __future__ import annotations

import importlib

import click

BENCHES: dict[str, tuple[str, str]] = {
    "jargon": ("app.commands.bench_jargon:jargon", "WER and term accuracy on a jargon manifest."),
    "wer": ("app.commands.bench_wer:wer", "WER and real-time factor on a speech manifest."),
    "latency": ("app.commands.bench_latency:latency", "Release-to-text time: streaming vs batch."),
    "idle": ("app.commands.bench_idle:idle", "CPU and memory of the armed, idle engine."),
    "cache": ("app.commands.bench_cache:cache_bench", "LLM cache hit time."),
    "rewrites": (
        "app.commands.bench_rewrites:rewrites",
        "What the vocabulary changes in text without terms.",
    ),
}


class _LazyBench(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(BENCHES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = BENCHES.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Benchmarks"):
            formatter.write_dl([(name, h) for name, (_, h) in BENCHES.items()])


@click.group(cls=_LazyBench)
def bench() -> None:
    """Benchmarks that print figures (medians; ratios measured in one run).

    Example: holdtype bench jargon ../shared/data/jargon-dev/manifest.tsv
    """
