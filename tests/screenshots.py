"""Screenshots of the real tray app under Xvfb, for README (a script, not a test).

Usage::

    .venv/bin/python tests/screenshots.py [OUT_DIR]     # default: resources/screenshots/

It starts a private Xvfb with openbox and trayer (a real system tray) and, when PulseAudio is
installed, a private sound server whose virtual microphone the engine arms; then it runs Holdtype's
tray app with the real engine (hotkeys off; a throwaway HOLDTYPE_HOME with a few terms, rules and
history entries) and saves: the welcome, the tray menu, the recording pill and every settings tab.
The pill is driven through the engine bridge with a representative level and partial text, since
nobody speaks into the virtual microphone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_x() -> tuple[list[subprocess.Popen[bytes]], str]:
    """Start Xvfb (free display number), openbox and trayer; return the processes and DISPLAY."""
    for tool in ("Xvfb", "openbox", "trayer"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: sudo apt-get install xvfb openbox trayer")
    from tests.fixtures.display import _start_xvfb  # the test fixtures' Xvfb start-up

    xvfb, display = _start_xvfb()
    env = {**os.environ, "DISPLAY": display}
    env.pop("WAYLAND_DISPLAY", None)
    wm = subprocess.Popen(["openbox", "--sm-disable"], env=env, stderr=subprocess.DEVNULL)
    tray = subprocess.Popen(
        ["trayer", "--edge", "bottom", "--align", "right", "--widthtype", "pixel", "--width", "100",
         "--height", "24", "--SetDockType", "true", "--tint", "0x2b2f33", "--transparent", "true",
         "--alpha", "0"],
        env=env,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return [tray, wm, xvfb], display


def pump_until(app: object, condition: Callable[[], object], timeout: float, what: str) -> None:
    """Run the Qt event loop until ``condition()`` is true (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)


def settle(app: object, seconds: float = 0.4) -> None:
    """Let Qt paint for a moment (window managers map windows asynchronously)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)


def seed(home: Path) -> None:
    """A settings file with some vocabulary and rules, and a little history."""
    from app.config import Rule, Settings, save_settings
    from app.events import Outcome
    from app.history.store import HistoryEntry, HistoryStore
    from app.paths import get_paths

    settings = Settings()
    settings.vocabulary.terms = ["scikit-learn", "PyPI", "Kubernetes", "Talk Python To Me"]
    settings.rules = [Rule(find="new paragraph", replace="\n\n"), Rule(find="smiley", replace=":)")]
    settings.modes.apps = {"thunderbird": "email", "Slack": "message"}
    save_settings(settings, get_paths().config_file)
    store = HistoryStore()
    now = time.time()
    for i, (text, app, mode) in enumerate(
        [
            ("Let's ship the release on Thursday after the tests pass.", "Slack", "message"),
            ("Install scikit-learn from PyPI and pin the version.", "kitty", "raw"),
            ("Hi Ann, could we move our call to Friday at ten? Thanks, Sam", "thunderbird", "email"),
        ]
    ):
        store.add(
            HistoryEntry(
                outcome=Outcome.PASTED, text=text, raw=text, mode=mode, app=app, created=now - 600 * i
            )
        )
    store.close()


def main(argv: list[str]) -> int:
    """Make every screenshot; return 0."""
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "resources" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="holdtype-shots-"))
    os.environ["HOLDTYPE_HOME"] = str(home)
    os.environ["LLM_USER_PATH"] = str(home / "llm")
    (home / "llm").mkdir()
    procs, display = start_x()
    pulse = None
    if shutil.which("pulseaudio"):
        from tests.fixtures.pulse import start_pulse  # a private sound server with a virtual mic

        pulse = start_pulse()
        os.environ.update(pulse.client_env)
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ.pop("WAYLAND_DISPLAY", None)
    try:
        return shoot(out, home)
    finally:
        if pulse is not None:
            pulse.stop()
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


def shoot(out: Path, home: Path) -> int:
    """Run the app and save the pictures into ``out``."""
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    from app.config import load_settings
    from app.events import LevelChanged, PartialText, State, StateChanged
    from app.ui.app import HoldtypeApp

    app = QApplication(["holdtype"])
    app.setApplicationName("Holdtype")
    app.setQuitOnLastWindowClosed(False)
    pump_until(app, QSystemTrayIcon.isSystemTrayAvailable, 20, "trayer")
    seed(home)
    loaded = load_settings()
    ui = HoldtypeApp(loaded.settings, config_path=loaded.path, enable_hotkeys=False)
    started = time.monotonic()
    ui.start()
    pump_until(app, lambda: ui.ready_event is not None, 180, "the engine to be ready")
    print(f"ready in {time.monotonic() - started:.1f} s")
    screen = app.primaryScreen()

    def save(name: str, pixmap: object) -> None:
        path = out / f"{name}.png"
        if not pixmap.save(str(path)):  # type: ignore[attr-defined]
            raise SystemExit(f"could not write {path}")
        print(f"wrote {path}")

    if ui.welcome is not None:
        settle(app)
        save("welcome", ui.welcome.grab())
        ui.welcome.close()

    # tray menu, opened above the tray (trayer sits in the bottom-right corner; Qt's XEmbed icon
    # reports its geometry relative to the tray window, so place the menu from the screen edge)
    pump_until(app, lambda: not ui.tray.icon.geometry().isEmpty(), 10, "the tray icon to get a place")
    area = screen.geometry()
    tray_strip = QRect(area.right() - 130, area.bottom() - 30, 131, 31)
    ui.tray.menu.popup(QPoint(area.right() - 8, area.bottom() - 26))
    settle(app, 0.6)
    menu_rect = ui.tray.menu.geometry().united(tray_strip).adjusted(-12, -12, 0, 0)
    full = screen.grabWindow(0)
    save("tray-menu", full.copy(menu_rect.intersected(QRect(0, 0, full.width(), full.height()))))
    ui.tray.menu.hide()

    # the recording pill, over a dark strip of desktop
    bridge = ui.bridge
    bridge.deliver(StateChanged(State.RECORDING, 9001))
    for level in (0.02, 0.06, 0.12, 0.08, 0.15, 0.1, 0.05, 0.11, 0.14, 0.09, 0.07, 0.13):
        bridge.deliver(LevelChanged(level, level * 3))
    bridge.deliver(PartialText(9001, "Let's ship the release on Thursday", " after the"))
    pump_until(app, ui.overlay.isVisible, 5, "the overlay")
    settle(app, 1.3)
    rect = ui.overlay.geometry().adjusted(-16, -16, 16, 16)
    save("overlay", screen.grabWindow(0).copy(rect))
    bridge.deliver(StateChanged(State.TRANSCRIBING, 9001))
    settle(app, 0.3)
    save("overlay-transcribing", screen.grabWindow(0).copy(rect))
    bridge.deliver(StateChanged(State.IDLE, 9001))

    # every settings tab
    window = ui.open_settings("general")
    window.resize(820, 600)
    window.pages["vocabulary"].try_input.setText("I installed psychic learn from pie pea eye smiley")
    for key in window.pages:
        window.show_tab(key)
        settle(app, 0.8 if key in ("llm", "audio") else 0.3)
        save(f"settings-{key}", window.grab())
    ui.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
