"""The expected schema of every lake table (docs/CONTRACTS.md) as polars dtypes, in one place.

The wiring may import these to cast (`conform`) or validate tables; the checks use them for the
schema check, the key-uniqueness check and the not-null keys.
"""

from __future__ import annotations

import polars as pl

from emotion_assets.contracts import (  # noqa: F401 (re-export)
    CONTRACT_SCHEMAS,
    EMBEDDING_DIM,
    QUARANTINE_KEY,
)
from emotion_assets.labels import EMOTIONS

TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {t: dict(c) for t, c in CONTRACT_SCHEMAS.items()}

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
}

# Key columns that may legitimately be null (a quarantined file may have no recording_id;
# a track-scope utterance has no segment).
NULLABLE_KEYS: dict[str, frozenset[str]] = {
    "quarantine": frozenset({"recording_id"}),
    "utterance_emotion_scores": frozenset({"segment_idx"}),
}

# Allowed values of the enumerated string columns.
ALLOWED_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "raw_recordings": {"status": ("ok", "quarantined", "duplicate")},
    "normalized_audio": {"channel_mode": ("mono", "downmix", "channel")},
    "speaker_turns": {"source": ("rttm", "channel_map", "sidecar")},
    "quarantine": {"stage": ("probe", "decode", "sidecar")},
    "frame_emotion_scores": {"top_emotion": EMOTIONS},
    "utterance_emotion_scores": {"scope": ("track", "segment"), "top_emotion": EMOTIONS},
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


def conform(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Cast the contract columns to their exact dtypes and put them first (extras stay, after).

    Raises polars' error when a value cannot be cast (strict), so bad data is not hidden.
    """
    schema = TABLE_SCHEMAS[table]
    exprs = []
    for name, dtype in schema.items():
        if name not in df.columns:
            continue
        actual = df.schema[name]
        if isinstance(dtype, pl.Array) and isinstance(actual, pl.Array):
            dtype = pl.Array(dtype.inner, actual.size)  # keep the model's width
        exprs.append(pl.col(name).cast(dtype, strict=True))
    extras = [c for c in df.columns if c not in schema]
    return df.select(*exprs, *extras)


# The contract tables (docs/CONTRACTS.md) have Great Expectations suites; the derived tables
# below get the generic checks (schema, keys, fractions) from their own modules' schemas.
CONTRACT_TABLES: tuple[str, ...] = tuple(TABLE_SCHEMAS)


def _add_derived_tables() -> None:
    from emotion_assets.analytics import ANALYTICS_KEYS, ANALYTICS_SCHEMAS
    from emotion_assets.reports.day import REPORT_SCHEMA

    TABLE_SCHEMAS.update(ANALYTICS_SCHEMAS)
    TABLE_KEYS.update(ANALYTICS_KEYS)
    TABLE_SCHEMAS["emotion_reports"] = REPORT_SCHEMA
    TABLE_KEYS["emotion_reports"] = ("recording_id", "track")
    NULLABLE_KEYS["recording_summary"] = frozenset({"speaker"})


_add_derived_tables()
