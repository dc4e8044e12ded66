"""Frame tables with a known pattern, shaped like docs/CONTRACTS.md frame_emotion_scores."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import polars as pl

from emotion_assets.foundation.labels import EMOTIONS, FRAME_RATE_HZ

DAY = "2024-03-05"
RECORDING_ID = "0123456789abcdef"
MODEL_ID = "iic/emotion2vec_plus_large"


def shared_audio() -> Path:
    env = os.environ.get("EMOTION_SHARED_AUDIO", "").strip()
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "audio"


def angry_bump(t: np.ndarray, duration: float) -> np.ndarray:
    """Angry rises to ~0.8 in the middle fifth of the recording."""
    mid, width = duration / 2, duration / 12
    return 0.8 * np.exp(-0.5 * ((t - mid) / width) ** 2)


def frames(
    duration_s: float = 60.0, *, track: int = 0, seed: int = 0, model_id: str = MODEL_ID
) -> pl.DataFrame:
    n = int(duration_s * FRAME_RATE_HZ)
    rng = np.random.default_rng(seed)
    idx = np.arange(n, dtype=np.int32)
    t = idx * 0.02
    raw = np.full((n, len(EMOTIONS)), 0.02) + rng.uniform(0, 0.03, (n, len(EMOTIONS)))
    raw[:, EMOTIONS.index("angry")] += angry_bump(t, duration_s)
    raw[:, EMOTIONS.index("neutral")] += 0.5
    scores = (raw / raw.sum(axis=1, keepdims=True)).astype(np.float32)
    # Silence at the start, the end, and a gap at three quarters of the way.
    is_speech = ~(
        (t < 0.04 * duration_s)
        | (t > 0.96 * duration_s)
        | ((t > 0.74 * duration_s) & (t < 0.78 * duration_s))
    )
    table = pl.DataFrame(
        {
            "recording_date": [dt.date.fromisoformat(DAY)] * n,
            "recording_id": [RECORDING_ID] * n,
            "track": pl.Series([track] * n, dtype=pl.Int32),
            "speaker": ["alice" if s else None for s in is_speech],
            "is_overlap": [False] * n,
            "frame_idx": idx,
            "t_start": t,
            "t_end": t + 0.025,
            **{e: scores[:, i] for i, e in enumerate(EMOTIONS)},
            "top_emotion": np.array(EMOTIONS)[scores.argmax(axis=1)],
            "is_speech": is_speech,
            "model_id": [model_id] * n,
        }
    )
    return table


def smoothed(table: pl.DataFrame, window: int = 25) -> pl.DataFrame:
    """Rolling means over speech frames; null on non-speech (as the smoothing stage gives)."""
    return table.with_columns(
        pl.when(pl.col("is_speech"))
        .then(pl.col(e).rolling_mean(window, min_samples=1, center=True))
        .otherwise(None)
        .cast(pl.Float32)
        .alias(e)
        for e in EMOTIONS
    )


def bursts(duration_s: float = 60.0, track: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "recording_id": [RECORDING_ID],
            "track": pl.Series([track], dtype=pl.Int32),
            "emotion": ["angry"],
            "t_start": [0.45 * duration_s],
            "t_end": [0.55 * duration_s],
            "peak": [0.78],
        }
    )


def highlights(duration_s: float = 60.0, track: int = 0) -> pl.DataFrame:
    starts = [0.48 * duration_s, 0.2 * duration_s]
    return pl.DataFrame(
        {
            "recording_id": [RECORDING_ID] * 2,
            "track": pl.Series([track] * 2, dtype=pl.Int32),
            "rank_by": ["intensity"] * 2,
            "rank": pl.Series([1, 2], dtype=pl.Int32),
            "t_start": starts,
            "t_end": [s + 4.0 for s in starts],
            "dominant_emotion": ["angry", "neutral"],
            "score": [0.77, 0.55],
            "clip_path": [f"clips/{DAY}/{RECORDING_ID}_t{track}_h{r}.wav" for r in (1, 2)],
        }
    )
