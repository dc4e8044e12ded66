"""What the UI gets from the code location: executor, per-day checks, column docs, bad days."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance

from emotion_assets.contracts import TABLE_SCHEMAS, column_description
from emotion_assets.foundation.day_range import outside_partitions


@pytest.fixture(scope="module")
def defs():
    from emotion_assets.defs.location import build_definitions

    return build_definitions()


def test_every_job_runs_in_one_process_including_the_uis_asset_job(defs) -> None:
    jobs = [defs.resolve_implicit_global_asset_job_def(), *defs.resolve_all_job_defs()]
    assert {job.name for job in jobs} >= {"__ASSET_JOB", "emotion_pipeline"}
    assert {job.executor_def.name for job in jobs} == {"in_process"}


def test_backfills_run_one_tagged_day_per_run(defs) -> None:
    # Without a BackfillPolicy an asset backfill launches one `dagster/partition` run per day
    # (with one, runs carry range tags and the UI calls identical policies "varying").
    graph = defs.resolve_asset_graph()
    assert [k for k in graph.get_all_asset_keys() if graph.get(k).backfill_policy] == []


def test_every_check_is_partitioned_like_its_table(defs) -> None:
    graph = defs.resolve_asset_graph()
    checks = list(graph.asset_check_keys)
    assert len(checks) > 50
    for key in checks:
        assert graph.get(key).partitions_def == graph.get(key.asset_key).partitions_def, key


def test_every_column_of_every_table_has_a_description() -> None:
    missing = [
        f"{table}.{column}"
        for table, columns in TABLE_SCHEMAS.items()
        for column in columns
        if not column_description(table, column)
    ]
    assert missing == []
    assert "20 ms" in column_description("frame_emotion_scores", "frame_idx")
    assert "'happy'" in column_description("recording_summary", "std_happy")


@pytest.mark.parametrize(
    ("day", "words"),
    [
        ("2019-03-01", "before the first partition"),
        ("2031-01-01", "after the last partition"),
        ("2024-06-03", None),
    ],
)
def test_a_day_outside_the_partitions_is_named_with_the_range(day, words) -> None:
    text = outside_partitions(day, "2024-01-01", "2030-12-31")
    if words is None:
        assert text is None
    else:
        assert words in text
        assert text.startswith(f"data/raw/{day}/ is not a partition")
        assert "from 2024-01-01 (EMOTION_PARTITION_START) to 2030-12-31" in text
        assert text.count(".") == 1 and text.endswith(".")  # one sentence


def test_the_sensor_reports_folders_outside_the_partitions_instead_of_running_them(
    data_dir: Path,
) -> None:
    from emotion_assets_tests.conftest import sensor_tick

    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    for day in ("2019-03-01", future):
        (data_dir / "raw" / day).mkdir()
        (data_dir / "raw" / day / "a.wav").write_bytes(b"RIFF....")
    instance = DagsterInstance.ephemeral()
    first = sensor_tick(instance)
    second = sensor_tick(instance, first.cursor)
    assert second.run_requests == []
    reason = second.skip_reason.skip_message
    assert "data/raw/2019-03-01/ is not a partition" in reason
    assert f"data/raw/{future}/ is not a partition" in reason
    # The past folder is reported once; the future one is looked at again until its day comes.
    assert set(json.loads(second.cursor)["requested"]) == {"2019-03-01"}

    (data_dir / "raw" / "2024-06-03").mkdir()
    (data_dir / "raw" / "2024-06-03" / "a.wav").write_bytes(b"RIFF....")
    third = sensor_tick(instance, second.cursor)
    fourth = sensor_tick(instance, third.cursor)
    assert [r.partition_key for r in fourth.run_requests] == ["2024-06-03"]


def test_loading_the_code_location_leaves_the_heavy_libraries_to_the_steps() -> None:
    # The webserver's code server, the daemon's and every worker load the code location; only
    # the model step needs torch/funasr, the report step matplotlib, clusters scikit-learn.
    heavy = ["torch", "funasr", "sklearn", "scipy", "matplotlib", "great_expectations"]
    script = (
        "import sys\n"
        "from emotion_assets.defs.location import build_definitions\n"
        "defs = build_definitions()\n"
        "defs.resolve_asset_graph(); defs.resolve_all_job_defs()\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-2000:]
