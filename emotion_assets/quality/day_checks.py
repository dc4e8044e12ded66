"""A table's checks on one day: small tables whole, the tables that grow with the day's audio
(registry.BY_RECORDING) a group of recordings at a time, so a check step holds one group's
rows, never the day's (issue 27, docs/scale.md).

Each group's rows of every table the step reads are collected once and every check of the
step runs on them; a check's day outcome combines its groups' outcomes (outcome.combine).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from emotion_assets.foundation.work_units import Table, filter_day, recording_groups, rows_of
from emotion_assets.quality.outcome import CheckOutcome
from emotion_assets.quality.registry import BY_RECORDING, FRAMES, CheckSpec


@dataclass(frozen=True)
class DayResult:
    spec: CheckSpec
    outcome: CheckOutcome
    rows: int  # rows of the checked table on the day: what the check read


def _groups(table: str, of_day: Mapping[str, Table], limit_s: float) -> list[list[str | None]]:
    # A step that reads the frames measures its groups by them: they are the largest input.
    measure = FRAMES if FRAMES in of_day else table
    others = [t for name, t in of_day.items() if name != measure]
    return recording_groups(of_day[measure].lazy(), limit_s, also=others) or [[]]


def _whole(table: Table) -> pl.DataFrame:
    return table.collect() if isinstance(table, pl.LazyFrame) else table


def check_day(
    specs: Sequence[CheckSpec], tables: Mapping[str, Table], day: str, limit_s: float
) -> list[DayResult]:
    """Every check of `specs` (one table's) on `day`'s rows of `tables`; groups of at most
    `limit_s` seconds of audio for a table of BY_RECORDING."""
    table = specs[0].table
    of_day = {name: filter_day(t, day) for name, t in tables.items()}
    parts: dict[str, list[CheckOutcome]] = {spec.name: [] for spec in specs}
    rows = 0
    groups = _groups(table, of_day, limit_s) if table in BY_RECORDING else [None]
    for ids in groups:
        data = {name: _whole(t) if ids is None else rows_of(t, ids) for name, t in of_day.items()}
        rows += data[table].height
        for spec in specs:
            parts[spec.name].append(spec.run(*(data[name] for name in spec.inputs)))
    return [DayResult(spec, spec.combine(parts[spec.name]), rows) for spec in specs]
