"""The Parquet lake: data/lake/<table>/recording_date=YYYY-MM-DD/data.parquet, one file a partition."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from emotion_assets.warehouse.atomic import remove_stale_temps, write_atomically

log = logging.getLogger(__name__)

PARTITION_COLUMN = "recording_date"
FILE_NAME = "data.parquet"


def partition_dir(lake: Path, table: str, day: str) -> Path:
    return Path(lake) / table / f"{PARTITION_COLUMN}={day}"


def partition_file(lake: Path, table: str, day: str) -> Path:
    return partition_dir(lake, table, day) / FILE_NAME


def write_partitions(lake: Path, table: str, days: Iterable[str], df: pl.DataFrame) -> list[Path]:
    """Replace the given day partitions of `table` with the rows of `df` for those days.

    Every day gets a file, an empty one when `df` has no rows for it, so that a re-run with
    fewer recordings removes the old rows instead of leaving them behind.
    """
    if PARTITION_COLUMN not in df.columns:
        raise ValueError(f"table {table!r} has no {PARTITION_COLUMN} column")
    days = sorted(set(days))
    stray = (
        df.select(pl.col(PARTITION_COLUMN).cast(pl.Utf8).unique())
        .to_series()
        .drop_nulls()
        .to_list()
    )
    outside = sorted(set(stray) - set(days))
    if outside:
        raise ValueError(f"table {table!r} has rows for days outside this run: {outside}")
    written = []
    for day in days:
        part = df.filter(pl.col(PARTITION_COLUMN).cast(pl.Utf8) == day)
        target = partition_file(lake, table, day)
        remove_stale_temps(target.parent)
        write_atomically(target, lambda tmp, part=part: part.write_parquet(tmp, statistics=True))
        log.info("lake: wrote %s rows to %s", part.height, target)
        written.append(target)
    return written


def read_partitions(lake: Path, table: str, days: Iterable[str]) -> pl.DataFrame | None:
    """Rows of the given days, or None when none of those partitions was ever written."""
    frames = []
    for day in sorted(set(days)):
        path = partition_file(lake, table, day)
        if path.exists():
            frames.append(pl.read_parquet(path))
    if not frames:
        return None
    return pl.concat(frames, how="diagonal_relaxed")


def list_tables(lake: Path) -> list[str]:
    """Tables that have at least one partition file."""
    lake = Path(lake)
    if not lake.is_dir():
        return []
    return sorted(
        entry.name
        for entry in lake.iterdir()
        if entry.is_dir()
        and not entry.name.startswith(("_", "."))
        and any(entry.glob(f"*/{FILE_NAME}"))
    )
