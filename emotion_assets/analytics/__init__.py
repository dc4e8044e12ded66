"""Analytics tables over the emotion frames (pure: polars, DuckDB, numpy/scipy, scikit-learn).

Each function returns one lake table; `TABLES` maps table name -> (function, schema) for the
Dagster wiring. See docs/analytics.md.
"""

from __future__ import annotations

import polars as pl

from emotion_assets.analytics.bursts import BURSTS_SCHEMA, find_bursts
from emotion_assets.analytics.clusters import CLUSTERS_SCHEMA, cluster_embeddings
from emotion_assets.analytics.compare import COMPARISON_SCHEMA, compare_recordings
from emotion_assets.analytics.highlights import HIGHLIGHTS_SCHEMA, find_highlights
from emotion_assets.analytics.smoothing import SMOOTHED_SCHEMA, smooth_frames
from emotion_assets.analytics.summary import SUMMARY_SCHEMA, recording_summary
from emotion_assets.analytics.team_health import ALL_RECORDINGS, TEAM_HEALTH_SCHEMA, team_health
from emotion_assets.analytics.timeline import TIMELINE_SCHEMA, emotion_timeline

ANALYTICS_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "smoothed_emotion_curves": SMOOTHED_SCHEMA,
    "recording_summary": SUMMARY_SCHEMA,
    "emotion_bursts": BURSTS_SCHEMA,
    "emotion_highlights": HIGHLIGHTS_SCHEMA,
    "emotion_timeline": TIMELINE_SCHEMA,
    "team_health": TEAM_HEALTH_SCHEMA,
    "emotion_comparisons": COMPARISON_SCHEMA,
    "emotion_clusters": CLUSTERS_SCHEMA,
}

# Columns that identify a row (unique per partition), for the warehouse's key checks.
ANALYTICS_KEYS: dict[str, tuple[str, ...]] = {
    "smoothed_emotion_curves": ("recording_id", "track", "frame_idx"),
    "recording_summary": ("recording_id", "track", "scope", "speaker"),
    "emotion_bursts": ("recording_id", "track", "emotion", "t_start"),
    "emotion_highlights": ("recording_id", "track", "rank_by", "rank"),
    "emotion_timeline": ("recording_id", "track", "bucket_idx"),
    "team_health": ("recording_date", "speaker"),
    "emotion_comparisons": ("recording_id", "other_recording_id", "track", "emotion"),
    "emotion_clusters": ("recording_id", "track", "segment_idx"),
}

__all__ = [
    "ALL_RECORDINGS",
    "ANALYTICS_KEYS",
    "ANALYTICS_SCHEMAS",
    "cluster_embeddings",
    "compare_recordings",
    "emotion_timeline",
    "find_bursts",
    "find_highlights",
    "recording_summary",
    "smooth_frames",
    "team_health",
]
