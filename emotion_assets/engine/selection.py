"""Which model actually runs: the configured one, or (demo only) the tiny one, loudly."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from emotion_assets.engine.core import EmotionEngine, EngineConfig, load_engine
from emotion_assets.engine.loading import ModelUnavailableError
from emotion_assets.engine.model_builder import TINY_MODEL_ID, cached_model_dir

log = logging.getLogger(__name__)

TINY_MODEL_WARNING = (
    "The model at {model} is the TINY RANDOM MODEL: its scores carry no meaning (tests and "
    "demos only)."
)
TINY_FALLBACK_WARNING = (
    "EMOTION_MODEL is unset and {model} could not be loaded ({why}), so the TINY RANDOM MODEL "
    "runs instead: its scores carry no meaning. Download the real weights and set "
    "EMOTION_MODEL (README, 'Model')."
)


def load_with_fallback(
    cfg: EngineConfig, *, allow_tiny_fallback: bool, tiny_dir: Path
) -> tuple[EmotionEngine, str | None]:
    """Load `cfg`'s model; if that fails and the fallback is allowed, the tiny model + a warning."""
    template, why = TINY_MODEL_WARNING, ""
    try:
        engine = load_engine(cfg)
    except ModelUnavailableError as exc:
        if not allow_tiny_fallback:
            raise
        log.warning("%s", exc)
        tiny = cached_model_dir(tiny_dir, size="tiny")
        engine = load_engine(replace(cfg, model=str(tiny)))
        template, why = TINY_FALLBACK_WARNING, exc.why
    warning = None
    if TINY_MODEL_ID in engine.model_id:
        warning = template.format(model=cfg.model, why=why)
        log.warning("%s", warning)
    return engine, warning
