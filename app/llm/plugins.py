"""Adding and removing llm plugins (``llm-ollama``, ``llm-anthropic``...) in the Python
environment Holdtype runs in, as ``llm install`` does.

llm finds a provider through a plugin installed beside it, and every hint said ``llm install
llm-ollama``; but the ``llm`` command is on no user's PATH (it sits in Holdtype's virtual
environment, and the packaged app has none), so ``holdtype llm install`` runs pip with
Holdtype's own interpreter. A packaged (frozen) Holdtype carries the plugins it was built with
and cannot take new ones: it says so instead of running a pip it does not have.

Example::

    holdtype llm install llm-anthropic
"""

from __future__ import annotations

import importlib.util
import re
import sys
from importlib import metadata

from app.errors import HoldtypeError
from app.paths import frozen

#: The command that adds a plugin, as hints name it.
INSTALL_COMMAND = "holdtype llm install"


class PluginError(HoldtypeError):
    """A plugin cannot be installed or removed here."""


def install_hint(example: str = "llm-ollama") -> str:
    """How to add an llm plugin in this install, for hints ("install its plugin: ...").

    >>> install_hint("llm-anthropic") if not frozen() else ""
    'holdtype llm install llm-anthropic'
    """
    if frozen():
        return "the packaged Holdtype takes no new plugins; install Holdtype from source to add one"
    return f"{INSTALL_COMMAND} {example}"


def pip_command(action: str, packages: list[str], upgrade: bool = False) -> list[str]:
    """The pip command line that installs (``action`` "install") or removes ("uninstall")
    ``packages`` in Holdtype's environment; :class:`PluginError` when there is no pip to run.

    >>> pip_command("install", ["llm-ollama"], upgrade=True)[1:]
    ['-m', 'pip', 'install', '--upgrade', 'llm-ollama']
    """
    if frozen():
        raise PluginError(install_hint())
    if importlib.util.find_spec("pip") is None:
        raise PluginError(
            f"Holdtype's Python ({sys.executable}) has no pip to install with; add it: "
            f"{sys.executable} -m ensurepip"
        )
    if action == "install":
        return [sys.executable, "-m", "pip", "install", *(["--upgrade"] if upgrade else []), *packages]
    return [sys.executable, "-m", "pip", "uninstall", "--yes", *packages]


def _name(requirement: str) -> str:
    """The normalised project name a requirement starts with ("llm>=0.13; ..." -> "llm").

    >>> _name("PySide6-Essentials>=6.6"), _name("faster_whisper")
    ('pyside6-essentials', 'faster-whisper')
    """
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


_EXTRA_MARKER = re.compile(r"\bextra\s*==")


def _requirements(name: str) -> list[str]:
    """The names of the distributions the installed distribution ``name`` requires, extras
    left out (their markers are kept: a requirement for another platform counts too, as
    refusing one more package is safer than breaking Holdtype); none when it is not installed."""
    try:
        listed = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []
    return [_name(req) for req in listed if not _EXTRA_MARKER.search(req)]


def _own_requirements() -> list[str]:
    """Holdtype's direct requirements: from its installed metadata, else (run from a source
    tree) from ``pyproject.toml`` beside the package."""
    try:
        metadata.distribution("holdtype")
    except metadata.PackageNotFoundError:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            listed = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
        except (OSError, ValueError, KeyError):
            return ["llm"]
        return [_name(req) for req in listed]
    return _requirements("holdtype")


def holdtype_needs() -> set[str]:
    """The normalised names of every distribution Holdtype needs to run: its requirements and
    theirs, all the way down (llm → openai → httpx; faster-whisper → ctranslate2, onnxruntime),
    as installed here, and Holdtype itself."""
    needed = {"holdtype"}
    todo = _own_requirements()
    while todo:
        name = todo.pop()
        if name and name not in needed:
            needed.add(name)
            todo.extend(_requirements(name))
    return needed


def needed_by_holdtype(packages: list[str]) -> list[str]:
    """Of ``packages``, those Holdtype needs (:func:`holdtype_needs`: llm, faster-whisper and
    what they need in turn, such as openai, httpx, ctranslate2): removing one would break it,
    so ``holdtype llm uninstall`` refuses them."""
    required = holdtype_needs()
    return [package for package in packages if _name(package) in required]


def not_installed(packages: list[str]) -> list[str]:
    """Of ``packages``, those not installed here (pip only warns "Skipping ... as it is not
    installed" and exits 0 for them).

    >>> not_installed(["llm", "llm-surely-not-installed-xyz"])
    ['llm-surely-not-installed-xyz']
    """
    missing: list[str] = []
    for package in packages:
        try:
            metadata.distribution(package)
        except metadata.PackageNotFoundError:
            try:  # (installed under another spelling: "llm_gguf" for llm-gguf)
                metadata.distribution(_name(package))
            except metadata.PackageNotFoundError:
                missing.append(package)
    return missing


def installed_plugins() -> list[tuple[str, str]]:
    """The llm plugins installed here, as (distribution name, version), by name: the
    distributions that register an entry point of llm's group."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        if any(ep.group == "llm" for ep in dist.entry_points):
            found[dist.metadata["Name"]] = dist.version
    return sorted(found.items(), key=lambda item: item[0].lower())
