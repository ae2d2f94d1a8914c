"""`holdtype run --no-tray` log lines: one per engine event, bounded in length."""

from __future__ import annotations

from app import events as ev
from app.commands.run import PARTIAL_TAIL_CHARS, describe, shown, tail


def test_a_short_partial_line_shows_all_the_text() -> None:
    line = describe(ev.PartialText(3, "Install NumPy and pandas", "from PyPI"))
    assert line == "partial #3: Install NumPy and pandas [from PyPI]"


def test_a_partial_line_with_nothing_committed_yet_has_one_space() -> None:
    assert describe(ev.PartialText(1, "", "Yes.")) == "partial #1: [Yes.]"  # it had two


def test_a_long_hold_partial_line_shows_only_the_end_of_the_committed_text() -> None:
    words = " ".join(f"word{i}" for i in range(2000))  # about five minutes of speech
    line = describe(ev.PartialText(7, words, "and the rest"))
    assert line.startswith("partial #7: …word")
    assert line.endswith("word1999 [and the rest]")
    assert len(line) < PARTIAL_TAIL_CHARS + 60
    shown = line.removeprefix("partial #7: …").removesuffix(" [and the rest]")
    assert words.endswith(" " + shown)  # cut at a word's start, never inside one


def test_tail_of_one_long_word_is_cut_inside_it() -> None:
    assert tail("x" * 300) == "…" + "x" * PARTIAL_TAIL_CHARS
    assert tail("") == ""


def test_a_result_line_says_only_what_is_true_of_it() -> None:
    """A recording read again (recovered, generation 0) was "result #0"; a dictation cancelled
    before its release was "in 49 ms after release"."""
    recovered = describe(ev.UtteranceResult(0, 12, "hi", "Hi.", ev.Outcome.RECOVERED, "raw", 1.0, None))
    assert recovered.startswith("result (recovered, mode raw, 1.0 s audio, history 12)")
    cancelled = describe(ev.UtteranceResult(4, 13, "no", "No.", ev.Outcome.CANCELLED, "raw", 0.8, 49.0))
    assert cancelled.startswith("result #4 (cancelled, mode raw, 0.8 s audio, history 13)")
    pasted = describe(ev.UtteranceResult(5, 14, "yes", "Yes.", ev.Outcome.PASTED, "raw", 0.9, 52.0))
    assert "0.9 s audio in 52 ms after release, history 14" in pasted


def test_a_result_not_in_history_says_so() -> None:
    """A result history did not take (a tap, silence, a held database) said "history None"."""
    empty = describe(ev.UtteranceResult(6, None, "", "", ev.Outcome.EMPTY, "raw", 4.9, 50.0))
    assert empty == "result #6 (empty, mode raw, 4.9 s audio in 50 ms after release, not in history): ''"
    assert "None" not in empty


def test_a_partial_with_no_words_is_not_shown() -> None:
    """A silent hold printed "partial #7: []" every second."""
    assert not shown(ev.PartialText(7, "", ""))
    assert not shown(ev.PartialText(7, "", " "))
    assert shown(ev.PartialText(7, "", "Yes."))
    assert shown(ev.PartialText(7, "Yes.", ""))
    assert shown(ev.UtteranceResult(6, None, "", "", ev.Outcome.EMPTY, "raw", 4.9, 50.0))
