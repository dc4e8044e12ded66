"""`emotion-assets instance DAGSTER_HOME [--postgres]`: write the Dagster instance's dagster.yaml."""

from __future__ import annotations

import argparse
from pathlib import Path

from emotion_assets.deployment.instance import POSTGRES_VARIABLES, write_instance


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="emotion-assets instance", description="write $DAGSTER_HOME/dagster.yaml"
    )
    parser.add_argument("home", type=Path, help="the DAGSTER_HOME folder")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help=f"PostgreSQL storage, connection from {', '.join(POSTGRES_VARIABLES)}",
    )
    args = parser.parse_args(argv)
    print(write_instance(args.home, postgres=args.postgres))
    return 0
