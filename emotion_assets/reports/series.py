"""Shape frame tables for plotting: one track, thinned long recordings, spans, heat-map buckets."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from emotion_assets.foundation.labels import EMOTIONS, FRAME_CENTRE_S, FRAME_LENGTH_S

SCORES: list[str] = list(EMOTIONS)
DEFAULT_MAX_POINTS = 5000
DEFAULT_HEATMAP_BUCKET_S = 1.0
MAX_HEATMAP_BUCKETS = 1000  # about one column per pixel at 1000 px


def select_track(df: pl.DataFrame | None, recording_id: str, track: int) -> pl.DataFrame | None:
    """Rows of one recording/track (tables may hold a whole day), ordered by time."""
    if df is None:
        return None
    if "recording_id" in df.columns:
        df = df.filter(pl.col("recording_id") == recording_id)
    if "track" in df.columns:
        df = df.filter(pl.col("track") == track)
    return df.sort("t_start") if "t_start" in df.columns else df


def duration_s(frames: pl.DataFrame) -> float:
    if frames.height == 0:
        return 0.0
    return float(frames["t_start"].max()) + FRAME_LENGTH_S


def downsample(frames: pl.DataFrame, max_points: int = DEFAULT_MAX_POINTS) -> pl.DataFrame:
    """At most `max_points` rows: means over runs of consecutive frames.

    Columns: t (bucket centre, s), the nine scores (float32; null where every frame in the bucket
    is null, e.g. smoothed curves over non-speech) and speech_fraction.
    """
    step = max(1, math.ceil(frames.height / max(1, max_points)))
    speech = pl.col("is_speech").cast(pl.Float64) if "is_speech" in frames.columns else pl.lit(1.0)
    # Frame centre: t_start + 12.5 ms (frames are 25 ms long); smoothed tables carry no t_end.
    return (
        frames.with_row_index("_i")
        .with_columns(
            (pl.col("t_start") + FRAME_CENTRE_S).alias("_centre"),
            speech.alias("_speech"),
        )
        .group_by((pl.col("_i") // step).alias("_bucket"), maintain_order=True)
        .agg(
            pl.col("_centre").mean().alias("t"),
            *[pl.col(e).cast(pl.Float32).mean().alias(e) for e in SCORES],
            pl.col("_speech").mean().alias("speech_fraction"),
        )
        .drop("_bucket")
        .with_columns(pl.col("t").cast(pl.Float32), *[pl.col(e).cast(pl.Float32) for e in SCORES])
    )


def nonspeech_spans(frames: pl.DataFrame, *, max_spans: int = 500) -> list[tuple[float, float]]:
    """(t_start, t_end) of runs of non-speech frames.

    Gaps shorter than duration/max_spans are merged and shorter spans dropped: they would be
    invisible at picture width anyway, and this keeps the count bounded for hour-long recordings.
    """
    if frames.height == 0 or "is_speech" not in frames.columns:
        return []
    runs = (
        frames.with_columns(pl.col("is_speech").rle_id().alias("_run"))
        .filter(~pl.col("is_speech"))
        .group_by("_run", maintain_order=True)
        .agg(pl.col("t_start").min().alias("t0"), pl.col("t_end").max().alias("t1"))
    )
    if runs.height == 0:
        return []
    resolution = duration_s(frames) / max_spans
    merged = (
        runs.with_columns(
            ((pl.col("t0") - pl.col("t1").shift(1)) > resolution)
            .fill_null(True)
            .cum_sum()
            .alias("_group")
        )
        .group_by("_group", maintain_order=True)
        .agg(pl.col("t0").min(), pl.col("t1").max())
        .filter((pl.col("t1") - pl.col("t0")) >= resolution)
    )
    return list(zip(merged["t0"].to_list(), merged["t1"].to_list(), strict=True))


@dataclass(frozen=True)
class HeatMap:
    bucket_s: float
    matrix: np.ndarray  # shape (9, n_buckets), NaN where a bucket holds no speech frame

    @property
    def n_buckets(self) -> int:
        return int(self.matrix.shape[1])


def heatmap(
    frames: pl.DataFrame,
    *,
    bucket_s: float = DEFAULT_HEATMAP_BUCKET_S,
    max_buckets: int = MAX_HEATMAP_BUCKETS,
) -> HeatMap:
    """Mean score per emotion per time bucket, speech frames only.

    The bucket widens (whole seconds) when the recording would need more than max_buckets.
    """
    # Buckets are placed by frame start, so the last frame start (not its end) sets the count.
    last = float(frames["t_start"].max()) if frames.height else 0.0
    if last >= bucket_s * max_buckets:
        bucket_s = float(math.ceil((last + 1e-9) / max_buckets))
    n_buckets = math.floor(last / bucket_s) + 1
    speech = frames.filter(pl.col("is_speech")) if "is_speech" in frames.columns else frames
    means = (
        speech.group_by((pl.col("t_start") / bucket_s).floor().cast(pl.Int64).alias("_b"))
        .agg(*[pl.col(e).cast(pl.Float64).mean() for e in SCORES])
        .filter(pl.col("_b") < n_buckets)
    )
    matrix = np.full((len(SCORES), n_buckets), np.nan)
    if means.height:
        matrix[:, means["_b"].to_numpy()] = means.select(SCORES).to_numpy().T
    return HeatMap(bucket_s=bucket_s, matrix=matrix)


def emotion_means(frames: pl.DataFrame) -> pl.DataFrame:
    """Per emotion: mean score and share of frames where it is the top emotion.

    Over speech frames; over all frames when the recording has none (so a table still shows).
    """
    basis = frames
    if "is_speech" in frames.columns and frames["is_speech"].any():
        basis = frames.filter(pl.col("is_speech"))
    if basis.height == 0:
        return pl.DataFrame(
            {"emotion": SCORES, "mean_score": [None] * 9, "top_share": [None] * 9},
            schema={"emotion": pl.String, "mean_score": pl.Float64, "top_share": pl.Float64},
        )
    if "top_emotion" in basis.columns:
        top = basis["top_emotion"]
    else:
        top = pl.Series(np.array(SCORES)[basis.select(SCORES).to_numpy().argmax(axis=1)])
    shares = top.value_counts(normalize=True, name="top_share").rename({top.name: "emotion"})
    means = basis.select(pl.col(SCORES).cast(pl.Float64).mean()).unpivot(
        variable_name="emotion", value_name="mean_score"
    )
    return means.join(shares, on="emotion", how="left").with_columns(
        pl.col("top_share").fill_null(0.0)
    )


def headline(means: pl.DataFrame, summary_row: dict | None) -> tuple[str | None, float | None]:
    """Dominant emotion and its confidence: from the summary row when it says, else the means."""
    row = summary_row or {}
    emotion = row.get("dominant_emotion") or row.get("top_emotion")
    confidence = row.get("confidence")
    if emotion is not None and confidence is not None:
        return str(emotion), float(confidence)
    ranked = means.drop_nulls("mean_score").sort("mean_score", descending=True)
    if ranked.height == 0:
        return (str(emotion) if emotion else None), None
    best = ranked.row(0, named=True)
    if emotion is None:
        return best["emotion"], float(best["mean_score"])
    own = ranked.filter(pl.col("emotion") == emotion)["mean_score"]
    return str(emotion), (float(own[0]) if own.len() else None)


def main_speaker(frames: pl.DataFrame, summary_row: dict | None) -> str | None:
    """Speaker named by the summary row, else the speakers heard in the frames (most first)."""
    if summary_row and summary_row.get("speaker"):
        return str(summary_row["speaker"])
    if "speaker" not in frames.columns or frames.height == 0:
        return None
    counts = frames["speaker"].drop_nulls().value_counts(sort=True)
    names = counts["speaker"].to_list()[:3]
    return ", ".join(str(n) for n in names) or None
