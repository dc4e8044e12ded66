"""`emotion-assets sql [--check] [--refresh] ["SQL"]` (`make sql`): check the lake, refresh views,
or run a read-only query (with none of them: an interactive DuckDB shell, or the tables)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from emotion_assets.foundation.layout import DataLayout
from emotion_assets.foundation.quiet import quiet_library_noise
from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.storage import Storage, StorageError
from emotion_assets.warehouse import delta_upkeep
from emotion_assets.warehouse.lake import (
    check_lake,
    damaged_files,
    partly_published,
    repair_command,
)
from emotion_assets.warehouse.remote import check_remote_lake, ensure_remote_views
from emotion_assets.warehouse.views import connect_readonly, ensure_views


def check(layout: DataLayout) -> int:
    """Read every partition not verified yet; report damaged ones (moved aside), days that only
    some tables have (a run stopped half-way), and the repair of each.

    Exit status 1 while any of them waits for its day to be materialized again.
    """
    local = Storage(str(layout.root), local_root=layout.root)
    for damage in check_lake(layout.lake) + delta_upkeep.check_tables(local, layout.lake):
        print(f"damaged: {damage.sentence()}")
    in_delta = delta_upkeep.damaged_waiting(local)
    for table, day, where in in_delta:
        print(f"not repaired yet: {where} (table {table}); repair: {repair_command(day)}")
    waiting = damaged_files(layout.lake) + in_delta
    for path in damaged_files(layout.lake):
        day = path.parent.name.split("=", 1)[-1]
        print(
            f"not repaired yet: {layout.relative(path)} (table {path.parent.parent.name}); "
            f"repair: {repair_command(day)}"
        )
    gaps = partly_published(layout.lake)
    for day, missing in gaps.items():
        print(
            f"partly published: {day} lacks {len(missing)} table(s) ({', '.join(missing)}), "
            f"e.g. after a run stopped by a full disk; repair: {repair_command(day)}"
        )
    if not waiting and not gaps:
        print(f"lake OK: every partition under {layout.lake} reads back, every day is complete")
    return 1 if waiting or gaps else 0


def check_remote(storage: Storage, layout: DataLayout) -> int:
    """`check` for a lake on S3: damaged objects are reported and moved aside."""
    damages = check_remote_lake(storage, layout.root) + delta_upkeep.check_tables(
        storage, layout.lake
    )
    for damage in damages:
        print(f"damaged: {damage.sentence()}")
    if not damages:
        print(f"lake OK: every partition under {storage.uri('lake')} reads back")
    return 1 if damages else 0


def query_error(exc: duckdb.Error) -> str:
    """DuckDB's message in one line, its hint included ('Did you mean "recording_summary"?'),
    without the caret drawing under the query."""
    lines = str(exc).split("\nLINE ", 1)[0].split()
    return " ".join(lines) or type(exc).__name__


def open_or_say(warehouse: Path, settings: StorageSettings) -> duckdb.DuckDBPyConnection | None:
    """A read-only connection, or None after one sentence on stderr."""
    try:
        return connect_readonly(warehouse, settings)
    except duckdb.Error as exc:
        print(f"error: {warehouse} cannot be opened: {query_error(exc)}", file=sys.stderr)
        return None


def run_query(warehouse: Path, settings: StorageSettings, sql: str) -> int:
    """Print the query's result; a query DuckDB refuses is one sentence and exit 2."""
    con = open_or_say(warehouse, settings)
    if con is None:
        return 1
    try:
        print(con.sql(sql))  # the relation runs when printed: its errors are caught here too
    except duckdb.Error as exc:
        print(f"error: {query_error(exc)}", file=sys.stderr)
        return 2
    finally:
        con.close()
    return 0


def usage(warehouse: Path, settings: StorageSettings) -> int:
    """No query: the shell of a `duckdb` CLI on the warehouse, read-only, when one is installed
    and the lake is local (a lake on S3 needs the httpfs secret only our connection has);
    otherwise how to query and what there is to query."""
    cli = shutil.which("duckdb")
    if cli and not settings.storage_url.startswith("s3://"):
        return subprocess.run([cli, "-readonly", str(warehouse)], check=False).returncode
    print('usage: make sql Q="SELECT * FROM recording_summary LIMIT 5"  (read-only)')
    con = open_or_say(warehouse, settings)
    if con is None:
        return 1
    try:
        names = con.sql(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name"
        ).fetchall()
    finally:
        con.close()
    print(f"tables and views in {warehouse}: {', '.join(name for (name,) in names) or 'none'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    quiet_library_noise()  # the entry point lowers library chatter (quiet.py)
    parser = argparse.ArgumentParser(prog="emotion-assets sql", description=__doc__)
    parser.add_argument("sql", nargs="?", help="a query to run read-only against the warehouse")
    parser.add_argument("--refresh", action="store_true", help="(re)create the views over the lake")
    parser.add_argument(
        "--check",
        action="store_true",
        help="read every lake partition back; move damaged ones aside and say how to repair them",
    )
    args = parser.parse_args(argv)
    settings = load_group(StorageSettings)
    storage = Storage.from_settings(settings)
    # A local root holds the lake itself; the warehouse file is always local, in data_dir.
    layout = DataLayout(storage.local_root or settings.data_dir)
    warehouse = DataLayout(settings.data_dir).warehouse
    remote = None if storage.is_local else storage
    status = 0
    try:
        if remote is not None:
            remote.validate()  # a wrong endpoint, key or bucket: one sentence, no traceback
        if args.check:
            status = check(layout) if remote is None else check_remote(remote, layout)
        if args.refresh:
            if remote is None:
                refreshed = ensure_views(layout.lake, warehouse)
            else:
                refreshed = ensure_remote_views(remote, settings, warehouse)
            print(f"views refreshed: {', '.join(refreshed) or 'none needed'} ({warehouse})")
    except StorageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    sql = (args.sql or "").strip()  # `make sql` without Q passes ""
    if not sql and (args.check or args.refresh):
        return status
    if not warehouse.exists():
        hint = "--refresh" if remote is not None else "`make demo`"
        print(f"no warehouse yet at {warehouse}: run {hint} first", file=sys.stderr)
        return 1
    if sql:
        return run_query(warehouse, settings, sql) or status
    return usage(warehouse, settings)
