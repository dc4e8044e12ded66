"""The demo day end to end in speech-only mode (EMOTION_SCORE_SPEECH_ONLY=true, tiny model)."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance

from emotion_assets.cli.demo import copy_samples
from emotion_assets.defs.in_process import run_day
from emotion_assets.foundation.labels import EMOTIONS, n_frames
from emotion_assets.foundation.layout import DataLayout

DAY = "2024-06-05"


def _table(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    return con.sql(f'SELECT * FROM "{name}"').pl()


pytestmark = pytest.mark.slow  # one whole-pipeline day, shared by its tests


@pytest.fixture(scope="module")
def speech_only_day(tmp_path_factory, tiny_model_dir):
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("speech_only") / "data"
    mp.setenv("EMOTION_DATA_DIR", str(root))
    mp.setenv("EMOTION_MODEL", str(tiny_model_dir))
    mp.setenv("EMOTION_THREADS", "1")
    mp.setenv("EMOTION_SCORE_SPEECH_ONLY", "true")
    copy_samples(DataLayout(root), DAY)
    summary = run_day(root, DAY, instance=DagsterInstance.ephemeral())
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    yield summary, con
    con.close()
    mp.undo()


def test_every_asset_and_check_passes_in_speech_only_mode(speech_only_day) -> None:
    summary, _ = speech_only_day
    assert summary["success"]
    assert summary["checks"], "no asset check ran"
    assert [name for name, passed in summary["checks"] if not passed] == []


def test_null_scores_are_exactly_the_non_speech_frames(speech_only_day) -> None:
    _, con = speech_only_day
    frames = _table(con, "frame_emotion_scores")
    unscored = frames.select(pl.all_horizontal(pl.col(e).is_null() for e in EMOTIONS))[:, 0]
    partly = frames.select(pl.any_horizontal(pl.col(e).is_null() for e in EMOTIONS))[:, 0]
    assert (unscored == partly).all()  # a frame is scored whole or not at all
    assert (unscored == ~frames["is_speech"]).all()
    assert (frames["top_emotion"].is_null() == unscored).all()
    # both kinds occur on the demo day, so the equality above says something
    assert 0 < int(unscored.sum()) < frames.height


def test_frame_counts_stay_those_of_the_audio(speech_only_day) -> None:
    _, con = speech_only_day
    frames = _table(con, "frame_emotion_scores").group_by("recording_id", "track").len()
    audio = _table(con, "normalized_audio").select("recording_id", "track", "n_samples")
    joined = audio.join(frames, on=["recording_id", "track"], how="left")
    expected = [n_frames(n) for n in joined["n_samples"]]
    assert joined["len"].fill_null(0).to_list() == expected
