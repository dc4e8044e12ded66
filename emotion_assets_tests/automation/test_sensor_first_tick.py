"""The raw-folder sensor's first tick (no cursor) skips days already processed from their files."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterInstance, materialize

from emotion_assets_tests.conftest import code_location, copy_into_day, sensor_tick

DONE, NEW = "2024-06-03", "2024-06-04"


def two_ticks_from_scratch(instance: DagsterInstance) -> list[str]:
    """Days requested by a sensor started fresh (daemon restarted, cursor lost), over two ticks."""
    first = sensor_tick(instance)
    second = sensor_tick(instance, first.cursor)
    return [r.partition_key for r in [*first.run_requests, *second.run_requests]]


def test_first_tick_requests_only_new_or_changed_days(
    data_dir: Path, shared_audio: Path, tmp_path: Path
) -> None:
    recording = shared_audio / "speech" / "librispeech_198-209-0000.ogg"
    done_folder = copy_into_day(data_dir, DONE, recording)
    with DagsterInstance.ephemeral() as instance:
        # The day is ingested for real (the step that records what it read).
        result = materialize(
            [code_location().resolve_assets_def("raw_recordings")],
            partition_key=DONE,
            instance=instance,
        )
        assert result.success
        copy_into_day(data_dir, NEW, recording)  # a day never processed

        assert two_ticks_from_scratch(instance) == [NEW]

        # A file of the processed day is replaced (new mtime): the day runs again.
        replaced = done_folder / recording.name
        stat = replaced.stat()
        os.utime(replaced, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        assert sorted(two_ticks_from_scratch(instance)) == [DONE, NEW]
