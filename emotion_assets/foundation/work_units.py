"""Work units: a day's items (recordings, tracks) in groups of bounded audio, one step each.

The rule both the ingest and the model step follow (docs/scale.md): items in a fixed order, as
many consecutive items a unit as fit in `limit_s` seconds of audio; an item longer than that is
a unit alone (a recording is never split).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import polars as pl

from emotion_assets.foundation.labels import FRAME_HOP_S

T = TypeVar("T")
Table = pl.DataFrame | pl.LazyFrame


def pack(items: Sequence[T], seconds: Callable[[T], float], limit_s: float) -> list[list[T]]:
    """Consecutive items, at most `limit_s` seconds of audio a unit (a longer item alone)."""
    units: list[list[T]] = []
    current: list[T] = []
    total = 0.0
    for item in items:
        length = seconds(item)
        if current and total + length > limit_s:
            units.append(current)
            current, total = [], 0.0
        current.append(item)
        total += length
    if current:
        units.append(current)
    return units


def unit_name(day: str, index: int) -> str:
    """A unit's step mapping key: letters, digits and underscores only."""
    return f"{day.replace('-', '')}_u{index:03d}"


def filter_day(table: Table, day: str) -> Table:
    """The rows of `day` (an ISO date) of a table with a `recording_date` column."""
    return table.filter(pl.col("recording_date").cast(pl.Utf8) == day)


def _ids(table: Table) -> pl.LazyFrame:
    return table.lazy().select("recording_id").unique()


def recording_seconds(table: pl.LazyFrame) -> dict[str | None, float]:
    """{recording_id: seconds of audio its rows span}, summed over tracks: a per-track time
    table (frames, curves, utterances, segments) measures its recordings by its own times."""
    spans = (
        table.group_by("recording_id", "track")
        .agg((pl.col("t_start").max() + FRAME_HOP_S).alias("s"))
        .group_by("recording_id")
        .agg(pl.col("s").sum())
        .collect()
    )
    return dict(spans.iter_rows())


def recording_groups(
    frames: pl.LazyFrame, limit_s: float, also: Sequence[Table] = ()
) -> list[list[str | None]]:
    """The recordings of `frames` (any per-track time table) in order, in groups of at most
    `limit_s` seconds of audio (a recording longer than that is a group alone).

    Recordings that only the tables `also` name (a track without frames) join the first group:
    they add no rows of `frames`, and a rule that compares the tables still sees them. Rows
    without a recording_id are one item (None), so a check still meets them.
    """
    sizes = recording_seconds(frames)
    items = sorted(sizes.items(), key=lambda item: (item[0] is None, item[0] or ""))
    groups = [[rid for rid, _ in g] for g in pack(items, lambda item: item[1], limit_s)]
    if also:
        named = pl.concat([_ids(t) for t in also]).unique().collect()["recording_id"].to_list()
        extra = sorted((r for r in named if r not in sizes), key=lambda r: (r is None, r or ""))
        if extra:
            groups = [extra + groups[0], *groups[1:]] if groups else [extra]
    return groups


def rows_of(table: Table, ids: Sequence[str | None]) -> pl.DataFrame:
    """The rows of the recordings `ids` (None: the rows without a recording_id), collected."""
    named = [i for i in ids if i is not None]
    keep = pl.col("recording_id").is_in(named)
    if len(named) < len(ids):
        keep = keep | pl.col("recording_id").is_null()
    rows = table.filter(keep)
    return rows.collect() if isinstance(rows, pl.LazyFrame) else rows
