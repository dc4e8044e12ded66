"""Asset checks of a day's run validate that day only, not every partition of the table."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance

from emotion_assets.defs.in_process import run_day


@pytest.mark.slow
def test_the_same_recording_on_two_days_passes_the_key_checks(
    pipeline_env: Path, shared_audio: Path
) -> None:
    clip = shared_audio / "speech" / "librispeech_198-209-0000.ogg"
    instance = DagsterInstance.ephemeral()
    for day in ("2024-06-03", "2024-06-04"):
        (pipeline_env / "raw" / day).mkdir(parents=True)
        shutil.copyfile(clip, pipeline_env / "raw" / day / clip.name)
        outcome = run_day(pipeline_env, day, instance=instance)
        assert outcome["success"]
        assert [name for name, passed in outcome["checks"] if not passed] == []
