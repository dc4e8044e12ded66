"""Every lake table's contract, spelled out once: columns and dtypes, keys, allowed values.

The ingest, engine, analytics and report builders produce exactly these schemas; the quality
checks (emotion_assets/quality) and the warehouse read them. docs/CONTRACTS.md (ingest and model
tables) and docs/analytics.md (derived tables) describe the columns.
"""

from __future__ import annotations

import polars as pl

from emotion_assets.labels import EMOTIONS

# The embedding width depends on the model (1024 for large, 768 for base): only the inner
# type is checked, `conform` keeps the width it finds.
EMBEDDING_DIM = 1024

_ID = {"recording_date": pl.Date, "recording_id": pl.String}
ID_COLUMNS: dict[str, pl.DataType] = dict(_ID)
SCORES32: dict[str, pl.DataType] = {e: pl.Float32 for e in EMOTIONS}
MEANS: dict[str, pl.DataType] = {f"mean_{e}": pl.Float64 for e in EMOTIONS}

# One row per problem: a sidecar may have several (two bad RTTM lines), so the stage alone does
# not identify a row. quarantine_table numbers them in a stable order.
QUARANTINE_KEY: tuple[str, ...] = ("recording_date", "file_name", "stage", "problem_idx")

CONTRACT_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "raw_recordings": {
        **_ID,
        "file_name": pl.String,
        "source_path": pl.String,
        "container": pl.String,
        "codec": pl.String,
        "duration_s": pl.Float64,
        "sample_rate": pl.Int64,
        "channels": pl.Int64,
        "bytes": pl.Int64,
        "sha256": pl.String,
        "status": pl.String,
        "duplicate_of": pl.String,
        "reason": pl.String,
        "speaker": pl.String,
        "team": pl.String,
        "compare_with": pl.String,
        "metadata_json": pl.String,
        "has_rttm": pl.Boolean,
        "channel_map_json": pl.String,
        "detail": pl.String,  # ffmpeg's words for a quarantined file (feeds quarantine.detail)
    },
    "normalized_audio": {
        **_ID,
        "track": pl.Int32,
        "channel_mode": pl.String,
        "speaker": pl.String,
        "audio_path": pl.String,
        "sample_rate": pl.Int64,
        "n_samples": pl.Int64,
        "duration_s": pl.Float64,
        "source_duration_s": pl.Float64,
        "peak": pl.Float64,
        "rms": pl.Float64,
        "clipped_fraction": pl.Float64,
    },
    "speech_segments": {
        **_ID,
        "track": pl.Int32,
        "segment_idx": pl.Int32,
        "t_start": pl.Float64,
        "t_end": pl.Float64,
        "duration_s": pl.Float64,
    },
    "speaker_turns": {
        **_ID,
        "track": pl.Int32,
        "turn_idx": pl.Int32,
        "speaker": pl.String,
        "t_start": pl.Float64,
        "t_end": pl.Float64,
        "duration_s": pl.Float64,
        "source": pl.String,
    },
    "quarantine": {
        **_ID,
        "file_name": pl.String,
        "stage": pl.String,
        "problem_idx": pl.Int32,  # 0, 1, ... per (date, file, stage): one file may have several
        "reason": pl.String,
        "detail": pl.String,
    },
    "frame_emotion_scores": {
        **_ID,
        "track": pl.Int32,
        "speaker": pl.String,
        "is_overlap": pl.Boolean,
        "frame_idx": pl.Int32,
        "t_start": pl.Float64,
        "t_end": pl.Float64,
        **{e: pl.Float32 for e in EMOTIONS},
        "top_emotion": pl.String,
        "is_speech": pl.Boolean,
        "model_id": pl.String,
    },
    "utterance_emotion_scores": {
        **_ID,
        "track": pl.Int32,
        "scope": pl.String,
        "segment_idx": pl.Int32,
        "speaker": pl.String,
        "t_start": pl.Float64,
        "t_end": pl.Float64,
        "n_frames": pl.Int64,
        **{e: pl.Float64 for e in EMOTIONS},
        "top_emotion": pl.String,
        "confidence": pl.Float64,
        "model_id": pl.String,
    },
    "emotion_embeddings": {
        **_ID,
        "track": pl.Int32,
        "segment_idx": pl.Int32,
        "speaker": pl.String,
        "t_start": pl.Float64,
        "t_end": pl.Float64,
        "embedding": pl.Array(pl.Float32, EMBEDDING_DIM),
        "model_id": pl.String,
    },
}


# Transcript tables (docs/transcripts.md): derived tables, validated by the generic checks
# (schema, keys, shares) rather than by a Great Expectations suite.
TRANSCRIPT_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "transcript_segments": {
        **_ID,
        "track": pl.Int32,
        "segment_idx": pl.Int32,
        "speaker": pl.String,
        "speaker_source": pl.String,
        "t_start": pl.Float64,
        "t_end": pl.Float64,
        "text": pl.String,
        "clipped": pl.Boolean,
        "source_file": pl.String,
        "source_format": pl.String,
        "encoding": pl.String,
    },
    "transcript_words": {
        **_ID,
        "track": pl.Int32,
        "segment_idx": pl.Int32,
        "word_idx": pl.Int32,
        "speaker": pl.String,
        "t_start": pl.Float64,
        "t_end": pl.Float64,
        "word": pl.String,
        "score": pl.Float64,
        "source_file": pl.String,
    },
    "segment_emotions": {
        **_ID,
        "track": pl.Int32,
        "scope": pl.String,
        "segment_idx": pl.Int32,
        "word_idx": pl.Int32,
        "speaker": pl.String,
        "t_start": pl.Float64,
        "t_end": pl.Float64,
        "text": pl.String,
        "n_frames": pl.Int64,
        **{e: pl.Float64 for e in EMOTIONS},
        "top_emotion": pl.String,
        "confidence": pl.Float64,
        "peak_emotion": pl.String,
        "peak_score": pl.Float64,
        "emotional_share": pl.Float64,
        "speech_share": pl.Float64,
        "model_id": pl.String,
    },
}

# --- derived tables (analytics and reports; docs/analytics.md) ---------------------------------
BURSTS_SCHEMA: dict[str, pl.DataType] = {
    **ID_COLUMNS,
    "track": pl.Int32,
    "speaker": pl.String,
    "emotion": pl.String,
    "t_start": pl.Float64,
    "t_end": pl.Float64,
    "duration_s": pl.Float64,
    "peak": pl.Float64,
    "mean_score": pl.Float64,
    "rule_threshold": pl.Float64,
    "rule_min_duration_s": pl.Float64,
    "text": pl.String,  # what the transcript says during the burst (null without one)
}


CLUSTERS_SCHEMA: dict[str, pl.DataType] = {
    **ID_COLUMNS,
    "track": pl.Int32,
    "segment_idx": pl.Int32,
    "cluster": pl.Int32,
    "distance_to_centroid": pl.Float64,
}


COMPARISON_SCHEMA: dict[str, pl.DataType] = {
    **ID_COLUMNS,
    "other_recording_id": pl.String,
    "track": pl.Int32,
    "emotion": pl.String,
    "pearson_r": pl.Float64,
    "best_lag_s": pl.Float64,
    "best_lag_r": pl.Float64,
    "n_frames": pl.Int64,
}


HIGHLIGHTS_SCHEMA: dict[str, pl.DataType] = {
    **ID_COLUMNS,
    "track": pl.Int32,
    "rank_by": pl.String,
    "rank": pl.Int32,
    "t_start": pl.Float64,
    "t_end": pl.Float64,
    "duration_s": pl.Float64,
    "speaker": pl.String,
    "dominant_emotion": pl.String,
    "score": pl.Float64,
    "clip_path": pl.String,
    "text": pl.String,  # what the transcript says during the window (null without one)
}


SMOOTHED_SCHEMA: dict[str, pl.DataType] = {
    **ID_COLUMNS,
    "track": pl.Int32,
    "speaker": pl.String,
    "frame_idx": pl.Int32,
    "t_start": pl.Float64,
    "is_speech": pl.Boolean,
    **SCORES32,
    "smoothed_top_emotion": pl.String,
}


SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    **ID_COLUMNS,
    "track": pl.Int32,
    "scope": pl.String,
    "speaker": pl.String,
    "duration_s": pl.Float64,
    "speech_s": pl.Float64,
    "overlap_s": pl.Float64,
    **MEANS,
    "dominant_emotion": pl.String,
    "emotion_entropy": pl.Float64,
    "neutral_share": pl.Float64,
    **{f"std_{e}": pl.Float64 for e in EMOTIONS},
    "n_emotion_changes": pl.Int64,
}


TEAM_HEALTH_SCHEMA: dict[str, pl.DataType] = {
    "recording_date": pl.Date,
    "recording_id": pl.String,
    "speaker": pl.String,
    "team": pl.String,
    "recording_ids": pl.List(pl.String),
    "n_recordings": pl.Int64,
    "speech_s": pl.Float64,
    "neutral_share": pl.Float64,
    "happy_volatility": pl.Float64,
    "anger_burst_count": pl.Int64,
    "anger_bursts_per_hour": pl.Float64,
    "overlap_s": pl.Float64,
    "health_score": pl.Float64,
}


TIMELINE_SCHEMA: dict[str, pl.DataType] = {
    **ID_COLUMNS,
    "track": pl.Int32,
    "bucket_idx": pl.Int32,
    "t_start": pl.Float64,
    "t_end": pl.Float64,
    "speech_s": pl.Float64,
    **MEANS,
    "dominant_emotion": pl.String,
}


REPORT_SCHEMA: dict[str, pl.DataType] = {
    "recording_date": pl.Date,
    "recording_id": pl.String,
    "track": pl.Int32,
    "file_name": pl.String,
    "speaker": pl.String,
    "dominant_emotion": pl.String,
    "confidence": pl.Float64,
    "curves_png": pl.String,
    "heatmap_png": pl.String,
    "report_html": pl.String,
}


DERIVED_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "smoothed_emotion_curves": SMOOTHED_SCHEMA,
    "recording_summary": SUMMARY_SCHEMA,
    "emotion_bursts": BURSTS_SCHEMA,
    "emotion_highlights": HIGHLIGHTS_SCHEMA,
    "emotion_timeline": TIMELINE_SCHEMA,
    "team_health": TEAM_HEALTH_SCHEMA,
    "emotion_comparisons": COMPARISON_SCHEMA,
    "emotion_clusters": CLUSTERS_SCHEMA,
    "emotion_reports": REPORT_SCHEMA,
    **TRANSCRIPT_SCHEMAS,
}

TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {**CONTRACT_SCHEMAS, **DERIVED_SCHEMAS}

# Columns that identify a row; each table must be unique on them (nulls compare equal).
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "raw_recordings": ("recording_date", "file_name"),
    "normalized_audio": ("recording_id", "track"),
    "speech_segments": ("recording_id", "track", "segment_idx"),
    "speaker_turns": ("recording_id", "track", "turn_idx"),
    "quarantine": QUARANTINE_KEY,
    "frame_emotion_scores": ("recording_id", "track", "frame_idx"),
    "utterance_emotion_scores": ("recording_id", "track", "scope", "segment_idx"),
    "emotion_embeddings": ("recording_id", "track", "segment_idx"),
    "smoothed_emotion_curves": ("recording_id", "track", "frame_idx"),
    "recording_summary": ("recording_id", "track", "scope", "speaker"),
    "emotion_bursts": ("recording_id", "track", "emotion", "t_start"),
    "emotion_highlights": ("recording_id", "track", "rank_by", "rank"),
    "emotion_timeline": ("recording_id", "track", "bucket_idx"),
    "team_health": ("recording_date", "speaker"),
    "emotion_comparisons": ("recording_id", "other_recording_id", "track", "emotion"),
    "emotion_clusters": ("recording_id", "track", "segment_idx"),
    "emotion_reports": ("recording_id", "track"),
    "transcript_segments": ("recording_id", "track", "segment_idx"),
    "transcript_words": ("recording_id", "track", "segment_idx", "word_idx"),
    "segment_emotions": ("recording_id", "track", "scope", "segment_idx", "word_idx"),
}

# Key columns that may legitimately be null (a quarantined file may have no recording_id;
# a track-scope utterance has no segment; a summary of a track has no single speaker).
NULLABLE_KEYS: dict[str, frozenset[str]] = {
    "quarantine": frozenset({"recording_id"}),
    "utterance_emotion_scores": frozenset({"segment_idx"}),
    "recording_summary": frozenset({"speaker"}),
    "segment_emotions": frozenset({"word_idx"}),
}

# Allowed values of the enumerated string columns.
ALLOWED_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "raw_recordings": {"status": ("ok", "quarantined", "duplicate")},
    "normalized_audio": {"channel_mode": ("mono", "downmix", "channel")},
    "speaker_turns": {"source": ("rttm", "channel_map", "sidecar")},
    "quarantine": {"stage": ("probe", "decode", "sidecar", "transcript")},
    "frame_emotion_scores": {"top_emotion": EMOTIONS},
    "utterance_emotion_scores": {"scope": ("track", "segment"), "top_emotion": EMOTIONS},
    "transcript_segments": {
        "source_format": ("webvtt", "srt", "whisper_json", "funasr_json"),
        "speaker_source": ("transcript", "rttm", "channel_map", "sidecar"),
    },
    "segment_emotions": {"scope": ("segment", "word"), "top_emotion": EMOTIONS},
}


def not_null_keys(table: str) -> tuple[str, ...]:
    nullable = NULLABLE_KEYS.get(table, frozenset())
    return tuple(c for c in TABLE_KEYS[table] if c not in nullable)


def _family(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "float"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "string"
    if isinstance(dtype, pl.Array | pl.List):
        return "array:" + _family(dtype.inner)
    return str(dtype.base_type())


def dtype_compatible(actual: pl.DataType, expected: pl.DataType) -> bool:
    """Same family (any int width, any float width, string-like, list-like of the same inner);
    an all-null column (pl.Null) fits any type."""
    return actual == pl.Null or _family(actual) == _family(expected)


def conform(
    df: pl.DataFrame, table: str | dict[str, pl.DataType], *, keep_extra: bool = False
) -> pl.DataFrame:
    """A table's columns (a table name, or a schema), in schema order, cast to their dtypes
    (strictly: a value that cannot be cast raises); an embedding keeps the width the model gave
    it. Other columns are dropped, or kept after the schema's with keep_extra."""
    schema = TABLE_SCHEMAS[table] if isinstance(table, str) else table
    exprs = []
    for name, dtype in schema.items():
        if name not in df.columns:
            continue
        actual = df.schema[name]
        if isinstance(dtype, pl.Array) and isinstance(actual, pl.Array):
            dtype = pl.Array(dtype.inner, actual.size)
        exprs.append(pl.col(name).cast(dtype, strict=True))
    extras = [c for c in df.columns if c not in schema] if keep_extra else []
    return df.select(*exprs, *extras)
