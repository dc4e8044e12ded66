from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from emotion_assets.analytics.smoothing import SMOOTHED_SCHEMA, smooth_frames
from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets_tests.analytics.frames import build_frames


def test_isolated_spike_is_spread_over_the_window_and_does_not_win():
    angry = np.zeros(21)
    angry[10] = 1.0  # one frame jumps (a breath), neutral everywhere else
    out = smooth_frames(build_frames(21, {"angry": angry}), window=5)
    smoothed = out["angry"].to_numpy()
    assert smoothed[8:13] == pytest.approx([0.2] * 5)
    assert smoothed[:8].max() == 0.0 and smoothed[13:].max() == 0.0
    assert out["neutral"].to_numpy()[10] == pytest.approx(0.8)
    assert set(out["smoothed_top_emotion"]) == {"neutral"}


def test_non_speech_frames_are_null_and_do_not_feed_the_mean():
    angry = np.zeros(12)
    angry[5] = 1.0  # loud but not speech
    speech = [True] * 5 + [False] + [True] * 6
    out = smooth_frames(build_frames(12, {"angry": angry}, speech=speech), window=5)
    assert out["angry"][5] is None and out["smoothed_top_emotion"][5] is None
    assert out["angry"].drop_nulls().max() == 0.0  # neighbours never saw the spike


def test_runs_are_smoothed_separately_and_windows_shrink_at_run_edges():
    happy = np.array([0.0, 0.0, 0.9, 0.3, 0.3, 0.3, 0.3])
    speech = [True, True, False, True, True, True, True]
    out = smooth_frames(build_frames(7, {"happy": happy}, speech=speech), window=5)
    # Frame 3 opens the second run: the window holds frames 3, 4, 5 only.
    assert out["happy"][3] == pytest.approx(0.3)
    # Frame 1 closes the first run: frames 0 and 1 only (frame 2 is not speech).
    assert out["happy"][1] == pytest.approx(0.0)


def test_tracks_and_recordings_do_not_bleed_into_each_other():
    a = build_frames(6, {"sad": 0.9}, recording_id="a" * 16)
    b = build_frames(6, {"sad": 0.0}, recording_id="b" * 16)
    c = build_frames(6, {"sad": 0.0}, recording_id="a" * 16, track=1)
    out = smooth_frames(pl.concat([b, c, a]), window=5)
    by_key = (
        out.group_by("recording_id", "track").agg(pl.col("sad").max()).sort("recording_id", "track")
    )
    assert by_key["sad"].to_list() == pytest.approx([0.9, 0.0, 0.0])


def test_schema_and_empty_input():
    out = smooth_frames(build_frames(3))
    assert dict(out.schema) == SMOOTHED_SCHEMA
    assert list(out.columns[:2]) == ["recording_date", "recording_id"]
    assert set(EMOTIONS) <= set(out.columns)
    empty = smooth_frames(build_frames(0))
    assert empty.is_empty() and dict(empty.schema) == SMOOTHED_SCHEMA
