"""The modes, llm, cache and bench-cache commands, run as real subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from app.config import LLMSettings, Settings, save_settings
from app.llm.cache import CacheEntry, LLMCache
from tests.cli import holdtype
from tests.fixtures.llama import SENT_KEY, OpenAIChatStub, free_port, model_entry, write_llm_models


def _one_line_error(proc, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and fragment in errors[0], proc.stderr


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_modes_list_and_show() -> None:
    proc = holdtype("modes", "list")
    assert proc.returncode == 0, proc.stderr
    for name in ("raw", "clean", "email", "message", "commit", "list"):
        assert name in proc.stdout
    rows = _json_lines(holdtype("modes", "list", "--json").stdout)
    assert {r["name"] for r in rows} >= {"raw", "clean", "list"}
    assert next(r for r in rows if r["name"] == "raw")["active"] is True
    shown = holdtype("modes", "show", "list")
    assert shown.returncode == 0 and 'output_field = "items"' in shown.stdout
    assert all(r["apps"] == [] for r in rows)


def test_modes_list_says_which_model_a_mode_without_one_runs_on() -> None:
    """It said "(llm default)" when llm's default was a cloud model Holdtype does not use
    unless named (the modes then fall back): now it says none is set, or names the model."""
    listed = holdtype("modes", "list")
    clean = next(line for line in listed.stdout.splitlines() if line.split()[:1] == ["clean"])
    assert "(none: set llm.model)" in clean, listed.stdout
    write_llm_models([model_entry("holdtype-local", "http://127.0.0.1:9/v1")])
    assert holdtype("config", "set", "llm.model", "holdtype-local").returncode == 0
    listed = holdtype("modes", "list")
    clean = next(line for line in listed.stdout.splitlines() if line.split()[:1] == ["clean"])
    assert "holdtype-local" in clean, listed.stdout


def test_a_model_id_pasted_with_an_invisible_character_is_saved_without_it() -> None:
    # From a review: pasted with a zero-width space, the id was saved as it was, and llm then
    # offered no model by that name, though it read as one.
    from app.config import Settings, load_settings

    done = holdtype("config", "set", "llm.model", " gpt-4o-mini\u200b\ufeff")
    assert done.returncode == 0, done.stderr
    assert "knows no model" not in done.stderr, done.stderr  # (llm offers gpt-4o-mini)
    assert load_settings().settings.llm.model == "gpt-4o-mini"
    # A settings file edited by hand is read so too.
    assert Settings.model_validate({"llm": {"model": "gpt-4o\u00ad-mini "}}).llm.model == "gpt-4o-mini"
    assert Settings.model_validate({"llm": {"model": "\u200b "}}).llm.model is None


def test_a_warning_of_a_part_is_a_warning_line_like_the_commands_own() -> None:
    # `modes test other` with a broken file beside it printed "2026-... WARNING app.llm.modes:
    # mode file ... (skipped)", where `modes list` says "warning: ...".
    from app.paths import get_paths

    folder = get_paths().modes_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.toml").write_text("bad = [")
    (folder / "zz.toml").write_text('name = "other"\nsystem = "Tidy it."\ntemplate = "{text}"\n')
    proc = holdtype("modes", "show", "other")
    assert proc.returncode == 0 and "Tidy it." in proc.stdout, proc.stderr
    said = [line for line in proc.stderr.splitlines() if "broken.toml" in line]
    assert len(said) == 1 and said[0].startswith("warning: mode file "), proc.stderr
    assert "WARNING" not in proc.stderr


def test_a_built_in_mode_whose_copy_is_broken_is_listed_as_not_usable() -> None:
    # `modes list` warned about clean.toml and listed the built-in clean as if in use, while a
    # dictation in clean reported the file and gave the plain transcript.
    from app.paths import get_paths

    folder = get_paths().modes_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clean.toml").write_text('system = "Tidy it."\ntemplate = "no placeholder"\n')
    listed = holdtype("modes", "list")
    clean = next(line for line in listed.stdout.splitlines() if line[2:].split()[:1] == ["clean"])
    assert "NOT USABLE" in clean and "holdtype modes remove clean" in clean, listed.stdout
    rows = {row["name"]: row for row in _json_lines(holdtype("modes", "list", "--json").stdout)}
    assert "clean.toml" in rows["clean"]["problem"] and rows["email"]["problem"] is None
    assert holdtype("modes", "show", "clean").returncode != 0  # what a dictation meets too


def test_two_files_naming_one_mode_give_the_same_mode_everywhere() -> None:
    # memo.toml and zz.toml both said name = "memo": `modes list` showed zz.toml's mode while
    # `modes show` (and dictation, which looks the mode up the same way) used memo.toml's.
    from app.paths import get_paths

    folder = get_paths().modes_dir
    folder.mkdir(parents=True, exist_ok=True)
    body = 'name = "memo"\ndescription = "{}"\nsystem = "Tidy it."\ntemplate = "{{text}}"\n'
    (folder / "memo.toml").write_text(body.format("the memo file"))
    (folder / "zz.toml").write_text(body.format("the other file"))
    listed = holdtype("modes", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    memo = next(r for r in _json_lines(listed.stdout) if r["name"] == "memo")
    assert memo["description"] == "the memo file" and str(memo["source"]).endswith("memo.toml")
    said = [line for line in listed.stderr.splitlines() if "zz.toml" in line]
    assert len(said) == 1 and "is not used" in said[0] and "memo.toml" in said[0], listed.stderr
    shown = holdtype("modes", "show", "memo")
    assert shown.returncode == 0 and 'description = "the memo file"' in shown.stdout, shown.stdout


def test_apps_tied_to_a_mode_are_set_and_listed() -> None:
    tied = holdtype("config", "set", "modes.apps", '{"thunderbird": "email", "Geary": "email"}')
    assert tied.returncode == 0, tied.stderr
    rows = _json_lines(holdtype("modes", "list", "--json").stdout)
    assert next(r for r in rows if r["name"] == "email")["apps"] == ["thunderbird", "Geary"]
    assert "used in: thunderbird, Geary" in holdtype("modes", "list").stdout
    twice = holdtype("config", "set", "modes.apps", '{"slack": "message", "SLACK": "clean"}')
    assert twice.returncode != 0 and "named twice" in twice.stderr
    unknown = holdtype("config", "set", "modes.apps", '{"thunderbird": "emial"}')  # as modes.active
    assert unknown.returncode != 0 and "emial" in unknown.stderr and "Traceback" not in unknown.stderr
    assert "thunderbird" in holdtype("config", "get", "modes.apps").stdout  # the old value stays


def test_an_app_tied_to_a_deleted_mode_is_said_and_does_not_block_the_others() -> None:
    modes_dir = os.path.join(os.environ["HOLDTYPE_HOME"], "config", "modes")
    os.makedirs(modes_dir)
    with open(os.path.join(modes_dir, "memo.toml"), "w") as f:
        f.write('description = "Memo"\ntemplate = "Memo: {text}"\n')
    tied = holdtype("config", "set", "modes.apps", '{"mutt": "memo", "slack": "message"}')
    assert tied.returncode == 0, tied.stderr
    os.remove(os.path.join(modes_dir, "memo.toml"))  # deleted by hand, still tied
    listed = holdtype("modes", "list")
    assert listed.returncode == 0
    assert "modes.apps ties mutt to 'memo': no such mode" in listed.stderr, listed.stderr
    assert """holdtype config set modes.apps '{"slack": "message"}'""" in listed.stderr
    # Adding an entry or changing another is not refused for the stale one (it was, whole)
    more = holdtype("config", "set", "modes.apps", '{"mutt": "memo", "slack": "clean", "geary": "email"}')
    assert more.returncode == 0, more.stderr
    typo = holdtype("config", "set", "modes.apps", '{"mutt": "memo", "slack": "clena"}')
    assert typo.returncode == 1 and "unknown mode 'clena'" in typo.stderr  # what changed is checked
    dropped = holdtype("config", "set", "modes.apps", '{"slack": "clean"}')
    assert dropped.returncode == 0, dropped.stderr
    assert "no such mode" not in holdtype("modes", "list").stderr
    # A mode whose file was broken since it was tied is not "no such mode": what is wrong is said
    with open(os.path.join(modes_dir, "memo.toml"), "w") as f:
        f.write('description = "Memo"\ntemplate = "Memo: {text}"\n')
    assert holdtype("config", "set", "modes.apps", '{"mutt": "memo", "slack": "clean"}').returncode == 0
    with open(os.path.join(modes_dir, "memo.toml"), "w") as f:
        f.write('description = "Memo"\ntemplate = "Memo without a placeholder"\n')
    broken = holdtype("modes", "list").stderr
    assert broken.count("must contain {text}") == 1, broken  # what is wrong with the file, said once
    assert broken.index("memo.toml") < broken.index("modes.apps ties mutt to 'memo': its file cannot be used")
    assert "fix the mode file or drop it with:" in broken and "no such mode" not in broken, broken
    with open(os.path.join(modes_dir, "memo.toml"), "w") as f:  # valid, but renamed inside
        f.write('name = "notes"\ndescription = "Memo"\ntemplate = "Memo: {text}"\n')
    renamed = holdtype("modes", "list").stderr
    assert "memo.toml names another mode, 'notes'" in renamed, renamed


def test_modes_errors_are_one_line() -> None:
    _one_line_error(holdtype("modes", "show", "nope"), "unknown mode 'nope'")
    _one_line_error(holdtype("modes", "test", "nope", "hello"), "unknown mode 'nope'")
    modes_dir = os.path.join(os.environ["HOLDTYPE_HOME"], "config", "modes")
    os.makedirs(modes_dir)
    with open(os.path.join(modes_dir, "bad.toml"), "w") as f:
        f.write('template = "missing placeholder"\n')
    _one_line_error(holdtype("modes", "show", "bad"), "bad.toml is not valid")
    assert holdtype("modes", "list").returncode == 0  # the other modes still list


def test_modes_remove_deletes_your_mode_and_lets_the_settings_go_of_it() -> None:
    """There was no way to delete a mode but by hand, and then the settings still named it."""
    modes_dir = os.path.join(os.environ["HOLDTYPE_HOME"], "config", "modes")
    os.makedirs(modes_dir)
    with open(os.path.join(modes_dir, "memo.toml"), "w") as f:
        f.write('description = "Memo"\ntemplate = "Memo: {text}"\n')
    with open(os.path.join(modes_dir, "clean.toml"), "w") as f:  # the user's copy of a built-in
        f.write('description = "My clean"\ntemplate = "Mine: {text}"\n')
    for key, value in (
        ("modes.active", "memo"),
        ("hotkey.mode_keys", '{"f8": "memo", "f9": "email"}'),
        ("modes.apps", '{"mutt": "memo", "geary": "clean"}'),
    ):
        assert holdtype("config", "set", key, value).returncode == 0
    # a built-in never copied, raw, and a name nobody has: refused, nothing changes
    _one_line_error(holdtype("modes", "remove", "email"), "'email' is a built-in mode and cannot be removed")
    _one_line_error(holdtype("modes", "remove", "raw"), "'raw' is a built-in mode")
    _one_line_error(holdtype("modes", "remove", "nope"), "unknown mode 'nope'")
    # the user's copy of a built-in: removed, the built-in is back, and geary keeps it
    restored = holdtype("modes", "remove", "clean")
    assert restored.returncode == 0 and "the built-in clean is back" in restored.stdout, restored.stderr
    assert not os.path.exists(os.path.join(modes_dir, "clean.toml"))
    shown = holdtype("modes", "show", "clean")
    assert "My clean" not in shown.stdout and "prompts" in shown.stdout.splitlines()[0]
    # a mode in use, bound to a key and tied to an app: removed, and the settings let go of it
    removed = holdtype("modes", "remove", "memo")
    assert removed.returncode == 0, removed.stderr
    assert "the mode in use becomes 'raw'" in removed.stdout and "hotkey f8 is unbound" in removed.stdout
    assert not os.path.exists(os.path.join(modes_dir, "memo.toml"))
    assert holdtype("config", "get", "modes.active").stdout.strip() == "raw"
    assert json.loads(holdtype("config", "get", "hotkey.mode_keys").stdout) == {"f9": "email"}
    assert json.loads(holdtype("config", "get", "modes.apps").stdout) == {"geary": "clean"}
    listed = holdtype("modes", "list")
    assert "memo" not in listed.stdout and "no such mode" not in listed.stderr


def test_modes_test_says_a_broken_mode_file_once() -> None:
    modes_dir = os.path.join(os.environ["HOLDTYPE_HOME"], "config", "modes")
    os.makedirs(modes_dir)
    with open(os.path.join(modes_dir, "bad.toml"), "w") as f:
        f.write('template = "missing placeholder"\n')
    save_settings(Settings(llm=LLMSettings(model="no-such-model")))  # falls back without a network
    proc = holdtype("modes", "test", "clean", "hello there")
    assert proc.stdout.strip() == "hello there"
    assert proc.stderr.count("bad.toml") == 1, proc.stderr  # was said twice


def test_modes_test_raw_says_no_model_is_called() -> None:
    proc = holdtype("modes", "test", "raw", "hello there")
    assert proc.returncode == 0 and proc.stdout.strip() == "hello there"
    assert "calls no model" in proc.stderr and "None" not in proc.stderr  # was "None: 0 ms"
    # clean does call a model, only not for no text (it said "mode clean calls no model")
    empty = holdtype("modes", "test", "clean", "")
    assert empty.returncode == 0 and "the text is empty: no model was asked" in empty.stderr, empty.stderr


def test_modes_test_gives_the_mode_the_text_after_the_vocabulary_and_rules() -> None:
    """It printed what would be inserted without the rules a dictation goes through first."""
    assert holdtype("rules", "add", "gonna", "going to").returncode == 0
    assert holdtype("vocab", "add", "scikit-learn").returncode == 0
    proc = holdtype("modes", "test", "raw", "I'm gonna try psychic learn")
    assert proc.returncode == 0 and proc.stdout.strip() == "I'm going to try scikit-learn", proc
    as_json = json.loads(holdtype("modes", "test", "raw", "gonna", "--json").stdout)
    assert as_json["input"] == as_json["text"] == "going to"


def test_modes_test_fallback_is_an_error_without_json() -> None:
    save_settings(Settings(llm=LLMSettings(model="no-such-model")))
    proc = holdtype("modes", "test", "clean", "hello there")
    assert proc.stdout.strip() == "hello there"  # the words are still printed
    _one_line_error(proc, "unknown llm model 'no-such-model'")
    assert proc.stderr.count("no-such-model") == 1, proc.stderr  # said once, not logged too
    as_json = holdtype("modes", "test", "clean", "hello there", "--json")
    assert as_json.returncode == 0
    data = json.loads(as_json.stdout)
    assert data["text"] == "hello there" and "no-such-model" in data["fallback_reason"]


# A key with none of the providers' prefixes (sk-, gsk_...): only its value tells it is one.
PLAIN_KEY = "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW"


@pytest.mark.parametrize(
    ("kept_in", "masked"),
    [("store", "(key 'mistral' hidden)"), ("environment", "(key $OPENAI_API_KEY hidden)")],
)
def test_a_key_the_provider_quotes_is_masked_whatever_its_shape(kept_in: str, masked: str) -> None:
    """A server that quotes the key it was sent in its 401 had the key printed whole (the
    error line, --json's fallback_reason) when the key had no well-known prefix."""
    stub = OpenAIChatStub(["unused"])  # STUB: no real provider can be made to quote a key on cue
    stub.status = 401
    stub.error = f"Invalid token: {SENT_KEY}"
    env = {"OPENAI_API_KEY": ""}  # (llm's OpenAI models read it when the store has no key)
    try:
        write_llm_models([dict(model_entry("keyed", stub.api_base), api_key_name="mistral")])
        if kept_in == "store":  # llm's own key store, in this test's llm user folder (see conftest)
            store = [sys.executable, "-m", "llm", "keys", "set", "mistral", "--value", PLAIN_KEY]
            stored = subprocess.run(store, capture_output=True, text=True, timeout=120)
            assert stored.returncode == 0, stored.stderr
        else:
            env["OPENAI_API_KEY"] = PLAIN_KEY
        save_settings(Settings(llm=LLMSettings(model="keyed", timeout_s=30)))
        said = "so we should ship the release tomorrow"
        proc = holdtype("modes", "test", "clean", said, env=env)
        as_json = holdtype("modes", "test", "clean", said, "--json", env=env)
    finally:
        stub.close()
    assert len(stub.bodies) == 2  # the key was sent, and quoted back, each time
    _one_line_error(proc, f"401 - Invalid token: {masked}")
    assert json.loads(as_json.stdout)["fallback_reason"].endswith(f"401 - Invalid token: {masked}")
    assert PLAIN_KEY[:8] not in proc.stdout + proc.stderr + as_json.stdout + as_json.stderr


PASSWORD = "Sup3rS3cretPw"


@pytest.mark.parametrize("answer", ["none", "404"])
def test_the_password_of_a_servers_address_is_hidden_in_what_is_said(answer: str) -> None:
    """An ``api_base`` with a user and password in it showed whole in the fallback reason (the
    error line, --json, the tray's notice, the log): "nothing answers at http://admin:…@…", and
    the 404 hint "check … its api_base http://admin:…@…"."""
    stub = OpenAIChatStub(["unused"])  # STUB: a server that answers 404 on cue
    stub.status = 404
    stub.error = "model 'm' not found"
    port = stub.port if answer == "404" else free_port()  # (nothing listens on a free port)
    try:
        write_llm_models([model_entry("locked", f"http://admin:{PASSWORD}@127.0.0.1:{port}/v1", "m")])
        save_settings(Settings(llm=LLMSettings(model="locked", timeout_s=30)))
        proc = holdtype("modes", "test", "clean", "so we should ship the release tomorrow")
        as_json = holdtype("modes", "test", "clean", "so we should ship the release tomorrow", "--json")
    finally:
        stub.close()
    hint = "nothing answers at" if answer == "none" else "and its api_base"
    _one_line_error(proc, f"{hint} http://admin:(hidden)@127.0.0.1:{port}/v1")
    assert f"http://admin:(hidden)@127.0.0.1:{port}/v1" in json.loads(as_json.stdout)["fallback_reason"]
    assert PASSWORD not in proc.stdout + proc.stderr + as_json.stdout + as_json.stderr


@pytest.mark.llm
def test_modes_test_with_the_local_model_then_cached(local_llm) -> None:  # type: ignore[no-untyped-def]
    save_settings(Settings(llm=LLMSettings(model=local_llm.model_id, timeout_s=120)))
    text = "um so the meeting is uh moved to Thursday"
    before = local_llm.requests
    first = json.loads(holdtype("modes", "test", "clean", text, "--json").stdout)
    assert local_llm.requests == before + 1
    assert {"mode", "llm_ms", "cached", "fallback_reason", "text"} <= set(first)
    assert first["mode"] == "clean" and first["cached"] is False and first["raw_reply"]
    second = json.loads(holdtype("modes", "test", "clean", text, "--json").stdout)
    assert second["cached"] is True and second["text"] == first["text"]
    assert local_llm.requests == before + 1
    stats = json.loads(holdtype("cache", "stats", "--json").stdout)
    assert (stats["entries"], stats["hits"], stats["misses"]) == (1, 1, 1)


def test_llm_models_lists_configured_models() -> None:
    write_llm_models([model_entry("holdtype-test-listed", "http://127.0.0.1:9/v1")])
    proc = holdtype("llm", "models")
    assert proc.returncode == 0, proc.stderr
    assert "holdtype-test-listed" in proc.stdout
    rows = _json_lines(holdtype("llm", "models", "--json").stdout)
    listed = next(r for r in rows if r["model_id"] == "holdtype-test-listed")
    assert listed["needs_key"] is None and listed["has_key"] is True


def test_llm_models_names_a_key_command_that_works() -> None:
    # "[no key: llm keys set openai]" named a command on no user's PATH (the packaged app has none).
    write_llm_models(
        [dict(model_entry("holdtype-keyed", "http://127.0.0.1:9/v1"), api_key_name="keyed-test")]
    )
    before = holdtype("llm", "models", env={"OPENAI_API_KEY": ""})
    row = next(line for line in before.stdout.splitlines() if "holdtype-keyed" in line)
    hint = re.search(r"\[no key: (holdtype llm keys set keyed-test)\]", row)
    assert hint, before.stdout
    assert holdtype(*hint[1].split()[1:], input="sk-not-a-real-key\n").returncode == 0
    after = holdtype("llm", "models", env={"OPENAI_API_KEY": ""})
    row = next(line for line in after.stdout.splitlines() if "holdtype-keyed" in line)
    assert "no key" not in row and "sk-not-a-real-key" not in after.stdout + after.stderr


def test_llm_models_marks_the_model_the_modes_run_on() -> None:
    # The star was llm's own default (a cloud model, for the user's other work) while modes
    # ran on llm.model: the list pointed at a model Holdtype never sends dictation to.
    import llm

    write_llm_models(
        [
            model_entry("holdtype-a", "http://127.0.0.1:9/v1"),
            model_entry("holdtype-b", "http://192.0.2.1:9/v1"),
        ]
    )
    llm.set_default_model("holdtype-b")  # on another machine: not used unless named
    unset = holdtype("llm", "models")
    assert not any(line.startswith("*") for line in unset.stdout.splitlines()), unset.stdout
    assert "no model for the modes" in unset.stderr and "runs on another machine" in unset.stderr
    assert holdtype("config", "set", "llm.model", "holdtype-a").returncode == 0
    listed = holdtype("llm", "models")
    starred = [line for line in listed.stdout.splitlines() if line.startswith("*")]
    assert starred == ["* holdtype-a"], listed.stdout
    rows = {r["model_id"]: r for r in _json_lines(holdtype("llm", "models", "--json").stdout)}
    assert rows["holdtype-a"]["used"] is True and rows["holdtype-a"]["default"] is False
    assert rows["holdtype-b"]["used"] is False and rows["holdtype-b"]["default"] is True


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("- model_id: [oops\n", "is not valid YAML at line 2"),
        ("model_id: local\nmodel_name: x\n", "start each with '- '"),
        ("- model_name: x\n", "model 1 has no model_id"),
        ("- model_id: local\n", "model 1 has no model_name"),
        ("", "is empty"),
    ],
)
def test_a_broken_extra_models_file_is_named_not_a_traceback(content: str, problem: str) -> None:
    """llm's extra-openai-models.yaml is edited by hand to add a local model; a slip in it made
    every llm lookup raise: `llm models` printed a traceback, a dictation's mode fell back with
    "cannot load llm model 'x': 'model_id'"."""
    path = os.path.join(os.environ["LLM_USER_PATH"], "extra-openai-models.yaml")
    with open(path, "w", encoding="utf-8") as out:
        out.write(content)
    listed = holdtype("llm", "models")
    _one_line_error(listed, path)
    assert problem in listed.stderr
    assert holdtype("config", "set", "llm.model", "local").returncode == 0
    fell_back = holdtype("modes", "test", "clean", "so um ship it today")
    _one_line_error(fell_back, problem)
    assert path in fell_back.stderr and "Traceback" not in fell_back.stderr


def test_config_set_llm_model_notes_a_model_llm_does_not_know() -> None:
    write_llm_models([model_entry("holdtype-test-known", "http://127.0.0.1:9/v1")])
    known = holdtype("config", "set", "llm.model", "holdtype-test-known")
    assert known.returncode == 0 and "note:" not in known.stderr, known.stderr
    typo = holdtype("config", "set", "llm.model", "holdtype-test-knwon")
    assert typo.returncode == 0, typo.stderr  # kept: its plugin may be installed next
    assert "knows no model 'holdtype-test-knwon'" in typo.stderr and "holdtype llm models" in typo.stderr
    assert holdtype("config", "get", "llm.model").stdout.strip() == "holdtype-test-knwon"
    # Spaces around a name were kept in it (a name no model has)
    spaced = holdtype("config", "set", "llm.model", " holdtype-test-known ")
    assert spaced.returncode == 0 and "note:" not in spaced.stderr, spaced.stderr
    assert holdtype("config", "get", "llm.model").stdout == "holdtype-test-known\n"
    holdtype("config", "set", "llm.model", "holdtype-test-knwon")
    # A name with a key pasted after it (no prefix the key check knows) went into the file.
    secret = "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW"
    pasted = holdtype("config", "set", "llm.model", f"mistral-key {secret}")
    _one_line_error(pasted, "a model's name has no spaces")
    assert secret not in pasted.stderr + pasted.stdout
    assert holdtype("config", "get", "llm.model").stdout.strip() == "holdtype-test-knwon"


def test_cache_commands() -> None:
    key = "c0ffee" + "0" * 58
    with LLMCache() as store:
        store.put(CacheEntry(key, "cached reply", None, "m", "clean", 5.0, 1000.0, prompt="the prompt"))
        store.put(CacheEntry("beef" + "1" * 60, "fresh reply", None, "m", "email", 5.0, 4e9))
    stats = holdtype("cache", "stats")
    assert stats.returncode == 0 and "entries:  2" in stats.stdout
    listed = holdtype("cache", "list")
    assert "c0ffee000000" in listed.stdout and "cached reply" in listed.stdout
    rows = _json_lines(holdtype("cache", "list", "--json").stdout)
    assert {r["key"] for r in rows} == {key, "beef" + "1" * 60}
    shown = json.loads(holdtype("cache", "show", "c0ffee").stdout)
    assert shown["prompt"] == "the prompt" and shown["text"] == "cached reply"
    _one_line_error(holdtype("cache", "show", "dead00"), "no cache entry")
    cleared = holdtype("cache", "clear", "--older-than", "30")
    assert cleared.returncode == 0 and "removed 1 entry" in cleared.stdout
    assert json.loads(holdtype("cache", "stats", "--json").stdout)["entries"] == 1
    assert "removed 1 entry" in holdtype("cache", "clear").stdout
    usage = holdtype("cache", "clear", "--older-than", "-3")  # click's usage error: exit 2
    assert usage.returncode == 2 and "Traceback" not in usage.stderr and "x>=0" in usage.stderr


@pytest.mark.parametrize("days", ["nan", "inf", "-inf", "NaN"])
def test_cache_clear_refuses_an_age_that_is_not_finite(days: str) -> None:
    # `cache clear --older-than nan` said "removed 0 entries" and exit 0, as if it had looked.
    with LLMCache() as store:
        store.put(CacheEntry("c0ffee" + "0" * 58, "cached reply", None, "m", "clean", 5.0, 1000.0))
    refused = holdtype("cache", "clear", "--older-than", days)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr and "removed" not in refused.stdout
    assert f"'{days}' is not a number of days: it should be a finite number" in refused.stderr, refused.stderr
    with LLMCache() as store:
        assert len(store.entries()) == 1


def test_cache_list_shows_a_reply_s_control_characters_as_escapes() -> None:
    # A model's reply may hold an escape sequence; `cache list` printed it to the terminal.
    with LLMCache() as store:
        store.put(CacheEntry("c0ffee" + "0" * 58, "\x1b[2Jwiped \u202eevil", None, "m", "clean", 5.0, 1000.0))
    listed = holdtype("cache", "list")
    assert listed.returncode == 0 and "\x1b" not in listed.stdout and "\u202e" not in listed.stdout
    assert "\\x1b[2Jwiped \\u202eevil" in listed.stdout


def test_an_empty_cache_list_says_so_on_stderr() -> None:
    out = holdtype("cache", "list")  # printed nothing at all
    assert out.returncode == 0 and out.stdout == "" and "No cached replies yet" in out.stderr
    out = holdtype("cache", "list", "--json")
    assert out.returncode == 0 and out.stdout == "" and out.stderr == ""  # JSON: nothing at all
    assert holdtype("config", "set", "llm.cache_enabled", "false").returncode == 0
    out = holdtype("cache", "list")
    assert out.returncode == 0 and out.stdout == ""
    assert "holdtype config set llm.cache_enabled true" in out.stderr


def test_a_cache_another_program_holds_is_one_line_soon_and_left_alone() -> None:
    import sqlite3
    import time

    with LLMCache() as store:
        store.put(CacheEntry("c0ffee" + "0" * 58, "cached reply", None, "m", "clean", 5.0, 1000.0))
        folder = store.directory
    other = sqlite3.connect(folder / "cache.db", isolation_level=None)  # a database browser
    other.execute("BEGIN EXCLUSIVE")
    try:
        for command in (["stats"], ["list"], ["clear"]):
            start = time.monotonic()
            proc = holdtype("cache", *command, timeout=120)  # waited diskcache's 60 s, silently
            assert time.monotonic() - start < 20, command
            _one_line_error(proc, "another program holds it")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [p.name for p in folder.parent.iterdir()] == ["llm"]  # not moved aside as damaged
    assert json.loads(holdtype("cache", "stats", "--json").stdout)["entries"] == 1


def test_bench_cache_reports_a_median() -> None:
    proc = holdtype("bench", "cache", "-n", "50", "--json")
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    assert figures["lookups"] == 50 and figures["run_hit_median_ms"] > 0


def test_eval_errors_are_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _one_line_error(holdtype("eval", str(tmp_path / "none.tsv"), "--mode", "clean"), "no such manifest")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"path": "missing.wav", "text": "hi"}\n')
    _one_line_error(holdtype("eval", str(manifest), "--mode", "nope"), "unknown mode 'nope'")
    _one_line_error(holdtype("eval", str(manifest), "--mode", "clean"), "missing audio")
    manifest.write_text("not json\n")
    _one_line_error(holdtype("eval", str(manifest), "--mode", "clean"), "m.jsonl:1")
    # Tracebacks before: a number for a text or the terms, a Latin-1 byte; nothing at all.
    for line, problem in (
        ('{"path": "a.wav", "text": 5}', '"text" must be a string'),
        ('{"path": "a.wav", "terms": 5}', '"terms" must be a list'),
        ('{"path": "a.wav", "terms": [1]}', '"terms" must be a list'),
        ("", "no clips in"),
    ):
        manifest.write_text(line + "\n")
        _one_line_error(holdtype("eval", str(manifest), "--mode", "clean"), problem)
    latin = tmp_path / "m.tsv"
    latin.write_bytes(b"id\tvoice\ttext\tterms\nc1\ten\tcaf\xe9\t\n")
    _one_line_error(holdtype("eval", str(latin), "--mode", "clean"), "is not UTF-8 text")


def test_eval_refuses_a_results_file_it_cannot_write_before_it_starts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # It failed after transcribing every clip and making every model call.
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"path": "missing.wav", "text": "hi"}\n')  # read after the check
    out = str(tmp_path / "nowhere" / "eval.json")
    _one_line_error(holdtype("eval", str(manifest), "--mode", "raw", "--json-out", out), "no folder")
    # Named after Holdtype's settings file, it replaced them (moved aside as broken next time).
    save_settings(Settings(llm=LLMSettings(model="kept-model")))
    config = holdtype("config", "path").stdout.strip()
    _one_line_error(holdtype("eval", str(manifest), "--mode", "raw", "--json-out", config), "own folder")
    assert holdtype("config", "get", "llm.model").stdout.strip() == "kept-model"
    # Nor over llm's key store (every API key was lost), nor over the eval's own inputs.
    keys = holdtype("llm", "keys", "path").stdout.strip()
    assert holdtype("llm", "keys", "set", "openai", input="sk-kept0123456789\n").returncode == 0
    _one_line_error(
        holdtype("eval", str(manifest), "--mode", "raw", "--json-out", keys), "llm library's folder"
    )
    assert holdtype("llm", "keys", "list").stdout.split() == ["openai"]
    exported = holdtype("history", "export", keys)
    assert exported.returncode == 1 and "llm library's folder" in exported.stderr, exported.stderr
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF")
    manifest.write_text(json.dumps({"path": "a.wav", "text": "hi"}) + "\n")
    for own in (manifest, wav):
        _one_line_error(
            holdtype("eval", str(manifest), "--mode", "raw", "--json-out", str(own)), "an input of this eval"
        )
    assert wav.read_bytes() == b"RIFF" and "a.wav" in manifest.read_text()
    negative = holdtype("modes", "test", "clean", "hi", "--sample", "-1")
    assert negative.returncode == 2 and "not in the range" in negative.stderr


def test_eval_gives_no_model_latency_when_no_model_was_asked(speak, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # With no model named, every clip fell back before any call, and the table showed a
    # "median ms" of 280 as the model's latency.
    manifest = tmp_path / "clips.jsonl"
    manifest.write_text(json.dumps({"path": str(speak("Open the door.")), "text": "Open the door."}) + "\n")
    out = tmp_path / "eval.json"
    proc = holdtype(
        "eval", str(manifest), "--mode", "clean", "--json-out", str(out), env={"OPENAI_API_KEY": ""}
    )
    assert proc.returncode == 0, proc.stderr
    clean = {m["mode"]: m for m in json.loads(out.read_text())["modes"]}["clean"]
    assert clean["fallback_rate"] == 1.0 and clean["latency_median_ms"] is None
    # The reason under the table was cut mid-word ("… is a cloud mode" for "… cloud model (…"):
    # it is cut at a word, and says so.
    (line,) = [line for line in proc.stdout.splitlines() if "clean fell back 1x: " in line]
    shown = line.split("clean fell back 1x: ", 1)[1]
    full = json.loads(out.read_text())["outputs"]["clean"][0]["fallback_reason"]
    assert shown.endswith("…") and len(shown) <= 81, shown
    assert full.split()[: len(shown[:-1].split())] == shown[:-1].split(), (shown, full)
    if os.name == "posix":
        assert out.stat().st_mode & 0o777 == 0o600  # transcripts, private as history exports are


def test_eval_gives_no_model_latency_for_calls_that_failed(speak, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A refused connection's time showed as the model's "median ms" (1431 ms).
    write_llm_models([model_entry("holdtype-down", "http://127.0.0.1:9/v1")])  # nothing listens
    save_settings(Settings(llm=LLMSettings(model="holdtype-down", timeout_s=5)))
    manifest = tmp_path / "clips.jsonl"
    manifest.write_text(json.dumps({"path": str(speak("Open the door.")), "text": "Open the door."}) + "\n")
    out = tmp_path / "eval.json"
    proc = holdtype("eval", str(manifest), "--mode", "clean", "--mode", "clean", "--json-out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["modes"]
    assert [m["mode"] for m in rows] == ["raw", "clean"]  # asked twice, measured once
    assert rows[1]["calls"] == 1 and rows[1]["fallback_rate"] == 1.0
    assert rows[1]["latency_median_ms"] is None


@pytest.mark.llm
@pytest.mark.slow
def test_eval_compares_raw_and_clean(local_llm, speak, tmp_path) -> None:  # type: ignore[no-untyped-def]
    save_settings(Settings(llm=LLMSettings(model=local_llm.model_id, timeout_s=120)))
    sentences = ["Install NumPy before you run the notebook.", "Open a pull request on GitHub."]
    lines = []
    for n, sentence in enumerate(sentences):
        wav = speak(sentence)
        lines.append(json.dumps({"id": f"c{n}", "path": str(wav), "text": sentence, "terms": ["GitHub"]}))
    manifest = tmp_path / "clips.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    out = tmp_path / "eval.json"
    before = local_llm.requests
    proc = holdtype("eval", str(manifest), "--mode", "clean", "--vocab-from-manifest", "--json-out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert local_llm.requests == before + 2
    assert "raw" in proc.stdout and "clean" in proc.stdout and "WER" in proc.stdout
    result = json.loads(out.read_text())
    by_mode = {m["mode"]: m for m in result["modes"]}
    assert set(by_mode) == {"raw", "clean"}
    assert by_mode["raw"]["calls"] == 2 and by_mode["raw"]["fallback_rate"] == 0.0
    assert by_mode["clean"]["calls"] == 2 and by_mode["clean"]["terms"].endswith("/2")
    assert 0.0 <= by_mode["clean"]["fallback_rate"] <= 1.0
    assert all(m["wer"] >= 0.0 for m in by_mode.values())
    assert len(result["outputs"]["clean"]) == 2
    # a rerun is served from the cache
    again = holdtype("eval", str(manifest), "--mode", "clean", "--vocab-from-manifest")
    assert again.returncode == 0 and local_llm.requests == before + 2


def test_doctor_warns_when_the_active_mode_cannot_reach_its_model() -> None:
    # `doctor` said "[ok] llm: mode clean via gpt-..." with no key anywhere, while every
    # dictation fell back to the transcript.
    assert holdtype("config", "set", "modes.active", "clean").returncode == 0
    unnamed = holdtype("doctor", env={"OPENAI_API_KEY": ""})  # llm's default is a cloud model
    assert "[warn] llm: no model picked for mode clean, and llm's default" in unnamed.stdout
    default = re.search(r"fix: holdtype config set llm\.model (\S+)", unnamed.stdout)
    assert default, unnamed.stdout
    assert holdtype("config", "set", "llm.model", default[1]).returncode == 0
    no_key = holdtype("doctor", env={"OPENAI_API_KEY": ""})
    assert "[warn] llm: mode clean uses" in no_key.stdout and "has no API key" in no_key.stdout
    # The fix named `llm keys set openai`, a command on no user's PATH: the one named now works.
    fix = re.search(r"fix: (holdtype llm keys set openai)$", no_key.stdout, re.MULTILINE)
    assert fix, no_key.stdout
    stored = holdtype(*fix[1].split()[1:], input="sk-not-a-real-key\n")  # in this test's llm folder
    assert stored.returncode == 0, stored.stderr
    with_key = holdtype("doctor", env={"OPENAI_API_KEY": ""})
    assert "[ok  ] llm: mode clean via" in with_key.stdout  # no call was made: nothing left here
    assert "sk-not-a-real-key" not in with_key.stdout + with_key.stderr


def test_doctor_checks_the_model_of_every_mode_a_key_or_an_app_runs() -> None:
    # `doctor` said "[ok] llm: not used (mode raw)" with a key bound to mode clean and an app
    # tied to mode email, and no model for either: every such dictation pasted the transcript.
    assert holdtype("config", "set", "hotkey.mode_keys", '{"ctrl+caps_lock": "clean"}').returncode == 0
    assert holdtype("config", "set", "modes.apps", '{"thunderbird": "email"}').returncode == 0
    reached = "modes clean (hotkey.mode_keys ctrl+caps_lock), email (modes.apps thunderbird)"
    unnamed = holdtype("doctor", env={"OPENAI_API_KEY": "", "DISPLAY": ""}).stdout
    assert f"[warn] llm: no model picked for {reached}, and llm's default" in unnamed, unnamed
    assert re.search(r"^       fix: holdtype config set llm\.model \S+$", unnamed, re.MULTILINE), unnamed
    assert holdtype("config", "set", "llm.model", "gpt-4o-mini").returncode == 0
    no_key = holdtype("doctor", env={"OPENAI_API_KEY": "", "DISPLAY": ""}).stdout
    assert f"[warn] llm: {reached} use gpt-4o-mini, which has no API key" in no_key, no_key
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:  # its server, running
        server.bind(("127.0.0.1", 0))
        server.listen()
        api_base = f"http://127.0.0.1:{server.getsockname()[1]}/v1"
        write_llm_models([model_entry("holdtype-local", api_base)])
        assert holdtype("config", "set", "llm.model", "holdtype-local").returncode == 0
        local = holdtype("doctor", env={"OPENAI_API_KEY": "", "DISPLAY": ""}).stdout
        assert f"[ok  ] llm: {reached} via holdtype-local" in local, local
        # The mode in use is named as before, beside them.
        assert holdtype("config", "set", "modes.active", "message").returncode == 0
        both = holdtype("doctor", env={"OPENAI_API_KEY": "", "DISPLAY": ""}).stdout
        assert f"[ok  ] llm: modes message, {reached.removeprefix('modes ')} via holdtype-local" in both, both


def test_a_damaged_cache_is_a_warning_line_in_the_cli() -> None:
    folder = os.path.join(os.environ["HOLDTYPE_HOME"], "cache", "llm")

    def damage() -> None:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "cache.db"), "wb") as f:
            f.write(b"not a database, a disk error's leftovers" * 100)

    damage()
    proc = holdtype("cache", "stats")
    assert proc.returncode == 0 and "entries:  0" in proc.stdout
    said = [line for line in proc.stderr.splitlines() if "could not be read" in line]
    # was "2026-... WARNING app.llm.cache: The LLM reply cache ..."
    assert len(said) == 1 and said[0].startswith("warning: The LLM reply cache"), proc.stderr
    assert "WARNING" not in proc.stderr
    # Through the mode runner too: a model that does not answer (nothing listens on port 9).
    write_llm_models([model_entry("holdtype-down", "http://127.0.0.1:9/v1")])
    save_settings(Settings(llm=LLMSettings(model="holdtype-down", timeout_s=5)))
    damage()
    proc = holdtype("modes", "test", "clean", "hello there", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["fallback_reason"]
    said = [line for line in proc.stderr.splitlines() if "could not be read" in line]
    assert len(said) == 1 and said[0].startswith("warning: The LLM reply cache"), proc.stderr
    assert "WARNING" not in proc.stderr


@pytest.mark.parametrize("name", ["keys.json", "aliases.json"])
def test_a_broken_json_file_of_llm_is_named_everywhere(name: str) -> None:
    """llm reads keys.json and aliases.json with a bare json.loads: a trailing comma in one made
    `llm models` print a traceback, `modes test` blame the server ("not JSON", though nothing
    was sent) and doctor say a JSONDecodeError without naming the file, its fix pointing at
    `llm models`, which crashed."""
    path = os.path.join(os.environ["LLM_USER_PATH"], name)
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"openai": "sk-x",}')
    problem = f"{path} is not valid JSON at line 1"
    listed = holdtype("llm", "models")
    _one_line_error(listed, problem)
    assert holdtype("config", "set", "llm.model", "gpt-4o-mini").returncode == 0
    assert holdtype("config", "set", "modes.active", "clean").returncode == 0
    fell_back = holdtype("modes", "test", "clean", "so um ship it today")
    _one_line_error(fell_back, problem)
    assert "not an OpenAI chat completion" not in fell_back.stderr
    doctor = holdtype("doctor")
    llm_lines = [line for line in doctor.stdout.splitlines() if "llm:" in line]
    assert len(llm_lines) == 1 and problem in llm_lines[0], doctor.stdout
    assert f"fix: edit or move away {path}" in doctor.stdout and "Traceback" not in doctor.stderr


def test_llm_user_path_naming_a_file_is_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """llm makes its folder at each lookup: LLM_USER_PATH naming a file printed a long
    FileExistsError traceback before `modes test`'s error line."""
    afile = tmp_path / "not-a-folder"
    afile.write_text("", encoding="utf-8")
    assert holdtype("config", "set", "llm.model", "gpt-4o-mini").returncode == 0
    env = {"LLM_USER_PATH": str(afile)}
    fell_back = holdtype("modes", "test", "clean", "so um ship it today", env=env)
    _one_line_error(fell_back, "LLM_USER_PATH) is a file, not a folder")
    assert "Traceback" not in fell_back.stderr
    _one_line_error(holdtype("llm", "models", env=env), "is a file, not a folder")


def test_a_copy_of_a_built_in_mode_saved_under_a_new_name_is_a_mode_of_its_own() -> None:
    """From a review: `modes show clean > x.toml`, its system edited, moved to tidy.toml: the
    printed name = "clean" came along, so `modes list` had no tidy, clean ran the edited
    prompt and `modes show tidy` said unknown mode. `modes show` prints no name line."""
    from app.paths import get_paths

    folder = get_paths().modes_dir
    folder.mkdir(parents=True, exist_ok=True)
    shown = holdtype("modes", "show", "clean")
    assert shown.returncode == 0 and "\nname = " not in shown.stdout, shown.stdout
    copy = shown.stdout.replace("You clean up dictated text.", "You tidy dictated text.")
    assert copy != shown.stdout
    (folder / "tidy.toml").write_text(copy, encoding="utf-8")
    tidy = holdtype("modes", "show", "tidy")
    assert tidy.returncode == 0 and "You tidy dictated text." in tidy.stdout, tidy.stderr
    clean = holdtype("modes", "show", "clean")
    assert "You clean up dictated text." in clean.stdout and "You tidy" not in clean.stdout


def test_cache_clear_deletes_the_damaged_copies_set_aside_and_doctor_names_them() -> None:
    """A damaged reply cache is moved aside as llm.corrupt-<time>, with the dictated text
    inside: `cache clear` said "removed 0 entries" and left it, doctor said nothing, and no
    command ever removed it."""
    from app.paths import get_paths

    folder = get_paths().llm_cache_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cache.db").write_bytes(b"SQLite format 3\x00 but torn: so um lunch at noon" * 50)
    opened = holdtype("cache", "stats")
    assert opened.returncode == 0 and "moved to" in opened.stderr, opened.stderr
    [aside] = [p for p in folder.parent.iterdir() if p.name.startswith("llm.corrupt-")]
    doctor = holdtype("doctor").stdout
    assert f"[warn] llm cache: 1 damaged copy of the LLM reply cache set aside ({aside})" in doctor, doctor
    assert "fix: holdtype cache clear" in doctor
    kept = holdtype("cache", "clear", "--older-than", "1")  # (entries by age only)
    assert kept.returncode == 0 and aside.exists(), kept.stderr
    cleared = holdtype("cache", "clear")
    assert cleared.returncode == 0, cleared.stderr
    assert "removed 0 entries, and 1 damaged copy of the cache set aside earlier" in cleared.stdout
    assert str(aside) in cleared.stdout and not aside.exists()
    assert "llm cache:" not in holdtype("doctor").stdout


def test_doctor_warns_of_a_local_model_server_that_is_not_running() -> None:
    """doctor said "[ok] llm: mode clean via down" for a model whose server, on this machine,
    was not started (Ollama, llama.cpp): every dictation then fell back, Connection refused."""
    import socket

    port = free_port()
    api_base = f"http://127.0.0.1:{port}/v1"
    write_llm_models([model_entry("down", api_base), model_entry("remote", "http://192.0.2.1:9/v1")])
    assert holdtype("config", "set", "llm.model", "down").returncode == 0
    assert holdtype("config", "set", "modes.active", "clean").returncode == 0
    doctor = holdtype("doctor").stdout
    [line] = [line for line in doctor.splitlines() if "] llm:" in line]
    assert line.startswith("[warn]") and f"nothing answers at {api_base}" in line, doctor
    assert f"fix: start the model's server at {api_base}" in doctor
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:  # the server, started
        server.bind(("127.0.0.1", port))
        server.listen()
        doctor = holdtype("doctor").stdout
    assert "[ok  ] llm: mode clean via down" in doctor, doctor
    # Another machine's server is never asked (nothing leaves the machine for a check).
    assert holdtype("config", "set", "llm.model", "remote").returncode == 0
    assert "[ok  ] llm: mode clean via remote" in holdtype("doctor").stdout


def test_eval_records_the_model_each_mode_ran_on(speak, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`eval --mode tidy2 --mode clean --json-out` with tidy2.toml naming its own model: the JSON
    had one top-level "model" (llm.model), crediting tidy2's results to the wrong model."""
    from app.paths import get_paths

    write_llm_models(  # nothing listens: each call falls back, which is all this needs
        [
            model_entry("holdtype-down", "http://127.0.0.1:9/v1"),
            model_entry("holdtype-own", "http://127.0.0.1:9/v1"),
        ]
    )
    save_settings(Settings(llm=LLMSettings(model="holdtype-down", timeout_s=5)))
    folder = get_paths().modes_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tidy2.toml").write_text('model = "holdtype-own"\nsystem = "Tidy it."\ntemplate = "{text}"\n')
    manifest = tmp_path / "clips.jsonl"
    manifest.write_text(json.dumps({"path": str(speak("Open the door.")), "text": "Open the door."}) + "\n")
    out = tmp_path / "eval.json"
    proc = holdtype("eval", str(manifest), "--mode", "tidy2", "--mode", "clean", "--json-out", str(out))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    models = {m["mode"]: m["model"] for m in result["modes"]}
    assert models == {"raw": None, "tidy2": "holdtype-own", "clean": "holdtype-down"}, models
    assert [o["model"] for o in result["outputs"]["tidy2"]] == ["holdtype-own"]
    tidy2 = next(line for line in proc.stdout.splitlines() if line.startswith("tidy2"))
    assert "holdtype-own" in tidy2, proc.stdout
