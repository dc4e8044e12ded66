"""However a run is launched, assets and checks see only the run's days, and results name them.

The UI's backfills launch one `dagster/partition` run per day (tests/ui); these cover the other
ways in: a run over a range of days (partition-range tags, as the UI's "single run" option and
backfill policies make) and a day folder the partitions don't cover.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from dagster import DagsterInstance

from emotion_assets.contracts import TABLE_SCHEMAS
from emotion_assets.engine import tables
from emotion_assets.storage import Storage
from emotion_assets.warehouse.tables import read_days

DAYS = ("2024-06-03", "2024-06-04")
CLIP = Path("speech") / "librispeech_198-209-0000.ogg"


def _job():
    from emotion_assets.defs.location import build_definitions

    return build_definitions().resolve_job_def("emotion_pipeline")


def _range_tags(first: str, last: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def _evaluations(result) -> list:
    return [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]


def _rows(data_dir: Path, table: str, day: str) -> int:
    return read_days(Storage(str(data_dir), local_root=data_dir), table, [day]).height


@pytest.fixture
def two_days(pipeline_env: Path, shared_audio: Path) -> Path:
    """The same recording in two day folders (what broke the key checks), one more on day 2."""
    for day in DAYS:
        (pipeline_env / "raw" / day).mkdir(parents=True)
        shutil.copyfile(shared_audio / CLIP, pipeline_env / "raw" / day / CLIP.name)
    other = shared_audio / "speech" / "librispeech_3436-172162-0000.ogg"
    shutil.copyfile(other, pipeline_env / "raw" / DAYS[1] / other.name)
    return pipeline_env


@pytest.mark.slow
def test_a_range_run_checks_each_day_on_its_own_rows(two_days: Path) -> None:
    result = _job().execute_in_process(
        instance=DagsterInstance.ephemeral(), tags=_range_tags(*DAYS), raise_on_error=False
    )
    assert result.success
    evaluations = _evaluations(result)
    assert [e.check_name for e in evaluations if not e.passed] == []
    by_day = {day: [e for e in evaluations if e.partition == day] for day in DAYS}
    assert len(by_day[DAYS[0]]) == len(by_day[DAYS[1]]) == len(evaluations) / 2 > 20
    for day, found in by_day.items():
        for e in found:
            assert e.metadata["table_rows"].value == _rows(two_days, e.asset_key.path[-1], day)
    assert _rows(two_days, "raw_recordings", DAYS[1]) == 2
    _assert_catalog_metadata(result)


def _assert_catalog_metadata(result) -> None:
    """The catalog describes every column; the reports show curves and heat maps."""
    materializations = [
        e.event_specific_data.materialization
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    ]
    assert len({m.asset_key for m in materializations}) == len(TABLE_SCHEMAS)
    for m in materializations:
        columns = m.metadata["dagster/column_schema"].value.columns
        assert columns and all(c.description for c in columns), m.asset_key
    reports = next(m for m in materializations if m.asset_key.path == ["emotion_reports"])
    tracks = reports.metadata["reports"].value
    assert reports.metadata["heat_maps"].value.count("data:image/png") == tracks == 3


@pytest.mark.slow
def test_a_blocking_check_failing_on_one_day_of_a_range_stops_downstream(
    two_days: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_frame_table = tables.frame_table

    def broken_frame_table(*args, **kwargs) -> pl.DataFrame:
        frames = real_frame_table(*args, **kwargs)
        return frames.with_columns(pl.col("angry") + 0.5)  # rows no longer sum to 1

    monkeypatch.setattr(tables, "frame_table", broken_frame_table)
    result = _job().execute_in_process(
        instance=DagsterInstance.ephemeral(), tags=_range_tags(*DAYS), raise_on_error=False
    )
    assert not result.success
    failed = {(e.check_name, e.partition) for e in _evaluations(result) if not e.passed}
    assert {("frame_scores_sum_to_one", day) for day in DAYS} <= failed
    materialized = {
        e.asset_key.path[-1]
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert "frame_emotion_scores" in materialized
    assert not materialized & {"smoothed_emotion_curves", "emotion_reports"}


def test_a_folder_before_the_partitions_fails_once_in_one_sentence(
    pipeline_env: Path, shared_audio: Path
) -> None:
    day = "2019-03-01"
    (pipeline_env / "raw" / day).mkdir(parents=True)
    shutil.copyfile(shared_audio / CLIP, pipeline_env / "raw" / day / CLIP.name)
    # What `dagster job execute --tags '{"dagster/partition": "2019-03-01"}'` launches.
    result = _job().execute_in_process(
        instance=DagsterInstance.ephemeral(),
        tags={"dagster/partition": day},
        raise_on_error=False,
    )
    assert not result.success
    kinds = [e.event_type_value for e in result.all_events]
    assert "STEP_UP_FOR_RETRY" not in kinds  # a retry cannot move the folder into the range
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failures) == 1
    message = failures[0].step_failure_data.user_failure_data.description
    assert message.startswith(f"data/raw/{day}/ is not a partition: {day} is before the first")
    assert "from 2024-01-01 (EMOTION_PARTITION_START)" in message
    assert not (pipeline_env / "processed" / day).exists()  # nothing was decoded
