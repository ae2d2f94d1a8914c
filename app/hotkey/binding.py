"""Hotkey bindings: parse, validate and format key names such as ``ctrl+alt+space``.

A binding is zero or more modifiers (``ctrl``, ``alt``, ``shift``, ``cmd``) plus one key. Key names
are pynput's ``Key`` names (``caps_lock``, ``f9``, ``alt_r``, ``space``...) or a single printable
character. Common spellings are accepted (``right_alt``, ``escape``, ``super``...) and stored in
canonical form. An unknown name is an error with a suggestion; it is never mapped silently.

This module imports no pynput (pynput needs a display at import time), so it can run anywhere.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.errors import HoldtypeError

if TYPE_CHECKING:
    from app.config import HotkeySettings


class BindingError(HoldtypeError):
    """A hotkey string cannot be parsed (unknown key name, two main keys, empty...)."""


#: Generic modifier names, in canonical order.
MODIFIERS: tuple[str, ...] = ("ctrl", "alt", "shift", "cmd")

#: pynput ``Key`` names that exist on every platform (the function keys are added below).
KEY_NAMES: frozenset[str] = frozenset(
    {
        "alt",
        "alt_l",
        "alt_r",
        "alt_gr",
        "backspace",
        "caps_lock",
        "cmd",
        "cmd_l",
        "cmd_r",
        "ctrl",
        "ctrl_l",
        "ctrl_r",
        "delete",
        "down",
        "end",
        "enter",
        "esc",
        "home",
        "left",
        "page_down",
        "page_up",
        "right",
        "shift",
        "shift_l",
        "shift_r",
        "space",
        "tab",
        "up",
        "insert",
        "menu",
        "num_lock",
        "pause",
        "print_screen",
        "scroll_lock",
        "media_play_pause",
        "media_volume_mute",
        "media_volume_down",
        "media_volume_up",
        "media_previous",
        "media_next",
    }
    | {f"f{n}" for n in range(1, 21)}
)

#: Other spellings people write, mapped to pynput names.
ALIASES: dict[str, str] = {
    "control": "ctrl", "ctl": "ctrl", "left_ctrl": "ctrl_l", "right_ctrl": "ctrl_r",
    "lctrl": "ctrl_l", "rctrl": "ctrl_r", "option": "alt", "opt": "alt", "left_alt": "alt_l",
    "right_alt": "alt_r", "lalt": "alt_l", "ralt": "alt_r", "altgr": "alt_gr", "alt_graph": "alt_gr",
    "super": "cmd", "win": "cmd", "windows": "cmd", "meta": "cmd", "command": "cmd",
    "left_super": "cmd_l", "right_super": "cmd_r", "left_cmd": "cmd_l", "right_cmd": "cmd_r",
    "left_shift": "shift_l", "right_shift": "shift_r", "lshift": "shift_l", "rshift": "shift_r",
    "escape": "esc", "return": "enter", "spacebar": "space", "capslock": "caps_lock",
    "caps": "caps_lock", "del": "delete", "ins": "insert", "pgup": "page_up", "pageup": "page_up",
    "pgdn": "page_down", "pagedown": "page_down", "prtsc": "print_screen", "print": "print_screen",
    "numlock": "num_lock", "scrolllock": "scroll_lock", "bksp": "backspace",
    "plus": "+", "minus": "-", "comma": ",", "period": ".", "slash": "/", "semicolon": ";",
    "apostrophe": "'", "grave": "`", "backslash": "\\", "bracketleft": "[", "bracketright": "]",
    "equal": "=",
}  # fmt: skip

#: Which generic modifier a modifier key belongs to.
MODIFIER_OF: dict[str, str] = {
    "ctrl": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrl",
    "alt": "alt", "alt_l": "alt", "alt_r": "alt", "alt_gr": "alt",
    "shift": "shift", "shift_l": "shift", "shift_r": "shift",
    "cmd": "cmd", "cmd_l": "cmd", "cmd_r": "cmd",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Binding:
    """A parsed hotkey: generic ``modifiers`` that must be held, and the main ``key``.

    ``key`` is a pynput ``Key`` name (``"caps_lock"``) or one lower-case character (``"d"``).
    """

    modifiers: frozenset[str]
    key: str

    def __str__(self) -> str:
        return format_binding(self)

    @property
    def is_char(self) -> bool:
        """True when the main key is a single character rather than a named key."""
        return len(self.key) == 1


def _normalise_name(token: str, spec: str) -> str:
    """Return the canonical name of one ``+``-separated token, or raise :class:`BindingError`."""
    if len(token) == 1:
        if not token.isprintable() or token.isspace():
            raise BindingError(f"hotkey {spec!r}: {token!r} is not a key (use 'space', 'tab'...)")
        return token.lower()
    name = token.strip().lower().replace("-", "_").replace(" ", "_")
    name = ALIASES.get(name, name)
    if name in KEY_NAMES or len(name) == 1:
        return name
    choices = sorted(KEY_NAMES | set(ALIASES))
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    hint = f"; did you mean {ALIASES.get(close[0], close[0])!r}?" if close else ""
    raise BindingError(f"hotkey {spec!r}: unknown key {token!r}{hint}")


def _split(spec: str) -> list[str]:
    """Split ``spec`` on ``+``, keeping a literal ``+`` key (``ctrl++``)."""
    text = spec.strip()
    if text == "+":
        return ["+"]
    tail_plus = text.endswith("++")
    if tail_plus:
        text = text[:-2]
    parts = [p.strip() for p in text.split("+")]
    if tail_plus:
        parts.append("+")
    return parts


def parse_binding(spec: str) -> Binding:
    """Parse a hotkey such as ``"caps_lock"``, ``"f9"``, ``"ctrl+alt+space"`` or ``"right_alt"``.

    Every token but the last must be a modifier; the last is the main key (which may itself be a
    modifier key, e.g. ``"right_alt"`` or ``"ctrl+shift_r"``). Raises :class:`BindingError` for an
    empty string, an unknown name (with a suggestion), a repeated modifier or two main keys.
    """
    if not spec or not spec.strip():
        raise BindingError("hotkey is empty (for example: caps_lock, f9, ctrl+alt+space)")
    tokens = _split(spec)
    if any(t == "" for t in tokens):
        raise BindingError(f"hotkey {spec!r}: empty key name between '+' signs")
    names = [_normalise_name(t, spec) for t in tokens]
    *mods, key = names
    modifiers: set[str] = set()
    for name in mods:
        generic = MODIFIER_OF.get(name)
        if generic is None:
            raise BindingError(
                f"hotkey {spec!r}: {name!r} is not a modifier; only the last key may be a normal key "
                f"(modifiers: {', '.join(MODIFIERS)})"
            )
        if generic in modifiers:
            raise BindingError(f"hotkey {spec!r}: modifier {generic!r} is given twice")
        modifiers.add(generic)
    own = MODIFIER_OF.get(key)
    if own is not None and own in modifiers:
        raise BindingError(f"hotkey {spec!r}: {key!r} is both a modifier and the key")
    return Binding(frozenset(modifiers), key)


def format_binding(binding: Binding) -> str:
    """Return the canonical string of ``binding`` (modifiers in ctrl, alt, shift, cmd order)."""
    mods = [m for m in MODIFIERS if m in binding.modifiers]
    key = binding.key
    return "+".join([*mods, key])


# Keys Holdtype presses itself to insert text (xdotool key ctrl+v / ctrl+shift+v, and the left
# Shift for capitals when it types): bound, each paste would start a dictation of its own
# (with ctrl+v, auto-repeat pasted the clipboard some fifty times).
PASTE_KEYS = frozenset(
    {"ctrl", "ctrl_l", "shift", "shift_l", "ctrl+v", "ctrl+shift+v", "shift+insert", "cmd+v"}
)
# The modifiers each of those presses holds together, all on the left (xdotool's Control_L and
# Shift_L; macOS's Command): a hotkey made of some of them alone is pressed by a paste too.
_PASTE_CHORDS: tuple[frozenset[str], ...] = (
    frozenset({"ctrl"}),
    frozenset({"ctrl", "shift"}),
    frozenset({"shift"}),
    frozenset({"cmd"}),
)


def pressed_by_paste(binding: Binding) -> bool:
    """Whether Holdtype's own paste (or typing's Shift) presses every key of ``binding``: a
    hotkey of modifiers alone, all among one paste's, its main key not a right-hand one.
    ``ctrl+shift`` was taken, and each paste into a terminal (ctrl+shift+v) started a
    dictation: in toggle mode, one that never ended.

    >>> pressed_by_paste(parse_binding("shift+ctrl")), pressed_by_paste(parse_binding("ctrl+shift_l"))
    (True, True)
    >>> pressed_by_paste(parse_binding("ctrl+shift_r")), pressed_by_paste(parse_binding("ctrl+alt"))
    (False, False)
    """
    generic = MODIFIER_OF.get(binding.key)
    if generic is None or binding.key.endswith("_r"):
        return False
    held = binding.modifiers | {generic}
    return any(held <= chord for chord in _PASTE_CHORDS)


# The editing shortcuts every app shares: a dictation hotkey is taken from the apps (grabbed on
# X11), so bound, copy, cut, undo or select all would stop working everywhere.
EDITING_KEYS = {
    f"{mod}+{key}": what
    for mod in ("ctrl", "cmd")
    for key, what in (("c", "copies"), ("x", "cuts"), ("z", "undoes"), ("a", "selects all"))
}


def same_key(a: str, b: str) -> bool:
    """Whether main keys ``a`` and ``b`` (canonical names) can be one key press: the same name,
    AltGr and the right Alt (one key on many layouts), or a generic modifier and one side of it.

    >>> same_key("alt_r", "alt_gr"), same_key("ctrl", "ctrl_r"), same_key("ctrl_l", "ctrl_r")
    (True, True, False)
    """
    if a == b or {a, b} == {"alt_r", "alt_gr"}:
        return True
    return (a in MODIFIERS and MODIFIER_OF.get(b) == a) or (b in MODIFIERS and MODIFIER_OF.get(a) == b)


def shadowed(binding: str, by: str) -> bool:
    """Whether every press of ``binding`` is also one of ``by`` (its key, with at least its
    modifiers held): the listener, which looks at ``by`` first (the cancel key), takes it.

    >>> shadowed("shift+esc", "esc"), shadowed("esc", "shift+esc"), shadowed("alt_gr", "alt_r")
    (True, False, True)
    """
    pressed, other = parse_binding(binding), parse_binding(by)
    return same_key(pressed.key, other.key) and other.modifiers <= pressed.modifiers


def canonical(spec: str) -> str:
    """Parse ``spec`` and return its canonical form (what settings should store)."""
    return format_binding(parse_binding(spec))


#: Keys pynput's macOS backend has no name for (its ``Key`` lacks them): never heard there.
NOT_ON_MACOS = frozenset({"insert", "menu", "num_lock", "pause", "print_screen", "scroll_lock"})


def check_hotkey(
    key: str, hotkey: HotkeySettings, platform: str | None = None
) -> tuple[str | None, str | None]:
    """Check a dictation hotkey against the other keys of ``hotkey`` (the cancel key, the mode
    keys) and against typing: return (canonical key, None), or (None, the problem). A letter,
    Enter, Tab, Backspace or Space alone is refused: holding it would take it from typing,
    and on macOS (``platform``, this one's by default) a key it does not report.
    """
    try:
        key = canonical(key)
    except BindingError as exc:
        return None, str(exc)
    try:
        cancel = canonical(hotkey.cancel_key)
    except BindingError:
        cancel = hotkey.cancel_key
    if key == cancel:
        return None, f"{key} is the cancel key; pick another key (or change the cancel key first)"
    with contextlib.suppress(BindingError):
        if shadowed(key, cancel):
            return None, f"pressing {key} also presses the cancel key ({cancel}); pick another key"
    for other, mode in hotkey.mode_keys.items():
        try:
            other = canonical(other)
        except BindingError:
            continue
        if other == key or (shadowed(key, other) and shadowed(other, key)):
            return None, f"{key} already starts the '{mode}' mode (Modes tab, hotkey.mode_keys)"
    if key in PASTE_KEYS or pressed_by_paste(parse_binding(key)):
        return None, (
            f"Holdtype presses {key} itself to insert text (ctrl+v, ctrl+shift+v or shift+insert "
            "in terminals, cmd+v on macOS, shift when typing), so each paste would start a "
            "dictation; pick another key (ctrl_r, F9, Caps Lock…)"
        )
    if key in EDITING_KEYS:
        return None, (
            f"{key} {EDITING_KEYS[key]} in every app, and a hotkey is taken from the apps: it "
            "would stop doing so; pick another key (ctrl_r, F9, Caps Lock…)"
        )
    binding = parse_binding(key)  # not key.split("+"): "+" alone is one key, not two parts
    if (platform or sys.platform) == "darwin" and binding.key in NOT_ON_MACOS:
        return None, (
            f"macOS has no {describe_hotkey(binding.key)} key that apps can watch; pick another key "
            "(alt_r, F13, Caps Lock…)"
        )
    if not binding.modifiers and binding.is_char:
        return None, f"'{key}' alone would stop you typing it; add a modifier (e.g. ctrl+alt+{key})"
    if not binding.modifiers and binding.key in {"enter", "tab", "backspace", "space"}:
        return None, f"'{key}' alone is needed for typing; add a modifier or choose F9, Caps Lock…"
    return key, None


def check_cancel_key(key: str) -> str | None:
    """What is wrong with ``key`` as the cancel key (``hotkey.cancel_key``), or None. It is
    taken from the apps while a dictation records, waits for its text or is inserted: a key
    typing needs would cancel a dictation as the user types on, and one Holdtype presses to
    insert text would cancel its own paste.

    >>> check_cancel_key("esc") is None, check_cancel_key("ctrl+alt+c") is None
    (True, True)
    >>> check_cancel_key("space")
    "'space' alone is needed for typing; keep esc, or add a modifier"
    """
    try:
        key = canonical(key)
    except BindingError as exc:
        return str(exc)
    if key in PASTE_KEYS or pressed_by_paste(parse_binding(key)):
        return f"Holdtype presses {key} itself to insert text, so each paste would cancel itself; keep esc"
    binding = parse_binding(key)
    if not binding.modifiers and (binding.is_char or binding.key in {"enter", "tab", "backspace", "space"}):
        return f"'{key}' alone is needed for typing; keep esc, or add a modifier"
    return None


def describe_hotkey(key: str) -> str:
    """Return a human form of a binding such as ``caps_lock`` → ``Caps Lock``.

    A letter is shown in capitals, as keyboards and menus show shortcuts (Shift is not meant).

    >>> describe_hotkey("ctrl+alt+space"), describe_hotkey("ctrl+alt+c"), describe_hotkey("alt+/")
    ('Ctrl+Alt+Space', 'Ctrl+Alt+C', 'Alt+/')
    """
    with contextlib.suppress(BindingError):  # an invalid key is shown as written
        key = canonical(key)
    parts = key.split("+")
    return "+".join(part.upper() if len(part) == 1 else part.replace("_", " ").title() for part in parts)
