"""The hold / toggle / minimum-tap / auto-repeat decision, table-driven."""

from __future__ import annotations

import pytest

from app.hotkey.gesture import Action, Gesture

N, START, STOP, DISCARD = Action.NONE, Action.START, Action.STOP, Action.DISCARD

# (case, mode, events as (kind, time), expected actions). kind: "p" press, "r" release, "c" cancel.
CASES = [
    ("hold: press starts, release stops", "hold", [("p", 0.0), ("r", 1.0)], [START, STOP]),
    ("hold: short tap discarded", "hold", [("p", 0.0), ("r", 0.1)], [START, DISCARD]),
    ("hold: exactly the minimum counts", "hold", [("p", 0.0), ("r", 0.25)], [START, STOP]),
    (
        "hold: auto-repeat presses do not restart",
        "hold",
        [("p", 0.0), ("p", 0.5), ("p", 0.55), ("p", 0.6), ("r", 2.0)],
        [START, N, N, N, STOP],
    ),
    ("hold: release without press ignored", "hold", [("r", 0.0), ("p", 1.0), ("r", 2.0)], [N, START, STOP]),
    (
        "hold: two utterances in a row",
        "hold",
        [("p", 0.0), ("r", 1.0), ("p", 2.0), ("r", 3.0)],
        [START, STOP, START, STOP],
    ),
    (
        "hold: cancel while held, release does nothing",
        "hold",
        [("p", 0.0), ("c", 0.5), ("r", 1.0), ("p", 2.0), ("r", 3.0)],
        [START, True, N, START, STOP],
    ),
    ("hold: cancel while idle", "hold", [("c", 0.0), ("p", 1.0), ("r", 2.0)], [False, START, STOP]),
    (
        "toggle: press starts, next press stops, releases nothing",
        "toggle",
        [("p", 0.0), ("r", 0.1), ("p", 3.0), ("r", 3.1)],
        [START, N, STOP, N],
    ),
    (
        "toggle: auto-repeat while the starting press is held",
        "toggle",
        [("p", 0.0), ("p", 0.5), ("p", 0.6), ("r", 0.7), ("p", 3.0), ("p", 3.5), ("r", 3.6)],
        [START, N, N, N, STOP, N, N],
    ),
    (
        "toggle: double tap below the minimum is discarded",
        "toggle",
        [("p", 0.0), ("r", 0.05), ("p", 0.1), ("r", 0.15)],
        [START, N, DISCARD, N],
    ),
    (
        "toggle: cancel, then the next press starts again",
        "toggle",
        [("p", 0.0), ("r", 0.1), ("c", 1.0), ("p", 2.0), ("r", 2.1), ("p", 4.0)],
        [START, N, True, START, N, STOP],
    ),
]


@pytest.mark.parametrize(("case", "mode", "events", "expected"), CASES, ids=[c[0] for c in CASES])
def test_gesture_table(case: str, mode: str, events: list[tuple[str, float]], expected: list[object]) -> None:
    gesture = Gesture(mode, 0.25)  # type: ignore[arg-type]
    got: list[object] = []
    for kind, t in events:
        if kind == "p":
            got.append(gesture.on_press(t))
        elif kind == "r":
            got.append(gesture.on_release(t))
        else:
            got.append(gesture.cancel())
    assert got == expected


def test_reset_forgets_an_active_toggle() -> None:
    gesture = Gesture("toggle", 0.25)
    assert gesture.on_press(0.0) is START
    gesture.on_release(0.1)
    gesture.reset()  # the engine hit max_record_s and stopped by itself
    assert not gesture.active
    assert gesture.on_press(5.0) is START


def test_zero_minimum_never_discards() -> None:
    gesture = Gesture("hold", 0.0)
    assert [gesture.on_press(1.0), gesture.on_release(1.0)] == [START, STOP]


@pytest.mark.parametrize(("mode", "min_hold"), [("push", 0.25), ("hold", -1.0)])
def test_bad_arguments(mode: str, min_hold: float) -> None:
    with pytest.raises(ValueError):
        Gesture(mode, min_hold)  # type: ignore[arg-type]
