from __future__ import annotations

import polars as pl
import pytest

from emotion_assets.analytics.bursts import BURSTS_SCHEMA, find_bursts, min_frames
from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets_tests.analytics.frames import build_frames, steps

RULE = {"angry": (0.7, 3.0)}


def curves(angry, **kwargs) -> pl.DataFrame:
    # window=1: smoothed equals raw, so the test controls the exact values that are compared.
    return smooth_frames(build_frames(len(angry), {"angry": angry}, **kwargs), window=1)


def test_a_burst_exactly_at_the_minimum_duration_counts():
    out = find_bursts(curves(steps((100, 0.1), (150, 0.8), (100, 0.1))), RULE)
    assert out.height == 1
    row = out.row(0, named=True)
    assert row["duration_s"] == pytest.approx(3.0)
    assert row["t_start"] == pytest.approx(2.0) and row["t_end"] == pytest.approx(5.0)
    assert row["peak"] == pytest.approx(0.8) and row["mean_score"] == pytest.approx(0.8)
    assert (row["emotion"], row["rule_threshold"], row["rule_min_duration_s"]) == (
        "angry",
        0.7,
        3.0,
    )


def test_one_frame_shorter_does_not_count():
    assert find_bursts(curves(steps((100, 0.1), (149, 0.8), (100, 0.1))), RULE).is_empty()


def test_a_score_equal_to_the_threshold_is_not_above():
    # 150 frames at exactly the threshold, with one frame above in the middle: nothing lasts.
    angry = steps((75, 0.7), (1, 0.9), (74, 0.7))
    assert find_bursts(curves(angry), RULE).is_empty()
    assert find_bursts(curves(angry), {"angry": (0.69, 3.0)}).height == 1


def test_non_speech_and_missing_frames_break_a_burst():
    angry = steps((160, 0.9))
    speech = [True] * 80 + [False] + [True] * 79
    assert find_bursts(curves(angry, speech=speech), RULE).is_empty()
    first, second = (
        build_frames(80, {"angry": 0.9}),
        build_frames(80, {"angry": 0.9}, first_frame=81),
    )
    gapped = smooth_frames(pl.concat([first, second]), window=1)
    assert find_bursts(gapped, RULE).is_empty()
    assert find_bursts(gapped, {"angry": (0.7, 1.6)}).height == 2


def test_speaker_is_the_one_of_most_frames_and_rules_are_per_emotion():
    n = 400
    speakers = ["bob"] * 60 + ["alice"] * 100 + [None] * 240
    sad = steps((200, 0.0), (200, 0.65))
    frames = build_frames(n, {"angry": steps((160, 0.9), (240, 0.0)), "sad": sad}, speaker=speakers)
    out = find_bursts(smooth_frames(frames, window=1), {"angry": (0.7, 3.0), "sad": (0.6, 4.0)})
    assert out["emotion"].to_list() == ["angry", "sad"]
    assert out["speaker"].to_list() == ["alice", None]
    assert out["duration_s"].to_list() == pytest.approx([3.2, 4.0])


def test_min_frames_is_tolerant_of_float_noise():
    assert min_frames(3.0) == 150 and min_frames(2.99) == 150 and min_frames(0.07) == 4


def test_schema_and_empty_input():
    assert dict(find_bursts(curves(steps((10, 0.9))), RULE).schema) == BURSTS_SCHEMA
    empty = find_bursts(smooth_frames(build_frames(0)), RULE)
    assert empty.is_empty() and dict(empty.schema) == BURSTS_SCHEMA
