"""A day streamed into the lake a chunk at a time (lake.write_day_chunks): the same rows as a
whole-day write, and a stream that fails half-way leaves the previous file whole."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from emotion_assets.warehouse.lake import read_partitions, write_day_chunks, write_partitions
from emotion_assets_tests.storage.unit_frames import TABLE, track_frames

DAY = "2024-06-03"


def _chunks(generation: int) -> list[pl.DataFrame]:
    return [track_frames(DAY, rid, 0, 500, generation) for rid in ("a", "b", "c")]


def test_a_streamed_day_equals_the_whole_day_written_at_once(tmp_path: Path) -> None:
    whole, streamed = tmp_path / "whole", tmp_path / "streamed"
    write_partitions(whole, TABLE, [DAY], pl.concat(_chunks(1)))
    write_day_chunks(streamed, TABLE, DAY, iter(_chunks(1)))
    assert_frame_equal(
        read_partitions(streamed, TABLE, [DAY]), read_partitions(whole, TABLE, [DAY])
    )


def test_a_stream_that_fails_half_way_leaves_the_old_day(tmp_path: Path) -> None:
    write_day_chunks(tmp_path, TABLE, DAY, iter(_chunks(1)))

    def failing():
        yield _chunks(2)[0]
        raise RuntimeError("the step died here")

    with pytest.raises(RuntimeError):
        write_day_chunks(tmp_path, TABLE, DAY, failing())
    back = read_partitions(tmp_path, TABLE, [DAY])
    assert back.height == 1500 and back["angry"].unique().to_list() == [1.0]
    assert [p.name for p in (tmp_path / TABLE).rglob("*") if p.is_file()] == ["data.parquet"]


def test_rows_of_another_day_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside"):
        write_day_chunks(tmp_path, TABLE, DAY, iter([track_frames("2024-06-04", "a", 0, 5, 1)]))
