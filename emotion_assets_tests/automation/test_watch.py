"""The raw-folder watcher: new, growing, changed and removed files."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from emotion_assets.pipeline.watch import WatchState, plan_runs, previous_day, snapshot


def _look(raw: Path, state: WatchState) -> tuple[list[str], WatchState]:
    plan = plan_runs(state, snapshot(raw))
    return [day for day, _ in plan.run_days], plan.state


def test_a_new_day_runs_once_its_files_have_settled(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "2024-06-03").mkdir(parents=True)
    (raw / "2024-06-03" / "a.wav").write_bytes(b"x" * 10)
    days, state = _look(raw, WatchState())
    assert days == []  # first sight: wait one look in case the copy is still running
    days, state = _look(raw, state)
    assert days == ["2024-06-03"]
    days, state = _look(raw, WatchState.from_json(state.to_json()))  # the cursor round-trips
    assert days == []  # nothing changed: no second run


def test_a_growing_file_waits_until_its_size_stops_changing(tmp_path: Path) -> None:
    day = tmp_path / "raw" / "2024-06-03"
    day.mkdir(parents=True)
    (day / "a.wav").write_bytes(b"x")
    _, state = _look(tmp_path / "raw", WatchState())
    _, state = _look(tmp_path / "raw", state)  # ran for the 1-byte file
    with open(day / "a.wav", "ab") as handle:
        handle.write(b"more")
    days, state = _look(tmp_path / "raw", state)
    assert days == []  # it grew since the last look
    with open(day / "a.wav", "ab") as handle:
        handle.write(b"still more")
    days, state = _look(tmp_path / "raw", state)
    assert days == []
    days, state = _look(tmp_path / "raw", state)
    assert days == ["2024-06-03"]


def test_replacing_or_removing_a_file_reruns_its_day_only(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    for name in ("2024-06-03", "2024-06-04"):
        (raw / name).mkdir(parents=True)
        (raw / name / "a.wav").write_bytes(b"abc")
    _, state = _look(raw, WatchState())
    days, state = _look(raw, state)
    assert days == ["2024-06-03", "2024-06-04"]
    target = raw / "2024-06-04" / "a.wav"
    target.write_bytes(b"xyz")  # same size, different file: the mtime tells
    os.utime(target, ns=(1, 1))
    _, state = _look(raw, state)
    days, state = _look(raw, state)
    assert days == ["2024-06-04"]
    (raw / "2024-06-03" / "a.wav").unlink()
    (raw / "2024-06-03" / "b.wav").write_bytes(b"b")
    _, state = _look(raw, state)
    days, _ = _look(raw, state)
    assert days == ["2024-06-03"]


def test_folders_that_are_not_dates_and_hidden_files_are_ignored(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "misc").mkdir(parents=True)
    (raw / "misc" / "a.wav").write_bytes(b"a")
    (raw / "2024-13-01").mkdir()
    (raw / "2024-06-03").mkdir()
    (raw / "2024-06-03" / ".partial.wav").write_bytes(b"a")
    assert snapshot(raw) == {"2024-06-03": {}}


def test_the_schedule_runs_the_day_before_its_tick() -> None:
    assert previous_day(dt.datetime(2024, 3, 1, 1, 30)) == "2024-02-29"
    assert previous_day(dt.datetime(2025, 1, 1, 0, 0)) == "2024-12-31"
