"""DuckDB reads the lake on a real S3 server (SeaweedFS) through httpfs loaded from its wheel,
with a secret built from the same settings as the pipeline: the analyst's path."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
import s3fs

from emotion_assets.settings import StorageSettings
from emotion_assets.warehouse.extensions import create_s3_secret, load_offline


def _settings(server, **changes) -> StorageSettings:
    values = {
        "aws_endpoint_url": server.endpoint_url,
        "aws_access_key_id": server.access_key_id,
        "aws_secret_access_key": server.secret_access_key,
        **changes,
    }
    return StorageSettings(**values)


def _offline() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(config={"autoinstall_known_extensions": False})


def test_httpfs_reads_hive_partitions_on_s3(s3_server, s3_bucket):
    fs = s3fs.S3FileSystem(
        key=s3_server.access_key_id,
        secret=s3_server.secret_access_key,
        endpoint_url=s3_server.endpoint_url,
    )
    for day, rows in (("2024-06-01", 3), ("2024-06-02", 5)):
        frame = pl.DataFrame(
            {"recording_id": [f"r{i}" for i in range(rows)], "x": list(range(rows))}
        )
        with fs.open(f"{s3_bucket}/lake/t/recording_date={day}/data.parquet", "wb") as out:
            frame.write_parquet(out)
    con = _offline()
    create_s3_secret(con, _settings(s3_server))
    counts = con.execute(
        f"SELECT recording_date::VARCHAR, count(*) FROM read_parquet('s3://{s3_bucket}/lake/t/*/data.parquet', "
        "hive_partitioning = true) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert counts == [("2024-06-01", 3), ("2024-06-02", 5)]


def test_wrong_credentials_are_refused(s3_server, s3_bucket):
    con = _offline()
    create_s3_secret(con, _settings(s3_server, aws_secret_access_key="not-the-secret"))
    with pytest.raises(duckdb.Error, match="403|Forbidden|SignatureDoesNotMatch|AccessDenied"):
        con.execute(
            f"SELECT * FROM read_parquet('s3://{s3_bucket}/lake/t/*/data.parquet')"
        ).fetchall()


def test_an_extension_without_its_wheel_names_the_package(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if "ducklake" in name else real(name, *a)
    )
    from emotion_assets.warehouse.extensions import ExtensionUnavailable

    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    with pytest.raises(
        ExtensionUnavailable, match=f"pip install duckdb-extension-ducklake=={duckdb.__version__}"
    ):
        load_offline(con, "ducklake")
