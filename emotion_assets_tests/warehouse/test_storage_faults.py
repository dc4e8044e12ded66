"""Issue 11, items 8 and 10: a damaged partition or a full disk never takes other days down."""

from __future__ import annotations

import datetime as dt
import errno
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from emotion_assets.foundation.atomic_files import (
    DiskFullError,
    temp_name_for,
    write_bytes_atomically,
)
from emotion_assets.warehouse import (
    connect_readonly,
    ensure_views,
    read_partitions,
    write_partitions,
)
from emotion_assets.warehouse.lake import DamagedPartitionError, partition_file
from emotion_assets_tests.warehouse.dead_writer import as_dead_writers

DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"]


def _table(day: str, n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "recording_date": [dt.date.fromisoformat(day)] * n,
            "recording_id": [f"r{i:03d}" for i in range(n)],
            "value": [float(i) for i in range(n)],
        }
    )


def _lake_with_days(root: Path) -> tuple[Path, Path]:
    lake, wh = root / "lake", root / "warehouse.duckdb"
    for i, day in enumerate(DAYS):
        write_partitions(lake, "t", [day], _table(day, 10 + i))
    ensure_views(lake, wh)
    return lake, wh


def _truncate(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # what a disk fault does: the footer is gone
        fh.truncate(size // 2)


def _query(wh: Path, sql: str) -> list[tuple]:
    con = connect_readonly(wh)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_truncated_partition_is_moved_aside_reported_and_other_days_answer(
    tmp_path: Path,
) -> None:
    lake, wh = _lake_with_days(tmp_path / "data")
    broken = partition_file(lake, "t", DAYS[1])
    original_size = broken.stat().st_size
    _truncate(broken)
    with pytest.raises(Exception, match="(?i)magic|parquet"):  # the fault, as analysts met it
        _query(wh, "SELECT count(*) FROM t")
    with pytest.raises(DamagedPartitionError, match=f"make run DAY={DAYS[1]}"):
        read_partitions(lake, "t", [DAYS[1]])  # a run needing that day: one clear sentence

    # A run of another day writes its partition and refreshes the views: it must succeed,
    # find the damage, and leave every other day queryable.
    write_partitions(lake, "t", ["2024-01-04"], _table("2024-01-04", 5))
    damages: list = []
    ensure_views(lake, wh, damages=damages)
    assert [(d.table, d.day, d.path) for d in damages] == [("t", DAYS[1], broken)]
    sentence = damages[0].sentence()
    assert str(broken) in sentence and f"make run DAY={DAYS[1]}" in sentence
    rows = dict(
        _query(wh, "SELECT strftime(recording_date, '%Y-%m-%d'), count(*) FROM t GROUP BY 1")
    )
    assert rows == {DAYS[0]: 10, DAYS[2]: 12, "2024-01-04": 5}
    (aside,) = broken.parent.glob("data.parquet.damaged-*")  # kept, not deleted
    assert aside.stat().st_size == original_size // 2

    env = {**os.environ, "EMOTION_DATA_DIR": str(tmp_path / "data")}
    cmd = [sys.executable, "-m", "emotion_assets.cli", "sql", "--check"]
    report = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert report.returncode == 1 and f"make run DAY={DAYS[1]}" in report.stdout

    write_partitions(lake, "t", [DAYS[1]], _table(DAYS[1], 11))  # the repair: the day again
    report = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert report.returncode == 0, report.stdout
    assert _query(wh, "SELECT count(*) FROM t") == [(10 + 11 + 12 + 5,)]


def test_a_write_that_does_not_read_back_never_replaces_the_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, wh = _lake_with_days(tmp_path / "data")
    real_write = pl.DataFrame.write_parquet

    def torn_write(self: pl.DataFrame, file: Path, **kwargs: object) -> None:
        real_write(self, file, **kwargs)
        _truncate(Path(file))

    monkeypatch.setattr(pl.DataFrame, "write_parquet", torn_write)
    with pytest.raises(OSError, match="does not read back"):
        write_partitions(lake, "t", [DAYS[0]], _table(DAYS[0], 99))
    monkeypatch.undo()
    assert read_partitions(lake, "t", [DAYS[0]]).height == 10  # the old partition, whole
    assert not list(partition_file(lake, "t", DAYS[0]).parent.glob(".*.tmp"))


def test_disk_full_is_one_sentence_naming_the_place_and_nothing_is_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, _ = _lake_with_days(tmp_path / "data")

    def full(self: pl.DataFrame, file: Path, **kwargs: object) -> None:
        Path(file).write_bytes(b"PAR1")  # a few bytes got out before the disk filled up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    with pytest.raises(DiskFullError) as info:
        write_partitions(lake, "t", [DAYS[2]], _table(DAYS[2], 50))
    message = str(info.value)
    assert (
        message.startswith("The disk is full")
        and str(partition_file(lake, "t", DAYS[2])) in message
    )
    assert message.count(". ") == 0 and "\n" not in message  # one sentence
    monkeypatch.undo()
    assert read_partitions(lake, "t", [DAYS[2]]).height == 12  # the previous version stays
    assert not list(partition_file(lake, "t", DAYS[2]).parent.glob(".*.tmp"))


def test_a_day_stopped_half_way_by_a_full_disk_is_reported_with_its_repair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from emotion_assets.cli.sql import check
    from emotion_assets.foundation.layout import DataLayout

    layout = DataLayout(tmp_path / "data")
    for table in ("ingest_like", "scores_like"):
        write_partitions(layout.lake, table, [DAYS[0]], _table(DAYS[0], 3))
    write_partitions(layout.lake, "ingest_like", [DAYS[1]], _table(DAYS[1], 3))

    def full(self: pl.DataFrame, file: Path, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    with pytest.raises(DiskFullError):  # the run's next table does not fit any more
        write_partitions(layout.lake, "scores_like", [DAYS[1]], _table(DAYS[1], 3))
    monkeypatch.undo()
    assert check(layout) == 1
    out = capsys.readouterr().out
    assert f"partly published: {DAYS[1]} lacks 1 table(s) (scores_like)" in out
    assert f"make run DAY={DAYS[1]}" in out and DAYS[0] not in out
    write_partitions(layout.lake, "scores_like", [DAYS[1]], _table(DAYS[1], 3))  # the re-run
    assert check(layout) == 0


def test_writing_a_file_sweeps_what_dead_writers_of_that_file_left(tmp_path: Path) -> None:
    target, neighbour = tmp_path / "index.html", tmp_path / "day.png"
    live = temp_name_for(target)  # another writer of this process, still writing
    dead = as_dead_writers(temp_name_for(target))
    dead_wal = dead.with_name(dead.name + ".wal")  # what a killed DuckDB build leaves too
    not_ours = as_dead_writers(temp_name_for(neighbour))  # left for the neighbour's writer
    for path in (live, dead, dead_wal, not_ours):
        path.write_bytes(b"half")
    write_bytes_atomically(target, "<html>")
    assert target.read_text() == "<html>"
    assert not dead.exists() and not dead_wal.exists()
    assert live.exists() and not_ours.exists()


def test_state_files_half_written_by_a_killed_process_are_swept_by_the_next_refresh(
    tmp_path: Path,
) -> None:
    lake, wh = _lake_with_days(tmp_path)
    # A run SIGKILLed while it replaced _verified.json left its temp file in the lake's folder.
    ours = temp_name_for(lake / "_verified.json")  # a live writer's: not to be touched
    orphan = as_dead_writers(ours)
    orphan.write_text("{")
    ours.write_text("{")
    written = write_partitions(lake, "t", [DAYS[0]], _table(DAYS[0], 5))
    ensure_views(lake, wh, written={"t": written})
    assert not orphan.exists() and ours.exists()
    assert _query(wh, f"SELECT count(*) FROM t WHERE recording_date = '{DAYS[0]}'") == [(5,)]
