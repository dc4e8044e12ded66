"""What was said during an interval: bursts and highlights gain the transcript's text."""

from __future__ import annotations

import polars as pl

_TRACK = ["recording_id", "track"]


def attach_spoken_text(table: pl.DataFrame, segments: pl.DataFrame | None) -> pl.DataFrame:
    """`table` (bursts, highlights: recording_id, track, t_start, t_end) with a `text` column:
    the text of the transcript segments overlapping each row's interval, in time order, joined
    by spaces; null when nothing transcribed overlaps it."""
    if "text" in table.columns:
        table = table.drop("text")
    if segments is None or segments.is_empty() or table.is_empty():
        return table.with_columns(pl.lit(None, dtype=pl.String).alias("text"))
    indexed = table.with_row_index("_row")
    said = (
        indexed.select("_row", *_TRACK, "t_start", "t_end")
        .with_columns(pl.col("track").cast(pl.Int32))
        .join(
            segments.select(
                *_TRACK,
                pl.col("t_start").alias("_s0"),
                pl.col("t_end").alias("_s1"),
                pl.col("text").alias("_said"),
            ).with_columns(pl.col("track").cast(pl.Int32)),
            on=_TRACK,
        )
        .filter((pl.col("_s0") < pl.col("t_end")) & (pl.col("_s1") > pl.col("t_start")))
        .sort("_row", "_s0", "_s1")
        .group_by("_row", maintain_order=True)
        .agg(pl.col("_said").str.join(" ").alias("text"))
    )
    return indexed.join(said, on="_row", how="left").sort("_row").drop("_row")
