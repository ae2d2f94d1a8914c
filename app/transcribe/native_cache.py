"""Bound the caches of the native libraries under CTranslate2, so that memory stays flat over
a long dictation.

CTranslate2 runs Whisper's encoder convolutions with oneDNN, which keeps every primitive it
builds (compiled kernel, reordered weights, scratch memory) in a process-wide cache of up to
1024 entries, one per input shape. Holdtype's encoder hears each utterance with a short
context (:func:`app.transcribe.whisper.encoder_frames`), so nearly every decode has a shape of
its own: while the key is held, each streaming decode added a primitive, and the resident
memory of ``holdtype run`` grew by about 2 MB a second of dictation (195 MB to 835 MB over a
5-minute hold; decoding 150 clips of 2-12 s: 170 MB to 519 MB, against 279 MB at one length).
With the cache bounded it levels off (306-333 MB for the same 150 clips) at the same speed:
few shapes repeat, so the cache hardly ever hit anyway.

oneDNN reads its setting from the environment when it first builds a primitive, so
:func:`bound_native_caches` must run before the first decode; a value the user set is kept.
"""

from __future__ import annotations

import os

# Primitives oneDNN keeps (its default is 1024). A few dozen cover the shapes that do repeat
# (the full 30 s window of long recordings) and cost tens of megabytes at most.
PRIMITIVE_CACHE_CAPACITY = 32
_VARIABLE = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"


def bound_native_caches(environ: dict[str, str] | None = None) -> str:
    """Set oneDNN's primitive cache capacity unless it is set already; return the value in force.

    ``environ`` defaults to :data:`os.environ` (a dict can be passed to see the decision)."""
    env = os.environ if environ is None else environ
    return env.setdefault(_VARIABLE, str(PRIMITIVE_CACHE_CAPACITY))
