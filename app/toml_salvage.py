"""Read what can be read of a settings file with a TOML syntax error.

One typo ("sensitivity = 0,5") made the whole file unreadable, and Holdtype went on with
defaults: the vocabulary and the rules were gone from dictation until the file was mended.
:func:`parse_salvaging` leaves out the statement the error is on, and reads the rest.
"""

from __future__ import annotations

import re
import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# tomllib's messages end with where the error is.
_WHERE = re.compile(r"\(at line (\d+), column \d+\)$")
# A line that starts a key = value statement: a bare, quoted or dotted key, then "=".
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')"""
_KEY_LINE = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")
# What of a line brackets are not counted in: strings and a comment.
_CODE = re.compile(r""""(?:[^"\\\n]|\\.)*"|'[^'\n]*'|#.*""")
# A table header: [name] or [[name]].
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")

#: At most this many statements are left out; a file with more errors is not salvaged.
MAX_DROPS = 10
#: At most this many mends of lists (a comma, a closing bracket: nothing lost by them).
MAX_MENDS = 500


def _error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    """The 1-based line number ``exc`` names, or None."""
    found = _WHERE.search(str(exc))
    return int(found.group(1)) if found else None


def _unquoted(key: str) -> str:
    """A dotted key as settings name it ("vocabulary.sensitivity"), quotes and spaces removed."""
    return ".".join(part.strip().strip("\"'") for part in key.split("."))


def _element_of(line: str) -> str | None:
    """The name of the array of tables whose element ``line`` starts (``[[rules]]``), or None."""
    header = _HEADER.match(line)
    return _unquoted(header.group(2)) if header and header.group(1) == "[[" else None


def _table_of(lines: list[str], index: int) -> tuple[int | None, str, bool]:
    """The table the line at ``index`` belongs to: its header's index (None: the top of the
    file), its name, and whether it is an element of an array of tables (``[[rules]]``)."""
    for i in range(index - 1, -1, -1):
        header = _HEADER.match(lines[i])
        if header:
            return i, _unquoted(header.group(2)), header.group(1) == "[["
    return None, "", False


def _drop(lines: list[str], index: int, original: list[str]) -> str | None:
    """Blank the statement at ``lines[index]`` (in place) and say what it was, or None when
    the line is not one a drop can help: a table header, a line inside a value. ``original``:
    the file's lines before any was blanked (an element's number in its array is counted there).

    A statement in an element of an array of tables takes the whole element with it: a rule
    whose ``regex = tru`` lost its flag would match something else."""
    key = _KEY_LINE.match(lines[index])
    if key is None:
        return None
    start, table, element = _table_of(lines, index)
    if element and start is not None:
        end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
        number = sum(1 for line in original[:start] if _element_of(line) == table)
        for i in range(start, end):
            lines[i] = ""
        while end > start + 1 and not original[end - 1].strip():
            end -= 1  # the blank lines before the next table are no part of it
        return f"{table}.{number} (lines {start + 1}-{end})"
    lines[index] = ""
    name = _unquoted(key.group(1))
    return f"{table + '.' if table else ''}{name} (line {index + 1})"


def parse_salvaging(text: str) -> tuple[dict[str, Any], list[str]]:
    """Parse ``text`` as TOML, leaving out each statement a syntax error is on; return the
    data and what was left out ("vocabulary.sensitivity (line 12)"), in the file's terms.

    Raises the first error when leaving statements out cannot help (an error on a table
    header, inside a value spanning lines, or more than :data:`MAX_DROPS` errors).

    >>> parse_salvaging('[vocabulary]\\nterms = ["NumPy"]\\nsensitivity = 0,5\\n')
    ({'vocabulary': {'terms': ['NumPy']}}, ['vocabulary.sensitivity (line 3)'])
    >>> parse_salvaging('[[rules]]\\nfind = "a"\\nregex = tru\\n[[rules]]\\nfind = "b"\\n')
    ({'rules': [{'find': 'b'}]}, ['rules.0 (lines 1-3)'])
    >>> parse_salvaging('[[rules]]\\nfind = 1 2\\n[[rules]]\\nfind = 3 4\\n')
    ({}, ['rules.0 (lines 1-2)', 'rules.1 (lines 3-4)'])

    A table declared twice (a second ``[llm]`` pasted at the end) is one table, read in order:

    >>> parse_salvaging('[llm]\\nretries = 1\\n[vocabulary]\\nterms = ["NumPy"]\\n[llm]\\ntimeout_s = 20\\n')
    ({'llm': {'retries': 1, 'timeout_s': 20}, 'vocabulary': {'terms': ['NumPy']}}, [])

    What is left out of the repeat is named by the table's own name:

    >>> parse_salvaging('[vocabulary]\\nterms = ["NumPy"]\\n[vocabulary]\\nsensitivity = 0,5\\n')
    ({'vocabulary': {'terms': ['NumPy']}}, ['vocabulary.sensitivity (line 4)'])
    """
    original = text.split("\n")
    lines = list(original)
    dropped: list[str] = []
    again: dict[str, str] = {}  # a stand-in table's name -> the name of the table repeated
    first: tomllib.TOMLDecodeError | None = None
    mends = 0
    for _ in range(2 * MAX_DROPS + MAX_MENDS + 1):
        try:
            return _merged(tomllib.loads("\n".join(lines)), again), dropped
        except tomllib.TOMLDecodeError as exc:
            first = first or exc
            line = _error_line(exc)
            if line is None and str(exc).endswith("(at end of document)") and _close_at_end(lines):
                continue  # a list left open at the end of the file, closed there
            if line is None or not 0 < line <= len(lines) or mends == MAX_MENDS:
                break
            what = _mend_array(lines, line - 1, str(exc))  # (a header after a list left open too)
            mends += what == ""
            if (
                what is None
                and (name := _repeated_table(lines[line - 1])) is not None
                and len(again) < MAX_DROPS
            ):
                stand_in = f"holdtype-repeated-{len(again)}"
                again[stand_in] = name
                lines[line - 1] = f'["{stand_in}"]'
                continue
            if what is None:
                what = _drop(lines, line - 1, original)
            if what is None or len(dropped) == MAX_DROPS:
                break
            if what:  # ("": a list mended, nothing of it left out)
                dropped.append(_named(what, again))
    assert first is not None
    raise first


def _open_array(lines: list[str], index: int) -> tuple[int, str] | None:
    """The key line (its index and dotted key) of a list that is still open where
    ``lines[index]`` starts (the line is one of its items, or follows an item with no "]"),
    or None. Brackets in strings and comments are not counted: a term such as "[draft]" may
    make it miss one, and the error then stays the statement's."""
    depth = 0
    for i in range(index - 1, -1, -1):
        text = _code(lines[i])
        depth += text.count("[") - text.count("]")
        if _HEADER.match(lines[i]):
            return None
        key = _KEY_LINE.match(lines[i])
        if key:
            if depth <= 0 or "[" not in text.split("=", 1)[1]:
                return None
            table = _table_of(lines, i)[1]
            return i, f"{table + '.' if table else ''}{_unquoted(key.group(1))}"
    return None


def _code(line: str) -> str:
    """``line`` with each string as ``""`` and without its comment: what brackets and commas
    are counted in.

    >>> _code('  "NumPy", "a[1]",  # arrays [')
    '  "", "",  '
    """
    return _CODE.sub(lambda m: "" if m.group().startswith("#") else '""', line)


def _close_at_end(lines: list[str]) -> bool:
    """Close a list left open at the end of the file (in place); whether there was one."""
    opened = _open_array(lines, len(lines))
    if opened is None:
        return False
    last = max(i for i in range(opened[0], len(lines)) if lines[i].strip())
    lines[last] = _append(lines[last], "]")
    return True


def _mend_array(lines: list[str], index: int, error: str) -> str | None:
    """Mend a list spread over lines that the error at ``lines[index]`` is in (in place), and
    say what of it was left out ("" for nothing), or None when the error is not in one. A list
    never closed is closed before the next statement, and an item without its comma after it
    gets one (nothing is lost); an item that cannot be read is left out (its line).

    >>> lines = ['terms = [', '  "NumPy",', '  "pandas",', 'bias = "prompt"']
    >>> _mend_array(lines, 3, "Invalid value (at line 4, column 1)"), lines[2]
    ('', '  "pandas",]')
    >>> lines = ['terms = [', '  "NumPy"', '  "pandas",', ']']
    >>> _mend_array(lines, 2, "Unclosed array (at line 3, column 3)"), lines[1]
    ('', '  "NumPy",')
    >>> lines = ['[vocabulary]', 'terms = [', '  "NumPy,', '  "pandas",', ']']
    >>> _mend_array(lines, 2, "Illegal character (at line 3, column 10)"), lines[2]
    ('vocabulary.terms (line 3)', '')
    >>> _mend_array(['x = 1', 'y = 2 3'], 1, "Expected newline (at line 2, column 7)") is None
    True
    """
    opened = _open_array(lines, index)
    if opened is None:
        return None
    start, name = opened
    before = max((i for i in range(start, index) if lines[i].strip()), default=start)
    if _KEY_LINE.match(lines[index]) or _HEADER.match(lines[index]):
        lines[before] = _append(lines[before], "]")  # the list ends where the next statement starts
        return ""
    if error.startswith("Unclosed array") and before > start:
        previous = _code(lines[before]).rstrip()
        if not previous.endswith((",", "[")):
            lines[before] = _append(lines[before], ",")
            return ""
    lines[index] = ""
    return f"{name} (line {index + 1})"


def _append(line: str, mark: str) -> str:
    """``line`` with ``mark`` after its code, before a comment.

    >>> _append('  "NumPy"  # arrays', ","), _append('  "C#"', "]")
    ('  "NumPy",  # arrays', '  "C#"]')
    """
    comment = next((m for m in _CODE.finditer(line) if m.group().startswith("#")), None)
    if comment is None:
        return line.rstrip() + mark
    code = line[: comment.start()]
    return code.rstrip() + mark + code[len(code.rstrip()) :] + line[comment.start() :]


def _repeated_table(line: str) -> str | None:
    """The name of the table whose header ``line`` is (``[llm]``; not an element of an array
    of tables), or None. (Its key is a single name: a dotted one is not merged.)"""
    header = _HEADER.match(line)
    if header is None or header.group(1) != "[":
        return None
    name = _unquoted(header.group(2))
    return name if "." not in name else None


def _named(what: str, again: dict[str, str]) -> str:
    """``what`` (a statement left out: "holdtype-repeated-0.sensitivity (line 14)") with the
    name of a stand-in table put back to the name of the table it repeats ("vocabulary...").

    >>> _named("holdtype-repeated-0.sensitivity (line 14)", {"holdtype-repeated-0": "vocabulary"})
    'vocabulary.sensitivity (line 14)'
    """
    table, dot, rest = what.partition(".")
    return again[table] + dot + rest if dot and table in again else what


def _merged(data: dict[str, Any], again: dict[str, str]) -> dict[str, Any]:
    """``data`` with each stand-in table of ``again`` put into the table it repeats (a value
    it sets again wins: it came later in the file)."""
    for stand_in, name in again.items():
        extra = data.pop(stand_in, {})
        table = data.setdefault(name, {})
        if isinstance(table, dict) and isinstance(extra, dict):
            table.update(extra)
    return data
