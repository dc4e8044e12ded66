"""The work units' Delta tables (warehouse/delta.py): which tracks a day's publication changes,
and a damaged data file taken out of its table without taking the other days down."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from emotion_assets.storage import Storage
from emotion_assets.warehouse import delta, delta_upkeep
from emotion_assets.warehouse.lake import write_partitions
from emotion_assets.warehouse.views import connect_readonly, ensure_views
from emotion_assets_tests.storage.unit_frames import TABLE, track_frames

DAYS = ("2024-06-03", "2024-06-04")


def test_a_new_recording_writes_only_itself() -> None:
    present = {("a", 0), ("b", 0)}
    change = delta.plan_day(present, [("a", 0), ("b", 0), ("c", 0)], [("c", 0)], "2024-06-03")
    assert (change.write, change.remove, change.whole_day) == ((("c", 0),), (), False)


def test_a_deleted_recording_is_removed_and_nothing_else_written() -> None:
    change = delta.plan_day({("a", 0), ("b", 0)}, [("a", 0)], [], "2024-06-03")
    assert (change.write, change.remove, change.whole_day) == ((), (("b", 0),), False)
    assert not delta.plan_day({("a", 0)}, [("a", 0)], [], "2024-06-03").write  # nothing to do


def test_a_rescored_track_is_replaced_and_a_missing_one_added() -> None:
    # ("b", 0) was scored in this run (its rows change); ("c", 0) was kept but the table lacks it.
    change = delta.plan_day(
        {("a", 0), ("b", 0)}, [("a", 0), ("b", 0), ("c", 0)], [("b", 0)], "2024-06-03"
    )
    assert change.write == (("b", 0), ("c", 0)) and not change.whole_day


def test_every_track_new_is_one_predicate_on_the_day() -> None:
    assert delta.plan_day(set(), [("a", 0)], [("a", 0)], "2024-06-03").whole_day
    assert delta.plan_day({("a", 0)}, [], [], "2024-06-03").whole_day  # the day emptied
    assert delta.replace_predicate("2024-06-03", None) == "recording_date = '2024-06-03'"


def test_a_damaged_file_takes_out_only_its_day_and_waits_for_a_repair(tmp_path: Path) -> None:
    root = tmp_path / "data"
    storage = Storage(str(root), local_root=root)
    where = delta.on_storage(storage, TABLE)
    for day in DAYS:
        delta.replace_tracks(where, TABLE, day, lambda day=day: [track_frames(day, "a", 0, 50, 1)])
    warehouse = root / "warehouse.duckdb"
    ensure_views(root / "lake", warehouse)

    victim = next((root / "lake" / TABLE / f"recording_date={DAYS[0]}").glob("*.parquet"))
    with open(victim, "r+b") as fh:  # a disk fault
        fh.truncate(os.path.getsize(victim) // 2)
    damages: list = []
    ensure_views(root / "lake", warehouse, written={TABLE: []}, damages=damages)

    assert [(d.table, d.day) for d in damages] == [(TABLE, DAYS[0])]
    assert "make run DAY=2024-06-03" in damages[0].sentence()
    assert not victim.exists() and damages[0].moved_to.exists()  # moved aside, kept
    con = connect_readonly(warehouse)
    days = con.execute(f"SELECT DISTINCT strftime(recording_date, '%Y-%m-%d') FROM {TABLE}")
    assert [d for (d,) in days.fetchall()] == [DAYS[1]]  # the other day still answers
    assert [(t, d) for t, d, _ in delta_upkeep.damaged_waiting(storage)] == [(TABLE, DAYS[0])]

    # The repair (the day published again) ends the wait; the moved file stays.
    delta.replace_tracks(where, TABLE, DAYS[0], lambda: [track_frames(DAYS[0], "a", 0, 50, 2)])
    assert delta_upkeep.damaged_waiting(storage) == []
    assert damages[0].moved_to.exists()
    assert delta_upkeep.check_tables(storage, root / "lake") == []  # the new file reads back


def test_a_lake_from_before_the_delta_tables_keeps_its_days(tmp_path: Path) -> None:
    root = tmp_path / "data"
    storage = Storage(str(root), local_root=root)
    old = {day: pl.concat([track_frames(day, r, 0, 40, 1) for r in ("a", "b")]) for day in DAYS}
    for day, rows in old.items():
        write_partitions(root / "lake", TABLE, [day], rows)
    where = delta.on_storage(storage, TABLE)
    # DAYS[1] was already published to the Delta table: the Delta rows win, the old file goes.
    delta.replace_tracks(where, TABLE, DAYS[1], lambda: [track_frames(DAYS[1], "c", 0, 10, 2)])

    assert delta_upkeep.adopt_day_files(storage, TABLE) == [DAYS[0]]
    assert_frame_equal(delta.read_days(where, TABLE, [DAYS[0]]), old[DAYS[0]])
    assert delta.read_days(where, TABLE, [DAYS[1]])["recording_id"].unique().to_list() == ["c"]
    kept = sorted(p.name for p in (root / "lake" / TABLE).glob("*/data.parquet*"))
    assert kept == ["data.parquet.in-delta"] * 2  # renamed, not deleted
    assert delta_upkeep.adopt_day_files(storage, TABLE) == []  # once


def test_killed_writers_files_are_swept_once_a_day(tmp_path: Path) -> None:
    """The files of a killed writer (named by no log) go at the day's full sweep; the sweeps in
    between read only the log, so they leave such files for the next full one."""
    root = tmp_path / "data"
    storage = Storage(str(root), local_root=root)
    where = delta.on_storage(storage, TABLE)
    delta.replace_tracks(where, TABLE, DAYS[0], lambda: [track_frames(DAYS[0], "a", 0, 50, 1)])
    folder = root / "lake" / TABLE / f"recording_date={DAYS[0]}"
    kept = set(folder.glob("*.parquet"))

    def orphan(name: str) -> Path:  # a data file a killed writer left, two days old
        path = folder / name
        track_frames(DAYS[0], "x", 0, 5, 9).write_parquet(path)
        old = time.time() - 2 * 86400
        os.utime(path, (old, old))
        return path

    start = dt.datetime(2026, 12, 7, 6, tzinfo=dt.UTC)
    first = orphan("part-killed-1.parquet")
    delta_upkeep.sweep(storage, where, TABLE, now=start)  # no full sweep on record: full
    assert not first.exists()
    second = orphan("part-killed-2.parquet")
    delta_upkeep.sweep(storage, where, TABLE, now=start + dt.timedelta(hours=3))
    assert second.exists()  # within the day: the log only
    delta_upkeep.sweep(storage, where, TABLE, now=start + dt.timedelta(hours=25))
    assert not second.exists()
    assert set(folder.glob("*.parquet")) == kept  # the table's own files stay
    rows = delta.read_days(where, TABLE, [DAYS[0]])
    assert rows is not None and set(rows["recording_id"]) == {"a"}
