"""The columns and dtypes of every contract table (docs/CONTRACTS.md), spelled out once.

The ingest and engine builders produce exactly these; the quality checks validate against them.
"""

from __future__ import annotations

import polars as pl

from emotion_assets.labels import EMOTIONS

# The embedding width depends on the model (1024 for large, 768 for base): only the inner
# type is checked, `conform` keeps the width it finds.
EMBEDDING_DIM = 1024

_ID = {"recording_date": pl.Date, "recording_id": pl.String}

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
