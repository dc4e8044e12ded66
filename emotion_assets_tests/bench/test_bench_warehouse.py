"""Smoke test of `make bench-warehouse`: a two-day, six-minute-a-day month measured end to end."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from bench import warehouse
from bench.month import EXAMPLE_ID, random_probs
from emotion_assets.foundation.labels import EMOTIONS
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
    # bloom filters only ever remove row groups the statistics admitted
    prune = one["pruning"]
    assert 1 <= prune["row_groups_to_read"] <= prune["row_groups_admitted_by_statistics"]


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


def test_every_missed_target_says_why_and_what_would_fix_it(tiny_month, monkeypatch):
    # goals no lake can meet: every target misses, and each miss must come with its reason
    _, lake = tiny_month
    monkeypatch.setattr(warehouse, "TARGETS", dict.fromkeys(warehouse.TARGETS, 0.0))
    out = lake.parent / "missed"
    args = ["--days", "2", "--hours", "0.1", "--repeats", "1", "--reuse", "--keep"]
    assert warehouse.main([*args, "--workdir", str(lake.parent), "--out", str(out)]) == 0
    [path] = out.glob("*.json")
    report = json.loads(path.read_text())
    assert all(not t["pass"] and t["why"] and t["fix"] for t in report["targets"].values())
    assert all("dominates EXPLAIN ANALYZE" in q["why"] for q in report["queries"])
    assert (
        "largest columns: frame_emotion_scores: "
        in report["targets"]["frame_tables_mb_per_audio_h"]["why"]
    )
    text = path.with_suffix(".md").read_text()
    assert text.count("Would fix:") == len(warehouse.TARGETS)


def test_search_reads_the_index_built_at_refresh(tiny_month):
    report, _ = tiny_month
    assert report["views"]["search_index_s"] > 0 and report["views"]["search_index_mb"] > 0
    search = next(q for q in report["queries"] if "mentioning 'refund'" in q["title"])
    assert search["rows"] > 0  # 'refund' is one of the month's words


def test_a_profile_names_the_scan_and_the_fix(tiny_month):
    _, lake = tiny_month
    con = duckdb.connect()
    scan = f"read_parquet('{lake.as_posix()}/frame_emotion_scores/*/data.parquet')"
    prof = warehouse.profile(con, f"SELECT recording_id, avg(angry) FROM {scan} GROUP BY 1")
    scans = [op for op in prof["operators"] if op["operator"] == "READ_PARQUET"]
    assert scans and scans[0]["total_files_read"] == "2"
    # a scan-bound query (plan time ~ measured time) is told to read fewer rows
    verdict = warehouse.diagnose(prof["latency_s"], {**prof, "operators": scans}, 10)
    assert (
        verdict["why"].startswith("READ_PARQUET dominates") and "recording_date" in verdict["fix"]
    )
    # a query whose time is mostly outside the plan is told to return less
    slow = warehouse.diagnose(100 * prof["latency_s"] + 1, prof, 10)
    assert "fewer rows" in slow["fix"] and "building the answer" in slow["why"]
