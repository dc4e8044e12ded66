"""DuckDB's full-text search (fts) extension, loaded without a network.

The extension binary comes from the `duckdb-extension-fts` wheel, whose version must equal the
installed duckdb's (its files live under extensions/v<duckdb version>/). Loading by path is the
documented offline way (`LOAD '<file>'`); nothing is written to ~/.duckdb.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb


class FtsUnavailable(RuntimeError):
    """The fts extension cannot be loaded offline; the message says what to install."""


def fts_extension_file() -> Path:
    """The fts.duckdb_extension matching the installed duckdb, from the wheel."""
    spec = importlib.util.find_spec("duckdb_extension_fts")
    version = duckdb.__version__
    if spec is None or spec.origin is None:
        raise FtsUnavailable(
            f"DuckDB's fts extension is not installed: pip install duckdb-extension-fts=={version}."
        )
    folder = Path(spec.origin).parent / "extensions"
    target = folder / f"v{version}" / "fts.duckdb_extension"
    if not target.is_file():
        shipped = ", ".join(sorted(p.name.lstrip("v") for p in folder.glob("v*"))) or "none"
        raise FtsUnavailable(
            f"duckdb-extension-fts ships the fts extension for DuckDB {shipped}, but DuckDB "
            f"{version} is installed; install the same version of both."
        )
    return target


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    """LOAD fts on `con`: the installed extension if DuckDB has one, else the wheel's file."""
    try:
        con.execute("LOAD fts")
        return
    except duckdb.Error:
        pass
    path = str(fts_extension_file()).replace("'", "''")
    con.execute(f"LOAD '{path}'")
