"""Timeline: per (recording, track) and time bucket, speech time and mean scores — a heat map.

A frame belongs to bucket floor(t_start / bucket_s). Every bucket that holds frames gets a row,
silent ones too (speech_s 0, null means), so a heat map has no holes. t_end of the last bucket is
the track's end (last frame start + 0.02 s) rather than a full bucket.
"""

from __future__ import annotations

import polars as pl

from emotion_assets.analytics.common import argmax_label, empty
from emotion_assets.contracts import MEANS, TIMELINE_SCHEMA, conform
from emotion_assets.foundation.labels import EMOTIONS, FRAME_HOP_S


def emotion_timeline(frames: pl.DataFrame, bucket_s: float = 60.0) -> pl.DataFrame:
    """Table `emotion_timeline` from frame_emotion_scores (raw scores of speech frames)."""
    if bucket_s <= 0:
        raise ValueError("bucket_s must be > 0")
    if frames.is_empty():
        return empty(TIMELINE_SCHEMA)
    speech = pl.col("is_speech")
    # Bucket by frame index so float noise in t_start cannot move a frame across a boundary.
    frames_per_bucket = bucket_s / FRAME_HOP_S
    table = frames.with_columns(
        (pl.col("frame_idx") / frames_per_bucket + 1e-9).floor().cast(pl.Int32).alias("bucket_idx"),
        (pl.col("t_start").max().over("recording_id", "track") + FRAME_HOP_S).alias("_track_end"),
    )
    out = (
        table.group_by("recording_date", "recording_id", "track", "bucket_idx")
        .agg(
            (speech.sum() * FRAME_HOP_S).alias("speech_s"),
            pl.col("_track_end").first(),
            *[
                pl.col(e).filter(speech).cast(pl.Float64).mean().alias(f"mean_{e}")
                for e in EMOTIONS
            ],
        )
        .with_columns(
            (pl.col("bucket_idx") * bucket_s).alias("t_start"),
            pl.min_horizontal((pl.col("bucket_idx") + 1) * bucket_s, "_track_end").alias("t_end"),
            argmax_label(list(MEANS), EMOTIONS).alias("dominant_emotion"),
        )
        .sort("recording_id", "track", "bucket_idx")
    )
    return conform(out, TIMELINE_SCHEMA)
