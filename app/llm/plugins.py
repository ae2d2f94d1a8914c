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


def needed_by_holdtype(packages: list[str]) -> list[str]:
    """Of ``packages``, those Holdtype itself needs (llm, faster-whisper...): removing one would
    break it, so ``holdtype llm uninstall`` refuses them."""
    try:
        required = {_name(req) for req in metadata.requires("holdtype") or [] if "extra ==" not in req}
    except metadata.PackageNotFoundError:  # run from a source tree without an install
        required = {"llm"}
    required.add("holdtype")
    return [package for package in packages if _name(package) in required]


def installed_plugins() -> list[tuple[str, str]]:
    """The llm plugins installed here, as (distribution name, version), by name: the
    distributions that register an entry point of llm's group."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        if any(ep.group == "llm" for ep in dist.entry_points):
            found[dist.metadata["Name"]] = dist.version
    return sorted(found.items(), key=lambda item: item[0].lower())
