"""Jargon benchmark pieces: the manifest, term accuracy, and one scoring pass per stage."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.config import ModelSettings, Rule, VocabularySettings
from app.errors import HoldtypeError

if TYPE_CHECKING:
    from app.text.pipeline import TextPipeline
    from app.transcribe.whisper import DecodeOptions, Transcriber

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
    try:
        return _read_manifest(path)
    except UnicodeDecodeError as exc:
        raise HoldtypeError(f"{path} is not UTF-8 text ({exc.reason})") from None


def _read_manifest(path: Path) -> list[JargonItem]:
    items: list[JargonItem] = []
    # utf-8-sig: a spreadsheet's byte-order mark made the first column "\ufeffid" ("lacks
    # id"); QUOTE_NONE: a text starting with a quote swallowed the tab and the terms after it.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"id", "text"} - set(reader.fieldnames or ())
        if missing:
            hint = ""
            if (reader.fieldnames or [""])[0].lstrip().startswith("{"):  # JSON lines
                hint = "; JSON lines of path and text go to `holdtype bench wer`"
            raise HoldtypeError(
                f"{path} is not a tab-separated manifest with id, voice, text, terms columns "
                f"(lacks {', '.join(sorted(missing))}){hint}"
            )
        for row in reader:
            if not row["id"] or row["text"] is None:  # a short line: csv fills the rest with None
                raise HoldtypeError(
                    f"{path}:{reader.line_num}: a clip needs an id and a text, separated by tabs"
                )
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
    if not items:
        raise HoldtypeError(f"no clips in {path}: only a header line")
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
    from app.text.vocabulary import term_pattern

    return term_pattern(term).search(text) is not None


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


@dataclass(frozen=True, slots=True)
class ManifestPart:
    """The figures of one manifest's clips in a run over several (the vocabulary all of theirs)."""

    path: str
    clips: int
    stages: list[StageResult]

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "path": self.path,
            "clips": self.clips,
            "terms": self.stages[0].total_terms if self.stages else 0,
            "stages": {s.name: {"wer": round(s.wer, 4), "term_hits": s.term_hits} for s in self.stages},
        }


def by_manifest(report: JargonReport, groups: list[tuple[str, list[JargonItem]]]) -> list[ManifestPart]:
    """Each manifest's share of ``report``, a run over the items of ``groups`` in that order:
    how its own clips read with every manifest's terms as the vocabulary (the vocabulary's
    length changes how Whisper is prompted, see ``TextPipeline.transcribe``)."""
    parts: list[ManifestPart] = []
    start = 0
    for path, items in groups:
        end = start + len(items)
        stages = [score_stage(s.name, items, s.texts[start:end]) for s in report.stages]
        parts.append(ManifestPart(path, len(items), stages))
        start = end
    return parts


def score_stage(name: str, items: list[JargonItem], texts: list[str]) -> StageResult:
    """WER and term hits of ``texts`` against ``items``."""
    from app.bench.wer import corpus_wer

    wer = corpus_wer((item.text, text) for item, text in zip(items, texts, strict=True)).wer
    hits = sum(term_hits(item.terms, text) for item, text in zip(items, texts, strict=True))
    total = sum(len(item.terms) for item in items)
    return StageResult(name, texts, wer, hits, total)


# Live dictation as a held key records a clip: the pre-roll's silence (AudioSettings' default)
# before it, and a short pause before the key goes up.
LIVE_BEFORE_S = 0.3
LIVE_AFTER_S = 0.6
LIVE_STEP_S = 0.1  # how often the engine looks at new audio while the key is held


def held(audio: np.ndarray) -> np.ndarray:
    """``audio`` as a held key would record it (see :data:`LIVE_BEFORE_S`)."""
    from app.transcribe.audiofile import SAMPLE_RATE

    before = np.zeros(int(LIVE_BEFORE_S * SAMPLE_RATE), np.float32)
    after = np.zeros(int(LIVE_AFTER_S * SAMPLE_RATE), np.float32)
    return np.concatenate([before, audio, after])


def stream_text(
    pipeline: TextPipeline, transcriber: Transcriber, base: DecodeOptions, audio: np.ndarray
) -> str:
    """Whisper's words for ``audio`` as live dictation gets them: decoded while the key is held
    (the audio fed every :data:`LIVE_STEP_S`, each decode waited for), then finished at release.
    The engine decodes in real time, where a decode may end later in the audio; the words
    differ a little, the policy does not."""
    from app.transcribe.audiofile import SAMPLE_RATE

    streaming = pipeline.streaming(transcriber, base)
    step = int(LIVE_STEP_S * SAMPLE_RATE)
    for end in range(step, len(audio) + 1, step):
        streaming.feed(audio[:end])
    return streaming.finish(audio).text


def run_jargon(
    items: list[JargonItem],
    model: ModelSettings,
    vocabulary: VocabularySettings,
    rules: list[Rule],
    bias: str | None = None,
    live: bool = False,
) -> JargonReport:
    """Decode every clip twice (plain, biased) and score: raw, +bias, +autocorrect, +rules.

    The vocabulary's terms are replaced by the union of the manifest's terms; its other options
    (sensitivity, bias unless ``bias`` is given) are kept. With ``live``, two more stages score
    the whole pipeline on each clip as a held key records it (:func:`held`): decoded after
    release ("live batch"), and streamed while the key is held ("live stream", what the engine
    pastes).
    """
    from app.text.pipeline import TextPipeline, tidy
    from app.transcribe.audiofile import load_audio
    from app.transcribe.whisper import DecodeOptions, WhisperTranscriber

    vocab = vocabulary.model_copy(
        update={"terms": manifest_terms(items), "autocorrect": True, **({"bias": bias} if bias else {})}
    )
    vocab = type(vocabulary).model_validate(vocab.model_dump())
    pipeline = TextPipeline(vocab, rules)
    transcriber = WhisperTranscriber(model)
    base = DecodeOptions.from_settings(model)
    raw_texts: list[str] = []
    bias_texts: list[str] = []
    audios = [load_audio(item.audio) for item in items]
    for item, audio in zip(items, audios, strict=True):
        raw_texts.append(transcriber.transcribe(audio, base).text)
        bias_texts.append(pipeline.transcribe(transcriber, audio, base).text)
        log.info("%s: %s | %s", item.id, raw_texts[-1], bias_texts[-1])
    heard = [pipeline.confirm(transcriber, a, t) for a, t in zip(audios, bias_texts, strict=True)]
    corrected = [tidy(pipeline.apply_vocabulary(tidy(t))) for t in heard]
    final = [pipeline.polish(t) for t in heard]
    stages = [
        score_stage("raw", items, raw_texts),
        score_stage("+bias", items, bias_texts),
        score_stage("+autocorrect", items, corrected),
        score_stage("+rules", items, final),
    ]
    second_readings = pipeline.second_readings  # of the stages above, not of live batch's
    if live:
        after_release: list[str] = []
        streamed: list[str] = []
        for clean in audios:
            audio = held(clean)
            heard_after = pipeline.transcribe(transcriber, audio, base).text
            after_release.append(pipeline.finish(transcriber, audio, heard_after))
            heard_streamed = stream_text(pipeline, transcriber, base, audio)
            streamed.append(pipeline.finish(transcriber, audio, heard_streamed))
        stages.append(score_stage("live batch", items, after_release))
        stages.append(score_stage("live stream", items, streamed))
    return JargonReport(vocab.bias, stages[0].total_terms, stages, second_readings)
