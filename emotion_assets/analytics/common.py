"""Shared helpers of the analytics tables: frame timing, empty frames, argmax-to-label."""

from __future__ import annotations

import polars as pl

TRACK_KEYS = ("recording_id", "track")
EMOTIONAL = (
    "angry",
    "disgusted",
    "fearful",
    "happy",
    "sad",
    "surprised",
)  # not neutral/other/unknown


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def argmax_label(
    columns: list[str] | tuple[str, ...], labels: tuple[str, ...] | None = None
) -> pl.Expr:
    """The label of the largest of `columns` (first on ties); null when all are null."""
    labels = tuple(labels or columns)
    idx = pl.concat_list([pl.col(c).cast(pl.Float64) for c in columns]).list.arg_max()
    all_null = pl.all_horizontal(pl.col(c).is_null() for c in columns)
    return (
        pl.when(all_null)
        .then(None)
        .otherwise(
            idx.replace_strict(list(range(len(labels))), list(labels), return_dtype=pl.String)
        )
    )


def track_sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort("recording_id", "track", "frame_idx")


def run_breaks(flag: pl.Expr) -> pl.Expr:
    """True where a new run starts: a new (recording, track), a frame_idx gap, or `flag` flips.

    Needs the frame table sorted by recording_id, track, frame_idx.
    """
    new_track = (pl.col("recording_id") != pl.col("recording_id").shift()) | (
        pl.col("track") != pl.col("track").shift()
    )
    gap = pl.col("frame_idx") != pl.col("frame_idx").shift() + 1
    return (new_track | gap | (flag != flag.shift())).fill_null(True)
