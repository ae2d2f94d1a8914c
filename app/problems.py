"""What does not work now (no microphone, no hotkey), part by part: said at each ready, and
in the answer to a settings change, until it works again."""

from __future__ import annotations


class Problems:
    """The parts of the engine that do not work, each with why, in a sentence."""

    def __init__(self) -> None:
        """Start with every part working."""
        self._by_part: dict[str, str] = {}  # part ("audio", "hotkey") -> why it is not working
        self._failed_now: list[str] = []  # those that failed since :meth:`count_from_now`

    def fail(self, part: str, message: str) -> None:
        """Remember that ``part`` does not work, and that it failed just now."""
        self._by_part[part] = message
        self._failed_now.append(message)

    def keep(self, part: str, message: str) -> None:
        """Remember that ``part`` does not work (a state found, not an attempt that failed)."""
        self._by_part[part] = message

    def clear(self, part: str) -> None:
        """``part`` works (again)."""
        self._by_part.pop(part, None)

    def now(self) -> tuple[str, ...]:
        """Every part's problem, in the order they were found."""
        return tuple(self._by_part.values())

    def count_from_now(self) -> None:
        """Forget which parts failed just now (a settings change begins)."""
        self._failed_now = []

    def failed_now(self) -> list[str]:
        """The problems of the attempts made since :meth:`count_from_now`."""
        return list(self._failed_now)
