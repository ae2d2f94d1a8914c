"""Where Holdtype keeps its files: the one place that decides user paths.

``platformdirs`` gives the platform's config, data and cache folders for "holdtype". Setting
``HOLDTYPE_HOME=/some/dir`` puts all three under that folder (``config/``, ``data/``, ``cache/``),
which is what tests and portable installs use. Nothing is ever written to the package folder or
the current directory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import platformdirs

from app.errors import HoldtypeError

APP_NAME = "holdtype"
HOME_ENV = "HOLDTYPE_HOME"
#: The llm library's variable for its folder (keys, aliases, models): see :func:`llm_user_dir`.
LLM_HOME_ENV = "LLM_USER_PATH"


@dataclass(frozen=True, slots=True)
class Paths:
    """The three folders Holdtype writes to."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def config_file(self) -> Path:
        """The TOML settings file."""
        return self.config_dir / "config.toml"

    @property
    def history_db(self) -> Path:
        """The SQLite history database."""
        return self.data_dir / "history.sqlite3"

    @property
    def spool_dir(self) -> Path:
        """Folder of in-progress recordings, kept until they are transcribed."""
        return self.data_dir / "spool"

    @property
    def audio_dir(self) -> Path:
        """Folder of recordings the user chose to keep."""
        return self.data_dir / "audio"

    @property
    def models_dir(self) -> Path:
        """Folder of downloaded speech models."""
        return self.cache_dir / "models"

    @property
    def llm_cache_dir(self) -> Path:
        """Folder of the diskcache that stores LLM replies."""
        return self.cache_dir / "llm"

    @property
    def modes_dir(self) -> Path:
        """Folder of the user's own LLM modes (one TOML file each)."""
        return self.config_dir / "modes"

    @property
    def log_file(self) -> Path:
        """The application log."""
        return self.data_dir / "holdtype.log"


def get_paths() -> Paths:
    """Return Holdtype's folders, honouring ``HOLDTYPE_HOME`` when it is set."""
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().resolve()
        return Paths(root / "config", root / "data", root / "cache")
    return Paths(
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )


def check_export_target(path: Path) -> None:
    """Refuse to export to ``path`` when it lies in one of Holdtype's own folders: named there,
    an export would overwrite the settings or the history database it was made from (they were
    then moved aside as broken on the next start). The same goes for one of Holdtype's files
    under another name: the dotfiles file the settings link to, a hard link of the history.
    Paths are compared by name, resolved, and by identity (device and inode), which also
    catches a differently cased name on a case-insensitive filesystem and a bind mount.

    Raises :class:`app.errors.HoldtypeError` naming the folder or file.
    """
    # Both as named and as resolved: the settings file may be a symlink into a dotfiles
    # repository, which resolves outside the folder but is still Holdtype's.
    named = Path(os.path.abspath(path.expanduser()))
    targets = {named, path.expanduser().resolve()}
    paths = get_paths()
    llm_folder = llm_user_dir()
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, llm_folder):
        folders = {Path(os.path.abspath(folder)), folder.resolve()}
        if any(t == f or f in t.parents for t in targets for f in folders) or _inside_by_identity(
            named, folder
        ):
            if folder == llm_folder:  # (its keys.json, written over, lost every API key)
                raise HoldtypeError(
                    f"{path} is in the llm library's folder {folder}, where it could overwrite its "
                    "key store or settings; write to a file elsewhere"
                )
            raise HoldtypeError(
                f"{path} is in Holdtype's own folder {folder}, where it could overwrite Holdtype's "
                "files; write to a file elsewhere"
            )
    twin = _same_file_in(named, paths.config_dir, paths.data_dir)
    if twin is not None:
        raise HoldtypeError(
            f"{path} is the same file as Holdtype's {twin}, which an export there would "
            "overwrite; write to a file elsewhere"
        )


def llm_user_dir() -> Path:
    """The llm library's folder (its key store ``keys.json``, aliases, models): ``LLM_USER_PATH``,
    else llm's app folder, found as ``llm.user_dir()`` finds it without importing llm (a
    quarter of a second)."""
    folder = os.environ.get(LLM_HOME_ENV)
    if not folder:
        import click

        folder = click.get_app_dir("io.datasette.llm")
    return Path(folder)


def llm_keys_file() -> Path:
    """llm's key store, ``keys.json`` in :func:`llm_user_dir`, present or not."""
    return llm_user_dir() / "keys.json"


def open_export(path: Path) -> IO[str]:
    """Open ``path`` to write an export of the user's words (history, an eval's transcripts):
    refused in Holdtype's own folders (:func:`check_export_target`); truncated, and mode 0600
    also when it was there before with another mode (the old mode would open it to others).
    """
    check_export_target(path)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    if hasattr(os, "fchmod"):  # not on Windows, where modes do not apply
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def _identity(path: Path) -> tuple[int, int] | None:
    """The (device, inode) of ``path``, following links; None when it cannot be read."""
    try:
        info = path.stat()
    except (OSError, ValueError):
        return None
    return (info.st_dev, info.st_ino)


def _inside_by_identity(target: Path, folder: Path) -> bool:
    """Whether ``target`` or a folder above it is ``folder`` by identity rather than by name:
    on a case-insensitive filesystem (macOS, Windows) ``~/Library/Application
    Support/HOLDTYPE`` is Holdtype's folder under another spelling, and a bind mount shows a
    folder at a second place. Only the parts that exist can be compared."""
    own = _identity(folder)
    if own is None:
        return False
    return any(_identity(part) == own for part in (target, *target.parents))


def _same_file_in(target: Path, config_dir: Path, data_dir: Path) -> Path | None:
    """The file of Holdtype's that ``target`` is under another name, if any: the file a
    settings symlink points to (a dotfiles repository), or a hard link of the history.

    Exports rewrite their file in place, so writing there rewrites Holdtype's own file. The
    config folder (settings, modes: a few files) is always looked through; the data folder
    (history, log, kept recordings) only when the target has several hard links, which is rare.
    """
    try:
        info = target.stat()
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    key = (info.st_dev, info.st_ino)
    folders = [config_dir] + ([data_dir] if info.st_nlink > 1 else [])
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in files:
                candidate = Path(root) / name
                if _identity(candidate) == key:
                    return candidate
    return None


def ensure_dir(path: Path, private: bool = False) -> Path:
    """Create ``path`` (and parents) if needed; ``private`` makes it readable by the user only.

    A private folder's missing parents are made 0700 too, whatever the umask: the spool
    (``data/spool``) used to create ``data/``, where the history and the log live, 0775 under
    umask 0002. Parents that exist already are left as they are, and so is a shared sticky
    folder such as ``/tmp`` given as ``path`` (a history database put there, say).
    """
    if private:
        for folder in reversed([path, *path.parents]):
            if not folder.is_dir():
                with contextlib.suppress(FileExistsError):  # made meanwhile by another process
                    folder.mkdir(mode=0o700)
        with contextlib.suppress(OSError):  # e.g. a filesystem without permissions
            if not path.stat().st_mode & stat.S_ISVTX:
                path.chmod(0o700)
            # else a shared folder such as /tmp (sticky, open to all): made 0700, it would lock
            # every other user and service out of it
        return path
    path.mkdir(parents=True, exist_ok=True)
    return path


def runtime_dir() -> Path:
    """This user's folder for Holdtype's run-time files (locks, sockets), shared by all its
    homes: ``holdtype-<uid>`` in ``XDG_RUNTIME_DIR`` (the session's private folder), else in
    the temporary folder, which is shared with other users there. Not made here: see
    :func:`private_runtime_dir`."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    if hasattr(os, "getuid"):
        user = str(os.getuid())
    else:  # Windows: the temporary folder is the user's own already
        import getpass

        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "user"
    return Path(base) / f"holdtype-{user}"


def private_runtime_dir() -> Path:
    """:func:`runtime_dir`, made 0700 if missing, and checked to be the user's own and closed
    to others: in a shared temporary folder another user could have made it first, to read
    or block what is put there.

    Raises :class:`app.errors.HoldtypeError` when it is not, and OSError when it cannot be made.
    """
    folder = ensure_dir(runtime_dir(), private=True)
    if not hasattr(os, "getuid"):  # Windows: no owners or modes to check this way
        return folder
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise HoldtypeError(f"{folder} is not a folder but a link or a file: not using it")
    if info.st_uid != os.getuid():
        raise HoldtypeError(f"{folder} belongs to another user: not using it")
    if info.st_mode & 0o077:
        raise HoldtypeError(f"{folder} is open to other users (mode {info.st_mode & 0o777:o}): not using it")
    return folder


def private_file(path: Path) -> Path:
    """Create ``path`` empty and mode 0600 if it is missing, else make it 0600 (left as it is on a
    filesystem without permissions). For SQLite databases that hold what the user said: SQLite
    creates a database 0644, and its -wal and -shm files take the database's mode."""
    with contextlib.suppress(FileExistsError):  # there already, or made meanwhile
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    with contextlib.suppress(OSError):
        path.chmod(0o600)
    return path


def move_aside(path: Path, tag: str) -> Path:
    """Rename ``path`` (a file or folder that cannot be read) to ``<name>.<tag>-<time>`` beside
    it, never over an earlier one, and return the new path; the caller starts afresh."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{tag}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{tag}-{stamp}-{n}")
    path.rename(target)
    return target


def lock_held(exc: OSError) -> bool:
    """Whether a failed non-blocking file lock means another process holds it, rather than that
    this filesystem has no locks (an NFS mount without a lock daemon: ENOLCK)."""
    return isinstance(exc, BlockingIOError) or exc.errno in {errno.EACCES, errno.EAGAIN, errno.EDEADLK}


def lock_within(
    handle: IO[str], wait_s: float, poll_s: float = 0.1, waiting: Callable[[], None] | None = None
) -> bool | None:
    """Take ``handle``'s exclusive lock (see :func:`try_lock`), waiting up to ``wait_s`` for the
    process that holds it: True once taken, False when it is still held at the deadline, None
    when this filesystem has no locks (the caller goes on unguarded). ``waiting`` is called
    once, as soon as the lock is found taken."""
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            try_lock(handle)
            return True
        except OSError as exc:
            if not lock_held(exc):
                return None
        if time.monotonic() >= deadline:
            return False
        if waiting is not None and not told:
            waiting()
            told = True
        time.sleep(poll_s)


def open_lock_file(path: Path) -> IO[str]:
    """The lock file ``path`` opened to read and write (made, mode 0600, if missing), for
    :func:`lock_within` to lock and its holder to say who it is in."""
    return os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+", encoding="utf-8")


def try_lock(handle: IO[str]) -> None:
    """Lock ``handle``'s file exclusively without waiting; OSError when another process holds
    it (see :func:`lock_held`). The lock goes with the handle: closed, or its process ended."""
    if sys.platform != "win32":
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    import msvcrt  # Windows: lock the first byte, past the end of an empty file

    handle.seek(0)
    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)


#: How long a file replace that Windows refuses is tried again (s): see :func:`replace_file`.
REPLACE_RETRY_S = 1.0


def replace_file(src: str | Path, dst: str | Path, retry_s: float | None = None) -> None:
    """``os.replace(src, dst)`` (the rename that ends an atomic write), tried again for up to
    ``retry_s`` seconds while it raises PermissionError; then that error is raised.

    On Windows a file cannot be replaced while another program has it open without sharing
    its deletion (an editor, the search indexer, an antivirus scan), which lasts a moment: so
    ``retry_s`` is :data:`REPLACE_RETRY_S` there by default, and 0 elsewhere, where a
    PermissionError is a real lack of permission and a retry would only wait.
    """
    if retry_s is None:
        retry_s = REPLACE_RETRY_S if sys.platform == "win32" else 0.0
    deadline = time.monotonic() + retry_s
    delay = 0.02
    while True:
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.2)


#: OpenProcess's right to ask for a process's exit code, and the code of one still running.
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_STILL_ACTIVE = 259


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (this one included).

    Not ``os.kill(pid, 0)`` on Windows: there signal 0 is ``CTRL_C_EVENT``, sent to the
    process group of the console, and a liveness check interrupted Holdtype itself. Windows
    asks the process for its exit code instead (one it may not open, another user's or a
    protected one, exists). Elsewhere, signal 0 checks without sending anything.
    """
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - not run on Linux
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
        kernel32.OpenProcess.restype = wintypes.HANDLE
        kernel32.GetExitCodeProcess.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
        kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
        handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists, not ours to open
        try:
            code = wintypes.DWORD()
            return (
                bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == _STILL_ACTIVE
            )
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def resources_dir() -> Path:
    """Return the folder of bundled resources (icons, sounds, default prompts)."""
    here = Path(__file__).resolve().parent
    bundle = getattr(sys, "_MEIPASS", None)  # frozen (PyInstaller): packaging/holdtype.spec puts it there
    for candidate in (
        *([Path(bundle) / "resources"] if bundle else []),
        here.parent / "resources",  # source checkout or editable install
        here / "resources",  # a package that carries its own resources
    ):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"Holdtype's resources folder is missing (looked beside {here})")


def frozen() -> bool:
    """Whether this is a packaged Holdtype (a PyInstaller bundle), not Python running the app."""
    return bool(getattr(sys, "frozen", False))


def holdtype_command() -> list[str]:
    """The command line that runs this Holdtype's CLI in a new process (add the arguments).

    From source, ``python -m app``. A frozen bundle (PyInstaller) is its own executable and takes
    no ``-m``; on Windows the tray runs as ``holdtype-tray.exe``, which has no console streams,
    so the console launcher beside it is the one that prints.
    """
    if not frozen():
        return [sys.executable, "-m", "app"]
    exe = Path(sys.executable)
    console = exe.with_name("holdtype.exe")
    if sys.platform == "win32" and console.is_file():
        return [str(console)]
    return [str(exe)]
