"""The text pipeline every transcript goes through: vocabulary, then rules, then tidy whitespace.

The engine, the streaming transcriber and ``holdtype transcribe`` all use :class:`TextPipeline`,
so what a benchmark measures is what the user gets. It also decides how the vocabulary biases
Whisper (:meth:`TextPipeline.decode_options`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from app.config import Rule, Settings, VocabularySettings
from app.text.fragments import covers, fragment_words
from app.text.rules import RuleSet, compile_rules
from app.text.swaps import Swap, swapped, swaps, widened
from app.text.vocabulary import SURE_BAR, NearMiss, Vocabulary, prompt_text, term_pattern
from app.transcribe.audiofile import SAMPLE_RATE
from app.transcribe.streaming import Look, StreamingConfig, StreamingTranscriber
from app.transcribe.tokens import PROMPT_BUDGET, common_word, count_tokens
from app.transcribe.whisper import (
    LONG_FORM_S,
    PIECE_MAX_S,
    DecodeCancelled,
    DecodeOptions,
    Transcriber,
    Transcript,
)

log = logging.getLogger(__name__)

# A space before punctuation that ends here (before a space, a closing quote or bracket, more
# punctuation, or the end), so not before a dot that starts a word (".NET", ".env") nor before
# an emoticon a rule put in (":)", ";-)", ":D").
_SPACES = re.compile(r"[^\S\t\n]+")  # any run of white space but tabs and line breaks
_AROUND_TAB = re.compile(r" *\t *")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,;:!?](?=[\s\"'”’\].,;:!?]|$)|\.(?!\w))")
# The first word of a transcript when it is in lower case (after any opening quote or bracket).
_LOWER_START = re.compile(r"^([\"'(\[“‘]*)([a-z]+)(?=[\s,.;:!?'’\")\]]|$)")

# The ``vocabulary.bias`` settings that name the terms in Whisper's prompt.
PROMPT_BIASES = frozenset({"prompt", "both"})
# A vocabulary prompt longer than this (half of Whisper's prompt window) is long enough that a
# term far from the speech is heard less: transcribe() reads such audio a second time with the
# terms the first reading seems to say named last (see TextPipeline.transcribe).
LONG_PROMPT_TOKENS = PROMPT_BUDGET // 2
# TextPipeline.confirm: a near miss becomes the term when Whisper finds the transcript with the
# term at most this much less likely (natural log) than its own words, the near misses' terms
# named last in the prompt. On first readings of 105 synthesized jargon clips (and the
# development set's 12 with 103 terms), the near misses that were the term scored -3.6 to
# +4.2; most others -5 to -30 (all of the speech set's: -11 or lower).
CONFIRM_MARGIN = -4.0
# The same for a word Whisper wrote on purpose (NearMiss.deliberate: a common word capitalised
# as a name or in capitals, a rarer English word or a name): a real word it chose, not a guess
# at one it did not know, so the term must be likelier. espeak-ng saying Sentry, TOML, Trio
# where Whisper wrote "Century", "Tom", "Three" scored +1.4 to +12.2, Django for "dangle"
# +3.2; the names "Tom" in "I talked to Tom", "Ask Tom for the keys" -0.4 to -2.5 (TOML).
DELIBERATE_CONFIRM_MARGIN = 0.0
# TextPipeline.confirm: two terms confirmed for the same words whose looks (NearMiss.score)
# are this close are told apart by the audio's scores instead ("Modo": Modal 0.83, Mojo 0.80;
# "TAS": AWS 0.72, FAISS 0.67). Further apart, looks win: the scores favour names tiny.en
# knows ("Pydist": pytest 0.80, Pydantic 0.69, Pydantic the likelier for speech saying pytest).
LOOKS_TIE = 0.05
# TextPipeline.second_opinion: a stretch of the reading without the vocabulary is taken when
# Whisper, under the vocabulary's prompt, finds the transcript with it likelier than this
# (natural log) over its own words; at most this many stretches are scored.
SECOND_OPINION_MARGIN = 0.0
MAX_SECOND_OPINIONS = 6
# TextPipeline.transcribe: a reading with more words a second of audio than this (and more
# than one) is the prompt's or Whisper's own, not the speech's (see too_many_words).
MAX_WORDS_PER_S = 7.0
# ... and a reading still that long without the vocabulary, of this much audio at most, is nothing.
BREATH_S = 1.0
# A release that finds the pause's check of the same text still running waits this long at most.
_WAIT_FOR_CHECK_S = 2.0


def tidy(text: str) -> str:
    r"""Collapse runs of spaces, drop spaces before punctuation and at the ends of lines. Line
    breaks and tabs (which only a rule puts in: "new line" -> "\n", "tab key" -> "\t") are
    kept, without the spaces around a tab.

    >>> tidy("  one ,  two \n three ")
    'one, two\nthree'
    >>> tidy("ship it :) , then wait ?!")
    'ship it :), then wait?!'
    >>> tidy("name \t value \n\t indented")
    'name\tvalue\n\tindented'
    """
    lines = text.replace("\r\n", "\n").split("\n")
    text = "\n".join(_AROUND_TAB.sub("\t", _SPACES.sub(" ", line)).strip(" ") for line in lines)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def too_many_words(text: str, seconds: float) -> bool:
    """Whether ``text`` has more words than anyone says in ``seconds`` of audio: over
    :data:`MAX_WORDS_PER_S` a second, and over one (the speech set's densest clip says 3.5 a
    second, and a word said alone takes 0.2 s or more).

    >>> too_many_words("In the end of", 0.2), too_many_words("Thank you.", 0.2)
    (True, True)
    >>> too_many_words("Yes, I do.", 0.5), too_many_words("Go.", 0.1), too_many_words("", 0.0)
    (False, False, False)
    """
    return len(text.split()) > max(1.0, MAX_WORDS_PER_S * seconds)


def capitalize_start(text: str, keep: frozenset[str] = frozenset()) -> str:
    """``text`` with its first word capitalised when it is a common English word in lower case.

    Whisper starts nearly every reading with a capital, but tiny.en sometimes starts one in
    lower case when nothing comes before the speech (no prompt): 6 of the 30 clips of a
    synthesized jargon set, with plain faster-whisper as with Holdtype. Only a word common in
    both casings is changed (one whole Whisper token as "run" and as "Run", see
    :func:`~app.transcribe.tokens.common_word`), never one in ``keep`` (casefolded first words
    of the user's terms, such as uv or git): a name Whisper writes in lower case on purpose
    (npm, sudo, kubectl) is rare capitalised and stays as it is.

    >>> capitalize_start("use it, then i'm done")
    "Use it, then i'm done"
    >>> capitalize_start("git is fast", frozenset({"git"}))
    'git is fast'
    """
    match = _LOWER_START.match(text)
    if match is None:
        return text
    word = match.group(2)
    if word in keep or not (common_word(word) and count_tokens(" " + word.capitalize()) == 1):
        return text
    start = match.start(2)
    return text[:start] + text[start].upper() + text[start + 1 :]


def prompt_coverage(terms: list[str]) -> tuple[int, int]:
    """How many of ``terms`` Whisper's usual prompt names, and of how many (case-insensitive).

    Terms past the prompt window (see :meth:`Vocabulary.prompt_terms`) are named only when a
    first reading seems to say them (:meth:`TextPipeline.transcribe`), and still auto-corrected.
    """
    vocabulary = Vocabulary(terms)
    named = vocabulary.prompt_terms(PROMPT_BUDGET, count_tokens)
    return len(named), len(vocabulary.prompt_terms())


class TextPipeline:
    """Vocabulary correction and replacement rules, built once from the settings.

    An invalid rule (say, a hand-edited config with a broken regex) is skipped with a warning
    rather than stopping dictation; the CLI refuses such rules when they are added.
    """

    def __init__(self, vocabulary: VocabularySettings, rules: list[Rule]) -> None:
        self.settings = vocabulary
        self.vocabulary = Vocabulary(vocabulary.terms, vocabulary.sensitivity)
        # The first words of terms that start in lower case (npm, pandas, uv): never
        # capitalised at a sentence's start, by the pipeline or by a rule.
        self._term_starts = frozenset(
            t.split()[0].casefold() for t in self.vocabulary.terms if not t[:1].isupper()
        )
        self.rules: RuleSet = compile_rules(rules, strict=False, keep=self._term_starts)
        # Measured once here, not at each utterance (the first count loads the tokenizer).
        self._prompt: str | None = None
        self._named: frozenset[str] = frozenset()  # the terms self._prompt names, casefolded
        self._overflows = False  # the vocabulary is too long for one prompt
        self._long = False  # its prompt is longer than LONG_PROMPT_TOKENS (or overflows)
        self.second_readings = 0  # how many times transcribe() decoded twice (for benchmarks)
        # confirm()'s last answer: (heard, samples of audio, digest of them, answer).
        self._confirmed: tuple[str, int, bytes, str] | None = None
        self._confirm_lock = threading.Lock()
        self._checking: tuple[str, threading.Event] | None = None  # the check running, and of what
        self.confirm_checks = 0  # how many times confirm() asked the audio (for tests, benchmarks)
        self.second_opinions = 0  # how many biased readings were compared with a plain one
        self._pool: ThreadPoolExecutor | None = None  # decodes the plain reading (second_opinion)
        self._patterns: list[tuple[str, re.Pattern[str]]] | None = None  # the terms, as whole words
        if self.vocabulary and vocabulary.bias in PROMPT_BIASES:
            named = self.vocabulary.prompt_terms(PROMPT_BUDGET, count_tokens)
            self._overflows = len(named) < len(self.vocabulary.prompt_terms())
            self._named = frozenset(t.casefold() for t in named)
            self._prompt = prompt_text(named) if named else None
            self._long = self._overflows or (
                self._prompt is not None and count_tokens(" " + self._prompt) > LONG_PROMPT_TOKENS
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> TextPipeline:
        """Build the pipeline from the user's settings."""
        return cls(settings.vocabulary, settings.rules)

    def decode_options(self, base: DecodeOptions, heard: str | None = None) -> DecodeOptions:
        """Return ``base`` with the vocabulary's ``initial_prompt``/``hotwords`` per ``bias``.

        An ``initial_prompt`` already set in ``base`` is kept, with the vocabulary's prompt in
        front of it. Together they fit in Whisper's prompt window: a vocabulary too long for it
        names only some of its terms (see :meth:`Vocabulary.prompt_terms`). With ``heard`` (a
        first reading of the same speech) and a long vocabulary prompt, the terms it seems to
        say are named last, nearest the speech (and kept first when room is short), in a prompt
        of at most ``LONG_PROMPT_TOKENS``: the newest other terms fill the rest.
        """
        return self._options(base, self._relevant(heard))

    def _options(self, base: DecodeOptions, relevant: list[str]) -> DecodeOptions:
        """``base`` biased by the vocabulary, the ``relevant`` terms named last."""
        bias = self.settings.bias
        if not self.vocabulary or bias == "none":
            return base
        changes: dict[str, object] = {}
        if bias in PROMPT_BIASES:
            prompt = self._prompt
            if base.initial_prompt or relevant:
                room = PROMPT_BUDGET - (count_tokens(" " + base.initial_prompt) if base.initial_prompt else 0)
                if relevant:  # a reprompt: at most half the window, the heard terms named last
                    room = min(room, LONG_PROMPT_TOKENS)
                prompt = self.vocabulary.prompt(room, count_tokens, favour=relevant)
                if base.initial_prompt:
                    prompt = f"{prompt} {base.initial_prompt}" if prompt else base.initial_prompt
            changes["initial_prompt"] = prompt
        if bias in {"hotwords", "both"}:
            changes["hotwords"] = self.vocabulary.hotwords()
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

    def _relevant(self, heard: str | None) -> list[str]:
        return self.vocabulary.relevant_terms(heard) if heard and self._long else []

    def second_look(self, base: DecodeOptions, heard: str, seconds: float) -> Look | None:
        """How to read audio first read as ``heard`` (``seconds`` long) once more, or None when
        one reading is enough: a short vocabulary prompt, long audio that clearly says only
        terms the prompt names, or a second prompt that would be the first one (see
        :meth:`transcribe`)."""
        if not self._long or not heard.strip():
            return None
        relevant = self._relevant(heard)
        if all(t.casefold() in self._named for t in relevant):
            if not self.vocabulary.relevant_terms(heard, SURE_BAR):
                return Look(base, replaces=True)  # says no term: read it without the vocabulary
            # Terms clearly said: read again only audio that fits one window (there, the prompt
            # sits right before the speech; long audio is decoded in pieces, the text so far
            # between prompt and speech). A long recording has words near some term by chance
            # ("Peter", Poetry; "therefor", Terraform): with no term spelled once corrected,
            # it is read without the vocabulary. (Within one window the prompted second look
            # often spells the terms the first only came near: not so there.)
            if seconds > PIECE_MAX_S:
                if not self._terms_in(heard):  # (spelled once corrected)
                    return Look(base, replaces=True)
                return None
        options = self._options(base, relevant)
        return None if options == self.decode_options(base) else Look(options)

    def transcribe(
        self,
        transcriber: Transcriber,
        audio: np.ndarray,
        base: DecodeOptions,
        cancel: Callable[[], bool] | None = None,
    ) -> Transcript:
        """Transcribe ``audio`` biased by the vocabulary (Whisper's words, before correction).

        A long vocabulary prompt (over ``LONG_PROMPT_TOKENS``) names many terms far from the
        speech, and tiny.en follows them loosely. When a first reading seems to say a term the
        prompt left out, or clearly says any term, the audio is decoded once more with the
        terms it seems to say named last, in a prompt no longer than half the window (the
        newest other terms fill it), and the reading Whisper is surer of (higher mean
        log-probability) is kept. Much of the gain is a second, different look: moving other
        terms last also helped, a little less. A short prompt is read once.

        The second prompt's length was measured on jargon sets with 41 to 82 terms: at most
        half the window beat the whole window (the reading loses fewer words to list-like
        guesses) and only the heard terms (which gained terms but lost words elsewhere).

        Speech that clearly says no term (none at :data:`SURE_BAR`, none the prompt left out)
        is read again without the vocabulary, and that reading is kept: a long list of terms
        nudges ordinary words ("can fly" read "comply"). On the speech set (no jargon) with
        four lists of 60 terms, the rise over no vocabulary fell from 0.65-0.93 to 0.21-0.65
        point; with 20 terms (a short prompt) it was 0.21, so short prompts are read once. A
        long recording (over ``PIECE_MAX_S``) has words near some term at the sure bar by
        chance ("Peter", Poetry; "therefor", Terraform): asking it for a term spelled too took
        the tech list's rise from 0.65 to 0.22 point (BENCHMARKS.md, 2026-12-07), at the cost
        of a second decode of such recordings.

        With a long vocabulary prompt, the audio is also read without the vocabulary beside the
        biased reading, on the model's other worker (the reading the second look may keep), and
        :meth:`second_opinion` takes its words where Whisper prefers them under the prompt.
        """
        options = self.decode_options(base)
        plain = self._plain_reading(transcriber, audio, base, options, cancel)
        try:
            first = transcriber.transcribe(audio, options, cancel=cancel)
            if too_many_words(first.text, len(audio) / SAMPLE_RATE):
                return self._breath(transcriber, audio, base, first, plain, options != base, cancel)
            best, read_with = first, options
            look = self.second_look(base, first.text, first.duration)
            # The plain reading, waited for once: by a second look that reads without the
            # vocabulary, else by the second opinion.
            other = _result(plain) if look is not None and look.replaces else None
            if look is not None:
                self.second_readings += 1
                if other is not None:
                    second = other  # the reading without the vocabulary: made beside the first
                else:
                    second = transcriber.transcribe(audio, look.options, cancel=cancel)
                if look.keeps(first, second):
                    best, read_with = second, look.options
                kept = "second" if best is second else "first"
                log.debug("second reading %r; kept the %s", second.text, kept)
                best = dataclasses.replace(best, elapsed_ms=first.elapsed_ms + second.elapsed_ms)
            if look is None or not look.replaces:
                other = _result(plain)
            if other is not None and read_with.initial_prompt:
                self.second_opinions += 1
                best = self.second_opinion(transcriber, audio, best, other.text, read_with.initial_prompt)
            if read_with != base and fragment_words(self.apply_vocabulary(best.text), self.vocabulary.terms):
                # (on looks first; the audio's check of near misses, cached for the final text,
                # only then: "Staff QL" is GraphQL)
                pieces = fragment_words(self.confirm(transcriber, audio, best.text), self.vocabulary.terms)
                if pieces:
                    other = other or _result(plain) or transcriber.transcribe(audio, base, cancel=cancel)
                    best = self._without_pieces(best, other.text, pieces)
        finally:
            if plain is not None:
                plain.cancel()
        return best

    def _without_pieces(self, reading: Transcript, plain: str, pieces: frozenset[str]) -> Transcript:
        """``reading`` with the words of ``plain`` (a reading without the vocabulary) where it
        has ``pieces`` of terms as words of their own ("the Py is cold": "the pie is cold"; see
        :mod:`app.text.fragments`), a word or two at a time, unless that loses a term it spells."""
        words = reading.text.split()
        changes = [
            c
            for c in swaps(reading.text, plain)
            # a word or two read as about as many: a reading that lost the words around them
            # ("Now we're at the I speak, Staff QL, and the..." read "and the...") is no help
            if c.end - c.start <= 2
            and 1 <= len(c.words) <= c.end - c.start + 1
            and covers(words, c.start, c.end, pieces)
        ]
        if not changes:
            return reading
        # the words either side as the plain reading writes them: the prompt's capitals ("ate
        # Apple, Py") made a near miss of "Apple pie", which the audio then took for PyPI
        text = swapped(reading.text, _apart([(widened(reading.text, plain, c), c) for c in changes]))
        if not self._terms_in(text) >= self._terms_in(reading.text):
            return reading
        log.debug("pieces of terms %s: %r read as %r", sorted(pieces), reading.text, text)
        return dataclasses.replace(reading, text=text, words=(), segments=(text,))

    def _breath(
        self,
        transcriber: Transcriber,
        audio: np.ndarray,
        base: DecodeOptions,
        first: Transcript,
        plain: Future[Transcript] | None,
        prompted: bool,
        cancel: Callable[[], bool] | None,
    ) -> Transcript:
        """What is kept of ``first``, a reading with more words than the audio has time for
        (:func:`too_many_words`): words the prompt put there (0.2 s of "in..." under six terms
        read "In the end of the end of...") or Whisper's own ("Thank you." for 0.15 s of it,
        also without a prompt). A reading under the vocabulary's prompt (``prompted``) is read
        again without it (``plain``, when that reading was started beside it); a reading still
        too long is nothing heard, up to :data:`BREATH_S` of audio (longer, a loop both
        readings made still holds what was said)."""
        alone = first
        if prompted:
            alone = _result(plain) or transcriber.transcribe(audio, base, cancel=cancel)
            alone = dataclasses.replace(alone, elapsed_ms=first.elapsed_ms + alone.elapsed_ms)
        if len(audio) <= BREATH_S * SAMPLE_RATE and too_many_words(alone.text, len(audio) / SAMPLE_RATE):
            alone = dataclasses.replace(alone, text="", words=(), segments=(), times=())
        log.debug(
            "%r is too long for %.2f s of audio: kept %r", first.text, len(audio) / SAMPLE_RATE, alone.text
        )
        return alone

    def _plain_reading(
        self,
        transcriber: Transcriber,
        audio: np.ndarray,
        base: DecodeOptions,
        options: DecodeOptions,
        cancel: Callable[[], bool] | None,
    ) -> Future[Transcript] | None:
        """A reading of ``audio`` without the vocabulary, started beside the biased one (on the
        model's other worker) for :meth:`second_opinion`; None when there will be none: no
        vocabulary prompt or a short one (at most ``LONG_PROMPT_TOKENS``: on three jargon
        sets with 23 to 29 terms the second opinion moved WER by -0.5 to +0.8 points for about
        0.1 s more per utterance), ``vocabulary.second_opinion`` off, hotwords (the audio check scores
        prompts only), a transcriber that cannot score texts, or audio over one window."""
        if (
            not self.settings.second_opinion
            or not self._long
            or not options.initial_prompt
            or options.initial_prompt == base.initial_prompt
            or options.hotwords
            or getattr(transcriber, "score_texts", None) is None
            or len(audio) > LONG_FORM_S * SAMPLE_RATE
        ):
            return None
        with self._confirm_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(2, thread_name_prefix="plain-reading")
            pool = self._pool
        return pool.submit(transcriber.transcribe, audio, base, cancel)

    def second_opinion(
        self, transcriber: Transcriber, audio: np.ndarray, reading: Transcript, plain: str, prompt: str
    ) -> Transcript:
        """``reading`` (Whisper's words under the vocabulary's ``prompt``) with the words of
        ``plain`` (a reading without the vocabulary) where Whisper, under that same prompt,
        finds them likelier than its own.

        A beam search keeps only its best few beginnings, so under a prompt full of terms it
        sometimes drops the right words early ("Have you all the nightly jobs" for "Schedule
        the nightly jobs", "I will invent, flow through Kafka" for "Our events flow..."); the
        reading without the vocabulary often kept them. Each stretch where the two differ is
        scored in place (one decoder pass each, spread over the model's workers) and taken when
        it scores higher than the reading's own words, unless it would lose a term the reading
        says (the prompt is there for the terms): one it spells once corrected, or a near miss
        the audio confirms (:meth:`confirm`, whose answer the final text then reuses). On six
        synthesized jargon sets with long vocabularies the final WER moved by 0 to -1.5 points
        and no term was lost (BENCHMARKS.md, 2026-12-04).
        """
        score = getattr(transcriber, "score_texts", None)
        if score is None or not plain.strip() or not reading.text.strip():
            return reading
        changes = swaps(reading.text, plain)[:MAX_SECOND_OPINIONS]
        if not changes:
            return reading
        # The terms the reading says: spelled once corrected, near misses the audio confirms
        # included. A swap must keep them on looks alone: its own near misses are unchecked.
        terms = self._terms_in(self.confirm(transcriber, audio, reading.text))
        alternatives = [(c, swapped(reading.text, [c])) for c in changes]
        kept = [(c, text) for c, text in alternatives if self._terms_in(text) >= terms]
        if not kept:
            return reading
        candidates, texts = [c for c, _ in kept], [text for _, text in kept]
        try:
            scores = score(audio, [reading.text, *texts], prompt)
        except Exception:  # a second opinion that fails must not cost the reading
            log.warning("could not compare the readings with and without the vocabulary", exc_info=True)
            return reading
        if scores is None:
            return reading
        gains = [s - scores[0] for s in scores[1:]]
        taken = [c for c, gain in zip(candidates, gains, strict=True) if gain > SECOND_OPINION_MARGIN]
        if not taken:
            return reading
        text = swapped(reading.text, taken)
        log.debug("second opinion: %r read as %r", reading.text, text)
        return dataclasses.replace(reading, text=text, words=(), segments=(text,))

    def _terms_in(self, text: str) -> frozenset[str]:
        """The vocabulary's terms ``text`` spells right once corrected (on looks alone)."""
        corrected = self.apply_vocabulary(text)
        return frozenset(term for term, pattern in self._term_patterns() if pattern.search(corrected))

    def _term_patterns(self) -> list[tuple[str, re.Pattern[str]]]:
        if self._patterns is None:
            self._patterns = [(term, term_pattern(term)) for term in self.vocabulary.terms]
        return self._patterns

    def streaming(
        self, transcriber: Transcriber, base: DecodeOptions, config: StreamingConfig | None = None
    ) -> StreamingTranscriber:
        """A :class:`StreamingTranscriber` biased by the vocabulary; with a vocabulary too long
        for one prompt, each decode's prompt names the terms its audio was heard to say. With a
        long vocabulary prompt, a short utterance read in a pause is read once more while the
        key is held, as :meth:`transcribe` would (see ``StreamingTranscriber._decode_look``)."""
        return StreamingTranscriber(
            transcriber,
            self.decode_options(base),
            config,
            # Only a vocabulary too long for the prompt gets each decode's prompt chosen from
            # what was heard; a long one gets a second look at a short utterance in a pause.
            reprompt=(lambda heard: self.decode_options(base, heard)) if self._overflows else None,
            second_look=(lambda heard, seconds: self.second_look(base, heard, seconds))
            if self._long
            else None,
            # Check the pause's text for near misses while the key is held: a release right
            # after finds the answer remembered (see confirm).
            prepare=(lambda audio, heard: self.confirm(transcriber, audio, heard))
            if self.settings.autocorrect and self.vocabulary
            else None,
        )

    def confirm(self, transcriber: Transcriber, audio: np.ndarray, heard: str) -> str:
        """``heard`` (Whisper's reading of ``audio``) with the near misses of terms that the
        audio confirms replaced by the terms; the rest of the vocabulary's work is
        :meth:`apply`'s.

        :meth:`Vocabulary.correct` replaces words that look enough like a term; some misheard
        terms look less alike ("Yolumi" for Pulumi, "BIP" for pip, "time, actions" for GitHub
        Actions). For the near misses (:meth:`Vocabulary.near_misses`, never a common word
        Whisper wrote as one), Whisper scores its own reading and, for each, the reading with
        the term, those terms named last in the prompt; a term is kept when its reading is
        nearly as likely (:data:`CONFIRM_MARGIN`), or likelier for a word Whisper wrote on
        purpose, such as a common word capitalised as a name (:data:`DELIBERATE_CONFIRM_MARGIN`:
        "Tom" stays, "Century" for Sentry does not). Where two such overlap, the one more like
        Whisper's words wins: the scores favour fewer tokens and names tiny.en knows ("put
        Tritic" would be Pydantic rather than Triton, for speech that said Traefik); of two
        terms for the same words about as alike (:data:`LOOKS_TIE`), the likelier wins ("Modo"
        is Mojo rather than Modal, for speech that said Mojo). A
        transcriber that cannot score texts, or audio over one window, leaves ``heard`` as it
        is. It costs one decoder pass per reading, only when there is a near miss (8 readings
        of the check set's 25 jargon clips, 7 of the speech set's 27 clips with 60 tech terms).
        """
        if not self.settings.autocorrect or not self.vocabulary or not heard.strip():
            return heard
        score = getattr(transcriber, "score_texts", None)
        if score is None or len(audio) > LONG_FORM_S * SAMPLE_RATE:
            # (no score for audio over one window: looking for near misses in an hour's
            # transcript took 7 s with 60 terms, 31 s with 1000, all for nothing)
            return heard
        misses = self.vocabulary.near_misses(heard)
        if not misses:
            return heard
        with self._confirm_lock:
            running = self._checking if self._checking and self._checking[0] == heard else None
        if running is not None:
            running[1].wait(_WAIT_FOR_CHECK_S)  # the pause's check of this text: nearly done
        remembered = self._remembered(audio, heard)
        if remembered is not None:
            # Live dictation checked this text in the pause before release; the audio since is
            # what the pause decode found silent.
            return remembered
        done = threading.Event()
        with self._confirm_lock:
            self._checking = (heard, done)
        try:
            text = self._check(score, audio, heard, misses)
            with self._confirm_lock:
                self._confirmed = (heard, len(audio), _digest(audio), text)
        finally:
            done.set()
        return text

    def _remembered(self, audio: np.ndarray, heard: str) -> str | None:
        """The last check's answer when it was of ``heard`` and of the start of ``audio``."""
        with self._confirm_lock:
            last = self._confirmed
        if last is None or last[0] != heard or last[1] > len(audio):
            return None
        return last[3] if _digest(audio[: last[1]]) == last[2] else None

    def _check(
        self, score: Callable[..., list[float] | None], audio: np.ndarray, heard: str, misses: list[NearMiss]
    ) -> str:
        """``heard`` with those of ``misses`` that the audio confirms replaced by their terms."""
        self.confirm_checks += 1
        alternatives = [heard[: m.start] + m.term + heard[m.end :] for m in misses]
        prompt = self.vocabulary.prompt(LONG_PROMPT_TOKENS, count_tokens, favour=[m.term for m in misses])
        try:
            scores = score(audio, [heard, *alternatives], prompt)
        except Exception:  # a check that fails must not cost the transcript
            log.warning("could not check near misses of terms against the audio", exc_info=True)
            return heard
        if scores is None:
            return heard
        by_run: dict[tuple[int, int], list[tuple[float, NearMiss]]] = {}
        for alt, miss in zip(scores[1:], misses, strict=True):
            gain = alt - scores[0]
            if gain >= (DELIBERATE_CONFIRM_MARGIN if miss.deliberate else CONFIRM_MARGIN):
                by_run.setdefault((miss.start, miss.end), []).append((gain, miss))
        chosen: list[NearMiss] = []
        for gain, miss in sorted(map(_likeliest_alike, by_run.values()), key=lambda g: (-g[1].score, -g[0])):
            if all(miss.end <= c.start or c.end <= miss.start for c in chosen):
                chosen.append(miss)
                said = heard[miss.start : miss.end]
                log.debug("vocabulary: %r -> %r confirmed by the audio (%+.2f)", said, miss.term, gain)
        text = heard
        for miss in sorted(chosen, key=lambda m: -m.start):
            text = text[: miss.start] + miss.term + text[miss.end :]
        return text

    def finish(self, transcriber: Transcriber, audio: np.ndarray, heard: str) -> str:
        """The final text of ``audio`` read as ``heard``: :meth:`confirm`, then :meth:`polish`."""
        return self.polish(self.confirm(transcriber, audio, heard))

    def polish(self, heard: str) -> str:
        """The final text of a transcript (after :meth:`confirm`): its first word capitalised
        when Whisper left a common word in lower case (see :func:`capitalize_start`), then
        :meth:`apply`. Text the user typed (``holdtype rules test``) goes through :meth:`apply`
        alone."""
        return self.apply(capitalize_start(heard.strip(), self._term_starts))

    def apply_vocabulary(self, raw: str) -> str:
        """Fix near misses of the user's terms (when auto-correction is on)."""
        if not self.settings.autocorrect:
            return raw
        return self.vocabulary.correct(raw)

    def apply_rules(self, text: str) -> str:
        """Apply the replacement rules in order."""
        return self.rules.apply(text)

    def apply(self, raw: str) -> str:
        """The whole pipeline: vocabulary, rules, tidy whitespace."""
        return tidy(self.apply_rules(self.apply_vocabulary(tidy(raw))))


def _apart(changes: list[tuple[Swap, Swap]]) -> list[Swap]:
    """Of each (widened, own) pair of swaps (in order), the widened one, or its own where that
    would overlap the swap kept before it (two pieces one word apart: "the Py and Py")."""
    kept: list[Swap] = []
    for wide, own in changes:
        change = wide if not kept or wide.start >= kept[-1].end else own
        if not kept or change.start >= kept[-1].end:
            kept.append(change)
    return kept


def _likeliest_alike(confirmed: list[tuple[float, NearMiss]]) -> tuple[float, NearMiss]:
    """Of the confirmed terms (``(gain, near miss)``) for one run of words, the most alike,
    or the likeliest of those within :data:`LOOKS_TIE` of it: looks that close cannot tell
    the terms apart, and their readings differ only in the term."""
    top = max(miss.score for _gain, miss in confirmed)
    return max((g for g in confirmed if g[1].score >= top - LOOKS_TIE), key=lambda g: (g[0], g[1].score))


def _result(plain: Future[Transcript] | None) -> Transcript | None:
    """The plain reading, or None when there is none or it failed (the biased one stands)."""
    if plain is None:
        return None
    try:
        return plain.result()
    except DecodeCancelled:
        raise
    except Exception:
        log.warning("the reading without the vocabulary failed", exc_info=True)
        return None


def _digest(audio: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(audio).tobytes(), digest_size=16).digest()
