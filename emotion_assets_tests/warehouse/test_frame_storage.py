"""How frame-level partitions are stored: rounded float32 scores, compact encodings, pruning."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets.warehouse.lake import (
    BLOOM_FILTER_COLUMN,
    SCORE_BITS_DROPPED,
    read_partitions,
    round_float32,
    write_partitions,
)
from emotion_assets_tests.analytics.frames import DAY, build_frames

# Round to nearest with SCORE_BITS_DROPPED of the 24 significant bits gone.
RELATIVE_BOUND = 2.0 ** -(24 - SCORE_BITS_DROPPED)


def _noisy_frames(n: int, recording_id: str, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(len(EMOTIONS)), size=n).astype(np.float32)
    frames = build_frames(n, recording_id=recording_id)
    return frames.with_columns(
        [pl.Series(e, p[:, j], dtype=pl.Float32) for j, e in enumerate(EMOTIONS)]
    )


def test_rounding_keeps_the_relative_error_bound_and_special_values():
    rng = np.random.default_rng(0)
    values = rng.uniform(1e-9, 1.0, 100_000).astype(np.float32)
    rounded = round_float32(pl.Series("x", values, dtype=pl.Float32)).to_numpy()
    relative = np.abs(rounded.astype(np.float64) - values) / values
    assert relative.max() <= RELATIVE_BOUND
    assert relative.max() > RELATIVE_BOUND / 4  # it really rounds, not a copy
    low_byte = rounded.view(np.uint32) & np.uint32((1 << SCORE_BITS_DROPPED) - 1)
    assert not low_byte.any()  # what makes the stored byte stream compress
    special = pl.Series("x", [None, float("nan"), float("inf"), -0.5, 0.0, 3.4e38], pl.Float32)
    out = round_float32(special)
    assert out[0] is None and np.isnan(out[1]) and out[2] == float("inf")
    assert out[3] == -0.5 and out[4] == 0.0 and np.isfinite(out[5])


def test_frame_partition_round_trip_within_the_bound(tmp_path: Path):
    frames = _noisy_frames(3000, "b" * 16, 1).vstack(_noisy_frames(2000, "a" * 16, 2))
    # speech-only scoring leaves unscored frames NULL: they must stay NULL
    frames = frames.with_columns(
        pl.when(pl.col("frame_idx") < 100).then(None).otherwise(pl.col("angry")).alias("angry")
    )
    write_partitions(tmp_path, "frame_emotion_scores", [str(DAY)], frames)
    back = read_partitions(tmp_path, "frame_emotion_scores", [str(DAY)])
    expected = frames.sort("recording_id", "track", "frame_idx")
    assert back.schema == frames.schema
    assert back.drop(EMOTIONS).equals(expected.drop(EMOTIONS))  # everything else exact
    assert back["angry"].null_count() == expected["angry"].null_count() == 200
    for emotion in EMOTIONS:
        a = expected[emotion].drop_nulls().to_numpy().astype(np.float64)
        b = back[emotion].drop_nulls().to_numpy().astype(np.float64)
        assert np.all(np.abs(b - a) <= RELATIVE_BOUND * np.abs(a))
    sums = back.drop_nulls().select(pl.sum_horizontal(pl.col(EMOTIONS).cast(pl.Float64)))
    assert (sums.to_series() - 1).abs().max() < 1e-4  # the sums-to-one check still holds


def test_frame_partition_encodings_and_size(tmp_path: Path):
    frames = pl.concat([_noisy_frames(20_000, f"{i:016x}", i) for i in range(4)])
    [path] = write_partitions(tmp_path, "frame_emotion_scores", [str(DAY)], frames)
    meta = duckdb.execute(
        "SELECT path_in_schema, any_value(encodings), sum(total_compressed_size), "
        "max(bloom_filter_length) FROM parquet_metadata(?) GROUP BY 1",
        [str(path)],
    ).fetchall()
    by_column = {name: (enc, size, bloom) for name, enc, size, bloom in meta}
    assert "BYTE_STREAM_SPLIT" in by_column["angry"][0]
    assert "DELTA_BINARY_PACKED" in by_column["frame_idx"][0]
    assert by_column[BLOOM_FILTER_COLUMN][2]  # a bloom filter was written for the ids
    # the polars default (plain float32 + zstd) for the same rows, for comparison
    plain = tmp_path / "plain.parquet"
    frames.write_parquet(plain, statistics=True)
    assert path.stat().st_size < 0.8 * plain.stat().st_size


def test_one_recording_reads_only_its_row_groups(tmp_path: Path):
    ids = [f"{i:016x}" for i in range(40)]
    frames = pl.concat([_noisy_frames(10_000, rid, i) for i, rid in enumerate(ids)])
    [path] = write_partitions(tmp_path, "frame_emotion_scores", [str(DAY)], frames)
    groups = duckdb.execute(
        "SELECT row_group_id, stats_min_value, stats_max_value FROM parquet_metadata(?) "
        "WHERE path_in_schema = 'recording_id' ORDER BY 1",
        [str(path)],
    ).fetchall()
    assert len(groups) > 2
    holding = [g for g in groups if g[1] <= ids[17] <= g[2]]
    assert 1 <= len(holding) <= 2  # sorted by id: one recording spans at most two groups


def test_other_tables_are_written_exactly(tmp_path: Path):
    table = pl.DataFrame(
        {
            "recording_date": [dt.date(2024, 3, 5)] * 3,
            "recording_id": ["c", "a", "b"],
            "value": pl.Series([0.1234567, 0.7654321, 1e-7], dtype=pl.Float32),
        }
    )
    write_partitions(tmp_path, "t", ["2024-03-05"], table)
    assert read_partitions(tmp_path, "t", ["2024-03-05"]).equals(table)


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_and_empty_frame_partitions(tmp_path: Path, n: int):
    frames = _noisy_frames(max(n, 1), "a" * 16, 0).head(n)
    write_partitions(tmp_path, "smoothed_emotion_curves", [str(DAY)], frames)
    assert read_partitions(tmp_path, "smoothed_emotion_curves", [str(DAY)]).height == n


def test_bloom_filter_rules_out_an_id_inside_a_row_groups_range(tmp_path: Path):
    # ids 0, 2, 4, ... in one row group: its min/max admit 3, its bloom filter must not
    ids = [f"{i:016x}" for i in range(0, 20, 2)]
    frames = pl.concat([_noisy_frames(500, rid, i) for i, rid in enumerate(ids)])
    [path] = write_partitions(tmp_path, "frame_emotion_scores", [str(DAY)], frames)
    probe = "SELECT bool_and(bloom_filter_excludes) FROM parquet_bloom_probe(?, 'recording_id', ?)"
    assert duckdb.execute(probe, [str(path), f"{3:016x}"]).fetchone()[0] is True
    assert duckdb.execute(probe, [str(path), f"{4:016x}"]).fetchone()[0] is False
