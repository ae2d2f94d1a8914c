"""``holdtype vocab``: the terms Whisper is steered towards and transcripts are corrected to."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from app.commands import _common
from app.commands.rules import with_rule
from app.config import Rule, check_terms, clean_term
from app.errors import ConfigError, HoldtypeError
from app.text.english import english_word
from app.text.rules import validate_rule
from app.text.termfile import parse_terms, read_vocabulary_file, write_vocabulary_file
from app.textfile import decode_text


@click.group()
def vocab() -> None:
    """Manage vocabulary terms (spelling truth, Whisper bias, auto-correction targets).

    Example: holdtype vocab add scikit-learn PyPI "Talk Python To Me"
    """


@vocab.command("add")
@click.argument("terms", nargs=-1)
@click.option(
    "--file",
    "term_file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help='Also add the terms of this file: one per line ("# " starts a comment), or a .toml/.csv the '
    "settings window or `vocab export` wrote; - reads standard input.",
)
@click.option(
    "--rules",
    "with_rules",
    is_flag=True,
    help="Also add the rules of --file (a .toml/.csv export), each in the place of a rule that "
    "finds the same: the settings window's Import.",
)
def add(terms: tuple[str, ...], term_file: Path | None, with_rules: bool) -> None:
    """Add TERMS (quote terms with spaces), and those of --file.

    Example: holdtype vocab add NumPy "Hugging Face"

    Example: holdtype vocab add --file glossary.txt (a file `holdtype vocab list` wrote will do)

    Example: holdtype vocab add --file vocabulary.toml --rules (what `vocab export` wrote)
    """
    rules: list[Rule] = []
    if with_rules and term_file is None:
        raise click.UsageError("--rules adds the rules of --file: give the file")
    if term_file is not None:
        file_terms, rules = _file_contents(term_file, with_rules)
        terms = (*terms, *file_terms)
    elif not terms:
        raise click.UsageError("give TERMS to add, or --file with one term per line")
    cleaned = [clean_term(term) for term in terms]
    if not any(cleaned) and not rules:
        raise ConfigError("a vocabulary term cannot be empty")
    check_terms(cleaned)
    for rule in rules:  # the reason, in one line, before anything is saved
        validate_rule(rule)
    if blank := cleaned.count(""):
        # A list read from a file often ends in an empty line: skip it, keep the rest.
        click.echo(f"note: skipped {blank} empty term(s)", err=True)
    with _common.editing() as current:
        words = list(current.vocabulary.terms)
        known = set(words)  # exact spelling: `LLM` and `llm` are different terms
        added = []
        for clean in cleaned:
            if clean and clean not in known:
                twins = [t for t in words if t.casefold() == clean.casefold()]
                if twins and not (clean.islower() and english_word(clean)):  # ("rust" beside Rust)
                    # Allowed (`LLM` the acronym, `llm` the tool), but often a slip: say so.
                    click.echo(
                        f"note: {clean!r} differs from {twins[0]!r} only in case; both are kept, and "
                        "a transcript gets the casing closest to what Whisper wrote (if it was a slip: "
                        f"`holdtype vocab remove {shlex.quote(clean)}`)",
                        err=True,
                    )
                words.append(clean)
                known.add(clean)
                added.append(clean)
        vocabulary = current.vocabulary.model_copy(update={"terms": words})
        kept = list(current.rules)
        for rule in rules:
            kept = with_rule(kept, rule)[0]
        # Each of the file's rules as the rules were before (a later row of the file with the
        # same find wins, as it does in the list)
        counts = {"added": 0, "replaced": 0, "same": 0}
        for rule in rules:
            replaced = with_rule(list(current.rules), rule)[1]
            counts["same" if rule in current.rules else "replaced" if replaced else "added"] += 1
        new = current.model_copy(update={"vocabulary": vocabulary, "rules": kept})
        _common.save(new)
    click.echo(f"added {len(added)} term(s); {len(words)} in the vocabulary")
    if there := list(dict.fromkeys(c for c in cleaned if c and c not in added)):
        shown = ", ".join(there[:5]) + (f" and {len(there) - 5} more" if len(there) > 5 else "")
        click.echo(f"already in the vocabulary: {shown}", err=True)
    if rules:
        parts = [f"added {counts['added']} rule(s)"]
        if counts["replaced"]:
            parts.append(f"replaced {counts['replaced']} with the same find")
        if counts["same"]:
            parts.append(f"{counts['same']} already there")
        click.echo(f"{', '.join(parts)} from {term_file}; {len(kept)} rule(s)")
    _prompt_note(words, new.vocabulary.bias)
    _ordinary_note(added, words)


def _file_contents(path: Path, with_rules: bool) -> tuple[list[str], list[Rule]]:
    """The terms of ``path`` (``-``: standard input, one per line), and its rules when
    ``with_rules`` (else saying that they are left out, and how to add them)."""
    rules: list[Rule] = []
    if str(path) == "-":
        if with_rules:  # standard input is read as terms, one per line: a CSV's rows became terms
            raise ConfigError("--rules reads a .toml or .csv file; standard input holds terms only")
        if sys.stdin is None or sys.stdin.isatty():
            raise ConfigError(
                "--file - reads terms from standard input; pipe them in: "
                "holdtype vocab add --file - < terms.txt"
            )
        try:
            terms, name = parse_terms(decode_text(sys.stdin.buffer.read())), "standard input"
        except UnicodeDecodeError as exc:
            raise ConfigError(f"standard input is not UTF-8 text ({exc.reason})") from None
    else:
        (terms, rules), name = read_vocabulary_file(path), str(path)
    if rules and not with_rules:
        click.echo(f"note: {name} also holds {len(rules)} rule(s); add them with --rules", err=True)
        rules = []
    if not terms and not rules:
        raise ConfigError(f"no terms in {name}")
    return terms, rules


def _prompt_note(terms: list[str], bias: str) -> None:
    """Say on stderr when Whisper's prompt cannot name every term (and the bias uses one)."""
    from app.text.pipeline import PROMPT_BIASES, prompt_coverage

    if bias not in PROMPT_BIASES:
        return
    named, total = prompt_coverage(terms)
    if named < total:
        click.echo(
            f"note: Whisper's prompt holds the newest {named} of {total} terms; an older one is "
            "named when a first reading seems to say it (one more decode, slower), and every "
            "term is still auto-corrected",
            err=True,
        )


def _ordinary_note(added: list[str], words: list[str]) -> None:
    """Say which of the ``added`` terms auto-correction will now write for ordinary English
    wherever it is said ("it will rust" → "it will Rust", "the sequel" → "the SQL"), and how to
    keep it: a lower-case term of those words (a transcript gets the closer casing)."""
    from app.text.ordinary import ordinary_words

    ordinary = ordinary_words(added, words)
    if not ordinary:
        return
    listed = [term if said == term.lower() else f"{term} ('{said}')" for term, said in ordinary.items()]
    names = ", ".join(listed[:6]) + (f" and {len(listed) - 6} more" if len(listed) > 6 else "")
    first, low = next(iter(ordinary.items()))
    click.echo(
        f"note: {names} {'is' if len(listed) == 1 else 'are'} also ordinary English; a dictation's "
        f"'{low}' will be written '{first}'. To keep the plain words where Whisper writes them, add "
        f"them in lower case too (`holdtype vocab add {shlex.quote(low)}`)",
        err=True,
    )


@vocab.command("remove")
@click.argument("terms", nargs=-1, required=True)
def remove(terms: tuple[str, ...]) -> None:
    """Remove TERMS: the exact spelling, else every term matching it ignoring case.

    Example: holdtype vocab remove PyPI
    """
    with _common.editing() as current:
        words = list(current.vocabulary.terms)
        drop: set[str] = set()
        unknown = []
        for term in terms:
            clean = clean_term(term)
            if not clean:
                raise ConfigError("a vocabulary term cannot be empty")
            matches = [clean] if clean in words else [t for t in words if t.casefold() == clean.casefold()]
            if not matches:
                unknown.append(term)
            drop.update(matches)
        if unknown:
            found = "; nothing removed" if len(unknown) < len(terms) else ""  # (all or none)
            raise ConfigError(
                f"not in the vocabulary: {', '.join(unknown)}{found} (see `holdtype vocab list`)"
            )
        kept = [t for t in words if t not in drop]
        new = current.model_copy(update={"vocabulary": current.vocabulary.model_copy(update={"terms": kept})})
        _common.save(new)
    click.echo(f"removed {len(words) - len(kept)} term(s); {len(kept)} in the vocabulary")


@vocab.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the vocabulary settings.")
def list_terms(as_json: bool) -> None:
    """List the vocabulary terms, one per line."""
    v = _common.settings().vocabulary
    if as_json:
        _common.echo_json(v.model_dump(mode="json"))  # every setting of the section, as `config get`
        return
    if not v.terms:
        _common.note_empty("The vocabulary is empty; add terms with `holdtype vocab add TERM...`.")
    for term in v.terms:
        click.echo(term)
    _prompt_note(v.terms, v.bias)


@vocab.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def export(path: Path) -> None:
    """Write the vocabulary to PATH as the settings window's Export does: terms and rules as
    TOML (.toml) or CSV (.csv), or terms alone, one per line (any other name; refused when
    there are rules, which it cannot hold). `vocab add --file PATH --rules` reads it back
    whole.

    Example: holdtype vocab export ~/holdtype-vocabulary.toml
    """
    _common.export_target(path)
    current = _common.settings()
    try:
        write_vocabulary_file(path, list(current.vocabulary.terms), list(current.rules))
    except OSError as exc:
        raise HoldtypeError(f"cannot write {path}: {exc.strerror or exc}") from exc
    click.echo(f"exported {len(current.vocabulary.terms)} term(s) and {len(current.rules)} rule(s) to {path}")
