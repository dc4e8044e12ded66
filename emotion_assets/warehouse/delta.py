"""The lake tables that work units publish, as Delta tables (docs/deploy.md, issue 27).

A day of `frame_emotion_scores` or `emotion_embeddings` is written by several work units, on
several machines. A folder of Parquet files replaced one by one cannot keep its readers safe
(bench/unit_publication.py: DuckDB queries failed while a file was renamed over), so these
tables are Delta tables at `<lake>/<table>/` (a local folder or s3://…), partitioned by
`recording_date`:

- a data file is never overwritten; a publication writes new files, then one log entry that
  swaps them in (`_delta_log/<n>.json`, created only if that version does not exist yet). A
  reader reads one table version: never a mix, never a half-written file;
- `replace_tracks` replaces exactly the given tracks of a day in one commit (and a whole day
  with `tracks=None`): tracks of other units stay, in their files;
- a writer killed mid-publication leaves files no version names (`vacuum` removes them) and
  the previous version whole;
- rows stream in as Arrow record batches: memory is bounded by a track, not by the day.

DuckDB reads them with `delta_scan` (the `delta` extension, loaded offline like httpfs).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from emotion_assets.contracts import TABLE_SCHEMAS
from emotion_assets.warehouse.lake import (
    BLOOM_FILTER_COLUMN,
    DELTA_LOG,
    FRAME_INT_DELTA,
    FRAME_ORDER,
    FRAME_ROW_GROUP_ROWS,
    PARTITION_COLUMN,
    compact_frames,
    is_frame_table,
)

if TYPE_CHECKING:
    from emotion_assets.settings import StorageSettings
    from emotion_assets.storage import Storage

log = logging.getLogger(__name__)

# The tables work units publish; every other table stays one Parquet file per day (lake.py).
DELTA_TABLES = ("frame_emotion_scores", "emotion_embeddings")
# Commits of two writers may race (two days of a backfill at once): the loser retries.
COMMIT_ATTEMPTS = 5
# A file no version newer than this names is removed by `vacuum`: longer than any query runs.
VACUUM_RETENTION_HOURS = 24

LAKE_FOLDER = "lake"  # the lake's folder on a storage root (foundation/layout.py's `lake`)

TrackId = tuple[str, int]


def is_delta_table(table: str) -> bool:
    return table in DELTA_TABLES


@dataclass(frozen=True)
class DeltaLocation:
    """Where one Delta table lives and how delta-rs reaches it."""

    uri: str
    options: dict[str, str] | None = field(default=None, hash=False, compare=False)

    @property
    def is_local(self) -> bool:
        return "://" not in self.uri

    def exists(self) -> bool:
        from deltalake import DeltaTable

        if self.is_local:
            return (Path(self.uri) / DELTA_LOG).is_dir()
        return DeltaTable.is_deltatable(self.uri, storage_options=self.options)


def storage_options(settings: StorageSettings | None) -> dict[str, str] | None:
    """delta-rs options for an s3:// root from the same settings as the pipeline's (AWS_*).

    `conditional_put=etag`: a commit is a PUT with If-None-Match, so two writers can never both
    take one table version without a lock service (AWS S3 and SeaweedFS support it).
    """
    if settings is None or not settings.storage_url.startswith("s3://"):
        return None
    options = {"AWS_REGION": settings.aws_region, "conditional_put": "etag"}
    if settings.aws_access_key_id:
        options["AWS_ACCESS_KEY_ID"] = settings.aws_access_key_id
        options["AWS_SECRET_ACCESS_KEY"] = settings.aws_secret_access_key.get_secret_value()
    if token := settings.aws_session_token.get_secret_value():
        options["AWS_SESSION_TOKEN"] = token
    if endpoint := settings.aws_endpoint_url:
        options["AWS_ENDPOINT_URL"] = endpoint
        options["AWS_ALLOW_HTTP"] = "true" if endpoint.startswith("http://") else "false"
    return options


def on_storage(storage: Storage, table: str) -> DeltaLocation:
    """The Delta table `table` under `lake/` of a storage root (a folder or s3://)."""
    if storage.is_local:
        return location(Path(storage.uri(LAKE_FOLDER)), table)
    return location(storage.uri(LAKE_FOLDER), table, storage.settings)


def location(
    lake: Path | str, table: str, settings: StorageSettings | None = None
) -> DeltaLocation:
    """The Delta table `table` of the lake at `lake` (a folder, or an s3:// URI with settings)."""
    if isinstance(lake, str) and "://" in lake:
        return DeltaLocation(f"{lake.rstrip('/')}/{table}", storage_options(settings))
    return DeltaLocation((Path(lake).resolve() / table).as_posix())


# --- writing --------------------------------------------------------------------------------


def _stored_schema(table: str) -> pa.Schema:
    """The contract's schema as stored: Delta has no fixed-size list (readers cast back)."""
    schema = {
        name: pl.List(dtype.inner) if isinstance(dtype, pl.Array) else dtype
        for name, dtype in TABLE_SCHEMAS[table].items()
    }
    return pl.DataFrame(schema=schema).to_arrow().schema


def _as_stored(df: pl.DataFrame, schema: pa.Schema) -> list[pa.RecordBatch]:
    """`df` in the table's stored schema (frame tables rounded as lake.compact_frames says)."""
    if df.height == 0:
        return []
    if is_frame_table(df):
        df = compact_frames(df)
    return df.select(schema.names).to_arrow().cast(schema).to_batches()


def _batches(parts: Iterable[pl.DataFrame], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for part in parts:
        yield from _as_stored(part, schema)


def _writer_properties(table: str):
    """zstd, row groups and encodings of lake.py's frame-level files; a bloom filter on ids."""
    from deltalake import BloomFilterProperties, ColumnProperties, WriterProperties

    columns: dict[str, ColumnProperties] = {
        BLOOM_FILTER_COLUMN: ColumnProperties(
            bloom_filter_properties=BloomFilterProperties(True, fpp=0.01)
        )
    }
    schema = TABLE_SCHEMAS[table]
    if all(c in schema for c in FRAME_ORDER):
        for name, dtype in schema.items():
            if dtype == pl.Float32:
                columns[name] = ColumnProperties(
                    dictionary_enabled=False, encoding="BYTE_STREAM_SPLIT"
                )
            elif name in FRAME_INT_DELTA:
                columns[name] = ColumnProperties(
                    dictionary_enabled=False, encoding="DELTA_BINARY_PACKED"
                )
    return WriterProperties(
        compression="ZSTD", max_row_group_size=FRAME_ROW_GROUP_ROWS, column_properties=columns
    )


def sql_literal(value: str | int) -> str:
    """A value as a literal in a delta-rs predicate."""
    return str(int(value)) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


def replace_predicate(day: str, tracks: Iterable[TrackId] | None) -> str:
    """The rows one publication replaces: the day's `tracks`, or the whole day (None)."""
    where = f"{PARTITION_COLUMN} = {sql_literal(dt.date.fromisoformat(day).isoformat())}"
    if tracks is None:
        return where
    pairs = sorted(set(tracks))
    if not pairs:
        raise ValueError("replace_tracks needs at least one track, or tracks=None for the day")
    either = " OR ".join(
        f"(recording_id = {sql_literal(rid)} AND track = {sql_literal(int(track))})"
        for rid, track in pairs
    )
    return f"{where} AND ({either})"


def replace_tracks(
    where: DeltaLocation,
    table: str,
    day: str,
    rows: Callable[[], Iterable[pl.DataFrame]],
    tracks: Iterable[TrackId] | None = None,
    *,
    target_file_size: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Replace the rows of `tracks` of `day` (all of the day: None) with `rows()`, in one commit.

    `rows()` is consumed lazily (one track at a time is enough), and called again when a commit
    is retried; every row must belong to `day` and, when given, to one of `tracks`. Returns the
    table version committed. `target_file_size` (bytes): when delta-rs starts a new data file.
    """
    from deltalake import DeltaTable, write_deltalake
    from deltalake.exceptions import CommitFailedError

    tracks = None if tracks is None else sorted(set(tracks))
    predicate = replace_predicate(day, tracks)
    schema = _stored_schema(table)
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        reader = pa.RecordBatchReader.from_batches(schema, _batches(rows(), schema))
        try:
            write_deltalake(
                where.uri,
                reader,
                mode="overwrite",
                partition_by=[PARTITION_COLUMN],
                predicate=predicate,
                storage_options=where.options,
                writer_properties=_writer_properties(table),
                target_file_size=target_file_size,
            )
            break
        except CommitFailedError:
            if attempt == COMMIT_ATTEMPTS:
                raise
            log.warning("delta: commit of %s %s lost a race; trying again", table, day)
            sleep(0.2 * attempt)
    version = DeltaTable(where.uri, storage_options=where.options).version()
    log.info(
        "delta: %s %s: %s in one commit (version %s)",
        table,
        day,
        "the whole day" if tracks is None else f"{len(tracks)} track(s)",
        version,
    )
    return version


# --- reading --------------------------------------------------------------------------------


def scan_days(where: DeltaLocation, table: str, days: Iterable[str]) -> pl.LazyFrame | None:
    """The rows of `days` as a lazy frame in the contract's schema (None: no table yet).

    Lazy: a step that filters or aggregates reads only what it needs, one version throughout.
    """
    if not where.exists():
        return None
    wanted = sorted({dt.date.fromisoformat(d) for d in days})
    frame = pl.scan_delta(where.uri, storage_options=where.options).filter(
        pl.col(PARTITION_COLUMN).is_in(wanted)
    )
    stored = pl.from_arrow(_stored_schema(table).empty_table()).schema
    return frame.select(list(stored)).cast(dict(stored))


def _fixed_size(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Lists back to the contract's fixed-size arrays, at the width stored (the model's)."""
    for name, dtype in TABLE_SCHEMAS[table].items():
        if isinstance(dtype, pl.Array) and df.height:
            width = df[name].drop_nulls().head(1).list.len()
            if width.len():
                df = df.with_columns(pl.col(name).cast(pl.Array(dtype.inner, int(width[0]))))
    return df


def read_days(where: DeltaLocation, table: str, days: Iterable[str]) -> pl.DataFrame | None:
    """The rows of `days` in the contract's schema, frame tables in FRAME_ORDER."""
    frame = scan_days(where, table, days)
    if frame is None:
        return None
    df = _fixed_size(frame.collect(), table)
    return df.sort(FRAME_ORDER, maintain_order=True) if is_frame_table(df) else df


def tracks_of_day(where: DeltaLocation, table: str, day: str) -> set[TrackId]:
    """The (recording_id, track) pairs the table holds for `day`."""
    frame = scan_days(where, table, [day])
    if frame is None:
        return set()
    pairs = frame.select("recording_id", "track").unique().collect()
    return {(rid, int(track)) for rid, track in pairs.iter_rows()}


def days_of(where: DeltaLocation) -> set[str]:
    """The days the table has rows for."""
    from deltalake import DeltaTable

    if not where.exists():
        return set()
    table = DeltaTable(where.uri, storage_options=where.options)
    return {p[PARTITION_COLUMN] for p in table.partitions()}


def vacuum(
    where: DeltaLocation, retention_hours: int = VACUUM_RETENTION_HOURS, *, full: bool = True
) -> list[str]:
    """Remove files no version of the last `retention_hours` names: replaced rows' files (read
    from the log) and, `full`, the files of killed writers, which no log names (this lists the
    table's whole folder)."""
    from deltalake import DeltaTable

    if not where.exists():
        return []
    table = DeltaTable(where.uri, storage_options=where.options)
    return table.vacuum(
        retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False, full=full
    )


# --- a day's publication --------------------------------------------------------------------


@dataclass(frozen=True)
class DayChange:
    """What one publication of a day changes: the tracks it writes and those it removes."""

    day: str
    write: tuple[TrackId, ...]
    remove: tuple[TrackId, ...]
    whole_day: bool

    @property
    def empty(self) -> bool:
        return not (self.write or self.remove or self.whole_day)


def plan_day(
    present: set[TrackId], current: Iterable[TrackId], rescored: Iterable[TrackId], day: str
) -> DayChange:
    """The smallest change that makes a day hold exactly `current`'s rows.

    `present`: tracks the table holds; `rescored`: tracks whose rows were computed anew (their
    old rows, if any, are replaced). Tracks present and not rescored keep their files.
    """
    current = set(current)
    write = (set(rescored) & current) | (current - present)
    remove = present - current
    # Rewriting every track of the day: one predicate on the day instead of one per track.
    whole = bool(current) and write == current or (not current and bool(present))
    return DayChange(day, tuple(sorted(write)), tuple(sorted(remove)), whole)


def publish_day(
    where: DeltaLocation,
    table: str,
    change: DayChange,
    read_track: Callable[[TrackId], pl.DataFrame],
) -> int | None:
    """Commit `change` to `table` (one commit); the version, or None when nothing changed."""
    if change.empty and where.exists():
        return None

    def rows() -> Iterator[pl.DataFrame]:
        for track in change.write:
            yield read_track(track)

    tracks = None if change.whole_day else change.write + change.remove
    return replace_tracks(where, table, change.day, rows, tracks if tracks != () else None)


@dataclass(frozen=True)
class Published:
    """A Delta table's days as a step published them (the IO manager's input for metadata)."""

    table: str
    days: tuple[str, ...]
    version: int | None


def write_days(
    where: DeltaLocation, table: str, days: Iterable[str], df: pl.DataFrame
) -> Published:
    """Replace whole days of `table` with `df`'s rows (a day without rows is emptied)."""
    version = None
    days = tuple(sorted(set(days)))
    for day in days:
        part = df.filter(pl.col(PARTITION_COLUMN).cast(pl.String) == day)
        if is_frame_table(part):
            part = part.sort(FRAME_ORDER, nulls_last=True, maintain_order=True)
        version = replace_tracks(where, table, day, lambda part=part: [part], None)
    return Published(table, days, version)


def count_rows(where: DeltaLocation, table: str, days: Iterable[str]) -> int:
    frame = scan_days(where, table, days)
    return 0 if frame is None else int(frame.select(pl.len()).collect().item())


def remove_days(where: DeltaLocation, days: Iterable[str]) -> None:
    """Take whole days out of the table in one commit (metadata only: no file is read)."""
    from deltalake import DeltaTable

    listed = ", ".join(sql_literal(d) for d in sorted(set(days)))
    DeltaTable(where.uri, storage_options=where.options).delete(f"{PARTITION_COLUMN} IN ({listed})")


def day_of(path: str) -> str:
    """The day of a data file's path relative to its table (`recording_date=D/part-….parquet`)."""
    return path.split("/", 1)[0].split("=", 1)[-1]
