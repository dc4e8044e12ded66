"""Reading a lake table whatever its storage: Delta (the work units' tables, delta.py) or one
Parquet file per day (lake.py), on a local root or on S3 (remote.py)."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from emotion_assets.storage import Storage
from emotion_assets.warehouse import delta
from emotion_assets.warehouse.lake import list_tables, read_partitions
from emotion_assets.warehouse.remote import (
    list_remote_tables,
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
