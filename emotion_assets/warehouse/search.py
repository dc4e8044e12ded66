"""A full-text (BM25) index of every transcript sentence, built once per change of the lake.

DuckDB's `fts` index is a set of tables: building it over a month's 195 k sentences took ~10 s
of the 14 s the cookbook's search recipe cost when every search built it again (bench/results/
2026-12-01-warehouse.md). The index is built here instead, when `segment_emotions` changes
(`views.ensure_views` calls `ensure_search_index`), into its own DuckDB file beside the warehouse
(`<warehouse>_search.duckdb`), published like the warehouse file: built under a temporary name
and renamed over the old one, so a reader never meets a half-built index or a writer's lock.
A search then only reads the index (docs/analytics.md, "full-text search").
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from emotion_assets.foundation.atomic_files import atomic_path, write_atomically
from emotion_assets.warehouse.extensions import load_offline
from emotion_assets.warehouse.lake import FILE_NAME

log = logging.getLogger(__name__)

SOURCE_TABLE = "segment_emotions"
INDEX_TABLE = "sentences"
STATE_FILE = "_search.json"
# What a search returns with each sentence; sentence_id numbers sentences in a stable order.
COLUMNS = (
    "recording_date",
    "recording_id",
    "track",
    "segment_idx",
    "speaker",
    "t_start",
    "t_end",
    "text",
    "top_emotion",
    "angry",
    "emotional_share",
)


def search_file(warehouse: Path) -> Path:
    """The index's DuckDB file for `warehouse` (data/warehouse.duckdb -> warehouse_search.duckdb)."""
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}_search{warehouse.suffix}")


def _signature(lake: Path) -> list[list]:
    """(partition, size, mtime) of every segment_emotions file: changes when any day is written."""
    signature = []
    for path in sorted((Path(lake) / SOURCE_TABLE).glob(f"*/{FILE_NAME}")):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        signature.append([path.relative_to(lake).as_posix(), st.st_size, st.st_mtime_ns])
    return signature


def _load_state(state_path: Path) -> dict:
    try:
        return json.loads(Path(state_path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def build_search_index(
    lake: Path | str,
    target: Path,
    prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> int:
    """Build the index of every sentence under `lake` (a folder, or an s3:// URI read through
    httpfs once `prepare` set the connection up) into a new `target` file; returns sentences."""
    if isinstance(lake, Path):
        lake = lake.resolve().as_posix()
    pattern = f"{lake}/{SOURCE_TABLE}/*/{FILE_NAME}".replace("'", "''")
    with atomic_path(Path(target)) as tmp:
        con = duckdb.connect(str(tmp))
        try:
            load_offline(con, "fts")
            if prepare is not None:
                prepare(con)
            con.execute(
                f"CREATE TABLE {INDEX_TABLE} AS SELECT "
                "row_number() OVER (ORDER BY recording_date, recording_id, track, segment_idx) "
                f"AS sentence_id, {', '.join(COLUMNS)} "
                f"FROM read_parquet('{pattern}', hive_partitioning = true, union_by_name = true) "
                "WHERE scope = 'segment' AND text IS NOT NULL"
            )
            con.execute(f"PRAGMA create_fts_index('{INDEX_TABLE}', 'sentence_id', 'text')")
            count = con.execute(f"SELECT count(*) FROM {INDEX_TABLE}").fetchone()[0]
            con.execute("CHECKPOINT")
        finally:
            con.close()
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return int(count)


def ensure_search_index(lake: Path, warehouse: Path) -> bool:
    """(Re)build the index when segment_emotions changed since the last build; True if built.

    Cheap when nothing changed (a stat per partition). A lake without segment_emotions has no
    index: an old one is removed so no search answers from sentences no longer in the lake.
    """
    lake = Path(lake)
    return refresh_index(
        lambda: _signature(lake),
        lake / STATE_FILE,
        warehouse,
        lambda t: build_search_index(lake, t),
    )


def refresh_index(
    signature: Callable[[], list],
    state_path: Path,
    warehouse: Path,
    build: Callable[[Path], int],
) -> bool:
    """The rebuild rule for any lake: `signature()` lists the source files as they are now,
    `state_path` keeps the one last built, `build(target)` writes a new index file."""
    target = search_file(warehouse)
    current = signature()
    if not current:
        target.unlink(missing_ok=True)
        return False
    want = {"signature": current, "index": str(target.resolve())}
    if target.exists() and _load_state(state_path) == want:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; readers never take it
        try:
            current = signature()  # another process may have built it meanwhile
            want = {"signature": current, "index": str(target.resolve())}
            if target.exists() and _load_state(state_path) == want:
                return False
            count = build(target)
            state_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(state_path, lambda tmp: tmp.write_text(json.dumps(want)))
            log.info("warehouse: full-text index of %s sentences in %s", count, target)
            return True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def connect_search(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the index with `fts` loaded (offline, from its wheel)."""
    con = duckdb.connect(str(search_file(warehouse)), read_only=True)
    try:
        load_offline(con, "fts")
    except Exception:
        con.close()
        raise
    return con
