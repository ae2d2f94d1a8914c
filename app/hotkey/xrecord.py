"""pynput's RECORD context (X11), seen from X connections of our own.

pynput's X11 listener hears keys through the RECORD extension. Two of its habits need help:

* ``Listener.wait()`` returns once the context is *created*, just before the listener's thread
  asks the server to *enable* it. A key pressed in between is never heard: on a busy machine a
  tap sent right after "hotkeys armed" was lost. :func:`wait_until_recording` waits until the
  server says the context is enabled.
* ``Listener.stop()`` sends the disable request on the connection that is blocked reading
  recorded events, so the server acts on it only with the next key event.
  :func:`unblock_record` disables the context from a fresh connection instead.

Any client may query or disable a context by its id, so a private connection is enough.
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger(__name__)


def _get_context_request() -> Any:
    """The RecordGetContext request, with a reply that keeps the ``enabled`` flag (python-xlib's
    own reply drops it, and fails to parse the client list on some versions)."""
    from Xlib.ext import record
    from Xlib.protocol import rq

    class GetContextEnabled(rq.ReplyRequest):
        _request = record.GetContext._request
        _reply = rq.Struct(
            rq.ReplyCode(),
            rq.Bool("enabled"),
            rq.Card16("sequence_number"),
            rq.ReplyLength(),
            rq.Card8("element_header"),
            rq.Pad(3),
            rq.Card32("intercepted_clients"),
            rq.Pad(16),
        )

    return GetContextEnabled


def record_enabled(display: Any, context: int) -> bool:
    """Whether the RECORD ``context`` is enabled, asked on the python-xlib ``display``."""
    from Xlib.ext import record

    request = _get_context_request()
    reply = request(
        display=display.display, opcode=display.display.get_extension_major(record.extname), context=context
    )
    return bool(reply.enabled)


def wait_until_recording(listener: Any, timeout: float = 2.0) -> bool:
    """Wait until the RECORD context of pynput's started ``listener`` is enabled, so that the
    next key is heard. True when it is (at once, almost always); False after ``timeout``
    seconds, or when the state cannot be read (then the caller carries on as before)."""
    context = getattr(listener, "_context", None)
    if context is None:
        return False
    try:
        from Xlib import display as xdisplay

        d = xdisplay.Display()
    except Exception as exc:
        log.debug("cannot open a display to watch the RECORD context: %s", exc)
        return False
    try:
        deadline = time.monotonic() + timeout
        while True:
            if record_enabled(d, context):
                return True
            if time.monotonic() >= deadline or not listener.running:
                return False
            time.sleep(0.005)
    except Exception as exc:  # the context went away (the listener stopped)
        log.debug("cannot read the RECORD context: %s", exc)
        return False
    finally:
        d.close()


def unblock_record(listener: Any) -> None:
    """Disable pynput's RECORD context from a fresh X connection (see the module docstring)."""
    context = getattr(listener, "_context", None)
    if context is None:
        return
    try:
        from Xlib import display as xdisplay
        from Xlib import error
        from Xlib.ext import record

        d = xdisplay.Display()
        try:
            # pynput's thread may have freed the context already: the server's error for it is
            # caught here, not printed by python-xlib's default handler.
            catch = error.CatchError()
            opcode = d.display.get_extension_major(record.extname)
            record.DisableContext(display=d.display, onerror=catch, opcode=opcode, context=context)
            d.sync()
            if catch.get_error() is not None:
                log.debug("the RECORD context was gone already: %s", catch.get_error())
        finally:
            d.close()
    except Exception as exc:  # no display any more
        log.debug("could not disable the RECORD context: %s", exc)
