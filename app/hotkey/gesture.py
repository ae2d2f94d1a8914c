"""The hold / toggle / minimum-tap / auto-repeat decision, as a pure state machine.

One :class:`Gesture` follows one hotkey. It is fed key presses and releases with their times and
answers what the engine should do. It knows nothing of pynput, threads or clocks, so it is tested
with a table of cases.

Hold mode: press starts, release stops; a hold shorter than ``min_hold_s`` is discarded.
Toggle mode: a press starts, the next press stops; a recording shorter than ``min_hold_s`` (a
double tap) is discarded; releases do nothing. In both modes repeated presses without a release
(key auto-repeat) do nothing, and a release without a press is ignored.
"""

from __future__ import annotations

import enum
import sys
from typing import Literal


class Action(str, enum.Enum):
    """What a key event means for the recording."""

    NONE = "none"
    START = "start"
    STOP = "stop"
    DISCARD = "discard"


def mode_for_key(
    key: str, mode: Literal["hold", "toggle"], platform: str | None = None
) -> Literal["hold", "toggle"]:
    """The mode the hotkey ``key`` (``caps_lock``, ``ctrl+caps_lock``) really works in, given
    ``hotkey.mode``.

    macOS tells of Caps Lock only when its lock turns on or off, as a press and a release at
    once (pynput makes up both): held, it would never start a dictation. There Caps Lock
    starts one at a press and stops it at the next, and the lock ends as it was.

    >>> mode_for_key("caps_lock", "hold", "darwin"), mode_for_key("caps_lock", "hold", "linux")
    ('toggle', 'hold')
    >>> mode_for_key("ctrl+caps_lock", "hold", "darwin"), mode_for_key("f9", "hold", "darwin")
    ('toggle', 'hold')
    """
    if (platform or sys.platform) != "darwin":
        return mode
    from app.hotkey.binding import BindingError, parse_binding

    try:
        main = parse_binding(key).key
    except BindingError:
        return mode
    return "toggle" if main == "caps_lock" else mode


class Gesture:
    """The state of one hotkey: whether the key is down and whether a recording is active."""

    def __init__(self, mode: Literal["hold", "toggle"], min_hold_s: float) -> None:
        if mode not in ("hold", "toggle"):
            raise ValueError(f"unknown hotkey mode {mode!r} (hold or toggle)")
        if min_hold_s < 0:
            raise ValueError("min_hold_s must not be negative")
        self.mode = mode
        self.min_hold_s = min_hold_s
        self._down = False
        self._active = False
        self._started_at = 0.0

    @property
    def active(self) -> bool:
        """True while a recording started by this gesture is running."""
        return self._active

    @property
    def down(self) -> bool:
        """True while the key is held."""
        return self._down

    def on_press(self, t: float) -> Action:
        """The key went down at time ``t`` (seconds, any monotonic clock)."""
        if self._down:  # auto-repeat, or a lost release: never restart
            return Action.NONE
        self._down = True
        if not self._active:
            self._active = True
            self._started_at = t
            return Action.START
        if self.mode == "toggle":
            return self._finish(t)
        return Action.NONE  # hold mode, active without the key down: cannot happen via this API

    def on_release(self, t: float) -> Action:
        """The key went up at time ``t``."""
        if not self._down:
            return Action.NONE
        self._down = False
        if self.mode == "hold" and self._active:
            return self._finish(t)
        return Action.NONE

    def cancel(self) -> bool:
        """Cancel the active recording (Esc). Returns whether one was active.

        In hold mode the key's later release is then ignored.
        """
        was = self._active
        self._active = False
        return was

    def reset(self) -> None:
        """Forget any active recording (the engine stopped it by itself); the key state stays."""
        self._active = False

    def _finish(self, t: float) -> Action:
        self._active = False
        return Action.DISCARD if t - self._started_at < self.min_hold_s else Action.STOP
