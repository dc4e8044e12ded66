from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from emotion_assets.analytics.compare import (
    COMPARISON_SCHEMA,
    compare_recordings,
    comparison_pairs,
    lagged_pearson,
)
from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets_tests.analytics.frames import build_frames, raw_recordings

ORIGINAL, TAKE = "a" * 16, "b" * 16


def curve(n: int, peak_at: int) -> np.ndarray:
    t = np.arange(n)
    return (
        0.1
        + 0.6 * np.exp(-0.5 * ((t - peak_at) / 25.0) ** 2)
        + 0.1 * np.exp(-0.5 * ((t - peak_at - 300) / 40.0) ** 2)
    )


def pair_tables(shift: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = 1000
    original = build_frames(n, {"angry": curve(n, 400)}, recording_id=ORIGINAL)
    take = build_frames(n, {"angry": curve(n, 400 + shift)}, recording_id=TAKE)
    recordings = raw_recordings(
        [
            {"recording_id": ORIGINAL, "file_name": "scene1/original.wav"},
            {"recording_id": TAKE, "file_name": "scene1/take2.wav", "compare_with": "original.wav"},
        ]
    )
    return smooth_frames(pl.concat([original, take])), recordings


@pytest.mark.parametrize(("shift", "lag_s"), [(15, 0.30), (-15, -0.30), (0, 0.0)])
def test_known_lag_is_recovered(shift, lag_s):
    smoothed, recordings = pair_tables(shift)
    out = compare_recordings(smoothed, recordings)
    angry = out.filter(pl.col("emotion") == "angry").row(0, named=True)
    assert (angry["recording_id"], angry["other_recording_id"]) == (TAKE, ORIGINAL)
    assert angry["best_lag_s"] == pytest.approx(lag_s)
    assert angry["best_lag_r"] == pytest.approx(1.0, abs=1e-6)
    assert angry["n_frames"] == 1000
    if shift:
        assert angry["pearson_r"] < 0.95  # misaligned curves correlate less at lag 0


def test_flat_curves_give_null_correlation_and_schema_holds():
    smoothed, recordings = pair_tables(15)
    out = compare_recordings(smoothed, recordings)
    assert dict(out.schema) == COMPARISON_SCHEMA
    assert out.height == 9
    flat = out.filter(pl.col("emotion") == "sad").row(0, named=True)
    assert flat["pearson_r"] is None and flat["best_lag_s"] is None


def test_only_speech_pairs_count():
    x = np.array([1.0, 2.0, np.nan, 4.0, 3.0, 5.0])
    y = np.array([1.0, 2.0, 100.0, 4.0, 3.0, np.nan])
    lags, r, n = lagged_pearson(x, y, max_lag=0)
    assert lags.tolist() == [0] and n.tolist() == [4]
    assert r[0] == pytest.approx(1.0)


def test_lag_search_is_limited_to_the_window():
    smoothed, recordings = pair_tables(150)  # 3 s late: outside ±2 s
    out = compare_recordings(smoothed, recordings, max_lag_s=2.0)
    assert abs(out.filter(pl.col("emotion") == "angry")["best_lag_s"][0]) <= 2.0


def test_pairs_need_the_named_file_in_the_same_folder():
    recordings = raw_recordings(
        [
            {"recording_id": ORIGINAL, "file_name": "other/original.wav"},
            {"recording_id": TAKE, "file_name": "scene1/take2.wav", "compare_with": "original.wav"},
        ]
    )
    assert comparison_pairs(recordings).is_empty()
    frames = smooth_frames(build_frames(10))
    assert compare_recordings(frames, recordings).is_empty()


def test_each_day_compares_its_own_curves_from_a_lazy_scan():
    """The same pair recorded on two days (the same recording ids): each day's row reads
    that day's curves only, and a lazy scan gives what the frame gives."""
    first, recordings = pair_tables(15)
    second, _ = pair_tables(-15)
    later = pl.col("recording_date") + pl.duration(days=1)
    smoothed = pl.concat([first, second.with_columns(later)])
    both_days = pl.concat([recordings, recordings.with_columns(later)])
    out = compare_recordings(smoothed.lazy(), both_days)
    angry = out.filter(pl.col("emotion") == "angry").sort("recording_date")
    assert angry["best_lag_s"].to_list() == pytest.approx([0.30, -0.30])
    assert angry["n_frames"].to_list() == [1000, 1000]
    assert out.equals(compare_recordings(smoothed, both_days))
