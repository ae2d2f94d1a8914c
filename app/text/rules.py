r"""Replacement rules: ``find`` → ``replace``, applied in order after the vocabulary.

Plain rules match whole words, case-insensitively unless ``case_sensitive``; "whole word" also
works for finds that start or end with punctuation ("c++", ".net"): the find must not touch a
letter or digit on either side. Regex rules use the ``regex`` module with a time limit, so a
catastrophic pattern such as ``(a+)+$`` cannot hang dictation: on timeout the rule is skipped,
a warning is logged and the text is kept as it was.

A plain rule whose replacement is all lower case keeps the capital of a sentence's first word
("Gonna leave." with ``gonna`` -> ``going to`` is "Going to leave."; with ``um`` -> nothing,
"Um, so I think." is "So I think."). A rule that deletes a word takes a comma with it, or,
at a sentence's start, all the punctuation after it ("Um." alone leaves nothing to paste).

A replacement may break the line: ``\n`` in it is a line break and ``\t`` a tab, in plain
rules as in regex ones (``\\`` is a backslash), so ``holdtype rules add "new line" "\n"``
does what it says; such a rule also takes the punctuation Whisper wrote after the spoken
command ("new line." is one line break), and the word after it takes a capital.

A plain rule that writes sentence punctuation alone ("full stop" -> ".", "comma" -> ",") takes
the marks Whisper wrote around the spoken words ("Hello. Full stop. This" is "Hello. This"),
and after a full stop, "!" or "?" the next word takes a capital (not a term the user writes in
lower case, as npm). A phrase ending with "." may be an abbreviation ("e.g."): no capital.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import regex

from app.config import Rule
from app.errors import RuleError
from app.text.english import lower_inside_sentence
from app.textfile import is_hidden, visible

log = logging.getLogger(__name__)

#: Seconds one regex rule may spend on one text before it is skipped.
REGEX_TIMEOUT_S = 0.2


def validate_rule(rule: Rule) -> None:
    """Raise :class:`RuleError` naming the problem when ``rule`` cannot be used."""
    if not rule.find.strip():
        raise RuleError("a rule needs something to find")
    for what, text, allowed in (
        ("find", rule.find, "\t\n" if rule.regex else ""),
        ("replace", rule.replace, "\t\n"),
    ):
        # (an escape sequence typed or pasted in: `vocab add` refuses such terms; a rule took it
        # into every dictation, where the window it went to read it as a key)
        if any(is_hidden(c) and c not in allowed for c in text):
            raise RuleError(f"the rule's {what} {quoted(text)} holds a control character; leave it out")
    if rule.regex:
        try:
            pattern = regex.compile(rule.find, 0 if rule.case_sensitive else regex.IGNORECASE)
        except regex.error as exc:
            raise RuleError(f"invalid regular expression {quoted(rule.find)}: {exc}") from None
        except (RecursionError, OverflowError, MemoryError):  # groups nested hundreds deep
            raise RuleError(f"invalid regular expression {quoted(rule.find)}: nested too deeply") from None
        if _matches_nothing_inside_text(pattern):
            raise RuleError(
                f"{quoted(rule.find)} also matches no text at all, so the replacement would go between "
                "every two letters; make it match at least one character (for example + instead of *)"
            )
        try:
            _dummy_match(pattern).expand(rule.replace)
        except (regex.error, IndexError) as exc:
            what = f"{quoted(rule.replace)} for {quoted(rule.find)}"
            raise RuleError(f"invalid replacement {what}: {exc}") from None


def quoted(text: str) -> str:
    r"""``text`` in quotes as the user typed it (``repr`` doubled every backslash of a regex:
    ``\bum\b`` showed as ``\\bum\\b``); control characters as escapes, so a rule is one line.

    >>> print(quoted(r"\bum\b,?\s*"), quoted("it's"), quoted("a\tb"), quoted(""))
    '\bum\b,?\s*' "it's" 'a\tb' ''
    """
    mark = '"' if "'" in text and '"' not in text else "'"
    return mark + visible(text).replace(mark, "\\" + mark) + mark


def _matches_nothing_inside_text(pattern: regex.Pattern[str]) -> bool:
    """Whether ``pattern`` matches an empty string inside text: between two characters that
    are no letter or space, or inside or at the edges of words (``(?<=\\w)``, ``\\b``)."""
    inside = pattern.match("\0\0", 1)
    if inside is not None and not inside.group():
        return True
    probe = "ab cd"
    try:
        return any(
            not found.group() and 0 < found.start() < len(probe)
            for found in pattern.finditer(probe, timeout=0.1)
        )
    except TimeoutError:  # (a pattern that slow is stopped at dictation time, see apply)
        return False


def _dummy_match(pattern: regex.Pattern[str]) -> regex.Match[str]:
    """A match object with every group present, to check a replacement template's references."""
    names = {index: name for name, index in pattern.groupindex.items()}
    groups = "".join(f"(?P<{names[i]}>)" if i in names else "()" for i in range(1, pattern.groups + 1))
    dummy = regex.match(groups, "")
    assert dummy is not None
    return dummy


def _plain_pattern(rule: Rule, replacement: str) -> regex.Pattern[str]:
    """The whole-word pattern of a plain rule that inserts ``replacement``. A rule that breaks
    the line takes the punctuation Whisper wrote after the spoken command with it ("new line."
    is one line break), and one that deletes a word (an empty replacement) one comma."""
    find = regex.escape(rule.find.strip())
    # full case folding: "straße" finds "STRASSE", "istanbul" finds "İSTANBUL"
    flags = regex.V0 if rule.case_sensitive else regex.IGNORECASE | regex.FULLCASE
    word = rf"(?<![\w])(?P<find>{find})(?![\w])"
    if _is_punctuation(replacement):
        # A spoken mark takes the marks Whisper wrote around it, and the space before it:
        # "Hello. Full stop. This" is "Hello. This", "Is it? Question mark." is "Is it?".
        # (started only where a run of marks starts: tried at each mark of a long run, the
        # run was read to its end each time, and 20,000 dots took 51 s)
        return regex.compile(
            rf"(?<![.,;:!?…][ \t]*)(?P<before>(?:[ \t]*[.,;:!?…])*)[ \t]*{word}[.,;:!?…]*", flags
        )
    if "\n" in replacement and not replacement.strip():
        return regex.compile(rf"{word}[ \t]*[.,;:!?]*[ \t]*", flags)
    if not replacement:
        # At a sentence's start the word takes all the punctuation after it, so that a sentence
        # of nothing else goes ("Um. Hello." is "Hello.", "Um." is nothing). Elsewhere it takes
        # the comma after it, or else the one before it: "So, um, I" and "it, um." lose one.
        opening = r"(?<=(?:^|[.!?…\n])[ \t\"'“‘(\[]*)"
        return regex.compile(
            rf"{opening}{word}[ \t]*[.,;:!?…]*[ \t]*|{word},[ \t]*|(?:,[ \t]*)?{word}", flags
        )
    return regex.compile(word, flags)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its compiled pattern and the text it inserts (a plain rule's replacement
    with its escapes read, see :func:`unescape`; a regex rule's template)."""

    rule: Rule
    pattern: regex.Pattern[str]
    replacement: str

    def apply(self, text: str, keep: frozenset[str] = frozenset()) -> str:
        """Apply this rule to ``text``; on a regex timeout, log a warning and return ``text``.
        A word that becomes a sentence's first (the one before it removed) is capitalised,
        but for those in ``keep`` (see :func:`_capitalize_first`)."""
        if self.rule.regex:
            try:
                return self.pattern.sub(self.replacement, text, timeout=REGEX_TIMEOUT_S)
            except TimeoutError:
                log.warning(
                    "rule %r took longer than %.1f s and was skipped", self.rule.find, REGEX_TIMEOUT_S
                )
                return text
        replacement = self.replacement
        keep_capital = not self.rule.case_sensitive and replacement == replacement.lower()
        ends_sentence = _ends_sentence(replacement)
        mark = _is_punctuation(replacement)
        out: list[str] = []
        end = 0
        # A sentence's capitalised first word keeps its capital: "Gonna leave." with gonna ->
        # going to is "Going to leave."; with um -> "" (deleted), "Um, so I" is "So I" (the
        # capital waits for the next text kept).
        pending = False
        lower = False  # a mark inside a sentence went in: Whisper's capital after it goes
        try:
            found = list(self.pattern.finditer(text, timeout=REGEX_TIMEOUT_S))
        except TimeoutError:  # (a plain rule's own pattern, on a text it was never meant for)
            log.warning("rule %r took longer than %.1f s and was skipped", self.rule.find, REGEX_TIMEOUT_S)
            return text
        for m in found:
            gap = text[end : m.start()]
            if pending and gap.strip():
                gap, pending = _capitalize_first(gap, keep), False
            elif lower and gap.strip():
                gap, lower = _lower_first(gap), False
            out.append(gap)
            if mark and m.group("find")[:1].islower() and any(c in ".!?…" for c in m.group("before")):
                # no sentence ended there ("e.g. comma apples"): the full stop is an abbreviation's
                out.append(m.group("before").rstrip(" \t"))
            end = m.end()
            starts = pending or (m.group("find")[:1].isupper() and _starts_sentence(text, m.start("find")))
            if keep_capital and starts and replacement[:1].isalpha() and not _kept_lower(replacement, keep):
                out.append(replacement[0].upper() + replacement[1:])
                pending = False
            else:
                out.append(replacement)
                pending = keep_capital and starts and not replacement.strip()
            pending = pending or ends_sentence
            lower = mark and not ends_sentence
        tail = text[end:]
        out.append(_capitalize_first(tail, keep) if pending else _lower_first(tail) if lower else tail)
        return "".join(out)


def _capitalize_first(text: str, keep: frozenset[str] = frozenset()) -> str:
    """``text`` with its first non-blank character upper-cased when it is a lower-case letter,
    but for a word in ``keep`` (casefolded: the user's terms that start in lower case, as npm
    or pandas) and one with a capital inside (iPhone, macOS).

    >>> _capitalize_first(" so we go"), _capitalize_first(" npm works", frozenset({"npm"}))
    (' So we go', ' npm works')
    >>> _capitalize_first("iPhone sales")
    'iPhone sales'
    """
    stripped = text.lstrip()
    if not stripped[:1].islower():
        return text
    word = stripped.split(maxsplit=1)[0].rstrip(".,;:!?…\"'”’)]")
    if word.casefold() in keep or any(c.isupper() for c in word[1:]):
        return text
    at = len(text) - len(stripped)
    return text[:at] + text[at].upper() + text[at + 1 :]


def _lower_first(text: str) -> str:
    """``text`` with its first word in lower case when English writes it so inside a sentence
    (Whisper's capital after its own full stop, which a spoken comma took away).

    >>> _lower_first(" There is more."), _lower_first(" Bob is here.")
    (' there is more.', ' Bob is here.')
    """
    stripped = text.lstrip()
    at = len(text) - len(stripped)
    word = stripped.split(maxsplit=1)[0] if stripped else ""
    return text[:at] + lower_inside_sentence(word, "so,") + stripped[len(word) :]


def _is_punctuation(replacement: str) -> bool:
    """Whether a plain rule's replacement is sentence punctuation alone ("." for "full stop",
    "?" for "question mark"), which takes the punctuation Whisper wrote around the spoken words.

    >>> _is_punctuation(" . "), _is_punctuation("?!"), _is_punctuation(":)"), _is_punctuation("")
    (True, True, False, False)
    """
    marks = replacement.strip(" \t")
    return bool(marks) and all(c in ".,;:!?…" for c in marks)


def _ends_sentence(replacement: str) -> bool:
    """Whether the word after ``replacement`` starts a sentence, and so takes a capital: it is
    a full stop alone ("full stop" -> ".") or ends with ! ? or a line break ("new line"). A
    phrase ending with "." may be an abbreviation ("for example" -> "e.g."): no capital.

    >>> _ends_sentence("."), _ends_sentence("\\n"), _ends_sentence("Done!"), _ends_sentence("e.g.")
    (True, True, True, False)
    >>> _ends_sentence("..."), _ends_sentence(" ")
    (False, False)
    """
    end = replacement.rstrip(" \t")
    return end[-1:] in ("!", "?", "\n") or (_is_punctuation(end) and end[-1] == "." and end[-2:] != "..")


def _kept_lower(text: str, keep: frozenset[str]) -> bool:
    """Whether ``text``'s first word stays in lower case at a sentence's start (one of the
    user's terms that start in lower case: "npm", not "Npm").

    >>> _kept_lower("npm install", frozenset({"npm"})), _kept_lower("going to", frozenset({"npm"}))
    (True, False)
    """
    return _capitalize_first(text, keep) == text


def _starts_sentence(text: str, index: int) -> bool:
    """True when ``text[index]`` begins a sentence: the text's start, or after . ! ? or a line
    break (and any spaces, quotes or brackets)."""
    before = text[:index].rstrip(" \t\"'“‘([")
    return not before or before[-1] in ".!?\n"


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}


def unescape(replacement: str) -> str:
    r"""A plain rule's replacement as inserted: ``\n`` a line break, ``\t`` a tab, ``\\`` one
    backslash; any other backslash is kept as typed.

    >>> unescape(r"one\ntwo")
    'one\ntwo'
    >>> unescape(r"C:\Users")
    'C:\\Users'
    """
    return regex.sub(r"\\([nt\\])", lambda m: _ESCAPES[m.group(1)], replacement)


class RuleSet:
    """Compiled rules, applied in order."""

    def __init__(self, rules: list[CompiledRule], keep: frozenset[str] = frozenset()) -> None:
        self.rules = rules
        self.keep = keep  # words a rule never capitalises (see CompiledRule.apply)

    def __len__(self) -> int:
        return len(self.rules)

    def apply(self, text: str) -> str:
        """Apply every rule in order to ``text``."""
        for rule in self.rules:
            text = rule.apply(text, self.keep)
        return text


def compile_rules(rules: list[Rule], strict: bool = True, keep: frozenset[str] = frozenset()) -> RuleSet:
    """Validate and compile ``rules``; ``keep``: words they never capitalise (casefolded).

    With ``strict`` the first invalid rule raises :class:`RuleError`; without it, invalid rules
    are left out with a logged warning (dictation must not stop over a hand-edited rule).
    """
    compiled: list[CompiledRule] = []
    for rule in rules:
        try:
            validate_rule(rule)
        except RuleError as exc:
            if strict:
                raise
            log.warning("skipping rule: %s", exc)
            continue
        if rule.regex:
            flags = 0 if rule.case_sensitive else regex.IGNORECASE
            compiled.append(CompiledRule(rule, regex.compile(rule.find, flags), rule.replace))
        else:
            replacement = unescape(rule.replace)
            compiled.append(CompiledRule(rule, _plain_pattern(rule, replacement), replacement))
    return RuleSet(compiled, keep)
