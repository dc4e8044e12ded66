"""The emotion engine: emotion2vec+ frame scores for recordings of any length (no Dagster).

The names below are imported on first use: loading the code location (webserver, daemon, every
worker) must not pay for torch, which only the model step needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emotion_assets.lazy_exports import lazy_exports

_EXPORTS = {
    "DEFAULT_MODEL": "config",
    "EmotionEngine": "core",
    "EngineConfig": "config",
    "FrameScores": "core",
    "load_engine": "core",
    "softmax": "core",
    "utterance_scores": "core",
    "utterance_scores_from_probs": "core",
    "ModelUnavailableError": "loading",
    "TINY_MODEL_ID": "model_builder",
    "build_model_dir": "model_builder",
    "cached_model_dir": "model_builder",
}
__all__ = [
    "DEFAULT_MODEL",
    "EmotionEngine",
    "EngineConfig",
    "FrameScores",
    "ModelUnavailableError",
    "TINY_MODEL_ID",
    "build_model_dir",
    "cached_model_dir",
    "load_engine",
    "softmax",
    "utterance_scores",
    "utterance_scores_from_probs",
]

if TYPE_CHECKING:
    from emotion_assets.engine.config import DEFAULT_MODEL, EngineConfig
    from emotion_assets.engine.core import (
        EmotionEngine,
        FrameScores,
        load_engine,
        softmax,
        utterance_scores,
        utterance_scores_from_probs,
    )
    from emotion_assets.engine.loading import ModelUnavailableError
    from emotion_assets.engine.model_builder import (
        TINY_MODEL_ID,
        build_model_dir,
        cached_model_dir,
    )


__getattr__ = lazy_exports(__name__, _EXPORTS)
