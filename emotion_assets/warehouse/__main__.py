"""python -m emotion_assets.warehouse [--check] [--refresh] ["SQL"]: check the lake, refresh views,
or run a read-only query."""

from __future__ import annotations

import argparse
import sys

from emotion_assets.layout import DataLayout
from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.storage import Storage, StorageError
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
    for damage in check_lake(layout.lake):
        print(f"damaged: {damage.sentence()}")
    waiting = damaged_files(layout.lake)
    for path in waiting:
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
    damages = check_remote_lake(storage, layout.root)
    for damage in damages:
        print(f"damaged: {damage.sentence()}")
    if not damages:
        print(f"lake OK: every partition under {storage.uri('lake')} reads back")
    return 1 if damages else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emotion_assets.warehouse", description=__doc__)
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
    if args.sql:
        if not warehouse.exists():
            hint = "--refresh" if remote is not None else "`make demo`"
            print(f"no warehouse yet at {warehouse}: run {hint} first", file=sys.stderr)
            return 1
        con = connect_readonly(warehouse, settings)
        try:
            print(con.sql(args.sql))
        finally:
            con.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
