"""The emotion engine: emotion2vec+ frame scores for recordings of any length (no Dagster)."""

from emotion_assets.engine.core import (
    DEFAULT_MODEL,
    EmotionEngine,
    EngineConfig,
    FrameScores,
    load_engine,
    softmax,
    utterance_scores,
    utterance_scores_from_probs,
)
from emotion_assets.engine.loading import ModelUnavailableError
from emotion_assets.engine.model_builder import TINY_MODEL_ID, build_model_dir, cached_model_dir

__all__ = [
    "DEFAULT_MODEL",
    "TINY_MODEL_ID",
    "EmotionEngine",
    "EngineConfig",
    "FrameScores",
    "ModelUnavailableError",
    "build_model_dir",
    "cached_model_dir",
    "load_engine",
    "softmax",
    "utterance_scores",
    "utterance_scores_from_probs",
]
