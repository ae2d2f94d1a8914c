"""The user's vocabulary: Whisper biasing (prompt, hotwords) and phonetic auto-correction.

A :class:`Vocabulary` is built from the user's terms (``scikit-learn``, ``PyPI``, ``Talk Python
To Me``). It does three things, all pure functions of text:

* :meth:`Vocabulary.prompt` and :meth:`Vocabulary.hotwords` give faster-whisper text that makes
  it more likely to spell the terms the user's way.
* :meth:`Vocabulary.correct` fixes near misses in a transcript. Every run of 1..k words is
  compared with *spoken variants* of each term (:mod:`app.text.readings`): the term read as
  words, split at case changes, hyphens and dots, acronyms read letter by letter ("P Y P I"),
  and a few readings of common tech syllables ("py" → "pie"/"pi", "sci" → "sigh"/"psy"). Two
  similarities must agree: the letters (rapidfuzz) and a coarse English sound key (vowel
  groups merged, "ph" → "f", soft "c" → "s" ...). Short terms are only fixed on an exact
  match, so "get" never becomes "git", and a common word Whisper wrote as such only by the
  term's own spelling or spoken reading, so "back" never becomes "Black".
* It restores the exact spelling and casing of terms: "github" → ``GitHub``, "disk cache" →
  ``diskcache``.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from app.text.english import english_word
from app.text.readings import (
    LETTER_NAMES,
    LETTER_WORDS,
    NUMBER_WORDS,
    leading_symbol,
    letters_of,
    sound_key,
    spell_out,
    spoken_variants,
)
from app.transcribe.tokens import (
    WORD_ENDINGS,
    common_word,
    given_name,
    inflected_common_word,
    known_name,
)

log = logging.getLogger(__name__)

# A word: letters/digits, with inner . + # (Node.js, llama.cpp), trailing + or # (C++, C#) and
# a leading dot after a space (.NET, .env). A hyphen ends a word: the pieces of "scikit-learn"
# still match it together (see _JOINABLE_GAP), and a misheard term Whisper hyphenated onto its
# neighbours ("store-to-land chain") is found.
_TOKEN = re.compile(r"(?:(?<![^\s(\"'])\.)?[^\W_]+(?:[.+#][^\W_]+)*[+#]*")
# The ends of English contractions and possessives, written after a letter and an apostrophe
# ("it's", "don't", "we'll", "they're", "I've", "he'd", "I'm", "GitHub's").
_CLITICS = frozenset({"s", "t", "ll", "re", "ve", "d", "m"})
# What may separate the words of one match: spaces, commas, hyphens (not sentence punctuation).
_JOINABLE_GAP = re.compile(r"[\s,\-]*")
# The same, with an apostrophe: only for a vocabulary with a term that has one ("Let's Encrypt",
# "O'Reilly"); elsewhere "github's" stays the term and its "'s".
_JOINABLE_GAP_APOSTROPHE = re.compile(r"[\s,\-'’]*")
_SYLLABLES = re.compile(r"[aeiouy]+")  # roughly, one per syllable
# relevant_terms' bars, in percent: (the lower of letter and sound similarity, the higher).
HEARD_BAR = (50, 70)  # may be saying the term: worth naming it in the prompt
# Clearly says the term. In first readings of 161 jargon clips (the development set, our
# synthesized ones and other dither draws of both; 266 terms said) it found 238 of the terms and
# 24 that were not said (HEARD_BAR: 266 and 393); in the speech set's clips under 25 s, with 60
# tech terms, none (HEARD_BAR: 129).
SURE_BAR = (70, 80)
# correct()'s floors for a fuzzy match: letter and sound similarity, each in 0..1.
_CORRECT_FLOORS = (0.6, 0.75)
# near_misses(): looser floors, and the mean similarity a run of words needs to be one. The bar
# only bounds how often the audio is asked (TextPipeline.confirm), which is what tells the term
# from a look-alike. On seven synthesized jargon sets (202 clips, 404 terms) the checks' gains
# (see CONFIRM_MARGIN) for runs that were the term reached +3.3; for runs that were not, at
# most +1.0 at or above 0.69 and -5.96 between 0.65 and 0.69 ("Shona" for Chroma). On the
# speech set (no jargon, 60 tech terms) all were -8.9 or lower. From 0.69 to 0.65: four more
# terms found ("Vidys" Vitest in three draws, "stinks" Sphinx), none lost; checks 44 -> 56 of
# those clips' readings, 6 -> 7 on the speech set. Below 0.65, down to 0.6: 13 more checks
# there, 4 more on the speech set, no term gained.
_NEAR_FLOORS = (0.5, 0.6)
NEAR_MISS_BAR = 0.65
# _lookup()'s pre-filter: how alike (percent) a term's sound key must be to one of a run's.
_LOOKUP_CUTOFF = 70
# A piece of a term written in camel case ("Py" of NumPy and PyPI, "QL" of GraphQL): the first
# and last pieces of a one-word term that are not a word of their own (see _fragment_piece).
_CAMEL_PIECE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# correct()'s score for one of a term's readings ("pie pie" for PyPI); its exact spelling is 1.0,
# a look-alike at most 0.95.
_READING_SCORE = 0.99

# The words that say a number (not "point" and "dot", which also join names: "Node dot js").
_SAID_NUMBERS = NUMBER_WORDS - {"point", "dot"}

# The words of a term read letter by letter ("el el em"), digits as numbers.

# How alike the rest of a run must be to the rest of a term's reading when the two share a
# first or last word (see _rest_alike): "psychic" for "sy kit" is 0.71, "type" for "soup" 0.46.
_REST_BAR = 0.6

# Small words that never start or end a fuzzy match (they rarely belong to a term).
_FUNCTION_WORDS = frozenset([
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "and", "or", "but", "nor",
    "is", "are", "was", "were", "be", "been", "am", "it", "its", "this", "that", "these",
    "those", "with", "from", "as", "into", "onto", "up", "out", "off", "over", "about", "i",
    "you", "he", "she", "we", "they", "my", "your", "his", "our", "their", "me", "us", "him",
    "her", "them", "not", "no", "so", "if", "then", "than", "can", "could", "do", "does", "did",
    "done", "have", "has", "had", "will", "would", "shall", "should", "may", "might", "must",
    "get", "got", "go", "goes", "went", "all", "any", "some", "what", "when", "where", "who",
    "whom", "how", "why", "there", "here", "just", "like", "one", "very", "also", "only", "now"
])  # fmt: skip

# Articles and prepositions: inside a run of common words they make it an English phrase ("use
# the state", "make use of effects"), no reading of a one-word term (see _Probe.inner_words).
_PHRASE_WORDS = frozenset([
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "into", "onto"
])  # fmt: skip
# Words that end a phrase of their own when Whisper puts a comma after them: small function words
# and interjections ("I told you, v is next" is no uv, "oh, auth failed" no OAuth).
_ENDS_BEFORE_COMMA = _FUNCTION_WORDS | frozenset([
    "oh", "ah", "uh", "um", "hmm", "well", "yes", "yeah", "okay", "ok", "hey"
])  # fmt: skip


def _fragment_piece(piece: str) -> bool:
    """Whether a piece of a camel-case term, written alone, is a sign of that term rather than
    a word: two letters or more, not an acronym or name Whisper knows ("API", "DB"), and short
    ("Py", "Num") or not one of Whisper's whole words ("Postgre"; "Torch" and "Router" are
    words)."""
    return len(piece) >= 2 and not known_name(piece) and (len(piece) <= 3 or not common_word(piece))


def _best_per_owner(scores: np.ndarray, owners: list[int], count: int) -> np.ndarray:
    """Per row, the best score of each owner's columns: (rows, columns) -> (rows, count).

    ``owners`` gives each column's owner, in ascending order, every owner in ``range(count)``
    having at least one column.
    """
    firsts = np.searchsorted(np.asarray(owners), np.arange(count))
    return np.maximum.reduceat(scores, firsts, axis=1)


def term_pattern(term: str) -> re.Pattern[str]:
    """``term`` with its exact spelling and casing, as whole words (not inside another word)."""
    return re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)")


def prompt_text(terms: list[str]) -> str:
    """The vocabulary prompt's two sentences around ``terms`` (see :meth:`Vocabulary.prompt`)."""
    listed = ", ".join(terms[:-1]) + " and " + terms[-1] if len(terms) > 1 else "".join(terms)
    return f"Today we talked about {listed}. Let me tell you what I did."


@dataclass(frozen=True, slots=True)
class _Term:
    text: str
    letters: str
    variants: tuple[str, ...]
    keys: frozenset[str]
    variant_letters: frozenset[str]
    short: bool
    readings: frozenset[tuple[str, ...]]  # the words of the term and of each reading
    # How many letters the term has, written and in each reading said as words, not letter by
    # letter: "sequel lite" for SQLite, not "ess queue lite" or "oh en en ex" for ONNX. A short
    # term's letter-by-letter readings count too ("el el em" for LLM: only near misses use it).
    lengths: frozenset[int]
    # The letters of the term's first and of its last pieces, not all of them ("tensor" and
    # "rt" of TensorRT, "tensorflow" and "flowlite" of TensorFlow Lite; see _part_of_term).
    parts: frozenset[str]
    # A term with a number ("H100", "ES2015", "Llama 3"): the number as written and as each
    # reading says it, and the letters of the rest, as written and in each reading with its
    # number left out (see _same_number).
    numbers: frozenset[tuple[str, ...]] = frozenset()
    named_by: frozenset[str] = frozenset()

    @property
    def apostrophe(self) -> bool:
        """Whether the term is written with an apostrophe ("Let's Encrypt", "O'Reilly")."""
        return "'" in self.text or "’" in self.text


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: int
    end: int
    letters: str
    spoken: str
    # The end of a contraction or possessive ("s" of "it's", "t" of "don't", "ll" of "I'll"):
    # part of the word before it, so no run of words starts there ("it's too" is not Istio).
    clitic: bool = False


@dataclass(frozen=True, slots=True)
class _Probe:
    """A run of words (tokens ``start:stop``) compared with the terms."""

    start: int
    stop: int
    letters: str
    spoken: str  # as read out loud (acronyms letter by letter)
    raw_spoken: str  # as written, lower-cased
    named: bool  # written like a name: capitalised inside a sentence, or an acronym
    ordinary: bool  # one common word, or an acronym Whisper knows, written as such
    said: frozenset[str] = frozenset()  # the letters of spoken and raw_spoken
    keys: frozenset[str] = frozenset()  # their sound keys
    words: frozenset[tuple[str, ...]] = frozenset()  # spoken and raw_spoken, word by word
    # Set when a small function word starts or ends the run: its words, word by word (as
    # spoken and as written), which must be one of a term's readings (see _Term.readings).
    bounded_words: frozenset[tuple[str, ...]] | None = None
    # One word Whisper wrote on purpose: a common word capitalised inside a sentence
    # ("Century", "Tom") or in capitals ("FACTS", four letters or more), or an English word
    # or name that is no single token ("pottery", "Voltaire"; see app.text.english). As
    # often a name, a title, emphasis or what was said as a misheard term, so only the audio
    # may make it a look-alike term (NearMiss.deliberate).
    deliberate: bool = False
    # One word Whisper wrote as an acronym ("GPT", "VPC", "CPP", "GPTs"): one it chose, as
    # often a real acronym as a misheard term, so only the term's letters or a reading of it
    # replace it on looks; the audio may still make it a look-alike (see near_misses).
    acronym: bool = False
    exact: list[_Term] | None = None  # the terms it spells, when it spells one
    # The terms it spells but for a comma after a small word inside ("set up, tools"): "on,
    # click" is no onClick on looks, so only the audio may make it one (see near_misses).
    comma_split: tuple[_Term, ...] = ()
    # The run goes on past a contraction or possessive ("let's build"): only a term written
    # with an apostrophe may be it (see _probes).
    contraction: bool = False
    # Two words or more, each one Whisper knows (a common word, or a name it writes as one
    # token: "New York", "old man"): a phrase it heard, which a term only replaces when the two
    # begin with the same sound or the phrase sounds like the term's end (see _same_start).
    known_words: bool = False
    # One of its words already is a term: only a reading of a longer term may take it.
    holds_term: bool = False
    # Two words or more, all common, with an article or preposition inside ("use the state"):
    # those inner words, which only a term with them in one of its readings may have.
    inner_words: frozenset[str] = frozenset()
    # The letters of its words Whisper wrote as acronyms, in a run of two words or more.
    acronyms: frozenset[str] = frozenset()
    # A comma after a small word or interjection inside the run ("you, v", "on, click"): a
    # phrase ended there, so the run is no one-word term.
    comma_after_small: bool = False
    # The number that follows the run, as written ("3" after "GPT" of "GPT-3", "one" after
    # "resnet fifty" of "resnet fifty one"); None when none does (see _number_may_be).
    number_next: str | None = None


@dataclass(frozen=True, slots=True)
class NearMiss:
    """Characters ``start:end`` of a transcript look somewhat like ``term`` (``score`` in 0..1),
    too little to be replaced on looks alone (see :meth:`Vocabulary.near_misses`)."""

    start: int
    end: int
    term: str
    score: float
    # The words are one word Whisper wrote on purpose ("Century", "Tom", "FACTS", "pottery"),
    # not a guess at one it did not know, so the audio must find the term likelier (see
    # TextPipeline.confirm).
    deliberate: bool = False


@dataclass(order=True, slots=True)
class _Match:
    score: float
    size: int
    start: int = field(compare=False)
    stop: int = field(compare=False)
    term: _Term = field(compare=False)


def _is_acronym_token(word: str) -> bool:
    bare = word.replace(".", "")
    return bare.isalpha() and bare.isupper() and (len(bare) >= 2 or "." in word)


def _written_acronym(word: str) -> bool:
    """Whether ``word`` is written as an acronym, maybe with a plural "s" ("GPT", "L.L.M.",
    "GPTs")."""
    bare = word[:-1] if word.endswith("s") and word[:-1].replace(".", "").isupper() else word
    return _is_acronym_token(bare)


# Letters whose names Whisper confuses: the "E-set" (bee, see, dee, ee, gee, pee, tee, vee,
# zee) and "em"/"en".
_CONFUSED_LETTERS = (frozenset("bcdegptvz"), frozenset("mn"))
# The capitals of a term written as an acronym, or in part ("RPC" of gRPC, "LLM" of vLLM).
_CAPITAL_RUN = re.compile(r"[A-Z]{3,}")


def _misheard_acronym(letters: str, term: _Term) -> bool:
    """Whether an acronym Whisper wrote (``letters``, lower-cased) is the acronym of ``term``,
    or it with one letter Whisper confuses for another: "RBC" for gRPC ("the RBC" for "gee ar
    pee see"), "LLM" for vLLM. "VPC" and "GPT" are not gRPC, "CPP" not TCP/IP."""
    for run in _CAPITAL_RUN.findall(term.text):
        run = run.lower()
        if len(run) != len(letters):
            continue
        apart = [(a, b) for a, b in zip(run, letters, strict=True) if a != b]
        if not apart or (len(apart) == 1 and any(set(apart[0]) <= g for g in _CONFUSED_LETTERS)):
            return True
    return False


def _looks_named(text: str, token: _Token) -> bool:
    """True for an acronym, or a capitalised word that does not start a sentence."""
    if _is_acronym_token(token.text):
        return True
    if not token.text[:1].isupper():
        return False
    before = text[: token.start].rstrip()
    return bool(before) and before[-1] not in ".!?:;\"'(\n"


def _tokens(text: str) -> list[_Token]:
    """The words of ``text``; never a piece of an identifier ("jupyter_config.py")."""
    tokens = []
    for m in _TOKEN.finditer(text):
        if text[m.start() - 1 : m.start()] == "_" or text[m.end() : m.end() + 1] == "_":
            continue
        word = m.group()
        letters = letters_of(word)
        spoken = spell_out(word) if _is_acronym_token(word) else word.lower()
        if len(letters) == 1 and letters.isalpha() and letters not in {"a", "i"}:
            spoken = LETTER_NAMES.get(letters, spoken)  # (a letter of another alphabet: "π", "я")
        at = m.start()
        clitic = letters in _CLITICS and at >= 2 and text[at - 1] in "'’" and text[at - 2].isalpha()
        tokens.append(_Token(word, at, m.end(), letters, spoken, clitic))
    return tokens


def _inflection(word: str, term: str) -> bool:
    """Whether the letters ``word`` are the letters ``term`` with a plural ending, or ``term``
    is ``word`` with one ("dockers" of Docker, "panda" of pandas; not "system" of systemd)."""
    return any(word == term + e or term == word + e for e in ("s", "es"))


def _inside_word(text: str, before: _Token, after: _Token) -> bool:
    """Whether two words are the halves of one joined by an apostrophe ("o'clock",
    "O'Brien"), not a word and its contraction or possessive ("it's", "GitHub's")."""
    return not after.clitic and text[before.end : after.start] in {"'", "’"}


def _written(text: str, span: list[_Token]) -> str:
    """The words of ``span`` as ``text`` joins them: a hyphen kept ("Scikit-Learn"), any other
    gap (a space, a comma) as one space."""
    joined = span[0].text
    for before, token in itertools.pairwise(span):
        joined += ("-" if text[before.end : token.start] == "-" else " ") + token.text
    return joined


class Vocabulary:
    """The user's terms, for biasing Whisper and for fixing the transcript afterwards.

    ``sensitivity`` (0..1) trades missed fixes against false ones; 0.5 is the default.
    """

    def __init__(self, terms: list[str], sensitivity: float = 0.5) -> None:
        self.sensitivity = min(max(sensitivity, 0.0), 1.0)
        seen: dict[str, str] = {}
        for raw in terms:
            term = " ".join(raw.split())
            if term and term not in seen:
                seen[term] = term
        self.terms: list[str] = list(seen)
        self._terms: list[_Term] = []
        for term in self.terms:
            letters = letters_of(term)
            if not letters:
                continue
            variants = tuple(spoken_variants(term))
            keys = frozenset(sound_key(v) for v in (term, *variants))
            # A term with a leading symbol ("@property", "$HOME") is only its spelling or a
            # reading, as a short term: "properly" is no "@property" (see leading_symbol).
            short = len(letters) <= 3 or len(sound_key(term)) <= 2 or bool(leading_symbol(term))
            variant_letters = frozenset(letters_of(v) for v in variants)
            readings = frozenset(_word_letters(v) for v in (term, *variants))
            measured = [v for v in variants if short or not LETTER_WORDS.intersection(v.split())]
            lengths = frozenset({len(letters), *(len(letters_of(v)) for v in measured)})
            numbers: frozenset[tuple[str, ...]] = frozenset()
            named_by: frozenset[str] = frozenset()
            if _number_of(term):
                numbers = frozenset(_number_of(v) for v in (term, *variants)) - {()}
                named_by = frozenset(_without_number(v) for v in (term, *variants)) - {""}
            self._terms.append(
                _Term(
                    term,
                    letters,
                    variants,
                    keys,
                    variant_letters,
                    short,
                    readings,
                    lengths,
                    _parts(term),
                    numbers,
                    named_by,
                )
            )
        self._short_terms = [t for t in self._terms if t.short]
        # near_misses() asks the audio about short terms, never about one with a leading symbol:
        # "dataclass" said is no "@dataclass" (the symbol must be said).
        self._near_short_terms = [t for t in self._short_terms if not leading_symbol(t.text)]
        # Pieces of terms, as written, for near_misses(): piece -> [(term, the piece ends it)].
        self._fragments: dict[str, list[tuple[_Term, bool]]] = {}
        for t in self._terms:
            pieces = _CAMEL_PIECE.findall(t.text)
            if len(pieces) < 2 or "".join(pieces) != t.text:
                continue
            for piece, at_end in ((pieces[0], False), (pieces[-1], True)):
                if _fragment_piece(piece):
                    self._fragments.setdefault(piece, []).append((t, at_end))
        self._by_letters: dict[str, list[_Term]] = {}
        self._by_reading: dict[str, list[_Term]] = {}  # the letters of each spelling and reading
        for t in self._terms:
            self._by_letters.setdefault(t.letters, []).append(t)
            for letters in sorted({t.letters, *t.variant_letters}):
                self._by_reading.setdefault(letters, []).append(t)
        # Flat lists for fast fuzzy lookup (rapidfuzz.process works on sequences).
        self._key_choices: list[str] = []
        self._key_owner: list[_Term] = []
        for t in self._terms:
            if t.short:
                continue
            for key in t.keys:
                self._key_choices.append(key)
                self._key_owner.append(t)
        # The longest run of words compared with the terms: a term's longest reading and one
        # more word, or a word per syllable ("mat plot lib" for Matplotlib), at most six.
        self._gap = (
            _JOINABLE_GAP_APOSTROPHE if any("'" in t or "’" in t for t in self.terms) else _JOINABLE_GAP
        )
        longest = max((len(v.split()) + 1 for t in self._terms for v in t.variants), default=2)
        syllables = max((len(_SYLLABLES.findall(t.letters)) for t in self._terms), default=1)
        self._max_words = min(6, max(longest, syllables))
        # For relevant_terms(): every spelling and sound key of every term, grouped by term.
        self._rel_letters: list[str] = []
        self._rel_letters_owner: list[int] = []
        self._rel_keys: list[str] = []
        self._rel_keys_owner: list[int] = []
        for index, t in enumerate(self._terms):
            for letters in sorted({t.letters, *t.variant_letters}):
                self._rel_letters.append(letters)
                self._rel_letters_owner.append(index)
            for key in sorted(t.keys):
                self._rel_keys.append(key)
                self._rel_keys_owner.append(index)

    def __bool__(self) -> bool:
        return bool(self._terms)

    # --- biasing -----------------------------------------------------------------------------
    def _biasing_terms(self) -> list[str]:
        """The terms once each ignoring case (the first spelling wins): "LLM, llm" in a prompt
        tells Whisper nothing more than "LLM" and only perturbs decoding; casing is
        :meth:`correct`'s job."""
        seen: dict[str, str] = {}
        for term in self.terms:
            seen.setdefault(term.casefold(), term)
        return list(seen.values())

    def prompt(
        self,
        max_tokens: int | None = None,
        count: Callable[[str], int] | None = None,
        favour: Collection[str] = (),
    ) -> str | None:
        """An ``initial_prompt`` naming the terms in their exact spelling (None when empty).

        Whisper reads the prompt as the text said just before and carries on in its style. A
        bare list ("Glossary: a, b, c.") made it write lists ("Marimo, Node, Book, Python,
        Files"); the terms inside two ordinary sentences bias it as much with less of that.
        On our jargon clips (dev set plus 50 synthesized ones, with each set's own terms and
        with 47) this prose had 0.8-3.1 points lower WER and 6-48 % fewer stray commas.

        With ``max_tokens`` and ``count`` (a token counter), a vocabulary too long for that many
        tokens names only :meth:`prompt_terms`: Whisper would otherwise drop the prompt's
        beginning, and with it the first sentence and the oldest terms.
        """
        terms = self.prompt_terms(max_tokens, count, favour)
        return prompt_text(terms) if terms else None

    def prompt_terms(
        self,
        max_tokens: int | None = None,
        count: Callable[[str], int] | None = None,
        favour: Collection[str] = (),
    ) -> list[str]:
        """The terms :meth:`prompt` names: all of them, in the user's order, when they fit in
        ``max_tokens`` as measured by ``count``; else the ``favour``-ed terms (say, those
        :meth:`relevant_terms` found in a first reading; compared ignoring case), then as many
        of the newest others as fit (a term just added is usually one Whisper just got wrong).
        Favoured terms come last, nearest to the speech, whether or not all fit. Every term is
        still auto-corrected.

        On our 50 synthesized clips with their 82 terms (269 tokens), naming the newest 58 in
        the whole prompt gave 25.0 % WER and 60/83 terms, against 27.2 % and 58/83 when Whisper
        cut the prompt's front; leaving out one-token terms first ("Docker", "Kafka": words
        Whisper knows) was worse, 33.3 % and 53/83: naming them still helps. A term that takes
        more than a quarter of ``max_tokens`` by itself is passed over when it does not fit.
        """
        terms = self._biasing_terms()
        wanted = {t.casefold() for t in favour}
        kept = [t for t in terms if t.casefold() in wanted]
        others = [t for t in terms if t.casefold() not in wanted]
        if max_tokens is None or count is None or not terms or count(" " + prompt_text(terms)) <= max_tokens:
            return others + kept
        while kept and count(" " + prompt_text(kept)) > max_tokens:
            kept.pop(0)  # more favoured terms than room: the newest of them
        room = max_tokens - count(" " + prompt_text(kept))
        newest: list[str] = []  # the newest others that fit, newest first
        for term in reversed(others):
            cost = count(" " + term) + 1  # term and separator
            if cost <= room:
                newest.append(term)
                room -= cost
            elif cost > max_tokens // 4:
                continue  # a term as long as a sentence would crowd out all the others
            else:
                break
        newest.reverse()
        while newest and count(" " + prompt_text(newest + kept)) > max_tokens:
            newest.pop(0)  # BPE merges the per-term sum did not foresee
        named = newest + kept
        log.debug("vocabulary prompt names %d of %d terms (%d favoured)", len(named), len(terms), len(kept))
        return named

    def relevant_terms(self, text: str, bar: tuple[int, int] = HEARD_BAR) -> list[str]:
        """The terms ``text`` seems to say, even badly misheard, in the user's order.

        For choosing which terms a prompt names, and where (see :meth:`prompt_terms`), never for
        rewriting: the bar is far lower than :meth:`correct`'s. A run of up to four words counts
        as saying a term when its letters or its sound key are at least ``bar[1]`` % like the
        term's, and neither is under ``bar[0]`` %. The default, :data:`HEARD_BAR`, hears
        "psychic learn" in scikit-learn, and also some terms nobody said; :data:`SURE_BAR`
        rarely hears a term in ordinary speech.
        """
        if not self._terms:
            return []
        letters_list: list[str] = []
        keys: list[str] = []
        tokens = _tokens(text)
        for i in range(len(tokens)):
            if tokens[i].clitic:
                continue
            for j in range(i + 1, min(len(tokens), i + 4) + 1):
                span = tokens[i:j]
                letters = "".join(t.letters for t in span)
                if len(letters) < 3:
                    continue
                letters_list.append(letters)
                keys.append(sound_key(" ".join(t.spoken for t in span)))
        if not letters_list:
            return []
        count = len(self._terms)
        by_letters = _best_per_owner(
            process.cdist(letters_list, self._rel_letters, scorer=fuzz.ratio, dtype=np.uint8),
            self._rel_letters_owner,
            count,
        )
        by_sound = _best_per_owner(
            process.cdist(keys, self._rel_keys, scorer=fuzz.ratio, dtype=np.uint8),
            self._rel_keys_owner,
            count,
        )
        both = np.minimum(by_letters, by_sound) >= bar[0]
        near = (np.maximum(by_letters, by_sound) >= bar[1]) & both
        found = {self._terms[k].text.casefold() for k in np.flatnonzero(near.any(axis=0))}
        return [t for t in self._biasing_terms() if t.casefold() in found]

    def hotwords(self) -> str | None:
        """faster-whisper ``hotwords``: the terms, comma-separated (None when empty)."""
        if not self.terms:
            return None
        return ", ".join(self._biasing_terms())

    # --- correction --------------------------------------------------------------------------
    def _threshold(self) -> float:
        """The mean of letter and sound similarity a fuzzy match needs, from the sensitivity."""
        return 0.83 - (self.sensitivity - 0.5) * 0.2

    def _score(self, probe: _Probe, term: _Term) -> float:
        """Similarity of a run of words to ``term`` in 0..1, or 0.0 when it is not a match.

        ``probe.named`` says Whisper wrote the words like a name (capitalised inside a
        sentence, or an acronym): a hint that it heard something it did not know, so the bar is
        a little lower. ``probe.ordinary`` says the run is one common word written as such (see
        :func:`~app.transcribe.tokens.common_word`), or an acronym or a name Whisper knows
        ("API", "GitHub", see :func:`~app.transcribe.tokens.known_name`): Whisper, shown the
        terms in its prompt, wrote the word it heard, so only the term itself or one of its
        spoken readings ("sequel" for SQL) replaces it, never a look-alike ("back" stays, not
        Black; "API" stays, not PyPI; "GitHub" stays, not GitLab). ``probe.deliberate``, one
        word Whisper wrote on purpose (a common word capitalised inside a sentence or in
        capitals, a rare English word), is that word as often as a misheard term ("talked
        to Tom" is no TOML, "the Great Spirit" no Pyright): likewise, and :meth:`near_misses`
        leaves it to the audio ("Errors go to Century" may be Sentry).
        """
        if probe.bounded_words is not None and not probe.bounded_words & term.readings:
            return 0.0  # "I sort" is not isort, "in it" not init; "my sequel" is MySQL
        if probe.contraction and not term.apostrophe:
            return 0.0  # "let's build" is not esbuild
        if _reading_with_words_between(probe, term):
            return 0.0  # "hugging my face" is no Hugging Face: made the term, "my" was lost
        if _phrase(probe, term):
            return 0.0  # "I told you, v" is no uv; "use the state", "use of state" no useState
        if probe.letters == term.letters:
            return 1.0
        if term.numbers and probe.number_next is not None and not _number_may_be(probe, term):
            return 0.0  # "GPT" of "GPT-3" is not GPT-4o, "llama three" of "llama three point one" no Llama 3
        if probe.said & term.variant_letters:
            # A letter's name is a common word ("see" for C, "queue" for Q, "ex" for X): one
            # written as such is that word, not the letter ("let me see the code").
            letter = len(term.letters) == 1 and probe.stop - probe.start == 1
            return 0.0 if letter and probe.ordinary else _READING_SCORE
        if probe.holds_term:
            return 0.0
        # an English word that is the term with or without a plural ending ("dockers", "panda")
        # (in capitals too, "DOCKERS"; but the "S" of an acronym is a letter of its own: "HTTP"
        # is no HTTPS)
        inflected = _inflection(probe.letters, term.letters) and (
            probe.deliberate or (probe.acronym and not term.text.isupper())
        )
        chosen = probe.deliberate or (probe.acronym and not _misheard_acronym(probe.letters, term))
        if (probe.ordinary or chosen or term.short) and not inflected:
            return 0.0  # only the term or a reading of it (above), never a look-alike
        if len(probe.letters) < (3 if probe.named else 4):
            return 0.0
        if _contains_term(probe, term):
            return 0.0  # "Darrow" is no Arrow, "hydrant" no Hydra: another word with the term in it
        if _part_of_term(probe, term):
            return 0.0  # "TensorFlow" is no TensorFlow Lite, "tensor" no TensorRT: looks add no piece
        if term.numbers and not self._same_number(probe, term):
            return 0.0  # "in 2015" is not ES2015, "each 100" not H100, "Python 3.11" not 3.12
        if not _rest_alike(probe, term) or not _rest_of_acronym_alike(probe, term):
            return 0.0  # "beautiful type" is not BeautifulSoup: "type" is nothing like "soup"
        if probe.known_words and not _same_start(probe, term):
            return 0.0  # "the old man" is no Podman; "pod man", "psychic learn" may be terms
        score = self._similarity(probe, term, _CORRECT_FLOORS)
        return 0.95 * score if score >= self._threshold() else 0.0

    def _same_number(self, probe: _Probe, term: _Term) -> bool:
        """Whether a run of words may be ``term``, a term with a number, on looks. A run that
        says a number, in digits or words, must say the term's, and the rest of it alone must
        look like the rest of the term ("Lama 3" for Llama 3): the number must not carry a
        look-alike ("in 2015" and "in twenty fifteen" are not ES2015, "each 100" not H100). A
        run without a number is judged as any other ("flakeate" is Flake8 said, "GPT" of
        "GPT 403" is GPT-4o).
        """
        said = _number_of(probe.raw_spoken)
        if not said:
            # The number may be heard as letters ("flakeate"), which then add to the name's:
            # a run no longer than the name alone is the name without its number ("Ask GPT",
            # "the large v") and says nothing of which version was meant, unless one like the
            # term's follows it ("GPT 403", checked in _score).
            if probe.number_next is not None:
                return True
            if not _number_heard(probe, term):
                return False  # "HTTP today", "use HTTP": the name heard right, and other words
            shortest = min((len(named) for named in term.named_by), default=0)
            return not shortest or len(probe.letters) >= shortest + 2
        if said not in term.numbers:
            return False
        rest = _without_number(probe.raw_spoken)
        if not rest or not term.named_by:
            return not rest and not term.named_by
        return max(fuzz.ratio(rest, named) for named in term.named_by) / 100 >= self._threshold()

    @staticmethod
    def _similarity(probe: _Probe, term: _Term, floors: tuple[float, float]) -> float:
        """The mean of letter and sound similarity of a run of words and ``term`` (plus 0.05
        when Whisper wrote the words like a name it did not know), or 0.0 when the run's length
        is far from the term's and from each of its readings said as words, or either
        similarity is under its floor in ``floors`` (letters, sound)."""
        if not any(0.6 <= len(probe.letters) / n <= 1.8 for n in term.lengths):
            return 0.0
        targets = {term.letters, *term.variant_letters}
        letter_sim = max(fuzz.ratio(s, t) for s in {probe.letters, *probe.said} for t in targets) / 100
        sound_sim = max(fuzz.ratio(k, tk) for k in probe.keys for tk in term.keys) / 100
        if letter_sim < floors[0] or sound_sim < floors[1]:
            return 0.0
        # (words Whisper knows, capitalised, are a name it heard, not one it did not know:
        # "in New York" is no NetworkX)
        named = probe.named and not probe.known_words
        return 0.5 * (letter_sim + sound_sim) + (0.05 if named else 0.0)

    def _probes(self, tokens: list[_Token], text: str) -> Iterator[_Probe]:
        """Every run of up to ``_max_words`` words joined by spaces, commas or hyphens that may
        be a term: one that spells a term (``exact``), or one worth comparing with the terms
        (no small function word at either end, no word that already is a term)."""
        n = len(tokens)
        for i in range(n):
            if tokens[i].clitic:
                continue  # "it's too" is no Istio: "s" belongs to "it"
            if i > 0 and _inside_word(text, tokens[i - 1], tokens[i]):
                continue  # "clock" of "o'clock", "Brien" of "O'Brien": the end of a word
            for j in range(i + 1, min(n, i + self._max_words) + 1):
                if j - i > 1 and not self._gap.fullmatch(text[tokens[j - 2].end : tokens[j - 1].start]):
                    break
                if j < n and _inside_word(text, tokens[j - 1], tokens[j]):
                    continue  # the run would end inside "o'clock": "three o" is no Trio
                span = tokens[i:j]
                letters = "".join(t.letters for t in span)
                # A run that starts or ends with a small word ("my", "no") is only a term when
                # its words are those of one of the term's readings ("my sequel" for MySQL,
                # "talk Python To Me"): the same letters split otherwise are ordinary words
                # ("I sort" is not isort, "in it" not init, "a sync" not async).
                bounded = span[0].letters in _FUNCTION_WORDS or span[-1].letters in _FUNCTION_WORDS
                if bounded and j - i == 1:
                    continue
                if span[0].letters in _FUNCTION_WORDS and all(_says_number(t) for t in span[1:]):
                    continue  # "a 100 people", "I am a 100% sure": a word and a number, not A100
                    # (only the joined "A100" is the term)
                spoken = " ".join(t.spoken for t in span)
                raw_spoken = " ".join(t.text.lower() for t in span)
                words = frozenset({_word_letters(spoken), _word_letters(raw_spoken)})
                runs = None
                if bounded and not all(len(t.letters) == 1 for t in span):  # "P Y P I" is spelled
                    runs = words
                exact = self._by_letters.get(letters)
                if exact and runs is not None:
                    exact = [t for t in exact if runs & t.readings]
                    if not exact:
                        continue
                # Runs cross an apostrophe only for a vocabulary with a term written with one
                # (see _JOINABLE_GAP_APOSTROPHE), and only such a term may be one: "let's
                # build" is Let's Encrypt's neighbour, not esbuild.
                contraction = any(t.clitic for t in span[1:])
                if exact and contraction:
                    exact = [t for t in exact if t.apostrophe]
                    if not exact:
                        continue
                comma_after_small = any(
                    before.letters in _ENDS_BEFORE_COMMA and "," in text[before.end : after.start]
                    for before, after in itertools.pairwise(span)
                )
                if exact and comma_after_small:
                    whole = [t for t in exact if " " in t.text]  # "on, click" is no onClick
                    if not whole:
                        yield _Probe(i, j, letters, "", "", False, False, comma_split=tuple(exact))
                        continue
                    exact = whole
                if exact:
                    yield _Probe(i, j, letters, "", "", False, False, exact=exact)
                    continue
                # A word that already is a term is never swallowed by a look-alike, only by a
                # reading of a longer term ("c plus plus" for C++ beside C; see _score).
                holds_term = any(t.letters in self._by_letters for t in span)
                named = all(_looks_named(text, t) for t in span)
                word = span[0].text
                ordinary = bounded or (
                    j - i == 1
                    and (
                        known_name(word)
                        or given_name(word)
                        or (not named and (common_word(word) or self._inflected_word(word)))
                    )
                )
                said = frozenset({letters_of(spoken), letters_of(raw_spoken)})
                keys = frozenset({sound_key(spoken), sound_key(raw_spoken)})
                # One common word written capitalised ("Tom") or in capitals of four letters or
                # more ("FACTS" is no FAISS, "DOCTOR" no Docker; a shorter one is an acronym as
                # often, "BIP" for pip), or a rarer English word or name in lower case or
                # capitalised ("pottery" is no Poetry, "Voltaire" no Altair).
                deliberate = (
                    j - i == 1
                    and not ordinary
                    and (
                        (
                            named
                            and (word.istitle() or (word.isupper() and len(word) >= 4))
                            and common_word(word)
                        )
                        or ((word.islower() or (named and word.istitle())) and english_word(word))
                    )
                )
                known_words = j - i > 1 and all(common_word(t.text) or given_name(t.text) for t in span)
                inner = frozenset(t.letters for t in span[1:-1] if t.letters in _PHRASE_WORDS)
                yield _Probe(
                    i,
                    j,
                    letters,
                    spoken,
                    raw_spoken,
                    named,
                    ordinary,
                    said,
                    keys,
                    words,
                    runs,
                    deliberate,
                    acronym=j - i == 1 and _written_acronym(word),
                    contraction=contraction,
                    known_words=known_words,
                    holds_term=holds_term,
                    inner_words=inner if known_words else frozenset(),
                    comma_after_small=comma_after_small,
                    acronyms=frozenset(t.letters for t in span if j - i > 1 and _is_acronym_token(t.text)),
                    number_next=_number_follows(tokens, j),
                )

    def _inflected_word(self, word: str) -> bool:
        """Whether ``word`` is a common word with an ending ("cutters", see
        :func:`~app.transcribe.tokens.inflected_common_word`) that is not a term with that
        ending ("googled" is Google's, when Google is a term)."""
        if not inflected_common_word(word):
            return False
        low = letters_of(word)
        return not any(low.endswith(e) and low[: -len(e)] in self._by_letters for e in WORD_ENDINGS)

    def _candidates(self, tokens: list[_Token], text: str, probes: Iterable[_Probe]) -> list[_Match]:
        matches: list[_Match] = []
        for probe in probes:
            i, j = probe.start, probe.stop
            if probe.comma_split:
                continue  # (only the audio may make it the term: see near_misses)
            if probe.exact:
                term = self._pick_case(probe.exact, _written(text, tokens[i:j]))
                matches.append(_Match(1.0, j - i, i, j, term))
                continue
            for term in self._lookup(probe):
                score = self._score(probe, term)
                if score > 0 and not _stops_short(tokens, probe, term):
                    matches.append(_Match(score, j - i, i, j, term))
            for term in self._said_once(tokens, probe):
                if not _stops_short(tokens, probe, term):
                    matches.append(_Match(_READING_SCORE, j - i, i, j, term))
        return matches

    def _said_once(self, tokens: list[_Token], probe: _Probe) -> list[_Term]:
        """The terms a run of words reads as once a letter that ends one word and starts the
        next is said once, as speakers say it: "postgres sequel" and "Postgres SQL" are
        PostgreSQL ("postgre sequel"), also when Postgres is a term too (a word that is a term
        is only taken by a reading, see :meth:`_score`; these are readings, so the longer one
        wins, see :func:`_correction_order`). Only runs without a small word at either end or a
        contraction, and no term with a number that another number follows."""
        if probe.stop - probe.start < 2 or probe.bounded_words is not None or probe.contraction:
            return []
        merged = tokens[probe.start].letters
        for token in tokens[probe.start + 1 : probe.stop]:
            shared = merged[-1:].isalpha() and merged[-1:] == token.letters[:1]
            merged += token.letters[1:] if shared else token.letters
        if merged == probe.letters:
            return []
        return [
            t for t in self._by_reading.get(merged, ()) if not (t.numbers and probe.number_next is not None)
        ]

    def near_misses(self, text: str, limit: int = 4) -> list[NearMiss]:
        """Runs of words in ``text`` that look somewhat like a term, not enough for
        :meth:`correct` to replace them on looks alone, at most ``limit``, most alike first.

        Only runs Whisper did not write as a common word ("radio", "API" are what it heard)
        and that are at least :data:`NEAR_MISS_BAR` like a term, short terms included
        ("BIP" for pip), and a piece of a term written alone with its neighbour ("them Py"
        for NumPy, see :meth:`_fragment_misses`). Whether the audio says the term is for the
        speech model to judge (see ``TextPipeline.confirm``): on our jargon clips most of these
        are not the term.
        """
        if not self._terms or not text.strip():
            return []
        tokens = _tokens(text)
        probes = list(self._probes(tokens, text))
        # Words that already spell a term are kept: "GitHub Actions builds" is not a near miss
        # of GitHub Actions.
        spelled = {k for p in probes if p.exact for k in range(p.start, p.stop)}
        # Words correct() writes as a term on looks: a run that shares a word with them is no
        # near miss ("void it at POSTGR SQL" or "POSTGR" for PostgreSQL, when "POSTGR SQL" is
        # it already; "Gama" for Mamba, when "Gama index" is LlamaIndex). Replacing it would
        # only drop the words around the term, which the audio's check favours (fewer tokens
        # score higher), write the term twice, or break up a term the looks found.
        corrected = spelled | {k for m in self._chosen(tokens, text, probes) for k in range(m.start, m.stop)}
        found: dict[tuple[int, int, str], NearMiss] = {}
        for probe in probes:
            if corrected.intersection(range(probe.start, probe.stop)):
                continue
            if probe.comma_split:
                # The term's very letters, a comma inside: Whisper, under the prompt, puts
                # commas after small words ("set up, tools" for setuptools, 3 voices of 3 in a
                # review), as a speaker does ("turn it on, click save").
                start, end = tokens[probe.start].start, tokens[probe.stop - 1].end
                term = self._pick_case(
                    list(probe.comma_split), _written(text, tokens[probe.start : probe.stop])
                )
                found[(start, end, term.text)] = NearMiss(start, end, term.text, 1.0)
                continue
            if probe.exact or probe.ordinary or len(probe.letters) < 3:
                continue
            # Words Whisper does not know are looked up as loosely as the sound floor ("Midest"
            # is 67 % like pytest by sound key); known words ("new API") need a closer sound.
            unknown = any(
                not (common_word(t.text) or known_name(t.text)) for t in tokens[probe.start : probe.stop]
            )
            looked_up = self._lookup(probe, 100 * _NEAR_FLOORS[1] if unknown else _LOOKUP_CUTOFF)
            seen = {id(t) for t in looked_up}  # (by identity: comparing the dataclasses cost seconds)
            terms = [*looked_up, *(t for t in self._near_short_terms if id(t) not in seen)]
            if probe.contraction:
                terms = [t for t in terms if t.apostrophe]
            if any(self._score(probe, term) > 0 for term in terms):
                # correct() writes a term here on looks alone, which wins over a less alike
                # one ("Alama" is Ollama, not LLM: tiny.en's check, with LLM said just before,
                # once preferred LLM).
                continue
            for term in terms:
                if (
                    _phrase(probe, term)
                    or (term.numbers and not _number_heard(probe, term))
                    or not _rest_of_acronym_alike(probe, term)
                ):
                    # English text, or words heard right beside a term's name or acronym, not
                    # a guess at a word Whisper did not know: the audio's check favours
                    # dropping words ("Use the state" became useState in 2 of 4 voices)
                    continue
                score = self._similarity(probe, term, _NEAR_FLOORS)
                if score >= NEAR_MISS_BAR:
                    start, end = tokens[probe.start].start, tokens[probe.stop - 1].end
                    found[(start, end, term.text)] = NearMiss(start, end, term.text, score, probe.deliberate)
        for miss in self._fragment_misses(tokens, text, probes, spelled):
            found.setdefault((miss.start, miss.end, miss.term), miss)
        return sorted(found.values(), key=lambda m: -m.score)[:limit]

    def _fragment_misses(
        self, tokens: list[_Token], text: str, probes: list[_Probe], spelled: set[int]
    ) -> Iterator[NearMiss]:
        """A piece of a term written alone (see :func:`_fragment_piece`) with the word on the
        side of the missing part: tiny.en, shown NumPy in its prompt, wrote "them Py" or "him,
        Py" for it (39 of 101 espeak-ng voices saying one sentence), and "Strav QL" for
        GraphQL, words that look nothing like the term. Only the audio can tell
        (``TextPipeline.confirm``): for NumPy the checks gained +0.1 to -8 nats, 25 of 39 within
        the margin, and 27 more of those voices came out right. No transcript of the speech
        set (60 tech terms) changed."""
        by_span = {(p.start, p.stop): p for p in probes}
        for k, token in enumerate(tokens):
            for term, at_end in self._fragments.get(token.text, ()):
                other = k - 1 if at_end else k + 1
                if not 0 <= other < len(tokens) or spelled.intersection((k, other)):
                    continue
                first, last = min(k, other), max(k, other)
                if not self._gap.fullmatch(text[tokens[first].end : tokens[last].start]):
                    continue
                probe = by_span.get((first, last + 1))
                if probe is not None and any(self._score(probe, t) > 0 for t in (term, *self._lookup(probe))):
                    # correct() writes a term here on looks alone ("Py Torch"; "sigh Py" is
                    # SciPy, not a near miss of NumPy), as near_misses() leaves such runs.
                    continue
                yield NearMiss(tokens[first].start, tokens[last].end, term.text, NEAR_MISS_BAR)

    def _lookup(self, probe: _Probe, cutoff: float = _LOOKUP_CUTOFF) -> list[_Term]:
        """Terms worth scoring for this run of words (a cheap pre-filter): short terms it
        reads as, and terms with a sound key at least ``cutoff`` (0..100) like one of its."""
        found: dict[int, _Term] = {}
        for t in self._short_terms:
            if probe.said & t.variant_letters:
                found[id(t)] = t
        if self._key_choices:
            for key in probe.keys:
                if len(key) < 2:
                    continue
                for _, _, idx in process.extract(
                    key, self._key_choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=8
                ):
                    owner = self._key_owner[idx]
                    found[id(owner)] = owner
        return list(found.values())

    @staticmethod
    def _pick_case(options: list[_Term], written: str) -> _Term:
        """Among terms that differ only in casing, keep the one the transcript already has.

        Failing an exact match, follow the transcript's casing: words Whisper wrote in capitals
        (or as dotted letters, "L.L.M.") pick an all-capitals term, all lower-case words pick an
        all-lower-case one; otherwise the term added first wins. ``written`` is the span as the
        transcript has it (see :func:`_written`).
        """
        if len(options) == 1:
            return options[0]
        for term in options:
            if term.text == written:
                return term
        letters = [c for c in written if c.isalpha()]
        if letters and all(c.isupper() for c in letters) and len(letters) > 1:
            wanted = str.isupper
        elif letters and all(c.islower() for c in letters):
            wanted = str.islower
        else:
            return options[0]
        for term in options:
            if wanted(term.text):
                return term
        return options[0]

    def _chosen(self, tokens: list[_Token], text: str, probes: Iterable[_Probe]) -> list[_Match]:
        """The matches :meth:`correct` writes among ``probes`` (the runs of words of ``tokens``,
        see :meth:`_probes`): the best first (see :func:`_correction_order`), none sharing a word
        with a better one. Words that spell a term are among them."""
        matches = self._candidates(tokens, text, probes)
        matches.sort(key=_correction_order, reverse=True)
        taken = [False] * len(tokens)
        chosen: list[_Match] = []
        for m in matches:
            if any(taken[m.start : m.stop]):
                continue
            for k in range(m.start, m.stop):
                taken[k] = True
            chosen.append(m)
        return chosen

    def correct(self, text: str) -> str:
        """Replace near misses of the terms in ``text`` by the terms, in their exact spelling.

        >>> Vocabulary(["scikit-learn", "GitHub"]).correct("I use sicket learn on github.")
        'I use scikit-learn on GitHub.'
        """
        if not self._terms or not text.strip():
            return text
        tokens = _tokens(text)
        out = text
        chosen = self._chosen(tokens, text, self._probes(tokens, text))
        for m in sorted(chosen, key=lambda m: m.start, reverse=True):
            start, end = tokens[m.start].start, tokens[m.stop - 1].end
            m.term = self._pick_case(
                self._by_letters[m.term.letters], _written(text, tokens[m.start : m.stop])
            )
            start, end = _whole_term_around(out, start, end, m.term.text)
            fixed = m.term.text + _word_ending(letters_of(out[start:end]), m.term)
            if out[start:end] != fixed:
                log.debug("vocabulary: %r -> %r (%.2f)", out[start:end], fixed, m.score)
                out = out[:start] + fixed + out[end:]
        return out


def _reading_with_words_between(probe: _Probe, term: _Term) -> bool:
    """Whether the run ``probe`` says each word of one of ``term``'s readings of several
    words, in order, from its first to its last, with other words between them: words
    Whisper heard, which the term would drop ("hugging my face", "hugging the face" of
    Hugging Face).

    >>> vocab = Vocabulary(["Hugging Face"])
    >>> vocab.correct("I am hugging my face pillow."), vocab.correct("the hugging face model")
    ('I am hugging my face pillow.', 'the Hugging Face model')
    """
    for said in probe.words:
        for reading in term.readings:
            if len(said) > len(reading) >= 2 and (said[0], said[-1]) == (reading[0], reading[-1]):
                rest = iter(said)
                if not all(word in rest for word in reading):  # (in order: the iterator moves on)
                    continue
                between = set(said) - set(reading)
                if between - _SAID_MARKS:  # ("python three point twelve" is Python 3.12)
                    return True
    return False


# Words said for the marks inside names and versions ("three point twelve", "R and D").
_SAID_MARKS = frozenset(
    {"point", "dot", "dash", "hyphen", "slash", "underscore", "plus", "sharp", "and", "n", "at", "colon"}
)


def _whole_term_around(text: str, start: int, end: int, term: str) -> tuple[int, int]:
    """The span of ``text`` to replace by ``term`` for a match at ``start:end``: the term
    itself where it is written around the match already, as a term with a part no word makes
    ("👍 emoji", matched by "emoji") is, else the match. Replacing only the match wrote that
    part twice ("I like the 👍 👍 emoji").

    >>> _whole_term_around("I like the 👍 emoji", 13, 18, "👍 emoji")
    (11, 18)
    >>> _whole_term_around("new emoji", 4, 9, "👍 emoji")
    (4, 9)
    """
    folded = term.casefold()
    for low in range(max(0, end - len(term)), start + 1):
        high = low + len(term)
        if high >= end and text[low:high].casefold() == folded:
            return low, high
    return start, end


def _stops_short(tokens: list[_Token], probe: _Probe, term: _Term) -> bool:
    """Whether the run ``probe`` is a term of several words but for its last or first word,
    which follows or comes before it as written ("talk python too" then "me", for Talk Python
    To Me): made the term, that word would be said twice ("Talk Python To Me me")."""
    last = {reading[-1] for reading in term.readings if len(reading) > 1}
    first = {reading[0] for reading in term.readings if len(reading) > 1}
    if not last:  # (no reading of several words: nothing to stop short of)
        return False
    run = [t.letters for t in tokens[probe.start : probe.stop]]
    after = probe.stop < len(tokens) and tokens[probe.stop].letters in last and run[-1] not in last
    before = probe.start > 0 and tokens[probe.start - 1].letters in first and run[0] not in first
    return after or before


def _number_follows(tokens: list[_Token], j: int) -> str | None:
    """The number the words from ``tokens[j]`` start with (its first word: digits or a number
    word), after "point" or "dot" too ("point one"); None when they start with none."""
    if j < len(tokens) and _says_number(tokens[j]):
        return tokens[j].letters
    if j + 1 < len(tokens) and tokens[j].letters in {"point", "dot"} and _says_number(tokens[j + 1]):
        return tokens[j + 1].letters
    return None


def _number_may_be(probe: _Probe, term: _Term) -> bool:
    """Whether a run followed by a number (``probe.number_next``) may still be ``term``, a term
    with a number: only a run that says no number of its own (the number goes on after it:
    "resnet fifty" of "resnet fifty one" is no ResNet-50), followed by one that starts as the
    term's does ("GPT" of "GPT 403", tiny.en's "GPT four oh", is GPT-4o; "GPT" of "GPT-3" is
    not, nor "large v" of "large v two" large-v3)."""
    following = probe.number_next or ""
    if _number_of(probe.raw_spoken):
        return False
    return any(
        number[0] == following
        or (following.isdigit() and number[0].isdigit() and following[0] == number[0][0])
        for number in term.numbers
    )


def _phrase(probe: _Probe, term: _Term) -> bool:
    """Whether a run of words is an English phrase that no one-word ``term`` is: common words
    with an article or preposition inside that no reading of the term has ("use the state" for
    useState), or a comma after a small word or interjection ("oh, auth" for OAuth)."""
    if " " in term.text:
        return False
    return probe.comma_after_small or not any(probe.inner_words <= set(r) for r in term.readings)


def _number_heard(probe: _Probe, term: _Term) -> bool:
    """Whether a run of words that says no number may still say ``term``'s, a term with a
    number, when it has the term's name said exactly: only when the words after the name sound
    like the rest of one of the term's readings ("flake ate" for Flake8, "llama tree" for Llama
    3, "GPT for oh" for GPT-4o). Other common words around the name are words Whisper heard:
    "HTTP today", "use HTTP", "use HTTP too" are no HTTP/2. A run without the exact name is
    judged on looks (True)."""
    for words in probe.words:
        for a, b in itertools.combinations(range(len(words) + 1), 2):
            name, others = words[a:b], words[:a] + words[b:]
            if not others or "".join(name) not in term.named_by or not all(map(common_word, others)):
                continue
            if a > 0:
                return False  # words before the name: "use HTTP", "use HTTP too"
            said = sound_key(" ".join(others))
            return any(
                sound_key(" ".join(reading[m:])) == said
                for reading in term.readings
                for m in range(1, len(reading))
                if "".join(reading[:m]) == "".join(name)
            )
    return True


def _says_number(token: _Token) -> bool:
    """Whether a word is a number, in digits ("100") or said ("hundred")."""
    return token.letters.isdigit() or token.letters in _SAID_NUMBERS


def _number_of(text: str) -> tuple[str, ...]:
    """The number ``text`` says: its digit runs and number words, in order ("H100": ("100",),
    "aitch one hundred": ("one", "hundred"), "Python 3.12": ("3", "12"))."""
    return tuple(w for w in re.findall(r"\d+|[a-z]+", text.lower()) if w.isdigit() or w in _SAID_NUMBERS)


def _without_number(text: str) -> str:
    """The letters of ``text`` without its digits and number words ("aitch one hundred" and
    "H100" give "aitch" and "h")."""
    words = (w for w in re.findall(r"\d+|[a-z]+", text.lower()) if w not in NUMBER_WORDS)
    return "".join(w for w in words if not w.isdigit())


def _word_letters(text: str) -> tuple[str, ...]:
    """The letters of each word of ``text``: ``("my", "sql")`` for "My SQL"."""
    return tuple(w for w in (letters_of(part) for part in text.split()) if w)


def _rest_alike(probe: _Probe, term: _Term) -> bool:
    """Whether a run of two words or more that shares its first or last word with one of
    ``term``'s readings has the rest of its words like the rest of that reading: "psychic
    learn" for "sy kit learn" (scikit-learn), but not "beautiful type" for "beautiful soup"
    (BeautifulSoup). A word heard exactly says nothing of the words heard beside it, which
    must still sound like the term's: the mean of letter and sound similarity, at least
    :data:`_REST_BAR`. A run that shares no end word with any reading is judged as before."""
    shared = False
    for words in probe.words:
        if len(words) < 2:
            continue
        for reading in term.readings:
            if len(reading) < 2:
                continue
            if words[0] == reading[0]:
                rest, wanted = "".join(words[1:]), "".join(reading[1:])
            elif words[-1] == reading[-1]:
                rest, wanted = "".join(words[:-1]), "".join(reading[:-1])
                if _derived_word(rest, wanted):
                    shared = True
                    continue  # its first word with an ending: "user state" is no "use state"
            else:
                continue
            shared = True
            alike = (fuzz.ratio(rest, wanted) + fuzz.ratio(sound_key(rest), sound_key(wanted))) / 200
            if alike >= _REST_BAR:
                return True
    return not shared


def _rest_of_acronym_alike(probe: _Probe, term: _Term) -> bool:
    """Whether a run with a word Whisper wrote as an acronym that starts or ends ``term``'s
    letters (no word of a reading) has the rest of its words like the rest of the term, as
    :func:`_rest_alike` asks of a reading's word, and none on the acronym's other side: "YAML
    link" may be yamllint, but "HTTP too" and "use HTTP" are no HTTPS (the acronym heard
    right, and words that are not its "S")."""
    for words in probe.words:
        for k in {0, len(words) - 1} if len(words) > 1 else ():
            word, before, after = words[k], "".join(words[:k]), "".join(words[k + 1 :])
            if word not in probe.acronyms or word == term.letters or any(word in r for r in term.readings):
                continue
            if term.letters.startswith(word):
                rest, wanted, other_side = after, term.letters[len(word) :], before
            elif term.letters.endswith(word):
                rest, wanted, other_side = before, term.letters[: -len(word)], after
            else:
                continue
            alike = (fuzz.ratio(rest, wanted) + fuzz.ratio(sound_key(rest), sound_key(wanted))) / 200
            if other_side or alike < _REST_BAR:
                return False
    return True


def _derived_word(word: str, other: str) -> bool:
    """Whether ``word`` is the common word ``other`` with an ending, itself a common word
    ("user" of "use", "used" of "use"): inside a term, no plural of it but another word."""
    return (
        word.startswith(other)
        and word[len(other) :] in {"r", "er", "s", "es", "d", "ed", "ing"}
        and common_word(word)
        and common_word(other)
    )


def _parts(term: str) -> frozenset[str]:
    """The letters of the first words of ``term`` and of its last ones, not all of them, and
    likewise of the pieces of a term without a number in camel case or with a hyphen: "tensor"
    and "rt" of TensorRT; "talk", "talkpython", "pythontome"... of Talk Python To Me; "llama"
    of Llama 3, but not "gpt" of GPT-4o (a term with a number is _same_number's to judge).
    Pieces that leave out one letter only are none: Whisper often loses that letter's name
    ("the LLM" for vLLM said "vee LLM")."""
    words = _word_letters(term)
    parts = {"".join(p) for size in range(1, len(words)) for p in (words[:size], words[-size:])}
    if not any(c.isdigit() for c in term):
        pieces = tuple(p.lower() for p in _CAMEL_PIECE.findall(term))
        for size in range(1, len(pieces)):
            for part, rest in ((pieces[:size], pieces[size:]), (pieces[-size:], pieces[:-size])):
                if len("".join(rest)) >= 2:
                    parts.add("".join(part))
    return frozenset(parts)


def _contains_term(probe: _Probe, term: _Term) -> bool:
    """Whether the run is one word that starts or ends with ``term``'s letters and has more:
    another word with the term in it ("Darrow", "Tomlin", "hydrant", "Sparky"; Arrow, TOML,
    Hydra, Spark), which only the audio may make the term (``TextPipeline.confirm``). More
    letters that are a word ending ("Dockers") or a number ("Poetry2") still read as the term.
    """
    if probe.stop - probe.start != 1 or len(probe.letters) <= len(term.letters):
        return False
    word, letters = probe.letters, term.letters
    if word.startswith(letters):
        extra = word[len(letters) :]
        return extra not in WORD_ENDINGS and not extra.isdigit()
    return word.endswith(letters) and not word[: -len(letters)].isdigit()


def _part_of_term(probe: _Probe, term: _Term) -> bool:
    """Whether the run of words is the first or the last pieces of ``term`` as written, but
    not all of them: "tensor" of TensorRT, "tensorflow" of TensorFlow Lite, "talk python" of
    Talk Python To Me. Whisper wrote those words as it heard them; only the audio may add the
    rest (``TextPipeline.confirm``)."""
    return probe.letters in term.parts


def _word_ending(written: str, term: _Term) -> str:
    """The ending that a run of words whose letters are ``written`` adds to ``term`` (a plural
    "s", or "es" after x, z, ch, sh; "ed" or "d"; "ing"), or "" when it reads as the term itself.

    A run takes an ending when it ends in it, the term does not, and the run without it is the
    term (its spelling or one of its readings): "data frames" is DataFrames, "pull requests"
    pull requests, "pytested" pytested. A look-alike keeps no ending: the "s" of "sicket learns"
    is Whisper's guess, not a plural of scikit-learn. A term that ends in "s" (Kubernetes,
    pandas, Next.js) never takes a plural.

    >>> v = Vocabulary(["DataFrame", "scikit-learn"])
    >>> v.correct("Merge the data frames, then fit sicket learns.")
    'Merge the DataFrames, then fit scikit-learn.'
    """
    targets = {term.letters, *term.variant_letters}
    for ending in WORD_ENDINGS:  # longest first
        if not written.endswith(ending) or term.letters.endswith(ending):
            continue
        if ending in {"s", "es"} and term.letters.endswith("s"):
            return ""
        if ending == "es" and not term.letters.endswith(("x", "z", "ch", "sh")):
            continue
        if ending == "d" and not term.letters.endswith("e"):
            continue
        if written[: -len(ending)] in targets:
            return ending
    return ""


def _correction_order(m: _Match) -> tuple[bool, int, float, int]:
    """Sort key (descending) of correct()'s matches: spellings and readings of a term first,
    the longest of them first ("d three js" is D3.js, not "d" and Three.js), then look-alikes,
    the likest first."""
    said = m.score >= _READING_SCORE
    return (said, m.size if said else 0, m.score, m.size)


def _same_start(probe: _Probe, term: _Term) -> bool:
    """Whether a run of words and ``term`` (or one of its readings) begin with the same sound,
    or the run is the term without its first sounds (Whisper drops a weak first syllable: "build
    wheel" for cibuildwheel)."""
    return any(
        key[:1] == other[:1] or (len(key) >= 4 and other.endswith(key))
        for key in probe.keys
        if key
        for other in term.keys
        if other
    )
