"""A model output that breaks the frame-score contract stops everything downstream of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from emotion_assets.defs.in_process import run_day
from emotion_assets.engine import tables

DAY = "2024-06-03"


def test_failing_frame_checks_block_the_analytics(
    pipeline_env: Path, shared_audio: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = pipeline_env / "raw" / DAY
    raw.mkdir(parents=True)
    shutil.copyfile(shared_audio / "speech" / "librispeech_198-209-0000.ogg", raw / "a.ogg")
    real_frame_table = tables.frame_table

    def broken_frame_table(*args, **kwargs) -> pl.DataFrame:
        frames = real_frame_table(*args, **kwargs)
        return frames.with_columns(pl.col("angry") + 0.5)  # rows no longer sum to 1

    monkeypatch.setattr(tables, "frame_table", broken_frame_table)
    outcome = run_day(pipeline_env, DAY, raise_on_error=False)
    failed = {name for name, passed in outcome["checks"] if not passed}
    assert {"frame_scores_sum_to_one", "frame_scores_in_range"} <= failed
    materialized = {
        e.asset_key.path[-1]
        for e in outcome["result"].all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert "frame_emotion_scores" in materialized  # written, so the failure can be inspected
    assert not materialized & {
        "smoothed_emotion_curves",
        "utterance_emotion_scores",
        "emotion_reports",
    }
    assert not outcome["success"]
