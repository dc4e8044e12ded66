"""Reading a pipeline run's warehouse the way an analyst does: a read-only DuckDB connection."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl


def warehouse_table(root: Path, name: str) -> pl.DataFrame:
    """Every row of the view `name` in <root>/warehouse.duckdb."""
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(f'SELECT * FROM "{name}"').pl()
    finally:
        con.close()
