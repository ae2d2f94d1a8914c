"""A settings file written by hand keeps its comments and layout through Holdtype's saves."""

from __future__ import annotations

import sys
from pathlib import Path

from app.config import Settings, load_settings, save_settings, set_text
from app.paths import get_paths
from app.tomledit import update_toml
from tests.cli import holdtype

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HAND_WRITTEN = """\
# My Holdtype settings (kept in my dotfiles)

[model]
beam_size = 5   # faster on the laptop

[vocabulary]
# work
terms = [
    "scikit-learn",  # sklearn
    "PyPI",
]

[[rules]]
find = "um"   # filler
replace = ""
"""


def _after(*commands: tuple[str, ...]) -> str:
    """Run each of ``commands`` (each must succeed) and return the settings file's text."""
    for args in commands:
        done = holdtype(*args)
        assert done.returncode == 0, done.stderr
    return get_paths().config_file.read_text(encoding="utf-8")


def _file(text: str) -> Path:
    """Write ``text`` as the settings file (by hand, as a user would) and return its path."""
    path = get_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_commands_keep_the_comments_of_a_hand_written_file() -> None:
    path = _file(HAND_WRITTEN)
    text = _after(
        ("vocab", "add", "NumPy"),
        ("rules", "add", "gonna", "going to"),
        ("vocab", "remove", "PyPI"),
        ("config", "set", "model.name", "base.en"),
    )
    for kept in (
        "# My Holdtype settings (kept in my dotfiles)",
        "beam_size = 5   # faster on the laptop",
        "# work",
        '"scikit-learn",  # sklearn',
        'find = "um"   # filler',
    ):
        assert kept in text, text
    settings = load_settings(path).settings
    assert settings.vocabulary.terms == ["scikit-learn", "NumPy"]
    assert [r.find for r in settings.rules] == ["um", "gonna"]
    assert settings.model.name == "base.en" and settings.model.beam_size == 5


def test_a_file_written_with_dotted_keys_keeps_its_comments() -> None:
    """Any key added to a section written as `model.name = ...` rewrote it as a [model] table,
    without its comments."""
    path = _file(
        '# top comment\nvocabulary.terms = ["NumPy"]  # dotted\n'
        'model.beam_size = 5 # five\nmodel.name = "tiny.en" # model\n\n[audio]\nsounds = false\n',
    )
    text = _after(("vocab", "add", "Rust"), ("config", "set", "model.name", "base.en"))
    for kept in (
        'vocabulary.terms = ["NumPy", "Rust"]  # dotted',
        "model.beam_size = 5 # five",
        '"base.en" # model',
    ):
        assert kept in text, text
    assert "[model]" not in text and "[vocabulary]" not in text
    settings = load_settings(path).settings
    assert settings.model.name == "base.en" and settings.audio.sounds is False


def test_a_saved_file_reads_back_as_the_settings_saved(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN + "\n[ui]\nwelcomed = true  # seen it\n", encoding="utf-8")
    settings = load_settings(path).settings
    settings = set_text(settings, "hotkey.key", "f8")
    settings = set_text(settings, "model.language", "")
    settings = settings.model_copy(update={"rules": []})
    save_settings(settings, path)
    text = path.read_text(encoding="utf-8")
    assert "welcomed = true  # seen it" in text and "filler" not in text
    assert load_settings(path).settings == settings


def test_a_file_that_cannot_be_edited_is_written_afresh(tmp_path: Path) -> None:
    # Not TOML (say a half-saved file): nothing to keep, so the caller writes the file anew.
    assert update_toml("[model\nbeam_size = ", {"model": {"beam_size": 5}}) is None
    path = tmp_path / "config.toml"
    path.write_text("[model\nbeam_size = ", encoding="utf-8")
    save_settings(set_text(Settings(), "model.beam_size", "3"), path)
    assert tomllib.loads(path.read_text(encoding="utf-8"))["model"]["beam_size"] == 3


def test_new_lists_are_written_one_item_a_line() -> None:
    text = update_toml("[vocabulary]\nterms = []\n", {"vocabulary": {"terms": ["NumPy", "PyPI"]}})
    assert text == '[vocabulary]\nterms = [\n    "NumPy",\n    "PyPI",\n]\n'


def test_removing_a_hand_written_rule_keeps_each_comment_with_its_rule() -> None:
    # From a review: rules written as find and replace only were told from their full form by
    # nothing, so removing the first moved every comment (and "# keep") down a rule.
    _file(
        '[[rules]]\n# first\nfind = "one"\nreplace = "1"\n\n[[rules]]\n# second\nfind = "two"\n'
        'replace = "2"  # keep\n\n[[rules]]\n# third\nfind = "three"\nreplace = "3"\n',
    )
    text = _after(("rules", "remove", "one"))
    assert "# first" not in text and "regex" not in text and "case_sensitive" not in text, text
    assert text.index("# second") < text.index('find = "two"') < text.index('replace = "2"  # keep')
    assert text.index('replace = "2"  # keep') < text.index("# third") < text.index('find = "three"')


def test_a_table_of_entries_keeps_its_comments_when_one_changes() -> None:
    # From a review: `config set modes.apps.firefox none` rewrote [modes.apps] as an inline
    # table without a comment.
    path = _file(
        '# mine\n[modes.apps]\n# browsers\nfirefox = "clean"  # ff\nchromium = "email" # chr\n',
    )
    text = _after(("config", "set", "modes.apps.firefox", "none"))
    assert "# browsers" in text and 'chromium = "email" # chr' in text and "firefox" not in text, text
    assert load_settings(path).settings.modes.apps == {"chromium": "email"}


def test_clearing_the_only_dotted_key_of_a_section_keeps_the_file() -> None:
    # From a review: with `llm.model = ...` the section's one line, clearing it wrote the whole
    # file afresh, every comment gone.
    path = _file(
        '# dotted style\nmodel.beam_size = 5  # five\nllm.model = "gpt-4o-mini"   # my model\n',
    )
    text = _after(("config", "set", "llm.model", "none"))
    assert "# dotted style" in text and "model.beam_size = 5  # five" in text and "gpt-4o-mini" not in text
    assert load_settings(path).settings.llm.model is None
