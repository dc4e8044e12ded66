"""The schedule, the sensor and the Definitions as Dagster sees them."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_schedule_context

from emotion_assets_tests.conftest import code_location, sensor_tick

REPO = Path(__file__).resolve().parents[2]


def test_the_daily_schedule_requests_the_previous_day() -> None:
    context = build_schedule_context(
        scheduled_execution_time=dt.datetime(2024, 6, 4, 1, 30, tzinfo=dt.timezone.utc)
    )
    request = code_location().resolve_schedule_def("daily_emotion_schedule")(context)
    assert request.partition_key == "2024-06-03"


def test_the_sensor_waits_for_files_to_settle_then_requests_their_day(
    data_dir: Path,
) -> None:
    day = data_dir / "raw" / "2024-06-03"
    day.mkdir()
    (day / "a.wav").write_bytes(b"RIFF....")
    instance = DagsterInstance.ephemeral()
    first = sensor_tick(instance)
    assert first.run_requests == []
    second = sensor_tick(instance, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2024-06-03"]
    third = sensor_tick(instance, second.cursor)
    assert third.run_requests == []


def test_dagster_definitions_validate_passes(tmp_path: Path) -> None:
    env = dict(os.environ, EMOTION_DATA_DIR=str(tmp_path / "data"), DAGSTER_HOME=str(tmp_path))
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_the_sensor_says_once_which_entries_under_raw_are_not_day_folders(
    data_dir: Path, capfd: pytest.CaptureFixture
) -> None:
    raw = data_dir / "raw"
    for name in ("2024-13-45", "2024-06-03 copy", "2025-3-15", "2024-06-03"):
        (raw / name).mkdir()
        (raw / name / "a.wav").write_bytes(b"RIFF....")
    (raw / "call.wav").write_bytes(b"RIFF....")  # dropped beside the day folders, not in one
    instance = DagsterInstance.ephemeral()
    first = sensor_tick(instance)
    said = first.skip_reason.skip_message  # the tick, as the UI lists it
    assert "data/raw/2024-13-45/ is ignored: 2024-13-45 is not a calendar date" in said
    assert "data/raw/2024-06-03 copy/ is ignored: its name is not a date" in said
    assert "data/raw/2025-3-15/ is ignored" in said and "rename it to 2025-03-15/" in said
    assert "data/raw/call.wav is ignored: recordings go in a day folder" in said
    assert "data/raw/2024-06-03/" not in said  # the real day folder is not one of them
    assert said.count(" is ignored: ") == 4

    assert said.count(" is ignored: ") == capfd.readouterr().err.count(" is ignored: ")  # logged
    second = sensor_tick(instance, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2024-06-03"]
    third = sensor_tick(instance, second.cursor)
    assert third.run_requests == [] and third.skip_reason is None  # said once, not every tick
    assert "is ignored" not in capfd.readouterr().err

    (raw / "misc").mkdir()  # a new one is reported, alone
    (raw / "misc" / "b.wav").write_bytes(b"RIFF....")
    fourth = sensor_tick(instance, third.cursor)
    assert fourth.skip_reason.skip_message == (
        "data/raw/misc/ is ignored: its name is not a date (day folders are named YYYY-MM-DD)."
    )
    assert capfd.readouterr().err.count(" is ignored: ") == 1  # and in the tick's log
