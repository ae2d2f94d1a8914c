"""``holdtype bench cache``: how long a cache hit takes, end to end through ModeRunner.run.

The benchmark uses a throw-away cache folder and a mode whose reply is stored beforehand, so it
measures exactly the path a repeated dictation takes: load the mode, render the prompt, hash the
key, read the entry, check the reply. No model is called (a miss would say so).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import click

from app.config import LLMSettings, Settings


@click.command("cache")
@click.option("-n", "--lookups", default=500, show_default=True, help="Number of timed hits.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def cache_bench(lookups: int, as_json: bool) -> None:
    """Median time of an LLM cache hit through ModeRunner.run (target: at most 5 ms).

    Example: holdtype bench cache -n 1000
    """
    from app.commands._common import echo_json
    from app.llm.cache import CacheEntry, LLMCache
    from app.llm.runner import ModeRunner

    text = "so um I think we should uh ship the scikit-learn fix to PyPI today"
    reply = "I think we should ship the scikit-learn fix to PyPI today."
    with tempfile.TemporaryDirectory(prefix="holdtype-bench-cache-") as tmp:
        llm_settings = LLMSettings(model="bench-model-not-called")
        settings = Settings(llm=llm_settings)
        store = LLMCache(llm_settings, directory=Path(tmp) / "llm")
        runner = ModeRunner(settings, cache=store)
        first = runner.run("clean", text)  # a miss: unknown model, falls back, tells us the key
        assert first.cache_key is not None
        store.put(
            CacheEntry(
                key=first.cache_key,
                text=reply,
                parsed=None,
                model="bench-model-not-called",
                mode="clean",
                llm_ms=800.0,
                created=time.time(),
            )
        )
        for _ in range(20):  # warm up: imports, SQLite pages, the mode memo
            runner.run("clean", text)
        hit_ms: list[float] = []
        get_ms: list[float] = []
        for _ in range(lookups):
            start = time.perf_counter()
            result = runner.run("clean", text)
            hit_ms.append((time.perf_counter() - start) * 1000.0)
            if not result.cached or result.text != reply:
                raise click.ClickException(f"expected a cache hit, got {result}")
            start = time.perf_counter()
            store.get(first.cache_key, count=False)
            get_ms.append((time.perf_counter() - start) * 1000.0)
        store.close()
    figures = {
        "lookups": lookups,
        "run_hit_median_ms": statistics.median(hit_ms),
        "run_hit_p95_ms": statistics.quantiles(hit_ms, n=20)[-1],
        "cache_get_median_ms": statistics.median(get_ms),
        "target_ms": 5.0,
    }
    if as_json:
        echo_json(figures)
        return
    verdict = "ok" if figures["run_hit_median_ms"] <= 5.0 else "SLOWER than the 5 ms target"
    click.echo(
        f"cache hit via ModeRunner.run: median {figures['run_hit_median_ms']:.3f} ms, "
        f"p95 {figures['run_hit_p95_ms']:.3f} ms over {lookups} lookups ({verdict})"
    )
    click.echo(f"raw cache.get:                median {figures['cache_get_median_ms']:.3f} ms")
