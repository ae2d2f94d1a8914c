"""README's command table and the CLI stay in step (as llm checks its docs against its code).

Every command and subcommand the CLI has is named in README's "Command line" table, every option
of the everyday commands is written there, and every form the table names exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click

from app.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
# Commands whose options are listed by their own --help and the Benchmarks section, not the table.
_OPTIONS_ELSEWHERE = ("bench", "eval")


def _commands() -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(main)

    def walk(group: click.Group, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], click.Command]]:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, f"holdtype {' '.join((*path, name))} does not load"
            if isinstance(command, click.Group):
                yield from walk(command, (*path, name))
            else:
                yield (*path, name), command

    yield from walk(main, ())


def _table_forms() -> tuple[set[tuple[str, ...]], str]:
    """The command paths README's table names, and the table's text.

    A row reads like ``holdtype vocab add TERM...`` / ``vocab remove TERM...`` or
    ``holdtype config path|show|get KEY``: the later forms of a row belong to its first group.
    A subgroup's commands are written out each: ``llm keys set NAME`` / ``llm keys list``.
    """
    text = README.read_text(encoding="utf-8")
    table = text.split("## Command line", 1)[1].split("\n## ", 1)[0]
    forms: set[tuple[str, ...]] = set()
    for row in table.splitlines():
        if not row.startswith("| `holdtype"):
            continue
        cell = row.split(" | ")[0]
        group = ""
        for form in re.findall(r"`([^`]+)`", cell):
            words = form.replace("\\|", "|").split()
            if words[0] == "holdtype":
                words = words[1:]
                if not words:
                    forms.add(("run",))  # bare `holdtype` starts the tray: it is `run`
                    continue
                group = words[0]
            elif words[0] != group:
                words = [group, *words]
            # Subcommands: the words after the group up to its arguments (`llm keys set NAME`
            # is a subgroup's command), and each word after a "|".
            rest = " ".join(words[1:])
            first = tuple(re.match(r"(?:[a-z][a-z-]*(?: |$))*", rest)[0].split())  # type: ignore[index]
            subs = re.findall(r"\|([a-z][a-z-]*)", rest)
            forms.update({(words[0], *first)} | {(words[0], sub) for sub in subs})
    return forms, table


def test_every_command_is_in_the_readme_table() -> None:
    forms, _ = _table_forms()
    missing = [" ".join(path) for path, _ in _commands() if path not in forms and path[:1] not in forms]
    assert not missing, f"README's command table does not name: {missing}"


def test_every_form_in_the_readme_table_exists() -> None:
    forms, _ = _table_forms()
    paths = {path for path, _ in _commands()}
    known = paths | {path[:1] for path in paths}
    assert forms - known == set(), f"README names commands the CLI lacks: {sorted(forms - known)}"


def test_everyday_options_are_in_the_readme_table() -> None:
    _, table = _table_forms()
    missing = [
        f"holdtype {' '.join(path)} {opt}"
        for path, command in _commands()
        if path[0] not in _OPTIONS_ELSEWHERE
        for param in command.params
        if isinstance(param, click.Option)
        for opt in param.opts
        if opt.startswith("--") and opt != "--help" and opt not in table
    ]
    assert not missing, f"README's command table does not name: {missing}"
