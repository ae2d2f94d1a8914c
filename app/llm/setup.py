"""What is wrong with the llm library's own setup, in one line a user can act on.

Local OpenAI-compatible models (llama.cpp, LM Studio, vLLM…) are added to llm by hand, in
``extra-openai-models.yaml`` in llm's user folder. When that file does not parse, or an entry
lacks a field llm requires, llm's OpenAI plugin raises a bare ``ParserError``, ``TypeError``
or ``KeyError: 'model_id'`` from every model lookup: a traceback in ``holdtype llm models``, a
cryptic fallback reason at each dictation. :func:`llm_failure` names the file and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXTRA_MODELS = "extra-openai-models.yaml"
#: The fields llm's OpenAI plugin reads from each entry without a default.
REQUIRED_FIELDS = ("model_id", "model_name")


def extra_models_file() -> Path:
    """llm's ``extra-openai-models.yaml`` (``LLM_USER_PATH`` or llm's folder), present or not."""
    import llm

    return Path(llm.user_dir()) / EXTRA_MODELS


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
    """What an exception from the llm library's model lookup means: the problem of
    ``extra-openai-models.yaml`` when it has one, else the error on one line."""
    from app.redact import redact_keys

    said = redact_keys(" ".join(str(exc).split()))  # masked before it is cut: a cut key is no key
    return extra_models_problem() or f"{type(exc).__name__}: {said[:300]}"


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
