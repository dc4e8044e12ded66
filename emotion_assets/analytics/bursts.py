"""Emotion bursts: runs of frames whose smoothed score stays above a threshold long enough.

Edge semantics (tested): "above" is strict (score > threshold; a score equal to it is not
above); non-speech frames (null smoothed score) and missing frame_idx values end a run. A run of
n consecutive frames lasts n × 0.02 s (one frame stride per frame; the 5 ms tail of the last
frame's 25 ms receptive field is ignored), and counts when n ≥ ceil(min_duration_s / 0.02), so a
burst exactly at the minimum duration counts and one frame shorter does not. t_start is the
first frame's start, t_end = t_start + duration_s.
"""

from __future__ import annotations

import math

import polars as pl

from emotion_assets.analytics.common import empty, run_breaks
from emotion_assets.analytics.spoken_text import attach_spoken_text
from emotion_assets.contracts import BURSTS_SCHEMA, conform
from emotion_assets.foundation.labels import FRAME_HOP_S
from emotion_assets.settings import DEFAULT_BURST_RULES


def min_frames(min_duration_s: float) -> int:
    """Frames needed to last min_duration_s (tolerant of float noise: 3.0 s -> 150 frames)."""
    return max(1, math.ceil(min_duration_s / FRAME_HOP_S - 1e-6))


def _mode_speaker() -> pl.Expr:
    """The speaker of most frames; ties go to the alphabetically first; null if nobody."""
    return pl.col("speaker").drop_nulls().mode().sort().first()


def find_bursts(
    smoothed: pl.DataFrame,
    rules: dict[str, tuple[float, float]] | None = None,
    transcript: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Table `emotion_bursts` from smoothed_emotion_curves; rules: emotion -> (threshold, min s).

    `transcript` (transcript_segments) gives each burst the text said during it.
    """
    rules = DEFAULT_BURST_RULES if rules is None else rules
    if smoothed.is_empty() or not rules:
        return empty(BURSTS_SCHEMA)
    ordered = smoothed.sort("recording_id", "track", "frame_idx")
    found = []
    for emotion, (threshold, min_duration_s) in rules.items():  # a few rules, not frames
        above = (pl.col(emotion) > threshold).fill_null(False)
        runs = (
            ordered.with_columns(above.alias("_above"))
            .with_columns(run_breaks(pl.col("_above")).cum_sum().alias("_run"))
            .filter(pl.col("_above"))
            .group_by("_run")
            .agg(
                pl.col("recording_date", "recording_id", "track").first(),
                _mode_speaker().alias("speaker"),
                pl.col("t_start").min().alias("t_start"),
                pl.len().alias("_n"),
                pl.col(emotion).max().cast(pl.Float64).alias("peak"),
                pl.col(emotion).cast(pl.Float64).mean().alias("mean_score"),
            )
            .filter(pl.col("_n") >= min_frames(min_duration_s))
            .with_columns(
                pl.lit(emotion).alias("emotion"),
                (pl.col("_n") * FRAME_HOP_S).alias("duration_s"),
                pl.lit(float(threshold)).alias("rule_threshold"),
                pl.lit(float(min_duration_s)).alias("rule_min_duration_s"),
            )
            .with_columns((pl.col("t_start") + pl.col("duration_s")).alias("t_end"))
        )
        found.append(attach_spoken_text(runs, transcript))
    bursts = pl.concat([conform(f, BURSTS_SCHEMA) for f in found])
    return bursts.sort("recording_id", "track", "t_start", "emotion")
