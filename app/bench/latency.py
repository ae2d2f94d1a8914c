"""Release-to-text latency: streaming decoding vs batch decoding after release, in one run.

Utterances of about 5, 10, 30 and 60 s are fed at real-time pace to the same streaming loop the
engine runs (:func:`app.transcribe.streaming.stream_while_recording`); at "release" the loop
stops, the tail is finished and the text pipeline runs. The same audio is then decoded in one
batch, as an app without streaming would do after release. A second streaming pass appends
0.5 s of near-silence before release: the speaker paused before letting go.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.bench import synth
from app.bench.wer import corpus_wer
from app.config import Settings
from app.errors import HoldtypeError
from app.text.pipeline import TextPipeline
from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.streaming import stream_while_recording
from app.transcribe.whisper import DecodeOptions, WhisperTranscriber

BLOCK_S = 0.05  # the recorder delivers 50 ms blocks
GAP_S = 0.35  # silence between concatenated clips

# Generic sentences for synthesized utterances when no clips are given (not tuned on anything).
_SENTENCES = (
    "The meeting moved to Thursday afternoon because the projector in the main room was broken.",
    "Please send the updated figures to the whole team before the end of the week.",
    "We walked along the river for an hour and then stopped for coffee near the old bridge.",
    "The library will close early tomorrow, so return your books in the morning.",
    "After the storm the garden was full of leaves, and two branches had fallen on the fence.",
    "Remember to water the plants on the balcony while I am away on holiday.",
    "The new schedule starts next month and every train will stop at the airport.",
    "She wrote three letters, read the newspaper, and cooked dinner for her friends.",
    "Our neighbours are building a small wooden shed at the back of their house.",
    "If the weather is good on Saturday we will drive to the coast and swim in the sea.",
    "The museum has a large collection of old maps, coins, and paintings from the region.",
    "He forgot his umbrella on the bus and had to walk home in the rain.",
)


@dataclass(frozen=True, slots=True)
class Clip:
    """An utterance to feed: audio and, when known, its reference text."""

    audio: np.ndarray
    reference: str | None

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return len(self.audio) / SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class Measure:
    """One utterance measured three ways."""

    target_s: float
    seconds: float
    batch_ms: float
    stream_ms: float
    pause_ms: float
    decodes: int
    busy_ms: float  # decoding time streaming spent on the utterance, while held and after
    reference: str | None
    batch_text: str
    stream_text: str
    pause_text: str


def _sources_from(path: Path) -> list[tuple[Path, str | None]]:
    """Audio files (with reference text when a manifest gives it) from a folder or manifest."""
    if path.is_dir():
        exts = {".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus"}
        return [(p, None) for p in sorted(path.iterdir()) if p.suffix.lower() in exts]
    if path.suffix == ".jsonl":
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append((path.parent / row["path"], row.get("text")))
        return out
    if path.suffix == ".tsv":
        lines = path.read_text(encoding="utf-8").splitlines()
        header = lines[0].split("\t")
        out = []
        for line in lines[1:]:
            row = dict(zip(header, line.split("\t"), strict=False))
            out.append((path.parent / "audio" / f"{row['id']}.wav", row.get("text")))
        return out
    raise HoldtypeError(f"{path}: give a folder of audio files, a .jsonl or a .tsv manifest")


def synthesize(folder: Path) -> list[tuple[Path, str | None]]:
    """Speak the built-in sentences with espeak-ng (two voices) into ``folder``."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        raise HoldtypeError(
            "no --clips given and espeak-ng/sox are missing to synthesize speech; "
            "install them (apt-get install espeak-ng sox) or pass --clips DIR|MANIFEST"
        )
    out: list[tuple[Path, str | None]] = []
    for i, text in enumerate(_SENTENCES):
        voice = ("en-us", "en-gb", "en-us+m3", "en-gb+f3")[i % 4]
        wav = folder / f"s{i:02d}.wav"
        synth.synthesize(text, voice, wav, speed=165)
        out.append((wav, text))
    return out


def build_utterances(sources: list[tuple[Path, str | None]], target_s: float, count: int) -> list[Clip]:
    """Pack clips (with short gaps) into ``count`` distinct utterances of about ``target_s``.

    Each utterance starts from a different clip and takes the next ones that still fit under
    1.3 × the target, until it reaches 0.85 × the target.
    """
    loaded = [(load_audio(p), ref) for p, ref in sources]
    loaded = [(a, r) for a, r in loaded if 0.5 < len(a) / SAMPLE_RATE <= target_s * 1.3]
    if not loaded:
        raise HoldtypeError(f"no audio clips shorter than {target_s * 1.3:.0f} s found")
    utterances: list[Clip] = []
    for k in range(count):
        level: float | None = None
        parts: list[np.ndarray] = []
        refs: list[str | None] = []
        total = 0.0
        for j in range(len(loaded)):
            audio, ref = loaded[(k * 7 + j) % len(loaded)]
            seconds = len(audio) / SAMPLE_RATE
            if total + seconds > target_s * 1.3:
                continue
            # One utterance is one speaker on one microphone: every clip is brought to the
            # speech level of the first; between clips, the room tone of the clip before.
            speech = speech_level(audio)
            level = level or speech
            audio = (audio * (level / speech)).astype(np.float32)
            parts += [audio, _quiet(GAP_S, j, noise_floor(audio))]
            refs.append(ref)
            total += seconds + GAP_S
            if total >= target_s * 0.85:
                break
        reference = None if any(r is None for r in refs) else " ".join(r for r in refs if r)
        utterances.append(Clip(np.concatenate(parts[:-1]), reference))
    return utterances


def _quiet(seconds: float, seed: int = 0, level: float = 5e-4) -> np.ndarray:
    """Room tone: noise at ``level`` RMS (default about -66 dBFS), as a real microphone delivers."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SAMPLE_RATE)) * level).astype(np.float32)


def _frame_level(audio: np.ndarray, percentile: float, default: float) -> float:
    frame = SAMPLE_RATE // 50
    n = len(audio) // frame
    if n == 0:
        return default
    frames = audio[: n * frame].reshape(n, frame).astype(np.float64)
    return max(float(np.percentile(np.sqrt(np.mean(frames * frames, axis=1)), percentile)), 1e-6)


def noise_floor(audio: np.ndarray) -> float:
    """The recording's own room tone: the RMS of its quietest tenth of 20 ms frames."""
    return _frame_level(audio, 10, 5e-4)


def speech_level(audio: np.ndarray) -> float:
    """The recording's speech level: the RMS of its loudest twentieth of 20 ms frames."""
    return _frame_level(audio, 95, 0.1)


def _stream_once(
    transcriber: WhisperTranscriber,
    pipeline: TextPipeline,
    base: DecodeOptions,
    audio: np.ndarray,
) -> tuple[float, str, int, float]:
    """Feed ``audio`` at real-time pace; return (release→text ms, text, decodes, decoding ms)."""
    streaming = pipeline.streaming(transcriber, base)
    recording = threading.Event()
    recording.set()
    fed = [0]
    released = [0.0]
    block = int(BLOCK_S * SAMPLE_RATE)

    def feeder() -> None:
        t0 = time.perf_counter()
        n = 0
        while fed[0] < len(audio):
            n += 1
            wait = t0 + n * BLOCK_S - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            fed[0] = min(len(audio), fed[0] + block)
        released[0] = time.perf_counter()
        recording.clear()

    thread = threading.Thread(target=feeder, daemon=True)
    thread.start()
    stream_while_recording(streaming, lambda: audio[: fed[0]], recording)
    thread.join()
    transcript = streaming.finish(audio)
    text = pipeline.finish(transcriber, audio, transcript.text)
    ms = (time.perf_counter() - released[0]) * 1000
    return ms, text, streaming.decodes, streaming.decode_ms


def measure(
    settings: Settings,
    sources: list[tuple[Path, str | None]],
    lengths: list[float],
    repeats: int,
    progress: Callable[[str], None] | None = None,
) -> Iterator[Measure]:
    """Measure every length ``repeats`` times; yield one :class:`Measure` per utterance."""
    transcriber = WhisperTranscriber(settings.model)
    transcriber.load()
    pipeline = TextPipeline.from_settings(settings)
    base = DecodeOptions.from_settings(settings.model)
    pipeline.transcribe(transcriber, _quiet(1.0) + 0.0, base)  # warm-up
    for target in lengths:
        for k, clip in enumerate(build_utterances(sources, target, repeats)):
            if progress:
                progress(f"{target:.0f} s utterance {k + 1}/{repeats} ({clip.seconds:.1f} s)")
            started = time.perf_counter()
            heard = pipeline.transcribe(transcriber, clip.audio, base).text
            batch_text = pipeline.finish(transcriber, clip.audio, heard)
            batch_ms = (time.perf_counter() - started) * 1000
            stream_ms, stream_text, decodes, busy_ms = _stream_once(transcriber, pipeline, base, clip.audio)
            # The pause sounds like the recording's own silences, whatever its level.
            paused = np.concatenate([clip.audio, _quiet(0.5, k, noise_floor(clip.audio))])
            pause_ms, pause_text, _, _ = _stream_once(transcriber, pipeline, base, paused)
            yield Measure(
                target,
                clip.seconds,
                batch_ms,
                stream_ms,
                pause_ms,
                decodes,
                busy_ms,
                clip.reference,
                batch_text,
                stream_text,
                pause_text,
            )


def summarize(results: list[Measure]) -> list[dict[str, float | int | None]]:
    """Median figures per target length (and WER of each way when references are known)."""
    rows = []
    for target in sorted({r.target_s for r in results}):
        group = [r for r in results if r.target_s == target]
        batch = statistics.median(r.batch_ms for r in group)
        stream = statistics.median(r.stream_ms for r in group)
        with_refs = [r for r in group if r.reference]
        row: dict[str, float | int | None] = {
            "target_s": target,
            "n": len(group),
            "seconds": statistics.median(r.seconds for r in group),
            "batch_ms": batch,
            "stream_ms": stream,
            "ratio": stream / batch if batch else None,
            "pause_ms": statistics.median(r.pause_ms for r in group),
            "decodes": statistics.median(r.decodes for r in group),
            "busy_ms": statistics.median(r.busy_ms for r in group),
            "wer_batch": None,
            "wer_stream": None,
        }
        if with_refs:
            row["wer_batch"] = corpus_wer((r.reference or "", r.batch_text) for r in with_refs).wer
            row["wer_stream"] = corpus_wer((r.reference or "", r.stream_text) for r in with_refs).wer
        rows.append(row)
    return rows


def temporary_synth_dir() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for synthesized clips."""
    return tempfile.TemporaryDirectory(prefix="holdtype-latency-")
