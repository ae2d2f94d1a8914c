"""``holdtype history …``: browse, search, show, copy and delete what was dictated."""

from __future__ import annotations

import datetime as dt
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import click

from app.commands._common import echo_json, note_empty, settings, with_model
from app.errors import HoldtypeError
from app.history.store import SUMMARY_FIELDS, ExportFormat, HistoryEntry, HistoryStore
from app.textfile import visible

# SQLite's largest row id: a bigger number names no utterance (and overflows its integers).
MAX_ID = 2**63 - 1


class _Count(click.IntRange):
    """A count of rows for `list` and `search` (how many to show, how many to skip): from the
    range's least (--limit 0 and -5 showed one row, silently); a bigger number than SQLite
    takes is the most it takes (all of them, past all of them), not an OverflowError."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        number = click.INT.convert(value, param, ctx)
        return MAX_ID if number > MAX_ID else int(super().convert(number, param, ctx))


_LIMIT = _Count(min=1)


def _open() -> HistoryStore:
    store = HistoryStore()
    if store.problem:
        click.secho(f"warning: {store.problem}", err=True, fg="yellow")
    return store


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _summary(entry: HistoryEntry) -> dict[str, object]:
    data = entry.to_dict()
    return {name: data[name] for name in SUMMARY_FIELDS}


def _details(entry: HistoryEntry) -> dict[str, object]:
    """Every field: those of a `list --json` row in its order, then the others."""
    return entry.details()


def _line(entry: HistoryEntry) -> str:
    text = visible(" ".join(entry.text.split())) or "(no text)"  # no escape sequence reaches the terminal
    if len(text) > 80:
        text = text[:79] + "…"
    return f"{entry.id:>5}  {_when(entry.created)}  {entry.outcome.value:<9}  {text}"


def _print(
    entries: list[HistoryEntry],
    as_json: bool,
    empty: str,
    limit: int,
    total: Callable[[], int],
    offset: int = 0,
) -> None:
    """Print ``entries`` (from the ``offset``-th) one per line; with none, say ``empty`` on
    stderr. When there are more after them (``total()`` in all), say so there as well, with
    how to see them: --limit's 20 ended the listing as if it were the whole history. (Human
    form only: with --json, standard error stays as quiet as ever.)"""
    if not entries and not as_json:
        note_empty(f"Nothing after the first {offset} ({total()} in all)." if offset else empty)
    for entry in entries:
        if as_json:
            echo_json(_summary(entry))
        else:
            click.echo(_line(entry))
    if not as_json and len(entries) == limit:
        count = total()  # (counted only then: a search reads every entry again)
        if count > offset + limit:
            shown = f"{offset + 1}-{offset + limit}" if offset else f"{limit}"
            click.secho(
                f"{shown} of {count} shown; --offset {offset + limit} shows the next, --limit N more at once",
                err=True,
                fg="bright_black",
            )


def _empty_note() -> str:
    """What an empty history means: nothing dictated yet, or the history turned off."""
    if not settings().history.enabled:
        return "The history is off; turn it on with `holdtype config set history.enabled true`."
    return "No dictations yet: hold the hotkey, speak, let go."


def _get(store: HistoryStore, entry_id: int) -> HistoryEntry:
    entry = store.get(entry_id)
    if entry is None:
        raise HoldtypeError(f"no history entry with id {entry_id} (see `holdtype history list`)")
    return entry


class EntryId(click.ParamType):
    """A history entry's id: a whole number from 1 ("'abc' is not a valid integer range" and
    "0 is not in the range 1<=x<=9223372036854775807" said it in click's words)."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """``value`` as an entry id, or a usage error saying what an id is."""
        see = "(see `holdtype history list`)"
        try:
            number = value if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is no entry id: ids are whole numbers {see}", param, ctx)
        if number < 1:
            self.fail(f"{value} is no entry id: ids start at 1 {see}", param, ctx)
        if number > MAX_ID:
            self.fail(f"{value} is no entry id: too large {see}", param, ctx)
        return int(number)


ENTRY_ID = EntryId()


@click.group()
def history() -> None:
    """Browse everything you dictated (newest first).

    Example: holdtype history list --limit 5
    """


_OFFSET = click.option(
    "--offset",
    default=0,
    show_default=True,
    type=_Count(min=0),
    help="Skip this many of the newest first (the next page: --offset 20).",
)


@history.command("list")
@click.option("--limit", "-n", default=20, show_default=True, type=_LIMIT)
@_OFFSET
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_command(limit: int, offset: int, as_json: bool) -> None:
    """List recent utterances, newest first.

    With --json, one object per line with the fields id, created (unix seconds), text (as
    inserted), raw (as Whisper heard it), outcome (pasted, typed, failed, cancelled, recovered,
    empty), mode, model, device (the microphone), audio_seconds, release_to_text_ms (release
    to transcript, before the mode), error (null, or why it failed), app (the app dictated
    into, focused at the press: its window class or app id, as modes.apps names it; "" when
    unknown) and fallback_reason (null, or why the mode gave the plain transcript); `history
    show ID --json` gives these and the rest (llm_ms, the mode's time; release_to_insert_ms,
    release to paste).

    Example: holdtype history list --json --limit 50
    """
    with _open() as store:
        _print(store.list(limit=limit, offset=offset), as_json, _empty_note(), limit, store.count, offset)


@history.command()
@click.argument("text")
@click.option("--limit", "-n", default=20, show_default=True, type=_LIMIT)
@_OFFSET
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def search(text: str, limit: int, offset: int, as_json: bool) -> None:
    """Find utterances whose text or what was heard (raw, before vocabulary, rules and mode)
    contains TEXT, newest first. Case is ignored, and any run of spaces, tabs or line
    breaks matches any other (`list` shows each as one space); % and _ are plain characters.

    Example: holdtype history search "pull request"
    """
    if not text.strip():  # (it listed every entry, as if each had matched)
        raise click.UsageError("give the words to search for; `holdtype history list` shows every entry")
    with _open() as store:
        found = store.search(text, limit=limit, offset=offset)
        empty = f"Nothing in the history contains {text!r}."
        _print(found, as_json, empty, limit, lambda: store.count(text), offset)


@history.command()
@click.argument("entry_id", metavar="ID", type=ENTRY_ID)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="All fields as one JSON object: a `list --json` row's, then the rest.",
)
def show(entry_id: int, as_json: bool) -> None:
    """Show one utterance with all its details.

    Example: holdtype history show 42
    """
    with _open() as store:
        entry = _get(store, entry_id)
    if as_json:
        echo_json(_details(entry))
        return
    data = entry.to_dict()
    for name, value in data.items():
        if name in {"text", "raw"} or value is None:
            continue
        if name in {"created", "key_down", "key_up", "text_ready", "inserted", "added"}:
            value = _when(value) + f" ({value:.3f})"
        elif isinstance(value, float):  # (release_to_text_ms: 54.092848684376804)
            value = f"{value:.1f}"
        click.echo(f"{name:>20}: {visible(str(value))}")
    click.echo(f"{'raw':>20}: " + visible(entry.raw, keep="\n"))
    click.echo(f"{'text':>20}: " + visible(entry.text, keep="\n"))


@history.command()
@click.argument("entry_id", metavar="ID", type=ENTRY_ID)
def copy(entry_id: int) -> None:
    """Put an utterance's text on the clipboard.

    Example: holdtype history copy 42
    """
    from app.insert.clipboard import get_clipboard

    with _open() as store:
        entry = _get(store, entry_id)
    if not entry.text.strip():  # (the clipboard's own content stays: it was replaced with nothing)
        raise HoldtypeError(
            f"history entry {entry.id} has no text; the clipboard is unchanged{_retry_hint(entry)}"
        )
    get_clipboard().set(entry.text)
    click.echo(f"copied entry {entry_id} ({len(entry.text)} characters) to the clipboard")


@history.command()
@click.argument("entry_id", metavar="[ID]", required=False, type=ENTRY_ID)
def paste(entry_id: int | None) -> None:
    """Paste an utterance's text into the window that has the focus, as Shift+click in the
    tray's Recent menu does; without ID, the newest one that has text. Bind a desktop shortcut
    to `holdtype history paste` to put your last dictation in again (on Windows to
    `holdtype-tray history paste`, which opens no console window to take the focus). A paste
    that fails leaves the text on the clipboard.

    Example: holdtype history paste 42
    """
    from app.insert.base import choose_inserter

    with _open() as store:
        if entry_id is not None:
            entry: HistoryEntry | None = _get(store, entry_id)
        else:
            entry = next((e for e in store.list(limit=50) if e.text.strip()), None)
    if entry is None:
        raise HoldtypeError("nothing in the recent history has text to paste")
    if not entry.text.strip():
        raise HoldtypeError(f"history entry {entry.id} has no text{_retry_hint(entry)}")
    result = choose_inserter(settings().paste).insert(entry.text)
    if not result.ok:
        if result.method == "type":  # a failed paste leaves the text on the clipboard itself
            from app.insert.clipboard import get_clipboard

            get_clipboard().set(entry.text)
        raise HoldtypeError(f"{result.error or 'the paste failed'}; the text is on the clipboard")
    click.echo(f"pasted entry {entry.id} ({len(entry.text)} characters)", err=True)


def _retry_hint(entry: HistoryEntry) -> str:
    """How an entry with no text may still get some: read again when its recording is there."""
    from app.history.again import kept_recording

    try:
        kept_recording(entry)
    except HoldtypeError as exc:
        return f"; nothing can read it again: {exc}"
    return f"; its recording is kept: `holdtype history retry {entry.id}` reads it again"


@history.command()
@click.argument("entry_id", metavar="ID", type=ENTRY_ID)
def delete(entry_id: int) -> None:
    """Delete one utterance from the history.

    Example: holdtype history delete 42
    """
    with _open() as store:
        if not store.delete(entry_id):
            raise HoldtypeError(f"no history entry with id {entry_id} (see `holdtype history list`)")
    click.echo(f"deleted entry {entry_id}")


@history.command()
@click.argument("name", metavar="PATH", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json", "csv"]),
    help="Default: by PATH's suffix (.csv, .json), else JSON lines.",
)
def export(name: str, fmt: str | None) -> None:
    """Write the whole history, oldest first, to PATH (readable by you alone), as the
    settings window's Export does: every field of `history show --json`. PATH `-` is standard
    output (JSON lines unless --format says otherwise), in UTF-8.

    Example: holdtype history export ~/holdtype-history.csv
    """
    path = Path(name)  # ("./-" is a file named "-", which Path reads as "-" too)
    if name == "-":
        with _open() as store:
            out = io.StringIO(newline="")
            count = store.export_to(out, cast("ExportFormat", fmt or "jsonl"))
        sys.stdout.flush()
        sys.stdout.buffer.write(out.getvalue().encode("utf-8"))  # UTF-8 whatever the console's code page
        sys.stdout.buffer.flush()
        click.echo(f"exported {count} entries", err=True)
        return
    with _open() as store:
        try:
            count = store.export(path, cast("ExportFormat | None", fmt))
        except OSError as exc:
            raise HoldtypeError(f"cannot write {path}: {exc.strerror or exc}") from exc
    click.echo(f"exported {count} entries to {path}", err=True)  # (not into PATH: /dev/stdout)


@history.command()
@click.argument("entry_id", metavar="ID", type=ENTRY_ID)
@click.option("--model", "model_name", help="Model name or folder (default: the configured one).")
@click.option("--mode", "mode", help="LLM mode to run (default: the entry's own).")
@click.option("--json", "as_json", is_flag=True, help="The entry's new fields as one JSON object.")
def retry(entry_id: int, model_name: str | None, mode: str | None, as_json: bool) -> None:
    """Transcribe an utterance's kept recording again, with your vocabulary and rules as they
    are now, and keep the new words: in its entry when it has no text (it is then
    `recovered`), else in a new `recovered` entry, so its text stays (what went in, or what a failed
    paste left). A failed or cancelled dictation keeps its recording (every one does with
    audio.keep_audio). Prints the text, or with --json the entry holding it.

    Example: holdtype history retry 42 --model small.en
    """
    from app.history.again import keep_reading, kept_recording, said_again
    from app.llm.modes import ModeError, broken_mode_reason, load_modes
    from app.transcribe.batch import FileTranscriber

    with _open() as store:
        entry = _get(store, entry_id)
    path = kept_recording(entry)
    config = with_model(settings(), model_name)
    if mode is None:
        mode = entry.mode or "raw"
        if mode not in load_modes(skipped=[]):  # (a broken file is said below, once)
            broken = broken_mode_reason(mode)
            if broken:  # as `transcribe --mode` does: no plain reading behind the user's back
                without = f"holdtype history retry {entry_id} --mode raw"
                raise ModeError(f"{broken}; fix it, or read the entry without it: {without}")
            # a mode of the user's since removed: the plain reading
            click.secho(
                f"warning: the entry's mode {mode!r} is gone; read without an LLM", err=True, fg="yellow"
            )
            mode = "raw"
    engine = FileTranscriber(config, use_rules=True, mode=mode)
    result = next(iter(engine.transcribe_files([path])))
    if isinstance(result, Exception):
        raise result
    if result.fallback_reason:
        click.secho(
            f"warning: mode {result.mode} fell back to the transcript: {result.fallback_reason}",
            err=True,
            fg="yellow",
        )
    with _open() as store:
        kept = keep_reading(
            store,
            entry,
            result.raw,
            result.text,
            result.model,
            result.mode,
            fallback_reason=result.fallback_reason,
            llm_ms=result.llm_ms,
        )
        if result.cache_key is not None:  # deleting the entry deletes the reply (the same words)
            store.link_reply(kept, result.cache_key)
        entry = _get(store, kept)
    said = said_again(entry_id, kept)  # (a sentence in the app's notices; here it starts in
    # lower case, as the CLI's other confirmations do: "pasted entry 8", "deleted entry 3")
    click.echo(said[:1].lower() + said[1:], err=True)
    if as_json:
        echo_json(_summary(entry))
    else:
        click.echo(entry.text)
