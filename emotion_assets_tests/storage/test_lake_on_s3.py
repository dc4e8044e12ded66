"""The lake on a real S3 server: a writer killed mid-write leaves the previous object, and an
analyst querying through DuckDB httpfs while days are written never sees an error or half a file."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.storage import Storage
from emotion_assets.warehouse.remote import partition_key
from emotion_assets.warehouse.views import connect_readonly
from emotion_assets_tests.storage.lake_writer import TABLE, write

pytestmark = pytest.mark.slow

BIG_ROWS = 800_000  # about 16 MB of Parquet: its PUT takes long enough to be hit by a kill


@pytest.fixture
def lake_env(s3_server, s3_bucket, tmp_path, monkeypatch) -> Storage:
    env = {
        "EMOTION_STORAGE_URL": f"s3://{s3_bucket}/shared",
        "EMOTION_DATA_DIR": str(tmp_path / "scratch"),
        **s3_server.env(),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Storage.from_settings(load_group(StorageSettings))


def _versions(storage: Storage, day: str) -> tuple[int, set[int]]:
    df = pl.read_parquet(io.BytesIO(storage.get_bytes(partition_key(TABLE, day))))
    return df.height, set(df["version"].to_list())


def test_a_writer_killed_mid_write_leaves_the_old_object_and_a_rerun_completes(
    lake_env: Storage, tmp_path: Path
) -> None:
    day = "2024-06-03"
    assert write(day, BIG_ROWS, version=1)
    scratch_file = tmp_path / "scratch" / "lake" / TABLE / f"recording_date={day}" / "data.parquet"
    outcomes = []
    for attempt in range(2):
        before = scratch_file.stat().st_mtime_ns
        proc = subprocess.Popen(
            [sys.executable, "-m", "emotion_assets_tests.storage.lake_writer", day,
             str(BIG_ROWS), str(2 + attempt)],
            env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # Kill it right after its verified scratch file is in place, i.e. during the upload.
        deadline = time.monotonic() + 240
        while scratch_file.stat().st_mtime_ns == before and proc.poll() is None:
            assert time.monotonic() < deadline, "the writer never wrote"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        rows, versions = _versions(lake_env, day)  # a whole file: old or new, never mixed
        assert rows == BIG_ROWS and len(versions) == 1, (rows, versions)
        outcomes.append(versions.pop())
    assert set(outcomes) <= {1, 2, 3}
    leftovers = [k for k in lake_env.list("lake") if not k.endswith("/data.parquet")]
    assert leftovers == []
    assert write(day, BIG_ROWS, version=9)  # the rerun completes and replaces the day
    assert _versions(lake_env, day) == (BIG_ROWS, {9})
    print(f"versions readable right after each SIGKILL: {outcomes}")


def _wait_for_answers(progress: Path, analyst: subprocess.Popen, more_than: int) -> int:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        answered = int(progress.read_text()) if progress.exists() else 0
        if answered > more_than:
            return answered
        assert analyst.poll() is None, "the analyst process stopped"
        time.sleep(0.2)
    raise AssertionError(f"the analyst answered no more than {more_than} queries in 180 s")


def test_an_analyst_queries_through_httpfs_while_two_days_are_written(
    lake_env: Storage, tmp_path: Path
) -> None:
    rows = 200_000
    assert write("2024-06-03", rows, version=1)  # the first day exists before the analyst starts
    settings = load_group(StorageSettings)
    warehouse = tmp_path / "scratch" / "warehouse.duckdb"
    stop, report = tmp_path / "stop", tmp_path / "analyst.json"
    analyst = subprocess.Popen(
        [sys.executable, "-m", "emotion_assets_tests.storage.analyst", str(warehouse), TABLE,
         str(stop), str(report)],
        env=os.environ.copy(),
    )  # fmt: skip
    progress = tmp_path / "analyst.json.progress"
    try:
        answered_before = _wait_for_answers(progress, analyst, more_than=0)
        for version in (2, 3):
            assert write("2024-06-03", rows, version=version)
            assert write("2024-06-04", rows, version=version)
        # One more answer after the first: during the writes, or (loaded machine) right after.
        _wait_for_answers(progress, analyst, more_than=answered_before)
    finally:
        stop.touch()
        assert analyst.wait(timeout=120) == 0
    found = json.loads(report.read_text())
    assert found["errors"] == []
    assert set(found["counts"]) <= {rows, 2 * rows}
    con = connect_readonly(warehouse, settings)
    try:
        final = con.execute(
            f'SELECT count(*), count(DISTINCT version) FROM "{TABLE}" GROUP BY ALL'
        ).fetchall()
    finally:
        con.close()
    assert final == [(2 * rows, 1)]
    print(f"analyst queries answered while writing: {len(found['counts'])}")


def test_a_laptop_builds_its_own_views_over_the_s3_lake_with_the_cli(
    lake_env: Storage, tmp_path: Path, monkeypatch, capsys
) -> None:
    from emotion_assets.cli.sql import main

    assert write("2024-06-05", 1000, version=1)
    # A partition damaged behind the pipeline's back (not Parquet at all).
    lake_env.put_bytes(partition_key(TABLE, "2024-06-06"), b"not a parquet file")
    monkeypatch.setenv("EMOTION_DATA_DIR", str(tmp_path / "laptop"))  # nothing local yet
    assert main(["--check"]) == 1
    out = capsys.readouterr().out
    assert (
        "damaged:" in out
        and "recording_date=2024-06-06" in out
        and "make run DAY=2024-06-06" in out
    )
    assert any(".damaged-" in key for key in lake_env.list("lake"))  # moved aside, kept
    assert main(["--check", "--refresh", f'SELECT count(*) AS n FROM "{TABLE}"']) == 0
    out = capsys.readouterr().out
    assert "every partition under s3://" in out and "1000" in out
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    assert main(["--refresh"]) == 2
    assert "refused the credentials" in capsys.readouterr().err


def test_the_full_text_index_follows_the_s3_lake(lake_env: Storage, tmp_path: Path) -> None:
    from emotion_assets.warehouse.remote import ensure_remote_views
    from emotion_assets.warehouse.search import search_file
    from emotion_assets_tests.warehouse.test_search_index import _search, _sentences

    def put(day: str, texts: list[str], rid: str) -> None:
        buffer = io.BytesIO()
        _sentences(day, texts, rid).drop("recording_date").write_parquet(buffer)
        lake_env.put_bytes(partition_key("segment_emotions", day), buffer.getvalue())

    settings = load_group(StorageSettings)
    warehouse = tmp_path / "laptop" / "warehouse.duckdb"
    put("2024-06-05", ["I want a refund now.", "Thanks for calling."], "a" * 16)
    ensure_remote_views(lake_env, settings, warehouse)
    assert _search(warehouse, "refund") == [("a" * 16, "I want a refund now.")]
    built = search_file(warehouse).stat().st_mtime_ns
    ensure_remote_views(lake_env, settings, warehouse)  # nothing changed: no rebuild
    assert search_file(warehouse).stat().st_mtime_ns == built
    put("2024-06-06", ["Where is my refund?"], "b" * 16)
    ensure_remote_views(lake_env, settings, warehouse)
    assert {rid for rid, _ in _search(warehouse, "refund")} == {"a" * 16, "b" * 16}
