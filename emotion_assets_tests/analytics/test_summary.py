from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from emotion_assets.analytics.summary import SUMMARY_SCHEMA, recording_summary
from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets_tests.analytics.frames import build_frames, steps


def track_row(table: pl.DataFrame) -> dict:
    return table.filter(pl.col("scope") == "track").row(0, named=True)


def test_entropy_of_uniform_is_log2_9_and_of_one_hot_is_zero():
    uniform = build_frames(20, dict.fromkeys(EMOTIONS, 1 / 9))
    assert track_row(recording_summary(uniform))["emotion_entropy"] == pytest.approx(math.log2(9))
    one_hot = build_frames(20, {"angry": 1.0})
    row = track_row(recording_summary(one_hot))
    assert row["emotion_entropy"] == pytest.approx(0.0)
    assert row["dominant_emotion"] == "angry" and row["mean_angry"] == pytest.approx(1.0)


def test_means_and_std_use_speech_frames_only():
    angry = steps((50, 0.2), (50, 0.6), (10, 1.0))
    speech = [True] * 100 + [False] * 10
    row = track_row(recording_summary(build_frames(110, {"angry": angry}, speech=speech)))
    assert row["mean_angry"] == pytest.approx(0.4)
    assert row["std_angry"] == pytest.approx(0.2)  # population std of 50 × 0.2 and 50 × 0.6
    assert row["duration_s"] == pytest.approx(2.2) and row["speech_s"] == pytest.approx(2.0)


def test_neutral_share_and_changes_follow_the_smoothed_top_emotion():
    # neutral 40, angry 20, neutral 40; a one-frame happy blip that smoothing removes.
    angry = steps((40, 0.0), (20, 0.9), (40, 0.0))
    happy = np.zeros(100)
    happy[80] = 0.9
    table = recording_summary(build_frames(100, {"angry": angry, "happy": happy}), window=5)
    row = track_row(table)
    assert row["n_emotion_changes"] == 2
    assert row["neutral_share"] == pytest.approx(0.8, abs=0.03)  # edges move by a frame or two


def test_changes_skip_pauses_between_speech_frames():
    angry = steps((30, 0.9), (10, 0.0), (30, 0.9))
    speech = [True] * 30 + [False] * 10 + [True] * 30
    row = track_row(recording_summary(build_frames(70, {"angry": angry}, speech=speech), window=1))
    assert row["n_emotion_changes"] == 0
    assert row["neutral_share"] == 0.0


def test_speaker_rows_split_the_track_and_skip_overlap():
    speakers = ["alice"] * 50 + ["bob"] * 50
    overlap = [False] * 90 + [True] * 10
    angry = steps((50, 0.8), (50, 0.1))
    table = recording_summary(
        build_frames(100, {"angry": angry}, speaker=speakers, overlap=overlap)
    )
    assert table["scope"].to_list() == ["track", "speaker", "speaker"]
    track = track_row(table)
    assert track["speaker"] is None and track["overlap_s"] == pytest.approx(0.2)
    rows = {
        r["speaker"]: r for r in table.filter(pl.col("scope") == "speaker").iter_rows(named=True)
    }
    assert rows["alice"]["mean_angry"] == pytest.approx(0.8)
    assert rows["bob"]["speech_s"] == pytest.approx(
        0.8
    )  # 40 frames: overlap frames belong to nobody
    assert (
        rows["alice"]["dominant_emotion"] == "angry"
        and rows["bob"]["dominant_emotion"] == "neutral"
    )


def test_silent_track_has_null_emotions_and_schema_holds():
    table = recording_summary(build_frames(10, speech=[False] * 10))
    row = track_row(table)
    assert row["speech_s"] == 0.0 and row["mean_angry"] is None and row["emotion_entropy"] is None
    assert row["dominant_emotion"] is None and row["n_emotion_changes"] == 0
    assert dict(table.schema) == SUMMARY_SCHEMA
    assert dict(recording_summary(build_frames(0)).schema) == SUMMARY_SCHEMA
