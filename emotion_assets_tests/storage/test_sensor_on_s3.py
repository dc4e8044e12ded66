"""The raw-folder sensor on an S3 prefix: settle-and-cursor, and a first tick that skips days
already ingested from the same objects (size + ETag fingerprints, ingest and sensor alike)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.storage import Storage
from emotion_assets_tests.conftest import code_location, sensor_tick

DONE, NEW = "2024-06-03", "2024-06-04"


@pytest.fixture
def s3_env(s3_server, s3_bucket, data_dir: Path, monkeypatch) -> Storage:
    for name, value in {"EMOTION_STORAGE_URL": f"s3://{s3_bucket}/cc", **s3_server.env()}.items():
        monkeypatch.setenv(name, value)
    return Storage.from_settings(load_group(StorageSettings))


def _days(result) -> list[str]:
    return sorted(r.partition_key for r in result.run_requests)


def test_the_sensor_watches_raw_on_s3(s3_env: Storage, shared_audio: Path) -> None:
    recording = shared_audio / "speech" / "librispeech_198-209-0000.ogg"
    s3_env.put_file(f"raw/{DONE}/{recording.name}", recording)
    with DagsterInstance.ephemeral() as instance:
        ingest = code_location().resolve_assets_def("raw_recordings")
        assert materialize([ingest], partition_key=DONE, instance=instance).success

        s3_env.put_file(f"raw/{NEW}/{recording.name}", recording)  # a day never processed
        first = sensor_tick(instance)  # no cursor: DONE was ingested from these very objects
        assert _days(first) == []  # NEW is seen once: it may still be uploading
        second = sensor_tick(instance, first.cursor)
        assert _days(second) == [NEW]
        assert _days(sensor_tick(instance, second.cursor)) == []  # nothing changed since

        # An object of the processed day is replaced with other bytes (a new ETag).
        s3_env.put_bytes(f"raw/{DONE}/{recording.name}", recording.read_bytes()[:-100])
        third = sensor_tick(instance, second.cursor)
        assert _days(third) == []  # settling
        assert _days(sensor_tick(instance, third.cursor)) == [DONE]


def test_the_sensor_names_the_prefixes_under_raw_on_s3_that_are_not_days(s3_env: Storage) -> None:
    for key in ("raw/2024-13-45/a.wav", "raw/2025-3-15/b.wav", "raw/call.wav", f"raw/{NEW}/c.wav"):
        s3_env.put_bytes(key, b"RIFF....")
    with DagsterInstance.ephemeral() as instance:
        first = sensor_tick(instance)
        said = first.skip_reason.skip_message
        assert "data/raw/2024-13-45/ is ignored: 2024-13-45 is not a calendar date" in said
        assert "rename it to 2025-03-15/" in said
        assert "data/raw/call.wav is ignored" in said
        assert said.count(" is ignored: ") == 3
        second = sensor_tick(instance, first.cursor)
        assert _days(second) == [NEW]
        assert sensor_tick(instance, second.cursor).skip_reason is None  # said once
