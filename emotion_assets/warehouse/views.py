"""DuckDB views over the lake, kept in data/warehouse.duckdb for analysts.

DuckDB lets one process write a database file OR many read it. Pipeline steps therefore never
write the file on their hot path: views glob the lake and DuckDB re-binds `SELECT *` at query
time, so new partitions and new columns show up without touching the file. It is opened for
writing only when a view's text changes (a new table, a new embedding size, a moved data dir).
The lake's path is the only literal in the view text (DDL takes no parameters): it is quoted. That rare write is serialised by a lock file and retried
while analysts hold read-only connections; if it can't get in, the old views keep working and the
next run tries again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb

from emotion_assets.warehouse.atomic import write_atomically
from emotion_assets.warehouse.lake import FILE_NAME, list_tables

log = logging.getLogger(__name__)

STATE_FILE = "_views.json"
EMBEDDING_COLUMN = "embedding"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _scan(lake: Path, table: str) -> str:
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


def view_sql(lake: Path, table: str, written: Sequence[Path] = ()) -> str:
    """The CREATE VIEW statement for `table`, derived from what is in the lake now.

    `written`: files just written. Their schema stands for the table's (one small file instead
    of every partition ever written: this runs after each table write); the whole lake is read
    only when they have no embedding rows to size the array from.
    """
    scan = _scan(lake, table)
    probe = duckdb.connect()  # in-memory: reading the lake needs no lock on the warehouse
    try:
        size = None
        if written:
            files = ", ".join(_quote_literal(Path(f).resolve().as_posix()) for f in written)
            size = _embedding_size(probe, f"read_parquet([{files}], union_by_name = true)")
        if size is None:
            size = _embedding_size(probe, scan)
    finally:
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
    path = Path(lake) / STATE_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _fingerprint(views: dict[str, str], warehouse: Path) -> dict[str, str]:
    state = {t: hashlib.sha256(sql.encode()).hexdigest() for t, sql in views.items()}
    state["__warehouse__"] = str(Path(warehouse).resolve())
    return state


def _up_to_date(state: dict[str, str], want: dict[str, str], warehouse: Path) -> bool:
    return warehouse.exists() and all(state.get(k) == v for k, v in want.items())


def ensure_views(
    lake: Path,
    warehouse: Path,
    *,
    written: dict[str, Sequence[Path]] | None = None,
    timeout_s: float = 60.0,
) -> list[str]:
    """Create or refresh the views that changed; return the tables refreshed.

    `written` ({table: files just written}) limits the work to those tables (the IO manager's
    case); None checks every table in the lake (`python -m emotion_assets.warehouse --refresh`).
    Cheap when nothing changed (no DuckDB file access). Never raises because analysts are
    reading: after `timeout_s` of lock conflicts it logs a warning and leaves the old views.
    """
    lake, warehouse = Path(lake), Path(warehouse)
    desired = _desired(lake, written)
    if _up_to_date(_load_state(lake), _fingerprint(desired, warehouse), warehouse):
        return []
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            desired = _desired(lake, written)  # another process may have refreshed meanwhile
            state = _load_state(lake)
            want = _fingerprint(desired, warehouse)
            if _up_to_date(state, want, warehouse):
                return []
            if state.get("__warehouse__") != want["__warehouse__"] or not warehouse.exists():
                # a new or moved warehouse file: every view, not only the tables just written
                desired = _desired(lake, None)
                want = _fingerprint(desired, warehouse)
                state = {}
            changed = [t for t in desired if state.get(t) != want[t]]
            new = {**state, **want}
            if not _apply(warehouse, [desired[t] for t in changed], timeout_s=timeout_s):
                return []
            write_atomically(
                lake / STATE_FILE,
                lambda tmp: tmp.write_text(json.dumps(new, indent=1, sort_keys=True)),
            )
            log.info("warehouse: refreshed views %s in %s", changed, warehouse)
            return changed
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _apply(warehouse: Path, statements: list[str], *, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    delay = 0.2
    while True:
        try:
            con = duckdb.connect(str(warehouse))
        except duckdb.IOException as exc:  # analysts hold read-only connections: wait
            if time.monotonic() >= deadline:
                log.warning(
                    "warehouse: %s is held by readers; views not refreshed this time (%s). "
                    "New partitions are visible anyway; new tables/columns appear on the next run "
                    "or with `python -m emotion_assets.warehouse --refresh`.",
                    warehouse,
                    str(exc).splitlines()[0],
                )
                return False
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        try:
            for sql in statements:
                con.execute(sql)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        return True


def connect_readonly(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """The analyst's connection: read-only, so pipeline runs and other readers are not blocked."""
    return duckdb.connect(str(warehouse), read_only=True)
