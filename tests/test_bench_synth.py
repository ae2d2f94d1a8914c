"""The jargon synthesizer: repeatable by default, and each dither draw its own rendering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.bench.jargon import read_manifest
from app.bench.synth import build
from app.transcribe.audiofile import load_audio
from tests.fixtures.parts import require_tools


@pytest.fixture(autouse=True)
def _tools() -> None:
    require_tools("espeak-ng", "sox", fix="sudo apt-get install espeak-ng sox")


SENTENCE = [("t01", "en-us", "Install NumPy from PyPI.", ("NumPy", "PyPI"))]


def _audio(folder: Path) -> bytes:
    return (folder / "audio" / "t01.wav").read_bytes()


def test_the_same_draw_writes_the_same_audio_and_another_draw_differs(tmp_path: Path) -> None:
    for name, draw in (("a", 0), ("b", 0), ("c", 1), ("d", 1), ("e", 2)):
        build(tmp_path / name, SENTENCE, draw)
    assert _audio(tmp_path / "a") == _audio(tmp_path / "b")
    assert _audio(tmp_path / "c") == _audio(tmp_path / "d")
    assert _audio(tmp_path / "c") != _audio(tmp_path / "e")
    assert _audio(tmp_path / "a") != _audio(tmp_path / "c")
    # A draw changes only the last bit: the same speech, at most two steps apart.
    zero = load_audio(tmp_path / "a" / "audio" / "t01.wav")
    one = load_audio(tmp_path / "c" / "audio" / "t01.wav")
    assert len(zero) == len(one) > 16_000 // 2
    assert float(np.max(np.abs(zero - one))) <= 2.5 / 32768


def test_a_manifest_is_spoken_again_with_its_ids_voices_and_terms(tmp_path: Path) -> None:
    manifest = build(tmp_path / "first", SENTENCE, 3)
    again = build(tmp_path / "again", [(i.id, i.voice, i.text, i.terms) for i in read_manifest(manifest)], 3)
    assert read_manifest(again)[0].terms == ("NumPy", "PyPI")
    assert _audio(tmp_path / "first") == _audio(tmp_path / "again")


def _terms(sentences: tuple[tuple[str, str, tuple[str, ...]], ...]) -> set[str]:
    """A set's terms, case-folded."""
    return {t.casefold() for _voice, _text, said in sentences for t in said}


def test_the_check_set_is_other_sentences_with_mostly_other_terms() -> None:
    from app.bench.synth import CHECK_SENTENCES, SENTENCES

    tuning_terms = {t for _voice, _text, terms in SENTENCES for t in terms}
    check_terms = {t for _voice, _text, terms in CHECK_SENTENCES for t in terms}
    assert not {text for _v, text, _t in SENTENCES} & {text for _v, text, _t in CHECK_SENTENCES}
    assert len(check_terms - tuning_terms) >= 0.75 * len(check_terms)


def test_the_fresh_set_shares_no_sentence_or_term_with_the_others() -> None:
    from app.bench.synth import CHECK_SENTENCES, FRESH_SENTENCES, SENTENCES

    assert len(FRESH_SENTENCES) == 30 and len(_terms(FRESH_SENTENCES)) == 56
    assert not _terms(FRESH_SENTENCES) & (_terms(SENTENCES) | _terms(CHECK_SENTENCES))
    for _voice, text, said in FRESH_SENTENCES:
        assert all(term in text for term in said), text  # each term is spoken as written


def test_the_held_set_is_other_sentences_with_mostly_new_terms() -> None:
    from app.bench.synth import CHECK_SENTENCES, FRESH_SENTENCES, HELD_SENTENCES, SENTENCES

    others = (SENTENCES, CHECK_SENTENCES, FRESH_SENTENCES)
    assert len(HELD_SENTENCES) == 30 and len(_terms(HELD_SENTENCES)) == 57
    assert len(_terms(HELD_SENTENCES) - set().union(*map(_terms, others))) == 53
    assert not {text for _v, text, _t in HELD_SENTENCES} & {t for s in others for _v, t, _t in s}
    for _voice, text, said in HELD_SENTENCES:
        assert all(term in text for term in said), text  # each term is spoken as written


def test_the_unseen_set_has_only_terms_no_other_set_has() -> None:
    from app.bench.synth import (
        CHECK_SENTENCES,
        FRESH_SENTENCES,
        HELD_SENTENCES,
        SENTENCES,
        UNSEEN_SENTENCES,
    )

    others = (SENTENCES, CHECK_SENTENCES, FRESH_SENTENCES, HELD_SENTENCES)
    assert len(UNSEEN_SENTENCES) == 16 and len(_terms(UNSEEN_SENTENCES)) == 29
    assert not _terms(UNSEEN_SENTENCES) & set().union(*map(_terms, others))
    for _voice, text, said in UNSEEN_SENTENCES:
        assert all(term in text for term in said), text  # each term is spoken as written


def test_the_probe_set_has_only_terms_no_other_set_has() -> None:
    from app.bench.synth import NAMED_SETS, PROBE_SENTENCES, SENTENCES

    others = [SENTENCES, *(s for name, (_p, s) in NAMED_SETS.items() if name != "probe")]
    assert NAMED_SETS["probe"] == ("p", PROBE_SENTENCES)
    assert len(PROBE_SENTENCES) == 30 and len(_terms(PROBE_SENTENCES)) == 49
    assert not {t.casefold() for t in _terms(PROBE_SENTENCES)} & {
        t.casefold() for t in set().union(*map(_terms, others))
    }
    for _voice, text, said in PROBE_SENTENCES:
        assert all(term in text for term in said), text  # each term is spoken as written


def test_the_repeats_set_says_words_again_and_has_no_terms() -> None:
    from app.bench.synth import NAMED_SETS, REPEAT_SENTENCES

    assert NAMED_SETS["repeats"] == ("r", REPEAT_SENTENCES)
    assert not _terms(REPEAT_SENTENCES)
    from app.transcribe.glitches import words_of

    for _voice, text, _said in REPEAT_SENTENCES:
        words = words_of(text)
        runs = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
        # a run of words said again, or a word or two dictated alone
        assert len(runs) > len(set(runs)) or len(words) <= 2, text


@pytest.mark.parametrize(
    "flags",
    [
        ["--repeats", "--probe"],
        ["--check", "--fresh"],
        ["--unseen", "--held"],
        ["--probe", "--unseen"],
        ["--fresh", "--from", "m.tsv"],
        ["--held", "--check"],
        ["--variants", "--other-synths"],
    ],
)
def test_two_sets_or_voicings_at_once_are_refused(tmp_path: Path, flags: list[str]) -> None:
    from app.bench.synth import main

    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "out"), *flags])
    assert stop.value.code == 2
    assert not (tmp_path / "out").exists()


def test_check_and_from_together_are_refused(tmp_path: Path) -> None:
    from app.bench.synth import main

    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "out"), "--check", "--from", str(tmp_path / "m.tsv")])
    assert stop.value.code == 2
    assert not (tmp_path / "out").exists()


def test_variants_speak_each_sentence_with_a_voice_no_set_uses() -> None:
    from app.bench.synth import (
        CHECK_SENTENCES,
        FRESH_SENTENCES,
        HELD_SENTENCES,
        SENTENCES,
        VARIANTS,
        numbered,
        with_variants,
    )

    used = {
        voice
        for chosen in (SENTENCES, CHECK_SENTENCES, FRESH_SENTENCES, HELD_SENTENCES)
        for voice, _, _ in chosen
    }
    assert not {voice.split("+")[-1] for voice in used if "+" in voice} & set(VARIANTS)
    spoken = with_variants(numbered("h", CHECK_SENTENCES))
    assert [s[2:] for s in spoken] == [(text, terms) for _, text, terms in CHECK_SENTENCES]
    for (clip_id, voice, _, _), (original, _, _) in zip(spoken, CHECK_SENTENCES, strict=True):
        english, variant = voice.split("+")
        assert variant in VARIANTS
        assert english == ("en-gb" if original.startswith("en-gb") else "en-us"), (clip_id, original)
    assert len({s[1].split("+")[1] for s in spoken}) == min(len(spoken), len(VARIANTS))


def test_other_synthesizers_speak_every_voice_repeatably(tmp_path: Path) -> None:
    from app.bench.synth import OTHER_SYNTH_VOICES, with_other_synths

    require_tools(
        "flite",
        "text2wave",
        fix="sudo apt-get install flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts",
    )
    sentences = with_other_synths(
        [(f"t{n:02d}", "en-us", "Install NumPy from PyPI.", ("NumPy",)) for n in range(7)]
    )
    assert [voice for _, voice, _, _ in sentences] == list(OTHER_SYNTH_VOICES)
    manifest = build(tmp_path / "a", sentences)
    build(tmp_path / "b", sentences)
    assert [item.voice for item in read_manifest(manifest)] == list(OTHER_SYNTH_VOICES)
    renderings = set()
    for clip_id, voice, _, _ in sentences:
        audio = load_audio(tmp_path / "a" / "audio" / f"{clip_id}.wav")
        assert 0.8 * 16_000 < len(audio) < 6 * 16_000, voice  # a short sentence, at 16 kHz
        assert float(np.max(np.abs(audio))) > 0.05, voice  # speech, not silence
        data = (tmp_path / "a" / "audio" / f"{clip_id}.wav").read_bytes()
        assert data == (tmp_path / "b" / "audio" / f"{clip_id}.wav").read_bytes(), voice
        renderings.add(data)
    assert len(renderings) == len(OTHER_SYNTH_VOICES)  # seven voices, seven renderings
