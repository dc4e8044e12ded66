"""Reading a lake table whatever its storage: Delta (the work units' tables, delta.py) or one
Parquet file per day (lake.py), on a local root or on S3 (remote.py)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from emotion_assets.storage import Storage
from emotion_assets.warehouse import delta
from emotion_assets.warehouse.lake import list_tables, partition_file, read_partitions
from emotion_assets.warehouse.remote import (
    list_remote_tables,
    partition_key,
    read_remote_partitions,
    remote_delta_tables,
)


def read_days(storage: Storage, table: str, days: Iterable[str]) -> pl.DataFrame | None:
    """Rows of the given days, or None when the table has never been written for them."""
    days = list(days)
    if delta.is_delta_table(table):
        return delta.read_days(delta.on_storage(storage, table), table, days)
    if storage.is_local:
        return read_partitions(storage.local_root / delta.LAKE_FOLDER, table, days)
    return read_remote_partitions(storage, table, days)


def scan_days(
    storage: Storage, table: str, days: Iterable[str], scratch: Path
) -> pl.LazyFrame | None:
    """Rows of the given days as a lazy scan (a step reads only what its query needs), or None
    when the table has never been written for them. Day files on S3 are copied into `scratch`
    first; Delta tables are read where they are."""
    days = list(days)
    if delta.is_delta_table(table):
        return delta.scan_days(delta.on_storage(storage, table), table, days)
    if storage.is_local:
        lake = storage.local_root / delta.LAKE_FOLDER
        files = [path for d in days if (path := partition_file(lake, table, d)).exists()]
    else:
        keys = [key for d in days if storage.exists(key := partition_key(table, d))]
        files = [storage.local_copy(key, scratch) for key in keys]
    return pl.scan_parquet(files) if files else None


def table_names(storage: Storage) -> list[str]:
    """Every table the lake on `storage` holds."""
    if storage.is_local:
        return list_tables(storage.local_root / delta.LAKE_FOLDER)
    return sorted(set(list_remote_tables(storage)) | remote_delta_tables(storage))


def days_by_table(storage: Storage) -> dict[str, set[str]]:
    """{table: the days it holds} for every table of the lake on `storage` (a local folder or
    S3): the day files of lake.py's tables, the partitions of the Delta tables."""
    found = {t: set(days) for t, days in list_remote_tables(storage).items()}
    for table in delta.DELTA_TABLES:
        where = delta.on_storage(storage, table)
        found.pop(table, None)  # day files left from before the Delta table are not read
        if where.exists():
            found[table] = delta.days_of(where)
    return found
