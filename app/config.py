"""Typed settings: one pydantic model, stored as TOML, loaded once and handed out.

A settings file that fails to parse or validate is never silently overwritten: it is moved aside
as ``config.toml.broken-<time>``, the problem is reported, and the fields that were valid are kept
(the rest take their defaults). Saving writes a temporary file and renames it over the old one.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import stat
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.errors import SHOWN_TO_USER, ConfigError
from app.llm.keys import set_key_hint
from app.own_keys import api_key_finder, holds_api_key
from app.paths import ensure_dir, get_paths, lock_within, move_aside, open_lock_file, replace_file
from app.textfile import is_hidden, read_text
from app.toml_salvage import parse_salvaging
from app.tomledit import update_toml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class HotkeySettings(_Section):
    """The key that starts dictation and how it behaves."""

    key: str = Field("caps_lock", description="Key or combination, e.g. caps_lock, f9, ctrl+alt+space")
    mode: Literal["hold", "toggle"] = Field("hold", description="hold-to-talk, or press to start/stop")
    min_hold_s: float = Field(0.25, ge=0.0, le=5.0, description="Taps shorter than this are ignored")
    cancel_key: str = Field("esc", description="Cancels the recording in progress")
    restore_caps_lock: bool = Field(True, description="Undo Caps Lock toggling caused by a hold")
    mode_keys: dict[str, str] = Field(
        default_factory=dict, description="Extra hotkeys bound to an LLM mode: {key: mode}"
    )
    paused: bool = Field(False, description="Ignore the hotkey until unpaused")

    @field_validator("key", "cancel_key")
    @classmethod
    def _a_key_holdtype_knows(cls, value: str) -> str:
        _canonical_key(value)  # a file edited by hand: "bogus_key" turned the hotkey off
        return value

    @field_validator("mode_keys")
    @classmethod
    def _mode_keys_holdtype_knows(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            _canonical_key(key)
        return value

    @model_validator(mode="after")
    def _keys_differ(self) -> HotkeySettings:
        key = _canonical_key(self.key)
        if key == _canonical_key(self.cancel_key):
            raise ValueError(
                f"{key} is both the dictation key (hotkey.key) and the cancel key (hotkey.cancel_key); "
                "they must differ"
            )
        # (said of both sides: `config set hotkey.key F9`, F9 a mode's key, read "cannot bind
        # F9 to mode 'clean': it is the dictation hotkey", the wrong way round)
        seen = {
            key: "the dictation hotkey (hotkey.key)",
            _canonical_key(self.cancel_key): "the cancel key (hotkey.cancel_key)",
        }
        for mode_key, mode in self.mode_keys.items():
            canonical = _canonical_key(mode_key)
            if canonical in seen:  # the listener would refuse both: no hotkey at all
                raise ValueError(
                    f"{mode_key} starts mode '{mode}' (hotkey.mode_keys) and is also {seen[canonical]}; "
                    "they must differ"
                )
            seen[canonical] = f"the key of mode '{mode}'"
        return self


def _canonical_key(spec: str) -> str:
    """``spec`` as :func:`app.hotkey.binding.canonical` writes it; ValueError (for pydantic)
    when Holdtype knows no such key."""
    from app.hotkey.binding import BindingError, canonical

    try:
        return canonical(spec)
    except BindingError as exc:
        raise ValueError(str(exc)) from None


class AudioSettings(_Section):
    """Microphone capture."""

    device: str | int | None = Field(None, description="Input device name or index; default device if unset")
    pre_roll_s: float = Field(0.3, ge=0.0, le=3.0, description="Audio kept from before the key press")
    max_record_s: float = Field(600.0, gt=1.0, le=7200.0, description="A recording stops after this long")
    keep_audio: bool = Field(False, description="Keep each recording's WAV after it is transcribed")
    sounds: bool = Field(True, description="Play a short sound on start and stop")

    @field_validator("device")
    @classmethod
    def _device_index_from_zero(cls, value: str | int | None) -> str | int | None:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)  # "2" typed or quoted is the index, as PortAudio numbers them
        if isinstance(value, int) and value < 0:
            raise ValueError("a device index is 0 or more (`holdtype doctor` lists the devices)")
        return value


# Whisper's beam: 10 rather than faster-whisper's 5. On ten synthesized jargon sets (the
# development set, six re-renderings of it, the check, fresh and 50-clip sets) tiny.en with 10
# had a WER as low or lower on all ten with oneDNN's AVX-512 int8 kernels (check 22.3 -> 21.6 %,
# fresh 18.9 -> 17.3 %, 50 clips 26.8 -> 24.8 %) and on nine with its AVX2 ones (20.5 -> 19.8,
# 21.4 -> 20.1, 26.7 -> 23.3 %; the development set 15.3 -> 16.8 %), for about 45 % more
# decoding time. Long recordings keep 5 (whisper.LONG_AUDIO_BEAM).
DEFAULT_BEAM_SIZE = 10
# CTranslate2's compute types ("auto" is Holdtype's: float16 on a GPU, int8 on a CPU).
COMPUTE_TYPES = (
    "auto", "default", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16",
    "bfloat16", "float32",
)  # fmt: skip


class ModelSettings(_Section):
    """The speech-to-text model."""

    name: str = Field(
        "tiny.en", min_length=1, description="Model name (tiny.en, base.en, ...) or a CTranslate2 folder"
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = Field("auto", description="auto, int8, int8_float16, float16, float32")
    cpu_threads: int = Field(
        0, ge=0, le=256, description="0: automatic (two decodes at once, half the cores each)"
    )
    beam_size: int = Field(
        DEFAULT_BEAM_SIZE,
        ge=1,
        le=16,
        description="Hypotheses Whisper keeps while decoding (at most 5 for audio over 28 s)",
    )
    language: str | None = Field("en", description="Spoken language code; empty to auto-detect")
    vad_filter: bool = Field(False, description="Drop silence with Silero VAD before decoding")
    speech_gate: bool = Field(
        True,
        description="Skip audio in which the voice detector hears no speech at all "
        "(Whisper would invent words from noise)",
    )
    streaming: bool = Field(True, description="Decode while the key is held (faster release)")
    short_context: bool = Field(
        True,
        description="Encode short audio plus 5 s of silence instead of a whole 30 s window "
        "(2-3x faster decodes; same accuracy in our benchmarks)",
    )

    @field_validator("language")
    @classmethod
    def _empty_language_is_auto(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("compute_type")
    @classmethod
    def _known_compute_type(cls, value: str) -> str:
        if value not in COMPUTE_TYPES:
            raise ValueError(f"unknown compute type {value!r}; one of {', '.join(COMPUTE_TYPES)}")
        return value


class VocabularySettings(_Section):
    """The user's terms: spelling truth, Whisper bias, and auto-correction targets."""

    terms: list[str] = Field(default_factory=list)
    bias: Literal["none", "prompt", "hotwords", "both"] = Field(
        "prompt", description="How terms steer Whisper: initial prompt, hotwords, both or none"
    )
    autocorrect: bool = Field(True, description="Fix near misses of terms in the transcript")
    second_opinion: bool = Field(
        True,
        description="With a long vocabulary, also read speech without the terms and take its words "
        "where Whisper prefers them",
    )
    sensitivity: float = Field(
        0.5, ge=0.0, le=1.0, description="Higher corrects more eagerly (and risks false fixes)"
    )

    @field_validator("terms")
    @classmethod
    def _strip_terms(cls, value: list[str]) -> list[str]:
        # Exact-case de-duplication: "LLM" and "llm" are different spellings the user may want
        # both of (Vocabulary.correct keeps the one the transcript's casing points to).
        seen: dict[str, None] = {}
        for term in map(clean_term, value):
            if term:
                seen.setdefault(term, None)
        return list(seen)


class Rule(_Section):
    """A replacement rule: ``find`` becomes ``replace``."""

    find: str = Field(min_length=1)
    replace: str = ""
    regex: bool = False
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _usable(self) -> Rule:
        # A regex that does not compile was saved from the settings window and a hand-edited
        # file, and dictation then skipped the rule with only a log line.
        from app.errors import RuleError
        from app.text.rules import validate_rule

        try:
            validate_rule(self)
        except RuleError as exc:
            raise ValueError(str(exc)) from None
        return self


class ModesSettings(_Section):
    """Which LLM mode post-processes dictation (``raw`` means none)."""

    active: str = "raw"
    apps: dict[str, str] = Field(
        default_factory=dict,
        description="Modes used on their own in some apps: {window class or app id: mode}; "
        "a mode's own hotkey still picks that mode",
    )

    @field_validator("apps")
    @classmethod
    def _apps_named(cls, value: dict[str, str]) -> dict[str, str]:
        apps: dict[str, str] = {}
        seen: dict[str, str] = {}
        for app, mode in value.items():
            name, mode = app.strip(), mode.strip()
            if not name:
                raise ValueError("an app's name (its window class or app id) cannot be empty")
            if not mode:
                raise ValueError(f"give the mode used in {name}")
            if name.casefold() in seen:  # matched ignoring case: two entries would be one
                raise ValueError(f"{name} is named twice (as {seen[name.casefold()]} too)")
            seen[name.casefold()] = name
            apps[name] = mode
        return apps


class LLMSettings(_Section):
    """How LLM modes are run. API keys are not here: they live in llm's key store."""

    model: str | None = Field(None, description="Default llm model id for modes that name none")

    @field_validator("model")
    @classmethod
    def _a_model_not_a_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = clean_model_id(value)
        if holds_api_key(value):
            # Pasted into the model box or `config set llm.model`, it would be saved in plain text.
            raise ValueError(KEY_NOT_HERE)
        return value or None

    timeout_s: float = Field(
        10.0, gt=0.0, le=600.0, description="Seconds a mode may take, its retries included"
    )
    retries: int = Field(2, ge=0, le=10, description="Extra attempts when a reply fails its schema")
    cache_enabled: bool = True
    cache_size_mb: int = Field(256, ge=1, le=100_000)
    cache_ttl_days: float | None = Field(None, gt=0.0, allow_inf_nan=False)


def clean_model_id(model_id: str) -> str:
    r"""``model_id`` without the invisible format characters (Unicode category Cf: a zero-width
    space, a soft hyphen, a byte-order mark) and the whitespace around it that a name copied
    from a web page brings along: llm offers no model by that name, though it reads as one.

    >>> clean_model_id(" gpt-4o\u200b-mini\ufeff\n")
    'gpt-4o-mini'
    """
    return "".join(c for c in model_id if unicodedata.category(c) != "Cf").strip()


KEYS_GO_TO_LLM = (
    f"keys are not kept in Holdtype's settings but in llm's key store: {set_key_hint('openai')} "
    "(or the provider's name)"
)
KEY_NOT_HERE = f"this looks like an API key, not a model id; {KEYS_GO_TO_LLM}"


# Characters that take no room and are never said, which a term copied from a web page or a
# document brings along (a zero-width space, a soft hyphen, a byte-order mark, a word joiner):
# auto-correction would type them into the user's text unseen, and "NumPy" with one would be
# a second term. (The zero-width joiners U+200C and U+200D shape some scripts' letters: kept.)
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u00ad\ufeff\u2060"))


def clean_term(term: str) -> str:
    """``term`` as the vocabulary keeps it: single spaces, composed accents (NFC: "café" typed
    with a combining accent is the same term as with "é"), no invisible characters (see
    :data:`INVISIBLE`).

    >>> clean_term("  scikit   learn ") == "scikit learn", clean_term("cafe\u0301") == "caf\u00e9"
    (True, True)
    >>> clean_term("Num\u00adPy\u200b")
    'NumPy'
    """
    return unicodedata.normalize("NFC", " ".join(term.translate(INVISIBLE).split()))


#: The longest vocabulary term (a 100,000-character one slowed every settings load to 10 s).
MAX_TERM_CHARS = 200


def term_problem(term: str) -> str | None:
    """Why ``term`` (cleaned, :func:`clean_term`) cannot be a vocabulary term, or None: "..."
    can be neither said nor matched; "# tools" would read back from `vocab list`'s output
    (`vocab add --file`) as a comment; an escape sequence or a bidi control prints as something
    else than it is. ``vocab add``, ``config set`` and the settings window refuse such a term;
    a settings file that holds one still loads.

    >>> [term_problem(t) for t in ("scikit-learn", "C#", "R")]
    [None, None, None]
    >>> term_problem("..."), term_problem("# tools")
    ('a term needs a letter or digit', 'in a list of terms, "# " starts a comment')
    """
    if not any(c.isalnum() for c in term):
        return "a term needs a letter or digit"
    if term == "#" or term.startswith("# "):
        return 'in a list of terms, "# " starts a comment'
    if any(map(is_hidden, term)):
        return "control characters cannot be said"
    if len(term) > MAX_TERM_CHARS:
        return f"a term is at most {MAX_TERM_CHARS} characters long"
    return None


def check_terms(terms: list[str]) -> None:
    """Raise :class:`ConfigError` naming the first of ``terms`` that cannot be a term
    (:func:`term_problem`); an empty one is skipped, as the settings skip it."""
    for term in map(clean_term, terms):
        if term and (problem := term_problem(term)):
            raise ConfigError(f"not a term: {term[:80]!r}{'…' if len(term) > 80 else ''} ({problem})")


def api_key_in(value: Any, where: str = "", holds: Callable[[str], bool] | None = None) -> str | None:
    """The dotted place of the first string in ``value`` (settings as JSON-like data) that
    holds an API key (:func:`holds_api_key`; ``holds``, when given, tells), else None.

    >>> api_key_in({"rules": [{"find": "my key", "replace": "sk-proj-" + "Ab3" * 16}]})
    'rules.0.replace'
    >>> api_key_in({"vocabulary": {"terms": ["scikit-learn", "sk-learn"]}}) is None
    True
    >>> api_key_in({"rules": [{"find": "key", "replace": 'OPENAI_API_KEY="sk-proj-' + "Ab3" * 16 + '".'}]})
    'rules.0.replace'
    >>> api_key_in({"modes": {"apps": {"gsk_" + "x1" * 20: "email"}}})
    'modes.apps'
    """
    holds = holds or api_key_finder()  # (the user's keys looked up once for all the strings)
    if isinstance(value, str):
        return (where or "the value") if holds(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for name, item in items:
        if isinstance(name, str) and holds(name):  # (a table's keys: modes.apps)
            return where or "the value"
        found = api_key_in(item, f"{where}.{name}" if where else str(name), holds)
        if found is not None:
            return found
    return None


# Terminals named since settings schema 2: a settings file keeps the whole list it was saved
# with, so migration 1 -> 2 adds these to it (a terminal the user took out later stays out).
TERMINALS_SINCE_2 = (
    "kgx",  # GNOME Console
    "org.gnome.Console",
    "ptyxis",
    "org.gnome.Ptyxis",
    "guake",
    "tilda",
    "yakuake",
    "terminology",
    "qterminal",
    "sakura",
    "roxterm",
    "termite",
    "deepin-terminal",
    "io.elementary.terminal",
    "com.raggesilver.BlackBox",
    "cool-retro-term",
    "hyper",
    "tabby",
)


class PasteSettings(_Section):
    """How text reaches the active window."""

    strategy: Literal["paste", "type"] = "paste"
    backend: Literal["auto", "x11", "wayland", "windows", "macos"] = "auto"
    restore_clipboard: bool = True
    restore_delay_ms: int = Field(300, ge=0, le=10_000)
    terminal_classes: list[str] = Field(
        default_factory=lambda: [
            "gnome-terminal",
            "gnome-terminal-server",
            "konsole",
            "xfce4-terminal",
            "kitty",
            "alacritty",
            "wezterm",
            "org.wezfurlong.wezterm",  # WezTerm's own class
            "com.mitchellh.ghostty",
            "tilix",
            "terminator",
            "st",
            "st-256color",  # st as built by default
            "foot",
            "lxterminal",
            "mate-terminal",
            *TERMINALS_SINCE_2,
        ],
        description="Window classes that get Ctrl+Shift+V instead of Ctrl+V",
    )
    # xterm pastes only its PRIMARY selection (Shift+Insert), rxvt the same unless a Perl
    # extension is set up: Ctrl+Shift+V reached the program as a literal ^V. (The name is
    # older than the PRIMARY paste: the text was typed into them.)
    type_classes: list[str] = Field(
        default_factory=lambda: ["xterm", "uxterm", "urxvt", "rxvt"],
        description="Window classes with no key that pastes the clipboard: the text goes through "
        "the PRIMARY selection and Shift+Insert (X11)",
    )
    trailing_space: bool = Field(True, description="Add a space after the inserted text")


class HistorySettings(_Section):
    """The local history of everything dictated."""

    enabled: bool = Field(
        True,
        description="Keep what is dictated; off, a failed dictation and a recording recovered after a "
        "crash are still kept (their words are nowhere else)",
    )
    retention_days: int | None = Field(None, ge=1, description="Delete older entries; unset keeps all")


class UISettings(_Section):
    """The tray app and overlay."""

    overlay: bool = True
    start_at_login: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="DEBUG also logs words of what was said (the words it corrects and re-reads)"
    )
    welcomed: bool = False

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value  # `config set ui.log_level debug`


class Settings(_Section):
    """All of Holdtype's settings."""

    schema_version: int = SCHEMA_VERSION
    hotkey: HotkeySettings = Field(default_factory=HotkeySettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    vocabulary: VocabularySettings = Field(default_factory=VocabularySettings)
    rules: list[Rule] = Field(default_factory=list)
    modes: ModesSettings = Field(default_factory=ModesSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    paste: PasteSettings = Field(default_factory=PasteSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    ui: UISettings = Field(default_factory=UISettings)


# --- migrations ---------------------------------------------------------------------------------
# Each entry upgrades a raw settings dict from version N to N+1. Append, never edit.
def _terminals_since_2(raw: dict[str, Any]) -> dict[str, Any]:
    """1 -> 2: the terminals named since are added to a saved ``paste.terminal_classes``
    (before, a settings file saved once kept GNOME Console, Ptyxis, Guake... on Ctrl+V, which
    they take as a literal ^V: the paste failed after 3 s)."""
    paste = raw.get("paste")
    classes = paste.get("terminal_classes") if isinstance(paste, dict) else None
    if isinstance(classes, list):
        known = {c.casefold() for c in classes if isinstance(c, str)}
        classes.extend(name for name in TERMINALS_SINCE_2 if name.casefold() not in known)
    return raw


MIGRATIONS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [_terminals_since_2]


def schema_version(raw: dict[str, Any]) -> int:
    """The settings' ``schema_version`` (1 when absent); :class:`ConfigError` when it is not a
    whole number from 1 up."""
    version = raw.get("schema_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError(f"schema_version: must be a whole number from 1 up, not {version!r}")
    return version


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a raw settings dict up to :data:`SCHEMA_VERSION`."""
    version = schema_version(raw)
    if version > SCHEMA_VERSION:
        raise ConfigError(f"settings were written by a newer Holdtype (schema {version} > {SCHEMA_VERSION})")
    for step in MIGRATIONS[version - 1 :]:
        raw = step(raw)
    raw["schema_version"] = SCHEMA_VERSION
    return raw


# --- load and save ------------------------------------------------------------------------------
@dataclass(slots=True)
class LoadResult:
    """Settings as loaded, with any problem that was found and where the broken file went."""

    settings: Settings
    path: Path
    problem: str | None = None
    moved_to: Path | None = None
    # The settings of a file that did not validate that took their defaults (dotted keys, as
    # "vocabulary.sensitivty" or "rules.1"); everything else in it was kept.
    dropped: list[str] = field(default_factory=list)


# A file with more invalid values than this is not salvaged value by value.
_MAX_DROPS = 200


def salvage(raw: dict[str, Any]) -> tuple[Settings, list[str] | None]:
    """Settings from ``raw`` (a file that does not validate) without the values that make it
    invalid, and the dotted keys of those values (None: nothing could be kept): a mistyped key
    or a wrong value costs only itself, not its whole section (a typo beside the vocabulary's
    terms used to drop them all).

    A rule with any problem is dropped whole (a rule whose ``regx = true`` lost its flag would
    match something else); a term that is no text is dropped alone; a check on a whole section
    drops the section."""
    data = copy.deepcopy({key: value for key, value in raw.items() if key != "schema_version"})
    dropped: list[str] = []
    # Items dropped from each list so far: errors come in the order of the items, so an item's
    # index in the file is its index now plus the items dropped before it.
    shifts: dict[tuple[int | str, ...], int] = {}
    for _ in range(_MAX_DROPS):
        try:
            return Settings.model_validate(data), dropped
        except ValidationError as exc:
            first = exc.errors()[0]
            where = _drop_one_item(data, first["loc"], first["msg"]) or _drop(data, first["loc"])
            if not where:
                break
            *outer, last = where
            if isinstance(last, int):
                key = tuple(outer)
                where = (*outer, last + shifts.get(key, 0))
                shifts[key] = shifts.get(key, 0) + 1
            dropped.append(".".join(str(part) for part in where))
    return Settings(), None


def _drop_one_item(data: dict[str, Any], loc: tuple[int | str, ...], problem: str) -> tuple[int | str, ...]:
    """For a check of a whole table (``loc``: "hotkey", "hotkey.mode_keys") that says
    ``problem``, remove the one entry of it without which the check no longer says it, if
    there is one, and return where it was (empty: none). One mode key bound to the dictation
    key, or one unknown key name, cost the whole [hotkey] table (the user's hotkey became Caps
    Lock) or every mode key; with two such entries, the salvage drops them one at a time.
    An inner table's entries are tried first, then the settings, the later first and the key
    itself last, wherever the file wrote it (a cancel key equal to it is the one that goes)."""
    table = _table_at(data, loc)
    if not loc or table is None:
        return ()
    if len(table) > 1 and not any(isinstance(value, dict) for value in table.values()):
        # A table of entries (apps, mode keys): an entry the check refuses on its own goes;
        # with two alike (two empty app names) no one removal would quiet the check.
        for name, value in table.items():
            trial = copy.deepcopy(data)
            parent = _table_at(trial, loc[:-1])
            assert parent is not None
            parent[str(loc[-1])] = {name: value}
            try:
                Settings.model_validate(trial)
            except ValidationError as exc:
                if any(tuple(err["loc"]) == loc for err in exc.errors()):
                    _remove(data, loc, (name,))
                    return (*loc, name)
    inner = [(key, item) for key, value in table.items() if isinstance(value, dict) for item in value]
    settings = sorted(reversed(list(table)), key=lambda name: name == "key")  # (stable: the key last)
    entries: list[tuple[str, ...]] = [*reversed(inner), *((name,) for name in settings)]
    for entry in entries:
        trial = copy.deepcopy(data)
        _remove(trial, loc, entry)
        try:
            Settings.model_validate(trial)
        except ValidationError as exc:
            if any(tuple(err["loc"]) == loc and err["msg"] == problem for err in exc.errors()):
                continue  # (the table still says it without this entry)
        _remove(data, loc, entry)
        return (*loc, *entry)
    return ()


def _remove(data: dict[str, Any], loc: tuple[int | str, ...], entry: tuple[str, ...]) -> None:
    """Delete ``entry`` (a key, or a key and the key of an item of its table) of the table
    of ``data`` at ``loc``."""
    table = _table_at(data, (*loc, *entry[:-1]))
    assert table is not None
    del table[entry[-1]]


def _table_at(data: dict[str, Any], loc: tuple[int | str, ...]) -> dict[str, Any] | None:
    """The table of ``data`` at ``loc``, or None when there is none there."""
    node: Any = data
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, dict) else None


def _drop(data: dict[str, Any], loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Remove the value at ``loc`` (a pydantic error's location) from ``data``, or the deepest
    container of it that exists; return where it was (empty: nothing could be removed)."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        loc = loc[:2]
    node: Any = data
    parents: list[tuple[Any, int | str]] = []
    for part in loc:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_list or (isinstance(node, dict) and part in node)):
            break
        parents.append((node, part))
        node = node[part]
    if not parents:
        return ()
    container, key = parents[-1]
    del container[key]
    return tuple(part for _, part in parents)


def describe_error(exc: Exception, key: str = "") -> str:
    """The problems of ``exc`` in one line, each after the setting it is about (left out when
    that is ``key``, or a section holding it: the caller names it). A validation error's
    values are not repeated (pydantic's own text echoes them: part of an API key)."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err["loc"])
            # A validator's own message, without pydantic's "Value error, " in front of it.
            message = err["msg"].removeprefix("Value error, ")
            # (A check of the whole model has no setting to name: its message alone, not ": …".)
            bare = not loc or (bool(key) and (key + ".").startswith(loc + "."))
            parts.append(message if bare else f"{loc}: {message}")
        return "; ".join(parts)
    return str(exc)


#: What to say of a list setting given one word (`config set vocabulary.terms NumPy`).
_LIST_HINTS = {
    "vocabulary.terms": """give a list, as '["NumPy", "pandas"]', or use `holdtype vocab add TERM...`""",
    # (a list given here replaces every rule: none is shown to copy)
    "rules": "a list of rules, all of them: add one with `holdtype rules add FIND REPLACE`",
}
_LIST_HINT = """give a list, as '["one", "two"]'"""


def _list_hint(exc: ValidationError, key: str, value: Any) -> str:
    """How to write a list, for a list setting given one word (`config set vocabulary.terms
    NumPy` said only "Input should be a valid list")."""
    if not isinstance(value, str) or not any(err["type"] == "list_type" for err in exc.errors()):
        return ""
    return " (" + _LIST_HINTS.get(key, _LIST_HINT) + ")"


def load_settings(path: Path | None = None) -> LoadResult:
    """Load settings from ``path`` (default: the user's config file).

    A missing file gives defaults. A file that cannot be parsed or validated is moved aside as
    ``<name>.broken-<YYYYmmdd-HHMMSS>``; of one that does not validate, every value that is
    valid is kept (:func:`salvage`). A file that cannot be read (its permissions) raises
    :class:`ConfigError` and stays where it is: nothing is wrong with what it says.
    """
    path = path or get_paths().config_file
    if not path.exists():
        if path.is_symlink():
            _resolved(path)  # a loop is said; a link to a file not there yet gives defaults
        return LoadResult(Settings(), path)
    data = None
    try:
        data = read_text(path)
        raw = tomllib.loads(data)
    except PermissionError as exc:
        raise ConfigError(
            f"cannot read the settings file {path}: {exc.strerror or exc}; give your user access "
            f"to it (chmod u+rw {path})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        # One typo there cost the vocabulary and the rules too: the rest is read and kept.
        try:
            raw, lost = parse_salvaging(data or "")
        except tomllib.TOMLDecodeError:
            return _set_aside(path, data, f"cannot be parsed: {exc}", Settings(), None)
        return _set_aside(path, data, f"cannot be parsed: {exc}", *_salvage_parsed(raw, lost))
    except UnicodeDecodeError as exc:
        # Saved in a legacy encoding ("café" typed in an editor set to Windows-1252 or Latin-1):
        # one byte cost every setting. Read so, its values are kept, and saved back as UTF-8.
        problem = f"is not UTF-8 text (byte {exc.start}); it was read as Windows-1252"
        try:
            raw, lost = parse_salvaging(_legacy_text(path))
        except (OSError, tomllib.TOMLDecodeError):
            return _set_aside(path, None, f"cannot be parsed: {exc}", Settings(), None)
        return _set_aside(path, None, problem, *_salvage_parsed(raw, lost))
    except OSError as exc:
        return _set_aside(path, data, f"cannot be parsed: {exc}", Settings(), None)
    try:
        version = schema_version(raw)
    except ConfigError as exc:
        return _set_aside(path, data, f"is not valid: {exc}", *salvage(raw))
    if version > SCHEMA_VERSION:
        # Going back to an older Holdtype: keep every setting this one knows (the vocabulary,
        # the rules, the hotkey), not defaults; the newer file is kept whole beside it.
        problem = (
            f"was written by a newer Holdtype (settings schema {version}; this one reads {SCHEMA_VERSION})"
        )
        return _set_aside(path, data, problem, *salvage(raw), label="newer")
    raw = migrate(raw)
    try:
        return LoadResult(Settings.model_validate(raw), path)
    except ValidationError as exc:
        return _set_aside(path, data, f"is not valid: {describe_error(exc)}", *salvage(raw))


def _legacy_text(path: Path) -> str:
    """The file at ``path`` read as Windows-1252 (Latin-1's superset: what an editor not set to
    UTF-8 writes on Windows, and on Linux for these characters); a byte it lacks is U+FFFD."""
    return path.read_bytes().decode("cp1252", errors="replace")


def _salvage_parsed(raw: dict[str, Any], lost: list[str]) -> tuple[Settings, list[str] | None]:
    """Settings from ``raw``, what :func:`parse_salvaging` read of a file (``lost``: the
    statements it left out), as :func:`load_settings` takes them from a readable file."""
    try:
        if schema_version(raw) > SCHEMA_VERSION:
            return Settings(), None  # a newer file with a typo: not guessed at
        raw = migrate(raw)
    except ConfigError:
        pass  # a bad schema_version: salvage drops it
    settings, dropped = salvage(raw)
    return settings, None if dropped is None else lost + dropped


def read_settings(path: Path) -> Settings:
    """Read the settings file as it is now, with no side effects (a file another process just
    wrote, picked up by the running app: see :mod:`app.settings_watch`). A missing file gives
    defaults; a broken one raises :class:`ConfigError` and stays where it is."""
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(read_text(path))
        return Settings.model_validate(migrate(raw))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"the settings file {path} cannot be parsed: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(f"the settings file {path} is not valid: {describe_error(exc)}") from exc


def _set_aside(
    path: Path,
    seen: str | None,
    problem: str,
    settings: Settings,
    dropped: list[str] | None,
    label: str = "broken",
) -> LoadResult:
    """Move the file at ``path`` (whose text was ``seen``, None when it could not be read)
    aside as ``<name>.<label>-<time>`` and report it; ``dropped`` (None: nothing was kept)
    names what ``settings``, the values kept from it, lack. The kept values are saved in its
    place. A file of a newer Holdtype is ``newer``, not ``broken``: nothing is wrong with it.

    All under the settings lock, and only if the file still holds what was read: a command
    saving meanwhile (``vocab add``) would otherwise find no file, save defaults with its
    change, and have that overwritten by the kept values, or see its own file moved aside.
    """
    if dropped is None:
        kept = "using defaults"
    elif dropped:
        # (a line left out may leave a default, or a value set earlier: `key` given twice)
        kept = f"kept the rest of it, without: {', '.join(dropped)}"
    else:
        kept = "kept all of its settings"
    if dropped is not None and (where := api_key_in(settings.model_dump(mode="json"))) is not None:
        # The kept values cannot be saved (no setting holds a key): moved aside, the file left
        # nothing in its place, and the next start used defaults without a word.
        message = (
            f"Settings file {path} {problem}. It is left as it is, since {where} looks like an API "
            f"key ({KEYS_GO_TO_LLM}): take the key out and fix the file; {kept} until then."
        )
        log.warning("%s", message, extra=SHOWN_TO_USER)
        return LoadResult(settings, path, message, None, dropped)
    try:
        with settings_lock(path):
            if not path.exists() or _text_of(path) != seen:
                return load_settings(path)  # another process set it aside or saved since
            target = move_aside(path.resolve(), label)  # a link (dotfiles): its target goes aside
            message = f"Settings file {path} {problem}. It was moved to {target}; {kept}."
            log.warning("%s", message, extra=SHOWN_TO_USER)
            if dropped is not None:
                save_settings(settings, path)
    except OSError as exc:  # a read-only folder: say what is wrong with the file, and go on
        message = (
            f"Settings file {path} {problem}. It could not be moved aside ({exc.strerror or exc}); "
            f"{kept} until it is fixed."
        )
        log.warning("%s", message, extra=SHOWN_TO_USER)
        return LoadResult(settings, path, message, None, dropped or [])
    return LoadResult(settings, path, message, target, dropped or [])


def _text_of(path: Path) -> str | None:
    """The text of the file at ``path``; None when it cannot be read or decoded."""
    try:
        return read_text(path)
    except (OSError, UnicodeDecodeError):
        return None


# How long a change waits for another process saving the settings (a save takes milliseconds).
SETTINGS_LOCK_WAIT_S = 10.0
_locking = threading.local()  # the settings files this thread holds the lock of


@contextlib.contextmanager
def settings_lock(path: Path | None = None, wait_s: float = SETTINGS_LOCK_WAIT_S) -> Iterator[None]:
    """Hold the lock of the settings file ``path`` (``<name>.lock`` beside it) for a read,
    change and save. Two commands (``vocab add`` run twice at once, a script and the settings
    window) would otherwise each write their change over the other's: ten parallel ``vocab
    add`` kept six terms of ten. Nested use in one thread is free; a filesystem without locks
    is used unguarded; a lock held past ``wait_s`` raises :class:`ConfigError`."""
    path = path or get_paths().config_file
    held: set[Path] = _locking.__dict__.setdefault("paths", set())
    if path in held:
        yield
        return
    ensure_dir(path.parent)
    lock_path = path.with_name(f"{path.name}.lock")
    handle = open_lock_file(lock_path)
    try:
        taken = lock_within(handle, wait_s, poll_s=0.01)
        if taken is None:
            log.debug("cannot lock %s; saving unguarded", lock_path)
        elif not taken:
            raise ConfigError(
                f"another Holdtype process has been changing the settings for {wait_s:.0f} s "
                f"(it holds {lock_path}); try again when it is done"
            )
        held.add(path)
        try:
            yield
        finally:
            held.discard(path)
    finally:
        handle.close()


def _toml_data(settings: Settings) -> dict[str, Any]:
    """Settings as the plain values their TOML file holds (TOML has no null)."""
    data = settings.model_dump(mode="json", exclude_none=True)
    if settings.model.language is None:
        data["model"]["language"] = ""  # "" means auto-detect; TOML cannot say None
    return data


# The first lines of a settings file Holdtype writes afresh.
FILE_HEADER = (
    "# Holdtype's settings. Only the settings changed from their defaults are written here;\n"
    "# `holdtype config show` lists them all. A setting not in this file follows the default\n"
    "# of the Holdtype in use, so a better default in a later version reaches you\n"
    "# (`holdtype config reset KEY` takes one back to its default).\n\n"
)


def _changed_only(
    data: dict[str, Any], defaults: dict[str, Any], kept: Any, prefix: str = ""
) -> dict[str, Any]:
    """The values of ``data`` (settings as TOML values) to write: those that differ from
    ``defaults``, and those the file already holds (``kept``: its parsed values), which stay
    where the user or an earlier save put them. A section with nothing to write is left out.

    Writing every default froze it in the file: a default changed in a later version (a
    terminal added to ``paste.terminal_classes``) never reached a settings file saved once,
    which took a migration to mend.

    >>> default = {"model": {"name": "tiny.en", "beam_size": 1}}
    >>> _changed_only({"model": {"name": "base.en", "beam_size": 1}}, default, {})
    {'model': {'name': 'base.en'}}
    >>> _changed_only({"ui": {"welcomed": False}}, {"ui": {"welcomed": False}}, {"ui": {"welcomed": False}})
    {'ui': {'welcomed': False}}
    """
    written: dict[str, Any] = {}
    for key, value in data.items():
        if f"{prefix}{key}" == "rules" and isinstance(value, list):
            value = [_rule_as_written(rule) for rule in value]
        held = isinstance(kept, dict) and key in kept
        if isinstance(value, dict) and _is_section(prefix + key):
            inner = _changed_only(
                value, defaults.get(key, {}), kept.get(key) if held else None, f"{prefix}{key}."
            )
            if inner:  # (a section left with nothing goes: its last dotted key taken out left
                written[key] = inner  # no line to hold it, and the file was written afresh)
        elif held or key == "schema_version" or key not in defaults or value != defaults[key]:
            written[key] = value
    return written


def all_settings_toml(settings: Settings) -> str:
    """Every setting as TOML, defaults too (``holdtype config show``); ``None`` values are left
    out, since TOML has no null."""
    return tomli_w.dumps(_toml_data(settings))


def _rule_as_written(rule: Any) -> Any:
    """A rule's TOML table without the choices left at their defaults (``regex = false``,
    ``case_sensitive = false``): a rule written by hand as ``find`` and ``replace`` only was
    told from its full form by nothing, and removing one moved every comment down a rule.

    >>> _rule_as_written({"find": "um", "replace": "", "regex": False, "case_sensitive": True})
    {'find': 'um', 'replace': '', 'case_sensitive': True}
    """
    if not isinstance(rule, dict):
        return rule
    return {k: v for k, v in rule.items() if k not in _RULE_CHOICES or v != _RULE_CHOICES[k]}


_RULE_CHOICES = {"regex": False, "case_sensitive": False}


def settings_to_toml(settings: Settings, previous: str | None = None, forget: Collection[str] = ()) -> str:
    """Render settings as TOML: the settings that differ from their defaults, and those the
    file (``previous``, its current text) holds already, but for the dotted keys in ``forget``
    (set back to their defaults: ``holdtype config reset``). ``None`` values are left out,
    since TOML has no null.

    With ``previous``, that text is edited instead of written anew, so the user's comments and
    layout survive around the values that did not change.
    """
    kept: dict[str, Any] = {}
    if previous is not None:
        try:
            kept = tomllib.loads(previous)
        except tomllib.TOMLDecodeError:
            previous = None  # not TOML (a half-written file): nothing in it to keep
    for key in forget:
        *parents, last = split_key(key)
        node: Any = kept
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    data = _changed_only(_toml_data(settings), _toml_data(Settings()), kept)
    if previous is not None and (edited := update_toml(previous, data)) is not None:
        return edited
    return FILE_HEADER + tomli_w.dumps(data)


def _key_refusal(where: str, path: Path) -> str:
    """Why settings holding an API key at ``where`` are not saved to ``path``. One the file
    already held (written there by hand) refused every later change, however unrelated, with
    words that read as if that change were the key; it is named as the file's, with the way
    to take it out."""
    try:  # (by what it holds, not where: a term dropped as a repeat moves the others up)
        held = api_key_in(tomllib.loads(read_text(path))) is not None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        held = False
    if not held:
        return f"not saved: {where} looks like an API key; {KEYS_GO_TO_LLM}"
    if where.startswith("rules."):
        fix = "`holdtype rules list` shows the rule, `holdtype rules remove FIND` takes it out"
    elif where.startswith("vocabulary.terms"):
        fix = "`holdtype vocab remove TERM` takes it out"
    elif _names_a_table(where):
        fix = "take it out of the file"  # (an entry named by the key: modes.apps; a reset empties it)
    else:
        fix = f"`holdtype config reset {where}` takes it out"
    return (
        f"not saved: the settings file {path} holds what looks like an API key at {where}, and "
        f"no change is saved while it does: {fix}, or edit the file ({KEYS_GO_TO_LLM})"
    )


def _current_text(path: Path) -> str | None:
    """The settings file's text, or None when there is none to keep (missing, unreadable)."""
    try:
        return read_text(path)
    except (OSError, UnicodeDecodeError):
        return None


def _resolved(path: Path) -> Path:
    """``path`` with its links followed; :class:`ConfigError` for a link that leads back to
    itself (Python raised RuntimeError, and every saving command ended in a traceback)."""
    try:
        return path.resolve()
    except RuntimeError as exc:  # (an OSError from Python 3.13 on)
        raise ConfigError(
            f"the settings file {path} is a link that leads back to itself ({exc}); remove it "
            f"(rm {path}) or point it at a file"
        ) from None


def save_settings(settings: Settings, path: Path | None = None, forget: Collection[str] = ()) -> Path:
    """Write settings atomically: a temporary file in the same folder, then a rename. A symbolic
    link (a dotfiles repository) keeps pointing at its file, which gets the settings. The dotted
    keys in ``forget``, at their defaults, are taken out of the file (see :func:`settings_to_toml`)."""
    path = _resolved(path or get_paths().config_file)
    where = api_key_in(settings.model_dump(mode="json"))
    if where is not None:  # the settings file is plain text: no setting holds a key
        raise ConfigError(_key_refusal(where, path))
    mode = None
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(path.stat().st_mode)
        if not os.access(path, os.W_OK):  # (the rename below would replace it all the same)
            raise ConfigError(
                f"not saved: the settings file {path} is read-only; make it writable "
                f"(chmod u+w {path}) to change settings"
            )
    ensure_dir(path.parent)
    text = settings_to_toml(settings, _current_text(path), forget)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        if mode is not None:  # the file's own permissions (0644 of a dotfile), not mkstemp's 0600
            os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        replace_file(tmp, path)  # retried a moment on Windows, where an open file cannot be replaced
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --- dotted keys (for `holdtype config get/set`) ------------------------------------------------
def split_key(key: str) -> list[str]:
    """The parts of a dotted ``key``; a part in double quotes may hold dots (an app id as
    Wayland names it, ``modes.apps."org.mozilla.firefox"``), the spaces around an unquoted one
    go (``modes.apps. firefox`` was added as "firefox" and said "removed").

    >>> split_key('modes.apps."org.mozilla.firefox"'), split_key("model . beam_size")
    (['modes', 'apps', 'org.mozilla.firefox'], ['model', 'beam_size'])
    """
    parts: list[str] = []
    current, quoted = "", False
    for ch in key + ".":
        if ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            part = current.strip()
            if not part:
                parts = []
                break
            parts.append(part)
            current = ""
        else:
            current += ch
    if parts and not quoted:
        return parts
    raise ConfigError(
        f"'{key}' is no setting's name: parts joined by dots, one with dots inside in double "
        'quotes (modes.apps."org.mozilla.firefox")'
    )


def get_value(settings: Settings, key: str) -> Any:
    """Return the value at a dotted key such as ``model.beam_size``."""
    node: Any = settings.model_dump(mode="json")
    for part in split_key(key):
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ConfigError(f"unknown setting '{key}' (see `holdtype config show`)")
    return node


def parse_value(text: str) -> Any:
    """Parse a value typed on the command line: JSON/TOML literals, else a plain string."""
    lowered = text.strip().lower()
    if lowered in {"none", "null", ""}:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_text(settings: Settings, key: str, text: str) -> Settings:
    """Return new settings with the dotted ``key`` set to ``text`` as typed on the command line:
    read as a literal (:func:`parse_value`), or as the word itself when only that is valid
    ("none" is a ``vocabulary.bias``, not an empty one; "true" may be a model's name)."""
    parsed = parse_value(text)
    try:
        return set_value(settings, key, parsed)
    except ConfigError as first:
        if parsed == text or isinstance(first, NothingToTakeOut):
            raise
        try:
            return set_value(settings, key, text)
        except ConfigError:
            if parsed is None:  # "", "none": "Input should be a valid string" says little
                raise ConfigError(f"{key} cannot be left empty: give it a value") from None
            raise first from None


def _names_a_table(key: str) -> bool:
    """Whether the dotted ``key`` is a setting or section whose value is a table."""
    try:
        return isinstance(get_value(Settings(), key), dict)
    except ConfigError:
        return False


def _is_section(key: str) -> bool:
    """Whether the dotted ``key`` names a section of settings (``hotkey``, ``vocabulary``), not
    one setting whose value is a table (``hotkey.mode_keys``).

    >>> _is_section("vocabulary"), _is_section("hotkey.mode_keys"), _is_section("rules")
    (True, False, False)
    """
    model: Any = Settings
    for part in split_key(key):
        fields = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
        field = fields.get(part)
        if field is None:
            return False
        model = field.annotation
    return isinstance(model, type) and issubclass(model, BaseModel)


class NothingToTakeOut(ConfigError):
    """``none`` was given for an entry of a table setting that has no such entry: said as it
    is, not read as the word "none" (which gave "unknown mode 'none'")."""


def _entry_named(table: str, name: str, entries: dict[str, Any]) -> str:
    """The entry of ``entries`` (the table setting ``table``) that ``name`` names: a hotkey of
    ``hotkey.mode_keys`` as written in any form ("ctrl+shift+f1" for "Ctrl+Shift+F1"); else
    ``name`` itself."""
    if table == "hotkey.mode_keys":
        with contextlib.suppress(ValueError):
            wanted = _canonical_key(name)
            for entry in entries:
                with contextlib.suppress(ValueError):
                    if _canonical_key(entry) == wanted:
                        return entry
    return name


def set_value(settings: Settings, key: str, value: Any) -> Settings:
    """Return new settings with the dotted ``key`` set to ``value``, validated."""
    data = settings.model_dump(mode="json")
    parts = split_key(key)
    node: Any = data
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
            raise ConfigError(f"unknown setting '{key}' (see `holdtype config show`)")
        node = node[part]
    # An entry of a table setting (`modes.apps.firefox`, `hotkey.mode_keys.f9`) may be new,
    # and `none` takes one out; a section's unknown name is no setting.
    table = len(parts) > 1 and isinstance(node, dict) and not _is_section(".".join(parts[:-1]))
    if table and isinstance(node, dict) and parts[-1] not in node:
        parts[-1] = _entry_named(".".join(parts[:-1]), parts[-1], node)
    if table and value is None and parts[-1] not in node:
        raise NothingToTakeOut(
            f"{key} is not set, so there is nothing to take out (see `holdtype config show`)"
        )
    if not isinstance(node, dict) or (parts[-1] not in node and not (table and value is not None)):
        raise ConfigError(f"unknown setting '{key}' (see `holdtype config show`)")
    if table and value is None:
        del node[parts[-1]]
    else:
        if isinstance(value, dict) and _is_section(key):
            # The settings it names change, the others stay: `config set vocabulary
            # '{"autocorrect": false}'` emptied the vocabulary's terms (defaults filled the gaps).
            value = {**node[parts[-1]], **value}
        node[parts[-1]] = value
    try:
        new = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid value for {key}: {describe_error(exc, key)}{_list_hint(exc, key, value)}"
        ) from exc
    if isinstance(value, bool) and not isinstance(get_value(new, key), bool):
        # pydantic reads true as 1: `audio.device true` picked input device 1.
        raise ConfigError(f"invalid value for {key}: it is not a true/false setting")
    return new
