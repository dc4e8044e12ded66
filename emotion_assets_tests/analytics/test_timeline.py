from __future__ import annotations

import polars as pl
import pytest

from emotion_assets.analytics.timeline import TIMELINE_SCHEMA, emotion_timeline
from emotion_assets_tests.analytics.frames import build_frames, steps


def test_buckets_cover_the_track_with_speech_means():
    # 150 s: first minute angry, second minute silent (but loud "happy" noise), then happy.
    n = 7500
    angry = steps((3000, 0.8), (4500, 0.0))
    happy = steps((3000, 0.0), (3000, 0.9), (1500, 0.7))
    speech = [True] * 3000 + [False] * 3000 + [True] * 1500
    out = emotion_timeline(build_frames(n, {"angry": angry, "happy": happy}, speech=speech), 60.0)
    assert out["bucket_idx"].to_list() == [0, 1, 2]
    assert out["t_start"].to_list() == pytest.approx([0.0, 60.0, 120.0])
    assert out["t_end"].to_list() == pytest.approx([60.0, 120.0, 150.0])
    assert out["speech_s"].to_list() == pytest.approx([60.0, 0.0, 30.0])
    assert out["dominant_emotion"].to_list() == ["angry", None, "happy"]
    assert out["mean_happy"][1] is None and out["mean_happy"][2] == pytest.approx(0.7)


def test_frame_on_a_boundary_starts_the_next_bucket():
    out = emotion_timeline(build_frames(51, {"sad": steps((50, 0.0), (1, 0.9))}), 1.0)
    assert out["speech_s"].to_list() == pytest.approx([1.0, 0.02])
    assert out["mean_sad"].to_list() == pytest.approx([0.0, 0.9])


def test_tracks_get_their_own_buckets_and_schema_holds():
    frames = pl.concat([build_frames(100), build_frames(200, track=1)])
    out = emotion_timeline(frames, 2.0)
    assert out.group_by("track").len().sort("track")["len"].to_list() == [1, 2]
    assert dict(out.schema) == TIMELINE_SCHEMA
    assert dict(emotion_timeline(build_frames(0)).schema) == TIMELINE_SCHEMA
