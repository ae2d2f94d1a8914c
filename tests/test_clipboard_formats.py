"""The old clipboard comes back whole after a paste: its HTML, a file manager's file list and
a picture beside its text, served by ``holdtype _keep-clipboard`` (real Xvfb, a real Qt
program owning the clipboard, xclip reading it back), and data bigger than one X request
goes in pieces (INCR)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.config import PasteSettings
from app.insert.clipboard import X11Clipboard, other_formats
from app.insert.x11 import X11Inserter
from app.insert.x11_selection import SelectionOwner
from tests.fixtures.display import TargetWindow, XClipboard, XDisplay
from tests.fixtures.waiting import wait_for

# A Qt program that owns the clipboard with the formats named on its command line (each
# NAME=FILE), and text/plain from the last argument, until its standard input closes.
QT_OWNER = """
import sys
from PySide6.QtCore import QByteArray, QMimeData, QSocketNotifier
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
mime = QMimeData()
for pair in sys.argv[1:-1]:
    name, path = pair.split("=", 1)
    mime.setData(name, QByteArray(open(path, "rb").read()))
mime.setText(sys.argv[-1])
QGuiApplication.clipboard().setMimeData(mime)
stdin = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
stdin.activated.connect(app.quit)
print("owned", flush=True)
app.exec()
"""


def _xclip_out(xd: XDisplay, target: str) -> bytes | None:
    out = subprocess.run(
        ["xclip", "-selection", "clipboard", "-o", "-t", target], env=xd.env, capture_output=True, timeout=20
    )
    return out.stdout if out.returncode == 0 else None


def _targets(xd: XDisplay) -> list[str]:
    return (_xclip_out(xd, "TARGETS") or b"").decode().split()


def _keepers() -> list[int]:
    """Pids of running ``holdtype _keep-clipboard`` processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"_keep-clipboard" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture
def qt_owner(x_env: XDisplay, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``own(text, {format: bytes})``: a real Qt program owns the clipboard with them."""
    procs: list[subprocess.Popen[str]] = []

    def own(text: str, formats: dict[str, bytes]) -> subprocess.Popen[str]:
        args = []
        for i, (name, data) in enumerate(formats.items()):
            path = tmp_path / f"format-{i}"
            path.write_bytes(data)
            args.append(f"{name}={path}")
        env = {**x_env.env, "QT_QPA_PLATFORM": "xcb"}
        proc = subprocess.Popen(
            [sys.executable, "-c", QT_OWNER, *args, text],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "owned"
        wait_for(lambda: set(formats) <= set(_targets(x_env)), timeout=20, what="the Qt program's formats")
        return proc

    yield own
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_other_formats_keeps_mime_types_but_plain_text_and_x_resources() -> None:
    offered = ["TARGETS", "MULTIPLE", "PIXMAP", "text/plain", "text/plain;charset=utf-8", "text/html"]
    assert other_formats(offered) == ["text/html"]
    assert len(other_formats([f"application/x-{i}" for i in range(40)])) == 16


def test_html_files_and_a_big_picture_come_back_with_the_text(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow, qt_owner
) -> None:
    """What a browser (HTML and text), a file manager (a file list) and a screenshot tool (a
    picture of a few MB) leave on the clipboard: each was put back as plain text only, or lost."""
    picture = os.urandom(3 * 1024 * 1024)  # bytes only: the keeper never decodes them
    formats = {
        "text/html": b"<b>bold</b> and <i>italic</i> caf\xc3\xa9",
        "x-special/gnome-copied-files": b"copy\nfile:///home/user/report.pdf",
        "text/uri-list": b"file:///home/user/report.pdf\r\n",
        "image/png": picture,
    }
    owner = qt_owner("bold and italic café", formats)
    keepers_before = set(_keepers())
    result = X11Inserter(PasteSettings(trailing_space=False, restore_delay_ms=50)).insert("Dictated words.")
    assert result.ok, result.error
    target_window.wait_for_text("Dictated words.")
    owner.kill()  # the Qt program lost the clipboard to the paste: what answers now is the keeper
    owner.wait()
    assert clipboard.get() == "bold and italic café"
    offered = _targets(x_env)
    for name, data in formats.items():
        assert name in offered
        assert _xclip_out(x_env, name) == data, name
    keepers = set(_keepers()) - keepers_before
    assert len(keepers) == 1  # one process keeps it, outside Holdtype
    clipboard.set("copied next")  # another program takes the clipboard: the keeper leaves
    wait_for(lambda: not (set(_keepers()) & keepers), timeout=20, what="the keeper to exit")


def test_a_second_paste_reads_the_kept_clipboard_and_keeps_it_again(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow, qt_owner
) -> None:
    qt_owner("plain", {"text/html": b"<p>rich</p>"})
    inserter = X11Inserter(PasteSettings(trailing_space=False, restore_delay_ms=50))
    assert inserter.insert("one ").ok
    target_window.wait_for_text("one ")
    assert inserter.insert("two").ok
    target_window.wait_for_text("one two")
    assert clipboard.get() == "plain"
    assert _xclip_out(x_env, "text/html") == b"<p>rich</p>"
    wait_for(lambda: len(_keepers()) <= 1, timeout=20, what="the first keeper to leave")


def test_text_bigger_than_an_x_request_is_served_in_pieces(x_env: XDisplay, clipboard: XClipboard) -> None:
    """python-xlib refuses a property over about 256 KB: a long text failed to paste at all."""
    text = "".join(f"line {i} of a long dictation, ünïcode ✓\n" for i in range(20000))
    assert len(text.encode()) > 3 * 256 * 1024  # three times what python-xlib takes in one request
    owner = SelectionOwner(text)
    try:
        read = X11Clipboard().get()
        assert read == text
        assert owner.requests >= 2  # TARGETS, then the text
    finally:
        owner.close()


def test_the_keeper_refuses_a_cut_short_clipboard(x_env: XDisplay) -> None:
    header = b'{"selection": "CLIPBOARD", "text": "a", "formats": [["text/html", 100]]}\n'
    out = subprocess.run(
        [sys.executable, "-m", "app", "_keep-clipboard"],
        input=header + b"<p>only part",
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert b"text/html was cut short (12 of 100 bytes)" in out.stdout


# A program that owns the clipboard offering what its argument says (JSON: a format's name ->
# {"data": its text (a lone surrogate "\udce9" is the byte 0xe9), "delay": seconds to take over
# it, "answer": false never to answer for it}), until the clipboard is taken from it; it says
# "owned" once it owns it.
X_OWNER = """
import json, sys, time
from Xlib import X, Xatom, display
from Xlib.protocol import event
offers = json.loads(sys.argv[1])
d = display.Display()
w = d.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
clipboard, targets = d.intern_atom("CLIPBOARD"), d.intern_atom("TARGETS")
atoms = {d.intern_atom(name): spec for name, spec in offers.items()}
w.set_selection_owner(clipboard, X.CurrentTime)
d.sync()
print("owned", flush=True)
while True:
    e = d.next_event()
    if e.type == X.SelectionClear:
        break
    if e.type != X.SelectionRequest:
        continue
    prop = e.property or e.target
    spec = atoms.get(e.target)
    if e.target == targets:
        e.requestor.change_property(prop, Xatom.ATOM, 32, [targets, *atoms])
    elif spec is not None and not spec.get("answer", True):
        continue
    elif spec is not None:
        time.sleep(spec.get("delay", 0.0))
        e.requestor.change_property(prop, e.target, 8, spec["data"].encode("utf-8", "surrogateescape"))
    else:
        prop = X.NONE
    notify = event.SelectionNotify(
        time=e.time, requestor=e.requestor, selection=e.selection, target=e.target, property=prop
    )
    e.requestor.send_event(notify, event_mask=0)
    d.flush()
"""


@pytest.fixture
def x_owner(x_env: XDisplay) -> Iterator[Callable[[dict[str, dict[str, object]]], subprocess.Popen[str]]]:
    """``own(offers)``: a program owns the clipboard with ``offers`` (see :data:`X_OWNER`)."""
    procs: list[subprocess.Popen[str]] = []

    def own(offers: dict[str, dict[str, object]]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", X_OWNER, json.dumps(offers)],
            env=x_env.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "owned"
        return proc

    yield own
    for proc in procs:
        proc.kill()
        proc.wait()


def test_text_offered_only_as_text_plain_comes_back(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow, x_owner
) -> None:
    """Only UTF8_STRING (then xclip's default, STRING) was asked for: text offered as
    text/plain alone read as no text, and the paste left the clipboard empty."""
    x_owner({"text/plain;charset=utf-8": {"data": "copied café"}})  # (as some toolkits offer it)
    assert X11Clipboard().get() == "copied café"
    result = X11Inserter(PasteSettings(trailing_space=False, restore_delay_ms=50)).insert("Dictated.")
    assert result.ok, result.error
    target_window.wait_for_text("Dictated.")
    wait_for(lambda: clipboard.get() == "copied café", timeout=20, what="the old clipboard back")


def test_text_that_is_not_utf8_comes_back_byte_for_byte(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow, x_owner
) -> None:
    """An old program's Latin-1 offered as UTF-8 ("café" as caf + 0xe9) came back with U+FFFD
    in place of the é after a paste: read with "replace", written back as UTF-8."""
    x_owner({"UTF8_STRING": {"data": "caf\udce9 au lait"}})
    assert _xclip_out(x_env, "UTF8_STRING") == b"caf\xe9 au lait"
    result = X11Inserter(PasteSettings(trailing_space=False, restore_delay_ms=50)).insert("Dictated.")
    assert result.ok, result.error
    target_window.wait_for_text("Dictated.")
    wait_for(
        lambda: _xclip_out(x_env, "UTF8_STRING") == b"caf\xe9 au lait",
        timeout=20,
        what="the old clipboard's bytes back",
    )


PICTURE = "\x89PNG\r\n\x1a\n picture"  # (sent as its UTF-8 bytes)


def test_a_picture_that_cannot_be_put_back_is_not_pasted_over(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow, x_owner
) -> None:
    """A picture given too slowly (a paint program rendering it on request) or too big to be
    kept was lost to the paste: the clipboard was left empty. A short dictation is typed
    instead, and the picture's owner keeps it."""
    owner = x_owner({"image/png": {"data": PICTURE, "delay": 3.0}})
    result = X11Inserter(PasteSettings(trailing_space=False, restore_delay_ms=50)).insert("Short words.")
    assert result.ok and result.method == "type", result
    target_window.wait_for_text("Short words.")
    assert owner.poll() is None  # still there, still the owner: it never lost the clipboard
    assert "image/png" in _targets(x_env)


def test_a_picture_kept_in_one_format_is_pasted_over_and_put_back(
    x_env: XDisplay, clipboard: XClipboard, target_window: TargetWindow, x_owner
) -> None:
    """A format never given is no loss when the picture was kept in another (a browser offers
    conversions it makes on demand): the dictation is pasted, not typed, and the picture
    comes back."""
    x_owner({"image/png": {"data": PICTURE}, "image/bmp": {"answer": False}})
    result = X11Inserter(PasteSettings(trailing_space=False, restore_delay_ms=50)).insert("Pasted words.")
    assert result.ok and result.method == "paste", result
    target_window.wait_for_text("Pasted words.")
    assert _xclip_out(x_env, "image/png") == PICTURE.encode("utf-8")
