"""Polars tables in and out of the Parquet lake, partition by partition."""

from __future__ import annotations

from typing import ClassVar

import polars as pl
import pyarrow.parquet as pq
from dagster import (
    ConfigurableIOManager,
    Failure,
    InputContext,
    MetadataValue,
    OutputContext,
    TableColumn,
    TableSchema,
)

from emotion_assets.contracts import TABLE_SCHEMAS, column_description
from emotion_assets.defs.common import not_retried
from emotion_assets.defs.resources import StorageResource
from emotion_assets.foundation.atomic_files import DiskFullError
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.storage import Storage
from emotion_assets.storage.store import StorageConfigError
from emotion_assets.warehouse import delta, ensure_views, write_partitions
from emotion_assets.warehouse.lake import DayChunks, day_status, write_day_chunks
from emotion_assets.warehouse.remote import ensure_remote_views, publish_partitions
from emotion_assets.warehouse.tables import read_days, scan_days

# The resource key of the manager that hands inputs over as scans.
SCANS = "lake_scans_io_manager"


def _table_name(context: OutputContext | InputContext) -> str:
    return context.asset_key.path[-1]


class LakeIOManager(ConfigurableIOManager):
    """Writes each partition as <root>/lake/<table>/recording_date=<day>/data.parquet (atomic).

    The root is the storage root of the `storage` resource it is given: data_dir by default,
    another folder or s3://bucket/prefix. Not a UPathIOManager: that base class refuses an output
    that covers several partitions, and a backfill's range run writes one output for many days.
    """

    storage: StorageResource
    # Every input as a lazy scan, whatever the step's annotation (LakeScansIOManager below).
    scans: ClassVar[bool] = False

    @property
    def _layout(self) -> DataLayout:
        return self.storage.layout

    def _remote(self) -> Storage | None:
        """The storage root when it is object storage (the lake is then published to it)."""
        if not self.storage.storage_url:
            return None
        storage = self.storage.storage()
        return None if storage.is_local else storage

    def _lake_layout(self) -> DataLayout:
        """Where the lake folder is written: a local storage root, else data_dir (scratch)."""
        if self.storage.storage_url and (root := self.storage.storage().local_root) is not None:
            return DataLayout(root)
        return self._layout

    # A storage setting that is wrong (no bucket, bad credentials) fails the step at once, in
    # its own sentence: Dagster's retry policy covers the IO manager too, and retrying can't help.
    def handle_output(self, context: OutputContext, obj: pl.DataFrame) -> None:
        with not_retried(StorageConfigError):
            self._handle_output(context, obj)

    def load_input(self, context: InputContext) -> pl.DataFrame:
        with not_retried(StorageConfigError):
            return self._load_input(context)

    def _handle_output(self, context: OutputContext, obj: pl.DataFrame | delta.Published) -> None:
        if obj is None:
            return
        table = _table_name(context)
        if delta.is_delta_table(table):
            self._handle_delta_output(context, table, obj)
            return
        days = context.asset_partition_keys
        lake_layout = self._lake_layout()
        lake = lake_layout.lake
        remote = self._remote()
        try:
            if isinstance(obj, DayChunks):  # streamed: the step never held the day
                empty = [pl.DataFrame(schema=TABLE_SCHEMAS[table])]
                paths = [write_day_chunks(lake, table, d, obj.days.get(d, empty)) for d in days]
            else:
                paths = write_partitions(lake, table, days, obj)
        except DiskFullError as exc:
            # The day's other tables may already hold this run's rows: say so where people look.
            raise Failure(
                description=f"{exc} Until then {', '.join(days)} is only partly updated: "
                f"{table} and the steps after it still hold the previous run's rows (or none).",
                metadata={"lake_state": MetadataValue.md(day_status(lake, days))},
            ) from exc
        damages: list = []
        if remote is not None:
            # The verified scratch files are published as whole objects (one PUT each).
            keys = publish_partitions(remote, self._layout, paths)
            ensure_remote_views(
                remote,
                remote.settings,
                self._layout.warehouse,
                written={table: paths},
                damages=damages,
            )
            lake_files = "\n".join(keys)
            view_of = f"{self._layout.warehouse} (over {remote.uri('lake')})"
        else:
            ensure_views(lake, self._layout.warehouse, written={table: paths}, damages=damages)
            lake_files = "\n".join(lake_layout.relative(p) for p in paths)
            view_of = str(self._layout.warehouse)
        for damage in damages:
            context.log.error(damage.sentence())
        if isinstance(obj, DayChunks):
            rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
            schema = TABLE_SCHEMAS[table]
        else:
            rows, schema = obj.height, obj.schema
        context.add_output_metadata(
            {
                "damaged_partitions_moved_aside": MetadataValue.text(
                    "\n".join(d.sentence() for d in damages) or "none"
                ),
                "dagster/row_count": rows,
                "dagster/column_schema": TableSchema(
                    columns=[
                        TableColumn(name, str(dtype), description=column_description(table, name))
                        for name, dtype in schema.items()
                    ]
                ),
                "lake_files": MetadataValue.text(lake_files),
                "duckdb_view": MetadataValue.text(f"{table} in {view_of}"),
            }
        )

    def _handle_delta_output(
        self, context: OutputContext, table: str, obj: pl.DataFrame | delta.Published
    ) -> None:
        """A work units' table (warehouse/delta.py): published by its step, or whole days here."""
        where = delta.on_storage(self.storage.storage(), table)
        days = context.asset_partition_keys
        published = (
            obj if isinstance(obj, delta.Published) else delta.write_days(where, table, days, obj)
        )
        damages: list = []
        remote = self._remote()
        if remote is not None:
            ensure_remote_views(
                remote,
                remote.settings,
                self._layout.warehouse,
                written={table: []},
                damages=damages,
            )
        else:
            lake = self._lake_layout().lake
            ensure_views(lake, self._layout.warehouse, written={table: []}, damages=damages)
        for damage in damages:
            context.log.error(damage.sentence())
        version = "unchanged" if published.version is None else f"version {published.version}"
        context.add_output_metadata(
            {
                "damaged_partitions_moved_aside": MetadataValue.text(
                    "\n".join(d.sentence() for d in damages) or "none"
                ),
                "dagster/row_count": delta.count_rows(where, table, days),
                "dagster/column_schema": TableSchema(
                    columns=[
                        TableColumn(name, str(dtype), description=column_description(table, name))
                        for name, dtype in TABLE_SCHEMAS[table].items()
                    ]
                ),
                "lake_files": MetadataValue.text(f"{where.uri} (Delta table, {version})"),
                "duckdb_view": MetadataValue.text(f"{table} in {self._layout.warehouse}"),
            }
        )

    def _load_input(self, context: InputContext) -> pl.DataFrame | pl.LazyFrame:
        table = _table_name(context)
        days = list(context.asset_partition_keys)
        run = run_partition_keys(context)
        if run is not None:
            # Whatever launched the run (a `dagster/partition` tag, the partition-range tags of a
            # backfill, `dagster job execute`), a step reads only the run's days: never the rest
            # of the lake, even where Dagster would offer more partitions of an upstream table.
            days = [day for day in days if day in run]
        storage = self.storage.storage()
        if self.scans or context.dagster_type.typing_type is pl.LazyFrame:
            rows = scan_days(storage, table, days, self._layout.root)
        else:
            rows = read_days(storage, table, days)
        if rows is None:
            raise FileNotFoundError(
                f"{table} has no data for {', '.join(days)} in {storage.uri(delta.LAKE_FOLDER)}: "
                "materialize it for these dates first"
            )
        return rows


class LakeScansIOManager(LakeIOManager):
    """The same lake, every input handed over as a lazy scan: the check steps of the tables that
    grow with the day's audio read them through it (resource key SCANS), a group at a time."""

    scans: ClassVar[bool] = True


def run_partition_keys(context: InputContext) -> set[str] | None:
    """The partition keys of the run this input is loaded in; None for an unpartitioned run."""
    step = context.step_context
    if not step.has_partitions:
        return None
    key_range = step.partition_key_range
    if key_range.start == key_range.end:
        return {key_range.start}
    return set(step.run_partitions_def.get_partition_keys_in_range(key_range))
