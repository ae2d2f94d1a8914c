"""Vocabulary files: the terms (and rules) a user keeps outside Holdtype, read and written.

Three forms, told apart by the file's suffix:

- plain text (``.txt`` or any other suffix): one term per line, as ``holdtype vocab list``
  prints them; blank lines and comments (``# ...``) are skipped;
- ``.toml``: ``terms = [...]`` and ``[[rules]]`` tables (what the settings window exports);
- ``.csv``: a header row; ``kind``/``find``/``replace``/``regex``/``case_sensitive`` columns
  (the settings window's export), or a single column of terms.

Read by ``holdtype vocab add --file``, the settings window's Import and Export, and the
benchmarks' ``--vocab-file``.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from app.config import Rule, describe_error
from app.errors import HoldtypeError
from app.paths import check_export_target
from app.textfile import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def parse_terms(text: str) -> list[str]:
    """The terms of a plain-text vocabulary file's ``text``, in order (spaces inside a term
    collapsed). A line that is ``#`` or starts with ``# `` is a comment; a term may start with
    ``#`` (``#include``), so that what ``holdtype vocab list`` prints reads back whole.

    >>> parse_terms("# tools\\nNumPy\\n\\n  Talk  Python To Me \\n#\\n#include\\n")
    ['NumPy', 'Talk Python To Me', '#include']
    """
    terms = (" ".join(line.split()) for line in text.splitlines())
    return [term for term in terms if term and term != "#" and not term.startswith("# ")]


def read_terms(path: Path) -> list[str]:
    """The terms of the vocabulary file at ``path`` (any of the three forms; rules ignored)."""
    return read_vocabulary_file(path)[0]


def read_vocabulary_file(path: Path) -> tuple[list[str], list[Rule]]:
    """Terms and rules of the vocabulary file at ``path``, by its suffix (see the module).

    Raises :class:`HoldtypeError` naming the file and the problem: missing, not UTF-8 text,
    TOML that does not parse, a rule that is not valid.
    """
    if not path.is_file():
        raise HoldtypeError(f"no such vocabulary file: {path}")
    try:
        text = read_text(path)
        suffix = path.suffix.lower()
        if suffix == ".toml":
            return _from_toml(text)
        if suffix == ".csv":
            return _from_csv(text)
        return parse_terms(text), []
    except UnicodeDecodeError as exc:
        raise HoldtypeError(f"{path} is not a UTF-8 text file of terms ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise HoldtypeError(f"{path} is not valid TOML: {exc}") from None
    except csv.Error as exc:  # a field past csv's size limit, say: not a list of terms
        raise HoldtypeError(f"{path} is not a CSV file of terms and rules ({exc})") from None
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise HoldtypeError(f"{path}: a rule is not valid: {problem['msg']}") from None
    except HoldtypeError as exc:  # a value of the wrong kind
        raise HoldtypeError(f"{path}: {exc}") from None
    except OSError as exc:
        raise HoldtypeError(f"cannot read {path}: {exc.strerror or exc}") from None


def _from_toml(text: str) -> tuple[list[str], list[Rule]]:
    data = tomllib.loads(text)
    section = data.get("vocabulary", {})
    if not isinstance(section, dict):
        raise HoldtypeError("[vocabulary] must be a table (with terms = [...] in it)")
    terms = data.get("terms", section.get("terms", []))
    if not isinstance(terms, list):  # terms = "NumPy" was read letter by letter
        raise HoldtypeError(f'terms must be a list, as terms = ["NumPy", "PyPI"], not {terms!r}')
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise HoldtypeError("rules must be a list of tables ([[rules]] with find and replace)")
    if odd := [t for t in terms if not isinstance(t, (str, int, float)) or isinstance(t, bool)]:
        raise HoldtypeError(f'terms must be words, as terms = ["NumPy", "PyPI"], not {odd[0]!r}')
    return [str(t) for t in terms], [Rule.model_validate(r) for r in rules]


# Titles of a one-column sheet of terms, left out of the terms (compared in lower case).
_TERM_HEADERS = frozenset({"terms", "term", "word", "words", "vocabulary"})


def _from_csv(text: str) -> tuple[list[str], list[Rule]]:
    """A file with ``find`` (and optionally ``replace``, ``regex``, ``case_sensitive``) columns
    holds rules; ``kind`` = ``term`` rows, or a single column without those headers, are terms."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return [], []
    header = [h.strip().lower() for h in rows[0]]
    terms: list[str] = []
    rules: list[Rule] = []
    if "find" not in header and "term" not in header and "kind" not in header:
        if header and header[0] in _TERM_HEADERS:  # a one-column sheet with a title: "Terms"
            rows = rows[1:]
        return [r[0].strip() for r in rows if r and r[0].strip()], []
    for number, row in enumerate(rows[1:], start=2):
        # keep replacements and finds verbatim (a rule may insert a newline, a regex may start
        # with a space: " +([,.])"); trim everything else, and a find that is no regex below
        record = {
            h: (row[i] if h in {"replace", "find"} else row[i].strip()) if i < len(row) else ""
            for i, h in enumerate(header)
        }
        regex = _truthy(record.get("regex", ""), number, "regex")
        if not regex:
            record["find"] = record.get("find", "").strip()
        kind = record.get("kind", "").lower()  # as a spreadsheet writes it: "Term", "RULE"
        if kind not in _KINDS:
            raise HoldtypeError(f"row {number}: kind {record['kind']!r} is neither term nor rule")
        if kind in ("term", "terms") or (not kind and record.get("term")):
            term = record.get("term") or record.get("find", "")
            if term:
                terms.append(term)
        elif record.get("find"):
            sensitive = _truthy(record.get("case_sensitive", ""), number, "case_sensitive")
            try:
                rules.append(
                    Rule(
                        find=record["find"],
                        replace=record.get("replace", ""),
                        regex=regex,
                        case_sensitive=sensitive,
                    )
                )
            except ValidationError as exc:  # (it said "Value error, ..." and named no row)
                raise HoldtypeError(
                    f"row {number}: the rule {record['find']!r} cannot be used: {describe_error(exc)}"
                ) from None
    return terms, rules


#: The ``kind`` column's values: a term (or terms), a rule (or rules), or blank (by the columns).
_KINDS = ("term", "terms", "rule", "rules", "")


_TRUE = frozenset({"1", "true", "yes", "y", "x"})
_FALSE = frozenset({"", "0", "false", "no", "n"})


def _truthy(value: str, row: int, column: str) -> bool:
    """A CSV cell of a yes/no column (``regex``, ``case_sensitive``) as a bool; an error naming
    the row for anything else: "maybe", "on" or "WAHR" were taken as no without a word, and a
    regex rule became a plain one finding its pattern's characters."""
    word = value.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise HoldtypeError(f"row {row}: {column} is {value.strip()!r}; write true or false (or leave it empty)")


def write_vocabulary_file(path: Path, terms: list[str], rules: list[Rule]) -> None:
    """Write terms and rules as :func:`read_vocabulary_file` reads them back: TOML (``.toml``),
    CSV (``.csv``), or for any other name plain text, one term per line. Plain text has no
    room for rules: with rules, :class:`HoldtypeError` asks for .toml or .csv (a .txt used to
    get CSV, which read back as terms such as "kind,find,replace,regex,case_sensitive"). A
    file in Holdtype's own folders is refused (:func:`app.paths.check_export_target`)."""
    check_export_target(path)
    suffix = path.suffix.lower()
    if suffix == ".toml":
        data: dict[str, Any] = {"terms": terms, "rules": [r.model_dump() for r in rules]}
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
        return
    if suffix != ".csv":
        if rules:
            raise HoldtypeError(
                f"{path.name}: a plain list holds terms only; export as .toml or .csv to keep the "
                f"{len(rules)} rule(s)"
            )
        path.write_text("".join(f"{term}\n" for term in terms), encoding="utf-8")
        return
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "find", "replace", "regex", "case_sensitive"])
    for term in terms:
        writer.writerow(["term", term, "", "", ""])
    for rule in rules:
        writer.writerow(
            ["rule", rule.find, rule.replace, str(rule.regex).lower(), str(rule.case_sensitive).lower()]
        )
    path.write_text(out.getvalue(), encoding="utf-8")
