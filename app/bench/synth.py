"""Make extra jargon development clips with espeak-ng, to check that accuracy work generalises.

The sentences below use terms and voices that are *not* in the shared development set. The
output folder gets ``manifest.tsv`` (``id voice text terms``) and ``audio/<id>.wav`` in the same
layout as the development set, so ``holdtype bench jargon OUT/manifest.tsv`` reads it directly.

Usage::

    python -m app.bench.synth /tmp/jargon-extra
"""

from __future__ import annotations

import csv
import logging
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

# (voice, text, terms). Written for this script; never copied from an evaluation set.
SENTENCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("en-us", "We moved the admin pages from Flask to Django last spring.", ("Flask", "Django")),
    (
        "en-gb",
        "The model was trained with TensorFlow and plotted with Matplotlib.",
        ("TensorFlow", "Matplotlib"),
    ),
    (
        "en-us+f3",
        "Open a Jupyter notebook and load the weights from Hugging Face.",
        ("Jupyter", "Hugging Face"),
    ),
    ("en-gb+m3", "She rewrote the training loop in PyTorch over the weekend.", ("PyTorch",)),
    (
        "en-us+m1",
        "The command line tool is written in Rust and the front end in TypeScript.",
        ("Rust", "TypeScript"),
    ),
    ("en-us", "Run npm install and then check the YAML file for typos.", ("npm", "YAML")),
    ("en-gb+f2", "For small apps SQLite is enough, but we cache sessions in Redis.", ("SQLite", "Redis")),
    (
        "en-us+m4",
        "Put NGINX in front of the service and switch the internal calls to gRPC.",
        ("NGINX", "gRPC"),
    ),
    ("en-gb", "Users sign in with OAuth and the token is stored in a cookie.", ("OAuth",)),
    ("en-us+f1", "Build the Docker image and push it to the registry before lunch.", ("Docker",)),
    ("en-us", "The signal processing code depends on SciPy and NumPy.", ("SciPy", "NumPy")),
    ("en-gb+m2", "Create a conda environment and install the package with pip.", ("conda", "pip")),
    ("en-us+m3", "Type checking with mypy found three bugs, and Ruff fixed the imports.", ("mypy", "Ruff")),
    ("en-us+f4", "The query layer uses GraphQL and the jobs run on Celery.", ("GraphQL", "Celery")),
    ("en-gb+f3", "Our events flow through Kafka into a warehouse on AWS.", ("Kafka", "AWS")),
    ("en-us", "Add a pre-commit hook so the formatter runs on every commit.", ("pre-commit",)),
    ("en-gb+m3", "The dashboard is served by Node.js and styled with Tailwind.", ("Node.js", "Tailwind")),
    ("en-us+m2", "I keep my notes in Obsidian and my code on GitLab.", ("Obsidian", "GitLab")),
    ("en-us+f2", "Terraform creates the bucket and the API gateway for us.", ("Terraform", "API")),
    ("en-gb", "Please add type hints and run the tests before you merge.", ()),
    ("en-us", "The weather was lovely, so we ate apple pie in the garden.", ()),
)


def synthesize(text: str, voice: str, out: Path, speed: int = 160) -> None:
    """Speak ``text`` with espeak-ng into a 16 kHz mono 16-bit WAV at ``out``."""
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
    raw.unlink()


def build(folder: Path) -> Path:
    """Write the clips and ``manifest.tsv`` into ``folder``; return the manifest path."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing; install it with: sudo apt-get install espeak-ng sox")
    audio = folder / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.tsv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "voice", "text", "terms"])
        for n, (voice, text, terms) in enumerate(SENTENCES, 1):
            clip_id = f"x{n:02d}"
            synthesize(text, voice, audio / f"{clip_id}.wav")
            writer.writerow([clip_id, voice, text, "|".join(terms)])
    log.info("wrote %d clips to %s", len(SENTENCES), folder)
    return manifest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m app.bench.synth OUTPUT_FOLDER")
    print(build(Path(sys.argv[1])))
