"""How terms are spoken: the readings and sound keys the vocabulary matches transcripts with.

Pure functions of text. :func:`spoken_variants` lists the ways a term may be said ("PyPI" as
"pie pie", "C#" as "see sharp", "Python 3.12" as "python three point twelve"); :func:`sound_key`
gives a coarse English sound key, so that "sigh kit learn" and "scikit-learn" meet;
:func:`letters_of` and :func:`spell_out` give a word's letters and its letter-by-letter reading.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

# How letters are read out loud (for acronyms such as "LLM", "CI", "npm").
LETTER_NAMES: dict[str, str] = {
    "a": "ay", "b": "bee", "c": "see", "d": "dee", "e": "ee", "f": "ef", "g": "gee",
    "h": "aitch", "i": "eye", "j": "jay", "k": "kay", "l": "el", "m": "em", "n": "en",
    "o": "oh", "p": "pee", "q": "queue", "r": "ar", "s": "ess", "t": "tee", "u": "you",
    "v": "vee", "w": "double you", "x": "ex", "y": "why", "z": "zee",
}  # fmt: skip
# The words letters are said in ("double you" is two).
LETTER_WORDS = frozenset(w for name in LETTER_NAMES.values() for w in name.split())

# Readings of syllables that are common in tech names but not read as spelled.
FRAGMENT_READINGS: dict[str, tuple[str, ...]] = {
    "py": ("pie", "pi"),
    "pi": ("pie",),
    "sci": ("sigh", "psy", "sy"),
    "js": ("jay ess",),
    "sql": ("sequel", "ess queue el"),
    "gui": ("gooey",),
    "io": ("eye oh",),
    "ai": ("ay eye",),
    "db": ("dee bee",),
    "k8s": ("kubernetes", "kay eights"),
    "npm": ("en pee em",),
    "ui": ("you eye",),
    "ctl": ("control", "cuttle"),  # kubectl, systemctl, journalctl
}

# How the symbols of a term are read ("C++" is "see plus plus", "C#" "see sharp"); a term is
# never read with one left out ("see" alone is not C++).
SYMBOL_READINGS: dict[str, str] = {"+": "plus", "#": "sharp"}
# The symbols a term may start with, as they are said, the longest first: "@property" is "at
# property", "$HOME" "dollar home", "~/projects" "tilde slash projects", "--verbose" "dash dash
# verbose", "__init__" "dunder init". Such a term is never its bare word: "property", "home",
# "projects", "verbose" and "init" are ordinary words, and "my home folder" is no "my $HOME
# folder". A leading dot is "dot" (".NET", ".env"; see letters_of and spoken_variants).
LEADING_SYMBOLS: dict[str, tuple[str, ...]] = {
    "~/": ("tilde slash", "tilde"),
    "--": ("dash dash", "double dash"),
    "__": ("dunder", "double underscore"),
    "@": ("at",),
    "$": ("dollar",),
    "~": ("tilde",),
    "-": ("dash",),
    "_": ("underscore",),
}
# (followed by a letter, a digit or a dot: "$" alone or "-- " is no such term)
_LEADING_SYMBOL = re.compile("(" + "|".join(map(re.escape, LEADING_SYMBOLS)) + r")(?=[^\W_]|\.)")
# "&" inside a word is "and" ("R&D" is "ar and dee", "AT&T" "ay tee and tee"). One between
# words ("Weights & Biases") keeps the readings it had before, and the fuzzy match reads "and"
# there: read "and" too, it changed which terms a first reading names for the second and cost
# the check set a term, with no term gained anywhere.
AMPERSAND_READING = "and"

_NUMBERS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen"
]  # fmt: skip
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
#: The words numbers are read with (:func:`number_readings`), "point" and "dot" of "3.12" too.
NUMBER_WORDS = frozenset([*_NUMBERS, *_TENS[2:], "hundred", "thousand", "point", "dot"])

# The pieces of a word, split at case changes ("PyPI": Py, PI; "FastAPI": Fast, API), digits
# and the symbols + and # (& too inside a word).
_PIECE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[+#]|(?<=\w)&(?=\w)")
_VOWELS = re.compile(r"[aeiou]+")
# An upper-case run at the start of a word, then lower case letters only ("SQLite").
_FRAGMENT_RUN = re.compile(r"([A-Z]{2,})[a-z]{2,}$")
_MAX_VARIANTS = 48  # a term's readings (every mix of its pieces' readings) stop at this many


def number_words(digits: str) -> str:
    """Read a run of digits as English words (0..99 as numbers, longer runs digit by digit)."""
    n = int(digits)
    if len(digits) <= 2 and n < 20:
        return _NUMBERS[n]
    if len(digits) <= 2:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _NUMBERS[ones])
    return " ".join(_NUMBERS[int(d)] for d in digits)


def number_readings(digits: str) -> list[str]:
    """The ways a run of digits is said: :func:`number_words` first, then, for three and four
    digits, as a count ("100": "one hundred", "1080": "ten eighty") or in pairs ("4090":
    "forty ninety", "2015": "twenty fifteen"), as "H100", "RTX 4090" and "ES2015" are said.

    >>> number_readings("4090")
    ['four zero nine zero', 'four thousand ninety', 'forty ninety']
    """
    readings = [number_words(digits)]
    n = int(digits)
    if len(digits) == 3 and digits[0] != "0":
        hundreds, rest = divmod(n, 100)
        readings.append(f"{_NUMBERS[hundreds]} hundred" + (f" {number_words(str(rest))}" if rest else ""))
    elif len(digits) == 4 and digits[0] != "0":
        thousands, rest = divmod(n, 1000)
        said = number_readings(str(rest))[-1] if rest >= 100 else number_words(str(rest))
        readings.append(f"{_NUMBERS[thousands]} thousand" + (f" {said}" if rest else ""))
        head, tail = divmod(n, 100)
        if tail == 0 and rest != 0:
            readings.append(f"{number_words(str(head))} hundred")
        elif tail >= 10:
            readings.append(f"{number_words(str(head))} {number_words(str(tail))}")
        elif tail > 0:
            readings.append(f"{number_words(str(head))} oh {_NUMBERS[tail]}")
    return list(dict.fromkeys(readings))


# sound_key's rewrites, in order (compiled once: the key is asked for every run of words).
_SOUND_RULES = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"^ps", "s"),
        (r"^kn", "n"),
        (r"^wr", "r"),
        (r"^x", "s"),
        (r"^gh", "g"),
        (r"^y(?=[aeiou])", "j"),
        (r"ph", "f"),
        (r"gh", ""),
        (r"sch", "sk"),
        (r"ck", "k"),
        (r"tion", "xan"),
        (r"(?<=y)ch", "k"),
        (r"(?:sh|ch)", "x"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"q", "k"),
        (r"x", "ks"),
        (r"z", "s"),
        (r"dg", "j"),
        (r"th", "t"),
        (r"wh", "w"),
        (r"y", "i"),
        (r"(?<=[^aeiou])e$", ""),
    )
)
_DIGITS = re.compile(r"\d+")
_NOT_LETTER = re.compile(r"[^a-z]")
_DOUBLED = re.compile(r"(.)\1+")


@functools.lru_cache(maxsize=65536)
def sound_key(text: str) -> str:
    """A coarse English sound key: similar-sounding spellings give equal or close keys.

    Vowel groups merge into ``a``; ``ph`` → ``f``; soft ``c`` → ``s``; ``ck``/``q``/hard ``c``
    → ``k``; silent ``gh``, initial ``ps``/``kn``/``wr`` simplified; doubled letters merged.

    >>> sound_key("sigh kit learn") == sound_key("scikit-learn")
    True
    """
    s = _DIGITS.sub(lambda m: number_words(m.group()), text.lower())
    s = _NOT_LETTER.sub("", s)
    if not s:
        return ""
    for pattern, repl in _SOUND_RULES:
        s = pattern.sub(repl, s)
    s = _VOWELS.sub("a", s)
    return _DOUBLED.sub(r"\1", s)


def letters_of(text: str) -> str:
    """Lower-case letters and digits of ``text`` only ("Node.js" → "nodejs"), with ``+`` and
    ``#`` (C++, C#), a leading dot read as "dot" (".NET" → "dotnet": never plain "net") and a
    leading symbol of :data:`LEADING_SYMBOLS` as its name ("@property" → "atproperty": never
    plain "property"). An accented letter is its plain one ("Pokémon" → "pokemon", which
    Whisper may write); a letter with no plain form is kept ("λ-calculus" → "λcalculus": it
    was dropped, and every "calculus" became the term).

    >>> letters_of("Zürich"), letters_of("λ-calculus"), letters_of("__init__"), letters_of(".NET")
    ('zurich', 'λcalculus', 'dunderinit', 'dotnet')
    >>> letters_of("~/.bashrc"), letters_of("$HOME")
    ('tildeslashdotbashrc', 'dollarhome')
    """
    folded = _without_accents(text.casefold().lstrip())
    symbol = leading_symbol(folded)
    prefix = LEADING_SYMBOLS[symbol][0].replace(" ", "") if symbol else ""
    folded = folded[len(symbol) :]
    prefix += "dot" if folded.startswith(".") else ""
    return prefix + _NOT_LETTERS.sub("", folded)


def leading_symbol(term: str) -> str:
    """The symbol of :data:`LEADING_SYMBOLS` that ``term`` starts with, or "" ("@" of
    "@property", "__" of "__init__", "~/" of "~/.bashrc").

    A term that starts with one (a decorator, a variable, a path, a flag, a dunder) is taken
    only when its symbol is there: written (Whisper wrote "@property": it stays as is) or said
    ("at property", "dollar home", "dash dash verbose", "dunder init"), never from its bare
    word, English or not: "the property tax", "my projects", "run git init" and "open the
    bashrc" keep their words (the speaker said no path). So its letters and every reading
    start with the symbol's name, and no look-alike is ever it (see ``Vocabulary``).
    """
    found = _LEADING_SYMBOL.match(term.strip())
    return found.group(1) if found else ""


def _without_accents(text: str) -> str:
    """``text`` with each accented letter as its plain one ("Zürich" → "Zurich")."""
    return text if text.isascii() else _MARKS.sub("", unicodedata.normalize("NFKD", text))


_MARKS = re.compile(r"[\u0300-\u036f]")  # the accents NFKD splits from their letters
_NOT_LETTERS = re.compile(r"[^\w+#]|_")


def spell_out(text: str) -> str:
    """Read letters one by one ("LLM" → "el el em"); digits as numbers."""
    out: list[str] = []
    for part in re.findall(r"\d+|[a-zA-Z]", text):
        out.append(number_words(part) if part.isdigit() else LETTER_NAMES[part.lower()])
    return " ".join(out)


def _piece_readings(piece: str) -> list[str]:
    """How one piece of a term (split at case changes, hyphens, dots) may be spoken."""
    low = piece.lower()
    if piece.isdigit():
        return [*number_readings(piece), piece]
    if piece in SYMBOL_READINGS:
        return [SYMBOL_READINGS[piece]]
    readings = [low]
    readings.extend(FRAGMENT_READINGS.get(low, ()))
    for frag, said in FRAGMENT_READINGS.items():
        if len(low) >= len(frag) + 2 and low.startswith(frag):
            readings.extend(f"{r} {low[len(frag) :]}" for r in said)
        elif len(low) >= len(frag) + 2 and low.endswith(frag):
            readings.extend(f"{low[: -len(frag)]} {r}" for r in said)
    acronym = (piece.isupper() and len(piece) >= 2) or len(piece) <= 2 or not _VOWELS.search(low)
    if acronym:
        readings.append(spell_out(piece))
    return list(dict.fromkeys(readings))


# Greek letters, as terms use them ("λ-calculus", "μTorrent", "Δ-debugging"), said by name.
GREEK_NAMES = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi",
    "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "φ": "phi", "χ": "chi", "ψ": "psi",
    "ω": "omega",
}  # fmt: skip


def plain_spelling(term: str) -> str:
    """``term`` with its accented letters plain and its Greek letters named, as it is said: a
    reading lost such a letter ("naïve" was read "na ve", so "nave" became the term, and
    "λ-calculus" "calculus", so every "calculus" did).

    >>> plain_spelling("Pokémon"), plain_spelling("λ-calculus"), plain_spelling("ΔT")
    ('Pokemon', 'lambda-calculus', 'DeltaT')
    """
    if term.isascii():
        return term
    plain = _without_accents(term)
    return "".join(
        ch if (name := GREEK_NAMES.get(ch.lower())) is None else name if ch.islower() else name.title()
        for ch in plain
    )


def spoken_variants(term: str) -> list[str]:
    """Ways ``term`` may be spoken, as lower-case word strings.

    >>> "pie pie" in spoken_variants("PyPI")
    True
    >>> spoken_variants("C#")
    ['c sharp', 'see sharp', 'c#']
    """
    symbol = leading_symbol(term)
    if symbol:  # "@property" is "at property", never "property" (see leading_symbol)
        said = (
            f"{name} {rest}"
            for name in LEADING_SYMBOLS[symbol]
            for rest in spoken_variants(term.strip()[len(symbol) :])
        )
        return list(itertools.islice(dict.fromkeys(said), _MAX_VARIANTS))
    chunks = [c for c in re.split(r"[\s\-_/]+", plain_spelling(term).strip()) if c]
    options: list[list[str]] = []
    for chunk in chunks:
        dotted = chunk.split(".")
        for i, part in enumerate(dotted):
            if not part:
                continue
            if i > 0:
                # "Node.js" may be said "node js", ".NET" is always "dot net", and "3.12" is
                # "three point twelve".
                if not dotted[i - 1]:
                    options.append(["dot"])
                elif dotted[i - 1][-1].isdigit() and part[0].isdigit():
                    options.append(["point", "", "dot"])
                else:
                    options.append(["", "dot"])
            found = _PIECE.findall(part)
            combos = itertools.product(
                *([AMPERSAND_READING] if p == "&" and found else _piece_readings(p) for p in found or [part])
            )
            readings = [" ".join(c) for c in itertools.islice(combos, _MAX_VARIANTS)]
            # "SQLite" is split "SQ", "Lite" (as "HTMLParser" is "HTML", "Parser"), yet said
            # "sequel lite": an upper-case run that is a syllable with its own reading keeps its
            # last capital.
            run = _FRAGMENT_RUN.match(part)
            if run and run.group(1).lower() in FRAGMENT_READINGS:
                head, tail = run.group(1), part[run.end(1) :]
                readings += [f"{h} {t}" for h in _piece_readings(head) for t in _piece_readings(tail)]
            options.append(list(dict.fromkeys(readings)))
    if not options:
        return []
    variants: list[str] = []
    for combo in itertools.islice(itertools.product(*options), _MAX_VARIANTS):
        variants.append(" ".join(w for w in combo if w))
    # The plain reading of each whole chunk ("scikit learn", "pypi") as well.
    variants.append(" ".join(c.lower() for c in chunks))
    return list(dict.fromkeys(v for v in variants if v))
