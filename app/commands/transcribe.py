"""``holdtype transcribe``: audio files in, corrected text out."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.commands._common import echo_json, settings, with_model
from app.errors import AudioError, HoldtypeError

if TYPE_CHECKING:
    from app.transcribe.batch import FileTranscriber


@click.command()
# (not click's readable check: a file the user may not read is that file's failure, not the batch's)
@click.argument("files", nargs=-1, required=True, type=click.Path(readable=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per file.")
@click.option("--model", "model_name", help="Model name or folder (default: the configured one).")
@click.option("--no-rules", is_flag=True, help="Raw Whisper output: no vocabulary or rules.")
@click.option("--mode", "mode", default=None, help="LLM mode to post-process with (default raw).")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Files decoded at once (2 on a 2-core CPU: more files an hour, each one slower).",
)
def transcribe(
    files: tuple[str, ...], as_json: bool, model_name: str | None, no_rules: bool, mode: str | None, jobs: int
) -> None:
    """Transcribe audio FILES (any format ffmpeg reads) with your vocabulary and rules; "-"
    reads one audio file from standard input.

    Prints one line of text per file; with --json one object per line with path, text, raw,
    seconds, elapsed_ms (decoding and text clean-up), load_ms (the one-time model load, which
    the first file waits for), model, mode (plus llm_ms, cached, fallback_reason with any
    --mode, null where no model was asked, as for raw).
    A file that is missing or cannot be read gets its error on stderr and, among several, an
    empty line (with --json, alone too: the same fields, text and raw "", the figures null,
    and error), so line N is still file N; the exit code is 1. A text with line breaks (a rule that
    replaces with \\n) keeps them in plain output: read several such files with --json.
    Files are decoded one at a time, so that elapsed_ms is what each takes alone; --jobs 2
    decodes two at once (on a CPU with two cores or more), for a batch that should end sooner.
    The output keeps their order.

    Example: holdtype transcribe --json meeting.wav note.m4a

    Example: ffmpeg -loglevel error -i talk.mp4 -f wav - | holdtype transcribe -
    """
    from app.transcribe.batch import STDIN, FileTranscriber

    if "" in files:  # (Path("") is the current folder: it read ". is a folder")
        raise click.UsageError("an empty file name was given (a shell variable that is not set?)")
    # "-" alone is standard input; a file named "-" given as "./-" (which Path makes "-") is read.
    paths = tuple(STDIN if name == "-" else _file_path(name) for name in files)
    config = with_model(settings(), model_name)
    if paths.count(STDIN) > 1:
        raise HoldtypeError('"-" (standard input) can be given once')
    stdin = None
    if STDIN in paths:
        if sys.stdin is None or sys.stdin.isatty():
            raise AudioError(
                '"-" reads audio from standard input; pipe a file in: holdtype transcribe - < note.wav'
            )
        stdin = sys.stdin.buffer.read()
    engine = FileTranscriber(config, use_rules=not no_rules, mode=mode or "raw", stdin=stdin)
    try:
        failures = _print_results(engine, files, paths, as_json, mode, jobs)
    except KeyboardInterrupt:
        # Ctrl-C: the decodes in progress are given up, not waited for (nor are their threads
        # at exit); every line printed is out.
        click.echo("Interrupted.", err=True)
        _exit_now(130)
    if failures:
        raise HoldtypeError(f"{failures} of {len(paths)} files could not be transcribed")
    _exit_now()


def _print_results(
    engine: FileTranscriber,
    names: tuple[str, ...],
    paths: tuple[Path, ...],
    as_json: bool,
    mode: str | None,
    jobs: int = 1,
) -> int:
    """Print each file's result as it comes, its ``path`` the argument as given (``./a.wav``
    stays so, for a script that matches lines to its arguments); return how many failed."""
    failures = 0
    results = engine.transcribe_files(list(paths), jobs)
    for name, path, result in zip(names, paths, results, strict=True):
        if isinstance(result, AudioError):
            if len(paths) == 1:  # one error line and exit 1, and a line a JSON reader can parse
                if as_json:
                    echo_json(_failed(name, engine.whisper.name, mode, str(result)))
                raise result
            failures += 1
            click.echo(f"Error: {result}", err=True)
            if as_json:
                echo_json(_failed(name, engine.whisper.name, mode, str(result)))
            else:
                click.echo("")
            continue
        problem = engine.cache_problem()
        if problem:
            click.secho(f"warning: {problem}", err=True, fg="yellow")
        if result.fallback_reason:  # the text is the transcript: say why, as one warning line
            click.secho(
                f"warning: {path}: mode {result.mode} fell back to the transcript: {result.fallback_reason}",
                err=True,
                fg="yellow",
            )
        if as_json:
            echo_json({**result.to_dict(mode_named=mode is not None), "path": name})
        else:
            click.echo(result.text)
    return failures


def _file_path(name: str) -> Path:
    """The path of the file ``name``; one that reads as "-" ("./-") is made absolute, so that it
    is not taken for standard input."""
    path = Path(name)
    return Path.cwd() / path if str(path) == "-" else path


def _exit_now(code: int = 0) -> None:
    """End the process once every line is out. Tearing down the model, its worker threads and
    some 600 modules would take another 0.2-0.25 s: a fifth of the run for a short clip
    (median of 9 on a 3.5 s clip: 1.18 -> 1.01 s wall), with nothing left to save."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # (None: closed as the process started)
            stream.flush()
    logging.shutdown()
    os._exit(code)


def _failed(path: str, model: str, mode: str | None, error: str) -> dict[str, object]:
    """The --json line of a file that could not be transcribed: every field a transcribed
    file's line has (figures null), so a reader needs no special case, and the error.
    ``mode`` is the --mode given, None without one."""
    line: dict[str, object] = {
        "path": path,
        "text": "",
        "raw": "",
        "seconds": None,
        "elapsed_ms": None,
        "load_ms": None,
        "model": model,
        "mode": mode or "raw",
    }
    if mode is not None:  # as FileResult.to_dict has them
        line.update(llm_ms=None, cached=None, fallback_reason=None)
    line["error"] = error
    return line
