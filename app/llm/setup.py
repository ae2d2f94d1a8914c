"""What is wrong with the llm library's own setup, in one line a user can act on.

Local OpenAI-compatible models (llama.cpp, LM Studio, vLLM…) are added to llm by hand, in
``extra-openai-models.yaml`` in llm's user folder. When that file does not parse, or an entry
lacks a field llm requires, llm's OpenAI plugin raises a bare ``ParserError``, ``TypeError``
or ``KeyError: 'model_id'`` from every model lookup: a traceback in ``holdtype llm models``, a
cryptic fallback reason at each dictation. The same goes for the other files of llm's folder
that llm reads with a bare ``json.loads``: ``aliases.json`` (every model lookup) and
``keys.json`` (every call of a model that needs a key), and for an ``LLM_USER_PATH`` that names
a file (llm's ``mkdir`` fails). :func:`llm_failure` names the file and the problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.paths import llm_keys_file, llm_user_dir

EXTRA_MODELS = "extra-openai-models.yaml"
#: llm's aliases (``llm aliases set``): a JSON object of alias → model id.
ALIASES = "aliases.json"
#: llm's key store: a JSON object of name → key.
KEYS = "keys.json"
#: The fields llm's OpenAI plugin reads from each entry without a default.
REQUIRED_FIELDS = ("model_id", "model_name")


def extra_models_file() -> Path:
    """llm's ``extra-openai-models.yaml`` (``LLM_USER_PATH`` or llm's folder), present or not.
    (Found without ``llm.user_dir()``, which makes the folder and fails when it is a file.)"""
    return llm_user_dir() / EXTRA_MODELS


def user_dir_problem() -> str | None:
    """What keeps llm from using its folder (``LLM_USER_PATH`` names a file), or None."""
    folder = llm_user_dir()
    try:
        if folder.exists() and not folder.is_dir():
            return (
                f"llm's folder {folder} (LLM_USER_PATH) is a file, not a folder: point LLM_USER_PATH "
                "at a folder, or unset it"
            )
    except OSError:  # (an unreadable parent: llm's own error says more)
        return None
    return None


def json_file_problem(path: Path, holds: str) -> str | None:
    """What keeps llm from reading its JSON file ``path``, which ``holds`` (as the message
    says it: "aliases and model ids"), read by llm with a bare ``json.loads`` that fails with
    an unnamed ``JSONDecodeError``; None when it is absent or readable.

    >>> json_file_problem(Path("/nonexistent/keys.json"), "key names and keys") is None
    True
    """
    fix = "fix it or move it away"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return f"{path} is not UTF-8 text; {fix}"
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror or exc}"
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        if not text.strip():
            return f"{path} is empty, which is not JSON: delete it, or write {{}} in it"
        return f"{path} is not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg}); {fix}"
    except ValueError:  # (nested past Python's limit)
        return f"{path} is not valid JSON; {fix}"
    if not isinstance(data, dict):
        return f'{path} must be a JSON object of {holds} ({{"name": "value"}}); {fix}'
    if not all(isinstance(value, str) for value in data.values()):
        return f"{path} must map each name to a string ({holds}); {fix}"
    return None


def aliases_problem() -> str | None:
    """What keeps llm from reading ``aliases.json`` (read at every model lookup), or None."""
    return json_file_problem(llm_user_dir() / ALIASES, "aliases and model ids")


def keys_problem() -> str | None:
    """What keeps llm from reading its key store ``keys.json`` (read when a model that needs a
    key is called or its key is looked up), or None."""
    return json_file_problem(llm_keys_file(), "key names and keys")


def setup_problem(keys: bool = True) -> str | None:
    """The first thing wrong with llm's folder and the files llm reads from it: the folder
    itself, ``extra-openai-models.yaml``, ``aliases.json`` and (``keys``) ``keys.json``; None
    when there is none."""
    folder = user_dir_problem()
    if folder:
        return folder
    return extra_models_problem() or aliases_problem() or (keys_problem() if keys else None)


def setup_fix(problem: str) -> str:
    """What to do about ``problem`` (from :func:`setup_problem`), for doctor's fix line."""
    if "LLM_USER_PATH" in problem:
        return "point LLM_USER_PATH at a folder, or unset it"
    for name in (EXTRA_MODELS, ALIASES, KEYS):
        path = llm_user_dir() / name
        if str(path) in problem:
            return f"edit or move away {path}"
    return "holdtype llm models"


def extra_models_problem(path: Path | None = None) -> str | None:
    """What keeps llm from reading ``path`` (by default :func:`extra_models_file`), or None
    when it is absent or llm can read it."""
    import yaml

    path = path or extra_models_file()
    try:
        if not path.exists():
            return None
    except OSError:  # (an unreadable folder: llm's own error says more)
        return None
    fix = "fix it or move it away"
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror or exc}"
    except UnicodeDecodeError:
        return f"{path} is not UTF-8 text; {fix}"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        return f"{path} is not valid YAML{where} ({problem}); {fix}"
    if data is None:
        return f"{path} is empty: list models in it ('- model_id: ...') or delete it"
    if isinstance(data, dict):
        return f"{path} must be a list of models: start each with '- ' ('- model_id: ...'); {fix}"
    if not isinstance(data, list):
        return f"{path} must be a list of models ('- model_id: ...'); {fix}"
    for number, entry in enumerate(data, 1):
        if not isinstance(entry, dict):
            return f"{path}: model {number} is not a set of fields ('model_id: ...'); {fix}"
        missing = [name for name in REQUIRED_FIELDS if name not in entry]
        if missing:
            return f"{path}: model {number} has no {' and no '.join(missing)}; {fix}"
    return None


def llm_failure(exc: BaseException) -> str:
    """What an exception from the llm library's model lookup means: the problem of llm's folder
    or of a file llm reads there (:func:`setup_problem`; ``keys.json`` only for an error of
    JSON, as a lookup that reads no key fails otherwise) when there is one, else the error on
    one line."""
    from app.redact import redact_keys

    said = redact_keys(" ".join(str(exc).split()))  # masked before it is cut: a cut key is no key
    problem = setup_problem(keys=isinstance(exc, ValueError))
    return problem or f"{type(exc).__name__}: {said[:300]}"


def unknown_model_note(model_id: str, where_to_pick: str) -> str | None:
    """What to say when the llm library knows no model ``model_id`` here (its plugin may come
    later, so the name is kept), or cannot look it up; None when it knows it. A typo in a
    model's name showed only at the first dictation in a mode. ``where_to_pick`` ends the
    note: where the caller's user sees the models there are."""
    import llm

    from app.llm.plugins import install_hint
    from app.llm.runner import PLUGIN_LOCK

    try:
        with PLUGIN_LOCK:
            llm.get_model(model_id)
    except llm.UnknownModelError:
        plugin = f"install its plugin ({install_hint('llm-...')})"
        return f"the llm library knows no model '{model_id}' here: {plugin} {where_to_pick}"
    except Exception as exc:  # a broken plugin or llm setup: the name may still be right
        return f"could not look up llm model '{model_id}': {llm_failure(exc)}"
    return None


def missing_key_of(model_id: str) -> str | None:
    """The name of the API key the llm model ``model_id`` needs and cannot find (in llm's key
    store or its environment variable: :func:`app.llm.runner.missing_key`), never the key
    itself; None when it needs none or has it, or llm does not know the model here (that is
    :func:`unknown_model_note`'s to say)."""
    import llm

    from app.llm.runner import PLUGIN_LOCK, missing_key

    try:
        with PLUGIN_LOCK:
            return missing_key(llm.get_model(model_id))
    except Exception:  # an unknown model or a broken plugin: said elsewhere, not a missing key
        return None
