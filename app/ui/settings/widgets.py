"""Small widgets the tabs share: the hotkey capture field, a level meter, a typed-in combo box."""

from __future__ import annotations

import html
import math
import re
import sys

from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QValidator,
)
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDoubleSpinBox,
    QLabel,
    QLayout,
    QLineEdit,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.hotkey.binding import describe_hotkey

# Qt key -> pynput key name (what parse_binding reads)
_QT_KEYS: dict[int, str] = {
    Qt.Key.Key_CapsLock: "caps_lock",
    Qt.Key.Key_Space: "space",
    Qt.Key.Key_Escape: "esc",
    Qt.Key.Key_Tab: "tab",
    Qt.Key.Key_Backtab: "tab",
    Qt.Key.Key_Return: "enter",
    Qt.Key.Key_Enter: "enter",
    Qt.Key.Key_Backspace: "backspace",
    Qt.Key.Key_Insert: "insert",
    Qt.Key.Key_Delete: "delete",
    Qt.Key.Key_Home: "home",
    Qt.Key.Key_End: "end",
    Qt.Key.Key_PageUp: "page_up",
    Qt.Key.Key_PageDown: "page_down",
    Qt.Key.Key_Up: "up",
    Qt.Key.Key_Down: "down",
    Qt.Key.Key_Left: "left",
    Qt.Key.Key_Right: "right",
    Qt.Key.Key_Pause: "pause",
    Qt.Key.Key_ScrollLock: "scroll_lock",
    Qt.Key.Key_Print: "print_screen",
    Qt.Key.Key_Menu: "menu",
    Qt.Key.Key_NumLock: "num_lock",
    Qt.Key.Key_MediaPlay: "media_play_pause",
    Qt.Key.Key_MediaTogglePlayPause: "media_play_pause",
    Qt.Key.Key_VolumeMute: "media_volume_mute",
    Qt.Key.Key_VolumeDown: "media_volume_down",
    Qt.Key.Key_VolumeUp: "media_volume_up",
    Qt.Key.Key_MediaPrevious: "media_previous",
    Qt.Key.Key_MediaNext: "media_next",
    Qt.Key.Key_AltGr: "alt_gr",
}
_MODIFIER_KEYS: dict[int, str] = {
    Qt.Key.Key_Control: "ctrl",
    Qt.Key.Key_Shift: "shift",
    Qt.Key.Key_Alt: "alt",
    Qt.Key.Key_Meta: "cmd",
    Qt.Key.Key_Super_L: "cmd",
    Qt.Key.Key_Super_R: "cmd_r",
}
# The right-hand modifiers (Qt reports both sides as one key), by what tells them apart on each
# system: X11 keysyms (nativeVirtualKey); Windows scan codes with the extended-key bit (0x100)
# that Qt keeps (nativeScanCode); macOS virtual key codes, kVK_Right* (nativeVirtualKey).
_RIGHT_KEYSYMS = {0xFFE4: "ctrl_r", 0xFFE2: "shift_r", 0xFFEA: "alt_r", 0xFFEC: "cmd_r", 0xFE03: "alt_gr"}
_RIGHT_WINDOWS_SCANCODES = {0x11D: "ctrl_r", 0x36: "shift_r", 0x138: "alt_r", 0x15C: "cmd_r"}
_RIGHT_MACOS_KEYCODES = {0x36: "cmd_r", 0x3C: "shift_r", 0x3D: "alt_r", 0x3E: "ctrl_r"}
_MOD_FLAGS = (
    (Qt.KeyboardModifier.ControlModifier, "ctrl"),
    (Qt.KeyboardModifier.AltModifier, "alt"),
    (Qt.KeyboardModifier.ShiftModifier, "shift"),
    (Qt.KeyboardModifier.MetaModifier, "cmd"),
)
# On macOS Qt names the Command key Control and the Control key Meta (its shortcuts then read
# the same on every system); pynput names them as printed on the keys.
_MACOS_SWAP = {"ctrl": "cmd", "cmd": "ctrl", "ctrl_r": "cmd_r", "cmd_r": "ctrl_r"}


def _as_pynput(name: str, platform: str | None) -> str:
    return _MACOS_SWAP.get(name, name) if (platform or sys.platform) == "darwin" else name


def editable_combo() -> QComboBox:
    """A combo box the user may type any value into, which keeps what was typed: its list is
    offered in a popup, never completed into the field (typing "de" became "Detect
    automatically", and "gpt-4" became "gpt-4o", on Enter or Tab), and a typed value is not
    added to the list."""
    combo = QComboBox()
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    completer = combo.completer()
    if completer is not None:
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    return combo


def key_name(event: QKeyEvent, platform: str | None = None) -> str | None:
    """Return the pynput name of the key in ``event`` (``None`` if it has no usable name);
    ``platform``: the ``sys.platform`` it came from (this one's by default)."""
    key = event.key()
    if key in _MODIFIER_KEYS:
        platform = platform or sys.platform
        if platform == "darwin":
            right = _RIGHT_MACOS_KEYCODES.get(event.nativeVirtualKey())
            return right or _as_pynput(_MODIFIER_KEYS[key], platform)
        if platform == "win32":
            return _RIGHT_WINDOWS_SCANCODES.get(event.nativeScanCode(), _MODIFIER_KEYS[key])
        return _RIGHT_KEYSYMS.get(event.nativeVirtualKey(), _MODIFIER_KEYS[key])
    if key in _QT_KEYS:
        return _QT_KEYS[key]
    if Qt.Key.Key_F1 <= key <= Qt.Key.Key_F20:
        return f"f{key - Qt.Key.Key_F1 + 1}"
    if Qt.Key.Key_A <= key <= Qt.Key.Key_Z or Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
        return chr(key).lower()
    text = event.text()
    if len(text) == 1 and text.isprintable() and not text.isspace():
        return text.lower()
    return None


def held_modifiers(event: QKeyEvent, exclude: str | None = None, platform: str | None = None) -> list[str]:
    """Generic modifiers held during ``event`` (ctrl, alt, shift, cmd order), but for the one
    the key ``exclude`` is; ``platform`` as for :func:`key_name`."""
    generic = exclude.split("_")[0] if exclude else None
    held = {_as_pynput(name, platform) for flag, name in _MOD_FLAGS if event.modifiers() & flag}
    return [name for name in ("ctrl", "alt", "shift", "cmd") if name in held and name != generic]


class HotkeyField(QLineEdit):
    """A read-only field that records the next key or combination pressed in it.

    Click it (or call :meth:`start_capture`), then press the key: a single key (``f9``), a
    modifier alone (``ctrl_r``) or a combination (``ctrl+alt+space``), recorded when the key
    is released: recorded as it went down, the new binding was saved and armed while the key
    was still held, and a hold of a second started a recording. Esc cancels. ``captured``
    carries the binding text; ``cancelled`` says a capture ended without a key (Esc, or the
    focus left).
    """

    captured = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        """Create the field (not capturing)."""
        super().__init__(parent)
        self.setReadOnly(True)
        self.setPlaceholderText("click, then press a key")
        self.capturing = False
        self._binding = ""
        self._solo: str | None = None
        # The key down (its scan code, else its Qt key) and the binding it makes: Shift+1 goes
        # down as "!" and, Shift let go first, comes up as "1": its scan code is the same.
        self._pressed: tuple[int, str] | None = None
        self._caps_before: bool | None = None  # X11: the lock as it was when the capture began

    def binding(self) -> str:
        """The binding shown (e.g. ``caps_lock``)."""
        return self._binding

    def set_binding(self, text: str) -> None:
        """Show ``text`` without emitting ``captured``."""
        self._binding = text
        if not self.capturing:
            self.setText(describe_hotkey(text) if text else "")

    def start_capture(self) -> None:
        """Wait for the next key press (grabs the keyboard until a key is recorded)."""
        from app.hotkey.listener import caps_lock_state, capturing_keys

        capturing_keys(True)  # (the key pressed here starts no dictation)
        self.capturing = True
        self._solo = None
        self._pressed = None
        self._caps_before = caps_lock_state()
        self.setText("")
        self.setPlaceholderText("press the key or combination… (Esc cancels)")
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        self.grabKeyboard()

    def stop_capture(self, binding: str | None) -> None:
        """Stop capturing; a non-empty ``binding`` is shown and emitted (none: ``cancelled``)."""
        from app.hotkey.listener import capturing_keys

        was_capturing = self.capturing
        if was_capturing:
            self.releaseKeyboard()
            capturing_keys(False)
        if binding and binding.split("+")[-1] == "caps_lock" and self._caps_before is not None:
            from app.hotkey.listener import set_caps_lock

            # Pressing it to capture it turned the lock on. Its release changes nothing: XKB
            # unlocks on release only a lock that was on before the press.
            set_caps_lock(self._caps_before)
        self.capturing = False
        self._solo = None
        self._pressed = None
        self.setPlaceholderText("click, then press a key")
        if binding:
            self._binding = binding
        self.setText(describe_hotkey(self._binding) if self._binding else "")
        if binding:
            self.captured.emit(binding)
        elif was_capturing:
            self.cancelled.emit()

    def event(self, event: QEvent) -> bool:  # Qt override
        """While capturing, every key is for the capture, not a shortcut (Ctrl+W closed the
        window instead of being recorded). (Events come during ``__init__`` already.)"""
        if getattr(self, "capturing", False) and event.type() == QEvent.Type.ShortcutOverride:
            event.accept()
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Clicking starts a capture."""
        super().mousePressEvent(event)
        if not self.capturing:
            self.start_capture()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        """Losing focus cancels a capture."""
        if self.capturing:
            self.stop_capture(None)
        super().focusOutEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Record a key (or remember a modifier in case it is pressed alone)."""
        if not self.capturing:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
                self.start_capture()
            else:
                super().keyPressEvent(event)
            return
        event.accept()
        if event.isAutoRepeat():
            return
        name = key_name(event)
        if event.key() == Qt.Key.Key_Escape and not held_modifiers(event):
            self.stop_capture(None)
            return
        if name is None:
            return
        if event.key() in _MODIFIER_KEYS:
            self._solo = name
            mods = held_modifiers(event, exclude=name)
            self.setText("+".join([*mods, name, "…"]))
            return
        binding = "+".join([*held_modifiers(event), name])
        self._pressed = (_key_id(event), binding)
        self.setText(describe_hotkey(binding))  # (recorded when it is released)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        """A modifier released with no other key pressed becomes the binding on its own."""
        if not self.capturing:
            super().keyReleaseEvent(event)
            return
        event.accept()
        if event.isAutoRepeat():
            return
        if self._pressed is not None:
            if _key_id(event) == self._pressed[0]:
                self.stop_capture(self._pressed[1])
            return
        if self._solo is None:
            return
        name = self._solo
        others = held_modifiers(event, exclude=name)
        self.stop_capture("+".join([*others, name]))


def _key_id(event: QKeyEvent) -> int:
    """Which key ``event`` is, the same down and up: its scan code (Shift+1 goes down as "!"
    and can come up as "1"), or Qt's key where the platform gives no scan code."""
    return event.nativeScanCode() or -int(event.key())


METER_FLOOR_DB = -60.0  # the meter's left end; its right end is full scale (0 dBFS)
CLIPPING = 0.95  # a peak this close to full scale turns the bar red


def meter_position(amplitude: float) -> float:
    """Where ``amplitude`` (0..1 of full scale) sits on the meter: in decibels, from
    :data:`METER_FLOOR_DB` (0) to full scale (1). The bar (the RMS level) and the peak tick
    share this scale: the tick was drawn in plain amplitude and the bar on a curve of its own,
    so a steady tone's peak sat at an eighth of the meter, far left of its level at a half.

    >>> [round(meter_position(a), 2) for a in (0.0, 0.001, 0.1, 0.5, 1.0)]
    [0.0, 0.0, 0.67, 0.9, 1.0]
    """
    if amplitude <= 0.0:
        return 0.0
    db = 20.0 * math.log10(min(amplitude, 1.0))
    return max(0.0, 1.0 - db / METER_FLOOR_DB)


class LevelMeter(QWidget):
    """A horizontal bar showing an input level with a peak tick, in decibels (see
    :func:`meter_position`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Create an empty meter."""
        super().__init__(parent)
        self.setMinimumSize(160, 14)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.level = 0.0  # where the bar ends (0..1 of the meter)
        self.peak = 0.0  # where the tick is
        self.clipping = False

    def set_level(self, rms: float, peak: float) -> None:
        """Show ``rms`` (bar) and ``peak`` (tick), both 0..1 of full scale."""
        level, tick = meter_position(rms), meter_position(max(peak, rms))
        clipping = peak >= CLIPPING
        if abs(level - self.level) > 0.01 or abs(tick - self.peak) > 0.01 or clipping != self.clipping:
            self.level, self.peak, self.clipping = level, tick, clipping
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the bar."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(QColor(0, 0, 0, 60))
        p.setBrush(QColor(0, 0, 0, 25))
        p.drawRoundedRect(r, 4, 4)
        p.setPen(Qt.PenStyle.NoPen)
        color = QColor("#e53935") if self.clipping else QColor("#43a047")
        p.setBrush(color)
        p.drawRoundedRect(QRectF(r.x(), r.y(), r.width() * self.level, r.height()), 4, 4)
        p.setBrush(QColor("#263238"))
        p.drawRect(QRectF(r.x() + r.width() * self.peak - 1, r.y(), 2, r.height()))
        p.end()


def keep_room(label: QLabel, rich: bool = False) -> QLabel:
    """Make ``label`` a message line under a field (a value refused, a test's result,
    "Copied."): always on the page, a line's room kept while it says nothing. A message coming or
    going moved every control below it by a line, under the pointer. (Hiding it while empty
    cannot keep its room: a form layout gives a hidden row none.) A message longer than a line
    still takes the lines it needs. Returns ``label``.

    Its text is plain text, unless ``rich`` (then every text set on it is HTML, what the user
    typed or a file held escaped in it): Qt's guess read a message quoting a search, an app's
    name or an imported file's line as HTML when it looked like some ("a <b> c" in bold, an
    <img> tag showing a picture)."""
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setMinimumHeight(label.fontMetrics().lineSpacing())
    # Its height follows its width from the start: Qt says so only once a first text is set, and
    # the page holding it was then laid out anew (a scrolling page grew to its full height).
    policy = label.sizePolicy()
    policy.setHeightForWidth(True)
    label.setSizePolicy(policy)
    return label


def buddy_label(text: str, field: QWidget) -> QLabel:
    """A label for ``field`` outside a form's label column (beside it in a row, or for a field
    inside a row of its own): its ``&`` letter (Alt+letter) gives ``field`` the focus, as the
    form's labels do, and it names the field for a screen reader."""
    label = QLabel(text)
    label.setBuddy(field)
    return label


def as_html(text: str) -> str:
    """Plain ``text`` (a message, what the user typed) for a rich-text line (:func:`keep_room`
    with ``rich``): its ``<`` and ``&`` shown as such, its line breaks kept.

    >>> as_html("apps <b>x</b> & y\\nnext")
    'apps &lt;b&gt;x&lt;/b&gt; &amp; y<br>next'
    """
    return html.escape(text, quote=False).replace("\n", "<br>")


def with_line(field: QWidget | QLayout, line: QLabel) -> QVBoxLayout:
    """``field`` (a widget or a row) with its message ``line`` (:func:`keep_room`) right under
    it, nothing between: the line's empty room is the air below the field already, and the
    page's spacing above it as well made each kept line cost more than a line (the Vocabulary
    page no longer fit the window on an 800 px screen). A message said sits against its field."""
    pair = QVBoxLayout()
    pair.setContentsMargins(0, 0, 0, 0)
    pair.setSpacing(0)
    if isinstance(field, QLayout):
        if field.spacing() < 0:  # (else it would take the pair's: buttons side by side touching)
            field.setSpacing(line.style().pixelMetric(QStyle.PixelMetric.PM_LayoutHorizontalSpacing))
        pair.addLayout(field)
    else:
        pair.addWidget(field)
    pair.addWidget(line)
    return pair


#: The colour of what is wrong.
PROBLEM_COLOUR = "#c62828"


class ProblemLabel(QLabel):
    """A red, wrapping line that says what is wrong; empty, its line kept, while nothing is
    (:func:`keep_room`)."""

    def __init__(self, parent: QWidget | None = None, rich: bool = False) -> None:
        """Create it empty (its texts plain text, or HTML when ``rich``: :func:`keep_room`)."""
        super().__init__("", parent)
        self.setStyleSheet(f"color: {PROBLEM_COLOUR};")
        keep_room(self, rich)


class FitsItsLines(QWidget):
    """A container as tall as its layout needs at its width, wrapped lines counted. A wrapped
    label's height depends on its width, which a splitter's or a scrolling page's layout does
    not ask: the Modes page's notes and a test's long result squeezed the boxes above them
    below their size (System prompt drawn over Template). Now the page scrolls instead."""

    def event(self, event: QEvent) -> bool:  # Qt override
        """Refit when the layout is to be done again (a text set, a line shown or hidden)."""
        if event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return super().event(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        """Refit at the new width."""
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        layout = self.layout()
        if layout is None or not layout.hasHeightForWidth():
            return
        need = layout.totalHeightForWidth(self.width())
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)


class SecondsBox(QDoubleSpinBox):
    """Seconds to the millisecond, shown without trailing zeros: "0.3 s", "0.125 s", "20 s".

    Three decimals keep what a settings file holds (0.125 s was saved as 0.13 when another
    setting changed); showing them all read as "0.300 s".

    Both "." and "," are read as the decimal point, whatever the locale (no number of seconds
    here needs a thousands separator): "0,5" typed in an English locale was read as 5 s. A
    value out of range can be typed, and is refused when the edit ends: the box keeps its value
    and :attr:`problem` (a line to put under the box) says why; the keystroke was dropped
    without a word.

    Filled with :meth:`show_seconds` and read with :meth:`seconds`, a value the box cannot hold
    (0.0004 s set with `holdtype config set`: more decimals, or below its least) is read back
    as it was until the user changes it: a change to another setting of the tab saved it as the
    box showed it.
    """

    def __init__(self, minimum: float, maximum: float, step: float = 0.1) -> None:
        """A box for ``minimum``..``maximum`` seconds, moved by ``step`` with the arrows."""
        super().__init__()
        self.setDecimals(3)
        self.setRange(minimum, maximum)
        self.setSingleStep(step)
        self.setSuffix(" s")
        self.problem = ProblemLabel()
        self._kept: float | None = None  # the value kept when one out of range was refused
        self._filled: tuple[float, float] | None = None  # (the value filled in, as shown)
        self.valueChanged.connect(self._taken)

    def show_seconds(self, seconds: float) -> None:
        """Show ``seconds`` (as near as the box can), and keep it as it is for :meth:`seconds`."""
        self.setValue(seconds)
        self._filled = (seconds, self.value())

    def seconds(self) -> float:
        """The seconds shown, to the millisecond; those :meth:`show_seconds` filled in, exactly,
        while the box still shows them."""
        if self._filled is not None and self.value() == self._filled[1]:
            return self._filled[0]
        return round(self.value(), self.decimals())

    def textFromValue(self, value: float) -> str:  # Qt override
        """The value in the user's locale, trailing zeros dropped."""
        text = self.locale().toString(value, "f", self.decimals())
        point = self.locale().decimalPoint()
        if point in text:
            text = text.rstrip("0").removesuffix(point)
        return text

    def typed_seconds(self, text: str) -> float | None:
        """The number in ``text`` (the suffix may be there; "." or "," as the decimal point),
        or None when it is no number (yet)."""
        number = text.strip().removesuffix(self.suffix().strip()).strip().replace(",", ".")
        try:
            return float(number) if _SECONDS.fullmatch(number) else None
        except ValueError:  # "", "." or "-": a number still being typed
            return None

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:  # Qt override
        """Any number with up to :meth:`decimals` decimals may be typed (out of range too: it is
        refused, and said so, when the edit ends); anything else is not taken."""
        number = text.strip().removesuffix(self.suffix().strip()).strip()
        digits = number.replace(",", ".")
        if not _SECONDS.fullmatch(digits) or len(digits.partition(".")[2]) > self.decimals():
            return QValidator.State.Invalid, text, pos
        value = self.typed_seconds(number)
        if value is None or not self.minimum() <= value <= self.maximum():
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Acceptable, text, pos

    def valueFromText(self, text: str) -> float:  # Qt override
        """The seconds in ``text`` ("." or "," as the decimal point)."""
        value = self.typed_seconds(text)
        return self.value() if value is None else value

    def fixup(self, text: str) -> str:  # Qt override
        """An edit ended on a value out of range: say why the box keeps its value (Qt puts the
        previous value back)."""
        value = self.typed_seconds(text)
        if value is not None and not self.minimum() <= value <= self.maximum():
            limit = self.maximum() if value > self.maximum() else self.minimum()
            self._kept = self.value()
            self.problem.setText(
                f"{self.textFromValue(value)} s is {'more' if value > limit else 'less'} than "
                f"the {self.textFromValue(limit)} s allowed; it stays "
                f"{self.textFromValue(self.value())} s."
            )
        return text

    def _taken(self, value: float) -> None:
        """A value was taken: what was said about a refused one is over (Qt emits the value it
        puts back after a refusal: that one leaves the message)."""
        if value != self._kept:
            self.problem.setText("")


_SECONDS = re.compile(r"-?\d*\.?\d*")  # what a number of seconds may look like, typed
