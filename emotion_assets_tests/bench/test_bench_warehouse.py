"""Smoke test of `make bench-warehouse`: a two-day, six-minute-a-day month measured end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bench import warehouse
from bench.month import EXAMPLE_ID, random_probs
from emotion_assets.labels import EMOTIONS
from emotion_assets.warehouse.lake import partition_file


@pytest.fixture(scope="module")
def tiny_month(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("out")
    work = tmp_path_factory.mktemp("work")
    args = ["--days", "2", "--hours", "0.1", "--repeats", "1", "--out", str(out)]
    assert warehouse.main([*args, "--workdir", str(work), "--keep", "--name", "tiny"]) == 0
    return json.loads((out / "tiny.json").read_text()), work / "lake"


def test_every_cookbook_query_is_timed_cold_and_warm(tiny_month):
    report, _ = tiny_month
    titles = [q["title"] for q in report["queries"]]
    assert len(titles) == len(warehouse.cookbook_blocks())
    assert all(q["cold_s"] > 0 and q["warm_s"] > 0 for q in report["queries"])
    # the example recording exists, so the one-recording recipes answer something
    timeline = next(q for q in report["queries"] if q["title"].startswith("One row per minute"))
    assert timeline["rows"] > 0


def test_sizes_cover_both_frame_tables_and_every_frame(tiny_month):
    report, lake = tiny_month
    frames = report["month"]["frames"]
    assert report["sizes"]["frame_emotion_scores"]["rows"] == frames
    assert report["sizes"]["smoothed_emotion_curves"]["rows"] == frames
    assert report["month"]["audio_h"] == pytest.approx(0.2, abs=0.01)
    assert set(report["targets"]) == set(warehouse.TARGETS)


def test_one_recording_query_returns_exactly_its_frames(tiny_month):
    report, lake = tiny_month
    day = report["per_day"][-1]["day"]  # 2024-03-05, the cookbook's example day
    stored = pl.read_parquet(partition_file(lake, "frame_emotion_scores", day))
    assert (
        report["one_recording"]["rows"]
        == stored.filter(pl.col("recording_id") == EXAMPLE_ID).height
        > 0
    )
    one = report["one_recording"]
    assert "READ_PARQUET" in one["explain_analyze"]
    assert one["with_day"]["rows"] == one["rows"]  # the day's partition holds all of it
    # statistics can never leave fewer rows to read than the answer has
    assert one["rows"] <= one["pruning"]["rows_to_read"] <= one["pruning"]["rows"]


def test_frame_partitions_are_written_sorted_by_recording(tiny_month):
    _, lake = tiny_month
    day = "2024-03-04"
    stored = pl.read_parquet(partition_file(lake, "frame_emotion_scores", day))
    keys = stored.select("recording_id", "track", "frame_idx")
    assert keys.equals(keys.sort("recording_id", "track", "frame_idx"))
    assert stored["recording_id"].n_unique() > 1


def test_random_scores_are_probabilities_that_drift():
    p = random_probs(5000, np.random.default_rng(1))
    assert p.shape == (5000, len(EMOTIONS)) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    # neighbouring frames are close (a walk), frames far apart are not
    assert np.abs(np.diff(p, axis=0)).mean() < 0.2 * np.abs(p[2500:] - p[:2500]).mean()
