"""English words, to tell a word Whisper wrote on purpose from a guess at a term.

Whisper writes the words it hears; a rare English word ("pottery", "fleas", "reeds") is as
likely what was said as a misheard term (Poetry, Flask, Redis), and only the audio can tell
(``TextPipeline.confirm``). :func:`english_word` says whether a word is one: a word of
``resources/english/words.txt.gz``, the words that occur at least
:data:`MIN_COUNT` times in pyspellchecker's English word frequency list (MIT; counted on
OpenSubtitles). ``python -m app.text.english SOURCE.json.gz`` writes that file again from
pyspellchecker's ``spellchecker/resources/en.json.gz``.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import sys
from pathlib import Path

from app.paths import resources_dir

log = logging.getLogger(__name__)

# A word counted fewer times than this in the frequency list is left out: misspellings and
# names ("jingo" 50, "tomlin" 50) are below it, "pottery" (2029), "reeds" (558), "taper" (454)
# above.
MIN_COUNT = 100


def words_file() -> Path:
    """Where the word list is (see the module's docstring)."""
    return resources_dir() / "english" / "words.txt.gz"


@functools.cache
def _words() -> frozenset[str]:
    try:
        with gzip.open(words_file(), "rt", encoding="utf-8") as handle:
            return frozenset(handle.read().split())
    except OSError as exc:  # a broken install (no resources): correct on looks, as before
        log.warning("no English word list (%s): rare English words may be corrected to terms", exc)
        return frozenset()


def english_word(word: str) -> bool:
    """Whether ``word``, lower-cased, is an English word of the list.

    >>> english_word("pottery"), english_word("Pandera")
    (True, False)
    """
    return word.isalpha() and word.lower() in _words()


# Short words English never capitalises inside a sentence (no names among them: "Will",
# "May", "Bill" are left out; "I" is always a capital, "A" may be a name, as in "plan A", and
# "The", "Who", "It" begin titles: "I read The Hobbit", "Doctor Who").
_LOWER_INSIDE = frozenset(
    """about after also an and are as at be because been before but by can could did do does
    for from had has have he her here him his how if in into is its me my no nor not of on
    or our she should so than that their them then there these they this those to us was we
    were what when where which while with would yet you your""".split()  # noqa: SIM905 - a word list reads best as words
)
# What may close a sentence after its mark: "Stop." or (see above.)
_CLOSERS = "\"'”’)]} \t"  # (a line break is no closer: it ends the line)


def lower_inside_sentence(word: str, before: str) -> str:
    r"""``word`` (as Whisper wrote it, with its leading space) in lower case when it is a word
    English writes so inside a sentence and ``before``, the text before it, ends no sentence.
    A streamed dictation is read in pieces, and a piece that starts mid-sentence may start with
    a capital ("…and let go, And your words appear").

    >>> lower_inside_sentence(" And", "let go,"), lower_inside_sentence(" And", "Done.")
    (' and', ' And')
    >>> lower_inside_sentence(" Will", "I told"), lower_inside_sentence(" AND", "x")
    (' Will', ' AND')
    >>> lower_inside_sentence(' And', 'He said, "Stop."'), lower_inside_sentence(" And", "a list\n")
    (' And', ' And')
    """
    core = word.lstrip()
    ended = before.endswith("\n") or before.rstrip(_CLOSERS)[-1:] in ("", ".", "!", "?", ":", "…", "\n")
    if ended or not core[:1].isupper() or not core[1:].islower():
        return word
    bare = core.rstrip(".,;:!?…")
    if bare.lower() not in _LOWER_INSIDE or not bare.isalpha():
        return word
    return word[: len(word) - len(core)] + core[0].lower() + core[1:]


def write_words(source: Path, target: Path, min_count: int = MIN_COUNT) -> int:
    """Write ``target`` (gzipped, one word a line) from a pyspellchecker frequency list
    ``source`` (gzipped JSON of word -> count); return how many words it has."""
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        counts: dict[str, int] = json.load(handle)
    words = sorted(w for w, n in counts.items() if n >= min_count and w.isalpha() and w.islower())
    with gzip.GzipFile(target, "wb", mtime=0) as out:
        out.write(("\n".join(words) + "\n").encode("utf-8"))
    return len(words)


if __name__ == "__main__":  # python -m app.text.english SOURCE.json.gz
    count = write_words(Path(sys.argv[1]), words_file())
    print(f"{count} words written to {words_file()}")
