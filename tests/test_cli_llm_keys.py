"""``holdtype llm keys``: API keys stored where llm and its plugins find them.

Every hint said ``llm keys set openai``, but the ``llm`` command is on the PATH in no install
(the README's puts it in the virtual environment's ``bin``; the packaged app has none), and
``holdtype llm keys`` was "No such command". Each test runs the real CLI and reads the key
back through the real llm library.
"""

from __future__ import annotations

import json
import os
import select
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import ROOT, holdtype

KEY = "sk-FAKEfake0123456789abcdefFAKEfake"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="file modes and ptys are POSIX's")


def _keys_file() -> Path:
    return Path(os.environ["LLM_USER_PATH"]) / "keys.json"


def _llm_get(name: str) -> str | None:
    """The key ``name`` as llm and its plugins look it up (the store, not the environment)."""
    import llm

    return llm.get_key(alias=name)


def _said(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


@posix_only
def test_set_from_standard_input_is_what_llm_reads_back_private_and_never_printed() -> None:
    done = holdtype("llm", "keys", "set", "openai", input=f"  {KEY}\n")
    assert done.returncode == 0, done.stderr
    assert KEY not in _said(done)
    assert _llm_get("openai") == KEY  # the spaces and line break around it dropped
    got = subprocess.run(
        [sys.executable, "-m", "llm", "keys", "get", "openai"], capture_output=True, text=True, timeout=120
    )
    assert got.returncode == 0 and got.stdout == f"{KEY}\n", got.stderr  # llm's own command
    assert stat.S_IMODE(_keys_file().stat().st_mode) == 0o600
    stored = json.loads(_keys_file().read_text(encoding="utf-8"))
    assert list(stored) == ["// Note", "openai"]  # llm's own layout, its note first


@posix_only
def test_set_keeps_the_other_keys_and_makes_an_open_file_private() -> None:
    _keys_file().write_text(json.dumps({"anthropic": "sk-ant-other", "openai": "sk-old"}))
    _keys_file().chmod(0o644)  # written by hand, or by an llm that left it so
    done = holdtype("llm", "keys", "set", "openai", input=KEY)
    assert done.returncode == 0, done.stderr
    assert _llm_get("openai") == KEY and _llm_get("anthropic") == "sk-ant-other"
    assert stat.S_IMODE(_keys_file().stat().st_mode) == 0o600


@pytest.mark.parametrize("given", ["", "  \n", f"{KEY}\nsecond line\n"])
def test_set_refuses_an_empty_or_two_line_value_and_stores_nothing(given: str) -> None:
    done = holdtype("llm", "keys", "set", "openai", input=given)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Error: ") and KEY not in _said(done)
    assert not _keys_file().exists() and _llm_get("openai") is None


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("sk-abc SECRETdef0123", "without spaces"),
        ("sk-\u043a\u043b\u044e\u0447", "other characters"),  # Cyrillic: no HTTP header takes it
        ("sk-\u200bZW0123456789", "other characters"),  # a zero-width space, unseen in the paste
        ('"sk-quoted0123456789"', "without the quotes"),
        ("OPENAI_API_KEY=sk-abc0123456789", "NAME=key"),
    ],
)
def test_set_refuses_a_value_no_provider_would_take(given: str, said: str) -> None:
    # Stored as given, each failed every call later ("'ascii' codec can't encode character").
    done = holdtype("llm", "keys", "set", "openai", input=given + "\n")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert said in done.stderr and given not in _said(done)
    assert _llm_get("openai") is None


def test_set_drops_a_key_files_byte_order_mark() -> None:
    # `holdtype llm keys set openai < key.txt` of a file saved on Windows: the key got its BOM.
    done = holdtype("llm", "keys", "set", "openai", input="\ufeff" + KEY + "\r\n")
    assert done.returncode == 0, done.stderr
    assert _llm_get("openai") == KEY


def test_set_refuses_to_overwrite_a_broken_key_file() -> None:
    # llm's own `keys set` takes a file that is not JSON as empty: every other key was lost.
    _keys_file().write_text('{"anthropic": "sk-ant-other",')
    done = holdtype("llm", "keys", "set", "openai", input=KEY)
    assert done.returncode == 1 and str(_keys_file()) in done.stderr, done.stderr
    assert _keys_file().read_text() == '{"anthropic": "sk-ant-other",'


@posix_only
def _set_in_terminal(name: str, prompt: bytes) -> tuple[subprocess.Popen[bytes], int, bytes]:
    """Start `holdtype llm keys set NAME` on a pseudo-terminal of its own; return the process,
    the terminal's end to type into (the caller closes it) and its stderr up to ``prompt`` (or
    up to its end, when it stops first)."""
    main, replica = os.openpty()
    # A new session has no controlling terminal: the prompt reads the pty it is given, never
    # the terminal the tests were started from.
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "llm", "keys", "set", name],
        stdin=replica,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(replica)
    shown = b""
    deadline = time.monotonic() + 120
    while prompt not in shown and proc.poll() is None and time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 0.2)[0]:
            assert proc.stderr is not None
            shown += os.read(proc.stderr.fileno(), 1024)
    return proc, main, shown


def test_set_asks_in_a_terminal_without_showing_the_key() -> None:
    proc, main, shown = _set_in_terminal("openai", b"Key for openai")
    try:
        time.sleep(0.5)  # echo is turned off once the prompt is out
        os.write(main, f"{KEY}\n".encode())
        out, err = proc.communicate(timeout=120)
        echoed = b""
        while select.select([main], [], [], 0.2)[0]:
            try:
                echoed += os.read(main, 1024)
            except OSError:  # the other end closed
                break
    finally:
        os.close(main)
    assert proc.returncode == 0, err
    assert KEY.encode() not in out + shown + err + echoed
    assert _llm_get("openai") == KEY


SWAPPED = "sk-proj-ZZzz0123456789AbCdEf0123456789xyz"  # a key given where its name goes
PLAIN = "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW"  # a Mistral key: no prefix


@pytest.mark.parametrize("key", [SWAPPED, PLAIN])
def test_a_key_given_as_the_name_is_refused_and_never_shown(key: str) -> None:
    """`printf openai | holdtype llm keys set sk-proj-…` (name and key swapped) stored the key
    as the name, printed it, and `keys list` printed it from then on."""
    done = holdtype("llm", "keys", "set", key, input="openai")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "the key's name comes first" in done.stderr and "holdtype llm keys set openai" in done.stderr
    assert key not in _said(done) and key[8:] not in _said(done)
    assert not _keys_file().exists()
    assert key not in _said(holdtype("llm", "keys", "list"))


@posix_only
def test_a_key_given_as_the_name_is_not_shown_in_the_prompt() -> None:
    """In a terminal the prompt ("Key for NAME") came first, and showed the key."""
    proc, main, shown = _set_in_terminal(SWAPPED, b"Key for")
    try:
        if proc.poll() is None:  # (asking for the key: it is not waited for)
            proc.kill()
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(main)
    assert SWAPPED.encode() not in out + shown + err
    assert proc.returncode == 1 and b"the key's name comes first" in shown + err, shown + err
    assert not _keys_file().exists()


def test_a_key_llm_stored_as_a_name_is_never_shown() -> None:
    """llm's own `keys set` takes any name: a key stored as one was listed whole, and its value,
    the provider's name, counted as a key, so "anthropic" in any message became
    "(key 'sk-proj-…' hidden)", the key itself, and model ids naming it were refused."""
    store = [sys.executable, "-m", "llm", "keys", "set", SWAPPED, "--value", "anthropic"]
    assert subprocess.run(store, capture_output=True, text=True, timeout=120).returncode == 0
    listed = holdtype("llm", "keys", "list")
    assert listed.returncode == 0 and listed.stdout == "sk-pro…(key hidden)\n", listed.stdout
    assert "a key is stored as a name" in listed.stderr and SWAPPED not in _said(listed)
    model = holdtype("config", "set", "llm.model", "anthropic-claude-3")
    assert model.returncode == 0, model.stderr
    tested = holdtype("modes", "test", "clean", "hello there")
    assert "unknown llm model 'anthropic-claude-3'" in tested.stderr, tested.stderr
    removed = holdtype("llm", "keys", "remove", SWAPPED)
    assert removed.returncode == 0 and removed.stdout == "removed the key sk-pro…(key hidden)\n"
    for said in (model, tested, removed):
        assert SWAPPED[6:] not in _said(said)


def test_list_names_the_keys_only() -> None:
    empty = holdtype("llm", "keys", "list")
    assert empty.returncode == 0 and empty.stdout == "" and "holdtype llm keys set" in empty.stderr
    _keys_file().write_text(json.dumps({"// Note": "llm's note", "openai": KEY, "anthropic": "sk-ant-x"}))
    listed = holdtype("llm", "keys", "list")
    assert listed.returncode == 0 and listed.stdout == "anthropic\nopenai\n", listed.stderr
    assert KEY not in _said(listed)


def test_remove_takes_one_key_out_and_names_the_stored_ones_for_an_unknown_name() -> None:
    assert holdtype("llm", "keys", "set", "openai", input=KEY).returncode == 0
    assert holdtype("llm", "keys", "set", "anthropic", input="sk-ant-x").returncode == 0
    unknown = holdtype("llm", "keys", "remove", "opnai")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert "no key named 'opnai'" in unknown.stderr and "anthropic, openai" in unknown.stderr
    assert KEY not in _said(unknown) and _llm_get("openai") == KEY
    removed = holdtype("llm", "keys", "remove", "openai")
    assert removed.returncode == 0, removed.stderr
    assert _llm_get("openai") is None and _llm_get("anthropic") == "sk-ant-x"


def test_path_is_the_file_llm_reads() -> None:
    import llm

    shown = holdtype("llm", "keys", "path")
    assert shown.returncode == 0 and shown.stdout.strip() == str(Path(llm.user_dir()) / "keys.json")


def test_set_warns_of_a_name_no_model_takes() -> None:
    # llm looks a key up by its exact name: one stored as "OpenAI" is never found.
    done = holdtype("llm", "keys", "set", "OpenAI", input=KEY)
    assert done.returncode == 0 and "warning: no model the llm library lists takes a key named OpenAI" in (
        done.stderr
    )
    assert "openai" in done.stderr and _llm_get("OpenAI") == KEY
    assert "warning" not in holdtype("llm", "keys", "set", "openai", input=KEY).stderr


def test_a_key_without_a_prefix_stored_as_a_name_is_never_shown() -> None:
    """The key-shaped name was told by its prefix alone where messages are masked: a Mistral
    key stored as a name made its value, a model's name, read "(key '<the key>' hidden)"."""
    store = [sys.executable, "-m", "llm", "keys", "set", PLAIN, "--value", "mistral-large"]
    assert subprocess.run(store, capture_output=True, text=True, timeout=120).returncode == 0
    done = holdtype("config", "set", "llm.model", "mistral-large")
    assert PLAIN not in _said(done)
    shown = holdtype("config", "get", "llm.model")
    assert shown.returncode == 0 and shown.stdout.strip() == "mistral-large", _said(shown)


def test_keys_stored_at_once_are_all_kept() -> None:
    """Two programs storing keys at the same moment (the settings window, a script running
    ``holdtype llm keys set``) each read the store, added its key and wrote the file over the
    other's: a key was lost. Eight writers here, in threads (each holds its own lock handle,
    as a process does)."""
    from concurrent.futures import ThreadPoolExecutor

    from app.llm.keys import set_key

    names = [f"service{writer}_{n}" for writer in range(8) for n in range(12)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda name: set_key(name, f"{KEY}{name}"), names))
    stored = json.loads(_keys_file().read_text(encoding="utf-8"))
    assert sorted(n for n in stored if n != "// Note") == sorted(names)
