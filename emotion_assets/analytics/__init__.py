"""Analytics tables over the emotion frames (pure: polars, DuckDB, numpy/scipy, scikit-learn).

Each function returns one lake table (schemas in emotion_assets/contracts.py). See
docs/analytics.md.
"""

from __future__ import annotations

from emotion_assets.analytics.bursts import find_bursts
from emotion_assets.analytics.clusters import cluster_embeddings
from emotion_assets.analytics.compare import compare_recordings
from emotion_assets.analytics.highlights import find_highlights
from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets.analytics.summary import recording_summary
from emotion_assets.analytics.team_health import ALL_RECORDINGS, team_health
from emotion_assets.analytics.timeline import emotion_timeline

__all__ = [
    "ALL_RECORDINGS",
    "cluster_embeddings",
    "compare_recordings",
    "emotion_timeline",
    "find_bursts",
    "find_highlights",
    "recording_summary",
    "smooth_frames",
    "team_health",
]
