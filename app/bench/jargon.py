"""Jargon benchmark pieces: the manifest, term accuracy, and one scoring pass per stage."""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from app.config import ModelSettings, Rule, VocabularySettings
from app.errors import HoldtypeError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JargonItem:
    """One clip of a jargon manifest."""

    id: str
    voice: str
    text: str
    terms: tuple[str, ...]
    audio: Path


def read_manifest(path: Path) -> list[JargonItem]:
    """Read a TSV manifest (``id voice text terms``; audio at ``audio/<id>.wav`` beside it)."""
    if not path.is_file():
        raise HoldtypeError(f"no such manifest: {path}")
    items: list[JargonItem] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"id", "text"} - set(reader.fieldnames or ())
        if missing:
            raise HoldtypeError(f"{path} lacks the column(s): {', '.join(sorted(missing))}")
        for row in reader:
            terms = tuple(t.strip() for t in (row.get("terms") or "").split("|") if t.strip())
            items.append(
                JargonItem(
                    id=row["id"],
                    voice=row.get("voice") or "",
                    text=row["text"],
                    terms=terms,
                    audio=path.parent / "audio" / f"{row['id']}.wav",
                )
            )
    return items


def manifest_terms(items: list[JargonItem]) -> list[str]:
    """The union of every item's terms, in first-seen order."""
    seen: dict[str, None] = {}
    for item in items:
        for term in item.terms:
            seen.setdefault(term, None)
    return list(seen)


def term_present(term: str, text: str) -> bool:
    """True when ``term`` appears in ``text`` with exact spelling and casing, as whole words."""
    pattern = r"(?<![\w])" + re.escape(term) + r"(?![\w])"
    return re.search(pattern, text) is not None


def term_hits(terms: tuple[str, ...], text: str) -> int:
    """How many of ``terms`` appear in ``text`` (see :func:`term_present`)."""
    return sum(term_present(term, text) for term in terms)


@dataclass(slots=True)
class StageResult:
    """One stage's outputs and figures."""

    name: str
    texts: list[str]
    wer: float
    term_hits: int
    total_terms: int

    @property
    def term_accuracy(self) -> float:
        """Share of the manifest's term occurrences spelled right."""
        return self.term_hits / self.total_terms if self.total_terms else 1.0


@dataclass(slots=True)
class JargonReport:
    """Figures for every stage of one jargon run."""

    bias: str
    total_terms: int
    stages: list[StageResult]
    second_readings: int = 0  # clips decoded twice (a long vocabulary prompt, see TextPipeline)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "bias": self.bias,
            "terms": self.total_terms,
            "second_readings": self.second_readings,
            "stages": {
                s.name: {
                    "wer": round(s.wer, 4),
                    "term_hits": s.term_hits,
                    "term_accuracy": round(s.term_accuracy, 4),
                }
                for s in self.stages
            },
        }


def score_stage(name: str, items: list[JargonItem], texts: list[str]) -> StageResult:
    """WER and term hits of ``texts`` against ``items``."""
    from app.bench.wer import corpus_wer

    wer = corpus_wer((item.text, text) for item, text in zip(items, texts, strict=True)).wer
    hits = sum(term_hits(item.terms, text) for item, text in zip(items, texts, strict=True))
    total = sum(len(item.terms) for item in items)
    return StageResult(name, texts, wer, hits, total)


def run_jargon(
    items: list[JargonItem],
    model: ModelSettings,
    vocabulary: VocabularySettings,
    rules: list[Rule],
    bias: str | None = None,
) -> JargonReport:
    """Decode every clip twice (plain, biased) and score: raw, +bias, +autocorrect, +rules.

    The vocabulary's terms are replaced by the union of the manifest's terms; its other options
    (sensitivity, bias unless ``bias`` is given) are kept.
    """
    from app.text.pipeline import TextPipeline, tidy
    from app.transcribe.whisper import DecodeOptions, WhisperTranscriber, load_audio

    vocab = vocabulary.model_copy(
        update={"terms": manifest_terms(items), "autocorrect": True, **({"bias": bias} if bias else {})}
    )
    vocab = type(vocabulary).model_validate(vocab.model_dump())
    pipeline = TextPipeline(vocab, rules)
    transcriber = WhisperTranscriber(model)
    base = DecodeOptions.from_settings(model)
    raw_texts: list[str] = []
    bias_texts: list[str] = []
    for item in items:
        audio = load_audio(item.audio)
        raw_texts.append(transcriber.transcribe(audio, base).text)
        bias_texts.append(pipeline.transcribe(transcriber, audio, base).text)
        log.info("%s: %s | %s", item.id, raw_texts[-1], bias_texts[-1])
    corrected = [tidy(pipeline.apply_vocabulary(tidy(t))) for t in bias_texts]
    final = [pipeline.apply(t) for t in bias_texts]
    stages = [
        score_stage("raw", items, raw_texts),
        score_stage("+bias", items, bias_texts),
        score_stage("+autocorrect", items, corrected),
        score_stage("+rules", items, final),
    ]
    return JargonReport(vocab.bias, stages[0].total_terms, stages, pipeline.second_readings)
