"""Word error rate over a set of (reference, hypothesis) pairs, on normalised text."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jiwer

from app.config import ModelSettings, VocabularySettings
from app.errors import HoldtypeError
from app.text.normalize import normalize_for_wer


@dataclass(frozen=True, slots=True)
class WerResult:
    """Corpus-level WER: total edits over total reference words."""

    errors: int
    words: int

    @property
    def wer(self) -> float:
        """The word error rate (0.0 when there are no reference words)."""
        return self.errors / self.words if self.words else 0.0


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """Return (substitutions + deletions + insertions, reference words) after normalisation."""
    ref = normalize_for_wer(reference)
    hyp = normalize_for_wer(hypothesis)
    ref_words = len(ref.split())
    if not ref_words:
        return len(hyp.split()), 0
    if not hyp:
        return ref_words, ref_words
    out = jiwer.process_words(ref, hyp)
    return out.substitutions + out.deletions + out.insertions, ref_words


def corpus_wer(pairs: Iterable[tuple[str, str]]) -> WerResult:
    """Corpus WER of (reference, hypothesis) pairs: summed edits over summed reference words."""
    errors = words = 0
    for reference, hypothesis in pairs:
        e, w = word_errors(reference, hypothesis)
        errors += e
        words += w
    return WerResult(errors, words)


@dataclass(frozen=True, slots=True)
class SpeechItem:
    """One clip of a JSON-lines speech manifest."""

    path: Path
    text: str


def read_speech_manifest(path: Path, limit: int | None = None) -> list[SpeechItem]:
    """Read JSON lines with ``path`` (relative to the manifest) and ``text``."""
    if not path.is_file():
        raise HoldtypeError(f"no such manifest: {path}")
    items: list[SpeechItem] = []
    try:
        text = path.read_text(encoding="utf-8-sig")  # (a byte-order mark is no JSON)
    except UnicodeDecodeError as exc:  # (UTF-16, an audio file given by mistake: a traceback)
        raise HoldtypeError(f"{path} is not UTF-8 text ({exc.reason})") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row["path"], str) or not isinstance(row["text"], str):
                raise TypeError("path and text must be strings")
            items.append(SpeechItem(path.parent / row["path"], row["text"]))
        except (ValueError, KeyError, TypeError) as exc:
            hint = ""
            if "\t" in line:  # a jargon manifest (id, voice, text, terms)
                hint = "; a tab-separated jargon manifest goes to `holdtype bench jargon`"
            raise HoldtypeError(f"{path}:{n}: not a JSON line with path and text ({exc}){hint}") from None
        # Each clip is looked for before any is decoded: a typo on the last line cost the
        # minutes of decoding before it, and named no line.
        if not items[-1].path.is_file():
            raise HoldtypeError(f"{path}:{n}: no such clip: {items[-1].path}")
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise HoldtypeError(f"no clips in {path}: it holds no JSON lines")
    return items


@dataclass(frozen=True, slots=True)
class WerComparison:
    """Plain faster-whisper against the full text pipeline, on the same clips in one run."""

    clips: int
    audio_s: float
    plain: WerResult
    pipeline: WerResult
    plain_decode_s: float
    pipeline_decode_s: float

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "clips": self.clips,
            "audio_s": round(self.audio_s, 2),
            "plain_wer": round(self.plain.wer, 4),
            "pipeline_wer": round(self.pipeline.wer, 4),
            "reference_words": self.plain.words,
            "plain_rtf": round(self.plain_decode_s / self.audio_s, 4) if self.audio_s else None,
            "pipeline_rtf": round(self.pipeline_decode_s / self.audio_s, 4) if self.audio_s else None,
        }


def compare_wer(
    items: list[SpeechItem], model: ModelSettings, vocabulary: VocabularySettings
) -> WerComparison:
    """Decode every clip plainly and through the pipeline (bias + correction) and score both."""
    from app.text.pipeline import TextPipeline
    from app.transcribe.audiofile import SAMPLE_RATE, load_audio
    from app.transcribe.whisper import DecodeOptions, WhisperTranscriber

    pipeline = TextPipeline(vocabulary, [])
    transcriber = WhisperTranscriber(model)
    transcriber.load()
    base = DecodeOptions.from_settings(model)
    plain_pairs: list[tuple[str, str]] = []
    pipe_pairs: list[tuple[str, str]] = []
    audio_s = plain_s = pipe_s = 0.0
    for item in items:
        audio = load_audio(item.path)
        audio_s += len(audio) / SAMPLE_RATE
        started = time.perf_counter()
        plain = transcriber.plain_transcribe(audio)
        plain_s += time.perf_counter() - started
        started = time.perf_counter()
        text = pipeline.finish(transcriber, audio, pipeline.transcribe(transcriber, audio, base).text)
        pipe_s += time.perf_counter() - started
        plain_pairs.append((item.text, plain))
        pipe_pairs.append((item.text, text))
    return WerComparison(
        len(items), audio_s, corpus_wer(plain_pairs), corpus_wer(pipe_pairs), plain_s, pipe_s
    )
