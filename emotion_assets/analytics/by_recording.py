"""Per-recording tables computed a group of recordings at a time, so memory is bounded by the
group (a work unit's audio), not by the day (issue 27, docs/scale.md).

Smoothing, summaries, timelines, utterances, bursts and highlights are computed per track: a
day's table is the concatenation of its recordings' tables, in recording order. Frame-level
inputs arrive as lazy frames (a Delta table or a day's Parquet file, scanned); each group's
rows are read when the group is computed. Small per-day tables (segments, transcripts, audio)
are filtered to the group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import polars as pl

from emotion_assets.foundation.work_units import Table, recording_groups, rows_of


def map_groups(
    groups: list[list[str | None]],
    inputs: Mapping[str, Table],
    compute: Callable[..., pl.DataFrame],
) -> Iterator[pl.DataFrame]:
    """`compute(**inputs)` on each group's rows of every input, one group at a time; with no
    group, once on no rows (the table's empty schema)."""
    for ids in groups or [[]]:
        yield compute(**{name: rows_of(table, ids) for name, table in inputs.items()})


def by_recording(
    frames: pl.LazyFrame,
    inputs: Mapping[str, Table],
    compute: Callable[..., pl.DataFrame],
    limit_s: float,
) -> Iterator[pl.DataFrame]:
    """`compute` over the recordings of `frames` in groups of `limit_s` seconds of frames."""
    return map_groups(recording_groups(frames, limit_s), inputs, compute)
