"""The ``holdtype`` command: wiring only.

Each subcommand group lives in its own module under :mod:`app.commands` and is imported only
when it is used, so ``holdtype --help`` and ``holdtype vocab list`` start fast (they never load
faster-whisper or Qt). Known errors (:class:`app.errors.HoldtypeError`) become one line on stderr
and exit code 1, and so does a file or folder the system refuses (an ``OSError``: permissions, a
full disk, a file where a folder should be); anything else is a bug and keeps its traceback.
Output piped to a reader that stops early (``holdtype history list | head -1``) is no error:
exit 0, quietly.

Examples::

    holdtype                      # start the tray app
    holdtype transcribe --json talk.wav
    holdtype vocab add scikit-learn PyPI "Talk Python To Me"
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from app import __version__
from app.errors import HoldtypeError
from app.std_streams import let_stdout_go, stdout_reader_gone

# name -> (module:attribute, one-line help). Short help is static so --help imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("app.commands.run:run", "Run the dictation engine (tray app, or headless)."),
    "dictate": ("app.commands.dictate:dictate", "Start and stop the running Holdtype's dictation."),
    "transcribe": ("app.commands.transcribe:transcribe", "Transcribe audio files."),
    "vocab": ("app.commands.vocab:vocab", "Manage vocabulary terms."),
    "rules": ("app.commands.rules:rules", "Manage replacement rules."),
    "config": ("app.commands.config:config", "Show and change settings."),
    "models": ("app.commands.models:models_group", "List and download speech models."),
    "modes": ("app.commands.modes:modes", "List, show and test LLM modes."),
    "llm": ("app.commands.llm:llm_group", "Inspect what the llm library can reach; store API keys."),
    "cache": ("app.commands.cache:cache", "Inspect and clear the LLM reply cache."),
    "history": ("app.commands.history:history", "Browse everything you dictated."),
    "eval": ("app.commands.eval:eval_command", "Compare raw transcripts against LLM modes."),
    "bench": ("app.commands.bench:bench", "Benchmarks: accuracy, latency, memory, cache."),
    "doctor": ("app.commands.doctor:doctor", "Check the machine and say what is missing."),
}

# Commands Holdtype runs itself, in a process of their own: neither listed nor documented.
INTERNAL: dict[str, str] = {"_keep-clipboard": "app.insert.x11_keeper:keep_clipboard"}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the subcommand names in declaration order."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import and return the subcommand ``cmd_name``."""
        target = COMMANDS[cmd_name][0] if cmd_name in COMMANDS else INTERNAL.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List subcommands with their static short help (no imports)."""
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        """Run the subcommand, turning user-facing errors into one clean line."""
        _check_arguments(sys.argv[1:])
        _check_stdout(sys.argv[1:])
        try:
            result = super().invoke(ctx)
            if sys.stdout is not None:  # what is still buffered fails here, not at exit
                sys.stdout.flush()
            return result
        except KeyboardInterrupt:  # Ctrl-C: the shell's convention, 128 + SIGINT, not 1
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(130) from None
        except HoldtypeError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            if isinstance(exc, BrokenPipeError) and stdout_reader_gone():
                # Output piped to a reader that had what it wanted (`| head -1`): the command
                # did its part, so exit 0 and quietly (click's own handling exited 1, which a
                # script under `set -o pipefail` took for a failure).
                let_stdout_go()
                raise click.exceptions.Exit(0) from None
            logging.getLogger(__name__).debug("system error", exc_info=True)
            raise click.ClickException(os_error_line(exc)) from None


# Commands whose arguments are files (their terms, if any, come from files), and options that
# name a file, anywhere: a name in another encoding is the file system's, taken back as it was.
_PATH_COMMANDS = frozenset({"transcribe", "eval", "bench"})
_PATH_OPTIONS = frozenset({"--file", "--json-out", "--vocab-file", "--clips"})


# Commands whose output is what they are run for: with standard output closed they are
# refused (the rest run, their messages dropped). A command named alone is so whole.
_RESULT_COMMANDS: dict[str, frozenset[str] | None] = {
    "transcribe": None,
    "eval": None,
    "bench": None,
    "doctor": None,
    "vocab": frozenset({"list", "export"}),
    "rules": frozenset({"list", "test"}),
    "config": frozenset({"path", "show", "get"}),
    "models": frozenset({"list"}),
    "modes": frozenset({"list", "show", "test"}),
    "llm": frozenset({"models", "plugins"}),
    "llm keys": frozenset({"list", "path"}),
    "cache": frozenset({"list", "show", "stats"}),
    "history": frozenset({"list", "show", "search", "export", "retry"}),
    "dictate": frozenset({"status"}),
}


def _check_stdout(args: list[str]) -> None:
    """With standard output closed (``>&-``; Python has no stdout then), refuse a command
    whose output is its result: ``transcribe`` ended in a traceback, and ``vocab list``
    printed into nothing and exited 0, so a script could not tell. Any other command (``vocab
    add``, the tray) runs, what it would print dropped."""
    if sys.stdout is not None:
        return
    words = [arg for arg in args if not arg.startswith("-")]
    group = " ".join(words[:2]) if " ".join(words[:2]) in _RESULT_COMMANDS else " ".join(words[:1])
    subcommands = _RESULT_COMMANDS.get(group, frozenset())
    after = words[len(group.split()) :] if group else []
    if subcommands is None or (after and after[0] in subcommands):
        raise click.ClickException(
            "standard output is closed, so the output would be lost; "
            "redirect it to a file instead (> FILE, or > /dev/null)"
        )
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (for the process's life)


def _check_arguments(args: list[str]) -> None:
    r"""Refuse an argument that is not valid text in the system's encoding (a term typed in a
    Latin-1 terminal on a UTF-8 system): Python keeps its bytes as lone surrogates, which no
    settings file, history or clipboard can store. The arguments of ``transcribe`` are let
    through, as are those of ``eval`` and ``bench`` and the files options name (``--file``,
    ``--json-out``): the file system takes a file's name back as it was.

    >>> _check_arguments(["vocab", "add", "naïve"])
    >>> _check_arguments(["vocab", "add", "bad\udcff"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    click.exceptions.UsageError: the argument 'bad\xff' is not valid UTF-8 text; type it again in...
    """
    command = next((arg for arg in args if not arg.startswith("-")), None)
    for before, arg in zip(["", *args], args, strict=False):  # each with the one before it
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            if command == "transcribe":  # a file named in another encoding, there or not: a
                continue  # missing one is its own failed line, and the other files are read
            if command in _PATH_COMMANDS or before in _PATH_OPTIONS or arg.split("=")[0] in _PATH_OPTIONS:
                continue  # `eval MANIFEST`, `vocab add --file`, `--json-out` name files
            shown = arg.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            raise click.UsageError(
                f"the argument '{shown}' is not valid UTF-8 text; type it again in a UTF-8 terminal"
            ) from None


def os_error_line(exc: OSError) -> str:
    """One line for a file-system error: the reason, the path, and where Holdtype keeps its files
    when ``HOLDTYPE_HOME`` moved them.

    >>> os_error_line(NotADirectoryError(20, "Not a directory", "/tmp/f/config"))
    'Not a directory: /tmp/f/config'
    """
    reason = exc.strerror or str(exc) or type(exc).__name__
    line = f"{reason}: {exc.filename}" if exc.filename else reason
    from app.paths import HOME_ENV

    home = os.environ.get(HOME_ENV)
    if home and exc.filename and str(exc.filename).startswith(home.rstrip("/")):
        line += f" ({HOME_ENV}={home} must be a folder you can write to)"
    return line


class _PlainFormatter(logging.Formatter):
    """A log record as the commands say their own problems: "warning: ...", "error: ..."."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's message after its level in lower case."""
        return f"{record.levelname.lower()}: {super().format(record)}"


@click.group(cls=LazyGroup, invoke_without_command=True)
@click.version_option(__version__, prog_name="holdtype")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """Holdtype: hold a key, speak, let go; your words appear where you type.

    With no command, starts the tray app (same as `holdtype run`).
    """
    from app import logs
    from app.std_streams import keep_stderr_from_redirects, replace_unencodable_output

    replace_unencodable_output()
    keep_stderr_from_redirects()  # before the log handler takes sys.stderr
    level = logging.WARNING
    requested: int | None = None
    if verbose == 1:
        requested = logging.INFO
    elif verbose >= 2:
        requested = logging.DEBUG
    env_level = os.environ.get("HOLDTYPE_LOG_LEVEL", "").upper()
    if env_level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):  # (BASIC_FORMAT is no level)
        requested = getattr(logging, env_level)
    logs.request(requested)
    if requested is not None:
        level = requested
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if requested is None and ctx.invoked_subcommand not in (None, "run"):
        # a user's command (not the running app's log, nor a debugging session): "warning: ..."
        for handler in logging.getLogger().handlers:
            handler.setFormatter(_PlainFormatter("%(message)s"))
    from app.redact import RedactKeys

    for handler in logging.getLogger().handlers:  # the commands print these as "warning: ..."
        handler.addFilter(lambda record: not getattr(record, "shown_to_user", False))
        handler.addFilter(RedactKeys())  # a provider's error may quote the key it was sent
    if ctx.invoked_subcommand is None:
        run_cmd = LazyGroup.get_command(main, ctx, "run")  # type: ignore[arg-type]
        assert run_cmd is not None
        ctx.invoke(run_cmd)


def tray_main() -> None:
    """Entry point of ``holdtype-tray``, the windowed launcher (a GUI script: on Windows it
    opens no console window, which is what the Start menu and start at login want). Without
    a console there are no standard streams: they are pointed at the null device first."""
    from app.std_streams import ensure_std_streams

    ensure_std_streams()
    main()
