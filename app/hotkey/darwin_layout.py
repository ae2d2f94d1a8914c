"""macOS: read the keyboard layout for pynput on the main thread.

pynput's macOS listener reads the current keyboard layout (``keycode_context``: Carbon's
``TISCopyCurrentKeyboardInputSource`` and ``TISGetInputSourceProperty``) on its own thread, as
it starts. macOS 14 and later want those calls on the main thread and stop the process when they
are not (``_dispatch_assert_queue_fail``, pynput issue #511): the app died at its first hotkey.
The layout it reads is plain data (a keyboard type and the layout's bytes), so Holdtype reads it
once on the main thread at start and hands pynput that copy instead; a listener started later
(new settings) uses it as well. A layout switched while Holdtype runs is taken at the next
start, as pynput itself took it only when a listener started.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)


def prepare_keyboard_layout(platform: str | None = None) -> bool:
    """On macOS, read the keyboard layout now, on the main thread, for every later pynput
    listener and controller; return whether pynput now uses that copy. Call it from the main
    thread before the engine starts; elsewhere (and off the main thread) it does nothing."""
    if (platform or sys.platform) != "darwin":
        return False
    if threading.current_thread() is not threading.main_thread():
        log.warning("the keyboard layout must be read on the main thread; pynput will read it itself")
        return False
    try:
        from pynput._util import darwin as util
        from pynput.keyboard import _darwin as keyboard
    except Exception as exc:  # no pynput, or its backend cannot load: the listener will say why
        log.debug("cannot load pynput's macOS backend: %s", exc)
        return False
    return use_layout_read_now(util, keyboard)


def use_layout_read_now(util: ModuleType, keyboard: ModuleType) -> bool:
    """Read the layout with ``util.keycode_context`` on this thread, then make both modules'
    ``keycode_context`` hand out that copy; return whether it could be read."""
    original: Callable[[], Any] = getattr(util, "_holdtype_original_context", util.keycode_context)
    try:
        with original() as context:
            layout = context
    except Exception as exc:  # pynput reads it again in its own way; say why this copy failed
        log.warning("cannot read the keyboard layout on the main thread: %s", exc)
        return False

    @contextlib.contextmanager
    def layout_read_at_start() -> Iterator[Any]:
        yield layout

    util._holdtype_original_context = original  # type: ignore[attr-defined]
    util.keycode_context = layout_read_at_start  # type: ignore[attr-defined]
    keyboard.keycode_context = layout_read_at_start  # type: ignore[attr-defined]
    return True
