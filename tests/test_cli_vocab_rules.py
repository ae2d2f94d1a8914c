"""``holdtype vocab`` and ``holdtype rules`` as real subprocesses, including the error cases."""

from __future__ import annotations

import codecs
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import ROOT, holdtype


def ok(*args: str) -> str:
    proc = holdtype(*args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def fails(*args: str) -> str:
    """Run a command that must fail cleanly; return its one-line error."""
    proc: subprocess.CompletedProcess[str] = holdtype(*args)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_vocab_add_list_remove() -> None:
    empty = holdtype("vocab", "list")
    assert empty.stdout == "" and "holdtype vocab add" in empty.stderr  # the hint is not data
    ok("vocab", "add", "scikit-learn", "PyPI", "Talk Python To Me")
    ok("vocab", "add", "PyPI")  # the same spelling is not added twice
    assert ok("vocab", "list").splitlines() == ["scikit-learn", "PyPI", "Talk Python To Me"]
    data = json.loads(ok("vocab", "list", "--json"))
    assert data["terms"] == ["scikit-learn", "PyPI", "Talk Python To Me"]
    assert data["bias"] in {"prompt", "hotwords", "both", "none"}
    # Every setting of the section, as `config get vocabulary` (second_opinion was left out).
    assert data == json.loads(ok("config", "get", "vocabulary"))
    ok("vocab", "remove", "pypi")  # no exact match: removes the term whatever its casing
    assert ok("vocab", "list").splitlines() == ["scikit-learn", "Talk Python To Me"]


def test_vocab_add_from_a_file_and_standard_input(tmp_path: Path) -> None:
    glossary = tmp_path / "glossary.txt"
    glossary.write_text("# data tools\nNumPy\n\n  Talk  Python To Me \nPyPI\n", encoding="utf-8")
    ok("vocab", "add", "scikit-learn", "--file", str(glossary))
    assert ok("vocab", "list").splitlines() == ["scikit-learn", "NumPy", "Talk Python To Me", "PyPI"]
    piped = holdtype("vocab", "add", "--file", "-", input="Marimo\nNumPy\n")
    assert piped.returncode == 0 and "added 1 term(s)" in piped.stdout, piped.stderr
    # What `vocab list` prints is a file `vocab add --file` reads back, unchanged.
    listed = tmp_path / "listed.txt"
    listed.write_text(ok("vocab", "list"), encoding="utf-8")
    ok("vocab", "remove", "NumPy", "Marimo")
    ok("vocab", "add", "--file", str(listed))
    again = ok("vocab", "list").splitlines()  # the two removed terms are back, now the newest
    assert again == ["scikit-learn", "Talk Python To Me", "PyPI", "NumPy", "Marimo"]
    # A term may start with "#": only "# " starts a comment ("#include" was dropped silently).
    ok("vocab", "add", "#include", "C#")
    listed.write_text(ok("vocab", "list"), encoding="utf-8")
    ok("vocab", "remove", "#include", "C#", "Marimo")
    ok("vocab", "add", "--file", str(listed))
    assert ok("vocab", "list").splitlines()[-3:] == ["Marimo", "#include", "C#"]


def test_vocab_add_reads_what_windows_tools_write(tmp_path: Path) -> None:
    # PowerShell 5's `vocab list > terms.txt` writes UTF-16; Notepad and `Out-File -Encoding
    # utf8` start UTF-8 with a byte-order mark. Neither mark may become part of a term.
    utf16 = tmp_path / "terms.txt"
    utf16.write_bytes("NumPy\r\nPyPI\r\n".encode("utf-16"))
    ok("vocab", "add", "--file", str(utf16))
    marked = tmp_path / "glossary.txt"
    marked.write_bytes(codecs.BOM_UTF8 + b"scikit-learn\n")
    ok("vocab", "add", "--file", str(marked))
    piped = subprocess.run(
        [sys.executable, "-m", "app", "vocab", "add", "--file", "-"],
        input=codecs.BOM_UTF8 + b"Marimo\r\n",
        capture_output=True,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert ok("vocab", "list").splitlines() == ["NumPy", "PyPI", "scikit-learn", "Marimo"]


def test_vocab_add_reads_the_settings_windows_export(tmp_path: Path) -> None:
    """A .toml or .csv exported from the settings window gives its terms; its rules are named,
    not silently dropped and not added by `vocab add`."""
    from app.config import Rule
    from app.errors import HoldtypeError
    from app.text.termfile import write_vocabulary_file

    for suffix in (".toml", ".csv"):
        exported = tmp_path / f"vocabulary{suffix}"
        write_vocabulary_file(exported, ["Polars", "DuckDB"], [Rule(find="teh", replace="the")])
        out = holdtype("vocab", "add", "--file", str(exported))
        assert out.returncode == 0, out.stderr
        assert "holds 1 rule(s); add them with --rules" in out.stderr
        assert ok("vocab", "list").splitlines() == ["Polars", "DuckDB"]
        assert json.loads(ok("rules", "list", "--json")) == []
        ok("vocab", "remove", "Polars", "DuckDB")
    # Any other name is a plain list, as `vocab list` writes it (a .txt used to get CSV)
    plain = tmp_path / "terms.txt"
    write_vocabulary_file(plain, ["Polars", "#include"], [])
    assert plain.read_text(encoding="utf-8") == "Polars\n#include\n"
    with pytest.raises(HoldtypeError, match=r"terms only; export as \.toml or \.csv to keep the 1 rule"):
        write_vocabulary_file(plain, ["Polars"], [Rule(find="teh", replace="the")])


def test_vocab_export_writes_what_vocab_add_reads_back(tmp_path: Path) -> None:
    """The settings window's Export on the command line: terms and rules by the suffix."""
    from app.text.termfile import read_vocabulary_file

    ok("vocab", "add", "scikit-learn", "Talk Python To Me")
    ok("rules", "add", "new line", "\\n")
    for suffix in (".toml", ".csv"):
        path = tmp_path / f"mine{suffix}"
        assert "exported 2 term(s) and 1 rule(s)" in ok("vocab", "export", str(path))
        terms, rules = read_vocabulary_file(path)
        assert terms == ["scikit-learn", "Talk Python To Me"]
        assert [(r.find, r.replace) for r in rules] == [("new line", "\\n")]
    refused = holdtype("vocab", "export", str(tmp_path / "terms.txt"))  # a plain list has no rules
    assert refused.returncode == 1 and "export as .toml or .csv" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "terms.txt").exists()
    # Read back whole with --rules (the settings window's Import), into a fresh vocabulary
    ok("rules", "remove", "new line")
    ok("vocab", "remove", "scikit-learn", "Talk Python To Me")
    ok("rules", "add", "NEW  LINE", "<br>")  # the same find: replaced where it stands, not doubled
    back = holdtype("vocab", "add", "--file", str(tmp_path / "mine.toml"), "--rules")
    assert back.returncode == 0, back.stderr  # (it was counted as added)
    assert "added 0 rule(s), replaced 1 with the same find from" in back.stdout, back.stdout
    again = ok("vocab", "add", "--file", str(tmp_path / "mine.toml"), "--rules")
    assert "added 0 rule(s), 1 already there from" in again and "added 0 term(s)" in again
    assert ok("vocab", "list").splitlines() == ["scikit-learn", "Talk Python To Me"]
    assert [(r["find"], r["replace"]) for r in json.loads(ok("rules", "list", "--json"))] == [
        ("new line", "\\n")
    ]
    assert holdtype("vocab", "add", "--rules", "x").returncode == 2  # --rules needs --file
    ok("rules", "remove", "new line")
    ok("vocab", "export", str(tmp_path / "terms.txt"))
    assert (tmp_path / "terms.txt").read_text(encoding="utf-8") == "scikit-learn\nTalk Python To Me\n"
    gone = holdtype("vocab", "export", str(tmp_path / "no-such-folder" / "v.toml"))
    assert gone.returncode == 1 and "cannot write" in gone.stderr and "Traceback" not in gone.stderr
    settings_file = Path(holdtype("config", "path").stdout.strip())
    own = holdtype("vocab", "export", str(settings_file))  # it became a list of terms
    assert own.returncode == 1 and "Holdtype's own folder" in own.stderr and "Traceback" not in own.stderr
    assert "scikit-learn" in ok("vocab", "list")
    assert "broken" not in holdtype("vocab", "list").stderr  # the settings file is as it was
    dotfiles = tmp_path / "dotfiles" / "config.toml"  # kept in a dotfiles repository, linked
    dotfiles.parent.mkdir()
    settings_file.rename(dotfiles)
    settings_file.symlink_to(dotfiles)
    linked = holdtype("vocab", "export", str(settings_file))  # resolves outside the folder
    assert linked.returncode == 1 and "Holdtype's own folder" in linked.stderr, linked.stderr
    assert "scikit-learn" in ok("vocab", "list")
    behind = holdtype("vocab", "export", str(dotfiles))  # the file the link points to, by its name
    assert behind.returncode == 1 and f"the same file as Holdtype's {settings_file}" in behind.stderr
    assert "scikit-learn" in ok("vocab", "list")


def test_vocab_add_file_errors_are_one_line(tmp_path: Path) -> None:
    assert "no such vocabulary file" in fails("vocab", "add", "--file", str(tmp_path / "missing.txt"))
    comments = tmp_path / "comments.txt"
    comments.write_text("# nothing here\n\n", encoding="utf-8")
    assert "no terms in" in fails("vocab", "add", "--file", str(comments))
    binary = tmp_path / "model.bin"
    binary.write_bytes(bytes(range(128, 256)))
    assert "not a UTF-8 text file" in fails("vocab", "add", "--file", str(binary))
    huge = tmp_path / "dump.csv"
    huge.write_text("term\n" + "x" * 200_000 + "\n", encoding="utf-8")  # one field past csv's limit
    assert "not a CSV file of terms" in fails("vocab", "add", "--file", str(huge))
    broken = tmp_path / "broken.toml"
    broken.write_text('terms = ["NumPy"\n', encoding="utf-8")
    assert "not valid TOML" in fails("vocab", "add", "--file", str(broken))
    tables = tmp_path / "tables.toml"
    tables.write_text('terms = [{a = 1}, [1, 2], "NumPy"]\n', encoding="utf-8")  # added "{'a': 1}"
    assert "terms must be words" in fails("vocab", "add", "--file", str(tables))
    assert ok("vocab", "list") == ""  # nothing half-added


def test_vocab_keeps_terms_that_differ_only_in_case() -> None:
    added = holdtype("vocab", "add", "LLM", "llm")
    assert added.returncode == 0, added.stderr
    assert "'llm' differs from 'LLM' only in case" in added.stderr  # often a slip: said, kept
    assert ok("vocab", "list").splitlines() == ["LLM", "llm"]
    ok("vocab", "remove", "llm")  # an exact match removes only that spelling
    assert ok("vocab", "list").splitlines() == ["LLM"]


def test_vocab_add_drops_invisible_characters_a_copied_term_brings() -> None:
    # A term copied from a web page kept its zero-width space or soft hyphen: a second
    # "NumPy" in the list, and auto-correction typed the invisible character into the text.
    ok("vocab", "add", "NumPy", "Num\u00adPy\u200b", "\ufeffPyPI")
    assert ok("vocab", "list").splitlines() == ["NumPy", "PyPI"]
    final = json.loads(ok("rules", "test", "--json", "install num pie now"))["final"]
    assert final == "install NumPy now" and final.isascii(), final


def test_vocab_remove_unknown_term_is_an_error() -> None:
    ok("vocab", "add", "NumPy")
    line = fails("vocab", "remove", "Pandas")
    assert "not in the vocabulary" in line and "Pandas" in line
    assert ok("vocab", "list").splitlines() == ["NumPy"]
    # One unknown among several removes none of them, and says so
    line = fails("vocab", "remove", "NumPy", "Pandas")
    assert "not in the vocabulary: Pandas; nothing removed" in line, line
    assert ok("vocab", "list").splitlines() == ["NumPy"]


def test_vocab_says_which_terms_were_there_and_that_an_empty_one_is_no_term() -> None:
    # A second `vocab add PyPI` said "added 0 term(s)" and no more; `vocab remove ""` said
    # "not in the vocabulary:  (see ...)", naming nothing.
    ok("vocab", "add", "PyPI")
    again = holdtype("vocab", "add", "PyPI", "NumPy")
    assert again.returncode == 0 and again.stdout.startswith("added 1 term(s); 2 in the vocabulary")
    assert "already in the vocabulary: PyPI" in again.stderr and "NumPy" not in again.stderr
    assert fails("vocab", "remove", "") == "Error: a vocabulary term cannot be empty"
    assert fails("vocab", "remove", "PyPI", "  ") == "Error: a vocabulary term cannot be empty"
    assert ok("vocab", "list").splitlines() == ["PyPI", "NumPy"]


def test_vocab_add_says_which_terms_are_also_ordinary_words_and_how_to_keep_them() -> None:
    # Rust in the vocabulary wrote "it will Rust" with nothing said at `vocab add` of why, or
    # that a lower-case twin keeps the plain word.
    added = holdtype("vocab", "add", "Rust", "PyPI", "NumPy")
    assert added.returncode == 0, added.stderr
    notes = [line for line in added.stderr.splitlines() if "ordinary English" in line]
    assert len(notes) == 1 and notes[0].startswith("note: Rust is also ordinary English"), added.stderr
    assert "PyPI" not in notes[0] and "NumPy" not in notes[0] and "holdtype vocab add rust" in notes[0]
    assert json.loads(ok("rules", "test", "--json", "it will rust"))["final"] == "it will Rust"
    twin = holdtype("vocab", "add", "rust")
    assert twin.returncode == 0 and "note:" not in twin.stderr, twin.stderr  # no "was it a slip?"
    assert json.loads(ok("rules", "test", "--json", "it will rust"))["final"] == "it will rust"
    assert json.loads(ok("rules", "test", "--json", "written in Rust"))["final"] == "written in Rust"


def test_vocab_add_names_terms_said_as_ordinary_english() -> None:
    # SQL ("sequel") and C# ("see sharp") wrote "the SQL was better" and "we C# gains" with
    # nothing said at `vocab add`.
    added = holdtype("vocab", "add", "SQL", "C#", "NumPy")
    assert added.returncode == 0, added.stderr
    notes = [line for line in added.stderr.splitlines() if "ordinary English" in line]
    assert len(notes) == 1 and notes[0].startswith("note: SQL ('sequel'), C# ('see sharp') are also"), notes
    assert "NumPy" not in notes[0] and "holdtype vocab add sequel" in notes[0]
    said = ["rules", "test", "--json", "the sequel was better"]
    assert json.loads(ok(*said))["final"] == "the SQL was better"
    ok("vocab", "add", "sequel")
    assert json.loads(ok(*said))["final"] == "the sequel was better"


def test_vocab_add_names_only_terms_said_as_english_one_says() -> None:
    """From a review: `vocab add "C#" "x=y" "#hash" "a,b"` called x=y ('ex y') and #hash
    ('sharp hash') ordinary English: "y" alone is no word, and a term # begins is not said
    "sharp". "a bee" is English ("a bee stung me" became "a,b stung me"), and so are the
    words of Briefcase, Envoy and Hydra."""
    added = holdtype("vocab", "add", "C#", "x=y", "#hash", "a,b")
    assert added.returncode == 0, added.stderr
    (note,) = [line for line in added.stderr.splitlines() if "ordinary English" in line]
    assert note.startswith("note: C# ('see sharp'), a,b ('a bee') are also ordinary English;"), note
    assert json.loads(ok("rules", "test", "--json", "a bee stung me"))["final"] == "a,b stung me"
    words = holdtype("vocab", "add", "Briefcase", "Envoy", "Hydra")
    assert "note: Briefcase, Envoy, Hydra are also ordinary English;" in words.stderr, words.stderr


def test_vocab_add_says_when_the_prompt_cannot_name_every_term() -> None:
    few = holdtype("vocab", "add", "NumPy", "PyPI")
    assert few.returncode == 0 and "note:" not in few.stderr
    many = holdtype("vocab", "add", *(f"Zorblax{i}Kit" for i in range(80)))
    assert many.returncode == 0, many.stderr
    assert "Whisper's prompt holds the newest" in many.stderr and "of 82 terms" in many.stderr
    assert len(ok("vocab", "list").splitlines()) == 82  # every term is kept all the same
    ok("config", "set", "vocabulary.bias", "hotwords")  # no prompt, so no note
    listed = holdtype("vocab", "list")
    assert listed.returncode == 0 and "note:" not in listed.stderr


def test_vocab_add_needs_a_term() -> None:
    proc = holdtype("vocab", "add")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "cannot be empty" in fails("vocab", "add", "", "  ")


def test_vocab_add_skips_empty_terms_and_keeps_the_rest() -> None:
    # As `xargs` passes a list whose file ends in a newline.
    proc = holdtype("vocab", "add", "NumPy", "", "Talk  Python")
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 empty term" in proc.stderr
    assert ok("vocab", "list").splitlines() == ["NumPy", "Talk Python"]


def test_vocab_add_refuses_what_is_no_term_and_what_would_read_back_as_a_comment() -> None:
    # "# tools" was stored, printed by `vocab list`, and skipped as a comment by `vocab add --file`.
    assert "'...'" in fails("vocab", "add", "NumPy", "...", "# tools")
    assert "'# tools'" in fails("vocab", "add", "NumPy", "# tools")
    assert "control characters" in fails("vocab", "add", "\x1b[31mred")  # printed as red text
    assert "at most 200" in fails("vocab", "add", "a" * 201)
    assert holdtype("vocab", "list").stdout == ""  # nothing of the list was added
    ok("vocab", "add", "#include", "C++", ".NET")
    assert ok("vocab", "list").splitlines() == ["#include", "C++", ".NET"]


def test_config_set_refuses_the_terms_vocab_add_refuses() -> None:
    # The checks lived in `vocab add`: `config set vocabulary.terms` stored "..." and an ESC.
    ok("vocab", "add", "NumPy")
    assert "'...'" in fails("config", "set", "vocabulary.terms", '["Polars", "..."]')
    assert "control characters" in fails("config", "set", "vocabulary.terms", '["a\\u001bb"]')
    assert "starts a comment" in fails("config", "set", "vocabulary", '{"terms": ["# tools"]}')
    assert ok("vocab", "list").splitlines() == ["NumPy"]
    one = fails("config", "set", "vocabulary.terms", "Polars")  # a word, not a list: say how
    assert """give a list, as '["NumPy", "pandas"]', or use `holdtype vocab add TERM...`""" in one, one
    assert "add one with `holdtype rules add FIND REPLACE`" in fails("config", "set", "rules", "teh")
    ok("config", "set", "vocabulary.terms", '["Polars", "C#"]')
    assert ok("vocab", "list").splitlines() == ["Polars", "C#"]


def test_vocab_add_from_a_closed_standard_input_is_one_line() -> None:
    # `vocab add --file - <&-` printed a traceback (sys.stdin is None).
    proc = subprocess.run(
        ["sh", "-c", f"exec {shlex.quote(sys.executable)} -m app vocab add --file - <&-"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "pipe them in" in proc.stderr


def test_a_file_named_in_another_encoding_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Refused as "not valid UTF-8 text; type it again in a UTF-8 terminal": the name is a
    # Latin-1 file's, typed right. (A term in Latin-1 is still refused: it would be stored.)
    latin = tmp_path / os.fsdecode(b"caf\xe9.txt")
    latin.write_text("NumPy\n", encoding="utf-8")
    ok("vocab", "add", "--file", str(latin))
    assert ok("vocab", "list").splitlines() == ["NumPy"]
    refused = holdtype("vocab", "add", os.fsdecode(b"na\xefve"))
    assert refused.returncode == 2 and "not valid UTF-8" in refused.stderr
    quiet = holdtype("vocab", "list", env={"HOLDTYPE_LOG_LEVEL": "basic_format"})  # no level: a traceback
    assert quiet.returncode == 0 and quiet.stdout.splitlines() == ["NumPy"], quiet.stderr


def test_rules_add_list_test_remove() -> None:
    empty = holdtype("rules", "list")
    assert empty.stdout == "" and "holdtype rules add" in empty.stderr
    ok("rules", "add", "teh", "the")
    ok("rules", "add", r"(\d+) percent", r"\1%", "--regex")
    ok("rules", "add", "Bob", "Robert", "--case-sensitive")
    listed = json.loads(ok("rules", "list", "--json"))
    assert [r["find"] for r in listed] == ["teh", r"(\d+) percent", "Bob"]
    assert listed[1]["regex"] is True and listed[2]["case_sensitive"] is True
    shown = ok("rules", "list")  # as typed: a regex's backslashes were shown doubled
    assert "'teh' -> 'the'" in shown and r"'(\d+) percent' -> '\1%'  [regex]" in shown, shown
    assert ok("rules", "test", "TEH cost is 5 percent, said Bob and bob").strip() == (
        "The cost is 5%, said Robert and bob"
    )
    ok("rules", "remove", "teh")
    assert [r["find"] for r in json.loads(ok("rules", "list", "--json"))] == [r"(\d+) percent", "Bob"]


def test_rules_add_says_when_a_plain_replacement_inserts_a_line_break() -> None:
    # 'C:\new folder\table' pasted "C:", a line break, "ew folder", a tab, "able", and
    # `rules add` echoed it back as if kept as typed.
    path = holdtype("rules", "add", "my path", "C:\\new folder\\table")
    assert path.returncode == 0, path.stderr
    assert "\\n inserts a line break and \\t inserts a tab; write \\\\ to keep a backslash" in path.stderr
    assert '"C:\\\\new"' in holdtype("rules", "add", "--help").stdout  # the help says how
    kept = holdtype("rules", "add", "other path", "C:\\\\new")  # as the note says
    assert kept.returncode == 0 and "note" not in kept.stderr, kept.stderr
    assert ok("rules", "test", "open other path").strip() == "open C:\\new"
    plain = holdtype("rules", "add", "pie pie", "PyPI")
    assert plain.returncode == 0 and "note" not in plain.stderr, plain.stderr


def test_rules_test_applies_the_vocabulary_first() -> None:
    ok("vocab", "add", "scikit-learn", "PyPI")
    ok("rules", "add", "PyPI", "the Python Package Index", "--case-sensitive")
    out = json.loads(ok("rules", "test", "--json", "get sicket learn from pie pie"))
    assert out["vocabulary"] == "get scikit-learn from PyPI"
    assert out["final"] == "get scikit-learn from the Python Package Index"


def test_rules_test_keeps_the_typed_lower_case_start() -> None:
    """Only transcripts get a capital at the start (TextPipeline.polish): typed text shows what
    vocabulary and rules do to it, nothing more."""
    assert ok("rules", "test", "i like apple pie").strip() == "i like apple pie"


def test_a_rule_can_break_the_line() -> None:
    """The help's own example, typed as a shell passes it: "\\n" is a line break, kept through
    the whole pipeline (it used to be pasted as a backslash and an n)."""
    ok("rules", "add", "new line", "\\n")
    ok("rules", "add", "new paragraph", "\\n\\n")
    said = "Dear Ann, new paragraph thanks for the notes new line Bob"
    out = json.loads(ok("rules", "test", "--json", said))
    assert out["final"] == "Dear Ann,\n\nThanks for the notes\nBob"  # a new line's capital


def test_a_rule_can_put_in_a_tab() -> None:
    """ "\t" is a tab in plain rules as in regex ones: the last tidying took it for a space."""
    ok("rules", "add", "tab key", "\\t")
    ok("rules", "add", "indent(ed)?", "\\t", "--regex")
    out = json.loads(ok("rules", "test", "--json", "name tab key value, then indent the line"))
    assert out["final"] == "name\tvalue, then\tthe line"


@pytest.mark.parametrize("pattern", ["(unclosed", "[a-", "*oops"])
def test_rules_add_refuses_a_bad_regex(pattern: str) -> None:
    line = fails("rules", "add", pattern, "x", "--regex")
    assert "invalid regular expression" in line
    assert json.loads(ok("rules", "list", "--json")) == []


def test_a_bad_replacement_is_quoted_as_typed() -> None:
    # It read "invalid replacement '\\2'": repr doubled the backslash typed once.
    line = fails("rules", "add", "(a)", "\\2", "--regex")
    assert line == "Error: invalid replacement '\\2' for '(a)': no such group", line


def test_rules_add_refuses_a_regex_that_matches_no_text() -> None:
    line = fails("rules", "add", "a*", "x", "--regex")
    assert "matches no text at all" in line
    ok("rules", "add", "^", "Note: ", "--regex")  # an anchor is fine: it matches one place
    assert json.loads(ok("rules", "test", "--json", "hello"))["final"].startswith("Note: ")


def test_rules_remove_unknown_is_an_error() -> None:
    line = fails("rules", "remove", "nothing-here")
    assert "no rule finds" in line


def test_rules_remove_takes_the_one_rule_named_and_add_replaces_only_its_own_kind() -> None:
    # `rules remove Api` removed 'Api' and the case-insensitive 'api' too, saying "removed rule
    # 'Api'"; a plain 'a.b' and a regex 'a.b' went together; and a case-sensitive 'API' added
    # replaced the case-insensitive 'api'.
    ok("rules", "add", "api", "A.P.I.")
    ok("rules", "add", "API", "API!", "--case-sensitive")
    ok("rules", "add", "Api", "x", "--case-sensitive")
    assert [r["find"] for r in json.loads(ok("rules", "list", "--json"))] == ["api", "API", "Api"]
    assert "removed rule 'Api'" in ok("rules", "remove", "Api")
    assert [r["find"] for r in json.loads(ok("rules", "list", "--json"))] == ["api", "API"]
    ok("rules", "add", "a.b", "plain")
    ok("rules", "add", "a.b", "pattern", "--regex")
    assert "2 rules find 'a.b'" in fails("rules", "remove", "a.b")
    ok("rules", "remove", "a.b", "--regex")
    assert [r["replace"] for r in json.loads(ok("rules", "list", "--json"))] == ["A.P.I.", "API!", "plain"]
    ok("rules", "remove", "A.B")  # no exact spelling: the rule that ignores case
    assert [r["find"] for r in json.loads(ok("rules", "list", "--json"))] == ["api", "API"]


def test_rules_remove_matches_a_regex_rule_as_written_and_says_so() -> None:
    """From a review: the help said "spelled exactly, else ignoring case", but a regex rule
    was found only spelled exactly, and the error did not say why. A pattern's case is part
    of what it finds, so it stays matched as written; the help and the error say so."""
    ok("rules", "add", "gonna", "going to", "--regex")
    line = fails("rules", "remove", "GONNA")
    assert (
        line
        == "Error: no rule finds 'GONNA' (a regex rule is matched as written: 'gonna' -> 'going to' [regex])"
    )
    ok("rules", "add", "Api", "x", "--case-sensitive")
    assert "a case-sensitive rule is matched as written: 'Api' -> 'x'" in fails("rules", "remove", "API")
    helped = " ".join(ok("rules", "remove", "--help").split())
    assert "but for a regex or case-sensitive rule, which is matched as written" in helped
    ok("rules", "remove", "gonna")
    ok("rules", "remove", "Api")
    assert json.loads(ok("rules", "list", "--json")) == []


def test_commands_saving_at_the_same_time_keep_every_change() -> None:
    # Each command reads the settings, changes them and saves them. Unguarded, ten `vocab add`
    # run at once kept six of the ten terms, each having said "added 1 term(s)".
    ok("vocab", "add", "seed")
    env = dict(os.environ)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in [*(("vocab", "add", f"term{i}") for i in range(8)), ("rules", "add", "gonna", "going to")]
    ]
    for run in runs:
        _out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    assert sorted(ok("vocab", "list").split()) == sorted(["seed", *(f"term{i}" for i in range(8))])
    assert "gonna" in ok("rules", "list")


def test_an_argument_that_is_not_utf8_is_refused_before_it_is_stored() -> None:
    # A term typed in a Latin-1 terminal reaches Python as a lone surrogate; saving it was a
    # UnicodeEncodeError traceback (vocab add, rules add, config set, history search).
    for args in (("vocab", "add", "caf\udce9"), ("rules", "add", "caf\udce9", "x")):
        out = holdtype(*args)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert "'caf\\xe9' is not valid UTF-8 text" in out.stderr
    assert ok("vocab", "list") == "" and ok("rules", "list", "--json").strip() == "[]"


def test_a_rule_added_again_is_replaced_where_it_stands() -> None:
    """Rules apply in order; adding one again moved it to the end, after a rule it used to
    run before ("new line" -> "\\n" then "line" -> "row": "a new row b")."""
    for find, replace in (("new line", "\\n"), ("line", "row"), ("new line", "\\n\\n")):
        assert holdtype("rules", "add", find, replace).returncode == 0
    assert holdtype("rules", "test", "a new line b").stdout == "a\n\nB\n"


def test_a_rule_is_the_same_rule_whatever_its_case_spacing_and_accents() -> None:
    # "Pie Pie" and "pie pie" were two rules, the first shadowing the second; "PIE PIE",
    # " gonna " and an accent typed as a combining mark could not be removed.
    assert holdtype("rules", "add", "Pie Pie", "PyPI").returncode == 0
    again = holdtype("rules", "add", "pie  pie", "PyPI.org")
    assert again.returncode == 0 and "replaced" in again.stdout
    assert holdtype("rules", "test", "pie pie").stdout.strip() == "PyPI.org"
    assert holdtype("rules", "remove", "PIE PIE").returncode == 0
    assert holdtype("rules", "add", " gonna ", "going to").returncode == 0
    assert holdtype("rules", "remove", "gonna").returncode == 0
    assert holdtype("rules", "add", "cafe\u0301", "coffee").returncode == 0
    assert holdtype("rules", "test", "un caf\u00e9 noir").stdout.strip() == "un coffee noir"
    assert holdtype("rules", "remove", "caf\u00e9").returncode == 0
    assert holdtype("rules", "list", "--json").stdout.strip() == "[]"


def test_a_term_typed_with_a_combining_accent_is_the_term_kept() -> None:
    assert holdtype("vocab", "add", "cafe\u0301").returncode == 0
    again = holdtype("vocab", "add", "cafe\u0301")
    assert "1 in the vocabulary" in again.stdout, again.stdout
    assert holdtype("vocab", "remove", "cafe\u0301").returncode == 0


def test_a_term_file_of_the_wrong_shape_is_refused_and_a_sheet_title_is_no_term(tmp_path: Path) -> None:
    (tmp_path / "v.toml").write_text('terms = "NumPy"\n', encoding="utf-8")  # was read as N, u, m, P, y
    done = holdtype("vocab", "add", "--file", str(tmp_path / "v.toml"))
    assert done.returncode == 1 and "terms must be a list" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "w.toml").write_text('vocabulary = ["a"]\n', encoding="utf-8")  # was a traceback
    done = holdtype("vocab", "add", "--file", str(tmp_path / "w.toml"))
    assert done.returncode == 1 and "must be a table" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "t.csv").write_text("Terms\nNumPy\nSciPy\n", encoding="utf-8")
    assert holdtype("vocab", "add", "--file", str(tmp_path / "t.csv")).returncode == 0
    assert holdtype("vocab", "list").stdout.split() == ["NumPy", "SciPy"]


def test_a_removed_first_word_leaves_a_lower_case_term_as_it_is_spelled() -> None:
    """`rules add um ""`: "Um, npm install works." became "Npm install works."."""
    ok("vocab", "add", "npm", "pandas", "iPhone", "Talk Python")
    ok("rules", "add", "um", "")
    said = ["Um, npm install works.", "Um, iPhone sales rose.", "Um, so pandas. Um, talk python is on."]
    got = [json.loads(ok("rules", "test", "--json", text))["final"] for text in said]
    assert got == ["npm install works.", "iPhone sales rose.", "So pandas. Talk Python is on."]


def test_a_regex_rule_that_starts_with_a_space_reads_back_from_csv(tmp_path: Path) -> None:
    # A CSV's finds were trimmed: " +([,.])" read back as "+([,.])", an invalid regex that
    # stopped the whole import (and "Mr\. " would have lost its space without a word).
    ok("rules", "add", "--regex", " +([,.])", "\\1")
    ok("rules", "add", "  spaced  ", "plain")  # no regex: trimmed as before
    path = tmp_path / "mine.csv"
    ok("vocab", "export", str(path))
    ok("rules", "remove", " +([,.])")
    ok("rules", "remove", "spaced")
    ok("vocab", "add", "--file", str(path), "--rules")
    assert [r["find"] for r in json.loads(ok("rules", "list", "--json"))] == [" +([,.])", "spaced"]
    # Standard input holds terms only: a CSV's rows piped in with --rules became terms
    piped = holdtype("vocab", "add", "--file", "-", "--rules", input=path.read_text(encoding="utf-8"))
    assert piped.returncode == 1 and "standard input holds terms only" in piped.stderr, piped.stderr
    assert ok("vocab", "list").strip() == ""


def test_a_csv_flag_that_is_neither_yes_nor_no_and_a_bad_rule_name_their_row(tmp_path: Path) -> None:
    # From a review: "maybe" (or "on", "WAHR") in the regex column was read as no, so the regex
    # rule became a plain rule finding "a+"; a bad regex said "Value error, ..." and no row.
    path = tmp_path / "rules.csv"
    path.write_text("kind,find,replace,regex,case_sensitive\nrule,teh,the,,\nrule,a+,b,maybe,false\n")
    done = holdtype("vocab", "add", "--file", str(path), "--rules")
    assert done.returncode == 1 and "row 3: regex is 'maybe'; write true or false" in done.stderr
    path.write_text("kind,find,replace,regex,case_sensitive\nrule,foo(bar,b,yes,no\n")
    done = holdtype("vocab", "add", "--file", str(path), "--rules")
    assert done.returncode == 1 and "row 2: the rule 'foo(bar' cannot be used: invalid regular" in done.stderr
    assert "Value error" not in done.stderr
    assert ok("rules", "list").strip() == ""  # nothing of a refused file is taken


def test_a_spreadsheets_kind_column_is_read_whatever_its_case(tmp_path: Path) -> None:
    # "Term" and "TERM" (as a spreadsheet writes them) were not "term": those rows became rules
    # replacing the terms with nothing, so every dictation of scikit-learn lost the word.
    sheet = tmp_path / "excel.csv"
    sheet.write_text(
        "Kind,Find,Replace,Regex,Case_sensitive\n"
        "Term,scikit-learn,,,\nTERM,PyPI,,,\nRule,pie pie,PyPI,FALSE,FALSE\n",
        encoding="utf-8",
    )
    ok("vocab", "add", "--file", str(sheet), "--rules")
    assert ok("vocab", "list").split() == ["scikit-learn", "PyPI"]
    rules = json.loads(ok("rules", "list", "--json"))
    assert [(r["find"], r["replace"]) for r in rules] == [("pie pie", "PyPI")]
    said = json.loads(ok("rules", "test", "--json", "we use scikit-learn from PyPI and pie pie"))["final"]
    assert said == "we use scikit-learn from PyPI and PyPI"
    # A kind that is neither (a typo) is refused with its row, and nothing is added
    typo = tmp_path / "typo.csv"
    typo.write_text("kind,find,replace\nterm,NumPy,\nterrm,pandas,\n", encoding="utf-8")
    refused = holdtype("vocab", "add", "--file", str(typo), "--rules")
    assert refused.returncode == 1 and "row 3: kind 'terrm' is neither term nor rule" in refused.stderr
    assert "NumPy" not in ok("vocab", "list").split()
