"""Every lake table's contract, spelled out once: columns and dtypes, keys, allowed values.

The ingest, engine, analytics and report builders produce exactly these schemas; the quality
checks (emotion_assets/quality) and the warehouse read them. docs/CONTRACTS.md (ingest and model
tables) and docs/analytics.md (derived tables) describe the columns.
"""

from __future__ import annotations

import polars as pl

from emotion_assets.foundation.labels import EMOTIONS

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

# Speech-only scoring (EMOTION_SCORE_SPEECH_ONLY) leaves frames outside speech unscored: these
# value columns may be NULL, all together, only in rows where the named boolean is false.
UNSCORED_ROWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "frame_emotion_scores": ("is_speech", (*EMOTIONS, "top_emotion")),
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


# What every column means, in the words the Dagster catalog shows (dagster/column_schema) and
# the docs use. A column name means the same in every table unless TABLE_COLUMN_DESCRIPTIONS
# says otherwise for that table; `column_description` is the one way to look one up.
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "recording_date": "Recording date: the data/raw/YYYY-MM-DD folder, the partition key.",
    "recording_id": "First 16 hex characters of the file's sha256 (a renamed file keeps it).",
    "track": "Track of the recording: 0 for mono/downmix, one per channel of a channel map.",
    "file_name": "File name under data/raw/<date>/.",
    "speaker": "Who speaks (RTTM, channel map or sidecar); null when unknown.",
    "team": "Team from the sidecar (`team` or the `teams` map).",
    "t_start": "Start, seconds from the start of the track.",
    "t_end": "End, seconds from the start of the track.",
    "duration_s": "Length in seconds.",
    "segment_idx": "Index of the speech segment within the track (silero-vad order).",
    "frame_idx": "20 ms frame index: frame i covers [0.02·i, 0.02·i + 0.025) s.",
    "is_speech": "True when the frame's centre lies in a speech segment.",
    "is_overlap": "Two speakers at once: the frame is attributed to neither.",
    "top_emotion": "Label with the highest score.",
    "dominant_emotion": "Label with the highest mean score.",
    "model_id": "The emotion2vec+ model that produced the scores (tiny-random = meaningless).",
    "sample_rate": "Samples per second.",
    "speech_s": "Speech time in seconds (speech frames × 0.02 s).",
    "overlap_s": "Overlap time in seconds (overlap frames × 0.02 s).",
    "neutral_share": "Share of speech frames whose smoothed top emotion is neutral.",
    "n_frames": "Number of 20 ms frames.",
    "reason": "Why the file could not be used, in plain words.",
    "detail": "ffmpeg's own words for the problem, when there are any.",
    "confidence": "Score of the top emotion (0..1).",
    "emotion": "Emotion label.",
    "cluster": "k-means cluster number.",
    "score": "Ranking score of the moment.",
    "rank": "Rank within its ranking, 1 = strongest.",
    "rank_by": "Ranking: intensity (non-neutral score) or variance.",
    "peak": "Highest value.",
}

_EMOTION_WORDS = {
    "frame_emotion_scores": "Score of '{e}' for the frame (0..1; the nine sum to 1).",
    "utterance_emotion_scores": "Score of '{e}': softmax of the mean frame logits (0..1).",
    "smoothed_emotion_curves": "Score of '{e}', centred rolling mean over speech frames.",
    "segment_emotions": "Score of '{e}' for the sentence/word: softmax of the mean frame logits.",
}

TABLE_COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "raw_recordings": {
        "source_path": "Path of the file relative to the data directory.",
        "container": "Container format found by ffprobe (by content, not extension).",
        "codec": "Audio codec of the first audio stream.",
        "duration_s": "Duration in seconds, measured by decoding.",
        "channels": "Audio channels.",
        "bytes": "File size in bytes.",
        "sha256": "sha256 of the file's bytes.",
        "status": "ok, quarantined or duplicate.",
        "duplicate_of": "file_name of the first copy of the same bytes (status duplicate).",
        "compare_with": "Sidecar: the original this take is compared with.",
        "metadata_json": "Sidecar keys the pipeline does not use, as JSON.",
        "has_rttm": "An RTTM sidecar (who spoke when) came with the file.",
        "channel_map_json": "Sidecar channel map (channel → speaker) as JSON.",
    },
    "normalized_audio": {
        "channel_mode": "mono, downmix (all channels averaged) or channel (one per track).",
        "audio_path": "16 kHz mono float32 WAV, relative to the data directory.",
        "sample_rate": "Samples per second of the WAV (16000).",
        "n_samples": "Samples in the WAV.",
        "duration_s": "Duration of the WAV in seconds.",
        "source_duration_s": "Duration of the source file in seconds.",
        "peak": "Highest absolute sample value (0..1).",
        "rms": "Root mean square level.",
        "clipped_fraction": "Share of samples at full scale.",
    },
    "speaker_turns": {
        "turn_idx": "Index of the turn within the track.",
        "source": "Where the turn comes from: rttm, channel_map or sidecar.",
    },
    "quarantine": {
        "problem_idx": "Number of the problem within the file and stage (0, 1, …).",
        "recording_id": "sha256 prefix of the file, null when it could not be read.",
        "stage": "Where the problem was found: probe, decode or sidecar.",
    },
    "utterance_emotion_scores": {
        "scope": "track (whole track) or segment (one speech segment).",
        "segment_idx": "Speech segment index; null for the whole-track row.",
        "n_frames": "Frames covered by the utterance.",
    },
    "emotion_embeddings": {
        "embedding": "Mean emotion2vec embedding of the segment, FLOAT[D] in DuckDB.",
    },
    "smoothed_emotion_curves": {
        "smoothed_top_emotion": "Label with the highest smoothed score.",
    },
    "recording_summary": {
        "scope": "track (one row per track) or speaker (one row per speaker of a track).",
        "duration_s": "Frames × 0.02 s: the track's length, or a speaker's time in turns.",
        "emotion_entropy": "Entropy of the nine mean scores, in bits (0 = one emotion).",
        "n_emotion_changes": "Changes of the smoothed top emotion between speech frames.",
        "overlap_s": "Overlap time in seconds (track rows; null on speaker rows).",
    },
    "emotion_bursts": {
        "text": "What the transcript says during the burst (null without a transcript).",
        "peak": "Highest smoothed score within the burst.",
        "mean_score": "Mean smoothed score within the burst.",
        "rule_threshold": "The rule's score threshold.",
        "rule_min_duration_s": "The rule's minimum duration in seconds.",
    },
    "emotion_highlights": {
        "text": "What the transcript says during the moment (null without a transcript).",
        "clip_path": "WAV clip of the moment, relative to the data directory.",
    },
    "emotion_timeline": {
        "bucket_idx": "Index of the time bucket (EMOTION_TIMELINE_BUCKET_S seconds each).",
        "speech_s": "Speech time in the bucket, seconds.",
        "dominant_emotion": "Label with the highest mean score in the bucket.",
    },
    "team_health": {
        "recording_id": "'ALL': the row aggregates the whole day.",
        "recording_ids": "Recordings with frames of this speaker.",
        "n_recordings": "Number of those recordings.",
        "happy_volatility": "Standard deviation of the raw happy score over speech frames.",
        "anger_burst_count": "Anger bursts of this speaker.",
        "anger_bursts_per_hour": "Anger bursts per hour of their speech.",
        "health_score": "0-100 team-health score (docs/analytics.md#health-score).",
    },
    "emotion_comparisons": {
        "recording_id": "The take.",
        "other_recording_id": "The original it is compared with (sidecar compare_with).",
        "pearson_r": "Pearson correlation of the smoothed curves at lag 0.",
        "best_lag_s": "Lag within ±EMOTION_COMPARE_MAX_LAG_S that maximizes the correlation.",
        "best_lag_r": "Correlation at that lag.",
        "n_frames": "Frame pairs compared.",
    },
    "emotion_clusters": {
        "distance_to_centroid": "Distance of the segment's embedding to its cluster centre.",
    },
    "transcript_segments": {
        "segment_idx": "Index of the cue (sentence) within the track, in time order.",
        "speaker_source": "Where the speaker came from: transcript, rttm, channel_map or sidecar.",
        "text": "What was said (the cue's text).",
        "clipped": "True when the cue ran past the recording's end and was cut there.",
        "source_file": "The transcript file under data/raw/<date>/.",
        "source_format": "webvtt, srt, whisper_json or funasr_json.",
        "encoding": "Text encoding the file was read with (detected).",
    },
    "transcript_words": {
        "segment_idx": "Index of the cue (sentence) the word belongs to.",
        "word_idx": "Index of the word within its cue.",
        "word": "The word.",
        "score": "The ASR's confidence in the word, when it gave one.",
        "source_file": "The transcript file under data/raw/<date>/.",
    },
    "segment_emotions": {
        "scope": "segment (a transcript sentence) or word.",
        "segment_idx": "Index of the transcript sentence within the track.",
        "word_idx": "Index of the word within its sentence (null for a sentence row).",
        "text": "What was said.",
        "n_frames": "20 ms frames whose centre lies inside the sentence/word.",
        "confidence": "Score of the top emotion (0..1).",
        "peak_emotion": "Emotion of the highest smoothed non-neutral score inside it.",
        "peak_score": "That highest smoothed score (0..1).",
        "emotional_share": "Share of its speech frames whose smoothed top emotion is not neutral.",
        "speech_share": "Share of its frames that are speech.",
    },
    "emotion_reports": {
        "confidence": "Confidence of the track's utterance emotion (0..1).",
        "dominant_emotion": "The track's utterance emotion (what funasr reports).",
        "curves_png": "PNG of the nine curves, relative to the data directory.",
        "heatmap_png": "PNG heat map, relative to the data directory.",
        "report_html": "Interactive HTML report, relative to the data directory.",
    },
}


def column_description(table: str, column: str) -> str | None:
    """What `column` of `table` means; None for a column nobody described (a test forbids it)."""
    specific = TABLE_COLUMN_DESCRIPTIONS.get(table, {})
    if column in specific:
        return specific[column]
    for prefix, words in (
        ("mean_", "Mean raw score of '{e}' over speech frames."),
        ("std_", "Volatility: standard deviation of '{e}' over speech frames."),
    ):
        if column.startswith(prefix) and column[len(prefix) :] in EMOTIONS:
            if table == "emotion_timeline" and prefix == "mean_":
                words = "Mean score of '{e}' in the bucket."
            return words.format(e=column[len(prefix) :])
    if column in EMOTIONS and table in _EMOTION_WORDS:
        return _EMOTION_WORDS[table].format(e=column)
    return COLUMN_DESCRIPTIONS.get(column)
