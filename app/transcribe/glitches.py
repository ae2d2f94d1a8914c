"""How Whisper's decodes go wrong, recognised in their text.

A decode may read the utterance again after itself (:func:`repeat_start`), get stuck on a word
(:func:`looping`), read a stretch of it twice (:func:`said_twice`), turn a sentence into a list
of the prompt's terms (:func:`list_like`), or, given no speech, read its prompt back
(:func:`prompt_echo`). ``WhisperTranscriber`` trims or reads again what these find.
"""

from __future__ import annotations

import difflib
import re

import numpy as np

# A second, not quite verbatim reading of the utterance (see repeat_start): more words than
# this per second of audio (fast speech is about 4), an ending of at least this many words
# restarting the opening, and this share of its words the opening's.
MAX_WORDS_PER_S = 4.5
RESTART_MIN_WORDS = 5
RESTART_SIMILARITY = 0.75
# A loop (see looping): a run of this many words said at least so many times in a row.
LOOP_RUNS = ((1, 4), (2, 3), (3, 3))
# ... or one word whose parts between marks repeat this many times in a row: with 127.0.0.1
# and 0.0.0.0 in the prompt, "and arm sixty four" was read "and Num64.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0".
# An address or a version has four parts at most.
PART_LOOP = 6
# ... or one letter this many times in a row ("JKKKKKKKKKKKKKKKKKK", a reading of gibberish).
_LETTER_LOOP = re.compile(r"([^\W\d_])\1{7}", re.IGNORECASE)
# A run of this many words or more, said twice in a row in mid-utterance (see said_twice).
TWICE_MIN_WORDS = 4


_TOKEN = re.compile(r"[^\w']+")


def norm_word(word: str) -> str:
    """``word`` lower-case, without punctuation (apostrophes kept): to compare two readings."""
    return _TOKEN.sub("", word.lower())


def repeat_start(words: list[str], min_words: int = 3, seconds: float | None = None) -> int | None:
    """Where ``words`` start reading themselves again, or None.

    That is how Whisper fails when its encoder hears less than the 30 s window: it reads the
    utterance, then reads it again from the start (maybe cut short by the token cap), or says
    its last words twice. Natural speech rarely repeats three words or more verbatim, and
    almost never its own opening words at its very end.

    The second reading is not always word for word ("...point melanator's network..." then
    "...point marlinator's network..."). Given the audio's length in ``seconds``, an ending
    that restarts the opening (its first ``min_words`` words) and is mostly the same words
    counts too, but only when the words are more than anyone says in that time
    (:data:`MAX_WORDS_PER_S`): a speaker who really says a sentence twice over, changing a word,
    keeps both. With more words than that and one to spare, a repeat of a single word counts.
    """
    norm = [norm_word(w) for w in words]
    cut = None
    # More words than anyone says in that time, with one to spare (a fraction of a second cut
    # in mid-word reads "The F F F F" or "The third... The third..."): a repeat of even one
    # word is a second reading.
    crowded = seconds is not None and len(norm) > MAX_WORDS_PER_S * seconds + 1
    # A loop may read the utterance three times or more: trim until no repeat is left.
    while (shorter := _repeat_once(norm, 1 if crowded else min_words)) is not None:
        cut, norm = shorter, norm[:shorter]
    if seconds is not None and len(norm) > MAX_WORDS_PER_S * seconds:
        fuzzy = _restart_like(norm, min_words)
        if fuzzy is not None:
            cut = fuzzy
    return cut


def _repeat_once(norm: list[str], min_words: int) -> int | None:
    """One step of :func:`repeat_start` on normalised words."""
    n = len(norm)
    for k in range(n // 2, min_words - 1, -1):  # the last k words said twice in a row
        if norm[n - 2 * k : n - k] == norm[n - k :]:
            return n - k
    for p in range(min_words, n - min_words + 1):  # the end restarts the opening
        if norm[p:] == norm[: n - p]:
            return p
    return None


def _restart_like(norm: list[str], min_words: int) -> int | None:
    """Where an ending that restarts the opening and mostly repeats it begins, or None: at
    least ``RESTART_MIN_WORDS`` words, no longer than what came before, its first ``min_words``
    words those of the opening and :data:`RESTART_SIMILARITY` of it the same words."""
    n = len(norm)
    for p in range(n // 2, n - RESTART_MIN_WORDS + 1):
        tail = norm[p:]
        if tail[:min_words] != norm[:min_words]:
            continue
        if difflib.SequenceMatcher(None, norm[: len(tail)], tail).ratio() >= RESTART_SIMILARITY:
            return p
    return None


def doubled(text: str) -> bool:
    """True when ``text`` is one run of words said twice, whole: "Done. Done.", "Bye bye."

    Given a short context, tiny.en may read a one-word utterance twice over ("Done." read
    "Done. Done."), too short a repeat for :func:`repeat_start` to cut; a speaker may say so
    too, so the caller checks the audio.

    >>> doubled("Done. Done.")
    True
    >>> doubled("Run the tests. Run the tests.")
    True
    >>> doubled("apple pie pie")
    False
    >>> doubled("Done.")
    False
    """
    words = words_of(text)
    half = len(words) // 2
    return half > 0 and len(words) == 2 * half and words[:half] == words[half:]


def list_like(text: str) -> bool:
    """True when ``text`` reads like a comma-separated list of one- and two-word items.

    That is how Whisper fails under a prompt it over-trusts: "Marimo, Node, Book, Python,
    Files". At least three pieces between commas (or semicolons), half of them at most two
    words long. A spoken list ("eggs, milk, bread and butter") matches too; the caller decides.
    """
    pieces = [p.split() for p in re.split(r"[,;]", text)]
    pieces = [p for p in pieces if p]
    if len(pieces) < 3:
        return False
    return sum(len(p) <= 2 for p in pieces) * 2 >= len(pieces)


def looping(text: str) -> bool:
    """True when Whisper got stuck: one word said four times in a row ("we'll, we'll, we'll,
    we'll"), or a run of two or three words three times, or a part of one word between marks
    six times (".0.0.0.0.0.0"), or one letter eight times ("JKKKKKKKK"). A speaker may say
    "no, no, no"; hardly ever a word four times, or a phrase three times, in a dictated
    sentence.

    >>> looping("Listen to 0.0.0.0 on port 8000."), looping("and Num64.0.0.0.0.0.0.0.0.0")
    (False, True)
    >>> looping("Hmmm, a cool 100000000 dollars."), looping("JKKKKKKKKKKKKKKKKKKKK")
    (False, True)
    """
    return (
        loop_excess(text) > 0
        or any(_parts_loop(word) for word in text.split())
        or _LETTER_LOOP.search(text) is not None
    )


def _parts_loop(word: str) -> bool:
    """Whether ``word`` has one part between marks :data:`PART_LOOP` times in a row."""
    return _in_a_row([p for p in _TOKEN.split(word.casefold()) if p], 1, PART_LOOP)


def loop_excess(text: str) -> int:
    """How many words of ``text`` are extra copies in its loops (see :func:`looping`): "jumps,
    run, run, run, run, run, and" has four. Each run of one word said four times or more in a
    row, or of two or three words said three times or more, counts all its copies but the first.
    """
    words = words_of(text)
    extra = 0
    i = 0
    while i < len(words):
        for size, times in LOOP_RUNS:
            run = words[i : i + size]
            copies = 1
            while words[i + copies * size : i + (copies + 1) * size] == run:
                copies += 1
            if len(run) == size and copies >= times:
                extra += (copies - 1) * size
                i += copies * size
                break
        else:
            i += 1
    return extra


def said_twice(text: str) -> int:
    """How many words of ``text`` a run said twice in a row repeats: the longest run of at
    least :data:`TWICE_MIN_WORDS` words followed at once by itself, or 0.

    Under a prompt, tiny.en sometimes reads a stretch of the utterance again in the middle of
    it and drops what came after ("The FastAPI and Pydantic, the first API and Pydantic, the
    first API and Pydantic, the first party..." for "The FastAPI endpoint validates the
    request body..."). A speaker who restarts a sentence rarely says four words or more over
    verbatim. (A repeat at the very end is :func:`repeat_start`'s.)
    """
    words = words_of(text)
    if len(words) < 2 * TWICE_MIN_WORDS:
        return 0
    index: dict[str, int] = {}
    ids = np.array([index.setdefault(word, len(index)) for word in words])
    # A run of ``size`` at i followed by itself is ``size`` words in a row each equal to the
    # word ``size`` after it: one pass per size (comparing the runs themselves, a long LLM
    # reply of 3,000 words took 12 s and 6,000 words 85 s).
    for size in range(len(words) // 2, TWICE_MIN_WORDS - 1, -1):
        same = ids[:-size] == ids[size:]
        if int(same.sum()) >= size and _longest_run(same) >= size:
            return size
    return 0


def _longest_run(flags: np.ndarray) -> int:
    """The length of the longest run of True in ``flags``."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max()) if len(starts) else 0


def _in_a_row(words: list[str], size: int, times: int) -> bool:
    """Whether some run of ``size`` of ``words`` comes ``times`` times in a row."""
    for i in range(len(words) - size * times + 1):
        run = words[i : i + size]
        if all(words[i + k * size : i + (k + 1) * size] == run for k in range(1, times)):
            return True
    return False


def words_of(text: str) -> list[str]:
    """The words of ``text``, lower-case, without punctuation (to compare two readings)."""
    return [w for w in map(norm_word, text.split()) if w]


def prompt_echo(text: str, prompt: str, min_words: int = 3) -> bool:
    """True when ``text`` is nothing but a run of ``prompt``'s words (at least ``min_words``).

    Under a prompt, Whisper given noise or a breath instead of speech tends to read the prompt
    back: "Let me tell you what I did.", "We talked about scikit-learn." Someone who really
    says a run of the prompt is heard again without it (see ``WhisperTranscriber``).
    """
    said = words_of(text)
    if len(said) < min_words:
        return False
    source = words_of(prompt)
    n = len(said)
    return any(source[i : i + n] == said for i in range(len(source) - n + 1))
