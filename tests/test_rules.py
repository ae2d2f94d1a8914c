"""Replacement rules: whole words, case, regex, invalid patterns and the regex time limit."""

from __future__ import annotations

import logging

import pytest

from app.config import Rule
from app.errors import RuleError
from app.text.rules import compile_rules, validate_rule


@pytest.mark.parametrize(
    ("rules", "text", "expected"),
    [
        ([Rule(find="teh", replace="the")], "teh cat", "the cat"),
        # full case folding, as history search does
        ([Rule(find="straße", replace="Main Street")], "Go down STRASSE now", "Go down Main Street now"),
        ([Rule(find="istanbul", replace="Istanbul, Türkiye")], "İSTANBUL it is", "Istanbul, Türkiye it is"),
        ([Rule(find="teh", replace="the")], "Teh cat and TEH dog", "The cat and the dog"),
        ([Rule(find="teh", replace="the")], "so Teh cat. Teh end", "so the cat. The end"),
        ([Rule(find="gonna", replace="going to")], 'Ok. "Gonna go," he said', 'Ok. "Going to go," he said'),
        ([Rule(find="Gonna", replace="going to", case_sensitive=True)], "Gonna go", "going to go"),
        ([Rule(find="cat", replace="dog")], "concatenate the cat", "concatenate the dog"),
        ([Rule(find="cat", replace="dog")], "cats and cat.", "cats and dog."),
        ([Rule(find="c++", replace="C++")], "I write c++ daily", "I write C++ daily"),
        ([Rule(find="c++", replace="C++")], "abc++ is not it", "abc++ is not it"),
        ([Rule(find=".net", replace=".NET")], "we use .net, too", "we use .NET, too"),
        ([Rule(find="new line", replace="\\n")], "one new line two", "one \nTwo"),  # a new line's capital
        # a spoken mark: the marks Whisper wrote around it go, and the next sentence takes a capital
        ([Rule(find="full stop", replace=".")], "Hello full stop this is it", "Hello. This is it"),
        ([Rule(find="full stop", replace=".")], "Hello. Full stop. This is it.", "Hello. This is it."),
        ([Rule(find="question mark", replace="?")], "Is it? Question mark. yes", "Is it? Yes"),
        ([Rule(find="comma", replace=",")], "Hello, comma, and so comma we", "Hello, and so, we"),
        ([Rule(find="comma", replace=",")], "Hello. Comma. There is more.", "Hello, there is more."),
        ([Rule(find="comma", replace=",")], "Take e.g. comma apples", "Take e.g., apples"),
        ([Rule(find="smiley", replace=":)")], "Great, smiley. bye", "Great, :). bye"),  # not a mark
        ([Rule(find="for example", replace="e.g.")], "use for example pandas", "use e.g. pandas"),
        ([Rule(find="dot dot dot", replace="...")], "so dot dot dot maybe", "so... maybe"),
        ([Rule(find="new line", replace="\\n")], "Dear Ann, new line. Thanks", "Dear Ann, \nThanks"),
        ([Rule(find="um", replace="")], "So, um, I think, um.", "So, I think."),
        ([Rule(find="um", replace="")], "Um, so I think.", "So I think."),
        ([Rule(find="um", replace="")], "Um, um, so I think.", "So I think."),
        ([Rule(find="um", replace="")], "Um.", ""),  # nothing left to paste, not "."
        ([Rule(find="um", replace=""), Rule(find="uh", replace="")], "Um, uh?", ""),
        ([Rule(find="um", replace="")], "Hello. Um. Bye.", "Hello. Bye."),
        ([Rule(find="uh", replace="")], "Uh... I think so.", "I think so."),
        ([Rule(find="um", replace="")], "Hello.\nUm, next.", "Hello.\nNext."),
        ([Rule(find="um", replace="")], "I think so, um...", "I think so..."),
        ([Rule(find="tab", replace="\\t")], "a tab b", "a \t b"),
        ([Rule(find="my folder", replace="C:\\Users\\me")], "in my folder", "in C:\\Users\\me"),
        ([Rule(find="Bob", replace="Robert", case_sensitive=True)], "Bob and bob", "Robert and bob"),
        ([Rule(find=r"(\d+) percent", replace=r"\1%", regex=True)], "50 percent off", "50% off"),
        ([Rule(find=r"\bum+\b,? ?", replace="", regex=True)], "so um, I think", "so I think"),
        (
            [Rule(find="pie pie", replace="PyPI"), Rule(find="PyPI", replace="the index")],
            "from pie pie",
            "from the index",
        ),
        ([Rule(find="dog", replace="cat")], "the hotdog stand", "the hotdog stand"),
        ([], "nothing changes", "nothing changes"),
    ],
)
def test_rules_apply(rules: list[Rule], text: str, expected: str) -> None:
    assert compile_rules(rules).apply(text) == expected


def test_a_plain_rule_with_a_control_character_is_refused_but_a_line_break_inserted_is_not() -> None:
    with pytest.raises(ValueError, match="control character"):
        Rule(find="a\x1bb", replace="x")
    assert Rule(find="new line", replace="\n").replace == "\n"


@pytest.mark.parametrize(
    ("find", "replace", "reason"),
    [
        ("(unclosed", "x", "invalid regular expression"),
        ("[a-", "x", "invalid"),
        ("(a)", r"\2", "no such group"),
        ("a*", "x", "between every two letters"),  # would write "xhxexlxlxox" for "hello"
        ("(um)?", "", "matches no text"),
        (r"(?<=\w)", "-", "matches no text"),  # "hello" became "h-e-l-l-o-"
        (r"(?=\w)", "-", "matches no text"),
        (r"\b", "-", "matches no text"),
        ("(?:" * 200 + "a" + ")" * 200, "x", "nested too deeply"),  # a RecursionError traceback
        # From a review: an escape sequence pasted into a rule went into every dictation.
        ("um\x1b", "x", "find .* holds a control character"),
        ("um", "x\x07", "control character"),
    ],
)
def test_invalid_regex_is_refused_with_the_reason(find: str, replace: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):  # the settings refuse it (a file, the window)
        Rule(find=find, replace=replace, regex=True)
    rule = Rule.model_construct(find=find, replace=replace, regex=True, case_sensitive=False)
    with pytest.raises(RuleError, match=reason):
        validate_rule(rule)
    with pytest.raises(RuleError):
        compile_rules([rule])


@pytest.mark.parametrize(("find", "text", "expected"), [("^", "hello", "> hello"), ("$", "hello", "hello >")])
def test_a_regex_that_matches_nothing_at_the_edges_of_the_text_is_a_rule(
    find: str, text: str, expected: str
) -> None:
    replace = "> " if find == "^" else " >"
    assert compile_rules([Rule(find=find, replace=replace, regex=True)]).apply(text) == expected


def test_plain_rule_with_regex_characters_is_literal() -> None:
    assert compile_rules([Rule(find="(a)", replace="A")]).apply("x (a) y") == "x A y"


@pytest.mark.timeout(60)
def test_catastrophic_regex_is_stopped_and_text_kept(caplog: pytest.LogCaptureFixture) -> None:
    rules = compile_rules([Rule(find=r"(a|aa)+$", replace="X", regex=True), Rule(find="b", replace="B")])
    text = "a" * 60 + "!b"
    with caplog.at_level(logging.WARNING, logger="app.text.rules"):
        result = rules.apply(text)
    # The slow rule was skipped, the later rule still ran.
    assert result == "a" * 60 + "!B"
    assert any("skipped" in r.getMessage() for r in caplog.records)


def test_pipeline_skips_an_invalid_rule_instead_of_failing() -> None:
    from app.config import VocabularySettings
    from app.text.pipeline import TextPipeline

    broken = Rule.model_construct(find="(broken", replace="x", regex=True, case_sensitive=False)
    rules = [broken, Rule(find="teh", replace="the")]  # settings built without their checks
    pipeline = TextPipeline(VocabularySettings(), rules)
    assert len(pipeline.rules) == 1
    assert pipeline.apply("  teh   end ") == "the end"


def test_a_rule_that_writes_a_lower_case_term_keeps_it_lower_case_at_a_sentence_start() -> None:
    """The pipeline keeps the user's lower-case terms (npm, kubectl) lower-case at a sentence's
    start, but a rule writing one in place of a capitalised first word wrote "Npm"."""
    from app.config import VocabularySettings
    from app.text.pipeline import TextPipeline

    pipeline = TextPipeline(
        VocabularySettings(terms=["npm", "kubectl"]),
        [Rule(find="node package manager", replace="npm"), Rule(find="gonna", replace="going to")],
    )
    assert pipeline.polish("Node package manager is great.") == "npm is great."
    assert pipeline.polish("Gonna ship. Node package manager works.") == "Going to ship. npm works."

    spoken = TextPipeline(VocabularySettings(terms=["npm"]), [Rule(find="full stop", replace=".")])
    assert spoken.polish("Done full stop npm is next full stop so") == "Done. npm is next. So"
