"""``holdtype bench jargon`` and ``holdtype bench wer`` as real subprocesses, on speech made here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli import holdtype

pytestmark = pytest.mark.slow


def _jargon_manifest(folder: Path, speak, rows: list[tuple[str, str, str]]) -> Path:
    """A jargon manifest (id, voice, text, terms) with its audio, in ``folder``."""
    (folder / "audio").mkdir(parents=True)
    lines = ["id\tvoice\ttext\tterms"]
    for clip_id, text, terms in rows:
        shutil.copy(speak(text, speed=150), folder / "audio" / f"{clip_id}.wav")
        lines.append(f"{clip_id}\ten-us\t{text}\t{terms}")
    manifest = folder / "manifest.tsv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def test_bench_jargon_scores_every_stage_over_several_manifests(tmp_path: Path, speak) -> None:
    first = _jargon_manifest(
        tmp_path / "a", speak, [("a1", "We publish the package on PyPI every Friday.", "PyPI")]
    )
    second = _jargon_manifest(
        tmp_path / "b", speak, [("b1", "The notebook imports NumPy and pandas first.", "NumPy|pandas")]
    )
    proc = holdtype("bench", "jargon", "--json", str(first), str(second))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["terms"] == 3  # the union of both manifests' terms
    assert report["second_readings"] == 0  # three terms fit in the prompt
    assert list(report["stages"]) == ["raw", "+bias", "+autocorrect", "+rules"]
    final = report["stages"]["+rules"]
    assert final["term_hits"] >= 2 and final["wer"] < 0.5, report
    assert (report["model"], report["beam_size"], report["compute_type"]) == ("tiny.en", 10, "auto")
    # Each manifest's own clips are scored too, read with both manifests' terms.
    parts = report["manifests"]
    assert [(p["path"], p["clips"], p["terms"]) for p in parts] == [(str(first), 1, 1), (str(second), 1, 2)]
    for stage in ("raw", "+rules"):
        assert sum(p["stages"][stage]["term_hits"] for p in parts) == report["stages"][stage]["term_hits"]
    # The user's model settings are what is measured, and the table says which they were.
    assert holdtype("config", "set", "model.beam_size", "3").returncode == 0
    table = holdtype("bench", "jargon", str(first))
    assert table.returncode == 0 and table.stdout.startswith("1 clips, 1 terms"), table.stdout
    assert "model tiny.en (beam 3, compute auto)" in table.stdout.splitlines()[0], table.stdout
    assert "each manifest" not in table.stdout  # one manifest: the table says it all
    both = holdtype("bench", "jargon", str(first), str(second))
    assert both.returncode == 0, both.stderr
    rows = both.stdout.split("each manifest's clips, with every manifest's terms (+rules):\n")[1].splitlines()
    assert rows[0].endswith(f"1 clips, {first}") and rows[1].endswith(f"1 clips, {second}"), both.stdout


def test_bench_jargon_live_scores_the_clips_as_a_held_key_records_them(tmp_path: Path, speak) -> None:
    manifest = _jargon_manifest(
        tmp_path / "a", speak, [("a1", "We publish the package on PyPI every Friday.", "PyPI")]
    )
    proc = holdtype("bench", "jargon", "--json", "--live", str(manifest))
    assert proc.returncode == 0, proc.stderr
    stages = json.loads(proc.stdout)["stages"]
    assert list(stages) == ["raw", "+bias", "+autocorrect", "+rules", "live batch", "live stream"]
    assert stages["live stream"]["term_hits"] == 1 and stages["live stream"]["wer"] < 0.5, stages


def test_bench_jargon_names_a_missing_manifest(tmp_path: Path) -> None:
    proc = holdtype("bench", "jargon", str(tmp_path / "nope.tsv"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "no such manifest" in proc.stderr


def test_each_bench_names_the_other_for_the_other_manifest_kind(tmp_path: Path) -> None:
    """The two manifest kinds are easy to swap: each benchmark says which one reads the other."""
    jsonl = tmp_path / "speech.jsonl"
    jsonl.write_text('{"path": "a.wav", "text": "hello"}\n', encoding="utf-8")
    tsv = tmp_path / "jargon.tsv"
    tsv.write_text("id\tvoice\ttext\tterms\nd01\ten-us\tUse uv.\tuv\n", encoding="utf-8")
    swapped = holdtype("bench", "jargon", str(jsonl))
    assert swapped.returncode == 1 and "Traceback" not in swapped.stderr
    assert "go to `holdtype bench wer`" in swapped.stderr
    swapped = holdtype("bench", "wer", str(tsv))
    assert swapped.returncode == 1 and "Traceback" not in swapped.stderr
    assert "goes to `holdtype bench jargon`" in swapped.stderr


def test_bench_wer_prints_wer_and_real_time_factor(tmp_path: Path, speak) -> None:
    text = "The library will close early tomorrow, so return your books in the morning."
    shutil.copy(speak(text, speed=150), tmp_path / "clip.wav")
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps({"path": "clip.wav", "text": text}) + "\n", encoding="utf-8")
    proc = holdtype("bench", "wer", "--json", str(manifest))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["clips"] == 1 and report["reference_words"] == 13
    assert report["pipeline_wer"] <= 0.25, report  # espeak-ng speech, real model
    assert 0 < report["pipeline_rtf"] < 5 and 0 < report["plain_rtf"] < 5


def _one_line_failures(tmp_path: Path, bench: str, cases: dict[str, tuple[str, str]]) -> None:
    """Each manifest NAME: (content, needle) makes ``holdtype bench BENCH`` fail in one line."""
    for name, (content, needle) in cases.items():
        manifest = tmp_path / name
        manifest.write_text(content, encoding="utf-8")
        proc = holdtype("bench", bench, str(manifest))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, (name, proc.stderr)
        assert needle in proc.stderr, (name, proc.stderr)
        assert proc.stdout == "", (name, proc.stdout)


def test_bench_jargon_names_a_short_line_and_an_empty_manifest(tmp_path: Path) -> None:
    """A line without its text column was a TypeError traceback; a header alone was a report
    of 0 clips with every term found (100%)."""
    cases = {
        "short.tsv": ("id\tvoice\ttext\tterms\nd01\ten-us\n", "short.tsv:2: a clip needs an id"),
        "header.tsv": ("id\tvoice\ttext\tterms\n", "no clips in"),
    }
    _one_line_failures(tmp_path, "jargon", cases)


def test_bench_wer_names_a_null_text_and_an_empty_manifest(tmp_path: Path) -> None:
    """A text that is null or a number was a TypeError traceback; a manifest without a line
    was a report of 0 clips at 0.00% WER."""
    cases = {
        "null.jsonl": ('{"path": "a.wav", "text": null}\n', "null.jsonl:1: not a JSON line"),
        "number.jsonl": ('{"path": "a.wav", "text": 5}\n', "number.jsonl:1: not a JSON line"),
        "empty.jsonl": ("\n", "no clips in"),
    }
    _one_line_failures(tmp_path, "wer", cases)


def test_bench_wer_names_a_manifest_not_in_utf8_and_a_missing_clip_before_decoding(tmp_path: Path) -> None:
    """From a review: a UTF-16 manifest (or an audio file given by mistake) was a traceback;
    a clip missing on the last line was found after minutes of decoding the others."""
    import wave

    with wave.open(str(tmp_path / "a.wav"), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(16000)
        clip.writeframes(b"\0\0" * 1600)
    (tmp_path / "u16.jsonl").write_bytes('{"path": "a.wav", "text": "a"}\n'.encode("utf-16"))
    proc = holdtype("bench", "wer", str(tmp_path / "u16.jsonl"))
    assert proc.returncode == 1 and "is not UTF-8 text" in proc.stderr and "Traceback" not in proc.stderr
    cases = {
        "late.jsonl": (
            '{"path": "a.wav", "text": "a"}\n{"path": "audio/typo.wav", "text": "b"}\n',
            "late.jsonl:2: no such clip",
        ),
    }
    _one_line_failures(tmp_path, "wer", cases)


def test_a_jargon_manifest_with_a_byte_order_mark_or_a_quote_is_read_as_written(tmp_path: Path) -> None:
    """From a review: a spreadsheet's byte-order mark gave "lacks id"; a text starting with a
    quote swallowed the tab and the terms after it (0 terms, without a word)."""
    from app.bench.jargon import read_manifest

    path = tmp_path / "m.tsv"
    path.write_text('\ufeffid\tvoice\ttext\tterms\nc1\ten-us\t"Quoted" start\tPyPI|NumPy\n', encoding="utf-8")
    (item,) = read_manifest(path)
    assert (item.id, item.text, item.terms) == ("c1", '"Quoted" start', ("PyPI", "NumPy"))


def test_bench_rewrites_counts_what_the_vocabulary_changes_in_plain_text(tmp_path: Path) -> None:
    text = tmp_path / "prose.txt"
    text.write_text(
        "I don't trust him at all today.\nWe light a torch in the\ndark tonight. "
        "We read Maro with a quill! The black cat sat on the step.\nShort one.\n",
        encoding="utf-8",
    )
    terms = tmp_path / "terms.txt"
    terms.write_text("Rust\nPyTorch\nBlack\nMarimo\n", encoding="utf-8")
    proc = holdtype("bench", "rewrites", "--json", str(text), "--vocab-file", str(terms))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["terms"] == 4
    assert report["sentences"] == 4  # "Short one." is under 20 characters
    assert report["rewritten"] == 1 and report["changed"] == 2
    assert report["rewrites"] == [{"from": "Maro", "to": "Marimo", "count": 1}]
    assert report["recased"] == [{"from": "black", "to": "Black", "count": 1}]
    table = holdtype("bench", "rewrites", str(text), "--vocab-file", str(terms))
    assert table.stdout.startswith("4 sentences, 4 terms: 1 rewritten (25.00%), 1 only recased")
    assert "'Maro' -> 'Marimo'" in table.stdout


def test_bench_rewrites_names_a_missing_file_and_text_without_sentences(tmp_path: Path) -> None:
    terms = tmp_path / "terms.txt"
    terms.write_text("Rust\n", encoding="utf-8")
    missing = holdtype("bench", "rewrites", str(tmp_path / "nope.txt"), "--vocab-file", str(terms))
    assert missing.returncode == 1
    assert "nope.txt" in missing.stderr and "Traceback" not in missing.stderr
    short = tmp_path / "short.txt"
    short.write_text("Hi.\nOk.\n", encoding="utf-8")
    empty = holdtype("bench", "rewrites", str(short), "--vocab-file", str(terms))
    assert empty.returncode == 1
    assert "no sentences" in empty.stderr
