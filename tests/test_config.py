"""Settings: defaults, TOML round trip, broken files kept aside, dotted keys, user paths."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from app.config import (
    SCHEMA_VERSION,
    ConfigError,
    HotkeySettings,
    Settings,
    get_value,
    load_settings,
    parse_value,
    read_settings,
    save_settings,
    set_text,
    set_value,
    settings_lock,
)
from app.paths import get_paths
from tests.fixtures.holder import holding
from tests.fixtures.waiting import wait_for


def test_holdtype_home_puts_every_folder_under_it(holdtype_home: Path) -> None:
    paths = get_paths()
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir):
        assert folder.is_relative_to(holdtype_home)
    assert paths.config_file == holdtype_home / "config" / "config.toml"


def test_defaults_when_there_is_no_file() -> None:
    result = load_settings()
    assert result.problem is None
    assert result.settings.hotkey.key == "caps_lock"
    assert result.settings.model.name == "tiny.en"
    assert result.settings.modes.active == "raw"


def test_save_then_load_round_trips_and_leaves_no_temp_files() -> None:
    settings = set_value(Settings(), "vocabulary.terms", ["scikit-learn", "PyPI"])
    settings = set_value(settings, "model.beam_size", 3)
    path = save_settings(settings)
    assert load_settings().settings == settings
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]


def test_unparseable_file_is_moved_aside_and_reported() -> None:
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text("[hotkey\nkey = 'f9'\n")
    result = load_settings()
    assert result.settings == Settings()
    assert result.moved_to is not None and result.moved_to.exists()
    assert result.moved_to.name.startswith("config.toml.broken-")
    assert result.moved_to.read_text() == "[hotkey\nkey = 'f9'\n"  # nothing lost
    assert str(path) in (result.problem or "") and "parse" in (result.problem or "")
    assert not path.exists()


def test_a_typo_that_breaks_the_syntax_costs_only_its_own_statement() -> None:
    """ "sensitivity = 0,5" made the whole file unreadable: dictation went on without the
    vocabulary and the rules, and the next `vocab add` saved defaults with its one term."""
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    text = (
        '[hotkey]\nkey = "f9"\n\n[vocabulary]\nterms = ["NumPy", "PyPI"]\nsensitivity = 0,5\n\n'
        '[[rules]]\nfind = "teh"\nreplace = "the"\n\n'
        '[[rules]]\nfind = "(\\\\d+) percent"\nreplace = "\\\\1%"\nregex = tru\n\n'
        '[[rules]]\nfind = "pie pie"\nreplace = "PyPI"\n'
    )
    path.write_text(text)
    result = load_settings()
    kept = result.settings
    assert kept.vocabulary.terms == ["NumPy", "PyPI"] and kept.vocabulary.sensitivity == 0.5
    assert kept.hotkey.key == "f9"
    # A rule with a broken statement goes whole: without its flag it would match other text.
    assert [(r.find, r.regex) for r in kept.rules] == [("teh", False), ("pie pie", False)]
    assert result.dropped == ["vocabulary.sensitivity (line 6)", "rules.1 (lines 12-15)"]
    problem = result.problem or ""
    assert "cannot be parsed" in problem and "line 6" in problem and "vocabulary.sensitivity" in problem
    assert result.moved_to is not None and result.moved_to.read_text() == text  # nothing lost
    again = load_settings()  # what was kept was saved in its place
    assert again.problem is None and again.settings == kept


def test_a_setting_given_twice_keeps_the_first_and_says_the_second_is_left_out() -> None:
    # It said "with defaults for: hotkey.key (line 3)" while the first value, f9, was kept.
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text('[hotkey]\nkey = "f9"\nkey = "f10"\n')
    result = load_settings()
    assert result.settings.hotkey.key == "f9" and result.dropped == ["hotkey.key (line 3)"]
    assert "kept the rest of it, without: hotkey.key (line 3)" in (result.problem or ""), result.problem
    assert "defaults" not in (result.problem or "")


def test_a_list_left_open_or_an_item_without_its_comma_costs_nothing() -> None:
    """A "]" taken out of the terms' list (the file as Holdtype writes it) cost every setting:
    each statement after it was in the list. The list is closed where the next statement
    starts, an item missing its comma gets one, and an item that cannot be read is left out."""
    from app.config import Rule, save_settings

    path = get_paths().config_file
    written = Settings(rules=[Rule(find="teh", replace="the")])
    written.vocabulary.terms = ["NumPy", "pandas", "PyPI"]
    written.vocabulary.bias = "both"
    written.hotkey.key = "f9"
    save_settings(written, path)
    text = path.read_text()
    assert '    "PyPI",\n]\nbias' in text  # the file's own layout, which the edits below break
    path.write_text(text.replace('    "PyPI",\n]\nbias', '    "PyPI",\nbias'))
    result = load_settings()
    assert result.settings == written and result.dropped == []
    assert result.problem is not None and "cannot be parsed" in result.problem
    path.write_text(text.replace('    "NumPy",\n', '    "NumPy"  # arrays\n'))  # no comma after it
    assert load_settings().settings == written
    broken = text.replace('    "pandas",\n', '    "pandas,\n')  # a quote missing
    path.write_text(broken)
    result = load_settings()
    assert result.settings.vocabulary.terms == ["NumPy", "PyPI"] and result.settings.rules == written.rules
    line = broken.split("\n").index('    "pandas,') + 1
    assert result.dropped == [f"vocabulary.terms (line {line})"]


def test_mending_lists_has_a_budget_of_its_own_and_reaches_the_files_end() -> None:
    """From a review: twelve items without their commas used up the ten drops' budget and the
    file gave way to defaults; a list left open at the end of the file ("at end of document":
    no line) was not mended; two items on a line hid a missing comma after them."""
    from app.toml_salvage import parse_salvaging

    items = "".join(f'  "t{i}"\n' for i in range(12))
    data, lost = parse_salvaging(f'[vocabulary]\nterms = [\n{items}]\nbias = "prompt"\n')
    assert data["vocabulary"]["terms"] == [f"t{i}" for i in range(12)] and lost == []
    data, lost = parse_salvaging('[vocabulary]\nbias = "prompt"\nterms = [\n  "NumPy",\n  "pandas",\n')
    assert data == {"vocabulary": {"bias": "prompt", "terms": ["NumPy", "pandas"]}} and lost == []
    data, lost = parse_salvaging('[vocabulary]\nterms = [\n  "NumPy", "pandas"\n  "PyPI",\n]\n')
    assert data["vocabulary"]["terms"] == ["NumPy", "pandas", "PyPI"] and lost == []


def test_a_broken_file_that_cannot_be_moved_aside_is_still_reported_and_defaults_used() -> None:
    """In a read-only folder the move failed and every command said only "Permission denied",
    never what was wrong with the file. A link to a file of /proc (where nothing can be moved;
    a read-only folder does not stop the root user the tests may run as) fails the same way."""
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.symlink_to("/proc/version")  # "Linux version ...": not TOML
    result = load_settings()
    assert result.settings == Settings() and result.moved_to is None
    assert "cannot be parsed" in (result.problem or "") and "could not be moved aside" in (
        result.problem or ""
    )
    assert path.is_symlink() and Path("/proc/version").exists()


def test_a_file_saved_with_a_byte_order_mark_loads() -> None:
    # Notepad (before 2019) and PowerShell 5 save UTF-8 with a byte-order mark, which Python's
    # TOML parser rejects: the file, vocabulary and all, used to be set aside as broken.
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    text = '[vocabulary]\r\nterms = ["scikit-learn", "naïve"]\r\n'
    for data in (codecs.BOM_UTF8 + text.encode(), text.encode("utf-16")):
        path.write_bytes(data)
        result = load_settings()
        assert result.problem is None and result.moved_to is None
        assert result.settings.vocabulary.terms == ["scikit-learn", "naïve"]
        assert read_settings(path).vocabulary.terms == ["scikit-learn", "naïve"]  # the running app's read


def test_invalid_section_is_set_aside_but_valid_sections_are_kept() -> None:
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text('[model]\nbeam_size = 0\n\n[vocabulary]\nterms = ["PyPI"]\n')
    result = load_settings()
    assert result.problem and "model.beam_size" in result.problem
    assert result.settings.vocabulary.terms == ["PyPI"]
    assert result.settings.model.beam_size == Settings().model.beam_size
    assert result.dropped == ["model.beam_size"]
    assert load_settings().settings.vocabulary.terms == ["PyPI"]  # the salvage was saved


def test_one_wrong_entry_of_a_checked_table_costs_only_itself() -> None:
    """From a review: a mode key bound to the dictation key, or one unknown key name, failed
    the check of the whole [hotkey] table (or of its mode keys), and all of it was dropped:
    the user's F9 in toggle mode became Caps Lock held, and every mode key went."""
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text(
        '[hotkey]\nkey = "f9"\nmode = "toggle"\ncancel_key = "f10"\nmin_hold_s = 0.5\n\n'
        '[hotkey.mode_keys]\n"f9" = "clean"\n"f8" = "email"\n"zz" = "email"\n'
    )
    result = load_settings()
    hotkey = result.settings.hotkey
    assert (hotkey.key, hotkey.mode, hotkey.cancel_key, hotkey.min_hold_s) == ("f9", "toggle", "f10", 0.5)
    assert hotkey.mode_keys == {"f8": "email"}
    assert result.dropped == ["hotkey.mode_keys.zz", "hotkey.mode_keys.f9"], result.dropped
    # A cancel key equal to the key: the cancel key goes, not the user's hotkey, wherever the
    # file wrote it (from a review: written first, the key went).
    for text in ('key = "f9"\ncancel_key = "f9"', 'cancel_key = "f9"\nkey = "f9"'):
        path.write_text(f'[hotkey]\n{text}\nmode = "toggle"\n')
        result = load_settings()
        assert (result.settings.hotkey.key, result.settings.hotkey.mode) == ("f9", "toggle")
        assert result.dropped == ["hotkey.cancel_key"]
    # Two wrong entries (from a review: no one removal passed the check, and all went).
    from app.config import salvage

    raw = {
        "hotkey": {
            "key": "f9",
            "cancel_key": "f10",
            "mode_keys": {"f8": "list", "f9": "clean", "f10": "email"},
        }
    }
    settings, dropped = salvage(raw)
    assert settings.hotkey.mode_keys == {"f8": "list"}, dropped
    settings, dropped = salvage({"modes": {"apps": {"": "clean", "kitty": "raw", " ": "email"}}})
    assert settings.modes.apps == {"kitty": "raw"} and dropped == ["modes.apps.", "modes.apps. "]


def test_a_mistyped_key_or_a_wrong_value_costs_only_itself() -> None:
    # One typo beside the vocabulary's terms used to set the whole section aside, terms and all.
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text(
        '[model]\nbeam_size = "ten"\nvad_filter = true\n\n'
        '[vocabulary]\nterms = ["Kubernetes", 5, "PyPI"]\nsensitivty = 0.7\n\n'
        '[[rules]]\nfind = "new line"\nreplace = "\\\\n"\n\n'
        '[[rules]]\nfind = "u+m"\nreplace = ""\nregx = true\n\n'
        '[[rules]]\nfind = "gonna"\nreplace = "going to"\n\n'
        '[[rules]]\nfind = "wanna"\nreplace = "want to"\ncase = true\n'
    )
    result = load_settings()
    assert result.moved_to is not None and result.moved_to.exists()  # the file as written
    settings = result.settings
    assert settings.vocabulary.terms == ["Kubernetes", "PyPI"]
    assert settings.model.vad_filter is True and settings.model.beam_size == Settings().model.beam_size
    assert [r.find for r in settings.rules] == ["new line", "gonna"]  # the mistyped rule, whole
    dropped = ["model.beam_size", "rules.1", "rules.3", "vocabulary.sensitivty", "vocabulary.terms.1"]
    assert sorted(result.dropped) == dropped
    problem = result.problem or ""
    assert "vocabulary.sensitivty" in problem and str(result.moved_to) in problem
    assert load_settings().settings == settings  # what was kept is the file now


def test_a_file_of_schema_1_gets_the_terminals_named_since_and_keeps_its_own() -> None:
    """A settings file saved once holds the whole terminal list of its day: GNOME Console and
    the rest, named later, got Ctrl+V (a literal ^V there) until the migration added them."""
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text('schema_version = 1\n\n[paste]\nterminal_classes = ["konsole", "my-term", "GUAKE"]\n')
    result = load_settings()
    assert result.problem is None
    classes = result.settings.paste.terminal_classes
    assert classes[:3] == ["konsole", "my-term", "GUAKE"]  # the user's, first and unchanged
    assert "kgx" in classes and "org.gnome.Ptyxis" in classes
    assert "guake" not in classes  # already there, spelled otherwise
    assert result.settings.schema_version == SCHEMA_VERSION == 2
    # Saved as schema 2, it is not migrated again: a terminal the user takes out stays out.
    trimmed = [c for c in classes if c != "kgx"]
    paste = result.settings.paste.model_copy(update={"terminal_classes": trimmed})
    save_settings(result.settings.model_copy(update={"paste": paste}))
    assert "kgx" not in load_settings().settings.paste.terminal_classes


def test_a_file_of_a_newer_holdtype_keeps_what_this_one_knows() -> None:
    """Going back to an older Holdtype set a newer settings file aside and used defaults: the
    user's vocabulary, rules and hotkey were gone until they found the file set aside."""
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    newer = (
        f'schema_version = {SCHEMA_VERSION + 1}\n\n[hotkey]\nkey = "f9"\n\n'
        '[vocabulary]\nterms = ["PyPI", "scikit-learn"]\nsounds_like = "new in a later version"\n'
    )
    path.write_text(newer)
    result = load_settings()
    assert result.settings.vocabulary.terms == ["PyPI", "scikit-learn"]
    assert result.settings.hotkey.key == "f9"
    assert result.dropped == ["vocabulary.sounds_like"]
    problem = result.problem or ""
    assert f"newer Holdtype (settings schema {SCHEMA_VERSION + 1}" in problem
    assert "kept the rest of it, without: vocabulary.sounds_like" in problem
    assert result.moved_to is not None and result.moved_to.read_text() == newer  # kept whole
    assert result.moved_to.name.startswith("config.toml.newer-")  # not "broken": it is not
    assert load_settings().settings == result.settings  # what was kept is the file now

    # Nothing this Holdtype does not know: all of it is kept, and the message says so
    path.write_text(f'schema_version = {SCHEMA_VERSION + 1}\n\n[hotkey]\nkey = "f8"\n')
    result = load_settings()
    assert result.settings.hotkey.key == "f8" and result.dropped == []
    assert (result.problem or "").endswith("; kept all of its settings.")


def test_a_schema_version_that_is_no_number_is_reported_not_a_crash() -> None:
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text('schema_version = "abc"\n\n[vocabulary]\nterms = ["PyPI"]\n')
    result = load_settings()  # was: ValueError from int("abc"), and no command could start
    assert "schema_version" in (result.problem or "")
    assert result.settings.vocabulary.terms == ["PyPI"]
    with pytest.raises(ConfigError, match="schema_version"):
        read_settings(result.moved_to or path)  # what the running app reads: refused, not a crash


def test_a_settings_file_that_cannot_be_read_stays_where_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """FAKE: reading raises PermissionError, as for a file of another user; the tests run as
    root, who reads any file, so no real part refuses on cue."""
    import app.config

    path = get_paths().config_file
    save_settings(set_value(Settings(), "vocabulary.terms", ["PyPI"]))

    def refuse(file: Path) -> str:
        raise PermissionError(13, "Permission denied", str(file))

    with monkeypatch.context() as patched, pytest.raises(ConfigError, match=r"cannot read .*chmod"):
        patched.setattr(app.config, "read_text", refuse)
        load_settings()
    assert path.exists() and not list(path.parent.glob("*.broken-*"))  # not set aside as broken
    assert load_settings().settings.vocabulary.terms == ["PyPI"]


def test_a_settings_file_that_is_a_link_stays_a_link(tmp_path: Path) -> None:
    # A dotfiles repository links config.toml to its own file: a save used to replace the link.
    dotfile = tmp_path / "dotfiles" / "holdtype.toml"
    dotfile.parent.mkdir()
    dotfile.write_text('[vocabulary]\nterms = ["PyPI"]\n')
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.symlink_to(dotfile)
    save_settings(set_value(load_settings().settings, "vocabulary.terms", ["PyPI", "NumPy"]))
    assert path.is_symlink() and read_settings(dotfile).vocabulary.terms == ["PyPI", "NumPy"]
    dotfile.write_text('[vocabulary]\nterms = ["PyPI"]\nsensitivty = 2\n')  # a typo
    result = load_settings()
    assert result.moved_to is not None and result.moved_to.parent == dotfile.parent
    assert path.is_symlink() and read_settings(dotfile).vocabulary.terms == ["PyPI"]


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        set_value(Settings(), "model.nonsense", 1)
    with pytest.raises(ConfigError, match="unknown setting"):
        get_value(Settings(), "nope.key")


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("model.beam_size", "3", 3),
        ("hotkey.mode", "toggle", "toggle"),
        ("audio.keep_audio", "true", True),
        ("audio.device", "none", None),
        ("audio.device", "2", 2),
        ("llm.timeout_s", "2.5", 2.5),
        ("vocabulary.terms", '["a", "b"]', ["a", "b"]),
    ],
)
def test_set_value_parses_and_validates(key: str, text: str, expected: object) -> None:
    assert get_value(set_value(Settings(), key, parse_value(text)), key) == expected


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("model.beam_size", "0"),
        ("hotkey.mode", "sometimes"),
        ("model.device", "tpu"),
        ("model.compute_type", "float8"),
    ],
)
def test_set_value_refuses_bad_values(key: str, text: str) -> None:
    with pytest.raises(ConfigError, match=key):
        set_value(Settings(), key, parse_value(text))
    with pytest.raises(ConfigError, match=key):
        set_text(Settings(), key, text)


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
def test_a_number_that_is_not_finite_is_refused_as_such(text: str) -> None:
    # `config set llm.timeout_s nan` said "less than or equal to 600", of a value below nothing.
    with pytest.raises(ConfigError, match=r"llm\.timeout_s: Input should be a finite number"):
        set_text(Settings(), "llm.timeout_s", text)
    with pytest.raises(ConfigError, match=r"audio\.pre_roll_s: Input should be a finite number"):
        set_text(Settings(), "audio.pre_roll_s", text)


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("vocabulary.bias", "none", "none"),  # a word, not "no value"
        ("llm.model", "true", "true"),
        ("llm.model", "none", None),  # an optional setting cleared
        ("model.beam_size", "4", 4),
        ("model.compute_type", "int8_float32", "int8_float32"),
    ],
)
def test_set_text_reads_a_word_as_itself_when_only_it_is_valid(key: str, text: str, expected: object) -> None:
    assert get_value(set_text(Settings(), key, text), key) == expected


def test_an_unknown_compute_type_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown compute type 'float8'; one of auto, default, int8"):
        set_text(Settings(), "model.compute_type", "float8")


def test_settings_written_as_toml_without_nulls() -> None:
    settings = set_value(Settings(), "hotkey.key", "f9")
    settings = set_value(settings, "llm.model", None)
    path = save_settings(settings)
    text = path.read_text()
    assert "[hotkey]" in text and "null" not in text.lower()
    assert load_settings().settings == settings


def test_only_changed_settings_are_written_so_later_defaults_reach_the_file() -> None:
    """The first run wrote every default into the file (the welcome's one flag saved): a
    default changed in a later version never reached it. Only what differs is written; what
    the file already holds stays, even at its default value."""
    path = get_paths().config_file
    save_settings(set_value(Settings(), "ui.welcomed", True))
    text = path.read_text()
    assert "welcomed = true" in text and "holdtype config show" in text
    assert "[model]" not in text and "beam_size" not in text and "terminal_classes" not in text
    mine = f"beam_size = {Settings().model.beam_size}  # mine"
    path.write_text(f"{text}\n[model]\n{mine}\n")
    save_settings(set_value(load_settings().settings, "vocabulary.terms", ["NumPy"]))
    text = path.read_text()
    assert mine in text and '"NumPy"' in text
    assert "sensitivity" not in text
    assert load_settings().settings.vocabulary.terms == ["NumPy"]


def test_a_setting_set_back_to_its_default_leaves_the_file() -> None:
    """From a review: `config set model.beam_size 5` then `... 10` (the default) left
    beam_size = 10 pinned in the file, against its own header, with no way to take it out."""
    from tests.cli import holdtype

    path = get_paths().config_file
    default = Settings().model.beam_size
    assert holdtype("config", "set", "model.beam_size", str(default - 1)).returncode == 0
    assert "beam_size" in path.read_text()
    assert holdtype("config", "set", "model.beam_size", str(default)).returncode == 0
    assert "beam_size" not in path.read_text()
    assert holdtype("config", "set", "vocabulary.sensitivity", "0.8").returncode == 0
    done = holdtype("config", "reset", "vocabulary.sensitivity")
    assert done.returncode == 0 and done.stdout.strip() == "vocabulary.sensitivity = 0.5 (the default)"
    assert "sensitivity" not in path.read_text()
    assert holdtype("config", "reset", "nosuch").returncode == 1
    # An entry of a table, which no default has, is taken out (it said "unknown setting",
    # though `config get` and `config set` took the same key: from a review).
    assert holdtype("config", "set", "modes.apps.firefox", "email").returncode == 0
    done = holdtype("config", "reset", "modes.apps.firefox")
    assert (
        done.returncode == 0
        and done.stdout.strip() == "modes.apps.firefox taken out (the default has no such entry)"
    )
    assert "firefox" not in path.read_text() and load_settings().settings.modes.apps == {}
    again = holdtype("config", "reset", "modes.apps.firefox")
    assert again.returncode == 1 and "nothing to take out" in again.stderr
    assert "unknown setting 'model.nosuch'" in holdtype("config", "reset", "model.nosuch").stderr


def test_auto_detected_language_survives_a_save() -> None:
    settings = set_value(Settings(), "model.language", None)
    save_settings(settings)
    assert load_settings().settings.model.language is None


def test_a_change_waits_for_another_process_saving_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    code = (
        "import sys; from pathlib import Path; from app.config import settings_lock\n"
        "with settings_lock(Path(sys.argv[1])):\n"
        "    print('held', flush=True); sys.stdin.read()"
    )
    refused = pytest.raises(ConfigError, match="another Holdtype process")
    with holding(code, str(path)), refused, settings_lock(path, wait_s=0.2):
        pass
    # the holder has ended: the operating system dropped its lock
    with settings_lock(path, wait_s=30), settings_lock(path):  # nested in one thread: no wait
        save_settings(Settings(), path)
    assert read_settings(path) == Settings()


def test_true_is_not_a_number_and_a_device_index_is_not_negative() -> None:
    # pydantic reads true as 1: `config set audio.device true` picked input device 1.
    with pytest.raises(ConfigError, match="not a true/false setting"):
        set_value(Settings(), "hotkey.min_hold_s", True)
    with pytest.raises(ConfigError, match="not a true/false setting"):
        set_value(Settings(), "audio.device", True)
    with pytest.raises(ConfigError, match=r"invalid value for audio.device: a device index is 0 or more"):
        set_text(Settings(), "audio.device", "-1")
    assert set_text(Settings(), "audio.device", '"2"').audio.device == 2  # quoted, still the index
    assert set_text(Settings(), "audio.device", "USB Mic").audio.device == "USB Mic"
    assert set_value(Settings(), "audio.sounds", False).audio.sounds is False


def test_a_term_typed_with_a_combining_accent_is_the_same_term() -> None:
    # "café" as c-a-f-e + U+0301 (macOS file names, some keyboards) and as "é" were two terms.
    settings = set_value(Settings(), "vocabulary.terms", ["cafe\u0301", "café", "Zoë"])
    assert settings.vocabulary.terms == ["café", "Zoë"]


def test_a_hotkey_holdtype_does_not_know_is_invalid_in_the_file_too() -> None:
    # Typed into config.toml by hand, "bogus_key" was applied by the running app and turned
    # the hotkey off, where `config set` refuses it.
    path = get_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text('[hotkey]\nkey = "bogus_key"\nmode = "toggle"\n')
    with pytest.raises(ConfigError, match=r"hotkey\.key"):
        read_settings(path)  # what the running app reads: not applied
    result = load_settings()
    assert result.dropped == ["hotkey.key"] and result.settings.hotkey.mode == "toggle"
    assert result.settings.hotkey.key == "caps_lock"
    with pytest.raises(ConfigError, match=r"esc is both the dictation key \(hotkey\.key\) and the cancel"):
        set_value(Settings(), "hotkey.key", "Esc")
    # Set from the other side, the message named the key it set ("caps_lock is the cancel key
    # too") where caps_lock was the dictation key.
    with pytest.raises(ConfigError, match=r"caps_lock is both the dictation key"):
        set_value(Settings(), "hotkey.cancel_key", "caps_lock")
    with pytest.raises(ConfigError, match="unknown key"):
        set_value(Settings(), "hotkey.mode_keys", {"bogus_key": "clean"})


@pytest.mark.parametrize("key", ["hotkey.key", "hotkey.cancel_key", "model.name", "vocabulary.bias"])
def test_an_empty_value_for_a_setting_that_needs_one_says_so(key: str) -> None:
    # Before: "Input should be a valid string", and `model.name ""` was taken for the folder
    # the command ran in.
    with pytest.raises(ConfigError, match=f"{key} cannot be left empty"):
        set_text(Settings(), key, "")
    assert set_text(Settings(), "model.language", "").model.language is None  # empty: detect it


def test_a_broken_file_is_set_aside_only_once_another_process_saving_is_done(tmp_path: Path) -> None:
    """A command saving the settings (holding their lock) while another found the file broken:
    the file was moved aside at once, outside the lock, and the saving command's change was
    then overwritten or moved aside with it. Now the set-aside waits for the lock and reads
    the file again: the other process's good file stands."""
    import sys
    import threading
    import traceback

    path = tmp_path / "config.toml"
    path.write_text("[vocabulary\nterms = [", encoding="utf-8")
    code = (
        "import sys; from pathlib import Path\n"
        "from app.config import Settings, save_settings, settings_lock\n"
        "path = Path(sys.argv[1])\n"
        "with settings_lock(path):\n"
        "    print('held', flush=True); sys.stdin.readline()\n"
        "    settings = Settings(); settings.vocabulary.terms = ['keep']; save_settings(settings, path)"
    )
    results: list = []
    with holding(code, str(path)) as holder:
        loader = threading.Thread(target=lambda: results.append(load_settings(path)), daemon=True)
        loader.start()

        def waiting_for_the_lock() -> bool:
            frame = sys._current_frames().get(loader.ident or 0)
            return frame is not None and any(f.name == "lock_within" for f in traceback.extract_stack(frame))

        wait_for(waiting_for_the_lock, timeout=10, what="the loader to wait for the settings lock")
        assert path.read_text(encoding="utf-8").startswith("[vocabulary\n")  # not moved yet
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        loader.join(30)
    assert results and results[0].problem is None, results
    assert results[0].settings.vocabulary.terms == ["keep"]
    assert not list(tmp_path.glob("*.broken-*"))


def test_an_endless_cache_lifetime_is_refused_not_stored_as_infinity() -> None:
    # `config set llm.cache_ttl_days inf` was taken, and `cache stats --json` printed Infinity.
    with pytest.raises(ConfigError, match="finite"):
        set_value(Settings(), "llm.cache_ttl_days", float("inf"))


def test_a_log_level_in_lower_case_is_taken() -> None:
    # `config set ui.log_level debug` was refused; only DEBUG was.
    assert set_value(Settings(), "ui.log_level", "debug").ui.log_level == "DEBUG"


def test_apps_tied_to_modes_are_named_once_and_in_full() -> None:
    settings = set_value(Settings(), "modes.apps", {" thunderbird ": "email", "Slack": "message"})
    assert settings.modes.apps == {"thunderbird": "email", "Slack": "message"}
    with pytest.raises(ConfigError, match="named twice"):  # matched ignoring case: one app
        set_value(Settings(), "modes.apps", {"slack": "message", "Slack": "clean"})
    with pytest.raises(ConfigError, match="cannot be empty"):
        set_value(Settings(), "modes.apps", {" ": "email"})
    with pytest.raises(ConfigError, match="give the mode used in thunderbird"):
        set_value(Settings(), "modes.apps", {"thunderbird": ""})


@pytest.mark.parametrize(
    ("key", "hotkey", "problem"),
    [
        ("shift+esc", {}, "pressing shift+esc also presses the cancel key (esc)"),
        ("ctrl+esc", {"key": "f9"}, "pressing ctrl+esc also presses the cancel key (esc)"),
        ("alt_r", {"key": "f9", "mode_keys": {"alt_gr": "raw"}}, "alt_r already starts the 'raw' mode"),
        ("ctrl", {"key": "f9", "mode_keys": {"ctrl_r": "raw"}}, "ctrl already starts the 'raw' mode"),
    ],
)
def test_a_binding_another_takes_every_press_of_is_refused(
    key: str, hotkey: dict[str, object], problem: str
) -> None:
    """Only canonical names were compared: shift+esc as the hotkey was taken by the cancel key
    (Esc), so every press cancelled; alt_r and alt_gr (one key on many layouts) were two
    bindings of which the listener heard one."""
    from app.hotkey.binding import check_hotkey

    canonical, said = check_hotkey(key, HotkeySettings.model_validate(hotkey))
    assert canonical is None and said is not None and said.startswith(problem), said


def test_bindings_that_differ_in_their_modifiers_are_both_kept() -> None:
    from app.hotkey.binding import check_hotkey

    assert check_hotkey("ctrl+f9", HotkeySettings(key="f9")) == ("ctrl+f9", None)
    assert check_hotkey("esc", HotkeySettings(cancel_key="shift+esc"))[1] is None


def test_a_settings_file_with_a_shadowed_binding_still_loads_whole() -> None:
    """The refusal is for a binding being set: a file written before it loads as it was (the
    whole [hotkey] section went back to defaults, and the file was rewritten)."""
    path = get_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '[hotkey]\nkey = "f9"\nmode = "toggle"\nmode_keys = { "shift+esc" = "clean", f8 = "email" }\n'
    )
    result = load_settings(path)
    assert result.problem is None and result.moved_to is None
    assert (result.settings.hotkey.key, result.settings.hotkey.mode) == ("f9", "toggle")
    assert result.settings.hotkey.mode_keys == {"shift+esc": "clean", "f8": "email"}


def test_a_table_declared_twice_is_read_as_one() -> None:
    """A second [llm] pasted at the end made the file unparseable: every setting, the
    vocabulary too, went back to its default."""
    path = get_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[llm]\ntimeout_s = 20\n[vocabulary]\nterms = ["Kubernetes"]\n[llm]\nretries = 1\n')
    result = load_settings(path)
    assert result.settings.vocabulary.terms == ["Kubernetes"]
    assert (result.settings.llm.timeout_s, result.settings.llm.retries) == (20.0, 1)
    assert result.problem and "Cannot declare ('llm',) twice" in result.problem
    assert load_settings(path).settings.vocabulary.terms == ["Kubernetes"]  # saved back, readable


def test_a_bad_value_in_a_repeated_table_is_named_by_its_setting() -> None:
    """Left out of a table declared twice, "sensitivity = 0,5" was named by a stand-in of the
    salvage's own: "kept the rest of it, without: holdtype-repeated-0.sensitivity (line 5)"."""
    path = get_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '[vocabulary]\nterms = ["PyPI"]\n[llm]\nretries = 1\n'
        '[vocabulary]\nsensitivity = 0,5\nterms = [\n  "PyPI,\n  "NumPy",\n]\n'
        "[llm]\nretries = two\n"
    )
    result = load_settings(path)
    assert result.settings.vocabulary.terms == ["NumPy"] and result.settings.llm.retries == 1
    assert result.problem and result.problem.endswith(
        "without: vocabulary.sensitivity (line 6), vocabulary.terms (line 8), llm.retries (line 12)."
    ), result.problem
    assert "holdtype-repeated" not in result.problem


def test_a_file_saved_in_a_legacy_encoding_keeps_its_settings() -> None:
    """ "café" typed in an editor set to Windows-1252: one byte that is no UTF-8 cost every
    setting."""
    path = get_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes('[vocabulary]\nterms = ["café", "NumPy"]\n[llm]\ntimeout_s = 20\n'.encode("cp1252"))
    result = load_settings(path)
    assert result.settings.vocabulary.terms == ["café", "NumPy"] and result.settings.llm.timeout_s == 20.0
    assert result.problem and "is not UTF-8 text" in result.problem and "Windows-1252" in result.problem
    assert result.moved_to is not None and result.moved_to.read_bytes().startswith(b"[vocabulary]")
    assert "café" in path.read_text(encoding="utf-8")  # saved back as UTF-8
