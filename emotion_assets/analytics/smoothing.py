"""Smoothed emotion curves: a centred rolling mean over consecutive speech frames.

Single frames jump on breaths; people read 3–5 frame trends. Gaps: the mean never crosses a
non-speech frame or a missing frame_idx — each run of consecutive speech frames of one
(recording_id, track) is smoothed on its own, and near a run's edges the window shrinks to the
frames that exist (a 5-frame window at the first frame of a run averages 3 frames).
Non-speech frames get null smoothed scores and a null smoothed_top_emotion.
"""

from __future__ import annotations

import polars as pl

from emotion_assets.analytics.common import argmax_label, empty, run_breaks, track_sorted
from emotion_assets.contracts import SMOOTHED_SCHEMA, conform
from emotion_assets.foundation.labels import EMOTIONS


def smooth_frames(frames: pl.DataFrame, window: int = 5) -> pl.DataFrame:
    """Table `smoothed_emotion_curves` from frame_emotion_scores (see module doc for gaps)."""
    if window < 1:
        raise ValueError("window must be >= 1")
    if frames.is_empty():
        return empty(SMOOTHED_SCHEMA)
    runs = track_sorted(frames).with_columns(
        run_breaks(pl.col("is_speech")).cum_sum().alias("_run")
    )
    smoothed = runs.with_columns(
        pl.when(pl.col("is_speech"))
        .then(
            pl.col(e).cast(pl.Float64).rolling_mean(window, min_samples=1, center=True).over("_run")
        )
        .otherwise(None)
        .alias(e)
        for e in EMOTIONS
    ).with_columns(argmax_label(EMOTIONS).alias("smoothed_top_emotion"))
    return conform(smoothed, SMOOTHED_SCHEMA)
