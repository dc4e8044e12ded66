"""LakeIOManager alone, through Dagster's materialize with two tiny partitioned assets."""

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
from dagster import AssetExecutionContext, DailyPartitionsDefinition, asset, materialize

from emotion_assets.defs.io_manager import LakeIOManager
from emotion_assets.defs.resources import StorageResource
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.settings import StorageSettings
from emotion_assets.warehouse.lake import partition_file

DAYS = DailyPartitionsDefinition(start_date="2024-01-01")


@asset(partitions_def=DAYS)
def calls(context: AssetExecutionContext) -> pl.DataFrame:
    day = dt.date.fromisoformat(context.partition_key)
    n = day.day  # a different number of rows every day
    return pl.DataFrame(
        {
            "recording_date": [day] * n,
            "recording_id": [f"{day.day:02d}{i:014x}" for i in range(n)],
            "seconds": [float(i) for i in range(n)],
        }
    )


@asset(partitions_def=DAYS)
def call_minutes(calls: pl.DataFrame) -> pl.DataFrame:
    # Must see exactly its own day's rows: the input is that day's partition alone.
    assert calls["recording_date"].n_unique() == 1
    return calls.with_columns(minutes=pl.col("seconds") / 60).drop("seconds")


def _storage(data: Path) -> StorageResource:
    return StorageResource.from_settings(StorageSettings(data_dir=data))


def _run(data: Path, day: str) -> None:
    result = materialize(
        [calls, call_minutes],
        resources={"io_manager": LakeIOManager(storage=_storage(data))},
        partition_key=day,
    )
    assert result.success


def test_each_day_is_its_own_parquet_file_and_view_rows(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path / "data")
    for day in ("2024-01-02", "2024-01-03"):
        _run(layout.root, day)
    for table in ("calls", "call_minutes"):
        for day, n in (("2024-01-02", 2), ("2024-01-03", 3)):
            assert pl.read_parquet(partition_file(layout.lake, table, day)).height == n
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        rows = con.sql(
            "SELECT recording_date::VARCHAR, count(*) FROM call_minutes GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == [("2024-01-02", 2), ("2024-01-03", 3)]


def test_a_repeated_run_replaces_its_day_and_leaves_the_others(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path / "data")
    _run(layout.root, "2024-01-02")
    _run(layout.root, "2024-01-04")
    other = partition_file(layout.lake, "calls", "2024-01-04").read_bytes()
    _run(layout.root, "2024-01-02")
    assert pl.read_parquet(partition_file(layout.lake, "calls", "2024-01-02")).height == 2
    assert partition_file(layout.lake, "calls", "2024-01-04").read_bytes() == other
    leftovers = [p for p in layout.lake.rglob("*") if p.is_file() and p.name != "data.parquet"]
    assert not [p for p in leftovers if "tmp" in p.name]
