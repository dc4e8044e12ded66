"""DuckDB's fts extension loads without a network, from the duckdb-extension-fts wheel."""

from __future__ import annotations

import duckdb

from emotion_assets.warehouse.extensions import extension_file, load_offline


def test_fts_loads_from_the_wheel_with_an_empty_extension_directory(tmp_path):
    con = duckdb.connect(
        config={"extension_directory": str(tmp_path), "autoinstall_known_extensions": False}
    )
    load_offline(con, "fts")
    loaded = con.execute(
        "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'fts'"
    ).fetchone()
    assert loaded == (True,)
    assert f"v{duckdb.__version__}" in extension_file("fts").parts
    assert list(tmp_path.iterdir()) == []  # nothing installed anywhere
