"""``holdtype history …`` run as a real subprocess."""

from __future__ import annotations

import json
import os
import sys
import time
import wave
from pathlib import Path

import pytest

from app.events import Outcome
from app.history.store import HistoryEntry, HistoryStore
from app.paths import get_paths
from tests.cli import ROOT, holdtype
from tests.fixtures.display import XClipboard, XDisplay


@pytest.fixture
def filled(holdtype_home: Path) -> list[int]:
    now = time.time()
    with HistoryStore() as store:
        return [
            store.add(
                HistoryEntry(
                    outcome=Outcome.PASTED,
                    text="Install scikit-learn today.",
                    raw="install psychic learn today",
                    model="tiny.en",
                    mode="raw",
                    audio_seconds=2.5,
                    created=now - 60,
                )
            ),
            store.add(
                HistoryEntry(
                    outcome=Outcome.FAILED,
                    text="Second thought.",
                    raw="second thought",
                    error="xdotool key failed",
                    created=now - 30,
                )
            ),
            store.add(HistoryEntry(outcome=Outcome.CANCELLED, text="", raw="", created=now)),
        ]


def test_list_plain_and_json(filled: list[int]) -> None:
    out = holdtype("history", "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 3
    assert "cancelled" in lines[0] and "scikit-learn" in lines[2]

    out = holdtype("history", "list", "--json", "--limit", "2")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == [filled[2], filled[1]]
    assert rows[1]["outcome"] == "failed" and rows[1]["error"] == "xdotool key failed"
    assert {"id", "created", "text", "raw", "outcome", "mode", "model", "audio_seconds", "error"} <= set(
        rows[0]
    )


def test_list_empty_history() -> None:
    out = holdtype("history", "list", "--json")
    assert out.returncode == 0 and out.stdout == "" and out.stderr == ""  # JSON: nothing at all
    out = holdtype("history", "list")
    assert out.returncode == 0 and out.stdout == ""
    assert "No dictations yet" in out.stderr  # a person is told why the list is empty
    out = holdtype("history", "search", "kubernetes")
    assert out.returncode == 0 and out.stdout == "" and "'kubernetes'" in out.stderr


def test_empty_history_says_when_it_is_turned_off() -> None:
    assert holdtype("config", "set", "history.enabled", "false").returncode == 0
    out = holdtype("history", "list")
    assert out.returncode == 0 and out.stdout == ""
    assert "holdtype config set history.enabled true" in out.stderr


def test_search(filled: list[int]) -> None:
    out = holdtype("history", "search", "PSYCHIC", "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == [filled[0]]
    assert holdtype("history", "search", "no such words").stdout == ""


def test_search_finds_what_list_shows_across_line_breaks(holdtype_home: Path) -> None:
    # `list` shows line breaks and tabs as spaces; searching for the words as shown found
    # nothing, and the help did not say that what was heard (raw) is searched too.
    with HistoryStore() as store:
        lines = store.add(HistoryEntry(Outcome.PASTED, text="Line one\nLine two\n\n\tLine four", created=1e9))
        heard = store.add(
            HistoryEntry(Outcome.PASTED, text="Kubernetes", raw="cooper\nnet ease", created=2e9)
        )
    shown = holdtype("history", "list").stdout
    assert "Line one Line two Line four" in shown, shown
    found = holdtype("history", "search", "LINE TWO Line four", "--json")
    assert [json.loads(line)["id"] for line in found.stdout.splitlines()] == [lines], found
    assert holdtype("history", "search", "two\tline").stdout.split()[0] == str(lines)
    assert [
        json.loads(r)["id"] for r in holdtype("history", "search", "cooper net", "--json").stdout.splitlines()
    ] == [heard]
    assert holdtype("history", "search", "Line  five").stdout == ""
    assert "text or what was heard" in holdtype("history", "search", "--help").stdout


def test_list_and_search_say_when_the_limit_left_entries_out(holdtype_home: Path) -> None:
    # The default --limit of 20 ended the listing as if it were the whole history.
    with HistoryStore() as store:
        for i in range(25):
            store.add(
                HistoryEntry(Outcome.PASTED, text=f"{'note' if i % 5 else 'memo'} {i}", created=1e9 + i)
            )
    listed = holdtype("history", "list")
    assert len(listed.stdout.splitlines()) == 20
    assert listed.stderr.strip() == "20 of 25 shown; --offset 20 shows the next, --limit N more at once"
    assert holdtype("history", "list", "--limit", "25").stderr == ""  # all of them: nothing to say
    as_json = holdtype("history", "list", "--json")
    assert len(as_json.stdout.splitlines()) == 20 and as_json.stderr == ""  # stdout is for programs
    found = holdtype("history", "search", "NOTE", "-n", "3")
    assert len(found.stdout.splitlines()) == 3
    assert found.stderr.strip() == "3 of 20 shown; --offset 3 shows the next, --limit N more at once"
    assert holdtype("history", "search", "memo").stderr == ""  # 5 found, all shown
    assert holdtype("history", "search", "note", "-n", "3", "--json").stderr == ""


def test_list_and_search_page_with_offset(holdtype_home: Path) -> None:
    # There was no way to see the entries after the first --limit but a larger --limit.
    with HistoryStore() as store:
        ids = [store.add(HistoryEntry(Outcome.PASTED, text=f"note {i}", created=1e9 + i)) for i in range(25)]
    newest_first = ids[::-1]

    def listed(*args: str) -> list[int]:
        done = holdtype("history", *args, "--json")
        assert done.returncode == 0, done.stderr
        return [json.loads(line)["id"] for line in done.stdout.splitlines()]

    assert listed("list", "--offset", "20") == newest_first[20:]
    assert listed("list", "-n", "5", "--offset", "5") == newest_first[5:10]
    assert listed("search", "note", "-n", "4", "--offset", "2") == newest_first[2:6]
    page = holdtype("history", "list", "-n", "10", "--offset", "10")
    assert page.stderr.strip() == "11-20 of 25 shown; --offset 20 shows the next, --limit N more at once"
    past = holdtype("history", "list", "--offset", "30")
    assert (
        past.returncode == 0 and past.stdout == "" and "Nothing after the first 30 (25 in all)" in past.stderr
    )
    assert holdtype("history", "list", "--offset", "-1").returncode == 2


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--json", "-n", "1000"],
        ["list", "-n", "1000"],
        ["search", "words", "-n", "1000"],
        ["export", "-"],
    ],
)
def test_output_piped_to_a_reader_that_stops_early_is_no_error(holdtype_home: Path, args: list[str]) -> None:
    # `holdtype history list --json | head -1` exited 1: a script under `set -o pipefail`
    # failed although the command had done all that was asked of it.
    import subprocess

    with HistoryStore() as store:
        for i in range(1000):  # far more than a pipe holds: the writer meets the closed end
            store.add(HistoryEntry(Outcome.PASTED, text=f"{i} " + "words " * 100, created=1e9 + i))
    command = [sys.executable, "-m", "app", "history", *args]
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.readline()  # what `head -1` takes, then it is gone
    reader.stdout.close()
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err and "Error" not in err, err


def test_show(filled: list[int]) -> None:
    out = holdtype("history", "show", str(filled[0]), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["text"] == "Install scikit-learn today." and data["audio_seconds"] == 2.5
    plain = holdtype("history", "show", str(filled[0]))
    assert "text: Install scikit-learn today." in plain.stdout
    assert "outcome: pasted" in plain.stdout


def test_plain_output_shows_control_characters_instead_of_sending_them() -> None:
    # Stored text went to the terminal raw: ESC sequences cleared the screen or recoloured it,
    # U+202E turned the rest of the line around.
    nasty = "\x1b[2J\x1b[31mred\x1b[0m and \u202eevil"
    with HistoryStore() as store:
        entry_id = store.add(HistoryEntry(outcome=Outcome.PASTED, text=nasty, raw=nasty, error="\x07bell"))
    for args in (["list"], ["search", "red"], ["show", str(entry_id)]):
        out = holdtype("history", *args)
        assert out.returncode == 0, out.stderr
        assert "\x1b" not in out.stdout and "\u202e" not in out.stdout and "\x07" not in out.stdout
        assert "\\x1b[2J\\x1b[31mred\\x1b[0m and \\u202eevil" in out.stdout, out.stdout
    assert json.loads(holdtype("history", "list", "--json").stdout)["text"] == nasty  # exact


def test_show_json_starts_with_a_list_json_row(filled: list[int]) -> None:
    # show --json had `outcome` first and `id` last: a tool reading both had two shapes to know.
    listed = json.loads(holdtype("history", "list", "--json", "--limit", "1").stdout)
    shown = json.loads(holdtype("history", "show", str(listed["id"]), "--json").stdout)
    assert list(shown.items())[: len(listed)] == list(listed.items())
    extra = list(shown)[len(listed) :]  # (then the fields added since, in their order)
    later = ["llm_ms", "release_to_insert_ms"]
    assert extra == ["key_down", "key_up", "text_ready", "inserted", "audio_path", "added", *later]
    assert "history show ID --json" in holdtype("history", "list", "--help").stdout
    for field in listed:  # documented in --help and in README's command table
        assert field in holdtype("history", "list", "--help").stdout.replace("\n", " ")
        assert f"`{field}`" in (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["show", "copy", "delete"])
def test_unknown_id_is_one_line_exit_1(filled: list[int], command: str) -> None:
    out = holdtype("history", command, "424242")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "Error: no history entry with id 424242 (see `holdtype history list`)"
    ]
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("abc", "ids are whole numbers"),
        ("1.5", "ids are whole numbers"),
        ("0", "ids start at 1"),
        ("99999999999999999999", "too large"),
    ],
)
def test_bad_id_is_a_usage_error(entry: str, why: str) -> None:
    out = holdtype("history", "show", "--", entry)  # the last one was an OverflowError from SQLite
    assert out.returncode == 2 and "Traceback" not in out.stderr and "ID" in out.stderr
    # It said "'abc' is not a valid integer range" and "0 is not in the range 1<=x<=9223…".
    assert f"is no entry id: {why} (see `holdtype history list`)" in out.stderr, out.stderr


def test_delete(filled: list[int]) -> None:
    out = holdtype("history", "delete", str(filled[1]))
    assert out.returncode == 0 and f"deleted entry {filled[1]}" in out.stdout
    with HistoryStore() as store:
        assert store.get(filled[1]) is None and store.count() == 2


def test_corrupt_database_warns_and_continues(holdtype_home: Path) -> None:
    db = holdtype_home / "data" / "history.sqlite3"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"garbage" * 1000)
    out = holdtype("history", "list")
    assert out.returncode == 0
    assert "warning:" in out.stderr and "corrupt-" in out.stderr
    assert out.stderr.count("corrupt-") == 1, out.stderr  # said once, not logged as well
    assert list(db.parent.glob("history.sqlite3.corrupt-*"))


def test_doctor_counts_a_damaged_history_set_aside_with_its_side_files_as_one_copy(filled: list[int]) -> None:
    """From a review: the -wal and -shm files set aside with a damaged history were counted as
    copies of their own ("3 damaged copies"), and the fix named the -wal file, which
    `sqlite3 ... .recover` cannot read. One copy, and the fix names the database itself."""
    db = get_paths().history_db
    with open(db, "r+b") as damaged:  # a real history (in WAL mode), its pages overwritten
        damaged.seek(4096)
        damaged.write(b"\xff" * 3000)
    out = holdtype("history", "list")
    assert out.returncode == 0 and "it was moved to" in out.stderr, out.stderr
    aside = sorted(p.name for p in db.parent.glob(f"{db.name}.corrupt-*"))
    (main,) = [name for name in aside if not name.endswith(("-wal", "-shm"))]
    assert len(aside) > 1, aside  # (its side files went with it: what the count mistook)
    doctor = holdtype("doctor")
    (line,) = [line for line in doctor.stdout.splitlines() if "] history:" in line]
    assert f"a damaged copy set aside beside it, {main} " in line, doctor.stdout
    assert f"`sqlite3 {db.parent / main} .recover`" in doctor.stdout, doctor.stdout


def test_copy_puts_text_on_the_clipboard(filled: list[int], display: XDisplay, clipboard: XClipboard) -> None:
    out = holdtype("history", "copy", str(filled[0]), env=display.env)
    assert out.returncode == 0, out.stderr
    assert clipboard.get() == "Install scikit-learn today."


def test_copying_an_entry_without_text_leaves_the_clipboard_as_it_was(
    holdtype_home: Path, display: XDisplay, clipboard: XClipboard
) -> None:
    # "copied entry 8 (0 characters)": the clipboard was emptied.
    with HistoryStore() as store:
        empty = store.add(HistoryEntry(outcome=Outcome.EMPTY, text="", created=time.time()))
    clipboard.set("what the user had copied")
    out = holdtype("history", "copy", str(empty), env=display.env)
    assert out.returncode == 1 and f"history entry {empty} has no text" in out.stderr
    assert clipboard.get() == "what the user had copied"


def test_copy_without_display_is_one_line(filled: list[int]) -> None:
    out = holdtype(
        "history",
        "copy",
        str(filled[0]),
        env={"DISPLAY": "", "XDG_SESSION_TYPE": "x11", "WAYLAND_DISPLAY": ""},
    )
    assert out.returncode == 1
    assert out.stderr.strip() == "Error: DISPLAY is not set (no X session)"


def test_a_limit_past_what_sqlite_counts_lists_everything() -> None:
    # --limit 99999999999999999999 printed an OverflowError traceback.
    for command in (["list"], ["search", "x"]):
        done = holdtype("history", *command, "--limit", "99999999999999999999")
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        for nothing in ("0", "-5"):  # showed one row, silently
            done = holdtype("history", *command, "--limit", nothing)
            assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
            assert "x>=1" in done.stderr, done.stderr


def test_an_offset_past_what_sqlite_counts_lists_nothing_after_the_history() -> None:
    # --offset 99999999999999999999 printed an OverflowError traceback, as --limit once did.
    with HistoryStore() as store:
        store.add(HistoryEntry(Outcome.PASTED, text="the only entry"))
    for command in (["list"], ["search", "only"]):
        done = holdtype("history", *command, "--offset", "99999999999999999999")
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert done.stdout == "" and "(1 in all)" in done.stderr, done.stderr
        json_done = holdtype("history", *command, "--json", "--offset", "99999999999999999999")
        assert json_done.returncode == 0 and json_done.stdout == "", json_done.stderr
        done = holdtype("history", *command, "--offset", "-1")
        assert done.returncode == 2 and "x>=0" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_history_delete_deletes_the_recording_it_kept(tmp_path: Path) -> None:
    wav = tmp_path / "kept.wav"
    wav.write_bytes(b"RIFF")
    with HistoryStore() as store:
        entry_id = store.add(HistoryEntry(Outcome.FAILED, text="kept", audio_path=str(wav)))
    done = holdtype("history", "delete", str(entry_id))
    assert done.returncode == 0, done.stderr
    assert not wav.exists()


def test_export_writes_every_entry_oldest_first_in_the_format_asked(
    filled: list[int], tmp_path: Path
) -> None:
    """The settings window's Export, from the command line (a CLI for everything the app does)."""
    import csv
    import io
    import stat

    out = holdtype("history", "export", str(tmp_path / "said.csv"))
    assert out.returncode == 0 and "exported 3 entries" in out.stderr, out.stderr
    with (tmp_path / "said.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["id"]) for r in rows] == filled and rows[0]["raw"] == "install psychic learn today"
    assert stat.S_IMODE(os.stat(tmp_path / "said.csv").st_mode) == 0o600  # the history is private

    assert holdtype("history", "export", "--format", "json", str(tmp_path / "said.txt")).returncode == 0
    items = json.loads((tmp_path / "said.txt").read_text(encoding="utf-8"))
    assert [item["outcome"] for item in items] == ["pasted", "failed", "cancelled"]

    assert holdtype("history", "export", str(tmp_path / "said")).returncode == 0  # no suffix: JSON lines
    lines = (tmp_path / "said").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[1])["error"] == "xdotool key failed"
    # every field of `history show --json`, in its order (the CSV's columns too)
    shown = json.loads(holdtype("history", "show", "--json", str(filled[0])).stdout)
    assert list(json.loads(lines[0])) == list(shown) == list(rows[0]) and next(iter(shown)) == "id"

    dash = holdtype("history", "export", "-")  # standard output, JSON lines; no file named "-"
    assert dash.returncode == 0 and "exported 3 entries" in dash.stderr and not Path("-").exists()
    assert [json.loads(line) for line in dash.stdout.splitlines()] == [json.loads(line) for line in lines]
    piped = holdtype("history", "export", "--format", "csv", "-")
    assert list(csv.DictReader(io.StringIO(piped.stdout, newline=""))) == rows
    named = holdtype("history", "export", f"{tmp_path}/./-")  # a file named "-", not standard output
    assert named.returncode == 0 and named.stdout == "" and (tmp_path / "-").read_text().count("\n") == 3

    failed = holdtype("history", "export", str(tmp_path / "no-such-folder" / "said.csv"))
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert f"cannot write {tmp_path / 'no-such-folder' / 'said.csv'}" in failed.stderr

    database = get_paths().history_db  # named as the target, it was overwritten with the export
    own = holdtype("history", "export", "--format", "csv", str(database))
    assert own.returncode == 1 and "Holdtype's own folder" in own.stderr and "Traceback" not in own.stderr
    with HistoryStore() as store:
        assert [e.id for e in store.list()] == filled[::-1]  # still a database, every entry in it

    twin = tmp_path / "backup.db"  # the same file under another name: a hard link outside
    os.link(database, twin)
    linked = holdtype("history", "export", "--format", "csv", str(twin))
    assert linked.returncode == 1 and f"the same file as Holdtype's {database}" in linked.stderr
    with HistoryStore() as store:
        assert [e.id for e in store.list()] == filled[::-1]


def test_export_keeps_each_entry_on_one_line_as_list_json_does(holdtype_home: Path, tmp_path: Path) -> None:
    # `list --json` escapes U+2028, U+2029 and U+0085; the export wrote them raw, and a reader
    # that splits at every line break (str.splitlines, many editors) read half objects.
    said = "one\u2028two\u2029three\x85four"
    with HistoryStore() as store:
        store.add(HistoryEntry(Outcome.PASTED, text=said, raw=said, created=1e9))
        store.add(HistoryEntry(Outcome.PASTED, text="plain", created=1e9 + 1))
    listed = holdtype("history", "list", "--json").stdout
    for fmt in ("jsonl", "json"):
        out = tmp_path / f"said.{fmt}"
        assert holdtype("history", "export", "--format", fmt, str(out)).returncode == 0
        written = out.read_text(encoding="utf-8")
        assert not {"\u2028", "\u2029", "\x85"} & set(written), fmt
        assert "one\\u2028two\\u2029three\\u0085four" in written  # as `list --json` writes them
        assert "one\\u2028two" in listed
        items = [json.loads(line) for line in written.splitlines()] if fmt == "jsonl" else json.loads(written)
        assert [item["text"] for item in items] == [said, "plain"], fmt
    dash = holdtype("history", "export", "-")
    assert [json.loads(line)["text"] for line in dash.stdout.splitlines()] == [said, "plain"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bind mounts are Linux's")
def test_export_refuses_holdtypes_folder_seen_through_a_bind_mount(filled: list[int], tmp_path: Path) -> None:
    """Names cannot tell a folder shown at a second place (as on a case-insensitive filesystem,
    where HOLDTYPE and holdtype are one folder); the guard compares the folders themselves.
    Runs in a private mount namespace (``unshare``), so nothing outside the test sees it."""
    import shutil
    import subprocess

    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is missing: apt install util-linux")
    data = get_paths().data_dir
    view = tmp_path / "view"
    view.mkdir()
    script = 'mount --bind "$1" "$2" && exec "$3" -m app history export --format csv "$2/said.csv"'
    run = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
            data,
            view,
            sys.executable,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 1 and "Holdtype's own folder" in run.stderr, (run.returncode, run.stderr)
    assert not (data / "said.csv").exists()
    with HistoryStore() as store:
        assert [e.id for e in store.list()] == filled[::-1]


@pytest.mark.slow
def test_a_retry_through_a_mode_is_deleted_with_its_llm_reply(speak) -> None:  # type: ignore[no-untyped-def]
    from app.llm.cache import LLMCache
    from tests.fixtures.llama import OpenAIChatStub, model_entry, write_llm_models

    stub = OpenAIChatStub(["We use scikit-learn every day."])  # STUB: an OpenAI-compatible server
    try:
        write_llm_models([model_entry("stub", stub.api_base)])
        assert holdtype("config", "set", "llm.model", "stub").returncode == 0
        wav = speak("We use scikit learn every day.", speed=150)
        with HistoryStore() as store:
            failed = store.add(
                HistoryEntry(Outcome.FAILED, error="the model is not loaded", audio_path=str(wav))
            )
        out = holdtype("history", "retry", str(failed), "--mode", "clean", "--json")
        assert out.returncode == 0 and json.loads(out.stdout)["text"] == "We use scikit-learn every day.", out
    finally:
        stub.close()
    shown = json.loads(holdtype("history", "show", str(failed), "--json").stdout)
    assert shown["fallback_reason"] is None and shown["llm_ms"] > 0, shown
    with LLMCache() as cache:
        assert len(cache.entries()) == 1

    # A mode that falls back says why in the new entry, as a dictation's does
    assert holdtype("config", "set", "llm.model", "no-such-model").returncode == 0
    fell = holdtype("history", "retry", str(failed), "--mode", "clean", "--json")
    assert fell.returncode == 0 and "no-such-model" in fell.stderr, fell
    newer = json.loads(holdtype("history", "show", str(json.loads(fell.stdout)["id"]), "--json").stdout)
    assert "unknown llm model 'no-such-model'" in newer["fallback_reason"], newer
    assert holdtype("history", "delete", str(failed)).returncode == 0
    with LLMCache() as cache:
        assert cache.entries() == []


@pytest.mark.slow
def test_retry_reads_a_kept_recording_again_into_its_entry(speak) -> None:  # type: ignore[no-untyped-def]
    wav = speak("We use scikit learn for machine learning every day.", speed=150)
    with HistoryStore() as store:
        failed = store.add(HistoryEntry(Outcome.FAILED, error="the model is not loaded", audio_path=str(wav)))
        pasted = store.add(HistoryEntry(Outcome.PASTED, text="no recording", mode="raw"))
    assert holdtype("vocab", "add", "scikit-learn").returncode == 0
    out = holdtype("history", "retry", str(failed), "--json")
    assert out.returncode == 0, out.stderr
    # in lower case, as `history paste` says "pasted entry 8" (it said "Transcribed entry …")
    assert f"transcribed entry {failed} again" in out.stderr, out.stderr
    row = json.loads(out.stdout)
    assert row["id"] == failed and row["outcome"] == "recovered" and row["error"] is None
    assert "scikit-learn" in row["text"] and row["model"] == "tiny.en" and row["mode"] == "raw"
    with HistoryStore() as store:
        assert store.get(failed).text == row["text"]

    # An entry whose text went in keeps it: the new reading is an entry of its own
    with HistoryStore() as store:
        typed = store.add(
            HistoryEntry(
                Outcome.TYPED,
                text="We use psychic learn.",
                mode="gone-mode",
                audio_path=str(wav),
                app="kitty",
            )
        )
    again = holdtype("history", "retry", str(typed), "--json")
    assert again.returncode == 0, again.stderr
    assert "mode 'gone-mode' is gone" in again.stderr  # a mode since removed: read without an LLM
    newer = json.loads(again.stdout)
    assert newer["id"] != typed and newer["outcome"] == "recovered" and newer["app"] == "kitty"
    assert "scikit-learn" in newer["text"] and newer["mode"] == "raw"
    assert f"transcribed entry {typed} again, as entry {newer['id']}" in again.stderr
    with HistoryStore() as store:
        kept = store.get(typed)
        assert kept.text == "We use psychic learn." and kept.outcome == Outcome.TYPED

    none = holdtype("history", "retry", str(pasted))
    assert none.returncode == 1 and "kept no recording" in none.stderr and "Traceback" not in none.stderr
    wav_copy = Path(str(wav) + ".moved")
    with HistoryStore() as store:
        gone = store.add(HistoryEntry(Outcome.FAILED, audio_path=str(wav_copy)))
    missing = holdtype("history", "retry", str(gone))
    assert missing.returncode == 1 and "is gone" in missing.stderr
    unknown_model = holdtype("history", "retry", str(failed), "--model", "nope")
    assert unknown_model.returncode != 0 and "Traceback" not in unknown_model.stderr


def _silent_wav(path: Path) -> Path:
    """A 0.1 s WAV of silence at ``path`` (a recording kept with an entry)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(3200))
    return path


def test_retry_of_an_entry_whose_mode_file_is_broken_says_so(tmp_path: Path) -> None:
    """The entry's own mode file, broken, was taken for a mode removed: "the entry's mode
    'ghost' is gone; read without an LLM", and the plain reading was kept, where `transcribe
    --mode ghost` stops and says what is wrong with the file."""
    modes = get_paths().modes_dir
    modes.mkdir(parents=True, exist_ok=True)
    (modes / "ghost.toml").write_text('system = "Tidy it."\ntemplate = "no placeholder"\n')
    recording = _silent_wav(tmp_path / "kept.wav")
    with HistoryStore() as store:
        failed = store.add(HistoryEntry(Outcome.FAILED, mode="ghost", audio_path=str(recording)))
    out = holdtype("history", "retry", str(failed))
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "ghost.toml is not valid: mode: template must contain {text}" in out.stderr
    assert f"holdtype history retry {failed} --mode raw" in out.stderr
    assert "is gone" not in out.stderr and out.stderr.count("ghost.toml") == 1


@pytest.mark.slow
def test_retry_of_a_failed_entry_with_text_keeps_that_text(speak) -> None:  # type: ignore[no-untyped-def]
    """A mode's email whose paste failed is an entry with text and outcome failed: `history
    retry` wrote the new plain reading over it (raw and text), and the email was gone."""
    wav = speak("We use scikit learn every day.", speed=150)
    email = "Dear Anna,\n\nwe use scikit-learn every day.\n\nBest,\nSam"
    with HistoryStore() as store:
        failed = store.add(
            HistoryEntry(
                Outcome.FAILED,
                text=email,
                raw="we use psychic learn every day",
                mode="raw",
                error="xdotool key failed",
                audio_path=str(wav),
                app="thunderbird",
            )
        )
    out = holdtype("history", "retry", str(failed), "--json")
    assert out.returncode == 0, out.stderr
    newer = json.loads(out.stdout)
    assert newer["id"] != failed and newer["outcome"] == "recovered" and newer["app"] == "thunderbird"
    assert f"transcribed entry {failed} again, as entry {newer['id']}" in out.stderr
    with HistoryStore() as store:
        kept = store.get(failed)
        assert kept is not None and store.count() == 2
        assert kept.text == email and kept.raw == "we use psychic learn every day"
        assert kept.outcome == Outcome.FAILED and kept.error == "xdotool key failed"


def test_paste_puts_an_entry_into_the_focused_window(
    filled: list[int], display: XDisplay, target_window, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The tray's Shift+click on a Recent entry, from the command line (or a desktop shortcut):
    without an ID the newest entry with text, into the real focused window."""
    target_window.focus()
    out = holdtype("history", "paste", env=display.env)
    assert out.returncode == 0, out.stderr
    assert f"pasted entry {filled[1]}" in out.stderr  # the newest (filled[2]) has no text
    target_window.wait_for_text("Second thought. ")  # with the trailing space, as dictation has it
    out = holdtype("history", "paste", str(filled[0]), env=display.env)
    assert out.returncode == 0, out.stderr
    target_window.wait_for_text("Second thought. Install scikit-learn today. ")
    empty = holdtype("history", "paste", str(filled[2]), env=display.env)
    assert empty.returncode == 1 and f"entry {filled[2]} has no text" in empty.stderr
    assert "kept no recording" in empty.stderr and "history retry" not in empty.stderr  # it has none
    recording = _silent_wav(tmp_path / "kept.wav")  # (its words are not read here: that is `history retry`)
    with HistoryStore() as store:
        store.update(filled[2], audio_path=str(recording))
    kept = holdtype("history", "paste", str(filled[2]), env=display.env)
    assert kept.returncode == 1 and f"`holdtype history retry {filled[2]}` reads it again" in kept.stderr
    nowhere = holdtype(
        "history", "paste", env={"DISPLAY": "", "XDG_SESSION_TYPE": "x11", "WAYLAND_DISPLAY": ""}
    )
    assert nowhere.returncode == 1 and "Traceback" not in nowhere.stderr and "DISPLAY" in nowhere.stderr


def test_a_shorter_retention_set_from_the_cli_says_what_it_deletes_and_asks(tmp_path: Path) -> None:
    # `config set history.retention_days 1` said "history.retention_days = 1", and the next
    # start deleted 3562 of 5000 entries without a word (the settings window asks first).
    now = time.time()
    with HistoryStore() as store:
        for age_days in (3, 2, 0):
            store.add(
                HistoryEntry(
                    outcome=Outcome.PASTED, text=f"{age_days} days old", created=now - age_days * 86400
                )
            )
    refused = holdtype("config", "set", "history.retention_days", "1")  # no terminal to ask in
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "2 history entries older than a day would be deleted for good; add --yes" in refused.stderr
    assert holdtype("config", "get", "history.retention_days").stdout.strip() == "null"
    kept = holdtype("config", "set", "history.retention_days", "30")  # deletes nothing: not asked
    assert kept.returncode == 0 and "note:" not in kept.stderr, kept.stderr
    done = holdtype("config", "set", "history.retention_days", "1", "--yes")
    assert done.returncode == 0, done.stderr
    assert "2 history entries older than a day will be deleted for good" in done.stderr
    assert holdtype("config", "get", "history.retention_days").stdout.strip() == "1"
    # Deleted at once, as said (a review: `history list` and `export` still gave them, until
    # Holdtype next ran).
    assert "Deleted 2 history entries older than a day" in done.stderr
    listed = holdtype("history", "list", "--json")
    assert [json.loads(line)["text"] for line in listed.stdout.splitlines()] == ["0 days old"]


def test_an_empty_search_is_refused_not_taken_as_matching_everything() -> None:
    with HistoryStore() as store:
        store.add(HistoryEntry(outcome=Outcome.PASTED, text="kept words", created=time.time()))
    for empty in ("", "   "):
        done = holdtype("history", "search", empty)
        assert done.returncode == 2 and "give the words to search for" in done.stderr, done.stderr
        assert "kept words" not in done.stdout
