"""The lake's atomic partitions and the DuckDB views: correctness and the two concurrency rules."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from emotion_assets.warehouse import (
    connect_readonly,
    ensure_views,
    read_partitions,
    write_partitions,
)
from emotion_assets.warehouse.lake import partition_file


def _table(day: str, n: int, extra: bool = False) -> pl.DataFrame:
    df = pl.DataFrame(
        {
            "recording_date": [dt.date.fromisoformat(day)] * n,
            "recording_id": [f"r{i:03d}" for i in range(n)],
            "value": [float(i) for i in range(n)],
        }
    )
    if extra:
        df = df.with_columns(pl.lit("x").alias("new_column"))
    return df


def test_rewrite_replaces_a_partition_instead_of_appending(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    write_partitions(lake, "t", ["2024-01-01"], _table("2024-01-01", 5))
    write_partitions(lake, "t", ["2024-01-01"], _table("2024-01-01", 3))
    assert read_partitions(lake, "t", ["2024-01-01"]).height == 3


def test_a_day_without_rows_gets_an_empty_partition_so_old_rows_vanish(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    write_partitions(lake, "t", ["2024-01-01"], _table("2024-01-01", 4))
    write_partitions(lake, "t", ["2024-01-01"], _table("2024-01-01", 0))
    assert read_partitions(lake, "t", ["2024-01-01"]).height == 0


def test_rows_for_another_day_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside this run"):
        write_partitions(tmp_path, "t", ["2024-01-01"], _table("2024-01-02", 1))


def test_refresh_after_a_write_reads_only_what_was_written(tmp_path: Path) -> None:
    """The IO manager passes the files it wrote: one small probe per write, same views."""
    lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    emb = pl.DataFrame(
        {"recording_date": [dt.date(2024, 1, 1)], "recording_id": ["a"], "embedding": [[1.0, 0.0]]},
        schema_overrides={"embedding": pl.Array(pl.Float32, 2)},
    )
    files = write_partitions(lake, "emotion_embeddings", ["2024-01-01"], emb)
    assert ensure_views(lake, wh, written={"emotion_embeddings": files}) == ["emotion_embeddings"]
    # A day with no embeddings (empty file) must not drop the FLOAT[2] cast: the lake decides.
    empty = write_partitions(lake, "emotion_embeddings", ["2024-01-02"], emb.clear())
    assert ensure_views(lake, wh, written={"emotion_embeddings": empty}) == []
    files = write_partitions(lake, "t", ["2024-01-02"], _table("2024-01-02", 2))
    assert ensure_views(lake, wh, written={"t": files}) == ["t"]  # only the new table
    assert ensure_views(lake, wh) == []  # the full check agrees nothing is missing
    con = connect_readonly(wh)
    try:
        kinds = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'emotion_embeddings'"
            ).fetchall()
        )
        assert kinds["embedding"] == "FLOAT[2]"
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    finally:
        con.close()


def test_views_see_new_partitions_and_cast_embeddings_to_arrays(tmp_path: Path) -> None:
    lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    emb = pl.DataFrame(
        {
            "recording_date": [dt.date(2024, 1, 1)] * 2,
            "recording_id": ["a", "b"],
            "embedding": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        },
        schema_overrides={"embedding": pl.Array(pl.Float32, 3)},
    )
    write_partitions(lake, "emotion_embeddings", ["2024-01-01"], emb)
    write_partitions(lake, "t", ["2024-01-01"], _table("2024-01-01", 2))
    assert sorted(ensure_views(lake, wh)) == ["emotion_embeddings", "t"]
    assert ensure_views(lake, wh) == []  # nothing changed: the file is not even opened
    write_partitions(lake, "t", ["2024-01-02"], _table("2024-01-02", 3))
    assert ensure_views(lake, wh) == []  # a new partition needs no view change
    con = connect_readonly(wh)
    try:
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 5
        sims = con.execute(
            "SELECT recording_id, array_cosine_similarity(embedding, [1, 0, 0]::FLOAT[3]) "
            "FROM emotion_embeddings ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert sims[0][1] == pytest.approx(1.0) and sims[1][1] == pytest.approx(0.0)


def _reader(warehouse: str, stop_at: float, out: mp.Queue) -> None:
    """An analyst: one read-only connection held open, querying again and again."""
    con = duckdb.connect(warehouse, read_only=True)
    counts, errors = [], []
    while time.monotonic() < stop_at:
        try:
            counts.append(con.execute("SELECT count(*) FROM t").fetchone()[0])
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(repr(exc))
        time.sleep(0.01)
    con.close()
    out.put((counts, errors))


def _writer(lake: str, warehouse: str, days: list[str], out: mp.Queue) -> None:
    errors = []
    for day in days:
        try:
            write_partitions(Path(lake), "t", [day], _table(day, 10))
            ensure_views(Path(lake), Path(warehouse), timeout_s=1.0)
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
    out.put(errors)


@pytest.mark.slow
def test_parallel_writers_and_a_reader_holding_a_connection(tmp_path: Path) -> None:
    """(a) several processes write partitions at once; (b) an analyst reads all along."""
    lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    write_partitions(lake, "t", ["2024-01-01"], _table("2024-01-01", 10))
    ensure_views(lake, wh)
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    reader = ctx.Process(target=_reader, args=(str(wh), time.monotonic() + 12, out))
    reader.start()
    time.sleep(1.0)
    days = [f"2024-01-{d:02d}" for d in range(2, 14)]
    writers = [
        ctx.Process(target=_writer, args=(str(lake), str(wh), days[i::3], out)) for i in range(3)
    ]
    for w in writers:
        w.start()
    results = [out.get(timeout=60) for _ in range(4)]
    for p in [reader, *writers]:
        p.join(timeout=30)
    reader_result = next(r for r in results if isinstance(r, tuple))
    writer_errors = [e for r in results if isinstance(r, list) for e in r]
    counts, reader_errors = reader_result
    assert writer_errors == [] and reader_errors == []
    assert counts and counts == sorted(counts)  # rows only ever appear, never vanish
    assert counts[-1] == 10 * (1 + len(days))
    con = connect_readonly(wh)
    assert con.execute("SELECT count(DISTINCT recording_date) FROM t").fetchone()[0] == 13
    con.close()


def _holding_reader(warehouse: str, ready: str, stop: str, out: mp.Queue) -> None:
    """An analyst: one read-only connection held open, querying again and again until `stop`."""
    con = duckdb.connect(warehouse, read_only=True)
    counts, errors = [], []
    while not os.path.exists(stop):
        try:
            counts.append(con.execute("SELECT count(*) FROM t").fetchone()[0])
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(repr(exc))
        Path(ready).touch()
        time.sleep(0.01)
    con.close()
    out.put(("holding", len(counts), errors))


def _reconnecting_reader(warehouse: str, ready: str, stop: str, out: mp.Queue) -> None:
    """An analyst who opens a fresh read-only connection for every query (a notebook re-run)."""
    opened, errors = 0, []
    while not os.path.exists(stop):
        try:
            con = duckdb.connect(warehouse, read_only=True)
            try:
                con.execute("SELECT count(*) FROM t").fetchone()
                opened += 1
            finally:
                con.close()
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(repr(exc))
        Path(ready).touch()
    out.put(("reconnecting", opened, errors))


def test_views_are_refreshed_while_readers_hold_and_open_connections(tmp_path: Path) -> None:
    """Issue 11, item 9: a refresh never waits for readers and readers never see an error.

    One reader holds a read-only connection for the whole test, another connects again and
    again; meanwhile new tables appear (each needs a new view) several times. Every refresh
    publishes its views while both readers are still there (they stop only when told).
    """
    lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    write_partitions(lake, "t", ["2024-01-01"], _table("2024-01-01", 2))
    ensure_views(lake, wh)
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    stop = tmp_path / "stop"
    ready = [tmp_path / "ready-holding", tmp_path / "ready-reconnecting"]
    readers = [
        ctx.Process(target=fn, args=(str(wh), str(flag), str(stop), out))
        for fn, flag in zip((_holding_reader, _reconnecting_reader), ready, strict=True)
    ]
    for r in readers:
        r.start()
    deadline = time.monotonic() + 60
    while not all(f.exists() for f in ready) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(f.exists() for f in ready), "the readers never connected"
    write_partitions(lake, "t", ["2024-01-02"], _table("2024-01-02", 2, extra=True))
    assert ensure_views(lake, wh) == []  # same view text: nothing to write
    published = []
    for i in range(5):
        name = f"u{i}"
        write_partitions(lake, name, ["2024-01-02"], _table("2024-01-02", i + 1))
        published.append(ensure_views(lake, wh))
        con = connect_readonly(wh)  # a new connection sees the new view at once
        assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == i + 1
        con.close()
    assert all(r.is_alive() for r in readers)  # still connected: nobody waited for them
    stop.touch()
    results = {kind: (n, errors) for kind, n, errors in (out.get(timeout=30) for _ in readers)}
    for r in readers:
        r.join()
    assert published == [[f"u{i}"] for i in range(5)]
    assert results["holding"][1] == [] and results["reconnecting"][1] == []
    assert results["holding"][0] > 0 and results["reconnecting"][0] > 5
    con = connect_readonly(wh)
    assert "new_column" in [r[0] for r in con.execute("DESCRIBE t").fetchall()]
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 4
    con.close()


def _slow_writer(lake: str) -> None:
    big = _table("2024-01-01", 2_000_000)
    while True:  # keep rewriting until killed
        write_partitions(Path(lake), "t", ["2024-01-01"], big)


def test_sigkill_mid_write_leaves_the_old_partition_whole(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    write_partitions(lake, "t", ["2024-01-01"], _table("2024-01-01", 7))
    proc = mp.get_context("spawn").Process(target=_slow_writer, args=(str(lake),))
    proc.start()
    folder = partition_file(lake, "t", "2024-01-01").parent
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.suffix == ".tmp" for p in folder.iterdir()):
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    df = read_partitions(lake, "t", ["2024-01-01"])
    assert df.height in (7, 2_000_000)  # old or new, never partial
    write_partitions(lake, "t", ["2024-01-01"], _table("2024-01-01", 3))
    assert read_partitions(lake, "t", ["2024-01-01"]).height == 3
    assert not any(p.suffix == ".tmp" for p in folder.iterdir())  # the dead writer's leftovers


def _refreshing_writer(lake: str, warehouse: str) -> None:
    n = 0
    while True:  # a new table every round, so every refresh publishes a new warehouse file
        n += 1
        written = write_partitions(Path(lake), f"t{n}", ["2024-01-01"], _table("2024-01-01", n))
        ensure_views(Path(lake), Path(warehouse), written={f"t{n}": written})


def test_a_refresh_killed_mid_publish_leaves_nothing_after_the_next_one(tmp_path: Path) -> None:
    lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    proc = mp.get_context("spawn").Process(target=_refreshing_writer, args=(str(lake), str(wh)))
    proc.start()
    half_built = f".{wh.name}.{proc.pid}."
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(
        p.name.startswith(half_built) for p in tmp_path.iterdir()
    ):
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(half_built)]
    assert left, "the writer was never caught mid-publish"
    written = write_partitions(lake, "after", ["2024-01-01"], _table("2024-01-01", 3))
    assert "after" in ensure_views(lake, wh, written={"after": written})
    assert not [p.name for p in tmp_path.iterdir() if ".tmp" in p.name]
    con = connect_readonly(wh)
    assert con.execute("SELECT count(*) FROM after").fetchone() == (3,)
    con.close()
