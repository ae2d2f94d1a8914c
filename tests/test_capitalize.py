"""A transcript Whisper started in lower case gets a capital; terms and typed text keep theirs."""

from __future__ import annotations

import pytest

from app.config import Rule, VocabularySettings
from app.text.pipeline import TextPipeline, capitalize_start


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("run the test matrix with tox.", "Run the test matrix with tox."),
        ("i think so", "I think so"),
        ("don't push to main", "Don't push to main"),
        ('"hello" first', '"Hello" first'),
        ("Already capital", "Already capital"),
        ("3 replicas are up", "3 replicas are up"),
        ("", ""),
        # Names Whisper writes in lower case on purpose: rare capitalised, left alone.
        ("npm install runs", "npm install runs"),
        ("sudo apt update", "sudo apt update"),
        ("kubectl get pods", "kubectl get pods"),
        ("iPhone sync", "iPhone sync"),
    ],
)
def test_capitalize_start(text: str, expected: str) -> None:
    assert capitalize_start(text) == expected


def test_capitalize_start_keeps_the_words_it_is_told_to() -> None:
    assert capitalize_start("git is fast") == "Git is fast"
    assert capitalize_start("git is fast", frozenset({"git"})) == "git is fast"


def _pipeline(terms: list[str], rules: list[Rule] | None = None) -> TextPipeline:
    return TextPipeline(VocabularySettings(terms=terms), rules or [])


def test_polish_capitalises_but_a_term_keeps_its_spelling() -> None:
    pipeline = _pipeline(["uv", "git", "scikit-learn"])
    assert pipeline.polish("use uv to create the environment.") == "Use uv to create the environment."
    assert pipeline.polish("uv creates the environment.") == "uv creates the environment."
    assert pipeline.polish("git stores it.") == "git stores it."
    # Capitalised first, then the vocabulary writes the term as the user spelled it.
    assert pipeline.polish("psychic learn has it.") == "scikit-learn has it."


def test_polish_runs_the_rules_after_the_capital() -> None:
    """The rule still matches the capitalised word, and its lower-case replacement keeps the
    sentence's capital; typed text in lower case stays so."""
    pipeline = _pipeline([], [Rule(find="hello", replace="hi there")])
    assert pipeline.polish("hello team") == "Hi there team"
    assert pipeline.apply("hello team") == "hi there team"
