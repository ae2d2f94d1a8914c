"""An API key pasted where a model id goes is refused, never written to config.toml in plain text.

Keys belong in llm's key store (``holdtype llm keys set openai``). The default-model box of the LLM tab
is editable and ``holdtype config set llm.model`` takes any id a plugin may add later, so a key
pasted there used to be saved as the model id.
"""

from __future__ import annotations

import pytest

from app.config import Settings
from app.key_shapes import looks_like_api_key
from app.llm.modes import Mode
from app.paths import get_paths
from tests.cli import holdtype

FAKE_KEYS = [
    "sk-proj-FAKEfake0123456789abcdefFAKEfake0123",
    "sk-ant-api03-FAKEfake0123456789abcdefFAKE",
    "sk-or-v1-0123456789abcdef0123456789abcdef",
    "gsk_FAKEfake0123456789abcdefFAKEfake",
]
# A key with none of the providers' prefixes (a Mistral key): only its value tells it is one.
PLAIN_KEY = "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW"


@pytest.mark.parametrize("key", FAKE_KEYS)
def test_config_set_refuses_a_key_as_the_llm_model(key: str) -> None:
    done = holdtype("config", "set", "llm.model", key)
    assert done.returncode == 1
    # (it named `llm keys set`, a command on no user's PATH)
    assert "API key" in done.stderr and "holdtype llm keys set openai" in done.stderr
    assert key not in done.stderr + done.stdout  # the message does not repeat the secret
    config = get_paths().config_file
    assert not config.exists() or key not in config.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "token",
    [
        "sk_live_51H8abcdefghijklmnopqrstuvWXYZ0123",  # Stripe
        "glpat-AbCdEfGh1234567890xy",  # GitLab
        "AKIAIOSFODNN7EXAMPLE",  # AWS
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",  # Slack
        "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",  # npm
    ],
)
def test_other_services_tokens_are_not_saved(token: str) -> None:
    """The settings' check knew LLM providers' keys only; the commit mode's diff now hides these
    tokens, and `config set` and `rules add` refuse the same list."""
    for args in (("config", "set", "audio.device", token), ("rules", "add", "my token", f"({token})")):
        done = holdtype(*args)
        assert done.returncode == 1 and "API key" in done.stderr, (args, done.stderr)
        assert token not in done.stdout + done.stderr
    config = get_paths().config_file
    assert not config.exists() or token not in config.read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", ["audio.device", "vocabulary.terms", "modes.active"])
def test_config_set_refuses_a_key_for_any_setting(setting: str) -> None:
    """``audio.device`` takes any name (the device may be plugged in later): a key pasted
    there was saved as it was."""
    key = FAKE_KEYS[0]
    done = holdtype("config", "set", setting, key)
    assert done.returncode == 1 and "API key" in done.stderr and key not in done.stderr
    config = get_paths().config_file
    assert not config.exists() or key not in config.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "model", ["gpt-4o-mini", "claude-3.5-sonnet", "openrouter/openai/gpt-4o", "sk-model", "npm_config_cache"]
)
def test_model_ids_are_still_taken(model: str) -> None:
    assert not looks_like_api_key(model)
    assert Settings.model_validate({"llm": {"model": model}}).llm.model == model


def test_a_key_typed_into_the_file_is_not_kept_in_it() -> None:
    """A hand-edited file with a key as the model: the file is moved aside (0600, as it was) and
    reported, and the settings file Holdtype goes on with holds no key."""
    key = FAKE_KEYS[0]
    config = get_paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[llm]\nmodel = "{key}"\n', encoding="utf-8")
    done = holdtype("config", "show")
    assert done.returncode == 0, done.stderr
    assert "API key" in done.stderr and key not in done.stderr + done.stdout
    assert key not in config.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("setting", "value"),
    [("audio.device", f'"{FAKE_KEYS[0]}"'), ("paste.terminal_classes", f'["xterm", "{FAKE_KEYS[1]}"]')],
)
def test_config_set_refuses_a_key_inside_a_json_value(setting: str, value: str) -> None:
    """Only the typed text was checked: quoted as a JSON string, or in a list, a key was saved."""
    done = holdtype("config", "set", setting, value)
    assert done.returncode == 1 and "API key" in done.stderr, done.stderr
    config = get_paths().config_file
    assert not config.exists() or "FAKEfake" not in config.read_text(encoding="utf-8")


def test_a_rule_that_would_type_a_key_is_not_saved() -> None:
    """Every save checks every setting: a replacement rule is text in the plain config file too."""
    key = FAKE_KEYS[0]
    done = holdtype("rules", "add", "my key", key)
    assert done.returncode == 1 and "rules.0.replace looks like an API key" in done.stderr, done.stderr
    assert key not in done.stderr + done.stdout
    config = get_paths().config_file
    assert not config.exists() or key not in config.read_text(encoding="utf-8")
    assert holdtype("rules", "add", "my email", "ana@example.com").returncode == 0


@pytest.mark.parametrize("around", ['"{}"', "OPENAI_API_KEY={}", "my key is {}.", "({})"])
def test_a_key_next_to_punctuation_is_not_saved(around: str) -> None:
    """The check split the value at spaces only: a key in quotes, after ``=`` or before a full
    stop was no word of a key's shape, and went into the plain settings file."""
    value = around.format(FAKE_KEYS[0])
    done = holdtype("rules", "add", "my key", value)
    assert done.returncode == 1 and "rules.0.replace looks like an API key" in done.stderr, done.stderr
    config = get_paths().config_file
    assert not config.exists() or "FAKEfake" not in config.read_text(encoding="utf-8")


def test_a_broken_file_holding_a_key_is_left_as_it_is_and_said_at_each_start() -> None:
    """A file with a typo and a key in a rule: it was moved aside, the values kept from it could
    not be saved (they hold the key), the command failed, and the next start found no file and
    used defaults without a word: the vocabulary was gone."""
    key = FAKE_KEYS[0]
    config = get_paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    text = (
        '[vocabulary]\nterms = ["Kubernetes"]\nsensitivty = 0.5\n\n'
        f'[[rules]]\nfind = "my key"\nreplace = "{key}"\n'
    )
    config.write_text(text, encoding="utf-8")
    for _ in range(2):
        done = holdtype("vocab", "list")
        assert done.returncode == 0, done.stderr
        assert "Kubernetes" in done.stdout
        assert "sensitivty" in done.stderr and "API key" in done.stderr, done.stderr
        assert key not in done.stderr + done.stdout
        assert config.read_text(encoding="utf-8") == text  # nothing moved, nothing lost
    assert not list(config.parent.glob("config.toml.broken-*"))


@pytest.mark.parametrize("kept_in", ["store", "environment"])
def test_the_users_own_key_of_any_shape_is_not_saved(kept_in: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key with no well-known prefix, stored with `holdtype llm keys set mistral` (or in
    $MISTRAL_API_KEY), was taken as the model id, a rule's replacement and a mode's model and
    saved whole in the plain settings file, while the fallback reasons already hid it as the
    user's key."""
    if kept_in == "store":
        assert holdtype("llm", "keys", "set", "mistral", input=PLAIN_KEY).returncode == 0
    else:
        monkeypatch.setenv("MISTRAL_API_KEY", PLAIN_KEY)  # (the CLI runs with this environment)
    for args in (
        ("config", "set", "llm.model", PLAIN_KEY),
        ("config", "set", "audio.device", f'"{PLAIN_KEY}"'),
        ("rules", "add", "mistral", PLAIN_KEY),
        ("rules", "add", "my key", f"key={PLAIN_KEY}."),
    ):
        done = holdtype(*args)
        assert done.returncode == 1 and "API key" in done.stderr, (args, done.stderr)
        assert PLAIN_KEY not in done.stdout + done.stderr
    config = get_paths().config_file
    assert not config.exists() or PLAIN_KEY not in config.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="looks like an API key"):  # (a mode file is plain text too)
        Mode(name="mine", model=PLAIN_KEY, template="{text}")
    assert holdtype("config", "set", "llm.model", "mistral-small-latest").returncode == 0


def test_a_key_already_in_the_file_is_named_as_the_files_with_the_way_out() -> None:
    """From a review: a rule typing a key, written into the file by hand, loaded; then every
    change (`config set model.beam_size 4`) was refused with "not saved: rules.0.replace looks
    like an API key", as if the change were the key. It is named as the file's, with the
    command that takes it out, and after that the change is saved."""
    config = get_paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[[rules]]\nfind = "mykey"\nreplace = "{FAKE_KEYS[0]}"\n', encoding="utf-8")
    refused = holdtype("config", "set", "model.beam_size", "4")
    assert refused.returncode == 1 and FAKE_KEYS[0] not in refused.stderr
    assert f"the settings file {config} holds what looks like an API key at rules.0.replace" in refused.stderr
    assert "`holdtype rules remove FIND` takes it out" in refused.stderr
    assert holdtype("rules", "remove", "mykey").returncode == 0
    assert holdtype("config", "set", "model.beam_size", "4").returncode == 0
    # A repeated term before the key moves it up a place (from a review: it read as given now)
    config.write_text(f'[vocabulary]\nterms = ["NumPy", "NumPy", "{FAKE_KEYS[0]}"]\n', encoding="utf-8")
    refused = holdtype("config", "set", "model.beam_size", "5")
    assert (
        "holds what looks like an API key" in refused.stderr
        and "`holdtype vocab remove TERM`" in refused.stderr
    )
    config.write_text(f'[modes.apps]\nkitty = "raw"\n"{FAKE_KEYS[0]}" = "email"\n', encoding="utf-8")
    refused = holdtype("config", "set", "model.beam_size", "5")
    assert "at modes.apps" in refused.stderr and "take it out of the file" in refused.stderr, refused.stderr
    config.write_text("")
    # A key given now is still said to be the one given
    given = holdtype("rules", "add", "other", FAKE_KEYS[1])
    assert given.returncode == 1 and "not saved: " in given.stderr and "holds what" not in given.stderr
