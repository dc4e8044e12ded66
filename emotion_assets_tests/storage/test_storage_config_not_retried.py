"""Issue 25, item 13: a bucket deleted between runs (or never created) fails the step once, with
the one sentence that names the bucket and the setting, instead of being retried twice under
"Exceeded max_retries of 2". Real S3 server (SeaweedFS), real Dagster runs of the pipeline job."""

from __future__ import annotations

from pathlib import Path

import pytest
import s3fs
from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult

from emotion_assets.pipeline.ingest_day import INGEST_TABLES

DAY = "2024-06-03"


def _failures(result: ExecuteInProcessResult) -> list[tuple[str, str]]:
    """(event type, message) of every retry and step failure of the run."""
    found = []
    for event in result.all_events:
        if event.event_type_value in ("STEP_UP_FOR_RETRY", "STEP_FAILURE"):
            error = event.event_specific_data.error
            found.append((event.event_type_value, error.message.strip() if error else ""))
    return found


def test_a_bucket_deleted_between_runs_fails_once_naming_the_bucket(
    s3_server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"s3://{s3_bucket}/emotion"
    for name, value in {
        "EMOTION_STORAGE_URL": url,
        "EMOTION_DATA_DIR": str(tmp_path / "data"),
        **s3_server.env(),
    }.items():
        monkeypatch.setenv(name, value)
    from emotion_assets.defs.location import build_definitions

    job = build_definitions().resolve_job_def("emotion_pipeline")
    instance = DagsterInstance.ephemeral()

    def run(*tables: str) -> ExecuteInProcessResult:
        return job.execute_in_process(
            partition_key=DAY,
            instance=instance,
            asset_selection=[AssetKey(table) for table in tables],
            raise_on_error=False,
        )

    assert run(*INGEST_TABLES).success  # the bucket exists: an (empty) day is ingested

    fs = s3fs.S3FileSystem(
        key=s3_server.access_key_id,
        secret=s3_server.secret_access_key,
        endpoint_url=s3_server.endpoint_url,
    )
    fs.rm(s3_bucket, recursive=True)  # deleted between runs, in the same process
    sentence = (
        f"The bucket {s3_bucket!r} of EMOTION_STORAGE_URL={url} does not exist at "
        f"{s3_server.endpoint_url}; create it or fix the bucket name."
    )
    # The ingest step reads the bucket in its body; the model step first loads its inputs
    # through the IO manager: both are retried steps, and neither is retried for this.
    for tables in (INGEST_TABLES, ("frame_emotion_scores", "emotion_embeddings")):
        failures = _failures(run(*tables))
        assert len(failures) == 1, failures
        kind, message = failures[0]
        assert kind == "STEP_FAILURE" and message.endswith(sentence), message
        assert "max_retries" not in message
