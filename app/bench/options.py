"""The model settings a benchmark runs with: the user's, so the figures are those of their setup."""

from __future__ import annotations

from app.config import ModelSettings


def model_settings(configured: ModelSettings, name: str | None = None) -> ModelSettings:
    """The configured model settings (beam, compute type, device...), with ``name`` (``--model``)
    in place of the configured model when given."""
    return configured.model_copy(update={"name": name}) if name else configured


def describe_model(model: ModelSettings) -> str:
    """How a benchmark names what it measured, e.g. ``model tiny.en (beam 10, compute auto)``."""
    return f"model {model.name} (beam {model.beam_size}, compute {model.compute_type})"


def model_fields(model: ModelSettings) -> dict[str, object]:
    """The same, for a benchmark's JSON report."""
    return {"model": model.name, "beam_size": model.beam_size, "compute_type": model.compute_type}
