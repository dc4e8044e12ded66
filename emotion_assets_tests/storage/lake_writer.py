"""A partitioned table written through LakeIOManager to the storage configured in the
environment: `python -m emotion_assets_tests.storage.lake_writer DAY ROWS VERSION` (the process
the kill test SIGKILLs) or `write(day, rows, version)` in-process."""

import datetime as dt
import sys

import numpy as np
import polars as pl
from dagster import AssetExecutionContext, DailyPartitionsDefinition, asset, materialize

from emotion_assets.defs.io_manager import LakeIOManager
from emotion_assets.defs.resources import StorageResource
from emotion_assets.settings import StorageSettings, load_group

PARTITIONS = DailyPartitionsDefinition(start_date="2024-06-01")
TABLE = "lake_probe"
_WANT: dict[str, int] = {}


def probe_rows(day: str, rows: int, version: int) -> pl.DataFrame:
    """`rows` rows of one version; random floats, so the Parquet file is as big as the data."""
    rng = np.random.default_rng(version)
    return pl.DataFrame(
        {
            "recording_date": [dt.date.fromisoformat(day)] * rows,
            "row": np.arange(rows),
            "version": np.full(rows, version),
            "noise": rng.random(rows),
        }
    )


@asset(name=TABLE, partitions_def=PARTITIONS)
def lake_probe(context: AssetExecutionContext) -> pl.DataFrame:
    return probe_rows(context.partition_key, _WANT["rows"], _WANT["version"])


def write(day: str, rows: int, version: int) -> bool:
    _WANT.update(rows=rows, version=version)
    manager = LakeIOManager(storage=StorageResource.from_settings(load_group(StorageSettings)))
    result = materialize([lake_probe], partition_key=day, resources={"io_manager": manager})
    return result.success


if __name__ == "__main__":
    day, rows, version = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sys.exit(0 if write(day, rows, version) else 1)
