"""The English word list that tells a word Whisper wrote on purpose from a guess at a term."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from app.text.english import MIN_COUNT, english_word, words_file, write_words


def test_the_list_knows_english_words_and_not_tech_names() -> None:
    assert words_file().is_file()
    for word in ["pottery", "reeds", "Fleas", "dangle", "the"]:
        assert english_word(word), word
    for word in ["Pandera", "Kubernetes", "useramatic", "jingo", "tomlin", "don't", "x86"]:
        assert not english_word(word), word


def test_the_list_is_made_from_a_frequency_list(tmp_path: Path) -> None:
    """``python -m app.text.english SOURCE`` keeps lower-case words counted often enough."""
    source = tmp_path / "en.json.gz"
    counts = {"pottery": MIN_COUNT, "jingo": MIN_COUNT - 1, "Paris": 5000, "o'clock": 900, "reeds": 558}
    with gzip.open(source, "wt", encoding="utf-8") as handle:
        json.dump(counts, handle)
    target = tmp_path / "words.txt.gz"
    assert write_words(source, target) == 2
    with gzip.open(target, "rt", encoding="utf-8") as handle:
        assert handle.read().split() == ["pottery", "reeds"]
