"""The UI's requests, sent to a running webserver + daemon through its GraphQL API.

Each test sends what the UI's buttons send (LaunchAssetChoosePartitionsDialog and
LaunchAssetExecutionButton in Dagster's web app): "Materialize all" → date range → "Launch
backfill" is `launchPartitionBackfill` with the asset selection and the partition names; one
partition is `launchPipelineExecution` of the implicit asset job with a `dagster/partition` tag;
Automation → the sensor's toggle is `startSensor`. One day's "Materialize all" is clicked in
a real browser (test_headless_browser.py), which also times it against the command line.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb
import pytest

from emotion_assets_tests.ui.conftest import (
    LOCATION,
    REPOSITORY,
    DagsterUI,
    assert_checks_name_their_day,
    copy_day,
    day_rows,
)

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

CLIP = "speech/librispeech_198-209-0000.ogg"
OTHER_CLIP = "speech/librispeech_3436-172162-0000.ogg"

LAUNCH_BACKFILL = """mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) { __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message } ... on InvalidSubsetError { message } } }"""


def test_the_sensor_runs_new_days_and_reports_folders_outside_the_partitions_or_not_days(
    dagster_ui: DagsterUI, shared_audio: Path
) -> None:
    day, too_early = "2024-06-13", "2019-03-01"
    copy_day(dagster_ui.data_dir, day, shared_audio / CLIP)
    copy_day(dagster_ui.data_dir, too_early, shared_audio / CLIP)
    copy_day(dagster_ui.data_dir, f"{day} copy", shared_audio / CLIP)  # not a day folder
    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
        "sensorName": "raw_folder_sensor",
    }
    started = dagster_ui.graphql(
        """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename
             ... on Sensor { sensorState { id status } } ... on PythonError { message } } }""",
        {"s": selector},
    )["startSensor"]
    assert started["__typename"] == "Sensor", started
    assert started["sensorState"]["status"] == "RUNNING"
    try:
        first = _sensor_runs_and_reports(dagster_ui, selector, day, too_early)
        # A recording arrives later in the day: the sensor runs the day again, and that run
        # decodes and scores the new recording only (issue 27, incremental days).
        copy_day(dagster_ui.data_dir, day, shared_audio / OTHER_CLIP)
        second = _sensor_run_of(dagster_ui, day, besides={first})
        assert second["status"] == "SUCCESS", dagster_ui.tail()
        scores = _materialized(dagster_ui, "frame_emotion_scores", day)
        raw = _materialized(dagster_ui, "raw_recordings", day)
        assert scores["runId"] == second["runId"] == raw["runId"]
        assert (scores["tracks_scored"], scores["tracks_kept"]) == (1, 1)
        assert (raw["recordings_decoded"], raw["recordings_kept"]) == (1, 1)
    finally:  # the other tests' day folders are theirs to run
        dagster_ui.graphql(
            "mutation($id: String!) { stopSensor(id: $id) { __typename } }",
            {"id": started["sensorState"]["id"]},
        )


def _sensor_run_of(dagster_ui: DagsterUI, day: str, besides: set[str] = frozenset()) -> dict:
    """The sensor's finished run of `day` (other than those `besides`)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runs = dagster_ui.graphql(
            """query($day: String!) { runsOrError(filter: {tags: [{key: "dagster/partition",
                 value: $day}, {key: "dagster/sensor_name", value: "raw_folder_sensor"}]}) {
                 ... on Runs { results { runId status } } } }""",
            {"day": day},
        )["runsOrError"]["results"]
        runs = [r for r in runs if r["runId"] not in besides]
        if runs and runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return runs[0]
        time.sleep(3)
    raise AssertionError(f"the sensor requested no run for {day}:\n{dagster_ui.tail()}")


def _materialized(dagster_ui: DagsterUI, asset: str, day: str) -> dict:
    """The run id and integer metadata of `asset`'s latest materialization of `day`."""
    (event,) = dagster_ui.graphql(
        """query($key: [String!]!, $day: String!) { assetOrError(assetKey: {path: $key}) {
             ... on Asset { assetMaterializations(partitions: [$day], limit: 1) { runId
               metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }""",
        {"key": [asset], "day": day},
    )["assetOrError"]["assetMaterializations"]
    entries = {e["label"]: e.get("intValue") for e in event["metadataEntries"]}
    return {"runId": event["runId"], **entries}


def _sensor_runs_and_reports(
    dagster_ui: DagsterUI, selector: dict, day: str, too_early: str
) -> str:
    run = _sensor_run_of(dagster_ui, day)
    assert run["status"] == "SUCCESS"
    assert_checks_name_their_day(dagster_ui, run["runId"], day)

    runs_too_early = dagster_ui.graphql(
        """query($day: String!) { runsOrError(filter: {tags: [{key: "dagster/partition",
             value: $day}]}) { ... on Runs { results { runId } } } }""",
        {"day": too_early},
    )["runsOrError"]["results"]
    assert runs_too_early == []
    ticks = dagster_ui.graphql(
        """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor {
             sensorState { ticks(limit: 20) { status skipReason logEvents { events {
               message } } } } } } }""",
        {"s": selector},
    )["sensorOrError"]["sensorState"]["ticks"]
    said = " ".join(
        " ".join(
            filter(None, [t.get("skipReason")] + [e["message"] for e in t["logEvents"]["events"]])
        )
        for t in ticks
    )
    assert f"data/raw/{too_early}/ is not a partition" in said, said
    assert "2024-01-01" in said  # the partition range, so the user knows what to do
    ignored = f"data/raw/{day} copy/ is ignored: its name is not a date"
    telling = [t for t in ticks if ignored in str(t)]
    assert len(telling) == 1, said  # one tick says it (log and skip reason), not every tick
    return run["runId"]


def test_a_two_day_backfill_of_all_assets_succeeds_day_by_day(
    dagster_ui: DagsterUI, shared_audio: Path
) -> None:
    days = ["2024-06-10", "2024-06-11"]
    for day in days:  # the same recording in both folders: what broke the key checks
        copy_day(dagster_ui.data_dir, day, shared_audio / CLIP)
    copy_day(dagster_ui.data_dir, days[1], shared_audio / OTHER_CLIP)
    params = {
        "assetSelection": dagster_ui.asset_keys(),
        "partitionNames": days,
        "fromFailure": False,
        "tags": [],
    }
    result = dagster_ui.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    backfill_id = result["backfillId"]

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = dagster_ui.graphql(
            """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
                 ... on PartitionBackfill { status } } }""",
            {"id": backfill_id},
        )["partitionBackfillOrError"]["status"]
        if status not in ("REQUESTED",):
            break
        time.sleep(2)
    assert status == "COMPLETED_SUCCESS", f"backfill {status}:\n{dagster_ui.tail()}"

    runs = dagster_ui.graphql(
        """query($id: String!) { runsOrError(filter: {tags: [{key: "dagster/backfill",
             value: $id}]}) { ... on Runs { results { runId status tags { key value } } } } }""",
        {"id": backfill_id},
    )["runsOrError"]["results"]
    by_day = {
        next(t["value"] for t in run["tags"] if t["key"] == "dagster/partition"): run
        for run in runs
    }
    assert sorted(by_day) == days  # one run per day, each tagged with its day
    for day, run in by_day.items():
        assert run["status"] == "SUCCESS", (day, run)
        assert_checks_name_their_day(dagster_ui, run["runId"], day)
        assert_model_step_shows_its_speed(dagster_ui, day)
        assert_report_index_is_a_path_to_the_page(dagster_ui, day)
    assert day_rows(dagster_ui.data_dir, "raw_recordings", days[1]) == 2


def assert_model_step_shows_its_speed(ui: DagsterUI, day: str) -> None:
    """The asset page's metadata of the model step: load and scoring seconds, the day's audio
    seconds (those of normalized_audio in the lake) and the speed, as the UI shows them."""
    data = ui.graphql(
        """query($day: String!) { assetOrError(assetKey: {path: ["frame_emotion_scores"]}) {
             ... on Asset { assetMaterializations(partitions: [$day]) {
               metadataEntries { label ... on FloatMetadataEntry { floatValue } } } } } }""",
        {"day": day},
    )
    (materialization,) = data["assetOrError"]["assetMaterializations"]
    meta = {
        m["label"]: m["floatValue"] for m in materialization["metadataEntries"] if "floatValue" in m
    }
    path = ui.data_dir / "lake" / "normalized_audio" / f"recording_date={day}" / "data.parquet"
    audio = duckdb.sql(f"SELECT sum(duration_s) FROM read_parquet('{path}')").fetchone()[0]
    assert meta["audio_seconds"] == pytest.approx(audio, abs=1e-3), meta
    assert meta["model_load_seconds"] >= 0 and meta["scoring_seconds"] > 0, meta
    assert meta["x_real_time"] == pytest.approx(audio / meta["scoring_seconds"], rel=0.01), meta


def assert_report_index_is_a_path_to_the_page(ui: DagsterUI, day: str) -> None:
    """`index_html` of emotion_reports is a path entry (the UI copies it with one click) naming
    the day's index page, not a file:// Markdown link that neither Markdown nor the browser opens."""
    data = ui.graphql(
        """query($day: String!) { assetOrError(assetKey: {path: ["emotion_reports"]}) {
             ... on Asset { assetMaterializations(partitions: [$day]) {
               metadataEntries { label __typename ... on PathMetadataEntry { path } } } } } }""",
        {"day": day},
    )
    (materialization,) = data["assetOrError"]["assetMaterializations"]
    (entry,) = [m for m in materialization["metadataEntries"] if m["label"] == "index_html"]
    assert entry["__typename"] == "PathMetadataEntry", entry
    page = Path(entry["path"])
    assert page.resolve() == (ui.data_dir / "reports" / day / "index.html").resolve(), entry
    assert "<html" in page.read_text(encoding="utf-8").lower()
