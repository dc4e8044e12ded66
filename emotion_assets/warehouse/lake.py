"""The Parquet lake: data/lake/<table>/recording_date=YYYY-MM-DD/data.parquet, one file a partition.

Damaged partitions (a disk fault truncating a file) must not take the other days down: every
write is read back before it replaces the old file, and `check_lake` (run before each view
refresh and by `emotion-assets sql --check`) moves a partition it cannot read
aside to `data.parquet.damaged-<time>` — kept, never deleted — so the views, which glob
`*/data.parquet`, keep answering for every other day. Each damage is reported with its path and
the command that repairs it (re-materializing that day).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from emotion_assets.foundation.atomic_files import remove_stale_temps, write_atomically

log = logging.getLogger(__name__)

PARTITION_COLUMN = "recording_date"
FILE_NAME = "data.parquet"
DAMAGED_SUFFIX = ".damaged-"
DELTA_LOG = "_delta_log"  # a table folder holding it is a Delta table (warehouse/delta.py)
VERIFIED_FILE = "_verified.json"  # size and mtime of partitions already read back successfully
# Frame-level tables (one row per 20 ms) are written sorted by these columns within a day, so
# each row group holds a narrow range of recording ids and a query for one recording reads only
# the row groups whose min/max statistics contain it, not the month (docs/performance.md).
FRAME_ORDER = ("recording_id", "track", "frame_idx")
# Frame-level tables hold ~54 M rows a month, 36 B a row, nearly all of it float32 scores whose
# low mantissa bits are noise zstd cannot shrink. They are stored (docs/performance.md):
# - with the lowest SCORE_BITS_DROPPED of each float32 mantissa rounded off (to nearest): a
#   relative error <= 2**-(24 - SCORE_BITS_DROPPED) = 1.5e-5, below the engine's 1e-4 fidelity
#   to funasr and the 1e-4 sums-to-one check; nulls, NaN and infinities are kept as they are;
# - BYTE_STREAM_SPLIT floats (the zeroed low bytes then compress to nothing) and
#   DELTA_BINARY_PACKED frame_idx (consecutive integers: ~0 bytes) — encodings polars cannot
#   write, hence pyarrow for these tables;
# - FRAME_ROW_GROUP_ROWS-row groups (min/max statistics of the sorted recording_id prune a query
#   for one recording to ~1 row group a day) and a Parquet bloom filter on recording_id.
# Measured on a 10-audio-hour day: 65.0 -> 43.5 MB for frame_emotion_scores.
SCORE_BITS_DROPPED = 8
FRAME_ROW_GROUP_ROWS = 122_880
FRAME_INT_DELTA = ("frame_idx",)
BLOOM_FILTER_COLUMN = "recording_id"


class DamagedPartitionError(OSError):
    """A lake partition cannot be read; the message names it and the command that repairs it."""


def repair_command(day: str) -> str:
    return f"make run DAY={day}"


@dataclass(frozen=True)
class Damage:
    table: str
    day: str
    path: Path
    error: str
    moved_to: Path | None

    def sentence(self) -> str:
        aside = (
            f"; it was moved aside to {self.moved_to.name}, so the other days stay readable"
            if self.moved_to
            else ""
        )
        return (
            f"{self.path} is damaged ({self.error}){aside}; "
            f"repair it by materializing that day again: {repair_command(self.day)}"
        )


def parquet_problem(path: Path, rows: int | None = None) -> str | None:
    """Why `path` is not a readable Parquet file (footer, schema, row count), or None."""
    try:
        n = pl.scan_parquet(path).select(pl.len()).collect().item()
    except Exception as exc:  # noqa: BLE001 - any reader error means the file is unusable
        return " ".join(str(exc).split())[:200] or type(exc).__name__
    if rows is not None and n != rows:
        return f"{n} rows read back, {rows} written"
    return None


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
        part = _clustered(df.filter(pl.col(PARTITION_COLUMN).cast(pl.Utf8) == day))
        target = partition_file(lake, table, day)
        write_atomically(target, lambda tmp, part=part: _write_verified(part, tmp))
        log.info("lake: wrote %s rows to %s", part.height, target)
        written.append(target)
    return written


@dataclass(frozen=True)
class DayChunks:
    """A table's rows per day as a stream of DataFrames (each day's in FRAME_ORDER when it is
    frame-level): written one chunk at a time, so the writer never holds a day."""

    days: dict[str, Iterable[pl.DataFrame]]


def write_day_chunks(lake: Path, table: str, day: str, chunks: Iterable[pl.DataFrame]) -> Path:
    """Replace one day of `table` with the rows of `chunks`, streamed into one Parquet file
    (written, read back, then renamed over the old one, as write_partitions does)."""

    def write(tmp: Path) -> None:
        writer, rows = None, 0
        try:
            for chunk in chunks:
                outside = chunk.filter(pl.col(PARTITION_COLUMN).cast(pl.Utf8) != day)
                if outside.height:
                    raise ValueError(f"table {table!r} has rows for days outside {day}")
                part = _clustered(chunk)
                frames = is_frame_table(part)
                if frames:
                    part = compact_frames(part)
                arrow = part.to_arrow()
                if writer is None:
                    options = _frame_parquet_options(part) if frames else {"compression": "zstd"}
                    row_group = options.pop("row_group_size", None)
                    writer = pq.ParquetWriter(tmp, arrow.schema, **options)
                writer.write_table(arrow.cast(writer.schema), row_group_size=row_group)
                rows += part.height
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise ValueError(f"table {table!r}: no chunk for {day}, not even an empty one")
        if problem := parquet_problem(tmp, rows):
            raise OSError(f"the Parquet file just written to {tmp} does not read back: {problem}")

    target = partition_file(lake, table, day)
    write_atomically(target, write)
    log.info("lake: streamed %s to %s", table, target)
    return target


def _clustered(part: pl.DataFrame) -> pl.DataFrame:
    """A frame-level partition in FRAME_ORDER; other tables keep the order they came in."""
    if not is_frame_table(part):
        return part
    return part.sort(FRAME_ORDER, nulls_last=True, maintain_order=True)


def is_frame_table(df: pl.DataFrame) -> bool:
    return all(c in df.columns for c in FRAME_ORDER)


def round_float32(series: pl.Series, dropped_bits: int = SCORE_BITS_DROPPED) -> pl.Series:
    """`series` (Float32) rounded to nearest with its lowest `dropped_bits` mantissa bits zero.

    Relative error <= 2**-(24 - dropped_bits); nulls, NaN, infinities and values that would
    round past the largest float32 are returned unchanged."""
    values = series.to_numpy(allow_copy=True).astype(np.float32, copy=True)
    bits = values.view(np.uint32)
    half = np.uint32(1 << (dropped_bits - 1))
    mask = np.uint32((0xFFFFFFFF >> dropped_bits) << dropped_bits)
    rounded = ((bits + half) & mask).view(np.float32)
    keep = ~np.isfinite(values) | ~np.isfinite(rounded)
    out = pl.Series(series.name, np.where(keep, values, rounded), dtype=pl.Float32)
    return out.set(series.is_null(), None) if series.null_count() else out


def _frame_parquet_options(part: pl.DataFrame) -> dict:
    """pyarrow write options for a frame-level partition (see SCORE_BITS_DROPPED above)."""
    floats = [c for c, t in part.schema.items() if t == pl.Float32]
    encodings = {c: "BYTE_STREAM_SPLIT" for c in floats}
    encodings |= {c: "DELTA_BINARY_PACKED" for c in FRAME_INT_DELTA if c in part.columns}
    # The distinct ids expected in the file (a streamed file knows only its first chunk's).
    ids = max(1_000, part[BLOOM_FILTER_COLUMN].n_unique())
    return {
        "compression": "zstd",
        "use_dictionary": [c for c in part.columns if c not in encodings],
        "column_encoding": encodings,
        "row_group_size": FRAME_ROW_GROUP_ROWS,
        "write_statistics": True,
        "bloom_filter_options": {BLOOM_FILTER_COLUMN: {"ndv": ids, "fpp": 0.01}},
        "sorting_columns": [
            pq.SortingColumn(part.columns.index(c)) for c in FRAME_ORDER if c in part.columns
        ],
    }


def compact_frames(part: pl.DataFrame) -> pl.DataFrame:
    """A frame-level partition as it is stored: float32 columns rounded (round_float32)."""
    floats = [c for c, t in part.schema.items() if t == pl.Float32]
    return part.with_columns([round_float32(part[c]) for c in floats])


def _write_verified(part: pl.DataFrame, tmp: Path) -> None:
    """Write, then read the footer back: a bad write never replaces a good partition."""
    if is_frame_table(part):
        part = compact_frames(part)
        pq.write_table(part.to_arrow(), tmp, **_frame_parquet_options(part))
    else:
        part.write_parquet(tmp, statistics=True)
    if problem := parquet_problem(tmp, part.height):
        raise OSError(f"the Parquet file just written to {tmp} does not read back: {problem}")


def read_partitions(lake: Path, table: str, days: Iterable[str]) -> pl.DataFrame | None:
    """Rows of the given days, or None when none of those partitions was ever written.

    A damaged partition raises DamagedPartitionError naming it and the repair command.
    """
    frames = []
    for day in sorted(set(days)):
        path = partition_file(lake, table, day)
        if path.exists():
            try:
                frames.append(pl.read_parquet(path))
            except Exception as exc:  # noqa: BLE001 - reader errors come in many types
                damage = Damage(table, day, path, " ".join(str(exc).split())[:200], None)
                raise DamagedPartitionError(damage.sentence()) from exc
    if not frames:
        return None
    return pl.concat(frames, how="diagonal_relaxed")


def list_tables(lake: Path) -> list[str]:
    """Tables that have at least one partition file, and the Delta tables."""
    return sorted(
        set(_file_tables(lake))
        | {entry.name for entry in _table_dirs(lake) if (entry / DELTA_LOG).is_dir()}
    )


def _table_dirs(lake: Path) -> list[Path]:
    lake = Path(lake)
    if not lake.is_dir():
        return []
    return [e for e in lake.iterdir() if e.is_dir() and not e.name.startswith(("_", "."))]


def _file_tables(lake: Path) -> list[str]:
    """Tables stored as one Parquet file per day (not the Delta tables, whose folder may still
    hold the day files written before they became Delta tables: no view reads those)."""
    return sorted(
        e.name
        for e in _table_dirs(lake)
        if not (e / DELTA_LOG).is_dir() and any(e.glob(f"*/{FILE_NAME}"))
    )


def _load_verified(lake: Path) -> dict[str, list[int]]:
    try:
        return json.loads((Path(lake) / VERIFIED_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _move_aside(path: Path, seen_inode: int) -> Path | None:
    """Rename a damaged file out of the views' glob, unless a writer replaced it meanwhile."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}{DAMAGED_SUFFIX}{stamp}")
    try:
        if os.stat(path).st_ino != seen_inode:
            return None  # a writer has just put a new file there: not ours to move
        os.rename(path, aside)
    except FileNotFoundError:
        return None
    return aside


def check_lake(lake: Path, tables: Iterable[str] | None = None) -> list[Damage]:
    """Find partitions that cannot be read, move them aside and report them.

    Files already verified with the same size and mtime are not read again, so this costs a
    stat per partition; a truncated file changes both and is read. Temp files of dead writers
    in the lake's own folder are removed.
    """
    lake = Path(lake)
    if not lake.is_dir():
        return []
    # The state files beside the tables (_verified.json, _views.json, _search.json) are written
    # atomically: a process killed mid-write leaves its temp file here.
    remove_stale_temps(lake)
    verified = _load_verified(lake)
    names = _file_tables(lake) if tables is None else sorted(set(tables))
    damages: list[Damage] = []
    changed = False
    for table in names:
        for path in sorted((lake / table).glob(f"*/{FILE_NAME}")):
            key = path.relative_to(lake).as_posix()
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            if verified.get(key) == [st.st_size, st.st_mtime_ns]:
                continue
            problem = parquet_problem(path)
            if problem is None:
                verified[key], changed = [st.st_size, st.st_mtime_ns], True
                continue
            day = path.parent.name.split("=", 1)[-1]
            damage = Damage(table, day, path, problem, _move_aside(path, st.st_ino))
            verified.pop(key, None)
            changed = True
            log.error("lake: %s", damage.sentence())
            damages.append(damage)
    if changed:
        with contextlib.suppress(OSError):  # the cache only saves work; losing it is harmless
            write_atomically(
                lake / VERIFIED_FILE, lambda tmp: tmp.write_text(json.dumps(verified, indent=0))
            )
    return damages


def damaged_files(lake: Path) -> list[Path]:
    """Partitions moved aside as damaged whose day has not been written again since."""
    lake = Path(lake)
    if not lake.is_dir():
        return []
    return sorted(
        p
        for p in lake.glob(f"*/*/{FILE_NAME}{DAMAGED_SUFFIX}*")
        if not (p.parent / FILE_NAME).exists()
    )


def day_status(lake: Path, days: Iterable[str]) -> str:
    """Markdown: for each table, when its partition of each day was last written (or missing).

    Shown when a run stops half-way (disk full), so the half-published state is visible.
    """
    lines = ["| table | day | partition written (UTC) |", "|---|---|---|"]
    for table in _file_tables(lake):
        for day in sorted(set(days)):
            path = partition_file(lake, table, day)
            try:
                stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
                when = stamp.strftime("%Y-%m-%d %H:%M:%S")
            except FileNotFoundError:
                when = "missing"
            lines.append(f"| {table} | {day} | {when} |")
    return "\n".join(lines)


def partly_published(lake: Path) -> dict[str, list[str]]:
    """{day: tables without that day's partition} for days some tables have and others lack.

    Every asset writes a file for each day it runs (an empty one when it has no rows), so after
    a complete run every table has the day; a run stopped half-way (a full disk) leaves gaps.
    """
    # A Delta table's day is published in one commit: never half-way (warehouse/delta.py).
    tables = _file_tables(lake)
    days_of = {
        t: {p.parent.name.split("=", 1)[-1] for p in (Path(lake) / t).glob(f"*/{FILE_NAME}")}
        for t in tables
    }
    every_day = set().union(*days_of.values()) if days_of else set()
    gaps = {day: [t for t in tables if day not in days_of[t]] for day in sorted(every_day)}
    return {day: missing for day, missing in gaps.items() if missing}
