"""Recording summary per track and per speaker: time, mean emotions, entropy, volatility, changes.

Means and standard deviations (population, ddof=0) use the raw frame scores of speech frames;
neutral_share and n_emotion_changes use the smoothed top emotion, so breaths do not count as
changes. n_emotion_changes walks the speech frames in order and skips non-speech gaps: a
change across a pause counts once. Speaker rows group (recording, track, speaker) and take only
frames with that speaker; frames of nobody or of two people at once (speaker null) are left out.
duration_s = frames × 0.02 s (within 25 ms of the audio length for a track; the time the
turns give the speaker for a speaker row); speech_s = speech frames × 0.02 s; overlap_s =
frames flagged is_overlap × 0.02 s (track rows; null on speaker rows, whose frames never
overlap by construction).
"""

from __future__ import annotations

import polars as pl

from emotion_assets.analytics.common import argmax_label, empty
from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets.contracts import MEANS, SUMMARY_SCHEMA, conform
from emotion_assets.foundation.labels import EMOTIONS, FRAME_HOP_S


def with_smoothed_top(
    frames: pl.DataFrame, smoothed: pl.DataFrame | None, window: int
) -> pl.DataFrame:
    """Frames (raw scores) plus smoothed_top_emotion, sorted by recording, track, frame."""
    if smoothed is None:
        smoothed = smooth_frames(frames, window)
    top = smoothed.select("recording_id", "track", "frame_idx", "smoothed_top_emotion")
    return frames.join(top, on=["recording_id", "track", "frame_idx"], how="left").sort(
        "recording_id", "track", "frame_idx"
    )


def entropy_bits(columns: list[str]) -> pl.Expr:
    """H = −Σ p log2 p over the columns, renormalised to sum 1; 0·log 0 = 0; null if all null."""
    total = pl.sum_horizontal(columns)
    terms = [
        pl.when(pl.col(c) > 0)
        .then(-(pl.col(c) / total) * (pl.col(c) / total).log(2))
        .otherwise(0.0)
        for c in columns
    ]
    return pl.when(total > 0).then(pl.sum_horizontal(terms)).otherwise(None)


def _aggregate(frames: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    speech = pl.col("is_speech")
    top = pl.col("smoothed_top_emotion").filter(speech)
    return frames.group_by(keys, maintain_order=True).agg(
        (pl.len() * FRAME_HOP_S).alias("duration_s"),
        (speech.sum() * FRAME_HOP_S).alias("speech_s"),
        (pl.col("is_overlap").sum() * FRAME_HOP_S).alias("overlap_s"),
        *[pl.col(e).filter(speech).cast(pl.Float64).mean().alias(f"mean_{e}") for e in EMOTIONS],
        *[
            pl.col(e).filter(speech).cast(pl.Float64).std(ddof=0).alias(f"std_{e}")
            for e in EMOTIONS
        ],
        (top == "neutral").mean().alias("neutral_share"),
        (top != top.shift()).sum().alias("n_emotion_changes"),
    )


def recording_summary(
    frames: pl.DataFrame, smoothed: pl.DataFrame | None = None, *, window: int = 5
) -> pl.DataFrame:
    """Table `recording_summary`: scope 'track' rows (speaker null) then scope 'speaker' rows."""
    if frames.is_empty():
        return empty(SUMMARY_SCHEMA)
    table = with_smoothed_top(frames, smoothed, window)
    keys = ["recording_date", "recording_id", "track"]
    tracks = _aggregate(table, keys).with_columns(
        pl.lit("track").alias("scope"), pl.lit(None, pl.String).alias("speaker")
    )
    speakers = _aggregate(table.filter(pl.col("speaker").is_not_null()), [*keys, "speaker"])
    speakers = speakers.with_columns(
        pl.lit("speaker").alias("scope"), pl.lit(None, pl.Float64).alias("overlap_s")
    )
    means = list(MEANS)
    out = pl.concat([conform(tracks, _BASE), conform(speakers, _BASE)]).with_columns(
        argmax_label(means, EMOTIONS).alias("dominant_emotion"),
        entropy_bits(means).alias("emotion_entropy"),
        pl.col("n_emotion_changes").fill_null(0),
    )
    out = out.sort("recording_id", "track", pl.col("scope") == "speaker", "speaker")
    return conform(out, SUMMARY_SCHEMA)


_BASE = {
    k: v for k, v in SUMMARY_SCHEMA.items() if k not in ("dominant_emotion", "emotion_entropy")
}
