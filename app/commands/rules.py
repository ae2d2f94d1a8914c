"""``holdtype rules``: replacement rules applied after the vocabulary."""

from __future__ import annotations

import unicodedata

import click

from app.commands import _common
from app.config import Rule
from app.errors import RuleError
from app.text.rules import quoted, unescape, validate_rule


@click.group()
def rules() -> None:
    """Manage replacement rules (whole word, case-insensitive; regex on request).

    Example: holdtype rules add "new line" "\\n"
    """


@rules.command("add")
@click.argument("find")
@click.argument("replace")
@click.option("--regex", "is_regex", is_flag=True, help="FIND is a regular expression.")
@click.option("--case-sensitive", is_flag=True, help="Match FIND's case exactly.")
def add(find: str, replace: str, is_regex: bool, case_sensitive: bool) -> None:
    """Add a rule: FIND becomes REPLACE. Example: holdtype rules add "pie pie" PyPI

    In a plain rule's REPLACE, \\n is a line break, \\t a tab and \\\\ one backslash (a
    Windows path: "C:\\\\new"); a regex rule's REPLACE is a template (\\1, \\g<name>).
    """
    if not find.strip():
        raise RuleError("a rule needs something to find")
    find = _spelled(find, is_regex)
    rule = Rule.model_construct(find=find, replace=replace, regex=is_regex, case_sensitive=case_sensitive)
    validate_rule(rule)  # the reason, in one line (Rule's own check says the same, as pydantic)
    rule = Rule.model_validate(rule.model_dump())
    with _common.editing() as current:
        rules, replaced = with_rule(current.rules, rule)
        new = current.model_copy(update={"rules": rules})
        _common.save(new)
    verb = "replaced" if replaced else "added"
    click.echo(f"{verb} rule {quoted(find)} -> {quoted(replace)}; {len(new.rules)} rule(s)")
    breaks = "" if is_regex else "".join(dict.fromkeys(c for c in unescape(replace) if c in "\n\t"))
    if breaks:  # "C:\new folder" would paste a line break: say so, at once
        what = " and ".join({"\n": "\\n inserts a line break", "\t": "\\t inserts a tab"}[c] for c in breaks)
        click.secho(
            f"note: in REPLACE, {what}; write \\\\ to keep a backslash",
            err=True,
            fg="bright_black",
        )


@rules.command("remove")
@click.argument("find")
@click.option("--regex/--plain", "is_regex", default=None, help="Only a regex rule / only a plain one.")
@click.option(
    "--case-sensitive/--ignore-case",
    "case_sensitive",
    default=None,
    help="Only a rule that matches case / not.",
)
def remove(find: str, is_regex: bool | None, case_sensitive: bool | None) -> None:
    """Remove the rule whose FIND is FIND: spelled exactly, else ignoring case, but for a regex
    or case-sensitive rule, which is matched as written (a pattern's case is part of what it
    finds). When several rules find it, --regex/--plain and --case-sensitive/--ignore-case say
    which.

    Example: holdtype rules remove "pie pie"
    """
    with _common.editing() as current:
        candidates = [
            i
            for i, r in enumerate(current.rules)
            if (is_regex is None or r.regex == is_regex)
            and (case_sensitive is None or r.case_sensitive == case_sensitive)
        ]
        exact = [
            i
            for i in candidates
            if _spelled(current.rules[i].find, current.rules[i].regex)
            == _spelled(find, bool(current.rules[i].regex))
        ]
        matched = exact or [i for i in candidates if _same_find(current.rules[i], find)]
        if not matched:
            raise RuleError(_none_finds(current.rules, candidates, find))
        if len(matched) > 1:
            listed = "; ".join(_shown(current.rules[i]) for i in matched)
            raise RuleError(
                f"{len(matched)} rules find {quoted(find)} ({listed}); say which with --regex or --plain, "
                "--case-sensitive or --ignore-case"
            )
        gone = current.rules[matched[0]]
        kept = [r for i, r in enumerate(current.rules) if i != matched[0]]
        _common.save(current.model_copy(update={"rules": kept}))
    click.echo(f"removed rule {_shown(gone)}; {len(kept)} rule(s)")


def _none_finds(rules: list[Rule], candidates: list[int], find: str) -> str:
    """Why no rule of ``candidates`` was taken for ``find``: naming the regex or case-sensitive
    rules it misses only by case, as "spelled exactly, else ignoring case" led one to expect
    `rules remove GONNA` to take the regex 'gonna'."""
    near = [
        rules[i]
        for i in candidates
        if _spelled(rules[i].find, rules[i].regex).casefold() == _spelled(find, rules[i].regex).casefold()
    ]
    if not near:
        return f"no rule finds {quoted(find)} (see `holdtype rules list`)"
    kinds = " or ".join(dict.fromkeys("a regex rule" if r.regex else "a case-sensitive rule" for r in near))
    listed = "; ".join(_shown(r) for r in near)
    return f"no rule finds {quoted(find)} ({kinds} is matched as written: {listed})"


def with_rule(rules: list[Rule], rule: Rule) -> tuple[list[Rule], bool]:
    """``rules`` with ``rule`` added at the end, or in the place of the rule that finds the same
    (rules apply in order, and the order is the user's); and whether it replaced one."""
    same = [i for i, r in enumerate(rules) if _same_rule(r, rule)]
    if not same:
        return [*rules, rule], False
    kept = [r for i, r in enumerate(rules) if i not in same[1:]]
    kept[same[0]] = rule
    return kept, True


def _spelled(find: str, regex: bool) -> str:
    """``find`` as rules compare it: composed accents, and single spaces unless a regex."""
    text = unicodedata.normalize("NFC", find)
    return text if regex else " ".join(text.split())


def _shown(rule: Rule, gap: str = " ") -> str:
    """A rule in one line, as `rules list` shows it (there with two spaces before the flags)."""
    flags = [name for name, on in (("regex", rule.regex), ("case-sensitive", rule.case_sensitive)) if on]
    return f"{quoted(rule.find)} -> {quoted(rule.replace)}" + (f"{gap}[{', '.join(flags)}]" if flags else "")


def _same_rule(rule: Rule, new: Rule) -> bool:
    """Whether ``new`` (being added) takes the place of ``rule``: of the same kind and case
    handling, finding the same text (ignoring case when neither matches case)."""
    if (rule.regex, rule.case_sensitive) != (new.regex, new.case_sensitive):
        return False
    return _same_find(rule, new.find)


def _same_find(rule: Rule, find: str) -> bool:
    """Whether ``rule`` finds what ``find`` does: the same text, but for case (a rule that
    ignores case), runs of spaces and how accents are composed; a regex rule the same pattern."""
    mine, theirs = _spelled(rule.find, rule.regex), _spelled(find, rule.regex)
    if rule.regex:
        return mine == theirs
    return mine == theirs if rule.case_sensitive else mine.casefold() == theirs.casefold()


@rules.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON list of rules.")
def list_rules(as_json: bool) -> None:
    """List the rules in the order they are applied."""
    current = _common.settings().rules
    if as_json:
        _common.echo_json([r.model_dump() for r in current])
        return
    if not current:
        _common.note_empty("No replacement rules; add one with `holdtype rules add FIND REPLACE`.")
    for r in current:
        click.echo(_shown(r, gap="  "))


@rules.command("test")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print raw, after vocabulary and after rules.")
def test(text: str, as_json: bool) -> None:
    """Show TEXT after the vocabulary and the rules. Example: holdtype rules test "sicket learn"

    TEXT is taken as typed: a dictation's text also gets a capital at its start, which this
    leaves out (what the vocabulary and the rules do shows alone).
    """
    from app.text.pipeline import TextPipeline

    pipeline = TextPipeline.from_settings(_common.settings())
    after_vocab = pipeline.apply_vocabulary(text)
    final = pipeline.apply(text)
    if as_json:
        _common.echo_json({"raw": text, "vocabulary": after_vocab, "final": final})
        return
    click.echo(final)
