"""Start Holdtype at login: the one place that writes and removes the entry that does it.

Each platform has its own per-user entry, none needing an administrator:

- Linux (and other XDG desktops): ``$XDG_CONFIG_HOME/autostart/holdtype.desktop``;
- macOS: a LaunchAgent, ``~/Library/LaunchAgents/org.holdtype.Holdtype.plist``;
- Windows: the value ``Holdtype`` of the current user's Run key (:data:`RUN_ENTRY`).

:func:`set_start_at_login` picks the one for this platform; a failure is a
:class:`~app.errors.AutostartError` that says what could not be written and what to check.
"""

from __future__ import annotations

import contextlib
import logging
import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

from app.errors import AutostartError
from app.paths import HOME_ENV, LLM_HOME_ENV, frozen, resources_dir

log = logging.getLogger(__name__)

AUTOSTART_NAME = "holdtype.desktop"
#: The LaunchAgent's label: the bundle identifier of Holdtype.app (packaging/holdtype.spec).
LAUNCH_AGENT_LABEL = "org.holdtype.Holdtype"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "Holdtype"
#: What :func:`set_start_at_login` returns on Windows: the registry value it wrote.
RUN_ENTRY = rf"HKEY_CURRENT_USER\{RUN_KEY}\{RUN_VALUE}"
#: Where Windows keeps its own on/off switch for each Run value (Task Manager's Startup tab,
#: Settings > Apps > Startup): a value of the same name, whose first byte is odd when off.
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"


def autostart_file() -> Path:
    """Where the XDG autostart entry lives (``$XDG_CONFIG_HOME/autostart/holdtype.desktop``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart" / AUTOSTART_NAME


def launch_agent_file() -> Path:
    """Where the macOS LaunchAgent lives (``~/Library/LaunchAgents/<label>.plist``)."""
    return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"


def launch_command() -> list[str]:
    """The command that starts this Holdtype's tray app: the script installed beside the
    running Python (its virtual environment's), else the one on PATH, else ``python -m app``.
    The first ``holdtype`` on PATH alone could be another install (a pipx one, an old one).

    On Windows the windowed launcher comes first (``holdtype-tray.exe``, a GUI script, and
    ``pythonw.exe`` for ``-m app``): the console ones would open a console window at sign-in.
    """
    windows = sys.platform == "win32"
    if frozen():  # a PyInstaller bundle: the executable is Holdtype itself
        # The Windows bundle has two launchers, as a pip install does; the entry names
        # holdtype-tray.exe, as the installer does.
        tray = Path(sys.executable).with_name("holdtype-tray.exe")
        if windows and tray.is_file():
            return [str(tray)]
        return [sys.executable]
    names = ("holdtype-tray", "holdtype") if windows else ("holdtype",)
    here = Path(sys.executable).parent
    for name in names:
        beside = here / (f"{name}.exe" if windows else name)
        if beside.is_file() and os.access(beside, os.X_OK):
            return [str(beside)]
    for name in names:
        script = shutil.which(name)
        if script:
            return [script]
    windowed = here / "pythonw.exe"
    python = str(windowed) if windows and windowed.is_file() else sys.executable
    return [python, "-m", "app"]


def _environment() -> dict[str, str]:
    """The variables that move this Holdtype's folders, which the started one must get too:
    ``HOLDTYPE_HOME`` (settings, history, models) and ``LLM_USER_PATH`` (llm's API keys and
    models: without it the modes' model or its key was not found at login), each set as the
    folder it names: a relative one was written as it was, and read at login against another
    working folder (the home), another settings and history folder."""
    found: dict[str, str] = {}
    for name in (HOME_ENV, LLM_HOME_ENV):
        value = os.environ.get(name)
        if value:
            found[name] = str(Path(value).expanduser().resolve())
    return found


_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def exec_line(args: list[str]) -> str:
    """``args`` as the Exec value of a desktop entry, quoted as the Desktop Entry spec says:
    in double quotes (a shell's single quotes are invalid there) with the double quote, backquote,
    dollar and backslash escaped, backslashes doubled once more for the string value, and ``%``
    written ``%%``.

    >>> exec_line(["env", "HOLDTYPE_HOME=/home/a b/ht", "/opt/holdtype/holdtype"])
    'env "HOLDTYPE_HOME=/home/a b/ht" /opt/holdtype/holdtype'
    >>> exec_line(["/x/100%/holdtype"])
    '/x/100%%/holdtype'
    """
    parts = []
    for arg in args:
        if arg and not (_EXEC_RESERVED & set(arg)):
            parts.append(arg.replace("%", "%%"))
            continue
        quoted = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        parts.append('"' + quoted.replace("\\", "\\\\").replace("%", "%%") + '"')
    return " ".join(parts)


def desktop_icon() -> str:
    """The Icon of the autostart entry: ``holdtype``, the name packaging/linux/install.sh (and
    the menu entry) use, when an icon of that name is installed where desktops look (the XDG
    data folders); else the path of Holdtype's own icon, which is valid wherever Holdtype is."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    data_dirs = (os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    for base in (data_home, *data_dirs):
        if not base:
            continue
        icons = Path(base) / "icons" / "hicolor"
        if any(icons.glob("*/apps/holdtype.png")) or any(icons.glob("*/apps/holdtype.svg")):
            return "holdtype"
        if (Path(base) / "pixmaps" / "holdtype.png").is_file():
            return "holdtype"
    return str(resources_dir() / "icons" / "holdtype.png")


def set_desktop_entry(enabled: bool) -> Path | None:
    """Write or remove the XDG autostart entry; return its path when written."""
    path = autostart_file()
    if not enabled:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    command = launch_command()
    environment = _environment()
    if environment:
        command = ["env", *(f"{name}={value}" for name, value in environment.items()), *command]
    path.write_text(
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Holdtype\n"
        "Comment=Hold a key, speak, let go: dictation into any window\n"
        f"Exec={exec_line(command)}\n"
        f"Icon={desktop_icon()}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n",
        encoding="utf-8",
    )
    return path


def launch_agent(command: list[str], environment: dict[str, str]) -> dict[str, Any]:
    """The LaunchAgent that runs ``command`` once at login (with the variables of
    ``environment`` set). No ``KeepAlive``: Quit from the menu bar must leave Holdtype quit.

    >>> launch_agent(["/Applications/Holdtype.app/Contents/MacOS/holdtype"], {})["RunAtLoad"]
    True
    """
    agent: dict[str, Any] = {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        "ProcessType": "Interactive",  # a UI app: not throttled like a background daemon
    }
    if environment:
        agent["EnvironmentVariables"] = dict(environment)
    return agent


def set_launch_agent(enabled: bool) -> Path | None:
    """Write or remove the macOS LaunchAgent; return its path when written. launchd reads it
    at the next login: writing it does not start a second Holdtype now."""
    path = launch_agent_file()
    if not enabled:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(plistlib.dumps(launch_agent(launch_command(), _environment())))
    return path


def run_command_line(command: list[str]) -> str:
    r"""``command`` as one Windows command line (the data of a Run value), quoted the way the
    C runtime splits it again.

    >>> print(run_command_line([r"C:\Program Files\Holdtype\holdtype-tray.exe"]))
    "C:\Program Files\Holdtype\holdtype-tray.exe"
    """
    return subprocess.list2cmdline(command)


def set_run_value(enabled: bool) -> str | None:
    """Write or remove the Windows Run value; return the value's name (:data:`RUN_ENTRY`) when
    written. The Run key has no place for an environment variable: a ``HOLDTYPE_HOME`` or
    ``LLM_USER_PATH`` in effect now is not passed on (a warning says so), and the entry is
    written all the same."""
    environment = _environment()
    if enabled and environment:
        log.warning(
            "the Windows start-at-login entry cannot pass %s: Holdtype started at sign-in "
            "uses the default folders",
            " ".join(f"{name}={value}" for name, value in environment.items()),
        )
    command = run_command_line(launch_command()) if enabled else None
    _write_run_value(command)
    return RUN_ENTRY if enabled else None


def _write_run_value(command: str | None) -> None:
    """Set the Run value to ``command``, or delete it (missing is fine) when None.

    Not exercised on Linux CI (winreg exists on Windows only): keep it to the registry calls.
    """
    if sys.platform != "win32":
        raise OSError(f"the registry exists on Windows only, not on {sys.platform}")
    import winreg

    with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        if command is not None:
            winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, command)
        else:
            with contextlib.suppress(FileNotFoundError):  # not there: nothing to remove
                winreg.DeleteValue(key, RUN_VALUE)
    # Windows' own switch: turned off in Task Manager, the value would stay off when the box
    # is ticked again. Without it, the Run value counts as on.
    with (
        contextlib.suppress(FileNotFoundError),  # no switch yet: nothing to reset
        winreg.OpenKey(winreg.HKEY_CURRENT_USER, APPROVED_KEY, 0, winreg.KEY_SET_VALUE) as key,
    ):
        winreg.DeleteValue(key, RUN_VALUE)


def _read_value(key: str) -> object:
    """The value :data:`RUN_VALUE` under ``HKEY_CURRENT_USER\\key``, or None when there is none.

    Not exercised on Linux CI (winreg exists on Windows only): keep it to the registry calls.
    """
    if sys.platform != "win32":
        raise OSError(f"the registry exists on Windows only, not on {sys.platform}")
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
            value, _kind = winreg.QueryValueEx(handle, RUN_VALUE)
    except FileNotFoundError:
        return None
    return value


def startup_approved(data: bytes | None) -> bool:
    """Whether Windows' own switch lets a Run value start: no switch (never touched), or its
    first byte even (2 on, 3 off, as Task Manager writes them).

    >>> on, off = bytes([2] + [0] * 11), bytes([3] + [0] * 11)
    >>> startup_approved(None), startup_approved(on), startup_approved(off)
    (True, True, False)
    """
    return not data or data[0] % 2 == 0


def desktop_entry_enabled(path: Path) -> bool:
    """Whether the XDG autostart entry at ``path`` starts anything: it exists and neither
    ``Hidden=true`` (the spec's way to turn an entry off) nor ``X-GNOME-Autostart-enabled=false``
    (what GNOME's Startup Applications and Tweaks write) says otherwise.

    >>> desktop_entry_enabled(Path("/nonexistent/holdtype.desktop"))
    False
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False
    in_main = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_main = line == "[Desktop Entry]"
            continue
        key, sep, value = line.partition("=")
        if not in_main or not sep:
            continue
        key, value = key.strip(), value.strip().lower()
        if (key == "Hidden" and value == "true") or (key == "X-GNOME-Autostart-enabled" and value == "false"):
            return False
    return True


def launch_agent_enabled(path: Path) -> bool:
    """Whether the LaunchAgent at ``path`` runs at login: it exists and is not ``Disabled``.
    One launchd reads but we cannot is counted as there (launchd decides)."""
    try:
        with path.open("rb") as f:
            agent = plistlib.load(f)
    except FileNotFoundError:
        return False
    except (ValueError, ExpatError):
        return True
    return not (isinstance(agent, dict) and agent.get("Disabled") is True)


def start_at_login_enabled() -> bool:
    """Whether this platform's start-at-login entry is there now, whoever wrote it: the
    settings window, an installer (the Windows one writes the same Run value), or the user
    (a desktop's own startup settings turn an XDG entry off).

    Raises :class:`OSError` when the entry cannot be read (the caller falls back on the setting).
    """
    if sys.platform == "win32":
        switch = _read_value(APPROVED_KEY)
        return _read_value(RUN_KEY) is not None and startup_approved(
            switch if isinstance(switch, bytes) else None
        )
    if sys.platform == "darwin":
        return launch_agent_enabled(launch_agent_file())
    return desktop_entry_enabled(autostart_file())


def entry_location() -> Path | str:
    """Where this platform's start-at-login entry lives: a file, or on Windows the registry
    value's name."""
    if sys.platform == "win32":
        return RUN_ENTRY
    if sys.platform == "darwin":
        return launch_agent_file()
    return autostart_file()


def set_start_at_login(enabled: bool) -> Path | str | None:
    """Write (``enabled``) or remove this platform's start-at-login entry.

    Returns where it was written: the file's :class:`~pathlib.Path` (Linux: the XDG autostart
    entry; macOS: the LaunchAgent), or on Windows the registry value's name as a string
    (:data:`RUN_ENTRY`); None when it was removed. Removing an entry that is not there is no
    error. Raises :class:`~app.errors.AutostartError` when it cannot be written or removed.
    """
    try:
        if sys.platform == "win32":
            return set_run_value(enabled)
        if sys.platform == "darwin":
            return set_launch_agent(enabled)
        return set_desktop_entry(enabled)
    except OSError as exc:
        raise AutostartError(_failure(enabled, exc)) from exc


def _failure(enabled: bool, exc: OSError) -> str:
    """What went wrong changing the entry, and what the user can check."""
    where = entry_location()
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename and str(exc.filename) != str(where):  # the folder it goes in, say
        reason = f"{reason}: {exc.filename}"
    if isinstance(where, Path):
        check = f"check that {where.parent} is yours and you may write to it"
    else:
        check = "check that no policy or security program blocks changes to that registry key"
    return (
        f"Could not {'add' if enabled else 'remove'} the start-at-login entry {where} ({reason}); "
        f"{check}, then turn “Start Holdtype when I log in” off and on again."
    )
