"""DuckDB's fts extension loads without a network, from the duckdb-extension-fts wheel."""

from __future__ import annotations

import duckdb

from emotion_assets.warehouse.fts import fts_extension_file, load_fts


def test_fts_loads_from_the_wheel_with_an_empty_extension_directory(tmp_path):
    con = duckdb.connect(
        config={"extension_directory": str(tmp_path), "autoinstall_known_extensions": False}
    )
    load_fts(con)
    loaded = con.execute(
        "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'fts'"
    ).fetchone()
    assert loaded == (True,)
    assert f"v{duckdb.__version__}" in fts_extension_file().parts
    assert list(tmp_path.iterdir()) == []  # nothing installed anywhere
