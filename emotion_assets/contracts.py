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
        "peak": "Highest smoothed score within the burst.",
        "mean_score": "Mean smoothed score within the burst.",
        "rule_threshold": "The rule's score threshold.",
        "rule_min_duration_s": "The rule's minimum duration in seconds.",
    },
    "emotion_highlights": {
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
