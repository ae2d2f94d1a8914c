"""The command that installs a system package here, for the fixes Holdtype prints.

Every fix said ``sudo apt-get install ...``, also on Fedora, Arch or openSUSE (the release
archive runs on any distribution with a new enough glibc, and its README sends users to
``holdtype doctor``). Packages are named as Debian names them; the other managers' names for
those that differ are below.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

# How each package manager installs, and its names for Debian's packages where they differ.
COMMANDS = {
    "apt": "sudo apt-get install",
    "dnf": "sudo dnf install",
    "pacman": "sudo pacman -S",
    "zypper": "sudo zypper install",
    "apk": "sudo apk add",
}
NAMES: dict[str, dict[str, str]] = {
    "dnf": {
        "libportaudio2": "portaudio",
        "libasound2-plugins": "alsa-plugins-pulseaudio",
    },
    "pacman": {
        "libportaudio2": "portaudio",
        "libasound2-plugins": "alsa-plugins",
        "pulseaudio-utils": "libpulse",
    },
    "zypper": {"libasound2-plugins": "alsa-plugins-pulse"},
    "apk": {"libportaudio2": "portaudio", "libasound2-plugins": "alsa-plugins-pulse"},
}
# /etc/os-release's ID (or one of ID_LIKE) -> the distribution's package manager.
FAMILIES = {
    "debian": "apt",
    "ubuntu": "apt",
    "fedora": "dnf",
    "rhel": "dnf",
    "centos": "dnf",
    "arch": "pacman",
    "suse": "zypper",
    "opensuse": "zypper",
    "alpine": "apk",
}
# Without /etc/os-release: the first of these on PATH.
TOOLS = (("apt-get", "apt"), ("dnf", "dnf"), ("pacman", "pacman"), ("zypper", "zypper"), ("apk", "apk"))


def manager_of(os_release: str) -> str | None:
    """The package manager of the distribution an ``/etc/os-release`` text describes.

    >>> manager_of('ID=linuxmint\\nID_LIKE="ubuntu debian"'), manager_of("ID=fedora")
    ('apt', 'dnf')
    >>> manager_of('ID="opensuse-tumbleweed"\\nID_LIKE="opensuse suse"'), manager_of("ID=nixos")
    ('zypper', None)
    """
    fields: dict[str, str] = {}
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip().strip("\"'")
    for name in [fields.get("ID", ""), *fields.get("ID_LIKE", "").split()]:
        if name in FAMILIES:
            return FAMILIES[name]
    return None


@functools.lru_cache(maxsize=1)
def package_manager() -> str | None:
    """This machine's package manager (``apt``, ``dnf``...), or None when none is known."""
    try:
        found = manager_of(Path("/etc/os-release").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        found = None
    if found is not None:
        return found
    return next((manager for tool, manager in TOOLS if shutil.which(tool)), None)


def install_command(*packages: str, manager: str | None = None) -> str:
    """The command that installs ``packages`` (Debian's names) with ``manager`` (None: this
    machine's), or words that name them when no package manager is known.

    >>> install_command("xdotool", manager="apt")
    'sudo apt-get install xdotool'
    >>> install_command("libportaudio2", "xclip", manager="pacman")
    'sudo pacman -S portaudio xclip'
    >>> install_command("wtype", manager="unknown")
    "install wtype with your system's package manager"
    """
    manager = manager or package_manager() or ""
    if manager not in COMMANDS:
        return f"install {' '.join(packages)} with your system's package manager"
    names = NAMES.get(manager, {})
    return f"{COMMANDS[manager]} {' '.join(names.get(p, p) for p in packages)}"
