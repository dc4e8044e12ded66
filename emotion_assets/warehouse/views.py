"""DuckDB views over the lake, kept in data/warehouse.duckdb for analysts.

DuckDB lets one process write a database file OR many read it. Pipeline steps therefore never
open the analysts' file for writing: views glob the lake and DuckDB re-binds `SELECT *` at query
time, so new partitions and new columns show up without touching the file. When a view's text
changes (a new table, a new embedding size, a moved data dir) a *fresh* warehouse file is built
beside the old one and swapped in with one atomic rename: writers never wait for readers, readers
never see a lock error — an open connection keeps reading the old file (same views, same lake)
until it reconnects. Builders are serialised by a lock file that only writers take.
The lake's path is the only literal in the view text (DDL takes no parameters): it is quoted.
Before each refresh the lake is checked (`lake.check_lake`): a damaged partition is moved aside
and reported, so it cannot break the views for the other days.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from emotion_assets.foundation.atomic_files import atomic_path, write_atomically
from emotion_assets.storage import Storage
from emotion_assets.warehouse.delta import is_delta_table, location
from emotion_assets.warehouse.delta_upkeep import check_tables
from emotion_assets.warehouse.extensions import install_offline
from emotion_assets.warehouse.lake import DELTA_LOG, FILE_NAME, Damage, check_lake, list_tables
from emotion_assets.warehouse.search import SOURCE_TABLE as SEARCHED_TABLE
from emotion_assets.warehouse.search import ensure_search_index

if TYPE_CHECKING:
    from emotion_assets.settings import StorageSettings

log = logging.getLogger(__name__)

STATE_FILE = "_views.json"
EMBEDDING_COLUMN = "embedding"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_lake_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """What every connection that reads the views needs: `delta` for the work units' tables
    (installed once from its wheel, so analysts' own DuckDB connections autoload it)."""
    install_offline(con, "delta")


def _is_delta(lake: Path | str, table: str) -> bool:
    """A Delta table: a local table folder with a Delta log, or a work units' table on S3."""
    if isinstance(lake, str) and "://" in lake:
        return is_delta_table(table)
    return (Path(lake) / table / DELTA_LOG).is_dir()


def _scan(lake: Path | str, table: str) -> str:
    """read_parquet over a table's partitions, or delta_scan over a Delta table (delta.py);
    `lake` is a folder or an s3:// URI (httpfs)."""
    if _is_delta(lake, table):
        return f"delta_scan({_quote_literal(location(lake, table).uri)})"
    if isinstance(lake, str) and "://" in lake:
        pattern = f"{lake.rstrip('/')}/{table}/*/{FILE_NAME}"
    else:
        pattern = (Path(lake).resolve() / table / "*" / FILE_NAME).as_posix()
    return (
        f"read_parquet({_quote_literal(pattern)}, hive_partitioning = true, union_by_name = true)"
    )


def _embedding_size(probe: duckdb.DuckDBPyConnection, source: str) -> int | None:
    """Length of the embedding arrays in `source`, None when it has no such column or no rows."""
    columns = probe.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    for name, dtype, *_ in columns:
        if name == EMBEDDING_COLUMN and dtype.endswith("[]"):
            size = probe.execute(f"SELECT max(len({_quote_ident(name)})) FROM {source}").fetchone()
            return int(size[0]) if size and size[0] else None
    return None


def view_sql(
    lake: Path | str,
    table: str,
    written: Sequence[Path | str] = (),
    probe: duckdb.DuckDBPyConnection | None = None,
) -> str:
    """The CREATE VIEW statement for `table`, derived from what is in the lake now.

    `written`: files just written. Their schema stands for the table's (one small file instead
    of every partition ever written: this runs after each table write); the whole lake is read
    only when they have no embedding rows to size the array from.
    `probe`: the connection that reads the lake (one with the S3 secret for an s3:// lake).
    """
    scan = _scan(lake, table)
    own = probe is None
    if probe is None:
        probe = duckdb.connect()  # in-memory: reading the lake needs no lock on the warehouse
        load_lake_extensions(probe)
    try:
        size = None
        delta = _is_delta(lake, table)
        if delta:  # one row sizes the array; a Delta table has one schema
            size = _embedding_size(probe, f"(SELECT * FROM {scan} LIMIT 1)")
        elif written:
            files = ", ".join(
                _quote_literal(f if isinstance(f, str) else Path(f).resolve().as_posix())
                for f in written
            )
            size = _embedding_size(probe, f"read_parquet([{files}], union_by_name = true)")
        if size is None and not delta:
            size = _embedding_size(probe, scan)
    finally:
        if own:
            probe.close()
    # Parquet has no fixed-size list; cast back so array_cosine_similarity works.
    col = _quote_ident(EMBEDDING_COLUMN)
    select = f"* REPLACE ({col}::FLOAT[{size}] AS {col})" if size else "*"
    return f"CREATE OR REPLACE VIEW {_quote_ident(table)} AS SELECT {select} FROM {scan}"


def _desired(lake: Path, written: dict[str, Sequence[Path]] | None) -> dict[str, str]:
    if written is None:
        return {table: view_sql(lake, table) for table in list_tables(lake)}
    return {table: view_sql(lake, table, files) for table, files in written.items()}


def _load_state(lake: Path) -> dict[str, str]:
    """{table: its CREATE VIEW text, "__warehouse__": the file they were written to}."""
    path = Path(lake) / STATE_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _up_to_date(state: dict[str, str], want: dict[str, str], warehouse: Path) -> bool:
    return (
        warehouse.exists()
        and state.get("__warehouse__") == str(warehouse.resolve())
        and all(state.get(k) == v for k, v in want.items())
    )


def ensure_views(
    lake: Path,
    warehouse: Path,
    *,
    written: dict[str, Sequence[Path]] | None = None,
    timeout_s: float | None = None,
    damages: list[Damage] | None = None,
) -> list[str]:
    """Create or refresh the views that changed; return the tables refreshed.

    `written` ({table: files just written}) limits the work to those tables (the IO manager's
    case); None checks every table in the lake (`emotion-assets sql --refresh`).
    Cheap when nothing changed (no DuckDB file access). Never waits for readers: a changed view
    set is published as a new file swapped in atomically. Damaged partitions found on the way
    are moved aside and appended to `damages` (when given). When segment_emotions is among the
    tables (or `written` is None) the full-text index beside the warehouse is rebuilt if that
    table changed (warehouse/search.py). `timeout_s` is accepted for compatibility and unused:
    there is nothing to wait for.
    """
    del timeout_s
    lake, warehouse = Path(lake), Path(warehouse)
    found = check_lake(lake) + check_tables(Storage(str(lake.parent), local_root=lake.parent), lake)
    if damages is not None:
        damages.extend(found)
    if written is None or SEARCHED_TABLE in written:
        _refresh_search_index(lake, warehouse)
    desired = _desired(lake, written)
    if _up_to_date(_load_state(lake), desired, warehouse):
        return []
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # only writers take it; held for one small build
        try:
            desired = _desired(lake, written)  # another process may have refreshed meanwhile
            state = _load_state(lake)
            if _up_to_date(state, desired, warehouse):
                return []
            if state.get("__warehouse__") != str(warehouse.resolve()) or not warehouse.exists():
                state = {}  # a new or moved warehouse file: every view, not only those written
                desired = _desired(lake, None)
            changed = sorted(t for t in desired if state.get(t) != desired[t])
            views = _all_views(lake, state, desired)
            _publish(warehouse, views)
            new = {**views, "__warehouse__": str(warehouse.resolve())}
            write_atomically(
                lake / STATE_FILE,
                lambda tmp: tmp.write_text(json.dumps(new, indent=1, sort_keys=True)),
            )
            log.info("warehouse: refreshed views %s in %s", changed, warehouse)
            return changed
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _refresh_search_index(lake: Path, warehouse: Path) -> None:
    """The full-text index follows segment_emotions (warehouse/search.py). A failed build must not
    stop the views: searches keep the previous index, and the error says so."""
    try:
        ensure_search_index(lake, warehouse)
    except Exception as exc:  # noqa: BLE001 - any DuckDB/extension/disk error
        log.error(
            "warehouse: the full-text index of %s could not be rebuilt (%s); searches answer "
            "from the previous index until the next refresh",
            SEARCHED_TABLE,
            " ".join(str(exc).split())[:200],
        )


def _all_views(lake: Path, state: dict[str, str], desired: dict[str, str]) -> dict[str, str]:
    """Every view the new file needs: the changed ones plus the kept ones, for tables that still
    have partitions (a view over an empty glob would fail every query of it)."""
    present = set(list_tables(lake))
    views: dict[str, str] = {}
    for table in sorted(present):
        if table in desired:
            views[table] = desired[table]
        elif str(state.get(table, "")).startswith("CREATE"):
            views[table] = state[table]
        else:  # unknown or an older state format: derive it from the lake
            views[table] = view_sql(lake, table)
    return views


def _publish(
    warehouse: Path,
    views: dict[str, str],
    prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> None:
    """Build a complete warehouse file under a temporary name and rename it over the old one.

    Readers holding the old file keep it (POSIX keeps an open file alive after a rename) and
    see the new views when they reconnect; a reader connecting now opens one file or the other,
    never a half-written one, and never meets a writer's lock.
    """
    with atomic_path(warehouse) as tmp:
        con = duckdb.connect(str(tmp))
        try:
            load_lake_extensions(con)
            if prepare is not None:  # e.g. the S3 secret: DuckDB binds a view when creating it
                prepare(con)
            for sql in views.values():
                con.execute(sql)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with contextlib.suppress(FileNotFoundError):
            Path(str(tmp) + ".wal").unlink()
    # A WAL beside the real file could only come from an older writer that crashed; it belongs
    # to the replaced file and must not be replayed into the new one.
    with contextlib.suppress(FileNotFoundError):
        Path(str(warehouse) + ".wal").unlink()


def connect_readonly(
    warehouse: Path, storage: StorageSettings | None = None
) -> duckdb.DuckDBPyConnection:
    """The analyst's connection: read-only, so pipeline runs and other readers are not blocked.

    With `storage` on s3:// the views read the lake over httpfs: the connection gets httpfs and
    a temporary S3 secret from the same settings (AWS_*) the pipeline uses.
    """
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        load_lake_extensions(con)
        if storage is not None and storage.storage_url.startswith("s3://"):
            prepare_s3(con, storage)
    except Exception:
        con.close()
        raise
    return con


def prepare_s3(con: duckdb.DuckDBPyConnection, storage: StorageSettings) -> None:
    """httpfs, the S3 secret, and whole-object reads on `con`.

    S3 replaces an object atomically, but httpfs reads a Parquet file with several range
    requests (footer, then row groups): when the pipeline replaces a day between two of them
    the reader mixes two versions (measured: 2 of 16 queries failed while one partition was
    replaced in a loop). `force_download` fetches each file with one GET, i.e. one version
    (0 errors in 33 queries over 100 replacements); it costs reading whole files.
    """
    from emotion_assets.warehouse.extensions import create_s3_secret

    create_s3_secret(con, storage)
    load_lake_extensions(con)
    con.execute("SET force_download = true")
