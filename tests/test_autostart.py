"""Start at login: the entry each platform reads, written to real files in a scratch home.

The Linux entry and the macOS LaunchAgent are written and read back here (the LaunchAgent's
writer runs on Linux too: it only writes a file under ``Path.home()``). The Windows Run value
needs the registry: its command line is tested here, the few winreg calls are not.
"""

from __future__ import annotations

import os
import plistlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.autostart import (
    LAUNCH_AGENT_LABEL,
    desktop_entry_enabled,
    launch_agent,
    launch_agent_enabled,
    launch_command,
    run_command_line,
    set_desktop_entry,
    set_launch_agent,
    set_start_at_login,
    start_at_login_enabled,
)
from app.errors import AutostartError
from app.paths import resources_dir
from tests.fixtures.parts import require_tools

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = "/Applications/Holdtype.app/Contents/MacOS/holdtype"


def test_the_launch_agent_runs_holdtype_once_at_login_and_survives_a_plist_round_trip() -> None:
    agent = launch_agent([BUNDLED], {"HOLDTYPE_HOME": "/Users/a b/holdtype home"})
    assert plistlib.loads(plistlib.dumps(agent)) == {
        "Label": "org.holdtype.Holdtype",
        "ProgramArguments": [BUNDLED],
        "RunAtLoad": True,
        "ProcessType": "Interactive",
        "EnvironmentVariables": {"HOLDTYPE_HOME": "/Users/a b/holdtype home"},
    }  # no KeepAlive: Quit from the menu bar leaves Holdtype quit
    plain = plistlib.loads(plistlib.dumps(launch_agent(["/venv/bin/python", "-m", "app"], {})))
    assert plain["ProgramArguments"] == ["/venv/bin/python", "-m", "app"]
    assert "EnvironmentVariables" not in plain and "KeepAlive" not in plain


def test_the_launch_agent_label_is_the_app_bundle_identifier() -> None:
    """One name for Holdtype on macOS: the bundle's id (packaging/holdtype.spec) labels the agent."""
    spec = (ROOT / "packaging" / "holdtype.spec").read_text(encoding="utf-8")
    found = re.search(r'bundle_identifier="([^"]+)"', spec)
    assert found is not None and found.group(1) == LAUNCH_AGENT_LABEL


def test_the_launch_agent_is_written_to_the_users_launch_agents_and_removed(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch
) -> None:
    mac_home = tmp_path / "Users" / "a b"
    mac_home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(mac_home))  # Path.home(): where ~/Library/LaunchAgents is
    holdtype_home = os.environ["HOLDTYPE_HOME"]  # each test's own (tests/conftest.py)
    llm_home = os.environ["LLM_USER_PATH"]  # llm's folder (its keys): passed on too

    path = set_launch_agent(True)
    assert path == mac_home / "Library" / "LaunchAgents" / "org.holdtype.Holdtype.plist"
    with path.open("rb") as f:
        agent = plistlib.load(f)
    assert agent == {
        "Label": "org.holdtype.Holdtype",
        "ProgramArguments": launch_command(),
        "RunAtLoad": True,
        "ProcessType": "Interactive",
        "EnvironmentVariables": {"HOLDTYPE_HOME": holdtype_home, "LLM_USER_PATH": llm_home},
    }
    assert set_launch_agent(True) == path  # written again over the old one
    assert set_launch_agent(False) is None
    assert not path.exists() and path.parent.is_dir()
    assert set_launch_agent(False) is None  # already gone: no error

    monkeypatch.chdir(tmp_path)  # a relative HOLDTYPE_HOME is written as the folder it names
    monkeypatch.setenv("HOLDTYPE_HOME", "relative home")
    monkeypatch.setenv("LLM_USER_PATH", "relative llm")
    with set_launch_agent(True).open("rb") as f:  # type: ignore[union-attr]
        assert plistlib.load(f)["EnvironmentVariables"] == {
            "HOLDTYPE_HOME": str(tmp_path / "relative home"),
            "LLM_USER_PATH": str(tmp_path / "relative llm"),
        }

    monkeypatch.delenv("HOLDTYPE_HOME")
    monkeypatch.delenv("LLM_USER_PATH")
    with set_launch_agent(True).open("rb") as f:  # type: ignore[union-attr]
        assert "EnvironmentVariables" not in plistlib.load(f)


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ([r"C:\Program Files\Holdtype\holdtype-tray.exe"], r'"C:\Program Files\Holdtype\holdtype-tray.exe"'),
        ([r"C:\Users\Ann\Holdtype\holdtype-tray.exe"], r"C:\Users\Ann\Holdtype\holdtype-tray.exe"),
        (
            [r"C:\Users\Ann Lee\venv\Scripts\python.exe", "-m", "app"],
            r'"C:\Users\Ann Lee\venv\Scripts\python.exe" -m app',
        ),
        # A double quote inside an argument takes a backslash; backslashes before a quote
        # (the closing one too) are doubled, so the C runtime splits the line back the same.
        ([r'C:\odd "name"\holdtype.exe'], r'"C:\odd \"name\"\holdtype.exe"'),
        (["C:\\with space\\", "x"], '"C:\\with space\\\\" x'),  # one backslash at the end
        ([r"C:\O'Brien's\holdtype.exe"], r"C:\O'Brien's\holdtype.exe"),
    ],
    ids=["spaces", "plain", "python -m app", "quotes", "trailing backslash", "apostrophes"],
)
def test_the_windows_run_value_quotes_paths_as_windows_splits_them(command: list[str], line: str) -> None:
    assert run_command_line(command) == line


def test_the_desktop_entry_is_written_and_removed(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    entry = set_start_at_login(True)
    assert entry == tmp_path / "xdg" / "autostart" / "holdtype.desktop" == set_desktop_entry(True)
    text = entry.read_text(encoding="utf-8")
    assert "Type=Application" in text and "HOLDTYPE_HOME=" in text
    # llm's folder (API keys, the modes' models) too: without it the entry started a Holdtype
    # whose modes found no model or key, and fell back to the transcript.
    assert f"LLM_USER_PATH={os.environ['LLM_USER_PATH']}" in text
    assert set_start_at_login(False) is None and not entry.exists()
    assert set_start_at_login(False) is None  # already gone: no error


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG entry is Linux's")
def test_an_entry_that_cannot_be_written_or_removed_says_where_and_what_to_check(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch
) -> None:
    """A real obstacle, not a permission (the tests may run as root): a file where the
    autostart folder should be, then a folder where the entry should be."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "autostart").write_text("not a folder")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    with pytest.raises(AutostartError) as failed:
        set_start_at_login(True)
    message = str(failed.value)
    assert message.startswith(
        f"Could not add the start-at-login entry {config / 'autostart' / 'holdtype.desktop'}"
    )
    assert f"check that {config / 'autostart'} is yours and you may write to it" in message
    assert "off and on again" in message and isinstance(failed.value.__cause__, OSError)

    (config / "autostart").unlink()
    (config / "autostart" / "holdtype.desktop").mkdir(parents=True)
    with pytest.raises(AutostartError, match="Could not remove the start-at-login entry"):
        set_start_at_login(False)


def test_the_start_at_login_entry_starts_this_install_not_the_first_on_path(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The entry named whichever `holdtype` came first on PATH: a pipx install, an old one."""
    other = tmp_path / "bin" / "holdtype"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\nexit 0\n")
    other.chmod(0o755)
    monkeypatch.setenv("PATH", f"{other.parent}{os.pathsep}{os.environ['PATH']}")
    ours = Path(sys.executable).parent / "holdtype"
    assert ours.is_file(), "the tests run from an install of Holdtype (README's command)"
    assert launch_command() == [str(ours)]


def test_start_at_login_entry_uses_the_icon_install_sh_installs(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The autostart entry named the theme icon audio-input-microphone, while install.sh installs
    (and the menu entry uses) one named holdtype."""
    require_tools("desktop-file-validate", fix="sudo apt-get install desktop-file-utils")
    packaging = ROOT / "packaging" / "linux"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_DIRS", str(tmp_path / "no-system-data"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "prefix" / "share"))

    def icon_line() -> str:
        entry = set_start_at_login(True)
        assert isinstance(entry, Path)
        check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        return next(line for line in entry.read_text().splitlines() if line.startswith("Icon="))

    # Not installed: Holdtype's own icon by its path, which exists (no theme has "holdtype")
    icon = icon_line().removeprefix("Icon=")
    assert Path(icon).is_file() and Path(icon) == resources_dir() / "icons" / "holdtype.png"

    # The real install.sh, run on an unpacked archive whose bundle is a FAKE (a script that
    # answers --version in place of the PyInstaller build, which takes minutes to make)
    archive = tmp_path / "archive"
    (archive / "holdtype").mkdir(parents=True)
    fake = archive / "holdtype" / "holdtype"
    fake.write_text("#!/bin/sh\necho 'holdtype 0.0 (FAKE bundle)'\n")
    fake.chmod(0o755)
    shutil.copy(packaging / "install.sh", archive / "install.sh")
    shutil.copy(packaging / "holdtype.desktop", archive / "holdtype.desktop")
    shutil.copy(resources_dir() / "icons" / "holdtype.png", archive / "holdtype.png")
    subprocess.run(
        ["bash", str(archive / "install.sh")],
        env={**os.environ, "PREFIX": str(tmp_path / "prefix")},
        check=True,
        capture_output=True,
    )
    menu = (tmp_path / "prefix" / "share" / "applications" / "holdtype.desktop").read_text()
    assert "Icon=holdtype" in menu.splitlines()
    assert icon_line() == "Icon=holdtype"  # the same icon as the menu entry
    set_start_at_login(False)


def test_start_at_login_is_read_from_the_entry_as_desktops_turn_it_off(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch
) -> None:
    """The entry, not the saved setting, says whether Holdtype starts at login: GNOME's startup
    settings turn an entry off with X-GNOME-Autostart-enabled=false, the spec with Hidden=true."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert start_at_login_enabled() is False  # no entry
    entry = set_start_at_login(True)
    assert isinstance(entry, Path) and start_at_login_enabled() is True
    written = entry.read_text(encoding="utf-8")
    assert "X-GNOME-Autostart-enabled=true" in written
    entry.write_text(written.replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"))
    assert start_at_login_enabled() is False
    entry.write_text(written + "Hidden=true\n")
    assert start_at_login_enabled() is False
    # The same keys in another group (an action) do not turn the entry off
    entry.write_text(written + "\n[Desktop Action quiet]\nName=Quiet\nHidden=true\n")
    assert desktop_entry_enabled(entry) is True
    set_start_at_login(False)
    assert start_at_login_enabled() is False


def test_a_launch_agent_counts_unless_missing_or_disabled(tmp_path: Path) -> None:
    path = tmp_path / f"{LAUNCH_AGENT_LABEL}.plist"
    assert launch_agent_enabled(path) is False
    agent = launch_agent([BUNDLED], None)
    path.write_bytes(plistlib.dumps(agent))
    assert launch_agent_enabled(path) is True
    path.write_bytes(plistlib.dumps({**agent, "Disabled": True}))
    assert launch_agent_enabled(path) is False
    path.write_bytes(b"<plist><dict><key>Label")  # cut short: launchd decides, not us
    assert launch_agent_enabled(path) is True


def test_on_windows_the_entry_names_the_windowed_launcher(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The choosing logic for a pip install on Windows, run here with the platform set to
    win32 over a folder laid out like a venv's Scripts: holdtype.exe is a console script, and
    naming it opened a console window at every sign-in; holdtype-tray.exe is the GUI script."""
    scripts = tmp_path / "venv" / "Scripts"
    scripts.mkdir(parents=True)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", str(scripts / "python.exe"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # not this machine's holdtype-tray
    monkeypatch.delattr(sys, "frozen", raising=False)

    def put(name: str) -> Path:
        path = scripts / name
        path.write_text("")
        path.chmod(0o755)
        return path

    console, windowed, python = put("holdtype.exe"), put("holdtype-tray.exe"), put("python.exe")
    assert launch_command() == [str(windowed)]
    windowed.unlink()  # an install from before holdtype-tray existed
    assert launch_command() == [str(console)]
    console.unlink()
    assert launch_command() == [str(python), "-m", "app"]
    pythonw = put("pythonw.exe")
    assert launch_command() == [str(pythonw), "-m", "app"]


def test_config_set_start_at_login_writes_and_removes_the_entry(tmp_path: Path) -> None:
    """`config set ui.start_at_login true` saved the setting and wrote no entry: only the
    settings window wrote it. Another ui setting leaves an installer's entry alone."""
    from tests.cli import holdtype

    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    entry = tmp_path / "xdg" / "autostart" / "holdtype.desktop"
    on = holdtype("config", "set", "ui.start_at_login", "true", env=env)
    assert on.returncode == 0 and entry.is_file(), on.stderr
    assert f"note: Holdtype starts when you log in ({entry})" in on.stderr
    assert holdtype("config", "set", "ui.start_at_login", "false", env=env).returncode == 0
    assert not entry.exists()
    set_start_at_login_as(entry, env)  # an installer's entry, the setting still false
    assert holdtype("config", "set", "ui", '{"overlay": false}', env=env).returncode == 0
    assert entry.is_file()


def set_start_at_login_as(entry: Path, env: dict[str, str]) -> None:
    """Write the start-at-login entry as another program would (here, Holdtype's own code)."""
    import os
    import subprocess
    import sys

    code = "from app.autostart import set_start_at_login; set_start_at_login(True)"
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, check=True)
    assert entry.is_file()
