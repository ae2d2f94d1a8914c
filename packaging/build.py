"""Build Holdtype's installers with PyInstaller: ``.venv/bin/python packaging/build.py``.

Run it with the Python of the environment Holdtype is installed in (``.venv/bin/python``); it
freezes exactly what that environment holds. Steps:

1. check that Holdtype and the packages it requires are installed in this Python (else stop,
   naming the command to run instead), and that PyInstaller is importable (installs
   ``pyinstaller`` into this environment if not);
2. ``pyinstaller packaging/holdtype.spec`` → ``dist/holdtype/`` (one folder), plus
   ``dist/Holdtype.app`` on macOS;
3. check that the frozen binary starts (``holdtype --version``), unless ``--no-smoke``;
4. wrap it for this platform:

   - Linux:   ``dist/holdtype-<version>-linux-<arch>.tar.gz`` (the folder, ``install.sh``,
     ``holdtype.desktop``, the icon, the licence);
   - Windows: ``dist/holdtype-<version>-windows-<arch>.zip``, and ``dist/holdtype-<version>-setup.exe``
     from ``packaging/windows/holdtype.iss`` when Inno Setup's ``iscc`` is found;
   - macOS:   ``dist/holdtype-<version>-macos-<arch>.zip`` (the .app, by ``ditto``) and a ``.dmg``
     via ``hdiutil``.

PyInstaller does not cross-compile: each platform's installer is built on that platform. Only the
Linux path has been run for real so far; see packaging/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "holdtype.spec"
PYINSTALLER_REQ = "pyinstaller>=6.5"


def say(message: str) -> None:
    print(f"holdtype build: {message}", file=sys.stderr, flush=True)


def version() -> str:
    """Holdtype's version, read from app/__init__.py (no import: the build needs no app imports)."""
    text = (ROOT / "app" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not match:
        raise SystemExit("holdtype build: no __version__ in app/__init__.py")
    return match.group(1)


def arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(machine, machine or "unknown")


def missing_packages() -> list[str]:
    """Holdtype, or the packages it requires, that this Python does not have: the freeze takes
    them from here. Run with another Python than the checkout's .venv one, the build installed
    PyInstaller into it, then crashed inside PyInstaller ("No package metadata was found for llm")."""
    from importlib import metadata

    try:
        requires = metadata.distribution("holdtype").requires or []
    except metadata.PackageNotFoundError:
        return ["holdtype"]
    missing = []
    for requirement in requires:
        spec, _, marker = requirement.partition(";")
        if marker.strip() and not _applies(marker):
            continue
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec.strip())
        if name is None:
            continue
        try:
            metadata.distribution(name.group())
        except metadata.PackageNotFoundError:
            missing.append(name.group())
    return missing


def _applies(marker: str) -> bool:
    """Whether a requirement's environment marker holds here: an extra's never does (``dev`` is
    not needed to build); another (``python_version < '3.11'``) is read by the ``packaging``
    library, and without it not checked.

    >>> _applies('extra == "dev"')
    False
    """
    if "extra" in marker:
        return False
    try:
        from packaging.markers import Marker
    except ImportError:
        return False
    return Marker(marker).evaluate()


def check_environment() -> None:
    """Stop, in one line naming the command to run instead, when this Python lacks Holdtype
    or a package it requires (before anything is installed into it)."""
    missing = missing_packages()
    if not missing:
        return
    named = ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else "")
    what = "Holdtype" if missing == ["holdtype"] else named
    if sys.platform == "win32":
        command, setup = r".venv\Scripts\python packaging\build.py", r"after .venv\Scripts\pip install -e ."
    else:
        command, setup = ".venv/bin/python packaging/build.py", "after bash packaging/linux/setup.sh"
    raise SystemExit(
        f"holdtype build: {sys.executable} has no {what} installed, and the build freezes what the "
        f"Python running it has: run it with the checkout's, {command} ({setup})"
    )


def ensure_pyinstaller() -> None:
    """Install PyInstaller into this environment when it is missing, saying so."""
    if importlib.util.find_spec("PyInstaller") is not None:
        return
    say(f"PyInstaller is not installed in {sys.prefix}; installing {PYINSTALLER_REQ} with pip")
    result = subprocess.run([sys.executable, "-m", "pip", "install", PYINSTALLER_REQ], check=False)
    if result.returncode != 0:
        raise SystemExit(
            "holdtype build: could not install PyInstaller; run "
            f"`{sys.executable} -m pip install '{PYINSTALLER_REQ}'` and try again"
        )


def run_pyinstaller(dist: Path, work: Path, clean: bool) -> float:
    """Freeze the app; return the seconds it took."""
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
    ]
    if clean:
        cmd.append("--clean")
    cmd.append(str(SPEC))
    say("running " + " ".join(cmd[2:]))
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, check=False)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        raise SystemExit(f"holdtype build: PyInstaller failed (exit {result.returncode})")
    return elapsed


def folder_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def frozen_binary(dist: Path) -> Path:
    name = "holdtype.exe" if sys.platform == "win32" else "holdtype"
    return dist / "holdtype" / name


def smoke_test(binary: Path, expected_version: str) -> None:
    """The frozen binary must start and print its version (catches missing modules early)."""
    result = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    out = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or expected_version not in out:
        raise SystemExit(f"holdtype build: smoke test failed: {binary} --version gave: {out!r}")
    say(f"smoke test: {out}")


# --- Linux ----------------------------------------------------------------------------------------


def package_linux(dist: Path, ver: str) -> list[Path]:
    """A tar.gz with the folder, install.sh, the .desktop file and the icon."""
    stem = f"holdtype-{ver}-linux-{arch()}"
    archive = dist / f"{stem}.tar.gz"
    extras = {
        "install.sh": PACKAGING / "linux" / "install.sh",
        "holdtype.desktop": PACKAGING / "linux" / "holdtype.desktop",
        "holdtype.png": ROOT / "resources" / "icons" / "holdtype.png",
        "README.txt": PACKAGING / "linux" / "README.txt",
        "LICENSE": ROOT / "LICENSE",
    }

    def executable(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if info.name.endswith("/install.sh"):
            info.mode = 0o755
        return info

    say(f"writing {archive.relative_to(ROOT) if archive.is_relative_to(ROOT) else archive}")
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(dist / "holdtype", arcname=f"{stem}/holdtype", filter=executable)
        for name, source in extras.items():
            tar.add(source, arcname=f"{stem}/{name}", filter=executable)
    return [archive]


# --- Windows --------------------------------------------------------------------------------------


def find_iscc() -> str | None:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        if base and (Path(base) / "Inno Setup 6" / "ISCC.exe").is_file():
            return str(Path(base) / "Inno Setup 6" / "ISCC.exe")
    return None


def package_windows(dist: Path, ver: str) -> list[Path]:
    """A zip of the folder, and an installer when Inno Setup is available."""
    archive = dist / f"holdtype-{ver}-windows-{arch()}.zip"
    say(f"writing {archive}")
    folder = dist / "holdtype"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, Path("holdtype") / path.relative_to(folder))
    outputs = [archive]
    iscc = find_iscc()
    if not iscc:
        say("Inno Setup (iscc) not found: skipping the setup.exe (https://jrsoftware.org/isdl.php)")
        return outputs
    iss = PACKAGING / "windows" / "holdtype.iss"
    cmd = [
        iscc,
        f"/DAppVersion={ver}",
        f"/DBuildDir={folder}",
        f"/DOutputDir={dist}",
        f"/DIconFile={ROOT / 'build' / 'holdtype' / 'icons' / 'holdtype.ico'}",
        str(iss),
    ]
    say("running " + " ".join(cmd))
    if subprocess.run(cmd, check=False).returncode != 0:
        raise SystemExit("holdtype build: iscc failed")
    outputs.append(dist / f"holdtype-{ver}-setup.exe")
    return outputs


# --- macOS ----------------------------------------------------------------------------------------


def package_macos(dist: Path, ver: str) -> list[Path]:
    """The .app zipped with ditto (keeps symlinks and signatures), and a .dmg via hdiutil."""
    app = dist / "Holdtype.app"
    if not app.is_dir():
        raise SystemExit(f"holdtype build: {app} is missing (BUNDLE in holdtype.spec did not run?)")
    stem = f"holdtype-{ver}-macos-{arch()}"
    archive = dist / f"{stem}.zip"
    say(f"writing {archive}")
    archive.unlink(missing_ok=True)
    subprocess.run(
        ["ditto", "-c", "-k", "--sequesterRsrc", "--keepParent", str(app), str(archive)], check=True
    )
    outputs = [archive]
    if not shutil.which("hdiutil"):
        say("hdiutil not found: skipping the .dmg")
        return outputs
    dmg = dist / f"{stem}.dmg"
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "Holdtype"
        stage.mkdir()
        subprocess.run(["ditto", str(app), str(stage / "Holdtype.app")], check=True)
        (stage / "Applications").symlink_to("/Applications")
        say(f"writing {dmg}")
        subprocess.run(
            ["hdiutil", "create", "-volname", "Holdtype", "-srcfolder", str(stage), "-ov",
             "-format", "UDZO", str(dmg)],
            check=True,
        )  # fmt: skip
    outputs.append(dmg)
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    parser.add_argument("--skip-build", action="store_true", help="only wrap an existing dist/holdtype")
    parser.add_argument("--no-smoke", action="store_true", help="do not run the frozen binary")
    parser.add_argument("--no-archive", action="store_true", help="stop after PyInstaller")
    args = parser.parse_args(argv)

    ver = version()
    dist, work = ROOT / "dist", ROOT / "build"  # PyInstaller adds /holdtype to the work path
    if not args.skip_build:
        check_environment()
        ensure_pyinstaller()
        elapsed = run_pyinstaller(dist, work, args.clean)
        say(f"PyInstaller took {elapsed:.0f} s")
    folder = dist / "holdtype"
    if not folder.is_dir():
        raise SystemExit(f"holdtype build: {folder} is missing; build first")
    say(f"{folder} is {mib(folder_size(folder))}")
    if not args.no_smoke:
        smoke_test(frozen_binary(dist), ver)
    if args.no_archive:
        return 0
    if sys.platform.startswith("linux"):
        outputs = package_linux(dist, ver)
    elif sys.platform == "win32":
        outputs = package_windows(dist, ver)
    elif sys.platform == "darwin":
        outputs = package_macos(dist, ver)
    else:
        say(f"no installer format for {sys.platform}; the folder {folder} is the build")
        outputs = []
    for path in outputs:
        say(f"wrote {path} ({mib(path.stat().st_size)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
