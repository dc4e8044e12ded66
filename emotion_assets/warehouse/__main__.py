"""python -m emotion_assets.warehouse [--refresh] ["SQL"]: refresh views or run a read-only query."""

from __future__ import annotations

import argparse
import sys

from emotion_assets.layout import DataLayout
from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.warehouse.views import connect_readonly, ensure_views


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emotion_assets.warehouse", description=__doc__)
    parser.add_argument("sql", nargs="?", help="a query to run read-only against the warehouse")
    parser.add_argument("--refresh", action="store_true", help="(re)create the views over the lake")
    args = parser.parse_args(argv)
    layout = DataLayout(load_group(StorageSettings).data_dir)
    if args.refresh:
        refreshed = ensure_views(layout.lake, layout.warehouse)
        print(f"views refreshed: {', '.join(refreshed) or 'none needed'} ({layout.warehouse})")
    if args.sql:
        if not layout.warehouse.exists():
            print(f"no warehouse yet at {layout.warehouse}: run `make demo` first", file=sys.stderr)
            return 1
        con = connect_readonly(layout.warehouse)
        try:
            print(con.sql(args.sql))
        finally:
            con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
